"""``data "aws_iam_policy_document"``: a data source whose content is all in the code, so the
key policies most modules build with it are read statically, as the JSON Terraform renders."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .values import Unknown, first_unknown

DATA_TYPE = "aws_iam_policy_document"
RENDERED = ("json", "minified_json")


def render(values: Mapping[str, Any], address: str) -> str | Unknown:
    """The policy JSON of an evaluated ``aws_iam_policy_document`` body."""
    missing = first_unknown(values)
    if missing is not None:
        return Unknown(f"{address}: {missing.reason}")
    for merged in ("source_policy_documents", "override_policy_documents",
                   "source_json", "override_json"):
        if values.get(merged):
            return Unknown(f"{address}: {merged} merges other documents; not read statically")
    statements = [_statement(s) for s in values.get("statement") or ()]
    document: dict[str, Any] = {"Version": values.get("version") or "2012-10-17",
                                "Statement": statements}
    return json.dumps(document)


def _statement(block: Mapping[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": block.get("effect") or "Allow"}
    if block.get("sid"):
        statement["Sid"] = block["sid"]
    for key, name in (("actions", "Action"), ("not_actions", "NotAction"),
                      ("resources", "Resource"), ("not_resources", "NotResource")):
        if block.get(key) is not None:
            statement[name] = list(block[key])
    for key, name in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
        if block.get(key):
            statement[name] = _principals(block[key])
    conditions: dict[str, dict[str, list[Any]]] = {}
    for condition in block.get("condition") or ():
        conditions.setdefault(str(condition.get("test")), {})[
            str(condition.get("variable"))] = list(condition.get("values") or ())
    if conditions:
        statement["Condition"] = conditions
    return statement


def _principals(blocks: list[Mapping[str, Any]]) -> Any:
    found: dict[str, list[str]] = {}
    for block in blocks:
        found.setdefault(str(block.get("type")), []).extend(
            str(i) for i in block.get("identifiers") or ())
    if found.get("*") == ["*"] and len(found) == 1:
        return "*"
    return found
