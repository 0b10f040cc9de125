"""``cryptoaudit lab up|down|run``: the local lab of real services."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import lab

DEFAULT_DIR = Path("cryptoaudit-lab")


def _up(args: argparse.Namespace) -> int:
    lab.up(args.dir.resolve())
    print(f"lab: run `pytest --cryptoaudit --cryptoaudit-config {args.dir / lab.CONFIG_FILE}` "
          f"after `. {args.dir / lab.ENV_FILE}`")
    return 0


def _down(args: argparse.Namespace) -> int:
    lab.down(args.dir.resolve())
    return 0


def _run(args: argparse.Namespace) -> int:
    return lab.run(args.dir.resolve())


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("lab", help="Start, audit and stop a local lab estate.")
    commands = parser.add_subparsers(dest="lab_command", required=True, metavar="ACTION")
    for name, handler, text in (
        ("up", _up, "Start and seed the lab, write DIR/cryptoaudit.toml."),
        ("down", _down, "Stop what `up` started and remove its files."),
        ("run", _run, "Up, audit with every report into DIR/report, down."),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--dir", type=Path, default=DEFAULT_DIR,
                         help=f"Lab folder (default: ./{DEFAULT_DIR}).")
        sub.set_defaults(handler=handler)
