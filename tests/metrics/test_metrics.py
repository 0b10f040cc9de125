"""`cryptoaudit metrics` and `--cryptoaudit-metrics`: Prometheus text exposition of the
ledger (findings, cadence, sign-offs, key operations, failed notifications) and of a run's
evidence (expiring keys, certificates and waivers), read back with prometheus_client's own
parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pytest_cryptoaudit.cli import main
from pytest_cryptoaudit.testing import audit_pytester

from ..factories import cert_pem, certificate, ec_key, write
from ..ledger.conftest import make_project

parser = pytest.importorskip("prometheus_client.parser")

REVIEW = """
[review]
roles = ["security", "compliance"]
"""


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample, by name and labels, as Prometheus' own parser reads the text."""
    found = {}
    for family in parser.text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:
    return found[(f"cryptoaudit_{name}", frozenset(labels.items()))]


def test_metrics_of_the_ledger_and_the_evidence(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(pytester.path, extra=REVIEW)
    write(pytester.path / "keys" / "soon.crt", cert_pem(certificate(ec_key(), days_valid=20)))
    run = audit_pytester(pytester, "--cryptoaudit-metrics", "out/audit.prom")
    assert run.ret == 1, run.output
    found = samples((pytester.path / "out" / "audit.prom").read_text())

    assert value(found, "findings", system="app-keys", risk_tier="medium", control="CEK-04",
                 check="key-strength", status="open") == 1
    tier = {"system": "app-keys", "risk_tier": "medium"}
    assert value(found, "audit_state", state="ok", **tier) == 1
    assert value(found, "audit_overdue", **tier) == 0
    assert 0 <= value(found, "days_since_last_complete_audit", **tier) < 0.1
    assert 89.9 < value(found, "days_until_due", **tier) <= 90
    assert value(found, "pending_sign_offs", system="app-keys") == 2
    assert value(found, "sign_off_overdue", system="app-keys") == 0
    assert value(found, "expiring", system="app-keys", kind="certificate",
                 within_days="30") == 1
    assert value(found, "expiring", system="app-keys", kind="key", within_days="90") == 0
    assert value(found, "errors", system="app-keys") == 0

    later = (datetime.now(UTC) + timedelta(days=100)).isoformat()
    capsys.readouterr()
    assert main(["metrics", "--config", str(pytester.path / "cryptoaudit.toml"),
                 "--now", later]) == 0
    found = samples(capsys.readouterr().out)
    assert value(found, "audit_overdue", **tier) == 1
    assert value(found, "audit_state", state="overdue", **tier) == 1
    assert -10.1 < value(found, "days_until_due", **tier) < -9.9
    assert value(found, "sign_off_overdue", system="app-keys") == 1
    assert ("cryptoaudit_expiring", frozenset({("system", "app-keys"), ("kind", "certificate"),
                                               ("within_days", "30")})) not in found


def test_ingested_key_operations_are_counted(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    make_project(pytester.path, weak=False)
    assert audit_pytester(pytester).ret == 0
    log = pytester.path / "trail"
    log.mkdir()
    records = [{"eventVersion": "1.08", "eventSource": "kms.amazonaws.com",
                "eventName": name, "eventTime": "2026-07-01T10:00:00Z",
                "eventID": f"id-{index}", "userIdentity": {"arn": "arn:aws:iam::1:user/ops"},
                "resources": [{"type": "AWS::KMS::Key", "ARN": "arn:aws:kms:eu:1:key/k1"}]}
               for index, name in enumerate(["PutKeyPolicy", "DisableKey", "PutKeyPolicy"])]
    (log / "events.json").write_text(json.dumps({"Records": records}))
    config = str(pytester.path / "cryptoaudit.toml")
    assert main(["event", "ingest", "--config", config, "--system", "app-keys",
                 "--cloudtrail", str(log)]) == 0
    capsys.readouterr()
    assert main(["metrics", "--config", config]) == 0
    found = samples(capsys.readouterr().out)
    operations = {dict(labels)["kind"]: count for (name, labels), count in found.items()
                  if name == "cryptoaudit_key_operations"}
    assert sum(operations.values()) == 3
    assert {dict(labels)["source"] for (name, labels) in found
            if name == "cryptoaudit_key_operations"} == {"cloudtrail"}


def test_label_values_are_escaped() -> None:
    from pytest_cryptoaudit.metrics import Family, exposition

    family = Family("findings", "help")
    family.set(2, system='odd "name"\\with\nnewline')
    [parsed] = parser.text_string_to_metric_families(exposition([family]))
    assert parsed.samples[0].labels == {"system": 'odd "name"\\with\nnewline'}
    assert parsed.samples[0].value == 2


def test_metrics_file_is_replaced_whole(tmp_path: Path) -> None:
    from pytest_cryptoaudit.metrics_cli import write_atomically

    target = tmp_path / "collector" / "cryptoaudit.prom"
    write_atomically(target, "a 1\n")
    write_atomically(target, "b 2\n")
    assert target.read_text() == "b 2\n"
    assert [p.name for p in target.parent.iterdir()] == ["cryptoaudit.prom"]
