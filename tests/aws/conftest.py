"""Fixtures for the AWS KMS tests: moto's HTTP server with the planted estate, an endpoint
that refuses every call, a counter of API calls, and a pytester audit runner."""

from __future__ import annotations

import collections
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.handlers
import pytest

from pytest_cryptoaudit.lab import estate_kms
from pytest_cryptoaudit.lab.moto import MotoServer, environment
from pytest_cryptoaudit.lab.processes import LOOPBACK
from pytest_cryptoaudit.testing import audit_pytester


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's HTTP server on a free loopback port for the whole session."""
    with MotoServer(fast_keys=True) as server:
        yield server


@pytest.fixture(scope="session")
def estate(moto_server: MotoServer) -> dict[str, str]:
    """The planted KMS estate (label -> key ARN), seeded once; tests only read it."""
    return estate_kms.seed(moto_server.url)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials, and no variable that could send a call to real AWS."""
    for name, value in environment():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


@pytest.fixture
def api_calls() -> Iterator[collections.Counter[str]]:
    """Counts API calls ("kms.DescribeKey": n) of every botocore session made meanwhile,
    through botocore's own event system."""
    calls: collections.Counter[str] = collections.Counter()

    def count(event_name: str, **kwargs: Any) -> None:
        calls[event_name.split(".", 1)[1]] += 1

    handler = ("before-call", count)
    botocore.handlers.BUILTIN_HANDLERS.append(handler)
    yield calls
    botocore.handlers.BUILTIN_HANDLERS.remove(handler)


@pytest.fixture
def audit(pytester: pytest.Pytester, aws_env: None) -> Callable[..., tuple[Any, dict]]:
    """Run ``pytest --cryptoaudit`` over a config; returns the outcome and the evidence."""

    def run(config: str, *args: str) -> tuple[Any, dict[str, Any]]:
        done = audit_pytester(pytester, *args, config=config)
        return done.run_result, done.evidence

    return run


class RefusingEndpoint:
    """An AWS endpoint that answers every call with one error code (AccessDenied,
    throttling...), in JSON or, for the query protocol (IAM, STS), XML, and counts the
    requests it received per operation."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.requests: collections.Counter[str] = collections.Counter()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                sent = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                query = "x-www-form-urlencoded" in self.headers.get("Content-Type", "")
                operation = (urllib.parse.parse_qs(sent.decode())["Action"][0] if query else
                             self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1])
                endpoint.requests[operation] += 1
                message = f"refused by the test endpoint: {operation}"
                if query:  # IAM and STS speak the query protocol: an XML error
                    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{endpoint.code}"
                            f"</Code><Message>{message}</Message></Error>"
                            "<RequestId>0</RequestId></ErrorResponse>")
                    content_type = "text/xml"
                else:
                    body = json.dumps({"__type": endpoint.code, "message": message})
                    content_type = "application/x-amz-json-1.1"
                self.send_response(400)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def refusing() -> Iterator[Callable[[str], RefusingEndpoint]]:
    """Start refusing endpoints on demand; all are closed after the test."""
    started: list[RefusingEndpoint] = []

    def start(code: str) -> RefusingEndpoint:
        started.append(RefusingEndpoint(code))
        return started[-1]

    yield start
    for endpoint in started:
        endpoint.close()
