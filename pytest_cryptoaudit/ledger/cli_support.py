"""What the ledger's ``cryptoaudit`` subcommands share: configuration, ledger, time, tables."""

from __future__ import annotations

import argparse
import contextlib
import functools
import getpass
import os
import platform
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ..cli import UsageError
from ..config import AuditConfig, ConfigError, find_config_file, load_config
from ..policy import BUILTIN_SETTINGS, PolicySetting
from ..providers import ProviderRegistry
from .plugin import LOCATION_VARIABLE
from .store import LedgerError, LedgerStore, open_ledger


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH",
                        help="Configuration file (default: cryptoaudit.toml or pyproject.toml "
                             "[tool.cryptoaudit] in the current folder).")
    parser.add_argument("--ledger", metavar="PATH_OR_URL",
                        help=f"Ledger location (default: ${LOCATION_VARIABLE}, else `ledger` in "
                             "the configuration, else .cryptoaudit/ledger.db beside it).")


def guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A command whose ledger errors (unreachable, damaged) end it with the message, exit 2."""
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except LedgerError as exc:
            raise UsageError(str(exc)) from None

    return run


def _plugin_policy_settings() -> list[PolicySetting]:
    """Policy settings that installed control packs declare through their pytest plugin."""
    settings: list[PolicySetting] = []
    for entry_point in entry_points(group="pytest11"):
        with contextlib.suppress(Exception):  # a plugin that fails to import adds nothing
            hook = getattr(entry_point.load(), "pytest_cryptoaudit_policy_settings", None)
            if hook is not None:
                settings.extend(hook() or ())
    return settings


def load_audit_config(args: argparse.Namespace) -> AuditConfig:
    """The configuration named by ``--config`` or found in the current folder."""
    if args.config:
        path, pyproject = Path(args.config), Path(args.config).name == "pyproject.toml"
        if not path.is_file():
            raise UsageError(f"{path}: configuration file not found")
    else:
        found = find_config_file(Path.cwd())
        if found is None:
            raise UsageError(f"no cryptoaudit.toml or [tool.cryptoaudit] in pyproject.toml in "
                             f"{Path.cwd()}; pass --config PATH")
        path, pyproject = found
    registry = ProviderRegistry()
    settings = [*BUILTIN_SETTINGS, *registry.policy_settings(), *_plugin_policy_settings()]
    try:
        return load_config(path, registry, settings, pyproject=pyproject)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def open_store(args: argparse.Namespace, audit_config: AuditConfig | None) -> LedgerStore:
    """The ledger: ``--ledger``, else the environment, else the configuration's."""
    location = args.ledger or os.environ.get(LOCATION_VARIABLE) or (
        audit_config.ledger_location if audit_config else None)
    base = audit_config.base_dir if audit_config else Path.cwd()
    try:
        return open_ledger(location, base,
                           audit_config.ledger_password_env if audit_config else None)
    except LedgerError as exc:
        raise UsageError(str(exc)) from None


def parse_instant(text: str, what: str = "--at") -> datetime:
    """An ISO 8601 date-time with an offset (or ``Z``), or a date meaning midnight UTC."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), UTC)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what}: expected a date-time such as 2026-01-31T12:00:00Z, "
                         f"got {text!r}") from None
    if value.tzinfo is None:
        raise UsageError(f"{what}: give a time zone offset, e.g. {text}Z")
    return value.astimezone(UTC)


def parse_day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what}: expected a date such as 2026-01-31, got {text!r}") from None


def now_of(args: argparse.Namespace) -> datetime:
    return parse_instant(args.now, "--now") if getattr(args, "now", None) else datetime.now(UTC)


def recorder() -> dict[str, Any]:
    """Who recorded an entry from the command line: local user, host and CI actor."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    identity = {"user": user, "host": platform.node()}
    for variable in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILD_REQUESTEDFOR"):
        if os.environ.get(variable):
            identity["ci_actor"] = os.environ[variable]
    return identity


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns aligned with spaces, for a terminal."""
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in cells) + "\n"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def line(cells: Sequence[Any]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *map(line, rows)]) + "\n"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"
