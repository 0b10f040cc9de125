"""The per-tenant context of Vault grants (derived keys, ACL parameter conditions) and the
holders of policies named as principals: pure functions, no server."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.facts import Action, PrincipalKind
from pytest_cryptoaudit.providers.vault.access import key_access, policy_grant
from pytest_cryptoaudit.providers.vault.context import KeyContext, use_context
from pytest_cryptoaudit.providers.vault.holders import Holder, PolicyHolders, add_entity
from pytest_cryptoaudit.providers.vault.policies import (
    PolicyParseError,
    parse_conditions,
    parse_document,
)

ACME = "YWNtZQ=="
USE = 'capabilities = ["update"]'
PINNED = f'''
path "transit/encrypt/shared" {{
  {USE}
  required_parameters = ["context"]
  allowed_parameters = {{
    "context" = ["{ACME}"]
    "*" = []
  }}
}}
path "transit/decrypt/shared" {{
  {USE}
  allowed_parameters = {{ "context" = ["{ACME}"] "*" = [] }}
}}
'''
REQUIRED_AAD = f'''
path "transit/encrypt/shared" {{
  {USE}
  required_parameters = ["associated_data"]
}}
path "transit/decrypt/shared" {{
  {USE}
  required_parameters = ["associated_data", "ciphertext"]
}}
'''
HALF_AAD = f'''
path "transit/encrypt/shared" {{
  {USE}
  required_parameters = ["associated_data"]
}}
path "transit/decrypt/shared" {{ {USE} }}
'''
REQUIRED_CONTEXT = f'''
path "transit/encrypt/shared" {{
  {USE}
  required_parameters = ["context"]
}}
path "transit/decrypt/shared" {{
  {USE}
  required_parameters = ["context"]
}}
'''
PLAIN = f'path "transit/+/shared" {{ {USE} }}'
DERIVED = KeyContext(derived=True, aead=True)
AEAD = KeyContext(derived=False, aead=True)
RSA = KeyContext(derived=False, aead=False)


def _grant(text: str, key: KeyContext):
    rules, conditions = parse_document(text)
    grant = policy_grant("p", rules, "transit", "shared", conditions=conditions, key=key)
    assert grant is not None and Action.USE in grant.actions
    return grant


def test_conditions_are_read_beside_the_capabilities():
    rules, conditions = parse_document(PINNED)
    assert rules == {"transit/decrypt/shared": ["update"], "transit/encrypt/shared": ["update"]}
    assert conditions["transit/encrypt/shared"] == {
        "required_parameters": ["context"],
        "allowed_parameters": {"context": [ACME], "*": []}}
    assert conditions["transit/decrypt/shared"] == {
        "allowed_parameters": {"context": [ACME], "*": []}}
    assert parse_conditions(PLAIN) == {}


def test_json_policies_carry_conditions_too():
    text = ('{"path": {"transit/encrypt/k": {"capabilities": ["update"], '
            '"required_parameters": ["associated_data"]}}}')
    assert parse_conditions(text) == {
        "transit/encrypt/k": {"required_parameters": ["associated_data"]}}


@pytest.mark.parametrize("body", [
    'required_parameters = "context"',
    'allowed_parameters = { context = "x" }',
])
def test_malformed_conditions_are_errors(body):
    with pytest.raises(PolicyParseError, match="must"):
        parse_conditions(f'path "transit/encrypt/k" {{\n  {USE}\n  {body}\n}}')


@pytest.mark.parametrize(("text", "key", "keys", "restricted", "says"), [
    (PLAIN, DERIVED, ("context",), False, "context required (derived key); values not pinned"),
    (PINNED, DERIVED, ("context",), True, "values pinned by allowed_parameters"),
    (PLAIN, AEAD, (), False, ""),
    (REQUIRED_AAD, AEAD, ("associated_data",), False, "associated_data required by the ACL"),
    (HALF_AAD, AEAD, (), False, ""),  # decrypt does not require it: not every use carries it
    (REQUIRED_AAD, RSA, (), False, ""),  # RSA encryption takes no associated data
    (REQUIRED_CONTEXT, AEAD, (), False, "context required by the ACL but ignored"),
])
def test_context_every_encrypting_use_carries(text, key, keys, restricted, says):
    grant = _grant(text, key)
    assert grant.context_keys == keys
    assert grant.restricted is restricted
    assert says in grant.ref
    if not says:
        assert grant.ref == f'vault-acl policy p: path {grant.ref.split("path ", 1)[1]}'
        assert ";" not in grant.ref


def test_a_policy_that_only_signs_carries_no_context():
    grant = _grant(f'path "transit/sign/shared" {{ {USE} }}', DERIVED)
    assert grant.context_keys == () and grant.actions == (Action.USE,)


def test_key_context_from_the_key_attributes():
    assert KeyContext.of({"derived": True, "transit_type": "aes256-gcm96"}) == DERIVED
    assert KeyContext.of({"transit_type": "rsa-4096"}) == RSA
    assert use_context([], DERIVED).keys == ()


def _holders() -> PolicyHolders:
    holders = PolicyHolders()
    groups = {"g1": {"name": "ops", "policies": ["p"]}}
    add_entity(holders, {"name": "bot", "policies": [], "group_ids": ["g1", "elsewhere"],
                      "aliases": [{"mount_type": "approle"}]}, groups, "saas/")
    add_entity(holders, {"name": "ann", "policies": ["p"], "aliases": [{"mount_type": "userpass"},
                                                                     {"mount_type": "approle"}]},
            groups, "saas/")
    holders.add(["p"], Holder("auth:saas/auth/approle/role/web", PrincipalKind.ROLE))
    return holders


def test_each_holder_of_a_policy_gets_its_grant_by_name():
    rules, conditions = parse_document(PINNED)
    grants = key_access({"p": rules, "unheld": rules}, "transit", "shared", "saas",
                        conditions={"p": conditions}, key=DERIVED, holders=_holders())
    named = {g.principal: g for g in grants}
    assert list(named) == ["policy:saas/p", "auth:saas/auth/approle/role/web",
                           "entity:saas/ann", "entity:saas/bot", "policy:saas/unheld"]
    assert named["entity:saas/bot"].kind is PrincipalKind.SERVICE  # approle only: a machine
    assert named["entity:saas/ann"].kind is PrincipalKind.USER
    assert named["entity:saas/bot"].ref.startswith("vault-acl policy p via group saas/ops: path")
    assert named["entity:saas/ann"].ref.startswith("vault-acl policy p: path")
    assert all(named[p].context_keys == ("context",) and named[p].restricted
               for p in ("entity:saas/bot", "auth:saas/auth/approle/role/web"))
    assert named["policy:saas/unheld"].ref.startswith("vault-acl policy unheld (no holder found):")
    assert not named["policy:saas/unheld"].restricted  # its own conditions were none


def test_without_holders_read_only_the_policies_are_named():
    rules = parse_document(PLAIN)[0]
    grants = key_access({"p": rules}, "transit", "shared", key=DERIVED)
    assert [g.principal for g in grants] == ["policy:p"]
    assert "no holder found" not in grants[0].ref
