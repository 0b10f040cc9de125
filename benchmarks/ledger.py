"""Ledger figures: appending runs, verifying the chain, reading the history, computing status.

    python benchmarks/ledger.py [--runs 365] [--systems 10] [--keys 200] [--postgres]

Simulates a year of daily runs over ``--systems`` systems of ``--keys`` keys each (every
run records one audit per system; per-key fingerprints are stored again only when the
inventory changed, here weekly), on SQLite and, with
``--postgres``, on a private PostgreSQL server (Debian package ``postgresql``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pytest_cryptoaudit.cadence import DEFAULT_CADENCE_DAYS
from pytest_cryptoaudit.evidence_model import Evidence
from pytest_cryptoaudit.ledger.chain import verify
from pytest_cryptoaudit.ledger.history import LedgerHistory
from pytest_cryptoaudit.ledger.records import audit_drafts
from pytest_cryptoaudit.ledger.status import system_status
from pytest_cryptoaudit.ledger.store import LedgerStore, open_ledger
from pytest_cryptoaudit.model import RiskTier
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS, Policy

START = datetime(2026, 1, 1, 2, tzinfo=UTC)


def _evidence(day: int, systems: int, keys: int) -> dict[str, Any]:
    """A run's evidence, complete as the plugin writes it (the ledger reads it typed)."""
    started = (START + timedelta(days=day)).isoformat()
    names = [f"system-{n:02d}" for n in range(systems)]
    common = {"provider": "bench", "risk_tier": "high", "owner": "CSP"}
    # one key in a hundred is rotated each week: most runs find the inventory unchanged
    inventory = [{"uid": f"{name}/key-{k:05d}", "system": name, "kind": "secret-key",
                  "algorithm": "AES", "size": 256, "state": "Enabled",
                  "rotated": (START + timedelta(weeks=day // 7)).isoformat()
                  if k % 100 == 0 else START.isoformat(),
                  "attributes": {"policy": {"Statement": []}}, **common}
                 for name in names for k in range(keys)]
    results = [{"nodeid": f"key-age[{name}/key-{k:05d}]", "system": name,
                "control": "CEK-12", "check": "key-age", "key_uid": f"{name}/key-{k:05d}",
                "outcome": "failed" if k < 3 else "passed", "risk_tier": "high",
                "owner": "CSP", "message": "older than its cryptoperiod", "references": []}
               for name in names for k in range(keys)]
    return {"schema_version": "1.0",
            "run": {"id": str(uuid.uuid4()), "started": started, "finished": started,
                    "auditor": {"user": "ci"}, "catalog_version": "bench",
                    "config_sha256": "0" * 64, "policy_sha256": "1" * 64},
            "systems": [{"name": name, "keys_found": keys, "discovery_errors": [],
                         "config_sha256": "2" * 64, **common} for name in names],
            "inventory": inventory, "results": results, "summary": {}}


def _timed(what: str, action: Any) -> Any:
    begun = time.perf_counter()
    value = action()
    print(f"  {what:<44} {time.perf_counter() - begun:8.2f} s")
    return value


def bench(store: LedgerStore, runs: int, systems: int, keys: int) -> None:
    names = [f"system-{n:02d}" for n in range(systems)]

    # The plugin hands the ledger the run's typed evidence, validated once for every reporter
    # whether a ledger is kept or not: built here before the clock starts.
    runs_evidence = [Evidence.from_document(_evidence(day, systems, keys))
                     for day in range(runs)]

    def append_all() -> None:
        for evidence in runs_evidence:  # as the plugin does: compare with the last audits
            previous = store.latest_audits(names)
            store.append(audit_drafts(evidence, {}, previous))

    _timed(f"append {runs} runs x {systems} systems x {keys} keys", append_all)
    entries = _timed("read every entry with detail", lambda: store.entries(detail=True))
    problems = _timed(f"verify {len(entries)} entries", lambda: verify(entries, store.head()))
    assert problems == [], problems
    history = _timed("load history (no detail)", lambda: LedgerHistory.from_store(store))
    policy = Policy(BUILTIN_SETTINGS, {})
    now = START + timedelta(days=runs)
    _timed(f"status of {systems} systems", lambda: [
        system_status(f"system-{n:02d}", RiskTier.HIGH, history, DEFAULT_CADENCE_DAYS, policy,
                      now) for n in range(systems)])
    _timed("latest audits with detail", lambda: store.latest_audits(names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=365)
    parser.add_argument("--systems", type=int, default=10)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    print("SQLite")
    with open_ledger(str(folder / "ledger.db"), folder) as store:
        bench(store, args.runs, args.systems, args.keys)
    print(f"  file size {(folder / 'ledger.db').stat().st_size / 1e6:.1f} MB")
    if args.postgres:
        from pytest_cryptoaudit.lab.postgres import PostgresCluster

        print("PostgreSQL")
        with PostgresCluster() as cluster, open_ledger(
                cluster.create_database("bench"), folder) as store:
            bench(store, args.runs, args.systems, args.keys)


if __name__ == "__main__":
    main()
