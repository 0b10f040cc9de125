"""PKCS#11 tokens (HSMs, smart cards, SoftHSM) through python-pkcs11, imported lazily.

One session per system: load the module, find the token by label or slot, log in with the
PIN from ``pin_env``, and read the attributes of every secret, private and public key
object. Key values are never requested: only the attributes in :data:`REQUESTED` (public
facts such as the modulus and the curve) and the two dates. A module, token or login that
fails is one discovery error naming the system; an object that cannot be read is an error
for that key, and the others are still listed.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Literal

import pydantic

from ..budget import DeadlineOptions
from ..facts import ProtectionLevel
from ..policy import PolicySetting, tiered
from ..references import PKCS11
from . import Discovery, DiscoveryContext, Provider, ProviderOptions
from .pkcs11_facts import token_protection
from .pkcs11_pq import PARAMETER_SETS, key_type_name, lenient_key_types, token_pq_mechanisms
from .pkcs11_records import FLAGS, USAGE, RawObject, assign_uids, key_fields

#: Everything read in one call per object. Never CKA_VALUE or any private component.
REQUESTED = ("LABEL", "ID", "KEY_TYPE", *FLAGS, *USAGE, "VALUE_LEN", "MODULUS_BITS",
             "MODULUS", "EC_PARAMS", "PRIME")
DATES = ("START_DATE", "END_DATE")
OBJECT_CLASSES = ("SECRET_KEY", "PRIVATE_KEY", "PUBLIC_KEY")
PROGRESS_EVERY = 200


class Pkcs11Options(ProviderOptions, DeadlineOptions):
    """``module`` (the PKCS#11 library), ``token_label`` or ``slot``, and ``pin_env``;
    ``protection`` states what protects the token's keys where the slot's CKF_HW_SLOT flag
    does not tell (unset: the flag decides)."""

    module: str
    token_label: str | None = None
    slot: int | None = None
    pin_env: str
    label_prefix: str | None = None
    protection: Literal["hsm", "software"] | None = None

    @pydantic.model_validator(mode="after")
    def _one_token(self) -> Pkcs11Options:
        if (self.token_label is None) == (self.slot is None):
            raise ValueError("set exactly one of token_label or slot")
        return self


class Pkcs11Failure(Exception):
    """A failure to reach the token's keys; the message names the step and the reason."""


class Pkcs11Provider(Provider):
    """Discovers the key objects of one PKCS#11 token."""

    name = "pkcs11"
    component = "hsm"
    Options = Pkcs11Options
    policy_settings = (
        PolicySetting(
            "pkcs11_require_sensitive", tiered(True, True, True, True),
            "Whether secret and private keys on a token must be CKA_SENSITIVE.", PKCS11),
        PolicySetting(
            "pkcs11_require_always_sensitive", tiered(False, False, True, True),
            "Whether secret and private keys must always have been sensitive "
            "(CKA_ALWAYS_SENSITIVE).", PKCS11),
        PolicySetting(
            "pkcs11_require_never_extractable", tiered(False, False, True, True),
            "Whether secret and private keys must never have been extractable "
            "(CKA_EXTRACTABLE false and CKA_NEVER_EXTRACTABLE true).", PKCS11),
        PolicySetting(
            "pkcs11_require_login", tiered(True, True, True, True),
            "Whether secret and private keys that allow any use must be private objects "
            "(CKA_PRIVATE), usable only in a session logged in with the PIN.", PKCS11),
        PolicySetting(
            "pkcs11_require_generated_on_token", tiered(False, False, True, True),
            "Whether secret and private keys must have been generated on the token "
            "(CKA_LOCAL), not imported.", PKCS11),
    )

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        options: Pkcs11Options = system.options
        module = _module_path(options.module, context.base_dir)
        attempt = self.new_discovery(system, module=module, token_label=options.token_label,
                                     slot=options.slot, label_prefix=options.label_prefix)
        pin = os.environ.get(options.pin_env)
        if not pin:
            attempt.error(f"environment variable {options.pin_env} (pin_env) is not set or "
                          "empty: it must hold the token's user PIN")
            return attempt
        try:
            _TokenReader(attempt, module, options, context).run(pin)
        except Pkcs11Failure as exc:
            attempt.error(str(exc))
        return attempt


def _module_path(module: str, base_dir: Path) -> str:
    # A bare file name is left to the dynamic loader's search path.
    path = Path(module).expanduser()
    if "/" in module and not path.is_absolute():
        path = base_dir / path
    return str(path)


def _reason(exc: BaseException) -> str:
    message = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {message}" if message and message != name else name


@dataclasses.dataclass
class _TokenReader:
    attempt: Discovery
    module: str
    options: Pkcs11Options
    context: DiscoveryContext
    #: What protects the token's keys; read from the slot before any key.
    protection: ProtectionLevel = ProtectionLevel.SOFTWARE

    def run(self, pin: str) -> None:
        import pkcs11

        # A module this process had already loaded belongs to someone else: leave it loaded.
        ours = self.module not in getattr(pkcs11, "_loaded", {})
        try:
            library = pkcs11.lib(self.module)
        except pkcs11.PKCS11Error as exc:
            raise Pkcs11Failure(f"cannot load PKCS#11 module {self.module}: "
                                f"{_reason(exc)}") from None
        try:
            token = self._find_token(library)
            self._record_token(library, token)
            with self._login(token, pin) as session:
                self._read_keys(session, token.label)
        finally:
            if ours:  # finalize, so that the next load re-reads the module's configuration
                pkcs11.unload(self.module)

    def _find_token(self, library: Any) -> Any:
        import pkcs11

        try:
            if self.options.slot is not None:
                return self._token_in_slot(library)
            return library.get_token(token_label=self.options.token_label)
        except pkcs11.NoSuchToken:
            raise Pkcs11Failure(f"no token labelled {self.options.token_label!r} in "
                                f"{self.module} (tokens: {_labels(library)})") from None
        except pkcs11.MultipleTokensReturned:
            raise Pkcs11Failure(f"several tokens labelled {self.options.token_label!r} in "
                                f"{self.module}: choose one with slot") from None
        except pkcs11.PKCS11Error as exc:
            raise Pkcs11Failure(f"cannot list the tokens of {self.module} "
                                f"(is the module configured?): {_reason(exc)}") from None

    def _token_in_slot(self, library: Any) -> Any:
        slots = {slot.slot_id: slot for slot in library.get_slots()}
        if self.options.slot not in slots:
            raise Pkcs11Failure(f"no slot {self.options.slot} in {self.module} "
                                f"(slots: {', '.join(map(str, sorted(slots))) or 'none'})")
        return slots[self.options.slot].get_token()

    def _record_token(self, library: Any, token: Any) -> None:
        from pkcs11 import SlotFlag, TokenFlag

        hardware = SlotFlag.HW_SLOT in token.slot.flags
        self.protection, protection_source = token_protection(hardware, self.options.protection)
        facts = {
            "token_label": token.label, "token_serial": bytes(token.serial).decode(
                "ascii", errors="replace").strip(),
            "token_model": token.model, "token_manufacturer": token.manufacturer_id,
            "slot": token.slot.slot_id, "library": library.library_description,
            "library_manufacturer": library.manufacturer_id,
            "token_flags": [f.name for f in TokenFlag if f in token.flags],
            "slot_flags": [f.name for f in SlotFlag if f in token.slot.flags],
            "protection": self.protection.value, "protection_source": protection_source,
        }
        self._add_system_facts(**facts, **token_pq_mechanisms(token.slot))

    def _login(self, token: Any, pin: str) -> Any:
        import pkcs11

        try:
            return token.open(user_pin=pin)
        except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange):
            raise Pkcs11Failure(f"login to token {token.label!r} failed: the PIN in "
                                f"{self.options.pin_env} was rejected") from None
        except pkcs11.PKCS11Error as exc:
            raise Pkcs11Failure(f"login to token {token.label!r} failed: "
                                f"{_reason(exc)}") from None

    def _read_keys(self, session: Any, token_label: str) -> None:
        import pkcs11

        objects: list[RawObject] = []
        lenient_key_types(session)
        try:
            for object_class in OBJECT_CLASSES:
                search = {pkcs11.Attribute.CLASS: pkcs11.ObjectClass[object_class]}
                for handle in session.get_objects(search):
                    objects.append(read_object(handle, object_class))
        except pkcs11.PKCS11Error as exc:  # the objects read so far are still reported
            self.attempt.error(f"listing the keys of token {token_label!r} stopped after "
                               f"{len(objects)} objects: {_reason(exc)}{_gone_hint(exc)}")
        prefix = self.options.label_prefix or ""
        selected = [obj for obj in objects if obj.label.startswith(prefix)]
        self._add_system_facts(objects_listed=len(objects),
                               objects_outside_label_prefix=len(objects) - len(selected))
        self._add_keys(token_label, selected)

    def _add_system_facts(self, **facts: Any) -> None:
        system = self.attempt.system
        self.attempt.system = dataclasses.replace(
            system, attributes={**system.attributes, **facts})

    def _add_keys(self, token_label: str, objects: list[RawObject]) -> None:
        uids = assign_uids(token_label, objects)
        for count, (uid, obj) in enumerate(zip(uids, objects, strict=True), start=1):
            if obj.nothing_read:
                self.attempt.error(f"cannot read key object: {next(iter(obj.unreadable.values()))}",
                                   key_uid=uid)
            else:
                self.attempt.add_key(uid, obj.kind, **key_fields(
                    obj, token_label, self.context.now, protection=self.protection))
            if count % PROGRESS_EVERY == 0:
                self._progress()
        self._progress()

    def _progress(self) -> None:
        self.context.progress(self.attempt.system.name, len(self.attempt.keys),
                              len(self.attempt.errors))


#: Errors that mean the token or its session went away under the audit.
GONE = ("ObjectHandleInvalid", "SessionHandleInvalid", "SessionClosed", "TokenNotPresent",
        "TokenNotRecognised", "DeviceRemoved")


def _gone_hint(exc: BaseException) -> str:
    if type(exc).__name__ in GONE:
        return (" (the token was removed, reinitialised or its session closed during the "
                "audit; the keys not read are not audited)")
    return ""


def _labels(library: Any) -> str:
    try:
        labels = [slot.get_token().label for slot in library.get_slots(token_present=True)]
    except Exception as exc:  # only decorates a message that already reports the failure
        return f"cannot list: {_reason(exc)}"
    return ", ".join(repr(label) for label in labels) or "none"


def read_object(handle: Any, object_class: str) -> RawObject:
    """The requested attributes and dates of one object, one call when the token allows it.

    A batch that fails (a vendor value python-pkcs11 cannot decode, a token error) is
    retried one attribute at a time, so one bad attribute costs only itself.
    """
    from pkcs11 import Attribute, PKCS11Error

    raw = RawObject(object_class=object_class, values={})
    try:
        values = handle.get_attributes([Attribute[name] for name in REQUESTED])
        raw.values.update({Attribute(key).name: value for key, value in values.items()})
    except (PKCS11Error, ValueError):  # retried one by one below, keeping each reason
        for name in REQUESTED:
            _read_one(handle, name, raw)
    for name in DATES:
        _read_date(handle, name, raw)
    if key_type_name(raw.values.get("KEY_TYPE")) in PARAMETER_SETS:  # PKCS#11 3.2 keys
        if "PARAMETER_SET" in Attribute.__members__:
            _read_one(handle, "PARAMETER_SET", raw)
        else:
            raw.unreadable["PARAMETER_SET"] = "this python-pkcs11 cannot read CKA_PARAMETER_SET"
    return raw


def _read_one(handle: Any, name: str, raw: RawObject) -> None:
    from pkcs11 import Attribute, AttributeTypeInvalid, PKCS11Error

    try:
        raw.values[name] = handle[Attribute[name]]
    except AttributeTypeInvalid:
        pass  # the attribute does not exist for this object class or key type
    except (PKCS11Error, ValueError) as exc:
        raw.unreadable[name] = f"CKA_{name} could not be read: {_reason(exc)}"


def _read_date(handle: Any, name: str, raw: RawObject) -> None:
    from pkcs11 import Attribute, AttributeTypeInvalid, PKCS11Error

    try:
        raw.values[name] = handle[Attribute[name]] or None
    except (ValueError, AttributeTypeInvalid):
        raw.values[name] = None  # python-pkcs11 cannot parse an empty (unset) date
    except PKCS11Error as exc:
        # SoftHSM, for one, cannot read dates back from private objects: the date is
        # unknown, which is not a failure to read the key.
        raw.unreadable[name] = f"CKA_{name} could not be read: {_reason(exc)}"
