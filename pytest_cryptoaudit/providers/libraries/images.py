"""Container images read without a daemon: an OCI image layout (a folder or its tar) or a
``docker save`` tarball, its layers applied in order (whiteouts honoured) into a scratch
folder, keeping only the files that name crypto libraries."""

from __future__ import annotations

import contextlib
import fnmatch
import json
import posixpath
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

#: What the library scan reads; every other file of the image is skipped.
WANTED = ("etc/os-release", "usr/lib/os-release", "var/lib/dpkg/status",
          "var/lib/dpkg/status.d/*", "lib/apk/db/installed", "var/lib/rpm/*",
          "usr/lib/sysimage/rpm/*", "etc/ssl/openssl.cnf", "usr/lib/ssl/openssl.cnf",
          "etc/pki/tls/openssl.cnf", "usr/local/ssl/openssl.cnf", "etc/ssl/fipsmodule.cnf",
          "usr/lib/ssl/fipsmodule.cnf", "*/site-packages/*.dist-info/METADATA",
          "*/dist-packages/*.dist-info/METADATA", "*/site-packages/*.egg-info/PKG-INFO",
          "*/dist-packages/*.egg-info/PKG-INFO", "*/bc*.jar")
MAX_MEMBER_BYTES = 128 * 1024 * 1024


class ImageError(Exception):
    """An image that is no OCI layout or ``docker save`` tarball, or a broken one."""


def _wanted(name: str, extra: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in (*WANTED, *extra))


def _safe(name: str) -> str | None:
    """A member's path inside the root, or None for one that escapes it."""
    normal = posixpath.normpath("/" + name).lstrip("/")
    return normal if normal and not normal.startswith("..") else None


class _Source:
    """Blobs of an image by path: files of a layout folder or members of a tarball."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tar = None if path.is_dir() else tarfile.open(path)  # noqa: SIM115

    def read(self, name: str) -> IO[bytes]:
        if self.tar is None:
            return (self.path / name).open("rb")
        try:
            handle = self.tar.extractfile(posixpath.normpath(name))
        except KeyError:
            handle = None
        if handle is None:
            raise ImageError(f"{self.path.name}: no {name} in the image")
        return handle

    def json(self, name: str) -> Any:
        with self.read(name) as handle:
            return json.load(handle)

    def has(self, name: str) -> bool:
        if self.tar is None:
            return (self.path / name).is_file()
        return name in self.tar.getnames()

    def close(self) -> None:
        if self.tar is not None:
            self.tar.close()


def _blob(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    return f"blobs/{algorithm}/{value}"


def _layers(source: _Source) -> list[str]:
    """The layer paths of the image, bottom first."""
    if source.has("index.json"):
        index = source.json("index.json")
        manifests = index.get("manifests", [])
        if not manifests:
            raise ImageError("index.json lists no manifest")
        manifest = source.json(_blob(manifests[0]["digest"]))
        if "manifests" in manifest:  # a nested index: take its first image
            manifest = source.json(_blob(manifest["manifests"][0]["digest"]))
        return [_blob(layer["digest"]) for layer in manifest.get("layers", [])]
    if source.has("manifest.json"):
        return list(source.json("manifest.json")[0]["Layers"])
    raise ImageError("neither an OCI image layout (index.json) nor a docker save tarball "
                     "(manifest.json)")


def _apply(layer: tarfile.TarFile, root: Path, extra: tuple[str, ...]) -> None:
    for member in layer:
        name = _safe(member.name)
        if name is None:
            continue
        directory, base = posixpath.split(name)
        if base == ".wh..wh..opq":
            shutil.rmtree(root / directory, ignore_errors=True)
        elif base.startswith(".wh."):
            target = root / directory / base.removeprefix(".wh.")
            shutil.rmtree(target, ignore_errors=True) if target.is_dir() else \
                target.unlink(missing_ok=True)
        elif member.isfile() and member.size <= MAX_MEMBER_BYTES and _wanted(name, extra):
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with layer.extractfile(member) as data, target.open("wb") as out:  # type: ignore[union-attr]
                shutil.copyfileobj(data, out)


@contextlib.contextmanager
def unpacked(image: Path, extra: tuple[str, ...] = ()) -> Iterator[Path]:
    """A scratch root holding the image's library files, removed afterwards. ``extra`` are
    more path patterns to keep (the binaries to read)."""
    try:
        source = _Source(image)
    except (OSError, tarfile.TarError) as exc:
        raise ImageError(f"{image.name}: {exc}") from None
    scratch = Path(tempfile.mkdtemp(prefix="cryptoaudit-image-"))
    try:
        _extract(source, scratch, tuple(str(PurePosixPath(p)).lstrip("/") for p in extra))
    except (OSError, tarfile.TarError, KeyError, IndexError, TypeError, ValueError) as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise ImageError(f"{image.name}: {type(exc).__name__}: {exc}") from None
    finally:
        source.close()
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _extract(source: _Source, scratch: Path, patterns: tuple[str, ...]) -> None:
    for path in _layers(source):
        with source.read(path) as blob, tarfile.open(fileobj=blob, mode="r|*") as layer:
            _apply(layer, scratch, patterns)
