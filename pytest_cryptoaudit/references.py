"""Citations used by the built-in controls, spelled once."""

from __future__ import annotations

ISO27001_A824 = "ISO/IEC 27001:2022 A.8.24"
ISO27002_824 = "ISO/IEC 27002:2022 8.24"
SP800_57 = "NIST SP 800-57 Part 1 Rev 5"
SP800_57_CRYPTOPERIODS = "NIST SP 800-57 Part 1 Rev 5, 5.3.6"
SP800_131A = "NIST SP 800-131A Rev 2"
SP800_56B = "NIST SP 800-56B Rev 2 (RSA key transport, OAEP)"
SP800_52 = "NIST SP 800-52 Rev 2"
CAB_BR = "CA/Browser Forum Baseline Requirements 6.3.2"
RFC5280 = "RFC 5280 4.2.1.9"
PCI_DSS_3_6 = "PCI DSS v4.0 3.6"
PCI_DSS_3_7 = "PCI DSS v4.0 3.7"
AWS_FSBP_KMS = "AWS FSBP KMS.1-KMS.5"
BSI_C5_CRY = "BSI C5:2020 CRY-01, CRY-04"
RFC8996 = "RFC 8996 (TLS 1.0 and 1.1 deprecated)"
RFC5280_PATH_VALIDATION = "RFC 5280 6 (certification path validation)"
PCI_DSS_4_2_1 = "PCI DSS v4.0 4.2.1"
MOZILLA_TLS = "Mozilla Server Side TLS 5.7"
PKCS11 = "OASIS PKCS #11 Base Specification v2.40"
SP800_57_KEY_USAGE = "NIST SP 800-57 Part 1 Rev 5, 5.2"


def ccm(control_id: str) -> str:
    """The CSA CCM v4 / AI Controls Matrix citation of a CEK control."""
    return f"CSA CCM v4 / AICM {control_id}"

ISO27001_CLAUSE_92 = "ISO/IEC 27001:2022 clause 9.2"
BSI_C5_OIS = "BSI C5:2020 OIS-06, OIS-07"

#: The AI-CAIQ questions of CEK-09, answered by ``cryptoaudit caiq``.
CAIQ_CEK09_1 = ("Are encryption and key management systems, policies, and processes audited "
                "with a frequency proportional to the system's risk exposure?")
CAIQ_CEK09_2 = ("Are encryption and key management systems, policies, and processes audited "
                "preferably continuously but at least annually and after any security event?")

NIST_IR_8547 = "NIST IR 8547 ipd (Nov 2024), Transition to Post-Quantum Cryptography Standards"
CNSA_2_0 = "NSA CNSA 2.0 (Commercial National Security Algorithm Suite 2.0)"
BSI_TR_02102_1 = "BSI TR-02102-1 (2026)"
EU_PQC_ROADMAP = "EU coordinated implementation roadmap for the transition to PQC (June 2025)"
FIPS_203_204 = "NIST FIPS 203 (ML-KEM), FIPS 204 (ML-DSA), FIPS 205 (SLH-DSA)"
