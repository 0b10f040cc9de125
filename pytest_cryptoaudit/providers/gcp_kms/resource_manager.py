"""The projects of an organization, and the folders and organization above a project with
their IAM policies, from Cloud Resource Manager API v3 (REST).

``projects.list`` and ``folders.list`` return only the direct children of a parent, so the
organization is walked: its projects, its folders, their projects and folders, and so on.
Only ``ACTIVE`` projects are audited (``list`` leaves out projects pending deletion unless
asked); pages are as long as the service makes them. An answer other than 200 raises the
API's error (``google.api_core`` exceptions, so the system's back-off retries 429 and 503
and :func:`.clients.describe` names it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

DEFAULT_ENDPOINT = "https://cloudresourcemanager.googleapis.com"


def session(credentials: Any, adapter: Any) -> Any:
    """An authorised requests session whose answers go through the system's adapter."""
    from google.auth.transport.requests import AuthorizedSession

    authorised = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
    for scheme in ("https://", "http://"):
        authorised.mount(scheme, adapter)
    return authorised


def _get(http: Any, url: str, params: dict[str, Any], timeout: float) -> dict[str, Any]:
    return _json(http.get(url, params=params, timeout=timeout))


def _post(http: Any, url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    return _json(http.post(url, json=body, timeout=timeout))


def _json(response: Any) -> dict[str, Any]:
    from google.api_core import exceptions

    if response.status_code != 200:
        raise exceptions.from_http_response(response)  # type: ignore[no-untyped-call]
    body = response.json()
    return body if isinstance(body, dict) else {}


def children(call: Callable[..., dict[str, Any]], endpoint: str, collection: str,
             parent: str) -> Iterator[dict[str, Any]]:
    """Every ``projects`` or ``folders`` item directly under ``parent``, every page."""
    token = ""
    while True:
        params = {"parent": parent, **({"pageToken": token} if token else {})}
        body = call(f"{endpoint.rstrip('/')}/v3/{collection}", params)
        yield from (item for item in body.get(collection) or () if isinstance(item, dict))
        token = str(body.get("nextPageToken") or "")
        if not token:
            return


def organization_projects(http: Any, endpoint: str, organization: str, timeout: float,
                          retry: Callable[[Callable[..., Any]], Callable[..., Any]]
                          ) -> list[str]:
    """The project ids of every active project under the organization, at any depth."""
    def call(url: str, params: dict[str, Any]) -> dict[str, Any]:
        return retry(_get)(http, url, params, timeout)  # type: ignore[no-any-return]

    projects: set[str] = set()
    parents = [f"organizations/{organization}"]
    while parents:
        parent = parents.pop()
        projects |= {str(item["projectId"]) for item in children(call, endpoint, "projects",
                                                                 parent)
                     if item.get("projectId") and item.get("state", "ACTIVE") == "ACTIVE"}
        parents += [str(item["name"]) for item in children(call, endpoint, "folders", parent)
                    if item.get("name") and item.get("state", "ACTIVE") == "ACTIVE"]
    return sorted(projects)


class Hierarchy:
    """The resources above audited projects (folders, the organization) and the IAM
    policies of each, read once per resource: ``projects.get`` and ``folders.get`` for the
    parents, ``getIamPolicy`` (policy version 3) on each."""

    def __init__(self, http: Any, endpoint: str, timeout: float,
                 retry: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._get: Callable[[str], dict[str, Any]] = lambda url: retry(_get)(
            http, url, {}, timeout)
        self._post: Callable[[str], dict[str, Any]] = lambda url: retry(_post)(
            http, url, {"options": {"requestedPolicyVersion": 3}}, timeout)
        self._parents: dict[str, str] = {}
        self._policies: dict[str, dict[str, Any]] = {}

    def ancestry(self, project: str) -> list[str]:
        """``projects/N`` of the project, then each folder above it and its organization."""
        found = self._get(f"{self.endpoint}/v3/projects/{project}")
        names = [str(found["name"])]
        parent = str(found.get("parent") or "")
        while parent:
            if parent in names:
                raise ValueError(f"{parent} is its own ancestor")
            names.append(parent)
            if not parent.startswith("folders/"):
                break  # an organization is the root
            if parent not in self._parents:
                above = self._get(f"{self.endpoint}/v3/{parent}")
                self._parents[parent] = str(above.get("parent") or "")
            parent = self._parents[parent]
        return names

    def policy(self, resource: str) -> dict[str, Any]:
        if resource not in self._policies:
            self._policies[resource] = self._post(f"{self.endpoint}/v3/{resource}:getIamPolicy")
        return self._policies[resource]
