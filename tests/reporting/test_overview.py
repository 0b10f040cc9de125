"""The overview at the top of the HTML report: every system with its tier, last complete
audit, next due date, open findings by tier and pending sign-offs, and the plot of findings
over the ledger's history."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from pytest_cryptoaudit.reporting.overview import plot_svg
from pytest_cryptoaudit.testing import audit_pytester

from ..ledger.conftest import make_project

pytest.importorskip("pytest_html")
REVIEW = '[review]\nroles = ["security", "compliance"]\ndays = 10\n'


def _overview(html: str) -> str:
    start = html.index('id="cryptoaudit-overview"')
    return html[start:html.index("</svg>", start)]


def test_the_overview_shows_systems_due_dates_findings_sign_offs_and_history(
        pytester: pytest.Pytester) -> None:
    make_project(pytester.path, extra=REVIEW)
    assert audit_pytester(pytester).ret == 1
    (pytester.path / "keys" / "weak.pem").unlink()
    run = audit_pytester(pytester, "--html", "report.html", "--self-contained-html")
    assert run.ret == 0, run.output
    section = _overview((pytester.path / "report.html").read_text())
    started = datetime.fromisoformat(run.evidence["run"]["started"])
    cells = re.findall(r"<td>(.*?)</td>", section)
    assert cells[:5] == ["app-keys", "medium", f"{started:%Y-%m-%d %H:%M}",
                         f"{started + timedelta(days=90):%Y-%m-%d}",
                         "none"]
    assert cells[5].startswith("run ") and "security, compliance missing" in cells[5]
    assert "this run: security, compliance by" in cells[5]
    points = re.findall(r"<title>[^<]*: (\d+) findings</title>", section)
    assert points == ["1", "0"]  # the weak key's finding, then none


def test_without_a_ledger_the_plot_has_this_run_only(pytester: pytest.Pytester) -> None:
    make_project(pytester.path)
    run = audit_pytester(pytester, "--cryptoaudit-no-ledger", "--html", "report.html")
    section = _overview((pytester.path / "report.html").read_text())
    assert "Findings per complete audit (this run (no ledger))" in section
    assert re.findall(r"<title>[^<]*: (\d+) findings</title>", section) == ["1"]
    assert "<td>medium: 1</td>" in section
    assert run.ret == 1


def test_the_plot_scales_to_the_largest_count() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    svg = plot_svg([(at, 4), (at.replace(month=2), 2)])
    assert '<text x="2" y="30" font-size="11">4</text>' in svg
    xs = [float(v) for v in re.findall(r'<circle cx="([\d.]+)"', svg)]
    assert xs == [30.0, 610.0]
    ys = [float(v) for v in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', svg)]
    assert ys == [30.0, 80.0]  # the top of the plot, then half way down
