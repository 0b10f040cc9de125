"""scripts/screenshot_report.py renders a report to a PNG of the asked size."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import pytest

from tests.conftest import require_executable
from tests.reporting.conftest import FullRun

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshot_report.py"


def test_screenshot_of_the_report(full_run: FullRun, tmp_path: Path) -> None:
    require_executable("chromium", "apt-get install chromium")
    spec = importlib.util.spec_from_file_location("screenshot_report", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    png = module.render(full_run.out / "report.html", tmp_path / "report.png", 900, 700)
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (900, 700)
    with pytest.raises(SystemExit):
        module.main([str(tmp_path / "report.png")])  # neither a report nor --demo
