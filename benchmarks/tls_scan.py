"""How long a TLS discovery takes: endpoints scanned one at a time versus in parallel.

Starts lab servers on loopback (half legacy, half modern), then runs the TLS provider over
all of them with ``max_workers`` 1 and 8, and prints seconds per run and per endpoint.

    python benchmarks/tls_scan.py [ENDPOINTS]
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from lab_tls import tls_servers

from pytest_cryptoaudit.config import SystemConfig
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS, Policy
from pytest_cryptoaudit.providers import DiscoveryContext
from pytest_cryptoaudit.providers.tls import TlsOptions, TlsProvider


def discover(endpoints: list[str], ca_file: Path, workers: int) -> tuple[float, int, int]:
    options = TlsOptions(endpoints=endpoints, ca_file=str(ca_file), server_name="localhost",
                         max_workers=workers)
    system = SystemConfig("bench", "tls", "high", "CSC", options)
    context = DiscoveryContext(policy=Policy([*BUILTIN_SETTINGS, *TlsProvider.policy_settings],
                                             {}), now=datetime.now(UTC))
    begun = time.perf_counter()
    attempt = TlsProvider().discover(system, context)
    return time.perf_counter() - begun, len(attempt.endpoints), len(attempt.errors)


def main(count: int) -> None:
    with tls_servers(count) as (endpoints, ca_file):
        discover(endpoints[:1], ca_file, 1)  # warm up imports and trust stores
        for workers in (1, 8):
            seconds, scanned, errors = discover(endpoints, ca_file, workers)
            print(f"max_workers={workers}: {scanned} endpoints ({errors} errors) in "
                  f"{seconds:.2f} s, {seconds / count:.2f} s per endpoint")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
