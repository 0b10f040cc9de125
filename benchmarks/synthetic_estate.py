"""A synthetic estate for the scale benchmarks, and a plain-pytest twin of it.

The estate is a folder holding a ``conftest.py`` that registers an in-memory provider through
the public ``pytest_cryptoaudit_add_providers`` hook (records generated without I/O), one
control that fails on the keys planted as weak, and a ``cryptoaudit.toml``. The twin is the same
number of parametrized tests without the plugin, so a benchmark can subtract pytest's own cost.

Each run happens in a fresh interpreter that reports its wall time and peak RSS, so runs
measured in one benchmark do not share caches or memory.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

PROVIDER = '''
from pytest_cryptoaudit import Provider, ProviderOptions


class SyntheticOptions(ProviderOptions):
    keys: int
    weak: int


class Synthetic(Provider):
    """Generates ``keys`` records in memory; the first ``weak`` are planted as weak."""

    name = "synthetic"
    component = "kms"
    Options = SyntheticOptions

    def discover(self, system, context):
        attempt = self.new_discovery(system)
        for n in range(system.options.keys):
            attempt.add_key(f"synthetic:{system.name}/key-{n:06d}", "secret-key",
                            algorithm="AES", size=256, attributes={"weak": n < system.options.weak})
        return attempt


def pytest_cryptoaudit_add_providers(registry):
    registry.register(Synthetic)
'''

CONTROL = '''
import pytest


@pytest.mark.control("BENCH-01", "Synthetic weakness", check="synthetic-weakness")
@pytest.mark.risk_tier("low")
@pytest.mark.ssrm("CSC")
def test_synthetic_weakness(crypto_key):
    assert not crypto_key.attributes["weak"], "planted weakness"
'''

CONFIG = '''
[[systems]]
name = "bench"
provider = "synthetic"
risk_tier = "high"
owner = "CSC"
keys = {keys}
weak = {weak}
'''

PLAIN = '''
import pytest


@pytest.mark.parametrize("n", range({keys}))
def test_plain(n):
    assert n >= {weak}, "planted weakness"
'''

#: Runs pytest in a fresh interpreter and prints its wall time and peak RSS as JSON.
RUNNER = '''
import json, resource, sys, time
import pytest
begun = time.perf_counter()
code = pytest.main(sys.argv[2:])
seconds = time.perf_counter() - begun
usage = resource.getrusage(resource.RUSAGE_SELF)
with open(sys.argv[1], "w") as handle:
    json.dump({"seconds": seconds, "rss_kb": usage.ru_maxrss, "exit": int(code),
               "cpu": usage.ru_utime + usage.ru_stime}, handle)
'''


#: Runs pytest under tracemalloc in a fresh interpreter and writes the bytes still held, per
#: source line, once the session has finished (results folded, evidence written, every
#: report pytest keeps still kept): the memory a run holds at its end.
TRACED = '''
import json, sys, tracemalloc
import pytest


class Held:
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self):
        yield
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)])
        held = {str(s.traceback): s.size for s in snapshot.statistics("lineno")}
        with open(sys.argv[1], "w") as handle:
            json.dump(held, handle)


tracemalloc.start()
pytest.main(sys.argv[2:], plugins=[Held()])
'''


@dataclasses.dataclass(frozen=True)
class Measure:
    """Wall time (s), peak resident memory (KB) and CPU time (s, user and system, the
    steadier figure on a shared machine) of one pytest run."""

    seconds: float
    rss_kb: int
    exit_code: int
    cpu: float = 0.0


def audit_folder(folder: Path, keys: int, weak: int) -> Path:
    """Write the synthetic estate of ``keys`` keys, ``weak`` of them failing, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conftest.py").write_text(textwrap.dedent(PROVIDER))
    (folder / "test_synthetic.py").write_text(textwrap.dedent(CONTROL))
    (folder / "cryptoaudit.toml").write_text(CONFIG.format(keys=keys, weak=weak))
    return folder


def plain_folder(folder: Path, keys: int, weak: int) -> Path:
    """Write ``keys`` plain parametrized tests, ``weak`` of them failing, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_plain.py").write_text(textwrap.dedent(PLAIN.format(keys=keys, weak=weak)))
    return folder


AUDIT_ARGS = ("--cryptoaudit", "--cryptoaudit-no-builtin", "--cryptoaudit-no-ledger")


def run_pytest(folder: Path, *args: str) -> Measure:
    """Run pytest in ``folder`` in a fresh interpreter; the output goes to a file there."""
    data = _run_script(folder, "_runner", RUNNER, args)
    return Measure(data["seconds"], data["rss_kb"], data["exit"], data.get("cpu", 0.0))


def held_per_line(folder: Path, *args: str) -> dict[str, int]:
    """Bytes held per source line at the end of a run in ``folder`` (see ``TRACED``)."""
    held: dict[str, int] = _run_script(folder, "_traced", TRACED, args)
    return held


def _run_script(folder: Path, name: str, script: str, args: tuple[str, ...]) -> Any:
    """Run ``script`` (a pytest runner that writes its figures as JSON) over ``folder`` in a
    fresh interpreter and return the figures; the output goes to a file there."""
    runner, figures = folder / f"{name}.py", folder / f"{name}.json"
    runner.write_text(script)
    command = [sys.executable, str(runner), str(figures), "-q", "-p", "no:cacheprovider", *args]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with (folder / "_output.txt").open("w") as output:
        subprocess.run(command, cwd=folder, env=env, stdout=output, stderr=subprocess.STDOUT,
                       check=False, timeout=3600)
    return json.loads(figures.read_text())


def memory_difference(root: Path, small: int, large: int, args: tuple[str, ...],
                      top: int = 15) -> None:
    """Print the bytes per item that the audit holds beyond plain pytest's at the end of a
    run, per source line: marginal from ``small`` to ``large`` items (tracemalloc)."""
    per_item: dict[str, dict[str, float]] = {}
    for what, make, extra in (("audit", audit_folder, args), ("plain", plain_folder, ())):
        held = {n: held_per_line(make(root / f"traced-{what}-{n}", n, 0), *extra)
                for n in (small, large)}
        lines = set(held[small]) | set(held[large])
        per_item[what] = {line: (held[large].get(line, 0) - held[small].get(line, 0))
                          / (large - small) for line in lines}
    audit, plain = per_item["audit"], per_item["plain"]
    rows = sorted(((audit.get(line, 0.0) - plain.get(line, 0.0), line)
                   for line in set(audit) | set(plain)), reverse=True)
    print(f"\ntracemalloc, held at the end of the run, audit minus plain pytest per item "
          f"(marginal, {small} to {large} items): {sum(r[0] for r in rows):.0f} bytes; "
          f"top {top} lines:")
    for size, line in rows[:top]:
        print(f"{size:8.0f} B  {line.split('site-packages/')[-1]}")


def output_of(folder: Path) -> str:
    """What the last :func:`run_pytest` in ``folder`` printed."""
    return (folder / "_output.txt").read_text()


def profile_difference(audit: Path, plain: Path, args: tuple[str, ...], top: int = 25) -> None:
    """Profile the audit in ``audit`` and plain pytest in ``plain`` (cProfile, in this
    process, one after the other) and print the functions whose own time grew most: where
    the plugin's cost per item goes."""
    import cProfile
    import pstats

    own = {}
    for folder, extra in ((audit, args), (plain, ())):
        profiler = cProfile.Profile()
        _quietly(folder, profiler, extra)
        own[folder] = {_where(place): (row[1], row[2])
                       for place, row in pstats.Stats(profiler).stats.items()}
    rows = sorted(((calls - own[plain].get(name, (0, 0.0))[0],
                    seconds - own[plain].get(name, (0, 0.0))[1], name)
                   for name, (calls, seconds) in own[audit].items()),
                  key=lambda row: -row[1])
    print(f"\ncProfile, audit minus plain pytest (own time; top {top}):")
    print(f"{'calls':>10} {'seconds':>8}  function")
    for calls, seconds, name in rows[:top]:
        print(f"{calls:>10} {seconds:8.3f}  {name}")


def _quietly(folder: Path, profiler: Any, args: tuple[str, ...]) -> None:
    import contextlib

    import pytest

    here = Path.cwd()
    os.chdir(folder)
    try:
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            profiler.runcall(pytest.main, ["-q", "-p", "no:cacheprovider", *args])
    finally:
        os.chdir(here)


def _where(place: tuple[str, int, str]) -> str:
    filename, line, name = place
    short = filename.split("site-packages/")[-1].split("pytest_cryptoaudit/")[-1]
    return f"{short}:{line}({name})" if line else name
