"""Render a pytest-cryptoaudit HTML report to a PNG with headless Chromium (for the README).

    python scripts/screenshot_report.py report.html report.png
    python scripts/screenshot_report.py --demo report.png    # audit a generated demo estate

Chromium runs headless, without network or sync, with a throw-away profile. The rows open
collapsed (``?collapsed=all``) so that the picture shows the control summary and the table.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--hide-scrollbars")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("chromium is not installed (Debian: apt-get install chromium)")


def render(html: Path, png: Path, width: int = 1400, height: int = 1000) -> Path:
    """Screenshot the report at ``html`` into ``png`` and return ``png``."""
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                   f"--window-size={width},{height}", "--virtual-time-budget=3000",
                   f"--screenshot={png.resolve()}", html.resolve().as_uri() + "?collapsed=all"]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    if not png.is_file():
        raise SystemExit(f"chromium wrote no screenshot to {png}")
    check_png(png, width, height)
    return png


def check_png(png: Path, width: int, height: int) -> None:
    """Refuse a file that is not a PNG of the asked size (a blank or cut-off render)."""
    header = png.read_bytes()[:24]
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{png} is not a PNG")
    size = struct.unpack(">II", header[16:24])
    if size != (width, height):
        raise SystemExit(f"{png} is {size[0]}x{size[1]}, not {width}x{height}")


def demo_report(folder: Path) -> Path:
    """Audit a generated estate with planted weaknesses and return its HTML report."""
    sys.path.insert(0, str(ROOT))
    from pytest_cryptoaudit.testing import audit_env
    from tests.reporting.conftest import SECRET_ENV, build_estate, run_audit

    build_estate(folder)
    report = folder / "report.html"
    run_audit(folder, "--cryptoaudit-waivers", "waivers.toml", "--html", str(report),
              "--self-contained-html", env=audit_env(**SECRET_ENV))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", type=Path, help="the HTML report to render")
    parser.add_argument("png", type=Path, help="where to write the PNG")
    parser.add_argument("--demo", action="store_true", help="render a demo audit instead")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        report = demo_report(Path(scratch)) if args.demo else args.report
        if report is None:
            parser.error("give a report, or --demo")
        print(render(report, args.png, args.width, args.height))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
