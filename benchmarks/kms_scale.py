"""AWS KMS at scale: seed N keys into moto, then measure discovery, the full audit run and a
naive sequential boto3 loop against the same server, and the server's own limit.

    python benchmarks/kms_scale.py --keys 1000 10000 [--xdist] [--prowler] [--grouped]

Every measurement runs in its own process (so peak RSS is its own); the moto server runs
in another, seeded by inserting keys into its backend (moto's CreateKey generates an RSA
key each time, ~50 ms, which would make 10,000 keys take minutes).

Each size ends with its figures against the targets of the scale issue: the full default
audit at most 1.3x a sequential boto3 loop over the same calls (at 10,000 keys: that loop
plus plain pytest running as many trivial tests), at most 150 MB peak RSS at 1,000 keys
(at 10,000: 1.3x plain pytest's), at most 5.8 calls per key; ``--xdist`` also runs the audit
with ``-n 2`` (target: faster than serial); ``--prowler`` runs Prowler's KMS scan of the
same keys (installed into its own virtual environment, ``PROWLER_VERSION``; target: the
audit at least 2.5x faster); ``--grouped`` also runs it with ``--cryptoaudit-group-by
system`` (one test per check and system, each key a subtest), shown beside the default
audit's ratio, not instead of it.

The full audit and plain pytest print their peak RSS by the end of each phase (discovery,
collection, tests, reports; ``rss_phases.py``), and at 1,000 keys the memory target is shown
against its floor: plain pytest over as many trivial tests with boto3, a KMS client and the
plugin's modules imported, which no audit with one test per (check, key) can go below.

The time target at 1,000 keys is shown against two floors: discovery at the server's own
limit followed by plain pytest (any design that discovers, then tests), and the overlapped
floor: after a first pass over the keys, plain pytest runs as many trivial tests while
another process makes the per-key calls left (any design whose tests run during discovery).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.kms_bench_roles import REGIONS, ROLES, config_text
from pytest_cryptoaudit.lab.moto import environment

ROOT = Path(__file__).resolve().parent.parent


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for name, value in environment():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    # Measured as installed: pip compiles bytecode at install time, so no run here should
    # compile the package from source (some shells set PYTHONDONTWRITEBYTECODE).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                     env.get("PYTHONPATH")]))
    return env


def run_role(role: str, *args: str) -> dict[str, Any]:
    """Run one measurement in a fresh process; it prints one JSON line."""
    output = subprocess.run([sys.executable, __file__, "--role", role, *args], env=child_env(),
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def timed_process(command: list[str], cwd: Path,
                  env: dict[str, str] | None = None) -> tuple[float, int, int, float]:
    """Wall seconds, peak RSS (KiB), exit status and CPU seconds (user + system) of a
    command, measured from outside (on a shared machine the CPU time is the steadier one)."""
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env or child_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return (time.perf_counter() - began, usage.ru_maxrss, process.returncode,
            usage.ru_utime + usage.ru_stime)


FLAGS = ("-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
#: The peak RSS by the end of each phase of a run (discovery, collection, tests, reports).
PHASES = ("-p", "benchmarks.rss_phases")


def phased_process(command: list[str], cwd: Path) -> tuple[float, int, int, float,
                                                          dict[str, list[float]]]:
    """:func:`timed_process`, with the peak RSS by the end of each phase (see rss_phases)."""
    record = cwd / "rss-phases.json"
    measured = timed_process([*command, *PHASES], cwd, {**child_env(), "RSS_PHASES": str(record)})
    return (*measured, json.loads(record.read_text()) if record.exists() else {})


def full_run(url: str, workdir: Path, *extra: str, plain_too: bool = True) -> dict[str, Any]:
    """``pytest --cryptoaudit`` over the seeded estate, and (``plain_too``) plain pytest
    over as many trivial tests, to tell the plugin's per-item overhead from pytest's own."""
    workdir.mkdir(exist_ok=True)
    (workdir / "cryptoaudit.toml").write_text(config_text(url))
    evidence = workdir / "evidence.json"
    wall, rss, status, cpu, phases = phased_process(
        [sys.executable, "-m", "pytest", "--cryptoaudit", f"--cryptoaudit-json={evidence}",
         *FLAGS, *extra], workdir)
    data = json.loads(evidence.read_text())
    items = len(data["results"])
    discovery = data["run"]["discovery_seconds"]
    findings = sum(r["outcome"] == "failed" for r in data["results"])
    audit = {"wall_s": wall, "cpu_s": cpu, "peak_rss_kib": rss, "exit": status, "items": items,
             "findings": findings, "discovery_s": discovery, "keys": len(data["inventory"]),
             "phases": phases}
    if not plain_too:
        return audit
    plain = workdir / "plain"
    plain.mkdir()
    (plain / "test_plain.py").write_text(
        f"import pytest\n\n@pytest.mark.parametrize('i', range({items}))\n"
        "def test_item(i):\n    assert i >= 0\n")
    plain_wall, plain_rss, _, plain_cpu, plain_phases = phased_process(
        [sys.executable, "-m", "pytest", *FLAGS, *extra], plain)
    if items < FLOOR_BELOW and not extra:  # not again for -n 2
        audit["floor_peak_rss_kib"] = floor_rss(workdir / "floor", items, extra)
    return {**audit, "plain_cpu_s": plain_cpu, "plain_phases": plain_phases,
            "plain_wall_s": plain_wall, "plain_peak_rss_kib": plain_rss,
            "ms_per_item": (wall - discovery) / items * 1000,
            "plugin_ms_per_item": (wall - discovery - plain_wall) / items * 1000}


#: The memory floor is measured for runs below this many tests (its own run of plain
#: pytest; at 10,000 keys the target is a ratio to plain pytest's peak instead).
FLOOR_BELOW = 100_000
#: What every audit of an AWS KMS system holds whatever the plugin does per key: boto3 and
#: a KMS client, and the plugin's own modules (its configuration, evidence and ledger).
FLOOR_CONFTEST = """
import boto3
import pytest_cryptoaudit.ledger.plugin
import pytest_cryptoaudit.providers.aws_kms.discovery
import pytest_cryptoaudit.reporting
import pytest_cryptoaudit.session

boto3.Session().client("kms", region_name="eu-west-1")
"""


def floor_rss(workdir: Path, items: int, extra: tuple[str, ...]) -> int:
    """Peak RSS (KiB) of plain pytest over ``items`` trivial tests whose conftest imports
    boto3 and the plugin's modules and makes a KMS client: the floor under the audit's peak
    with one test per (check, key)."""
    workdir.mkdir()
    (workdir / "conftest.py").write_text(FLOOR_CONFTEST)
    (workdir / "test_floor.py").write_text(
        f"import pytest\n\n@pytest.mark.parametrize('i', range({items}))\n"
        "def test_item(i):\n    assert i >= 0\n")
    return timed_process([sys.executable, "-m", "pytest", *FLAGS, *extra], workdir)[1]


def report(n: int, seed: dict[str, Any], limit: dict[str, Any], discovery: dict[str, Any],
           naive: dict[str, Any], full: dict[str, Any]) -> list[str]:
    calls = discovery["calls"]
    ideal = calls / limit["calls_per_s"]
    lines = [
        f"## N = {n:,} keys ({', '.join(REGIONS)}; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores)",
        f"seeding: backend insertion {seed['insert_us_per_key']:.0f} us/key "
        f"({seed['seed_s']:.1f} s); moto CreateKey's own key generation "
        f"{seed['create_key_ms']:.0f} ms/key",
        f"server limit (lean HTTP client, {limit['threads']} threads, discovery's call mix): "
        f"{limit['calls_per_s']:.0f} calls/s",
        f"discovery: {discovery['wall_s']:.1f} s, {calls:,} calls = "
        f"{calls / n:.2f} calls/key ({discovery['per_operation']}), "
        f"{calls / discovery['wall_s']:.0f} calls/s = {discovery['wall_s'] / ideal:.2f}x the "
        f"server-limited {ideal:.1f} s; peak RSS {discovery['peak_rss_kib'] / 1024:.0f} MiB "
        f"(after imports {discovery['base_rss_kib'] / 1024:.0f} MiB); inventory "
        f"{discovery['inventory_bytes'] / n:,.0f} bytes/key (deep size, shared objects once)",
        f"naive sequential boto3 loop (same calls): {naive['wall_s']:.1f} s, "
        f"{naive['calls']:,} calls, peak RSS {naive['peak_rss_kib'] / 1024:.0f} MiB; "
        f"discovery is {naive['wall_s'] / discovery['wall_s']:.1f}x faster",
        f"full pytest --cryptoaudit: {full['wall_s']:.1f} s ({full['cpu_s']:.1f} s CPU) for "
        f"{full['items']:,} test items, {full['findings']:,} findings "
        f"(discovery {full['discovery_s']:.1f} s), peak RSS {full['peak_rss_kib'] / 1024:.0f} "
        f"MiB; {full['ms_per_item']:.2f} ms/item after discovery; plain pytest over as many "
        f"trivial items {full['plain_wall_s']:.1f} s ({full['plain_cpu_s']:.1f} s CPU, peak RSS "
        f"{full['plain_peak_rss_kib'] / 1024:.0f} MiB), so the plugin adds "
        f"{full['plugin_ms_per_item']:.2f} ms/item",
        f"full audit / naive boto3 loop: wall {full['wall_s'] / naive['wall_s']:.2f}x, CPU "
        f"{full['cpu_s'] / naive['cpu_s']:.2f}x (audit {full['cpu_s']:.1f} s CPU incl. the "
        f"client side of discovery, loop {naive['cpu_s']:.1f} s); memory per item over plain "
        f"pytest {(full['peak_rss_kib'] - full['plain_peak_rss_kib']) * 1024 / full['items']:,.0f}"
        f" B (peak RSS difference / items; includes the inventory)",
    ]
    if full.get("phases") and full.get("plain_phases"):
        lines.append(f"peak RSS by the end of each phase (MiB): audit {_phases(full['phases'])}; "
                     f"plain pytest {_phases(full['plain_phases'])}")
    return lines


def _phases(phases: dict[str, list[float]]) -> str:
    return ", ".join(f"{name} {peak:,.0f}" for name, (peak, _current) in phases.items())


def targets(n: int, discovery: dict[str, Any], naive: dict[str, Any], full: dict[str, Any],
            parallel: dict[str, Any] | None, prowler: dict[str, Any] | None,
            grouped: dict[str, Any] | None = None, server_s: float | None = None,
            overlap: dict[str, Any] | None = None) -> list[str]:
    """Each figure against its target (the scale issue's table). ``server_s``: the time the
    server itself needs for discovery's calls (its limit), for the floor of the time ratio;
    ``overlap``: the overlapped floor (the tests running while another process fetches)."""
    rss_mb = full["peak_rss_kib"] * 1024 / 1e6
    rows = [("calls per key", discovery["calls"] / n, "<=", 5.8, "")]
    if n < 10_000:
        floor = "" if server_s is None else (
            f"; floor {(server_s + full['plain_wall_s']) / naive['wall_s']:.2f}x (discovery at "
            f"the server's own limit, {server_s:.1f} s, then plain pytest over as many trivial "
            f"tests, {full['plain_wall_s']:.1f} s)")
        if overlap is not None:
            floor += (f"; overlapped floor {overlap['wall_s'] / naive['wall_s']:.2f}x (first "
                      f"pass {overlap['first_pass_s']:.1f} s, then plain pytest while another "
                      f"process makes the calls left: {overlap['wall_s']:.1f} s, "
                      f"{overlap['calls']:,} calls)")
        rows += [("full audit / boto3 loop, wall", full["wall_s"] / naive["wall_s"], "<=", 1.3,
                  f"CPU {full['cpu_s'] / naive['cpu_s']:.2f}x{floor}"),
                 ("peak RSS (MB)", rss_mb, "<=", 150.0, _floor(full))]
    else:
        floor = naive["wall_s"] + full["plain_wall_s"]
        rows += [("full audit / (loop + plain pytest), wall", full["wall_s"] / floor, "<=",
                  1.3, f"CPU {full['cpu_s'] / (naive['cpu_s'] + full['plain_cpu_s']):.2f}x"),
                 ("peak RSS / plain pytest's", full["peak_rss_kib"] / full["plain_peak_rss_kib"],
                  "<=", 1.3, "")]
    if parallel is not None:
        rows.append(("-n 2 / serial, wall", parallel["wall_s"] / full["wall_s"], "<", 1.0,
                     f"{parallel['wall_s']:.1f} s against {full['wall_s']:.1f} s, peak RSS "
                     f"{parallel['peak_rss_kib'] / 1024:.0f} MiB (largest process); plain "
                     f"pytest over as many trivial tests: "
                     f"{parallel['plain_wall_s'] / full['plain_wall_s']:.2f}x its serial time"))
    if prowler is not None:
        rows.append(("Prowler KMS scan / full audit, wall", prowler["wall_s"] / full["wall_s"],
                     ">=", 2.5, f"Prowler {prowler['wall_s']:.1f} s ({prowler['cpu_s']:.1f} s "
                     f"CPU), peak RSS {prowler['peak_rss_kib'] / 1024:.0f} MiB"))
    if grouped is not None:  # not the default audit the target names: shown beside it
        rows.append(("grouped audit / boto3 loop, wall", grouped["wall_s"] / naive["wall_s"],
                     "<=", 1.3, f"--cryptoaudit-group-by system, {grouped['wall_s']:.1f} s "
                     f"({grouped['cpu_s']:.1f} s CPU), peak RSS "
                     f"{grouped['peak_rss_kib'] / 1024:.0f} MiB, the same "
                     f"{grouped['items']:,} results and {grouped['findings']:,} findings"))
    lines = ["targets:"]
    for what, value, sense, target, note in rows:
        met = value <= target if sense == "<=" else value < target if sense == "<" else \
            value >= target
        lines.append(f"  {what:<42} {value:8.2f}  (target {sense} {target}: "
                     f"{'met' if met else 'MISSED'}){'; ' + note if note else ''}")
    return lines


def _floor(full: dict[str, Any]) -> str:
    floor = full.get("floor_peak_rss_kib")
    if not floor:
        return ""
    return (f"floor {floor * 1024 / 1e6:.0f} MB (plain pytest over as many trivial tests, "
            f"{full['plain_peak_rss_kib'] * 1024 / 1e6:.0f} MB, with boto3, a KMS client and "
            f"the plugin's modules imported): the audit is {full['peak_rss_kib'] / floor:.2f}x it")


def measure(n: int, workers: int, xdist: bool, prowler: bool, grouped: bool = False) -> str:
    server = subprocess.Popen([sys.executable, __file__, "--role", "serve", "--keys", str(n)],
                              env=child_env(), stdout=subprocess.PIPE, text=True,
                              # moto logs every call it lacks (Prowler asks for CloudTrail's
                              # LookupEvents) with a traceback
                              stderr=subprocess.DEVNULL)
    try:
        assert server.stdout is not None
        seed = json.loads(server.stdout.readline())
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "pytest_cryptoaudit"),
                        str(ROOT / "controls")], env=child_env(), check=True)
        url = seed["url"]
        limit = step("server limit", run_role("throughput", "--url", url))
        discovery = step("discovery", run_role("discovery", "--url", url,
                                               "--workers", str(workers)))
        naive = step("naive loop", run_role("naive", "--url", url))
        with tempfile.TemporaryDirectory() as folder:
            full = step("full audit", full_run(url, Path(folder, "serial")))
            overlap = step("overlapped floor", run_role(
                "overlapped", "--url", url, "--items", str(full["items"]),
                "--workers", str(workers))) if n < 10_000 else None
            parallel = step("full audit -n 2", full_run(url, Path(folder, "xdist"), "-n", "2")
                            ) if xdist else None
            scan = step("prowler", prowler_scan(url, Path(folder, "prowler"))
                        ) if prowler else None
            by_system = step("grouped audit", full_run(
                url, Path(folder, "grouped"), "--cryptoaudit-group-by", "system",
                plain_too=False)) if grouped else None
    finally:
        server.terminate()
        server.wait()
    lines = report(n, seed, limit, discovery, naive, full)
    if parallel is not None:
        lines.append(f"full audit with -n 2: {parallel['wall_s']:.1f} s "
                     f"({parallel['cpu_s']:.1f} s CPU, controller and workers), plain pytest -n 2 "
                     f"{parallel['plain_wall_s']:.1f} s")
    return "\n".join([*lines, *targets(n, discovery, naive, full, parallel, scan, by_system,
                                         discovery["calls"] / limit["calls_per_s"], overlap)])


def step(name: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Each measurement's raw figures on stderr as it ends: at 10,000 keys a size takes
    most of an hour, and a run cut short still shows what it measured."""
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {json.dumps(figures)}", file=sys.stderr,
          flush=True)
    return figures


PROWLER_VERSION = "5.46.0"


def prowler_scan(url: str, workdir: Path) -> dict[str, Any]:
    """Prowler's KMS checks over the same server, in its own virtual environment (created
    once, beside the user's cache), writing its default output formats."""
    venv = Path.home() / ".cache" / "cryptoaudit-bench" / f"prowler-{PROWLER_VERSION}"
    prowler = venv / "bin" / "prowler"
    if not prowler.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q",
                        f"prowler=={PROWLER_VERSION}"], check=True)
    workdir.mkdir(parents=True, exist_ok=True)
    command = [str(prowler), "aws", "--service", "kms", "--region", *REGIONS,
               "--output-directory", str(workdir), "--no-banner"]
    env = {**child_env(), "AWS_ENDPOINT_URL": url}
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return {"wall_s": time.perf_counter() - began, "peak_rss_kib": usage.ru_maxrss,
            "cpu_s": usage.ru_utime + usage.ru_stime, "exit": os.waitstatus_to_exitcode(status),
            "outputs": sorted(p.name for p in workdir.rglob("*") if p.is_file())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--xdist", action="store_true", help="also run the audit with -n 2")
    parser.add_argument("--prowler", action="store_true",
                        help=f"also run Prowler {PROWLER_VERSION}'s KMS scan (installs it "
                             "into its own virtual environment on first use)")
    parser.add_argument("--grouped", action="store_true",
                        help="also run the audit with --cryptoaudit-group-by system")
    parser.add_argument("--role", choices=sorted(ROLES), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--items", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        print(json.dumps(ROLES[args.role](args)), flush=True)
        return
    for n in args.keys:
        print(measure(n, args.workers, args.xdist, args.prowler, args.grouped), flush=True)
        print(flush=True)


if __name__ == "__main__":
    main()
