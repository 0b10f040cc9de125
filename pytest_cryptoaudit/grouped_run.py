"""The run of a grouped test: its subjects one by one, each reported as a pytest subtest
named as the subject's own test (see ``grouped.py``). Imported only under
``--cryptoaudit-group-by``: it needs pytest 9's built-in ``subtests``."""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Literal

import pytest
from _pytest._code import ExceptionInfo
from _pytest.outcomes import Exit
from _pytest.subtests import SubtestReport

from .catalog import ControlSpec
from .clock import CLOCK, Clock
from .compact import compact_text
from .errors import CryptoAuditError
from .grouped import SubjectGroup, group_of
from .results import METADATA, Notes, junit_properties, subject_metadata, without_metadata
from .subtest_reports import (
    SUBJECT_NODEID,
    close_html_row,
    html_reports,
    junit_properties_now,
    subtest_report,
)

if TYPE_CHECKING:
    from .session import AuditSession


class GroupedRun:
    """Runs each grouped test's subjects as subtests; registered under the option."""

    def __init__(self, config: pytest.Config, audit: AuditSession) -> None:
        if config.pluginmanager.is_blocked("subtests"):
            raise pytest.UsageError(
                "--cryptoaudit-group-by reports each key as a pytest subtest, and the "
                "subtests plugin is disabled: drop -p no:subtests")
        if config.getoption("allure_report_dir", None):
            raise pytest.UsageError(
                "--cryptoaudit-group-by cannot be combined with --alluredir: allure-pytest "
                "writes one result per pytest test, not per subtest, so it would show one "
                "result per (check, system); drop one of them (the evidence, JUnit XML and "
                "pytest-html stay per key)")
        self.config = config
        self.audit = audit
        self.junit = bool(config.getoption("xmlpath", None))
        self.on_worker = hasattr(config, "workerinput")
        #: The grouped test running now, and the keywords its subtests' reports share.
        self._running: tuple[pytest.Item, dict[str, int]] | None = None
        self._fanning = False  # reporting a grouped test's failed setup per subject
        self._html: list[Any] | None = None  # pytest-html's report, once looked for

    def describe(self, item: pytest.Item, spec: ControlSpec, group: SubjectGroup) -> None:
        """Keywords of a grouped test: its check, system, and its subjects' tiers and owners
        (``-k``/``-m`` select whole (check, system) tests in grouped mode)."""
        keywords = {spec.id, group.system}
        for subject in group.subjects:
            keywords.add(str(getattr(subject, "risk_tier", "")))
            keywords.add(str(getattr(subject, "owner", "")))
        item.extra_keyword_matches.update(k for k in keywords if k)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        group = group_of(pyfuncitem)
        if group is None:
            return None
        spec = self.audit.spec_of(pyfuncitem)
        assert spec is not None, "only control tests are grouped"
        base = {name: pyfuncitem.funcargs[name]
                for name in pyfuncitem._fixtureinfo.argnames}
        prefix = f"{pyfuncitem.nodeid.rsplit('[', 1)[0]}[{spec.check}-"
        properties = list(pyfuncitem.user_properties)
        self._running = (pyfuncitem, {name: 1 for name in pyfuncitem.keywords})
        try:
            for subject in group.subjects:
                if pyfuncitem.session.shouldfail or pyfuncitem.session.shouldstop:
                    break
                self._subtest(pyfuncitem, spec, group.fixture, subject, base, prefix,
                              properties)
        finally:
            self._running = None
            # the grouped test's own reports are no result: its subjects' subtests are
            if METADATA in pyfuncitem.stash:
                del pyfuncitem.stash[METADATA]
            pyfuncitem.user_properties[:] = properties
        return True

    def _subtest(self, item: pytest.Function, spec: ControlSpec, fixture: str, subject: Any,
                 base: dict[str, Any], prefix: str, properties: list[Any]) -> None:
        """Run the control on one subject and report it as that subject's own test would."""
        notes = Notes()
        self._before(item, spec, subject, notes, properties)
        call = _call(item, spec, fixture, subject, base, notes)
        self._report(item, call, prefix)
        if call.excinfo is not None and isinstance(call.excinfo.value, Exit | KeyboardInterrupt):
            raise call.excinfo.value

    def _before(self, item: pytest.Item, spec: ControlSpec, subject: Any, notes: Notes,
                properties: list[Any]) -> None:
        """What the audit's hooks read of the subject's test: its metadata, notes, and the
        properties JUnit XML shows."""
        metadata = subject_metadata(spec, subject)
        metadata["inputs_sha256"] = self.audit.hasher.inputs(item, metadata, subject)
        item.stash[METADATA] = metadata
        funcargs = getattr(item, "funcargs", None)
        if funcargs and "crypto_note" in funcargs:  # what the report reads the notes from
            funcargs["crypto_note"] = notes
        item.user_properties[:] = properties
        if self.junit:
            item.user_properties.extend(junit_properties(metadata))

    def _report(self, item: pytest.Item, call: pytest.CallInfo[None], prefix: str) -> None:
        metadata = item.stash[METADATA]
        report = item.ihook.pytest_runtest_makereport(item=item, call=call)
        sub = subtest_report(report, f"{prefix}{metadata['key_uid']}]", metadata,
                              on_worker=self.on_worker)
        if len(sub.user_properties) != len(item.user_properties):  # a waiver, added late
            sub.user_properties = list(item.user_properties)
        item.ihook.pytest_runtest_logreport(report=sub)

    def _setup_failed(self, item: pytest.Item, group: SubjectGroup,
                      call: pytest.CallInfo[None]) -> None:
        """A fixture of a grouped test errored or skipped: so does each of its subjects,
        as each subject's own test would have (a failure to look is never a missing
        result)."""
        spec = self.audit.spec_of(item)
        assert spec is not None, "only control tests are grouped"
        prefix = f"{item.nodeid.rsplit('[', 1)[0]}[{spec.check}-"
        properties = list(item.user_properties)
        self._fanning = True
        try:
            for subject in group.subjects:
                self._before(item, spec, subject, Notes(), properties)
                self._report(item, call, prefix)
        finally:
            self._fanning = False
            del item.stash[METADATA]
            item.user_properties[:] = properties

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> pytest.TestReport | None:
        """A subtest's report, passed or a finding, built with the keywords its grouped test's
        subtests share (a copy per report is most of a report's memory); an error or a skip
        gets pytest's own report, with its traceback."""
        if self._running is None or self._running[0] is not item:
            group = group_of(item) if call.when == "setup" and call.excinfo else None
            if group is not None and not self._fanning:
                self._setup_failed(item, group, call)
            return None
        if call.when != "call":  # a required fact unreadable: as the subject fixture's error
            return None
        outcome: Literal["passed", "failed"]
        if call.excinfo is None:
            outcome, longrepr = "passed", None
        else:
            longrepr = compact_text(call)
            if longrepr is None:
                return None
            outcome = "failed"
        report = SubtestReport(item.nodeid, item.location, self._running[1], outcome, longrepr,
                               "call", [], call.duration, call.start, call.stop,
                               user_properties=item.user_properties)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_from_serializable(self, data: dict[str, Any]) -> SubtestReport | None:
        """On the xdist controller: a subject's report, named as its own test again."""
        nodeid = data.get(SUBJECT_NODEID)
        if data.get("_report_type") != "SubTestReport" or nodeid is None:
            return None
        report = SubtestReport._from_json(data)
        report.nodeid = nodeid
        del report.__dict__[SUBJECT_NODEID]
        return report

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Generator[None, None, None]:
        """Once every plugin has read a subtest's report: its metadata is in the results,
        so the report that pytest's terminal keeps drops it (memory, per subject)."""
        data = getattr(report, "cryptoaudit", None)
        # asked before the audit session folds it (and lets go of a setup phase's metadata)
        subjects_only = isinstance(report, SubtestReport) and data and "metadata" in data
        try:
            return (yield)
        finally:
            if subjects_only:
                data = report.cryptoaudit
                report.cryptoaudit = without_metadata(data)  # type: ignore[attr-defined]
                if self.junit:
                    junit_properties_now(self.config, report)
                if self._html is None:
                    self._html = html_reports(self.config)
                for html in self._html:
                    close_html_row(html, report)
                self._forget_if_uncounted(report)

    def _forget_if_uncounted(self, report: pytest.TestReport) -> None:
        """pytest's terminal keeps every report, even those of the category it neither
        shows nor counts (a passed subtest's, unless ``-v``): a million of them are most
        of a grouped run's memory, so the last one is dropped from there."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        uncounted = getattr(reporter, "stats", {}).get("")
        if uncounted and uncounted[-1] is report:
            uncounted.pop()


def _call(item: pytest.Function, spec: ControlSpec, fixture: str, subject: Any,
          base: dict[str, Any], notes: Notes) -> pytest.CallInfo[None]:
    """Call the control function on one subject, as pytest's call phase would."""
    kwargs = dict(base)
    kwargs[fixture] = subject
    if "crypto_note" in kwargs:
        kwargs["crypto_note"] = notes
    if "crypto_clock" in kwargs:  # each subject's thresholds are its own (valid_until)
        kwargs["crypto_clock"] = item.stash[CLOCK] = Clock(kwargs["crypto_clock"].now)
    start, begun = time.time(), time.perf_counter()
    excinfo: ExceptionInfo[BaseException] | None = None
    # A required fact unreadable fails the subject's setup, as the subject fixture does.
    when: Literal["setup", "call"] = "setup"
    try:
        missing = spec.missing(subject)
        if missing:
            reasons = "; ".join(f"{name}: {why}" for name, why in missing.items())
            raise CryptoAuditError(f"cannot audit {subject.uid}: {reasons}")
        when = "call"
        item.obj(**kwargs)
    except BaseException as exc:  # classified by the report, as pytest does
        excinfo = ExceptionInfo.from_exception(exc)
    duration = time.perf_counter() - begun
    return pytest.CallInfo(None, excinfo, start=start, stop=start + duration,
                           duration=duration, when=when, _ispytest=True)
