"""The control catalog is generated from the controls' own markers, never typed twice."""

from __future__ import annotations

import re
from pathlib import Path

from pytest_cryptoaudit.catalog_cli import (
    BEGIN_MARK,
    END_MARK,
    catalog_markdown,
    load_builtin_catalog,
)
from pytest_cryptoaudit.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_every_control_is_well_declared():
    specs = load_builtin_catalog()
    assert len(specs) >= 12
    for spec in specs:
        assert re.fullmatch(r"CEK-\d\d", spec.id), spec
        assert spec.references and spec.remediation and spec.description, spec
        assert spec.ssrm, spec
    assert len({(s.id, s.check) for s in specs}) == len(specs), "duplicate checks"


def test_readme_catalog_is_current():
    readme = (ROOT / "README.md").read_text()
    table = readme.split(BEGIN_MARK)[1].split(END_MARK)[0].strip()
    assert table == catalog_markdown(load_builtin_catalog()).strip(), (
        "README catalog is stale: run `cryptoaudit catalog --write README.md`"
    )


def test_catalog_command_prints_json(capsys):
    assert main(["catalog", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert '"id": "CEK-04"' in out and '"check": "key-strength"' in out
