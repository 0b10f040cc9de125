"""Write vault configurations and read the evidence of a run, per check and key uid."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

from pytest_cryptoaudit.testing import audit_env, audit_pytester, audit_subprocess


@dataclasses.dataclass
class Evidence:
    """The JSON evidence of one run, with the run's output for failure messages."""

    data: dict[str, Any]
    output: str = ""

    def results(self, check: str | None = None, uid: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.data["results"]
                if (check is None or r["check"] == check) and (uid is None or r["key_uid"] == uid)]

    def outcome(self, check: str, uid: str) -> str:
        found = self.results(check, uid)
        assert len(found) == 1, f"expected one {check} result for {uid}, got {found}"
        return str(found[0]["outcome"])

    def message(self, check: str, uid: str) -> str:
        return str(self.results(check, uid)[0]["message"])

    def checks_with(self, uid: str, outcome: str) -> set[str]:
        return {r["check"] for r in self.results(uid=uid) if r["outcome"] == outcome}

    def system(self, name: str) -> dict[str, Any]:
        return next(s for s in self.data["systems"] if s["name"] == name)

    def discovery_errors(self, name: str) -> list[dict[str, Any]]:
        return list(self.system(name)["discovery_errors"])


def system(name: str, tier: str, url: str, **options) -> str:
    """A ``[[systems]]`` table of the vault provider."""
    lines = ["[[systems]]", f'name = "{name}"', 'provider = "vault"', f'risk_tier = "{tier}"',
             'ssrm_owner = "CSC"', 'accountable_owner = "vault-team"', f'url = "{url}"']
    for key, value in options.items():
        lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n\n"


def _toml(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def event(system_name: str, at: datetime, key: str | None = None,
          versions: list[int] | None = None) -> str:
    lines = ["[[events]]", f'system = "{system_name}"', 'kind = "key-compromise"',
             f"at = {at.isoformat().replace('+00:00', 'Z')}"]
    if key:
        lines.append(f'key = "{key}"')
    if versions:
        lines.append(f"versions = {versions}")
    return "\n".join(lines) + "\n\n"


def write_config(folder: Path, text: str) -> Path:
    path = folder / "cryptoaudit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def audit_config(folder: Path, config: str, *args: str, ret: int = 1,
                 **tokens: str) -> Evidence:
    """Write ``config`` to ``folder`` and run ``pytest --cryptoaudit`` on it in a subprocess,
    with ``tokens`` as environment variables; the run must end with exit status ``ret``."""
    write_config(folder, config)
    run = audit_subprocess(folder, "-q", *args, env=audit_env(**tokens), timeout=120)
    assert run.ret == ret, run.output
    return Evidence(run.evidence, run.output)


def run_audit(pytester: Any, *args: str) -> Evidence:
    """Run ``pytest --cryptoaudit`` in-process on the config in ``pytester``'s folder."""
    done = audit_pytester(pytester, *args)
    return Evidence(done.evidence, done.output)


def namespace_with_key(server: Any, namespace: str, key: str) -> tuple[Any, Any]:
    """Namespace ``namespace`` (under the root) with transit mount ``transit`` holding one
    AES-256 key rotated every 30 days: (a root client, a client in the namespace)."""
    from pytest_cryptoaudit.lab import openbao

    root = server.client()
    root.write_data(f"sys/namespaces/{namespace}", data={})
    space = server.client(namespace=namespace)
    openbao.enable_engine(space, "transit", "transit")
    openbao.create_transit_key(space, "transit", key, "aes256-gcm96", auto_rotate_period="720h")
    return root, space
