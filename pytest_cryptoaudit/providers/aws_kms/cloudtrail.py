"""CloudTrail trails per audited region, and whether they record KMS management events.

KMS cryptographic operations (Encrypt, Decrypt, GenerateDataKey...) are *read* management
events; key changes are *write* events. A region records KMS use when its logging trails
together take both, without excluding the ``kms.amazonaws.com`` event source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import Executor, Future
from typing import Any

from .clients import Account, Clients, api_errors, describe

KMS_SOURCE = "kms.amazonaws.com"
READ_WRITE = {"All": {"read", "write"}, "ReadOnly": {"read"}, "WriteOnly": {"write"}}


def trail_summaries(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The trails that DescribeTrails (with shadow trails) shows in one region."""
    return [
        {"arn": trail["TrailARN"], "name": trail.get("Name"),
         "home_region": trail.get("HomeRegion"),
         "multi_region": bool(trail.get("IsMultiRegionTrail", False)),
         "organization": bool(trail.get("IsOrganizationTrail", False))}
        for trail in response.get("trailList", ())
    ]


def kms_event_coverage(selectors: Mapping[str, Any]) -> list[str]:
    """Which KMS management events ("read", "write") a trail's event selectors record."""
    covered: set[str] = set()
    for selector in selectors.get("EventSelectors") or ():
        excluded = KMS_SOURCE in (selector.get("ExcludeManagementEventSources") or ())
        if selector.get("IncludeManagementEvents", True) and not excluded:
            covered |= READ_WRITE.get(selector.get("ReadWriteType", "All"), set())
    for selector in selectors.get("AdvancedEventSelectors") or ():
        covered |= _advanced_coverage(selector.get("FieldSelectors") or ())
    return sorted(covered)


def _advanced_coverage(fields: Iterable[Mapping[str, Any]]) -> set[str]:
    by_field = {field.get("Field"): field for field in fields}
    if "Management" not in by_field.get("eventCategory", {}).get("Equals", ()):
        return set()
    source = by_field.get("eventSource", {})
    if KMS_SOURCE in source.get("NotEquals", ()) or (
            source.get("Equals") and KMS_SOURCE not in source["Equals"]):
        return set()
    read_only = by_field.get("readOnly", {}).get("Equals")
    if not read_only:
        return {"read", "write"}
    return {"read" if value == "true" else "write" for value in read_only}


def trail_details(cloudtrail: Any, arn: str) -> dict[str, Any]:
    """Whether a trail is logging and which KMS events it records (two calls)."""
    status = cloudtrail.get_trail_status(Name=arn)
    selectors = cloudtrail.get_event_selectors(TrailName=arn)
    return {"is_logging": bool(status.get("IsLogging")),
            "kms_events": kms_event_coverage(selectors)}


def region_coverage(trails: Iterable[Mapping[str, Any]]) -> set[str]:
    """The KMS events recorded in a region by its logging trails, together."""
    covered: set[str] = set()
    for trail in trails:
        if trail.get("is_logging"):
            covered |= set(trail.get("kms_events", ()))
    return covered


def _home_region(summary: Mapping[str, Any]) -> str:
    return str(summary.get("home_region") or summary["arn"].split(":")[3])


class TrailBook:
    """Trails seen per ``account/region`` and each trail's details, fetched once per trail
    (a multi-region trail shows in every region but is asked about in its home region)."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self.errors = api_errors()
        self.trails: dict[str, dict[str, Any]] = {}
        self.by_region: dict[str, list[str]] = {}
        self.unreadable: dict[str, str] = {}
        self._listings: list[Future[tuple[str, Account, Any]]] = []

    def list(self, pool: Executor, scopes: Iterable[tuple[Account, str]]) -> None:
        self._listings = [pool.submit(self._describe, a, r) for a, r in scopes]

    def _describe(self, account: Account, region: str) -> tuple[str, Account, Any]:
        scope = f"{account.account_id}/{region}"
        try:
            client = self.clients.client("cloudtrail", account, region)
            return scope, account, trail_summaries(client.describe_trails(
                includeShadowTrails=True))
        except self.errors as exc:
            return scope, account, describe(exc)

    def fetch_details(self, pool: Executor) -> None:
        pending = {}
        for future in self._listings:
            scope, account, summaries = future.result()
            if isinstance(summaries, str):
                self.unreadable[scope] = f"DescribeTrails: {summaries}"
                continue
            self.by_region[scope] = [summary["arn"] for summary in summaries]
            for summary in summaries:
                if summary["arn"] not in self.trails:
                    self.trails[summary["arn"]] = summary
                    pending[summary["arn"]] = pool.submit(self._details, account, summary)
        for arn, detail in pending.items():
            self.trails[arn].update(detail.result())

    def _details(self, account: Account, summary: Mapping[str, Any]) -> dict[str, Any]:
        try:
            client = self.clients.client("cloudtrail", account, _home_region(summary))
            return trail_details(client, summary["arn"])
        except self.errors as exc:
            return {"unreadable": describe(exc)}

    def attributes(self) -> dict[str, Any]:
        return {"cloudtrail_trails": self.trails, "cloudtrail_regions": self.by_region,
                "cloudtrail_unreadable": self.unreadable}
