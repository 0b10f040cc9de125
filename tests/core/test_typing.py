"""The package and its controls stay clean under ``mypy --strict`` with the project config."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_config_is_strict_over_package_and_controls() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config.get("strict") is True
    assert set(config["files"]) >= {"pytest_cryptoaudit", "controls"}


def test_mypy_strict_reports_no_issues(tmp_path: Path) -> None:
    # --strict on the command line too, so a loosened config cannot make this pass; a fresh
    # cache keeps the result independent of whatever a developer's last run left behind.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
