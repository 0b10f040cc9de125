"""A loopback stand-in for the Azure Key Vault data plane (REST API 7.4 to 7.6).

Not Azure's service: a small HTTPS server that answers the documented read operations of
the data plane with the documented shapes, so the provider is driven through the official
SDK (``azure-keyvault-keys``, ``azure-keyvault-certificates``) without patching it:

* keys: list (``nextLink`` paging), get (latest or one version), list versions, get the
  rotation policy, list and get deleted keys;
* certificates: list, get (with its policy), get the policy;
* the authentication challenge: a request without a bearer token gets ``401`` with the
  ``WWW-Authenticate: Bearer authorization=..., resource=...`` header the SDK expects; only
  the token the test credential hands out is accepted; the server speaks only TLS, from a
  test CA the client is given (the SDK sends bearer tokens over TLS only);
* Azure Resource Manager, for the vault resources of a subscription: list vaults and
  Managed HSMs (``Microsoft.KeyVault`` 2023-07-01), with their soft delete, purge
  protection, RBAC or access policies, network rules and private endpoints, and a Managed
  HSM's ``provisioningState``, ``statusMessage`` and security domain
  ``activationStatus``; a stand-in can serve as one Managed HSM's data plane (its keys) and
  refuse every data-plane read, as a pool that cannot serve does; the role
  assignments at, above and below a scope and role definitions by id
  (``Microsoft.Authorization`` 2022-04-01); the diagnostic settings of a vault
  (``Microsoft.Insights`` 2021-05-01-preview);
* a Managed HSM's local RBAC, on its data plane: list the role assignments for a scope (at,
  above and below it) and the role definitions (the documented built-in roles of a pool and
  any custom ones), as ``azure-keyvault-administration`` reads them;
* Microsoft Graph ``getMemberObjects`` (``POST /v1.0/directoryObjects/{id}/
  getMemberObjects``): the groups a directory object belongs to, as planted;
* throttling: past ``requests_per_window`` requests in ``window_seconds`` it answers ``429``
  with ``Retry-After``, as the service does past its per-vault request budget.

Key material is never generated: public JWK fields are random bytes of the right length.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import json
import os
import re
import secrets
import ssl
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .keygen import cert_pem, ec_key, private_pem, write
from .processes import LOOPBACK
from .tls_pki import LeafSpec, issue_ca, issue_leaf

API_VERSIONS = ("7.4", "7.5", "7.6")
#: Versions of the Microsoft.KeyVault resource provider (ARM) the stand-in answers.
ARM_API_VERSIONS = ("2023-07-01", "2024-11-01")
#: Versions of Microsoft.Authorization the stand-in answers.
AUTHORIZATION_API_VERSIONS = ("2022-04-01",)
ROLE_ASSIGNMENTS = "/providers/microsoft.authorization/roleassignments"
#: Versions of Microsoft.Insights (Azure Monitor) the stand-in answers.
INSIGHTS_API_VERSIONS = ("2021-05-01-preview",)
DIAGNOSTIC_SETTINGS = "/providers/microsoft.insights/diagnosticsettings"
ROLE_DEFINITIONS = "/providers/microsoft.authorization/roledefinitions/"
#: A Managed HSM's own role assignments and definitions (its data plane; lower case).
HSM_AUTHORIZATION = "/providers/microsoft.authorization/"
HSM_ROLE_PREFIX = "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/"
_HSM = "Microsoft.KeyVault/managedHsm/"
_KEY_USE = [f"{_HSM}keys/{op}/action" for op in ("encrypt", "decrypt", "wrap", "unwrap", "sign",
                                                  "verify")]
#: The built-in roles of a pool's local RBAC (name, GUID, data actions), after Azure's
#: published list of the roles and the operations each permits.
HSM_BUILTIN_ROLES: tuple[tuple[str, str, list[str]], ...] = (
    ("Managed HSM Administrator", "a290e904-7015-4bba-90c8-60543313cdb4",
     [f"{_HSM}securitydomain/*", f"{_HSM}backup/*", f"{_HSM}restore/*",
      f"{_HSM}roleAssignments/*", f"{_HSM}roleDefinitions/*"]),
    ("Managed HSM Crypto Officer", "515eb02d-2335-4d2d-92f2-b1cbdf9c3778",
     [f"{_HSM}roleAssignments/*", f"{_HSM}roleDefinitions/*", f"{_HSM}keys/read/action",
      f"{_HSM}keys/deletedKeys/read/action", f"{_HSM}keys/deletedKeys/delete",
      f"{_HSM}keys/deletedKeys/recover/action", f"{_HSM}keys/export/action"]),
    ("Managed HSM Crypto User", "21dbd100-6940-42c2-9190-5d6cb909625b",
     [*_KEY_USE, f"{_HSM}keys/read/action", f"{_HSM}keys/write/action", f"{_HSM}keys/create",
      f"{_HSM}keys/delete", f"{_HSM}keys/import/action", f"{_HSM}keys/backup/action",
      f"{_HSM}keys/restore/action", f"{_HSM}keys/release/action",
      f"{_HSM}keys/deletedKeys/read/action", f"{_HSM}rng/action"]),
    ("Managed HSM Policy Administrator", "4bd23610-cdcf-4971-bdee-bdc562cc28e4",
     [f"{_HSM}roleAssignments/*", f"{_HSM}roleDefinitions/read/action"]),
    ("Managed HSM Crypto Auditor", "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3",
     [f"{_HSM}keys/read/action", f"{_HSM}keys/deletedKeys/read/action"]),
    ("Managed HSM Crypto Service Encryption User", "33413926-3206-4cdd-b39a-83574fe37a17",
     [f"{_HSM}keys/read/action", f"{_HSM}keys/wrap/action", f"{_HSM}keys/unwrap/action"]),
    ("Managed HSM Crypto Service Release User", "21dbd100-6940-42c2-9190-5d6cb909625c",
     [f"{_HSM}keys/read/action", f"{_HSM}keys/release/action"]),
    ("Managed HSM Backup", "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8",
     [f"{_HSM}backup/start/action", f"{_HSM}backup/status/action",
      f"{_HSM}keys/backup/action"]),
    ("Managed HSM Restore", "6efe6056-5259-49d2-8b3d-d3d73544b20b",
     [f"{_HSM}restore/start/action", f"{_HSM}restore/status/action",
      f"{_HSM}keys/restore/action"]),
)
TENANT = "11111111-2222-3333-4444-555555555555"
#: The object id of the identity the stand-in's token signs in as (the auditor).
AUDITOR_OID = "a0d1a0d1-1111-2222-3333-444444444444"


def _unsigned_jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'typ': 'JWT', 'alg': 'none'})}.{part(claims)}.standin-signature"


#: The only bearer token the stand-in accepts (handed out by the test credential): shaped
#: as Entra ID's, with the claims the audit reads (never signed: only this server checks it).
TOKEN = _unsigned_jwt({"oid": AUDITOR_OID, "tid": TENANT, "upn": "auditor@contoso.example",
                       "aud": "https://vault.azure.net"})
CHALLENGE = (f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", '
             'resource="https://vault.azure.net"')
CURVES = {"P-256": 32, "P-384": 48, "P-521": 66, "P-256K": 32}
#: The default policy a key without one reports: notify 30 days before expiry, never rotate.
DEFAULT_POLICY_ACTIONS = [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


@dataclasses.dataclass
class StoredKey:
    """One key of the stand-in: its versions (oldest first), policy and deletion."""

    name: str
    kty: str
    size: int | None = None
    curve: str | None = None
    key_ops: tuple[str, ...] = ("sign", "verify")
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Version -> creation time, oldest first; the last one is the current version.
    versions: dict[str, datetime] = dataclasses.field(default_factory=dict)
    enabled: bool = True
    not_before: datetime | None = None
    expires: datetime | None = None
    recovery_level: str = "Recoverable"
    recoverable_days: int | None = 90
    rotation_policy: dict[str, Any] | None = None
    managed: bool = False
    deleted: datetime | None = None
    purge_date: datetime | None = None
    #: Answer 403 to reads of this key (a key the caller may list but not read).
    forbidden: bool = False


@dataclasses.dataclass
class StoredCertificate:
    """One certificate: its DER, policy and attributes (the key lives among the keys)."""

    name: str
    der: bytes
    policy: dict[str, Any]
    created: datetime
    enabled: bool = True
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    version: str = dataclasses.field(default_factory=lambda: secrets.token_hex(16))


class StandInVault:
    """The state of one vault, and the documented JSON for each of its objects."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.keys: dict[str, StoredKey] = {}
        self.certificates: dict[str, StoredCertificate] = {}

    def add_key(self, key: StoredKey) -> StoredKey:
        if not key.versions:
            key.versions = {secrets.token_hex(16): datetime.now(UTC)}
        self.keys[key.name] = key
        return key

    def kid(self, key: StoredKey, version: str | None = None) -> str:
        base = f"{self.url}/keys/{key.name}"
        return f"{base}/{version}" if version else base

    def attributes(self, key: StoredKey, version: str) -> dict[str, Any]:
        created = epoch(key.versions[version])
        found = {"enabled": key.enabled, "nbf": epoch(key.not_before),
                 "exp": epoch(key.expires), "created": created, "updated": created,
                 "recoveryLevel": key.recovery_level, "recoverableDays": key.recoverable_days}
        return {name: value for name, value in found.items() if value is not None}

    def key_item(self, key: StoredKey, version: str | None = None) -> dict[str, Any]:
        current = version or list(key.versions)[-1]
        item: dict[str, Any] = {"kid": self.kid(key, version),
                                "attributes": self.attributes(key, current), "tags": key.tags}
        if key.managed:
            item["managed"] = True
        if key.deleted is not None:
            item.update(recoveryId=f"{self.url}/deletedkeys/{key.name}",
                        deletedDate=epoch(key.deleted),
                        scheduledPurgeDate=epoch(key.purge_date))
        return item

    def key_bundle(self, key: StoredKey, version: str | None = None) -> dict[str, Any]:
        current = version or list(key.versions)[-1]
        jwk: dict[str, Any] = {"kid": self.kid(key, current), "kty": key.kty,
                               "key_ops": list(key.key_ops)}
        if key.kty.startswith("RSA"):
            modulus = bytearray(os.urandom((key.size or 2048) // 8))
            modulus[0] |= 0x80
            jwk.update(n=b64url(bytes(modulus)), e=b64url(b"\x01\x00\x01"))
        elif key.kty.startswith("EC"):
            length = CURVES[key.curve or "P-256"]
            jwk.update(crv=key.curve, x=b64url(os.urandom(length)), y=b64url(os.urandom(length)))
        bundle = self.key_item(key, version)
        bundle.pop("kid")
        return {"key": jwk, **bundle}

    def rotation_policy(self, key: StoredKey) -> dict[str, Any]:
        policy = key.rotation_policy or {"lifetimeActions": DEFAULT_POLICY_ACTIONS,
                                         "attributes": {}}
        return {"id": f"{self.kid(key)}/rotationpolicy", **policy}

    def certificate_item(self, cert: StoredCertificate) -> dict[str, Any]:
        return {"id": f"{self.url}/certificates/{cert.name}", "tags": cert.tags,
                "attributes": self.certificate_attributes(cert),
                "x5t": b64url(cert.der[:20])}

    def certificate_attributes(self, cert: StoredCertificate) -> dict[str, Any]:
        from cryptography import x509

        parsed = x509.load_der_x509_certificate(cert.der)
        return {"enabled": cert.enabled, "nbf": epoch(parsed.not_valid_before_utc),
                "exp": epoch(parsed.not_valid_after_utc), "created": epoch(cert.created),
                "updated": epoch(cert.created), "recoveryLevel": "Recoverable",
                "recoverableDays": 90}

    def certificate_policy(self, cert: StoredCertificate) -> dict[str, Any]:
        return {"id": f"{self.url}/certificates/{cert.name}/policy", **cert.policy}

    def certificate_bundle(self, cert: StoredCertificate) -> dict[str, Any]:
        base = f"{self.url}/certificates/{cert.name}/{cert.version}"
        return {"id": base, "kid": f"{self.url}/keys/{cert.name}/{cert.version}",
                "sid": f"{self.url}/secrets/{cert.name}/{cert.version}",
                "x5t": b64url(cert.der[:20]), "cer": base64.b64encode(cert.der).decode(),
                "attributes": self.certificate_attributes(cert), "tags": cert.tags,
                "policy": self.certificate_policy(cert)}


class Throttle:
    """The vault's request budget: ``limit`` requests per ``window`` seconds."""

    def __init__(self, limit: int | None, window: float, retry_after: int) -> None:
        self.limit, self.window, self.retry_after = limit, window, retry_after
        self._times: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        self.refused = 0

    def admit(self) -> bool:
        if self.limit is None:
            return True
        with self._lock:
            now = time.monotonic()
            while self._times and now - self._times[0] > self.window:
                self._times.popleft()
            if len(self._times) >= self.limit:
                self.refused += 1
                return False
            self._times.append(now)
            return True


class KeyVaultStandIn:
    """One stand-in vault served over HTTPS on a free loopback port; use as a context
    manager. ``ca_file`` is the CA the client must trust; ``calls`` counts the requests
    answered per operation (``GetKey``, ``GetKeys`` ...), throttled ones under ``Throttled``.
    """

    def __init__(self, folder: Path, page_size: int = 25, requests_per_window: int | None = None,
                 window_seconds: float = 10.0, retry_after: int = 1) -> None:
        self.folder = folder
        self.page_size = page_size
        self.throttle = Throttle(requests_per_window, window_seconds, retry_after)
        self.calls: collections.Counter[str] = collections.Counter()
        #: ARM resources this server lists, by subscription: ``(type, resource JSON)``
        #: with type ``vaults`` or ``managedHSMs``.
        self.arm: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        #: Role assignments (``Microsoft.Authorization/roleAssignments`` JSON), listed for
        #: any scope they are at, above or below; custom role definitions by full id.
        self.role_assignments: list[dict[str, Any]] = []
        self.role_definitions: dict[str, dict[str, Any]] = {}
        #: Diagnostic settings of each resource, by resource id in lower case.
        self.diagnostic_settings: dict[str, list[dict[str, Any]]] = {}
        #: Scopes (lower case) whose role assignments and diagnostic settings the caller
        #: may not read: 403.
        self.forbidden_scopes: set[str] = set()
        #: (status, error code, message) answered to every data-plane read, for a Managed
        #: HSM pool that cannot serve (None: serve).
        self.data_plane_refusal: tuple[int, str, str] | None = None
        #: A Managed HSM's local RBAC: its role assignments (listed for any scope they are
        #: at, above or below) and role definitions by GUID (the built-in roles to begin
        #: with); ``local_rbac_refusal`` is answered to their reads instead, when set.
        self.hsm_role_assignments: list[dict[str, Any]] = []
        self.hsm_role_definitions: dict[str, dict[str, Any]] = {
            guid: hsm_role_definition(guid, name, actions)
            for name, guid, actions in HSM_BUILTIN_ROLES}
        self.local_rbac_refusal: tuple[int, str, str] | None = None
        #: Microsoft Graph: the groups each directory object belongs to (transitively, as
        #: ``getMemberObjects`` answers), and the refusal answered instead, when set.
        self.member_objects: dict[str, list[str]] = {}
        self.graph_refusal: tuple[int, str, str] | None = None
        self._lock = threading.Lock()
        context = self._tls_context(folder)
        self.server = ThreadingHTTPServer((LOOPBACK, 0), _handler(self))
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://{LOOPBACK}:{self.server.server_address[1]}"
        self.vault = StandInVault(self.url)
        # shutdown() waits for the loop's next look at its flag: every 50 ms, not the
        # default half second that each stand-in's close would cost
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def ca_file(self) -> Path:
        return self.folder / "keyvault-ca.pem"

    def _tls_context(self, folder: Path) -> ssl.SSLContext:
        """A server context from the folder's test CA and loopback leaf, made on first use:
        stand-ins that share a folder share one CA (one ``ca_file`` trusts them all)."""
        leaf_file, key_file = folder / "keyvault-leaf.pem", folder / "keyvault-leaf-key.pem"
        if not (self.ca_file.is_file() and leaf_file.is_file() and key_file.is_file()):
            folder.mkdir(parents=True, exist_ok=True)
            ca_key, leaf_key = ec_key(), ec_key()
            ca = issue_ca("pytest-cryptoaudit Key Vault stand-in CA", ca_key)
            spec = LeafSpec(None, 30, 1, ("digital_signature",), trusted_issuer=True)
            leaf = issue_leaf(spec, leaf_key.public_key(), ca_key, ca)
            write(leaf_file, cert_pem(leaf), mode=0o644)
            write(key_file, private_pem(leaf_key), mode=0o600)
            write(self.ca_file, cert_pem(ca), mode=0o644)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(leaf_file, key_file)
        return context

    def __enter__(self) -> KeyVaultStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def count(self, operation: str) -> None:
        with self._lock:
            self.calls[operation] += 1

    # -- answers ------------------------------------------------------------------------

    def page(self, items: list[dict[str, Any]], path: str,
             query: Mapping[str, list[str]]) -> dict[str, Any]:
        """One page of ``items`` and the ``nextLink`` to the next, as the service pages."""
        size = min(int(query.get("maxresults", [self.page_size])[0]), self.page_size)
        start = int(query.get("$skiptoken", ["0"])[0])
        answer: dict[str, Any] = {"value": items[start:start + size], "nextLink": None}
        if start + size < len(items):
            version = query["api-version"][0]
            answer["nextLink"] = (f"{self.url}{path}?api-version={version}"
                                  f"&$skiptoken={start + size}&maxresults={size}")
        return answer

    def route(self, path: str, query: Mapping[str, list[str]]) -> tuple[int, Any, str]:
        """(status, JSON body, operation) for a GET of ``path``."""
        parts = [part for part in path.split("/") if part]
        if self.data_plane_refusal is not None:
            status, code, message = self.data_plane_refusal
            return status, _error(code, message), "Refused"
        if HSM_AUTHORIZATION in path.lower():
            return self._local_rbac(path, query)
        vault = self.vault
        live = [k for k in vault.keys.values() if k.deleted is None]
        deleted = [k for k in vault.keys.values() if k.deleted is not None]
        if parts == ["keys"]:
            return 200, self.page([vault.key_item(k) for k in live], path, query), "GetKeys"
        if parts == ["deletedkeys"]:
            return (200, self.page([vault.key_item(k) for k in deleted], path, query),
                    "GetDeletedKeys")
        if parts == ["certificates"]:
            items = [vault.certificate_item(c) for c in vault.certificates.values()]
            return 200, self.page(items, path, query), "GetCertificates"
        if len(parts) >= 2 and parts[0] in ("keys", "deletedkeys"):
            return self._key_route(parts, path, query)
        if len(parts) >= 2 and parts[0] == "certificates":
            cert = vault.certificates.get(parts[1])
            if cert is None:
                return 404, _error("CertificateNotFound", f"{parts[1]} not found"), "GetCertificate"
            if parts[2:] == ["policy"]:
                return 200, vault.certificate_policy(cert), "GetCertificatePolicy"
            return 200, vault.certificate_bundle(cert), "GetCertificate"
        return 404, _error("NotFound", f"no operation at {path}"), "Unknown"

    @staticmethod
    def arm_versions(path: str) -> tuple[str, ...]:
        """The API versions of the resource provider a path belongs to."""
        lowered = path.lower()
        if ROLE_ASSIGNMENTS in lowered or ROLE_DEFINITIONS in lowered:
            return AUTHORIZATION_API_VERSIONS
        if DIAGNOSTIC_SETTINGS in lowered:
            return INSIGHTS_API_VERSIONS
        return ARM_API_VERSIONS

    def arm_route(self, path: str, query: Mapping[str, list[str]]) -> tuple[int, Any, str]:
        """``GET /subscriptions/{id}/providers/Microsoft.KeyVault/{vaults|managedHSMs}``,
        ``{scope}/providers/Microsoft.Authorization/roleAssignments`` and
        ``/subscriptions/{id}/providers/Microsoft.Authorization/roleDefinitions/{guid}``."""
        lowered = path.rstrip("/").lower()
        if lowered.endswith(ROLE_ASSIGNMENTS):
            return self._role_assignments(path[:len(lowered) - len(ROLE_ASSIGNMENTS)], query)
        if lowered.endswith(DIAGNOSTIC_SETTINGS):
            resource = lowered[:-len(DIAGNOSTIC_SETTINGS)]
            if resource in self.forbidden_scopes:
                return 403, _error("AuthorizationFailed", "The client does not have "
                                   "authorization to perform action 'microsoft.insights/"
                                   f"diagnosticSettings/read' over scope '{resource}'."), \
                    "DiagnosticSettings_List"
            return (200, {"value": self.diagnostic_settings.get(resource, [])},
                    "DiagnosticSettings_List")
        if ROLE_DEFINITIONS in lowered:
            definition = self.role_definitions.get(lowered)
            if definition is None:
                return 404, _error("RoleDefinitionDoesNotExist", "The specified role "
                                   "definition does not exist."), "RoleDefinitions_GetById"
            return 200, definition, "RoleDefinitions_GetById"
        parts = [part for part in path.split("/") if part]
        if (len(parts) != 5 or parts[2] != "providers" or parts[3] != "Microsoft.KeyVault"
                or parts[4] not in ("vaults", "managedHSMs")):
            return 404, _error("NotFound", f"no operation at {path}"), "Unknown"
        operation = "Vaults_ListBySubscription" if parts[4] == "vaults" else \
            "ManagedHsms_ListBySubscription"
        if parts[1] not in self.arm:
            return 404, _error("SubscriptionNotFound",
                               f"The subscription '{parts[1]}' could not be found."), operation
        items = [item for kind, item in self.arm[parts[1]] if kind == parts[4]]
        return 200, self.page(items, path, query), operation

    def _role_assignments(self, scope: str,
                          query: Mapping[str, list[str]]) -> tuple[int, Any, str]:
        operation = "RoleAssignments_ListForScope"
        scope = scope.rstrip("/").lower()
        if scope in self.forbidden_scopes:
            return 403, _error("AuthorizationFailed", "The client does not have authorization "
                               "to perform action 'Microsoft.Authorization/roleAssignments/"
                               f"read' over scope '{scope}'."), operation
        found = []
        for assignment in self.role_assignments:
            at = str(assignment["properties"]["scope"]).rstrip("/").lower()
            if at == scope or scope.startswith(at + "/") or at.startswith(scope + "/"):
                found.append(assignment)
        path = f"{scope}{ROLE_ASSIGNMENTS}"
        return 200, self.page(found, path, query), operation

    def _local_rbac(self, path: str, query: Mapping[str, list[str]]) -> tuple[int, Any, str]:
        """``{scope}/providers/Microsoft.Authorization/roleAssignments`` and
        ``.../roleDefinitions`` (or one of them, by name) of a Managed HSM's data plane."""
        scope, _, rest = path.lower().partition(HSM_AUTHORIZATION)
        scope = "/" + scope.strip("/")
        kind, _, name = rest.strip("/").partition("/")
        operation = {"roleassignments": "RoleAssignments_ListForScope",
                     "roledefinitions": "RoleDefinitions_Get" if name
                     else "RoleDefinitions_List"}.get(kind, "Unknown")
        if self.local_rbac_refusal is not None:
            status, code, message = self.local_rbac_refusal
            return status, _error(code, message), operation
        if kind == "roleassignments" and not name:
            found = [a for a in self.hsm_role_assignments
                     if _scope_related(a["properties"]["scope"], scope)]
            return 200, self.page(found, path, query), operation
        if kind == "roledefinitions" and not name:
            definitions = list(self.hsm_role_definitions.values())
            return 200, self.page(definitions, path, query), operation
        if kind == "roledefinitions" and name in self.hsm_role_definitions:
            return 200, self.hsm_role_definitions[name], operation
        return 404, _error("NotFound", f"no operation at {path}"), operation

    def _key_route(self, parts: list[str], path: str,
                   query: Mapping[str, list[str]]) -> tuple[int, Any, str]:
        vault = self.vault
        key = vault.keys.get(parts[1])
        want_deleted = parts[0] == "deletedkeys"
        operation = {("deletedkeys",): "GetDeletedKey", ("keys",): "GetKey"}[(parts[0],)]
        rest = parts[2:]
        if rest == ["versions"]:
            operation = "GetKeyVersions"
        elif rest == ["rotationpolicy"]:
            operation = "GetKeyRotationPolicy"
        if key is None or (key.deleted is not None) != want_deleted:
            return 404, _error("KeyNotFound", f"A key with (name/id) {parts[1]} was not "
                               "found in this key vault."), operation
        if key.forbidden:
            return 403, _error("Forbidden", "The user, group or application does not have "
                               "keys get permission on key vault"), operation
        if operation == "GetKeyVersions":
            items = [vault.key_item(key, version) for version in key.versions]
            return 200, self.page(items, path, query), operation
        if operation == "GetKeyRotationPolicy":
            return 200, vault.rotation_policy(key), operation
        version = rest[0] if rest else None
        if version is not None and version not in key.versions:
            return 404, _error("KeyNotFound", f"version {version} not found"), operation
        return 200, vault.key_bundle(key, version), operation


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _handler(standin: KeyVaultStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            query = parse_qs(split.query)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, _error("Unauthorized", "AKV10000: Request is missing a "
                                       "Bearer or PoP token."),
                           {"WWW-Authenticate": CHALLENGE})
                return
            arm = split.path.startswith("/subscriptions/")
            versions = standin.arm_versions(split.path) if arm else API_VERSIONS
            if query.get("api-version", [""])[0] not in versions:
                self._send(400, _error("BadParameter", "The specified version "
                                       f"{query.get('api-version')} is not recognized."))
                return
            if not standin.throttle.admit():
                standin.count("Throttled")
                self._send(429, _error("Throttled", "Request was not processed because too "
                                       "many requests were received."),
                           {"Retry-After": str(standin.throttle.retry_after)})
                return
            route = standin.arm_route if arm else standin.route
            status, body, operation = route(split.path, query)
            standin.count(operation)
            self._send(status, body)

        def do_POST(self) -> None:
            """Microsoft Graph ``POST /v1.0/directoryObjects/{id}/getMemberObjects``."""
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            match = re.fullmatch(r"/v1\.0/directoryObjects/([^/]+)/getMemberObjects",
                                 urlsplit(self.path).path)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, _error("InvalidAuthenticationToken",
                                       "Access token is empty."))
            elif match is None:
                self._send(404, _error("Request_ResourceNotFound", "no such route"))
            elif standin.graph_refusal is not None:
                status, code, message = standin.graph_refusal
                standin.count("GetMemberObjects")
                self._send(status, _error(code, message))
            else:
                standin.count("GetMemberObjects")
                self._send(200, {"value": standin.member_objects.get(match[1], [])})

        def _send(self, status: int, body: Any, headers: Mapping[str, str] = {}) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-ms-keyvault-service-version", "1.9.1.0")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def vault_resource(name: str, vault_uri: str, subscription: str, *, tenant: str = TENANT,
                   soft_delete: bool = True, retention_days: int = 90,
                   purge_protection: bool = True, rbac: bool = True,
                   access_policies: list[dict[str, Any]] | None = None,
                   public_network_access: str = "Disabled", default_action: str = "Deny",
                   private_endpoints: int = 1) -> dict[str, Any]:
    """A ``Microsoft.KeyVault/vaults`` resource as ARM lists it (2023-07-01 shape)."""
    vault_id = (f"/subscriptions/{subscription}/resourceGroups/rg-crypto/providers/"
                f"Microsoft.KeyVault/vaults/{name}")
    connections = [{
        "id": f"{vault_id}/privateEndpointConnections/pe-{n}",
        "properties": {
            "privateEndpoint": {"id": f"/subscriptions/{subscription}/resourceGroups/rg-net/"
                                      f"providers/Microsoft.Network/privateEndpoints/pe-{n}"},
            "privateLinkServiceConnectionState": {"status": "Approved",
                                                  "actionsRequired": "None"},
            "provisioningState": "Succeeded"}} for n in range(private_endpoints)]
    properties: dict[str, Any] = {
        "tenantId": tenant, "sku": {"family": "A", "name": "premium"},
        "accessPolicies": access_policies or [], "vaultUri": vault_uri.rstrip("/") + "/",
        "enabledForDeployment": False, "enableSoftDelete": soft_delete,
        "softDeleteRetentionInDays": retention_days, "enableRbacAuthorization": rbac,
        "publicNetworkAccess": public_network_access,
        "networkAcls": {"bypass": "AzureServices", "defaultAction": default_action,
                        "ipRules": [], "virtualNetworkRules": []},
        "privateEndpointConnections": connections, "provisioningState": "Succeeded"}
    if purge_protection:
        properties["enablePurgeProtection"] = True
    return {"id": vault_id, "name": name, "type": "Microsoft.KeyVault/vaults",
            "location": "westeurope", "tags": {}, "properties": properties}


def managed_hsm_resource(name: str, hsm_uri: str, subscription: str, *,
                         provisioning_state: str = "Succeeded", status_message: str = "",
                         activation_status: str = "Active",
                         activation_message: str = "") -> dict[str, Any]:
    """A ``Microsoft.KeyVault/managedHSMs`` resource as ARM lists it (2023-07-01 shape):
    soft delete and purge protection on, public access off, its pool and security domain
    states as given."""
    hsm_id = (f"/subscriptions/{subscription}/resourceGroups/rg-crypto/providers/"
              f"Microsoft.KeyVault/managedHSMs/{name}")
    properties: dict[str, Any] = {
        "tenantId": TENANT, "initialAdminObjectIds": [AUDITOR_OID],
        "hsmUri": hsm_uri.rstrip("/") + "/", "enableSoftDelete": True,
        "softDeleteRetentionInDays": 90, "enablePurgeProtection": True,
        "provisioningState": provisioning_state, "statusMessage": status_message,
        "networkAcls": {"bypass": "None", "defaultAction": "Deny", "ipRules": [],
                        "virtualNetworkRules": []},
        "privateEndpointConnections": [], "publicNetworkAccess": "Disabled",
        "securityDomainProperties": {"activationStatus": activation_status,
                                     "activationStatusMessage": activation_message},
        "regions": [{"name": "westeurope", "isPrimary": True,
                     "provisioningState": provisioning_state}]}
    return {"id": hsm_id, "name": name, "type": "Microsoft.KeyVault/managedHSMs",
            "location": "westeurope", "sku": {"family": "B", "name": "Standard_B1"},
            "tags": {}, "properties": properties}


def access_policy(object_id: str, keys: list[str], tenant: str = TENANT) -> dict[str, Any]:
    """One access policy entry of a vault (key permissions only)."""
    return {"tenantId": tenant, "objectId": object_id,
            "permissions": {"keys": keys, "secrets": [], "certificates": []}}


def role_assignment(scope: str, role: str, principal_id: str, principal_type: str = "User",
                    condition: str | None = None) -> dict[str, Any]:
    """One ``Microsoft.Authorization/roleAssignments`` resource (2022-04-01 shape) of the
    role definition GUID ``role`` at ``scope``."""
    subscription = scope.strip("/").split("/")[1] if scope.startswith("/subscriptions/") else ""
    name = secrets.token_hex(16)
    definition = (f"/subscriptions/{subscription}" if subscription else "") + \
        f"/providers/Microsoft.Authorization/roleDefinitions/{role}"
    properties: dict[str, Any] = {
        "roleDefinitionId": definition, "principalId": principal_id,
        "principalType": principal_type, "scope": scope, "createdOn": "2026-01-05T10:00:00Z",
        "updatedOn": "2026-01-05T10:00:00Z", "createdBy": None, "updatedBy": None,
        "delegatedManagedIdentityResourceId": None, "description": None}
    if condition:
        properties.update(condition=condition, conditionVersion="2.0")
    return {"id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "name": name, "type": "Microsoft.Authorization/roleAssignments",
            "properties": properties}


def _scope_related(at: str, scope: str) -> bool:
    """A local RBAC scope at, above or below another (``/``, ``/keys``, ``/keys/NAME``)."""
    at, scope = at.rstrip("/").lower(), scope.rstrip("/").lower()
    return at == scope or scope.startswith(at + "/") or at.startswith(scope + "/")


def hsm_role_definition(guid: str, name: str, data_actions: list[str],
                        not_data_actions: list[str] | None = None,
                        custom: bool = False) -> dict[str, Any]:
    """One role definition of a Managed HSM's local RBAC (data plane 7.4 shape)."""
    return {"id": f"{HSM_ROLE_PREFIX}{guid}", "name": guid,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {"roleName": name, "description": "",
                           "type": "CustomRole" if custom else "AKVBuiltInRole",
                           "permissions": [{"actions": [], "notActions": [],
                                            "dataActions": data_actions,
                                            "notDataActions": not_data_actions or []}],
                           "assignableScopes": ["/"]}}


def hsm_role_assignment(scope: str, role: str, principal_id: str) -> dict[str, Any]:
    """One role assignment of a Managed HSM's local RBAC: role GUID ``role`` at ``scope``
    (``/``, ``/keys``, ``/keys/NAME``); it names no principal type."""
    name = secrets.token_hex(16)
    return {"id": f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "name": name, "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"scope": scope, "roleDefinitionId": f"{HSM_ROLE_PREFIX}{role}",
                           "principalId": principal_id}}


def diagnostic_setting(resource_id: str, name: str, *, category: str | None = "AuditEvent",
                       category_group: str | None = None, enabled: bool = True,
                       destination: str | None = "workspaceId") -> dict[str, Any]:
    """One ``Microsoft.Insights/diagnosticSettings`` resource (2021-05-01-preview shape) of
    a vault: one log entry, sent to one destination (None: to none)."""
    properties: dict[str, Any] = {
        "storageAccountId": None, "serviceBusRuleId": None, "workspaceId": None,
        "eventHubAuthorizationRuleId": None, "eventHubName": None,
        "marketplacePartnerId": None, "logAnalyticsDestinationType": None,
        "metrics": [{"category": "AllMetrics", "enabled": True, "timeGrain": None,
                     "retentionPolicy": {"enabled": False, "days": 0}}],
        "logs": [{"category": category, "categoryGroup": category_group, "enabled": enabled,
                  "retentionPolicy": {"enabled": False, "days": 0}}]}
    if destination:
        properties[destination] = ("/subscriptions/00000000-0000-4000-8000-0000000000ff/"
                                   "resourceGroups/rg-logs/providers/Microsoft."
                                   "OperationalInsights/workspaces/audit")
    return {"id": f"{resource_id}/providers/microsoft.insights/diagnosticSettings/{name}",
            "name": name, "type": "Microsoft.Insights/diagnosticSettings",
            "properties": properties}
