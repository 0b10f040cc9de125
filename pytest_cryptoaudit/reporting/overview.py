"""The overview an auditor reads first, at the top of the HTML report: every system with its
tier, last complete audit, next due date, open findings by tier and pending sign-offs, and
a plot of the findings over the ledger's history (this run included).

It reads this run's evidence and the ledger as it stood before the run, never pytest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from ..evidence_model import Evidence
from ..findings import is_finding
from ..ledger.history import LedgerHistory, parse_time
from ..ledger.records import incomplete_reasons
from ..model import RiskTier

WIDTH, HEIGHT, MARGIN = 640, 160, 30
TIERS = [tier.value for tier in reversed(RiskTier)]  # critical first


def _this_run_complete(document: Mapping[str, Any]) -> set[str]:
    return {s["name"] for s in document["systems"]
            if not incomplete_reasons(document["run"], s)}


def _last_complete(name: str, started: datetime, complete: set[str],
                   history: LedgerHistory | None) -> datetime | None:
    if name in complete:
        return started
    last = history.last_complete(name) if history else None
    return last.started if last else None


def _rows(evidence: Evidence, history: LedgerHistory | None,
          pending: Mapping[str, str]) -> list[list[str]]:
    document = evidence.as_json()
    complete = _this_run_complete(document)
    started = parse_time(evidence.run.started)
    cadence = {getattr(k, "value", k): v for k, v in evidence.run.cadence_days.items()}
    rows = []
    for system in evidence.systems:
        tier = getattr(system.risk_tier, "value", system.risk_tier)
        last = _last_complete(system.name, started, complete, history)
        due = last + timedelta(days=cadence.get(tier, 365)) if last else None
        counts = Counter(getattr(r.risk_tier, "value", r.risk_tier) for r in evidence.results
                         if r.system == system.name and is_finding(r.outcome))
        open_by_tier = ", ".join(f"{t}: {counts[t]}" for t in TIERS if counts[t]) or "none"
        rows.append([system.name, tier, f"{last:%Y-%m-%d %H:%M}" if last else "never",
                     f"{due:%Y-%m-%d}" if due else "now", open_by_tier,
                     pending.get(system.name, "-")])
    return rows


def findings_history(evidence: Evidence, history: LedgerHistory | None
                     ) -> list[tuple[datetime, int]]:
    """(run start, findings) of every run with a complete audit, this one last."""
    per_run: dict[str, tuple[datetime, int]] = {}
    names = [s.name for s in evidence.systems]
    for name in names if history else ():
        for audit in history.complete_audits(name):  # type: ignore[union-attr]
            at, count = per_run.get(audit.data["run_id"], (audit.started, 0))
            per_run[audit.data["run_id"]] = (at, count + len(audit.data.get("findings", ())))
    current = sum(1 for r in evidence.results if is_finding(r.outcome))
    per_run[evidence.run.id] = (parse_time(evidence.run.started), current)
    return sorted(per_run.values())


def plot_svg(points: Sequence[tuple[datetime, int]]) -> str:
    """A line of findings per run over time, as inline SVG (no script, no library)."""
    top = max((count for _, count in points), default=0) or 1
    first, last = points[0][0], points[-1][0]
    span = (last - first).total_seconds() or 1.0

    def x(at: datetime) -> float:
        return MARGIN + (WIDTH - 2 * MARGIN) * (at - first).total_seconds() / span

    def y(count: int) -> float:
        return HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * count / top

    line = " ".join(f"{x(at):.1f},{y(count):.1f}" for at, count in points)
    dots = "".join(f'<circle cx="{x(at):.1f}" cy="{y(count):.1f}" r="3"><title>'
                   f"{at:%Y-%m-%d %H:%M}: {count} findings</title></circle>"
                   for at, count in points)
    return (f'<svg id="cryptoaudit-findings-plot" width="{WIDTH}" height="{HEIGHT}" '
            f'role="img" aria-label="findings per complete audit run">'
            f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" '
            f'y2="{HEIGHT - MARGIN}" stroke="#999"/>'
            f'<text x="2" y="{MARGIN}" font-size="11">{top}</text>'
            f'<text x="{MARGIN}" y="{HEIGHT - 8}" font-size="11">{first:%Y-%m-%d}</text>'
            f'<text x="{WIDTH - MARGIN - 60}" y="{HEIGHT - 8}" font-size="11">'
            f"{last:%Y-%m-%d}</text>"
            f'<polyline points="{line}" fill="none" stroke="#c00" stroke-width="2"/>'
            f"{dots}</svg>")


def overview_html(evidence: Evidence, history: LedgerHistory | None,
                  pending: Mapping[str, str]) -> str:
    """The overview section; ``pending`` maps a system to its sign-offs pending."""
    head = "".join(f"<th>{h}</th>" for h in ("System", "Tier", "Last complete audit",
                                            "Next due", "Open findings by tier",
                                            "Sign-off pending"))
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
                   for row in _rows(evidence, history, pending))
    points = findings_history(evidence, history)
    source = "the ledger and this run" if history else "this run (no ledger)"
    return (f'<div class="cryptoaudit-summary" id="cryptoaudit-overview"><h2>Overview</h2>'
            f'<table id="cryptoaudit-systems"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
            f"<h3>Findings per complete audit ({escape(source)})</h3>{plot_svg(points)}</div>")
