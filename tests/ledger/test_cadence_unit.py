"""The cadence table itself: defaults, overrides, intervals and the next due date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pytest_cryptoaudit.cadence import (
    ANNUAL_FLOOR_DAYS,
    DEFAULT_CADENCE_DAYS,
    effective_cadence,
    interval,
    next_due,
)
from pytest_cryptoaudit.model import RiskTier

LAST = datetime(2026, 3, 1, 6, tzinfo=UTC)


def test_defaults_follow_the_tier_and_stay_within_a_year():
    assert {t.value: d for t, d in DEFAULT_CADENCE_DAYS.items()} == {
        "critical": 1, "high": 30, "medium": 90, "low": 365}
    assert ANNUAL_FLOOR_DAYS == 365 == max(DEFAULT_CADENCE_DAYS.values())


def test_overrides_replace_only_the_tiers_given():
    cadence = effective_cadence({"high": 7, "low": None})
    assert cadence[RiskTier.HIGH] == 7
    assert cadence[RiskTier.LOW] == 365  # None keeps the default
    assert cadence[RiskTier.CRITICAL] == 1
    assert effective_cadence(None) == dict(DEFAULT_CADENCE_DAYS)
    assert effective_cadence({}) == dict(DEFAULT_CADENCE_DAYS)


@pytest.mark.parametrize(("tier", "days"), [("critical", 1), ("high", 30), ("medium", 90),
                                            (RiskTier.LOW, 365)])
def test_interval_and_next_due_by_tier(tier, days):
    assert interval(tier) == timedelta(days=days)
    assert next_due(tier, LAST) == LAST + timedelta(days=days)


def test_next_due_uses_the_given_cadence_and_never_audited_is_due_now():
    cadence = effective_cadence({"medium": 14})
    assert interval("medium", cadence) == timedelta(days=14)
    assert next_due("medium", LAST, cadence) == datetime(2026, 3, 15, 6, tzinfo=UTC)
    assert next_due("medium", None, cadence) is None
