"""Classify TLS protocol versions, cipher suites and key exchange groups by name.

Providers record what an endpoint accepts with IANA names (``TLS_RSA_WITH_AES_128_CBC_SHA``);
the controls ask this module what a name means. Classes are kept apart so that the policy
can allow one (CBC-SHA1 at low tiers, say) and not another.
"""

from __future__ import annotations

import re

#: Protocol versions, oldest first, as the endpoint records name them.
PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")

#: Weak cipher suite classes, in the order findings list them.
SUITE_CLASSES = ("NULL", "anonymous", "export", "RC4", "RC2", "DES", "3DES", "IDEA", "CBC-SHA1")

#: Field sizes in bits of the named groups whose name carries no number.
_FIXED_GROUP_BITS = {"X25519": 256, "X448": 448}


def _split(name: str) -> tuple[str, str]:
    """``(key exchange, cipher and MAC)`` of an SSL/TLS suite name; TLS 1.3 names have no
    key exchange part, nor do SSL 2 names (``SSL_CK_RC4_128_WITH_MD5``)."""
    if name.startswith("SSL_CK_"):
        return "", name.removeprefix("SSL_CK_")
    body = name.removeprefix("TLS_").removeprefix("SSL_")
    if "_WITH_" in body:
        kx, _, rest = body.partition("_WITH_")
        return kx, rest
    return "", body


def is_tls13_suite(name: str) -> bool:
    return name.startswith("TLS_") and "_WITH_" not in name


def suite_classes(name: str) -> tuple[str, ...]:
    """The weak classes (see :data:`SUITE_CLASSES`) that a suite belongs to, if any."""
    kx, cipher = _split(name)
    found = {
        "NULL": cipher.startswith("NULL") or kx == "NULL",
        "anonymous": "anon" in kx.split("_"),
        "export": "EXPORT" in name,
        "RC4": "RC4" in cipher,
        "RC2": "RC2" in cipher,
        "DES": bool(re.search(r"(^|_)DES(40)?_(CBC|64)", cipher)),
        "3DES": "3DES" in cipher or "DES_192_EDE3" in cipher,
        "IDEA": "IDEA" in cipher,
        "CBC-SHA1": "_CBC" in cipher and cipher.endswith("_SHA"),
    }
    return tuple(c for c in SUITE_CLASSES if found[c])


def has_forward_secrecy(name: str) -> bool:
    """True if the suite negotiates an ephemeral key: every TLS 1.3 suite, (EC)DHE and the
    ephemeral anonymous suites (which fail for lack of authentication instead)."""
    if is_tls13_suite(name):
        return True
    kx, _ = _split(name)
    parts = kx.split("_")
    return parts[0] in ("DHE", "ECDHE") or (parts[0] in ("DH", "ECDH") and "anon" in parts)


def group_bits(name: str) -> int | None:
    """Size of a named group (``secp256r1`` -> 256, ``ffdhe2048`` -> 2048), None if unknown."""
    if name in _FIXED_GROUP_BITS:
        return _FIXED_GROUP_BITS[name]
    match = re.search(r"(\d{3,})", name)
    return int(match.group(1)) if match else None
