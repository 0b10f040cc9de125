"""The lab's infrastructure code, audited once per module in a fresh interpreter."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

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
def iac_lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, object]]]:
    folder = tmp_path_factory.mktemp("iac-lab")
    return folder, seed_iac(folder / "iac")


@pytest.fixture(scope="session")
def iac_audit(iac_lab: tuple[Path, list[dict[str, object]]]) -> AuditRun:
    folder, systems = iac_lab
    return audit_iac(folder, systems)


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
