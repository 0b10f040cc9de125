"""The HCL expression evaluator: what a static reading computes, and what it refuses."""

from __future__ import annotations

import re
from typing import Any

import hcl2
import pytest

from pytest_cryptoaudit.providers.iac.hcl import Unresolvable, evaluate, resource_reference
from pytest_cryptoaudit.providers.iac.values import Unknown


class Names:
    def lookup(self, root: str, path: list[Any], text: str) -> Any:
        if root == "var" and path == ["env"]:
            return "prod"
        return resource_reference(root, path, text)


def value(expression: str) -> Any:
    start = hcl2.parses(f"x = {expression}\n", discard_comments=True)
    return evaluate(start.body.children[0].expression, Names())


@pytest.mark.parametrize(("expression", "expected"), [
    ('"a\\"b\\n"', 'a"b\n'),
    ('"$${literal}-${var.env}"', "${literal}-prod"),
    ("<<EOT\n{\"a\": 1}\nEOT", '{"a": 1}\n'),
    ('jsonencode({ k = [1, true, null] })', '{"k":[1,true,null]}'),
    ('merge({ a = 1 }, { b = 2 })', {"a": 1, "b": 2}),
    ('format("key-%s-%d", var.env, 3)', "key-prod-3"),
    ('concat(["a"], ["b"])', ["a", "b"]),
    ("10 % 4 + 2 * 3 - 1", 7),
    ('toset(["b", "a", "b"])', ["a", "b"]),
])
def test_values_the_code_fixes(expression, expected):
    assert value(expression) == expected


def test_a_resource_attribute_is_unknown_with_its_address():
    found = value("aws_kms_key.main.arn")
    assert isinstance(found, Unknown)
    assert found.address == "aws_kms_key.main"
    assert "known only after apply" in found.reason


@pytest.mark.parametrize(("expression", "named"), [
    ("<<EOT\n${var.env}\nEOT", "heredoc template with interpolation"),
    ("[for s in [1] : s]", "ForTupleExpr expressions are not evaluated"),
    ('timestamp()', "function timestamp() is not evaluated"),
    ("aws_kms_key.main.arn == 1", "known only after apply"),
    ('"a" * 2', "cannot compute"),
])
def test_what_a_static_reading_refuses_is_named(expression, named):
    with pytest.raises(Unresolvable, match=re.escape(named)):
        value(expression)
