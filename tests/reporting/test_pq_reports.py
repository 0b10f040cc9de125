"""The post-quantum outputs of the full run: the CSV inventory, the HTML section and the
CBOM's NIST quantum security level on every algorithm."""

from __future__ import annotations

import csv
import json

from pytest_cryptoaudit.evidence_model import Evidence
from pytest_cryptoaudit.reporting.pq_chart import pq_section_html
from pytest_cryptoaudit.reporting.pq_inventory import inventory_rows
from tests.reporting.conftest import FullRun


def test_inventory_csv_lists_the_vulnerable_keys_with_dates(full_run: FullRun) -> None:
    rows = list(csv.DictReader((full_run.out / "pq-inventory.csv").open()))
    assert rows
    vulnerable = {k["uid"] for k in full_run.evidence["inventory"]
                  if k["pq"]["status"] == "quantum-vulnerable"}
    assert {r["uid"] for r in rows if r["status"] == "quantum-vulnerable"} == vulnerable
    assert all(r["disallowed"] == "2036-01-01" and r["roadmap"] == "nist-ir-8547"
               for r in rows if r["status"] == "quantum-vulnerable")
    deadlines = [r["disallowed"] for r in rows]
    assert deadlines == sorted(deadlines)


def test_html_report_has_the_pq_section_and_chart(full_run: FullRun) -> None:
    html = (full_run.out / "report.html").read_text()
    assert "Post-quantum migration" in html
    assert 'id="cryptoaudit-pq-chart"' in html
    assert "Quantum-vulnerable assets by deadline year" in html


def test_cbom_gives_every_algorithm_a_nist_quantum_level(full_run: FullRun) -> None:
    bom = json.loads((full_run.out / "cbom.json").read_text())
    algorithms = [c for c in bom["components"]
                  if c.get("cryptoProperties", {}).get("assetType") == "algorithm"]
    assert algorithms
    levels = {c["name"]: c["cryptoProperties"]["algorithmProperties"].get(
        "nistQuantumSecurityLevel") for c in algorithms}
    assert None not in levels.values(), levels
    assert levels["RSA-1024"] == 0


def test_the_pq_outputs_read_the_typed_evidence(full_run: FullRun) -> None:
    """The inventory and its HTML section read the model, as they read its JSON document."""
    document = full_run.evidence
    typed = Evidence.model_validate(document)
    rows = inventory_rows(typed)
    assert rows and rows == inventory_rows(document)
    assert {type(r["risk_tier"]) for r in rows} == {str}  # not the enum, for CSV and JSON
    assert pq_section_html(typed) == pq_section_html(document)
