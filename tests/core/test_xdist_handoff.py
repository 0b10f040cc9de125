"""Under pytest-xdist the workers start while the controller discovers, and receive the
inventory (with the ledger's and the incremental run's entries) once it is ready; and one
large system's tests are spread over the workers by the default scheduler."""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pytest_cryptoaudit.handoff import Handoff, receive
from pytest_cryptoaudit.testing import audit_pytester, key_record, prepare

#: The memory provider, made to discover only once both workers have started: with workers
#: started after discovery (as before), every system would be a discovery error.
CONFTEST = '''
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from pytest_cryptoaudit.testing_provider import MemoryProvider

HERE = Path(__file__).parent
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if WORKER:  # imported as the worker starts, before the plugin configures itself
    (HERE / f"started-{WORKER}").touch()


class WaitingProvider(MemoryProvider):
    def discover(self, system, context):
        deadline = time.monotonic() + 30
        while (HERE / "expect-workers").exists() and len(list(HERE.glob("started-gw*"))) < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("no xdist worker started while discovery ran")
            time.sleep(0.05)
        with open(HERE / "discoveries.txt", "a") as out:
            out.write(f"{os.getpid()}\\n")
        return super().discover(system, context)


class KeywordLog:
    """Registered, not a conftest hook: a conftest's hook sees only the tests under its
    folder, and the built-in controls live elsewhere."""

    def pytest_runtest_logreport(self, report):
        if not WORKER and report.when == "call":
            with open(HERE / "keywords.txt", "a") as out:
                run = "parallel" if (HERE / "expect-workers").exists() else "serial"
                out.write(f"{run} {report.outcome} {len(report.keywords)}\\n")


def pytest_configure(config):
    config.pluginmanager.register(KeywordLog())


def pytest_cryptoaudit_add_providers(registry):
    registry.register(WaitingProvider)
'''

def _keys() -> list[object]:
    old = datetime(2015, 1, 1, tzinfo=UTC)  # past any cryptoperiod: a key-age finding
    return [key_record(f"memory:k{i:02d}", system="big", **({"created": old} if i % 5 == 0
                                                              else {})) for i in range(24)]


def test_workers_start_during_discovery_and_get_the_same_inventory(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("xdist")
    # pytester runs the audit in this process: under an outer xdist run this process is
    # itself a worker, which the audit's own controller must not take itself for
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makeconftest(CONFTEST)
    prepare(pytester.path, None, _keys())
    serial = audit_pytester(pytester, "-p", "no:xdist")
    assert not list(pytester.path.glob("started-gw*"))
    (pytester.path / "discoveries.txt").unlink()
    (pytester.path / "expect-workers").touch()
    parallel = audit_pytester(pytester, "-p", "xdist", "-n", "2", "-v")
    assert sorted(p.name for p in pytester.path.glob("started-gw*")) == [
        "started-gw0", "started-gw1"]
    assert len(parallel.evidence["inventory"]) == 24, parallel.output
    # Discovered once, by the controller (this process, pytester running in-process).
    assert (pytester.path / "discoveries.txt").read_text().split() == [str(os.getpid())]
    assert parallel.outcomes == serial.outcomes
    assert len(parallel.evidence["results"]) == len(serial.evidence["results"]) > 24
    assert "failed" in parallel.outcomes.values()  # the old keys are findings
    # Passed phases carry no keywords (nor to the controller); findings keep theirs.
    seen = [line.split() for line in (pytester.path / "keywords.txt").read_text().splitlines()]
    assert {outcome for _, outcome, _ in seen} == {"passed", "failed", "skipped"}
    runs = [run for run, _, _ in seen]
    assert runs.count("serial") == runs.count("parallel") == len(serial.evidence["results"])
    for _run, outcome, keywords in seen:
        assert (int(keywords) == 0) == (outcome == "passed"), seen
    # One system: the default scheduler still spreads its key tests over both workers.
    workers = set(re.findall(r"\[(gw\d)\] \[\s*\d+%\] \w+ \S+memory:k\d+", parallel.output))
    assert workers == {"gw0", "gw1"}, parallel.output


def test_a_worker_waits_for_the_handoff_file(tmp_path: Path) -> None:
    target = tmp_path / "workerinput.json"

    def write_later() -> None:
        time.sleep(0.3)
        partial = tmp_path / "partial"
        partial.write_text('{"cryptoaudit": "{}", "other": "1"}')
        partial.replace(target)

    writer = threading.Thread(target=write_later)
    began = time.monotonic()
    writer.start()
    received = receive(str(target))
    writer.join()
    assert received == {"cryptoaudit": "{}", "other": "1"}
    assert time.monotonic() - began >= 0.3


def test_the_handoff_holds_only_the_plugins_own_entries_and_is_removed() -> None:
    class Own:  # a hook implementation of this package
        def pytest_configure_node(self, node: object) -> None:
            node.workerinput["cryptoaudit"] = "inventory"  # type: ignore[attr-defined]

    Own.__module__ = "pytest_cryptoaudit.session"

    class Foreign:
        def pytest_configure_node(self, node: object) -> None:
            node.workerinput["cov"] = "x"  # type: ignore[attr-defined]

    class Impl:
        def __init__(self, plugin: object) -> None:
            self.plugin = plugin
            self.function = plugin.pytest_configure_node  # type: ignore[attr-defined]

    class Config:
        class hook:
            class pytest_configure_node:
                @staticmethod
                def get_hookimpls() -> list[Impl]:
                    return [Impl(Own()), Impl(Foreign())]

    handoff = Handoff()
    handoff.write(Config)
    assert receive(str(handoff.path)) == {"cryptoaudit": "inventory"}
    handoff.remove()
    assert not handoff.folder.exists()


class _Options:
    def __init__(self, tx: list[str]) -> None:
        self.tx = tx

    def getoption(self, name: str, default: object = None) -> object:
        assert name == "tx"
        return self.tx


@pytest.mark.parametrize(("tx", "local"), [
    ([], True),  # -n N: local processes
    (["popen", "2*popen", "popen//chdir=/srv/audit"], True),
    (["popen", "ssh=audit-host//python=python3"], False),
    (["socket=192.0.2.7:8888"], False),
    (["3*ssh=audit-host"], False),
])
def test_only_workers_on_this_machine_wait_for_the_handoff_file(tx: list[str],
                                                                 local: bool) -> None:
    from pytest_cryptoaudit.session import _local_workers

    assert _local_workers(_Options(tx)) is local  # type: ignore[arg-type]
