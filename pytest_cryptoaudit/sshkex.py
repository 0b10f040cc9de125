"""What an SSH server offers for key exchange and host keys, read from its KEXINIT.

No SSH library is needed for this and none is used: paramiko and asyncssh negotiate only
the algorithms they implement (neither has ``mlkem768x25519-sha256`` or every ``sntrup``
alias), while the server's list is all an auditor asks for. An SSH server sends its
version banner and then, in clear, its SSH_MSG_KEXINIT (RFC 4253 4.2, 7.1): the name-lists
of its key exchange, host key, cipher, MAC and compression algorithms. The probe reads
both and closes the connection, before any key exchange, so no key material is generated,
sent or read, and no authentication is tried.

What a client would negotiate follows from the lists (RFC 4253 7.1: the first algorithm
of the client's list that the server also offers), so the probe reports it for the offer
of a current OpenSSH client, post-quantum hybrids first.
"""

from __future__ import annotations

import dataclasses
import socket
import struct
from typing import Any

CLIENT_BANNER = b"SSH-2.0-pytest_cryptoaudit_probe\r\n"
SSH_MSG_IGNORE, SSH_MSG_DEBUG, SSH_MSG_KEXINIT = 2, 4, 20
#: RFC 4253 4.2: lines before the version line are allowed; 255 bytes each at most.
MAX_BANNER_LINES, MAX_LINE = 32, 255
#: RFC 4253 6.1: implementations must accept packets of at least 35000 bytes.
MAX_PACKET = 35000
NAME_LISTS = ("kex_algorithms", "host_key_algorithms", "ciphers_client_to_server",
              "ciphers_server_to_client", "macs_client_to_server", "macs_server_to_client",
              "compression_client_to_server", "compression_server_to_client",
              "languages_client_to_server", "languages_server_to_client")
#: Names in a server's kex list that are protocol signals, not key exchange methods
#: (RFC 8308 ext-info, the Terrapin strict-kex marker).
SIGNALS = ("ext-info-s", "ext-info-c", "kex-strict-s-v00@openssh.com",
           "kex-strict-c-v00@openssh.com")
#: Post-quantum and hybrid key exchange (OpenSSH 9.0 sntrup761, 9.9 ML-KEM;
#: draft-ietf-sshm-mlkem-hybrid-kex, draft-josefsson-ntruprime-ssh).
PQ_KEX = ("mlkem768x25519-sha256", "mlkem768nistp256-sha256", "mlkem1024nistp384-sha384",
          "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com")
#: The offer of a current OpenSSH client (ssh_config(5) KexAlgorithms of OpenSSH 10.0),
#: then the legacy methods, so that the negotiated method is named whatever the server has.
CLIENT_KEX_OFFER = (
    *PQ_KEX, "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1",
    "diffie-hellman-group-exchange-sha1", "diffie-hellman-group1-sha1")


class SshProbeError(Exception):
    """The endpoint could not be read as an SSH server (connection, timeout, malformed)."""


@dataclasses.dataclass(frozen=True)
class ServerKexInit:
    """The server's version banner and the algorithm lists of its KEXINIT."""

    banner: str
    lists: dict[str, tuple[str, ...]]

    @property
    def kex_algorithms(self) -> tuple[str, ...]:
        """The key exchange methods, without the protocol signals."""
        return tuple(a for a in self.lists["kex_algorithms"] if a not in SIGNALS)

    @property
    def host_key_algorithms(self) -> tuple[str, ...]:
        return self.lists["host_key_algorithms"]

    @property
    def software(self) -> str:
        """What follows ``SSH-2.0-`` in the banner (``OpenSSH_9.2p1 Debian-2+deb12u6``)."""
        return self.banner.split("-", 2)[2] if self.banner.count("-") >= 2 else ""

    def negotiated_kex(self, offer: tuple[str, ...] = CLIENT_KEX_OFFER) -> str | None:
        """RFC 4253 7.1: the first method of the client's ``offer`` the server supports."""
        return next((a for a in offer if a in self.kex_algorithms), None)

    def pq_key_exchange(self) -> dict[str, Any]:
        """The record the ``pq-key-exchange`` check reads (the TLS provider's shape)."""
        return {"negotiated_group": self.negotiated_kex(),
                "pq_groups": [a for a in self.kex_algorithms if a in PQ_KEX],
                "offered": list(CLIENT_KEX_OFFER)}


def read_banner(sock: socket.socket) -> str:
    """The server's ``SSH-2.0-...`` line; lines before it are skipped (RFC 4253 4.2)."""
    for _ in range(MAX_BANNER_LINES):
        line = _read_line(sock)
        if line.startswith(("SSH-2.0-", "SSH-1.99-")):
            return line
        if line.startswith("SSH-"):
            raise SshProbeError(f"server speaks an unsupported SSH version: {line[:40]!r}")
    raise SshProbeError(f"no SSH version line within {MAX_BANNER_LINES} lines")


def _read_line(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\n"):
        if len(data) > MAX_LINE:
            raise SshProbeError("banner line longer than 255 bytes: not an SSH server")
        chunk = sock.recv(1)
        if not chunk:
            raise SshProbeError(f"connection closed after {len(data)} bytes of the banner")
        data += chunk
    return data.rstrip(b"\r\n").decode("utf-8", errors="replace")


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise SshProbeError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def read_packet(sock: socket.socket) -> bytes:
    """The payload of one unencrypted binary packet (RFC 4253 6)."""
    (length,) = struct.unpack("!I", _read_exactly(sock, 4))
    if not 5 <= length <= MAX_PACKET:
        raise SshProbeError(f"packet length {length} is out of range")
    body = _read_exactly(sock, length)
    padding = body[0]
    if padding + 1 > length:
        raise SshProbeError(f"padding of {padding} bytes in a packet of {length}")
    return body[1:length - padding]


def parse_kexinit(payload: bytes, banner: str = "") -> ServerKexInit:
    """The name-lists of an SSH_MSG_KEXINIT payload."""
    if not payload or payload[0] != SSH_MSG_KEXINIT:
        kind = payload[0] if payload else None
        raise SshProbeError(f"expected SSH_MSG_KEXINIT (20), got message {kind}")
    offset, lists = 1 + 16, {}  # message number, cookie
    for name in NAME_LISTS:
        if offset + 4 > len(payload):
            raise SshProbeError(f"KEXINIT truncated before {name}")
        (length,) = struct.unpack_from("!I", payload, offset)
        raw = payload[offset + 4:offset + 4 + length]
        if len(raw) != length:
            raise SshProbeError(f"KEXINIT truncated inside {name}")
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise SshProbeError(f"KEXINIT {name} is not an ASCII name-list") from None
        lists[name] = tuple(text.split(",")) if text else ()
        offset += 4 + length
    return ServerKexInit(banner, lists)


def read_server_kexinit(host: str, port: int, timeout: float = 5.0) -> ServerKexInit:
    """Connect, exchange banners, read the server's KEXINIT and hang up."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(CLIENT_BANNER)
            banner = read_banner(sock)
            for _ in range(8):  # RFC 4253 11: IGNORE and DEBUG may come first
                payload = read_packet(sock)
                if payload[:1] not in (bytes([SSH_MSG_IGNORE]), bytes([SSH_MSG_DEBUG])):
                    return parse_kexinit(payload, banner)
    except TimeoutError:
        raise SshProbeError(f"no SSH answer within {timeout:g} s (timeout)") from None
    except ConnectionRefusedError:
        raise SshProbeError("connection refused") from None
    except socket.gaierror as exc:
        raise SshProbeError(f"cannot resolve {host}: {exc.strerror}") from None
    except OSError as exc:
        raise SshProbeError(f"cannot connect: {exc.strerror or exc}") from None
    raise SshProbeError("no KEXINIT after 8 IGNORE/DEBUG messages")
