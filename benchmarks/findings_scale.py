"""Findings at linear cost: an audit with N and 2N findings, timed in the same run.

    python benchmarks/findings_scale.py [--findings 2000] [--repeat 3] [--profile]

A synthetic estate (an in-memory provider registered through the public provider hook, one
control) with every key weak gives N and then 2N findings; plain pytest runs the same numbers
of trivial failing parametrized tests as a reference. Each run is a fresh interpreter. The
doubling ratio should stay near 2 (linear); pytest's own summary of failures is quadratic, so
a ratio near 4 means findings went through it. ``--profile`` prints where the 2N audit spends
its time (cProfile, cumulative).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import tempfile
from pathlib import Path

from synthetic_estate import (
    AUDIT_ARGS,
    Measure,
    audit_folder,
    output_of,
    plain_folder,
    run_pytest,
)


def _row(what: str, small: Measure, large: Measure) -> None:
    print(f"{what:<28} {small.seconds:9.2f} s {large.seconds:9.2f} s "
          f"{large.seconds / small.seconds:7.2f}x   {small.rss_kb / 1024:7.0f} MB "
          f"{large.rss_kb / 1024:7.0f} MB")


def _best(runs: list[Measure]) -> Measure:
    """The fastest of repeated runs: other load on the machine only ever adds time."""
    return min(runs, key=lambda m: m.seconds)


def _audit(root: Path, findings: int, repeat: int) -> Measure:
    folder = audit_folder(root / f"audit-{findings}", findings, findings)
    measure = _best([run_pytest(folder, *AUDIT_ARGS) for _ in range(repeat)])
    listed = output_of(folder).count("[high] BENCH-01 synthetic-weakness synthetic:")
    # every finding must still reach the terminal, one line each
    assert listed == findings, f"{listed} of {findings} findings listed"
    return measure


def _plain(root: Path, failures: int, repeat: int) -> Measure:
    folder = plain_folder(root / f"plain-{failures}", failures, failures)
    return _best([run_pytest(folder) for _ in range(repeat)])


def _profile(root: Path, findings: int) -> None:
    import os

    import pytest

    folder = audit_folder(root / "profiled", findings, findings)
    os.chdir(folder)
    profiler = cProfile.Profile()
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        profiler.runcall(pytest.main, ["-q", "-p", "no:cacheprovider", *AUDIT_ARGS])
    print(f"\ncProfile of the audit with {findings} findings (cumulative, top 25):")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=2000, help="N (then 2N)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best counts")
    parser.add_argument("--profile", action="store_true")
    arguments = parser.parse_args()
    small, large = arguments.findings, 2 * arguments.findings
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        print(f"{'run':<28} {small:>9} f   {large:>9} f   ratio   peak RSS")
        repeat = arguments.repeat
        audit = _audit(root, small, repeat), _audit(root, large, repeat)
        plain = _plain(root, small, repeat), _plain(root, large, repeat)
        _row("pytest --cryptoaudit", *audit)
        _row("plain pytest, failing tests", *plain)
        print(f"audit / plain at {large}: {audit[1].seconds / plain[1].seconds:.2f}x")
        if arguments.profile:
            _profile(root, large)


if __name__ == "__main__":
    main()
