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

from pytest_cryptoaudit.precommit import KEY_FILE, key_files, parse_arguments
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


def try_repo(hooks: Path, project: Path, *staged: str) -> tuple[int, str]:
    git(project, "init", "-q", ".")
    git(project, "add", *staged)
    env = {"PRE_COMMIT_HOME": str(project.parent / "pre-commit-home"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = run([sys.executable, "-m", "pre_commit", "try-repo", str(hooks),
                "cryptoaudit-files-system"], cwd=project, env=env)
    return done.returncode, done.stdout + done.stderr


def test_manifest_is_valid_for_pre_commit():
    from pre_commit.clientlib import load_manifest

    loaded = {hook["id"]: hook for hook in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))}
    assert set(loaded) == {"cryptoaudit-files", "cryptoaudit-files-system"}
    assert loaded["cryptoaudit-files"]["language"] == "python"
    entries = {hook["entry"] for hook in HOOKS.values()}
    assert entries == {"python -m pytest_cryptoaudit.precommit"}
    # pre-commit's filter and the module's agree on what a key file is.
    assert {hook["files"] for hook in HOOKS.values()} == {KEY_FILE.pattern}


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
