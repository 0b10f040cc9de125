"""Vault properties from Azure Resource Manager (``azure-mgmt-keyvault``): which vaults and
Managed HSMs a subscription holds, their recoverability, authorisation model, access
policies and network exposure.

The resources are read as the REST API names their fields (``as_dict()``), so the facts
follow the documented ``Microsoft.KeyVault`` shapes whatever the SDK's model classes do.
"""

from __future__ import annotations

import dataclasses
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
                "access_policies": len(self.access_policies)}


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
        access_policies=tuple(properties.get("accessPolicies") or ()))


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
