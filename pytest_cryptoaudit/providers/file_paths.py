"""Where the files provider looks: paths, folders and globs expanded, files read with a cap.

Expansion never stops on one path it cannot inspect: a folder the walk cannot enter and a
file whose type cannot be read each become an error naming that path.
"""

from __future__ import annotations

import glob
import grp
import os
import pwd
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import Discovery


class ParseError(Exception):
    """The file holds no key or certificate that can be read; the message says why."""


class FolderErrors:
    """Turns a folder the walk cannot enter into an error naming it, instead of a silent gap."""

    def __init__(self, attempt: Discovery, base: Path) -> None:
        self.attempt, self.base, self.count = attempt, base, 0

    def __call__(self, exc: OSError) -> None:
        self.count += 1
        shown = display(Path(exc.filename), self.base) if exc.filename else "?"
        self.attempt.error(f"{shown}: {exc.strerror or exc}", key_uid=f"files:{shown}")


def display(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def expand(base: Path, pattern: str, exclude: list[str],
           on_error: FolderErrors) -> Iterator[Path]:
    """Files named by a path, a folder (recursively) or a glob, in a stable order."""
    root = Path(pattern).expanduser()
    root = root if root.is_absolute() else base / root
    for path in _candidates(root, on_error):
        if _is_folder(path) and not path.is_symlink():
            continue
        if not any(path.match(e) for e in exclude):
            yield path


def _candidates(root: Path, on_error: FolderErrors) -> list[Path]:
    if glob.has_magic(str(root)):
        return sorted(Path(p) for p in glob.glob(str(root), recursive=True))
    if _is_folder(root):
        return sorted(_walk(root, on_error))
    return [root] if os.path.lexists(root) else []


def _is_folder(path: Path) -> bool:
    # A path whose type cannot be read (a symlink into a folder the audit may not enter) is
    # taken for a file, so that reading it fails with an error naming it, not the whole scan.
    try:
        return path.is_dir()
    except OSError:
        return False


def _walk(root: Path, on_error: FolderErrors) -> Iterator[Path]:
    # Symlinked folders are not followed, so a symlink loop cannot trap the walk; symlinked
    # files are yielded and read (a loop among them fails that one file with ELOOP).
    for folder, dirs, files in os.walk(root, onerror=on_error, followlinks=False):
        for name in dirs:
            if (Path(folder) / name).is_symlink():
                files.append(name)
        for name in files:
            yield Path(folder) / name


def read_bounded(path: Path, cap: int) -> tuple[bytes, dict[str, Any]]:
    info = path.stat()  # follows symlinks; a loop raises ELOOP here
    if not stat.S_ISREG(info.st_mode):
        raise ParseError("not a regular file")
    if info.st_size > cap:
        raise ParseError(f"file is {info.st_size} bytes, over the {cap}-byte cap "
                         "(max_file_size)")
    with path.open("rb") as handle:
        data = handle.read(cap + 1)
    return data, _file_facts(path, info)


def _file_facts(path: Path, info: os.stat_result) -> dict[str, Any]:
    return {
        "path": str(path),
        "file_mode": format(stat.S_IMODE(info.st_mode), "04o"),
        "file_owner": _name_of(pwd.getpwuid, info.st_uid),
        "file_group": _name_of(grp.getgrgid, info.st_gid),
        "file_mtime": datetime.fromtimestamp(info.st_mtime, UTC).isoformat(),
    }


def _name_of(lookup: Any, ident: int) -> str:
    try:
        return str(lookup(ident)[0])
    except KeyError:
        return str(ident)
