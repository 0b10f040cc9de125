"""Values read from infrastructure code, and the marker of a value that cannot be read.

A value the code does not fix (an expression the reader cannot resolve, an attribute known
only after apply, a CloudFormation parameter without default) is an :class:`Unknown`
carrying the reason; the record builders turn it into an ``unreadable`` fact, so the check
that needs it errors with the reason instead of passing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

AFTER_APPLY = "known only after apply"
ISO_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$")
GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms)")
DAYS_PER = {"years": 365, "months": 30, "weeks": 7, "days": 1,
            "hours": 1 / 24, "minutes": 1 / 1440, "seconds": 1 / 86400}


@dataclasses.dataclass(frozen=True)
class Unknown:
    """A value the code does not fix; ``reason`` names the expression and why."""

    reason: str
    #: The resource a reference points at (``aws_kms_key.payments``), for links between
    #: resources whose value is known only after apply.
    address: str | None = None


def known(value: Any) -> bool:
    return not isinstance(value, Unknown)


def first_unknown(value: Any) -> Unknown | None:
    """The first unknown value nested anywhere in ``value``, or None if it is all known."""
    if isinstance(value, Unknown):
        return value
    if isinstance(value, Mapping):
        children: Any = value.values()
    elif isinstance(value, list | tuple):
        children = value
    else:
        return None
    for child in children:
        found = first_unknown(child)
        if found is not None:
            return found
    return None


def iso_duration_days(text: str) -> float | None:
    """Days of an ISO 8601 duration (``P90D``, ``P1Y``, ``PT12H``); None if not one."""
    match = ISO_DURATION.match(text.strip().upper())
    if not match or text.strip().upper() in ("P", "PT"):
        return None
    return sum(int(v) * DAYS_PER[k] for k, v in match.groupdict().items() if v)


def seconds_days(text: str) -> float | None:
    """Days of a protobuf duration (``7776000s``) as Google APIs write them."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", text.strip())
    return float(match.group(1)) / 86400 if match else None


def go_duration_days(text: str) -> float | None:
    """Days of a Go duration (``2160h``, ``720h0m0s``) as cert-manager writes them."""
    parts = GO_DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return None
    scale = {"h": 1 / 24, "m": 1 / 1440, "s": 1 / 86400, "ms": 1 / 86_400_000}
    return sum(float(number) * scale[unit] for number, unit in parts)
