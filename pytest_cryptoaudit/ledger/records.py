"""Ledger entries derived from the typed evidence of a run (the contract), never from pytest.

One audit entry per system in the evidence: run id, times, auditor, catalog version, config
and policy hashes, the inventory fingerprint (per key, in the entry's detail), the results
summary per control and check, and the findings (failed or erroring checks). A system
audit is *complete* when the system was reached and nothing narrowed the run (a control
filter, ``-k``/``-m``, an interrupted session); only complete audits satisfy the cadence.

The entries read :class:`~pytest_cryptoaudit.evidence_model.Evidence`; a key's fingerprint
hashes the key as its JSON document spelt it (:meth:`Evidence.inventory_json`, not the model
with its defaults filled in), so an inventory hashes the same as when the ledger read the
JSON document, and the chain of an existing ledger goes on.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..evidence_model import Carried, Evidence, Result, Run, System, typed_evidence
from ..findings import FINDING_OUTCOMES, finding_id
from ..incremental import audited_since, carriable, results_detail
from ..model import EventKind, Outcome, RiskTier
from .chain import Draft, Entry
from .fingerprint import (
    fingerprint_of,
    inventory_changes,
    key_fingerprint,
    material_facts,
    summarize_changes,
)

MESSAGE_LIMIT = 500
Changes = list[tuple[str, list[str]]]


def system_error(system: System | Mapping[str, Any]) -> str | None:
    """Why a system could not be reached at all, or None."""
    errors = system.get("discovery_errors", ()) if isinstance(system, Mapping) \
        else system.discovery_errors
    reasons = [_get(e, "reason") for e in errors if not _get(e, "key_uid")]
    return "; ".join(reasons) or None


def _get(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)


def incomplete_reasons(run: Run | Mapping[str, Any],
                       system: System | Mapping[str, Any]) -> list[str]:
    """Why this system's audit does not count as complete ([] when it does)."""
    reasons = []
    error = system_error(system)
    if error:
        reasons.append(f"system not reached: {error}")
    selection = _get(run, "selection")
    if _get(selection, "controls"):
        reasons.append("only controls " + ", ".join(_get(selection, "controls")))
    reasons.extend(_get(selection, "filters") or ())
    if _get(selection, "interrupted"):
        reasons.append("run interrupted before every control ran")
    return reasons


def _text(value: Any) -> str:
    return value.value if isinstance(value, Outcome | RiskTier) else str(value)


def _finding(r: Result) -> dict[str, Any]:
    return {"id": finding_id(r.system, r.control, r.check, r.key_uid),
            "control": r.control, "check": r.check, "key_uid": r.key_uid,
            "outcome": _text(r.outcome), "risk_tier": _text(r.risk_tier),
            "message": (r.message or "")[:MESSAGE_LIMIT],
            **({"accountable_owner": r.accountable_owner} if r.accountable_owner else {})}


def detect_changes(system: Mapping[str, Any], keys: Iterable[Mapping[str, Any]],
                   policy_sha256: str, previous: Entry | None) -> Changes:
    """Material changes of one system since its last complete audit, by event kind."""
    if previous is None or system_error(system):
        return []
    old = previous.data
    found: Changes = []
    config = []
    if old.get("system_config_sha256") not in (None, system.get("config_sha256")):
        config.append("system configuration changed (tier, owner or provider options)")
    detail = json.loads(previous.detail) if previous.detail else {}
    unreadable = [e["key_uid"] for e in system.get("discovery_errors", ()) if e.get("key_uid")]
    config += inventory_changes(detail.get("keys", {}),
                                {key["uid"]: material_facts(key) for key in keys}, unreadable)
    if config:
        found.append((EventKind.CONFIG_CHANGE.value, config))
    if old.get("policy_sha256") not in (None, policy_sha256):
        found.append((EventKind.POLICY_CHANGE.value, ["crypto policy changed"]))
    return found


def change_event(system: str, kind: str, changes: list[str], run_id: str,
                 at: str) -> dict[str, Any]:
    """The JSON form of an event recording changes found by run ``run_id``."""
    return {"system": system, "kind": kind, "at": at, "note": summarize_changes(changes),
            "key": None, "versions": [], "source": "change-detection",
            "source_id": f"{run_id}:{system}:{kind}", "changes": changes}


def audit_drafts(evidence: Evidence | Mapping[str, Any], changes: Mapping[str, Changes],
                 previous: Mapping[str, Entry] | None = None) -> list[Draft]:
    """One audit entry per system of the evidence, then the change events it found.

    ``evidence`` is the typed evidence (a JSON document is read into it). ``previous``
    (each system's last complete audit) lets an unchanged inventory point to the entry that
    already holds its per-key detail instead of storing it again. Keys and results are
    tallied as they are read, one at a time: a large run's evidence makes them as it is
    read, and holding every result as a model at once was the peak of the run's memory.
    """
    typed = typed_evidence(evidence)
    run = typed.run
    now = datetime.now(UTC).isoformat()
    previous = previous or {}
    keys: defaultdict[str, KeyTally] = defaultdict(KeyTally)
    for key, spelt in zip(typed.inventory, typed.iter_inventory_json(), strict=True):
        keys[key.system].add(spelt)
    incremental = bool(_part(run.selection, "incremental"))
    results: defaultdict[str, ResultTally] = defaultdict(lambda: ResultTally(incremental))
    for result in typed.results:
        results[result.system].add(result)
    drafts = [_audit_draft(run, system, keys.get(system.name, KeyTally()),
                           results.get(system.name, ResultTally(incremental)),
                           changes.get(system.name, []), now, previous.get(system.name))
              for system in typed.systems]
    for system_name, found in sorted(changes.items()):
        for kind, listed in found:
            event = change_event(system_name, kind, listed, run.id, run.started)
            drafts.append(event_draft(event, recorded_at=now, recorded_by=run.auditor))
    return drafts


class KeyTally:
    """One system's keys as the ledger keeps them: each key's fingerprint, not the key."""

    __slots__ = ("count", "per_key")

    def __init__(self) -> None:
        self.count = 0
        self.per_key: dict[str, dict[str, Any]] = {}

    def add(self, spelt: Mapping[str, Any]) -> None:
        self.count += 1
        self.per_key[spelt["uid"]] = key_fingerprint(spelt)


class ResultTally:
    """What one system's audit entry says of its results, counted one result at a time:
    outcomes per control and check, the findings and waived results, the carried ones, and
    (in an incremental run only) the row of each result the next run may carry."""

    __slots__ = ("carried_from", "controls", "findings", "incremental", "outcomes", "rows",
                 "waived")

    def __init__(self, incremental: bool) -> None:
        self.incremental = incremental
        self.outcomes: Counter[str] = Counter()
        self.controls: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.findings: list[dict[str, Any]] = []
        self.waived: list[dict[str, Any]] = []
        self.rows: list[dict[str, Any]] = []
        self.carried_from: list[dict[str, str]] = []

    def add(self, result: Result) -> None:
        outcome = _text(result.outcome)
        self.outcomes[outcome] += 1
        self.controls[f"{result.control}/{result.check}"][outcome] += 1
        if result.outcome in FINDING_OUTCOMES:
            self.findings.append(_finding(result))
        elif result.outcome == Outcome.WAIVED:
            self.waived.append(_finding(result))
        carried = _carried(result.carried)
        if carried:
            self.carried_from.append(carried)
        if self.incremental:
            row = {"check": result.check, "key_uid": result.key_uid, "outcome": outcome,
                   "inputs_sha256": result.inputs_sha256, "carried": carried,
                   "message": result.message, "notes": list(result.notes or ()),
                   "valid_until": getattr(result, "valid_until", None)}
            if carriable(row):
                self.rows.append(row)

    def per_control(self) -> dict[str, dict[str, int]]:
        return {name: dict(sorted(counts.items()))
                for name, counts in sorted(self.controls.items())}


def _part(value: Any, name: str) -> Any:
    """A field of a nested model, or of the mapping an unvalidated excerpt holds there."""
    if value is None:
        return None
    return value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)


def _carried(value: Any) -> dict[str, str] | None:
    """A result's ``carried`` (a model, or the mapping of an unvalidated excerpt) as a dict;
    read field by field, as ``model_dump`` was a cost per carried result."""
    if value is None:
        return None
    if type(value) is Carried:  # a validated result's: no mapping to tell apart
        return {"run": value.run, "at": value.at}
    return {"run": str(_part(value, "run")), "at": str(_part(value, "at"))}


def _audit_draft(run: Run, system: System, keys: KeyTally, results: ResultTally,
                 changes: Changes, now: str, previous: Entry | None) -> Draft:
    name = system.name
    fingerprint = fingerprint_of(keys.per_key)
    reasons = incomplete_reasons(run, system)
    # Only an incremental run keeps its results for the next one to carry.
    carried = (results_detail(results.rows, {"id": run.id, "started": run.started})
               if results.incremental else {"pairs": {}})
    content = {
        "started": run.started, "finished": run.finished, "recorded_at": now,
        "provider": system.provider, "component": system.component,
        "risk_tier": _text(system.risk_tier), "owner": system.owner,
        "auditor": run.auditor, "catalog_version": run.catalog_version,
        "config_sha256": run.config_sha256,
        "system_config_sha256": system.config_sha256,
        "policy_sha256": run.policy_sha256,
        "policy_document": run.policy_document or {},
        "complete": not reasons, "incomplete_reasons": reasons,
        "reachable": system_error(system) is None,
        "keys": keys.count, "discovery_errors": len(system.discovery_errors),
        "inventory_sha256": fingerprint["sha256"],
        "summary": dict(sorted(results.outcomes.items())),
        "controls": results.per_control(),
        "findings": results.findings,
        "waived": results.waived,
        "changes": [change for _kind, listed in changes for change in listed],
        "carried": len(results.carried_from),
        "audited_since": audited_since([{"carried": c} for c in results.carried_from],
                                       run.started),
    }
    detail: dict[str, Any] = {"results": carried} if carried["pairs"] else {}
    if previous is not None and previous.data.get("inventory_sha256") == fingerprint["sha256"]:
        content["inventory_detail_seq"] = previous.data.get("inventory_detail_seq") or \
            previous.seq
        return Draft("audit", name, run.started, content, run_id=run.id,
                     detail=detail or None)
    return Draft("audit", name, run.started, content, run_id=run.id,
                 detail={"keys": fingerprint["keys"], **detail})


def event_draft(event: Mapping[str, Any], *, recorded_at: str,
                recorded_by: Mapping[str, Any]) -> Draft:
    """An event entry (from the CLI, a log ingestion, or change detection)."""
    content = {key: value for key, value in event.items() if key != "system"}
    content.update(recorded_at=recorded_at, recorded_by=dict(recorded_by))
    return Draft("event", event["system"], event["at"], content)


def action_draft(finding: Mapping[str, Any], *, owner: str, due: str, note: str,
                 recorded_at: str, recorded_by: Mapping[str, Any]) -> Draft:
    """A corrective action: who fixes a finding, by when."""
    content = {"finding": finding["id"], "control": finding["control"],
               "check": finding["check"], "key_uid": finding["key_uid"], "owner": owner,
               "due": due, "note": note, "recorded_at": recorded_at,
               "recorded_by": dict(recorded_by)}
    return Draft("action", finding["system"], recorded_at, content)
