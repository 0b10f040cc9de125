"""Facts a source never states (a key's age in infrastructure code) take a check's subject
away instead of erroring: the check is judged where the fact lives."""

from __future__ import annotations

from pytest_cryptoaudit.applicability import ControlFunction, unmatched
from pytest_cryptoaudit.catalog_cli import load_builtin_catalog
from pytest_cryptoaudit.model import UNSTATED, Inventory, KeyRecord, SystemRecord

REASON = "the code does not say when the key was created"


def key_age():
    return next(s for s in load_builtin_catalog() if s.check == "key-age")


def planned(**attributes):
    return KeyRecord(uid="terraform:kms.tf:1:aws_kms_key.a", system="code",
                     provider="terraform", kind="secret-key", risk_tier="high", owner="CSC",
                     attributes=attributes)


def test_a_required_fact_the_source_never_states_takes_the_subject_away():
    spec = key_age()
    assert spec.applies_to(planned())  # unknown age: the check applies and will error
    unstated = planned(**{UNSTATED: {"created": REASON}})
    assert not spec.applies_to(unstated)
    assert spec.unstated(unstated) == f"created: {REASON}"
    # A fact the check does not require changes nothing.
    assert spec.applies_to(planned(**{UNSTATED: {"curve": "not in code"}}))


def test_the_not_applicable_entry_says_what_the_source_does_not_state():
    system = SystemRecord(name="code", provider="terraform", risk_tier="high", owner="CSC")
    inventory = Inventory.build([planned(**{UNSTATED: {"created": REASON}})], [system], [])
    [entry] = unmatched([ControlFunction(key_age(), "crypto_key", None)], inventory, None)
    assert entry["check"] == "key-age"
    assert entry["outcome"] == "not-applicable"
    assert entry["reason"].startswith(
        f"the source of system code does not state what the check needs (created: {REASON})")
