"""The plugin's cost per test item over plain pytest with the same number of items.

    python benchmarks/item_overhead.py [--items 5000] [--repeat 2] [--json] [--profile]

The synthetic estate (an in-memory provider, one control, no finding) runs N and 2N audit
tests; plain pytest runs as many trivial parametrized tests. Each run is a fresh interpreter;
the fastest of ``--repeat`` runs counts. The cost per item is the marginal one, from N to 2N
items (so the fixed cost of importing the plugin and its dependencies is not spread over the
items), minus plain pytest's; targets: at most 0.3 ms and 2 KB. Time is given as wall time
and as CPU time (user and system): on a shared machine the CPU time is the steadier one, and
the run that counts is the one with the least CPU time. ``--json`` also writes the evidence,
as an audit that keeps its results does; ``--profile`` prints where the 2N audit spends its
time beyond plain pytest's (cProfile, own time per function, both runs in this process) and
what it holds per item beyond plain pytest's at the end of the run, per source line
(tracemalloc, marginal from N to 2N, each run in a fresh interpreter).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from synthetic_estate import (
    AUDIT_ARGS,
    Measure,
    audit_folder,
    memory_difference,
    plain_folder,
    profile_difference,
    run_pytest,
)

TARGET_MS, TARGET_KB = 0.3, 2.0


def _best(folder: Path, repeat: int, *args: str) -> Measure:
    return min((run_pytest(folder, *args) for _ in range(repeat)), key=lambda m: m.cpu)


def _measure(root: Path, items: int, repeat: int, extra: tuple[str, ...]) -> dict[str, Measure]:
    audit = _best(audit_folder(root / f"audit-{items}", items, 0), repeat, *AUDIT_ARGS, *extra)
    plain = _best(plain_folder(root / f"plain-{items}", items, 0), repeat)
    assert audit.exit_code == plain.exit_code == 0, (audit, plain)
    return {"pytest --cryptoaudit": audit, "plain pytest": plain}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000, help="N (then 2N)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="also write the JSON evidence")
    parser.add_argument("--profile", action="store_true",
                        help="print the audit's own time per function beyond plain pytest's")
    arguments = parser.parse_args()
    small, large = arguments.items, 2 * arguments.items
    extra = ("--cryptoaudit-json", "evidence.json") if arguments.json else ()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        runs = {n: _measure(root, n, arguments.repeat, extra) for n in (small, large)}
    print(f"{'run':<22} {'items':>7} {'wall':>9} {'CPU':>9} {'peak RSS':>10}")
    for items, measures in runs.items():
        for what, m in measures.items():
            print(f"{what:<22} {items:>7} {m.seconds:8.2f}s {m.cpu:8.2f}s "
                  f"{m.rss_kb / 1024:8.1f}MB")
    marginal = {what: (runs[large][what].seconds - runs[small][what].seconds,
                       runs[large][what].cpu - runs[small][what].cpu,
                       runs[large][what].rss_kb - runs[small][what].rss_kb)
                for what in runs[small]}
    audit, plain = marginal["pytest --cryptoaudit"], marginal["plain pytest"]
    wall_ms, cpu_ms = ((audit[i] - plain[i]) / small * 1000 for i in (0, 1))
    kb = (audit[2] - plain[2]) / small
    print(f"plugin overhead per item (marginal, {small} to {large} items; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    print(f"  CPU  {cpu_ms:6.3f} ms  (target {TARGET_MS} ms: {_verdict(cpu_ms, TARGET_MS)})")
    print(f"  wall {wall_ms:6.3f} ms  (target {TARGET_MS} ms: {_verdict(wall_ms, TARGET_MS)})")
    print(f"  RSS  {kb:6.2f} KB  (target {TARGET_KB} KB: {_verdict(kb, TARGET_KB)})")
    fixed = runs[small]["pytest --cryptoaudit"].rss_kb - runs[small]["plain pytest"].rss_kb
    print(f"total over plain pytest at {small} items: "
          f"{fixed / small:.2f} KB per item including the fixed cost of imports")
    if arguments.profile:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            profile_difference(audit_folder(root / "audit", large, 0),
                               plain_folder(root / "plain", large, 0), (*AUDIT_ARGS, *extra))
            memory_difference(root, small, large, (*AUDIT_ARGS, *extra))


def _verdict(value: float, target: float) -> str:
    return "met" if value <= target else f"missed by {value / target:.1f}x"

if __name__ == "__main__":
    main()
