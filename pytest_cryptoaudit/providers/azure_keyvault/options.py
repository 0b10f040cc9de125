"""Configuration of an ``azure-keyvault`` system and the policy settings its controls use.

Nothing here imports the Azure SDK: the options validate (and the policy settings load)
where the ``[azure]`` extra is not installed.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic

from ...budget import LimitOptions
from ...policy import PolicySetting, tiered
from .. import ProviderOptions

VaultUrl = Annotated[str, pydantic.StringConstraints(pattern=r"^https://[^/?#\s]+/?$")]
SubscriptionId = Annotated[str, pydantic.StringConstraints(
    pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
EnvName = Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Credential = Literal["default", "client-secret", "managed-identity", "workload-identity",
                     "access-token"]


class AzureKeyVaultOptions(ProviderOptions, LimitOptions):
    """Options of ``provider = "azure-keyvault"`` (see docs/azure-keyvault.md)."""

    #: The vaults (``https://NAME.vault.azure.net``) and Managed HSMs
    #: (``https://NAME.managedhsm.azure.net``) to audit.
    vault_urls: list[VaultUrl] = []
    #: Subscriptions whose every vault and Managed HSM is audited; their properties (soft
    #: delete, purge protection, RBAC or access policies, network) are read through ARM,
    #: also for the listed ``vault_urls`` they hold.
    subscriptions: list[SubscriptionId] = []
    #: Azure Resource Manager, for sovereign clouds or a test server.
    arm_endpoint: VaultUrl = "https://management.azure.com"
    #: Microsoft Graph, for sovereign clouds or a test server (None: graph.microsoft.com).
    graph_endpoint: VaultUrl | None = None
    #: Read the auditing identity's group memberships (Microsoft Graph getMemberObjects)
    #: for CEK-09 ``auditor-independent``; off: roles given to its groups are not seen.
    auditor_groups: bool = True
    #: Tenants whose principals may appear in access policies, besides the vault's own.
    allowed_tenants: list[str] = []
    #: How to sign in: DefaultAzureCredential, or one named credential type.
    credential: Credential = "default"
    tenant_id: str | None = None
    client_id: str | None = None
    #: The variable holding the client secret (never the secret itself in config).
    client_secret_env: EnvName = "AZURE_CLIENT_SECRET"
    #: The variable holding a bearer token for ``credential = "access-token"``.
    access_token_env: EnvName = "AZURE_ACCESS_TOKEN"
    #: The Entra ID host of a sovereign cloud (``login.microsoftonline.us``); None: public.
    authority: str | None = None
    #: CA bundle (PEM) that verifies the vaults' TLS certificates (a private endpoint or a
    #: test server); None: the system's trust store.
    ca_file: str | None = None
    #: Check that the token audience the vault asks for belongs to the vault's domain (keep
    #: on for Azure; off only for a test server on a loopback address).
    verify_challenge_resource: bool = True
    #: The data-plane API version the reads are made with.
    api_version: Literal["7.4", "7.5", "7.6"] = "7.5"
    max_workers: Annotated[int, pydantic.Field(ge=1, le=64)] = 8
    #: Retries per call (throttling answers are retried after their Retry-After).
    max_retries: Annotated[int, pydantic.Field(ge=0, le=20)] = 5
    include_certificates: bool = True
    #: Keys deleted but recoverable (soft delete) are audited as pending deletion.
    include_deleted: bool = True
    #: Share of each vault's published read budget (4,000 per 10 s) the audit may use;
    #: applications share the budget, so the default leaves them half.
    request_budget_fraction: Annotated[float, pydantic.Field(gt=0, le=1)] = 0.5
    #: Whether the request budgets apply; benchmarks against a local server turn them off.
    request_budgets: bool = True

    @pydantic.model_validator(mode="after")
    def _named_credential_complete(self) -> AzureKeyVaultOptions:
        if not (self.vault_urls or self.subscriptions):
            raise ValueError("name vault_urls, subscriptions, or both")
        if self.credential == "client-secret" and not (self.tenant_id and self.client_id):
            raise ValueError('credential = "client-secret" needs tenant_id and client_id')
        return self


#: Recovery levels with purge protection: a deleted key cannot be purged before its
#: retention ends (the ``+Purgeable`` levels can be).
PURGE_PROTECTED = ("Recoverable", "Recoverable+ProtectedSubscription", "CustomizedRecoverable",
                   "CustomizedRecoverable+ProtectedSubscription")

POLICY_SETTINGS: tuple[PolicySetting, ...] = (
    PolicySetting(
        "azure_keyvault_expiry_required", tiered(False, True, True, True),
        "Whether every Key Vault key must carry an expiry date.",
        "CIS Microsoft Azure Foundations 8.1/8.2; NIST SP 800-57 Part 1 Rev 5, 5.3"),
    PolicySetting(
        "azure_keyvault_purge_protection_required", tiered(False, True, True, True),
        "Whether keys must be protected from purge (soft delete with purge protection); "
        "soft delete alone is required at every tier.",
        "CIS Microsoft Azure Foundations 8.5; CSA CCM v4 CEK-14"),
    PolicySetting(
        "azure_keyvault_min_retention_days", tiered(7, 7, 30, 90),
        "Fewest days a deleted key stays recoverable (soft-delete retention).",
        "CSA CCM v4 CEK-14"),
    PolicySetting(
        "azure_keyvault_rbac_required", tiered(False, True, True, True),
        "Whether vaults must authorise with Azure RBAC rather than access policies.",
        "CIS Microsoft Azure Foundations 8.6; Microsoft cloud security benchmark PA-7"),
    PolicySetting(
        "azure_keyvault_private_network_required", tiered(False, False, True, True),
        "Whether vaults must be closed to the internet (public access disabled, or only "
        "listed networks) or reached through a private endpoint.",
        "CIS Microsoft Azure Foundations 8.7; Microsoft cloud security benchmark NS-2"),
)
