"""The provider registry: entry points are read once per import path and loaded by name."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_cryptoaudit.providers import (
    ENTRY_POINT_GROUP,
    Provider,
    ProviderLoadError,
    ProviderRegistry,
)

MODULE = '''
from pytest_cryptoaudit.providers import Provider


class ImaginaryProvider(Provider):
    name = "imaginary"
    component = "kms"


NOT_A_PROVIDER = object()
'''


def _install(site: Path, module: str, entry_points: dict[str, str]) -> None:
    """A distribution on ``site``, as pip would leave it: a module and its entry points."""
    (site / f"{module}.py").write_text(MODULE)
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    lines = [f"{name} = {target}" for name, target in entry_points.items()]
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n" + "\n".join(lines) + "\n")


def test_a_provider_on_a_new_import_path_is_found(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    before = set(ProviderRegistry().names())
    settings = ProviderRegistry().policy_settings()
    assert "imaginary" not in before
    _install(tmp_path, "imaginary_kms", {"imaginary": "imaginary_kms:ImaginaryProvider",
                                         "not-one": "imaginary_kms:NOT_A_PROVIDER",
                                         "missing": "imaginary_kms_gone:Provider"})
    monkeypatch.syspath_prepend(tmp_path)
    registry = ProviderRegistry()
    assert set(registry.names()) == before | {"imaginary", "not-one", "missing"}
    loaded = registry.get("imaginary")
    assert issubclass(loaded, Provider) and loaded.name == "imaginary"
    with pytest.raises(ProviderLoadError, match="entry point 'not-one' does not name a "
                                                "Provider class"):
        registry.get("not-one")
    with pytest.raises(ProviderLoadError, match=r"provider 'missing' \(imaginary_kms_gone:"
                                                r"Provider\) cannot be loaded: "
                                                "ModuleNotFoundError"):
        registry.get("missing")
    # the providers that do not load add no policy settings, and stop no other's
    assert registry.policy_settings() == settings
    monkeypatch.undo()
    sys.modules.pop("imaginary_kms", None)
    assert set(ProviderRegistry().names()) == before
