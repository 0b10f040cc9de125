"""Real local servers for the notification tests: an HTTP receiver on loopback that records
every request (a JSON webhook, a Slack incoming webhook, a stand-in of the GitHub and GitLab
issues APIs) and can be told to fail, and an SMTP server with STARTTLS."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

TOKEN = "ghp_test-token-0123456789abcdef"


@dataclasses.dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclasses.dataclass
class Receiver:
    """What the server received, and how it answers: ``fail`` requests get HTTP 503."""

    url: str
    requests: list[Received] = dataclasses.field(default_factory=list)
    fail: int = 0
    issues: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def posted(self, prefix: str) -> list[Received]:
        return [r for r in self.requests if r.path.startswith(prefix)]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, payload: Any = None) -> None:
            body = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Received(self.command, self.path, dict(self.headers),
                               json.loads(raw) if raw else None)
            receiver.requests.append(request)
            if receiver.fail > 0:
                receiver.fail -= 1
                self._answer(503, {"message": "try later"})
                return
            if "/issues" in self.path:
                self._issues(request)
                return
            self._answer(200, None)

        def _issues(self, request: Received) -> None:
            """GitHub's issues API: create, comment, change state (and GitLab's, roughly)."""
            token = request.headers.get("Authorization") or request.headers.get("PRIVATE-TOKEN")
            if token not in (f"Bearer {TOKEN}", TOKEN):
                self._answer(401, {"message": "Bad credentials"})
                return
            tail = self.path.split("/issues", 1)[1].strip("/")
            if not tail and request.method == "POST":
                number = len(receiver.issues) + 1
                receiver.issues[number] = {**request.body, "state": "open", "comments": []}
                self._answer(201, {"number": number, "iid": number})
            elif tail.endswith(("comments", "notes")):
                receiver.issues[int(tail.split("/")[0])]["comments"].append(request.body["body"])
                self._answer(201, {"id": 1})
            else:
                issue = receiver.issues[int(tail)]
                state = request.body.get("state") or {"close": "closed", "reopen": "open"}[
                    request.body["state_event"]]
                issue["state"] = state
                self._answer(200, {"number": int(tail), "state": state})

        do_POST = do_PATCH = do_PUT = _handle

    return Handler


@pytest.fixture
def http_receiver() -> Iterator[Receiver]:
    """An HTTP server on a free loopback port, recording what it receives."""
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
