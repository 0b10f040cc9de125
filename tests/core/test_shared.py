"""``tests.shared``: a shared audit (or first folder) is built once and read back, never half."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.shared import once_per_run, once_per_run_in


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


def test_a_first_folder_is_built_in_the_first_callers_and_copied_into_the_next(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    class Folder:  # what ``once_per_run_in`` uses of a pytester: its folder
        def __init__(self, path: Path) -> None:
            path.mkdir()
            self.path = path

    base = tmp_path_factory.mktemp("callers")
    first, later = Folder(base / "first"), Folder(base / "later")
    builds: list[Path] = []

    def build(caller: Folder) -> dict[str, int]:
        builds.append(caller.path)
        (caller.path / "ledger").mkdir()
        (caller.path / "ledger" / "run.txt").write_text("run 1", encoding="utf-8")
        return {"run": 1}

    name = _name("in")
    built = once_per_run_in(first, tmp_path_factory, name,  # type: ignore[arg-type]
                            lambda: build(first))
    copied = once_per_run_in(later, tmp_path_factory, name,  # type: ignore[arg-type]
                             lambda: build(later))
    assert built == copied == {"run": 1}
    assert builds == [first.path]
    assert (later.path / "ledger" / "run.txt").read_text(encoding="utf-8") == "run 1"
