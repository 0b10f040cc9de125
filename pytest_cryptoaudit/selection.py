"""The controls a run selects with ``--cryptoaudit-control``: case-insensitive, and known.

An id no control declares is a usage error naming the known ids (as an unknown system is),
never a run in which nothing ran. The known ids are those of the controls collected, with
the built-in catalog's; a built-in id is spelt as the catalog spells it (``cek-12`` selects
``CEK-12``), so providers asked which controls will run see the catalog's spelling.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import pytest


def canonical(chosen: Iterable[str], known: Iterable[str]) -> frozenset[str] | None:
    """The chosen ids, each spelt as the known id it names (if any); None when none chosen."""
    spelling = {control_id.casefold(): control_id for control_id in known}
    chosen = [spelling.get(c.casefold(), c) for c in chosen]
    return frozenset(chosen) if chosen else None


def selects(selected: frozenset[str] | None, control_id: str) -> bool:
    """Whether a run that selected ``selected`` (None: every control) runs ``control_id``."""
    if selected is None:
        return True
    return control_id.casefold() in {c.casefold() for c in selected}


#: Where an xdist worker leaves the refusal for the controller (``workeroutput``).
WORKEROUTPUT_KEY = "cryptoaudit_usage_error"


def unknown_message(selected: frozenset[str] | None, known: Iterable[str]) -> str | None:
    """Why the selection is refused (a selected id names no control), naming the known ids;
    None if every selected id is known."""
    known = sorted(set(known))
    folded = {control_id.casefold() for control_id in known}
    unknown = sorted(c for c in selected or () if c.casefold() not in folded)
    if not unknown:
        return None
    return (f"--cryptoaudit-control: unknown control {', '.join(unknown)} "
            f"(known: {', '.join(known) or 'none collected'})")


def check_known(selected: frozenset[str] | None, known: Iterable[str]) -> None:
    """Raise a usage error naming the known ids if a selected id names no control."""
    message = unknown_message(selected, known)
    if message:
        raise pytest.UsageError(message)


def refuse_on_worker(config: pytest.Config, message: str, items: list[pytest.Item]) -> None:
    """On an xdist worker, where a usage error would crash the worker: run nothing, and
    leave ``message`` for the controller, which refuses the run."""
    config.workeroutput[WORKEROUTPUT_KEY] = message  # type: ignore[attr-defined]
    config.hook.pytest_deselected(items=list(items))
    items.clear()


@functools.cache
def builtin_ids() -> tuple[str, ...]:
    """The ids of the built-in catalog (its modules imported once, none of its checks run)."""
    from .catalog_cli import load_builtin_catalog

    return tuple(sorted({spec.id for spec in load_builtin_catalog()}))
