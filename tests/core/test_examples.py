"""Every example configuration loads, and the custom-controls example runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from pytest_cryptoaudit.config import load_config
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import ProviderRegistry
from tests.core.conftest import outcomes, run_audit
from tests.factories import ec_key, private_pem, write

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    "path", sorted(EXAMPLES.rglob("cryptoaudit.toml")), ids=lambda p: str(p.parent.name))
def test_example_config_is_valid(path):
    registry = ProviderRegistry()
    config = load_config(path, registry, [*BUILTIN_SETTINGS, *registry.policy_settings()])
    assert config.systems


def test_custom_controls_example(tmp_path):
    folder = tmp_path / "custom"
    shutil.copytree(EXAMPLES / "custom-controls", folder)
    write(folder / "keys/good.pem", private_pem(ec_key(ec.SECP384R1())))
    write(folder / "keys/odd-curve.key", private_pem(ec_key(ec.SECP521R1())))
    write(folder / "keys/id_service", private_pem(ec_key()))
    write(folder / "keys/locked.pem", private_pem(ec_key(), b"passphrase not given"))
    run = run_audit(folder, ".", "--cryptoaudit-control", "ORG-01",
                    "--cryptoaudit-control", "ORG-02", "-o", "python_files=test_*.py")
    found = outcomes(run.evidence)
    assert found[("files:keys/odd-curve.key", "approved-curve")] == "failed"
    assert found[("files:keys/good.pem", "approved-curve")] == "passed"
    # Its curve cannot be read without the passphrase: an error, never a silent pass or skip.
    assert found[("files:keys/locked.pem", "approved-curve")] == "error"
    assert found[("files:keys/id_service", "file-suffix")] == "failed"
    assert found[("files:keys/good.pem", "file-suffix")] == "passed"


def test_ci_examples_use_only_real_options(pytester):
    """Every --cryptoaudit-* option that the CI examples pass exists."""
    import re

    help_text = pytester.runpytest("--help").stdout.str()
    for workflow in sorted((EXAMPLES / "ci").iterdir()):
        used = set(re.findall(r"--cryptoaudit-[a-z-]+", workflow.read_text()))
        assert used, workflow
        missing = {option for option in used if option not in help_text}
        assert not missing, f"{workflow.name} uses unknown options {sorted(missing)}"
