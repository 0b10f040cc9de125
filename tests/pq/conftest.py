"""A post-quantum TLS server (OpenSSL 3.5+ through pyOpenSSL) and a classical one (the
standard library's OpenSSL, one P-256 group), on loopback, once per session."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from pytest_cryptoaudit.lab.tls_pki import LabPki, write_pki
from pytest_cryptoaudit.lab.tls_server import TlsServer, start_tls_server


@dataclasses.dataclass(frozen=True)
class PqLab:
    pki: LabPki
    pq: TlsServer
    classical: TlsServer


@pytest.fixture(scope="session")
def pq_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PqLab]:
    pytest.importorskip("OpenSSL", reason="pip install pyOpenSSL (the tls extra)")
    pki = write_pki(tmp_path_factory.mktemp("pq-lab"))
    servers: list[TlsServer] = []
    try:
        for profile in ("pq", "modern"):
            servers.append(start_tls_server(profile, pki))
        yield PqLab(pki, *servers)
    finally:
        for server in servers:
            server.stop()
