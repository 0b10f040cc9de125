"""A post-quantum TLS server (OpenSSL 3.5+ through pyOpenSSL) and a classical one (the
standard library's OpenSSL, one P-256 group), and a post-quantum and a classical sshd, on
loopback, once per session."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from pytest_cryptoaudit.lab.ssh_server import (
    INSTALL_HINT,
    SshServer,
    sshd_path,
    start_ssh_server,
)
from pytest_cryptoaudit.lab.tls_pki import LabPki, write_pki
from pytest_cryptoaudit.lab.tls_server import TlsServer, start_tls_server
from tests.conftest import missing_service


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


@dataclasses.dataclass(frozen=True)
class SshLab:
    pq: SshServer
    classical: SshServer


@pytest.fixture(scope="session")
def ssh_lab() -> Iterator[SshLab]:
    """Debian's sshd twice on loopback: OpenSSH's default (post-quantum hybrid) key exchange
    and a classical-only one."""
    if sshd_path() is None:
        missing_service(f"sshd is not installed: {INSTALL_HINT}")
    servers: list[SshServer] = []
    try:
        for profile in ("pq", "classical"):
            servers.append(start_ssh_server(profile))
        yield SshLab(*servers)
    finally:
        for server in servers:
            server.stop()
