"""HashiCorp Vault and OpenBao: transit keys, PKI issuers and roles, and server facts.

Configure one system per server::

    [[systems]]
    name = "vault-prod"
    provider = "vault"
    risk_tier = "high"
    ssrm_owner = "CSC"
    url = "https://vault.example.internal:8200"
    token_env = "VAULT_TOKEN"          # or token_file = "secrets/audit-token"
    mounts = ["transit", "pki"]        # default: every transit and pki mount

The token needs read access only (see ``docs/vault.md`` for a policy). It is read from the
environment or a file and never stored, logged or shown; the evidence names the token's
display name, policies and accessor instead.
"""

from __future__ import annotations

from typing import Any

import pydantic

from ...budget import LimitOptions
from .. import Discovery, DiscoveryContext, Provider, ProviderOptions
from .settings import VAULT_SETTINGS

#: Fact -> the reads that fill it, for the reads made only when a selected control needs it.
FETCHES = {
    "audit_devices": ("GET sys/audit",),
    "acl_policies": ("LIST sys/policies/acl", "GET sys/policies/acl/NAME"),
    "auditor_admin_rights": ("LIST sys/policies/acl", "GET sys/policies/acl/NAME"),
    "managed.access": ("LIST sys/policies/acl", "GET sys/policies/acl/NAME"),
    "managed.access_holders": (
        "LIST sys/policies/acl", "GET sys/policies/acl/NAME", "LIST identity/entity/id",
        "GET identity/entity/id/ID", "LIST identity/group/id", "GET identity/group/id/ID",
        "GET sys/auth", "LIST auth/MOUNT/{role,users,certs,groups}",
        "GET auth/MOUNT/{role,users,certs,groups}/NAME",
        # only with token_holders = true (LIST needs sudo)
        "LIST auth/token/accessors", "POST auth/token/lookup-accessor"),
    "pki_roles": ("GET sys/mounts/MOUNT/tune", "LIST MOUNT/roles", "GET MOUNT/roles/NAME"),
}


class VaultOptions(ProviderOptions, LimitOptions):
    """Options of a ``provider = "vault"`` system."""

    url: str
    token_env: str = "VAULT_TOKEN"
    token_file: str | None = None
    namespace: str | None = None
    mounts: list[str] | None = pydantic.Field(default=None, min_length=1)
    ca_cert: str | None = None
    verify: bool = True
    timeout: float = pydantic.Field(default=10.0, gt=0)
    max_workers: int = pydantic.Field(default=8, ge=1, le=64)
    retries: int = pydantic.Field(default=2, ge=0, le=10)
    admin_policies: list[str] = ["root"]
    #: Read the tokens created directly with policies (``auth/token/create``) as holders
    #: of those policies: a LIST of ``auth/token/accessors`` (it needs ``sudo``) and one
    #: lookup per live token, so opt-in.
    token_holders: bool = False

    @pydantic.field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return url.rstrip("/")


class VaultProvider(Provider):
    """Audits one Vault-API server (HashiCorp Vault or OpenBao) through hvac, read-only."""

    name = "vault"
    component = "secrets-engine"
    Options = VaultOptions
    policy_settings = VAULT_SETTINGS
    fetches = FETCHES

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        from .discovery import VaultDiscovery

        options: VaultOptions = system.options
        attempt = self.new_discovery(system, url=options.url, namespace=options.namespace)
        return VaultDiscovery(attempt, system, context).run()
