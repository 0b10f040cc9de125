"""The post-quantum migration inventory (``--cryptoaudit-pq PATH``, CSV or JSON).

Read from the JSON evidence, where every key carries its verdict (``pq``): each
quantum-vulnerable asset with its system, tier, owner, algorithm and size, purpose, the
roadmap's deprecated and disallowed dates, days left and the replacement to plan, sorted by
deadline. Assets that could not be judged are listed first, with the reason, so that the
inventory never looks more complete than it is (OMB M-23-02 asks for this list yearly).
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from ..evidence_model import Evidence, Key, PqVerdict
from ..model import RiskTier
from .typed import typed_evidence

COLUMNS = ("uid", "system", "risk_tier", "owner", "accountable_owner", "kind", "algorithm",
           "size", "purpose", "status", "roadmap", "category", "deprecated", "disallowed",
           "days_left", "replacement", "error")
FORMATS = (".csv", ".json")
LISTED = ("quantum-vulnerable", "unknown")


def check_path(path: str) -> None:
    """Refuse an unknown format at the start of the run, not at its end."""
    if Path(path).suffix.lower() not in FORMATS:
        raise pytest.UsageError(f"--cryptoaudit-pq {path}: expected a .csv or .json file")


def _text(value: Any) -> Any:
    """Enum members as their value: the rows are written as JSON and CSV."""
    return value.value if isinstance(value, enum.Enum) else value


def _row(key: Key) -> dict[str, Any]:
    verdict = key.pq or PqVerdict(status="unknown", error="no verdict in the evidence")
    row = {name: _text(getattr(key, name, None)) for name in COLUMNS[:8]}
    row.update({name: getattr(verdict, name, None) for name in COLUMNS[8:]})
    row["algorithm"] = key.algorithm or verdict.algorithm
    return row


def _deadline(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """Unjudged assets first, then the earliest disallowed date, the highest tier first."""
    tier = RiskTier(row["risk_tier"]).rank if row.get("risk_tier") else 0
    return (row["status"] != "unknown", row.get("disallowed") or "", -tier, row["uid"])


def inventory_rows(evidence: Evidence | Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every quantum-vulnerable or unjudged asset of the run, sorted by deadline."""
    rows = [_row(key) for key in typed_evidence(evidence).inventory]
    return sorted((r for r in rows if r["status"] in LISTED), key=_deadline)


def render_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def write_pq_inventory(evidence: Evidence | Mapping[str, Any], path: Path) -> None:
    evidence = typed_evidence(evidence)
    rows = inventory_rows(evidence)
    if path.suffix.lower() == ".csv":
        path.write_text(render_csv(rows), encoding="utf-8")
        return
    document = {"run": evidence.run.id, "generated": evidence.run.finished,
                "roadmap": evidence.run.policy.get("pq_roadmap"), "assets": rows}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
