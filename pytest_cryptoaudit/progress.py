"""The discovery progress display: keys found, rate and ETA across systems in parallel.

Providers report from their own threads (:meth:`ProgressBoard.update` only counts); the
controller thread renders on every poll (:meth:`ProgressBoard.tick`): one line rewritten in
place on a terminal, a plain line every few seconds otherwise (CI logs stay readable).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

from .text import plural


@dataclasses.dataclass
class SystemProgress:
    keys: int = 0
    errors: int = 0
    expected: int | None = None


class ProgressBoard:
    """Counts per system and renders one summary line."""

    def __init__(self, systems: list[str], write_line: Callable[[str], None],
                 rewrite: Callable[[str], None] | None = None, interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._write_line = write_line
        self._rewrite = rewrite
        self._interval = interval if rewrite is None else 0.5
        self._clock = clock
        self._started = self._last_render = clock()
        self._systems = {name: SystemProgress() for name in systems}
        self._done: set[str] = set()
        self._lock = threading.Lock()
        self._shown = False

    def update(self, system: str, keys: int, errors: int, expected: int | None = None) -> None:
        with self._lock:
            progress = self._systems.setdefault(system, SystemProgress())
            progress.keys, progress.errors = keys, errors
            if expected is not None:
                progress.expected = expected

    def system_done(self, system: str, keys: int, errors: int) -> None:
        self.update(system, keys, errors)
        with self._lock:
            self._done.add(system)
            self._systems[system].expected = keys

    def tick(self) -> None:
        now = self._clock()
        if now - self._last_render < self._interval or not self._systems:
            return
        self._last_render = now
        line = self.line(now)
        if self._rewrite is not None:
            self._rewrite(line)
            self._shown = True
        else:
            self._write_line(line)

    def clear(self) -> None:
        """End the line rewritten in place, so the next output starts on a fresh line."""
        if self._rewrite is not None and self._shown:
            self._rewrite("")
            self._shown = False

    def line(self, now: float | None = None) -> str:
        now = self._clock() if now is None else now
        with self._lock:
            systems = list(self._systems.values())
            done = len(self._done)
        keys = sum(s.keys for s in systems)
        errors = sum(s.errors for s in systems)
        elapsed = max(now - self._started, 1e-6)
        rate = keys / elapsed
        return (f"cryptoaudit: discovery: {done} of {plural(len(systems), 'system')} done, "
                f"{plural(keys, 'key')}, {plural(errors, 'error')}, {rate:,.0f} keys/s, "
                f"ETA {eta(systems, rate)}")


def eta(systems: list[SystemProgress], rate: float) -> str:
    """Time left at the current rate, known once every running system has listed its keys."""
    if any(s.expected is None for s in systems) or rate <= 0:
        return "unknown"
    left = sum(max((s.expected or 0) - s.keys, 0) for s in systems) / rate
    minutes, seconds = divmod(int(left + 0.5), 60)
    return f"{minutes}:{seconds:02d}"
