"""A planted AWS KMS estate: every weakness the KMS controls look for, beside clean keys.

Used by the tests (each planted key carries the outcome its checks must give) and by
``cryptoaudit lab``, which serves the same estate from a process of its own
(``python -m pytest_cryptoaudit.lab.estate_kms PORT READY_FILE``). Seeding plants facts in
moto's backend, so it runs in the process of the :class:`~.moto.MotoServer`.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .moto import ACCOUNT, MotoServer, environment, plant, plant_store
from .processes import ensure_running, free_port, start_process, wait_until

PARTNER_ACCOUNT = "111111111111"
SHARED_ACCOUNT = "222222222222"
FOREIGN_ACCOUNT = "999999999999"
PARTNER_ROLE = f"arn:aws:iam::{PARTNER_ACCOUNT}:role/cryptoaudit"
#: The role the audit of the lab's own account assumes: read-only, as docs/aws-kms.md asks.
AUDIT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/cryptoaudit"
#: An ``owner`` tag names a team, as in real estates; namespaced tags override tier and SSRM.
OWNER = {"owner": "payments-team"}
CRITICAL = {**OWNER, "cryptoaudit:risk-tier": "critical"}


def _document(*statements: Mapping[str, Any]) -> str:
    """A policy of ``statements``, as the API takes it (JSON text)."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _policy(*statements: Mapping[str, Any]) -> str:
    """A key policy: the account's own statement (delegating to IAM), then ``statements``."""
    own = {"Sid": "Owner", "Effect": "Allow", "Action": "kms:*", "Resource": "*",
           "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}
    return _document(own, *statements)


def _allow(principal: Any, sid: str, **condition: Any) -> dict[str, Any]:
    statement = {"Sid": sid, "Effect": "Allow", "Principal": principal,
                 "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"}
    return {**statement, "Condition": condition} if condition else statement


@dataclasses.dataclass(frozen=True)
class PlantedKey:
    """One key of the estate and the outcomes its checks must give (all others pass)."""

    label: str
    expect: Mapping[str, str] = dataclasses.field(default_factory=dict)
    key_spec: str = "SYMMETRIC_DEFAULT"
    key_usage: str = "ENCRYPT_DECRYPT"
    tags: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(OWNER))
    region: str = "eu-west-1"
    account: str = ACCOUNT
    rotation_days: int | None = 365
    age_days: int = 30
    rotated_days_ago: int | None = None
    policy: str | None = None
    grantee: str | None = None
    action: str | None = None  # "disable" or "delete"
    origin: str | None = None
    key_state: str | None = None
    key_manager: str | None = None
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    note: str | None = None  # a note some check must add
    alias: str | None = None


def _imported(expires: bool, days: int = 200) -> dict[str, Any]:
    if not expires:
        return {"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}
    valid_to = datetime.now(UTC) + timedelta(days=days)
    return {"ExpirationModel": "KEY_MATERIAL_EXPIRES", "ValidTo": valid_to}


HYOK = {"CustomKeyStoreId": "cks-0123456789abcdef0",
        "XksKeyConfiguration": {"Id": "external-key-1"}}
HYOK_UP = {"CustomKeyStoreId": "cks-0fedcba9876543210",
           "XksKeyConfiguration": {"Id": "external-key-2"}}
#: The external key stores of the lab (DescribeCustomKeyStores): one down, one up.
LAB_STORES: Mapping[str, Mapping[str, Any]] = {
    "cks-0123456789abcdef0": {"CustomKeyStoreName": "lab-xks-down",
                              "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
                              "ConnectionState": "DISCONNECTED",
                              "ConnectionErrorCode": "XKS_PROXY_NOT_REACHABLE"},
    "cks-0fedcba9876543210": {"CustomKeyStoreName": "lab-xks-up",
                              "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
                              "ConnectionState": "CONNECTED"},
}
FAIL = "failed"

ESTATE: tuple[PlantedKey, ...] = (
    PlantedKey("clean-aes", alias="alias/clean-aes"),
    PlantedKey("clean-rsa", key_spec="RSA_3072", key_usage="SIGN_VERIFY", age_days=100),
    PlantedKey("clean-ec", key_spec="ECC_NIST_P384", key_usage="SIGN_VERIFY"),
    PlantedKey("clean-hmac", key_spec="HMAC_256", key_usage="GENERATE_VERIFY_MAC"),
    PlantedKey("clean-critical", tags=CRITICAL),
    PlantedKey("clean-imported", origin="EXTERNAL", metadata=_imported(True), note="BYOK"),
    PlantedKey("clean-shared", policy=_policy(_allow(
        {"AWS": f"arn:aws:iam::{SHARED_ACCOUNT}:root"}, "Shared")),
        grantee=f"arn:aws:iam::{SHARED_ACCOUNT}:role/app"),
    PlantedKey("clean-conditional", policy=_policy(_allow(
        "*", "ViaAccount", StringEquals={"kms:CallerAccount": ACCOUNT}))),
    PlantedKey("clean-us", region="us-east-1"),
    PlantedKey("disabled-low", tags={**OWNER, "risk-tier": "low"}, action="disable",
               note="Disabled"),
    PlantedKey("weak-rotation-off", {"kms-rotation-enabled": FAIL}, rotation_days=None),
    PlantedKey("weak-rotation-period", {"kms-rotation-period": FAIL}, rotation_days=730),
    PlantedKey("weak-stale-rotation", {"key-age": FAIL}, age_days=900, rotated_days_ago=500),
    PlantedKey("weak-old-rsa", {"key-age": FAIL}, key_spec="RSA_3072",
               key_usage="SIGN_VERIFY", age_days=800),
    PlantedKey("weak-old-hmac", {"key-age": FAIL}, key_spec="HMAC_256",
               key_usage="GENERATE_VERIFY_MAC", age_days=400),
    PlantedKey("weak-pending-deletion", {"kms-not-pending-deletion": FAIL}, action="delete"),
    PlantedKey("pending-deletion-low", {"kms-not-pending-deletion": FAIL}, action="delete",
               tags={**OWNER, "risk-tier": "low"}),
    PlantedKey("weak-disabled", {"kms-key-enabled": FAIL}, action="disable"),
    PlantedKey("weak-pending-import", {"kms-key-material-imported": FAIL}, origin="EXTERNAL",
               key_state="PendingImport", rotation_days=None),
    PlantedKey("weak-hyok-unavailable", {"kms-key-store-connected": FAIL},
               origin="EXTERNAL_KEY_STORE", key_state="Unavailable", metadata=HYOK,
               rotation_days=None),
    PlantedKey("weak-imported-no-expiry", {"kms-imported-material-expiry": FAIL},
               origin="EXTERNAL", metadata=_imported(False)),
    PlantedKey("weak-imported-long-expiry", {"kms-imported-material-expiry": FAIL},
               origin="EXTERNAL", metadata=_imported(True, days=1000)),
    PlantedKey("weak-imported-critical", {"kms-key-origin": FAIL}, tags=CRITICAL,
               origin="EXTERNAL", metadata=_imported(True)),
    PlantedKey("weak-hyok-critical", {"kms-key-origin": FAIL}, tags=CRITICAL,
               origin="EXTERNAL_KEY_STORE", metadata=HYOK_UP, rotation_days=None),
    PlantedKey("weak-rsa2048-critical", {"key-strength": FAIL}, key_spec="RSA_2048",
               key_usage="SIGN_VERIFY", tags=CRITICAL),
    PlantedKey("weak-secp256k1", {"kms-key-spec": FAIL}, key_spec="ECC_SECG_P256K1",
               key_usage="SIGN_VERIFY"),
    PlantedKey("weak-rsa-encrypt", {"kms-key-usage": FAIL}, key_spec="RSA_3072",
               key_usage="ENCRYPT_DECRYPT"),
    PlantedKey("weak-public-policy", {"kms-policy-not-public": FAIL},
               policy=_policy(_allow({"AWS": "*"}, "Everyone"))),
    PlantedKey("weak-foreign-principal", {"kms-policy-principals": FAIL}, policy=_policy(
        _allow({"AWS": f"arn:aws:iam::{FOREIGN_ACCOUNT}:root"}, "Vendor"))),
    PlantedKey("weak-foreign-grantee", {"kms-grantees": FAIL},
               grantee=f"arn:aws:iam::{FOREIGN_ACCOUNT}:role/etl"),
    # A break-glass role's IAM policy administers and uses it (kms-prod reads IAM holders).
    PlantedKey("weak-iam-admin", {"kms-separation-of-duties": FAIL}),
    PlantedKey("team-owned", tags={"owner": "checkout-team"}),
    PlantedKey("ssrm-override", tags={**OWNER, "cryptoaudit:ssrm-owner": "CSP-MP"}),
    PlantedKey("weak-no-owner", {"has-owner": FAIL}, tags={"team": "payments"}),
    PlantedKey("weak-bogus-ssrm", {"classified": FAIL},
               tags={**OWNER, "cryptoaudit:ssrm-owner": "bogus"}),
    PlantedKey("weak-bogus-tier", {"classified": FAIL},
               tags={**OWNER, "cryptoaudit:risk-tier": "extreme"}),
    PlantedKey("weak-aws-managed", {"kms-customer-managed": FAIL, "has-owner": FAIL},
               key_manager="AWS", tags={}),
    PlantedKey("denied", {"discovery-complete": "error"}, policy=_policy(
        {"Sid": "NoAudit", "Effect": "Deny", "Principal": "*", "Action": "kms:DescribeKey",
         "Resource": "*"})),
    PlantedKey("partner-aes", account=PARTNER_ACCOUNT),
    PlantedKey("partner-rsa", account=PARTNER_ACCOUNT, region="us-east-1",
               key_spec="RSA_2048", key_usage="SIGN_VERIFY", tags={}),  # owned by its system
)

_SERVICES = ("orders", "billing", "search", "profiles", "reports", "inventory", "mail",
             "media", "auth", "events", "audit", "backups")
_SPECS = (("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
          ("RSA_3072", "SIGN_VERIFY"), ("ECC_NIST_P256", "SIGN_VERIFY"),
          ("HMAC_256", "GENERATE_VERIFY_MAC"))


def _background_key(index: int) -> PlantedKey:
    """One key of a company's everyday estate; one in seven carries a realistic weakness."""
    service = _SERVICES[index % len(_SERVICES)]
    key_spec, usage = _SPECS[index % len(_SPECS)]
    tier = ("low", "medium", "high")[index % 3]
    region = ("eu-west-1", "us-east-1")[index % 2]
    label = f"{service}-{key_spec.split('_')[0].lower()}-{index:03d}"
    tags = {"owner": f"{service}-team", "cryptoaudit:risk-tier": tier, "service": service}
    if index % 7 == 3 and key_spec == "SYMMETRIC_DEFAULT":
        return PlantedKey(label, key_spec=key_spec, key_usage=usage, tags=tags, region=region,
                          rotation_days=None)  # rotation switched off
    age = 900 if index % 7 == 5 else 20 + index % 200  # a forgotten old key
    return PlantedKey(label, key_spec=key_spec, key_usage=usage, tags=tags, region=region,
                      age_days=age)


def lab_estate(background_keys: int = 280) -> tuple[PlantedKey, ...]:
    """The planted estate plus a few hundred everyday keys in two regions, for the lab."""
    return ESTATE + tuple(_background_key(i) for i in range(background_keys))


# -- a multi-tenant system (CEK-09 guidelines 3 and 9: tenant key isolation) ---------------

TENANT_REGION = "eu-central-1"
TENANT_ACCOUNTS = {"acme": "333333333333", "globex": "444444444444"}
TENANT_CONTEXT = {"StringEquals": {"kms:EncryptionContext:tenant": "${aws:PrincipalTag/tenant}"}}


def _tenant_role(tenant: str) -> str:
    return f"arn:aws:iam::{TENANT_ACCOUNTS[tenant]}:role/{tenant}-app"


def _tenant_use(tenant: str, **condition: Any) -> dict[str, Any]:
    return _allow({"AWS": _tenant_role(tenant)}, f"Use{tenant.title()}", **condition)


def _tenant_key(label: str, tenant: str | None, expect: Mapping[str, str] | None = None,
                **fields: Any) -> PlantedKey:
    tags = {**OWNER, "tenant": tenant} if tenant else dict(OWNER)
    return PlantedKey(label, dict(expect or {}), tags=tags, region=TENANT_REGION, **fields)


#: One clean key per tenant, one planted cross-tenant grant, a shared key used under a
#: per-tenant encryption context, one shared key without it, and a key with no tenant.
TENANT_ESTATE: tuple[PlantedKey, ...] = (
    _tenant_key("tenant-acme", "acme", policy=_policy(_tenant_use("acme"))),
    _tenant_key("tenant-globex", "globex", policy=_policy(_tenant_use("globex"))),
    _tenant_key("tenant-acme-cross-grant", "acme", {"tenant-key-isolation": FAIL},
                policy=_policy(_tenant_use("acme")), grantee=_tenant_role("globex")),
    _tenant_key("tenant-shared-context", "shared", policy=_policy(
        _tenant_use("acme", **TENANT_CONTEXT), _tenant_use("globex", **TENANT_CONTEXT))),
    _tenant_key("tenant-shared-open", "shared", {"tenant-shared-key-context": FAIL},
                policy=_policy(_tenant_use("acme"), _tenant_use("globex", **TENANT_CONTEXT))),
    _tenant_key("tenant-unassigned", None, {"tenant-key-assigned": FAIL}),
)


def tenant_config(url: str) -> dict[str, Any]:
    """The multi-tenant system and its ``[tenancy]``: tenants by tag, callers by account."""
    common = {"provider": "aws-kms", "ssrm_owner": "CSC", "regions": [TENANT_REGION],
              "endpoint_url": url, "max_attempts": 2, "timeout": 5.0}
    system = {"name": "kms-tenants", "risk_tier": "high", **common, "role_arns": [AUDIT_ROLE],
              "allowed_principal_accounts": sorted(TENANT_ACCOUNTS.values())}
    tenants = [{"name": name, "accounts": [account]}
               for name, account in sorted(TENANT_ACCOUNTS.items())]
    return {"systems": [system], "tenancy": {"tag": "tenant", "systems": ["kms-tenants"],
                                              "tenants": tenants}}


def seed_tenants(url: str) -> dict[str, str]:
    """Create the multi-tenant keys; returns label -> key ARN."""
    aws = session(url)
    return {key.label: create_key(aws, url, key) for key in TENANT_ESTATE}


#: Outcomes of the system-level checks (all others pass).
SYSTEM_EXPECT: Mapping[str, Mapping[str, str]] = {
    "kms-prod": {"kms-cloudtrail": FAIL},
    # The partner's audit role may also operate its keys through IAM, and an application
    # role of the partner may decrypt with every key of the account.
    "kms-partner": {"auditor-independent": FAIL, "kms-iam-decrypt-all-keys": FAIL},
}


#: The lab's policy: RSA keys may only sign (so weak-rsa-encrypt is a CEK-11 finding).
LAB_POLICY: Mapping[str, Any] = {"aws_kms_allowed_key_usages": {"rsa": ["SIGN_VERIFY"]}}


def systems(url: str) -> list[dict[str, Any]]:
    """The configured systems that audit the estate: one per account."""
    common = {"provider": "aws-kms", "ssrm_owner": "CSC", "regions": ["eu-west-1", "us-east-1"],
              "endpoint_url": url, "max_attempts": 2, "timeout": 5.0}
    return [
        {"name": "kms-prod", "risk_tier": "high", **common, "include_aws_managed": True,
         "allowed_principal_accounts": [SHARED_ACCOUNT], "role_arns": [AUDIT_ROLE],
         "iam_holders": True},
        {"name": "kms-partner", "risk_tier": "medium", **common,
         "accountable_owner": "partner-integrations", "role_arns": [PARTNER_ROLE]},
    ]


def config_toml(url: str) -> str:
    """A cryptoaudit.toml auditing the estate."""
    import tomli_w

    from . import reviewed_policy

    policy = {**LAB_POLICY, **reviewed_policy()}
    return tomli_w.dumps({"systems": systems(url), "policy": policy})


def session(url: str, role_arn: str | None = None) -> Any:
    """A boto3 session with the lab's dummy credentials, or those of an assumed role."""
    import boto3

    base = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                         region_name="us-east-1")
    if role_arn is None:
        return base
    sts = base.client("sts", endpoint_url=url)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="lab")["Credentials"]
    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"])


def seed(url: str, estate: tuple[PlantedKey, ...] = ESTATE) -> dict[str, str]:
    """Create the estate and its trails on the lab server; returns label -> key ARN."""
    sessions = {ACCOUNT: session(url), PARTNER_ACCOUNT: session(url, PARTNER_ROLE)}
    arns = {key.label: create_key(sessions[key.account], url, key) for key in estate}
    seed_trails(sessions, url)
    for account, aws in sessions.items():
        create_audit_role(aws, url, KEY_OPERATIONS if account == PARTNER_ACCOUNT else None)
    create_decrypt_all_role(sessions[PARTNER_ACCOUNT], url)
    if "weak-iam-admin" in arns:
        create_break_glass_role(sessions[ACCOUNT], url, arns["weak-iam-admin"])
    return arns


#: What the audit reads (docs/aws-kms.md, "Permissions").
AUDIT_READS = (
    "kms:ListKeys", "kms:ListAliases", "kms:DescribeKey", "kms:ListResourceTags",
    "kms:GetKeyRotationStatus", "kms:ListKeyRotations", "kms:GetKeyPolicy", "kms:ListGrants",
    "kms:DescribeCustomKeyStores", "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus",
    "cloudtrail:GetEventSelectors", "sts:GetCallerIdentity", "ec2:DescribeRegions",
    "iam:GetRole", "iam:GetUser", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:List*Policies",
    "iam:Get*Policy", "iam:ListGroupsForUser")
#: An audit role that was also given the key operations of its team: not independent.
KEY_OPERATIONS = {"Version": "2012-10-17", "Statement": [{
    "Sid": "KeyOperations", "Effect": "Allow", "Resource": "arn:aws:kms:*:*:key/*",
    "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:Enable*", "kms:Disable*",
               "kms:TagResource", "kms:UntagResource"]}]}


def _new_role(aws: Any, url: str, name: str, trusted: Mapping[str, str]) -> Any:
    """The IAM client, once the role ``name`` assumable by ``trusted`` is made; None when
    it exists already (a seeded server seeded again is left as it is)."""
    iam = aws.client("iam", region_name="us-east-1", endpoint_url=url)
    trust = _document({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": trusted})
    try:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    except iam.exceptions.EntityAlreadyExistsException:
        return None
    return iam


def _attach(iam: Any, role: str, policy: str, *statements: Mapping[str, Any]) -> None:
    """A customer managed policy of ``statements``, attached to ``role``."""
    arn = iam.create_policy(PolicyName=policy, PolicyDocument=_document(*statements))
    iam.attach_role_policy(RoleName=role, PolicyArn=arn["Policy"]["Arn"])


def create_break_glass_role(aws: Any, url: str, key_arn: str) -> None:
    """A role whose inline policy may do anything with one key: it both administers and
    uses it, through IAM (the key's default policy delegates to the account)."""
    iam = _new_role(aws, url, "break-glass", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    if iam is not None:
        iam.put_role_policy(RoleName="break-glass", PolicyName="KeyRecovery",
                            PolicyDocument=_document({"Sid": "BreakGlass", "Effect": "Allow",
                                                      "Action": "kms:*", "Resource": key_arn}))


def create_decrypt_all_role(aws: Any, url: str) -> None:
    """An application role whose attached policy decrypts with every key ("Resource": "*"),
    the everyday shortcut that AWS Security Hub KMS.1 flags."""
    iam = _new_role(aws, url, "partner-app", {"Service": "ec2.amazonaws.com"})
    if iam is not None:
        _attach(iam, "partner-app", "PartnerAppKms", {
            "Sid": "DecryptAnything", "Effect": "Allow", "Resource": "*",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"]})


def create_audit_role(aws: Any, url: str, extra: Mapping[str, Any] | None = None) -> None:
    """The account's ``cryptoaudit`` role, with the read-only audit policy attached and,
    when given, an ``extra`` inline policy; already there: left as it is."""
    sts = aws.client("sts", region_name="us-east-1", endpoint_url=url)
    account = sts.get_caller_identity()["Account"]
    iam = _new_role(aws, url, "cryptoaudit", {"AWS": f"arn:aws:iam::{account}:root"})
    if iam is None:
        return
    _attach(iam, "cryptoaudit", "CryptoAuditReadOnly", {
        "Sid": "AuditReads", "Effect": "Allow", "Action": list(AUDIT_READS), "Resource": "*"})
    if extra is not None:
        iam.put_role_policy(RoleName="cryptoaudit", PolicyName="KeyOperations",
                            PolicyDocument=json.dumps(extra))


def create_key(aws: Any, url: str, key: PlantedKey) -> str:
    """Create one planted key through the API, then plant what the API cannot set."""
    kms = aws.client("kms", region_name=key.region, endpoint_url=url)
    arguments: dict[str, Any] = {"KeySpec": key.key_spec, "KeyUsage": key.key_usage}
    if key.tags:
        arguments["Tags"] = [{"TagKey": k, "TagValue": v} for k, v in key.tags.items()]
    if key.policy:
        arguments["Policy"] = key.policy
    created = kms.create_key(**arguments)["KeyMetadata"]
    arn: str = created["Arn"]
    key_id = created["KeyId"]  # moto's DisableKey and ScheduleKeyDeletion want the bare id
    if key.rotation_days and key.key_spec == "SYMMETRIC_DEFAULT" and key.origin is None:
        kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=key.rotation_days)
    if key.alias:
        kms.create_alias(AliasName=key.alias, TargetKeyId=key_id)
    if key.grantee:
        kms.create_grant(KeyId=key_id, GranteePrincipal=key.grantee, Operations=["Decrypt"])
    if key.action == "disable":
        kms.disable_key(KeyId=key_id)
    elif key.action == "delete":
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    now = datetime.now(UTC)
    rotated = (now - timedelta(days=key.rotated_days_ago),) if key.rotated_days_ago else ()
    store_id = str(key.metadata.get("CustomKeyStoreId", ""))
    if store_id in LAB_STORES:
        plant_store(arn.split(":")[4], key.region, store_id, LAB_STORES[store_id])
    plant(arn, created=now - timedelta(days=key.age_days), rotations=rotated,
          key_state=key.key_state, origin=key.origin, key_manager=key.key_manager,
          metadata=key.metadata)
    return arn


def seed_trails(sessions: Mapping[str, Any], url: str) -> None:
    """kms-prod: eu-west-1 records all management events, us-east-1 only writes (a
    finding: KMS use is a read event); the partner account has one multi-region trail."""
    create_trail(sessions[ACCOUNT], url, "eu-west-1", "audit-eu")
    create_trail(sessions[ACCOUNT], url, "us-east-1", "audit-us-writes", "WriteOnly")
    create_trail(sessions[PARTNER_ACCOUNT], url, "eu-west-1", "partner-audit",
                 multi_region=True)


def create_trail(aws: Any, url: str, region: str, name: str, read_write: str = "All",
                 multi_region: bool = False) -> None:
    s3 = aws.client("s3", region_name=region, endpoint_url=url)
    bucket = f"{name}-logs"
    location = {} if region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **location)
    trails = aws.client("cloudtrail", region_name=region, endpoint_url=url)
    trails.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi_region)
    trails.put_event_selectors(TrailName=name, EventSelectors=[
        {"ReadWriteType": read_write, "IncludeManagementEvents": True}])
    trails.start_logging(Name=name)


def serve(port: int, ready_file: Path) -> None:
    """Serve the seeded estate on ``port`` until terminated; ``ready_file`` says when."""
    server = MotoServer(fast_keys=True, port=port).start()
    arns = {**seed(server.url, lab_estate()), **seed_tenants(server.url)}
    partial = ready_file.with_suffix(".tmp")
    partial.write_text(json.dumps({"url": server.url, "keys": arns}))
    partial.replace(ready_file)  # whole or absent: the lab never reads half a file
    threading.Event().wait()


def start_kms_estate(services_dir: Path, record_pid: Callable[[int], None]
                     ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Start the seeded moto server in its own process; return its config systems (the
    multi-tenant one last; its ``[tenancy]`` is :func:`tenant_config`) and the environment
    they need (dummy credentials). Its policy is :data:`LAB_POLICY`."""
    folder = services_dir / "kms"
    folder.mkdir(parents=True, exist_ok=True)
    ready, log = folder / "estate.json", folder / "moto.log"
    process = start_process([sys.executable, "-m", __name__, str(free_port()), str(ready)],
                            log)
    record_pid(process.pid)

    def seeded() -> bool:
        ensure_running(process, "moto KMS lab server", log)
        return ready.exists()

    wait_until(seeded, "moto KMS lab server", timeout=120)
    url = json.loads(ready.read_text())["url"]
    env = {name: value for name, value in environment() if value is not None}
    return [*systems(url), *tenant_config(url)["systems"]], env


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
