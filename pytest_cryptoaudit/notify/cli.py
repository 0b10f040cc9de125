"""``cryptoaudit notify``: send what the ``[[notify]]`` rules owe, between runs too (a
finding becomes overdue without any run), recording every delivery in the ledger."""

from __future__ import annotations

import argparse
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
from ..text import plural
from .channels import line
from .deliver import notify, rules_of


def _notify(args: argparse.Namespace) -> int:
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
    parser.add_argument("--now", help=argparse.SUPPRESS)
    parser.set_defaults(handler=guarded(_notify))
