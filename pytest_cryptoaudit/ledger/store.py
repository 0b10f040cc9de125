"""Where the ledger lives: SQLite by default, PostgreSQL when teams share one.

Both stores speak the same SQL through DB-API; they differ in how a writer gets the ledger
to itself (SQLite ``BEGIN IMMEDIATE``; a PostgreSQL transaction-scoped advisory lock), so
that several runs appending at once each extend the chain from the true head and nothing is
lost. A store refuses to append to a chain whose head row no longer matches its last entry:
tampering is kept as evidence instead of being papered over by the next run.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .chain import RESTART, Draft, Entry, Head, seal, sha256, verify
from .location import DEFAULT_LOCATION, LocationError, parse_location, password_from, redact

__all__ = ["DEFAULT_LOCATION", "LedgerError", "LedgerStore", "open_ledger", "redact"]
ENTRY_COLUMNS = ("seq", "type", "system", "run_id", "at", "content", "detail",
                 "content_hash", "prev_hash", "chain_hash")
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS cryptoaudit_entries (
        seq BIGINT PRIMARY KEY, type TEXT NOT NULL, system TEXT NOT NULL, run_id TEXT,
        at TEXT NOT NULL, content TEXT NOT NULL, detail TEXT NOT NULL,
        content_hash TEXT NOT NULL, prev_hash TEXT NOT NULL, chain_hash TEXT NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS cryptoaudit_entries_by_system
        ON cryptoaudit_entries (system, type, seq)""",
    """CREATE TABLE IF NOT EXISTS cryptoaudit_head (
        id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, chain_hash TEXT NOT NULL,
        label TEXT NOT NULL)""",
)


#: Problems copied into a restart entry (the count is always recorded in full).
RECORDED_PROBLEMS = 50


class LedgerError(Exception):
    """The ledger cannot be opened, read or appended to; the message says which and why."""


def open_ledger(location: str | None, base_dir: Path,
                password_env: str | None = None) -> LedgerStore:
    """Open (creating if needed) the ledger at ``location``; a PostgreSQL password may come
    from the variable ``password_env`` names (else libpq's PGPASSWORD and ~/.pgpass)."""
    try:
        parsed = parse_location(location, base_dir)
        password = password_from(password_env) if parsed.kind == "postgresql" else None
    except LocationError as exc:
        raise LedgerError(str(exc)) from None
    if parsed.kind == "postgresql":
        from .postgres import PostgresStore

        return PostgresStore(parsed, password)
    from .sqlite import SqliteStore

    return SqliteStore(Path(parsed.target))


def damaged(location: str, problems: Sequence[str], doing: str) -> str:
    """The one message for a damaged ledger: what was found, and the two ways forward."""
    return (f"ledger {location} is damaged ({len(problems)} problem(s); first: {problems[0]}):"
            f" {doing}; `cryptoaudit ledger verify` names every problem, and "
            "`cryptoaudit ledger restart --reason TEXT` starts a new chain that records the "
            "break")


class LedgerStore(abc.ABC):
    """An append-only, hash-chained list of entries."""

    placeholder = "?"

    def __init__(self, shown: str) -> None:
        #: The location as messages, evidence and status show it (never a password).
        self.location = shown

    # -- what a backend provides -------------------------------------------------------------

    @abc.abstractmethod
    def _write_transaction(self) -> contextlib.AbstractContextManager[Any]:
        """A cursor inside a transaction that no other writer can enter until it ends."""

    @abc.abstractmethod
    def _read_cursor(self) -> contextlib.AbstractContextManager[Any]:
        """A cursor for reading."""

    @abc.abstractmethod
    def close(self) -> None: ...

    # -- the shared logic --------------------------------------------------------------------

    def append(self, drafts: Sequence[Draft]) -> list[Entry]:
        """Seal and store ``drafts`` in one transaction, after the current last entry."""
        if not drafts:
            return []
        with self._write_transaction() as cursor:
            last = self._last(cursor)
            head = self._head(cursor)
            self._refuse_if_damaged(last, head)
            self._refuse_if_tampered(cursor, head, "refusing to append")
            sealed: list[Entry] = []
            for draft in drafts:
                last = seal(draft, (last.seq + 1) if last else 1, last)
                sealed.append(last)
            self._insert(cursor, sealed)
            self._set_head(cursor, sealed[-1], exists=head is not None)
        return sealed

    def _refuse_if_damaged(self, last: Entry | None, head: Head | None) -> None:
        if head is None and last is None:
            return
        if head is None or last is None or (head.seq, head.chain_hash) != (
                last.seq, last.chain_hash):
            raise LedgerError(
                f"ledger {self.location} does not end where its head record says: refusing "
                "to append; run `cryptoaudit ledger verify` to see what was changed")

    def _refuse_if_tampered(self, cursor: Any, head: Head | None, doing: str) -> None:
        # The whole current chain is checked under the writer's lock, so nothing is ever
        # appended on top of edited history (the inventory details are checked where read).
        cursor.execute(f"SELECT {self._columns(False)} FROM cryptoaudit_entries ORDER BY seq")
        problems = verify([Entry(*row) for row in cursor.fetchall()], head, details=False)
        if problems:
            raise LedgerError(damaged(self.location, problems, doing))

    def restart(self, reason: str, recorded_at: str,
                recorded_by: Mapping[str, Any]) -> tuple[Entry, list[str]]:
        """Start a new chain on a damaged ledger with an entry recording why, who, and every
        problem found; the damaged entries stay as evidence but are no longer read."""
        with self._write_transaction() as cursor:
            head = self._head(cursor)
            cursor.execute(f"SELECT {self._columns(True)} FROM cryptoaudit_entries ORDER BY seq")
            entries = [Entry(*row) for row in cursor.fetchall()]
            problems = verify(entries, head)
            if not problems:
                raise LedgerError(f"ledger {self.location} is intact: nothing to restart")
            content = {"reason": reason, "recorded_at": recorded_at,
                       "recorded_by": dict(recorded_by), "problem_count": len(problems),
                       "problems": problems[:RECORDED_PROBLEMS],
                       "damaged_head": dataclasses.asdict(head) if head else None}
            last = entries[-1] if entries else None
            entry = seal(Draft(RESTART, "*", recorded_at, content), last.seq + 1 if last else 1,
                         last)
            self._insert(cursor, [entry])
            self._set_head(cursor, entry, exists=head is not None)
        return entry, problems

    def check_intact(self) -> None:
        """Raise :class:`LedgerError` if the current chain is damaged: every reader of the
        history calls this first, so a tampered ledger is never judged as if it were true."""
        with self._read_cursor() as cursor:
            self._refuse_if_tampered(cursor, self._head(cursor), "its history is not used")

    def chain_start(self) -> int:
        """The sequence number the current chain starts at (its last restart, else 1)."""
        with self._read_cursor() as cursor:
            cursor.execute("SELECT MAX(seq) FROM cryptoaudit_entries WHERE type = 'restart'")
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 1

    def _columns(self, detail: bool) -> str:
        return ", ".join(c if detail or c != "detail" else "'' AS detail" for c in ENTRY_COLUMNS)

    def entries(self, *, types: Sequence[str] = (), systems: Sequence[str] = (),
                max_seq: int | None = None, detail: bool = False,
                min_seq: int | None = None) -> list[Entry]:
        """Entries in chain order, optionally only some types or systems."""
        where, params = self._filters(types, systems, max_seq, min_seq)
        sql = f"SELECT {self._columns(detail)} FROM cryptoaudit_entries{where} ORDER BY seq"
        with self._read_cursor() as cursor:
            cursor.execute(sql, params)
            return [Entry(*row) for row in cursor.fetchall()]

    def latest_audits(self, systems: Sequence[str]) -> dict[str, Entry]:
        """The last complete audit of each named system, with its inventory detail (taken
        from the entry it refers to when the inventory had not changed)."""
        latest: dict[str, Entry] = {}
        p = self.placeholder
        sql = (f"SELECT {', '.join(ENTRY_COLUMNS)} FROM cryptoaudit_entries WHERE type = 'audit'"
               f" AND system = {p} AND seq >= {p} ORDER BY seq DESC")
        start = self.chain_start()
        with self._read_cursor() as cursor:
            for system in systems:
                cursor.execute(sql, (system, start))
                for row in iter(cursor.fetchone, None):
                    entry = Entry(*row)
                    if entry.data.get("complete"):
                        latest[system] = entry
                        break
            for system, entry in latest.items():
                latest[system] = self._with_detail(cursor, entry)
        return latest

    def _with_detail(self, cursor: Any, entry: Entry) -> Entry:
        """The entry with its inventory detail; when the inventory had not changed, the
        per-key part comes from the entry it refers to (its own detail keeps its results)."""
        self._check_detail(entry, entry.detail, entry.data.get("detail_sha256"))
        holder = entry.data.get("inventory_detail_seq")
        if not holder:
            return entry
        cursor.execute(f"SELECT detail, content FROM cryptoaudit_entries WHERE seq = "
                       f"{self.placeholder}", (holder,))
        row = cursor.fetchone()
        held = row[0] if row else ""
        self._check_detail(entry, held, json.loads(row[1]).get("detail_sha256") if row else None)
        if not entry.detail:
            return dataclasses.replace(entry, detail=held)
        keys = json.loads(held).get("keys", {}) if held else {}
        merged = {**json.loads(entry.detail), "keys": keys}
        return dataclasses.replace(entry, detail=json.dumps(merged, sort_keys=True))

    def _check_detail(self, entry: Entry, detail: str, expected: str | None) -> None:
        # Change detection and carried results trust this detail: it must be the one hashed.
        if (sha256(detail) if detail else None) != expected:
            raise LedgerError(damaged(self.location, [
                f"{entry.label}: inventory detail does not match its hash"],
                "its history is not used"))

    def head(self) -> Head | None:
        with self._read_cursor() as cursor:
            return self._head(cursor)

    def _filters(self, types: Sequence[str], systems: Sequence[str],
                 max_seq: int | None, min_seq: int | None = None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        p = self.placeholder
        for column, values in (("type", types), ("system", systems)):
            if values:
                clauses.append(f"{column} IN ({', '.join(p for _ in values)})")
                params.extend(values)
        if max_seq is not None:
            clauses.append(f"seq <= {p}")
            params.append(max_seq)
        if min_seq is not None:
            clauses.append(f"seq >= {p}")
            params.append(min_seq)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def _last(self, cursor: Any) -> Entry | None:
        cursor.execute(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM cryptoaudit_entries "
                       "ORDER BY seq DESC LIMIT 1")
        row = cursor.fetchone()
        return Entry(*row) if row else None

    def _head(self, cursor: Any) -> Head | None:
        cursor.execute("SELECT seq, chain_hash, label FROM cryptoaudit_head WHERE id = 1")
        row = cursor.fetchone()
        return Head(*row) if row else None

    def _insert(self, cursor: Any, entries: list[Entry]) -> None:
        marks = ", ".join(self.placeholder for _ in ENTRY_COLUMNS)
        cursor.executemany(
            f"INSERT INTO cryptoaudit_entries ({', '.join(ENTRY_COLUMNS)}) VALUES ({marks})",
            [tuple(getattr(e, c) for c in ENTRY_COLUMNS) for e in entries])

    def _set_head(self, cursor: Any, last: Entry, *, exists: bool) -> None:
        p = self.placeholder
        values = (last.seq, last.chain_hash, last.label)
        if exists:
            cursor.execute(f"UPDATE cryptoaudit_head SET seq = {p}, chain_hash = {p}, "
                           f"label = {p} WHERE id = 1", values)
        else:
            cursor.execute(f"INSERT INTO cryptoaudit_head (id, seq, chain_hash, label) "
                           f"VALUES (1, {p}, {p}, {p})", values)

    def __enter__(self) -> LedgerStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

