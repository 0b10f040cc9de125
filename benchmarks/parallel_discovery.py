"""Systems discovered one after another versus in parallel (``--cryptoaudit-parallel``).

Starts lab TLS servers on loopback (half legacy, half modern) and configures one ``tls``
system per server, each scanning its endpoint with one worker, so that the only parallelism
is between systems. Runs the same discovery with ``parallel`` 1 and 4 and prints the ratio.

    python benchmarks/parallel_discovery.py [SYSTEMS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.discovery import discover_all
from pytest_cryptoaudit.lab.tls_server import start_tls_server, write_pki
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry


def discover(endpoints: list[str], ca_file: Path, parallel: int) -> tuple[float, list[str]]:
    registry = ProviderRegistry()
    raw = {"systems": [{"name": f"web-{i}", "provider": "tls", "risk_tier": "high",
                        "owner": "CSC", "endpoints": [endpoint], "ca_file": str(ca_file),
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
    with tempfile.TemporaryDirectory() as folder:
        pki = write_pki(Path(folder))
        servers = [start_tls_server(("legacy", "modern")[i % 2], pki) for i in range(count)]
        try:
            endpoints = [server.endpoint for server in servers]
            discover(endpoints[:1], pki.ca_file, 1)  # warm up imports and trust stores
            serial, serial_order = discover(endpoints, pki.ca_file, 1)
            parallel, parallel_order = discover(endpoints, pki.ca_file, 4)
            assert serial_order == parallel_order  # reported in configuration order
            print(f"{count} tls systems: parallel=1 {serial:.2f} s, parallel=4 "
                  f"{parallel:.2f} s; ratio parallel/serial {parallel / serial:.2f}")
        finally:
            for server in servers:
                server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
