"""The lab's infrastructure code, audited once per module in a fresh interpreter."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.lab import reviewed_policy
from pytest_cryptoaudit.lab.estate_iac import seed_iac
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import Discovery, DiscoveryContext, ProviderRegistry
from pytest_cryptoaudit.providers.iac.cloudformation import CloudFormationProvider
from pytest_cryptoaudit.providers.iac.kubernetes import KubernetesProvider
from pytest_cryptoaudit.providers.iac.terraform import TerraformProvider
from pytest_cryptoaudit.testing import AuditRun, audit_subprocess
from tests.shared import once_per_run

#: Registers the providers where the installed metadata predates their entry points
#: (an editable install of an older checkout); registering twice is harmless.
REGISTER = '''
from pytest_cryptoaudit.providers.iac.cloudformation import CloudFormationProvider
from pytest_cryptoaudit.providers.iac.kubernetes import KubernetesProvider
from pytest_cryptoaudit.providers.iac.terraform import TerraformProvider


def pytest_cryptoaudit_add_providers(registry):
    for provider in (TerraformProvider, CloudFormationProvider, KubernetesProvider):
        registry.register(provider)
'''


def audit_iac(folder: Path, systems: list[dict[str, object]], *args: str) -> AuditRun:
    (folder / "conftest.py").write_text(REGISTER)
    config = {"systems": systems, "policy": reviewed_policy()}
    return audit_subprocess(folder, *args, config=config)


@pytest.fixture(scope="session")
def _iac_lab_audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The seeded code and its audit, once per test run (shared by the xdist workers)."""
    def build(folder: Path) -> dict[str, Any]:
        systems = seed_iac(folder / "iac")
        run = audit_iac(folder, systems)
        return {"systems": systems, "ret": run.ret, "output": run.output,
                "evidence": run.evidence}

    return once_per_run(tmp_path_factory, "iac-lab", build)


@pytest.fixture(scope="session")
def iac_lab(_iac_lab_audited: tuple[Path, dict[str, Any]]
            ) -> tuple[Path, list[dict[str, object]]]:
    folder, stored = _iac_lab_audited
    return folder, stored["systems"]


@pytest.fixture(scope="session")
def iac_audit(_iac_lab_audited: tuple[Path, dict[str, Any]]) -> AuditRun:
    _, stored = _iac_lab_audited
    return AuditRun(stored["ret"], stored["output"], stored["evidence"])


def discover(provider: str, root: Path, **options: object) -> Discovery:
    """One system of ``provider`` over ``root`` (the configuration's folder)."""
    registry = ProviderRegistry()
    for found in (TerraformProvider, CloudFormationProvider, KubernetesProvider):
        registry.register(found)
    system = {"name": "code", "provider": provider, "risk_tier": "high", "ssrm_owner": "CSC",
              **options}
    audit_config = parse_config({"systems": [system]}, registry, BUILTIN_SETTINGS)
    context = DiscoveryContext(policy=audit_config.policy, now=datetime.now(UTC), base_dir=root)
    return registry.get(provider)().discover(audit_config.systems[0], context)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
