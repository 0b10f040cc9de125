"""A loopback stand-in for Google Cloud KMS: the read methods of its REST API v1.

Not Google's service: an HTTP server on loopback that answers the documented REST paths and
JSON shapes (resources ``KeyRing``, ``CryptoKey``, ``CryptoKeyVersion``, ``ImportJob``, IAM
``Policy``; ``Location`` of the locations mixin) for the methods an audit calls: list and get
of key rings, crypto keys, versions and import jobs, ``getIamPolicy`` on key rings and keys,
the project's locations, and the EKM connections of Cloud External Key Manager
(``projects.locations.ekmConnections``: list, get, and ``verifyConnectivity``, which
answers an empty ``VerifyConnectivityResponse`` where the external key manager is reachable
and 400 ``FAILED_PRECONDITION`` naming the reason where it is not). Lists page with
``pageSize`` / ``pageToken`` / ``nextPageToken``; errors are ``google.rpc.Status`` JSON
(``{"error": {"code", "message", "status"}}``); a project that exceeds its request budget
gets 429 ``RESOURCE_EXHAUSTED``, as Cloud KMS does past its read quota. No key material
exists here, and anonymous callers are served (the audit passes ``AnonymousCredentials``
to the official SDK).

It also answers Cloud Resource Manager API v3 ``projects.list`` and ``folders.list``
(``GET /v3/projects?parent=...``, ``GET /v3/folders?parent=...``: the direct children of an
organization or folder, ``pageSize`` / ``pageToken`` paging, projects pending deletion left
out), so an organization's projects can be discovered; ``projects.get`` and ``folders.get``
(``GET /v3/projects/ID_OR_NUMBER``, ``GET /v3/folders/N``, each naming its ``parent``; a
project of the KMS estate that no organization holds is served without one); and
``getIamPolicy`` on projects, folders and organizations (``POST /v3/NAME:getIamPolicy``).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .processes import LOOPBACK

PROJECT = r"projects/(?P<project>[^/]+)"
RING = PROJECT + r"/locations/[^/]+/keyRings/[^/:]+"
KEY = RING + r"/cryptoKeys/[^/:]+"
LOCATION = PROJECT + r"/locations/[^/]+"
EKM = LOCATION + r"/ekmConnections/[^/:]+"
#: Path pattern (the resource or parent name, then what follows it) -> (method name,
#: collection field of the answer, or None for a get).
ROUTES: tuple[tuple[re.Pattern[str], str, str | None], ...] = tuple(
    (re.compile(f"^/v1/(?P<name>{pattern}){suffix}$"), method, field)
    for pattern, suffix, method, field in (
        (PROJECT, "/locations", "ListLocations", "locations"),
        (LOCATION, "/keyRings", "ListKeyRings", "keyRings"),
        (LOCATION, "/ekmConnections", "ListEkmConnections", "ekmConnections"),
        (EKM, ":verifyConnectivity", "VerifyConnectivity", None),
        (EKM, "", "GetEkmConnection", None),
        (RING, "/cryptoKeys", "ListCryptoKeys", "cryptoKeys"),
        (KEY, "/cryptoKeyVersions", "ListCryptoKeyVersions", "cryptoKeyVersions"),
        (RING, "/importJobs", "ListImportJobs", "importJobs"),
        (RING, ":getIamPolicy", "GetIamPolicy", None),
        (KEY, ":getIamPolicy", "GetIamPolicy", None),
        (KEY, "", "GetCryptoKey", None),
        (RING + r"/importJobs/[^/:]+", "", "GetImportJob", None),
        (RING, "", "GetKeyRing", None),
    ))
COLLECTION_SUFFIX = {"ListLocations": "/locations", "ListKeyRings": "/keyRings",
                     "ListCryptoKeys": "/cryptoKeys",
                     "ListCryptoKeyVersions": "/cryptoKeyVersions",
                     "ListImportJobs": "/importJobs", "ListEkmConnections": "/ekmConnections"}
STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}
MAX_PAGE_SIZE = 1000


@dataclasses.dataclass
class Estate:
    """What the stand-in serves: resources by full name, and planted refusals.

    ``refusals`` maps ``(method, resource name)`` to an HTTP status the stand-in answers
    instead (403 PERMISSION_DENIED, say), to test that a refusal is reported.
    """

    locations: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    key_rings: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    crypto_keys: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    versions: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    import_jobs: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    refusals: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)
    #: Resource Manager ``Project`` and ``Folder`` resources by name (``projects/NUMBER``,
    #: ``folders/NUMBER``), each naming its ``parent``.
    projects: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    #: ``EkmConnection`` resources by name, and why ``verifyConnectivity`` fails for those
    #: whose external key manager cannot be reached (absent: it succeeds).
    ekm_connections: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    ekm_unreachable: dict[str, str] = dataclasses.field(default_factory=dict)
    #: IAM policies of projects, folders and organizations by name (``projects/NUMBER``...);
    #: absent: an empty policy.
    hierarchy_policies: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def project(self, id_or_number: str) -> dict[str, Any] | None:
        """The ``Project`` named by its id or number; a project the KMS estate has
        locations in but no organization holds is one without a parent."""
        for name, item in self.projects.items():
            if id_or_number in (item["projectId"], name.split("/", 1)[1]):
                return item
        if id_or_number in self.locations:
            number = 700000 + sorted(self.locations).index(id_or_number)
            return {"name": f"projects/{number}", "projectId": id_or_number,
                    "state": "ACTIVE", "displayName": id_or_number}
        return None

    def add_project(self, project_id: str, parent: str, state: str = "ACTIVE") -> None:
        """A project under ``parent`` (``organizations/N`` or ``folders/N``)."""
        name = f"projects/{100000 + len(self.projects)}"
        self.projects[name] = {"name": name, "parent": parent, "projectId": project_id,
                               "state": state, "displayName": project_id,
                               "createTime": "2025-01-01T00:00:00Z", "etag": "W/\"1\""}

    def add_folder(self, parent: str, display_name: str) -> str:
        """A folder under ``parent``; returns its name."""
        name = f"folders/{500000 + len(self.folders)}"
        self.folders[name] = {"name": name, "parent": parent, "displayName": display_name,
                              "state": "ACTIVE", "createTime": "2025-01-01T00:00:00Z",
                              "etag": "W/\"1\""}
        return name

    def children(self, method: str, parent: str) -> list[dict[str, Any]]:
        """The resources a list method returns under ``parent``, in name order."""
        if method == "ListLocations":
            project = parent.split("/")[1]
            return [{"name": f"{parent}/locations/{location}", "locationId": location}
                    for location in sorted(self.locations.get(project, ()))]
        table = {"ListKeyRings": self.key_rings, "ListCryptoKeys": self.crypto_keys,
                 "ListCryptoKeyVersions": self.versions,
                 "ListImportJobs": self.import_jobs,
                 "ListEkmConnections": self.ekm_connections}[method]
        prefix = parent + COLLECTION_SUFFIX[method] + "/"
        return [table[name] for name in sorted(table)
                if name.startswith(prefix) and "/" not in name[len(prefix):]]

    def resource(self, method: str, name: str) -> dict[str, Any] | None:
        if method == "GetIamPolicy":
            known = name in self.key_rings or name in self.crypto_keys
            return self.policies.get(name, {"version": 1, "etag": "ACAB"}) if known else None
        if method == "GetCryptoKey":
            return self.crypto_keys.get(name)
        if method == "GetImportJob":
            return self.import_jobs.get(name)
        if method == "GetEkmConnection":
            return self.ekm_connections.get(name)
        return self.key_rings.get(name)


class RequestBudget:
    """At most ``limit`` requests per project in any ``window`` seconds (Cloud KMS counts
    read requests per minute per project); None: no limit."""

    def __init__(self, limit: int | None = None, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque)
        self._lock = threading.Lock()

    def admit(self, project: str) -> bool:
        if self.limit is None:
            return True
        now = time.monotonic()
        with self._lock:
            seen = self._seen[project]
            while seen and now - seen[0] >= self.window:
                seen.popleft()
            if len(seen) >= self.limit:
                return False
            seen.append(now)
            return True


class CloudKmsStandIn:
    """The stand-in on a free loopback port; ``requests`` counts answers per method,
    ``throttled`` the 429 answers. Use as a context manager or call :meth:`close`."""

    def __init__(self, estate: Estate, *, page_size: int = 100,
                 budget: RequestBudget | None = None, port: int = 0) -> None:
        self.estate = estate
        self.page_size = page_size
        self.budget = budget or RequestBudget()
        self.requests: collections.Counter[str] = collections.Counter()
        self.throttled = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((LOOPBACK, port), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        # shutdown() waits for the loop's next look at its flag: every 50 ms, not the
        # default half second that each stand-in's close would cost
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def __enter__(self) -> CloudKmsStandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.throttled = 0

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON body for one GET."""
        if path in ("/v3/projects", "/v3/folders"):
            return self._resource_manager(path.rsplit("/", 1)[1], query)
        match = re.match(r"^/v3/(projects|folders)/([^/:]+)$", path)
        if match:
            return self._get_hierarchy(match[1], match[2])
        for pattern, method, field in ROUTES:
            match = pattern.match(path)
            if match is None:
                continue
            name = match["name"]
            if not self.budget.admit(match["project"]):
                with self._lock:
                    self.throttled += 1
                return _error(429, "Quota exceeded for quota metric 'Read requests' and limit "
                              "'Read requests per minute' of service 'cloudkms.googleapis.com' "
                              f"for consumer 'projects/{match['project']}'.")
            with self._lock:
                self.requests[method] += 1
            refused = self.estate.refusals.get((method, name))
            if refused is not None:
                return _error(refused, f"Permission denied on resource '{name}' (or it may "
                              "not exist).")
            if field is not None:
                return self._page(method, name, field, query)
            if method == "VerifyConnectivity":
                return self._verify(name)
            found = self.estate.resource(method, name)
            return (200, found) if found is not None else _error(404, f"{name} not found.")
        return _error(404, f"no route for {path}")

    def _get_hierarchy(self, collection: str, key: str) -> tuple[int, dict[str, Any]]:
        """``projects.get`` or ``folders.get``."""
        method = "GetProject" if collection == "projects" else "GetFolder"
        found = (self.estate.project(key) if collection == "projects"
                 else self.estate.folders.get(f"folders/{key}"))
        with self._lock:
            self.requests[method] += 1
        name = found["name"] if found else f"{collection}/{key}"
        refused = self.estate.refusals.get((method, name))
        if refused is not None or found is None:
            return _error(refused or 403, f"The caller does not have permission on '{name}' "
                          "(or it may not exist).")
        return 200, found

    def post(self, path: str) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON body for one POST: ``getIamPolicy`` of Resource
        Manager resources."""
        match = re.match(r"^/v3/((?:projects|folders|organizations)/[^/:]+):getIamPolicy$", path)
        if match is None:
            return _error(404, f"no route for {path}")
        name = match[1]
        if name.startswith("projects/"):
            project = self.estate.project(name.split("/", 1)[1])
            name = project["name"] if project else name
        with self._lock:
            self.requests["GetResourceIamPolicy"] += 1
        refused = self.estate.refusals.get(("GetResourceIamPolicy", name))
        if refused is not None:
            return _error(refused, f"The caller does not have permission "
                          f"'resourcemanager.{name.split('/')[0]}.getIamPolicy' on '{name}'.")
        return 200, self.estate.hierarchy_policies.get(name, {"version": 1, "etag": "BwX="})

    def _verify(self, name: str) -> tuple[int, dict[str, Any]]:
        """``verifyConnectivity``: an empty response, or FAILED_PRECONDITION (HTTP 400, as
        Google's REST mapping answers that status) with the reason."""
        if name not in self.estate.ekm_connections:
            return _error(404, f"{name} not found.")
        reason = self.estate.ekm_unreachable.get(name)
        if reason is None:
            return 200, {}
        return _error(400, reason, "FAILED_PRECONDITION")

    def _resource_manager(self, collection: str,
                          query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        method = "ListProjects" if collection == "projects" else "ListFolders"
        parent = query.get("parent", [""])[0]
        if not parent.startswith(("organizations/", "folders/")):
            return _error(400, "Request contains an invalid argument: parent.")
        with self._lock:
            self.requests[method] += 1
        refused = self.estate.refusals.get((method, parent))
        if refused is not None:
            return _error(refused, f"The caller does not have permission on '{parent}'.")
        table = self.estate.projects if collection == "projects" else self.estate.folders
        items = [item for _, item in sorted(table.items())
                 if item["parent"] == parent and item["state"] == "ACTIVE"]
        return self._page(method, parent, collection, query, items)

    def _page(self, method: str, parent: str, field: str,
              query: dict[str, list[str]],
              items: list[dict[str, Any]] | None = None) -> tuple[int, dict[str, Any]]:
        items = self.estate.children(method, parent) if items is None else items
        try:
            size = min(int(query.get("pageSize", ["0"])[0]) or self.page_size, MAX_PAGE_SIZE)
            start = int(query.get("pageToken", ["0"])[0].removeprefix("p") or 0)
        except ValueError:
            return _error(400, "Invalid pageSize or pageToken.")
        body: dict[str, Any] = {field: items[start:start + size]}
        if start + size < len(items):
            body["nextPageToken"] = f"p{start + size}"
        if method not in ("ListLocations", "ListProjects", "ListFolders"):
            body["totalSize"] = len(items)
        return 200, body


def _error(code: int, message: str, status: str | None = None) -> tuple[int, dict[str, Any]]:
    return code, {"error": {"code": code, "message": message,
                            "status": status or STATUS[code]}}


def _handler(standin: CloudKmsStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            self._send(*standin.answer(parts.path, parse_qs(parts.query)))

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._send(*standin.post(urlsplit(self.path).path))

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def serve(estate: Estate, **options: Any) -> Iterator[CloudKmsStandIn]:
    """A generator for fixtures: the stand-in, closed when the generator is closed."""
    with CloudKmsStandIn(estate, **options) as standin:
        yield standin
