"""The lab TLS servers: what they plant, and that they stop cleanly."""

from __future__ import annotations

import socket
import ssl

import pytest
from cryptography import x509

from pytest_cryptoaudit.lab.processes import LOOPBACK, pid_alive, port_is_free, stop_pid
from pytest_cryptoaudit.lab.tls_pki import LabPki, write_pki
from pytest_cryptoaudit.lab.tls_server import (
    accepts_connections,
    start_lab_estate,
    start_tls_server,
)


def test_a_server_stops_and_frees_its_port(tmp_path):
    server = start_tls_server("modern", write_pki(tmp_path))
    assert accepts_connections(LOOPBACK, server.port)
    server.stop()
    assert not pid_alive(server.pid)
    assert port_is_free(server.port)


def test_unknown_profile_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown TLS lab profile 'medieval'"):
        start_tls_server("medieval", LabPki(tmp_path))


def test_modern_server_validates_with_the_lab_ca(tls_lab):
    context = ssl.create_default_context(cafile=str(tls_lab.pki.ca_file))
    with socket.create_connection((LOOPBACK, tls_lab.modern.port), timeout=5) as sock, \
            context.wrap_socket(sock, server_hostname="localhost") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_legacy_leaf_comes_from_the_untrusted_ca(tls_lab):
    pki = tls_lab.pki
    leaf, issuer = x509.load_pem_x509_certificates(pki.chain_file("legacy").read_bytes())
    untrusted = x509.load_pem_x509_certificate(pki.untrusted_ca_file.read_bytes())
    trusted = x509.load_pem_x509_certificate(pki.ca_file.read_bytes())
    assert leaf.issuer == issuer.subject == untrusted.subject != trusted.subject
    assert leaf.public_key().key_size == 1024
    assert leaf.signature_hash_algorithm.name == "sha1"
    assert pki.key_file("legacy").stat().st_mode & 0o077 == 0


def test_lab_estate_records_every_server_it_starts(tmp_path):
    pids: list[int] = []
    systems = start_lab_estate(tmp_path / "tls", pids.append)
    try:
        assert [(s["name"], s["risk_tier"]) for s in systems] == [
            ("web-legacy", "high"), ("web-modern", "critical"), ("web-pq", "high")]
        assert len(pids) == 3 and all(pid_alive(pid) for pid in pids)
        for system in systems:
            host, port = system["endpoints"][0].rsplit(":", 1)
            assert accepts_connections(host, int(port))
            assert system["ca_file"] == str(tmp_path / "tls" / "ca.pem")
    finally:
        for pid in pids:
            stop_pid(pid)
    assert not any(pid_alive(pid) for pid in pids)
