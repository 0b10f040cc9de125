"""Grouped mode at scale: 100,000 synthetic keys through every built-in check that applies.

    python benchmarks/grouped_scale.py [--keys 100000] [--compare 10000] [--systems 4]
                                       [--profile N]

A synthetic provider (records generated in memory, no I/O; one key in ten is five years old,
past its cryptoperiod, so it has a finding) feeds the built-in controls, with the ledger off and
the JSON evidence written, as an audit that keeps its results does. Each run is a fresh
interpreter reporting wall time, CPU time and peak RSS.

- ``--keys``: the grouped run (``--cryptoaudit-group-by system``); targets 10 min, 2 GB.
- ``--compare``: at a size the ungrouped mode affords, the same estate grouped and ungrouped,
  and plain pytest running as many trivial parametrized tests as the ungrouped run has items;
  the ratios say what grouping saves and how the grouped run compares with pytest's floor.
- ``--profile N``: where a grouped run of N keys spends its time (cProfile, in-process).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import json
import os
import pstats
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from synthetic_estate import plain_folder

PROVIDER = '''
from datetime import UTC, datetime, timedelta

from pytest_cryptoaudit import Provider, ProviderOptions

NOW = datetime.now(UTC)


class EstateOptions(ProviderOptions):
    keys: int


class Estate(Provider):
    """``keys`` AES-256 keys in memory; every tenth is five years old (past its
    cryptoperiod: a finding), the others thirty days."""

    name = "estate"
    component = "kms"
    Options = EstateOptions

    def discover(self, system, context):
        attempt = self.new_discovery(system)
        young, old = NOW - timedelta(days=30), NOW - timedelta(days=5 * 365)
        for n in range(system.options.keys):
            attempt.add_key(f"estate:{system.name}/key-{n:06d}", "secret-key",
                            algorithm="AES", size=256, created=old if n % 10 == 0 else young,
                            tags={"classification": "internal"})
        return attempt


def pytest_cryptoaudit_add_providers(registry):
    registry.register(Estate)
'''

SYSTEM = '''
[[systems]]
name = "accounts-{index}"
provider = "estate"
risk_tier = "high"
ssrm_owner = "CSC"
accountable_owner = "app-team"
keys = {keys}
'''

#: Runs pytest in a fresh interpreter; writes its wall and CPU time and peak RSS as JSON.
RUNNER = '''
import json, resource, sys, time
import pytest
begun, cpu = time.perf_counter(), time.process_time()
code = pytest.main(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_SELF)
with open(sys.argv[1], "w") as handle:
    json.dump({"seconds": time.perf_counter() - begun, "cpu": time.process_time() - cpu,
               "rss_kb": usage.ru_maxrss, "exit": int(code)}, handle)
'''

GROUPED = ("--cryptoaudit-group-by", "system")


@dataclasses.dataclass(frozen=True)
class Run:
    """One pytest run: wall and CPU seconds, peak RSS, and what its evidence holds."""

    seconds: float
    cpu: float
    rss_kb: int
    exit_code: int
    results: int = 0
    findings: int = 0

    def row(self, what: str, keys: int) -> str:
        return (f"{what:<34} {keys:>8,} {self.results:>9,} {self.findings:>8,} "
                f"{self.seconds:8.1f}s {self.cpu:8.1f}s {self.rss_kb / 1024:8.0f}MB")


def estate_folder(folder: Path, keys: int, systems: int) -> Path:
    """The synthetic estate: ``keys`` keys spread over ``systems`` systems."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conftest.py").write_text(textwrap.dedent(PROVIDER))
    share = [keys // systems + (index < keys % systems) for index in range(systems)]
    (folder / "cryptoaudit.toml").write_text(
        "".join(SYSTEM.format(index=index + 1, keys=count) for index, count in enumerate(share)))
    return folder


def run(folder: Path, *args: str, verbosity: str = "-q") -> Run:
    """pytest in ``folder``, in a fresh interpreter; its output goes to a file there."""
    runner, figures, evidence = folder / "_runner.py", folder / "_figures.json", \
        folder / "evidence.json"
    runner.write_text(RUNNER)
    evidence.unlink(missing_ok=True)
    command = [sys.executable, str(runner), str(figures), verbosity, "-p", "no:cacheprovider",
               *args]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with (folder / "_output.txt").open("w") as output:
        subprocess.run(command, cwd=folder, env=env, stdout=output, stderr=subprocess.STDOUT,
                       check=False, timeout=7200)
    data = json.loads(figures.read_text())
    results = findings = 0
    if evidence.is_file():
        summary = json.loads(evidence.read_text())["results"]
        results, findings = len(summary), sum(r["outcome"] == "failed" for r in summary)
    return Run(data["seconds"], data["cpu"], data["rss_kb"], data["exit"], results, findings)


def audit(folder: Path, *extra: str) -> Run:
    """The audit as a user runs it (default verbosity: pytest's terminal counts no passed
    subtest, and keeps none); the ledger off, the evidence written."""
    return run(folder, "--cryptoaudit", "--cryptoaudit-no-ledger",
               "--cryptoaudit-json", "evidence.json", *extra, verbosity="-rfE")


def profile(folder: Path) -> None:
    import pytest

    os.chdir(folder)
    profiler = cProfile.Profile()
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        profiler.runcall(pytest.main, ["-q", "-p", "no:cacheprovider", "--cryptoaudit",
                                       "--cryptoaudit-no-ledger", "--cryptoaudit-json",
                                       "evidence.json", *GROUPED])
    stats = pstats.Stats(profiler)
    print("\ncProfile of the grouped run (cumulative, top 30):")
    stats.sort_stats("cumulative").print_stats(30)
    print("cProfile of the grouped run (own time, top 20):")
    stats.sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000, help="keys of the grouped run")
    parser.add_argument("--compare", type=int, default=10_000,
                        help="keys of the grouped / ungrouped / plain comparison (0: none)")
    parser.add_argument("--systems", type=int, default=4)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        print(f"{'run':<34} {'keys':>8} {'results':>9} {'findings':>8} {'wall':>9} "
              f"{'CPU':>9} {'peak RSS':>10}")
        if arguments.compare:
            compare(root, arguments.compare, arguments.systems)
        if arguments.keys:
            large = audit(estate_folder(root / "large", arguments.keys, arguments.systems),
                          *GROUPED)
            print(large.row("grouped", arguments.keys), flush=True)
            print(f"targets at {arguments.keys:,} keys: 600 s, 2048 MB: wall "
                  f"{large.seconds / 600:.0%} of it, peak RSS {large.rss_kb / 1024 / 2048:.0%}")
        if arguments.profile:
            profile(estate_folder(root / "profiled", arguments.profile, arguments.systems))


def compare(root: Path, keys: int, systems: int) -> None:
    folder = estate_folder(root / "compare", keys, systems)
    grouped = audit(folder, *GROUPED)
    print(grouped.row("grouped", keys), flush=True)
    ungrouped = audit(folder)
    print(ungrouped.row("ungrouped", keys), flush=True)
    plain = run(plain_folder(root / "plain", ungrouped.results, 0))
    print(Run(plain.seconds, plain.cpu, plain.rss_kb, plain.exit_code,
              ungrouped.results).row("plain pytest, trivial tests", keys), flush=True)
    assert grouped.results == ungrouped.results, "grouped and ungrouped give the same results"
    print(f"grouped / ungrouped at {keys:,} keys: wall {grouped.seconds / ungrouped.seconds:.2f}x,"
          f" CPU {grouped.cpu / ungrouped.cpu:.2f}x, RSS {grouped.rss_kb / ungrouped.rss_kb:.2f}x")
    print(f"grouped / plain pytest with one trivial test per result: wall "
          f"{grouped.seconds / plain.seconds:.2f}x, CPU {grouped.cpu / plain.cpu:.2f}x, "
          f"RSS {grouped.rss_kb / plain.rss_kb:.2f}x")


if __name__ == "__main__":
    main()
