"""Turn the PKCS#11 attributes of one key object into inventory record fields.

Pure functions over plain values keyed by attribute name (``"KEY_TYPE"``, ``"MODULUS_BITS"``
...), so they need no token and no binding to be tested. Only public facts are interpreted:
the modulus and curve of a key, never its value.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from ..facts import ProtectionLevel
from .pkcs11_facts import managed_facts
from .pkcs11_pq import PQ_ALGORITHMS, key_type_name, parameter_set

KINDS = {"SECRET_KEY": "secret-key", "PRIVATE_KEY": "private-key", "PUBLIC_KEY": "public-key"}
#: Normalized algorithm names (see the model); other key types keep their PKCS#11 name.
ALGORITHMS = {
    "AES": "AES", "DES": "DES", "_DES": "DES", "DES2": "DES3", "DES3": "DES3", "RSA": "RSA",
    "EC": "EC", "DSA": "DSA", "DH": "DH", "X9_42_DH": "DH", "GENERIC_SECRET": "HMAC",
    "CAMELLIA": "Camellia", "BLOWFISH": "BLOWFISH", "_RC2": "RC2", "_RC4": "RC4",
    "CHACHA20": "ChaCha20",
}
#: Key bits without parity, the length SP 800-67 gives for one-, two- and three-key DES.
FIXED_BITS = {"DES": 56, "_DES": 56, "DES2": 112, "DES3": 168}
EDWARDS = {"1.3.101.112": ("Ed25519", 256), "1.3.101.113": ("Ed448", 456),
           "edwards25519": ("Ed25519", 256), "edwards448": ("Ed448", 456),
           "1.3.101.110": ("X25519", 256), "1.3.101.111": ("X448", 448),
           "curve25519": ("X25519", 256), "curve448": ("X448", 448)}
PROTECTION = ("SENSITIVE", "EXTRACTABLE", "ALWAYS_SENSITIVE", "NEVER_EXTRACTABLE")
FLAGS = ("LOCAL", "MODIFIABLE", "TOKEN", "PRIVATE", *PROTECTION)
USAGE = ("ENCRYPT", "DECRYPT", "SIGN", "SIGN_RECOVER", "VERIFY", "VERIFY_RECOVER", "WRAP",
         "UNWRAP", "DERIVE")
#: Expected on every key object of these classes; their absence is reported as unreadable.
EXPECTED = {
    "secret-key": ("LOCAL", *PROTECTION),
    "private-key": ("LOCAL", *PROTECTION),
    "public-key": ("LOCAL",),
}


@dataclasses.dataclass
class RawObject:
    """What the token returned for one key object, with the reason for each failed read."""

    object_class: str
    values: dict[str, Any]
    unreadable: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def kind(self) -> str:
        return KINDS[self.object_class]

    @property
    def label(self) -> str:
        return str(self.values.get("LABEL") or "")

    @property
    def nothing_read(self) -> bool:
        """True when the token answered none of the requested attributes."""
        return bool(self.unreadable) and not any(
            name in self.values for name in ("LABEL", "ID", "KEY_TYPE", *FLAGS))

    @property
    def id_hex(self) -> str:
        return bytes(self.values.get("ID") or b"").hex()


def assign_uids(token_label: str, objects: list[RawObject]) -> list[str]:
    """Stable, readable uids: ``pkcs11:<token>/<label>#<id hex>``.

    A key pair shares label and id by convention, so public and private objects always carry
    their class (``;public``, ``;private``): the uid of one half does not change when the
    other is deleted. Objects that still collide are numbered in the order of their
    attributes, since tokens list objects in no stable order.
    """
    bases = [_base_uid(token_label, obj) for obj in objects]
    totals = Counter(bases)
    uids = list(bases)
    for base in (b for b, total in totals.items() if total > 1):
        same = sorted((i for i, b in enumerate(bases) if b == base),
                      key=lambda i: _sort_key(objects[i]))
        for number, index in enumerate(same, start=1):
            uids[index] = f"{base}~{number}"
    return uids


def _sort_key(obj: RawObject) -> str:
    return repr(sorted((name, repr(value)) for name, value in obj.values.items()))


def _base_uid(token_label: str, obj: RawObject) -> str:
    uid = f"pkcs11:{token_label}/{obj.label}"
    if obj.id_hex:
        uid += f"#{obj.id_hex}"
    if obj.kind != "secret-key":
        uid += ";" + obj.kind.removesuffix("-key")
    return uid


def key_fields(obj: RawObject, token_label: str, now: datetime, *,
               protection: ProtectionLevel) -> dict[str, Any]:
    """The KeyRecord fields of one object (everything but uid and kind); ``protection`` is
    what protects the token's keys (see :mod:`.pkcs11_facts`)."""
    unreadable = dict(obj.unreadable)  # keyed by attribute name until the end
    algorithm, size, curve = _algorithm_and_size(obj, unreadable)
    state = _state(obj, now, unreadable)
    for name in EXPECTED[obj.kind]:
        if name not in obj.values:
            unreadable.setdefault(name, f"the token did not return CKA_{name}")
    if obj.values.get("START_DATE") is None:
        unreadable.setdefault("START_DATE", "PKCS#11 keeps no creation date and "
                                            "CKA_START_DATE is not set")
    local = obj.values.get("LOCAL")
    managed, managed_unreadable = managed_facts(obj.kind, obj.values, obj.unreadable,
                                                protection, state)
    return {
        "algorithm": algorithm, "size": size, "curve": curve,
        "usage": tuple(name.lower() for name in USAGE if obj.values.get(name)),
        "origin": None if local is None else ("generated-on-token" if local else "imported"),
        "created": _start_of(obj.values.get("START_DATE")),
        "expires": _end_of(obj.values.get("END_DATE")),
        "state": state,
        "attributes": _attributes(obj, token_label),
        "unreadable": {**{_field_name(k): v for k, v in unreadable.items()},
                       **managed_unreadable},
        "managed": managed,
    }


def _field_name(attribute: str) -> str:
    return {"START_DATE": "created", "END_DATE": "expires"}.get(attribute, attribute.lower())


def _attributes(obj: RawObject, token_label: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "token_label": token_label, "label": obj.label, "id": obj.id_hex,
        "object_class": obj.object_class, "key_type": _name(obj.values.get("KEY_TYPE")),
    }
    attributes.update({f.lower(): obj.values[f] for f in FLAGS if f in obj.values})
    for name in ("START_DATE", "END_DATE"):
        if obj.values.get(name) is not None:
            attributes[name.lower()] = obj.values[name].isoformat()
    if obj.values.get("START_DATE") is not None:
        attributes["created_source"] = "CKA_START_DATE"
    named = parameter_set(attributes["key_type"] or "", obj.values.get("PARAMETER_SET"))
    if named is not None:
        attributes["parameter_set"] = named[0]
    return attributes


def _name(value: Any) -> str | None:
    return key_type_name(value)


def _start_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), UTC)


def _end_of(day: date | None) -> datetime | None:
    # CKA_END_DATE is the last day the key may be used: it ends at midnight after that day.
    return None if day is None else datetime.combine(day, time(), UTC) + timedelta(days=1)


def _state(obj: RawObject, now: datetime, unreadable: Mapping[str, str]) -> str | None:
    if "START_DATE" in unreadable or "END_DATE" in unreadable:
        return None
    start, end = _start_of(obj.values.get("START_DATE")), _end_of(obj.values.get("END_DATE"))
    if start is not None and now < start:
        return "pre-activation"
    if end is not None and now >= end:
        return "deactivated"
    return "active"


def _algorithm_and_size(obj: RawObject,
                        unreadable: dict[str, str]) -> tuple[str | None, int | None, str | None]:
    key_type = _name(obj.values.get("KEY_TYPE"))
    if key_type is None:
        reason = unreadable.get("KEY_TYPE", "the token did not return CKA_KEY_TYPE")
        unreadable.update(algorithm=reason, size=reason)
        return None, None, None
    if key_type in PQ_ALGORITHMS:
        return _post_quantum(key_type, obj, unreadable)
    algorithm = ALGORITHMS.get(key_type, key_type.lstrip("_"))
    if key_type.endswith("_HMAC"):
        algorithm = "HMAC"
    if key_type in ("EC", "EC_EDWARDS"):
        return _curve(obj, algorithm, unreadable)
    size = _size(key_type, obj)
    if size is None:
        unreadable["size"] = f"no key length attribute for a {key_type} {obj.kind}"
    return algorithm, size, None


def _post_quantum(key_type: str, obj: RawObject,
                  unreadable: dict[str, str]) -> tuple[str, int | None, None]:
    """A PKCS#11 3.2 key: its size is the strength of its parameter set, when known."""
    value = obj.values.get("PARAMETER_SET")
    named = parameter_set(key_type, value)
    if named is None and key_type in ("ML_DSA", "ML_KEM", "SLH_DSA"):
        unreadable["size"] = unreadable.get("PARAMETER_SET") or (
            "the token did not return CKA_PARAMETER_SET" if value is None
            else f"unknown {key_type} parameter set {value}")
    elif named is None:  # HSS and XMSS: the parameters are in the key, not in one value
        return PQ_ALGORITHMS[key_type], 256, None
    return PQ_ALGORITHMS[key_type], named[1] if named else None, None


def _size(key_type: str, obj: RawObject) -> int | None:
    values = obj.values
    if key_type in FIXED_BITS:
        return FIXED_BITS[key_type]
    if key_type == "RSA":
        if values.get("MODULUS_BITS"):
            return int(values["MODULUS_BITS"])
        return _bits(values.get("MODULUS"))
    if key_type in ("DSA", "DH", "X9_42_DH"):
        return _bits(values.get("PRIME"))
    if obj.kind == "secret-key" and values.get("VALUE_LEN"):
        return int(values["VALUE_LEN"]) * 8
    return None


def _bits(number: bytes | None) -> int | None:
    return int.from_bytes(number, "big").bit_length() if number else None


def _curve(obj: RawObject, algorithm: str,
           unreadable: dict[str, str]) -> tuple[str | None, int | None, str | None]:
    params = obj.values.get("EC_PARAMS")
    named = decode_curve(params) if params else None
    if named is None:
        reason = ("the token did not return CKA_EC_PARAMS" if not params
                  else f"unknown curve in CKA_EC_PARAMS {bytes(params).hex()}")
        unreadable.update(size=reason, curve=reason)
        return algorithm, None, None
    if named in EDWARDS:
        name, size = EDWARDS[named]
        return name, size, None
    try:
        curve = ec.get_curve_for_oid(x509.ObjectIdentifier(named))()
    except LookupError:
        unreadable.update(size=f"unknown curve {named}", curve=f"unknown curve {named}")
        return algorithm, None, named
    return algorithm, curve.key_size, curve.name


def decode_curve(params: bytes) -> str | None:
    """The named curve in DER ECParameters: a dotted OID, or a PrintableString name."""
    data = bytes(params)
    if len(data) < 3 or data[1] != len(data) - 2:
        return None
    if data[0] == 0x13:  # PKCS#11 3.0 allows curve names such as "edwards25519"
        return data[2:].decode("ascii", errors="replace")
    if data[0] != 0x06:
        return None
    arcs, value = [], 0
    for byte in data[2:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in (first, arcs[0] - 40 * first, *arcs[1:]))
