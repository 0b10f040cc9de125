"""The clock of a check whose outcome depends on time only through thresholds.

A check that compares the audit's instant with a date (a key's cryptoperiod, a
certificate's expiry, a post-quantum roadmap's disallowed date) takes the ``crypto_clock``
fixture and makes every comparison through it::

    def test_not_expired(crypto_key, crypto_clock):
        assert not crypto_clock.reached(crypto_key.expires), "expired"

Time only moves forward, so a threshold already reached stays reached, and one still ahead
can change the outcome only when it arrives. The clock records each threshold still ahead;
the earliest is the instant until which the result stays what it is (``valid_until``), so
an incremental audit may carry it until then (and never past the tier's cadence) and checks
it again after. A check that takes ``crypto_now`` instead, and compares freely, is never
carried. ``now`` is there for messages and notes only: a carried result keeps the words of
the run that established it (its ``carried.at``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

#: The clock of one subject's check in grouped mode, so its report can say how long it holds
#: (a test of its own reads the clock from its ``crypto_clock`` argument).
CLOCK = pytest.StashKey["Clock"]()


class Clock:
    """The audit's instant, compared through methods that note when the answer can change."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.changes: list[datetime] = []

    def reached(self, instant: datetime) -> bool:
        """Whether ``instant`` has come (``now >= instant``)."""
        if instant > self.now:
            self.changes.append(instant)
            return False
        return True

    def passed(self, instant: datetime) -> bool:
        """Whether ``instant`` is behind us (``now > instant``)."""
        if instant >= self.now:
            self.changes.append(instant)
            return False
        return True

    def reached_on(self, day: date) -> bool:
        """Whether the UTC day ``day`` has begun (``today >= day``)."""
        return self.reached(datetime.combine(day, time(), tzinfo=UTC))

    @property
    def today(self) -> date:
        """The UTC date of the audit, for messages and notes."""
        return self.now.date()

    @property
    def valid_until(self) -> datetime | None:
        """The first instant at which the outcome could change, or None when it cannot."""
        return min(self.changes, default=None)


def valid_until_of(item: pytest.Item) -> str | None:
    """The ``valid_until`` of a test that took ``crypto_clock`` (ISO 8601), else None:
    the subject's own clock in grouped mode, else the test's argument."""
    clock = item.stash.get(CLOCK, None)
    if clock is None:
        funcargs: dict[str, Any] | None = getattr(item, "funcargs", None)
        argument = funcargs.get("crypto_clock") if funcargs else None
        clock = argument if isinstance(argument, Clock) else None
    until = clock.valid_until if clock is not None else None
    return until.isoformat() if until is not None else None
