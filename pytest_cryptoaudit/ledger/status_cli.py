"""``cryptoaudit status`` (where each system stands) and ``cryptoaudit plan`` (the master
audit plan for the next twelve months, CCM CEK-09 audit step 1)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from datetime import datetime, timedelta
from typing import Any

from ..model import RiskTier
from ..providers import ProviderLoadError, ProviderRegistry
from .cli_support import (
    add_common_arguments,
    guarded,
    load_audit_config,
    markdown_table,
    now_of,
    open_store,
    text_table,
    when,
)
from .history import LedgerHistory
from .review import pending_lines, pending_reviews
from .status import OK, OVERDUE, SystemStatus, follow_up, statuses

STATUS_HEADERS = ("SYSTEM", "TIER", "INTERVAL", "LAST COMPLETE AUDIT", "EVENTS", "CHANGES",
                  "NEXT DUE", "STATE")
PLAN_DAYS = 365


def _read(args: argparse.Namespace) -> tuple[Any, LedgerHistory, str]:
    audit_config = load_audit_config(args)
    with open_store(args, audit_config) as store:
        return audit_config, LedgerHistory.from_store(store), store.location


def _status_row(status: SystemStatus) -> tuple[Any, ...]:
    return (status.system, status.risk_tier.value, f"{status.interval_days}d",
            when(status.last_complete), len(status.events_since), len(status.changes_since),
            when(status.due_at), status.state.upper() if status.state != OK else OK)


def _status(args: argparse.Namespace) -> int:
    audit_config, history, location = _read(args)
    now = now_of(args)
    rows = statuses(audit_config, history, now)
    configured = {s.name for s in audit_config.systems}
    unconfigured = sorted(history.systems() - configured)
    overdue = [s.system for s in rows if s.state == OVERDUE]
    reviews = pending_reviews(audit_config, history, now)
    if args.format == "json":
        json.dump({"generated": now.isoformat(), "ledger": location,
                   "systems": [s.as_dict() for s in rows], "overdue": overdue,
                   "unconfigured": unconfigured,
                   "pending_reviews": [r.as_dict() for r in reviews]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        table = markdown_table if args.format == "markdown" else text_table
        if args.format == "markdown":
            sys.stdout.write(f"## Audit status at {when(now)} UTC\n\n")
        sys.stdout.write(table(STATUS_HEADERS, [_status_row(s) for s in rows]))
        if unconfigured:
            sys.stdout.write(f"\nIn the ledger but no longer configured (out of scope?): "
                             f"{', '.join(unconfigured)}\n")
        if reviews:
            sys.stdout.write("\nSign-offs pending ([review]):\n" + "".join(
                f"- {line}\n" for line in pending_lines(reviews)))
    return 1 if overdue else 0


def _component(registry: ProviderRegistry, provider: str) -> str:
    with contextlib.suppress(ProviderLoadError, KeyError):
        return registry.get(provider).component
    return "unknown"


def plan(audit_config: Any, history: LedgerHistory, start: datetime) -> dict[str, Any]:
    """The audits planned for the next twelve months, per system, as JSON-ready data."""
    end = start + timedelta(days=PLAN_DAYS)
    months = sorted({(start + timedelta(days=d)).strftime("%Y-%m") for d in range(PLAN_DAYS)})
    registry = ProviderRegistry()
    systems = []
    for status in statuses(audit_config, history, start):
        config = audit_config.system(status.system)
        first = start if status.state != OK else status.due_at
        step = timedelta(days=status.interval_days)
        dates = [first + step * i for i in range(int((end - first) / step) + 1)
                 if first + step * i < end]
        per_month = {m: sum(d.strftime("%Y-%m") == m for d in dates) for m in months}
        systems.append({
            "system": status.system, "risk_tier": status.risk_tier.value,
            "owner": config.ssrm_owner, "accountable_owner": config.accountable_owner,
            "component": _component(registry, config.provider),
            "interval_days": status.interval_days,
            "event_follow_up_days": follow_up(status.risk_tier, audit_config.cadence,
                                              audit_config.policy).days,
            "last_complete_audit": status.last_complete.isoformat()
            if status.last_complete else None,
            "state": status.state, "next_audit": first.isoformat(),
            "planned_count": len(dates), "planned": [d.isoformat() for d in dates],
            "per_month": per_month})
    return {"period": {"start": start.isoformat(), "end": end.isoformat()},
            "months": months, "systems": systems,
            "tiers": {t.value: audit_config.cadence[t] for t in RiskTier}}


def plan_markdown(data: dict[str, Any], location: str) -> str:
    period = data["period"]
    lines = ["# Master audit plan: encryption and key management (CSA CCM/AICM CEK-09)", "",
             f"Period {period['start'][:10]} to {period['end'][:10]}; ledger {location}.", "",
             "Every system is audited at least as often as its risk tier requires, at least "
             "annually, and after every security event or material change (within the "
             "follow-up time).", "", "## Planned audits", ""]
    headers = ("System", "Tier", "Component", "Owner (SSRM)", "Accountable owner",
               "Interval (days)",
               "Follow-up after event (days)", "Last complete audit", "Next audit",
               "Audits planned", *[m[2:] for m in data["months"]])
    rows = [(s["system"], s["risk_tier"], s["component"], s["owner"],
             s["accountable_owner"] or "-", s["interval_days"],
             s["event_follow_up_days"], (s["last_complete_audit"] or "never")[:10],
             s["next_audit"][:10], s["planned_count"],
             *[s["per_month"][m] for m in data["months"]]) for s in data["systems"]]
    lines.append(markdown_table(headers, rows))
    components = sorted({s["component"] for s in data["systems"]})
    lines += ["## Scope", "", f"Component classes in scope: {', '.join(components)}.", ""]
    return "\n".join(lines)


def _plan(args: argparse.Namespace) -> int:
    audit_config, history, location = _read(args)
    data = plan(audit_config, history, now_of(args))
    if args.format == "json":
        json.dump({**data, "ledger": location}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(plan_markdown(data, location))
    return 0


def register(subparsers: Any) -> None:
    status = subparsers.add_parser(
        "status", help="Per system: tier, interval, last complete audit, events and changes "
                       "since, next due, state (exit 1 if any is overdue).")
    add_common_arguments(status)
    status.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    status.add_argument("--now", help="Evaluate as of this time (ISO 8601; default: now).")
    status.set_defaults(handler=guarded(_status))
    planner = subparsers.add_parser("plan", help="The master audit plan for the next 12 months.")
    add_common_arguments(planner)
    planner.add_argument("--format", choices=("markdown", "json"), default="markdown")
    planner.add_argument("--now", help="Start the plan at this time (default: now).")
    planner.set_defaults(handler=guarded(_plan))
