"""A real Prometheus on loopback (Debian package ``prometheus``) and the audit exporter
(``cryptoaudit serve-metrics``) in its own process, for the monitoring tests."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import require_executable

ROOT = Path(__file__).parents[2]
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: Callable[[], Any], what: str, timeout: float = STARTUP_SECONDS) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except OSError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:  # loopback only
        return json.loads(answer.read())


@dataclasses.dataclass
class Prometheus:
    """Starts processes in ``folder`` and stops them at the end of the test."""

    binary: str
    folder: Path
    processes: list[subprocess.Popen[bytes]] = dataclasses.field(default_factory=list)

    def exporter(self, config: Path, *extra: str) -> str:
        """``cryptoaudit serve-metrics`` for ``config``; its host:port."""
        port = free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
            str(ROOT), os.environ.get("PYTHONPATH", "")]))}
        self.processes.append(subprocess.Popen(
            [sys.executable, "-m", "pytest_cryptoaudit", "serve-metrics", "--port", str(port),
             "--config", str(config), *extra],
            cwd=config.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                                timeout=2).status == 200,
                 "cryptoaudit serve-metrics")
        return f"127.0.0.1:{port}"

    def start(self, target: str, rules: Path) -> str:
        """Prometheus scraping ``target`` every second with ``rules``; its base URL."""
        port = free_port()
        config = self.folder / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: [{json.dumps(str(rules))}]\n"
            "scrape_configs:\n"
            f"  - job_name: cryptoaudit\n    static_configs: [{{targets: [\"{target}\"]}}]\n")
        self.processes.append(subprocess.Popen(
            [self.binary, f"--config.file={config}", f"--storage.tsdb.path={self.folder}/data",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: urllib.request.urlopen(f"{url}/-/ready", timeout=2).status == 200,
                 "Prometheus to be ready")
        return url

    def query(self, url: str, expression: str) -> list[dict[str, Any]]:
        answer = get_json(f"{url}/api/v1/query?" + urllib.parse.urlencode(
            {"query": expression}))
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A Prometheus server (and the exporters it scrapes), stopped after the test."""
    server = Prometheus(require_executable("prometheus", "apt-get install prometheus"),
                        tmp_path_factory.mktemp("prometheus"))
    yield server
    server.stop()
