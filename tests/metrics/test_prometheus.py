"""The monitoring examples against the real thing: Prometheus scrapes `cryptoaudit
serve-metrics` and evaluates `examples/monitoring/alerts.yml`; `promtool` checks the rules
and the scrape configuration; the dashboard and the alerts query only series the exporter
writes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from pytest_cryptoaudit.testing import audit_pytester

from ..conftest import require_executable
from ..factories import cert_pem, certificate, ec_key, write
from ..ledger.conftest import make_project
from .conftest import Prometheus, get_json, wait_for

MONITORING = Path(__file__).parents[2] / "examples" / "monitoring"


def test_prometheus_scrapes_the_exporter_and_fires_the_example_alerts(
        pytester: pytest.Pytester, prometheus: Prometheus) -> None:
    pytest.importorskip("prometheus_client")
    make_project(pytester.path, extra='[review]\nroles = ["security", "compliance"]\n')
    write(pytester.path / "keys" / "soon.crt", cert_pem(certificate(ec_key(), days_valid=20)))
    assert audit_pytester(pytester).ret == 1
    target = prometheus.exporter(pytester.path / "cryptoaudit.toml",
                                 "--evidence", str(pytester.path / "evidence.json"))
    url = prometheus.start(target, MONITORING / "alerts.yml")

    [finding] = wait_for(lambda: prometheus.query(
        url, 'cryptoaudit_findings{status="open", check="key-strength"}'),
        "the findings series in Prometheus")
    assert finding["metric"] | {"job": "", "instance": ""} == {
        "__name__": "cryptoaudit_findings", "job": "", "instance": "",
        "system": "app-keys", "risk_tier": "medium", "control": "CEK-04",
        "check": "key-strength", "status": "open"}
    assert finding["value"][1] == "1"
    [pending] = prometheus.query(url, "cryptoaudit_pending_sign_offs")
    assert pending["value"][1] == "2"

    def firing() -> list[str]:
        alerts = get_json(f"{url}/api/v1/alerts")["data"]["alerts"]
        return sorted(a["labels"]["alertname"] for a in alerts if a["state"] == "firing")

    assert wait_for(firing, "the example alerts to fire") == ["CryptoAuditKeyExpiring"]
    groups = get_json(f"{url}/api/v1/rules")["data"]["groups"]
    [group] = groups
    assert len(group["rules"]) == 6
    assert {rule["health"] for rule in group["rules"]} == {"ok"}


def test_promtool_accepts_the_alert_rules_and_the_scrape_configuration() -> None:
    promtool = require_executable("promtool", "apt-get install prometheus")
    for command in (["check", "rules", "alerts.yml"], ["check", "config", "prometheus.yml"]):
        done = subprocess.run([promtool, *command], cwd=MONITORING, capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS" in done.stdout + done.stderr


def test_the_dashboard_and_alerts_query_only_exported_series() -> None:
    from pytest_cryptoaudit.metrics import PREFIX, collect

    class NoConfig:
        systems = ()
        review = None
        cadence: dict[str, int] = {}
        events = ()
        policy = None

    from datetime import UTC, datetime

    from pytest_cryptoaudit.ledger.history import LedgerHistory

    exported = {PREFIX + f.name for f in collect(NoConfig(), LedgerHistory(),
                                                 datetime.now(UTC), {})}
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    expressions.append((MONITORING / "alerts.yml").read_text())
    used = {name for text in expressions for name in re.findall(r"cryptoaudit_[a-z_]+", text)}
    assert used, expressions
    assert used <= exported, used - exported
    assert len(dashboard["panels"]) == len({p["id"] for p in dashboard["panels"]})
