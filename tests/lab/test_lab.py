"""`cryptoaudit lab`: real services up, audited with every report, and nothing left behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from pytest_cryptoaudit.lab import lab
from pytest_cryptoaudit.lab.processes import pid_alive
from pytest_cryptoaudit.reporting.evidence import evidence_schema


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line mentions ``text`` (the lab folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and "pytest" not in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lab") / "cryptoaudit-lab"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest_cryptoaudit", "lab", "run", "--dir", str(folder)],
        capture_output=True, text=True, timeout=900, check=False,
    )
    return folder, completed


def test_lab_run_completes_and_says_where_the_reports_are(lab_run):
    folder, completed = lab_run
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert completed.stdout.rstrip().splitlines()[-1] == f"lab: reports in {folder / 'report'}"


def test_every_report_exists_and_parses(lab_run):
    folder, _ = lab_run
    report = folder / "report"
    evidence = json.loads((report / "evidence.json").read_text())
    jsonschema.validate(evidence, evidence_schema())
    assert json.loads((report / "oscal.json").read_text())["assessment-results"]["results"]
    assert json.loads((report / "cbom.json").read_text())["specVersion"] == "1.6"
    cases = list(ET.parse(report / "junit.xml").getroot().iter("testcase"))
    assert len(cases) == len(evidence["results"]) > 200
    properties = [{p.get("name"): p.get("value") for p in case.iter("property")}
                  for case in cases]
    assert all({"control", "check", "system", "key_uid"} <= set(p) for p in properties)
    assert {p["control"] for p in properties} >= {"CEK-04", "CEK-09", "CEK-12", "CEK-21"}
    assert "| Control |" in (report / "summary.md").read_text()
    assert "Risk tier" in (report / "report.html").read_text()
    assert list((report / "allure").glob("*-result.json"))


def test_the_estate_is_realistic_and_its_weaknesses_are_found(lab_run):
    folder, _ = lab_run
    evidence = json.loads((folder / "report/evidence.json").read_text())
    systems = {s["name"]: s for s in evidence["systems"]}
    tiers = {s["risk_tier"] for s in systems.values()}
    assert tiers == {"low", "medium", "high", "critical"}
    assert {s["provider"] for s in systems.values()} >= {"files", "tls", "aws-kms", "vault"}
    kms_keys = [k for k in evidence["inventory"] if k["provider"] == "aws-kms"]
    assert len(kms_keys) >= 200
    assert len({k["uid"].split(":")[3] for k in kms_keys}) == 3  # two, and the tenants' one
    tenant_checks = {(r["check"], r["outcome"]) for r in evidence["results"]
                     if r["system"] == "kms-tenants" and r["check"].startswith("tenant-")}
    assert {("tenant-key-isolation", "failed"), ("tenant-shared-key-context", "failed"),
            ("tenant-key-assigned", "failed"), ("tenant-key-isolation", "passed")
            } <= tenant_checks
    assert evidence["scope"]["items"]["tenant-isolation"] == ["kms-tenants", "vault-tenants"]
    vault_tenants = {(r["key_uid"].rsplit("/", 1)[1], r["check"]): r["outcome"]
                     for r in evidence["results"] if r["system"] == "vault-tenants"
                     and r["check"].startswith("tenant-")}
    expected = {("acme-records", "tenant-key-isolation"): "failed",
                ("globex-records", "tenant-key-isolation"): "passed",
                ("shared-derived", "tenant-shared-key-context"): "passed",
                ("shared-plain", "tenant-shared-key-context"): "failed"}
    assert expected.items() <= vault_tenants.items()
    failed = {(r["system"], r["check"]) for r in evidence["results"] if r["outcome"] == "failed"}
    assert ("internal-tools-keys", "key-strength") in failed
    assert ("web-legacy", "tls-protocol-versions") in failed
    assert any(check == "kms-policy-not-public" for _, check in failed)
    weak_share = len({r["key_uid"] for r in evidence["results"] if r["outcome"] == "failed"})
    assert 0.05 < weak_share / len(evidence["inventory"]) < 0.4


def test_a_security_event_makes_the_system_due_and_the_second_audit_clears_it(lab_run):
    folder, completed = lab_run
    out = completed.stdout
    event_at = out.index("recording a security incident on payments-keys")
    before, after = out[event_at:].split("lab: auditing again after the event")
    assert re.search(r"^payments-keys .* DUE$", before, re.M), before
    assert re.search(r"^payments-keys .* ok$", after, re.M), after
    assert (folder / "report/after-event/evidence.json").exists()


def test_status_still_works_after_the_run_as_the_last_lines_say(lab_run):
    folder, completed = lab_run
    config = folder / lab.CONFIG_FILE
    assert f"`cryptoaudit status --config {config}`" in completed.stdout
    status = subprocess.run([sys.executable, "-m", "pytest_cryptoaudit", "status", "--config",
                             str(config)], capture_output=True, text=True, check=False)
    assert status.returncode == 0, status.stdout + status.stderr
    assert re.search(r"^payments-keys .* ok$", status.stdout, re.M), status.stdout
    assert not (folder / lab.ENV_FILE).exists()  # the lab's tokens and PINs do not stay


def test_nothing_is_left_running(lab_run):
    folder, _ = lab_run
    assert processes_mentioning(str(folder)) == []
    assert not (folder / lab.STATE_FILE).exists()


def test_a_failed_start_stops_what_had_started(tmp_path, monkeypatch):
    def broken(state, say):
        raise RuntimeError("component failed to start")

    monkeypatch.setattr(lab, "COMPONENTS", (*lab.COMPONENTS[:2], ("broken", broken)))
    started: list[int] = []
    real_add = lab.LabState.add_pid
    monkeypatch.setattr(lab.LabState, "add_pid",
                        lambda self, pid: (started.append(pid), real_add(self, pid))[1])
    with pytest.raises(RuntimeError, match="component failed"):
        lab.up(tmp_path / "lab", say=lambda line: None)
    assert started, "the TLS servers should have started before the failure"
    assert not any(pid_alive(pid) for pid in started)
    assert processes_mentioning(str(tmp_path / "lab")) == []


def test_up_twice_is_harmless(tmp_path, monkeypatch):
    monkeypatch.setattr(lab, "COMPONENTS", lab.COMPONENTS[:2])  # files and TLS: quick
    folder = tmp_path / "lab"
    first = lab.up(folder, say=lambda line: None)
    try:
        second = lab.up(folder, say=lambda line: None)
        assert second.pids == first.pids
        assert all(pid_alive(pid) for pid in first.pids)
    finally:
        lab.down(folder, say=lambda line: None)
    assert not any(pid_alive(pid) for pid in first.pids)


def test_up_with_a_relative_folder_starts_openbao(tmp_path, monkeypatch):
    monkeypatch.setattr(lab, "COMPONENTS", tuple(c for c in lab.COMPONENTS if c[0] == "vault"))
    monkeypatch.chdir(tmp_path)
    state = lab.up(Path("lab"), say=lambda line: None)
    try:
        assert state.pids and all(pid_alive(pid) for pid in state.pids)
        assert (tmp_path / "lab" / lab.CONFIG_FILE).is_file()
    finally:
        lab.down(Path("lab"), say=lambda line: None)
    assert not any(pid_alive(pid) for pid in state.pids)


def test_openbao_starts_in_a_relative_folder(tmp_path, monkeypatch):
    from pytest_cryptoaudit.lab.openbao import start_dev_server

    monkeypatch.chdir(tmp_path)
    with start_dev_server(Path("vault/work")) as server:
        assert server.client().sys.read_health_status(method="GET")["initialized"]
        assert server.workdir == tmp_path / "vault/work"
