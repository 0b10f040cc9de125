"""The KMS part of ``cryptoaudit lab``: the estate served from its own process, audited."""

from __future__ import annotations

import json

import tomli_w

from pytest_cryptoaudit.lab.estate_kms import LAB_POLICY, start_kms_estate
from pytest_cryptoaudit.lab.processes import pid_alive, stop_pid

from .test_estate import results_by_uid


def test_lab_process_serves_the_planted_estate(audit, tmp_path):
    pids: list[int] = []
    try:
        systems, env = start_kms_estate(tmp_path / "services", pids.append)
        assert pid_alive(pids[0]) and env["AWS_ACCESS_KEY_ID"] == "testing"
        config = tomli_w.dumps({"systems": systems, "policy": dict(LAB_POLICY)})
        _, evidence = audit(config, *(f"--cryptoaudit-control={c}" for c in (
            "CEK-09", "CEK-11", "CEK-14")))
    finally:
        for pid in pids:
            stop_pid(pid)
    assert not pid_alive(pids[0])
    keys = json.loads((tmp_path / "services/kms/estate.json").read_text())["keys"]
    by_uid = results_by_uid(evidence)

    def outcome(uid: str, check: str) -> str:
        return str(by_uid[uid][check]["outcome"])

    assert outcome(keys["weak-pending-deletion"], "kms-not-pending-deletion") == "failed"
    assert outcome(keys["weak-rsa-encrypt"], "kms-key-usage") == "failed"
    assert outcome(keys["clean-rsa"], "kms-key-usage") == "passed"
    assert outcome("aws-kms:kms-prod", "kms-cloudtrail") == "failed"
    assert outcome("aws-kms:kms-partner", "kms-cloudtrail") == "passed"
