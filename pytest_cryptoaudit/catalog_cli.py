"""``cryptoaudit catalog``: the built-in control catalog, generated from the controls' markers."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from typing import Any

from .catalog import ControlSpec, builtin_control_files, catalog


def load_builtin_catalog() -> list[ControlSpec]:
    """Import the built-in control modules (without running them) and read their markers."""
    modules = []
    for path in builtin_control_files():
        spec = importlib.util.spec_from_file_location(f"_cryptoaudit_controls.{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return catalog(modules)


def catalog_markdown(specs: list[ControlSpec]) -> str:
    lines = ["| Control | Title | Check | Applies from tier | Owner (SSRM) | What it verifies |",
             "|---|---|---|---|---|---|"]
    for spec in specs:
        lines.append(f"| {spec.id} | {spec.title} | `{spec.check}` | {spec.min_tier.value} | "
                     f"{spec.ssrm} | {spec.description} |")
    return "\n".join(lines) + "\n"


def _as_json(specs: list[ControlSpec]) -> list[dict[str, Any]]:
    return [
        {"id": s.id, "title": s.title, "check": s.check, "references": list(s.references),
         "remediation": s.remediation, "min_tier": s.min_tier.value, "ssrm": s.ssrm,
         "description": s.description}
        for s in specs
    ]


def _run(args: argparse.Namespace) -> int:
    specs = load_builtin_catalog()
    if args.format == "json":
        json.dump(_as_json(specs), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(catalog_markdown(specs))
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("catalog", help="List the built-in controls.")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    parser.set_defaults(handler=_run)
