"""An SSH server's host keys, one per host key algorithm, for the key inventory.

The host key is sent only inside the key exchange (RFC 4253 8, RFC 5656 4, RFC 8731): the
server signs the exchange hash with it in SSH_MSG_KEX_ECDH_REPLY. So for each host key
algorithm the probe runs the first half of an ECDH key exchange (curve25519-sha256, or
ecdh-sha2-nistp256/384/521 where the server has no X25519) with a fresh ephemeral key,
reads the reply's public host key and hangs up before SSH_MSG_NEWKEYS: no session keys are
derived, nothing is authenticated, and only the server's *public* key is kept. The
signature is not verified: the inventory records what the server presents, as a TLS scan
records the certificate a server presents.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from .sshkex import (
    CLIENT_BANNER,
    SSH_MSG_KEXINIT,
    ServerKexInit,
    SshProbeError,
    parse_kexinit,
    read_banner,
    read_packet,
)

SSH_MSG_KEX_ECDH_INIT, SSH_MSG_KEX_ECDH_REPLY = 30, 31
#: Key exchanges this probe can start, most preferred first.
PROBE_KEX = {"curve25519-sha256": None, "curve25519-sha256@libssh.org": None,
             "ecdh-sha2-nistp256": ec.SECP256R1(), "ecdh-sha2-nistp384": ec.SECP384R1(),
             "ecdh-sha2-nistp521": ec.SECP521R1()}
#: Host key algorithms that name the same key; the first one the server offers is asked.
SAME_KEY = (("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"),)


def host_key_algorithms_to_ask(offered: tuple[str, ...]) -> list[str]:
    """One algorithm per distinct host key: certificates and security keys are left out
    (their keys are the plain ones, or they live on a token), RSA is asked once."""
    plain = [a for a in offered if "-cert-" not in a and not a.startswith("sk-")]
    asked: list[str] = []
    for algorithm in plain:
        group = next((g for g in SAME_KEY if algorithm in g), (algorithm,))
        if not any(a in group for a in asked):
            asked.append(algorithm)
    return asked


def _string(data: bytes) -> bytes:
    return struct.pack("!I", len(data)) + data


def _name_list(names: tuple[str, ...] | list[str]) -> bytes:
    return _string(",".join(names).encode("ascii"))


def _packet(payload: bytes) -> bytes:
    """An unencrypted binary packet: block size 8, at least 4 bytes of random padding."""
    padding = 8 - (len(payload) + 5) % 8
    padding += 8 if padding < 4 else 0
    return struct.pack("!IB", len(payload) + padding + 1, padding) + payload + os.urandom(
        padding)


def client_kexinit(server: ServerKexInit, kex: str, host_key_algorithm: str) -> bytes:
    """Our KEXINIT: one kex and one host key algorithm, the server's own cipher and MAC
    lists (so that negotiation succeeds; they are never used)."""
    lists = server.lists
    payload = (bytes([SSH_MSG_KEXINIT]) + os.urandom(16) + _name_list([kex])
               + _name_list([host_key_algorithm])
               + _name_list(lists["ciphers_client_to_server"])
               + _name_list(lists["ciphers_server_to_client"])
               + _name_list(lists["macs_client_to_server"])
               + _name_list(lists["macs_server_to_client"])
               + _name_list(["none"]) + _name_list(["none"]) + _name_list([])
               + _name_list([]) + b"\x00" + b"\x00\x00\x00\x00")
    return _packet(payload)


def _ephemeral(kex: str) -> bytes:
    """A fresh ephemeral public key for ``kex`` (its private half is dropped unused)."""
    curve = PROBE_KEX[kex]
    if curve is None:
        return x25519.X25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return ec.generate_private_key(curve).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def _read_string(data: bytes, offset: int) -> tuple[bytes, int]:
    if offset + 4 > len(data):
        raise SshProbeError("KEX_ECDH_REPLY truncated")
    (length,) = struct.unpack_from("!I", data, offset)
    end = offset + 4 + length
    if end > len(data):
        raise SshProbeError("KEX_ECDH_REPLY truncated")
    return data[offset + 4:end], end


def host_key_blob(reply: bytes) -> bytes:
    """K_S, the server's public host key blob, from an SSH_MSG_KEX_ECDH_REPLY payload."""
    if not reply or reply[0] != SSH_MSG_KEX_ECDH_REPLY:
        raise SshProbeError(f"expected SSH_MSG_KEX_ECDH_REPLY (31), got message "
                            f"{reply[0] if reply else None}")
    blob, _ = _read_string(reply, 1)
    return blob


def describe_host_key(blob: bytes) -> dict[str, Any]:
    """Inventory fields of a host key blob: algorithm, size, curve, SHA256 fingerprint."""
    from .providers.file_paths import ParseError
    from .providers.openssh import ssh_public

    key_type, _ = _read_string(blob, 0)
    try:
        fields = ssh_public(key_type, base64.b64encode(blob))
    except ParseError as exc:
        raise SshProbeError(f"host key of type {key_type.decode(errors='replace')}: "
                            f"{exc}") from None
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    fields["attributes"] = {**fields["attributes"], "key_type": key_type.decode(),
                            "ssh_fingerprint": f"SHA256:{digest}"}
    return fields


def read_host_key(host: str, port: int, host_key_algorithm: str,
                  timeout: float = 5.0) -> dict[str, Any]:
    """The inventory fields of the host key the server holds for ``host_key_algorithm``."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            return _exchange(sock, host_key_algorithm)
    except TimeoutError:
        raise SshProbeError(f"no SSH answer within {timeout:g} s (timeout)") from None
    except OSError as exc:
        raise SshProbeError(f"cannot connect: {exc.strerror or exc}") from None


def _exchange(sock: socket.socket, host_key_algorithm: str) -> dict[str, Any]:
    sock.sendall(CLIENT_BANNER)
    server = parse_kexinit(_next_message(sock, SSH_MSG_KEXINIT, read_banner(sock)))
    kex = next((k for k in PROBE_KEX if k in server.kex_algorithms), None)
    if kex is None:
        raise SshProbeError("the server offers no ECDH key exchange this probe can start "
                            f"({', '.join(server.kex_algorithms)})")
    sock.sendall(client_kexinit(server, kex, host_key_algorithm)
                 + _packet(bytes([SSH_MSG_KEX_ECDH_INIT]) + _string(_ephemeral(kex))))
    return describe_host_key(host_key_blob(_next_message(sock, SSH_MSG_KEX_ECDH_REPLY)))


def _next_message(sock: socket.socket, wanted: int, banner: str = "") -> bytes:
    """The next packet's payload, skipping IGNORE and DEBUG; a DISCONNECT says why."""
    for _ in range(8):
        payload = read_packet(sock)
        if payload[:1] == bytes([wanted]):
            return payload
        if payload[:1] == b"\x01":  # SSH_MSG_DISCONNECT: reason code, then a description
            text, _ = _read_string(payload, 5) if len(payload) > 9 else (b"", 0)
            raise SshProbeError(f"server disconnected: {text.decode(errors='replace')}")
        if payload[:1] not in (b"\x02", b"\x04"):
            raise SshProbeError(f"expected SSH message {wanted}, got {payload[:1].hex()}")
    raise SshProbeError(f"no SSH message {wanted} after 8 IGNORE/DEBUG messages")
