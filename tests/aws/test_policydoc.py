"""Key policy, grant, trail and key-spec rules, on plain data (no server): key policies and
grants normalised to access grants, as the generic access checks judge them."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.facts import Action, PrincipalKind
from pytest_cryptoaudit.providers.aws_kms.cloudtrail import kms_event_coverage
from pytest_cryptoaudit.providers.aws_kms.facts import kms_grants, policy_grants
from pytest_cryptoaudit.providers.aws_kms.keyspec import algorithm_fields, family, kind_of
from pytest_cryptoaudit.providers.aws_kms.policydoc import account_of

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
    assert any(g.is_public for g in policy_grants(policy(statement), {OWN})) is public


def test_a_single_statement_object_is_read_too():
    (grant,) = policy_grants({"Statement": allow("*")}, {OWN})
    assert (grant.kind, grant.ref, grant.source) == (PrincipalKind.ANYONE, "statement S",
                                                     "key-policy")
    assert set(grant.actions) == set(Action) - {Action.EXPORT}  # KMS exports no key material


@pytest.mark.parametrize(("principal", "account"), [
    (OWN, OWN), (f"arn:aws:iam::{OWN}:role/app", OWN),
    (f"arn:aws:sts::{OTHER}:assumed-role/r/s", OTHER), ("AROAEXAMPLEID", None),
    ("*", None), ("s3.amazonaws.com", None),
])
def test_account_of(principal, account):
    assert account_of(principal) == account


def outside(grants) -> list[str]:
    return sorted(g.principal for g in grants if g.outside)


def test_foreign_principals_include_condition_accounts_and_unknown_ids():
    document = policy(allow({"AWS": [f"arn:aws:iam::{OWN}:root", "AROAUNKNOWN"]}),
                      allow("*", StringEquals={"kms:CallerAccount": [OWN, OTHER]}))
    assert outside(policy_grants(document, {OWN})) == [OTHER, "AROAUNKNOWN"]
    assert outside(policy_grants(document, {OWN, OTHER})) == ["AROAUNKNOWN"]
    kinds = {g.principal: g.kind for g in policy_grants(document, {OWN})}
    assert kinds["AROAUNKNOWN"] is PrincipalKind.UNKNOWN
    assert kinds[f"arn:aws:iam::{OWN}:root"] is PrincipalKind.ACCOUNT


def test_not_action_covers_every_other_action():
    statement = {"Sid": "N", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OWN}:root"},
                 "NotAction": ["kms:Put*", "kms:Schedule*", "kms:Delete*", "kms:*Grant"]}
    (grant,) = policy_grants(policy(statement), {OWN})
    assert Action.DELETE not in grant.actions and Action.GRANT not in grant.actions
    assert {Action.USE, Action.MANAGE} <= set(grant.actions)


def test_grantees_and_retiring_principals_with_their_operations():
    grants = [{"GranteePrincipal": f"arn:aws:iam::{OTHER}:role/etl", "Operations": ["Decrypt"],
               "GrantId": "g1"},
              {"GranteePrincipal": "dynamodb.amazonaws.com", "Operations": ["Encrypt"]},
              {"GranteePrincipal": f"arn:aws:iam::{OWN}:role/app",
               "RetiringPrincipal": f"arn:aws:iam::{OTHER}:root", "Operations": ["RetireGrant"],
               "Constraints": {"EncryptionContextSubset": {"app": "x"}}}]
    found = kms_grants(grants, {OWN})
    assert outside(found) == [f"arn:aws:iam::{OTHER}:role/etl", f"arn:aws:iam::{OTHER}:root"]
    etl = found[0]
    assert (etl.kind, etl.actions, etl.source, etl.ref) == (
        PrincipalKind.ROLE, (Action.USE,), "grant", "grant g1")
    assert found[1].kind is PrincipalKind.SERVICE and not found[1].outside
    assert all(g.restricted for g in found[2:])  # an encryption-context constraint narrows


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


def test_describe_key_facts_that_are_missing_are_unreadable_not_guessed():
    from pytest_cryptoaudit.providers.aws_kms.facts import base_facts, unreadable_facts

    imported = {"Origin": "EXTERNAL", "KeyState": "Enabled", "KeyManager": "CUSTOMER"}
    assert unreadable_facts(imported) == {
        "managed.material_expires": "DescribeKey did not report ExpirationModel"}
    assert base_facts(imported)["material_expires"] is None
    expiring = {**imported, "ExpirationModel": "KEY_MATERIAL_EXPIRES"}
    assert unreadable_facts(expiring) == {} and base_facts(expiring)["material_expires"] is True
    assert unreadable_facts({**imported, "KeyState": "PendingImport"}) == {}
    odd = {"Origin": "AWS_KMS", "KeyState": "Hibernating"}
    assert unreadable_facts(odd) == {"managed.state": "unknown KMS key state 'Hibernating'"}
