"""Who a key policy and its grants let in: public statements and foreign accounts.

Pure functions over the parsed key policy (JSON) and the grants' principals, so that the
controls stay short and the rules can be read in one place. Deny statements only take
access away, so they are ignored here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
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


def _principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if not isinstance(principal, Mapping):
        return []
    return [str(p) for kind in ("AWS", "Federated", "CanonicalUser")
            for p in _as_list(principal.get(kind))]


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


def is_public(statement: Mapping[str, Any]) -> bool:
    """Allow to everyone (``*``, ``{"AWS": "*"}`` or NotPrincipal) with no narrowing condition."""
    everyone = "*" in _principals(statement) or "NotPrincipal" in statement
    return everyone and not restricting_conditions(statement)


def public_statements(policy: Mapping[str, Any]) -> list[str]:
    return [label for label, statement in statements(policy) if is_public(statement)]


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


def _statement_principals(statement: Mapping[str, Any]) -> list[str]:
    principals = [p for p in _principals(statement) if p != "*"]
    for key, values in restricting_conditions(statement).items():
        if key in ACCOUNT_CONDITION_KEYS or key in ARN_CONDITION_KEYS:
            principals.extend(values)
    return principals


def foreign_principals(policy: Mapping[str, Any], allowed: Iterable[str]) -> list[str]:
    """Principals (and condition-named callers) of Allow statements outside ``allowed``
    accounts; a principal whose account cannot be told (a unique id) counts as foreign."""
    allowed_accounts = set(allowed)
    found = []
    for label, statement in statements(policy):
        for principal in _statement_principals(statement):
            if account_of(principal) not in allowed_accounts:
                found.append(f"{principal} (statement {label})")
    return sorted(set(found))


def foreign_grantees(grants: Iterable[Mapping[str, Any]], allowed: Iterable[str]) -> list[str]:
    """Grantee and retiring principals of grants outside ``allowed`` accounts."""
    allowed_accounts = set(allowed)
    found = set()
    for grant in grants:
        for role in ("grantee", "retiring"):
            principal = grant.get(role)
            if not principal or is_service_principal(principal):
                continue
            if account_of(principal) not in allowed_accounts:
                operations = ", ".join(grant.get("operations", ()))
                found.add(f"{principal} ({role}; {operations})")
    return sorted(found)
