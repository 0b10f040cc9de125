"""The in-memory provider of :mod:`pytest_cryptoaudit.testing`, and its record builders.

A test builds records with :func:`key_record` (and friends); the runner writes them to
``inventory.json`` beside a ``cryptoaudit.toml`` whose systems use the ``memory`` provider,
and loads this module as a plugin (``-p pytest_cryptoaudit.testing_provider``) so the
provider is registered. Discovery then returns exactly the planted records, so every control
judges them as it would judge a real key store's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model import DiscoveryError, EndpointRecord, KeyKind, KeyRecord, LibraryRecord, RiskTier
from .providers import Discovery, DiscoveryContext, Provider, ProviderOptions
from .serialize import inventory_from_dict, to_jsonable

if TYPE_CHECKING:
    from .config import SystemConfig
    from .providers import ProviderRegistry

MEMORY_PROVIDER = "memory"
RECORDS_FILE = "inventory.json"

Record = KeyRecord | EndpointRecord | LibraryRecord | DiscoveryError


def key_record(uid: str, *, system: str = "app", kind: str = KeyKind.SECRET_KEY,
               risk_tier: str = RiskTier.MEDIUM, owner: str = "CSC",
               accountable_owner: str = "app-team", algorithm: str | None = "AES",
               size: int | None = 256, **fields: Any) -> KeyRecord:
    """A key record of the memory provider: by default a medium-tier AES-256 secret key
    owned by ``app-team`` and created now; ``fields`` sets any other :class:`KeyRecord`
    field."""
    fields.setdefault("created", datetime.now(UTC))
    return KeyRecord(uid=uid, system=system, provider=MEMORY_PROVIDER, kind=KeyKind(kind),
                     risk_tier=RiskTier(risk_tier), owner=owner,
                     accountable_owner=accountable_owner, algorithm=algorithm, size=size,
                     **fields)


def endpoint_record(uid: str, address: str, *, system: str = "app",
                    risk_tier: str = RiskTier.MEDIUM, owner: str = "CSC",
                    accountable_owner: str = "app-team", **fields: Any) -> EndpointRecord:
    """An endpoint record of the memory provider (``fields``: any other field)."""
    return EndpointRecord(uid=uid, system=system, provider=MEMORY_PROVIDER,
                          risk_tier=RiskTier(risk_tier), owner=owner,
                          accountable_owner=accountable_owner, address=address, **fields)


def library_record(uid: str, name: str, version: str, *, source: str = "dpkg",
                   path: str = "/var/lib/dpkg/status", system: str = "app",
                   risk_tier: str = RiskTier.MEDIUM, owner: str = "CSC",
                   accountable_owner: str = "app-team", **fields: Any) -> LibraryRecord:
    """A crypto library record of the memory provider (``fields``: any other field, such as
    ``attributes`` with its ``lifecycle`` and ``advisories``)."""
    return LibraryRecord(uid=uid, system=system, provider=MEMORY_PROVIDER,
                         risk_tier=RiskTier(risk_tier), owner=owner,
                         accountable_owner=accountable_owner, name=name, version=version,
                         source=source, path=path, **fields)


def discovery_error(reason: str, *, system: str = "app", key_uid: str | None = None,
                    risk_tier: str = RiskTier.MEDIUM, owner: str = "CSC",
                    accountable_owner: str = "app-team") -> DiscoveryError:
    """A failure to look at ``system`` (or at one key of it, ``key_uid``)."""
    return DiscoveryError(system=system, provider=MEMORY_PROVIDER, reason=reason,
                          key_uid=key_uid, risk_tier=RiskTier(risk_tier), owner=owner,
                          accountable_owner=accountable_owner)


def write_records(folder: Path, records: Sequence[Record]) -> Path:
    """Write ``records`` as the memory provider's ``inventory.json`` in ``folder``."""
    grouped: dict[str, list[Any]] = {"keys": [], "endpoints": [], "libraries": [],
                                     "errors": []}
    for record in records:
        grouped[_group(record)].append(to_jsonable(record))
    path = folder / RECORDS_FILE
    path.write_text(json.dumps(grouped, indent=1), encoding="utf-8")
    return path


def _group(record: Record) -> str:
    if isinstance(record, KeyRecord):
        return "keys"
    if isinstance(record, EndpointRecord):
        return "endpoints"
    if isinstance(record, LibraryRecord):
        return "libraries"
    if isinstance(record, DiscoveryError):
        return "errors"
    raise TypeError(f"not an inventory record: {record!r}")


def inventory_config(records: Sequence[Record], config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` plus one memory-provider system per system the records name; each system
    takes its tier and owners from its first record."""
    systems: dict[str, dict[str, Any]] = {}
    for record in records:
        systems.setdefault(record.system, {
            "name": record.system, "provider": MEMORY_PROVIDER,
            "risk_tier": RiskTier(record.risk_tier).value, "ssrm_owner": record.owner,
            "accountable_owner": record.accountable_owner, "records": RECORDS_FILE,
        })
    return {**config, "systems": [*config.get("systems", ()), *systems.values()]}


class MemoryOptions(ProviderOptions):
    """``records``: the JSON file of planted records, relative to the configuration."""

    records: str = RECORDS_FILE


class MemoryProvider(Provider):
    """Returns the records planted in ``records`` for the configured system, unchanged."""

    name = MEMORY_PROVIDER
    Options = MemoryOptions

    def discover(self, system: SystemConfig, context: DiscoveryContext) -> Discovery:
        options = system.options
        assert isinstance(options, MemoryOptions)
        data = json.loads((context.base_dir / options.records).read_text(encoding="utf-8"))
        planted = inventory_from_dict({group: [r for r in records if r["system"] == system.name]
                                       for group, records in data.items()})
        discovery = self.new_discovery(system)
        discovery.keys.extend(planted.keys)
        discovery.endpoints.extend(planted.endpoints)
        discovery.libraries.extend(planted.libraries)
        discovery.errors.extend(planted.errors)
        return discovery


def pytest_cryptoaudit_add_providers(registry: ProviderRegistry) -> None:
    """Register the memory provider when this module is loaded as a plugin."""
    registry.register(MemoryProvider)
