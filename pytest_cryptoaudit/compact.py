"""How audit tests appear to pytest: a finding is not a Python failure.

A finding (an assertion in a control) gets the message as its long representation, so no
traceback is formatted for it, and it stays out of pytest's FAILURES section and short summary:
the plugin's own summary lists every finding compactly. pytest's summary of failures is
quadratic in their number (each one scans every report for its teardown), and tracebacks of
thousands of findings would bury the errors that need them. Errors in control code keep
pytest's tracebacks (and ``--tb``, ``-r``, ``-v``); an error raised by the plugin itself (a
discovery error, a required attribute unreadable) shows its reason alone.

A check that could not look is an error in every format: pytest counts a control's call-phase
exception other than an assertion as an error, and JUnit XML writes ``<error>`` for it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from .errors import CryptoAuditError
from .model import Outcome
from .results import METADATA, assertion_message


class CompactReports:
    """Builds and classifies the reports of audit tests; registered with the audit session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> pytest.TestReport | None:
        """The report of a finding or plugin error, built without formatting a traceback;
        of a passed phase, built without the item's keywords."""
        if METADATA not in item.stash:
            return None
        if call.excinfo is None:
            return _report(item, call, None)
        text = compact_text(call)
        return None if text is None else _report(item, call, text)

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport) -> Any:
        """A control that raised anything but an assertion could not look: an error."""
        if report.when == "call" and is_audit_error(report):
            return "error", "E", "ERROR"
        return None

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and is_audit_error(report):
            _junit_error(self.config, report)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Generator[None, None, None]:
        """Keep findings out of pytest's FAILURES and short summary while they are written,
        and back in its statistics for the closing "N failed" line."""
        stats: dict[str, list[Any]] = terminalreporter.stats
        failed = stats.get("failed")
        if not failed:
            return (yield)
        stats["failed"] = [report for report in failed if not is_finding(report)]
        try:
            return (yield)
        finally:
            stats["failed"] = failed


def compact_text(call: pytest.CallInfo[None]) -> str | None:
    """The long representation of a finding or of an error the plugin raised; None for any
    other exception, which keeps its traceback."""
    excinfo = call.excinfo
    if excinfo is None:
        return None
    if call.when == "call" and excinfo.errisinstance(AssertionError):
        return assertion_message(excinfo.value)
    if excinfo.errisinstance(CryptoAuditError):
        return str(excinfo.value)
    return None


#: The keywords of every passed phase's report: one empty dict, as nothing adds to a
#: report's keywords (under xdist each report crossing to the controller gets its own).
NO_KEYWORDS: dict[str, Any] = {}


def _report(item: pytest.Item, call: pytest.CallInfo[None],
            text: str | None) -> pytest.TestReport:
    """What ``TestReport.from_item_and_call`` makes, with ``text`` as the long representation
    of a failure; a passed phase (``text`` None) gets no keywords. pytest copies the item's
    dozen keywords (the path's folders, the subject's id twice) into every report, where
    nothing reads those of a passed phase, yet the terminal keeps every report to the end:
    a third of a report's memory, and of its bytes to an xdist controller."""
    sections = [(f"Captured {key} {when}", content)
                for when, key, content in item._report_sections]
    keywords = NO_KEYWORDS if text is None else {name: 1 for name in item.keywords}
    return pytest.TestReport(
        item.nodeid, item.location, keywords, "failed" if text else "passed", text,
        call.when, sections, call.duration, call.start, call.stop,  # type: ignore[arg-type]
        user_properties=item.user_properties,
    )


def _junit_error(config: pytest.Config, report: pytest.TestReport) -> None:
    """Turn the ``<failure>`` that pytest's JUnit writer gave a call-phase report into an
    ``<error>``: the writer decides by phase alone and offers no hook to say otherwise."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    for node in reversed(xml.node_reporter(report).nodes):
        if node.tag == "failure":
            node.tag = "error"
            xml.stats["failure"] -= 1
            xml.stats["error"] += 1
            return


def _outcome(report: Any) -> str | None:
    data = getattr(report, "cryptoaudit", None)
    return data["outcome"] if data else None


def is_finding(report: Any) -> bool:
    """A control's assertion: counted as a failure, listed by the plugin's summary."""
    return report.when == "call" and _outcome(report) == Outcome.FAILED.value


def is_audit_error(report: Any) -> bool:
    return report.failed and _outcome(report) == Outcome.ERROR.value
