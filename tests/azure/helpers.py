"""Discover a stand-in vault with the provider directly (no pytest run), as a session would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.lab.keyvault_standin import KeyVaultStandIn, StoredKey
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import Discovery, DiscoveryContext, ProviderRegistry
from pytest_cryptoaudit.providers.azure_keyvault import AzureKeyVaultProvider

from .conftest import TOKEN_ENV


def system(standin: KeyVaultStandIn, **options: Any) -> dict[str, Any]:
    return {"name": "vault", "provider": "azure-keyvault", "risk_tier": "high",
            "ssrm_owner": "CSC", "vault_urls": [standin.url], "credential": "access-token",
            "access_token_env": TOKEN_ENV, "ca_file": str(standin.ca_file),
            "verify_challenge_resource": False, "graph_endpoint": standin.url, **options}


def discover(standin: KeyVaultStandIn, controls: set[str] | None = None,
             **options: Any) -> Discovery:
    registry = ProviderRegistry()
    registry.register(AzureKeyVaultProvider)
    config = parse_config({"systems": [system(standin, **options)]}, registry,
                          [*BUILTIN_SETTINGS, *AzureKeyVaultProvider.policy_settings])
    context = DiscoveryContext(policy=config.policy, now=datetime.now(UTC),
                               selected_controls=frozenset(controls) if controls else None)
    return AzureKeyVaultProvider().discover(config.systems[0], context)


def plant_keys(standin: KeyVaultStandIn, count: int, **fields: Any) -> list[str]:
    """``count`` plain RSA-HSM keys; returns their record uids."""
    for number in range(count):
        standin.vault.add_key(StoredKey(f"key-{number:04d}", "RSA-HSM", size=3072, **fields))
    return [f"{standin.url}/keys/key-{number:04d}" for number in range(count)]
