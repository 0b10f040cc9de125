"""``-n N --dist loadgroup`` keeps each system's tests on one xdist worker, and its workers
collect the tests a serial run does: the planted files estate audited both ways gives the
same results."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pytest_cryptoaudit.testing import AuditRun
from tests.core.conftest import outcomes, run_audit


def test_loadgroup_keeps_a_systems_tests_on_one_worker_and_collects_the_serial_tests(
        shared_estate: tuple[Path, AuditRun], tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    # The serial run is the shared audit of the estate (tests/core/test_audit_files.py reads
    # it too); the parallel one audits a copy of the same files.
    estate, serial = shared_estate
    folder = tmp_path / "parallel"
    shutil.copytree(estate, folder, symlinks=True)
    done = run_audit(folder, "-n", "2", "--dist", "loadgroup", "-v")
    assert "2 workers" in done.output
    assert outcomes(done.evidence) == outcomes(serial.evidence)
    assert len(done.evidence["results"]) == len(serial.evidence["results"]) > 100
    worker_of = {nodeid: worker for worker, nodeid in
                 re.findall(r"\[(gw\d)\] \[\s*\d+%\] \w+ (\S+)", done.output)}
    assert len(worker_of) == len(done.evidence["results"]), done.output
    workers: dict[str, set[str]] = {}
    for result in done.evidence["results"]:
        workers.setdefault(result["system"], set()).add(worker_of[result["nodeid"]])
    assert sorted(workers) == ["broken-files", "unowned", "web-tier"]
    assert all(len(used) == 1 for used in workers.values()), workers
    assert {worker for used in workers.values() for worker in used} == {"gw0", "gw1"}, workers
