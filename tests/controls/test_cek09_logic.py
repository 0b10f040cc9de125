"""The CEK-09 audit controls judge a ledger planted in a temporary SQLite file.

Each test writes the history it needs (audits, events, findings, corrective actions,
sign-offs) through the ledger's own drafts, reads it back as the ``crypto_ledger`` fixture
would, and judges one system with one control: every check's pass and failure, the
boundaries of its intervals, and its error when the system was not reached. This is the
selection ``scripts/mutation.py`` runs against ``controls/cek09.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import controls.cek09 as cek09
from pytest_cryptoaudit.config import AuditConfig, parse_config
from pytest_cryptoaudit.ledger.findings import findings_log
from pytest_cryptoaudit.ledger.history import LedgerHistory
from pytest_cryptoaudit.ledger.records import action_draft
from pytest_cryptoaudit.ledger.review import review_draft
from pytest_cryptoaudit.ledger.store import LedgerStore, open_ledger
from pytest_cryptoaudit.ledger.trail import AuditTrail
from pytest_cryptoaudit.model import DiscoveryError, Event, EventKind

from ..ledger.helpers import RUNNER, record_event, record_run, result
from .judge import NOW, Verdict, controls_of, inventory_of, judge, key, policy, spec_of, system

SYSTEM = "app-keys"


def ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LedgerStore]:
    with open_ledger(str(tmp_path / "ledger.db"), tmp_path) as opened:
        yield opened


def config(**sections: Any) -> AuditConfig:
    return parse_config({"systems": [], **sections}, _registry(), _settings()) if sections \
        else _default_config()


@cache
def _default_config() -> AuditConfig:
    return parse_config({"systems": []}, _registry(), _settings())


def _registry() -> Any:
    from pytest_cryptoaudit.providers import ProviderRegistry

    return ProviderRegistry()


def _settings() -> Any:
    from pytest_cryptoaudit.policy import BUILTIN_SETTINGS

    return BUILTIN_SETTINGS


def trail(store: LedgerStore, changes: tuple[Event, ...] = (),
          audit_config: AuditConfig | None = None) -> AuditTrail:
    audit_config = audit_config or config()
    return AuditTrail(LedgerHistory.from_store(store), audit_config.cadence, policy(), NOW,
                      "this-run", audit_config.events, changes)


def run(control: Any, store: LedgerStore, tier: str = "high", *, errors: tuple[Any, ...] = (),
        audit_config: AuditConfig | None = None, changes: tuple[Event, ...] = (),
        **system_fields: Any) -> Verdict:
    subject = system(SYSTEM, tier=tier, component="key-files", **system_fields)
    audit_config = audit_config or config()
    return judge(control, subject, crypto_ledger=trail(store, changes, audit_config),
                 crypto_audit_config=audit_config,
                 crypto_inventory=inventory_of(key("k1", system_name=SYSTEM), systems=[subject],
                                               errors=errors))


def unreached(reason: str = "connection refused") -> tuple[DiscoveryError, ...]:
    return (DiscoveryError(SYSTEM, "memory", reason),)


def test_every_cek09_check_is_declared() -> None:
    assert [spec_of(c).check for c in controls_of(cek09)] == [
        "cadence-met", "event-follow-up", "findings-followed-up", "auditor-independent",
        "scope-coverage", "procedures-current", "results-reviewed"]
    assert {spec_of(c).id for c in controls_of(cek09)} == {"CEK-09"}


# -- cadence-met ---------------------------------------------------------------------------

def test_cadence_first_audit_is_noted_and_passes(store: LedgerStore) -> None:
    verdict = run(cek09.test_cadence_met, store)
    assert verdict == Verdict("passed", notes=("first audit of this system in the ledger",))


@pytest.mark.parametrize(("days", "outcome"), [(29, "passed"), (30, "passed"), (31, "failed")])
def test_cadence_interval_of_tier_high_is_30_days(store: LedgerStore, days: int,
                                                  outcome: str) -> None:
    record_run(store, ago(days, hours=-1))
    verdict = run(cek09.test_cadence_met, store)
    assert verdict.outcome == outcome
    if outcome == "failed":
        assert verdict.message.startswith("last complete audit ")
        assert f"{days - 1} days before this run; tier high requires a complete audit " \
               "every 30 days" in verdict.message


def test_cadence_counts_from_first_record_when_never_complete(store: LedgerStore) -> None:
    record_run(store, ago(40), unreachable={SYSTEM: "timeout"})
    verdict = run(cek09.test_cadence_met, store)
    assert verdict.outcome == "failed"
    assert verdict.message.startswith("never completely audited; first recorded ")
    assert "40 days before this run" in verdict.message


def test_cadence_recent_incomplete_audit_is_not_overdue(store: LedgerStore) -> None:
    record_run(store, ago(2), unreachable={SYSTEM: "timeout"})
    assert run(cek09.test_cadence_met, store).outcome == "passed"


def test_cadence_uses_the_latest_complete_audit(store: LedgerStore) -> None:
    record_run(store, ago(100))
    record_run(store, ago(5))
    assert run(cek09.test_cadence_met, store, tier="high").outcome == "passed"


def test_cadence_notes_past_gaps_within_the_year(store: LedgerStore) -> None:
    for days in (400, 300, 250, 221, 190, 2):
        record_run(store, ago(days))
    verdict = run(cek09.test_cadence_met, store)
    assert verdict.outcome == "passed"
    # 300 -> 250 (50 days) and 190 -> 2 (188 days) exceed 30; 250 -> 221 (29) and
    # 221 -> 190 (31) straddle it; 400 -> 300 started over a year ago
    gaps = [n for n in verdict.notes if n.startswith("gap of ")]
    assert [g.split(" days")[0] for g in gaps] == ["gap of 50", "gap of 31", "gap of 188"]
    assert "(interval 30 days)" in gaps[0]


def test_cadence_gap_of_exactly_the_interval_is_no_gap(store: LedgerStore) -> None:
    record_run(store, ago(40))
    record_run(store, ago(10))
    assert [n for n in run(cek09.test_cadence_met, store).notes if "gap" in n] == []


def test_cadence_of_an_unreached_system_is_an_error(store: LedgerStore) -> None:
    record_run(store, ago(1))
    verdict = run(cek09.test_cadence_met, store, errors=unreached())
    assert verdict.outcome == "error"
    assert f"{SYSTEM} was not reached in this run" in verdict.message
    assert "connection refused" in verdict.message


def test_a_key_error_is_not_an_unreached_system(store: LedgerStore) -> None:
    record_run(store, ago(1))
    errors = (DiscoveryError(SYSTEM, "memory", "one key unreadable", key_uid="k9"),)
    assert run(cek09.test_cadence_met, store, errors=errors).outcome == "passed"


def test_first_audit_of_an_unreached_system_is_an_error(store: LedgerStore) -> None:
    verdict = run(cek09.test_cadence_met, store, errors=unreached("a; b"))
    assert verdict.outcome == "error"
    assert verdict.message.endswith("incomplete: a; b")


# -- event-follow-up -----------------------------------------------------------------------

def test_events_followed_up_in_time_pass(store: LedgerStore) -> None:
    record_event(store, SYSTEM, "key-compromise", ago(10))
    record_run(store, ago(9))
    verdict = run(cek09.test_event_follow_up, store)
    assert verdict == Verdict("passed")


def test_event_without_follow_up_past_deadline_fails(store: LedgerStore) -> None:
    record_run(store, ago(20))
    record_event(store, SYSTEM, "key-compromise", ago(4))
    verdict = run(cek09.test_event_follow_up, store)
    assert verdict.outcome == "failed"
    assert verdict.message.startswith("not followed by a complete audit in time: "
                                      "key-compromise at ")
    assert "(follow-up due by " in verdict.message


def test_event_within_follow_up_time_is_followed_up_by_this_run(store: LedgerStore) -> None:
    record_event(store, SYSTEM, "key-compromise", ago(2, hours=23))
    verdict = run(cek09.test_event_follow_up, store)
    assert verdict.outcome == "passed"
    assert len(verdict.notes) == 1
    assert verdict.notes[0].endswith(": followed up by this run")


def test_event_followed_up_late_is_noted(store: LedgerStore) -> None:
    record_event(store, SYSTEM, "key-compromise", ago(20))
    record_run(store, ago(10))
    verdict = run(cek09.test_event_follow_up, store)
    assert verdict.outcome == "passed"
    assert verdict.notes == (f"key-compromise at {ago(20):%Y-%m-%d %H:%M} UTC: followed up "
                             f"late, on {ago(10):%Y-%m-%d}",)


def test_audit_at_the_instant_of_the_event_follows_it(store: LedgerStore) -> None:
    at = ago(10)
    record_event(store, SYSTEM, "key-compromise", at)
    record_run(store, at)
    assert run(cek09.test_event_follow_up, store) == Verdict("passed")


def test_audit_before_the_event_does_not_follow_it(store: LedgerStore) -> None:
    record_run(store, ago(10, hours=1))
    record_event(store, SYSTEM, "key-compromise", ago(10))
    assert run(cek09.test_event_follow_up, store).outcome == "failed"


def test_events_older_than_a_year_are_not_judged(store: LedgerStore) -> None:
    record_event(store, SYSTEM, "key-compromise", ago(367))
    assert run(cek09.test_event_follow_up, store) == Verdict("passed")
    record_event(store, SYSTEM, "key-compromise", ago(365))
    assert run(cek09.test_event_follow_up, store).outcome == "failed"


def test_many_missed_events_are_listed_ten_and_counted(store: LedgerStore) -> None:
    for day in range(12):
        record_event(store, SYSTEM, "key-compromise", ago(30 + day))
    message = run(cek09.test_event_follow_up, store).message
    assert message.count("key-compromise at") == 10
    assert message.endswith("; and 2 more")


def test_exactly_ten_missed_events_have_no_more(store: LedgerStore) -> None:
    for day in range(10):
        record_event(store, SYSTEM, "key-compromise", ago(30 + day))
    message = run(cek09.test_event_follow_up, store).message
    assert message.count("key-compromise at") == 10
    assert "more" not in message


def test_changes_detected_by_this_run_are_noted(store: LedgerStore) -> None:
    # two of this system's, and others' on either side of its name
    changes = tuple(Event(system=name, kind=EventKind.CONFIG_CHANGE, at=NOW,
                          source="change-detection")
                    for name in (SYSTEM, SYSTEM, "aaa", "zzz", "zzz"))
    verdict = run(cek09.test_event_follow_up, store, changes=changes)
    assert verdict == Verdict("passed", notes=(
        "2 material change event(s) detected and audited in this run",))


def test_event_follow_up_of_an_unreached_system_is_an_error(store: LedgerStore) -> None:
    assert run(cek09.test_event_follow_up, store, errors=unreached()).outcome == "error"


# -- findings-followed-up ------------------------------------------------------------------

def finding_run(store: LedgerStore, days: float, *uids: str) -> dict[str, Any]:
    return record_run(store, ago(days), results=[
        result(SYSTEM, "key-strength", uid, "failed") for uid in uids])


def findings_of(store: LedgerStore) -> list[dict[str, Any]]:
    history = LedgerHistory.from_store(store)
    return [f for audit in history.audits(SYSTEM) for f in audit.data.get("findings", ())]


def assign(store: LedgerStore, finding: dict[str, Any], due: datetime) -> None:
    store.append([action_draft({**finding, "system": SYSTEM}, owner="ops",
                               due=due.date().isoformat(), note="", recorded_at=ago(1)
                               .isoformat(), recorded_by=RUNNER)])


def test_no_open_findings_pass(store: LedgerStore) -> None:
    finding_run(store, 10, "k1")
    finding_run(store, 5)  # resolved by a complete audit without it
    assert run(cek09.test_findings_followed_up, store) == Verdict("passed")


@pytest.mark.parametrize(("days", "outcome"), [(6.9, "passed"), (7, "passed"), (7.1, "failed")])
def test_open_finding_without_action_after_triage_fails(store: LedgerStore, days: float,
                                                        outcome: str) -> None:
    finding_run(store, days, "k1")
    verdict = run(cek09.test_findings_followed_up, store)
    assert verdict.outcome == outcome
    if outcome == "failed":
        assert verdict.message.startswith("1 finding(s) not followed up: ")
        assert "(CEK-04 key-strength on k1): open since " in verdict.message
        assert verdict.message.endswith(", no corrective action")
    else:
        assert verdict.notes == ("1 open finding(s) still within the 7-day triage time",)


def test_an_open_finding_after_a_resolved_one_is_judged(store: LedgerStore) -> None:
    finding_run(store, 30, "k1")
    finding_run(store, 20, "k2")  # resolves k1, which comes first in the log
    verdict = run(cek09.test_findings_followed_up, store)
    assert verdict.outcome == "failed"
    assert "key-strength on k2" in verdict.message
    assert "on k1" not in verdict.message


def test_many_findings_are_counted_and_listed_ten(store: LedgerStore) -> None:
    finding_run(store, 30, *(f"k{n:02}" for n in range(25)))
    message = run(cek09.test_findings_followed_up, store).message
    assert message.startswith("25 finding(s) not followed up: ")
    assert message.count(", no corrective action") == 10
    assert message.endswith("; and 15 more")


def test_corrective_action_due_in_future_or_today_passes(store: LedgerStore) -> None:
    finding_run(store, 30, "k1", "k2")
    first, second = findings_of(store)
    assign(store, first, NOW + timedelta(days=3))
    assign(store, second, NOW)
    assert run(cek09.test_findings_followed_up, store) == Verdict("passed")


def test_corrective_action_past_due_fails(store: LedgerStore) -> None:
    finding_run(store, 3, "k1")
    (finding,) = findings_of(store)
    assign(store, finding, NOW - timedelta(days=1))
    verdict = run(cek09.test_findings_followed_up, store)
    assert verdict.outcome == "failed"
    assert "corrective action by ops was due " in verdict.message
    assert verdict.notes == ()


def test_waived_findings_need_no_action(store: LedgerStore) -> None:
    finding_run(store, 30, "k1")
    record_run(store, ago(20), results=[result(SYSTEM, "key-strength", "k1", "waived")])
    statuses = [f.status for f in findings_log(LedgerHistory.from_store(store), [SYSTEM])]
    assert statuses == ["waived"]
    assert run(cek09.test_findings_followed_up, store) == Verdict("passed")


def test_findings_of_an_unreached_system_is_an_error(store: LedgerStore) -> None:
    assert run(cek09.test_findings_followed_up, store, errors=unreached()).outcome == "error"


# -- auditor-independent ----------------------------------------------------------------------

def independence(attributes: dict[str, Any], **auditor: Any) -> Verdict:
    subject = system(SYSTEM, attributes=attributes)
    return judge(cek09.test_auditor_independent, subject,
                 crypto_audit_config=config(auditor=auditor) if auditor else config())


def test_independence_applies_where_the_provider_reports_it() -> None:
    spec = spec_of(cek09.test_auditor_independent)
    assert not spec.applies_to(system(SYSTEM))
    assert spec.applies_to(system(SYSTEM, attributes={"auditor_identity": "x"}))
    assert spec.applies_to(system(SYSTEM, attributes={"auditor_admin_rights": []}))
    assert spec.applies_to(system(SYSTEM, unreadable={"auditor_identity": "denied"}))
    assert independence({}) == Verdict("not-applicable")


def test_read_only_auditor_passes_with_notes() -> None:
    verdict = independence({"auditor_identity": {"arn": "arn:aws:iam::1:role/audit"},
                            "auditor_admin_rights": [], "auditor_notes": ["n1", "n2"]})
    assert verdict == Verdict("passed", notes=("n1", "n2"))


def test_auditor_with_admin_rights_fails() -> None:
    verdict = independence({"auditor_identity": "role/audit",
                            "auditor_admin_rights": ["kms:PutKeyPolicy on k1"]})
    assert verdict == Verdict("failed", "the auditing identity role/audit may administer "
                                        "what it audits: kms:PutKeyPolicy on k1")


def test_auditor_named_as_administrator_fails() -> None:
    verdict = independence({"auditor_identity": "role/admin-1", "auditor_admin_rights": []},
                           administrators=["role/admin-*"])
    assert verdict.outcome == "failed"
    assert verdict.message == ("auditing identity role/admin-1 is a configured key "
                               "administrator (role/admin-*)")


def test_auditor_known_by_another_name_as_administrator_fails() -> None:
    verdict = independence({"auditor_identity": "role/audit", "auditor_admin_rights": [],
                            "auditor_names": ["ops-admin"]}, administrators=["ops-*"])
    assert verdict.outcome == "failed"


def test_auditor_identity_unreadable_is_an_error() -> None:
    subject = system(SYSTEM, attributes={"auditor_admin_rights": []},
                     unreadable={"auditor_identity": "AccessDenied"})
    verdict = judge(cek09.test_auditor_independent, subject, crypto_audit_config=config())
    assert verdict.outcome == "error"
    assert "AccessDenied" in verdict.message


# -- scope-coverage ----------------------------------------------------------------------------

def coverage(subject: Any, *records: Any, errors: tuple[Any, ...] = ()) -> Verdict:
    return judge(cek09.test_scope_coverage, subject,
                 crypto_inventory=inventory_of(*records, systems=[subject], errors=errors))


def test_scope_with_keys_passes_and_names_its_class() -> None:
    subject = system(SYSTEM, component="kms")
    verdict = coverage(subject, key("k1", system_name=SYSTEM))
    assert verdict.outcome == "passed"
    assert verdict.notes[0] == "component class audited: kms"


def test_empty_scope_fails() -> None:
    verdict = coverage(system(SYSTEM, component="kms"), key("k1", system_name="elsewhere"))
    assert verdict.outcome == "failed"
    assert verdict.message.startswith(f"{SYSTEM} yielded no key, certificate, endpoint or "
                                      "crypto library: its scope is empty")


def test_empty_scope_counts_unreadable_keys() -> None:
    errors = (DiscoveryError(SYSTEM, "memory", "denied", key_uid="k1"),
              DiscoveryError(SYSTEM, "memory", "denied", key_uid="k2"))
    verdict = coverage(system(SYSTEM, component="kms"), errors=errors)
    assert verdict.outcome == "failed"
    assert "crypto library (2 could not be read): its scope" in verdict.message


def test_scope_without_component_class_fails() -> None:
    verdict = coverage(system(SYSTEM, component=""), key("k1", system_name=SYSTEM))
    assert verdict == Verdict("failed", "the provider declares no component class")


def test_scope_of_an_unreached_system_is_an_error() -> None:
    verdict = coverage(system(SYSTEM, component="kms"), key("k1", system_name=SYSTEM),
                       errors=unreached())
    assert verdict.outcome == "error"


def test_scope_of_endpoints_alone_is_covered() -> None:
    from pytest_cryptoaudit.model import EndpointRecord, Inventory

    subject = system(SYSTEM, component="tls")
    endpoint = EndpointRecord(uid="tls:a", system=SYSTEM, provider="memory",
                              risk_tier="high", owner="CSC", address="127.0.0.1:1")  # type: ignore[arg-type]
    inventory = Inventory(systems=(subject,), endpoints=(endpoint,))
    verdict = judge(cek09.test_scope_coverage, subject, crypto_inventory=inventory)
    assert verdict.outcome == "passed"


# -- procedures-current ------------------------------------------------------------------------

def procedures(**document: Any) -> Verdict:
    return judge(cek09.test_procedures_current, system(SYSTEM),
                 crypto_audit_config=config(policy=document))


def test_procedures_not_declared_are_skipped() -> None:
    verdict = procedures()
    assert verdict.outcome == "skipped"
    assert "records no version or reviewed_on" in verdict.message


@pytest.mark.parametrize(("days", "outcome"), [(364, "passed"), (365, "passed"),
                                               (366, "failed")])
def test_procedures_reviewed_within_a_year(days: int, outcome: str) -> None:
    reviewed = (NOW - timedelta(days=days)).date().isoformat()
    verdict = procedures(version="3.1", reviewed_on=reviewed)
    assert verdict.outcome == outcome
    if outcome == "failed":
        assert verdict.message == (f"crypto policy 3.1 last reviewed {reviewed} ({days} days "
                                   "ago); review at least every 365 days")


def test_procedures_missing_version_fails() -> None:
    verdict = procedures(reviewed_on=NOW.date().isoformat())
    assert verdict == Verdict("failed", "the crypto policy does not record version ([policy])")


def test_procedures_missing_review_date_fails() -> None:
    verdict = procedures(version="3.1")
    assert verdict == Verdict("failed",
                              "the crypto policy does not record reviewed_on ([policy])")


def test_procedures_of_an_unreached_system_is_an_error() -> None:
    subject = system(SYSTEM)
    verdict = judge(cek09.test_procedures_current, subject,
                    crypto_audit_config=config(policy={"version": "1"}),
                    crypto_inventory=inventory_of(systems=[subject], errors=unreached()))
    assert verdict.outcome == "error"


# -- results-reviewed --------------------------------------------------------------------------

REVIEW = {"roles": ["security", "compliance"], "days": 14}


def sign(store: LedgerStore, role: str, days_after: float, decision: str = "accepted") -> None:
    audit = store.entries(types=["audit"], systems=[SYSTEM])[-1]
    started = datetime.fromisoformat(audit.data["started"])
    store.append([review_draft(audit, by=f"{role}-lead", role=role, decision=decision,
                               note="", signed_at=(started + timedelta(days=days_after))
                               .isoformat(), recorded_by=RUNNER)])


def reviewed(store: LedgerStore, review: dict[str, Any] | None = None) -> Verdict:
    return run(cek09.test_results_reviewed, store, audit_config=config(review=review or REVIEW),
               attributes={"review_roles": ["security"]})


def test_review_applies_where_the_tier_needs_sign_off() -> None:
    spec = spec_of(cek09.test_results_reviewed)
    assert not spec.applies_to(system(SYSTEM))
    assert not spec.applies_to(system(SYSTEM, attributes={"review_roles": []}))
    assert spec.applies_to(system(SYSTEM, attributes={"review_roles": ["security"]}))


def test_review_with_no_audit_yet_is_noted(store: LedgerStore) -> None:
    assert reviewed(store) == Verdict("passed", notes=(
        "no complete audit to sign off before this run",))


def test_review_signed_in_time_passes(store: LedgerStore) -> None:
    record_run(store, ago(20))
    sign(store, "security", 1)
    sign(store, "compliance", 14)
    assert reviewed(store) == Verdict("passed")


def test_review_missing_a_role_fails(store: LedgerStore) -> None:
    record_run(store, ago(20))
    sign(store, "security", 1)
    verdict = reviewed(store)
    assert verdict.outcome == "failed"
    assert verdict.message.startswith("audit results not signed off in time (security, "
                                      "compliance within 14 days): run ")
    assert "compliance missing" in verdict.message


def test_review_signed_late_fails(store: LedgerStore) -> None:
    record_run(store, ago(20))
    sign(store, "security", 1)
    sign(store, "compliance", 15)
    verdict = reviewed(store)
    assert verdict.outcome == "failed"
    assert "compliance signed late" in verdict.message


def test_review_still_open_is_awaited(store: LedgerStore) -> None:
    record_run(store, ago(3))
    verdict = reviewed(store)
    assert verdict.outcome == "passed"
    assert len(verdict.notes) == 1
    assert verdict.notes[0].startswith("awaiting sign-off: run ")


def test_review_awaited_names_the_latest_audit(store: LedgerStore) -> None:
    record_run(store, ago(10))
    record_run(store, ago(3))
    verdict = reviewed(store)
    assert verdict.notes == (f"awaiting sign-off: run {_latest_run(store)[:8]} "
                             f"({ago(3):%Y-%m-%d}): security, compliance missing, due "
                             f"{ago(3) + timedelta(days=14):%Y-%m-%d}",)


def _latest_run(store: LedgerStore) -> str:
    return str(store.entries(types=["audit"], systems=[SYSTEM])[-1].run_id)


def test_review_due_this_very_instant_is_still_awaited(store: LedgerStore) -> None:
    record_run(store, ago(14))
    verdict = reviewed(store)
    assert verdict.outcome == "passed"
    assert verdict.notes[0].startswith("awaiting sign-off: run ")


def test_every_earlier_audit_not_signed_off_is_noted(store: LedgerStore) -> None:
    for days in (60, 45, 30):
        record_run(store, ago(days))
    verdict = reviewed(store)
    assert verdict.outcome == "failed"
    assert [n.split(": run")[0] for n in verdict.notes] == [
        "earlier audit not signed off in time"] * 2


def test_review_signed_early_is_not_awaited(store: LedgerStore) -> None:
    record_run(store, ago(3))
    sign(store, "security", 0.5)
    sign(store, "compliance", 0.5)
    assert reviewed(store) == Verdict("passed")


def test_review_judges_the_latest_passed_deadline_and_notes_earlier(store: LedgerStore) -> None:
    record_run(store, ago(60))
    record_run(store, ago(30))
    sign(store, "security", 1)
    sign(store, "compliance", 1, decision="rejected")
    verdict = reviewed(store)
    assert verdict.outcome == "passed"
    assert len(verdict.notes) == 2
    # the later audit's sign-offs came after the earlier one's deadline
    assert verdict.notes[0].startswith("earlier audit not signed off in time: run ")
    assert verdict.notes[0].endswith("security, compliance signed late, due "
                                     f"{ago(46):%Y-%m-%d}")
    assert verdict.notes[1].startswith("compliance (compliance-lead) rejected run ")
    assert verdict.notes[1].endswith(": corrective actions follow (`cryptoaudit finding "
                                     "assign`)")


def test_review_of_audits_older_than_a_year_is_not_judged(store: LedgerStore) -> None:
    record_run(store, ago(367))
    assert reviewed(store).notes == ("no complete audit to sign off before this run",)


def test_review_with_unreadable_signers_is_an_error(store: LedgerStore, tmp_path: Path) -> None:
    record_run(store, ago(20))
    review = {**REVIEW, "require_signature": True, "allowed_signers": "missing-signers"}
    audit_config = parse_config({"systems": [], "review": review}, _registry(), _settings(),
                                source=tmp_path / "cryptoaudit.toml")
    verdict = run(cek09.test_results_reviewed, store, audit_config=audit_config,
                  attributes={"review_roles": ["security"]})
    assert verdict.outcome == "error"
    assert "[review] allowed_signers: " in verdict.message


def test_review_requiring_signatures_ignores_unsigned(store: LedgerStore,
                                                      tmp_path: Path) -> None:
    record_run(store, ago(20))
    sign(store, "security", 1)
    sign(store, "compliance", 1)
    signers = tmp_path / "allowed_signers"
    signers.write_text("", encoding="utf-8")
    review = {**REVIEW, "require_signature": True, "allowed_signers": signers.name}
    audit_config = parse_config({"systems": [], "review": review}, _registry(), _settings(),
                                source=tmp_path / "cryptoaudit.toml")
    verdict = run(cek09.test_results_reviewed, store, audit_config=audit_config,
                  attributes={"review_roles": ["security"]})
    assert verdict.outcome == "failed"
    assert "security, compliance missing" in verdict.message


def test_review_of_an_unreached_system_is_an_error(store: LedgerStore) -> None:
    record_run(store, ago(20))
    sign(store, "security", 1)
    sign(store, "compliance", 1)
    verdict = run(cek09.test_results_reviewed, store, audit_config=config(review=REVIEW),
                  attributes={"review_roles": ["security"]}, errors=unreached())
    assert verdict.outcome == "error"
