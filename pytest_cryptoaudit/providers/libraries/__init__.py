"""Encryption libraries (CEK-09 guideline 3): which crypto libraries a host or an image runs,
at which versions, from which distribution, and whether its OpenSSL runs in FIPS mode.

One system is one root filesystem (``root``, ``/`` for this host) or one container image
(``image``: an OCI layout or a ``docker save`` tarball, read without a daemon). The provider
reads its package databases (dpkg, apk, rpm through ``rpm``), its Python site-packages and
the interpreters named in ``python``, the Go binaries and Bouncy Castle jars named in
``binaries``, and its OpenSSL configuration. Each library is a record of its own
(:class:`~pytest_cryptoaudit.model.LibraryRecord`: name, version, where it was found, the
image layer that put it there, the support data and advisories that judge it), so every
library's verdicts are separate results; the system record keeps what belongs to the host
(the list of its libraries, its distribution, FIPS mode). The controls in
``controls/libraries.py`` judge them. A source that exists and cannot be read is a
discovery error naming it, never an empty list.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic

from ...isolation import describe, must_propagate
from ...policy import PolicySetting, tiered
from .. import Discovery, DiscoveryContext, Provider, ProviderOptions
from .artifacts import ArtifactError, binary_libraries, interpreter_libraries, site_libraries
from .fips import fips_state
from .images import ImageError, LayerBook, unpacked
from .lifecycle import DataError, advisories, lifecycles
from .packages import DatabaseError, apk_libraries, dpkg_libraries, os_release, rpm_libraries
from .records import database_layers, layer_of, library_uid, record_fields

DATABASES = (("dpkg", dpkg_libraries), ("apk", apk_libraries), ("rpm", rpm_libraries))


class LibrariesOptions(ProviderOptions):
    """Where to look: exactly one of ``root`` and ``image``; the rest is optional."""

    root: str | None = pydantic.Field(default=None, description="A root filesystem; / is "
                                      "this host.")
    image: str | None = pydantic.Field(default=None, description="An OCI image layout (folder "
                                       "or tar) or a docker save tarball.")
    python: list[str] = pydantic.Field(default=[], description="Interpreters to ask for their "
                                       "installed distributions (with root only).")
    binaries: list[str] = pydantic.Field(default=[], description="Go binaries and Bouncy Castle "
                                         "jars, paths or globs inside the root or image.")
    lifecycles: str | None = pydantic.Field(default=None, description="A JSON file of support "
                                            "ends laid over the shipped data.")
    advisories: str | None = pydantic.Field(default=None, description="An OSV export: a folder "
                                            "of *.json or one JSON file.")

    @pydantic.model_validator(mode="after")
    def _one_place(self) -> LibrariesOptions:
        if (self.root is None) == (self.image is None):
            raise ValueError("give exactly one of root (a root filesystem) and image")
        if self.image is not None and self.python:
            raise ValueError("python: interpreters run on this host; with image, the image's "
                             "site-packages are read instead")
        return self


class LibrariesProvider(Provider):
    """Discovers the crypto libraries of a root filesystem or a container image."""

    name = "libraries"
    component = "encryption-libraries"
    Options = LibrariesOptions
    policy_settings = (
        PolicySetting("library_fips_required", tiered(False, False, False, False),
                      "The system's OpenSSL must run in FIPS mode (fips provider active and "
                      "fips=yes by default) at this tier.", "FIPS 140-3; CSA CCM CEK-03"),
        PolicySetting("library_advisory_severities", ["critical", "high", "moderate",
                                                      "medium", "low", "unknown"],
                      "Severities of advisories that are findings; others are notes.",
                      "OSV schema (database_specific.severity)"),
    )

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        options: LibrariesOptions = system.options
        base = context.base_dir
        place = options.root or options.image or ""
        attempt = self.new_discovery(system, scanned=place,
                                     scanned_kind="root" if options.root else "image")
        book = LayerBook()
        try:
            data = lifecycles(base / options.lifecycles if options.lifecycles else None)
            known = advisories(base / options.advisories) if options.advisories else None
            with _root(base, options, book) as root:
                found = _scan(attempt, root, options)
                since = database_layers(book, dict(DATABASES))
        except (DataError, ImageError, DatabaseError) as exc:
            attempt.error(str(exc))
            return attempt
        except BaseException as exc:  # a failure to look is an error of this system
            if must_propagate(exc):
                raise
            attempt.error(f"reading {place}: {describe(exc)}")
            return attempt
        _finish(attempt, found, (data, known, options), book, since)
        return attempt


@contextlib.contextmanager
def _root(base: Path, options: LibrariesOptions, book: LayerBook) -> Iterator[Path]:
    if options.root is not None:
        root = base / options.root
        if not root.is_dir():
            raise DatabaseError(f"root {options.root}: not a folder")
        yield root
    else:
        image = base / (options.image or "")
        if not image.exists():
            raise ImageError(f"image {options.image}: no such file or folder")
        with unpacked(image, tuple(options.binaries), book) as root:
            yield root


def _scan(attempt: Discovery, root: Path, options: LibrariesOptions) -> list[dict[str, Any]]:
    """Every library entry of the root (one per binary package), and the host's facts."""
    found: list[dict[str, Any]] = []
    release = os_release(root)
    distribution = (f"{release.get('ID', '')} {release.get('VERSION_ID', '')}".strip()
                    if release else None)
    for _source, read in DATABASES:
        entries = read(root)
        for entry in entries or ():
            entry["distribution"] = distribution
        found += entries or []
    found += site_libraries(root)
    for python in options.python:
        try:
            found += interpreter_libraries(shutil.which(python) or python)
        except ArtifactError as exc:
            attempt.error(str(exc), key_uid=f"libraries:{attempt.system.name}:{python}")
    found += _binaries(attempt, root, options.binaries)
    attempt.system = _with(attempt, distribution=release and {
        k: release[k] for k in ("ID", "VERSION_ID", "PRETTY_NAME") if k in release},
        fips=fips_state(root))
    return found


def _binaries(attempt: Discovery, root: Path, patterns: list[str]) -> list[dict[str, Any]]:
    found = []
    for pattern in patterns:
        relative = pattern.lstrip("/")
        paths = sorted(p for p in root.glob(relative) if p.is_file())
        if not paths:
            attempt.error(f"binaries {pattern!r} matched no file",
                          key_uid=f"libraries:{attempt.system.name}:{pattern}")
        for path in paths:
            location = "/" + str(path.relative_to(root))
            try:
                found += binary_libraries(path, location)
            except ArtifactError as exc:
                attempt.error(str(exc), key_uid=f"libraries:{attempt.system.name}:{location}")
    return found


def _merged(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per library build at one place; its binary packages listed together."""
    merged: dict[tuple[str, ...], dict[str, Any]] = {}
    for entry in found:
        key = (entry["name"], entry["package_version"], entry["source"], entry["location"])
        package = entry.pop("package")
        kept = merged.setdefault(key, {**entry, "package": package, "packages": []})
        if package not in kept["packages"]:
            kept["packages"].append(package)
    return sorted(merged.values(), key=lambda e: (e["name"], e["version"], e["location"]))


def _with(attempt: Discovery, **attributes: Any) -> Any:
    record = attempt.system
    return dataclasses.replace(record, attributes={**record.attributes, **attributes})


def _finish(attempt: Discovery, found: list[dict[str, Any]],
            sources: tuple[dict[str, Any], list[dict[str, Any]] | None, LibrariesOptions],
            book: LayerBook, since: dict[tuple[str, ...], int]) -> None:
    """One record per library, and the system's list of them (what the host runs)."""
    data, known, options = sources
    listed = []
    for entry in _merged(found):
        uid = library_uid(attempt.system.uid, entry)
        layer = layer_of(entry, book, since) if options.image else None
        record = attempt.add_library(uid, **record_fields(entry, data, known, layer))
        listed.append({"uid": uid, "name": record.name, "version": record.version,
                       "source": record.source, "path": record.path, "layer": record.layer})
    extra: dict[str, Any] = {"libraries": listed}
    if known is not None:
        extra["advisory_source"] = options.advisories
    attempt.system = _with(attempt, **extra)
