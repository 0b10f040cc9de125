"""Judging a planted estate: each key's results against what was planted in it, the same way
for every key store (AWS KMS on moto, the Cloud KMS and Key Vault stand-ins)."""

from __future__ import annotations

import collections
from typing import Any


def results_by_uid(evidence: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """uid -> check -> result, from the JSON evidence (one result per check and subject)."""
    by_uid: dict[str, dict[str, dict[str, Any]]] = collections.defaultdict(dict)
    for result in evidence["results"]:
        assert result["check"] not in by_uid[result["key_uid"]], result["nodeid"]
        by_uid[result["key_uid"]][result["check"]] = result
    return by_uid


def mismatches(label: str, results: dict[str, dict[str, Any]], expect: dict[str, str]) -> list:
    """What differs from "the expected checks give the expected outcome, all others pass"."""
    outcomes = {check: result["outcome"] for check, result in results.items()}
    wanted = {check: expect.get(check, "passed") for check in {*outcomes, *expect}}
    return [f"{label}: {check} gave {outcomes.get(check, 'no result')}, expected {want} "
            f"({results.get(check, {}).get('message', '')})"
            for check, want in sorted(wanted.items()) if outcomes.get(check) != want]
