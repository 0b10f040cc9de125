"""Container images read without a daemon: an OCI image layout (a folder or its tar) or a
``docker save`` tarball, its layers applied in order (whiteouts honoured) into a scratch
folder, keeping only the files that name crypto libraries.

A :class:`LayerBook` remembers which layer last wrote each kept file, and the package
databases as they stood after each layer that changed them, so each library can name the
layer that put it in the image."""


from __future__ import annotations

import contextlib
import dataclasses
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
#: The package databases whose state after each layer is kept (folders in the root).
DATABASE_FOLDERS = ("var/lib/dpkg", "lib/apk/db", "var/lib/rpm", "usr/lib/sysimage/rpm")


@dataclasses.dataclass
class LayerBook:
    """What each layer of an unpacked image wrote: ``digests`` bottom first, ``files`` a
    kept path -> the index of the last layer that wrote it, ``databases`` a layer index ->
    a folder holding the package databases as they stood after that layer (only layers
    that changed them)."""

    digests: list[str] = dataclasses.field(default_factory=list)
    files: dict[str, int] = dataclasses.field(default_factory=dict)
    databases: dict[int, Path] = dataclasses.field(default_factory=dict)

    def digest(self, path: str) -> str | None:
        """The digest of the layer that last wrote ``path`` (relative to the root)."""
        index = self.files.get(path.lstrip("/"))
        return None if index is None else self.digests[index]


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


def _digest(path: str) -> str:
    """A layer's digest (``sha256:...``) from its blob path, else the path itself."""
    parts = path.split("/")
    return f"{parts[1]}:{parts[2]}" if len(parts) == 3 and parts[0] == "blobs" else path


def _apply(layer: tarfile.TarFile, root: Path, extra: tuple[str, ...]) -> set[str]:
    """Apply one layer; the kept paths it wrote or removed."""
    touched: set[str] = set()
    for member in layer:
        name = _safe(member.name)
        if name is None:
            continue
        directory, base = posixpath.split(name)
        if base == ".wh..wh..opq":
            shutil.rmtree(root / directory, ignore_errors=True)
            touched.add(directory + "/")
        elif base.startswith(".wh."):
            target = root / directory / base.removeprefix(".wh.")
            shutil.rmtree(target, ignore_errors=True) if target.is_dir() else \
                target.unlink(missing_ok=True)
            touched.add(posixpath.join(directory, base.removeprefix(".wh.")))
        elif member.isfile() and member.size <= MAX_MEMBER_BYTES and _wanted(name, extra):
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with layer.extractfile(member) as data, target.open("wb") as out:  # type: ignore[union-attr]
                shutil.copyfileobj(data, out)
            touched.add(name)
    return touched


@contextlib.contextmanager
def unpacked(image: Path, extra: tuple[str, ...] = (),
             book: LayerBook | None = None) -> Iterator[Path]:
    """A scratch root holding the image's library files, removed afterwards. ``extra`` are
    more path patterns to keep (the binaries to read); ``book`` is filled with what each
    layer wrote."""
    book = book if book is not None else LayerBook()
    try:
        source = _Source(image)
    except (OSError, tarfile.TarError) as exc:
        raise ImageError(f"{image.name}: {exc}") from None
    scratch = Path(tempfile.mkdtemp(prefix="cryptoaudit-image-"))
    try:
        _extract(source, scratch, tuple(str(PurePosixPath(p)).lstrip("/") for p in extra),
                 book)
    except (OSError, tarfile.TarError, KeyError, IndexError, TypeError, ValueError) as exc:
        _remove(scratch)
        raise ImageError(f"{image.name}: {type(exc).__name__}: {exc}") from None
    finally:
        source.close()
    try:
        yield scratch
    finally:
        _remove(scratch)


def _remove(scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(scratch.parent / (scratch.name + "-layers"), ignore_errors=True)


def _extract(source: _Source, scratch: Path, patterns: tuple[str, ...],
             book: LayerBook) -> None:
    snapshots = scratch.parent / (scratch.name + "-layers")
    for index, path in enumerate(_layers(source)):
        book.digests.append(_digest(path))
        with source.read(path) as blob, tarfile.open(fileobj=blob, mode="r|*") as layer:
            touched = _apply(layer, scratch, patterns)
        book.files.update(dict.fromkeys(touched, index))
        if _touches_databases(touched):
            book.databases[index] = _snapshot(scratch, snapshots / str(index))


def _touches_databases(touched: set[str]) -> bool:
    """Whether a layer wrote or removed a package database file or a folder above one."""
    return any(name.startswith(DATABASE_FOLDERS)
               or any(folder.startswith(name.rstrip("/") + "/") for folder in DATABASE_FOLDERS)
               for name in touched)


def _snapshot(root: Path, target: Path) -> Path:
    """A copy of the package databases of ``root`` as they stand now."""
    for folder in DATABASE_FOLDERS:
        if (root / folder).is_dir():
            shutil.copytree(root / folder, target / folder)
    target.mkdir(parents=True, exist_ok=True)
    return target
