"""``cryptoaudit finding list|assign``: the findings log and its corrective actions."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from ..cli import UsageError
from .cli_support import (
    add_common_arguments,
    guarded,
    load_audit_config,
    now_of,
    open_store,
    parse_day,
    recorder,
    text_table,
    when,
)
from .findings import OPEN, FindingLog, findings_log
from .history import LedgerHistory
from .records import action_draft

STATUSES = ("open", "waived", "resolved", "all")


def _log(args: argparse.Namespace) -> tuple[Any, list[FindingLog]]:
    audit_config = load_audit_config(args)
    names = [s.name for s in audit_config.systems]
    if getattr(args, "system", None):
        names = [args.system]
    with open_store(args, audit_config) as store:
        history = LedgerHistory.from_store(store, systems=names)
    return audit_config, findings_log(history, names)


def _list(args: argparse.Namespace) -> int:
    _config, log = _log(args)
    shown = [f for f in log if args.status == "all" or f.status == args.status]
    if args.format == "json":
        json.dump([f.as_dict() for f in shown], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    today = now_of(args).date()
    rows = [(f.id, f.system, f"{f.control} {f.check}", f.key_uid, when(f.first_seen),
             when(f.last_seen), f.status, _action(f, today)) for f in shown]
    sys.stdout.write(text_table(("FINDING", "SYSTEM", "CHECK", "KEY", "FIRST SEEN",
                                 "LAST SEEN", "STATUS", "CORRECTIVE ACTION"), rows))
    return 0


def _action(finding: FindingLog, today: Any) -> str:
    action = finding.action
    if action is None:
        return "-"
    late = " (OVERDUE)" if finding.status == OPEN and action.due < today else ""
    return f"{action.owner} by {action.due}{late}"


def _assign(args: argparse.Namespace) -> int:
    audit_config, log = _log(args)
    finding = next((f for f in log if f.id == args.finding), None)
    if finding is None:
        raise UsageError(f"no finding {args.finding!r} in the ledger "
                         "(see `cryptoaudit finding list`)")
    due = parse_day(args.due, "--due")
    now = datetime.now(UTC)
    if due < now.date():
        raise UsageError(f"--due: {due} is in the past")
    draft = action_draft(
        {"id": finding.id, "system": finding.system, "control": finding.control,
         "check": finding.check, "key_uid": finding.key_uid},
        owner=args.owner, due=due.isoformat(), note=args.note,
        recorded_at=now.isoformat(), recorded_by=recorder())
    with open_store(args, audit_config) as store:
        [entry] = store.append([draft])
    print(f"recorded {entry.label}: {args.owner} by {due}")
    return 0


def register(subparsers: Any) -> None:
    finding = subparsers.add_parser("finding", help="The findings log and corrective actions.")
    verbs = finding.add_subparsers(dest="finding_command", required=True, metavar="COMMAND")
    listing = verbs.add_parser("list", help="Findings with first/last seen, status, action.")
    add_common_arguments(listing)
    listing.add_argument("--system")
    listing.add_argument("--status", choices=STATUSES, default="open")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.add_argument("--now", help=argparse.SUPPRESS)
    listing.set_defaults(handler=guarded(_list))
    assign = verbs.add_parser("assign", help="Record a corrective action for a finding.")
    add_common_arguments(assign)
    assign.add_argument("finding", metavar="FINDING_ID")
    assign.add_argument("--owner", required=True, help="Who fixes it (a person or team).")
    assign.add_argument("--due", required=True, help="By when (a date, YYYY-MM-DD).")
    assign.add_argument("--note", default="")
    assign.set_defaults(handler=guarded(_assign))
