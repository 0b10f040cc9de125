"""Every CI file validates against the schema its platform publishes, vendored, offline."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.shipping.conftest import ROOT, pyproject

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))


def validate(schema: str, *paths: Path) -> tuple[int, str]:
    """check-jsonschema with a schema it ships in its own package: no network is used.

    Run in-process (its command through click's runner): it takes seconds to import, once."""
    from check_jsonschema.cli.main_command import main

    checked = CliRunner().invoke(main, ["--builtin-schema", schema, *map(str, paths)])
    return checked.exit_code, checked.output


@pytest.mark.slow
def test_every_workflow_matches_the_github_schema():
    # One call for all files (its output names the file that fails): each call costs a second.
    assert len(WORKFLOWS) >= 3, WORKFLOWS
    code, output = validate("vendor.github-workflows", *WORKFLOWS)
    assert code == 0, output


@pytest.mark.slow
def test_the_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    code, output = validate("vendor.github-workflows", broken)
    assert code == 1, output


def test_release_workflow_checks_tests_publishes_and_attests():
    release = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())
    jobs = release["jobs"]
    steps = {job: " ".join(str(step) for step in spec["steps"]) for job, spec in jobs.items()}
    assert "python -m build" in steps["build"]
    assert "twine check --strict" in steps["build"]
    assert "dist/*.whl" in steps["test-wheel"]
    assert "rm -rf pytest_cryptoaudit" in steps["test-wheel"]
    assert "pypa/gh-action-pypi-publish" in steps["publish"]
    assert "actions/attest-build-provenance" in steps["publish"]
    # Trusted publishing: an OIDC token, never a stored password or API token.
    assert jobs["publish"]["permissions"]["id-token"] == "write"
    assert "password" not in steps["publish"] and "secrets." not in steps["publish"]
    assert set(jobs["publish"]["needs"]) == {"build", "test-wheel", "container"}


def test_release_tests_every_python_version_the_classifiers_claim():
    release = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())
    tested = set(release["jobs"]["test-wheel"]["strategy"]["matrix"]["python-version"])
    claimed = {c.rsplit(" :: ", 1)[1] for c in pyproject()["project"]["classifiers"]
               if c.startswith("Programming Language :: Python :: 3.")}
    assert tested == claimed
