"""``cryptoaudit lab``: a local estate of real services, seeded, audited, and torn down.

Every component records what it started (process ids, ports, files) in ``DIR/lab.json`` as
soon as it starts, so ``down`` stops exactly that, and a failure half-way through ``up`` tears
down what had already started.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w

from ..reporting import every_report_arguments
from . import reviewed_policy
from .estate_files import LAB_PASSPHRASE, PASSPHRASE_ENV, seed_files
from .estate_pq import PQ_LAB_POLICY, seed_pq_files, start_ssh_estate
from .processes import ServiceError, pid_alive, stop_pid
from .softhsm import seed_lab_token
from .tls_server import start_lab_estate

STATE_FILE = "lab.json"
CONFIG_FILE = "cryptoaudit.toml"
ENV_FILE = "lab.env"

Say = Callable[[str], None]


class LabState:
    """What the lab started, persisted after every change."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / STATE_FILE
        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.pids: list[int] = data.get("pids", [])
        self.systems: list[dict[str, Any]] = data.get("systems", [])
        self.env: dict[str, str] = data.get("env", {})
        self.started: list[str] = data.get("started", [])
        self.policy: dict[str, Any] = data.get("policy", {})
        self.tenancy: dict[str, Any] = data.get("tenancy", {})
        #: Folders a service keeps outside the lab folder (sshd's, see ssh_server).
        self.paths: list[str] = data.get("paths", [])

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        payload = {"pids": self.pids, "systems": self.systems, "env": self.env,
                   "started": self.started, "policy": self.policy, "tenancy": self.tenancy,
                   "paths": self.paths}
        self.path.write_text(json.dumps(payload, indent=2))

    def add_pid(self, pid: int) -> None:
        self.pids.append(pid)
        self.save()

    def add_path(self, path: Path) -> None:
        self.paths.append(str(path))
        self.save()

    def running(self) -> bool:
        return bool(self.started) and all(pid_alive(pid) for pid in self.pids)


def up(directory: Path, say: Say = print) -> LabState:
    """Start and seed every component; a second ``up`` on a running lab does nothing."""
    directory = directory.resolve()  # services start with other working folders
    state = LabState(directory)
    if state.running():
        say(f"lab already running in {directory}")
        return state
    down(directory, say=lambda _: None)
    state = LabState(directory)
    try:
        _start_components(state, say)
    except BaseException:
        say("lab: start failed; stopping what had started")
        down(directory, say=say)
        raise
    _write_config(state)
    say(f"lab: configuration written to {directory / CONFIG_FILE}")
    return state


def _start_components(state: LabState, say: Say) -> None:
    for name, start in COMPONENTS:
        start(state, say)
        state.started.append(name)
        state.save()


def _start_files(state: LabState, say: Say) -> None:
    files_root = state.directory / "estate"
    state.systems.extend(seed_files(files_root))
    state.systems.append(seed_pq_files(files_root, LAB_PASSPHRASE.encode(), PASSPHRASE_ENV))
    state.env[PASSPHRASE_ENV] = LAB_PASSPHRASE
    state.policy.update(PQ_LAB_POLICY)
    say(f"lab: key files for 4 systems in {files_root}, one with post-quantum keys")


def _start_ssh(state: LabState, say: Say) -> None:
    from ..providers import ProviderRegistry
    from .ssh_server import INSTALL_HINT, sshd_path

    if sshd_path() is None:
        say(f"lab: sshd is not installed ({INSTALL_HINT}): no SSH servers in this lab")
        return
    if "ssh" not in ProviderRegistry():
        say("lab: this installation has no ssh provider (reinstall pytest-cryptoaudit): "
            "no SSH servers in this lab")
        return
    systems = start_ssh_estate(state.add_pid, state.add_path)
    state.systems.extend(systems)
    say(f"lab: sshd on loopback ({', '.join(s['name'] for s in systems)})")


def _start_tls(state: LabState, say: Say) -> None:
    systems = start_lab_estate(state.directory / "services" / "tls", state.add_pid)
    state.systems.extend(systems)
    names = ", ".join(system["name"] for system in systems)
    say(f"lab: TLS servers on loopback ({names})")


def _start_hsm(state: LabState, say: Say) -> None:
    if shutil.which("softhsm2-util") is None:
        say("lab: softhsm2 is not installed (apt-get install softhsm2): no HSM in this lab")
        return
    system, env = seed_lab_token(state.directory / "services" / "softhsm", "payments-hsm",
                                 risk_tier="critical")
    state.systems.append(system)
    state.env.update(env)
    say("lab: SoftHSM2 token 'payments-hsm' seeded with keys")


def _start_vault(state: LabState, say: Say) -> None:
    from .estate_vault import start_vault_estate
    from .estate_vault_tenants import merge_tenancy, tenancy
    from .openbao import bao_binary

    try:
        bao_binary()
    except ServiceError as exc:
        say(f"lab: {exc}: no OpenBao in this lab")
        return
    systems, env = start_vault_estate(state.directory / "services", state.add_pid)
    state.systems.extend(systems)
    state.env.update(env)
    state.tenancy = merge_tenancy(state.tenancy, tenancy())
    say(f"lab: OpenBao dev server at {systems[0]['url']} with transit keys, a CA and roles, "
        "and a multi-tenant namespace")


def _start_kms(state: LabState, say: Say) -> None:
    if importlib.util.find_spec("moto") is None:
        say("lab: moto is not installed (pip install 'pytest-cryptoaudit[lab]'): no KMS in "
            "this lab")
        return
    from .estate_kms import LAB_POLICY, start_kms_estate, tenant_config
    from .estate_vault_tenants import merge_tenancy

    systems, env = start_kms_estate(state.directory / "services", state.add_pid)
    state.systems.extend(systems)
    state.env.update(env)
    state.policy.update(LAB_POLICY)
    state.tenancy = merge_tenancy(state.tenancy,
                                  tenant_config(systems[0]["endpoint_url"])["tenancy"])
    say(f"lab: moto KMS API at {systems[0]['endpoint_url']}: two accounts, planted keys and "
        "trails, and a multi-tenant system")


def _azure_installed() -> bool:
    try:  # a dotted name imports its parents: no ``azure`` package at all raises
        return importlib.util.find_spec("azure.keyvault.keys") is not None
    except ModuleNotFoundError:
        return False


def _start_keyvault(state: LabState, say: Say) -> None:
    if not _azure_installed():
        say("lab: the Azure SDK is not installed (pip install 'pytest-cryptoaudit[azure]'): "
            "no Key Vault in this lab")
        return
    from .estate_keyvault import start_keyvault_estate

    systems, env = start_keyvault_estate(state.directory / "services", state.add_pid)
    state.systems.extend(systems)
    state.env.update(env)
    say("lab: Key Vault stand-in (documented REST API, not Azure) with three vaults, "
        "planted keys and certificates")


def _start_iac(state: LabState, say: Say) -> None:
    from .estate_iac import seed_iac

    state.systems.extend(seed_iac(state.directory / "iac"))
    say(f"lab: Terraform, CloudFormation and Kubernetes code in {state.directory / 'iac'}")


def _start_gcp(state: LabState, say: Say) -> None:
    try:
        installed = importlib.util.find_spec("google.cloud.kms_v1") is not None
    except ModuleNotFoundError:  # not even the google namespace package
        installed = False
    if not installed:
        say("lab: google-cloud-kms is not installed (pip install 'pytest-cryptoaudit[gcp]'): "
            "no Cloud KMS in this lab")
        return
    from .estate_gcp import LAB_POLICY, start_gcp_estate

    systems, env = start_gcp_estate(state.directory / "services", state.add_pid)
    state.systems.extend(systems)
    state.env.update(env)
    state.policy.update(LAB_POLICY)
    say(f"lab: Cloud KMS stand-in (the REST API, not Google's service) at "
        f"{systems[0]['api_endpoint']}: two projects, planted keys and IAM policies")


COMPONENTS: tuple[tuple[str, Callable[[LabState, Say], None]], ...] = (
    ("files", _start_files),
    ("tls", _start_tls),
    ("ssh", _start_ssh),
    ("hsm", _start_hsm),
    ("vault", _start_vault),
    ("kms", _start_kms),
    ("keyvault", _start_keyvault),
    ("iac", _start_iac),
    ("gcp", _start_gcp),
)


def _write_config(state: LabState) -> None:
    config: dict[str, Any] = {"systems": state.systems,
                              "policy": {**state.policy, **reviewed_policy()}}
    if state.tenancy:
        config["tenancy"] = state.tenancy
    (state.directory / CONFIG_FILE).write_text(tomli_w.dumps(config))
    env_path = state.directory / ENV_FILE
    env_path.write_text("".join(f"export {k}='{v}'\n" for k, v in sorted(state.env.items())))
    env_path.chmod(0o600)


def down(directory: Path, say: Say = print, *, keep_config: bool = False) -> None:
    """Stop exactly the processes ``up`` recorded and remove the lab's files (all but the
    configuration with ``keep_config``: ``cryptoaudit status`` reads it beside the ledger)."""
    state = LabState(directory)
    for pid in reversed(state.pids):
        stop_pid(pid)
    for path in state.paths:
        shutil.rmtree(path, ignore_errors=True)
    if directory.exists():
        kept = (CONFIG_FILE,) if keep_config else ()
        for name in sorted({"estate", "iac", "services", STATE_FILE, CONFIG_FILE, ENV_FILE}
                           - set(kept)):
            target = directory / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    say(f"lab: stopped {len(state.pids)} processes and removed the lab files in {directory}")


def audit(directory: Path, report_dir: Path, extra: list[str]) -> int:
    """Run ``pytest --cryptoaudit`` on the lab's configuration, reports into ``report_dir``."""
    state = LabState(directory)
    report_dir.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "pytest", "--cryptoaudit", "-p", "no:cacheprovider",
            "--cryptoaudit-config", str(directory / CONFIG_FILE),
            *every_report_arguments(report_dir), "-q", "--no-header", "--tb=no", "-rN",
            *extra]
    env = {**os.environ, **state.env}
    return subprocess.run(args, cwd=directory, env=env, check=False).returncode


#: The system the lab's simulated security event concerns.
INCIDENT_SYSTEM = "payments-keys"


def cryptoaudit(directory: Path, *args: str) -> int:
    """Run a ``cryptoaudit`` subcommand on the lab's configuration, output to the terminal."""
    command = [sys.executable, "-m", "pytest_cryptoaudit", *args,
               "--config", str(directory / CONFIG_FILE)]
    return subprocess.run(command, cwd=directory, check=False).returncode


def run(directory: Path, say: Say = print) -> int:
    """Up; audit with every report; record a security event and show the system due; audit
    again and show it audited; down. Exit 0 when both audits completed."""
    report_dir = directory / "report"
    up(directory, say)
    try:
        first = audit(directory, report_dir, [])
        say(f"lab: recording a security incident on {INCIDENT_SYSTEM}; it is now due (CEK-09)")
        cryptoaudit(directory, "event", "add", "--system", INCIDENT_SYSTEM, "--kind",
                    "security-incident", "--note", "lab: simulated incident")
        cryptoaudit(directory, "status")
        say("lab: auditing again after the event")
        second = audit(directory, report_dir / "after-event", [])
        cryptoaudit(directory, "status")
    finally:
        down(directory, say, keep_config=True)
    say(f"lab: the ledger stays: `cryptoaudit status --config {directory / CONFIG_FILE}` "
        "shows it (the lab's services are stopped)")
    say(f"lab: reports in {report_dir}")
    return max((c for c in (first, second) if c not in (0, 1)), default=0)
