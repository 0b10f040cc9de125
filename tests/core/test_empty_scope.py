"""An empty scope is never a complete audit that says nothing: config error or scope finding."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_cryptoaudit.config import ConfigError, parse_config
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import ProviderRegistry
from tests.core.conftest import TOOLS_CONFIG, read_evidence
from tests.factories import ec_key, private_pem, write

SYSTEM = {"name": "web", "provider": "files", "risk_tier": "high", "owner": "CSC"}


@pytest.mark.parametrize(("paths", "expected"), [
    ([], "systems[0] (web).paths: list should have at least 1 item"),
    ([""], "systems[0] (web).paths[0]: string should have at least 1 character"),
])
def test_empty_paths_are_a_config_error(paths: list[str], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"systems": [{**SYSTEM, "paths": paths}]}, ProviderRegistry(),
                     BUILTIN_SETTINGS, source=Path("cryptoaudit.toml"))
    assert expected in str(info.value)


def test_a_system_with_no_subject_is_a_scope_finding(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(textwrap.dedent("""
        from pytest_cryptoaudit import Provider

        class Empty(Provider):
            name = "empty"
            component = "kms"

            def discover(self, system, context):
                return self.new_discovery(system)

        def pytest_cryptoaudit_add_providers(registry):
            registry.register(Empty)
    """))
    write(pytester.path / "keys/strong.pem", private_pem(ec_key()))
    pytester.makefile(".toml", cryptoaudit="""
[[systems]]
name = "nothing-here"
provider = "empty"
risk_tier = "low"
owner = "CSC"
""" + TOOLS_CONFIG)
    pytester.runpytest_subprocess("--cryptoaudit", "--cryptoaudit-json=evidence.json",
                                  "-p", "no:cacheprovider")
    evidence = read_evidence(pytester.path / "evidence.json")
    scope = {r["system"]: r for r in evidence["results"] if r["check"] == "scope-coverage"}
    assert scope["nothing-here"]["outcome"] == "failed"
    assert ("nothing-here yielded no key, certificate, endpoint or crypto library"
            in scope["nothing-here"]["message"])
    assert scope["tools"]["outcome"] == "passed"
