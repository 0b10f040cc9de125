"""No output of any format carries a private key, a password or a token.

The full run audits an unencrypted private key file, a passphrase-protected key, a PKCS#12
bundle whose password is in the environment, and runs with token-like variables set; every
file it wrote (JSON, HTML, JUnit, the Allure folder, OSCAL, CBOM, Markdown, metrics, the
step summary) and its terminal output are searched for each planted secret. A PostgreSQL ledger's
password, in every form a location can carry it, is searched for in the run's output, its
evidence, ``cryptoaudit status`` and ``cryptoaudit ledger verify``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.ledger.conftest import make_project
from tests.reporting.conftest import FullRun


def _outputs(full_run: FullRun) -> dict[str, str]:
    texts = {str(p.relative_to(full_run.out)): p.read_text(errors="replace")
             for p in sorted(full_run.out.rglob("*")) if p.is_file()}
    texts["terminal output"] = full_run.run.output
    return texts


def test_every_format_was_produced(full_run: FullRun) -> None:
    names = set(_outputs(full_run))
    expected = {"evidence.json", "report.html", "junit.xml", "oscal.json", "cbom.json",
                "summary.md", "step-summary.md", "pq-inventory.csv", "metrics.prom"}
    assert expected <= names
    assert any(name.startswith("allure/") and name.endswith("attachment.json")
               for name in names)


def test_no_planted_secret_in_any_output(full_run: FullRun) -> None:
    secrets = full_run.estate.secrets
    assert len(secrets) > 10
    leaks = [(name, secret[:12]) for name, text in _outputs(full_run).items()
             for secret in secrets if secret in text]
    assert leaks == []


def test_the_secrets_were_really_there(full_run: FullRun) -> None:
    """Guard the test above: the planted key is on disk and the audit read it."""
    planted = Path(full_run.estate.root, "keys/weak-rsa.pem").read_text()
    assert full_run.estate.secrets[0] in planted
    assert full_run.result("private-key-encrypted", "files:keys/weak-rsa.pem")["outcome"] == (
        "failed")
    # The PKCS#12 bundle and the encrypted key were opened with passwords from the environment.
    assert full_run.result("key-strength", "files:keys/bundle.p12#1")["outcome"] == "passed"
    assert full_run.result("key-strength", "files:keys/good-ec.pem")["outcome"] == "passed"


# -- a PostgreSQL ledger's password, in every form a location can carry it ---------------------

def _ledger_forms(url: str) -> dict[str, tuple[dict[str, str], str]]:
    """(environment, [ledger] table) per form; the password lives only where each says."""
    parts = urlsplit(url)
    host, port, user, password = parts.hostname, parts.port, parts.username, parts.password
    database = parts.path.lstrip("/")
    assert password
    keywords = f"host={host} port={port} user={user} dbname={database}"
    bare = f"postgresql://{user}@{host}:{port}/{database}"
    return {
        "user and password in the URL": ({"CRYPTOAUDIT_LEDGER": url}, ""),
        "password only in the URL": (
            {"CRYPTOAUDIT_LEDGER": f"postgresql://:{password}@{host}:{port}/{database}"}, ""),
        "password as a URL parameter": (
            {"CRYPTOAUDIT_LEDGER": f"{bare}?password={password}"}, ""),
        "keyword connection string": (
            {"CRYPTOAUDIT_LEDGER": f"{keywords} password={password}"}, ""),
        "an unencoded @ in the password": (
            {"CRYPTOAUDIT_LEDGER": f"postgresql://{user}:x@{password}@{host}:{port}/"
                                   f"{database}"}, ""),
        "PGPASSWORD": ({"CRYPTOAUDIT_LEDGER": bare, "PGPASSWORD": password}, ""),
        "password_env": ({"LEDGER_PW": password},
                         f'[ledger]\nlocation = "{bare}"\npassword_env = "LEDGER_PW"\n'),
    }


def _run(folder: Path, env: dict[str, str], *args: str) -> str:
    completed = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True,
                               timeout=180, check=False)
    return completed.stdout + completed.stderr


@pytest.mark.parametrize("form", [
    "user and password in the URL", "password only in the URL", "password as a URL parameter",
    "keyword connection string", "an unencoded @ in the password", "PGPASSWORD",
    "password_env"])
def test_no_ledger_password_in_any_output(form: str, postgres_url: str, tmp_path: Path) -> None:
    password = urlsplit(postgres_url).password
    assert password
    variables, table = _ledger_forms(postgres_url)[form]
    make_project(tmp_path, extra="\n" + table)
    env = {**os.environ, **variables}
    env.pop("PGPASSWORD", None) if "PGPASSWORD" not in variables else None
    outputs = {
        "pytest": _run(tmp_path, env, sys.executable, "-m", "pytest", "--cryptoaudit",
                       "--cryptoaudit-json=evidence.json", "-p", "no:cacheprovider"),
        "status": _run(tmp_path, env, sys.executable, "-m", "pytest_cryptoaudit", "status"),
        "verify": _run(tmp_path, env, sys.executable, "-m", "pytest_cryptoaudit", "ledger",
                       "verify"),
    }
    outputs.update({str(p.relative_to(tmp_path)): p.read_text(errors="replace")
                    for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".pem"})
    secrets = {password, password[4:]}  # also the tail left after a first '@'
    leaks = [(name, s[:6]) for name, text in outputs.items() for s in secrets if s in text]
    assert leaks == []
    assert not any(password[4:] in p.name for p in tmp_path.rglob("*"))
    if form not in ("password only in the URL", "an unencoded @ in the password"):
        assert "entries appended" in outputs["pytest"], outputs["pytest"][-2000:]
