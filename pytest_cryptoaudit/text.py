"""Small helpers for the words around numbers in what the plugin and the command print."""

from __future__ import annotations


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``"1 system"``, ``"2 systems"``, ``"1 discovery error"``; ``plural_form`` for nouns
    whose plural is not the noun plus ``s`` (``plural(n, "entry", "entries")``)."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {plural_form or noun + 's'}"
