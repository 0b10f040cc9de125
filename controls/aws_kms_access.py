"""AWS KMS access and accountability: customer control (CEK-08), key policies and grants
(CEK-08; ISO 27001 A.8.24; AWS FSBP KMS.5), and CloudTrail recording
KMS use in every audited region (CEK-09)."""

from __future__ import annotations

import pytest

from pytest_cryptoaudit.errors import CryptoAuditError
from pytest_cryptoaudit.providers.aws_kms.cloudtrail import region_coverage
from pytest_cryptoaudit.providers.aws_kms.policydoc import (
    foreign_grantees,
    foreign_principals,
    public_statements,
)
from pytest_cryptoaudit.references import AWS_FSBP_KMS, ISO27001_A824, ccm

KMS = {"provider": "aws-kms"}
ACCESS_REFERENCES = [ccm("CEK-08"), ISO27001_A824, AWS_FSBP_KMS]
KMS_EVENTS = {"read", "write"}


def _allowed_accounts(key, inventory) -> set[str]:
    """The key's own account and the system's ``allowed_principal_accounts``."""
    system = inventory.system(key.system)
    return {key.attributes["account"], *system.attributes.get("allowed_principal_accounts", ())}


@pytest.mark.control(
    "CEK-08", "CSC key management capability", check="kms-customer-managed",
    references=[ccm("CEK-08"), ccm("CEK-10"), ISO27001_A824],
    remediation="Protect the data with a customer-managed key whose policy and rotation the "
                "customer controls.",
    applies_to=KMS, requires=["key_manager"],
)
@pytest.mark.ssrm("CSC")
def test_kms_customer_managed(crypto_key, crypto_policy, crypto_note):
    """The customer manages the key (or policy accepts an AWS-managed key at the tier);
    BYOK, HYOK and CloudHSM keys are recorded in a note."""
    attributes = crypto_key.attributes
    origin = attributes.get("aws_origin")
    if origin == "EXTERNAL":
        crypto_note("BYOK: key material imported by the customer (origin EXTERNAL)")
    elif origin == "EXTERNAL_KEY_STORE":
        crypto_note(f"HYOK: key held outside AWS, custom key store "
                    f"{attributes.get('custom_key_store_id')}")
    elif origin == "AWS_CLOUDHSM":
        crypto_note(f"key in CloudHSM cluster {attributes.get('cloudhsm_cluster_id')}")
    tier = crypto_key.risk_tier.value
    if attributes["key_manager"] != "CUSTOMER":
        assert crypto_policy.for_tier("aws_kms_allow_aws_managed_keys", tier), (
            f"{attributes['key_manager']}-managed key: the customer controls neither its policy "
            f"nor its rotation; tier {tier} requires customer-managed keys"
        )


@pytest.mark.control(
    "CEK-08", "CSC key management capability", check="kms-policy-not-public",
    references=ACCESS_REFERENCES,
    remediation="Name the principals in the key policy, or add a condition such as "
                "kms:CallerAccount or aws:PrincipalOrgID to the statement.",
    applies_to=KMS, requires=["policy"],
)
@pytest.mark.ssrm("CSC")
def test_kms_policy_not_public(crypto_key):
    """No key policy statement allows everyone (Principal "*") without a narrowing condition."""
    public = public_statements(crypto_key.attributes["policy"])
    assert not public, (
        f"key policy statement {', '.join(public)} allows any principal without a "
        "restricting condition"
    )


@pytest.mark.control(
    "CEK-08", "CSC key management capability", check="kms-policy-principals",
    references=ACCESS_REFERENCES,
    remediation="Remove the principal from the key policy, or add its account to "
                "allowed_principal_accounts after review.",
    applies_to=KMS, requires=["policy", "account"],
)
@pytest.mark.ssrm("CSC")
def test_kms_policy_principals(crypto_key, crypto_inventory):
    """Every principal the key policy allows belongs to the key's account or an allowed one."""
    allowed = _allowed_accounts(crypto_key, crypto_inventory)
    foreign = foreign_principals(crypto_key.attributes["policy"], allowed)
    assert not foreign, (
        f"key policy allows principals outside the allowed accounts: {'; '.join(foreign)}"
    )


@pytest.mark.control(
    "CEK-08", "CSC key management capability", check="kms-grantees",
    references=ACCESS_REFERENCES,
    remediation="Revoke the grant (aws kms revoke-grant), or add the grantee's account to "
                "allowed_principal_accounts after review.",
    applies_to=KMS, requires=["grants", "account"],
)
@pytest.mark.ssrm("CSC")
def test_kms_grantees(crypto_key, crypto_inventory):
    """No grant gives a principal outside the allowed accounts use of the key."""
    allowed = _allowed_accounts(crypto_key, crypto_inventory)
    foreign = foreign_grantees(crypto_key.attributes["grants"], allowed)
    assert not foreign, f"grants to principals outside the allowed accounts: {'; '.join(foreign)}"


def _region_gaps(attributes) -> tuple[dict[str, str], dict[str, str]]:
    """Per account/region: the KMS events no logging trail records, and what was unreadable."""
    trails = attributes["cloudtrail_trails"]
    gaps, unknown = {}, dict(attributes.get("cloudtrail_unreadable", {}))
    for scope, arns in sorted(attributes["cloudtrail_regions"].items()):
        lacking = KMS_EVENTS - region_coverage(trails[arn] for arn in arns)
        unreadable = [f"{arn}: {trails[arn]['unreadable']}" for arn in arns
                      if "unreadable" in trails[arn]]
        if lacking and unreadable:
            unknown[scope] = "; ".join(unreadable)
        elif lacking:
            gaps[scope] = "no logging trail records KMS " + " or ".join(sorted(lacking)) + \
                " events" + ("" if arns else " (no trail)")
    return gaps, unknown


@pytest.mark.control(
    "CEK-09", "Encryption and key management audit", check="kms-cloudtrail",
    references=[ccm("CEK-09"), "ISO/IEC 27001:2022 A.8.15", ISO27001_A824],
    remediation="Create a multi-region trail that logs all management events (read and "
                "write) and does not exclude kms.amazonaws.com; make sure it is logging.",
    applies_to=KMS, requires=["cloudtrail_regions"],
)
@pytest.mark.ssrm("CSC")
def test_kms_cloudtrail(crypto_system):
    """Every audited region has a logging CloudTrail trail recording KMS management events
    (read and write), so that key use is continuously recorded."""
    gaps, unknown = _region_gaps(crypto_system.attributes)
    unknown_text = "; ".join(f"{scope}: {why}" for scope, why in unknown.items())
    assert not gaps, "; ".join(f"{scope}: {why}" for scope, why in gaps.items()) + (
        f" (also unreadable: {unknown_text})" if unknown else "")
    if unknown:
        raise CryptoAuditError(f"cannot tell whether KMS use is recorded in {unknown_text}")
    if not crypto_system.attributes["cloudtrail_regions"]:
        raise CryptoAuditError("no audited region: nothing shows that KMS use is recorded")
