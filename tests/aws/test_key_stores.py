"""Custom key stores (AWS CloudHSM and external key stores, HYOK) through boto3: a proxy in
front of moto answers DescribeCustomKeyStores and places keys in stores (see store_proxy);
the provider reads each store's connection state into ``managed.key_store_state`` and CEK-17
``kms-key-store-connected`` fails every key of a store that is not connected."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pytest_cryptoaudit.lab.estate_kms import session
from tests.aws.kms_helpers import system_toml
from tests.aws.store_proxy import KeyStoreProxy

#: An account of its own, so that no other test's key listing sees these keys.
ACCOUNT = "777788889999"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/cryptoaudit"
REGION = "eu-west-1"
STORES = {
    "cks-xks-up": {"CustomKeyStoreName": "xks-up", "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
                   "ConnectionState": "CONNECTED"},
    "cks-xks-down": {"CustomKeyStoreName": "xks-down",
                     "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
                     "ConnectionState": "DISCONNECTED",
                     "ConnectionErrorCode": "XKS_PROXY_TIMED_OUT"},
    "cks-hsm-failed": {"CustomKeyStoreName": "hsm", "CloudHsmClusterId": "cluster-1a2b3c4d5e6",
                       "ConnectionState": "FAILED", "ConnectionErrorCode": "SUBNET_NOT_FOUND"},
}
#: label -> the store the proxy places the key in (None: an ordinary KMS key).
KEYS = {"xks-up": "cks-xks-up", "xks-down-a": "cks-xks-down", "xks-down-b": "cks-xks-down",
        "hsm-failed": "cks-hsm-failed", "store-unlisted": "cks-gone", "plain": None}
CHECK = "kms-key-store-connected"


@pytest.fixture(scope="module")
def stores(moto_server: Any) -> Iterator[tuple[KeyStoreProxy, dict[str, str]]]:
    kms = session(moto_server.url, ROLE).client("kms", region_name=REGION,
                                                endpoint_url=moto_server.url)
    proxy = KeyStoreProxy(moto_server.url)
    proxy.stores.update(STORES)
    arns = {}
    for label, store in KEYS.items():
        metadata = kms.create_key(
            Tags=[{"TagKey": "cryptoaudit:owner", "TagValue": "hyok"}])["KeyMetadata"]
        if store is not None:
            proxy.placed[metadata["KeyId"]] = store
        arns[label] = metadata["Arn"]
    yield proxy, arns
    proxy.close()


def _system(proxy: KeyStoreProxy) -> str:
    return system_toml(proxy.url, name="hyok", regions=[REGION], role_arns=[ROLE],
                       max_attempts=5, timeout=30.0)


def _results(evidence: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["key_uid"]: r for r in evidence["results"] if r["check"] == CHECK}


def test_boto3_reads_the_stores_and_placed_keys_through_the_proxy(stores: Any) -> None:
    proxy, arns = stores
    kms = session(proxy.url, ROLE).client("kms", region_name=REGION, endpoint_url=proxy.url)
    listed = {s["CustomKeyStoreId"]: s for s in kms.describe_custom_key_stores()[
        "CustomKeyStores"]}
    assert listed["cks-xks-down"]["ConnectionState"] == "DISCONNECTED"
    assert listed["cks-hsm-failed"]["ConnectionErrorCode"] == "SUBNET_NOT_FOUND"
    down = kms.describe_key(KeyId=arns["xks-down-a"])["KeyMetadata"]
    assert (down["Origin"], down["CustomKeyStoreId"], down["KeyState"]) == (
        "EXTERNAL_KEY_STORE", "cks-xks-down", "Unavailable")
    assert kms.describe_key(KeyId=arns["plain"])["KeyMetadata"]["Origin"] == "AWS_KMS"


def test_keys_of_a_store_not_connected_fail_and_are_listed(stores: Any, audit: Any) -> None:
    proxy, arns = stores
    before = proxy.store_calls
    result, evidence = audit(_system(proxy), "--cryptoaudit-control", "CEK-17")
    assert proxy.store_calls > before  # the provider asked for the stores
    results = _results(evidence)
    assert results[arns["xks-up"]]["outcome"] == "passed"
    for label in ("xks-down-a", "xks-down-b"):
        assert results[arns[label]]["outcome"] == "failed"
        assert results[arns[label]]["message"].startswith(
            "key store cks-xks-down is disconnected (EXTERNAL_KEY_STORE 'xks-down' "
            "DISCONNECTED (XKS_PROXY_TIMED_OUT))")
    failed = results[arns["hsm-failed"]]
    assert failed["outcome"] == "failed" and "AWS_CLOUDHSM 'hsm' FAILED" in failed["message"]
    unlisted = results[arns["store-unlisted"]]
    assert unlisted["outcome"] == "error"
    assert "DescribeCustomKeyStores does not list key store cks-gone" in unlisted["message"]
    assert arns["plain"] not in results
    assert result.ret == 1
    system = evidence["systems"][0]
    listed = {s["id"]: s for s in system["attributes"]["key_stores"]}
    assert listed["cks-xks-down"]["keys"] == sorted([arns["xks-down-a"], arns["xks-down-b"]])
    assert listed["cks-xks-down"]["state"] == "disconnected"
    assert listed["cks-xks-up"]["state"] == "connected"
    keys = {k["uid"]: k for k in evidence["inventory"]}
    assert keys[arns["xks-up"]]["managed"]["key_store_state"] == "connected"


def test_refused_store_listing_fails_closed(stores: Any, audit: Any) -> None:
    proxy, arns = stores
    proxy.refuse_stores = "AccessDeniedException"
    try:
        _, evidence = audit(_system(proxy), "--cryptoaudit-control", "CEK-17")
    finally:
        proxy.refuse_stores = None
    results = _results(evidence)
    for label in ("xks-up", "xks-down-a", "hsm-failed"):
        assert results[arns[label]]["outcome"] == "error"
        assert "DescribeCustomKeyStores: " in results[arns[label]]["message"]
        assert "AccessDenied" in results[arns[label]]["message"]


def test_without_the_store_check_no_store_is_read(stores: Any, audit: Any) -> None:
    proxy, _ = stores
    before = proxy.store_calls
    audit(_system(proxy), "--cryptoaudit-control", "CEK-04")
    assert proxy.store_calls == before
