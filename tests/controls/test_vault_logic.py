"""The Vault pack (``vault.py``) on planted transit keys and servers: key types and settings
per tier, compromised versions after key-compromise events, audit devices, the seal and the
ACL policies' privileged grants. The selection ``scripts/mutation.py`` runs against that
module."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import controls.vault as vault
from pytest_cryptoaudit.model import Event, EventKind

from .judge import NOW, Verdict, controls_of, fresh, judge, key, policy, spec_of, system

UID = "vault:transit/keys/orders"


def transit(tier: str = "high", **attributes: Any) -> Any:
    base = {"transit_type": "aes256-gcm96", "exportable": False, "allow_plaintext_backup": False,
            "deletion_allowed": False, "mount": "transit", "name": "orders",
            "min_decryption_version": 1, "latest_version": 1,
            "versions": {"1": (NOW - timedelta(days=30)).isoformat()}}
    return key(UID, provider="vault", tier=tier, attributes={**base, **attributes})


def compromise(days_ago: float = 10, key_name: str | None = None,
               versions: tuple[int, ...] = (), system_name: str = "app",
               kind: EventKind = EventKind.KEY_COMPROMISE) -> Event:
    return Event(system=fresh(system_name), kind=kind, at=NOW - timedelta(days=days_ago),
                 key=key_name, versions=versions)


def test_the_pack_declares_its_checks() -> None:
    assert [spec_of(c).check for c in controls_of(vault)] == [
        "transit-key-type", "transit-not-exportable", "transit-no-plaintext-backup",
        "transit-deletion-protected", "compromised-versions-revoked",
        "rotated-after-compromise", "vault-audit-device", "vault-seal-type",
        "vault-least-privilege"]


@pytest.mark.parametrize("control", controls_of(vault)[:6])
def test_transit_checks_apply_to_vault_transit_keys(control: Any) -> None:
    spec = spec_of(control)
    assert spec.applies_to(transit())
    assert not spec.applies_to(key("k", provider="vault", attributes={"name": "kv"}))
    for other in ("aws-kms", "zz-third-party"):  # a name before "vault", one after it
        assert not spec.applies_to(key("k", provider=other,
                                       attributes={"transit_type": "aes256-gcm96"}))


@pytest.mark.parametrize(("tier", "key_type", "outcome"), [
    ("high", "aes256-gcm96", "passed"), ("high", "aes128-gcm96", "failed"),
    ("medium", "aes128-gcm96", "passed"), ("high", "rsa-2048", "failed")])
def test_transit_key_type(tier: str, key_type: str, outcome: str) -> None:
    verdict = judge(vault.test_transit_key_type, transit(tier, transit_type=key_type))
    assert verdict.outcome == outcome
    if outcome == "failed":
        allowed = ", ".join(policy()["vault_transit_key_types"][tier])
        assert verdict.message == (f"transit key type {key_type} is not allowed at tier "
                                   f"{tier} (allowed: {allowed})")


@pytest.mark.parametrize(("control", "attribute", "message"), [
    (vault.test_transit_not_exportable, "exportable",
     "key is exportable; tier high keeps keys inside Vault"),
    (vault.test_transit_no_plaintext_backup, "allow_plaintext_backup",
     "allow_plaintext_backup is set; tier high forbids key material leaving Vault in the "
     "clear"),
    (vault.test_transit_deletion_protected, "deletion_allowed",
     "deletion_allowed is set; tier high protects keys from deletion"),
])
def test_transit_settings_per_tier(control: Any, attribute: str, message: str) -> None:
    assert judge(control, transit(**{attribute: False})) == Verdict("passed")
    assert judge(control, transit(**{attribute: True})) == Verdict("failed", message)
    assert judge(control, transit("medium", **{attribute: True})) == Verdict("passed")
    unreadable = key(UID, provider="vault", attributes={"transit_type": "aes256-gcm96"},
                     unreadable={attribute: "403"})
    assert judge(control, unreadable) == Verdict("error", f"{attribute}: 403")


# -- compromise --------------------------------------------------------------------------------

COMPROMISE_CHECKS = [vault.test_compromised_versions_revoked, vault.test_rotated_after_compromise]


@pytest.mark.parametrize("control", COMPROMISE_CHECKS)
@pytest.mark.parametrize("events", [
    (), (compromise(system_name="other"),), (compromise(key_name="transit/keys/other"),),
    (compromise(kind=EventKind.SECURITY_INCIDENT),)])
def test_without_a_compromise_of_this_key_the_checks_skip(control: Any,
                                                          events: tuple[Event, ...]) -> None:
    verdict = judge(control, transit(), crypto_events=events)
    assert verdict == Verdict("skipped", "no key-compromise event recorded for this key")


@pytest.mark.parametrize("name", [None, UID, "transit/orders"])
def test_a_compromise_names_the_key_by_uid_path_or_not_at_all(name: str | None) -> None:
    verdict = judge(vault.test_compromised_versions_revoked, transit(),
                    crypto_events=(compromise(key_name=name, versions=(1,)),))
    assert verdict.outcome == "failed"


@pytest.mark.parametrize(("minimum", "outcome"), [(2, "failed"), (3, "failed"), (4, "passed")])
def test_named_versions_must_be_revoked(minimum: int, outcome: str) -> None:
    record = transit(min_decryption_version=minimum, latest_version=4)
    verdict = judge(vault.test_compromised_versions_revoked, record,
                    crypto_events=(compromise(versions=(3,)), compromise(versions=(1, 2))))
    assert verdict.outcome == outcome
    if outcome == "failed":
        assert verdict.message == ("compromised version(s) 1, 2, 3 can still decrypt: "
                                   f"min_decryption_version is {minimum}")


def test_versions_existing_at_an_unnamed_event_are_compromised() -> None:
    times = {"1": (NOW - timedelta(days=30)).isoformat(),
             "2": (NOW - timedelta(days=10)).isoformat(),
             "3": (NOW - timedelta(days=5)).isoformat()}
    record = transit(min_decryption_version=2, latest_version=3, versions=times)
    events = (compromise(days_ago=10),)  # version 2 was created at the very instant
    verdict = judge(vault.test_compromised_versions_revoked, record, crypto_events=events)
    assert verdict.message == ("compromised version(s) 1, 2 can still decrypt: "
                               "min_decryption_version is 2")
    assert judge(vault.test_rotated_after_compromise, record,
                 crypto_events=events) == Verdict("passed")
    revoked = transit(min_decryption_version=3, latest_version=3, versions=times)
    assert judge(vault.test_compromised_versions_revoked, revoked,
                 crypto_events=events) == Verdict("passed")


@pytest.mark.parametrize("control", COMPROMISE_CHECKS)
def test_unnamed_versions_without_version_times_is_an_error(control: Any) -> None:
    verdict = judge(control, transit(versions={}), crypto_events=(compromise(),))
    assert verdict.outcome == "error"
    assert verdict.message == (
        f"CryptoAuditError: the event of {compromise().at:%Y-%m-%d} names no versions and the "
        "server reports no version times for this key: list the compromised versions in the "
        "event")


def test_latest_version_compromised_fails() -> None:
    verdict = judge(vault.test_rotated_after_compromise, transit(latest_version=2),
                    crypto_events=(compromise(versions=(2, 1)),))
    assert verdict == Verdict("failed", "latest version 2 is compromised (compromised: 1, 2): "
                                        "new data is still protected by it")


def test_rotated_since_compromise_passes() -> None:
    verdict = judge(vault.test_rotated_after_compromise, transit(latest_version=3),
                    crypto_events=(compromise(versions=(2,)),))
    assert verdict == Verdict("passed")


# -- server-wide -------------------------------------------------------------------------------

def server(tier: str = "high", **attributes: Any) -> Any:
    return system("vault", provider="vault", tier=tier, attributes=attributes)


@pytest.mark.parametrize("control", controls_of(vault)[6:])
def test_server_checks_apply_to_vault_servers(control: Any) -> None:
    assert spec_of(control).applies_to(server(audit_devices=[], seal_type="shamir",
                                              acl_policies={}, transit_mounts=[]))
    assert not spec_of(control).applies_to(system("kms", provider="aws-kms"))


def test_audit_device() -> None:
    assert judge(vault.test_vault_audit_device, server(audit_devices=["file/"])) == \
        Verdict("passed")
    assert judge(vault.test_vault_audit_device, server(audit_devices=[])) == Verdict(
        "failed", "no audit device is enabled: key operations leave no audit trail")


def test_seal_type() -> None:
    assert judge(vault.test_vault_seal_type, server(seal_type="shamir")) == Verdict(
        "passed", notes=("seal type: shamir",))
    verdict = judge(vault.test_vault_seal_type, server("critical", seal_type="shamir"))
    allowed = ", ".join(policy()["vault_allowed_seal_types"]["critical"])
    assert verdict == Verdict("failed", "seal type shamir is not allowed at tier critical "
                                        f"(allowed: {allowed})", ("seal type: shamir",))


def least_privilege(policies: dict[str, dict[str, list[str]]], **attributes: Any) -> Verdict:
    return judge(vault.test_vault_least_privilege, server(
        acl_policies=policies, transit_mounts=["transit", "pay"], **attributes))


def test_read_only_policies_pass() -> None:
    assert least_privilege({"app": {"transit/encrypt/orders": ["update"],
                                    "sys/mounts": ["read", "list"]}}) == Verdict("passed")


def test_write_on_sys_fails() -> None:
    verdict = least_privilege({"ops": {"sys/policies/acl/*": ["create", "update", "read"]}})
    assert verdict == Verdict("failed", "policy 'ops' grants create, update on "
                                        "'sys/policies/acl/*' (covers sys/*)")


def test_grants_on_every_transit_mount_are_found() -> None:
    verdict = least_privilege({"b": {"pay/export/encryption-key/x": ["read"]},
                               "a": {"transit/keys/orders/config": ["update"]}})
    assert verdict.message == (
        "policy 'a' grants update on 'transit/keys/orders/config' (covers "
        "transit/keys/+/config); policy 'b' grants read on 'pay/export/encryption-key/x' "
        "(covers pay/export/*)")


def test_deny_exempt_and_admin_policies_are_not_findings() -> None:
    assert least_privilege({"deny": {"sys/*": ["deny", "update"]},
                            "audit": {"sys/audit": ["sudo", "update"]},
                            "root-ish": {"sys/*": ["sudo"]}},
                           admin_policies=["root-ish"]) == Verdict("passed")


def test_an_exempt_path_does_not_hide_the_paths_after_it() -> None:
    verdict = least_privilege({"ops": {"sys/audit": ["sudo"], "sys/seal": ["sudo"]}})
    assert verdict == Verdict("failed", "policy 'ops' grants sudo on 'sys/seal' (covers sys/*)")


def test_one_policy_with_several_grants_lists_each() -> None:
    verdict = least_privilege({"ops": {"transit/backup/x": ["read"], "sys/seal": ["sudo"]}})
    assert verdict.message == ("policy 'ops' grants sudo on 'sys/seal' (covers sys/*); policy "
                               "'ops' grants read on 'transit/backup/x' (covers "
                               "transit/backup/*)")


def test_acl_policies_unreadable_is_an_error() -> None:
    record = system("vault", provider="vault", attributes={"transit_mounts": []},
                    unreadable={"acl_policies": "permission denied"})
    assert judge(vault.test_vault_least_privilege, record) == Verdict(
        "error", "acl_policies: permission denied")


@pytest.mark.parametrize("control", COMPROMISE_CHECKS)
def test_a_compromise_before_every_version_compromises_none(control: Any) -> None:
    verdict = judge(control, transit(), crypto_events=(compromise(days_ago=40),))
    assert verdict == Verdict("passed")
