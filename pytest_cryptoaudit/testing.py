"""Run audits from tests: for control-pack authors and this project's own suite.

An audit runs as a user runs it, ``pytest --cryptoaudit`` over a configuration, either
in-process through pytest's ``pytester`` fixture (:func:`audit_pytester`) or in a fresh
interpreter (:func:`audit_subprocess`). Its JSON evidence comes back as an :class:`AuditRun`
whose outcomes are read by ``(check, uid)``::

    from pytest_cryptoaudit.testing import audit_pytester, key_record

    def test_weak_rsa_fails(pytester):
        weak = key_record("memory:weak", kind="private-key", algorithm="RSA", size=1024)
        run = audit_pytester(pytester, inventory=[weak])
        assert run.outcome("key-strength", "memory:weak") == "failed"

``config`` is a mapping (written as TOML), TOML text, or the path of a TOML file.
``inventory`` is a list of records built with :func:`key_record`, :func:`endpoint_record`,
:func:`library_record`
and :func:`discovery_error`: the audit reads them through the in-memory provider
(:mod:`pytest_cryptoaudit.testing_provider`) instead of a real key store, so a control is
tested on planted records without starting a service.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import testing_provider
from .testing_provider import (
    MEMORY_PROVIDER,
    Record,
    discovery_error,
    endpoint_record,
    inventory_config,
    key_record,
    library_record,
    write_records,
)

if TYPE_CHECKING:
    import pytest

__all__ = [
    "MEMORY_PROVIDER",
    "AuditRun",
    "audit_env",
    "audit_pytester",
    "audit_subprocess",
    "discovery_error",
    "endpoint_record",
    "key_record",
    "library_record",
    "prepare",
]

EVIDENCE = "evidence.json"
#: Variables of the outer test run that must not reach an audit under test: its options,
#: its xdist identity, and the CI job's step summary (an audit would append to it).
_OUTER_RUN_VARIABLES = ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT",
                        "PYTEST_XDIST_TESTRUNUID", "GITHUB_STEP_SUMMARY")


@dataclasses.dataclass(frozen=True)
class AuditRun:
    """One finished audit: exit code, terminal output and the JSON evidence it wrote.

    ``run_result`` is pytester's :class:`pytest.RunResult` for in-process runs, else None.
    """

    ret: int
    output: str
    evidence: dict[str, Any]
    run_result: pytest.RunResult | None = None

    def results(self, check: str | None = None, uid: str | None = None,
                system: str | None = None) -> list[dict[str, Any]]:
        """The evidence results matching every filter given."""
        return [r for r in self.evidence["results"]
                if (check is None or r["check"] == check)
                and (uid is None or r["key_uid"] == uid)
                and (system is None or r["system"] == system)]

    def result(self, check: str, uid: str) -> dict[str, Any]:
        """The one result of ``check`` on ``uid``; fails, with the output, unless exactly one."""
        found = self.results(check, uid)
        if len(found) != 1:
            raise AssertionError(
                f"expected one {check} result for {uid}, found {len(found)}:\n{self.output}")
        return found[0]

    def outcome(self, check: str, uid: str) -> str:
        """``passed``, ``failed``, ``error``, ``skipped``, ``waived`` or ``not-applicable``."""
        return str(self.result(check, uid)["outcome"])

    def message(self, check: str, uid: str) -> str:
        """The finding, error or skip reason of ``check`` on ``uid``."""
        return str(self.result(check, uid)["message"])

    @property
    def outcomes(self) -> dict[tuple[str, str], str]:
        """``(check, uid) -> outcome`` of every result."""
        return {(r["check"], r["key_uid"]): r["outcome"] for r in self.evidence["results"]}

    @property
    def messages(self) -> dict[tuple[str, str], str]:
        """``(check, uid) -> message`` of every result."""
        return {(r["check"], r["key_uid"]): r["message"] for r in self.evidence["results"]}


def audit_env(**extra: str) -> dict[str, str]:
    """This process's environment without the outer test run's variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _OUTER_RUN_VARIABLES}
    env.update(extra)
    return env


def prepare(folder: Path, config: Mapping[str, Any] | str | Path | None = None,
            inventory: Iterable[Record] | None = None) -> None:
    """Write ``cryptoaudit.toml`` (and the records of ``inventory``) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    if inventory is not None:
        if not (config is None or isinstance(config, Mapping)):
            raise TypeError("with an inventory, config must be a mapping or None")
        records = list(inventory)
        write_records(folder, records)
        config = inventory_config(records, config or {})
    if config is not None:
        _write_config(folder / "cryptoaudit.toml", config)


def _write_config(target: Path, config: Mapping[str, Any] | str | Path) -> None:
    if isinstance(config, Path):
        if config.resolve() != target.resolve():
            target.write_bytes(config.read_bytes())
    elif isinstance(config, str):
        target.write_text(config, encoding="utf-8")
    else:
        import tomli_w

        target.write_text(tomli_w.dumps(dict(config)), encoding="utf-8")


def _audit_argv(evidence: Path, args: tuple[str, ...]) -> list[str]:
    # No header: the platform and plugin versions it lists are read from every plugin's
    # package metadata on each run, and no audit's outcome depends on them.
    return ["--cryptoaudit", "-p", "no:cacheprovider", "--no-header",
            "--cryptoaudit-json", str(evidence), *args]


def _read(evidence: Path, ret: int, output: str,
          run_result: pytest.RunResult | None = None) -> AuditRun:
    # A run that wrote no evidence is a failure to look: say so with what the run printed.
    if not evidence.is_file():
        raise AssertionError(f"the audit wrote no evidence (exit {ret}):\n{output}")
    data = json.loads(evidence.read_text(encoding="utf-8"))
    return AuditRun(ret, output, data, run_result)


def audit_pytester(pytester: pytest.Pytester, *args: str,
                   config: Mapping[str, Any] | str | Path | None = None,
                   inventory: Iterable[Record] | None = None,
                   evidence: str = EVIDENCE) -> AuditRun:
    """Audit in-process in ``pytester.path`` (fast; shares this interpreter's imports).

    ``evidence`` is where the JSON evidence goes, relative to the folder.
    """
    records = None if inventory is None else list(inventory)
    prepare(pytester.path, config, records)
    evidence_path = pytester.path / evidence
    evidence_path.unlink(missing_ok=True)
    # hypothesis' plugin re-imports hypothesis in every in-process run, for nothing here.
    plugins = [] if records is None else [testing_provider]
    result = pytester.runpytest("-p", "no:hypothesispytest",
                                *_audit_argv(evidence_path, args), plugins=plugins)
    output = "\n".join([*result.outlines, *result.errlines])
    return _read(evidence_path, int(result.ret), output, result)


def audit_subprocess(folder: Path, *args: str,
                     config: Mapping[str, Any] | str | Path | None = None,
                     inventory: Iterable[Record] | None = None,
                     env: Mapping[str, str] | None = None, timeout: float = 300,
                     evidence: str = EVIDENCE) -> AuditRun:
    """Audit in a fresh interpreter with ``folder`` as working directory, as a user would.

    ``env`` is the whole environment of the run (default :func:`audit_env`); ``evidence``
    is where the JSON evidence goes, relative to ``folder``.
    """
    records = None if inventory is None else list(inventory)
    prepare(folder, config, records)
    evidence_path = folder / evidence
    evidence_path.unlink(missing_ok=True)
    plugin = [] if records is None else ["-p", testing_provider.__name__]
    # hypothesis' plugin imports hypothesis for its terminal summary (a second of CPU per
    # run) even in a run with no hypothesis test: an audit never has one. pytest's
    # unraisable-exception plugin collects garbage five times as the run ends, a quarter
    # second of CPU after a thousand tests, only to turn an exception raised in ``__del__``
    # into a warning (pytester's in-process runs skip that collection too).
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:hypothesispytest",
         "-p", "no:unraisableexception", *plugin,
         *_audit_argv(evidence_path, args)],
        cwd=folder, env=dict(env) if env is not None else audit_env(), capture_output=True,
        text=True, timeout=timeout, check=False)
    return _read(evidence_path, completed.returncode, completed.stdout + completed.stderr)
