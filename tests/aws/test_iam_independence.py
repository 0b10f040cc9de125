"""CEK-09 auditor independence through IAM: where a key policy delegates to the account, the
auditing identity's own IAM policies decide whether it may administer the key. Read from
moto's IAM over HTTP, judged per key; the evaluation's edge cases as unit tests below."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from pytest_cryptoaudit.lab.estate_kms import ACCOUNT, session
from pytest_cryptoaudit.providers.aws_kms.iam import (
    IamUnreadable,
    IdentityPolicies,
    identity_of,
)
from pytest_cryptoaudit.providers.aws_kms.independence import AWS_ADMIN_ACTIONS, admin_rights

from .kms_helpers import discover, system_toml

pytestmark = pytest.mark.usefixtures("aws_env")

ADMIN = {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}
READ = {"Effect": "Allow", "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
        "Resource": "*"}
#: A region of the lab account where only keys made by a test live.
OWN_REGION = "ap-northeast-1"
_names = itertools.count()


def _document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def make_role(url: str, *, attached: tuple[dict[str, Any], ...] = (),
              inline: dict[str, Any] | None = None, boundary: dict[str, Any] | None = None
              ) -> str:
    """A role of the lab account with the given policies; returns its ARN."""
    iam = session(url).client("iam", region_name="us-east-1", endpoint_url=url)
    name = f"auditor-{next(_names)}"
    trust = _document({"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}})
    extra = {}
    if boundary is not None:
        arn = iam.create_policy(PolicyName=f"{name}-boundary",
                                PolicyDocument=_document(boundary))["Policy"]["Arn"]
        extra["PermissionsBoundary"] = arn
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, **extra)
    for index, statement in enumerate(attached):
        arn = iam.create_policy(PolicyName=f"{name}-{index}",
                                PolicyDocument=_document(statement))["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    if inline is not None:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=_document(inline))
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def rights(url: str, role: str, **options: Any) -> tuple[Any, Any, int]:
    """(auditor_admin_rights, its unreadable reason, keys audited) of a CEK-09 discovery of
    the lab account through ``role``."""
    inventory = discover(system_toml(url, role_arns=[role], **options), controls={"CEK-09"})
    [system] = inventory.systems
    return (system.attributes.get("auditor_admin_rights"),
            system.unreadable.get("auditor_admin_rights"), len(inventory.keys))


def test_an_attached_admin_policy_is_named_with_every_action_and_the_keys(moto_server, estate):
    role = make_role(moto_server.url, attached=(READ, ADMIN))
    found, unreadable, keys = rights(moto_server.url, role)
    assert unreadable is None
    name = role.rsplit("/", 1)[1]
    assert found == [f"IAM policy arn:aws:iam::{ACCOUNT}:policy/{name}-1 attached to role "
                     f"{name}: {', '.join(AWS_ADMIN_ACTIONS)} on {keys} keys of account "
                     f"{ACCOUNT} (the key policy delegates to the account)"]


def test_read_only_denied_and_bounded_roles_are_independent(moto_server, estate):
    url = moto_server.url
    deny = {"Effect": "Deny", "NotAction": ["kms:Describe*", "kms:Get*", "kms:List*"],
            "Resource": "*"}
    for role in (make_role(url, attached=(READ,)),
                 make_role(url, attached=(ADMIN,), inline=deny),
                 make_role(url, attached=(ADMIN,), boundary=READ)):
        found, unreadable, _ = rights(url, role)
        assert (found, unreadable) == ([], None), role


def test_a_conditional_deny_does_not_take_a_right_away(moto_server, estate):
    deny = {"Effect": "Deny", "Action": "kms:*", "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}
    found, _, _ = rights(moto_server.url, make_role(moto_server.url, attached=(ADMIN,),
                                                   inline=deny))
    assert len(found) == 1 and "kms:PutKeyPolicy" in found[0]


def test_resources_decide_which_keys_an_iam_policy_reaches(moto_server, estate):
    url = moto_server.url
    one = estate["clean-aes"]
    other_account = {**ADMIN, "Resource": "arn:aws:kms:*:999999999999:key/*"}
    found, _, _ = rights(url, make_role(url, attached=(other_account,)))
    assert found == []
    exactly_one = {**ADMIN, "Action": "kms:ScheduleKeyDeletion", "Resource": one}
    found, _, _ = rights(url, make_role(url, inline=exactly_one))
    name = found[0].split("of role ")[1].split(":")[0]
    assert found == [f"IAM inline policy inline of role {name}: kms:ScheduleKeyDeletion on "
                     f"{one} (the key policy delegates to the account)"]
    not_resource = {"Effect": "Allow", "Action": "kms:DisableKey",
                    "NotResource": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/*"}
    role = make_role(url, inline=not_resource)
    [found], _, _ = rights(url, role)
    [only] = [arn for arn in estate.values() if ":us-east-1:" in arn and f":{ACCOUNT}:" in arn]
    assert found.endswith(f": kms:DisableKey on {only} (the key policy delegates to the "
                          "account)")
    assert rights(url, role, regions=["eu-west-1"])[0] == []


def test_keys_that_do_not_delegate_to_the_account_are_not_read_through_iam(
        moto_server, api_calls):
    url = moto_server.url
    role = make_role(url, attached=(ADMIN,))
    kms = session(url).client("kms", region_name=OWN_REGION, endpoint_url=url)
    kms.create_key(Policy=_document({"Effect": "Allow", "Action": "kms:*", "Resource": "*",
                                     "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ops"}}))
    api_calls.clear()
    found, unreadable, keys = rights(url, role, regions=[OWN_REGION])
    assert (found, unreadable, keys) == ([], None, 1)
    assert not [call for call in api_calls if call.startswith("iam.")]


def test_a_group_policy_of_an_audit_user_is_read(moto_server, estate, monkeypatch):
    url = moto_server.url
    iam = session(url).client("iam", region_name="us-east-1", endpoint_url=url)
    name = f"auditor-user-{next(_names)}"
    iam.create_user(UserName=name)
    iam.create_group(GroupName=f"{name}-ops")
    iam.add_user_to_group(GroupName=f"{name}-ops", UserName=name)
    iam.put_group_policy(GroupName=f"{name}-ops", PolicyName="ops",
                         PolicyDocument=_document({**ADMIN, "Action": "kms:Put*"}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    inventory = discover(system_toml(url, role_arns=[]), controls={"CEK-09"})
    [system] = inventory.systems
    assert system.attributes["auditor_identity"] == {
        ACCOUNT: f"arn:aws:iam::{ACCOUNT}:user/{name}"}
    [found] = system.attributes["auditor_admin_rights"]
    assert found.startswith(f"IAM inline policy ops of group {name}-ops: kms:PutKeyPolicy on ")


def test_an_identity_iam_cannot_tell_is_an_error_naming_it(moto_server, estate):
    url = moto_server.url
    ghost = f"arn:aws:iam::{ACCOUNT}:role/never-created"
    found, unreadable, _ = rights(url, ghost)
    assert found is None
    assert unreadable.startswith(f"account {ACCOUNT}: IAM policies of arn:aws:sts::{ACCOUNT}:"
                                 "assumed-role/never-created/")
    assert "NoSuchEntity" in unreadable and "GetRole" in unreadable
    # moto's answer for unknown credentials is no IAM identity at all
    inventory = discover(system_toml(url, role_arns=[]), controls={"CEK-09"})
    reason = inventory.systems[0].unreadable["auditor_admin_rights"]
    assert "is not an IAM user, an assumed role or the account root user" in reason


def test_auditor_independent_fails_through_iam_and_passes_read_only(audit, moto_server, estate,
                                                                    pytester):
    url = moto_server.url
    admin, reader = make_role(url, attached=(ADMIN,)), make_role(url, attached=(READ,))
    config = (system_toml(url, name="admin-audited", role_arns=[admin])
              + system_toml(url, name="read-only-audited", role_arns=[reader]))
    _, evidence = audit(config, "--cryptoaudit-control", "CEK-09", "-k", "auditor_independent")
    outcomes = {r["key_uid"]: r for r in evidence["results"] if r["check"] == "auditor-independent"}
    failed = outcomes["aws-kms:admin-audited"]
    assert failed["outcome"] == "failed"
    assert "may administer what it audits" in failed["message"]
    assert f"role {admin.rsplit('/', 1)[1]}" in failed["message"]
    passed = outcomes["aws-kms:read-only-audited"]
    assert passed["outcome"] == "passed"
    assert any("service control" in note for note in passed["notes"])


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
