"""A TLS endpoint that trickles its answers (one byte every half second) behind a probe that
succeeded: sslyze's per-read timeouts never trip, so only the system's stall deadline ends
the scan. The run must finish, name the system, and still audit and report the others."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_cryptoaudit.lab.processes import LOOPBACK
from pytest_cryptoaudit.providers.tls import probe

from ..faults import TrickleTcpProxy, bounded
from .auditrun import run_audit

CONFIG = """
[[systems]]
name = "trickled-web"
provider = "tls"
risk_tier = "high"
owner = "CSC"
endpoints = ["{trickled}"]
server_name = "localhost"
ca_file = "{ca_file}"
stall_timeout = 3.0

[[systems]]
name = "modern-web"
provider = "tls"
risk_tier = "critical"
owner = "CSC"
endpoints = ["{modern}"]
server_name = "localhost"
ca_file = "{ca_file}"
"""


@pytest.fixture
def trickler(tls_lab) -> Iterator[TrickleTcpProxy]:
    proxy = TrickleTcpProxy((LOOPBACK, tls_lab.modern.port), seconds=0.5, pass_first=1)
    yield proxy
    proxy.close()


def test_a_trickling_endpoint_is_cut_off_and_the_run_completes(tls_lab, trickler, tmp_path):
    config = CONFIG.format(trickled=trickler.address, modern=tls_lab.modern.endpoint,
                           ca_file=tls_lab.pki.ca_file)
    run = run_audit(tmp_path, config)  # run_audit fails the test after 120 s
    trickled = next(s for s in run.evidence["systems"] if s["name"] == "trickled-web")
    [error] = trickled["discovery_errors"]
    assert "cut off: no request completed for 3 s (stall_timeout)" in error["reason"]
    assert trickler.connections > 1  # sslyze did connect through the trickler
    modern = run.outcomes("modern-web")
    assert modern and "error" not in set(modern.values())
    assert run.returncode == 1


def test_the_probe_handshake_is_bounded_in_total_not_per_read(tls_lab):
    trickler = TrickleTcpProxy((LOOPBACK, tls_lab.modern.port), seconds=0.2)
    try:
        reason = bounded(lambda: probe(trickler.address, 1.0, "localhost"), 20)
    finally:
        trickler.close()
    assert reason == "no answer to the TLS handshake within 1 s (timeout)"
