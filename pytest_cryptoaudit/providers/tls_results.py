"""Turn one sslyze server scan into an endpoint record and certificate records.

Every scan command sslyze ran is an attempt with a status; one that failed makes the
attributes it feeds ``unreadable`` (with sslyze's reason), never an empty list that a
control would read as "accepts nothing".
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from ..keyinfo import certificate_fields, state_of_certificate
from ..tlsinfo import group_bits
from . import Discovery

#: sslyze result fields of the cipher suite scans, per protocol version.
VERSION_FIELDS = (
    ("ssl_2_0_cipher_suites", "SSLv2"),
    ("ssl_3_0_cipher_suites", "SSLv3"),
    ("tls_1_0_cipher_suites", "TLSv1.0"),
    ("tls_1_1_cipher_suites", "TLSv1.1"),
    ("tls_1_2_cipher_suites", "TLSv1.2"),
    ("tls_1_3_cipher_suites", "TLSv1.3"),
)
PROFILES = ("modern", "intermediate", "old")


def import_sslyze() -> tuple[Any, Any]:
    """sslyze and its Mozilla profile checker, imported on first use."""
    with quiet_trust_stores():
        import sslyze
        from sslyze.mozilla_tls_profile import tls_config_checker
    return sslyze, tls_config_checker


@contextlib.contextmanager
def quiet_trust_stores() -> Iterator[None]:
    """Silence the CryptographyDeprecationWarning of sslyze's bundled trust stores (a root
    with a non-positive serial number), and nothing else. sslyze loads them on import or
    while it validates a chain, depending on its version."""
    from cryptography.utils import CryptographyDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        yield


def record_scan(attempt: Discovery, endpoint: str, result: Any, ca_file: Path | None,
                now: datetime, key_exchange: tuple[str, Any] | None = None) -> None:
    """Add the endpoint (and its certificates) of one finished scan, or an error for it.
    ``key_exchange`` is the post-quantum group probe's answer, when it ran."""
    uid = f"tls:{endpoint}"
    if result.scan_result is None or result.connectivity_result is None:
        attempt.error(f"endpoint {endpoint}: {_connectivity_reason(result)}", key_uid=uid)
        return
    scan = result.scan_result
    attributes: dict[str, Any] = {
        "host": result.server_location.hostname,
        "port": result.server_location.port,
        "ip_address": result.server_location.ip_address,
        "server_name": result.network_configuration.tls_server_name_indication,
        "client_auth": result.connectivity_result.client_auth_requirement.value,
    }
    unreadable: dict[str, str] = {}
    _suites_and_groups(scan, attributes, unreadable)
    attributes["certificates"] = _certificates(attempt, endpoint, scan, ca_file, now)
    _mozilla_profiles(result, attributes, unreadable)
    if key_exchange is not None:
        kind, value = key_exchange
        (attributes if kind == "pq_key_exchange" else unreadable)["pq_key_exchange"] = value
    attempt.add_endpoint(uid, endpoint, protocol="tls", attributes=attributes,
                         unreadable=unreadable)


def _connectivity_reason(result: Any) -> str:
    trace = result.connectivity_error_trace
    if trace is None:
        return f"scan did not complete ({result.scan_status.value})"
    return "".join(trace.format_exception_only()).strip()


def _status(attempt: Any) -> str:
    return str(attempt.status.value)


def _failure(attempt: Any) -> str:
    reason = attempt.error_reason.value if attempt.error_reason else "unknown error"
    if attempt.error_trace is not None:
        reason += ": " + "".join(attempt.error_trace.format_exception_only()).strip()
    return reason


def _suites_and_groups(scan: Any, attributes: dict[str, Any], unreadable: dict[str, str]) -> None:
    attempts = [(version, getattr(scan, field)) for field, version in VERSION_FIELDS]
    if all(_status(a) == "NOT_SCHEDULED" for _, a in attempts):
        return  # not asked for: no control that reads them was selected
    failed = [f"{version} scan failed: {_failure(a)}" for version, a in attempts
              if _status(a) != "COMPLETED"]
    if failed:
        for name in ("protocols", "cipher_suites", "key_exchange_groups"):
            unreadable[name] = "; ".join(failed)
        return
    suites = {version: [s.cipher_suite.name for s in a.result.accepted_cipher_suites]
              for version, a in attempts if a.result.accepted_cipher_suites}
    attributes["protocols"] = list(suites)
    attributes["cipher_suites"] = suites
    _groups(scan, [a.result for _, a in attempts], attributes, unreadable)


def _groups(scan: Any, suite_results: list[Any], attributes: dict[str, Any],
            unreadable: dict[str, str]) -> None:
    """Groups negotiated by the accepted suites, and every curve the server accepts."""
    curves = scan.elliptic_curves
    if _status(curves) != "COMPLETED":
        unreadable["key_exchange_groups"] = f"elliptic curve scan failed: {_failure(curves)}"
        return
    groups = _ephemeral_groups(suite_results)
    for curve in curves.result.supported_curves or ():
        groups.setdefault(curve.name, {"name": curve.name, "type": "ECDH",
                                       "size": group_bits(curve.name)})
    attributes["key_exchange_groups"] = sorted(groups.values(), key=lambda g: g["name"])


def _ephemeral_groups(results: Any) -> dict[str, dict[str, Any]]:
    """The groups that accepted suites actually negotiated (finite-field DH has no name)."""
    groups: dict[str, dict[str, Any]] = {}
    for result in results:
        for accepted in result.accepted_cipher_suites:
            key = accepted.ephemeral_key
            if key is None:
                continue
            if key.type_name == "DH":
                name = f"DH-{key.size}"
                groups[name] = {"name": name, "type": "DH", "size": key.size}
            elif hasattr(key, "curve_name"):
                groups[key.curve_name] = {"name": key.curve_name, "type": "ECDH",
                                          "size": group_bits(key.curve_name)}
    return groups


def _certificates(attempt: Discovery, endpoint: str, scan: Any, ca_file: Path | None,
                  now: datetime) -> list[str]:
    uid = f"tls:{endpoint}"
    info = scan.certificate_info
    if _status(info) != "COMPLETED":
        attempt.error(f"endpoint {endpoint}: certificate chain not read: {_failure(info)}",
                      key_uid=f"{uid}#0")
        return []
    uids = []
    for number, deployment in enumerate(info.result.certificate_deployments, start=1):
        # A server with several leaves (RSA and ECDSA, say) shows each chain: #0 is the
        # leaf of the first one, /2#0 the leaf of the second.
        prefix = uid if number == 1 else f"{uid}/{number}"
        validation, why = _validation(deployment, ca_file)
        for position, cert in enumerate(deployment.received_certificate_chain):
            fields = certificate_fields(cert)
            fields["state"] = state_of_certificate(fields["certificate"], now)
            extra = {"endpoint": uid, "chain_position": position, "deployment": number}
            if position == 0:
                extra.update(validation)
                extra["validated_for"] = info.result.hostname_used_for_server_name_indication
                fields["unreadable"] = why
            fields["attributes"] = {**fields["attributes"], **extra}
            attempt.add_key(f"{prefix}#{position}", "certificate", **fields)
            uids.append(f"{prefix}#{position}")
    return uids


def _validation(deployment: Any, ca_file: Path | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Whether the chain validates against ``ca_file`` (only), or the public trust stores."""
    results = deployment.path_validation_results
    if ca_file is not None:
        results = [r for r in results if Path(r.trust_store.path) == ca_file]
        store = f"ca_file {ca_file}"
    else:
        store = "public trust stores: " + ", ".join(r.trust_store.name for r in results)
    if not results:
        return {"trust_store": store}, {"validated": f"no path validation against {store}"}
    validated = any(r.was_validation_successful for r in results)
    error = None if validated else next((r.validation_error for r in results), None)
    return {"validated": validated, "validation_error": error, "trust_store": store}, {}


def _mozilla_profiles(result: Any, attributes: dict[str, Any],
                      unreadable: dict[str, str]) -> None:
    """Deviations from each Mozilla profile (empty: compliant); the policy picks one."""
    _, checker = import_sslyze()
    scan = result.scan_result
    needed = checker.SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER
    if any(_status(getattr(scan, c.value)) == "NOT_SCHEDULED" for c in needed):
        return
    issues = {}
    for profile in PROFILES:
        configuration = checker.MozillaTlsConfiguration.get(
            checker.TlsConfigurationEnum(profile))
        try:
            checker.check_server_against_tls_configuration(result, configuration)
        except checker.ServerNotCompliantWithTlsConfiguration as exc:
            issues[profile] = dict(sorted(exc.issues.items()))
        except checker.ServerScanResultIncomplete as exc:
            unreadable["mozilla_profile_issues"] = f"scan incomplete: {exc}"
            return
        else:
            issues[profile] = {}
    attributes["mozilla_profile_issues"] = issues
