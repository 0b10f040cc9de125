"""An https server: verified with ``ca_cert``; without it, an error naming the path."""

from __future__ import annotations

from pytest_cryptoaudit.lab import openbao

from .helpers import run_audit, system


def test_ca_cert_verifies_and_an_unknown_ca_is_an_error(bao_binary_available, pytester,
                                                          tmp_path, monkeypatch):
    with openbao.start_dev_server(tmp_path / "bao", tls=True) as server:
        assert server.url.startswith("https://")
        client = server.client()
        openbao.enable_engine(client, "transit", "transit")
        openbao.create_transit_key(client, "transit", "clean-aes256", "aes256-gcm96",
                                   auto_rotate_period="720h")
        monkeypatch.setenv("TEST_TLS_TOKEN", server.root_token)
        pytester.makefile(".toml", cryptoaudit="".join([
            system("verified", "high", server.url, token_env="TEST_TLS_TOKEN",
                   ca_cert=str(server.ca_cert)),
            system("unverified", "high", server.url, token_env="TEST_TLS_TOKEN"),
        ]))
        evidence = run_audit(pytester, "--cryptoaudit-control", "CEK-04",
                             "--cryptoaudit-control", "CEK-21")
    assert evidence.outcome("transit-key-type", "vault:verified/transit/clean-aes256") == "passed"
    assert not evidence.discovery_errors("verified")
    reasons = [e["reason"] for e in evidence.discovery_errors("unverified")]
    assert any(r.startswith("sys/seal-status: TLS verification failed") for r in reasons), reasons
    assert evidence.system("unverified")["keys_found"] == 0
