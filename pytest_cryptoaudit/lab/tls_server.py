"""Local TLS servers on loopback: a legacy one full of planted weaknesses and a modern one.

Both serve a leaf issued by one small lab CA made with ``cryptography`` (a bare self-signed
leaf fails path validation), so a scan that trusts ``ca.pem`` can tell a chain that does
not validate for a real reason from one that was never anchored. Each server runs in its
own process (``python -m pytest_cryptoaudit.lab.tls_server``) and stops on SIGTERM.

``legacy``: TLS 1.0-1.2 only; every suite OpenSSL 3 still has (NULL, anonymous, CBC-SHA1,
static RSA) at ``@SECLEVEL=0``; finite-field DHE over the 1024-bit RFC 2409 group 2; an
RSA-1024 leaf valid 1,000 days and expiring in 20, mixing signing and encipherment, issued
by a second CA that ``ca.pem`` does not hold (so its chain does not validate). OpenSSL 3
has no 3DES, RC4 or export suites left to plant, and ``cryptography`` refuses to sign
with SHA-1.
``modern``: TLS 1.2/1.3, ECDHE with AEAD suites only, one P-256 group; an EC P-256 leaf
signed with SHA-256, valid 90 days, for signing only.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import ipaddress
import signal
import socket
import socketserver
import ssl
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dh, ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .processes import (
    LOOPBACK,
    ServiceError,
    ensure_running,
    free_port,
    start_process,
    stop_pid,
    wait_until,
)

PROFILES = ("legacy", "modern")
HOSTNAME = "localhost"

#: RFC 2409 (Oakley) group 2: the public 1024-bit MODP prime, generator 2.
RFC2409_GROUP2_PRIME = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
    "514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6"
    "F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381"
    "FFFFFFFFFFFFFFFF", 16)


@dataclasses.dataclass(frozen=True)
class LeafSpec:
    """How one profile's leaf certificate is made (the planted weaknesses live here)."""

    key_factory: str
    days_valid: int
    days_past: int
    key_usage: tuple[str, ...]
    trusted_issuer: bool


LEAVES = {
    "legacy": LeafSpec("rsa-1024", 1000, 980, ("digital_signature", "key_encipherment"),
                       trusted_issuer=False),
    "modern": LeafSpec("ec-p256", 90, 1, ("digital_signature",), trusted_issuer=True),
}


@dataclasses.dataclass(frozen=True)
class LabPki:
    """Files of the lab PKI: the CA to trust, and one chain and key per profile."""

    folder: Path

    @property
    def ca_file(self) -> Path:
        """The lab CA: the trust store a scan of the lab servers is given."""
        return self.folder / "ca.pem"

    @property
    def untrusted_ca_file(self) -> Path:
        """The second CA, which issued the legacy leaf and which ``ca.pem`` does not hold."""
        return self.folder / "untrusted-ca.pem"

    def chain_file(self, profile: str) -> Path:
        return self.folder / f"{profile}-chain.pem"

    def key_file(self, profile: str) -> Path:
        return self.folder / f"{profile}-key.pem"

    @property
    def dh_params_file(self) -> Path:
        return self.folder / "dh1024.pem"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])




def _new_key(kind: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if kind == "rsa-1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return ec.generate_private_key(ec.SECP256R1())


def _key_usage(flags: Sequence[str]) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: n in flags for n in names})


def _builder(subject: x509.Name, issuer: x509.Name, public_key: object, days: int,
             days_past: int = 1) -> x509.CertificateBuilder:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_past)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
    )


def _issue_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    cert = (
        _builder(name, name, key.public_key(), 3650)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(("key_cert_sign", "crl_sign")), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _issue_leaf(spec: LeafSpec, ca_key: ec.EllipticCurvePrivateKey,
                ca: x509.Certificate) -> tuple[object, x509.Certificate]:
    key = _new_key(spec.key_factory)
    names = [x509.DNSName(HOSTNAME), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
    cert = (
        _builder(_name(HOSTNAME), ca.subject, key.public_key(), spec.days_valid, spec.days_past)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(spec.key_usage), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_pki(folder: Path) -> LabPki:
    """Make the lab CA and one leaf per profile in ``folder`` (keys readable by owner only)."""
    folder.mkdir(parents=True, exist_ok=True)
    pki = LabPki(folder=folder)
    issuers = {True: _issue_ca("pytest-cryptoaudit lab CA"),
               False: _issue_ca("pytest-cryptoaudit untrusted CA")}
    pki.ca_file.write_bytes(_pem(issuers[True][1]))
    pki.untrusted_ca_file.write_bytes(_pem(issuers[False][1]))
    for profile, spec in LEAVES.items():
        ca_key, ca = issuers[spec.trusted_issuer]
        key, leaf = _issue_leaf(spec, ca_key, ca)
        pki.chain_file(profile).write_bytes(_pem(leaf) + _pem(ca))
        key_file = pki.key_file(profile)
        key_file.touch(mode=0o600)
        key_file.write_bytes(key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    params = dh.DHParameterNumbers(RFC2409_GROUP2_PRIME, 2).parameters()
    pki.dh_params_file.write_bytes(params.parameter_bytes(
        serialization.Encoding.PEM, serialization.ParameterFormat.PKCS3))
    return pki


def server_context(profile: str, pki: LabPki) -> ssl.SSLContext:
    """The server-side TLS configuration of one profile."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if profile == "legacy":
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
    context.load_cert_chain(pki.chain_file(profile), pki.key_file(profile))
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


def _ready(process: object, profile: str, log: Path, port: int) -> bool:
    ensure_running(process, f"TLS {profile} server", log)  # type: ignore[arg-type]
    return accepts_connections(LOOPBACK, port)


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
