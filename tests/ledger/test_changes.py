"""Material change detection and the findings log, on entries built from evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pytest_cryptoaudit.findings import finding_id
from pytest_cryptoaudit.ledger.findings import OPEN, RESOLVED, WAIVED, findings_diff, findings_log
from pytest_cryptoaudit.ledger.history import LedgerHistory
from pytest_cryptoaudit.ledger.records import detect_changes
from pytest_cryptoaudit.ledger.store import LedgerStore, open_ledger

from .helpers import evidence, key, record_run, result

T0 = datetime(2026, 2, 1, tzinfo=UTC)
BEFORE = [
    key("k-size"), key("k-gone"), key("k-rot", rotation_enabled=True, rotation_period_days=365),
    key("k-state", state="Enabled"), key("k-origin", origin="AWS_KMS"),
    key("k-policy", attributes={"policy": {"Statement": []}}), key("k-same"),
    key("k-unreadable"), key("k-material", fingerprint="sha256:aa"),
]
AFTER = [
    key("k-size", size=1024), key("k-rot", rotation_enabled=False, rotation_period_days=365),
    key("k-state", state="Disabled"), key("k-origin", origin="EXTERNAL"),
    key("k-policy", attributes={"policy": {"Statement": [{"Effect": "Allow"}]}}),
    key("k-same"), key("k-new"), key("k-material", fingerprint="sha256:bb"),
]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> LedgerStore:
    return open_ledger(str(tmp_path / "ledger.db"), tmp_path)


def _previous(store: LedgerStore, inventory: list[dict]) -> object:
    record_run(store, T0, inventory=inventory)
    return store.latest_audits(["app-keys"])["app-keys"]


def test_every_material_change_is_named(sqlite_store: LedgerStore) -> None:
    previous = _previous(sqlite_store, BEFORE)
    system = evidence(T0)["systems"][0]
    system["discovery_errors"] = [{"key_uid": "k-unreadable", "reason": "access denied"}]
    [(kind, changes)] = detect_changes(system, AFTER, "1" * 64, previous)
    assert kind == "config-change"
    assert changes == [
        "k-new: key added",
        "k-gone: key removed",
        "k-material: key material replaced",
        "k-origin: origin AWS_KMS -> EXTERNAL",
        "k-policy: key policy changed",
        "k-rot: rotation True/365 -> False/365",
        "k-size: size 2048 -> 1024",
        "k-state: state Enabled -> Disabled",
    ]


def test_policy_and_system_configuration_changes(sqlite_store: LedgerStore) -> None:
    previous = _previous(sqlite_store, [key("k1")])
    system = {**evidence(T0)["systems"][0], "config_sha256": "9" * 64}
    assert detect_changes(system, [key("k1")], "8" * 64, previous) == [
        ("config-change", ["system configuration changed (tier, owner or provider options)"]),
        ("policy-change", ["crypto policy changed"]),
    ]
    unchanged = evidence(T0)["systems"][0]
    assert detect_changes(unchanged, [key("k1")], "1" * 64, previous) == []


def test_unreachable_system_or_first_audit_reports_no_change(sqlite_store: LedgerStore) -> None:
    system = evidence(T0)["systems"][0]
    assert detect_changes(system, [key("k1")], "1" * 64, None) == []
    previous = _previous(sqlite_store, [key("k1")])
    down = {**system, "discovery_errors": [{"key_uid": None, "reason": "timeout"}]}
    assert detect_changes(down, [], "1" * 64, previous) == []


def test_findings_log_first_last_seen_waived_resolved(sqlite_store: LedgerStore) -> None:
    weak, old = (result("app-keys", "key-strength", "k1", "failed"),
                 result("app-keys", "key-age", "k2", "failed", "CEK-12"))
    record_run(sqlite_store, T0, results=[weak, old])
    record_run(sqlite_store, T0 + timedelta(days=1), results=[weak, {**old, "outcome": "waived"}])
    record_run(sqlite_store, T0 + timedelta(days=2), results=[], controls=["CEK-12"])
    log = {f.key_uid: f for f in findings_log(LedgerHistory.from_store(sqlite_store))}
    assert (log["k1"].status, log["k1"].first_seen, log["k1"].last_seen) == (
        OPEN, T0, T0 + timedelta(days=1))  # the narrowed run resolves nothing
    assert log["k2"].status == WAIVED
    record_run(sqlite_store, T0 + timedelta(days=3), results=[])
    log = {f.key_uid: f for f in findings_log(LedgerHistory.from_store(sqlite_store))}
    assert (log["k1"].status, log["k1"].resolved_at) == (RESOLVED, T0 + timedelta(days=3))
    assert log["k1"].id == finding_id("app-keys", "CEK-04", "key-strength", "k1")


def test_findings_diff_against_previous_complete_run(sqlite_store: LedgerStore) -> None:
    fixed, kept, new = (result("app-keys", "key-strength", k, "failed") for k in ("a", "b", "c"))
    record_run(sqlite_store, T0, results=[fixed, kept])
    history = LedgerHistory.from_store(sqlite_store)
    current = evidence(T0 + timedelta(days=1), systems={"app-keys": "high", "db": "low"},
                       results=[kept, new])
    diff = findings_diff(current, history)
    assert [f["key_uid"] for f in diff.new] == ["c"]
    assert [f["key_uid"] for f in diff.resolved] == ["a"]
    assert (diff.still_open, diff.without_previous) == (1, ["db"])
    markdown = diff.as_markdown()
    assert "1 new, 1 resolved, 1 still open." in markdown
    assert f"| {finding_id('app-keys', 'CEK-04', 'key-strength', 'c')} | app-keys |" in markdown
    narrowed = evidence(T0 + timedelta(days=1), results=[kept], controls=["CEK-12"])
    assert findings_diff(narrowed, history).resolved == []


def test_unchanged_inventory_refers_to_the_stored_detail(sqlite_store: LedgerStore) -> None:
    from pytest_cryptoaudit.ledger.chain import verify
    from pytest_cryptoaudit.ledger.records import audit_drafts

    for day in range(3):
        document = evidence(T0 + timedelta(days=day), inventory=[key("k1"), key("k2")])
        sqlite_store.append(audit_drafts(document, {}, sqlite_store.latest_audits(["app-keys"])))
    first, second, third = sqlite_store.entries(detail=True)
    assert first.detail and not second.detail and not third.detail
    assert second.data["inventory_detail_seq"] == third.data["inventory_detail_seq"] == 1
    latest = sqlite_store.latest_audits(["app-keys"])["app-keys"]
    assert (latest.seq, latest.detail) == (3, first.detail)
    system = evidence(T0)["systems"][0]
    assert detect_changes(system, [key("k1")], "1" * 64, latest) == [
        ("config-change", ["k2: key removed"])]
    assert verify(sqlite_store.entries(detail=True), sqlite_store.head()) == []


def test_a_change_of_normalised_access_is_a_key_policy_change(sqlite_store: LedgerStore) -> None:
    """Providers report access as managed.access (not a raw policy attribute): a grant
    added there is the same material change as an edited key policy."""
    grant = {"principal": "arn:aws:iam::999999999999:role/etl", "kind": "role",
             "actions": ["use"], "source": "grant", "outside": True, "restricted": False,
             "ref": "grant g-1"}
    before = key("k-access", managed={"state": "enabled", "access": []})
    after = key("k-access", managed={"state": "enabled", "access": [grant]})
    previous = _previous(sqlite_store, [before])
    system = evidence(T0)["systems"][0]
    assert detect_changes(system, [after], "1" * 64, previous) == [
        ("config-change", ["k-access: key policy changed"])]
