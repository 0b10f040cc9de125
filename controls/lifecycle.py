"""Key lifecycle: CEK-12 rotation and cryptoperiods, CEK-15 activation, CEK-17 deactivation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pytest_cryptoaudit.facts import required
from pytest_cryptoaudit.references import CAB_BR, ISO27001_A824, SP800_57_CRYPTOPERIODS

if TYPE_CHECKING:
    from pytest_cryptoaudit.clock import Clock
    from pytest_cryptoaudit.model import KeyRecord
    from pytest_cryptoaudit.policy import Policy

pytestmark = pytest.mark.ssrm("CSC")

KEY_CLASS = {"secret-key": "symmetric", "private-key": "private"}


def _is_leaf(key: KeyRecord) -> bool:
    return key.kind == "certificate" and key.certificate is not None and not key.certificate.is_ca


@pytest.mark.control(
    "CEK-12",
    check="certificate-lifetime",
    references=[SP800_57_CRYPTOPERIODS, CAB_BR],
    remediation="Issue certificates with a validity no longer than the policy's maximum.",
    applies_to=_is_leaf,
    requires=["certificate"],
)
def test_certificate_lifetime(crypto_key: KeyRecord, crypto_policy: Policy) -> None:
    """A leaf certificate's validity is within the policy's maximum for its tier."""
    maximum = crypto_policy.for_tier("max_certificate_lifetime_days", crypto_key.risk_tier)
    lifetime = required(crypto_key.uid, "certificate", crypto_key.certificate).lifetime_days
    assert lifetime <= maximum, (
        f"certificate valid for {lifetime:.0f} days; tier {crypto_key.risk_tier.value} "
        f"allows at most {maximum}"
    )


@pytest.mark.control(
    "CEK-12",
    check="key-age",
    references=[SP800_57_CRYPTOPERIODS, ISO27001_A824],
    remediation="Rotate the key: its age exceeds the cryptoperiod for its class and tier.",
    applies_to=lambda key: key.kind in KEY_CLASS,
    requires=["created"], reads=["rotated"],
)
def test_key_age(crypto_key: KeyRecord, crypto_policy: Policy, crypto_clock: Clock) -> None:
    """The key (or its latest rotation) is younger than its cryptoperiod."""
    key_class = KEY_CLASS[crypto_key.kind.value]
    period = crypto_policy.for_tier("cryptoperiod_days", crypto_key.risk_tier, key_class)
    since = crypto_key.rotated or required(crypto_key.uid, "created", crypto_key.created)
    assert not crypto_clock.passed(since + timedelta(days=period)), (
        f"{key_class} key last (re)keyed {_days_since(since, crypto_clock):.0f} days ago "
        f"({since:%Y-%m-%d}); cryptoperiod for tier {crypto_key.risk_tier.value} is "
        f"{period} days"
    )


def _days_since(since: datetime, clock: Clock) -> float:
    return (clock.now - since).total_seconds() / 86400


@pytest.mark.control(
    "CEK-12",
    check="expiry-window",
    references=[SP800_57_CRYPTOPERIODS],
    remediation="Renew or rotate before expiry to avoid an outage or an emergency rekey.",
    applies_to=lambda key: key.kind == "certificate" or key.expires is not None,
    requires=["expires"],
)
def test_expiry_window(crypto_key: KeyRecord, crypto_policy: Policy, crypto_clock: Clock) -> None:
    """The key or certificate does not expire within the tier's warning window."""
    expires = required(crypto_key.uid, "expires", crypto_key.expires)
    if crypto_clock.reached(expires):
        pytest.skip("already expired: reported by CEK-17 not-expired")
    window = crypto_policy.for_tier("expiry_warning_days", crypto_key.risk_tier)
    remaining = expires - crypto_clock.now
    assert not crypto_clock.reached(expires - timedelta(days=window)), (
        f"expires {crypto_key.expires:%Y-%m-%d} (in {remaining.days} days), inside the "
        f"{window}-day window for tier {crypto_key.risk_tier.value}"
    )


@pytest.mark.control(
    "CEK-17",
    check="not-expired",
    references=["RFC 5280 4.1.2.5", ISO27001_A824],
    remediation="Replace the expired certificate and remove it from service.",
    applies_to={"kind": "certificate"},
    requires=["expires"],
)
def test_not_expired(crypto_key: KeyRecord, crypto_clock: Clock) -> None:
    """The certificate has not expired (an expired one still deployed is not deactivated)."""
    assert not crypto_clock.reached(required(crypto_key.uid, "expires", crypto_key.expires)), (
        f"expired on {crypto_key.expires:%Y-%m-%d %H:%M} UTC"
    )


@pytest.mark.control(
    "CEK-15",
    check="already-valid",
    references=["RFC 5280 4.1.2.5"],
    remediation="Do not deploy a certificate before its notBefore date; check the issuing clock.",
    applies_to={"kind": "certificate"},
    requires=["certificate"],
)
def test_already_valid(crypto_key: KeyRecord, crypto_clock: Clock) -> None:
    """The certificate's validity has begun (deployed before activation otherwise)."""
    not_before = required(crypto_key.uid, "certificate", crypto_key.certificate).not_before
    assert crypto_clock.reached(not_before), f"not valid before {not_before:%Y-%m-%d %H:%M} UTC"
