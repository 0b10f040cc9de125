"""CycloneDX 1.6 cryptographic bill of materials (``--cryptoaudit-cbom PATH``).

Built from the inventory in the JSON evidence with cyclonedx-python-lib (the ``cbom``
extra). Keys become ``related-crypto-material`` components (type, state, size, dates,
format, what secures them, a reference to their algorithm); certificates become
``certificate`` components that reference their signature algorithm and a public-key
component; each distinct algorithm (family, size, curve) becomes one ``algorithm``
component with its classical and NIST post-quantum security levels (0: Shor breaks it);
each protocol version a TLS endpoint accepts becomes a ``protocol`` component with its
cipher suites and the certificates the endpoint presents; each crypto library a host or image
runs becomes a ``library`` component (name, version, where found, image layer). The
``value`` of related crypto material is never set: no key material.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ..evidence_model import Endpoint, Evidence, Key, Library
from ..pqlevels import nist_quantum_level

#: Algorithm family -> (CycloneDX primitive, OID of the key algorithm).
ALGORITHMS: Mapping[str, tuple[str, str | None]] = {
    "RSA": ("pke", "1.2.840.113549.1.1.1"),
    "EC": ("signature", "1.2.840.10045.2.1"),
    "DSA": ("signature", "1.2.840.10040.4.1"),
    "DH": ("key-agree", "1.2.840.113549.1.3.1"),
    "Ed25519": ("signature", "1.3.101.112"),
    "Ed448": ("signature", "1.3.101.113"),
    "X25519": ("key-agree", "1.3.101.110"),
    "X448": ("key-agree", "1.3.101.111"),
    "AES": ("block-cipher", "2.16.840.1.101.3.4.1"),
    "DES": ("block-cipher", "1.3.14.3.2.7"),
    "DES3": ("block-cipher", "1.2.840.113549.3.7"),
    "ChaCha20": ("stream-cipher", None),
    "HMAC": ("mac", None),
}
#: Provider states, normalized (lower case, letters only) -> CycloneDX key state (CEK-14..19).
STATES = {
    "active": "active", "enabled": "active", "preactivation": "pre-activation",
    "pendingimport": "pre-activation", "disabled": "suspended", "suspended": "suspended",
    "unavailable": "suspended", "deactivated": "deactivated", "expired": "deactivated",
    "pendingdeletion": "deactivated", "pendingreplicadeletion": "deactivated",
    "destroyed": "destroyed", "deleted": "destroyed", "compromised": "compromised",
}
SECURED_BY = {"hsm": "HSM", "kms": "KMS", "secrets-engine": "Software"}
CERT_EXTENSIONS = {"PEM": "pem", "DER": "der", "PKCS12": "p12"}


def require_cyclonedx() -> None:
    """Fail the run at start, not at its end, when the CBOM cannot be written."""
    try:
        import cyclonedx  # noqa: F401
    except ImportError:
        raise pytest.UsageError("--cryptoaudit-cbom needs cyclonedx-python-lib: "
                                "pip install 'pytest-cryptoaudit[cbom]'") from None


def security_bits(algorithm: str, size: int | None) -> int | None:
    """Classical security strength (NIST SP 800-57 Part 1 Rev 5, Table 2)."""
    if size is None:
        return None
    if algorithm in ("RSA", "DSA", "DH"):
        steps = ((15360, 256), (7680, 192), (3072, 128), (2048, 112), (1024, 80))
        return next((bits for minimum, bits in steps if size >= minimum), 0)
    if algorithm in ("EC", "Ed25519", "Ed448", "X25519", "X448"):
        return 224 if algorithm == "Ed448" else size // 2
    return {"DES3": 112, "DES": 56}.get(algorithm, size if algorithm == "AES" else None)


def _date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class _CbomBuilder:
    """Collects the components of one BOM, one algorithm component per distinct algorithm."""

    def __init__(self, evidence: Evidence) -> None:
        from cyclonedx.model.bom import Bom

        run = evidence.run
        self.bom = Bom(serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"cryptoaudit/{run.id}"))
        self.bom.metadata.timestamp = datetime.fromisoformat(run.finished)
        self.components = {s.name: s.component for s in evidence.systems}
        self.algorithms: dict[str, Any] = {}
        self._add_tool(run.catalog_version)

    def _add_tool(self, version: str) -> None:
        from cyclonedx.model.component import Component, ComponentType

        self.bom.metadata.tools.components.add(Component(
            type=ComponentType.APPLICATION, name="pytest-cryptoaudit", version=version))

    def algorithm(self, name: str | None, size: int | None, curve: str | None,
                  primitive: str | None = None) -> Any:
        """The bom-ref of the algorithm component, created on first use."""
        from cyclonedx.model import crypto

        label = _algorithm_label(name or "unknown", size, curve)
        if label not in self.algorithms:
            known_primitive, oid = ALGORITHMS.get(name or "", ("unknown", None))
            properties = crypto.AlgorithmProperties(
                primitive=crypto.CryptoPrimitive(primitive or known_primitive),
                parameter_set_identifier=str(size) if size and not curve else None,
                curve=curve, classical_security_level=security_bits(name or "", size),
                nist_quantum_security_level=nist_quantum_level(name or "", size))
            self.algorithms[label] = self._component(
                f"algorithm:{label}", label, crypto.CryptoProperties(
                    asset_type=crypto.CryptoAssetType.ALGORITHM,
                    algorithm_properties=properties, oid=oid if not primitive else None))
        return self.algorithms[label].bom_ref

    def _component(self, ref: str, name: str, crypto_properties: Any,
                   properties: Mapping[str, Any] | None = None, description: str | None = None
                   ) -> Any:
        from cyclonedx.model import Property
        from cyclonedx.model.component import Component, ComponentType

        component = Component(
            type=ComponentType.CRYPTOGRAPHIC_ASSET, name=name, bom_ref=ref,
            description=description, crypto_properties=crypto_properties,
            properties=[Property(name=f"cryptoaudit:{k}", value=str(v))
                        for k, v in (properties or {}).items() if v not in (None, "")])
        self.bom.components.add(component)
        return component

    def key(self, key: Key, ref: str | None = None,
            kind: str | None = None) -> Any:
        """A related-crypto-material component for a key (or a certificate's public key)."""
        from cyclonedx.model import crypto

        attributes = key.attributes
        state = STATES.get(re.sub(r"[^a-z]", "", (key.state or "").lower()))
        material = crypto.RelatedCryptoMaterialProperties(
            type=crypto.RelatedCryptoMaterialType(kind or key.kind),
            id=key.uid,
            state=crypto.RelatedCryptoMaterialState(state) if state else None,
            algorithm_ref=self.algorithm(key.algorithm, key.size, key.curve),
            creation_date=_date(key.created),
            update_date=_date(key.rotated),
            expiration_date=_date(key.expires),
            size=key.size,
            format=attributes.get("format"),
            secured_by=self._secured_by(key, attributes))
        return self._component(
            ref or f"key:{key.uid}", key.uid, crypto.CryptoProperties(
                asset_type=crypto.CryptoAssetType.RELATED_CRYPTO_MATERIAL,
                related_crypto_material_properties=material),
            properties=_key_properties(key))

    def _secured_by(self, key: Key, attributes: Mapping[str, Any]) -> Any:
        from cyclonedx.model import crypto

        mechanism = SECURED_BY.get(self.components.get(key.system, ""))
        if mechanism is None and "encrypted" in attributes:
            mechanism = "Software" if attributes["encrypted"] else "None"
        return crypto.RelatedCryptoMaterialSecuredBy(mechanism=mechanism) if mechanism else None

    def library(self, library: Library) -> Any:
        """A ``library`` component for a crypto library a host or image runs: its name and
        upstream version, where it was found and the image layer that put it there."""
        from cyclonedx.model import Property
        from cyclonedx.model.component import Component, ComponentType

        found = {"system": library.system, "source": library.source, "path": library.path,
                 "layer": library.layer,
                 "packages": ", ".join(library.attributes.get("packages") or ()),
                 "package_version": library.attributes.get("package_version")}
        component = Component(
            type=ComponentType.LIBRARY, name=library.name, version=library.version,
            bom_ref=f"library:{library.uid}",
            properties=[Property(name=f"cryptoaudit:{k}", value=str(v))
                        for k, v in found.items() if v not in (None, "")])
        self.bom.components.add(component)
        return component

    def certificate(self, key: Key) -> Any:
        """A certificate component referencing its signature algorithm and public key."""
        from cyclonedx.model import crypto

        info = key.certificate or {}
        public = self.key(key.model_copy(update={"state": None}),
                          ref=f"certificate:{key.uid}#public-key", kind="public-key")
        signature = info.get("signature_algorithm")
        properties = crypto.CertificateProperties(
            subject_name=info.get("subject"), issuer_name=info.get("issuer"),
            not_valid_before=_date(info.get("not_before")),
            not_valid_after=_date(info.get("not_after")),
            signature_algorithm_ref=self.algorithm(signature, None, None, "signature")
            if signature else None,
            subject_public_key_ref=public.bom_ref, certificate_format="X.509",
            certificate_extension=CERT_EXTENSIONS.get(key.attributes.get(
                "format", "")))
        return self._component(
            f"certificate:{key.uid}", key.uid, crypto.CryptoProperties(
                asset_type=crypto.CryptoAssetType.CERTIFICATE, certificate_properties=properties),
            properties={**_key_properties(key), "serial": info.get("serial")},
            description=info.get("subject"))


    def protocol(self, endpoint: Endpoint, certificates: list[Any]) -> None:
        """One ``protocol`` component per protocol version an endpoint accepts, with the
        cipher suites accepted for it and references to the certificates it presents."""
        from cyclonedx.model import crypto

        attributes = endpoint.attributes
        suites = attributes.get("cipher_suites") or {}
        for version in attributes.get("protocols") or ():
            protocol = crypto.ProtocolProperties(
                type=crypto.ProtocolPropertiesType(_protocol_type(endpoint)),
                version=re.sub(r"^[A-Za-z]+v?", "", version) or version,
                cipher_suites=[crypto.ProtocolPropertiesCipherSuite(name=name)
                               for name in suites.get(version, ())],
                crypto_refs=certificates)
            self._component(
                f"protocol:{endpoint.uid}@{version}", f"{endpoint.uid} {version}",
                crypto.CryptoProperties(asset_type=crypto.CryptoAssetType.PROTOCOL,
                                        protocol_properties=protocol),
                properties={"system": endpoint.system, "provider": endpoint.provider,
                            "risk-tier": endpoint.risk_tier, "owner": endpoint.owner,
                            "accountable-owner": endpoint.accountable_owner,
                            "address": endpoint.address})


def _protocol_type(endpoint: Endpoint) -> str:
    protocol = str(endpoint.protocol or "tls").lower()
    return protocol if protocol in ("tls", "ssh", "ipsec", "ike", "sstp", "wpa") else "other"


def _algorithm_label(name: str, size: int | None, curve: str | None) -> str:
    if curve:
        return f"{name}-{curve}"
    if size and name not in ("Ed25519", "Ed448", "X25519", "X448"):
        return f"{name}-{size}"
    return name


def _key_properties(key: Key) -> dict[str, Any]:
    return {"system": key.system, "provider": key.provider, "kind": key.kind,
            "risk-tier": key.risk_tier, "owner": key.owner,
            "accountable-owner": key.accountable_owner,
            "state": key.state, "fingerprint": key.fingerprint}


def build_cbom(evidence: Evidence | Mapping[str, Any]) -> str:
    """The CBOM of the run's inventory, as CycloneDX 1.6 JSON (from the typed evidence, or
    its JSON)."""
    if not isinstance(evidence, Evidence):
        evidence = Evidence.model_validate(evidence)
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    builder = _CbomBuilder(evidence)
    presented: dict[str, list[Any]] = {}
    for key in evidence.inventory:
        if key.kind == "certificate":
            component = builder.certificate(key)
            endpoint = key.attributes.get("endpoint")
            if endpoint:
                presented.setdefault(endpoint, []).append(component.bom_ref)
        else:
            builder.key(key)
    for endpoint in evidence.endpoints:
        builder.protocol(endpoint, presented.get(endpoint.uid, []))
    for library in evidence.libraries:
        builder.library(library)
    outputter = make_outputter(builder.bom, OutputFormat.JSON, SchemaVersion.V1_6)
    return outputter.output_as_string(indent=2)


def write_cbom(evidence: Evidence, path: Path) -> None:
    path.write_text(build_cbom(evidence) + "\n", encoding="utf-8")
