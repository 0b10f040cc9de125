"""Read-only access to one Vault-API server (HashiCorp Vault or OpenBao) through hvac.

Every read names its path, and every failure (permission denied, sealed, timed out,
unreachable) becomes a :class:`VaultReadError` that says which path and why, so the
provider can turn it into a discovery error instead of an empty result. The token is read
from an environment variable or a file, handed to hvac, and never stored, logged or shown.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ...transport import Limits, RequestLimitExceeded, limited_adapter

if TYPE_CHECKING:
    import hvac

#: HTTP statuses worth another try with backoff; 503 (sealed, standby) is not transient.
RETRY_STATUSES = (429, 502, 504)


class VaultReadError(Exception):
    """A read that failed; the message names the path and the reason, never the token."""

    def __init__(self, path: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.status = status

    @property
    def denied(self) -> bool:
        """The server refused the token (401) or the path (403)."""
        return self.status in (401, 403)


def path_of(*parts: str) -> str:
    """Join a mount and names into an API path, quoting each name (not the mount)."""
    mount, *names = parts
    return "/".join([mount.strip("/"), *(quote(n, safe="") for n in names)])


def namespace_ancestors(namespace: str | None) -> list[str]:
    """The namespaces above ``namespace``, outermost first, "" standing for the root:
    ``a/b/c`` -> ``["", "a", "a/b"]``; none for the root namespace itself."""
    if not namespace or not namespace.strip("/"):
        return []
    parts = namespace.strip("/").split("/")
    return ["/".join(parts[:depth]) for depth in range(len(parts))]


def path_prefixes(below: str) -> list[str]:
    """The path prefixes of every namespace from one down to ``below`` (a namespace's path
    as seen from it): ``b/c`` -> ``["", "b/", "b/c/"]``."""
    parts = [part for part in below.split("/") if part]
    return ["".join(f"{part}/" for part in parts[:depth]) for depth in range(len(parts) + 1)]


def load_token(token_env: str, token_file: str | None, base_dir: Path) -> str:
    """The token from ``token_file`` (if set) or the ``token_env`` environment variable."""
    if token_file:
        path = Path(token_file).expanduser()
        path = path if path.is_absolute() else base_dir / path
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise VaultReadError("token", f"cannot read token_file {path}: "
                                 f"{getattr(exc, 'strerror', None) or exc}") from None
        if not token:
            raise VaultReadError("token", f"token_file {path} is empty")
        return token
    token = os.environ.get(token_env, "").strip()
    if not token:
        raise VaultReadError("token", f"environment variable {token_env} is not set "
                             "(token_env names the variable holding the token)")
    return token


class VaultReader:
    """GET and LIST on API paths of one server, with a timeout, retries and a shared pool."""

    def __init__(self, client: hvac.Client, timeout: float,
                 above: dict[str, hvac.Client] | None = None) -> None:
        self._client = client
        #: Namespace ("" for the root) -> a client of the same connection in it: the
        #: namespaces above the audited one, or only the root when none is audited.
        self._above = above or {"": client}
        self.timeout = timeout

    @classmethod
    def connect(cls, url: str, token: str, *, namespace: str | None, verify: bool | str,
                timeout: float, retries: int, pool_size: int, limits: Limits) -> VaultReader:
        import hvac
        import requests
        from urllib3.util.retry import Retry

        retry = Retry(total=retries, connect=retries, read=retries, status=retries,
                      backoff_factor=0.2, status_forcelist=RETRY_STATUSES,
                      allowed_methods=frozenset({"GET", "LIST"}), raise_on_status=False)
        session = requests.Session()
        session.verify = verify  # hvac prefers a given session's verify over its own argument
        adapter = limited_adapter(limits, max_retries=retry, pool_connections=1,
                                  pool_maxsize=pool_size)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        settings = {"url": url, "token": token, "verify": verify, "timeout": timeout,
                    "session": session}
        client = hvac.Client(namespace=namespace, **settings)
        above = {ancestor: hvac.Client(namespace=ancestor or None, **settings)
                 for ancestor in namespace_ancestors(namespace)}
        return cls(client, timeout, above)

    def root_namespace(self) -> VaultReader:
        """The same connection without a namespace, for server-wide paths (``sys/audit``)."""
        return self.in_namespace("")

    def in_namespace(self, namespace: str) -> VaultReader:
        """The same connection in a namespace above the audited one ("" for the root)."""
        if namespace not in self._above:
            raise ValueError(f"namespace {namespace!r} is not above the audited one")
        return VaultReader(self._above[namespace], self.timeout)

    def close(self) -> None:
        self._client.adapter.close()

    def get(self, path: str) -> dict[str, Any]:
        """The ``data`` of a GET on ``path``."""
        return self._data(path, self._request("get", path))

    def names(self, path: str) -> list[str]:
        """The names under ``path``; Vault answers 404 to a LIST with nothing under it."""
        return list(self.list_with_info(path)[0])

    def list_with_info(self, path: str) -> tuple[list[str], dict[str, Any]]:
        """Names and ``key_info`` of a LIST (PKI issuers report their default flag there)."""
        import hvac.exceptions

        try:
            response = self._request("list", path)
        except hvac.exceptions.InvalidPath:
            return [], {}
        data = self._data(path, response)
        keys = data.get("keys") or []
        if not isinstance(keys, list):
            raise VaultReadError(path, "unexpected LIST response (no list of keys)")
        return [str(k) for k in keys], dict(data.get("key_info") or {})

    def lookup(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """The ``data`` of a POST that only reads (``auth/token/lookup-accessor``)."""
        return self._data(path, self._request("post", path, body))

    def get_unauthenticated_status(self, path: str) -> dict[str, Any]:
        """A GET on an endpoint whose answer is the top-level object (``sys/seal-status``)."""
        response = self._request("get", path)
        if not isinstance(response, dict):
            raise VaultReadError(path, "unexpected response (not a JSON object)")
        return response

    def _data(self, path: str, response: Any) -> dict[str, Any]:
        if not isinstance(response, dict) or not isinstance(response.get("data"), dict):
            raise VaultReadError(path, "unexpected response (no data object)")
        return dict(response["data"])

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import hvac.exceptions
        import requests

        try:
            if body is not None:
                return getattr(self._client.adapter, method)(f"/v1/{path}", json=body)
            return getattr(self._client.adapter, method)(f"/v1/{path}")
        except hvac.exceptions.InvalidPath:
            if method == "list":
                raise
            raise VaultReadError(path, "not found (HTTP 404)") from None
        except hvac.exceptions.VaultError as exc:
            raise VaultReadError(path, _describe_vault_error(exc),
                                 _STATUS_CODES.get(type(exc).__name__)) from None
        except requests.exceptions.SSLError as exc:
            raise VaultReadError(path, f"TLS verification failed: {_first_line(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise VaultReadError(path, self._connection_failure(exc)) from None
        except RequestLimitExceeded as exc:
            raise VaultReadError(path, str(exc)) from None

    def _connection_failure(self, exc: Exception) -> str:
        if _refused(exc):
            return "connection refused (is the server running, and is the url right?)"
        if _timed_out(exc):
            return f"timed out after {self.timeout:g}s"
        return f"cannot connect: {_first_line(exc)}"


_STATUS_REASONS = {
    "Forbidden": "permission denied (HTTP 403)",
    "Unauthorized": "token rejected (HTTP 401)",
    "VaultDown": "server sealed or unavailable (HTTP 503)",
    "VaultNotInitialized": "server not initialized (HTTP 501)",
    "RateLimitExceeded": "rate limited (HTTP 429)",
    "InternalServerError": "server error (HTTP 500)",
}


_STATUS_CODES = {"Forbidden": 403, "Unauthorized": 401}


def _describe_vault_error(exc: Exception) -> str:
    reason = _STATUS_REASONS.get(type(exc).__name__, type(exc).__name__)
    errors = [" ".join(str(e).split()) for e in (getattr(exc, "errors", None) or [])]
    errors = [e for e in errors if e and "permission denied" not in e]
    return f"{reason}: {'; '.join(errors)}" if errors else reason


def _retry_reason(exc: Exception) -> object:
    """What urllib3's retries gave up on (requests wraps it in ``MaxRetryError``)."""
    return getattr(exc.args[0] if exc.args else None, "reason", None)


def _refused(exc: Exception) -> bool:
    """The server's host actively refused the connection (nothing listens there)."""
    import urllib3.exceptions

    reason = _retry_reason(exc)
    return (isinstance(reason, urllib3.exceptions.NewConnectionError)
            and isinstance(reason.__cause__ or reason.__context__, ConnectionRefusedError))


def _timed_out(exc: Exception) -> bool:
    """A timeout, also when urllib3's retries wrapped it in a connection error. urllib3's
    NewConnectionError (refused, unreachable) subclasses its timeout error: not a timeout."""
    import requests
    import urllib3.exceptions

    if isinstance(exc, requests.exceptions.Timeout):
        return True
    reason = _retry_reason(exc)
    return (isinstance(reason, urllib3.exceptions.TimeoutError)
            and not isinstance(reason, urllib3.exceptions.NewConnectionError))


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
