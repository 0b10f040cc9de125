"""Failures to look are reported, never a clean key: a key ring whose policy is refused, a
listing refused, and the progress line told how many keys to expect."""

from __future__ import annotations

import json

import pydantic
import pytest

from pytest_cryptoaudit.lab.estate_gcp import PlantedKey, build, config_toml
from pytest_cryptoaudit.providers.gcp_kms.clients import credentials
from pytest_cryptoaudit.providers.gcp_kms.options import GcpKmsOptions

from .helpers import discover

KEYS = tuple(PlantedKey(f"key-{index}") for index in range(3))
AUDITOR = "audit@cryptoaudit-lab.iam.gserviceaccount.com"
RING = "projects/cryptoaudit-lab/locations/europe-west1/keyRings/payments"


def test_a_refused_key_ring_policy_makes_every_key_of_the_ring_unreadable(gcp_standins):
    estate = build(KEYS)
    estate.refusals[("GetIamPolicy", RING)] = 403
    inventory = discover(config_toml(gcp_standins(estate).url), controls={"CEK-08"})
    assert len(inventory.keys) == len(KEYS)
    for key in inventory.keys:
        assert key.managed is not None and key.managed.access is None
        reason = key.unreadable["managed.access"]
        assert f"IAM policy of key ring {RING}" in reason and "PERMISSION_DENIED" in reason


def test_a_refused_listing_is_an_error_naming_the_ring(gcp_standins):
    estate = build(KEYS)
    estate.refusals[("ListCryptoKeys", RING)] = 403
    inventory = discover(config_toml(gcp_standins(estate).url))
    assert not inventory.keys
    (error,) = inventory.errors
    assert error.key_uid is None
    assert error.reason.startswith(f"{RING}: cannot list crypto keys: 403 PERMISSION_DENIED")
    assert inventory.systems[0].attributes["key_rings"] == 3  # the three others, listed


def test_progress_knows_how_many_keys_to_expect(gcp_standins):
    reports = []
    inventory = discover(config_toml(gcp_standins(build(KEYS)).url),
                         progress=lambda system, keys, errors, expected=None:
                         reports.append((system, keys, errors, expected)))
    assert len(inventory.keys) == len(KEYS)
    assert ("gcp-prod", 0, 0, len(KEYS)) in reports


def test_impersonation_wraps_the_service_account_of_the_file(monkeypatch, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.auth import impersonated_credentials

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    path = tmp_path / "source.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "cryptoaudit-lab", "private_key_id": "1",
        "private_key": pem, "client_email": "source@cryptoaudit-lab.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": "http://127.0.0.1:1/token"}))
    monkeypatch.setenv("TEST_GCP_SA_FILE", str(path))
    options = GcpKmsOptions(projects=["cryptoaudit-lab"], locations=["global"],
                            credentials="service-account-file",
                            credentials_file_env="TEST_GCP_SA_FILE",
                            impersonate_service_account=AUDITOR)
    made = credentials(options)  # made, never refreshed: no token is asked for here
    assert isinstance(made, impersonated_credentials.Credentials)
    assert made.service_account_email == AUDITOR


def test_anonymous_credentials_cannot_impersonate():
    with pytest.raises(pydantic.ValidationError, match="cannot impersonate"):
        GcpKmsOptions(projects=["cryptoaudit-lab"], locations=["global"],
                      credentials="anonymous", api_endpoint="http://127.0.0.1:1",
                      impersonate_service_account=AUDITOR)
