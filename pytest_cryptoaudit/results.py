"""Turn pytest reports into audit results: one per (check, subject), with control metadata.

On the process that runs a control (the only one, or an xdist worker), the honest outcome of
each phase is attached to its report as ``report.cryptoaudit`` (a plain dict, so it crosses to
the xdist controller), and the control metadata once, on the setup report. The controller
folds the phases of each test into one :class:`Result`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pytest

from .catalog import SUBJECT_FIXTURES, ControlSpec, spec_from_node
from .model import (
    DiscoveryError,
    EndpointRecord,
    KeyRecord,
    LibraryRecord,
    Outcome,
    RiskTier,
    SystemRecord,
)


class Notes(list[str]):
    """Notes a control adds to its result without failing it: the ``crypto_note`` fixture's
    value, called with each note; read from the test's fixture values when it reports."""

    def __call__(self, note: str) -> None:
        self.append(note)


def notes_of(item: pytest.Item) -> list[str]:
    """The notes the test has added so far (none if it does not take ``crypto_note``)."""
    funcargs: dict[str, Any] | None = getattr(item, "funcargs", None)
    notes = funcargs.get("crypto_note") if funcargs else None
    return notes if isinstance(notes, Notes) else []
#: The control metadata of a collected audit test, set at collection.
METADATA = pytest.StashKey[Mapping[str, Any]]()

_SEVERITY = {Outcome.PASSED: 0, Outcome.SKIPPED: 1, Outcome.WAIVED: 2, Outcome.FAILED: 3,
             Outcome.ERROR: 4}


@dataclasses.dataclass(slots=True)
class Result:
    """The audit result of one test: what was checked, on what, and how it went."""

    nodeid: str
    control: str
    title: str
    check: str
    system: str
    key_uid: str
    outcome: Outcome
    risk_tier: RiskTier
    owner: str
    accountable_owner: str = ""
    message: str = ""
    references: tuple[str, ...] = ()
    remediation: str = ""
    ssrm: str = ""
    duration: float = 0.0
    waiver: dict[str, Any] | None = None
    #: A tuple, most often the one empty tuple: a list per result cost 56 bytes per test.
    notes: tuple[str, ...] = ()
    #: A hash of everything the check read (see ``incremental.py``); None when it read
    #: something no hash captures (the clock, the ledger), so it is never carried.
    inputs_sha256: str | None = None
    #: The run and time that established a result carried from an earlier audit.
    carried: dict[str, str] | None = None
    #: For a check that read the clock through ``crypto_clock``: the first instant at which
    #: its outcome could change (ISO 8601); a later run carries it only before then.
    valid_until: str | None = None

    def as_dict(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict, whose deep copy dominated the cost
        # of the evidence of a large run.
        data = {name: getattr(self, name) for name in _RESULT_FIELDS}
        data["outcome"] = self.outcome.value
        data["risk_tier"] = self.risk_tier.value
        data["references"] = list(self.references)
        data["notes"] = list(self.notes)
        data["waiver"] = dict(self.waiver) if self.waiver is not None else None
        data["carried"] = dict(self.carried) if self.carried is not None else None
        return data


_RESULT_FIELDS = tuple(field.name for field in dataclasses.fields(Result))


def result_from_dict(data: dict[str, Any]) -> Result:
    """A result back from :meth:`Result.as_dict` (or from the evidence)."""
    return Result(**{**data, "outcome": Outcome(data["outcome"]),
                     "risk_tier": RiskTier(data["risk_tier"]),
                     "references": tuple(data["references"]),
                     "notes": tuple(data.get("notes") or ())})


def subject_metadata(spec: ControlSpec, subject: Any) -> dict[str, Any]:
    """The static part of a result: the control's id, title, check, references, remediation
    and SSRM, and the subject's system, uid, tier and owners (see :class:`Metadata`)."""
    return dict(Metadata(spec, subject))


def _system_of(subject: Any) -> str:
    return str(getattr(subject, "system", None) or getattr(subject, "name", ""))


#: How :class:`Metadata` reads each field of :func:`subject_metadata`.
_READ: dict[str, Any] = {
    "control": lambda m: m.spec.id,
    "title": lambda m: m.spec.title,
    "check": lambda m: m.spec.check,
    "system": lambda m: _system_of(m.subject),
    "key_uid": lambda m: getattr(m.subject, "uid", _system_of(m.subject)),
    "risk_tier": lambda m: RiskTier(getattr(m.subject, "risk_tier", RiskTier.LOW)).value,
    "owner": lambda m: getattr(m.subject, "owner", ""),
    "accountable_owner": lambda m: getattr(m.subject, "accountable_owner", ""),
    "references": lambda m: m.spec.references,
    "remediation": lambda m: m.spec.remediation,
    "ssrm": lambda m: m.spec.ssrm,
    "inputs_sha256": lambda m: m.inputs_sha256,
}


class Metadata(Mapping[str, Any]):
    """:func:`subject_metadata` of a collected test, read from its control's spec and its
    subject when asked rather than copied: a dict of a dozen fields for every test of a
    large estate was most of the plugin's memory per test. Only the inputs hash is its own."""

    __slots__ = ("inputs_sha256", "spec", "subject")

    def __init__(self, spec: ControlSpec, subject: Any, inputs_sha256: str | None = None) -> None:
        self.spec = spec
        self.subject = subject
        self.inputs_sha256 = inputs_sha256

    def __getitem__(self, name: str) -> Any:
        return _READ[name](self)

    def __setitem__(self, name: str, value: str | None) -> None:
        if name != "inputs_sha256":
            raise KeyError(f"{name}: read from the control and its subject")
        self.inputs_sha256 = value

    def __iter__(self) -> Iterator[str]:
        return iter(_READ)

    def __len__(self) -> int:
        return len(_READ)

    def __repr__(self) -> str:
        return f"Metadata({dict(self)!r})"


def junit_properties(metadata: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The properties that JUnit XML shows for a control test."""
    names = ("control", "check", "system", "key_uid", "risk_tier", "owner", "accountable_owner")
    return [(name, str(metadata[name])) for name in names]


#: The data of a passed phase without notes: one shared (read-only) dict for all of them.
_PASSED: dict[str, Any] = {"outcome": Outcome.PASSED.value, "message": ""}


def phase_data(outcome: Outcome, message: str, notes: list[str],
               waiver: dict[str, Any] | None,
               carried: dict[str, str] | None = None,
               valid_until: str | None = None) -> dict[str, Any]:
    """What a phase's report carries as ``report.cryptoaudit``: only what is not empty."""
    if outcome is Outcome.PASSED and not notes and carried is None and valid_until is None:
        return _PASSED
    data: dict[str, Any] = {"outcome": outcome.value, "message": message}
    if notes:
        data["notes"] = list(notes)
    if waiver is not None:
        data["waiver"] = waiver
    if carried is not None:
        data["carried"] = carried
    if valid_until is not None:
        data["valid_until"] = valid_until
    return data


def without_metadata(data: dict[str, Any]) -> dict[str, Any]:
    """A phase's data once its metadata is folded into the result: the report that pytest's
    terminal keeps to the end of the run need not hold it."""
    phase = {name: value for name, value in data.items() if name != "metadata"}
    return _PASSED if phase == _PASSED else phase


def phase_outcome(report: pytest.TestReport, call: pytest.CallInfo[None]) -> tuple[Outcome, str]:
    """Classify one phase honestly: an assertion is a finding, any other exception an error."""
    if report.passed:
        return Outcome.PASSED, ""
    if report.skipped:
        if hasattr(report, "wasxfail"):
            # An xfail mark hides a finding without approver or expiry: it is no waiver.
            return Outcome.FAILED, f"xfail mark is not a waiver ({report.wasxfail or 'no reason'})"
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        return Outcome.SKIPPED, reason.removeprefix("Skipped: ")
    excinfo = call.excinfo
    if excinfo is None:
        return Outcome.ERROR, "failed without an exception"
    if report.when == "call" and excinfo.errisinstance(AssertionError):
        return Outcome.FAILED, assertion_message(excinfo.value)
    return Outcome.ERROR, f"{excinfo.typename}: {excinfo.value}".strip()


def assertion_message(error: BaseException) -> str:
    text = str(error).strip()
    # pytest appends its rewritten comparison after the message; keep the message.
    return text.split("\nassert ")[0].strip() or "assertion failed"


def fold(previous: Result | None, metadata: Mapping[str, Any] | None, nodeid: str,
         outcome: Outcome, message: str, duration: float, notes: list[str],
         waiver: dict[str, Any] | None = None,
         carried: dict[str, str] | None = None, valid_until: str | None = None) -> Result:
    """Combine a phase into the test's result, keeping the most severe outcome. The first
    phase (setup) carries the metadata; later phases only their outcome."""
    if previous is None:
        assert metadata is not None, f"{nodeid}: the first report of a test carries metadata"
        return Result(
            nodeid=nodeid,
            outcome=outcome,
            message=message,
            duration=duration,
            notes=tuple(notes),
            waiver=waiver,
            carried=carried,
            valid_until=valid_until,
            risk_tier=RiskTier(metadata["risk_tier"]),
            references=tuple(metadata["references"]),
            **{k: v for k, v in metadata.items() if k not in ("risk_tier", "references")},
        )
    previous.duration += duration
    if waiver is not None:
        previous.waiver = waiver
    if carried is not None:
        previous.carried = carried
    if valid_until is not None:
        previous.valid_until = valid_until
    if notes:
        merged = list(previous.notes)
        merged.extend(n for n in notes if n not in merged)
        previous.notes = tuple(merged)
    if _SEVERITY[outcome] > _SEVERITY[previous.outcome]:
        previous.outcome = outcome
        previous.message = message
    return previous


def summarize(results: Iterable[Result]) -> dict[str, dict[str, Any]]:
    """Counts per control id, with the title and the worst tier that failed."""
    summary: dict[str, dict[str, Any]] = {}
    for result in results:  # one pass; the controls are sorted once at the end
        entry = summary.get(result.control)
        if entry is None:
            entry = summary[result.control] = {
                "title": result.title, "total": 0, "worst_failing_tier": None,
                **{o.value: 0 for o in Outcome}}
        entry["total"] += 1
        entry[result.outcome.value] += 1
        if result.outcome in (Outcome.FAILED, Outcome.ERROR):
            worst = entry["worst_failing_tier"]
            if worst is None or result.risk_tier > RiskTier(worst):
                entry["worst_failing_tier"] = result.risk_tier.value
    return dict(sorted(summary.items()))


def metadata_of(item: pytest.Item) -> dict[str, Any] | None:
    """The control metadata of a collected item (None for anything but a control test)."""
    spec = spec_from_node(item)
    subject = subject_of(item)
    if spec is None or subject is None:
        return None
    return subject_metadata(spec, subject)


def subject_of(item: pytest.Item) -> Any:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    subject = next((callspec.params[f] for f in SUBJECT_FIXTURES if f in callspec.params), None)
    # An empty parameter set (a control that applies to no key) yields no test at all.
    subject_types = KeyRecord | SystemRecord | EndpointRecord | LibraryRecord | DiscoveryError
    return subject if isinstance(subject, subject_types) else None
