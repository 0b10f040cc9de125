"""``--cryptoaudit-group-by system``: one test per (check, system), one subtest per key, and
results, evidence and reports per (check, key) exactly as without it."""

from __future__ import annotations

import json
import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.testing import (
    AuditRun,
    audit_pytester,
    key_record,
)
from tests.core.conftest import audit_managed, shared_managed_audit

GROUPED = ("--cryptoaudit-group-by", "system")
#: Fields that differ between any two runs.
RUN_BOUND = ("duration",)


def _comparable(run: AuditRun) -> dict[str, Any]:
    """What two runs of one estate must agree on: every result (outcome, message, waiver,
    notes, inputs, node id) per (check, uid), the not-applicable entries, the summary and
    the waivers' status."""
    results = {(r["check"], r["key_uid"]): {k: v for k, v in r.items() if k not in RUN_BOUND}
               for r in run.evidence["results"]}
    assert len(results) == len(run.evidence["results"]), "one result per (check, uid)"
    evidence = run.evidence
    return {"results": results, "not_applicable": evidence["not_applicable"],
            "summary": evidence["summary"], "waivers": evidence["waivers"], "ret": run.ret}


def _differences(found: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Per (check, uid) and field, what a run gave and what was expected."""
    lines = [f"{part}: {found[part]} != {expected[part]}" for part in expected
             if part != "results" and found[part] != expected[part]]
    for pair, result in expected["results"].items():
        other = found["results"].get(pair, {})
        lines += [f"{pair} {field}: {other.get(field)!r} != {value!r}"
                  for field, value in result.items() if other.get(field) != value]
    return lines


@pytest.fixture(scope="session")
def ungrouped_run(managed_run: tuple[Path, AuditRun]) -> tuple[Path, AuditRun]:
    """The managed-key estate's audit without grouping (``test_managed_controls`` judges
    its outcomes): findings, a waived one, an unreadable fact, checks that apply nowhere."""
    return managed_run


@pytest.fixture(scope="session")
def grouped_run(tmp_path_factory: pytest.TempPathFactory,
                managed_estate: Path) -> tuple[Path, AuditRun]:
    return shared_managed_audit(tmp_path_factory, managed_estate, "grouped", *GROUPED)


@pytest.fixture(scope="session")
def ungrouped(ungrouped_run: tuple[Path, AuditRun]) -> AuditRun:
    return ungrouped_run[1]


@pytest.fixture(scope="session")
def grouped(grouped_run: tuple[Path, AuditRun]) -> AuditRun:
    return grouped_run[1]


def test_grouped_evidence_equals_ungrouped(ungrouped: AuditRun, grouped: AuditRun) -> None:
    expected = _comparable(ungrouped)
    # the estate exercises what must survive grouping
    outcomes = {r["outcome"] for r in expected["results"].values()}
    assert {"passed", "failed", "error", "waived"} <= outcomes
    assert expected["not_applicable"]
    assert any(r["notes"] for r in expected["results"].values())
    assert _comparable(grouped).keys() == expected.keys()
    assert not _differences(_comparable(grouped), expected)
    assert grouped.evidence["results"] == sorted(grouped.evidence["results"],
                                                 key=lambda r: r["nodeid"])


def test_grouped_runs_one_test_per_check_and_system(ungrouped: AuditRun,
                                                    grouped: AuditRun) -> None:
    assert "deselected" in grouped.output
    count = len(ungrouped.evidence["results"])
    assert f"{count - 23} passed" not in grouped.output  # the subtests are not tests
    line = next(x for x in grouped.output.splitlines() if " failed," in x and " in " in x)
    passed = int(line.split(" passed")[0].rsplit(" ", 1)[-1])
    assert passed < count / 5, line


def _junit(path: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """Test case name -> (failure / error / skipped / passed, properties)."""
    cases = {}
    for case in ET.parse(path).iter("testcase"):
        tags = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        properties = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        cases[f"{case.get('classname')}::{case.get('name')}"] = (
            tags[0] if tags else "passed", properties)
    return cases


def test_junit_lists_one_case_per_check_and_key(
        ungrouped_run: tuple[Path, AuditRun], grouped_run: tuple[Path, AuditRun]) -> None:
    expected = _junit(ungrouped_run[0] / "ungrouped.xml")
    found = _junit(grouped_run[0] / "grouped.xml")
    per_key = {name: case for name, case in found.items() if name in expected}
    assert per_key == expected
    # the grouped tests themselves are the only other cases, one per (check, system)
    others = set(found) - set(expected)
    assert others and all(name.endswith("]") and "memory:" not in name for name in others)


#: What an HTML attribute's escaping makes of a character, ``&amp;`` last so that an
#: escaped entity stays one. A megabyte of report data is unescaped in a hundredth of the
#: time ``html.unescape`` takes, which looks up every HTML entity name at each ``&``.
_ATTRIBUTE_ESCAPES = (("&#34;", '"'), ("&quot;", '"'), ("&#39;", "'"), ("&#x27;", "'"),
                      ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def _html_rows(path: Path) -> dict[str, list[str]]:
    """pytest-html's rows: test id -> results."""
    found = re.search(r'data-jsonblob="([^"]*)"', path.read_text(encoding="utf-8"))
    assert found is not None, f"{path} holds no report data"
    blob = found.group(1)
    for escaped, character in _ATTRIBUTE_ESCAPES:
        blob = blob.replace(escaped, character)
    tests = json.loads(blob)["tests"]
    return {test_id: [row["result"] for row in rows] for test_id, rows in tests.items()}


def test_pytest_html_shows_one_row_per_check_and_key(
        ungrouped_run: tuple[Path, AuditRun], grouped_run: tuple[Path, AuditRun]) -> None:
    expected = _html_rows(ungrouped_run[0] / "ungrouped.html")
    found = _html_rows(grouped_run[0] / "grouped.html")
    assert {"Passed", "Failed", "Error", "Skipped"} <= {r for v in expected.values() for r in v}
    assert {test_id: rows for test_id, rows in found.items() if test_id in expected} == expected


def test_grouped_mode_refuses_allure(pytester: pytest.Pytester) -> None:
    pytest.importorskip("allure_pytest")
    refused = r"(?s)wrote no evidence \(exit 4\).*--cryptoaudit-group-by cannot be combined " \
              r"with --alluredir: allure-pytest writes one result per pytest test"
    with pytest.raises(AssertionError, match=refused):
        audit_pytester(pytester, "--cryptoaudit-no-builtin", "--cryptoaudit-no-ledger",
                       "--alluredir", "allure", *GROUPED, inventory=_estate(pytester))


@pytest.mark.parametrize(("uids", "fail_on", "ret"), [
    (("1", "weak", "3"), "critical", 0),  # a medium finding, forgiven
    (("1", "weak", "3"), "medium", 1),    # the same finding at the threshold
    (("1", "broken", "weak"), "critical", 1),  # an error is never forgiven
], ids=["finding-forgiven", "finding-at-threshold", "error-never-forgiven"])
def test_fail_on_forgives_the_same_findings(pytester: pytest.Pytester, uids: tuple[str, ...],
                                            fail_on: str, ret: int) -> None:
    pytester.makepyfile(test_org=textwrap.dedent(CONTROLS))
    estate = [key_record(f"memory:{uid}", system=system)
              for system, uid in zip(("a", "a", "b"), uids, strict=True)]
    args = ("--cryptoaudit-no-builtin", "--cryptoaudit-no-ledger",
            "--cryptoaudit-fail-on", fail_on)
    plain = audit_pytester(pytester, *args, inventory=estate)
    grouped = audit_pytester(pytester, *args, *GROUPED, inventory=estate)
    assert plain.outcome("lookup", "memory:weak") == "failed"
    assert plain.ret == grouped.ret == ret
    assert not _differences(_comparable(grouped), _comparable(plain))
    forgiven = "cryptoaudit: 1 finding below the threshold critical"
    assert (forgiven in grouped.output) == (forgiven in plain.output) == (ret == 0)


CONTROLS = """
import pytest


@pytest.mark.control("ORG-01", "Lookups", check="lookup")
@pytest.mark.ssrm("CSC")
def test_lookup(crypto_key, crypto_note):
    crypto_note(f"looked at {crypto_key.uid}")
    if crypto_key.uid.endswith("broken"):
        raise ConnectionError("lookup endpoint unreachable")
    assert not crypto_key.uid.endswith("weak"), "named weak"


@pytest.fixture
def own_fixture(crypto_key):
    return crypto_key.uid


@pytest.mark.control("ORG-02", "Own fixture", check="own-fixture")
@pytest.mark.ssrm("CSC")
def test_own_fixture(crypto_key, own_fixture):
    assert own_fixture == crypto_key.uid
"""


LEDGER_CONTROL = """
import pytest


@pytest.mark.control("ORG-03", "Ledger", check="ledger-read")
@pytest.mark.ssrm("CSC")
def test_ledger_read(crypto_key, crypto_ledger):
    assert crypto_ledger is not None
"""


@pytest.mark.parametrize("grouping", [(), GROUPED], ids=["ungrouped", "grouped"])
def test_a_failed_fixture_is_a_result_of_every_key(pytester: pytest.Pytester,
                                                   grouping: tuple[str, ...]) -> None:
    # without the ledger, crypto_ledger skips: the grouped test's setup, so each of its keys
    pytester.makepyfile(test_ledger=textwrap.dedent(LEDGER_CONTROL))
    estate = [key_record(f"memory:{n}", system=s) for s, n in (("a", 1), ("a", 2), ("b", 3))]
    run = audit_pytester(pytester, "--cryptoaudit-no-builtin", "--cryptoaudit-no-ledger",
                         *grouping, inventory=estate)
    assert run.outcomes == {("ledger-read", f"memory:{n}"): "skipped" for n in (1, 2, 3)}
    assert "the ledger is disabled" in run.message("ledger-read", "memory:2")


def test_a_conftest_overriding_a_plugin_fixture_keeps_one_test_per_key(
        pytester: pytest.Pytester) -> None:
    # this crypto_policy depends on the key: given a group, it would fail otherwise
    pytester.makeconftest("""
import pytest

@pytest.fixture
def crypto_policy(crypto_key):
    raise RuntimeError(f"no policy for {crypto_key.uid}")
""")
    pytester.makepyfile(test_policy="""
import pytest

@pytest.mark.control("ORG-04", "Policy", check="with-policy")
@pytest.mark.ssrm("CSC")
def test_with_policy(crypto_key, crypto_policy):
    pass
""")
    estate = [key_record(f"memory:{n}", system="a") for n in (1, 2)]
    run = audit_pytester(pytester, "--cryptoaudit-no-builtin", "--cryptoaudit-no-ledger",
                         *GROUPED, inventory=estate)
    for n in (1, 2):
        assert run.outcome("with-policy", f"memory:{n}") == "error"
        assert run.message("with-policy", f"memory:{n}") == f"RuntimeError: no policy for " \
                                                          f"memory:{n}"
    assert run.run_result is not None
    assert run.run_result.parseoutcomes()["errors"] == 2


def _estate(pytester: pytest.Pytester) -> list[Any]:
    pytester.makepyfile(test_org=textwrap.dedent(CONTROLS))
    return [key_record(f"memory:{name}", system=system)
            for system, names in (("a", ("1", "broken", "3")), ("b", ("weak", "5")))
            for name in names]


def test_an_error_in_control_code_errors_that_key_only(pytester: pytest.Pytester) -> None:
    run = audit_pytester(pytester, "--cryptoaudit-no-builtin", "--cryptoaudit-no-ledger",
                         "--tb=short", "-rE", *GROUPED, inventory=_estate(pytester))
    assert run.outcomes == {
        ("lookup", "memory:1"): "passed", ("lookup", "memory:broken"): "error",
        ("lookup", "memory:3"): "passed", ("lookup", "memory:weak"): "failed",
        ("lookup", "memory:5"): "passed",
        **{("own-fixture", f"memory:{n}"): "passed" for n in ("1", "broken", "3", "weak", "5")},
    }
    assert "ConnectionError: lookup endpoint unreachable" in run.message("lookup",
                                                                          "memory:broken")
    assert run.result("lookup", "memory:3")["notes"] == ["looked at memory:3"]
    assert run.message("lookup", "memory:weak") == "named weak"
    assert run.run_result is not None
    # lookup: one test per system; own-fixture (a fixture of its own) one test per key
    run.run_result.assert_outcomes(passed=7, failed=1, errors=1, deselected=run.run_result
                                   .parseoutcomes().get("deselected", 0))
    assert 'raise ConnectionError("lookup endpoint unreachable")' in run.output


def test_grouped_mode_needs_the_subtests_plugin(pytester: pytest.Pytester) -> None:
    refused = r"(?s)wrote no evidence \(exit 4\).*--cryptoaudit-group-by reports each key as " \
              r"a pytest subtest, and the subtests plugin is disabled: drop -p no:subtests"
    with pytest.raises(AssertionError, match=refused):
        audit_pytester(pytester, "--cryptoaudit-no-builtin", "--cryptoaudit-no-ledger",
                       "-p", "no:subtests", *GROUPED, inventory=_estate(pytester))


def test_grouped_under_xdist_gives_the_same_evidence_and_junit(
        managed_estate: Path, ungrouped_run: tuple[Path, AuditRun], tmp_path: Path) -> None:
    folder, ungrouped = ungrouped_run
    run = audit_managed(managed_estate, tmp_path, "xdist", "-n", "2", *GROUPED)
    assert "2 workers" in run.output
    assert not _differences(_comparable(run), _comparable(ungrouped))
    expected = _junit(folder / "ungrouped.xml")
    found = _junit(tmp_path / "xdist.xml")
    assert {name: case for name, case in found.items() if name in expected} == expected


def test_an_incremental_grouped_run_carries_what_it_may(pytester: pytest.Pytester) -> None:
    estate = _estate(pytester)
    args = ("--cryptoaudit-incremental", *GROUPED)
    full = audit_pytester(pytester, *args, inventory=estate)
    again = audit_pytester(pytester, *args, inventory=estate)
    assert again.outcomes == full.outcomes
    carried = {pair for pair in again.outcomes if again.result(*pair)["carried"]}
    # an error is looked at again; a control with a fixture of its own is never carried
    mine = {pair for pair in carried if pair[0] in ("lookup", "own-fixture")}
    assert mine == {("lookup", f"memory:{n}") for n in ("1", "3", "weak", "5")}
    assert carried - mine, "built-in checks are carried too"
    assert again.result("lookup", "memory:weak")["carried"]["run"] == full.evidence["run"]["id"]
    assert again.message("lookup", "memory:weak") == "named weak"
    assert not full.result("lookup", "memory:weak")["carried"]


def test_a_grouped_shard_audits_what_an_ungrouped_one_does(pytester: pytest.Pytester) -> None:
    estate = _estate(pytester)
    shard = ("--cryptoaudit-no-builtin", "--cryptoaudit-shard", "1/2",
             "--cryptoaudit-audit-id", "audit-1")
    plain = audit_pytester(pytester, *shard, inventory=estate)
    grouped = audit_pytester(pytester, *shard, *GROUPED, inventory=estate)
    assert grouped.outcomes == plain.outcomes
    assert len({uid for _check, uid in plain.outcomes}) in (2, 3)  # one of the two systems
    assert grouped.evidence["run"]["shard"] == plain.evidence["run"]["shard"]
