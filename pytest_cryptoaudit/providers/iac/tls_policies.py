"""Named AWS TLS security policies as the protocols and cipher suites they accept.

Elastic Load Balancing (``ssl_policy``) and CloudFront (``minimum_protocol_version``) name a
policy; the TLS controls judge what it accepts, so each name maps to its protocol versions
and suites (IANA names, as a scan reports them), from the AWS documentation of the policies.
A name not in the table is unreadable, never assumed.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...model import UNSTATED

#: OpenSSL suite names (as AWS documents them) -> IANA names.
IANA = {
    "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES128-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "ECDHE-RSA-AES128-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "ECDHE-ECDSA-AES128-SHA": "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "ECDHE-RSA-AES128-SHA": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-ECDSA-AES256-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    "ECDHE-RSA-AES256-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "ECDHE-RSA-AES256-SHA": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "ECDHE-ECDSA-AES256-SHA": "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "ECDHE-RSA-CHACHA20-POLY1305": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "AES128-GCM-SHA256": "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "AES128-SHA256": "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "AES128-SHA": "TLS_RSA_WITH_AES_128_CBC_SHA",
    "AES256-GCM-SHA384": "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "AES256-SHA256": "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "AES256-SHA": "TLS_RSA_WITH_AES_256_CBC_SHA",
    "DES-CBC3-SHA": "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "RC4-MD5": "TLS_RSA_WITH_RC4_128_MD5",
}
TLS13 = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")

_GCM_FS = ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
           "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384")
_CBC_SHA2_FS = ("ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
                "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384")
_CBC_SHA1_FS = ("ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA",
                "ECDHE-ECDSA-AES256-SHA")
_STATIC_RSA = ("AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA", "AES256-GCM-SHA384",
               "AES256-SHA256", "AES256-SHA")
_CHACHA = ("ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305")
_LEGACY = (*_GCM_FS, *_CBC_SHA2_FS, *_CBC_SHA1_FS, *_STATIC_RSA)

#: Policy -> (TLS versions below 1.3 it accepts, its suites for them, whether it takes 1.3).
_POLICIES: Mapping[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    # Elastic Load Balancing (Application and Network Load Balancers)
    "ELBSecurityPolicy-2016-08": (("TLSv1.0", "TLSv1.1", "TLSv1.2"), _LEGACY, False),
    "ELBSecurityPolicy-TLS-1-0-2015-04": (("TLSv1.0", "TLSv1.1", "TLSv1.2"),
                                          (*_LEGACY, "DES-CBC3-SHA"), False),
    "ELBSecurityPolicy-TLS-1-1-2017-01": (("TLSv1.1", "TLSv1.2"), _LEGACY, False),
    "ELBSecurityPolicy-TLS-1-2-2017-01": (("TLSv1.2",), _LEGACY, False),
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06": (("TLSv1.2",), _LEGACY, False),
    "ELBSecurityPolicy-FS-1-2-Res-2019-08": (("TLSv1.2",), (*_GCM_FS, *_CBC_SHA2_FS), False),
    "ELBSecurityPolicy-FS-1-2-Res-2020-10": (("TLSv1.2",), _GCM_FS, False),
    "ELBSecurityPolicy-TLS13-1-2-2021-06": (("TLSv1.2",), (*_GCM_FS, *_CBC_SHA2_FS), True),
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06": (("TLSv1.2",), _GCM_FS, True),
    "ELBSecurityPolicy-TLS13-1-3-2021-06": ((), (), True),
    # CloudFront viewer policies (minimum_protocol_version)
    "TLSv1": (("TLSv1.0", "TLSv1.1", "TLSv1.2"), (*_LEGACY, *_CHACHA, "DES-CBC3-SHA"), True),
    "TLSv1_2016": (("TLSv1.0", "TLSv1.1", "TLSv1.2"), (*_LEGACY, *_CHACHA), True),
    "TLSv1.1_2016": (("TLSv1.1", "TLSv1.2"), (*_LEGACY, *_CHACHA), True),
    "TLSv1.2_2018": (("TLSv1.2",), (*_GCM_FS, *_CBC_SHA2_FS, *_CHACHA,
                                    "AES128-GCM-SHA256", "AES256-GCM-SHA384"), True),
    "TLSv1.2_2019": (("TLSv1.2",), (*_GCM_FS, *_CBC_SHA2_FS, *_CHACHA), True),
    "TLSv1.2_2021": (("TLSv1.2",), (*_GCM_FS, *_CHACHA), True),
}

#: What ELB applies when a TLS listener names no policy, and CloudFront with its own
#: default certificate (which always allows TLS 1.0).
ELB_DEFAULT = "ELBSecurityPolicy-2016-08"
CLOUDFRONT_DEFAULT_CERTIFICATE = "TLSv1"
NOT_STATED = "the named policy does not state its key exchange groups; scan the live endpoint"
SCAN_ONLY = "judged on a scan of the live endpoint, not on a named policy"
#: What no named policy states, with why.
SCAN_FACTS: Mapping[str, str] = {"key_exchange_groups": NOT_STATED,
                                 "mozilla_profile_issues": SCAN_ONLY,
                                 "pq_key_exchange": SCAN_ONLY}


def policy_attributes(name: str) -> tuple[dict[str, object], dict[str, str]]:
    """Endpoint attributes and unreadable facts for a named policy. What no named policy
    states (groups, a full handshake's profile) is unstated: those checks judge the live
    endpoint's scan, not the code."""
    unstated = dict(SCAN_FACTS)
    if name not in _POLICIES:
        reason = f"TLS policy {name!r} is not in the table of AWS policies"
        return ({"tls_policy": name, UNSTATED: unstated},
                {"protocols": reason, "cipher_suites": reason})
    versions, suites, tls13 = _POLICIES[name]
    by_version: dict[str, list[str]] = {v: [IANA[s] for s in suites] for v in versions}
    if tls13:
        by_version["TLSv1.3"] = list(TLS13)
    attributes: dict[str, object] = {"tls_policy": name, "protocols": list(by_version),
                                     "cipher_suites": by_version, UNSTATED: unstated}
    return attributes, {}
