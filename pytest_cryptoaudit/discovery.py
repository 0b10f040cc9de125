"""Run every configured system's provider once and gather one inventory.

A provider that raises does not end the run: its system becomes a discovery error that a
test reports, and every other system is still discovered. Only what stops the process on
purpose (Ctrl-C, ``sys.exit``) gets through; a Rust panic in a parser does not.
"""

from __future__ import annotations

from collections.abc import Callable

from .config import AuditConfig, SystemConfig
from .isolation import describe, must_propagate
from .model import DiscoveryError, EndpointRecord, Inventory, KeyRecord, SystemRecord
from .providers import Discovery, DiscoveryContext, ProviderRegistry


def discover_system(
    system: SystemConfig, registry: ProviderRegistry, context: DiscoveryContext
) -> Discovery:
    """One attempt at one system; an unexpected exception becomes a system-level error."""
    provider_class = registry.get(system.provider)
    try:
        return provider_class().discover(system, context)
    except BaseException as exc:  # a failure to look must become a result, never a crash
        if must_propagate(exc):
            raise
        attempt = provider_class.new_discovery(system)
        attempt.error(f"discovery failed: {describe(exc)}")
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
        keys.extend(key.with_tags_applied() for key in attempt.keys)
        systems.append(attempt.system)
        errors.extend(attempt.errors)
        endpoints.extend(attempt.endpoints)
        on_system_done(attempt)
    return Inventory.build(keys, systems, errors, endpoints)

