"""JSON round trip for the inventory model (xdist workerinput, evidence files, the ledger)."""

from __future__ import annotations

import dataclasses
import enum
import functools
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
    kind = type(value)
    if kind in _PLAIN:  # most values: a fast path, as evidence holds one per attribute
        return value
    names = _fields_of(kind)
    if names is not None:
        return {name: to_jsonable(getattr(value, name)) for name in names}
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


#: The field names of each dataclass met, None for any other type: asking
#: ``dataclasses.fields`` again for every record was a good part of the cost of a large
#: inventory's JSON.
_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _fields_of(kind: type) -> tuple[str, ...] | None:
    try:
        return _FIELDS[kind]
    except KeyError:
        names = tuple(f.name for f in dataclasses.fields(kind)) \
            if dataclasses.is_dataclass(kind) else None
        _FIELDS[kind] = names
        return names


#: Where :func:`record_json` keeps a record's JSON form on the record itself.
_JSON_ATTRIBUTE = "_cryptoaudit_json"


def record_json(record: Any, *, keep: bool = False) -> dict[str, Any]:
    """The JSON form of an inventory record (:func:`to_jsonable`), made once per record
    where it is kept.

    An incremental run reads every record's form several times (the ledger's change
    detection, the inputs hash of the pairs it re-runs, the evidence), so it asks to
    ``keep`` the first form on the record itself (records are frozen; the form goes when
    the record goes). A full run does not: kept to the end of the run, the forms of its
    records would cost more memory per test than making them again costs time. Callers
    must not change the form: copy before adding to it.
    """
    cached: dict[str, Any] | None = getattr(record, "__dict__", {}).get(_JSON_ATTRIBUTE)
    if cached is None:
        cached = to_jsonable(record)
        if keep and hasattr(record, "__dict__"):
            object.__setattr__(record, _JSON_ATTRIBUTE, cached)
    assert isinstance(cached, dict)
    return cached


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


@functools.cache
def _hinted_fields(cls: type) -> tuple[tuple[str, Any], ...]:
    """Each field of a record class with its resolved type hint. Resolving the hints
    evaluates every annotation of the class: once per class, not once per record (an xdist
    worker rebuilds every key of the inventory)."""
    hints = typing.get_type_hints(cls)
    return tuple((field.name, hints[field.name]) for field in dataclasses.fields(cls))


def _from_dict(cls: type, data: Mapping[str, Any]) -> Any:
    kwargs = {name: _decode(hint, data[name]) for name, hint in _hinted_fields(cls)
              if name in data}
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
