"""A ledger shared by many CI runners: PostgreSQL (``pip install pytest-cryptoaudit[postgres]``).

Every writer takes a transaction-scoped advisory lock before it reads the head, so runs
appending at once are serialized across hosts. Put the password in ``PGPASSWORD``,
``~/.pgpass`` or the variable ``[ledger] password_env`` names, never in the configuration;
messages show the location rebuilt without its password.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .location import LedgerLocation
from .store import SCHEMA, LedgerError, LedgerStore

#: An arbitrary, fixed 64-bit key: "cryptoaudit" in ASCII, to stay clear of other users.
LOCK_KEY = 0x63727970746F6175
CONNECT_TIMEOUT = 15


class PostgresStore(LedgerStore):
    """A ledger in a PostgreSQL database (tables ``cryptoaudit_entries``/``_head``)."""

    placeholder = "%s"

    def __init__(self, location: LedgerLocation, password: str | None = None) -> None:
        super().__init__(location.shown)
        try:
            import psycopg
        except ImportError as exc:
            raise LedgerError("a postgresql:// ledger needs psycopg: "
                              "pip install 'pytest-cryptoaudit[postgres]'") from exc
        self._errors = (psycopg.Error,)
        try:
            # A password given apart overrides one in the location; without either, libpq
            # reads PGPASSWORD and ~/.pgpass itself.
            extra: dict[str, Any] = {"password": password} if password else {}
            self.connection = psycopg.connect(location.target, connect_timeout=CONNECT_TIMEOUT,
                                              autocommit=True, **extra)
        except psycopg.Error as exc:
            # psycopg's message names host, port and user, never the password
            raise LedgerError(f"cannot open ledger {self.location}: {exc}") from None
        with self._write_transaction() as cursor:
            for statement in SCHEMA:
                cursor.execute(statement)

    @contextlib.contextmanager
    def _write_transaction(self) -> Iterator[Any]:
        try:
            with self.connection.transaction(), self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                yield cursor
        except self._errors as exc:
            raise LedgerError(f"cannot write ledger {self.location}: {exc}") from None

    @contextlib.contextmanager
    def _read_cursor(self) -> Iterator[Any]:
        try:
            with self.connection.cursor() as cursor:
                yield cursor
        except self._errors as exc:
            raise LedgerError(f"cannot read ledger {self.location}: {exc}") from None

    def close(self) -> None:
        self.connection.close()
