"""Merge the evidence of the shards of one audit into the evidence of that audit.

Fail closed: shards are refused unless they are exactly shards 1..N of one audit (the same
audit id and shard count), ran the same configuration, policy, catalog version and control
selection, and together assigned every configured system exactly once. A missing shard is
an error naming it, never a smaller audit that looks complete.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .evidence_model import Evidence
from .results import result_from_dict, summarize

#: Run fields every shard of one audit must share.
SAME_RUN_FIELDS = ("config_sha256", "policy_sha256", "catalog_version", "policy",
                   "policy_document", "cadence_days")
SAME_SELECTION_FIELDS = ("controls", "filters", "due_only", "incremental")


class MergeError(Exception):
    """The shards do not make one audit; the message says why."""


def merge(shards: Sequence[Mapping[str, Any]]) -> Evidence:
    """The evidence of the audit the ``shards`` (evidence documents) are parts of."""
    if not shards:
        raise MergeError("no shard evidence given")
    ordered = _check(shards)
    first = ordered[0]["run"]
    merged_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "cryptoaudit-merge:"
                               f"{first['shard']['audit_id']}:{first['config_sha256']}"))
    results = sorted((r for s in ordered for r in s["results"]), key=lambda r: r["nodeid"])
    not_applicable = [e for s in ordered for e in s.get("not_applicable", ())]
    document = {
        "schema_version": ordered[0]["schema_version"],
        "run": _run(ordered, merged_id),
        "systems": _concat(ordered, "systems"),
        "inventory": _concat(ordered, "inventory"),
        "endpoints": _concat(ordered, "endpoints"),
        "libraries": _concat(ordered, "libraries"),
        "results": results,
        "not_applicable": not_applicable,
        "summary": _summary(results, not_applicable),
        "events": _concat(ordered, "events"),
        "scope": _scope(ordered),
        "waivers": _waivers(ordered),
    }
    return Evidence.from_document(document)


def _check(shards: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The shards in index order, once every rule of a sharded audit is met."""
    for number, shard in enumerate(shards, 1):
        if not shard.get("run", {}).get("shard"):
            raise MergeError(f"evidence #{number} (run {shard.get('run', {}).get('id')}) is "
                             "not a shard: it was not run with --cryptoaudit-shard")
    first = shards[0]["run"]
    for shard in shards[1:]:
        run = shard["run"]
        for name in ("audit_id", "count", "all_systems"):
            if run["shard"][name] != first["shard"][name]:
                raise MergeError(f"shards of different audits: {name} "
                                 f"{first['shard'][name]!r} != {run['shard'][name]!r}")
        for name in SAME_RUN_FIELDS:
            if run.get(name) != first.get(name):
                raise MergeError(f"shards {first['shard']['index']} and {run['shard']['index']}"
                                 f" ran with a different {name}: refusing to merge them")
        for name in SAME_SELECTION_FIELDS:
            if (run.get("selection") or {}).get(name) != (first.get("selection") or {}).get(name):
                raise MergeError(f"shards {first['shard']['index']} and {run['shard']['index']}"
                                 f" ran with a different selection ({name})")
    _check_indexes(shards, first["shard"]["count"])
    _check_systems(shards, first["shard"]["all_systems"])
    return sorted(shards, key=lambda s: s["run"]["shard"]["index"])


def _check_indexes(shards: Sequence[Mapping[str, Any]], count: int) -> None:
    indexes = [s["run"]["shard"]["index"] for s in shards]
    duplicates = sorted({i for i in indexes if indexes.count(i) > 1})
    if duplicates:
        raise MergeError(f"shard {', '.join(map(str, duplicates))} given more than once")
    missing = sorted(set(range(1, count + 1)) - set(indexes))
    if missing:
        raise MergeError(f"missing shard {', '.join(f'{i}/{count}' for i in missing)}: the "
                         "audit is incomplete without it; merge every shard")


def _check_systems(shards: Sequence[Mapping[str, Any]], every: list[str]) -> None:
    assigned: dict[str, int] = {}
    for shard in shards:
        info = shard["run"]["shard"]
        for name in info["systems"]:
            if name in assigned:
                raise MergeError(f"system {name} is in shard {assigned[name]} and shard "
                                 f"{info['index']}")
            assigned[name] = info["index"]
        audited = {s["name"] for s in shard["systems"]}
        if not audited <= set(info["systems"]):
            extra = ", ".join(sorted(audited - set(info["systems"])))
            raise MergeError(f"shard {info['index']} audited systems not assigned to it: {extra}")
    unassigned = sorted(set(every) - set(assigned))
    if unassigned:
        raise MergeError(f"no shard audited {', '.join(unassigned)}")


def _run(shards: Sequence[Mapping[str, Any]], merged_id: str) -> dict[str, Any]:
    runs = [s["run"] for s in shards]
    first = runs[0]
    selections = [r.get("selection") or {} for r in runs]
    selection = {**selections[0], "systems": sorted(first["shard"]["all_systems"]),
                 "interrupted": any(s.get("interrupted") for s in selections)}
    merged = {name: value for name, value in first.items() if name != "shard"}
    return {**merged, "id": merged_id,
            "started": min(r["started"] for r in runs),
            "finished": max(r["finished"] for r in runs),
            "auditor": {**first["auditor"], "shards": [r["auditor"] for r in runs]},
            "discovery_seconds": max(r.get("discovery_seconds", 0.0) for r in runs),
            "selection": selection, "shard": None,
            "merged_from": [{"index": r["shard"]["index"], "run": r["id"],
                             "started": r["started"], "finished": r["finished"],
                             "systems": r["shard"]["systems"]} for r in runs]}


def _concat(shards: Sequence[Mapping[str, Any]], name: str) -> list[Any]:
    return [entry for shard in shards for entry in shard.get(name, ())]


def _summary(results: list[Mapping[str, Any]],
             not_applicable: list[Mapping[str, Any]]) -> dict[str, Any]:
    from .reporting.evidence import _with_not_applicable

    typed = [result_from_dict(dict(r)) for r in results]
    return _with_not_applicable(summarize(typed), [dict(e) for e in not_applicable])


def _scope(shards: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    components: dict[str, set[str]] = {}
    unreachable: list[Any] = []
    for shard in shards:
        scope = shard.get("scope") or {}
        for component, systems in scope.get("components", {}).items():
            components.setdefault(component, set()).update(systems)
        unreachable.extend(scope.get("unreachable", ()))
    return {"components": {k: sorted(v) for k, v in sorted(components.items())},
            "unreachable": sorted(unreachable, key=lambda u: u["system"])}


def _waivers(shards: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Applied where any shard applied it, expired where any shard found it expired, and
    stale only when it waived nothing in every shard."""
    applied: dict[str, dict[str, Any]] = {}
    expired: dict[str, dict[str, Any]] = {}
    stale: dict[str, dict[str, Any]] = {}
    for shard in shards:
        waivers = shard.get("waivers") or {}
        for entry in waivers.get("applied", ()):
            kept = applied.setdefault(entry["id"], {**entry, "waived": []})
            kept["waived"] = sorted({*kept["waived"], *entry["waived"]})
        for entry in waivers.get("expired", ()):
            kept = expired.setdefault(entry["id"], {**entry, "unwaived": []})
            kept["unwaived"] = sorted({*kept["unwaived"], *entry["unwaived"]})
        for entry in waivers.get("stale", ()):
            stale.setdefault(entry["id"], entry)
    file = next((s["waivers"].get("file") for s in shards if s.get("waivers")), None)
    return {"file": file, "applied": list(applied.values()), "expired": list(expired.values()),
            "stale": [e for i, e in stale.items() if i not in applied and i not in expired]}
