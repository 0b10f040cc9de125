"""Generic controls judge facts, never a provider: only a provider's own pack names it.

A control that tests ``provider == "..."``, reads an attribute string only one provider
writes, or imports a provider's module cannot serve a second key store; a provider that
fills the typed facts must get every generic control without copies.
"""

from __future__ import annotations

import re

import pytest

from pytest_cryptoaudit.catalog import builtin_controls_dir
from pytest_cryptoaudit.providers import ProviderRegistry

#: Each built-in provider's own control pack (what is truly that service's own).
PACKS = {
    "aws-kms": {"aws_kms.py", "aws_kms_access.py"},
    "vault": {"vault.py", "vault_pki.py"},
    "pkcs11": {"pkcs11.py"},
    "tls": {"tls.py"},
    "files": {"storage.py"},
    "libraries": {"libraries.py"},
}
PROVIDER_MODULES = {"aws-kms": "aws_kms"}


def provider_patterns(name: str) -> list[re.Pattern[str]]:
    module = PROVIDER_MODULES.get(name, name)
    return [re.compile(rf"""["']{re.escape(name)}["']"""),
            re.compile(rf"providers\.{module}\b"),
            re.compile(r"\.provider\b|[\"']provider[\"']\s*:")]


def generic_modules() -> list[str]:
    packs = set().union(*PACKS.values())
    return sorted(p.name for p in builtin_controls_dir().glob("*.py")
                  if not p.name.startswith("_") and p.name not in packs)


def test_every_builtin_provider_has_its_pack_declared():
    assert set(PACKS) == set(ProviderRegistry().names())
    existing = {p.name for p in builtin_controls_dir().glob("*.py")}
    assert set().union(*PACKS.values()) <= existing


@pytest.mark.parametrize("module", generic_modules())
def test_generic_control_module_names_no_provider(module):
    text = (builtin_controls_dir() / module).read_text()
    found = [f"{module}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
             for name in PACKS for pattern in provider_patterns(name)
             for m in pattern.finditer(text)]
    assert not found, "\n".join(found)


def test_the_managed_key_checks_are_generic():
    assert {"managed_keys.py", "managed_access.py", "cek09.py"} <= set(generic_modules())
