"""How a grouped test's subjects reach pytest's reporters: one ``SubtestReport`` each.

A subject's report carries the node id its own test would have had. JUnit XML and pytest-html
finish a test case when its teardown report arrives, which a subtest has not, so each gets
what it needs here (see ``grouped.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from _pytest.subtests import SubtestContext, SubtestReport

#: Where an xdist worker's subtest report carries the node id of its subject's own test.
SUBJECT_NODEID = "cryptoaudit_nodeid"
#: A subtest's context names its subject in ``msg``; no subtest has keyword arguments.
_NO_KWARGS: dict[str, Any] = {}


def subtest_report(report: pytest.TestReport, nodeid: str, metadata: Mapping[str, Any], *,
                    on_worker: bool) -> SubtestReport:
    """The call report as pytest's ``SubtestReport``, named as the subject's own test.

    An xdist worker sends the reports of the test it runs under that test's node id (it
    checks), so there the subject's node id travels beside it, for the controller to
    restore (``GroupedRun.pytest_report_from_serializable``)."""
    if isinstance(report, SubtestReport):
        sub = report
    else:
        sub = SubtestReport.__new__(SubtestReport)
        sub.__dict__.update(report.__dict__)
    if on_worker:
        setattr(sub, SUBJECT_NODEID, nodeid)
    else:
        sub.nodeid = nodeid
    sub.context = SubtestContext(msg=metadata["key_uid"], kwargs=_NO_KWARGS)
    data = getattr(report, "cryptoaudit", None)
    if data is not None:  # the metadata travels on the subject's only report
        sub.cryptoaudit = {**data, "metadata": metadata}  # type: ignore[attr-defined]
    return sub


def html_reports(config: pytest.Config) -> list[Any]:
    """pytest-html's report of this run, if it writes one (``--html``)."""
    from importlib.util import find_spec

    if find_spec("pytest_html") is None:
        return []
    from pytest_html.basereport import BaseReport

    return [p for p in config.pluginmanager.get_plugins() if isinstance(p, BaseReport)]


def close_html_row(html: Any, report: pytest.TestReport) -> None:
    """pytest-html writes a test's row once its teardown report arrives, which a subtest
    has not: give it one, passed and empty, as the subject's own test would have had."""
    html.pytest_runtest_logreport(pytest.TestReport(
        report.nodeid, report.location, report.keywords, "passed", None, "teardown", [], 0.0,
        report.stop, report.stop, user_properties=report.user_properties))


def junit_properties_now(config: pytest.Config, report: pytest.TestReport) -> None:
    """JUnit XML writes a test's properties from its teardown report, which a subtest has
    not: give its test case the properties now."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    reporter = xml.node_reporter(report)
    for name, value in report.user_properties:
        reporter.add_property(name, str(value))
