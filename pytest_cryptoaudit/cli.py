"""The ``cryptoaudit`` command: everything around a run that is not the run itself.

Each area registers its own subcommands (``register(subparsers)`` in the modules named in
``COMMAND_MODULES``), so the command grows without this file knowing their details.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence

from . import version

COMMAND_MODULES: tuple[str, ...] = (
    "pytest_cryptoaudit.catalog_cli",
    "pytest_cryptoaudit.lab.cli",
    "pytest_cryptoaudit.ledger.commands",
    "pytest_cryptoaudit.ledger.finding_cli",
    "pytest_cryptoaudit.ledger.review_cli",
    "pytest_cryptoaudit.notify.cli",
    "pytest_cryptoaudit.metrics_cli",
    "pytest_cryptoaudit.ledger.status_cli",
    "pytest_cryptoaudit.ledger.caiq",
    "pytest_cryptoaudit.config_schema",
    "pytest_cryptoaudit.merge_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cryptoaudit",
        description="Cryptographic control audit (CSA CCM/AICM CEK) around pytest --cryptoaudit.",
    )
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {version()} (pytest-cryptoaudit)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()  # inside the try, so that a closed pipe is caught here
        return code
    except KeyboardInterrupt:
        return 130
    except UsageError as exc:
        print(f"cryptoaudit: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _reader_went_away()


def _reader_went_away() -> int:
    """The reader of our output closed it (``cryptoaudit status | head``): stop quietly, as
    a command killed by SIGPIPE would. Python's docs recommend pointing stdout at devnull so
    that the flush at interpreter exit does not raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + signal.SIGPIPE


class UsageError(Exception):
    """A command was given something it cannot use; exit 2 with the message."""


if __name__ == "__main__":
    raise SystemExit(main())
