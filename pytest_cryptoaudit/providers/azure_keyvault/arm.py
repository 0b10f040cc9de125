"""Vault properties from Azure Resource Manager (``azure-mgmt-keyvault``): which vaults and
Managed HSMs a subscription holds, their recoverability, authorisation model, access
policies and network exposure; and, for a vault authorised by Azure RBAC, the role
assignments (``Microsoft.Authorization``) that reach its keys.

The resources are read as the REST API names their fields (``as_dict()``), so the facts
follow the documented ``Microsoft.KeyVault`` shapes whatever the SDK's model classes do.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from ...facts import Action, Grant, PrincipalKind

#: Access-policy key permissions in the shared action vocabulary; reads (get, list,
#: getrotationpolicy) are none. ``backup`` takes the key out (wrapped for Key Vault).
KEY_PERMISSIONS: Mapping[str, Action] = {
    **dict.fromkeys(("encrypt", "decrypt", "sign", "verify", "wrapkey", "unwrapkey"),
                    Action.USE),
    **dict.fromkeys(("create", "import", "update", "rotate", "setrotationpolicy", "recover",
                     "restore"), Action.MANAGE),
    **dict.fromkeys(("backup", "release"), Action.EXPORT),
    **dict.fromkeys(("delete", "purge"), Action.DELETE),
}


@dataclasses.dataclass(frozen=True)
class VaultProperties:
    """What ARM says about one vault or Managed HSM."""

    url: str
    resource_id: str
    tenant_id: str
    managed_hsm: bool
    soft_delete: bool | None
    retention_days: int | None
    purge_protection: bool
    rbac: bool
    public_network_access: str
    default_action: str
    private_endpoints: int
    access_policies: tuple[Mapping[str, Any], ...] = ()
    #: A Managed HSM's pool state (``provisioningState``, ``statusMessage``) and its security
    #: domain's (``securityDomainProperties.activationStatus`` and its message); '' if absent.
    provisioning_state: str = ""
    status_message: str = ""
    activation_status: str = ""
    activation_message: str = ""

    @property
    def network_restricted(self) -> bool:
        """Unreachable from the internet: public access off, or only listed networks."""
        return self.public_network_access == "Disabled" or self.default_action == "Deny"

    def summary(self) -> dict[str, Any]:
        """The system attribute for this vault (JSON; never an access policy's secrets)."""
        return {"resource_id": self.resource_id, "managed_hsm": self.managed_hsm,
                "soft_delete": self.soft_delete, "retention_days": self.retention_days,
                "purge_protection": self.purge_protection, "rbac": self.rbac,
                "public_network_access": self.public_network_access,
                "network_default_action": self.default_action,
                "private_endpoints": self.private_endpoints,
                "access_policies": len(self.access_policies),
                **({"provisioning_state": self.provisioning_state,
                    "activation_status": self.activation_status} if self.managed_hsm else {})}


def vault_key(url: str) -> str:
    """A vault URL as one spelling: host names are case-insensitive, the slash optional."""
    return url.rstrip("/").lower()


def _approved_endpoints(properties: Mapping[str, Any]) -> int:
    return sum(1 for connection in properties.get("privateEndpointConnections") or ()
               if ((connection.get("properties") or {}).get("privateLinkServiceConnectionState")
                   or {}).get("status") == "Approved")


def vault_properties(resource: Mapping[str, Any], managed_hsm: bool) -> VaultProperties:
    """A vault (``vaultUri``) or Managed HSM (``hsmUri``) resource as listed by ARM."""
    properties = resource.get("properties") or {}
    url = (properties.get("hsmUri") if managed_hsm else properties.get("vaultUri")) or ""
    network = properties.get("networkAcls") or {}
    domain = properties.get("securityDomainProperties") or {}
    return VaultProperties(
        url=vault_key(url), resource_id=str(resource.get("id", "")),
        tenant_id=str(properties.get("tenantId", "")), managed_hsm=managed_hsm,
        soft_delete=properties.get("enableSoftDelete"),
        retention_days=properties.get("softDeleteRetentionInDays"),
        purge_protection=bool(properties.get("enablePurgeProtection")),
        # A Managed HSM is always authorised by its local RBAC.
        rbac=managed_hsm or bool(properties.get("enableRbacAuthorization")),
        public_network_access=str(properties.get("publicNetworkAccess") or "Enabled"),
        default_action=str(network.get("defaultAction") or "Allow"),
        private_endpoints=_approved_endpoints(properties),
        access_policies=tuple(properties.get("accessPolicies") or ()),
        provisioning_state=str(properties.get("provisioningState") or ""),
        status_message=str(properties.get("statusMessage") or ""),
        activation_status=str(domain.get("activationStatus") or "") if managed_hsm else "",
        activation_message=str(domain.get("activationStatusMessage") or "")
        if managed_hsm else "")


def list_subscription(client: Any) -> list[VaultProperties]:
    """Every vault and Managed HSM of the client's subscription (every page)."""
    vaults = [vault_properties(r.as_dict(), False) for r in client.vaults.list_by_subscription()]
    hsms = [vault_properties(r.as_dict(), True)
            for r in client.managed_hsms.list_by_subscription()]
    return vaults + hsms


def _actions(permissions: Iterable[str]) -> tuple[Action, ...]:
    lowered = {permission.lower() for permission in permissions}
    if "all" in lowered:
        return tuple(sorted(set(KEY_PERMISSIONS.values())))
    return tuple(sorted({KEY_PERMISSIONS[p] for p in lowered if p in KEY_PERMISSIONS}))


def access_grants(vault: VaultProperties, allowed_tenants: Iterable[str]) -> tuple[Grant, ...]:
    """The vault's access policies as normalised grants (key permissions only). A principal
    of a tenant other than the vault's and the allowed ones is outside; an entry bound to
    one application (compound identity) is restricted."""
    trusted = {vault.tenant_id.lower(), *(t.lower() for t in allowed_tenants)}
    grants = []
    for number, entry in enumerate(vault.access_policies):
        permissions = (entry.get("permissions") or {}).get("keys") or ()
        actions = _actions(permissions)
        if not actions:
            continue
        tenant = str(entry.get("tenantId", "")).lower()
        grants.append(Grant(
            principal=str(entry.get("objectId", "?")), kind=PrincipalKind.UNKNOWN,
            actions=actions, source="access-policy", outside=tenant not in trusted,
            restricted=bool(entry.get("applicationId")),
            ref=f"access policy {number} (tenant {tenant or '?'})"))
    return tuple(grants)


# -- Azure RBAC: role assignments (Microsoft.Authorization 2022-04-01) ---------------------------

#: The ``Microsoft.Authorization`` version role assignments and definitions are read with.
AUTHORIZATION_API_VERSION = "2022-04-01"

_KEY_ADMIN = (Action.USE, Action.MANAGE, Action.EXPORT, Action.DELETE)
#: Built-in role definitions (by their fixed name, a GUID) and what they allow on a vault's
#: keys, from the roles' documented actions and data actions. Key Vault Crypto User holds
#: ``keys/update`` and ``keys/backup`` beside the cryptographic operations, so it manages
#: and exports as well as uses (as the access-policy permissions ``update`` and ``backup``
#: do); Crypto Service Encryption User only wraps and unwraps. Roles that may write role
#: assignments can give anyone (themselves included) any access: ``grant``. A role not
#: listed here is read from its definition (:func:`definition_actions`).
BUILTIN_ROLES: Mapping[str, tuple[str, tuple[Action, ...]]] = {
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": ("Key Vault Administrator", _KEY_ADMIN),
    "14b46e9e-c2b7-41b4-b07b-48a6ebf60603": ("Key Vault Crypto Officer", _KEY_ADMIN),
    "12338af0-0e69-4776-bea7-57ae8d297424": ("Key Vault Crypto User",
                                             (Action.USE, Action.MANAGE, Action.EXPORT)),
    "e147488a-f6f5-4113-8e2d-b22465e65bf6": ("Key Vault Crypto Service Encryption User",
                                             (Action.USE,)),
    "08bbd89e-9f13-4fb5-ae0d-1dc4b1ce8e5a": ("Key Vault Crypto Service Release User",
                                             (Action.EXPORT,)),
    "21090545-7ca7-4776-b22c-e363652d74d2": ("Key Vault Reader", ()),
    "8b54135c-b56d-4d72-a534-26097cfdc8d8": ("Key Vault Data Access Administrator",
                                             (Action.GRANT,)),
    "f25e0fa2-a7c8-4377-a976-54943a77a395": ("Key Vault Contributor",
                                             (Action.MANAGE, Action.DELETE)),
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": ("Owner", (Action.MANAGE, Action.DELETE,
                                                       Action.GRANT)),
    "b24988ac-6180-42a0-ab88-20f7324af25c": ("Contributor", (Action.MANAGE, Action.DELETE)),
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": ("Reader", ()),
    "18d68eab-b5ea-4c3d-a3e2-0d4d03b9d84e": ("User Access Administrator", (Action.GRANT,)),
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": ("Role Based Access Control Administrator",
                                             (Action.GRANT,)),
}

#: Representative operations of each action, matched against a role definition's
#: (data) action patterns: a role allows the action if it allows any of them.
DATA_OPERATIONS: Mapping[Action, tuple[str, ...]] = {
    Action.USE: tuple(f"microsoft.keyvault/vaults/keys/{op}/action"
                      for op in ("encrypt", "decrypt", "wrap", "unwrap", "sign", "verify")),
    Action.MANAGE: ("microsoft.keyvault/vaults/keys/write",
                    "microsoft.keyvault/vaults/keys/update/action",
                    "microsoft.keyvault/vaults/keys/create/action",
                    "microsoft.keyvault/vaults/keys/import/action",
                    "microsoft.keyvault/vaults/keys/rotate/action",
                    "microsoft.keyvault/vaults/keyrotationpolicies/write"),
    Action.EXPORT: ("microsoft.keyvault/vaults/keys/backup/action",
                    "microsoft.keyvault/vaults/keys/release/action"),
    Action.DELETE: ("microsoft.keyvault/vaults/keys/delete",
                    "microsoft.keyvault/vaults/deletedkeys/delete"),
}
CONTROL_OPERATIONS: Mapping[Action, tuple[str, ...]] = {
    Action.MANAGE: ("microsoft.keyvault/vaults/write",),
    Action.DELETE: ("microsoft.keyvault/vaults/delete",),
    Action.GRANT: ("microsoft.authorization/roleassignments/write",),
}
#: Role assignment principal types as the shared principal kinds. A service principal is
#: an application's identity, judged like a role; a foreign group is another tenant's.
PRINCIPAL_KINDS: Mapping[str, PrincipalKind] = {
    "user": PrincipalKind.USER, "group": PrincipalKind.GROUP,
    "foreigngroup": PrincipalKind.GROUP, "serviceprincipal": PrincipalKind.ROLE}


def role_guid(role_definition_id: str) -> str:
    """The GUID that ends a role definition id (``/subscriptions/.../roleDefinitions/G``)."""
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def _allowed(operations: Iterable[str], allowed: Iterable[str], denied: Iterable[str]) -> bool:
    allow = [pattern.lower() for pattern in allowed]
    deny = [pattern.lower() for pattern in denied]
    return any(any(fnmatch.fnmatchcase(op, p) for p in allow)
               and not any(fnmatch.fnmatchcase(op, p) for p in deny) for op in operations)


def definition_actions(definition: Mapping[str, Any],
                       data: Mapping[Action, tuple[str, ...]] = DATA_OPERATIONS,
                       control: Mapping[Action, tuple[str, ...]] = CONTROL_OPERATIONS,
                       ) -> tuple[Action, ...]:
    """What a role definition (``Microsoft.Authorization/roleDefinitions``) allows on keys,
    from the union of its permission blocks; ``data`` and ``control``: the representative
    operations of each action (a vault's by default; a Managed HSM's are data actions only)."""
    found: set[Action] = set()
    for block in (definition.get("properties") or {}).get("permissions") or ():
        for table, allow, deny in ((data, "dataActions", "notDataActions"),
                                   (control, "actions", "notActions")):
            found |= {action for action, operations in table.items()
                      if _allowed(operations, block.get(allow) or (), block.get(deny) or ())}
    return tuple(sorted(found))


def scope_covers(scope: str, vault_id: str, key_name: str) -> bool:
    """Whether an assignment at ``scope`` reaches the key: the scope is the vault, a scope
    above it (resource group, subscription, management group, ``/``) or the key itself."""
    scope, vault_id = scope.rstrip("/").lower(), vault_id.rstrip("/").lower()
    return (vault_id == scope or vault_id.startswith(scope + "/")
            or scope == f"{vault_id}/keys/{key_name.lower()}")


def role_grants(vault: VaultProperties, assignments: Iterable[Mapping[str, Any]],
                roles: Mapping[str, tuple[str, tuple[Action, ...]]],
                key_name: str) -> tuple[Grant, ...]:
    """The role assignments reaching one key as normalised grants.

    ``roles`` maps a role definition GUID to (name, actions): the built-in roles and the
    definitions read. An assignment with a condition is restricted; a foreign group (a
    group of another tenant) or a principal of a type that cannot be told is outside."""
    grants = []
    for assignment in assignments:
        properties = assignment.get("properties") or {}
        scope = str(properties.get("scope", ""))
        if not scope_covers(scope, vault.resource_id, key_name):
            continue
        name, actions = roles[role_guid(str(properties.get("roleDefinitionId", "")))]
        if not actions:
            continue
        principal_type = str(properties.get("principalType") or "")
        kind = PRINCIPAL_KINDS.get(principal_type.lower(), PrincipalKind.UNKNOWN)
        outside = kind is PrincipalKind.UNKNOWN or principal_type.lower() == "foreigngroup"
        grants.append(Grant(
            principal=str(properties.get("principalId", "?")), kind=kind, actions=actions,
            source="rbac", outside=outside, restricted=bool(properties.get("condition")),
            ref=f"{name} at {scope or '?'} ({principal_type or 'unknown type'})"))
    return tuple(grants)


def subscription_of(resource_id: str) -> str:
    """The subscription a resource id names (``/subscriptions/S/...``), or ''."""
    parts = resource_id.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0].lower() == "subscriptions" else ""


def arm_get(client: Any, path: str, api_version: str) -> dict[str, Any]:
    """One ARM resource or page by path (or absolute ``nextLink``), through the management
    client's pipeline (its credential, transport, retries); an error answer raises
    ``HttpResponseError`` with ARM's code and message."""
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.exceptions import ARMErrorFormat

    url = path if "api-version=" in path else f"{path}?api-version={api_version}"
    response = client.send_request(HttpRequest("GET", url))
    if response.status_code != 200:
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)
    body = response.json()
    return body if isinstance(body, dict) else {}


def arm_list(client: Any, path: str, api_version: str) -> list[dict[str, Any]]:
    """Every item of an ARM listing, following ``nextLink``."""
    items: list[dict[str, Any]] = []
    page: str | None = path
    while page:
        body = arm_get(client, page, api_version)
        items += [item for item in body.get("value") or () if isinstance(item, dict)]
        page = body.get("nextLink")
    return items


def role_assignments(client: Any, vault: VaultProperties) -> list[dict[str, Any]]:
    """The role assignments at, above and below the vault's scope (no ``$filter``: the
    key-scoped assignments below the vault are wanted too)."""
    path = f"{vault.resource_id}/providers/Microsoft.Authorization/roleAssignments"
    return arm_list(client, path, AUTHORIZATION_API_VERSION)


def role_definition(client: Any, role_definition_id: str) -> tuple[str, tuple[Action, ...]]:
    """(name, actions on keys) of a role not among :data:`BUILTIN_ROLES`."""
    definition = arm_get(client, role_definition_id, AUTHORIZATION_API_VERSION)
    name = str((definition.get("properties") or {}).get("roleName")
               or role_guid(role_definition_id))
    return name, definition_actions(definition)


# -- Diagnostic logging (Microsoft.Insights 2021-05-01-preview) ----------------------------------

#: The ``Microsoft.Insights`` version diagnostic settings are read with.
INSIGHTS_API_VERSION = "2021-05-01-preview"
#: A log entry records every key operation when it is the category ``AuditEvent`` or a
#: category group that contains it.
AUDIT_CATEGORIES = frozenset({"auditevent"})
AUDIT_CATEGORY_GROUPS = frozenset({"audit", "alllogs"})
DESTINATIONS = ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId",
                "marketplacePartnerId", "serviceBusRuleId")


def diagnostic_settings(client: Any, vault: VaultProperties) -> list[dict[str, Any]]:
    """The diagnostic settings of one vault or Managed HSM (Azure Monitor)."""
    path = f"{vault.resource_id}/providers/Microsoft.Insights/diagnosticSettings"
    return arm_list(client, path, INSIGHTS_API_VERSION)


def audit_logging(settings: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Whether any setting sends audit logs (``AuditEvent``, or the category group
    ``audit`` or ``allLogs``, enabled) to a destination; names the settings that do."""
    logging, count = [], 0
    for setting in settings:
        count += 1
        properties = setting.get("properties") or {}
        destinations = [name for name in DESTINATIONS if properties.get(name)]
        audited = any(
            entry.get("enabled") and (
                str(entry.get("category") or "").lower() in AUDIT_CATEGORIES
                or str(entry.get("categoryGroup") or "").lower() in AUDIT_CATEGORY_GROUPS)
            for entry in properties.get("logs") or ())
        if audited and destinations:
            logging.append(f"{setting.get('name', '?')} ({', '.join(destinations)})")
    return {"audit_logged": bool(logging), "audit_settings": sorted(logging), "settings": count}
