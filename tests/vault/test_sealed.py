"""A sealed server is a failure to look: every result of that system is an error."""

from __future__ import annotations

from pytest_cryptoaudit.lab import openbao

from .helpers import run_audit, system

UID = "vault:sealable/transit/clean-aes256"


def test_sealed_server_gives_errors_not_passes(bao_binary_available, pytester,
                                               tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("bao-sealed")
    with openbao.start_dev_server(folder, audit_file=False) as server:
        client = server.client()
        openbao.enable_engine(client, "transit", "transit")
        openbao.create_transit_key(client, "transit", "clean-aes256", "aes256-gcm96",
                                   auto_rotate_period="720h")
        monkeypatch.setenv("TEST_SEALED_TOKEN", server.root_token)
        pytester.makefile(".toml", cryptoaudit=system("sealable", "high", server.url,
                                                      token_env="TEST_SEALED_TOKEN"))
        unsealed = run_audit(pytester)
        assert unsealed.outcome("transit-key-type", UID) == "passed"
        assert unsealed.outcome("vault-audit-device", "vault:sealable") == "failed"

        openbao.seal(client)
        sealed = run_audit(pytester)
    reasons = [e["reason"] for e in sealed.discovery_errors("sealable")]
    assert any("sys/seal-status: the server is sealed" in r for r in reasons), reasons
    assert sealed.system("sealable")["keys_found"] == 0
    outcomes = {r["check"]: r["outcome"] for r in sealed.results()}
    assert outcomes["discovery-complete"] == "error"
    assert outcomes["vault-audit-device"] == "error"
    assert set(outcomes.values()) == {"error"}
