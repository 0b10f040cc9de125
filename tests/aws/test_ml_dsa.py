"""AWS KMS ML-DSA keys through boto3: the provider reads ML_DSA_44/65/87 key specs from
DescribeKey (a proxy in front of moto answers them, see pq_proxy) and CEK-04 judges them
quantum-resistant, beside a classical key of the same account that gets its dated note."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pytest_cryptoaudit.lab.estate_kms import session
from tests.aws.kms_helpers import system_toml
from tests.aws.pq_proxy import MlDsaProxy

#: An account of its own, so that no other test's key listing sees these keys.
PQ_ACCOUNT = "444455556666"
PQ_ROLE = f"arn:aws:iam::{PQ_ACCOUNT}:role/cryptoaudit"
REGION = "eu-west-1"
SPECS = ("ML_DSA_44", "ML_DSA_65", "ML_DSA_87")


@pytest.fixture(scope="module")
def ml_dsa_keys(moto_server: Any) -> Iterator[tuple[MlDsaProxy, dict[str, str]]]:
    """Three keys the proxy answers as ML-DSA and one classical P-256 key: label -> ARN."""
    kms = session(moto_server.url, PQ_ROLE).client("kms", region_name=REGION,
                                                   endpoint_url=moto_server.url)
    proxy = MlDsaProxy(moto_server.url)
    arns = {}
    for label in (*SPECS, "ECC_NIST_P256"):
        created = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY",
                                 Tags=[{"TagKey": "cryptoaudit:owner", "TagValue": "signing"}])
        metadata = created["KeyMetadata"]
        if label in SPECS:
            proxy.specs[metadata["KeyId"]] = label
        arns[label] = metadata["Arn"]
    yield proxy, arns
    proxy.close()


def signing_system(proxy: MlDsaProxy) -> str:
    """The aws-kms system of the ML-DSA account, through the proxy; patient, since the
    machine may be busy (a throttled or slow call would be a discovery error)."""
    return system_toml(proxy.url, name="signing", regions=[REGION], role_arns=[PQ_ROLE],
                       max_attempts=5, timeout=30.0)


def test_boto3_reads_the_ml_dsa_key_spec_through_the_proxy(ml_dsa_keys: Any,
                                                           moto_server: Any) -> None:
    proxy, arns = ml_dsa_keys
    kms = session(proxy.url, PQ_ROLE).client("kms", region_name=REGION, endpoint_url=proxy.url)
    described = kms.describe_key(KeyId=arns["ML_DSA_65"])["KeyMetadata"]
    assert (described["KeySpec"], described["SigningAlgorithms"]) == (
        "ML_DSA_65", ["ML_DSA_SHAKE_256"])
    classical = kms.describe_key(KeyId=arns["ECC_NIST_P256"])["KeyMetadata"]
    assert classical["KeySpec"] == "ECC_NIST_P256"
    listed = {k["KeyArn"] for k in kms.list_keys()["Keys"]}
    assert set(arns.values()) <= listed  # everything but the spec is moto's own answer


def test_ml_dsa_keys_are_quantum_resistant_and_classical_keys_dated(
        ml_dsa_keys: Any, audit: Any) -> None:
    proxy, arns = ml_dsa_keys
    before = proxy.rewritten
    _, evidence = audit(signing_system(proxy), "--cryptoaudit-control", "CEK-04")
    assert evidence["systems"][0]["discovery_errors"] == []
    assert proxy.rewritten - before >= len(SPECS)  # the provider asked DescribeKey for each
    keys = {k["uid"]: k for k in evidence["inventory"]}
    assert set(keys) == set(arns.values())
    results = {r["key_uid"]: r for r in evidence["results"] if r["check"] == "pq-readiness"}
    for spec, size in zip(SPECS, (128, 192, 256), strict=True):
        key = keys[arns[spec]]
        assert (key["algorithm"], key["size"], key["kind"]) == ("ML-DSA", size, "private-key")
        assert key["attributes"]["key_spec"] == spec
        assert key["pq"]["status"] == "quantum-resistant"
        assert results[arns[spec]]["outcome"] == "passed"
        assert results[arns[spec]]["notes"] == ["ML-DSA is quantum-resistant"]
    classical = results[arns["ECC_NIST_P256"]]
    assert keys[arns["ECC_NIST_P256"]]["pq"]["status"] == "quantum-vulnerable"
    assert classical["outcome"] == "passed"  # a dated note until the roadmap's date
    assert "disallowed from 2036-01-01" in classical["notes"][0]
    assert "plan ML-DSA-65" in classical["notes"][0]


def test_a_pinned_past_date_fails_the_classical_key_only(ml_dsa_keys: Any, audit: Any) -> None:
    proxy, arns = ml_dsa_keys
    config = signing_system(proxy) + '\n[policy]\npq_pinned_dates = {disallowed = "2020-01-01"}\n'
    _, evidence = audit(config, "--cryptoaudit-control", "CEK-04")
    assert evidence["systems"][0]["discovery_errors"] == []
    outcomes = {r["key_uid"]: r["outcome"] for r in evidence["results"]
                if r["check"] == "pq-readiness"}
    assert outcomes == {**{arns[s]: "passed" for s in SPECS}, arns["ECC_NIST_P256"]: "failed"}
