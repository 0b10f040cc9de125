"""``--cryptoaudit-control``: ids are case-insensitive, and an unknown one is a usage error."""

from __future__ import annotations

import textwrap

import pytest

from pytest_cryptoaudit.selection import builtin_ids, canonical, check_known, selects
from tests.core.conftest import TOOLS_CONFIG, read_evidence
from tests.factories import private_pem, rsa_key, write

CONFIG = TOOLS_CONFIG
USER_CONTROL = """
import pytest

@pytest.mark.control("ORG-01", "Key names", check="pem-suffix")
def test_pem_suffix(crypto_key):
    assert crypto_key.uid.endswith(".pem")
"""


@pytest.fixture
def estate(pytester):
    write(pytester.path / "keys/weak.pem", private_pem(rsa_key(1024)))
    pytester.makefile(".toml", cryptoaudit=CONFIG)
    return pytester


@pytest.mark.parametrize("workers", [[], ["-p", "xdist", "-n", "2"]], ids=["serial", "xdist"])
def test_unknown_control_is_a_usage_error_naming_the_known_ids(estate, workers):
    result = estate.runpytest("--cryptoaudit", "--cryptoaudit-control", "CEK-99",
                              "--cryptoaudit-json", "evidence.json", *workers)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stdout.str() + result.stderr.str()
    assert "--cryptoaudit-control: unknown control CEK-99 (known: CEK-03, CEK-04, " in text
    assert "CEK-12" in text and "no control ran" not in text
    assert not (estate.path / "evidence.json").exists()  # a refused run leaves no evidence


def test_control_ids_are_case_insensitive(estate):
    result = estate.runpytest("--cryptoaudit", "--cryptoaudit-control", "cek-12",
                              "--cryptoaudit-json", "evidence.json")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    evidence = read_evidence(estate.path / "evidence.json")
    assert {r["control"] for r in evidence["results"]} == {"CEK-12"}
    assert evidence["run"]["selection"]["controls"] == ["CEK-12"]


def test_a_user_control_is_known_and_selected_in_any_case(estate):
    estate.makepyfile(test_mine=USER_CONTROL)
    result = estate.runpytest("--cryptoaudit", "--cryptoaudit-control", "org-01", "-v")
    result.stdout.fnmatch_lines(["*test_pem_suffix[[]pem-suffix-files:keys/weak.pem[]] PASSED*"])
    missing = estate.runpytest("--cryptoaudit", "--cryptoaudit-control", "ORG-02")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["*unknown control ORG-02 (known: *ORG-01*"])


def test_only_the_collected_controls_are_known_without_the_builtin_ones(estate):
    estate.makepyfile(test_mine=textwrap.dedent(USER_CONTROL))
    result = estate.runpytest("--cryptoaudit", "--cryptoaudit-no-builtin",
                              "--cryptoaudit-control", "CEK-12")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown control CEK-12 (known: ORG-01)*"])


def test_selection_helpers():
    assert "CEK-12" in builtin_ids() and "CEK-99" not in builtin_ids()
    assert canonical(["cek-12", "Org-7"], ["CEK-12"]) == frozenset({"CEK-12", "Org-7"})
    assert canonical([], ["CEK-12"]) is None
    assert selects(None, "CEK-01") and selects(frozenset({"org-7"}), "ORG-7")
    assert not selects(frozenset({"CEK-12"}), "CEK-01")
    check_known(frozenset({"cek-12"}), ["CEK-12"])
    with pytest.raises(pytest.UsageError, match=r"unknown control CEK-99 \(known: CEK-12\)"):
        check_known(frozenset({"CEK-99", "CEK-12"}), ["CEK-12"])
