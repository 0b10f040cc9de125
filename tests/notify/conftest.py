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
    headers: dict[str, str]  # names in lower case: HTTP header names are case-insensitive
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
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = Received(self.command, self.path, headers,
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
            token = request.headers.get("authorization") or request.headers.get("private-token")
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


@dataclasses.dataclass
class Mailbox:
    """The SMTP server's address, its certificate, and the messages and logins it took."""

    port: int
    ca_file: str
    messages: list[Any] = dataclasses.field(default_factory=list)
    logins: list[str] = dataclasses.field(default_factory=list)
    tls_sessions: int = 0


def _self_signed(folder: Any) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, made with ``cryptography``."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(minutes=5))
                   .not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                  critical=True)
                   .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


@pytest.fixture
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailbox]:
    """aiosmtpd on a free loopback port that requires STARTTLS before AUTH and mail."""
    import socket
    import ssl

    pytest.importorskip("aiosmtpd", reason="pip install aiosmtpd (the test extra)")
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert_file, key_file = _self_signed(tmp_path_factory.mktemp("smtp"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox(port, cert_file)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            from email import message_from_bytes

            mailbox.tls_sessions += session.ssl is not None
            mailbox.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == b"smtp-secret-pw"
        if ok:
            mailbox.logins.append(data.login.decode())
        return AuthResult(success=ok)

    controller = Controller(Handler(), hostname="127.0.0.1", port=port,
                            tls_context=context, require_starttls=True,
                            authenticator=authenticate, auth_require_tls=True)
    controller.start()
    yield mailbox
    controller.stop()
