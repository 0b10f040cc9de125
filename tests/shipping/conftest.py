"""Fixtures for the shipping checks: the repository root and distributions built from it."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None,
        timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run a command with the caller's environment (and so its PYTHONPATH) plus ``env``."""
    return subprocess.run(args, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout, check=False)


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="session")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The sdist and the wheel, built from this tree as the release workflow builds them."""
    dist = tmp_path_factory.mktemp("dist")
    built = run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist),
                 str(ROOT)], cwd=ROOT)
    assert built.returncode == 0, built.stdout + built.stderr
    found = sorted(dist.glob("*.tar.gz")) + sorted(dist.glob("*.whl"))
    assert len(found) == 2, found
    return found
