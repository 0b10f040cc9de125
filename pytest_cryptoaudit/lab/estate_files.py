"""The key-file part of the lab estate: three systems' worth of keys and certificates.

About one object in seven carries a realistic weakness (weak size, SHA-1 signature, expired
certificate, world-readable or unencrypted private key, overlong lifetime...).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .keygen import (
    NOW,
    ca_and_leaf,
    cert_pem,
    certificate,
    ec_key,
    ed25519_key,
    private_pem,
    rsa_key,
    sha1_certificate,
    write,
)

PASSPHRASE_ENV = "CRYPTOAUDIT_LAB_KEY_PASSPHRASE"
LAB_PASSPHRASE = "lab-only passphrase, not a secret"


def _payments(root: Path) -> None:
    password = LAB_PASSPHRASE.encode()
    for index, service in enumerate(("checkout", "ledger", "fraud", "settlement", "refunds")):
        _ca_key, ca, leaf_key, leaf = ca_and_leaf(f"{service}.payments.example.test")
        write(root / f"payments/{service}/chain.pem", cert_pem(leaf, ca))
        write(root / f"payments/{service}/tls.key", private_pem(leaf_key, password))
        if index == 0:  # weakness: a leaf valid for five years
            write(root / f"payments/{service}/legacy.pem",
                  cert_pem(certificate(ec_key(), days_valid=5 * 365)))
    write(root / "payments/hsm-export/wrap.key", private_pem(rsa_key(2048)), mode=0o640)


def _analytics(root: Path) -> None:
    password = LAB_PASSPHRASE.encode()
    for name in ("ingest", "warehouse", "dashboards", "exports", "ml-features"):
        write(root / f"analytics/{name}.key", private_pem(ec_key(ec.SECP384R1()), password))
        write(root / f"analytics/{name}.pem", cert_pem(certificate(ec_key(), subject=name)))
    write(root / "analytics/old-partner.pem", cert_pem(sha1_certificate(rsa_key())))
    write(root / "analytics/expired.pem", cert_pem(certificate(
        ec_key(), not_before=NOW - dt.timedelta(days=400), days_valid=365)))


def _tools(root: Path) -> None:
    for name in ("ci-deploy", "backup", "wiki", "chat-bot"):
        write(root / f"tools/{name}_ed25519", private_pem(
            ed25519_key(), LAB_PASSPHRASE.encode(), fmt=serialization.PrivateFormat.OpenSSH))
    write(root / "tools/jenkins.pem", private_pem(rsa_key(1024)), mode=0o644)
    old = write(root / "tools/backup-2019.pem", private_pem(ec_key(), LAB_PASSPHRASE.encode()))
    when = (NOW - dt.timedelta(days=6 * 365)).timestamp()
    os.utime(old, (when, when))


def seed_files(root: Path) -> list[dict[str, Any]]:
    """Write the key files under ``root`` and return the systems that describe them
    (paths relative to the lab folder, the parent of ``root``, where the config lives)."""
    _payments(root)
    _analytics(root)
    _tools(root)
    common = {"provider": "files", "password_env": PASSPHRASE_ENV}
    return [
        {"name": "payments-keys", "risk_tier": "critical", "ssrm_owner": "CSP-MP",
         "accountable_owner": "payments-team", "paths": [f"{root.name}/payments"], **common},
        {"name": "analytics-keys", "risk_tier": "medium", "ssrm_owner": "CSC",
         "accountable_owner": "data-team", "paths": [f"{root.name}/analytics"], **common},
        {"name": "internal-tools-keys", "risk_tier": "low", "ssrm_owner": "CSC",
         "accountable_owner": "it-ops", "paths": [f"{root.name}/tools"], **common},
    ]
