"""Configuration validation: every mistake is a usage error naming file, key and expectation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pydantic
import pytest

from pytest_cryptoaudit.config import ConfigError, load_config, parse_config
from pytest_cryptoaudit.model import RiskTier
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import ProviderRegistry

SYSTEM = {"name": "web", "provider": "files", "risk_tier": "high", "ssrm_owner": "CSP-MP",
          "paths": ["keys"]}


def parse(data, source=Path("cryptoaudit.toml")):
    return parse_config(data, ProviderRegistry(), BUILTIN_SETTINGS, source=source)


def test_a_valid_config_is_frozen_and_hashed():
    config = parse({"systems": [SYSTEM], "policy": {"min_rsa_bits": {"high": 3072}}})
    system = config.systems[0]
    assert system.risk_tier is RiskTier.HIGH
    assert system.options.paths == ["keys"]
    assert config.policy.for_tier("min_rsa_bits", "high") == 3072
    assert config.policy.for_tier("min_rsa_bits", "low") == 2048
    assert len(config.sha256) == 64
    with pytest.raises(pydantic.ValidationError, match="Instance is frozen"):
        system.options.paths = []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"colour": "red"}, "systems[0] (web).colour: unknown key"),
        ({"paths": "keys"}, "systems[0] (web).paths: input should be a valid list"),
        ({"name": 7}, "systems[0].name: input should be a valid string, got 7"),
        ({"provider": "nope"}, "systems[0] (web).provider: unknown provider 'nope'"),
        ({"risk_tier": "urgent"}, "risk_tier: input should be 'low', 'medium', 'high' or "
                                  "'critical', got 'urgent'"),
        ({"ssrm_owner": "ME"}, "ssrm_owner: expected an SSRM owner"),
        ({"accountable_owner": 7}, "accountable_owner: input should be a valid string, got 7"),
        ({"require_tier_tag": "yes"}, "require_tier_tag: input should be a valid boolean"),
        ({"pathz": ["keys"]}, "systems[0] (web).pathz: unknown key; did you mean `paths`?"),
        ({"risk_teir": "low"}, "systems[0] (web).risk_teir: unknown key; did you mean "
                               "`risk_tier`?"),
        ({"provider": "file"}, "unknown provider 'file' (known: aws-kms, files, libraries, "
                               "pkcs11, tls, vault); did you mean `files`?"),
        ({"owner_tag": "team"}, "owner_tag: no longer a system option; name the owner tag once "
                                "for every system: [tags] accountable_owner"),
        ({"max_file_size": "big"}, "max_file_size: input should be a valid integer"),
    ],
)
def test_system_mistakes(change, expected):
    system = {**SYSTEM, **change}
    with pytest.raises(ConfigError) as info:
        parse({"systems": [system]})
    assert str(info.value).startswith("cryptoaudit.toml: ")
    assert expected in str(info.value)


def test_missing_name():
    system = {k: v for k, v in SYSTEM.items() if k != "name"}
    with pytest.raises(ConfigError, match=r"systems\[0\]\.name: missing"):
        parse({"systems": [system]})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"policy": {"min_rsa_bitz": 1}}, "policy.min_rsa_bitz: unknown key; did you mean "
                                          "`min_rsa_bits`?"),
        ({"policy": {"min_rsa_bits": {"extreme": 1}}}, "policy.min_rsa_bits.extreme: unknown"),
        ({"policy": {"min_rsa_bits": {"low": "2048"}}},
         "policy.min_rsa_bits.low: input should be a valid integer, got '2048'"),
        ({"policy": {"allow_mixed_key_usage": {"low": 1}}},
         "policy.allow_mixed_key_usage.low: input should be a valid boolean, got 1"),
        ({"policy": {"cryptoperiod_days": {"symetric": {"low": 1}}}},
         "policy.cryptoperiod_days.symetric: unknown key; did you mean `symmetric`?"),
        ({"cadence": {"low": 400}}, "cadence.low: 400 days exceeds the 365-day maximum"),
        ({"colour": 1}, "colour: unknown key"),
        ({"tags": {"ssrm_ownr": "x"}}, "tags.ssrm_ownr: unknown key"),
        ({"tags": {"risk_tier": ""}}, "tags.risk_tier: string should have at least 1 character"),
        ({"systems": [SYSTEM, SYSTEM]}, "duplicate system name 'web'"),
        ({"systems": [SYSTEM], "events": [{"system": "web", "kind": "oops", "at": 1}]},
         "events[0].at: input should be a valid datetime, got 1"),
        ({"systems": [SYSTEM], "events": [{"system": "web", "kind": "config-change",
                                           "at": dt.datetime(2026, 1, 1)}]},
         "events[0].at: input should have timezone info"),
        ({"systems": [SYSTEM], "events": [{"system": "wbe", "kind": "config-change",
                                           "at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}]},
         "events[0].system: no configured system named 'wbe'; did you mean `web`?"),
        ({"cadance": {"low": 30}}, "cryptoaudit.toml: cadance: unknown key; did you mean "
                                   "`cadence`?"),
        ({"cadence": {"hihg": 3}}, "cadence.hihg: unknown key; did you mean `high`?"),
        ({"cadence": {"low": 0}}, "cadence.low: expected a whole number of days >= 1, got 0"),
        ({"tags": {"acountable_owner": "x"}}, "tags.acountable_owner: unknown key; did you "
                                              "mean `accountable_owner`?"),
        ({"auditor": {"administrators": "root"}}, "auditor.administrators: input should be a "
                                                  "valid list"),
        ({"ledger": "postgresql://audit:secret@db/ledger"},
         "ledger.location: the location carries a password"),
        ({"policy": {"min_rsa_bitz": 1}}, "did you mean `min_rsa_bits`?"),
        ({"policy": {"reviewed_on": "soon"}}, "policy.reviewed_on: expected a date such as "
                                              "2026-01-31, got 'soon'"),
    ],
)
def test_other_mistakes(data, expected):
    with pytest.raises(ConfigError) as info:
        parse(data)
    assert expected in str(info.value)


@pytest.mark.parametrize("ledger", [
    "postgresql://audit:s3cr3t-pw@db/ledger",
    {"location": "postgresql://audit@db/ledger?password=s3cr3t-pw"},
    "host=db dbname=ledger password=s3cr3t-pw",
])
def test_a_ledger_password_in_the_config_is_refused_without_echoing_it(ledger):
    with pytest.raises(ConfigError, match="carries a password") as info:
        parse({"ledger": ledger})
    assert "s3cr3t-pw" not in str(info.value)


def test_unreadable_toml_names_the_file(tmp_path):
    path = tmp_path / "cryptoaudit.toml"
    path.write_text("[[systems]\n")
    with pytest.raises(ConfigError, match=r"cryptoaudit.toml: cannot read configuration"):
        load_config(path, ProviderRegistry(), BUILTIN_SETTINGS)


def test_owner_is_a_deprecated_alias_of_ssrm_owner():
    old = {k: v for k, v in SYSTEM.items() if k != "ssrm_owner"} | {"owner": "CSC"}
    with pytest.warns(FutureWarning, match=r"systems\[0\] \(web\)\.owner: deprecated, rename it "
                                           "to ssrm_owner"):
        config = parse({"systems": [old]})
    assert config.systems[0].ssrm_owner == "CSC"
    with pytest.raises(ConfigError, match="give ssrm_owner only"):
        parse({"systems": [{**SYSTEM, "owner": "CSC"}]})


def test_tag_names_default_and_override():
    assert parse({"systems": [SYSTEM]}).tags.ssrm_owner == "cryptoaudit:ssrm-owner"
    config = parse({"systems": [SYSTEM], "tags": {"accountable_owner": "team"}})
    assert (config.tags.accountable_owner, config.tags.risk_tier) == (
        "team", "cryptoaudit:risk-tier")


def test_accountable_owner_changes_the_system_hash_only_when_set():
    plain = parse({"systems": [SYSTEM]})
    owned = parse({"systems": [{**SYSTEM, "accountable_owner": "web-team"}]})
    assert plain.systems[0].accountable_owner == ""
    assert plain.system_sha256("web") != owned.system_sha256("web")


def test_a_policy_table_override_replaces_only_what_it_gives():
    config = parse({"systems": [SYSTEM], "policy": {
        "cryptoperiod_days": {"private": {"critical": 180}},
        "disallowed_algorithms": ["DES"]}})
    policy = config.policy
    assert policy.for_tier("cryptoperiod_days", "critical", "private") == 180
    assert policy.for_tier("cryptoperiod_days", "low", "private") == 1095
    assert policy.for_tier("cryptoperiod_days", "critical", "symmetric") == 365
    assert policy["disallowed_algorithms"] == ["DES"]
