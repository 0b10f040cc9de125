"""Keys held by a key-management service: who manages them (CEK-08), generation and origin
(CEK-10), rotation (CEK-12), destruction (CEK-14), activation, suspension and deactivation
(CEK-15..17). The checks judge typed managed-key facts, so every provider that fills them
gets these checks; the ``kms-`` check ids are kept, as the ledger knows findings by them."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.facts import (
    KeyManager,
    KeyOrigin,
    KeyState,
    KeyStoreState,
    ManagedKeyFacts,
    Rotation,
    managed,
    reported,
    required,
)
from pytest_cryptoaudit.model import KeyKind
from pytest_cryptoaudit.references import (
    AWS_FSBP_KMS,
    ISO27001_A824,
    SP800_56B,
    SP800_57,
    SP800_57_CRYPTOPERIODS,
    SP800_131A,
    ccm,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_cryptoaudit.clock import Clock
    from pytest_cryptoaudit.model import KeyRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

#: The ``cryptoperiod_days`` class of a key the service rotates, by its kind.
KEY_CLASS = {"secret-key": "symmetric", "private-key": "private"}
ORIGINS = {KeyOrigin.GENERATED: "generated in the key service",
           KeyOrigin.HSM: "generated in a dedicated HSM",
           KeyOrigin.IMPORTED: "imported key material (BYOK)",
           KeyOrigin.EXTERNAL: "held in an external key store (HYOK)"}
#: Who holds the key material of a BYOK or HYOK key: the shared-responsibility answer of
#: CEK-09 guideline 9, stated in the evidence of every such key.
CUSTODY = {KeyOrigin.IMPORTED: "the customer generates and keeps the original material and "
                               "its expiry; the service holds an imported copy (shared)",
           KeyOrigin.EXTERNAL: "the customer holds the key in its own key store and keeps it "
                               "reachable; the service only calls it (shared)",
           KeyOrigin.HSM: "the customer administers the dedicated HSM; the provider runs it"}


def _facts(key: KeyRecord) -> ManagedKeyFacts:
    """The managed-key facts of a key the check applies to (its predicates saw them)."""
    return required(key.uid, "managed", managed(key))


def _rotation(key: KeyRecord) -> Rotation:
    return required(key.uid, "managed.rotation", _facts(key).rotation)


def _managed(key: KeyRecord) -> bool:
    """A key held in a key-management service (its provider reports managed-key facts)."""
    return managed(key) is not None


def _customer(key: KeyRecord) -> bool:
    """A customer-managed key in a key-management service."""
    facts = managed(key)
    return facts is not None and facts.manager is KeyManager.CUSTOMER


def _rotatable(key: KeyRecord) -> bool:
    """Customer-managed keys the service can rotate, where the provider reports rotation."""
    return _customer(key) and _facts(key).can_rotate and reported(key, "managed.rotation")


def _rotating(key: KeyRecord) -> bool:
    """A customer-managed key that the service rotates automatically (as kms-rotation-enabled
    judges it: a truthy ``automatic``, so no key passes that check yet escapes this one)."""
    return _rotatable(key) and bool(getattr(_facts(key).rotation, "automatic", False))


def _imported(key: KeyRecord) -> bool:
    """A managed key whose material was imported (BYOK)."""
    return managed(key) is not None and _facts(key).origin is KeyOrigin.IMPORTED


def _in_key_store(key: KeyRecord) -> bool:
    """A managed key held in a custom or external key store."""
    return _managed(key) and _facts(key).key_store is not None


def _imported_material(key: KeyRecord) -> bool:
    """A customer-managed key whose imported material is present and whose expiry the
    provider reports."""
    return (_customer(key) and _imported(key)
            and _facts(key).state is not KeyState.PENDING_IMPORT
            and reported(key, "managed.material_expires"))


def _imported_wrapping(key: KeyRecord) -> bool:
    """A customer-managed key with imported material whose wrapping the service records."""
    return (_customer(key) and _imported(key)
            and _facts(key).state is not KeyState.PENDING_IMPORT
            and reported(key, "managed.import_wrapping"))


def _destroy_delay(key: KeyRecord) -> bool:
    """A customer-managed key whose configured destruction delay the provider reports."""
    return _customer(key) and reported(key, "managed.destroy_delay_days")


def _state(key: KeyRecord) -> str:
    """The service's own word for the state (what its operators recognise), else ours."""
    facts = _facts(key)
    return facts.native_state or facts.state.value


@pytest.mark.control(
    "CEK-12", check="kms-rotation-enabled",
    references=[AWS_FSBP_KMS, SP800_57_CRYPTOPERIODS, ISO27001_A824],
    remediation="Enable automatic rotation of the key, with a period within the cryptoperiod.",
    applies_to=_rotatable, requires=["managed.rotation"],
)
def test_kms_rotation_enabled(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """A customer-managed key the service can rotate rotates automatically where its tier
    requires it. (Keys the service cannot rotate are covered by the key-age check.)"""
    tier = crypto_key.risk_tier.value
    if not crypto_policy.for_tier("managed_key_rotation_required", tier):
        crypto_note(f"automatic rotation not required at tier {tier} by policy")
        return
    assert _rotation(crypto_key).automatic, (
        f"automatic rotation is disabled; tier {tier} requires it")


@pytest.mark.control(
    "CEK-12", check="kms-rotation-period",
    references=[SP800_57_CRYPTOPERIODS],
    remediation="Shorten the automatic rotation period to at most the symmetric cryptoperiod.",
    applies_to=_rotating, requires=["managed.rotation.period_days"],
)
def test_kms_rotation_period(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """The automatic rotation period is within the cryptoperiod of the tier for the key's
    class (symmetric; private for an asymmetric key the service rotates)."""
    rotation = _rotation(crypto_key)
    if rotation.period_source:
        crypto_note(f"rotation period of {rotation.period_days} days is the "
                    f"{rotation.period_source}")
    tier = crypto_key.risk_tier.value
    key_class = KEY_CLASS.get(crypto_key.kind, "symmetric")
    period = crypto_policy.for_tier("cryptoperiod_days", tier, key_class)
    assert rotation.period_days <= period, (
        f"rotates every {rotation.period_days} days; the {key_class} cryptoperiod for tier "
        f"{tier} is {period} days")


@pytest.mark.control(
    "CEK-14", check="kms-not-pending-deletion",
    references=[AWS_FSBP_KMS, SP800_57, ISO27001_A824],
    remediation="Cancel the deletion unless it was approved and no data still depends on the "
                "key; record the approval as a waiver.",
    applies_to=_managed, requires=["managed.state"],
    waivable="managed_key_pending_deletion_waivable",
)
def test_kms_not_pending_deletion(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """The key is not scheduled for deletion: deleting it destroys every ciphertext it
    protects. A waiver may accept an approved deletion only at the tiers policy allows."""
    facts = _facts(crypto_key)
    when_date = facts.deletion.scheduled_for if facts.deletion else None
    when = f"on {when_date:%Y-%m-%d}" if when_date else "(date not reported)"
    tier = crypto_key.risk_tier.value
    waivable = crypto_policy.for_tier("managed_key_pending_deletion_waivable", tier)
    assert facts.state is not KeyState.PENDING_DELETION, (
        f"{_state(crypto_key)}: the key will be deleted {when}; at tier {tier} "
        + ("a waiver may accept an approved deletion" if waivable else "no waiver applies"))


@pytest.mark.control(
    "CEK-15", check="kms-key-material-imported",
    references=[SP800_57],
    remediation="Import the key material (or re-import it if it expired), or schedule the "
                "unused key for deletion.",
    applies_to=_imported, requires=["managed.state"],
)
def test_kms_key_material_imported(crypto_key: KeyRecord) -> None:
    """A key for imported material has its material: it is not left pending import."""
    assert _facts(crypto_key).state is not KeyState.PENDING_IMPORT, (
        f"{_state(crypto_key)}: the key has no key material (never imported, or expired or "
        "deleted) and cannot be used")


@pytest.mark.control(
    "CEK-16", check="kms-key-enabled",
    references=[SP800_57],
    remediation="Re-enable the key if it is needed, or schedule it for deletion after review.",
    applies_to=_managed, requires=["managed.state"],
)
def test_kms_key_enabled(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """A disabled (suspended) key is reported; above the tiers where policy accepts it, it is
    a finding until it is re-enabled or retired."""
    if _facts(crypto_key).state is not KeyState.DISABLED:
        return
    tier = crypto_key.risk_tier.value
    allowed = crypto_policy.for_tier("managed_key_allow_disabled", tier)
    assert allowed, f"{_state(crypto_key)}: the key is suspended; tier {tier} requires a decision"
    crypto_note(f"{_state(crypto_key)} (suspended); accepted at tier {tier} by policy")


@pytest.mark.control(
    "CEK-17", check="kms-key-store-connected",
    references=[SP800_57],
    remediation="Reconnect the key store, or retire the keys it holds.",
    applies_to=_in_key_store,
    requires=["managed.state"], reads=["managed.key_store_state"],
)
def test_kms_key_store_connected(crypto_key: KeyRecord) -> None:
    """The dedicated or external key store holding the key is connected (where the provider
    reads the store's state), and the key is not unavailable: every key of a broken store is
    a finding of its own, never a silent outage."""
    facts = _facts(crypto_key)
    unread = crypto_key.unreadable.get("managed.key_store_state")
    if unread is not None:
        raise CryptoAuditError(f"cannot audit {crypto_key.uid}: managed.key_store_state "
                               f"(key store {facts.key_store}): {unread}")
    if facts.key_store_state is not None:
        assert facts.key_store_state is KeyStoreState.CONNECTED, (
            f"key store {facts.key_store} is {facts.key_store_state.value} "
            f"({facts.key_store_detail}): the key cannot be used until it is connected")
    assert facts.state is not KeyState.UNAVAILABLE, (
        f"{_state(crypto_key)}: key store {facts.key_store} is disconnected; the "
        "key cannot be used")


@pytest.mark.control(
    "CEK-10", check="kms-key-origin",
    references=[ccm("CEK-08"), SP800_57, ISO27001_A824],
    remediation="Replace the key with one generated in the key service or a dedicated HSM, or "
                "record the approval of imported/external material in policy "
                "(managed_key_allowed_origins).",
    applies_to=_customer, requires=["managed.origin"],
)
def test_kms_key_origin(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """The key material comes from an origin the tier allows (critical: generated in the
    service or a dedicated HSM)."""
    origin = _facts(crypto_key).origin
    tier = crypto_key.risk_tier.value
    allowed = crypto_policy.for_tier("managed_key_allowed_origins", tier)
    assert origin.value in allowed, (
        f"origin {origin.value} ({ORIGINS[origin]}) is not allowed at tier {tier} "
        f"(allowed: {', '.join(allowed)})")


@pytest.mark.control(
    "CEK-10", check="kms-imported-material-expiry",
    references=[ccm("CEK-10"), ccm("CEK-17"), SP800_57],
    remediation="Re-import the key material with an expiry date.",
    applies_to=_imported_material,
    requires=["managed.material_expires"],
)
def test_kms_imported_material_expiry(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
    crypto_clock: Clock,
) -> None:
    """Imported key material carries an expiry where the tier requires one, is not past it,
    and expires within the tier's cryptoperiod (where the service reports the date)."""
    tier = crypto_key.risk_tier.value
    if _facts(crypto_key).material_expires:
        _judge_material_expiry(crypto_key, crypto_policy, crypto_clock, crypto_note)
        return
    required = crypto_policy.for_tier("managed_key_imported_material_must_expire", tier)
    assert not required, f"imported key material never expires; tier {tier} requires it"
    crypto_note(f"imported key material never expires; accepted at tier {tier}")


def _judge_material_expiry(key: KeyRecord, policy: Policy, clock: Clock,
                           note: Callable[[str], None]) -> None:
    if key.expires is None:
        note("imported key material expires; the service does not report when")
        return
    tier = key.risk_tier.value
    kind = "symmetric" if key.kind is KeyKind.SECRET_KEY else "private"
    period = policy.for_tier("cryptoperiod_days", tier, kind)
    left = (key.expires - clock.now).days
    assert not clock.reached(key.expires), \
        f"imported key material expired on {key.expires:%Y-%m-%d}"
    # whole days left (rounded down) <= period: once less than period + 1 days remain
    assert clock.passed(key.expires - timedelta(days=period + 1)), (
        f"imported key material expires on {key.expires:%Y-%m-%d}, in {left} days; the "
        f"{kind} cryptoperiod for tier {tier} is {period} days")
    note(f"imported key material expires on {key.expires:%Y-%m-%d} ({left} days)")


@pytest.mark.control(
    "CEK-10", check="kms-import-wrapping",
    references=[ccm("CEK-10"), SP800_56B, SP800_131A],
    remediation="Re-import the key material through an import job whose method wraps with "
                "RSA-OAEP and a SHA-2 hash under a wrapping key of the tier's RSA size, or "
                "with HPKE and ML-KEM.",
    applies_to=_imported_wrapping,
    requires=["managed.import_wrapping"],
)
def test_kms_import_wrapping(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """Imported key material was wrapped with RSA-OAEP (a hash and a wrapping-key size the
    tier allows) or HPKE with a post-quantum KEM, where the service records how it was
    imported."""
    wrapping = required(crypto_key.uid, "managed.import_wrapping",
                        _facts(crypto_key).import_wrapping)
    tier = crypto_key.risk_tier.value
    method = f"imported under {wrapping.native}"
    if wrapping.scheme == "hpke":  # a post-quantum KEM (ML-KEM, X-Wing): stronger than RSA
        crypto_note(f"{method} (HPKE with a post-quantum KEM)")
        return
    assert wrapping.scheme == "rsa-oaep", (
        f"{method}: {wrapping.scheme} wrapping is not allowed for key transport "
        "(RSA-OAEP or HPKE only)")
    hashes = crypto_policy.for_tier("managed_key_import_wrapping_hashes", tier)
    assert wrapping.hash in hashes, (
        f"{method}: OAEP with {wrapping.hash or 'an unstated hash'} is not allowed at tier "
        f"{tier} (allowed: {', '.join(hashes)})")
    min_bits = crypto_policy.for_tier("min_rsa_bits", tier)
    assert wrapping.rsa_bits is not None, (
        f"{method}: the wrapping key's size is not recorded; tier {tier} requires at least "
        f"{min_bits} bits")
    assert wrapping.rsa_bits >= min_bits, (
        f"{method}: a {wrapping.rsa_bits}-bit wrapping key is below the {min_bits} bits tier "
        f"{tier} requires")
    crypto_note(method)


@pytest.mark.control(
    "CEK-08", check="kms-customer-managed",
    references=[ccm("CEK-10"), ISO27001_A824],
    remediation="Protect the data with a customer-managed key whose policy and rotation the "
                "customer controls.",
    applies_to=_managed, requires=["managed.manager"],
)
def test_kms_customer_managed(
    crypto_key: KeyRecord, crypto_policy: Policy, crypto_note: Callable[[str], None],
) -> None:
    """The customer manages the key (or policy accepts a service-managed key at the tier);
    BYOK, HYOK and dedicated-HSM keys are recorded in a note."""
    facts = _facts(crypto_key)
    if facts.origin is not KeyOrigin.GENERATED:
        store = f", key store {facts.key_store}" if facts.key_store else ""
        crypto_note(f"{ORIGINS[facts.origin]}{store}; custody: {CUSTODY[facts.origin]}")
    tier = crypto_key.risk_tier.value
    if facts.manager is not KeyManager.CUSTOMER:
        assert crypto_policy.for_tier("managed_key_allow_service_managed", tier), (
            f"{facts.manager.value}-managed key: the customer controls neither its policy nor "
            f"its rotation; tier {tier} requires customer-managed keys")


@pytest.mark.control(
    "CEK-10", check="kms-protection-level",
    references=[SP800_57, ISO27001_A824],
    remediation="Recreate the key at a protection level the tier allows (an HSM, say) and "
                "re-encrypt its data, or record the approval in policy "
                "(managed_key_allowed_protection).",
    applies_to=_customer, requires=["managed.protection"],
)
def test_kms_protection_level(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """The key material is protected at a level the tier allows (software, HSM, external)."""
    protection = _facts(crypto_key).protection
    tier = crypto_key.risk_tier.value
    allowed = crypto_policy.for_tier("managed_key_allowed_protection", tier)
    assert protection.value in allowed, (
        f"protection level {protection.value} is not allowed at tier {tier} "
        f"(allowed: {', '.join(allowed)})")


@pytest.mark.control(
    "CEK-14", check="kms-destroy-delay",
    references=[SP800_57, ISO27001_A824],
    remediation="Recreate the key with a longer scheduled-destruction delay (the delay is "
                "fixed when the key is created) and move its data to it.",
    applies_to=_destroy_delay, requires=["managed.destroy_delay_days"],
)
def test_kms_destroy_delay(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """Key material is destroyed only after a delay long enough to notice and cancel a
    mistaken or malicious destruction."""
    delay = required(crypto_key.uid, "managed.destroy_delay_days",
                     _facts(crypto_key).destroy_delay_days)
    tier = crypto_key.risk_tier.value
    minimum = crypto_policy.for_tier("managed_key_min_destroy_delay_days", tier)
    assert delay >= minimum, (
        f"key material is destroyed {delay} day(s) after a destroy request; tier {tier} "
        f"requires at least {minimum} days to notice and cancel it")
