"""The namespaces above an audited one and the key paths as seen from each (no server)."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.lab.estate_vault_tenants import namespaced_auditor_policy
from pytest_cryptoaudit.providers.vault.access import policy_write_paths
from pytest_cryptoaudit.providers.vault.ancestors import ancestors_of
from pytest_cryptoaudit.providers.vault.client import VaultReader, namespace_ancestors
from pytest_cryptoaudit.providers.vault.context import KeyContext


@pytest.mark.parametrize(("namespace", "expected"), [
    (None, []), ("", []), ("/", []), ("team", [""]), ("a/b/c", ["", "a", "a/b"]),
    ("/a/b/", ["", "a"]),
])
def test_namespace_ancestors_are_listed_root_first(namespace, expected):
    assert namespace_ancestors(namespace) == expected


def test_each_ancestor_sees_the_audited_namespace_by_its_relative_path():
    found = [(a.namespace, a.below, a.label, a.described) for a in ancestors_of("a/b/c")]
    assert found == [("", "a/b/c", "root", "root namespace"),
                     ("a", "b/c", "a", "namespace a"),
                     ("a/b", "c", "a/b", "namespace a/b")]


def test_an_ancestor_judges_its_policies_on_the_key_path_below_it():
    middle = ancestors_of("a/b/c")[1]
    middle.policies = {"reach": {"b/c/transit/encrypt/k": ["update"]},
                       "own": {"transit/encrypt/k": ["update"]},  # a's own mount, not c's
                       "too-deep": {"c/transit/encrypt/k": ["update"]}}
    grants = middle.grants("/transit/", "k", KeyContext())
    assert [(g.principal, g.ref) for g in grants] == [
        ("policy:a/reach", 'vault-acl policy reach: path "b/c/transit/encrypt/k"')]
    assert middle.holders_by_policy() == {"own": [], "reach": [], "too-deep": []}


def test_a_reader_refuses_a_namespace_that_is_not_above_the_audited_one():
    reader = VaultReader(object(), 1.0, {"": object(), "a": object()})  # type: ignore[arg-type]
    assert reader.in_namespace("a").timeout == 1.0
    with pytest.raises(ValueError, match="namespace 'a/b' is not above the audited one"):
        reader.in_namespace("a/b")
    alone = VaultReader(object(), 1.0)  # type: ignore[arg-type]
    assert alone.root_namespace()._client is alone._client


def test_the_lab_auditor_policy_reads_every_namespace_on_the_way_down():
    rules = namespaced_auditor_policy("org/div/team")
    for prefix in ("", "org/", "org/div/", "org/div/team/"):
        assert f'path "{prefix}sys/policies/acl/*" {{ capabilities = ["read"] }}' in rules
        assert f'path "{prefix}identity/entity/id/" {{ capabilities = ["list"] }}' in rules
    assert 'path "div/' not in rules and 'path "org/team/' not in rules


def test_writing_policies_on_the_way_down_is_the_grant_action():
    assert policy_write_paths() == ("sys/policies/acl/+", "sys/policy/+")
    assert policy_write_paths("b/c") == (
        "sys/policies/acl/+", "sys/policy/+", "b/sys/policies/acl/+", "b/sys/policy/+",
        "b/c/sys/policies/acl/+", "b/c/sys/policy/+")
    middle = ancestors_of("a/b/c")[1]
    middle.policies = {"writer": {"b/c/sys/policies/acl/*": ["create"]},
                       "sibling": {"x/sys/policies/acl/*": ["create", "update"]},
                       "denied": {"b/sys/policies/acl/*": ["deny"]}}
    grants = middle.grants("transit", "k", KeyContext())
    assert [(g.principal, [a.value for a in g.actions]) for g in grants] == [
        ("policy:a/writer", ["grant"])]
