"""Post-quantum keys and certificates the installed ``cryptography`` cannot load, by OID.

A key of an algorithm newer than the parser is a fact to record, never an error: the
AlgorithmIdentifier of a SubjectPublicKeyInfo or PKCS #8 PrivateKeyInfo names it, and that is
all the inventory needs (no key material is read). Sizes follow the convention of the AWS
KMS key specs: the classical security strength of the parameter set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm

_NIST_SIG = "2.16.840.1.101.3.4.3."
_NIST_KEM = "2.16.840.1.101.3.4.4."
_SLH = ("SHA2-128s", "SHA2-128f", "SHA2-192s", "SHA2-192f", "SHA2-256s", "SHA2-256f",
        "SHAKE-128s", "SHAKE-128f", "SHAKE-192s", "SHAKE-192f", "SHAKE-256s", "SHAKE-256f")

#: OID -> (algorithm family, size in bits of security strength, parameter set);
#: FIPS 203, 204, 205 (NIST CSOR), RFC 8708 (HSS/LMS), RFC 9802 (XMSS, XMSS^MT).
PQ_OIDS: Mapping[str, tuple[str, int, str]] = MappingProxyType({
    _NIST_SIG + "17": ("ML-DSA", 128, "ML-DSA-44"),
    _NIST_SIG + "18": ("ML-DSA", 192, "ML-DSA-65"),
    _NIST_SIG + "19": ("ML-DSA", 256, "ML-DSA-87"),
    **{f"{_NIST_SIG}{20 + i}": ("SLH-DSA", int(name.split("-")[1][:3]), f"SLH-DSA-{name}")
       for i, name in enumerate(_SLH)},
    _NIST_KEM + "1": ("ML-KEM", 128, "ML-KEM-512"),
    _NIST_KEM + "2": ("ML-KEM", 192, "ML-KEM-768"),
    _NIST_KEM + "3": ("ML-KEM", 256, "ML-KEM-1024"),
    "1.2.840.113549.1.9.16.3.17": ("LMS", 256, "HSS/LMS"),
    "1.3.6.1.5.5.7.6.34": ("XMSS", 256, "XMSS"),
    "1.3.6.1.5.5.7.6.35": ("XMSS", 256, "XMSS^MT"),
})


class DerError(ValueError):
    """Not the DER structure expected."""


def _element(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``offset``."""
    if offset + 2 > len(data):
        raise DerError("truncated DER")
    tag, length = data[offset], data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > len(data):
            raise DerError("bad DER length")
        length = int.from_bytes(data[start:start + count], "big")
        start += count
    if start + length > len(data):
        raise DerError("truncated DER")
    return tag, start, start + length


def _decode_oid(content: bytes) -> str:
    if not content:
        raise DerError("empty OID")
    arcs, value = [], 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs or content[-1] & 0x80:
        raise DerError("truncated OID")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in (first, arcs[0] - 40 * first, *arcs[1:]))


def _algorithm_oid(data: bytes, offset: int) -> str:
    tag, start, _end = _element(data, offset)
    if tag != 0x30:
        raise DerError("AlgorithmIdentifier is not a SEQUENCE")
    tag, oid_start, oid_end = _element(data, start)
    if tag != 0x06:
        raise DerError("AlgorithmIdentifier without an OID")
    return _decode_oid(data[oid_start:oid_end])


def key_oid(der: bytes) -> str:
    """The algorithm OID of a SubjectPublicKeyInfo or a PKCS #8 PrivateKeyInfo."""
    tag, start, _end = _element(der, 0)
    if tag != 0x30:
        raise DerError("not a SEQUENCE")
    first, _, first_end = _element(der, start)
    if first == 0x02:  # PrivateKeyInfo: version INTEGER, then the AlgorithmIdentifier
        return _algorithm_oid(der, first_end)
    return _algorithm_oid(der, start)


def describe_by_oid(oid: str) -> dict[str, Any] | None:
    """Inventory fields of a post-quantum key known only by its OID, or None if unknown."""
    if oid not in PQ_OIDS:
        return None
    family, size, parameter_set = PQ_OIDS[oid]
    return {"algorithm": family, "size": size, "curve": None,
            "attributes": {"parameter_set": parameter_set, "oid": oid}}


def describe_der_by_oid(der: bytes) -> tuple[str, dict[str, Any]] | None:
    """``(kind, fields)`` of a DER SubjectPublicKeyInfo or unencrypted PKCS #8 PrivateKeyInfo
    of a post-quantum algorithm, or None if the data is neither or the OID is unknown."""
    try:
        fields = describe_by_oid(key_oid(der))
        _tag, start, _end = _element(der, 0)
        first = _element(der, start)[0]
    except DerError:
        return None
    if fields is None:
        return None
    attributes = {**fields["attributes"], "format": "DER"}
    if first == 0x02:  # PrivateKeyInfo starts with its version
        return "private-key", {**fields, "attributes": {**attributes, "encrypted": False}}
    return "public-key", {**fields, "attributes": attributes}


def pem_der(block: bytes) -> bytes:
    """The DER inside one PEM block (headers and armour lines dropped)."""
    import base64

    lines = [line for line in block.splitlines()
             if line and not line.startswith(b"-----") and b":" not in line]
    try:
        return base64.b64decode(b"".join(lines), validate=True)
    except ValueError:
        raise DerError("bad base64 in PEM block") from None


def load_or_describe_by_oid(load: Callable[[], dict[str, Any]], block: bytes) -> dict[str, Any]:
    """``load()`` a PEM key; a post-quantum key the parser does not know yet is recorded by
    its OID (unencrypted PKCS #8 and SubjectPublicKeyInfo only), never an error for being new."""
    try:
        return load()
    except (UnsupportedAlgorithm, ValueError):  # cryptography: "Unknown key type: <OID>"
        try:
            fields = describe_by_oid(key_oid(pem_der(block)))
        except DerError:
            fields = None
        if fields is None:
            raise
        attributes = {**fields["attributes"], "format": "PEM"}
        if b"PRIVATE KEY" in block.split(b"\n", 1)[0]:
            attributes["encrypted"] = False
        return {**fields, "attributes": attributes}
