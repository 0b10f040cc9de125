"""ACL policy parsing and path-glob overlap: the ground the least-privilege check stands on."""

from __future__ import annotations

import re

import pytest

from pytest_cryptoaudit.providers.vault.policies import (
    PolicyParseError,
    globs_overlap,
    parse_policy,
)


@pytest.mark.parametrize(("policy_path", "sensitive", "expected"), [
    ("sys/*", "sys/*", True),
    ("*", "sys/*", True),
    ("s*", "sys/*", True),
    ("t*", "sys/*", False),
    ("sys", "sys/*", False),
    ("+", "sys/*", False),
    ("+/*", "sys/*", True),
    ("sys/leases/renew", "sys/*", True),
    ("secret/*", "sys/*", False),
    ("+/keys/+/config", "transit/keys/+/config", True),
    ("transit/+/+/config", "transit/keys/+/config", True),
    ("transit/keys/*", "transit/keys/+/config", True),
    ("transit/keys/a", "transit/keys/+/config", False),
    ("transit/keys/a/config", "transit/keys/+/config", True),
    ("transit/keys//config", "transit/keys/+/config", False),
    ("transit/export/+/k", "transit/export/*", True),
    ("transit-low/export/*", "transit/export/*", False),
])
def test_globs_overlap_both_ways(policy_path, sensitive, expected):
    assert globs_overlap(policy_path, sensitive) is expected
    assert globs_overlap(sensitive, policy_path) is expected


def test_hcl_policy_merges_blocks_and_expands_legacy_policy():
    rules = parse_policy(
        '# comment\npath "a/*" {\n  capabilities = ["read", "list",]\n'
        '  allowed_parameters = { "*" = [] }\n}\n'
        'path "a/*" { capabilities = ["sudo"] }\npath "b" {\n  policy = "write"\n}\n')
    assert rules == {"a/*": ["list", "read", "sudo"],
                     "b": ["create", "delete", "list", "read", "update"]}


def test_json_policy():
    assert parse_policy('{"path": {"x/+/y": {"capabilities": ["update"]}}}') == {
        "x/+/y": ["update"]}


def test_empty_policy_has_no_rules():
    assert parse_policy("  \n") == {}


@pytest.mark.parametrize(("text", "reason"), [
    ('path "a" {{', "invalid HCL policy: Unexpected token"),
    ('path "a" { capabilities = "read" }', "path 'a': capabilities must be a list of strings"),
    ('path "a" { policy = "everything" }', "path 'a': unknown policy value 'everything'"),
    ('{"path": ', "invalid JSON policy: Expecting value"),
])
def test_unreadable_policy_is_an_error_not_empty(text, reason):
    with pytest.raises(PolicyParseError, match=re.escape(reason)):
        parse_policy(text)
