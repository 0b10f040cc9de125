"""The seams between the session, the ledger and the reporters, checked by reading the code:
the ledger and the reporters take the run's context as hook arguments, never the session by
its plugin name; the ledger imports neither the reporters nor the plugin module; every
hookspec is called."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import pytest_cryptoaudit
from pytest_cryptoaudit import hookspecs

PACKAGE = Path(pytest_cryptoaudit.__file__).parent
LEDGER = sorted((PACKAGE / "ledger").glob("*.py"))
REPORTERS = sorted((PACKAGE / "reporting").glob("*.py"))


def _runtime_imports(path: Path) -> set[str]:
    """Modules imported relatively, outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(block.test)
                   for node in ast.walk(block)}
    return {"." * node.level + (node.module or "") for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level and id(node) not in typing_only}


@pytest.mark.parametrize("path", LEDGER + REPORTERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_nothing_reaches_the_session_by_its_plugin_name(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "cryptoaudit-session" not in text and "SESSION_PLUGIN" not in text


@pytest.mark.parametrize("path", REPORTERS, ids=lambda p: p.name)
def test_reporters_do_not_import_the_session_at_run_time(path: Path) -> None:
    """The session imports the reporters; a reporter reads control metadata from
    ``results`` instead, so there is no import cycle between them."""
    assert "..session" not in _runtime_imports(path)


@pytest.mark.parametrize("path", LEDGER, ids=lambda p: p.name)
def test_the_ledger_imports_neither_reporters_nor_the_plugin(path: Path) -> None:
    reaching_up = {m for m in _runtime_imports(path)
                   if m in ("..plugin", "..session") or m.startswith("..reporting")}
    assert reaching_up == set()


def test_every_hookspec_is_called() -> None:
    """An extension point that nothing calls is a promise the plugin does not keep."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    specs = [name for name in dir(hookspecs) if name.startswith("pytest_cryptoaudit_")]
    assert specs
    uncalled = [n for n in specs if not re.search(rf"\.hook\.{n}\(", source)]
    assert uncalled == []
