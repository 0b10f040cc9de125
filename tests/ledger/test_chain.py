"""Tamper evidence: edits, deletions and reorderings made with plain SQL are named by verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pytest_cryptoaudit.cli import main
from pytest_cryptoaudit.ledger.chain import sha256, verify
from pytest_cryptoaudit.ledger.store import LedgerError, LedgerStore, open_ledger

from .conftest import raw_sql
from .helpers import record_event, record_run, result

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _fill(store: LedgerStore) -> list[str]:
    """Five entries: three audits (two systems), an event, one more audit. Returns run ids."""
    runs = [record_run(store, T0, systems={"app-keys": "high", "db-keys": "low"},
                       results=[result("app-keys", "key-strength", "k1", "failed")])]
    record_event(store, "app-keys", "key-compromise", T0 + timedelta(hours=1))
    runs.append(record_run(store, T0 + timedelta(days=1)))
    runs.append(record_run(store, T0 + timedelta(days=2)))
    return [r["run"]["id"] for r in runs]


def _problems(store: LedgerStore) -> list[str]:
    return verify(store.entries(detail=True), store.head())


def test_intact_ledger_verifies(store: LedgerStore) -> None:
    _fill(store)
    assert _problems(store) == []
    assert [e.seq for e in store.entries()] == [1, 2, 3, 4, 5]


def test_edited_content_is_named(store: LedgerStore, location: str) -> None:
    runs = _fill(store)
    raw_sql(location, "UPDATE cryptoaudit_entries SET content = "
            "replace(content, '\"failed\"', '\"passed\"') WHERE seq = 1")
    assert _problems(store) == [
        f"#1 (audit of app-keys, run {runs[0]}): edited: content does not match its hash"]


def test_edit_with_recomputed_hash_breaks_the_chain(store: LedgerStore, location: str) -> None:
    runs = _fill(store)
    entry = store.entries()[3]  # the audit of run 2
    forged = entry.content.replace('"complete":true', '"complete":false')
    raw_sql(location, "UPDATE cryptoaudit_entries SET content = ?, content_hash = ? "
            "WHERE seq = 4", (forged, sha256(forged)))
    [problem] = _problems(store)
    assert problem == f"#4 (audit of app-keys, run {runs[1]}): edited: chain hash does not match"


def test_deleted_entry_is_named(store: LedgerStore, location: str) -> None:
    runs = _fill(store)
    raw_sql(location, "DELETE FROM cryptoaudit_entries WHERE seq = 3")
    [problem] = _problems(store)
    assert problem.startswith("#3 deleted: #4 (audit of app-keys, run")
    assert "key-compromise event on app-keys" in problem
    assert runs[1] in problem


def test_entries_deleted_from_the_end_are_named(store: LedgerStore, location: str) -> None:
    runs = _fill(store)
    raw_sql(location, "DELETE FROM cryptoaudit_entries WHERE seq >= 4")
    [problem] = _problems(store)
    assert problem == (f"#4 to #5 deleted from the end: the head names "
                       f"#5 (audit of app-keys, run {runs[2]})")
    with pytest.raises(LedgerError, match="refusing to append"):
        record_run(store, T0 + timedelta(days=3))


def test_reordered_entries_are_named(store: LedgerStore, location: str) -> None:
    runs = _fill(store)
    raw_sql(location, "UPDATE cryptoaudit_entries SET seq = -1 WHERE seq = 4")
    raw_sql(location, "UPDATE cryptoaudit_entries SET seq = 4 WHERE seq = 5")
    raw_sql(location, "UPDATE cryptoaudit_entries SET seq = 5 WHERE seq = -1")
    problems = _problems(store)
    assert f"#4: reordered: holds the content of #5 (audit of app-keys, run {runs[2]})" \
        in problems
    assert f"#5: reordered: holds the content of #4 (audit of app-keys, run {runs[1]})" \
        in problems


def test_edited_column_is_named(store: LedgerStore, location: str) -> None:
    runs = _fill(store)
    raw_sql(location, "UPDATE cryptoaudit_entries SET system = 'db-keys' WHERE seq = 1")
    assert _problems(store) == [f"#1 (audit of app-keys, run {runs[0]}): edited: column "
                                "system differs from the hashed content"]


def test_edited_inventory_detail_is_named(store: LedgerStore, location: str) -> None:
    _fill(store)
    raw_sql(location, "UPDATE cryptoaudit_entries SET detail = ? WHERE seq = 2",
            ('{"keys":{"x":1}}',))
    [problem] = _problems(store)
    assert problem.startswith("#2 (audit of db-keys") and "inventory detail" in problem


def test_verify_command_names_the_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    location = str(tmp_path / "ledger.db")
    with open_ledger(location, tmp_path) as store:
        runs = _fill(store)
        head = store.entries()[-1].chain_hash
    assert main(["ledger", "verify", "--ledger", location, "--expect-head", head]) == 0
    assert "intact, 5 entries" in capsys.readouterr().out
    raw_sql(location, "DELETE FROM cryptoaudit_entries WHERE seq = 2")
    assert main(["ledger", "verify", "--ledger", location]) == 1
    out = capsys.readouterr().out
    assert "TAMPERED #2 deleted: #3 (key-compromise event on app-keys" in out
    assert f"chained to #2 (audit of db-keys, run {runs[0]})" in out


def test_commands_refuse_a_damaged_ledger(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import make_project

    make_project(tmp_path)
    with open_ledger(None, tmp_path) as store:
        _fill(store)
    raw_sql(str(tmp_path / ".cryptoaudit" / "ledger.db"),
            "DELETE FROM cryptoaudit_entries WHERE seq = 5")
    assert main(["event", "add", "--system", "app-keys", "--kind", "security-incident",
                 "--config", str(tmp_path / "cryptoaudit.toml")]) == 2
    assert "does not end where its head record says: refusing to append" in \
        capsys.readouterr().err
