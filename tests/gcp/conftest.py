"""Fixtures for the Cloud KMS tests: the loopback stand-in serving the planted estate, a
factory of stand-ins with their own estate and request budget, and a pytester audit runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_cryptoaudit.lab import estate_gcp
from pytest_cryptoaudit.lab.gcp_kms import CloudKmsStandIn, Estate
from pytest_cryptoaudit.testing import audit_pytester
from tests.conftest import installed

# Whether the SDK is there, without importing it while every xdist worker collects.
if not installed("google.cloud.kms_v1"):
    pytest.skip("the [gcp] extra is not installed", allow_module_level=True)


@pytest.fixture(scope="session", autouse=True)
def _sdk_imported_once() -> None:
    """Import the SDK before any in-process audit: pytester drops the modules a run imported
    when it ends, and an SDK imported again beside parts of the old one no longer knows its
    own transport ("'KeyManagementServiceRestTransport' object is not callable")."""
    import google.cloud.kms_v1
    import google.cloud.kms_v1.services.ekm_service.transports.rest
    import google.cloud.kms_v1.services.key_management_service.transports.rest  # noqa: F401


@pytest.fixture(scope="session")
def gcp_standin() -> Iterator[CloudKmsStandIn]:
    """The stand-in with the planted estate, in pages of three items, for the session."""
    with CloudKmsStandIn(estate_gcp.build(), page_size=3) as standin:
        yield standin


@pytest.fixture
def gcp_standins() -> Iterator[Callable[..., CloudKmsStandIn]]:
    """Start stand-ins of one test (their own estate, page size, request budget)."""
    started: list[CloudKmsStandIn] = []

    def start(estate: Estate | None = None, **options: Any) -> CloudKmsStandIn:
        started.append(CloudKmsStandIn(estate or estate_gcp.build(), **options))
        return started[-1]

    yield start
    for standin in started:
        standin.close()


@pytest.fixture
def gcp_audit(pytester: pytest.Pytester) -> Callable[..., tuple[Any, dict[str, Any]]]:
    """Run ``pytest --cryptoaudit`` over a config; returns the outcome and the evidence."""

    def run(config: str, *args: str) -> tuple[Any, dict[str, Any]]:
        done = audit_pytester(pytester, *args, config=config)
        return done.run_result, done.evidence

    return run
