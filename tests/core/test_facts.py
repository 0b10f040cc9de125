"""Typed facts: they survive the JSON round trip xdist uses, and requires/reads drive what
a run fetches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pytest_cryptoaudit.catalog import ControlSpec
from pytest_cryptoaudit.facts import (
    Action,
    Deletion,
    Grant,
    KeyState,
    ManagedKeyFacts,
    PrincipalKind,
    Rotation,
    fact,
    reported,
)
from pytest_cryptoaudit.fetchplan import facts_for
from pytest_cryptoaudit.model import Inventory, KeyRecord
from pytest_cryptoaudit.providers import DiscoveryContext
from pytest_cryptoaudit.serialize import inventory_from_dict, inventory_to_dict

NOW = datetime(2026, 12, 1, tzinfo=UTC)
FACTS = ManagedKeyFacts(
    manager="customer", origin="imported", protection="hsm", state="pending-deletion",
    native_state="PendingDeletion", can_rotate=True,
    rotation=Rotation(True, 90, last=NOW, period_source="default"),
    deletion=Deletion(NOW, 7), key_store="store-1", material_expires=True,
    multi_region=True, replicas=["eu-west-1"],
    access=[Grant("*", "anyone", ["use", "grant"], "key-policy", restricted=True, ref="s1")])


def record(**fields) -> KeyRecord:
    return KeyRecord(uid="k1", system="s", provider="p", kind="secret-key", risk_tier="high",
                     owner="CSC", **fields)


def test_managed_facts_round_trip_through_json_as_xdist_workers_receive_them():
    inventory = Inventory.build([record(managed=FACTS), record(managed=None)], [], [])
    back = inventory_from_dict(inventory_to_dict(inventory))
    assert back == inventory
    facts = back.keys[0].managed
    assert facts.state is KeyState.PENDING_DELETION
    assert facts.access[0].kind is PrincipalKind.ANYONE
    assert facts.access[0].actions == (Action.GRANT, Action.USE)
    assert facts.rotation.last == NOW and facts.deletion.scheduled_for == NOW


def test_a_fact_is_read_by_dotted_name_and_unreadable_counts_as_reported():
    key = record(managed=FACTS, unreadable={"managed.access": "AccessDenied"})
    assert fact(key, "managed.rotation.period_days") == 90
    assert reported(key, "managed.access")
    bare = record(managed=ManagedKeyFacts("customer", "generated", "software", "enabled"))
    assert not reported(bare, "managed.access") and fact(bare, "managed.access") is None


def test_a_required_fact_the_provider_could_not_read_is_missing_with_its_reason():
    spec = ControlSpec("CEK-08", "t", "c", requires=("managed.access", "managed.state"))
    key = record(managed=FACTS, unreadable={"managed.access": "not fetched"})
    assert spec.missing(key) == {"managed.access": "not fetched"}
    bare = record(managed=ManagedKeyFacts("customer", "generated", "software", "enabled"))
    assert spec.missing(bare) == {"managed.access": "not reported by the provider"}


def test_an_unknown_state_is_refused_not_guessed():
    with pytest.raises(ValueError):
        ManagedKeyFacts("customer", "generated", "software", "sleeping")


def test_selected_controls_fetch_the_union_of_what_they_require_and_read():
    specs = [ControlSpec("CEK-12", "t", "a", requires=("created",), reads=("rotated",)),
             ControlSpec("CEK-12", "t", "b", requires=("managed.rotation",)),
             ControlSpec("CEK-08", "t", "c", requires=("managed.access",))]
    assert facts_for({"cek-12"}, specs) == {"created", "rotated", "managed.rotation"}
    assert facts_for({"CEK-12", "CEK-08"}, specs) == {
        "created", "rotated", "managed.rotation", "managed.access"}
    assert facts_for({"ORG-01"}, specs) is None  # a custom control: fetch everything


def test_the_context_needs_only_the_facts_of_the_selected_builtin_controls():
    from pytest_cryptoaudit.policy import BUILTIN_SETTINGS, Policy

    policy = Policy(BUILTIN_SETTINGS, {})
    alone = DiscoveryContext(policy=policy, now=NOW, selected_controls=frozenset({"CEK-09"}))
    assert alone.needs("auditor_admin_rights") and alone.needs("cloudtrail_regions")
    assert not alone.needs("managed.rotation") and not alone.needs("managed.access")
    full = DiscoveryContext(policy=policy, now=NOW)
    assert full.required_facts is None and full.needs("managed.access")


@pytest.mark.parametrize("name", ["aws-kms", "vault", "tls"])
def test_every_fact_a_provider_fetches_on_demand_is_one_a_control_names(name):
    from pytest_cryptoaudit.catalog_cli import load_builtin_catalog
    from pytest_cryptoaudit.providers import ProviderRegistry

    provider = ProviderRegistry().get(name)
    named = {fact for spec in load_builtin_catalog() for fact in spec.facts}
    assert provider.fetches, f"{name} declares no fact -> calls map"
    assert set(provider.fetches) <= named, set(provider.fetches) - named
