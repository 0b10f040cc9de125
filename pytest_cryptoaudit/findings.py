"""What a finding is, once: which outcomes make one, its identity, and the diff between runs.

The ledger stores findings under :func:`finding_id`; the ledger's findings diff and the
Markdown summary's "since the last run" both compare runs with :func:`diff_findings`, so one
check on one subject of one system is the same finding in every report.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from .model import Outcome

#: Outcomes that are a finding standing against the audited system.
FINDING_OUTCOMES = frozenset({Outcome.FAILED, Outcome.ERROR})
#: Findings as reports list them: those standing and those a waiver accepted.
REPORTED_OUTCOMES = FINDING_OUTCOMES | {Outcome.WAIVED}
#: Findings of the previous complete audits (in the shape of
#: :func:`pytest_cryptoaudit.reporting.markdown.findings_of`): the ledger puts them in
#: ``config.stash`` so that the Markdown summary can say what is new and what was resolved.
PREVIOUS_FINDINGS = pytest.StashKey[list[dict[str, Any]]]()
#: The fields a finding keeps from its result.
FINDING_FIELDS = ("control", "check", "key_uid", "system", "outcome", "risk_tier", "message")


#: Checks retired in favour of generic ones: old name -> (its control, the checks that do its
#: job now). A waiver naming an old check covers its successors, and the ledger carries an
#: open finding of an old check over to a successor's finding on the same subject.
RETIRED_CHECKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "auto-rotate-period": ("CEK-12", ("kms-rotation-enabled", "kms-rotation-period")),
    "keyvault-hsm-protection": ("CEK-10", ("kms-protection-level",)),
    # Judged per host until each library became a subject of its own.
    "library-supported": ("CEK-03", ("library-version-supported", "library-one-version")),
    "library-advisories": ("CEK-03", ("library-version-advisories",)),
}


def check_names(control: str, check: str) -> frozenset[str]:
    """The checks a (control, check) named in a waiver or a ledger entry stands for today:
    itself, and the successors of a retired check."""
    retired = RETIRED_CHECKS.get(check)
    successors = retired[1] if retired and retired[0] == control else ()
    return frozenset({check, *successors})


def finding_id(system: str, control: str, check: str, key_uid: str) -> str:
    """A stable short id for one finding: the same check failing on the same subject of the
    same system (the ledger stores it, so it never changes)."""
    digest = hashlib.sha256(f"{system}|{control}|{check}|{key_uid}".encode()).hexdigest()
    return "F-" + digest[:10]


def identity(finding: Mapping[str, Any]) -> str:
    """The id of a finding given as a mapping with system, control, check and key_uid."""
    return finding_id(finding["system"], finding["control"], finding["check"],
                      finding["key_uid"])


def is_finding(outcome: str, accepted: bool = False) -> bool:
    """True for a failed or erroring check; with ``accepted``, for a waived one too."""
    return outcome in (REPORTED_OUTCOMES if accepted else FINDING_OUTCOMES)


@dataclasses.dataclass(frozen=True)
class RunDiff:
    """Findings new in a run, gone since the previous one (resolved), and in both."""

    new: list[Mapping[str, Any]]
    resolved: list[Mapping[str, Any]]
    persisting: list[Mapping[str, Any]]


def diff_findings(previous: Iterable[Mapping[str, Any]],
                  current: Iterable[Mapping[str, Any]]) -> RunDiff:
    """Compare two runs' findings by :func:`identity`, in id order; one present in both is
    ``persisting`` even if its outcome changed (failed to waived, say)."""
    before = {identity(f): f for f in previous}
    now = {identity(f): f for f in current}
    return RunDiff(new=[now[k] for k in sorted(now.keys() - before.keys())],
                   resolved=[before[k] for k in sorted(before.keys() - now.keys())],
                   persisting=[now[k] for k in sorted(now.keys() & before.keys())])
