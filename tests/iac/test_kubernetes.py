"""The Kubernetes reader: multi-document streams, Lists, TLS Secrets and bad input."""

from __future__ import annotations

import base64

from pytest_cryptoaudit.lab.keygen import cert_pem, certificate, private_pem, rsa_key
from tests.iac.conftest import discover, write


def tls_secret(name: str, key_pem: bytes, chain: bytes) -> str:
    return f'''apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: {name}
  namespace: web
data:
  tls.crt: {base64.b64encode(chain).decode()}
  tls.key: {base64.b64encode(key_pem).decode()}
'''


def test_a_helm_rendered_stream_is_read_document_by_document(tmp_path):
    key = rsa_key(2048)
    cert = certificate(key, subject="web.example.test", san=["web.example.test"])
    write(tmp_path / "rendered.yaml", "---\n# Source: chart/templates/cm.yaml\n"
          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n"
          + tls_secret("web", private_pem(key), cert_pem(cert))
          + "---\napiVersion: v1\nkind: List\nitems:\n"
            "  - apiVersion: cert-manager.io/v1\n    kind: Certificate\n"
            "    metadata: {name: listed, namespace: web}\n"
            "    spec:\n      privateKey: {algorithm: Ed25519, rotationPolicy: Always}\n"
            "      issuerRef: {name: ca}\n")
    attempt = discover("kubernetes", tmp_path, paths=["rendered.yaml"])
    assert attempt.errors == []
    found = {k.location.address: k for k in attempt.keys}
    secret = found["Secret/web/web"]
    assert secret.uid == "kubernetes:rendered.yaml:7:Secret/web/web"
    assert secret.kind == "certificate"
    assert secret.attributes["secret_key_algorithm"] == "RSA"
    assert "PRIVATE KEY" not in repr(attempt)
    listed = found["Certificate/web/listed"]
    assert listed.algorithm == "Ed25519"
    assert listed.attributes["rotation_policy"] == "Always"
    assert listed.attributes["issuer_type"] == "not in the audited manifests"


def test_a_tls_secret_that_cannot_be_read_is_an_error_that_shows_no_key(tmp_path):
    key = private_pem(rsa_key(2048))
    write(tmp_path / "s.yaml", tls_secret("broken", key, b"not a certificate"))
    attempt = discover("kubernetes", tmp_path, paths=["."])
    (error,) = attempt.errors
    assert error.key_uid == "kubernetes:s.yaml:1:Secret/web/broken"
    assert "cannot read the TLS Secret" in error.reason
    assert base64.b64encode(key).decode()[:40] not in error.reason
    assert attempt.keys == []


def test_encryption_configuration_measures_keys_without_keeping_them(tmp_path):
    secret = base64.b64encode(b"k" * 16).decode()
    write(tmp_path / "enc.yaml", f'''apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aesgcm:
          keys:
            - name: k1
              secret: {secret}
      - identity: {{}}
''')
    (key,) = discover("kubernetes", tmp_path, paths=["."]).keys
    assert (key.algorithm, key.size) == ("AES", 128)
    assert key.attributes["providers"] == ["aesgcm", "identity"]
    assert (key.attributes["writes_in_clear"], key.attributes["write_provider_weakness"]) == (
        False, "")
    assert "200,000 writes" in key.attributes["write_provider_note"]
    assert secret not in repr(key)


ENCRYPTION = """apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - {provider}
"""


def test_the_writing_provider_is_recorded_as_facts_the_controls_judge(tmp_path):
    """The controls read facts, not provider names: identity writes in clear, aescbc and KMS
    plugin API v1 are weak, and a provider this reader does not know is unreadable."""
    cases = {"identity": {}, "aescbc": {"keys": []}, "kms": {"name": "p"},
             "kmsv2": {"name": "p", "apiVersion": "v2"}, "rot13": {}}
    found = {}
    for name, settings in cases.items():
        kind = "kms" if name.startswith("kms") else name
        folder = tmp_path / name
        write(folder / "enc.yaml", ENCRYPTION.format(provider={kind: settings}))
        (key,) = discover("kubernetes", folder, paths=["."]).keys
        found[name] = key
    assert found["identity"].attributes["writes_in_clear"] is True
    assert "padding-oracle" in found["aescbc"].attributes["write_provider_weakness"]
    assert "API v1 is deprecated" in found["kms"].attributes["write_provider_weakness"]
    assert found["kmsv2"].attributes["write_provider_weakness"] == ""
    assert "unknown provider 'rot13'" in found["rot13"].unreadable["write_provider_weakness"]


def test_broken_yaml_is_one_named_error(tmp_path):
    write(tmp_path / "bad.yaml", "kind: Secret\n  bad: [indent\n")
    attempt = discover("kubernetes", tmp_path, paths=["."])
    (error,) = attempt.errors
    assert error.reason.startswith("bad.yaml: cannot read manifest")
    assert error.location.path == "bad.yaml"
