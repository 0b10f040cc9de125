"""A full ``pytest --cryptoaudit`` run over a seeded SoftHSM2 token: every planted weakness
is caught on the object that carries it, and nothing else fails."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_cryptoaudit.lab.softhsm import DEMO_KEYS, LabToken, lab_system

from .conftest import PIN_ENV, TOKEN_LABEL, outcomes, run_audit

PREFIX = f"pkcs11:{TOKEN_LABEL}/"
ALGORITHM = ("CEK-04", "algorithm-allowed")
STRENGTH = ("CEK-04", "key-strength")
SENSITIVE = ("CEK-10", "sensitive")
EXTRACTABLE = ("CEK-10", "never-extractable")
LOCAL = ("CEK-10", "generated-on-token")
PURPOSE = ("CEK-11", "single-purpose-usage")
END_DATE = ("CEK-17", "unusable-after-end-date")
KEY_AGE = ("CEK-12", "key-age")
LOGIN = ("CEK-10", "login-required")

#: The findings each object must have at tier high, and no other.
EXPECTED_FINDINGS: dict[str, set[tuple[str, str]]] = {
    "aes-data#01": set(),
    "aes-wrap#02": set(),
    "hmac-sign#03": set(),
    "rsa-sign#04;private": set(),
    "rsa-sign#04;public": set(),
    "ec-sign#05;private": set(),
    "ec-sign#05;public": set(),
    "aes-retired#06": set(),
    "des3-legacy#10": {ALGORITHM},
    "rsa-1024#11;private": {STRENGTH},
    "rsa-1024#11;public": {STRENGTH},
    "aes-extractable#12": {EXTRACTABLE},
    "aes-not-sensitive#13": {SENSITIVE},
    "aes-imported#14": {LOCAL, EXTRACTABLE, SENSITIVE},
    "rsa-sign-wrap#15;private": {PURPOSE},
    "rsa-sign-wrap#15;public": {PURPOSE},
    "aes-encrypt-sign#16": {PURPOSE},
    "aes-no-login#18": {LOGIN},
    "rsa-expired#17;private": set(),  # its end date cannot be read back (see below)
    "rsa-expired#17;public": {END_DATE},
}


@pytest.fixture(scope="module")
def by_uid(high_tier_audit: dict[str, Any]) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    return outcomes(high_tier_audit)


def test_inventory_lists_every_key_object(high_tier_audit: dict[str, Any]) -> None:
    uids = {key["uid"] for key in high_tier_audit["inventory"]}
    assert uids == {PREFIX + suffix for suffix in EXPECTED_FINDINGS}
    system = high_tier_audit["systems"][0]
    assert system["discovery_errors"] == []
    assert system["component"] == "hsm"
    assert system["attributes"]["token_label"] == TOKEN_LABEL
    assert system["attributes"]["objects_listed"] == len(EXPECTED_FINDINGS)


@pytest.mark.parametrize("suffix", sorted(EXPECTED_FINDINGS))
def test_findings_per_object(by_uid: dict[str, Any], suffix: str) -> None:
    results = by_uid[PREFIX + suffix]
    failed = {check for check, result in results.items() if result["outcome"] == "failed"}
    assert failed == EXPECTED_FINDINGS[suffix], {c: results[c]["message"] for c in failed}


def test_every_planted_weakness_of_the_lab_is_expected() -> None:
    planted = {(spec.label, weakness) for spec in DEMO_KEYS for weakness in spec.weaknesses}
    expected = {(suffix.split("#")[0], finding)
                for suffix, findings in EXPECTED_FINDINGS.items() for finding in findings}
    assert planted == expected


def test_only_key_age_errors_for_lack_of_a_creation_date(by_uid: dict[str, Any]) -> None:
    for uid, results in by_uid.items():
        errors = {check: r["message"] for check, r in results.items() if r["outcome"] == "error"}
        secret = uid.endswith((";private",)) or ";" not in uid
        assert set(errors) == ({KEY_AGE} if secret else set()), uid
        if secret:
            assert "CKA_START_DATE" in errors[KEY_AGE]


def test_unreadable_end_date_is_unknown_not_an_error(by_uid: dict[str, Any]) -> None:
    result = by_uid[PREFIX + "rsa-expired#17;private"][END_DATE]
    assert result["outcome"] == "skipped"
    assert "end date unknown" in result["message"]


def test_retired_key_without_usage_passes_its_end_date(by_uid: dict[str, Any]) -> None:
    assert by_uid[PREFIX + "aes-retired#06"][END_DATE]["outcome"] == "passed"
    # not a private object either, but a key no session can use is noted, not a finding
    login = by_uid[PREFIX + "aes-retired#06"][LOGIN]
    assert login["outcome"] == "passed"
    assert login["notes"] == ["CKA_PRIVATE is false, but no usage attribute is true: the key "
                              "cannot be used"]


def test_messages_name_the_weakness(by_uid: dict[str, Any]) -> None:
    assert "DES3" in by_uid[PREFIX + "des3-legacy#10"][ALGORITHM]["message"]
    assert "RSA-1024" in by_uid[PREFIX + "rsa-1024#11;private"][STRENGTH]["message"]
    assert "CKA_LOCAL is false" in by_uid[PREFIX + "aes-imported#14"][LOCAL]["message"]
    assert "key wrapping, signature" in by_uid[PREFIX + "rsa-sign-wrap#15;public"][PURPOSE][
        "message"]
    assert "2020-01-01" in by_uid[PREFIX + "rsa-expired#17;public"][END_DATE]["message"]
    assert by_uid[PREFIX + "aes-no-login#18"][LOGIN]["message"] == (
        "CKA_PRIVATE is false: any session on the token can use the key without the PIN "
        "(decrypt, encrypt)")


def test_evidence_holds_no_pin(high_tier_audit: dict[str, Any],
                               softhsm_token: LabToken) -> None:
    text = str({k: v for k, v in high_tier_audit.items() if k != "_output"})
    assert softhsm_token.pin not in text
    assert softhsm_token.pin not in high_tier_audit["_output"]


def test_low_tier_allows_what_policy_allows(softhsm_token: LabToken,
                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    system = lab_system(softhsm_token, "hsm-low", risk_tier="low", pin_env=PIN_ENV)
    system["label_prefix"] = "aes-"
    evidence = run_audit(tmp_path_factory.mktemp("audit-low"), [system], softhsm_token,
                         "--cryptoaudit-control", "CEK-10")
    by_uid = outcomes(evidence)
    assert all(uid.startswith(PREFIX + "aes-") for uid in by_uid)
    assert evidence["systems"][0]["attributes"]["objects_outside_label_prefix"] > 0
    extractable = by_uid[PREFIX + "aes-extractable#12"][EXTRACTABLE]
    assert extractable["outcome"] == "passed"
    assert "allowed by policy at tier low" in extractable["notes"][0]
    imported = by_uid[PREFIX + "aes-imported#14"]
    assert imported[LOCAL]["outcome"] == imported[SENSITIVE]["outcome"] == "passed"
    assert by_uid[PREFIX + "aes-not-sensitive#13"][SENSITIVE]["outcome"] == "failed"


def test_failures_to_look_are_error_results_naming_the_system(
        softhsm_token: LabToken, tmp_path_factory: pytest.TempPathFactory) -> None:
    wrong_pin = lab_system(softhsm_token, "hsm-wrong-pin", pin_env="WRONG_PIN_FOR_TEST")
    no_module = {**lab_system(softhsm_token, "hsm-no-module", pin_env=PIN_ENV),
                 "module": "/nonexistent/libpkcs11.so"}
    evidence = run_audit(tmp_path_factory.mktemp("audit-errors"), [wrong_pin, no_module],
                         softhsm_token, extra_env={"WRONG_PIN_FOR_TEST": "0000-wrong"})
    assert evidence["_exit_code"] == 1  # tests failed or errored, not an internal error
    assert "INTERNALERROR" not in evidence["_output"]
    errors = {r["system"]: r for r in evidence["results"] if r["check"] == "discovery-complete"}
    assert set(errors) == {"hsm-wrong-pin", "hsm-no-module"}
    assert all(r["outcome"] == "error" for r in errors.values())
    assert "system hsm-wrong-pin" in errors["hsm-wrong-pin"]["message"]
    assert "WRONG_PIN_FOR_TEST was rejected" in errors["hsm-wrong-pin"]["message"]
    assert "/nonexistent/libpkcs11.so" in errors["hsm-no-module"]["message"]
    assert "0000-wrong" not in evidence["_output"] + str(evidence["results"])
    assert evidence["inventory"] == []
