"""A planted Cloud KMS estate for the loopback stand-in: every weakness the managed-key
controls look for, beside clean keys, each with the outcomes its checks must give.

The estate is data (:class:`PlantedKey`); :func:`build` turns it into the resources the
stand-in serves, in the JSON shapes of the Cloud KMS REST reference. ``cryptoaudit lab``
serves the planted keys and a few hundred everyday ones from a process of its own
(``python -m pytest_cryptoaudit.lab.estate_gcp PORT READY_FILE``).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .gcp_kms import CloudKmsStandIn, Estate, RequestBudget
from .processes import ensure_running, free_port, start_process, wait_until

PROJECT = "cryptoaudit-lab"
PARTNER_PROJECT = "partner-estate"
DOMAIN = "example.com"
#: Key ring -> (project, location); the "shared" ring's own policy makes it public.
RINGS = {"payments": (PROJECT, "europe-west1"), "platform": (PROJECT, "global"),
         "shared": (PROJECT, "us-east1"), "partner": (PARTNER_PROJECT, "europe-west1")}
LOCATIONS = {PROJECT: ["europe-west1", "global", "us-east1"], PARTNER_PROJECT: ["europe-west1"]}
OWNER = {"owner": "payments-team"}
CRITICAL = {**OWNER, "cryptoaudit-risk-tier": "critical"}
APP = f"serviceAccount:app@{PROJECT}.iam.gserviceaccount.com"
ENCRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
ADMIN = "roles/cloudkms.admin"
CLEAN_BINDINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (ENCRYPTER, (APP, f"group:payments@{DOMAIN}")),
    (ADMIN, (f"group:kms-admins@{DOMAIN}",)),
)
RING_BINDINGS: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "payments": (("roles/cloudkms.viewer", (f"group:auditors@{DOMAIN}",)),),
    "shared": (("roles/cloudkms.signerVerifier", ("allUsers",)),),
}
FAIL = "failed"
#: Import jobs of every key ring, by id: how each wraps the material it imports.
IMPORT_JOBS = {"byok-job": "RSA_OAEP_3072_SHA256_AES_256",
               "legacy-sha1-job": "RSA_OAEP_3072_SHA1_AES_256"}
#: The EKM connections of the estate (Cloud External Key Manager over VPC), in the payments
#: ring's location: one whose external key manager answers, one that cannot be reached.
HEALTHY_EKM, BROKEN_EKM = "partner-ekm", "branch-ekm"
EKM_UNREACHABLE = ("The external key manager could not be reached: the TLS handshake with "
                   "ekm.branch.example.com:443 timed out.")
SIGN = "ASYMMETRIC_SIGN"


@dataclasses.dataclass(frozen=True)
class PlantedKey:
    """One crypto key and the outcomes its checks must give (all others pass)."""

    label: str
    expect: Mapping[str, str] = dataclasses.field(default_factory=dict)
    ring: str = "payments"
    purpose: str = "ENCRYPT_DECRYPT"
    algorithm: str = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection: str = "HSM"
    labels: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(OWNER))
    rotation_days: int | None = 90
    next_rotation: bool = True
    age_days: int = 30
    states: tuple[str, ...] = ("ENABLED",)
    imported: bool = False
    import_job: str = "byok-job"
    destroy_days: int = 30
    bindings: tuple[tuple[str, tuple[str, ...]], ...] = CLEAN_BINDINGS
    refuse: tuple[str, ...] = ()  # methods the stand-in refuses for this key (403)
    ekm: str = "partner-ekm"  # the EKM connection of an EXTERNAL_VPC key
    note: str | None = None  # a note some check must add

    @property
    def name(self) -> str:
        project, location = RINGS[self.ring]
        return f"projects/{project}/locations/{location}/keyRings/{self.ring}/cryptoKeys/" \
               f"{self.label}"


def _bind(*pairs: tuple[str, tuple[str, ...]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return (*CLEAN_BINDINGS, *pairs)


ESTATE: tuple[PlantedKey, ...] = (
    PlantedKey("clean-sym"),
    PlantedKey("clean-sign-ec", purpose=SIGN, algorithm="EC_SIGN_P384_SHA384",
               rotation_days=None),
    PlantedKey("clean-rsa-decrypt", purpose="ASYMMETRIC_DECRYPT",
               algorithm="RSA_DECRYPT_OAEP_3072_SHA256", rotation_days=None, age_days=100),
    PlantedKey("clean-mac", purpose="MAC", algorithm="HMAC_SHA256", rotation_days=None),
    PlantedKey("clean-critical", labels=CRITICAL),
    PlantedKey("clean-global", ring="platform",
               labels={**OWNER, "cryptoaudit-ssrm-owner": "csp-csc"}),
    PlantedKey("clean-partner", ring="partner"),
    PlantedKey("clean-service-agent", bindings=_bind(
        (ENCRYPTER, ("serviceAccount:service-123456789@gcp-sa-ekms.iam.gserviceaccount.com",
                     "serviceAccount:service-123456789@gs-project-accounts.iam."
                     "gserviceaccount.com")))),
    PlantedKey("clean-separate-duties", bindings=(
        (ENCRYPTER, (f"user:alice@{DOMAIN}",)),
        (ADMIN, ("group:kms-admins@example.com",)))),
    PlantedKey("clean-imported", labels={**OWNER, "cryptoaudit-risk-tier": "medium"},
               imported=True, rotation_days=None, note="BYOK"),
    PlantedKey("disabled-low", labels={**OWNER, "cryptoaudit-risk-tier": "low"},
               states=("DISABLED",), note="DISABLED"),
    PlantedKey("weak-rotation-off", {"kms-rotation-enabled": FAIL}, rotation_days=None),
    PlantedKey("weak-rotation-400", {"kms-rotation-period": FAIL}, rotation_days=400),
    PlantedKey("weak-no-next-rotation", {"kms-rotation-enabled": FAIL}, next_rotation=False),
    PlantedKey("weak-public", {"kms-policy-not-public": FAIL}, bindings=_bind(
        (ENCRYPTER, ("allUsers",)))),
    PlantedKey("weak-all-authenticated", {"kms-policy-not-public": FAIL}, bindings=_bind(
        ("roles/cloudkms.cryptoKeyDecrypter", ("allAuthenticatedUsers",)))),
    PlantedKey("weak-ring-public", {"kms-policy-not-public": FAIL}, ring="shared",
               purpose=SIGN, algorithm="EC_SIGN_P256_SHA256", rotation_days=None),
    PlantedKey("weak-foreign-member", {"kms-policy-principals": FAIL}, bindings=_bind(
        (ENCRYPTER, ("user:mallory@other-org.example",)))),
    PlantedKey("weak-foreign-sa", {"kms-policy-principals": FAIL}, bindings=_bind(
        (ENCRYPTER, ("serviceAccount:etl@unknown-project.iam.gserviceaccount.com",)))),
    PlantedKey("weak-sod", {"kms-separation-of-duties": FAIL}, bindings=_bind(
        (ADMIN, (f"user:bob@{DOMAIN}",)), (ENCRYPTER, (f"user:bob@{DOMAIN}",)))),
    PlantedKey("weak-software-critical", {"kms-protection-level": FAIL}, labels=CRITICAL,
               protection="SOFTWARE"),
    PlantedKey("weak-imported-critical", {"kms-key-origin": FAIL,
                                          "kms-imported-material-expiry": FAIL},
               labels=CRITICAL, imported=True, rotation_days=None),
    PlantedKey("weak-imported-no-expiry", {"kms-imported-material-expiry": FAIL},
               imported=True, rotation_days=None),
    PlantedKey("weak-hyok-critical", {"kms-key-origin": FAIL}, labels=CRITICAL,
               protection="EXTERNAL_VPC", algorithm="EXTERNAL_SYMMETRIC_ENCRYPTION",
               rotation_days=None),
    PlantedKey("clean-hyok", protection="EXTERNAL_VPC",
               algorithm="EXTERNAL_SYMMETRIC_ENCRYPTION", rotation_days=None, note="custody"),
    PlantedKey("weak-ekm-unreachable", {"kms-key-store-connected": FAIL},
               protection="EXTERNAL_VPC", algorithm="EXTERNAL_SYMMETRIC_ENCRYPTION",
               rotation_days=None, ekm=BROKEN_EKM),
    PlantedKey("weak-destroy-scheduled", {"kms-not-pending-deletion": FAIL},
               states=("DESTROY_SCHEDULED",)),
    PlantedKey("weak-disabled", {"kms-key-enabled": FAIL}, states=("DISABLED",)),
    PlantedKey("weak-short-destroy-delay", {"kms-destroy-delay": FAIL}, destroy_days=1),
    PlantedKey("weak-import-sha1", {"kms-import-wrapping": FAIL,
                                    "kms-imported-material-expiry": FAIL},
               imported=True, rotation_days=None, import_job="legacy-sha1-job"),
    PlantedKey("weak-pending-import", {"kms-key-material-imported": FAIL}, imported=True,
               states=("PENDING_IMPORT",), rotation_days=None),
    PlantedKey("weak-old-rsa", {"key-age": FAIL}, purpose=SIGN,
               algorithm="RSA_SIGN_PSS_3072_SHA256", rotation_days=None, age_days=800),
    PlantedKey("weak-rsa2048-critical", {"key-strength": FAIL}, purpose=SIGN,
               algorithm="RSA_SIGN_PKCS1_2048_SHA256", rotation_days=None, labels=CRITICAL),
    PlantedKey("denied-iam", {check: "error" for check in (
        "kms-policy-not-public", "kms-policy-principals", "kms-grantees",
        "kms-separation-of-duties")}, refuse=("GetIamPolicy",)),
    PlantedKey("denied-versions", {"discovery-complete": "error"},
               refuse=("ListCryptoKeyVersions",)),
)

#: The lab's policy: HSM (or an external key manager) at tier critical.
LAB_POLICY: Mapping[str, Any] = {
    "managed_key_allowed_protection": {"critical": ["hsm", "external"]}}


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _duration(days: int) -> str:
    return f"{days * 86400}s"


def _versions(key: PlantedKey, now: datetime) -> list[dict[str, Any]]:
    created = now - timedelta(days=key.age_days)
    versions = []
    for number, state in enumerate(key.states, start=1):
        version: dict[str, Any] = {
            "name": f"{key.name}/cryptoKeyVersions/{number}", "state": state,
            "protectionLevel": key.protection, "algorithm": key.algorithm,
            "createTime": _time(created)}
        if state != "PENDING_IMPORT":
            version["generateTime"] = _time(created)
        if key.imported:
            ring = key.name.split("/cryptoKeys/")[0]
            version.update(importJob=f"{ring}/importJobs/{key.import_job}")
            if state != "PENDING_IMPORT":
                version["importTime"] = _time(created)
        if state == "DESTROY_SCHEDULED":
            version["destroyTime"] = _time(now + timedelta(days=key.destroy_days))
        versions.append(version)
    return versions


def crypto_key(key: PlantedKey, now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``CryptoKey`` resource and its ``CryptoKeyVersion`` resources."""
    versions = _versions(key, now)
    resource: dict[str, Any] = {
        "name": key.name, "purpose": key.purpose,
        "createTime": _time(now - timedelta(days=key.age_days)),
        "versionTemplate": {"protectionLevel": key.protection, "algorithm": key.algorithm},
        "labels": dict(key.labels), "importOnly": key.imported,
        "destroyScheduledDuration": _duration(key.destroy_days),
    }
    if key.purpose == "ENCRYPT_DECRYPT" and not key.imported:
        resource["primary"] = versions[0]
    if key.rotation_days is not None:
        resource["rotationPeriod"] = _duration(key.rotation_days)
        if key.next_rotation:
            resource["nextRotationTime"] = _time(now + timedelta(days=key.rotation_days // 3))
    if key.protection == "EXTERNAL_VPC":
        resource["cryptoKeyBackend"] = ekm_name(key.ring, key.ekm)
    return resource, versions


def ekm_name(ring: str, connection: str) -> str:
    project, location = RINGS[ring]
    return f"projects/{project}/locations/{location}/ekmConnections/{connection}"


def ekm_connection(name: str, host: str, now: datetime) -> dict[str, Any]:
    """An ``EkmConnection`` resource (one service resolver, Cloud KMS key management)."""
    project = name.split("/")[1]
    return {"name": name, "createTime": _time(now - timedelta(days=200)),
            "serviceResolvers": [{
                "serviceDirectoryService": f"projects/{project}/locations/europe-west1/"
                                           f"namespaces/ekm/services/{host.split('.')[1]}",
                "hostname": host,
                "serverCertificates": [{"rawDer": "", "parsed": True,
                                        "issuer": "CN=EKM CA", "subject": f"CN={host}",
                                        "subjectAlternativeDnsNames": [host]}]}],
            "etag": "BwXhqDz1Wq0=", "keyManagementMode": "CLOUD_KMS",
            "cryptoSpacePath": f"v0/longlived/{host.split('.')[1]}-space"}


def _policy(bindings: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, Any]:
    return {"version": 1, "etag": "BwXhqDz1Wq0=",
            "bindings": [{"role": role, "members": list(members)} for role, members in bindings]}


def build(estate: tuple[PlantedKey, ...] = ESTATE, now: datetime | None = None) -> Estate:
    """The stand-in's resources for the planted estate."""
    now = now or datetime.now(UTC)
    served = Estate(locations={p: list(locations) for p, locations in LOCATIONS.items()})
    for ring, (project, location) in RINGS.items():
        name = f"projects/{project}/locations/{location}/keyRings/{ring}"
        served.key_rings[name] = {"name": name, "createTime": _time(now - timedelta(days=900))}
        served.policies[name] = _policy(RING_BINDINGS.get(ring, ()))
        for job, method in IMPORT_JOBS.items():
            served.import_jobs[f"{name}/importJobs/{job}"] = {
                "name": f"{name}/importJobs/{job}", "importMethod": method,
                "protectionLevel": "HSM", "state": "EXPIRED",
                "createTime": _time(now - timedelta(days=60)),
                "expireTime": _time(now - timedelta(days=57))}
    for connection, host in ((HEALTHY_EKM, "ekm.partner.example.com"),
                             (BROKEN_EKM, "ekm.branch.example.com")):
        name = ekm_name("payments", connection)
        served.ekm_connections[name] = ekm_connection(name, host, now)
    served.ekm_unreachable[ekm_name("payments", BROKEN_EKM)] = EKM_UNREACHABLE
    for key in estate:
        resource, versions = crypto_key(key, now)
        served.crypto_keys[key.name] = resource
        served.versions.update((version["name"], version) for version in versions)
        served.policies[key.name] = _policy(key.bindings)
        for method in key.refuse:
            served.refusals[(method, key.name)] = 403
    return served


def system(url: str, **options: Any) -> dict[str, Any]:
    """The configured system that audits the estate through the stand-in."""
    return {"name": "gcp-prod", "provider": "gcp-kms", "risk_tier": "high",
            "ssrm_owner": "CSC", "projects": [PROJECT, PARTNER_PROJECT], "locations": "all",
            "credentials": "anonymous", "api_endpoint": url,
            "allowed_member_domains": [DOMAIN], "backoff_initial": 0.05,
            "request_budget": False, **options}


def config_toml(url: str, **options: Any) -> str:
    """A cryptoaudit.toml auditing the estate."""
    import tomli_w

    from . import reviewed_policy

    policy = {**LAB_POLICY, **reviewed_policy()}
    return tomli_w.dumps({"systems": [system(url, **options)], "policy": policy})


_SERVICES = ("billing", "search", "identity", "ledger", "analytics", "mobile", "backup")
_KINDS = (("ENCRYPT_DECRYPT", "GOOGLE_SYMMETRIC_ENCRYPTION", "HSM"),
          ("ENCRYPT_DECRYPT", "GOOGLE_SYMMETRIC_ENCRYPTION", "SOFTWARE"),
          (SIGN, "EC_SIGN_P256_SHA256", "HSM"),
          (SIGN, "RSA_SIGN_PSS_3072_SHA256", "SOFTWARE"),
          ("MAC", "HMAC_SHA256", "HSM"))


def _background_key(index: int) -> PlantedKey:
    """One key of a company's everyday estate; one in seven carries a realistic weakness."""
    service = _SERVICES[index % len(_SERVICES)]
    purpose, algorithm, protection = _KINDS[index % len(_KINDS)]
    labels = {"owner": f"{service}-team", "service": service,
              "cryptoaudit-risk-tier": ("low", "medium", "high")[index % 3]}
    ring = ("payments", "platform")[index % 2]
    rotation = 90 if purpose == "ENCRYPT_DECRYPT" else None
    if index % 7 == 3 and rotation:
        rotation = None  # rotation switched off
    age = 900 if index % 7 == 5 else 20 + index % 200  # a forgotten old key
    return PlantedKey(f"{service}-{algorithm.split('_')[0].lower()}-{index:03d}", ring=ring,
                      purpose=purpose, algorithm=algorithm, protection=protection,
                      labels=labels, rotation_days=rotation, age_days=age)


def lab_estate(background_keys: int = 150) -> tuple[PlantedKey, ...]:
    """The planted estate plus everyday keys in two locations, for the lab."""
    return ESTATE + tuple(_background_key(i) for i in range(background_keys))


#: The lab's stand-in allows 6,000 reads per minute per project, and its system uses 50 a
#: second of them (real projects: 300 a minute, and the default ``qps`` of 2.5).
LAB_QUOTA_PER_MINUTE = 6000
LAB_QPS = 50.0


def serve(port: int, ready_file: Path) -> None:
    """Serve the lab estate on ``port`` until terminated; ``ready_file`` says when."""
    standin = CloudKmsStandIn(build(lab_estate()), port=port,
                              budget=RequestBudget(LAB_QUOTA_PER_MINUTE, window=60.0))
    keys = {key.label: key.name for key in lab_estate()}
    partial = ready_file.with_suffix(".tmp")
    partial.write_text(json.dumps({"url": standin.url, "keys": keys}))
    partial.replace(ready_file)  # whole or absent: the lab never reads half a file
    threading.Event().wait()


def start_gcp_estate(services_dir: Path, record_pid: Callable[[int], None]
                     ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Start the stand-in with the lab estate in its own process; return its config system
    (anonymous credentials: no environment is needed). Its policy is :data:`LAB_POLICY`."""
    folder = services_dir / "gcp"
    folder.mkdir(parents=True, exist_ok=True)
    ready, log = folder / "estate.json", folder / "standin.log"
    process = start_process([sys.executable, "-m", __name__, str(free_port()), str(ready)],
                            log)
    record_pid(process.pid)

    def serving() -> bool:
        ensure_running(process, "Cloud KMS stand-in", log)
        return ready.exists()

    wait_until(serving, "Cloud KMS stand-in", timeout=60)
    url = json.loads(ready.read_text())["url"]
    return [system(url, request_budget=True, qps=LAB_QPS)], {}


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
