"""boto3 sessions per audited account and one client per thread, region and service.

boto3 is imported here, inside functions, so that importing the provider costs nothing
when no ``aws-kms`` system is configured. Assumed-role credentials refresh themselves, so a
long discovery of a large estate outlives the role session.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from .options import AwsKmsOptions


@dataclasses.dataclass(frozen=True)
class Account:
    """One audited account: its id, the identity the audit runs as, and a session."""

    account_id: str
    caller_arn: str
    session: Any  # boto3.Session


def api_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean "AWS did not answer" (denied, throttled, unreachable...)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(exc).__name__))


def describe(exc: Exception) -> str:
    """A one-line reason; ClientError already names the operation, code and retries."""
    from botocore.exceptions import ClientError

    return str(exc) if isinstance(exc, ClientError) else f"{type(exc).__name__}: {exc}"


def paginate(client: Any, operation: str, result_key: str, **arguments: Any) -> list[Any]:
    """Every item of a paginated KMS list (follows NextMarker while Truncated)."""
    pages = client.get_paginator(operation).paginate(**arguments)
    return [item for page in pages for item in page[result_key]]


class Clients:
    """Makes sessions per account and caches clients per (thread, service, account, region)."""

    def __init__(self, options: AwsKmsOptions) -> None:
        from botocore.config import Config

        self.options = options
        self.config = Config(
            retries={"mode": "adaptive", "total_max_attempts": options.max_attempts},
            connect_timeout=options.timeout,
            read_timeout=options.timeout,
            max_pool_connections=options.max_workers,
        )
        self._local = threading.local()
        # Session.client() is not thread-safe; making a client is rare, so one lock is enough.
        self._lock = threading.Lock()

    def endpoint(self, service: str) -> str | None:
        return self.options.service_endpoints.get(service, self.options.endpoint_url)

    def client(self, service: str, account: Account, region: str) -> Any:
        cache: dict[tuple[str, str, str], Any] = self._local.__dict__.setdefault("clients", {})
        key = (service, account.account_id, region)
        if key not in cache:
            with self._lock:
                cache[key] = account.session.client(
                    service, region_name=region, endpoint_url=self.endpoint(service),
                    config=self.config)
        return cache[key]

    def base_session(self) -> Any:
        import boto3

        return boto3.Session(profile_name=self.options.profile)

    def identify(self, session: Any) -> Account:
        """Who the session is (STS GetCallerIdentity): the account and the auditor's ARN."""
        sts = session.client("sts", region_name=self.options.home_region,
                             endpoint_url=self.endpoint("sts"), config=self.config)
        identity = sts.get_caller_identity()
        return Account(identity["Account"], identity["Arn"], session)

    def assume(self, base: Any, role_arn: str) -> Any:
        """A session whose credentials come from ``role_arn`` and refresh before expiry."""
        import boto3
        import botocore.session
        from botocore.credentials import RefreshableCredentials

        sts = base.client("sts", region_name=self.options.home_region,
                          endpoint_url=self.endpoint("sts"), config=self.config)
        arguments = {"RoleArn": role_arn, "RoleSessionName": self.options.role_session_name}
        if self.options.external_id:
            arguments["ExternalId"] = self.options.external_id

        def refresh() -> dict[str, str]:
            credentials = sts.assume_role(**arguments)["Credentials"]
            return {"access_key": credentials["AccessKeyId"],
                    "secret_key": credentials["SecretAccessKey"],
                    "token": credentials["SessionToken"],
                    "expiry_time": credentials["Expiration"].isoformat()}

        core = botocore.session.Session()
        # Assume now, so a refused role fails here with its ARN, not on the first KMS call.
        # botocore has no public setter for refreshable credentials on a session.
        core._credentials = RefreshableCredentials.create_from_metadata(
            refresh(), refresh_using=refresh, method="sts-assume-role")
        return boto3.Session(botocore_session=core)

    def enabled_regions(self, account: Account) -> list[str]:
        """Regions enabled for the account (EC2 DescribeRegions without opted-out ones)."""
        ec2 = self.client("ec2", account, self.options.home_region)
        regions = ec2.describe_regions(AllRegions=False)["Regions"]
        return sorted(r["RegionName"] for r in regions)
