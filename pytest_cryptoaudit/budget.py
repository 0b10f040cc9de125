"""Deadlines and request budgets shared by every provider that talks to a remote system.

Three promises live here. A system that makes no progress (no request completes) for
``stall_timeout`` seconds, or that exceeds its optional ``time_budget``, is cut off: the run
records an error naming it and goes on with the other systems. Every request is bounded by
total time and answer size (see :mod:`pytest_cryptoaudit.transport`). And calls to an API
with a published quota go through a token bucket per (scope, operation), set to a fraction of
the quota because the audited account's production traffic shares it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Annotated

import pydantic

MIB = 1024 * 1024
#: Generous on purpose: a healthy estate completes requests many times per second, so only a
#: system that answers nothing at all for five minutes is cut off.
DEFAULT_STALL_SECONDS = 300.0


class DeadlineOptions(pydantic.BaseModel):
    """When to give up on a whole system (documented in docs/reliability.md); a provider's
    options class lists it after ``ProviderOptions``."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)

    #: Seconds without any completed request after which the system is cut off.
    stall_timeout: Annotated[float, pydantic.Field(gt=0)] = DEFAULT_STALL_SECONDS
    #: Seconds the whole discovery of the system may take; none by default.
    time_budget: Annotated[float, pydantic.Field(gt=0)] | None = None


class LimitOptions(DeadlineOptions):
    """Deadlines plus the bounds of each HTTP request, for providers that speak HTTP."""

    #: Seconds one request may take in all, from sending it to the answer's last byte.
    request_timeout: Annotated[float, pydantic.Field(gt=0, le=3600)] = 60.0
    #: Largest answer read for one request, in MiB; a larger one is an error.
    max_response_mib: Annotated[float, pydantic.Field(gt=0, le=4096)] = 32.0

    @property
    def max_response_bytes(self) -> int:
        return int(self.max_response_mib * MIB)


class SystemCutOff(Exception):
    """Raised inside a system's discovery once the run has given up on that system."""


class SystemWatch:
    """Progress and deadlines of one system's discovery.

    Worker threads call :meth:`completed` whenever a request completes and :meth:`check`
    before starting one; the controller polls :meth:`overdue` and calls :meth:`cut_off`.
    """

    def __init__(self, system: str, stall_seconds: float | None = None,
                 budget_seconds: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.system = system
        self.stall_seconds = stall_seconds
        self.budget_seconds = budget_seconds
        self._clock = clock
        self.started = self._last_progress = clock()
        self.requests = 0
        self.reason: str | None = None
        self.cancelled = threading.Event()

    @classmethod
    def for_options(cls, system: str, options: object) -> SystemWatch:
        """The watch a system's options ask for (providers without limits get none)."""
        if not isinstance(options, DeadlineOptions):
            return cls(system)
        return cls(system, options.stall_timeout, options.time_budget)

    def restart(self) -> None:
        """Start the clocks now: time spent waiting for a slot is not the system's."""
        self.started = self._last_progress = self._clock()

    def completed(self) -> None:
        self.requests += 1  # a lost increment under a race only delays nothing: time is kept
        self._last_progress = self._clock()

    def overdue(self) -> str | None:
        """Why the system must be cut off now, or None."""
        now = self._clock()
        if self.budget_seconds is not None and now - self.started > self.budget_seconds:
            return (f"time_budget of {self.budget_seconds:g} s exceeded after "
                    f"{self.requests} completed requests")
        if self.stall_seconds is not None and now - self._last_progress > self.stall_seconds:
            return (f"no request completed for {self.stall_seconds:g} s (stall_timeout) "
                    f"after {self.requests} completed requests")
        return None

    def cut_off(self, reason: str) -> None:
        self.reason = reason
        self.cancelled.set()

    def check(self) -> None:
        """Raise :class:`SystemCutOff` once the system was cut off (stop starting requests)."""
        if self.cancelled.is_set():
            raise SystemCutOff(f"{self.system}: cut off: {self.reason}")


class RateLimiter:
    """A token bucket: at most ``rate`` acquisitions per second, bursts of one second."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self.acquired = 0
        self._tokens = rate
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is free; returns the seconds waited."""
        with self._lock:
            self.acquired += 1
            now = self._clock()
            self._tokens = min(self.rate, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


class RequestBudgets:
    """One limiter per (scope, operation), shared by every system of the run that calls the
    same account and region, so two systems over one account share its quota."""

    def __init__(self) -> None:
        self._limiters: dict[tuple[str, str], RateLimiter] = {}
        self._lock = threading.Lock()

    def limiter(self, scope: str, operation: str, quotas: Mapping[str, float],
                fraction: float) -> RateLimiter | None:
        quota = quotas.get(operation)
        if quota is None:
            return None
        with self._lock:
            key = (scope, operation)
            if key not in self._limiters:
                self._limiters[key] = RateLimiter(max(quota * fraction, 1.0))
            return self._limiters[key]


    def acquired(self, scope: str, operation: str) -> int:
        """How many calls the budget of (scope, operation) has let through so far."""
        with self._lock:
            limiter = self._limiters.get((scope, operation))
        return limiter.acquired if limiter else 0


#: The run's budgets; per process, since quotas are per account and region, not per system.
BUDGETS = RequestBudgets()
