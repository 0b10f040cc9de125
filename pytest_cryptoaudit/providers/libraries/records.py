"""Each crypto library found as a record of its own: its uid, the support data that judges it,
its advisories, and, in an image, the layer that put it there.

A library of a package database entered the image in the layer from which on every later
state of the database lists it at that version (the databases after each layer that changed
them are read again); a library named by a file (a wheel's metadata, a Go binary, a jar) in
the layer that last wrote that file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .images import LayerBook
from .lifecycle import matching
from .versions import cycle_of

Reader = Callable[[Path], list[dict[str, Any]] | None]
#: Where a library comes from a distribution, whose security support decides.
DISTRIBUTION_SOURCES = frozenset({"dpkg", "apk", "rpm"})


def library_uid(system_uid: str, entry: Mapping[str, Any]) -> str:
    """``libraries:host/dpkg/openssl@3.0.15-1~deb12u1:/var/lib/dpkg/status``: the system,
    where it was found, the library at its packaged version, and the file that names it."""
    return (f"{system_uid}/{entry['source']}/{entry['name']}@{entry['package_version']}:"
            f"{entry['location']}")


def lifecycle_of(entry: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The support data that judges one library: the upstream cycle its version is in (or
    None where the data has none), and for a distribution's package the distribution's
    release with its security support end (or None)."""
    upstream = data["upstream"].get(entry["name"], {})
    cycles = upstream.get("cycles", {})
    cycle = cycle_of(entry["version"], cycles)
    found: dict[str, Any] = {
        "upstream": {"cycle": cycle, "ends": cycles[cycle], "source": upstream.get("source", "")}
        if cycle else None}
    if entry["source"] in DISTRIBUTION_SOURCES:
        found["distribution"] = _release_end(entry.get("distribution"), data)
    return found


def _release_end(distribution: str | None, data: Mapping[str, Any]) -> dict[str, Any] | None:
    name, _, version = (distribution or "").partition(" ")
    entry = data["distributions"].get(name, {})
    releases = entry.get("releases", {})
    release = cycle_of(version, releases) if distribution else None
    if release is None:
        return None
    return {"release": release, "ends": max(releases[release].values()),
            "source": entry.get("source", "")}


def database_layers(book: LayerBook, readers: Mapping[str, Reader]) -> dict[tuple[str, ...], int]:
    """(source, package, package version) -> the index of the layer it entered the image
    in, from the databases as they stood after each layer that changed them."""
    since: dict[tuple[str, ...], int] = {}
    for index in sorted(book.databases):
        listed = {(source, entry["package"], entry["package_version"])
                  for source, read in readers.items()
                  for entry in read(book.databases[index]) or ()}
        since = {key: since.get(key, index) for key in listed}
    return since


def _dist_info_path(entry: Mapping[str, Any], book: LayerBook) -> str | None:
    """The kept metadata file of a Python distribution in the site folder it was found in."""
    folder = entry["location"].lstrip("/") + "/"
    for path in book.files:
        if not path.startswith(folder) or path.count("/") != folder.count("/") + 1:
            continue
        stem = re.sub(r"\.(dist|egg)-info$", "", path[len(folder):].split("/")[0])
        name, _, version = stem.rpartition("-")
        if re.sub(r"[-_.]+", "-", name).lower() == entry["package"] \
                and version == entry["package_version"]:
            return path
    return None


def layer_of(entry: Mapping[str, Any], book: LayerBook,
             since: Mapping[tuple[str, ...], int]) -> tuple[int, str] | None:
    """(index, digest) of the layer that put the library in the image, where it can be told."""
    if entry["source"] in DISTRIBUTION_SOURCES:
        indexes = [since[key] for package in entry["packages"]
                   if (key := (entry["source"], package, entry["package_version"])) in since]
        index = min(indexes) if indexes else None
    else:
        path = entry["location"] if entry["source"] != "python" else \
            _dist_info_path(entry, book)
        index = book.files.get((path or "").lstrip("/"))
    return None if index is None else (index, book.digests[index])


def record_fields(entry: Mapping[str, Any], data: Mapping[str, Any],
                  known: list[dict[str, Any]] | None,
                  layer: tuple[int, str] | None) -> dict[str, Any]:
    """The fields of one library's record (``add_library`` keywords)."""
    attributes: dict[str, Any] = {
        "packages": list(entry["packages"]), "package_version": entry["package_version"],
        "lifecycle": lifecycle_of(entry, data)}
    if entry.get("source_package"):
        attributes["source_package"] = entry["source_package"]
    if entry["source"] in DISTRIBUTION_SOURCES:  # None: the root names no distribution
        attributes["distribution"] = entry.get("distribution")
    if known is not None:
        attributes["advisories"] = matching(entry, known)
    if layer is not None:
        attributes["layer_index"] = layer[0]
    return {"name": entry["name"], "version": entry["version"], "source": entry["source"],
            "path": entry["location"], "layer": layer[1] if layer else None,
            "attributes": attributes}
