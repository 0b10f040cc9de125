"""Registers the libraries provider in audits run by these tests, so they also run from a
checkout whose installed metadata predates its entry point (``pip install -e .`` adds it)."""

from __future__ import annotations

from pytest_cryptoaudit.providers import ProviderRegistry
from pytest_cryptoaudit.providers.libraries import LibrariesProvider


def pytest_cryptoaudit_add_providers(registry: ProviderRegistry) -> None:
    registry.register(LibrariesProvider)
