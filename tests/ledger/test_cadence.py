"""Cadence proportional to risk: when each tier is due and overdue, and what events do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from pytest_cryptoaudit.cadence import DEFAULT_CADENCE_DAYS
from pytest_cryptoaudit.ledger.history import LedgerHistory
from pytest_cryptoaudit.ledger.status import DUE, OK, OVERDUE, system_status
from pytest_cryptoaudit.ledger.store import LedgerStore, open_ledger
from pytest_cryptoaudit.model import Event, RiskTier
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS, Policy

from .helpers import record_event, record_run

T0 = datetime(2026, 1, 10, 8, tzinfo=UTC)
POLICY = Policy(BUILTIN_SETTINGS, {})


@pytest.fixture
def sqlite_store(tmp_path: Path) -> LedgerStore:
    return open_ledger(str(tmp_path / "ledger.db"), tmp_path)


def _state(store: LedgerStore, tier: str, now: datetime, system: str = "app-keys",
           events: tuple[Event, ...] = ()) -> tuple[str, datetime, datetime | None]:
    history = LedgerHistory.from_store(store)
    status = system_status(system, RiskTier(tier), history, DEFAULT_CADENCE_DAYS, POLICY, now,
                           events)
    return status.state, status.due_at, status.deadline


@pytest.mark.parametrize(("tier", "days"), [("critical", 1), ("high", 30), ("medium", 90),
                                            ("low", 365)])
def test_each_tier_is_due_in_the_last_tenth_and_overdue_after_its_interval(
        sqlite_store: LedgerStore, tier: str, days: int) -> None:
    record_run(sqlite_store, T0, systems={"app-keys": tier})
    interval = timedelta(days=days)
    assert _state(sqlite_store, tier, T0 + interval * 0.89)[0] == OK
    state, due_at, deadline = _state(sqlite_store, tier, T0 + interval * 0.95)
    assert (state, due_at, deadline) == (DUE, T0 + interval * 0.9, T0 + interval)
    assert _state(sqlite_store, tier, T0 + interval + timedelta(seconds=1))[0] == OVERDUE


def test_incomplete_audit_does_not_count(sqlite_store: LedgerStore) -> None:
    record_run(sqlite_store, T0)
    record_run(sqlite_store, T0 + timedelta(days=29), controls=["CEK-04"])
    record_run(sqlite_store, T0 + timedelta(days=29), unreachable={"app-keys": "timeout"})
    state, _due, deadline = _state(sqlite_store, "high", T0 + timedelta(days=31))
    assert (state, deadline) == (OVERDUE, T0 + timedelta(days=30))


def test_never_audited_system_is_due_and_overdue_an_interval_after_first_seen(
        sqlite_store: LedgerStore) -> None:
    assert _state(sqlite_store, "high", T0)[0] == DUE  # unknown to the ledger: due now
    record_run(sqlite_store, T0, unreachable={"app-keys": "connection refused"})
    assert _state(sqlite_store, "high", T0 + timedelta(days=29))[0] == DUE
    assert _state(sqlite_store, "high", T0 + timedelta(days=31))[0] == OVERDUE


def test_event_makes_system_due_then_overdue_after_follow_up_time(
        sqlite_store: LedgerStore) -> None:
    record_run(sqlite_store, T0)
    compromise = T0 + timedelta(days=2)
    record_event(sqlite_store, "app-keys", "key-compromise", compromise)
    assert _state(sqlite_store, "high", compromise - timedelta(minutes=1))[0] == OK
    state, due_at, deadline = _state(sqlite_store, "high", compromise + timedelta(hours=1))
    assert (state, due_at, deadline) == (DUE, compromise, compromise + timedelta(days=3))
    assert _state(sqlite_store, "high", compromise + timedelta(days=3, seconds=1))[0] == OVERDUE
    record_run(sqlite_store, compromise + timedelta(days=1))
    assert _state(sqlite_store, "high", compromise + timedelta(days=4))[0] == OK


def test_event_recorded_late_needs_an_audit_after_it_was_recorded(
        sqlite_store: LedgerStore) -> None:
    record_run(sqlite_store, T0 + timedelta(hours=2))
    # the compromise happened before that audit but was only recorded afterwards
    record_event(sqlite_store, "app-keys", "security-incident", T0,
                 recorded_at=T0 + timedelta(hours=5))
    state, due_at, _deadline = _state(sqlite_store, "high", T0 + timedelta(hours=6))
    assert (state, due_at) == (DUE, T0 + timedelta(hours=5))


def test_critical_follow_up_is_capped_by_its_one_day_interval(
        sqlite_store: LedgerStore) -> None:
    record_run(sqlite_store, T0, systems={"app-keys": "critical"})
    change = T0 + timedelta(hours=1)
    events = (Event("app-keys", "config-change", change),)  # from [[events]]
    state, due_at, deadline = _state(sqlite_store, "critical", change + timedelta(hours=1),
                                     events=events)
    assert (state, due_at, deadline) == (DUE, change, T0 + timedelta(days=1))


def test_frozen_clock_status_command_reports_overdue(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_cryptoaudit.cli import main

    from .conftest import make_project

    make_project(tmp_path, tier="high")
    with open_ledger(None, tmp_path) as store:
        record_run(store, T0)
    args = ["status", "--config", str(tmp_path / "cryptoaudit.toml"), "--format", "json"]
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        assert main(args) == 0
    with time_machine.travel(T0 + timedelta(days=31), tick=False):
        assert main(args) == 1
    assert '"state": "overdue"' in capsys.readouterr().out.split('"generated"')[-1]
