"""Finding the files of infrastructure code and reading YAML with line numbers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

YAML_SUFFIXES = (".yaml", ".yml", ".json")


def display(path: Path, base: Path) -> str:
    """``path`` relative to the configuration's folder, with POSIX separators."""
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def expand(base: Path, pattern: str, suffixes: tuple[str, ...]) -> Iterator[Path]:
    """The files a ``paths`` entry names: a file, or the matching files of a folder tree."""
    target = base / pattern
    if target.is_dir():
        yield from sorted(p for p in target.rglob("*")
                          if p.is_file() and p.suffix.lower() in suffixes)
    elif target.is_file():
        yield target
    else:
        yield from sorted(p for p in base.glob(pattern) if p.is_file())


def yaml_loader(extra: type | None = None) -> type:
    """The fastest safe YAML loader available (libyaml's when PyYAML has it)."""
    import yaml

    return extra or getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def documents(text: str, loader_class: type) -> Iterator[tuple[Any, int, int]]:
    """(document, first line, last line) of every document of a YAML stream."""
    loader = loader_class(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            yield (loader.construct_document(node), node.start_mark.line + 1,
                   max(node.end_mark.line, node.start_mark.line + 1))
    finally:
        loader.dispose()
