"""The documentation site builds strictly, and strict mode catches what it is meant to."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from pytest_cryptoaudit.catalog_cli import load_builtin_catalog
from tests.shipping.conftest import ROOT, run

NO_BANNER = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}


class MkDocsLoader(yaml.SafeLoader):
    """Safe loading that reads mkdocs.yml's ``!!python/name:`` tags as plain names."""


MkDocsLoader.add_multi_constructor(
    "tag:yaml.org,2002:python/", lambda loader, suffix, node: suffix)


def build(project: Path, site: Path) -> tuple[int, str]:
    built = run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                cwd=project, env=NO_BANNER)
    return built.returncode, built.stdout + built.stderr


def copy_site_sources(target: Path) -> Path:
    shutil.copytree(ROOT / "docs", target / "docs")
    (target / "scripts").mkdir()
    shutil.copy(ROOT / "scripts/docs_hooks.py", target / "scripts")
    shutil.copy(ROOT / "mkdocs.yml", target)
    return target


def nav_pages(entries: list) -> set[str]:
    pages: set[str] = set()
    for entry in entries:
        for value in entry.values():
            pages |= nav_pages(value) if isinstance(value, list) else {value}
    return pages


@pytest.mark.slow
def test_site_builds_strictly_with_the_generated_catalog(tmp_path):
    code, output = build(ROOT, tmp_path / "site")
    assert code == 0, output
    catalog = (tmp_path / "site/controls/index.html").read_text()
    specs = load_builtin_catalog()
    assert specs
    for spec in specs:
        assert f"<code>{spec.check}</code>" in catalog, spec.check
    assert "generated when the site is built" not in catalog


def test_site_has_the_pages_a_user_needs():
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=MkDocsLoader)
    assert config["theme"]["name"] == "material"
    pages = nav_pages(config["nav"])
    assert {"getting-started.md", "files.md", "aws-kms.md", "vault.md", "pkcs11.md", "tls.md",
            "controls.md", "reports.md", "waivers.md", "ledger.md", "ci.md", "large-estates.md",
            "reliability.md", "architecture.md"} <= pages


@pytest.mark.slow
def test_strict_build_fails_on_a_broken_link_and_a_page_outside_the_navigation(tmp_path):
    project = copy_site_sources(tmp_path / "project")
    (project / "docs/orphan.md").write_text("# Not in the navigation\n")
    with (project / "docs/waivers.md").open("a") as page:
        page.write("\nSee [the missing page](no-such-page.md).\n")
    code, output = build(project, tmp_path / "site")
    assert code == 1, output
    assert "no-such-page.md" in output
    assert "orphan.md" in output
