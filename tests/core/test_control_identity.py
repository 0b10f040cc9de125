"""A control's (id, check) pair is the ledger's identity of its findings: every one is
declared explicitly and none disappears or is renamed by accident. The title and the CCM
citation of an id are declared once (``pytest_cryptoaudit.ccm``), not per check."""

from __future__ import annotations

import ast
import textwrap

import pytest

from pytest_cryptoaudit.catalog import ControlDeclarationError, builtin_control_files, catalog
from pytest_cryptoaudit.catalog_cli import load_builtin_catalog
from pytest_cryptoaudit.ccm import CEK_TITLES
from pytest_cryptoaudit.references import ccm

#: Every built-in (control, check). Change it only with a migration of the ledger's findings.
IDENTITIES = {
    "CEK-03": {"certificate-chain-validates", "iac-secrets-encrypted-at-rest", "library-fips-mode",
               "library-one-version", "library-version-advisories", "library-version-supported",
               "tls-cipher-suites", "tls-forward-secrecy", "tls-mozilla-profile",
               "tls-protocol-versions"},
    "CEK-04": {"algorithm-allowed", "certificate-signature-hash", "iac-encryption-provider",
               "key-strength", "kms-key-spec", "pki-role-key-size", "pq-key-exchange",
               "pq-readiness", "tls-key-exchange-strength", "transit-key-type"},
    "CEK-08": {"iac-key-vault-network", "keyvault-network-restricted",
               "keyvault-rbac-authorization", "kms-customer-managed", "kms-grantees",
               "kms-iam-decrypt-all-keys", "kms-policy-not-public", "kms-policy-principals",
               "kms-separation-of-duties",
               "tenant-key-assigned", "tenant-key-isolation", "tenant-shared-key-context",
               "transit-no-plaintext-backup", "vault-least-privilege"},
    "CEK-09": {"auditor-independent", "cadence-met", "event-follow-up", "findings-followed-up",
               "keyvault-logging", "kms-cloudtrail", "procedures-current", "results-reviewed",
               "scope-coverage", "vault-audit-device", "vault-seal-type"},
    "CEK-10": {"generated-on-token", "iac-private-key-in-state", "kms-import-wrapping",
               "kms-imported-material-expiry", "kms-key-origin", "kms-protection-level",
               "login-required", "never-extractable", "private-key-encrypted",
               "private-key-permissions", "sensitive", "transit-not-exportable"},
    "CEK-11": {"ca-not-leaf", "kms-key-usage", "pki-role-names", "single-purpose",
               "single-purpose-usage"},
    "CEK-12": {"certificate-lifetime", "expiry-window", "iac-cert-manager-renewal",
               "iac-cert-manager-rotation-policy", "iac-encryption-key-rotation", "key-age",
               "keyvault-certificate-auto-renew", "keyvault-key-expiry-set",
               "kms-rotation-enabled", "kms-rotation-period", "pki-ca-outlives-roles",
               "pki-role-max-ttl"},
    "CEK-13": {"compromised-versions-revoked"},
    "CEK-14": {"iac-key-vault-purge-protection", "keyvault-purge-protection",
               "keyvault-soft-delete", "kms-destroy-delay", "kms-not-pending-deletion",
               "transit-deletion-protected"},
    "CEK-15": {"already-valid", "kms-key-material-imported"},
    "CEK-16": {"kms-key-enabled"},
    "CEK-17": {"keyvault-key-not-expired", "kms-key-store-connected", "not-expired",
               "unusable-after-end-date"},
    "CEK-19": {"rotated-after-compromise"},
    "CEK-21": {"classified", "discovery-complete", "has-owner"},
}


def test_the_set_of_control_identities_is_the_snapshot():
    found: dict[str, set[str]] = {}
    for spec in load_builtin_catalog():
        found.setdefault(spec.id, set()).add(spec.check)
    assert found == IDENTITIES


def test_one_title_and_matrix_citation_per_control_id():
    for spec in load_builtin_catalog():
        assert spec.title == CEK_TITLES[spec.id], spec
        assert spec.references[0] == ccm(spec.id), spec
        assert spec.references.count(ccm(spec.id)) == 1, spec


def _control_markers(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "control"):
            yield node


def test_builtin_markers_name_the_check_and_no_title():
    """Titles come from the id; a retyped title is how they diverged before."""
    for path in builtin_control_files():
        for marker in _control_markers(path):
            keywords = {k.arg for k in marker.keywords}
            assert "check" in keywords, f"{path.name}:{marker.lineno}"
            assert len(marker.args) == 1 and "title" not in keywords, f"{path.name}:{marker.lineno}"


def test_builtin_modules_declare_the_ssrm_owner_once():
    for path in builtin_control_files():
        text = path.read_text()
        assert "@pytest.mark.ssrm" not in text, path.name
        assert "pytestmark = pytest.mark.ssrm(" in text, path.name


def test_a_control_without_check_is_a_declaration_error():
    namespace: dict[str, object] = {}
    exec(textwrap.dedent("""
        import pytest

        @pytest.mark.control("CEK-04")
        def test_nameless(crypto_key):
            pass
    """), namespace)
    module = type("Module", (), {"test_nameless": namespace["test_nameless"]})
    with pytest.raises(ControlDeclarationError, match="CEK-04 on test_nameless: check= is"):
        catalog([module])


def test_a_user_control_keeps_its_own_title():
    namespace: dict[str, object] = {}
    exec(textwrap.dedent("""
        import pytest

        @pytest.mark.control("ORG-01", "Approved curves only", check="approved-curve")
        def test_curve(crypto_key):
            pass
    """), namespace)
    module = type("Module", (), {"test_curve": namespace["test_curve"]})
    (spec,) = catalog([module])
    assert (spec.title, spec.check, spec.references) == ("Approved curves only",
                                                         "approved-curve", ())
