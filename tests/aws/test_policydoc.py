"""Key policy, grant, trail and key-spec rules, on plain data (no server)."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.providers.aws_kms.cloudtrail import kms_event_coverage
from pytest_cryptoaudit.providers.aws_kms.keyspec import algorithm_fields, family, kind_of
from pytest_cryptoaudit.providers.aws_kms.policydoc import (
    account_of,
    foreign_grantees,
    foreign_principals,
    public_statements,
)

OWN, OTHER = "123456789012", "999999999999"


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal, **condition):
    statement = {"Sid": "S", "Effect": "Allow", "Principal": principal, "Action": "kms:*"}
    return {**statement, "Condition": condition} if condition else statement


@pytest.mark.parametrize(("statement", "public"), [
    (allow("*"), True),
    (allow({"AWS": "*"}), True),
    (allow({"AWS": ["arn:aws:iam::123456789012:root", "*"]}), True),
    ({"Sid": "S", "Effect": "Allow", "NotPrincipal": {"AWS": OWN}, "Action": "kms:*"}, True),
    (allow("*", StringEquals={"kms:ViaService": "s3.eu-west-1.amazonaws.com"}), True),
    (allow("*", StringEqualsIfExists={"aws:PrincipalAccount": OWN}), True),
    (allow("*", StringEquals={"aws:PrincipalAccount": "*"}), True),
    (allow("*", StringEquals={"kms:CallerAccount": OWN}), False),
    (allow("*", StringEquals={"aws:PrincipalOrgID": "o-abc123"}), False),
    ({**allow("*"), "Effect": "Deny"}, False),
    (allow({"AWS": f"arn:aws:iam::{OWN}:root"}), False),
    (allow({"Service": "logs.amazonaws.com"}), False),
])
def test_public_statements(statement, public):
    assert bool(public_statements(policy(statement))) is public


def test_a_single_statement_object_is_read_too():
    assert public_statements({"Statement": allow("*")}) == ["S"]


@pytest.mark.parametrize(("principal", "account"), [
    (OWN, OWN), (f"arn:aws:iam::{OWN}:role/app", OWN),
    (f"arn:aws:sts::{OTHER}:assumed-role/r/s", OTHER), ("AROAEXAMPLEID", None),
    ("*", None), ("s3.amazonaws.com", None),
])
def test_account_of(principal, account):
    assert account_of(principal) == account


def test_foreign_principals_include_condition_accounts_and_unknown_ids():
    document = policy(allow({"AWS": [f"arn:aws:iam::{OWN}:root", "AROAUNKNOWN"]}),
                      allow("*", StringEquals={"kms:CallerAccount": [OWN, OTHER]}))
    assert foreign_principals(document, {OWN}) == [f"{OTHER} (statement S)",
                                                   "AROAUNKNOWN (statement S)"]
    assert foreign_principals(document, {OWN, OTHER}) == ["AROAUNKNOWN (statement S)"]


def test_foreign_grantees_skip_service_principals():
    grants = [{"grantee": f"arn:aws:iam::{OTHER}:role/etl", "operations": ["Decrypt"]},
              {"grantee": "dynamodb.amazonaws.com", "operations": ["Encrypt"]},
              {"grantee": f"arn:aws:iam::{OWN}:role/app", "retiring": f"arn:aws:iam::{OTHER}:root",
               "operations": ["RetireGrant"]}]
    assert foreign_grantees(grants, {OWN}) == [
        f"arn:aws:iam::{OTHER}:role/etl (grantee; Decrypt)",
        f"arn:aws:iam::{OTHER}:root (retiring; RetireGrant)"]


@pytest.mark.parametrize(("selectors", "coverage"), [
    ({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]},
     ["read", "write"]),
    ({"EventSelectors": [{"ReadWriteType": "WriteOnly"}]}, ["write"]),
    ({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]}, []),
    ({"EventSelectors": [{"ReadWriteType": "All",
                          "ExcludeManagementEventSources": ["kms.amazonaws.com"]}]}, []),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}]}]}, ["read", "write"]),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]},
        {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}]}]}, []),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]},
        {"Field": "readOnly", "Equals": ["false"]}]}]}, ["write"]),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}]}]}, []),
    ({"EventSelectors": [], "AdvancedEventSelectors": []}, []),
])
def test_kms_event_coverage(selectors, coverage):
    assert kms_event_coverage(selectors) == coverage


@pytest.mark.parametrize(("spec", "fields", "kind", "spec_family"), [
    ("SYMMETRIC_DEFAULT", ("AES", 256, None), "secret-key", "symmetric"),
    ("HMAC_384", ("HMAC", 384, None), "secret-key", "hmac"),
    ("RSA_4096", ("RSA", 4096, None), "private-key", "rsa"),
    ("ECC_NIST_P521", ("EC", 521, "secp521r1"), "private-key", "ecc"),
    ("ML_DSA_65", ("ML-DSA", 192, None), "private-key", "other"),
])
def test_key_specs(spec, fields, kind, spec_family):
    described = algorithm_fields(spec)
    assert (described["algorithm"], described["size"], described["curve"]) == fields
    assert (kind_of(spec), family(spec)) == (kind, spec_family)


def test_an_unknown_key_spec_is_unreadable_not_guessed():
    assert algorithm_fields("QUANTUM_9000") == {"unreadable": {
        "algorithm": "unknown KMS key spec 'QUANTUM_9000'",
        "size": "unknown KMS key spec 'QUANTUM_9000'"}}
