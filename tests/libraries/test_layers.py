"""Each library of an image names the layer that put it there: a package by the layer from
which on the package database lists it at its version, a wheel or binary by the layer that
wrote its file; OCI layouts name layers by digest, docker save tarballs by path."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry
from pytest_cryptoaudit.providers.libraries import LibrariesProvider
from tests.libraries.conftest import (
    BOOKWORM_RELEASE,
    BOOKWORM_STATUS,
    _tar_bytes,
    dist_info,
    docker_save,
    oci_layout,
)

STATUS = BOOKWORM_STATUS.read_text()
#: The database without GnuTLS (it comes in a later layer), and with OpenSSL upgraded.
WITHOUT_GNUTLS = re.sub(r"Package: libgnutls30\n(?:.+\n)+\n", "", STATUS)
UPGRADED = STATUS.replace("3.0.19-1~deb12u2", "3.0.20-1~deb12u1")
SITE = "usr/local/lib/python3.12/site-packages"
LAYERS = [
    {"etc/os-release": BOOKWORM_RELEASE.read_bytes(),
     "var/lib/dpkg/status": WITHOUT_GNUTLS.encode(), **dist_info("cryptography", "3.4.8")},
    {**dist_info("cryptography", "44.0.0"), f"{SITE}/cryptography-3.4.8.dist-info": None},
    {"var/lib/dpkg/status": STATUS.encode()},  # GnuTLS installed
    {"var/lib/dpkg/status": UPGRADED.encode()},  # OpenSSL upgraded
]


def _discover(folder, image):
    registry = ProviderRegistry()
    registry.register(LibrariesProvider)
    config = parse_config({"systems": [{"name": "img", "provider": "libraries",
                                        "risk_tier": "low", "ssrm_owner": "CSC",
                                        "image": image}]},
                          registry, [*BUILTIN_SETTINGS, *LibrariesProvider.policy_settings])
    context = DiscoveryContext(policy=config.policy, now=datetime.now(UTC), base_dir=folder)
    return LibrariesProvider().discover(config.systems[0], context)


def _layers(attempt):
    return {(lib.name, lib.version, lib.source): (lib.attributes.get("layer_index"), lib.layer)
            for lib in attempt.libraries}


@pytest.mark.parametrize("build", [oci_layout, docker_save], ids=["oci-layout", "docker-save"])
def test_each_library_names_the_layer_that_put_it_there(tmp_path, build):
    name = "layout" if build is oci_layout else "image.tar"
    build(tmp_path / name, LAYERS)
    attempt = _discover(tmp_path, name)
    assert not attempt.errors, attempt.errors
    found = {key: index for key, (index, _) in _layers(attempt).items()}
    assert found == {
        ("openssl", "3.0.20", "dpkg"): 3, ("gnutls", "3.7.9", "dpkg"): 2,
        ("nss", "3.87.1", "dpkg"): 0, ("libgcrypt", "1.10.1", "dpkg"): 0,
        ("libsodium", "1.0.18", "dpkg"): 0, ("cryptography", "38.0.4", "dpkg"): 0,
        ("cryptography", "44.0.0", "python"): 1}
    digests = {index: digest for index, digest in _layers(attempt).values()}
    if build is oci_layout:
        blob = _tar_bytes(LAYERS[3])
        assert digests[3] == "sha256:" + hashlib.sha256(blob).hexdigest()
    else:
        assert digests[2] == "layer2/layer.tar"
    listed = {lib["name"]: lib["layer"] for lib in attempt.system.attributes["libraries"]}
    assert listed["gnutls"] == digests[2]


def test_a_root_filesystem_has_no_layers(tmp_path):
    root = tmp_path / "root"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(STATUS)
    registry = ProviderRegistry()
    registry.register(LibrariesProvider)
    config = parse_config({"systems": [{"name": "r", "provider": "libraries",
                                        "risk_tier": "low", "ssrm_owner": "CSC",
                                        "root": "root"}]},
                          registry, [*BUILTIN_SETTINGS, *LibrariesProvider.policy_settings])
    context = DiscoveryContext(policy=config.policy, now=datetime.now(UTC), base_dir=tmp_path)
    attempt = LibrariesProvider().discover(config.systems[0], context)
    assert attempt.libraries and all(lib.layer is None for lib in attempt.libraries)
    assert all("layer_index" not in lib.attributes for lib in attempt.libraries)
    uids = {lib.uid for lib in attempt.libraries}
    assert "libraries:r/dpkg/openssl@3.0.19-1~deb12u2:/var/lib/dpkg/status" in uids


def test_library_records_reach_xdist_workers_unchanged(tmp_path):
    """The controller hands the inventory to workers as JSON: libraries survive it."""
    from pytest_cryptoaudit.model import Inventory
    from pytest_cryptoaudit.serialize import inventory_from_dict, inventory_to_dict

    oci_layout(tmp_path / "layout", LAYERS)
    attempt = _discover(tmp_path, "layout")
    inventory = Inventory.build([], [attempt.system], [], libraries=attempt.libraries)
    back = inventory_from_dict(inventory_to_dict(inventory))
    assert back.libraries == inventory.libraries and len(back.libraries) == 7
    assert back.libraries_of("img") == inventory.libraries
