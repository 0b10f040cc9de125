"""Time to audit N transit keys, against the server's own read throughput in the same run.

Starts an OpenBao dev server (with a file audit device, as an audited server has), seeds N
keys, then measures in order:

1. the server's read throughput: ``read_key`` of every key through hvac, one thread and
   ``--workers`` threads (the floor any auditor pays);
2. the vault provider's discovery of the same keys (``--workers`` threads);
3. a full ``pytest --cryptoaudit`` run over them in a subprocess (discovery and every check).

With ``--holders N``, N identity entities (and one group of them all) hold a policy that
encrypts with every key, so discovery also reads who holds the policies and each key carries
2N+2 more access grants (``managed.access_holders``).

Usage: ``python benchmarks/vault_scale.py [--keys 1000] [--workers 8] [--rounds 3]
[--holders 0]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from pytest_cryptoaudit.config import SystemConfig
from pytest_cryptoaudit.lab import openbao
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS, Policy
from pytest_cryptoaudit.providers import DiscoveryContext
from pytest_cryptoaudit.providers.vault import VaultOptions, VaultProvider
from pytest_cryptoaudit.providers.vault.settings import VAULT_SETTINGS

MOUNT = "transit"


def seed(server: openbao.BaoServer, keys: int, workers: int) -> float:
    client = server.client()
    openbao.enable_engine(client, "transit", MOUNT)
    begun = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda i: openbao.create_transit_key(
            client, MOUNT, f"key-{i:05d}", "aes256-gcm96", auto_rotate_period="720h"),
            range(keys)))
    return time.perf_counter() - begun


def seed_holders(server: openbao.BaoServer, holders: int, workers: int) -> None:
    """``holders`` entities and one group of them, all holding an encrypt-everything policy."""
    client = server.client()
    openbao.write_policy(client, "use-all", f'path "{MOUNT}/encrypt/*" {{ capabilities = '
                                            '["update"] }')
    with ThreadPoolExecutor(workers) as pool:
        ids = list(pool.map(lambda i: openbao.create_entity(client, f"app-{i:05d}",
                                                            ["use-all"]), range(holders)))
    openbao.create_group(client, "all-apps", ["use-all"], ids)


def read_throughput(server: openbao.BaoServer, keys: int, workers: int) -> float:
    """Key reads per second straight through hvac."""
    client = server.client()
    names = client.secrets.transit.list_keys(mount_point=MOUNT)["data"]["keys"]
    assert len(names) == keys
    begun = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda n: client.adapter.get(f"/v1/{MOUNT}/keys/{n}"), names))
    return keys / (time.perf_counter() - begun)


def discovery_seconds(server: openbao.BaoServer, keys: int,
                      workers: int) -> tuple[float, int]:
    """Seconds to discover every key, and the access grants of one key."""
    os.environ["BENCH_VAULT_TOKEN"] = server.root_token
    options = VaultOptions(url=server.url, token_env="BENCH_VAULT_TOKEN", max_workers=workers,
                           mounts=[MOUNT])
    system = SystemConfig("bench", "vault", "high", "CSC", options)  # type: ignore[arg-type]
    context = DiscoveryContext(policy=Policy([*BUILTIN_SETTINGS, *VAULT_SETTINGS], {}),
                               now=datetime.now(UTC))
    begun = time.perf_counter()
    attempt = VaultProvider().discover(system, context)
    elapsed = time.perf_counter() - begun
    assert len(attempt.keys) == keys and not attempt.errors, attempt.errors[:3]
    managed = attempt.keys[0].managed
    return elapsed, len(managed.access or ()) if managed else 0


def full_audit(server: openbao.BaoServer, folder: Path, workers: int) -> dict[str, float]:
    (folder / "cryptoaudit.toml").write_text(
        f'[[systems]]\nname = "bench"\nprovider = "vault"\nrisk_tier = "high"\n'
        f'ssrm_owner = "CSC"\nurl = "{server.url}"\ntoken_env = "BENCH_VAULT_TOKEN"\n'
        f'mounts = ["{MOUNT}"]\nmax_workers = {workers}\n', encoding="utf-8")
    begun = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--cryptoaudit", "--cryptoaudit-json", "evidence.json",
         "-q", "-p", "no:cacheprovider", "--no-header", "-o", "console_output_style=classic"],
        cwd=folder, env=os.environ.copy(), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - begun
    evidence = json.loads((folder / "evidence.json").read_text(encoding="utf-8"))
    return {"wall": wall, "discovery": evidence["run"]["discovery_seconds"],
            "tests": len(evidence["results"]), "exit": run.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--holders", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            openbao.start_dev_server(Path(tmp) / "bao") as server:
        seeded = seed(server, args.keys, args.workers)
        seed_holders(server, args.holders, args.workers)
        one = read_throughput(server, args.keys, 1)
        rounds = [(read_throughput(server, args.keys, args.workers),
                   discovery_seconds(server, args.keys, args.workers))
                  for _ in range(args.rounds)]
        audit = full_audit(server, Path(tmp), args.workers)
    # Alternate the two measurements and take medians: other load on the machine moves both.
    many = statistics.median(r[0] for r in rounds)
    discovery = statistics.median(r[1][0] for r in rounds)
    floor = args.keys / many
    print(f"keys: {args.keys}, workers: {args.workers}, cpus: {os.cpu_count()}, "
          f"medians of {args.rounds} rounds")
    print(f"seeding: {seeded:.2f} s ({args.keys / seeded:.0f} keys/s)")
    print(f"server read throughput: {one:.0f} reads/s (1 thread), "
          f"{many:.0f} reads/s ({args.workers} threads) -> floor {floor:.2f} s")
    print(f"provider discovery: {discovery:.2f} s ({args.keys / discovery:.0f} keys/s, "
          f"{discovery / floor:.2f}x the floor; {rounds[0][1][1]} access grants per key, "
          f"{args.holders} entities holding a policy)")
    print(f"pytest --cryptoaudit: {audit['wall']:.2f} s wall, {audit['discovery']:.2f} s "
          f"discovery, {audit['tests']:.0f} results, exit {audit['exit']:.0f}")


if __name__ == "__main__":
    main()
