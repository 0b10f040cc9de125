"""A PostgreSQL ledger whose connection is killed in the middle of an append: the writer
gets a clear, redacted error, nothing half-written stays, and the chain still verifies."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest

from pytest_cryptoaudit.ledger.chain import verify
from pytest_cryptoaudit.ledger.postgres import LOCK_KEY
from pytest_cryptoaudit.ledger.store import LedgerError, open_ledger, redact

from .helpers import record_run

psycopg = pytest.importorskip("psycopg")


def wait_for_lock_wait(admin, pid: int) -> None:
    """Until the backend ``pid`` waits on a lock (it is inside the append's transaction)."""
    for _ in range(200):
        row = admin.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                            (pid,)).fetchone()
        if row and row[0] == "Lock":
            return
        time.sleep(0.05)
    raise AssertionError("the append never reached the ledger lock")


def test_a_connection_killed_mid_append_fails_clearly_and_the_chain_stays_valid(
        postgres_url: str, tmp_path: Path) -> None:
    with open_ledger(postgres_url, tmp_path) as store:
        record_run(store, datetime.now(UTC), systems={"kms": "high"})
        before = store.entries()
        failure: list[BaseException] = []

        def append() -> None:
            try:
                record_run(store, datetime.now(UTC), systems={"kms": "high", "db": "low"})
            except BaseException as exc:
                failure.append(exc)

        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            writer = threading.Thread(target=append, daemon=True)
            writer.start()
            wait_for_lock_wait(admin, store.connection.info.backend_pid)
            admin.execute("SELECT pg_terminate_backend(%s)", (store.connection.info.backend_pid,))
            admin.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
            writer.join(30)
        assert not writer.is_alive()
    [error] = failure
    assert isinstance(error, LedgerError)
    assert str(error).startswith(f"cannot write ledger {redact(postgres_url)}: ")
    assert "terminating connection" in str(error)
    assert urlparse(postgres_url).password not in str(error)
    with open_ledger(postgres_url, tmp_path) as store:
        entries = store.entries()
        assert [e.seq for e in entries] == [e.seq for e in before]
        assert verify(store.entries(detail=True), store.head()) == []
        record_run(store, datetime.now(UTC), systems={"kms": "high"})  # the next run appends
        assert verify(store.entries(detail=True), store.head()) == []
