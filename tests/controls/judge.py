"""Judge one control on one planted record, in this process, without a service or an audit run.

A control is a plain function of its fixtures; :func:`judge` calls it as the plugin would
(after the control's own applicability and ``requires``), and maps what happens to the
audit's outcomes: an assertion is a finding (``failed``), ``pytest.skip`` is ``skipped``, any
other exception an ``error``. Thousands of cases run in a second, which is what
``scripts/mutation.py`` needs to run the whole selection once per mutant.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest

from pytest_cryptoaudit.catalog import ControlSpec, _build_spec
from pytest_cryptoaudit.clock import Clock
from pytest_cryptoaudit.model import Inventory, KeyRecord, SystemRecord
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS, Policy
from pytest_cryptoaudit.providers import ProviderRegistry

NOW = datetime.now(UTC)
#: Fixture names whose value is the record under audit.
SUBJECTS = ("crypto_key", "crypto_system", "crypto_endpoint", "crypto_library",
            "crypto_discovery_error")


@cache
def _settings() -> tuple[Any, ...]:
    return (*BUILTIN_SETTINGS, *ProviderRegistry().policy_settings())


def policy(**overrides: Any) -> Policy:
    """Built-in and every provider's defaults, with ``overrides`` as under ``[policy]``."""
    return Policy(_settings(), overrides) if overrides else _default_policy()


@cache
def _default_policy() -> Policy:
    return Policy(_settings(), {})  # read-only, so one serves every test


def spec_of(control: Callable[..., Any]) -> ControlSpec:
    """The control's declaration, read from its markers as the catalog reads it."""
    marks = getattr(control, "pytestmark", [])
    marker = next((m for m in marks if m.name == "control"), None)
    if marker is None:
        raise AssertionError(f"{control.__name__} carries no control marker")
    tier = next((m for m in marks if m.name == "risk_tier" and m.args), None)
    return _build_spec(marker, tier, None, control.__name__, control.__doc__ or "")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What the audit would record: the outcome, its message and the notes added."""

    outcome: str
    message: str = ""
    notes: tuple[str, ...] = ()


def judge(control: Callable[..., Any], subject: Any, **fixtures: Any) -> Verdict:
    """Run ``control`` on ``subject`` as the plugin would; ``fixtures`` override the
    defaults (default policy, an inventory of the subject alone, ``NOW``)."""
    spec = spec_of(control)
    if not spec.applies_to(subject):
        return Verdict("not-applicable")
    missing = spec.missing(subject)
    if missing:
        return Verdict("error", "; ".join(f"{k}: {v}" for k, v in missing.items()))
    notes: list[str] = []
    now = fixtures.get("crypto_now", NOW)
    available = {"crypto_policy": _default_policy(), "crypto_now": now,
                 "crypto_clock": Clock(now), "crypto_note": notes.append,
                 "crypto_inventory": inventory_of(subject), "crypto_events": (),
                 **{name: subject for name in SUBJECTS}, **fixtures}
    wanted = inspect.signature(control).parameters
    try:
        control(**{name: available[name] for name in wanted})
    except AssertionError as exc:
        return Verdict("failed", str(exc), tuple(notes))
    except pytest.skip.Exception as exc:
        return Verdict("skipped", str(exc.msg), tuple(notes))
    except (Exception, pytest.fail.Exception) as exc:  # any other exception: an error
        return Verdict("error", f"{type(exc).__name__}: {exc}", tuple(notes))
    return Verdict("passed", "", tuple(notes))


def inventory_of(*records: Any, systems: Iterable[SystemRecord] = (),
                 errors: Iterable[Any] = ()) -> Inventory:
    keys = [r for r in records if isinstance(r, KeyRecord)]
    found = [*systems, *(r for r in records if isinstance(r, SystemRecord))]
    return Inventory.build(keys, found, errors)


def fresh(text: str) -> str:
    """An equal string that is not the interned literal: records reach xdist workers as JSON,
    so a control comparing them with ``is`` instead of ``==`` would judge wrongly there."""
    return (text + ".")[:-1]


def system(name: str = "app", provider: str = "memory", tier: str = "high",
           attributes: Mapping[str, Any] | None = None, **fields: Any) -> SystemRecord:
    return SystemRecord(name=fresh(name), provider=fresh(provider), risk_tier=tier,  # type: ignore[arg-type]
                        owner="CSC",
                        attributes=dict(attributes or {}), **fields)


def key(uid: str = "k", provider: str = "memory", tier: str = "high", kind: str = "secret-key",
        system_name: str = "app", **fields: Any) -> KeyRecord:
    fields.setdefault("created", NOW)
    return KeyRecord(uid=fresh(uid), system=fresh(system_name), provider=fresh(provider),
                     kind=kind,  # type: ignore[arg-type]
                     risk_tier=tier, owner="CSC", **fields)  # type: ignore[arg-type]


def controls_of(module: Any) -> list[Callable[..., Any]]:
    """The module's test functions: every one must declare its control."""
    return [value for name, value in vars(module).items()
            if name.startswith("test_") and callable(value)]
