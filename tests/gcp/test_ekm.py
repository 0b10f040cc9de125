"""Cloud EKM: the EKM connection of each EXTERNAL_VPC key is read once and asked whether it
can reach its external key manager; the answer is the key-store state the generic
kms-key-store-connected judges, and a connection the audit cannot read is an error."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.lab.estate_gcp import (
    BROKEN_EKM,
    ESTATE,
    HEALTHY_EKM,
    PlantedKey,
    build,
    config_toml,
    ekm_name,
)
from pytest_cryptoaudit.providers.gcp_kms.ekm import store_answer

from .helpers import discover

HYOK = {"protection": "EXTERNAL_VPC", "algorithm": "EXTERNAL_SYMMETRIC_ENCRYPTION",
        "rotation_days": None}
KEYS = (PlantedKey("ekm-a", **HYOK), PlantedKey("ekm-b", **HYOK),
        PlantedKey("ekm-broken", ekm=BROKEN_EKM, **HYOK), PlantedKey("in-hsm"))
HEALTHY, BROKEN = ekm_name("payments", HEALTHY_EKM), ekm_name("payments", BROKEN_EKM)


def _by_label(inventory):
    return {key.uid.rsplit("/", 1)[-1]: key for key in inventory.keys}


def test_the_sdk_reads_connections_and_verifies_them(gcp_standin):
    from google.api_core.exceptions import BadRequest
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import kms_v1

    client = kms_v1.EkmServiceClient(transport="rest", credentials=AnonymousCredentials(),
                                     client_options={"api_endpoint": gcp_standin.url})
    connection = client.get_ekm_connection(name=HEALTHY)
    assert connection.key_management_mode.name == "CLOUD_KMS"
    assert connection.service_resolvers[0].hostname == "ekm.partner.example.com"
    assert connection.crypto_space_path == "v0/longlived/partner-space"
    listed = client.list_ekm_connections(parent=HEALTHY.rsplit("/ekmConnections/", 1)[0])
    assert sorted(c.name for c in listed) == sorted([HEALTHY, BROKEN])
    client.verify_connectivity(name=HEALTHY)  # an empty response: reachable
    with pytest.raises(BadRequest, match="could not be reached") as refused:
        client.verify_connectivity(name=BROKEN)
    assert refused.value.response.json()["error"]["status"] == "FAILED_PRECONDITION"


def test_each_connection_is_read_once_and_fills_the_key_store_facts(gcp_standins):
    standin = gcp_standins(build(KEYS))
    inventory = discover(config_toml(standin.url), controls={"CEK-17"})
    keys = _by_label(inventory)
    healthy = keys["ekm-a"].managed
    assert (healthy.key_store, healthy.key_store_state.value) == (HEALTHY, "connected")
    assert "key management CLOUD_KMS" in healthy.key_store_detail
    assert "ekm.partner.example.com" in healthy.key_store_detail
    broken = keys["ekm-broken"].managed
    assert broken.key_store_state.value == "failed"
    assert "timed out" in broken.key_store_detail
    assert keys["in-hsm"].managed.key_store is None
    assert "managed.key_store_state" not in keys["in-hsm"].unreadable
    assert standin.requests["GetEkmConnection"] == 2  # two connections, three keys
    assert standin.requests["VerifyConnectivity"] == 2
    stores = {s["id"]: s for s in inventory.systems[0].attributes["key_stores"]}
    assert stores[HEALTHY]["keys"] == sorted([keys["ekm-a"].uid, keys["ekm-b"].uid])
    assert (stores[BROKEN]["state"], stores[BROKEN]["keys"]) == ("failed",
                                                                 [keys["ekm-broken"].uid])


def test_no_connection_is_read_when_no_selected_control_needs_it(gcp_standins):
    standin = gcp_standins(build(KEYS))
    inventory = discover(config_toml(standin.url), controls={"CEK-21"})
    assert standin.requests["GetEkmConnection"] == standin.requests["VerifyConnectivity"] == 0
    assert _by_label(inventory)["ekm-a"].unreadable["managed.key_store_state"].startswith(
        "not fetched")


def test_a_refused_connection_makes_its_keys_unreadable_never_connected(gcp_standins):
    estate = build(KEYS)
    estate.refusals[("GetEkmConnection", HEALTHY)] = 403
    estate.refusals[("VerifyConnectivity", BROKEN)] = 403
    inventory = discover(config_toml(gcp_standins(estate).url), controls={"CEK-17"})
    keys = _by_label(inventory)
    for label, connection in (("ekm-a", HEALTHY), ("ekm-broken", BROKEN)):
        assert keys[label].managed.key_store_state is None
        reason = keys[label].unreadable["managed.key_store_state"]
        assert connection.rsplit("/", 1)[-1] in reason and "PERMISSION_DENIED" in reason


def test_only_failed_precondition_means_the_store_failed():
    assert store_answer("c", ("FAILED_PRECONDITION", "down")).facts["key_store_state"] \
        .value == "failed"
    unread = store_answer("c", ("UNAVAILABLE", "503 UNAVAILABLE: try later"))
    assert unread.facts == {} and "503" in (unread.unreadable or "")
    assert store_answer("c", None).facts["key_store_state"].value == "connected"


def test_the_audit_finds_the_broken_store_and_names_it(gcp_audit, gcp_standin):
    _, evidence = gcp_audit(config_toml(gcp_standin.url), "--cryptoaudit-control", "CEK-17",
                            "--cryptoaudit-control", "CEK-08")
    results = {(r["check"], r["key_uid"]): r for r in evidence["results"]}
    uid = {planted.label: planted.name for planted in ESTATE}
    broken = results[("kms-key-store-connected", uid["weak-ekm-unreachable"])]
    assert broken["outcome"] == "failed"
    assert BROKEN_EKM in broken["message"] and "verifyConnectivity" in broken["message"]
    assert results[("kms-key-store-connected", uid["clean-hyok"])]["outcome"] == "passed"
    custody = " ".join(results[("kms-customer-managed", uid["clean-hyok"])]["notes"])
    assert "customer holds the key in its own key store" in custody and HEALTHY_EKM in custody
