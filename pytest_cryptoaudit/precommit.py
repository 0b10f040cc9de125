"""The pre-commit hooks: audit the key files and the infrastructure code a commit touches.

``python -m pytest_cryptoaudit.precommit [--risk-tier TIER] FILE... [-- PYTEST_ARGS]`` writes a
one-system configuration for the files provider into a temporary folder and runs the built-in
controls over those files only: no network, no ledger, nothing written into the repository.

``python -m pytest_cryptoaudit.precommit --iac --config PATH FILE...`` audits the
repository's infrastructure code with the configuration it names (its ``terraform``,
``cloudformation`` and ``kubernetes`` systems) whenever the commit touches such code: a
module is judged whole, with its variables, never file by file.

The exit code is pytest's, so a finding or a file that cannot be read stops the commit.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import tomli_w

from .model import RiskTier

#: What pre-commit passes the hook (``files:`` in .pre-commit-hooks.yaml says the same); other
#: files are left alone, since the files provider reports a file it cannot parse as an error.
KEY_FILE = re.compile(
    r"\.(pem|key|crt|cer|der|p12|pfx|pub)$|(^|/)id_(rsa|dsa|ecdsa|ed25519)$", re.IGNORECASE)


#: Keys committed to a repository answer to whoever maintains it, unless the hook says who.
REPOSITORY_OWNER = "the repository's maintainers"


def parse_arguments(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    own, separator, pytest_args = _split_at_separator(list(argv))
    parser = argparse.ArgumentParser(
        prog="cryptoaudit-precommit",
        description="Audit the key and certificate files given (as pre-commit passes them).")
    parser.add_argument("--risk-tier", choices=[t.value for t in RiskTier], default="medium",
                        help="The tier the files are judged at (default medium).")
    parser.add_argument("--ssrm-owner", "--owner", dest="owner", default="CSC",
                        help="The SSRM owner (default CSC).")
    parser.add_argument("--accountable-owner", default=REPOSITORY_OWNER,
                        help="The team or person that answers for the committed keys "
                             f"(CEK-21 has-owner; default {REPOSITORY_OWNER!r}).")
    parser.add_argument("--iac", action="store_true",
                        help="Audit infrastructure code with the configuration --config names, "
                             "when the commit touches any (the cryptoaudit-iac hook).")
    parser.add_argument("--config", metavar="PATH",
                        help="The configuration of the infrastructure-code systems (--iac).")
    parser.add_argument("filenames", nargs="*", help="Files to audit.")
    return parser.parse_args(own), pytest_args if separator else []


def _split_at_separator(argv: list[str]) -> tuple[list[str], bool, list[str]]:
    if "--" not in argv:
        return argv, False, []
    index = argv.index("--")
    return argv[:index], True, argv[index + 1:]


def key_files(filenames: Sequence[str]) -> list[Path]:
    return sorted({Path(name).resolve() for name in filenames if KEY_FILE.search(name)})


def write_config(folder: Path, files: Sequence[Path], tier: str, owner: str,
                 accountable_owner: str = REPOSITORY_OWNER) -> Path:
    """A configuration for one files system holding exactly ``files``."""
    system = {"name": "commit", "provider": "files", "risk_tier": tier, "ssrm_owner": owner,
              "accountable_owner": accountable_owner,
              "paths": [str(path) for path in files]}
    config = folder / "cryptoaudit.toml"
    config.write_text(tomli_w.dumps({"systems": [system]}), encoding="utf-8")
    # An explicit, empty pytest configuration: the repository's own pytest settings and tests
    # have no part in this run.
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return config


def pytest_arguments(folder: Path, config: Path, extra: Sequence[str]) -> list[str]:
    from .catalog import builtin_controls_dir

    return ["--cryptoaudit", "--cryptoaudit-config", str(config), "--cryptoaudit-no-ledger",
            "-c", str(folder / "pytest.ini"), "--rootdir", str(folder),
            "-p", "no:cacheprovider", "-q", "--tb=line", str(builtin_controls_dir()), *extra]


#: What the cryptoaudit-iac hook reacts to (``files:`` in .pre-commit-hooks.yaml says the same).
IAC_FILE = re.compile(r"\.(tf|tfvars|hcl|ya?ml|json|template)$", re.IGNORECASE)
USAGE = 2


def audit_code(config: Path, filenames: Sequence[str], extra: Sequence[str]) -> int:
    """The infrastructure-code audit of ``config``, if the commit touches such code."""
    import pytest

    if not any(IAC_FILE.search(name) for name in filenames):
        return 0
    if not config.is_file():
        print(f"cryptoaudit-iac: configuration {config} not found", file=sys.stderr)
        return USAGE
    with tempfile.TemporaryDirectory(prefix="cryptoaudit-precommit-") as temporary:
        folder = Path(temporary)
        (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        return int(pytest.main(pytest_arguments(folder, config.resolve(), extra)))


def main(argv: Sequence[str] | None = None) -> int:
    import pytest

    options, extra = parse_arguments(sys.argv[1:] if argv is None else argv)
    if options.iac:
        if not options.config:
            print("cryptoaudit-iac needs the configuration of your infrastructure-code "
                  "systems: args: [--config, infra/cryptoaudit-iac.toml]", file=sys.stderr)
            return USAGE
        return audit_code(Path(options.config), options.filenames, extra)
    files = key_files(options.filenames)
    if not files:
        return 0
    with tempfile.TemporaryDirectory(prefix="cryptoaudit-precommit-") as temporary:
        folder = Path(temporary)
        config = write_config(folder, files, options.risk_tier, options.owner,
                              options.accountable_owner)
        return int(pytest.main(pytest_arguments(folder, config, extra)))


if __name__ == "__main__":
    raise SystemExit(main())
