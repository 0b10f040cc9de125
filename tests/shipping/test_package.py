"""The built distributions are what a package index and pytest's plugin list expect."""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from email.parser import Parser
from importlib.metadata import version
from pathlib import Path

import pytest

from pytest_cryptoaudit.cli import main
from tests.shipping.conftest import ROOT, pyproject, run

REQUIRED_CLASSIFIERS = {
    "Framework :: Pytest",
    "Topic :: Security :: Cryptography",
    "Programming Language :: Python :: 3.11",
    "Programming Language :: Python :: 3.12",
}


def wheel_metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name).decode()


def test_twine_check_passes_on_sdist_and_wheel(distributions):
    checked = run([sys.executable, "-m", "twine", "check", "--strict",
                   *map(str, distributions)], cwd=ROOT)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2, checked.stdout


def test_wheel_metadata_has_classifiers_urls_and_license(distributions):
    metadata = Parser().parsestr(wheel_metadata(distributions[1]))
    classifiers = set(metadata.get_all("Classifier") or [])
    assert classifiers >= REQUIRED_CLASSIFIERS
    # PEP 639: the SPDX expression replaces the deprecated license classifiers.
    assert metadata["License-Expression"] == "Apache-2.0"
    assert "LICENSE" in (metadata.get_all("License-File") or [])
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Source", "Issues", "Changelog"} <= set(urls)
    assert metadata["Version"] == pyproject()["project"]["version"]
    assert metadata["Description-Content-Type"] == "text/markdown"


def test_long_description_links_resolve_off_the_repository(distributions):
    """On the index, a README link like ``docs/ledger.md`` would be a dead link."""
    description = Parser().parsestr(wheel_metadata(distributions[1])).get_payload()
    assert "# pytest-cryptoaudit" in description
    targets = re.findall(r"\]\(([^)]+)\)", description)
    assert targets, "the README has no links to check"
    relative = [t for t in targets if not t.startswith(("https://", "http://", "#"))]
    assert not relative, relative


def test_sdist_carries_the_license_docs_and_tests(distributions):
    with tarfile.open(distributions[0]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "mkdocs.yml", "docs/index.md", "tests/shipping/test_package.py",
            "action.yml", "templates/cryptoaudit.yml", ".pre-commit-hooks.yaml", "Dockerfile",
            ".github/workflows/release.yml", "CONTRIBUTING.md",
            "controls/algorithms.py"} <= names


def test_cli_version_is_the_installed_distribution(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == \
        f"cryptoaudit {version('pytest-cryptoaudit')} (pytest-cryptoaudit)"


def test_package_version_comes_from_metadata():
    import pytest_cryptoaudit

    assert pytest_cryptoaudit.__version__ == version("pytest-cryptoaudit")


def test_pytest_version_lists_the_plugin(pytester):
    result = pytester.runpytest_subprocess("--version", "--version")
    assert result.ret == 0
    expected = f"pytest-cryptoaudit-{version('pytest-cryptoaudit')}"
    assert expected in result.stdout.str() + result.stderr.str()
