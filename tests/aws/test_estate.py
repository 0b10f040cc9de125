"""The planted estate, audited through moto's HTTP API: every weakness caught on its own
key, every clean key passing every check, per key uid."""

from __future__ import annotations

import jsonschema

from pytest_cryptoaudit.lab.estate_kms import ESTATE, SYSTEM_EXPECT, config_toml
from pytest_cryptoaudit.reporting.evidence import evidence_schema
from tests.estates import mismatches, results_by_uid


def test_every_weakness_caught_and_every_clean_key_passes(audit, estate, moto_server):
    result, evidence = audit(config_toml(moto_server.url))
    by_uid = results_by_uid(evidence)
    problems = []
    for planted in ESTATE:
        results = by_uid.get(estate[planted.label], {})
        problems += mismatches(planted.label, results, dict(planted.expect))
        notes = [note for r in results.values() for note in r["notes"]]
        if planted.note and not any(planted.note in note for note in notes):
            problems.append(f"{planted.label}: no note mentioning {planted.note!r}: {notes}")
    for system, expect in SYSTEM_EXPECT.items():
        problems += mismatches(system, by_uid.get(f"aws-kms:{system}", {}), dict(expect))
    assert not problems, "\n".join(problems)
    assert result.ret == 1
    planted_uids = {estate[p.label] for p in ESTATE}
    assert {uid for uid in by_uid if uid.startswith("arn:")} == planted_uids
    assert_findings_say_what_and_when(by_uid, estate)


def assert_findings_say_what_and_when(by_uid, estate) -> None:
    def message(label: str, check: str) -> str:
        return by_uid[estate[label]][check]["message"]

    deletion = message("weak-pending-deletion", "kms-not-pending-deletion")
    assert "PendingDeletion" in deletion and "will be deleted on 20" in deletion
    assert "Disabled" in message("weak-disabled", "kms-key-enabled")
    assert "PendingImport" in message("weak-pending-import", "kms-key-material-imported")
    assert "999999999999" in message("weak-foreign-grantee", "kms-grantees")
    assert "Everyone" in message("weak-public-policy", "kms-policy-not-public")
    denied = message("denied", "discovery-complete")
    assert estate["denied"] in denied and "AccessDeniedException" in denied
    trails = by_uid["aws-kms:kms-prod"]["kms-cloudtrail"]["message"]
    assert "123456789012/us-east-1" in trails and "read" in trails
    assert "eu-west-1" not in trails


def test_inventory_fields_and_evidence_identity(audit, estate, moto_server):
    _, evidence = audit(config_toml(moto_server.url), "--cryptoaudit-control", "CEK-21")
    keys = {key["uid"]: key for key in evidence["inventory"]}
    aes = keys[estate["clean-aes"]]
    assert (aes["algorithm"], aes["size"], aes["kind"]) == ("AES", 256, "secret-key")
    assert aes["attributes"]["aliases"] == ["alias/clean-aes"]
    assert aes["attributes"]["region"] == "eu-west-1"
    rsa = keys[estate["clean-rsa"]]
    assert (rsa["algorithm"], rsa["size"], rsa["usage"]) == ("RSA", 3072, ["SIGN_VERIFY"])
    assert keys[estate["clean-ec"]]["curve"] == "secp384r1"
    imported = keys[estate["clean-imported"]]
    assert imported["origin"] == "imported" and imported["expires"].startswith("20")
    assert keys[estate["weak-pending-deletion"]]["attributes"]["deletion_date"]
    managed = keys[estate["weak-pending-deletion"]]["managed"]
    assert (managed["state"], managed["native_state"]) == ("pending-deletion", "PendingDeletion")
    assert managed["deletion"]["scheduled_for"].startswith("20")
    assert imported["managed"]["origin"] == "imported"
    assert imported["managed"]["material_expires"] is True
    assert keys[estate["weak-hyok-critical"]]["managed"]["protection"] == "external"
    identities = evidence["run"]["auditor"]["systems"]
    assert identities["kms-partner"] == {
        "111111111111": "arn:aws:sts::111111111111:assumed-role/cryptoaudit/cryptoaudit"}
    assert identities["kms-prod"] == {
        "123456789012": "arn:aws:sts::123456789012:assumed-role/cryptoaudit/cryptoaudit"}
    for key in evidence["inventory"]:
        assert key["managed"]["access"] is None, "CEK-21 alone must not fetch key policies"
        assert key["unreadable"]["managed.access"].startswith("not fetched")
    jsonschema.validate(evidence, evidence_schema())


def test_cek12_run_reads_rotation_but_no_policy_grants_or_trails(audit, api_calls, estate,
                                                                 moto_server):
    _, evidence = audit(config_toml(moto_server.url), "--cryptoaudit-control", "CEK-12")
    assert api_calls["kms.ListGrants"] == api_calls["kms.GetKeyPolicy"] == 0
    assert not [call for call in api_calls if call.startswith("cloudtrail.")]
    assert api_calls["kms.GetKeyRotationStatus"] > 0 and api_calls["kms.ListKeyRotations"] > 0
    assert {result["control"] for result in evidence["results"]} == {"CEK-12"}
    by_uid = results_by_uid(evidence)
    assert by_uid[estate["weak-rotation-off"]]["kms-rotation-enabled"]["outcome"] == "failed"
    assert by_uid[estate["weak-stale-rotation"]]["key-age"]["outcome"] == "failed"
    assert by_uid[estate["clean-aes"]]["kms-rotation-period"]["outcome"] == "passed"


def test_waivers_accept_a_deletion_only_where_policy_allows(audit, estate, moto_server,
                                                            pytester):
    pytester.makefile(".toml", waivers="""
[[waivers]]
id = "W-1"
control = "CEK-14"
check = "kms-not-pending-deletion"
system = "kms-prod"
justification = "Retired application; its data was re-encrypted."
approver = "A. Approver (CISO)"
expires = 2999-12-31
""")
    _, evidence = audit(config_toml(moto_server.url), "--cryptoaudit-control", "CEK-14",
                        "--cryptoaudit-waivers", "waivers.toml")
    by_uid = results_by_uid(evidence)
    low = by_uid[estate["pending-deletion-low"]]["kms-not-pending-deletion"]
    high = by_uid[estate["weak-pending-deletion"]]["kms-not-pending-deletion"]
    assert (low["outcome"], low["waiver"]["id"]) == ("waived", "W-1")
    assert (high["outcome"], high["waiver"]) == ("failed", None)
    assert "no waiver applies" in high["message"]
