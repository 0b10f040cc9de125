"""How long the pkcs11 provider takes to inventory a SoftHSM2 token of N keys.

    python benchmarks/pkcs11_discovery.py [N ...]     (default: 100 500)

Seeds N AES-256 keys per token (generated on the token), then times discovery: load the
module, log in, read every object's attributes and dates. Prints keys, seconds, keys/s.
Seeding is slow and grows faster than N (SoftHSM's file store); discovery is what counts.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.lab.softhsm import (
    KeySpec,
    create_token,
    lab_system,
    seed,
    token_environment,
)
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry
from pytest_cryptoaudit.providers.pkcs11 import Pkcs11Provider

PIN_ENV = "CRYPTOAUDIT_BENCH_PIN"


def measure(count: int, folder: Path) -> tuple[float, float, int]:
    token = create_token(folder, label=f"bench-{count}")
    specs = [KeySpec(f"aes-{n:05d}", n.to_bytes(4, "big"), "AES", size=256,
                     usage=("encrypt", "decrypt")) for n in range(count)]
    begun = time.perf_counter()
    seed(token, specs)
    seeding = time.perf_counter() - begun
    settings = [*BUILTIN_SETTINGS, *Pkcs11Provider.policy_settings]
    audit_config = parse_config({"systems": [lab_system(token, pin_env=PIN_ENV)]},
                                ProviderRegistry(), settings)
    context = DiscoveryContext(policy=audit_config.policy, now=datetime.now(UTC))
    os.environ[PIN_ENV] = token.pin
    with token_environment(token):
        begun = time.perf_counter()
        attempt = Pkcs11Provider().discover(audit_config.systems[0], context)
        discovery = time.perf_counter() - begun
    assert not attempt.errors, attempt.errors
    return seeding, discovery, len(attempt.keys)


def main(counts: list[int]) -> None:
    print(f"{'keys':>6} {'seed s':>8} {'discover s':>11} {'keys/s':>8}")
    for count in counts:
        with tempfile.TemporaryDirectory() as folder:
            seeding, discovery, found = measure(count, Path(folder))
        print(f"{found:>6} {seeding:>8.2f} {discovery:>11.3f} {found / discovery:>8.0f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 500])
