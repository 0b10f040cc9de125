"""A pytest plugin for the benchmarks: the peak RSS by the end of each phase of a run.

    python -m pytest -p benchmarks.rss_phases ...   (with RSS_PHASES=path.json set)

Writes ``{"phase": [peak MiB so far, current MiB], ...}`` to the file ``RSS_PHASES`` names,
for the phases ``discovery`` (an audit's inventory is ready), ``collection``, ``tests`` and
``reports`` (the end-of-run hooks: the evidence, the ledger, the terminal summary), so a
benchmark can say which phase sets the run's peak. Linux only (``/proc/self/status``); a
run elsewhere writes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

PHASES: dict[str, list[float]] = {}


def _memory() -> list[float] | None:
    """[peak RSS so far, current RSS] in MiB, or None where /proc is not there."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return [int(fields[name].split()[0]) / 1024 for name in ("VmHWM", "VmRSS")]


def _mark(phase: str) -> None:
    memory = _memory()
    if memory is not None:
        PHASES[phase] = memory


@pytest.hookimpl(optionalhook=True)
def pytest_cryptoaudit_inventory_ready(inventory: Any) -> None:
    _mark("discovery")


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    _mark("collection")


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    try:
        return (yield)
    finally:
        _mark("tests")


def pytest_unconfigure(config: pytest.Config) -> None:
    _mark("reports")  # every report is written by now, the terminal's summary too
    target = os.environ.get("RSS_PHASES")
    if target and PHASES:
        Path(target).write_text(json.dumps(PHASES))
