"""Deadlines, request budgets, progress and parallel discovery, on a synthetic provider."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from pytest_cryptoaudit.budget import DeadlineOptions, RateLimiter, RequestBudgets, SystemWatch
from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.discovery import discover_all
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.progress import ProgressBoard
from pytest_cryptoaudit.providers import (
    Discovery,
    DiscoveryContext,
    Provider,
    ProviderOptions,
    ProviderRegistry,
)


class Panic(BaseException):
    """Like pyo3's PanicException: a BaseException that is not a request to stop."""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_watch_cuts_off_on_stall_and_on_budget_but_progress_keeps_it_alive():
    clock = Clock()
    watch = SystemWatch("s", stall_seconds=10, budget_seconds=100, clock=clock)
    clock.now = 9.9
    assert watch.overdue() is None
    watch.completed()
    clock.now = 19.0
    assert watch.overdue() is None
    clock.now = 20.0
    assert "no request completed for 10 s (stall_timeout) after 1 completed" in watch.overdue()
    watch.completed()
    clock.now = 100.5
    assert "time_budget of 100 s exceeded" in watch.overdue()


def test_the_default_never_cuts_off_a_healthy_100000_key_account():
    clock = Clock()
    defaults = SystemWatch.for_options("big", DeadlineOptions())
    watch = SystemWatch("big", defaults.stall_seconds, defaults.budget_seconds, clock=clock)
    for _ in range(100_000 * 6):  # six calls per key, each taking 50 ms, for 8.3 hours
        clock.now += 0.05
        watch.completed()
        assert watch.overdue() is None
    assert watch.budget_seconds is None and watch.stall_seconds == 300


def test_a_cut_off_watch_stops_new_requests():
    watch = SystemWatch("s")
    watch.check()
    watch.cut_off("stalled")
    with pytest.raises(Exception, match="s: cut off: stalled"):
        watch.check()


def test_a_rate_limiter_holds_to_its_rate_after_a_one_second_burst():
    clock = Clock()
    limiter = RateLimiter(5.0, clock=clock, sleep=clock.sleep)
    for _ in range(15):
        limiter.acquire()
    assert clock.now == pytest.approx(2.0)  # 5 from the burst, then 10 at 5 per second


def test_budgets_are_shared_per_scope_and_operation_and_scaled():
    budgets = RequestBudgets()
    quotas = {"DescribeKey": 2000.0, "ListGrants": 100.0}
    first = budgets.limiter("111/eu-west-1", "ListGrants", quotas, 0.25)
    assert first is budgets.limiter("111/eu-west-1", "ListGrants", quotas, 0.25)
    assert first is not budgets.limiter("222/eu-west-1", "ListGrants", quotas, 0.25)
    assert first is not None and first.rate == 25.0
    assert budgets.limiter("111/eu-west-1", "ListKeys", quotas, 0.25) is None


def test_progress_shows_keys_rate_and_eta_once_every_system_has_listed():
    clock = Clock()
    lines: list[str] = []
    board = ProgressBoard(["a", "b"], lines.append, interval=2.0, clock=clock)
    board.update("a", 100, 0, expected=400)
    clock.now = 10.0
    board.tick()
    assert lines == ["cryptoaudit: discovery: 0 of 2 systems done, 100 keys, 0 errors, "
                     "10 keys/s, ETA unknown"]
    board.update("b", 100, 1, expected=200)
    clock.now = 20.0
    board.tick()
    assert lines[-1].endswith("200 keys, 1 error, 10 keys/s, ETA 0:40")
    clock.now = 21.0
    board.tick()
    assert len(lines) == 2  # plain lines no more often than the interval


def test_on_a_terminal_the_line_is_rewritten_in_place():
    clock = Clock()
    rewritten: list[str] = []
    board = ProgressBoard(["a"], lambda line: None, rewritten.append, clock=clock)
    board.update("a", 5, 0)
    for step in range(1, 4):
        clock.now = step * 0.5
        board.tick()
    board.clear()
    assert len(rewritten) == 4 and rewritten[-1] == ""


# -- parallel discovery over a synthetic provider ---------------------------------------------

class SleepyOptions(ProviderOptions, DeadlineOptions):
    delay: float = 0.0
    hang: bool = False
    panic: bool = False


class SleepyProvider(Provider):
    """Sleeps ``delay``, then finds one key; or hangs; or raises a BaseException."""

    name = "sleepy"
    Options = SleepyOptions
    running = 0
    most = 0
    lock = threading.Lock()
    release = threading.Event()

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        cls = type(self)
        with cls.lock:
            cls.running += 1
            cls.most = max(cls.most, cls.running)
        try:
            if system.options.hang:
                cls.release.wait()
            if system.options.panic:
                raise Panic("a panic from a parser")
            time.sleep(system.options.delay)
            attempt = self.new_discovery(system)
            attempt.add_key(f"{system.name}-key", "secret-key")
            return attempt
        finally:
            with cls.lock:
                cls.running -= 1


def sleepy_config(*systems: dict[str, Any]) -> tuple[Any, ProviderRegistry]:
    registry = ProviderRegistry()
    registry.register(SleepyProvider)
    raw = {"systems": [{"provider": "sleepy", "risk_tier": "low", "owner": "CSC", **s}
                       for s in systems]}
    return parse_config(raw, registry, list(BUILTIN_SETTINGS)), registry


def run(config: Any, registry: ProviderRegistry, parallel: int) -> tuple[Any, list[str]]:
    done: list[str] = []
    context = DiscoveryContext(policy=config.policy, now=datetime.now(UTC))
    inventory = discover_all(config, registry, context, parallel=parallel,
                             on_system_done=lambda attempt: done.append(attempt.system.name))
    return inventory, done


def test_systems_run_in_parallel_bounded_and_report_in_configuration_order():
    SleepyProvider.most = 0
    config, registry = sleepy_config(*({"name": f"s{i}", "delay": 0.4 - 0.1 * i}
                                       for i in range(4)), {"name": "s4", "delay": 0.0})
    began = time.monotonic()
    inventory, done = run(config, registry, parallel=3)
    assert done == ["s0", "s1", "s2", "s3", "s4"]
    assert SleepyProvider.most == 3
    assert [key.uid for key in inventory.keys] == [f"s{i}-key" for i in range(5)]
    assert time.monotonic() - began < 0.4 + 0.3 + 0.2 + 0.1  # less than one after another


def test_a_hanging_system_is_cut_off_and_the_others_complete():
    SleepyProvider.release.clear()
    config, registry = sleepy_config({"name": "stuck", "hang": True, "stall_timeout": 0.5},
                                     {"name": "fine"})
    try:
        inventory, done = run(config, registry, parallel=2)
    finally:
        SleepyProvider.release.set()
    assert done == ["stuck", "fine"]
    [error] = inventory.errors
    assert error.system == "stuck"
    assert "cut off: no request completed for 0.5 s (stall_timeout)" in error.reason
    assert [key.uid for key in inventory.keys] == ["fine-key"]


def test_a_base_exception_in_a_provider_is_an_error_not_a_lost_run():
    config, registry = sleepy_config({"name": "panics", "panic": True}, {"name": "fine"})
    inventory, done = run(config, registry, parallel=2)
    [error] = inventory.errors
    assert error.system == "panics" and "Panic: a panic" in error.reason
    assert done == ["panics", "fine"]


def test_time_spent_waiting_for_a_slot_does_not_count_against_a_system():
    config, registry = sleepy_config({"name": "slow", "delay": 0.8},
                                     {"name": "queued", "stall_timeout": 0.5})
    inventory, done = run(config, registry, parallel=1)
    assert not inventory.errors
    assert done == ["slow", "queued"]
