"""The lab TLS servers: what they plant, and that they stop cleanly."""

from __future__ import annotations

import socket
import ssl

import pytest
from cryptography import x509

from pytest_cryptoaudit.lab.processes import LOOPBACK, pid_alive, port_is_free
from pytest_cryptoaudit.lab.tls_server import accepts_connections, start_tls_server, write_pki


def test_a_server_stops_and_frees_its_port(tmp_path):
    server = start_tls_server("modern", write_pki(tmp_path))
    assert accepts_connections(LOOPBACK, server.port)
    server.stop()
    assert not pid_alive(server.pid)
    assert port_is_free(server.port)


def test_unknown_profile_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown TLS lab profile 'medieval'"):
        start_tls_server("medieval", write_pki(tmp_path))


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
    assert pki.key_file("legacy").stat().st_mode & 0o077 == 0
