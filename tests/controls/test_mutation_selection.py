"""Every control module is measured: ``scripts/mutation.py`` names it with a selection of
tests that exists, so a new control pack cannot go unmeasured by mistake."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def mutation_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation", ROOT / "scripts" / "mutation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up by name
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


def test_every_control_module_has_a_mutation_selection() -> None:
    measured = {m.path for m in mutation_script().MODULES.values()}
    modules = {f"controls/{p.name}" for p in (ROOT / "controls").glob("*.py")
               if p.name != "__init__.py"}
    assert modules - measured == set()


def test_every_selection_names_existing_tests() -> None:
    for name, module in mutation_script().MODULES.items():
        assert (ROOT / module.path).is_file(), name
        missing = [t for t in module.tests if not (ROOT / t.split("::")[0]).is_file()]
        assert missing == [], name
