"""The default ledger: one SQLite file next to the configuration.

A writer opens its transaction with ``BEGIN IMMEDIATE``, which takes the database's write
lock before reading the head, so two runs appending at once are serialized; the other
waits (up to ``BUSY_TIMEOUT`` seconds) instead of failing or forking the chain.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .store import SCHEMA, LedgerError, LedgerStore

BUSY_TIMEOUT = 120.0


class SqliteStore(LedgerStore):
    """A ledger in a SQLite file (created with its folder on first use)."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
            with self._write_transaction() as cursor:
                for statement in SCHEMA:
                    cursor.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"cannot open ledger {path}: {exc}") from exc

    @contextlib.contextmanager
    def _write_transaction(self) -> Iterator[Any]:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            yield cursor
            cursor.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(cursor)
            raise LedgerError(f"cannot write ledger {self.path}: {exc}") from exc
        except BaseException:
            self._rollback(cursor)
            raise
        finally:
            cursor.close()

    @staticmethod
    def _rollback(cursor: sqlite3.Cursor) -> None:
        with contextlib.suppress(sqlite3.Error):
            cursor.execute("ROLLBACK")

    @contextlib.contextmanager
    def _read_cursor(self) -> Iterator[Any]:
        cursor = self.connection.cursor()
        try:
            yield cursor
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot read ledger {self.path}: {exc}") from exc
        finally:
            cursor.close()

    def close(self) -> None:
        self.connection.close()
