"""SSH signatures on sign-offs, the ``ssh-keygen -Y sign`` convention that git uses.

Whoever can write the ledger's database could append a sign-off in anyone's name, and even
re-seal the chain. A signature made with the reviewer's own SSH key, checked against an
allowed-signers file kept elsewhere (in the repository, say), cannot be forged that way.
The signed message is the canonical JSON of the review's statement; the principal is the
reviewer's ``--by`` name as the allowed-signers file lists it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .chain import canonical
from .review import NAMESPACE, statement

TIMEOUT_SECONDS = 30


class SigningError(Exception):
    """A signature could not be made or checked; the message says why."""


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise SigningError("ssh-keygen not found: install OpenSSH's client "
                           "(Debian: apt-get install openssh-client)")
    return found


def _run(arguments: list[str], message: bytes) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run([_ssh_keygen(), *arguments], input=message, capture_output=True,
                              timeout=TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SigningError(f"ssh-keygen failed: {exc}") from None


def sign(data: Mapping[str, Any], key_file: Path) -> str:
    """The armored SSH signature of ``data``'s statement, made with ``key_file`` (a private
    key, or its ``.pub`` when the key is held by ssh-agent)."""
    if not key_file.is_file():
        raise SigningError(f"--signing-key {key_file}: no such file")
    done = _run(["-Y", "sign", "-n", NAMESPACE, "-q", "-f", str(key_file)],
                canonical(statement(data)).encode())
    if done.returncode != 0 or b"BEGIN SSH SIGNATURE" not in done.stdout:
        reason = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
        raise SigningError(f"cannot sign with {key_file}: {reason}")
    return done.stdout.decode()


def check(data: Mapping[str, Any], allowed_signers: Path) -> str | None:
    """Why ``data``'s signature does not hold against ``allowed_signers``; None if it does."""
    signature = data.get("signature")
    if not signature:
        return "not signed"
    with tempfile.TemporaryDirectory(prefix="cryptoaudit-sig-") as folder:
        signature_file = Path(folder, "review.sig")
        signature_file.write_text(str(signature))
        done = _run(["-Y", "verify", "-f", str(allowed_signers), "-I", str(data.get("by")),
                     "-n", NAMESPACE, "-s", str(signature_file)],
                    canonical(statement(data)).encode())
    if done.returncode == 0:
        return None
    reason = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
    return f"signature does not verify for {data.get('by')!r}: " + (
        reason[-1] if reason else f"ssh-keygen exit {done.returncode}")


def readable_signers(path: Path) -> Path:
    """``path`` if it is a readable allowed-signers file, else a :class:`SigningError`."""
    if not path.is_file():
        raise SigningError(f"allowed-signers file {path} not found")
    return path
