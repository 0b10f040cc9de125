"""The cyclic garbage collector is paused while an audit builds its data in bulk; the heap
is frozen once the run is over, and handed back by the next session in the process."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from pytest_cryptoaudit.gcpause import paused
from tests.core.conftest import TOOLS_CONFIG, run_audit
from tests.factories import ec_key, private_pem, write

CONFIG = TOOLS_CONFIG

#: Records the collector's state in each phase of the audit it is a conftest of.
PROBE = '''
import atexit, gc, json
import pytest

SEEN = {}


def _save():
    SEEN["at exit"] = [gc.isenabled(), gc.get_freeze_count()]
    with open("gc-phases.json", "w") as handle:
        json.dump(SEEN, handle)


atexit.register(_save)


def pytest_cryptoaudit_inventory_ready():
    SEEN["inventory ready"] = [gc.isenabled(), gc.get_freeze_count()]


def pytest_collection_modifyitems():
    SEEN["collection"] = [gc.isenabled(), gc.get_freeze_count()]


class Tests:
    """A plugin rather than a conftest hook: those see only the tests under the conftest,
    and the built-in controls live in the package."""

    def pytest_runtest_call(self, item):
        SEEN.setdefault("test", [gc.isenabled(), gc.get_freeze_count()])


def pytest_configure(config):
    config.pluginmanager.register(Tests(), "gc-probe-tests")


def pytest_sessionfinish():
    SEEN["session finish"] = [gc.isenabled(), gc.get_freeze_count()]
'''


def test_paused_restores_the_state_it_found() -> None:
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # an inner pause does not switch it on early
    assert gc.isenabled()
    gc.disable()
    try:
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # left off, as it was found
    finally:
        gc.enable()


def test_paused_switches_back_on_after_an_error() -> None:
    with pytest.raises(RuntimeError, match="boom"), paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_audit_pauses_collector_in_bulk_phases(tmp_path: Path) -> None:
    write(tmp_path / "keys/strong.pem", private_pem(ec_key()))
    (tmp_path / "cryptoaudit.toml").write_text(CONFIG)
    (tmp_path / "conftest.py").write_text(PROBE)
    run = run_audit(tmp_path, "--cryptoaudit-no-ledger")
    assert run.results(), run.output
    seen = json.loads((tmp_path / "gc-phases.json").read_text())
    assert seen["inventory ready"][0] is False
    assert seen["collection"][0] is False
    assert seen["session finish"][0] is False
    enabled, frozen = seen["test"]
    assert enabled is True  # the tests run with the collector on ...
    assert frozen > 0  # ... which leaves out what collection built
    enabled, frozen_at_exit = seen["at exit"]
    assert enabled is True  # switched back on ...
    assert frozen_at_exit > frozen  # ... and what the tests made is frozen too at the end


class _Cycle:
    """An object in a reference cycle, as an SDK's calls leave behind."""

    def __init__(self) -> None:
        self.me = self


def test_what_discovery_left_in_cycles_is_freed_when_the_inventory_is_ready() -> None:
    """Discovery runs while collection has the collector paused: its garbage is freed
    before the test items are built, not after them."""
    import weakref

    from pytest_cryptoaudit.gcpause import CollectorPause

    with paused():
        cycle = _Cycle()
        left = weakref.ref(cycle)
        del cycle
        assert left() is not None  # the collector is off: nothing frees it yet
        hook = CollectorPause().pytest_cryptoaudit_inventory_ready()
        next(hook)
        assert left() is None
        assert not gc.isenabled()  # still paused for the hook's own work
        with pytest.raises(StopIteration):
            hook.send(None)


def test_run_end_collects_the_runs_garbage_then_freezes_until_the_next_session() -> None:
    """pytest's clean-up and the interpreter's exit walk only what the run left unfrozen;
    garbage the tests made is freed first, and the next audit session unfreezes it all."""
    import weakref

    from pytest_cryptoaudit import gcpause

    suite_froze = gc.get_freeze_count() > 0  # this test suite's own freeze after collection
    first = gcpause.CollectorPause()
    cycle = _Cycle()
    left = weakref.ref(cycle)
    del cycle
    gc.unfreeze()
    try:
        first.pytest_unconfigure(config=None)  # type: ignore[arg-type]
        assert left() is None  # collected before the freeze, not frozen with the rest
        assert gc.get_freeze_count() > 0  # pytest's clean-up passes walk none of it
        gcpause.CollectorPause()  # the next session in this process
        assert gc.get_freeze_count() == 0
        assert not gcpause._left_frozen
        gcpause.CollectorPause()  # and one that follows a session which froze nothing
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
        gcpause._left_frozen = False
        if suite_froze:
            gc.freeze()
