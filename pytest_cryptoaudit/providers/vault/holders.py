"""Who holds each ACL policy (``managed.access_holders``): identity entities and groups, and
the roles and users of the auth methods whose logins hand out policies.

A token's policies come from its auth role or user (``token_policies``, or the legacy
``policies``), from its identity entity and from every group the entity belongs to, directly
or through a subgroup (the entity's ``group_ids``). Each holder becomes a principal of its
own, so a grant names the entity, group or role that may act on a key, not only the policy.

Read per namespace: ``identity/entity/id`` and ``identity/group/id`` (LIST, then a GET per
id), ``sys/auth`` and, for the auth method types below, the LIST and GET of their roles or
users. A list or read that fails raises :class:`VaultReadError` naming the path: the holders
are then unknown, never "held by no one". Auth methods of other types are not read; they
are named in :attr:`PolicyHolders.unread_methods` so a policy no one is seen to hold is not
mistaken for an unused one.

Tokens created directly with policies (``auth/token/create``, not a login) hold them too.
Listing them needs ``sudo`` on ``auth/token/accessors`` and one lookup per live token, so
they are read only where the system asks (``token_holders = true``): each such token is a
holder named by its display name and a digest of its accessor (never the accessor itself).
Otherwise the policy stays a principal of its own for them.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from typing import Any, TypeVar

from ...facts import PrincipalKind
from .client import VaultReader, VaultReadError, path_of

#: Auth method type -> (collection under auth/MOUNT/, kind of its entries).
AUTH_LISTS: dict[str, tuple[tuple[str, PrincipalKind], ...]] = {
    "approle": (("role", PrincipalKind.ROLE),),
    "kubernetes": (("role", PrincipalKind.ROLE),),
    "jwt": (("role", PrincipalKind.ROLE),),
    "oidc": (("role", PrincipalKind.ROLE),),
    "userpass": (("users", PrincipalKind.USER),),
    "cert": (("certs", PrincipalKind.SERVICE),),
    "ldap": (("groups", PrincipalKind.GROUP), ("users", PrincipalKind.USER)),
}
#: Auth methods that only machines log in with: an entity whose aliases are all of these
#: types is a service; any other entity is a user.
MACHINE_AUTH = frozenset({"approle", "kubernetes", "cert", "aws", "gcp", "azure", "oci",
                          "alicloud"})
#: Methods no role list belongs to: tokens are not listable, and the token store's roles
#: (``allowed_policies``) hand out nothing by themselves.
NOT_HOLDERS = frozenset({"token"})
POLICY_FIELDS = ("token_policies", "policies")
#: Where a token made directly says it came from (``create``, ``create-orphan``,
#: ``create/ROLE``); a login's token names its auth method's login path instead.
DIRECT_TOKENS = "auth/token/create"
TOKEN_ACCESSORS = "auth/token/accessors"
T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Holder:
    """One principal that holds a policy; ``via`` says how, when not directly."""

    principal: str
    kind: PrincipalKind
    via: str = ""


@dataclasses.dataclass
class PolicyHolders:
    """Policy name -> its holders, with what was read to tell."""

    by_policy: dict[str, list[Holder]] = dataclasses.field(default_factory=dict)
    read: list[str] = dataclasses.field(default_factory=list)
    unread_methods: list[str] = dataclasses.field(default_factory=list)

    def add(self, policies: Iterable[Any], holder: Holder) -> None:
        for policy in sorted({str(p) for p in policies}):
            self.by_policy.setdefault(policy, []).append(holder)

    #: (policy, its grant on a key) -> the grants of it and its holders: a policy's grant is
    #: the same on every key its globs reach, so thousands of keys share one tuple.
    _expanded: dict[tuple[str, Any], tuple[Any, ...]] = dataclasses.field(
        default_factory=dict, repr=False, compare=False)

    def of(self, policy: str) -> tuple[Holder, ...]:
        return tuple(sorted(set(self.by_policy.get(policy, ())),
                            key=lambda h: (h.principal, h.via)))

    def grants(self, grant: T, policy: str,
               expand: Callable[[T, str, tuple[Holder, ...]], tuple[T, ...]]) -> tuple[T, ...]:
        """``expand(grant, policy, holders)``, computed once per distinct grant."""
        key = (policy, grant)
        if key not in self._expanded:
            self._expanded[key] = expand(grant, policy, self.of(policy))
        return self._expanded[key]


def read_holders(reader: VaultReader, pool: Executor, namespace: str | None = None,
                 tokens: bool = False) -> PolicyHolders:
    """Every holder of every policy in the reader's namespace, the tokens created directly
    with policies too where ``tokens``; raises VaultReadError."""
    prefix = f"{namespace.strip('/')}/" if namespace else ""
    holders = PolicyHolders()
    groups = _read_all(reader, pool, "identity/group/id")
    for group in groups.values():
        holders.add(group.get("policies") or (),
                    Holder(f"group:{prefix}{group.get('name')}", PrincipalKind.GROUP))
    for entity in _read_all(reader, pool, "identity/entity/id").values():
        add_entity(holders, entity, groups, prefix)
    holders.read += ["identity/group/id", "identity/entity/id"]
    _auth_methods(reader, pool, holders, prefix)
    if tokens:
        _direct_tokens(reader, pool, holders, prefix)
    return holders


def _direct_tokens(reader: VaultReader, pool: Executor, holders: PolicyHolders,
                   prefix: str) -> None:
    """Each live token created directly with policies, as a holder of them. A token revoked
    between the listing and its lookup holds nothing any more."""
    accessors = reader.names(TOKEN_ACCESSORS)

    def lookup(accessor: str) -> dict[str, Any] | None:
        try:
            return reader.lookup("auth/token/lookup-accessor", {"accessor": accessor})
        except VaultReadError as exc:
            if "invalid accessor" in str(exc):
                return None
            raise

    for accessor, token in zip(accessors, pool.map(lookup, accessors), strict=True):
        if token is None or not str(token.get("path") or "").startswith(DIRECT_TOKENS):
            continue  # gone, or a login's token: its role or user was read above
        digest = hashlib.sha256(accessor.encode()).hexdigest()[:12]
        name = token.get("display_name") or "token"
        holders.add(token.get("policies") or (),
                    Holder(f"token:{prefix}{name}#{digest}", PrincipalKind.UNKNOWN))
    holders.read.append(TOKEN_ACCESSORS)


def add_entity(holders: PolicyHolders, entity: Mapping[str, Any],
               groups: Mapping[str, Mapping[str, Any]], prefix: str) -> None:
    """The entity (an ``identity/entity/id/ID`` answer) as holder of its own policies and of
    those of every group it belongs to (``group_ids``: direct and inherited)."""
    types = {str(a.get("mount_type")) for a in entity.get("aliases") or () if isinstance(a, dict)}
    kind = PrincipalKind.SERVICE if types and types <= MACHINE_AUTH else PrincipalKind.USER
    principal = f"entity:{prefix}{entity.get('name')}"
    holders.add(entity.get("policies") or (), Holder(principal, kind))
    for group_id in entity.get("group_ids") or ():
        group = groups.get(str(group_id))
        if group is not None:  # a group of another namespace is not this one's holder
            holders.add(group.get("policies") or (),
                        Holder(principal, kind, f"group {prefix}{group.get('name')}"))


def _auth_methods(reader: VaultReader, pool: Executor, holders: PolicyHolders,
                  prefix: str) -> None:
    for mount, info in sorted(reader.get("sys/auth").items()):
        method = str(info.get("type")) if isinstance(info, dict) else "unknown"
        mount = mount.strip("/")
        if method in NOT_HOLDERS:
            continue
        if method not in AUTH_LISTS:
            holders.unread_methods.append(f"{prefix}{mount} ({method})")
            continue
        for collection, kind in AUTH_LISTS[method]:
            base = f"auth/{mount}/{collection}"
            for name, entry in _read_all(reader, pool, base).items():
                policies = {p for field in POLICY_FIELDS for p in entry.get(field) or ()}
                holders.add(policies, Holder(f"auth:{prefix}{base}/{name}", kind))
            holders.read.append(base)


def _read_all(reader: VaultReader, pool: Executor, path: str) -> dict[str, dict[str, Any]]:
    """LIST ``path`` and GET each entry on the pool: name (or id) -> its data."""
    names = reader.names(path)

    def read(name: str) -> dict[str, Any]:
        return reader.get(path_of(path, name))

    found = dict(zip(names, pool.map(read, names), strict=True))
    for name, data in found.items():
        if not isinstance(data, dict):
            raise VaultReadError(path_of(path, name), "unexpected response (not an object)")
    return found
