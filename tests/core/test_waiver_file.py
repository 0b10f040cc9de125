"""Reading a waivers file: an empty file waives nothing, entries without an id are numbered."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_cryptoaudit.waivers import WaiverError, load_waivers

ENTRY = """
[[waivers]]
control = "CEK-04"
justification = "legacy device, replaced in Q3"
approver = "ciso"
key = "files:legacy/*"
expires = 2099-01-01
"""


def test_an_empty_waivers_file_waives_nothing(tmp_path: Path) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text("", encoding="utf-8")
    assert load_waivers(path) == ()


def test_entries_without_an_id_are_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text(ENTRY * 3, encoding="utf-8")
    assert [w.id for w in load_waivers(path)] == ["waiver-1", "waiver-2", "waiver-3"]


def test_a_key_beside_waivers_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text('note = "x"\n' + ENTRY, encoding="utf-8")
    with pytest.raises(WaiverError, match="expected a top-level 'waivers' array and nothing"):
        load_waivers(path)
