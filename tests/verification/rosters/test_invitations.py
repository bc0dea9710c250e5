"""Invitations: accepted through allauth's real sign-up and email confirmation (the
code mailed over a loopback SMTP server), only for the invited address and while the
link works; sent again with a new link; refused to a personal mail address; the link's page."""

import re
from datetime import datetime, time, timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.accounts.models import EmailSuffixRule, SuffixKind
from portal.audit.models import AuditAction, AuditEvent
from portal.mail.models import OutboxMessage, OutboxPriority
from portal.mail.services import outbox_enqueue
from portal.organisations.models import Membership, MembershipRole, OrganisationDomain, OrganisationStatus
from tests.factories import OrganisationFactory, UserFactory
from tests.html_tree import field_error, field_value, form_as_sent
from tests.html_tree import page as html_page
from tests.onboarding.approval_helpers import delivered_body, post_confirming_access, with_totp
from tests.smtp import text_of
from tests.verification.helpers import GovernmentProfileFactory, contacts_shown_to_verified_users, make_admin, signed_in
from tests.verification.rosters.helpers import csv_bytes, person, upload
from verification.models import GovernmentProfile, VerificationMethod, VerificationStatus
from verification.rosters import services
from verification.rosters.apply import roster_apply_run
from verification.rosters.invitations import MAX_SENDS, invitation_accept, invitation_cancel, invitation_resend, mails_forget
from verification.rosters.models import Invitation, InvitationMail, InvitationStatus
from verification.rosters.notifications import LINK_MARK, build_invitation_mails

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase"
LINK = re.compile(r"/verification/invitations/([A-Za-z0-9_-]{43})/")


@pytest.fixture
def invited(world, django_capture_on_commit_callbacks):
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(4)]))
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    return Invitation.objects.get()


def verification_code_in(body):
    """The sign-up code in a mail in any language: the one line of letter and digit groups."""
    (code,) = re.findall(r"^\s*([A-Z0-9]{3,}(?:-[A-Z0-9]{3,})+)\s*$", body, flags=re.MULTILINE)
    return code


def sign_up_and_confirm(email, smtp_server, capture):
    client = Client()
    before = len(smtp_server.messages)
    with capture(execute=True):
        response = client.post("/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302, response.content[:2000]
    body = text_of(smtp_server.messages[before])
    code = re.search(r"Please enter it in your open browser window\.\s+(\S+)", body)[1]
    with capture(execute=True):
        response = client.post("/accounts/confirm-email/", {"code": code})
    assert response.status_code == 302
    return client


def test_signing_up_and_confirming_the_invited_address_verifies_the_person(
        world, invited, smtp_server, django_capture_on_commit_callbacks):
    link = LINK.search(delivered_body(OutboxMessage.objects.get(to=[invited.email])))[0]
    page = Client().get(link)
    assert page.status_code == 200 and b"sign up (or sign in) with that address" in page.content
    assert page["Referrer-Policy"] == "same-origin"  # its language switch posts (no "Origin: null")

    client = sign_up_and_confirm("Person4@pune.mahaagri.gov.in", smtp_server, django_capture_on_commit_callbacks)
    invited.refresh_from_db()
    assert invited.status == InvitationStatus.ACCEPTED and invited.accepted_by.email == "person4@pune.mahaagri.gov.in"
    profile = GovernmentProfile.objects.get(user=invited.accepted_by)
    assert (profile.status, profile.method, profile.organisation, profile.verified_by) == (
        VerificationStatus.VERIFIED, VerificationMethod.ROSTER, world["office"], world["admin_office"])
    assert (profile.designation, profile.employee_code, profile.mobile) == ("Clerk", "E00004", "+919876500004")
    assert profile.verified_name == "Person 4"  # the roster's name, which its admin vouched for
    assert AuditEvent.objects.get(action=AuditAction.INVITATION_ACCEPTED).new_values["outcome"] == "verified"
    assert b"Verified" in client.get("/verification/").content
    assert Client().get(link).status_code == 410  # accepted: the link says so


def test_the_invitation_page_sends_its_address_to_no_other_site_and_its_own_forms_pass_the_csrf_check(
        world, invited, django_capture_on_commit_callbacks):
    """The link's page keeps its secret on this site: "same-origin" sends its address in a
    Referer to this site only (its static files and links here; no header of a request is
    logged, and the access log's paths are redacted), to another site never, and the page
    loads nothing from another site (CSP "default-src 'self'"). Not "no-referrer": under it
    a browser posts the page's own forms (the acceptance, the language switch) with
    "Origin: null", which Django's CSRF check refuses."""
    link = LINK.search(delivered_body(OutboxMessage.objects.get(to=[invited.email])))[0]
    person = UserFactory(email=invited.email.lower())
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    page = client.get(link)
    assert page.status_code == 200 and b"Accept the invitation" in page.content
    assert page["Referrer-Policy"] == "same-origin"
    assert "default-src 'self'" in page["Content-Security-Policy"]
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]

    refused = client.post(link, {"csrfmiddlewaretoken": csrf}, HTTP_ORIGIN="null")  # as from a no-referrer page
    assert refused.status_code == 403
    invited.refresh_from_db()
    assert invited.status == InvitationStatus.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        accepted = client.post(link, {"csrfmiddlewaretoken": csrf}, HTTP_ORIGIN="http://testserver")
    assert accepted.status_code == 302
    invited.refresh_from_db()
    assert invited.status == InvitationStatus.ACCEPTED


def test_the_person_is_told_in_the_language_they_confirmed_the_invited_address_in(
        world, invited, smtp_server, django_capture_on_commit_callbacks):
    client = Client()
    client.cookies["django_language"] = "hi"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/signup/", {"email": invited.email, "password1": PASSWORD, "password2": PASSWORD})
    code = verification_code_in(text_of(smtp_server.messages[-1]))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/accounts/confirm-email/", {"code": code}).status_code == 302
    profile = GovernmentProfile.objects.get(user__email=invited.email)
    assert (profile.status, profile.request_language) == (VerificationStatus.VERIFIED, "hi")
    told = OutboxMessage.objects.filter(to=[invited.email], subject__contains=world["office"].name).latest("pk")
    assert told.subject.startswith("आप ") and "सत्यापित" in told.subject, told.subject


def test_someone_verified_from_a_roster_is_told_in_the_language_they_last_asked_in(
        world, django_capture_on_commit_callbacks):
    """They are not on a page when the roster is applied: the language of their last
    request (here one another organisation rejected, asked in Marathi) is theirs."""
    person_ = UserFactory(email="person7@pune.mahaagri.gov.in", full_name="Person Seven")
    GovernmentProfileFactory(user=person_, organisation=world["other"], status=VerificationStatus.REJECTED,
                             official_email=person_.email, request_language="mr")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(7)]))
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    profile = GovernmentProfile.objects.get(user=person_, organisation=world["office"])
    assert (profile.status, profile.request_language) == (VerificationStatus.VERIFIED, "mr")
    told = OutboxMessage.objects.get(to=[person_.email], subject__contains=world["office"].name)
    assert "पडताळणी" in told.subject, told.subject


def test_another_address_is_not_verified(world, invited, smtp_server, django_capture_on_commit_callbacks):
    sign_up_and_confirm("someone.else@pune.mahaagri.gov.in", smtp_server, django_capture_on_commit_callbacks)
    invited.refresh_from_db()
    assert invited.status == InvitationStatus.PENDING
    assert not GovernmentProfile.objects.exists()


def test_an_invited_address_a_superuser_marks_verified_in_the_admin_accepts_no_invitation_in_the_persons_name(
        world, invited, django_capture_on_commit_callbacks):
    """The admin's "Mark selected email addresses as verified" is the superuser's decision,
    not the person confirming their address: the invitation to it is not accepted in the
    person's name on the superuser's click; it waits for the person, who accepts it on the
    link's page, signed in."""
    root = UserFactory(email="root@nic.in", is_superuser=True, is_staff=True)
    with_totp(root)
    holder = UserFactory(email="person4.home@gmail.com")
    address = EmailAddress.objects.create(user=holder, email=invited.email, verified=False, primary=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(root).post("/admin/account/emailaddress/",
                                        {"action": "make_verified", "_selected_action": [address.pk], "index": 0})
    assert response.status_code == 302
    assert EmailAddress.objects.get(pk=address.pk).verified
    invited.refresh_from_db()
    assert invited.status == InvitationStatus.PENDING
    assert not GovernmentProfile.objects.filter(user=holder).exists()
    assert not AuditEvent.objects.filter(action__in=[AuditAction.INVITATION_ACCEPTED,
                                                     AuditAction.USER_EMAIL_CONFIRMED]).exists()

    link = LINK.search(delivered_body(OutboxMessage.objects.get(to=[invited.email])))[0]
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(holder).post(link)
    invited.refresh_from_db()
    assert (invited.status, invited.accepted_by) == (InvitationStatus.ACCEPTED, holder)
    event = AuditEvent.objects.get(action=AuditAction.INVITATION_ACCEPTED)
    assert event.actor_id == holder.pk


def test_an_expired_invitation_verifies_nobody(world, invited, smtp_server, django_capture_on_commit_callbacks):
    link = LINK.search(delivered_body(OutboxMessage.objects.get(to=[invited.email])))[0]
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert Client().get(link).status_code == 410
        sign_up_and_confirm(invited.email, smtp_server, django_capture_on_commit_callbacks)
    invited.refresh_from_db()
    assert invited.status == InvitationStatus.PENDING
    assert not GovernmentProfile.objects.exists()


def test_the_invitation_ttl_is_a_setting(world, settings, django_capture_on_commit_callbacks):
    settings.ROSTER_INVITATION_TTL_DAYS = 3
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(7)]))
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    invitation = Invitation.objects.get()
    last_day = timezone.localdate(invitation.sent_at) + timedelta(days=3)
    assert timezone.localtime(invitation.expires_at) == datetime.combine(last_day, time.max, tzinfo=timezone.get_current_timezone())


def local(day, hour, minute=0):
    """That moment of ``day`` in the portal's time (India's)."""
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


def test_an_invitation_link_works_to_the_end_of_the_day_its_mail_names(world, settings, django_capture_on_commit_callbacks):
    """The mail says "The link works until <day>", a day and no hour: sent at 10:00 (India's
    time), the link still works in the evening of that day and stops at its end, as the yearly
    confirmation's links do. A link sent again the same: its day counted from the new sending."""
    settings.ROSTER_INVITATION_TTL_DAYS = 30
    sent_on = timezone.localdate() + timedelta(days=1)
    with time_machine.travel(local(sent_on, 10), tick=False):
        roster = upload(world["office"], world["admin_office"], csv_bytes([person(4)]))
        with django_capture_on_commit_callbacks(execute=True):
            services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    invitation = Invitation.objects.get()
    for sent_again_on in (None, sent_on + timedelta(days=27)):
        if sent_again_on is not None:
            with time_machine.travel(local(sent_again_on, 15), tick=False), \
                    django_capture_on_commit_callbacks(execute=True):
                invitation_resend(invitation_id=invitation.pk, actor=world["admin_office"])
        last_day = (sent_again_on or sent_on) + timedelta(days=30)
        body = delivered_body(OutboxMessage.objects.filter(to=[invitation.email]).latest("id"))
        assert f"The link works until {last_day.day} {last_day:%B %Y}." in body
        link = LINK.search(body)[0]
        with time_machine.travel(local(last_day, 23, 59), tick=False):
            assert Client().get(link).status_code == 200
        with time_machine.travel(local(last_day + timedelta(days=1), 0), tick=False):
            assert Client().get(link).status_code == 410


def test_an_invitation_is_sent_again_with_a_new_link_that_alone_works(world, invited, django_capture_on_commit_callbacks):
    old_link = LINK.search(delivered_body(OutboxMessage.objects.get(to=[invited.email])))[0]
    Invitation.objects.filter(pk=invited.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert Client().get(old_link).status_code == 410  # expired
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(world["admin_office"]).post(f"/verification/invitations/{invited.pk}/resend/", follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "The invitation was sent again to person4@pune.mahaagri.gov.in with a new link."]
    new_link = LINK.search(delivered_body(OutboxMessage.objects.filter(to=[invited.email]).latest("id")))[0]
    assert new_link != old_link
    assert Client().get(old_link).status_code == 404
    assert Client().get(new_link).status_code == 200
    invited.refresh_from_db()
    assert invited.send_count == 2 and invited.expires_at > timezone.now() + timedelta(days=29)
    assert AuditEvent.objects.get(action=AuditAction.INVITATION_RESENT).actor_id == world["admin_office"].pk


def test_sending_again_is_bounded_and_refused_to_a_personal_address(world, invited):
    from django.core.exceptions import ValidationError

    Invitation.objects.filter(pk=invited.pk).update(send_count=MAX_SENDS)
    with pytest.raises(ValidationError, match="sent 5 times already"):
        invitation_resend(invitation_id=invited.pk, actor=world["admin_office"])
    Invitation.objects.filter(pk=invited.pk).update(send_count=1)
    # The domain became a consumer mail service since the roster was applied.
    EmailSuffixRule.objects.create(suffix="pune.mahaagri.gov.in", kind=SuffixKind.CONSUMER)
    with pytest.raises(ValidationError, match="not an official address"):
        invitation_resend(invitation_id=invited.pk, actor=world["admin_office"])
    assert Invitation.objects.get().send_count == 1


def test_an_invitation_whose_link_works_is_sent_again_an_hour_after_the_last_sending_at_the_earliest(
        world, invited, django_capture_on_commit_callbacks):
    """A double click, or a script, does not mail the person again and again: within an
    hour of the last sending, while the link works, the admin is told when it can be sent."""
    client = signed_in(world["admin_office"])
    sent = OutboxMessage.objects.filter(to=[invited.email]).count()
    response = client.post(f"/verification/invitations/{invited.pk}/resend/", follow=True)
    [said] = [str(m) for m in response.context["messages"]]
    assert said.startswith("This invitation was sent at ") and "it can be sent again from" in said, said
    assert OutboxMessage.objects.filter(to=[invited.email]).count() == sent
    assert Invitation.objects.get().send_count == 1
    Invitation.objects.filter(pk=invited.pk).update(sent_at=timezone.now() - timedelta(hours=1, seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(invitation_id=invited.pk, actor=world["admin_office"])
    assert OutboxMessage.objects.filter(to=[invited.email]).count() == sent + 1


def test_one_administrator_sends_invitations_again_at_most_so_many_times_a_day(
        world, settings, django_capture_on_commit_callbacks):
    """Each invitation is sent again at most once an hour and five times in all, but an
    administrator of an organisation with thousands waiting could send every one of them
    again, hour after hour: at most INVITATION_RESENDS_PER_DAY in 24 hours per
    administrator, whichever invitations, then told when the next may go."""
    settings.INVITATION_RESENDS_PER_DAY = 2
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(4), person(5), person(6)]))
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    Invitation.objects.update(sent_at=timezone.now() - timedelta(hours=2))
    first, second, third = Invitation.objects.order_by("pk")
    for invitation in (first, second):
        invitation_resend(invitation_id=invitation.pk, actor=world["admin_office"])
    sent = OutboxMessage.objects.count()
    client = signed_in(world["admin_office"])
    response = client.post(f"/verification/invitations/{third.pk}/resend/", follow=True)
    [said] = [str(m) for m in response.context["messages"]]
    assert said.startswith("You have sent 2 invitations again in the last 24 hours, the most one administrator may: "
                           "this one was not sent. You can send it again from "), said
    assert OutboxMessage.objects.count() == sent
    assert Invitation.objects.get(pk=third.pk).send_count == 1
    # Another administrator's are their own; a day later, this one's again.
    other = make_admin(world["office"], email="other.admin@pune.mahaagri.gov.in")
    invitation_resend(invitation_id=third.pk, actor=other)
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        invitation_resend(invitation_id=first.pk, actor=world["admin_office"])


def test_a_consumer_address_is_never_invited(world):
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(4, **{"Official email": "x@gmail.com"})]))
    assert (roster.invite_count, roster.refused_count) == (0, 1)


def test_another_organisations_admin_cannot_resend(world, invited):
    assert signed_in(world["admin_other"]).post(f"/verification/invitations/{invited.pk}/resend/").status_code == 404
    assert Invitation.objects.get().send_count == 1


def test_an_invitation_sent_by_mistake_is_cancelled_once_confirmed_and_its_link_verifies_nobody(
        world, invited, smtp_server, django_capture_on_commit_callbacks):
    link = LINK.search(delivered_body(OutboxMessage.objects.get(to=[invited.email])))[0]
    client = signed_in(world["admin_office"])
    listing = client.get(f"/verification/organisations/{world['office'].pk}/invitations/").content.decode()
    assert f'href="/verification/invitations/{invited.pk}/cancel/"' in listing
    page = client.get(f"/verification/invitations/{invited.pk}/cancel/")
    assert page.status_code == 200 and b"This cannot be undone" in page.content
    # Whom it tells: nobody (the person keeps the mail whose link stops working).
    assert ("The person is not told by email: if they need to know, tell them yourself."
            in " ".join(page.content.decode().split()))
    response = client.post(f"/verification/invitations/{invited.pk}/cancel/", {})  # the box not ticked
    assert response.status_code == 400
    assert "Tick the box to confirm that you want to cancel this invitation." in response.content.decode()
    invited.refresh_from_db()
    assert invited.status == InvitationStatus.PENDING

    response = client.post(f"/verification/invitations/{invited.pk}/cancel/", {"confirm": "on"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "The invitation to person4@pune.mahaagri.gov.in was cancelled: its link no longer works."]
    invited.refresh_from_db()
    assert invited.status == InvitationStatus.CANCELLED
    assert OutboxMessage.objects.filter(to=[invited.email]).count() == 1  # the invitation only, as the page said
    event = AuditEvent.objects.get(action=AuditAction.INVITATION_CANCELLED)
    assert (event.actor_id, event.target_id) == (world["admin_office"].pk, str(invited.pk))
    assert Client().get(link).status_code == 404
    sign_up_and_confirm(invited.email, smtp_server, django_capture_on_commit_callbacks)
    assert not GovernmentProfile.objects.exists()
    # Once cancelled, there is nothing to cancel or send: said, nothing changed.
    response = client.post(f"/verification/invitations/{invited.pk}/cancel/", {"confirm": "on"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "This invitation was accepted or cancelled already: there is nothing to cancel."]
    assert AuditEvent.objects.filter(action=AuditAction.INVITATION_CANCELLED).count() == 1


def test_only_an_admin_of_the_organisation_cancels_its_invitation(world, invited):
    for outsider in ("admin_other", "auditor", "person"):
        response = signed_in(world[outsider]).post(f"/verification/invitations/{invited.pk}/cancel/", {"confirm": "on"})
        assert response.status_code in (403, 404), outsider
    assert signed_in(world["admin_parent"]).get(f"/verification/invitations/{invited.pk}/cancel/").status_code == 200
    assert Invitation.objects.get().status == InvitationStatus.PENDING
    assert not AuditEvent.objects.filter(action=AuditAction.INVITATION_CANCELLED).exists()


def test_cancelling_or_sending_again_an_invitation_on_page_2_leads_back_to_page_2(world):
    """The row's cancel link and its send-again form carry the list's status and page (only
    those, as the list takes them), as do the cancel page's way back and where both lead."""
    office, now = world["office"], timezone.now()
    for i in range(60):
        Invitation.objects.create(
            organisation=office, email=f"invitee{i:02d}@pune.mahaagri.gov.in", mailbox=f"invitee{i:02d}@pune.mahaagri.gov.in",
            name=f"Invitee {i:02d}", designation="Clerk", office="Section", employee_code=f"E{i}", mobile="+919876500000",
            token_hash=f"{i:064d}", invited_by=world["admin_office"], created_at=now - timedelta(minutes=i),
            sent_at=now - timedelta(hours=2, minutes=i), expires_at=now + timedelta(days=7))
    client = signed_in(world["admin_office"])
    listing = f"/verification/organisations/{office.pk}/invitations/"
    place = "?status=pending&page=2"
    html = client.get(listing + place + "&other=1").content.decode()
    [invitation, *_] = re.findall(r'href="/verification/invitations/(\d+)/cancel/\?status=pending&amp;page=2"', html)
    assert f'action="/verification/invitations/{invitation}/resend/?status=pending&amp;page=2"' in html
    assert f'href="{listing}?status=pending&amp;page=2"' in client.get(
        f"/verification/invitations/{invitation}/cancel/{place}").content.decode()
    response = client.post(f"/verification/invitations/{invitation}/resend/{place}")
    assert response.status_code == 302 and response["Location"] == listing + place
    response = client.post(f"/verification/invitations/{invitation}/cancel/{place}", {"confirm": "on"})
    assert response.status_code == 302 and response["Location"] == listing + place
    assert Invitation.objects.get(pk=invitation).status == InvitationStatus.CANCELLED
    # Nothing the list would not take is carried.
    response = client.post(f"/verification/invitations/{invitation}/cancel/?status=lost&page=0", {"confirm": "on"})
    assert response["Location"] == listing


@pytest.mark.parametrize("token", ["x" * 43, "short", "a" * 200])
def test_an_unknown_link_is_404(db, token):
    assert Client().get(f"/verification/invitations/{token}/").status_code == 404


def test_a_roster_s_invitation_mails_are_stored_as_each_would_be_on_its_own(world, django_capture_on_commit_callbacks):
    """The batch's mails (one statement for all) hold what each message built and
    stored on its own holds: its subject, its body with the person's name made inert
    and their own link, its sender and recipient, nothing else."""
    names = ["Asha Kulkarni", "See www.example.com or me@example.com", f"{LINK_MARK} x", "https://evil.example/x", "Dr. A. B. Rao"]
    rows = [person(20 + i, Name=name) for i, name in enumerate(names)]
    roster = upload(world["office"], world["admin_office"], csv_bytes(rows))
    with django_capture_on_commit_callbacks(execute=False):  # the mails are not sent: they keep their links
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
        roster_apply_run(roster_id=roster.pk)
    batch = {row.to[0]: row for row in OutboxMessage.objects.all()}
    assert len(batch) == len(names)
    # Mass mail, sent after any other (a sign-up code does not wait behind a roster).
    assert {row.priority for row in batch.values()} == {OutboxPriority.BULK}
    invitations = {invitation.email: invitation for invitation in Invitation.objects.all()}
    for address, stored in batch.items():
        token = LINK.search(stored.body)[1]
        invitation = invitations[address]
        (alone,) = outbox_enqueue(messages=build_invitation_mails(
            organisation=world["office"], expires_at=invitation.expires_at,
            invitees=[(address, invitation.name, token)]))
        fields = ("subject", "body", "html_body", "from_email", "to", "cc", "bcc", "reply_to", "attachments", "headers",
                  "status", "attempts", "last_error")
        assert {f: getattr(stored, f) for f in fields} == {f: getattr(alone, f) for f in fields}, address
        assert re.fullmatch(r"<[0-9a-f]{32}@[^<>@]+>", stored.message_id)
        assert stored.message_id.split("@")[1] == alone.message_id.split("@")[1]


def confirm_added_address(user, address, capture):
    """allauth's own confirmation of an address the person added to their account."""
    email = EmailAddress.objects.create(user=user, email=address, verified=False, primary=False)
    request = RequestFactory().get("/")
    request.user, request.session = user, SessionStore()
    request._messages = FallbackStorage(request)
    with capture(execute=True):
        EmailConfirmationHMAC(email).confirm(request)
    return [str(message) for message in request._messages]


def test_confirming_an_invited_address_verifies_no_auditor(world, django_capture_on_commit_callbacks):
    """An auditor's account is read-only: confirming an address a roster invited, on the
    organisation's own domain, does not make them its verified member, nor leaves a
    request waiting; the invitation is accepted and the audit event says why."""
    address = "audit.officer@pune.mahaagri.gov.in"
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1, **{"Official email": address})]))
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    invitation = Invitation.objects.get(email=address)
    told = confirm_added_address(world["auditor"], address, django_capture_on_commit_callbacks)
    assert (f"{world['office'].name} invited you, but an auditor's account is read-only: it cannot be verified by "
            "an organisation, so nothing was changed.") in told
    assert not GovernmentProfile.objects.filter(user=world["auditor"]).exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    event = AuditEvent.objects.get(action=AuditAction.INVITATION_ACCEPTED, target_id=str(invitation.pk))
    assert event.new_values["outcome"] == "auditor"


def test_confirming_an_invited_address_does_not_move_someone_verified_elsewhere(
        world, django_capture_on_commit_callbacks):
    """A roster refuses the row of someone verified in another organisation at an address
    not on its domains; an invitation to such an address, confirmed later by a person
    verified elsewhere (and an admin there), does not move them either."""
    admin = world["admin_parent"]
    held = GovernmentProfileFactory(user=admin, organisation=world["parent"], status=VerificationStatus.VERIFIED,
                                    official_email=admin.email)
    # Not the department's last admin: that one could not give up the address the role rests on.
    make_admin(world["parent"], email="second.admin@mahaagri.gov.in", full_name="Second Admin")
    address = "admin.parent2@mahaagri.gov.in"  # on the Maharashtra department's domain, not the inviter's
    roster = upload(world["other"], world["admin_other"], csv_bytes([person(1, **{"Official email": address})]))
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_other"])
    roster_apply_run(roster_id=roster.pk)
    invitation = Invitation.objects.get(email=address, organisation=world["other"])

    told = confirm_added_address(admin, address, django_capture_on_commit_callbacks)
    other = world["other"].name
    assert (f"{other} invited you, but you are a verified user of another organisation, so nothing was "
                        f"changed. If you are moving to {other}, ask it to verify you from the Verification page.") in told

    # Confirming it made it the account's address (ACCOUNT_CHANGE_EMAIL): the verification
    # that rested on the old one is suspended; the person is still not moved.
    held.refresh_from_db()
    assert (held.status, held.reason_code) == (VerificationStatus.SUSPENDED, "address_removed")
    assert not GovernmentProfile.objects.filter(user=admin, organisation=world["other"]).exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    event = AuditEvent.objects.get(action=AuditAction.INVITATION_ACCEPTED, target_id=str(invitation.pk))
    assert event.new_values["outcome"] == "verified_elsewhere"


def test_confirming_an_invited_address_whose_mobile_number_another_verified_person_holds_verifies_nobody(
        world, invited, smtp_server, django_capture_on_commit_callbacks):
    """Since the invitation was sent another person was verified with its mobile number
    (from another invitation, say): confirming the address does not verify a second
    holder; the invitation is accepted and the audit event says why."""
    holder = UserFactory(email="ravi.rao@karhealth.gov.in")
    GovernmentProfileFactory(user=holder, organisation=world["other"], status=VerificationStatus.VERIFIED,
                             official_email=holder.email, mobile=invited.mobile)
    contacts_shown_to_verified_users(world["other"])
    sign_up_and_confirm(invited.email, smtp_server, django_capture_on_commit_callbacks)
    invited.refresh_from_db()
    assert invited.status == InvitationStatus.ACCEPTED
    assert not GovernmentProfile.objects.filter(user=invited.accepted_by, status=VerificationStatus.VERIFIED).exists()
    assert AuditEvent.objects.get(action=AuditAction.INVITATION_ACCEPTED).new_values["outcome"] == "mobile_taken"


def test_an_expired_invitation_is_replaced_by_the_next_roster_that_lists_the_person(
        world, invited, django_capture_on_commit_callbacks):
    """The link works 30 days; a roster listing the person after that used to find the
    expired invitation "unchanged" (and the database allows one waiting invitation a
    person): they could never be invited again. It is cancelled, a new one sent."""
    with time_machine.travel(timezone.now() + timedelta(days=40)):
        again = upload(world["office"], world["admin_office"], csv_bytes([person(4)]))
        assert (again.invite_count, again.unchanged_count) == (1, 0)
        with django_capture_on_commit_callbacks(execute=True):
            services.roster_apply_request(roster_id=again.pk, actor=world["admin_office"])
        again.refresh_from_db()
        assert again.outcome == {"invited": 1}
        invited.refresh_from_db()
        assert invited.status == InvitationStatus.CANCELLED
        live = Invitation.objects.get(status=InvitationStatus.PENDING)
        assert live.email == invited.email and live.expires_at > timezone.now()
        assert OutboxMessage.objects.filter(to=[invited.email]).count() == 2
        sent = AuditEvent.objects.filter(action=AuditAction.INVITATION_SENT).latest("id")
        assert sent.new_values["expired_cancelled"] == [invited.pk]


def test_an_invitation_accepted_while_its_organisation_is_suspended_leaves_a_waiting_request(world, invited):
    """Nobody is verified in a suspended organisation; the person who confirms the invited
    address meanwhile has their request wait in its queue (made from the roster's details),
    for when it is active again: the invitation, used up, is not lost for nothing."""
    organisation = invited.organisation
    organisation.status = OrganisationStatus.SUSPENDED
    organisation.save(update_fields=["status"])
    user = UserFactory(email=invited.email)
    EmailAddress.objects.update_or_create(user=user, email=invited.email, defaults={"verified": True, "primary": True})
    invitation_accept(user=user, email=invited.email)
    invited.refresh_from_db()
    assert invited.status == InvitationStatus.ACCEPTED
    waiting = GovernmentProfile.objects.get(user=user, organisation=organisation)
    assert waiting.status == VerificationStatus.PENDING
    assert (waiting.official_email, waiting.designation) == (invited.email, invited.designation)
    event = AuditEvent.objects.get(action=AuditAction.INVITATION_ACCEPTED)
    assert event.new_values["outcome"] == "waiting"
    assert_request_audited(waiting, user, invited)


def assert_request_audited(waiting, user, invitation):
    """The request made in the person's name has a history of its own (every change is an
    audit row): asked by the person who confirmed the invited address, naming the invitation."""
    [event] = AuditEvent.objects.filter(target_type="verification.governmentprofile", target_id=str(waiting.pk))
    assert (event.action, event.actor_id) == (AuditAction.VERIFICATION_REQUESTED, user.pk)
    assert (event.new_values["status"], event.new_values["invitation"]) == (VerificationStatus.PENDING, invitation.pk)


def test_an_invitation_accepted_after_the_inviter_lost_the_role_leaves_an_audited_waiting_request(world, invited):
    """The admin who applied the roster no longer administers the organisation: confirming
    the invited address verifies nobody in their name, and the request made from the
    invitation waits in the queue, with its own audit row."""
    from guardian.shortcuts import remove_perm

    from portal.permissions import ADMINISTER_ORGANISATION

    remove_perm(ADMINISTER_ORGANISATION, world["admin_office"], world["office"])
    user = UserFactory(email=invited.email)
    EmailAddress.objects.update_or_create(user=user, email=invited.email, defaults={"verified": True, "primary": True})
    assert invitation_accept(user=user, email=invited.email).outcome == "waiting"
    waiting = GovernmentProfile.objects.get(user=user, organisation=world["office"])
    assert waiting.status == VerificationStatus.PENDING
    assert_request_audited(waiting, user, invited)


def test_an_invitation_resent_by_the_successor_admin_verifies_the_person_in_their_name(world, invited):
    """The admin who applied the roster was transferred (the department's admin revoked the
    role); a successor sends the invitation again, a new link in the office's name. The
    person confirming it was verified "by the admin who invited them", the departed one,
    found no right, and waited in the queue of the successor who had just vouched for them
    by sending it. Sending it again makes the sender the one who invites (audited)."""
    from portal.organisations.services import organisation_admin_revoke

    departing = world["admin_office"]
    successor = make_admin(world["office"], email="successor@pune.mahaagri.gov.in")
    organisation_admin_revoke(organisation_id=world["office"].pk, user_id=departing.pk, actor=world["admin_parent"],
                              reason="Transferred")
    Invitation.objects.filter(pk=invited.pk).update(sent_at=timezone.now() - timedelta(hours=2))
    invitation_resend(invitation_id=invited.pk, actor=successor)
    invited.refresh_from_db()
    assert invited.invited_by == successor
    resent = AuditEvent.objects.get(action=AuditAction.INVITATION_RESENT)
    assert resent.actor_id == successor.pk
    assert (resent.old_values, resent.new_values["invited_by_id"]) == ({"invited_by_id": departing.pk}, successor.pk)
    user = UserFactory(email=invited.email)
    EmailAddress.objects.update_or_create(user=user, email=invited.email, defaults={"verified": True, "primary": True})
    assert invitation_accept(user=user, email=invited.email).outcome == "verified"
    profile = GovernmentProfile.objects.get(user=user, organisation=world["office"])
    assert (profile.status, profile.verified_by) == (VerificationStatus.VERIFIED, successor)


@pytest.mark.parametrize("who", ["admin_other", "superadmin"])
def test_confirming_an_invited_address_verifies_no_one_holding_a_role_elsewhere_at_an_address_not_on_its_domains(
        world, who, django_capture_on_commit_callbacks):
    """A roster does not verify another organisation's admin or a superadmin at an address
    not on its domains (staging.classify, verify_row); an invitation to such an address,
    confirmed by them, does not either: the invitation is accepted and the audit event says why."""
    address = "second.address@karhealth.gov.in"  # official, on no domain of the office
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1, **{"Official email": address})]))
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    invitation = Invitation.objects.get(email=address)
    told = confirm_added_address(world[who], address, django_capture_on_commit_callbacks)
    assert (f"{world['office'].name} invited you, but you hold a role in another organisation or on the "
                        "platform, so the invitation did not make you one of its verified users. If you need to be, ask "
                        "it from the Verification page.") in told
    assert not GovernmentProfile.objects.filter(user=world[who], organisation=world["office"]).exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    event = AuditEvent.objects.get(action=AuditAction.INVITATION_ACCEPTED, target_id=str(invitation.pk))
    assert event.new_values["outcome"] == "holds_role_elsewhere"


def test_an_invitation_of_an_organisation_no_longer_active_is_not_sent_again(world, invited):
    """A suspended organisation verifies nobody: its invitations' links are not mailed again."""
    organisation = invited.organisation
    organisation.status = OrganisationStatus.SUSPENDED
    organisation.save(update_fields=["status"])
    before = OutboxMessage.objects.filter(to=[invited.email]).count()
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        with pytest.raises(ValidationError) as refused:
            invitation_resend(invitation_id=invited.pk, actor=world["admin_office"])
        assert refused.value.code == "inactive"
        response = signed_in(world["admin_office"]).post(f"/verification/invitations/{invited.pk}/resend/", follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "District Agriculture Office, Pune is not active: its invitations are not sent."]
    assert OutboxMessage.objects.filter(to=[invited.email]).count() == before
    invited.refresh_from_db()
    assert invited.send_count == 1


@pytest.mark.parametrize("language, verified, taken", [
    ("en", "District Agriculture Office, Pune invited you: you are now one of its verified users.",
     "District Agriculture Office, Pune invited you, but another verified person now has the mobile number it gave "
     "for you, so you were not verified."),
    ("hi", "District Agriculture Office, Pune ने आपको आमंत्रित किया: अब आप इसके सत्यापित उपयोगकर्ताओं में से एक हैं।",
     "District Agriculture Office, Pune ने आपको आमंत्रित किया, पर इसके दिए मोबाइल नंबर वाला अब कोई दूसरा सत्यापित व्यक्ति है"),
    ("mr", "District Agriculture Office, Pune ने तुम्हाला आमंत्रित केले: आता तुम्ही तिच्या पडताळलेल्या वापरकर्त्यांपैकी एक आहात.",
     "District Agriculture Office, Pune ने तुम्हाला आमंत्रित केले, पण तिने दिलेला मोबाइल नंबर आता दुसऱ्या पडताळलेल्या व्यक्तीकडे आहे"),
])
def test_the_person_who_confirms_an_invited_address_is_told_what_came_of_it(
        world, invited, smtp_server, django_capture_on_commit_callbacks, language, verified, taken):
    """Confirming the invited address used to end on allauth's "You have confirmed" alone,
    whether the person was verified or not: the next page says which, and when not, why
    and what to do, in the language they confirmed in."""
    def confirm(email):
        client = Client()
        client.cookies["django_language"] = language
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})
        code = verification_code_in(text_of(smtp_server.messages[-1]))
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/accounts/confirm-email/", {"code": code}, follow=True)
        assert response.status_code == 200
        return " ".join(response.content.decode().split())

    assert verified in confirm(invited.email)
    # Another invitation, whose mobile number someone else was verified with since it was sent.
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(5)]))
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    second = Invitation.objects.get(email="person5@pune.mahaagri.gov.in")
    GovernmentProfileFactory(user=UserFactory(email="ravi.rao@karhealth.gov.in"), organisation=world["other"],
                             status=VerificationStatus.VERIFIED, official_email="ravi.rao@karhealth.gov.in",
                             mobile=second.mobile)
    contacts_shown_to_verified_users(world["other"])
    page = confirm(second.email)
    assert taken in page and verified not in page


def test_confirming_an_invited_address_whose_mobile_number_is_kept_from_verified_users_verifies_them(
        world, invited, smtp_server, django_capture_on_commit_callbacks):
    """A verified holder of the invitation's number whose organisation keeps it from
    verified government users (the defaults: its admins) is no holder for the verification
    API, nor for the invitation: confirming the address verifies the person."""
    holder = UserFactory(email="ravi.rao@karhealth.gov.in")
    GovernmentProfileFactory(user=holder, organisation=world["other"], status=VerificationStatus.VERIFIED,
                             official_email=holder.email, mobile=invited.mobile)
    sign_up_and_confirm(invited.email, smtp_server, django_capture_on_commit_callbacks)
    invited.refresh_from_db()
    assert GovernmentProfile.objects.filter(user=invited.accepted_by, status=VerificationStatus.VERIFIED).exists()
    assert AuditEvent.objects.get(action=AuditAction.INVITATION_ACCEPTED).new_values["outcome"] != "mobile_taken"


def test_an_address_off_the_roster_s_domains_confirmed_already_is_invited_and_accepted_on_the_link_s_page(
        world, django_capture_on_commit_callbacks):
    """A roster invites a row at an address not on its domains whoever holds it (its
    preview and its counts tell the admin nothing of the holder): someone verified in
    another organisation, someone verified nowhere, each with the address confirmed, and
    nobody. The first two accept on the link's page, signed in (they have no address left
    to confirm): the one verified elsewhere is not moved and is told why, the other is
    verified; each acceptance is audited with what came of it."""
    elsewhere = UserFactory(email="asha.k@pune.mahaagri.gov.in", full_name="Asha K")
    held = GovernmentProfileFactory(user=elsewhere, organisation=world["office"], status=VerificationStatus.VERIFIED,
                                    official_email=elsewhere.email)
    nowhere = UserFactory(email="nobody.k@pune.mahaagri.gov.in", full_name="No Body")
    addresses = [elsewhere.email, nowhere.email, "unknown.k@pune.mahaagri.gov.in"]
    roster = upload(world["other"], world["admin_other"],
                    csv_bytes([person(i, **{"Official email": address}) for i, address in enumerate(addresses, 1)]))
    assert (roster.verify_count, roster.invite_count, roster.refused_count) == (0, 3, 0)
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_other"])
    roster.refresh_from_db()
    assert roster.outcome == {"invited": 3}
    links = {address: LINK.search(delivered_body(OutboxMessage.objects.get(to=[address])))[0] for address in addresses}

    # Signed out, or signed in with another account, the page offers no acceptance.
    assert b"Accept the invitation" not in Client().get(links[elsewhere.email]).content
    stranger = signed_in(world["person"])
    assert b"Accept the invitation" not in stranger.get(links[elsewhere.email]).content
    stranger.post(links[elsewhere.email])
    assert Invitation.objects.get(email=elsewhere.email).status == InvitationStatus.PENDING

    client = signed_in(elsewhere)
    assert b"Accept the invitation" in client.get(links[elsewhere.email]).content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(links[elsewhere.email], follow=True)
    other = world["other"].name
    assert (f"{other} invited you, but you are a verified user of another organisation, so nothing was changed."
            in " ".join(response.content.decode().split()))
    held.refresh_from_db()
    assert held.status == VerificationStatus.VERIFIED
    assert not GovernmentProfile.objects.filter(user=elsewhere, organisation=world["other"]).exists()
    invitation = Invitation.objects.get(email=elsewhere.email)
    assert (invitation.status, invitation.accepted_by) == (InvitationStatus.ACCEPTED, elsewhere)
    event = AuditEvent.objects.get(action=AuditAction.INVITATION_ACCEPTED, target_id=str(invitation.pk))
    assert event.new_values["outcome"] == "verified_elsewhere"

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(nowhere).post(links[nowhere.email], follow=True)
    assert f"{other} invited you: you are now one of its verified users." in response.content.decode()
    profile = GovernmentProfile.objects.get(user=nowhere, organisation=world["other"])
    assert (profile.status, profile.method, profile.verified_by) == (
        VerificationStatus.VERIFIED, VerificationMethod.ROSTER, world["admin_other"])


def test_the_second_language_half_of_the_invitation_opens_its_page_in_that_language(world, invited):
    """The person invited may have no account yet: the invitation is in English and then
    Marathi (the office is in Maharashtra), each half with its link. The Marathi half's
    link says its language; opened in a browser that asks for English, the page is in
    Marathi, the language set as the language switch sets it, and the address left
    without the marker (the page's own switch still changes the language)."""
    body = delivered_body(OutboxMessage.objects.get(to=[invited.email]))
    english, _sep, marathi = body.partition("\n\n---\n\n")
    [(english_path, english_query)] = re.findall(r"(/verification/invitations/[A-Za-z0-9_-]{43}/)(\S*)", english)
    [(path, query)] = re.findall(r"(/verification/invitations/[A-Za-z0-9_-]{43}/)(\S*)", marathi)
    assert path == english_path and english_query == "" and query == "?language=mr"
    browser = Client(HTTP_ACCEPT_LANGUAGE="en-IN,en;q=0.9")
    response = browser.get(path + query)
    assert response.status_code == 302 and response["Location"] == path and response["Cache-Control"]
    page = browser.get(path)
    assert page.status_code == 200 and '<html lang="mr"' in page.content.decode()
    browser.post("/i18n/setlang/", {"language": "en", "next": path})
    assert '<html lang="en"' in browser.get(path).content.decode()
    unknown = Client(HTTP_ACCEPT_LANGUAGE="en").get(path, {"language": "fr"})
    assert unknown.status_code == 200 and '<html lang="en"' in unknown.content.decode()


def _apply(organisation, admin, rows, capture):
    roster = upload(organisation, admin, csv_bytes(rows))
    with capture(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=admin)
    roster.refresh_from_db()
    return roster


def test_one_mailbox_gets_at_most_so_many_invitation_mails_a_day_from_all_organisations_together(
        world, settings, django_capture_on_commit_callbacks):
    """Each organisation may invite the same person, and each of its rosters did mail them:
    one mailbox could be flooded. At most INVITATION_MAILS_PER_ADDRESS_PER_DAY invitation
    mails reach a mailbox in 24 hours, however its address is written; a further invitation
    is made but not mailed, and its row says so (the preview counts such rows beforehand)."""
    settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY = 2
    _apply(world["office"], world["admin_office"], [person(4), person(5)], django_capture_on_commit_callbacks)
    _apply(world["other"], world["admin_other"], [person(4)], django_capture_on_commit_callbacks)
    assert OutboxMessage.objects.filter(to=["person4@pune.mahaagri.gov.in"]).count() == 2
    mails = OutboxMessage.objects.count()

    third = upload(world["parent"], world["admin_parent"],
                   csv_bytes([person(4, **{"Official email": "Person4+agri@pune.mahaagri.gov.in"}), person(5)]))
    assert (third.invite_count, third.problems.get("invite_mail_held")) == (2, 1)
    page = signed_in(world["admin_parent"]).get(f"/verification/rosters/{third.pk}/")
    assert (b"1 person to invite was sent the most invitation mails allowed in 24 hours, by any organisation"
            in page.content)
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_apply_request(roster_id=third.pk, actor=world["admin_parent"])
    third.refresh_from_db()
    assert third.outcome == {"invited": 2, "mail_held": 1}
    assert OutboxMessage.objects.count() == mails + 1  # person 5's second mail only
    held = Invitation.objects.get(organisation=world["parent"], mailbox="person4@pune.mahaagri.gov.in")
    assert (held.status, held.send_count) == (InvitationStatus.PENDING, 0)
    page = signed_in(world["admin_parent"]).get(f"/verification/rosters/{third.pk}/")
    text = page.content.decode()
    assert "Finished: 0 verified, 2 invited, 0 changed, 0 unchanged." in text
    assert "1 invited without a mail: its row is listed below." in text
    assert "Invited, not mailed:" in text and "person4+agri@pune.mahaagri.gov.in" in text
    assert "The invitation was made but not mailed: this address was sent 2 invitation mails" in text
    assert "person to invite was sent the most" not in text  # the preview's forecast, once applied
    # No row refused: the table of the rows not mailed is not titled as refusals.
    tree = html_page(page)
    assert "Invitations not mailed" in [h2.squashed_text() for h2 in tree.find_all("h2")]
    assert "refused" not in " ".join(h2.squashed_text() for h2 in tree.find_all("h2")).lower()
    table = tree.by_id("roster-refused-caption").parent
    assert table.find("caption").squashed_text() == "Invitations not mailed, with the reason"
    assert [th.squashed_text() for th in table.find("thead").find_all("th")] == ["Row", "Name and email",
                                                                                 "Why it was not mailed"]
    assert "refused" not in table.squashed_text().lower()
    listing = signed_in(world["admin_parent"]).get(f"/verification/organisations/{world['parent'].pk}/invitations/")
    assert "Not mailed yet" in listing.content.decode()


def test_cancelling_and_uploading_an_address_again_does_not_mail_it_past_the_day_s_limit(
        world, settings, django_capture_on_commit_callbacks):
    """An administrator could cancel an invitation and upload the address again, twenty
    rosters a day, each mailing the person. The third invitation in 24 hours is made but not
    mailed; sending it is refused, naming when it is possible, and then sends it at once
    (it was never sent: no wait of an hour after the last sending)."""
    settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY = 2
    admin = world["admin_office"]
    for _round in range(2):
        _apply(world["office"], admin, [person(4)], django_capture_on_commit_callbacks)
        invitation_cancel(invitation_id=Invitation.objects.get(status=InvitationStatus.PENDING).pk, actor=admin)
    roster = _apply(world["office"], admin, [person(4)], django_capture_on_commit_callbacks)
    assert roster.outcome == {"invited": 1, "mail_held": 1}
    assert OutboxMessage.objects.filter(to=["person4@pune.mahaagri.gov.in"]).count() == 2
    held = Invitation.objects.get(status=InvitationStatus.PENDING)
    response = signed_in(admin).post(f"/verification/invitations/{held.pk}/resend/", follow=True)
    [said] = [str(m) for m in response.context["messages"]]
    assert said.startswith("person4@pune.mahaagri.gov.in was sent 2 invitation mails in the last 24 hours, the most "
                           "one address may receive: this one was not sent. You can send it from "), said
    assert Invitation.objects.get(pk=held.pk).send_count == 0
    assert "Send the invitation" in signed_in(admin).get(
        f"/verification/organisations/{world['office'].pk}/invitations/").content.decode()
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        response = signed_in(admin).post(f"/verification/invitations/{held.pk}/resend/", follow=True)
    assert [str(m) for m in response.context["messages"]] == ["The invitation was sent to person4@pune.mahaagri.gov.in."]
    assert Invitation.objects.get(pk=held.pk).send_count == 1
    assert OutboxMessage.objects.filter(to=["person4@pune.mahaagri.gov.in"]).count() == 3


def test_the_invitation_mails_of_a_batch_are_bounded_by_a_fixed_number_of_statements(
        world, settings, django_capture_on_commit_callbacks):
    """Set-based: applying a batch of invitations takes as many statements for 2 people as
    for 6; the per-mailbox limit reads the batch's mailboxes once, records its mails by one
    statement, and marks the invitations it holds back (and their rows) by two more."""
    def statements(organisation, admin, rows):
        roster = upload(organisation, admin, csv_bytes(rows))
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=False):
            services.roster_apply_request(roster_id=roster.pk, actor=admin)
            roster_apply_run(roster_id=roster.pk)
        return len(queries)

    settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY = 1
    few = statements(world["office"], world["admin_office"], [person(i) for i in range(2)])
    many = statements(world["office"], world["admin_office"], [person(i) for i in range(10, 16)])
    assert few == many == APPLY_INVITING_STATEMENTS
    # The same people again, from another organisation: every mail held back.
    held = statements(world["other"], world["admin_other"], [person(i) for i in range(10, 16)])
    # No mail written to the outbox nor recorded (two fewer); the invitations and their rows
    # marked as not mailed (two more).
    assert held == APPLY_INVITING_STATEMENTS


# roster_apply_request and one run of the task inviting one batch, whatever its size (the
# request, the run's lock taken and let go, its begin, the batch's reads and writes, the empty
# batch that ends it): 57 before the per-mailbox limit, which adds three a batch: the batch's
# mailboxes locked (advisory_locks, one statement however many), the day's mails of them
# counted, and the mails sent recorded.
APPLY_INVITING_STATEMENTS = 60


def test_the_records_of_invitation_mails_are_kept_a_day(db):
    """They name people's mailboxes, and only the last 24 hours count: the daily roster job
    removes the older ones."""
    now = timezone.now()
    InvitationMail.objects.bulk_create([InvitationMail(mailbox="a@x.gov.in", sent_at=now - timedelta(hours=h))
                                        for h in (1, 23, 25, 48)])
    assert mails_forget(now) == 2
    assert sorted(InvitationMail.objects.values_list("sent_at", flat=True)) == [now - timedelta(hours=23),
                                                                               now - timedelta(hours=1)]


def test_an_invitation_held_at_the_address_s_daily_limit_is_mailed_by_itself_once_under_it(
        world, settings, django_capture_on_commit_callbacks):
    """An invitation made but not mailed (its address had had the day's invitation mails) is
    mailed by the hourly job once the address is under the limit again, with a new link and
    expiry, audited as the system's; not while the address is still at the limit, nor twice,
    nor one of an organisation no longer active. The link mailed verifies the person."""
    from verification.rosters.invitations import held_invitations_send  # noqa: PLC0415
    from verification.rosters.tasks import held_invitations_send as held_invitations_send_task  # noqa: PLC0415

    settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY = 1
    _apply(world["office"], world["admin_office"], [person(4)], django_capture_on_commit_callbacks)
    held_roster = _apply(world["other"], world["admin_other"], [person(4)], django_capture_on_commit_callbacks)
    assert held_roster.outcome == {"invited": 1, "mail_held": 1}
    held = Invitation.objects.get(organisation=world["other"])
    assert held.send_count == 0
    assert held_invitations_send() == 0  # still at the limit: the first mail is of today
    assert OutboxMessage.objects.filter(to=["person4@pune.mahaagri.gov.in"]).count() == 1
    entry = settings.CELERY_BEAT_SCHEDULE["verification-held-invitations-send"]
    assert entry == {"task": "verification.rosters.tasks.held_invitations_send", "schedule": timedelta(hours=1)}

    later = timezone.now() + timedelta(days=1, minutes=1)
    with time_machine.travel(later, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert held_invitations_send_task.apply().get() == 1  # the Celery task's own code
        assert held_invitations_send() == 0  # mailed once
    held.refresh_from_db()
    assert (held.status, held.send_count, held.sent_at) == (InvitationStatus.PENDING, 1, later)
    assert held.expires_at > later + timedelta(days=settings.ROSTER_INVITATION_TTL_DAYS - 1)
    mail = OutboxMessage.objects.filter(to=["person4@pune.mahaagri.gov.in"]).latest("id")
    assert world["other"].name in mail.subject + mail.body
    assert mail.priority == OutboxPriority.BULK  # mass mail, as a roster's
    [event] = AuditEvent.objects.filter(action=AuditAction.INVITATION_RESENT, target_id=str(held.pk))
    assert (event.actor_id, event.actor_role) == (None, "system:roster_import")
    assert event.new_values["held_until_under_the_limit"] is True
    assert InvitationMail.objects.filter(mailbox="person4@pune.mahaagri.gov.in").count() == 2

    # The link mailed is the invitation's own.
    assert Client().get(LINK.search(delivered_body(mail))[0]).status_code == 200


def test_a_held_invitation_of_an_organisation_no_longer_active_waits(world, settings, django_capture_on_commit_callbacks):
    from verification.rosters.invitations import held_invitations_send  # noqa: PLC0415

    settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY = 1
    _apply(world["office"], world["admin_office"], [person(4)], django_capture_on_commit_callbacks)
    _apply(world["other"], world["admin_other"], [person(4)], django_capture_on_commit_callbacks)
    world["other"].__class__.objects.filter(pk=world["other"].pk).update(status=OrganisationStatus.SUSPENDED)
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1), tick=False):
        assert held_invitations_send() == 0
    assert Invitation.objects.get(organisation=world["other"]).send_count == 0


def test_held_invitations_to_addresses_no_longer_official_do_not_stop_the_others_being_mailed(world, monkeypatch):
    """A run mails at most ``limit`` held invitations, the oldest first; those it may not mail
    (their domain since made a consumer mail service) wait for an administrator, and are not
    counted against the run: else as many of them as the run mails would fill every run, and
    nobody after them would be mailed again."""
    from verification.rosters import invitations  # noqa: PLC0415

    monkeypatch.setattr(invitations, "HELD_READ_PAGE", 2)  # read two at a time: the one it may mail is on the second page
    office, now = world["office"], timezone.now()

    def held(address):
        return Invitation.objects.create(
            organisation=office, email=address, mailbox=address, name="Held", designation="Clerk", office="Section",
            employee_code="E1", mobile="+919876500000", token_hash=address.ljust(64, "0")[:64],
            invited_by=world["admin_office"], created_at=now, sent_at=now, send_count=0,
            expires_at=now + timedelta(days=7))

    unofficial = [held(f"held{i}@old.pune.mahaagri.gov.in") for i in range(3)]
    sendable = held("held9@pune.mahaagri.gov.in")
    EmailSuffixRule.objects.create(suffix="old.pune.mahaagri.gov.in", kind=SuffixKind.CONSUMER)
    assert invitations.held_invitations_send(limit=2) == 1
    assert Invitation.objects.get(pk=sendable.pk).send_count == 1
    assert OutboxMessage.objects.filter(to=[sendable.email]).count() == 1
    assert [i.send_count for i in Invitation.objects.filter(pk__in=[i.pk for i in unofficial])] == [0, 0, 0]


# Invitation mails still waiting for the relay when their link no longer holds ------------------

INVITATION_LINK = re.compile(r"https?://\S+/verification/invitations/[A-Za-z0-9_-]{43}/")


def _invited_while_the_relay_is_down(world, smtp_server, capture):
    smtp_server.stop()
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(4)]))
    with capture(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    return Invitation.objects.get()


def _links_delivered(smtp_server, address):
    """Each invitation link the person was delivered, in the order the mails arrived, and
    those whose page does not open for them (from the mail, not signed in)."""
    from urllib.parse import urlsplit

    links = [link for message in smtp_server.messages if message["To"].addresses[0].addr_spec == address
             for link in INVITATION_LINK.findall(text_of(message))]
    return links, [link for link in links if Client().get(urlsplit(link).path, follow=True).status_code != 200]


def test_an_invitation_sent_again_while_the_first_mail_waits_for_the_relay_delivers_no_dead_link(
        world, smtp_server, django_capture_on_commit_callbacks):
    """Sending again replaces the link; the first mail, mass mail waiting for the relay, was
    delivered after the second (sent first, as not mass mail) and its link opened nothing."""
    from portal.mail.delivery import outbox_deliver_due

    invitation = _invited_while_the_relay_is_down(world, smtp_server, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        with django_capture_on_commit_callbacks(execute=True):
            invitation_resend(invitation_id=invitation.pk, actor=world["admin_office"])
    smtp_server.start()
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        outbox_deliver_due()
    links, dead = _links_delivered(smtp_server, invitation.email)
    assert links and not dead, (links, dead)
    assert len(smtp_server.messages) == 1
    given_up = OutboxMessage.objects.get(status="failed")
    assert INVITATION_LINK.search(given_up.body) is None  # kept without the link that worked as a key


@pytest.mark.parametrize("how", ["cancelled", "domain removed"])
def test_an_invitation_ended_while_its_mail_waits_for_the_relay_is_not_delivered(
        world, smtp_server, django_capture_on_commit_callbacks, how):
    from portal.mail.delivery import outbox_deliver_due
    from portal.organisations import services as organisation_services
    from portal.organisations.models import OrganisationDomain

    invitation = _invited_while_the_relay_is_down(world, smtp_server, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        if how == "cancelled":
            invitation_cancel(invitation_id=invitation.pk, actor=world["admin_office"])
        else:
            domain = OrganisationDomain.objects.get(organisation=world["office"], domain="pune.mahaagri.gov.in")
            organisation_services.organisation_domain_remove(domain_id=domain.pk, reason="Accepted by mistake",
                                                             actor=world["superadmin"])
    assert Invitation.objects.get(pk=invitation.pk).status == InvitationStatus.CANCELLED
    smtp_server.start()
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        outbox_deliver_due()
    assert _links_delivered(smtp_server, invitation.email) == ([], [])


# What accepting ends elsewhere ---------------------------------------------------------------

def _invite(world, address, capture):
    """An invitation of the Pune office's roster to ``address``, and the link its mail gives."""
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1, **{"Official email": address})]))
    with capture(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    invitation = Invitation.objects.get(email=address)
    return invitation, LINK.search(delivered_body(OutboxMessage.objects.filter(to=[address]).latest("id")))[0]


def _goa(world):
    goa = OrganisationFactory(name="Directorate of Fisheries, Goa", short_code="DOF-GA", state="GA")
    OrganisationDomain.objects.create(organisation=goa, domain="goafish.gov.in", is_verified=True)
    return goa


def _held_elsewhere_person(world, invited_address):
    """Ravi, whose account's address is the invited one (confirmed), verified in the
    Karnataka directorate at another address and one of its admins (its other admin
    remains), with a request waiting in a Goa directorate."""
    ravi = UserFactory(email=invited_address, full_name="Ravi Rao")
    EmailAddress.objects.create(user=ravi, email="ravi.rao@karhealth.gov.in", verified=True, primary=False)
    held = GovernmentProfileFactory(user=ravi, organisation=world["other"], status=VerificationStatus.VERIFIED,
                                    official_email="ravi.rao@karhealth.gov.in", mobile="+919811111111")
    Membership.objects.create(organisation=world["other"], user=ravi, role=MembershipRole.ADMIN)
    waiting = GovernmentProfileFactory(user=ravi, organisation=_goa(world), status=VerificationStatus.PENDING,
                                       official_email="ravi.rao@karhealth.gov.in", mobile="+919811111111")
    return ravi, held, waiting


ENDS_HELD = ("Being verified by District Agriculture Office, Pune ends your verification in Directorate of Health "
             "Services, Karnataka, for good: to be verified there again, you would ask again. It also ends your admin "
             "role in Directorate of Health Services, Karnataka, which rests on that verification; the role does not "
             "come back.")
ENDS_WAITING = ("Being verified by District Agriculture Office, Pune withdraws your request to {}, which waits for a "
                "decision: to be verified there, you would ask again.")
CONFIRM_LABEL = ("I understand that being verified by District Agriculture Office, Pune ends my verification in "
                 "Directorate of Health Services, Karnataka")
CHANGED_MEANWHILE = ("Since this page was opened, what accepting the invitation ends elsewhere has changed: nothing was "
                     "done. Read what it ends now, then accept again.")


def _nothing_ended(world, ravi, held, waiting, invitation):
    held.refresh_from_db()
    waiting.refresh_from_db()
    invitation.refresh_from_db()
    role = Membership.objects.get(organisation=world["other"], user=ravi)
    return ((held.status, waiting.status, role.admin_in_force, invitation.status)
            == (VerificationStatus.VERIFIED, VerificationStatus.PENDING, True, InvitationStatus.PENDING)
            and not GovernmentProfile.objects.filter(user=ravi, organisation=world["office"]).exists())


def test_the_invitation_page_names_what_accepting_ends_elsewhere_above_the_accept_button(
        world, django_capture_on_commit_callbacks):
    """Accepting verifies the person at once (the invited address, confirmed on their account,
    is on the office's domain), which ends their verification in another organisation and the
    admin role resting on it, and withdraws their request waiting in a third: the page names
    each above the button, as the join page does, with a box to tick."""
    address = "person1@pune.mahaagri.gov.in"
    _invitation, link = _invite(world, address, django_capture_on_commit_callbacks)
    ravi, _held, _waiting = _held_elsewhere_person(world, address)
    tree = html_page(signed_in(ravi).get(link))
    warning = tree.by_id("ending-elsewhere").squashed_text()
    assert warning == " ".join([
        "Accepting the invitation verifies you in District Agriculture Office, Pune at once.", ENDS_HELD,
        ENDS_WAITING.format("Directorate of Fisheries, Goa")]), warning
    form = tree.find("form", method="post", novalidate="")
    assert form.squashed_text() == f"{CONFIRM_LABEL} * Accept the invitation"
    assert field_value(tree, "confirm") is False


def test_accepting_ends_nothing_elsewhere_without_the_box_ticked(world, django_capture_on_commit_callbacks):
    """A bare post (the box not ticked) accepts nothing and ends nothing: the page says to tick it."""
    address = "person1@pune.mahaagri.gov.in"
    invitation, link = _invite(world, address, django_capture_on_commit_callbacks)
    ravi, held, waiting = _held_elsewhere_person(world, address)
    client = signed_in(ravi)
    client.get(link)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link)
    assert response.status_code == 400
    assert field_error(html_page(response), "confirm") == (
        "Tick the box to confirm that being verified here ends your verification in Directorate of Health Services, "
        "Karnataka.")
    assert _nothing_ended(world, ravi, held, waiting, invitation)
    assert not AuditEvent.objects.filter(action=AuditAction.INVITATION_ACCEPTED).exists()


def test_accepting_with_the_box_ticked_ends_what_the_page_named(world, django_capture_on_commit_callbacks):
    """Ticked, the box accepts: the person is verified in the office, their verification in
    Karnataka revoked (a transfer) with the admin role resting on it, their request in Goa withdrawn."""
    address = "person1@pune.mahaagri.gov.in"
    invitation, link = _invite(world, address, django_capture_on_commit_callbacks)
    ravi, held, waiting = _held_elsewhere_person(world, address)
    client = signed_in(ravi)
    tree = html_page(client.get(link))
    assert field_value(tree, "confirm") is False
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link, form_as_sent(tree, confirm="on"), follow=True)
    assert response.redirect_chain == [("/verification/", 302)]
    assert (f"{world['office'].name} invited you: you are now one of its verified users."
            in " ".join(response.content.decode().split()))
    held.refresh_from_db()
    waiting.refresh_from_db()
    invitation.refresh_from_db()
    assert (held.status, held.reason_code, waiting.status) == (
        VerificationStatus.REVOKED, "transfer", VerificationStatus.CANCELLED)
    assert Membership.objects.get(organisation=world["other"], user=ravi).admin_in_force is False
    profile = GovernmentProfile.objects.get(user=ravi, organisation=world["office"])
    assert (profile.status, profile.method, profile.verified_by) == (
        VerificationStatus.VERIFIED, VerificationMethod.ROSTER, world["admin_office"])
    assert (invitation.status, invitation.accepted_by) == (InvitationStatus.ACCEPTED, ravi)


@pytest.mark.parametrize("before", ["held elsewhere", "nothing elsewhere"])
def test_accepting_from_a_page_that_named_other_endings_does_nothing_and_names_them_again(
        world, django_capture_on_commit_callbacks, before):
    """Since the page was opened the person asked another organisation (in another tab, say):
    accepting would withdraw that request too, which the page did not name. Nothing is done;
    the page says so and names what accepting ends now; accepted from it, it is done. So too
    when the page named nothing (no box: one click) and something would end now."""
    address = "person1@pune.mahaagri.gov.in"
    invitation, link = _invite(world, address, django_capture_on_commit_callbacks)
    if before == "held elsewhere":
        ravi, held, waiting = _held_elsewhere_person(world, address)
    else:
        ravi = UserFactory(email=address, full_name="Ravi Rao")
    client = signed_in(ravi)
    tree = html_page(client.get(link))
    sent = form_as_sent(tree, confirm="on") if before == "held elsewhere" else form_as_sent(tree)
    asked = GovernmentProfileFactory(user=ravi, organisation=world["parent"], status=VerificationStatus.PENDING,
                                     official_email=address, mobile="+919811111111")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link, sent)
    assert response.status_code == 400
    tree = html_page(response)
    assert [item.squashed_text() for item in tree.by_id("error-summary").find_all("li")] == [CHANGED_MEANWHILE]
    warning = tree.by_id("ending-elsewhere").squashed_text()
    assert ENDS_WAITING.format("Agriculture Department, Maharashtra") in warning, warning
    asked.refresh_from_db()
    invitation.refresh_from_db()
    assert (asked.status, invitation.status) == (VerificationStatus.PENDING, InvitationStatus.PENDING)
    assert not GovernmentProfile.objects.filter(user=ravi, organisation=world["office"]).exists()
    if before == "held elsewhere":
        assert _nothing_ended(world, ravi, held, waiting, invitation)
        assert field_value(tree, "confirm") is False  # to tick again, having read what it ends now

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link, form_as_sent(tree, confirm="on") if before == "held elsewhere"
                               else form_as_sent(tree))
    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.status == VerificationStatus.CANCELLED
    assert GovernmentProfile.objects.get(user=ravi, organisation=world["office"]).status == VerificationStatus.VERIFIED


def test_accepting_when_nothing_ends_elsewhere_takes_one_click_as_before(world, django_capture_on_commit_callbacks):
    """Verified nowhere, asking nowhere: the page names nothing and has no box; a post accepts."""
    address = "person1@pune.mahaagri.gov.in"
    invitation, link = _invite(world, address, django_capture_on_commit_callbacks)
    ravi = UserFactory(email=address, full_name="Ravi Rao")
    client = signed_in(ravi)
    tree = html_page(client.get(link))
    assert tree.by_id("ending-elsewhere") is None
    assert not [node for node in tree.iter() if node.get("name") == "confirm"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link)
    assert (response.status_code, response["Location"]) == (302, "/verification/")
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert GovernmentProfile.objects.get(user=ravi, organisation=world["office"]).status == VerificationStatus.VERIFIED


CODE = re.compile(r"Please enter it in your open browser window\.\s+(\S+)")


def test_confirming_an_invited_address_by_code_leaves_to_its_page_an_acceptance_that_ends_a_verification_elsewhere(
        world, smtp_server, django_capture_on_commit_callbacks):
    """Ravi, verified in the Karnataka directorate, adds the address the Pune office invited
    and confirms it by the code mailed to it. Accepting would verify him in Pune at once and
    end that verification, which nothing had told him: the invitation is left waiting, and he
    is told to accept it on its page, which names what ends and asks him to confirm."""
    new = "person1@pune.mahaagri.gov.in"
    invitation, link = _invite(world, new, django_capture_on_commit_callbacks)
    ravi = UserFactory(email="ravi.rao@karhealth.gov.in", full_name="Ravi Rao")
    held = GovernmentProfileFactory(user=ravi, organisation=world["other"], status=VerificationStatus.VERIFIED,
                                    official_email=ravi.email, mobile="+919811111111")
    client = signed_in(ravi)
    before = len(smtp_server.messages)
    with django_capture_on_commit_callbacks(execute=True):
        # The box the email page asks for: the verification at the address that leaves is suspended.
        response = post_confirming_access(client, "/accounts/email/", {"email": new, "action_add": "", "end_roles": "on"})
    code = next(CODE.search(text_of(m))[1] for m in smtp_server.messages[before:] if CODE.search(text_of(m)))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response["Location"], {"code": code}, follow=True)
    assert response.status_code == 200
    assert (f"{world['office'].name} invited you, but accepting its invitation would end your verification, an admin "
            "role or a waiting request in another organisation, so it was not accepted yet. To accept it, open the "
            "link in the invitation email: its page names what ends and asks you to confirm."
            in " ".join(response.content.decode().split()))
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING
    assert not GovernmentProfile.objects.filter(user=ravi, organisation=world["office"]).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.INVITATION_ACCEPTED).exists()
    held.refresh_from_db()
    # Its address left the account (made the new one's), not ended by the invitation.
    assert (held.status, held.reason_code) == (VerificationStatus.SUSPENDED, "address_removed")

    tree = html_page(client.get(link))
    assert "ends your verification in Directorate of Health Services, Karnataka" in tree.by_id(
        "ending-elsewhere").squashed_text()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(link, form_as_sent(tree, confirm="on")).status_code == 302
    held.refresh_from_db()
    invitation.refresh_from_db()
    assert (held.status, invitation.status) == (VerificationStatus.REVOKED, InvitationStatus.ACCEPTED)
    assert GovernmentProfile.objects.get(user=ravi, organisation=world["office"]).status == VerificationStatus.VERIFIED
