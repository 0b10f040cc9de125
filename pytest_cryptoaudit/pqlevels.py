"""NIST post-quantum security categories (1-5) per algorithm, for the CycloneDX CBOM.

Category 1 is as hard to break as AES-128 key search, 2 as SHA-256 collisions, 3 as AES-192,
4 as SHA-384 collisions, 5 as AES-256 (NIST PQC call for proposals, 4.A.5; FIPS 203/204/205).
Anything Shor's algorithm breaks is category 0.
"""

from __future__ import annotations

import re

from .pqverdict import LEGACY_CIPHERS, SHOR_BROKEN, SYMMETRIC, family, is_hybrid

#: Parameter set (from the name, else the size) -> category, per post-quantum family.
PQ_LEVELS: dict[str, dict[int, int]] = {
    "ML-KEM": {512: 1, 768: 3, 1024: 5, 128: 1, 192: 3, 256: 5},
    "ML-DSA": {44: 2, 65: 3, 87: 5, 128: 2, 192: 3, 256: 5},
    "SLH-DSA": {128: 1, 192: 3, 256: 5},
}
#: Substrings of signature algorithm names (``sha256WithRSAEncryption``) that Shor breaks.
CLASSICAL_SIGNATURES = ("RSA", "ECDSA", "DSA", "ED25519", "ED448", "SM2")


def _parameter(name: str, size: int | None) -> int | None:
    digits = re.findall(r"\d+", name)
    return int(digits[-1]) if digits else size


def _post_quantum(upper: str, size: int | None) -> int | None:
    for prefix, levels in PQ_LEVELS.items():
        if upper.startswith(prefix) or upper.startswith(prefix.replace("-", "")):
            return levels.get(_parameter(upper, size) or 0)
    if upper.startswith(("LMS", "HSS", "XMSS")):
        return 5 if "256" in upper or size in (None, 256) else 3
    return None


def _symmetric(name: str, size: int | None) -> int | None:
    if name in LEGACY_CIPHERS:
        return 0
    if size is None:
        return None
    return next((level for bits, level in ((256, 5), (192, 3), (128, 1)) if size >= bits), 0)


def nist_quantum_level(algorithm: str, size: int | None) -> int | None:
    """The NIST category of an algorithm, or None when it cannot be classified."""
    upper = algorithm.upper().replace("_", "-")
    if is_hybrid(algorithm):
        return 5 if "1024" in upper else 3 if "768" in upper else 1
    level = _post_quantum(upper, size)
    if level is not None:
        return level
    name = family(algorithm)
    if name in SYMMETRIC:
        return _symmetric(name, size)
    if name in SHOR_BROKEN or any(s in upper for s in CLASSICAL_SIGNATURES):
        return 0
    return None
