"""The package and its controls stay clean under ``mypy --strict`` with the project config."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_config_is_strict_over_package_and_controls() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config.get("strict") is True
    assert set(config["files"]) >= {"pytest_cryptoaudit", "controls"}


@pytest.mark.slow
def test_mypy_strict_reports_no_issues() -> None:
    # --strict on the command line too, so a loosened config cannot make this pass. The
    # cache is mypy's own incremental cache (the one ``mypy`` on the command line keeps):
    # mypy re-checks every module whose source, dependencies or options changed, so a warm
    # cache gives the same answer as a cold one in a fraction of the time (a fresh checkout,
    # as in CI, starts cold).
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(ROOT / ".mypy_cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
