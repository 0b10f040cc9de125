"""The ``azure-keyvault`` provider: keys and certificates of Azure Key Vaults and Managed
HSMs, read through the official SDK."""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import Discovery, DiscoveryContext, Provider
from .discovery import FETCHES, VaultDiscovery
from .options import POLICY_SETTINGS, AzureKeyVaultOptions


class AzureKeyVaultProvider(Provider):
    """Discovers the keys (with versions and rotation policy), deleted keys and
    certificates of each configured vault."""

    name = "azure-keyvault"
    component = "kms"
    Options = AzureKeyVaultOptions
    policy_settings = POLICY_SETTINGS
    fetches = FETCHES

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        options: AzureKeyVaultOptions = system.options
        run = VaultDiscovery(options, context)
        run.run(system.name)
        properties, unreadable = run.vault_facts()
        auditor, auditor_unreadable = run.auditor_facts()
        attempt = self.new_discovery(
            system, vaults=sorted(run.audited), subscriptions=list(options.subscriptions),
            listed=dict(sorted(run.listed.items())), credential=options.credential,
            key_stores=run.key_stores(),
            **properties, **auditor)
        attempt.system = dataclasses.replace(attempt.system,
                                             unreadable={**unreadable, **auditor_unreadable})
        return run.to_discovery(attempt)
