"""OSCAL assessment-results (``--cryptoaudit-oscal PATH``), built from the JSON evidence alone.

One result per run. Systems become components, keys and endpoints inventory items;
each (control, check, system) becomes an observation (method TEST) whose subjects are the
system and its keys, collected at the end of the run and expiring when the system's risk
tier makes it due again (the CEK-09 cadence). Each control gets a finding (satisfied or
not-satisfied) and each failed, erroring or waived check a risk: ``open`` for a finding,
``investigating`` for a failure to look, ``deviation-approved`` for a waived finding. A
check that had no subject in a system is an observation (method EXAMINE) saying why; a
control that applied nowhere gets a finding whose implementation status is
``not-applicable`` (and, as OSCAL requires a state, ``satisfied`` for reason ``other``).
UUIDs are derived from the run id, so the same evidence always gives the same document.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..cadence import DEFAULT_CADENCE_DAYS, next_due
from ..evidence_model import Evidence, NotApplicable
from ..evidence_model import Result as EvidenceResult
from ..model import RiskTier
from ..text import plural
from .links import reference_url

OSCAL_VERSION = "1.2.1"
NAMESPACE = "https://pytest-cryptoaudit.dev/ns/oscal"
RISK_STATUS = {"failed": "open", "error": "investigating", "waived": "deviation-approved"}
COMPONENT_TYPES = {"kms": "service", "hsm": "hardware", "secrets-engine": "service",
                   "tls": "service", "key-files": "software"}


class _Ids:
    """Stable UUIDs for everything in one run's document."""

    def __init__(self, run_id: str) -> None:
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"{NAMESPACE}/run/{run_id}")

    def __call__(self, *parts: str) -> str:
        return str(uuid.uuid5(self.namespace, "\x1f".join(parts)))


def _prop(name: str, value: Any) -> dict[str, str] | None:
    text = str(value).strip() if value is not None else ""
    return {"name": name, "value": text, "ns": NAMESPACE} if text else None


def _props(**values: Any) -> list[dict[str, str]]:
    return [p for p in (_prop(k.replace("_", "-"), v) for k, v in values.items()) if p]


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    """OSCAL forbids empty arrays and null values: leave such fields out."""
    return {k: v for k, v in data.items() if v not in (None, [], {}, "")}


def build_oscal(evidence: Evidence | Mapping[str, Any]) -> dict[str, Any]:
    """The assessment-results document of one run (from the typed evidence, or its JSON)."""
    if not isinstance(evidence, Evidence):
        evidence = Evidence.model_validate(evidence)
    run = evidence.run
    ids = _Ids(run.id)
    results = evidence.results
    not_applicable = evidence.not_applicable
    controls = sorted({r.control for r in results} | {e.control for e in not_applicable})
    observations = _observations(evidence, ids) + _not_applicable_observations(evidence, ids)
    risks = [_risk(r, ids) for r in results if r.outcome in RISK_STATUS]
    result = _compact({
        "uuid": ids("result"),
        "title": f"Cryptographic control audit, run {run.id}",
        "description": _result_description(evidence),
        "start": run.started,
        "end": run.finished,
        "props": _props(run_id=run.id, catalog_version=run.catalog_version,
                        config_sha256=run.config_sha256),
        "local-definitions": _local_definitions(evidence, ids),
        "reviewed-controls": {"control-selections": [{"include-controls": [
            {"control-id": c.lower()} for c in controls]}]} if controls else
            {"control-selections": [{"include-all": {}}]},
        "observations": observations,
        "risks": risks,
        "findings": [_finding(c, results, not_applicable, ids) for c in controls],
    })
    return {"assessment-results": {
        "uuid": ids("assessment-results"),
        "metadata": {
            "title": "Cryptographic control audit (CSA CCM / AICM CEK)",
            "last-modified": run.finished,
            "version": run.catalog_version,
            "oscal-version": OSCAL_VERSION,
        },
        "import-ap": {"href": Path(run.config_path or "cryptoaudit.toml").name,
                      "remarks": "The audit configuration and the control catalog of "
                                 "pytest-cryptoaudit served as the assessment plan."},
        "results": [result],
    }}


def _result_description(evidence: Evidence) -> str:
    counts: dict[str, int] = defaultdict(int)
    for result in evidence.results:
        counts[result.outcome] += 1
    tally = ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) or "no check ran"
    return (f"{plural(len(evidence.systems), 'system')} and "
            f"{plural(len(evidence.inventory), 'key')} audited "
            f"by pytest-cryptoaudit: {tally}.")


def _local_definitions(evidence: Evidence, ids: _Ids) -> dict[str, Any]:
    components = [_compact({
        "uuid": ids("system", s.name),
        "type": COMPONENT_TYPES.get(s.component, "service"),
        "title": s.name,
        "description": f"{s.provider} system {s.name} ({s.component})",
        "props": _props(provider=s.provider, risk_tier=s.risk_tier, owner=s.owner,
                        accountable_owner=s.accountable_owner),
        "status": {"state": "operational"},
    }) for s in evidence.systems]
    items = [_compact({
        "uuid": ids("key", k.uid),
        "description": f"{k.kind} {k.uid}",
        "props": _props(asset_id=k.uid, kind=k.kind, algorithm=k.algorithm,
                        size=k.size, risk_tier=k.risk_tier, owner=k.owner,
                        accountable_owner=k.accountable_owner,
                        fingerprint=k.fingerprint),
        "implemented-components": [{"component-uuid": ids("system", k.system)}],
    }) for k in evidence.inventory]
    items += [_compact({
        "uuid": ids("key", e.uid),
        "description": f"{e.protocol} endpoint {e.uid} ({e.address})",
        "props": _props(asset_id=e.uid, kind="endpoint", risk_tier=e.risk_tier,
                        owner=e.owner, accountable_owner=e.accountable_owner),
        "implemented-components": [{"component-uuid": ids("system", e.system)}],
    }) for e in evidence.endpoints]
    return _compact({"components": components, "inventory-items": items})


def _groups(results: Iterable[EvidenceResult]
            ) -> dict[tuple[str, str, str], list[EvidenceResult]]:
    groups: dict[tuple[str, str, str], list[EvidenceResult]] = defaultdict(list)
    for result in results:
        groups[(result.control, result.check, result.system)].append(result)
    return dict(sorted(groups.items()))


def _observations(evidence: Evidence, ids: _Ids) -> list[dict[str, Any]]:
    keys = {k.uid for k in [*evidence.inventory, *evidence.endpoints]}
    tiers = {s.name: s.risk_tier for s in evidence.systems}
    collected = evidence.run.finished
    observations = []
    for (control, check, system), group in _groups(evidence.results).items():
        subjects = [{"subject-uuid": ids("system", system), "type": "component",
                     "title": system}]
        subjects += [{"subject-uuid": ids("key", r.key_uid), "type": "inventory-item",
                      "title": r.key_uid} for r in group if r.key_uid in keys]
        bad = any(r.outcome in RISK_STATUS for r in group)
        observations.append(_compact({
            "uuid": ids("observation", control, check, system),
            "title": f"{control} {check} on {system}",
            "description": _tally(group, f"{group[0].title}: check {check}"),
            "methods": ["TEST"],
            "types": ["finding" if bad else "control-objective"],
            "subjects": subjects,
            "collected": collected,
            "expires": _expires(collected, tiers.get(system, group[0].risk_tier), evidence),
        }))
    return observations


def _not_applicable_observations(evidence: Evidence, ids: _Ids) -> list[dict[str, Any]]:
    collected = evidence.run.finished
    return [_compact({
        "uuid": ids("observation", e.control, e.check, e.system),
        "title": f"{e.control} {e.check} on {e.system}: not applicable",
        "description": f"{e.title or e.control}: check {e.check}: not applicable: "
                       f"{e.reason}.",
        "props": _props(outcome=e.outcome),
        "methods": ["EXAMINE"],
        "types": ["control-objective"],
        "subjects": [{"subject-uuid": ids("system", e.system), "type": "component",
                      "title": e.system}],
        "collected": collected,
        "expires": _expires(collected, e.risk_tier, evidence),
    }) for e in evidence.not_applicable]


def _tally(group: Sequence[EvidenceResult | NotApplicable], what: str) -> str:
    counts: dict[str, int] = defaultdict(int)
    for result in group:
        counts[result.outcome] += 1
    return f"{what}: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) + "."


def _expires(collected: str, tier: str, evidence: Any) -> str:
    """The next audit due date for this tier (``cadence.next_due``, from the evidence)."""
    configured = evidence.run.cadence_days
    cadence = {t: configured.get(t, d) for t, d in DEFAULT_CADENCE_DAYS.items()}
    due = next_due(RiskTier(tier), datetime.fromisoformat(collected), cadence)
    return (due or datetime.fromisoformat(collected) + timedelta(days=1)).isoformat()


def _risk(result: EvidenceResult, ids: _Ids) -> dict[str, Any]:
    outcome, key = result.outcome, result.key_uid
    what = "could not be audited" if outcome == "error" else "does not meet the control"
    waiver = result.waiver
    remediation = result.remediation
    return _compact({
        "uuid": ids("risk", result.nodeid),
        "title": f"{result.control} {result.check}: {key}",
        "description": result.message or f"{key} {what}",
        "statement": f"{key} (system {result.system}, tier {result.risk_tier}) {what} "
                     f"{result.control} {result.title} (check {result.check}): "
                     f"{result.message or outcome}",
        "props": _props(risk_tier=result.risk_tier, outcome=outcome,
                        waiver=waiver and waiver.id, approver=waiver and waiver.approver,
                        ticket=waiver and waiver.ticket),
        "links": _links(result.references),
        "status": RISK_STATUS[outcome],
        "deadline": f"{waiver.expires}T23:59:59+00:00" if waiver and outcome == "waived"
        else None,
        "remediations": [{"uuid": ids("remediation", result.nodeid),
                          "lifecycle": "recommendation", "title": f"Remediate {key}",
                          "description": remediation}] if remediation else None,
        "related-observations": [{"observation-uuid": ids(
            "observation", result.control, result.check, result.system)}],
    })


def _links(references: Iterable[str]) -> list[dict[str, str]]:
    links = []
    for reference in references:
        url = reference_url(reference)
        if url:
            links.append({"href": url, "rel": "reference", "text": reference})
    return links


def _finding(control: str, results: list[EvidenceResult],
             not_applicable: list[NotApplicable], ids: _Ids) -> dict[str, Any]:
    mine = [r for r in results if r.control == control]
    unmatched = [e for e in not_applicable if e.control == control]
    bad = [r for r in mine if r.outcome in RISK_STATUS]
    tested = [r for r in mine if r.outcome != "skipped"]
    state = "not-satisfied" if bad else "satisfied"
    reason = "fail" if bad else ("pass" if tested else "other")
    judged: list[EvidenceResult | NotApplicable] = [*mine, *unmatched]
    observed = sorted({ids("observation", r.control, r.check, r.system) for r in judged})
    title = f"{control} {(mine or unmatched)[0].title}"
    return _compact({
        "uuid": ids("finding", control),
        "title": title,
        "description": _tally(judged, title),
        "target": _compact({
            "type": "objective-id", "target-id": f"{control.lower()}_obj",
            "status": {"state": state, "reason": reason},
            "implementation-status": None if mine else {
                "state": "not-applicable",
                "remarks": "No audited system holds a subject of this control."},
        }),
        "related-observations": [{"observation-uuid": u} for u in observed],
        "related-risks": [{"risk-uuid": ids("risk", r.nodeid)} for r in bad],
    })


def write_oscal(evidence: Evidence, path: Path) -> None:
    path.write_text(json.dumps(build_oscal(evidence), indent=2) + "\n", encoding="utf-8")
