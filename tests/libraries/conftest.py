"""Root filesystems and images for the libraries provider, assembled from real data: this
machine's package database (a committed subset of a Debian 12 dpkg status, and the live
one), a real interpreter in a virtual environment, a real Go binary, and OCI / docker-save
images built here with ``tarfile``."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
from datetime import date, timedelta
from pathlib import Path

from pytest_cryptoaudit.testing import AuditRun, audit_env, audit_subprocess

DATA = Path(__file__).parent / "data"
BOOKWORM_STATUS = DATA / "dpkg-status-bookworm"
BOOKWORM_RELEASE = DATA / "os-release-bookworm"
PLUGIN = "tests.libraries.register"
REPOSITORY = Path(__file__).parents[2]


def audit(folder: Path, systems: list[dict], *args: str,
          policy: dict | None = None) -> AuditRun:
    """Audit ``systems`` (libraries provider) in ``folder`` with the library controls and
    CEK-09, in a fresh interpreter as a user runs it."""
    config = {"systems": [{"provider": "libraries", "ssrm_owner": "CSC", **s} for s in systems],
              "policy": policy or {}}
    path = os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")])
    controls = [arg for cek in ("CEK-03", "CEK-09", "CEK-21")
                for arg in ("--cryptoaudit-control", cek)]
    return audit_subprocess(folder, "-p", PLUGIN, *controls, *args, config=config,
                            env=audit_env(PYTHONPATH=path))


def buster_status() -> str:
    """The bookworm subset turned into a Debian 10 one: libssl1.1 1.1.1n of buster."""
    text = BOOKWORM_STATUS.read_text()
    text = text.replace("Package: libssl3\n", "Package: libssl1.1\n")
    return re.sub(r"(Package: (?:libssl1\.1|openssl)\n(?:.+\n)*?Version: )\S+",
                  r"\g<1>1.1.1n-0+deb10u6", text)


def plant_root(root: Path, status: str, release: str) -> Path:
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "etc").mkdir(exist_ok=True)
    (root / "var/lib/dpkg/status").write_text(status)
    (root / "etc/os-release").write_text(release)
    return root


def lifecycles_file(folder: Path, **ends: date) -> Path:
    """A lifecycles override: release "99" of a test distribution and Go cycles."""
    data = {"upstream": {"go": {"source": "test", "cycles": {
        "1.23": ends.get("go123", date(2025, 8, 12)).isoformat()}}},
        "distributions": {"testos": {"source": "test", "releases": {
            "99": {"security": ends.get("testos", date.today() + timedelta(days=365))
                   .isoformat()}}}}}
    path = folder / "lifecycles.json"
    path.write_text(json.dumps(data))
    return path


def _tar_bytes(files: dict[str, bytes | None]) -> bytes:
    """A layer: name -> content, None for a whiteout of that name."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as layer:
        for name, content in files.items():
            if content is None:
                folder, base = name.rsplit("/", 1)
                name, content = f"{folder}/.wh.{base}", b""
            info = tarfile.TarInfo(name)
            info.size = len(content)
            layer.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def oci_layout(folder: Path, layers: list[dict[str, bytes | None]]) -> Path:
    """An OCI image layout folder: index.json -> manifest -> config and layer blobs."""
    blobs = folder / "blobs/sha256"
    blobs.mkdir(parents=True)

    def put(blob: bytes) -> dict:
        (blobs / _digest(blob).split(":")[1]).write_bytes(blob)
        return {"digest": _digest(blob), "size": len(blob)}

    layer_refs = [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **put(_tar_bytes(files))}
                  for files in layers]
    config = {"mediaType": "application/vnd.oci.image.config.v1+json",
              **put(json.dumps({"rootfs": {"type": "layers"}}).encode())}
    manifest = json.dumps({"schemaVersion": 2, "config": config, "layers": layer_refs}).encode()
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", **put(manifest)}]}
    (folder / "index.json").write_text(json.dumps(index))
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return folder


def docker_save(path: Path, layers: list[dict[str, bytes | None]]) -> Path:
    """A ``docker save`` tarball: manifest.json naming each layer.tar."""
    with tarfile.open(path, "w") as image:
        names = []
        for number, files in enumerate(layers):
            blob = _tar_bytes(files)
            names.append(f"layer{number}/layer.tar")
            info = tarfile.TarInfo(names[-1])
            info.size = len(blob)
            image.addfile(info, io.BytesIO(blob))
        manifest = json.dumps([{"Config": "config.json", "RepoTags": ["app:1"],
                                "Layers": names}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        image.addfile(info, io.BytesIO(manifest))
    return path


def dist_info(name: str, version: str) -> dict[str, bytes]:
    """The METADATA of an installed Python distribution in an image's site-packages."""
    folder = f"usr/local/lib/python3.12/site-packages/{name}-{version}.dist-info"
    return {f"{folder}/METADATA":
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()}


FIPS_FILES = {
    "etc/ssl/openssl.cnf": "openssl_conf = openssl_init\n.include /usr/local/ssl/fipsmodule.cnf\n"
    "[openssl_init]\nproviders = provider_sect\nalg_section = algorithm_sect\n"
    "[provider_sect]\nfips = fips_sect\nbase = base_sect\n[base_sect]\nactivate = 1\n"
    "[algorithm_sect]\ndefault_properties = fips=yes\n",
    "usr/local/ssl/fipsmodule.cnf": "[fips_sect]\nactivate = 1\n",
    "proc/sys/crypto/fips_enabled": "1\n",
}
