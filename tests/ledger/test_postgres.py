"""A ledger shared through PostgreSQL, and the private server the tests start."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

from pytest_cryptoaudit.cli import main
from pytest_cryptoaudit.lab.postgres import PostgresCluster
from pytest_cryptoaudit.ledger.store import LedgerError, open_ledger, redact

from .conftest import make_project


def test_server_runs_unprivileged_on_loopback(postgres: PostgresCluster) -> None:
    assert postgres.process is not None
    status = Path(f"/proc/{postgres.process.pid}/status").read_text()
    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    assert uid == os.geteuid() or (os.geteuid() == 0 and uid != 0)
    assert urlparse(postgres.url).hostname == "127.0.0.1"


def test_audit_run_appends_to_a_shared_postgres_ledger(
        pytester: pytest.Pytester, postgres_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    password = urlparse(postgres_url).password
    assert password
    make_project(pytester.path)
    monkeypatch.setenv("CRYPTOAUDIT_LEDGER", postgres_url)
    result = pytester.runpytest("--cryptoaudit", "-p", "no:cacheprovider")
    output = result.stdout.str()
    assert f"cryptoaudit: ledger {redact(postgres_url)}: 1 entries appended" in output
    assert password not in output
    assert not (pytester.path / ".cryptoaudit").exists()
    with open_ledger(postgres_url, pytester.path) as store:
        [entry] = store.entries()
    assert (entry.system, entry.data["complete"]) == ("app-keys", True)
    config = ["--config", str(pytester.path / "cryptoaudit.toml")]
    capsys.readouterr()
    assert main(["status", "--format", "json", *config]) == 0
    assert json.loads(capsys.readouterr().out)["systems"][0]["state"] == "ok"
    assert main(["ledger", "verify", *config]) == 0
    assert password not in capsys.readouterr().out


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerError) as failure:
        open_ledger("postgresql://auditor:hunter2@127.0.0.1:1/ledger", tmp_path)
    assert str(failure.value).startswith(
        "cannot open ledger postgresql://auditor:***@127.0.0.1:1/ledger: ")
    assert "hunter2" not in str(failure.value)
