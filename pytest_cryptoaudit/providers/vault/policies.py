"""Vault ACL policies: parse the rules into path → capabilities, and compare path globs.

Policies are HCL (or JSON) documents of ``path "GLOB" { capabilities = [...] }`` blocks; the
legacy ``policy = "write"`` form is expanded to the capabilities it stands for. The
parameter conditions of a block (``required_parameters``, ``allowed_parameters``,
``denied_parameters``) are read beside them, for the context a transit grant requires. HCL
is read by python-hcl2 (the ``vault`` extra). A policy that cannot be parsed is an error,
never an empty rule set, so a least-privilege check cannot pass on a document it did not
read.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

#: What the legacy ``policy`` keyword grants, as capabilities.
LEGACY_POLICY = {
    "deny": ("deny",),
    "read": ("read", "list"),
    "write": ("create", "read", "update", "delete", "list"),
    "sudo": ("create", "read", "update", "delete", "list", "sudo"),
}


class PolicyParseError(ValueError):
    """The policy text is not a readable ACL policy; the message says where."""


def parse_policy(text: str) -> dict[str, list[str]]:
    """Map each path glob of an ACL policy to its (sorted, merged) capabilities."""
    return parse_document(text)[0]


def parse_document(text: str) -> tuple[dict[str, list[str]], dict[str, dict[str, Any]]]:
    """The capabilities (see :func:`parse_policy`) and the parameter conditions (see
    :func:`parse_conditions`) of an ACL policy, parsed once."""
    if not text.strip():
        return {}, {}
    blocks = _blocks(_load(text))
    rules: dict[str, set[str]] = {}
    for path, body in blocks:
        rules.setdefault(path, set()).update(_capabilities(path, body))
    return ({path: sorted(capabilities) for path, capabilities in sorted(rules.items())},
            _merged_conditions(blocks))


def _blocks(document: dict[str, Any]) -> list[tuple[str, Any]]:
    blocks = document.get("path", [])
    found: list[tuple[str, Any]] = []
    for block in blocks if isinstance(blocks, list) else [blocks]:
        if not isinstance(block, dict):
            raise PolicyParseError("a path block is not a table")
        found.extend((str(path), body) for path, body in block.items())
    return found


#: The request-parameter conditions of a path block, as Vault names them.
PARAMETER_FIELDS = ("required_parameters", "allowed_parameters", "denied_parameters")


def parse_conditions(text: str) -> dict[str, dict[str, Any]]:
    """Map each path glob that carries parameter conditions to them: ``required_parameters``
    (sorted names), ``allowed_parameters`` and ``denied_parameters`` (name → values; an
    empty list stands for any value). Paths without conditions are left out."""
    return parse_document(text)[1]


def _merged_conditions(blocks: list[tuple[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path, body in blocks:
        conditions = _conditions(path, body)
        if conditions:
            merged = found.setdefault(path, {})
            for field, value in conditions.items():
                merged[field] = _merge(merged.get(field), value)
    return dict(sorted(found.items()))


def _conditions(path: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise PolicyParseError(f"path {path!r}: expected a block")
    found: dict[str, Any] = {}
    required = body.get("required_parameters")
    if required is not None:
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise PolicyParseError(f"path {path!r}: required_parameters must be a list of "
                                   "strings")
        found["required_parameters"] = sorted(set(required))
    for field in PARAMETER_FIELDS[1:]:
        table = body.get(field)
        if table is None:
            continue
        tables = table if isinstance(table, list) else [table]  # HCL may repeat a block
        values: dict[str, list[str]] = {}
        for entry in tables:
            if not isinstance(entry, dict) or not all(isinstance(v, list)
                                                      for v in entry.values()):
                raise PolicyParseError(f"path {path!r}: {field} must map names to lists")
            for name, listed in entry.items():
                values.setdefault(str(name), []).extend(str(v) for v in listed)
        found[field] = values
    return found


def _merge(old: Any, new: Any) -> Any:
    if old is None:
        return new
    if isinstance(new, list):
        return sorted({*old, *new})
    return {name: [*old.get(name, []), *new.get(name, [])] for name in {*old, *new}}


def _load(text: str) -> dict[str, Any]:
    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PolicyParseError(f"invalid JSON policy: {exc}") from None
    else:
        document = _load_hcl(text)
    if not isinstance(document, dict):
        raise PolicyParseError("the policy is not a table of path blocks")
    return document


def _load_hcl(text: str) -> Any:
    try:
        import hcl2
        from hcl2.utils import SerializationOptions
    except ImportError:
        raise PolicyParseError("python-hcl2 is not installed: pip install "
                               "'pytest-cryptoaudit[vault]'") from None
    options = SerializationOptions(with_comments=False, explicit_blocks=False,
                                   strip_string_quotes=True)
    try:
        return hcl2.loads(text, serialization_options=options)
    except Exception as exc:  # lark raises its own exception family for any syntax error
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PolicyParseError(f"invalid HCL policy: {message}") from None


def _capabilities(path: str, body: Any) -> set[str]:
    if not isinstance(body, dict):
        raise PolicyParseError(f"path {path!r}: expected a block")
    capabilities = body.get("capabilities", [])
    if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
        raise PolicyParseError(f"path {path!r}: capabilities must be a list of strings")
    granted = {c.lower() for c in capabilities}
    legacy = body.get("policy")
    if legacy is not None:
        if legacy not in LEGACY_POLICY:
            raise PolicyParseError(f"path {path!r}: unknown policy value {legacy!r}")
        granted.update(LEGACY_POLICY[legacy])
    return granted


# -- path globs ------------------------------------------------------------------------------

_STAR = object()  # a trailing '*': any suffix, across segments
_PLUS = object()  # a whole segment '+': any one non-empty segment


@cache
def _tokens(pattern: str) -> tuple[Any, ...]:
    tokens: list[Any] = []
    body, star = (pattern[:-1], True) if pattern.endswith("*") else (pattern, False)
    for index, segment in enumerate(body.split("/")):
        if index:
            tokens.append("/")
        tokens.extend([_PLUS] if segment == "+" else list(segment))
    if star:
        tokens.append(_STAR)
    return tuple(tokens)


def globs_overlap(first: str, second: str) -> bool:
    """True if some request path matches both Vault path globs (``*`` suffix, ``+`` segment)."""
    a, b = _tokens(first.lstrip("/")), _tokens(second.lstrip("/"))

    @cache
    def overlap(i: int, j: int) -> bool:
        if (i < len(a) and a[i] is _STAR) or (j < len(b) and b[j] is _STAR):
            return True
        if i == len(a) or j == len(b):
            return i == len(a) and j == len(b)
        if a[i] is _PLUS and b[j] is _PLUS:
            return overlap(i + 1, j + 1)
        if a[i] is _PLUS:
            return _segment(b, j, lambda k: overlap(i + 1, k))
        if b[j] is _PLUS:
            return _segment(a, i, lambda k: overlap(k, j + 1))
        return bool(a[i] == b[j]) and overlap(i + 1, j + 1)

    return overlap(0, 0)


def _segment(tokens: tuple[Any, ...], start: int, then: Any) -> bool:
    """Let a ``+`` of the other glob take the concrete segment that starts at ``start``."""
    end = start
    while end < len(tokens) and tokens[end] != "/":
        if tokens[end] is _STAR:
            return True
        end += 1
    return end > start and bool(then(end))
