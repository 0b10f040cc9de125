"""JSON round trip for the inventory model (xdist workerinput, evidence files, the ledger)."""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from .model import (
    CertificateInfo,
    DiscoveryError,
    EndpointRecord,
    Inventory,
    KeyRecord,
    SystemRecord,
)

_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_jsonable(value: Any) -> Any:
    """Turn model objects into JSON-ready values: enums by value, datetimes as ISO 8601."""
    if type(value) in _PLAIN:  # most values: a fast path, as evidence holds one per attribute
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


def _parse_datetime(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _from_dict(cls: type, data: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name not in data:
            continue
        value = data[field.name]
        hint = str(hints[field.name])
        if "datetime" in hint:
            value = _parse_datetime(value)
        elif "CertificateInfo" in hint and value is not None:
            value = _from_dict(CertificateInfo, value)
        elif "tuple" in hint and value is not None:
            value = tuple(value)
        kwargs[field.name] = value
    return cls(**kwargs)


def key_from_dict(data: Mapping[str, Any]) -> KeyRecord:
    record: KeyRecord = _from_dict(KeyRecord, data)
    return record


def inventory_to_dict(inventory: Inventory) -> dict[str, Any]:
    result: dict[str, Any] = to_jsonable(inventory)
    return result


def inventory_from_dict(data: Mapping[str, Any]) -> Inventory:
    return Inventory(
        keys=tuple(key_from_dict(k) for k in data.get("keys", ())),
        systems=tuple(_from_dict(SystemRecord, s) for s in data.get("systems", ())),
        errors=tuple(_from_dict(DiscoveryError, e) for e in data.get("errors", ())),
        endpoints=tuple(_from_dict(EndpointRecord, e) for e in data.get("endpoints", ())),
    )
