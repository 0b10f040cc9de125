"""The JSON evidence of a run: the contract every other report and the ledger derive from.

The typed models live in ``evidence_model.py``; the JSON Schema that ships in the package
(``schemas/evidence-1.schema.json``) is generated from them. Bump ``SCHEMA_VERSION`` there
with any incompatible change.
"""

from __future__ import annotations

import functools
import getpass
import json
import os
import platform
from datetime import date, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..context import narrowing_filters, policy_sha256
from ..evidence_model import SCHEMA_PATH, SCHEMA_VERSION, Derived, Evidence
from ..model import DiscoveryError, KeyRecord, Outcome
from ..pqverdict import evidence_entry
from ..results import Result, summarize
from ..scope_items import ITEMS, system_items
from ..serialize import record_json, to_jsonable

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..policy import Policy
    from ..session import AuditSession

#: How far back the evidence lists events (the annual audit period of CEK-09).
EVENTS_LOOKBACK = timedelta(days=366)


def catalog_version() -> str:
    try:
        return version("pytest-cryptoaudit")
    except PackageNotFoundError:
        return "unknown"


def auditor_identity(session: AuditSession) -> dict[str, Any]:
    """Who ran the audit, as far as known: the local user, the CI actor, provider identities."""
    identity: dict[str, Any] = {"user": _local_user(), "host": platform.node()}
    for variable in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILD_REQUESTEDFOR"):
        if os.environ.get(variable):
            identity["ci_actor"] = os.environ[variable]
    providers = {
        system.name: system.attributes["auditor_identity"]
        for system in session.inventory.systems
        if system.attributes.get("auditor_identity")
    }
    if providers:
        identity["systems"] = providers
    return identity


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _systems(session: AuditSession) -> list[dict[str, Any]]:
    inventory = session.inventory
    return [
        {
            "name": system.name,
            "provider": system.provider,
            "component": system.component,
            "risk_tier": system.risk_tier.value,
            "owner": system.owner,
            "accountable_owner": system.accountable_owner,
            "keys_found": len(inventory.keys_of(system.name)),
            "endpoints_found": len(inventory.endpoints_of(system.name)),
            "libraries_found": len(inventory.libraries_of(system.name)),
            "discovery_errors": [_failure(e) for e in inventory.errors_of(system.name)],
            "attributes": to_jsonable(system.attributes),
            "config_sha256": _system_sha256(session, system.name),
        }
        for system in inventory.systems
    ]


def _failure(error: DiscoveryError) -> dict[str, Any]:
    failure: dict[str, Any] = {"key_uid": error.key_uid, "reason": error.reason}
    if error.location is not None:
        failure["location"] = to_jsonable(error.location)
    return failure


def _system_sha256(session: AuditSession, name: str) -> str | None:
    try:
        return session.audit_config.system_sha256(name)
    except StopIteration:  # a system record a plugin added without configuration
        return None


def selection(session: AuditSession) -> dict[str, Any]:
    """What narrowed this run; the ledger counts only unnarrowed audits as complete."""
    config = session.config
    filters = narrowing_filters(config)
    controls = session.selected_controls()
    return {
        "systems": sorted(s.name for s in session.audit_config.systems),
        "controls": sorted(controls) if controls else None,
        "filters": filters,
        "due_only": bool(config.getoption("cryptoaudit_due", False)),
        "interrupted": session.interrupted,
        "incremental": bool(config.getoption("cryptoaudit_incremental", False)),
    }


def events(session: AuditSession) -> list[dict[str, Any]]:
    """Events of the audited systems in the last year, and changes detected in this run."""
    since = session.started - EVENTS_LOOKBACK
    return [to_jsonable(e) for e in session.events() if e.at >= since]


def scope(session: AuditSession) -> dict[str, Any]:
    """Which component classes and scope items (encryption libraries, tenant isolation,
    BYOK, HYOK) were audited in which systems, and which systems could not be reached."""
    inventory = session.inventory
    unreachable = {e.system: e.reason for e in inventory.errors if e.key_uid is None}
    components: dict[str, list[str]] = {}
    items: dict[str, list[str]] = {}
    for system in inventory.systems:
        if system.name not in unreachable:
            components.setdefault(system.component, []).append(system.name)
            for item in system_items(system, inventory.keys_of(system.name)):
                items.setdefault(item, []).append(system.name)
    return {"components": {k: sorted(v) for k, v in sorted(components.items())},
            "items": {k: sorted(items[k]) for k in ITEMS if k in items},
            "unreachable": [{"system": k, "reason": v} for k, v in sorted(unreachable.items())]}


def build_evidence(session: AuditSession) -> Evidence:
    """The typed evidence of the finished run, validated against its models."""
    return Evidence.from_document(_evidence_data(session))


def _evidence_data(session: AuditSession) -> dict[str, Any]:
    results = sorted(session.results.values(), key=lambda r: r.nodeid)
    audit_config = session.audit_config
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "id": session.run_id,
            "started": session.started.isoformat(),
            "finished": (session.finished or session.started).isoformat(),
            "auditor": auditor_identity(session),
            "catalog_version": catalog_version(),
            "config_path": str(audit_config.path) if audit_config.path else None,
            "config_sha256": audit_config.sha256,
            "discovery_seconds": round(session.discovery_seconds, 3),
            "policy": to_jsonable(audit_config.policy.as_dict()),
            "policy_sha256": policy_sha256(audit_config),
            "policy_document": dict(audit_config.policy_document),
            "selection": selection(session),
            "cadence_days": {tier.value: days for tier, days in audit_config.cadence.items()},
            "shard": _shard(session),
            "merged_from": [],
        },
        "systems": _systems(session),
        # The two lists that grow with the estate are made entry by entry as they are read
        # (written, or read by the ledger), from the session's own records.
        "inventory": Derived(session.inventory.keys, functools.partial(
            _inventory_entry, policy=audit_config.policy, today=session.started.date())),
        "endpoints": [to_jsonable(endpoint) for endpoint in session.inventory.endpoints],
        "libraries": [to_jsonable(library) for library in session.inventory.libraries],
        "results": Derived(results, Result.as_dict),
        "not_applicable": session.not_applicable,
        "summary": _with_not_applicable(summarize(results), session.not_applicable),
        "events": events(session),
        "scope": scope(session),
        "waivers": _waivers(session),
    }


def _inventory_entry(key: KeyRecord, policy: Policy, today: date) -> dict[str, Any]:
    return {**record_json(key), "pq": evidence_entry(key, policy, today)}


def _shard(session: AuditSession) -> dict[str, Any] | None:
    """Which shard of a sharded audit this run is (``--cryptoaudit-shard``), or None."""
    selector = session.config.pluginmanager.get_plugin("cryptoaudit-shard")
    return selector.evidence_entry() if selector is not None else None


def _with_not_applicable(summary: dict[str, dict[str, Any]],
                         entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Count each control's not-applicable (check, system) pairs beside its results, so a
    control that applied nowhere is listed too; ``total`` counts the results only."""
    for entry in entries:
        counts = summary.setdefault(entry["control"], {
            "title": entry["title"], "total": 0, "worst_failing_tier": None,
            **{o.value: 0 for o in Outcome}})
        counts[Outcome.NOT_APPLICABLE.value] += 1
    return dict(sorted(summary.items()))


def _waivers(session: AuditSession) -> dict[str, Any]:
    option = session.config.getoption("cryptoaudit_waivers")
    return {"file": str(option) if option else None, **session.waiver_status()}


def write_evidence(evidence: Evidence | dict[str, Any], path: Path) -> None:
    """Write the evidence as indented JSON, each inventory entry and result on one line.

    Written piece by piece with the C encoder: ``json.dumps(indent=2)`` of a whole large
    run uses the pure-Python encoder and holds every fragment of the file in memory at once
    (several times the file's size)."""
    data = evidence.as_json() if isinstance(evidence, Evidence) else evidence
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(_readable_chunks(data))
        handle.write("\n")


#: How deep the evidence file is indented; below, each value takes one line.
INDENTED_LEVELS = 2
def _listed(value: Any) -> list[Any]:
    if isinstance(value, Derived):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


#: One encoder for every line (``json.dumps`` with separators builds one per call).
_LINE = json.JSONEncoder(separators=(", ", ": "), default=_listed)


def _readable_chunks(value: Any, depth: int = 0) -> Iterator[str]:
    """JSON indented down to one line per result, key and system, in pieces for writing as
    it is made. Each line is encoded by the compact encoder in C: ``json.dumps(indent=...)``
    runs in Python, many times slower, and a large audit's evidence was the biggest part of
    writing its reports."""
    if depth >= INDENTED_LEVELS or not isinstance(value, dict | list | Derived) or not value:
        yield _LINE.encode(value)
        return
    pad = "  " * (depth + 1)
    if isinstance(value, dict):
        yield "{\n"
        for index, (key, item) in enumerate(value.items()):
            yield f",\n{pad}" if index else pad
            yield f"{_LINE.encode(str(key))}: "
            yield from _readable_chunks(item, depth + 1)
        yield "\n" + "  " * depth + "}"
        return
    yield "[\n"
    for index, item in enumerate(value):
        yield f",\n{pad}" if index else pad
        yield from _readable_chunks(item, depth + 1)
    yield "\n" + "  " * depth + "]"


def evidence_schema() -> dict[str, Any]:
    """The published schema, as committed (generated from :class:`Evidence`)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema
