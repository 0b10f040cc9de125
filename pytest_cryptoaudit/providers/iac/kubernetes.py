"""The ``kubernetes`` provider: manifests (files or folders, multi-document, Helm-rendered,
Kustomize output) — the API server's EncryptionConfiguration, cert-manager Certificates and
their issuers, and Secrets of type ``kubernetes.io/tls`` (certificates parsed, keys never
kept)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ...keyinfo import certificate_fields, describe_public_key, state_of_certificate
from ...model import UNSTATED, SourceLocation
from .. import Discovery, DiscoveryContext, Provider
from .files import YAML_SUFFIXES, display, documents, expand, yaml_loader
from .terraform import IacOptions
from .values import go_duration_days

#: EncryptionConfiguration providers -> the algorithm they write with.
LOCAL_PROVIDERS = {"aescbc": "AES", "aesgcm": "AES", "secretbox": "XSalsa20-Poly1305"}
CERT_MANAGER_ALGORITHMS = {"RSA": "RSA", "ECDSA": "EC", "Ed25519": "Ed25519"}
EC_CURVES = {256: "secp256r1", 384: "secp384r1", 521: "secp521r1"}
DEFAULT_DURATION = "2160h"
ISSUED = ("issued by cert-manager when the manifest is applied; the issued certificate's "
          "audit judges its age")
#: Local providers Kubernetes recommends against, and why.
WEAK_PROVIDERS = {"aescbc": "aescbc: AES-CBC is vulnerable to padding-oracle attacks; "
                            "Kubernetes recommends against it"}
#: What a provider that is acceptable asks of its operators.
PROVIDER_NOTES = {"aesgcm": "aesgcm keys must be rotated every 200,000 writes"}


class KubernetesOptions(IacOptions):
    """Options of ``provider = "kubernetes"`` (see docs/kubernetes.md)."""


class KubernetesProvider(Provider):
    """Audits Kubernetes manifests before they are applied."""

    name = "kubernetes"
    component = "iac"
    Options = KubernetesOptions

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        options: KubernetesOptions = system.options
        attempt = self.new_discovery(system, paths=list(options.paths))
        loader = yaml_loader()
        issuers: dict[str, str] = {}
        certificates: list[tuple[Manifest, dict[str, Any]]] = []
        for pattern in options.paths:
            files = list(expand(context.base_dir, pattern, YAML_SUFFIXES))
            if not files:
                attempt.error(f"path {pattern!r} matched no manifest")
            for path in files:
                for manifest in read_manifests(attempt, path, context.base_dir, loader):
                    route(attempt, manifest, context, issuers, certificates)
                context.progress(system.name, len(attempt.keys), len(attempt.errors))
        for manifest, spec in certificates:
            cert_manager_certificate(attempt, manifest, spec, issuers)
        return attempt


class Manifest:
    """One object of a manifest file, and where it is."""

    def __init__(self, body: Mapping[str, Any], path: str, line: int, end_line: int) -> None:
        self.body = body
        self.kind = str(body.get("kind", ""))
        metadata = body.get("metadata") or {}
        self.name = str(metadata.get("name", "")) if isinstance(metadata, Mapping) else ""
        self.namespace = str(metadata.get("namespace") or "") if isinstance(
            metadata, Mapping) else ""
        address = f"{self.kind}/{self.namespace}/{self.name}" if self.namespace \
            else f"{self.kind}/{self.name or '-'}"
        self.location = SourceLocation(path=path, line=line, end_line=end_line, address=address)

    @property
    def uid(self) -> str:
        return f"kubernetes:{self.location.path}:{self.location.line}:{self.location.address}"


def read_manifests(attempt: Discovery, path: Path, base: Path,
                   loader: type) -> Iterator[Manifest]:
    shown = display(path, base)
    try:
        for body, line, end in documents(path.read_text(encoding="utf-8"), loader):
            if isinstance(body, Mapping) and body.get("kind") == "List":
                for item in body.get("items") or ():
                    if isinstance(item, Mapping):
                        yield Manifest(item, shown, line, end)
            elif isinstance(body, Mapping):
                yield Manifest(body, shown, line, end)
    except Exception as exc:  # one unreadable file is one named error
        attempt.error(f"{shown}: cannot read manifest: {type(exc).__name__}: {exc}",
                      location=SourceLocation(path=shown))


def route(attempt: Discovery, manifest: Manifest, context: DiscoveryContext,
          issuers: dict[str, str], certificates: list[tuple[Manifest, dict[str, Any]]]) -> None:
    spec = manifest.body.get("spec") or {}
    if manifest.kind == "EncryptionConfiguration":
        encryption_configuration(attempt, manifest)
    elif manifest.kind in ("Issuer", "ClusterIssuer") and isinstance(spec, Mapping):
        kinds = [k for k in ("selfSigned", "ca", "acme", "vault", "venafi") if k in spec]
        issuers[f"{manifest.kind}/{manifest.name}"] = kinds[0] if kinds else "other"
    elif manifest.kind == "Certificate" and isinstance(spec, Mapping):
        certificates.append((manifest, dict(spec)))
    elif manifest.kind == "Secret" and manifest.body.get("type") == "kubernetes.io/tls":
        tls_secret(attempt, manifest, context)


# -- EncryptionConfiguration ----------------------------------------------------------------

def encryption_configuration(attempt: Discovery, manifest: Manifest) -> None:
    """One record per resource group: the provider that writes it, and its keys."""
    groups = manifest.body.get("resources")
    if not isinstance(groups, list) or not groups:
        attempt.error(f"{manifest.location.address}: no resources listed", key_uid=manifest.uid,
                      location=manifest.location)
        return
    for group in groups:
        names = ",".join(sorted(str(r) for r in group.get("resources") or ()))
        providers = [p for p in group.get("providers") or () if isinstance(p, Mapping)]
        uid = f"{manifest.uid}#{names}"
        if not providers:
            attempt.error(f"{manifest.location.address} {names}: no providers", key_uid=uid,
                          location=manifest.location)
            continue
        attempt.add_key(uid, "secret-key", location=manifest.location,
                        **_write_provider(providers, names))


def _write_provider(providers: list[Mapping[str, Any]], names: str) -> dict[str, Any]:
    """Record fields for the first (writing) provider; keys are measured, never kept."""
    (kind, settings), = list(providers[0].items())[:1] or [("", {})]
    settings = settings if isinstance(settings, Mapping) else {}
    attributes: dict[str, Any] = {
        "encrypted_resources": names, "write_provider": kind,
        "providers": [next(iter(p), "") for p in providers],
        # The facts the iac controls judge, so that no control tests a provider's name.
        "writes_in_clear": kind == "identity",
        "write_provider_weakness": WEAK_PROVIDERS.get(kind, ""),
        "write_provider_note": PROVIDER_NOTES.get(kind, "")}
    # What a manifest never states is unstated (those checks do not apply here); what it
    # should state and does not is unreadable (those checks error).
    unstated: dict[str, str] = {"created": "a key's age is not in the EncryptionConfiguration"}
    attributes[UNSTATED] = unstated
    fields: dict[str, Any] = {"attributes": attributes, "unreadable": {}}
    if kind == "identity":
        reason = (f"identity writes {names} in clear: there is no key "
                  "(iac-secrets-encrypted-at-rest fails it)")
        unstated.update(algorithm=reason, size=reason)
    elif kind in LOCAL_PROVIDERS:
        keys = [k for k in settings.get("keys") or () if isinstance(k, Mapping)]
        attributes["keys_listed"] = len(keys)
        fields.update(algorithm=LOCAL_PROVIDERS[kind], size=_key_bits(keys[0]) if keys else None)
        if not keys:
            fields["unreadable"] = {"size": f"{kind} lists no key"}
    elif kind == "kms":
        attributes["kms_api_version"] = str(settings.get("apiVersion") or "v1")
        if attributes["kms_api_version"] != "v2":
            attributes["write_provider_weakness"] = (
                f"KMS plugin API {attributes['kms_api_version']} is deprecated; use apiVersion "
                "v2")
        attributes["kms_plugin"] = str(settings.get("name", ""))
        reason = "held by the KMS plugin, outside the manifest: audit that key in its KMS"
        unstated.update(algorithm=reason, size=reason)
    else:
        unknown = f"unknown provider {kind!r}"
        fields["unreadable"] = {"algorithm": unknown, "size": "unknown",
                                "write_provider_weakness": unknown}
    return fields


def _key_bits(key: Mapping[str, Any]) -> int | None:
    try:
        return len(base64.b64decode(str(key.get("secret", "")), validate=True)) * 8
    except (binascii.Error, ValueError):
        return None


# -- cert-manager ---------------------------------------------------------------------------

def cert_manager_certificate(attempt: Discovery, manifest: Manifest, spec: Mapping[str, Any],
                             issuers: Mapping[str, str]) -> None:
    """The private key cert-manager will generate, and how it renews it."""
    key = spec.get("privateKey") or {}
    algorithm = str(key.get("algorithm", "RSA"))
    fields: dict[str, Any] = {"unreadable": {}}
    attributes: dict[str, Any] = {UNSTATED: {"created": ISSUED}, "duration_days": go_duration_days(
        str(spec.get("duration", DEFAULT_DURATION))), "secret_name": spec.get("secretName")}
    if algorithm in CERT_MANAGER_ALGORITHMS:
        size = int(key.get("size") or {"RSA": 2048, "ECDSA": 256, "Ed25519": 256}[algorithm])
        fields.update(algorithm=CERT_MANAGER_ALGORITHMS[algorithm], size=size)
        if algorithm == "ECDSA":
            fields["curve"] = EC_CURVES.get(size)
    else:
        fields["unreadable"]["algorithm"] = f"cert-manager algorithm {algorithm!r} is not known"
    if "rotationPolicy" in key:
        attributes["rotation_policy"] = str(key["rotationPolicy"])
    else:
        fields["unreadable"]["rotation_policy"] = (
            "privateKey.rotationPolicy is not set: its default depends on the cert-manager "
            "version (Never before 1.18, Always since)")
    if "renewBefore" in spec:
        attributes["renew_before_days"] = go_duration_days(str(spec["renewBefore"]))
    issuer = spec.get("issuerRef") or {}
    issuer_key = f"{issuer.get('kind', 'Issuer')}/{issuer.get('name', '')}"
    attributes["issuer"] = issuer_key
    attributes["issuer_type"] = issuers.get(issuer_key, "not in the audited manifests")
    fields["attributes"] = attributes
    attempt.add_key(manifest.uid, "private-key", location=manifest.location, **fields)


# -- TLS Secrets ----------------------------------------------------------------------------

def tls_secret(attempt: Discovery, manifest: Manifest, context: DiscoveryContext) -> None:
    """The certificates of a TLS Secret; its key is parsed only to say what it is."""
    data = manifest.body.get("data") or {}
    text = manifest.body.get("stringData") or {}
    try:
        chain = _secret_bytes(data, text, "tls.crt")
        key = _secret_bytes(data, text, "tls.key")
        certificates = x509.load_pem_x509_certificates(chain)
        private = serialization.load_pem_private_key(key, password=None)
    except (KeyError, ValueError, TypeError, binascii.Error) as exc:
        attempt.error(f"{manifest.location.address}: cannot read the TLS Secret: "
                      f"{type(exc).__name__}", key_uid=manifest.uid, location=manifest.location)
        return
    key_facts = describe_public_key(private.public_key())
    for position, certificate in enumerate(certificates):
        fields = certificate_fields(certificate)
        fields["state"] = state_of_certificate(fields["certificate"], context.now)
        fields["attributes"] = {**fields["attributes"], "chain_position": position,
                                "secret_key_algorithm": key_facts.get("algorithm"),
                                "secret_key_size": key_facts.get("size")}
        uid = manifest.uid if position == 0 else f"{manifest.uid}#{position}"
        attempt.add_key(uid, "certificate", location=manifest.location, **fields)


def _secret_bytes(data: Mapping[str, Any], text: Mapping[str, Any], name: str) -> bytes:
    if name in text:
        return str(text[name]).encode()
    return base64.b64decode(str(data[name]), validate=True)
