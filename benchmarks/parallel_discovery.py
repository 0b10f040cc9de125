"""Systems discovered one after another versus in parallel (``--cryptoaudit-parallel``).

Starts lab TLS servers on loopback (half legacy, half modern) and configures one ``tls``
system per server, each scanning its endpoint with one worker, so that the only parallelism
is between systems. Runs the same discovery with ``parallel`` 1 and 4 and prints the ratio.

    python benchmarks/parallel_discovery.py [SYSTEMS]
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab_tls import tls_servers

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.discovery import discover_all
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry


def discover(endpoints: list[str], ca_file: Path, parallel: int) -> tuple[float, list[str]]:
    registry = ProviderRegistry()
    raw = {"systems": [{"name": f"web-{i}", "provider": "tls", "risk_tier": "high",
                        "ssrm_owner": "CSC", "endpoints": [endpoint], "ca_file": str(ca_file),
                        "server_name": "localhost", "max_workers": 1}
                       for i, endpoint in enumerate(endpoints)]}
    config = parse_config(raw, registry, [*BUILTIN_SETTINGS, *registry.policy_settings()])
    context = DiscoveryContext(policy=config.policy, now=datetime.now(UTC))
    order: list[str] = []
    begun = time.perf_counter()
    inventory = discover_all(config, registry, context, parallel=parallel,
                             on_system_done=lambda attempt: order.append(attempt.system.name))
    assert not inventory.errors, inventory.errors
    return time.perf_counter() - begun, order


def main(count: int) -> None:
    with tls_servers(count) as (endpoints, ca_file):
        discover(endpoints[:1], ca_file, 1)  # warm up imports and trust stores
        serial, serial_order = discover(endpoints, ca_file, 1)
        parallel, parallel_order = discover(endpoints, ca_file, 4)
        assert serial_order == parallel_order  # reported in configuration order
        print(f"{count} tls systems: parallel=1 {serial:.2f} s, parallel=4 "
              f"{parallel:.2f} s; ratio parallel/serial {parallel / serial:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
