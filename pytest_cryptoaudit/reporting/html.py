"""pytest-html integration: control columns, a per-control summary and each test's evidence.

Registered only when pytest-html is installed (its hooks are unknown otherwise). The row
data comes from ``report.cryptoaudit``, which travels on the report from xdist workers, joined
with the control metadata of the test's result; the
summary comes from the evidence; the evidence extra from the inventory the evidence
carries. pytest-html shows a waived finding as an expected failure (xfail), relabelled here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from html import escape
from typing import TYPE_CHECKING, Any

import pytest

from ..evidence_model import Evidence, NotApplicable, Waivers
from ..text import plural
from ..waivers import APPLIED, waiver_lines
from .links import reference_url
from .subjects import Subjects
from .summary import GROUP_COLUMNS, carried_line, group_rows, headline, more, summary_view
from .typed import typed_evidence

if TYPE_CHECKING:
    from ..session import AuditSession

#: (header, metadata key) of the columns added after pytest-html's "Test" column.
COLUMNS = (("Control", "control"), ("Check", "check"), ("System", "system"),
           ("Key", "key_uid"), ("Risk tier", "risk_tier"), ("Owner", "owner"),
           ("Accountable owner", "accountable_owner"))
COUNTS = (("Passed", "passed"), ("Failed", "failed"), ("Errors", "error"),
          ("Waived", "waived"), ("Skipped", "skipped"), ("Not applicable", "not-applicable"))
INSERT_AT = 2
STYLE = """<style>
.cryptoaudit-summary table { border-collapse: collapse; margin: 0.5em 0 1em; }
.cryptoaudit-summary th, .cryptoaudit-summary td { border: 1px solid #ccc; padding: 2px 8px; }
.cryptoaudit-summary td.bad { color: #c00; font-weight: bold; }
.cryptoaudit-evidence th { text-align: left; padding-right: 1em; vertical-align: top; }
.cryptoaudit-evidence pre { white-space: pre-wrap; margin: 0; }
</style>"""


class HtmlReporter:
    """Adds the audit's columns, summary and evidence to a pytest-html report."""

    def __init__(self, audit: AuditSession) -> None:
        self.audit = audit
        self._subjects: Subjects | None = None

    def pytest_html_report_title(self, report: Any) -> None:
        """Name the run and its start time; call waived findings by their name."""
        started = self.audit.started.strftime("%Y-%m-%d %H:%M:%S UTC")
        report.title = f"Crypto audit {self.audit.run_id[:8]} \u2014 {started}"
        outcomes = getattr(report, "outcomes", None)
        if isinstance(outcomes, dict) and "xfailed" in outcomes:
            outcomes["xfailed"]["label"] = "Waived (expected failures)"

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        """Control, Check, System, Key, Risk tier, Owner (SSRM) and Accountable owner,
        sortable."""
        cells[INSERT_AT:INSERT_AT] = [
            f'<th class="sortable" data-column-type="{key}">{title}</th>'
            for title, key in COLUMNS
        ]

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        """The row's control metadata (empty cells for tests that are no control)."""
        data = self.audit.described(report) or {}
        cells[INSERT_AT:INSERT_AT] = [
            f'<td class="col-{key}">{escape(str(data.get(key, "")))}</td>' for _, key in COLUMNS
        ]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Attach the evidence of the test to the phase pytest-html shows."""
        data = self.audit.described(report) if self.audit.is_controller else None
        if data is None:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            extra = {"name": "Evidence", "format_type": "html", "content": self.evidence(data),
                     "mime_type": None, "extension": None}
            report.extras = [*getattr(report, "extras", []), extra]  # type: ignore[attr-defined]

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str],
                                    postfix: list[str], session: pytest.Session) -> None:
        """The per-control table, the waivers and the post-quantum migration section, at the
        top of the report."""
        from ..ledger.review import SIGN_OFFS
        from .pq_chart import pq_section_html

        evidence = self.audit.evidence()
        sign_offs = sign_offs_html(session.config.stash.get(SIGN_OFFS, []))
        prefix.append(STYLE + self._overview(session, evidence) + summary_html(evidence)
                      + sign_offs + pq_section_html(evidence))

    def _overview(self, session: pytest.Session, evidence: Evidence) -> str:
        """Systems, due dates, open findings, sign-offs and the findings plot (the ledger
        as it stood before this run, and this run)."""
        from ..ledger import LEDGER_PLUGIN
        from ..ledger.review import pending_by_system
        from .overview import overview_html

        ledger = session.config.pluginmanager.get_plugin(LEDGER_PLUGIN)
        history = ledger.history if ledger is not None and ledger.enabled else None
        pending = pending_by_system(self.audit.audit_config, history, self.audit.started,
                                    [s.name for s in evidence.systems])
        return overview_html(evidence, history, pending)

    def evidence(self, data: Mapping[str, Any]) -> str:
        """The result and the audited attributes of its subject, as an HTML table."""
        rows = list(_result_rows(data))
        rows.extend(_flatten(self._subject(data)))
        body = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
        return f'<table class="cryptoaudit-evidence">{body}</table>'

    def _subject(self, data: Mapping[str, Any]) -> dict[str, Any]:
        if self._subjects is None:
            self._subjects = Subjects(self.audit.inventory)
        return self._subjects.of(data)


def _result_rows(data: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    yield "outcome", escape(data["outcome"])
    carried = data.get("carried")
    if carried:
        yield "carried", escape(f"from run {carried['run']} at {carried['at']}")
    if data.get("valid_until"):
        yield "valid until", escape(f"{data['valid_until']} (checked again from then on)")
    if data.get("message"):
        yield "message", f"<pre>{escape(data['message'])}</pre>"
    for note in data.get("notes") or ():
        yield "note", escape(note)
    waiver = data.get("waiver")
    if waiver:
        yield "waiver", escape(f"{waiver['id']} ({waiver['status']}): approved by "
                               f"{waiver['approver']} until {waiver['expires']}; "
                               f"{waiver['justification']}"
                               + (f" [{waiver['ticket']}]" if waiver.get("ticket") else ""))
    if data.get("remediation"):
        yield "remediation", escape(data["remediation"])
    for reference in data.get("references") or ():
        url = reference_url(reference)
        link = (f'<a href="{escape(url)}">{escape(reference)}</a>' if url
                else escape(reference))
        yield "reference", link


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, sub in value.items():
            yield from _flatten(sub, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        if value:
            yield prefix, escape(", ".join(str(v) for v in value))
    elif value is not None:
        yield prefix, escape(str(value))


def summary_html(evidence: Evidence | Mapping[str, Any]) -> str:
    """The per-control summary and the waiver status of the run."""
    evidence = typed_evidence(evidence)
    head = "".join(f"<th>{t}</th>" for t in ("Control", "Title", *(c for c, _ in COUNTS),
                                              "Worst tier failing"))
    rows = []
    for control, entry in evidence.summary.items():
        bad = entry.failed or entry.error
        counts = "".join(f"<td>{getattr(entry, key.replace('-', '_'), 0)}</td>"
                         for _, key in COUNTS)
        worst = escape(entry.worst_failing_tier or "")
        rows.append(f'<tr class="{"failing" if bad else "clean"}"><td>{escape(control)}</td>'
                    f'<td>{escape(entry.title)}</td>{counts}'
                    f'<td class="{"bad" if bad else ""}">{worst}</td></tr>')
    table = (f'<table id="cryptoaudit-controls"><thead><tr>{head}</tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table>')
    return (f'<div class="cryptoaudit-summary"><h2>Controls</h2>{_run_line(evidence)}'
            f"{table}{_ranked_html(evidence)}"
            f"{_not_applicable_html(evidence.not_applicable)}"
            f"{_waivers_html(evidence.waivers)}</div>")


def _not_applicable_html(entries: list[NotApplicable]) -> str:
    """Each check that had no subject in a system, and why (counted in no total)."""
    if not entries:
        return ""
    rows = "".join(f"<li>{escape(e.control)} <code>{escape(e.check)}</code> on "
                   f"{escape(e.system)}: {escape(e.reason)}</li>" for e in entries)
    return (f'<details id="cryptoaudit-not-applicable"><summary>Not applicable: '
            f"{plural(len(entries), 'check')} had no subject in a system</summary><ul>{rows}</ul>"
            "</details>")


def _ranked_html(evidence: Evidence) -> str:
    """The summary view: findings ranked by tier then control, grouped by reason; errors
    apart."""
    view = summary_view(evidence.results)
    parts = []
    for anchor, title, groups in (
            ("cryptoaudit-findings", f"Findings: {headline(view)}", view.finding_groups),
            ("cryptoaudit-errors", f"Errors ({len(view.errors)})", view.error_groups)):
        if not groups:
            continue
        head = "".join(f"<th>{escape(c)}</th>" for c in GROUP_COLUMNS)
        rows = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>"
                       for row in group_rows(groups))
        rest = f"<p>... and {more(groups)} more.</p>" if more(groups) else ""
        parts.append(f'<h3>{escape(title)}</h3><table id="{anchor}"><thead><tr>{head}</tr>'
                     f"</thead><tbody>{rows}</tbody></table>{rest}")
    return "".join(parts)


def _run_line(evidence: Evidence) -> str:
    run = evidence.run
    errors = sum(len(s.discovery_errors) for s in evidence.systems)
    return (f"<p>Run {escape(run.id)}, {escape(run.started)} to "
            f"{escape(run.finished)}: {plural(len(evidence.systems), 'system')}, "
            f"{plural(len(evidence.inventory), 'key')}, "
            f"{plural(errors, 'discovery error')}.</p>"
            + (f"<p>Incremental audit: {escape(line)}</p>"
               if (line := carried_line(evidence.results)) else ""))


def _waivers_html(waivers: Waivers) -> str:
    lines = waiver_lines(waivers)
    if not lines:
        return ""
    listed = "".join(f"<li>{'<b>' + w.status + '</b>' if w.status != APPLIED else w.status}"
                     f"{escape(w.text[len(w.status):])}</li>" for w in lines)
    return f'<h3>Waivers</h3><ul id="cryptoaudit-waivers">{listed}</ul>'


def sign_offs_html(lines: list[str]) -> str:
    """The sign-offs pending in the ledger and those this run needs (``[review]``)."""
    if not lines:
        return ""
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return (f'<div class="cryptoaudit-summary"><h3>Sign-off (CEK-09 guideline 6)</h3>'
            f'<ul id="cryptoaudit-sign-offs">{items}</ul></div>')
