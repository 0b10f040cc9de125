"""Waivers: a matching unexpired waiver turns a finding into ``waived``; expired ones are
ignored and reported; stale ones are reported; errors are never waived."""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import time_machine

from pytest_cryptoaudit.model import Outcome, RiskTier
from pytest_cryptoaudit.results import Result
from pytest_cryptoaudit.testing import audit_pytester
from pytest_cryptoaudit.waivers import Waiver, WaiverError, decide, load_waivers, status_report
from tests import factories

WEAK = "files:keys/weak.pem"
CONFIG = """
[[systems]]
name = "legacy"
provider = "files"
risk_tier = "medium"
ssrm_owner = "CSC"
accountable_owner = "crypto-team"
paths = ["keys"]
"""


def waiver(**fields: Any) -> str:
    entry = {"control": "CEK-04", "check": "key-strength", "key": "files:keys/weak*",
             "justification": "Appliance only takes RSA-1024.", "approver": "J. Doe",
             "expires": "2030-06-30", **fields}
    lines = [f"{k} = {v}" if k == "expires" else f'{k} = "{v}"'
             for k, v in entry.items() if v is not None]
    return "[[waivers]]\n" + "\n".join(lines) + "\n"


@pytest.fixture
def legacy(pytester: pytest.Pytester) -> pytest.Pytester:
    """One medium-tier system with a weak RSA key (a CEK-04 finding) and an unreadable file."""
    factories.write(pytester.path / "keys/weak.pem", factories.private_pem(factories.rsa_key(1024)))
    factories.write(pytester.path / "keys/strong.pem",
                    factories.private_pem(factories.ec_key()))
    factories.write(pytester.path / "keys/broken.pem", b"-----BEGIN PRIVATE KEY-----\nxx\n")
    (pytester.path / "cryptoaudit.toml").write_text(CONFIG)
    return pytester


def audit(pytester: pytest.Pytester, waivers: str, *args: str,
          name: str = "waivers.toml") -> tuple[pytest.RunResult, dict[str, Any]]:
    (pytester.path / name).write_text(waivers)
    run = audit_pytester(pytester, "--cryptoaudit-waivers", name, *args)
    assert run.run_result is not None
    return run.run_result, run.evidence


def outcome_of(evidence: dict[str, Any], check: str, key_uid: str) -> dict[str, Any]:
    return next(r for r in evidence["results"] if r["check"] == check and r["key_uid"] == key_uid)


def test_unexpired_waiver_turns_the_finding_into_waived(legacy: pytest.Pytester) -> None:
    result, evidence = audit(legacy, waiver(ticket="SEC-1", risk="medium"),
                             "--cryptoaudit-control", "CEK-04")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["waivers: 1 applied, 0 expired, 0 stale", "*1 waived*"])
    waived = outcome_of(evidence, "key-strength", WEAK)
    assert waived["outcome"] == "waived"
    assert waived["waiver"]["id"] == "waiver-1"
    assert (waived["waiver"]["status"], waived["waiver"]["ticket"]) == ("applied", "SEC-1")
    assert evidence["summary"]["CEK-04"]["waived"] == 1
    assert evidence["waivers"]["applied"][0]["waived"] == [WEAK]
    # The finding itself is still stated: the waiver accepts it, it does not hide it.
    assert "RSA-1024 is below the 2048-bit minimum" in waived["message"]


@pytest.mark.parametrize(("today", "expected"), [
    (dt.datetime(2030, 6, 30, 23, 59, tzinfo=dt.UTC), "waived"),
    (dt.datetime(2030, 7, 1, 0, 1, tzinfo=dt.UTC), "failed"),
])
def test_waiver_holds_through_its_expiry_date(legacy: pytest.Pytester, today: dt.datetime,
                                              expected: str) -> None:
    with time_machine.travel(today, tick=False):
        result, evidence = audit(legacy, waiver(), "--cryptoaudit-control", "CEK-04")
    finding = outcome_of(evidence, "key-strength", WEAK)
    assert finding["outcome"] == expected
    if expected == "failed":
        assert result.ret == 1
        assert finding["waiver"]["status"] == "expired"
        assert evidence["waivers"]["expired"][0]["unwaived"] == [WEAK]
        result.stdout.fnmatch_lines(["*expired waiver-1 (CEK-04, expired 2030-06-30*"])
    else:
        assert result.ret == 0
        assert evidence["waivers"]["expired"] == []


def test_stale_waivers_are_reported(legacy: pytest.Pytester) -> None:
    waivers = (waiver(id="W-gone", key="files:keys/retired-*") +
               waiver(id="W-fixed", control="CEK-04", check="algorithm-allowed", key="*"))
    result, evidence = audit(legacy, waivers, "--cryptoaudit-control", "CEK-04")
    stale = {w["id"]: w["reason"] for w in evidence["waivers"]["stale"]}
    assert stale == {"W-gone": "matched no check in this run",
                     "W-fixed": "matched 2 checks in this run, none failed"}
    assert outcome_of(evidence, "key-strength", WEAK)["outcome"] == "failed"
    result.stdout.fnmatch_lines(
        ["*stale W-gone (CEK-04, until *, approver *): matched no check in this run"])


def test_errors_are_never_waived(legacy: pytest.Pytester) -> None:
    waivers = waiver(control="CEK-21", check="discovery-complete", key="*")
    result, evidence = audit(legacy, waivers, "--cryptoaudit-control", "CEK-21")
    error = outcome_of(evidence, "discovery-complete", "files:keys/broken.pem")
    assert (error["outcome"], error["waiver"]) == ("error", None)
    assert result.ret == 1
    assert evidence["waivers"]["stale"][0]["id"] == "waiver-1"


def test_yaml_waivers(legacy: pytest.Pytester) -> None:
    waivers = textwrap.dedent("""
        waivers:
          - id: W-yaml
            control: CEK-04
            system: legacy
            justification: Appliance only takes RSA-1024.
            approver: J. Doe
            expires: 2099-01-31
    """)
    result, evidence = audit(legacy, waivers, "--cryptoaudit-control", "CEK-04",
                             name="waivers.yaml")
    assert result.ret == 0
    assert outcome_of(evidence, "key-strength", WEAK)["waiver"]["id"] == "W-yaml"


@pytest.mark.parametrize(("waivers", "message"), [
    (waiver(approver=None), "waivers[0].approver: missing"),
    (waiver(justification=None), "waivers[0].justification: missing"),
    (waiver(expires='"next year"'), "waivers[0].expires: expected a date (YYYY-MM-DD)"),
    (waiver(expires="2030-06-30T00:00:00Z"), "got a date-time"),
    (waiver(key=None), "waivers[0]: give 'key'"),
    (waiver(control="cek4"), "waivers[0].control: expected a control id"),
    (waiver(approver=""), "waivers[0].approver: expected a non-empty string"),
    (waiver(reason="x"), "waivers[0].reason: unknown key"),
    (waiver(approvr="x"), "waivers[0].approvr: unknown key; did you mean `approver`?"),
    (waiver(id="W") + waiver(id="W"), "duplicate id 'W'"),
    ("[[waivers]\n", "not valid TOML"),
])
def test_invalid_waivers_are_refused_naming_file_and_entry(tmp_path: Path, waivers: str,
                                                           message: str) -> None:
    # the loader the plugin calls; the run's usage error is the next test's
    path = tmp_path / "waivers.toml"
    path.write_text(waivers)
    with pytest.raises(WaiverError, match=re.escape(message)) as refused:
        load_waivers(path)
    assert str(refused.value).startswith(f"{path}: ")


def test_invalid_yaml_waivers_are_refused_naming_file_and_line(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n  - id: W-1\n    control: [CEK-04\n")
    refused_at = r"(?s)waivers\.yaml: not valid YAML: .*line 3"
    with pytest.raises(WaiverError, match=refused_at) as refused:
        load_waivers(path)
    assert str(refused.value).startswith(f"{path}: ")


def test_an_invalid_waivers_file_is_a_usage_error(legacy: pytest.Pytester) -> None:
    (legacy.path / "waivers.toml").write_text(waiver(approvr="x"))
    result = legacy.runpytest("--cryptoaudit", "--cryptoaudit-waivers", "waivers.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "waivers.toml: waivers[0].approvr: unknown key; did you mean `approver`?" \
        in result.stderr.str()


def test_missing_waivers_file_is_a_usage_error(legacy: pytest.Pytester) -> None:
    result = legacy.runpytest("--cryptoaudit", "--cryptoaudit-waivers", "nope.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "nope.toml: waivers file not found" in result.stderr.str()


def test_xfail_mark_is_no_waiver(pytester: pytest.Pytester) -> None:
    """pytest's xfail would let a finding pass the run silently; the audit still fails it."""
    (pytester.path / "cryptoaudit.toml").write_text(CONFIG)
    factories.write(pytester.path / "keys/weak.pem", factories.private_pem(factories.rsa_key(1024)))
    pytester.makepyfile(test_custom="""
        import pytest

        @pytest.mark.control("CEK-04", "Encryption algorithm", check="custom")
        @pytest.mark.xfail(reason="known")
        def test_custom(crypto_key):
            assert crypto_key.size >= 2048, "too small"
    """)
    result = pytester.runpytest("--cryptoaudit", "--cryptoaudit-no-builtin",
                                "--cryptoaudit-json", "evidence.json", "test_custom.py")
    evidence = json.loads((pytester.path / "evidence.json").read_text())
    assert evidence["results"][0]["outcome"] == "failed"
    assert result.ret == 1


def _result(check: str, key_uid: str, outcome: Outcome, waiver: dict[str, Any] | None) -> Result:
    return Result(nodeid=f"{check}[{key_uid}]", control="CEK-04", title="t", check=check,
                  system="legacy", key_uid=key_uid, outcome=outcome, risk_tier=RiskTier.LOW,
                  owner="CSC", waiver=waiver)


def test_decide_prefers_an_unexpired_waiver() -> None:
    old = Waiver(id="old", control="CEK-04", justification="j", approver="a",
                 expires=dt.date(2020, 1, 1), key="*")
    new = Waiver(id="new", control="CEK-04", justification="j", approver="a",
                 expires=dt.date(2030, 1, 1), system="leg*", check="key-strength")
    metadata = {"control": "CEK-04", "check": "key-strength", "key_uid": WEAK,
                "system": "legacy"}
    assert decide([old, new], metadata, dt.date(2025, 1, 1))["id"] == "new"
    assert decide([old, new], metadata, dt.date(2031, 1, 1))["status"] == "expired"
    assert decide([old, new], {**metadata, "control": "CEK-12"}, dt.date(2025, 1, 1)) is None
    waived = _result("key-strength", WEAK, Outcome.WAIVED, decide([new], metadata,
                                                                 dt.date(2025, 1, 1)))
    report = status_report([old, new], [waived], dt.date(2025, 1, 1))
    assert [w["id"] for w in report["applied"]] == ["new"]
    assert [w["id"] for w in report["expired"]] == ["old"]
    assert report["expired"][0]["unwaived"] == []


def test_waiver_round_trips_for_xdist_workers() -> None:
    original = Waiver(id="W", control="CEK-04", justification="j", approver="a",
                      expires=dt.date(2030, 1, 1), key="*", ticket="T-1", source="w.toml")
    assert Waiver.from_dict(json.loads(json.dumps(original.as_dict()))) == original


def test_waived_results_appear_in_junit(full_run: Any) -> None:
    """Covered by the full run: the waived check reports as an accepted failure (xfail)."""
    import xml.etree.ElementTree as ET

    tree = ET.parse(full_run.out / "junit.xml")
    case = next(c for c in tree.iter("testcase")
                if c.get("name") == "test_key_strength[key-strength-files:keys/weak-rsa.pem]")
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["waiver"] == "W-weak-rsa"
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("type") == "pytest.xfail"
    assert "approved by J. Doe (CISO), until 2099-12-31" in skipped.get("message", "")


def test_waivers_path_is_relative_to_the_invocation(legacy: pytest.Pytester) -> None:
    folder = legacy.path / "policy"
    folder.mkdir()
    (folder / "w.toml").write_text(waiver())
    result = legacy.runpytest("--cryptoaudit", "--cryptoaudit-waivers", str(Path("policy/w.toml")),
                              "--cryptoaudit-control", "CEK-04")
    assert result.ret == 0
