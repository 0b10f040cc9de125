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
run). Everything frozen is handed back to the collector when the run ends
(``gc.unfreeze``), so that the next session in the same process (pytester) frees it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Generator, Iterator
from typing import Any

import pytest

GC_PLUGIN = "cryptoaudit-gc"


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
        self.frozen = False

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
        self.frozen = True
        return result

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, Any, Any]:
        with paused():  # the evidence, the reports, the terminal summary, the ledger
            return (yield)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.frozen:
            gc.unfreeze()
            self.frozen = False
