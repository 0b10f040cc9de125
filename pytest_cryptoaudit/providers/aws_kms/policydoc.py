"""Reading key policies: Allow statements, the conditions that narrow them, accounts.

Pure functions over the parsed key policy (JSON), used to normalise it to access grants
(``facts.py``). Deny statements only take access away, so they are ignored here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

ACCOUNT_ID = re.compile(r"^\d{12}$")

#: Condition keys that pin callers to known accounts, organizations, networks or identities.
RESTRICTING_KEYS = frozenset({
    "aws:principalaccount", "aws:principalarn", "aws:principalorgid", "aws:principalorgpaths",
    "aws:sourceaccount", "aws:sourcearn", "aws:sourceowner", "aws:sourcevpc", "aws:sourcevpce",
    "aws:sourceip", "aws:userid", "aws:username", "kms:calleraccount",
})
#: Operators that only let matching callers in (negated and ...IfExists operators do not).
RESTRICTING_OPERATORS = frozenset({
    "stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress",
    "foranyvalue:stringequals", "foranyvalue:stringlike",
})
ACCOUNT_CONDITION_KEYS = frozenset({"aws:principalaccount", "kms:calleraccount",
                                    "aws:sourceaccount", "aws:sourceowner"})
ARN_CONDITION_KEYS = frozenset({"aws:principalarn", "aws:sourcearn"})


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def statements(policy: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The Allow statements of a policy, each with a label (its Sid or position)."""
    found = []
    for index, statement in enumerate(_as_list(policy.get("Statement"))):
        if isinstance(statement, Mapping) and statement.get("Effect") == "Allow":
            found.append((str(statement.get("Sid") or f"#{index + 1}"), statement))
    return found


def restricting_conditions(statement: Mapping[str, Any]) -> dict[str, list[str]]:
    """Condition key -> values, for the conditions that really narrow who may call."""
    narrowed: dict[str, list[str]] = {}
    for operator, block in (statement.get("Condition") or {}).items():
        if operator.lower() not in RESTRICTING_OPERATORS or not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            values = [str(v) for v in _as_list(values)]
            if key.lower() in RESTRICTING_KEYS and values and "*" not in values:
                narrowed.setdefault(key.lower(), []).extend(values)
    return narrowed


#: Operators under which an encryption-context condition binds every use (not ...IfExists).
CONTEXT_OPERATORS = frozenset({"stringequals", "stringlike", "stringequalsignorecase",
                               "forallvalues:stringequals", "forallvalues:stringlike"})
CONTEXT_PREFIX = "kms:encryptioncontext:"


def context_keys(statement: Mapping[str, Any]) -> list[str]:
    """The encryption-context keys a statement's conditions require, with a value other than
    a bare ``*`` (``kms:EncryptionContext:tenant`` -> ``tenant``)."""
    keys = []
    for operator, block in (statement.get("Condition") or {}).items():
        if operator.lower() not in CONTEXT_OPERATORS or not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            listed = [str(v) for v in _as_list(values)]
            if key.lower().startswith(CONTEXT_PREFIX) and listed and "*" not in listed:
                keys.append(key[len(CONTEXT_PREFIX):])
    return keys


def account_of(principal: str) -> str | None:
    """The account of an account id or an IAM/STS ARN; None for anything else."""
    if ACCOUNT_ID.match(principal):
        return principal
    parts = principal.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and ACCOUNT_ID.match(parts[4]):
        return parts[4]
    return None


def is_service_principal(principal: str) -> bool:
    return principal.endswith((".amazonaws.com", ".amazonaws.com.cn"))
