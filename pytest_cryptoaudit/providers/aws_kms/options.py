"""Configuration of an ``aws-kms`` system and the policy settings its controls use."""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic

from ...budget import LimitOptions
from ...policy import PolicySetting, tiered
from .. import ProviderOptions

AccountId = Annotated[str, pydantic.StringConstraints(pattern=r"^\d{12}$")]
RoleArn = Annotated[str, pydantic.StringConstraints(pattern=r"^arn:[\w-]+:iam::\d{12}:role/.+$")]
NON_NIST_SPECS = ["ECC_SECG_P256K1", "SM2"]


class AwsKmsOptions(ProviderOptions, LimitOptions):
    """Options of ``provider = "aws-kms"`` (see docs/aws-kms.md)."""

    #: Regions to audit, or "all" for every region each account has enabled.
    regions: Annotated[list[str], pydantic.Field(min_length=1)] | Literal["all"]
    profile: str | None = None
    #: Roles assumed in turn, one per account; without roles the profile's account is audited.
    role_arns: list[RoleArn] = []
    external_id: str | None = None
    role_session_name: str = "cryptoaudit"
    #: Endpoint for every AWS service the provider calls (KMS, STS, CloudTrail, EC2).
    endpoint_url: str | None = None
    #: Per-service endpoints (e.g. ``{kms = "https://vpce-...kms..."}``), over ``endpoint_url``.
    service_endpoints: dict[str, str] = {}
    #: Region for account-wide calls (STS, EC2 DescribeRegions).
    home_region: str = "us-east-1"
    max_workers: Annotated[int, pydantic.Field(ge=1, le=64)] = 8
    #: Attempts per call, retries included (botocore adaptive retry mode).
    max_attempts: Annotated[int, pydantic.Field(ge=1, le=20)] = 5
    #: Seconds to connect and seconds to read, per call.
    timeout: Annotated[float, pydantic.Field(gt=0, le=300)] = 10.0
    include_aws_managed: bool = False
    #: Share of each API's published request quota this audit may use (per account and
    #: region); production traffic shares the quota, so the default leaves it half.
    request_budget_fraction: Annotated[float, pydantic.Field(gt=0, le=1)] = 0.5
    #: Whether the request budgets apply; benchmarks against a local server turn them off.
    request_budgets: bool = True
    #: Accounts whose principals may appear in key policies and grants, besides the key's own.
    allowed_principal_accounts: list[AccountId] = []
    #: Read every user and role of each account (GetAccountAuthorizationDetails) and add
    #: them to the access of each key whose policy delegates to the account, for what their
    #: IAM policies allow on it (docs/aws-kms.md, "Access through IAM").
    iam_holders: bool = False


#: Settings only AWS KMS controls use; the managed-key settings (rotation, origins, state,
#: deletion) are builtin, named ``managed_key_*`` (the old ``aws_kms_*`` names are aliases).
POLICY_SETTINGS: tuple[PolicySetting, ...] = (
    PolicySetting(
        "aws_kms_disallowed_key_specs", tiered([], [], NON_NIST_SPECS, NON_NIST_SPECS),
        "KMS key specs not allowed per tier (secp256k1 and SM2 are not NIST-approved).",
        "NIST SP 800-186; NIST SP 800-131A Rev 2"),
    PolicySetting(
        "aws_kms_allowed_key_usages",
        {"symmetric": ["ENCRYPT_DECRYPT"], "rsa": ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
         "ecc": ["SIGN_VERIFY", "KEY_AGREEMENT"], "hmac": ["GENERATE_VERIFY_MAC"],
         "other": ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT"]},
        "Key usages allowed per key family (symmetric, rsa, ecc, hmac, other).",
        "NIST SP 800-57 Part 1 Rev 5, 5.2"),
)
