"""One discovery run against one Vault-API server.

Order matters: the seal status comes first (it needs no token), so a sealed or unreachable
server is reported as such and nothing else is attempted. Per-key reads run on a bounded
thread pool; records are added on the calling thread only. Anything that cannot be read is
a discovery error naming the path, plus an ``unreadable`` system attribute where a control
depends on it, so no check can pass on data that was never seen.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

from ...transport import Limits
from .access import key_access
from .ancestors import Ancestor, ancestors_of
from .client import VaultReader, VaultReadError, load_token, path_of
from .context import KeyContext
from .holders import PolicyHolders, read_holders
from .independence import admin_rights
from .pki import (
    issuer_uid,
    list_issuers,
    longest_role_ttl,
    mount_max_ttl,
    read_issuer,
    read_role,
)
from .system import (
    AUDITED_ENGINES,
    BUILTIN_ADMIN_POLICIES,
    acl_policies,
    audit_devices,
    auditor_identity,
    mount_type,
    mounts,
    seal_status,
)
from .transit import key_uid, read_key

if TYPE_CHECKING:
    from ...config import SystemConfig
    from .. import Discovery, DiscoveryContext

#: The transit keys' access fact, filled from the ACL policies, and who holds the policies.
ACCESS = "managed.access"
HOLDERS = "managed.access_holders"
#: Optional reads -> the facts that need them; a fact maps to the calls of FETCHES.
FACTS_FROM = {"audit_devices": ("audit_devices",),
              "acl_policies": ("acl_policies", "auditor_admin_rights", ACCESS, HOLDERS)}
#: System attributes the Vault controls read; all unreadable when the server cannot be read.
SYSTEM_FACTS = ("seal_type", "auditor_identity", "mounts", "transit_mounts", "audit_devices",
                "acl_policies", "pki_roles")
PROGRESS_EVERY = 250
NOT_FETCHED = "not fetched: no selected control needs it"


class VaultDiscovery:
    """Collects the records of one server into one :class:`Discovery` attempt."""

    def __init__(self, attempt: Discovery, system: SystemConfig,
                 context: DiscoveryContext) -> None:
        options: Any = system.options
        self.attempt = attempt
        self.options = options
        self.context = context
        self.attributes: dict[str, Any] = {}
        self.unreadable: dict[str, str] = {}
        #: The namespaces above the audited one (root first), whose policies reach into
        #: it, and why their policies could not be read (every key's access is then unknown).
        self.ancestors = ancestors_of(options.namespace)
        self.ancestors_reason: str | None = None
        #: The parameter conditions of the audited namespace's policies.
        self.conditions: dict[str, dict[str, Any]] = {}
        #: Who holds the policies here (and above: ``Ancestor.holders``), or why not known.
        self.holders: PolicyHolders | None = None
        self.holders_reason = NOT_FETCHED

    def run(self) -> Discovery:
        try:
            reader = self._connect()
        except VaultReadError as exc:
            self._fail_whole_system(str(exc))
            return self._finish()
        try:
            self._discover(reader)
        finally:
            reader.close()
        return self._finish()

    def _connect(self) -> VaultReader:
        options = self.options
        token = load_token(options.token_env, options.token_file, self.context.base_dir)
        verify: bool | str = options.verify
        if options.ca_cert:
            verify = str(self.context.base_dir / options.ca_cert)
        return VaultReader.connect(options.url, token, namespace=options.namespace,
                                   verify=verify, timeout=options.timeout,
                                   retries=options.retries, pool_size=options.max_workers,
                                   limits=Limits.of(options, self.context.watch))

    def _discover(self, reader: VaultReader) -> None:
        if not self._readable(reader) or not self._token_accepted(reader):
            return
        audited = self._audited_mounts(reader)
        with ThreadPoolExecutor(self.options.max_workers, thread_name_prefix="vault") as pool:
            # Server-wide reads overlap with the key reads (parsing policies takes a while).
            policies = functools.partial(acl_policies, conditions=self.conditions)
            facts = {name: pool.submit(read, reader) for name, read
                     in (("audit_devices", audit_devices), ("acl_policies", policies))
                     if self.context.needs(*FACTS_FROM[name])}
            above = {pool.submit(acl_policies, reader.in_namespace(a.namespace),
                                 a.conditions): a for a in self._ancestors_to_read()}
            roles = self._keys(reader, pool, audited)
            self._ancestor_policies(above)
            for name, future in facts.items():
                self._fact(name, future.result)
            if self.context.needs(HOLDERS):
                self._holders(reader, pool)
        self._transit_access()
        if self._wants_roles():
            self.attributes["pki_roles"] = sorted(roles, key=lambda r: (r["mount"], r["name"]))
        self.context.progress(self.attempt.system.name, len(self.attempt.keys),
                              len(self.attempt.errors))

    def _ancestors_to_read(self) -> list[Ancestor]:
        """The namespaces above whose policies are needed: all of them for the keys'
        access, else the auditing token's own namespace when it is one of them (its
        policies are that namespace's)."""
        if self.context.needs(ACCESS, HOLDERS):
            return self.ancestors
        if not self.context.needs("auditor_admin_rights"):
            return []
        home = (self.attributes.get("auditor_identity") or {}).get("namespace")
        return [a for a in self.ancestors if a.namespace == home]

    def _ancestor_policies(self, above: dict[Future[Any], Ancestor]) -> None:
        """The policies of the namespaces above, which reach into the audited one through
        paths that name it; one unreadable, every key's access is (never half a picture)."""
        reasons = []
        for future, ancestor in above.items():
            try:
                ancestor.policies = future.result()
                ancestor.policies_read = True
            except VaultReadError as exc:
                reasons.append(f"{ancestor.described}: {exc}")
                self.attempt.error(reasons[-1])
        if reasons:
            self.ancestors_reason = "; ".join(reasons)
        if above:
            asked = list(above.values())
            self.attributes["ancestor_namespaces"] = [a.label for a in self.ancestors
                                                      if a in asked]

    def _holders(self, reader: VaultReader, pool: ThreadPoolExecutor) -> None:
        """Who holds each policy, here and in every namespace above; a list that cannot be
        read leaves all holders unknown, with the namespace and path as the reason."""
        audited = (self.options.namespace or "").strip("/")
        places = [(audited, reader, ""), *((a.namespace, reader.in_namespace(a.namespace),
                                            f" of the {a.described}") for a in self.ancestors)]
        read: dict[str, PolicyHolders] = {}
        reasons = []
        for namespace, there, of_where in places:
            try:
                read[namespace] = read_holders(there, pool, namespace or None,
                                               tokens=self.options.token_holders)
            except VaultReadError as exc:
                reasons.append(f"holders of the ACL policies{of_where}: {exc}")
                self.attempt.error(reasons[-1])
        if reasons:
            self.holders_reason = "; ".join(reasons)
            return
        self.holders = read[audited]
        for ancestor in self.ancestors:
            ancestor.holders = read[ancestor.namespace]
        self._describe_holders(read[audited], read)

    def _describe_holders(self, holders: PolicyHolders, read: dict[str, PolicyHolders]) -> None:
        """Who holds each policy here (``holders``) and above, and what was read to tell
        (each list by its path from the root namespace), on the system record."""
        self.attributes["policy_holders"] = {
            policy: [h.principal for h in holders.of(policy)]
            for policy in sorted(self.attributes.get("acl_policies") or {})}
        if self.ancestors:
            self.attributes["ancestor_policy_holders"] = {
                a.label: a.holders_by_policy() for a in self.ancestors}
        self.attributes["policy_holder_lists"] = sorted(
            f"{namespace}/{path}" if namespace else path
            for namespace, held in read.items() for path in held.read)
        self.attributes["unread_auth_methods"] = sorted(
            {method for held in read.values() for method in held.unread_methods})
        if not self.options.token_holders:
            self.attributes["unread_token_holders"] = (
                "tokens created directly with policies are not read (token_holders = false; "
                "reading them needs sudo on auth/token/accessors): each such policy stays "
                "a principal of its own")

    def _transit_access(self) -> None:
        """``managed.access`` of every transit key from the ACL policies, or the reason it
        cannot be told (a policy that could not be read or parsed fails every key: the
        grants of the others would be half a picture). Where the holders were read each
        grant is repeated under the name of every holder; where they could not be,
        ``managed.access_holders`` is unreadable with the reason."""
        if self.context.needs(ACCESS, HOLDERS):
            policies = self.attributes.get("acl_policies")
            reason = self.unreadable.get("acl_policies", "ACL policies were not read")
        else:
            policies, reason = None, NOT_FETCHED
        for index, record in enumerate(self.attempt.keys):
            if record.managed is None or "transit_type" not in record.attributes:
                continue
            if policies is not None and self.ancestors_reason is None:
                self.attempt.keys[index] = self._with_access(record, policies)
                continue
            why = reason if policies is None else str(self.ancestors_reason)
            self.attempt.keys[index] = dataclasses.replace(
                record, unreadable={**record.unreadable, ACCESS: why, HOLDERS: why})

    def _with_access(self, record: Any, policies: dict[str, dict[str, list[str]]]) -> Any:
        mount, name = record.attributes["mount"], record.attributes["name"]
        key = KeyContext.of(record.attributes)
        grants = key_access(policies, mount, name, self.options.namespace,
                            conditions=self.conditions, key=key, holders=self.holders)
        for ancestor in self.ancestors:
            grants += ancestor.grants(mount, name, key)
        if self.holders is None:
            return dataclasses.replace(
                record, managed=dataclasses.replace(record.managed, access=grants),
                unreadable={**record.unreadable, HOLDERS: self.holders_reason})
        lists = tuple(self.attributes["policy_holder_lists"])
        return dataclasses.replace(record, managed=dataclasses.replace(
            record.managed, access=grants, access_holders=lists))

    def _token_accepted(self, reader: VaultReader) -> bool:
        """Read who the token is; a token refused there is refused everywhere, so say so
        once for the system instead of once per path."""
        try:
            self.attributes["auditor_identity"] = auditor_identity(reader)
        except VaultReadError as exc:
            if not exc.denied:
                self._unreadable(str(exc), "auditor_identity")
                return True
            self._fail_whole_system(
                f"the token was rejected: auth/token/lookup-self, which every valid token may "
                f"read, answered {exc.reason} (the token is invalid, expired or revoked, or "
                "lacks the default policy); nothing else was read")
            return False
        return True

    def _readable(self, reader: VaultReader) -> bool:
        """Read the seal status; a server that cannot answer or is sealed fails as a whole."""
        try:
            status = seal_status(reader)
        except VaultReadError as exc:
            self._fail_whole_system(str(exc))
            return False
        self.attributes.update(status)
        if status["sealed"]:
            self._fail_whole_system("sys/seal-status: the server is sealed; nothing can be "
                                    "read until it is unsealed")
        return not status["sealed"]

    def _keys(self, reader: VaultReader, pool: ThreadPoolExecutor,
              audited: dict[str, str]) -> list[dict[str, Any]]:
        """Add the records of every audited mount; return the PKI roles read on the way."""
        roles: list[dict[str, Any]] = []
        for mount, engine in sorted(audited.items()):
            if engine == "transit":
                self._transit(reader, pool, mount)
            else:
                roles.extend(self._pki(reader, pool, mount))
        return roles

    def _wants_roles(self) -> bool:
        return self.context.needs("pki_roles")

    # -- system facts ------------------------------------------------------------------------

    def _fact(self, name: str, read: Callable[[], Any]) -> Any:
        try:
            value = read()
        except VaultReadError as exc:
            self._unreadable(str(exc), name)
            return None
        self.attributes[name] = value
        return value

    def _unreadable(self, reason: str, *names: str) -> None:
        self.attempt.error(reason)
        for name in names:
            self.unreadable.setdefault(name, reason)

    def _fail_whole_system(self, reason: str) -> None:
        self.attempt.error(reason)
        for name in SYSTEM_FACTS:
            self.unreadable.setdefault(name, reason)

    def _finish(self) -> Discovery:
        record = self.attempt.system
        self.attributes["admin_policies"] = sorted({*BUILTIN_ADMIN_POLICIES,
                                                    *self.options.admin_policies})
        self._auditor_rights()
        self.attempt.system = dataclasses.replace(
            record,
            attributes={**record.attributes, **self.attributes},
            unreadable={**record.unreadable, **self.unreadable},
        )
        return self.attempt

    def _auditor_rights(self) -> None:
        """``auditor_admin_rights`` from the token's policies (or why it cannot be told)."""
        if not self.context.needs("auditor_admin_rights"):
            self.unreadable.setdefault("auditor_admin_rights", NOT_FETCHED)
            return
        rights = admin_rights(
            self.attributes, self.unreadable, self.options.namespace,
            {a.namespace: (a.below, a.policies if a.policies_read else None)
             for a in self.ancestors})
        if "unreadable" in rights:
            self.unreadable.setdefault("auditor_admin_rights", rights["unreadable"])
        else:
            self.attributes.update(rights)

    # -- mounts --------------------------------------------------------------------------------

    def _audited_mounts(self, reader: VaultReader) -> dict[str, str]:
        """Audited mount → engine: the configured ones, or every transit and PKI mount."""
        enabled = self._fact("mounts", lambda: mounts(reader, self.attempt.error))
        if enabled is None:
            self.unreadable.setdefault("transit_mounts", self.unreadable["mounts"])
        else:
            self.attributes["transit_mounts"] = sorted(
                m for m, engine in enabled.items() if engine == "transit")
        if self.options.mounts is None:
            return {m: e for m, e in (enabled or {}).items() if e in AUDITED_ENGINES}
        chosen = {}
        for mount in (m.strip("/") for m in self.options.mounts):
            engine = self._engine_of(reader, mount, enabled)
            if engine in AUDITED_ENGINES:
                chosen[mount] = engine
            elif engine is not None:
                self.attempt.error(f"mount {mount!r} is a {engine or 'unknown'} engine; "
                                   "only transit and pki mounts are audited")
        return chosen

    def _engine_of(self, reader: VaultReader, mount: str,
                   enabled: dict[str, str] | None) -> str | None:
        if enabled is not None:
            if mount not in enabled:
                self.attempt.error(f"sys/mounts: mount {mount!r} is not enabled on the server")
            return enabled.get(mount)
        try:  # sys/mounts was denied: ask about this one mount instead
            return mount_type(reader, mount)
        except VaultReadError as exc:
            self.attempt.error(str(exc))
            return None

    # -- keys ------------------------------------------------------------------------------------

    def _transit(self, reader: VaultReader, pool: ThreadPoolExecutor, mount: str) -> None:
        try:
            names = reader.names(path_of(mount, "keys"))
        except VaultReadError as exc:
            self.attempt.error(str(exc))
            return
        system = self.attempt.system.name
        futures = {pool.submit(read_key, reader, system, mount, name):
                   key_uid(system, mount, name) for name in names}
        for uid, fields in _settled(futures, self.attempt):
            kind = fields.pop("kind")
            self.attempt.add_key(uid, kind, **fields)
            if len(self.attempt.keys) % PROGRESS_EVERY == 0:
                self.context.progress(system, len(self.attempt.keys), len(self.attempt.errors))

    def _pki(self, reader: VaultReader, pool: ThreadPoolExecutor,
             mount: str) -> list[dict[str, Any]]:
        roles = self._roles(reader, pool, mount) if self._wants_roles() else []
        try:
            issuers = list_issuers(reader, mount)
        except VaultReadError as exc:
            self.attempt.error(str(exc))
            return roles
        system = self.attempt.system.name
        futures = {pool.submit(read_issuer, reader, mount, issuer_id, default, self.context.now):
                   issuer_uid(system, mount, issuer_id) for issuer_id, default in issuers}
        for uid, (reference, fields) in _settled(futures, self.attempt):
            attributes = fields["attributes"]
            attributes["longest_role_max_ttl_seconds"] = longest_role_ttl(roles, attributes)
            self.attempt.add_key(issuer_uid(system, mount, reference) if reference else uid,
                                 "certificate", **fields)
        return roles

    def _roles(self, reader: VaultReader, pool: ThreadPoolExecutor,
               mount: str) -> list[dict[str, Any]]:
        try:
            ceiling = mount_max_ttl(reader, mount)
            names = reader.names(path_of(mount, "roles"))
        except VaultReadError as exc:
            self._unreadable(str(exc), "pki_roles")
            return []
        futures = {pool.submit(read_role, reader, mount, name, ceiling): name for name in names}
        roles = []
        for future in as_completed(futures):
            try:
                roles.append(future.result())
            except VaultReadError as exc:
                self._unreadable(str(exc), "pki_roles")
            except (ValueError, TypeError) as exc:  # a malformed role answer
                self._unreadable(f"{path_of(mount, 'roles', futures[future])}: unexpected "
                                 f"response: {exc}", "pki_roles")
        return roles


def _settled(futures: dict[Future[Any], str],
             attempt: Discovery) -> Any:
    """Yield (uid, result) of each finished read; a failed read is a key error."""
    for future in as_completed(futures):
        uid = futures[future]
        try:
            result = future.result()
        except VaultReadError as exc:
            attempt.error(str(exc), key_uid=uid)
            continue
        except Exception as exc:  # an unexpected answer fails this key, not the whole server
            attempt.error(f"{uid}: unexpected response: {type(exc).__name__}: {exc}",
                          key_uid=uid)
            continue
        yield uid, result
