"""A dated post-quantum verdict per key, certificate or endpoint key exchange.

The verdict says whether an asset is quantum-vulnerable (Shor breaks it), quantum-resistant
or hybrid, and, for a vulnerable one, the days from which the policy's roadmap deprecates and
disallows it. Controls judge the verdict against the clock; reports carry it as data.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import date
from typing import Any

from .model import KeyKind, KeyRecord, RiskTier
from .policy import Policy
from .pq_roadmaps import BY_CNSA_CATEGORY, BY_STRENGTH, BY_TIER, Dates, Roadmap, roadmap


class PqStatus(enum.StrEnum):
    VULNERABLE = "quantum-vulnerable"
    RESISTANT = "quantum-resistant"
    HYBRID = "hybrid"


class Purpose(enum.StrEnum):
    SIGNING = "signing"
    ENCRYPTION = "encryption"  # encryption and key establishment: harvest now, decrypt later


#: Public-key families that Shor's algorithm breaks.
SHOR_BROKEN = {"RSA", "DSA", "DH", "EC", "ECDSA", "ECDH", "EDDSA", "ED25519", "ED448",
               "X25519", "X448", "SECP256R1", "SECP384R1", "SECP521R1", "FFDHE", "SM2"}
PQ_PREFIXES = ("ML-KEM", "MLKEM", "ML-DSA", "MLDSA", "SLH-DSA", "SLHDSA", "LMS", "HSS",
               "XMSS")
#: Ciphers broken or disallowed without any quantum computer.
LEGACY_CIPHERS = {"DES", "DES3", "RC2", "RC4", "BLOWFISH"}
#: Symmetric families; Grover's algorithm halves their strength. The Salsa20 family
#: (libsodium's and Kubernetes' secretbox, XSalsa20-Poly1305) and XChaCha20 take 256-bit keys.
SYMMETRIC = {"AES", "HMAC", "CHACHA20", "XCHACHA20", "SALSA20", "XSALSA20", "CAMELLIA", "SM4",
             "SHA", *LEGACY_CIPHERS}
SIGNING_ONLY = {"DSA", "ECDSA", "EDDSA", "ED25519", "ED448"}
AGREEMENT_ONLY = {"DH", "ECDH", "X25519", "X448", "FFDHE"}
#: What to plan instead, per purpose (NIST FIPS 203/204; hybrids per draft-ietf-tls-ecdhe-mlkem).
REPLACEMENT = {Purpose.SIGNING: "ML-DSA-65", Purpose.ENCRYPTION: "ML-KEM-768 hybrid"}
#: The key tag that places an asset in a CNSA 2.0 category.
CNSA_TAG = "cnsa-category"


@dataclasses.dataclass(frozen=True)
class PqVerdict:
    """The post-quantum standing of one asset under one roadmap; dates are None unless
    the asset is quantum-vulnerable."""

    status: PqStatus
    algorithm: str
    purpose: Purpose
    roadmap: str
    category: str | None = None
    deprecated: date | None = None
    disallowed: date | None = None
    replacement: str | None = None
    note: str = ""

    def days_left(self, today: date) -> int | None:
        """Days until the disallowed date (negative once it has passed)."""
        return (self.disallowed - today).days if self.disallowed else None

    def as_dict(self, today: date) -> dict[str, Any]:
        return {"status": self.status.value, "algorithm": self.algorithm,
                "purpose": self.purpose.value, "roadmap": self.roadmap,
                "category": self.category,
                "deprecated": self.deprecated.isoformat() if self.deprecated else None,
                "disallowed": self.disallowed.isoformat() if self.disallowed else None,
                "days_left": self.days_left(today), "replacement": self.replacement,
                "note": self.note}


def family(algorithm: str) -> str:
    return algorithm.upper().replace("_", "-").split("-")[0]


def is_hybrid(name: str) -> bool:
    """A named group or algorithm that combines a classical and a post-quantum part."""
    upper = name.upper().replace("_", "").replace("-", "")
    pq = any(p in upper for p in ("MLKEM", "KYBER", "SNTRUP"))
    classical = any(c in upper for c in ("X25519", "X448", "SECP", "P256", "P384"))
    return pq and classical


def status_of(algorithm: str, size: int | None, road: Roadmap) -> tuple[PqStatus, str]:
    """The status of an algorithm and a note on why (for symmetric keys)."""
    upper = algorithm.upper()
    if is_hybrid(algorithm):
        return PqStatus.HYBRID, ""
    if upper.replace("_", "-").startswith(PQ_PREFIXES) or "KYBER" in upper:
        return PqStatus.RESISTANT, ""
    name = family(algorithm)
    if name in SHOR_BROKEN:
        return PqStatus.VULNERABLE, ""
    if name in SYMMETRIC:
        return _symmetric_status(name, size, road)
    raise ValueError(f"algorithm {algorithm!r} has no post-quantum classification")


def _symmetric_status(name: str, size: int | None, road: Roadmap) -> tuple[PqStatus, str]:
    if name in LEGACY_CIPHERS:
        return PqStatus.VULNERABLE, f"{name} is weak even without a quantum computer"
    if size is None:
        raise ValueError(f"{name} key without a size: its post-quantum strength is unknown")
    if size < 128:
        return PqStatus.VULNERABLE, f"{name}-{size} is weak even before Grover's algorithm"
    if size < 192 and not road.aes128_resistant:
        return PqStatus.VULNERABLE, f"{road.title} requires 256-bit symmetric keys"
    note = "Grover's algorithm leaves 64-bit strength" if size < 192 else ""
    return PqStatus.RESISTANT, note


def purpose_of(key: KeyRecord) -> Purpose:
    """Signing keys are judged on their own validity; everything else may protect stored
    or recorded data, so it is judged as encryption (the stricter case) unless it signs."""
    name = family(key.algorithm or "")
    if key.kind is KeyKind.CERTIFICATE or name in SIGNING_ONLY:
        return Purpose.SIGNING
    if name in AGREEMENT_ONLY:
        return Purpose.ENCRYPTION
    usage = " ".join(key.usage).lower()
    signs = "sign" in usage or "verify" in usage
    encrypts = any(w in usage for w in ("encrypt", "decrypt", "wrap", "agree", "derive"))
    return Purpose.SIGNING if signs and not encrypts else Purpose.ENCRYPTION


def category_of(road: Roadmap, strength_bits: int | None, tier: RiskTier,
                tags: Any, policy: Policy) -> str:
    if road.keyed_by == BY_STRENGTH:
        return "112" if strength_bits is not None and strength_bits < 128 else "128+"
    if road.keyed_by == BY_CNSA_CATEGORY:
        category = str(tags.get(CNSA_TAG) or policy["pq_cnsa_category"])
        if category not in road.categories:
            raise ValueError(f"unknown CNSA 2.0 category {category!r} (known: "
                             f"{', '.join(sorted(road.categories))})")
        return category
    if road.keyed_by == BY_TIER:
        return tier.value
    return next(iter(road.categories))


def pinned(policy: Policy, dates: Dates) -> Dates:
    """The roadmap's dates with the policy's pinned dates in their place."""
    pins = policy["pq_pinned_dates"]
    deprecated = date.fromisoformat(pins["deprecated"]) if pins["deprecated"] else dates.deprecated
    disallowed = date.fromisoformat(pins["disallowed"]) if pins["disallowed"] else dates.disallowed
    return Dates(deprecated, disallowed)


def classical_strength(algorithm: str, size: int | None) -> int | None:
    """Classical security bits (NIST SP 800-57 Part 1 Rev 5, Table 2) of a public key."""
    name = family(algorithm)
    if size is None:
        return 128 if name in ("ED25519", "X25519") else None
    if name in ("RSA", "DSA", "DH", "FFDHE"):
        return 112 if size < 3072 else 128
    return size // 2


def judge(algorithm: str, size: int | None, purpose: Purpose, tier: RiskTier,
          tags: Any, policy: Policy) -> PqVerdict:
    """The verdict of an algorithm of ``size`` bits used for ``purpose`` at ``tier``."""
    road = roadmap(policy["pq_roadmap"])
    status, note = status_of(algorithm, size, road)
    if status is not PqStatus.VULNERABLE:
        return PqVerdict(status, algorithm, purpose, road.name, note=note)
    category = category_of(road, classical_strength(algorithm, size), tier, tags, policy)
    dates = pinned(policy, road.dates_for(category))
    return PqVerdict(status, algorithm, purpose, road.name, category, dates.deprecated,
                     dates.disallowed, REPLACEMENT[purpose], note)


def verdict_for_key(key: KeyRecord, policy: Policy) -> PqVerdict:
    """The verdict of a key or of a certificate's public key."""
    if key.algorithm is None:
        raise ValueError(f"{key.uid}: algorithm not reported")
    size = key.size
    if family(key.algorithm) == "EC" and key.curve is None and size is None:
        raise ValueError(f"{key.uid}: elliptic-curve key without a size or curve")
    return judge(key.algorithm, size, purpose_of(key), key.risk_tier, key.tags, policy)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def last_safe_date(verdict: PqVerdict, tier: RiskTier, policy: Policy,
                   valid_until: date | None) -> date | None:
    """Mosca's inequality: the last day a migration can start and still finish before the
    disallowed date, less, for encryption, the time the data must stay secret. A signing
    key is judged on its own validity: one that expires before the disallowed date is safe."""
    if verdict.disallowed is None:
        return None
    migration = policy.for_tier("pq_migration_years", tier)
    if verdict.purpose is Purpose.SIGNING:
        if valid_until is not None and valid_until < verdict.disallowed:
            return None
        return _years_before(verdict.disallowed, migration)
    shelf_life = policy.for_tier("pq_data_shelf_life_years", tier)
    return _years_before(verdict.disallowed, migration + shelf_life)


def evidence_entry(key: KeyRecord, policy: Policy, today: date) -> dict[str, Any]:
    """The verdict as the JSON evidence carries it on each key; a key that cannot be judged
    carries the reason instead, so the inventory never lists it as clean."""
    try:
        entry = verdict_for_key(key, policy).as_dict(today)
    except ValueError as exc:
        entry = {"status": "unknown", "error": str(exc)}
    return {**EMPTY_ENTRY, **entry}


#: Every field of an evidence entry, so that each key's entry has the same shape.
EMPTY_ENTRY: dict[str, Any] = dict.fromkeys(
    ("algorithm", "purpose", "roadmap", "category", "deprecated", "disallowed", "days_left",
     "replacement", "note", "error"))


#: Classical TLS groups as (algorithm, size) for the roadmaps' strength categories.
CLASSICAL_GROUPS = {"x25519": ("X25519", 256), "x448": ("X448", 448),
                    "secp256r1": ("ECDH", 256), "secp384r1": ("ECDH", 384),
                    "secp521r1": ("ECDH", 521), "ffdhe2048": ("DH", 2048),
                    "ffdhe3072": ("DH", 3072), "ffdhe4096": ("DH", 4096)}


#: Classical SSH key exchange methods (RFC 4253, 4419, 5656, 8268, 8731) the same way;
#: group exchange is taken at OpenSSH's smallest modulus (2048 bits).
CLASSICAL_SSH_KEX = {
    "curve25519-sha256": ("X25519", 256), "curve25519-sha256@libssh.org": ("X25519", 256),
    "curve448-sha512": ("X448", 448), "ecdh-sha2-nistp256": ("ECDH", 256),
    "ecdh-sha2-nistp384": ("ECDH", 384), "ecdh-sha2-nistp521": ("ECDH", 521),
    "diffie-hellman-group1-sha1": ("DH", 1024), "diffie-hellman-group14-sha1": ("DH", 2048),
    "diffie-hellman-group14-sha256": ("DH", 2048),
    "diffie-hellman-group16-sha512": ("DH", 4096),
    "diffie-hellman-group18-sha512": ("DH", 8192),
    "diffie-hellman-group-exchange-sha1": ("DH", 2048),
    "diffie-hellman-group-exchange-sha256": ("DH", 2048),
}
_CLASSICAL_EXCHANGES = {**CLASSICAL_GROUPS, **CLASSICAL_SSH_KEX}


def verdict_for_group(group: str | None, tier: RiskTier, policy: Policy) -> PqVerdict:
    """The verdict of the key exchange an endpoint negotiates: a TLS group or an SSH kex
    method (``None``: no TLS 1.3 group, so a classical exchange of unknown strength)."""
    if group is not None and group not in _CLASSICAL_EXCHANGES:
        return judge(group, None, Purpose.ENCRYPTION, tier, {}, policy)
    algorithm, size = _CLASSICAL_EXCHANGES.get(group or "", ("ECDH", None))
    return judge(algorithm, size, Purpose.ENCRYPTION, tier, {}, policy)
