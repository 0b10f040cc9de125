"""The lifecycle controls (controls/lifecycle.py) on planted records, no service needed.

Records sit on each side of every threshold of the default policy: the key age against the
cryptoperiod of its class and tier, a certificate's lifetime against the tier's maximum, the
expiry warning window, expiry itself and the start of validity. This is also the selection
``scripts/mutation.py`` runs against ``controls/lifecycle.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import controls.lifecycle as lifecycle
from pytest_cryptoaudit.clock import Clock
from pytest_cryptoaudit.model import CertificateInfo, KeyRecord
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS, Policy
from pytest_cryptoaudit.testing import AuditRun, key_record
from tests.shared import shared_audit

CHECKS = {"certificate-lifetime", "key-age", "expiry-window", "not-expired", "already-valid"}
#: When the records are made; the audit starts seconds later. Offsets of half a day keep
#: every comparison clear of those seconds.
NOW = datetime.now(UTC)
HALF = timedelta(hours=12)


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def cert(not_before: datetime, not_after: datetime, *, is_ca: bool = False) -> dict[str, Any]:
    info = CertificateInfo(subject="CN=app", issuer="CN=ca", serial="01", not_before=not_before,
                           not_after=not_after, signature_algorithm="sha256WithRSAEncryption",
                           signature_hash="sha256", is_ca=is_ca, self_signed=False)
    return {"kind": "certificate", "algorithm": "RSA", "size": 3072, "certificate": info,
            "expires": not_after, "created": not_before}


RSA = {"kind": "private-key", "algorithm": "RSA", "size": 3072}
#: uid -> (tier, key fields, the checks it must fail). Defaults: symmetric cryptoperiod 365
#: days at high and 730 at low, private 730 at high; certificates at most 398 days at high;
#: a warning window of 30 days at high.
PLANTED: dict[str, tuple[str, dict[str, Any], set[str]]] = {
    "aes-young": ("high", {"created": ago(365) + HALF}, set()),
    "aes-old": ("high", {"created": ago(365) - HALF}, {"key-age"}),
    # hours short of the cryptoperiod when the audit starts (a day is 86400 seconds), with
    # room for a loaded machine to start the audit minutes after this module was imported
    "aes-at-period": ("high", {"created": ago(365) + timedelta(hours=2)}, set()),
    "aes-low": ("low", {"created": ago(730) + HALF}, set()),
    "aes-low-old": ("low", {"created": ago(730) - HALF}, {"key-age"}),
    # the latest rotation counts, not the creation
    "aes-rotated": ("high", {"created": ago(1000), "rotated": ago(10)}, set()),
    "rsa-young": ("high", {**RSA, "created": ago(730) + HALF}, set()),
    "rsa-old": ("high", {**RSA, "created": ago(730) - HALF}, {"key-age"}),
    "cert-398": ("high", cert(ago(100), ago(100) + timedelta(days=398)), set()),
    "cert-399": ("high", cert(ago(100), ago(100) + timedelta(days=399)),
                 {"certificate-lifetime"}),
    "cert-low-825": ("low", cert(ago(100), ago(100) + timedelta(days=825)), set()),
    # a CA certificate is not a leaf: its lifetime is not judged
    "ca-long": ("high", cert(ago(100), ago(100) + timedelta(days=3650), is_ca=True), set()),
    "cert-expiring": ("high", cert(ago(300), NOW + timedelta(days=30) - HALF),
                      {"expiry-window"}),
    "cert-outside-window": ("high", cert(ago(300), NOW + timedelta(days=30) + HALF), set()),
    "cert-expired": ("high", cert(ago(300), NOW - HALF), {"not-expired"}),
    "cert-not-yet": ("high", cert(NOW + HALF, NOW + timedelta(days=200)), {"already-valid"}),
    # a private key that carries its certificate is no certificate: no lifetime check
    "rsa-with-cert": ("high", {**RSA, "created": ago(10), "certificate": cert(
        ago(100), ago(100) + timedelta(days=500))["certificate"]}, set()),
    "aes-expiring": ("high", {"created": ago(10), "expires": NOW + timedelta(days=5)},
                     {"expiry-window"}),
}
#: Checks that must not run on a record.
NOT_APPLICABLE = {
    "ca-long": {"certificate-lifetime"},
    "aes-young": {"certificate-lifetime", "expiry-window", "not-expired", "already-valid"},
    "cert-398": {"key-age"},
    "rsa-with-cert": {"certificate-lifetime", "not-expired", "already-valid"},
}
#: Checks that must skip (the other check reports it).
SKIPPED = {"cert-expired": {"expiry-window"}}


def uid(name: str) -> str:
    return f"memory:{name}"


def records() -> list[Any]:
    return [key_record(uid(name), system=tier, risk_tier=tier, **fields)
            for name, (tier, fields, _fails) in PLANTED.items()]


@pytest.fixture(scope="session")
def audited(tmp_path_factory: pytest.TempPathFactory) -> AuditRun:
    """One audit of every planted record, once per run (the xdist workers share it)."""
    return shared_audit(tmp_path_factory, "lifecycle-controls", "--cryptoaudit-no-ledger",
                        records=records)[1]


def outcomes(run: AuditRun, name: str) -> dict[str, str]:
    return {check: outcome for (check, key), outcome in run.outcomes.items()
            if check in CHECKS and key == uid(name)}


def test_each_planted_record_fails_exactly_its_checks(audited: AuditRun) -> None:
    for name, (_tier, _fields, fails) in PLANTED.items():
        found = outcomes(audited, name)
        assert {c for c, o in found.items() if o == "failed"} == fails, (name, found)
        skipped = SKIPPED.get(name, set())
        assert {c for c, o in found.items() if o == "skipped"} == skipped, (name, found)
        assert set(found.values()) <= {"passed", "failed", "skipped"}, (name, found)
        assert not NOT_APPLICABLE.get(name, set()) & set(found), (name, found)
    assert outcomes(audited, "cert-398").keys() == CHECKS - {"key-age"}


def test_findings_name_the_threshold(audited: AuditRun) -> None:
    def message(check: str, name: str) -> str:
        return audited.message(check, uid(name))

    assert message("key-age", "aes-old") == (
        f"symmetric key last (re)keyed 366 days ago ({ago(365) - HALF:%Y-%m-%d}); "
        "cryptoperiod for tier high is 365 days")
    assert message("key-age", "rsa-old") == (
        f"private key last (re)keyed 731 days ago ({ago(730) - HALF:%Y-%m-%d}); "
        "cryptoperiod for tier high is 730 days")
    assert message("certificate-lifetime", "cert-399") == (
        "certificate valid for 399 days; tier high allows at most 398")
    expiring = NOW + timedelta(days=30) - HALF
    assert message("expiry-window", "cert-expiring") == (
        f"expires {expiring:%Y-%m-%d} (in 29 days), inside the 30-day window for tier high")
    assert message("not-expired", "cert-expired") == (
        f"expired on {NOW - HALF:%Y-%m-%d %H:%M} UTC")
    assert message("already-valid", "cert-not-yet") == (
        f"not valid before {NOW + HALF:%Y-%m-%d %H:%M} UTC")


# The audit's clock cannot be planted, so the comparisons with the audit's start instant are
# judged here by calling the checks at a fixed instant: the equal case is the boundary.
AT = datetime(2030, 6, 1, 12, tzinfo=UTC)
POLICY = Policy(BUILTIN_SETTINGS, {})


def at(expires: datetime, not_before: datetime | None = None) -> KeyRecord:
    fields = cert(not_before or AT - timedelta(days=100), expires)
    return key_record("memory:at", system="high", risk_tier="high", **fields)


def test_a_certificate_expiring_at_the_audit_instant_has_expired() -> None:
    with pytest.raises(AssertionError, match="expired on 2030-06-01 12:00 UTC"):
        lifecycle.test_not_expired(at(AT), Clock(AT))
    lifecycle.test_not_expired(at(AT + timedelta(microseconds=1)), Clock(AT))
    with pytest.raises(pytest.skip.Exception, match="already expired"):
        lifecycle.test_expiry_window(at(AT), POLICY, Clock(AT))


def test_the_warning_window_includes_its_last_day() -> None:
    with pytest.raises(AssertionError, match="inside the 30-day window for tier high"):
        lifecycle.test_expiry_window(at(AT + timedelta(days=30)), POLICY, Clock(AT))
    lifecycle.test_expiry_window(at(AT + timedelta(days=30, microseconds=1)), POLICY, Clock(AT))


def test_a_certificate_is_valid_from_its_not_before_instant() -> None:
    lifecycle.test_already_valid(at(AT + timedelta(days=90), not_before=AT), Clock(AT))
    with pytest.raises(AssertionError, match="not valid before 2030-06-01 12:00 UTC"):
        lifecycle.test_already_valid(
            at(AT + timedelta(days=90), not_before=AT + timedelta(microseconds=1)), Clock(AT))


def test_each_clock_threshold_ahead_bounds_how_long_the_result_holds() -> None:
    """A threshold still ahead is when the outcome could change; one already behind is not."""
    clock = Clock(AT)
    lifecycle.test_not_expired(at(AT + timedelta(days=200)), clock)
    assert clock.valid_until == AT + timedelta(days=200)
    clock = Clock(AT)
    lifecycle.test_expiry_window(at(AT + timedelta(days=200)), POLICY, clock)
    assert clock.valid_until == AT + timedelta(days=170)  # the 30-day window opens
    clock = Clock(AT)
    lifecycle.test_already_valid(at(AT + timedelta(days=90), not_before=AT - HALF), clock)
    assert clock.valid_until is None  # begun, and time only moves forward
    clock = Clock(AT)
    with pytest.raises(AssertionError, match="not valid before"):
        lifecycle.test_already_valid(at(AT + timedelta(days=90), not_before=AT + HALF), clock)
    assert clock.valid_until == AT + HALF  # the finding lasts until notBefore arrives


def test_key_age_holds_until_the_cryptoperiod_runs_out() -> None:
    created = AT - timedelta(days=100)
    key = key_record("memory:aes", system="high", risk_tier="high", kind="secret-key",
                     algorithm="AES", size=256, created=created)
    period = POLICY.for_tier("cryptoperiod_days", key.risk_tier, "symmetric")
    clock = Clock(AT)
    lifecycle.test_key_age(key, POLICY, clock)
    assert clock.valid_until == created + timedelta(days=period)
    with pytest.raises(AssertionError, match=f"cryptoperiod for tier high is {period} days"):
        lifecycle.test_key_age(key, POLICY,
                               Clock(created + timedelta(days=period, microseconds=1)))
    lifecycle.test_key_age(key, POLICY, Clock(created + timedelta(days=period)))
