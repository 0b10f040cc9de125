"""Deeply nested TOML or YAML is a usage error naming the file, never a RecursionError."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_cryptoaudit.config import ConfigError, load_config
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import ProviderRegistry
from pytest_cryptoaudit.waivers import WaiverError, load_waivers

DEPTH = 5000
NESTED = {
    "arrays": "x = " + "[" * DEPTH + "]" * DEPTH + "\n",
    "inline tables": "x = " + "{a = " * DEPTH + "1" + "}" * DEPTH + "\n",
    "moderate arrays": "x = " + "[" * 200 + "]" * 200 + "\n",
}


@pytest.mark.parametrize("shape", sorted(NESTED))
def test_deep_config_is_a_usage_error(tmp_path: Path, shape: str) -> None:
    path = tmp_path / "cryptoaudit.toml"
    path.write_text(NESTED[shape])
    with pytest.raises(ConfigError, match=r"cryptoaudit.toml: .*nested more than 100 levels"):
        load_config(path, ProviderRegistry(), BUILTIN_SETTINGS)


@pytest.mark.parametrize("shape", sorted(NESTED))
def test_deep_waivers_are_a_usage_error(tmp_path: Path, shape: str) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text(NESTED[shape])
    with pytest.raises(WaiverError, match=r"waivers.toml: .*nested more than 100 levels"):
        load_waivers(path)


def test_deep_yaml_waivers_are_a_usage_error(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers: " + "[" * DEPTH + "]" * DEPTH + "\n")
    with pytest.raises(WaiverError, match=r"waivers.yaml: .*nested more than 100 levels"):
        load_waivers(path)


def test_deep_config_ends_the_run_as_a_usage_error(pytester: pytest.Pytester) -> None:
    (pytester.path / "cryptoaudit.toml").write_text(NESTED["arrays"])
    result = pytester.runpytest_subprocess("--cryptoaudit", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cryptoaudit.toml: *nested more than 100 levels*"])
