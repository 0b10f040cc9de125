"""The local RBAC of a Managed HSM: who may do what with its keys.

A Managed HSM is not authorised by Azure RBAC on its resource but by role assignments held
in the pool itself, read through its data plane (``azure-keyvault-administration``'s
``KeyVaultAccessControlClient``, the REST operations ``RoleAssignments_ListForScope`` and
``RoleDefinitions_List``). Both are listed once per pool at the global scope ``/``: without a
filter the assignments at, above and below it, so those at ``/keys`` and at one key
(``/keys/NAME``) too; the definitions applicable there, built in and custom.

An assignment reaches a key when its scope is ``/``, ``/keys`` or the key itself. What a
role allows on keys comes from its definition as the pool lists it: its ``dataActions`` less
its ``notDataActions``, matched against the pool's key operations. A role assignment names
its principal's object id and nothing else (no type, no tenant); the pool's principals are
those of its own Entra ID tenant, so a grant here is never outside, and its kind is unknown.
An assignment whose role the pool does not list makes the key's access unreadable: what it
allows cannot be told.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from ...facts import Action, Grant, PrincipalKind
from .arm import definition_actions, role_guid

PREFIX = "microsoft.keyvault/managedhsm/"
#: Representative data actions of each action on a pool's keys (the documented
#: ``KeyVaultDataAction`` values): a role allows the action if it allows any of them.
#: A full backup or restore of the pool takes out or replaces every key.
HSM_DATA_OPERATIONS: Mapping[Action, tuple[str, ...]] = {
    Action.USE: tuple(f"{PREFIX}keys/{op}/action"
                      for op in ("encrypt", "decrypt", "wrap", "unwrap", "sign", "verify")),
    Action.MANAGE: tuple(PREFIX + op for op in (
        "keys/write/action", "keys/create", "keys/import/action", "keys/rotate/action",
        "keys/deletedkeys/recover/action", "keys/restore/action", "restore/start/action")),
    Action.EXPORT: tuple(PREFIX + op for op in (
        "keys/export/action", "keys/backup/action", "keys/release/action",
        "backup/start/action")),
    Action.DELETE: (f"{PREFIX}keys/delete", f"{PREFIX}keys/deletedkeys/delete"),
    Action.GRANT: (f"{PREFIX}roleassignments/write/action",
                   f"{PREFIX}roledefinitions/write/action"),
}
#: The scope every listing is made at, and the scope that covers every key.
GLOBAL, KEYS = "/", "/keys"


@dataclasses.dataclass(frozen=True)
class LocalRbac:
    """One pool's role assignments, judged once: the grants of those at ``/`` and ``/keys``
    (every key of the pool shares that one tuple), the assignments at each key by its name
    in lower case, the role definitions by GUID (role name, actions on keys), and the GUIDs
    of roles that assignments at ``/`` or ``/keys`` name but the pool does not list."""

    pool_wide: tuple[Grant, ...]
    by_key: Mapping[str, tuple[Mapping[str, str], ...]]
    roles: Mapping[str, tuple[str, tuple[Action, ...]]]
    unlisted: frozenset[str] = frozenset()

    @classmethod
    def of(cls, assignments: Iterable[Mapping[str, str]],
           roles: Mapping[str, tuple[str, tuple[Action, ...]]]) -> LocalRbac:
        pool_wide: list[Mapping[str, str]] = []
        by_key: dict[str, list[Mapping[str, str]]] = {}
        for assignment in assignments:
            scope = "/" + assignment["scope"].strip("/").lower()
            if scope in (GLOBAL, KEYS):
                pool_wide.append(assignment)
            elif scope.startswith(f"{KEYS}/"):
                by_key.setdefault(scope.removeprefix(f"{KEYS}/"), []).append(assignment)
        grants, unlisted = _grants(pool_wide, roles)
        return cls(tuple(grants), {name: tuple(found) for name, found in by_key.items()},
                   roles, frozenset(unlisted))


def definition_of(definition: Any) -> tuple[str, str, tuple[Action, ...]]:
    """(GUID, role name, actions on keys) of one ``KeyVaultRoleDefinition``."""
    blocks = [{"dataActions": p.data_actions or [], "notDataActions": p.not_data_actions or [],
               "actions": p.actions or [], "notActions": p.not_actions or []}
              for p in definition.permissions or ()]
    actions = definition_actions({"properties": {"permissions": blocks}},
                                 HSM_DATA_OPERATIONS, {})
    guid = role_guid(str(definition.name or definition.id or ""))
    return guid, str(definition.role_name or guid), actions


def read_local_rbac(client: Any) -> LocalRbac:
    """Every role assignment and definition of the pool ``client`` (an access-control
    client) speaks to; the SDK raises on a refusal."""
    assignments = tuple(
        {"name": str(a.name or ""), "scope": _text(a.properties.scope),
         "roleDefinitionId": str(a.properties.role_definition_id or ""),
         "principalId": str(a.properties.principal_id or "")}
        for a in client.list_role_assignments(GLOBAL))
    roles = {guid: (name, actions) for guid, name, actions in
             map(definition_of, client.list_role_definitions(GLOBAL))}
    return LocalRbac.of(assignments, roles)


def _text(value: Any) -> str:
    """A field as the service wrote it: the SDK turns the well-known scopes into enum
    members (``RoleScope.GLOBAL``), whose ``str`` is not the scope."""
    return str(getattr(value, "value", value) or "")


def local_grants(rbac: LocalRbac, key_name: str) -> tuple[tuple[Grant, ...] | None, str | None]:
    """(the grants reaching one key, None) or (None, why they cannot be told): those at the
    pool or all its keys, and those at the key itself (``/keys/NAME``)."""
    own, unlisted = _grants(rbac.by_key.get(key_name.lower(), ()), rbac.roles)
    unlisted |= rbac.unlisted
    if unlisted:
        return None, (f"local RBAC: role definition {', '.join(sorted(unlisted))} of a role "
                      "assignment reaching the key is not listed by the pool")
    return (rbac.pool_wide + tuple(own) if own else rbac.pool_wide), None


def _grants(assignments: Iterable[Mapping[str, str]],
            roles: Mapping[str, tuple[str, tuple[Action, ...]]]) -> tuple[list[Grant], set[str]]:
    """The assignments as grants (those of roles with no action on keys left out), and the
    GUIDs of the roles they name that the pool does not list."""
    grants: list[Grant] = []
    unlisted: set[str] = set()
    for assignment in assignments:
        guid = role_guid(assignment["roleDefinitionId"])
        if guid not in roles:
            unlisted.add(guid or "(none named)")
            continue
        name, actions = roles[guid]
        if actions:
            grants.append(Grant(principal=assignment["principalId"] or "?",
                                kind=PrincipalKind.UNKNOWN, actions=actions,
                                source="local-rbac", ref=f"{name} at {assignment['scope'] or '?'}"))
    return grants, unlisted
