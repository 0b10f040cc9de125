"""The lab's post-quantum estate: keys either side of the roadmaps' dates, judged with a
frozen clock under each roadmap and on the protection horizon the lab's policy opts into,
and the lab's two sshd servers."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import time_machine
import tomli_w

from pytest_cryptoaudit.lab import lab
from pytest_cryptoaudit.lab.estate_files import LAB_PASSPHRASE, PASSPHRASE_ENV
from pytest_cryptoaudit.lab.estate_pq import PQ_LAB_POLICY, seed_pq_files, start_ssh_estate
from pytest_cryptoaudit.lab.processes import pid_alive, stop_pid
from pytest_cryptoaudit.lab.ssh_server import INSTALL_HINT, sshd_path
from pytest_cryptoaudit.sshkex import read_server_kexinit
from tests.conftest import missing_service

PREFIX = "files:estate/pq-archive/"
CLASSICAL = ("backup-wrap.pem", "partner-exchange.pub", "firmware-root.pem",
             "release-signing.pem")
RESISTANT = ("ml-dsa-65.pub", "ml-kem-768.der")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("pq-lab") / "estate"
    return root, seed_pq_files(root, LAB_PASSPHRASE.encode(), PASSPHRASE_ENV)


def audit(pytester: pytest.Pytester, seeded: tuple[Path, dict[str, Any]],
          monkeypatch: pytest.MonkeyPatch, day: dt.date,
          policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """pq-readiness of each pq-archive file (by file name) on ``day``."""
    root, system = seeded
    shutil.copytree(root, pytester.path / "estate")
    (pytester.path / "cryptoaudit.toml").write_text(
        tomli_w.dumps({"systems": [system], "policy": policy}))
    monkeypatch.setenv(PASSPHRASE_ENV, LAB_PASSPHRASE)
    with time_machine.travel(dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC),
                             tick=False):
        pytester.runpytest("--cryptoaudit", "--cryptoaudit-control", "CEK-04",
                           "--cryptoaudit-json", "evidence.json", "--cryptoaudit-no-ledger")
    evidence = json.loads((pytester.path / "evidence.json").read_text())
    assert evidence["systems"][0]["discovery_errors"] == []
    return {r["key_uid"].removeprefix(PREFIX): r for r in evidence["results"]
            if r["check"] == "pq-readiness"}


def outcomes(results: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: result["outcome"] for name, result in results.items()}


def test_the_lab_horizon_fails_encryption_keys_and_dates_signing_keys(
        pytester: pytest.Pytester, seeded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    results = audit(pytester, seeded, monkeypatch, dt.date.today(), dict(PQ_LAB_POLICY))
    assert outcomes(results) == {
        "backup-wrap.pem": "failed", "partner-exchange.pub": "failed",
        "firmware-root.pem": "passed", "release-signing.pem": "passed",
        "ml-dsa-65.pub": "passed", "ml-kem-768.der": "passed"}
    assert "protection horizon" in results["backup-wrap.pem"]["message"]
    assert "ended on 2023-01-01" in results["backup-wrap.pem"]["message"]
    assert "deprecated from 2031-01-01" in results["partner-exchange.pub"]["message"]
    assert "disallowed from 2036-01-01" in results["firmware-root.pem"]["notes"][0]
    assert results["ml-dsa-65.pub"]["notes"] == ["ML-DSA is quantum-resistant"]


def test_the_firmware_root_fails_once_its_horizon_has_passed(
        pytester: pytest.Pytester, seeded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    results = audit(pytester, seeded, monkeypatch, dt.date(2033, 1, 2), dict(PQ_LAB_POLICY))
    assert results["firmware-root.pem"]["outcome"] == "failed"
    assert "ended on 2033-01-01" in results["firmware-root.pem"]["message"]
    assert results["ml-kem-768.der"]["outcome"] == "passed"


@pytest.mark.parametrize(("roadmap", "day", "classical"), [
    ("nist-ir-8547", dt.date(2035, 12, 31), "passed"),
    ("nist-ir-8547", dt.date(2036, 1, 1), "failed"),
    ("eu-roadmap", dt.date(2030, 12, 31), "passed"),  # critical tier: high-risk, 2030
    ("eu-roadmap", dt.date(2031, 1, 1), "failed"),
    ("bsi-tr-02102", dt.date(2031, 12, 31), "passed"),
    ("bsi-tr-02102", dt.date(2032, 1, 1), "failed"),
    ("cnsa-2.0", dt.date(2035, 12, 31), "passed"),  # category "everything"
    ("cnsa-2.0", dt.date(2036, 1, 1), "failed"),
])
def test_each_roadmap_fails_the_classical_keys_on_its_date(
        pytester: pytest.Pytester, seeded: Any, monkeypatch: pytest.MonkeyPatch,
        roadmap: str, day: dt.date, classical: str) -> None:
    results = audit(pytester, seeded, monkeypatch, day, {"pq_roadmap": roadmap})
    assert outcomes(results) == {**dict.fromkeys(CLASSICAL, classical),
                                 **dict.fromkeys(RESISTANT, "passed")}
    if classical == "passed":
        assert all("1 day left" in results[n]["notes"][0] for n in CLASSICAL)


def test_the_lab_starts_a_pq_and_a_classical_sshd() -> None:
    if sshd_path() is None:
        missing_service(f"sshd is not installed: {INSTALL_HINT}")
    pids: list[int] = []
    paths: list[Path] = []
    try:
        systems = {s["name"]: s for s in start_ssh_estate(pids.append, paths.append)}
        negotiated = {}
        for name, system in systems.items():
            host, port = system["endpoints"][0].rsplit(":", 1)
            found = read_server_kexinit(host, int(port))
            negotiated[name] = found.pq_key_exchange()["negotiated_group"]
    finally:
        for pid in pids:
            stop_pid(pid)
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)
    assert negotiated["bastion-pq"] in ("mlkem768x25519-sha256", "sntrup761x25519-sha512")
    assert negotiated["bastion-classical"] == "curve25519-sha256"
    assert {systems[n]["provider"] for n in systems} == {"ssh"}
    assert not any(pid_alive(pid) for pid in pids)


def test_lab_down_removes_the_folders_services_keep_outside_it(tmp_path: Path) -> None:
    outside = tmp_path / "sshd-folder"
    outside.mkdir()
    state = lab.LabState(tmp_path / "lab")
    state.add_path(outside)
    lab.down(tmp_path / "lab", say=lambda _: None)
    assert not outside.exists()
