"""The generic managed-key checks judge a SoftHSM2 token's secret and private keys from the
facts the provider fills (origin from CKA_LOCAL, protection from the slot), with no control
of the PKCS#11 pack; public keys are not theirs to judge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from pytest_cryptoaudit.facts import KeyOrigin, KeyState, ProtectionLevel
from pytest_cryptoaudit.lab.softhsm import LabToken, lab_system
from pytest_cryptoaudit.providers import DiscoveryContext
from pytest_cryptoaudit.providers.pkcs11 import Pkcs11Provider
from pytest_cryptoaudit.reporting.evidence import evidence_schema

from .conftest import PIN_ENV, TOKEN_LABEL, configure, outcomes, run_audit
from .test_audit import EXPECTED_FINDINGS, LOCAL, PREFIX

ORIGIN = ("CEK-10", "kms-key-origin")
PROTECTION = ("CEK-10", "kms-protection-level")
CUSTOMER = ("CEK-08", "kms-customer-managed")
ENABLED = ("CEK-16", "kms-key-enabled")
NOT_DELETING = ("CEK-14", "kms-not-pending-deletion")
MATERIAL = ("CEK-15", "kms-key-material-imported")
#: Keys at tier critical must be in an HSM: a SoftHSM2 token is software.
HSM_POLICY = {"managed_key_allowed_protection": {"critical": ["hsm", "external"]}}
SECRET_OR_PRIVATE = sorted(s for s in EXPECTED_FINDINGS if not s.endswith(";public"))
PUBLIC = sorted(s for s in EXPECTED_FINDINGS if s.endswith(";public"))


@pytest.fixture(scope="module")
def critical_evidence(softhsm_token: LabToken,
                      tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The evidence of one audit of the seeded token at tier critical, HSMs required."""
    system = lab_system(softhsm_token, "hsm-critical", risk_tier="critical", pin_env=PIN_ENV)
    evidence = run_audit(tmp_path_factory.mktemp("audit-critical"), [system], softhsm_token,
                         policy=HSM_POLICY)
    assert "INTERNALERROR" not in evidence["_output"]
    return evidence


@pytest.fixture(scope="module")
def critical(critical_evidence: dict[str, Any]) -> dict[str, dict[tuple[str, str], Any]]:
    """Results by uid, then (control, check), of the critical audit."""
    return outcomes(critical_evidence)


def test_the_evidence_carries_the_facts_and_validates(critical_evidence: dict[str, Any]) -> None:
    evidence = {k: v for k, v in critical_evidence.items() if not k.startswith("_")}
    jsonschema.validate(evidence, evidence_schema())
    facts = {key["uid"].removeprefix(PREFIX): key.get("managed")
             for key in evidence["inventory"]}
    assert facts["aes-imported#14"]["origin"] == "imported"
    assert facts["aes-data#01"]["protection"] == "software"
    assert all(facts[suffix] is None for suffix in PUBLIC)


def generic(results: dict[tuple[str, str], Any]) -> dict[str, str]:
    return {check: r["outcome"] for (_, check), r in results.items()
            if check.startswith("kms-")}


@pytest.mark.parametrize("suffix", SECRET_OR_PRIVATE)
def test_every_secret_and_private_key_gets_the_generic_checks(
        critical: dict[str, Any], suffix: str) -> None:
    imported = suffix.startswith("aes-imported")
    expected = {"kms-customer-managed": "passed", "kms-key-enabled": "passed",
                "kms-not-pending-deletion": "passed", "kms-protection-level": "failed",
                "kms-key-origin": "failed" if imported else "passed"}
    if imported:
        expected["kms-key-material-imported"] = "passed"
    assert generic(critical[PREFIX + suffix]) == expected


@pytest.mark.parametrize("suffix", PUBLIC)
def test_public_keys_get_no_managed_key_check(critical: dict[str, Any], suffix: str) -> None:
    assert generic(critical[PREFIX + suffix]) == {}


def test_findings_say_why(critical: dict[str, Any]) -> None:
    imported = critical[PREFIX + "aes-imported#14"]
    assert "origin imported (imported key material (BYOK)) is not allowed at tier critical" in (
        imported[ORIGIN]["message"])
    assert "protection level software is not allowed at tier critical" in (
        critical[PREFIX + "aes-data#01"][PROTECTION]["message"])
    assert any("custody" in note for note in imported[CUSTOMER]["notes"])


def test_an_imported_key_is_a_finding_of_the_pack_and_of_the_generic_origin_check(
        critical: dict[str, Any], high_tier_audit: dict[str, Any]) -> None:
    at_critical = critical[PREFIX + "aes-imported#14"]
    assert at_critical[LOCAL]["outcome"] == at_critical[ORIGIN]["outcome"] == "failed"
    # At tier high the generic default allows imported material; the pack's policy does
    # not, which is why generated-on-token is kept beside kms-key-origin.
    at_high = outcomes(high_tier_audit)[PREFIX + "aes-imported#14"]
    assert at_high[LOCAL]["outcome"] == "failed"
    assert at_high[ORIGIN]["outcome"] == "passed"
    assert at_high[PROTECTION]["outcome"] == "passed"  # no tier requires an HSM by default


def discover_keys(token: LabToken, monkeypatch: pytest.MonkeyPatch,
                  **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    for name, value in token.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(PIN_ENV, token.pin)
    audit_config = configure(module=str(token.module), token_label=token.label, **options)
    context = DiscoveryContext(policy=audit_config.policy, now=datetime.now(UTC))
    attempt = Pkcs11Provider().discover(audit_config.systems[0], context)
    assert attempt.errors == []
    keys = {key.uid.removeprefix(f"pkcs11:{TOKEN_LABEL}/"): key for key in attempt.keys}
    return keys, attempt.system.attributes


def test_softhsm_is_a_software_token(softhsm_token: LabToken,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    keys, system = discover_keys(softhsm_token, monkeypatch)
    assert "HW_SLOT" not in system["slot_flags"]
    assert system["protection"] == "software"
    assert "without CKF_HW_SLOT" in system["protection_source"]
    assert {keys[s].managed.protection for s in SECRET_OR_PRIVATE} == {ProtectionLevel.SOFTWARE}
    assert keys["aes-imported#14"].managed.origin is KeyOrigin.IMPORTED
    assert keys["rsa-sign#04;private"].managed.origin is KeyOrigin.GENERATED
    assert keys["aes-retired#06"].managed.state is KeyState.ENABLED
    assert keys["aes-retired#06"].managed.native_state == "deactivated"
    assert all(keys[s].managed is None for s in PUBLIC)


def test_the_protection_option_overrides_the_slot(softhsm_token: LabToken,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    keys, system = discover_keys(softhsm_token, monkeypatch, protection="hsm")
    assert system["protection"] == "hsm"
    assert system["protection_source"] == "the system's protection option"
    assert {keys[s].managed.protection for s in SECRET_OR_PRIVATE} == {ProtectionLevel.HSM}
