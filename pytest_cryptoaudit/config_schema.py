"""A JSON Schema of ``cryptoaudit.toml``, generated from the models that validate it, so that
editors (Taplo, VS Code's Even Better TOML) complete and check the file as it is typed.

Each ``[[systems]]`` entry is the common keys plus one provider's options, chosen by its
``provider``; ``[policy]`` lists every registered threshold with its default. The schema is
draft-07, the dialect TOML editors read. ``cryptoaudit schema config`` prints it for the
providers installed; ``pytest_cryptoaudit/schemas/cryptoaudit.schema.json`` is the same for
the built-in ones, kept current by a test.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import pydantic

from .config_models import ConfigFile, PolicyDocument, SystemCore
from .policy import BUILTIN_SETTINGS, PolicySetting, overrides_model
from .providers import Provider, ProviderLoadError, ProviderRegistry

SCHEMA_ID = "https://pytest-cryptoaudit.dev/schemas/cryptoaudit.schema.json"
PUBLISHED = Path(__file__).parent / "schemas" / "cryptoaudit.schema.json"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def providers(registry: ProviderRegistry, builtin_only: bool = False) -> list[type[Provider]]:
    """The provider classes that load, sorted by name (optionally only this package's)."""
    found = []
    for name in registry.names():
        try:
            provider = registry.get(name)
        except ProviderLoadError:
            continue  # reported when a configuration uses it
        if not builtin_only or provider.__module__.startswith("pytest_cryptoaudit."):
            found.append(provider)
    return found


def _system_model(provider: type[Provider]) -> type[pydantic.BaseModel]:
    title = f"{provider.name} system"
    fields: Any = {"provider": (Literal[provider.name], pydantic.Field(
        description=f"This system's keys are read by the {provider.name} provider."))}
    return pydantic.create_model(
        title.replace(" ", "_").replace("-", "_"), __base__=(SystemCore, provider.Options),
        **fields)


def _policy_model(settings: list[PolicySetting]) -> type[pydantic.BaseModel]:
    document: Any = {name: (field.annotation, field)
                     for name, field in PolicyDocument.model_fields.items()}
    return pydantic.create_model("policy", __base__=overrides_model(settings), **document)


def config_schema(registry: ProviderRegistry, builtin_only: bool = False) -> dict[str, Any]:
    """The schema for the providers (and their policy settings) that ``registry`` loads."""
    found = providers(registry, builtin_only)
    settings = [*BUILTIN_SETTINGS, *(s for p in found for s in p.policy_settings)]
    systems: Any = Union[tuple(_system_model(p) for p in found)]  # noqa: UP007 - built at run time
    fields: Any = {
        "systems": (list[Annotated[systems, pydantic.Field(discriminator="provider")]],
                    pydantic.Field(default=[], description="One table per audited system.")),
        "policy": (_policy_model(settings), pydantic.Field(
            default=None, description="Threshold overrides (defaults shown) and the crypto "
                                      "policy's version, reviewed_on and reviewed_by."))}
    model: Any = pydantic.create_model("cryptoaudit_toml", __base__=ConfigFile, **fields)
    schema = model.model_json_schema(ref_template="#/definitions/{model}")
    schema["definitions"] = schema.pop("$defs", {})
    # Control packs may add settings through a pytest hook, which no schema can know.
    schema["definitions"]["policy"].pop("additionalProperties", None)
    schema.pop("title", None)
    return {"$schema": DRAFT_07, "$id": SCHEMA_ID, "title": "cryptoaudit.toml",
            "description": "Configuration of pytest-cryptoaudit (pytest --cryptoaudit).",
            **schema}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def _run(args: argparse.Namespace) -> int:
    if args.document == "evidence":
        from .evidence_model import schema_text

        sys.stdout.write(schema_text())
        return 0
    sys.stdout.write(render(config_schema(ProviderRegistry(), builtin_only=args.builtin_only)))
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schema", help="Print the JSON Schema of cryptoaudit.toml (for Taplo / Even Better "
                       "TOML) or of the JSON evidence.")
    parser.add_argument("document", choices=("config", "evidence"),
                        help="Which document: config or evidence.")
    parser.add_argument("--builtin-only", action="store_true",
                        help="Only the built-in providers (the published schema).")
    parser.set_defaults(handler=_run)
