"""Whether a root filesystem runs its OpenSSL in FIPS mode: the kernel's ``fips_enabled``
and the OpenSSL configuration (a ``fips`` provider activated, ``fips=yes`` by default)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

OPENSSL_CONFIGS = ("etc/ssl/openssl.cnf", "usr/lib/ssl/openssl.cnf", "etc/pki/tls/openssl.cnf",
                   "usr/local/ssl/openssl.cnf")
FIPS_ENABLED = "proc/sys/crypto/fips_enabled"
MAX_CONFIG_BYTES = 1024 * 1024


def _sections(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {"default": {}}
    current = sections["default"]
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = sections.setdefault(header.group(1), {})
        elif "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            current[key] = value
    return sections


def _included(config: Path, text: str, root: Path) -> str:
    """The text of ``.include`` files (as a FIPS setup writes fipsmodule.cnf) after it."""
    extra = []
    for match in re.finditer(r"^\s*\.?include\s*=?\s*(\S+)", text, re.M):
        target = Path(match.group(1))
        path = root / target.relative_to("/") if target.is_absolute() else config.parent / target
        if path.is_file() and path.stat().st_size <= MAX_CONFIG_BYTES:
            extra.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join([text, *extra])


def openssl_fips(config: Path, root: Path) -> dict[str, Any]:
    """What one OpenSSL configuration says about FIPS: the provider activated, and whether
    algorithm fetches default to ``fips=yes``."""
    text = config.read_text(encoding="utf-8", errors="replace")
    sections = _sections(_included(config, text, root))
    init = sections["default"].get("openssl_conf")
    providers_section = sections.get(init or "", {}).get("providers")
    providers = sections.get(providers_section or "", {})
    fips_section = providers.get("fips")
    activated = bool(fips_section) and sections.get(fips_section or "", {}).get(
        "activate", "0").lower() in ("1", "yes", "true", "on")
    algorithms = sections.get(sections.get(init or "", {}).get("alg_section", ""), {})
    default_fips = "fips=yes" in algorithms.get("default_properties", "").replace(" ", "")
    return {"config": "/" + str(config.relative_to(root)), "fips_provider_active": activated,
            "default_properties_fips": default_fips}


def fips_state(root: Path) -> dict[str, Any]:
    """The kernel flag (None where the root has no ``/proc``) and the first OpenSSL
    configuration found (None where there is none)."""
    flag_path = root / FIPS_ENABLED
    kernel = flag_path.read_text().strip() == "1" if flag_path.is_file() else None
    config = next((root / p for p in OPENSSL_CONFIGS if (root / p).is_file()), None)
    openssl = openssl_fips(config, root) if config is not None else None
    return {"kernel_fips_enabled": kernel, "openssl": openssl}
