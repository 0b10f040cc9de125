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
from pytest_cryptoaudit.model import CertificateInfo, KeyRecord
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS, Policy
from pytest_cryptoaudit.testing import AuditRun, audit_subprocess, key_record

CHECKS = {"certificate-lifetime", "key-age", "expiry-window", "not-expired", "already-valid"}
#: Offsets of half a day keep every comparison clear of the seconds between the making of
#: the records (in the fixture, from its own clock) and the start of the audit.
HALF = timedelta(hours=12)


def ago(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def cert(not_before: datetime, not_after: datetime, *, is_ca: bool = False) -> dict[str, Any]:
    info = CertificateInfo(subject="CN=app", issuer="CN=ca", serial="01", not_before=not_before,
                           not_after=not_after, signature_algorithm="sha256WithRSAEncryption",
                           signature_hash="sha256", is_ca=is_ca, self_signed=False)
    return {"kind": "certificate", "algorithm": "RSA", "size": 3072, "certificate": info,
            "expires": not_after, "created": not_before}


RSA = {"kind": "private-key", "algorithm": "RSA", "size": 3072}


def planted(now: datetime) -> dict[str, tuple[str, dict[str, Any], set[str]]]:
    """uid -> (tier, key fields, the checks it must fail), dated from ``now``. Defaults:
    symmetric cryptoperiod 365 days at high and 730 at low, private 730 at high;
    certificates at most 398 days at high; a warning window of 30 days at high."""
    def days_ago(days: int) -> datetime:
        return ago(now, days)

    return {
        "aes-young": ("high", {"created": days_ago(365) + HALF}, set()),
        "aes-old": ("high", {"created": days_ago(365) - HALF}, {"key-age"}),
        # minutes short of the cryptoperiod when the audit starts: a day is 86400 seconds
        "aes-at-period": ("high", {"created": days_ago(365) + timedelta(minutes=4)}, set()),
        "aes-low": ("low", {"created": days_ago(730) + HALF}, set()),
        "aes-low-old": ("low", {"created": days_ago(730) - HALF}, {"key-age"}),
        # the latest rotation counts, not the creation
        "aes-rotated": ("high", {"created": days_ago(1000), "rotated": days_ago(10)}, set()),
        "rsa-young": ("high", {**RSA, "created": days_ago(730) + HALF}, set()),
        "rsa-old": ("high", {**RSA, "created": days_ago(730) - HALF}, {"key-age"}),
        "cert-398": ("high", cert(days_ago(100), days_ago(100) + timedelta(days=398)), set()),
        "cert-399": ("high", cert(days_ago(100), days_ago(100) + timedelta(days=399)),
                     {"certificate-lifetime"}),
        "cert-low-825": ("low", cert(days_ago(100), days_ago(100) + timedelta(days=825)),
                         set()),
        # a CA certificate is not a leaf: its lifetime is not judged
        "ca-long": ("high", cert(days_ago(100), days_ago(100) + timedelta(days=3650),
                                 is_ca=True), set()),
        "cert-expiring": ("high", cert(days_ago(300), now + timedelta(days=30) - HALF),
                          {"expiry-window"}),
        "cert-outside-window": ("high", cert(days_ago(300), now + timedelta(days=30) + HALF),
                                set()),
        "cert-expired": ("high", cert(days_ago(300), now - HALF), {"not-expired"}),
        "cert-not-yet": ("high", cert(now + HALF, now + timedelta(days=200)),
                         {"already-valid"}),
        # a private key that carries its certificate is no certificate: no lifetime check
        "rsa-with-cert": ("high", {**RSA, "created": days_ago(10), "certificate": cert(
            days_ago(100), days_ago(100) + timedelta(days=500))["certificate"]}, set()),
        "aes-expiring": ("high", {"created": days_ago(10), "expires": now + timedelta(days=5)},
                         {"expiry-window"}),
    }


#: The table's names and expected failures (its dates are made again by the fixture: the
#: audit may start minutes after collection on a busy machine).
PLANTED = planted(datetime.now(UTC))
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


@pytest.fixture(scope="module")
def audited_at(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditRun, datetime]:
    """The planted records, dated from the moment the audit starts, and that moment."""
    now = datetime.now(UTC)
    records = [key_record(uid(name), system=tier, risk_tier=tier, **fields)
               for name, (tier, fields, _fails) in planted(now).items()]
    return audit_subprocess(tmp_path_factory.mktemp("lifecycle"), "--cryptoaudit-no-ledger",
                            inventory=records), now


@pytest.fixture(scope="module")
def audited(audited_at: tuple[AuditRun, datetime]) -> AuditRun:
    return audited_at[0]


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


def test_findings_name_the_threshold(audited_at: tuple[AuditRun, datetime]) -> None:
    audited, now = audited_at

    def message(check: str, name: str) -> str:
        return audited.message(check, uid(name))

    assert message("key-age", "aes-old") == (
        f"symmetric key last (re)keyed 366 days ago ({ago(now, 365) - HALF:%Y-%m-%d}); "
        "cryptoperiod for tier high is 365 days")
    assert message("key-age", "rsa-old") == (
        f"private key last (re)keyed 731 days ago ({ago(now, 730) - HALF:%Y-%m-%d}); "
        "cryptoperiod for tier high is 730 days")
    assert message("certificate-lifetime", "cert-399") == (
        "certificate valid for 399 days; tier high allows at most 398")
    expiring = now + timedelta(days=30) - HALF
    assert message("expiry-window", "cert-expiring") == (
        f"expires {expiring:%Y-%m-%d} (in 29 days), inside the 30-day window for tier high")
    assert message("not-expired", "cert-expired") == (
        f"expired on {now - HALF:%Y-%m-%d %H:%M} UTC")
    assert message("already-valid", "cert-not-yet") == (
        f"not valid before {now + HALF:%Y-%m-%d %H:%M} UTC")


# The audit's clock cannot be planted, so the comparisons with the audit's start instant are
# judged here by calling the checks at a fixed instant: the equal case is the boundary.
AT = datetime(2030, 6, 1, 12, tzinfo=UTC)
POLICY = Policy(BUILTIN_SETTINGS, {})


def at(expires: datetime, not_before: datetime | None = None) -> KeyRecord:
    fields = cert(not_before or AT - timedelta(days=100), expires)
    return key_record("memory:at", system="high", risk_tier="high", **fields)


def test_a_certificate_expiring_at_the_audit_instant_has_expired() -> None:
    with pytest.raises(AssertionError, match="expired on 2030-06-01 12:00 UTC"):
        lifecycle.test_not_expired(at(AT), AT)
    lifecycle.test_not_expired(at(AT + timedelta(microseconds=1)), AT)
    with pytest.raises(pytest.skip.Exception, match="already expired"):
        lifecycle.test_expiry_window(at(AT), POLICY, AT)


def test_the_warning_window_includes_its_last_day() -> None:
    with pytest.raises(AssertionError, match="inside the 30-day window for tier high"):
        lifecycle.test_expiry_window(at(AT + timedelta(days=30)), POLICY, AT)
    lifecycle.test_expiry_window(at(AT + timedelta(days=30, microseconds=1)), POLICY, AT)


def test_a_certificate_is_valid_from_its_not_before_instant() -> None:
    lifecycle.test_already_valid(at(AT + timedelta(days=90), not_before=AT), AT)
    with pytest.raises(AssertionError, match="not valid before 2030-06-01 12:00 UTC"):
        lifecycle.test_already_valid(
            at(AT + timedelta(days=90), not_before=AT + timedelta(microseconds=1)), AT)
