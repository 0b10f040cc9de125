"""Is the auditing identity a key administrator of AWS KMS keys? (CEK-09 guideline 5)

The identity that ran the audit (the STS caller of each account) must not be granted key
administration (``kms:Put*``, ``kms:Schedule*``, ``kms:Disable*``, ``kms:*`` ...) by the key
policies audited. Only key policies are evaluated; a statement for the account root
delegates to IAM, which is not read, and is reported as such. The answer is the system fact
``auditor_admin_rights`` that the generic ``auditor-independent`` check judges.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ...independence import identity_name

AWS_ADMIN_ACTIONS = (
    "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:DisableKey",
    "kms:EnableKey", "kms:DisableKeyRotation", "kms:EnableKeyRotation", "kms:RotateKeyOnDemand",
    "kms:ImportKeyMaterial", "kms:DeleteImportedKeyMaterial", "kms:CreateGrant",
    "kms:RevokeGrant", "kms:UpdateKeyDescription", "kms:CreateAlias", "kms:DeleteAlias",
    "kms:UpdateAlias", "kms:UpdatePrimaryRegion", "kms:ReplicateKey", "kms:TagResource",
    "kms:UntagResource",
)


def principal_forms(arn: str) -> set[str]:
    """The principal ARNs a key policy may use for ``arn`` (an assumed role is its role)."""
    forms = {arn}
    match = re.match(r"arn:(aws[\w-]*):sts::(\d+):assumed-role/([^/]+)/", arn)
    if match:
        forms.add(f"arn:{match[1]}:iam::{match[2]}:role/{match[3]}")
    return forms


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or ()]


def _without_role_path(arn: str) -> str:
    """``arn:aws:iam::1:role/path/Name`` -> ``arn:aws:iam::1:role/Name``."""
    return re.sub(r":role/(?:.*/)?([^/]+)$", r":role/\1", arn)


def _names_identity(principal: Any, forms: set[str]) -> bool:
    if principal == "*":
        return True
    values = _listed(principal.get("AWS")) if isinstance(principal, Mapping) else []
    return any(v == "*" or _without_role_path(v) in forms for v in values)


def _applies_to(statement: Mapping[str, Any], forms: set[str]) -> bool:
    if "NotPrincipal" in statement:
        return not _names_identity(statement["NotPrincipal"], forms)
    return _names_identity(statement.get("Principal"), forms)


def _covers(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(fnmatch.fnmatch(action.lower(), p.lower())
                       for p in _listed(statement["NotAction"]))
    return any(fnmatch.fnmatch(action.lower(), p.lower()) for p in _listed(statement.get("Action")))


def parse_policy(policy: Any) -> list[Mapping[str, Any]]:
    """The statements of a key policy given as JSON text or a parsed document."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = document.get("Statement", []) if isinstance(document, Mapping) else None
    if statements is None:
        raise ValueError("not a policy document")
    return [statements] if isinstance(statements, Mapping) else list(statements)


def aws_admin_actions(identity: Any, policy: Any) -> list[str]:
    """The administrative actions the key policy grants the identity (none: independent)."""
    forms = principal_forms(identity_name(identity))
    statements = [s for s in parse_policy(policy) if _applies_to(s, forms)]
    allowed = [s for s in statements if s.get("Effect") == "Allow"]
    denied = [s for s in statements if s.get("Effect") == "Deny"]
    return [a for a in AWS_ADMIN_ACTIONS
            if any(_covers(s, a) for s in allowed) and not any(_covers(s, a) for s in denied)]


def delegates_to_account(policy: Any) -> bool:
    """True if a statement allows the account root (IAM policies then decide)."""
    for statement in parse_policy(policy):
        principal = statement.get("Principal")
        values = _listed(principal.get("AWS")) if isinstance(principal, Mapping) else []
        if statement.get("Effect") == "Allow" and any(
                v.endswith(":root") or v.isdigit() for v in values):
            return True
    return False


def admin_rights(callers: Mapping[str, str],
                 policies: Iterable[tuple[str, str, Any, str | None]]) -> dict[str, Any]:
    """System facts from ``(key uid, account, parsed policy or None, why unreadable)``:
    ``auditor_admin_rights`` (or its unreadable reason) and ``auditor_notes``."""
    rights, unreadable, delegating = [], [], False
    for uid, account, policy, reason in policies:
        if policy is None:
            unreadable.append(f"{uid}: {reason or 'not reported by the provider'}")
            continue
        actions = aws_admin_actions(callers.get(account, ""), policy)
        if actions:
            rights.append(f"key policy of {uid}: {', '.join(actions)}")
        delegating = delegating or delegates_to_account(policy)
    if unreadable:
        return {"unreadable": "key policy unreadable: " + "; ".join(unreadable)}
    notes = ["some key policies delegate to the account's IAM policies, which are not read"]
    return {"auditor_admin_rights": rights, "auditor_notes": notes if delegating else []}


def auditor_names(callers: Mapping[str, str]) -> list[str]:
    """Every ARN a key policy or ``[auditor] administrators`` may use for the callers."""
    return sorted({form for arn in callers.values() for form in principal_forms(arn)})
