"""The OpenBao part of ``cryptoaudit lab``: seeded, audited with its read-only token, stopped."""

from __future__ import annotations

import tomli_w

from pytest_cryptoaudit.lab import estate_vault_tenants as tenants
from pytest_cryptoaudit.lab.estate_vault import SERVICES, WEAK_KEYS, start_vault_estate
from pytest_cryptoaudit.lab.processes import pid_alive, stop_pid

from .helpers import run_audit

PREFIX = "vault:payments-vault/payments-transit/"


def test_lab_estate_plants_one_weakness_per_weak_key(bao_binary_available, pytester,
                                                      monkeypatch, tmp_path):
    pids: list[int] = []
    try:
        systems, env = start_vault_estate(tmp_path / "services", pids.append)
        assert pids and pid_alive(pids[0])
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        pytester.makefile(".toml", cryptoaudit=tomli_w.dumps({"systems": systems}))
        evidence = run_audit(pytester, "--cryptoaudit-control", "CEK-04",
                             "--cryptoaudit-control", "CEK-10", "--cryptoaudit-control", "CEK-12",
                             "--cryptoaudit-control", "CEK-14")
    finally:
        for pid in pids:
            stop_pid(pid)
    assert not pid_alive(pids[0])
    for name, _type, _settings in WEAK_KEYS:
        assert evidence.checks_with(PREFIX + name, "failed"), name
    for service in SERVICES:
        for suffix in ("-data", "-signing"):
            outcomes = {r["outcome"] for r in evidence.results(uid=PREFIX + service + suffix)}
            assert outcomes == {"passed"}, service + suffix
    assert evidence.data["run"]["auditor"]["systems"]["payments-vault"]["policies"] == [
        "cryptoaudit"]


def test_lab_tenant_namespace_plants_a_cross_tenant_holder_and_an_open_shared_key(
        bao_binary_available, pytester, monkeypatch, tmp_path):
    pids: list[int] = []
    try:
        systems, env = start_vault_estate(tmp_path / "services", pids.append)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        config = {"systems": systems, "tenancy": tenants.tenancy()}
        pytester.makefile(".toml", cryptoaudit=tomli_w.dumps(config))
        evidence = run_audit(pytester, "--cryptoaudit-control", "CEK-08")
    finally:
        for pid in pids:
            stop_pid(pid)
    prefix = f"vault:{tenants.SYSTEM}/transit/"
    for key, expected in tenants.EXPECT.items():
        for check, outcome in expected.items():
            assert evidence.outcome(check, prefix + key) == outcome, (key, check)
    assert ("entity:tenants/globex-analyst (vault-acl policy acme-reports: path "
            in evidence.message("tenant-key-isolation", prefix + "acme-records"))
    assert evidence.data["scope"]["items"]["tenant-isolation"] == [tenants.SYSTEM]
