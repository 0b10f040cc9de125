"""The summary view: findings ranked by tier then control, grouped by reason; errors apart.

The lab's case: ten copies of one HSM key-age finding must not hide the critical system's
RSA-1024 key or the DES3 key.
"""

from __future__ import annotations

from typing import Any

from pytest_cryptoaudit.evidence_model import Result
from pytest_cryptoaudit.reporting.html import summary_html
from pytest_cryptoaudit.reporting.markdown import render_markdown
from pytest_cryptoaudit.reporting.summary import finding_line, headline, summary_view


def _result(tier: str, control: str, check: str, key: str, outcome: str,
            message: str) -> dict[str, Any]:
    return {"risk_tier": tier, "control": control, "check": check, "key_uid": key,
            "system": key.split(":")[0], "outcome": outcome, "message": message,
            "title": control, "nodeid": f"{check}[{key}]"}


RESULTS = [
    *[_result("medium", "CEK-12", "key-age", f"hsm:key-{n}", "failed",
              "older than its cryptoperiod\ndetail") for n in range(10)],
    _result("critical", "CEK-04", "key-strength", "files:rsa-1024.pem", "failed",
            "RSA-1024 is below the 2048-bit minimum"),
    _result("high", "CEK-04", "key-strength", "vault:des3", "failed", "DES3 is not allowed"),
    _result("critical", "CEK-21", "discovery-complete", "kms:eu", "error",
            "CryptoAuditError: could not read system eu"),
    _result("low", "CEK-12", "key-age", "files:fine.pem", "passed", ""),
]


def test_findings_are_ranked_by_tier_then_control_and_grouped_by_reason():
    view = summary_view(RESULTS)
    assert [(g.risk_tier, g.control, g.count) for g in view.finding_groups] == [
        ("critical", "CEK-04", 1), ("high", "CEK-04", 1), ("medium", "CEK-12", 10)]
    assert view.finding_groups[2].reason == "older than its cryptoperiod"
    assert [e["key_uid"] for e in view.errors] == ["kms:eu"]
    assert headline(view) == "12 findings (3 distinct reasons), 1 error"
    assert finding_line(view.findings[0]) == (
        "[critical] CEK-04 key-strength files:rsa-1024.pem: "
        "RSA-1024 is below the 2048-bit minimum")
    owned = {**view.findings[0], "accountable_owner": "payments-team"}
    assert finding_line(owned).startswith(
        "[critical] CEK-04 key-strength files:rsa-1024.pem (owner payments-team): ")


def _evidence() -> dict[str, Any]:
    run = {"id": "0123456789", "started": "2026-01-01", "finished": "2026-01-01"}
    return {"run": run, "systems": [], "inventory": [], "results": RESULTS, "summary": {},
            "waivers": {}}


def test_markdown_renders_the_same_view():
    text = render_markdown(_evidence())
    findings = text.split("### Findings: 12 findings (3 distinct reasons), 1 error", 1)[1]
    rows = [line for line in findings.split("### Errors")[0].splitlines()
            if line.startswith("| ") and "Tier" not in line]
    assert rows[0].startswith("| critical | CEK-04 | key-strength | 1 | `files:rsa-1024.pem` |")
    assert rows[2].startswith("| medium | CEK-12 | key-age | 10 |")
    errors = text.split("### Errors (1)", 1)[1]
    assert "| critical | CEK-21 | discovery-complete | 1 | `kms:eu` |" in errors


def test_html_renders_the_same_view():
    html = summary_html(_evidence())
    findings = html.split('id="cryptoaudit-findings"', 1)[1].split("</table>")[0]
    assert findings.index("rsa-1024") < findings.index("vault:des3") < findings.index("hsm:")
    assert "<td>10</td>" in findings
    assert "kms:eu" in html.split('id="cryptoaudit-errors"', 1)[1]


def test_typed_results_give_the_same_view() -> None:
    """The view reads evidence results typed or as dicts alike."""
    full = [Result.model_validate({**r, "owner": "CSC", "references": []}) for r in RESULTS]
    typed, plain = summary_view(full), summary_view(RESULTS)
    assert typed.finding_groups == plain.finding_groups
    assert typed.error_groups == plain.error_groups
    assert [finding_line(r) for r in typed.findings] == [finding_line(r) for r in plain.findings]
    assert finding_line(typed.findings[0]).startswith("[critical] CEK-04 key-strength ")
