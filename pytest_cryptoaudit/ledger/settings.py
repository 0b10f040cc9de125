"""Validation of the configuration the ledger and the CEK-09 controls read.

- ``ledger = "PATH-or-URL"`` (or a ``[ledger]`` table: ``location``, ``password_env``): where
  the ledger lives (default ``.cryptoaudit/ledger.db`` beside the configuration); a
  PostgreSQL location must not carry a password in any form.
- ``[auditor]``: ``name`` (the audit function, e.g. "Internal Audit") and
  ``administrators`` (identities that administer keys, glob patterns; the auditing identity
  must match none of them: CEK-09 guideline 5).
- ``[policy]`` may carry the crypto policy's ``version``, ``reviewed_on`` (a date) and
  ``reviewed_by`` beside its thresholds (CEK-09 guideline 10).

Each function raises :class:`ValueError` with a message naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .location import LocationError, parse_location

POLICY_DOCUMENT_KEYS = ("version", "reviewed_on", "reviewed_by")
AUDITOR_KEYS = {"name": str, "administrators": list}


LEDGER_KEYS = {"location": str, "password_env": str}


def check_ledger_location(value: Any) -> str | None:
    """``ledger = "PATH-or-URL"`` or ``[ledger]`` with ``location`` and ``password_env``."""
    if value is None:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in LEDGER_KEYS:
                raise ValueError(f"ledger.{key}: unknown key (expected location, password_env)")
            if not isinstance(item, str) or not item.strip():
                raise ValueError(f"ledger.{key}: expected a non-empty string")
        value = value.get("location")
        if value is None:
            return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError("ledger: expected a path or a postgresql:// URL")
    try:
        location = parse_location(value, Path("."))
    except LocationError as exc:
        raise ValueError(str(exc)) from None
    if location.has_password:
        raise ValueError("ledger: the location carries a password; put it in PGPASSWORD, "
                         "~/.pgpass or the variable [ledger] password_env names, not in the "
                         "configuration")
    return value


def check_auditor(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("auditor: expected a table ([auditor])")
    for key, item in value.items():
        expected = AUDITOR_KEYS.get(key)
        if expected is None:
            raise ValueError(f"auditor.{key}: unknown key (expected one of "
                             f"{', '.join(AUDITOR_KEYS)})")
        if not isinstance(item, expected):
            raise ValueError(f"auditor.{key}: expected {expected.__name__}, got {item!r}")
    admins = value.get("administrators", [])
    if not all(isinstance(a, str) and a for a in admins):
        raise ValueError("auditor.administrators: expected an array of non-empty strings")
    return dict(value)


def split_policy_document(policy: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate the policy's document facts from its thresholds: (thresholds, document)."""
    thresholds = {k: v for k, v in policy.items() if k not in POLICY_DOCUMENT_KEYS}
    document: dict[str, Any] = {}
    for key in POLICY_DOCUMENT_KEYS:
        if key in policy:
            document[key] = _document_value(key, policy[key])
    return thresholds, document


def _document_value(key: str, value: Any) -> str:
    if key != "reviewed_on":
        if not isinstance(value, str) or not value:
            raise ValueError(f"policy.{key}: expected a non-empty string, got {value!r}")
        return value
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError(f"policy.reviewed_on: expected a date such as 2026-01-31, "
                         f"got {value!r}") from None
