"""Owners on a real KMS API: an ``owner`` tag names a team (the accountable owner), only
namespaced tags override the SSRM owner and tier, and a bad override names its tag."""

from __future__ import annotations

import jsonschema

from pytest_cryptoaudit.lab.estate_kms import config_toml
from pytest_cryptoaudit.reporting.evidence import evidence_schema

from .test_estate import results_by_uid


def test_team_owner_tag_is_the_accountable_owner_not_an_ssrm_party(audit, estate, moto_server):
    _, evidence = audit(config_toml(moto_server.url), "--cryptoaudit-control", "CEK-21")
    by_uid = results_by_uid(evidence)
    team = by_uid[estate["team-owned"]]
    assert team["classified"]["outcome"] == team["has-owner"]["outcome"] == "passed"
    assert (team["classified"]["owner"], team["classified"]["accountable_owner"]) == (
        "CSC", "checkout-team")
    keys = {key["uid"]: key for key in evidence["inventory"]}
    assert keys[estate["team-owned"]]["accountable_owner"] == "checkout-team"
    assert keys[estate["ssrm-override"]]["owner"] == "CSP-MP"
    assert keys[estate["clean-critical"]]["risk_tier"] == "critical"
    assert keys[estate["disabled-low"]]["risk_tier"] == "low"  # the plain alias still works
    jsonschema.validate(evidence, evidence_schema())


def test_invalid_override_fails_naming_the_tag(audit, estate, moto_server):
    _, evidence = audit(config_toml(moto_server.url), "--cryptoaudit-control", "CEK-21")
    by_uid = results_by_uid(evidence)
    bogus = by_uid[estate["weak-bogus-ssrm"]]["classified"]
    assert bogus["outcome"] == "failed"
    assert "'cryptoaudit:ssrm-owner' tag 'bogus'" in bogus["message"]
    tier = by_uid[estate["weak-bogus-tier"]]["classified"]
    assert "'cryptoaudit:risk-tier' tag 'extreme'" in tier["message"]


def test_untagged_keys_fall_back_to_the_systems_accountable_owner(audit, estate, moto_server):
    _, evidence = audit(config_toml(moto_server.url), "--cryptoaudit-control", "CEK-21")
    by_uid = results_by_uid(evidence)
    partner = by_uid[estate["partner-rsa"]]["has-owner"]
    assert (partner["outcome"], partner["accountable_owner"]) == ("passed",
                                                                  "partner-integrations")
    untagged = by_uid[estate["weak-no-owner"]]["has-owner"]
    assert untagged["outcome"] == "failed"
    assert "no owner tag" in untagged["message"] and "'kms-prod'" in untagged["message"]
    systems = {s["name"]: s for s in evidence["systems"]}
    assert systems["kms-partner"]["accountable_owner"] == "partner-integrations"
