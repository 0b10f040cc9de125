"""``cryptoaudit notify``: send what the ``[[notify]]`` rules owe, between runs too (a
finding becomes overdue without any run), recording every delivery in the ledger."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..cli import UsageError
from ..ledger.cli_support import (
    add_common_arguments,
    guarded,
    load_audit_config,
    now_of,
    open_store,
    text_table,
)
from ..ledger.history import LedgerHistory
from ..text import plural
from .channels import line
from .deliver import notify, rules_of
from .owed import NOTIFICATION

LOG_FIELDS = ("at", "rule", "target", "kind", "system", "finding", "control", "check",
              "key_uid", "status", "attempts", "error")


def _log(args: argparse.Namespace) -> int:
    """Every delivery the ledger recorded: the evidence of CEK-09 guideline 7."""
    audit_config = load_audit_config(args)
    with open_store(args, audit_config) as store:
        history = LedgerHistory.from_store(store)
    rows: list[dict[str, Any]] = [{name: data.get(name) for name in LOG_FIELDS}
                                  for data in history.contents
            if data.get("type") == NOTIFICATION]
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    sys.stdout.write(text_table(
        ("AT (UTC)", "RULE", "TO", "EVENT", "SYSTEM", "FINDING", "STATUS"),
        [(r["at"][:16].replace("T", " "), r["rule"], r["target"], r["kind"], r["system"],
          r["finding"], r["status"] if not r["error"] else f"{r['status']}: {r['error']}")
         for r in rows]))
    return 0


def _notify(args: argparse.Namespace) -> int:
    if args.log:
        return _log(args)
    audit_config = load_audit_config(args)
    if not rules_of(audit_config):
        raise UsageError("no [[notify]] rules in the configuration")
    with open_store(args, audit_config) as store:
        outcome, listed = notify(audit_config, store, now_of(args), dry_run=args.dry_run)
    rows = [(rule.name, rule.target, notice.kind, line(notice)) for rule, notice in listed]
    if rows:
        print(text_table(("RULE", "TO", "EVENT", "FINDING"), rows), end="")
    if args.dry_run:
        print(f"would send {plural(len(listed), 'notice')}")
        return 0
    for failure in outcome.failures:
        print(f"FAILED {failure}")
    print(f"{outcome.delivered} delivered, {outcome.failed} failed; recorded in "
          f"{store.location}")
    return 1 if outcome.failures else 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("notify", help="Send what the [[notify]] rules owe "
                                   "(new, resolved, overdue findings); exit 1 if any failed.")
    add_common_arguments(parser)
    parser.add_argument("--dry-run", action="store_true", help="Only list what is owed.")
    parser.add_argument("--log", action="store_true",
                        help="List the deliveries the ledger recorded (who was told what, "
                             "when, how, and whether it failed) instead of sending.")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="For --log.")
    parser.add_argument("--now", help=argparse.SUPPRESS)
    parser.set_defaults(handler=guarded(_notify))
