"""No output of any format carries a private key, a password or a token.

The full run audits an unencrypted private key file, a passphrase-protected key, a PKCS#12
bundle whose password is in the environment, and runs with token-like variables set; every
file it wrote (JSON, HTML, JUnit, the Allure folder, OSCAL, CBOM, Markdown, the step
summary) and its terminal output are searched for each planted secret.
"""

from __future__ import annotations

from pathlib import Path

from tests.reporting.conftest import FullRun


def _outputs(full_run: FullRun) -> dict[str, str]:
    texts = {str(p.relative_to(full_run.out)): p.read_text(errors="replace")
             for p in sorted(full_run.out.rglob("*")) if p.is_file()}
    texts["terminal stdout"] = full_run.process.stdout
    texts["terminal stderr"] = full_run.process.stderr
    return texts


def test_every_format_was_produced(full_run: FullRun) -> None:
    names = set(_outputs(full_run))
    expected = {"evidence.json", "report.html", "junit.xml", "oscal.json", "cbom.json",
                "summary.md", "step-summary.md"}
    assert expected <= names
    assert any(name.startswith("allure/") and name.endswith("attachment.json")
               for name in names)


def test_no_planted_secret_in_any_output(full_run: FullRun) -> None:
    secrets = full_run.estate.secrets
    assert len(secrets) > 10
    leaks = [(name, secret[:12]) for name, text in _outputs(full_run).items()
             for secret in secrets if secret in text]
    assert leaks == []


def test_the_secrets_were_really_there(full_run: FullRun) -> None:
    """Guard the test above: the planted key is on disk and the audit read it."""
    planted = Path(full_run.estate.root, "keys/weak-rsa.pem").read_text()
    assert full_run.estate.secrets[0] in planted
    assert full_run.result("private-key-encrypted", "files:keys/weak-rsa.pem")["outcome"] == (
        "failed")
    # The PKCS#12 bundle and the encrypted key were opened with passwords from the environment.
    assert full_run.result("key-strength", "files:keys/bundle.p12#1")["outcome"] == "passed"
    assert full_run.result("key-strength", "files:keys/good-ec.pem")["outcome"] == "passed"
