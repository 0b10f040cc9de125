"""Is each system audited as often as its risk demands? (CEK-09 cadence and triggers)

For one system at one instant:

- the *cadence deadline* is its last complete audit plus its tier's interval; a system never
  completely audited has until its first appearance in the ledger plus the interval (and is
  due at once);
- an *event* (security event, key compromise, material change) after that audit makes the
  system due from the moment it happened, or was recorded if later, with a follow-up
  deadline of ``event_follow_up_days`` for the tier (never longer than the interval);
- the system is *due* from the earlier of an event and the last tenth of its interval, so
  a scheduled ``--cryptoaudit-due`` job audits it before the deadline, and *overdue* once
  a deadline has passed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ..cadence import interval
from ..model import Event, RiskTier
from ..policy import Policy
from ..text import plural
from .history import LedgerHistory, RecordedEvent

OK, DUE, OVERDUE = "ok", "due", "overdue"
#: How an event stands: a complete audit followed it in time, none yet (in time), or late.
FOLLOWED_UP, PENDING, LATE = "followed-up", "pending", "late"
DUE_FRACTION = 10  # due during the last tenth of the interval


@dataclasses.dataclass(frozen=True)
class SystemStatus:
    """Where one system stands against its cadence and its events."""

    system: str
    risk_tier: RiskTier
    interval_days: int
    last_complete: datetime | None
    last_run_id: str | None
    pending: tuple[RecordedEvent, ...]
    due_at: datetime
    deadline: datetime | None
    state: str
    reason: str

    @property
    def changes_since(self) -> tuple[RecordedEvent, ...]:
        return tuple(e for e in self.pending if e.event.source == "change-detection")

    @property
    def events_since(self) -> tuple[RecordedEvent, ...]:
        return tuple(e for e in self.pending if e.event.source != "change-detection")

    def as_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "system": self.system, "risk_tier": self.risk_tier.value,
            "interval_days": self.interval_days, "last_complete_audit": iso(self.last_complete),
            "last_run_id": self.last_run_id, "events_since": len(self.events_since),
            "changes_since": len(self.changes_since),
            "pending_events": [{"kind": e.event.kind.value, "at": iso(e.event.at),
                                "source": e.event.source, "note": e.event.note}
                               for e in self.pending],
            "next_due": iso(self.due_at), "deadline": iso(self.deadline),
            "state": self.state, "reason": self.reason,
        }


def follow_up(tier: RiskTier, cadence: Mapping[RiskTier, int], policy: Policy) -> timedelta:
    """How long after an event its follow-up audit may come, for ``tier``."""
    days = policy.for_tier("event_follow_up_days", tier)
    return min(interval(tier, cadence), timedelta(days=days))


def all_events(history: LedgerHistory, system: str,
               extra: Iterable[Event] = ()) -> list[RecordedEvent]:
    """Ledger events of ``system`` plus events from elsewhere (``[[events]]``)."""
    events = history.events(system) + [RecordedEvent(e) for e in extra if e.system == system]
    return sorted(events, key=lambda e: e.effective)


def first_audit_after(moment: datetime, audits: Iterable[datetime]) -> datetime | None:
    """The first complete audit that started at or after ``moment``; only such an audit can
    have looked at what an event changed (a change a run detected is dated at that run's
    start, and that run followed it up)."""
    return min((audit for audit in audits if audit >= moment), default=None)


def event_follow_up(event: RecordedEvent, audits: Iterable[datetime], allowed: timedelta,
                    now: datetime) -> str:
    """:data:`FOLLOWED_UP`, :data:`PENDING` or :data:`LATE` for one event: the judgement
    that makes a system due (an event no audit followed) or overdue (its deadline passed)."""
    deadline = event.effective + allowed
    after = first_audit_after(event.effective, audits)
    if after is None:
        return PENDING if now <= deadline else LATE
    return FOLLOWED_UP if after <= deadline else LATE


def system_status(system: str, tier: RiskTier, history: LedgerHistory,
                  cadence: Mapping[RiskTier, int], policy: Policy, now: datetime,
                  extra_events: Sequence[Event] = ()) -> SystemStatus:
    """The cadence state of one system at ``now``, from the ledger (and config events)."""
    period = interval(tier, cadence)
    last = history.last_complete(system)
    since = last.started if last else None
    audits = [since] if since else []
    pending = tuple(e for e in all_events(history, system, extra_events)
                    if first_audit_after(e.effective, audits) is None)
    if last is not None:
        # A result carried forward counts as audited only from when it was established.
        deadline: datetime | None = last.audited_since + period
        due_at = last.audited_since + period - period / DUE_FRACTION
        reason = f"last complete audit {last.started:%Y-%m-%d %H:%M} UTC"
        if last.audited_since < last.started:
            reason += f" (oldest carried result {last.audited_since:%Y-%m-%d %H:%M} UTC)"
    else:
        first = history.first_seen(system)
        deadline = first + period if first else None
        due_at = first or now
        reason = "never completely audited"
    if pending:
        first_event = pending[0]
        due_at = min(due_at, first_event.effective)
        event_deadline = first_event.effective + follow_up(tier, cadence, policy)
        deadline = min(deadline, event_deadline) if deadline else event_deadline
        reason += (f"; {plural(len(pending), 'event')} since, first "
                   f"{first_event.event.kind.value} at {first_event.effective:%Y-%m-%d %H:%M} UTC")
    state = OVERDUE if deadline and now > deadline else DUE if now >= due_at else OK
    return SystemStatus(system, tier, period.days, since, last.run_id if last else None,
                        pending, due_at, deadline, state, reason)


def statuses(audit_config: Any, history: LedgerHistory, now: datetime) -> list[SystemStatus]:
    """The status of every configured system."""
    cadence = audit_config.cadence
    return [system_status(s.name, s.risk_tier, history, cadence, audit_config.policy, now,
                          audit_config.events)
            for s in audit_config.systems]
