"""Run every configured system's provider once and gather one inventory.

Systems are discovered in parallel, at most ``parallel`` at a time, each on its own daemon
thread, while the calling thread watches them. A provider that raises does not end the run:
its system becomes a discovery error that a test reports. A system that stops making
progress (or exceeds its time budget) is cut off the same way, and the run goes on without
waiting for it. Results are reported and gathered in configuration order, whatever order
the systems finish in, so output and evidence do not depend on timing.
Only what stops the process on purpose (Ctrl-C, ``sys.exit``) gets through; a Rust panic in a
parser does not.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

from .budget import SystemWatch
from .config import AuditConfig, SystemConfig
from .isolation import describe, must_propagate
from .model import (
    DiscoveryError,
    EndpointRecord,
    Inventory,
    KeyRecord,
    LibraryRecord,
    SystemRecord,
)
from .owners import apply_tags
from .providers import Discovery, DiscoveryContext, ProviderRegistry

DEFAULT_PARALLEL = 4
#: How often the controller looks at the running systems' deadlines and the progress line.
POLL_SECONDS = 0.25


def discover_system(
    system: SystemConfig, registry: ProviderRegistry, context: DiscoveryContext
) -> Discovery:
    """One attempt at one system; an unexpected exception becomes a system-level error."""
    provider_class = registry.get(system.provider)
    try:
        return provider_class().discover(system, context)
    except BaseException as exc:  # a failure to look must become a result, never a crash
        if must_propagate(exc):
            raise
        attempt = provider_class.new_discovery(system)
        attempt.error(f"discovery failed: {describe(exc)}")
        return attempt


class SystemRun:
    """One system's discovery on its own daemon thread, which may be abandoned: a thread
    stuck on a hostile server must not keep the run (or the interpreter) alive."""

    def __init__(self, system: SystemConfig, registry: ProviderRegistry,
                 context: DiscoveryContext, finished: threading.Event) -> None:
        self.system = system
        self.registry = registry
        self.watch = SystemWatch.for_options(system.name, system.options)
        self.context = dataclasses.replace(context, watch=self.watch,
                                           progress=self._progress(context.progress))
        self.result: Discovery | None = None
        #: Ctrl-C or ``sys.exit`` raised on this system's thread, re-raised by the watcher.
        self.stopped: BaseException | None = None
        self._finished = finished
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"cryptoaudit-{system.name}")

    def _progress(self, report: Callable[..., None]) -> Callable[..., None]:
        def progress(system: str, keys: int, errors: int, expected: int | None = None) -> None:
            self.watch.completed()
            if expected is None:  # a sink written before ``expected`` existed still works
                report(system, keys, errors)
            else:
                report(system, keys, errors, expected=expected)
        return progress

    def start(self) -> None:
        self.watch.restart()
        self._thread.start()

    def _run(self) -> None:
        try:
            result = discover_system(self.system, self.registry, self.context)
        except BaseException as exc:  # even a panic must not leave the run waiting
            if must_propagate(exc):
                self.stopped = exc
            result = self._failed(f"discovery failed: {describe(exc)}")
        self._settle(result)
        self._finished.set()

    def _settle(self, result: Discovery) -> bool:
        with self._lock:
            if self.result is not None:
                return False
            self.result = result
            return True

    def _failed(self, reason: str) -> Discovery:
        attempt = self.registry.get(self.system.provider).new_discovery(self.system)
        attempt.error(reason)
        return attempt

    def check_deadlines(self) -> None:
        """Cut the system off if it is overdue; its thread is left to wind down alone."""
        reason = self.watch.overdue() if self.result is None else None
        if reason is None:
            return
        if self._settle(self._failed(f"discovery cut off: {reason}; nothing read from this "
                                     "system is used")):
            self.watch.cut_off(reason)


def discover_all(
    audit_config: AuditConfig,
    registry: ProviderRegistry,
    context: DiscoveryContext,
    on_system_done: Callable[[Discovery], None] = lambda attempt: None,
    parallel: int = DEFAULT_PARALLEL,
    tick: Callable[[], None] = lambda: None,
) -> Inventory:
    """Discover every system (``parallel`` at a time); ``tick`` runs on every poll."""
    return Discovering(audit_config, registry, context, parallel).finish(on_system_done, tick)


class Discovering:
    """A discovery begun now and finished later: the first ``parallel`` systems start on
    their threads at once, so the caller can go on with other work (pytest starting its
    xdist workers, say) while the providers wait on their servers; :meth:`finish` watches
    the runs to the end on the calling thread, where progress and results are reported."""

    def __init__(self, audit_config: AuditConfig, registry: ProviderRegistry,
                 context: DiscoveryContext, parallel: int = DEFAULT_PARALLEL) -> None:
        self.audit_config = audit_config
        self.registry = registry
        self.parallel = max(parallel, 1)
        self._finished = threading.Event()
        self._runs = [SystemRun(system, registry, context, self._finished)
                      for system in audit_config.systems]
        self._waiting = list(self._runs)
        self._started = 0
        self._start_more()

    def _start_more(self) -> None:
        runs = self._runs
        while self._waiting and self._started - _count_done(runs[:self._started]) < self.parallel:
            self._waiting.pop(0).start()
            self._started += 1

    def finish(self, on_system_done: Callable[[Discovery], None] = lambda attempt: None,
               tick: Callable[[], None] = lambda: None) -> Inventory:
        """Watch every system to its end (or cut-off) and gather one inventory."""
        runs, reported = self._runs, 0
        while reported < len(runs):
            self._start_more()
            for run in runs[:self._started]:
                if run.stopped is not None:
                    raise run.stopped
                run.check_deadlines()
            while reported < self._started and runs[reported].result is not None:
                on_system_done(runs[reported].result)  # type: ignore[arg-type]
                reported += 1
            tick()
            if reported < len(runs):
                self._finished.wait(POLL_SECONDS)
                self._finished.clear()
        attempts = [run.result for run in runs if run.result is not None]
        return _gather(attempts, self.audit_config, self.registry)


def _count_done(runs: list[SystemRun]) -> int:
    return sum(run.result is not None for run in runs)


def _gather(attempts: list[Discovery], audit_config: AuditConfig,
            registry: ProviderRegistry) -> Inventory:
    keys: list[KeyRecord] = []
    systems: list[SystemRecord] = []
    errors: list[DiscoveryError] = []
    endpoints: list[EndpointRecord] = []
    libraries: list[LibraryRecord] = []
    for system, attempt in zip(audit_config.systems, attempts, strict=True):
        keys.extend(_tagged(attempt.keys, audit_config, system, registry))
        systems.append(_with_review(attempt.system, audit_config))
        errors.extend(attempt.errors)
        endpoints.extend(attempt.endpoints)
        libraries.extend(attempt.libraries)
    return Inventory.build(keys, systems, errors, endpoints, libraries)


def _with_review(system: SystemRecord, audit_config: AuditConfig) -> SystemRecord:
    """The system with the sign-off its tier requires (``[review]``), which CEK-09
    ``results-reviewed`` applies to; a system that needs none is not-applicable there."""
    from .ledger.review import requirement

    need = requirement(audit_config.review, system.risk_tier)
    if not need.required:
        return system
    return dataclasses.replace(system, attributes={
        **system.attributes, "review_roles": list(need.roles), "review_days": need.days})


def _tagged(keys: list[KeyRecord], audit_config: AuditConfig, system: SystemConfig,
            registry: ProviderRegistry) -> list[KeyRecord]:
    """The keys with their tier and owners as their tags (spelt as the service spells
    them) override the system's, and their tenants as ``[tenancy]`` declares them."""
    names = audit_config.tags.mapped(registry.get(system.provider).tag_name)
    tenancy = audit_config.tenancy
    return [tenancy.annotate(apply_tags(key, names, require_tier_tag=system.require_tier_tag))
            for key in keys]
