"""The verification emails: in the language the person asked in, through the outbox
and a real SMTP server on loopback; every subject decodes to exactly its text."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from portal.mail.models import OutboxMessage
from portal.organisations.models import Membership, MembershipRole
from portal.organisations.services import organisation_admin_grant
from portal.permissions import may_administer
from tests.smtp import text_of
from tests.verification.helpers import GovernmentProfileFactory, form_data, make_admin, signed_in
from verification import lifecycle, notifications, services
from verification.models import EndReason, GovernmentProfile, VerificationStatus

pytestmark = pytest.mark.django_db

TEMPLATES = ["verified", "rejected", "suspended", "reinstated", "revoked", "address_removed_suspended",
             "domain_removed_suspended"]


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_email_renders_in_every_language(world, template, language):
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"], request_language=language,
                                       status=VerificationStatus.SUSPENDED, reason_code=EndReason.MISUSE, reason="Shared it.")
    message = notifications.build_decision_mail(profile=profile, template=template)
    assert message.to == [world["person"].email]
    assert "\n" not in message.subject and "District Agriculture Office, Pune" in message.subject
    assert "http://127.0.0.1:8000/verification/" in message.body
    devanagari = any("\u0900" <= char <= "\u097f" for char in message.subject + message.body)
    assert devanagari == (language != "en")


def test_a_web_address_in_an_organisation_name_is_not_a_link_in_mail(world):
    organisation = world["office"]
    organisation.name = "Office - verify at https://evil.example.com"
    organisation.save(update_fields=["name"])
    profile = GovernmentProfileFactory(user=world["person"], organisation=organisation)
    message = notifications.build_decision_mail(profile=profile, template="verified")
    assert "https://evil.example.com" not in message.subject + message.body
    assert "https[:]//evil[.]example[.]com" in message.subject


def test_the_decision_reaches_the_person_over_smtp_in_the_language_they_asked_in(
    world, smtp_server, django_capture_on_commit_callbacks
):
    asker = signed_in(world["person"])
    asker.cookies["django_language"] = "mr"
    asker.post(f"/verification/organisations/{world['office'].pk}/join/", form_data())
    profile = world["person"].government_profiles.get()
    assert profile.request_language == "mr"
    admin = signed_in(world["admin_office"])  # deciding in English
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/verification/profiles/{profile.pk}/", {"decision": "reject", "reason": "Employee code unknown.",
                                                                  "confirm": "on"})
    assert response.status_code == 302
    [message] = [m for m in smtp_server.messages if m["To"] == world["person"].email]
    # The subject as sent, decoded from the bytes the server received.
    assert str(message["Subject"]) == "District Agriculture Office, Pune कडे केलेली तुमची विनंती स्वीकारली गेली नाही"
    body = text_of(message)
    assert "Employee code unknown." in body and "प्रशासकांनी" in body
    assert OutboxMessage.objects.get(message_id=message["Message-ID"]).status == "sent"


def test_the_decision_is_written_in_the_language_last_chosen_on_the_account_before_the_one_asked_in(world):
    """As every mail to a person (portal.organisations.notifications.person_language): the
    language they chose on the account since asking (Marathi) before the request's (English)."""
    from verification import services as verification_services

    person = world["person"]
    profile = GovernmentProfileFactory(user=person, organisation=world["office"], request_language="en")
    person.language = "mr"
    person.save(update_fields=["language"])
    verification_services.join_request_decide(profile_id=profile.pk, decision=verification_services.JoinDecision.VERIFY,
                                              actor=world["admin_office"])
    [message] = OutboxMessage.objects.filter(to__contains=[person.email])
    assert message.subject == "तुमची District Agriculture Office, Pune चे सरकारी वापरकर्ता म्हणून पडताळणी झाली आहे"


def test_a_long_hindi_subject_is_sent_whole(world, smtp_server, django_capture_on_commit_callbacks):
    """A long mixed English and Devanagari subject is not folded into raw encoded-word pieces."""
    organisation = world["office"]
    organisation.name = "Directorate of Agriculture, Soil Conservation and Watershed Development, District Pune"
    organisation.save(update_fields=["name"])
    profile = GovernmentProfileFactory(user=world["person"], organisation=organisation, request_language="hi")
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(world["admin_office"]).post(f"/verification/profiles/{profile.pk}/", {"decision": "verify"})
    [message] = [m for m in smtp_server.messages if m["To"] == world["person"].email]
    assert str(message["Subject"]) == (
        "आप Directorate of Agriculture, Soil Conservation and Watershed Development, District Pune के सरकारी उपयोगकर्ता के रूप में "
        "सत्यापित हैं"
    )


@pytest.mark.parametrize(("language", "said"), [("en", "does not bring it back"), ("hi", "वापस नहीं"), ("mr", "परत येत नाही")])
@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_the_mail_says_the_admin_role_resting_on_the_verification_ended_for_good(world, action, language, said):
    """Suspending or revoking the verification of an admin ends their admin role: the
    mail names the organisation and says the role is not brought back with the
    verification (it must be granted again)."""
    person = world["person"]
    profile = GovernmentProfileFactory(user=person, organisation=world["office"], status=VerificationStatus.VERIFIED,
                                       request_language=language)
    Membership.objects.create(organisation=world["office"], user=person, role=MembershipRole.MEMBER)
    organisation_admin_grant(organisation_id=world["office"].pk, user_id=person.pk, actor=world["admin_office"])
    told_of_the_grant = list(OutboxMessage.objects.filter(to=[person.email]).values_list("pk", flat=True))
    assert len(told_of_the_grant) == 1
    service = services.profile_suspend if action == "suspend" else services.profile_revoke
    service(profile_id=profile.pk, reason_code=EndReason.MISUSE, actor=world["admin_office"])
    [mail] = OutboxMessage.objects.filter(to=[person.email]).exclude(pk__in=told_of_the_grant)
    assert "District Agriculture Office, Pune" in mail.body.split("\n\n", 1)[1] and said in mail.body


@pytest.mark.parametrize(("language", "named", "said"), [
    ("en", "- Admin of District Agriculture Office, Pune", "Being verified again does not bring it back"),
    ("hi", "- District Agriculture Office, Pune के प्रशासक", "फिर से सत्यापित होने से यह वापस नहीं आती"),
    ("mr", "- District Agriculture Office, Pune चे प्रशासक", "पुन्हा पडताळणी झाल्याने ती परत येत नाही"),
])
def test_the_person_is_told_their_admin_role_ended_when_verified_elsewhere(world, language, named, said):
    """Verified in another organisation, an admin (not the last) of the one they leave
    stops being its admin: the "verified" mail names the role that ended, as the mails of
    a suspension, a revocation or a lapse do."""
    admin = world["admin_office"]
    GovernmentProfileFactory(user=admin, organisation=world["office"], status=VerificationStatus.VERIFIED,
                             official_email=admin.email)
    make_admin(world["office"], email="deputy@pune.mahaagri.gov.in")  # the office keeps an admin
    moving = GovernmentProfileFactory(user=admin, organisation=world["other"], official_email=admin.email,
                                      request_language=language)
    before = list(OutboxMessage.objects.filter(to=[admin.email]).values_list("pk", flat=True))
    services.join_request_decide(profile_id=moving.pk, decision="verify", actor=world["admin_other"])
    assert not may_administer(type(admin).objects.get(pk=admin.pk), world["office"])
    [mail] = OutboxMessage.objects.filter(to=[admin.email]).exclude(pk__in=before)
    assert "Directorate of Health Services, Karnataka" in mail.subject
    assert named in mail.body and said in mail.body


@pytest.mark.parametrize(("ending", "said"), [
    ("superannuation", "Being verified again does not bring it back"),
    ("unconfirmed", "Reinstating your verification does not bring it back"),
    ("address_removed", "Reinstating your verification does not bring it back"),
])
def test_a_verification_ended_by_the_system_tells_the_admin_their_role_ended_too(world, ending, said):
    """The system ends a verification (superannuation, no yearly confirmation, the
    official address removed from the account): the admin role resting on it ends with
    it, and the mail says so as an administrator's decision's mail does."""
    person = world["person"]
    EmailAddress.objects.create(user=person, email="asha.k@gmail.com", verified=True, primary=False)
    now = timezone.now()
    profile = GovernmentProfileFactory(
        user=person, organisation=world["office"], status=VerificationStatus.VERIFIED, official_email=person.email,
        superannuation_date=now.date() + timedelta(days=30), confirmation_requested_at=now - timedelta(days=400),
    )
    Membership.objects.create(organisation=world["office"], user=person, role=MembershipRole.MEMBER)
    organisation_admin_grant(organisation_id=world["office"].pk, user_id=person.pk, actor=world["admin_office"])
    OutboxMessage.objects.all().delete()
    if ending == "superannuation":  # the date passed since the role was given (it is not given after it)
        GovernmentProfile.objects.filter(pk=profile.pk).update(superannuation_date=now.date() - timedelta(days=2))
        assert lifecycle.profiles_lapse(profile_ids=[profile.pk]) == 1
    elif ending == "unconfirmed":
        assert lifecycle.profiles_suspend_unconfirmed(profile_ids=[profile.pk]) == 1
    else:
        EmailAddress.objects.filter(user=person, email=person.email).delete()  # the receivers suspend it
        assert lifecycle.profiles_suspend_address_removed(user_id=person.pk, email=person.email) == 0
    assert GovernmentProfile.objects.get(pk=profile.pk).status != VerificationStatus.VERIFIED
    assert not Membership.objects.filter(organisation=world["office"], user=person, role=MembershipRole.ADMIN,
                                         is_active=True).exists()
    [mail] = OutboxMessage.objects.all()
    assert "Your admin role, which rested on this verification, has ended:" in mail.body
    assert "- Admin of District Agriculture Office, Pune" in mail.body and said in mail.body


def test_the_mail_of_a_person_with_no_admin_role_says_nothing_of_roles(world):
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"], status=VerificationStatus.VERIFIED)
    services.profile_suspend(profile_id=profile.pk, reason_code=EndReason.MISUSE, actor=world["admin_office"])
    [mail] = OutboxMessage.objects.filter(to=[world["person"].email])
    assert "admin" not in mail.body.lower().replace("administrators", "")
