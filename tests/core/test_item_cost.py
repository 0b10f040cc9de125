"""What keeps an audit test cheap must not change what it reports: subjects reach a control
as parametrized values (no fixture function per test), and a subject lacking a required
attribute still errors with the reason before the check runs."""

from __future__ import annotations

import json
import textwrap

import pytest

from pytest_cryptoaudit.catalog import ControlSpec
from pytest_cryptoaudit.model import KeyKind, KeyRecord, RiskTier, SystemRecord
from pytest_cryptoaudit.results import Metadata, subject_metadata

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


KEPT_REPORTS = '''

def pytest_terminal_summary(terminalreporter):
    import json

    kept = [report for reports in terminalreporter.stats.values() for report in reports
            if getattr(report, "cryptoaudit", None) is not None]
    keywords = {}
    for report in kept:
        keywords.setdefault(report.nodeid, {})[id(report.keywords)] = sorted(report.keywords)
    (terminalreporter.config.rootpath / "kept.json").write_text(json.dumps({
        "reports": len(kept),
        "with_metadata": sum("metadata" in report.cryptoaudit for report in kept),
        "keywords": {nodeid: list(dicts.values()) for nodeid, dicts in keywords.items()}}))
'''


def test_the_reports_kept_to_the_end_hold_no_metadata_the_results_have_it(
        planted: pytest.Pytester) -> None:
    planted.makeconftest("import pytest\n" + textwrap.dedent(PROVIDER) + KEPT_REPORTS)
    planted.runpytest("--cryptoaudit", "--cryptoaudit-no-builtin", "--cryptoaudit-no-ledger",
                      "--cryptoaudit-json=evidence.json")
    kept = json.loads((planted.path / "kept.json").read_text())
    # 6 tests of 3 phases, less the locked key's call and the findings the terminal holds back
    assert kept["reports"] >= 12 and kept["with_metadata"] == 0
    # the passed phases share one empty dict of keywords: nothing reads them
    passed = "test_planted.py::test_size_stated[size-stated-planted:ok]"
    assert kept["keywords"][passed] == [[]]
    # an error keeps its test's keywords, for -k in a rerun and for the reporters
    erred = "test_planted.py::test_size_stated[size-stated-planted:locked]"
    assert any({"test_size_stated[size-stated-planted:locked]", "test_planted.py", "control",
                "risk_tier", "ssrm"} <= set(keywords) for keywords in kept["keywords"][erred])
    noted = _outcomes(planted)[("noted", "planted:ok")]
    assert (noted["control"], noted["title"], noted["system"], noted["risk_tier"],
            noted["owner"]) == ("BENCH-03", "Noted", "vault", "high", "CSC")


def _spec() -> ControlSpec:
    return ControlSpec("CEK-04", "Key strength", "key-strength", references=("ISO 27001",),
                       remediation="rotate", ssrm="CSC")


def test_metadata_reads_the_spec_and_the_subject_as_the_dict_holds_them() -> None:
    key = KeyRecord(uid="files:a.pem", system="web", provider="files", kind=KeyKind.PRIVATE_KEY,
                    risk_tier=RiskTier.HIGH, owner="CSP", accountable_owner="payments")
    metadata = Metadata(_spec(), key)
    metadata["inputs_sha256"] = "ab" * 32
    assert dict(metadata) == {
        "control": "CEK-04", "title": "Key strength", "check": "key-strength",
        "system": "web", "key_uid": "files:a.pem", "risk_tier": "high", "owner": "CSP",
        "accountable_owner": "payments", "references": ("ISO 27001",),
        "remediation": "rotate", "ssrm": "CSC", "inputs_sha256": "ab" * 32}
    assert subject_metadata(_spec(), key) == {**metadata, "inputs_sha256": None}
    with pytest.raises(KeyError, match="system: read from the control and its subject"):
        metadata["system"] = "other"


def test_metadata_of_a_system_names_the_system_as_its_subject() -> None:
    system = SystemRecord(name="vault", provider="vault", risk_tier=RiskTier.CRITICAL,
                          owner="CSC")
    metadata = Metadata(_spec(), system)
    assert (metadata["system"], metadata["key_uid"], metadata["risk_tier"]) == (
        "vault", system.uid, "critical")
