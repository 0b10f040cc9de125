"""Version strings of packages: Debian's ordering (also good for apk and rpm releases), the
upstream part of a distribution version, and the release cycle a version belongs to."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

_DIGITS = re.compile(r"\d+")


def upstream_version(version: str) -> str:
    """``1:3.0.19-1~deb12u2`` -> ``3.0.19``; ``3.1.4-r5`` -> ``3.1.4``; ``go1.22.5`` ->
    ``1.22.5``: the part the upstream project released."""
    text = version.split(":", 1)[1] if re.match(r"^\d+:", version) else version
    text = re.sub(r"-r\d+$", "", text)  # apk release
    if "-" in text:
        text = text.rsplit("-", 1)[0]  # Debian revision, rpm release
    text = text.removeprefix("go").removeprefix("v")
    return re.sub(r"[+~].*$", "", text)


def cycle_of(version: str, cycles: Iterable[str]) -> str | None:
    """The longest cycle that ``version`` starts with at a component boundary:
    ``1.1.1w`` is in ``1.1.1``, ``3.0.19`` in ``3.0``, ``3.05`` in none of them."""
    best = None
    for cycle in cycles:
        inside = version == cycle or (version.startswith(cycle)
                                      and not version[len(cycle)].isdigit())
        if inside and (best is None or len(cycle) > len(best)):
            best = cycle
    return best


def _order(char: str) -> int:
    """Debian's character order: ``~`` before everything, letters before other signs."""
    if char == "~":
        return -1
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_part(left: str, right: str) -> int:
    left_pos = right_pos = 0
    while left_pos < len(left) or right_pos < len(right):
        left_text, left_pos = _non_digits(left, left_pos)
        right_text, right_pos = _non_digits(right, right_pos)
        for a, b in itertools.zip_longest(left_text, right_text, fillvalue=""):
            difference = (_order(a) if a else 0) - (_order(b) if b else 0)
            if difference:
                return difference
        left_number, left_pos = _number(left, left_pos)
        right_number, right_pos = _number(right, right_pos)
        if left_number != right_number:
            return left_number - right_number
    return 0


def _non_digits(text: str, pos: int) -> tuple[str, int]:
    end = pos
    while end < len(text) and not text[end].isdigit():
        end += 1
    return text[pos:end], end


def _number(text: str, pos: int) -> tuple[int, int]:
    match = _DIGITS.match(text, pos)
    if match is None:
        return 0, pos
    return int(match.group()), match.end()


def compare(left: str, right: str) -> int:
    """Negative, zero or positive as ``left`` sorts before, with or after ``right`` in
    Debian's version order (epoch, upstream, revision)."""
    parts = []
    for version in (left, right):
        has_epoch = re.match(r"^\d+:", version)
        epoch, _, rest = version.partition(":") if has_epoch else ("0", "", version)
        upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "")
        parts.append((int(epoch or 0), upstream, revision))
    if parts[0][0] != parts[1][0]:
        return parts[0][0] - parts[1][0]
    return (_compare_part(parts[0][1], parts[1][1])
            or _compare_part(parts[0][2], parts[1][2]))
