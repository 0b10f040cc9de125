"""SSH endpoints: the KEXINIT read against Debian's sshd (OpenSSH 9.2 offers the hybrid
sntrup761x25519-sha512) and a classical-only one, an OpenSSH 10.0 server's first flight
replayed from bytes for mlkem768x25519-sha256 (which 9.2 does not have), malformed answers,
and the ``ssh`` provider's records and dated CEK-04 verdicts through a real audit."""

from __future__ import annotations

import base64
import csv
import hashlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_cryptoaudit.model import RiskTier
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS, Policy
from pytest_cryptoaudit.pqverdict import PqStatus, verdict_for_group
from pytest_cryptoaudit.sshkex import (
    CLIENT_BANNER,
    SshProbeError,
    parse_kexinit,
    read_server_kexinit,
)
from tests.pq.conftest import SshLab
from tests.tls.auditrun import run_audit

#: The banner and KEXINIT packet of an OpenSSH 10.0 sshd with its default configuration and
#: RSA, ECDSA and Ed25519 host keys, built byte for byte from its sshd_config(5) defaults
#: (Debian 12's OpenSSH 9.2 cannot send mlkem768x25519-sha256, so it cannot be recorded
#: from the test's own sshd).
OPENSSH_10 = (Path(__file__).parent / "data/openssh-10.0-server-kexinit.bin").read_bytes()

Replay = Callable[[bytes], str]


@pytest.fixture
def replay() -> Iterator[Replay]:
    """Loopback listeners that send fixed bytes to every client, end their side, then wait
    for it to hang up; ``replay(data)`` returns the ``host:port`` of one."""
    listeners: list[socket.socket] = []

    def serve(listener: socket.socket, data: bytes) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.sendall(data)
                    conn.shutdown(socket.SHUT_WR)  # the flight ends here: EOF, not silence
                    conn.settimeout(5)
                    while conn.recv(4096):
                        pass
                except OSError:  # the client hung up first
                    pass

    def start(data: bytes) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)
        threading.Thread(target=serve, args=(listener, data), daemon=True).start()
        return f"127.0.0.1:{listener.getsockname()[1]}"

    yield start
    for listener in listeners:
        listener.close()


def _read(endpoint: str, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    host, port = endpoint.rsplit(":", 1)
    return read_server_kexinit(host, int(port), timeout)


def test_debian_sshd_offers_the_sntrup761_hybrid(ssh_lab: SshLab) -> None:
    found = read_server_kexinit(ssh_lab.pq.host, ssh_lab.pq.port)
    assert found.banner.startswith("SSH-2.0-OpenSSH_")
    assert found.software.startswith("OpenSSH_")
    assert found.kex_algorithms[0] == "sntrup761x25519-sha512"
    assert "kex-strict-s-v00@openssh.com" not in found.kex_algorithms  # a signal, not a kex
    assert set(found.host_key_algorithms) == {"ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"}
    record = found.pq_key_exchange()
    assert record["negotiated_group"] == "sntrup761x25519-sha512"
    assert record["pq_groups"] == ["sntrup761x25519-sha512",
                                   "sntrup761x25519-sha512@openssh.com"]


def test_a_classical_sshd_negotiates_x25519(ssh_lab: SshLab) -> None:
    found = read_server_kexinit(ssh_lab.classical.host, ssh_lab.classical.port)
    assert found.kex_algorithms == ("curve25519-sha256", "curve25519-sha256@libssh.org",
                                    "ecdh-sha2-nistp256")
    assert found.host_key_algorithms == ("ecdsa-sha2-nistp256",)
    assert found.pq_key_exchange()["negotiated_group"] == "curve25519-sha256"
    assert found.pq_key_exchange()["pq_groups"] == []


def test_an_openssh_10_server_negotiates_ml_kem(replay: Replay) -> None:
    found = _read(replay(OPENSSH_10))
    assert found.software == "OpenSSH_10.0"
    record = found.pq_key_exchange()
    assert record["negotiated_group"] == "mlkem768x25519-sha256"
    assert record["pq_groups"][0] == "mlkem768x25519-sha256"
    assert "ext-info-s" not in found.kex_algorithms


def test_lines_before_the_banner_and_ignore_messages_are_skipped(replay: Replay) -> None:
    banner, packet = OPENSSH_10.split(b"\r\n", 1)
    ignore = struct.pack("!IB", 12, 6) + bytes([2]) + b"\x00\x00\x00\x00" + bytes(6)
    found = _read(replay(b"Welcome\r\n" + banner + b"\r\n" + ignore + packet))
    assert found.pq_key_exchange()["negotiated_group"] == "mlkem768x25519-sha256"


@pytest.mark.parametrize(("answer", "reason"), [
    (b"HTTP/1.1 400 Bad Request\r\n" * 40, "no SSH version line within 32 lines"),
    (b"SSH-1.5-old\r\n", "unsupported SSH version"),
    (b"x" * 300, "longer than 255 bytes"),
    (OPENSSH_10[:200], "connection closed after"),
    (b"SSH-2.0-x\r\n" + struct.pack("!I", 1 << 20), "packet length 1048576 is out of range"),
    (b"SSH-2.0-x\r\n" + struct.pack("!IB", 12, 2) + bytes([21]) + bytes(10),
     "expected SSH_MSG_KEXINIT"),
    (b"SSH-2.0-x\r\n" + struct.pack("!IB", 26, 2) + bytes([20]) + bytes(16)
     + struct.pack("!I", 16) + b"ab" + bytes(2), "KEXINIT truncated inside kex_algorithms"),
])
def test_a_malformed_answer_is_a_probe_error(replay: Replay, answer: bytes,
                                             reason: str) -> None:
    with pytest.raises(SshProbeError, match=reason):
        _read(replay(answer))


def test_a_silent_or_closed_endpoint_is_a_probe_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        with pytest.raises(SshProbeError, match="timeout"):
            _read(f"127.0.0.1:{listener.getsockname()[1]}", timeout=0.3)
    finally:
        listener.close()
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(SshProbeError, match="connection refused"):
        _read(f"127.0.0.1:{port}")


def test_the_kexinit_parser_reads_every_name_list() -> None:
    found = parse_kexinit(_payload(OPENSSH_10))
    assert found.lists["compression_server_to_client"] == ("none", "zlib@openssh.com")
    assert found.lists["languages_client_to_server"] == ()
    assert found.lists["macs_server_to_client"][0] == "umac-64-etm@openssh.com"
    assert CLIENT_BANNER.startswith(b"SSH-2.0-") and CLIENT_BANNER.endswith(b"\r\n")


def _payload(flight: bytes) -> bytes:
    packet = flight.split(b"\r\n", 1)[1]
    length, padding = struct.unpack_from("!IB", packet)
    return packet[5:4 + length - padding]


@pytest.mark.parametrize(("kex", "status", "category"), [
    ("mlkem768x25519-sha256", PqStatus.HYBRID, None),
    ("sntrup761x25519-sha512@openssh.com", PqStatus.HYBRID, None),
    ("mlkem1024nistp384-sha384", PqStatus.HYBRID, None),
    ("curve25519-sha256", PqStatus.VULNERABLE, "128+"),
    ("diffie-hellman-group14-sha1", PqStatus.VULNERABLE, "112"),
    ("diffie-hellman-group16-sha512", PqStatus.VULNERABLE, "128+"),
])
def test_ssh_key_exchange_verdicts(kex: str, status: PqStatus, category: str | None) -> None:
    verdict = verdict_for_group(kex, RiskTier.HIGH, Policy(BUILTIN_SETTINGS, {}))
    assert (verdict.status, verdict.category) == (status, category)


REGISTER = '''
from pytest_cryptoaudit.providers.ssh import SshProvider


def pytest_cryptoaudit_add_providers(registry):
    if "ssh" not in registry:  # an install older than the ssh entry point
        registry.register(SshProvider)
'''
SSH_CONFIG = """
[[systems]]
name = "bastions"
provider = "ssh"
risk_tier = "high"
ssrm_owner = "CSC"
endpoints = [{endpoints}]
timeout = 2.0
{policy}
"""


def _audit(tmp_path: Path, endpoints: list[str], policy: str = ""):  # type: ignore[no-untyped-def]
    (tmp_path / "conftest.py").write_text(REGISTER)
    config = SSH_CONFIG.format(endpoints=", ".join(f'"{e}"' for e in endpoints),
                               policy=policy)
    return run_audit(tmp_path, config, "--cryptoaudit-control", "CEK-04",
                     "--cryptoaudit-control", "CEK-21", "--cryptoaudit-pq", "pq.csv",
                     "--cryptoaudit-cbom", "cbom.json")


def test_the_ssh_provider_records_and_judges_each_endpoint(
        ssh_lab: SshLab, replay: Replay, tmp_path: Path) -> None:
    mlkem = replay(OPENSSH_10)
    closed = socket.create_server(("127.0.0.1", 0))
    gone = f"127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    run = _audit(tmp_path, [ssh_lab.pq.endpoint, ssh_lab.classical.endpoint, mlkem, gone])
    pq, classical = f"ssh:{ssh_lab.pq.endpoint}", f"ssh:{ssh_lab.classical.endpoint}"
    recorded = run.endpoint(classical)
    assert recorded["protocol"] == "ssh"
    assert recorded["attributes"]["host_key_algorithms"] == ["ecdsa-sha2-nistp256"]
    assert recorded["attributes"]["software"].startswith("OpenSSH_")
    assert "negotiates sntrup761x25519-sha512 (hybrid)" in (
        run.result(pq, "pq-key-exchange")["notes"][0])
    assert "negotiates mlkem768x25519-sha256 (hybrid)" in (
        run.result(f"ssh:{mlkem}", "pq-key-exchange")["notes"][0])
    note = run.result(classical, "pq-key-exchange")
    assert note["outcome"] == "passed"  # before 2036: a dated note, not a finding
    assert note["notes"][0].startswith("classical-only key exchange (curve25519-sha256)")
    assert "disallowed from 2036-01-01" in note["notes"][0]
    ed25519 = run.key(f"{pq}#ssh-ed25519")
    assert (ed25519["kind"], ed25519["algorithm"], ed25519["size"]) == (
        "public-key", "Ed25519", 256)
    assert ed25519["attributes"]["endpoint"] == pq
    assert run.key(f"{pq}#rsa-sha2-512")["size"] == 3072
    assert f"{pq}#rsa-sha2-256" not in {k["uid"] for k in run.evidence["inventory"]}
    readiness = run.result(f"{classical}#ecdsa-sha2-nistp256", "pq-readiness")
    assert readiness["outcome"] == "passed"
    assert readiness["notes"][0].startswith("EC is quantum-vulnerable (signing)")
    # A recorded flight has no key exchange behind it: each host key is a named error.
    replayed = {r["key_uid"]: r["message"] for r in run.evidence["results"]
                if r["check"] == "discovery-complete" and r["key_uid"].startswith(
                    f"ssh:{mlkem}#")}
    assert set(replayed) == {f"ssh:{mlkem}#{a}" for a in (
        "rsa-sha2-512", "ecdsa-sha2-nistp256", "ssh-ed25519")}
    inventory = list(csv.DictReader((tmp_path / "pq.csv").open()))
    host_keys = {row["uid"]: row for row in inventory if row["uid"].startswith(pq)}
    assert set(host_keys) == {f"{pq}#ssh-ed25519", f"{pq}#rsa-sha2-512"}
    assert host_keys[f"{pq}#ssh-ed25519"]["replacement"] == "ML-DSA-65"
    assert host_keys[f"{pq}#ssh-ed25519"]["disallowed"] == "2036-01-01"
    cbom = (tmp_path / "cbom.json").read_text()
    assert f"{pq}#ssh-ed25519" in cbom and '"nistQuantumSecurityLevel": 0' in cbom
    error = run.result(f"ssh:{gone}", "discovery-complete")
    assert error["outcome"] == "error"
    assert "connection refused" in error["message"]
    assert run.outcomes("bastions")[(f"ssh:{gone}", "discovery-complete")] == "error"


def test_classical_ssh_key_exchange_fails_once_its_date_has_passed(
        ssh_lab: SshLab, tmp_path: Path) -> None:
    policy = '[policy]\npq_pinned_dates = {deprecated = "2019-01-01", disallowed = "2020-01-01"}'
    run = _audit(tmp_path, [ssh_lab.pq.endpoint, ssh_lab.classical.endpoint], policy)
    assert run.result(f"ssh:{ssh_lab.pq.endpoint}", "pq-key-exchange")["outcome"] == "passed"
    failed = run.result(f"ssh:{ssh_lab.classical.endpoint}", "pq-key-exchange")
    assert failed["outcome"] == "failed"
    assert "classical-only key exchange (curve25519-sha256)" in failed["message"]
    assert "disallowed from 2020-01-01" in failed["message"]


def test_host_keys_match_the_servers_key_files(ssh_lab: SshLab) -> None:
    from cryptography.hazmat.primitives import serialization

    from pytest_cryptoaudit.sshhostkeys import read_host_key

    for server, algorithm, file in ((ssh_lab.pq, "ssh-ed25519", "host_ed25519"),
                                    (ssh_lab.pq, "rsa-sha2-256", "host_rsa"),
                                    (ssh_lab.classical, "ecdsa-sha2-nistp256", "host_ecdsa")):
        private = serialization.load_ssh_private_key((server.folder / file).read_bytes(), None)
        line = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                 serialization.PublicFormat.OpenSSH)
        digest = hashlib.sha256(base64.b64decode(line.split()[1])).digest()
        expected = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
        found = read_host_key(server.host, server.port, algorithm)
        assert found["attributes"]["ssh_fingerprint"] == expected, (server.profile, algorithm)


def test_one_host_key_algorithm_is_asked_per_key() -> None:
    from pytest_cryptoaudit.sshhostkeys import host_key_algorithms_to_ask

    offered = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-ed25519-cert-v01@openssh.com",
               "sk-ssh-ed25519@openssh.com", "ssh-ed25519", "ecdsa-sha2-nistp384")
    assert host_key_algorithms_to_ask(offered) == [
        "rsa-sha2-512", "ssh-ed25519", "ecdsa-sha2-nistp384"]


def test_a_reply_that_is_not_a_kex_reply_is_a_probe_error() -> None:
    from pytest_cryptoaudit.sshhostkeys import describe_host_key, host_key_blob

    with pytest.raises(SshProbeError, match="expected SSH_MSG_KEX_ECDH_REPLY"):
        host_key_blob(bytes([21]))
    with pytest.raises(SshProbeError, match="truncated"):
        host_key_blob(bytes([31]) + struct.pack("!I", 40) + b"ssh")
    with pytest.raises(SshProbeError, match="host key of type ssh-unknown"):
        describe_host_key(struct.pack("!I", 11) + b"ssh-unknown" + bytes(8))


def test_host_keys_can_be_left_out(ssh_lab: SshLab, tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(REGISTER)
    config = SSH_CONFIG.format(endpoints=f'"{ssh_lab.classical.endpoint}"',
                               policy="host_keys = false")
    run = run_audit(tmp_path, config, "--cryptoaudit-control", "CEK-04")
    assert run.evidence["inventory"] == []
    assert run.endpoint(f"ssh:{ssh_lab.classical.endpoint}")["protocol"] == "ssh"
