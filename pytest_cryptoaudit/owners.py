"""Who answers for a key: its SSRM party, its risk tier and its accountable owner.

A key inherits its SSRM owner (CSP, CSC...) and risk tier from its system. Only namespaced
tags override them per key (default ``cryptoaudit:ssrm-owner`` and ``cryptoaudit:risk-tier``),
because a plain ``owner`` tag in a real estate names a team or a person, not an SSRM party.
That tag (its name configurable, default ``owner``) gives the key's *accountable owner*; the
system's ``accountable_owner`` setting is the fallback for keys that carry no tags at all
(files, PKCS#11 objects, certificates on a TLS endpoint).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated

import pydantic

from .model import SSRM_PARTIES, KeyRecord, RiskTier, is_valid_owner

#: The plain tier tag of earlier releases, still honoured where the namespaced one is absent.
TIER_TAG_ALIAS = "risk-tier"

TagName = Annotated[str, pydantic.StringConstraints(min_length=1)]


class TagNames(pydantic.BaseModel):
    """The ``[tags]`` table: which key tags (or labels) carry ownership and tier."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)

    #: Overrides the system's SSRM owner for one key (CSP, CSC, MP, OSP, AP, AIC or a pair).
    ssrm_owner: TagName = "cryptoaudit:ssrm-owner"
    #: Overrides the system's risk tier for one key (low, medium, high, critical).
    risk_tier: TagName = "cryptoaudit:risk-tier"
    #: Names the person or team accountable for the key (CEK-21 has-owner).
    accountable_owner: TagName = "owner"

    def mapped(self, rename: Callable[[str], str]) -> TagNames:
        """The same names as a provider's service spells them (GCP labels cannot hold ``:``)."""
        return TagNames(ssrm_owner=rename(self.ssrm_owner), risk_tier=rename(self.risk_tier),
                        accountable_owner=rename(self.accountable_owner))


def apply_tags(key: KeyRecord, names: TagNames, *, require_tier_tag: bool = False) -> KeyRecord:
    """Return ``key`` with the overrides its tags make; an invalid override becomes a
    finding that names the tag (kept in ``unreadable``, never silently ignored)."""
    unreadable = dict(key.unreadable)
    tier = _tier(key, names, require_tier_tag, unreadable)
    ssrm_owner = _ssrm_owner(key, names, unreadable)
    accountable = key.tags.get(names.accountable_owner, "").strip() or key.accountable_owner
    changed = dataclasses.replace(key, risk_tier=tier, owner=ssrm_owner,
                                  accountable_owner=accountable, unreadable=unreadable)
    return key if changed == key else changed


def _tier(key: KeyRecord, names: TagNames, required: bool, unreadable: dict[str, str]) -> RiskTier:
    tag = names.risk_tier if names.risk_tier in key.tags else TIER_TAG_ALIAS
    if tag not in key.tags:
        if required:
            unreadable["risk_tier"] = (f"no {names.risk_tier!r} tag: the system requires each "
                                       "key to declare its tier")
        return key.risk_tier
    value = key.tags[tag]
    try:
        return RiskTier(value)
    except ValueError:
        unreadable["risk_tier"] = (f"invalid {tag!r} tag {value!r} (expected low, medium, high "
                                   "or critical)")
        return key.risk_tier


def _ssrm_owner(key: KeyRecord, names: TagNames, unreadable: dict[str, str]) -> str:
    value = key.tags.get(names.ssrm_owner)
    if value is None:
        return key.owner
    if not is_valid_owner(value) and is_valid_owner(value.upper()):
        value = value.upper()  # GCP label values are lowercase: "csc" names CSC
    if not is_valid_owner(value):
        unreadable["ssrm_owner"] = (f"invalid {names.ssrm_owner!r} tag {value!r} (expected an "
                                    f"SSRM owner: {', '.join(SSRM_PARTIES)} or a shared pair "
                                    "such as CSP-MP)")
        return key.owner
    return value
