"""What a run must fetch: the union of the facts its selected controls require and read.

Providers map facts to the calls that fill them (``Provider.fetches``) and ask
``DiscoveryContext.needs(fact)`` before an optional call; nothing here or in a provider
names a control id, so a control that starts reading a fact is fetched for by declaring it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from .catalog import ControlSpec


@functools.cache
def _builtin_specs() -> tuple[ControlSpec, ...]:
    from .catalog_cli import load_builtin_catalog  # imports the control modules: once

    return tuple(load_builtin_catalog())


def facts_for(selected: Iterable[str], specs: Iterable[ControlSpec]) -> frozenset[str] | None:
    """The facts the ``selected`` control ids need, or None (everything) when one of them is
    not among ``specs``: a custom control's needs are unknown, so nothing may be left out."""
    wanted = {control.upper() for control in selected}
    specs = [spec for spec in specs if spec.id.upper() in wanted]
    if wanted - {spec.id.upper() for spec in specs}:
        return None
    return frozenset(name for spec in specs for name in spec.facts)


def facts_for_controls(selected: frozenset[str] | None) -> frozenset[str] | None:
    """The facts the selected built-in controls need; None (fetch everything) for a full run."""
    if selected is None:
        return None
    return facts_for(selected, _builtin_specs())
