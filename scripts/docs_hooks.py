"""MkDocs hooks of the documentation site (``hooks:`` in mkdocs.yml).

The control catalog page is filled at build time from the built-in controls' markers, the same
source as the README table (``cryptoaudit catalog``), so the site cannot show a stale catalog.
"""

from __future__ import annotations

from typing import Any

from pytest_cryptoaudit.catalog_cli import catalog_markdown, load_builtin_catalog, replace_catalog

CATALOG_PAGE = "controls.md"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Put the generated catalog between the catalog marks of the catalog page."""
    if page.file.src_uri != CATALOG_PAGE:
        return markdown
    return replace_catalog(markdown, catalog_markdown(load_builtin_catalog()))
