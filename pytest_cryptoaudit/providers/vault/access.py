"""Who may do what with a transit key, from the server's ACL policies (``managed.access``).

Each ACL policy that lets its holders act on a key becomes one :class:`~pytest_cryptoaudit.
facts.Grant` whose principal is the policy (``policy:NAME``; ``policy:NAMESPACE/NAME`` when
the system audits a namespace): tokens, entities, groups and auth roles hold policies, and a
policy is what says what they may do. For each key the concrete request paths of its
operations are matched against the policy's path globs, and the rule Vault itself would
apply (the highest-priority matching glob, see :func:`priority`) decides:

========  ==================================================================================
action    request paths (capabilities)
========  ==================================================================================
use       ``MOUNT/{encrypt,decrypt,rewrap,sign,verify,hmac}/NAME``,
          ``MOUNT/datakey/{plaintext,wrapped}/NAME`` (create or update)
manage    ``MOUNT/keys/NAME`` (create, update), ``MOUNT/keys/NAME/{config,rotate,import,
          import_version}``, ``MOUNT/restore/NAME`` (update)
delete    ``MOUNT/keys/NAME`` (delete), ``MOUNT/keys/NAME/trim`` (update)
export    ``MOUNT/export/{encryption-key,signing-key,hmac-key}/NAME``, ``MOUNT/backup/NAME``
          (read)
grant     writing ACL policies: ``sys/policies/acl/*`` or ``sys/policy/*`` (create, update),
          for a policy of a namespace above also those paths in every namespace on the way
          down (``b/c/sys/policies/acl/*`` from ``a`` for ``a/b/c``)
========  ==================================================================================

Each policy is judged alone: a ``deny`` in another policy held by the same token can narrow
what that token may do, so the grants may name more access than a given token has, never
less. The ``root`` policy is implicit and not listed (root tokens hold it).

Where the holders of the policies were read (``holders.py``), each holder of a policy gets
the policy's grant under its own name (``entity:``, ``group:``, ``auth:`` principals), and
the policy's own grant stays for the tokens created with it directly. Each grant carries the
context its encryption paths require (``context.py``): ``context`` on a derived key,
``associated_data`` an ACL requires, ``restricted`` where ``allowed_parameters`` pin them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from ...facts import Action, Grant, PrincipalKind
from .client import path_prefixes
from .context import ENCRYPTION_OPERATIONS, KeyContext, UseContext, use_context
from .holders import Holder, PolicyHolders
from .policies import globs_overlap

SOURCE = "vault-acl"
WRITE = frozenset({"create", "update"})
_USE_OPERATIONS = ("encrypt", "decrypt", "rewrap", "sign", "verify", "hmac",
                   "datakey/plaintext", "datakey/wrapped")
_EXPORT_TYPES = ("encryption-key", "signing-key", "hmac-key")
#: A stand-in policy name: any glob that can take a policy name takes this one.
_POLICY_PATHS = ("sys/policies/acl/+", "sys/policy/+")


def key_operations(mount: str, name: str) -> list[tuple[str, frozenset[str], Action]]:
    """(request path, capabilities that allow it, action) for every operation on the key."""
    base = mount.strip("/")
    found: list[tuple[str, frozenset[str], Action]] = []
    for operation in _USE_OPERATIONS:
        found.append((f"{base}/{operation}/{name}", WRITE, Action.USE))
    for operation in ("sign", "verify", "hmac"):  # MOUNT/sign/NAME/HASH
        found.append((f"{base}/{operation}/{name}/sha2-256", WRITE, Action.USE))
    found.append((f"{base}/keys/{name}", WRITE, Action.MANAGE))
    for operation in ("config", "rotate", "import", "import_version"):
        found.append((f"{base}/keys/{name}/{operation}", frozenset({"update"}), Action.MANAGE))
    found.append((f"{base}/restore/{name}", frozenset({"update"}), Action.MANAGE))
    found.append((f"{base}/keys/{name}", frozenset({"delete"}), Action.DELETE))
    found.append((f"{base}/keys/{name}/trim", frozenset({"update"}), Action.DELETE))
    for export in _EXPORT_TYPES:
        found.append((f"{base}/export/{export}/{name}", frozenset({"read"}), Action.EXPORT))
    found.append((f"{base}/backup/{name}", frozenset({"read"}), Action.EXPORT))
    return found


def policy_write_paths(below: str = "") -> tuple[str, ...]:
    """Stand-ins for writing an ACL policy that reaches a key of namespace ``below`` (its
    path as seen from the policy's own namespace, "" for the same): a policy written in the
    policy's own namespace or in any namespace on the way down to ``below`` reaches it."""
    return tuple(f"{prefix}{path}" for prefix in path_prefixes(below) for path in _POLICY_PATHS)


def priority(glob: str) -> tuple[int, bool, int, int, str]:
    """Vault's order among globs matching one path (the highest wins): the later the first
    ``+`` or ``*``, not ending in ``*``, fewer ``+`` segments, longer, then lexically larger."""
    segments = glob.split("/")
    wild = [i for i, c in enumerate(glob) if c == "*"]
    offset = 0
    for segment in segments:
        if segment == "+":
            wild.append(offset)
        offset += len(segment) + 1
    return (min(wild, default=len(glob)), not glob.endswith("*"),
            -segments.count("+"), len(glob), glob)


def rule_for(rules: Mapping[str, list[str]], path: str) -> str | None:
    """The glob of ``rules`` that Vault applies to the concrete request ``path``."""
    matching = [glob for glob in rules if globs_overlap(glob, path)]
    return max(matching, key=priority) if matching else None


def _allowed(rules: Mapping[str, list[str]], path: str,
             capabilities: frozenset[str]) -> str | None:
    glob = rule_for(rules, path)
    if glob is None:
        return None
    granted = set(rules[glob])
    return glob if "deny" not in granted and granted & capabilities else None


def policy_grant(policy: str, rules: Mapping[str, list[str]], mount: str, name: str,
                 namespace: str | None = None, *,
                 conditions: Mapping[str, Mapping[str, Any]] | None = None,
                 key: KeyContext | None = None,
                 policy_paths: tuple[str, ...] = _POLICY_PATHS) -> Grant | None:
    """The grant the policy gives on key ``mount/name``, or None if it gives nothing;
    ``conditions`` are the policy's parameter conditions by glob, ``key`` what the key
    itself demands of every use, ``policy_paths`` the paths whose write is the grant action
    (see :func:`policy_write_paths`)."""
    actions: set[Action] = set()
    globs: set[str] = set()
    encrypting: list[str] = []
    for path, capabilities, action in key_operations(mount, name):
        glob = _allowed(rules, path, capabilities)
        if glob is not None:
            actions.add(action)
            globs.add(glob)
            if _encrypts(path, mount, name):
                encrypting.append(glob)
    for stand_in in policy_paths:
        for glob, granted in rules.items():
            if ("deny" not in granted and WRITE & set(granted)
                    and globs_overlap(glob, stand_in)):
                actions.add(Action.GRANT)
                globs.add(glob)
    if not actions:
        return None
    key = key or KeyContext()
    context = (use_context(((conditions or {}).get(g) for g in encrypting), key)
               if encrypting else UseContext())
    principal = f"policy:{namespace.strip('/')}/{policy}" if namespace else f"policy:{policy}"
    paths = ", ".join(f'"{g}"' for g in sorted(globs))
    clause = context.describe(key)
    return Grant(principal, PrincipalKind.ROLE, tuple(actions), SOURCE,
                 restricted=context.pinned, context_keys=context.keys,
                 ref=f"{SOURCE} policy {policy}: path {paths}" + (f"; {clause}" if clause
                                                                    else ""))


def _encrypts(path: str, mount: str, name: str) -> bool:
    base = mount.strip("/")
    return any(path == f"{base}/{operation}/{name}" for operation in ENCRYPTION_OPERATIONS)


def held_grants(grant: Grant, policy: str, holders: Iterable[Holder]) -> list[Grant]:
    """The policy's grant under the name of each of its holders."""
    found = []
    for holder in holders:
        how = f"{policy} via {holder.via}" if holder.via else policy
        found.append(dataclasses.replace(
            grant, principal=holder.principal, kind=holder.kind,
            ref=grant.ref.replace(f"policy {policy}:", f"policy {how}:", 1)))
    return found


def key_access(policies: Mapping[str, Mapping[str, list[str]]], mount: str, name: str,
               namespace: str | None = None, *,
               conditions: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
               key: KeyContext | None = None,
               holders: PolicyHolders | None = None,
               policy_paths: tuple[str, ...] = _POLICY_PATHS) -> tuple[Grant, ...]:
    """Every policy's grant on the key, in policy-name order, each followed by the same
    grant under the name of every holder of the policy (where ``holders`` were read)."""
    found: list[Grant] = []
    for policy, rules in sorted(policies.items()):
        grant = policy_grant(policy, rules, mount, name, namespace,
                             conditions=(conditions or {}).get(policy), key=key,
                             policy_paths=policy_paths)
        if grant is None:
            continue
        if holders is None:
            found.append(grant)
            continue
        found += holders.grants(grant, policy, _held_by)
    return tuple(found)


def _held_by(grant: Grant, policy: str, held: tuple[Holder, ...]) -> tuple[Grant, ...]:
    """The policy's grant (noting when no one is seen to hold it) and its holders' grants."""
    if not held:
        return (dataclasses.replace(grant, ref=grant.ref.replace(
            f"policy {policy}:", f"policy {policy} (no holder found):", 1)),)
    return (grant, *held_grants(grant, policy, held))
