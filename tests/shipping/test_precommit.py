"""The pre-commit hook, proven with ``pre-commit try-repo`` on a repository with staged keys.

The ``language: python`` hook builds its own environment from the package index, which no
test may reach; the ``language: system`` hook runs the same entry with the environment's own
package, so try-repo exercises it offline. Both share the entry and the file filter (asserted).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from pytest_cryptoaudit.precommit import IAC_FILE, KEY_FILE, key_files, main, parse_arguments
from tests.factories import ec_key, private_pem, rsa_key, write
from tests.shipping.conftest import ROOT, run

HOOKS = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
GIT_IDENTITY = ["-c", "user.name=cryptoaudit", "-c", "user.email=cryptoaudit@example.com"]


def git(folder: Path, *args: str) -> None:
    done = run(["git", *GIT_IDENTITY, *args], cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def hook_repository(tmp_path: Path) -> Path:
    """A committed repository holding the hook manifest, as a user's pre-commit would fetch."""
    folder = tmp_path / "hooks"
    folder.mkdir()
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", folder)
    git(folder, "init", "-q", ".")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "hooks")
    return folder


def try_repo(hooks: Path, project: Path, *staged: str,
             hook: str = "cryptoaudit-files-system", args: tuple[str, ...] = ()) -> tuple[int, str]:
    git(project, "init", "-q", ".")
    git(project, "add", *staged)
    env = {"PRE_COMMIT_HOME": str(project.parent / "pre-commit-home"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    if args:  # as a user's .pre-commit-config.yaml passes them
        config = {"repos": [{"repo": str(hooks), "rev": "HEAD",
                             "hooks": [{"id": hook, "args": list(args)}]}]}
        (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
        rev = run(["git", "rev-parse", "HEAD"], cwd=hooks).stdout.strip()
        config["repos"][0]["rev"] = rev
        (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
        git(project, "add", ".pre-commit-config.yaml")
        done = run([sys.executable, "-m", "pre_commit", "run", hook, "--all-files"],
                   cwd=project, env=env)
    else:
        done = run([sys.executable, "-m", "pre_commit", "try-repo", str(hooks), hook],
                   cwd=project, env=env)
    return done.returncode, done.stdout + done.stderr


def test_manifest_is_valid_for_pre_commit():
    from pre_commit.clientlib import load_manifest

    loaded = {hook["id"]: hook for hook in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))}
    assert set(loaded) == {"cryptoaudit-files", "cryptoaudit-files-system", "cryptoaudit-iac",
                           "cryptoaudit-iac-system"}
    assert loaded["cryptoaudit-files"]["language"] == "python"
    assert loaded["cryptoaudit-iac"]["language"] == "python"
    files_hooks = [HOOKS["cryptoaudit-files"], HOOKS["cryptoaudit-files-system"]]
    code_hooks = [HOOKS["cryptoaudit-iac"], HOOKS["cryptoaudit-iac-system"]]
    assert {hook["entry"] for hook in files_hooks} == {"python -m pytest_cryptoaudit.precommit"}
    assert {hook["entry"] for hook in code_hooks} == {
        "python -m pytest_cryptoaudit.precommit --iac"}
    # pre-commit's filters and the module's agree on what each hook reacts to.
    assert {hook["files"] for hook in files_hooks} == {KEY_FILE.pattern}
    assert {hook["files"] for hook in code_hooks} == {IAC_FILE.pattern}


@pytest.mark.slow
def test_try_repo_stops_a_commit_with_a_weak_key(hook_repository, tmp_path):
    project = tmp_path / "project"
    write(project / "deploy/weak.pem", private_pem(rsa_key(1024)))
    write(project / "deploy/strong.pem", private_pem(ec_key()))
    (project / "README.md").write_text("not a key\n")
    code, output = try_repo(hook_repository, project, ".")
    assert code == 1, output
    assert "key-strength" in output and "deploy/weak.pem" in output
    assert "RSA-1024 is below the 2048-bit minimum" in output
    assert "README.md" not in output


@pytest.mark.slow
def test_try_repo_passes_a_commit_with_a_strong_key(hook_repository, tmp_path):
    project = tmp_path / "project"
    write(project / "deploy/strong.pem", private_pem(ec_key()))
    code, output = try_repo(hook_repository, project, ".")
    assert code == 0, output
    assert "Passed" in output


def test_only_key_files_are_audited(tmp_path):
    names = ["a/cert.crt", "a/id_ed25519", "a/server.KEY", "README.md", "a/id_ed25519.txt"]
    assert [p.name for p in key_files(names)] == ["cert.crt", "id_ed25519", "server.KEY"]


def test_arguments_after_the_separator_go_to_pytest():
    options, extra = parse_arguments(["--risk-tier", "high", "k.pem", "--", "--tb=short"])
    assert (options.risk_tier, options.filenames, extra) == ("high", ["k.pem"], ["--tb=short"])


IAC_CONFIG = """
[[systems]]
name = "infra"
provider = "terraform"
risk_tier = "high"
ssrm_owner = "CSC"
accountable_owner = "platform-team"
paths = ["infra"]
"""
TERRAFORM = """
variable "rotate" {
  type    = bool
  default = %s
}

resource "aws_kms_key" "payments" {
  description         = "payments"
  enable_key_rotation = var.rotate
}
"""


def code_project(folder: Path, rotate: bool) -> Path:
    write(folder / "infra/main.tf", (TERRAFORM % str(rotate).lower()).encode())
    write(folder / "cryptoaudit-iac.toml", IAC_CONFIG.encode())
    return folder


@pytest.mark.slow
def test_iac_hook_stops_a_commit_that_plans_a_key_without_rotation(hook_repository, tmp_path):
    project = code_project(tmp_path / "project", rotate=False)
    code, output = try_repo(hook_repository, project, ".", hook="cryptoaudit-iac-system",
                            args=("--config", "cryptoaudit-iac.toml"))
    assert code == 1, output
    assert "kms-rotation-enabled" in output and "aws_kms_key.payments" in output


@pytest.mark.slow
def test_iac_hook_passes_a_module_whose_variables_rotate_the_key(hook_repository, tmp_path):
    project = code_project(tmp_path / "project", rotate=True)
    code, output = try_repo(hook_repository, project, ".", hook="cryptoaudit-iac-system",
                            args=("--config", "cryptoaudit-iac.toml"))
    assert code == 0, output


def test_iac_hook_without_its_configuration_is_a_usage_error(tmp_path, capsys):
    assert main(["--iac", "infra/main.tf"]) == 2
    assert "--config" in capsys.readouterr().err
    assert main(["--iac", "--config", str(tmp_path / "missing.toml"), "main.tf"]) == 2
    assert "not found" in capsys.readouterr().err


def test_iac_hook_ignores_a_commit_without_code(tmp_path):
    assert main(["--iac", "--config", str(tmp_path / "missing.toml"), "README.md"]) == 0
