"""``iam_holders = true``: the users and roles whose IAM policies reach a key that delegates
to its account become its access entries, read from moto's IAM over HTTP in an account of
their own (their policies would change the planted estate's outcomes)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_cryptoaudit.facts import Action, PrincipalKind
from pytest_cryptoaudit.lab import estate_kms
from pytest_cryptoaudit.lab.estate_kms import session
from pytest_cryptoaudit.providers.aws_kms.iam import IamReader, IdentityPolicies
from pytest_cryptoaudit.providers.aws_kms.iam_holders import (
    AccountIam,
    Identity,
    delegated_operations,
)

from .kms_helpers import discover, policy_document, system_toml

pytestmark = pytest.mark.usefixtures("aws_env")

OWN = "444444444444"
#: An account that uses a key of OWN's through its key policy.
CONSUMER = "555555555555"
AUDIT_ROLE = f"arn:aws:iam::{OWN}:role/cryptoaudit"
ALL_KMS = {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}
#: Every use of a key (not its reads: moto would apply a Deny of those to every caller).
USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
               "kms:Sign", "kms:Verify", "kms:GenerateMac", "kms:VerifyMac",
               "kms:DeriveSharedSecret"]



def _role(iam: Any, name: str, **extra: Any) -> None:
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy_document(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2"}}),
        **extra)


@pytest.fixture(scope="module")
def holders_account(moto_server) -> dict[str, str]:
    """Two keys with the default policy (delegating), one whose policy names a role only;
    an admin role, a user role, a bounded role and a user whose group administers."""
    url = moto_server.url
    aws = session(url, f"arn:aws:iam::{OWN}:role/setup")
    estate_kms.create_audit_role(aws, url)
    kms = aws.client("kms", region_name="eu-west-1", endpoint_url=url)
    keys = {label: kms.create_key()["KeyMetadata"]["Arn"] for label in ("first", "second")}
    keys["named"] = kms.create_key(Policy=policy_document(
        {**ALL_KMS, "Action": ["kms:Decrypt", "kms:Encrypt"],
         "Principal": {"AWS": f"arn:aws:iam::{OWN}:role/ops"}}))["KeyMetadata"]["Arn"]
    keys["denying"] = kms.create_key(Policy=policy_document(
        {**ALL_KMS, "Principal": {"AWS": f"arn:aws:iam::{OWN}:root"}},
        {**ALL_KMS, "Effect": "Deny", "Action": USE_ACTIONS,
         "Principal": {"AWS": f"arn:aws:iam::{OWN}:role/app-admin"}}))["KeyMetadata"]["Arn"]
    keys["shared"] = kms.create_key(Policy=policy_document(
        {**ALL_KMS, "Principal": {"AWS": f"arn:aws:iam::{OWN}:root"}},
        {**ALL_KMS, "Action": ["kms:Decrypt", "kms:Encrypt"],
         "Principal": {"AWS": f"arn:aws:iam::{CONSUMER}:root"}}))["KeyMetadata"]["Arn"]
    keys["acme"] = kms.create_key(Tags=[{"TagKey": "tenant", "TagValue": "acme"}],
                                  Description="acme's key")["KeyMetadata"]["Arn"]
    iam = aws.client("iam", region_name="us-east-1", endpoint_url=url)
    _role(iam, "globex-app")
    iam.put_role_policy(RoleName="globex-app", PolicyName="reports", PolicyDocument=policy_document(
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": keys["acme"]}))
    admin = iam.create_policy(PolicyName="KmsAll", PolicyDocument=policy_document(ALL_KMS))
    _role(iam, "app-admin")
    iam.attach_role_policy(RoleName="app-admin", PolicyArn=admin["Policy"]["Arn"])
    _role(iam, "app-user")
    iam.put_role_policy(RoleName="app-user", PolicyName="use", PolicyDocument=policy_document(
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"}))
    boundary = iam.create_policy(PolicyName="DecryptOnly", PolicyDocument=policy_document(
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}))
    _role(iam, "app-bounded", PermissionsBoundary=boundary["Policy"]["Arn"])
    iam.attach_role_policy(RoleName="app-bounded", PolicyArn=admin["Policy"]["Arn"])
    iam.create_user(UserName="ops-user")
    iam.create_group(GroupName="key-admins")
    iam.add_user_to_group(GroupName="key-admins", UserName="ops-user")
    administer = {"Effect": "Allow", "Action": ["kms:Put*", "kms:ScheduleKeyDeletion"],
                  "Resource": f"arn:aws:kms:*:{OWN}:key/*"}
    iam.put_group_policy(GroupName="key-admins", PolicyName="administer",
                         PolicyDocument=policy_document(administer))
    iam.put_user_policy(UserName="ops-user", PolicyName="encrypt", PolicyDocument=policy_document(
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": keys["first"]}))
    return keys


def config(url: str, **options: Any) -> str:
    return system_toml(url, **{"name": "holders", "role_arns": [AUDIT_ROLE],
                               "regions": ["eu-west-1"], **options})


def iam_entries(inventory: Any, uid: str) -> dict[tuple[str, str], set[Action]]:
    [key] = [k for k in inventory.keys if k.uid == uid]
    return {(g.principal.rsplit(":", 1)[1], g.ref): set(g.actions) for g in key.managed.access
            if g.source == "iam"}


def test_identities_hold_what_their_policies_allow_on_each_key(moto_server, holders_account,
                                                               api_calls):
    inventory = discover(config(moto_server.url, iam_holders=True), controls={"CEK-08"})
    admin = f"policy arn:aws:iam::{OWN}:policy/KmsAll attached to role"
    first = iam_entries(inventory, holders_account["first"])
    assert first == {
        ("role/app-admin", f"{admin} app-admin"): set(Action) - {Action.EXPORT},
        ("role/app-user", "inline policy use of role app-user"): {Action.USE},
        ("role/app-bounded", f"{admin} app-bounded"): {Action.USE},
        ("user/ops-user", "inline policy administer of group key-admins"): {
            Action.MANAGE, Action.DELETE},
        ("user/ops-user", "inline policy encrypt of user ops-user"): {Action.USE}}
    second = iam_entries(inventory, holders_account["second"])
    assert ("user/ops-user", "inline policy encrypt of user ops-user") not in second
    assert len(second) == len(first) - 1
    # a key policy that names its principals lets IAM grant nothing, and one that denies a
    # role takes from it what IAM gives
    assert iam_entries(inventory, holders_account["named"]) == {}
    denying = iam_entries(inventory, holders_account["denying"])
    assert denying[("role/app-user", "inline policy use of role app-user")] == {Action.USE}
    assert denying[("role/app-admin", f"{admin} app-admin")] == {
        Action.MANAGE, Action.DELETE, Action.GRANT}
    # the account's IAM is read once for both the holders and kms-iam-decrypt-all-keys
    assert api_calls["iam.GetAccountAuthorizationDetails"] == 1
    [key] = [k for k in inventory.keys if k.uid == holders_account["first"]]
    kinds = {g.principal.rsplit(":", 1)[1]: g.kind for g in key.managed.access
             if g.source == "iam"}
    assert kinds["role/app-admin"] is PrincipalKind.ROLE
    assert kinds["user/ops-user"] is PrincipalKind.USER


def test_without_the_option_no_identity_is_an_entry(moto_server, holders_account, api_calls):
    inventory = discover(config(moto_server.url), controls={"CEK-08"})
    assert iam_entries(inventory, holders_account["first"]) == {}
    assert api_calls["iam.GetAccountAuthorizationDetails"] == 1  # the decrypt-all check's


def test_separation_of_duties_sees_the_identities_of_iam(audit, moto_server, holders_account):
    _, evidence = audit(config(moto_server.url, iam_holders=True), "--cryptoaudit-control",
                        "CEK-08", "-k", "separation_of_duties")
    results = {r["key_uid"]: r for r in evidence["results"]
               if r["check"] == "kms-separation-of-duties"}
    first = results[holders_account["first"]]
    assert first["outcome"] == "failed"
    assert f"arn:aws:iam::{OWN}:role/app-admin (policy arn:aws:iam::{OWN}:policy/KmsAll " \
           "attached to role app-admin)" in first["message"]
    assert f"arn:aws:iam::{OWN}:user/ops-user (inline policy administer of group " \
           "key-admins; inline policy encrypt of user ops-user)" in first["message"]
    assert "app-user" not in first["message"] and "app-bounded" not in first["message"]
    # on the second key ops-user only administers
    assert "ops-user" not in results[holders_account["second"]]["message"]
    assert results[holders_account["named"]]["outcome"] == "passed"


def test_unread_iam_makes_the_delegating_keys_access_unreadable(moto_server, holders_account,
                                                                refusing, audit):
    endpoint = refusing("AccessDenied")
    inventory = discover(config(moto_server.url, iam_holders=True,
                                service_endpoints={"iam": endpoint.url}), controls={"CEK-08"})
    keys = {k.uid: k for k in inventory.keys}
    why = keys[holders_account["first"]].unreadable["managed.access"]
    assert why.startswith(f"IAM holders: account {OWN}: GetAccountAuthorizationDetails: ")
    assert "AccessDenied" in why
    assert keys[holders_account["first"]].managed.access is None
    assert keys[holders_account["named"]].managed.access  # its policy decides alone


@pytest.fixture(scope="module")
def consumer_account(moto_server) -> None:
    """The consumer's audit role, and a role whose policy decrypts with any key."""
    url = moto_server.url
    aws = session(url, f"arn:aws:iam::{CONSUMER}:role/setup")
    estate_kms.create_audit_role(aws, url)
    iam = aws.client("iam", region_name="us-east-1", endpoint_url=url)
    _role(iam, "reports")
    iam.put_role_policy(RoleName="reports", PolicyName="decrypt", PolicyDocument=policy_document(
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:PutKeyPolicy"], "Resource": "*"}))


def test_a_key_shared_with_an_audited_account_is_held_by_its_identities(
        moto_server, holders_account, consumer_account):
    both = [AUDIT_ROLE, f"arn:aws:iam::{CONSUMER}:role/cryptoaudit"]

    def consumers(**options: Any) -> list[Any]:
        inventory = discover(config(moto_server.url, iam_holders=True, role_arns=both,
                                    **options), controls={"CEK-08"})
        [key] = [k for k in inventory.keys if k.uid == holders_account["shared"]]
        return [g for g in key.managed.access
                if g.source == "iam" and f":{CONSUMER}:" in g.principal]

    [entry] = consumers()
    assert entry.principal == f"arn:aws:iam::{CONSUMER}:role/reports"
    # only what the key policy gives the consumer account: use, not its policy
    assert (entry.actions, entry.outside) == ((Action.USE,), True)
    [entry] = consumers(allowed_principal_accounts=[CONSUMER])
    assert not entry.outside
    # an account the system does not audit is judged by its key policy entry alone
    inventory = discover(config(moto_server.url, iam_holders=True), controls={"CEK-08"})
    [key] = [k for k in inventory.keys if k.uid == holders_account["shared"]]
    assert not [g for g in key.managed.access
                if g.source == "iam" and f":{CONSUMER}:" in g.principal]


TENANCY = """
[tenancy]
tag = "tenant"

[[tenancy.tenants]]
name = "acme"
principals = ["arn:aws:iam::*:role/acme-*"]

[[tenancy.tenants]]
name = "globex"
principals = ["arn:aws:iam::*:role/globex-*"]
"""


def test_another_tenants_role_reaching_a_key_through_iam_breaks_isolation(
        audit, moto_server, holders_account):
    for iam_holders, outcome in ((False, "passed"), (True, "failed")):
        _, evidence = audit(config(moto_server.url, iam_holders=iam_holders) + TENANCY,
                            "--cryptoaudit-control", "CEK-08", "-k", "tenant_key_isolation")
        [result] = [r for r in evidence["results"] if r["check"] == "tenant-key-isolation"
                    and r["key_uid"] == holders_account["acme"]]
        assert result["outcome"] == outcome, result["message"]
    assert f"arn:aws:iam::{OWN}:role/globex-app" in result["message"]
    assert (f"arn:aws:iam::{OWN}:role/globex-app (iam inline policy reports of role "
            "globex-app; use) of tenant globex") in result["message"]


# -- without a server ----------------------------------------------------------------------

def test_the_operations_a_key_policy_delegates():
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OWN}:root"},
            "Action": ["kms:Decrypt", "kms:Describe*", "kms:PutKeyPolicy"], "Resource": "*"}
    assert delegated_operations({"Statement": [root]}) == {
        OWN: ("kms:Decrypt", "kms:PutKeyPolicy")}
    by_id = {**root, "Principal": {"AWS": [OWN, "arn:aws:iam::555555555555:root"]},
             "Action": "kms:Sign"}
    assert delegated_operations({"Statement": [root, by_id]}) == {
        OWN: ("kms:Decrypt", "kms:Sign", "kms:PutKeyPolicy"), "555555555555": ("kms:Sign",)}
    named = {**root, "Principal": {"AWS": f"arn:aws:iam::{OWN}:role/ops"}}
    assert delegated_operations({"Statement": [named]}) == {}


def test_conditions_make_entries_restricted_or_bound_to_a_context():
    context = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": {
        "StringEquals": {"kms:EncryptionContext:tenant": "${aws:PrincipalTag/tenant}"}}}
    vpce = {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}
    identity = Identity(f"arn:aws:iam::{OWN}:role/app", PrincipalKind.ROLE, IdentityPolicies(
        "role app", (("p1", (context,)), ("p2", (vpce,)))))
    key = f"arn:aws:kms:eu-west-1:{OWN}:key/k"
    grants = {g.ref: g for g in AccountIam([identity]).grants(key, ("kms:Decrypt",
                                                                    "kms:Encrypt"))}
    assert (grants["p1"].context_keys, grants["p1"].restricted) == (("tenant",), False)
    assert (grants["p2"].context_keys, grants["p2"].restricted) == ((), True)
    assert AccountIam([identity]).grants(key, ()) == ()


def test_a_policy_listed_without_its_document_is_read_once_through_iam():
    class Iam:
        calls: list[str] = []

        def get_policy(self, PolicyArn: str) -> dict[str, Any]:
            self.calls.append(PolicyArn)
            return {"Policy": {"DefaultVersionId": "v2"}}

        def get_policy_version(self, PolicyArn: str, VersionId: str) -> dict[str, Any]:
            return {"PolicyVersion": {"Document": {"Statement": [ALL_KMS]}}}

    aws_managed = "arn:aws:iam::aws:policy/AdministratorAccess"
    attached = [{"PolicyName": "AdministratorAccess", "PolicyArn": aws_managed}]
    details = {"UserDetailList": [], "GroupDetailList": [], "Policies": [], "RoleDetailList": [
        {"RoleName": f"r{n}", "Arn": f"arn:aws:iam::{OWN}:role/r{n}",
         "AttachedManagedPolicies": attached} for n in range(3)]}
    reader = IamReader(Iam())
    account = AccountIam.of(details, reader)
    assert Iam.calls == [aws_managed]
    entries = account.grants(f"arn:aws:kms:eu-west-1:{OWN}:key/k", ("kms:PutKeyPolicy",))
    assert [g.principal.rsplit("/", 1)[1] for g in entries] == ["r0", "r1", "r2"]
