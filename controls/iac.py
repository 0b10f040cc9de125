"""Checks only infrastructure code can be judged on: how a Kubernetes API server encrypts
Secrets at rest (CEK-03/04/12), how cert-manager renews keys (CEK-12), keys the Terraform
``tls`` provider keeps in its state (CEK-10), and the deletion and network protection of an
Azure key vault (CEK-08/14). Keys, certificates and endpoints the code declares are judged
by the generic controls like live ones; these checks read facts only the code states."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_cryptoaudit.facts import required
from pytest_cryptoaudit.references import ISO27001_A824, SP800_57, SP800_57_CRYPTOPERIODS, ccm

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_cryptoaudit.model import KeyRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

K8S_ENCRYPTION = "https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/"
K8S_KMS = "https://kubernetes.io/docs/tasks/administer-cluster/kms-provider/"
CERT_MANAGER = "https://cert-manager.io/docs/usage/certificate/"
TF_TLS_KEY = "https://registry.terraform.io/providers/hashicorp/tls/latest/docs/resources/private_key"
AZURE_KV = "https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview"


def _attribute(key: KeyRecord, name: str) -> Any:
    return required(key.uid, name, key.attributes.get(name))


def _encryption_config(key: KeyRecord) -> bool:
    """A resource group of an API server's EncryptionConfiguration."""
    return "write_provider" in key.attributes


def _local_keys(key: KeyRecord) -> bool:
    """A resource group written with keys listed in the manifest itself."""
    return "keys_listed" in key.attributes


def _cert_manager(key: KeyRecord) -> bool:
    """A private key cert-manager generates for a Certificate."""
    return "issuer_type" in key.attributes


def _in_key_vault(key: KeyRecord) -> bool:
    return "key_vault_purge_protection" in key.attributes \
        or "key_vault_purge_protection" in key.unreadable


@pytest.mark.control(
    "CEK-03", check="iac-secrets-encrypted-at-rest",
    references=[ccm("CEK-03"), K8S_ENCRYPTION, ISO27001_A824],
    remediation="Put an encrypting provider (kms v2, secretbox or aesgcm) first for the "
                "resource group; keep identity last, only to read old data.",
    applies_to=_encryption_config, requires=["writes_in_clear"],
)
def test_secrets_encrypted_at_rest(crypto_key: KeyRecord) -> None:
    """The API server writes the resources encrypted: identity is not the first provider."""
    names = crypto_key.attributes.get("encrypted_resources", "")
    assert not _attribute(crypto_key, "writes_in_clear"), (
        f"identity is the first provider for {names}: they are written to etcd in clear")


@pytest.mark.control(
    "CEK-04", check="iac-encryption-provider",
    references=[K8S_ENCRYPTION, K8S_KMS, SP800_57],
    remediation="Use the kms provider with apiVersion v2 (or secretbox) as the first provider.",
    applies_to=_encryption_config, requires=["write_provider_weakness"],
)
def test_encryption_provider(crypto_key: KeyRecord, crypto_note: Callable[[str], None]) -> None:
    """The writing provider is not one Kubernetes deprecates or recommends against
    (aescbc; KMS plugin API v1), as the provider recorded it."""
    note = crypto_key.attributes.get("write_provider_note")
    if note:
        crypto_note(note)
    weakness = _attribute(crypto_key, "write_provider_weakness")
    assert not weakness, weakness


@pytest.mark.control(
    "CEK-12", check="iac-encryption-key-rotation",
    references=[K8S_ENCRYPTION, SP800_57_CRYPTOPERIODS],
    remediation="Rotate the key: add a new key first, restart the API servers, rewrite all "
                "Secrets, then remove the old key.",
    applies_to=_local_keys, requires=["keys_listed"],
)
def test_encryption_key_rotation(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """A local encryption key shows a rotation (more than one key listed) where the tier
    requires rotation; the manifest does not say how old a key is."""
    listed = _attribute(crypto_key, "keys_listed")
    tier = crypto_key.risk_tier.value
    if listed > 1:
        crypto_note(f"{listed} keys listed: the first writes, the others read older data")
        return
    assert not crypto_policy.for_tier("managed_key_rotation_required", tier), (
        f"{listed} key listed: no sign the key was ever rotated; tier {tier} requires rotation")


@pytest.mark.control(
    "CEK-12", check="iac-cert-manager-rotation-policy",
    references=[CERT_MANAGER, SP800_57_CRYPTOPERIODS],
    remediation="Set spec.privateKey.rotationPolicy: Always, so each renewal has a new key.",
    applies_to=_cert_manager, requires=["rotation_policy"],
)
def test_cert_manager_rotation_policy(crypto_key: KeyRecord) -> None:
    """cert-manager generates a new private key at every renewal (rotationPolicy Always)."""
    policy = _attribute(crypto_key, "rotation_policy")
    assert policy == "Always", (
        f"rotationPolicy {policy}: the private key is kept across renewals")


@pytest.mark.control(
    "CEK-12", check="iac-cert-manager-renewal",
    references=[CERT_MANAGER, SP800_57_CRYPTOPERIODS],
    remediation="Shorten spec.duration to the policy's maximum lifetime, and set renewBefore "
                "below it.",
    applies_to=_cert_manager, requires=["duration_days"],
)
def test_cert_manager_renewal(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """The certificate's duration is within the policy's maximum lifetime, and it is renewed
    before it expires."""
    duration = _attribute(crypto_key, "duration_days")
    maximum = crypto_policy.for_tier("max_certificate_lifetime_days", crypto_key.risk_tier)
    assert duration <= maximum, (
        f"duration {duration:.0f} days; tier {crypto_key.risk_tier.value} allows {maximum}")
    renew = crypto_key.attributes.get("renew_before_days")
    assert renew is None or renew < duration, (
        f"renewBefore ({renew:.0f} days) is not shorter than duration ({duration:.0f} days)")


@pytest.mark.control(
    "CEK-10", check="iac-private-key-in-state",
    references=[TF_TLS_KEY, ISO27001_A824],
    remediation="Generate the key where it is used (a KMS, an HSM, cert-manager) instead of "
                "in Terraform, whose state keeps it unencrypted.",
    applies_to=lambda key: key.attributes.get("stored_in_state") is True,
)
def test_private_key_in_state(crypto_key: KeyRecord) -> None:
    """No private key is generated by Terraform: its state stores the key in clear."""
    raise AssertionError(
        f"{crypto_key.attributes.get('address')}: the private key is stored unencrypted in "
        "the Terraform state")


@pytest.mark.control(
    "CEK-14", check="iac-key-vault-purge-protection",
    references=[AZURE_KV, SP800_57],
    remediation="Enable purge_protection_enabled on the key vault (it cannot be turned off).",
    applies_to=_in_key_vault, requires=["key_vault_purge_protection"],
)
def test_key_vault_purge_protection(crypto_key: KeyRecord) -> None:
    """The vault holding the key keeps deleted keys for their retention period."""
    assert _attribute(crypto_key, "key_vault_purge_protection") is True, (
        f"vault {crypto_key.attributes.get('key_vault')}: purge protection is off; a deleted "
        "key can be purged at once")


@pytest.mark.control(
    "CEK-08", check="iac-key-vault-network",
    references=[AZURE_KV, ISO27001_A824],
    remediation="Set network_acls default_action = \"Deny\" with the networks that need the "
                "vault, or disable public network access.",
    applies_to=_in_key_vault, requires=["key_vault_network_default_action"],
)
def test_key_vault_network(crypto_key: KeyRecord) -> None:
    """The vault holding the key is not reachable from every network."""
    action = _attribute(crypto_key, "key_vault_network_default_action")
    assert action == "Deny", (
        f"vault {crypto_key.attributes.get('key_vault')}: network default action {action}")
