"""What the ledger answers to auditors: status, the master audit plan and the AI-CAIQ."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from pytest_cryptoaudit.catalog import ControlSpec
from pytest_cryptoaudit.cli import main
from pytest_cryptoaudit.ledger.caiq import answers
from pytest_cryptoaudit.ledger.history import LedgerHistory
from pytest_cryptoaudit.ledger.store import LedgerStore, open_ledger
from pytest_cryptoaudit.references import CAIQ_CEK09_1, CAIQ_CEK09_2

from .helpers import record_event, record_run, result

NOW = datetime(2026, 9, 1, 12, tzinfo=UTC)
CONFIG = """
{cadence}
[[systems]]
name = "hsm-root"
provider = "files"
risk_tier = "critical"
ssrm_owner = "CSP"
accountable_owner = "crypto-team"
paths = ["hsm"]

[[systems]]
name = "archive"
provider = "files"
risk_tier = "low"
ssrm_owner = "CSC"
accountable_owner = "crypto-team"
paths = ["archive"]
"""
TIERS = {"hsm-root": "critical", "archive": "low"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "cryptoaudit.toml").write_text(CONFIG.format(cadence=""))
    return tmp_path


@pytest.fixture
def ledger(project: Path) -> LedgerStore:
    return open_ledger(None, project)


def run_cli(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    with time_machine.travel(NOW, tick=False):
        code = main([*args, "--config", str(project / "cryptoaudit.toml")])
    return code, capsys.readouterr().out


def test_status_formats(project: Path, ledger: LedgerStore,
                        capsys: pytest.CaptureFixture[str]) -> None:
    record_run(ledger, NOW - timedelta(days=100), systems=TIERS)
    record_run(ledger, NOW - timedelta(hours=3), systems={"hsm-root": "critical"})
    record_run(ledger, NOW - timedelta(days=5), systems={"retired": "low"})
    code, out = run_cli(project, capsys, "status")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["SYSTEM", "TIER", "INTERVAL", "LAST", "COMPLETE", "AUDIT",
                                "EVENTS", "CHANGES", "NEXT", "DUE", "STATE"]
    assert lines[1].split() == ["hsm-root", "critical", "1d", "2026-09-01", "09:00", "0", "0",
                                "2026-09-02", "06:36", "ok"]
    assert lines[2].split()[:4] == ["archive", "low", "365d", "2026-05-24"]
    assert "no longer configured (out of scope?): retired" in out
    code, out = run_cli(project, capsys, "status", "--format", "markdown")
    assert "| hsm-root | critical | 1d | 2026-09-01 09:00 | 0 | 0 | 2026-09-02 06:36 | ok |" \
        in out.splitlines()
    record_event(ledger, "archive", "security-incident", NOW - timedelta(days=8))
    code, out = run_cli(project, capsys, "status", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["overdue"] == ["archive"]
    assert data["systems"][1]["pending_events"][0]["kind"] == "security-incident"


def test_master_audit_plan(project: Path, ledger: LedgerStore,
                           capsys: pytest.CaptureFixture[str]) -> None:
    record_run(ledger, NOW - timedelta(days=100), systems=TIERS)
    code, out = run_cli(project, capsys, "plan", "--format", "json")
    plan = {s["system"]: s for s in json.loads(out)["systems"]}
    assert code == 0
    assert plan["hsm-root"]["planned_count"] == 365  # daily: it is overdue, so from today
    assert plan["hsm-root"]["next_audit"] == NOW.isoformat()
    archive = plan["archive"]
    assert (archive["state"], archive["planned_count"], archive["event_follow_up_days"]) == (
        "ok", 1, 7)
    assert archive["next_audit"] == (NOW - timedelta(days=100) + timedelta(days=328.5)
                                     ).isoformat()
    assert sum(archive["per_month"].values()) == 1 and archive["per_month"]["2027-04"] == 1
    _code, markdown = run_cli(project, capsys, "plan")
    assert markdown.startswith("# Master audit plan: encryption and key management")
    row = next(line for line in markdown.splitlines() if line.startswith("| archive |"))
    assert row.split(" | ")[:10] == ["| archive", "low", "key-files", "CSC", "crypto-team",
                                     "365", "7", "2026-05-24", "2027-04-18", "1"]


def _caiq(project: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, str]]:
    _code, out = run_cli(project, capsys, "caiq")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["Question ID", "Control", "Question", "Answer", "Evidence"]
    return {row["Question ID"]: row for row in rows}


def test_caiq_answers_follow_the_ledger(project: Path, ledger: LedgerStore,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    empty = _caiq(project, capsys)
    assert (empty["CEK-09.1"]["Answer"], empty["CEK-09.2"]["Answer"]) == ("No", "No")
    assert empty["CEK-09.1"]["Question"] == CAIQ_CEK09_1
    record_run(ledger, NOW - timedelta(days=40), systems=TIERS)
    record_event(ledger, "hsm-root", "key-compromise", NOW - timedelta(days=20))
    record_run(ledger, NOW - timedelta(hours=2), systems={"hsm-root": "critical"})
    good = _caiq(project, capsys)
    assert (good["CEK-09.1"]["Answer"], good["CEK-09.2"]["Answer"]) == ("Yes", "Partial")
    assert good["CEK-09.2"]["Evidence"].startswith(
        "2 of 2 systems completely audited in the last 12 months; 0 of 1 security events")
    assert "critical: every 1d, 1 system, latest complete audit 2026-09-01 10:00" in \
        good["CEK-09.1"]["Evidence"]
    (project / "cryptoaudit.toml").write_text(CONFIG.format(cadence="[cadence]\ncritical = 60"))
    _code, out = run_cli(project, capsys, "caiq", "--format", "json")
    by_id = {row["id"]: row for row in json.loads(out)}
    assert by_id["CEK-09.1"]["answer"] == "No"
    assert by_id["CEK-09.1"]["evidence"].startswith("cadence is NOT proportional to risk")


def test_caiq_does_not_count_an_event_no_audit_has_followed(
        project: Path, ledger: LedgerStore, capsys: pytest.CaptureFixture[str]) -> None:
    record_run(ledger, NOW - timedelta(hours=3), systems=TIERS)
    assert _caiq(project, capsys)["CEK-09.2"]["Answer"] == "Yes"
    code, _out = run_cli(project, capsys, "event", "add", "--system", "archive",
                         "--kind", "key-compromise", "--note", "INC-1")
    assert code == 0
    pending = _caiq(project, capsys)["CEK-09.2"]
    assert pending["Answer"] == "Partial"
    assert "0 of 1 security events and material changes followed up in time (1 awaiting a " \
        "complete audit, 0 late)" in pending["Evidence"]
    _code, status = run_cli(project, capsys, "status", "--format", "json")
    archive = next(s for s in json.loads(status)["systems"] if s["system"] == "archive")
    assert (archive["state"], archive["events_since"]) == ("due", 1)  # the same judgement
    record_run(ledger, NOW + timedelta(hours=1), systems=TIERS)
    rows = answers(_config(project), LedgerHistory.from_store(ledger), NOW + timedelta(hours=2))
    assert "1 of 1 security events and material changes followed up in time" in \
        rows[1]["evidence"]


def _config(project: Path):
    from pytest_cryptoaudit.ledger.cli_support import load_audit_config

    return load_audit_config(type("Args", (), {"config": str(project / "cryptoaudit.toml")})())


def test_caiq_questions_declared_by_other_controls(project: Path, ledger: LedgerStore) -> None:
    rotated = result("hsm-root", "rotation-enabled", "k1", "passed", control="CEK-12")
    stale = result("hsm-root", "rotation-enabled", "k2", "failed", control="CEK-12")
    record_run(ledger, NOW - timedelta(hours=1), systems=TIERS, results=[rotated, stale])
    spec = ControlSpec("CEK-12", "Key rotation", "rotation-enabled",
                       caiq=(("CEK-12.1", "Are keys rotated?"), CAIQ_CEK09_2))
    from pytest_cryptoaudit.ledger.cli_support import load_audit_config

    audit_config = load_audit_config(type("Args", (), {
        "config": str(project / "cryptoaudit.toml")})())
    rows = answers(audit_config, LedgerHistory.from_store(ledger), NOW, [spec])
    assert [r["id"] for r in rows] == ["CEK-09.1", "CEK-09.2", "CEK-12.1"]
    assert (rows[2]["answer"], rows[2]["evidence"]) == (
        "Partial", "CEK-12 rotation-enabled in the last complete audits: 1 passed or waived, "
                   "1 failed or errored")
