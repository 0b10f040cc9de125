"""A small audited estate with planted weaknesses and secrets, and one full run over it.

``full_run`` audits it once per test run (once for all xdist workers), itself under
pytest-xdist, with every output format on, and with recognisable secrets in the files and
the environment, so that each test of a format reads the same run and the secrets test can
grep every output.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from pytest_cryptoaudit.testing import AuditRun, audit_env, audit_subprocess
from tests import factories
from tests.ledger.conftest import postgres, postgres_url  # noqa: F401 - the ledger sweep's server
from tests.shared import once_per_run

KEY_PASSPHRASE = "kp-CANARY-4c1d9e-passphrase"
P12_PASSWORD = "p12-CANARY-93b1f0-password"
VAULT_TOKEN = "hvs.CANARYtoken7f3a9b2c41d0e8"
GITHUB_TOKEN = "ghp_CANARY0123456789abcdefghijklmnopqrs"
SECRET_ENV = {"KEY_PASSPHRASE": KEY_PASSPHRASE, "P12_PASSWORD": P12_PASSWORD,
              "VAULT_TOKEN": VAULT_TOKEN, "GITHUB_TOKEN": GITHUB_TOKEN}

CONFIG = """
[[systems]]
name = "app-keys"
provider = "files"
risk_tier = "high"
ssrm_owner = "CSC"
accountable_owner = "app-team"
paths = ["keys"]
password_env = "KEY_PASSPHRASE"
pkcs12_password_env = "P12_PASSWORD"

[[systems]]
name = "web-certs"
provider = "files"
risk_tier = "medium"
ssrm_owner = "CSP-MP"
accountable_owner = "pki-team"
paths = ["certs"]

[cadence]
high = 30
"""

WAIVERS = """
[[waivers]]
id = "W-weak-rsa"
control = "CEK-04"
check = "key-strength"
key = "files:keys/weak-*.pem"
justification = "Legacy appliance accepts only RSA-1024; replaced in Q3."
approver = "J. Doe (CISO)"
expires = 2099-12-31
ticket = "SEC-1234"
risk = "medium"

[[waivers]]
id = "W-expired-cert"
control = "CEK-17"
system = "web-certs"
justification = "Renewal was scheduled."
approver = "A. Smith"
expires = 2020-01-31

[[waivers]]
id = "W-stale"
control = "CEK-11"
key = "files:nothing/*"
justification = "Covers keys that are gone."
approver = "A. Smith"
expires = 2099-01-01
"""


@dataclasses.dataclass
class Estate:
    """The audited folder and the secrets planted in it."""

    root: Path
    secrets: list[str]


def _pem_body_lines(pem: bytes) -> list[str]:
    lines = pem.decode().strip().splitlines()
    return [line for line in lines[1:-1] if len(line) >= 40]


def _private_secrets(key: Any, pem: bytes) -> list[str]:
    numbers = key.private_numbers()
    return [*_pem_body_lines(pem), format(numbers.d, "x"), str(numbers.d)[:60]]


def build_estate(root: Path) -> Estate:
    """Keys and certificates with known weaknesses; returns the secrets that must not leak."""
    weak = factories.rsa_key(1024)
    weak_pem = factories.private_pem(weak)
    factories.write(root / "keys/weak-rsa.pem", weak_pem)  # unencrypted: CEK-10 finding
    good = factories.ec_key()
    factories.write(root / "keys/good-ec.pem", factories.private_pem(good, KEY_PASSPHRASE.encode()))
    bundled = factories.rsa_key(2048)
    bundle_cert = factories.certificate(bundled, subject="bundle.example.test")
    factories.write(root / "keys/bundle.p12", pkcs12.serialize_key_and_certificates(
        b"bundle", bundled, bundle_cert, None,
        serialization.BestAvailableEncryption(P12_PASSWORD.encode())))
    factories.write(root / "keys/broken.pem", b"-----BEGIN PRIVATE KEY-----\nnot base64\n")
    _ca_key, ca, _leaf_key, leaf = factories.ca_and_leaf("service.example.test")
    factories.write(root / "certs/service.crt", factories.cert_pem(leaf, ca), 0o644)
    old = factories.certificate(factories.ec_key(), subject="old.example.test", days_valid=30,
                                not_before=factories.NOW - dt.timedelta(days=400))
    factories.write(root / "certs/expired.crt", factories.cert_pem(old), 0o644)
    (root / "cryptoaudit.toml").write_text(CONFIG, encoding="utf-8")
    (root / "waivers.toml").write_text(WAIVERS, encoding="utf-8")
    bundled_pem = factories.private_pem(bundled)
    secrets = [*_private_secrets(weak, weak_pem), *_private_secrets(bundled, bundled_pem),
               format(good.private_numbers().private_value, "x"), *SECRET_ENV.values()]
    return Estate(root, secrets)


def run_audit(root: Path, *args: str, env: dict[str, str] | None = None,
              evidence: str = "evidence.json") -> AuditRun:
    """``pytest --cryptoaudit`` in ``root``, in a fresh interpreter."""
    return audit_subprocess(root, "-p", "no:randomly", *args, env=env, timeout=120,
                            evidence=evidence)


@dataclasses.dataclass
class FullRun:
    """One audit of the estate with every output written to ``out``."""

    estate: Estate
    out: Path
    run: AuditRun

    @property
    def evidence(self) -> dict[str, Any]:
        return self.run.evidence

    def result(self, check: str, key_uid: str) -> dict[str, Any]:
        return self.run.result(check, key_uid)


@pytest.fixture(scope="session")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> FullRun:
    """The estate audited once per test run (shared by the workers of pytest-xdist), itself
    under xdist, with JSON, HTML, JUnit, Allure, OSCAL, CBOM, Markdown, SARIF, post-quantum
    inventory and metrics output and a GitHub step summary."""
    root, stored = once_per_run(tmp_path_factory, "reporting-estate", _audit_every_format)
    run = AuditRun(stored["ret"], stored["output"], stored["evidence"])
    return FullRun(Estate(root, stored["secrets"]), root / "out", run)


def _audit_every_format(root: Path) -> dict[str, Any]:
    estate = build_estate(root)
    out = estate.root / "out"
    out.mkdir()
    env = audit_env(**SECRET_ENV, GITHUB_STEP_SUMMARY=str(out / "step-summary.md"))
    run = run_audit(
        estate.root, "-n", "2", "-rA",
        "--cryptoaudit-waivers", "waivers.toml",
        "--html", "out/report.html", "--self-contained-html",
        "--junitxml", "out/junit.xml", "-o", "junit_family=xunit1",
        "--alluredir", "out/allure",
        "--cryptoaudit-oscal", "out/oscal.json",
        "--cryptoaudit-cbom", "out/cbom.json",
        "--cryptoaudit-markdown", "out/summary.md",
        "--cryptoaudit-pq", "out/pq-inventory.csv",
        "--cryptoaudit-sarif", "out/results.sarif",
        "--cryptoaudit-metrics", "out/metrics.prom",
        env=env, evidence="out/evidence.json",
    )
    return {"secrets": estate.secrets, "ret": run.ret, "output": run.output,
            "evidence": run.evidence}


def chromium_arguments(user_data_dir: Path) -> list[str]:
    """Headless Chromium that stays off the network and leaves nothing behind."""
    return ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={user_data_dir}", "--window-size=1400,1000"]


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A headless Chromium driven through Debian's chromedriver."""
    from tests.conftest import require_executable

    chromium = require_executable("chromium", "apt-get install chromium chromium-driver")
    driver_path = require_executable("chromedriver", "apt-get install chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        if os.environ.get("CRYPTOAUDIT_REQUIRE_SERVICES") == "1":
            pytest.fail("selenium is not installed: pip install 'pytest-cryptoaudit[test]'")
        pytest.skip("selenium is not installed: pip install 'pytest-cryptoaudit[test]'")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in chromium_arguments(tmp_path_factory.mktemp("chromium")):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()

