"""The built wheel ships the controls: install it in a fresh venv and audit an empty folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.factories import ec_key, private_pem, rsa_key, write

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[[systems]]
name = "laptop"
provider = "files"
risk_tier = "medium"
ssrm_owner = "CSC"
paths = ["keys"]
"""


def run(args, cwd, env=None):
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(args, cwd=cwd, env={**clean_env, **(env or {})}, capture_output=True,
                          text=True, timeout=600, check=False)


def build_wheel(source: Path, dist: Path) -> Path:
    built = run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                 str(dist), str(source)], cwd=source)
    assert built.returncode == 0, built.stdout + built.stderr
    return max(dist.glob("*.whl"), key=lambda p: p.stat().st_mtime)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtual environment with only the built wheel (and its dependencies)."""
    wheel = build_wheel(ROOT, tmp_path_factory.mktemp("dist"))
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    installed = run([str(python), "-m", "pip", "install", "-q", str(wheel)], cwd=env_dir)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return python, wheel


def test_wheel_contains_the_controls(installed):
    import zipfile

    _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "pytest_cryptoaudit/controls/algorithms.py" in names
    assert "pytest_cryptoaudit/schemas/evidence-1.schema.json" in names


def test_installed_wheel_audits_an_empty_folder(installed, tmp_path):
    python, _ = installed
    write(tmp_path / "keys/weak.pem", private_pem(rsa_key(1024)))
    write(tmp_path / "keys/strong.pem", private_pem(ec_key()))
    (tmp_path / "cryptoaudit.toml").write_text(CONFIG)
    where = run([str(python), "-c", "import pytest_cryptoaudit as p; print(p.__file__)"],
                cwd=tmp_path)
    assert str(python.parent.parent) in where.stdout, where.stdout + where.stderr
    result = run([str(python), "-m", "pytest", "--cryptoaudit", "-p", "no:cacheprovider",
                  "--cryptoaudit-json", "evidence.json"], cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    outcomes = {(r["key_uid"], r["check"]): r["outcome"] for r in evidence["results"]}
    assert outcomes[("files:keys/weak.pem", "key-strength")] == "failed"
    assert outcomes[("files:keys/strong.pem", "key-strength")] == "passed"
    assert {r["control"] for r in evidence["results"]} >= {"CEK-04", "CEK-10", "CEK-12"}


CSV_CONFIG = """
[[systems]]
name = "spreadsheet"
provider = "csv-inventory"
risk_tier = "low"
ssrm_owner = "CSC"
path = "keys.csv"
"""

CSV = """id,algorithm,size,kind,created,owner,tier
payments-signing,RSA,1024,private-key,2025-01-01,payments-team,critical
backup-wrap,AES,256,secret-key,2026-06-01,,
broken,AES,lots,secret-key,2026-06-01,,
"""


def test_third_party_provider_from_its_entry_point(installed, tmp_path):
    python, _ = installed
    wheel = build_wheel(ROOT / "examples/third-party-provider", tmp_path / "dist")
    added = run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    (tmp_path / "cryptoaudit.toml").write_text(CSV_CONFIG)
    (tmp_path / "keys.csv").write_text(CSV)
    result = run([str(python), "-m", "pytest", "--cryptoaudit", "-p", "no:cacheprovider",
                  "--cryptoaudit-json", "evidence.json"], cwd=tmp_path)
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    outcomes = {(r["key_uid"], r["check"]): r["outcome"] for r in evidence["results"]}
    assert outcomes[("csv:payments-signing", "key-strength")] == "failed", result.stdout
    assert outcomes[("csv:backup-wrap", "key-strength")] == "passed"
    assert outcomes[("csv:broken", "discovery-complete")] == "error"
    keys = {k["uid"]: k for k in evidence["inventory"]}
    assert keys["csv:payments-signing"]["risk_tier"] == "critical"  # from its tag
    assert keys["csv:payments-signing"]["accountable_owner"] == "payments-team"
