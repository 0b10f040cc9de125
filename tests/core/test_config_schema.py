"""The published JSON Schema of cryptoaudit.toml: current, valid draft-07, and in agreement
with the models on the examples and on a misspelt key."""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_cryptoaudit.cli import main
from pytest_cryptoaudit.config_schema import PUBLISHED, config_schema, render
from pytest_cryptoaudit.providers import ProviderRegistry

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*/cryptoaudit.toml"))


def as_json(value: Any) -> Any:
    """TOML dates and times as editors hand them to a JSON Schema: strings."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value.isoformat() if isinstance(value, date | datetime) else value


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return config_schema(ProviderRegistry(), builtin_only=True)


def test_the_published_schema_is_current(schema):
    assert PUBLISHED.read_text() == render(schema), (
        "regenerate: cryptoaudit schema config --builtin-only > "
        "pytest_cryptoaudit/schemas/cryptoaudit.schema.json")
    jsonschema.Draft7Validator.check_schema(schema)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_example_validates(schema, path):
    jsonschema.Draft7Validator(schema).validate(as_json(tomllib.loads(path.read_text())))


def test_each_provider_has_its_own_options(schema):
    files = {"name": "web", "provider": "files", "risk_tier": "high", "ssrm_owner": "CSC",
             "paths": ["keys"]}
    validator = jsonschema.Draft7Validator(schema)
    validator.validate({"systems": [files], "tags": {"accountable_owner": "team"}})
    for wrong in ({**files, "pathz": ["keys"]}, {**files, "regions": ["eu-west-1"]},
                  {**files, "risk_tier": "urgent"}):
        assert not validator.is_valid({"systems": [wrong]}), wrong
    assert not validator.is_valid({"cadence": {"low": 400}})
    assert not validator.is_valid({"tags": {"owner": "team"}})
    policy = schema["definitions"]["policy"]["properties"]
    assert policy["min_rsa_bits"]["default"]["critical"] == 3072
    assert "managed_key_rotation_required" in policy  # generic managed-key settings
    assert "aws_kms_disallowed_key_specs" in policy  # and a provider's own settings


def test_the_command_prints_it(schema, capsys):
    assert main(["schema", "config", "--builtin-only"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(render(schema))
