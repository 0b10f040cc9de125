"""Files that make parsers throw: each is one error naming the file, and good keys stay."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from pytest_cryptoaudit.config import parse_config
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import Discovery, DiscoveryContext, ProviderRegistry
from pytest_cryptoaudit.providers.files import FilesProvider
from tests.core.hostile import (
    good_certificate,
    legacy_encrypted_pem,
    tag8_name_certificate,
    unknown_curve_certificate,
)
from tests.factories import ec_key, private_pem, write

PASSWORD_ENV = "CRYPTOAUDIT_TEST_HOSTILE_PASSWORD"


def discover(root: Path, **options: Any) -> Discovery:
    system = {"name": "odd-files", "provider": "files", "risk_tier": "high", "owner": "CSC",
              "paths": ["."], **options}
    audit_config = parse_config({"systems": [system]}, ProviderRegistry(), BUILTIN_SETTINGS)
    context = DiscoveryContext(policy=audit_config.policy, now=datetime.now(UTC), base_dir=root)
    return FilesProvider().discover(audit_config.systems[0], context)


def errors_by_uid(attempt: Discovery) -> dict[str | None, str]:
    return {error.key_uid: error.reason for error in attempt.errors}


@pytest.fixture
def with_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "hunter2")


@pytest.mark.usefixtures("with_password")
@pytest.mark.parametrize("iv_hex", ["0011223344556677", "00112233445566778899aabbccddee"])
def test_short_legacy_iv_is_one_error_not_a_panic(tmp_path: Path, iv_hex: str) -> None:
    write(tmp_path / "short-iv.pem", legacy_encrypted_pem(iv_hex))
    write(tmp_path / "good.pem", good_certificate())
    attempt = discover(tmp_path, password_env=PASSWORD_ENV)
    assert [key.uid for key in attempt.keys] == ["files:good.pem"]
    reason = errors_by_uid(attempt)["files:short-iv.pem"]
    assert reason.startswith("short-iv.pem: ")
    assert "hunter2" not in reason


@pytest.mark.parametrize(("content", "expected"), [
    (unknown_curve_certificate, "1.2.840.10045.3.1.127"),
    (tag8_name_certificate, "odd.pem"),
])
def test_an_odd_certificate_is_one_named_error(tmp_path: Path, content: Any,
                                               expected: str) -> None:
    write(tmp_path / "odd.pem", content())
    write(tmp_path / "good.pem", good_certificate())
    attempt = discover(tmp_path)
    assert [key.uid for key in attempt.keys] == ["files:good.pem"]
    reason = errors_by_uid(attempt)["files:odd.pem"]
    assert reason.startswith("odd.pem: ") and expected in reason


def test_unreadable_symlink_target_is_one_named_error(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # A root-run suite cannot be denied by file modes, so the denial comes from stat itself.
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    write(hidden / "key.pem", private_pem(ec_key()))
    (tmp_path / "scan").mkdir()
    (tmp_path / "scan/link.pem").symlink_to(hidden / "key.pem")
    write(tmp_path / "scan/good.pem", good_certificate())
    real_stat = Path.stat

    def stat(path: Path, *, follow_symlinks: bool = True) -> os.stat_result:
        if follow_symlinks and os.path.realpath(path).startswith(str(hidden)):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(Path, "stat", stat)
    attempt = discover(tmp_path, paths=["scan"])
    assert [key.uid for key in attempt.keys] == ["files:scan/good.pem"]
    assert errors_by_uid(attempt) == {"files:scan/link.pem": "scan/link.pem: Permission denied"}


def test_missing_password_variable_is_named(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_KEY_PASS", raising=False)
    write(tmp_path / "locked.pem", private_pem(ec_key(), b"secret"))
    attempt = discover(tmp_path, password_env="MY_KEY_PASS")
    (key,) = attempt.keys
    assert key.unreadable["size"] == ("the key is encrypted and MY_KEY_PASS (password_env) "
                                      "is not set")


def test_encrypted_key_without_password_env_says_to_set_it(tmp_path: Path) -> None:
    write(tmp_path / "locked.pem", private_pem(ec_key(), b"secret"))
    (key,) = discover(tmp_path).keys
    assert "set password_env" in key.unreadable["size"]


def test_a_panicking_parser_does_not_end_the_run(tmp_path: Path) -> None:
    write(tmp_path / "keys/short-iv.pem", legacy_encrypted_pem())
    write(tmp_path / "keys/good.pem", good_certificate())
    system = {"name": "odd-files", "provider": "files", "risk_tier": "high", "owner": "CSC",
              "paths": ["keys"], "password_env": PASSWORD_ENV}
    (tmp_path / "cryptoaudit.toml").write_text(tomli_w.dumps({"systems": [system]}))
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--cryptoaudit", "-p", "no:cacheprovider",
         "--cryptoaudit-json=evidence.json"],
        cwd=tmp_path, env={**os.environ, PASSWORD_ENV: "hunter2"}, capture_output=True,
        text=True, timeout=300, check=False)
    assert "INTERNALERROR" not in completed.stdout + completed.stderr
    assert completed.returncode == pytest.ExitCode.TESTS_FAILED
    assert "test_discovery_complete[discovery-complete-files:keys/short-iv.pem]" in completed.stdout
    assert (tmp_path / "evidence.json").exists()


def test_a_folder_the_walk_cannot_enter_is_named(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    closed = tmp_path / "scan/closed"
    closed.mkdir(parents=True)
    write(closed / "key.pem", private_pem(ec_key()))
    write(tmp_path / "scan/good.pem", good_certificate())
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if str(path) == str(closed):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    attempt = discover(tmp_path, paths=["scan"])
    assert [key.uid for key in attempt.keys] == ["files:scan/good.pem"]
    assert errors_by_uid(attempt) == {"files:scan/closed": "scan/closed: Permission denied"}
