"""Providers turn one configured system into inventory records.

A provider is a small class with a ``name``, an options model (pydantic, extra keys
forbidden) and a ``discover`` method. Providers are found through the entry-point group
``pytest_cryptoaudit.providers`` and the ``pytest_cryptoaudit_add_providers`` hook; a module is
imported only when a configured system uses it, so optional dependencies load lazily.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pydantic

from ..budget import SystemWatch
from ..model import (
    DiscoveryError,
    EndpointRecord,
    KeyKind,
    KeyRecord,
    LibraryRecord,
    SourceLocation,
    SystemRecord,
)

if TYPE_CHECKING:
    from ..config import SystemConfig
    from ..policy import Policy, PolicySetting

ENTRY_POINT_GROUP = "pytest_cryptoaudit.providers"


class ProviderOptions(pydantic.BaseModel):
    """Base of every provider's options: unknown keys and wrong types are usage errors."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)


@dataclasses.dataclass(frozen=True)
class DiscoveryContext:
    """What a provider may use while it looks: policy, clock, selection and a progress sink.

    ``progress(system, keys, errors, expected=None)`` reports keys read so far; ``expected``
    is how many the provider knows it will read (after listing), which gives an ETA.
    """

    policy: Policy
    now: datetime
    base_dir: Path = Path(".")
    selected_controls: frozenset[str] | None = None
    progress: Callable[..., None] = lambda system, keys, errors, expected=None: None
    #: The system's deadlines; discovery gives each system its own (see ``budget``).
    watch: SystemWatch = dataclasses.field(default_factory=lambda: SystemWatch("system"))
    #: The facts the selected controls require or read; None: every fact (a full run).
    #: Computed from ``selected_controls`` unless given.
    required_facts: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.required_facts is None and self.selected_controls is not None:
            from ..fetchplan import facts_for_controls

            object.__setattr__(self, "required_facts",
                               facts_for_controls(self.selected_controls))

    def needs(self, *facts: str) -> bool:
        """True if a selected control needs any of ``facts``, so the calls that fill them
        must be made (see ``Provider.fetches``)."""
        if self.required_facts is None:
            return True
        return any(name in self.required_facts for name in facts)


@dataclasses.dataclass
class Discovery:
    """The attempt for one system: what was found and what could not be read."""

    system: SystemRecord
    keys: list[KeyRecord] = dataclasses.field(default_factory=list)
    errors: list[DiscoveryError] = dataclasses.field(default_factory=list)
    endpoints: list[EndpointRecord] = dataclasses.field(default_factory=list)
    libraries: list[LibraryRecord] = dataclasses.field(default_factory=list)

    def add_key(self, uid: str, kind: str, **fields: Any) -> KeyRecord:
        """Record one key of this system; it inherits the system's tier and owner."""
        record = KeyRecord(
            uid=uid,
            system=self.system.name,
            provider=self.system.provider,
            kind=KeyKind(kind),
            risk_tier=self.system.risk_tier,
            owner=self.system.owner,
            accountable_owner=self.system.accountable_owner,
            **fields,
        )
        self.keys.append(record)
        return record

    def add_endpoint(self, uid: str, address: str, **fields: Any) -> EndpointRecord:
        """Record one network endpoint of this system (tier and owner as for keys)."""
        record = EndpointRecord(
            uid=uid,
            system=self.system.name,
            provider=self.system.provider,
            risk_tier=self.system.risk_tier,
            owner=self.system.owner,
            accountable_owner=self.system.accountable_owner,
            address=address,
            **fields,
        )
        self.endpoints.append(record)
        return record

    def add_library(self, uid: str, name: str, version: str, source: str, path: str,
                    **fields: Any) -> LibraryRecord:
        """Record one crypto library of this system (tier and owner as for keys)."""
        record = LibraryRecord(
            uid=uid, system=self.system.name, provider=self.system.provider,
            risk_tier=self.system.risk_tier, owner=self.system.owner,
            accountable_owner=self.system.accountable_owner, name=name, version=version,
            source=source, path=path, **fields)
        self.libraries.append(record)
        return record

    def error(self, reason: str, key_uid: str | None = None,
              location: SourceLocation | None = None) -> None:
        """Record a failure to look at the whole system (no key uid) or at one key or
        endpoint (its uid); ``location`` is the file and line that could not be read."""
        self.errors.append(
            DiscoveryError(
                system=self.system.name,
                provider=self.system.provider,
                reason=reason,
                key_uid=key_uid,
                risk_tier=self.system.risk_tier,
                owner=self.system.owner,
                accountable_owner=self.system.accountable_owner,
                location=location,
            )
        )


class Provider:
    """Base class of providers. Subclasses set ``name``, ``component`` and ``Options``."""

    name: ClassVar[str]
    #: The CEK-09 scope class this provider covers (kms, hsm, secrets-engine, key-files, tls).
    component: ClassVar[str] = "other"
    Options: ClassVar[type[ProviderOptions]] = ProviderOptions
    #: Fact -> the calls that fill it, for the facts whose calls are made only when a
    #: selected control needs them (``DiscoveryContext.needs``). Documentation and a test
    #: read it; a fact left out here is fetched on every run.
    fetches: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    #: Policy thresholds the provider's controls use, with documented defaults.
    policy_settings: ClassVar[tuple[PolicySetting, ...]] = ()

    def discover(self, system: SystemConfig, context: DiscoveryContext) -> Discovery:
        raise NotImplementedError

    @classmethod
    def tag_name(cls, name: str) -> str:
        """How this service spells a configured tag name. A provider whose labels cannot
        hold ``:`` (GCP labels, say) maps ``cryptoaudit:ssrm-owner`` to
        ``cryptoaudit-ssrm-owner`` here."""
        return name

    @classmethod
    def new_discovery(cls, system: SystemConfig, **attributes: Any) -> Discovery:
        """Start an attempt with the system record that config describes."""
        record = SystemRecord(
            name=system.name,
            provider=system.provider,
            risk_tier=system.risk_tier,
            owner=system.ssrm_owner,
            accountable_owner=system.accountable_owner,
            component=cls.component,
            attributes=attributes,
        )
        return Discovery(system=record)


#: The providers' entry points by the import path they were read from: reading them opens
#: every installed distribution's metadata (ten milliseconds here), and a process that makes
#: several registries (a test suite, the CLI) sees the same ones unless ``sys.path`` changes.
_ENTRY_POINTS: dict[tuple[str, ...], dict[str, EntryPoint]] = {}


def _provider_entry_points() -> dict[str, EntryPoint]:
    path = tuple(sys.path)
    found = _ENTRY_POINTS.get(path)
    if found is None:
        found = _ENTRY_POINTS[path] = {
            ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return found


class ProviderRegistry:
    """Provider classes by name; entry points are loaded only when their name is asked for."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Provider]] = {}
        self._entry_points = _provider_entry_points()

    def register(self, provider: type[Provider]) -> None:
        self._classes[provider.name] = provider

    def names(self) -> list[str]:
        return sorted(set(self._classes) | set(self._entry_points))

    def __contains__(self, name: object) -> bool:
        return name in self._classes or name in self._entry_points

    def policy_settings(self) -> list[PolicySetting]:
        """The policy settings of every provider that loads. One that does not load is
        reported when a system uses it (see :meth:`get`), not here."""
        settings: list[PolicySetting] = []
        for name in self.names():
            try:
                provider = self.get(name)
            except ProviderLoadError:
                continue
            settings.extend(provider.policy_settings)
        return settings

    def get(self, name: str) -> type[Provider]:
        if name not in self._classes:
            entry_point = self._entry_points[name]
            try:
                loaded = entry_point.load()
            except Exception as exc:  # any import failure of a plugin is reported the same way
                raise ProviderLoadError(
                    f"provider {name!r} ({entry_point.value}) cannot be loaded: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if not (isinstance(loaded, type) and issubclass(loaded, Provider)):
                raise ProviderLoadError(f"entry point {name!r} does not name a Provider class")
            self._classes[name] = loaded
        return self._classes[name]


class ProviderLoadError(Exception):
    """A registered provider could not be imported (a missing optional dependency, say)."""


def sorted_unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))
