"""SoftHSM2 tokens for the PKCS#11 tests: one seeded with the demonstration keys, audited once.

A missing softhsm2 package skips these tests locally and fails them in CI (see
``tests/conftest.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.config import AuditConfig, parse_config
from pytest_cryptoaudit.lab.softhsm import LabToken, create_token, lab_system, seed
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import ProviderRegistry
from pytest_cryptoaudit.providers.pkcs11 import Pkcs11Provider
from pytest_cryptoaudit.testing import audit_env, audit_subprocess
from tests.conftest import require_executable

PIN_ENV = "CRYPTOAUDIT_TEST_HSM_PIN"
TOKEN_LABEL = "audit-token"


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> LabToken:
    """A private SoftHSM2 token seeded with planted weaknesses beside clean keys."""
    require_executable("softhsm2-util", "apt-get install softhsm2")
    token = create_token(tmp_path_factory.mktemp("softhsm"), label=TOKEN_LABEL)
    seed(token)
    return token


@pytest.fixture
def token_env(softhsm_token: LabToken, monkeypatch: pytest.MonkeyPatch) -> LabToken:
    """The seeded token, with SOFTHSM2_CONF and the PIN variable set for this test."""
    for name, value in softhsm_token.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(PIN_ENV, softhsm_token.pin)
    return softhsm_token


def configure(**options: Any) -> AuditConfig:
    """A validated configuration with one high-tier pkcs11 system ``hsm``."""
    system = {"name": "hsm", "provider": "pkcs11", "risk_tier": "high", "ssrm_owner": "CSC",
              "accountable_owner": "hsm-team",
              "pin_env": PIN_ENV, **options}
    settings = [*BUILTIN_SETTINGS, *Pkcs11Provider.policy_settings]
    return parse_config({"systems": [system]}, ProviderRegistry(), settings)


def run_audit(folder: Path, systems: list[dict[str, Any]], token: LabToken, *args: str,
              extra_env: dict[str, str] | None = None,
              policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run ``pytest --cryptoaudit`` in a fresh process over ``systems`` (and ``[policy]``);
    return the evidence with the run's exit code and output under ``_exit_code`` and
    ``_output``."""
    env = audit_env(**{**token.env, PIN_ENV: token.pin, **(extra_env or {})})
    config = {"systems": systems, **({"policy": policy} if policy else {})}
    run = audit_subprocess(folder, "-q", *args, config=config, env=env, timeout=120)
    return {**run.evidence, "_exit_code": run.ret, "_output": run.output}


@pytest.fixture(scope="session")
def high_tier_audit(softhsm_token: LabToken,
                    tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The evidence of one audit of the seeded token as a high-tier system."""
    system = lab_system(softhsm_token, "hsm", risk_tier="high", pin_env=PIN_ENV)
    return run_audit(tmp_path_factory.mktemp("audit-high"), [system], softhsm_token)


def outcomes(evidence: dict[str, Any]) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    """Results by key uid, then by (control, check); the system-level CEK-09 checks of the
    audit ledger are left out (tests/ledger covers them)."""
    table: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for result in evidence["results"]:
        if result["control"] == "CEK-09":
            continue
        table.setdefault(result["key_uid"], {})[(result["control"], result["check"])] = result
    return table
