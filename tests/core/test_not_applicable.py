"""Checks with no subject in a system leave ``not-applicable`` evidence, counted nowhere."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from pytest_cryptoaudit.applicability import describe_applies_to
from pytest_cryptoaudit.catalog_cli import load_builtin_catalog
from pytest_cryptoaudit.model import Outcome
from pytest_cryptoaudit.reporting.evidence import evidence_schema
from pytest_cryptoaudit.reporting.html import summary_html
from pytest_cryptoaudit.reporting.oscal import build_oscal
from tests.core.conftest import TOOLS_CONFIG, AuditRun, run_audit
from tests.factories import ec_key, private_pem, write
from tests.shared import once_per_run

#: A clean key-file system, and one whose discovery fails (never judged not applicable).
CONFIG = TOOLS_CONFIG + """
[[systems]]
name = "broken"
provider = "files"
risk_tier = "low"
owner = "CSC"
paths = ["missing/*.pem"]
"""
DISCOVERY_CHECK = ("CEK-21", "discovery-complete")


def _audit(folder: Path, *args: str) -> AuditRun:
    write(folder / "keys/strong.pem", private_pem(ec_key()))
    (folder / "cryptoaudit.toml").write_text(CONFIG)
    return run_audit(folder, "--cryptoaudit-no-ledger", *args)


def _shared(tmp_path_factory: pytest.TempPathFactory, name: str, *args: str) -> AuditRun:
    """:func:`_audit` once per test run, whichever xdist workers read it."""
    def build(folder: Path) -> dict:
        run = _audit(folder, *args)
        return {"ret": run.ret, "output": run.output, "evidence": run.evidence}

    _folder, stored = once_per_run(tmp_path_factory, name, build)
    return AuditRun(stored["ret"], stored["output"], stored["evidence"])


@pytest.fixture(scope="session")
def full(tmp_path_factory: pytest.TempPathFactory) -> AuditRun:
    return _shared(tmp_path_factory, "not-applicable-full")


@pytest.fixture(scope="session")
def narrowed(tmp_path_factory: pytest.TempPathFactory) -> AuditRun:
    """One system and two controls. Under xdist the workers work the entries out and hand
    them to the controller, which collects nothing: ``test_grouped`` checks that a run on
    two workers records the entries a serial one does."""
    return _shared(tmp_path_factory, "not-applicable-narrowed", "--cryptoaudit-system",
                   "tools", "--cryptoaudit-control", "CEK-08", "--cryptoaudit-control",
                   "cek-04")


def _pairs(entries: list[dict]) -> dict[tuple[str, str, str], str]:
    return {(e["control"], e["check"], e["system"]): e["reason"] for e in entries}


def test_every_check_is_accounted_for_in_a_clean_system(full):
    """Each built-in check either ran on the system's keys or is recorded as not applicable,
    never both, and none silently disappears."""
    jsonschema.validate(full.evidence, evidence_schema())
    ran = {(r["control"], r["check"]) for r in full.evidence["results"]
           if r["system"] == "tools"}
    unmatched = {(c, check) for c, check, s in _pairs(full.evidence["not_applicable"])
                 if s == "tools"}
    catalog = {(spec.id, spec.check) for spec in load_builtin_catalog()} - {DISCOVERY_CHECK}
    assert not ran & unmatched
    assert ran | unmatched == catalog
    assert len(unmatched) > 40


def test_the_reason_comes_from_the_controls_applicability(full):
    reasons = _pairs(full.evidence["not_applicable"])
    assert reasons[("CEK-08", "kms-policy-not-public", "tools")] == (
        "no key in system tools matches: a managed key whose provider reports who may use it")
    assert reasons[("CEK-03", "tls-protocol-versions", "tools")] == (
        "no endpoint in system tools matches: protocol tls")
    assert reasons[("CEK-09", "vault-seal-type", "tools")] == (
        "system tools does not match: provider vault")
    assert reasons[("CEK-12", "kms-rotation-enabled", "tools")].startswith(
        "no key in system tools matches: customer-managed keys the service can rotate")


def test_a_system_that_could_not_be_read_is_not_judged(full):
    assert full.evidence["systems"][0]["discovery_errors"]  # "broken" sorts first
    assert not [e for e in full.evidence["not_applicable"] if e["system"] == "broken"]


def test_not_applicable_counts_in_no_total(full):
    summary = full.evidence["summary"]
    assert summary["CEK-08"]["total"] == 0
    checks = sum(1 for spec in load_builtin_catalog() if spec.id == "CEK-08")
    assert summary["CEK-08"]["not-applicable"] == checks > 1  # per check, in system tools
    assert summary["CEK-04"]["total"] == sum(
        1 for r in full.evidence["results"] if r["control"] == "CEK-04")
    assert not any(r["outcome"] == "not-applicable" for r in full.evidence["results"])


def test_selection_is_respected_and_the_exit_code_untouched(narrowed):
    assert narrowed.ret == 0, narrowed.output[-2000:]
    jsonschema.validate(narrowed.evidence, evidence_schema())
    pairs = _pairs(narrowed.evidence["not_applicable"])
    assert {system for _, _, system in pairs} == {"tools"}
    assert {control for control, _, _ in pairs} == {"CEK-04", "CEK-08"}
    assert ("CEK-04", "kms-key-spec", "tools") in pairs


def test_oscal_shows_not_applicable_and_validates(full):
    from trestle.oscal.assessment_results import AssessmentResults

    document = build_oscal(full.evidence)
    AssessmentResults.model_validate(document["assessment-results"])
    result = document["assessment-results"]["results"][0]
    observation = next(o for o in result["observations"]
                       if o["title"] == "CEK-08 kms-grantees on tools: not applicable")
    assert "no key in system tools matches: a managed key whose provider reports who may use " \
           "it" in observation["description"]
    assert observation["methods"] == ["EXAMINE"]
    finding = next(f for f in result["findings"] if f["target"]["target-id"] == "cek-08_obj")
    assert finding["target"]["implementation-status"]["state"] == "not-applicable"
    assert not any(r["title"].startswith("CEK-08") for r in result.get("risks", []))
    applied = next(f for f in result["findings"] if f["target"]["target-id"] == "cek-04_obj")
    assert "implementation-status" not in applied["target"]


def test_html_summary_lists_them_with_why(full):
    html = summary_html(full.evidence)
    assert "<th>Not applicable</th>" in html
    assert 'id="cryptoaudit-not-applicable"' in html
    assert "CEK-08 <code>kms-grantees</code> on tools: no key in system tools matches: " \
           "a managed key whose provider reports who may use it" in html


def test_one_list_of_outcomes():
    schema = evidence_schema()
    assert schema["$defs"]["Outcome"]["enum"] == [o.value for o in Outcome]
    item = schema["$defs"]["NotApplicable"]["properties"]["outcome"]
    assert item["const"] == Outcome.NOT_APPLICABLE.value


def _documented(key) -> bool:
    """Keys worth a sentence."""
    return bool(key)


@pytest.mark.parametrize(("applies_to", "words"), [
    (None, []),
    ({"provider": "aws-kms", "kind": ["symmetric", "private-key"]},
     ["provider aws-kms", "kind symmetric or private-key"]),
    (_documented, ["keys worth a sentence"]),
    (lambda key: key.size > 2, ["key.size > 2"]),
])
def test_applies_to_in_words(applies_to, words):
    assert describe_applies_to(applies_to) == words
