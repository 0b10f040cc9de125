"""The pytest entry point: options, markers and fixtures. Nothing runs without ``--cryptoaudit``.

The work of a run lives in :class:`pytest_cryptoaudit.session.AuditSession`, which is
registered only when the audit is enabled, so a plain ``pytest`` pays for nothing but option
parsing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from . import hookspecs
from .catalog import MARKERS
from .clock import Clock
from .errors import CryptoAuditError
from .ledger import LEDGER_PLUGIN
from .model import RiskTier
from .results import Notes

if TYPE_CHECKING:
    from datetime import datetime

    from .config import AuditConfig
    from .ledger.plugin import LedgerPlugin
    from .ledger.trail import AuditTrail
    from .model import (
        DiscoveryError,
        EndpointRecord,
        Event,
        Inventory,
        KeyRecord,
        LibraryRecord,
        SystemRecord,
    )
    from .policy import Policy
    from .session import AuditSession

SESSION_PLUGIN = "cryptoaudit-session"
COMPACT_PLUGIN = "cryptoaudit-compact"
CARRY_PLUGIN = "cryptoaudit-carry"
SHARD_PLUGIN = "cryptoaudit-shard"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cryptoaudit", "cryptographic control audit (CSA CCM/AICM CEK)")
    group.addoption("--cryptoaudit", action="store_true",
                    help="Discover key inventories and run the cryptographic controls.")
    group.addoption("--cryptoaudit-config", metavar="PATH",
                    help="Configuration file (default: cryptoaudit.toml, or "
                         "[tool.cryptoaudit] in pyproject.toml).")
    group.addoption("--cryptoaudit-system", action="append", default=[], metavar="NAME",
                    help="Audit only this system (repeatable).")
    group.addoption("--cryptoaudit-control", action="append", default=[], metavar="ID",
                    help="Run only this control id, e.g. CEK-12 (repeatable).")
    group.addoption("--cryptoaudit-parallel", metavar="N", type=int, default=4,
                    help="Discover at most N systems at a time (default: 4).")
    group.addoption("--cryptoaudit-fail-on", metavar="TIER", default="low",
                    choices=[t.value for t in RiskTier],
                    help="Fail the run only for findings at or above this risk tier "
                         "(default: low, i.e. any finding). Errors always fail.")
    group.addoption("--cryptoaudit-json", metavar="PATH",
                    help="Write the JSON evidence of the run to PATH.")
    group.addoption("--cryptoaudit-no-builtin", action="store_true",
                    help="Do not add the built-in controls; run only the collected ones.")
    group.addoption("--cryptoaudit-due", action="store_true",
                    help="Audit only the systems that are due now (cadence, events, "
                         "changes), e.g. from a scheduled job.")
    group.addoption("--cryptoaudit-ledger", metavar="PATH_OR_URL",
                    help="Ledger location (default: `ledger` in the configuration, else "
                         "$CRYPTOAUDIT_LEDGER, else .cryptoaudit/ledger.db beside it).")
    group.addoption("--cryptoaudit-no-ledger", action="store_true",
                    help="Neither read nor append to the ledger (a dry run; CEK-09 checks "
                         "that need the ledger are skipped).")
    group.addoption("--cryptoaudit-incremental", action="store_true",
                    help="Re-check only what changed since the last complete audit in the "
                         "ledger; carry every other result forward, marked as carried, "
                         "within its tier's cadence.")
    group.addoption("--cryptoaudit-shard", metavar="K/N",
                    help="Audit only shard K of N (whole systems, assigned stably); merge "
                         "the shards' evidence with `cryptoaudit merge`.")
    group.addoption("--cryptoaudit-audit-id", metavar="ID",
                    help="The id the shards of one audit share (default: "
                         "$CRYPTOAUDIT_AUDIT_ID, else the CI run's id).")
    group.addoption("--cryptoaudit-group-by", metavar="system", choices=["system"],
                    help="Run each key or endpoint control as one test per system, each "
                         "key a subtest (for estates of tens of thousands of keys); "
                         "results and reports stay per key.")
    group.addoption("--cryptoaudit-waivers", metavar="FILE",
                    help="Waivers (TOML or YAML): accepted findings with justification, "
                         "approver and expiry date.")
    group.addoption("--cryptoaudit-oscal", metavar="PATH",
                    help="Write OSCAL assessment-results JSON to PATH.")
    group.addoption("--cryptoaudit-cbom", metavar="PATH",
                    help="Write a CycloneDX 1.6 cryptographic bill of materials to PATH.")
    group.addoption("--cryptoaudit-pq", metavar="PATH",
                    help="Write the post-quantum migration inventory (every "
                         "quantum-vulnerable asset with its roadmap dates) to PATH "
                         "(.csv or .json).")
    group.addoption("--cryptoaudit-sarif", metavar="PATH",
                    help="Write SARIF 2.1.0 to PATH for code scanning: one rule per check, "
                         "each finding at the file and line that declares its subject.")
    group.addoption("--cryptoaudit-metrics", metavar="PATH",
                    help="Write the audit metrics in Prometheus text format to PATH after "
                         "the ledger recorded the run (node-exporter's textfile collector).")
    group.addoption("--cryptoaudit-markdown", metavar="PATH",
                    help="Write a Markdown summary to PATH (also appended to "
                         "$GITHUB_STEP_SUMMARY when that is set).")


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if config.getoption("cryptoaudit"):
        from .compact import CompactReports
        from .config import ConfigError
        from .gcpause import GC_PLUGIN, CollectorPause
        from .ledger.plugin import LedgerPlugin
        from .reporting import register_reporters
        from .session import AuditSession
        from .waivers import WaiverError

        _await_handoff(config)
        # The ledger first: the session asks it which systems are due while it loads.
        config.pluginmanager.register(LedgerPlugin(config), LEDGER_PLUGIN)
        if config.getoption("cryptoaudit_shard"):
            from .shards import ShardSelector

            config.pluginmanager.register(ShardSelector(config), SHARD_PLUGIN)
        try:
            audit = AuditSession(config)
        except (ConfigError, WaiverError) as exc:
            raise pytest.UsageError(str(exc)) from None
        config.pluginmanager.register(audit, SESSION_PLUGIN)
        _SESSIONS.append(audit)
        config.pluginmanager.register(CompactReports(config), COMPACT_PLUGIN)
        config.pluginmanager.register(CollectorPause(), GC_PLUGIN)
        if config.getoption("cryptoaudit_group_by"):
            _register_grouped_run(config, audit)
        register_reporters(config, audit)
        if audit.is_controller:
            from .notify.plugin import NotifyPlugin

            config.pluginmanager.register(NotifyPlugin(config), "cryptoaudit-notify")
            metrics = config.getoption("cryptoaudit_metrics")
            if metrics:
                from .metrics_cli import MetricsFile

                config.pluginmanager.register(MetricsFile(config, metrics),
                                              "cryptoaudit-metrics")
        if config.getoption("cryptoaudit_incremental"):
            from .carry import CarryForward

            config.pluginmanager.register(CarryForward(config, audit), CARRY_PLUGIN)


def _await_handoff(config: pytest.Config) -> None:
    """On an xdist worker started while the controller was discovering: wait for the
    inventory (and the other entries the plugin hands to workers) before configuring."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return
    from .handoff import HANDOFF_KEY, receive

    path = workerinput.pop(HANDOFF_KEY, None)
    if path is not None:
        workerinput.update(receive(path))


def _register_grouped_run(config: pytest.Config, audit: AuditSession) -> None:
    from .grouped import GROUPED_PLUGIN

    try:
        from .grouped_run import GroupedRun
    except ImportError:  # pytest 8: no built-in subtests
        raise pytest.UsageError(f"--cryptoaudit-group-by reports each key as a subtest of "
                                f"pytest 9's built-in subtests; this is pytest "
                                f"{pytest.__version__}: upgrade it") from None
    config.pluginmanager.register(GroupedRun(config, audit), GROUPED_PLUGIN)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("cryptoaudit"):
        return
    skip = pytest.mark.skip(reason="cryptographic control: run with --cryptoaudit")
    for item in items:
        if item.get_closest_marker("control"):
            item.add_marker(skip)


#: The audit sessions configured in this process, the running one last (an in-process
#: pytest run inside a test, as pytester makes, configures and unconfigures its own).
_SESSIONS: list[AuditSession] = []


def _running() -> AuditSession:
    """The running audit session, for the session-scoped fixtures. They take no
    ``request``: pytest resolves a fixture's arguments each time a test uses it, even a
    cached one, and building the ``request`` argument costs more than the rest of it."""
    if not _SESSIONS:
        pytest.skip("cryptographic control: run with --cryptoaudit")
    return _SESSIONS[-1]


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.pluginmanager.get_plugin(SESSION_PLUGIN)
    if session is not None and session in _SESSIONS:
        _SESSIONS.remove(session)


def _audit(request: pytest.FixtureRequest) -> AuditSession:
    session: AuditSession | None = request.config.pluginmanager.get_plugin(SESSION_PLUGIN)
    if session is None:
        pytest.skip("cryptographic control: run with --cryptoaudit")
    return session


@pytest.fixture
def crypto_key(request: pytest.FixtureRequest) -> KeyRecord:
    """The key or certificate under audit; parametrized over the keys the control applies to."""
    key: KeyRecord = _audit(request).subject(request)
    return key


@pytest.fixture
def crypto_system(request: pytest.FixtureRequest) -> SystemRecord:
    """The system under audit, for system-level controls (audit devices, trails, cadence)."""
    system: SystemRecord = _audit(request).subject(request)
    return system


@pytest.fixture
def crypto_endpoint(request: pytest.FixtureRequest) -> EndpointRecord:
    """The network endpoint under audit (a TLS listener), for transport controls."""
    endpoint: EndpointRecord = _audit(request).subject(request)
    return endpoint


@pytest.fixture
def crypto_library(request: pytest.FixtureRequest) -> LibraryRecord:
    """The crypto library under audit (one library of a host or image), for library
    controls; parametrized over the libraries the control applies to."""
    library: LibraryRecord = _audit(request).subject(request)
    return library


@pytest.fixture
def crypto_discovery_error(request: pytest.FixtureRequest) -> DiscoveryError:
    """A system or key that could not be read: setting it up errors with the reason, so the
    failure to look shows as an error naming the system, the key and why."""
    error: DiscoveryError = _audit(request).subject(request)
    raise CryptoAuditError(
        f"could not read {error.key_uid or 'system ' + error.system} "
        f"(system {error.system}, provider {error.provider}): {error.reason}"
    )


@pytest.fixture(scope="session")
def crypto_policy() -> Policy:
    """The effective policy thresholds of this run (defaults merged with ``[policy]``)."""
    return _running().audit_config.policy


@pytest.fixture(scope="session")
def crypto_inventory() -> Inventory:
    """Everything discovered in this run: keys, systems and discovery errors."""
    return _running().inventory


@pytest.fixture
def crypto_note() -> Callable[[str], None]:
    """Add a note to this result without failing it (e.g. a post-2030 transition warning)."""
    # No ``request``: pytest builds a fixture definition for every test that asks for it.
    return Notes()


@pytest.fixture(scope="session")
def crypto_events() -> tuple[Event, ...]:
    """Security events and material changes recorded for the audited systems."""
    return _running().events()


@pytest.fixture(scope="session")
def crypto_now() -> datetime:
    """The instant the audit started (UTC); controls measure ages against it."""
    return _running().now


@pytest.fixture
def crypto_clock() -> Clock:
    """The audit's instant for a check that compares it only with thresholds
    (``crypto_clock.reached(expires)``): the clock notes the next instant at which the
    outcome could change, so an incremental audit may carry the result until then."""
    # No ``request`` (the result reads the clock from the test's arguments), as for
    # crypto_note: pytest builds a fixture definition for every test that asks for it.
    return Clock(_running().now)


@pytest.fixture(scope="session")
def crypto_ledger() -> AuditTrail:
    """The audit ledger as it stood before this run (audits, events, corrective actions),
    with the cadence and policy that judge it; for the CEK-09 controls."""
    audit = _running()
    ledger: LedgerPlugin | None = audit.config.pluginmanager.get_plugin(LEDGER_PLUGIN)
    assert ledger is not None, "registered with the audit session"
    return ledger.trail(audit.context())


@pytest.fixture(scope="session")
def crypto_audit_config() -> AuditConfig:
    """The validated configuration of this run (systems, ``[auditor]``, policy document)."""
    return _running().audit_config
