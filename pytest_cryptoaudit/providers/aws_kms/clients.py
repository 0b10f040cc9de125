"""boto3 sessions per audited account and one client per thread, region and service.

boto3 is imported here, inside functions, so that importing the provider costs nothing
when no ``aws-kms`` system is configured. Assumed-role credentials refresh themselves, so a
long discovery of a large estate outlives the role session.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from ...budget import BUDGETS, SystemWatch
from ...transport import Limits, RequestLimitExceeded, limit_botocore_client
from .options import AwsKmsOptions

#: Published AWS KMS request quotas (requests per second, per account and region) of the
#: calls the audit makes per key. ListKeys, ListAliases and ListResourceTags are not
#: budgeted: the first two are called a few times per region, the third is left to retries.
KMS_QUOTAS = {"DescribeKey": 2000.0, "GetKeyPolicy": 1000.0, "GetKeyRotationStatus": 1000.0,
              "ListGrants": 100.0, "ListKeyRotations": 100.0}
#: Pages followed at most in one listing: 100,000 keys take 1,000 pages of 100.
MAX_PAGES = 10_000


#: What reading an answer that is not the shape AWS documents raises.
MALFORMED: tuple[type[Exception], ...] = (ValueError, KeyError, TypeError)


class PaginationError(Exception):
    """A listing that would never end: a repeated marker, or more pages than MAX_PAGES."""


@dataclasses.dataclass(frozen=True)
class Account:
    """One audited account: its id, the identity the audit runs as, and a session."""

    account_id: str
    caller_arn: str
    session: Any  # boto3.Session


def api_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean "AWS did not answer" (denied, throttled, unreachable...)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError, PaginationError, RequestLimitExceeded)


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(exc).__name__))


def describe(exc: Exception) -> str:
    """A one-line reason; ClientError already names the operation, code and retries."""
    from botocore.exceptions import ClientError

    return str(exc) if isinstance(exc, ClientError) else f"{type(exc).__name__}: {exc}"


def paginate(client: Any, operation: str, result_key: str, **arguments: Any) -> list[Any]:
    """Every item of a paginated KMS list: follows NextMarker while Truncated.

    botocore's paginator only notices a marker repeated twice in a row, so a server
    answering A, B, A, ... would be followed forever; any marker seen before ends the
    listing with an error, and so does a listing longer than MAX_PAGES.
    """
    call, items, seen = getattr(client, operation), [], set[str]()
    marker: str | None = None
    for _ in range(MAX_PAGES):
        page = call(**arguments, **({"Marker": marker} if marker else {}))
        items.extend(page.get(result_key, []))
        if not page.get("Truncated"):
            return items
        marker = page.get("NextMarker")
        if not marker or marker in seen:
            raise PaginationError(f"{_api_name(operation)}: the server repeated a pagination "
                                  f"marker after {len(seen) + 1} pages; listing abandoned")
        seen.add(marker)
    raise PaginationError(f"{_api_name(operation)}: more than {MAX_PAGES} pages; "
                          "listing abandoned")


def _api_name(operation: str) -> str:
    return "".join(word.title() for word in operation.split("_"))


class Clients:
    """Makes sessions per account and caches clients per (thread, service, account, region)."""

    def __init__(self, options: AwsKmsOptions, watch: SystemWatch | None = None) -> None:
        from botocore.config import Config

        self.options = options
        self.limits = Limits.of(options, watch or SystemWatch("aws-kms"))
        self.config = Config(
            retries={"mode": "adaptive", "total_max_attempts": options.max_attempts},
            connect_timeout=options.timeout,
            read_timeout=options.timeout,
            max_pool_connections=options.max_workers,
            # The arguments are the provider's own, never a user's: botocore's check of
            # each call's parameters against the service model is pure overhead here.
            parameter_validation=False,
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
                cache[key] = self._limited(account.session.client(
                    service, region_name=region, endpoint_url=self.endpoint(service),
                    config=self.config), f"{account.account_id}/{region}")
        return cache[key]

    def _limited(self, client: Any, scope: str) -> Any:
        """Bound the client's answers and, for KMS, hold its calls to the request budgets."""
        limit_botocore_client(client, self.limits)
        if self.options.request_budgets and client.meta.service_model.service_name == "kms":
            fraction = self.options.request_budget_fraction

            def budget(model: Any, **kwargs: Any) -> None:
                limiter = BUDGETS.limiter(scope, model.name, KMS_QUOTAS, fraction)
                if limiter is not None:
                    limiter.acquire()

            client.meta.events.register("before-call", budget)
        return client

    def base_session(self) -> Any:
        import boto3

        return boto3.Session(profile_name=self.options.profile)

    def identify(self, session: Any) -> Account:
        """Who the session is (STS GetCallerIdentity): the account and the auditor's ARN."""
        sts = self._limited(session.client("sts", region_name=self.options.home_region,
                                           endpoint_url=self.endpoint("sts"),
                                           config=self.config), "sts")
        identity = sts.get_caller_identity()
        return Account(identity["Account"], identity["Arn"], session)

    def assume(self, base: Any, role_arn: str) -> Any:
        """A session whose credentials come from ``role_arn`` and refresh before expiry."""
        import boto3
        import botocore.session
        from botocore.credentials import RefreshableCredentials

        sts = self._limited(base.client("sts", region_name=self.options.home_region,
                                        endpoint_url=self.endpoint("sts"),
                                        config=self.config), "sts")
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
