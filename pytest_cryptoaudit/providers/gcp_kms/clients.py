"""The Cloud KMS client of one system: credentials, endpoint, request budget and back-off.

The official SDK (``google-cloud-kms``) is imported here, inside functions, so importing the
provider costs nothing when no ``gcp-kms`` system is configured. The client speaks REST; its
interceptor (the SDK's documented hook before each call) holds every call to the project's
request budget and counts it, and the retry object backs off on 429 RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

import collections
import os
import re
import threading
from typing import Any

from ...budget import BUDGETS, SystemWatch
from ...transport import Limits, RequestLimitExceeded, limited_adapter
from .options import GcpKmsOptions

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
PROJECT = re.compile(r"projects/([^/]+)")
#: The SDK starts an error's message with the request line, which says nothing new.
REQUEST_LINE = re.compile(r"^(?:GET|POST|PUT|PATCH|DELETE) \S+: ")
#: The calls the audit makes, by the interceptor hook that precedes each.
CALLS = ("list_locations", "list_key_rings", "list_crypto_keys", "list_crypto_key_versions",
         "get_iam_policy")
#: The calls of Cloud EKM's EkmService the audit makes (external key stores).
EKM_CALLS = ("get_ekm_connection", "verify_connectivity")
#: Every call shares the project's read quota, so one budget covers them all.
READ = "read"


class CredentialsError(Exception):
    """The configured credentials cannot be made (a variable unset, a file unreadable)."""


def api_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean "Cloud KMS did not answer" (denied, throttled, unreachable)."""
    import requests
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError

    return (GoogleAPIError, GoogleAuthError, requests.RequestException, RequestLimitExceeded)


def describe(exc: Exception) -> str:
    """A one-line reason: the HTTP code, the API's status and message (not the URL)."""
    from google.api_core.exceptions import GoogleAPICallError, RetryError

    if isinstance(exc, RetryError) and isinstance(exc.cause, Exception):
        return f"still refused after backing off ({exc.message}): {describe(exc.cause)}"
    if isinstance(exc, GoogleAPICallError):
        message = REQUEST_LINE.sub("", exc.message or "")
        return f"{exc.code} {_status(exc)}: {message}".replace("  ", " ")
    return f"{type(exc).__name__}: {exc}"


def status_of(exc: Exception) -> str:
    """The ``google.rpc.Status`` name of an API error, or '' for any other failure."""
    from google.api_core.exceptions import GoogleAPICallError

    return _status(exc) if isinstance(exc, GoogleAPICallError) else ""


def _status(exc: Any) -> str:
    """The ``google.rpc.Status`` name of an error answer (RESOURCE_EXHAUSTED...)."""
    try:
        return str(exc.response.json()["error"]["status"])
    except (AttributeError, KeyError, TypeError, ValueError):
        return getattr(exc.grpc_status_code, "name", "") or ""


def credentials(options: GcpKmsOptions) -> Any:
    """The credentials the options name; impersonation wraps them as its source."""
    import google.auth
    from google.auth import impersonated_credentials
    from google.auth.credentials import AnonymousCredentials
    from google.oauth2 import service_account

    if options.credentials == "anonymous":
        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    if options.credentials == "service-account-file":
        variable = options.credentials_file_env or ""
        path = os.environ.get(variable)
        if not path:
            raise CredentialsError(f"environment variable {variable} (credentials_file_env) "
                                   "is not set")
        try:
            source = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                path, scopes=SCOPES)
        except (OSError, ValueError) as exc:
            raise CredentialsError(f"service-account file named by {variable}: "
                                   f"{type(exc).__name__}") from None
    else:
        source, _ = google.auth.default(scopes=SCOPES)
    if options.impersonate_service_account:
        return impersonated_credentials.Credentials(  # type: ignore[no-untyped-call]
            source_credentials=source, target_principal=options.impersonate_service_account,
            target_scopes=SCOPES)
    return source


class CallLog:
    """Calls made per method and back-offs taken, across the system's threads."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.backoffs = 0
        self._lock = threading.Lock()

    def call(self, method: str) -> None:
        with self._lock:
            self.calls[method] += 1

    def backoff(self, exc: Exception) -> None:
        with self._lock:
            self.backoffs += 1


def _interceptor(options: GcpKmsOptions, log: CallLog, base: type | None = None,
                 calls: tuple[str, ...] = CALLS) -> Any:
    """An SDK REST interceptor whose hook before each audited call takes a token from the
    project's request budget and counts the call."""
    if base is None:
        from google.cloud.kms_v1.services.key_management_service.transports.rest import (
            KeyManagementServiceRestInterceptor,
        )
        base = KeyManagementServiceRestInterceptor

    def before(method: str) -> Any:
        def hook(self: Any, request: Any, metadata: Any) -> tuple[Any, Any]:
            log.call(method)
            if options.request_budget:
                target = getattr(request, "parent", "") or getattr(request, "name", "") \
                    or getattr(request, "resource", "")
                match = PROJECT.search(target)
                scope = f"gcp:{match[1] if match else '?'}"
                limiter = BUDGETS.limiter(scope, READ, {READ: options.qps}, 1.0)
                if limiter is not None:
                    limiter.acquire()
            return request, metadata
        return hook

    hooks = {f"pre_{call}": before(call) for call in calls}
    return type("BudgetedInterceptor", (base,), hooks)()


def make_client(options: GcpKmsOptions, watch: SystemWatch, log: CallLog) -> Any:
    """A ``KeyManagementServiceClient`` over REST with the system's budget and bounds."""
    from google.cloud import kms_v1
    from google.cloud.kms_v1.services.key_management_service.transports.rest import (
        KeyManagementServiceRestTransport,
    )

    transport = KeyManagementServiceRestTransport(
        host=options.api_endpoint or "cloudkms.googleapis.com",
        credentials=credentials(options), interceptor=_interceptor(options, log))
    # The transport makes its own requests session and takes none; bound its answers and
    # count completed calls as progress by mounting the shared limited adapter on it.
    adapter = limited_adapter(Limits.of(options, watch), pool_maxsize=options.max_workers)
    for scheme in ("https://", "http://"):
        transport._session.mount(scheme, adapter)
    return kms_v1.KeyManagementServiceClient(transport=transport)


def make_ekm_client(options: GcpKmsOptions, watch: SystemWatch, log: CallLog) -> Any:
    """An ``EkmServiceClient`` over REST (EKM connections), bounded and budgeted as the
    key client is."""
    from google.cloud import kms_v1
    from google.cloud.kms_v1.services.ekm_service.transports.rest import (
        EkmServiceRestInterceptor,
        EkmServiceRestTransport,
    )

    transport = EkmServiceRestTransport(
        host=options.api_endpoint or "cloudkms.googleapis.com",
        credentials=credentials(options),
        interceptor=_interceptor(options, log, EkmServiceRestInterceptor, EKM_CALLS))
    adapter = limited_adapter(Limits.of(options, watch), pool_maxsize=options.max_workers)
    for scheme in ("https://", "http://"):
        transport._session.mount(scheme, adapter)
    return kms_v1.EkmServiceClient(transport=transport)


def retry(options: GcpKmsOptions, log: CallLog) -> Any:
    """Exponential back-off on 429 (RESOURCE_EXHAUSTED) and 503, up to the deadline."""
    from google.api_core import exceptions
    from google.api_core import retry as retries

    return retries.Retry(
        predicate=retries.if_exception_type(exceptions.TooManyRequests,
                                            exceptions.ServiceUnavailable),
        initial=options.backoff_initial, maximum=max(options.backoff_initial, 32.0),
        multiplier=2.0, timeout=options.backoff_deadline, on_error=log.backoff)
