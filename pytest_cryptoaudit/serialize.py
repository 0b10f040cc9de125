"""JSON round trip for the inventory model (xdist workerinput, evidence files, the ledger)."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from .model import (
    DiscoveryError,
    EndpointRecord,
    Inventory,
    KeyRecord,
    LibraryRecord,
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


def _decode(hint: Any, value: Any) -> Any:
    """Rebuild a value of type ``hint`` from JSON: nested dataclasses (certificate, typed
    facts), tuples of them, and datetimes; enums are coerced by the dataclasses themselves."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(options[0], value) if len(options) == 1 else value
    if origin is tuple:
        element = typing.get_args(hint)[0]
        return tuple(_decode(element, v) for v in value)
    if hint is datetime:
        return _parse_datetime(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _from_dict(hint, value)
    return value


def _from_dict(cls: type, data: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {field.name: _decode(hints[field.name], data[field.name])
              for field in dataclasses.fields(cls) if field.name in data}
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
        libraries=tuple(_from_dict(LibraryRecord, e) for e in data.get("libraries", ())),
    )
