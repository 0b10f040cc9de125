"""TLS endpoints in the reports derived from the evidence (OSCAL subjects, CBOM protocols)."""

from __future__ import annotations

import copy
import json
from typing import Any

from pytest_cryptoaudit.model import EndpointRecord, Inventory
from pytest_cryptoaudit.reporting.cbom import build_cbom
from pytest_cryptoaudit.reporting.oscal import build_oscal
from pytest_cryptoaudit.reporting.subjects import Subjects
from pytest_cryptoaudit.serialize import to_jsonable
from tests.reporting.conftest import FullRun

ENDPOINT = EndpointRecord(
    uid="tls:127.0.0.1:8443", system="web-certs", provider="tls", risk_tier="medium",
    owner="CSP-MP", address="127.0.0.1:8443",
    attributes={"protocols": ["TLSv1.2", "TLSv1.3"],
                "cipher_suites": {"TLSv1.2": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
                                  "TLSv1.3": ["TLS_AES_128_GCM_SHA256"]}})
LEAF = "files:certs/service.crt#1"


def _with_endpoint(full_run: FullRun) -> dict[str, Any]:
    evidence = copy.deepcopy(full_run.evidence)
    evidence["endpoints"] = [to_jsonable(ENDPOINT)]
    leaf = next(k for k in evidence["inventory"] if k["uid"] == LEAF)
    leaf["attributes"]["endpoint"] = ENDPOINT.uid
    template = next(r for r in evidence["results"] if r["system"] == "web-certs")
    evidence["results"].append({
        **template, "nodeid": "tls.py::test_tls_protocol_versions[tls:127.0.0.1:8443]",
        "control": "CEK-03", "title": "Data encryption", "check": "tls-protocol-versions",
        "key_uid": ENDPOINT.uid, "outcome": "failed", "message": "accepts TLSv1.0"})
    return evidence


def test_endpoints_are_oscal_subjects(full_run: FullRun) -> None:
    from trestle.oscal.assessment_results import AssessmentResults

    document = build_oscal(_with_endpoint(full_run))
    AssessmentResults.model_validate(document["assessment-results"])
    result = document["assessment-results"]["results"][0]
    item = next(i for i in result["local-definitions"]["inventory-items"]
                if "endpoint tls:127.0.0.1:8443" in i["description"])
    observation = next(o for o in result["observations"]
                       if o["title"] == "CEK-03 tls-protocol-versions on web-certs")
    assert item["uuid"] in {s["subject-uuid"] for s in observation["subjects"]}
    finding = next(f for f in result["findings"] if f["target"]["target-id"] == "cek-03_obj")
    assert finding["target"]["status"]["state"] == "not-satisfied"


def test_endpoints_are_cbom_protocols(full_run: FullRun) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = build_cbom(_with_endpoint(full_run))
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    components = {c["bom-ref"]: c for c in json.loads(text)["components"]}
    tls12 = components[f"protocol:{ENDPOINT.uid}@TLSv1.2"]["cryptoProperties"]
    assert tls12["assetType"] == "protocol"
    protocol = tls12["protocolProperties"]
    assert (protocol["type"], protocol["version"]) == ("tls", "1.2")
    assert protocol["cipherSuites"] == [{"name": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}]
    assert protocol["cryptoRefArray"] == [f"certificate:{LEAF}"]
    assert f"protocol:{ENDPOINT.uid}@TLSv1.3" in components


def test_subjects_finds_keys_endpoints_and_systems() -> None:
    subjects = Subjects(Inventory(endpoints=(ENDPOINT,)))
    assert subjects.of({"key_uid": ENDPOINT.uid, "system": "web-certs"})["endpoint"][
        "address"] == "127.0.0.1:8443"
    assert subjects.of({"key_uid": "files:gone", "system": "nowhere"}) == {}
