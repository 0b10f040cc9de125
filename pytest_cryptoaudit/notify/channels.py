"""How a batch of notices reaches people: a JSON webhook, a Slack-compatible incoming
webhook, e-mail over SMTP with STARTTLS, or one GitHub/GitLab issue per finding.

Each channel raises :class:`DeliveryError` with a reason that names no secret (the URL of a
Slack webhook is one: it is never part of a message). Only the Python standard library is
used, so routing needs no extra.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from .owed import Notice
from .rules import NotifyRule

SOURCE = "pytest-cryptoaudit"
TITLES = {"new": "New", "resolved": "Resolved", "overdue": "Overdue"}
SHOWN = 20


class DeliveryError(Exception):
    """A delivery failed; the message says why and names no secret."""


def _context(rule: NotifyRule) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=rule.ca_file) if rule.ca_file else \
        ssl.create_default_context()


def request(rule: NotifyRule, method: str, url: str, payload: Any = None,
            headers: Mapping[str, str] | None = None) -> Any:
    """One HTTP request with a JSON body; the parsed JSON answer (None if empty)."""
    body = json.dumps(payload).encode() if payload is not None else None
    prepared = urllib.request.Request(url, data=body, method=method, headers={
        "Content-Type": "application/json", "User-Agent": SOURCE, **(headers or {})})
    context = _context(rule) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(prepared, timeout=rule.timeout_seconds,
                                    context=context) as answer:
            text = answer.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} {exc.reason} from {rule.target}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"cannot reach {rule.target}: {reason}") from None
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


def line(notice: Notice) -> str:
    """``[high] CEK-04 key-strength on files:keys/weak.pem (app-keys): RSA-1024 ...``."""
    f = notice.finding
    text = (f"[{f['risk_tier']}] {f['control']} {f['check']} on {f['key_uid']} "
            f"({f['system']}): {f['message'] or f['outcome']}")
    return f"{text} — {notice.reason}" if notice.reason else text


def summary(kind: str, notices: Sequence[Notice]) -> list[str]:
    lines = [line(n) for n in notices[:SHOWN]]
    if len(notices) > SHOWN:
        lines.append(f"... and {len(notices) - SHOWN} more (`cryptoaudit finding list`)")
    return [f"{TITLES[kind]} crypto audit findings: {len(notices)}", *lines]


def send_webhook(rule: NotifyRule, kind: str, notices: Sequence[Notice]) -> None:
    """A generic JSON document: the event and its findings."""
    request(rule, "POST", rule.webhook_url(), {
        "source": SOURCE, "rule": rule.name, "event": kind,
        "findings": [{**n.finding, **({"overdue": n.reason} if n.reason else {})}
                     for n in notices]})


def send_slack(rule: NotifyRule, kind: str, notices: Sequence[Notice]) -> None:
    """Slack's incoming-webhook message (Mattermost and Teams' Slack mode read it too)."""
    head, *rest = summary(kind, notices)
    request(rule, "POST", rule.webhook_url(), {
        "text": head, "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": head}},
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": "\n".join(f"• {r}" for r in rest)}}]})


def send_email(rule: NotifyRule, kind: str, notices: Sequence[Notice]) -> None:
    """One message per event to the rule's recipients, over STARTTLS unless disabled."""
    head, *rest = summary(kind, notices)
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = head, rule.sender, ", ".join(rule.to)
    message.set_content("\n".join([*rest, "", f"Sent by {SOURCE} rule {rule.name}."]))
    try:
        with smtplib.SMTP(rule.smtp_host or "", rule.smtp_port,
                          timeout=rule.timeout_seconds) as smtp:
            if rule.starttls:
                smtp.starttls(context=_context(rule))
            if rule.username_env:
                smtp.login(rule.secret(rule.username_env, "username_env"),
                           rule.secret(rule.password_env, "password_env")
                           if rule.password_env else "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        reason = getattr(exc, "smtp_error", b"") or str(exc)
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else reason
        raise DeliveryError(f"{rule.target}: {type(exc).__name__}: {text}") from None


# -- one issue per finding ------------------------------------------------------------------


def _issue_text(notice: Notice) -> tuple[str, str]:
    f = notice.finding
    title = f"[crypto audit] {f['control']} {f['check']} on {f['key_uid']} ({f['system']})"
    body = "\n".join([
        f"Finding `{f['id']}` ({f['risk_tier']} tier, accountable owner "
        f"{f['owner'] or 'not set'}), first seen {f['first_seen']}.", "",
        f"> {f['message'] or f['outcome']}", "",
        "Follow it up with `cryptoaudit finding assign "
        f"{f['id']} --owner NAME --due DATE`, fix it, or waive it.",
        f"<!-- {SOURCE} finding {f['id']} -->"])
    return title, body


class IssueTracker:
    """GitHub's or GitLab's issues API: create, comment, close, reopen."""

    def __init__(self, rule: NotifyRule) -> None:
        self.rule = rule
        self.github = rule.channel == "github"
        token = rule.secret(rule.token_env, "token_env")
        self.headers = ({"Authorization": f"Bearer {token}",
                         "Accept": "application/vnd.github+json"} if self.github
                        else {"PRIVATE-TOKEN": token})
        repository = rule.repository or ""
        self.base = (f"{rule.api_root}/repos/{repository}/issues" if self.github
                     else f"{rule.api_root}/projects/{quote(repository, safe='')}/issues")

    def _call(self, method: str, path: str, payload: Any) -> Any:
        return request(self.rule, method, self.base + path, payload, self.headers)

    def open(self, notice: Notice) -> Any:
        title, body = _issue_text(notice)
        labels: Any = list(self.rule.labels) if self.github else ",".join(self.rule.labels)
        created = self._call("POST", "", {"title": title, "labels": labels,
                                          "body" if self.github else "description": body})
        number = (created or {}).get("number" if self.github else "iid")
        if number is None:
            raise DeliveryError(f"{self.rule.target}: the API answered without an issue number")
        return number

    def comment(self, number: Any, text: str) -> None:
        path = f"/{number}/comments" if self.github else f"/{number}/notes"
        self._call("POST", path, {"body": text})

    def set_state(self, number: Any, closed: bool) -> None:
        if self.github:
            self._call("PATCH", f"/{number}", {"state": "closed" if closed else "open"})
        else:
            self._call("PUT", f"/{number}", {"state_event": "close" if closed else "reopen"})


def send_issue(rule: NotifyRule, notice: Notice, issue: Any) -> Any:
    """Create the finding's issue (or reopen it), comment when overdue, close it when
    resolved; the issue number to remember."""
    tracker = IssueTracker(rule)
    if notice.kind == "resolved":
        if issue is not None:
            tracker.comment(issue, f"Resolved: no longer reported by the complete audit of "
                                   f"{notice.finding['resolved_at']}.")
            tracker.set_state(issue, closed=True)
        return issue
    if issue is None:
        return tracker.open(notice)
    if notice.kind == "new":
        tracker.set_state(issue, closed=False)
        tracker.comment(issue, "Reported again by a complete audit.")
    else:
        tracker.comment(issue, f"Overdue: {notice.reason}.")
    return issue


BATCH_CHANNELS = {"webhook": send_webhook, "slack": send_slack, "email": send_email}
