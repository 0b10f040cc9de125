"""The post-quantum part of the lab: keys either side of the roadmaps' dates, and SSH servers.

``pq-archive`` (tier critical, where the lab's policy judges the protection horizon:
harvest now, decrypt later) holds:

* ``backup-wrap.pem``: an RSA-3072 key that wraps backups; data kept 10 years must be safe
  from 2036 on, so its last safe day (2036 - 3 years of migration - 10 years of shelf life)
  has passed: **fails** today.
* ``partner-exchange.pub``: an RSA-2048 encryption key (112-bit: also deprecated from 2031
  under NIST IR 8547): **fails** today for the same reason.
* ``firmware-root.pem``: an RSA-3072 CA valid 12 years, past the disallowed date; a signing
  key is judged on its own validity: **passes with a note** until 2033-01-01.
* ``release-signing.pem``: an ECDSA P-256 certificate that expires long before 2036:
  **passes with a note** (nothing to migrate before it expires).
* ``ml-dsa-65.pub`` and ``ml-kem-768.der``: FIPS 204/203 public keys the parser does not know
  yet, recorded by OID: quantum-resistant, **pass**.

The SSH part starts Debian's sshd twice (see :mod:`.ssh_server`): ``bastion-pq`` offers the
hybrid sntrup761x25519 (mlkem768x25519 from OpenSSH 9.9) and ``bastion-classical`` only
X25519/P-256.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..pqoids import PQ_OIDS
from .keygen import cert_pem, certificate, ec_key, private_pem, public_pem, rsa_key, write

#: The lab policy's opt-in: critical systems are judged on their protection horizon.
PQ_LAB_POLICY: Mapping[str, Any] = {"pq_judge_horizon": {"critical": True}}
_OID_OF = {parameter_set: oid for oid, (_family, _size, parameter_set) in PQ_OIDS.items()}
#: Public key sizes in bytes (FIPS 204 Table 2, FIPS 203 Table 3).
_PUBLIC_BYTES = {"ML-DSA-65": 1952, "ML-KEM-768": 1184}


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(arc) for arc in dotted.split("."))
    body = bytes([40 * first + second])
    for arc in rest:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.insert(0, 0x80 | (arc & 0x7F))
        body += bytes(chunk)
    return _der(0x06, body)


def pq_public_key(parameter_set: str) -> bytes:
    """A DER SubjectPublicKeyInfo of ``parameter_set`` (a zero key: the inventory reads only
    its AlgorithmIdentifier, and no lab check uses the key)."""
    algorithm = _der(0x30, _oid(_OID_OF[parameter_set]))  # parameters absent (FIPS 203/204)
    key = _der(0x03, b"\x00" + bytes(_PUBLIC_BYTES[parameter_set]))
    return _der(0x30, algorithm + key)


def _pem(label: str, der: bytes) -> bytes:
    import base64

    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = b"\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return b"-----BEGIN %b-----\n%b\n-----END %b-----\n" % (label.encode(), lines,
                                                          label.encode())


def seed_pq_files(root: Path, passphrase: bytes, password_env: str) -> dict[str, Any]:
    """Write the ``pq-archive`` keys under ``root`` and return its system."""
    folder = root / "pq-archive"
    write(folder / "backup-wrap.pem", private_pem(rsa_key(3072), passphrase))
    write(folder / "partner-exchange.pub", public_pem(rsa_key(2048)))
    ca = rsa_key(3072)
    write(folder / "firmware-root.pem", cert_pem(certificate(
        ca, subject="firmware-root.example.test", days_valid=12 * 365, is_ca=True,
        key_usage=("key_cert_sign", "crl_sign"))))
    write(folder / "release-signing.pem", cert_pem(certificate(
        ec_key(), subject="release.example.test", days_valid=365)))
    write(folder / "ml-dsa-65.pub", _pem("PUBLIC KEY", pq_public_key("ML-DSA-65")))
    write(folder / "ml-kem-768.der", pq_public_key("ML-KEM-768"))
    return {"name": "pq-archive", "provider": "files", "risk_tier": "critical",
            "ssrm_owner": "CSC", "accountable_owner": "crypto-team",
            "paths": [f"{root.name}/pq-archive"], "password_env": password_env}


#: Lab SSH systems: profile -> (system name, tier).
SSH_SYSTEMS = {"pq": ("bastion-pq", "high"), "classical": ("bastion-classical", "medium")}


def start_ssh_estate(record_pid: Callable[[int], None],
                     record_path: Callable[[Path], None]) -> list[dict[str, Any]]:
    """Start the two lab sshd servers, recording each pid and private folder as soon as it
    runs; return their ``[[systems]]`` entries."""
    from .ssh_server import start_ssh_server

    systems = []
    for profile, (name, tier) in SSH_SYSTEMS.items():
        server = start_ssh_server(profile)
        record_pid(server.pid)
        record_path(server.folder)
        systems.append({"name": name, "provider": "ssh", "risk_tier": tier,
                        "ssrm_owner": "CSC", "accountable_owner": "platform-team",
                        "endpoints": [server.endpoint]})
    return systems
