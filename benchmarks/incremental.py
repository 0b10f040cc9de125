"""An incremental re-audit after 1% of the keys changed, against the full audit it follows.

    python benchmarks/incremental.py [--keys 10000] [--changed-percent 1] [--profile N]

A synthetic provider (records generated in memory, so discovery is not the bottleneck) and
the built-in controls. Three runs in fresh interpreters, one ledger: a full audit (the
baseline, itself run with ``--cryptoaudit-incremental``, which has nothing to carry yet and
records what the next runs carry), ``--cryptoaudit-incremental`` with nothing changed, and
``--cryptoaudit-incremental`` after the given share of keys changed. Each run writes its
evidence, as a real audit does. The figure is the check phase (the run's wall and CPU time
minus discovery's: collection, the tests, reports, evidence, ledger) of each incremental run
as a share of the full run's; target: at most 15% after 1% changed. The checks that read
the clock (key age, post-quantum dates) compare it only with thresholds, so they are carried
too while no threshold has come. ``--profile N`` runs the last incremental run under
cProfile once more (a fourth run, after the measured ones, so the profiler's overhead
stays out of the ratio) and prints its N most expensive functions by own and by cumulative
time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

PROVIDER = '''
import os
from datetime import UTC, datetime, timedelta

from pytest_cryptoaudit import Provider, ProviderOptions

#: Fixed creation dates (a key's facts must not change between runs): one key in ten long
#: past its cryptoperiod, the others created every half hour from here.
CREATED = datetime(2025, 12, 10, tzinfo=UTC)


class ChangingOptions(ProviderOptions):
    keys: int


class Changing(Provider):
    """``keys`` AES keys in memory; the first $BENCH_CHANGED carry a changed tag (outside
    the configuration, whose change would make the system's audit a full one). One in ten
    is past its cryptoperiod: a finding."""

    name = "changing"
    component = "kms"
    Options = ChangingOptions

    def discover(self, system, context):
        attempt = self.new_discovery(system)
        changed = int(os.environ.get("BENCH_CHANGED", "0"))
        for n in range(system.options.keys):
            revision = "2" if n < changed else "1"
            created = CREATED + timedelta(minutes=30 * n) if n % 10 \
                else CREATED - timedelta(days=900)
            attempt.add_key(f"changing:{system.name}/key-{n:06d}", "secret-key",
                            algorithm="AES", size=256, created=created,
                            tags={"classification": "internal", "revision": revision})
        return attempt


def pytest_cryptoaudit_add_providers(registry):
    registry.register(Changing)
'''

CONFIG = '''
[[systems]]
name = "bench"
provider = "changing"
risk_tier = "high"
ssrm_owner = "CSC"
accountable_owner = "app-team"
keys = {keys}
'''

#: Runs pytest in a fresh interpreter; writes its wall and CPU time, the CPU time of
#: discovery (from the start of the session to the inventory) and peak RSS as JSON.
RUNNER = '''
import cProfile, json, os, pstats, resource, sys, time
import pytest


class Discovery:
    marks = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session):
        self.marks["begun"] = time.process_time()

    @pytest.hookimpl(tryfirst=True)
    def pytest_cryptoaudit_inventory_ready(self):
        self.marks["ready"] = time.process_time()


profile = os.environ.get("BENCH_PROFILE")
profiler = cProfile.Profile() if profile else None
begun, cpu = time.perf_counter(), time.process_time()
if profiler is not None:
    profiler.enable()
code = pytest.main(sys.argv[2:], plugins=[Discovery()])
if profiler is not None:
    profiler.disable()
    profiler.dump_stats(profile)
usage = resource.getrusage(resource.RUSAGE_SELF)
with open(sys.argv[1], "w") as handle:
    json.dump({"seconds": time.perf_counter() - begun, "cpu": time.process_time() - cpu,
               "discovery_cpu": Discovery.marks["ready"] - Discovery.marks["begun"],
               "rss_kb": usage.ru_maxrss, "exit": int(code)}, handle)
'''


#: The check phase of an incremental run after 1% changed, as a share of a full run's.
TARGET = 0.15


def run(folder: Path, *args: str, changed: int = 0, profile: Path | None = None
        ) -> dict[str, Any]:
    runner, figures, evidence = folder / "_runner.py", folder / "_figures.json", \
        folder / "evidence.json"
    runner.write_text(RUNNER)
    # hypothesis' pytest plugin, when installed (a development dependency), imports
    # hypothesis at the end of every run: a fixed cost no audit needs, left out as the
    # project's own test helper leaves it out.
    command = [sys.executable, str(runner), str(figures), "-q", "-p", "no:cacheprovider",
               "-p", "no:hypothesispytest", "--cryptoaudit", f"--cryptoaudit-json={evidence}",
               *args]
    with (folder / "_output.txt").open("w") as output:
        subprocess.run(command, cwd=folder, stdout=output, stderr=subprocess.STDOUT, check=False,
                       timeout=3600, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
                                            "BENCH_CHANGED": str(changed),
                                            "BENCH_PROFILE": str(profile or "")})
    data: dict[str, Any] = json.loads(figures.read_text())
    document = json.loads(evidence.read_text())
    results = document["results"]
    data.update(discovery=document["run"]["discovery_seconds"], results=len(results),
                carried=sum(1 for r in results if r.get("carried")))
    data["check"] = data["seconds"] - data["discovery"]
    data["check_cpu"] = data["cpu"] - data["discovery_cpu"]
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10000)
    parser.add_argument("--changed-percent", type=float, default=1.0)
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile the last incremental run; print its N top functions")
    arguments = parser.parse_args()
    keys = arguments.keys
    changed = int(keys * arguments.changed_percent / 100)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "conftest.py").write_text(textwrap.dedent(PROVIDER))
        (folder / "cryptoaudit.toml").write_text(CONFIG.format(keys=keys))
        # The first incremental run has nothing to carry from: it is the full audit, and it
        # records the results that the next ones carry.
        runs = {"full audit": run(folder, "--cryptoaudit-incremental"),
                "incremental, nothing changed": run(folder, "--cryptoaudit-incremental"),
                f"incremental, {changed:,} keys changed": run(
                    folder, "--cryptoaudit-incremental", changed=changed)}
        if arguments.profile:
            stats = folder / "_profile.out"
            profiled = run(folder, "--cryptoaudit-incremental", changed=changed, profile=stats)
            report = io.StringIO()
            loaded = pstats.Stats(str(stats), stream=report)
            for order in ("tottime", "cumulative"):
                loaded.sort_stats(order).print_stats(arguments.profile)
            profile_text = report.getvalue()
    full = runs["full audit"]
    print(f"{keys:,} keys, {full['results']:,} results; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'run':<34} {'wall':>8} {'CPU':>8} {'check wall':>11} {'check CPU':>10} "
          f"{'carried':>8} {'share of full (wall/CPU)':>25} {'peak RSS':>9}")
    for what, m in runs.items():
        share = f"{m['check'] / full['check']:.0%} / {m['check_cpu'] / full['check_cpu']:.0%}"
        print(f"{what:<34} {m['seconds']:7.1f}s {m['cpu']:7.1f}s {m['check']:10.1f}s "
              f"{m['check_cpu']:9.1f}s {m['carried']:>8,} {share:>25} "
              f"{m['rss_kb'] / 1024:7.0f}MB")
    changed_run = runs[f"incremental, {changed:,} keys changed"]
    ratio = changed_run["check_cpu"] / full["check_cpu"]
    print(f"check phase after {arguments.changed_percent:g}% changed: {ratio:.1%} of the full "
          f"run's CPU time (target {TARGET:.0%}): {'met' if ratio <= TARGET else 'NOT met'}")
    if arguments.profile:
        print(f"\nprofile of the incremental run after {changed:,} keys changed, again "
              f"(under cProfile: {profiled['cpu']:.1f}s CPU, discovery "
              f"{profiled['discovery_cpu']:.1f}s of it)")
        print(profile_text)


if __name__ == "__main__":
    main()
