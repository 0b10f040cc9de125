"""Incremental audits of checks that read the clock, under a frozen clock: a result is
carried while no threshold it compared with has come, and checked again once one has."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from pytest_cryptoaudit.testing import AuditRun, audit_pytester, key_record
from tests.shared import once_per_run_in

T0 = datetime(2026, 7, 1, 9, tzinfo=UTC)
#: The symmetric cryptoperiod of tier medium (the default policy): 730 days.
PERIOD = timedelta(days=730)
YOUNG, OLD, CERT = "memory:young", "memory:old", "memory:cert"


def estate(young_created: datetime = T0 - PERIOD + timedelta(days=5)) -> list[Any]:
    """A key whose cryptoperiod runs out five days after T0, one long past it, and a
    certificate-like key whose 30-day expiry warning opens ten days after T0."""
    return [key_record(YOUNG, algorithm="AES", size=256, created=young_created),
            key_record(OLD, algorithm="AES", size=256, created=T0 - PERIOD * 2),
            key_record(CERT, algorithm="AES", size=256, created=T0 - timedelta(days=10),
                       expires=T0 + timedelta(days=40))]


def audit(pytester: pytest.Pytester, at: datetime, records: list[Any] | None = None,
          config: dict[str, Any] | None = None) -> AuditRun:
    with time_machine.travel(at, tick=False):
        return audit_pytester(pytester, "--cryptoaudit-incremental",
                              inventory=records or estate(), config=config)


def carried(run: AuditRun) -> set[tuple[str, str]]:
    return {(r["check"], r["key_uid"]) for r in run.evidence["results"] if r["carried"]}


def keyed(run: AuditRun) -> set[tuple[str, str]]:
    """The pairs of the planted keys (the system's CEK-09 checks always run)."""
    return {(r["check"], r["key_uid"]) for r in run.evidence["results"]
            if r["key_uid"] in (YOUNG, OLD, CERT)}


@pytest.fixture
def full(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> AuditRun:
    """The first incremental audit of the estate at T0, its folder (ledger included) in this
    test's ``pytester``: audited once per test run, copied for each test."""
    def build() -> dict[str, Any]:
        run = audit(pytester, T0)
        return {"ret": run.ret, "output": run.output, "evidence": run.evidence}

    stored = once_per_run_in(pytester, tmp_path_factory, "incremental-clock-first", build)
    return AuditRun(stored["ret"], stored["output"], stored["evidence"])


def test_a_key_age_result_is_carried_until_its_threshold_then_checked_again(
        pytester: pytest.Pytester, full: AuditRun) -> None:
    assert full.outcome("key-age", YOUNG) == "passed"
    assert full.outcome("key-age", OLD) == "failed"
    assert full.result("key-age", YOUNG)["valid_until"] == (T0 + timedelta(days=5)).isoformat()
    # a finding that time cannot undo has no threshold ahead of it
    assert full.result("key-age", OLD)["valid_until"] is None
    assert full.result("expiry-window", CERT)["valid_until"] == \
        (T0 + timedelta(days=10)).isoformat()
    # every pair of the keys is hashed now, the clock-reading ones included
    assert all(full.result(*pair)["inputs_sha256"] for pair in keyed(full))

    before = audit(pytester, T0 + timedelta(days=4))
    assert carried(before) == keyed(full)
    assert before.result("key-age", YOUNG)["valid_until"] == \
        full.result("key-age", YOUNG)["valid_until"]  # carried with the instant it holds to

    after = audit(pytester, T0 + timedelta(days=6))
    assert carried(after) == keyed(full) - {("key-age", YOUNG)}
    assert after.outcome("key-age", YOUNG) == "failed"
    assert "cryptoperiod for tier medium is 730 days" in after.message("key-age", YOUNG)

    window = audit(pytester, T0 + timedelta(days=11))
    assert carried(window) == keyed(full) - {("expiry-window", CERT)}
    assert window.outcome("expiry-window", CERT) == "failed"


def test_a_rotated_key_re_runs_only_its_own_checks(pytester: pytest.Pytester,
                                                  full: AuditRun) -> None:
    rotated = estate(young_created=T0 - timedelta(days=1))
    again = audit(pytester, T0 + timedelta(days=1), rotated)
    assert carried(again) == {pair for pair in keyed(full) if pair[1] != YOUNG}
    assert again.outcome("key-age", YOUNG) == "passed"
    assert again.result("key-age", YOUNG)["valid_until"] == \
        (T0 - timedelta(days=1) + PERIOD).isoformat()


def test_a_policy_change_checks_the_clock_reading_results_again(
        pytester: pytest.Pytester, full: AuditRun) -> None:
    longer = {"policy": {"cryptoperiod_days": {"symmetric": {"medium": 3000}}}}
    again = audit(pytester, T0 + timedelta(days=1), config=longer)
    assert carried(again) == set()
    assert again.outcome("key-age", OLD) == "passed"
    assert "audited in full: the policy changed" in again.output


def test_a_waiver_re_runs_only_the_clock_reading_finding_it_matches(
        pytester: pytest.Pytester, full: AuditRun) -> None:
    pytester.path.joinpath("waivers.toml").write_text(
        '[[waivers]]\nid = "W-7"\ncontrol = "CEK-12"\ncheck = "key-age"\n'
        f'key = "{OLD}"\njustification = "Archive key, read-only."\n'
        'approver = "J. Doe"\nexpires = 2099-12-31\n')
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        again = audit_pytester(pytester, "--cryptoaudit-incremental", "--cryptoaudit-waivers",
                               "waivers.toml", inventory=estate())
    assert carried(again) == keyed(full) - {("key-age", OLD)}
    assert again.outcome("key-age", OLD) == "waived"
