"""The state and hooks of one audit run, registered only under ``--cryptoaudit``.

Discovery runs once, on the controller, before collection. Under pytest-xdist the controller
hands the inventory to each worker as JSON, so every worker parametrizes the same tests and
no worker calls a provider. Results are gathered on the controller only.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import sys
import time
import uuid
from collections.abc import Generator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from .applicability import hand_to_controller, not_applicable, received_from
from .catalog import SUBJECT_FIXTURES, ControlSpec, builtin_controls_dir, spec_from_node
from .clock import valid_until_of
from .config import AuditConfig, ConfigError, find_config_file, load_config, parse_config
from .context import RunContext, policy_sha256
from .discovery import DEFAULT_PARALLEL, Discovering
from .errors import CryptoAuditError
from .evidence_model import Evidence
from .grouped import GROUPABLE, GROUPED_PLUGIN, SubjectGroup, group_of, groupable, groups
from .handoff import HANDOFF_KEY, Handoff
from .incremental import InputHasher
from .model import (
    Event,
    Inventory,
    Outcome,
    RiskTier,
)
from .policy import BUILTIN_SETTINGS
from .progress import ProgressBoard
from .providers import Discovery, DiscoveryContext, ProviderRegistry
from .results import (
    _PASSED,
    METADATA,
    Metadata,
    Result,
    fold,
    junit_properties,
    notes_of,
    phase_data,
    phase_outcome,
    subject_metadata,
    subject_of,
    without_metadata,
)
from .selection import (
    WORKEROUTPUT_KEY,
    builtin_ids,
    canonical,
    refuse_on_worker,
    selects,
    unknown_message,
)
from .serialize import inventory_from_dict, inventory_to_dict
from .text import plural
from .waivers import Waiver, decide, load_waivers, show_as_waived, status_report

WORKERINPUT_KEY = "cryptoaudit"
#: The subjects whose results an incremental run may carry (see ``carry.py``).
CARRIABLE = ("crypto_key", "crypto_endpoint")
PROGRESS_INTERVAL_SECONDS = 2.0
#: Why a collected control test cannot audit its subject (a required attribute unreadable).
UNAUDITABLE = pytest.StashKey[str]()


class AuditSession:
    """Owns the configuration, inventory and results of one ``pytest --cryptoaudit`` run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.run_id = str(uuid.uuid4())
        self.started = datetime.now(UTC)
        self.finished: datetime | None = None
        self.registry = ProviderRegistry()
        config.hook.pytest_cryptoaudit_add_providers(registry=self.registry)
        self.audit_config = self._load_config()
        self.inventory = Inventory()
        self.results: dict[str, Result] = {}
        self._specs: dict[tuple[str, str], ControlSpec | None] = {}
        self.waivers: tuple[Waiver, ...] = ()
        self._evidence: Evidence | None = None
        self._selected: frozenset[str] | None = None
        self.refusal: str | None = None  # a usage error found after discovery
        self.not_applicable: list[dict[str, Any]] = []  # (check, system) with no subject
        self.other_failures = 0
        #: Findings that ``--cryptoaudit-fail-on`` forgave, so that the terminal says why.
        self.forgiven = 0
        self.interrupted = False
        self.discovery_seconds = 0.0
        self._discovering: Discovering | None = None
        self._discovery_began = 0.0
        self._handoff: Handoff | None = None
        self.workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        if self.workerinput is not None:
            self._receive_from_controller(self.workerinput[WORKERINPUT_KEY])
        else:
            self.waivers = self._load_waivers()
        if not config.getoption("cryptoaudit_no_builtin"):
            self._add_builtin_controls()

    @property
    def now(self) -> datetime:
        return self.started

    def context(self) -> RunContext:
        """What the ledger and the reporters may know of this run (see ``context.py``)."""
        return RunContext(self.run_id, self.started, self.audit_config,
                          self.selected_controls())

    @property
    def is_controller(self) -> bool:
        return self.workerinput is None

    # -- configuration ------------------------------------------------------------------

    def _load_config(self) -> AuditConfig:
        settings = [*BUILTIN_SETTINGS, *self.registry.policy_settings()]
        for extra in self.config.hook.pytest_cryptoaudit_policy_settings():
            settings.extend(extra)
        explicit = self.config.getoption("cryptoaudit_config")
        if explicit:
            path = Path(explicit)
            if not path.is_file():
                raise ConfigError(f"{path}: configuration file not found")
            audit_config = load_config(path, self.registry, settings,
                                       pyproject=path.name == "pyproject.toml")
        else:
            audit_config = self._find_default_config(settings)
        return self._select_systems(audit_config)

    def _find_default_config(self, settings: list[Any]) -> AuditConfig:
        for folder in (self.config.invocation_params.dir, self.config.rootpath):
            found = find_config_file(Path(folder))
            if found:
                return load_config(found[0], self.registry, settings, pyproject=found[1])
        raise ConfigError(
            "no cryptoaudit.toml or [tool.cryptoaudit] in pyproject.toml found in "
            f"{self.config.invocation_params.dir}; pass --cryptoaudit-config PATH"
        )

    def _select_systems(self, audit_config: AuditConfig) -> AuditConfig:
        wanted = set(self.config.getoption("cryptoaudit_system"))
        known = {s.name for s in audit_config.systems}
        unknown = sorted(wanted - known)
        if unknown:
            raise ConfigError(
                f"--cryptoaudit-system: unknown system {', '.join(unknown)} "
                f"(configured: {', '.join(sorted(known))})"
            )
        keep = set(wanted or known)
        for names in self.config.hook.pytest_cryptoaudit_select_systems(
                audit_config=audit_config, config=self.config):
            keep &= set(names)
        if keep == known:
            return audit_config
        systems = tuple(s for s in audit_config.systems if s.name in keep)
        return AuditConfig(audit_config.path, audit_config.sha256, systems,
                           audit_config.policy, audit_config.sections)

    def _load_waivers(self) -> tuple[Waiver, ...]:
        option = self.config.getoption("cryptoaudit_waivers")
        if not option:
            return ()
        return load_waivers(Path(self.config.invocation_params.dir, option))

    def _add_builtin_controls(self) -> None:
        folder = str(builtin_controls_dir())
        if folder not in {str(Path(arg).resolve()) for arg in self.config.args}:
            self.config.args.append(folder)

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> Any:
        """Collect the built-in control modules whatever the user's ``python_files`` says."""
        if file_path.parent != builtin_controls_dir() or file_path.name.startswith("_"):
            return None
        if file_path.suffix != ".py" or _matches_python_files(self.config, file_path):
            return None  # pytest's python plugin collects it already
        return pytest.Module.from_parent(parent, path=file_path)

    def events(self) -> tuple[Event, ...]:
        """Events of the audited systems: ``[[events]]`` and those that plugins (the ledger)
        return from ``pytest_cryptoaudit_events``, oldest first."""
        audited = {s.name for s in self.audit_config.systems}
        events = list(self.audit_config.events)
        for extra in self.config.hook.pytest_cryptoaudit_events(audit_config=self.audit_config):
            events.extend(extra)
        return tuple(sorted((e for e in events if e.system in audited), key=lambda e: e.at))

    def selected_controls(self) -> frozenset[str] | None:
        chosen = self.config.getoption("cryptoaudit_control")
        if chosen and self._selected is None:
            self._selected = canonical(chosen, self._builtin_ids())
        return self._selected if chosen else None

    def _builtin_ids(self) -> tuple[str, ...]:
        return () if self.config.getoption("cryptoaudit_no_builtin") else builtin_ids()

    # -- discovery (controller only) ------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Begin discovery; pytest goes on starting (its xdist workers too) while the
        providers wait on their servers. Collection waits for the inventory."""
        if not self.is_controller:
            return
        self.board = self._progress_board()
        context = DiscoveryContext(
            policy=self.audit_config.policy,
            now=self.started,
            base_dir=self.audit_config.base_dir,
            selected_controls=self.selected_controls(),
            progress=self.board.update,
        )
        self._discovery_began = time.perf_counter()
        parallel = self.config.getoption("cryptoaudit_parallel", DEFAULT_PARALLEL)
        self._discovering = Discovering(self.audit_config, self.registry, context, parallel)
        if self.config.pluginmanager.has_plugin("dsession") and _local_workers(self.config):
            self._handoff = Handoff()

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        self.finish_discovery()

    def finish_discovery(self) -> None:
        """Wait for the discovery begun at session start (progress and each system's line
        are written here, on the main thread), then announce the inventory and hand it to
        the xdist workers waiting for it. Does nothing once done."""
        discovering, self._discovering = self._discovering, None
        if discovering is None:
            return
        try:
            self.inventory = discovering.finish(on_system_done=self._system_done,
                                                tick=self.board.tick)
        finally:
            self.board.clear()
            self.discovery_seconds = time.perf_counter() - self._discovery_began
        self.config.hook.pytest_cryptoaudit_inventory_ready(
            inventory=self.inventory, audit_config=self.audit_config, run=self.context())
        if self._handoff is not None:
            self._handoff.write(self.config)

    def _write(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and self.config.get_verbosity() >= 0:
            reporter.write_line(line)

    def _progress_board(self) -> ProgressBoard:
        """Keys found, rate and ETA: rewritten in place on a terminal, plain lines in CI."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        quiet = reporter is None or self.config.get_verbosity() < 0
        rewrite = None
        if reporter is not None and not quiet and getattr(reporter, "isatty", False):
            rewrite = lambda line: reporter.rewrite(line, erase=True)  # noqa: E731
        names = [system.name for system in self.audit_config.systems]
        write = (lambda line: None) if quiet else self._write
        return ProgressBoard(names, write, rewrite, interval=PROGRESS_INTERVAL_SECONDS)

    def _system_done(self, attempt: Discovery) -> None:
        system = attempt.system
        self.board.system_done(system.name, len(attempt.keys), len(attempt.errors))
        self.board.clear()
        self._write(
            f"cryptoaudit: discovered {system.name} ({system.provider}, {system.risk_tier.value}):"
            f" {plural(len(attempt.keys), 'key')}, {plural(len(attempt.errors), 'error')}"
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if self._discovering is not None and self._handoff is not None:
            # A worker started during discovery: it waits for the handoff file, which
            # holds this entry (and the other plugins') once the inventory is ready.
            node.workerinput[HANDOFF_KEY] = str(self._handoff.path)
            return
        node.workerinput[WORKERINPUT_KEY] = json.dumps({
            "run_id": self.run_id,
            "started": self.started.isoformat(),
            "inventory": inventory_to_dict(self.inventory),
            "waivers": [waiver.as_dict() for waiver in self.waivers],
        })

    def _receive_from_controller(self, payload: str) -> None:
        data = json.loads(payload)
        self.run_id = data["run_id"]
        self.started = datetime.fromisoformat(data["started"])
        self.inventory = inventory_from_dict(data["inventory"])
        self.waivers = tuple(Waiver.from_dict(w) for w in data.get("waivers", ()))

    # -- collection -------------------------------------------------------------------------

    @functools.cached_property
    def hasher(self) -> InputHasher:
        """The inputs hash of each control test, which lets a later run carry its result."""
        return InputHasher(policy_sha256(self.audit_config), self.waivers, self.now.date())

    def spec_of(self, node: Any) -> ControlSpec | None:
        """The control spec of a test, built once per test function rather than per case."""
        key = (node.parent.nodeid if node.parent else "", getattr(node, "originalname", ""))
        if key not in self._specs:
            self._specs[key] = spec_from_node(node)
        return self._specs[key]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        spec = self.spec_of(metafunc.definition)
        for fixture in SUBJECT_FIXTURES:
            if fixture in metafunc.fixturenames:
                subjects = self._subjects(fixture, spec)
                carry = self.config.pluginmanager.get_plugin("cryptoaudit-carry")
                if carry is not None and spec is not None and fixture in CARRIABLE:
                    subjects = carry.split(metafunc, spec, subjects)
                # Under ``--dist loadgroup`` a system's tests stay on one xdist worker.
                # (an xdist worker runs with dist "no" and the ``loadgroup`` flag set).
                option = self.config.option
                group = getattr(option, "loadgroup", False) or \
                    getattr(option, "dist", None) == "loadgroup"
                grouped = self.config.pluginmanager.get_plugin(GROUPED_PLUGIN)
                if grouped is not None and spec is not None and fixture in GROUPABLE \
                        and groupable(metafunc):
                    cases = [_group_case(spec, g, group) for g in groups(fixture, subjects)]
                    metafunc.parametrize(fixture, cases, indirect=True)
                    return
                # The subject is the fixture's value itself (no fixture function runs per
                # test); a discovery error goes through its fixture, which raises the reason.
                metafunc.parametrize(fixture, [_case(spec, s, group) for s in subjects],
                                     indirect=fixture == "crypto_discovery_error")
                return

    def _subjects(self, fixture: str, spec: ControlSpec | None) -> list[Any]:
        if fixture == "crypto_discovery_error":
            return list(self.inventory.errors)
        pools = {"crypto_key": self.inventory.keys, "crypto_system": self.inventory.systems,
                 "crypto_endpoint": self.inventory.endpoints,
                 "crypto_library": self.inventory.libraries}
        return [s for s in pools[fixture] if spec is None or spec.applies_to(s)]

    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        selected = self.selected_controls()
        if selected and self._refuse_unknown(selected, items):
            return
        carry = config.pluginmanager.get_plugin("cryptoaudit-carry")
        # a check whose results were all carried still applied
        self.not_applicable = not_applicable(items, self.inventory, selected,
                                             carry.covered if carry is not None else ())
        hand_to_controller(config, self.not_applicable)
        grouped = config.pluginmanager.get_plugin(GROUPED_PLUGIN)
        keep, drop = [], []
        for item in items:
            spec = self.spec_of(item)
            subject = subject_of(item)
            if subject is None and grouped is not None:
                subject = group_of(item)
            if spec is None or subject is None or not selects(selected, spec.id):
                drop.append(item)
                continue
            if isinstance(subject, SubjectGroup) and grouped is not None:
                grouped.describe(item, spec, subject)
            else:
                self._describe(item, spec, subject)
            keep.append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def _refuse_unknown(self, selected: frozenset[str], items: list[pytest.Item]) -> bool:
        specs = (self.spec_of(item) for item in items)
        self.refusal = unknown_message(selected, [*(s.id for s in specs if s),
                                                  *self._builtin_ids()])
        if self.refusal and self.is_controller:
            raise pytest.UsageError(self.refusal)
        if self.refusal:
            refuse_on_worker(self.config, self.refusal, items)
        return self.refusal is not None

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        self.refusal = self.refusal or getattr(node, "workeroutput", {}).get(WORKEROUTPUT_KEY)
        self.not_applicable = self.not_applicable or received_from(node) or []

    def _describe(self, item: pytest.Item, spec: ControlSpec, subject: Any) -> None:
        metadata = Metadata(spec, subject)
        metadata["inputs_sha256"] = self.hasher.inputs(item, metadata, subject)
        item.stash[METADATA] = metadata
        missing = spec.missing(subject)
        if missing:
            reasons = "; ".join(f"{name}: {why}" for name, why in missing.items())
            item.stash[UNAUDITABLE] = f"cannot audit {_subject_id(subject)}: {reasons}"
        if self.config.getoption("xmlpath", None):  # only JUnit XML shows them
            item.user_properties.extend(junit_properties(metadata))
        for keyword in (spec.id, metadata["system"], metadata["risk_tier"], metadata["owner"]):
            if keyword:
                item.extra_keyword_matches.add(keyword)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """A subject that lacks an attribute its check requires makes the test error with
        the reason, before the check runs (the subject is found lacking at collection)."""
        reason = item.stash.get(UNAUDITABLE, None)
        if reason is not None:
            raise CryptoAuditError(reason)

    def subject(self, request: pytest.FixtureRequest) -> Any:
        """The parametrized subject of a control, checked for the attributes it requires."""
        subject = getattr(request, "param", None)
        if subject is None:
            raise CryptoAuditError("control collected without a subject")
        if isinstance(subject, SubjectGroup):  # each subject is checked in its subtest
            return subject
        spec = self.spec_of(request.node)
        missing = spec.missing(subject) if spec else {}
        if missing:
            reasons = "; ".join(f"{name}: {why}" for name, why in missing.items())
            raise CryptoAuditError(f"cannot audit {_subject_id(subject)}: {reasons}")
        return subject

    # -- results ------------------------------------------------------------------------------

    # Innermost wrapper: the outcome (and a waiver) is settled before any reporting plugin's
    # wrapper (allure-pytest's, say) reads the report.
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        metadata = item.stash.get(METADATA, None)
        if metadata is not None:
            self._settle(item, call, report, metadata)
        return report

    def _settle(self, item: pytest.Item, call: pytest.CallInfo[None],
                report: pytest.TestReport, metadata: Mapping[str, Any]) -> None:
        """Attach the phase's honest outcome (and a waiver) to its report."""
        result_outcome, message = phase_outcome(report, call)
        notes = notes_of(item)
        waiver = None
        if result_outcome is Outcome.FAILED and self.waivers and self._waivable(item, metadata):
            waiver = decide(self.waivers, metadata, self.now.date())
            if waiver and waiver["status"] == "applied":
                result_outcome = Outcome.WAIVED
                show_as_waived(item, report, waiver)
        data = phase_data(result_outcome, message, notes, waiver,
                          valid_until=valid_until_of(item))
        if report.when == "setup":
            # The metadata travels once per test (to an xdist controller, which collects no
            # items, as a dict); in one process it is the item's own, let go once folded.
            data = {**data, "metadata": metadata if self.is_controller else dict(metadata)}
        report.cryptoaudit = data  # type: ignore[attr-defined]

    def _waivable(self, item: pytest.Item, metadata: Mapping[str, Any]) -> bool:
        """Whether a waiver may accept this finding (a control's ``waivable`` setting)."""
        spec = self.spec_of(item)
        if spec is None or spec.waivable is None:
            return True
        return bool(self.audit_config.policy.for_tier(spec.waivable, metadata["risk_tier"]))

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport) -> Any:
        """Show waived findings as their own category: counted, and not a failure."""
        data = getattr(report, "cryptoaudit", None)
        if data and data["outcome"] == Outcome.WAIVED.value and report.when == "call":
            return "waived", "w", ("WAIVED", {"yellow": True})
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.is_controller:
            return
        data = getattr(report, "cryptoaudit", None)
        if data is None:
            if report.failed:
                self.other_failures += 1
            return
        previous = self.results.get(report.nodeid)
        if previous is not None and data == _PASSED:
            previous.duration += report.duration  # a passed phase changes nothing else
            return
        self.results[report.nodeid] = fold(
            previous, data.get("metadata"), report.nodeid,
            Outcome(data["outcome"]), data["message"], report.duration,
            data.get("notes", []), data.get("waiver"), data.get("carried"),
            data.get("valid_until"))
        if report.when == "setup" and "metadata" in data:
            # now in the result (``described`` reads it there): the report that pytest's
            # terminal keeps to the end need not hold it
            report.cryptoaudit = without_metadata(data)  # type: ignore[attr-defined]

    def described(self, report: pytest.TestReport) -> dict[str, Any] | None:
        """A report's audit data joined with its test's control metadata (on the controller,
        where the result holds the metadata after the setup report)."""
        data: dict[str, Any] | None = getattr(report, "cryptoaudit", None)
        if data is None:
            return None
        metadata = data.get("metadata")
        if metadata is None:
            result = self.results.get(report.nodeid)
            metadata = result.as_dict() if result else {}
        joined = {**metadata, **data}
        joined.pop("metadata", None)
        return joined

    # -- end of the run -----------------------------------------------------------------------

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_controller and not self.refusal:
            from .reporting.terminal import write_summary

            write_summary(terminalreporter, list(self.results.values()), self.inventory,
                          self.waiver_status())
            if self.forgiven:
                terminalreporter.write_line(
                    f"cryptoaudit: {plural(self.forgiven, 'finding')} below the threshold "
                    f"{self.config.getoption('cryptoaudit_fail_on')} (--cryptoaudit-fail-on): "
                    "the run passes", yellow=True)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.is_controller:
            return
        self.finish_discovery()  # collection never ran (an error before it)
        if self.refusal:  # a run refused as misused leaves no evidence, nor a ledger entry
            if exitstatus != pytest.ExitCode.USAGE_ERROR:  # refused by an xdist worker
                sys.stderr.write(f"ERROR: {self.refusal}\n")
                session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return
        self.interrupted = bool(exitstatus == pytest.ExitCode.INTERRUPTED
                                or session.shouldfail or session.shouldstop)
        from .reporting.evidence import write_evidence

        typed = self.evidence()
        evidence = typed.as_json()
        self.config.hook.pytest_cryptoaudit_evidence(
            evidence=evidence, evidence_model=typed, audit_config=self.audit_config,
            config=self.config)
        path = self.config.getoption("cryptoaudit_json")
        if path:
            write_evidence(evidence, Path(path))
        # An evidence consumer that failed (the ledger could not be written) may have raised
        # the session's exit status: start from it rather than from the status given here.
        session.exitstatus = self._exit_status(session.exitstatus)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Let go of the run's results and evidence once every report is written: pytest
        collects garbage several times as it ends, at a cost that grows with every object
        still held (a second per ten thousand keys)."""
        self.results = {}
        self._evidence = None
        self.inventory = Inventory()
        if self._handoff is not None:
            self._handoff.remove()

    def evidence(self) -> Evidence:
        """The typed evidence of the finished run, built once; every report derives from it."""
        if self._evidence is None:
            from .reporting.evidence import build_evidence

            self.finished = self.finished or datetime.now(UTC)
            self._evidence = build_evidence(self)
        return self._evidence

    def waiver_status(self) -> dict[str, list[dict[str, Any]]]:
        """Applied, expired and stale waivers of this run."""
        return status_report(self.waivers, self.results.values(), self.now.date())

    def _exit_status(self, exitstatus: int) -> int:
        """Forgive findings below ``--cryptoaudit-fail-on``; never forgive errors. A finding
        that pytest itself let pass (an xfail mark is not a waiver) still fails the run."""
        if exitstatus not in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.OK):
            return exitstatus
        if self.other_failures:
            return exitstatus
        threshold = RiskTier(self.config.getoption("cryptoaudit_fail_on"))
        for result in self.results.values():
            if result.outcome is Outcome.ERROR:
                return pytest.ExitCode.TESTS_FAILED
            if result.outcome is Outcome.FAILED and result.risk_tier >= threshold:
                return pytest.ExitCode.TESTS_FAILED
        self.forgiven = sum(r.outcome is Outcome.FAILED for r in self.results.values())
        return pytest.ExitCode.OK


def _matches_python_files(config: pytest.Config, path: Path) -> bool:
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in config.getini("python_files"))


def _case(spec: ControlSpec | None, subject: Any, group: bool = False) -> Any:
    """One parametrized case: its id names the check and the subject (``-k key-age``), and
    its marks carry the subject's tier and owner (``-m "risk_tier(tier='critical')"``)."""
    if spec is None:
        return pytest.param(subject, id=_subject_id(subject))
    metadata = subject_metadata(spec, subject)
    marks = [_mark("risk_tier", "tier", metadata["risk_tier"])]
    if metadata["owner"]:
        marks.append(_mark("ssrm", "owner", metadata["owner"]))
    if group:
        marks.append(_mark("xdist_group", "name", metadata["system"]))
    return pytest.param(subject, id=f"{spec.check}-{_subject_id(subject)}", marks=marks)


def _group_case(spec: ControlSpec, group: SubjectGroup, loadgroup: bool) -> Any:
    """One grouped case: all subjects of a control in one system; its id names the check
    and the system, its marks the tiers and owners of its subjects."""
    tiers = sorted({RiskTier(s.risk_tier) for s in group.subjects})
    owners = sorted({s.owner for s in group.subjects if s.owner})
    marks = [*(_mark("risk_tier", "tier", tier.value) for tier in tiers),
             *(_mark("ssrm", "owner", owner) for owner in owners)]
    if loadgroup:
        marks.append(_mark("xdist_group", "name", group.system))
    return pytest.param(group, id=f"{spec.check}-{group.system}", marks=marks)


@functools.cache
def _mark(name: str, keyword: str, value: str) -> pytest.MarkDecorator:
    """One shared mark per value: a large estate has few tiers and owners, many cases."""
    decorator: pytest.MarkDecorator = getattr(pytest.mark, name)(**{keyword: value})
    return decorator


def _subject_id(subject: Any) -> str:
    return str(getattr(subject, "uid", None) or getattr(subject, "name", subject))


__all__ = ["AuditSession", "CryptoAuditError", "parse_config"]


def _local_workers(config: pytest.Config) -> bool:
    """Whether every xdist worker runs on this machine (``-n``, ``--tx popen``): only those
    can read the handoff file; a worker on another host (``--tx ssh=...``, ``socket=``)
    gets the inventory in its ``workerinput`` once discovery is done, as before."""
    specs = config.getoption("tx", None) or ()
    return all(str(spec).split("//")[0].split("*")[-1] == "popen" for spec in specs)
