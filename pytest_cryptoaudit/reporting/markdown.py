"""The Markdown summary of a run (``--cryptoaudit-markdown PATH``, ``$GITHUB_STEP_SUMMARY``).

A per-control table, the ranked findings and errors (the summary view shared with the
terminal and HTML) and the waivers, from the JSON evidence. Given the
findings of the previous run (:func:`findings_of` of its evidence, or what the ledger
recorded), it also says which findings are new and which were resolved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..evidence_model import Evidence
from ..findings import FINDING_FIELDS, diff_findings, is_finding
from ..text import plural
from ..waivers import EXPIRED, waiver_lines
from .summary import (
    GROUP_COLUMNS,
    carried_line,
    field,
    group_rows,
    headline,
    more,
    summary_view,
)
from .typed import typed_evidence

LABELS = {"passed": "passed", "failed": "failed", "error": "errors", "waived": "waived",
          "skipped": "skipped"}


def findings_of(evidence: Evidence | Mapping[str, Any]) -> list[dict[str, Any]]:
    """The findings of a run (failed, error and waived results), in a stable shape."""
    return [{f: field(r, f) for f in FINDING_FIELDS}
            for r in typed_evidence(evidence).results if is_finding(r.outcome, accepted=True)]


def _cell(value: Any) -> str:
    text = " ".join(str(value if value is not None else "").split())
    return text.replace("|", "\\|") or " "


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _headline(evidence: Evidence) -> list[str]:
    run = evidence.run
    counts = {o: sum(1 for r in evidence.results if r.outcome == o)
              for o in ("passed", "failed", "error", "waived", "skipped")}
    errors = sum(len(s.discovery_errors) for s in evidence.systems)
    verdict = "clean" if not (counts["failed"] or counts["error"]) else "findings"
    return [
        f"## Crypto audit {run.id[:8]}: {verdict}",
        "",
        f"Run `{run.id}` from {run.started} to {run.finished}: "
        f"{plural(len(evidence.systems), 'system')}, "
        f"{plural(len(evidence.inventory), 'key')}, {plural(errors, 'discovery error')}. "
        + ", ".join(f"**{n} {LABELS[o]}**" if o in ("failed", "error") and n
                    else f"{n} {LABELS[o]}" for o, n in counts.items()) + ".",
        *_carried(evidence),
    ]


def _carried(evidence: Evidence) -> list[str]:
    line = carried_line(evidence.results)
    return ["", f"Incremental audit: {line}"] if line else []


def _controls(evidence: Evidence) -> list[str]:
    rows = [(c, e.title, e.passed, e.failed, e.error, e.waived, e.skipped,
             e.worst_failing_tier or "") for c, e in evidence.summary.items()]
    header = ("Control", "Title", "Passed", "Failed", "Errors", "Waived", "Skipped",
              "Worst tier failing")
    return ["", "### Controls", "", *_table(header, rows)]


def _ranked(evidence: Evidence) -> list[str]:
    """The summary view: findings ranked by tier then control, identical reasons grouped,
    then the errors apart."""
    view = summary_view(evidence.results)
    lines: list[str] = []
    for title, groups in ((f"Findings: {headline(view)}", view.finding_groups),
                          (f"Errors ({len(view.errors)})", view.error_groups)):
        if not groups:
            continue
        rows = [(tier, control, check, n, f"`{key}`", reason)
                for tier, control, check, n, key, reason in group_rows(groups)]
        lines += ["", f"### {title}", "", *_table(GROUP_COLUMNS, rows)]
        if more(groups):
            lines += ["", f"... and {more(groups)} more (see the evidence)."]
    return lines


def _changes(evidence: Evidence,
             previous: Iterable[Mapping[str, Any]] | None) -> list[str]:
    if previous is None:
        return []
    diff = diff_findings(previous, findings_of(evidence))
    lines = ["", "### Since the last run", "",
             f"{len(diff.new)} new, {len(diff.resolved)} resolved, "
             f"{len(diff.persisting)} persisting findings."]
    for label, listed in (("New", diff.new), ("Resolved", diff.resolved)):
        if listed:
            rows = [(f["risk_tier"], f["control"], f["check"], f"`{f['key_uid']}`", f["outcome"])
                    for f in listed]
            lines += ["", f"**{label}**", "",
                      *_table(("Tier", "Control", "Check", "Key", "Outcome"), rows)]
    return lines


def _waivers(evidence: Evidence) -> list[str]:
    lines = waiver_lines(evidence.waivers)
    rows = [(f"**{w.status}**" if w.status == EXPIRED else w.status, w.id, w.control,
             w.approver, w.expires, w.effect) for w in lines]
    if not rows:
        return []
    return ["", "### Waivers", "",
            *_table(("Status", "Waiver", "Control", "Approver", "Expires", "Effect"), rows)]


def _sign_offs(lines: Sequence[str] | None) -> list[str]:
    if not lines:
        return []
    return ["", "### Sign-off (CEK-09 guideline 6)", "", *[f"- {line}" for line in lines]]


def render_markdown(evidence: Evidence | Mapping[str, Any],
                    previous: Iterable[Mapping[str, Any]] | None = None,
                    sign_offs: Sequence[str] | None = None) -> str:
    """The whole summary; ``previous`` (findings of the last run) adds new/resolved,
    ``sign_offs`` (from the ledger and ``[review]``) the pending reviews."""
    evidence = typed_evidence(evidence)
    lines = [*_headline(evidence), *_controls(evidence), *_ranked(evidence),
             *_changes(evidence, previous), *_sign_offs(sign_offs), *_waivers(evidence)]
    return "\n".join(lines) + "\n"
