"""Incremental audits: re-check only the (check, subject) pairs whose inputs changed.

Every result of a key or endpoint carries the hash of what its check read
(``inputs_sha256``): the subject's facts, the effective policy, the waivers that match it
(with whether each has expired) and the source of the control itself. A check that also
takes the ledger, the events, the whole inventory or the bare clock (``crypto_now``) has no
such hash (its result could change with nothing in the hash changing), so it always runs.
A check that compares the clock only with thresholds takes ``crypto_clock`` (see
``clock.py``) instead: its result records the first instant at which its outcome could
change (``valid_until``), and is carried only before then.

An incremental run's ledger entries keep, per system, the outcome and inputs of each such
result with the run and time that established it (other runs do not, so the ledger of a
team that never runs incrementally does not grow by a row per result). The first
incremental run therefore audits in full and records what later ones carry. Under
``--cryptoaudit-incremental`` a pair whose inputs equal those of the last complete audit
carries that result forward, marked as carried with its original run and time, unless:

- its system must be audited in full: no complete audit to carry from, the tier's interval
  has run out since the oldest result it holds, an event (security event, key compromise,
  material change) was recorded after it, or the system's configuration or the policy
  changed; or
- the result itself is older than the interval of its tier, was an error or a skip, or
  read the clock and its ``valid_until`` has come.

A carried pair gets no test item; its result joins the run's results, so the evidence and
every report derived from it show it, marked, and a carried finding is still a finding.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from .cadence import interval
from .ledger.chain import canonical
from .model import EndpointRecord, KeyRecord, Outcome, RiskTier
from .serialize import record_json
from .waivers import Waiver

#: Fixtures whose value the inputs hash captures (or, for ``crypto_clock``, the result's
#: ``valid_until``); a check asking for any other one (the bare clock, the ledger, the
#: events, the inventory, a fixture of its own) is never carried. (``request`` is there
#: because the subject fixtures themselves take it.)
HASHED_FIXTURES = frozenset({"crypto_key", "crypto_endpoint", "crypto_policy", "crypto_note",
                             "crypto_clock", "request"})
#: Outcomes that may be carried: an error or a skip is looked at again.
CARRIED_OUTCOMES = frozenset({Outcome.PASSED.value, Outcome.FAILED.value,
                              Outcome.WAIVED.value})
SEPARATOR = "\t"


def pair_key(check: str, uid: str) -> str:
    """How the ledger and the workers name one (check, subject) pair."""
    return f"{check}{SEPARATOR}{uid}"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class InputHasher:
    """Computes the inputs hash of each collected control test, caching what tests share
    (a subject's facts, a control's source)."""

    def __init__(self, policy_sha256: str, waivers: Sequence[Waiver], today: date) -> None:
        self.policy_sha256 = policy_sha256
        self.waivers = tuple(waivers)
        self.today = today
        self._facts: dict[tuple[str, str], str] = {}
        self._code: dict[Any, str | None] = {}

    def inputs(self, item: Any, metadata: Mapping[str, Any], subject: Any) -> str | None:
        """The hash of everything the test reads, or None when something it reads is not
        hashed (then it always runs)."""
        return self.subject_inputs(self.code(item), metadata, subject)

    def code(self, item: Any) -> str | None:
        """What every subject of a test function shares in its hash: the control's code, or
        None when the function reads something no hash captures."""
        if not HASHED_FIXTURES.issuperset(getattr(item, "fixturenames", ("?",))):
            return None
        return self._code_of(getattr(item, "function", None))

    def subject_inputs(self, code: str | None, metadata: Mapping[str, Any],
                       subject: Any) -> str | None:
        """:meth:`inputs` of one subject, given its function's :meth:`code`."""
        if code is None or not isinstance(subject, KeyRecord | EndpointRecord):
            return None
        parts = (self._facts_of(subject), self.policy_sha256, self._waivers_of(metadata), code)
        return _sha256(":".join(parts))

    def _facts_of(self, subject: KeyRecord | EndpointRecord) -> str:
        key = (type(subject).__name__, subject.uid)
        if key not in self._facts:
            self._facts[key] = _sha256(canonical(record_json(subject)))
        return self._facts[key]

    def _code_of(self, function: Any) -> str | None:
        if function not in self._code:
            try:
                self._code[function] = _sha256(inspect.getsource(function))
            except (OSError, TypeError):
                self._code[function] = None
        return self._code[function]

    def _waivers_of(self, metadata: Mapping[str, Any]) -> str:
        if not self.waivers:
            return ""
        matching = [[waiver.as_dict(), waiver.expired(self.today)] for waiver in self.waivers
                    if waiver.matches(metadata["control"], metadata["check"],
                                      metadata["key_uid"], metadata["system"])]
        return _sha256(canonical(matching)) if matching else ""


# -- what the ledger keeps ----------------------------------------------------------------


def carriable(result: Mapping[str, Any]) -> bool:
    """Whether a later run may carry this result (one row of :func:`results_detail`)."""
    return bool(result.get("inputs_sha256")) and result["outcome"] in CARRIED_OUTCOMES


def results_detail(results: Iterable[Mapping[str, Any]], run: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """The carriable results of one system, compactly: the runs that established them once,
    then per pair ``[outcome, inputs, run index, message, notes, valid until]``."""
    runs: list[list[str]] = []
    index: dict[tuple[str, str], int] = {}
    pairs: dict[str, list[Any]] = {}
    for result in results:
        if not carriable(result):
            continue
        carried = result.get("carried") or {"run": run["id"], "at": run["started"]}
        origin = (carried["run"], carried["at"])
        if origin not in index:
            index[origin] = len(runs)
            runs.append(list(origin))
        pairs[pair_key(result["check"], result["key_uid"])] = [
            result["outcome"], result["inputs_sha256"], index[origin],
            result.get("message") or "", list(result.get("notes") or ()),
            result.get("valid_until")]
    return {"runs": runs, "pairs": pairs}


def audited_since(results: Iterable[Mapping[str, Any]], started: str) -> str:
    """When the oldest result of an audit was established: the run's start, or earlier
    when it carried results (the cadence counts from here)."""
    times: list[str] = [r["carried"]["at"] for r in results if r.get("carried")]
    return min([started, *times], key=datetime.fromisoformat)


def carries_from(detail: str) -> dict[str, list[Any]]:
    """Per pair ``[outcome, inputs, run, at, message, notes, valid until]`` from an audit's
    detail (ledgers written before ``valid until`` was kept hold no clock-reading result)."""
    data = json.loads(detail) if detail else {}
    stored = data.get("results") or {}
    runs = stored.get("runs", [])
    return {pair: [outcome, inputs, *runs[origin], message, notes, *(until or [None])]
            for pair, (outcome, inputs, origin, message, notes, *until)
            in stored.get("pairs", {}).items()}


# -- which systems must be audited in full ------------------------------------------------


def full_audit_reason(tier: RiskTier, previous: Any, *, events: Iterable[Any],
                      cadence: Mapping[RiskTier, int], now: datetime,
                      system_config_sha256: str | None, policy_sha256: str) -> str | None:
    """Why a system is audited in full rather than incrementally, or None.

    ``previous`` is its last complete audit (a ledger entry), ``events`` its recorded
    events (:class:`~pytest_cryptoaudit.ledger.history.RecordedEvent`).
    """
    if previous is None:
        return "no complete audit in the ledger to carry from"
    data = previous.data
    if not (json.loads(previous.detail) if previous.detail else {}).get("results"):
        return "its last complete audit recorded no results to carry"
    since = datetime.fromisoformat(data.get("audited_since") or data["started"])
    if since + interval(tier, cadence) <= now:
        return (f"its {tier.value} interval of {interval(tier, cadence).days} days has run out"
                f" since {since:%Y-%m-%d %H:%M} UTC")
    started = datetime.fromisoformat(data["started"])
    later = [e for e in events if e.effective > started]
    if later:
        first = later[0]
        return (f"{first.event.kind.value} recorded at {first.effective:%Y-%m-%d %H:%M} UTC "
                "after its last complete audit")
    if data.get("system_config_sha256") not in (None, system_config_sha256):
        return "its configuration changed (tier, owner or provider options)"
    if data.get("policy_sha256") not in (None, policy_sha256):
        return "the policy changed"
    return None


def still_fresh(carry: Sequence[Any], tier: RiskTier, cadence: Mapping[RiskTier, int],
                now: datetime) -> bool:
    """Whether a stored result may still be carried: never past its tier's interval, and
    for a check that read the clock, only before its outcome could change."""
    if datetime.fromisoformat(carry[3]) + interval(tier, cadence) <= now:
        return False
    valid_until = carry[6] if len(carry) > 6 else None
    return valid_until is None or now < datetime.fromisoformat(valid_until)
