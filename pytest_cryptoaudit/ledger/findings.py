"""The findings log (CCM audit step 2) and what changed since the previous complete run.

A finding is one check failing or erroring on one subject; its id stays the same from run
to run. It is *open* from the first audit that reports it, *waived* while a waiver covers
it, and *resolved* by the first complete audit of its system that no longer reports it
(an incomplete audit resolves nothing: it may simply not have looked).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..evidence_model import Evidence, typed_evidence
from ..findings import (
    FINDING_FIELDS,
    RETIRED_CHECKS,
    check_names,
    diff_findings,
    identity,
    is_finding,
)
from . import LEDGER_PLUGIN
from .history import Action, AuditView, LedgerHistory
from .records import incomplete_reasons

OPEN, WAIVED, RESOLVED = "open", "waived", "resolved"


@dataclasses.dataclass
class FindingLog:
    """One finding's life: first and last seen, status, and its corrective action."""

    id: str
    system: str
    control: str
    check: str
    key_uid: str
    risk_tier: str
    outcome: str
    message: str
    first_seen: datetime
    last_seen: datetime
    status: str = OPEN
    resolved_at: datetime | None = None
    action: Action | None = None
    #: The key's accountable owner (its owner tag, else the system's), where recorded.
    accountable_owner: str = ""
    #: The finding of a retired check this one carries on (same subject), or that took over.
    carried_from: str | None = None
    superseded_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for name in ("first_seen", "last_seen", "resolved_at"):
            data[name] = data[name].isoformat() if data[name] else None
        if self.action:
            data["action"] = {"owner": self.action.owner, "due": self.action.due.isoformat(),
                              "note": self.action.note}
        return data


def _predecessor(log: dict[str, FindingLog], system: str,
                 finding: Mapping[str, Any]) -> FindingLog | None:
    """The open finding of a retired check on the same subject whose job ``finding``'s
    check does now (see :data:`~pytest_cryptoaudit.findings.RETIRED_CHECKS`); a retired
    check that judged a whole system hands its finding on to its successor's first finding
    on a subject of that system (``provider:system/...``)."""
    if (finding["control"], finding["check"]) not in _SUCCESSORS:
        return None  # no retired check handed its job to this one: nothing to scan
    for entry in log.values():
        if (entry.system, entry.control) == (system, finding["control"]) \
                and _same_subject(entry, finding["key_uid"]) \
                and entry.status != RESOLVED and entry.check != finding["check"] \
                and finding["check"] in check_names(entry.control, entry.check):
            return entry
    return None


#: The (control, check) pairs that took over the job of a retired check.
_SUCCESSORS = frozenset((control, successor) for control, successors in RETIRED_CHECKS.values()
                        for successor in successors)


def _same_subject(entry: FindingLog, key_uid: str) -> bool:
    """The subject itself, or, for a finding on a whole system, a subject inside it."""
    on_system = entry.key_uid.endswith(f":{entry.system}")
    return entry.key_uid == key_uid or (on_system and key_uid.startswith(entry.key_uid + "/"))


def _track(log: dict[str, FindingLog], audit: AuditView) -> None:
    for finding in audit.data.get("findings", ()):
        entry = log.get(finding["id"])
        if entry is None:
            system = audit.data["system"]
            before = _predecessor(log, system, finding)
            log[finding["id"]] = FindingLog(
                finding["id"], system, finding["control"], finding["check"],
                finding["key_uid"], finding["risk_tier"], finding["outcome"],
                finding["message"], before.first_seen if before else audit.started,
                audit.started, carried_from=before.id if before else None,
                accountable_owner=finding.get("accountable_owner", ""))
            if before is not None:
                before.status, before.resolved_at = RESOLVED, audit.started
                before.superseded_by = finding["id"]
            continue
        entry.last_seen, entry.status, entry.resolved_at = audit.started, OPEN, None
        entry.outcome, entry.message = finding["outcome"], finding["message"]
    waived = {w["id"] for w in audit.data.get("waived", ())}
    for finding in waived & set(log):
        if log[finding].status != RESOLVED:
            log[finding].status = WAIVED
    if audit.data.get("complete"):
        reported = audit.finding_ids | waived
        for entry in log.values():
            if entry.system == audit.data["system"] and entry.status != RESOLVED \
                    and entry.id not in reported:
                entry.status, entry.resolved_at = RESOLVED, audit.started


def findings_log(history: LedgerHistory, systems: Iterable[str] | None = None) -> list[FindingLog]:
    """Every finding ever reported for ``systems`` (default: all), oldest first."""
    log: dict[str, FindingLog] = {}
    for system in sorted(systems if systems is not None else history.systems()):
        for audit in sorted(history.audits(system), key=lambda a: (a.started, a.seq)):
            _track(log, audit)
    for entry in log.values():
        entry.action = history.latest_action(entry.id)
    for entry in log.values():  # a corrective action follows its finding to its successor
        if entry.action is None and entry.carried_from is not None:
            entry.action = log[entry.carried_from].action
    return sorted(log.values(), key=lambda f: (f.first_seen, f.system, f.id))


@dataclasses.dataclass
class FindingsDiff:
    """New and resolved findings of a run against each system's previous complete audit."""

    previous_runs: dict[str, str]
    new: list[Mapping[str, Any]]
    resolved: list[Mapping[str, Any]]
    still_open: int
    without_previous: list[str]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def as_markdown(self) -> str:
        """A section for a CI summary: new findings, then resolved ones."""
        lines = ["### Findings since the last complete audit", ""]
        if not self.previous_runs:
            return "\n".join([*lines, "No previous complete audit in the ledger.", ""])
        lines.append(f"{len(self.new)} new, {len(self.resolved)} resolved, "
                     f"{self.still_open} still open.")
        for title, rows in (("New", self.new), ("Resolved", self.resolved)):
            if rows:
                lines += ["", f"**{title}**", "", "| Finding | System | Control | Check | Key |",
                          "|---|---|---|---|---|"]
                lines += [f"| {r['id']} | {r['system']} | {r['control']} | {r['check']} | "
                          f"`{r['key_uid']}` |" for r in rows]
        if self.without_previous:
            lines += ["", "First audit of: " + ", ".join(self.without_previous) + "."]
        return "\n".join(lines) + "\n"


def _current_findings(evidence: Evidence, system: str) -> list[dict[str, Any]]:
    found = [{f: _value(getattr(r, f, None)) for f in FINDING_FIELDS if f != "message"}
             for r in evidence.results if r.system == system and is_finding(r.outcome)]
    return [{"id": identity(f), **f} for f in found]


def _value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def findings_diff(evidence: Evidence | Mapping[str, Any],
                  history: LedgerHistory) -> FindingsDiff:
    """Compare the evidence of a run (typed, or its JSON document) with each system's
    previous complete audit."""
    typed = typed_evidence(evidence)
    run_id = typed.run.id
    diff = FindingsDiff({}, [], [], 0, [])
    for system in typed.systems:
        name = system.name
        previous = [a for a in history.complete_audits(name) if a.data.get("run_id") != run_id]
        if not previous:
            diff.without_previous.append(name)
            continue
        last = max(previous, key=lambda a: a.started)
        diff.previous_runs[name] = last.data["run_id"]
        before = [{**f, "system": name} for f in last.data.get("findings", ())]
        changed = diff_findings(before, _current_findings(typed, name))
        diff.new += changed.new
        diff.still_open += len(changed.persisting)
        if not incomplete_reasons(typed.run, system):
            diff.resolved += changed.resolved
    return diff


def previous_findings(history: LedgerHistory, systems: Iterable[str],
                      controls: Iterable[str] | None = None) -> list[dict[str, Any]] | None:
    """The findings (failed, error, waived) of each system's last complete audit, in the
    shape of :func:`pytest_cryptoaudit.reporting.markdown.findings_of`; None when no system
    has one. ``controls`` keeps only those controls' findings (for a narrowed run)."""
    found: list[dict[str, Any]] | None = None
    for system in systems:
        last = history.last_complete(system)
        if last is None:
            continue
        found = found or []
        for finding in [*last.data.get("findings", ()), *last.data.get("waived", ())]:
            if controls is None or finding["control"] in controls:
                found.append({**{k: v for k, v in finding.items() if k != "id"},
                              "system": system})
    return found


def findings_diff_for(config: Any,
                      evidence: Evidence | Mapping[str, Any]) -> FindingsDiff | None:
    """For a reporter inside ``pytest_cryptoaudit_evidence``: the diff against the ledger as
    it stood before this run, or None when the run has no ledger (disabled or unreadable)."""
    plugin = config.pluginmanager.get_plugin(LEDGER_PLUGIN)
    if plugin is None or not plugin.enabled or plugin.history is None:
        return None
    return findings_diff(evidence, plugin.history)
