"""Key age against the cryptoperiod, seen from a clock 400 days after the keys were made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .helpers import run_audit, system

HIGH = "vault:vault-high/transit/"


def test_latest_version_age_against_cryptoperiod(seeded_vault, pytester, monkeypatch,
                                                 time_machine):
    monkeypatch.setenv("TEST_VAULT_AUDITOR", seeded_vault.auditor_token)
    pytester.makefile(".toml", cryptoaudit=system(
        "vault-high", "high", seeded_vault.server.url, token_env="TEST_VAULT_AUDITOR",
        mounts=["transit"]))
    time_machine.move_to(datetime.now(UTC) + timedelta(days=400))
    evidence = run_audit(pytester, "--cryptoaudit-control", "CEK-12")
    # symmetric keys: 365 days at tier high; private (signing) keys: 730 days
    assert evidence.outcome("key-age", HIGH + "clean-aes256") == "failed"
    assert "cryptoperiod for tier high is 365 days" in evidence.message(
        "key-age", HIGH + "clean-aes256")
    assert evidence.outcome("key-age", HIGH + "clean-ecdsa") == "passed"
    assert evidence.outcome("kms-rotation-period", HIGH + "clean-aes256") == "passed"
    # an asymmetric transit key's rotation period is held to the private-key cryptoperiod
    assert evidence.outcome("kms-rotation-period", HIGH + "clean-ecdsa") == "passed"
