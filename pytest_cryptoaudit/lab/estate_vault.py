"""The OpenBao part of the lab estate: one dev server with transit keys, a CA and roles.

About one key in seven carries a realistic weakness (exportable, deletable, an RSA-2048 or
AES-128 key at a high tier, no automatic rotation); the PKI mount has one over-broad role.
The audit reads it with a least-privilege token (:data:`openbao.AUDITOR_POLICY`, also over
the multi-tenant namespace of :mod:`.estate_vault_tenants`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import openbao
from .estate_vault_tenants import namespaced_auditor_policy, seed_tenants, tenant_system

TOKEN_ENV = "CRYPTOAUDIT_LAB_VAULT_TOKEN"
ROTATE: dict[str, Any] = {"auto_rotate_period": "720h"}
SERVICES = ("checkout", "ledger", "fraud", "settlement", "refunds", "payouts")
#: (name, type, settings) of the planted weaknesses on the payments mount.
WEAK_KEYS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("export-bridge", "aes256-gcm96", {**ROTATE, "exportable": True}),
    ("legacy-signing", "rsa-2048", ROTATE),
    ("batch-archive", "aes128-gcm96", {**ROTATE, "deletion_allowed": True}),
    ("reporting", "aes256-gcm96", {}),
)
ADMIN_POLICY = 'path "sys/*" { capabilities = ["create", "read", "update", "delete", "sudo"] }'
APP_POLICY = 'path "payments-transit/keys/+/config" { capabilities = ["update"] }'


def _seed_transit(client: Any) -> None:
    openbao.enable_engine(client, "transit", "payments-transit")
    for service in SERVICES:
        openbao.create_transit_key(client, "payments-transit", f"{service}-data",
                                   "aes256-gcm96", **ROTATE)
        openbao.create_transit_key(client, "payments-transit", f"{service}-signing",
                                   "ed25519", auto_rotate_period="8760h")
    for name, key_type, settings in WEAK_KEYS:
        openbao.create_transit_key(client, "payments-transit", name, key_type, **settings)


def _seed_pki(client: Any) -> None:
    openbao.enable_engine(client, "pki", "internal-pki", max_lease_ttl="43800h")
    openbao.create_pki_root(client, "internal-pki", common_name="Lab Internal Root",
                            key_type="ec", key_bits=384, ttl="43800h", issuer_name="lab-root")
    openbao.create_pki_role(client, "internal-pki", "services", key_type="ec", key_bits=256,
                            max_ttl="720h", allowed_domains=["lab.example.test"],
                            allow_subdomains=True, allow_wildcard_certificates=False)
    openbao.create_pki_role(client, "internal-pki", "anything", key_type="any",
                            allow_any_name=True)


def start_vault_estate(services_dir: Path,
                       record_pid: Callable[[int], None]) -> tuple[list[dict[str, Any]],
                                                                   dict[str, str]]:
    """Start and seed the server; return its config systems and the environment they need.

    ``record_pid`` is called as soon as the server runs, so a failure while seeding still
    leaves the lab able to stop it.
    """
    server = openbao.start_dev_server(services_dir / "openbao")
    record_pid(server.pid)
    client = server.client()
    _seed_transit(client)
    _seed_pki(client)
    seed_tenants(server)
    for name, rules in (("cryptoaudit", namespaced_auditor_policy()), ("lab-admin", ADMIN_POLICY),
                        ("payments-app", APP_POLICY)):
        openbao.write_policy(client, name, rules)
    token = openbao.create_token(client, ["cryptoaudit"], "cryptoaudit-lab", ttl="24h")
    system = {"name": "payments-vault", "provider": "vault", "risk_tier": "high",
              "ssrm_owner": "CSC", "accountable_owner": "payments-platform",
              "url": server.url, "token_env": TOKEN_ENV,
              "admin_policies": ["lab-admin"]}
    return [system, tenant_system(server.url, TOKEN_ENV)], {TOKEN_ENV: token}
