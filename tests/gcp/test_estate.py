"""The planted Cloud KMS estate, audited through the official SDK against the loopback
stand-in: every weakness caught on its own key, every clean key passing every check."""

from __future__ import annotations

import jsonschema

from pytest_cryptoaudit.lab.estate_gcp import ESTATE, PROJECT, RINGS, config_toml
from pytest_cryptoaudit.reporting.evidence import evidence_schema
from tests.estates import mismatches, results_by_uid


def test_every_weakness_caught_and_every_clean_key_passes(gcp_audit, gcp_standin):
    result, evidence = gcp_audit(config_toml(gcp_standin.url))
    by_uid = results_by_uid(evidence)
    problems = []
    for planted in ESTATE:
        results = by_uid.get(planted.name, {})
        problems += mismatches(planted.label, results, dict(planted.expect))
        notes = [note for r in results.values() for note in r["notes"]]
        if planted.note and not any(planted.note in note for note in notes):
            problems.append(f"{planted.label}: no note mentioning {planted.note!r}: {notes}")
    assert not problems, "\n".join(problems)
    assert result.ret == 1
    keys = {uid for uid in by_uid if uid.startswith("projects/")}
    assert keys == {planted.name for planted in ESTATE}
    assert_findings_say_what_and_why(by_uid)
    jsonschema.validate(evidence, evidence_schema())


def _uid(label: str) -> str:
    return next(planted.name for planted in ESTATE if planted.label == label)


def assert_findings_say_what_and_why(by_uid) -> None:
    def message(label: str, check: str) -> str:
        return by_uid[_uid(label)][check]["message"]

    assert "allUsers" not in message("weak-public", "kms-policy-not-public")
    assert "key binding roles/cloudkms.cryptoKeyEncrypterDecrypter" in message(
        "weak-public", "kms-policy-not-public")
    assert "key ring binding" in message("weak-ring-public", "kms-policy-not-public")
    assert "user:mallory@other-org.example" in message("weak-foreign-member",
                                                       "kms-policy-principals")
    assert "unknown-project" in message("weak-foreign-sa", "kms-policy-principals")
    sod = message("weak-sod", "kms-separation-of-duties")
    assert "user:bob@example.com" in sod and "roles/cloudkms.admin" in sod
    assert "software" in message("weak-software-critical", "kms-protection-level")
    assert "DESTROY_SCHEDULED" in message("weak-destroy-scheduled", "kms-not-pending-deletion")
    assert "rotates every 400 days" in message("weak-rotation-400", "kms-rotation-period")
    assert "destroyed 1 day(s) after" in message("weak-short-destroy-delay",
                                                 "kms-destroy-delay")
    denied = message("denied-iam", "kms-policy-not-public")
    assert "PERMISSION_DENIED" in denied and "IAM policy of key" in denied
    versions = message("denied-versions", "discovery-complete")
    assert "cannot list versions" in versions and "PERMISSION_DENIED" in versions
    assert "%24alt" not in versions, "the request URL stays out of findings"


def test_inventory_facts(gcp_audit, gcp_standin):
    _, evidence = gcp_audit(config_toml(gcp_standin.url), "--cryptoaudit-control", "CEK-21")
    keys = {key["uid"]: key for key in evidence["inventory"]}
    sym = keys[_uid("clean-sym")]
    assert (sym["algorithm"], sym["size"], sym["kind"]) == ("AES", 256, "secret-key")
    assert sym["managed"]["rotation"]["period_days"] == 90
    assert sym["managed"]["rotation"]["next"].startswith("20")
    assert sym["attributes"]["project"] == PROJECT
    assert sym["attributes"]["location"] == "europe-west1"
    assert sym["accountable_owner"] == "payments-team"
    assert keys[_uid("clean-global")]["owner"] == "CSP-CSC"  # label values are lowercase
    ec = keys[_uid("clean-sign-ec")]
    assert (ec["algorithm"], ec["curve"], ec["kind"]) == ("EC", "secp384r1", "private-key")
    imported = keys[_uid("clean-imported")]
    assert imported["managed"]["origin"] == "imported"
    assert imported["managed"]["material_expires"] is False
    assert imported["risk_tier"] == "medium"
    assert imported["attributes"]["import_jobs"][0].endswith("/importJobs/byok-job")
    hyok = keys[_uid("weak-hyok-critical")]["managed"]
    assert (hyok["origin"], hyok["protection"]) == ("external", "external")
    assert hyok["key_store"].endswith("/ekmConnections/partner-ekm")
    deleted = keys[_uid("weak-destroy-scheduled")]["managed"]
    assert (deleted["state"], deleted["native_state"]) == ("pending-deletion",
                                                           "DESTROY_SCHEDULED")
    assert deleted["deletion"]["window_days"] == 30
    assert keys[_uid("weak-software-critical")]["managed"]["protection"] == "software"
    for key in evidence["inventory"]:
        assert key["managed"]["access"] is None, "CEK-21 alone must not read IAM policies"
        assert key["unreadable"]["managed.access"].startswith("not fetched")
    system = {s["name"]: s for s in evidence["systems"]}["gcp-prod"]
    assert system["attributes"]["api_calls"].get("get_iam_policy", 0) == 0
    assert system["attributes"]["api_calls"]["list_crypto_key_versions"] == len(ESTATE)
    assert system["attributes"]["key_rings"] == len(RINGS)


def test_cek21_run_makes_no_iam_calls(gcp_audit, gcp_standins):
    standin = gcp_standins(page_size=3)
    gcp_audit(config_toml(standin.url), "--cryptoaudit-control", "CEK-21")
    assert standin.requests["GetIamPolicy"] == 0
    keys = len(ESTATE)
    assert standin.requests["ListCryptoKeyVersions"] == keys
    # Pages of three: every listing was followed to its end.
    assert standin.requests["ListCryptoKeys"] >= keys // 3
    standin.reset_counts()
    gcp_audit(config_toml(standin.url), "--cryptoaudit-control", "CEK-08")
    # One policy per key and one per key ring that holds keys: no call repeated.
    rings = len({planted.ring for planted in ESTATE})
    assert standin.requests["GetIamPolicy"] == keys - 1 + rings
