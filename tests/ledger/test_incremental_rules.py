"""The rules of incremental audits, without a run: when a system is audited in full, when a
stored result is too old to carry, and how the cadence counts a carried result."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pytest_cryptoaudit.cadence import DEFAULT_CADENCE_DAYS
from pytest_cryptoaudit.incremental import (
    audited_since,
    carries_from,
    full_audit_reason,
    results_detail,
    still_fresh,
)
from pytest_cryptoaudit.ledger.chain import Draft, seal
from pytest_cryptoaudit.ledger.history import AuditView, RecordedEvent
from pytest_cryptoaudit.model import Event, EventKind, RiskTier

T0 = datetime(2026, 7, 1, 9, tzinfo=UTC)
RUN = {"id": "run-2", "started": T0.isoformat()}
CARRIED = {"run": "run-1", "at": (T0 - timedelta(days=20)).isoformat()}


UNTIL = (T0 + timedelta(days=3)).isoformat()


def result(check: str, uid: str, outcome: str = "passed", inputs: str | None = "a" * 64,
           carried: dict[str, str] | None = None, valid_until: str | None = None
           ) -> dict[str, Any]:
    return {"check": check, "key_uid": uid, "outcome": outcome, "inputs_sha256": inputs,
            "carried": carried, "message": "too weak" if outcome == "failed" else "",
            "notes": [], "valid_until": valid_until}


RESULTS = [result("key-strength", "k1"), result("key-strength", "k2", "failed", carried=CARRIED),
           result("key-age", "k1", valid_until=UNTIL), result("key-age", "k2", inputs=None),
           result("key-usage", "k1", "error")]


def audit_entry(started: datetime = T0, **data: Any) -> Any:
    detail = {"results": results_detail(RESULTS, RUN)}
    content = {"started": started.isoformat(), "system_config_sha256": "s",
               "policy_sha256": "p", **data}
    return seal(Draft("audit", "kms", started.isoformat(), content, run_id="run-2",
                      detail=detail), 1, None)


def reason(entry: Any, now: datetime, events: list[RecordedEvent] | None = None,
           tier: RiskTier = RiskTier.HIGH, system: str = "s", policy: str = "p") -> str | None:
    return full_audit_reason(tier, entry, events=events or [], cadence=DEFAULT_CADENCE_DAYS,
                             now=now, system_config_sha256=system, policy_sha256=policy)


def test_only_hashed_passed_failed_or_waived_results_are_kept_with_their_origin() -> None:
    stored = carries_from(json.dumps({"results": results_detail(RESULTS, RUN)}))
    assert stored == {
        "key-strength\tk1": ["passed", "a" * 64, "run-2", RUN["started"], "", [], None],
        "key-strength\tk2": ["failed", "a" * 64, "run-1", CARRIED["at"], "too weak", [], None],
        "key-age\tk1": ["passed", "a" * 64, "run-2", RUN["started"], "", [], UNTIL]}
    assert audited_since(RESULTS, RUN["started"]) == CARRIED["at"]


def test_an_unchanged_system_within_its_interval_is_carried() -> None:
    assert reason(audit_entry(), T0 + timedelta(days=29)) is None


@pytest.mark.parametrize(("entry", "now", "kwargs", "expected"), [
    (None, T0, {}, "no complete audit in the ledger to carry from"),
    (audit_entry(), T0 + timedelta(days=30), {},
     "its high interval of 30 days has run out since 2026-07-01 09:00 UTC"),
    (audit_entry(audited_since=(T0 - timedelta(days=20)).isoformat()),
     T0 + timedelta(days=10), {}, "its high interval of 30 days has run out since 2026-06-11"),
    (audit_entry(), T0 + timedelta(days=1), {"system": "other"},
     "its configuration changed (tier, owner or provider options)"),
    (audit_entry(), T0 + timedelta(days=1), {"policy": "other"}, "the policy changed"),
    (audit_entry(), T0 + timedelta(days=1), {"events": [RecordedEvent(Event(
        "kms", EventKind.KEY_COMPROMISE, T0 + timedelta(hours=2)))]},
     "key-compromise recorded at 2026-07-01 11:00 UTC after its last complete audit"),
], ids=["never-audited", "interval-out", "carried-interval-out", "config", "policy", "event"])
def test_a_system_is_audited_in_full(entry: Any, now: datetime, kwargs: dict[str, Any],
                                     expected: str) -> None:
    found = reason(entry, now, **kwargs)
    assert found is not None and found.startswith(expected)


def test_an_event_before_the_last_audit_does_not_force_a_full_audit() -> None:
    before = RecordedEvent(Event("kms", EventKind.SECURITY_INCIDENT, T0 - timedelta(days=1)))
    assert reason(audit_entry(), T0 + timedelta(days=1), [before]) is None


def test_a_stored_result_is_never_carried_past_its_tiers_interval() -> None:
    stored = ["passed", "a" * 64, "run-1", T0.isoformat(), "", []]
    assert still_fresh(stored, RiskTier.MEDIUM, DEFAULT_CADENCE_DAYS, T0 + timedelta(days=89))
    assert not still_fresh(stored, RiskTier.MEDIUM, DEFAULT_CADENCE_DAYS,
                           T0 + timedelta(days=90))
    assert not still_fresh(stored, RiskTier.CRITICAL, DEFAULT_CADENCE_DAYS,
                           T0 + timedelta(days=1))


def test_the_cadence_counts_from_the_oldest_carried_result() -> None:
    view = AuditView({"started": T0.isoformat(),
                      "audited_since": (T0 - timedelta(days=20)).isoformat()})
    assert view.audited_since == T0 - timedelta(days=20)
    assert AuditView({"started": T0.isoformat()}).audited_since == T0


def test_a_ledger_written_before_valid_until_was_kept_still_carries() -> None:
    detail = {"results": {"runs": [["run-1", T0.isoformat()]],
                          "pairs": {"key-strength\tk1": ["passed", "a" * 64, 0, "", []]}}}
    assert carries_from(json.dumps(detail)) == {
        "key-strength\tk1": ["passed", "a" * 64, "run-1", T0.isoformat(), "", [], None]}


def test_a_clock_reading_result_is_carried_only_before_its_outcome_could_change() -> None:
    stored = ["passed", "a" * 64, "run-1", T0.isoformat(), "", [], UNTIL]
    just_before = T0 + timedelta(days=3) - timedelta(microseconds=1)
    assert still_fresh(stored, RiskTier.LOW, DEFAULT_CADENCE_DAYS, just_before)
    assert not still_fresh(stored, RiskTier.LOW, DEFAULT_CADENCE_DAYS, T0 + timedelta(days=3))
    # and never past the tier's interval, however far away the threshold is
    distant = [*stored[:6], (T0 + timedelta(days=3650)).isoformat()]
    assert not still_fresh(distant, RiskTier.HIGH, DEFAULT_CADENCE_DAYS, T0 + timedelta(days=30))
