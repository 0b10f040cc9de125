"""The processes of the KMS benchmark (see kms_scale.py): the seeded moto server, the
server-limit probe, the provider's discovery, a naive sequential boto3 loop, and the
overlapped floor (the tests running while another process fetches)."""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

REGIONS = ("eu-west-1", "us-east-1")
ACCOUNT = "123456789012"
#: One in 20 keys: 14 symmetric, 3 RSA signing, 2 EC signing, 1 HMAC.
MIX = ([("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")] * 14 + [("RSA_3072", "SIGN_VERIFY")] * 3
       + [("ECC_NIST_P256", "SIGN_VERIFY")] * 2 + [("HMAC_256", "GENERATE_VERIFY_MAC")])
PROBE_SECONDS = 10.0
PROBE_THREADS = 16


def config_text(url: str, workers: int = 8) -> str:
    return (f'[[systems]]\nname = "bench"\nprovider = "aws-kms"\nrisk_tier = "high"\n'
            f'ssrm_owner = "CSC"\nregions = {json.dumps(list(REGIONS))}\nendpoint_url = "{url}"\n'
            f"max_workers = {workers}\n"
            # The documented set-up: a read-only audit role, whose IAM policies are read
            # because the keys' default policies delegate to the account.
            f'role_arns = ["arn:aws:iam::{ACCOUNT}:role/cryptoaudit"]\n'
            # Budgets protect a production account's shared quotas; a local server has none.
            "request_budgets = false\n")


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- the server ---------------------------------------------------------------------------


def seed_backend(n: int) -> None:
    """Insert n keys straight into moto's backend: tags, aliases, rotations, some grants."""
    from moto.kms.models import kms_backends

    rng, now = random.Random(7), time.time()
    for i in range(n):
        backend = kms_backends[ACCOUNT][REGIONS[i % len(REGIONS)]]
        spec, usage = MIX[i % len(MIX)]
        tags = [{"TagKey": "owner", "TagValue": "platform-team"},
                {"TagKey": "app", "TagValue": f"app-{i % 40}"}]
        key = backend.create_key(None, usage, spec, "", tags)
        key.creation_date = now - rng.randint(1, 700) * 86400
        if spec == "SYMMETRIC_DEFAULT":
            key.key_rotation_status, key.lab_rotation_period = True, 365
            key.rotations = [{"KeyId": key.id, "RotationType": "AUTOMATIC",
                              "RotationDate": now - rng.randint(1, 300) * 86400}]
        if i % 2 == 0:
            backend.create_alias(key.id, f"alias/app-{i}")
        if i % 10 == 0:
            backend.create_grant(key.id, f"arn:aws:iam::{ACCOUNT}:role/app-{i % 40}",
                                 ["Decrypt", "Encrypt"], "app", {}, None)


def serve(args: argparse.Namespace) -> dict[str, Any]:
    import moto.kms.models as models

    from pytest_cryptoaudit.lab.moto import MotoServer

    began = time.perf_counter()
    for _ in range(10):
        models.generate_private_key("SYMMETRIC_DEFAULT")  # what every CreateKey does in moto
    create_key_ms = (time.perf_counter() - began) * 100
    server = MotoServer(fast_keys=True).start()
    began = time.perf_counter()
    keys = args.keys[0]
    seed_backend(keys)
    seed_s = time.perf_counter() - began
    from pytest_cryptoaudit.lab.estate_kms import create_audit_role, session

    create_audit_role(session(server.url), server.url)
    print(json.dumps({"url": server.url, "seed_s": seed_s, "create_key_ms": create_key_ms,
                      "insert_us_per_key": seed_s / keys * 1e6}), flush=True)
    signal.pause()
    return {}


# -- the server's limit: a lean client doing discovery's calls ------------------------------


def raw_call(url: str, region: str, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """One KMS call as bare HTTP (moto checks no signature): far cheaper than botocore."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.request("POST", "/", json.dumps(body), {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"TrentService.{operation}",
        "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20240101/{region}/kms/"
                         "aws4_request, SignedHeaders=host, Signature=0"})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"{operation}: HTTP {response.status}: {data[:200]!r}")
    return json.loads(data) if data else {}


def key_calls(url: str, region: str, key_id: str) -> int:
    """Discovery's calls for one key (all controls selected); returns how many."""
    def call(operation: str, **body: Any) -> dict[str, Any]:
        return raw_call(url, region, operation, {"KeyId": key_id, **body})

    metadata = call("DescribeKey")["KeyMetadata"]
    call("ListResourceTags")
    call("GetKeyPolicy", PolicyName="default")
    call("ListGrants")
    if metadata["KeySpec"] != "SYMMETRIC_DEFAULT":
        return 4
    call("GetKeyRotationStatus")
    call("ListKeyRotations")
    return 6


def throughput(args: argparse.Namespace) -> dict[str, Any]:
    keys = [(region, key["KeyId"]) for region in REGIONS
            for key in raw_call(args.url, region, "ListKeys", {})["Keys"]]
    random.Random(3).shuffle(keys)
    pending: Iterator[tuple[str, str]] = iter(keys)
    lock, counts = threading.Lock(), [0]
    deadline = time.perf_counter() + PROBE_SECONDS

    def worker() -> None:
        while time.perf_counter() < deadline:
            with lock:
                region, key_id = next(pending, (None, None))
            if key_id is None:
                return
            made = key_calls(args.url, region, key_id)
            with lock:
                counts[0] += made

    began = time.perf_counter()
    run_threads(worker, PROBE_THREADS)
    elapsed = time.perf_counter() - began
    return {"calls_per_s": counts[0] / elapsed, "threads": PROBE_THREADS, "calls": counts[0]}


def run_threads(target: Callable[[], None], count: int) -> None:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# -- the provider's discovery and a naive loop ---------------------------------------------


def count_calls() -> collections.Counter[str]:
    import botocore.handlers

    calls: collections.Counter[str] = collections.Counter()

    def count(event_name: str, **kwargs: Any) -> None:
        calls[event_name.split(".", 2)[2]] += 1

    botocore.handlers.BUILTIN_HANDLERS.append(("before-call", count))
    return calls


def deep_size(root: Any) -> int:
    """Bytes of every object reachable from root, each shared object counted once."""
    seen, stack, total = set(), [root], 0
    while stack:
        value = stack.pop()
        if id(value) in seen or isinstance(value, type):
            continue
        seen.add(id(value))
        total += sys.getsizeof(value)
        if isinstance(value, MappingProxyType):  # the proxy hides the dict it wraps
            total += sys.getsizeof(dict(value))
        if isinstance(value, dict) or hasattr(value, "items"):
            stack.extend(k for pair in value.items() for k in pair)
        elif isinstance(value, list | tuple | set | frozenset):
            stack.extend(value)
        if hasattr(value, "__dict__"):
            stack.append(vars(value))
    return total


def discovery(args: argparse.Namespace) -> dict[str, Any]:
    import boto3  # noqa: F401  (imported before the baseline RSS is read)

    from pytest_cryptoaudit.config import parse_config
    from pytest_cryptoaudit.discovery import discover_all
    from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
    from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry

    calls = count_calls()
    registry = ProviderRegistry()
    config = parse_config(tomllib.loads(config_text(args.url, args.workers)), registry,
                          [*BUILTIN_SETTINGS, *registry.policy_settings()])
    context = DiscoveryContext(policy=config.policy, now=datetime.now(UTC))
    base = peak_rss_kib()
    began = time.perf_counter()
    inventory = discover_all(config, registry, context)
    wall = time.perf_counter() - began
    assert not inventory.errors, inventory.errors[:3]
    return {"wall_s": wall, "calls": calls.total(), "keys": len(inventory.keys),
            "per_operation": dict(sorted(calls.items())), "peak_rss_kib": peak_rss_kib(),
            "base_rss_kib": base, "inventory_bytes": deep_size(inventory.keys)}


def naive(args: argparse.Namespace) -> dict[str, Any]:
    """One client, one call after the other: what a straightforward script would do."""
    import boto3

    calls, began, cpu = count_calls(), time.perf_counter(), time.process_time()
    for region in REGIONS:
        kms = boto3.client("kms", region_name=region, endpoint_url=args.url)
        for page in kms.get_paginator("list_keys").paginate():
            for key in page["Keys"]:
                naive_key(kms, key["KeyArn"])
    return {"wall_s": time.perf_counter() - began, "cpu_s": time.process_time() - cpu,
            "calls": calls.total(), "peak_rss_kib": peak_rss_kib()}


def naive_key(kms: Any, arn: str) -> None:
    metadata = kms.describe_key(KeyId=arn)["KeyMetadata"]
    kms.list_resource_tags(KeyId=arn)
    kms.get_key_policy(KeyId=arn, PolicyName="default")
    kms.list_grants(KeyId=arn)
    if metadata["KeySpec"] == "SYMMETRIC_DEFAULT":
        kms.get_key_rotation_status(KeyId=arn)
        kms.list_key_rotations(KeyId=arn)


# -- the overlapped floor ------------------------------------------------------------------


def overlapped(args: argparse.Namespace) -> dict[str, Any]:
    """The least any design could take on this machine if the tests ran while discovery
    still fetched: a first pass (ListKeys, DescribeKey, ListResourceTags: what collection
    would need), then the per-key calls left (policy, grants, rotation) in another process
    (no shared interpreter lock) while plain pytest runs ``args.items`` trivial tests here.
    Wall time until both are done."""
    import contextlib
    import io
    from concurrent.futures import ThreadPoolExecutor

    import pytest

    calls, began = count_calls(), time.perf_counter()
    # Started first, so its imports overlap the first pass.
    rest = subprocess.Popen([sys.executable, sys.argv[0], "--role", "rest", "--url", args.url],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    clients = _clients(args.url)
    keys = [(region, key["KeyArn"]) for region in REGIONS
            for page in clients[region].get_paginator("list_keys").paginate()
            for key in page["Keys"]]

    def first(key: tuple[str, str]) -> str:
        region, arn = key
        metadata = clients[region].describe_key(KeyId=arn)["KeyMetadata"]
        clients[region].list_resource_tags(KeyId=arn)
        return f"{region} {arn} {metadata['KeySpec']}\n"

    with ThreadPoolExecutor(args.workers) as pool:
        lines = list(pool.map(first, keys))
    first_s = time.perf_counter() - began
    assert rest.stdin is not None
    rest.stdin.write("".join(lines))
    rest.stdin.close()
    with tempfile.TemporaryDirectory() as folder:
        with open(f"{folder}/test_plain.py", "w") as file:
            file.write(f"import pytest\n\n@pytest.mark.parametrize('i', range({args.items}))\n"
                       "def test_item(i):\n    assert i >= 0\n")
        with contextlib.redirect_stdout(io.StringIO()):
            status = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                                  folder])
    tests_done = time.perf_counter() - began
    assert rest.stdout is not None
    fetched = json.loads(rest.stdout.read())
    assert rest.wait() == 0 and status == 0, (rest.returncode, status)
    return {"wall_s": time.perf_counter() - began, "first_pass_s": first_s,
            "tests_done_s": tests_done, "calls": calls.total() + fetched["calls"]}


def fetch_rest(args: argparse.Namespace) -> dict[str, Any]:
    """The other half of :func:`overlapped`: the calls left for the keys read on stdin."""
    from concurrent.futures import ThreadPoolExecutor

    calls, clients = count_calls(), _clients(args.url)

    def rest(line: str) -> None:
        region, arn, spec = line.split()
        kms = clients[region]
        kms.get_key_policy(KeyId=arn, PolicyName="default")
        kms.list_grants(KeyId=arn)
        if spec == "SYMMETRIC_DEFAULT":
            kms.get_key_rotation_status(KeyId=arn)
            kms.list_key_rotations(KeyId=arn)

    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(rest, sys.stdin.read().splitlines()))
    return {"calls": calls.total()}


def _clients(url: str) -> dict[str, Any]:
    import boto3
    import botocore.config

    session = boto3.session.Session()
    config = botocore.config.Config(max_pool_connections=16)
    return {region: session.client("kms", region_name=region, endpoint_url=url, config=config)
            for region in REGIONS}


ROLES: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "serve": serve, "throughput": throughput, "discovery": discovery, "naive": naive,
    "overlapped": overlapped, "rest": fetch_rest,
}
