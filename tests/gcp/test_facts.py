"""Cloud KMS answers as facts, without a server: members, roles, states, origins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pytest_cryptoaudit.facts import Action, KeyOrigin, KeyState, PrincipalKind
from pytest_cryptoaudit.providers.gcp_kms.facts import (
    Binding,
    KeyAnswer,
    Trust,
    Version,
    algorithm_fields,
    days,
    grants,
    import_wrapping,
    key_state,
    managed_facts,
    member_kind,
    outside,
)

TRUST = Trust(frozenset({"prod-app"}), frozenset({"example.com"}))
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("member", "kind", "is_outside"), [
    ("allUsers", PrincipalKind.ANYONE, False),
    ("allAuthenticatedUsers", PrincipalKind.ANYONE, False),
    ("user:alice@example.com", PrincipalKind.USER, False),
    ("user:alice@EXAMPLE.com", PrincipalKind.USER, False),
    ("user:mallory@example.org", PrincipalKind.USER, True),
    ("group:ops@example.com", PrincipalKind.GROUP, False),
    ("domain:example.com", PrincipalKind.ACCOUNT, False),
    ("domain:partner.example", PrincipalKind.ACCOUNT, True),
    ("serviceAccount:app@prod-app.iam.gserviceaccount.com", PrincipalKind.ROLE, False),
    ("serviceAccount:app@other-app.iam.gserviceaccount.com", PrincipalKind.ROLE, True),
    ("serviceAccount:123-compute@developer.gserviceaccount.com", PrincipalKind.ROLE, True),
    ("serviceAccount:service-42@gcp-sa-ekms.iam.gserviceaccount.com",
     PrincipalKind.SERVICE, False),
    ("serviceAccount:service-42@gs-project-accounts.iam.gserviceaccount.com",
     PrincipalKind.SERVICE, False),
    ("projectOwner:prod-app", PrincipalKind.ACCOUNT, False),
    ("projectEditor:someone-else", PrincipalKind.ACCOUNT, True),
    ("principalSet://iam.googleapis.com/locations/global/workforcePools/p/*",
     PrincipalKind.UNKNOWN, True),
    ("deleted:user:gone@example.com?uid=1", PrincipalKind.UNKNOWN, True),
])
def test_members_are_classified_and_judged_inside_or_outside(member, kind, is_outside):
    assert member_kind(member) is kind
    assert outside(member, TRUST) is is_outside


def test_bindings_become_grants_with_actions_and_conditions():
    found = grants([Binding("roles/cloudkms.admin", ("user:a@example.com",)),
                    Binding("roles/cloudkms.cryptoKeyEncrypter", ("allUsers",), True),
                    Binding("projects/p/roles/custom", ("group:g@example.com",))],
                   "key ring", TRUST)
    admin, public, custom = found
    assert admin.actions == (Action.DELETE, Action.GRANT, Action.MANAGE)
    assert admin.ref == "key ring binding roles/cloudkms.admin"
    assert public.restricted and not public.is_public  # a condition narrows the binding
    assert custom.actions == () and "permissions not read" in custom.ref


def _version(state: str, number: int = 1, **more) -> Version:
    return Version(f"k/cryptoKeyVersions/{number}", state, "HSM",
                   "GOOGLE_SYMMETRIC_ENCRYPTION", created=NOW, **more)


@pytest.mark.parametrize(("states", "expected"), [
    (["DESTROYED", "ENABLED"], (KeyState.ENABLED, "ENABLED")),
    (["DESTROYED", "DESTROY_SCHEDULED"], (KeyState.PENDING_DELETION, "DESTROY_SCHEDULED")),
    (["DESTROYED"], (KeyState.DESTROYED, "DESTROYED")),
    (["IMPORT_FAILED"], (KeyState.UNAVAILABLE, "IMPORT_FAILED")),
    ([], (KeyState.DESTROYED, "NO_VERSIONS")),
])
def test_a_key_without_primary_takes_the_most_usable_state_of_its_versions(states, expected):
    versions = [_version(state, n) for n, state in enumerate(states, start=1)]
    assert key_state(None, versions) == expected


def test_the_primary_version_decides_the_state_of_a_symmetric_key():
    primary = _version("DESTROY_SCHEDULED", 2)
    assert key_state(primary, [_version("ENABLED"), primary]) == (
        KeyState.PENDING_DELETION, "DESTROY_SCHEDULED")


def _key(**changes) -> KeyAnswer:
    values = dict(name="projects/p/locations/l/keyRings/r/cryptoKeys/k",
                  purpose="ENCRYPT_DECRYPT", protection="HSM",
                  template_algorithm="GOOGLE_SYMMETRIC_ENCRYPTION", created=NOW, labels={},
                  import_only=False, rotation_seconds=90 * 86400.0,
                  next_rotation=NOW + timedelta(days=10), destroy_scheduled_seconds=86400.0,
                  backend="", primary=None, versions=(_version("ENABLED"),))
    values.update(changes)
    return KeyAnswer(**values)


def test_rotation_needs_a_period_and_a_next_rotation_time():
    assert managed_facts(_key(), None).rotation.automatic is True
    assert managed_facts(_key(next_rotation=None), None).rotation.automatic is False
    assert managed_facts(_key(rotation_seconds=None), None).rotation.automatic is False
    assert managed_facts(_key(purpose="ASYMMETRIC_SIGN"), None).rotation is None


def test_imported_and_external_keys():
    imported = managed_facts(_key(versions=(_version("ENABLED", import_job="j"),)), None)
    assert (imported.origin, imported.material_expires, imported.can_rotate) == (
        KeyOrigin.IMPORTED, False, False)
    external = managed_facts(_key(protection="EXTERNAL"), None)
    assert (external.origin, external.key_store) == (KeyOrigin.EXTERNAL, "Cloud EKM")


def test_periods_round_up_and_unknown_algorithms_are_unreadable():
    assert days(90 * 86400 + 1) == 91
    assert days(None) is None
    assert algorithm_fields("EC_SIGN_P256_SHA256") == {
        "algorithm": "EC", "size": 256, "curve": "secp256r1"}
    assert "unknown Cloud KMS algorithm" in algorithm_fields("NEW_ALGO")["unreadable"]["size"]


def test_an_unreported_destroy_delay_is_unreadable_not_a_default():
    from pytest_cryptoaudit.providers.gcp_kms.discovery import record_fields

    key = _key(destroy_scheduled_seconds=None)
    facts = managed_facts(key, None)
    unreadable: dict[str, str] = {}
    record_fields(key, facts, unreadable)
    assert facts.destroy_delay_days is None
    assert "destroyScheduledDuration" in unreadable["managed.destroy_delay_days"]
    assert managed_facts(_key(destroy_scheduled_seconds=7 * 86400.0), None
                         ).destroy_delay_days == 7


@pytest.mark.parametrize(("method", "expected"), [
    ("RSA_OAEP_3072_SHA1_AES_256", ("rsa-oaep", "sha1", 3072)),
    ("RSA_OAEP_4096_SHA256_AES_256", ("rsa-oaep", "sha256", 4096)),
    ("RSA_OAEP_3072_SHA256", ("rsa-oaep", "sha256", 3072)),
    ("HPKE_KEM_ML_KEM_768_HKDF_SHA256_AES_256_GCM", ("hpke", "sha256", None)),
    ("HPKE_KEM_XWING_HKDF_SHA256_AES_256_GCM", ("hpke", "sha256", None)),
])
def test_import_methods_become_wrapping_facts(method, expected):
    wrapping = import_wrapping(method)
    assert wrapping is not None
    assert (wrapping.scheme, wrapping.hash, wrapping.rsa_bits, wrapping.native) == (
        *expected, method)


@pytest.mark.parametrize("method", ["IMPORT_METHOD_UNSPECIFIED", "RSA_PKCS1_2048", ""])
def test_an_unknown_import_method_is_not_guessed(method):
    assert import_wrapping(method) is None


def test_every_import_method_of_the_sdk_is_known():
    from google.cloud import kms_v1

    methods = [m.name for m in kms_v1.ImportJob.ImportMethod if m.value]
    assert methods
    assert [m for m in methods if import_wrapping(m) is None] == []
