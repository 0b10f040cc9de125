"""Crypto libraries in a root filesystem's package databases: dpkg, apk and rpm.

Binary packages are known by their source package (``libssl3`` and ``openssl`` are both
built from ``openssl``), so one library is one entry however many packages it ships in.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .versions import upstream_version

#: Source package (distribution spelling) -> the library's name.
SOURCE_NAMES: Mapping[str, str] = {
    "openssl": "openssl", "openssl3": "openssl", "openssl1.1": "openssl",
    "openssl-libs": "openssl", "libressl": "libressl", "boringssl": "boringssl",
    "gnutls28": "gnutls", "gnutls": "gnutls", "nss": "nss", "libgcrypt20": "libgcrypt",
    "libgcrypt": "libgcrypt", "libsodium": "libsodium", "bouncycastle": "bouncycastle",
    "python-cryptography": "cryptography", "py3-cryptography": "cryptography",
    "pyopenssl": "pyopenssl", "py3-openssl": "pyopenssl", "pycryptodome": "pycryptodome",
}
GOLANG = re.compile(r"^golang-(1\.\d+)$|^go$")
MAX_DATABASE_BYTES = 64 * 1024 * 1024


class DatabaseError(Exception):
    """A package database that exists but cannot be read."""


def library_name(source: str) -> str | None:
    if source in SOURCE_NAMES:
        return SOURCE_NAMES[source]
    return "go" if GOLANG.match(source) else None


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_DATABASE_BYTES:
            raise DatabaseError(f"{path.name}: larger than {MAX_DATABASE_BYTES} bytes")
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DatabaseError(f"{path}: {exc.strerror or exc}") from None


def os_release(root: Path) -> dict[str, str] | None:
    """``ID`` and ``VERSION_ID`` (and the rest) of ``etc/os-release``, or None if absent."""
    for name in ("etc/os-release", "usr/lib/os-release"):
        path = root / name
        if path.is_file():
            fields = {}
            for line in _read(path).splitlines():
                key, sep, value = line.partition("=")
                if sep and key.strip():
                    fields[key.strip()] = value.strip().strip("\"'")
            return fields
    return None


def _stanzas(text: str) -> Iterator[dict[str, str]]:
    """The paragraphs of a deb822 file (dpkg status), continuation lines folded away."""
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        last = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and last:
                continue  # a continuation line (descriptions, conffiles)
            key, sep, value = line.partition(":")
            if sep:
                last = key.strip()
                fields[last] = value.strip()
        if fields:
            yield fields


def _entry(source: str, package: str, version: str, origin: str,
           location: str) -> dict[str, Any] | None:
    name = library_name(source)
    if name is None:
        return None
    if name == "go" and source != "go":
        version = source.removeprefix("golang-") + "." + upstream_version(version)
    return {"name": name, "version": upstream_version(version), "package": package,
            "source_package": source, "package_version": version, "source": origin,
            "location": location}


def dpkg_libraries(root: Path) -> list[dict[str, Any]] | None:
    """The installed crypto libraries of ``var/lib/dpkg/status`` (and ``status.d``, as
    distroless images keep it), or None where the root has no dpkg database."""
    paths = [root / "var/lib/dpkg/status"]
    status_d = root / "var/lib/dpkg/status.d"
    if status_d.is_dir():
        paths += sorted(p for p in status_d.iterdir() if p.is_file() and "." not in p.name)
    paths = [p for p in paths if p.is_file()]
    if not paths:
        return None
    found = []
    for path in paths:
        for stanza in _stanzas(_read(path)):
            if "installed" not in stanza.get("Status", "install ok installed").split():
                continue
            package = stanza.get("Package", "")
            source = stanza.get("Source", package).split(" ")[0]
            entry = _entry(source, package, stanza.get("Version", ""), "dpkg",
                           "/" + str(path.relative_to(root)))
            if entry:
                found.append(entry)
    return found


def apk_libraries(root: Path) -> list[dict[str, Any]] | None:
    """The crypto libraries of Alpine's ``lib/apk/db/installed``, or None if absent."""
    path = root / "lib/apk/db/installed"
    if not path.is_file():
        return None
    found = []
    for block in re.split(r"\n\s*\n", _read(path)):
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line[:2])
        package = fields.get("P", "")
        entry = _entry(fields.get("o", package), package, fields.get("V", ""), "apk",
                       "/lib/apk/db/installed")
        if entry:
            found.append(entry)
    return found


RPM_FORMAT = r"%{NAME}\t%{SOURCERPM}\t%{VERSION}-%{RELEASE}\n"
RPM_DATABASES = ("var/lib/rpm", "usr/lib/sysimage/rpm")


def rpm_libraries(root: Path, timeout: float = 60) -> list[dict[str, Any]] | None:
    """The crypto libraries of an rpm database, read through ``rpm`` itself (its database
    formats differ by release); None where the root has none or ``rpm`` is not installed."""
    relative = next((p for p in RPM_DATABASES
                     if (root / p).is_dir() and any((root / p).iterdir())), None)
    if relative is None:
        return None
    database = root / relative
    rpm = shutil.which("rpm")
    if rpm is None:
        raise DatabaseError(f"{database} holds an rpm database, and `rpm` is not installed "
                            "to read it")
    # --dbpath names the database inside the root: rpm's own default differs by build
    # (Debian's rpm looks in ~/.rpmdb).
    completed = subprocess.run([rpm, "--root", str(root.resolve()), "--dbpath", "/" + relative,
                                "-qa", "--qf", RPM_FORMAT],
                               capture_output=True, text=True, timeout=timeout, check=False)
    if completed.returncode != 0:
        raise DatabaseError(f"rpm -qa failed: {completed.stderr.strip()[:300]}")
    found = []
    for line in completed.stdout.splitlines():
        package, source_rpm, version = ([*line.split("\t"), "", ""])[:3]
        source = re.sub(r"-[^-]+-[^-]+\.src\.rpm$", "", source_rpm) or package
        entry = _entry(source, package, version, "rpm", "/" + relative)
        if entry:
            found.append(entry)
    return found
