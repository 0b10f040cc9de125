"""CEK-09 Encryption and Key Management Audit: audited as often as risk demands, after every
security event and material change, by someone independent, with findings followed up.

These are system-level checks over ``crypto_system``; they judge the audit ledger as it
stood before this run (``crypto_ledger``), so a run never counts itself.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.facts import reported
from pytest_cryptoaudit.independence import configured_administrator, identity_name
from pytest_cryptoaudit.ledger.findings import OPEN, findings_log
from pytest_cryptoaudit.ledger.review import REVIEWED, requirement, review_states
from pytest_cryptoaudit.references import (
    BSI_C5_CRY,
    BSI_C5_OIS,
    CAIQ_CEK09_1,
    CAIQ_CEK09_2,
    ISO27001_A824,
    ISO27001_CLAUSE_92,
    ccm,
)
from pytest_cryptoaudit.scope_items import describe, libraries_of, system_items

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from pytest_cryptoaudit.config import AuditConfig
    from pytest_cryptoaudit.ledger.review import Review
    from pytest_cryptoaudit.ledger.trail import AuditTrail
    from pytest_cryptoaudit.model import Inventory, SystemRecord
    from pytest_cryptoaudit.policy import Policy

CEK09 = ccm("CEK-09")
AUDIT_PERIOD = timedelta(days=366)
SHOWN = 10

pytestmark = pytest.mark.ssrm("CSC")


def _unreached(system: SystemRecord, inventory: Inventory) -> str | None:
    reasons = [e.reason for e in inventory.errors_of(system.name) if e.key_uid is None]
    return "; ".join(reasons) or None


def _error_if_unreached(system: SystemRecord, inventory: Inventory) -> None:
    """Nothing to fault, but a system this run could not reach gets no passing result (the
    ledger plugin already leaves these checks out for it; this guards running without it)."""
    reason = _unreached(system, inventory)
    if reason:
        raise CryptoAuditError(f"{system.name} was not reached in this run, so its audit is "
                               f"incomplete: {reason}")


def _listing(items: list[str]) -> str:
    more = f"; and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


@pytest.mark.control(
    "CEK-09",
    check="cadence-met",
    references=[ISO27001_A824, ISO27001_CLAUSE_92, BSI_C5_CRY],
    remediation="Schedule `pytest --cryptoaudit --cryptoaudit-due` (e.g. daily) so that every "
                "system is audited within its tier's interval; see `cryptoaudit plan`.",
    caiq=[CAIQ_CEK09_1, CAIQ_CEK09_2],
)
def test_cadence_met(
    crypto_system: SystemRecord, crypto_ledger: AuditTrail, crypto_inventory: Inventory,
    crypto_note: Callable[[str], None],
) -> None:
    """The system had a complete audit within its risk tier's interval before this run."""
    tier = crypto_system.risk_tier
    status = crypto_ledger.status(crypto_system.name, tier)
    since = status.last_complete or crypto_ledger.history.first_seen(crypto_system.name)
    if since is None:
        crypto_note("first audit of this system in the ledger")
    else:
        age = crypto_ledger.now - since
        what = "last complete audit" if status.last_complete else \
            "never completely audited; first recorded"
        assert age <= timedelta(days=status.interval_days), (
            f"{what} {since:%Y-%m-%d %H:%M} UTC, {age.days} days before this run; tier "
            f"{tier.value} requires a complete audit every {status.interval_days} days"
        )
        _note_past_gaps(crypto_system.name, status.interval_days, crypto_ledger, crypto_note)
    _error_if_unreached(crypto_system, crypto_inventory)


def _note_past_gaps(
    system: str, interval_days: int, trail: AuditTrail, note: Callable[[str], None],
) -> None:
    starts = [a.started for a in trail.history.complete_audits(system)
              if a.started >= trail.now - AUDIT_PERIOD]
    for before, after in itertools.pairwise(starts):
        if after - before > timedelta(days=interval_days):
            note(f"gap of {(after - before).days} days between complete audits on "
                 f"{before:%Y-%m-%d} and {after:%Y-%m-%d} (interval {interval_days} days)")


@pytest.mark.control(
    "CEK-09",
    check="event-follow-up",
    references=[ISO27001_CLAUSE_92, BSI_C5_OIS],
    remediation="Run a complete audit of the system after every security event and material "
                "change (`pytest --cryptoaudit --cryptoaudit-due` picks it up).",
    caiq=[CAIQ_CEK09_2],
)
def test_event_follow_up(
    crypto_system: SystemRecord, crypto_ledger: AuditTrail, crypto_inventory: Inventory,
    crypto_note: Callable[[str], None],
) -> None:
    """Every security event and material change of the last year was followed by a complete
    audit of the system within the tier's follow-up time."""
    trail, name = crypto_ledger, crypto_system.name
    allowed = trail.follow_up(crypto_system.risk_tier)
    audits = sorted(a.started for a in trail.history.complete_audits(name))
    missed = []
    for recorded in trail.events(name):
        if recorded.effective < trail.now - AUDIT_PERIOD:
            continue
        label = f"{recorded.event.kind.value} at {recorded.effective:%Y-%m-%d %H:%M} UTC"
        after = next((start for start in audits if start >= recorded.effective), None)
        deadline = recorded.effective + allowed
        if after is None and trail.now > deadline:
            missed.append(f"{label} (follow-up due by {deadline:%Y-%m-%d %H:%M})")
        elif after is None:
            crypto_note(f"{label}: followed up by this run")
        elif after > deadline:
            crypto_note(f"{label}: followed up late, on {after:%Y-%m-%d}")
    changes = [e for e in trail.changes if e.system == name]
    if changes:
        crypto_note(f"{len(changes)} material change event(s) detected and audited in this run")
    assert not missed, f"not followed by a complete audit in time: {_listing(missed)}"
    _error_if_unreached(crypto_system, crypto_inventory)


@pytest.mark.control(
    "CEK-09",
    check="findings-followed-up",
    references=[ISO27001_CLAUSE_92, "CSA CCM v4 CEK-09 audit step 2"],
    remediation="Fix the finding, waive it with an approved, expiring waiver, or record a "
                "corrective action: `cryptoaudit finding assign ID --owner NAME --due DATE`.",
)
def test_findings_followed_up(
    crypto_system: SystemRecord, crypto_ledger: AuditTrail, crypto_policy: Policy,
    crypto_inventory: Inventory, crypto_note: Callable[[str], None],
) -> None:
    """Every open finding of earlier audits has a corrective action (owner, due date not
    passed), once its triage time is over."""
    tier = crypto_system.risk_tier
    triage = timedelta(days=crypto_policy.for_tier("finding_triage_days", tier))
    today = crypto_ledger.now.date()
    problems, waiting = [], 0
    for finding in findings_log(crypto_ledger.history, [crypto_system.name]):
        if finding.status != OPEN:
            continue
        label = f"{finding.id} ({finding.control} {finding.check} on {finding.key_uid})"
        if finding.action is not None and finding.action.due < today:
            problems.append(f"{label}: corrective action by {finding.action.owner} was due "
                            f"{finding.action.due}")
        elif finding.action is None and crypto_ledger.now - finding.first_seen > triage:
            problems.append(f"{label}: open since {finding.first_seen:%Y-%m-%d}, no "
                            "corrective action")
        elif finding.action is None:
            waiting += 1
    if waiting:
        crypto_note(f"{waiting} open finding(s) still within the {triage.days}-day triage time")
    assert not problems, f"{len(problems)} finding(s) not followed up: {_listing(problems)}"
    _error_if_unreached(crypto_system, crypto_inventory)


def _judges_independence(system: SystemRecord) -> bool:
    """Systems whose provider reports who audited, or whether that identity administers."""
    return reported(system, "auditor_identity") or reported(system, "auditor_admin_rights")


@pytest.mark.control(
    "CEK-09",
    check="auditor-independent",
    references=[ISO27001_CLAUSE_92, "CEK-09 guideline 5"],
    remediation="Audit with a read-only identity: one that no key policy, grant or ACL lets "
                "change, delete or grant access to the keys, or change the key system.",
    applies_to=_judges_independence,
    requires=["auditor_identity", "auditor_admin_rights"],
)
def test_auditor_independent(
    crypto_system: SystemRecord, crypto_audit_config: AuditConfig,
    crypto_note: Callable[[str], None],
) -> None:
    """The identity that ran the audit does not administer the keys it audits."""
    attributes = crypto_system.attributes
    identity = attributes["auditor_identity"]
    pattern = configured_administrator(
        identity, crypto_audit_config.auditor.get("administrators", ()),
        attributes.get("auditor_names", ()))
    assert pattern is None, (
        f"auditing identity {identity_name(identity)} is a configured key administrator "
        f"({pattern})")
    rights = attributes["auditor_admin_rights"]
    assert not rights, (
        f"the auditing identity {identity_name(identity)} may administer what it audits: "
        f"{_listing(rights)}")
    for note in attributes.get("auditor_notes", ()):
        crypto_note(note)


@pytest.mark.control(
    "CEK-09",
    check="scope-coverage",
    references=["CEK-09 guideline 3"],
    remediation="Give the auditing identity network and read access to the system, or remove "
                "it from scope with a recorded decision.",
)
def test_scope_coverage(
    crypto_system: SystemRecord, crypto_inventory: Inventory, crypto_note: Callable[[str], None],
) -> None:
    """The configured system was reached and yielded at least one key, certificate,
    endpoint or crypto library, so its component class is covered by the audit; a note names
    the scope items its records show audited (encryption libraries, tenant isolation,
    BYOK, HYOK). The evidence's ``scope`` lists classes and items audited and systems not
    reached."""
    _error_if_unreached(crypto_system, crypto_inventory)
    assert crypto_system.component, "the provider declares no component class"
    name = crypto_system.name
    # A system that yields nothing was looked at but proves nothing: say so, never pass it.
    unread = len(crypto_inventory.errors_of(name))
    assert (crypto_inventory.keys_of(name) or crypto_inventory.endpoints_of(name)
            or libraries_of(crypto_system)), (
        f"{name} yielded no key, certificate, endpoint or crypto library"
        + (f" ({unread} could not be read)" if unread else "")
        + ": its scope is empty, so this audit covered nothing in it (check its "
        "configuration and the auditing identity's access)")
    crypto_note(f"component class audited: {crypto_system.component}")
    items = system_items(crypto_system, crypto_inventory.keys_of(name))
    if items:
        crypto_note(f"scope items audited: {describe(items)}")


@pytest.mark.control(
    "CEK-09",
    check="procedures-current",
    references=[ISO27001_CLAUSE_92, "CEK-09 guideline 10"],
    remediation="Review the crypto policy and audit procedures, then record `version` and "
                "`reviewed_on` under [policy].",
)
def test_procedures_current(
    crypto_system: SystemRecord, crypto_audit_config: AuditConfig, crypto_policy: Policy,
    crypto_inventory: Inventory, crypto_now: datetime,
) -> None:
    """The crypto policy names its version and was reviewed within the policy's period."""
    _error_if_unreached(crypto_system, crypto_inventory)
    document = crypto_audit_config.policy_document
    if not document:
        pytest.skip("the crypto policy records no version or reviewed_on under [policy]: "
                    "declare them to audit procedure reviews (CEK-09 guideline 10)")
    missing = [k for k in ("version", "reviewed_on") if not document.get(k)]
    assert not missing, f"the crypto policy does not record {' and '.join(missing)} ([policy])"
    reviewed = date.fromisoformat(document["reviewed_on"])
    limit = crypto_policy["procedures_review_max_days"]
    age = (crypto_now.date() - reviewed).days
    assert age <= limit, (
        f"crypto policy {document['version']} last reviewed {reviewed} ({age} days ago); "
        f"review at least every {limit} days")


def _needs_review(system: SystemRecord) -> bool:
    """[review] requires a sign-off for the system's risk tier"""
    return bool(system.attributes.get("review_roles"))


def _accepted_reviews(audit_config: AuditConfig) -> Callable[[Review], bool] | None:
    """Where ``require_signature`` is set, only sign-offs whose SSH signature verifies."""
    review = audit_config.review
    if review is None or not review.require_signature or not review.allowed_signers:
        return None
    from pytest_cryptoaudit.ledger.signing import SigningError, check, readable_signers

    try:
        signers = readable_signers(audit_config.base_dir / review.allowed_signers)
    except SigningError as exc:
        raise CryptoAuditError(f"[review] allowed_signers: {exc}") from None
    return lambda signed: check(signed.data, signers) is None


@pytest.mark.control(
    "CEK-09",
    check="results-reviewed",
    references=[ISO27001_CLAUSE_92, "CEK-09 guideline 6"],
    remediation="Have each role [review] names review the audit results and record it: "
                "`cryptoaudit review sign RUN_ID --by NAME --role ROLE --decision accepted`.",
    applies_to=_needs_review,
)
def test_results_reviewed(
    crypto_system: SystemRecord, crypto_ledger: AuditTrail, crypto_audit_config: AuditConfig,
    crypto_inventory: Inventory, crypto_note: Callable[[str], None],
) -> None:
    """The latest complete audit whose sign-off deadline has passed was signed off, in time,
    by every role that [review] requires for the system's tier."""
    need = requirement(crypto_audit_config.review, crypto_system.risk_tier)
    now = crypto_ledger.now
    states = review_states(crypto_ledger.history, crypto_system.name, need, now,
                           since=now - AUDIT_PERIOD,
                           accept=_accepted_reviews(crypto_audit_config))
    if not states:
        crypto_note("no complete audit to sign off before this run")
    waiting = [s for s in states if s.deadline >= now and s.state != REVIEWED]
    if waiting:
        crypto_note(f"awaiting sign-off: {waiting[-1].describe()}")
    judged = [s for s in states if s.deadline < now]
    for earlier in judged[:-1]:
        if earlier.state != REVIEWED:
            crypto_note(f"earlier audit not signed off in time: {earlier.describe()}")
    if judged:
        latest = judged[-1]
        for role, signed in sorted(latest.signed.items()):
            if signed.decision != "accepted":
                crypto_note(f"{role} ({signed.by}) {signed.decision} run {latest.run_id[:8]}: "
                            "corrective actions follow (`cryptoaudit finding assign`)")
        assert latest.state == REVIEWED, (
            f"audit results not signed off in time ({', '.join(need.roles)} within "
            f"{need.days} days): {latest.describe()}")
    _error_if_unreached(crypto_system, crypto_inventory)
