"""The lab's post-quantum TLS endpoint: OpenSSL 3.5+ (inside the ``cryptography`` wheel,
through pyOpenSSL), whose default groups put the hybrid X25519MLKEM768 first.

The standard library's ``ssl`` links the system OpenSSL, which may be older than 3.5 and so
know no ML-KEM group; pyOpenSSL before 26 has no call to choose groups, so this server
keeps OpenSSL's defaults, which is what a PQ-capable server configured by nobody offers.
"""

from __future__ import annotations

import select
import socket
import socketserver
import time
from collections.abc import Callable
from typing import Any

from .processes import ServiceError
from .tls_pki import LabPki

#: OpenSSL 3.5.0, the first release with ML-KEM groups (OPENSSL_VERSION_NUMBER).
OPENSSL_3_5 = 0x30500000


def pq_context(pki: LabPki, leaf: str) -> Any:
    """A pyOpenSSL server context that offers X25519MLKEM768 (TLS 1.2 and 1.3)."""
    try:
        from OpenSSL import SSL
    except ImportError:
        raise ServiceError("the post-quantum TLS lab server needs pyOpenSSL: "
                           "pip install 'pytest-cryptoaudit[tls]'") from None
    if SSL.OPENSSL_VERSION_NUMBER < OPENSSL_3_5:
        version = SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode()
        raise ServiceError(f"the post-quantum TLS lab server needs OpenSSL 3.5+, "
                           f"pyOpenSSL links {version}")
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    context.use_certificate_chain_file(str(pki.chain_file(leaf)))
    context.use_privatekey_file(str(pki.key_file(leaf)))
    return context


class PqHandler(socketserver.BaseRequestHandler):
    """Handshake through pyOpenSSL, answer one request line, close."""

    def handle(self) -> None:
        from OpenSSL import SSL

        # pyOpenSSL sees a socket with a timeout as non-blocking: a call raises WantReadError
        # whenever the peer's bytes have not arrived yet, so wait for them explicitly.
        self.request.setblocking(False)
        connection = SSL.Connection(self.server.tls_context, self.request)  # type: ignore[attr-defined]
        connection.set_accept_state()
        try:
            _patiently(self.request, connection.do_handshake)
            if _patiently(self.request, lambda: connection.recv(1024)):
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                                   b"Connection: close\r\n\r\nok\n")
            connection.shutdown()
        except (OSError, SSL.Error):
            return  # scanners and probes abort handshakes on purpose


def _patiently(sock: socket.socket, call: Callable[[], Any], timeout: float = 5.0) -> Any:
    """``call()``, retried while OpenSSL waits for the peer, for at most ``timeout``."""
    from OpenSSL import SSL

    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except (SSL.WantReadError, SSL.WantWriteError) as wait:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the peer sent nothing in time") from None
            reading = isinstance(wait, SSL.WantReadError)
            select.select([sock] if reading else [], [] if reading else [sock], [],
                          min(left, 0.1))
