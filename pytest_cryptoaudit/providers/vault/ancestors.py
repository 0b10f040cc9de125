"""The ACL policies of the namespaces above the audited one, and who holds them.

A policy reaches into every namespace below its own: a policy of namespace ``a`` that grants
``b/transit/encrypt/k`` lets its holders encrypt with key ``k`` of namespace ``a/b`` (OpenBao
enforces such paths). So for a system auditing ``a/b/c`` the policies of the root namespace,
of ``a`` and of ``a/b`` are read too, each with its holders where they are needed, and each
one's grants on a key are judged on the key's path as seen from there: ``a/b/c/MOUNT/...``
from the root, ``b/c/MOUNT/...`` from ``a``, ``c/MOUNT/...`` from ``a/b``. A namespace above
whose policies or holders cannot be read leaves the access (or the holders) unknown, with a
reason naming that namespace, never judged on the others alone.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from ...facts import Grant
from .access import key_access, policy_write_paths
from .client import namespace_ancestors
from .context import KeyContext
from .holders import PolicyHolders

#: How the root namespace is named among the ancestors: a name no namespace may take
#: (OpenBao answers ``"root/" is a reserved path``).
ROOT = "root"


@dataclasses.dataclass
class Ancestor:
    """One namespace above the audited one: its policies, their conditions and holders."""

    #: The namespace's path from the root ("" for the root itself).
    namespace: str
    #: The audited namespace's path as seen from this one (``b/c`` from ``a`` for ``a/b/c``).
    below: str
    policies: dict[str, dict[str, list[str]]] = dataclasses.field(default_factory=dict)
    #: Whether ``policies`` were read (they are read only when something needs them).
    policies_read: bool = False
    conditions: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    holders: PolicyHolders | None = None

    @property
    def label(self) -> str:
        """The name the system record gives the namespace (``root`` for the root)."""
        return self.namespace or ROOT

    @property
    def described(self) -> str:
        """The namespace in a reason: ``root namespace`` or ``namespace a/b``."""
        return f"namespace {self.namespace}" if self.namespace else "root namespace"

    @functools.cached_property
    def policy_paths(self) -> tuple[str, ...]:
        """Paths whose write is the grant action on the audited namespace's keys."""
        return policy_write_paths(self.below)

    def grants(self, mount: str, name: str, key: KeyContext) -> tuple[Grant, ...]:
        """The grants this namespace's policies give on key ``mount/name`` of the audited
        namespace (with the holders' grants where they were read). Writing policies here
        or in a namespace on the way down is the grant action on it."""
        return key_access(self.policies, f"{self.below}/{mount.strip('/')}", name,
                          self.namespace or None, conditions=self.conditions, key=key,
                          holders=self.holders, policy_paths=self.policy_paths)

    def holders_by_policy(self) -> dict[str, list[str]]:
        """Policy -> the principals holding it, for the system record."""
        held = self.holders or PolicyHolders()
        return {policy: [h.principal for h in held.of(policy)]
                for policy in sorted(self.policies)}


def ancestors_of(namespace: str | None) -> list[Ancestor]:
    """Every namespace above ``namespace``, outermost (the root) first."""
    if not namespace:
        return []
    parts = namespace.strip("/").split("/")
    return [Ancestor(above, "/".join(parts[above.count("/") + 1 if above else 0:]))
            for above in namespace_ancestors(namespace)]
