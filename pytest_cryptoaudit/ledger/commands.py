"""``cryptoaudit ledger verify`` and ``cryptoaudit event add|ingest|list``."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..cli import UsageError
from ..model import EventKind
from ..serialize import to_jsonable
from ..text import plural
from .chain import RESTART, verify
from .cli_support import (
    add_common_arguments,
    guarded,
    load_audit_config,
    open_store,
    parse_instant,
    recorder,
    text_table,
    when,
)
from .history import LedgerHistory
from .ingest import IngestError, read_cloudtrail, read_vault_log
from .records import event_draft
from .review_cli import signature_problems, signers_file
from .signing import SigningError
from .status import all_events


def _verify(args: argparse.Namespace) -> int:
    audit_config = None if args.ledger and not args.config else load_audit_config(args)
    with open_store(args, audit_config) as store:
        entries = store.entries(detail=True)
        problems = verify(entries, store.head())
        location = store.location
    signers = signers_file(args, audit_config)
    if signers is not None:
        try:
            problems.extend(signature_problems(entries, signers))
        except SigningError as exc:
            raise UsageError(str(exc)) from None
    if args.expect_head and (not entries or entries[-1].chain_hash != args.expect_head):
        problems.append(f"the last entry's chain hash is not the expected {args.expect_head}: "
                        "entries were removed from the end or the chain was rebuilt")
    for restart in (e for e in entries if e.type == RESTART):
        by = restart.data.get("recorded_by", {}).get("user", "?")
        print(f"RESTARTED at #{restart.seq} on {restart.at} by {by}: "
              f"{restart.data.get('reason')} ({restart.data.get('problem_count')} problem(s) "
              "before it, recorded then)")
    for problem in problems:
        print(f"TAMPERED {problem}")
    if problems:
        print(f"ledger {location}: {plural(len(problems), 'problem')} in "
              f"{plural(len(entries), 'entry', 'entries')}")
        return 1
    head = entries[-1].chain_hash if entries else "-"
    print(f"ledger {location}: intact, {len(entries)} entries, head {head}")
    return 0


def _restart(args: argparse.Namespace) -> int:
    audit_config = None if args.ledger and not args.config else load_audit_config(args)
    with open_store(args, audit_config) as store:
        entry, problems = store.restart(args.reason, datetime.now(UTC).isoformat(), recorder())
        location = store.location
    for problem in problems:
        print(f"TAMPERED {problem}")
    print(f"ledger {location}: restarted the chain at #{entry.seq} after {len(problems)} "
          f"problem(s); the entries before it stay as evidence and are no longer read")
    return 0


def _check_system(audit_config: Any, name: str) -> None:
    known = [s.name for s in audit_config.systems]
    if name not in known:
        raise UsageError(f"--system: no configured system named {name!r} "
                         f"(configured: {', '.join(known)})")


def _event_add(args: argparse.Namespace) -> int:
    audit_config = load_audit_config(args)
    _check_system(audit_config, args.system)
    at = parse_instant(args.at) if args.at else datetime.now(UTC)
    versions = [int(v) for v in args.versions.split(",")] if args.versions else []
    event = {"system": args.system, "kind": args.kind, "at": at.isoformat(),
             "note": args.note, "key": args.key, "versions": versions, "source": "cli",
             "source_id": f"cli:{uuid.uuid4()}"}
    with open_store(args, audit_config) as store:
        [entry] = store.append([event_draft(event, recorded_at=datetime.now(UTC).isoformat(),
                                            recorded_by=recorder())])
    print(f"recorded {entry.label}; {args.system} is due for audit")
    return 0


def _event_ingest(args: argparse.Namespace) -> int:
    audit_config = load_audit_config(args)
    _check_system(audit_config, args.system)
    try:
        events = (read_vault_log(Path(args.vault_audit_log), args.system)
                  if args.vault_audit_log else read_cloudtrail(args.cloudtrail, args.system))
    except IngestError as exc:
        raise UsageError(str(exc)) from None
    with open_store(args, audit_config) as store:
        known = LedgerHistory.from_store(store, systems=[args.system]).source_ids()
        new = [e for e in events if e["source_id"] not in known]
        now, by = datetime.now(UTC).isoformat(), recorder()
        if not args.dry_run:
            store.append([event_draft(e, recorded_at=now, recorded_by=by) for e in new])
    for event in new:
        print(f"{event['at']}  {event['kind']:<14}  {event['note']}")
    verb = "would record" if args.dry_run else "recorded"
    print(f"{verb} {plural(len(new), 'event')} for {args.system}; "
          f"{len(events) - len(new)} already in the ledger")
    return 0


def _event_list(args: argparse.Namespace) -> int:
    audit_config = load_audit_config(args)
    names = [args.system] if args.system else [s.name for s in audit_config.systems]
    with open_store(args, audit_config) as store:
        history = LedgerHistory.from_store(store, systems=names)
    events = sorted((e for n in names for e in all_events(history, n, audit_config.events)),
                    key=lambda e: e.event.at)
    if args.format == "json":
        json.dump([{**to_jsonable(e.event), "recorded_at": to_jsonable(e.recorded_at)}
                   for e in events], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    rows = [(e.event.system, e.event.kind.value, when(e.event.at), e.event.source, e.event.note)
            for e in events]
    sys.stdout.write(text_table(("SYSTEM", "KIND", "AT (UTC)", "SOURCE", "NOTE"), rows))
    return 0


def register(subparsers: Any) -> None:
    ledger = subparsers.add_parser("ledger", help="Inspect the audit ledger.")
    verbs = ledger.add_subparsers(dest="ledger_command", required=True, metavar="COMMAND")
    check = verbs.add_parser("verify", help="Check the hash chain; name every edited, "
                             "deleted or reordered entry (exit 1 if any).")
    add_common_arguments(check)
    check.add_argument("--expect-head", metavar="SHA256",
                       help="The chain hash you recorded elsewhere for the last entry.")
    check.add_argument("--allowed-signers", metavar="FILE",
                       help="Check every sign-off's SSH signature against this ssh-keygen "
                            "allowed-signers file (default: [review] allowed_signers).")
    check.set_defaults(handler=guarded(_verify))
    restart = verbs.add_parser("restart", help="Start a new chain on a damaged ledger, "
                               "recording why, who and every problem found (refused on an "
                               "intact ledger).")
    add_common_arguments(restart)
    restart.add_argument("--reason", required=True,
                         help="Why the chain is restarted (an incident or ticket reference).")
    restart.set_defaults(handler=guarded(_restart))
    _register_events(subparsers)


def _register_events(subparsers: Any) -> None:
    event = subparsers.add_parser("event", help="Record or import security events.")
    verbs = event.add_subparsers(dest="event_command", required=True, metavar="COMMAND")
    add = verbs.add_parser("add", help="Record an event; the system is due from then on.")
    add_common_arguments(add)
    add.add_argument("--system", required=True)
    add.add_argument("--kind", required=True, choices=[k.value for k in EventKind])
    add.add_argument("--at", help="When it happened (ISO 8601 with offset; default: now).")
    add.add_argument("--note", default="")
    add.add_argument("--key", help="The key concerned (a key compromise).")
    add.add_argument("--versions", help="Compromised key versions, e.g. 1,2.")
    add.set_defaults(handler=guarded(_event_add))
    ingest = verbs.add_parser("ingest", help="Import key and policy operations from a log.")
    add_common_arguments(ingest)
    ingest.add_argument("--system", required=True)
    source = ingest.add_mutually_exclusive_group(required=True)
    source.add_argument("--vault-audit-log", metavar="FILE")
    source.add_argument("--cloudtrail", metavar="DIR_OR_S3_PREFIX")
    ingest.add_argument("--dry-run", action="store_true")
    ingest.set_defaults(handler=guarded(_event_ingest))
    listing = verbs.add_parser("list", help="List recorded events.")
    add_common_arguments(listing)
    listing.add_argument("--system")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(handler=guarded(_event_list))
