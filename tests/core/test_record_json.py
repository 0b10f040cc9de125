"""A record's JSON form is exactly :func:`to_jsonable`'s, and made once per record where an
incremental run asks to keep it."""

from __future__ import annotations

import dataclasses
import datetime as dt

from pytest_cryptoaudit.ledger.fingerprint import key_fingerprint, material_facts
from pytest_cryptoaudit.model import Inventory, KeyRecord, SourceLocation, SystemRecord
from pytest_cryptoaudit.serialize import (
    inventory_from_dict,
    inventory_to_dict,
    record_json,
    to_jsonable,
)

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)


def key(**fields: object) -> KeyRecord:
    base: dict[str, object] = dict(
        uid="files:a.pem", system="web", provider="files", kind="private-key",
        risk_tier="medium", owner="CSC", algorithm="RSA", size=3072, created=NOW,
        tags={"env": "prod"}, attributes={"policy": {"Statement": []}},
        location=SourceLocation(path="infra/kms.tf", line=3))
    return KeyRecord(**{**base, **fields})  # type: ignore[arg-type]


def test_record_json_is_made_once_where_kept_and_equals_to_jsonable() -> None:
    record = key()
    first = record_json(record, keep=True)
    assert first == to_jsonable(record)
    assert first["created"] == NOW.isoformat()
    assert first["location"] == {"path": "infra/kms.tf", "line": 3, "end_line": None,
                                 "address": None}
    assert record_json(record) is first  # kept on the record
    assert record == key()  # the kept form is no field: equality is unchanged


def test_a_changed_record_gets_its_own_json() -> None:
    record = key()
    record_json(record, keep=True)
    resized = dataclasses.replace(record, size=4096)
    assert record_json(resized)["size"] == 4096
    assert record_json(record)["size"] == 3072


def test_kept_json_does_not_travel_with_the_inventory() -> None:
    record = key()
    record_json(record, keep=True)
    inventory = Inventory.build(
        [record], [SystemRecord(name="web", provider="files", risk_tier="medium",
                                owner="CSC")], [])
    data = inventory_to_dict(inventory)
    assert "_cryptoaudit_json" not in data["keys"][0]
    assert inventory_from_dict(data) == inventory


def test_a_full_run_keeps_no_form_on_the_record() -> None:
    record = key()
    first = record_json(record)
    assert first == to_jsonable(record)
    assert record_json(record) is not first  # made again: nothing held per record
    assert "_cryptoaudit_json" not in getattr(record, "__dict__", {})


def test_material_facts_are_the_fingerprint_without_its_hash() -> None:
    summary = key_fingerprint(record_json(key()))
    assert material_facts(record_json(key())) == {k: v for k, v in summary.items()
                                                  if k != "hash"}
    assert material_facts(record_json(key(size=4096)))["size"] == 4096
    assert material_facts(record_json(key(attributes={})))["policy"] is None
    assert summary["policy"] is not None


def test_rebuilding_records_resolves_each_class_type_hints_once(monkeypatch) -> None:
    """An xdist worker rebuilds the whole inventory from JSON: resolving a record class's
    annotations for every record was most of that cost."""
    import typing

    from pytest_cryptoaudit import serialize

    serialize._hinted_fields.cache_clear()
    resolved: list[type] = []
    real = typing.get_type_hints

    def counting(cls: type, *args: object, **kwargs: object) -> dict[str, object]:
        resolved.append(cls)
        return real(cls, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(typing, "get_type_hints", counting)
    inventory = Inventory(keys=tuple(key(uid=f"files:{n}.pem") for n in range(50)),
                          systems=(), errors=())
    rebuilt = inventory_from_dict(inventory_to_dict(inventory))
    assert rebuilt.keys == inventory.keys
    assert resolved.count(KeyRecord) == 1
    assert resolved.count(SourceLocation) == 1
