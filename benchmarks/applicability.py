"""The cost of the not-applicable evidence, against the parametrization it sits beside.

    python benchmarks/applicability.py [--keys 10000] [--systems 10]

Builds an inventory of ``--keys`` keys (key files, AWS KMS keys, one system in two of
each kind) and times, over the built-in controls: the filter that
``pytest_generate_tests`` runs to parametrize each control (every key of the estate
through the control's ``applies_to``), the reference; and the not-applicable computation
over the items that parametrization yields (stand-ins with what a pytest item offers).
Prints both and their ratio.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from typing import Any

from pytest_cryptoaudit.applicability import NOUNS, not_applicable
from pytest_cryptoaudit.catalog import ControlSpec, specs_of_function
from pytest_cryptoaudit.model import Inventory, KeyRecord, RiskTier, SystemRecord

Function = tuple[ControlSpec, str, Any]


class Item:
    """What the computation reads of a collected pytest item."""

    def __init__(self, function: Any, fixture: str, subject: Any) -> None:
        self.function = function
        self.originalname = function.__name__
        self.fixturenames = (fixture,)
        self.callspec = type("CallSpec", (), {"params": {fixture: subject}})()

    def get_closest_marker(self, name: str) -> Any:
        return next((m for m in self.function.pytestmark if m.name == name), None)


def control_functions() -> list[Function]:
    """Every built-in control function with its subject fixture (and the function)."""
    import importlib.util

    from pytest_cryptoaudit.catalog import builtin_control_files

    functions = []
    for path in builtin_control_files():
        spec = importlib.util.spec_from_file_location(f"_bench_controls.{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, function in vars(module).items():
            control = specs_of_function(function) if name.startswith("test_") else None
            fixture = next((f for f in NOUNS if control and f in
                            inspect.signature(function).parameters), None)
            if control and fixture:
                functions.append((control, fixture, function))
    return functions


def inventory(keys: int, systems: int) -> Inventory:
    names = [f"system-{n}" for n in range(systems)]
    records = [SystemRecord(name, "files" if n % 2 else "aws-kms", RiskTier.HIGH, "CSC")
               for n, name in enumerate(names)]
    key_records = []
    for n in range(keys):
        system = records[n % systems]
        kms = system.provider == "aws-kms"
        key_records.append(KeyRecord(
            uid=f"{system.provider}:{system.name}/{n}", system=system.name,
            provider=system.provider, kind="secret-key" if kms else "private-key",
            risk_tier=RiskTier.HIGH, owner="CSC", algorithm="AES" if kms else "RSA",
            size=256 if kms else 2048,
            attributes={"key_manager": "CUSTOMER", "aws_origin": "AWS_KMS"} if kms else {}))
    return Inventory.build(key_records, records, ())


def timed(function, *args) -> float:
    begun = time.perf_counter()
    function(*args)
    return time.perf_counter() - begun


def parametrize_all(functions: list[Function], estate: Inventory) -> list[list[Any]]:
    """What ``pytest_generate_tests`` filters: each control's subjects."""
    pools = {"crypto_key": estate.keys, "crypto_endpoint": estate.endpoints,
             "crypto_system": estate.systems}
    return [[r for r in pools[fixture] if spec.applies_to(r)]
            for spec, fixture, _ in functions]


def items_of(functions: list[Function], subjects: list[list[Any]]) -> list[Item]:
    """The items parametrization yields (an empty parameter set yields one, subjectless)."""
    return [Item(function, fixture, subject)
            for (_, fixture, function), mine in zip(functions, subjects, strict=True)
            for subject in mine or [None]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10000)
    parser.add_argument("--systems", type=int, default=10)
    args = parser.parse_args()
    functions = control_functions()
    estate = inventory(args.keys, args.systems)
    reference = min(timed(parametrize_all, functions, estate) for _ in range(3))
    items = items_of(functions, parametrize_all(functions, estate))
    measured = min(timed(not_applicable, items, estate, None) for _ in range(3))
    entries = not_applicable(items, estate, None)
    print(f"{len(functions)} control functions, {args.keys} keys in {args.systems} systems: "
          f"{len(entries)} not applicable")
    print(f"parametrization filter (reference): {reference * 1000:.1f} ms")
    print(f"not-applicable computation:         {measured * 1000:.1f} ms "
          f"(ratio {measured / reference:.2f})")


if __name__ == "__main__":
    main()
