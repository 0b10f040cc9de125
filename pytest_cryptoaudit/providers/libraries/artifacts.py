"""Crypto libraries outside package databases: Python environments, Go binaries (their
build info) and Bouncy Castle jars."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

#: Python distributions that are crypto libraries, by their normalised name.
PYTHON_NAMES = {"cryptography": "cryptography", "pyopenssl": "pyopenssl",
                "pycryptodome": "pycryptodome", "pycryptodomex": "pycryptodome",
                "pynacl": "libsodium-python"}
#: Go modules whose presence in a binary names a crypto library beside Go's own.
GO_MODULES = {"golang.org/x/crypto": "go-x-crypto", "github.com/cloudflare/circl": "circl"}
BUILDINFO_MAGIC = b"\xff Go buildinf:"
MAX_BINARY_BYTES = 512 * 1024 * 1024
_CHUNK = 4 * 1024 * 1024
_SITE_DIRS = ("usr/lib/python3*/site-packages", "usr/lib/python3/dist-packages",
              "usr/local/lib/python3*/site-packages", "usr/local/lib/python3*/dist-packages",
              "opt/*/lib/python3*/site-packages", "opt/*/venv/lib/python3*/site-packages")
_PROBE = ("import importlib.metadata as m, json, sys; print(json.dumps([[d.metadata['Name'], "
          "d.version] for d in m.distributions() if d.metadata['Name']]))")


class ArtifactError(Exception):
    """A named artifact (interpreter, binary, jar) that could not be read."""


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _python_entries(pairs: Iterable[tuple[str, str]], location: str) -> list[dict[str, Any]]:
    found = []
    for name, version in pairs:
        library = PYTHON_NAMES.get(_normal(name))
        if library:
            found.append({"name": library, "version": version, "package": _normal(name),
                          "package_version": version, "source": "python",
                          "location": location})
    return found


def interpreter_libraries(python: str, timeout: float = 60) -> list[dict[str, Any]]:
    """Ask an interpreter (a virtual environment's, say) what it has installed."""
    try:
        completed = subprocess.run([python, "-I", "-c", _PROBE], capture_output=True,
                                   text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ArtifactError(f"python {python}: {exc}") from None
    if completed.returncode != 0:
        raise ArtifactError(f"python {python} exited {completed.returncode}: "
                            f"{completed.stderr.strip()[-300:]}")
    try:
        pairs = [tuple(pair) for pair in json.loads(completed.stdout)]
    except ValueError:
        raise ArtifactError(f"python {python}: unexpected output") from None
    return _python_entries(pairs, python)


def site_libraries(root: Path) -> list[dict[str, Any]]:
    """Distributions in the site-packages folders of a root filesystem (an image's), read
    through ``importlib.metadata`` without running anything in it."""
    found = []
    for pattern in _SITE_DIRS:
        for folder in sorted(root.glob(pattern)):
            pairs = [(d.metadata["Name"] or "", d.version)
                     for d in metadata.distributions(path=[str(folder)])]
            found += _python_entries(pairs, "/" + str(folder.relative_to(root)))
    return found


def _buildinfo_offset(path: Path) -> tuple[bytes, int] | None:
    """The bytes from the build-info header to the end of the file, if it has one."""
    with path.open("rb") as handle:
        start = 0
        tail = b""
        while chunk := handle.read(_CHUNK):
            data = tail + chunk
            index = data.find(BUILDINFO_MAGIC)
            if index >= 0:
                handle.seek(start - len(tail) + index)
                return handle.read(64 * 1024 * 1024), start - len(tail) + index
            tail = data[-len(BUILDINFO_MAGIC):]
            start += len(chunk)
    return None


def _varint_string(data: bytes, pos: int) -> tuple[str, int]:
    length = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return data[pos:pos + length].decode("utf-8", errors="replace"), pos + length


def go_build_info(path: Path) -> tuple[str, list[tuple[str, str]]] | None:
    """The Go version and module list of a Go binary (Go 1.18+ inline build info), or None
    if the file is no Go binary."""
    try:
        if path.stat().st_size > MAX_BINARY_BYTES:
            raise ArtifactError(f"{path}: larger than {MAX_BINARY_BYTES} bytes")
        found = _buildinfo_offset(path)
    except OSError as exc:
        raise ArtifactError(f"{path}: {exc.strerror or exc}") from None
    if found is None:
        return None
    data = found[0]
    if len(data) < 33 or not data[15] & 0x02:
        raise ArtifactError(f"{path}: Go build info of a release before Go 1.18 (pointer "
                            "format), not read")
    version, pos = _varint_string(data, 32)
    modinfo, _ = _varint_string(data, pos)
    modules = [tuple(line.split("\t")[1:3]) for line in modinfo.splitlines()
               if line.startswith(("dep\t", "=>\t")) and line.count("\t") >= 2]
    return version, modules  # type: ignore[return-value]


def binary_libraries(path: Path, location: str) -> list[dict[str, Any]]:
    """Go's crypto (the toolchain version) and crypto modules of a Go binary, or the
    version of a Bouncy Castle jar; empty for any other file."""
    if path.suffix == ".jar":
        return _jar(path, location)
    info = go_build_info(path)
    if info is None:
        return []
    version, modules = info
    found = [{"name": "go", "version": version.removeprefix("go"), "package": "go",
              "package_version": version, "source": "go-buildinfo", "location": location}]
    for module, module_version in modules:
        if module in GO_MODULES:
            found.append({"name": GO_MODULES[module], "version": module_version.lstrip("v"),
                          "package": module, "package_version": module_version,
                          "source": "go-buildinfo", "location": location})
    return found


def _jar(path: Path, location: str) -> list[dict[str, Any]]:
    match = re.match(r"^bc(prov|fips|pkix|util)[-\w]*?-(\d[\w.]*)\.jar$", path.name)
    if not match:
        return []
    version = match.group(2)
    try:
        with zipfile.ZipFile(path) as jar:
            manifest = jar.read("META-INF/MANIFEST.MF").decode("utf-8", errors="replace")
        stated = re.search(r"^Bundle-Version:\s*(\S+)", manifest, re.M)
        version = stated.group(1) if stated else version
    except (OSError, KeyError, zipfile.BadZipFile):
        pass  # the file name states the version; a manifest only refines it
    name = "bouncycastle-fips" if match.group(1) == "fips" else "bouncycastle"
    return [{"name": name, "version": version, "package": path.name, "package_version": version,
             "source": "jar", "location": location}]
