"""The typed evidence a reporter reads, from the model or from its JSON document.

A run hands reporters the validated :class:`~pytest_cryptoaudit.evidence_model.Evidence`.
Callers that hold the JSON document (a file read back, or an excerpt of one) get it
validated; an excerpt that lacks fields no reporter reads is built field by field without
validation, so a report renders what it is given, as it did when reporters read dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..evidence_model import (
    ControlSummary,
    Evidence,
    Key,
    NotApplicable,
    PqVerdict,
    Result,
    Run,
    System,
    Waivers,
)


def typed_evidence(evidence: Evidence | Mapping[str, Any]) -> Evidence:
    """``evidence`` as the model: as is, validated, or (an excerpt) constructed."""
    if isinstance(evidence, Evidence):
        return evidence
    try:
        return Evidence.model_validate(evidence)
    except ValidationError:
        return _constructed(evidence)


def _constructed(evidence: Mapping[str, Any]) -> Evidence:
    return Evidence.model_construct(
        run=Run.model_construct(**evidence.get("run", {})),
        systems=[System.model_construct(**s) for s in evidence.get("systems", [])],
        inventory=[_key(k) for k in evidence.get("inventory", [])],
        results=[typed_result(r) for r in evidence.get("results", [])],
        not_applicable=[NotApplicable.model_construct(**n)
                        for n in evidence.get("not_applicable") or []],
        summary={c: ControlSummary.model_construct(**e)
                 for c, e in evidence.get("summary", {}).items()},
        waivers=Waivers.model_validate(evidence.get("waivers") or {}))


def _key(key: Mapping[str, Any]) -> Key:
    # Only the fields the document has: the ledger hashes a key as its document spelt it.
    verdict = key.get("pq")
    if not verdict:
        return Key.model_construct(**key)
    return Key.model_construct(**{**key, "pq": PqVerdict.model_construct(**verdict)})


def typed_result(result: Result | Mapping[str, Any]) -> Result:
    """One result as the model; a result dict is constructed, not validated (the summary
    view ranks results of a run in progress as well as those of its evidence)."""
    return result if isinstance(result, Result) else Result.model_construct(**result)
