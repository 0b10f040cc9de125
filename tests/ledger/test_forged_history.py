"""A damaged ledger is never trusted: checks that read it error, nothing is appended on top,
and only an explicit, recorded restart starts a new chain."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from pytest_cryptoaudit.ledger.chain import verify
from pytest_cryptoaudit.ledger.store import LedgerError, LedgerStore, open_ledger
from tests.shared import once_per_run_in

from .conftest import make_project, raw_sql
from .helpers import record_run
from .test_runs import T0, audit, cli, outcome


def _ledger(pytester: pytest.Pytester) -> str:
    return str(pytester.path / ".cryptoaudit" / "ledger.db")


def _forge_started(location: str, when: str) -> None:
    """Move every audit's ``started`` inside the hashed content, as the reported attack did."""
    raw_sql(location, "UPDATE cryptoaudit_entries SET content = "
            "json_set(content, '$.started', ?) WHERE type = 'audit'", (when,))


@pytest.fixture
def audited(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A high-tier project (a complete audit every 30 days) audited at T0: its folder, with
    the ledger of that one audit, in this test's ``pytester`` (audited once per test run,
    copied for each test)."""
    def build() -> None:
        make_project(pytester.path, tier="high", weak=False)
        audit(pytester, at=T0)

    once_per_run_in(pytester, tmp_path_factory, "forged-history-first", build)


@pytest.mark.usefixtures("audited")
def test_a_forged_started_time_is_not_trusted(pytester: pytest.Pytester) -> None:
    later = T0 + timedelta(days=40)
    _forge_started(_ledger(pytester), (later - timedelta(hours=1)).isoformat())
    result, evidence = audit(pytester, at=later)
    cadence = outcome(evidence, "cadence-met")
    assert cadence["outcome"] == "error"
    assert "cannot read the audit ledger: ledger" in cadence["message"]
    assert "is damaged" in cadence["message"]
    assert "cryptoaudit ledger restart" in cadence["message"]
    with open_ledger(None, pytester.path) as store:
        assert len(store.entries()) == 1, "nothing may be appended on a damaged chain"
    assert "ledger not written" in result.stdout.str() or \
        "is damaged" in result.stdout.str()


def test_a_damaged_ledger_refuses_to_append(store: LedgerStore, location: str) -> None:
    record_run(store, T0)
    raw_sql(location, "UPDATE cryptoaudit_entries SET content = replace(content, "
            "'\"complete\":true', '\"complete\":false') WHERE seq = 1")
    with pytest.raises(LedgerError, match=r"is damaged .* refusing to append"):
        record_run(store, T0 + timedelta(days=1))
    assert len(store.entries()) == 1


def test_an_edited_at_column_is_named(store: LedgerStore, location: str) -> None:
    record_run(store, T0)
    raw_sql(location, "UPDATE cryptoaudit_entries SET at = ? WHERE seq = 1",
            ((T0 + timedelta(days=30)).isoformat(),))
    [problem] = verify(store.entries(detail=True), store.head())
    assert problem.endswith("edited: column at differs from the hashed content")


@pytest.mark.usefixtures("audited")
def test_restart_records_the_break_and_starts_a_new_chain(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    later = T0 + timedelta(days=40)
    _forge_started(_ledger(pytester), later.isoformat())
    capsys.readouterr()
    with pytest.raises(SystemExit):  # --reason is required
        cli(pytester, "ledger", "restart", at=later)
    assert cli(pytester, "ledger", "restart", "--reason", "started times edited; INC-42",
               at=later) == 0
    out = capsys.readouterr().out
    assert re.search(r"restarted the chain at #2 .*1 problem", out), out
    assert cli(pytester, "ledger", "verify", at=later) == 0
    out = capsys.readouterr().out
    assert "RESTARTED at #2" in out and "INC-42" in out and "1 problem(s) before it" in out
    _result, evidence = audit(pytester, at=later)
    assert outcome(evidence, "cadence-met")["outcome"] != "error"
    with open_ledger(None, pytester.path) as store:
        assert [e.type for e in store.entries()] == ["audit", "restart", "audit"]


@pytest.mark.usefixtures("audited")
def test_restart_is_refused_on_an_intact_ledger(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(pytester, "ledger", "restart", "--reason", "why not") == 2
    assert "intact: nothing to restart" in capsys.readouterr().err


@pytest.mark.usefixtures("audited")
def test_status_refuses_a_damaged_ledger(pytester: pytest.Pytester,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _forge_started(_ledger(pytester), T0.isoformat().replace("09:00", "10:00"))
    capsys.readouterr()
    assert cli(pytester, "status") == 2
    assert "is damaged" in capsys.readouterr().err


def test_the_verified_history_path_is_the_default(tmp_path: Path) -> None:
    """Guard: from_store is where every reader gets its history, so it must verify."""
    from pytest_cryptoaudit.ledger.history import LedgerHistory

    location = str(tmp_path / "ledger.db")
    with open_ledger(location, tmp_path) as store:
        record_run(store, T0)
        raw_sql(location, "DELETE FROM cryptoaudit_head")
        with pytest.raises(LedgerError, match="is damaged"):
            LedgerHistory.from_store(store)
