"""Discover one ``aws-kms`` system: accounts, then regions, then keys, in a bounded pool.

The controller thread plans and collects; worker threads make the calls, each with its own
clients. A call that AWS refuses, throttles past the retries or never answers becomes a
discovery error for its region or key (or an unreadable attribute for the policy and
grants), so a key that could not be read is reported, never left out.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any

from ...facts import Grant
from .. import Discovery, DiscoveryContext
from .clients import MALFORMED, Account, Clients, api_errors, describe, paginate
from .cloudtrail import TrailBook
from .facts import (
    base_facts,
    key_store_facts,
    kms_grants,
    managed_facts,
    policy_grants,
    rotation_fact,
    unreadable_facts,
)
from .iam import (
    IamReader,
    IamUnreadable,
    IdentityPolicies,
    account_details,
    decrypt_all_keys,
    read_identity,
)
from .iam_holders import AccountIam, delegated_operations
from .independence import admin_rights, delegated_actions
from .keyspec import kind_of, record_fields, spec_of
from .options import AwsKmsOptions
from .rotation import read_rotation

NOT_FETCHED = "not fetched: no selected control needs it"
#: Why account-wide facts are unknown when no account could be audited: nothing was
#: looked at, which must not read as "nothing found".
NO_ACCOUNT = "no account could be audited (see the system's discovery errors)"
PROGRESS_EVERY = 50


#: Fact -> the calls that fill it, for the calls made only when a selected control needs
#: the fact. DescribeKey, ListResourceTags, ListKeys and ListAliases are always made.
ROTATION_CALLS = ("kms:GetKeyRotationStatus", "kms:ListKeyRotations")
#: The auditing identity's IAM policies, once per account whose key policies delegate to IAM.
IAM_CALLS = ("iam:GetRole", "iam:GetUser", "iam:ListRolePolicies", "iam:GetRolePolicy",
             "iam:ListAttachedRolePolicies", "iam:ListUserPolicies", "iam:GetUserPolicy",
             "iam:ListAttachedUserPolicies", "iam:ListGroupsForUser", "iam:ListGroupPolicies",
             "iam:GetGroupPolicy", "iam:ListAttachedGroupPolicies", "iam:GetPolicy",
             "iam:GetPolicyVersion")
FETCHES: dict[str, tuple[str, ...]] = {
    # The record's rotation_enabled / rotation_period_days come from the same calls.
    **dict.fromkeys(("managed.rotation", "rotated"), ROTATION_CALLS),
    # With iam_holders, also iam:GetAccountAuthorizationDetails per account.
    "managed.access": ("kms:GetKeyPolicy", "kms:ListGrants"),
    "auditor_admin_rights": ("kms:GetKeyPolicy", "kms:ListGrants", *IAM_CALLS),
    "iam_decrypt_all_keys": ("iam:GetAccountAuthorizationDetails",),
    "managed.key_store_state": ("kms:DescribeCustomKeyStores",),
    "cloudtrail_regions": ("cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus",
                           "cloudtrail:GetEventSelectors"),
}


@dataclasses.dataclass(frozen=True)
class Plan:
    """Which optional calls the selected controls need, from the facts they name."""

    rotation: bool
    policy: bool
    grants: bool
    trails: bool
    stores: bool = False
    iam: bool = False
    account_iam: bool = False

    @classmethod
    def of(cls, context: DiscoveryContext) -> Plan:
        def needs(call: str) -> bool:
            return context.needs(*(fact for fact, calls in FETCHES.items() if call in calls))

        return cls(rotation=needs("kms:GetKeyRotationStatus"), policy=needs("kms:GetKeyPolicy"),
                   grants=needs("kms:ListGrants"), trails=needs("cloudtrail:DescribeTrails"),
                   stores=needs("kms:DescribeCustomKeyStores"), iam=needs("iam:GetRole"),
                   account_iam=needs("iam:GetAccountAuthorizationDetails"))


@dataclasses.dataclass
class RegionListing:
    """The key ARNs and aliases of one account's region, or why they could not be listed."""

    account: Account
    region: str
    keys: list[str] = dataclasses.field(default_factory=list)
    aliases: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    error: str | None = None
    #: Custom key store id -> its DescribeCustomKeyStores entry, or why none was read.
    stores: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    store_error: str | None = None


@dataclasses.dataclass
class KeyResult:
    arn: str
    kind: str = ""
    fields: dict[str, Any] | None = None
    error: str | None = None
    #: The parsed key policy, kept for the auditor's rights, never put on the record.
    policy: Any = None


def key_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _account_of(result: KeyResult) -> str:
    return str((result.fields or {}).get("attributes", {}).get("account", ""))


class KmsDiscovery:
    """One discovery run; holds what was found until it becomes a :class:`Discovery`."""

    def __init__(self, options: AwsKmsOptions, context: DiscoveryContext) -> None:
        self.options = options
        self.context = context
        self.plan = Plan.of(context)
        self.clients = Clients(options, context.watch)
        self.errors = api_errors()
        self.found: list[KeyResult] = []
        self.failures: list[tuple[str, str | None]] = []
        self.skipped_aws_managed = 0
        self.audited: list[Account] = []
        self.scopes: list[tuple[Account, str]] = []
        self.trails = TrailBook(self.clients)
        # Most keys of an account share a handful of policy texts: parse each text once,
        # and normalise it once per owning account (the grants are immutable, so shared).
        self._policies: dict[str, Any] = {}
        self._policy_grants: dict[tuple[str, str], tuple[Grant, ...]] = {}
        self._texts: dict[str, str] = {}
        self._delegations: dict[int, dict[str, tuple[str, ...]]] = {}
        self._details: dict[str, dict[str, list[Any]] | str] = {}

    # -- accounts and regions (controller thread) ---------------------------------------

    def accounts(self) -> list[Account]:
        try:
            base = self.clients.base_session()
            if not self.options.role_arns:
                return [self.clients.identify(base)]
        except self.errors as exc:
            self.failures.append((f"cannot identify the audit account: {describe(exc)}", None))
            return []
        accounts: dict[str, Account] = {}
        for role_arn in self.options.role_arns:
            try:
                account = self.clients.identify(self.clients.assume(base, role_arn))
            except self.errors as exc:
                self.failures.append((f"cannot assume role {role_arn}: {describe(exc)}", None))
                continue
            accounts.setdefault(account.account_id, account)  # two roles, one account: once
        return list(accounts.values())

    def regions(self, account: Account) -> list[str]:
        if self.options.regions != "all":
            return list(self.options.regions)
        try:
            return self.clients.enabled_regions(account)
        except self.errors as exc:
            self.failures.append((f"account {account.account_id}: cannot list enabled "
                                  f"regions: {describe(exc)}", None))
            return []

    # -- the run -----------------------------------------------------------------------------

    def run(self, system_name: str) -> None:
        """List every region, then read every key (and trail) in the pool; collect here."""
        self.audited = self.accounts()
        self.scopes = scopes = [(account, region) for account in self.audited
                                for region in self.regions(account)]
        pool = ThreadPoolExecutor(self.options.max_workers, thread_name_prefix="cryptoaudit-kms")
        try:
            listings = [pool.submit(self.list_region, a, r) for a, r in scopes]
            if self.plan.trails:
                self.trails.list(pool, scopes)
            keys: list[Future[KeyResult]] = []
            for done in as_completed(listings):
                keys.extend(self._submit_keys(pool, done.result()))
            self._collect(keys, lambda n: self.context.progress(
                system_name, n, len(self.failures), expected=len(keys)))
            if self.plan.trails:
                self.trails.fetch_details(pool)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _submit_keys(self, pool: ThreadPoolExecutor,
                     listing: RegionListing) -> Iterable[Future[KeyResult]]:
        if listing.error is not None:
            self.failures.append((listing.error, None))
            return []
        managed = {key_id for key_id, names in listing.aliases.items()
                   if any(name.startswith("alias/aws/") for name in names)}
        futures = []
        for arn in listing.keys:
            if key_id(arn) in managed and not self.options.include_aws_managed:
                self.skipped_aws_managed += 1
                continue
            futures.append(pool.submit(self.fetch_key, listing, arn))
        return futures

    def _collect(self, futures: list[Future[KeyResult]], progress: Callable[[int], None]) -> None:
        for count, future in enumerate(as_completed(futures), start=1):
            result = future.result()
            if result.error is not None:
                self.failures.append((result.error, result.arn))
            elif result.fields is None:
                self.skipped_aws_managed += 1
            else:
                self.found.append(result)
            if count % PROGRESS_EVERY == 0:
                progress(len(self.found))

    # -- worker threads ----------------------------------------------------------------------

    def list_region(self, account: Account, region: str) -> RegionListing:
        listing = RegionListing(account, region)
        try:
            kms = self.clients.client("kms", account, region)
            listing.keys = [k["KeyArn"] for k in paginate(kms, "list_keys", "Keys")]
            for alias in paginate(kms, "list_aliases", "Aliases"):
                if alias.get("TargetKeyId"):
                    listing.aliases.setdefault(alias["TargetKeyId"], []).append(
                        alias["AliasName"])
        except self.errors as exc:
            listing.error = f"{region} (account {account.account_id}): {describe(exc)}"
            return listing
        if self.plan.stores:
            try:
                listing.stores = {store.get("CustomKeyStoreId", ""): store for store in paginate(
                    kms, "describe_custom_key_stores", "CustomKeyStores")}
            except self.errors as exc:
                listing.store_error = f"DescribeCustomKeyStores: {describe(exc)}"
        return listing

    def _store_state(self, listing: RegionListing, metadata: dict[str, Any],
                     facts: dict[str, Any], unreadable: dict[str, str]) -> None:
        """The connection state of the key's custom key store, or why it is unreadable."""
        name = "managed.key_store_state"
        store_id = metadata.get("CustomKeyStoreId") or ""
        if not self.plan.stores:
            unreadable[name] = NOT_FETCHED
        elif listing.store_error is not None:
            unreadable[name] = listing.store_error
        elif store_id not in listing.stores:
            unreadable[name] = (f"DescribeCustomKeyStores does not list key store "
                                f"{store_id or '(id not reported)'}")
        else:
            found, problem = key_store_facts(listing.stores[store_id])
            if problem is not None:
                unreadable[name] = problem
            facts.update(found)

    def fetch_key(self, listing: RegionListing, arn: str) -> KeyResult:
        try:
            kms = self.clients.client("kms", listing.account, listing.region)
            metadata = kms.describe_key(KeyId=arn)["KeyMetadata"]
            if metadata.get("KeyManager") == "AWS" and not self.options.include_aws_managed:
                return KeyResult(arn)
            fields = record_fields(metadata, listing.region)
            # AWS-managed keys cannot carry tags; asking would only cost a call.
            tags = [] if metadata.get("KeyManager") == "AWS" else paginate(
                kms, "list_resource_tags", "Tags", KeyId=arn)
            facts = base_facts(metadata)
            fields["unreadable"].update(unreadable_facts(metadata))
            if facts["key_store"] is not None:
                self._store_state(listing, metadata, facts, fields["unreadable"])
            if self.plan.rotation:
                read_rotation(kms, arn, metadata, fields)
            elif facts["can_rotate"]:
                fields["unreadable"]["managed.rotation"] = NOT_FETCHED
        except self.errors as exc:
            return KeyResult(arn, error=describe(exc))
        fields["tags"] = {self._shared(tag["TagKey"]): self._shared(tag["TagValue"])
                          for tag in tags}
        attributes = fields["attributes"]
        attributes["aliases"] = sorted(listing.aliases.get(key_id(arn), ()))
        access, policy = self._read_access(kms, arn, metadata, fields["unreadable"])
        rotation = rotation_fact(fields, attributes.get("rotation_period_source", ""))
        if "rotation_enabled" in fields["unreadable"]:
            fields["unreadable"]["managed.rotation"] = fields["unreadable"]["rotation_enabled"]
        fields["managed"] = managed_facts(facts, rotation=rotation, access=access)
        return KeyResult(arn, kind_of(spec_of(metadata), metadata.get("KeyUsage")), fields,
                         policy=policy)

    def _read_access(self, kms: Any, arn: str, metadata: dict[str, Any],
                     unreadable: dict[str, str]) -> tuple[tuple[Grant, ...] | None, Any]:
        """Key policy and grants as normalised grants, and the parsed policy; a refusal
        makes the access fact unreadable (naming the call), never an empty list."""
        if not (self.plan.policy or self.plan.grants):
            unreadable["managed.access"] = NOT_FETCHED
            return None, None
        trusted = {metadata.get("AWSAccountId", ""), *self.options.allowed_principal_accounts}
        by_policy: tuple[Grant, ...] = ()
        policy = None
        try:
            text = kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"]
            policy = self._parse_policy(text)
            by_policy = self._normalised(text, metadata.get("AWSAccountId", ""), policy,
                                         trusted)
        except self.errors as exc:
            unreadable["managed.access"] = f"key policy: {describe(exc)}"
        except ValueError as exc:
            unreadable["managed.access"] = f"key policy is not a JSON object: {exc}"
        if not self.plan.grants:
            unreadable.setdefault("managed.access", NOT_FETCHED)
            return None, policy
        granted: list[Grant] = []
        try:
            granted = kms_grants(paginate(kms, "list_grants", "Grants", KeyId=arn), trusted)
        except self.errors as exc:
            unreadable.setdefault("managed.access", f"grants: {describe(exc)}")
        if "managed.access" in unreadable:
            return None, policy
        # A key without grants holds its policy's grants as they are: one tuple for every
        # key of the account that has that policy.
        return (by_policy + tuple(granted) if granted else by_policy), policy

    def _normalised(self, text: str, account: str, policy: Any,
                    trusted: set[str]) -> tuple[Grant, ...]:
        cached = self._policy_grants.get((text, account))
        if cached is None:
            cached = self._policy_grants[(text, account)] = tuple(policy_grants(policy, trusted))
        return cached

    def _shared(self, text: str) -> str:
        """One copy of each tag name and value in the run: an account tags its keys with a
        few owners, applications and environments, each answer a new copy of the string."""
        return self._texts.setdefault(text, text)

    def _parse_policy(self, text: str) -> Any:
        parsed = self._policies.get(text)
        if parsed is None:
            parsed = json.loads(text)
            if not isinstance(parsed, dict):
                raise ValueError("not an object")
            self._policies[text] = parsed
        return parsed

    # -- the result ----------------------------------------------------------------------------

    def to_discovery(self, attempt: Discovery) -> Discovery:
        for result in self.found:
            attempt.add_key(result.arn, result.kind, **(result.fields or {}))
        for reason, key_uid in self.failures:
            attempt.error(reason, key_uid=key_uid)
        return attempt

    def key_stores(self) -> list[dict[str, Any]]:
        """Each custom key store that holds audited keys: its state and the keys that depend
        on it, so a broken store shows every key it takes down."""
        stores: dict[str, dict[str, Any]] = {}
        for result in self.found:
            facts = (result.fields or {}).get("managed")
            if facts is None or facts.key_store is None:
                continue
            state = facts.key_store_state
            entry = stores.setdefault(facts.key_store, {
                "id": facts.key_store, "state": state.value if state else None,
                "detail": facts.key_store_detail, "keys": []})
            entry["keys"].append(result.arn)
        return [{**entry, "keys": sorted(entry["keys"])}
                for _, entry in sorted(stores.items())]

    def auditor_facts(self) -> dict[str, Any]:
        """``auditor_admin_rights`` from the key policies read and, in each account where
        one delegates to IAM, the caller's IAM policies (or why it cannot be told)."""
        if not self.plan.iam:
            return {"unreadable": NOT_FETCHED}
        if not self.audited:
            return {"unreadable": NO_ACCOUNT}
        callers = {account.account_id: account.caller_arn for account in self.audited}
        policies = [(r.arn, (r.fields or {}).get("attributes", {}).get("account", ""), r.policy,
                     (r.fields or {}).get("unreadable", {}).get("managed.access"))
                    for r in self.found]
        delegating = {account for uid, account, policy, _ in policies if policy is not None
                      and delegated_actions(callers.get(account, ""), policy)}
        identities = {account.account_id: self._iam_identity(account)
                      for account in self.audited if account.account_id in delegating}
        return admin_rights(callers, policies, identities, self._kms_grants())

    def _kms_grants(self) -> dict[str, tuple[Grant, ...] | str]:
        """Each key's KMS grants (its access entries of source ``grant``), or why they
        could not be read."""
        found: dict[str, tuple[Grant, ...] | str] = {}
        for result in self.found:
            fields = result.fields or {}
            managed = fields.get("managed")
            if managed is None:
                continue
            if managed.access is None:
                found[result.arn] = fields.get("unreadable", {}).get("managed.access",
                                                                     "grants not read")
                continue
            found[result.arn] = tuple(g for g in managed.access if g.source == "grant")
        return found

    def decrypt_facts(self) -> dict[str, Any]:
        """``iam_decrypt_all_keys``: the IAM policies of every audited account that allow
        decryption with all its keys (or why an account's could not be read)."""
        if not self.plan.account_iam:
            return {"unreadable": NOT_FETCHED}
        if not self.audited:
            return {"unreadable": NO_ACCOUNT}
        found, unread = [], []
        with ThreadPoolExecutor(max_workers=self.options.max_workers) as pool:
            for account, outcome in zip(self.audited, pool.map(self._decrypt_all, self.audited),
                                        strict=True):
                if isinstance(outcome, str):
                    unread.append(f"account {account.account_id}: {outcome}")
                else:
                    found.extend(outcome)
        if unread:
            return {"unreadable": "; ".join(unread)}
        return {"iam_decrypt_all_keys": found}

    def _decrypt_all(self, account: Account) -> list[dict[str, Any]] | str:
        details = self._account_details(account)
        if isinstance(details, str):
            return details
        try:
            return decrypt_all_keys(details, account.account_id)
        except MALFORMED as exc:
            return f"GetAccountAuthorizationDetails: {describe(exc)}"

    def _account_details(self, account: Account) -> dict[str, list[Any]] | str:
        """The account's IAM (GetAccountAuthorizationDetails), read once per run: with the
        attached AWS managed policies when ``iam_holders`` needs them."""
        if account.account_id not in self._details:
            iam = self.clients.client("iam", account, self.options.home_region)
            try:
                found: dict[str, list[Any]] | str = account_details(
                    iam, aws_managed=self.options.iam_holders)
            except self.errors as exc:
                found = f"GetAccountAuthorizationDetails: {describe(exc)}"
            self._details[account.account_id] = found
        return self._details[account.account_id]

    def add_iam_holders(self) -> None:
        """With ``iam_holders``: the users and roles of each audited account become access
        entries of the keys whose policy delegates to that account (their own account's,
        and another audited account's where a key is shared); an account whose IAM could
        not be read makes those keys' access unreadable, naming why."""
        if not self._holders_wanted():
            return
        delegating = [(result, by_account) for result in self.found
                      if (by_account := self._delegated(result))]
        audited = {account.account_id: account for account in self.audited}
        wanted = {a for _, by_account in delegating for a in by_account if a in audited}
        read = {a: self._account_iam(audited[a]) for a in sorted(wanted)}
        trusted = set(self.options.allowed_principal_accounts)
        for result, by_account in delegating:
            fields = result.fields or {}
            own = _account_of(result)
            entries: list[Grant] = []
            for account, operations in by_account.items():
                iam = read.get(account)
                if isinstance(iam, str):
                    fields["unreadable"]["managed.access"] = f"IAM holders: {iam}"
                    fields["managed"] = dataclasses.replace(fields["managed"], access=None)
                    break
                if iam is not None:  # an account outside the system: its key policy entry
                    entries += iam.grants(result.arn, operations, result.policy,
                                          outside=account not in {own, *trusted})
            else:
                if entries:
                    managed = fields["managed"]
                    fields["managed"] = dataclasses.replace(
                        managed, access=managed.access + tuple(entries))

    def _delegated(self, result: KeyResult) -> dict[str, tuple[str, ...]]:
        managed = (result.fields or {}).get("managed")
        if result.policy is None or managed is None or managed.access is None:
            return {}
        key = id(result.policy)  # parsed once per policy text (see _parse_policy)
        if key not in self._delegations:
            self._delegations[key] = delegated_operations(result.policy)
        return self._delegations[key]

    def _account_iam(self, account: Account) -> AccountIam | str:
        details = self._account_details(account)
        if isinstance(details, str):
            return f"account {account.account_id}: {details}"
        iam = self.clients.client("iam", account, self.options.home_region)
        try:
            return AccountIam.of(details, IamReader(iam))
        except self.errors + MALFORMED as exc:
            return f"account {account.account_id}: {describe(exc)}"

    def _iam_identity(self, account: Account) -> IdentityPolicies | str:
        """The caller's IAM policies: from the account's authorization details when a
        selected control reads them anyway, else through its own few reads."""
        details: dict[str, list[Any]] | None = None
        if self.plan.account_iam or self._holders_wanted():
            read = self._account_details(account)
            if isinstance(read, str):
                return f"IAM policies of {account.caller_arn} unreadable: {read}"
            details = read
        iam = self.clients.client("iam", account, self.options.home_region)
        try:
            return read_identity(iam, account.caller_arn, self.errors, details)
        except IamUnreadable as exc:
            return str(exc)

    def _holders_wanted(self) -> bool:
        return self.options.iam_holders and self.plan.policy and self.plan.grants
