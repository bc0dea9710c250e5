"""An address proven by the code mailed to it is its owner's: the accounts that hold it
without having confirmed it give it up (portal.accounts.services.unconfirmed_holders_release),
so that a stranger's sign-up at someone's address, never confirmed, does not keep its owner
from adding it to their own account."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from portal.audit.models import AuditAction, AuditEvent
from portal.organisations.models import PlatformRoleGrant
from portal.privacy.models import HoldTarget, LegalHold
from tests.factories import UserFactory
from tests.onboarding.approval_helpers import post_confirming_access
from tests.smtp import text_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache")]

User = get_user_model()
ADDRESS = "asha.k@mha.gov.in"
STRANGERS_PASSWORD = "Stranger-pass-123"


def code_in(message):
    return re.search(r"Please enter it in your open browser window\.\s+(\S+)", text_of(message))[1]


def added_and_confirmed(client, smtp_server, capture, address=ADDRESS):
    """``address`` added on the email page of ``client``'s account, and the code the mail to
    it carries entered: the answer to the code."""
    with capture(execute=True):
        response = post_confirming_access(client, "/accounts/email/", {"action_add": "", "email": address})
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    [message] = [m for m in smtp_server.messages if m["To"] == address][-1:]
    with capture(execute=True):
        return client.post("/accounts/confirm-email/", {"code": code_in(message)})


def signed_in(user):
    client = Client(REMOTE_ADDR="198.51.100.8")
    client.force_login(user)
    return client


def test_a_strangers_sign_up_never_confirmed_does_not_keep_the_owner_from_their_address(
        smtp_server, django_capture_on_commit_callbacks):
    """A stranger signs up with Asha's official address and never confirms it (the code goes to
    Asha). Asha adds the address to her own account and enters the code mailed to it: it is
    hers; the stranger's account, never confirmed nor signed in to, is gone, audited as the
    address removed by its owner; the stranger's page asking the code answers without a
    server error, and the stranger's password opens nothing."""
    stranger = Client(REMOTE_ADDR="198.51.100.7")
    with django_capture_on_commit_callbacks(execute=True):
        response = stranger.post("/accounts/signup/", {"email": ADDRESS, "password1": STRANGERS_PASSWORD,
                                                       "password2": STRANGERS_PASSWORD})
    assert response.status_code == 302
    squatter = User.objects.get(email=ADDRESS)
    signed_up = AuditEvent.objects.get(action=AuditAction.USER_SIGNED_UP, target_id=str(squatter.pk))
    assert signed_up.ip == "198.51.100.7"

    asha = UserFactory(email="asha.personal@dept1.gov.in")
    client = signed_in(asha)
    response = added_and_confirmed(client, smtp_server, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert "already registered" not in client.get("/accounts/email/").content.decode()
    asha.refresh_from_db()
    assert asha.email == ADDRESS
    assert EmailAddress.objects.get(user=asha, email=ADDRESS).verified
    assert not User.objects.filter(pk=squatter.pk).exists()
    event = AuditEvent.objects.get(action=AuditAction.USER_EMAIL_REMOVED, target_id=str(squatter.pk))
    assert event.actor_id == asha.pk and event.target_type == "accounts.user"
    assert event.old_values == {"email": ADDRESS, "verified": False}
    assert event.new_values == {"confirmed_by_owner": True, "account_deleted": True}
    signed_up.refresh_from_db()  # erased as the retention of unused accounts erases it
    assert signed_up.redacted_at is not None and signed_up.ip is None and signed_up.actor_email == ""

    response = stranger.post("/accounts/confirm-email/", {"code": "ABC-DEF"})
    assert response.status_code in (200, 302)
    assert stranger.get("/accounts/confirm-email/").status_code in (200, 302)
    other = Client(REMOTE_ADDR="198.51.100.9")
    response = other.post("/accounts/login/", {"login": ADDRESS, "password": STRANGERS_PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in other.session


def test_an_address_added_to_another_account_and_never_confirmed_is_taken_off_it(
        smtp_server, django_capture_on_commit_callbacks):
    """An address a staff account added to someone else's account "for its owner to
    confirm", never confirmed: confirmed by Asha, it is taken off that account (audited), which
    keeps its own."""
    other = UserFactory(email="other.officer@mha.gov.in")
    EmailAddress.objects.create(user=other, email=ADDRESS, verified=False, primary=False)
    asha = UserFactory(email="asha.personal@dept1.gov.in")
    assert added_and_confirmed(signed_in(asha), smtp_server, django_capture_on_commit_callbacks).status_code == 302
    asha.refresh_from_db()
    assert asha.email == ADDRESS
    assert list(EmailAddress.objects.filter(user=other).values_list("email", flat=True)) == [other.email]
    event = AuditEvent.objects.get(action=AuditAction.USER_EMAIL_REMOVED, target_id=str(other.pk))
    assert event.actor_id == asha.pk and event.new_values == {"confirmed_by_owner": True}


def holder_signed_in_once():
    holder = UserFactory(email=ADDRESS, verified=False)
    User.objects.filter(pk=holder.pk).update(last_login="2026-01-05T10:00:00Z")
    return holder


def holder_unconfirmed_with_a_role():
    holder = UserFactory(email=ADDRESS, verified=False)
    PlatformRoleGrant.objects.create(user=holder, role="state_admin", jurisdiction="MH")
    return holder


@pytest.mark.parametrize("holder", [
    pytest.param(lambda: UserFactory(email=ADDRESS), id="confirmed"),
    pytest.param(holder_signed_in_once, id="signed-in-once"),
    pytest.param(holder_unconfirmed_with_a_role, id="holding-a-role"),
])
def test_an_account_that_confirmed_the_address_or_was_used_keeps_it(holder, smtp_server,
                                                                     django_capture_on_commit_callbacks):
    """The address of an account that confirmed it, was signed in to, or holds a role stays
    that account's: the code is refused as allauth refuses it, nothing changes."""
    held = holder()
    asha = UserFactory(email="asha.personal@dept1.gov.in")
    response = added_and_confirmed(signed_in(asha), smtp_server, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert "A user is already registered with this email address." in response.content.decode()
    asha.refresh_from_db()
    assert asha.email == "asha.personal@dept1.gov.in"
    assert User.objects.get(pk=held.pk).email == ADDRESS
    assert not AuditEvent.objects.filter(action=AuditAction.USER_EMAIL_REMOVED).exists()


def test_a_sign_up_under_a_legal_hold_keeps_the_address(smtp_server, django_capture_on_commit_callbacks):
    """A sign-up held for an inquiry (someone signing up with others' addresses) is not
    deleted: it keeps the address, and the owner is refused as for a used account."""
    squatter = UserFactory(email=ADDRESS, verified=False)
    LegalHold.objects.create(target_type=HoldTarget.PERSON, target_id=squatter.pk, reason="Impersonation inquiry",
                             set_by=UserFactory(), set_at=timezone.now())
    asha = UserFactory(email="asha.personal@dept1.gov.in")
    response = added_and_confirmed(signed_in(asha), smtp_server, django_capture_on_commit_callbacks)
    assert "A user is already registered with this email address." in response.content.decode()
    assert User.objects.filter(pk=squatter.pk, email=ADDRESS).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.USER_EMAIL_REMOVED).exists()


def test_a_wrong_code_releases_nothing(smtp_server, django_capture_on_commit_callbacks):
    """Only the right code proves the address: a wrong one leaves the stranger's sign-up as it is."""
    squatter = UserFactory(email=ADDRESS, verified=False)
    asha = UserFactory(email="asha.personal@dept1.gov.in")
    client = signed_in(asha)
    with django_capture_on_commit_callbacks(execute=True):
        post_confirming_access(client, "/accounts/email/", {"action_add": "", "email": ADDRESS})
    response = client.post("/accounts/confirm-email/", {"code": "WRONG-CODE"})
    assert response.status_code == 200
    assert User.objects.filter(pk=squatter.pk, email=ADDRESS).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.USER_EMAIL_REMOVED).exists()
