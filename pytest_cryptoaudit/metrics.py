"""Audit metrics for dashboards and alerts (CEK-09 guideline 8: continuous audit coverage).

Everything is read from the ledger and the configuration (and, when given, a run's JSON
evidence for what only the inventory knows: expiry dates and waivers), so a dashboard
shows what the ledger evidences. :func:`collect` builds the families once; they are written
as Prometheus text exposition (``cryptoaudit metrics``, ``--cryptoaudit-metrics``: for
node-exporter's textfile collector) or served (``cryptoaudit serve-metrics``, through
``prometheus_client``). No metric carries a key's material or a secret; labels name systems,
tiers, controls and checks only.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from .ledger.findings import OPEN, WAIVED, findings_log
from .ledger.history import LedgerHistory
from .ledger.review import requirement, review_states
from .ledger.status import OVERDUE, statuses

PREFIX = "cryptoaudit_"
EXPIRY_WINDOWS = (30, 90)
#: Event sources that are not a log of key operations (entered by hand or derived).
NOT_USAGE = frozenset({"cli", "config", "change-detection", "ledger"})
STATES = ("ok", "due", "overdue")

Labels = tuple[tuple[str, str], ...]


@dataclasses.dataclass
class Family:
    """One gauge: its name (without the prefix), help text and samples by label set."""

    name: str
    help: str
    samples: dict[Labels, float] = dataclasses.field(default_factory=dict)

    def set(self, value: float, **labels: str) -> None:
        self.samples[tuple(sorted(labels.items()))] = value

    def add(self, value: float = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        self.samples[key] = self.samples.get(key, 0) + value


def _families(*specs: tuple[str, str]) -> dict[str, Family]:
    return {name: Family(name, text) for name, text in specs}


def _cadence(families: dict[str, Family], audit_config: Any, history: LedgerHistory,
             now: datetime) -> None:
    for status in statuses(audit_config, history, now):
        labels = {"system": status.system, "risk_tier": status.risk_tier.value}
        if status.last_complete:
            families["last_complete_audit_timestamp_seconds"].set(
                status.last_complete.timestamp(), **labels)
            families["days_since_last_complete_audit"].set(
                round((now - status.last_complete) / timedelta(days=1), 3), **labels)
        deadline = status.deadline or status.due_at
        families["days_until_due"].set(round((deadline - now) / timedelta(days=1), 3),
                                       **labels)
        for state in STATES:
            families["audit_state"].set(float(status.state == state), state=state, **labels)
        families["audit_overdue"].set(float(status.state == OVERDUE), **labels)


def _findings(families: dict[str, Family], audit_config: Any,
              history: LedgerHistory) -> None:
    names = [s.name for s in audit_config.systems]
    for finding in findings_log(history, names):
        if finding.status in (OPEN, WAIVED):
            families["findings"].add(system=finding.system, risk_tier=finding.risk_tier,
                                     control=finding.control, check=finding.check,
                                     status=finding.status)
    for name in names:
        last = max(history.audits(name), key=lambda a: a.started, default=None)
        if last is not None:
            summary = last.data.get("summary", {})
            families["errors"].set(summary.get("error", 0) + last.data.get(
                "discovery_errors", 0), system=name)


def _reviews(families: dict[str, Family], audit_config: Any, history: LedgerHistory,
             now: datetime) -> None:
    for system in audit_config.systems:
        need = requirement(audit_config.review, system.risk_tier)
        states = review_states(history, system.name, need, now)
        if states:
            latest = states[-1]
            families["pending_sign_offs"].set(len(latest.missing_roles), system=system.name)
            families["sign_off_overdue"].set(float(latest.state in ("missing", "late")),
                                             system=system.name)


def _usage(families: dict[str, Family], history: LedgerHistory) -> None:
    counts: Counter[tuple[str, str, str]] = Counter(
        (e.event.system, e.event.kind.value, e.event.source) for e in history.events()
        if e.event.source not in NOT_USAGE)
    for (system, kind, source), count in sorted(counts.items()):
        families["key_operations"].set(count, system=system, kind=kind, source=source)


def _notifications(families: dict[str, Family], history: LedgerHistory) -> None:
    last: dict[tuple[str, str, str], str] = {}
    for data in history.contents:
        if data.get("type") == "notification":
            last[(data["rule"], data["finding"], data["kind"])] = data["status"]
    for (rule, _finding, _kind), status in sorted(last.items()):
        families["notifications_failed"].add(float(status == "failed"), rule=rule)


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(
            text[:10])
    except ValueError:
        return None


def _expiring(families: dict[str, Family], evidence: Mapping[str, Any], now: datetime) -> None:
    today = now.date()
    for key in evidence.get("inventory", ()):
        ends = _day((key.get("certificate") or {}).get("not_after")) or _day(key.get("expires"))
        kind = "certificate" if key.get("certificate") else "key"
        for window in EXPIRY_WINDOWS:
            families["expiring"].add(0, system=key["system"], kind=kind, within_days=str(window))
            if ends is not None and today <= ends <= today + timedelta(days=window):
                families["expiring"].add(1, system=key["system"], kind=kind,
                                         within_days=str(window))
    waivers = evidence.get("waivers") or {}
    for window in EXPIRY_WINDOWS:
        soon = [w for w in [*waivers.get("applied", ()), *waivers.get("stale", ())]
                if (ends := _day(w.get("expires"))) and today <= ends <= today + timedelta(
                    days=window)]
        families["waivers_expiring"].set(len(soon), within_days=str(window))


def collect(audit_config: Any, history: LedgerHistory, now: datetime,
            evidence: Mapping[str, Any] | None = None) -> list[Family]:
    """Every metric, from the ledger as it stands (and ``evidence``, when given)."""
    families = _families(
        ("findings", "Open and waived findings by system, risk tier, control and check."),
        ("errors", "Errors (controls and discovery) in each system's last audit."),
        ("last_complete_audit_timestamp_seconds", "When the last complete audit started."),
        ("days_since_last_complete_audit", "Days since the last complete audit started."),
        ("days_until_due", "Days until the audit deadline (negative: overdue)."),
        ("audit_state", "1 for the system's cadence state (ok, due, overdue)."),
        ("audit_overdue", "1 when the system's audit is overdue."),
        ("pending_sign_offs", "Roles that have not signed off the latest complete audit."),
        ("sign_off_overdue", "1 when the latest complete audit's sign-off is missing or late."),
        ("key_operations", "Key and policy operations ingested from CloudTrail or Vault logs."),
        ("notifications_failed", "Notifications whose last delivery attempt failed."),
        ("expiring", "Keys and certificates expiring within the window (from the evidence)."),
        ("waivers_expiring", "Waivers expiring within the window (from the evidence)."),
    )
    _cadence(families, audit_config, history, now)
    _findings(families, audit_config, history)
    _reviews(families, audit_config, history, now)
    _usage(families, history)
    _notifications(families, history)
    if evidence is not None:
        _expiring(families, evidence, now)
    generated = Family("generated_timestamp_seconds", "When these metrics were computed.")
    generated.set(now.timestamp())
    return [*families.values(), generated]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def exposition(families: Iterable[Family]) -> str:
    """Prometheus text exposition format 0.0.4 (what the textfile collector reads)."""
    lines = []
    for family in families:
        name = PREFIX + family.name
        lines += [f"# HELP {name} {family.help}", f"# TYPE {name} gauge"]
        for labels, value in sorted(family.samples.items()):
            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            number = _number(value)
            lines.append(f"{name}{{{inner}}} {number}" if inner else f"{name} {number}")
    return "\n".join(lines) + "\n"
