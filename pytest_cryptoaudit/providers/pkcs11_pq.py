"""PKCS#11 3.2 post-quantum key types, parameter sets and mechanisms, by number.

A token that speaks PKCS#11 3.2 may hold ML-KEM, ML-DSA and SLH-DSA keys (and 3.1's
stateful HSS and XMSS keys) whose type the installed python-pkcs11 may not name yet: it
turns an unknown CKA_KEY_TYPE into an error. The numbers come from the OASIS PKCS#11
Specification Version 3.2 (``pkcs11t.h``); a key is recorded by them, never rejected for
being new. The parameter set (CKA_PARAMETER_SET) gives the size, as the NIST security
strength in bits, the convention of the AWS KMS key specs and of ``pqoids``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

CKA_PARAMETER_SET = 0x61D
#: CKK_* -> the key type's PKCS#11 name (without ``CKK_``).
PQ_KEY_TYPES: Mapping[int, str] = MappingProxyType({
    0x46: "HSS", 0x47: "XMSS", 0x48: "XMSSMT", 0x49: "ML_KEM", 0x4A: "ML_DSA", 0x4B: "SLH_DSA"})
#: The key type's name -> the inventory's algorithm name.
PQ_ALGORITHMS: Mapping[str, str] = MappingProxyType({
    "HSS": "HSS", "XMSS": "XMSS", "XMSSMT": "XMSS", "ML_KEM": "ML-KEM", "ML_DSA": "ML-DSA",
    "SLH_DSA": "SLH-DSA"})
_SLH = ("SHA2-128s", "SHAKE-128s", "SHA2-128f", "SHAKE-128f", "SHA2-192s", "SHAKE-192s",
        "SHA2-192f", "SHAKE-192f", "SHA2-256s", "SHAKE-256s", "SHA2-256f", "SHAKE-256f")
#: Key type -> CKP_* value -> (parameter set, security strength in bits).
PARAMETER_SETS: Mapping[str, Mapping[int, tuple[str, int]]] = MappingProxyType({
    "ML_DSA": {1: ("ML-DSA-44", 128), 2: ("ML-DSA-65", 192), 3: ("ML-DSA-87", 256)},
    "ML_KEM": {1: ("ML-KEM-512", 128), 2: ("ML-KEM-768", 192), 3: ("ML-KEM-1024", 256)},
    "SLH_DSA": {number: (f"SLH-DSA-{name}", int(name.split("-")[1][:3]))
                for number, name in enumerate(_SLH, start=1)},
})
_HASH_VARIANTS = ("SHA224", "SHA256", "SHA384", "SHA512", "SHA3_224", "SHA3_256",
                  "SHA3_384", "SHA3_512", "SHAKE128", "SHAKE256")
#: CKM_* -> the mechanism's PKCS#11 name (without ``CKM_``), post-quantum ones only.
PQ_MECHANISMS: Mapping[int, str] = MappingProxyType({
    0x0F: "ML_KEM_KEY_PAIR_GEN", 0x17: "ML_KEM", 0x1C: "ML_DSA_KEY_PAIR_GEN", 0x1D: "ML_DSA",
    0x1F: "HASH_ML_DSA", **{0x23 + i: f"HASH_ML_DSA_{h}" for i, h in enumerate(_HASH_VARIANTS)},
    0x2D: "SLH_DSA_KEY_PAIR_GEN", 0x2E: "SLH_DSA", 0x34: "HASH_SLH_DSA",
    **{0x36 + i: f"HASH_SLH_DSA_{h}" for i, h in enumerate(_HASH_VARIANTS)},
})


def key_type_name(value: Any) -> str | None:
    """The PKCS#11 name of a CKA_KEY_TYPE: a python-pkcs11 enum member's name, a known
    post-quantum number's name, else the number in hex (kept, never guessed)."""
    if value is None:
        return None
    name = getattr(value, "name", value)
    if isinstance(name, str):
        return name
    return PQ_KEY_TYPES.get(int(value), f"0x{int(value):x}")


def parameter_set(key_type: str, value: Any) -> tuple[str, int] | None:
    """(parameter set, strength) of a CKA_PARAMETER_SET value, None if unknown."""
    if value is None:
        return None
    return PARAMETER_SETS.get(key_type, {}).get(int(value))


def pq_mechanism_names(mechanisms: Iterable[Any]) -> list[str]:
    """The post-quantum mechanisms among those a token lists, as ``CKM_`` names."""
    return sorted(f"CKM_{PQ_MECHANISMS[int(m)]}" for m in mechanisms
                  if int(m) in PQ_MECHANISMS)


def token_pq_mechanisms(slot: Any) -> dict[str, Any]:
    """System facts: the post-quantum mechanisms a token lists (C_GetMechanismList), or,
    if it cannot list them, why (so an empty list always means "none offered")."""
    import pkcs11

    try:
        return {"pq_mechanisms": pq_mechanism_names(slot.get_mechanisms())}
    except pkcs11.PKCS11Error as exc:
        return {"pq_mechanisms_error": f"C_GetMechanismList failed: {type(exc).__name__}"
                                       + (f": {exc}" if str(exc) else "")}


def lenient_key_types(session: Any) -> None:
    """Make ``session`` decode a CKA_KEY_TYPE that python-pkcs11 has no name for to its
    number instead of failing the whole attribute read, so a newer key type is recorded.
    A binding without a per-session attribute mapper is left as it is."""
    from pkcs11 import Attribute
    from pkcs11.attributes import handle_ulong

    types = getattr(getattr(session, "attribute_mapper", None), "attribute_types", None)
    if not isinstance(types, dict) or Attribute.KEY_TYPE not in types:
        return
    pack, unpack_enum = types[Attribute.KEY_TYPE]

    def unpack(raw: bytes) -> Any:
        try:
            return unpack_enum(raw)
        except ValueError:  # "75 is not a valid KeyType"
            return handle_ulong[1](raw)

    types[Attribute.KEY_TYPE] = (pack, unpack)
