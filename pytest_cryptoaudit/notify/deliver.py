"""Send what every ``[[notify]]`` rule owes, with retries, and record each delivery in the
ledger (who was told what, when, through which channel, and whether it failed): the
evidence of CEK-09 guideline 7."""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from ..ledger.chain import Draft
from ..ledger.findings import findings_log
from ..ledger.history import LedgerHistory
from ..ledger.store import LedgerStore
from .channels import BATCH_CHANNELS, DeliveryError, send_issue
from .owed import DELIVERED, FAILED, NOTIFICATION, Delivered, Notice, delivered, owed
from .rules import NotifyError, NotifyRule

KINDS_ORDER = ("new", "overdue", "resolved")


@dataclasses.dataclass
class Outcome:
    """What one call of :func:`notify` did."""

    delivered: int = 0
    failures: list[str] = dataclasses.field(default_factory=list)
    drafts: list[Draft] = dataclasses.field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(d.content["status"] == FAILED for d in self.drafts)


def rules_of(audit_config: Any) -> list[NotifyRule]:
    """The ``[[notify]]`` rules of the configuration (validated when it was loaded)."""
    return [NotifyRule.model_validate(raw) for raw in audit_config.sections.get("notify", ())]


def attempt(rule: NotifyRule, send: Callable[[], Any],
            sleep: Callable[[float], None]) -> tuple[Any, int, str | None]:
    """(result, attempts, error): ``send`` retried with exponential backoff."""
    error = None
    for number in range(rule.retries + 1):
        if number:
            sleep(rule.backoff_seconds * 2 ** (number - 1))
        try:
            return send(), number + 1, None
        except (DeliveryError, NotifyError) as exc:
            error = str(exc)
            if isinstance(exc, NotifyError):
                return None, number + 1, error  # a missing variable will not appear
    return None, rule.retries + 1, error


def _draft(rule: NotifyRule, notice: Notice, at: str, attempts: int, error: str | None,
           issue: Any = None) -> Draft:
    f = notice.finding
    content = {"rule": rule.name, "channel": rule.channel, "target": rule.target,
               "kind": notice.kind, "finding": f["id"], "control": f["control"],
               "check": f["check"], "key_uid": f["key_uid"], "risk_tier": f["risk_tier"],
               "reason_key": notice.reason_key, "at": at, "attempts": attempts,
               "status": FAILED if error else DELIVERED, "error": error, "issue": issue}
    return Draft(NOTIFICATION, f["system"], at, content)


def _send_rule(rule: NotifyRule, notices: Sequence[Notice], sent: dict[Any, Delivered],
               now: datetime, sleep: Callable[[float], None], outcome: Outcome) -> None:
    at = now.isoformat()
    if rule.channel in BATCH_CHANNELS:
        send = BATCH_CHANNELS[rule.channel]
        for kind in KINDS_ORDER:
            batch = [n for n in notices if n.kind == kind]
            if batch:
                _, attempts, error = attempt(rule, functools.partial(send, rule, kind, batch),
                                             sleep)
                outcome.drafts += [_draft(rule, n, at, attempts, error) for n in batch]
                _count(rule, kind, len(batch), error, outcome)
        return
    for notice in notices:
        record = sent.get((rule.name, notice.finding["id"]), Delivered())
        issue, attempts, error = attempt(
            rule, functools.partial(send_issue, rule, notice, record.issue), sleep)
        outcome.drafts.append(_draft(rule, notice, at, attempts, error,
                                     issue if error is None else record.issue))
        _count(rule, notice.kind, 1, error, outcome)


def _count(rule: NotifyRule, kind: str, number: int, error: str | None,
           outcome: Outcome) -> None:
    if error is None:
        outcome.delivered += number
    else:
        outcome.failures.append(f"notify rule {rule.name} ({rule.target}): {number} {kind} "
                                f"finding(s) not delivered: {error}")


def notify(audit_config: Any, store: LedgerStore, now: datetime, *, dry_run: bool = False,
           sleep: Callable[[float], None] = time.sleep) -> tuple[Outcome, list[Any]]:
    """Deliver what every rule owes and append the deliveries to the ledger; with
    ``dry_run`` only say what is owed. Returns the outcome and the (rule, notice) pairs."""
    rules = rules_of(audit_config)
    names = [s.name for s in audit_config.systems]
    history = LedgerHistory.from_store(store, systems=names)
    findings = findings_log(history, names)
    sent = delivered(history)
    policy = audit_config.policy
    owners = {s.name: s.accountable_owner for s in audit_config.systems}

    def triage(tier: str) -> timedelta:
        return timedelta(days=policy.for_tier("finding_triage_days", tier))

    outcome, listed = Outcome(), []
    for rule in rules:
        notices = owed(rule, findings, sent, now, triage, lambda s: owners.get(s, ""))
        listed += [(rule, n) for n in notices]
        if notices and not dry_run:
            _send_rule(rule, notices, sent, now, sleep, outcome)
    if outcome.drafts:
        store.append(outcome.drafts)
    return outcome, listed
