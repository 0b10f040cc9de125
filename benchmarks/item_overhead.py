"""The plugin's cost per test item over plain pytest with the same number of items.

    python benchmarks/item_overhead.py [--items 5000] [--repeat 2] [--json]

The synthetic estate (an in-memory provider, one control, no finding) runs N and 2N audit
tests; plain pytest runs as many trivial parametrized tests. Each run is a fresh interpreter;
the fastest of ``--repeat`` runs counts. The cost per item is the marginal one, from N to 2N
items (so the fixed cost of importing the plugin and its dependencies is not spread over the
items), minus plain pytest's; targets: at most 0.3 ms and 2 KB. ``--json`` also writes the
evidence, as an audit that keeps its results does.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from synthetic_estate import AUDIT_ARGS, Measure, audit_folder, plain_folder, run_pytest


def _best(folder: Path, repeat: int, *args: str) -> Measure:
    return min((run_pytest(folder, *args) for _ in range(repeat)), key=lambda m: m.seconds)


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
    arguments = parser.parse_args()
    small, large = arguments.items, 2 * arguments.items
    extra = ("--cryptoaudit-json", "evidence.json") if arguments.json else ()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        runs = {n: _measure(root, n, arguments.repeat, extra) for n in (small, large)}
    print(f"{'run':<22} {'items':>7} {'wall':>9} {'peak RSS':>10}")
    for items, measures in runs.items():
        for what, m in measures.items():
            print(f"{what:<22} {items:>7} {m.seconds:8.2f}s {m.rss_kb / 1024:8.1f}MB")
    marginal = {what: (runs[large][what].seconds - runs[small][what].seconds,
                       runs[large][what].rss_kb - runs[small][what].rss_kb)
                for what in runs[small]}
    audit, plain = marginal["pytest --cryptoaudit"], marginal["plain pytest"]
    print(f"plugin overhead per item (marginal, {small} to {large} items): "
          f"{(audit[0] - plain[0]) / small * 1000:.3f} ms, {(audit[1] - plain[1]) / small:.2f} KB"
          " (targets: 0.3 ms, 2 KB)")
    fixed = runs[small]["pytest --cryptoaudit"].rss_kb - runs[small]["plain pytest"].rss_kb
    print(f"total over plain pytest at {small} items: "
          f"{fixed / small:.2f} KB per item including the fixed cost of imports")


if __name__ == "__main__":
    main()
