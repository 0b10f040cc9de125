"""A private PostgreSQL cluster on a loopback port, for the shared-ledger tests and CI.

Debian's ``postgresql`` package installs its programs under
``/usr/lib/postgresql/<version>/bin`` (not on ``PATH``); they are found by glob, newest
version first, so no version is hard-coded. The server refuses to run as root: when the
caller is root, ``initdb`` and ``postgres`` run as an unprivileged system user (``postgres``
if it exists, else ``nobody``) through ``subprocess``'s ``user=``/``group=``, with a data
folder under the system temp folder that this user owns. Password authentication
(SCRAM) is required even on loopback; the password is random per cluster and never logged.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .processes import LOOPBACK, ServiceError, ensure_running, free_port, stop_pid, wait_until

SEARCH_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin",
                "/opt/homebrew/opt/postgresql*/bin")
INSTALL_HINT = "apt-get install -y postgresql (Debian/Ubuntu)"
USER_NAME = "cryptoaudit"
SERVICE_USERS = ("postgres", "nobody")


def _version_of(folder: str) -> tuple[int, ...]:
    digits = "".join(c if c.isdigit() else " " for c in Path(folder).parent.name).split()
    return tuple(int(d) for d in digits) or (0,)


def find_bin_dir() -> Path:
    """The folder holding ``initdb`` and ``postgres``: newest Debian version, else ``PATH``."""
    candidates = [d for pattern in SEARCH_GLOBS for d in glob.glob(pattern)
                  if os.access(os.path.join(d, "initdb"), os.X_OK)]
    if candidates:
        return Path(max(candidates, key=_version_of))
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ServiceError(f"PostgreSQL server programs (initdb) not found: {INSTALL_HINT}")


def _service_user() -> pwd.struct_passwd | None:
    """The account to run as: None when not root (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in SERVICE_USERS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ServiceError("running as root and no unprivileged user (postgres, nobody) exists")


class PostgresCluster:
    """One throw-away cluster: ``start()``, use :attr:`url`, ``stop()`` (or ``with``)."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        self.account = _service_user()
        self.root = Path(tempfile.mkdtemp(prefix="cryptoaudit-pg-"))
        self.data_dir = self.root / "data"
        self.log_path = self.root / "server.log"
        self.port = 0
        self.password = secrets.token_urlsafe(24)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Connection URL of the ``postgres`` database (holds the password: never print it)."""
        return f"postgresql://{USER_NAME}:{self.password}@{LOOPBACK}:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return self.url.rsplit("/", 1)[0] + "/" + database

    def _run_as(self) -> dict[str, Any]:
        if self.account is None:
            return {}
        return {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}

    def _prepare_root(self) -> Path:
        password_file = self.root / "pwfile"
        password_file.write_text(self.password + "\n", encoding="utf-8")
        password_file.chmod(0o600)
        if self.account is not None:
            for path in (self.root, password_file):
                os.chown(path, self.account.pw_uid, self.account.pw_gid)
        return password_file

    def _initdb(self) -> None:
        password_file = self._prepare_root()
        args = [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", USER_NAME,
                "--auth=scram-sha-256", f"--pwfile={password_file}", "--encoding=UTF8",
                "--no-sync"]
        done = subprocess.run(args, capture_output=True, cwd=self.root, check=False,
                              **self._run_as())
        password_file.unlink()
        if done.returncode != 0:
            raise ServiceError(f"initdb failed ({done.returncode}): "
                               f"{done.stderr.decode(errors='replace')[-2000:]}")

    def start(self, timeout: float = 30.0) -> PostgresCluster:
        """Create the cluster and start the server; return when it accepts connections."""
        self._initdb()
        self.port = free_port()
        args = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                "-c", f"listen_addresses={LOOPBACK}", "-c", f"unix_socket_directories={self.root}",
                "-c", "fsync=off", "-c", "max_connections=50"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.root, start_new_session=True, **self._run_as())
        wait_until(self._accepting, "PostgreSQL", timeout)
        return self

    def _accepting(self) -> bool:
        assert self.process is not None
        ensure_running(self.process, "PostgreSQL", self.log_path)
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((LOOPBACK, self.port)) != 0:
                return False
        try:
            import psycopg

            with psycopg.connect(self.url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False  # still starting up

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL (one per test keeps tests apart)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')  # name chosen by the caller's test
        return self.url_for(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown, then kill) and remove its files."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(2)  # SIGINT: fast shutdown, clients disconnected
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                stop_pid(self.process.pid)
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
