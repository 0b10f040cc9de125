"""Helpers for the AWS KMS tests: run a provider directly, and cut list answers into pages."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from typing import Any

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.discovery import discover_all
from pytest_cryptoaudit.lab.estate_kms import AUDIT_ROLE
from pytest_cryptoaudit.model import Inventory
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry


def system_toml(url: str, name: str = "kms", **options: Any) -> str:
    """One aws-kms system over eu-west-1 and us-east-1 of the default lab account, audited
    through its read-only ``cryptoaudit`` role."""
    lines = [f'[[systems]]\nname = "{name}"\nprovider = "aws-kms"\nrisk_tier = "high"',
             'ssrm_owner = "CSC"', f'endpoint_url = "{url}"',
             'regions = ["eu-west-1", "us-east-1"]', f'role_arns = ["{AUDIT_ROLE}"]']
    values = {"max_attempts": 2, "timeout": 5.0, **options}
    for key, value in values.items():
        lines = [line for line in lines if not line.startswith(f"{key} =")]
        lines.append(f"{key} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def policy_document(*statements: dict[str, Any]) -> str:
    """An IAM or key policy of ``statements``, as the API takes it (JSON text)."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def discover(config_text: str, controls: set[str] | None = None) -> Inventory:
    """Discover every system of a config, as a session would (no pytest run)."""
    registry = ProviderRegistry()
    settings = [*BUILTIN_SETTINGS, *registry.policy_settings()]
    config = parse_config(tomllib.loads(config_text), registry, settings)
    context = DiscoveryContext(policy=config.policy, now=datetime.now(UTC),
                               selected_controls=frozenset(controls) if controls else None)
    return discover_all(config, registry, context)


class OneItemPages:
    """Serves a KMS list answer one item per page, following Marker as AWS does with
    Limit=1 (moto answers every ListKeys/ListAliases in one page and ignores Marker).

    Installed as botocore event handlers on a real client: ``provide-client-params``
    remembers the request's Marker, ``after-call`` cuts the answer to the item at it.
    """

    def __init__(self, operation: str, result_key: str) -> None:
        self.operation = operation
        self.result_key = result_key
        self.pages = 0

    def handlers(self) -> list[tuple[str, Any]]:
        return [(f"provide-client-params.kms.{self.operation}", self.remember_marker),
                (f"after-call.kms.{self.operation}", self.cut)]

    def remember_marker(self, params: dict[str, Any], context: dict[str, Any],
                        **kwargs: Any) -> None:
        context["test_marker"] = params.get("Marker")

    def cut(self, parsed: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        items = parsed.get(self.result_key, [])
        start = int(context.get("test_marker") or 0)
        parsed[self.result_key] = items[start:start + 1]
        parsed["Truncated"] = start + 1 < len(items)
        parsed.pop("NextMarker", None)
        if parsed["Truncated"]:
            parsed["NextMarker"] = str(start + 1)
        self.pages += 1
