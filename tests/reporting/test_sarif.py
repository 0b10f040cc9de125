"""SARIF for code scanning: valid against the OASIS schema, one rule per check, each finding
at the file and line of its subject, waived findings suppressed, stable fingerprints."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_cryptoaudit.evidence_model import Evidence
from pytest_cryptoaudit.findings import finding_id
from pytest_cryptoaudit.reporting.sarif import FINGERPRINT, render_sarif, rule_id

SCHEMA = json.loads((Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json")
                    .read_text(encoding="utf-8"))


def validate(log: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(log)


@pytest.fixture(scope="module")
def sarif(full_run) -> dict[str, Any]:
    return json.loads((full_run.out / "results.sarif").read_text(encoding="utf-8"))


def results_by(sarif: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["ruleId"], r["properties"]["subject"]): r for r in sarif["runs"][0]["results"]}


def test_the_log_is_valid_sarif_2_1_0(sarif):
    validate(sarif)
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["tool"]["driver"]["name"] == "pytest-cryptoaudit"


def test_a_schema_violation_is_caught():
    """The validator is not vacuous: a result without its message is refused."""
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
                                         "results": [{"ruleId": "a"}]}]}
    with pytest.raises(jsonschema.ValidationError, match="'message' is a required property"):
        validate(log)


def test_every_finding_is_a_result_and_nothing_else(full_run, sarif):
    findings = {(rule_id(r["control"], r["check"]), r["key_uid"])
                for r in full_run.evidence["results"]
                if r["outcome"] in ("failed", "error", "waived")}
    assert findings, "the estate has planted findings"
    assert set(results_by(sarif)) == findings


def test_one_rule_per_check_and_each_result_points_at_its_rule(full_run, sarif):
    driver = sarif["runs"][0]["tool"]["driver"]
    ids = [rule["id"] for rule in driver["rules"]]
    assert len(ids) == len(set(ids))
    checks = {rule_id(r["control"], r["check"]) for r in full_run.evidence["results"]}
    assert checks <= set(ids)
    for result in sarif["runs"][0]["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]
    strength = driver["rules"][ids.index("CEK-04/key-strength")]
    assert strength["properties"]["tags"][-1] == "CEK-04"
    assert strength["helpUri"].startswith("https://")


def test_a_finding_is_located_at_its_file_relative_to_the_run_folder(sarif):
    weak = results_by(sarif)[("CEK-10/private-key-encrypted", "files:keys/weak-rsa.pem")]
    location = weak["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "keys/weak-rsa.pem", "uriBaseId": "%SRCROOT%"}
    assert weak["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == (
        "files:keys/weak-rsa.pem")
    assert weak["level"] == "error"  # a failure on a high-tier system
    assert weak["partialFingerprints"][FINGERPRINT] == finding_id(
        "app-keys", "CEK-10", "private-key-encrypted", "files:keys/weak-rsa.pem")


def test_a_file_that_could_not_be_read_is_an_error_at_that_file(sarif):
    broken = [r for r in sarif["runs"][0]["results"]
              if r["properties"]["subject"] == "files:keys/broken.pem"]
    assert [r["ruleId"] for r in broken] == ["CEK-21/discovery-complete"]
    assert broken[0]["level"] == "error"
    assert broken[0]["message"]["text"].startswith("Could not check: ")
    assert broken[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "keys/broken.pem")


def test_a_waived_finding_is_suppressed_with_its_justification(sarif):
    waived = results_by(sarif)[("CEK-04/key-strength", "files:keys/weak-rsa.pem")]
    assert waived["properties"]["outcome"] == "waived"
    [suppression] = waived["suppressions"]
    assert suppression["kind"] == "external"
    assert "W-weak-rsa" in suppression["justification"]
    assert "J. Doe (CISO)" in suppression["justification"]
    unwaived = results_by(sarif)[("CEK-10/private-key-encrypted", "files:keys/weak-rsa.pem")]
    assert "suppressions" not in unwaived


def test_a_subject_declared_nowhere_is_located_at_its_system_in_the_configuration(full_run):
    """A key in a live service has no file: its finding points at the system's table."""
    document = copy.deepcopy(full_run.evidence)
    for key in document["inventory"]:
        key.pop("location", None)
    for system in document["systems"]:
        for failure in system["discovery_errors"]:
            failure.pop("location", None)
    log = render_sarif(Evidence.from_document(document), full_run.estate.root)
    validate(log)
    config = (full_run.estate.root / "cryptoaudit.toml").read_text().splitlines()
    line_of_app_keys = config.index('name = "app-keys"') + 1
    weak = results_by(log)[("CEK-10/private-key-encrypted", "files:keys/weak-rsa.pem")]
    physical = weak["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "cryptoaudit.toml"
    assert physical["region"] == {"startLine": line_of_app_keys}
