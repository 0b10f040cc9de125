"""Registers the ``azure-keyvault`` provider by hook, for audits run by these tests.

An installed distribution names the provider through its entry point; an audit run from a
source tree whose installed metadata predates the provider finds it through this plugin
(``-p tests.azure.registration``). Registering the same class twice changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_cryptoaudit.providers import ProviderRegistry


def pytest_cryptoaudit_add_providers(registry: ProviderRegistry) -> None:
    from pytest_cryptoaudit.providers.azure_keyvault import AzureKeyVaultProvider

    registry.register(AzureKeyVaultProvider)
