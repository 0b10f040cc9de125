"""Sign-off of audit results by security and compliance leadership (CEK-09 guideline 6).

A *review* entry in the ledger records that one person, in one role, reviewed one system's
audit in one run and accepted it, rejected it or accepted it with corrective actions. The
``[review]`` table says which roles must sign a complete audit, and within how many days,
per risk tier.

A review of a run also covers the system's earlier audits: leadership signing this week's
results has seen what last week's showed. So an audit is *reviewed* when, for every required
role, a review of that audit or a later one was signed by the audit's deadline; *pending*
while its deadline has not passed; *late* when every role signed, some after the deadline;
*missing* when a role has not signed and the deadline has passed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from ..model import RiskTier
from .chain import Draft
from .history import AuditView, LedgerHistory, parse_time

REVIEW = "review"
DECISIONS = ("accepted", "rejected", "accepted-with-actions")
REVIEWED, PENDING, LATE, MISSING = "reviewed", "pending", "late", "missing"
#: The fields of a review that its SSH signature covers, in this order.
STATEMENT_FIELDS = ("run_id", "system", "audit_chain_hash", "by", "role", "decision", "note",
                    "signed_at")
NAMESPACE = "cryptoaudit-review"
#: Lines on sign-off for the Markdown and HTML reports of a run: the sign-offs pending in the
#: ledger before it, then what this run's audits need (the ledger plugin fills it).
SIGN_OFFS = pytest.StashKey[list[str]]()


@dataclasses.dataclass(frozen=True)
class Requirement:
    """Which roles must sign a tier's complete audits, within how many days."""

    roles: tuple[str, ...]
    days: int

    @property
    def required(self) -> bool:
        return bool(self.roles)


def requirement(review: Any, tier: RiskTier) -> Requirement:
    """The requirement of ``[review]`` (a ReviewTable or None) for ``tier``."""
    if review is None:
        return Requirement((), 0)
    override = getattr(review, tier.value)
    roles = override.roles if override and override.roles is not None else review.roles
    days = override.days if override and override.days is not None else review.days
    return Requirement(tuple(roles), days)


def configured_roles(review: Any) -> set[str]:
    """Every role any tier of ``[review]`` names."""
    return {role for tier in RiskTier for role in requirement(review, tier).roles}


@dataclasses.dataclass(frozen=True)
class Review:
    """One sign-off, as the ledger recorded it."""

    data: Mapping[str, Any]

    @property
    def role(self) -> str:
        return str(self.data["role"])

    @property
    def by(self) -> str:
        return str(self.data["by"])

    @property
    def decision(self) -> str:
        return str(self.data["decision"])

    @property
    def signed_at(self) -> datetime:
        return parse_time(self.data["signed_at"])

    @property
    def audit_started(self) -> datetime:
        return parse_time(self.data["audit_started"])

    @property
    def signed(self) -> bool:
        return bool(self.data.get("signature"))


def statement(data: Mapping[str, Any]) -> dict[str, Any]:
    """What a review's signature covers: who, in which role, decided what about which audit
    (named by its chain hash, so a signature cannot be moved to another audit)."""
    return {"namespace": NAMESPACE, **{name: data.get(name) for name in STATEMENT_FIELDS}}


def review_draft(audit: Any, *, by: str, role: str, decision: str, note: str,
                 signed_at: str, recorded_by: Mapping[str, Any],
                 signature: str | None = None) -> Draft:
    """A review entry for ``audit`` (a stored audit :class:`~.chain.Entry`)."""
    content = {"run_id": audit.run_id, "system": audit.system,
               "audit_chain_hash": audit.chain_hash, "audit_seq": audit.seq,
               "audit_started": audit.data["started"],
               "audit_complete": bool(audit.data.get("complete")),
               "by": by, "role": role, "decision": decision, "note": note,
               "signed_at": signed_at, "signature": signature,
               "recorded_by": dict(recorded_by)}
    return Draft(REVIEW, audit.system, signed_at, content, run_id=audit.run_id)


def reviews_of(history: LedgerHistory, system: str) -> list[Review]:
    """Every sign-off recorded for ``system``, in chain order."""
    return [Review(d) for d in history.contents
            if d.get("type") == REVIEW and d.get("system") == system]


@dataclasses.dataclass(frozen=True)
class ReviewState:
    """Where the sign-off of one system's audit stands."""

    system: str
    run_id: str
    audit_started: datetime
    deadline: datetime
    roles: tuple[str, ...]
    signed: Mapping[str, Review]
    state: str

    @property
    def missing_roles(self) -> list[str]:
        return [role for role in self.roles if role not in self.signed]

    @property
    def late_roles(self) -> list[str]:
        return [role for role, review in self.signed.items()
                if review.signed_at > self.deadline]

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system, "run_id": self.run_id,
                "audit_started": self.audit_started.isoformat(),
                "deadline": self.deadline.isoformat(), "roles": list(self.roles),
                "missing_roles": self.missing_roles, "late_roles": self.late_roles,
                "signed": {role: {"by": r.by, "decision": r.decision,
                                  "signed_at": r.signed_at.isoformat(), "signed": r.signed}
                           for role, r in sorted(self.signed.items())},
                "state": self.state}

    def describe(self) -> str:
        """``run 1b2c3d4e (2026-07-01): compliance missing, due 2026-07-15``."""
        head = f"run {self.run_id[:8]} ({self.audit_started:%Y-%m-%d})"
        if self.state == REVIEWED:
            return f"{head}: signed off by {', '.join(self.roles)}"
        parts = [f"{', '.join(self.missing_roles)} missing"] if self.missing_roles else []
        if self.late_roles:
            parts.append(f"{', '.join(self.late_roles)} signed late")
        return f"{head}: {'; '.join(parts)}, due {self.deadline:%Y-%m-%d}"


def review_state(audit: AuditView, reviews: Sequence[Review], need: Requirement,
                 now: datetime, accept: Any = None) -> ReviewState:
    """How ``audit`` stands: each role's earliest covering sign-off, judged against the
    deadline. ``accept`` (a review -> bool) leaves out sign-offs that do not count (an
    unsigned one, where signatures are required)."""
    deadline = audit.started + timedelta(days=need.days)
    signed: dict[str, Review] = {}
    for review in sorted(reviews, key=lambda r: r.signed_at):
        if review.role in need.roles and review.role not in signed \
                and review.audit_started >= audit.started \
                and (accept is None or accept(review)):
            signed[review.role] = review
    complete = all(role in signed for role in need.roles)
    if complete and all(r.signed_at <= deadline for r in signed.values()):
        state = REVIEWED
    elif now <= deadline:
        state = PENDING
    else:
        state = LATE if complete else MISSING
    return ReviewState(audit.data["system"], audit.data["run_id"], audit.started, deadline,
                       need.roles, signed, state)


def review_states(history: LedgerHistory, system: str, need: Requirement, now: datetime,
                  since: datetime | None = None, accept: Any = None) -> list[ReviewState]:
    """The sign-off state of every complete audit of ``system`` (since ``since``)."""
    if not need.required:
        return []
    reviews = reviews_of(history, system)
    return [review_state(audit, reviews, need, now, accept)
            for audit in sorted(history.complete_audits(system), key=lambda a: a.started)
            if since is None or audit.started >= since]


def pending_reviews(audit_config: Any, history: LedgerHistory,
                    now: datetime) -> list[ReviewState]:
    """For each configured system that needs sign-off: its latest complete audit, when that
    is not yet signed by every role (pending or missing)."""
    found = []
    for system in audit_config.systems:
        need = requirement(audit_config.review, system.risk_tier)
        states = review_states(history, system.name, need, now)
        if states and states[-1].state in (PENDING, MISSING):
            found.append(states[-1])
    return found


def pending_lines(states: Iterable[ReviewState]) -> list[str]:
    """One line per pending review: ``payments-kms: run 1b2c3d4e (...): ... missing``."""
    return [f"{s.system}: {s.describe()}" for s in states]


def sign_off_lines(audit_config: Any, history: LedgerHistory, now: datetime,
                   run_id: str, systems: Iterable[str]) -> list[str]:
    """What a run's reports say about sign-off: pending reviews of earlier audits, then who
    must sign this run's audits, by when, and the command that records it."""
    lines = [f"pending: {line}" for line in pending_lines(pending_reviews(
        audit_config, history, now))]
    needs: dict[tuple[tuple[str, ...], int], list[str]] = {}
    for name in systems:
        need = requirement(audit_config.review, audit_config.system(name).risk_tier)
        if need.required:
            needs.setdefault((need.roles, need.days), []).append(name)
    for (roles, days), names in sorted(needs.items()):
        lines.append(f"this run: {', '.join(names)} to be signed off by {', '.join(roles)} "
                     f"by {(now + timedelta(days=days)):%Y-%m-%d}: `cryptoaudit review sign "
                     f"{run_id} --by NAME --role ROLE --decision accepted`")
    return lines


def pending_by_system(audit_config: Any, history: LedgerHistory | None, now: datetime,
                      systems: Iterable[str]) -> dict[str, str]:
    """For the HTML overview: per system, the sign-offs pending before this run and the
    roles that must sign this run's audit."""
    found: dict[str, list[str]] = {}
    if history is not None:
        for state in pending_reviews(audit_config, history, now):
            found.setdefault(state.system, []).append(state.describe())
    names = {s.name: s for s in audit_config.systems}
    for name in systems:
        need = requirement(audit_config.review, names[name].risk_tier) if name in names \
            else Requirement((), 0)
        if need.required:
            found.setdefault(name, []).append(
                f"this run: {', '.join(need.roles)} by "
                f"{now + timedelta(days=need.days):%Y-%m-%d}")
    return {name: "; ".join(lines) for name, lines in found.items()}
