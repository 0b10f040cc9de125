"""A folder of real key and certificate files with planted weaknesses beside clean keys."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from pytest_cryptoaudit import testing_provider
from pytest_cryptoaudit.testing import AuditRun, audit_env, audit_subprocess, prepare
from tests.factories import (
    NOW,
    ca_and_leaf,
    cert_pem,
    certificate,
    dsa_key,
    ec_key,
    ed25519_key,
    private_pem,
    public_pem,
    rsa_key,
    sha1_certificate,
    write,
)
from tests.shared import once_per_run

#: One low-tier system of key files under ``keys/``, for the audits of several modules.
TOOLS_CONFIG = """
[[systems]]
name = "tools"
provider = "files"
risk_tier = "low"
owner = "CSC"
paths = ["keys"]
"""

PASSPHRASE_ENV = "CRYPTOAUDIT_TEST_KEY_PASSPHRASE"
PASSPHRASE = "correct horse battery staple"
P12_ENV = "CRYPTOAUDIT_TEST_P12_PASSWORD"
P12_PASSWORD = "p12-secret-password"

#: (uid, check) pairs that must fail; every other (uid, check) must pass.
PLANTED = {
    ("files:keys/weak-rsa.pem", "key-strength"),
    ("files:keys/weak-rsa.pem", "private-key-encrypted"),
    ("files:keys/world-readable.pem", "private-key-permissions"),
    ("files:keys/small-curve.pem", "key-strength"),
    ("files:keys/old-key.pem", "key-age"),
    ("files:keys/dsa-1024.pub", "key-strength"),
    ("files:keys/id_ed25519", "private-key-encrypted"),
    ("files:certs/sha1.pem", "certificate-signature-hash"),
    ("files:certs/expired.pem", "not-expired"),
    ("files:certs/future.pem", "already-valid"),
    ("files:certs/five-years.pem", "certificate-lifetime"),
    ("files:certs/mixed-usage.pem", "single-purpose"),
    ("files:certs/ca-as-leaf.pem", "ca-not-leaf"),
    ("files:certs/expiring-soon.pem", "expiry-window"),
    # Every file of broken-files is unreadable: a system that yields nothing is a finding.
    ("files:broken-files", "scope-coverage"),
    ("files:unowned/orphan.pub", "has-owner"),
}

#: Files that must each produce one discovery error (CEK-21 discovery-complete).
BROKEN = {
    "files:bad/junk.txt",
    "files:bad/truncated.pem",
    "files:bad/oversized.pem",
    "files:bad/dangling-link.pem",
    "files:bad/loop-a.pem",
    "files:bad/loop-b.pem",
    "files:bad/garbage.der",
}


def _certificates(root: Path) -> None:
    key = ec_key()
    write(root / "certs/sha1.pem", cert_pem(sha1_certificate(rsa_key())))
    write(root / "certs/expired.pem", cert_pem(certificate(
        key, not_before=NOW - dt.timedelta(days=100), days_valid=30)))
    write(root / "certs/future.pem", cert_pem(certificate(
        key, not_before=NOW + dt.timedelta(days=10), days_valid=90)))
    write(root / "certs/five-years.pem", cert_pem(certificate(key, days_valid=5 * 365)))
    write(root / "certs/mixed-usage.pem", cert_pem(certificate(
        rsa_key(), key_usage=("digital_signature", "key_encipherment"))))
    write(root / "certs/ca-as-leaf.pem", cert_pem(certificate(
        key, is_ca=True, key_usage=("key_cert_sign",), days_valid=3650, server_auth=True)))
    write(root / "certs/expiring-soon.pem", cert_pem(certificate(
        key, not_before=NOW - dt.timedelta(days=80), days_valid=90)))
    _ca_key, ca_cert, _leaf_key, leaf = ca_and_leaf("api.example.test")
    write(root / "certs/chain.pem", cert_pem(leaf, ca_cert))
    write(root / "certs/clean.der", leaf.public_bytes(serialization.Encoding.DER))


def _keys(root: Path) -> None:
    password = PASSPHRASE.encode()
    write(root / "keys/weak-rsa.pem", private_pem(rsa_key(1024)))
    write(root / "keys/world-readable.pem", private_pem(ec_key(), password), mode=0o644)
    write(root / "keys/small-curve.pem", private_pem(ec_key(ec.SECP192R1()), password))
    old = write(root / "keys/old-key.pem", private_pem(ec_key(), password))
    five_years_ago = (NOW - dt.timedelta(days=5 * 365)).timestamp()
    os.utime(old, (five_years_ago, five_years_ago))
    write(root / "keys/dsa-1024.pub", public_pem(dsa_key(1024)))
    write(root / "keys/id_ed25519", private_pem(
        ed25519_key(), fmt=serialization.PrivateFormat.OpenSSH))
    write(root / "keys/clean-rsa.pem", private_pem(rsa_key(3072), password))
    write(root / "keys/clean-pkcs1.pem", private_pem(
        rsa_key(2048), password, fmt=serialization.PrivateFormat.TraditionalOpenSSL))
    sec1 = ec_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(password))
    write(root / "keys/clean-sec1.pem", sec1)
    write(root / "keys/clean-ssh", private_pem(
        ed25519_key(), password, fmt=serialization.PrivateFormat.OpenSSH))
    write(root / "keys/clean.pub", public_pem(rsa_key(3072)))
    write(root / "unowned/orphan.pub", public_pem(rsa_key(3072)))
    ssh_public = ed25519_key().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    write(root / "keys/authorized_keys", ssh_public + b" ops@example\n")
    bundle_key = ec_key()
    bundle = pkcs12.serialize_key_and_certificates(
        b"svc", bundle_key, certificate(bundle_key), None,
        serialization.BestAvailableEncryption(P12_PASSWORD.encode()))
    write(root / "keys/bundle.p12", bundle)


def _broken(root: Path) -> None:
    write(root / "bad/junk.txt", b"not a key\n")
    truncated = private_pem(ec_key())
    write(root / "bad/truncated.pem", truncated[: len(truncated) // 2])
    write(root / "bad/oversized.pem", cert_pem(certificate(ec_key())) * 40)
    write(root / "bad/garbage.der", os.urandom(300))
    (root / "bad/dangling-link.pem").symlink_to(root / "bad/missing.pem")
    (root / "bad/loop-a.pem").symlink_to(root / "bad/loop-b.pem")
    (root / "bad/loop-b.pem").symlink_to(root / "bad/loop-a.pem")


CONFIG = f"""
[[systems]]
name = "web-tier"
provider = "files"
risk_tier = "high"
ssrm_owner = "CSC"
accountable_owner = "web-team"
paths = ["keys", "certs"]
password_env = "{PASSPHRASE_ENV}"
pkcs12_password_env = "{P12_ENV}"

[[systems]]
name = "broken-files"
provider = "files"
risk_tier = "low"
ssrm_owner = "CSP-MP"
paths = ["bad"]
max_file_size = 20000

[[systems]]
name = "unowned"
provider = "files"
risk_tier = "low"
ssrm_owner = "CSC"
paths = ["unowned"]

[policy]
version = "1.0"
reviewed_on = {NOW.date().isoformat()}
"""


@pytest.fixture(scope="session")
def estate_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The key files and their cryptoaudit.toml, generated once per session."""
    root = tmp_path_factory.mktemp("estate")
    _keys(root)
    _certificates(root)
    _broken(root)
    (root / "cryptoaudit.toml").write_text(CONFIG)
    return root


@pytest.fixture
def estate(estate_template: Path, pytester: pytest.Pytester,
           monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pytester folder holding a copy of the estate (modes and symlinks kept)."""
    shutil.copytree(estate_template, pytester.path, symlinks=True, dirs_exist_ok=True)
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    monkeypatch.setenv(P12_ENV, P12_PASSWORD)
    return pytester.path


def run_audit(folder: Path, *args: str) -> AuditRun:
    """``pytest --cryptoaudit`` over ``folder`` in a fresh interpreter, with the passphrases."""
    return audit_subprocess(folder, *args, env=audit_env(**{PASSPHRASE_ENV: PASSPHRASE,
                                                           P12_ENV: P12_PASSWORD}))


@pytest.fixture(scope="session")
def shared_estate(estate_template: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AuditRun]:
    """A copy of the estate, untouched, and its audit: done once per test run and shared by
    the workers of pytest-xdist (whose own templates hold other random keys)."""
    def audit(folder: Path) -> dict[str, Any]:
        shutil.copytree(estate_template, folder / "estate", symlinks=True)
        shutil.copytree(folder / "estate", folder / "audited", symlinks=True)
        run = run_audit(folder / "audited")
        return {"ret": run.ret, "output": run.output, "evidence": run.evidence}

    folder, stored = once_per_run(tmp_path_factory, "files-estate", audit)
    return folder / "estate", AuditRun(stored["ret"], stored["output"], stored["evidence"])


@pytest.fixture(scope="session")
def audited(shared_estate: tuple[Path, AuditRun]) -> AuditRun:
    """The estate audited once per test run."""
    return shared_estate[1]


#: A finding of the managed-key estate to waive (at tier low a pending deletion may be
#: waived); every other finding stands.
MANAGED_WAIVERS = """
[[waivers]]
control = "CEK-14"
check = "kms-not-pending-deletion"
key = "memory:low-pending-deletion"
justification = "approved decommissioning"
approver = "ciso"
expires = 2099-01-01
"""


@pytest.fixture(scope="session")
def managed_estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The managed-key estate of ``test_managed_controls`` (findings, an unreadable fact,
    checks that apply nowhere) with its configuration and waivers, written once per test
    run so that every audit of it, on any xdist worker, reads the same records (and their
    creation times, part of what a result's inputs hash)."""
    from tests.core.test_managed_controls import POLICY, records

    def plant(folder: Path) -> None:
        (folder / "waivers.toml").write_text(MANAGED_WAIVERS)
        prepare(folder, {"policy": POLICY}, records())

    folder, _ = once_per_run(tmp_path_factory, "managed-estate", plant)
    return folder


def audit_managed(estate: Path, folder: Path, name: str, *args: str) -> AuditRun:
    """An audit of a copy of the managed-key estate in ``folder``, writing ``name``.json,
    .xml and .html. Every audit reads the one waivers file: its path is part of what a
    result's inputs hash and of the waivers' status."""
    shutil.copytree(estate, folder, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("waivers.toml"))
    return audit_subprocess(folder, "-p", testing_provider.__name__, "--cryptoaudit-no-ledger",
                            "--cryptoaudit-waivers", str(estate / "waivers.toml"),
                            "--junitxml", f"{name}.xml", "--html", f"{name}.html", *args,
                            evidence=f"{name}.json")


def shared_managed_audit(tmp_path_factory: pytest.TempPathFactory, estate: Path, name: str,
                         *args: str) -> tuple[Path, AuditRun]:
    """:func:`audit_managed` run once per test run (the xdist workers share it) and its
    folder."""
    def build(folder: Path) -> dict[str, Any]:
        run = audit_managed(estate, folder, name, *args)
        return {"ret": run.ret, "output": run.output, "evidence": run.evidence}

    folder, stored = once_per_run(tmp_path_factory, f"managed-{name}", build)
    return folder, AuditRun(stored["ret"], stored["output"], stored["evidence"])


@pytest.fixture(scope="session")
def managed_run(tmp_path_factory: pytest.TempPathFactory,
                managed_estate: Path) -> tuple[Path, AuditRun]:
    """The managed-key estate's audit, one test per (check, key), with its reports: once per
    test run for ``test_managed_controls`` (which judges its outcomes) and ``test_grouped``
    (which compares the grouped runs with it)."""
    return shared_managed_audit(tmp_path_factory, managed_estate, "ungrouped")


def read_evidence(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def outcomes(evidence: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(key uid, check) → outcome, from the JSON evidence."""
    return {(r["key_uid"], r["check"]): r["outcome"] for r in evidence["results"]}
