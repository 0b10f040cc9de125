"""One audit of the seeded server through ``pytest --cryptoaudit``, checked per key uid.

Seven systems share the run: three tiers of the same server (so tier policy shows), a
namespace, a token without enough rights, a server that never answers, and a missing token.
"""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.testing import audit_env, audit_subprocess

from .conftest import TRANSIT_KEYS
from .helpers import Evidence, event, system, write_config

HIGH = "vault:vault-high/"
#: Checks each planted weakness must fail, and nothing else (errors listed separately).
FINDINGS = {
    "transit/weak-aes128": {"transit-key-type"},
    "transit/weak-rsa2048": {"transit-key-type"},
    "transit/weak-no-rotation": {"kms-rotation-enabled"},
    "transit/weak-long-rotation": {"kms-rotation-period"},
    "transit/weak-exportable": {"transit-not-exportable"},
    "transit/weak-plaintext-backup": {"transit-no-plaintext-backup"},
    "transit/weak-deletable": {"transit-deletion-protected"},
    "transit/compromised-unrevoked": {"compromised-versions-revoked"},
    "transit/compromised-revoked": set(),
    "transit/compromised-not-rotated": {"compromised-versions-revoked",
                                        "rotated-after-compromise"},
    "transit/compromised-whole": {"compromised-versions-revoked", "rotated-after-compromise"},
    "transit/hmac-key": set(),
    "pki/issuer/clean-root": set(),
    "pki-weak/issuer/weak-root": {"expiry-window", "pki-ca-outlives-roles"},
}
CLEAN = [HIGH + "transit/" + name for name in TRANSIT_KEYS if name.startswith("clean-")] + [
    HIGH + "pki/issuer/clean-root", "vault:vault-critical/transit-crit/clean-critical",
    "vault:vault-low/transit-low/aes128-exportable", "vault:vault-ns/transit/clean-ns"]


@pytest.fixture(scope="module")
def audit(seeded_vault, silent_port, tmp_path_factory) -> Evidence:
    """Run the audit once in a subprocess and return its evidence."""
    folder = tmp_path_factory.mktemp("vault-audit")
    (folder / "auditor.token").write_text(seeded_vault.auditor_token + "\n")
    url = seeded_vault.server.url
    write_config(folder, "".join([
        # the retired Vault setting, read as managed_key_rotation_required (its alias)
        "[policy.vault_require_auto_rotation]\nlow = false\n\n",
        # the planted "broad" policy uses and rotates every key: judged in test_access
        "[policy.managed_key_separation_of_duties]\n"
        "low = false\nhigh = false\ncritical = false\n\n",
        system("vault-high", "high", url, token_env="TEST_VAULT_AUDITOR",
               mounts=["transit", "pki", "pki-weak"], admin_policies=["ops-admin"]),
        system("vault-low", "low", url, token_file="auditor.token", mounts=["transit-low"]),
        system("vault-critical", "critical", url, token_env="TEST_VAULT_AUDITOR",
               mounts=["transit-crit"], admin_policies=["ops-admin"]),
        system("vault-limited", "high", url, token_env="TEST_VAULT_LIMITED",
               mounts=["transit"]),
        system("vault-timeout", "high", f"http://127.0.0.1:{silent_port}",
               token_env="TEST_VAULT_AUDITOR", timeout=0.5, retries=0),
        system("vault-notoken", "high", url, token_env="TEST_VAULT_UNSET"),
        system("vault-ns", "high", url, token_env="TEST_VAULT_ROOT", namespace="team",
               admin_policies=["ops-admin"]),
        event("vault-high", seeded_vault.before_seeding, "transit/compromised-unrevoked", [1, 2]),
        event("vault-high", seeded_vault.before_seeding,
              HIGH + "transit/compromised-revoked", [1, 2]),
        event("vault-high", seeded_vault.before_seeding, "transit/compromised-not-rotated", [1]),
        event("vault-high", seeded_vault.after_seeding, "transit/compromised-whole"),
    ]))
    env = audit_env(TEST_VAULT_AUDITOR=seeded_vault.auditor_token,
                    TEST_VAULT_ROOT=seeded_vault.server.root_token,
                    TEST_VAULT_LIMITED=seeded_vault.limited_token)
    env.pop("TEST_VAULT_UNSET", None)
    run = audit_subprocess(folder, "-q", "-rA", env=env, timeout=120)
    assert run.ret == 1, run.output
    return Evidence(run.evidence, run.output)


@pytest.mark.parametrize("path", sorted(FINDINGS))
def test_planted_weakness_found_and_nothing_else(audit, path):
    uid = HIGH + path
    assert audit.results(uid=uid), f"no result for {uid}"
    assert audit.checks_with(uid, "failed") == FINDINGS[path]
    expected_errors = {"key-age"} if path == "transit/hmac-key" else set()
    assert audit.checks_with(uid, "error") == expected_errors


@pytest.mark.parametrize("uid", CLEAN)
def test_clean_key_passes_every_check(audit, uid):
    results = audit.results(uid=uid)
    assert len(results) >= 8, results
    for result in results:
        assert result["outcome"] in ("passed", "skipped"), result
        if result["outcome"] == "skipped":
            assert "no key-compromise event" in result["message"]


def test_hmac_age_is_an_error_naming_the_reason(audit):
    message = audit.message("key-age", HIGH + "transit/hmac-key")
    assert "no version creation times" in message


def test_tier_policy_decides(audit):
    low = "vault:vault-low/transit-low/aes128-exportable"
    assert audit.outcome("transit-key-type", low) == "passed"
    assert audit.outcome("transit-not-exportable", low) == "passed"
    assert audit.outcome("kms-rotation-enabled", low) == "passed"
    [rotation] = audit.results("kms-rotation-enabled", low)
    assert "not required at tier low" in " ".join(rotation["notes"])
    assert audit.outcome("transit-key-type", HIGH + "transit/weak-aes128") == "failed"
    assert audit.outcome("vault-seal-type", "vault:vault-high") == "passed"
    assert audit.outcome("vault-seal-type", "vault:vault-critical") == "failed"
    assert "shamir" in audit.message("vault-seal-type", "vault:vault-critical")


def test_namespace_sees_its_own_mounts_and_the_server_audit_devices(audit):
    keys = [k["uid"] for k in audit.data["inventory"] if k["system"] == "vault-ns"]
    assert keys == ["vault:vault-ns/transit/clean-ns"]
    assert audit.outcome("vault-audit-device", "vault:vault-ns") == "passed"
    assert not audit.discovery_errors("vault-ns")


def test_audit_device_found(audit):
    assert audit.outcome("vault-audit-device", "vault:vault-high") == "passed"
    assert audit.system("vault-high")["attributes"]["audit_devices"][0]["type"] == "file"


def test_least_privilege_names_each_offending_policy(audit):
    assert audit.outcome("vault-least-privilege", "vault:vault-high") == "failed"
    message = audit.message("vault-least-privilege", "vault:vault-high")
    for offender in ("'app-ops'", "'exporter'", "'broad'", "'legacy-writer'"):
        assert f"policy {offender}" in message
    for allowed in ("'auditor'", "'ops-admin'", "'reader'", "'default'", "'limited'"):
        assert f"policy {allowed}" not in message
    low_message = audit.message("vault-least-privilege", "vault:vault-low")
    assert "policy 'ops-admin' grants" in low_message  # not an admin policy there


def test_pki_roles_checked_by_name(audit):
    sizes = audit.message("pki-role-key-size", "vault:vault-high")
    assert "pki-weak/roles/weak-any" in sizes and "pki-weak/roles/weak-ec224" in sizes
    ttl = audit.message("pki-role-max-ttl", "vault:vault-high")
    assert "pki-weak/roles/weak-any" in ttl and "weak-ec224" not in ttl
    names = audit.message("pki-role-names", "vault:vault-high")
    assert "pki-weak/roles/weak-any allows any name" in names
    for message in (sizes, ttl, names):
        assert "clean-web" not in message


def test_permission_denied_paths_are_errors(audit):
    errors = {(e["key_uid"], e["reason"]) for e in audit.discovery_errors("vault-limited")}
    reasons = " | ".join(reason for _, reason in errors)
    assert "sys/mounts: permission denied" in reasons
    assert ("vault:vault-limited/transit/weak-aes128",
            "transit/keys/weak-aes128: permission denied (HTTP 403)") in errors
    assert audit.outcome("vault-audit-device", "vault:vault-limited") == "error"
    assert "sys/audit: permission denied" in audit.message("vault-audit-device",
                                                           "vault:vault-limited")
    assert audit.outcome("vault-least-privilege", "vault:vault-limited") == "error"
    readable = "vault:vault-limited/transit/clean-aes256"
    assert audit.outcome("transit-key-type", readable) == "passed"


@pytest.mark.parametrize(("name", "reason"), [
    ("vault-timeout", "sys/seal-status: timed out after 0.5s"),
    ("vault-notoken", "environment variable TEST_VAULT_UNSET is not set"),
])
def test_unreadable_server_gives_errors_not_passes(audit, name, reason):
    assert any(reason in e["reason"] for e in audit.discovery_errors(name))
    results = [r for r in audit.data["results"] if r["system"] == name]
    assert results and {r["outcome"] for r in results} == {"error"}


def test_token_never_shown_identity_recorded(audit, seeded_vault):
    text = str(audit.data) + audit.output
    assert seeded_vault.auditor_token not in text
    assert seeded_vault.limited_token not in text
    assert seeded_vault.server.root_token not in text
    identity = audit.data["run"]["auditor"]["systems"]["vault-high"]
    assert set(identity) == {"display_name", "policies", "accessor", "namespace"}
    assert identity["policies"] == ["auditor"]
    assert identity["namespace"] == ""  # a token of the root namespace
    assert "cryptoaudit-auditor" in identity["display_name"]

