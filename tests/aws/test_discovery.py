"""Discovery through moto's HTTP API: pagination, the calls made, scope options."""

from __future__ import annotations

import botocore.handlers
import pytest

from pytest_cryptoaudit.lab.estate_kms import ESTATE, PARTNER_ACCOUNT
from pytest_cryptoaudit.providers.aws_kms.keyspec import NO_ROTATION_STATES
from pytest_cryptoaudit.serialize import inventory_from_dict, inventory_to_dict

from .kms_helpers import OneItemPages, discover, system_toml

pytestmark = pytest.mark.usefixtures("aws_env")


def own_keys(estate: dict[str, str],
             exclude: tuple[str, ...] = ("denied", "weak-aws-managed")) -> set[str]:
    """ARNs of the default account's planted keys (the partner's live elsewhere); by
    default without the unreadable key and the AWS-managed one (not audited by default)."""
    return {estate[p.label] for p in ESTATE
            if p.account != PARTNER_ACCOUNT and p.label not in exclude}


@pytest.fixture
def one_item_pages():
    """Every ListKeys and ListAliases answer cut into one-item pages, for every session."""
    pagers = {"ListKeys": OneItemPages("ListKeys", "Keys"),
              "ListAliases": OneItemPages("ListAliases", "Aliases")}
    handlers = [h for pager in pagers.values() for h in pager.handlers()]
    botocore.handlers.BUILTIN_HANDLERS.extend(handlers)
    yield pagers
    for handler in handlers:
        botocore.handlers.BUILTIN_HANDLERS.remove(handler)


def test_follows_next_marker_through_every_page(one_item_pages, api_calls, moto_server, estate):
    inventory = discover(system_toml(moto_server.url), controls={"CEK-21"})
    assert {key.uid for key in inventory.keys} == own_keys(estate)
    planted = len(own_keys(estate, exclude=()))
    assert one_item_pages["ListKeys"].pages == api_calls["kms.ListKeys"] == planted
    # moto lists 14 aws/ aliases in each region, and the estate adds one
    assert one_item_pages["ListAliases"].pages == api_calls["kms.ListAliases"] == 2 * 14 + 1
    aliased = next(key for key in inventory.keys if key.uid == estate["clean-aes"])
    assert aliased.attributes["aliases"] == ["alias/clean-aes"]


IAM_ROLE_READS = ("GetRole", "ListRolePolicies", "ListAttachedRolePolicies", "GetPolicy",
                  "GetPolicyVersion")


def test_calls_per_key_are_the_minimum_the_controls_need(api_calls, moto_server, estate):
    inventory = discover(system_toml(moto_server.url))
    found = len(inventory.keys)
    rotatable = sum(1 for key in inventory.keys
                    if key.attributes["key_spec"] == "SYMMETRIC_DEFAULT"
                    and key.attributes["aws_origin"] == "AWS_KMS"
                    and key.attributes["key_state"] not in NO_ROTATION_STATES)
    assert found == len(own_keys(estate)) and len(inventory.errors) == 1
    # DescribeKey once per key: the readable ones, the denied one, the AWS-managed one
    assert api_calls["kms.DescribeKey"] == found + 2
    for operation in ("ListResourceTags", "GetKeyPolicy", "ListGrants"):
        assert api_calls[f"kms.{operation}"] == found, operation
    assert api_calls["kms.GetKeyRotationStatus"] == api_calls["kms.ListKeyRotations"] == rotatable
    assert api_calls["kms.ListKeys"] == api_calls["kms.ListAliases"] == 2
    assert api_calls["cloudtrail.DescribeTrails"] == 2
    assert api_calls["cloudtrail.GetTrailStatus"] == api_calls["cloudtrail.GetEventSelectors"] == 2
    assert api_calls["sts.GetCallerIdentity"] == api_calls["sts.AssumeRole"] == 1
    assert api_calls["kms.DescribeCustomKeyStores"] == 2  # once per region
    # the key policies delegate to the account, so the audit role's IAM policies are read,
    # once for the whole account, from the one page of account details that also shows the
    # policies decrypting with every key: no role read of its own
    assert api_calls["iam.GetAccountAuthorizationDetails"] == 1
    assert not any(api_calls[f"iam.{operation}"] for operation in IAM_ROLE_READS)
    assert inventory.systems[0].attributes["auditor_admin_rights"] == []
    # xdist workers get the inventory as JSON: it must come back the same
    assert inventory_from_dict(inventory_to_dict(inventory)) == inventory
    assert api_calls.total() == sum(api_calls[op] for op in (
        "kms.DescribeKey", "kms.ListResourceTags", "kms.GetKeyPolicy", "kms.ListGrants",
        "kms.GetKeyRotationStatus", "kms.ListKeyRotations", "kms.ListKeys", "kms.ListAliases",
        "cloudtrail.DescribeTrails", "cloudtrail.GetTrailStatus", "cloudtrail.GetEventSelectors",
        "sts.GetCallerIdentity", "sts.AssumeRole", "kms.DescribeCustomKeyStores",
        "iam.GetAccountAuthorizationDetails",
        *(f"iam.{operation}" for operation in IAM_ROLE_READS)))


def test_aws_managed_keys_are_counted_not_audited_by_default(moto_server, estate):
    inventory = discover(system_toml(moto_server.url), controls={"CEK-21"})
    assert estate["weak-aws-managed"] not in {key.uid for key in inventory.keys}
    assert inventory.systems[0].attributes["aws_managed_keys_skipped"] == 1


def test_all_regions_means_every_enabled_region(api_calls, moto_server, estate):
    inventory = discover(system_toml(moto_server.url, regions="all", max_workers=2),
                         controls={"CEK-12"})
    regions = inventory.systems[0].attributes["regions"]
    assert {"eu-west-1", "us-east-1", "ap-southeast-2"} <= set(regions)
    assert api_calls["ec2.DescribeRegions"] == 1
    assert api_calls["kms.ListKeys"] == len(regions)
    assert {key.uid for key in inventory.keys} == own_keys(estate)


def test_role_arns_audit_each_assumed_account_once(api_calls, moto_server, estate):
    role = f"arn:aws:iam::{PARTNER_ACCOUNT}:role/cryptoaudit"
    other_role = f"arn:aws:iam::{PARTNER_ACCOUNT}:role/other"
    inventory = discover(system_toml(moto_server.url, role_arns=[role, other_role]),
                         controls={"CEK-21"})
    assert {key.uid for key in inventory.keys} == {estate["partner-aes"], estate["partner-rsa"]}
    assert inventory.systems[0].attributes["accounts"] == [PARTNER_ACCOUNT]
    assert api_calls["sts.AssumeRole"] == 2


OPTIONAL_CALLS = ("kms.GetKeyPolicy", "kms.ListGrants", "kms.GetKeyRotationStatus",
                  "kms.ListKeyRotations", "cloudtrail.DescribeTrails", "iam.GetRole",
                  "iam.GetAccountAuthorizationDetails")


@pytest.mark.parametrize(("control", "expected"), [
    # auditor-independent judges the key policies and grants and, as the policies delegate
    # to the account, the audit role's IAM policies; no rotation
    ("CEK-09", {"kms.GetKeyPolicy", "kms.ListGrants", "cloudtrail.DescribeTrails",
                "iam.GetRole"}),
    ("CEK-08", {"kms.GetKeyPolicy", "kms.ListGrants", "iam.GetAccountAuthorizationDetails"}),
    ("CEK-12", {"kms.GetKeyRotationStatus", "kms.ListKeyRotations"}),
    ("CEK-14", set()),
    ("CEK-21", set()),
])
def test_a_control_alone_makes_the_calls_for_the_facts_it_names(api_calls, moto_server, estate,
                                                                control, expected):
    inventory = discover(system_toml(moto_server.url), controls={control})
    made = {call for call in OPTIONAL_CALLS if api_calls[call]}
    assert made == expected
    if control == "CEK-09":
        system = inventory.systems[0]
        assert system.attributes["auditor_admin_rights"] == []
        assert "auditor_admin_rights" not in system.unreadable
        assert api_calls["kms.GetKeyPolicy"] == len(inventory.keys)
        # without the account details, the role is read on its own: the role, its one
        # attached policy and no inline one, once for the whole account
        assert all(api_calls[f"iam.{operation}"] == 1 for operation in IAM_ROLE_READS)
        assert api_calls["iam.GetAccountAuthorizationDetails"] == 0
    for key in inventory.keys:
        access_read = "kms.ListGrants" in expected
        assert (key.managed.access is not None) is access_read, key.uid
        if not access_read:
            assert key.unreadable["managed.access"].startswith("not fetched")


def test_keys_share_what_is_the_same_across_them(moto_server, estate):
    """Keys with the same key policy and no grants hold one tuple of normalised grants (the
    policy parsed and normalised once), and equal tag names and values are one string: an
    account of thousands of keys holds each once, not once per key."""
    inventory = discover(system_toml(moto_server.url))
    keys = {key.uid: key for key in inventory.keys}
    plain = [keys[estate[label]] for label in ("clean-aes", "clean-critical", "team-owned")]
    accesses = [key.managed.access for key in plain if key.managed is not None]
    assert len(accesses) == 3 and accesses[0]  # the default policy names the account root
    assert accesses[1] is accesses[0] and accesses[2] is accesses[0]
    granted = keys[estate["clean-shared"]].managed
    assert granted is not None and granted.access is not None
    assert any(grant.source == "grant" for grant in granted.access)  # its own tuple
    owners = [next(k for k in key.tags if k == "owner") for key in plain]
    assert owners[0] is owners[1] is owners[2]
    teams = [keys[estate[label]].tags["owner"] for label in ("clean-aes", "clean-critical")]
    assert teams[0] == teams[1] and teams[0] is teams[1]
