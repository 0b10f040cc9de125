"""Inventory fingerprints and material-change detection (CEK-09 guideline 2).

Each key is summarized by a hash of everything audited about it plus, in the clear, the
few facts whose change is material: algorithm, size, rotation, state, origin, purpose,
key policy (as a hash) and the public-key fingerprint. Comparing a system's fingerprint
with the one of its last complete audit names what changed. Everything here works on
the JSON form of the records, exactly as the evidence carries them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .chain import canonical, sha256

#: The facts whose change is a material change, as (label, record fields).
MATERIAL = (
    ("algorithm", ("algorithm", "curve")),
    ("size", ("size",)),
    ("state", ("state",)),
    ("origin", ("origin",)),
    ("rotation", ("rotation_enabled", "rotation_period_days", "rotated")),
    ("usage", ("usage",)),
    ("key material", ("fingerprint",)),
)
#: Key attributes that carry an access policy (hashed, never stored in the clear); the
#: normalised access list of a managed key (``managed.access``) counts the same way.
POLICY_ATTRIBUTES = ("policy", "policies", "grants")
MAX_LISTED = 20


def key_fingerprint(key: Mapping[str, Any]) -> dict[str, Any]:
    """The stored summary of one key (JSON form of a KeyRecord).

    The hash leaves out ``location``: where a key is declared is not a fact about the key,
    and ledgers written before records had a location keep their hashes.
    """
    facts = {name: value for name, value in key.items() if name != "location"}
    return {"hash": sha256(canonical(facts)), **material_facts(key)}


def material_facts(key: Mapping[str, Any]) -> dict[str, Any]:
    """The part of :func:`key_fingerprint` that change detection compares: the material
    facts and the policy hash, without hashing everything else about the key."""
    summary: dict[str, Any] = {}
    for label, fields in MATERIAL:
        values = [key.get(field) for field in fields]
        summary[label] = values[0] if len(values) == 1 else values
    attributes = key.get("attributes") or {}
    policy = {name: attributes[name] for name in POLICY_ATTRIBUTES if name in attributes}
    access = (key.get("managed") or {}).get("access")
    if access is not None:
        policy["managed.access"] = access
    summary["policy"] = sha256(canonical(policy)) if policy else None
    return summary


def fingerprint_of(per_key: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An inventory's fingerprint: the summaries of its keys by uid (each made by
    :func:`key_fingerprint`, one key at a time) and one hash over them all."""
    overall = sha256(canonical({uid: summary["hash"] for uid, summary in per_key.items()}))
    return {"sha256": overall, "keys": per_key}


def _show(value: Any) -> str:
    if isinstance(value, list):
        shown = [str(v) for v in value if v not in (None, "")]
        return "/".join(shown) or "none"
    return "none" if value is None else str(value)


def key_changes(uid: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What changed materially about one key, one phrase per fact."""
    changes = []
    for label, _fields in MATERIAL:
        if old.get(label) != new.get(label):
            if label == "key material":
                changes.append(f"{uid}: key material replaced")
            else:
                changes.append(f"{uid}: {label} {_show(old.get(label))} -> "
                               f"{_show(new.get(label))}")
    if old.get("policy") != new.get("policy"):
        changes.append(f"{uid}: key policy changed")
    return changes


def inventory_changes(previous: Mapping[str, Any], current: Mapping[str, Any],
                      unreadable: Iterable[str] = ()) -> list[str]:
    """Keys added, removed or materially changed between two per-key fingerprint maps.

    Keys that could not be read this time (``unreadable``) are not called removed.
    """
    skip = set(unreadable)
    changes = [f"{uid}: key added" for uid in sorted(set(current) - set(previous))]
    changes += [f"{uid}: key removed" for uid in sorted(set(previous) - set(current) - skip)]
    for uid in sorted(set(previous) & set(current)):
        changes.extend(key_changes(uid, previous[uid], current[uid]))
    return changes


def summarize_changes(changes: list[str]) -> str:
    """A note for an event: the first changes, then how many more."""
    shown = "; ".join(changes[:MAX_LISTED])
    more = len(changes) - MAX_LISTED
    return shown + (f"; and {more} more" if more > 0 else "")
