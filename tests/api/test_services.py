"""Registering and revoking API clients: the token returned once and stored only as
its hash, audited in the same transaction, refused to anyone but the organisation's
admins (or those above it) and superadmins."""

import hashlib
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from api.models import ApiClient
from api.services import ClientRevokedAlready, api_client_create, api_client_revoke
from api.tokens import PREFIX_LENGTH
from portal.audit.models import AuditAction, AuditEvent
from portal.organisations.models import OrganisationStatus
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_token_is_returned_once_and_only_its_hash_is_stored(world):
    client, token = api_client_create(organisation_id=world["a"].pk, name="District HRMS", actor=world["admin_a"])
    assert token.startswith("sandes_") and len(token) >= 7 + 8 + 1 + 43
    assert client.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert client.token_prefix == token[:PREFIX_LENGTH]
    assert client.created_by == world["admin_a"] and client.created_at and client.revoked_at is None
    # Nowhere in the database: not the client's row, not the audit log.
    secret = token[PREFIX_LENGTH:]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apiclient")
        assert secret not in repr(cursor.fetchall())
        cursor.execute("SELECT old_values, new_values, target_repr FROM audit_auditevent")
        assert secret not in repr(cursor.fetchall())
    event = AuditEvent.objects.get(action=AuditAction.API_CLIENT_CREATED, target_id=str(client.pk))
    assert event.actor_email == "admin@mahaagri.gov.in"
    assert event.new_values == {"name": "District HRMS", "organisation": world["a"].pk, "token_prefix": client.token_prefix}


def test_every_token_is_different(world, settings):
    settings.API_CLIENTS_PER_ORGANISATION = 21  # twenty of them in use at once, with e-Office
    tokens = {api_client_create(organisation_id=world["a"].pk, name=f"App {i}", actor=world["admin_a"])[1]
              for i in range(20)}
    assert len(tokens) == 20


def test_an_admin_above_and_a_superadmin_may_register(world):
    api_client_create(organisation_id=world["office"].pk, name="Office app", actor=world["admin_a"])
    api_client_create(organisation_id=world["b"].pk, name="Root's app", actor=world["superadmin"])


def test_an_admin_of_a_suspended_organisation_registers_no_client_for_an_office_below_it(world):
    """An admin role counts only while the organisation it was granted on is active: the
    admin of a suspended department no longer manages the API clients of its active offices."""
    client, _token = api_client_create(organisation_id=world["office"].pk, name="Office app", actor=world["admin_a"])
    world["a"].status = OrganisationStatus.SUSPENDED
    world["a"].save(update_fields=["status"])
    admin = type(world["admin_a"]).objects.get(pk=world["admin_a"].pk)
    with pytest.raises(PermissionDenied):
        api_client_create(organisation_id=world["office"].pk, name="Another app", actor=admin)
    with pytest.raises(PermissionDenied):
        api_client_revoke(client_id=client.pk, actor=admin)
    assert not ApiClient.objects.filter(name="Another app").exists()


@pytest.mark.parametrize("who", ["admin_b", "auditor", "outsider"])
def test_anyone_else_may_not_register(world, who):
    actor = UserFactory(email="someone@gmail.com") if who == "outsider" else world[who]
    with pytest.raises(PermissionDenied):
        api_client_create(organisation_id=world["a"].pk, name="Sneaky", actor=actor)
    assert not ApiClient.objects.filter(name="Sneaky").exists()


@pytest.mark.parametrize("name,code", [("", "required"), ("   ", "required"), ("x" * 101, "max_length"),
                                       ("e-Office", "duplicate"), ("  e-Office\n", "duplicate"),
                                       ("App\udcff", "undecodable"),  # bytes that were not UTF-8
                                       ("\u200b\u2060\ufeff", "required")])  # nothing visible
def test_names_are_required_bounded_and_unique_among_clients_in_use(world, name, code):
    with pytest.raises(ValidationError) as raised:
        api_client_create(organisation_id=world["a"].pk, name=name, actor=world["admin_a"])
    assert raised.value.error_dict["name"][0].code == code


def test_a_revoked_clients_name_may_be_used_again(world):
    api_client_revoke(client_id=world["client_a"].pk, actor=world["admin_a"])
    client, _token = api_client_create(organisation_id=world["a"].pk, name="e-Office", actor=world["admin_a"])
    assert client.pk != world["client_a"].pk


def test_two_registrations_at_once_cannot_both_pass_the_limit(transactional_db, world, settings, require_postgresql):
    """Counted under the organisation's lock: two admins registering the last client
    the limit allows at the same moment get one client, and the other is told why."""
    settings.API_CLIENTS_PER_ORGANISATION = 2  # e-Office and one more
    barrier, results = threading.Barrier(2), []

    def register(name):
        try:
            barrier.wait(10)
            api_client_create(organisation_id=world["a"].pk, name=name, actor=world["admin_a"])
            results.append("registered")
        except ValidationError as exc:
            results.append(exc.error_dict["name"][0].code)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(name,)) for name in ("Payroll", "Attendance")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["registered", "too_many"]
    assert ApiClient.objects.filter(organisation=world["a"], revoked_at__isnull=True).count() == 2


def test_an_organisation_not_active_registers_none(world):
    waiting = OrganisationFactory(status=OrganisationStatus.PENDING)
    with pytest.raises(ValidationError):
        api_client_create(organisation_id=waiting.pk, name="App", actor=world["superadmin"])


def test_revoking_is_audited_once(world):
    client = api_client_revoke(client_id=world["client_a"].pk, actor=world["admin_a"])
    assert client.revoked_at is not None and client.revoked_by == world["admin_a"]
    with pytest.raises(ClientRevokedAlready) as again:
        api_client_revoke(client_id=world["client_a"].pk, actor=world["admin_a"])
    assert (again.value.client.revoked_at, again.value.client.revoked_by) == (client.revoked_at, world["admin_a"])
    events = AuditEvent.objects.filter(action=AuditAction.API_CLIENT_REVOKED, target_id=str(client.pk))
    assert events.count() == 1
    assert events.get().new_values == {"revoked": True, "name": "e-Office", "organisation": world["a"].pk}


@pytest.mark.parametrize("who", ["admin_b", "auditor"])
def test_anyone_else_may_not_revoke(world, who):
    with pytest.raises(PermissionDenied):
        api_client_revoke(client_id=world["client_a"].pk, actor=world[who])
    assert ApiClient.objects.get(pk=world["client_a"].pk).revoked_at is None
