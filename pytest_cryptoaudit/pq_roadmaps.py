"""Post-quantum migration roadmaps as data: when each body retires classical public-key crypto.

Each roadmap names, per category, the day from which quantum-vulnerable public-key
cryptography is *deprecated* (still allowed, plan the move) and the day from which it is
*disallowed*. Dates are the first day of the new state: "disallowed after 2035" becomes
2036-01-01. How an asset falls into a category differs per body (NIST by security strength,
CNSA 2.0 by product category, EU by risk tier), so each roadmap says what it is keyed by.
A policy names the roadmap (``[policy] pq_roadmap``) and may pin its own dates
(``[policy] pq_pinned_dates``); these tables are the documented defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType

#: What a roadmap's categories are keyed by.
BY_STRENGTH = "strength"  # classical security bits: "112" or "128+"
BY_CNSA_CATEGORY = "cnsa-category"  # a key tag or the policy's default category
BY_TIER = "tier"  # the asset's risk tier
BY_NONE = "all"  # one category for every asset


@dataclasses.dataclass(frozen=True)
class Dates:
    """The deprecated and disallowed days of one category (``None``: no deprecation step)."""

    deprecated: date | None
    disallowed: date


@dataclasses.dataclass(frozen=True)
class Roadmap:
    """One body's published timeline for retiring quantum-vulnerable cryptography."""

    name: str
    title: str
    source: str
    keyed_by: str
    categories: Mapping[str, Dates]
    #: Whether AES-128 counts as quantum-resistant (Grover halves its strength to 64 bits).
    aes128_resistant: bool = True
    note: str = ""

    def dates_for(self, category: str) -> Dates:
        return self.categories[category]


def _table(entries: Mapping[str, tuple[date | None, date]]) -> Mapping[str, Dates]:
    return MappingProxyType({k: Dates(*v) for k, v in entries.items()})


NIST_IR_8547 = Roadmap(
    name="nist-ir-8547",
    title="NIST IR 8547 ipd",
    source="NIST IR 8547 (initial public draft, Nov 2024), Transition to Post-Quantum "
           "Cryptography Standards, Tables 2 and 4",
    keyed_by=BY_STRENGTH,
    # 112-bit RSA/ECDSA/EdDSA/DH/ECDH: deprecated after 2030, disallowed after 2035;
    # 128-bit and stronger: disallowed after 2035 with no deprecation step.
    categories=_table({
        "112": (date(2031, 1, 1), date(2036, 1, 1)),
        "128+": (None, date(2036, 1, 1)),
    }),
)

CNSA_2_0 = Roadmap(
    name="cnsa-2.0",
    title="CNSA 2.0",
    source="NSA CNSA 2.0 (Sep 2022, FAQ updated Dec 2024): 'support and prefer' and "
           "'exclusively use' dates per category",
    keyed_by=BY_CNSA_CATEGORY,
    # deprecated = the "support and prefer" year; disallowed = after the "exclusively use" year.
    categories=_table({
        "software-signing": (date(2025, 1, 1), date(2031, 1, 1)),
        "networking": (date(2026, 1, 1), date(2031, 1, 1)),
        "browsers-servers-cloud": (date(2025, 1, 1), date(2034, 1, 1)),
        "operating-systems": (date(2027, 1, 1), date(2034, 1, 1)),
        "niche": (date(2030, 1, 1), date(2034, 1, 1)),
        "custom-legacy": (None, date(2034, 1, 1)),
        "everything": (None, date(2036, 1, 1)),
    }),
    aes128_resistant=False,  # CNSA 2.0 requires AES-256
    note="CNSA 2.0 requires AES-256, SHA-384/512, ML-KEM-1024 and ML-DSA-87",
)

BSI_TR_02102 = Roadmap(
    name="bsi-tr-02102",
    title="BSI TR-02102-1 (2026)",
    source="BSI TR-02102-1 Cryptographic Mechanisms: Recommendations and Key Lengths "
           "(2026): classical-only key agreement recommended only until end-2031",
    keyed_by=BY_NONE,
    categories=_table({"all": (date(2026, 1, 1), date(2032, 1, 1))}),
)

EU_ROADMAP = Roadmap(
    name="eu-roadmap",
    title="EU coordinated PQC roadmap",
    source="NIS Cooperation Group, A Coordinated Implementation Roadmap for the Transition "
           "to Post-Quantum Cryptography (June 2025): first steps by 2026-12-31, high-risk "
           "use cases by 2030-12-31, medium-risk by 2035-12-31",
    keyed_by=BY_TIER,
    categories=_table({
        "critical": (date(2027, 1, 1), date(2031, 1, 1)),
        "high": (date(2027, 1, 1), date(2031, 1, 1)),
        "medium": (date(2027, 1, 1), date(2036, 1, 1)),
        "low": (date(2027, 1, 1), date(2036, 1, 1)),
    }),
)

ROADMAPS: Mapping[str, Roadmap] = MappingProxyType(
    {r.name: r for r in (NIST_IR_8547, CNSA_2_0, BSI_TR_02102, EU_ROADMAP)})
DEFAULT_ROADMAP = NIST_IR_8547.name


def roadmap(name: str) -> Roadmap:
    """The roadmap called ``name``; a ``ValueError`` naming the known ones otherwise."""
    try:
        return ROADMAPS[name]
    except KeyError:
        raise ValueError(f"unknown post-quantum roadmap {name!r} "
                         f"(known: {', '.join(sorted(ROADMAPS))})") from None
