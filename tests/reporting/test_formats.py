"""Every output of the full run, validated against its schema or parsed back."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema

from pytest_cryptoaudit.reporting.evidence import evidence_schema
from tests.reporting.conftest import FullRun

WEAK = "files:keys/weak-rsa.pem"
EXPIRED = "files:certs/expired.crt"
BROKEN = "files:keys/broken.pem"
PROPERTIES = ("control", "check", "system", "key_uid", "risk_tier", "owner", "accountable_owner")


def test_run_outcomes_per_key(full_run: FullRun) -> None:
    """The planted weaknesses are caught and the clean keys pass (the base of every format)."""
    assert full_run.run.ret == 1, full_run.run.output
    assert full_run.result("key-strength", WEAK)["outcome"] == "waived"
    assert full_run.result("private-key-encrypted", WEAK)["outcome"] == "failed"
    assert full_run.result("not-expired", EXPIRED)["outcome"] == "failed"
    assert full_run.result("discovery-complete", BROKEN)["outcome"] == "error"
    clean = [r for r in full_run.evidence["results"] if r["key_uid"] in (
        "files:keys/good-ec.pem", "files:certs/service.crt#1", "files:keys/bundle.p12#1")]
    assert clean and {r["outcome"] for r in clean} == {"passed"}


def test_evidence_matches_its_schema(full_run: FullRun) -> None:
    evidence = full_run.evidence
    validator = jsonschema.Draft202012Validator(
        evidence_schema(), format_checker=jsonschema.FormatChecker())
    validator.validate(evidence)
    waivers = evidence["waivers"]
    assert [w["id"] for w in waivers["applied"]] == ["W-weak-rsa"]
    assert [w["id"] for w in waivers["expired"]] == ["W-expired-cert"]
    assert waivers["expired"][0]["unwaived"] == [EXPIRED]
    assert [w["id"] for w in waivers["stale"]] == ["W-stale"]
    assert evidence["run"]["cadence_days"] == {"critical": 1, "high": 30, "medium": 90,
                                               "low": 365}


def test_junit_properties_with_xunit1(full_run: FullRun) -> None:
    cases = list(ET.parse(full_run.out / "junit.xml").iter("testcase"))
    assert len(cases) == len(full_run.evidence["results"])
    for case in cases:
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert set(PROPERTIES) <= set(properties), case.get("name")
    case = next(c for c in cases if c.get("name") == f"test_not_expired[not-expired-{EXPIRED}]")
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert [properties[p] for p in PROPERTIES] == [
        "CEK-17", "not-expired", "web-certs", EXPIRED, "medium", "CSP-MP", "pki-team"]
    assert case.find("failure") is not None


def _allure_results(full_run: FullRun) -> dict[str, dict[str, Any]]:
    results = {}
    for path in (full_run.out / "allure").glob("*-result.json"):
        data = json.loads(path.read_text())
        results[data["name"]] = data
    return results


def _labels(result: dict[str, Any]) -> dict[str, list[str]]:
    labels: dict[str, list[str]] = {}
    for label in result["labels"]:
        labels.setdefault(label["name"], []).append(label["value"])
    return labels


def test_allure_labels_links_parameters_and_evidence(full_run: FullRun) -> None:
    results = _allure_results(full_run)
    assert len(results) == len(full_run.evidence["results"])
    waived = results[f"test_key_strength[key-strength-{WEAK}]"]
    labels = _labels(waived)
    assert labels["epic"] == ["CEK: Cryptography, Encryption and Key Management"]
    assert labels["feature"] == ["CEK-04 Encryption Algorithm"]
    assert labels["story"] == ["key-strength"]
    assert labels["severity"] == ["critical"]  # tier high
    assert {"owner:CSC", "system:app-keys"} <= set(labels["tag"])
    assert labels["owner"] == ["app-team"]  # Allure's owner: the accountable team
    assert {"NIST SP 800-131A Rev 2", "CSA CCM v4 / AICM CEK-04"} <= {
        link["name"] for link in waived["links"]}
    assert waived["parameters"] == [{"name": "crypto_key", "value": repr(WEAK)}]
    assert waived["status"] == "skipped"
    assert "waived by W-weak-rsa" in waived["statusDetails"]["message"]
    attachment = next(a for a in waived["attachments"] if a["name"] == "evidence")
    evidence = json.loads((full_run.out / "allure" / attachment["source"]).read_text())
    assert evidence["subject"]["key"]["uid"] == WEAK
    assert evidence["subject"]["key"]["size"] == 1024
    assert evidence["result"]["waiver"]["id"] == "W-weak-rsa"
    expired = results[f"test_not_expired[not-expired-{EXPIRED}]"]
    assert (_labels(expired)["severity"], expired["status"]) == (["normal"], "failed")


def test_oscal_assessment_results_validate(full_run: FullRun) -> None:
    from trestle.oscal.assessment_results import AssessmentResults

    document = json.loads((full_run.out / "oscal.json").read_text())
    AssessmentResults.model_validate(document["assessment-results"])
    result = document["assessment-results"]["results"][0]
    findings = {f["target"]["target-id"]: f["target"]["status"]["state"]
                for f in result["findings"]}
    summary = full_run.evidence["summary"]
    assert findings == {
        f"{c.lower()}_obj": "not-satisfied" if s["failed"] or s["error"] or s["waived"]
        else "satisfied" for c, s in summary.items()}
    assert findings["cek-11_obj"] == "satisfied"
    statuses = {r["title"]: r["status"] for r in result["risks"]}
    assert statuses[f"CEK-04 key-strength: {WEAK}"] == "deviation-approved"
    assert statuses[f"CEK-17 not-expired: {EXPIRED}"] == "open"
    assert statuses[f"CEK-21 discovery-complete: {BROKEN}"] == "investigating"
    _assert_observations(result, full_run.evidence)
    props = {p["name"]: p["value"] for item in result["local-definitions"]["inventory-items"]
             if item["description"].endswith(WEAK) for p in item["props"]}
    assert (props["owner"], props["accountable-owner"]) == ("CSC", "app-team")


def _assert_observations(result: dict[str, Any], evidence: dict[str, Any]) -> None:
    items = {i["uuid"]: i["description"] for i in result["local-definitions"]["inventory-items"]}
    finished = dt.datetime.fromisoformat(evidence["run"]["finished"])
    for observation in result["observations"]:
        # A check with no subject in a system was examined (the inventory), not tested.
        not_applicable = observation["title"].endswith(": not applicable")
        assert observation["methods"] == (["EXAMINE"] if not_applicable else ["TEST"])
        assert observation["subjects"][0]["type"] == "component"
        for subject in observation["subjects"][1:]:
            assert subject["subject-uuid"] in items
        system = observation["title"].removesuffix(": not applicable").rsplit(" on ", 1)[1]
        days = 30 if system == "app-keys" else 90  # high / medium
        expires = dt.datetime.fromisoformat(observation["expires"])
        assert expires - finished == dt.timedelta(days=days)


def test_cbom_validates_and_describes_the_inventory(full_run: FullRun) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = (full_run.out / "cbom.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    assert bom["specVersion"] == "1.6"
    components = {c["bom-ref"]: c for c in bom["components"]}
    weak = components[f"key:{WEAK}"]["cryptoProperties"]
    material = weak["relatedCryptoMaterialProperties"]
    assert weak["assetType"] == "related-crypto-material"
    assert (material["type"], material["size"], material["format"]) == ("private-key", 1024,
                                                                        "PEM")
    assert material["securedBy"]["mechanism"] == "None"
    assert "value" not in material
    algorithm = components[material["algorithmRef"]]["cryptoProperties"]
    assert algorithm["algorithmProperties"]["classicalSecurityLevel"] == 80
    assert components[material["algorithmRef"]]["name"] == "RSA-1024"
    certificate = components[f"certificate:{EXPIRED}"]["cryptoProperties"]
    assert certificate["assetType"] == "certificate"
    properties = certificate["certificateProperties"]
    assert properties["subjectName"] == "CN=old.example.test"
    assert components[properties["signatureAlgorithmRef"]]["name"] == "ecdsa-with-SHA256"
    public = components[properties["subjectPublicKeyRef"]]["cryptoProperties"]
    assert public["relatedCryptoMaterialProperties"]["type"] == "public-key"
    assets = [c for c in bom["components"] if c["bom-ref"].startswith(("key:", "certificate:"))
              and not c["bom-ref"].endswith("#public-key")]
    assert len(assets) == len(full_run.evidence["inventory"])


def _markdown_table(text: str, heading: str) -> list[list[str]]:
    lines = text.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_markdown_summary_parses_back(full_run: FullRun) -> None:
    text = (full_run.out / "summary.md").read_text()
    controls = _markdown_table(text, "### Controls")
    summary = full_run.evidence["summary"]
    assert [row[0] for row in controls] == list(summary)
    for row in controls:
        entry = summary[row[0]]
        assert [int(n) for n in row[2:7]] == [entry[k] for k in (
            "passed", "failed", "error", "waived", "skipped")]
    errors = _markdown_table(text, "### Errors")
    assert errors[0][:5] == ["high", "CEK-21", "discovery-complete", "1", f"`{BROKEN}`"]
    assert _markdown_table(text, "### Findings")
    waivers = {row[1]: row[0] for row in _markdown_table(text, "### Waivers")}
    assert waivers == {"W-weak-rsa": "applied", "W-expired-cert": "**expired**",
                       "W-stale": "stale"}


def test_markdown_goes_to_the_github_step_summary(full_run: FullRun) -> None:
    summary = (full_run.out / "step-summary.md").read_text()
    assert summary.strip() == (full_run.out / "summary.md").read_text().strip()


def test_outputs_are_written_relative_to_the_invocation(full_run: FullRun) -> None:
    names = {p.name for p in Path(full_run.out).iterdir()}
    assert {"evidence.json", "report.html", "junit.xml", "allure", "oscal.json", "cbom.json",
            "summary.md"} <= names
