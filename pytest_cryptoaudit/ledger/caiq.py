"""``cryptoaudit caiq``: answers to the AI-CAIQ questions, with the evidence behind them.

CEK-09's two questions are answered from the ledger: the cadence per tier, the last
complete audits, the state of every system, and whether events were followed up. Any other
control that declares questions (``@pytest.mark.control(..., caiq=[...])``) is answered
from its outcomes in each system's last complete audit. Yes means every piece of evidence
supports the answer, No that none does (or there is none), Partial anything between.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from ..model import RiskTier
from ..references import CAIQ_CEK09_1, CAIQ_CEK09_2
from ..text import plural
from .cli_support import add_common_arguments, guarded, load_audit_config, now_of, open_store, when
from .history import LedgerHistory
from .review import REVIEWED, requirement, review_states
from .status import (
    FOLLOWED_UP,
    LATE,
    OVERDUE,
    PENDING,
    SystemStatus,
    all_events,
    event_follow_up,
    follow_up,
    statuses,
)

YES, NO, PARTIAL = "Yes", "No", "Partial"
BUILTIN = {"CEK-09.1": CAIQ_CEK09_1, "CEK-09.2": CAIQ_CEK09_2}
YEAR = timedelta(days=365)
COLUMNS = ("id", "control", "question", "answer", "evidence")


def _verdict(good: int, total: int) -> str:
    return NO if total == 0 or good == 0 else YES if good == total else PARTIAL


def _per_tier(rows: Sequence[SystemStatus], cadence: Any) -> str:
    parts = []
    for tier in reversed(RiskTier):
        members = [s for s in rows if s.risk_tier is tier]
        if members:
            last = max((s.last_complete for s in members if s.last_complete), default=None)
            parts.append(f"{tier.value}: every {cadence[tier]}d, {plural(len(members), 'system')}, "
                         f"latest complete audit {when(last)}")
    return "; ".join(parts)


def _answer_frequency(audit_config: Any, rows: Sequence[SystemStatus]) -> dict[str, Any]:
    cadence = audit_config.cadence
    intervals = [cadence[t] for t in reversed(RiskTier)]  # critical first
    proportional = intervals == sorted(intervals)
    on_time = [s for s in rows if s.last_complete and s.state != OVERDUE]
    answer = _verdict(len(on_time), len(rows)) if proportional else NO
    evidence = (f"cadence {'is' if proportional else 'is NOT'} proportional to risk "
                f"({_per_tier(rows, cadence)}); {len(on_time)} of {plural(len(rows), 'system')} "
                "audited within their interval")
    overdue = [s.system for s in rows if s.state == OVERDUE]
    if overdue:
        evidence += f"; overdue: {', '.join(overdue)}"
    return {"answer": answer, "evidence": evidence}


def _event_follow_ups(audit_config: Any, history: LedgerHistory, now: datetime,
                      name: str, tier: RiskTier) -> Counter[str]:
    """How the events of the last year stand, judged as ``cryptoaudit status`` judges them:
    an event with no complete audit after it is not followed up, however early it is."""
    allowed = follow_up(tier, audit_config.cadence, audit_config.policy)
    audits = [a.started for a in history.complete_audits(name)]
    return Counter(event_follow_up(recorded, audits, allowed, now)
                   for recorded in all_events(history, name, audit_config.events)
                   if recorded.effective >= now - YEAR)


def _answer_annual(audit_config: Any, history: LedgerHistory, rows: Sequence[SystemStatus],
                   now: datetime) -> dict[str, Any]:
    annual = [s for s in rows if s.last_complete and now - s.last_complete <= YEAR]
    follow: Counter[str] = sum(
        (_event_follow_ups(audit_config, history, now, s.system, s.risk_tier) for s in rows),
        Counter())
    events = follow.total()
    daily = [t.value for t in RiskTier if audit_config.cadence[t] == 1]
    good = len(annual) + follow[FOLLOWED_UP]
    answer = _verdict(good, len(rows) + events) if annual else NO
    evidence = (f"{len(annual)} of {plural(len(rows), 'system')} completely audited in the "
                f"last 12 months; {follow[FOLLOWED_UP]} of {events} security events and "
                f"material changes followed up in time ({follow[PENDING]} awaiting a complete "
                f"audit, {follow[LATE]} late); continuous (daily) audits for tier(s) "
                f"{', '.join(daily) or 'none'}")
    return {"answer": answer, "evidence": evidence + _sign_offs(audit_config, history, now)}


def _sign_offs(audit_config: Any, history: LedgerHistory, now: datetime) -> str:
    """The sign-off of the latest complete audits ([review], CEK-09 guideline 6), cited
    beside the audits themselves; nothing when no sign-off is configured."""
    if audit_config.review is None:
        return ""
    signed = due = 0
    open_items = []
    for system in audit_config.systems:
        states = review_states(history, system.name,
                               requirement(audit_config.review, system.risk_tier), now)
        if states:
            due += 1
            signed += states[-1].state == REVIEWED
            if states[-1].state != REVIEWED:
                open_items.append(f"{system.name} {states[-1].describe()}")
    text = (f"; results signed off by leadership: {signed} of "
            f"{plural(due, 'latest complete audit')}")
    return text + (f" (open: {'; '.join(open_items)})" if open_items else "")


def _control_answer(spec: Any, history: LedgerHistory, systems: Iterable[str]) -> dict[str, Any]:
    name = f"{spec.id}/{spec.check}"
    passed = failed = 0
    for system in systems:
        last = history.last_complete(system)
        counts = last.data.get("controls", {}).get(name, {}) if last else {}
        passed += counts.get("passed", 0) + counts.get("waived", 0)
        failed += counts.get("failed", 0) + counts.get("error", 0)
    return {"answer": _verdict(passed, passed + failed),
            "evidence": f"{spec.id} {spec.check} in the last complete audits: {passed} passed "
                        f"or waived, {failed} failed or errored"}


def _declared(specs: Iterable[Any]) -> list[tuple[str, str, Any]]:
    """(id, question, spec) for the questions controls declare beyond CEK-09's own."""
    found = []
    for spec in specs:
        for index, question in enumerate(spec.caiq, start=1):
            qid, text = question if isinstance(question, list | tuple) else (
                f"{spec.id}.{index}", question)
            if text not in BUILTIN.values():
                found.append((qid, text, spec))
    return found


def answers(audit_config: Any, history: LedgerHistory, now: datetime,
            specs: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """Every answer, CEK-09's first, as rows of id, control, question, answer, evidence."""
    rows = statuses(audit_config, history, now)
    result = [
        {"id": "CEK-09.1", "control": "CEK-09", "question": CAIQ_CEK09_1,
         **_answer_frequency(audit_config, rows)},
        {"id": "CEK-09.2", "control": "CEK-09", "question": CAIQ_CEK09_2,
         **_answer_annual(audit_config, history, rows, now)},
    ]
    names = [s.name for s in audit_config.systems]
    for qid, text, spec in _declared(specs):
        result.append({"id": qid, "control": spec.id, "question": text,
                       **_control_answer(spec, history, names)})
    return result


def _run(args: argparse.Namespace) -> int:
    from ..catalog_cli import load_builtin_catalog

    audit_config = load_audit_config(args)
    with open_store(args, audit_config) as store:
        history = LedgerHistory.from_store(store)
    rows = answers(audit_config, history, now_of(args), load_builtin_catalog())
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writerow({c: c.title() if c != "id" else "Question ID" for c in COLUMNS})
        writer.writerows(rows)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("caiq", help="Answer the AI-CAIQ questions (CEK-09 and any "
                                   "control declaring caiq=) with the evidence behind them.")
    add_common_arguments(parser)
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument("--now", help="Answer as of this time (default: now).")
    parser.set_defaults(handler=guarded(_run))
