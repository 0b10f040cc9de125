"""Post-quantum key exchange on TLS endpoints: the probe against a real server offering
X25519MLKEM768 and one that does not, the provider's record, and the dated control."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator

import pytest
import time_machine

from pytest_cryptoaudit.lab.tls_pki import HOSTNAME
from pytest_cryptoaudit.pqprobe import (
    ProbeError,
    ask_group,
    client_hello,
    parse_server_hello,
    probe_key_exchange,
)
from tests.pq.conftest import PqLab
from tests.tls.auditrun import run_audit
from tests.tls.test_controls import FIXTURE_PROVIDER

TLS_CONFIG = """
[[systems]]
name = "web"
provider = "tls"
risk_tier = "high"
ssrm_owner = "CSC"
endpoints = ["{pq}", "{classical}"]
server_name = "{name}"
ca_file = "{ca}"
"""


def test_probe_sees_the_hybrid_group_of_an_openssl_3_5_server(pq_lab: PqLab) -> None:
    found = probe_key_exchange(pq_lab.pq.host, pq_lab.pq.port, HOSTNAME)
    assert found["negotiated_group"] == "X25519MLKEM768"
    assert "X25519MLKEM768" in found["pq_groups"]  # type: ignore[operator]


def test_probe_sees_a_classical_only_server(pq_lab: PqLab) -> None:
    found = probe_key_exchange(pq_lab.classical.host, pq_lab.classical.port, HOSTNAME)
    assert found["negotiated_group"] == "secp256r1"
    assert found["pq_groups"] == []
    refused = ask_group(pq_lab.classical.host, pq_lab.classical.port, ("X25519MLKEM768",))
    assert (refused.selected, refused.alert) == (None, 40)  # handshake_failure


def test_client_hello_offers_groups_without_key_shares() -> None:
    hello = client_hello("example.test", ("X25519MLKEM768", "x25519"))
    assert hello[:3] == b"\x16\x03\x01" and hello[5] == 0x01
    assert bytes.fromhex("000a0006000411ec001d") in hello  # supported_groups
    assert bytes.fromhex("003300020000") in hello  # key_share: empty client_shares
    assert b"example.test" in hello
    assert b"127.0.0.1" not in client_hello("127.0.0.1", ("x25519",))  # no SNI for an IP


def test_a_tls_1_2_server_hello_names_no_group() -> None:
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\xc0\x2f\x00" + b"\x00\x00"
    message = b"\x02" + len(body).to_bytes(3, "big") + body
    assert parse_server_hello(message).selected is None


@pytest.fixture
def silent() -> Iterator[tuple[str, int]]:
    """A listener that accepts and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    yield listener.getsockname()[:2]
    for sock in accepted:
        sock.close()
    listener.close()


def test_a_silent_endpoint_is_a_probe_error(silent: tuple[str, int]) -> None:
    with pytest.raises(ProbeError, match="timed out"):
        ask_group(*silent, ("x25519",), timeout=0.5)


def test_the_tls_provider_records_the_negotiated_group(pq_lab: PqLab, tmp_path) -> None:
    config = TLS_CONFIG.format(pq=pq_lab.pq.endpoint, classical=pq_lab.classical.endpoint,
                               name=HOSTNAME, ca=pq_lab.pki.ca_file)
    run = run_audit(tmp_path, config, "--cryptoaudit-control", "CEK-04")
    pq_uid, classical_uid = f"tls:{pq_lab.pq.endpoint}", f"tls:{pq_lab.classical.endpoint}"
    recorded = run.endpoint(pq_uid)["attributes"]["pq_key_exchange"]
    assert recorded["negotiated_group"] == "X25519MLKEM768"
    pq_result = run.result(pq_uid, "pq-key-exchange")
    assert pq_result["outcome"] == "passed"
    assert "negotiates X25519MLKEM768 (hybrid)" in pq_result["notes"][0]
    classical = run.result(classical_uid, "pq-key-exchange")
    assert classical["outcome"] == "passed"  # before 2036: a note, not a finding
    assert classical["notes"][0].startswith("classical-only key exchange (secp256r1)")
    assert "disallowed from 2036-01-01" in classical["notes"][0]


RECORDED = [
    {"address": "hybrid.test:443", "attributes": {"pq_key_exchange": {
        "negotiated_group": "X25519MLKEM768", "pq_groups": ["X25519MLKEM768"]}}},
    {"address": "classical.test:443", "attributes": {"pq_key_exchange": {
        "negotiated_group": "x25519", "pq_groups": []}}},
    {"address": "tls12.test:443", "attributes": {"pq_key_exchange": {
        "negotiated_group": None, "pq_groups": []}}},
    {"address": "unread.test:443", "unreadable": {
        "pq_key_exchange": "post-quantum group probe failed: connection reset"}},
]
RECORDED_CONFIG = """
[[systems]]
name = "web"
provider = "recorded-tls"
risk_tier = "{tier}"
ssrm_owner = "CSC"
file = "endpoints.json"

[policy]
pq_roadmap = "{roadmap}"
"""


def recorded_audit(pytester: pytest.Pytester, today: dt.date, roadmap: str,
                   tier: str = "high") -> dict[str, dict]:
    pytester.makeconftest(FIXTURE_PROVIDER)
    (pytester.path / "endpoints.json").write_text(json.dumps(RECORDED))
    (pytester.path / "cryptoaudit.toml").write_text(
        RECORDED_CONFIG.format(tier=tier, roadmap=roadmap))
    with time_machine.travel(dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC),
                             tick=False):
        pytester.runpytest("--cryptoaudit", "--cryptoaudit-control", "CEK-04",
                           "--cryptoaudit-json", "evidence.json", "--cryptoaudit-no-ledger")
    evidence = json.loads((pytester.path / "evidence.json").read_text())
    return {r["key_uid"].removeprefix("tls:"): r for r in evidence["results"]
            if r["check"] == "pq-key-exchange"}


@pytest.mark.parametrize(("roadmap", "today", "classical"), [
    ("bsi-tr-02102", dt.date(2031, 12, 31), "passed"),
    ("bsi-tr-02102", dt.date(2032, 1, 1), "failed"),
    ("eu-roadmap", dt.date(2031, 1, 1), "failed"),
    ("nist-ir-8547", dt.date(2035, 12, 31), "passed"),
])
def test_classical_key_exchange_fails_on_the_roadmaps_date(
        pytester: pytest.Pytester, roadmap: str, today: dt.date, classical: str) -> None:
    results = recorded_audit(pytester, today, roadmap)
    assert results["hybrid.test:443"]["outcome"] == "passed"
    assert results["classical.test:443"]["outcome"] == classical
    assert results["tls12.test:443"]["outcome"] == classical
    unread = results["unread.test:443"]
    assert unread["outcome"] == "error"
    assert "connection reset" in unread["message"]
    if classical == "failed":
        assert "classical-only key exchange (x25519)" in (
            results["classical.test:443"]["message"])


def test_the_lab_plants_a_pq_and_a_classical_endpoint(tmp_path) -> None:
    from pytest_cryptoaudit.lab.processes import stop_pid
    from pytest_cryptoaudit.lab.tls_server import start_lab_estate

    pids: list[int] = []
    try:
        systems = {s["name"]: s for s in start_lab_estate(tmp_path / "tls", pids.append)}
        groups = {}
        for name in ("web-pq", "web-modern"):
            host, port = systems[name]["endpoints"][0].rsplit(":", 1)
            groups[name] = probe_key_exchange(host, int(port), HOSTNAME)["negotiated_group"]
    finally:
        for pid in pids:
            stop_pid(pid)
    assert groups == {"web-pq": "X25519MLKEM768", "web-modern": "secp256r1"}


def test_the_pq_lab_server_waits_for_a_slow_client(pq_lab: PqLab) -> None:
    """pyOpenSSL sees a socket with a timeout as non-blocking; a ClientHello that arrives
    after the accept must still be answered, not met with a closed connection."""
    from pytest_cryptoaudit import pqprobe

    with socket.create_connection((pq_lab.pq.host, pq_lab.pq.port), timeout=5) as sock:
        threading.Event().wait(0.5)
        sock.sendall(client_hello(HOSTNAME, ("X25519MLKEM768",)))
        _kind, payload = pqprobe._first_handshake_or_alert(sock)
    assert parse_server_hello(payload).selected == "X25519MLKEM768"
