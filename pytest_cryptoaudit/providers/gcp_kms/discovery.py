"""Discover one ``gcp-kms`` system: projects, then locations, key rings and crypto keys, in a
bounded pool.

The controller thread plans and collects; worker threads make the calls through one SDK
client (its REST session is thread-safe). A listing that fails is an error naming the
project, location or key ring; a key whose versions cannot be read is an error naming the
key; an IAM policy that cannot be read makes the key's access unreadable, so the access
checks error naming the key. Nothing unread is ever reported as clean.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from typing import Any

from ...facts import Grant, ImportWrapping, KeyOrigin
from .. import Discovery, DiscoveryContext
from .clients import (
    CallLog,
    CredentialsError,
    api_errors,
    describe,
    make_client,
    make_ekm_client,
    retry,
    status_of,
)
from .ekm import NAME as STORE_FACT
from .ekm import EkmBook, StoreAnswer, connection_summary, store_answer
from .facts import (
    CYCLONEDX_STATES,
    Binding,
    KeyAnswer,
    Trust,
    Version,
    algorithm_fields,
    days,
    grants,
    import_wrapping,
    key_state,
    kind_of,
    managed_facts,
    newest,
    origin_of,
)
from .independence import auditor_facts, auditor_member
from .options import GcpKmsOptions
from .resource_manager import DEFAULT_ENDPOINT, Hierarchy, organization_projects, session

#: What reading an answer that is not the shape Google documents raises.
MALFORMED: tuple[type[Exception], ...] = (ValueError, KeyError, TypeError, AttributeError)
NOT_FETCHED = "not fetched: no selected control needs it"
#: Reports are cheap (a lock and two numbers), and a stale count skews the ETA.
PROGRESS_EVERY = 1
#: Fact -> the calls that fill it, for the calls made only when a selected control needs it.
#: Listing locations, key rings, crypto keys and versions is always done.
FETCHES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("managed.access", "auditor_admin_rights"),
                    ("cloudkms.keyRings.getIamPolicy", "cloudkms.cryptoKeys.getIamPolicy")),
    "managed.import_wrapping": ("cloudkms.importJobs.get",),
    STORE_FACT: ("cloudkms.ekmConnections.get", "cloudkms.ekmConnections.verifyConnectivity"),
}
#: IAM policy version 3 returns conditional bindings as they are.
POLICY_VERSION = 3


#: The ``ref`` of a grant from a binding above the key ring (see ``facts.grants``).
INHERITED_LEVELS = ("project binding", "folder binding", "organization binding")


def _inherited_of(names: list[str] | str | None,
                  policies: dict[str, tuple[Grant, ...] | str]) -> tuple[Grant, ...] | str:
    """The grants of every resource in ``names`` (a project and those above it), or why
    some could not be read."""
    if names is None:
        return "not an audited project"
    if isinstance(names, str):
        return names
    found: list[Grant] = []
    reasons = []
    for name in names:
        read = policies[name]
        if isinstance(read, str):
            reasons.append(read)
        else:
            found.extend(read)
    return "; ".join(reasons) if reasons else tuple(found)


def _own(access: tuple[Grant, ...] | None) -> tuple[Grant, ...] | None:
    """A key's grants from its own and its key ring's policies (those inherited from above
    are judged once per resource)."""
    return None if access is None else tuple(
        g for g in access if not g.ref.startswith(INHERITED_LEVELS))


@dataclasses.dataclass
class KeyResult:
    name: str
    fields: dict[str, Any] | None = None
    kind: str = ""
    error: str | None = None


def _seconds(value: Any) -> float | None:
    """A protobuf Duration (a timedelta through proto-plus) as seconds; unset is None."""
    seconds = value.total_seconds() if value is not None else 0.0
    return float(seconds) if seconds else None


def _time(value: Any) -> datetime | None:
    """A protobuf Timestamp (a datetime through proto-plus); unset (epoch) is None."""
    if not value or value.timestamp() <= 0:
        return None
    return datetime.fromtimestamp(value.timestamp(), UTC)


def version_of(message: Any) -> Version:
    return Version(name=message.name, state=message.state.name,
                   protection=message.protection_level.name, algorithm=message.algorithm.name,
                   created=_time(message.create_time), destroy_time=_time(message.destroy_time),
                   import_job=message.import_job)


class GcpDiscovery:
    """One discovery run; holds what was found until it becomes a :class:`Discovery`."""

    def __init__(self, options: GcpKmsOptions, context: DiscoveryContext) -> None:
        self.options = options
        self.context = context
        self.fetch_access = context.needs("managed.access", "auditor_admin_rights")
        self.fetch_wrapping = context.needs("managed.import_wrapping")
        #: Import job name -> how it wraps, or why that is unknown; read once per job.
        self.import_jobs: dict[str, ImportWrapping | str] = {}
        self._jobs_lock = threading.Lock()
        self.fetch_stores = context.needs(STORE_FACT)
        self.log = CallLog()
        self.errors: tuple[type[Exception], ...] = (*api_errors(), CredentialsError)
        self.trust = Trust(frozenset({*options.projects, *options.allowed_projects}),
                           frozenset(options.allowed_member_domains))
        self.found: list[KeyResult] = []
        self.failures: list[tuple[str, str | None]] = []
        self.locations: dict[str, list[str]] = {}
        self.key_rings = 0
        #: The audited projects: the named ones and the organization's.
        self.projects: list[str] = sorted(options.projects)
        self.client: Any = None
        self.retry: Any = None
        #: The EkmService client (made only when a selected control needs key stores), or
        #: why it could not be made.
        self.ekm_client: Any = None
        self.ekm_error = "no client"
        self.ekm = EkmBook(self.read_connection)
        #: The IAM member the audit calls as, or why it cannot be told.
        self.auditor: str | None = None
        self.auditor_unknown: str | None = "no client"
        self._hierarchy_read: tuple[dict[str, list[str] | str],
                                    dict[str, tuple[Grant, ...] | str]] | None = None

    # -- the run (controller thread) ---------------------------------------------------------

    def run(self, system_name: str) -> None:
        try:
            self.client = make_client(self.options, self.context.watch, self.log)
        except self.errors as exc:
            self.failures.append((f"cannot make the Cloud KMS client: {describe(exc)}", None))
            return
        self.retry = retry(self.options, self.log)
        if self.fetch_stores:
            try:
                self.ekm_client = make_ekm_client(self.options, self.context.watch, self.log)
            except self.errors as exc:
                self.ekm_error = f"cannot make the EKM client: {describe(exc)}"
        self._identify()
        if self.options.organization:
            self._organization(self.options.organization)
        scopes = [(p, loc) for p in self.projects for loc in self._locations(p)]
        pool = ThreadPoolExecutor(self.options.max_workers, thread_name_prefix="cryptoaudit-gcp")
        try:
            rings = [pool.submit(self.list_rings, p, loc) for p, loc in scopes]
            ring_reads = [pool.submit(self.read_ring, ring)
                          for done in as_completed(rings) for ring in done.result()]
            keys: list[Future[KeyResult]] = []
            for done in as_completed(ring_reads):
                listed = done.result()
                if listed is None:
                    continue
                self.key_rings += 1
                keys.extend(pool.submit(self.read_key, key, access) for key, access in listed)
            # Every ring is listed: the progress line can tell an ETA from here on.
            self.context.progress(system_name, 0, len(self.failures), expected=len(keys))
            self._collect(keys, lambda n: self.context.progress(
                system_name, n, len(self.failures), expected=len(keys)))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _identify(self) -> None:
        from .clients import credentials

        try:
            self.auditor, self.auditor_unknown = auditor_member(self.options,
                                                                credentials(self.options))
        except self.errors as exc:
            self.auditor, self.auditor_unknown = None, describe(exc)

    def auditor_facts(self) -> tuple[dict[str, Any], dict[str, str]]:
        """``auditor_identity`` and ``auditor_admin_rights`` (CEK-09 independence): the
        bindings of the keys and key rings read, and of each audited project and the folders
        and organization above it."""
        access = [(r.name, _own(r.fields["managed"].access),
                   r.fields["unreadable"].get("managed.access"))
                  for r in self.found if r.fields and "managed" in r.fields]
        if self.auditor is not None and self.context.needs("auditor_admin_rights"):
            access += self._inherited()
        return auditor_facts(self.auditor, self.auditor_unknown, access)

    def _inherited(self) -> list[tuple[str, tuple[Grant, ...] | None, str | None]]:
        """``(resource, grants or None, why unreadable)`` of the IAM policy of each audited
        project and of every folder and organization above one."""
        ancestries, policies = self._hierarchy()
        found = [(f"projects/{project}", None, why) for project, why in ancestries.items()
                 if isinstance(why, str)]
        return found + [(name, None, grants) if isinstance(grants, str) else
                        (name, grants, None) for name, grants in policies.items()]

    def _hierarchy(self) -> tuple[dict[str, list[str] | str],
                                  dict[str, tuple[Grant, ...] | str]]:
        """(audited project -> its resource names up to the organization, or why they could
        not be read; resource -> the grants of its IAM policy, or why it could not be read),
        each resource read once per run."""
        if self._hierarchy_read is not None:
            return self._hierarchy_read
        from ...transport import Limits, limited_adapter
        from .clients import credentials

        ancestries: dict[str, list[str] | str] = {}
        policies: dict[str, tuple[Grant, ...] | str] = {}
        self._hierarchy_read = ancestries, policies
        try:
            adapter = limited_adapter(Limits.of(self.options, self.context.watch))
            hierarchy = Hierarchy(session(credentials(self.options), adapter),
                                  self._resource_manager_endpoint(),
                                  self.options.request_timeout, self.retry)
        except self.errors as exc:
            ancestries.update(dict.fromkeys(self.projects, f"Resource Manager: {describe(exc)}"))
            return self._hierarchy_read
        for project in self.projects:
            try:
                ancestries[project] = names = hierarchy.ancestry(project)
            except self.errors + MALFORMED as exc:
                ancestries[project] = f"projects.get of {project}: {describe(exc)}"
                continue
            for name in names:
                if name not in policies:
                    policies[name] = self._policy_grants(hierarchy, name)
        return self._hierarchy_read

    def _policy_grants(self, hierarchy: Hierarchy, name: str) -> tuple[Grant, ...] | str:
        try:
            bindings = [Binding(str(b.get("role", "")), tuple(b.get("members") or ()),
                                bool((b.get("condition") or {}).get("expression")))
                        for b in hierarchy.policy(name).get("bindings") or ()]
        except self.errors + MALFORMED as exc:
            return f"IAM policy of {name}: {describe(exc)}"
        return tuple(grants(bindings, name.split("/", 1)[0].removesuffix("s"), self.trust))

    def add_inherited_access(self) -> None:
        """With ``inherited_access``: the bindings of each key's project and of the folders
        and organization above it join the key's access; one that could not be read makes
        the access unreadable, naming it."""
        if not (self.options.inherited_access and self.fetch_access):
            return
        ancestries, policies = self._hierarchy()
        shared: dict[str, tuple[Grant, ...] | str] = {}
        for result in self.found:
            fields = result.fields or {}
            managed = fields.get("managed")
            if managed is None or managed.access is None:
                continue
            project = result.name.split("/")[1]
            if project not in shared:
                shared[project] = _inherited_of(ancestries.get(project), policies)
            inherited = shared[project]
            if isinstance(inherited, str):
                fields["unreadable"]["managed.access"] = f"inherited IAM: {inherited}"
                fields["managed"] = dataclasses.replace(managed, access=None)
            else:
                fields["managed"] = dataclasses.replace(managed,
                                                        access=(*managed.access, *inherited))

    def _resource_manager_endpoint(self) -> str:
        return (self.options.resource_manager_endpoint or self.options.api_endpoint
                or DEFAULT_ENDPOINT)

    def _organization(self, organization: str) -> None:
        """Add the organization's projects to the audited ones (and to the trusted ones:
        a service account of an audited project is the estate's own). A listing that fails
        is an error naming the organization; the named projects are still audited."""
        from ...transport import Limits, limited_adapter
        from .clients import credentials

        try:
            adapter = limited_adapter(Limits.of(self.options, self.context.watch))
            http = session(credentials(self.options), adapter)
            found = organization_projects(http, self._resource_manager_endpoint(), organization,
                                          self.options.request_timeout, self.retry)
        except self.errors as exc:
            self.failures.append((f"organization {organization}: cannot list its projects: "
                                  f"{describe(exc)}", None))
            return
        self.projects = sorted({*self.projects, *found})
        self.trust = dataclasses.replace(
            self.trust, projects=frozenset({*self.trust.projects, *found}))

    def _locations(self, project: str) -> list[str]:
        if self.options.locations != "all":
            found = list(self.options.locations)
        else:
            from google.cloud.location import locations_pb2

            try:
                answer = self.client.list_locations(
                    locations_pb2.ListLocationsRequest(name=f"projects/{project}"),
                    retry=self.retry, timeout=self.options.request_timeout)
            except self.errors as exc:
                self.failures.append((f"project {project}: cannot list locations: "
                                      f"{describe(exc)}", None))
                return []
            found = sorted(location.location_id for location in answer.locations)
        self.locations[project] = found
        return found

    def _collect(self, futures: list[Future[KeyResult]], progress: Callable[[int], None]) -> None:
        for count, future in enumerate(as_completed(futures), start=1):
            result = future.result()
            if result.error is not None:
                self.failures.append((result.error, result.name))
            else:
                self.found.append(result)
            if count % PROGRESS_EVERY == 0 or count == len(futures):
                progress(len(self.found))

    # -- worker threads ----------------------------------------------------------------------

    def _call(self, method: str, **request: Any) -> Any:
        return getattr(self.client, method)(request=request, retry=self.retry,
                                            timeout=self.options.request_timeout)

    def list_rings(self, project: str, location: str) -> list[str]:
        parent = f"projects/{project}/locations/{location}"
        try:
            return [ring.name for ring in self._call("list_key_rings", parent=parent)]
        except self.errors as exc:
            self.failures.append((f"{parent}: cannot list key rings: {describe(exc)}", None))
            return []

    def read_ring(self, ring: str) -> list[tuple[Any, tuple[Grant, ...] | str | None]] | None:
        """The ring's keys, each with the ring's IAM grants (or why they are unreadable);
        None when the ring could not be listed (the failure is recorded)."""
        try:
            keys = list(self._call("list_crypto_keys", parent=ring))
        except self.errors as exc:
            self.failures.append((f"{ring}: cannot list crypto keys: {describe(exc)}", None))
            return None
        ring_access = self._access(ring, "key ring") if self.fetch_access and keys else None
        return [(key, ring_access) for key in keys]

    def _access(self, resource: str, level: str) -> tuple[Grant, ...] | str:
        """The grants of one IAM policy, or why it could not be read."""
        try:
            policy = self._call("get_iam_policy", resource=resource,
                                options={"requested_policy_version": POLICY_VERSION})
        except self.errors as exc:
            return f"IAM policy of {level} {resource}: {describe(exc)}"
        bindings = [Binding(b.role, tuple(b.members), bool(b.condition.expression))
                    for b in policy.bindings]
        return tuple(grants(bindings, level, self.trust))

    def read_key(self, key: Any, ring_access: tuple[Grant, ...] | str | None) -> KeyResult:
        try:
            versions = tuple(version_of(v) for v in
                             self._call("list_crypto_key_versions", parent=key.name))
        except self.errors as exc:
            return KeyResult(key.name, error=f"cannot list versions: {describe(exc)}")
        answer = self._answer(key, versions)
        unreadable: dict[str, str] = {}
        access: tuple[Grant, ...] | None = None
        if not self.fetch_access:
            unreadable["managed.access"] = NOT_FETCHED
        else:
            own = self._access(key.name, "key")
            reasons = [a for a in (ring_access, own) if isinstance(a, str)]
            if reasons:
                unreadable["managed.access"] = "; ".join(reasons)
            else:
                access = (*(ring_access or ()), *own)
        facts = managed_facts(answer, access)
        if facts.origin is KeyOrigin.IMPORTED:
            wrapping = self._wrapping(answer)
            if isinstance(wrapping, str):
                unreadable["managed.import_wrapping"] = wrapping
            else:
                facts = dataclasses.replace(facts, import_wrapping=wrapping)
        if answer.protection == "EXTERNAL_VPC":
            facts = self._store_facts(answer, facts, unreadable)
        return KeyResult(key.name, record_fields(answer, facts, unreadable),
                         kind_of(answer.purpose))

    def _wrapping(self, key: KeyAnswer) -> ImportWrapping | str:
        """How the key's material in use was imported (its import job's method), or why
        that cannot be told."""
        if not self.fetch_wrapping:
            return NOT_FETCHED
        job = import_job_of(key)
        if not job:
            return "Cloud KMS names no import job for the key's imported versions"
        with self._jobs_lock:
            known = self.import_jobs.get(job)
        if known is None:
            try:
                method = self._call("get_import_job", name=job).import_method.name
            except self.errors as exc:
                known = f"cannot read import job {job}: {describe(exc)}"
            else:
                known = import_wrapping(method) or f"import job {job}: import method " \
                    f"{method} is not known to this version of the audit"
            with self._jobs_lock:
                self.import_jobs[job] = known
        return known

    def _store_facts(self, key: KeyAnswer, facts: Any, unreadable: dict[str, str]) -> Any:
        """The key's facts with the state of its EKM connection, or the state unreadable
        (naming the connection and why)."""
        if not self.fetch_stores:
            unreadable[STORE_FACT] = NOT_FETCHED
            return facts
        if not key.backend:
            unreadable[STORE_FACT] = ("Cloud KMS did not report the key's cryptoKeyBackend "
                                      "(its EKM connection)")
            return facts
        answer = self.ekm.answer(key.backend, key.name)
        if answer.unreadable is not None:
            unreadable[STORE_FACT] = answer.unreadable
        return dataclasses.replace(facts, **answer.facts)

    def read_connection(self, name: str) -> StoreAnswer:
        """One EKM connection and whether Cloud KMS can reach its external key manager."""
        if self.ekm_client is None:
            return StoreAnswer(unreadable=f"EkmConnection {name}: {self.ekm_error}")
        try:
            connection = self._ekm_call("get_ekm_connection", name)
        except self.errors as exc:
            return StoreAnswer(unreadable=f"EkmConnection {name}: {describe(exc)}")
        summary = connection_summary(connection)
        try:
            self._ekm_call("verify_connectivity", name)
        except self.errors as exc:
            return store_answer(summary, (status_of(exc), describe(exc)))
        return store_answer(summary, None)

    def _ekm_call(self, method: str, name: str) -> Any:
        return getattr(self.ekm_client, method)(request={"name": name}, retry=self.retry,
                                                timeout=self.options.request_timeout)

    @staticmethod
    def _answer(key: Any, versions: tuple[Version, ...]) -> KeyAnswer:
        template = key.version_template
        primary = version_of(key.primary) if key.primary.name else None
        return KeyAnswer(
            name=key.name, purpose=key.purpose.name,
            protection=template.protection_level.name, template_algorithm=template.algorithm.name,
            created=_time(key.create_time), labels=dict(key.labels), import_only=key.import_only,
            rotation_seconds=_seconds(key.rotation_period),
            next_rotation=_time(key.next_rotation_time),
            destroy_scheduled_seconds=_seconds(key.destroy_scheduled_duration),
            backend=key.crypto_key_backend, primary=primary, versions=versions)

    # -- the result --------------------------------------------------------------------------

    def to_discovery(self, attempt: Discovery) -> Discovery:
        for result in self.found:
            attempt.add_key(result.name, result.kind, **(result.fields or {}))
        for reason, key_uid in self.failures:
            attempt.error(reason, key_uid=key_uid)
        return attempt


def _created(version: Version) -> datetime:
    """A version's creation time for ordering; unreported sorts first."""
    return version.created or datetime.min.replace(tzinfo=UTC)


def current_version(key: KeyAnswer) -> Version | None:
    """The version whose algorithm the key is judged by: the primary, else the newest
    enabled version, else none (the template then tells)."""
    if key.primary is not None:
        return key.primary
    enabled = [v for v in key.versions if v.state == "ENABLED"]
    return max(enabled, key=_created) if enabled else None


def import_job_of(key: KeyAnswer) -> str:
    """The import job of the version in use, else of the newest imported version."""
    version = current_version(key)
    if version is not None and version.import_job:
        return version.import_job
    imported = [v for v in key.versions if v.import_job]
    return max(imported, key=_created).import_job if imported else ""


def record_fields(key: KeyAnswer, facts: Any, unreadable: dict[str, str]) -> dict[str, Any]:
    """KeyRecord fields of one crypto key (its facts already built)."""
    version = current_version(key)
    algorithm = version.algorithm if version else key.template_algorithm
    fields = algorithm_fields(algorithm)
    unreadable.update(fields.pop("unreadable", {}))
    if key.created is None:
        unreadable["created"] = "Cloud KMS did not report the key's createTime"
    if key.destroy_scheduled_seconds is None:  # set on every key at creation: never guessed
        unreadable["managed.destroy_delay_days"] = ("Cloud KMS did not report the key's "
                                                    "destroyScheduledDuration")
    parts = key.name.split("/")
    state, native = key_state(key.primary, key.versions)
    rotation = facts.rotation
    attributes = {
        "project": parts[1], "location": parts[3], "key_ring": "/".join(parts[:6]),
        "purpose": key.purpose, "protection_level": key.protection,
        "gcp_algorithm": algorithm, "version_state": native,
        "versions": len(key.versions),
        "version_states": sorted({v.state for v in key.versions}),
        "destroy_scheduled_duration_days": days(key.destroy_scheduled_seconds),
        "next_rotation_time": key.next_rotation.isoformat() if key.next_rotation else None,
        "import_jobs": sorted({v.import_job for v in key.versions if v.import_job}),
        "crypto_key_backend": key.backend or None,
        "gcp_origin": origin_of(key.protection, key.import_only, key.versions).value,
    }
    fields.update(
        usage=(key.purpose,), state=CYCLONEDX_STATES[state], origin=facts.origin.value,
        created=key.created, rotated=newest(key.versions), tags=dict(key.labels),
        rotation_enabled=rotation.automatic if rotation else None,
        rotation_period_days=rotation.period_days if rotation else None,
        attributes={k: v for k, v in attributes.items() if v is not None},
        unreadable=unreadable, managed=facts)
    return fields
