"""Azure Key Vault's own checks: recoverability (soft delete, purge protection), key
expiry, HSM protection and certificate renewal per key; the permission model and network
exposure and audit logging of each vault per system. Rotation, state, origin and deletion are
the generic managed-key checks (``managed_keys.py``), which Key Vault keys get through
their typed facts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.facts import KeyState, managed, required
from pytest_cryptoaudit.references import ISO27001_A824, SP800_57

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_cryptoaudit.clock import Clock
    from pytest_cryptoaudit.model import KeyRecord, SystemRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

CIS_AZURE = "CIS Microsoft Azure Foundations Benchmark v2.1, 8 Key Vault"
AZURE = {"provider": "azure-keyvault"}


def _vault_key(key: KeyRecord) -> bool:
    """A key (not a certificate) in an Azure Key Vault or Managed HSM."""
    return key.provider == "azure-keyvault" and managed(key) is not None


def _live_key(key: KeyRecord) -> bool:
    """A Key Vault key that is not deleted."""
    facts = managed(key)
    return _vault_key(key) and facts is not None and facts.state is not KeyState.PENDING_DELETION


def _vault_certificate(key: KeyRecord) -> bool:
    return key.provider == "azure-keyvault" and key.kind.value == "certificate"


@pytest.mark.control(
    "CEK-14", check="keyvault-soft-delete",
    references=[CIS_AZURE, SP800_57],
    remediation="Enable soft delete on the vault (it cannot be turned off again) with a "
                "retention of at least the tier's minimum.",
    applies_to=_vault_key, requires=["recovery_level"],
)
def test_keyvault_soft_delete(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """A deleted key stays recoverable for at least the tier's retention."""
    level = crypto_key.attributes["recovery_level"]
    assert crypto_key.attributes.get("soft_delete"), (
        f"recovery level {level}: a deleted key is purged at once, with every ciphertext "
        "it protects")
    days = crypto_key.attributes.get("recoverable_days")
    tier = crypto_key.risk_tier.value
    minimum = crypto_policy.for_tier("azure_keyvault_min_retention_days", tier)
    assert days is None or days >= minimum, (
        f"deleted keys stay recoverable for {days} days; tier {tier} requires {minimum}")


@pytest.mark.control(
    "CEK-14", check="keyvault-purge-protection",
    references=[CIS_AZURE, SP800_57],
    remediation="Enable purge protection on the vault, so that no one can purge a deleted "
                "key before its retention ends.",
    applies_to=_vault_key, requires=["recovery_level"],
)
def test_keyvault_purge_protection(crypto_key: KeyRecord, crypto_policy: Policy,
                                   crypto_note: Callable[[str], None]) -> None:
    """Deleted keys cannot be purged before their retention ends where the tier requires."""
    if crypto_key.attributes.get("purge_protection"):
        return
    level = crypto_key.attributes["recovery_level"]
    tier = crypto_key.risk_tier.value
    assert not crypto_policy.for_tier("azure_keyvault_purge_protection_required", tier), (
        f"recovery level {level}: purge protection is off; tier {tier} requires it")
    crypto_note(f"purge protection off ({level}); accepted at tier {tier}")


@pytest.mark.control(
    "CEK-12", check="keyvault-key-expiry-set",
    references=[CIS_AZURE, SP800_57, ISO27001_A824],
    remediation="Set an expiry date on the key (and an expiryTime in its rotation policy, "
                "so new versions get one).",
    applies_to=_live_key,
)
def test_keyvault_key_expiry_set(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """The key carries an expiry date where the tier requires one."""
    tier = crypto_key.risk_tier.value
    if crypto_key.expires is None:
        assert not crypto_policy.for_tier("azure_keyvault_expiry_required", tier), (
            f"the key has no expiry date; tier {tier} requires one")


@pytest.mark.control(
    "CEK-17", check="keyvault-key-not-expired",
    references=[SP800_57, ISO27001_A824],
    remediation="Rotate the key (a new version with a new expiry) or disable it, and "
                "re-encrypt what the expired version protects.",
    applies_to=lambda key: _live_key(key) and key.expires is not None,
    requires=["expires"],
)
def test_keyvault_key_not_expired(crypto_key: KeyRecord, crypto_clock: Clock) -> None:
    """An enabled key is not past its expiry (Key Vault then refuses to use it)."""
    facts = required(crypto_key.uid, "managed", managed(crypto_key))
    expires = required(crypto_key.uid, "expires", crypto_key.expires)
    assert facts.state is not KeyState.ENABLED or not crypto_clock.reached(expires), (
        f"expired on {expires:%Y-%m-%d} and still enabled")


@pytest.mark.control(
    "CEK-12", check="keyvault-certificate-auto-renew",
    references=[CIS_AZURE, "NIST SP 1800-16"],
    remediation="Add an AutoRenew lifetime action to the certificate's policy (an email "
                "contact alone renews nothing).",
    applies_to=_vault_certificate, requires=["lifetime_actions"],
)
def test_keyvault_certificate_auto_renew(crypto_key: KeyRecord) -> None:
    """The vault renews the certificate itself before it expires."""
    actions = crypto_key.attributes["lifetime_actions"]
    assert crypto_key.attributes.get("auto_renew"), (
        f"the certificate policy only has {', '.join(actions) or 'no lifetime action'}; "
        "nothing renews it")


def _vaults(system: SystemRecord) -> dict[str, Any]:
    vaults: dict[str, Any] = system.attributes["vault_properties"]
    if not vaults:
        raise CryptoAuditError("no vault audited: nothing shows how the vaults are configured")
    return vaults


@pytest.mark.control(
    "CEK-08", check="keyvault-rbac-authorization",
    references=[CIS_AZURE, ISO27001_A824],
    remediation="Switch the vault's permission model to Azure RBAC and grant key roles "
                "(Key Vault Crypto User, Crypto Officer) at the narrowest scope.",
    applies_to=AZURE, requires=["vault_properties"],
)
def test_keyvault_rbac_authorization(crypto_system: SystemRecord, crypto_policy: Policy,
                                     crypto_note: Callable[[str], None]) -> None:
    """Every vault authorises with Azure RBAC (auditable, conditional, PIM-able) rather
    than vault access policies, where the tier requires it."""
    legacy = sorted(url for url, vault in _vaults(crypto_system).items() if not vault["rbac"])
    if not legacy:
        return
    tier = crypto_system.risk_tier.value
    assert not crypto_policy.for_tier("azure_keyvault_rbac_required", tier), (
        f"authorised by access policies, not RBAC: {', '.join(legacy)}; tier {tier} "
        "requires RBAC")
    crypto_note(f"access policies accepted at tier {tier}: {', '.join(legacy)}")


@pytest.mark.control(
    "CEK-08", check="keyvault-network-restricted",
    references=[CIS_AZURE, ISO27001_A824],
    remediation="Disable public network access and reach the vault through a private "
                "endpoint, or set the firewall's default action to Deny with listed networks.",
    applies_to=AZURE, requires=["vault_properties"],
)
def test_keyvault_network_restricted(crypto_system: SystemRecord, crypto_policy: Policy,
                                     crypto_note: Callable[[str], None]) -> None:
    """No vault answers the whole internet (public access disabled, the firewall denying by
    default, or a private endpoint), where the tier requires it."""
    open_vaults = sorted(
        f"{url} (public network access {vault['public_network_access']}, default action "
        f"{vault['network_default_action']}, {vault['private_endpoints']} private endpoints)"
        for url, vault in _vaults(crypto_system).items()
        if vault["public_network_access"] != "Disabled"
        and vault["network_default_action"] != "Deny" and not vault["private_endpoints"])
    if not open_vaults:
        return
    tier = crypto_system.risk_tier.value
    assert not crypto_policy.for_tier("azure_keyvault_private_network_required", tier), (
        f"reachable from any network: {'; '.join(open_vaults)}; tier {tier} requires a "
        "private network")
    crypto_note(f"open to any network, accepted at tier {tier}: {'; '.join(open_vaults)}")


@pytest.mark.control(
    "CEK-09", check="keyvault-logging",
    references=[CIS_AZURE, "ISO/IEC 27001:2022 A.8.15", ISO27001_A824],
    remediation="Add a diagnostic setting to the vault that sends the AuditEvent category "
                "(or the audit or allLogs category group) to a Log Analytics workspace, a "
                "storage account or an event hub.",
    applies_to=AZURE, requires=["vault_logging"],
)
def test_keyvault_logging(crypto_system: SystemRecord) -> None:
    """Every vault sends its audit log (every key operation, AuditEvent) to a destination
    through a diagnostic setting, so that key use is continuously recorded."""
    logging: dict[str, Any] = crypto_system.attributes["vault_logging"]
    silent = sorted(f"{url} ({found['settings']} diagnostic settings, none sending AuditEvent "
                    "to a destination)"
                    for url, found in logging.items()
                    if "unreadable" not in found and not found["audit_logged"])
    unknown = sorted(f"{url}: {found['unreadable']}"
                     for url, found in logging.items() if "unreadable" in found)
    assert not silent, "no audit log: " + "; ".join(silent) + (
        f" (also unreadable: {'; '.join(unknown)})" if unknown else "")
    if unknown:
        raise CryptoAuditError(f"cannot tell whether key use is logged: {'; '.join(unknown)}")
    if not logging:
        raise CryptoAuditError("no vault audited: nothing shows that key use is logged")
