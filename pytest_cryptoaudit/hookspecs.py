"""Hook specifications of pytest-cryptoaudit: the extension points for third parties.

Register an implementation in a ``conftest.py`` or a pytest plugin. Built-in providers are
registered through the entry-point group ``pytest_cryptoaudit.providers`` exactly as a third
party's are; this hook adds providers that live in a conftest or a plugin instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .config import AuditConfig
    from .context import RunContext
    from .evidence_model import Evidence
    from .model import Event, Inventory
    from .policy import PolicySetting
    from .providers import ProviderRegistry


@pytest.hookspec
def pytest_cryptoaudit_add_providers(registry: ProviderRegistry) -> None:
    """Register extra provider classes with ``registry.register(ProviderClass)``."""


@pytest.hookspec
def pytest_cryptoaudit_policy_settings() -> list[PolicySetting]:
    """Return extra policy settings (with documented defaults) that a control pack uses."""


@pytest.hookspec
def pytest_cryptoaudit_select_systems(
    audit_config: AuditConfig, config: pytest.Config
) -> Iterable[str] | None:
    """Before discovery: return the names of the systems to audit, or None for no opinion.

    The run keeps the systems that every answering implementation names (the built-in one
    answers under ``--cryptoaudit-due`` with the systems due now)."""


@pytest.hookspec
def pytest_cryptoaudit_events(audit_config: AuditConfig) -> Iterable[Event] | None:
    """Return security events and material changes from elsewhere than ``[[events]]`` (the
    ledger answers with its recorded events and the changes detected in this run)."""


@pytest.hookspec
def pytest_cryptoaudit_inventory_ready(inventory: Inventory, audit_config: AuditConfig,
                                       run: RunContext) -> None:
    """Called once on the controller after discovery, before any control is collected;
    ``run`` says which run this is and which controls it selected."""


@pytest.hookspec
def pytest_cryptoaudit_evidence(evidence: dict[str, Any], evidence_model: Evidence,
                                audit_config: AuditConfig, config: pytest.Config) -> None:
    """Called on the controller with the finished evidence; reporters and the ledger derive
    their output from it. ``evidence_model`` is the typed evidence (read it rather than
    ``evidence``, its JSON document, kept for existing implementations); ``audit_config``
    is the run's configuration, so no implementation needs to reach into the session.
    The records that grow with the estate (``inventory`` and ``results``, in both) are
    sequences made entry by entry as they are read, not held: a reader that goes over them
    more than once keeps its own list, and ``json.dump(evidence, f, default=list)`` writes
    the document."""
