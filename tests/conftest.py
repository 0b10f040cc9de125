"""Shared test configuration: services the tests need must be present in CI.

Locally, a test whose service (say the softhsm2 Debian package) is not installed is skipped
with the command that installs it. With ``CRYPTOAUDIT_REQUIRE_SERVICES=1`` (set by
``.ci/run``) the same situation fails, so CI can never pass by skipping.

Every test that starts a service carries the ``service`` mark and every slow tooling check
(mypy, the documentation build ...) the ``slow`` mark, so that
``pytest -m "not service and not slow" -n 2`` is the fast lane; the full run stays the CI
command.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import os
import shutil
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

# Imported before any in-process pytest run: such a run forgets the modules it imported,
# and one imported again has new classes while objects of the first import live on. PyYAML's
# C parser (an extension module, loaded once per process) raises the first import's
# exceptions; requests checks cookie jars against ``http.cookiejar``'s class, and the cloud
# SDKs' sessions outlive a run. Then a loader misses an error, or an SDK call fails with
# "You can only merge into CookieJar", depending on which test ran first.
with contextlib.suppress(ImportError):
    import yaml  # noqa: F401
with contextlib.suppress(ImportError):
    import requests  # noqa: F401


def _rfc3987_syntax_on_first_use() -> None:
    """jsonschema imports ``rfc3987_syntax`` (installed with ``jsonschema[format-nongpl]``,
    which CycloneDX validation asks for) for its IRI format checks, and that module builds
    its grammar's parser as it is imported: 1.3 s of CPU in every test process that imports
    jsonschema, most of which never checks an IRI. It is imported on its first check instead,
    so every check still runs with it."""
    spec = importlib.util.find_spec("rfc3987_syntax")
    if spec is None or spec.submodule_search_locations is None \
            or "rfc3987_syntax" in sys.modules:
        return
    package = types.ModuleType("rfc3987_syntax")
    package.__path__ = list(spec.submodule_search_locations)  # its modules load from there

    def is_valid_syntax(term: str, value: str) -> bool:
        from rfc3987_syntax.syntax_helpers import is_valid_syntax as check

        return bool(check(term, value))

    package.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    sys.modules["rfc3987_syntax"] = package


_rfc3987_syntax_on_first_use()

#: Fixtures that start a service: a test that uses one (even through another fixture) is
#: a service test.
SERVICE_FIXTURES = frozenset({
    "moto_server",      # the KMS API server
    "keyvault_estate",  # the Azure Key Vault stand-in vaults
    "keyvault_standin",
    "gcp_standin",      # the Cloud KMS stand-in
    "gcp_standins",
    "bao_server",       # OpenBao in dev mode
    "bao_binary_available",  # asked only by tests that start their own OpenBao
    "softhsm_token",    # a SoftHSM2 token
    "own_token",        # a SoftHSM2 token of one test
    "tls_lab",          # the TLS servers
    "pq_lab",           # the post-quantum and classical TLS servers
    "ssh_lab",          # the post-quantum and classical OpenSSH servers
    "postgres",         # a PostgreSQL cluster
    "postgres_url",
    "browser",          # Chromium
    "distributions",    # built sdist and wheel
    "http_receiver",    # a webhook receiver and issues API stand-in on loopback
    "smtp_server",      # an SMTP server with STARTTLS (aiosmtpd)
    "prometheus",       # a Prometheus server scraping the metrics exporter
})
#: Test modules (or single tests) that start services, or build wheels and virtual
#: environments, in their bodies where no fixture shows it; paths relative to this folder.
SERVICE_MODULES = frozenset({
    "lab/test_lab.py", "lab/test_controls_alone.py",
    "aws/test_lab.py", "gcp/test_lab.py", "vault/test_lab.py", "tls/test_lab.py",
    "core/test_wheel.py", "ledger/test_ingest.py::test_live_openbao_audit_log",
    "ledger/test_ingest.py::test_cloudtrail_s3_prefix",
    "pq/test_lab_pq.py::test_the_lab_starts_a_pq_and_a_classical_sshd",
    "shipping/test_package.py", "shipping/test_container.py",
})
HERE = Path(__file__).parent


def require_executable(name: str, install_hint: str) -> str:
    """The path of ``name``, or skip (locally) / fail (in CI) with how to install it."""
    path = shutil.which(name)
    if path:
        return path
    missing_service(f"{name} is not installed: {install_hint}")


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, found without importing it (an SDK's import can
    cost a second of CPU in every process that collects the tests)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def missing_service(message: str) -> NoReturn:
    """Skip (locally) or fail (with ``CRYPTOAUDIT_REQUIRE_SERVICES=1``, in CI)."""
    if os.environ.get("CRYPTOAUDIT_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _no_ci_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Audits inside the tests must not write to the CI run's own step summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture(autouse=True, scope="session")
def _lean_inner_runs() -> Iterator[None]:
    """pytest runs inside the tests (pytester, in-process or not, and ``python -m pytest``
    children that inherit the environment) leave out hypothesis' plugin: it imports
    hypothesis for its terminal summary, a second of CPU per run, and in-process it
    re-imports its modules on every run, for nothing these runs use. They leave out
    pytest's unraisable-exception plugin too, which collects garbage five times as each run
    ends (pytester's in-process runs skip that as well), and pytest-benchmark's, where it is
    installed, whose options and session are set up on every run for no benchmark.
    Session-wide, so that the runs of module and session fixtures are lean too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTEST_ADDOPTS",
                     "-p no:hypothesispytest -p no:unraisableexception -p no:benchmark")
        yield


#: Hypothesis examples per property test: the full suite (the CI command) tries many, the fast
#: lane a deterministic sample of them (derandomized tests take the same first examples).
EXAMPLES = {"cryptoaudit-full": 2500, "cryptoaudit-fast-lane": 400}


def in_fast_lane(config: pytest.Config) -> bool:
    """The fast lane is the run that deselects the service tests (``-m "not service"``)."""
    return "not service" in (config.getoption("markexpr", None) or "")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "service: starts a service (KMS API server, OpenBao, SoftHSM2, TLS "
        "servers, PostgreSQL, Chromium, the lab) or builds wheels; deselect with "
        '-m "not service" for the fast lane')
    config.addinivalue_line(
        "markers", "slow: a tooling check that takes seconds of CPU and no service (mypy "
        "--strict, the documentation build, CI schema validation, pre-commit try-repo); the "
        'full run keeps it, the fast lane (-m "not service and not slow") leaves it out')
    from hypothesis import settings

    for name, examples in EXAMPLES.items():
        settings.register_profile(name, max_examples=examples)
    settings.load_profile("cryptoaudit-fast-lane" if in_fast_lane(config)
                          else "cryptoaudit-full")


def starts_service(item: pytest.Item) -> bool:
    """True if ``item`` starts a service: by the fixtures it uses, its parameters or its
    module."""
    if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    # The ledger's ``location`` fixture asks for PostgreSQL lazily, by parameter.
    if callspec is not None and callspec.params.get("location") == "postgresql":
        return True
    where = item.path.relative_to(HERE).as_posix() if item.path.is_relative_to(HERE) else ""
    name = getattr(item, "originalname", item.name)
    return where in SERVICE_MODULES or f"{where}::{name}" in SERVICE_MODULES


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection built (every test module, its parameters, the SDKs and schemas they
    import) lives until the run ends: keep it out of every later garbage collection, about
    3% of a worker's CPU time in the fast lane."""
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if starts_service(item):
            item.add_marker(pytest.mark.service)
