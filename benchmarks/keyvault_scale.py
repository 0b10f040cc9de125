"""Discovery of N Key Vault keys against the loopback stand-in, beside a plain SDK loop over
the same calls on the same server in the same run.

Starts one stand-in vault (HTTPS, test CA, no throttling), plants N keys with rotation
policies, then measures in alternation, ``--rounds`` times each:

1. a plain loop through the official SDK: list the keys, then per key ``get_key``,
   ``list_properties_of_key_versions`` and ``get_key_rotation_policy`` in ``--workers``
   threads (the floor any auditor pays);
2. the provider's discovery of the same keys (``--workers`` threads, request budget off).

Prints medians, their ratio (target at most 1.3) and API calls per key.

Usage: ``python benchmarks/keyvault_scale.py [--keys 1000] [--workers 8] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_cryptoaudit.config import SystemConfig
from pytest_cryptoaudit.lab.estate_keyvault import ROTATE_90
from pytest_cryptoaudit.lab.keyvault_standin import TOKEN, KeyVaultStandIn, StoredKey
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS, Policy
from pytest_cryptoaudit.providers import DiscoveryContext
from pytest_cryptoaudit.providers.azure_keyvault import AzureKeyVaultProvider
from pytest_cryptoaudit.providers.azure_keyvault.clients import AccessTokenCredential
from pytest_cryptoaudit.providers.azure_keyvault.options import (
    POLICY_SETTINGS,
    AzureKeyVaultOptions,
)

TOKEN_ENV = "BENCH_AZURE_TOKEN"


def plant(standin: KeyVaultStandIn, keys: int) -> None:
    for number in range(keys):
        standin.vault.add_key(StoredKey(f"key-{number:05d}", "RSA-HSM", size=3072,
                                        rotation_policy=dict(ROTATE_90)))


def sdk_loop(standin: KeyVaultStandIn, keys: int, workers: int) -> float:
    """The same reads straight through the SDK, with no record building."""
    from azure.keyvault.keys import KeyClient

    client = KeyClient(standin.url, AccessTokenCredential(TOKEN), api_version="7.5",
                       connection_verify=str(standin.ca_file), verify_challenge_resource=False)

    def read(name: str) -> Any:
        client.get_key(name)
        list(client.list_properties_of_key_versions(name))
        return client.get_key_rotation_policy(name)

    begun = time.perf_counter()
    names = [item.name for item in client.list_properties_of_keys()]
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(read, names))
    elapsed = time.perf_counter() - begun
    assert len(names) == keys
    return elapsed


def discovery(standin: KeyVaultStandIn, keys: int, workers: int) -> float:
    options = AzureKeyVaultOptions(
        vault_urls=[standin.url], credential="access-token", access_token_env=TOKEN_ENV,
        ca_file=str(standin.ca_file), verify_challenge_resource=False, max_workers=workers,
        request_budgets=False)
    system = SystemConfig("bench", "azure-keyvault", "high", "CSC", options)  # type: ignore[arg-type]
    context = DiscoveryContext(policy=Policy([*BUILTIN_SETTINGS, *POLICY_SETTINGS], {}),
                               now=datetime.now(UTC))
    begun = time.perf_counter()
    attempt = AzureKeyVaultProvider().discover(system, context)
    elapsed = time.perf_counter() - begun
    assert len(attempt.keys) == keys and not attempt.errors, attempt.errors[:3]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ[TOKEN_ENV] = TOKEN
    with tempfile.TemporaryDirectory() as folder, \
            KeyVaultStandIn(Path(folder), page_size=25) as standin:
        plant(standin, args.keys)
        loop, provider = [], []
        provider_calls = 0
        for _ in range(args.rounds):
            loop.append(sdk_loop(standin, args.keys, args.workers))
            before = sum(standin.calls.values())
            provider.append(discovery(standin, args.keys, args.workers))
            provider_calls = sum(standin.calls.values()) - before
    result = {
        "keys": args.keys, "workers": args.workers, "rounds": args.rounds,
        "sdk_loop_seconds": round(statistics.median(loop), 3),
        "provider_seconds": round(statistics.median(provider), 3),
        "ratio": round(statistics.median(provider) / statistics.median(loop), 3),
        "provider_calls_per_key": round(provider_calls / args.keys, 3),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
