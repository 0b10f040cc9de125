"""The built wheel ships the controls: install it in a fresh venv and audit an empty folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.factories import ec_key, private_pem, rsa_key, write

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[[systems]]
name = "laptop"
provider = "files"
risk_tier = "medium"
ssrm_owner = "CSC"
paths = ["keys"]
"""


def run(args, cwd, env=None):
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(args, cwd=cwd, env={**clean_env, **(env or {})}, capture_output=True,
                          text=True, timeout=600, check=False)


def build_wheel(source: Path, dist: Path) -> Path:
    built = run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                 str(dist), str(source)], cwd=source)
    assert built.returncode == 0, built.stdout + built.stderr
    return max(dist.glob("*.whl"), key=lambda p: p.stat().st_mtime)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtual environment with only the built wheel (and its dependencies)."""
    wheel = build_wheel(ROOT, tmp_path_factory.mktemp("dist"))
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    installed = run([str(python), "-m", "pip", "install", "-q", str(wheel)], cwd=env_dir)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return python, wheel


def test_wheel_contains_the_controls(installed):
    import zipfile

    _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "pytest_cryptoaudit/controls/algorithms.py" in names
    assert "pytest_cryptoaudit/schemas/evidence-1.schema.json" in names


def test_installed_wheel_audits_an_empty_folder(installed, tmp_path):
    python, _ = installed
    write(tmp_path / "keys/weak.pem", private_pem(rsa_key(1024)))
    write(tmp_path / "keys/strong.pem", private_pem(ec_key()))
    (tmp_path / "cryptoaudit.toml").write_text(CONFIG)
    where = run([str(python), "-c", "import pytest_cryptoaudit as p; print(p.__file__)"],
                cwd=tmp_path)
    assert str(python.parent.parent) in where.stdout, where.stdout + where.stderr
    result = run([str(python), "-m", "pytest", "--cryptoaudit", "-p", "no:cacheprovider",
                  "--cryptoaudit-json", "evidence.json"], cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    outcomes = {(r["key_uid"], r["check"]): r["outcome"] for r in evidence["results"]}
    assert outcomes[("files:keys/weak.pem", "key-strength")] == "failed"
    assert outcomes[("files:keys/strong.pem", "key-strength")] == "passed"
    assert {r["control"] for r in evidence["results"]} >= {"CEK-04", "CEK-10", "CEK-12"}


CSV_CONFIG = """
[[systems]]
name = "spreadsheet"
provider = "csv-inventory"
risk_tier = "low"
ssrm_owner = "CSC"
path = "keys.csv"
"""

CSV = """id,algorithm,size,kind,created,owner,tier
payments-signing,RSA,1024,private-key,2025-01-01,payments-team,critical
backup-wrap,AES,256,secret-key,2026-06-01,,
broken,AES,lots,secret-key,2026-06-01,,
"""


def test_third_party_provider_from_its_entry_point(installed, tmp_path):
    python, _ = installed
    wheel = build_wheel(ROOT / "examples/third-party-provider", tmp_path / "dist")
    added = run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    (tmp_path / "cryptoaudit.toml").write_text(CSV_CONFIG)
    (tmp_path / "keys.csv").write_text(CSV)
    result = run([str(python), "-m", "pytest", "--cryptoaudit", "-p", "no:cacheprovider",
                  "--cryptoaudit-json", "evidence.json"], cwd=tmp_path)
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    outcomes = {(r["key_uid"], r["check"]): r["outcome"] for r in evidence["results"]}
    assert outcomes[("csv:payments-signing", "key-strength")] == "failed", result.stdout
    assert outcomes[("csv:backup-wrap", "key-strength")] == "passed"
    assert outcomes[("csv:broken", "discovery-complete")] == "error"
    keys = {k["uid"]: k for k in evidence["inventory"]}
    assert keys["csv:payments-signing"]["risk_tier"] == "critical"  # from its tag
    assert keys["csv:payments-signing"]["accountable_owner"] == "payments-team"


ACME_CONFIG = """
[policy]
managed_key_allowed_origins = {high = ["generated", "hsm", "imported"]}

[[systems]]
name = "acme-prod"
provider = "acme-keys"
risk_tier = "high"
ssrm_owner = "CSC"
accountable_owner = "acme-platform-team"
export = "acme-export.json"
"""
#: Every generic managed-key check, and the Acme key that each must fail.
GENERIC_CHECKS = {
    "kms-rotation-enabled": "weak-rotation-off", "kms-rotation-period": "weak-long-rotation",
    "kms-not-pending-deletion": "weak-deleting", "kms-key-material-imported": "weak-no-material",
    "kms-key-enabled": "weak-disabled", "kms-key-store-connected": "weak-store-down",
    "kms-key-origin": "weak-hyok", "kms-imported-material-expiry": "weak-never-expires",
    "kms-customer-managed": "weak-service-managed", "kms-policy-not-public": "weak-public",
    "kms-policy-principals": "weak-foreign", "kms-grantees": "weak-grantee",
}
TEAM = {"principal": "acme:team/orders", "kind": "role", "actions": ["use"],
        "source": "key-policy"}


def acme_key(name: str, **facts: object) -> dict[str, object]:
    """A healthy key of the imaginary service, with ``facts`` changed."""
    return {"id": name, "algorithm": "AES", "size": 256, "created": "2026-11-01",
            "state": "enabled", "origin": "generated", "manager": "customer",
            "rotation": {"automatic": True, "period_days": 90}, "key_store": "acme-hsm-1",
            "access": [TEAM], **facts}


ACME_EXPORT = {"auditor": {"identity": "acme:user/auditor", "admin_rights": []}, "keys": [
    acme_key("clean"),
    acme_key("clean-imported", origin="imported", material_expires=True, rotation=None),
    acme_key("weak-rotation-off", rotation={"automatic": False}),
    acme_key("weak-long-rotation", rotation={"automatic": True, "period_days": 3000}),
    acme_key("weak-deleting", state="pending-deletion", deletion="2027-01-01"),
    acme_key("weak-no-material", origin="imported", state="pending-import", rotation=None),
    acme_key("weak-disabled", state="disabled"),
    acme_key("weak-store-down", state="unavailable"),
    acme_key("weak-hyok", origin="external", rotation=None),
    acme_key("weak-never-expires", origin="imported", material_expires=False, rotation=None),
    acme_key("weak-service-managed", manager="service"),
    acme_key("weak-public", access=[{**TEAM, "principal": "*", "kind": "anyone"}]),
    acme_key("weak-foreign", access=[{**TEAM, "principal": "other:team/x", "outside": True}]),
    acme_key("weak-grantee", access=[{**TEAM, "principal": "other:app", "outside": True,
                                      "source": "grant"}]),
]}


def test_a_provider_that_fills_managed_key_facts_gets_every_generic_check(installed, tmp_path):
    """The example's Acme key service writes no control; the generic managed-key checks and
    the auditor's independence audit its keys, each weakness caught on its own key."""
    python, _ = installed
    wheel = build_wheel(ROOT / "examples/third-party-provider", tmp_path / "dist")
    added = run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    (tmp_path / "cryptoaudit.toml").write_text(ACME_CONFIG)
    (tmp_path / "acme-export.json").write_text(json.dumps(ACME_EXPORT))
    result = run([str(python), "-m", "pytest", "--cryptoaudit", "-p", "no:cacheprovider",
                  "--cryptoaudit-json", "evidence.json"], cwd=tmp_path)
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    outcomes = {(r["key_uid"], r["check"]): r["outcome"] for r in evidence["results"]}
    errors = [(uid, check) for (uid, check), outcome in outcomes.items() if outcome == "error"]
    assert not errors, result.stdout[-2000:]
    for check, weak in GENERIC_CHECKS.items():
        assert outcomes.get((f"acme:{weak}", check)) == "failed", (check, result.stdout[-2000:])
        assert outcomes.get(("acme:clean", check), "passed") == "passed", check
    ran_on_clean = {check for (uid, check) in outcomes if uid == "acme:clean"}
    assert set(GENERIC_CHECKS) - {"kms-key-material-imported", "kms-imported-material-expiry"} \
        <= ran_on_clean
    assert outcomes[("acme:clean-imported", "kms-imported-material-expiry")] == "passed"
    assert outcomes[("acme:clean-imported", "kms-key-material-imported")] == "passed"
    assert outcomes[("acme-keys:acme-prod", "auditor-independent")] == "passed"
    failed = {(uid, check) for (uid, check), outcome in outcomes.items() if outcome == "failed"}
    expected = {(f"acme:{weak}", check) for check, weak in GENERIC_CHECKS.items()}
    assert failed == expected, sorted(failed ^ expected)
