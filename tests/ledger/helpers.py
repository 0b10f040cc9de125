"""Evidence documents and ledger entries built by hand, for tests that need no pytest run."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pytest_cryptoaudit.ledger.records import audit_drafts, event_draft
from pytest_cryptoaudit.ledger.store import LedgerStore

RUNNER = {"user": "auditor", "host": "ci"}


def key(uid: str, system: str = "app-keys", **fields: Any) -> dict[str, Any]:
    return {"uid": uid, "system": system, "provider": "files", "kind": "private-key",
            "risk_tier": "high", "owner": "CSC", "algorithm": "RSA", "size": 2048,
            "attributes": {}, **fields}


def result(system: str, check: str, key_uid: str, outcome: str,
           control: str = "CEK-04") -> dict[str, Any]:
    return {"nodeid": f"{check}[{key_uid}]", "control": control, "check": check,
            "system": system, "key_uid": key_uid, "outcome": outcome, "risk_tier": "high",
            "owner": "CSC", "message": f"{check} {outcome}", "references": []}


def evidence(started: datetime, systems: dict[str, str] | None = None,
             results: list[dict[str, Any]] = (), inventory: list[dict[str, Any]] = (),
             unreachable: dict[str, str] | None = None, **selection: Any) -> dict[str, Any]:
    """A minimal evidence document: ``systems`` maps name to risk tier."""
    systems = systems or {"app-keys": "high"}
    unreachable = unreachable or {}
    return {
        "run": {"id": str(uuid.uuid4()), "started": started.isoformat(),
                "finished": started.isoformat(), "auditor": RUNNER, "catalog_version": "test",
                "config_sha256": "0" * 64, "policy_sha256": "1" * 64,
                "selection": {"controls": None, "filters": [], "interrupted": False,
                              **selection}},
        "systems": [{"name": name, "provider": "files", "component": "key-files",
                     "risk_tier": tier, "owner": "CSC", "keys_found": 0,
                     "config_sha256": "2" * 64,
                     "discovery_errors": [{"key_uid": None, "reason": unreachable[name]}]
                     if name in unreachable else []}
                    for name, tier in systems.items()],
        "inventory": list(inventory), "results": list(results), "summary": {},
    }


def record_run(store: LedgerStore, started: datetime, **kwargs: Any) -> dict[str, Any]:
    """Append the audit entries of one run, as the plugin would; return its evidence."""
    document = evidence(started, **kwargs)
    store.append(audit_drafts(document, {}))
    return document


def record_event(store: LedgerStore, system: str, kind: str, at: datetime,
                 recorded_at: datetime | None = None) -> None:
    event = {"system": system, "kind": kind, "at": at.isoformat(), "note": "test",
             "key": None, "versions": [], "source": "cli", "source_id": str(uuid.uuid4())}
    store.append([event_draft(event, recorded_at=(recorded_at or at).isoformat(),
                              recorded_by=RUNNER)])
