"""The GitHub Action and the GitLab CI component: valid, consistent, and their audit scripts run.

No CI platform runs here, so each script is taken from its file and run under the shell the
platform would use, with the inputs as the platform would pass them, on a real key folder.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.factories import ec_key, private_pem, rsa_key, write
from tests.shipping.conftest import ROOT, run
from tests.shipping.test_workflows import validate

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
SPEC, JOB = yaml.safe_load_all((ROOT / "templates/cryptoaudit.yml").read_text())
INPUTS_USED = re.compile(r"\binputs\.([a-z-]+)")
ACTION_EXPRESSION = re.compile(r"\$\{\{\s*inputs\.([a-z-]+)\s*\}\}")
COMPONENT_EXPRESSION = re.compile(r"\$\[\[\s*inputs\.([a-z-]+)\s*\]\]")
REPORT_FILES = {"json": "evidence.json", "markdown": "summary.md", "junit": "junit.xml",
                "oscal": "oscal.json", "cbom": "cbom.json", "sarif": "results.sarif",
                "html": "report.html", "allure": "allure"}
CONFIG = """
[[systems]]
name = "laptop"
provider = "files"
risk_tier = "medium"
owner = "CSC"
paths = ["keys"]
"""


@pytest.fixture
def key_folder(tmp_path: Path) -> Path:
    """A repository with a weak and a strong key and a test of its own that must not run."""
    write(tmp_path / "keys/weak.pem", private_pem(rsa_key(1024)))
    write(tmp_path / "keys/strong.pem", private_pem(ec_key()))
    (tmp_path / "cryptoaudit.toml").write_text(CONFIG)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_app.py").write_text("def test_app():\n    raise SystemExit(3)\n")
    return tmp_path


def shell_env(variables: dict[str, str], folder: Path) -> dict[str, str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**variables, "PATH": path, "GITHUB_OUTPUT": str(folder / "github-output")}


def audit_step() -> dict[str, Any]:
    return next(step for step in ACTION["runs"]["steps"] if step.get("id") == "audit")


def action_env(**inputs: str) -> dict[str, str]:
    """The audit step's variables with the action's defaults, as the runner would set them."""
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    values.update(inputs)
    return {variable: ACTION_EXPRESSION.sub(lambda m: values[m.group(1)], template)
            for variable, template in audit_step()["env"].items()}


@pytest.mark.slow
def test_action_matches_the_github_actions_schema():
    code, output = validate("vendor.github-actions", ROOT / "action.yml")
    assert code == 0, output


def test_action_inputs_are_declared_and_used():
    text = (ROOT / "action.yml").read_text()
    used = set(INPUTS_USED.findall(text))
    assert used == set(ACTION["inputs"]), used ^ set(ACTION["inputs"])
    for name, spec in ACTION["inputs"].items():
        assert spec.get("description"), name


def test_example_workflow_passes_only_inputs_the_action_has():
    workflow = yaml.safe_load((ROOT / "examples/ci/github-actions.yml").read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]
             if s.get("uses", "").startswith("pytest-cryptoaudit/pytest-cryptoaudit@")]
    assert len(steps) == 2  # live systems, and the pull request's infrastructure code
    for step in steps:
        assert set(step["with"]) <= set(ACTION["inputs"])
        for report in step["with"]["reports"].split():
            assert report in REPORT_FILES
    pull_request = workflow["jobs"]["infrastructure-code"]
    assert pull_request["permissions"]["security-events"] == "write"
    assert "sarif" in pull_request["steps"][-1]["with"]["reports"].split()


def test_action_audit_step_runs_every_report(key_folder):
    env = action_env(reports=" ".join(REPORT_FILES), **{"fail-on": "medium"})
    result = run(["bash", "-c", audit_step()["run"]], cwd=key_folder,
                 env=shell_env(env, key_folder))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # the weak key's findings; the app's test never ran
    assert "test_app" not in output
    report_dir = key_folder / "cryptoaudit-report"
    assert {p.name for p in report_dir.iterdir()} == set(REPORT_FILES.values())
    evidence = json.loads((report_dir / "evidence.json").read_text())
    outcomes = {(r["key_uid"], r["check"]): r["outcome"] for r in evidence["results"]}
    assert outcomes[("files:keys/weak.pem", "key-strength")] == "failed"
    outputs = (key_folder / "github-output").read_text().splitlines()
    assert "exit-code=1" in outputs
    assert "evidence=cryptoaudit-report/evidence.json" in outputs
    assert "sarif=cryptoaudit-report/results.sarif" in outputs
    sarif = json.loads((report_dir / "results.sarif").read_text())
    located = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
               for r in sarif["runs"][0]["results"]}
    assert ("CEK-04/key-strength", "keys/weak.pem") in located


def test_action_uploads_sarif_only_when_asked_and_written():
    upload = next(step for step in ACTION["runs"]["steps"]
                  if step.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert "inputs.upload-sarif == 'true'" in upload["if"]
    assert "steps.audit.outputs.sarif != ''" in upload["if"]
    assert upload["with"]["sarif_file"] == "${{ steps.audit.outputs.sarif }}"


def test_action_rejects_an_unknown_report(key_folder):
    env = action_env(reports="json pdf")
    result = run(["bash", "-c", audit_step()["run"]], cwd=key_folder,
                 env=shell_env(env, key_folder))
    assert result.returncode == 2
    assert "unknown report 'pdf'" in result.stdout


@pytest.mark.slow
def test_component_matches_the_gitlab_schema(tmp_path):
    for name, document in (("spec.json", SPEC), ("job.json", JOB)):
        (tmp_path / name).write_text(json.dumps(document))
    code, output = validate("vendor.gitlab-ci", tmp_path / "spec.json", tmp_path / "job.json")
    assert code == 0, output


def test_component_inputs_are_declared_and_used():
    text = (ROOT / "templates/cryptoaudit.yml").read_text()
    assert set(COMPONENT_EXPRESSION.findall(text)) == set(SPEC["spec"]["inputs"])


def component_variables(**inputs: str) -> dict[str, str]:
    """The job's variables with the component's defaults, as GitLab interpolates them."""
    values = {name: json.dumps(spec["default"]) if isinstance(spec["default"], bool)
              else spec["default"] for name, spec in SPEC["spec"]["inputs"].items()}
    values.update(inputs)
    return {variable: COMPONENT_EXPRESSION.sub(lambda m: values[m.group(1)], template)
            for variable, template in JOB["cryptoaudit"]["variables"].items()}


def test_component_audit_script_runs_under_sh(key_folder):
    variables = component_variables(reports="json junit markdown")
    assert variables["CRYPTOAUDIT_DUE_ONLY"] == "false"
    script = JOB["cryptoaudit"]["script"][-1]
    result = run(["sh", "-c", script], cwd=key_folder, env=shell_env(variables, key_folder))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "test_app" not in output
    written = {p.name for p in (key_folder / "cryptoaudit-report").iterdir()}
    assert written == {"evidence.json", "junit.xml", "summary.md"}


def test_every_option_the_scripts_can_pass_exists(pytester):
    """Also the options of branches the runs above do not take (--cryptoaudit-due, waivers)."""
    help_text = pytester.runpytest("--help").stdout.str()
    for script in (audit_step()["run"], JOB["cryptoaudit"]["script"][-1]):
        options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", script))
        assert {"--cryptoaudit-due", "--cryptoaudit-json"} <= options
        missing = {option for option in options if option not in help_text}
        assert not missing, missing
