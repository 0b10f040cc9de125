"""Is the auditing identity a key administrator of AWS KMS keys? (CEK-09 guideline 5)

The identity that ran the audit (the STS caller of each account) must not be granted key
administration (``kms:Put*``, ``kms:Schedule*``, ``kms:Disable*``, ``kms:*`` ...) by the key
policies audited, nor, where a key policy delegates to the account (a statement for its
root), by its own IAM policies (:mod:`.iam`). The answer is the system fact
``auditor_admin_rights`` that the generic ``auditor-independent`` check judges.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ...facts import Action, Grant
from ...independence import identity_name

if TYPE_CHECKING:
    from .iam import IdentityPolicies

IAM_NOTE = ("where a key policy delegates to IAM, the auditing identity's inline, attached and "
            "group policies and permissions boundary were read; service control, resource "
            "control and session policies were not (they can only narrow the rights found)")

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


def covers(statement: Mapping[str, Any], action: str) -> bool:
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


def _statements_for(identity: Any, policy: Any) -> list[Mapping[str, Any]]:
    forms = principal_forms(identity_name(identity))
    return [s for s in parse_policy(policy) if _applies_to(s, forms)]


def key_policy_denials(identity: Any, policy: Any,
                       actions: Iterable[str] = AWS_ADMIN_ACTIONS) -> set[str]:
    """The ``actions`` a Deny statement of the key policy takes from the identity."""
    denied = [s for s in _statements_for(identity, policy) if s.get("Effect") == "Deny"]
    return {a for a in actions if any(covers(s, a) for s in denied)}


def aws_admin_actions(identity: Any, policy: Any) -> list[str]:
    """The administrative actions the key policy grants the identity (none: independent)."""
    allowed = [s for s in _statements_for(identity, policy) if s.get("Effect") == "Allow"]
    denied = key_policy_denials(identity, policy)
    return [a for a in AWS_ADMIN_ACTIONS
            if any(covers(s, a) for s in allowed) and a not in denied]


def delegated_accounts(statement: Mapping[str, Any]) -> list[str]:
    """The accounts whose root (``arn:aws:iam::111122223333:root`` or the bare id) the
    statement names: their IAM policies decide what it allows."""
    principal = statement.get("Principal")
    values = _listed(principal.get("AWS")) if isinstance(principal, Mapping) else []
    found = []
    for value in values:
        match = re.fullmatch(r"(?:arn:aws[\w-]*:iam::)?(\d{12})(?::root)?", value)
        if match and (value.endswith(":root") or value.isdigit()):
            found.append(match[1])
    return found


def delegating_statements(policy: Any) -> list[Mapping[str, Any]]:
    """The Allow statements of a key policy for an account's root (or its id): what they
    allow, that account's IAM policies may grant."""
    return [s for s in parse_policy(policy)
            if s.get("Effect") == "Allow" and delegated_accounts(s)]


def delegated_actions(identity: Any, policy: Any,
                      actions: Iterable[str] = AWS_ADMIN_ACTIONS) -> list[str]:
    """The ``actions`` the key policy lets IAM policies grant the identity: those of its
    statements for the account, less its own denials of them to the identity."""
    delegating = delegating_statements(policy)
    if not delegating:
        return []
    actions = [a for a in actions if any(covers(s, a) for s in delegating)]
    denied = key_policy_denials(identity, policy, actions)
    return [a for a in actions if a not in denied]


def _named(actions: Iterable[str]) -> str:
    return ", ".join(a for a in AWS_ADMIN_ACTIONS if a in set(actions))


def admin_rights(callers: Mapping[str, str],
                 policies: Iterable[tuple[str, str, Any, str | None]],
                 identities: Mapping[str, IdentityPolicies | str],
                 kms_grants: Mapping[str, tuple[Grant, ...] | str] | None = None
                 ) -> dict[str, Any]:
    """System facts from ``(key uid, account, parsed policy or None, why unreadable)``, per
    account whose key policies delegate to IAM the caller's IAM policies (or why they could
    not be read), and per key its KMS grants (or why they could not be read):
    ``auditor_admin_rights`` (or its unreadable reason) and ``auditor_notes``."""
    rights, unreadable, iam_unread = [], [], {}
    for uid, entries in sorted((kms_grants or {}).items()):
        if isinstance(entries, str):
            unreadable.append(f"{uid}: {entries}")
            continue
        forms = principal_forms(identity_name(callers.get(_account_in(uid), "")))
        for grant in entries:
            if _without_role_path(grant.principal) in forms and Action.GRANT in grant.actions:
                rights.append(f"KMS {grant.ref} of {uid}: it may create, retire or revoke "
                              "grants of the key")
    through_iam: dict[tuple[str, str], tuple[set[str], list[str]]] = {}
    delegating_accounts: set[str] = set()
    for uid, account, policy, reason in policies:
        if policy is None:
            unreadable.append(f"{uid}: {reason or 'not reported by the provider'}")
            continue
        caller = callers.get(account, "")
        actions = aws_admin_actions(caller, policy)
        if actions:
            rights.append(f"key policy of {uid}: {', '.join(actions)}")
        delegated = delegated_actions(caller, policy)
        if not delegated:
            continue
        delegating_accounts.add(account)
        identity = identities.get(account, "IAM policies not read")
        if isinstance(identity, str):
            iam_unread[account] = identity
            continue
        if identity.root:  # a root statement may already name the root user's own ARN
            delegated = [a for a in delegated if a not in actions]
        for source, allowed in identity.admin_actions(uid, delegated).items():
            source = source if identity.root else f"IAM {source}"
            granted, keys = through_iam.setdefault((account, source), (set(), []))
            granted.update(allowed)
            keys.append(uid)
    for account, identity in sorted(identities.items()):
        if isinstance(identity, str) or account not in delegating_accounts:
            continue
        for source, actions in identity.self_grants().items():
            rights.append(f"IAM {source}: {', '.join(actions)} on its own IAM identity (it may "
                          f"grant itself what the key policies of account {account} delegate "
                          "to the account)")
    for (account, source), (granted, keys) in sorted(through_iam.items()):
        where = keys[0] if len(keys) == 1 else f"{len(keys)} keys of account {account}"
        rights.append(f"{source}: {_named(granted)} on {where} (the key policy delegates "
                      "to the account)")
    reasons = ([f"key policy or grants unreadable: {'; '.join(unreadable)}"]
               if unreadable else []) + [
        f"account {account}: {why}" for account, why in sorted(iam_unread.items())]
    if reasons:
        return {"unreadable": "; ".join(reasons)}
    delegating = any(not isinstance(i, str) for i in identities.values())
    return {"auditor_admin_rights": rights, "auditor_notes": [IAM_NOTE] if delegating else []}


def _account_in(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def auditor_names(callers: Mapping[str, str]) -> list[str]:
    """Every ARN a key policy or ``[auditor] administrators`` may use for the callers."""
    return sorted({form for arn in callers.values() for form in principal_forms(arn)})
