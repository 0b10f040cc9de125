"""Which TLS 1.3 key-exchange group an endpoint picks, post-quantum groups included.

sslyze cannot see ML-KEM groups (sslyze issue 700), the standard library's OpenSSL may be
older than 3.5, and pyOpenSSL before 26 has no call to choose or report groups. So the
probe writes its own TLS 1.3 ClientHello: it lists groups in ``supported_groups`` and sends
*no* key share. A server that supports one of them must answer with a HelloRetryRequest
naming the group it selected (RFC 8446 4.1.4); one that supports none answers with an alert.
The handshake goes no further, so no key material is generated or sent.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import struct

#: IANA TLS Supported Groups codepoints (draft-ietf-tls-ecdhe-mlkem, draft-ietf-tls-mlkem).
GROUPS = {
    "X25519MLKEM768": 0x11EC, "SecP256r1MLKEM768": 0x11EB, "SecP384r1MLKEM1024": 0x11ED,
    "MLKEM512": 0x0200, "MLKEM768": 0x0201, "MLKEM1024": 0x0202,
    "X25519Kyber768Draft00": 0x6399,
    "x25519": 0x001D, "x448": 0x001E, "secp256r1": 0x0017, "secp384r1": 0x0018,
    "secp521r1": 0x0019, "ffdhe2048": 0x0100, "ffdhe3072": 0x0101, "ffdhe4096": 0x0102,
}
NAMES = {code: name for name, code in GROUPS.items()}
PQ_GROUPS = ("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "MLKEM512",
             "MLKEM768", "MLKEM1024", "X25519Kyber768Draft00")
CLASSICAL_GROUPS = ("x25519", "secp256r1", "secp384r1", "x448", "secp521r1", "ffdhe2048",
                    "ffdhe3072", "ffdhe4096")
#: A browser-like offer: post-quantum hybrids first, then the classical groups.
BROWSER_OFFER = PQ_GROUPS + CLASSICAL_GROUPS
HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
SUITES = (0x1301, 0x1302, 0x1303)
SIGNATURES = (0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601,
              0x0807, 0x0808)
KEY_SHARE, SUPPORTED_VERSIONS = 0x0033, 0x002B
MAX_RECORD = 1 << 14


class ProbeError(Exception):
    """The endpoint could not be probed (connection, timeout or a malformed answer)."""


@dataclasses.dataclass(frozen=True)
class GroupAnswer:
    """The group the server selected from an offer, or the alert it sent instead."""

    selected: str | None
    alert: int | None = None


def _vector(data: bytes, width: int) -> bytes:
    return len(data).to_bytes(width, "big") + data


def _extension(kind: int, data: bytes) -> bytes:
    return struct.pack("!H", kind) + _vector(data, 2)


def _codes(values: tuple[int, ...] | list[int]) -> bytes:
    return b"".join(struct.pack("!H", v) for v in values)


def client_hello(server_name: str | None, groups: tuple[str, ...]) -> bytes:
    """A TLS 1.3 ClientHello record offering ``groups`` with an empty key share list."""
    extensions = [
        _extension(SUPPORTED_VERSIONS, _vector(struct.pack("!H", 0x0304), 1)),
        _extension(0x000A, _vector(_codes([GROUPS[g] for g in groups]), 2)),
        _extension(KEY_SHARE, _vector(b"", 2)),
        _extension(0x000D, _vector(_codes(SIGNATURES), 2)),
        _extension(0x002D, _vector(b"\x01", 1)),  # psk_dhe_ke, expected by some stacks
    ]
    if server_name and not _is_address(server_name):
        name = b"\x00" + _vector(server_name.encode("idna"), 2)
        extensions.insert(0, _extension(0x0000, _vector(name, 2)))
    body = (b"\x03\x03" + os.urandom(32) + _vector(os.urandom(32), 1)
            + _vector(_codes(SUITES), 2) + b"\x01\x00" + _vector(b"".join(extensions), 2))
    handshake = b"\x01" + _vector(body, 3)
    return b"\x16\x03\x01" + _vector(handshake, 2)


def _is_address(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ProbeError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def _first_handshake_or_alert(sock: socket.socket) -> tuple[int, bytes]:
    """The content type and payload of the first handshake message or alert."""
    buffer = b""
    while True:
        kind, _version, length = struct.unpack("!BHH", _read_exactly(sock, 5))
        if length > MAX_RECORD + 256:
            raise ProbeError(f"record of {length} bytes is too long")
        payload = _read_exactly(sock, length)
        if kind == 0x15:
            return kind, payload
        if kind != 0x16:
            raise ProbeError(f"unexpected record type {kind} before the ServerHello")
        buffer += payload
        if len(buffer) >= 4 and len(buffer) >= 4 + int.from_bytes(buffer[1:4], "big"):
            return kind, buffer[: 4 + int.from_bytes(buffer[1:4], "big")]


def _extensions(data: bytes) -> dict[int, bytes]:
    found, offset = {}, 0
    while offset + 4 <= len(data):
        kind, length = struct.unpack_from("!HH", data, offset)
        found[kind] = data[offset + 4: offset + 4 + length]
        offset += 4 + length
    return found


def parse_server_hello(message: bytes) -> GroupAnswer:
    """The group named by a ServerHello or HelloRetryRequest handshake message."""
    if message[0] != 0x02:
        raise ProbeError(f"expected a ServerHello, got handshake type {message[0]}")
    body = message[4:]
    offset = 2 + 32
    offset += 1 + body[offset]  # legacy_session_id_echo
    offset += 2 + 1  # cipher_suite, legacy_compression_method
    (length,) = struct.unpack_from("!H", body, offset)
    extensions = _extensions(body[offset + 2: offset + 2 + length])
    if extensions.get(SUPPORTED_VERSIONS) != b"\x03\x04":
        return GroupAnswer(None)  # no TLS 1.3: no named group in this answer
    share = extensions.get(KEY_SHARE)
    if share is None or len(share) < 2:
        raise ProbeError("TLS 1.3 ServerHello without a key share")
    code = struct.unpack("!H", share[:2])[0]
    return GroupAnswer(NAMES.get(code, f"0x{code:04x}"))


def ask_group(host: str, port: int, groups: tuple[str, ...], server_name: str | None = None,
              timeout: float = 5.0) -> GroupAnswer:
    """Offer ``groups`` (most preferred first) and return the server's choice."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(client_hello(server_name or host, groups))
            kind, payload = _first_handshake_or_alert(sock)
    except (OSError, struct.error) as exc:
        raise ProbeError(f"{host}:{port}: {type(exc).__name__}: {exc}") from None
    if kind == 0x15:
        return GroupAnswer(None, alert=payload[1] if len(payload) > 1 else None)
    try:
        return parse_server_hello(payload)
    except (IndexError, struct.error) as exc:
        raise ProbeError(f"{host}:{port}: malformed ServerHello ({exc})") from None


def probe_key_exchange(host: str, port: int, server_name: str | None = None,
                       timeout: float = 5.0) -> dict[str, object]:
    """The group chosen for a browser-like offer and every post-quantum group accepted."""
    chosen = ask_group(host, port, BROWSER_OFFER, server_name, timeout)
    accepted = [g for g in PQ_GROUPS
                if ask_group(host, port, (g,), server_name, timeout).selected == g]
    return {"negotiated_group": chosen.selected, "pq_groups": accepted,
            "offered": list(BROWSER_OFFER)}
