"""A loopback proxy in front of the real OpenBao that rewrites chosen JSON answers."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Rewrite = Callable[[dict[str, Any]], None]


class RewritingProxy:
    """Forwards every request to ``upstream``; answers to paths in ``rewrites`` are parsed,
    changed in place by the function given, and sent on."""

    def __init__(self, upstream: str, rewrites: dict[str, Rewrite]) -> None:
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                connection.request(self.command, self.path, body, headers)
                answer = connection.getresponse()
                data = proxy._rewritten(self.path, answer.read())
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                connection.close()

            do_GET = do_POST = do_PUT = do_LIST = _forward

            def log_message(self, *args: Any) -> None:
                pass

        self.rewrites = rewrites
        self.server = ThreadingHTTPServer((target.hostname or "127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://{target.hostname}:{self.server.server_address[1]}"

    def _rewritten(self, path: str, data: bytes) -> bytes:
        rewrite = self.rewrites.get(path.split("?")[0])
        if rewrite is None or not data:
            return data
        parsed = json.loads(data)
        rewrite(parsed)
        return json.dumps(parsed).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
