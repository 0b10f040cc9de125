"""The terminal summary: one line per control, the ranked findings and errors (the summary
view), then one compact line per finding; pytest lists no finding itself."""

from __future__ import annotations

from typing import Any

from ..evidence_model import Waivers
from ..model import Inventory, Outcome
from ..results import Result, summarize
from ..text import plural
from ..waivers import APPLIED, waiver_lines
from .summary import HEADLINE_GROUPS, Group, finding_line, headline, summary_view


def write_summary(terminal: Any, results: list[Result], inventory: Inventory,
                  waivers: dict[str, list[dict[str, Any]]] | None = None) -> None:
    terminal.write_sep("=", "cryptoaudit summary")
    endpoints = f"{plural(len(inventory.endpoints), 'endpoint')}, " if inventory.endpoints else ""
    libraries = (f"{plural(len(inventory.libraries), 'crypto library', 'crypto libraries')}, "
                 if inventory.libraries else "")
    terminal.write_line(
        f"{plural(len(inventory.systems), 'system')}, {plural(len(inventory.keys), 'key')}, "
        f"{endpoints}{libraries}{plural(len(inventory.errors), 'discovery error')}"
    )
    summary = summarize(results)
    if not summary:
        terminal.write_line("no control ran")
        return
    width = max(len(entry["title"]) for entry in summary.values())
    header = f"{'control':<8} {'title':<{width}} {'passed':>6} {'failed':>6} {'errors':>6}"
    terminal.write_line(header + f" {'waived':>6} {'skipped':>7}")
    for control, entry in summary.items():
        failing = entry["failed"] or entry["error"]
        line = (f"{control:<8} {entry['title']:<{width}} {entry['passed']:>6} "
                f"{entry['failed']:>6} {entry['error']:>6} {entry['waived']:>6} "
                f"{entry['skipped']:>7}")
        terminal.write_line(line, red=bool(failing), green=not failing)
    _write_findings(terminal, results)
    _write_waivers(terminal, waivers or {})


def _write_waivers(terminal: Any, waivers: dict[str, list[dict[str, Any]]]) -> None:
    status = Waivers.model_validate(waivers)
    if not (status.applied or status.expired or status.stale):
        return
    terminal.write_line("")
    terminal.write_line(f"waivers: {len(status.applied)} applied, {len(status.expired)} "
                        f"expired, {len(status.stale)} stale")
    for line in waiver_lines(status):
        if line.status != APPLIED:  # what needs attention: an applied waiver does its job
            terminal.write_line(f"  {line.text}", yellow=True)


def _write_findings(terminal: Any, results: list[Result]) -> None:
    """The ranked headline of the summary view, then one compact line per finding."""
    bad = [r.as_dict() for r in results if r.outcome in (Outcome.FAILED, Outcome.ERROR)]
    if not bad:
        return
    view = summary_view(bad)
    terminal.write_line("")
    terminal.write_line(headline(view) + ":")
    for group in view.finding_groups[:HEADLINE_GROUPS]:
        terminal.write_line(f"  {group.line()}", red=True)
    _write_more(terminal, view.finding_groups)
    if view.errors:
        terminal.write_line(f"errors ({len(view.errors)}):")
        for group in view.error_groups[:HEADLINE_GROUPS]:
            terminal.write_line(f"  {group.line()}", red=True)
        _write_more(terminal, view.error_groups)
    if view.findings:
        terminal.write_sep("-", f"findings ({len(view.findings)})")
        for finding in view.findings:
            terminal.write_line(finding_line(finding))


def _write_more(terminal: Any, groups: list[Group]) -> None:
    if len(groups) > HEADLINE_GROUPS:
        terminal.write_line(f"  ... and {len(groups) - HEADLINE_GROUPS} more")
