"""A loopback proxy in front of moto that answers for ML-DSA keys, which moto cannot create.

AWS KMS has ML_DSA_44/65/87 key specs (June 2025); moto 5 rejects them at CreateKey. So the
keys are created in moto as ECC_NIST_P256 signing keys, which makes every call about them
real (ListKeys, tags, policy, grants, aliases), and the proxy changes only what moto cannot
model: the key spec and signing algorithms in each DescribeKey answer for those key ids, as
AWS answers them. Every other request and answer passes through unchanged.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pytest_cryptoaudit.lab.processes import LOOPBACK

#: KMS key spec -> its signing algorithm (AWS KMS Developer Guide, ML-DSA key specs).
ML_DSA_SIGNING = {"ML_DSA_44": "ML_DSA_SHAKE_256", "ML_DSA_65": "ML_DSA_SHAKE_256",
                  "ML_DSA_87": "ML_DSA_SHAKE_256"}
HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding"}


class MlDsaProxy:
    """Forwards every request to ``upstream``; DescribeKey answers for the key ids in
    ``specs`` carry the ML-DSA key spec instead of moto's."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.specs: dict[str, str] = {}
        self.rewritten = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, headers, answer = proxy.forward(self.path, dict(self.headers), body)
                if self.headers.get("X-Amz-Target", "").endswith(".DescribeKey"):
                    answer = proxy.rewrite(answer)
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], bytes]:
        kept = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
        request = urllib.request.Request(self.upstream + path, data=body, headers=kept,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:  # AWS errors are answers too
            return error.code, dict(error.headers), error.read()

    def rewrite(self, answer: bytes) -> bytes:
        document = json.loads(answer or b"{}")
        metadata = document.get("KeyMetadata") or {}
        spec = self.specs.get(metadata.get("KeyId", ""))
        if spec is None:
            return answer
        metadata.update(KeySpec=spec, CustomerMasterKeySpec=spec,
                        SigningAlgorithms=[ML_DSA_SIGNING[spec]])
        self.rewritten += 1
        return json.dumps(document).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
