"""Run the gcp-kms provider directly, as a session would (no pytest run)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.discovery import discover_all
from pytest_cryptoaudit.model import Inventory
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry


def discover(config_text: str, controls: set[str] | None = None,
             progress: Callable[..., Any] | None = None) -> Inventory:
    """Discover every system of a config (``progress`` receives the progress reports)."""
    registry = ProviderRegistry()
    settings = [*BUILTIN_SETTINGS, *registry.policy_settings()]
    config = parse_config(tomllib.loads(config_text), registry, settings)
    context = DiscoveryContext(policy=config.policy, now=datetime.now(UTC),
                               selected_controls=frozenset(controls) if controls else None,
                               **({"progress": progress} if progress else {}))
    return discover_all(config, registry, context)
