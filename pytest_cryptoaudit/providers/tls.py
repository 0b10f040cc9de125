"""TLS endpoints: what each one accepts, and the certificate chain it presents.

Every endpoint is first probed with the standard library (TCP connect, then a TLS
handshake, both under ``timeout``), so an endpoint that refuses connections or never
answers becomes a discovery error naming it within seconds. The endpoints that answer are
scanned by sslyze, imported only here: accepted protocol versions and cipher suites per
version, key exchange groups, the certificate chain validated against ``ca_file`` (or,
without one, sslyze's bundled public trust stores), and the Mozilla server-side TLS
profiles. Each endpoint becomes an :class:`~pytest_cryptoaudit.model.EndpointRecord`, and
each certificate it presents a certificate record (``tls:HOST:PORT#0`` for the leaf).
"""

from __future__ import annotations

import socket
import ssl
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pydantic

from ..budget import DeadlineOptions
from ..policy import PolicySetting, tiered
from . import Discovery, DiscoveryContext, Provider, ProviderOptions
from .tls_results import import_sslyze, quiet_trust_stores, record_scan

OLD_PROTOCOLS = ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"]
BROKEN_SUITES = ["NULL", "anonymous", "export", "RC4", "RC2", "DES", "3DES", "IDEA"]
MOZILLA_PROFILES = ("modern", "intermediate", "old", "none")


def parse_endpoint(text: str) -> tuple[str, int]:
    """``(host, port)`` of ``host:port`` or ``[IPv6]:port``; ValueError if malformed."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"endpoint {text!r}: expected host:port (IPv6 as [address]:port)")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"endpoint {text!r}: port {port} is out of range 1-65535")
    if host.startswith("["):
        host = host.removeprefix("[").removesuffix("]")
    elif ":" in host:
        raise ValueError(f"endpoint {text!r}: write an IPv6 address as [address]:port")
    return host, port


class TlsOptions(ProviderOptions, DeadlineOptions):
    """Options of a ``provider = "tls"`` system."""

    endpoints: list[str] = pydantic.Field(min_length=1)
    server_name: str | None = None
    ca_file: str | None = None
    timeout: float = pydantic.Field(5.0, gt=0)
    retries: int = pydantic.Field(1, ge=0)
    max_workers: int = pydantic.Field(8, ge=1)
    connections_per_endpoint: int = pydantic.Field(5, ge=1)

    @pydantic.field_validator("endpoints")
    @classmethod
    def _check_endpoints(cls, endpoints: list[str]) -> list[str]:
        for endpoint in endpoints:
            parse_endpoint(endpoint)
        duplicates = sorted({e for e in endpoints if endpoints.count(e) > 1})
        if duplicates:
            raise ValueError(f"endpoint listed twice: {', '.join(duplicates)}")
        return endpoints


#: Facts filled by the cipher-suite and curve scans (made only when a control needs one).
CIPHER_SCAN_FACTS = ("protocols", "cipher_suites", "key_exchange_groups")
FETCHES = {**dict.fromkeys(CIPHER_SCAN_FACTS, ("sslyze: *_CIPHER_SUITES", "ELLIPTIC_CURVES")),
           "mozilla_profile_issues": ("sslyze: the Mozilla checker's scan commands",),
           "pq_key_exchange": ("a TLS 1.3 ClientHello offering post-quantum groups (pqprobe)",)}


class TlsProvider(Provider):
    """Scans the TLS endpoints named by ``endpoints``."""

    name = "tls"
    component = "tls"
    Options = TlsOptions
    fetches = FETCHES
    policy_settings = (
        PolicySetting(
            "tls_disallowed_protocols", tiered(OLD_PROTOCOLS, OLD_PROTOCOLS, OLD_PROTOCOLS,
                                               OLD_PROTOCOLS),
            "Protocol versions an endpoint must not accept.",
            "RFC 8996; NIST SP 800-52 Rev 2, 3.1; PCI DSS v4.0 4.2.1"),
        PolicySetting(
            "tls_disallowed_suite_classes",
            tiered(BROKEN_SUITES, BROKEN_SUITES, [*BROKEN_SUITES, "CBC-SHA1"],
                   [*BROKEN_SUITES, "CBC-SHA1"]),
            "Cipher suite classes an endpoint must not accept (NULL, anonymous, export, RC4, "
            "RC2, DES, 3DES, IDEA, CBC-SHA1).",
            "NIST SP 800-52 Rev 2, 3.3.1; RFC 7465; NIST SP 800-131A Rev 2"),
        PolicySetting(
            "tls_require_forward_secrecy", tiered(True, True, True, True),
            "Whether every accepted suite must use an ephemeral key exchange.",
            "NIST SP 800-52 Rev 2, 3.3.1"),
        PolicySetting(
            "tls_mozilla_profile", tiered("intermediate", "intermediate", "intermediate",
                                          "intermediate"),
            "Mozilla server-side TLS profile an endpoint must meet: modern, intermediate, old "
            "or none.", "Mozilla Server Side TLS 5.7"),
    )

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        options: TlsOptions = system.options
        ca_file = _resolve(options.ca_file, context.base_dir)
        attempt = self.new_discovery(
            system, endpoints=list(options.endpoints), server_name=options.server_name,
            ca_file=str(ca_file) if ca_file else None, timeout=options.timeout)
        if ca_file is not None and not ca_file.is_file():
            attempt.error(f"ca_file {ca_file}: no such file")
            return attempt
        reachable = self._probe_all(attempt, options)
        context.progress(attempt.system.name, 0, len(attempt.errors))  # probes completed
        if reachable:
            self._scan(attempt, reachable, options, ca_file, context)
        return attempt

    def _probe_all(self, attempt: Discovery, options: TlsOptions) -> list[str]:
        """The endpoints that answer a TLS handshake; the others become errors."""
        workers = min(options.max_workers, len(options.endpoints))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            reasons = list(pool.map(lambda e: probe(e, options.timeout, options.server_name),
                                    options.endpoints))
        for endpoint, reason in zip(options.endpoints, reasons, strict=True):
            if reason is not None:
                attempt.error(f"endpoint {endpoint}: {reason}", key_uid=f"tls:{endpoint}")
        return [e for e, reason in zip(options.endpoints, reasons, strict=True) if reason is None]

    def _scan(self, attempt: Discovery, endpoints: list[str], options: TlsOptions,
              ca_file: Path | None, context: DiscoveryContext) -> None:
        sslyze, _ = import_sslyze()
        pending = _requests(attempt, endpoints, options, ca_file, context)
        if not pending:
            return
        scanner = sslyze.Scanner(
            per_server_concurrent_connections_limit=options.connections_per_endpoint,
            concurrent_server_scans_limit=options.max_workers)
        scanner.queue_scans([request for _, request in pending.values()])
        key_exchange = _probe_key_exchange(
            [e for e, _ in pending.values()], options) if context.needs("pq_key_exchange") else {}
        with quiet_trust_stores():
            for result in scanner.get_results():
                endpoint, _ = pending.pop(result.uuid)
                record_scan(attempt, endpoint, result, ca_file, context.now,
                            key_exchange.get(endpoint))
                context.progress(attempt.system.name, len(attempt.keys), len(attempt.errors))
        for endpoint, _ in pending.values():  # never expected; never silently dropped
            attempt.error(f"endpoint {endpoint}: sslyze returned no result",
                          key_uid=f"tls:{endpoint}")


def _probe_key_exchange(endpoints: list[str], options: TlsOptions
                        ) -> dict[str, tuple[str, Any]]:
    """Per endpoint, ("pq_key_exchange", what it negotiates) or ("error", why not): sslyze
    cannot see ML-KEM groups, so a ClientHello of our own asks (see pqprobe)."""
    from ..pqprobe import ProbeError, probe_key_exchange

    def one(endpoint: str) -> tuple[str, Any]:
        host, port = parse_endpoint(endpoint)
        try:
            return "pq_key_exchange", probe_key_exchange(host, port, options.server_name,
                                                         options.timeout)
        except ProbeError as exc:
            return "error", f"post-quantum group probe failed: {exc}"

    with ThreadPoolExecutor(max_workers=min(options.max_workers, len(endpoints) or 1)) as pool:
        return dict(zip(endpoints, pool.map(one, endpoints), strict=True))


def _requests(attempt: Discovery, endpoints: list[str], options: TlsOptions,
              ca_file: Path | None, context: DiscoveryContext) -> dict[Any, tuple[str, Any]]:
    """One sslyze scan request per endpoint, by request uuid."""
    sslyze, checker = import_sslyze()
    commands = _scan_commands(sslyze, checker, context, attempt.system.risk_tier)
    requests = {}
    for endpoint in endpoints:
        try:
            request = _request(sslyze, endpoint, options, ca_file, commands)
        except sslyze.ServerHostnameCouldNotBeResolved as exc:
            attempt.error(f"endpoint {endpoint}: {exc}", key_uid=f"tls:{endpoint}")
            continue
        requests[request.uuid] = (endpoint, request)
    return requests


def _resolve(path: str | None, base_dir: Path) -> Path | None:
    if path is None:
        return None
    resolved = Path(path).expanduser()
    return resolved if resolved.is_absolute() else base_dir / resolved


def _scan_commands(sslyze: Any, checker: Any, context: DiscoveryContext, tier: Any) -> set[Any]:
    """Only the scans the selected controls read: certificates always (inventory)."""
    command = sslyze.ScanCommand
    commands = {command.CERTIFICATE_INFO}
    if context.needs(*CIPHER_SCAN_FACTS):
        commands |= {command.SSL_2_0_CIPHER_SUITES, command.SSL_3_0_CIPHER_SUITES,
                     command.TLS_1_0_CIPHER_SUITES, command.TLS_1_1_CIPHER_SUITES,
                     command.TLS_1_2_CIPHER_SUITES, command.TLS_1_3_CIPHER_SUITES,
                     command.ELLIPTIC_CURVES}
    profile = context.policy.for_tier("tls_mozilla_profile", tier)
    if context.needs("mozilla_profile_issues") and profile != "none":
        commands |= set(checker.SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER)
    return commands


def _request(sslyze: Any, endpoint: str, options: TlsOptions, ca_file: Path | None,
             commands: set[Any]) -> Any:
    host, port = parse_endpoint(endpoint)
    extra = sslyze.ScanCommandsExtraArguments(
        certificate_info=sslyze.CertificateInfoExtraArgument(custom_ca_file=ca_file)
    ) if ca_file else sslyze.ScanCommandsExtraArguments()
    return sslyze.ServerScanRequest(
        server_location=sslyze.ServerNetworkLocation(hostname=host, port=port),
        network_configuration=sslyze.ServerNetworkConfiguration(
            tls_server_name_indication=options.server_name or host,
            network_timeout=options.timeout,  # sslyze annotates int; a float works
            network_max_retries=options.retries),
        scan_commands=commands,
        scan_commands_extra_arguments=extra,
    )


def probe(endpoint: str, timeout: float, server_name: str | None = None) -> str | None:
    """None if ``endpoint`` answers a TLS handshake (even to refuse it), else why not."""
    host, port = parse_endpoint(endpoint)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as exc:
        return f"cannot resolve {host}: {exc.strerror}"
    except ConnectionRefusedError:
        return "connection refused"
    except TimeoutError:
        return f"no TCP connection within {timeout:g} s (timeout)"
    except OSError as exc:
        return f"cannot connect: {exc.strerror or exc}"
    with sock:
        try:
            with _probe_context().wrap_socket(sock, server_hostname=server_name or host):
                return None
        except TimeoutError:
            return f"no answer to the TLS handshake within {timeout:g} s (timeout)"
        except (ssl.SSLError, OSError):
            return None  # it answered: what it accepts is sslyze's to find out


def _probe_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # any version will do for a probe
        context.minimum_version = ssl.TLSVersion.TLSv1
    return context
