"""The migration inventory, its chart and the NIST quantum levels, from evidence as data."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.pqlevels import nist_quantum_level
from pytest_cryptoaudit.reporting.pq_chart import counts_by_year, deadline_year, pq_section_html
from pytest_cryptoaudit.reporting.pq_inventory import (
    check_path,
    inventory_rows,
    render_csv,
    write_pq_inventory,
)


def entry(uid: str, tier: str, status: str, disallowed: str | None = None,
          **verdict: Any) -> dict[str, Any]:
    return {"uid": uid, "system": "s", "risk_tier": tier, "owner": "CSC",
            "accountable_owner": "team", "kind": "private-key", "algorithm": "RSA",
            "size": 2048, "pq": {"status": status, "disallowed": disallowed, **verdict}}


EVIDENCE = {
    "run": {"id": "run-1", "finished": "2026-12-05T12:00:00+00:00",
            "policy": {"pq_roadmap": "eu-roadmap"}},
    "inventory": [
        entry("k:late-low", "low", "quantum-vulnerable", "2036-01-01", days_left=3314),
        entry("k:aes", "high", "quantum-resistant"),
        entry("k:early-high", "high", "quantum-vulnerable", "2031-01-01", days_left=1488),
        entry("k:late-critical", "critical", "quantum-vulnerable", "2036-01-01"),
        entry("k:<unjudged>", "medium", "unknown", error="algorithm not reported"),
    ],
}


def test_rows_list_vulnerable_and_unjudged_assets_by_deadline() -> None:
    assert [r["uid"] for r in inventory_rows(EVIDENCE)] == [
        "k:<unjudged>", "k:early-high", "k:late-critical", "k:late-low"]


def test_csv_has_one_row_per_asset_with_dates() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(inventory_rows(EVIDENCE)))))
    assert [r["disallowed"] for r in rows] == ["", "2031-01-01", "2036-01-01", "2036-01-01"]
    assert rows[0]["error"] == "algorithm not reported"
    assert rows[1]["days_left"] == "1488"


@pytest.mark.parametrize("name", ["pq.csv", "pq.json"])
def test_written_by_extension(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_pq_inventory(EVIDENCE, path)
    text = path.read_text()
    if name.endswith(".json"):
        document = json.loads(text)
        assert document["roadmap"] == "eu-roadmap"
        assert len(document["assets"]) == 4
    else:
        assert text.startswith("uid,system,risk_tier")


def test_unknown_extension_is_a_usage_error() -> None:
    with pytest.raises(pytest.UsageError, match=r"csv or \.json"):
        check_path("pq.xlsx")


def test_deadline_year_is_the_last_allowed_year() -> None:
    assert deadline_year("2036-01-01") == 2035
    counts = counts_by_year(inventory_rows(EVIDENCE))
    assert {year: dict(c) for year, c in counts.items()} == {
        2030: {"high": 1}, 2035: {"critical": 1, "low": 1}}


def test_html_section_draws_an_inline_svg_chart_and_escapes() -> None:
    html = pq_section_html(EVIDENCE)
    svg = re.search(r"<svg.*?</svg>", html, re.S)
    assert svg is not None
    root = ET.fromstring(svg.group(0))  # well-formed XML, no external reference
    assert not any("href" in k for el in root.iter() for k in el.attrib)
    assert len(root.findall("{http://www.w3.org/2000/svg}rect")) == 3 + 4  # bars + legend
    assert "2030: 1; 2035: 2" in root.attrib["aria-label"]
    assert "k:&lt;unjudged&gt;: algorithm not reported" in html
    assert "3 quantum-vulnerable assets under the eu-roadmap roadmap" in html


@pytest.mark.parametrize(("algorithm", "size", "level"), [
    ("RSA", 4096, 0), ("EC", 384, 0), ("sha256WithRSAEncryption", None, 0),
    ("ecdsa-with-SHA384", None, 0), ("DES3", 168, 0), ("AES", 128, 1), ("AES", 192, 3),
    ("AES", 256, 5), ("ML-KEM-512", None, 1), ("ML-KEM-1024", None, 5), ("ML-DSA-44", None, 2),
    ("ML-DSA", 192, 3), ("SLH-DSA-SHA2-256f", None, 5), ("X25519MLKEM768", None, 3),
    ("mystery", None, None),
])
def test_nist_quantum_levels(algorithm: str, size: int | None, level: int | None) -> None:
    assert nist_quantum_level(algorithm, size) == level
