"""Local TLS servers on loopback: a legacy one full of planted weaknesses and a modern one.

Each server runs in its own process (``python -m pytest_cryptoaudit.lab.tls_server``),
serves a leaf of the lab PKI (see :mod:`.tls_pki`) and stops on SIGTERM.

``legacy``: TLS 1.0-1.2 only; every suite OpenSSL 3 still has (NULL, anonymous, CBC-SHA1,
static RSA) at ``@SECLEVEL=0``; finite-field DHE over the 1024-bit RFC 2409 group 2; an
RSA-1024 leaf signed with SHA-1, valid 1,000 days and expiring in 20, mixing signing and
encipherment, from a CA that ``ca.pem`` does not hold. (OpenSSL 3 has no 3DES, RC4 or
export suites left to plant.)
``modern``: TLS 1.2/1.3, ECDHE with AEAD suites only, one P-256 group; an EC P-256 leaf
signed with SHA-256 by the lab CA, valid 90 days, for signing only.
``default``: Python's default server context (OpenSSL's defaults: more groups and suites
than a Mozilla profile lists, nothing weaker) with the ``modern`` leaf, as a server
configured by nobody in particular is.
``pq``: OpenSSL 3.5+ defaults through pyOpenSSL (see :mod:`.tls_pq`): the hybrid
X25519MLKEM768 group first, with the ``modern`` leaf.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from .processes import (
    LOOPBACK,
    ServiceError,
    ensure_running,
    free_port,
    start_process,
    stop_pid,
    wait_until,
)
from .tls_pki import HOSTNAME, LEAVES, LabPki, write_pki

#: The leaf each profile serves.
LEAF_OF = {**{profile: profile for profile in LEAVES}, "default": "modern", "pq": "modern"}
PROFILES = tuple(LEAF_OF)

def server_context(profile: str, pki: LabPki) -> ssl.SSLContext:
    """The server-side TLS configuration of one profile."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if profile == "default":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    elif profile == "legacy":
        # OpenSSL 3 offers TLS 1.0/1.1 and NULL/anonymous suites only at security level 0.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # deprecated: the point here
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("ALL:eNULL:@SECLEVEL=0")
        context.load_dh_params(str(pki.dh_params_file))
    elif profile == "modern":
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")
        context.set_ecdh_curve("prime256v1")
    else:
        raise ValueError(f"unknown TLS lab profile {profile!r} (expected one of {PROFILES})")
    context.load_cert_chain(pki.chain_file(LEAF_OF[profile]), pki.key_file(LEAF_OF[profile]))
    return context


class _Handler(socketserver.BaseRequestHandler):
    """Handshake, answer one request line with a tiny HTTP response, close."""

    def handle(self) -> None:
        context: ssl.SSLContext = self.server.tls_context  # type: ignore[attr-defined]
        self.request.settimeout(5)
        try:
            with context.wrap_socket(self.request, server_side=True) as tls:
                if tls.recv(1024):
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                                b"Connection: close\r\n\r\nok\n")
        except (OSError, ssl.SSLError):
            return  # scanners abort handshakes on purpose; nothing to report


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def serve(profile: str, pki: LabPki, port: int, host: str = LOOPBACK) -> None:
    """Serve ``profile`` on ``host:port`` until SIGTERM or SIGINT."""
    if profile == "pq":
        from .tls_pq import PqHandler, pq_context

        server = _Server((host, port), PqHandler)
        server.tls_context = pq_context(pki, LEAF_OF[profile])  # type: ignore[attr-defined]
    else:
        server = _Server((host, port), _Handler)
        server.tls_context = server_context(profile, pki)  # type: ignore[attr-defined]

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


@dataclasses.dataclass
class TlsServer:
    """A running lab server process; ``stop()`` ends it and frees its port."""

    profile: str
    port: int
    pid: int
    ca_file: Path
    host: str = LOOPBACK

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        stop_pid(self.pid)


def accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def start_tls_server(profile: str, pki: LabPki, port: int | None = None,
                     timeout: float = 15.0) -> TlsServer:
    """Start a lab server of ``profile`` on a free loopback port and wait until it listens."""
    if profile not in PROFILES:
        raise ValueError(f"unknown TLS lab profile {profile!r} (expected one of {PROFILES})")
    port = port or free_port()
    log = pki.folder / f"{profile}-{port}.log"
    process = start_process(
        [sys.executable, "-m", "pytest_cryptoaudit.lab.tls_server", profile,
         "--folder", str(pki.folder), "--port", str(port)], log)
    server = TlsServer(profile=profile, port=port, pid=process.pid, ca_file=pki.ca_file)
    try:
        wait_until(lambda: _ready(process, profile, log, port), f"TLS {profile} server",
                   timeout)
    except ServiceError:
        server.stop()
        raise
    return server


def _ready(process: subprocess.Popen[bytes], profile: str, log: Path, port: int) -> bool:
    ensure_running(process, f"TLS {profile} server", log)
    return accepts_connections(LOOPBACK, port)


#: The systems ``cryptoaudit lab`` makes of the servers: the legacy one at tier high, the
#: modern one at the strictest tier (where it passes every control), and, where pyOpenSSL
#: is installed, a post-quantum one (hybrid X25519MLKEM768 key exchange) at tier high.
LAB_SYSTEMS = {"legacy": ("web-legacy", "high"), "modern": ("web-modern", "critical"),
               "pq": ("web-pq", "high")}


def lab_profiles() -> list[str]:
    """The profiles ``cryptoaudit lab`` starts: ``pq`` only where pyOpenSSL can serve it."""
    return [p for p in LAB_SYSTEMS if p != "pq" or importlib.util.find_spec("OpenSSL")]


def start_lab_estate(folder: Path, record_pid: Callable[[int], None]) -> list[dict[str, Any]]:
    """Start both servers for ``cryptoaudit lab``, recording each pid as soon as it runs,
    and return their ``[[systems]]`` entries."""
    pki = write_pki(folder)
    systems = []
    for profile in lab_profiles():
        name, tier = LAB_SYSTEMS[profile]
        server = start_tls_server(profile, pki)
        record_pid(server.pid)
        systems.append({"name": name, "provider": "tls", "risk_tier": tier, "ssrm_owner": "CSC",
                        "accountable_owner": "web-platform", "endpoints": [server.endpoint],
                        "server_name": HOSTNAME,
                        "ca_file": str(pki.ca_file)})
    return systems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a lab TLS profile on loopback.")
    parser.add_argument("profile", choices=PROFILES)
    parser.add_argument("--folder", type=Path, required=True,
                        help="folder of the lab PKI (made with write_pki if ca.pem is missing)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    folder: Path = args.folder
    pki = LabPki(folder) if (folder / "ca.pem").is_file() else write_pki(folder)
    serve(args.profile, pki, args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
