"""Several processes appending at once lose nothing and leave one intact chain."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from pytest_cryptoaudit.ledger.chain import verify
from pytest_cryptoaudit.ledger.store import open_ledger

WRITERS = 4
RUNS_EACH = 15
WRITER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from pytest_cryptoaudit.ledger.store import open_ledger
from tests.ledger.helpers import record_run

location, name, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.stdin.read()  # start together
for _ in range(runs):
    with open_ledger(location, Path.cwd()) as store:  # a fresh connection per run, as in CI
        record_run(store, datetime.now(UTC), systems={name: "high", name + "-db": "low"})
"""


def _append_concurrently(location: str, tmp_path: Path) -> None:
    open_ledger(location, tmp_path).close()  # create the schema before the race
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get(
        "PYTHONPATH", "")])}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, location, f"writer{i}",
                                 str(RUNS_EACH)], stdin=subprocess.PIPE, env=env, cwd=root)
               for i in range(WRITERS)]
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.close()
    assert [w.wait(timeout=120) for w in writers] == [0] * WRITERS


def _check(location: str, tmp_path: Path) -> None:
    with open_ledger(location, tmp_path) as store:
        entries = store.entries(detail=True)
        assert verify(entries, store.head()) == []
    assert [e.seq for e in entries] == list(range(1, 2 * WRITERS * RUNS_EACH + 1))
    per_system = Counter(e.system for e in entries)
    expected = {f"writer{i}{suffix}": RUNS_EACH for i in range(WRITERS)
                for suffix in ("", "-db")}
    assert per_system == expected
    # the two records of one run are adjacent: a run's append is one transaction
    for first, second in zip(entries[::2], entries[1::2], strict=True):
        assert first.run_id == second.run_id


def test_concurrent_appends_sqlite(tmp_path: Path) -> None:
    location = str(tmp_path / "shared.db")
    _append_concurrently(location, tmp_path)
    _check(location, tmp_path)


def test_concurrent_appends_postgresql(postgres_url: str, tmp_path: Path) -> None:
    _append_concurrently(postgres_url, tmp_path)
    _check(postgres_url, tmp_path)
