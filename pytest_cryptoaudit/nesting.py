"""A bound on how deeply a configuration or waivers file may nest arrays and tables.

``tomllib`` and PyYAML parse nesting by recursion, so a file of a few thousand ``[`` ends in
RecursionError; and data nested just below that limit would fail later, in whichever
recursive step (hashing, validation) touches it first. No real configuration nests anywhere
near the bound, so loading rejects deeper data at once, as a usage error naming the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 100


class TooDeep(ValueError):
    """The data nests arrays or tables deeper than :data:`MAX_DEPTH`."""

    def __init__(self) -> None:
        super().__init__(f"arrays or tables nested more than {MAX_DEPTH} levels deep")


def parse_bounded(parse: Callable[[str], Any], text: str) -> Any:
    """``parse(text)``, with a RecursionError or excessive depth raised as :class:`TooDeep`."""
    try:
        data = parse(text)
    except RecursionError:
        raise TooDeep() from None
    check_depth(data)
    return data


def load_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads`` bounded in depth; TOML syntax errors still raise TOMLDecodeError."""
    data: dict[str, Any] = parse_bounded(tomllib.loads, text)
    return data


def check_depth(data: Any) -> None:
    """Raise :class:`TooDeep` if ``data`` nests deeper than the bound (checked without
    recursion, so the check itself cannot overflow)."""
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise TooDeep()
        if isinstance(value, dict):
            pending.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            pending.extend((child, depth + 1) for child in value)
