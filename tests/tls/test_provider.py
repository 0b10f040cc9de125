"""The TLS provider's options, probe and discovery, outside a full audit run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pytest_cryptoaudit.config import ConfigError, parse_config
from pytest_cryptoaudit.policy import BUILTIN_SETTINGS
from pytest_cryptoaudit.providers import DiscoveryContext, ProviderRegistry
from pytest_cryptoaudit.providers.tls import TlsProvider, parse_endpoint, probe
from pytest_cryptoaudit.serialize import inventory_from_dict, inventory_to_dict


def configure(**options):
    registry = ProviderRegistry()
    settings = [*BUILTIN_SETTINGS, *TlsProvider.policy_settings]
    data = {"systems": [{"name": "web", "provider": "tls", "risk_tier": "high",
                         "ssrm_owner": "CSC", "accountable_owner": "web-team",
                         **options}]}
    return parse_config(data, registry, settings)


def discover(audit_config, *, controls=None, base_dir=Path(".")):
    context = DiscoveryContext(policy=audit_config.policy, now=datetime.now(UTC),
                               base_dir=base_dir, selected_controls=controls)
    return TlsProvider().discover(audit_config.systems[0], context)


@pytest.mark.parametrize(("text", "expected"), [
    ("example.test:443", ("example.test", 443)),
    ("127.0.0.1:8443", ("127.0.0.1", 8443)),
    ("[::1]:443", ("::1", 443)),
])
def test_parse_endpoint(text, expected):
    assert parse_endpoint(text) == expected


@pytest.mark.parametrize(("endpoints", "complaint"), [
    (["example.test"], "expected host:port"),
    (["example.test:0"], "out of range"),
    (["::1:443"], "[address]:port"),
    (["a.test:443", "a.test:443"], "listed twice: a.test:443"),
    ([], "at least 1 item"),
])
def test_bad_endpoints_are_usage_errors(endpoints, complaint):
    with pytest.raises(ConfigError, match="endpoints") as error:
        configure(endpoints=endpoints)
    assert complaint in str(error.value)


def test_unknown_option_and_wrong_type_are_usage_errors():
    with pytest.raises(ConfigError, match=r"\.verify: unknown key"):
        configure(endpoints=["a.test:443"], verify=False)
    with pytest.raises(ConfigError, match=r"\.timeout: "):
        configure(endpoints=["a.test:443"], timeout="5")


def test_probe_names_why_an_endpoint_is_unreachable(refused_endpoint, silent_endpoint):
    assert probe(refused_endpoint, 1.0) == "connection refused"
    assert "within 0.3 s (timeout)" in probe(silent_endpoint, 0.3)
    assert probe("host.invalid:443", 1.0).startswith("cannot resolve host.invalid")


def test_probe_accepts_any_answering_server(tls_lab):
    assert probe(tls_lab.legacy.endpoint, 2.0) is None
    assert probe(tls_lab.modern.endpoint, 2.0) is None


def test_missing_ca_file_is_a_system_error(tmp_path):
    attempt = discover(configure(endpoints=["a.test:443"], ca_file="missing.pem"),
                       base_dir=tmp_path)
    assert [e.reason for e in attempt.errors] == [f"ca_file {tmp_path / 'missing.pem'}: "
                                                 "no such file"]
    assert attempt.errors[0].key_uid is None and not attempt.endpoints


def test_only_the_scans_selected_controls_need(tls_lab):
    audit_config = configure(endpoints=[tls_lab.modern.endpoint], server_name="localhost",
                             ca_file=str(tls_lab.pki.ca_file))
    attempt = discover(audit_config, controls=frozenset({"CEK-12"}))
    (endpoint,) = attempt.endpoints
    assert "protocols" not in endpoint.attributes
    assert "mozilla_profile_issues" not in endpoint.attributes
    assert endpoint.unreadable == {}
    assert [k.uid for k in attempt.keys] == endpoint.attributes["certificates"]
    assert attempt.keys[0].attributes["validated"] is True


def test_endpoints_survive_the_json_round_trip(tls_lab):
    from pytest_cryptoaudit.model import Inventory

    audit_config = configure(endpoints=[tls_lab.modern.endpoint],
                             ca_file=str(tls_lab.pki.ca_file))
    attempt = discover(audit_config, controls=frozenset({"CEK-12"}))
    inventory = Inventory.build(attempt.keys, [attempt.system], attempt.errors,
                                attempt.endpoints)
    assert inventory_from_dict(inventory_to_dict(inventory)) == inventory
