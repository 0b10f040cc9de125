"""The Cloud KMS part of ``cryptoaudit lab``: the stand-in served from its own process with
the lab estate, audited through the SDK, and stopped."""

from __future__ import annotations

import json

import tomli_w

from pytest_cryptoaudit.lab.estate_gcp import LAB_POLICY, lab_estate, start_gcp_estate
from pytest_cryptoaudit.lab.processes import pid_alive, stop_pid

from .test_estate import results_by_uid


def test_lab_process_serves_the_planted_and_everyday_estate(gcp_audit, tmp_path):
    pids: list[int] = []
    try:
        systems, env = start_gcp_estate(tmp_path / "services", pids.append)
        assert pid_alive(pids[0]) and env == {}
        config = tomli_w.dumps({"systems": systems, "policy": dict(LAB_POLICY)})
        _, evidence = gcp_audit(config, "--cryptoaudit-control=CEK-08",
                                "--cryptoaudit-control=CEK-12")
    finally:
        for pid in pids:
            stop_pid(pid)
    assert not pid_alive(pids[0])
    keys = json.loads((tmp_path / "services/gcp/estate.json").read_text())["keys"]
    assert len(keys) == len(lab_estate())
    by_uid = results_by_uid(evidence)
    assert len([uid for uid in by_uid if uid.startswith("projects/")]) == len(keys) - 1

    def outcome(label: str, check: str) -> str:
        return str(by_uid[keys[label]][check]["outcome"])

    assert outcome("weak-public", "kms-policy-not-public") == "failed"
    assert outcome("weak-sod", "kms-separation-of-duties") == "failed"
    assert outcome("weak-rotation-400", "kms-rotation-period") == "failed"
    assert outcome("clean-sym", "kms-rotation-enabled") == "passed"
    assert outcome("ledger-google-010", "kms-rotation-enabled") == "failed"  # switched off
    assert outcome("mobile-google-005", "key-age") == "failed"  # a forgotten old key
