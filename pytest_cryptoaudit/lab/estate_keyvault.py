"""A planted Azure Key Vault estate: every weakness the Key Vault checks look for, beside
clean keys and certificates, in three stand-in vaults (see :mod:`.keyvault_standin`).

Each planted key carries the outcomes its checks must give (every other check passes), so
the tests assert the audit per key and check.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .keyvault_standin import (
    AUDITOR_OID,
    TENANT,
    TOKEN,
    KeyVaultStandIn,
    StoredCertificate,
    StoredKey,
    access_policy,
    diagnostic_setting,
    role_assignment,
    vault_resource,
)
from .processes import ensure_running, start_process, wait_until

FAIL, ERROR, SKIP = "failed", "error", "skipped"
OWNER = {"owner": "payments-team"}
ROTATE_90 = {"lifetimeActions": [{"trigger": {"timeAfterCreate": "P90D"},
                                  "action": {"type": "Rotate"}},
                                 {"trigger": {"timeBeforeExpiry": "P30D"},
                                  "action": {"type": "Notify"}}],
             "attributes": {"expiryTime": "P1Y"}}
ROTATE_4Y = {"lifetimeActions": [{"trigger": {"timeAfterCreate": "P4Y"},
                                  "action": {"type": "Rotate"}}],
             "attributes": {"expiryTime": "P5Y"}}
NOTIFY_ONLY = {"lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"},
                                    "action": {"type": "Notify"}}],
               "attributes": {"expiryTime": "P1Y"}}


FOREIGN_TENANT = "99999999-8888-7777-6666-555555555555"
#: Vault resource settings (ARM) of a well-kept vault: RBAC, private endpoint, no public access.
PRIVATE = {"rbac": True, "public_network_access": "Disabled", "default_action": "Deny",
           "private_endpoints": 1}
#: A vault of the access-policy era, open to the internet, one policy for another tenant.
LEGACY = {"rbac": False, "public_network_access": "Enabled", "default_action": "Allow",
          "private_endpoints": 0, "purge_protection": False, "retention_days": 7,
          "access_policies": [
              access_policy("0a0a0a0a-1111-2222-3333-444444444444", ["all"]),
              # The auditing identity may purge keys: the audit is not independent.
              access_policy(AUDITOR_OID, ["get", "list", "purge"]),
              access_policy("0b0b0b0b-1111-2222-3333-444444444444",
                            ["get", "list", "decrypt", "unwrapKey"], tenant=FOREIGN_TENANT)]}


#: Built-in role definitions (their fixed GUIDs) the planted role assignments use.
KV_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
KV_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
KV_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
KV_READER = "21090545-7ca7-4776-b22c-e363652d74d2"
#: Role assignments of the RBAC vault (akv-prod), every key reached: an application that
#: only wraps and unwraps, and a reader of metadata. Both clean.
VAULT_ROLES = ((KV_ENCRYPTION_USER, "5e5e5e5e-1111-2222-3333-444444444444", "ServicePrincipal"),
               (KV_READER, "6f6f6f6f-1111-2222-3333-444444444444", "Group"),
               (KV_READER, AUDITOR_OID, "User"))
#: A principal that administers the vault and uses one key (separation of duties), and a
#: group of another tenant (a foreign group) given use of another key.
SOD_PRINCIPAL = "7a7a7a7a-1111-2222-3333-444444444444"
FOREIGN_GROUP = "8b8b8b8b-1111-2222-3333-444444444444"
KEY_ROLES: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "rbac-admin-and-user": ((KV_ADMINISTRATOR, SOD_PRINCIPAL, "User"),
                            (KV_CRYPTO_USER, SOD_PRINCIPAL, "User")),
    "rbac-foreign-group": ((KV_ENCRYPTION_USER, FOREIGN_GROUP, "ForeignGroup"),),
}


@dataclasses.dataclass(frozen=True)
class PlantedVault:
    """One stand-in vault: the system that audits it, its recovery level (what keys
    report) and, when its subscription is listed, its ARM resource settings."""

    system: str
    risk_tier: str
    recovery_level: str
    recoverable_days: int | None
    subscription: str | None = None
    resource: Mapping[str, Any] = dataclasses.field(default_factory=dict)


VAULTS = (
    PlantedVault("akv-prod", "high", "Recoverable", 90,
                 "00000000-0000-4000-8000-000000000001", PRIVATE),
    PlantedVault("akv-legacy", "medium", "Recoverable+Purgeable", 7,
                 "00000000-0000-4000-8000-000000000002", LEGACY),
    # No subscription listed: its vault properties cannot be read (an error, not a pass).
    PlantedVault("akv-old", "medium", "Purgeable", None),
)
#: Outcomes of the system-level checks (vault properties), per system.
SYSTEM_EXPECT: Mapping[str, Mapping[str, str]] = {
    "akv-prod": {},
    # Its only diagnostic setting sends metrics, not the audit log.
    "akv-legacy": {"keyvault-rbac-authorization": FAIL, "keyvault-logging": FAIL,
                   "auditor-independent": FAIL},
    "akv-old": {"keyvault-rbac-authorization": ERROR, "keyvault-network-restricted": ERROR,
                "keyvault-logging": ERROR, "auditor-independent": ERROR},
}


@dataclasses.dataclass(frozen=True)
class PlantedKey:
    """One key of the estate and the outcomes its checks must give (all others pass)."""

    label: str
    vault: str = "akv-prod"
    expect: Mapping[str, str] = dataclasses.field(default_factory=dict)
    kty: str = "RSA-HSM"
    size: int | None = 3072
    curve: str | None = None
    tags: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(OWNER))
    age_days: int = 30
    versions: int = 1
    expires_in_days: int | None = 300
    enabled: bool = True
    rotation_policy: Mapping[str, Any] | None = dataclasses.field(
        default_factory=lambda: ROTATE_90)
    deleted: bool = False
    forbidden: bool = False


@dataclasses.dataclass(frozen=True)
class PlantedCertificate:
    label: str
    auto_renew: bool = True
    vault: str = "akv-prod"
    expect: Mapping[str, str] = dataclasses.field(default_factory=dict)


ESTATE: tuple[PlantedKey, ...] = (
    PlantedKey("clean-rsa", versions=3),
    PlantedKey("clean-ec", kty="EC-HSM", size=None, curve="P-384"),
    PlantedKey("weak-no-rotation-policy", rotation_policy=None,
               expect={"kms-rotation-enabled": FAIL}),
    PlantedKey("weak-notify-only", rotation_policy=NOTIFY_ONLY,
               expect={"kms-rotation-enabled": FAIL}),
    PlantedKey("weak-long-rotation", rotation_policy=ROTATE_4Y,
               expect={"kms-rotation-period": FAIL}),
    PlantedKey("weak-no-expiry", expires_in_days=None,
               expect={"keyvault-key-expiry-set": FAIL}),
    PlantedKey("weak-expired", expires_in_days=-3,
               expect={"keyvault-key-not-expired": FAIL, "expiry-window": SKIP}),
    PlantedKey("weak-expiring-soon", expires_in_days=10, expect={"expiry-window": FAIL}),
    PlantedKey("weak-rsa-2048-critical", size=2048,
               tags={**OWNER, "cryptoaudit:risk-tier": "critical"},
               expect={"key-strength": FAIL}),
    PlantedKey("weak-software", kty="RSA", expect={"kms-protection-level": FAIL}),
    PlantedKey("weak-disabled", enabled=False, expect={"kms-key-enabled": FAIL}),
    PlantedKey("weak-deleted", deleted=True, expect={"kms-not-pending-deletion": FAIL}),
    PlantedKey("weak-imported-no-expiry", expires_in_days=None,
               tags={**OWNER, "cryptoaudit:origin": "imported"},
               expect={"keyvault-key-expiry-set": FAIL, "kms-imported-material-expiry": FAIL}),
    PlantedKey("weak-old-key", age_days=800, rotation_policy=None,
               expect={"key-age": FAIL, "kms-rotation-enabled": FAIL}),
    PlantedKey("denied", forbidden=True, expect={"discovery-complete": ERROR}),
    PlantedKey("rbac-admin-and-user", expect={"kms-separation-of-duties": FAIL}),
    PlantedKey("rbac-foreign-group", expect={"kms-policy-principals": FAIL}),
    PlantedKey("legacy-purgeable", vault="akv-legacy",
               expect={"keyvault-purge-protection": FAIL, "kms-policy-principals": FAIL,
                       # its first access policy both manages and uses the key
                       "kms-separation-of-duties": FAIL}),
    PlantedKey("old-purgeable", vault="akv-old",
               expect={"keyvault-soft-delete": FAIL, "keyvault-purge-protection": FAIL}),
)

CERTIFICATES: tuple[PlantedCertificate, ...] = (
    PlantedCertificate("cert-auto-renew"),
    PlantedCertificate("cert-email-only", auto_renew=False,
                       expect={"keyvault-certificate-auto-renew": FAIL}),
)


def stored_key(planted: PlantedKey, vault: PlantedVault, now: datetime) -> StoredKey:
    created = now - timedelta(days=planted.age_days)
    step = timedelta(days=planted.age_days / max(planted.versions, 1))
    versions = {f"{planted.label}-v{n}".replace("-", "")[:32].ljust(32, "0"):
                created + step * n for n in range(planted.versions)}
    return StoredKey(
        planted.label, planted.kty, size=planted.size, curve=planted.curve,
        tags=dict(planted.tags), versions=versions, enabled=planted.enabled,
        expires=None if planted.expires_in_days is None
        else now + timedelta(days=planted.expires_in_days),
        recovery_level=vault.recovery_level, recoverable_days=vault.recoverable_days,
        rotation_policy=dict(planted.rotation_policy) if planted.rotation_policy else None,
        deleted=now - timedelta(days=1) if planted.deleted else None,
        purge_date=now + timedelta(days=(vault.recoverable_days or 0) - 1)
        if planted.deleted else None,
        forbidden=planted.forbidden)


def stored_certificate(planted: PlantedCertificate, now: datetime) -> StoredCertificate:
    from cryptography.hazmat.primitives import serialization

    from .keygen import ca_and_leaf

    *_, leaf = ca_and_leaf(f"{planted.label}.example.com", days_valid=90)
    action = "AutoRenew" if planted.auto_renew else "EmailContacts"
    policy = {
        "key_props": {"exportable": False, "kty": "EC-HSM", "crv": "P-256", "reuse_key": False},
        "secret_props": {"contentType": "application/x-pem-file"},
        "x509_props": {"subject": f"CN={planted.label}.example.com", "validity_months": 12},
        "lifetime_actions": [{"trigger": {"lifetime_percentage": 80},
                              "action": {"action_type": action}}],
        "issuer": {"name": "Self"},
        "attributes": {"enabled": True},
    }
    return StoredCertificate(planted.label, leaf.public_bytes(serialization.Encoding.DER),
                             policy, created=now - timedelta(days=5), tags=dict(OWNER))


def seed(standins: Mapping[str, KeyVaultStandIn], now: datetime | None = None) -> dict[str, str]:
    """Plant the estate in one stand-in per vault; returns label -> record uid."""
    now = now or datetime.now(UTC)
    vaults = {vault.system: vault for vault in VAULTS}
    for vault in VAULTS:
        standin = standins[vault.system]
        if vault.subscription is not None:
            resource = vault_resource(vault.system, standin.url, vault.subscription,
                                      tenant=TENANT, **vault.resource)
            standin.arm[vault.subscription] = [("vaults", resource)]
            standin.diagnostic_settings[resource["id"].lower()] = (
                [diagnostic_setting(resource["id"], "audit-to-workspace",
                                    category=None, category_group="audit")]
                if vault.resource.get("rbac") else
                [diagnostic_setting(resource["id"], "metrics-only", enabled=False)])
            if vault.resource.get("rbac"):
                standin.role_assignments = [
                    *(role_assignment(resource["id"], *role) for role in VAULT_ROLES),
                    *(role_assignment(f"{resource['id']}/keys/{label}", *role)
                      for label, roles in KEY_ROLES.items() for role in roles)]
    uids = {}
    for planted in ESTATE:
        standin = standins[planted.vault]
        standin.vault.add_key(stored_key(planted, vaults[planted.vault], now))
        uids[planted.label] = f"{standin.url}/keys/{planted.label}"
    for cert in CERTIFICATES:
        standin = standins[cert.vault]
        stored = stored_certificate(cert, now)
        standin.vault.certificates[cert.label] = stored
        # The certificate's key is listed among the keys, managed by the certificate.
        standin.vault.add_key(StoredKey(
            cert.label, "EC-HSM", curve="P-256", tags=dict(OWNER), managed=True,
            versions={stored.version: stored.created}, expires=now + timedelta(days=360),
            recovery_level="Recoverable", recoverable_days=90))
        uids[cert.label] = f"{standin.url}/certificates/{cert.label}"
        uids[f"{cert.label}-key"] = f"{standin.url}/keys/{cert.label}"
    return uids


def system(vault: PlantedVault, url: str, ca_file: Path, token_env: str) -> dict[str, Any]:
    """The config of one planted vault's system: the prod vault is found through its
    subscription alone, the legacy one is named and its subscription listed, the old one
    is named only."""
    found: dict[str, Any] = {
        "name": vault.system, "provider": "azure-keyvault", "risk_tier": vault.risk_tier,
        "ssrm_owner": "CSC", "credential": "access-token", "access_token_env": token_env,
        "ca_file": str(ca_file), "verify_challenge_resource": False, "graph_endpoint": url}
    if vault.subscription is not None:
        found.update(subscriptions=[vault.subscription], arm_endpoint=url)
    if vault.system != "akv-prod":
        found["vault_urls"] = [url]
    return found


def systems(standins: Mapping[str, KeyVaultStandIn], token_env: str) -> list[dict[str, Any]]:
    return [system(vault, standins[vault.system].url, standins[vault.system].ca_file,
                   token_env) for vault in VAULTS]


#: Keys at tier high and critical must be HSM-protected (the generic kms-protection-level).
HSM_POLICY = {"managed_key_allowed_protection": {"high": ["hsm", "external"],
                                                 "critical": ["hsm", "external"]}}


def config_toml(standins: Mapping[str, KeyVaultStandIn], token_env: str) -> str:
    import tomli_w

    from . import reviewed_policy

    return tomli_w.dumps({"systems": systems(standins, token_env),
                          "policy": {**reviewed_policy(), **HSM_POLICY}})


def start(folder: Path, **options: Any) -> dict[str, KeyVaultStandIn]:
    """One started stand-in per planted vault, all from one test CA in ``folder`` (close
    each when done)."""
    return {vault.system: KeyVaultStandIn(folder, **options).__enter__() for vault in VAULTS}


#: The variable the lab's configuration names for the stand-in's test token.
LAB_TOKEN_ENV = "CRYPTOAUDIT_LAB_AZURE_TOKEN"
#: Clean application keys of the lab's production vault, beside the planted estate.
LAB_BULK_KEYS = 40


def lab_seed(standins: Mapping[str, KeyVaultStandIn]) -> dict[str, str]:
    """The planted estate and, in the production vault, a realistic run of clean
    application keys (RSA-HSM 3072 and EC-HSM P-256, rotated every 90 days)."""
    uids = seed(standins)
    now = datetime.now(UTC)
    prod = VAULTS[0]
    for number in range(LAB_BULK_KEYS):
        rsa = number % 2 == 0
        planted = PlantedKey(f"app-{number:03d}", kty="RSA-HSM" if rsa else "EC-HSM",
                             size=3072 if rsa else None, curve=None if rsa else "P-256",
                             age_days=10 + number, versions=1 + number % 3)
        standins[prod.system].vault.add_key(stored_key(planted, prod, now))
        uids[planted.label] = f"{standins[prod.system].url}/keys/{planted.label}"
    return uids


def serve(folder: Path, ready_file: Path) -> None:
    """Serve the seeded vaults and the Managed HSM pools (:mod:`.estate_hsm`) until
    terminated; ``ready_file`` says where, when ready."""
    from . import estate_hsm

    standins = start(folder)
    lab_seed(standins)
    pools = estate_hsm.start(folder)
    partial = ready_file.with_suffix(".tmp")
    partial.write_text(json.dumps({"urls": {name: s.url for name, s in standins.items()},
                                   "hsm_arm": pools[estate_hsm.POOLS[0].name].url,
                                   "ca_file": str(next(iter(standins.values())).ca_file)}))
    partial.replace(ready_file)  # whole or absent: the lab never reads half a file
    threading.Event().wait()


def start_keyvault_estate(services_dir: Path, record_pid: Callable[[int], None]
                          ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Start the seeded stand-in vaults in a process of their own; return the config
    systems and the environment they need (the stand-in's test token)."""
    folder = services_dir / "keyvault"
    folder.mkdir(parents=True, exist_ok=True)
    ready, log = folder / "estate.json", folder / "standin.log"
    process = start_process([sys.executable, "-m", __name__, str(folder), str(ready)], log)
    record_pid(process.pid)

    def seeded() -> bool:
        ensure_running(process, "Key Vault stand-in", log)
        return ready.exists()

    wait_until(seeded, "Key Vault stand-in", timeout=60)
    data = json.loads(ready.read_text())
    from . import estate_hsm

    found = [system(vault, data["urls"][vault.system], Path(data["ca_file"]), LAB_TOKEN_ENV)
             for vault in VAULTS]
    found.append(estate_hsm.system_at(data["hsm_arm"], Path(data["ca_file"]), LAB_TOKEN_ENV))
    return found, {LAB_TOKEN_ENV: TOKEN}


if __name__ == "__main__":
    serve(Path(sys.argv[1]), Path(sys.argv[2]))
