"""One way to report a configuration mistake: pydantic's errors, worded for a TOML author.

Every message names the place (``cryptoaudit.toml: systems[0] (web).paths``), what was
expected and what was found; a misspelt key gets the nearest valid one ("did you mean
`paths`?"), found among the fields of the model that rejected it.
"""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Iterable, Sequence
from typing import Any

import pydantic


def describe_validation_error(exc: pydantic.ValidationError, at: str,
                              model: type[pydantic.BaseModel] | None = None,
                              known: Iterable[str] = ()) -> str:
    """One line per error, each starting with ``at`` (a place such as ``file: systems[0]``,
    or ``file:`` for the file's top level). ``model`` (and any ``known`` extra keys) feed the
    suggestions."""
    return "\n".join(_describe(error, at, model, tuple(known)) for error in exc.errors())


def _describe(error: Any, at: str, model: type[pydantic.BaseModel] | None,
              known: tuple[str, ...]) -> str:
    loc = tuple(error["loc"])
    where = at + location(loc) if loc else at
    if at.endswith(":") and loc:  # the file itself: "cryptoaudit.toml: systems[0]..."
        where = f"{at} {location(loc).removeprefix('.')}"
    kind = error["type"]
    if kind == "extra_forbidden":
        candidates = [*keys_at(model, loc[:-1]), *(known if len(loc) == 1 else ())]
        return f"{where}: unknown key{suggestion(str(loc[-1]), candidates)}"
    if kind == "missing":
        return f"{where}: missing"
    if kind in ("value_error", "assertion_error"):
        return f"{where}: {error['ctx']['error']}"
    return f"{where}: {error['msg'][0].lower()}{error['msg'][1:]}, got {error['input']!r}"


def location(loc: Sequence[Any]) -> str:
    """``("events", 0, "at")`` as ``.events[0].at``."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def suggestion(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean `paths`?"`` for the closest candidate, or nothing."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def keys_at(model: type[pydantic.BaseModel] | None, loc: Sequence[Any]) -> list[str]:
    """The field names (aliases where set) of the model found at ``loc`` inside ``model``."""
    annotation: Any = model
    for part in loc:
        if isinstance(part, int):
            continue  # a list item: the model is found inside the list's type below
        found = _model_in(annotation)
        if found is None or part not in found.model_fields:
            return []
        annotation = found.model_fields[part].annotation
    found = _model_in(annotation)
    if found is None:
        return []
    return [field.alias or name for name, field in found.model_fields.items()]


def _model_in(annotation: Any) -> type[pydantic.BaseModel] | None:
    if inspect.isclass(annotation) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None
