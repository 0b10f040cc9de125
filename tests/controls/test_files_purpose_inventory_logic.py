"""The key-file, key-purpose and inventory controls on planted records, one control at a
time (``storage.py``, ``purpose.py``, ``inventory.py``): every pass and failure, the
policy's per-tier switches and the errors of unreadable facts. The selection
``scripts/mutation.py`` runs against those modules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import controls.inventory as inventory
import controls.purpose as purpose
import controls.storage as storage
from pytest_cryptoaudit.model import CertificateInfo, DiscoveryError

from .judge import NOW, Verdict, controls_of, judge, key, policy, spec_of


def key_file(mode: str = "600", encrypted: bool = True, tier: str = "high",
             **fields: Any) -> Any:
    attributes = {"path": "/keys/app.pem", "file_mode": mode, "encrypted": encrypted,
                  "file_owner": "app"}
    return key("files:app.pem", provider="files", kind="private-key", tier=tier,
               attributes=attributes, **fields)


def certificate(is_ca: bool = False, usage: tuple[str, ...] = ("digital_signature",),
                eku: tuple[str, ...] = (), tier: str = "high", **attributes: Any) -> Any:
    info = CertificateInfo(subject="CN=a", issuer="CN=ca", serial="1", not_before=NOW,
                           not_after=NOW + timedelta(days=90),
                           signature_algorithm="sha256WithRSAEncryption",
                           signature_hash="sha256", is_ca=is_ca, self_signed=False,
                           key_usage=usage, extended_key_usage=eku)
    return key("files:cert.pem", provider="files", kind="certificate", tier=tier,
               certificate=info, attributes=attributes)


def test_the_packs_declare_their_checks() -> None:
    assert [spec_of(c).check for c in controls_of(storage)] == [
        "private-key-encrypted", "private-key-permissions"]
    assert [spec_of(c).check for c in controls_of(purpose)] == ["single-purpose", "ca-not-leaf"]
    assert [spec_of(c).check for c in controls_of(inventory)] == [
        "discovery-complete", "classified", "has-owner"]


# -- storage ----------------------------------------------------------------------------------

@pytest.mark.parametrize("control", controls_of(storage))
def test_storage_applies_to_private_key_files_only(control: Any) -> None:
    spec = spec_of(control)
    assert spec.applies_to(key_file())
    assert not spec.applies_to(key("k", provider="vault", kind="private-key",
                                   attributes={"file_mode": "600", "encrypted": True}))
    assert not spec.applies_to(key("k", provider="files", kind="public-key"))


def test_encrypted_key_file_passes() -> None:
    assert judge(storage.test_private_key_encrypted, key_file()) == Verdict("passed")


def test_unencrypted_key_file_fails_at_tier_high() -> None:
    verdict = judge(storage.test_private_key_encrypted, key_file(encrypted=False))
    assert verdict == Verdict("failed", "private key stored unencrypted in /keys/app.pem; tier "
                                        "high requires encryption at rest")


def test_unencrypted_key_file_is_noted_where_allowed() -> None:
    verdict = judge(storage.test_private_key_encrypted, key_file(encrypted=False,
                                                                 tier="medium"))
    assert verdict == Verdict("passed", notes=(
        "stored unencrypted (allowed by policy at tier medium)",))


def test_encryption_unreadable_is_an_error() -> None:
    record = key("files:x", provider="files", kind="private-key",
                 unreadable={"encrypted": "not a PEM file"})
    verdict = judge(storage.test_private_key_encrypted, record)
    assert verdict == Verdict("error", "encrypted: not a PEM file")


@pytest.mark.parametrize(("mode", "group_readable", "outcome", "who"), [
    ("600", False, "passed", ""), ("400", False, "passed", ""),
    ("640", False, "failed", "its group"), ("604", False, "failed", "others"),
    ("601", False, "failed", "others"), ("610", False, "failed", "its group"),
    ("640", True, "passed", ""), ("620", True, "failed", "its group"),
    ("650", True, "failed", "its group"), ("644", True, "failed", "others"),
    ("601", True, "failed", "others"),
])
def test_key_file_permissions(mode: str, group_readable: bool, outcome: str, who: str) -> None:
    verdict = judge(storage.test_private_key_permissions, key_file(mode), crypto_policy=policy(
        allow_private_key_group_readable={"high": group_readable}))
    assert verdict.outcome == outcome
    if who:
        assert verdict.message == f"mode {mode} lets {who} access /keys/app.pem (owner app)"


# -- purpose ----------------------------------------------------------------------------------

def test_single_purpose_applies_to_leaf_certificates() -> None:
    spec = spec_of(purpose.test_single_purpose)
    assert spec.applies_to(certificate())
    assert not spec.applies_to(certificate(is_ca=True))
    assert not spec.applies_to(key("k", kind="private-key"))
    assert not spec.applies_to(key("k", kind="certificate"))
    assert not spec.applies_to(key("k", kind="secret-key", certificate=certificate()
                                   .certificate))
    ca_spec = spec_of(purpose.test_ca_not_leaf)
    assert ca_spec.applies_to(certificate(is_ca=True))
    assert not ca_spec.applies_to(certificate())
    assert not ca_spec.applies_to(key("k", kind="certificate"))
    assert not ca_spec.applies_to(key("k", kind="private-key", certificate=certificate(
        is_ca=True).certificate))


@pytest.mark.parametrize(("usage", "outcome"), [
    (("digital_signature",), "passed"), (("key_encipherment",), "passed"),
    (("digital_signature", "key_cert_sign"), "passed"),
    (("digital_signature", "key_encipherment"), "failed"),
    (("content_commitment", "data_encipherment"), "failed"), ((), "passed"),
])
def test_single_purpose_key_usage(usage: tuple[str, ...], outcome: str) -> None:
    verdict = judge(purpose.test_single_purpose, certificate(usage=usage))
    assert verdict.outcome == outcome
    if outcome == "failed":
        assert verdict.message == ("key usage mixes signing and encipherment: "
                                   f"{', '.join(sorted(usage))}")


def test_mixed_usage_allowed_at_tier_low() -> None:
    mixed = certificate(usage=("digital_signature", "key_encipherment"), tier="low")
    assert judge(purpose.test_single_purpose, mixed) == Verdict("passed")


@pytest.mark.parametrize(("eku", "position", "outcome"), [
    ((), None, "passed"), (("OCSPSigning",), 1, "passed"),
    (("serverAuth", "clientAuth"), None, "failed"), (("codeSigning",), 1, "failed"),
    ((), 0, "failed"),
])
def test_ca_not_leaf(eku: tuple[str, ...], position: int | None, outcome: str) -> None:
    attributes = {} if position is None else {"chain_position": position}
    verdict = judge(purpose.test_ca_not_leaf, certificate(is_ca=True, eku=eku, **attributes))
    assert verdict.outcome == outcome
    if eku and outcome == "failed":
        assert verdict.message == ("CA certificate carries end-entity uses: "
                                   f"{', '.join(sorted(eku))}")
    elif outcome == "failed":
        assert verdict.message == "CA certificate presented as the leaf of a chain"


# -- inventory --------------------------------------------------------------------------------

def test_discovery_error_is_never_a_pass() -> None:
    error = DiscoveryError("app", "memory", "denied", key_uid="k1")
    verdict = judge(inventory.test_discovery_complete, error)
    assert verdict == Verdict("error", "Failed: discovery error not raised for k1")


def test_classified_key_passes() -> None:
    assert judge(inventory.test_classified, key()) == Verdict("passed")


@pytest.mark.parametrize("field", ["risk_tier", "ssrm_owner"])
def test_unreadable_classification_fails(field: str) -> None:
    record = key(unreadable={field: f"tag {field} has an invalid value"})
    verdict = judge(inventory.test_classified, record)
    assert verdict == Verdict("failed", f"tag {field} has an invalid value")


def test_both_classifications_unreadable_are_both_named() -> None:
    record = key(unreadable={"risk_tier": "bad tier", "ssrm_owner": "bad owner"})
    assert judge(inventory.test_classified, record).message == "bad tier; bad owner"


def test_invalid_owner_fails() -> None:
    record = key()
    object.__setattr__(record, "owner", "nobody")
    assert judge(inventory.test_classified, record) == Verdict(
        "failed", "'nobody' is not an SSRM owner")


def test_has_owner() -> None:
    assert judge(inventory.test_has_owner, key(accountable_owner="team")) == Verdict("passed")
    assert judge(inventory.test_has_owner, key()) == Verdict(
        "failed", "nobody answers for this key: no owner tag, and system 'app' sets no "
                  "accountable_owner")
