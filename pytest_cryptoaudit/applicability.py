"""Which (check, system) pairs had nothing to check, and why: ``not-applicable`` evidence.

A control parametrized over no subject yields no test, so without this a files-only run's
evidence would not show that the AWS KMS checks were considered at all. The candidates are
every selected control x every audited system; a pair is not applicable when none of the
system's records of the control's kind (keys, endpoints, or the system itself) matches its
``applies_to`` and minimum tier, that is when parametrization gave the control no subject
in that system. The reason is derived from those declarations.

A system with a discovery error is never judged here: what could not be read might have
matched, and its errors are already in the evidence. Discovery-error checks are no
candidates either (a system without errors has nothing to report there).

It is computed where the tests are collected, from the collected control functions (so
user controls count too): on the controller of a plain run, on each xdist worker, which
hands it to the controller through ``workeroutput`` (all workers collect the same tests).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import json
import textwrap
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest

from .catalog import ControlSpec, spec_from_node
from .grouped import SubjectGroup
from .model import (
    UNSTATED,
    EndpointRecord,
    Inventory,
    KeyRecord,
    LibraryRecord,
    Outcome,
    RiskTier,
    SystemRecord,
)
from .selection import selects

WORKEROUTPUT_KEY = "cryptoaudit_not_applicable"
_RECORDS = (KeyRecord, EndpointRecord, LibraryRecord, SystemRecord)
#: The subject fixtures judged per system, and what one subject of each is called.
NOUNS = {"crypto_key": "key", "crypto_endpoint": "endpoint", "crypto_library": "library",
         "crypto_system": "system"}


@dataclasses.dataclass
class ControlFunction:
    """One collected control check: its spec, the subject fixture it takes, its
    ``applies_to``, and the systems in which parametrization found it a subject."""

    spec: ControlSpec
    fixture: str
    applies_to: Any
    covered: set[str] = dataclasses.field(default_factory=set)


def not_applicable(items: Iterable[pytest.Item], inventory: Inventory,
                   selected: frozenset[str] | None,
                   carried: Iterable[tuple[str, str]] = ()) -> list[dict[str, Any]]:
    """One ``not-applicable`` entry per (selected control check, clean system) with no
    subject, sorted by control, check and system. ``carried`` names the (check, system)
    pairs that an incremental run carried results of: they had subjects, though no item."""
    functions = control_functions(items)
    systems: dict[str, set[str]] = {}
    for check, system in carried:
        systems.setdefault(check, set()).add(system)
    for function in functions:
        function.covered |= systems.get(function.spec.check, set())
    return unmatched(functions, inventory, selected)


def unmatched(functions: Iterable[ControlFunction], inventory: Inventory,
              selected: frozenset[str] | None) -> list[dict[str, Any]]:
    """The entries of :func:`not_applicable`, from the control functions themselves."""
    judged = [s for s in inventory.systems if not inventory.errors_of(s.name)]
    stating: dict[tuple[str, str], tuple[Any, ...]] = {}
    entries = [_entry(function, system, inventory, stating) for function in functions
               if selects(selected, function.spec.id)
               for system in judged if system.name not in function.covered]
    return sorted(entries, key=lambda e: (e["control"], e["check"], e["system"]))


def control_functions(items: Iterable[pytest.Item]) -> list[ControlFunction]:
    """Each collected control check once, with the systems of its parametrized subjects:
    what ``pytest_generate_tests`` found, so no record goes through ``applies_to`` again."""
    by_function: dict[Any, ControlFunction | None] = {}
    for item in items:
        key = getattr(item, "function", item)
        if key not in by_function:
            by_function[key] = _control_function(item)
        function = by_function[key]
        subject = _subject(item, function.fixture) if function else None
        if function and subject is not None:
            function.covered.add(subject.name if isinstance(subject, SystemRecord)
                                 else subject.system)
    by_check: dict[tuple[str, str], ControlFunction] = {}
    for function in filter(None, by_function.values()):
        same = by_check.setdefault((function.spec.id, function.spec.check), function)
        same.covered |= function.covered
    return list(by_check.values())


def _control_function(item: pytest.Item) -> ControlFunction | None:
    fixture = next((f for f in NOUNS if f in getattr(item, "fixturenames", ())), None)
    spec = spec_from_node(item) if fixture else None
    if spec is None or fixture is None:
        return None
    marker = item.get_closest_marker("control")
    return ControlFunction(spec, fixture, marker.kwargs.get("applies_to") if marker else None)


def _subject(item: pytest.Item, fixture: str) -> Any:
    """The record an item was parametrized with (an empty parameter set has none)."""
    callspec = getattr(item, "callspec", None)
    subject = callspec.params.get(fixture) if callspec else None
    if isinstance(subject, SubjectGroup):  # grouped mode: the subjects of one system
        subject = subject.subjects[0]
    return subject if isinstance(subject, _RECORDS) else None


def _entry(function: ControlFunction, system: SystemRecord, inventory: Inventory,
           stating: dict[tuple[str, str], tuple[Any, ...]]) -> dict[str, Any]:
    spec = function.spec
    reason = _reason(spec, function.fixture, function.applies_to, system.name)
    unstated = _unstated(spec, function.fixture, system, inventory, stating)
    if unstated:
        reason = (f"the source of system {system.name} does not state what the check needs "
                  f"({'; '.join(unstated)}); " + reason)
    return {"control": spec.id, "title": spec.title, "check": spec.check,
            "system": system.name, "risk_tier": system.risk_tier.value, "owner": system.owner,
            "outcome": Outcome.NOT_APPLICABLE.value, "reason": reason}


def _unstated(spec: ControlSpec, fixture: str, system: SystemRecord, inventory: Inventory,
              stating: dict[tuple[str, str], tuple[Any, ...]]) -> list[str]:
    """The distinct reasons why the system's records never state a fact the check requires
    or reads (infrastructure code has no key age, for instance). ``stating`` keeps, per (fixture,
    system), the records that declare some fact unstated: most declare none, and every
    check not applicable in a system would otherwise look at each of its records again."""
    if not spec.facts:
        return []
    key = (fixture, system.name)
    if key not in stating:
        records: tuple[Any, ...] = {
            "crypto_key": inventory.keys_of(system.name),
            "crypto_endpoint": inventory.endpoints_of(system.name),
            "crypto_library": inventory.libraries_of(system.name),
        }.get(fixture, (system,))
        stating[key] = tuple(r for r in records if getattr(r, "attributes", {}).get(UNSTATED))
    reasons = (spec.unstated(record) for record in stating[key])
    return sorted({reason for reason in reasons if reason})


def _reason(spec: ControlSpec, fixture: str, applies_to: Any, system: str) -> str:
    """``no key in system X matches: provider aws-kms, kind symmetric, tier high or above``."""
    conditions = describe_applies_to(applies_to)
    if spec.min_tier > RiskTier.LOW:
        conditions.append(f"risk tier {spec.min_tier.value} or above")
    noun = NOUNS[fixture]
    subject = f"system {system} does not match" if noun == "system" else (
        f"no {noun} in system {system} matches")
    return f"{subject}: {', '.join(conditions) or 'the control applies to none'}"


def describe_applies_to(applies_to: Mapping[str, Any] | Callable[[Any], bool] | None
                        ) -> list[str]:
    """A control's ``applies_to`` in words: ``provider aws-kms``, ``kind symmetric or
    private-key``, or the first line of a predicate's docstring (else its name)."""
    if applies_to is None:
        return []
    if callable(applies_to):
        return [_predicate_words(applies_to)]
    words = []
    for field, value in applies_to.items():
        values = value if isinstance(value, list | tuple | set | frozenset) else [value]
        words.append(f"{field} {' or '.join(str(getattr(v, 'value', v)) for v in values)}")
    return words


@functools.cache
def _predicate_words(predicate: Callable[[Any], bool]) -> str:
    """The first line of the predicate's docstring, else the expression it returns (a
    lambda's body, a one-line function's ``return``), else its name."""
    doc = (predicate.__doc__ or "").strip().splitlines()
    if doc:
        line = doc[0].rstrip(".")
        return line[:1].lower() + line[1:]  # it continues "... matches: "
    name = getattr(predicate, "__name__", "predicate")
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(predicate)).strip().rstrip(","))
    except (OSError, TypeError, SyntaxError):
        return name
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda):
            return ast.unparse(node.body)
        if isinstance(node, ast.FunctionDef) and isinstance(node.body[-1], ast.Return):
            body = node.body[-1].value
            return ast.unparse(body) if body is not None and len(node.body) == 1 else name
    return name


def hand_to_controller(config: pytest.Config, entries: list[dict[str, Any]]) -> None:
    """On an xdist worker: leave the entries for the controller."""
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[WORKEROUTPUT_KEY] = json.dumps(entries)


def received_from(node: Any) -> list[dict[str, Any]] | None:
    """The entries an xdist worker left (None if it left none: it crashed, say)."""
    payload = getattr(node, "workeroutput", {}).get(WORKEROUTPUT_KEY)
    return json.loads(payload) if payload is not None else None
