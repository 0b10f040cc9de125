"""``cryptoaudit review sign|list``: leadership sign-off of audit results, in the ledger."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..cli import UsageError
from ..validation import suggestion
from .chain import Entry, current_chain
from .cli_support import (
    add_common_arguments,
    guarded,
    load_audit_config,
    now_of,
    open_store,
    recorder,
    text_table,
    when,
)
from .history import LedgerHistory
from .review import (
    DECISIONS,
    REVIEW,
    configured_roles,
    requirement,
    review_draft,
    review_states,
)
from .signing import SigningError, check, readable_signers, sign


def _audits_of_run(store: Any, run_id: str, systems: list[str]) -> list[Entry]:
    store.check_intact()
    audits = [e for e in store.entries(types=["audit"], min_seq=store.chain_start())
              if e.run_id == run_id or (len(run_id) >= 8 and (e.run_id or "").startswith(run_id))]
    if not audits:
        raise UsageError(f"no audit of run {run_id!r} in the ledger {store.location} "
                         "(see `cryptoaudit status` or the run's evidence for its id)")
    if len({e.run_id for e in audits}) > 1:
        raise UsageError(f"run {run_id!r} is ambiguous: give more of its id")
    if systems:
        unknown = sorted(set(systems) - {e.system for e in audits})
        if unknown:
            raise UsageError(f"--system: run {audits[0].run_id} did not audit "
                             f"{', '.join(unknown)}")
        audits = [e for e in audits if e.system in systems]
    return audits


def _check_role(audit_config: Any, role: str) -> None:
    roles = configured_roles(audit_config.review)
    if roles and role not in roles:
        raise UsageError(f"--role: {role!r} is not a role [review] names "
                         f"({', '.join(sorted(roles))}){suggestion(role, roles)}")


def _sign(args: argparse.Namespace) -> int:
    audit_config = load_audit_config(args)
    _check_role(audit_config, args.role)
    now, by = datetime.now(UTC).isoformat(), recorder()
    with open_store(args, audit_config) as store:
        audits = _audits_of_run(store, args.run_id, args.system or [])
        drafts = []
        for audit in audits:
            draft = review_draft(audit, by=args.by, role=args.role, decision=args.decision,
                                 note=args.note, signed_at=now, recorded_by=by)
            if args.signing_key:
                try:
                    signature = sign(draft.content, Path(args.signing_key))
                except SigningError as exc:
                    raise UsageError(str(exc)) from None
                draft = review_draft(audit, by=args.by, role=args.role,
                                     decision=args.decision, note=args.note, signed_at=now,
                                     recorded_by=by, signature=signature)
            drafts.append(draft)
        entries = store.append(drafts)
    for entry in entries:
        incomplete = "" if entry.data.get("audit_complete") else \
            " (an incomplete audit: it satisfies no sign-off requirement)"
        signed = ", SSH-signed" if entry.data.get("signature") else ""
        print(f"recorded {entry.label}{signed}{incomplete}")
    return 0


def signers_file(args: argparse.Namespace, audit_config: Any) -> Path | None:
    """``--allowed-signers``, else ``[review] allowed_signers`` beside the configuration."""
    if getattr(args, "allowed_signers", None):
        path = Path(args.allowed_signers)
    elif audit_config is not None and audit_config.review is not None \
            and audit_config.review.allowed_signers:
        path = audit_config.base_dir / audit_config.review.allowed_signers
    else:
        return None
    try:
        return readable_signers(path)
    except SigningError as exc:
        raise UsageError(str(exc)) from None


def signature_problems(entries: list[Entry], allowed_signers: Path) -> list[str]:
    """Every sign-off of the current chain whose signature is missing or does not verify."""
    problems = []
    for entry in current_chain(entries):
        if entry.type == REVIEW:
            reason = check(entry.data, allowed_signers)
            if reason:
                problems.append(f"{entry.label}: {reason}")
    return problems


def _list(args: argparse.Namespace) -> int:
    audit_config = load_audit_config(args)
    now = now_of(args)
    names = [args.system] if args.system else [s.name for s in audit_config.systems]
    with open_store(args, audit_config) as store:
        history = LedgerHistory.from_store(store, systems=names)
    states = [state for system in audit_config.systems if system.name in names
              for state in review_states(history, system.name,
                                         requirement(audit_config.review, system.risk_tier),
                                         now)]
    if not args.all:
        states = [s for s in states if s.state != "reviewed"]
    if args.format == "json":
        json.dump([s.as_dict() for s in states], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    rows = [(s.system, s.run_id[:8], when(s.audit_started), when(s.deadline),
             ", ".join(s.missing_roles) or "-",
             ", ".join(f"{r}: {v.by} {v.decision}" for r, v in sorted(s.signed.items())) or "-",
             s.state) for s in states]
    sys.stdout.write(text_table(("SYSTEM", "RUN", "AUDIT", "SIGN BY", "MISSING", "SIGNED",
                                 "STATE"), rows))
    return 0


def register(subparsers: Any) -> None:
    review = subparsers.add_parser("review", help="Sign off audit results (CEK-09 guideline 6).")
    verbs = review.add_subparsers(dest="review_command", required=True, metavar="COMMAND")
    signer = verbs.add_parser("sign", help="Record a reviewer's decision on a run's audits.")
    add_common_arguments(signer)
    signer.add_argument("run_id", metavar="RUN_ID", help="The run (its id or first 8+ chars).")
    signer.add_argument("--by", required=True, help="Who reviewed (the allowed-signers "
                        "principal when signing, e.g. an e-mail address).")
    signer.add_argument("--role", required=True, help="In which role, e.g. security.")
    signer.add_argument("--decision", required=True, choices=DECISIONS)
    signer.add_argument("--note", default="", help="What was decided, e.g. a ticket.")
    signer.add_argument("--system", action="append",
                        help="Sign only this system's audit (repeatable; default: all).")
    signer.add_argument("--signing-key", metavar="PATH",
                        help="Sign with this SSH key (ssh-keygen -Y sign, as git does).")
    signer.set_defaults(handler=guarded(_sign))
    listing = verbs.add_parser("list", help="Sign-offs pending, missing or late.")
    add_common_arguments(listing)
    listing.add_argument("--system")
    listing.add_argument("--all", action="store_true", help="Include reviewed audits.")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.add_argument("--now", help="Evaluate as of this time (ISO 8601; default: now).")
    listing.set_defaults(handler=guarded(_list))
