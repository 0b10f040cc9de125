"""``cryptoaudit metrics`` (a Prometheus text file), ``cryptoaudit serve-metrics`` (an
exporter that reads the ledger on every scrape) and ``--cryptoaudit-metrics PATH`` (the
file, written after each run once the ledger has recorded it)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from .cli import UsageError
from .ledger import LEDGER_PLUGIN
from .ledger.cli_support import add_common_arguments, guarded, load_audit_config, now_of, open_store
from .ledger.history import LedgerHistory
from .metrics import PREFIX, collect, exposition


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a collector never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as output:
        output.write(text)
    os.replace(temporary, path)


def _evidence(path: str | None) -> dict[str, Any] | None:
    if not path:
        return None
    try:
        loaded: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--evidence {path}: cannot read: {exc}") from None
    return loaded


def _text(args: argparse.Namespace, audit_config: Any, now: datetime) -> str:
    with open_store(args, audit_config) as store:
        history = LedgerHistory.from_store(store)
    return exposition(collect(audit_config, history, now, _evidence(args.evidence)))


def _metrics(args: argparse.Namespace) -> int:
    audit_config = load_audit_config(args)
    text = _text(args, audit_config, now_of(args))
    if args.output:
        write_atomically(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0


class LedgerCollector:
    """A ``prometheus_client`` collector that reads the ledger on every scrape."""

    def __init__(self, args: argparse.Namespace, audit_config: Any) -> None:
        self.args, self.audit_config = args, audit_config

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        with open_store(self.args, self.audit_config) as store:
            history = LedgerHistory.from_store(store)
        families = collect(self.audit_config, history, datetime.now(UTC),
                           _evidence(self.args.evidence))
        for family in families:
            names = sorted({name for labels in family.samples for name, _ in labels})
            gauge = GaugeMetricFamily(PREFIX + family.name, family.help, labels=names)
            for labels, value in sorted(family.samples.items()):
                given = dict(labels)
                gauge.add_metric([given.get(name, "") for name in names], value)
            yield gauge


def _serve(args: argparse.Namespace) -> int:
    try:
        from prometheus_client import start_http_server
        from prometheus_client.core import CollectorRegistry
    except ImportError:
        raise UsageError("serve-metrics needs prometheus-client: pip install "
                         "'pytest-cryptoaudit[metrics]'") from None
    audit_config = load_audit_config(args)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(args, audit_config))
    server, thread = start_http_server(args.port, addr=args.address, registry=registry)
    print(f"serving metrics on http://{args.address}:{server.server_port}/metrics", flush=True)
    try:
        thread.join()
    finally:
        server.shutdown()
    return 0


def register(subparsers: Any) -> None:
    metrics = subparsers.add_parser("metrics", help="Write audit metrics in Prometheus text "
                                    "format (for node-exporter's textfile collector).")
    add_common_arguments(metrics)
    metrics.add_argument("--evidence", metavar="PATH",
                         help="A run's JSON evidence: adds expiring keys, certificates and "
                              "waivers.")
    metrics.add_argument("--output", metavar="PATH", help="Write here (atomically) instead "
                         "of standard output, e.g. /var/lib/node_exporter/cryptoaudit.prom.")
    metrics.add_argument("--now", help=argparse.SUPPRESS)
    metrics.set_defaults(handler=guarded(_metrics))
    serve = subparsers.add_parser("serve-metrics", help="Serve the audit metrics to "
                                  "Prometheus, read from the ledger on every scrape.")
    add_common_arguments(serve)
    serve.add_argument("--port", type=int, default=9877)
    serve.add_argument("--address", default="127.0.0.1",
                       help="Address to listen on (default: loopback only).")
    serve.add_argument("--evidence", metavar="PATH",
                       help="A run's JSON evidence (re-read on every scrape).")
    serve.set_defaults(handler=guarded(_serve))


class MetricsFile:
    """``--cryptoaudit-metrics PATH``: the metrics file, after the ledger recorded the run."""

    def __init__(self, config: pytest.Config, path: str) -> None:
        self.config, self.path = config, Path(config.invocation_params.dir, path)
        self.error = ""

    @pytest.hookimpl(trylast=True)
    def pytest_cryptoaudit_evidence(self, evidence: dict[str, Any], audit_config: Any) -> None:
        from .ledger.store import LedgerError

        ledger = self.config.pluginmanager.get_plugin(LEDGER_PLUGIN)
        if ledger is None or not ledger.enabled:
            self.error = "--cryptoaudit-metrics reads the ledger, which is disabled"
            return
        try:
            with ledger.open(audit_config) as store:
                history = LedgerHistory.from_store(store)
        except LedgerError as exc:
            self.error = f"metrics not written: {exc}"
            return
        write_atomically(self.path, exposition(collect(audit_config, history,
                                                       datetime.now(UTC), evidence)))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.error:
            terminalreporter.write_line(f"cryptoaudit: {self.error}", red=True)
