"""What each rule still owes its stakeholders, judged from the ledger.

The findings log says where every finding stands (open, waived, resolved, with its
corrective action); the ledger's ``notification`` entries say what each rule already
delivered. A rule owes ``new`` for an open finding it has not announced since it was last
resolved, ``resolved`` for a resolved finding it had announced, and ``overdue`` once per
reason (no corrective action after the triage time; an action past its due date). A failed
delivery is no delivery, so the next run (or ``cryptoaudit notify``) tries again; nothing is
announced twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ..ledger.findings import OPEN, RESOLVED, FindingLog
from ..ledger.history import LedgerHistory
from .rules import NotifyRule

NOTIFICATION = "notification"
DELIVERED, FAILED = "delivered", "failed"
MESSAGE_LIMIT = 300


@dataclasses.dataclass(frozen=True)
class Notice:
    """One finding to tell one rule's audience about, for one reason."""

    kind: str
    finding: Mapping[str, Any]
    reason_key: str = ""
    reason: str = ""


@dataclasses.dataclass
class Delivered:
    """What a rule has delivered about one finding: its kinds in order, overdue reasons,
    and the issue it opened (GitHub/GitLab)."""

    kinds: list[str] = dataclasses.field(default_factory=list)
    overdue: set[str] = dataclasses.field(default_factory=set)
    issue: Any = None


def delivered(history: LedgerHistory) -> dict[tuple[str, str], Delivered]:
    """(rule, finding id) -> what the ledger says was delivered."""
    found: dict[tuple[str, str], Delivered] = {}
    for data in history.contents:
        if data.get("type") != NOTIFICATION or data.get("status") != DELIVERED:
            continue
        record = found.setdefault((data["rule"], data["finding"]), Delivered())
        if data["kind"] == "overdue":
            record.overdue.add(data.get("reason_key", ""))
        else:
            record.kinds.append(data["kind"])
        if data.get("issue") is not None:
            record.issue = data["issue"]
    return found


def finding_facts(finding: FindingLog, owner: str) -> dict[str, Any]:
    """The fields a notification carries: identity, where, how bad, never key material."""
    return {"id": finding.id, "system": finding.system, "control": finding.control,
            "check": finding.check, "key_uid": finding.key_uid,
            "risk_tier": finding.risk_tier, "owner": owner, "outcome": finding.outcome,
            "status": finding.status, "message": finding.message[:MESSAGE_LIMIT],
            "first_seen": finding.first_seen.isoformat(),
            "resolved_at": finding.resolved_at.isoformat() if finding.resolved_at else None}


def overdue_reason(finding: FindingLog, now: datetime, triage: timedelta) -> tuple[str, str]:
    """(key, words) when an open finding is overdue, else ("", "") — as CEK-09
    ``findings-followed-up`` judges it."""
    action = finding.action
    if action is not None and action.due < now.date():
        return (f"action-due:{action.due}",
                f"corrective action by {action.owner} was due {action.due}")
    if action is None and now - finding.first_seen > triage:
        return ("triage", f"open since {finding.first_seen:%Y-%m-%d} with no corrective "
                          f"action after the {triage.days}-day triage time")
    return "", ""


def owed(rule: NotifyRule, findings: Iterable[FindingLog],
         sent: Mapping[tuple[str, str], Delivered], now: datetime,
         triage_of: Callable[[str], timedelta], owner_of: Callable[[str], str]) -> list[Notice]:
    """The notices ``rule`` owes, oldest finding first."""
    notices = []
    for finding in findings:
        facts = finding_facts(finding, finding.accountable_owner or owner_of(finding.system))
        record = sent.get((rule.name, finding.id), Delivered())
        last = record.kinds[-1] if record.kinds else None
        if finding.status == OPEN and last != "new" and rule.matches("new", facts):
            notices.append(Notice("new", facts))
        elif finding.status == RESOLVED and last == "new" and rule.matches("resolved", facts):
            notices.append(Notice("resolved", facts))
        if finding.status == OPEN and rule.matches("overdue", facts):
            key, words = overdue_reason(finding, now, triage_of(finding.risk_tier))
            if key and key not in record.overdue:
                notices.append(Notice("overdue", facts, key, words))
    return notices
