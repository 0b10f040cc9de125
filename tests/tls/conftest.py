"""Fixtures of the TLS tests: the lab servers, endpoints that fail, and one audit of them.

The servers start once per test session, and the audit of all of them runs once (sslyze
scans take about a second each); the tests read its JSON evidence.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator

import pytest

from pytest_cryptoaudit.lab.processes import LOOPBACK, free_port
from pytest_cryptoaudit.lab.tls_pki import LabPki, write_pki
from pytest_cryptoaudit.lab.tls_server import TlsServer, start_tls_server

from .auditrun import AuditRun, run_audit


@dataclasses.dataclass(frozen=True)
class TlsLab:
    """The lab PKI and its running servers."""

    pki: LabPki
    legacy: TlsServer
    modern: TlsServer
    default: TlsServer


@pytest.fixture(scope="session")
def tls_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsLab]:
    """A legacy, a modern and a default-configured TLS server on loopback, serving leaves
    of the lab CA."""
    pki = write_pki(tmp_path_factory.mktemp("tls-lab"))
    servers: list[TlsServer] = []
    try:
        for profile in ("legacy", "modern", "default"):
            servers.append(start_tls_server(profile, pki))
        yield TlsLab(pki, *servers)
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def silent_endpoint() -> Iterator[str]:
    """A socket that accepts TCP connections (the kernel does) but never answers TLS."""
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(32)
        yield f"{LOOPBACK}:{listener.getsockname()[1]}"


@pytest.fixture(scope="session")
def refused_endpoint() -> str:
    """A loopback port nobody listens on."""
    return f"{LOOPBACK}:{free_port()}"


LAB_CONFIG = """
[[systems]]
name = "legacy-web"
provider = "tls"
risk_tier = "high"
ssrm_owner = "CSC"
accountable_owner = "crypto-team"
endpoints = ["{legacy}"]
server_name = "localhost"
ca_file = "{ca_file}"

[[systems]]
name = "modern-web"
provider = "tls"
risk_tier = "critical"
ssrm_owner = "CSC"
accountable_owner = "crypto-team"
endpoints = ["{modern}"]
server_name = "localhost"
ca_file = "{ca_file}"

[[systems]]
name = "default-web"
provider = "tls"
risk_tier = "high"
owner = "CSC"
endpoints = ["{default}"]
server_name = "localhost"
ca_file = "{ca_file}"

[[systems]]
name = "dead-web"
provider = "tls"
risk_tier = "high"
ssrm_owner = "CSC"
accountable_owner = "crypto-team"
endpoints = ["{refused}", "{silent}"]
timeout = 1
"""


@pytest.fixture(scope="session")
def lab_audit(tls_lab: TlsLab, refused_endpoint: str, silent_endpoint: str,
              tmp_path_factory: pytest.TempPathFactory) -> AuditRun:
    """One audit of the legacy, modern, default and dead endpoints, shared by the tests."""
    config = LAB_CONFIG.format(legacy=tls_lab.legacy.endpoint, modern=tls_lab.modern.endpoint,
                               default=tls_lab.default.endpoint,
                               ca_file=tls_lab.pki.ca_file, refused=refused_endpoint,
                               silent=silent_endpoint)
    return run_audit(tmp_path_factory.mktemp("tls-audit"), config)
