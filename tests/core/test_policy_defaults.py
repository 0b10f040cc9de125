"""The policy's documented defaults and how overrides combine with them, without a run.

Every default is a threshold taken from a named standard (the ``source`` of its setting), and
every audit that does not override it is judged by it: a default that changes silently
changes the verdict of every such audit. The table below is the documented one; a change to
a default must change it here too, on purpose. This is also the selection that
``scripts/mutation.py`` runs against ``pytest_cryptoaudit/policy.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pytest_cryptoaudit.policy import (
    BUILTIN_SETTINGS,
    Policy,
    PolicyError,
    PolicySetting,
    overrides_model,
    tiered,
    value_type,
)

#: setting -> (low, medium, high, critical), for the per-tier settings of policy.py.
TIERED = {
    "min_rsa_bits": (2048, 2048, 2048, 3072),
    "min_ec_bits": (224, 224, 256, 256),
    "min_symmetric_bits": (128, 128, 128, 256),
    "min_pq_strength_bits": (128, 128, 128, 192),
    "max_certificate_lifetime_days": (825, 825, 398, 398),
    "expiry_warning_days": (14, 30, 30, 60),
    "allow_private_key_group_readable": (False, False, False, False),
    "allow_unencrypted_private_key_files": (True, True, False, False),
    "allow_mixed_key_usage": (True, False, False, False),
    "event_follow_up_days": (7, 7, 3, 1),
    "finding_triage_days": (30, 14, 7, 3),
    "pq_judge_horizon": (False, False, False, False),
    "pq_data_shelf_life_years": (1, 3, 7, 10),
    "pq_migration_years": (3, 3, 3, 3),
}
#: The settings of policy.py that are one value, or a table by another key than the tier.
SINGLE = {
    "disallowed_algorithms": ["DES", "DES3", "RC4", "RC2", "BLOWFISH"],
    "disallowed_signature_hashes": ["md5", "sha1"],
    "post_2030_min_rsa_bits": 3072,
    "procedures_review_max_days": 365,
    "pq_roadmap": "nist-ir-8547",
    "pq_cnsa_category": "everything",
    "pq_pinned_dates": {"deprecated": "", "disallowed": ""},
    "cryptoperiod_days": {"symmetric": tiered(730, 730, 365, 365),
                          "private": tiered(1095, 1095, 730, 365)},
}
TIERS = ("low", "medium", "high", "critical")


@pytest.fixture(scope="module")
def defaults() -> Policy:
    return Policy(BUILTIN_SETTINGS, {})


@pytest.mark.parametrize("name", sorted(TIERED))
def test_each_tiered_default_is_the_documented_one(defaults: Policy, name: str) -> None:
    assert tuple(defaults.for_tier(name, tier) for tier in TIERS) == TIERED[name]


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_each_other_default_is_the_documented_one(defaults: Policy, name: str) -> None:
    assert defaults[name] == SINGLE[name]


def test_every_setting_of_the_table_exists_and_names_its_source() -> None:
    settings = {s.name: s for s in BUILTIN_SETTINGS}
    assert set(TIERED) | set(SINGLE) <= set(settings)
    assert all(settings[name].per_tier for name in TIERED)
    assert not any(settings[name].per_tier for name in SINGLE)
    assert all(settings[name].source for name in (*TIERED, *SINGLE))


@pytest.mark.parametrize(("default", "per_tier"), [
    (tiered(1, 2, 3, 4), True),
    ({**tiered(1, 2, 3, 4), "extreme": 5}, False),  # more than the tiers: a table by key
    ({"low": 1, "high": 2}, False),  # fewer: not a tier table either
    ([1, 2, 3, 4], False),
    (7, False),
])
def test_a_setting_is_per_tier_only_with_exactly_the_tiers(default: Any, per_tier: bool) -> None:
    assert PolicySetting("x", default, "x").per_tier is per_tier


def test_for_tier_reads_the_tier_after_the_path(defaults: Policy) -> None:
    assert defaults.for_tier("cryptoperiod_days", "critical", "private") == 365
    assert defaults.for_tier("cryptoperiod_days", "low", "symmetric") == 730
    with pytest.raises(ValueError, match="'extreme' is not a valid RiskTier"):
        defaults.for_tier("min_rsa_bits", "extreme")


def test_an_override_replaces_only_the_tiers_and_keys_it_gives() -> None:
    policy = Policy(BUILTIN_SETTINGS, {
        "min_ec_bits": {"low": 256},
        "cryptoperiod_days": {"private": {"critical": 180}},
        "disallowed_signature_hashes": ["md5"],
        "post_2030_min_rsa_bits": 4096,
    })
    assert tuple(policy.for_tier("min_ec_bits", t) for t in TIERS) == (256, 224, 256, 256)
    assert policy["cryptoperiod_days"] == {"symmetric": tiered(730, 730, 365, 365),
                                           "private": tiered(1095, 1095, 730, 180)}
    assert policy["disallowed_signature_hashes"] == ["md5"]
    assert policy["post_2030_min_rsa_bits"] == 4096
    assert policy.overrides == {"min_ec_bits": {"low": 256},
                                "cryptoperiod_days": {"private": {"critical": 180}},
                                "disallowed_signature_hashes": ["md5"],
                                "post_2030_min_rsa_bits": 4096}
    assert policy.as_dict()["min_ec_bits"] == tiered(256, 224, 256, 256)
    # the defaults themselves are untouched by an override
    assert Policy(BUILTIN_SETTINGS, {})["cryptoperiod_days"]["private"]["critical"] == 365


@pytest.mark.parametrize(("overrides", "message"), [
    ({"min_rsa_bits": {"low": True}}, "policy.min_rsa_bits.low: input should be a valid "
                                      "integer, got True"),
    ({"post_2030_min_rsa_bits": 3072.0}, "policy.post_2030_min_rsa_bits: input should be a "
                                         "valid integer"),
    ({"pq_roadmap": 1}, "policy.pq_roadmap: input should be a valid string, got 1"),
    ({"disallowed_algorithms": ["DES", 3]}, r"policy\.disallowed_algorithms\[1\]: input should "
                                            "be a valid string, got 3"),
    ({"allow_mixed_key_usage": {"low": "yes"}}, "policy.allow_mixed_key_usage.low: input "
                                                "should be a valid boolean"),
])
def test_an_override_must_have_the_type_of_its_default(overrides: dict[str, Any],
                                                       message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        Policy(BUILTIN_SETTINGS, overrides)


def test_value_types_follow_the_default() -> None:
    assert value_type(True, "x") is bool
    assert value_type(3, "x") is int
    assert value_type(0.5, "x") is float
    assert value_type("a", "x") is str
    assert value_type(["a"], "x") == list[str]
    assert value_type([], "x") == list[Any]
    assert value_type(None, "x") is Any


def test_a_float_setting_takes_an_int() -> None:
    settings = (PolicySetting("ratio", 0.5, "a ratio"),)
    assert Policy(settings, {"ratio": 1})["ratio"] == 1
    with pytest.raises(PolicyError, match=r"policy\.ratio: input should be a valid number"):
        Policy(settings, {"ratio": "1"})


def test_a_setting_cannot_be_changed_in_place() -> None:
    """A control pack reads the builtin settings; it cannot move their defaults."""
    setting = BUILTIN_SETTINGS[0]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'default'"):
        setting.default = tiered(1024, 1024, 1024, 1024)  # type: ignore[misc]
    assert Policy(BUILTIN_SETTINGS, {}).for_tier(setting.name, "low") == 2048


def test_a_deprecated_name_is_read_as_its_replacement_and_named_in_errors() -> None:
    policy = Policy(BUILTIN_SETTINGS, {"aws_kms_allow_disabled_keys": {"low": False}})
    assert policy.for_tier("managed_key_allow_disabled", "low") is False
    assert policy.for_tier("managed_key_allow_disabled", "medium") is True
    with pytest.raises(PolicyError, match=r"^policy\.aws_kms_allow_disabled_keys\.low: input "
                                          "should be a valid boolean"):
        Policy(BUILTIN_SETTINGS, {"aws_kms_allow_disabled_keys": {"low": "no"}})


def test_the_model_of_one_set_of_settings_is_built_once_and_checks_each_policy() -> None:
    settings = (PolicySetting("ratio", 0.5, "a ratio"),)
    assert overrides_model(settings) is overrides_model(list(settings))
    # another default, or another setting, is another model
    assert overrides_model((PolicySetting("ratio", 1.5, "a ratio"),)) \
        is not overrides_model(settings)
    assert Policy(settings, {"ratio": 1})["ratio"] == 1
    with pytest.raises(PolicyError, match=r"policy\.ratio: input should be a valid number"):
        Policy(settings, {"ratio": "1"})
    with pytest.raises(PolicyError, match=r"policy\.ration: unknown key"):
        Policy(settings, {"ration": 1})
