"""The inventory model: ordering, immutability, tag overrides, JSON round trip."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from pytest_cryptoaudit.catalog import ControlSpec, _as_predicate
from pytest_cryptoaudit.ledger.fingerprint import key_fingerprint
from pytest_cryptoaudit.model import (
    CertificateInfo,
    DiscoveryError,
    Inventory,
    KeyKind,
    KeyRecord,
    RiskTier,
    SourceLocation,
    SystemRecord,
    is_valid_owner,
)
from pytest_cryptoaudit.serialize import inventory_from_dict, inventory_to_dict, to_jsonable

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)


def key(**fields):
    base = dict(uid="files:a.pem", system="web", provider="files", kind="private-key",
                risk_tier="medium", owner="CSC")
    return KeyRecord(**{**base, **fields})


def test_tiers_are_ordered():
    assert RiskTier.CRITICAL > RiskTier.HIGH > RiskTier.MEDIUM > RiskTier.LOW
    assert sorted(RiskTier, key=lambda t: t.rank)[-1] is RiskTier.CRITICAL


@pytest.mark.parametrize("owner", ["CSP", "CSC", "AIC", "CSP-MP", "Shared MP-OSP", "OSP-AP"])
def test_valid_owners(owner):
    assert is_valid_owner(owner)


@pytest.mark.parametrize("owner", ["", "ME", "CSP-MP-AP", "csp"])
def test_invalid_owners(owner):
    assert not is_valid_owner(owner)


def test_records_are_immutable():
    record = key(tags={"env": "prod"})
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'size'"):
        record.size = 1  # type: ignore[misc]
    with pytest.raises(TypeError, match="does not support item assignment"):
        record.tags["env"] = "dev"  # type: ignore[index]


def test_inventory_round_trips_through_json():
    cert = CertificateInfo(subject="CN=a", issuer="CN=a", serial="1", not_before=NOW,
                           not_after=NOW + dt.timedelta(days=1), signature_algorithm="x",
                           signature_hash="sha256", is_ca=False, self_signed=True,
                           key_usage=("digital_signature",))
    inventory = Inventory.build(
        [key(uid="b", kind=KeyKind.CERTIFICATE, certificate=cert, created=NOW,
             usage=("sign",), attributes={"x": [1, 2]}), key(uid="a")],
        [SystemRecord(name="web", provider="files", risk_tier="medium", owner="CSC")],
        [DiscoveryError(system="web", provider="files", reason="boom", key_uid="c")],
    )
    assert [k.uid for k in inventory.keys] == ["a", "b"]
    again = inventory_from_dict(inventory_to_dict(inventory))
    assert again == inventory
    assert again.keys[1].certificate.not_after == NOW + dt.timedelta(days=1)


def test_a_location_round_trips_and_is_no_fact_of_the_key():
    here = SourceLocation(path="infra/kms.tf", line=12, end_line=20,
                          address="aws_kms_key.payments")
    placed = key(location=here)
    error = DiscoveryError(system="web", provider="files", reason="boom", key_uid="c",
                           location=SourceLocation(path="infra/broken.tf", line=3))
    inventory = Inventory.build([placed], [], [error])
    again = inventory_from_dict(inventory_to_dict(inventory))
    assert again.keys[0].location == here
    assert again.errors[0].location == SourceLocation(path="infra/broken.tf", line=3)
    # The ledger's per-key hash ignores where a key is declared, and a record without a
    # location hashes as records did before the field existed.
    moved = dataclasses.replace(placed, location=dataclasses.replace(here, line=40))
    before_the_field = {k: v for k, v in to_jsonable(key()).items() if k != "location"}
    assert key_fingerprint(to_jsonable(placed)) == key_fingerprint(to_jsonable(moved))
    assert key_fingerprint(to_jsonable(key()))["hash"] == key_fingerprint(before_the_field)["hash"]
    assert key_fingerprint(to_jsonable(key(size=2048))) != key_fingerprint(to_jsonable(key()))


def test_applicability_and_requirements():
    spec = ControlSpec(id="CEK-04", title="t", check="c", min_tier=RiskTier.HIGH,
                       requires=("size", "encrypted"),
                       applies=_as_predicate({"kind": ["private-key"]}))
    assert not spec.applies_to(key())  # medium is below high
    assert spec.applies_to(key(risk_tier="critical"))
    assert not spec.applies_to(key(risk_tier="critical", kind="certificate"))
    unknown_kind = key(risk_tier="critical", kind="certificate", unreadable={"kind": "?"})
    assert spec.applies_to(unknown_kind), "an unreadable field must not exclude the key"
    missing = spec.missing(key(unreadable={"size": "encrypted key"}))
    assert missing == {"size": "encrypted key", "encrypted": "not reported by the provider"}
    assert spec.missing(key(size=256, attributes={"encrypted": False})) == {}
