"""``--cryptoaudit-group-by system``: one test per (check, system), one subtest per subject.

pytest's own cost per test item (collection, fixtures set up and torn down, three reports per
item, each held by the terminal) sets a floor that an estate of 100,000 keys times a dozen
checks cannot pass. In grouped mode a key or endpoint control is parametrized once per
system with a :class:`SubjectGroup`; its test's call phase runs the unchanged control function
once per subject, each as a pytest subtest (a ``SubtestReport`` of pytest's built-in
``subtests`` plugin) whose node id is the one the subject's own test would have had
(``controls/x.py::test_y[check-uid]``). Every other part of the audit (results, waivers,
notes, evidence, JUnit, the ledger, fail-on) sees one report per (check, subject), exactly as
in the ungrouped mode: an assertion is a finding, any other exception an error of that
subject alone, and the loop goes on.

Only controls whose fixtures are the plugin's own are grouped (the subject, the policy, the
clock, notes, the inventory ...): a control asking for a fixture of its own or of a conftest
keeps one test per subject, since that fixture might depend on the subject. System-level
controls and discovery errors are never grouped.

This module holds what collection needs; the run itself (``grouped_run.py``, which needs
pytest 9's ``subtests``) is imported only under the option.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

GROUPED_PLUGIN = "cryptoaudit-grouped"
#: Where the plugin's fixtures are defined.
PLUGIN_MODULE = "pytest_cryptoaudit.plugin"
#: The subject fixtures whose tests may be grouped.
GROUPABLE = ("crypto_key", "crypto_endpoint")
#: Fixtures a grouped control may take: none of them depends on the subject, except the
#: subject itself, ``crypto_note`` and ``crypto_clock``, which the loop gives each subject
#: afresh.
GROUP_SAFE = frozenset({"crypto_key", "crypto_endpoint", "crypto_policy", "crypto_note",
                        "crypto_clock",
                        "crypto_now", "crypto_inventory", "crypto_events", "crypto_ledger",
                        "crypto_audit_config", "request"})


@dataclasses.dataclass(frozen=True, eq=False)
class SubjectGroup:
    """The subjects of one control in one system, the parameter of a grouped test."""

    system: str
    fixture: str
    subjects: tuple[Any, ...]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.subjects)

    def __len__(self) -> int:
        return len(self.subjects)

    def __repr__(self) -> str:  # pytest shows it in tracebacks: never the records
        return f"SubjectGroup({self.system!r}, {len(self.subjects)} subjects)"


def group_of(item: Any) -> SubjectGroup | None:
    """The group a grouped test runs over (None for any other item)."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    group = next((callspec.params[f] for f in GROUPABLE if f in callspec.params), None)
    return group if isinstance(group, SubjectGroup) else None


def groups(fixture: str, subjects: list[Any]) -> list[SubjectGroup]:
    """The subjects of one control split by system, in order of first appearance (the
    inventory is sorted by uid, so every xdist worker gets the same groups)."""
    by_system: dict[str, list[Any]] = {}
    for subject in subjects:
        by_system.setdefault(subject.system, []).append(subject)
    return [SubjectGroup(system, fixture, tuple(members))
            for system, members in by_system.items()]


def groupable(metafunc: pytest.Metafunc) -> bool:
    """Whether a control can run its subjects in one test: every fixture it takes is one
    of :data:`GROUP_SAFE`, as the plugin defines it (a conftest may override one)."""
    definitions = getattr(metafunc, "_arg2fixturedefs", None)
    if definitions is None or not GROUP_SAFE.issuperset(metafunc.fixturenames):
        return False
    for name in set(metafunc.fixturenames) - {"request"}:
        chain = definitions.get(name) or ()
        if not chain or getattr(chain[-1].func, "__module__", None) != PLUGIN_MODULE:
            return False
    return True
