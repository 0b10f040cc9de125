"""The Markdown summary as a pure function of the evidence (and the previous findings); the
HTML summary read from the same typed evidence."""

from __future__ import annotations

import copy
from typing import Any

from pytest_cryptoaudit.evidence_model import Evidence
from pytest_cryptoaudit.findings import diff_findings, finding_id
from pytest_cryptoaudit.reporting.html import summary_html
from pytest_cryptoaudit.reporting.markdown import findings_of, render_markdown
from tests.reporting.conftest import FullRun


def _finding(check: str, key: str, outcome: str = "failed", system: str = "s") -> dict[str, Any]:
    return {"control": "CEK-04", "check": check, "key_uid": key, "system": system,
            "outcome": outcome, "risk_tier": "high", "message": "m"}


def test_diff_findings() -> None:
    previous = [_finding("key-strength", "a"), _finding("key-strength", "b")]
    current = [_finding("key-strength", "b", "waived"), _finding("algorithm-allowed", "a")]
    diff = diff_findings(previous, current)
    assert [(f["check"], f["key_uid"]) for f in diff.new] == [("algorithm-allowed", "a")]
    assert [(f["check"], f["key_uid"]) for f in diff.resolved] == [("key-strength", "a")]
    assert [f["outcome"] for f in diff.persisting] == ["waived"]


def test_a_finding_is_the_same_finding_in_the_summary_and_the_ledger() -> None:
    """One identity: the ledger's stored id, which includes the system, so the same check on
    a same-named key of another system is another finding (it was one in the summary)."""
    previous = [_finding("key-strength", "a", system="one")]
    current = [_finding("key-strength", "a", system="two")]
    diff = diff_findings(previous, current)
    assert (len(diff.new), len(diff.resolved), diff.persisting) == (1, 1, [])
    assert finding_id("one", "CEK-04", "key-strength", "a") != \
        finding_id("two", "CEK-04", "key-strength", "a")


def test_new_and_resolved_since_previous_run(full_run: FullRun) -> None:
    evidence = full_run.evidence
    previous = findings_of(evidence)
    assert {f["outcome"] for f in previous} == {"failed", "error", "waived"}
    resolved = _finding("key-age", "files:keys/retired.pem")
    current = copy.deepcopy(evidence)
    current["results"] = [r for r in current["results"] if r["check"] != "not-expired"]
    text = render_markdown(current, [*previous, resolved])
    section = text.split("### Since the last run", 1)[1]
    assert "0 new, 2 resolved," in section
    assert "`files:keys/retired.pem`" in section
    assert "`files:certs/expired.crt`" in section.split("**Resolved**", 1)[1]
    assert "### Since the last run" not in render_markdown(evidence)


def test_pipes_in_messages_do_not_break_tables(full_run: FullRun) -> None:
    evidence = copy.deepcopy(full_run.evidence)
    failing = next(r for r in evidence["results"] if r["outcome"] == "failed")
    failing["message"] = "a | b\nsecond line"
    text = render_markdown(evidence)
    row = next(line for line in text.splitlines() if "a \\| b" in line)
    assert row.count(" | ") == 5  # six cells: the pipe in the message is escaped
    assert "second line" not in text


def test_the_typed_evidence_renders_as_its_json_document(full_run: FullRun) -> None:
    """The reporter reads the model; the run's JSON document gives the same summary."""
    document = full_run.evidence
    typed = Evidence.model_validate(document)
    assert render_markdown(typed, findings_of(document)) == \
        render_markdown(document, findings_of(document))
    assert findings_of(typed) == findings_of(document)
    assert {type(f["outcome"]) for f in findings_of(typed)} == {str}  # not the enum


def test_the_html_summary_reads_the_typed_evidence(full_run: FullRun) -> None:
    """The pytest-html summary reads the model too, with the same output as the document's."""
    document = full_run.evidence
    html = summary_html(Evidence.model_validate(document))
    assert html == summary_html(document)
    assert 'id="cryptoaudit-not-applicable"' in html and "<th>Not applicable</th>" in html
