"""Plugin behaviour through pytester: opt-in, selection, exit codes, extension (under xdist:
``test_xdist_groups``, ``test_xdist_handoff``)."""

from __future__ import annotations

import textwrap

import pytest

from tests.core.conftest import outcomes, read_evidence
from tests.factories import ec_key, private_pem, rsa_key, write

LOW_TIER_CONFIG = """
[[systems]]
name = "tools"
provider = "files"
risk_tier = "low"
ssrm_owner = "CSC"
accountable_owner = "tools-team"
paths = ["keys"]
"""


@pytest.fixture
def low_tier(pytester):
    """One low-tier system with a weak key (a finding) and a strong one."""
    write(pytester.path / "keys/weak.pem", private_pem(rsa_key(1024)))
    write(pytester.path / "keys/strong.pem", private_pem(ec_key()))
    pytester.makefile(".toml", cryptoaudit=LOW_TIER_CONFIG)
    return pytester


def test_without_the_option_nothing_is_discovered(pytester):
    pytester.makefile(".toml", cryptoaudit='[[systems]]\nname = "x"\nprovider = "nope"\n')
    pytester.makepyfile(test_plain="def test_plain():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "cryptoaudit:" not in result.stdout.str()
    assert "cryptoaudit summary" not in result.stdout.str()


def test_a_user_control_is_skipped_without_the_option(pytester):
    pytester.makepyfile(test_mine=textwrap.dedent("""
        import pytest

        @pytest.mark.control("CEK-04", check="mine")
        def test_mine(crypto_key):
            assert crypto_key
    """))
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*run with --cryptoaudit*"])


def test_missing_config_is_a_usage_error(pytester):
    result = pytester.runpytest("--cryptoaudit")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no cryptoaudit.toml*--cryptoaudit-config PATH*"])


def test_invalid_config_names_file_and_key(pytester):
    pytester.makefile(".toml", cryptoaudit=LOW_TIER_CONFIG.replace('paths = ["keys"]',
                                                                   'paths = "keys"'))
    result = pytester.runpytest("--cryptoaudit")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cryptoaudit.toml: systems[[]0[]] (tools).paths: *list*"])


def test_config_from_pyproject(low_tier):
    toml = (low_tier.path / "cryptoaudit.toml").read_text()
    (low_tier.path / "cryptoaudit.toml").unlink()
    body = toml.replace("[[systems]]", "[[tool.cryptoaudit.systems]]")
    low_tier.makefile(".toml", pyproject=body)
    result = low_tier.runpytest("--cryptoaudit")
    result.stdout.fnmatch_lines(["cryptoaudit: discovered tools (files, low): 2 keys, 0 errors"])


def test_counts_read_as_english(low_tier):
    (low_tier.path / "keys/strong.pem").unlink()
    write(low_tier.path / "keys/junk.pem", b"-----BEGIN PRIVATE KEY-----\nAAAA\n")
    result = low_tier.runpytest("--cryptoaudit")
    result.stdout.fnmatch_lines(["cryptoaudit: discovered tools (files, low): 1 key, 1 error",
                                 "1 system, 1 key, 1 discovery error"])


def test_fail_on_forgives_findings_below_the_tier(low_tier):
    assert low_tier.runpytest("--cryptoaudit").ret == pytest.ExitCode.TESTS_FAILED
    forgiven = low_tier.runpytest("--cryptoaudit", "--cryptoaudit-fail-on", "medium")
    assert forgiven.ret == pytest.ExitCode.OK
    forgiven.stdout.fnmatch_lines([
        "cryptoaudit: 1 finding below the threshold medium (--cryptoaudit-fail-on): "
        "the run passes",
        "*1 failed*",
    ])


def test_fail_on_never_forgives_errors(low_tier):
    write(low_tier.path / "keys/junk.pem", b"-----BEGIN PRIVATE KEY-----\nAAAA\n")
    result = low_tier.runpytest("--cryptoaudit", "--cryptoaudit-fail-on", "critical")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*1 error*"])
    assert "below the threshold" not in result.stdout.str()


def test_select_by_control_and_keyword(low_tier):
    result = low_tier.runpytest("--cryptoaudit", "--cryptoaudit-control", "CEK-04", "-v")
    result.stdout.fnmatch_lines(["*test_key_strength*PASSED*", "*test_key_strength*FAILED*"])
    assert "test_key_age" not in result.stdout.str()
    by_keyword = low_tier.runpytest("--cryptoaudit", "-k", "weak.pem and CEK-12", "-v")
    by_keyword.stdout.fnmatch_lines(["*test_key_age[[]key-age-files:keys/weak.pem[]] PASSED*"])
    assert "strong.pem" not in by_keyword.stdout.str()


def test_unknown_system_selection_is_a_usage_error(low_tier):
    result = low_tier.runpytest("--cryptoaudit", "--cryptoaudit-system", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown system nope*configured: tools*"])


def test_user_control_joins_the_audit_and_other_tests_do_not(low_tier):
    low_tier.makepyfile(test_mine=textwrap.dedent("""
        import pytest

        @pytest.mark.control("ORG-01", "Key names", check="pem-suffix")
        @pytest.mark.ssrm("CSC")
        def test_pem_suffix(crypto_key):
            assert crypto_key.uid.endswith(".pem")

        def test_unrelated():
            pass
    """))
    result = low_tier.runpytest("--cryptoaudit", "-v", "--cryptoaudit-control", "ORG-01")
    result.stdout.fnmatch_lines(["*test_pem_suffix[[]pem-suffix-files:keys/strong.pem[]] PASSED*"])
    assert "test_unrelated" not in result.stdout.str().replace("deselected", "")
    result.stdout.fnmatch_lines(["ORG-01 *Key names*2*0*0*"])


def test_a_crashing_provider_is_an_error_and_the_run_goes_on(low_tier):
    low_tier.makeconftest(textwrap.dedent("""
        from pytest_cryptoaudit import Provider, ProviderOptions

        class BrokenOptions(ProviderOptions):
            endpoint: str

        class Broken(Provider):
            name = "broken"
            Options = BrokenOptions

            def discover(self, system, context):
                raise TimeoutError(f"{self.name}: no answer from {system.options.endpoint}")

        def pytest_cryptoaudit_add_providers(registry):
            registry.register(Broken)
    """))
    config = LOW_TIER_CONFIG + textwrap.dedent("""
        [[systems]]
        name = "remote"
        provider = "broken"
        risk_tier = "high"
        ssrm_owner = "CSP"
        endpoint = "https://kms.invalid"
    """)
    low_tier.makefile(".toml", cryptoaudit=config)
    result = low_tier.runpytest("--cryptoaudit")
    result.stdout.fnmatch_lines([
        "*[[]high] CEK-21 discovery-complete broken:remote: *TimeoutError*no answer from*",
    ])
    result.stdout.fnmatch_lines(["*1 failed*1 error*"])


def test_strict_markers_clean(low_tier):
    result = low_tier.runpytest("--cryptoaudit", "--strict-markers")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.no_fnmatch_line("*not found in `markers`*")


def test_an_unrecognised_signature_algorithm_is_an_error_not_a_pass(low_tier):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from tests.factories import certificate, ed25519_key

    der = certificate(rsa_key()).public_bytes(serialization.Encoding.DER)
    md2 = der.replace(bytes.fromhex("06092a864886f70d01010b"),  # sha256WithRSAEncryption
                      bytes.fromhex("06092a864886f70d010102"))  # md2WithRSAEncryption
    assert x509.load_der_x509_certificate(md2).signature_algorithm_oid._name == "Unknown OID"
    write(low_tier.path / "keys/md2.der", md2)
    write(low_tier.path / "keys/ed.pem", certificate(ed25519_key()).public_bytes(
        serialization.Encoding.PEM))
    low_tier.runpytest("--cryptoaudit", "--cryptoaudit-control", "CEK-04",
                       "--cryptoaudit-json", "evidence.json")
    found = outcomes(read_evidence(low_tier.path / "evidence.json"))
    assert found[("files:keys/md2.der", "certificate-signature-hash")] == "error"
    assert found[("files:keys/ed.pem", "certificate-signature-hash")] == "passed"
