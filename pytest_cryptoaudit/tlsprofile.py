"""Judge a deviation from a Mozilla server-side TLS profile: weaker, or only more.

sslyze's Mozilla checker reports every difference from a profile, whichever way it goes:
a default OpenSSL 3 server that also offers X448 and secp521r1 "deviates" as much as one
that offers TLS 1.0. An audit must tell them apart. A deviation is *not weaker* when every
option it adds is at least as strong as what the profile asks for (stronger or
post-quantum groups, TLS 1.3 AEAD suites, forward-secret AES suites that NIST SP 800-52
Rev 2 accepts, larger certificate keys, modern certificate types); anything else is
*weaker*: an older protocol, a weak suite, group or key, a missing protection the profile
requires, and any deviation this module cannot read (fail closed).

The deviations are sslyze's ``{name: text}`` (``sslyze.mozilla_tls_profile``); the options
are read from the sets its texts print.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping

from .tlsinfo import group_bits, has_forward_secrecy, suite_classes

#: The smallest elliptic curve every Mozilla profile accepts (P-256, X25519: 128-bit security).
MIN_EC_GROUP_BITS = 256
#: The smallest finite-field group the intermediate and old profiles accept (ffdhe2048).
MIN_FF_GROUP_BITS = 2048

#: TLS 1.3 suites with a full-length AEAD tag (RFC 8446 B.4, IANA "Recommended"): CCM_8
#: (64-bit tag) and the integrity-only suites of RFC 9150 are weaker.
STRONG_TLS13_SUITES = frozenset({
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256"})
#: TLS 1.2 key exchanges with an ephemeral key and a certificate (NIST SP 800-52 Rev 2, 3.3.1).
_STRONG_TLS12_KEY_EXCHANGES = ("ECDHE_ECDSA", "ECDHE_RSA", "DHE_RSA")
#: TLS 1.2 ciphers and MACs of SP 800-52 Rev 2, 3.3.1.1: AEAD, or AES-CBC with an SHA-2 MAC.
_STRONG_TLS12_CIPHERS = re.compile(
    r"AES_(128|256)_GCM_SHA(256|384)|AES_(128|256)_CCM|CHACHA20_POLY1305_SHA256"
    r"|AES_128_CBC_SHA256|AES_256_CBC_SHA384")
#: Certificate key types at least as strong as an ECDSA P-256 key.
_STRONG_CERTIFICATE_TYPES = frozenset({"ecdsa", "Ed25519PublicKey", "Ed448PublicKey"})
_STRONG_SIGNATURE = re.compile(r"(?i)sha-?(256|384|512)|sha3|ed25519|ed448")


@dataclasses.dataclass(frozen=True)
class Deviation:
    """One deviation from a profile, judged: ``why`` says what it adds or lacks."""

    name: str
    text: str
    weaker: bool
    why: str


def judge(name: str, text: str) -> Deviation:
    """Judge one of sslyze's deviations (``name``, ``text``) from a Mozilla profile."""
    judge_options = _JUDGES.get(name)
    if judge_options is None:
        return Deviation(name, text, True, text)
    options = _options(text)
    if not options:
        return Deviation(name, text, True, f"cannot read the options of {text!r}")
    weak = sorted(option for option in options if not judge_options(option))
    if weak:
        return Deviation(name, text, True, f"weaker than the profile: {', '.join(weak)}")
    return Deviation(name, text, False, f"also offers {', '.join(sorted(options))}, "
                                        f"{_STRONGER_BECAUSE[name]}")


def judge_all(issues: Mapping[str, str]) -> list[Deviation]:
    """Every deviation of one profile, judged, sorted by name."""
    return [judge(name, text) for name, text in sorted(issues.items())]


def _options(text: str) -> set[str]:
    """The options a deviation text names: the first ``{...}`` set, or the single curve of
    ``Certificate curve is NAME, ...``; empty if the text cannot be read."""
    curve = re.match(r"Certificate curve is ([\w-]+),", text)
    if curve:
        return {curve.group(1)}
    found = re.search(r"\{[^{}]*\}", text)
    if not found:
        return set()
    try:
        options = ast.literal_eval(found.group(0))
    except (ValueError, SyntaxError):
        return set()
    if not isinstance(options, set) or not all(isinstance(o, str) for o in options):
        return set()
    return options


def strong_group(name: str) -> bool:
    """A key exchange group at least as strong as every profile's: ML-KEM (pure or hybrid),
    a prime curve of 256 bits or more, or a finite-field group of 2048 bits or more."""
    if "MLKEM" in name.upper():
        return True  # post-quantum (ML-KEM, FIPS 203), alone or with X25519/P-256/P-384
    bits = group_bits(name)
    if bits is None or name.startswith(("sect", "c2")):
        return False  # unknown, or a binary curve (deprecated by NIST SP 800-186)
    return bits >= (MIN_FF_GROUP_BITS if name.startswith("ffdhe") else MIN_EC_GROUP_BITS)


def strong_tls12_suite(name: str) -> bool:
    """A TLS 1.2 suite with forward secrecy, an authenticated peer, and a cipher and MAC that
    NIST SP 800-52 Rev 2 accepts (AEAD, or AES-CBC with an SHA-2 MAC)."""
    if suite_classes(name) or not has_forward_secrecy(name) or "_WITH_" not in name:
        return False
    key_exchange, _, cipher = name.removeprefix("TLS_").partition("_WITH_")
    return (key_exchange in _STRONG_TLS12_KEY_EXCHANGES
            and _STRONG_TLS12_CIPHERS.fullmatch(cipher) is not None)


_JUDGES: dict[str, Callable[[str], bool]] = {
    "tls_curves": strong_group,
    "certificate_curves": strong_group,
    "ciphersuites": STRONG_TLS13_SUITES.__contains__,
    "ciphers": strong_tls12_suite,
    "certificate_types": _STRONG_CERTIFICATE_TYPES.__contains__,
    "certificate_signatures": lambda name: _STRONG_SIGNATURE.search(name) is not None,
}
_STRONGER_BECAUSE = {
    "tls_curves": "groups at least as strong as the profile's",
    "certificate_curves": "a curve at least as strong as the profile's",
    "ciphersuites": "TLS 1.3 AEAD suites",
    "ciphers": "forward-secret AES or ChaCha20 suites that NIST SP 800-52 Rev 2 accepts",
    "certificate_types": "a key type at least as strong as the profile's",
    "certificate_signatures": "signatures with an SHA-2 (or stronger) hash",
}


def describe(deviations: Iterable[Deviation]) -> str:
    """``name: why; ...`` of some deviations, for a finding or a note."""
    return "; ".join(f"{d.name}: {d.why}" for d in deviations)
