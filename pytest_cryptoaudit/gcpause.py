"""The cyclic garbage collector, paused while an audit builds its data in bulk.

An audit builds most of its data in bursts: once the inventory is ready (the ledger's
history and, under ``--cryptoaudit-incremental``, the results it may carry), collection (a
test item per (check, subject), and every carried result) and the end of the session (the
evidence, the reports made from it, the ledger entries). Each makes
hundreds of thousands of small objects that live until the run ends, and every few
thousand allocations the cyclic collector walks all of them again: a third of the CPU time
of an incremental re-audit of 10,000 keys, and a sixth of a full audit's.

So the collector is paused for those phases (and switched back on as it was after
them: objects that form cycles are collected then), and what collection built is frozen
once it is done (``gc.freeze``: left out of the collector's later passes while the tests
run).

When the run ends, what the tests made is collected once and the whole heap is frozen
again, and left so. pytest's last clean-up collects five times in a row (to report
exceptions raised by finalizers of garbage), and the interpreter collects once more as it
exits: each pass walks every object still alive, the test items above all, which was a
tenth of a 1,000-key audit's time (three of its 26 seconds). Nothing the run made is lost:
garbage that finalizers would report is collected by the pass before the freeze, while
pytest's hook still records what they raise. The next audit session in the same process
(pytester, an IDE's runner) hands everything back to the collector as it starts, so at
most one session's leftovers wait for it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Generator, Iterator
from typing import Any

import pytest

GC_PLUGIN = "cryptoaudit-gc"

#: Whether an earlier session in this process left the heap frozen at its end.
_left_frozen = False


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside; the collector's state as it was afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class CollectorPause:
    """Pauses the cyclic collector during collection and the end of the session."""

    def __init__(self) -> None:
        global _left_frozen
        if _left_frozen:  # an earlier session's leftovers: collectable again from here on
            gc.unfreeze()
            _left_frozen = False

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_cryptoaudit_inventory_ready(self) -> Generator[None, Any, Any]:
        # Discovery ran while collection had the collector paused, and an SDK's calls leave
        # cycles behind (botocore: about 70 objects per KMS key, its parsers and headers):
        # free them now, so that the test items are built in their place rather than
        # beside them (a pass over the youngest generation, what discovery made).
        gc.collect(0)
        with paused():  # the ledger's history, the results an incremental run may carry
            return (yield)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> Generator[None, Any, Any]:
        with paused():
            result = yield
        # What collection made and dropped (deselected items: a node and its keywords
        # form a cycle) is freed first, in one pass over what collection made (it is all
        # in the youngest generation, the collector having been off); the rest (the items,
        # the inventory, carried results) lives to the end of the run.
        gc.collect(0)
        gc.freeze()
        return result

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, Any, Any]:
        with paused():  # the evidence, the reports, the terminal summary, the ledger
            return (yield)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """After every other plugin's end, before pytest's clean-up passes: collect what
        the run made (not what is frozen), then freeze the rest until the process ends or
        the next audit session begins."""
        global _left_frozen
        gc.collect()
        gc.freeze()
        _left_frozen = True
