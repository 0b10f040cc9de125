"""What IAM grants on KMS keys, read from moto's IAM over HTTP: the auditing identity's own
policies where a key policy delegates to the account (CEK-09 auditor independence), and the
policies that allow decryption with every key (CEK-08, Security Hub KMS.1 and KMS.2). The
evaluation's edge cases are unit tests below.

The roles made here allow key administration and decryption on every key, so they live in an
account of their own (moto keeps one backend per account for every server of a process): the
planted estate's account keeps its outcomes."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from pytest_cryptoaudit.lab import estate_kms
from pytest_cryptoaudit.lab.estate_kms import ACCOUNT, session
from pytest_cryptoaudit.providers.aws_kms.iam import (
    IamUnreadable,
    IdentityPolicies,
    decrypting_statements,
    identity_of,
)
from pytest_cryptoaudit.providers.aws_kms.independence import AWS_ADMIN_ACTIONS, admin_rights

from .kms_helpers import discover, policy_document, system_toml

pytestmark = pytest.mark.usefixtures("aws_env")

ADMIN = {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}
READ = {"Effect": "Allow", "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
        "Resource": "*"}
#: The account of this module's keys and roles.
OWN = "333333333333"
_names = itertools.count()



@pytest.fixture(scope="module")
def own(moto_server) -> dict[str, Any]:
    """The account's IAM client, its audit role, and its keys (label -> ARN): three in
    eu-west-1 and one in us-east-1, each with the default key policy, which delegates to the
    account."""
    url = moto_server.url
    aws = session(url, f"arn:aws:iam::{OWN}:role/setup")
    estate_kms.create_audit_role(aws, url)
    keys = {f"eu-{n}": aws.client("kms", region_name="eu-west-1", endpoint_url=url)
            .create_key()["KeyMetadata"]["Arn"] for n in range(3)}
    keys["us"] = aws.client("kms", region_name="us-east-1",
                            endpoint_url=url).create_key()["KeyMetadata"]["Arn"]
    return {"session": aws, "iam": aws.client("iam", region_name="us-east-1", endpoint_url=url),
            "keys": keys}


def make_role(own: dict[str, Any], *, attached: tuple[dict[str, Any], ...] = (),
              inline: dict[str, Any] | None = None, boundary: dict[str, Any] | None = None
              ) -> str:
    """A role of the account with the given policies; returns its ARN."""
    iam, name = own["iam"], f"auditor-{next(_names)}"
    trust = policy_document({"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Principal": {"AWS": f"arn:aws:iam::{OWN}:root"}})
    extra = {}
    if boundary is not None:
        arn = iam.create_policy(PolicyName=f"{name}-boundary",
                                PolicyDocument=policy_document(boundary))["Policy"]["Arn"]
        extra["PermissionsBoundary"] = arn
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, **extra)
    for index, statement in enumerate(attached):
        arn = iam.create_policy(PolicyName=f"{name}-{index}",
                                PolicyDocument=policy_document(statement))["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    if inline is not None:
        iam.put_role_policy(RoleName=name, PolicyName="inline",
                            PolicyDocument=policy_document(inline))
    return f"arn:aws:iam::{OWN}:role/{name}"


def rights(url: str, role: str, **options: Any) -> tuple[Any, Any, int]:
    """(auditor_admin_rights, its unreadable reason, keys audited) of a CEK-09 discovery of
    the account of ``role``, through it."""
    inventory = discover(system_toml(url, role_arns=[role], **options), controls={"CEK-09"})
    [system] = inventory.systems
    return (system.attributes.get("auditor_admin_rights"),
            system.unreadable.get("auditor_admin_rights"), len(inventory.keys))


def test_an_attached_admin_policy_is_named_with_every_action_and_the_keys(moto_server, own):
    role = make_role(own, attached=(READ, ADMIN))
    found, unreadable, keys = rights(moto_server.url, role)
    assert unreadable is None and keys == 4
    name = role.rsplit("/", 1)[1]
    assert found == [f"IAM policy arn:aws:iam::{OWN}:policy/{name}-1 attached to role "
                     f"{name}: {', '.join(AWS_ADMIN_ACTIONS)} on 4 keys of account "
                     f"{OWN} (the key policy delegates to the account)"]


def test_read_only_denied_and_bounded_roles_are_independent(moto_server, own):
    deny = {"Effect": "Deny", "NotAction": ["kms:Describe*", "kms:Get*", "kms:List*"],
            "Resource": "*"}
    for role in (make_role(own, attached=(READ,)),
                 make_role(own, attached=(ADMIN,), inline=deny),
                 make_role(own, attached=(ADMIN,), boundary=READ),
                 f"arn:aws:iam::{OWN}:role/cryptoaudit"):
        found, unreadable, _ = rights(moto_server.url, role)
        assert (found, unreadable) == ([], None), role


def test_a_conditional_deny_does_not_take_a_right_away(moto_server, own):
    deny = {"Effect": "Deny", "Action": "kms:*", "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}
    found, _, _ = rights(moto_server.url, make_role(own, attached=(ADMIN,), inline=deny))
    assert len(found) == 1 and "kms:PutKeyPolicy" in found[0]


def test_resources_decide_which_keys_an_iam_policy_reaches(moto_server, own):
    url, keys = moto_server.url, own["keys"]
    other_account = {**ADMIN, "Resource": "arn:aws:kms:*:999999999999:key/*"}
    assert rights(url, make_role(own, attached=(other_account,)))[0] == []
    exactly_one = {**ADMIN, "Action": "kms:ScheduleKeyDeletion", "Resource": keys["eu-1"]}
    role = make_role(own, inline=exactly_one)
    name = role.rsplit("/", 1)[1]
    assert rights(url, role)[0] == [
        f"IAM inline policy inline of role {name}: kms:ScheduleKeyDeletion on {keys['eu-1']} "
        "(the key policy delegates to the account)"]
    not_resource = {"Effect": "Allow", "Action": "kms:DisableKey",
                    "NotResource": f"arn:aws:kms:eu-west-1:{OWN}:key/*"}
    role = make_role(own, inline=not_resource)
    [found], _, _ = rights(url, role)
    assert found.endswith(f": kms:DisableKey on {keys['us']} (the key policy delegates to the "
                          "account)")
    assert rights(url, role, regions=["eu-west-1"])[0] == []


def test_keys_that_do_not_delegate_to_the_account_are_not_read_through_iam(
        moto_server, own, api_calls):
    url, region = moto_server.url, "ap-northeast-1"
    role = make_role(own, attached=(ADMIN,))
    kms = own["session"].client("kms", region_name=region, endpoint_url=url)
    kms.create_key(Policy=policy_document({"Effect": "Allow", "Action": "kms:*", "Resource": "*",
                                     "Principal": {"AWS": f"arn:aws:iam::{OWN}:role/ops"}}))
    api_calls.clear()
    found, unreadable, keys = rights(url, role, regions=[region])
    assert (found, unreadable, keys) == ([], None, 1)
    assert not [call for call in api_calls if call.startswith("iam.")]


def test_a_group_policy_of_an_audit_user_is_read(moto_server, own, monkeypatch):
    iam, name = own["iam"], f"auditor-user-{next(_names)}"
    iam.create_user(UserName=name)
    iam.create_group(GroupName=f"{name}-ops")
    iam.add_user_to_group(GroupName=f"{name}-ops", UserName=name)
    iam.put_group_policy(GroupName=f"{name}-ops", PolicyName="ops",
                         PolicyDocument=policy_document({**ADMIN, "Action": "kms:Put*"}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    inventory = discover(system_toml(moto_server.url, role_arns=[]), controls={"CEK-09"})
    [system] = inventory.systems
    assert system.attributes["auditor_identity"] == {OWN: f"arn:aws:iam::{OWN}:user/{name}"}
    [found] = system.attributes["auditor_admin_rights"]
    assert found == (f"IAM inline policy ops of group {name}-ops: kms:PutKeyPolicy on 4 keys "
                     f"of account {OWN} (the key policy delegates to the account)")


def test_an_identity_iam_cannot_tell_is_an_error_naming_it(moto_server, own, estate):
    url = moto_server.url
    found, unreadable, _ = rights(url, f"arn:aws:iam::{OWN}:role/never-created")
    assert found is None
    assert unreadable.startswith(f"account {OWN}: IAM policies of arn:aws:sts::{OWN}:"
                                 "assumed-role/never-created/")
    assert "NoSuchEntity" in unreadable and "GetRole" in unreadable
    # moto's answer for unknown credentials is no IAM identity at all (the planted estate's
    # keys delegate to the account)
    inventory = discover(system_toml(url, role_arns=[]), controls={"CEK-09"})
    reason = inventory.systems[0].unreadable["auditor_admin_rights"]
    assert "is not an IAM user, an assumed role or the account root user" in reason


def test_auditor_independent_fails_through_iam_and_passes_read_only(audit, moto_server, own):
    url = moto_server.url
    admin, reader = make_role(own, attached=(ADMIN,)), make_role(own, attached=(READ,))
    config = (system_toml(url, name="admin-audited", role_arns=[admin])
              + system_toml(url, name="read-only-audited", role_arns=[reader]))
    _, evidence = audit(config, "--cryptoaudit-control", "CEK-09", "-k", "auditor_independent")
    outcomes = {r["key_uid"]: r for r in evidence["results"]
                if r["check"] == "auditor-independent"}
    failed = outcomes["aws-kms:admin-audited"]
    assert failed["outcome"] == "failed"
    assert "may administer what it audits" in failed["message"]
    assert f"role {admin.rsplit('/', 1)[1]}" in failed["message"]
    passed = outcomes["aws-kms:read-only-audited"]
    assert passed["outcome"] == "passed"
    assert any("service control" in note for note in passed["notes"])


def test_a_kms_grant_that_lets_the_auditor_grant_is_administration(moto_server, own):
    url, key = moto_server.url, own["keys"]["eu-2"]
    kms = own["session"].client("kms", region_name="eu-west-1", endpoint_url=url)
    granting, using = make_role(own, attached=(READ,)), make_role(own, attached=(READ,))
    grant = kms.create_grant(KeyId=key, GranteePrincipal=granting,
                             Operations=["Decrypt", "CreateGrant"])["GrantId"]
    kms.create_grant(KeyId=key, GranteePrincipal=using, Operations=["Decrypt"])
    assert rights(url, granting)[0] == [
        f"KMS grant {grant} of {key}: it may create, retire or revoke grants of the key"]
    assert rights(url, using)[0] == []


def test_an_identity_that_may_change_its_own_rights_is_not_independent(moto_server, own):
    url = moto_server.url
    own_role = {"Effect": "Allow", "Action": ["iam:PutRolePolicy", "iam:GetRole"],
                "Resource": f"arn:aws:iam::{OWN}:role/*"}
    role = make_role(own, attached=(READ,), inline=own_role)
    name = role.rsplit("/", 1)[1]
    assert rights(url, role)[0] == [
        f"IAM inline policy inline of role {name}: iam:PutRolePolicy on its own IAM identity "
        f"(it may grant itself what the key policies of account {OWN} delegate to the "
        "account)"]
    other_role = {**own_role, "Resource": f"arn:aws:iam::{OWN}:role/someone-else"}
    assert rights(url, make_role(own, attached=(READ,), inline=other_role))[0] == []
    # a new version of a customer managed policy attached to it rewrites its rights
    version = {"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "*"}
    role = make_role(own, attached=(READ, version))
    [found] = rights(url, role)[0]
    assert ": iam:CreatePolicyVersion on its own IAM identity" in found
    # a boundary without IAM actions stops it
    bounded = make_role(own, attached=(READ,), inline={**own_role, "Resource": "*"},
                        boundary=READ)
    assert rights(url, bounded)[0] == []


def test_a_user_that_may_join_a_group_or_change_its_group_is_not_independent(
        moto_server, own, monkeypatch):
    iam, name = own["iam"], f"auditor-user-{next(_names)}"
    iam.create_user(UserName=name)
    iam.create_group(GroupName=f"{name}-readers")
    iam.add_user_to_group(GroupName=f"{name}-readers", UserName=name)
    iam.put_group_policy(GroupName=f"{name}-readers", PolicyName="read",
                         PolicyDocument=policy_document(READ, {
                             "Effect": "Allow", "Action": "iam:AttachGroupPolicy",
                             "Resource": f"arn:aws:iam::{OWN}:group/{name}-readers"}))
    iam.put_user_policy(UserName=name, PolicyName="join", PolicyDocument=policy_document(
        {"Effect": "Allow", "Action": "iam:AddUserToGroup", "Resource": "*"}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    inventory = discover(system_toml(moto_server.url, role_arns=[]), controls={"CEK-09"})
    found = inventory.systems[0].attributes["auditor_admin_rights"]
    assert [line.split(" on its own")[0] for line in found] == [
        f"IAM inline policy join of user {name}: iam:AddUserToGroup",
        f"IAM inline policy read of group {name}-readers: iam:AttachGroupPolicy"]


# -- IAM policies that allow decryption with every key -------------------------------------

def decrypting(url: str, **options: Any) -> tuple[Any, Any]:
    """(iam_decrypt_all_keys, its unreadable reason) of a CEK-08 discovery."""
    inventory = discover(system_toml(url, **options), controls={"CEK-08"})
    [system] = inventory.systems
    return (system.attributes.get("iam_decrypt_all_keys"),
            system.unreadable.get("iam_decrypt_all_keys"))


def test_policies_that_decrypt_with_every_key_are_found_in_every_form(moto_server, own):
    iam, tag = own["iam"], f"dec{next(_names)}"
    decrypt_all = {"Sid": "DecryptAll", "Effect": "Allow", "Action": "kms:Decrypt",
                   "Resource": "*"}
    attached = iam.create_policy(PolicyName=f"{tag}-all",
                                 PolicyDocument=policy_document(decrypt_all))["Policy"]["Arn"]
    iam.create_role(RoleName=f"{tag}-app", AssumeRolePolicyDocument=policy_document(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2"}}))
    iam.attach_role_policy(RoleName=f"{tag}-app", PolicyArn=attached)
    spare = {"Effect": "Allow", "Action": "kms:ReEncrypt*",
             "Resource": f"arn:aws:kms:*:{OWN}:key/*",
             "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ops"}}}
    unattached = iam.create_policy(PolicyName=f"{tag}-spare",
                                   PolicyDocument=policy_document(spare))["Policy"]["Arn"]
    one_region = {**decrypt_all, "Resource": f"arn:aws:kms:eu-west-1:{OWN}:key/*"}
    iam.create_policy(PolicyName=f"{tag}-narrow", PolicyDocument=policy_document(one_region))
    iam.create_group(GroupName=f"{tag}-ops")
    iam.put_group_policy(GroupName=f"{tag}-ops", PolicyName="all", PolicyDocument=policy_document(
        {"Effect": "Allow", "Action": "*", "Resource": "*"}))
    found, unreadable = decrypting(moto_server.url, role_arns=[f"arn:aws:iam::{OWN}:role/"
                                                               "cryptoaudit"])
    assert unreadable is None
    assert sorted((e for e in found if tag in e["policy"]), key=lambda e: e["policy"]) == [
        {"account": OWN, "policy": f"customer managed policy {attached}",
         "statement": "DecryptAll", "actions": ["kms:Decrypt"], "conditional": False,
         "attachments": 1},
        {"account": OWN, "policy": f"customer managed policy {unattached}",
         "statement": "#1", "actions": ["kms:ReEncryptFrom"], "conditional": True,
         "attachments": 0},
        {"account": OWN, "policy": f"inline policy all of group {tag}-ops",
         "statement": "#1", "actions": ["kms:Decrypt", "kms:ReEncryptFrom"],
         "conditional": False}]
    # the audit roles the lab makes decrypt nothing
    assert not [e for e in found if "CryptoAuditReadOnly" in e["policy"]
                or "of role cryptoaudit" in e["policy"]]


def test_decrypting_everywhere_fails_the_check_naming_each_policy(audit, moto_server, own):
    tag = f"dec{next(_names)}"
    own["iam"].create_policy(PolicyName=f"{tag}-all", PolicyDocument=policy_document(ADMIN))
    config = system_toml(moto_server.url, role_arns=[f"arn:aws:iam::{OWN}:role/cryptoaudit"])
    _, evidence = audit(config, "--cryptoaudit-control", "CEK-08", "-k", "iam_decrypt_all_keys")
    [result] = [r for r in evidence["results"] if r["check"] == "kms-iam-decrypt-all-keys"]
    assert result["outcome"] == "failed"
    assert "IAM policy statement(s) allow decryption with every key" in result["message"]
    assert (f"account {OWN}: customer managed policy arn:aws:iam::{OWN}:policy/{tag}-all "
            "(attached to nothing), statement #1: kms:Decrypt, kms:ReEncryptFrom"
            in result["message"])


def test_an_account_without_such_policies_passes(audit, moto_server, estate):
    """The planted estate's account: its audit role reads, nothing decrypts everywhere."""
    _, evidence = audit(system_toml(moto_server.url), "--cryptoaudit-control", "CEK-08",
                        "-k", "iam_decrypt_all_keys")
    [result] = [r for r in evidence["results"] if r["check"] == "kms-iam-decrypt-all-keys"]
    assert result["outcome"] == "passed", result["message"]
    assert any("AWS managed policies are not" in note for note in result["notes"])


def test_refused_iam_reads_make_both_facts_unreadable_naming_the_call(moto_server, estate,
                                                                     refusing, audit):
    iam = refusing("AccessDenied")
    options = {"service_endpoints": {"iam": iam.url}}
    found, unreadable = decrypting(moto_server.url, **options)
    assert found is None
    assert unreadable.startswith(f"account {ACCOUNT}: GetAccountAuthorizationDetails: ")
    assert "AccessDenied" in unreadable
    _, evidence = audit(system_toml(moto_server.url, **options), "--cryptoaudit-control",
                        "CEK-08", "--cryptoaudit-control", "CEK-09",
                        "-k", "iam_decrypt_all_keys or auditor_independent")
    outcomes = {r["check"]: r for r in evidence["results"]}
    assert outcomes["kms-iam-decrypt-all-keys"]["outcome"] == "error"
    independent = outcomes["auditor-independent"]
    assert independent["outcome"] == "error"
    assert f"IAM policies of arn:aws:sts::{ACCOUNT}:assumed-role/cryptoaudit/" \
           in independent["message"]
    # with CEK-08 selected the role is read from the account details: that refused call
    assert "GetAccountAuthorizationDetails" in independent["message"]
    assert "AccessDenied" in independent["message"]
    assert iam.requests["GetAccountAuthorizationDetails"] >= 1


@pytest.mark.parametrize(("statement", "expected"), [
    ({"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
     [("#1", ["kms:Decrypt", "kms:ReEncryptFrom"], False)]),
    ({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*"},
     [("#1", ["kms:Decrypt"], False)]),
    ({"Effect": "Allow", "Action": "kms:Decrypt",
      "NotResource": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/only-this-one"},
     [("#1", ["kms:Decrypt"], False)]),
    ({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": f"arn:aws:kms:*:{ACCOUNT}:key/ab*"},
     []),
    ({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:999999999999:key/*"},
     []),
    ({"Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey*"], "Resource": "*"}, []),
    ({"Effect": "Allow", "NotAction": "kms:Decrypt", "Resource": "*"},
     [("#1", ["kms:ReEncryptFrom"], False)]),
    ({"Sid": "S", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
      "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}},
     [("S", ["kms:Decrypt"], True)]),
])
def test_statements_that_decrypt_with_every_key(statement, expected):
    assert decrypting_statements({"Statement": [statement]}, ACCOUNT) == expected


def test_a_deny_in_the_same_policy_takes_decryption_back_unless_conditional():
    allow = {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}
    assert decrypting_statements({"Statement": [allow, deny]}, ACCOUNT) == [
        ("#1", ["kms:ReEncryptFrom"], False)]
    conditional = {**deny, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert decrypting_statements({"Statement": [allow, conditional]}, ACCOUNT) == [
        ("#1", ["kms:Decrypt", "kms:ReEncryptFrom"], False)]
    assert decrypting_statements(json.dumps({"Statement": allow}), ACCOUNT)[0][0] == "#1"


# -- evaluation, without a server ----------------------------------------------------------

KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _identity(*statements: dict[str, Any], boundary: tuple[dict[str, Any], ...] | None = None
              ) -> IdentityPolicies:
    return IdentityPolicies("role auditor", (("policy p", tuple(statements)),), boundary)


@pytest.mark.parametrize(("statement", "expected"), [
    ({"Effect": "Allow", "Action": "kms:*", "Resource": f"arn:aws:kms:*:{ACCOUNT}:key/*"},
     AWS_ADMIN_ACTIONS),
    ({"Effect": "Allow", "Action": "*", "Resource": "*"}, AWS_ADMIN_ACTIONS),
    ({"Effect": "Allow", "Action": "KMS:putkeypolicy", "Resource": "*"}, ("kms:PutKeyPolicy",)),
    ({"Effect": "Allow", "Action": "kms:*", "Resource": f"arn:aws:kms:*:{ACCOUNT}:alias/*"}, ()),
    ({"Effect": "Allow", "Action": "kms:Disable?ey", "Resource": "arn:aws:kms:eu-west-?:*"},
     ("kms:DisableKey",)),
    ({"Effect": "Allow", "Action": "kms:DisableKey",
      "Resource": "arn:aws:kms:*:*:key/${aws:PrincipalTag/key}"}, ("kms:DisableKey",)),
    ({"Effect": "Allow", "NotAction": "kms:*", "Resource": "*"}, ()),
    ({"Effect": "Allow", "Action": "kms:DisableKey", "Resource": "*",
      "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}, ("kms:DisableKey",)),
])
def test_actions_and_resources_of_identity_statements(statement, expected):
    found = _identity(statement).admin_actions(KEY, AWS_ADMIN_ACTIONS)
    assert found == ({"policy p": list(expected)} if expected else {})


def test_only_what_the_key_policy_delegates_and_the_boundary_allows():
    admin = {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}
    assert _identity(admin).admin_actions(KEY, ["kms:DisableKey"]) == {
        "policy p": ["kms:DisableKey"]}
    bounded = _identity(admin, boundary=({"Effect": "Allow", "Action": "kms:Disable*",
                                          "Resource": "*"},))
    assert bounded.admin_actions(KEY, AWS_ADMIN_ACTIONS) == {
        "policy p": ["kms:DisableKey", "kms:DisableKeyRotation"]}
    root = IdentityPolicies("the account root user", root=True)
    assert root.admin_actions(KEY, ["kms:PutKeyPolicy"]) == {
        "the account root user": ["kms:PutKeyPolicy"]}
    assert root.admin_actions(KEY, []) == {}


@pytest.mark.parametrize(("arn", "identity"), [
    (f"arn:aws:iam::{ACCOUNT}:root", ("root", "")),
    (f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Audit_1a2b/alice@example.com",
     ("role", "AWSReservedSSO_Audit_1a2b")),
    (f"arn:aws-us-gov:iam::{ACCOUNT}:user/team/bob", ("user", "bob")),
    (f"arn:aws:iam::{ACCOUNT}:role/service/audit", ("role", "audit")),
])
def test_caller_arns_name_the_identity_to_read(arn, identity):
    assert identity_of(arn) == identity


@pytest.mark.parametrize("arn", [f"arn:aws:sts::{ACCOUNT}:federated-user/carol",
                                 f"arn:aws:sts::{ACCOUNT}:user/moto", "not-an-arn"])
def test_callers_without_readable_iam_policies_are_unreadable(arn):
    with pytest.raises(IamUnreadable, match="cannot be read"):
        identity_of(arn)


def test_the_root_user_once_and_an_unread_account_fails_closed():
    other = "222222222222"

    def delegating(account: str) -> dict[str, Any]:
        return {"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*",
                               "Principal": {"AWS": account}}]}

    root = IdentityPolicies("the account root user", root=True)
    callers = {ACCOUNT: f"arn:aws:iam::{ACCOUNT}:root",
               other: f"arn:aws:sts::{other}:assumed-role/audit/ci"}
    facts = admin_rights(callers, [(KEY, ACCOUNT, delegating(ACCOUNT), None)], {ACCOUNT: root})
    assert facts["auditor_admin_rights"] == [
        f"the account root user: {', '.join(AWS_ADMIN_ACTIONS)} on {KEY} (the key policy "
        "delegates to the account)"]
    # the root user named by its ARN is the key policy's own grant: reported once
    by_arn = delegating(f"arn:aws:iam::{ACCOUNT}:root")
    [only] = admin_rights(callers, [(KEY, ACCOUNT, by_arn, None)],
                          {ACCOUNT: root})["auditor_admin_rights"]
    assert only.startswith(f"key policy of {KEY}: kms:PutKeyPolicy")
    why = "IAM policies of the caller unreadable: AccessDenied"
    facts = admin_rights(callers, [(KEY, ACCOUNT, delegating(ACCOUNT), None),
                                   (KEY.replace(ACCOUNT, other), other, delegating(other), None)],
                         {ACCOUNT: root, other: why})
    assert facts == {"unreadable": f"account {other}: {why}"}
    # without a delegating key policy in an account, nothing of IAM is needed there
    facts = admin_rights(callers, [(KEY, ACCOUNT, {"Statement": []}, None)], {})
    assert facts == {"auditor_admin_rights": [], "auditor_notes": []}
