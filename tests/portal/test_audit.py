"""The audit log: a hash chain that ``manage.py verify_audit`` checks, and on
PostgreSQL a trigger that refuses any UPDATE or DELETE (those tests use the
require_postgresql fixture of tests/conftest.py)."""

import ipaddress
import random
import threading
from datetime import timedelta
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test import Client, RequestFactory

from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import (
    GENESIS,
    audit_record,
    audit_record_many,
    audit_verify,
    audit_verify_report,
    event_digest,
    stored_ip,
)
from tests.factories import PASSWORD, PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import (
    make_superadmin,
    post_confirming_access,
    second_factor_given,
    signed_in,
    totp_code,
    with_totp,
)
from tests.onboarding.form_helpers import complete, submit, upload
from tests.onboarding_data import minimal_pdf
from tests.portal.audit_helpers import appended_once_the_head_is_read, tampering

pytestmark = pytest.mark.django_db


def verify():
    """Run verify_audit; return (stdout, stderr) or raise CommandError with stderr attached."""
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except CommandError as exc:
        exc.stderr = err.getvalue()
        raise
    return out.getvalue(), err.getvalue()


@pytest.fixture
def real_actions(officer, officer_client, django_capture_on_commit_callbacks):
    """Audit events written by real requests: sign-in through allauth, an application
    filled, uploaded and submitted, an official-email rule added by a superadmin."""
    client = Client()
    assert client.post("/accounts/login/", {"login": officer.email, "password": PASSWORD}).status_code == 302
    assert client.post("/onboarding/start/").status_code == 302
    application = complete(client, officer.applications.get())
    upload(client, application, minimal_pdf(pages=2), name="letter-v2.pdf")
    submit(client, application, django_capture_on_commit_callbacks)

    root = make_superadmin(email="root@sandes.nic.in")
    admin = Client()
    admin.login(email=root.email, password=PASSWORD)
    second_factor_given(admin, root)
    assert admin.post("/portal/email-rules/", {"suffix": "iitb.ac.in", "kind": "official", "note": ""}).status_code == 302

    events = list(AuditEvent.objects.order_by("id"))
    actions = {event.action for event in events}
    assert {AuditAction.USER_LOGGED_IN, AuditAction.APPLICATION_CREATED, AuditAction.APPLICATION_SECTION_SAVED,
            AuditAction.APPLICATION_ATTACHMENT_UPLOADED, AuditAction.APPLICATION_SUBMITTED,
            AuditAction.EMAIL_RULE_CREATED} <= actions
    assert len(events) >= 10
    return events


def test_chain_verifies_after_real_actions(real_actions):
    out, err = verify()
    assert out.strip() == f"Audit chain intact: {len(real_actions)} events verified."
    assert err == ""
    # Each row carries the hash of the one before it.
    assert real_actions[0].prev_hash == GENESIS
    for previous, event in pairwise(real_actions):
        assert event.prev_hash == previous.hash
    assert len({event.hash for event in real_actions}) == len(real_actions)


def test_signing_out_is_audited_as_signing_in_is():
    """Signing in through allauth's page is an audit row (user.logged_in), the person as
    actor, with the address and browser it came from; signing out through its page is one
    too (user.logged_out), so the log tells when the holder ended a session. Signing out a
    session nobody is signed in to records nothing."""
    person = UserFactory(email="asha@gmail.com")
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (asha)")
    assert client.post("/accounts/login/", {"login": person.email, "password": PASSWORD}).status_code == 302
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and "_auth_user_id" not in client.session
    signed_in, signed_out = AuditEvent.objects.filter(
        action__in=[AuditAction.USER_LOGGED_IN, AuditAction.USER_LOGGED_OUT]).order_by("id")
    assert signed_out.action == AuditAction.USER_LOGGED_OUT
    assert [(e.actor_id, e.actor_email, e.target_id, e.ip, e.user_agent) for e in (signed_in, signed_out)] == [
        (person.pk, "asha@gmail.com", str(person.pk), "127.0.0.1", "Mozilla/5.0 (asha)")] * 2

    rows = AuditEvent.objects.count()
    assert Client().post("/accounts/logout/").status_code == 302
    assert AuditEvent.objects.count() == rows
    assert audit_verify() == []


@pytest.mark.django_db
def test_removing_an_email_address_through_allauths_page_is_audited():
    from allauth.account.models import EmailAddress

    person = UserFactory(email="asha@pune.mahaagri.gov.in")
    EmailAddress.objects.create(user=person, email="asha.k@mahaagri.gov.in", verified=True, primary=False)
    client = Client()
    assert client.post("/accounts/login/", {"login": person.email, "password": PASSWORD}).status_code == 302
    response = post_confirming_access(client, "/accounts/email/", {"action_remove": "", "email": "asha.k@mahaagri.gov.in"})
    assert response.status_code == 302
    assert not EmailAddress.objects.filter(email="asha.k@mahaagri.gov.in").exists()
    event = AuditEvent.objects.get(action=AuditAction.USER_EMAIL_REMOVED)
    assert event.actor_id == person.pk and event.target_id == str(person.pk)
    assert event.old_values == {"email": "asha.k@mahaagri.gov.in", "verified": True}
    assert "email" in event.personal_keys
    assert audit_verify() == []


@pytest.mark.django_db
def test_adding_an_email_address_through_allauths_page_is_audited(smtp_server, django_capture_on_commit_callbacks):
    """Confirming an address, making it primary and removing it were audited; adding it
    (allauth's email_added, sent once the code mailed to it is entered) was not."""
    from tests.verification.test_official_address import add_and_confirm

    person = UserFactory(email="asha@pune.mahaagri.gov.in")
    client = Client()
    assert client.post("/accounts/login/", {"login": person.email, "password": PASSWORD}).status_code == 302
    add_and_confirm(client, "asha.k@mahaagri.gov.in", smtp_server, django_capture_on_commit_callbacks)
    actions = [event.action for event in AuditEvent.objects.filter(actor_id=person.pk).order_by("id")]
    assert "user.email_added" in actions, actions
    assert actions.index("user.email_added") < actions.index(AuditAction.USER_EMAIL_CONFIRMED)
    event = AuditEvent.objects.get(action=AuditAction.USER_EMAIL_ADDED)
    assert event.target_id == str(person.pk)
    assert event.new_values == {"email": "asha.k@mahaagri.gov.in"}
    assert "email" in event.personal_keys
    assert audit_verify() == []


@pytest.mark.django_db
def test_every_address_a_change_of_the_accounts_address_removes_is_audited(smtp_server,
                                                                           django_capture_on_commit_callbacks):
    """Changing the account's address (ACCOUNT_CHANGE_EMAIL: a new address, confirmed with the
    code mailed to it) removes every other address of the account, the old primary one and
    one a staff account added in the admin, without allauth's email_removed: each is on
    record as removed, with what it was, the person as actor."""
    from allauth.account.models import EmailAddress

    from tests.verification.test_official_address import add_and_confirm

    person = UserFactory(email="asha@gmail.com")
    EmailAddress.objects.create(user=person, email="asha.old@yahoo.com", verified=False, primary=False)
    client = Client()
    assert client.post("/accounts/login/", {"login": person.email, "password": PASSWORD}).status_code == 302
    add_and_confirm(client, "asha.new@gmail.com", smtp_server, django_capture_on_commit_callbacks)
    assert list(EmailAddress.objects.filter(user=person).values_list("email", flat=True)) == ["asha.new@gmail.com"]
    removed = AuditEvent.objects.filter(action=AuditAction.USER_EMAIL_REMOVED).order_by("id")
    assert [(e.actor_id, e.target_id, e.old_values) for e in removed] == [
        (person.pk, str(person.pk), {"email": "asha@gmail.com", "verified": True}),
        (person.pk, str(person.pk), {"email": "asha.old@yahoo.com", "verified": False}),
    ]
    assert all("email" in event.personal_keys for event in removed)
    [changed] = AuditEvent.objects.filter(action=AuditAction.USER_EMAIL_CHANGED)
    assert (changed.old_values, changed.new_values) == ({"email": "asha@gmail.com"}, {"email": "asha.new@gmail.com"})
    assert audit_verify() == []


def test_a_second_factor_set_up_renewed_and_removed_through_allauths_pages_is_audited(django_capture_on_commit_callbacks):
    """A role holder's second factor is what their role rests on: setting it up, a recovery
    code used in its place, new recovery codes and taking it away each leave an event, the
    person as actor."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    holder = PlatformRoleFactory(role="superadmin", jurisdiction="", user__email="root@sandes.nic.in").user
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (holder)")
    assert client.post("/accounts/login/", {"login": holder.email, "password": PASSWORD}).status_code == 302
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    secret = client.session["mfa.totp.secret"]
    with django_capture_on_commit_callbacks(execute=True):  # allauth announces it once committed
        response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    totp = Authenticator.objects.get(user=holder, type="totp")
    codes = Authenticator.objects.get(user=holder, type="recovery_codes")
    added = list(AuditEvent.objects.filter(action=AuditAction.USER_AUTHENTICATOR_ADDED))
    assert [(e.actor_id, e.target_id, e.old_values, e.new_values) for e in added] == [
        (holder.pk, str(holder.pk), {}, {"type": "totp", "authenticator": totp.pk}),
        (holder.pk, str(holder.pk), {}, {"type": "recovery_codes", "authenticator": codes.pk}),
    ]
    assert added[0].user_agent == "Mozilla/5.0 (holder)"

    # Renewing the codes or taking the app off asks a code of it (portal.accounts.middleware).
    # (A recovery code: the app's current code was taken by the activation, allauth takes each once.)
    recovery = RecoveryCodes(Authenticator.objects.get(user=holder, type="recovery_codes")).get_unused_codes()[0]
    assert not AuditEvent.objects.filter(action=AuditAction.USER_RECOVERY_CODE_USED).exists()  # the app's code is not
    assert client.post("/accounts/2fa/reauthenticate/", {"code": recovery}).status_code == 302
    [used] = AuditEvent.objects.filter(action=AuditAction.USER_RECOVERY_CODE_USED)
    assert (used.actor_id, used.target_id, used.new_values) == (
        holder.pk, str(holder.pk), {"type": "recovery_codes", "authenticator": codes.pk, "reauthenticated": True})
    assert recovery not in str(used.new_values)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/accounts/2fa/recovery-codes/generate/").status_code == 302
    renewed = Authenticator.objects.get(user=holder, type="recovery_codes")
    assert renewed.pk != codes.pk
    [reset] = AuditEvent.objects.filter(action=AuditAction.USER_AUTHENTICATOR_RESET)
    assert (reset.actor_id, reset.new_values) == (holder.pk, {"type": "recovery_codes", "authenticator": renewed.pk})

    assert client.post("/accounts/2fa/totp/deactivate/").status_code == 302
    assert not Authenticator.objects.filter(user=holder).exists()
    removed = list(AuditEvent.objects.filter(action=AuditAction.USER_AUTHENTICATOR_REMOVED))
    assert [(e.actor_id, e.target_id, e.old_values, e.new_values) for e in removed] == [
        (holder.pk, str(holder.pk), {"type": "totp"}, {}),  # announced once deleted: its id is gone
        (holder.pk, str(holder.pk), {"type": "recovery_codes", "authenticator": renewed.pk}, {}),  # left without it
    ]
    assert audit_verify() == []


def test_the_django_admin_shows_no_secret_of_a_second_factor_changes_none_and_audits_its_removal():
    """Removing one takes a second factor away, as allauth's page that deactivates it does:
    it asks the administrator a code of their app given in the last five minutes first
    (the deletion page and a deletion of several send to the page asking it, nothing removed)."""
    from urllib.parse import quote

    from allauth.mfa.models import Authenticator

    from tests.onboarding.approval_helpers import totp_code

    root = UserFactory(email="root@nic.in", is_superuser=True, is_staff=True)
    root_secret = with_totp(root)
    admin = signed_in(root)
    holder = PlatformRoleFactory(role="state_admin", jurisdiction="MH", user__email="state.admin@maharashtra.gov.in").user
    secret = with_totp(holder)
    totp = Authenticator.objects.get(user=holder)
    assert admin.get("/admin/mfa/authenticator/add/").status_code == 403
    page = admin.get(f"/admin/mfa/authenticator/{totp.pk}/change/")
    assert page.status_code == 200 and secret not in page.content.decode() and "<textarea" not in page.content.decode()
    admin.post(f"/admin/mfa/authenticator/{totp.pk}/change/", {"user": root.pk, "type": "totp", "data": "{}"})
    assert Authenticator.objects.get(pk=totp.pk).user == holder

    page = f"/admin/mfa/authenticator/{totp.pk}/delete/"
    asking = f"/accounts/2fa/reauthenticate/?next={quote(page, safe='')}"
    for asked in (admin.get, lambda url: admin.post(url, {"post": "yes"})):
        assert asked(page)["Location"] == asking
    bulk = admin.post("/admin/mfa/authenticator/", {"action": "delete_selected", "_selected_action": [totp.pk],
                                                    "post": "yes"})
    assert bulk["Location"] == f"/accounts/2fa/reauthenticate/?next={quote('/admin/mfa/authenticator/', safe='')}"
    assert Authenticator.objects.filter(pk=totp.pk).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.USER_AUTHENTICATOR_REMOVED).exists()

    assert admin.post(asking, {"code": totp_code(root_secret)})["Location"] == page
    assert admin.post(page, {"post": "yes"}).status_code == 302
    assert not Authenticator.objects.filter(pk=totp.pk).exists()
    [event] = AuditEvent.objects.filter(action=AuditAction.USER_AUTHENTICATOR_REMOVED)
    assert (event.actor_id, event.target_id, event.old_values, event.new_values) == (
        root.pk, str(holder.pk), {"type": "totp", "authenticator": totp.pk}, {"deleted": True})
    assert audit_verify() == []


def test_an_organisation_admin_acts_in_the_log_as_one_naming_their_organisation():
    """Who acts is snapshotted with their roles: an organisation's admin as one (their
    decisions are theirs in that role), beside their platform roles, naming the organisation
    (its number and name: which one, an auditor could not otherwise tell). The admin roles
    are read with the platform ones; the organisations' names cost one query more than any
    other person's event, once for all the events of a request (kept with the user)."""
    from django.test.utils import CaptureQueriesContext

    from portal.accounts.models import User
    from tests.factories import OrganisationFactory
    from tests.portal.role_helpers import make_admin

    organisation = OrganisationFactory(status="active")
    admin = make_admin(organisation, email="desk.officer@mahaagri.gov.in")
    state_admin = make_admin(organisation, email="ravi.admin@maharashtra.gov.in")
    PlatformRoleFactory(user=state_admin, role="state_admin", jurisdiction="MH")
    nobody = UserFactory(email="citizen@gmail.com")

    def recorded(user):
        user = User.objects.get(pk=user.pk)  # its roles not read yet
        with CaptureQueriesContext(connection) as queries:
            event = audit_record(actor=user, action=AuditAction.USER_LOGGED_IN, target=user)
        with CaptureQueriesContext(connection) as again:  # another event of the same request
            audit_record(actor=user, action=AuditAction.USER_LOGGED_OUT, target=user)
        return (event.actor_role, event.actor_organisations), len(queries), len(again)

    (as_admin, admin_queries, admin_again), (as_both, both_queries, both_again), (
        as_nobody, nobody_queries, nobody_again) = recorded(admin), recorded(state_admin), recorded(nobody)
    named = [{"id": organisation.pk, "name": organisation.name}]
    assert (as_admin, as_both, as_nobody) == (
        ("organisation_admin", named), ("organisation_admin,state_admin:MH", named), ("user", []))
    assert admin_queries == both_queries == nobody_queries + 1
    assert admin_again == both_again == nobody_again
    assert audit_verify() == []


def test_empty_log_verifies():
    assert not AuditEvent.objects.exists()
    out, _err = verify()
    assert out.strip() == "Audit chain intact: 0 events verified."


@pytest.mark.parametrize(
    "change",
    [
        {"new_values": {"section": "organisation", "status": "complete", "changed_fields": []}},
        {"actor_email": "someone.else@mha.gov.in"},
        {"action": AuditAction.EMAIL_RULE_DELETED},
        {"ip": "10.0.0.99"},
        {"target_id": "999"},
        {"actor_organisations": [{"id": 999, "name": "Forged Office"}]},
    ],
    ids=["new values", "actor email", "action", "ip", "target", "actor organisations"],
)
def test_an_edited_row_is_detected_and_named(real_actions, change):
    victim = real_actions[len(real_actions) // 2]
    with tampering():
        assert AuditEvent.objects.filter(pk=victim.pk).update(**change) == 1
    with pytest.raises(CommandError, match=r"Audit chain broken: 1 problem\(s\)\."):
        verify()
    problems = audit_verify()
    assert [(p.event_id, p.reason) for p in problems] == [
        (victim.pk, "contents do not match the stored hash: the row was edited")
    ]
    try:
        verify()
    except CommandError as exc:
        assert f"audit event {victim.pk}: contents do not match the stored hash" in exc.stderr


def test_an_edited_time_is_detected(real_actions):
    victim = real_actions[3]
    with tampering():
        AuditEvent.objects.filter(pk=victim.pk).update(created_at=victim.created_at - timedelta(days=1))
    assert [p.event_id for p in audit_verify()] == [victim.pk]


def test_a_row_edited_with_its_hash_recomputed_breaks_the_next_link(real_actions):
    index = len(real_actions) // 2
    victim, following = real_actions[index], real_actions[index + 1]
    forged = dict(
        created_at=victim.created_at, actor_id=victim.actor_id, actor_email="forger@mha.gov.in",
        actor_role=victim.actor_role, action=victim.action, target_type=victim.target_type, target_id=victim.target_id,
        target_repr=victim.target_repr, old_values=victim.old_values, new_values=victim.new_values, ip=victim.ip,
        user_agent=victim.user_agent,
    )
    with tampering():
        AuditEvent.objects.filter(pk=victim.pk).update(
            actor_email="forger@mha.gov.in", hash=event_digest(prev_hash=victim.prev_hash, **forged)
        )
    problems = audit_verify()
    assert [(p.event_id, p.reason) for p in problems] == [
        (following.pk, "previous hash does not match: a row before it was changed or deleted")
    ]
    with pytest.raises(CommandError):
        verify()


def test_a_deleted_middle_row_is_detected(real_actions):
    index = len(real_actions) // 2
    deleted, following = real_actions[index], real_actions[index + 1]
    with tampering():
        assert AuditEvent.objects.filter(pk=deleted.pk).delete()[0] == 1
    with pytest.raises(CommandError, match=r"Audit chain broken: 1 problem\(s\)\.") as excinfo:
        verify()
    assert (
        f"audit event {following.pk}: previous hash does not match: a row before it was changed or deleted"
        in excinfo.value.stderr
    )


def test_a_deleted_first_row_is_detected(real_actions):
    with tampering():
        AuditEvent.objects.filter(pk=real_actions[0].pk).delete()
    assert [p.event_id for p in audit_verify()] == [real_actions[1].pk]


# PostgreSQL: the trigger ---------------------------------------------------------------

@pytest.mark.usefixtures("require_postgresql")
def test_postgresql_refuses_update(real_actions):
    victim = real_actions[2]
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        AuditEvent.objects.filter(pk=victim.pk).update(actor_email="x@mha.gov.in")
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x'")
    victim.refresh_from_db()
    assert victim.actor_email == real_actions[2].actor_email
    verify()


@pytest.mark.usefixtures("require_postgresql")
def test_postgresql_refuses_delete(real_actions):
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        AuditEvent.objects.filter(pk=real_actions[2].pk).delete()
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == count
    verify()


@pytest.mark.usefixtures("require_postgresql")
def test_postgresql_trigger_is_installed():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_auditevent'::regclass AND NOT tgisinternal"
            " ORDER BY tgname"
        )
        assert [row[0] for row in cursor.fetchall()] == ["audit_event_append_only", "audit_event_no_truncate"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("require_postgresql")
def test_postgresql_concurrent_appends_keep_one_chain():
    """Appends from several connections at once still form one chain (the advisory lock)."""
    user = UserFactory(email="busy@mha.gov.in")
    errors = []
    barrier = threading.Barrier(4)

    def writer(n):
        try:
            barrier.wait(timeout=10)
            for i in range(15):
                with transaction.atomic():
                    audit_record(actor=user, action=AuditAction.USER_LOGGED_IN, target=user, new={"writer": n, "i": i})
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert AuditEvent.objects.count() == 60
    assert audit_verify() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("require_postgresql")
def test_an_event_appended_while_the_chain_is_verified_is_not_tampering(monkeypatch):
    """The verifier reads the head and the rows as of one moment: an event another
    request commits meanwhile is after both (the next walk reads it), not "rows at the
    end were deleted"."""
    user = UserFactory(email="busy@mha.gov.in")
    for _ in range(3):
        audit_record(actor=user, action=AuditAction.USER_LOGGED_IN, target=user)
    appended = appended_once_the_head_is_read(monkeypatch, user)
    report = audit_verify_report()
    assert appended
    assert (report.problems, report.count) == ([], 3)
    assert AuditEvent.objects.count() == 4 and audit_verify() == []


def test_rows_deleted_from_the_end_are_detected(real_actions):
    last_two = [event.pk for event in real_actions[-2:]]
    with tampering():
        assert AuditEvent.objects.filter(pk__in=last_two).delete()[0] == 2
    problems = audit_verify()
    assert [(p.event_id, p.reason) for p in problems] == [
        (
            last_two[-1],
            f"the newest event written was {last_two[-1]} but the log ends at {real_actions[-3].pk}: "
            "rows at the end were deleted",
        )
    ]
    with pytest.raises(CommandError):
        verify()


def test_the_newest_event_renumbered_is_detected(real_actions):
    """Someone with the database gives the newest event another number: nothing its hash
    covers changes, but the head (sealed) names a number the log no longer holds, as do the
    heads published before and every reference to the event by its number."""
    last = real_actions[-1]
    with tampering(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET id = id + 1000 WHERE id = %s", [last.pk])
    assert AuditEvent.objects.filter(pk=last.pk + 1000, hash=last.hash).exists()
    problems = audit_verify()
    assert [(p.event_id, p.code, p.reason) for p in problems] == [
        (last.pk, "end_renumbered",
         f"the newest event written was {last.pk} but the log ends at {last.pk + 1000}, with its hash: "
         "the event was renumbered"),
    ]
    with pytest.raises(CommandError):
        verify()


# The client's address, as the row keeps it ------------------------------------------------

# As a request gives it: as the row keeps it and its hash covers it (None: not an address).
CLIENT_ADDRESSES = {
    "203.0.113.7": "203.0.113.7",
    "fe80::1%eth0": "fe80::1",  # a link-local peer, with its zone id, as the socket layer reports it
    "2001:DB8:0:0:0:0:0:1": "2001:db8::1",
    "::ffff:203.0.113.7": "::ffff:203.0.113.7",
    "not an address": None,
}


@pytest.mark.parametrize(("given", "kept"), CLIENT_ADDRESSES.items())
def test_an_untouched_row_verifies_whatever_form_its_address_came_in(given, kept):
    """The hash covers the address as the inet column keeps it: a link-local peer's zone
    id, which PostgreSQL drops, made an untouched row fail as edited; a value that is no
    address is kept as none (it failed the write)."""
    request = RequestFactory().get("/", REMOTE_ADDR=given)
    event = audit_record(actor=None, action=AuditAction.USER_LOGGED_IN, request=request)
    [batch] = audit_record_many([{"action": AuditAction.USER_LOGGED_IN}], request=request)
    audit_record(actor=None, action=AuditAction.USER_LOGGED_IN, ip=given)
    assert event.ip == batch.ip == kept
    assert set(AuditEvent.objects.values_list("ip", flat=True)) == {kept}
    assert audit_verify() == []
    verify()


def _postgresql_keeps(addresses):
    with connection.cursor() as cursor:
        cursor.execute("SELECT a::inet FROM unnest(%s::text[]) WITH ORDINALITY AS t(a, n) ORDER BY n",
                       [addresses])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.usefixtures("require_postgresql")
def test_an_address_is_hashed_as_postgresql_keeps_it_and_rows_written_before_still_verify():
    """stored_ip gives each address as PostgreSQL's inet keeps it (an IPv4 address inside
    an IPv6 one written dotted, as PostgreSQL writes it), and gives back unchanged what
    PostgreSQL kept: a row written before, whose hash covers the address as given, hashed
    what the column kept whenever it verified, and hashes the same now."""
    chosen = ["0.0.0.0", "255.255.255.255", "::", "::1", "::2", "::1.2.3.4", "::0.1.0.0", "::ffff:0:0",
              "::ffff:1.2.3.4", "::ffff:0:1.2.3.4", "::ffff:1:0", "0:0:0:0:0:1:0:0", "1::", "1:0:0:2::3",
              "1:0:0:2:0:0:0:3", "2001:db8:0:0:1:0:0:1", "64:ff9b::1.2.3.4", "FE80::ABCD:0:0:1", "fe80::1%eth0",
              "fe80::1%2"]
    generator = random.Random(5952)
    # Addresses whose hextets are mostly zero, so that every place of the zeros (and of an
    # IPv4 address at the end) is tried.
    drawn = [str(ipaddress.IPv6Address(bytes(generator.choice([0, 0, 0, generator.randrange(256)])
                                             for _ in range(16)))) for _ in range(2000)]
    drawn += [f"::{generator.choice(['', 'ffff:'])}{generator.randrange(256)}.{generator.randrange(256)}."
              f"{generator.randrange(256)}.{generator.randrange(256)}" for _ in range(500)]
    given = chosen + drawn
    kept = _postgresql_keeps([value.split("%")[0] for value in given])
    assert [stored_ip(value) for value in given] == kept
    assert [stored_ip(value) for value in kept] == kept
    # Each as an event, through the real column: every row verifies.
    for value in chosen:
        audit_record(actor=None, action=AuditAction.USER_LOGGED_IN, ip=value)
    assert audit_verify() == []



@pytest.mark.parametrize("value", [1e16, -0.0, float("nan"), float("inf"), 0.25])
def test_fractions_are_kept_as_text_so_the_event_hashes_as_read_back(value):
    """jsonb gives 1e16 back as 10000000000000000 and -0.0 as 0, and refuses NaN and infinity: a
    fraction is stored as its text, and the event verifies (no action is lost to its audit event)."""
    user = UserFactory(email="asha@mha.gov.in")
    event = audit_record(actor=user, action=AuditAction.MONITORING_EXPORTED, new={"figure": value, "list": [value]})
    event.refresh_from_db()
    assert event.new_values == {"figure": repr(value), "list": [repr(value)]}
    assert audit_verify() == []
