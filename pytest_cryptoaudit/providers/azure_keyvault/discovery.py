"""Discover one ``azure-keyvault`` system: list each vault, then read every key and
certificate in a bounded pool of workers.

A listing that fails is an error naming the vault; a key or certificate that could not be
read is an error naming it; a rotation policy or version list that could not be read makes
the facts it fills unreadable (naming the reason). Nothing unread is left out or guessed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import datetime
from typing import Any

from ...keyinfo import certificate_fields, state_of_certificate
from .. import Discovery, DiscoveryContext
from .arm import (
    BUILTIN_ROLES,
    VaultProperties,
    access_grants,
    audit_logging,
    diagnostic_settings,
    list_subscription,
    role_assignments,
    role_definition,
    role_grants,
    role_guid,
    subscription_of,
    vault_key,
)
from .clients import Clients, CredentialError, api_errors, describe, member_objects
from .facts import (
    base_fields,
    is_managed_hsm,
    kind_of,
    latest_rotation,
    managed_facts,
    rotation_of,
    text,
)
from .hsm import key_stores, not_from_arm, pool_facts
from .hsm_rbac import LocalRbac, local_grants, read_local_rbac
from .independence import auditor_facts, auditor_of
from .options import AzureKeyVaultOptions

NOT_FETCHED = "not fetched: no selected control needs it"
PROGRESS_EVERY = 50

#: Fact -> the calls that fill it, for calls made only when a selected control needs the
#: fact. Listing keys and reading each key (``GetKey``) are always made.
ROTATION_FACTS = ("managed.rotation", "managed.rotation.period_days", "rotation_enabled",
                  "rotation_period_days")
FETCHES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(ROTATION_FACTS, ("keys:GetKeyRotationPolicy",)),
    "rotated": ("keys:GetKeyVersions",),
    # In a vault authorised by Azure RBAC; access policies come with the vault listing. A
    # Managed HSM's local RBAC is read from its data plane.
    **dict.fromkeys(("managed.access", "auditor_admin_rights"),
                    ("authorization:RoleAssignments_ListForScope",
                     "authorization:RoleDefinitions_GetById",
                     "managedhsm:RoleAssignments_ListForScope",
                     "managedhsm:RoleDefinitions_List")),
    "vault_logging": ("insights:DiagnosticSettings_List",),
}


@dataclasses.dataclass
class Subject:
    """One key or certificate to read: its vault, name and what the listing said."""

    vault_url: str
    name: str
    kind: str  # key, deleted-key, certificate
    listed: Any = None

    @property
    def uid(self) -> str:
        folder = "certificates" if self.kind == "certificate" else "keys"
        return f"{self.vault_url}/{folder}/{self.name}"


@dataclasses.dataclass
class Read:
    subject: Subject
    kind: str = ""
    fields: dict[str, Any] | None = None
    error: str | None = None


class VaultDiscovery:
    """One discovery run; holds what was found until it becomes a :class:`Discovery`."""

    def __init__(self, options: AzureKeyVaultOptions, context: DiscoveryContext) -> None:
        self.options = options
        self.context = context
        self.rotation = context.needs(*ROTATION_FACTS)
        self.versions = context.needs("rotated")
        self.access = context.needs("managed.access", "auditor_admin_rights")
        self.logging = context.needs("vault_logging")
        self.errors = api_errors()
        self.found: list[Read] = []
        self.failures: list[tuple[str, str | None]] = []
        self.listed: dict[str, int] = {}
        self.clients: Clients | None = None
        #: ARM properties by vault URL, for the vaults of the listed subscriptions.
        self.vaults: dict[str, VaultProperties] = {}
        self.audited: list[str] = []
        #: Role assignments of each RBAC vault (by URL), or why they could not be read.
        self.assignments: dict[str, list[dict[str, Any]]] = {}
        self.assignment_errors: dict[str, str] = {}
        #: Role definition GUID -> (name, actions), the built-in roles and those read.
        self.roles: dict[str, tuple[str, tuple[Any, ...]]] = dict(BUILTIN_ROLES)
        self.role_errors: dict[str, str] = {}
        #: The local RBAC of each audited Managed HSM (by URL), or why it is unreadable.
        self.local_rbac: dict[str, LocalRbac | str] = {}
        #: Audit logging of each vault with ARM properties (by URL), or its "unreadable".
        self.diagnostics: dict[str, dict[str, Any]] = {}
        #: Who signed in (object id, tenant), the other names it goes by, or why unknown.
        self.auditor: dict[str, str] = {}
        self.auditor_names: list[str] = []
        self.auditor_unknown: str | None = "not signed in"

    def run(self, system_name: str) -> None:
        try:
            self.clients = Clients(self.options, self.context.watch)
        except CredentialError as exc:
            self.failures.append((f"cannot sign in: {exc}", None))
            return
        self._sign_in()
        pool = ThreadPoolExecutor(self.options.max_workers, thread_name_prefix="cryptoaudit-akv")
        try:
            self.audited = urls = self._vault_urls(pool)
            self._read_rbac(pool)
            if self.logging:
                known = [self.vaults[url] for url in urls if url in self.vaults]
                for logged in as_completed([pool.submit(self._diagnostics, v) for v in known]):
                    logged.result()
            listings = [pool.submit(self.list_vault, url) for url in urls]
            reads: list[Future[Read]] = []
            for done in as_completed(listings):
                reads += [pool.submit(self.read, subject) for subject in done.result()]
            self._collect(reads, lambda n: self.context.progress(
                system_name, n, len(self.failures), expected=len(reads)))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _sign_in(self) -> None:
        """Who the audit signs in as, from the claims of its Resource Manager token."""
        assert self.clients is not None
        scope = f"{self.options.arm_endpoint.rstrip('/')}/.default"
        try:
            self.auditor, self.auditor_names, self.auditor_unknown = auditor_of(
                self.clients.credential, scope)
        except self.errors as exc:
            self.auditor_unknown = f"cannot get an access token: {describe(exc)}"

    def auditor_facts(self) -> tuple[dict[str, Any], dict[str, str]]:
        """``auditor_identity`` and ``auditor_admin_rights`` (CEK-09 independence)."""
        access = [(r.subject.uid, r.fields["managed"].access,
                   r.fields["unreadable"].get("managed.access"))
                  for r in self.found if r.fields and "managed" in r.fields]
        groups: list[str] | str | None = None
        if (self.auditor and self.options.auditor_groups and self.clients is not None
                and self.context.needs("auditor_admin_rights")):
            try:
                groups = member_objects(self.clients, self.auditor["id"])
            except self.errors as exc:
                groups = f"Microsoft Graph getMemberObjects: {describe(exc)}"
        return auditor_facts(self.auditor, self.auditor_names, self.auditor_unknown, access,
                             groups)

    def _vault_urls(self, pool: ThreadPoolExecutor) -> list[str]:
        """The listed vault URLs and every vault of the listed subscriptions, once each."""
        listings = {pool.submit(self.list_subscription, s): s for s in self.options.subscriptions}
        for done in as_completed(listings):
            for vault in done.result():
                self.vaults.setdefault(vault.url, vault)
        named = [vault_key(url) for url in self.options.vault_urls]
        return list(dict.fromkeys([*named, *sorted(self.vaults)]))

    def list_subscription(self, subscription: str) -> list[VaultProperties]:
        assert self.clients is not None
        try:
            return list_subscription(self.clients.arm(subscription))
        except self.errors as exc:
            self.failures.append((f"subscription {subscription}: cannot list vaults and "
                                  f"Managed HSMs: {describe(exc)}", None))
            return []

    def _read_rbac(self, pool: ThreadPoolExecutor) -> None:
        """Read the role assignments of each audited RBAC vault, then the definitions of
        the roles they name that are not built in (once each); and the local RBAC of each
        audited Managed HSM."""
        if not self.access:
            return
        rbac = [self.vaults[url] for url in self.audited
                if url in self.vaults and self.vaults[url].rbac
                and not self.vaults[url].managed_hsm]
        listings = [pool.submit(self._assignments, vault) for vault in rbac]
        listings += [pool.submit(self._local_rbac, url) for url in self.audited
                     if self.is_hsm(url)]
        for done in as_completed(listings):
            done.result()
        unknown = {role_guid(str((a.get("properties") or {}).get("roleDefinitionId", ""))):
                   str((a.get("properties") or {}).get("roleDefinitionId", ""))
                   for found in self.assignments.values() for a in found}
        reads = {pool.submit(self._definition, full): guid
                 for guid, full in unknown.items() if guid not in self.roles}
        for done in as_completed(reads):
            done.result()

    def _assignments(self, vault: VaultProperties) -> None:
        assert self.clients is not None
        try:
            client = self.clients.arm(subscription_of(vault.resource_id))
            self.assignments[vault.url] = role_assignments(client, vault)
        except self.errors as exc:
            self.assignment_errors[vault.url] = f"role assignments: {describe(exc)}"

    def _local_rbac(self, vault_url: str) -> None:
        assert self.clients is not None
        try:
            self.local_rbac[vault_url] = read_local_rbac(self.clients.access_control(vault_url))
        except ImportError:
            self.local_rbac[vault_url] = ("local RBAC: azure-keyvault-administration is not "
                                          "installed (pip install 'pytest-cryptoaudit[azure]')")
        except self.errors as exc:
            self.local_rbac[vault_url] = f"local RBAC: {describe(exc)}"

    def _diagnostics(self, vault: VaultProperties) -> None:
        assert self.clients is not None
        try:
            client = self.clients.arm(subscription_of(vault.resource_id))
            self.diagnostics[vault.url] = audit_logging(diagnostic_settings(client, vault))
        except self.errors as exc:
            self.diagnostics[vault.url] = {"unreadable": f"diagnostic settings: {describe(exc)}"}

    def _definition(self, role_definition_id: str) -> None:
        assert self.clients is not None
        guid = role_guid(role_definition_id)
        try:
            subscription = subscription_of(role_definition_id) or next(
                (subscription_of(v.resource_id) for v in self.vaults.values()), "")
            self.roles[guid] = role_definition(self.clients.arm(subscription),
                                               role_definition_id)
        except self.errors as exc:
            self.role_errors[guid] = f"role definition {guid}: {describe(exc)}"

    def vault_facts(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The system's ``vault_properties`` (by vault URL), or why they are unreadable."""
        found = {url: self.vaults[url].summary() for url in self.audited if url in self.vaults}
        missing = [url for url in self.audited if url not in self.vaults]
        logging = {url: self.diagnostics[url] for url in self.audited if url in self.diagnostics}
        facts: dict[str, Any] = {}
        unreadable: dict[str, str] = {}
        why = ("not found in the listed subscriptions" if self.options.subscriptions
               else "read through Azure Resource Manager: name the vaults' subscriptions")
        if not missing:
            facts["vault_properties"] = found
        else:
            facts["vault_properties_read"] = found
            unreadable["vault_properties"] = f"vault properties of {', '.join(missing)}: {why}"
        if not self.logging:
            unreadable["vault_logging"] = NOT_FETCHED
        elif missing:
            facts["vault_logging_read"] = logging
            unreadable["vault_logging"] = f"diagnostic settings of {', '.join(missing)}: {why}"
        else:
            facts["vault_logging"] = logging
        return facts, unreadable

    def _access(self, vault_url: str, key_name: str) -> tuple[Any, str | None]:
        """(the key's access grants or None, why unreadable) from the vault's access
        policies, or the role assignments reaching the key in an RBAC vault."""
        if self.is_hsm(vault_url):
            rbac = self.local_rbac.get(vault_url, NOT_FETCHED)
            return (None, rbac) if isinstance(rbac, str) else local_grants(rbac, key_name)
        vault = self.vaults.get(vault_url)
        if vault is None:
            return None, ("vault not found in the listed subscriptions"
                          if self.options.subscriptions else None)
        if not vault.rbac:
            return access_grants(vault, self.options.allowed_tenants), None
        if not self.access:
            return None, NOT_FETCHED
        if vault_url in self.assignment_errors:
            return None, self.assignment_errors[vault_url]
        assignments = self.assignments.get(vault_url, [])
        failed = sorted({self.role_errors[guid] for a in assignments
                         if (guid := role_guid(str((a.get("properties") or {})
                                                   .get("roleDefinitionId", ""))))
                         in self.role_errors})
        if failed:
            return None, "; ".join(failed)
        return role_grants(vault, assignments, self.roles, key_name), None

    def _collect(self, futures: list[Future[Read]], progress: Callable[[int], None]) -> None:
        for count, future in enumerate(as_completed(futures), start=1):
            result = future.result()
            if result.error is not None:
                self.failures.append((result.error, result.subject.uid))
            else:
                self.found.append(result)
            if count % PROGRESS_EVERY == 0:
                progress(len(self.found))

    # -- Managed HSM pools ---------------------------------------------------------------------

    def is_hsm(self, vault_url: str) -> bool:
        """A Managed HSM: by its host name, or because ARM lists it as one."""
        vault = self.vaults.get(vault_url)
        return is_managed_hsm(vault_url) or (vault is not None and vault.managed_hsm)

    def pool(self, vault_url: str) -> tuple[dict[str, Any], str | None]:
        """The key-store facts of a Managed HSM's pool, or why they cannot be read."""
        vault = self.vaults.get(vault_url)
        if vault is None:
            return {}, not_from_arm(vault_url, bool(self.options.subscriptions))
        return pool_facts(vault)

    def key_stores(self) -> list[dict[str, Any]]:
        """Each audited Managed HSM with its pool state and the keys that depend on it."""
        pools = [url for url in self.audited if self.is_hsm(url)]
        keys: dict[str, list[str]] = {}
        for read in self.found:
            if read.subject.kind != "certificate":
                keys.setdefault(read.subject.vault_url, []).append(read.subject.uid)
        return key_stores(pools, {url: self.pool(url) for url in pools}, keys)

    def _listing_failed(self, vault_url: str, what: str, exc: Exception) -> None:
        reason = f"{vault_url}: cannot list {what}: {describe(exc)}"
        if self.is_hsm(vault_url):
            facts, why = self.pool(vault_url)
            reason += f"; {facts.get('key_store_detail') or why}"
        self.failures.append((reason, None))

    # -- worker threads ----------------------------------------------------------------------

    def list_vault(self, vault_url: str) -> list[Subject]:
        """Every key, deleted key and certificate of one vault; a failed listing is an
        error for the vault (what was listed before it failed is not read: a partial
        inventory would look complete)."""
        assert self.clients is not None
        listings: list[tuple[str, Callable[[], Any]]] = [
            ("keys", self.clients.keys(vault_url).list_properties_of_keys)]
        if self.options.include_deleted:
            listings.append(("deleted keys", self.clients.keys(vault_url).list_deleted_keys))
        # A Managed HSM holds keys only: it has no certificates endpoint.
        if self.options.include_certificates and not self.is_hsm(vault_url):
            listings.append(("certificates", self.clients.certificates(vault_url)
                             .list_properties_of_certificates))
        subjects: list[Subject] = []
        for what, listing in listings:
            kind = {"keys": "key", "deleted keys": "deleted-key"}.get(what, "certificate")
            try:
                subjects += [Subject(vault_url, item.name, kind, item) for item in listing()]
            except self.errors as exc:
                self._listing_failed(vault_url, what, exc)
                return []
        self.listed[vault_url] = len(subjects)
        return subjects

    def read(self, subject: Subject) -> Read:
        try:
            if subject.kind == "certificate":
                return self._certificate(subject)
            return self._key(subject)
        except self.errors as exc:
            return Read(subject, error=f"{subject.kind} {subject.uid}: {describe(exc)}")

    def _key(self, subject: Subject) -> Read:
        assert self.clients is not None
        client = self.clients.keys(subject.vault_url)
        deleted = subject.kind == "deleted-key"
        key = client.get_deleted_key(subject.name) if deleted else client.get_key(subject.name)
        fields = base_fields(key, subject.vault_url, self.context.now,
                             deleted=key if deleted else None,
                             managed_hsm=self.is_hsm(subject.vault_url))
        facts = fields.pop("facts")
        unreadable = fields["unreadable"]
        if facts["key_store"] is not None:
            pool, why = self.pool(subject.vault_url)
            facts.update(pool)
            if why is not None:
                unreadable["managed.key_store_state"] = why
        current = fields["created"]
        if not deleted:
            current = self._versions(client, subject, fields) or current
        rotation = None
        if facts["can_rotate"]:
            rotation = self._rotation(client, subject, fields, current)
        access, why = self._access(subject.vault_url, subject.name)
        if why:
            unreadable["managed.access"] = why
        fields["managed"] = managed_facts(facts, rotation=rotation, access=access)
        if "managed.rotation" in unreadable:
            unreadable.setdefault("rotation_enabled", unreadable["managed.rotation"])
        return Read(subject, kind_of(text(key.key_type)), fields)

    def _versions(self, client: Any, subject: Subject, fields: dict[str, Any]) -> Any:
        """Count the versions; the newest (if more than one) is the last rotation."""
        if not self.versions:
            fields["unreadable"]["rotated"] = NOT_FETCHED
            return None
        try:
            count, rotated = latest_rotation(client.list_properties_of_key_versions(subject.name))
        except self.errors as exc:
            fields["unreadable"]["rotated"] = f"key versions: {describe(exc)}"
            return None
        fields["attributes"]["versions"] = count
        fields["rotated"] = rotated
        return rotated

    def _rotation(self, client: Any, subject: Subject, fields: dict[str, Any],
                  current: datetime | None) -> Any:
        unreadable = fields["unreadable"]
        if not self.rotation:
            unreadable["managed.rotation"] = NOT_FETCHED
            return None
        try:
            policy = client.get_key_rotation_policy(subject.name)
        except self.errors as exc:
            unreadable["managed.rotation"] = f"rotation policy: {describe(exc)}"
            return None
        rotation, attributes = rotation_of(policy, current)
        fields["attributes"].update(attributes)
        fields["rotation_enabled"] = rotation.automatic
        fields["rotation_period_days"] = rotation.period_days
        if rotation.automatic and rotation.period_days is None:
            unreadable["managed.rotation.period_days"] = (
                "the rotation policy's period cannot be read: "
                + "; ".join(attributes["rotation_policy_actions"]))
        return rotation

    def _certificate(self, subject: Subject) -> Read:
        from cryptography import x509

        assert self.clients is not None
        cert = self.clients.certificates(subject.vault_url).get_certificate(subject.name)
        parsed = x509.load_der_x509_certificate(bytes(cert.cer))
        fields = certificate_fields(parsed)
        info = fields["certificate"]
        fields["state"] = state_of_certificate(info, self.context.now)
        fields["tags"] = dict(cert.properties.tags or {})
        fields["attributes"] = {**fields["attributes"], "vault": subject.vault_url,
                                **certificate_policy_attributes(cert.policy)}
        if not cert.properties.enabled:
            fields["state"] = "suspended"
        if cert.policy is None:
            fields["unreadable"] = {"lifetime_actions": "Key Vault returned no certificate policy"}
        return Read(subject, "certificate", fields)

    # -- the result ----------------------------------------------------------------------------

    def to_discovery(self, attempt: Discovery) -> Discovery:
        for result in sorted(self.found, key=lambda r: r.subject.uid):
            attempt.add_key(result.subject.uid, result.kind, **(result.fields or {}))
        for reason, key_uid in self.failures:
            attempt.error(reason, key_uid=key_uid)
        return attempt


def certificate_policy_attributes(policy: Any) -> dict[str, Any]:
    """What a certificate's policy says about renewal and its issuer."""
    if policy is None:
        return {}
    actions = [text(action.action) for action in policy.lifetime_actions or ()]
    found = {"issuer_name": policy.issuer_name, "lifetime_actions": actions,
             "auto_renew": any(a == "AutoRenew" for a in actions),
             "policy_key_type": text(policy.key_type) or None,
             "policy_key_size": policy.key_size,
             "validity_months": policy.validity_in_months}
    return {name: value for name, value in found.items() if value is not None}
