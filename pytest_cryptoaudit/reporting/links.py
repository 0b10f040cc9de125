"""Where a control's references can be read: public pages of the standards they cite.

Controls cite references as plain strings (``pytest_cryptoaudit.references``); reports that
can carry links (Allure, HTML, OSCAL) look the string up here by its prefix.
"""

from __future__ import annotations

REFERENCE_URLS: tuple[tuple[str, str], ...] = (
    ("CSA CCM", "https://cloudsecurityalliance.org/research/cloud-controls-matrix"),
    ("ISO/IEC 27001", "https://www.iso.org/standard/27001"),
    ("ISO/IEC 27002", "https://www.iso.org/standard/75652.html"),
    ("NIST SP 800-57", "https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final"),
    ("NIST SP 800-131A Rev 3", "https://csrc.nist.gov/pubs/sp/800/131/a/r3/ipd"),
    ("NIST SP 800-131A", "https://csrc.nist.gov/pubs/sp/800/131/a/r2/final"),
    ("NIST SP 800-52", "https://csrc.nist.gov/pubs/sp/800/52/r2/final"),
    ("NIST IR 8547", "https://csrc.nist.gov/pubs/ir/8547/ipd"),
    ("CA/Browser Forum", "https://cabforum.org/working-groups/server/baseline-requirements/"),
    ("RFC ", "https://www.rfc-editor.org/rfc/rfc{rfc}"),
    ("PCI DSS", "https://www.pcisecuritystandards.org/document_library/"),
    ("AWS FSBP", "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html"),
    ("BSI C5", "https://www.bsi.bund.de/EN/Themen/Unternehmen-und-Organisationen/"
               "Informationen-und-Empfehlungen/Empfehlungen-nach-Angriffszielen/"
               "Cloud-Computing/Kriterienkatalog-C5/kriterienkatalog-c5_node.html"),
)


def reference_url(reference: str) -> str | None:
    """The public page of a cited standard, or None when the citation is not known."""
    for prefix, url in REFERENCE_URLS:
        if reference.startswith(prefix):
            if "{rfc}" in url:
                number = reference.removeprefix("RFC ").split()[0]
                return url.format(rfc=number) if number.isdigit() else None
            return url
    return None
