"""Fixtures of the ledger tests: a private PostgreSQL server, ledgers of both kinds, and a
project folder with a files-provider configuration for end-to-end runs."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Imported once here rather than inside every in-process pytester run, which would unload
# and import them again each time.
import pytest_cryptoaudit.ledger.plugin
import pytest_cryptoaudit.providers.files
import pytest_cryptoaudit.reporting.evidence
import pytest_cryptoaudit.reporting.terminal
import pytest_cryptoaudit.session  # noqa: F401
from pytest_cryptoaudit.lab.postgres import PostgresCluster, find_bin_dir
from pytest_cryptoaudit.lab.processes import ServiceError
from pytest_cryptoaudit.ledger.store import LedgerStore, open_ledger

from ..factories import private_pem, rsa_key, write

GOOD_KEY = rsa_key(2048)
WEAK_KEY = rsa_key(1024)
PROJECT = """
[[systems]]
name = "app-keys"
provider = "files"
risk_tier = "{tier}"
ssrm_owner = "CSC"
accountable_owner = "crypto-team"
paths = ["keys"]

[policy]
version = "3.1"
reviewed_on = {reviewed_on}
"""


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One PostgreSQL server for the session (Debian package ``postgresql``)."""
    try:
        bin_dir = find_bin_dir()
    except ServiceError as exc:
        if os.environ.get("CRYPTOAUDIT_REQUIRE_SERVICES") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    cluster = PostgresCluster(bin_dir).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres: PostgresCluster) -> str:
    """A fresh, empty database on the session's server."""
    return postgres.create_database(f"ledger_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty ledger location of each kind."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    return request.getfixturevalue("postgres_url")  # type: ignore[no-any-return]


@pytest.fixture
def store(location: str, tmp_path: Path) -> Iterator[LedgerStore]:
    with open_ledger(location, tmp_path) as opened:
        yield opened


def raw_sql(location: str, statement: str, params: tuple[Any, ...] = ()) -> None:
    """Change the ledger behind cryptoaudit's back, as a tamperer with database access."""
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as connection:
            connection.execute(statement.replace("?", "%s"), params)
        return
    with sqlite3.connect(location) as connection:
        connection.execute(statement, params)


def make_project(folder: Path, *, tier: str = "medium", reviewed_on: str = "2026-06-01",
                 weak: bool = True, extra: str = "", top: str = "") -> Path:
    """A configuration auditing ``keys/`` with one good key and, if ``weak``, an RSA-1024
    key (a CEK-04 finding). Medium tier allows unencrypted key files. ``top`` holds
    top-level keys (before the first table), ``extra`` more tables."""
    (folder / "cryptoaudit.toml").write_text(
        top + PROJECT.format(tier=tier, reviewed_on=reviewed_on) + extra)
    write(folder / "keys" / "good.pem", private_pem(GOOD_KEY))
    if weak:
        write(folder / "keys" / "weak.pem", private_pem(WEAK_KEY))
    return folder
