"""Work that several test modules read, done once per test run, under pytest-xdist too.

A session fixture runs once per xdist worker; an audit that many modules only read (the
planted files estate, the reporting estate with every output format) is worth running once
for all of them. The first worker to ask builds it in the run's common temporary folder,
under a file lock, and stores its JSON-able result; the others wait for it and read it back.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.testing import AuditRun, audit_subprocess


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This test run's temporary folder: the parent of the workers' own under xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str,
                 build: Callable[[Path], Any]) -> tuple[Path, Any]:
    """``build(folder)``'s result and its folder, built by the first caller of this run.

    ``build`` gets an empty folder and returns a JSON-able value. If it raises, nothing is
    stored and the next caller builds again (and so sees the same error)."""
    base = run_folder(tmp_path_factory)
    folder, stored = base / f"once-{name}", base / f"once-{name}.json"
    with (base / f"once-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stored.is_file():
            return folder, json.loads(stored.read_text(encoding="utf-8"))
        shutil.rmtree(folder, ignore_errors=True)  # what a failed build left
        folder.mkdir()
        value = build(folder)
        stored.write_text(json.dumps(value), encoding="utf-8")
        return folder, value


def shared_audit(tmp_path_factory: pytest.TempPathFactory, name: str, *args: str,
                 records: Callable[[], list[Any]] | None = None,
                 **options: Any) -> tuple[Path, AuditRun]:
    """``audit_subprocess(folder, *args, **options)`` once per test run, and its folder.

    A module fixture runs once per xdist worker that runs one of the module's tests; this
    runs once for all of them. ``records`` makes the inventory inside the build, so that
    every reader sees the records (and their creation times) of the one audit."""
    def build(folder: Path) -> dict[str, Any]:
        inventory = None if records is None else records()
        run = audit_subprocess(folder, *args, inventory=inventory, **options)
        return {"ret": run.ret, "output": run.output, "evidence": run.evidence}

    folder, stored = once_per_run(tmp_path_factory, name, build)
    return folder, AuditRun(stored["ret"], stored["output"], stored["evidence"])


def once_per_run_in(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory,
                    name: str, build: Callable[[], Any]) -> Any:
    """``build()``'s result, with ``pytester``'s folder as ``build`` left it (keys,
    configuration, ledger): built in the first caller's folder once per test run, copied
    into each later caller's. For tests that each start from the same first audit."""
    def first(folder: Path) -> Any:
        value = build()
        shutil.copytree(pytester.path, folder, symlinks=True, dirs_exist_ok=True)
        return value

    folder, value = once_per_run(tmp_path_factory, name, first)
    if not any(pytester.path.iterdir()):  # not the folder that built it
        shutil.copytree(folder, pytester.path, symlinks=True, dirs_exist_ok=True)
    return value
