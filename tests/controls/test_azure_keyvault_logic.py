"""The Key Vault pack (``azure_keyvault.py``) on planted keys, certificates and vault
systems: recoverability, expiry, renewal, permission model, network exposure and logging,
per tier, with the errors of what could not be read. The selection ``scripts/mutation.py``
runs against that module."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import controls.azure_keyvault as keyvault
from pytest_cryptoaudit.facts import ManagedKeyFacts

from .judge import NOW, Verdict, controls_of, fresh, judge, key, spec_of, system

AZ = "azure-keyvault"
URL = "https://v1.vault.azure.net"


def facts(state: str = "enabled") -> ManagedKeyFacts:
    return ManagedKeyFacts(manager="customer", origin="generated", protection="software",
                           state=state)  # type: ignore[arg-type]


def vault_key(tier: str = "high", state: str = "enabled", expires: Any = None,
              **attributes: Any) -> Any:
    base = {"recovery_level": "Recoverable+Purgeable", "soft_delete": True,
            "recoverable_days": 90, "purge_protection": True}
    return key(f"{URL}/keys/k", provider=AZ, tier=tier, managed=facts(state), expires=expires,
               attributes={**base, **attributes})


def test_the_pack_declares_its_checks() -> None:
    assert [spec_of(c).check for c in controls_of(keyvault)] == [
        "keyvault-soft-delete", "keyvault-purge-protection", "keyvault-key-expiry-set",
        "keyvault-key-not-expired", "keyvault-certificate-auto-renew",
        "keyvault-rbac-authorization", "keyvault-network-restricted", "keyvault-logging"]


def test_key_checks_apply_to_vault_keys() -> None:
    for control in controls_of(keyvault)[:2]:
        spec = spec_of(control)
        assert spec.applies_to(vault_key())
        assert spec.applies_to(vault_key(state="pending-deletion"))
        assert not spec.applies_to(key("k", provider=AZ, attributes={"recovery_level": "x"}))
        for provider in ("aws-kms", "gcp-kms"):  # before and after "azure-keyvault"
            assert not spec.applies_to(key("k", provider=provider, managed=facts(),
                                           attributes={"recovery_level": "x"}))
    live = spec_of(keyvault.test_keyvault_key_expiry_set)
    assert live.applies_to(vault_key())
    assert not live.applies_to(vault_key(state="pending-deletion"))
    assert not live.applies_to(key("k", provider=AZ))
    expired = spec_of(keyvault.test_keyvault_key_not_expired)
    assert expired.applies_to(vault_key(expires=NOW))
    assert not expired.applies_to(vault_key())
    assert not expired.applies_to(vault_key(state="pending-deletion", expires=NOW))


# -- soft delete and purge protection ---------------------------------------------------------

@pytest.mark.parametrize(("days", "tier", "outcome"), [
    (30, "high", "passed"), (31, "high", "passed"), (29, "high", "failed"),
    (89, "critical", "failed"),
    (90, "critical", "passed"), (None, "critical", "passed"), (7, "low", "passed")])
def test_soft_delete_retention(days: int | None, tier: str, outcome: str) -> None:
    verdict = judge(keyvault.test_keyvault_soft_delete, vault_key(tier, recoverable_days=days))
    assert verdict.outcome == outcome
    if outcome == "failed":
        minimum = {"high": 30, "critical": 90}[tier]
        assert verdict.message == (f"deleted keys stay recoverable for {days} days; tier "
                                   f"{tier} requires {minimum}")


def test_no_soft_delete_fails() -> None:
    verdict = judge(keyvault.test_keyvault_soft_delete, vault_key(
        "low", recovery_level="Purgeable", soft_delete=False))
    assert verdict == Verdict("failed", "recovery level Purgeable: a deleted key is purged at "
                                        "once, with every ciphertext it protects")


def test_recovery_level_unreadable_is_an_error() -> None:
    record = key("k", provider=AZ, managed=facts(), unreadable={"recovery_level": "403"})
    assert judge(keyvault.test_keyvault_soft_delete, record) == Verdict(
        "error", "recovery_level: 403")


def test_purge_protection() -> None:
    assert judge(keyvault.test_keyvault_purge_protection, vault_key()) == Verdict("passed")
    off = vault_key(purge_protection=False)
    assert judge(keyvault.test_keyvault_purge_protection, off) == Verdict(
        "failed", "recovery level Recoverable+Purgeable: purge protection is off; tier high "
                  "requires it")
    low = vault_key("low", purge_protection=False)
    assert judge(keyvault.test_keyvault_purge_protection, low) == Verdict(
        "passed", notes=("purge protection off (Recoverable+Purgeable); accepted at tier low",))


# -- expiry -----------------------------------------------------------------------------------

def test_expiry_set() -> None:
    assert judge(keyvault.test_keyvault_key_expiry_set, vault_key(expires=NOW)) == \
        Verdict("passed")
    assert judge(keyvault.test_keyvault_key_expiry_set, vault_key()) == Verdict(
        "failed", "the key has no expiry date; tier high requires one")
    assert judge(keyvault.test_keyvault_key_expiry_set, vault_key("low")) == Verdict("passed")


@pytest.mark.parametrize(("offset", "state", "outcome"), [
    (timedelta(seconds=1), "enabled", "passed"), (timedelta(0), "enabled", "failed"),
    (-timedelta(days=3), "enabled", "failed"), (-timedelta(days=3), "disabled", "passed")])
def test_key_not_expired(offset: timedelta, state: str, outcome: str) -> None:
    verdict = judge(keyvault.test_keyvault_key_not_expired,
                    vault_key(state=state, expires=NOW + offset))
    assert verdict.outcome == outcome
    if outcome == "failed":
        assert verdict.message == f"expired on {NOW + offset:%Y-%m-%d} and still enabled"


# -- certificates -----------------------------------------------------------------------------

def vault_certificate(**attributes: Any) -> Any:
    return key(f"{URL}/certificates/c", provider=AZ, kind="certificate", attributes=attributes)


def test_certificate_auto_renew() -> None:
    spec = spec_of(keyvault.test_keyvault_certificate_auto_renew)
    assert not spec.applies_to(vault_key())
    for provider in ("aws-kms", "files"):
        assert not spec.applies_to(key("c", provider=provider, kind="certificate",
                                       attributes={"lifetime_actions": []}))
    renews = vault_certificate(lifetime_actions=["AutoRenew"], auto_renew=True)
    assert judge(keyvault.test_keyvault_certificate_auto_renew, renews) == Verdict("passed")
    emails = vault_certificate(lifetime_actions=["EmailContacts"], auto_renew=False)
    assert judge(keyvault.test_keyvault_certificate_auto_renew, emails) == Verdict(
        "failed", "the certificate policy only has EmailContacts; nothing renews it")
    bare = vault_certificate(lifetime_actions=[])
    assert judge(keyvault.test_keyvault_certificate_auto_renew, bare).message == (
        "the certificate policy only has no lifetime action; nothing renews it")


# -- vaults -----------------------------------------------------------------------------------

def vaults(tier: str = "high", **properties: dict[str, Any]) -> Any:
    return system("kv", provider=AZ, tier=tier, attributes={"vault_properties": properties})


def props(rbac: bool = True, public: str = "Disabled", action: str = "Allow",
          endpoints: int = 0) -> dict[str, Any]:
    # fresh strings, as read from the service's JSON answers
    return {"rbac": rbac, "public_network_access": fresh(public),
            "network_default_action": fresh(action),
            "private_endpoints": endpoints}


@pytest.mark.parametrize("control", controls_of(keyvault)[5:])
def test_vault_checks_apply_to_key_vault_systems(control: Any) -> None:
    assert not spec_of(control).applies_to(system("kms", provider="aws-kms"))


def test_rbac_authorization() -> None:
    rbac = keyvault.test_keyvault_rbac_authorization
    assert judge(rbac, vaults(a=props())) == Verdict("passed")
    legacy = vaults(**{"https://b": props(rbac=False), "https://a": props(rbac=False),
                       "https://c": props()})
    assert judge(rbac, legacy) == Verdict(
        "failed", "authorised by access policies, not RBAC: https://a, https://b; tier high "
                  "requires RBAC")
    assert judge(rbac, vaults("low", a=props(rbac=False))) == Verdict(
        "passed", notes=("access policies accepted at tier low: a",))


def test_no_vault_audited_is_an_error() -> None:
    for control in controls_of(keyvault)[5:7]:
        assert judge(control, vaults()) == Verdict(
            "error", "CryptoAuditError: no vault audited: nothing shows how the vaults are "
                     "configured")


@pytest.mark.parametrize(("made", "open_"), [
    (props(), False), (props(public="Enabled", action="Deny"), False),
    (props(public="Enabled", endpoints=1), False), (props(public="Enabled"), True),
    (props(public="Enabled", action="Unknown"), True)])
def test_network_restricted(made: dict[str, Any], open_: bool) -> None:
    verdict = judge(keyvault.test_keyvault_network_restricted, vaults(v=made))
    if open_:
        action = made["network_default_action"]
        assert verdict == Verdict("failed", "reachable from any network: v (public network "
                                            f"access Enabled, default action {action}, 0 "
                                            "private endpoints); tier high requires a private "
                                            "network")
    else:
        assert verdict == Verdict("passed")


def test_open_network_accepted_at_medium_is_noted() -> None:
    verdict = judge(keyvault.test_keyvault_network_restricted,
                    vaults("medium", v=props(public="Enabled")))
    assert verdict.outcome == "passed"
    assert verdict.notes == ("open to any network, accepted at tier medium: v (public network "
                             "access Enabled, default action Allow, 0 private endpoints)",)


def logged(**found: dict[str, Any]) -> Verdict:
    return judge(keyvault.test_keyvault_logging, system(
        "kv", provider=AZ, attributes={"vault_logging": found}))


def test_logging() -> None:
    assert logged(a={"settings": 1, "audit_logged": True}) == Verdict("passed")
    assert logged(a={"settings": 2, "audit_logged": False}) == Verdict(
        "failed", "no audit log: a (2 diagnostic settings, none sending AuditEvent to a "
                  "destination)")


def test_logging_unreadable() -> None:
    assert logged(a={"settings": 1, "audit_logged": True}, b={"unreadable": "403"}) == Verdict(
        "error", "CryptoAuditError: cannot tell whether key use is logged: b: 403")
    assert logged(a={"settings": 0, "audit_logged": False}, b={"unreadable": "403"}) == \
        Verdict("failed", "no audit log: a (0 diagnostic settings, none sending AuditEvent to "
                          "a destination) (also unreadable: b: 403)")


def test_logging_of_no_vault_is_an_error() -> None:
    assert logged() == Verdict("error", "CryptoAuditError: no vault audited: nothing shows "
                                        "that key use is logged")
