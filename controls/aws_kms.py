"""AWS KMS key lifecycle: rotation (CEK-12), destruction (CEK-14), activation, suspension
and deactivation (CEK-15..17), generation and origin (CEK-10), key spec (CEK-04) and
usage (CEK-11). Access, ownership and CloudTrail are in ``aws_kms_access.py``."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.providers.aws_kms.keyspec import (
    NO_ROTATION_STATES,
    PENDING_DELETION,
    family,
)
from pytest_cryptoaudit.references import (
    AWS_FSBP_KMS,
    ISO27001_A824,
    SP800_57,
    SP800_57_CRYPTOPERIODS,
    SP800_131A,
    ccm,
)

ORIGINS = {"AWS_KMS": "generated in AWS KMS", "AWS_CLOUDHSM": "generated in AWS CloudHSM",
           "EXTERNAL": "imported key material (BYOK)",
           "EXTERNAL_KEY_STORE": "held in an external key store (HYOK)"}


def _kms(key) -> bool:
    return key.provider == "aws-kms"


def _customer(key) -> bool:
    return _kms(key) and key.attributes.get("key_manager") == "CUSTOMER"


def _rotatable(key) -> bool:
    """Customer-managed symmetric keys generated in KMS, in a state that can rotate."""
    attributes = key.attributes
    # A key whose spec was not reported may be symmetric: the check stays and errors.
    symmetric = (attributes.get("key_spec") == "SYMMETRIC_DEFAULT"
                 or "rotation_enabled" in key.unreadable)
    return (_customer(key) and symmetric
            and attributes.get("aws_origin") == "AWS_KMS"
            and attributes.get("key_state") not in NO_ROTATION_STATES)


def _state(key) -> str:
    return key.attributes["key_state"]


@pytest.mark.control(
    "CEK-12", "Key rotation", check="kms-rotation-enabled",
    references=[ccm("CEK-12"), AWS_FSBP_KMS, SP800_57_CRYPTOPERIODS, ISO27001_A824],
    remediation="aws kms enable-key-rotation --key-id KEY --rotation-period-in-days DAYS",
    applies_to=_rotatable, requires=["rotation_enabled"],
)
@pytest.mark.ssrm("CSC")
def test_kms_rotation_enabled(crypto_key, crypto_policy, crypto_note):
    """A customer-managed symmetric key rotates automatically where its tier requires it.
    (Asymmetric and HMAC keys cannot rotate: the key-age check covers them.)"""
    tier = crypto_key.risk_tier.value
    if not crypto_policy.for_tier("aws_kms_rotation_required", tier):
        crypto_note(f"automatic rotation not required at tier {tier} by policy")
        return
    assert crypto_key.rotation_enabled, f"automatic rotation is disabled; tier {tier} requires it"


@pytest.mark.control(
    "CEK-12", "Key rotation", check="kms-rotation-period",
    references=[ccm("CEK-12"), SP800_57_CRYPTOPERIODS],
    remediation="Shorten the rotation period: aws kms enable-key-rotation --key-id KEY "
                "--rotation-period-in-days DAYS (90 to 2560).",
    applies_to=lambda key: _rotatable(key) and key.rotation_enabled is True,
    requires=["rotation_period_days"],
)
@pytest.mark.ssrm("CSC")
def test_kms_rotation_period(crypto_key, crypto_policy, crypto_note):
    """The automatic rotation period is within the symmetric cryptoperiod of the tier."""
    days = crypto_key.rotation_period_days
    source = crypto_key.attributes.get("rotation_period_source")
    if source:
        crypto_note(f"rotation period of {days} days is the {source}")
    tier = crypto_key.risk_tier.value
    period = crypto_policy.for_tier("cryptoperiod_days", tier, "symmetric")
    assert days <= period, (
        f"rotates every {days} days; the symmetric cryptoperiod for tier {tier} is {period} days"
    )


@pytest.mark.control(
    "CEK-14", "Key destruction", check="kms-not-pending-deletion",
    references=[ccm("CEK-14"), AWS_FSBP_KMS, SP800_57, ISO27001_A824],
    remediation="Cancel the deletion (aws kms cancel-key-deletion) unless it was approved and "
                "no data still depends on the key; record the approval as a waiver.",
    applies_to=_kms, requires=["key_state"], waivable="aws_kms_pending_deletion_waivable",
)
@pytest.mark.ssrm("CSC")
def test_kms_not_pending_deletion(crypto_key, crypto_policy):
    """The key is not scheduled for deletion: deleting it destroys every ciphertext it
    protects. A waiver may accept an approved deletion only at the tiers policy allows."""
    deletion = crypto_key.attributes.get("deletion_date")
    when = f"on {deletion[:10]}" if deletion else "(date not reported)"
    tier = crypto_key.risk_tier.value
    waivable = crypto_policy.for_tier("aws_kms_pending_deletion_waivable", tier)
    assert _state(crypto_key) not in PENDING_DELETION, (
        f"{_state(crypto_key)}: the key will be deleted {when}; at tier {tier} "
        + ("a waiver may accept an approved deletion" if waivable else "no waiver applies")
    )


@pytest.mark.control(
    "CEK-15", "Key activation", check="kms-key-material-imported",
    references=[ccm("CEK-15"), SP800_57],
    remediation="Import the key material (or re-import it if it expired), or schedule the "
                "unused key for deletion.",
    applies_to=lambda key: _kms(key) and key.attributes.get("aws_origin") == "EXTERNAL",
    requires=["key_state"],
)
@pytest.mark.ssrm("CSC")
def test_kms_key_material_imported(crypto_key):
    """A key for imported material has its material: it is not left PendingImport."""
    assert _state(crypto_key) != "PendingImport", (
        "PendingImport: the key has no key material (never imported, or expired or deleted) "
        "and cannot be used"
    )


@pytest.mark.control(
    "CEK-16", "Key suspension", check="kms-key-enabled",
    references=[ccm("CEK-16"), SP800_57],
    remediation="Re-enable the key if it is needed, or schedule it for deletion after review.",
    applies_to=_kms, requires=["key_state"],
)
@pytest.mark.ssrm("CSC")
def test_kms_key_enabled(crypto_key, crypto_policy, crypto_note):
    """A disabled (suspended) key is reported; above the tiers where policy accepts it, it is
    a finding until it is re-enabled or retired."""
    if _state(crypto_key) != "Disabled":
        return
    tier = crypto_key.risk_tier.value
    allowed = crypto_policy.for_tier("aws_kms_allow_disabled_keys", tier)
    assert allowed, f"Disabled: the key is suspended; tier {tier} requires a decision"
    crypto_note(f"Disabled (suspended); accepted at tier {tier} by policy")


@pytest.mark.control(
    "CEK-17", "Key deactivation", check="kms-key-store-connected",
    references=[ccm("CEK-17"), SP800_57],
    remediation="Reconnect the custom key store, or retire the keys it holds.",
    applies_to=lambda key: _kms(key) and key.attributes.get("key_store") != "AWS_KMS",
    requires=["key_state"],
)
@pytest.mark.ssrm("CSC")
def test_kms_key_store_connected(crypto_key):
    """A key in a custom key store (CloudHSM or external) is not Unavailable."""
    store = crypto_key.attributes.get("custom_key_store_id", "(id not reported)")
    assert _state(crypto_key) != "Unavailable", (
        f"Unavailable: custom key store {store} is disconnected; the key cannot be used"
    )


@pytest.mark.control(
    "CEK-10", "Key generation", check="kms-key-origin",
    references=[ccm("CEK-10"), ccm("CEK-08"), SP800_57, ISO27001_A824],
    remediation="Replace the key with one generated in AWS KMS or CloudHSM, or record the "
                "approval of imported/external material in policy (aws_kms_allowed_origins).",
    applies_to=_customer, requires=["aws_origin"],
)
@pytest.mark.ssrm("CSC")
def test_kms_key_origin(crypto_key, crypto_policy):
    """The key material comes from an origin the tier allows (critical: KMS or CloudHSM)."""
    origin = crypto_key.attributes["aws_origin"]
    tier = crypto_key.risk_tier.value
    allowed = crypto_policy.for_tier("aws_kms_allowed_origins", tier)
    assert origin in allowed, (
        f"origin {origin} ({ORIGINS.get(origin, 'unknown')}) is not allowed at tier {tier} "
        f"(allowed: {', '.join(allowed)})"
    )


@pytest.mark.control(
    "CEK-10", "Key generation", check="kms-imported-material-expiry",
    references=[ccm("CEK-10"), ccm("CEK-17"), SP800_57],
    remediation="Re-import the key material with an expiration (--expiration-model "
                "KEY_MATERIAL_EXPIRES --valid-to DATE).",
    applies_to=lambda key: (_customer(key) and key.attributes.get("aws_origin") == "EXTERNAL"
                            and key.attributes.get("key_state") != "PendingImport"),
    requires=["expiration_model"],
)
@pytest.mark.ssrm("CSC")
def test_kms_imported_material_expiry(crypto_key, crypto_policy, crypto_note):
    """Imported key material carries an expiry where the tier requires one."""
    model = crypto_key.attributes["expiration_model"]
    tier = crypto_key.risk_tier.value
    if model == "KEY_MATERIAL_EXPIRES":
        return
    required = crypto_policy.for_tier("aws_kms_imported_material_must_expire", tier)
    assert not required, f"imported key material never expires ({model}); tier {tier} requires it"
    crypto_note(f"imported key material never expires ({model}); accepted at tier {tier}")


@pytest.mark.control(
    "CEK-04", "Encryption algorithm", check="kms-key-spec",
    references=[ccm("CEK-04"), SP800_131A, "NIST SP 800-186", ISO27001_A824],
    remediation="Create a key of an approved spec and migrate to it; disable the old key.",
    applies_to=_kms, requires=["key_spec"],
)
@pytest.mark.ssrm("CSC")
def test_kms_key_spec(crypto_key, crypto_policy):
    """The key spec is not one the policy disallows at the key's tier."""
    spec = crypto_key.attributes["key_spec"]
    tier = crypto_key.risk_tier.value
    assert spec not in crypto_policy.for_tier("aws_kms_disallowed_key_specs", tier), (
        f"key spec {spec} is not allowed at tier {tier}"
    )


@pytest.mark.control(
    "CEK-11", "Key purpose", check="kms-key-usage",
    references=[ccm("CEK-11"), "NIST SP 800-57 Part 1 Rev 5, 5.2", ISO27001_A824],
    remediation="Use a separate key for each purpose, of a usage the policy allows for its "
                "key family.",
    applies_to=_kms, requires=["key_spec", "usage"],
)
@pytest.mark.ssrm("CSC")
def test_kms_key_usage(crypto_key, crypto_policy):
    """The key has one usage, and one that the policy allows for its key family."""
    spec = crypto_key.attributes["key_spec"]
    allowed = crypto_policy["aws_kms_allowed_key_usages"][family(spec)]
    assert len(crypto_key.usage) == 1, f"key has {len(crypto_key.usage)} usages"
    assert crypto_key.usage[0] in allowed, (
        f"{spec} key used for {crypto_key.usage[0]}; policy allows {', '.join(allowed)} "
        f"for {family(spec)} keys"
    )
