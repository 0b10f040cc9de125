"""`[[notify]]` end to end: audits of the files provider route new, resolved and overdue
findings to a JSON webhook, a Slack incoming webhook and GitHub issues on a loopback server;
every delivery is in the ledger, nothing is sent twice, failures are errors of the run and
are retried, and no secret reaches a payload, the ledger or the output."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.cli import main
from pytest_cryptoaudit.notify.rules import NotifyRule
from pytest_cryptoaudit.testing import audit_pytester

from ..ledger.conftest import make_project
from .conftest import TOKEN, Receiver

WEAK = "files:keys/weak.pem"
SLACK_SECRET = "T0000/B0000/XXXXsecretXXXX"


def rules(receiver: Receiver, *, retries: int = 2, extra: str = "") -> str:
    return f"""
[[notify]]
name = "platform-webhook"
channel = "webhook"
url = "{receiver.url}/hook"
on = ["new", "resolved"]
retries = {retries}
backoff_seconds = 0

[[notify]]
name = "security-slack"
channel = "slack"
url_env = "CA_TEST_SLACK_URL"
tiers = ["medium", "high", "critical"]
backoff_seconds = 0

[[notify]]
name = "legal-only-critical"
channel = "webhook"
url = "{receiver.url}/legal"
tiers = ["critical"]

[[notify]]
name = "crypto-issues"
channel = "github"
api_url = "{receiver.url}"
repository = "acme/keys"
token_env = "CA_TEST_GITHUB_TOKEN"
labels = ["crypto-audit"]
owners = ["crypto-team"]
backoff_seconds = 0
{extra}"""


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch, http_receiver: Receiver) -> None:
    monkeypatch.setenv("CA_TEST_SLACK_URL", f"{http_receiver.url}/services/{SLACK_SECRET}")
    monkeypatch.setenv("CA_TEST_GITHUB_TOKEN", TOKEN)


def _ledger_text(folder: Path) -> str:
    with sqlite3.connect(folder / ".cryptoaudit" / "ledger.db") as connection:
        return "\n".join(row[0] for row in connection.execute(
            "SELECT content FROM cryptoaudit_entries"))


def _notifications(folder: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(folder / ".cryptoaudit" / "ledger.db") as connection:
        return [json.loads(row[0]) for row in connection.execute(
            "SELECT content FROM cryptoaudit_entries WHERE type = 'notification' ORDER BY seq")]


def test_new_then_resolved_findings_reach_each_channel_once(
        pytester: pytest.Pytester, http_receiver: Receiver) -> None:
    make_project(pytester.path, extra=rules(http_receiver))
    first = audit_pytester(pytester)
    assert first.ret == 1  # the weak key is a finding; delivery went well
    assert "cryptoaudit: notify: 3 findings delivered" in first.output

    [hook] = http_receiver.posted("/hook")
    assert hook.body["event"] == "new" and hook.body["rule"] == "platform-webhook"
    assert [f["key_uid"] for f in hook.body["findings"]] == [WEAK]
    assert hook.body["findings"][0]["owner"] == "crypto-team"
    [slack] = http_receiver.posted("/services/")
    assert slack.body["text"] == "New crypto audit findings: 1"
    assert f"CEK-04 key-strength on {WEAK} (app-keys)" in \
        slack.body["blocks"][1]["text"]["text"]
    assert not http_receiver.posted("/legal")  # a medium finding is not for legal
    assert http_receiver.issues[1]["title"] == (
        f"[crypto audit] CEK-04 key-strength on {WEAK} (app-keys)")
    assert http_receiver.issues[1]["labels"] == ["crypto-audit"]

    recorded = _notifications(pytester.path)
    assert {(n["rule"], n["kind"], n["status"], n["key_uid"]) for n in recorded} == {
        (rule, "new", "delivered", WEAK)
        for rule in ("platform-webhook", "security-slack", "crypto-issues")}
    assert next(n for n in recorded if n["rule"] == "crypto-issues")["issue"] == 1

    sent = len(http_receiver.requests)
    again = audit_pytester(pytester)
    assert again.ret == 1
    assert len(http_receiver.requests) == sent  # nothing announced twice
    assert "notify:" not in again.output

    (pytester.path / "keys" / "weak.pem").unlink()
    fixed = audit_pytester(pytester)
    assert fixed.ret == 0, fixed.output
    [_, resolved] = http_receiver.posted("/hook")
    assert resolved.body["event"] == "resolved"
    assert http_receiver.issues[1]["state"] == "closed"
    assert http_receiver.issues[1]["comments"][0].startswith("Resolved: no longer reported")
    [_, slack_resolved] = http_receiver.posted("/services/")
    assert slack_resolved.body["text"] == "Resolved crypto audit findings: 1"

    everything = "\n".join([_ledger_text(pytester.path), first.output, fixed.output,
                            json.dumps([r.body for r in http_receiver.requests])])
    assert SLACK_SECRET not in everything and TOKEN not in everything
    assert "slack $CA_TEST_SLACK_URL" in _ledger_text(pytester.path)


def test_a_failed_delivery_is_an_error_of_the_run_and_retried_later(
        pytester: pytest.Pytester, http_receiver: Receiver,
        capsys: pytest.CaptureFixture[str]) -> None:
    make_project(pytester.path, extra=rules(http_receiver, retries=2))
    http_receiver.fail = 3  # the webhook's three attempts all fail; the others go through
    run = audit_pytester(pytester)
    assert run.ret == pytest.ExitCode.INTERNAL_ERROR
    assert ("cryptoaudit: notify rule platform-webhook (webhook http://127.0.0.1:"
            in run.output)
    assert "1 new finding(s) not delivered: HTTP 503 Service Unavailable" in run.output
    [failed] = [n for n in _notifications(pytester.path) if n["status"] == "failed"]
    assert (failed["rule"], failed["attempts"]) == ("platform-webhook", 3)
    assert len(http_receiver.posted("/hook")) == 3

    capsys.readouterr()
    config = str(pytester.path / "cryptoaudit.toml")
    assert main(["notify", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "1 delivered, 0 failed" in out
    assert http_receiver.posted("/hook")[-1].body["event"] == "new"
    assert main(["notify", "--config", config]) == 0
    assert "0 delivered, 0 failed" in capsys.readouterr().out
    assert len(http_receiver.posted("/hook")) == 4

    assert main(["notify", "--config", config, "--log", "--format", "json"]) == 0
    log = [(d["rule"], d["kind"], d["status"], d["attempts"])
           for d in json.loads(capsys.readouterr().out)]
    assert log == [("platform-webhook", "new", "failed", 3),
                   ("security-slack", "new", "delivered", 1),
                   ("crypto-issues", "new", "delivered", 1),
                   ("platform-webhook", "new", "delivered", 1)]
    assert main(["notify", "--config", config, "--log"]) == 0
    table = capsys.readouterr().out
    assert "failed: HTTP 503 Service Unavailable from webhook http://127.0.0.1:" in table


def test_an_unreachable_receiver_and_a_missing_variable_are_reported(
        pytester: pytest.Pytester, http_receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    make_project(pytester.path, extra=rules(http_receiver, retries=0).replace(
        http_receiver.url + "/hook", "http://127.0.0.1:9/hook"))
    monkeypatch.delenv("CA_TEST_GITHUB_TOKEN")
    run = audit_pytester(pytester)
    assert run.ret == pytest.ExitCode.INTERNAL_ERROR
    assert "platform-webhook (webhook http://127.0.0.1:9): 1 new finding(s) not " \
        "delivered: cannot reach webhook http://127.0.0.1:9:" in run.output
    assert ("crypto-issues (github issues of acme/keys): 1 new finding(s) not delivered: "
            "notify rule crypto-issues: token_env: variable $CA_TEST_GITHUB_TOKEN is not set"
            in run.output)


def test_overdue_findings_are_announced_once_per_reason(
        pytester: pytest.Pytester, http_receiver: Receiver,
        capsys: pytest.CaptureFixture[str]) -> None:
    make_project(pytester.path, extra=rules(http_receiver) + """
[[notify]]
name = "overdue-hook"
channel = "webhook"
url = "URL/overdue"
on = ["overdue"]
""".replace("URL", http_receiver.url))
    assert audit_pytester(pytester).ret == 1
    assert not http_receiver.posted("/overdue")
    config = str(pytester.path / "cryptoaudit.toml")
    later = (datetime.now(UTC) + timedelta(days=60)).isoformat()
    assert main(["notify", "--config", config, "--dry-run", "--now", later]) == 0
    assert "would send 3 notices" in capsys.readouterr().out  # slack, issue comment, hook
    assert not http_receiver.posted("/overdue")
    assert main(["notify", "--config", config, "--now", later]) == 0
    [overdue] = http_receiver.posted("/overdue")
    [finding] = overdue.body["findings"]
    assert finding["key_uid"] == WEAK
    assert "with no corrective action after the 14-day triage time" in finding["overdue"]
    assert http_receiver.issues[1]["comments"][-1].startswith("Overdue: open since")
    assert main(["notify", "--config", config, "--now", later]) == 0
    assert len(http_receiver.posted("/overdue")) == 1


@pytest.mark.parametrize(("rule", "message"), [
    ({"channel": "slack"}, "channel slack needs url or url_env"),
    ({"channel": "webhook", "url": "http://x", "url_env": "X"}, "url or url_env"),
    ({"channel": "github", "repository": "a/b"}, "channel github needs token_env"),
    ({"channel": "email", "smtp_host": "mail"}, "channel email needs sender, to"),
    ({"channel": "webhook", "url": "http://x", "on": ["fixed"]}, "on.0"),
])
def test_rules_are_checked_when_loaded(rule: dict[str, Any], message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        NotifyRule.model_validate({"name": "r", **rule})


def test_rules_match_by_tier_system_control_owner_and_event() -> None:
    rule = NotifyRule.model_validate({
        "name": "r", "channel": "webhook", "url": "http://x", "on": ["new"],
        "tiers": ["high"], "systems": ["pay-*"], "controls": ["CEK-04/key-strength", "CEK-12"],
        "owners": ["payments"]})
    finding = {"system": "pay-kms", "control": "CEK-04", "check": "key-strength",
               "risk_tier": "high", "owner": "payments"}
    assert rule.matches("new", finding)
    assert rule.matches("new", {**finding, "control": "CEK-12", "check": "key-age"})
    for change in ({"system": "hr-kms"}, {"risk_tier": "low"}, {"owner": "hr"},
                   {"check": "algorithm-allowed"}):
        assert not rule.matches("new", {**finding, **change}), change
    assert not rule.matches("resolved", finding)


def test_email_goes_over_starttls_with_credentials_from_the_environment(
        pytester: pytest.Pytester, smtp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CA_TEST_SMTP_USER", "auditbot")
    monkeypatch.setenv("CA_TEST_SMTP_PASSWORD", "smtp-secret-pw")
    make_project(pytester.path, extra=f"""
[[notify]]
name = "compliance-mail"
channel = "email"
smtp_host = "127.0.0.1"
smtp_port = {smtp_server.port}
ca_file = "{smtp_server.ca_file}"
sender = "cryptoaudit@example.org"
to = ["compliance@example.org", "legal@example.org"]
username_env = "CA_TEST_SMTP_USER"
password_env = "CA_TEST_SMTP_PASSWORD"
backoff_seconds = 0
""")
    run = audit_pytester(pytester)
    assert run.ret == 1, run.output
    [message] = smtp_server.messages
    assert (smtp_server.tls_sessions, smtp_server.logins) == (1, ["auditbot"])
    assert message["Subject"] == "New crypto audit findings: 1"
    assert message["To"] == "compliance@example.org, legal@example.org"
    assert f"CEK-04 key-strength on {WEAK} (app-keys)" in message.get_payload()
    ledger = _ledger_text(pytester.path)
    assert "email to compliance@example.org, legal@example.org via 127.0.0.1:" in ledger
    assert "smtp-secret-pw" not in ledger + run.output


def test_email_refused_without_the_right_password_is_a_failed_delivery(
        pytester: pytest.Pytester, smtp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CA_TEST_SMTP_USER", "auditbot")
    monkeypatch.setenv("CA_TEST_SMTP_PASSWORD", "wrong-password-42")
    make_project(pytester.path, extra=f"""
[[notify]]
name = "compliance-mail"
channel = "email"
smtp_host = "127.0.0.1"
smtp_port = {smtp_server.port}
ca_file = "{smtp_server.ca_file}"
sender = "cryptoaudit@example.org"
to = ["compliance@example.org"]
username_env = "CA_TEST_SMTP_USER"
password_env = "CA_TEST_SMTP_PASSWORD"
retries = 1
backoff_seconds = 0
timeout_seconds = 3
""")
    run = audit_pytester(pytester)
    assert run.ret == pytest.ExitCode.INTERNAL_ERROR
    assert "compliance-mail (email to compliance@example.org via 127.0.0.1:" in run.output
    assert "1 new finding(s) not delivered: email to compliance@example.org" in run.output
    assert not smtp_server.messages
    assert "wrong-password-42" not in run.output + _ledger_text(pytester.path)


def test_gitlab_issues_are_opened_and_closed_through_its_api(
        pytester: pytest.Pytester, http_receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CA_TEST_GITLAB_TOKEN", TOKEN)
    make_project(pytester.path, extra=f"""
[[notify]]
name = "gitlab-issues"
channel = "gitlab"
api_url = "{http_receiver.url}/api/v4"
repository = "crypto/estate"
token_env = "CA_TEST_GITLAB_TOKEN"
labels = ["crypto-audit", "cek"]
backoff_seconds = 0
""")
    assert audit_pytester(pytester).ret == 1
    [created] = http_receiver.requests
    assert created.path == "/api/v4/projects/crypto%2Festate/issues"
    assert created.headers["private-token"] == TOKEN
    assert created.body["labels"] == "crypto-audit,cek"
    assert "cryptoaudit finding assign" in created.body["description"]
    (pytester.path / "keys" / "weak.pem").unlink()
    assert audit_pytester(pytester).ret == 0
    assert [(r.method, r.path) for r in http_receiver.requests[1:]] == [
        ("POST", "/api/v4/projects/crypto%2Festate/issues/1/notes"),
        ("PUT", "/api/v4/projects/crypto%2Festate/issues/1")]
    assert http_receiver.issues[1]["state"] == "closed"


def test_under_xdist_only_the_controller_notifies(
        pytester: pytest.Pytester, http_receiver: Receiver) -> None:
    pytest.importorskip("xdist")
    make_project(pytester.path, extra=rules(http_receiver))
    run = audit_pytester(pytester, "-n", "2")
    assert run.ret == 1, run.output
    assert len(http_receiver.posted("/hook")) == 1
    assert len(http_receiver.issues) == 1
    assert len(_notifications(pytester.path)) == 3
