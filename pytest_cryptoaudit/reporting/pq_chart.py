"""The post-quantum section of the HTML report: an inline SVG chart and the migration table.

The chart stacks the quantum-vulnerable assets per deadline year (the last year they are
allowed) by risk tier, so a reader sees at a glance how much must move and by when. It is
plain inline SVG: the report stays one file and needs no network or script to draw it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from html import escape
from typing import Any

from ..evidence_model import Evidence
from ..model import RiskTier
from .pq_inventory import inventory_rows
from .typed import typed_evidence

TIER_COLOURS = {"critical": "#8b0000", "high": "#d9480f", "medium": "#f0a202", "low": "#6c8ebf"}
TIERS = tuple(t.value for t in reversed(RiskTier))  # critical at the bottom of each bar
BAR, GAP, HEIGHT, MARGIN = 48, 24, 160, 40
TABLE_COLUMNS = (("Asset", "uid"), ("System", "system"), ("Tier", "risk_tier"),
                 ("Owner", "accountable_owner"), ("Algorithm", "algorithm"), ("Size", "size"),
                 ("Purpose", "purpose"), ("Deprecated", "deprecated"),
                 ("Disallowed", "disallowed"), ("Days left", "days_left"),
                 ("Replacement", "replacement"))


def deadline_year(disallowed: str) -> int:
    """The last year an asset is allowed: a date disallowed from 2036-01-01 is due in 2035."""
    return (date.fromisoformat(disallowed) - timedelta(days=1)).year


def counts_by_year(rows: Sequence[Mapping[str, Any]]) -> dict[int, Counter[str]]:
    counts: dict[int, Counter[str]] = {}
    for row in rows:
        if row.get("disallowed"):
            counts.setdefault(deadline_year(row["disallowed"]), Counter())[row["risk_tier"]] += 1
    return dict(sorted(counts.items()))


def _bar(x: int, year: int, tiers: Counter[str], scale: float) -> str:
    parts: list[str] = []
    y = float(MARGIN + HEIGHT)
    for tier in TIERS:
        if tiers[tier]:
            height = tiers[tier] * scale
            y -= height
            parts.append(f'<rect x="{x}" y="{y:.1f}" width="{BAR}" height="{height:.1f}" '
                         f'fill="{TIER_COLOURS[tier]}"><title>{year}: {tiers[tier]} {tier}'
                         "</title></rect>")
    total = sum(tiers.values())
    parts.append(f'<text x="{x + BAR / 2}" y="{y - 4:.1f}" text-anchor="middle">{total}</text>')
    parts.append(f'<text x="{x + BAR / 2}" y="{MARGIN + HEIGHT + 16}" '
                 f'text-anchor="middle">{year}</text>')
    return "".join(parts)


def _legend(y: int) -> str:
    return "".join(
        f'<rect x="{MARGIN + i * 90}" y="{y}" width="12" height="12" fill="{TIER_COLOURS[t]}"/>'
        f'<text x="{MARGIN + i * 90 + 16}" y="{y + 11}">{t}</text>'
        for i, t in enumerate(reversed(TIERS)))


def chart_svg(rows: Sequence[Mapping[str, Any]]) -> str:
    """Vulnerable assets per deadline year, stacked by tier, as inline SVG."""
    counts = counts_by_year(rows)
    tallest = max((sum(c.values()) for c in counts.values()), default=1)
    scale = HEIGHT / tallest
    width = max(2 * MARGIN + len(counts) * (BAR + GAP), 4 * 90 + 2 * MARGIN)
    bars = "".join(_bar(MARGIN + i * (BAR + GAP), year, tiers, scale)
                   for i, (year, tiers) in enumerate(counts.items()))
    label = "; ".join(f"{year}: {sum(t.values())}" for year, t in counts.items())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" id="cryptoaudit-pq-chart" role="img" '
            f'width="{width}" height="{HEIGHT + 2 * MARGIN + 20}" font-family="sans-serif" '
            f'font-size="11" aria-label="Quantum-vulnerable assets by deadline year: {label}">'
            f"<title>Quantum-vulnerable assets by deadline year and risk tier</title>{bars}"
            f"{_legend(HEIGHT + MARGIN + 26)}</svg>")


def _table(rows: Sequence[Mapping[str, Any]]) -> str:
    head = "".join(f"<th>{title}</th>" for title, _ in TABLE_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(row.get(key) if row.get(key) is not None else ''))}"
                         "</td>" for _, key in TABLE_COLUMNS) + "</tr>"
        for row in rows)
    return (f'<table id="cryptoaudit-pq-inventory"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _unjudged(rows: Sequence[Mapping[str, Any]]) -> str:
    items = "".join(f"<li>{escape(r['uid'])}: {escape(str(r.get('error')))}</li>"
                    for r in rows if r["status"] == "unknown")
    return f'<p class="bad">Not judged:</p><ul id="cryptoaudit-pq-unjudged">{items}</ul>' \
        if items else ""


def pq_section_html(evidence: Evidence | Mapping[str, Any]) -> str:
    """The migration inventory section: chart, unjudged assets and the dated table."""
    evidence = typed_evidence(evidence)
    rows = inventory_rows(evidence)
    roadmap = escape(str(evidence.run.policy.get("pq_roadmap", "")))
    vulnerable = [r for r in rows if r["status"] != "unknown"]
    intro = (f"<p>{len(vulnerable)} quantum-vulnerable assets under the {roadmap} roadmap, "
             "sorted by deadline.</p>")
    return (f'<div class="cryptoaudit-summary" id="cryptoaudit-pq"><h2>Post-quantum '
            f"migration</h2>{intro}{chart_svg(vulnerable)}{_unjudged(rows)}"
            f"{_table(vulnerable)}</div>")
