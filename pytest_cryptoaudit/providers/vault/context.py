"""The per-tenant context every use of a transit key carries under one ACL policy.

Transit keeps tenants apart on a shared key in two ways the server enforces:

- a **derived** key (``derived=true``, also behind ``convergent_encryption``): every
  encrypt, decrypt, rewrap and datakey request must pass ``context``, and each context
  derives a key of its own, so data under one tenant's context does not decrypt under
  another's;
- **associated data** of an AEAD key type (``associated_data``): decryption fails unless it
  matches, but a request may leave it out, so it counts only where the policy's
  ``required_parameters`` name it on the path.

An ACL that requires ``context`` on a key that is not derived adds nothing: transit accepts
and ignores the context there (OpenBao and Vault alike), so it is not counted and the grant
says so. ``allowed_parameters`` that list the values of the parameter (not ``*``) pin each
policy's holders to their tenant's contexts: the grant is then ``restricted``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

CONTEXT = "context"
ASSOCIATED_DATA = "associated_data"
#: Transit types whose encryption takes associated data.
AEAD_TYPES = frozenset({"aes128-gcm96", "aes256-gcm96", "chacha20-poly1305",
                        "xchacha20-poly1305"})
#: The operations that encrypt or decrypt tenant data: the ones a context must bind.
ENCRYPTION_OPERATIONS = ("encrypt", "decrypt", "rewrap", "datakey/plaintext",
                         "datakey/wrapped")


@dataclasses.dataclass(frozen=True, slots=True)
class KeyContext:
    """What a transit key itself demands of every use."""

    derived: bool = False
    aead: bool = False

    @classmethod
    def of(cls, attributes: Mapping[str, Any]) -> KeyContext:
        return cls(derived=bool(attributes.get("derived")),
                   aead=str(attributes.get("transit_type")) in AEAD_TYPES)


@dataclasses.dataclass(frozen=True, slots=True)
class UseContext:
    """The context parameters every granted use carries, whether the policy pins their
    values, and the ones the policy requires that the key ignores."""

    keys: tuple[str, ...] = ()
    pinned: bool = False
    ignored: tuple[str, ...] = ()

    def describe(self, key: KeyContext) -> str:
        """A clause for the grant's reference, empty when there is nothing to say."""
        parts = []
        if CONTEXT in self.keys:
            parts.append("context required (derived key)" if key.derived
                         else "context required")
        if ASSOCIATED_DATA in self.keys:
            parts.append("associated_data required by the ACL")
        if self.keys:
            parts.append("values pinned by allowed_parameters" if self.pinned
                         else "values not pinned")
        if self.ignored:
            parts.append(f"{', '.join(self.ignored)} required by the ACL but ignored: the key "
                         "is not derived")
        return "; ".join(parts)


def _pinned(conditions: Mapping[str, Any], parameter: str) -> bool:
    values = (conditions.get("allowed_parameters") or {}).get(parameter) or []
    return bool(values) and "*" not in values


def path_context(conditions: Mapping[str, Any] | None,
                 key: KeyContext) -> tuple[set[str], set[str], set[str]]:
    """(carried, pinned, ignored) context parameters on one request path of the key."""
    conditions = conditions or {}
    required = set(conditions.get("required_parameters") or ())
    carried: set[str] = set()
    if key.derived:
        carried.add(CONTEXT)
    if key.aead and ASSOCIATED_DATA in required:
        carried.add(ASSOCIATED_DATA)
    ignored = {CONTEXT} & required - carried
    return carried, {p for p in carried if _pinned(conditions, p)}, ignored


def use_context(paths: Iterable[Mapping[str, Any] | None], key: KeyContext) -> UseContext:
    """What every one of the granted encryption paths carries (their conditions given)."""
    carried: set[str] | None = None
    pinned: set[str] | None = None
    ignored: set[str] = set()
    for conditions in paths:
        on_path, pinned_here, ignored_here = path_context(conditions, key)
        carried = on_path if carried is None else carried & on_path
        pinned = pinned_here if pinned is None else pinned & pinned_here
        ignored |= ignored_here
    keys = tuple(sorted(carried or ()))
    return UseContext(keys, bool(set(keys) & (pinned or set())), tuple(sorted(ignored)))
