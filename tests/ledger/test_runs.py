"""End to end: audits on the files provider write the ledger; events and time make systems
due; the CEK-09 controls judge the ledger as it stood before each run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from pytest_cryptoaudit.cli import main
from pytest_cryptoaudit.findings import finding_id
from pytest_cryptoaudit.ledger.store import open_ledger
from pytest_cryptoaudit.testing import audit_pytester

from ..factories import private_pem, rsa_key, write
from .conftest import make_project
from .helpers import record_run

T0 = datetime(2026, 7, 1, 9, tzinfo=UTC)
WEAK = "files:keys/weak.pem"
SYSTEM = "files:app-keys"


def audit(pytester: pytest.Pytester, *args: str, at: datetime | None = None
          ) -> tuple[pytest.RunResult, dict[str, Any]]:
    """One ``pytest --cryptoaudit`` run (at a frozen instant if ``at``), with its evidence."""
    if at is None:
        run = audit_pytester(pytester, *args)
    else:
        with time_machine.travel(at, tick=False):
            run = audit_pytester(pytester, *args)
    assert run.run_result is not None
    return run.run_result, run.evidence


def outcome(evidence: dict[str, Any], check: str, key_uid: str = SYSTEM) -> dict[str, Any]:
    [found] = [r for r in evidence["results"] if r["check"] == check and r["key_uid"] == key_uid]
    return found


def cli(pytester: pytest.Pytester, *args: str, at: datetime | None = None) -> int:
    argv = [*args, "--config", str(pytester.path / "cryptoaudit.toml")]
    if at is None:
        return main(argv)
    with time_machine.travel(at, tick=False):
        return main(argv)


def status(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str],
           at: datetime | None = None) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = cli(pytester, "status", "--format", "json", at=at)
    [row] = json.loads(capsys.readouterr().out)["systems"]
    return code, row


def test_key_compromise_makes_the_system_due_until_audited(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(pytester.path)
    result, first = audit(pytester)
    assert result.ret == 1  # the weak key is a finding
    assert outcome(first, "key-strength", WEAK)["outcome"] == "failed"
    assert outcome(first, "key-strength", "files:keys/good.pem")["outcome"] == "passed"
    cadence = outcome(first, "cadence-met")
    assert (cadence["outcome"], cadence["notes"]) == (
        "passed", ["first audit of this system in the ledger"])
    assert status(pytester, capsys)[1]["state"] == "ok"

    assert cli(pytester, "event", "add", "--system", "app-keys", "--kind", "key-compromise",
               "--note", "key file copied to a laptop") == 0
    code, row = status(pytester, capsys)
    assert (code, row["state"], row["events_since"]) == (0, "due", 1)

    result, second = audit(pytester, "--cryptoaudit-due")
    assert "--cryptoaudit-due: 1 of 1 systems due: app-keys" in result.stdout.str()
    follow_up = outcome(second, "event-follow-up")
    assert follow_up["outcome"] == "passed"
    assert follow_up["notes"][0].startswith("key-compromise at ")
    assert follow_up["notes"][0].endswith(": followed up by this run")
    assert [e["kind"] for e in second["events"]] == ["key-compromise"]
    code, row = status(pytester, capsys)
    assert (code, row["state"], row["events_since"]) == (0, "ok", 0)
    assert cli(pytester, "ledger", "verify") == 0

    result, _third = audit(pytester, "--cryptoaudit-due")
    assert result.ret == 0  # nothing due: a scheduled job succeeds doing nothing
    assert "--cryptoaudit-due: 0 of 1 systems due: none" in result.stdout.str()


def test_ledger_record_per_system_per_run(pytester: pytest.Pytester) -> None:
    make_project(pytester.path, extra='\n[[systems]]\nname = "lost"\nprovider = "files"\n'
                                      'risk_tier = "low"\nssrm_owner = "CSC"\n'
                                      'paths = ["nowhere"]\n')
    _result, evidence = audit(pytester)
    with open_ledger(None, pytester.path) as store:
        audits = {e.system: e.data for e in store.entries(types=["audit"], detail=True)}
        detail = json.loads(store.latest_audits(["app-keys"])["app-keys"].detail)
    app = audits["app-keys"]
    assert (app["run_id"], app["complete"], app["keys"]) == (evidence["run"]["id"], True, 2)
    assert app["findings"] == [{
        "id": finding_id("app-keys", "CEK-04", "key-strength", WEAK), "control": "CEK-04",
        "check": "key-strength", "key_uid": WEAK, "outcome": "failed", "risk_tier": "medium",
        "message": "RSA-1024 is below the 2048-bit minimum for tier medium",
        "accountable_owner": "crypto-team"}]
    assert app["policy_sha256"] == evidence["run"]["policy_sha256"]
    assert app["policy_document"] == {"version": "3.1", "reviewed_on": "2026-06-01"}
    assert set(detail["keys"]) == {"files:keys/good.pem", WEAK}
    assert detail["keys"][WEAK]["size"] == 1024
    lost = audits["lost"]
    assert (lost["complete"], lost["reachable"]) == (False, False)
    assert lost["incomplete_reasons"] == ["system not reached: path 'nowhere' matched no file"]
    # an unreached system gets CEK-21's error, and no CEK-09 result that could pass
    assert {(r["control"], r["outcome"]) for r in evidence["results"]
            if r["system"] == "lost"} == {("CEK-21", "error")}
    assert outcome(evidence, "scope-coverage", "files:app-keys")["notes"] == [
        "component class audited: key-files"]
    assert evidence["scope"] == {"components": {"key-files": ["app-keys"]}, "items": {},
                                 "unreachable": [{"system": "lost",
                                                  "reason": "path 'nowhere' matched no file"}]}


DIFF_REPORTER = """
def pytest_cryptoaudit_evidence(evidence, config):
    from pytest_cryptoaudit.ledger.findings import findings_diff_for

    diff = findings_diff_for(config, evidence)
    (config.rootpath / "diff.md").write_text(diff.as_markdown() if diff else "no ledger")
"""


def test_material_change_is_recorded_and_followed_up_by_the_run_that_found_it(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(pytester.path)
    pytester.makeconftest(DIFF_REPORTER)
    audit(pytester)
    assert "No previous complete audit in the ledger." in pytester.path.joinpath(
        "diff.md").read_text()
    write(pytester.path / "keys" / "weak.pem", private_pem(rsa_key(2048)))
    config = pytester.path / "cryptoaudit.toml"
    config.write_text(config.read_text().replace('version = "3.1"', 'version = "3.2"'))
    result, evidence = audit(pytester, "--cryptoaudit-markdown", "summary.md")
    assert "app-keys: config-change: 2 changes since the last complete audit" in \
        result.stdout.str()
    summary = (pytester.path / "summary.md").read_text()
    assert "### Since the last run\n\n0 new, 1 resolved, 0 persisting findings." in summary
    assert f"| medium | CEK-04 | key-strength | `{WEAK}` | failed |" in summary
    changes = {e["kind"]: e for e in evidence["events"]}
    assert changes["config-change"]["note"] == (
        f"{WEAK}: size 1024 -> 2048; {WEAK}: key material replaced")
    assert changes["policy-change"]["source"] == "change-detection"
    diff = pytester.path.joinpath("diff.md").read_text()
    assert "0 new, 1 resolved, 0 still open." in diff
    assert f"| {finding_id('app-keys', 'CEK-04', 'key-strength', WEAK)} | app-keys | CEK-04 | " \
           f"key-strength | `{WEAK}` |" in diff
    assert outcome(evidence, "event-follow-up")["outcome"] == "passed"
    code, row = status(pytester, capsys)
    assert (code, row["state"]) == (0, "ok")
    capsys.readouterr()
    cli(pytester, "event", "list", "--format", "json")
    listed = json.loads(capsys.readouterr().out)
    assert [(e["kind"], e["source"]) for e in listed] == [
        ("config-change", "change-detection"), ("policy-change", "change-detection")]


def test_cadence_and_findings_follow_up_under_a_frozen_clock(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(pytester.path)  # medium: every 90 days; findings triaged within 14 days
    weak = finding_id("app-keys", "CEK-04", "key-strength", WEAK)
    audit(pytester, at=T0)
    _result, late = audit(pytester, at=T0 + timedelta(days=100))
    assert outcome(late, "cadence-met")["message"] == (
        "last complete audit 2026-07-01 09:00 UTC, 100 days before this run; tier medium "
        "requires a complete audit every 90 days")
    unfollowed = outcome(late, "findings-followed-up")
    assert unfollowed["outcome"] == "failed"
    assert f"{weak} (CEK-04 key-strength on {WEAK}): open since 2026-07-01, no corrective " \
           "action" in unfollowed["message"]

    due = (T0 + timedelta(days=130)).date().isoformat()
    assert cli(pytester, "finding", "assign", weak, "--owner", "crypto-team", "--due", due,
               at=T0 + timedelta(days=100)) == 0
    _result, tracked = audit(pytester, at=T0 + timedelta(days=101))
    assert outcome(tracked, "findings-followed-up")["outcome"] == "passed"
    assert outcome(tracked, "cadence-met")["outcome"] == "passed"
    _result, overdue = audit(pytester, at=T0 + timedelta(days=140))
    assert f"{weak} (CEK-04 key-strength on {WEAK}): corrective action by crypto-team was " \
           f"due {due}" in outcome(overdue, "findings-followed-up")["message"]
    capsys.readouterr()
    cli(pytester, "finding", "list", "--format", "json")
    [logged] = [f for f in json.loads(capsys.readouterr().out) if f["id"] == weak]
    assert (logged["id"], logged["first_seen"], logged["action"]["owner"]) == (
        weak, T0.isoformat(), "crypto-team")


def test_missed_event_fails_under_xdist_with_one_writer(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    make_project(pytester.path, weak=False)
    with open_ledger(None, pytester.path) as store:
        record_run(store, T0, systems={"app-keys": "medium"})  # an earlier complete audit
    compromise = (T0 + timedelta(days=1)).isoformat()
    assert cli(pytester, "event", "add", "--system", "app-keys", "--kind", "key-compromise",
               "--at", compromise, at=T0 + timedelta(days=1)) == 0
    _result, evidence = audit(pytester, "-n", "2", at=T0 + timedelta(days=10))
    missed = outcome(evidence, "event-follow-up")
    assert missed["outcome"] == "failed"
    assert missed["message"] == ("not followed by a complete audit in time: key-compromise at "
                                 "2026-07-02 09:00 UTC (follow-up due by 2026-07-09 09:00)")
    with open_ledger(None, pytester.path) as store:
        audits = store.entries(types=["audit"])
    assert [a.run_id for a in audits[1:]] == [evidence["run"]["id"]]  # the controller's, once


def test_narrowed_run_is_recorded_as_incomplete(pytester: pytest.Pytester,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    make_project(pytester.path)
    audit(pytester, "--cryptoaudit-control", "CEK-04")
    with open_ledger(None, pytester.path) as store:
        [entry] = store.entries()
    assert (entry.data["complete"], entry.data["incomplete_reasons"]) == (
        False, ["only controls CEK-04"])
    assert status(pytester, capsys)[1]["last_complete_audit"] is None


def test_procedures_review_age(pytester: pytest.Pytester) -> None:
    make_project(pytester.path, reviewed_on="2025-01-15")
    narrow = ("--cryptoaudit-control", "CEK-09", "--cryptoaudit-no-ledger")
    _result, evidence = audit(pytester, *narrow, at=T0)
    assert outcome(evidence, "procedures-current")["message"] == (
        "crypto policy 3.1 last reviewed 2025-01-15 (532 days ago); review at least every "
        "365 days")
    config = pytester.path / "cryptoaudit.toml"
    config.write_text(config.read_text().replace('version = "3.1"\n', ""))
    _result, evidence = audit(pytester, *narrow, at=T0)
    assert outcome(evidence, "procedures-current")["message"] == (
        "the crypto policy does not record version ([policy])")
    config.write_text(config.read_text().replace("reviewed_on = 2025-01-15\n", ""))
    _result, evidence = audit(pytester, *narrow, at=T0)
    assert outcome(evidence, "procedures-current")["outcome"] == "skipped"


def test_without_ledger_the_ledger_checks_skip(pytester: pytest.Pytester) -> None:
    make_project(pytester.path)
    _result, evidence = audit(pytester, "--cryptoaudit-no-ledger")
    assert not (pytester.path / ".cryptoaudit").exists()
    skipped = outcome(evidence, "cadence-met")
    assert (skipped["outcome"], skipped["message"]) == (
        "skipped", "the ledger is disabled (--cryptoaudit-no-ledger)")
    assert outcome(evidence, "procedures-current")["outcome"] == "passed"


def test_unwritable_ledger_errors_and_fails_the_run(pytester: pytest.Pytester) -> None:
    make_project(pytester.path, weak=False, top='ledger = "a-folder"\n')
    (pytester.path / "a-folder").mkdir()
    result, evidence = audit(pytester)
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    assert "cryptoaudit: ledger not written: cannot open ledger" in result.stdout.str()
    errored = outcome(evidence, "cadence-met")
    assert errored["outcome"] == "error"
    assert errored["message"].startswith("CryptoAuditError: cannot read the audit ledger: ")


def test_config_errors_name_the_key(pytester: pytest.Pytester, tmp_path: Path) -> None:
    make_project(pytester.path, top='ledger = "postgresql://u:secret@db/ledger"\n')
    result = pytester.runpytest("--cryptoaudit")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*ledger.location: the location carries a password; put it in PGPASSWORD*"])
    assert "secret" not in result.stderr.str()
    make_project(pytester.path, reviewed_on='"last spring"')
    result = pytester.runpytest("--cryptoaudit")
    result.stderr.fnmatch_lines(["*policy.reviewed_on: expected a date such as 2026-01-31*"])
