"""Cloud KMS at scale, against the loopback stand-in: discovery of N keys (request budget
off) against a plain SDK loop making the same calls with as many threads, API calls per key,
and on a small estate with the default budget, the progress line's ETA against the real time.

    python benchmarks/gcp_scale.py --keys 1000 --eta-keys 100

The stand-in runs in a process of its own; each measurement runs in this one, in turn.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.discovery import discover_all
from pytest_cryptoaudit.lab.estate_gcp import PlantedKey, build, config_toml
from pytest_cryptoaudit.lab.gcp_kms import CloudKmsStandIn
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.progress import ProgressBoard
from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry

RINGS = ("payments", "platform")


def estate(n: int) -> tuple[PlantedKey, ...]:
    return tuple(PlantedKey(f"key-{i:05d}", ring=RINGS[i % 2]) for i in range(n))


def serve(n: int) -> None:
    """The stand-in with ``n`` keys in pages of 100; prints its URL, serves until killed."""
    standin = CloudKmsStandIn(build(estate(n)), page_size=100)
    print(json.dumps({"url": standin.url}), flush=True)
    threading.Event().wait()


def discover(url: str, progress: Any = None, **options: Any) -> tuple[float, Any]:
    registry = ProviderRegistry()
    config = parse_config(tomllib.loads(config_toml(url, **options)), registry,
                          [*BUILTIN_SETTINGS, *registry.policy_settings()])
    context = DiscoveryContext(policy=config.policy, now=datetime.now(UTC),
                               **({"progress": progress} if progress else {}))
    began = time.perf_counter()
    inventory = discover_all(config, registry, context)
    return time.perf_counter() - began, inventory


def plain_loop(url: str, workers: int) -> tuple[float, int]:
    """The same calls through the SDK, nothing else: list rings, keys, versions, IAM."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import kms_v1
    from google.cloud.location import locations_pb2

    client = kms_v1.KeyManagementServiceClient(
        transport="rest", credentials=AnonymousCredentials(),
        client_options={"api_endpoint": url})
    began = time.perf_counter()
    keys, calls = [], 0
    for project in ("cryptoaudit-lab", "partner-estate"):
        locations = client.list_locations(
            locations_pb2.ListLocationsRequest(name=f"projects/{project}")).locations
        calls += 1
        for location in locations:
            rings, calls = pages(client.list_key_rings(parent=location.name), calls)
            for ring in rings:
                found, calls = pages(client.list_crypto_keys(parent=ring.name), calls)
                if found:
                    client.get_iam_policy(request={"resource": ring.name})
                    calls += 1
                keys.extend(found)

    def read(key: Any) -> int:
        _, made = pages(client.list_crypto_key_versions(parent=key.name), 0)
        client.get_iam_policy(request={"resource": key.name})
        return made + 1

    with ThreadPoolExecutor(workers) as pool:
        calls += sum(pool.map(read, keys))
    return time.perf_counter() - began, calls


def pages(pager: Any, calls: int) -> tuple[list[Any], int]:
    """Every item of a listing, and the call count plus its pages."""
    items = []
    for page in pager.pages:
        items.extend(getattr(page, _field(page)))
        calls += 1
    return items, calls


FIELDS = {"ListKeyRingsResponse": "key_rings", "ListCryptoKeysResponse": "crypto_keys",
          "ListCryptoKeyVersionsResponse": "crypto_key_versions"}


def _field(page: Any) -> str:
    return FIELDS[type(page).__name__]


def scale(n: int, workers: int) -> str:
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(n)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = json.loads(server.stdout.readline())["url"]
        import google.cloud.kms_v1  # noqa: F401  (imports are not what is measured)

        runs = [discover(url, request_budget=False, max_workers=workers) for _ in range(2)]
        plains = [plain_loop(url, workers) for _ in range(2)]
        wall, inventory = min(runs, key=lambda run: run[0])
        plain_wall, plain_calls = min(plains)
        calls = sum(inventory.systems[0].attributes["api_calls"].values())
    finally:
        server.terminate()
        server.wait()
    return (f"N = {n:,} keys, {workers} workers, load average {os.getloadavg()[0]:.1f}, "
            f"best of two: discovery {wall:.1f} s, {calls:,} calls = "
            f"{calls / n:.2f} calls/key, {len(inventory.keys):,} keys, "
            f"{len(inventory.errors)} errors; plain SDK loop (same calls, {plain_calls:,}) "
            f"{plain_wall:.1f} s; discovery/plain = {wall / plain_wall:.2f}x")


def eta(n: int) -> str:
    """With the default budget (2.5 requests/s), the ETA shown once every ring is listed
    against the time the rest really took."""
    with CloudKmsStandIn(build(estate(n)), page_size=100) as standin:
        board = ProgressBoard(["gcp-prod"], write_line=lambda line: None)
        samples: list[tuple[float, str]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(1.0):
                samples.append((time.monotonic(), board.line()))

        threading.Thread(target=sample, daemon=True).start()
        began = time.monotonic()
        wall, _ = discover(standin.url, progress=board.update, request_budget=True,
                           projects=["cryptoaudit-lab"], locations=["europe-west1",
                                                                    "global"])
        done.set()
        ended = began + wall
    shown = [(at, line.rsplit("ETA ", 1)[1]) for at, line in samples
             if not line.endswith("ETA unknown")]
    rows = []
    for at, text in shown[len(shown) // 4::max(len(shown) // 4, 1)][:3]:
        minutes, seconds = text.split(":")
        rows.append(f"at {at - began:.0f} s the ETA said {text} "
                    f"({int(minutes) * 60 + int(seconds)} s), {ended - at:.0f} s were left")
    return f"N = {n} keys, default budget: {wall:.0f} s in all; " + "; ".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, nargs="+", default=[1000])
    parser.add_argument("--eta-keys", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    for n in args.keys:
        print(scale(n, args.workers), flush=True)
    if args.eta_keys:
        print(eta(args.eta_keys), flush=True)


if __name__ == "__main__":
    main()
