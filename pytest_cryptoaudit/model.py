"""The provider-neutral inventory model: frozen records, never key material.

Providers turn one system's configuration into :class:`KeyRecord` and :class:`SystemRecord`
objects; a failure to read anything becomes a :class:`DiscoveryError` that is kept as data.
Everything here round-trips through plain JSON so that the xdist controller can hand the
inventory to its workers and the evidence file can carry it.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from .facts import ManagedKeyFacts


class RiskTier(enum.StrEnum):
    """How much harm a compromise of the system would do; higher tiers get stricter policy."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _TIER_RANK[self]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, RiskTier):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, RiskTier):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, RiskTier):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, RiskTier):
            return NotImplemented
        return self.rank < other.rank


_TIER_ORDER = (RiskTier.LOW, RiskTier.MEDIUM, RiskTier.HIGH, RiskTier.CRITICAL)
#: Looked up for every (control, record) at collection: a dict, not a tuple's index.
_TIER_RANK = {tier: rank for rank, tier in enumerate(_TIER_ORDER)}


class KeyKind(enum.StrEnum):
    SECRET_KEY = "secret-key"
    PRIVATE_KEY = "private-key"
    PUBLIC_KEY = "public-key"
    CERTIFICATE = "certificate"


class Outcome(enum.StrEnum):
    """The result of one check on one subject. ``error`` means the check could not look;
    ``not-applicable`` is a check that had no subject in a system (no test ran: it counts
    in no total and never in the exit status)."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    WAIVED = "waived"
    NOT_APPLICABLE = "not-applicable"


#: The attribute in which a record lists the facts its source never states, each with why (a
#: key's age is not in infrastructure code; a named TLS policy does not list its groups): a
#: check that requires or reads one of them has no subject in that record, and is judged
#: where the fact lives (the live key, a scan of the endpoint). A fact the source should
#: state but could not be read is ``unreadable`` instead, and its checks error.
UNSTATED = "unstated"


#: SSRM owners from CCM v4 (CSP, CSC) and the AI Controls Matrix (MP, OSP, AP, AIC).
SSRM_PARTIES = ("CSP", "CSC", "MP", "OSP", "AP", "AIC")


def is_valid_owner(owner: str) -> bool:
    """True for a single SSRM party or a shared pair such as ``CSP-MP``."""
    parts = owner.removeprefix("Shared ").split("-")
    return 1 <= len(parts) <= 2 and all(part in SSRM_PARTIES for part in parts)


#: One read-only empty mapping for every record without tags, attributes or unreadable facts:
#: three per record (a dict and its proxy each) were a quarter of a key's memory.
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value)) if value else _EMPTY


def _freeze(record: Any, *mappings: str) -> None:
    """Coerce a record's tier to :class:`RiskTier` and make its mappings read-only."""
    object.__setattr__(record, "risk_tier", RiskTier(record.risk_tier))
    for name in mappings or ("attributes", "unreadable"):
        object.__setattr__(record, name, _frozen_mapping(getattr(record, name)))


@dataclasses.dataclass(frozen=True)
class SourceLocation:
    """Where a record is declared in a file: infrastructure code, a manifest, a key file.

    ``path`` is relative to the configuration's folder (POSIX separators), ``line`` and
    ``end_line`` count from 1, and ``address`` names the resource inside the file (a
    Terraform address, a CloudFormation logical id, a Kubernetes ``kind/namespace/name``).
    Reporters that annotate code (SARIF) place a finding there; where a record is declared
    is not a fact about the key, so moving it never counts as a material change.
    """

    path: str
    line: int | None = None
    end_line: int | None = None
    address: str | None = None


@dataclasses.dataclass(frozen=True)
class CertificateInfo:
    """What an auditor needs to know about one X.509 certificate (never its private key)."""

    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    signature_algorithm: str
    signature_hash: str | None
    is_ca: bool
    self_signed: bool
    key_usage: tuple[str, ...] = ()
    extended_key_usage: tuple[str, ...] = ()
    subject_alt_names: tuple[str, ...] = ()

    @property
    def lifetime_days(self) -> float:
        return (self.not_after - self.not_before).total_seconds() / 86400


@dataclasses.dataclass(frozen=True)
class KeyRecord:
    """One key or certificate as discovered; immutable and free of key material.

    ``unreadable`` maps an attribute name to the reason the provider could not read it, so
    a control that needs that attribute errors with the reason instead of passing.
    """

    uid: str
    system: str
    provider: str
    kind: KeyKind
    risk_tier: RiskTier
    owner: str
    #: The person or team that answers for the key (CEK-21); ``owner`` is its SSRM party.
    accountable_owner: str = ""
    algorithm: str | None = None
    size: int | None = None
    curve: str | None = None
    usage: tuple[str, ...] = ()
    state: str | None = None
    origin: str | None = None
    created: datetime | None = None
    rotated: datetime | None = None
    expires: datetime | None = None
    rotation_enabled: bool | None = None
    rotation_period_days: int | None = None
    fingerprint: str | None = None
    certificate: CertificateInfo | None = None
    #: Typed facts of a key held by a key-management service (see :mod:`.facts`).
    managed: ManagedKeyFacts | None = None
    #: Where the key is declared, for keys read from files and infrastructure code.
    location: SourceLocation | None = None
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)
    attributes: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    unreadable: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", KeyKind(self.kind))
        object.__setattr__(self, "usage", tuple(self.usage))
        _freeze(self, "tags", "attributes", "unreadable")


@dataclasses.dataclass(frozen=True)
class SystemRecord:
    """One audited system (a KMS account/region set, a Vault server, a token, a folder...)."""

    name: str
    provider: str
    risk_tier: RiskTier
    owner: str
    component: str = "other"
    accountable_owner: str = ""
    attributes: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    unreadable: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        _freeze(self)

    @property
    def uid(self) -> str:
        return f"{self.provider}:{self.name}"


@dataclasses.dataclass(frozen=True)
class EndpointRecord:
    """One network endpoint of a system (a TLS listener) and its protocol configuration.

    Data in transit has no key record of its own: what an auditor checks is what the
    endpoint accepts (protocol versions, cipher suites, key exchange groups). The
    certificates it presents are :class:`KeyRecord` objects whose ``attributes["endpoint"]``
    is this record's ``uid``, so the certificate controls serve them like any other.
    """

    uid: str
    system: str
    provider: str
    risk_tier: RiskTier
    owner: str
    address: str
    protocol: str = "tls"
    accountable_owner: str = ""
    location: SourceLocation | None = None
    attributes: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    unreadable: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        _freeze(self)


@dataclasses.dataclass(frozen=True)
class LibraryRecord:
    """One cryptographic library a host or image runs: a subject of its own, so each
    library's support, advisory and FIPS verdicts are separate results.

    ``source`` says where it was found (``dpkg``, ``apk``, ``rpm``, ``python``,
    ``go-buildinfo``, ``jar``), ``path`` the file that names it (a package database, a
    site-packages folder, a binary), and ``layer`` the image layer that put it there (its
    digest), None outside images. Package names, the distribution's version string and
    advisories are in ``attributes``.
    """

    uid: str
    system: str
    provider: str
    risk_tier: RiskTier
    owner: str
    name: str
    version: str
    source: str
    path: str
    layer: str | None = None
    accountable_owner: str = ""
    attributes: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    unreadable: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        _freeze(self)


@dataclasses.dataclass(frozen=True)
class DiscoveryError:
    """A failure to look: a system or one key that could not be read, and why."""

    system: str
    provider: str
    reason: str
    key_uid: str | None = None
    risk_tier: RiskTier = RiskTier.LOW
    owner: str = ""
    accountable_owner: str = ""
    #: The file and line that could not be read, where the failure has one.
    location: SourceLocation | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "risk_tier", RiskTier(self.risk_tier))

    @property
    def uid(self) -> str:
        return self.key_uid or f"{self.provider}:{self.system}"


@dataclasses.dataclass(frozen=True)
class Inventory:
    """Everything one session discovered, sorted by uid so that every worker agrees."""

    keys: tuple[KeyRecord, ...] = ()
    systems: tuple[SystemRecord, ...] = ()
    errors: tuple[DiscoveryError, ...] = ()
    endpoints: tuple[EndpointRecord, ...] = ()
    libraries: tuple[LibraryRecord, ...] = ()

    @classmethod
    def build(
        cls,
        keys: Iterable[KeyRecord],
        systems: Iterable[SystemRecord],
        errors: Iterable[DiscoveryError],
        endpoints: Iterable[EndpointRecord] = (),
        libraries: Iterable[LibraryRecord] = (),
    ) -> Inventory:
        return cls(
            keys=tuple(sorted(keys, key=lambda k: k.uid)),
            systems=tuple(sorted(systems, key=lambda s: s.name)),
            errors=tuple(sorted(errors, key=lambda e: (e.system, e.uid, e.reason))),
            endpoints=tuple(sorted(endpoints, key=lambda e: e.uid)),
            libraries=tuple(sorted(libraries, key=lambda e: e.uid)),
        )

    def system(self, name: str) -> SystemRecord | None:
        return next((s for s in self.systems if s.name == name), None)

    def keys_of(self, system: str) -> tuple[KeyRecord, ...]:
        return tuple(k for k in self.keys if k.system == system)

    def errors_of(self, system: str) -> tuple[DiscoveryError, ...]:
        return tuple(e for e in self.errors if e.system == system)

    def endpoints_of(self, system: str) -> tuple[EndpointRecord, ...]:
        return tuple(e for e in self.endpoints if e.system == system)

    def libraries_of(self, system: str) -> tuple[LibraryRecord, ...]:
        return tuple(e for e in self.libraries if e.system == system)


class EventKind(enum.StrEnum):
    """Security events and material changes that make a system due for audit (CEK-09)."""

    SECURITY_INCIDENT = "security-incident"
    KEY_COMPROMISE = "key-compromise"
    CONFIG_CHANGE = "config-change"
    POLICY_CHANGE = "policy-change"


@dataclasses.dataclass(frozen=True)
class Event:
    """A recorded security event or material change of one system.

    ``key`` and ``versions`` narrow a key compromise to one key and its compromised
    versions (Vault transit versions, for instance).
    """

    system: str
    kind: EventKind
    at: datetime
    note: str = ""
    key: str | None = None
    versions: tuple[int, ...] = ()
    source: str = "config"

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EventKind(self.kind))
        object.__setattr__(self, "versions", tuple(self.versions))
