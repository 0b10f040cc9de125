"""Credentials and SDK clients of one ``azure-keyvault`` system.

The Azure SDK is imported here, inside functions, so importing the provider costs nothing
when no ``azure-keyvault`` system is configured. Every client of a system shares one
requests session whose answers are bounded (:mod:`...transport`) and count as progress,
and one request budget per vault (:mod:`...budget`).
"""

from __future__ import annotations

import os
import time
from typing import Any

from ...budget import BUDGETS, SystemCutOff, SystemWatch
from ...transport import Limits, RequestLimitExceeded, limited_adapter
from .options import AzureKeyVaultOptions

#: The service's published budget for reads of keys, about 4,000 per 10 s per vault.
READS_PER_SECOND = 400.0
READ = "keyvault:read"
#: The ``Microsoft.KeyVault`` resource-provider version the vault resources are read with.
ARM_API_VERSION = "2023-07-01"


class CredentialError(Exception):
    """The configured credential cannot be built (a variable not set, say)."""


class AccessTokenCredential:
    """A bearer token handed in through an environment variable (a pipeline that already
    signed in, or a test server); valid for as long as the token itself."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self._token, int(time.time()) + 3600)


def _environment(name: str, purpose: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise CredentialError(f"{purpose}: environment variable {name} is not set")
    return value


def credential(options: AzureKeyVaultOptions) -> Any:
    """The credential ``options.credential`` names."""
    import azure.identity as identity

    authority = {"authority": options.authority} if options.authority else {}
    kind = options.credential
    if kind == "access-token":
        return AccessTokenCredential(_environment(options.access_token_env, "access-token"))
    if kind == "client-secret":
        secret = _environment(options.client_secret_env, "client-secret")
        return identity.ClientSecretCredential(options.tenant_id or "", options.client_id or "",
                                               secret, **authority)
    if kind == "managed-identity":
        return identity.ManagedIdentityCredential(client_id=options.client_id)
    if kind == "workload-identity":
        named = {name: value for name, value in (("tenant_id", options.tenant_id),
                                                 ("client_id", options.client_id)) if value}
        return identity.WorkloadIdentityCredential(**named, **authority)
    return identity.DefaultAzureCredential(**authority)


def budget_policy(vault_url: str, options: AzureKeyVaultOptions) -> Any:
    """A pipeline policy that takes a token of the vault's request budget per try."""
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    limiter = (BUDGETS.limiter(vault_url, READ, {READ: READS_PER_SECOND},
                               options.request_budget_fraction)
               if options.request_budgets else None)

    class RequestBudget(SansIOHTTPPolicy):  # type: ignore[type-arg]
        def on_request(self, request: Any) -> None:
            if limiter is not None:
                limiter.acquire()

    return RequestBudget()


class Clients:
    """The key and certificate clients of each vault, made once and shared by the workers
    (the SDK's clients are safe to share between threads)."""

    def __init__(self, options: AzureKeyVaultOptions, watch: SystemWatch) -> None:
        import requests
        from azure.core.pipeline.transport import RequestsTransport

        self.options = options
        self.credential = credential(options)
        session = requests.Session()
        adapter = limited_adapter(Limits.of(options, watch), max_retries=0,
                                  pool_connections=4, pool_maxsize=options.max_workers)
        session.mount("https://", adapter)
        verify: Any = options.ca_file or True
        self.transport = RequestsTransport(session=session, session_owner=False,
                                           connection_verify=verify,
                                           read_timeout=options.request_timeout)
        self._keys: dict[str, Any] = {}
        self._certificates: dict[str, Any] = {}

    def arm(self, subscription: str) -> Any:
        """A management client of one subscription (made per call: listings are few)."""
        from azure.mgmt.keyvault import KeyVaultManagementClient

        endpoint = self.options.arm_endpoint.rstrip("/")
        return KeyVaultManagementClient(
            self.credential, subscription, base_url=endpoint,
            credential_scopes=[f"{endpoint}/.default"], transport=self.transport,
            api_version=ARM_API_VERSION, retry_total=self.options.max_retries)

    def _common(self, vault_url: str) -> dict[str, Any]:
        return {"transport": self.transport, "api_version": self.options.api_version,
                "retry_total": self.options.max_retries,
                "verify_challenge_resource": self.options.verify_challenge_resource,
                "per_retry_policies": [budget_policy(vault_url, self.options)]}

    def keys(self, vault_url: str) -> Any:
        from azure.keyvault.keys import KeyClient

        if vault_url not in self._keys:
            self._keys[vault_url] = KeyClient(vault_url, self.credential,
                                              **self._common(vault_url))
        return self._keys[vault_url]

    def access_control(self, vault_url: str) -> Any:
        """The role assignments and definitions of a Managed HSM (its local RBAC); made
        once per pool, as each pool's RBAC is read once."""
        from azure.keyvault.administration import KeyVaultAccessControlClient

        return KeyVaultAccessControlClient(vault_url, self.credential,
                                           **self._common(vault_url))

    def certificates(self, vault_url: str) -> Any:
        from azure.keyvault.certificates import CertificateClient

        if vault_url not in self._certificates:
            self._certificates[vault_url] = CertificateClient(vault_url, self.credential,
                                                              **self._common(vault_url))
        return self._certificates[vault_url]


GRAPH = "https://graph.microsoft.com"


def member_objects(clients: Clients, object_id: str) -> list[str]:
    """The ids of every group, directory role and administrative unit the object belongs
    to, directly or through other groups (Microsoft Graph ``getMemberObjects``)."""
    from azure.core import PipelineClient
    from azure.core.exceptions import DecodeError
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
    from azure.core.rest import HttpRequest

    graph = (clients.options.graph_endpoint or GRAPH).rstrip("/")
    policies = [RetryPolicy(retry_total=clients.options.max_retries),
                BearerTokenCredentialPolicy(clients.credential, f"{graph}/.default")]
    client: PipelineClient[Any, Any] = PipelineClient(base_url=graph,
                                                      transport=clients.transport,
                                                      policies=policies)
    request = HttpRequest("POST", f"{graph}/v1.0/directoryObjects/{object_id}/getMemberObjects",
                          json={"securityEnabledOnly": False})
    response = client.send_request(request)
    response.raise_for_status()
    try:
        values = response.json().get("value")
    except (ValueError, AttributeError) as exc:
        raise DecodeError(f"getMemberObjects answered no JSON object: {exc}") from exc
    if not isinstance(values, list):
        raise DecodeError("getMemberObjects answered no value list")
    return [str(value) for value in values]


def api_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean "the vault did not answer" (denied, throttled past the
    retries, unreachable, too slow, cut off)."""
    from azure.core.exceptions import AzureError

    return (AzureError, RequestLimitExceeded, SystemCutOff, CredentialError)


def describe(exc: Exception) -> str:
    """A one-line reason: the service's error code and message, never a token."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    status = getattr(exc, "status_code", None)
    message = getattr(error, "message", None) or str(exc).splitlines()[0] if str(exc) else ""
    prefix = " ".join(str(part) for part in (status, code) if part)
    return f"{prefix or type(exc).__name__}: {message}".strip()
