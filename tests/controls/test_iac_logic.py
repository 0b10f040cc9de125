"""The infrastructure-code pack (``iac.py``) on planted records as the Kubernetes, Terraform
and cert-manager readers record them: encryption at rest, the writing provider, local key
rotation, cert-manager renewal, keys in Terraform state and the Azure vault settings the code
declares. The selection ``scripts/mutation.py`` runs against that module."""

from __future__ import annotations

from typing import Any

import pytest

import controls.iac as iac

from .judge import Verdict, controls_of, fresh, judge, key, policy, spec_of


def declared(tier: str = "high", unreadable: dict[str, str] | None = None,
             **attributes: Any) -> Any:
    return key("iac:k8s/encryption/secrets", provider="kubernetes", tier=tier,
               attributes=attributes, unreadable=unreadable or {})


def test_the_pack_declares_its_checks() -> None:
    assert [spec_of(c).check for c in controls_of(iac)] == [
        "iac-secrets-encrypted-at-rest", "iac-encryption-provider",
        "iac-encryption-key-rotation", "iac-cert-manager-rotation-policy",
        "iac-cert-manager-renewal", "iac-private-key-in-state",
        "iac-key-vault-purge-protection", "iac-key-vault-network"]


@pytest.mark.parametrize(("control", "marker"), [
    (iac.test_secrets_encrypted_at_rest, {"write_provider": "kms"}),
    (iac.test_encryption_provider, {"write_provider": "kms"}),
    (iac.test_encryption_key_rotation, {"keys_listed": 1}),
    (iac.test_cert_manager_rotation_policy, {"issuer_type": "ClusterIssuer"}),
    (iac.test_cert_manager_renewal, {"issuer_type": "ClusterIssuer"}),
    (iac.test_private_key_in_state, {"stored_in_state": True}),
    (iac.test_key_vault_purge_protection, {"key_vault_purge_protection": False}),
    (iac.test_key_vault_network, {"key_vault_purge_protection": True}),
])
def test_each_check_applies_to_records_carrying_its_fact(control: Any,
                                                         marker: dict[str, Any]) -> None:
    assert spec_of(control).applies_to(declared(**marker))
    assert not spec_of(control).applies_to(declared(unrelated=True))


def test_not_in_state_and_unreadable_vault_applicability() -> None:
    assert not spec_of(iac.test_private_key_in_state).applies_to(declared(stored_in_state=1))
    assert not spec_of(iac.test_private_key_in_state).applies_to(
        declared(stored_in_state=False))
    unreadable = declared(unreadable={"key_vault_purge_protection": "variable"})
    assert spec_of(iac.test_key_vault_purge_protection).applies_to(unreadable)
    assert judge(iac.test_key_vault_purge_protection, unreadable) == Verdict(
        "error", "key_vault_purge_protection: variable")


def test_secrets_encrypted_at_rest() -> None:
    encrypted = declared(write_provider="kms", writes_in_clear=False)
    assert judge(iac.test_secrets_encrypted_at_rest, encrypted) == Verdict("passed")
    clear = declared(write_provider="identity", writes_in_clear=True,
                     encrypted_resources="secrets, configmaps")
    assert judge(iac.test_secrets_encrypted_at_rest, clear) == Verdict(
        "failed", "identity is the first provider for secrets, configmaps: they are written "
                  "to etcd in clear")


def test_writes_in_clear_unknown_is_an_error() -> None:
    unknown = declared(write_provider="odd", unreadable={"writes_in_clear": "unknown provider"})
    assert judge(iac.test_secrets_encrypted_at_rest, unknown) == Verdict(
        "error", "writes_in_clear: unknown provider")


def test_encryption_provider() -> None:
    good = declared(write_provider="kms", write_provider_weakness="",
                    write_provider_note="kms v2")
    assert judge(iac.test_encryption_provider, good) == Verdict("passed", notes=("kms v2",))
    weak = declared(write_provider="aescbc", write_provider_weakness="aescbc is not recommended")
    assert judge(iac.test_encryption_provider, weak) == Verdict(
        "failed", "aescbc is not recommended")


@pytest.mark.parametrize(("listed", "tier", "verdict"), [
    (2, "high", Verdict("passed", notes=(
        "2 keys listed: the first writes, the others read older data",))),
    (1, "high", Verdict("failed", "1 key listed: no sign the key was ever rotated; tier high "
                                  "requires rotation")),
    (0, "high", Verdict("failed", "0 key listed: no sign the key was ever rotated; tier high "
                                  "requires rotation")),
])
def test_encryption_key_rotation(listed: int, tier: str, verdict: Verdict) -> None:
    assert judge(iac.test_encryption_key_rotation, declared(tier, keys_listed=listed)) == verdict


def test_single_key_accepted_where_rotation_is_not_required() -> None:
    lenient = policy(managed_key_rotation_required={"low": False})
    assert judge(iac.test_encryption_key_rotation, declared("low", keys_listed=1),
                 crypto_policy=lenient) == Verdict("passed")


def test_cert_manager_rotation_policy() -> None:
    assert judge(iac.test_cert_manager_rotation_policy, declared(
        issuer_type="Issuer", rotation_policy=fresh("Always"))) == Verdict("passed")
    assert judge(iac.test_cert_manager_rotation_policy, declared(
        issuer_type="Issuer", rotation_policy="Never")) == Verdict(
        "failed", "rotationPolicy Never: the private key is kept across renewals")


@pytest.mark.parametrize(("duration", "renew", "message"), [
    (398, 30, ""), (398, None, ""), (398.4, 30, "duration 398 days; tier high allows 398"),
    (90, 90, "renewBefore (90 days) is not shorter than duration (90 days)"),
    (90, 89.9, ""),
])
def test_cert_manager_renewal(duration: float, renew: float | None, message: str) -> None:
    record = declared(issuer_type="Issuer", duration_days=duration, renew_before_days=renew)
    verdict = judge(iac.test_cert_manager_renewal, record)
    assert verdict == (Verdict("failed", message) if message else Verdict("passed"))


def test_private_key_in_state_always_fails() -> None:
    record = declared(stored_in_state=True, address="tls_private_key.ca")
    assert judge(iac.test_private_key_in_state, record) == Verdict(
        "failed", "tls_private_key.ca: the private key is stored unencrypted in the Terraform "
                  "state")


def test_key_vault_purge_protection() -> None:
    on = declared(key_vault="kv1", key_vault_purge_protection=True)
    assert judge(iac.test_key_vault_purge_protection, on) == Verdict("passed")
    for value in (False, 1):  # only a boolean true is on
        off = declared(key_vault="kv1", key_vault_purge_protection=value)
        assert judge(iac.test_key_vault_purge_protection, off) == Verdict(
            "failed", "vault kv1: purge protection is off; a deleted key can be purged at once")


def test_key_vault_network() -> None:
    deny = declared(key_vault="kv1", key_vault_purge_protection=True,
                    key_vault_network_default_action=fresh("Deny"))
    assert judge(iac.test_key_vault_network, deny) == Verdict("passed")
    for action in ("Allow", "Unknown"):  # sorting before and after Deny
        allow = declared(key_vault="kv1", key_vault_purge_protection=True,
                         key_vault_network_default_action=action)
        assert judge(iac.test_key_vault_network, allow) == Verdict(
            "failed", f"vault kv1: network default action {action}")
