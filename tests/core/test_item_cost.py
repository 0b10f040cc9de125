"""What keeps an audit test cheap must not change what it reports: subjects reach a control
as parametrized values (no fixture function per test), and a subject lacking a required
attribute still errors with the reason before the check runs."""

from __future__ import annotations

import json
import textwrap

import pytest

PROVIDER = '''
from pytest_cryptoaudit import Provider, ProviderOptions


class Options(ProviderOptions):
    pass


class Planted(Provider):
    name = "planted"
    component = "kms"
    Options = Options

    def discover(self, system, context):
        attempt = self.new_discovery(system)
        attempt.add_key("planted:ok", "secret-key", algorithm="AES", size=256)
        attempt.add_key("planted:locked", "secret-key", algorithm="AES",
                        unreadable={"size": "the vault refused to say"})
        return attempt


def pytest_cryptoaudit_add_providers(registry):
    registry.register(Planted)


@pytest.fixture
def key_size(crypto_key):
    return crypto_key.size
'''

CONTROLS = '''
import pytest


@pytest.mark.control("BENCH-01", "Key size stated", check="size-stated", requires=["size"])
@pytest.mark.risk_tier("low")
@pytest.mark.ssrm("CSC")
def test_size_stated(crypto_key):
    assert crypto_key.size >= 128, "too small"


@pytest.mark.control("BENCH-02", "Size through a fixture", check="size-via-fixture")
@pytest.mark.risk_tier("low")
@pytest.mark.ssrm("CSC")
def test_size_via_fixture(key_size):
    assert key_size, "no size"


@pytest.mark.control("BENCH-03", "Noted", check="noted")
@pytest.mark.risk_tier("low")
@pytest.mark.ssrm("CSC")
def test_noted(crypto_key, crypto_note):
    crypto_note(f"seen {crypto_key.uid}")
    crypto_note("twice")
    assert crypto_key.size, "no size"
'''


@pytest.fixture
def planted(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest("import pytest\n" + textwrap.dedent(PROVIDER))
    pytester.makepyfile(test_planted=textwrap.dedent(CONTROLS))
    pytester.makefile(".toml", cryptoaudit=textwrap.dedent('''
        [[systems]]
        name = "vault"
        provider = "planted"
        risk_tier = "high"
        ssrm_owner = "CSC"
    '''))
    return pytester


def _outcomes(pytester: pytest.Pytester) -> dict[tuple[str, str], dict[str, str]]:
    evidence = json.loads((pytester.path / "evidence.json").read_text())
    return {(r["check"], r["key_uid"]): r for r in evidence["results"]}


def test_an_unreadable_required_attribute_errors_with_its_reason(
        planted: pytest.Pytester) -> None:
    result = planted.runpytest("--cryptoaudit", "--cryptoaudit-no-builtin",
                               "--cryptoaudit-no-ledger", "--cryptoaudit-json=evidence.json")
    outcomes = _outcomes(planted)
    locked = outcomes[("size-stated", "planted:locked")]
    assert locked["outcome"] == "error"
    assert locked["message"] == ("CryptoAuditError: cannot audit planted:locked: size: the "
                                 "vault refused to say")
    assert outcomes[("size-stated", "planted:ok")]["outcome"] == "passed"
    # the reason reaches the terminal, and the check itself never ran on that key
    result.stdout.fnmatch_lines(["*cannot audit planted:locked: size: the vault refused*"])
    assert "too small" not in result.stdout.str()


def test_a_fixture_built_on_the_subject_gets_the_parametrized_record(
        planted: pytest.Pytester) -> None:
    planted.runpytest("--cryptoaudit", "--cryptoaudit-no-builtin", "--cryptoaudit-no-ledger",
                      "--cryptoaudit-json=evidence.json")
    outcomes = _outcomes(planted)
    assert outcomes[("size-via-fixture", "planted:ok")]["outcome"] == "passed"
    assert outcomes[("size-via-fixture", "planted:locked")]["outcome"] == "failed"
    assert outcomes[("size-via-fixture", "planted:locked")]["message"] == "no size"


def test_notes_reach_the_result_of_their_own_test_only(planted: pytest.Pytester) -> None:
    planted.runpytest("--cryptoaudit", "--cryptoaudit-no-builtin", "--cryptoaudit-no-ledger",
                      "--cryptoaudit-json=evidence.json")
    outcomes = _outcomes(planted)
    assert outcomes[("noted", "planted:ok")]["notes"] == ["seen planted:ok", "twice"]
    assert outcomes[("noted", "planted:locked")]["notes"] == ["seen planted:locked", "twice"]
    assert outcomes[("noted", "planted:locked")]["outcome"] == "failed"
    assert outcomes[("size-stated", "planted:ok")]["notes"] == []


def test_without_the_audit_a_control_is_skipped_not_run(planted: pytest.Pytester) -> None:
    result = planted.runpytest()
    result.assert_outcomes(skipped=3)
