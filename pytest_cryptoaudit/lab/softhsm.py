"""A private SoftHSM2 token with demonstration keys, for the tests and ``cryptoaudit lab``.

SoftHSM reads ``SOFTHSM2_CONF`` when the library initialises, so every token lives in its own
folder with its own configuration, and the variable is set only while this module talks to
the library. Keys are seeded with python-pkcs11 (imported lazily). The demonstration set
plants one weakness per key beside clean keys; :data:`DEMO_KEYS` says which is which.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import glob
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .processes import ServiceError

#: Where distributions install the SoftHSM2 PKCS#11 library.
MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/*/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/lib/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)
CONF_VARIABLE = "SOFTHSM2_CONF"
#: The variable that holds the lab token's PIN when ``cryptoaudit lab`` audits it.
PIN_ENV = "CRYPTOAUDIT_LAB_HSM_PIN"
PAST = dt.date(2020, 1, 1)


def find_module() -> Path:
    """The SoftHSM2 library: ``$SOFTHSM2_MODULE`` or the first common location that exists."""
    explicit = os.environ.get("SOFTHSM2_MODULE")
    patterns = (explicit,) if explicit else MODULE_CANDIDATES
    for pattern in patterns:
        for match in sorted(glob.glob(pattern)):
            return Path(match)
    raise ServiceError("SoftHSM2 library libsofthsm2.so not found (apt-get install softhsm2, "
                       "or set SOFTHSM2_MODULE)")


@dataclasses.dataclass(frozen=True)
class LabToken:
    """An initialised SoftHSM2 token in its own folder; the PINs never appear in its repr."""

    folder: Path
    label: str
    module: Path
    pin: str = dataclasses.field(repr=False)
    so_pin: str = dataclasses.field(repr=False)

    @property
    def conf(self) -> Path:
        return self.folder / "softhsm2.conf"

    @property
    def env(self) -> dict[str, str]:
        """The environment a process needs to see this token (no PIN in it)."""
        return {CONF_VARIABLE: str(self.conf)}


def create_token(folder: Path, label: str = "cryptoaudit-lab", *, pin: str | None = None,
                 so_pin: str | None = None, module: Path | None = None) -> LabToken:
    """Write a private SoftHSM2 configuration in ``folder`` and initialise one token there."""
    util = shutil.which("softhsm2-util")
    if util is None:
        raise ServiceError("softhsm2-util not found (apt-get install softhsm2)")
    tokens = folder / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    token = LabToken(folder=folder, label=label, module=module or find_module(),
                     pin=pin or secrets.token_hex(8), so_pin=so_pin or secrets.token_hex(8))
    token.conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
                          "log.level = ERROR\nslots.removable = false\n", encoding="utf-8")
    result = subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--so-pin", token.so_pin,
         "--pin", token.pin],
        env={**os.environ, **token.env}, capture_output=True, text=True, timeout=60, check=False,
    )
    if result.returncode != 0:
        raise ServiceError(f"softhsm2-util --init-token failed: {result.stderr.strip()}")
    return token


@contextlib.contextmanager
def token_environment(token: LabToken) -> Iterator[None]:
    """Point SoftHSM at ``token``'s configuration for the duration of the block."""
    previous = os.environ.get(CONF_VARIABLE)
    os.environ[CONF_VARIABLE] = str(token.conf)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(CONF_VARIABLE, None)
        else:
            os.environ[CONF_VARIABLE] = previous


@contextlib.contextmanager
def open_session(token: LabToken) -> Iterator[Any]:
    """A read/write user session on ``token``; the library is unloaded afterwards, so the
    next user re-reads ``SOFTHSM2_CONF``."""
    import pkcs11

    with token_environment(token):
        library = pkcs11.lib(str(token.module))
        try:
            with library.get_token(token_label=token.label).open(
                    rw=True, user_pin=token.pin) as session:
                yield session
        finally:
            pkcs11.unload(str(token.module))


@dataclasses.dataclass(frozen=True)
class KeySpec:
    """One key to seed: type, size or curve, usage, and the attributes that plant a weakness.

    ``weaknesses`` names the (control, check) pairs the audit must report for this key's
    objects; an empty tuple marks a clean key.
    """

    label: str
    key_id: bytes
    key_type: str
    size: int | None = None
    curve: str | None = None
    usage: Sequence[str] = ()
    template: dict[str, Any] = dataclasses.field(default_factory=dict)
    imported: bool = False
    public_end_date: dt.date | None = None
    private_end_date: dt.date | None = None
    weaknesses: tuple[tuple[str, str], ...] = ()


def _key(label: str, key_id: int, key_type: str, **fields: Any) -> KeySpec:
    return KeySpec(label=label, key_id=bytes([key_id]), key_type=key_type, **fields)


ENCRYPT = ("encrypt", "decrypt")
SIGN = ("sign", "verify")
WRAP = ("wrap", "unwrap")
SECRET_USAGE = (*ENCRYPT, *SIGN, *WRAP, "derive")

#: Planted weaknesses beside clean keys; the tests and ``cryptoaudit lab`` seed these.
DEMO_KEYS: tuple[KeySpec, ...] = (
    _key("aes-data", 0x01, "AES", size=256, usage=ENCRYPT),
    _key("aes-wrap", 0x02, "AES", size=256, usage=WRAP),
    _key("hmac-sign", 0x03, "GENERIC_SECRET", size=256, usage=SIGN),
    _key("rsa-sign", 0x04, "RSA", size=2048, usage=SIGN),
    _key("ec-sign", 0x05, "EC", curve="secp256r1", usage=SIGN),
    _key("aes-retired", 0x06, "AES", size=128, template={"PRIVATE": False},
         private_end_date=PAST),
    _key("des3-legacy", 0x10, "DES3", usage=ENCRYPT,
         weaknesses=(("CEK-04", "algorithm-allowed"),)),
    _key("rsa-1024", 0x11, "RSA", size=1024, usage=SIGN,
         weaknesses=(("CEK-04", "key-strength"),)),
    _key("aes-extractable", 0x12, "AES", size=256, usage=ENCRYPT,
         template={"EXTRACTABLE": True}, weaknesses=(("CEK-10", "never-extractable"),)),
    _key("aes-not-sensitive", 0x13, "AES", size=256, usage=ENCRYPT,
         template={"SENSITIVE": False}, weaknesses=(("CEK-10", "sensitive"),)),
    _key("aes-imported", 0x14, "AES", size=128, usage=ENCRYPT, imported=True,
         weaknesses=(("CEK-10", "generated-on-token"), ("CEK-10", "never-extractable"),
                     ("CEK-10", "sensitive"))),
    _key("rsa-sign-wrap", 0x15, "RSA", size=2048, usage=SIGN + WRAP,
         weaknesses=(("CEK-11", "single-purpose-usage"),)),
    _key("aes-encrypt-sign", 0x16, "AES", size=256, usage=ENCRYPT + SIGN,
         weaknesses=(("CEK-11", "single-purpose-usage"),)),
    _key("aes-no-login", 0x18, "AES", size=256, usage=ENCRYPT, template={"PRIVATE": False},
         weaknesses=(("CEK-10", "login-required"),)),
    _key("rsa-expired", 0x17, "RSA", size=2048, usage=SIGN, public_end_date=PAST,
         private_end_date=PAST, weaknesses=(("CEK-17", "unusable-after-end-date"),)),
)


def seed(token: LabToken, specs: Sequence[KeySpec] = DEMO_KEYS) -> None:
    """Create every key of ``specs`` on ``token`` (generated there unless ``imported``)."""
    with open_session(token) as session:
        for spec in specs:
            _create(session, spec)


def _create(session: Any, spec: KeySpec) -> None:
    from pkcs11 import Attribute, KeyType

    key_type = KeyType[spec.key_type]
    template = {Attribute[name]: value for name, value in spec.template.items()}
    if spec.imported:
        _import_secret(session, spec, key_type, template)
    elif key_type in (KeyType.RSA, KeyType.EC):
        _generate_pair(session, spec, key_type, template)
    else:
        template.setdefault(Attribute.EXTRACTABLE, False)
        template.setdefault(Attribute.SENSITIVE, True)
        key = session.generate_key(key_type, spec.size, label=spec.label, id=spec.key_id,
                                   store=True, capabilities=_capabilities(spec.usage),
                                   template=template)
        _set_end_date(key, spec.private_end_date)


def _capabilities(usage: Sequence[str]) -> Any:
    from pkcs11 import MechanismFlag

    flags = MechanismFlag(0)
    for name in usage:
        flags |= MechanismFlag[name.upper()]
    return flags


def _generate_pair(session: Any, spec: KeySpec, key_type: Any,
                   template: dict[Any, Any]) -> None:
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_named_curve_parameters

    options = dict(label=spec.label, id=spec.key_id, store=True,
                   capabilities=_capabilities(spec.usage),
                   private_template={Attribute.EXTRACTABLE: False, **template})
    if key_type is KeyType.RSA:
        public, private = session.generate_keypair(key_type, spec.size, **options)
    else:
        if spec.curve is None:
            raise ValueError(f"{spec.label}: an EC key needs a curve")
        parameters = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(spec.curve)},
            local=True)
        public, private = parameters.generate_keypair(**options)
    _set_end_date(public, spec.public_end_date)
    _set_end_date(private, spec.private_end_date)


def _import_secret(session: Any, spec: KeySpec, key_type: Any,
                   template: dict[Any, Any]) -> None:
    """Create a secret key from bytes made here: the token marks it CKA_LOCAL false."""
    from pkcs11 import Attribute, ObjectClass

    flags = {Attribute[name.upper()]: name in spec.usage for name in SECRET_USAGE}
    session.create_object({
        Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: key_type,
        Attribute.VALUE: secrets.token_bytes((spec.size or 128) // 8),
        Attribute.TOKEN: True, Attribute.PRIVATE: True, Attribute.LABEL: spec.label,
        Attribute.ID: spec.key_id, Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False,
        **flags, **template,
    })


def _set_end_date(key: Any, end: dt.date | None) -> None:
    from pkcs11 import Attribute

    if end is not None:
        key[Attribute.END_DATE] = end


def lab_system(token: LabToken, name: str = "lab-hsm", *, risk_tier: str = "high",
               pin_env: str = PIN_ENV) -> dict[str, Any]:
    """The ``[[systems]]`` entry that audits ``token`` (the PIN stays in ``pin_env``)."""
    return {"name": name, "provider": "pkcs11", "risk_tier": risk_tier, "ssrm_owner": "CSC",
            "accountable_owner": "hsm-operations",
            "module": str(token.module), "token_label": token.label, "pin_env": pin_env}


def seed_lab_token(folder: Path, name: str = "lab-hsm",
                   risk_tier: str = "high") -> tuple[dict[str, Any], dict[str, str]]:
    """Create and seed the demonstration token in ``folder``: its ``[[systems]]`` entry, and
    the environment the audit needs (``SOFTHSM2_CONF`` and the lab PIN in ``PIN_ENV``)."""
    token = create_token(folder, label=name)
    seed(token)
    return lab_system(token, name, risk_tier=risk_tier), {**token.env, PIN_ENV: token.pin}
