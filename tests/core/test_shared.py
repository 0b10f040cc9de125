"""``tests.shared.once_per_run``: a shared audit is built once and read back, never half."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.shared import once_per_run


def _name(tag: str) -> str:
    # The run's folder is shared by the xdist workers: each probe needs a name of its own.
    return f"probe-{tag}-{os.getpid()}"


def test_the_first_call_builds_and_the_next_reads_it_back(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    built: list[Path] = []

    def build(folder: Path) -> dict[str, Any]:
        built.append(folder)
        (folder / "made.txt").write_text("made", encoding="utf-8")
        return {"builds": len(built)}

    first = once_per_run(tmp_path_factory, _name("once"), build)
    second = once_per_run(tmp_path_factory, _name("once"), build)
    assert first == second == (built[0], {"builds": 1})
    assert (built[0] / "made.txt").read_text(encoding="utf-8") == "made"


def test_a_failed_build_is_not_stored_and_leaves_nothing_behind(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    def fail(folder: Path) -> None:
        (folder / "half.txt").write_text("half", encoding="utf-8")
        raise RuntimeError("the audit broke")

    with pytest.raises(RuntimeError, match="the audit broke"):
        once_per_run(tmp_path_factory, _name("fail"), fail)
    folder, value = once_per_run(tmp_path_factory, _name("fail"),
                                 lambda folder: sorted(p.name for p in folder.iterdir()))
    assert value == [] and folder.is_dir()
