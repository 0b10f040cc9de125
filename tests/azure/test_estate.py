"""The planted Key Vault estate, audited through the official SDK against the stand-in
vaults: every weakness caught on its own key, every clean key passing every check."""

from __future__ import annotations

import json

from pytest_cryptoaudit.lab.estate_keyvault import (
    CERTIFICATES,
    ESTATE,
    FOREIGN_GROUP,
    FOREIGN_TENANT,
    SOD_PRINCIPAL,
    SYSTEM_EXPECT,
    config_toml,
)
from pytest_cryptoaudit.lab.keyvault_standin import AUDITOR_OID, TOKEN
from tests.estates import mismatches, results_by_uid

from .conftest import TOKEN_ENV


def test_every_weakness_caught_and_every_clean_key_passes(audit, keyvault_estate):
    standins, uids = keyvault_estate
    run = audit(config_toml(standins, TOKEN_ENV))
    by_uid = results_by_uid(run.evidence)
    problems = []
    for planted in (*ESTATE, *CERTIFICATES):
        problems += mismatches(planted.label, by_uid.get(uids[planted.label], {}),
                               dict(planted.expect))
    for cert in CERTIFICATES:
        problems += mismatches(f"{cert.label}-key", by_uid.get(uids[f"{cert.label}-key"], {}),
                               {})
    for system, expect in SYSTEM_EXPECT.items():
        problems += mismatches(system, by_uid.get(f"azure-keyvault:{system}", {}), dict(expect))
    assert not problems, "\n".join(problems) + "\n" + run.output[-3000:]
    assert run.ret == 1
    audited = {uid for uid in by_uid if uid.startswith("https://")}
    assert audited == set(uids.values())
    assert_findings_say_what(by_uid, uids)
    assert TOKEN not in run.output and TOKEN not in json.dumps(run.evidence)


def assert_findings_say_what(by_uid, uids) -> None:
    def message(label: str, check: str) -> str:
        return by_uid[uids.get(label, label)][check]["message"]

    assert FOREIGN_TENANT in message("legacy-purgeable", "kms-policy-principals")
    sod = message("rbac-admin-and-user", "kms-separation-of-duties")
    assert SOD_PRINCIPAL in sod and "Key Vault Administrator" in sod, sod
    assert "ServicePrincipal" not in sod  # the vault's encryption-only application is clean
    assert FOREIGN_GROUP in message("rbac-foreign-group", "kms-policy-principals")
    assert "Recoverable+Purgeable" in message("legacy-purgeable", "keyvault-purge-protection")
    assert "403" in message("denied", "discovery-complete")
    independence = message("azure-keyvault:akv-legacy", "auditor-independent")
    assert AUDITOR_OID in independence and "access policy 1" in independence, independence
    assert "delete" in independence, independence
    logging = message("azure-keyvault:akv-legacy", "keyvault-logging")
    assert "1 diagnostic settings, none sending AuditEvent" in logging, logging
    old = message("azure-keyvault:akv-old", "keyvault-rbac-authorization")
    assert "subscriptions" in old, old
    legacy = message("azure-keyvault:akv-legacy", "keyvault-rbac-authorization")
    assert "access policies" in legacy and "tier medium" in legacy
    assert "2048" in message("weak-rsa-2048-critical", "key-strength")
    assert "protection level software is not allowed at tier high" in message(
        "weak-software", "kms-protection-level")
