"""CEK-09 guideline 5: the auditing identity must not administer the keys it audits."""

from __future__ import annotations

import json

import pytest

from pytest_cryptoaudit.independence import configured_administrator
from pytest_cryptoaudit.providers.aws_kms.independence import (
    aws_admin_actions,
    delegated_actions,
    principal_forms,
)
from pytest_cryptoaudit.providers.vault.independence import vault_admin_paths

ACCOUNT = "111122223333"
AUDITOR = f"arn:aws:sts::{ACCOUNT}:assumed-role/Auditor/ci-run-42"
ROOT_ONLY = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                            "Action": "kms:*", "Resource": "*"}]}


def _policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(principal: object, actions: object, **extra: object) -> dict:
    return {"Effect": "Allow", "Principal": principal, "Action": actions, "Resource": "*", **extra}


def test_aws_role_with_path_granted_admin_actions() -> None:
    role = {"AWS": [f"arn:aws:iam::{ACCOUNT}:role/audit/Auditor"]}
    policy = _policy(_allow(role, ["kms:Describe*", "kms:Put*", "kms:ScheduleKeyDeletion"]))
    assert aws_admin_actions(AUDITOR, policy) == ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"]
    assert aws_admin_actions({"arn": AUDITOR}, json.dumps(policy)) == [
        "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"]


def test_aws_read_only_and_other_principals_are_independent() -> None:
    reader = _allow({"AWS": f"arn:aws:iam::{ACCOUNT}:role/Auditor"},
                    ["kms:Describe*", "kms:Get*", "kms:List*"])
    admin = _allow({"AWS": f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"}, "kms:*")
    assert aws_admin_actions(AUDITOR, _policy(reader, admin)) == []
    assert aws_admin_actions(AUDITOR, ROOT_ONLY) == []
    assert delegated_actions(AUDITOR, ROOT_ONLY)[:2] == ["kms:PutKeyPolicy",
                                                         "kms:ScheduleKeyDeletion"]
    assert delegated_actions(AUDITOR, _policy(reader)) == []
    # a key policy's denial to the auditor also binds what IAM may grant it
    deny = {"Effect": "Deny", "Principal": {"AWS": AUDITOR}, "Action": "kms:Put*",
            "Resource": "*"}
    assert "kms:PutKeyPolicy" not in delegated_actions(AUDITOR, _policy(*ROOT_ONLY["Statement"],
                                                                        deny))


def test_aws_wildcards_not_action_and_deny() -> None:
    everyone = _allow("*", "kms:*")
    assert "kms:DisableKey" in aws_admin_actions(AUDITOR, _policy(everyone))
    not_action = {"Effect": "Allow", "Principal": {"AWS": "*"},
                  "NotAction": ["kms:Put*", "kms:Schedule*"], "Resource": "*"}
    assert "kms:PutKeyPolicy" not in aws_admin_actions(AUDITOR, _policy(not_action))
    assert "kms:DisableKey" in aws_admin_actions(AUDITOR, _policy(not_action))
    deny = {"Effect": "Deny", "Principal": {"AWS": AUDITOR}, "Action": "kms:*", "Resource": "*"}
    assert aws_admin_actions(AUDITOR, _policy(everyone, deny)) == []


VAULT_AUDITOR = """
path "transit/keys/*" {
  capabilities = ["read", "list"]
}
path "sys/audit" { capabilities = ["read", "sudo"] }
path "transit/keys/payments" {
  capabilities = ["update"]
  allowed_parameters = { "deletion_allowed" = [] }
}
path "sys/capabilities-self" { capabilities = ["update"] }
path "secret/data/*" { capabilities = ["create", "update"] }
"""


def test_vault_rules_granting_write_on_keys_or_sys() -> None:
    assert vault_admin_paths({"auditor": VAULT_AUDITOR}, ["transit/"]) == [
        "auditor: transit/keys/payments (update)"]
    assert vault_admin_paths({"ops": {"path": {"+/keys/*": {"capabilities": ["create"]}}}},
                             ["crypto/"]) == ["ops: +/keys/* (create)"]
    assert vault_admin_paths({"root": ""}, ["transit/"]) == ["root: every path (root policy)"]


def test_vault_read_only_default_and_denied_rules_are_independent() -> None:
    default = 'path "sys/leases/renew" { capabilities = ["update"] }\n' \
              'path "sys/tools/hash/*" { capabilities = ["update"] }'
    denied = '{"path": {"sys/*": {"capabilities": ["update", "deny"]}}}'
    assert vault_admin_paths({"default": default, "deny": denied}, ["transit/"]) == []
    # listing audit devices needs sudo on exactly sys/audit: no device changes there
    assert vault_admin_paths({"other": VAULT_AUDITOR}, ["crypto/"]) == []
    assert vault_admin_paths({"other": 'path "sys/audit/*" { capabilities = ["sudo"] }'},
                             ["crypto/"]) == ["other: sys/audit/* (sudo)"]
    # seen from a namespace above: the audited namespace's own exact paths are exempt too
    assert vault_admin_paths({"up": 'path "team/sys/audit" { capabilities = ["sudo"] }\n'
                                    'path "team/sys/renew" { capabilities = ["update"] }'},
                             ["transit/"], below="team") == []


def test_configured_administrators_match_role_of_assumed_session() -> None:
    patterns = [f"arn:aws:iam::{ACCOUNT}:role/Auditor", "vault-admin-*"]
    assert configured_administrator(AUDITOR, patterns) is None
    assert configured_administrator(AUDITOR, patterns, principal_forms(AUDITOR)) == patterns[0]
    assert configured_administrator({"display_name": "vault-admin-bob"}, patterns) == patterns[1]
    assert configured_administrator({"display_name": "reader"}, patterns) is None


CONFTEST = '''
import dataclasses

from pytest_cryptoaudit.providers import Provider, ProviderOptions
from pytest_cryptoaudit.providers.aws_kms.independence import admin_rights
from pytest_cryptoaudit.providers.vault.independence import admin_rights as vault_rights

# What the Vault provider records: ACL policies parsed to path -> capabilities.
ACL = {"default": {"sys/capabilities-self": ["update"], "sys/leases/renew": ["update"]},
       "reader": {"transit/keys/*": ["list", "read"]},
       "writer": {"transit/*": ["create", "update"]}}


class Options(ProviderOptions):
    identity: str | None = None
    policy: str = "reader"


class FakeKms(Provider):
    name, component, Options = "aws-kms", "kms", Options

    def discover(self, system, context):
        options = system.options
        uid = f"arn:aws:kms:eu-west-1:1:key/{system.name}"
        statement = {"Effect": "Allow", "Principal": {"AWS": options.identity},
                     "Action": ["kms:Describe*", "kms:Disable*"], "Resource": "*"}
        policy = (None if options.policy == "unreadable" else
                  {"Statement": [statement] if options.policy == "admin" else []})
        rights = admin_rights({"1": options.identity}, [
            (uid, "1", policy, "AccessDeniedException: kms:GetKeyPolicy")], {})
        attempt = self.new_discovery(system, auditor_identity={"arn": options.identity},
                                     **{k: v for k, v in rights.items() if k != "unreadable"})
        if "unreadable" in rights:
            attempt.system = dataclasses.replace(attempt.system, unreadable={
                "auditor_admin_rights": rights["unreadable"]})
        attempt.add_key(uid, "secret-key", algorithm="AES", size=256)
        return attempt


class FakeVault(Provider):
    name, component, Options = "vault", "secrets-engine", Options

    def discover(self, system, context):
        options = system.options
        facts = {"admin_policies": ["root", "vault-admins"], "transit_mounts": ["transit"]}
        if options.identity:
            facts["auditor_identity"] = {"display_name": options.identity,
                                         "policies": ["default", options.policy]}
        unreadable = {}
        if options.policy != "acl-unreadable":
            facts["acl_policies"] = ACL
        else:
            unreadable["acl_policies"] = "permission denied: sys/policies/acl"
        rights = vault_rights(facts, unreadable)
        if "unreadable" in rights:
            unreadable["auditor_admin_rights"] = rights["unreadable"]
        else:
            facts.update(rights)
        attempt = self.new_discovery(system, **facts)
        attempt.system = dataclasses.replace(attempt.system, unreadable=unreadable)
        return attempt


def pytest_cryptoaudit_add_providers(registry):
    registry.register(FakeKms)
    registry.register(FakeVault)
'''
SYSTEMS = {
    "kms-reader": ("aws-kms", f'identity = "arn:aws:iam::{ACCOUNT}:role/Auditor"'),
    "kms-admin": ("aws-kms", f'identity = "arn:aws:iam::{ACCOUNT}:role/Auditor"\n'
                             'policy = "admin"'),
    "kms-unreadable": ("aws-kms", f'identity = "arn:aws:iam::{ACCOUNT}:role/Auditor"\n'
                                  'policy = "unreadable"'),
    "kms-listed-admin": ("aws-kms", f'identity = "arn:aws:iam::{ACCOUNT}:role/KeyAdmin"'),
    "vault-reader": ("vault", 'identity = "token-auditor"'),
    "vault-writer": ("vault", 'identity = "token-ops"\npolicy = "writer"'),
    "vault-admins": ("vault", 'identity = "token-boss"\npolicy = "vault-admins"'),
    "vault-ghost": ("vault", 'identity = "token-auditor"\npolicy = "ghost"'),
    "vault-no-acl": ("vault", 'identity = "token-auditor"\npolicy = "acl-unreadable"'),
    "vault-anonymous": ("vault", ""),
}


def test_auditor_independent_control_per_system(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    tables = "".join(f'[[systems]]\nname = "{name}"\nprovider = "{provider}"\n'
                     f'risk_tier = "high"\nssrm_owner = "CSP"\n'
                     f'accountable_owner = "crypto-team"\n{options}\n\n'
                     for name, (provider, options) in SYSTEMS.items())
    pytester.makefile(".toml", cryptoaudit=f'[auditor]\nadministrators = ["*:role/KeyAdmin"]\n'
                                           f"\n{tables}")
    pytester.runpytest("--cryptoaudit", "--cryptoaudit-control", "CEK-09",
                       "--cryptoaudit-no-ledger", "--cryptoaudit-json", "ev.json")
    evidence = json.loads((pytester.path / "ev.json").read_text())
    found = {r["system"]: (r["outcome"], r["message"]) for r in evidence["results"]
             if r["check"] == "auditor-independent"}
    assert found["kms-reader"] == ("passed", "")
    assert found["vault-reader"] == ("passed", "")
    assert found["kms-admin"] == ("failed", (
        f"the auditing identity arn:aws:iam::{ACCOUNT}:role/Auditor may administer what it "
        "audits: key policy of arn:aws:kms:eu-west-1:1:key/kms-admin: kms:DisableKey, "
        "kms:DisableKeyRotation"))
    assert found["kms-unreadable"][0] == "error"
    assert found["kms-unreadable"][1].endswith(
        "auditor_admin_rights: key policy or grants unreadable: "
        "arn:aws:kms:eu-west-1:1:key/kms-unreadable: AccessDeniedException: kms:GetKeyPolicy")
    assert found["kms-listed-admin"] == ("failed", (
        f"auditing identity arn:aws:iam::{ACCOUNT}:role/KeyAdmin is a configured key "
        "administrator (*:role/KeyAdmin)"))
    assert found["vault-writer"] == ("failed", (
        "the auditing identity token-ops may administer what it audits: "
        "writer: transit/* (create, update)"))
    assert found["vault-admins"] == ("failed", (
        "the auditing identity token-boss may administer what it audits: "
        "vault-admins: * (create, delete, sudo, update)"))
    assert found["vault-ghost"][0] == "error"
    assert found["vault-ghost"][1].endswith(
        "auditor_admin_rights: rules of the auditing token's policies not read: ghost")
    assert found["vault-no-acl"][0] == "error"
    assert found["vault-no-acl"][1].endswith(
        "auditor_admin_rights: acl_policies: permission denied: sys/policies/acl")
    assert found["vault-anonymous"][0] == "error"
    assert "auditor_identity: not reported by the provider" in found["vault-anonymous"][1]
