"""The public testing helper (``pytest_cryptoaudit.testing``) and the suite's fast lane."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_cryptoaudit.testing import (
    audit_pytester,
    audit_subprocess,
    discovery_error,
    key_record,
)

REPO = Path(__file__).resolve().parents[2]
POLICY = {"policy": {"min_rsa_bits": {"high": 4096}}}


def test_planted_records_are_audited_and_read_by_check_and_uid(
        pytester: pytest.Pytester) -> None:
    records = [key_record("memory:weak-rsa", kind="private-key", algorithm="RSA", size=1024),
               key_record("memory:aes"),
               key_record("memory:rsa-3072", system="vault", kind="private-key",
                          algorithm="RSA", size=3072, risk_tier="high"),
               discovery_error("connection refused", system="down")]
    run = audit_pytester(pytester, inventory=records, config=POLICY)
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    assert run.outcome("key-strength", "memory:weak-rsa") == "failed"
    assert run.message("key-strength", "memory:weak-rsa") == (
        "RSA-1024 is below the 2048-bit minimum for tier medium")
    assert run.outcome("key-strength", "memory:aes") == "passed"
    # The config's policy reaches the planted records: 3072 bits is too few at tier high here.
    assert run.outcome("key-strength", "memory:rsa-3072") == "failed"
    assert run.outcome("discovery-complete", "memory:down") == "error"
    assert "connection refused" in run.messages[("discovery-complete", "memory:down")]
    assert run.outcomes[("key-strength", "memory:aes")] == "passed"
    assert {s["name"] for s in run.evidence["systems"]} == {"app", "vault", "down"}


def test_a_missing_result_is_an_assertion_naming_it(pytester: pytest.Pytester) -> None:
    run = audit_pytester(pytester, inventory=[key_record("memory:aes")])
    with pytest.raises(AssertionError, match="expected one key-strength result for memory:x"):
        run.outcome("key-strength", "memory:x")


def test_a_run_without_evidence_fails_with_its_output(pytester: pytest.Pytester) -> None:
    with pytest.raises(AssertionError, match=r"(?s)wrote no evidence \(exit 4\).*no cryptoaudit"):
        audit_pytester(pytester)  # no configuration at all: a usage error


def test_a_toml_file_elsewhere_is_the_config(pytester: pytest.Pytester, tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('[[systems]]\nname = "keys"\nprovider = "files"\nrisk_tier = "low"\n'
                      'ssrm_owner = "CSC"\naccountable_owner = "team"\npaths = ["keys"]\n')
    (pytester.path / "keys").mkdir()
    run = audit_pytester(pytester, "--cryptoaudit-no-ledger", config=config)
    assert run.run_result is not None
    assert run.outcome("discovery-complete", "files:keys") == "error"  # an empty folder
    assert "path 'keys' matched no file" in run.message("discovery-complete", "files:keys")


def test_subprocess_run_of_planted_records(tmp_path: Path) -> None:
    run = audit_subprocess(tmp_path, "--cryptoaudit-no-ledger", inventory=[
        key_record("memory:des", algorithm="DES", size=56)])
    assert run.run_result is None
    assert run.outcome("algorithm-allowed", "memory:des") == "failed"


def test_subprocess_audits_leave_out_hypothesis_and_unraisable_plugins(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # hypothesis' terminal summary imports hypothesis: a second of CPU in every audit run;
    # the unraisable-exception plugin's garbage collections at the end, a quarter second.
    argvs: list[list[str]] = []

    def run(argv: list[str], **_kwargs: object) -> subprocess.CompletedProcess[str]:
        argvs.append(argv)
        return subprocess.CompletedProcess(argv, 4, "usage error", "")

    monkeypatch.setattr("pytest_cryptoaudit.testing.subprocess.run", run)
    with pytest.raises(AssertionError, match=r"wrote no evidence \(exit 4\)"):
        audit_subprocess(tmp_path, inventory=[key_record("memory:aes")])
    [argv] = argvs
    assert argv[argv.index("no:hypothesispytest") - 1] == "-p", argv
    assert argv[argv.index("no:unraisableexception") - 1] == "-p", argv


def _collect(*args: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    return completed.stdout + completed.stderr


def test_service_marker_is_registered(pytestconfig: pytest.Config) -> None:
    assert any(line.startswith("service:") for line in pytestconfig.getini("markers"))


def test_slow_marker_is_registered(pytestconfig: pytest.Config) -> None:
    assert any(line.startswith("slow:") for line in pytestconfig.getini("markers"))


#: The fast lane's selection, as CONTRIBUTING.md documents it.
FAST_LANE = "not service and not slow"


def test_fast_lane_leaves_out_service_and_slow_tests_and_keeps_pure_ones() -> None:
    # Modules that import little: the child collects them, its start-up is the cost.
    service = "tests/aws/test_keyspec_missing.py"  # the KMS API server, through fixtures
    lab = "tests/vault/test_lab.py"                # the lab, started in the test body
    postgres = "tests/ledger/test_chain.py"        # SQLite and PostgreSQL by parameter
    pure = "tests/core/test_model.py"
    tooling = "tests/core/test_typing.py"          # mypy --strict is slow, its config check not
    listed = _collect("--collect-only", "-m", FAST_LANE, service, lab, postgres, pure, tooling)
    assert f"{pure}::" in listed, listed
    assert f"{service}::" not in listed and f"{lab}::" not in listed, listed
    assert "[sqlite" in listed and "[postgresql" not in listed, listed
    assert f"{tooling}::test_mypy_config_is_strict_over_package_and_controls" in listed, listed
    assert "test_mypy_strict_reports_no_issues" not in listed, listed


def test_contributing_documents_the_fast_lane_command() -> None:
    text = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert f'python -m pytest -m "{FAST_LANE}" -n 2' in text


def test_the_contributing_example_runs(pytester: pytest.Pytester) -> None:
    text = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("### Test a control with `pytest_cryptoaudit.testing`")[1]
    pytester.makepyfile(test_example=section.split("```python\n")[1].split("```")[0])
    result = pytester.runpytest("-p", "pytester", "-p", "no:cacheprovider", "test_example.py")
    result.assert_outcomes(passed=1)
