"""Read the JSON of ``terraform show -json PLAN`` (the documented plan representation).

The plan's values are authoritative: they replace what the static reading found for the
same address, values the plan marks unknown (``after_unknown``) stay unknown, and each
resource carries its planned actions. Resources only the plan knows (modules from a
registry, say) are located at the plan file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ...model import SourceLocation
from .planned import Planned
from .values import AFTER_APPLY, Unknown

PLAN_UNKNOWN = f"{AFTER_APPLY} (the plan marks it unknown)"


class PlanError(Exception):
    """A plan file that cannot be read as the documented plan JSON."""


def read_plan(path: Path) -> list[Mapping[str, Any]]:
    """The managed resource changes of a plan JSON file."""
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanError(f"cannot read plan JSON: {exc}") from None
    if not isinstance(plan, Mapping) or "format_version" not in plan:
        raise PlanError("not a plan JSON document (no format_version)")
    changes = plan.get("resource_changes")
    if not isinstance(changes, list):
        raise PlanError("plan JSON has no resource_changes list")
    return [c for c in changes if isinstance(c, Mapping) and c.get("mode") == "managed"]


def _with_unknowns(values: Any, unknown: Any, static: Any) -> Any:
    """``values`` with every place ``unknown`` marks true replaced by an Unknown."""
    if unknown is True:
        if isinstance(static, Unknown) and static.address:
            return static  # keep the link the code names (key_id = aws_kms_key.x.key_id)
        return Unknown(PLAN_UNKNOWN)
    if isinstance(values, Mapping):
        marks = unknown if isinstance(unknown, Mapping) else {}
        known = static if isinstance(static, Mapping) else {}
        merged = {k: _with_unknowns(v, marks.get(k), known.get(k)) for k, v in values.items()}
        for key, mark in marks.items():
            if key not in merged and mark is True:
                merged[key] = _with_unknowns(None, True, known.get(key))
        return merged
    if isinstance(values, list):
        item_marks = unknown if isinstance(unknown, list) else []
        items = static if isinstance(static, list) else []
        return [_with_unknowns(v, item_marks[i] if i < len(item_marks) else None,
                               items[i] if i < len(items) else None)
                for i, v in enumerate(values)]
    return values


def merge_plan(static: Iterable[Planned], changes: list[Mapping[str, Any]],
               plan_path: str) -> list[Planned]:
    """The plan's resources, located where the code declares them when it does."""
    by_address = {r.address: r for r in static}
    merged = []
    for change in changes:
        detail = change.get("change") or {}
        actions = tuple(detail.get("actions") or ())
        address = str(change.get("address"))
        values = detail.get("after") if detail.get("after") is not None else detail.get("before")
        code = by_address.get(address)
        props = _with_unknowns(values or {}, detail.get("after_unknown") or {},
                               code.props if code else {})
        location = code.location if code else SourceLocation(path=plan_path, address=address)
        merged.append(Planned(str(change.get("type")), address, props, location, actions))
    return merged
