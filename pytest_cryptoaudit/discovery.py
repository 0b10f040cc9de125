"""Run every configured system's provider once and gather one inventory.

A provider that raises does not end the run: its system becomes a discovery error that a
test reports, and every other system is still discovered.
"""

from __future__ import annotations

from collections.abc import Callable

from .config import AuditConfig, SystemConfig
from .model import DiscoveryError, EndpointRecord, Inventory, KeyRecord, SystemRecord
from .owners import apply_tags
from .providers import Discovery, DiscoveryContext, ProviderRegistry


def discover_system(
    system: SystemConfig, registry: ProviderRegistry, context: DiscoveryContext
) -> Discovery:
    """One attempt at one system; an unexpected exception becomes a system-level error."""
    provider_class = registry.get(system.provider)
    try:
        return provider_class().discover(system, context)
    except Exception as exc:  # a failure to look must become a result, never a crash
        attempt = provider_class.new_discovery(system)
        attempt.error(f"discovery failed: {type(exc).__name__}: {exc}")
        return attempt


def discover_all(
    audit_config: AuditConfig,
    registry: ProviderRegistry,
    context: DiscoveryContext,
    on_system_done: Callable[[Discovery], None] = lambda attempt: None,
) -> Inventory:
    keys: list[KeyRecord] = []
    systems: list[SystemRecord] = []
    errors: list[DiscoveryError] = []
    endpoints: list[EndpointRecord] = []
    for system in audit_config.systems:
        attempt = discover_system(system, registry, context)
        keys.extend(_tagged(attempt.keys, audit_config, system, registry))
        systems.append(attempt.system)
        errors.extend(attempt.errors)
        endpoints.extend(attempt.endpoints)
        on_system_done(attempt)
    return Inventory.build(keys, systems, errors, endpoints)



def _tagged(keys: list[KeyRecord], audit_config: AuditConfig, system: SystemConfig,
            registry: ProviderRegistry) -> list[KeyRecord]:
    """The keys with their tier and owners as their tags (spelt as the service spells
    them) override the system's."""
    names = audit_config.tags.mapped(registry.get(system.provider).tag_name)
    return [apply_tags(key, names, require_tier_tag=system.require_tier_tag) for key in keys]
