"""Lab TLS servers on loopback for the TLS benchmarks: half legacy, half modern."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_cryptoaudit.lab.tls_server import start_tls_server, write_pki


@contextmanager
def tls_servers(count: int) -> Iterator[tuple[list[str], Path]]:
    """``count`` running servers' endpoints and the CA file that validates them; every
    server is stopped on the way out."""
    with tempfile.TemporaryDirectory() as folder:
        pki = write_pki(Path(folder))
        servers = [start_tls_server(("legacy", "modern")[i % 2], pki) for i in range(count)]
        try:
            yield [server.endpoint for server in servers], pki.ca_file
        finally:
            for server in servers:
                server.stop()
