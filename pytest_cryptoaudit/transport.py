"""HTTP answers bounded by total time and by size, for botocore and requests alike.

urllib3's read timeout is per ``recv``: a server that trickles one byte every half second
never trips it, and nothing bounds how much an answer may hold. Both clients read answers
through ``http.client.HTTPResponse``, which a connection class names as its
``response_class``; ours reads through :class:`LimitedReader`, which shortens each read's
timeout to the time left, counts the bytes, and stops reading once the system was cut off.
"""

from __future__ import annotations

import http.client
import io
import time
from typing import Any

from .budget import SystemCutOff, SystemWatch


class RequestLimitExceeded(Exception):
    """An answer took too long in all or was too large. Deliberately not an OSError, so
    urllib3 does not rewrap it as "connection broken" and its message reaches the user."""


class Limits:
    """Per-request bounds of one system's connections."""

    def __init__(self, request_seconds: float, max_bytes: int, watch: SystemWatch) -> None:
        self.request_seconds = request_seconds
        self.max_bytes = max_bytes
        self.watch = watch

    @classmethod
    def of(cls, options: Any, watch: SystemWatch) -> Limits:
        return cls(options.request_timeout, options.max_response_bytes, watch)


class LimitedReader(io.RawIOBase):
    """Raw reads from a buffered socket file, one ``recv`` at most per read."""

    def __init__(self, inner: Any, sock: Any, limits: Limits) -> None:
        super().__init__()
        self._inner = inner
        self._sock = sock
        self._limits = limits
        self._deadline = time.monotonic() + limits.request_seconds
        self._per_read = sock.gettimeout()
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._limits.watch.check()
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._too_slow()
        shortened = self._per_read is None or remaining < self._per_read
        if shortened:
            self._sock.settimeout(remaining)
        try:
            count: int = self._inner.readinto1(buffer)
        except TimeoutError:
            if shortened:  # the read timed out on the request's deadline, not per read
                raise self._too_slow() from None
            raise
        finally:
            if shortened:
                self._sock.settimeout(self._per_read)
        self.received += count
        if self.received > self._limits.max_bytes:
            raise RequestLimitExceeded(
                f"answer larger than {self._limits.max_bytes / 2**20:g} MiB "
                "(max_response_mib); not read further")
        return count

    def _too_slow(self) -> RequestLimitExceeded:
        return RequestLimitExceeded(f"no complete answer within "
                                    f"{self._limits.request_seconds:g} s (request_timeout)")

    def close(self) -> None:
        self._inner.close()
        super().close()


def response_class(limits: Limits) -> type[http.client.HTTPResponse]:
    """An ``http.client.HTTPResponse`` that reads through a :class:`LimitedReader`."""

    class LimitedResponse(http.client.HTTPResponse):
        def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(sock, *args, **kwargs)
            self.fp = io.BufferedReader(LimitedReader(self.fp, sock, limits))

    return LimitedResponse


def pool_classes(limits: Limits, http_pool: type, https_pool: type) -> dict[str, type]:
    """Subclasses of urllib3 connection pools whose connections read limited answers."""
    answer = response_class(limits)

    def bound(pool: Any) -> type:
        connection = type(f"Limited{pool.ConnectionCls.__name__}", (pool.ConnectionCls,),
                          {"response_class": answer})
        return type(f"Limited{pool.__name__}", (pool,), {"ConnectionCls": connection})

    return {"http": bound(http_pool), "https": bound(https_pool)}


def limit_botocore_client(client: Any, limits: Limits) -> None:
    """Bound every answer of a botocore client, count completed calls as progress, and stop
    starting calls once the system is cut off.

    botocore exposes no public way to choose its connection classes; its HTTP session keeps
    the pool classes in a dict that its pool managers share, set here before the first call.
    """
    from botocore.awsrequest import AWSHTTPConnectionPool, AWSHTTPSConnectionPool

    session = client._endpoint.http_session
    session._pool_classes_by_scheme.update(
        pool_classes(limits, AWSHTTPConnectionPool, AWSHTTPSConnectionPool))
    events = client.meta.events
    events.register("before-call", lambda **kwargs: limits.watch.check())
    # after-call follows every answer parsed, refusals included: the system answered.
    events.register("after-call", lambda **kwargs: limits.watch.completed())


def limited_adapter(limits: Limits, **adapter_arguments: Any) -> Any:
    """A requests ``HTTPAdapter`` whose answers are bounded and count as progress."""
    from requests.adapters import HTTPAdapter
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    classes = pool_classes(limits, HTTPConnectionPool, HTTPSConnectionPool)

    class LimitedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = classes

        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            limits.watch.check()
            # The cap counts bytes on the wire; a compressed answer could inflate past it.
            request.headers["Accept-Encoding"] = "identity"
            response = super().send(request, *args, **kwargs)
            limits.watch.completed()
            encoding = response.headers.get("Content-Encoding", "").strip().lower()
            if encoding not in ("", "identity"):
                response.close()
                raise RequestLimitExceeded(f"answer compressed ({encoding}) although not "
                                           "asked for: refused, its size cannot be bounded")
            return response

    return LimitedAdapter(**adapter_arguments)


__all__ = ["Limits", "RequestLimitExceeded", "SystemCutOff", "limit_botocore_client",
           "limited_adapter"]
