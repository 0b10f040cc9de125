"""The pytest-html report, opened in headless Chromium: columns, summary, filters, evidence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.reporting.conftest import FullRun, build_estate

COLUMNS = ["Control", "Check", "System", "Key", "Risk tier", "Owner", "Accountable owner"]


@pytest.fixture
def page(browser: Any, full_run: FullRun) -> Iterator[Any]:
    """The report in a tab of its own: filters, sorting and opened rows (kept in the tab's
    session storage) never carry over, so one test's failure cannot fail the next."""
    browser.switch_to.new_window("tab")
    browser.get((full_run.out / "report.html").as_uri())
    yield browser
    browser.close()
    browser.switch_to.window(browser.window_handles[0])


def _rows(page: Any) -> list[Any]:
    return page.find_elements("css selector", "#results-table tbody.results-table-row")


def _cell(row: Any, column: str) -> str:
    return str(row.find_element("css selector", f".col-{column}").text)


def _checkbox(page: Any, outcome: str) -> Any:
    return page.find_element("css selector", f'input[data-test-result="{outcome}"]')


def test_control_columns_are_visible(page: Any) -> None:
    headers = page.find_elements("css selector", "#results-table-head th")
    shown = [h.text for h in headers if h.is_displayed()]
    assert shown[2:9] == COLUMNS


def test_rows_carry_control_metadata_from_xdist_workers(page: Any, full_run: FullRun) -> None:
    name = "test_private_key_encrypted[private-key-encrypted-files:keys/weak-rsa.pem]"
    row = next(r for r in _rows(page) if name in r.text)
    assert [_cell(row, c) for c in ("control", "check", "system", "key_uid", "risk_tier",
                                    "owner", "accountable_owner")] == [
        "CEK-10", "private-key-encrypted", "app-keys", "files:keys/weak-rsa.pem", "high", "CSC",
        "app-team"]
    assert len(_rows(page)) == len(full_run.evidence["results"])


def test_title_names_the_run_and_time(page: Any, full_run: FullRun) -> None:
    run = full_run.evidence["run"]
    title = page.find_element("id", "title").text
    assert title.startswith(f"Crypto audit {run['id'][:8]}")
    assert run["started"][:10] in title


def test_per_control_summary_is_visible(page: Any, full_run: FullRun) -> None:
    table = page.find_element("id", "cryptoaudit-controls")
    assert table.is_displayed()
    rows = table.find_elements("css selector", "tbody tr")
    summary = full_run.evidence["summary"]
    assert [r.find_element("css selector", "td").text for r in rows] == list(summary)
    cek04 = rows[list(summary).index("CEK-04")].find_elements("css selector", "td")
    # Control, Title, Passed, Failed, Errors, Waived, Skipped, Not applicable, Worst tier
    assert cek04[5].text == "1"
    cek17 = rows[list(summary).index("CEK-17")].find_elements("css selector", "td")
    assert (cek17[3].text, cek17[8].text) == ("1", "medium")
    # CEK-08's checks are all for key stores: none applies to these key files.
    cek08 = rows[list(summary).index("CEK-08")].find_elements("css selector", "td")
    assert (cek08[2].text, cek08[7].text) == ("0", str(summary["CEK-08"]["not-applicable"]))
    assert summary["CEK-08"]["not-applicable"] > 0
    waivers = page.find_element("id", "cryptoaudit-waivers").text
    assert "expired W-expired-cert" in waivers
    assert "stale W-stale" in waivers


def test_filtering_by_outcome(page: Any, full_run: FullRun) -> None:
    outcomes = [r["outcome"] for r in full_run.evidence["results"]]
    before = len(_rows(page))
    _checkbox(page, "passed").click()
    remaining = _rows(page)
    assert len(remaining) == before - outcomes.count("passed")
    assert not page.find_elements("css selector", "#results-table tbody.passed")
    for outcome in ("failed", "error", "skipped"):
        _checkbox(page, outcome).click()
    waived = _rows(page)
    assert [_cell(r, "key_uid") for r in waived] == ["files:keys/weak-rsa.pem"]
    assert "Waived" in page.find_element("css selector", "span.xfailed").text
    for outcome in ("passed", "failed", "error", "skipped"):
        _checkbox(page, outcome).click()
    assert len(_rows(page)) == before


def test_each_test_shows_its_evidence(page: Any) -> None:
    row = next(r for r in _rows(page)
               if "test_key_strength[key-strength-files:keys/weak-rsa.pem]" in r.text)
    if not row.find_element("css selector", ".extra").is_displayed():
        row.find_element("css selector", ".col-result").click()
    evidence = row.find_element("css selector", ".cryptoaudit-evidence").text
    assert "key.algorithm RSA" in evidence
    assert "key.size 1024" in evidence
    assert "W-weak-rsa (applied): approved by J. Doe (CISO) until 2099-12-31" in evidence
    assert "NIST SP 800-131A Rev 2" in evidence


def test_report_without_pytest_html(pytester: pytest.Pytester) -> None:
    """The integration registers nothing when pytest-html is not loaded (its hooks would be
    unknown to pytest and fail the run) or writes no report."""
    build_estate(pytester.path)
    pytester.makeconftest("""
        def pytest_sessionfinish(session):
            manager = session.config.pluginmanager
            print("html loaded:", manager.hasplugin("html"),
                  "integration:", manager.get_plugin("cryptoaudit-html") is not None)
    """)
    result = pytester.runpytest("--cryptoaudit", "-s", "-p", "no:html",
                                "--cryptoaudit-control", "CEK-04",
                                "--cryptoaudit-system", "web-certs")
    result.assert_outcomes(passed=12)  # 3 certificates x 4 CEK-04 checks
    result.stdout.fnmatch_lines(["*html loaded: False integration: False*"])
    no_report = pytester.runpytest("--cryptoaudit", "-s", "--cryptoaudit-control", "CEK-04",
                                   "--cryptoaudit-system", "web-certs")
    # loaded but not asked for a report: the integration would only cost time per test
    no_report.stdout.fnmatch_lines(["*html loaded: True integration: False*"])
    with_html = pytester.runpytest("--cryptoaudit", "-s", "--cryptoaudit-control", "CEK-04",
                                   "--cryptoaudit-system", "web-certs", "--html", "r.html")
    with_html.stdout.fnmatch_lines(["*html loaded: True integration: True*"])
