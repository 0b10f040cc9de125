"""Local OpenSSH servers on loopback: one offering post-quantum key exchange, one classical.

Each is the system's ``sshd`` (Debian's ``openssh-server``) run in the foreground (``-D``)
with a configuration and host keys of its own in a private folder, listening on a free
loopback port; nobody can log in (no password, no authorized keys). Started as root, sshd
insists on ``/run/sshd`` for privilege separation, so it is run as ``nobody`` instead and
its folder is handed to that user: the machine is left as it was found.

``pq``: OpenSSH's default key exchange list (9.x: ``sntrup761x25519-sha512`` first;
9.9 and later: ``mlkem768x25519-sha256`` first), Ed25519 and RSA-3072 host keys.
``classical``: X25519 and P-256 ECDH only, an ECDSA P-256 host key.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from .keygen import ec_key, ed25519_key, rsa_key
from .processes import (
    LOOPBACK,
    ServiceError,
    ensure_running,
    free_port,
    start_process,
    stop_pid,
    wait_until,
)

#: Per profile: the KexAlgorithms line (None: OpenSSH's default) and the host keys.
PROFILES = {
    "pq": (None, ("ed25519", "rsa")),
    "classical": ("curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256",
                  ("ecdsa",)),
}
SBIN = "/usr/sbin:/usr/local/sbin"
INSTALL_HINT = "apt-get install openssh-server"


@dataclasses.dataclass(frozen=True)
class SshServer:
    """One running lab sshd."""

    profile: str
    port: int
    pid: int
    folder: Path

    host: str = LOOPBACK

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        stop_pid(self.pid)
        shutil.rmtree(self.folder, ignore_errors=True)


def sshd_path() -> str | None:
    """The ``sshd`` binary (it must be run by its absolute path), or None."""
    return shutil.which("sshd", path=f"{SBIN}:{os.environ.get('PATH', '')}")


def _host_key(kind: str) -> bytes:
    key: PrivateKeyTypes = (ed25519_key() if kind == "ed25519" else rsa_key(3072)
                            if kind == "rsa" else ec_key())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption())


def _config(folder: Path, port: int, profile: str) -> str:
    kex, keys = PROFILES[profile]
    lines = [f"Port {port}", f"ListenAddress {LOOPBACK}", "PidFile none", "UsePAM no",
             "PasswordAuthentication no", "KbdInteractiveAuthentication no",
             "PubkeyAuthentication no", "AuthorizedKeysFile none", "StrictModes no",
             *(f"HostKey {folder / f'host_{kind}'}" for kind in keys)]
    if kex:
        lines.append(f"KexAlgorithms {kex}")
    return "\n".join(lines) + "\n"


#: OpenSSH 9.8 and later refuse, for a while, a source that disconnects before it
#: authenticates, as every probe does; older ones do not know the option.
EXEMPT_LOOPBACK = f"PerSourcePenaltyExemptList {LOOPBACK}\n"


def _exempt_loopback(sshd: str, prefix: list[str], config: Path) -> None:
    """Add :data:`EXEMPT_LOOPBACK` where this sshd knows it (``sshd -t`` says)."""
    text = config.read_text()
    config.write_text(text + EXEMPT_LOOPBACK)
    checked = subprocess.run([*prefix, sshd, "-t", "-f", str(config)], capture_output=True,
                             text=True, check=False, timeout=30)
    if "Bad configuration option" in checked.stderr:
        config.write_text(text)


def _write(folder: Path, port: int, profile: str) -> Path:
    for kind in PROFILES[profile][1]:
        path = folder / f"host_{kind}"
        path.write_bytes(_host_key(kind))
        path.chmod(0o600)
    config = folder / "sshd_config"
    config.write_text(_config(folder, port, profile))
    return config


def _as_nobody(folder: Path) -> list[str]:
    """The command prefix that drops root, with ``folder`` handed to ``nobody``."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise ServiceError("sshd started as root needs setpriv (util-linux) to drop to nobody")
    folder.chmod(0o755)
    for path in (folder, *folder.iterdir()):
        os.chown(path, 65534, 65534)
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def start_ssh_server(profile: str, timeout: float = 15.0) -> SshServer:
    """Start a lab sshd of ``profile`` on a free loopback port and wait until it answers."""
    if profile not in PROFILES:
        raise ValueError(f"unknown SSH lab profile {profile!r} (expected one of "
                         f"{tuple(PROFILES)})")
    sshd = sshd_path()
    if sshd is None:
        raise ServiceError(f"sshd is not installed: {INSTALL_HINT}")
    folder, port = Path(tempfile.mkdtemp(prefix=f"cryptoaudit-sshd-{profile}-")), free_port()
    config = _write(folder, port, profile)
    log = folder / "sshd.log"
    prefix = _as_nobody(folder)
    _exempt_loopback(sshd, prefix, config)
    command = [*prefix, sshd, "-D", "-e", "-f", str(config)]
    process = start_process(command, log)
    server = SshServer(profile, port, process.pid, folder)
    try:
        wait_until(lambda: _ready(process, profile, log, port), f"sshd ({profile})", timeout)
    except ServiceError:
        server.stop()
        raise
    return server


def _ready(process: subprocess.Popen[bytes], profile: str, log: Path, port: int) -> bool:
    from ..sshkex import SshProbeError, read_server_kexinit

    ensure_running(process, f"sshd ({profile})", log)
    try:
        read_server_kexinit(LOOPBACK, port, timeout=1.0)
    except SshProbeError:
        return False
    return True
