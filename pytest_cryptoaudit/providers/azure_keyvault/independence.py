"""Is the auditing identity a key administrator of the Key Vault keys it audits? (CEK-09
guideline 5)

The identity is the object id (``oid``) of the Entra ID access token the audit signed in
with, read from the token's claims (never stored: only ``oid``, ``tid`` and the user or
application name are kept). Its rights are the access grants already read for each key
(access policies, or the role assignments that reach the key) that name that object id
with an administrative action, and those naming a group it belongs to, directly or through
other groups (Microsoft Graph ``getMemberObjects``, unless ``auditor_groups = false``, which
a note then says).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ...facts import ADMIN_ACTIONS, Grant

GROUPS_NOT_RESOLVED = ("a role or access policy given to a group the auditing identity "
                       "belongs to is not seen: group memberships (Microsoft Graph) are not "
                       "read (auditor_groups = false)")
GROUPS_READ = ("roles and access policies given to the groups the auditing identity belongs "
               "to, directly or through other groups (Microsoft Graph), count as its own")


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT access token, unverified (the service verified it); {} if the
    token is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def auditor_of(credential: Any, scope: str) -> tuple[dict[str, str], list[str], str | None]:
    """(identity, other names, why unreadable) of the identity the credential signs in as."""
    token = credential.get_token(scope).token
    claims = token_claims(token)
    oid = str(claims.get("oid") or "")
    if not oid:
        return {}, [], "the access token names no object id (oid claim)"
    names = [str(claims[c]) for c in ("upn", "unique_name", "appid", "azp") if claims.get(c)]
    return {"id": oid, "tenant": str(claims.get("tid") or "")}, sorted(set(names)), None


def admin_rights(oid: str, access: Iterable[tuple[str, tuple[Grant, ...] | None, str | None]],
                 groups: list[str] | None = None) -> dict[str, Any]:
    """``auditor_admin_rights`` from ``(key uid, grants or None, why unreadable)`` of every
    key audited, or ``unreadable`` naming the keys whose access could not be read. Grants
    to one of ``groups`` (the identity's memberships; None: not read) count as its own."""
    holders = {oid.lower(), *(g.lower() for g in groups or ())}
    rights: set[str] = set()
    unreadable = []
    for uid, grants, why in access:
        if grants is None:
            unreadable.append(f"{uid}: {why or 'access not reported'}")
            continue
        for grant in grants:
            held = sorted(a.value for a in grant.actions if a in ADMIN_ACTIONS)
            principal = grant.principal.lower()
            if principal in holders and held:
                through = "" if principal == oid.lower() else f" (through group {principal})"
                rights.add(f"{grant.source} {grant.ref}{through}: {', '.join(held)}")
    if unreadable:
        shown = "; ".join(sorted(unreadable)[:5])
        more = f"; and {len(unreadable) - 5} more" if len(unreadable) > 5 else ""
        return {"unreadable": f"access of the audited keys unreadable: {shown}{more}"}
    note = GROUPS_NOT_RESOLVED if groups is None else GROUPS_READ
    return {"auditor_admin_rights": sorted(rights), "auditor_notes": [note]}


def auditor_facts(identity: Mapping[str, str], names: list[str], why: str | None,
                  access: Iterable[tuple[str, tuple[Grant, ...] | None, str | None]],
                  groups: list[str] | str | None = None,
                  ) -> tuple[dict[str, Any], dict[str, str]]:
    """(system attributes, unreadable) for the ``auditor-independent`` check; ``groups``:
    the identity's memberships, why they could not be read, or None (not read)."""
    if why is not None:
        return {}, {"auditor_identity": why, "auditor_admin_rights": why}
    attributes: dict[str, Any] = {"auditor_identity": dict(identity), "auditor_names": names}
    if isinstance(groups, str):
        return attributes, {"auditor_admin_rights": f"group memberships unreadable: {groups}"}
    rights = admin_rights(identity["id"], access, groups)
    if "unreadable" in rights:
        return attributes, {"auditor_admin_rights": rights["unreadable"]}
    return {**attributes, **rights}, {}
