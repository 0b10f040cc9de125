"""How findings and errors reach pytest: compact, classified the same in every format."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET

import pytest

from tests.core.conftest import TOOLS_CONFIG, outcomes, read_evidence
from tests.factories import ec_key, private_pem, rsa_key, write

CONFIG = TOOLS_CONFIG

#: One finding (weak.pem fails pem-name) and one error (weak.pem cannot be looked up).
CONTROLS = """
import pytest


@pytest.mark.control("ORG-01", "Names", check="pem-name")
@pytest.mark.ssrm("CSC")
def test_pem_name(crypto_key):
    detail = "source line that a traceback would show"
    assert "weak" not in crypto_key.uid, f"{crypto_key.uid} is named weak"


@pytest.mark.control("ORG-02", "Lookups", check="lookup")
@pytest.mark.ssrm("CSC")
def test_lookup(crypto_key):
    if "weak" in crypto_key.uid:
        raise ConnectionError("lookup endpoint unreachable")
"""

AUDIT = ("--cryptoaudit", "--cryptoaudit-no-builtin", "--cryptoaudit-no-ledger")


@pytest.fixture
def audit(pytester: pytest.Pytester) -> pytest.Pytester:
    write(pytester.path / "keys/weak.pem", private_pem(rsa_key(1024)))
    write(pytester.path / "keys/strong.pem", private_pem(ec_key()))
    pytester.makefile(".toml", cryptoaudit=CONFIG)
    pytester.makepyfile(test_org=textwrap.dedent(CONTROLS))
    return pytester


def _cases(path) -> dict[str, ET.Element]:
    return {case.get("name", ""): case for case in ET.parse(path).iter("testcase")}


def test_a_finding_fails_and_an_exception_errors_in_every_format(audit):
    result = audit.runpytest(*AUDIT, "--junitxml", "junit.xml",
                             "--cryptoaudit-json", "evidence.json")
    result.stdout.fnmatch_lines(["*= 1 failed, 2 passed, 1 error in *"])
    found = outcomes(read_evidence(audit.path / "evidence.json"))
    assert found[("files:keys/weak.pem", "pem-name")] == "failed"
    assert found[("files:keys/weak.pem", "lookup")] == "error"
    suite = ET.parse(audit.path / "junit.xml").find("testsuite")
    assert suite is not None
    assert (suite.get("failures"), suite.get("errors")) == ("1", "1")
    failing = [c for name, c in _cases(audit.path / "junit.xml").items() if "weak" in name]
    tags = sorted(child.tag for case in failing for child in case
                  if child.tag in ("failure", "error"))
    assert tags == ["error", "failure"]
    failure = next(c.find("failure") for c in failing if c.find("failure") is not None)
    assert failure.get("message") == "files:keys/weak.pem is named weak"


def test_a_finding_is_listed_by_the_plugin_not_by_pytests_failures(audit):
    result = audit.runpytest(*AUDIT, "-rfE")
    text = result.stdout.str()
    assert "= FAILURES =" not in text
    assert "source line that a traceback would show" not in text
    assert "FAILED test_org.py" not in text
    result.stdout.fnmatch_lines([
        "*- findings (1) -*",
        "[[]low] ORG-01 pem-name files:keys/weak.pem: files:keys/weak.pem is named weak",
    ])


def test_an_error_in_control_code_keeps_its_traceback_and_options(audit):
    result = audit.runpytest(*AUDIT, "-rE", "--tb=long")
    result.stdout.fnmatch_lines([
        "*= ERRORS =*",
        "*ERROR at call of test_lookup*",
        '*raise ConnectionError("lookup endpoint unreachable")*',
        "ERROR test_org.py::test_lookup*ConnectionError*",
    ])
    quiet = audit.runpytest(*AUDIT, "--tb=no", "-rN")
    assert "raise ConnectionError" not in quiet.stdout.str()
    verbose = audit.runpytest(*AUDIT, "-v")
    verbose.stdout.fnmatch_lines(["*test_lookup*weak.pem* ERROR*"])


def test_a_discovery_error_shows_its_reason_alone(audit):
    write(audit.path / "keys/junk.pem", b"-----BEGIN PRIVATE KEY-----\nAAAA\n")
    audit.makepyfile(test_discovery=textwrap.dedent("""
        import pytest

        @pytest.mark.control("ORG-03", "Discovery", check="complete")
        def test_complete(crypto_discovery_error):
            pass
    """))
    result = audit.runpytest(*AUDIT)
    text = result.stdout.str()
    errors = text.split("ERROR at setup of test_complete", 1)[1].split("ERROR at call", 1)[0]
    assert "could not read files:keys/junk.pem (system tools, provider files)" in errors
    assert "def crypto_discovery_error" not in errors
    assert "raise CryptoAuditError" not in errors
    assert len([line for line in errors.splitlines()[1:] if line.strip("_ ")]) == 1
