"""The official address a verification rests on, once it leaves the person's account:
through allauth's own flows (changing the account's address, removing one), the
verification is suspended by the system, the person told, the verification API no
longer answers for the address, and whoever confirms it next (a successor in the post)
may be verified with it. Reinstating waits until the address is confirmed again."""

import html
import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from api.services import api_client_create
from portal.accounts.models import SuffixKind
from portal.accounts.services import email_rule_save
from portal.audit.models import AuditAction, AuditEvent
from portal.organisations.models import DomainClaim, Membership, OrganisationDomain
from portal.organisations.services import organisation_admin_grant, organisation_admin_revoke
from tests.factories import UserFactory
from tests.html_tree import field_error, field_value
from tests.html_tree import page as html_page
from tests.onboarding.approval_helpers import messages_to, post_confirming_access
from tests.smtp import text_of
from tests.verification.helpers import DETAILS, GovernmentProfileFactory, contacts_shown_to_verified_users, signed_in
from tests.verification.rosters.helpers import csv_bytes, person, upload
from verification import services
from verification.models import EndReason, GovernmentProfile, VerificationStatus
from verification.rosters import services as rosters
from verification.visibility.models import Audience, PersonalVisibility

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase"
CODE = re.compile(r"Please enter it in your open browser window\.\s+(\S+)")


def code_in(smtp_server, before):
    for message in smtp_server.messages[before:]:
        found = CODE.search(text_of(message))
        if found:
            return found[1]
    raise AssertionError("no code was mailed")


def verified(world, user, **changes):
    profile = services.join_request_create(organisation_id=world["office"].pk, language="en", actor=user,
                                           details={**DETAILS, "official_email": user.email, **changes})
    return services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])


def api(world, **params):
    if "token" not in world:
        contacts_shown_to_verified_users(world["parent"], world["office"])  # what the API finds people by
        world["token"] = api_client_create(organisation_id=world["parent"].pk, name="e-Office",
                                           actor=world["admin_parent"])[1]
    response = Client().get("/api/v1/verifications", params, HTTP_AUTHORIZATION=f"Bearer {world['token']}")
    assert response.status_code == 200
    return response.json()


def add_and_confirm(client, address, smtp_server, capture, **fields):
    """allauth's page: add an address (with ``fields``: the box confirming the roles and the
    verifications the change ends ticked), then enter the code mailed to it."""
    before = len(smtp_server.messages)
    with capture(execute=True):
        response = post_confirming_access(client, "/accounts/email/", {"email": address, "action_add": "", **fields})
    assert response.status_code == 302, response.content.decode()[-6000:]
    with capture(execute=True):
        response = client.post(response["Location"], {"code": code_in(smtp_server, before)})
    assert response.status_code == 302


def address_changed(world, new, smtp_server, capture):
    """Asha, verified in the office, changes her account's address to ``new`` (allauth):
    (her account, the old address, her profile as it is then, her signed-in client)."""
    asha = world["person"]
    old = asha.email
    profile = verified(world, asha)
    client = signed_in(asha)
    add_and_confirm(client, new, smtp_server, capture, end_roles="on")
    asha.refresh_from_db()
    profile.refresh_from_db()
    return asha, old, profile, client


def test_changing_the_accounts_address_suspends_the_verification_resting_on_it(
        world, smtp_server, django_capture_on_commit_callbacks):
    asha = world["person"]
    old = asha.email
    profile = verified(world, asha)
    assert api(world, email=old)["verified"] is True

    # The account's address changed (allauth, ACCOUNT_CHANGE_EMAIL: the old one is removed).
    before = len(smtp_server.messages)
    add_and_confirm(signed_in(asha), "asha.home@gmail.com", smtp_server, django_capture_on_commit_callbacks,
                    end_roles="on")
    assert list(EmailAddress.objects.filter(user=asha).values_list("email", flat=True)) == ["asha.home@gmail.com"]

    profile.refresh_from_db()
    assert (profile.status, profile.reason_code) == (VerificationStatus.SUSPENDED, EndReason.ADDRESS_REMOVED)
    assert api(world, email=old)["verified"] is False
    event = AuditEvent.objects.get(action=AuditAction.VERIFICATION_SUSPENDED, target_id=str(profile.pk))
    assert event.actor_id is None and event.actor_role == "system:address_removed"
    assert event.new_values["reason_code"] == EndReason.ADDRESS_REMOVED
    # Told at the account's address as it is now, as delivered.
    [told] = [m for m in smtp_server.messages[before:] if m["To"] == "asha.home@gmail.com"
              and "suspended" in str(m["Subject"])]
    assert str(told["Subject"]) == ("Your verification in District Agriculture Office, Pune is suspended: "
                                    "official address removed")
    body = text_of(told)
    assert f"its official address, {old}, was removed from your account" in body
    assert "Your verifications: http://127.0.0.1:8000/verification/\n" in body

    # Her successor in the post signs up with the address and is verified with it; the API
    # answers for the successor, never for Asha.
    successor_client = Client()
    before = len(smtp_server.messages)
    with django_capture_on_commit_callbacks(execute=True):
        response = successor_client.post("/accounts/signup/", {"email": old, "password1": PASSWORD,
                                                               "password2": PASSWORD})
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        successor_client.post("/accounts/confirm-email/", {"code": code_in(smtp_server, before)})
    successor = EmailAddress.objects.get(email=old, verified=True).user
    assert successor.pk != asha.pk
    assert api(world, email=old)["verified"] is False
    verified(world, successor, employee_code="EMP-2002")
    answer = api(world, email=old)
    assert answer["verified"] is True and answer["person"]["name"] == successor.full_name != asha.full_name

    # Reinstating Asha now would vouch for an address that is someone else's.
    admin = signed_in(world["admin_office"])
    response = admin.post(f"/verification/profiles/{profile.pk}/reinstate/", {"reason": "Back", "confirm": "on"})
    assert response.status_code == 200
    assert f"{old} is no longer a confirmed address of this person" in response.content.decode()
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.SUSPENDED


def test_confirming_the_address_again_allows_reinstating(world, smtp_server, django_capture_on_commit_callbacks):
    """An account holds one address at a time (ACCOUNT_CHANGE_EMAIL): the person changed it
    away and back; once the official address is confirmed again, the admins may reinstate."""
    asha, official, profile, client = address_changed(world, "asha.home@gmail.com", smtp_server,
                                                      django_capture_on_commit_callbacks)
    assert profile.status == VerificationStatus.SUSPENDED

    add_and_confirm(client, official, smtp_server, django_capture_on_commit_callbacks)
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.SUSPENDED  # confirming it again reinstates nothing by itself
    services.profile_reinstate(profile_id=profile.pk, actor=world["admin_office"])
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED
    assert api(world, email=official)["verified"] is True


@pytest.mark.parametrize("language, hidden", [
    ("en", "The official address is no longer a confirmed address of this person"),
    ("hi", "आधिकारिक पता अब इस व्यक्ति के खाते का पुष्ट पता नहीं है"),
    ("mr", "अधिकृत पत्ता हा आता या व्यक्तीच्या खात्याचा पुष्टी केलेला पत्ता नाही"),
])
def test_the_reinstate_refusal_names_the_address_only_as_the_admin_may_see_it(world, language, hidden):
    """The person keeps their official address to themselves ("nobody but the person"):
    the administrators' pages show it hidden, and so does the refusal to reinstate a
    verification whose address has left the account: it says "the official address"."""
    post = "desk.officer.7@pune.mahaagri.gov.in"
    person = world["person"]
    EmailAddress.objects.create(user=person, email=post, verified=True, primary=False)
    profile = GovernmentProfileFactory(user=person, organisation=world["office"], status=VerificationStatus.VERIFIED,
                                       official_email=post)
    PersonalVisibility.objects.create(user=person, official_email=Audience.NOBODY)
    EmailAddress.objects.filter(user=person, email=post).delete()
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.SUSPENDED

    admin = signed_in(world["admin_office"])
    admin.cookies["django_language"] = language
    assert post not in admin.get(f"/verification/profiles/{profile.pk}/").content.decode()
    response = admin.post(f"/verification/profiles/{profile.pk}/reinstate/", {"reason": "Back", "confirm": "on"})
    page = " ".join(response.content.decode().split())
    assert post not in page
    assert hidden in page
    assert GovernmentProfile.objects.get(pk=profile.pk).status == VerificationStatus.SUSPENDED


def test_removing_an_address_no_verification_rests_on_leaves_verifications_alone(world):
    person = world["person"]
    profile = verified(world, person)
    other = EmailAddress.objects.create(user=person, email="asha.k@pune.mahaagri.gov.in", verified=True)
    other.delete()
    EmailAddress.objects.create(user=world["public"], email="unconfirmed@pune.mahaagri.gov.in").delete()
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED
    assert not AuditEvent.objects.filter(action=AuditAction.VERIFICATION_SUSPENDED).exists()


def test_a_waiting_request_whose_address_left_the_account_is_not_verified(world):
    person = world["public"]
    EmailAddress.objects.create(user=person, email="some.one@pune.mahaagri.gov.in", verified=True)
    profile = services.join_request_create(organisation_id=world["office"].pk, language="en", actor=person,
                                           details={**DETAILS, "official_email": "some.one@pune.mahaagri.gov.in"})
    EmailAddress.objects.filter(user=person, email="some.one@pune.mahaagri.gov.in").delete()
    admin = signed_in(world["admin_office"])
    response = admin.post(f"/verification/profiles/{profile.pk}/", {"decision": "verify", "confirm": "on"})
    assert response.status_code == 200
    assert "some.one@pune.mahaagri.gov.in is no longer a confirmed address of this person" in response.content.decode()
    assert GovernmentProfile.objects.get(pk=profile.pk).status == VerificationStatus.PENDING


def test_an_address_no_longer_official_is_not_verified_and_cannot_be_given(world):
    """The official-address rule (DESIGN §3) holds when the admin decides too: a domain a
    superadmin takes off the official list after someone asked (here marked consumer mail)
    is not verified, neither on the request's page nor among several in the queue, and the
    verification API never vouches for it. Nobody asks with such an address either."""
    rule = email_rule_save(suffix="statelab.in", kind=SuffixKind.OFFICIAL, actor=world["superadmin"])
    meera = UserFactory(email="meera@lab.statelab.in", full_name="Meera Rao")
    profile = services.join_request_create(organisation_id=world["office"].pk, language="en", actor=meera,
                                           details={**DETAILS, "official_email": meera.email})
    email_rule_save(suffix="statelab.in", kind=SuffixKind.CONSUMER, actor=world["superadmin"], rule_id=rule.pk)
    admin = signed_in(world["admin_office"])
    response = admin.post(f"/verification/profiles/{profile.pk}/", {"decision": "verify", "confirm": "on"})
    assert response.status_code == 200
    assert "meera@lab.statelab.in is not an official government address under the current rules" in (
        response.content.decode())
    response = admin.post("/verification/queue/decide/", {"profile": [profile.pk], "decision": "verify",
                                                          "step": "confirm", "confirm": "on"}, follow=True)
    assert "1 request could not be decided: open it to see why." in [str(m) for m in response.context["messages"]]
    assert GovernmentProfile.objects.get(pk=profile.pk).status == VerificationStatus.PENDING
    assert api(world, email=meera.email)["verified"] is False
    # Asking with it now is refused at the address, in the service too.
    other = UserFactory(email="ravi@lab.statelab.in")
    with pytest.raises(ValidationError) as refused:
        services.join_request_create(organisation_id=world["office"].pk, language="en", actor=other,
                                     details={**DETAILS, "official_email": other.email})
    assert refused.value.error_dict["official_email"][0].code == "not_official"
    assert not GovernmentProfile.objects.filter(user=other).exists()


def test_a_domain_accepted_for_another_organisation_is_not_official_for_this_one(world):
    """A domain off the official suffixes that a superadmin accepted for one organisation
    is official for that organisation (and for the offices above it): asking another to
    be verified with it is refused at the address, and so is verifying a request made
    with it before."""
    OrganisationDomain.objects.create(organisation=world["other"], domain="karpsu.co.in", is_verified=True,
                                      claim=DomainClaim.NOT_OFFICIAL)
    staff = UserFactory(email="meera@karpsu.co.in")
    response = signed_in(staff).post(f"/verification/organisations/{world['office'].pk}/join/",
                                     {**DETAILS, "official_email": staff.email})
    assert response.status_code == 200
    assert response.context["form"].errors["official_email"] == [
        "Enter an official government address (for example name@dept.gov.in), not a personal one."]
    with pytest.raises(ValidationError) as refused:
        services.join_request_create(organisation_id=world["office"].pk, language="en", actor=staff,
                                     details={**DETAILS, "official_email": staff.email})
    assert refused.value.error_dict["official_email"][0].code == "not_official"
    asked = services.join_request_create(organisation_id=world["other"].pk, language="en", actor=staff,
                                         details={**DETAILS, "official_email": staff.email})
    assert asked.organisation_id == world["other"].pk  # official there
    # A request with it waiting here (made before this was refused) is not verified either.
    waiting = UserFactory(email="ravi@karpsu.co.in")
    profile = services.join_request_create(organisation_id=world["other"].pk, language="en", actor=waiting,
                                           details={**DETAILS, "official_email": waiting.email})
    GovernmentProfile.objects.filter(pk=profile.pk).update(organisation=world["office"],
                                                           status=VerificationStatus.PENDING)
    with pytest.raises(ValidationError) as refused:
        services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])
    assert refused.value.code == "not_official"


def test_a_domain_accepted_for_a_department_is_official_for_the_offices_below_it_too(world):
    """A domain off the official suffixes that a superadmin accepted for the department is
    its offices' too (they were placed under it with it: onboarding takes it for them): the
    office verifies its own staff at it. It is still not the office's own domain: a row of
    the office's roster at it is invited, not verified at once, so that the office's list
    moves nobody verified in the department."""
    OrganisationDomain.objects.create(organisation=world["parent"], domain="krishi-research.org", is_verified=True,
                                      claim=DomainClaim.NOT_OFFICIAL)
    staff = UserFactory(email="meera@krishi-research.org")
    asked = services.join_request_create(organisation_id=world["office"].pk, language="en", actor=staff,
                                         details={**DETAILS, "official_email": staff.email})
    assert asked.status == VerificationStatus.PENDING
    services.join_request_decide(profile_id=asked.pk, decision="verify", actor=world["admin_office"])
    asked.refresh_from_db()
    assert asked.status == VerificationStatus.VERIFIED
    colleague = UserFactory(email="ravi@krishi-research.org")
    GovernmentProfileFactory(user=colleague, organisation=world["parent"], status=VerificationStatus.VERIFIED,
                             official_email=colleague.email)
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1, **{"Official email": colleague.email})]))
    assert (roster.verify_count, roster.invite_count, roster.refused_count) == (0, 1, 0)


def test_a_verification_past_superannuation_is_not_reinstated(world):
    profile = verified(world, world["person"])
    services.profile_suspend(profile_id=profile.pk, reason_code=EndReason.TRANSFER, actor=world["admin_office"])
    GovernmentProfile.objects.filter(pk=profile.pk).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    admin = signed_in(world["admin_office"])
    response = admin.post(f"/verification/profiles/{profile.pk}/reinstate/", {"reason": "Back", "confirm": "on"})
    assert response.status_code == 200
    assert "date of superannuation has passed" in response.content.decode()
    assert GovernmentProfile.objects.get(pk=profile.pk).status == VerificationStatus.SUSPENDED


def test_with_a_new_official_address_the_person_asks_again_and_the_old_verification_ends(
        world, smtp_server, django_capture_on_commit_callbacks):
    """The address changed for good (a new one on the same office's domain): the person asks
    the same office again with it; verifying it ends the suspended one, and the
    membership carries on."""
    asha, old, profile, _client = address_changed(world, "asha.k2@pune.mahaagri.gov.in", smtp_server,
                                                  django_capture_on_commit_callbacks)
    again = services.join_request_create(organisation_id=world["office"].pk, language="en", actor=asha,
                                         details={**DETAILS, "official_email": "asha.k2@pune.mahaagri.gov.in"})
    before = len(smtp_server.messages)
    with django_capture_on_commit_callbacks(execute=True):
        services.join_request_decide(profile_id=again.pk, decision="verify", actor=world["admin_office"])
    profile.refresh_from_db()
    assert (profile.status, profile.reason_code) == (VerificationStatus.REVOKED, EndReason.ADDRESS_REMOVED)
    assert GovernmentProfile.objects.get(pk=again.pk).status == VerificationStatus.VERIFIED
    assert world["office"].memberships.filter(user=asha, is_active=True).exists()
    assert api(world, email="asha.k2@pune.mahaagri.gov.in")["verified"] is True
    assert api(world, email=old)["verified"] is False
    [told] = [m for m in smtp_server.messages[before:] if m["To"] == "asha.k2@pune.mahaagri.gov.in"]
    assert "has ended" not in text_of(told)
    event = AuditEvent.objects.get(action=AuditAction.VERIFICATION_VERIFIED, target_id=str(again.pk))
    assert event.new_values["replaced"] == [profile.pk] and event.new_values["ended"] == []


def suspended_unconfirmed(world, reason_code=EndReason.UNCONFIRMED):
    """Asha's verification in the office, resting on asha.k@...: suspended (by the system,
    the yearly confirmation never having come, unless told), the address still on her account."""
    person = world["person"]
    EmailAddress.objects.create(user=person, email="asha.k@pune.mahaagri.gov.in", verified=True)
    profile = GovernmentProfileFactory(user=person, organisation=world["office"], status=VerificationStatus.SUSPENDED,
                                       official_email="asha.k@pune.mahaagri.gov.in", reason_code=reason_code,
                                       confirmation_requested_at=timezone.now() - timedelta(days=31))
    EmailAddress.objects.create(user=person, email="asha.k2@pune.mahaagri.gov.in", verified=True)
    return profile


def test_suspended_unconfirmed_then_the_address_removed_the_person_asks_again_with_the_new_one(world):
    """The yearly confirmation never came (the old mailbox is dead): suspended. The person
    then removes that address from their account: the suspension now rests on an address
    gone, as one made when it left would (audited), so that they may ask again with their
    new address, and verifying that ends the old verification; it is not reinstated."""
    person = world["person"]
    profile = suspended_unconfirmed(world)
    EmailAddress.objects.get(user=person, email="asha.k@pune.mahaagri.gov.in").delete()
    profile.refresh_from_db()
    assert (profile.status, profile.reason_code) == (VerificationStatus.SUSPENDED, EndReason.ADDRESS_REMOVED)
    event = AuditEvent.objects.get(action=AuditAction.VERIFICATION_SUSPENDED, target_id=str(profile.pk))
    assert event.actor_id is None and event.actor_role == "system:address_removed"
    assert event.old_values == {"status": "suspended", "reason_code": "unconfirmed"}
    assert event.new_values["reason_code"] == "address_removed"
    [told] = messages_to(person.email)  # at the account's address, never at the one removed
    assert "If you have a new official address, ask to be verified with it instead." in told.body
    with pytest.raises(ValidationError) as refused:
        services.profile_reinstate(profile_id=profile.pk, actor=world["admin_office"])
    assert refused.value.code == "address_gone"
    again = services.join_request_create(organisation_id=world["office"].pk, language="en", actor=person,
                                         details={**DETAILS, "official_email": "asha.k2@pune.mahaagri.gov.in"})
    services.join_request_decide(profile_id=again.pk, decision="verify", actor=world["admin_office"])
    profile.refresh_from_db()
    assert (profile.status, profile.reason_code) == (VerificationStatus.REVOKED, EndReason.ADDRESS_REMOVED)
    assert GovernmentProfile.objects.get(pk=again.pk).status == VerificationStatus.VERIFIED


def test_an_administrators_suspension_stays_theirs_when_the_address_leaves(world):
    """Suspended by an administrator (misuse): the address leaving changes nothing of it. Asking
    again there is refused, as the verification stands: the administrators decide (revoke it)."""
    person = world["person"]
    profile = suspended_unconfirmed(world, reason_code=EndReason.MISUSE)
    EmailAddress.objects.get(user=person, email="asha.k@pune.mahaagri.gov.in").delete()
    profile.refresh_from_db()
    assert (profile.status, profile.reason_code) == (VerificationStatus.SUSPENDED, EndReason.MISUSE)
    assert not AuditEvent.objects.filter(target_id=str(profile.pk)).exists()
    with pytest.raises(ValidationError) as refused:
        services.join_request_create(organisation_id=world["office"].pk, language="en", actor=person,
                                     details={**DETAILS, "official_email": "asha.k2@pune.mahaagri.gov.in"})
    assert refused.value.code == "held"


def test_reinstating_leaves_no_second_standing_request_in_the_same_organisation(world):
    """Suspended as its address left the account, the person asks the same office again with
    a new address, then confirms the old one again: reinstating the old verification while
    the new request waits would leave a verification and a waiting request side by side in
    one organisation (a state asking refuses). Refused on the form, which links to the
    waiting request; once it is decided, reinstating is possible again."""
    person = world["person"]
    old = GovernmentProfileFactory(user=person, organisation=world["office"], status=VerificationStatus.SUSPENDED,
                                   official_email=person.email, reason_code=EndReason.ADDRESS_REMOVED)
    EmailAddress.objects.create(user=person, email="asha.k@pune.mahaagri.gov.in", verified=True)
    waiting = GovernmentProfileFactory(user=person, organisation=world["office"],
                                       official_email="asha.k@pune.mahaagri.gov.in")
    with pytest.raises(ValidationError) as refused:
        services.profile_reinstate(profile_id=old.pk, actor=world["admin_office"])
    assert refused.value.code == "request_waiting"
    response = signed_in(world["admin_office"]).post(f"/verification/profiles/{old.pk}/reinstate/",
                                                     {"reason": "Back", "confirm": "on"})
    page = response.content.decode()
    assert response.status_code == 200
    assert ("This person asked District Agriculture Office, Pune again, with asha.k@pune.mahaagri.gov.in, and that "
            "request waits") in page
    assert f'href="/verification/profiles/{waiting.pk}/"' in page
    statuses = sorted(GovernmentProfile.objects.filter(user=person, organisation=world["office"])
                      .values_list("status", flat=True))
    assert statuses == ["pending", "suspended"]
    assert not AuditEvent.objects.filter(action=AuditAction.VERIFICATION_REINSTATED).exists()
    services.join_request_decide(profile_id=waiting.pk, decision="reject", reason="Use your old address.",
                                 actor=world["admin_office"])
    services.profile_reinstate(profile_id=old.pk, actor=world["admin_office"])
    assert GovernmentProfile.objects.get(pk=old.pk).status == VerificationStatus.VERIFIED


def test_the_join_page_and_a_roster_take_the_new_address_after_a_change(
        world, smtp_server, django_capture_on_commit_callbacks):
    """Suspended as the address changed: the join page offers the form again (once: a
    second request waits for the first), and a roster listing the new address verifies
    the person there, ending the suspended verification."""
    asha = world["person"]
    profile = verified(world, asha)
    new = "asha.k2@pune.mahaagri.gov.in"
    add_and_confirm(signed_in(asha), new, smtp_server, django_capture_on_commit_callbacks, end_roles="on")
    client = signed_in(asha)
    join = f"/verification/organisations/{world['office'].pk}/join/"
    assert "You have already asked this organisation" not in client.get(join).content.decode()
    assert client.post(join, {**DETAILS, "official_email": new}).status_code == 302
    again = client.post(join, {**DETAILS, "official_email": new})
    assert again.status_code == 200 and "You have already asked this organisation" in again.content.decode()
    waiting = GovernmentProfile.objects.get(user=asha, status=VerificationStatus.PENDING)

    # The roster gives the details her request gives (one that gives others leaves it to an admin).
    row = person(1, **{"Official email": new, "Mobile": DETAILS["mobile"], "Employee code": DETAILS["employee_code"]})
    roster = upload(world["office"], world["admin_office"], csv_bytes([row]))
    assert roster.verify_count == 1
    with django_capture_on_commit_callbacks(execute=True):
        rosters.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    waiting.refresh_from_db()
    profile.refresh_from_db()
    assert waiting.status == VerificationStatus.VERIFIED and waiting.official_email == new
    assert (profile.status, profile.reason_code) == (VerificationStatus.REVOKED, EndReason.ADDRESS_REMOVED)


@pytest.mark.parametrize("change", ["unconfirmed", "moved to another account", "changed"])
def test_an_address_changed_in_the_admin_suspends_too(world, change, smtp_server, django_capture_on_commit_callbacks):
    """The Django admin edits addresses directly: unticking "verified", moving the address
    to another account or changing it all take it from the person."""
    someone = world["public"]
    official = EmailAddress.objects.create(user=someone, email="some.one@pune.mahaagri.gov.in", verified=True)
    profile = verified(world, someone, official_email=official.email)
    if change == "unconfirmed":
        official.verified = False
    elif change == "moved to another account":
        official.user = world["auditor"]
    else:
        official.email = "some.other@pune.mahaagri.gov.in"
    before = len(smtp_server.messages)
    with django_capture_on_commit_callbacks(execute=True):
        official.save()
    profile.refresh_from_db()
    assert (profile.status, profile.reason_code) == (VerificationStatus.SUSPENDED, EndReason.ADDRESS_REMOVED)
    [told] = smtp_server.messages[before:]
    assert told["To"] == "someone@gmail.com"  # the address still confirmed on the account
    # Saving it again, or saving another address, changes nothing more.
    official.save()
    EmailAddress.objects.get(user=someone, email="someone@gmail.com").save()
    assert AuditEvent.objects.filter(action=AuditAction.VERIFICATION_SUSPENDED).count() == 1


def test_when_no_confirmed_address_is_left_nobody_is_mailed_at_the_one_removed(
        world, smtp_server, django_capture_on_commit_callbacks):
    asha = world["person"]
    profile = verified(world, asha)
    before = len(smtp_server.messages)
    with django_capture_on_commit_callbacks(execute=True):
        EmailAddress.objects.filter(user=asha).delete()  # as the Django admin can
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.SUSPENDED
    assert not [m for m in smtp_server.messages[before:] if m["To"] == asha.email]


def asha_the_only_admin(world):
    """Asha, verified in the office, made its admin; the office's first admin handed it over
    to her and left: her role rests on her verification at her official address."""
    asha = world["person"]
    profile = verified(world, asha)
    organisation_admin_grant(organisation_id=world["office"].pk, user_id=asha.pk, actor=world["admin_office"])
    organisation_admin_revoke(organisation_id=world["office"].pk, user_id=world["admin_office"].pk, actor=asha)
    return asha, profile


def test_the_last_admin_cannot_change_the_official_address_their_role_rests_on(
        world, smtp_server, django_capture_on_commit_callbacks):
    """Changing the account's address to another official one would suspend the
    verification at the old one and, with it, the office's last admin role: refused at the
    address, before any code is mailed, nothing changed, the person told what to do first;
    so is a confirmation that gets that far (the role's last other holder gone meanwhile)."""
    asha, profile = asha_the_only_admin(world)
    old = asha.email
    client = signed_in(asha)
    before = len(smtp_server.messages)
    last_admin = ("You are the last admin of District Agriculture Office, Pune whose role does not end, and the role "
                  "rests on your verification with the official address that would leave your account: hand it over "
                  "first by granting the admin role there to someone else (without an end date).")
    for box in ({}, {"end_roles": "on"}):
        response = post_confirming_access(client, "/accounts/email/",
                                          {"email": "asha.k@pune.mahaagri.gov.in", "action_add": "", **box})
        assert response.status_code == 200
        assert field_error(html_page(response), "email") == last_admin
        assert field_value(html_page(response), "email") == "asha.k@pune.mahaagri.gov.in"  # kept to correct
    assert len(smtp_server.messages) == before
    assert not EmailAddress.objects.filter(user=asha, email="asha.k@pune.mahaagri.gov.in").exists()

    # Another admin when the code is sent, gone when it is entered: refused there.
    other = UserFactory(email="meera.joshi@pune.mahaagri.gov.in", full_name="Meera Joshi")
    services.join_request_decide(profile_id=services.join_request_create(
        organisation_id=world["office"].pk, language="en", actor=other,
        details={**DETAILS, "official_email": other.email, "employee_code": "EMP-2003", "mobile": "9822000003"}).pk,
        decision="verify", actor=asha)
    organisation_admin_grant(organisation_id=world["office"].pk, user_id=other.pk, actor=asha)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_confirming_access(client, "/accounts/email/", {"email": "asha.k@pune.mahaagri.gov.in",
                                                                       "action_add": "", "end_roles": "on"})
    assert response.status_code == 302
    organisation_admin_revoke(organisation_id=world["office"].pk, user_id=other.pk, actor=asha)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response["Location"], {"code": code_in(smtp_server, before)}, follow=True)
    assert last_admin in response.content.decode()
    assert EmailAddress.objects.get(user=asha, email=old).verified
    assert not EmailAddress.objects.filter(user=asha, email="asha.k@pune.mahaagri.gov.in", verified=True).exists()
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED
    assert Membership.objects.get(organisation=world["office"], user=asha).admin_in_force
    assert not AuditEvent.objects.filter(action=AuditAction.VERIFICATION_SUSPENDED).exists()

    # Once someone else holds the role, the same change goes through and her role lapses.
    successor = UserFactory(email="ravi.patil@pune.mahaagri.gov.in", full_name="Ravi Patil")
    request = services.join_request_create(organisation_id=world["office"].pk, language="en", actor=successor,
                                           details={**DETAILS, "official_email": successor.email,
                                                    "employee_code": "EMP-2002", "mobile": "9822000002"})
    services.join_request_decide(profile_id=request.pk, decision="verify", actor=asha)
    organisation_admin_grant(organisation_id=world["office"].pk, user_id=successor.pk, actor=asha)
    cache.clear()  # allauth's limit of confirmation codes sent to one address
    add_and_confirm(client, "asha.k@pune.mahaagri.gov.in", smtp_server, django_capture_on_commit_callbacks,
                    end_roles="on")
    profile.refresh_from_db()
    assert (profile.status, profile.reason_code) == (VerificationStatus.SUSPENDED, EndReason.ADDRESS_REMOVED)
    assert not Membership.objects.get(organisation=world["office"], user=asha).admin_in_force


def test_an_admin_role_that_ends_with_the_verification_at_the_old_address_is_named_before_and_after_the_change(
        world, smtp_server, django_capture_on_commit_callbacks):
    """Another official address of the same office: the verification at the old address is
    suspended as it leaves the account, and the admin role resting on it ends (someone else
    holds the role without an end date). As for the roles an address that cannot hold them
    ends, the box names the role and refuses the address until ticked (no code mailed, the
    address kept in its field), the page asking for the code names it again, and the email
    page says so after."""
    asha = world["person"]
    profile = verified(world, asha)
    organisation_admin_grant(organisation_id=world["office"].pk, user_id=asha.pk, actor=world["admin_office"])
    old, new, role = asha.email, "asha.k@pune.mahaagri.gov.in", "Organisation admin (District Agriculture Office, Pune)"
    client = signed_in(asha)
    before = len(smtp_server.messages)
    response = post_confirming_access(client, "/accounts/email/", {"email": new, "action_add": ""})
    assert response.status_code == 200
    assert field_error(html_page(response), "end_roles") == (
        f"When {new} becomes your primary address, your other addresses leave your account: your verification with "
        f"one of them ends, and these roles, which rest on it, end with it: {role}. Tick the box to confirm; you can "
        "then ask to be verified again with your new address.")
    assert field_value(html_page(response), "email") == new
    assert len(smtp_server.messages) == before and not EmailAddress.objects.filter(email=new).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_confirming_access(client, "/accounts/email/", {"email": new, "action_add": "",
                                                                       "end_roles": "on"})
    assert response.status_code == 302
    assert (f"Entering the code makes {new} your primary address, and your other addresses leave your account: your "
            f"verification with one of them ends, and these roles, which rest on it, end with it: {role}."
            ) in html_page(client.get(response["Location"])).squashed_text()
    assert Membership.objects.get(organisation=world["office"], user=asha).admin_in_force  # nothing ended yet
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response["Location"], {"code": code_in(smtp_server, before)})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.SUSPENDED
    assert not Membership.objects.get(organisation=world["office"], user=asha).admin_in_force
    page = client.get("/accounts/email/").content.decode()
    assert (f"Your primary address is now asha.k@pune.mahaagri.gov.in. Your verification with {old} ended as that "
            "address left your account, and these roles, which rested on it, ended: Organisation admin (District "
            "Agriculture Office, Pune). Ask to be verified again with your new address.") in html.unescape(page)


def test_changing_the_address_names_the_verification_resting_on_the_old_one_and_waits_for_the_box(
        world, smtp_server, django_capture_on_commit_callbacks):
    """A verified person with no role: the email page names the organisation whose
    verification the change suspends (it rests on the address that leaves the account), and
    the change is refused at the box until it is ticked, as for roles that lapse: no code
    mailed, nothing changed, the address typed kept in its field, the organisation named."""
    asha = world["person"]
    profile = verified(world, asha)
    new, office = "asha.k@pune.mahaagri.gov.in", world["office"].name
    client = signed_in(asha)
    page = html_page(client.get("/accounts/email/"))
    assert field_value(page, "end_roles") is False
    assert page.by_id("id_end_roles_helptext").squashed_text() == (
        f"Changing your address suspends your verification in these organisations, which rests on an address that "
        f"then leaves your account: {office}. You can then ask to be verified again with your new address.")
    before = len(smtp_server.messages)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_confirming_access(client, "/accounts/email/", {"email": new, "action_add": ""})
    assert response.status_code == 200
    assert field_error(html_page(response), "end_roles") == (
        f"When {new} becomes your primary address, your other addresses leave your account: your verification in "
        f"these organisations, which rests on one of them, is suspended: {office}. Tick the box to confirm; you can "
        "then ask to be verified again with your new address.")
    assert field_value(html_page(response), "email") == new
    assert len(smtp_server.messages) == before and not EmailAddress.objects.filter(email=new).exists()
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED


def test_with_the_box_ticked_the_change_names_the_verification_again_and_suspends_it(
        world, smtp_server, django_capture_on_commit_callbacks):
    asha = world["person"]
    old = asha.email
    profile = verified(world, asha)
    new, office = "asha.k@pune.mahaagri.gov.in", world["office"].name
    client = signed_in(asha)
    before = len(smtp_server.messages)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_confirming_access(client, "/accounts/email/", {"email": new, "action_add": "",
                                                                       "end_roles": "on"})
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert (f"Entering the code makes {new} your primary address, and your other addresses leave your account: your "
            f"verification in these organisations, which rests on one of them, is suspended: {office}."
            ) in html_page(client.get(response["Location"])).squashed_text()
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED  # nothing suspended yet
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response["Location"], {"code": code_in(smtp_server, before)})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.status, profile.reason_code) == (VerificationStatus.SUSPENDED, EndReason.ADDRESS_REMOVED)
    assert not EmailAddress.objects.filter(user=asha, email=old).exists()


# The page asking for the code when the change ends something: the session, the user with their
# roles, allauth's pending change (the user), then the roles the new address ends itself (three
# readings of the email rules, one per address classified), and what the change ends besides, asked
# once (address_change_ends): the addresses that leave, the verifications resting on them, three
# readings of the email rules (whether the new address ends the roles itself), the roles resting on
# those verifications, and then the organisations' names (a verification suspended) or the first
# admin roles the new address leaves (a role lapsing) and their organisations.
@pytest.mark.parametrize(("admin", "queries"), [(False, 13), (True, 12)], ids=["suspended", "role lapsing"])
def test_the_code_page_reads_what_the_change_ends_once(world, django_capture_on_commit_callbacks, admin, queries,
                                                       django_assert_num_queries):
    asha = world["person"]
    verified(world, asha)
    if admin:
        organisation_admin_grant(organisation_id=world["office"].pk, user_id=asha.pk, actor=world["admin_office"])
    client = signed_in(asha)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_confirming_access(client, "/accounts/email/", {
            "email": "asha.k@pune.mahaagri.gov.in", "action_add": "", "end_roles": "on"})
    with django_assert_num_queries(queries):
        page = client.get(response["Location"])
    said = html_page(page).squashed_text()
    assert ("which rest on it, end with it" in said, "is suspended" in said) == (admin, not admin)


def test_the_code_page_names_a_verification_once_when_a_role_resting_on_it_lapses_with_it(
        world, smtp_server, django_capture_on_commit_callbacks):
    """The verification ends with the role resting on it, as the roles' warning says: it is not also
    said to be suspended."""
    from portal.organisations.services import organisation_admin_grant

    asha = world["person"]
    verified(world, asha)
    organisation_admin_grant(organisation_id=world["office"].pk, user_id=asha.pk, actor=world["admin_office"])
    client = signed_in(asha)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_confirming_access(client, "/accounts/email/", {
            "email": "asha.k@pune.mahaagri.gov.in", "action_add": "", "end_roles": "on"})
    assert response.status_code == 302
    text = html_page(client.get(response["Location"])).squashed_text()
    assert "your verification with one of them ends" in text
    assert "is suspended" not in text


def test_a_person_with_no_verification_on_the_address_changes_it_without_a_box(
        world, smtp_server, django_capture_on_commit_callbacks):
    """Asked to be verified, not verified yet: nothing rests on the address, no box."""
    asha = world["person"]
    services.join_request_create(organisation_id=world["office"].pk, language="en", actor=asha,
                                 details={**DETAILS, "official_email": asha.email})
    client = signed_in(asha)
    page = client.get("/accounts/email/").content.decode()
    assert 'name="end_roles"' not in page and world["office"].name not in page
    before = len(smtp_server.messages)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_confirming_access(client, "/accounts/email/", {"email": "asha.k@pune.mahaagri.gov.in",
                                                                       "action_add": ""})
    assert response.status_code == 302
    assert "is suspended" not in client.get(response["Location"]).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response["Location"], {"code": code_in(smtp_server, before)})
    assert response.status_code == 302
    assert EmailAddress.objects.get(user=asha, verified=True).email == "asha.k@pune.mahaagri.gov.in"


def test_the_last_admin_cannot_remove_the_address_their_role_rests_on(world):
    """"Remove" on allauth's page, for the address a verification rests on (an account
    with two confirmed addresses, as one made before ACCOUNT_CHANGE_EMAIL held, or by the
    Django admin): refused the same way, the address kept."""
    asha, profile = asha_the_only_admin(world)
    EmailAddress.objects.filter(user=asha).update(primary=False)
    EmailAddress.objects.create(user=asha, email="asha.home@gmail.com", verified=True, primary=True)
    client = signed_in(asha)
    response = post_confirming_access(client, "/accounts/email/", {"action_remove": "", "email": asha.email})
    assert response.status_code == 302 and response["Location"] == "/accounts/email/"
    page = client.get("/accounts/email/").content.decode()
    assert "You are the last admin of District Agriculture Office, Pune whose role does not end" in page
    assert "Removed" not in page
    assert EmailAddress.objects.filter(user=asha, email=asha.email, verified=True).exists()
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED
    assert Membership.objects.get(organisation=world["office"], user=asha).admin_in_force


@pytest.mark.parametrize("by", ["superuser", "staff"])
def test_the_address_the_last_admins_role_rests_on_is_not_deleted_in_the_django_admin(world, by):
    """The last-admin rule holds wherever a person's decision would end the role: an
    administrator deleting the address in the Django admin (a superuser, or a staff account
    that may delete addresses) is refused as its holder is, alone (sent back to the
    address's page with the reason) or with others (it is left out, named; the others go).
    Nothing of hers ends; once someone else holds the role, the deletion goes through."""
    from django.contrib.messages import get_messages

    from tests.onboarding.approval_helpers import second_factor_given, with_totp
    from tests.portal.test_role_audit import staff_with

    asha, profile = asha_the_only_admin(world)
    address = EmailAddress.objects.get(user=asha, email=asha.email)
    spare = EmailAddress.objects.create(user=asha, email="asha.home@gmail.com", verified=True)
    if by == "superuser":
        root = UserFactory(email="root@nic.in", is_superuser=True, is_staff=True)
        with_totp(root)
        client = Client()
        client.force_login(root)
        second_factor_given(client, root)
    else:
        _staff, client = staff_with("view_emailaddress", "delete_emailaddress")
    said = ("The admin role of an organisation's last admin whose role does not end rests on it (grant the role "
            f"there to someone else first): {asha.email}")
    response = client.post(f"/admin/account/emailaddress/{address.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.redirect_chain == [(f"/admin/account/emailaddress/{address.pk}/change/", 302)]
    assert [str(m) for m in get_messages(response.wsgi_request)] == [said]
    response = client.post("/admin/account/emailaddress/", {
        "action": "delete_selected", "_selected_action": [address.pk, spare.pk], "post": "yes"}, follow=True)
    assert said in [str(m) for m in get_messages(response.wsgi_request)]
    assert list(EmailAddress.objects.filter(user=asha).values_list("pk", flat=True)) == [address.pk]
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED
    assert Membership.objects.get(organisation=world["office"], user=asha).admin_in_force
    assert not AuditEvent.objects.filter(action=AuditAction.VERIFICATION_SUSPENDED).exists()
    assert [e.old_values["email"] for e in AuditEvent.objects.filter(action=AuditAction.USER_EMAIL_REMOVED)] == [
        "asha.home@gmail.com"]

    successor = UserFactory(email="ravi.patil@pune.mahaagri.gov.in", full_name="Ravi Patil")
    request = services.join_request_create(organisation_id=world["office"].pk, language="en", actor=successor,
                                           details={**DETAILS, "official_email": successor.email,
                                                    "employee_code": "EMP-2002", "mobile": "9822000002"})
    services.join_request_decide(profile_id=request.pk, decision="verify", actor=asha)
    organisation_admin_grant(organisation_id=world["office"].pk, user_id=successor.pk, actor=asha)
    response = client.post(f"/admin/account/emailaddress/{address.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not EmailAddress.objects.filter(pk=address.pk).exists()
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.SUSPENDED
    assert not Membership.objects.get(organisation=world["office"], user=asha).admin_in_force


@pytest.mark.parametrize("change", ["unconfirmed", "other_address", "other_account"])
def test_the_address_the_last_admins_role_rests_on_is_not_changed_away_in_the_django_admin(world, change):
    """A superuser's change form for that address: unticking "verified", changing the address,
    or moving it to another account ends the verification resting on it as a deletion does
    (verification.receivers), so it is held to the same rule: refused at the form, saying why,
    with what was typed kept; nothing of hers ends and nothing is audited."""
    from tests.html_tree import parse
    from tests.onboarding.approval_helpers import second_factor_given, with_totp

    asha, profile = asha_the_only_admin(world)
    address = EmailAddress.objects.get(user=asha, email=asha.email)
    other = UserFactory(email="other@pune.mahaagri.gov.in")
    root = UserFactory(email="root@nic.in", is_superuser=True, is_staff=True)
    with_totp(root)
    client = Client()
    client.force_login(root)
    second_factor_given(client, root)
    url = f"/admin/account/emailaddress/{address.pk}/change/"
    data = {"user": asha.pk, "email": asha.email, "verified": "on"}
    if change == "unconfirmed":
        data.pop("verified")
    elif change == "other_address":
        data["email"] = "asha.new@pune.mahaagri.gov.in"
    else:
        data["user"] = other.pk
        # Her account's own address does not move to another account here at all.
        response = client.post(url, data)
        assert response.status_code == 200
        assert "This is its account&#x27;s own address: it does not move to another account here" in (
            response.content.decode())
        # Another of her addresses, the one the verification rests on, moved to another account:
        address.primary = False
        address.save(update_fields=["primary"])
        EmailAddress.objects.create(user=asha, email="asha.home@gmail.com", verified=True, primary=True)
    audited = AuditEvent.objects.count()
    response = client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The admin role of an organisation&#x27;s last admin whose role does not end rests on it" in page
    assert parse(page).find("input", name="email").get("value") == data["email"]
    address.refresh_from_db()
    assert (address.user_id, address.email, address.verified) == (asha.pk, asha.email, True)
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED
    assert Membership.objects.get(organisation=world["office"], user=asha).admin_in_force
    assert AuditEvent.objects.count() == audited


def test_removing_a_domain_from_an_organisation_ends_what_rests_on_it_alone(world, django_capture_on_commit_callbacks):
    """A superadmin takes a domain off an organisation (accepted by mistake, a lookalike, a
    domain the department gave up): addresses there stop counting as the organisation's at
    once. Its waiting invitations to them are withdrawn; a verification nobody vouched for
    but the domain (made automatically) is suspended by the system, the person told, for its
    administrators to reinstate if they vouch for them; one an administrator decided stands.
    A new request at that domain waits for the administrators. Audited."""
    from django.core.exceptions import PermissionDenied

    from portal.organisations.services import organisation_domain_remove
    from verification.models import VerificationMethod
    from verification.rosters.models import Invitation, InvitationStatus

    office, now = world["office"], timezone.now()
    services.auto_verification_set(organisation_id=office.pk, enabled=True, actor=world["admin_office"])
    person = world["person"]
    automatic = services.join_request_create(organisation_id=office.pk, language="hi", actor=person,
                                             details={**DETAILS, "official_email": person.email})
    assert (automatic.status, automatic.method) == (VerificationStatus.VERIFIED, VerificationMethod.OFFICIAL_EMAIL)
    vouched_for = UserFactory(email="ravi.patil@pune.mahaagri.gov.in")
    manual = GovernmentProfileFactory(user=vouched_for, organisation=office, status=VerificationStatus.VERIFIED,
                                      official_email=vouched_for.email, method=VerificationMethod.MANUAL)
    invitation = Invitation.objects.create(
        organisation=office, email="new.clerk@pune.mahaagri.gov.in", mailbox="new.clerk@pune.mahaagri.gov.in",
        name="New Clerk", designation="Clerk", office="Section", employee_code="E1", mobile="+919876500000",
        token_hash="1" * 64, invited_by=world["admin_office"], created_at=now, sent_at=now,
        expires_at=now + timedelta(days=7))
    elsewhere = Invitation.objects.create(
        organisation=office, email="clerk@mahaagri.gov.in", mailbox="clerk@mahaagri.gov.in",
        name="Clerk", designation="Clerk", office="Section", employee_code="E2", mobile="+919876500001",
        token_hash="2" * 64, invited_by=world["admin_office"], created_at=now, sent_at=now,
        expires_at=now + timedelta(days=7))
    row = OrganisationDomain.objects.get(organisation=office, domain="pune.mahaagri.gov.in")

    for actor in (world["admin_office"], world["admin_parent"]):
        with pytest.raises(PermissionDenied):
            organisation_domain_remove(domain_id=row.pk, reason="Not theirs", actor=actor)
    with pytest.raises(ValidationError):
        organisation_domain_remove(domain_id=row.pk, reason="  ", actor=world["superadmin"])
    assert OrganisationDomain.objects.filter(pk=row.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        organisation_domain_remove(domain_id=row.pk, reason="The office moved to the department's domain",
                                   actor=world["superadmin"])
    assert not OrganisationDomain.objects.filter(pk=row.pk).exists()
    [removed] = AuditEvent.objects.filter(action=AuditAction.DOMAIN_REMOVED)
    assert (removed.actor_id, removed.target_id) == (world["superadmin"].pk, str(office.pk))
    assert removed.old_values == {"domain": "pune.mahaagri.gov.in", "verified": True, "claim": DomainClaim.OFFICIAL_SUFFIX}
    assert removed.new_values == {"reason": "The office moved to the department's domain",
                                  "told": [world["admin_office"].email]}
    # Its admin is told what it ended, and that one member verified by hand keeps an address there.
    [admin_told] = messages_to(world["admin_office"].email)
    assert "1 waiting invitation to an address there was withdrawn." in admin_told.body
    assert "1 verification made automatically at it was suspended, and the person told." in admin_told.body
    assert ("1 member verified by an administrator keeps an official address at pune.mahaagri.gov.in: their "
            "verification stands" in admin_told.body)

    assert Invitation.objects.get(pk=invitation.pk).status == InvitationStatus.CANCELLED
    assert Invitation.objects.get(pk=elsewhere.pk).status == InvitationStatus.PENDING  # the department's domain
    [withdrawn] = AuditEvent.objects.filter(action=AuditAction.INVITATION_CANCELLED)
    assert withdrawn.actor_id is None and withdrawn.actor_role == "system:domain_removed"
    assert withdrawn.new_values == {"status": InvitationStatus.CANCELLED, "email": "new.clerk@pune.mahaagri.gov.in",
                                    "domain": "pune.mahaagri.gov.in"}

    automatic.refresh_from_db()
    assert (automatic.status, automatic.reason_code) == (VerificationStatus.SUSPENDED, EndReason.DOMAIN_REMOVED)
    manual.refresh_from_db()
    assert manual.status == VerificationStatus.VERIFIED
    [suspended] = AuditEvent.objects.filter(action=AuditAction.VERIFICATION_SUSPENDED)
    assert (suspended.target_id, suspended.actor_role) == (str(automatic.pk), "system:domain_removed")
    told = messages_to(person.email)[-1]  # in the language they asked in (Hindi)
    assert "pune.mahaagri.gov.in" in told.body and "{%" not in told.body and "निलंबित" in told.subject

    # Automatic verification no longer applies at that domain.
    newcomer = UserFactory(email="meera.joshi@pune.mahaagri.gov.in")
    asked = services.join_request_create(organisation_id=office.pk, language="en", actor=newcomer,
                                         details={**DETAILS, "official_email": newcomer.email})
    assert asked.status == VerificationStatus.PENDING


def test_removing_an_internationalised_domain_reaches_the_addresses_written_in_its_own_letters(world):
    """The domain is kept IDNA-encoded; an address at it may be kept in its own letters (the
    rules check it encoded): the automatic verification at it is suspended all the same."""
    from portal.organisations.services import organisation_domain_remove
    from verification.models import VerificationMethod

    other = world["other"]
    row = OrganisationDomain.objects.create(organisation=other, domain="कृषि.gov.in".encode("idna").decode("ascii"),
                                            is_verified=True)
    profile = GovernmentProfileFactory(organisation=other, status=VerificationStatus.VERIFIED,
                                       official_email="meera@कृषि.gov.in", method=VerificationMethod.OFFICIAL_EMAIL)
    organisation_domain_remove(domain_id=row.pk, reason="A lookalike", actor=world["superadmin"])
    profile.refresh_from_db()
    assert (profile.status, profile.reason_code) == (VerificationStatus.SUSPENDED, EndReason.DOMAIN_REMOVED)


def test_removing_a_departments_domain_reaches_the_offices_below_that_use_it(world, django_capture_on_commit_callbacks):
    """An office's staff use the domains of the organisations above it as theirs (its
    requests and rosters take addresses there as official), though its automatic
    verification accepts only its own domains: a request at the department's domain waits
    for its administrators. Removing the department's domain treats the offices below as
    the department itself: their invitations there are withdrawn, a verification made
    automatically at it suspended, and the members an administrator verified at it counted
    on the confirmation page and in the mail to the department's admins, which say how many
    of them are in the offices below (listed on those offices' members pages, not the
    department's)."""
    from portal.organisations.services import organisation_domain_remove
    from portal.organisations.status_selectors import domain_removal_weighed
    from verification.models import VerificationMethod

    office, parent = world["office"], world["parent"]
    services.auto_verification_set(organisation_id=office.pk, enabled=True, actor=world["admin_office"])
    staff = UserFactory(email="meera@mahaagri.gov.in")
    asked = services.join_request_create(organisation_id=office.pk, language="en", actor=staff,
                                         details={**DETAILS, "official_email": staff.email})
    assert asked.status == VerificationStatus.PENDING  # not the office's own domain: an administrator decides
    by_hand = services.join_request_decide(profile_id=asked.pk, decision="verify", actor=world["admin_office"])
    automatic = GovernmentProfileFactory(organisation=office, status=VerificationStatus.VERIFIED,
                                         official_email="ravi@mahaagri.gov.in", method=VerificationMethod.OFFICIAL_EMAIL)
    row = OrganisationDomain.objects.get(organisation=parent, domain="mahaagri.gov.in")
    weighed = domain_removal_weighed(row)
    assert (weighed["verifications_suspended"], weighed["verified_by_hand"], weighed["verified_by_hand_below"]) == (1, 1, 1)
    # The department's members page does not list her: the page says where she is listed.
    shown = " ".join(signed_in(world["superadmin"]).get(
        f"/portal/organisations/{parent.pk}/domains/{row.pk}/remove/").content.decode().split())
    assert ("1 member verified by an administrator keeps an official address at mahaagri.gov.in: their verification "
            "stands.") in shown
    assert "1 of them is verified in an office below it, whose own members page lists them." in shown

    with django_capture_on_commit_callbacks(execute=True):
        organisation_domain_remove(domain_id=row.pk, reason="The department moved to a new domain",
                                   actor=world["superadmin"])
    [told] = messages_to(world["admin_parent"].email)
    assert "1 verification made automatically at it was suspended" in told.body
    assert "1 member verified by an administrator keeps an official address at mahaagri.gov.in" in told.body
    assert "1 of them is verified in an office below it, whose own members page lists them." in " ".join(
        told.body.split())
    automatic.refresh_from_db()
    assert (automatic.status, automatic.reason_code) == (VerificationStatus.SUSPENDED, EndReason.DOMAIN_REMOVED)
    assert GovernmentProfile.objects.get(pk=by_hand.pk).status == VerificationStatus.VERIFIED


# The status page with no domain removed (test_organisation_status: STATUS_PAGE_QUERIES), and
# with one removed: the domains official for its line among those removed, and its members at
# those still not.
STATUS_PAGE_QUERIES_AFTER_REMOVAL = 9


def test_the_status_page_counts_the_members_left_at_a_removed_domain_and_the_members_list_finds_them(
        world, django_assert_num_queries):
    """A member an administrator verified at a domain later removed from the organisation
    keeps their verification; the organisation's status page says how many such members it
    has (at a domain removed from it or from one above it, official for none of its line
    since), with a link to its members list showing only them. Once the domain is official
    for it again, they are no longer counted."""
    from portal.organisations.services import organisation_domain_add, organisation_domain_remove
    from verification.models import VerificationMethod

    office = world["office"]
    left = GovernmentProfileFactory(user=UserFactory(email="ravi.patil@pune.mahaagri.gov.in"), organisation=office,
                                    status=VerificationStatus.VERIFIED, official_email="ravi.patil@pune.mahaagri.gov.in",
                                    method=VerificationMethod.MANUAL)
    GovernmentProfileFactory(user=UserFactory(email="meera@mahaagri.gov.in"), organisation=office,
                             status=VerificationStatus.VERIFIED, official_email="meera@mahaagri.gov.in",
                             method=VerificationMethod.MANUAL)
    superadmin = signed_in(world["superadmin"])
    url = f"/portal/organisations/{office.pk}/"
    assert "members-off-domains" not in superadmin.get(url).content.decode()
    row = OrganisationDomain.objects.get(organisation=office, domain="pune.mahaagri.gov.in")
    organisation_domain_remove(domain_id=row.pk, reason="Moved to the department's domain", actor=world["superadmin"])

    with django_assert_num_queries(STATUS_PAGE_QUERIES_AFTER_REMOVAL):
        response = superadmin.get(url)
    text = " ".join(response.content.decode().split())
    assert ("1 verified member keeps an official address on a domain that is no longer the organisation's" in text)
    members = f"/verification/organisations/{office.pk}/members/?verified_only=on&amp;off_domain=on"
    assert f'href="{members}"' in text
    listed = superadmin.get(members.replace("&amp;", "&")).content.decode()
    assert "ravi.patil@pune.mahaagri.gov.in" in listed and "meera@mahaagri.gov.in" not in listed
    assert left.pk in [profile.pk for profile in superadmin.get(members.replace("&amp;", "&")).context["page"]]
    assert "meera@mahaagri.gov.in" in superadmin.get(f"/verification/organisations/{office.pk}/members/").content.decode()
    # Official for it again: nobody is left at a domain no longer its.
    organisation_domain_add(organisation_id=office.pk, domain="pune.mahaagri.gov.in", reason="Back again",
                            actor=world["superadmin"])
    assert "members-off-domains" not in superadmin.get(url).content.decode()


@pytest.mark.parametrize("ended", ["past superannuation", "account closed"])
def test_the_status_pages_count_of_members_left_at_a_removed_domain_leaves_out_one_no_longer_counted(world, ended):
    """The count, and the list it links to ("Verified only"), agree: a verification past its
    date of superannuation (not yet written down by the hourly job), or of an account closed,
    is in neither."""
    from portal.organisations.services import organisation_domain_remove
    from verification.models import VerificationMethod

    office = world["office"]
    past = ended == "past superannuation"
    GovernmentProfileFactory(user=UserFactory(email="ravi.patil@pune.mahaagri.gov.in", is_active=past),
                             organisation=office, status=VerificationStatus.VERIFIED,
                             official_email="ravi.patil@pune.mahaagri.gov.in", method=VerificationMethod.MANUAL,
                             superannuation_date=timezone.localdate() - timedelta(days=1 if past else -1))
    row = OrganisationDomain.objects.get(organisation=office, domain="pune.mahaagri.gov.in")
    organisation_domain_remove(domain_id=row.pk, reason="Moved to the department's domain", actor=world["superadmin"])
    superadmin = signed_in(world["superadmin"])
    assert "members-off-domains" not in superadmin.get(f"/portal/organisations/{office.pk}/").content.decode()
    listed = superadmin.get(f"/verification/organisations/{office.pk}/members/?verified_only=on&off_domain=on")
    assert list(listed.context["page"]) == []


def test_a_person_suspended_as_the_domain_was_removed_asks_again_with_a_new_address(world):
    """The suspension holds no place in the organisation: the person asks again with their
    new official address (the office moved to the department's domain, say), and verifying
    that ends the suspended verification, for the reason it was suspended."""
    from portal.organisations.services import organisation_domain_remove
    from verification.models import VerificationMethod

    office, person = world["office"], world["person"]
    profile = GovernmentProfileFactory(user=person, organisation=office, status=VerificationStatus.VERIFIED,
                                       official_email=person.email, method=VerificationMethod.OFFICIAL_EMAIL)
    row = OrganisationDomain.objects.get(organisation=office, domain="pune.mahaagri.gov.in")
    organisation_domain_remove(domain_id=row.pk, reason="Moved to the department's domain", actor=world["superadmin"])
    EmailAddress.objects.create(user=person, email="asha.kulkarni@mahaagri.gov.in", verified=True)
    asked = services.join_request_create(organisation_id=office.pk, language="en", actor=person,
                                         details={**DETAILS, "official_email": "asha.kulkarni@mahaagri.gov.in"})
    assert asked.status == VerificationStatus.PENDING
    services.join_request_decide(profile_id=asked.pk, decision="verify", actor=world["admin_office"])
    profile.refresh_from_db()
    assert (profile.status, profile.reason_code) == (VerificationStatus.REVOKED, EndReason.DOMAIN_REMOVED)
    assert GovernmentProfile.objects.get(pk=asked.pk).status == VerificationStatus.VERIFIED


def test_a_superadmin_adds_an_email_domain_to_an_organisation_official_for_it_at_once(world):
    """Added by a superadmin (who decides, as accepting a claim does), a domain is official
    for the organisation at once, under the official suffixes or off them; refused (at the
    field) for what could never be accepted: a personal mail service, an official suffix
    itself, one official for another organisation, no host name. Audited. A superadmin's only."""
    from django.core.exceptions import PermissionDenied

    from portal.organisations.services import organisation_domain_add

    office = world["office"]
    with pytest.raises(PermissionDenied):
        organisation_domain_add(organisation_id=office.pk, domain="krishi-pune.org", reason="Theirs",
                                actor=world["admin_office"])
    for typed, code in (("gmail.com", "consumer_domain"), ("GOV.IN", DomainClaim.SUFFIX_ITSELF),
                        ("karhealth.gov.in", DomainClaim.CLAIMED_ELSEWHERE), ("*.gov.in", "invalid"),
                        ("pune.mahaagri.gov.in", "already_official")):
        with pytest.raises(ValidationError) as refused:
            organisation_domain_add(organisation_id=office.pk, domain=typed, reason="Theirs", actor=world["superadmin"])
        assert refused.value.error_dict["domain"][0].code == code, typed
    row = organisation_domain_add(organisation_id=office.pk, domain=" Krishi-Pune.ORG. ", reason="Their PSU's mail",
                                  actor=world["superadmin"])
    assert (row.domain, row.is_verified, row.accepted_by_id) == ("krishi-pune.org", True, world["superadmin"].pk)
    [added] = AuditEvent.objects.filter(action=AuditAction.DOMAIN_ACCEPTED)
    assert added.new_values == {"domain": "krishi-pune.org", "verified": True, "reason": "Their PSU's mail"}
    staff = UserFactory(email="meera@krishi-pune.org")
    asked = services.join_request_create(organisation_id=office.pk, language="en", actor=staff,
                                         details={**DETAILS, "official_email": staff.email})
    assert asked.organisation_id == office.pk  # official for it now


def test_removing_a_claim_no_superadmin_accepted_ends_nothing(world):
    """A claim never made the domain the organisation's: nothing rested on it. Invitations to
    addresses there (official by the suffix rules, as another organisation's domain) stay."""
    from portal.organisations.services import organisation_domain_remove
    from verification.rosters.models import Invitation, InvitationStatus

    office, now = world["office"], timezone.now()
    claim = OrganisationDomain.objects.create(organisation=office, domain="karhealth.gov.in", is_verified=False,
                                              claim=DomainClaim.CLAIMED_ELSEWHERE)
    invitation = Invitation.objects.create(
        organisation=office, email="doctor@karhealth.gov.in", mailbox="doctor@karhealth.gov.in", name="Doctor",
        designation="Doctor", office="Section", employee_code="E1", mobile="+919876500000", token_hash="3" * 64,
        invited_by=world["admin_office"], created_at=now, sent_at=now, expires_at=now + timedelta(days=7))
    organisation_domain_remove(domain_id=claim.pk, reason="Not theirs", actor=world["superadmin"])
    assert not OrganisationDomain.objects.filter(pk=claim.pk).exists()
    assert Invitation.objects.get(pk=invitation.pk).status == InvitationStatus.PENDING
    assert not AuditEvent.objects.filter(action=AuditAction.INVITATION_CANCELLED).exists()


def test_a_role_resting_on_a_verification_suspended_as_unconfirmed_is_named_before_the_address_change(db):
    """A verification the system suspended because its address was not confirmed in time still
    rests on that address: it ends (and the admin roles resting on it) when the address leaves
    the account. The email page's reckoning of the roles a change ends named none of them."""
    from django.utils import timezone  # noqa: PLC0415

    from portal.organisations.models import MembershipRole, OrganisationDomain  # noqa: PLC0415
    from portal.organisations.selectors import address_change_ends  # noqa: PLC0415
    from tests.factories import OrganisationFactory  # noqa: PLC0415
    from tests.verification.helpers import make_admin  # noqa: PLC0415

    parent = OrganisationFactory(name="Agriculture Department, Maharashtra")
    office = OrganisationFactory(name="District Agriculture Office, Pune", parent=parent)
    OrganisationDomain.objects.create(organisation=parent, domain="mahaagri.gov.in", is_verified=True)
    make_admin(parent, email="other.admin@mahaagri.gov.in")  # not the last admin
    asha = UserFactory(email="asha@mahaagri.gov.in")
    Membership.objects.create(organisation=office, user=asha, role=MembershipRole.ADMIN)  # the office's first admin
    Membership.objects.create(organisation=parent, user=asha, role=MembershipRole.ADMIN, granted_at=timezone.now())
    GovernmentProfileFactory(user=asha, organisation=parent, status=VerificationStatus.SUSPENDED,
                             reason_code=EndReason.UNCONFIRMED, official_email=asha.email)
    named = [role.organisation.name for role in address_change_ends(asha, "asha.k@mahaagri.gov.in").lapsing]
    before = {m.pk: m.organisation.name for m in Membership.objects.filter(user=asha) if m.admin_in_force}
    EmailAddress.objects.filter(user=asha, email=asha.email).delete()  # as the confirmation of the new one does
    ended = [name for pk, name in before.items() if not Membership.objects.get(pk=pk).admin_in_force]
    assert named == ended == ["Agriculture Department, Maharashtra"]
