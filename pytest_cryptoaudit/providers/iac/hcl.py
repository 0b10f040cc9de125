"""Evaluate HCL expressions of Terraform/OpenTofu code without Terraform.

python-hcl2 parses the code; this module walks its expression trees and computes what the
code fixes: literals, strings with interpolation, variables, locals, ``each``/``count``,
arithmetic, comparisons, conditionals, objects and tuples, and the functions that policies
and key settings use (``jsonencode``, ``merge``, ``lookup``, ...). Anything else — a
reference to another resource's attribute, a data source, a ``for`` expression — is an
:class:`Unknown` naming the expression, never a guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .values import AFTER_APPLY, Unknown, first_unknown

#: Node classes that carry punctuation or layout only.
_SKIPPED = ("NewLineOrCommentRule",)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ROOTS_AFTER_PLAN = {"data": "a data source, read at plan time",
                     "module": "a module output", "self": "the resource itself",
                     "terraform": "a workspace value"}


class Scope(Protocol):
    """What names resolve to while evaluating one expression."""

    def lookup(self, root: str, path: list[Any], text: str) -> Any: ...


class Unresolvable(Exception):
    """An expression the reader cannot compute; ``unknown`` carries the reason."""

    def __init__(self, unknown: Unknown) -> None:
        super().__init__(unknown.reason)
        self.unknown = unknown


def text_of(node: Any) -> str:
    """The expression as written (python-hcl2 serialises it as ``${...}``)."""
    try:
        text = str(node.serialize())
    except Exception:  # a node python-hcl2 cannot print is still named by its class
        return type(node).__name__
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    return text


def _parts(node: Any) -> list[Any]:
    """Children that are expressions or rules, without tokens and layout."""
    return [c for c in getattr(node, "children", None) or ()
            if c is not None and hasattr(c, "children")
            and type(c).__name__ not in _SKIPPED]


def _token(node: Any) -> str:
    children = getattr(node, "children", None) or ()
    return str(children[0].value) if children else ""


def unknown(node: Any, why: str) -> Unresolvable:
    return Unresolvable(Unknown(f"expression `{text_of(node)}`: {why}"))


def evaluate(node: Any, scope: Scope) -> Any:
    """The value of an expression node; raises :class:`Unresolvable` with the reason."""
    handler = _HANDLERS.get(type(node).__name__)
    if handler is None:
        raise unknown(node, f"{type(node).__name__.removesuffix('Rule')} expressions are "
                      "not evaluated by a static reading")
    return handler(node, scope)


def value_or_unknown(node: Any, scope: Scope) -> Any:
    """The value, or the :class:`Unknown` that says why there is none."""
    try:
        return evaluate(node, scope)
    except Unresolvable as exc:
        return exc.unknown


def _expr_term(node: Any, scope: Scope) -> Any:
    inner = _parts(node)
    if len(inner) != 1:
        raise unknown(node, "unexpected expression shape")
    return evaluate(inner[0], scope)


def _literal(node: Any, scope: Scope) -> Any:
    return {"true": True, "false": False, "null": None}[_token(node)]


def _int(node: Any, scope: Scope) -> Any:
    return int(_token(node))


def _float(node: Any, scope: Scope) -> Any:
    return float(_token(node))


def _unescape(raw: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), raw)


def _string(node: Any, scope: Scope) -> Any:
    pieces = []
    for part in _parts(node):
        inner = _parts(part)
        if inner and type(inner[0]).__name__ == "InterpolationRule":
            value = evaluate(_parts(inner[0])[0], scope)
            pieces.append(_to_text(value, node))
        else:
            raw = _token(part)
            pieces.append(raw.replace("$${", "${") if "$${" in raw else _unescape(raw))
    return "".join(pieces)


def _to_text(value: Any, node: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise unknown(node, "interpolates a value that is not a string")


def _heredoc(node: Any, scope: Scope) -> Any:
    raw = _token(node)
    lines = raw.split("\n")[1:-1] if raw.endswith("\n") else raw.split("\n")[1:]
    body = lines[:-1]  # the closing marker
    if type(node).__name__ == "HeredocTrimTemplateRule":
        indent = min((len(line) - len(line.lstrip()) for line in body if line.strip()), default=0)
        body = [line[indent:] for line in body]
    text = "\n".join(body) + "\n"
    if "${" in text.replace("$${", "") or "%{" in text:
        raise unknown(node, "a heredoc template with interpolation is not evaluated")
    return text.replace("$${", "${")


def _tuple(node: Any, scope: Scope) -> Any:
    return [evaluate(item, scope) for item in _parts(node)]


def _object(node: Any, scope: Scope) -> Any:
    result = {}
    for element in _parts(node):
        key_node, value_node = _parts(element)
        key_inner = _parts(key_node)[0]
        if type(key_node).__name__ == "ObjectElemKeyRule" and \
                type(key_inner).__name__ == "IdentifierRule":
            key = _token(key_inner)
        else:
            key = _to_text(evaluate(key_inner, scope), key_node)
        result[key] = evaluate(value_node, scope)
    return result


def _traversal(node: Any) -> tuple[str, list[Any]]:
    """Root name, then the steps of a reference: names (str) and index expressions."""
    steps: list[Any] = []
    current = node
    while True:
        name = type(current).__name__
        if name == "ExprTermRule":
            current = _parts(current)[0]
        elif name == "GetAttrExprTermRule":
            base, attr = _parts(current)
            steps.insert(0, _token(_parts(attr)[0]))
            current = base
        elif name == "IndexExprTermRule":
            base, index = _parts(current)
            inner = _parts(index)
            steps.insert(0, inner[0] if inner else int(_token(index).lstrip(".")))
            current = base
        elif name == "IdentifierRule":
            return _token(current), steps
        else:
            raise unknown(node, "a reference that starts with an expression")


def _reference(node: Any, scope: Scope) -> Any:
    root, steps = _traversal(node)
    path = [s if isinstance(s, str | int) else evaluate(s, scope) for s in steps]
    return scope.lookup(root, path, text_of(node))


def follow(value: Any, path: list[Any], text: str) -> Any:
    """Index ``value`` by ``path`` (attribute names and keys)."""
    for step in path:
        if isinstance(value, Unknown):
            return value
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            raise Unresolvable(Unknown(f"expression `{text}`: no element {step!r}")) from None
    return value


def resource_reference(root: str, path: list[Any], text: str) -> Unknown:
    """A reference to another resource or a data source: an address, its value unknown."""
    if root in _ROOTS_AFTER_PLAN:
        where = f"{root}.{path[0]}.{path[1]}" if root == "data" and len(path) > 1 else root
        return Unknown(f"expression `{text}`: {_ROOTS_AFTER_PLAN[root]}, not read "
                       "statically", address=where)
    if not path or not isinstance(path[0], str):
        raise Unresolvable(Unknown(f"expression `{text}`: unknown name {root!r}"))
    return Unknown(f"expression `{text}`: {AFTER_APPLY}", address=f"{root}.{path[0]}")


def _unary(node: Any, scope: Scope) -> Any:
    operator = _token(node)
    value = _known(evaluate(_parts(node)[0], scope))
    return (not value) if operator == "!" else -value


def _known(value: Any) -> Any:
    missing = first_unknown(value)
    if missing is not None:
        raise Unresolvable(missing)
    return value


_OPERATORS: Mapping[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "%": lambda a, b: a % b, "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b, "<": lambda a, b: a < b, ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
    "&&": lambda a, b: a and b, "||": lambda a, b: a or b,
}


_ARITHMETIC = frozenset("+-*/%")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _binary(node: Any, scope: Scope) -> Any:
    left_node, term = _parts(node)
    operator_node, right_node = _parts(term)
    operator = _token(operator_node)
    left = _known(evaluate(left_node, scope))
    right = _known(evaluate(right_node, scope))
    if operator in _ARITHMETIC and not all(_is_number(v) for v in (left, right)):
        raise unknown(node, f"cannot compute: {operator} takes numbers")
    try:
        return _OPERATORS[operator](left, right)
    except (KeyError, TypeError, ZeroDivisionError) as exc:
        raise unknown(node, f"cannot compute: {exc}") from None


def _conditional(node: Any, scope: Scope) -> Any:
    condition, when_true, when_false = _parts(node)
    return evaluate(when_true if _known(evaluate(condition, scope)) else when_false, scope)


def _call(node: Any, scope: Scope) -> Any:
    parts = _parts(node)
    names = [_token(p) for p in parts if type(p).__name__ == "IdentifierRule"]
    arguments = [a for p in parts if type(p).__name__ == "ArgumentsRule" for a in _parts(p)]
    function = FUNCTIONS.get(names[-1] if len(names) == 1 else "::".join(names))
    if function is None:
        raise unknown(node, f"function {'::'.join(names)}() is not evaluated statically")
    values = [evaluate(argument, scope) for argument in arguments]
    try:
        return function(*values)
    except Unresolvable:
        raise
    except Exception as exc:  # a function applied to values it does not take
        raise unknown(node, f"{type(exc).__name__}: {exc}") from None


def _jsonencode(value: Any) -> str:
    return json.dumps(_known(value), separators=(",", ":"), sort_keys=False)


def _merge(*maps: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in maps:
        result.update(_known(item) or {})
    return result


def _lookup(mapping: Any, key: Any, *default: Any) -> Any:
    mapping = _known(mapping)
    return mapping[key] if key in mapping or not default else default[0]


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "jsonencode": _jsonencode,
    "jsondecode": lambda text: json.loads(_known(text)),
    "merge": _merge,
    "lookup": _lookup,
    "tostring": lambda v: str(_known(v)),
    "tonumber": lambda v: float(_known(v)) if "." in str(v) else int(_known(v)),
    "tobool": lambda v: _known(v) in (True, "true"),
    "toset": lambda v: sorted(set(_known(v)), key=str),
    "tolist": lambda v: list(_known(v)),
    "tomap": lambda v: dict(_known(v)),
    "lower": lambda v: str(_known(v)).lower(),
    "upper": lambda v: str(_known(v)).upper(),
    "max": lambda *v: max(_known(list(v))),
    "min": lambda *v: min(_known(list(v))),
    "format": lambda spec, *v: re.sub(r"%[sdv]", "{}", _known(spec)).format(*_known(list(v))),
    "concat": lambda *v: [x for item in _known(list(v)) for x in item],
    "length": lambda v: len(_known(v)),
    "try": lambda *v: next((x for x in v if not isinstance(x, Unknown)), v[-1]),
    "coalesce": lambda *v: next(x for x in _known(list(v)) if x not in (None, "")),
}

_HANDLERS: Mapping[str, Callable[[Any, Scope], Any]] = {
    "ExprTermRule": lambda node, scope: (
        _reference(node, scope) if _is_reference(node) else _expr_term(node, scope)),
    "LiteralValueRule": _literal,
    "IntLitRule": _int,
    "FloatLitRule": _float,
    "StringRule": _string,
    "HeredocTemplateRule": _heredoc,
    "HeredocTrimTemplateRule": _heredoc,
    "TupleRule": _tuple,
    "ObjectRule": _object,
    "GetAttrExprTermRule": _reference,
    "IndexExprTermRule": _reference,
    "IdentifierRule": _reference,
    "UnaryOpRule": _unary,
    "BinaryOpRule": _binary,
    "ConditionalRule": _conditional,
    "FunctionCallRule": _call,
}


def _is_reference(node: Any) -> bool:
    inner = _parts(node)
    return len(inner) == 1 and type(inner[0]).__name__ in (
        "GetAttrExprTermRule", "IndexExprTermRule", "IdentifierRule")
