"""Where the ledger lives, parsed once: a SQLite path or a PostgreSQL connection string.

A PostgreSQL location is parsed with psycopg's own conninfo parser (the libpq rules), as a
``postgresql://`` URL or a keyword string (``host=... dbname=...``), so every place a
password can hide (``user:PW@``, ``:PW@``, ``?password=PW``, ``password=PW``) is found. What
is shown (messages, evidence, ``cryptoaudit status``) is rebuilt from the parsed parts
without any password, never cut out of the text the user wrote. Anything that is neither a
path nor a PostgreSQL location is rejected instead of being taken for a file name.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

DEFAULT_LOCATION = ".cryptoaudit/ledger.db"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
#: Connection parameters that are secrets: never shown, never stored.
SECRET_PARAMETERS = ("password", "sslpassword")
_KEYWORD_FORM = re.compile(r"^\s*[A-Za-z_]+\s*=")
_ANY_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
HIDDEN = "***"


class LocationError(ValueError):
    """The ledger location cannot be used; the message never quotes a password."""


@dataclasses.dataclass(frozen=True)
class LedgerLocation:
    """A parsed location: ``target`` may hold a password and is only ever given to the
    driver; ``shown`` is what every message, report and status line prints."""

    kind: str  # "sqlite" or "postgresql"
    target: str
    shown: str
    parameters: dict[str, str] = dataclasses.field(default_factory=dict, compare=False)

    @property
    def has_password(self) -> bool:
        return bool(self.parameters.get("password"))


def is_postgres(value: str) -> bool:
    """A PostgreSQL URL or keyword connection string (as opposed to a path)."""
    return value.startswith(POSTGRES_SCHEMES) or bool(_KEYWORD_FORM.match(value))


def parse_location(value: str | None, base_dir: Path) -> LedgerLocation:
    """Parse ``value`` (default ``.cryptoaudit/ledger.db``); relative paths from ``base_dir``."""
    value = value or DEFAULT_LOCATION
    if is_postgres(value):
        return _postgres(value)
    scheme = _ANY_SCHEME.match(value)
    if scheme and not value.startswith("sqlite:///"):
        raise LocationError(
            f"ledger: unsupported location scheme {scheme.group(1)!r}: expected a path, "
            "sqlite:///PATH, a postgresql:// URL or a keyword connection string")
    path = Path(value.removeprefix("sqlite:///")).expanduser()
    resolved = str(path if path.is_absolute() else (base_dir / path).resolve())
    return LedgerLocation("sqlite", resolved, resolved)


def redact(value: str) -> str:
    """``value`` fit for messages and evidence; never raises, never returns a password."""
    try:
        return parse_location(value, Path.cwd()).shown if is_postgres(value) else (
            _unsupported(value) or value)
    except LocationError:
        return "a PostgreSQL location that cannot be parsed (not shown: it may hold a password)"


def _unsupported(value: str) -> str | None:
    scheme = _ANY_SCHEME.match(value)
    if scheme and not value.startswith("sqlite:///"):
        return f"a {scheme.group(1)}:// location (not shown)"
    return None


def _postgres(value: str) -> LedgerLocation:
    parameters = _conninfo(value)
    if "@" in parameters.get("host", ""):
        raise LocationError(
            "ledger: the PostgreSQL URL holds more than one '@'; percent-encode an '@' in "
            "the user name or password as %40 (better: keep the password out of the URL)")
    url_form = value.startswith(POSTGRES_SCHEMES)
    shown = _url_shown(value, parameters) if url_form else _keywords_shown(parameters)
    return LedgerLocation("postgresql", value, shown, parameters)


def _conninfo(value: str) -> dict[str, str]:
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        raise LocationError("a PostgreSQL ledger needs psycopg: "
                            "pip install 'pytest-cryptoaudit[postgres]'") from None
    try:
        parsed: dict[str, Any] = conninfo_to_dict(value)
    except Exception:  # psycopg raises its Error family, from a C extension or from Python
        # libpq's message quotes the text around the fault, which may be the password.
        raise LocationError("ledger: not a valid PostgreSQL URL or connection string "
                            "(libpq's reason is withheld: it may quote the password)") from None
    return {key: str(item) for key, item in parsed.items()}


def _url_shown(value: str, parameters: dict[str, str]) -> str:
    scheme = value.split("://", 1)[0]
    user = parameters.get("user", "")
    secret = f":{HIDDEN}" if parameters.get("password") else ""
    who = f"{user}{secret}@" if user or secret else ""
    host = parameters.get("host", "")
    host = f"[{host}]" if ":" in host and "," not in host else host
    port = f":{parameters['port']}" if parameters.get("port") else ""
    rest = {k: v for k, v in parameters.items()
            if k not in ("user", "host", "port", "dbname", *SECRET_PARAMETERS)}
    query = "?" + "&".join(f"{k}={v}" for k, v in sorted(rest.items())) if rest else ""
    return f"{scheme}://{who}{host}{port}/{parameters.get('dbname', '')}{query}"


def _keywords_shown(parameters: dict[str, str]) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(**{k: HIDDEN if k in SECRET_PARAMETERS else v
                            for k, v in sorted(parameters.items())})


def password_from(variable: str | None) -> str | None:
    """The password in the environment variable the configuration names, if any.

    Raises :class:`LocationError` naming the variable when it is named but not set."""
    if variable is None:
        return None
    password = os.environ.get(variable)
    if not password:
        raise LocationError(f"ledger: {variable} (ledger.password_env) is not set")
    return password
