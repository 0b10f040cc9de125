"""A fault-injecting reverse proxy on loopback, put in front of a real local server.

:class:`FaultProxy` forwards HTTP requests to moto or OpenBao and, for a chosen share of
them, answers with a fault instead: HTTP 500 or 503, the service's throttling answer (KMS
``ThrottlingException`` 400, Vault 429), a connection reset, a slow answer, an answer
trickled one byte at a time, an oversized answer (also as a small gzip answer that inflates
past any cap), or (for KMS ListKeys) pagination markers
that cycle A, B, A, ... :class:`TrickleTcpProxy` trickles any TCP stream (TLS) the same way.
Faults are drawn from a seeded generator, and every request is counted by what it got.
"""

from __future__ import annotations

import collections
import gzip
import http.client
import json
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
LOOPBACK = "127.0.0.1"
FAULTS = ("500", "503", "throttle", "reset", "slow")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class FaultProxy:
    """Reverse proxy to ``upstream`` injecting faults into a share ``rate`` of requests.

    ``flavour`` ("kms" or "vault") picks the throttling answer. ``always`` maps a KMS
    operation name (X-Amz-Target suffix) or a Vault path (``prefix*`` for every path under
    it) to a fault every such request gets.
    """

    def __init__(self, upstream: str, flavour: str, rate: float = 0.0,
                 faults: Iterable[str] = FAULTS, seed: int = 20, trickle_seconds: float = 0.5,
                 huge_mib: int = 8) -> None:
        self.upstream = urlsplit(upstream)
        self.flavour = flavour
        self.rate = rate
        self.faults = tuple(faults)
        self.always: dict[str, str] = {}
        self.trickle_seconds = trickle_seconds
        self.huge_mib = huge_mib
        self.counts: collections.Counter[str] = collections.Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer((LOOPBACK, 0), _handler_for(self))
        self.server.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def choose(self, name: str) -> str:
        """The fault for a request to ``name`` ("ok" for none), counted."""
        with self._lock:
            fault = next((f for pattern, f in self.always.items() if _matches(name, pattern)),
                         None)
            if fault is None:
                fault = (self._random.choice(self.faults)
                         if self._random.random() < self.rate else "ok")
            self.counts[fault] += 1
            return fault

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def forward(self, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port,
                                                timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def throttle_answer(self) -> tuple[int, bytes]:
        if self.flavour == "kms":
            return 400, json.dumps({"__type": "ThrottlingException",
                                    "message": "Rate exceeded (injected)"}).encode()
        return 429, json.dumps({"errors": ["rate limit quota exceeded (injected)"]}).encode()

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def _matches(name: str, pattern: str) -> bool:
    return name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            target = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
            name = target or self.path.removeprefix("/v1/").split("?", 1)[0]
            fault = proxy.choose(name)
            if fault == "reset":
                self._reset()
                return
            if fault in ("500", "503"):
                self._answer(int(fault), [], b'{"errors": ["injected fault"]}')
                return
            if fault == "throttle":
                status, answer = proxy.throttle_answer()
                self._answer(status, [("Content-Type", "application/x-amz-json-1.1")], answer)
                return
            if fault == "huge":
                self._huge()
                return
            if fault == "gzip-bomb":
                self._gzip_bomb()
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            status, answer_headers, answer = proxy.forward(self.command, self.path, headers,
                                                           body)
            if fault == "cycle":
                answer = _cycle(body, answer)
            if fault == "slow":
                time.sleep(0.3)
            self._answer(status, answer_headers, answer, trickle=fault == "trickle")

        do_GET = do_POST = do_PUT = do_LIST = do_DELETE = handle_any

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes,
                    trickle: bool = False) -> None:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in HOP_HEADERS and name.lower() not in ("date", "server"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not trickle:
                self.wfile.write(body)
                return
            self.wfile.flush()
            for byte in body:  # bounded by the body's length and by the proxy closing
                if proxy.stopping.wait(proxy.trickle_seconds):
                    break
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

        def _huge(self) -> None:
            size = proxy.huge_mib * 2**20
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = b"a" * 2**16
            for _ in range(size // len(chunk)):
                self.wfile.write(chunk)

        def _gzip_bomb(self) -> None:
            """A small compressed answer that inflates to ``huge_mib`` MiB."""
            body = gzip.compress(b" " * (proxy.huge_mib * 2**20))
            self._answer(200, [("Content-Type", "application/json"),
                               ("Content-Encoding", "gzip")], body)

        def _reset(self) -> None:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except (ConnectionError, OSError):  # the client gave up (a deadline): fine
                self.close_connection = True

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def _cycle(request_body: bytes, answer: bytes) -> bytes:
    """A ListKeys answer that always claims more, with markers A, B, A, B, ..."""
    marker = json.loads(request_body or b"{}").get("Marker")
    parsed = json.loads(answer)
    parsed.update(Truncated=True, NextMarker="B" if marker == "A" else "A")
    return json.dumps(parsed).encode()


def bounded(function: Callable[[], T], seconds: float) -> T:
    """Run ``function`` on a daemon thread; fail (not hang) if it is not done in time."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:  # handed to the test thread below
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise AssertionError(f"still running after {seconds:g} s: it hangs")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


class TrickleTcpProxy:
    """Forwards TCP to ``upstream``; the answers come back one byte every ``seconds``,
    except on the first ``pass_first`` connections (a probe that succeeds, say)."""

    def __init__(self, upstream: tuple[str, int], seconds: float = 0.5,
                 pass_first: int = 0) -> None:
        self.upstream = upstream
        self.seconds = seconds
        self.pass_first = pass_first
        self.stopping = threading.Event()
        self.connections = 0
        self.listener = socket.create_server((LOOPBACK, 0))
        self.address = f"{LOOPBACK}:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pump, args=(client, server, 0.0), daemon=True).start()
            seconds = self.seconds if self.connections > self.pass_first else 0.0
            threading.Thread(target=self._pump, args=(server, client, seconds),
                             daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, seconds: float) -> None:
        try:
            while not self.stopping.is_set():
                data = source.recv(65536 if not seconds else 1)
                if not data:
                    break
                if seconds and self.stopping.wait(seconds):
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                sock.close()

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()
