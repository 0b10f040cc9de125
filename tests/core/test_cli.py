"""The ``cryptoaudit`` command's own behaviour: a closed pipe, and words around numbers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_cryptoaudit.text import plural

CONFIG = """
[[systems]]
name = "tools"
provider = "files"
risk_tier = "low"
ssrm_owner = "CSC"
paths = ["keys"]
"""


@pytest.mark.parametrize(("count", "expected"), [
    (0, "0 discovery errors"), (1, "1 discovery error"), (2, "2 discovery errors")])
def test_plural(count, expected):
    assert plural(count, "discovery error") == expected
    assert plural(count, "entry", "entries").endswith("entry" if count == 1 else "entries")


def test_a_reader_that_closes_the_pipe_gets_no_traceback(tmp_path: Path):
    (tmp_path / "cryptoaudit.toml").write_text(CONFIG)
    # Close our end before the command writes, as `head` does once it has its lines.
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_cryptoaudit", "status", "--format", "json"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141, stderr
    assert stderr == ""


def test_status_through_a_shell_pipe_into_head(tmp_path: Path):
    (tmp_path / "cryptoaudit.toml").write_text(CONFIG)
    completed = subprocess.run(
        f"'{sys.executable}' -m pytest_cryptoaudit status --format json | head -1",
        shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert completed.stdout == "{\n"
    assert "Traceback" not in completed.stderr and "BrokenPipeError" not in completed.stderr
