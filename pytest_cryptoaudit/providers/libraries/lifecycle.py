"""Support ends as data, and advisories from an offline OSV export.

The shipped ``lifecycles.json`` names its sources; a user's file of the same shape replaces
entries by library and cycle (or distribution and release), so a date is updated without a
release of this package. Advisories are OSV records (a folder of ``*.json`` or one JSON file
holding a record or a list) matched to libraries by ecosystem and package name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from .versions import compare, upstream_version

BUILTIN = "lifecycles.json"
#: Where a library was found -> the OSV ecosystem prefix its advisories use.
ECOSYSTEMS = {"dpkg": "debian", "apk": "alpine", "rpm": "", "python": "pypi",
              "go-buildinfo": "go", "jar": "maven"}
MAX_ADVISORY_BYTES = 256 * 1024 * 1024


class DataError(Exception):
    """A lifecycle or advisory file that cannot be read."""


def _load(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_ADVISORY_BYTES:
            raise DataError(f"{path}: larger than {MAX_ADVISORY_BYTES} bytes")
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise DataError(f"{path}: not JSON: {exc}") from None


def lifecycles(user_file: Path | None) -> dict[str, Any]:
    """The shipped lifecycle data with the user's entries laid over it."""
    text = resources.files(__package__).joinpath(BUILTIN).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    if user_file is not None:
        override = _load(user_file)
        if not isinstance(override, dict):
            raise DataError(f"{user_file}: expected an object with upstream/distributions")
        for section, items in ((s, override.get(s, {})) for s in ("upstream", "distributions")):
            for name, entry in items.items():
                merged = data[section].setdefault(name, {"source": "", "cycles": {},
                                                         "releases": {}})
                merged["source"] = entry.get("source") or merged.get("source", "")
                for table in ("cycles", "releases"):
                    merged.setdefault(table, {}).update(entry.get(table, {}))
    for section in ("upstream", "distributions"):
        for name, entry in data[section].items():
            for table in ("cycles", "releases"):
                for cycle, value in entry.get(table, {}).items():
                    _check_dates(f"{section}.{name}.{table}.{cycle}", value)
    return data


def _check_dates(where: str, value: Any) -> None:
    values = value.values() if isinstance(value, Mapping) else [value]
    for item in values:
        try:
            date.fromisoformat(str(item))
        except ValueError:
            raise DataError(f"lifecycles {where}: expected a date such as 2026-09-07, "
                            f"got {item!r}") from None


def _records(path: Path) -> Iterator[dict[str, Any]]:
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    if path.is_dir() and not files:
        raise DataError(f"{path}: no *.json advisory in the folder")
    for file in files:
        data = _load(file)
        for record in data if isinstance(data, list) else [data]:
            if not isinstance(record, dict) or "id" not in record:
                raise DataError(f"{file}: not an OSV record (no id)")
            yield record


def _severity(record: Mapping[str, Any]) -> str:
    stated = (record.get("database_specific") or {}).get("severity")
    if stated:
        return str(stated).lower()
    scores = [s.get("score", "") for s in record.get("severity", ())]
    return scores[0] if scores else "unknown"


def _affected(version: str, ranges: list[Mapping[str, Any]], listed: list[str]) -> str | None:
    """The fixed version (or "no fix") if ``version`` is affected, else None."""
    if version in listed:
        return "listed as affected"
    for entry in ranges:
        introduced, fixed, limit = "0", None, None
        for event in entry.get("events", ()):
            introduced = event.get("introduced", introduced)
            fixed = event.get("fixed", fixed)
            limit = event.get("last_affected", limit)
        plain = entry.get("type") != "ECOSYSTEM"
        candidate = upstream_version(version) if plain else version
        if introduced != "0" and compare(candidate, introduced) < 0:
            continue
        if fixed is not None and compare(candidate, fixed) >= 0:
            continue
        if limit is not None and compare(candidate, limit) > 0:
            continue
        return f"fixed in {fixed}" if fixed else "no fixed version"
    return None


def advisories(path: Path) -> list[dict[str, Any]]:
    """The affected packages of every OSV record under ``path``, flattened."""
    flat = []
    for record in _records(path):
        for affected in record.get("affected", ()):
            package = affected.get("package") or {}
            flat.append({"id": record["id"], "ecosystem": str(package.get("ecosystem", "")),
                         "name": str(package.get("name", "")), "severity": _severity(record),
                         "ranges": affected.get("ranges", []),
                         "versions": affected.get("versions", [])})
    return flat


def matching(library: Mapping[str, Any], entries: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The advisories that list this library's package at its version."""
    ecosystem = ECOSYSTEMS.get(library["source"], "")
    names = {library["package"], library.get("source_package", ""), library["name"]} - {""}
    found = []
    for entry in entries:
        if entry["name"] not in names or not entry["ecosystem"].lower().startswith(ecosystem):
            continue
        fix = _affected(library["package_version"], entry["ranges"], entry["versions"])
        if fix is not None:
            found.append({"id": entry["id"], "severity": entry["severity"], "fix": fix})
    return found
