"""verification.services: asking, deciding, suspending, reinstating, revoking,
automatic verification; each with its audit row, its email and its locks' effects."""

import importlib
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from portal.audit.models import AuditAction, AuditEvent
from portal.organisations.models import Membership, MembershipRole, OrganisationStatus
from portal.organisations.selectors import grounds_for_admin
from portal.organisations.services import LastAdmin, organisation_admin_grant, organisation_admin_revoke
from portal.permissions import is_member, may_administer
from portal.privacy.requests import person_correct
from tests.factories import OrganisationFactory, PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import messages_to
from tests.verification.helpers import (
    DETAILS,
    GovernmentProfileFactory,
    contacts_shown_to_verified_users,
    make_admin,
    signed_in,
)
from verification import services
from verification.models import GovernmentProfile, VerificationMethod, VerificationSettings, VerificationStatus
from verification.selectors import held_elsewhere, on_official_domain, profile_for_admin, profiles_for_admin

pytestmark = pytest.mark.django_db


def ask(world, organisation="office", user="person", language="en", **changes):
    """``user`` asks, giving their account's (confirmed) address as their official one unless told."""
    details = {**DETAILS, "official_email": world[user].email, **changes}
    return services.join_request_create(organisation_id=world[organisation].pk, details=details,
                                        language=language, actor=world[user])


def events(action, profile=None):
    rows = AuditEvent.objects.filter(action=action)
    if profile is not None:
        rows = rows.filter(target_type="verification.governmentprofile", target_id=str(profile.pk))
    return list(rows.order_by("id"))


# Asking ----------------------------------------------------------------------------------------

def test_asking_makes_a_pending_request_with_the_details_and_an_audit_row(world):
    profile = ask(world, language="mr")
    assert profile.status == VerificationStatus.PENDING and profile.organisation == world["office"]
    assert (profile.designation, profile.office, profile.employee_code) == ("Section Officer", "Establishment Section", "EMP-1042")
    assert profile.mobile == "+919876543210" and profile.superannuation_date is None
    assert profile.request_language == "mr"
    [event] = events(AuditAction.VERIFICATION_REQUESTED, profile)
    assert event.actor_id == world["person"].pk and event.old_values == {"status": ""}
    assert event.new_values["status"] == "pending" and event.new_values["on_official_domain"] is True
    assert event.new_values["details"]["employee_code"] == "EMP-1042"
    assert not Membership.objects.filter(user=world["person"]).exists()  # not a member until verified
    assert messages_to(world["person"].email) == []


def test_a_language_the_portal_does_not_have_is_stored_as_the_default(world):
    assert ask(world, language="xx").request_language == "en"


def test_details_are_bounded_and_on_one_line_in_the_service_too(world):
    """A detail over its field's length is refused at that field, never cut (what the form did
    not see: its composed form longer); line breaks become one space."""
    with pytest.raises(ValidationError) as caught:
        ask(world, designation="Section\r\nOfficer" + "x" * 400)
    assert list(caught.value.error_dict) == ["designation"]
    assert not GovernmentProfile.objects.exists()
    profile = ask(world, designation="Section\r\nOfficer", mobile="+91-98765-43210")
    assert profile.designation == "Section Officer"
    assert profile.mobile == "+919876543210"


@pytest.mark.parametrize("typed", ["0091 98765 43210", "0091-9876543210", "91 98765 43210", "098765 43210"])
def test_a_mobile_number_is_taken_as_the_onboarding_form_takes_it(world, typed):
    """"0091 98765 43210" (the international prefix dialled from India) was refused here
    while the onboarding form took it."""
    assert ask(world, mobile=typed).mobile == "+919876543210"


@pytest.mark.parametrize("field, value", [("designation", ""), ("mobile", "12345"), ("office", "   "),
                                          ("designation", "\u200b\u200b"), ("office", "\u2060\ufeff \u3164"),
                                          ("employee_code", "\u200d"),  # drawn as nothing: no detail
                                          ("mobile", "9८७६५४३२१०"), ("mobile", "९८७६५४३२१०")])  # digits in ASCII only
def test_missing_or_malformed_details_are_refused(world, field, value):
    with pytest.raises(ValidationError) as caught:
        ask(world, **{field: value})
    assert field in caught.value.error_dict
    assert not GovernmentProfile.objects.exists()


def test_a_date_of_superannuation_after_the_last_a_roster_takes_is_refused_in_the_service_too(world):
    """The form refuses it at the field first; the service, which every request goes
    through, refuses it as a roster does (after 2100)."""
    for last in (date(9999, 12, 31), date(2101, 1, 1)):
        with pytest.raises(ValidationError) as caught:
            ask(world, superannuation_date=last)
        assert caught.value.message_dict == {
            "superannuation_date": ["Enter a date of superannuation between tomorrow and 31 December 2100."]}
    assert not GovernmentProfile.objects.exists()
    assert ask(world, superannuation_date=date(2100, 12, 31)).superannuation_date == date(2100, 12, 31)


def test_a_second_request_to_the_same_organisation_waits_for_the_first(world):
    ask(world)
    with pytest.raises(ValidationError) as caught:
        ask(world)
    assert caught.value.code == "pending"
    assert GovernmentProfile.objects.count() == 1


def test_a_verified_member_cannot_ask_the_same_organisation_again(world):
    GovernmentProfileFactory(user=world["person"], organisation=world["office"], status=VerificationStatus.VERIFIED)
    with pytest.raises(ValidationError) as caught:
        ask(world)
    assert caught.value.code == "held"


def test_requests_to_several_organisations_may_wait_at_once(world):
    ask(world, "office")
    ask(world, "parent")
    assert GovernmentProfile.objects.filter(user=world["person"], status="pending").count() == 2


def test_one_person_keeps_at_most_verification_waiting_max_requests_waiting_at_once(world, settings):
    """The daily limit bounds the requests made in 24 hours, not those left waiting: asked
    over several days, one account would fill a department's queue. Only waiting requests
    count: withdrawing one (or a decision on one) makes room."""
    settings.VERIFICATION_WAITING_MAX = 3
    offices = [OrganisationFactory(name=f"Taluka Agriculture Office {n}", parent=world["parent"]) for n in range(5)]
    earlier = timezone.now() - timedelta(days=30)
    for n, office in enumerate(offices[:3]):  # one a day, long ago: the daily limit is no bar
        GovernmentProfileFactory(user=world["person"], organisation=office, requested_at=earlier + timedelta(days=n))
    GovernmentProfileFactory(user=world["person"], organisation=offices[3], status=VerificationStatus.REJECTED,
                             requested_at=earlier)
    details = {**DETAILS, "official_email": world["person"].email}
    with pytest.raises(ValidationError) as caught:
        services.join_request_create(organisation_id=offices[4].pk, details=details, language="en",
                                     actor=world["person"])
    assert caught.value.code == "too_many_waiting"
    assert caught.value.messages == ["You have 3 requests waiting for a decision (from any account of your mailbox: "
                                     "your address with or without a “+” tag), the most one person may have at once: "
                                     "withdraw one of them (Verification, in the menu, signed in with the account that "
                                     "made it) before asking another organisation."]
    assert not GovernmentProfile.objects.filter(organisation=offices[4]).exists()
    # Asking an organisation already asked says that first.
    with pytest.raises(ValidationError) as caught:
        services.join_request_create(organisation_id=offices[0].pk, details=details, language="en",
                                     actor=world["person"])
    assert caught.value.code == "pending"
    services.join_request_withdraw(profile_id=GovernmentProfile.objects.get(organisation=offices[0]).pk,
                                   actor=world["person"])
    assert services.join_request_create(organisation_id=offices[4].pk, details=details, language="en",
                                        actor=world["person"]).is_pending
    # Another person is not limited by it.
    assert ask(world, user="admin_other", organisation="office").is_pending


def test_the_most_requests_waiting_count_every_account_of_one_mailbox(world, settings):
    """Accounts are kept one per address, "+tag" and all: asha.kulkarni+2@ is Asha's mailbox
    again, so the requests her first account left waiting count against her second, which is
    refused the one more that would wait; another person's requests count apart."""
    settings.VERIFICATION_WAITING_MAX = 2
    earlier = timezone.now() - timedelta(days=30)
    for n in range(2):
        GovernmentProfileFactory(user=world["person"], requested_at=earlier + timedelta(days=n),
                                 organisation=OrganisationFactory(name=f"Taluka Office {n}", parent=world["parent"]))
    tagged = UserFactory(email="Asha.Kulkarni+2@pune.mahaagri.gov.in", full_name="Asha Kulkarni")
    details = {**DETAILS, "official_email": tagged.email}
    with pytest.raises(ValidationError) as caught:
        services.join_request_create(organisation_id=world["office"].pk, details=details, language="en",
                                     actor=tagged)
    assert caught.value.code == "too_many_waiting"
    assert not GovernmentProfile.objects.filter(user=tagged).exists()
    # One of Asha's waiting requests withdrawn, from the account that made it: room again.
    services.join_request_withdraw(profile_id=GovernmentProfile.objects.filter(user=world["person"]).first().pk,
                                   actor=world["person"])
    assert services.join_request_create(organisation_id=world["office"].pk, details=details, language="en",
                                        actor=tagged).is_pending
    # Someone else at the same office is not held by Asha's requests.
    assert ask(world, user="admin_other", organisation="office").is_pending


def test_the_most_requests_waiting_do_not_stop_one_verified_at_once(world, settings):
    """VERIFICATION_WAITING_MAX bounds the requests left waiting in queues: one that the
    organisation verifies automatically never waits in one (and verifying it cancels the
    others), so it is not refused."""
    settings.VERIFICATION_WAITING_MAX = 3
    earlier = timezone.now() - timedelta(days=30)
    waiting = [GovernmentProfileFactory(user=world["person"], requested_at=earlier + timedelta(days=n),
                                        organisation=OrganisationFactory(name=f"Taluka Office {n}", parent=world["parent"]))
               for n in range(3)]
    services.auto_verification_set(organisation_id=world["office"].pk, enabled=True, actor=world["admin_office"])
    profile = ask(world)  # their own office, their confirmed address on its verified domain
    assert profile.status == VerificationStatus.VERIFIED
    assert {GovernmentProfile.objects.get(pk=other.pk).status for other in waiting} == {VerificationStatus.CANCELLED}


def test_the_most_requests_waiting_stop_one_that_waits_when_it_cannot_be_verified_at_once(world, settings):
    """Automatic verification would end the office's last admin role, so the request would
    wait for an administrator after all: then it is one waiting request too many, refused,
    and nothing of it is kept."""
    settings.VERIFICATION_WAITING_MAX = 2
    verified_admin(world)
    admin = world["admin_office"]
    for n in range(2):
        GovernmentProfileFactory(user=admin, organisation=OrganisationFactory(name=f"Taluka Office {n}"))
    services.auto_verification_set(organisation_id=world["other"].pk, enabled=True, actor=world["admin_other"])
    EmailAddress.objects.create(user=admin, email="office.admin@karhealth.gov.in", verified=True)
    with pytest.raises(ValidationError) as caught:
        ask(world, organisation="other", user="admin_office", official_email="office.admin@karhealth.gov.in")
    assert caught.value.code == "too_many_waiting"
    assert not GovernmentProfile.objects.filter(organisation=world["other"]).exists()
    assert not events(AuditAction.VERIFICATION_REQUESTED)


def test_an_organisation_that_is_not_active_cannot_be_asked(world):
    pending = OrganisationFactory(status=OrganisationStatus.PENDING)
    with pytest.raises(type(pending).DoesNotExist):
        services.join_request_create(organisation_id=pending.pk, details=DETAILS, language="en", actor=world["person"])


def test_an_auditor_cannot_ask(world):
    with pytest.raises(ValidationError) as caught:
        ask(world, user="auditor")
    assert caught.value.code == "not_eligible"
    assert not GovernmentProfile.objects.exists()


READ_ONLY = "an auditor's account is read-only: it cannot be verified by an organisation."


def test_a_waiting_request_of_someone_since_made_auditor_is_not_verified(world):
    """Asked before the auditor role was granted, decided after: refused as asking would
    be, one by one (on the decision form, the request left waiting) and in the queue's
    bulk decision (left as invalid); rejecting it stays possible."""
    person = world["person"]
    profile = GovernmentProfileFactory(user=person, organisation=world["office"], official_email=person.email)
    PlatformRoleFactory(user=person, role="auditor", jurisdiction="")
    with pytest.raises(ValidationError) as refused:
        services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])
    assert refused.value.code == "not_eligible"
    outcome = services.join_requests_decide(profile_ids=[profile.pk], decision="verify", actor=world["admin_parent"])
    assert outcome.decided == [] and outcome.skipped == [(profile.pk, "invalid")]
    response = signed_in(world["admin_office"]).post(f"/verification/profiles/{profile.pk}/", {"decision": "verify"})
    assert response.status_code == 200 and READ_ONLY in response.content.decode().replace("&#x27;", "'")
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.PENDING
    assert not events(AuditAction.VERIFICATION_VERIFIED) and not Membership.objects.filter(user=person).exists()
    services.join_request_decide(profile_id=profile.pk, decision="reject", reason="An auditor now.",
                                 actor=world["admin_office"])


def test_a_suspended_verification_of_someone_since_made_auditor_is_not_reinstated(world):
    person = world["person"]
    profile = GovernmentProfileFactory(user=person, organisation=world["office"], status=VerificationStatus.SUSPENDED,
                                       official_email=person.email, reason_code="misuse")
    PlatformRoleFactory(user=person, role="auditor", jurisdiction="")
    with pytest.raises(ValidationError) as refused:
        services.profile_reinstate(profile_id=profile.pk, actor=world["admin_office"])
    assert refused.value.code == "not_eligible"
    response = signed_in(world["admin_office"]).post(f"/verification/profiles/{profile.pk}/reinstate/",
                                                     {"reason": "Cleared.", "confirm": "on"})
    assert response.status_code == 200 and READ_ONLY in response.content.decode().replace("&#x27;", "'")
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.SUSPENDED and not events(AuditAction.VERIFICATION_REINSTATED)


def test_asking_again_after_a_rejection_keeps_the_rejected_request(world):
    first = ask(world)
    services.join_request_decide(profile_id=first.pk, decision="reject", reason="Not on our rolls.", actor=world["admin_office"])
    second = ask(world)
    assert second.pk != first.pk
    assert list(GovernmentProfile.objects.filter(user=world["person"]).values_list("status", flat=True).order_by("id")) == [
        "rejected", "pending"]


# The official-domain badge -------------------------------------------------------------------------

def test_the_badge_needs_a_confirmed_address_on_one_of_the_organisations_verified_domains(world):
    person, address = world["person"], world["person"].email
    assert on_official_domain(person, address, world["office"]) is True
    assert on_official_domain(person, address, world["parent"]) is False  # mahaagri.gov.in is not pune.mahaagri.gov.in
    assert on_official_domain(world["public"], world["public"].email, world["office"]) is False
    assert on_official_domain(world["public"], address, world["office"]) is False  # not theirs
    EmailAddress.objects.filter(user=person).update(verified=False)
    assert on_official_domain(person, address, world["office"]) is False


def test_the_badge_reads_the_official_address_given_not_the_accounts_primary_one(world):
    """The admins see the badge for the address the profile vouches for."""
    EmailAddress.objects.create(user=world["person"], email="asha@karhealth.gov.in", verified=True)
    elsewhere = GovernmentProfileFactory(user=world["person"], organisation=world["office"],
                                         official_email="asha@karhealth.gov.in")
    public = world["public"]  # primary address someone@gmail.com
    EmailAddress.objects.create(user=public, email="some.one@pune.mahaagri.gov.in", verified=True)
    here = GovernmentProfileFactory(user=public, organisation=world["office"], official_email="some.one@pune.mahaagri.gov.in")
    shown = {profile.pk: profile.on_official_domain for profile in profiles_for_admin(world["admin_office"],
                                                                                       [elsewhere.pk, here.pk])}
    assert shown == {elsewhere.pk: False, here.pk: True}
    assert profile_for_admin(world["admin_office"], elsewhere.pk).on_official_domain is False


def test_the_badge_compares_domains_normalised(world):
    person = UserFactory(email="Asha@PUNE.MahaAgri.gov.in")
    assert on_official_domain(person, person.email, world["office"]) is True


def test_a_domain_not_verified_for_the_organisation_earns_no_badge(world):
    world["office"].domains.update(is_verified=False)
    assert on_official_domain(world["person"], world["person"].email, world["office"]) is False


# Automatic verification ----------------------------------------------------------------------------

def test_automatic_verification_is_off_by_default(world):
    assert ask(world).status == VerificationStatus.PENDING
    assert not VerificationSettings.objects.exists()


def test_an_organisation_verifying_automatically_verifies_an_address_on_its_domain_at_once(world):
    services.auto_verification_set(organisation_id=world["office"].pk, enabled=True, actor=world["admin_office"])
    profile = ask(world, language="hi")
    assert profile.status == VerificationStatus.VERIFIED
    assert profile.method == VerificationMethod.OFFICIAL_EMAIL and profile.verified_by is None and profile.decided_by_email == ""
    [event] = events(AuditAction.VERIFICATION_VERIFIED, profile)
    assert event.actor_id is None and event.actor_role == "system:automatic_verification"
    assert event.new_values["method"] == "official_email" and event.new_values["on_official_domain"] is True
    assert Membership.objects.get(user=world["person"], organisation=world["office"]).is_active
    [mail] = messages_to(world["person"].email)
    assert "सत्यापित" in mail.subject  # in Hindi, the language asked in


@pytest.mark.parametrize("case", ["address elsewhere", "official address elsewhere", "address unconfirmed",
                                  "switched off again"])
def test_automatic_verification_needs_the_proven_fact_and_the_switch(world, case):
    services.auto_verification_set(organisation_id=world["office"].pk, enabled=True, actor=world["admin_office"])
    user, changes = "person", {}
    if case == "address elsewhere":  # a confirmed official address, on another organisation's domain
        user, changes = "public", {"official_email": "some.one@karhealth.gov.in"}
        EmailAddress.objects.create(user=world["public"], email="some.one@karhealth.gov.in", verified=True)
    elif case == "official address elsewhere":
        # The account's primary address is on the office's domain, but the official address
        # given (which the profile, and so the verification API, vouches for) is another
        # confirmed address of theirs, on another organisation's domain.
        changes = {"official_email": "asha@karhealth.gov.in"}
        EmailAddress.objects.create(user=world["person"], email="asha@karhealth.gov.in", verified=True)
    elif case == "address unconfirmed":  # the account's address on the domain, not confirmed
        user, changes = "public", {"official_email": "some.one@pune.mahaagri.gov.in"}
        EmailAddress.objects.create(user=world["public"], email="some.one@pune.mahaagri.gov.in", verified=False)
        world["public"].email = "some.one@pune.mahaagri.gov.in"
        world["public"].save(update_fields=["email"])
        with pytest.raises(ValidationError) as refused:
            ask(world, user=user, **changes)
        assert refused.value.error_dict["official_email"][0].code == "unconfirmed"
        assert not GovernmentProfile.objects.filter(user=world["public"]).exists()
        # Another confirmed official address of theirs, on another organisation's domain: asked, not verified.
        changes["official_email"] = "some.one@karhealth.gov.in"
        EmailAddress.objects.create(user=world["public"], email="some.one@karhealth.gov.in", verified=True)
    else:
        services.auto_verification_set(organisation_id=world["office"].pk, enabled=False, actor=world["admin_office"])
    assert ask(world, user=user, **changes).status == VerificationStatus.PENDING
    assert events(AuditAction.VERIFICATION_VERIFIED) == []


def test_an_official_address_stands_on_a_profile_only_when_its_person_confirmed_it(world):
    """Anyone could otherwise name another official's address (and be found by it through
    the verification API, attested by the organisation): the address given must be one
    the person confirmed."""
    with pytest.raises(ValidationError) as refused:
        ask(world, official_email="secretary@pune.mahaagri.gov.in")
    assert refused.value.error_dict["official_email"][0].code == "unconfirmed"
    assert not GovernmentProfile.objects.filter(user=world["person"]).exists()
    # A second address of theirs, confirmed: accepted (any case).
    EmailAddress.objects.create(user=world["person"], email="asha.k@pune.mahaagri.gov.in", verified=True)
    assert ask(world, official_email="Asha.K@pune.mahaagri.gov.in").official_email == "asha.k@pune.mahaagri.gov.in"


def test_switching_automatic_verification_is_audited_once_per_change(world):
    admin, office = world["admin_office"], world["office"]
    services.auto_verification_set(organisation_id=office.pk, enabled=True, actor=admin)
    services.auto_verification_set(organisation_id=office.pk, enabled=True, actor=admin)  # no change: no row
    services.auto_verification_set(organisation_id=office.pk, enabled=False, actor=admin)
    rows = events(AuditAction.AUTO_VERIFICATION_CHANGED)
    assert [(e.old_values, e.new_values) for e in rows] == [
        ({"auto_verify_official_domain": False}, {"auto_verify_official_domain": True}),
        ({"auto_verify_official_domain": True}, {"auto_verify_official_domain": False}),
    ]
    assert all(e.target_type == "organisations.organisation" and e.target_id == str(office.pk) for e in rows)
    settings_row = VerificationSettings.objects.get(organisation=office)
    assert settings_row.changed_by == admin and not settings_row.auto_verify_official_domain


# Deciding ------------------------------------------------------------------------------------------

def test_verifying_by_hand(world):
    profile = ask(world, language="hi")
    services.join_request_decide(profile_id=profile.pk, decision="verify", reason="", actor=world["admin_office"])
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED and profile.method == VerificationMethod.MANUAL
    assert profile.verified_by == world["admin_office"] and profile.decided_by_email == "admin@pune.mahaagri.gov.in"
    assert profile.verified_at and profile.decided_at
    membership = Membership.objects.get(user=world["person"], organisation=world["office"])
    assert membership.role == MembershipRole.MEMBER and membership.is_active
    [event] = events(AuditAction.VERIFICATION_VERIFIED, profile)
    assert event.actor_id == world["admin_office"].pk and event.old_values == {"status": "pending"}
    assert event.new_values["method"] == "manual" and event.new_values["ended"] == []
    [mail] = messages_to(world["person"].email)
    assert mail.subject == "आप District Agriculture Office, Pune के सरकारी उपयोगकर्ता के रूप में सत्यापित हैं"


def test_verifying_records_the_name_the_organisation_vouches_for_and_a_rename_after_leaves_it(world):
    """The name the administrator saw on the request is the one verified (audited with the
    decision); the person renaming themselves afterwards changes their account, not it."""
    profile = ask(world)
    assert profile.verified_name == ""  # waiting: nobody vouched for anything yet
    services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])
    person_correct(user=world["person"], full_name="Chief Secretary, Maharashtra")
    profile.refresh_from_db()
    assert profile.verified_name == "Asha Kulkarni" and profile.user.full_name == "Chief Secretary, Maharashtra"
    assert profile.name_changed
    [event] = events(AuditAction.VERIFICATION_VERIFIED, profile)
    assert event.new_values["name"] == "Asha Kulkarni" and "name" in event.personal_keys


def test_automatic_verification_records_the_accounts_name(world):
    services.auto_verification_set(organisation_id=world["office"].pk, enabled=True, actor=world["admin_office"])
    profile = ask(world)
    assert (profile.status, profile.verified_name) == (VerificationStatus.VERIFIED, "Asha Kulkarni")
    assert not GovernmentProfile.objects.get(pk=profile.pk).name_changed


def test_reinstating_records_the_accounts_name_only_where_none_was_vouched_for(world, verified):
    admin = world["admin_office"]
    services.profile_suspend(profile_id=verified.pk, reason_code="misuse", actor=admin)
    person_correct(user=world["person"], full_name="Asha Deshmukh")
    services.profile_reinstate(profile_id=verified.pk, actor=admin)
    verified.refresh_from_db()
    assert verified.verified_name == "Asha Kulkarni"  # the name vouched for stays
    services.profile_suspend(profile_id=verified.pk, reason_code="misuse", actor=admin)
    GovernmentProfile.objects.filter(pk=verified.pk).update(verified_name="")  # held before names were recorded
    services.profile_reinstate(profile_id=verified.pk, actor=admin)
    verified.refresh_from_db()
    assert verified.verified_name == "Asha Deshmukh"


def test_accepting_a_changed_name(world, verified):
    admin = world["admin_office"]
    person_correct(user=world["person"], full_name="Asha Deshmukh")
    services.verified_name_accept(profile_id=verified.pk, name="Asha Deshmukh", actor=admin)
    verified.refresh_from_db()
    assert verified.verified_name == "Asha Deshmukh" and not verified.name_changed
    [event] = events(AuditAction.VERIFICATION_NAME_ACCEPTED, verified)
    assert (event.actor_id, event.old_values) == (admin.pk, {"name": "Asha Kulkarni"})
    assert event.new_values == {"name": "Asha Deshmukh", "user": world["person"].email,
                                "organisation": world["office"].pk}
    assert {"name", "user"} <= set(event.personal_keys)
    services.verified_name_accept(profile_id=verified.pk, name="Asha Deshmukh", actor=admin)  # nothing left to accept
    assert len(events(AuditAction.VERIFICATION_NAME_ACCEPTED)) == 1


def test_a_changed_name_is_accepted_by_another_admin_of_a_held_profile_in_an_active_organisation(world, verified):
    admin = world["admin_office"]
    own = GovernmentProfileFactory(user=admin, organisation=world["office"], status=VerificationStatus.VERIFIED)
    person_correct(user=admin, full_name="Chief Secretary")
    with pytest.raises(services.OwnProfile):
        services.verified_name_accept(profile_id=own.pk, name="Chief Secretary", actor=admin)
    person_correct(user=world["person"], full_name="Chief Secretary")
    with pytest.raises(PermissionDenied):
        services.verified_name_accept(profile_id=verified.pk, name="Chief Secretary", actor=world["person"])
    with pytest.raises(PermissionDenied):
        services.verified_name_accept(profile_id=verified.pk, name="Chief Secretary", actor=world["admin_other"])
    with pytest.raises(ValidationError):  # not the name the administrator was shown
        services.verified_name_accept(profile_id=verified.pk, name="Asha Deshmukh", actor=world["admin_office"])
    world["office"].status = OrganisationStatus.SUSPENDED
    world["office"].save(update_fields=["status"])
    with pytest.raises(ValidationError):
        services.verified_name_accept(profile_id=verified.pk, name="Chief Secretary", actor=world["admin_office"])
    world["office"].status = OrganisationStatus.ACTIVE
    world["office"].save(update_fields=["status"])
    services.profile_revoke(profile_id=verified.pk, reason_code="misuse", actor=world["admin_office"])
    with pytest.raises(services.StatusChanged):
        services.verified_name_accept(profile_id=verified.pk, name="Chief Secretary", actor=world["admin_office"])
    assert GovernmentProfile.objects.get(pk=verified.pk).verified_name == "Asha Kulkarni"
    assert not events(AuditAction.VERIFICATION_NAME_ACCEPTED)


def test_only_a_roster_gives_the_name_it_verifies(world):
    """By hand, the name is the account's as the admin was shown it: another one (the account's
    no longer, the person renamed it since) verifies nothing."""
    profile = ask(world)
    with pytest.raises(ValidationError) as refused:
        services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"],
                                     name="Someone Else")
    assert refused.value.code == "name_changed"
    assert GovernmentProfile.objects.get(pk=profile.pk).status == VerificationStatus.PENDING
    services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"],
                                 name=world["person"].full_name)
    assert GovernmentProfile.objects.get(pk=profile.pk).verified_name == world["person"].full_name


def test_the_migration_fills_the_name_of_the_profiles_held_from_the_accounts(world):
    held = {status: GovernmentProfileFactory(user=UserFactory(full_name=f"Held {status}"), organisation=world["office"],
                                             status=status, verified_name="")
            for status in (VerificationStatus.VERIFIED, VerificationStatus.SUSPENDED)}
    ended = GovernmentProfileFactory(user=UserFactory(full_name="Was Held"), organisation=world["office"],
                                     status=VerificationStatus.REVOKED)
    waiting = GovernmentProfileFactory(user=UserFactory(full_name="Waits"), organisation=world["office"])
    kept = GovernmentProfileFactory(user=UserFactory(full_name="Renamed Since"), organisation=world["office"],
                                    status=VerificationStatus.VERIFIED, verified_name="Vouched Name")
    migration = importlib.import_module("verification.migrations.0008_fill_verified_names")
    migration.verified_names_fill(django_apps, SimpleNamespace(connection=connection))  # all it reads of the editor
    names = dict(GovernmentProfile.objects.values_list("pk", "verified_name"))
    assert [names[p.pk] for p in held.values()] == ["Held verified", "Held suspended"]
    assert (names[ended.pk], names[waiting.pk], names[kept.pk]) == ("", "", "Vouched Name")


def test_rejecting_needs_a_reason_and_sends_it(world):
    profile = ask(world)
    with pytest.raises(ValidationError) as caught:
        services.join_request_decide(profile_id=profile.pk, decision="reject", reason="  ", actor=world["admin_office"])
    assert "reason" in caught.value.error_dict
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.PENDING and events(AuditAction.VERIFICATION_REJECTED) == []
    services.join_request_decide(profile_id=profile.pk, decision="reject", reason="No such employee code.",
                                 actor=world["admin_office"])
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.REJECTED and profile.reason == "No such employee code."
    [event] = events(AuditAction.VERIFICATION_REJECTED, profile)
    assert event.new_values["reason"] == "No such employee code."
    [mail] = messages_to(world["person"].email)
    assert "No such employee code." in mail.body and mail.subject == "Your request to District Agriculture Office, Pune was not accepted"


def test_an_unknown_decision_is_refused(world):
    profile = ask(world)
    with pytest.raises(ValidationError):
        services.join_request_decide(profile_id=profile.pk, decision="approve", actor=world["admin_office"])


def test_a_request_is_decided_once(world):
    profile = ask(world)
    services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])
    with pytest.raises(services.StatusChanged):
        services.join_request_decide(profile_id=profile.pk, decision="reject", reason="x", actor=world["admin_parent"])
    assert len(events(AuditAction.VERIFICATION_VERIFIED)) == 1 and events(AuditAction.VERIFICATION_REJECTED) == []


def test_nobody_decides_their_own_request(world):
    profile = GovernmentProfileFactory(user=world["admin_office"], organisation=world["office"])
    with pytest.raises(services.OwnProfile):
        services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])
    services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_parent"])  # another admin may
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED
    # An admin stays an admin: the membership keeps its role.
    assert Membership.objects.get(user=world["admin_office"], organisation=world["office"]).role == MembershipRole.ADMIN


def test_nobody_decides_the_request_of_another_account_of_their_own_mailbox(world):
    """Accounts are one per address, "+tag" and all: an admin's second account at
    "name+tag@" is the same mailbox, the same person, whose request another admin decides."""
    admin = world["admin_office"]
    local, _at, domain = admin.email.partition("@")
    second = UserFactory(email=f"{local}+second@{domain}")
    profile = GovernmentProfileFactory(user=second, organisation=world["office"], official_email=second.email)
    with pytest.raises(services.OwnProfile) as refused:
        services.join_request_decide(profile_id=profile.pk, decision="verify", actor=admin)
    assert refused.value.args[0] == ("This request is of another account of your own mailbox: another administrator "
                                     "decides it.")
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.PENDING
    # Its page says so in place of the decision, as for the admin's own account's request.
    from tests.verification.helpers import signed_in

    said = signed_in(admin).get(f"/verification/profiles/{profile.pk}/").content.decode()
    assert "This is your own verification: another administrator decides on it." in said
    assert 'name="decision"' not in said
    services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_parent"])


def test_verifying_cancels_other_requests_and_ends_a_verification_elsewhere(world):
    person = world["person"]
    earlier = GovernmentProfileFactory(user=person, organisation=world["other"], status=VerificationStatus.VERIFIED)
    Membership.objects.create(user=person, organisation=world["other"], role=MembershipRole.MEMBER)
    waiting = ask(world, "parent")
    profile = ask(world, "office")
    services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])
    earlier.refresh_from_db()
    waiting.refresh_from_db()
    assert earlier.status == VerificationStatus.REVOKED and earlier.reason_code == "transfer"
    assert earlier.decided_by is None and earlier.verified_at  # ended by the transfer; how it was verified is kept
    assert waiting.status == VerificationStatus.CANCELLED
    assert not Membership.objects.get(user=person, organisation=world["other"]).is_active
    assert Membership.objects.get(user=person, organisation=world["office"]).is_active
    [ended] = events(AuditAction.VERIFICATION_ENDED, earlier)
    assert ended.old_values == {"status": "verified"}
    assert ended.new_values["reason_code"] == "transfer" and ended.new_values["verified_in"] == world["office"].pk
    [cancelled] = events(AuditAction.VERIFICATION_CANCELLED, waiting)
    assert cancelled.new_values["reason"] == "verified_elsewhere"
    [verified] = events(AuditAction.VERIFICATION_VERIFIED, profile)
    assert verified.new_values["ended"] == [earlier.pk]
    [mail] = messages_to(person.email)  # one email: the verification, saying what ended
    assert "Your verification in Directorate of Health Services, Karnataka has ended" in " ".join(mail.body.split())


def test_a_suspended_verification_elsewhere_ends_too(world):
    earlier = GovernmentProfileFactory(user=world["person"], organisation=world["other"], status=VerificationStatus.SUSPENDED)
    profile = ask(world)
    services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])
    earlier.refresh_from_db()
    assert earlier.status == VerificationStatus.REVOKED


def test_an_organisation_no_longer_active_verifies_nobody(world):
    profile = ask(world)
    type(world["office"]).objects.filter(pk=world["office"].pk).update(status=OrganisationStatus.SUSPENDED)
    with pytest.raises(ValidationError):
        services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])


def test_a_request_whose_date_of_superannuation_has_passed_is_not_verified(world):
    """Asked before retiring, decided after: refused as a reinstatement would be (the API and
    the directory already count the person as not verified; the hourly job would revoke
    them at once). Nothing changes and nobody is told; rejecting it still works."""
    profile = ask(world, superannuation_date=timezone.localdate() + timedelta(days=10))
    GovernmentProfile.objects.filter(pk=profile.pk).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])
    assert refused.value.code == "superannuated"
    assert "date of superannuation has passed" in refused.value.messages[0]
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.PENDING and messages_to(world["person"].email) == []
    assert events(AuditAction.VERIFICATION_VERIFIED) == []
    services.join_request_decide(profile_id=profile.pk, decision="reject", reason="Retired.", actor=world["admin_office"])


def test_the_database_allows_one_verified_organisation_per_person(world):
    GovernmentProfileFactory(user=world["person"], organisation=world["office"], status=VerificationStatus.VERIFIED)
    with pytest.raises(IntegrityError), transaction.atomic():
        GovernmentProfileFactory(user=world["person"], organisation=world["other"], status=VerificationStatus.SUSPENDED)
    GovernmentProfileFactory(user=world["person"], organisation=world["other"], status=VerificationStatus.REVOKED)


def test_the_database_allows_one_waiting_request_per_person_and_organisation(world):
    GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    with pytest.raises(IntegrityError), transaction.atomic():
        GovernmentProfileFactory(user=world["person"], organisation=world["office"])


def test_the_database_refuses_a_verification_without_when_and_how(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        GovernmentProfileFactory(user=world["person"], organisation=world["office"], status=VerificationStatus.VERIFIED,
                                 method="", verified_at=None)


# Several at once -----------------------------------------------------------------------------------

def test_bulk_decisions_decide_each_and_report_what_was_left(world):
    people = [UserFactory() for _ in range(3)]
    profiles = [GovernmentProfileFactory(user=p, organisation=world["office"]) for p in people]
    decided_before = GovernmentProfileFactory(organisation=world["office"], status=VerificationStatus.REJECTED)
    own = GovernmentProfileFactory(user=world["admin_parent"], organisation=world["office"])
    outcome = services.join_requests_decide(profile_ids=[p.pk for p in profiles] + [decided_before.pk, own.pk],
                                            decision="verify", actor=world["admin_parent"])
    assert sorted(p.pk for p in outcome.decided) == sorted(p.pk for p in profiles)
    assert sorted(outcome.skipped) == sorted([(decided_before.pk, "status_changed"), (own.pk, "own")])
    assert len(events(AuditAction.VERIFICATION_VERIFIED)) == 3


def test_a_bulk_rejection_needs_a_reason_before_anything_is_decided(world):
    profile = GovernmentProfileFactory(organisation=world["office"])
    with pytest.raises(ValidationError):
        services.join_requests_decide(profile_ids=[profile.pk], decision="reject", reason="", actor=world["admin_office"])
    profile.refresh_from_db()
    assert profile.is_pending


def test_bulk_verifying_two_requests_of_one_person_verifies_one(world):
    person = UserFactory()
    first = GovernmentProfileFactory(user=person, organisation=world["office"])
    second = GovernmentProfileFactory(user=person, organisation=world["parent"])
    outcome = services.join_requests_decide(profile_ids=[first.pk, second.pk], decision="verify", actor=world["admin_parent"])
    assert [p.pk for p in outcome.decided] == [first.pk] and outcome.skipped == [(second.pk, "verified_in_another_chosen")]
    second.refresh_from_db()
    assert second.status == VerificationStatus.CANCELLED


# After verification ------------------------------------------------------------------------------

@pytest.fixture
def verified(world):
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"], status=VerificationStatus.VERIFIED,
                                       request_language="mr")
    Membership.objects.create(user=world["person"], organisation=world["office"], role=MembershipRole.MEMBER)
    return profile


def test_suspending_and_reinstating(world, verified):
    admin = world["admin_office"]
    with pytest.raises(ValidationError) as caught:
        services.profile_suspend(profile_id=verified.pk, reason_code="", actor=admin)
    assert "reason_code" in caught.value.error_dict
    services.profile_suspend(profile_id=verified.pk, reason_code="misuse", reason="Shared the account.", actor=admin)
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.SUSPENDED and verified.reason_code == "misuse"
    assert verified.reason == "Shared the account." and verified.decided_by == admin
    assert not Membership.objects.get(user=world["person"], organisation=world["office"]).is_active
    with pytest.raises(services.StatusChanged):
        services.profile_suspend(profile_id=verified.pk, reason_code="misuse", actor=admin)
    services.profile_reinstate(profile_id=verified.pk, reason="Cleared.", actor=admin)
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.VERIFIED and verified.reason_code == ""
    assert Membership.objects.get(user=world["person"], organisation=world["office"]).is_active
    suspended, reinstated = events(AuditAction.VERIFICATION_SUSPENDED, verified) + events(
        AuditAction.VERIFICATION_REINSTATED, verified)
    assert (suspended.old_values, suspended.new_values["status"], suspended.new_values["reason_code"]) == (
        {"status": "verified"}, "suspended", "misuse")
    assert (reinstated.old_values, reinstated.new_values["status"]) == ({"status": "suspended"}, "verified")
    subjects = [mail.subject for mail in messages_to(world["person"].email)]
    assert len(subjects) == 2 and all("पडताळणी" in subject for subject in subjects)  # in Marathi, as asked


def test_an_organisation_no_longer_active_reinstates_nobody(world, verified):
    """A suspended organisation vouches for nobody: reinstating a verification there is
    refused as verifying is ("not active"), on the page with the note kept; suspending
    and revoking stay possible."""
    admin = world["admin_office"]
    services.profile_suspend(profile_id=verified.pk, reason_code="misuse", actor=admin)
    type(world["office"]).objects.filter(pk=world["office"].pk).update(status=OrganisationStatus.SUSPENDED)
    with pytest.raises(ValidationError) as refused:
        services.profile_reinstate(profile_id=verified.pk, reason="Cleared.", actor=admin)
    assert refused.value.code == "inactive"
    response = signed_in(admin).post(f"/verification/profiles/{verified.pk}/reinstate/",
                                     {"reason": "Cleared.", "confirm": "on"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "District Agriculture Office, Pune is not active: nobody can be verified in it now." in page
    assert "Cleared.</textarea>" in page
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.SUSPENDED
    assert not events(AuditAction.VERIFICATION_REINSTATED, verified)
    services.profile_revoke(profile_id=verified.pk, reason_code="misuse", actor=admin)
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.REVOKED


def test_revoking_is_final_and_keeps_the_history(world, verified):
    admin = world["admin_parent"]  # an admin of the organisation above
    services.profile_revoke(profile_id=verified.pk, reason_code="retirement", actor=admin)
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.REVOKED and verified.reason_code == "retirement"
    assert verified.method == "manual" and verified.verified_at  # how it was verified is kept
    for service, kwargs in ((services.profile_reinstate, {}), (services.profile_suspend, {"reason_code": "misuse"}),
                            (services.profile_revoke, {"reason_code": "misuse"})):
        with pytest.raises(services.StatusChanged):
            service(profile_id=verified.pk, actor=admin, **kwargs)
    assert len(events(AuditAction.VERIFICATION_REVOKED, verified)) == 1
    assert GovernmentProfile.objects.filter(pk=verified.pk).exists()
    assert not Membership.objects.get(user=world["person"], organisation=world["office"]).is_active


def test_a_suspended_verification_can_be_revoked(world, verified):
    services.profile_suspend(profile_id=verified.pk, reason_code="transfer", actor=world["admin_office"])
    services.profile_revoke(profile_id=verified.pk, reason_code="left_service", actor=world["admin_office"])
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.REVOKED


def test_a_pending_request_is_neither_suspended_nor_revoked(world):
    profile = ask(world)
    with pytest.raises(services.StatusChanged):
        services.profile_suspend(profile_id=profile.pk, reason_code="misuse", actor=world["admin_office"])
    with pytest.raises(services.StatusChanged):
        services.profile_revoke(profile_id=profile.pk, reason_code="misuse", actor=world["admin_office"])


def test_nobody_suspends_or_revokes_themselves(world):
    profile = GovernmentProfileFactory(user=world["admin_office"], organisation=world["office"],
                                       status=VerificationStatus.VERIFIED)
    with pytest.raises(services.OwnProfile):
        services.profile_suspend(profile_id=profile.pk, reason_code="misuse", actor=world["admin_office"])
    with pytest.raises(services.OwnProfile):
        services.profile_revoke(profile_id=profile.pk, reason_code="misuse", actor=world["admin_office"])


# Withdrawing ----------------------------------------------------------------------------------------

def test_a_person_withdraws_their_own_waiting_request_only(world):
    profile = ask(world)
    with pytest.raises(PermissionDenied):
        services.join_request_withdraw(profile_id=profile.pk, actor=world["public"])
    services.join_request_withdraw(profile_id=profile.pk, actor=world["person"])
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.CANCELLED
    [event] = events(AuditAction.VERIFICATION_CANCELLED, profile)
    assert event.new_values["reason"] == "withdrawn_by_requester"
    with pytest.raises(services.StatusChanged):
        services.join_request_withdraw(profile_id=profile.pk, actor=world["person"])


def test_superannuation_date_is_kept(world):
    future = timezone.localdate() + timedelta(days=3000)
    profile = ask(world, superannuation_date=future)
    assert profile.superannuation_date == future and isinstance(profile.superannuation_date, date)


# An admin's verification ends: so does the admin role it rested on ------------------------------

def verified_admin(world, **fields):
    """The office's admin, also verified as a member of the office."""
    admin = world["admin_office"]
    return GovernmentProfileFactory(user=admin, organisation=world["office"], status=VerificationStatus.VERIFIED,
                                    official_email=admin.email, **fields)


@pytest.mark.parametrize("end", ["revoke", "suspend"])
def test_an_admin_whose_verification_ends_stops_administering_the_organisation(world, end):
    profile = verified_admin(world)
    admin, office = world["admin_office"], world["office"]
    make_admin(office, email="deputy@pune.mahaagri.gov.in")  # the office keeps an admin
    assert may_administer(admin, office)
    service = {"revoke": services.profile_revoke, "suspend": services.profile_suspend}[end]
    service(profile_id=profile.pk, reason_code="misuse", actor=world["admin_parent"])
    admin = type(admin).objects.get(pk=admin.pk)  # guardian's permission cache is per object
    assert not may_administer(admin, office)
    assert not Membership.objects.filter(user=admin, organisation=office, is_active=True).exists()
    [event] = AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED, target_id=str(office.pk))
    assert event.actor_id is None and event.new_values == {"member": False, "reason": "verification_ended"}
    # Reinstating a suspension gives back the membership, not the admin role: that is granted again.
    if end == "suspend":
        services.profile_reinstate(profile_id=profile.pk, actor=world["admin_parent"])
        assert not may_administer(type(admin).objects.get(pk=admin.pk), office)


def test_an_admin_verified_elsewhere_stops_administering_the_old_organisation(world):
    verified_admin(world)
    admin = world["admin_office"]
    make_admin(world["office"], email="deputy@pune.mahaagri.gov.in")  # the office keeps an admin
    moved = GovernmentProfileFactory(user=admin, organisation=world["other"], official_email=admin.email)
    services.join_request_decide(profile_id=moved.pk, decision="verify", actor=world["admin_other"])
    assert not may_administer(type(admin).objects.get(pk=admin.pk), world["office"])


def first_admin_moving_to_the_directorate(world):
    """The office's first admin (its nodal officer: admin by the approved application, never
    verified there), transferred to the Karnataka directorate: their request there, at the
    directorate's address, confirmed on their account."""
    admin = world["admin_office"]
    EmailAddress.objects.create(user=admin, email="office.admin@karhealth.gov.in", verified=True)
    return GovernmentProfileFactory(user=admin, organisation=world["other"], official_email="office.admin@karhealth.gov.in")


def test_a_first_admin_verified_in_another_organisation_stops_administering_the_old_one(world):
    """The first admin's role rests on no verification in the office, so none ends there:
    being verified in an organisation outside the office's line ends it all the same, by
    the system (who verified them is in the verification's own row), and the person is told
    in the mail that says they are verified."""
    admin, office = world["admin_office"], world["office"]
    make_admin(office, email="deputy@pune.mahaagri.gov.in")  # the office keeps an admin
    moving = first_admin_moving_to_the_directorate(world)
    told = len(messages_to(admin.email))
    services.join_request_decide(profile_id=moving.pk, decision="verify", actor=world["admin_other"])
    assert not may_administer(fresh(admin), office)
    assert not Membership.objects.filter(user=admin, organisation=office, is_active=True).exists()
    [event] = AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED, target_id=str(office.pk))
    assert (event.actor_id, event.actor_role) == (None, "system")
    assert event.old_values["user"] == admin.email
    assert event.new_values == {"member": False, "reason": "verified_elsewhere"}
    [mail] = messages_to(admin.email)[told:]
    assert "You are now verified as a government user of Directorate of Health Services, Karnataka" in mail.body
    assert ("Your admin role in an organisation outside Directorate of Health Services, Karnataka has ended, because "
            "you are now verified there:\n- Admin of District Agriculture Office, Pune\n") in mail.body
    assert "rested on this verification" not in mail.body


def test_a_first_admin_keeps_the_role_when_verified_within_the_organisations_line(world):
    """Verified in an office below the department it administers (or the department above
    its office), the first admin still works in that line: the role stays."""
    admin_parent, admin_office = world["admin_parent"], world["admin_office"]
    below = GovernmentProfileFactory(user=admin_parent, organisation=world["office"], official_email=admin_parent.email)
    services.join_request_decide(profile_id=below.pk, decision="verify", actor=admin_office)
    above = GovernmentProfileFactory(user=admin_office, organisation=world["parent"], official_email=admin_office.email)
    services.join_request_decide(profile_id=above.pk, decision="verify", actor=admin_parent)
    assert may_administer(fresh(admin_parent), world["parent"]) and may_administer(fresh(admin_office), world["office"])
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).exists()


@pytest.mark.parametrize("move", ["to the office below", "to the department above"])
def test_a_first_admin_verified_in_their_organisation_keeps_the_role_on_moving_within_its_line(world, move):
    """A first admin (admin by the approved application) also verified in the organisation
    they administer moves within its line: to an office below the department, or from the
    office to the department above it. The verification there ends, the role does not (it
    ends only on a move outside the line), though they are its only admin; and they are no
    longer a member there under it: handed over later, the role leaves them nothing there."""
    held, moved_to, decider = {
        "to the office below": ("parent", "office", "admin_office"),
        "to the department above": ("office", "parent", "superadmin"),
    }[move]
    organisation, admin = world[held], world[f"admin_{held}"]
    GovernmentProfileFactory(user=admin, organisation=organisation, status=VerificationStatus.VERIFIED,
                             official_email=admin.email)
    Membership.objects.filter(organisation=organisation, user=admin).update(member_before_admin=True)
    moving = GovernmentProfileFactory(user=admin, organisation=world[moved_to], official_email=admin.email)
    services.join_request_decide(profile_id=moving.pk, decision="verify", actor=world[decider])
    moving.refresh_from_db()
    assert moving.status == VerificationStatus.VERIFIED
    role = Membership.objects.get(organisation=organisation, user=admin)
    assert (role.role, role.is_active, role.member_before_admin) == (MembershipRole.ADMIN, True, False)
    assert may_administer(fresh(admin), organisation)
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).exists()
    successor = make_admin(organisation, email=f"successor@{admin.email.partition('@')[2]}")
    organisation_admin_revoke(organisation_id=organisation.pk, user_id=admin.pk, actor=successor)
    assert not is_member(fresh(admin), organisation)


# The refusal of verifying the office's last admin elsewhere, which would end their role there.
LAST_OFFICE_ADMIN_VERIFIED_ELSEWHERE = (
    "Office Admin is the last admin of District Agriculture Office, Pune whose role does not end, and being verified "
    "here would end that role: they must first hand over the admin role of District Agriculture Office, Pune (an "
    "admin there grants it to someone else, without an end date). Until then they cannot be verified here.")


def test_verifying_elsewhere_the_last_first_admin_of_an_organisation_is_refused_or_waits(world):
    """The office's only admin is its first admin: being verified in the directorate would
    leave the office with none. Refused to the directorate's admin as for a role resting on
    a verification (the person hands the role over first); asked with the automatic
    verification on, the request waits for an administrator there."""
    admin = world["admin_office"]
    moving = first_admin_moving_to_the_directorate(world)
    with pytest.raises(LastAdmin) as refused:
        services.join_request_decide(profile_id=moving.pk, decision="verify", actor=world["admin_other"])
    assert refused.value.messages == [LAST_OFFICE_ADMIN_VERIFIED_ELSEWHERE]
    moving.refresh_from_db()
    assert moving.status == VerificationStatus.PENDING and may_administer(fresh(admin), world["office"])
    services.join_request_withdraw(profile_id=moving.pk, actor=admin)
    services.auto_verification_set(organisation_id=world["other"].pk, enabled=True, actor=world["admin_other"])
    profile = ask(world, organisation="other", user="admin_office", official_email="office.admin@karhealth.gov.in")
    assert GovernmentProfile.objects.get(pk=profile.pk).status == VerificationStatus.PENDING
    assert may_administer(fresh(admin), world["office"])
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).exists()


@pytest.mark.parametrize("how", ["by hand", "automatically"])
def test_a_first_admin_verified_there_stays_a_member_when_the_admin_role_ends(world, how):
    """The office's first admin (an admin membership made at activation, no member before)
    is then verified there as a government user: a member of it under the admin role. When
    the role is handed over, they stay a verified member (as a member made admin does), and
    the role can be given back to them."""
    admin, office = world["admin_office"], world["office"]
    successor = make_admin(office, email="deputy@pune.mahaagri.gov.in")
    if how == "by hand":
        profile = GovernmentProfileFactory(user=admin, organisation=office, official_email=admin.email)
        services.join_request_decide(profile_id=profile.pk, decision="verify", actor=successor)
    else:
        services.auto_verification_set(organisation_id=office.pk, enabled=True, actor=successor)
        profile = ask(world, user="admin_office")
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED

    organisation_admin_revoke(organisation_id=office.pk, user_id=admin.pk, actor=successor, reason="Transferred")

    membership = Membership.objects.get(organisation=office, user=admin)
    assert (membership.role, membership.is_active) == (MembershipRole.MEMBER, True)
    assert is_member(fresh(admin), office) and not may_administer(fresh(admin), office)
    [event] = AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED, target_id=str(office.pk))
    assert event.new_values["member"] is True
    assert grounds_for_admin(office).filter(user=admin).exists()
    organisation_admin_grant(organisation_id=office.pk, user_id=admin.pk, actor=successor, reason="Back")
    assert may_administer(fresh(admin), office)


def test_the_migration_marks_the_admins_verified_there_as_members(world):
    admin, office = world["admin_office"], world["office"]
    GovernmentProfileFactory(user=admin, organisation=office, status=VerificationStatus.VERIFIED)
    suspended = make_admin(office, email="suspended.admin@pune.mahaagri.gov.in")
    GovernmentProfileFactory(user=suspended, organisation=office, status=VerificationStatus.SUSPENDED)
    migration = importlib.import_module("verification.migrations.0009_verified_admins_are_members")
    migration.verified_admins_mark_members(django_apps, None)
    marked = dict(Membership.objects.filter(organisation=office).values_list("user_id", "member_before_admin"))
    assert marked == {admin.pk: True, suspended.pk: False}
    assert not Membership.objects.get(user=world["admin_parent"]).member_before_admin  # verified nowhere


def the_transfers_doing(world, profile, action):
    """``profile`` (in the office) changed by the person's verification in the other
    organisation by its admin: no decider recorded, its one ``action`` event the system's
    (``system:transfer``), naming who verified them and where. The event."""
    assert (profile.decided_by, profile.decided_by_email) == (None, "")
    [event] = events(action, profile)
    assert (event.actor_id, event.actor_email, event.actor_role) == (None, "", services.TRANSFER)
    assert event.new_values["transferred_by"] == world["admin_other"].email
    assert event.new_values["verified_in"] == world["other"].pk
    return event


def test_a_transfer_records_the_old_verification_as_ended_by_it_not_by_the_new_organisations_admin(world):
    """An admin of the office is verified in another organisation by that organisation's
    admin: their verification and admin role in the office end because of the transfer.
    Neither is a decision of the other organisation's admin about the office: the profile
    records no decider there, and the audit rows of the endings are the system's, the
    verification's naming who made the transfer in its details."""
    verified_admin(world)
    admin = world["admin_office"]
    make_admin(world["office"], email="deputy@pune.mahaagri.gov.in")
    moved = GovernmentProfileFactory(user=admin, organisation=world["other"], official_email=admin.email)
    services.join_request_decide(profile_id=moved.pk, decision="verify", actor=world["admin_other"])
    earlier = GovernmentProfile.objects.get(user=admin, organisation=world["office"])
    assert (earlier.status, earlier.reason_code) == (VerificationStatus.REVOKED, "transfer")
    ended = the_transfers_doing(world, earlier, AuditAction.VERIFICATION_ENDED)
    assert ended.new_values["ended_by"] == "verified_elsewhere"
    [role] = AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED, target_id=str(world["office"].pk))
    assert (role.actor_id, role.actor_role, role.new_values["reason"]) == (None, "system", "verification_ended")


def test_a_waiting_request_elsewhere_is_cancelled_by_the_transfer_not_by_the_other_organisations_admin(world):
    """Someone waiting in the office is verified in another organisation by its admin: their
    request in the office is cancelled because of it. That is no decision of the other
    organisation's admin about the office: the request records no decider there, and its
    audit row is the system's, naming who verified them in its details."""
    person = world["person"]
    waiting = GovernmentProfileFactory(user=person, organisation=world["office"], official_email=person.email)
    there = GovernmentProfileFactory(user=person, organisation=world["other"], official_email=person.email)
    services.join_request_decide(profile_id=there.pk, decision="verify", actor=world["admin_other"])
    waiting.refresh_from_db()
    assert waiting.status == VerificationStatus.CANCELLED
    cancelled = the_transfers_doing(world, waiting, AuditAction.VERIFICATION_CANCELLED)
    assert cancelled.new_values["reason"] == "verified_elsewhere"


def a_temporary_admin_of_the_office(world):
    acting = make_admin(world["office"], email="acting.admin@pune.mahaagri.gov.in")
    Membership.objects.filter(user=acting).update(ends_at=timezone.now() + timedelta(days=30))
    return acting


@pytest.mark.parametrize("service", [services.profile_suspend, services.profile_revoke])
@pytest.mark.parametrize("actor", ["acting", "admin_parent", "superadmin"])
def test_the_verification_of_an_organisations_last_admin_cannot_end_by_an_administrators_decision(
        world, service, actor):
    """Revoking the admin role of the office's only admin whose role does not end is refused
    (LastAdmin), to anyone; ending the verification it rests on is refused the same way,
    naming the person (by their account address: the service knows no viewer; the page
    names them as the rules let its administrator see them) and the office: nothing changes
    and nobody is told."""
    profile = verified_admin(world)
    admin = world["admin_office"]
    acting = a_temporary_admin_of_the_office(world)
    told = len(messages_to(admin.email))
    with pytest.raises(LastAdmin) as refused:
        service(profile_id=profile.pk, reason_code="misuse", actor=world.get(actor, acting))
    assert refused.value.code == "last_admin"
    assert refused.value.messages == [
        "admin@pune.mahaagri.gov.in is the last admin of District Agriculture Office, Pune whose role does not end, a "
        "role that rests on this verification: ending the verification would leave District Agriculture Office, Pune "
        "without one. Grant the admin role there to someone else first (without an end date)."]
    assert services.person_named(refused.value, "Office Admin").messages[0].startswith(
        "Office Admin is the last admin of District Agriculture Office, Pune whose role does not end")
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED
    assert may_administer(fresh(admin), world["office"]) and is_member(admin, world["office"])
    assert not events(AuditAction.VERIFICATION_SUSPENDED) + events(AuditAction.VERIFICATION_REVOKED)
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).exists()
    assert len(messages_to(admin.email)) == told


def test_the_verification_of_a_temporary_admin_ends_while_an_admin_whose_role_does_not_end_stays(world):
    verified_admin(world)
    acting = a_temporary_admin_of_the_office(world)
    profile = GovernmentProfileFactory(user=acting, organisation=world["office"], status=VerificationStatus.VERIFIED)
    services.profile_suspend(profile_id=profile.pk, reason_code="misuse", actor=world["admin_office"])
    assert not may_administer(fresh(acting), world["office"])


def test_verifying_elsewhere_the_last_admin_of_an_organisation_is_refused(world):
    """The office's only admin asks the Karnataka directorate: its admin, who cannot revoke
    anything in the office, would leave it with no admin by verifying them. Refused, telling
    the deciding admin that the person hands over the office's admin role first; nothing
    changes. Once they have, the verification goes through."""
    old = verified_admin(world)
    admin = world["admin_office"]
    moving = GovernmentProfileFactory(user=admin, organisation=world["other"], official_email=admin.email)
    with pytest.raises(LastAdmin) as refused:
        services.join_request_decide(profile_id=moving.pk, decision="verify", actor=world["admin_other"])
    assert refused.value.messages == [LAST_OFFICE_ADMIN_VERIFIED_ELSEWHERE]
    old.refresh_from_db()
    moving.refresh_from_db()
    assert (old.status, moving.status) == (VerificationStatus.VERIFIED, VerificationStatus.PENDING)
    assert may_administer(fresh(admin), world["office"])
    assert not AuditEvent.objects.filter(action__startswith="verification.").exclude(
        action=AuditAction.VERIFICATION_REQUESTED).exists()
    outcome = services.join_requests_decide(profile_ids=[moving.pk], decision="verify", actor=world["admin_other"])
    assert outcome.skipped == [(moving.pk, "invalid")]
    # Handed over: the office's department admin grants the role to someone verified there.
    deputy = UserFactory(email="deputy@pune.mahaagri.gov.in")
    Membership.objects.create(organisation=world["office"], user=deputy, role=MembershipRole.MEMBER)
    organisation_admin_grant(organisation_id=world["office"].pk, user_id=deputy.pk, actor=world["admin_parent"])
    services.join_request_decide(profile_id=moving.pk, decision="verify", actor=world["admin_other"])
    assert not may_administer(fresh(admin), world["office"])


def test_the_last_admin_of_an_organisation_is_not_verified_elsewhere_automatically(world):
    """The automatic verification would end the office's last admin role: the request
    waits for an administrator of the directorate instead (who is told why on deciding)."""
    verified_admin(world)
    admin = world["admin_office"]
    services.auto_verification_set(organisation_id=world["other"].pk, enabled=True, actor=world["admin_other"])
    EmailAddress.objects.create(user=admin, email="office.admin@karhealth.gov.in", verified=True)
    profile = ask(world, organisation="other", user="admin_office", official_email="office.admin@karhealth.gov.in")
    assert profile.status == VerificationStatus.PENDING and profile.decided_at is None
    assert GovernmentProfile.objects.get(pk=profile.pk).status == VerificationStatus.PENDING
    assert events(AuditAction.VERIFICATION_REQUESTED, profile) and not events(AuditAction.VERIFICATION_VERIFIED)
    assert may_administer(fresh(admin), world["office"])
    assert GovernmentProfile.objects.get(user=admin, organisation=world["office"]).status == VerificationStatus.VERIFIED


def fresh(user):
    return type(user).objects.get(pk=user.pk)  # guardian's permission cache is per object


def admin_above_through_the_office(world):
    """Ravi, verified in the office, made admin of the department above it as a member of
    an office below it (organisation_admin_grant)."""
    person = UserFactory(email="ravi@pune.mahaagri.gov.in", full_name="Ravi Patil")
    profile = GovernmentProfileFactory(user=person, organisation=world["office"], official_email=person.email)
    services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])
    organisation_admin_grant(organisation_id=world["parent"].pk, user_id=person.pk, actor=world["admin_parent"])
    return person, profile


@pytest.mark.parametrize("end", ["revoke", "suspend", "moved"])
def test_an_admin_role_above_that_rested_on_the_office_ends_with_the_verification_there(world, end):
    """Made admin of the department as a verified member of the office below it: when that
    verification ends (or a verification elsewhere ends it), nothing is left to hold the
    role, which ends too, and with it the power over the office."""
    person, profile = admin_above_through_the_office(world)
    assert may_administer(fresh(person), world["parent"]) and may_administer(fresh(person), world["office"])
    if end == "moved":
        moved = GovernmentProfileFactory(user=person, organisation=world["other"], official_email=person.email)
        services.join_request_decide(profile_id=moved.pk, decision="verify", actor=world["admin_other"])
    else:
        service = {"revoke": services.profile_revoke, "suspend": services.profile_suspend}[end]
        service(profile_id=profile.pk, reason_code="misuse", actor=world["admin_parent"])
    assert not may_administer(fresh(person), world["parent"])
    assert not may_administer(fresh(person), world["office"])
    assert not Membership.objects.filter(user=person, organisation=world["parent"], is_active=True).exists()
    [event] = AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED, target_id=str(world["parent"].pk))
    assert event.actor_id is None and event.new_values == {"member": False, "reason": "verification_ended"}


@pytest.mark.parametrize("service", [services.profile_suspend, services.profile_revoke])
def test_an_office_admin_cannot_end_the_admin_role_of_the_department_above_through_a_verification(world, service):
    """The office's admin may not touch the department's admins (the roles pages refuse
    it): ending the verification in the office that the department's admin role rests on
    would remove that role all the same. Refused, naming the department and who may do
    it; nothing changes and nobody is told."""
    person, profile = admin_above_through_the_office(world)
    told = len(messages_to(person.email))
    with pytest.raises(ValidationError) as refused:
        service(profile_id=profile.pk, reason_code="transfer", actor=world["admin_office"])
    assert refused.value.code == "admin_role_above"
    assert "Agriculture Department, Maharashtra" in refused.value.messages[0]
    assert "superadmin" in refused.value.messages[0]
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED
    assert may_administer(fresh(person), world["parent"]) and is_member(person, world["office"])
    assert not events(AuditAction.VERIFICATION_SUSPENDED) + events(AuditAction.VERIFICATION_REVOKED)
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).exists()
    assert len(messages_to(person.email)) == told
    # The department's admins (and superadmins) may.
    service(profile_id=profile.pk, reason_code="transfer", actor=world["superadmin"])
    assert not may_administer(fresh(person), world["parent"])


def test_an_admin_role_above_counts_for_nothing_while_the_office_it_rests_on_is_suspended(world):
    """Made admin of the department as a verified member of the office below it, the person's
    ground is a verification in force there; the office suspended vouches for nobody, and the
    role no longer counted for viewing, but it still decided the department's matters: its
    verifications, its admins, its rosters. It counts for nothing while the office is
    suspended (the department's other admins act, and only they keep it administered), and
    counts again, with nothing to grant anew, once the office is reactivated."""
    from portal.organisations.services import organisation_reactivate, organisation_suspend
    from portal.permissions import admins_who_act
    from verification.selectors import administers

    person, _ = admin_above_through_the_office(world)
    parent = world["parent"]
    asking = GovernmentProfileFactory(user=UserFactory(email="meena@mahaagri.gov.in"), organisation=parent,
                                      official_email="meena@mahaagri.gov.in")
    organisation_suspend(organisation_id=world["office"].pk, reason_code="under_review", reason="Audit of its rolls.",
                         actor=world["superadmin"])
    assert not may_administer(fresh(person), parent) and not administers(fresh(person), parent)
    with pytest.raises(PermissionDenied):
        services.join_request_decide(profile_id=asking.pk, decision="verify", actor=fresh(person))
    assert not admins_who_act(Membership.objects.filter(organisation=parent, user=person)).exists()
    organisation_reactivate(organisation_id=world["office"].pk, reason_code="review_completed", reason="Rolls fine.",
                            actor=world["superadmin"])
    assert may_administer(fresh(person), parent)
    services.join_request_decide(profile_id=asking.pk, decision="verify", actor=fresh(person))
    assert Membership.objects.get(organisation=parent, user=person).admin_in_force
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).exists()


def test_an_admin_role_above_stays_while_another_ground_below_remains(world):
    """A role above ends only when nothing below is left to hold it: an admin role in
    force in an office below still counts when the verification ends."""
    person, profile = admin_above_through_the_office(world)
    # A unit below the office, where the person is an admin too.
    unit = OrganisationFactory(name="Taluka Agriculture Office, Haveli", short_code="TAO-HAVELI",
                               parent=world["office"])
    Membership.objects.create(organisation=unit, user=person, role=MembershipRole.ADMIN, granted_at=timezone.now())
    services.profile_revoke(profile_id=profile.pk, reason_code="left_service", actor=world["admin_parent"])
    assert may_administer(fresh(person), world["parent"])  # still an admin in force below it
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED,
                                         target_id=str(world["parent"].pk)).exists()


def test_an_admin_role_above_stays_when_the_person_moves_to_another_office_below_it(world):
    """Moving from one office below the department to another one below it leaves the
    ground of the department's admin role in place: the membership of the new office
    starts before the old one's end is weighed."""
    person, profile = admin_above_through_the_office(world)
    sibling = OrganisationFactory(name="District Agriculture Office, Nashik", short_code="DAO-NASHIK",
                                  parent=world["parent"])
    moved = GovernmentProfileFactory(user=person, organisation=sibling, official_email=person.email)
    services.join_request_decide(profile_id=moved.pk, decision="verify", actor=world["admin_parent"])
    assert may_administer(fresh(person), world["parent"]) and may_administer(fresh(person), sibling)
    assert not Membership.objects.filter(user=person, organisation=world["office"], is_active=True).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED,
                                         target_id=str(world["parent"].pk)).exists()
    assert list(AuditEvent.objects.filter(target_id__in=[str(profile.pk), str(moved.pk)],
                                          action__startswith="verification.").order_by("id")
                .values_list("action", "target_id")) == [("verification.verified", str(profile.pk)),
        ("verification.ended", str(profile.pk)), ("verification.verified", str(moved.pk))]


def test_moving_up_into_the_department_one_administers_keeps_its_admin_role_and_makes_a_member_there(world):
    """Made admin of the department as a member of the office below it, the person moves
    to the department itself: a verified member of the organisation they administer, the
    strongest ground the role can have. The role stays, and they are a member under it:
    revoked later, it leaves them a member of the department, who may be given it again."""
    person, _ = admin_above_through_the_office(world)
    parent = world["parent"]
    [held] = held_elsewhere(person, parent)  # what the join page tells them first
    assert held.organisation == world["office"] and held.ending_roles == []
    moved = GovernmentProfileFactory(user=person, organisation=parent, official_email=person.email)
    services.join_request_decide(profile_id=moved.pk, decision="verify", actor=world["admin_parent"])
    moved.refresh_from_db()
    assert moved.status == VerificationStatus.VERIFIED
    role = Membership.objects.get(organisation=parent, user=person)
    assert (role.role, role.is_active, role.member_before_admin) == (MembershipRole.ADMIN, True, True)
    assert may_administer(fresh(person), parent)
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).exists()
    organisation_admin_revoke(organisation_id=parent.pk, user_id=person.pk, actor=world["admin_parent"])
    assert is_member(fresh(person), parent) and grounds_for_admin(parent).filter(user=person).exists()
    organisation_admin_grant(organisation_id=parent.pk, user_id=person.pk, actor=world["admin_parent"])
    assert may_administer(fresh(person), parent)


def test_the_departments_last_admin_may_be_verified_in_the_department_itself(world):
    """As above, the person the department's only admin: being verified in the department
    ends no role, so the last-admin rule has nothing to refuse."""
    person, _ = admin_above_through_the_office(world)
    parent = world["parent"]
    organisation_admin_revoke(organisation_id=parent.pk, user_id=world["admin_parent"].pk, actor=person)
    moved = GovernmentProfileFactory(user=person, organisation=parent, official_email=person.email)
    services.join_request_decide(profile_id=moved.pk, decision="verify", actor=world["superadmin"])
    moved.refresh_from_db()
    assert moved.status == VerificationStatus.VERIFIED
    assert may_administer(fresh(person), parent)


def test_an_organisations_first_admin_keeps_the_role_when_a_verification_below_ends(world):
    """The first admin (the nodal officer whose application was approved) holds the role
    on the approval, not on a membership below: a verification of theirs in an office
    below that ends leaves it."""
    admin = world["admin_parent"]
    profile = GovernmentProfileFactory(user=admin, organisation=world["office"], official_email=admin.email)
    services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])
    services.profile_revoke(profile_id=profile.pk, reason_code="left_service", actor=world["admin_office"])
    assert may_administer(fresh(admin), world["parent"])


def test_ending_a_verification_leaves_other_admins_and_other_organisations_alone(world, verified):
    services.profile_revoke(profile_id=verified.pk, reason_code="left_service", actor=world["admin_office"])
    assert may_administer(world["admin_office"], world["office"])
    assert may_administer(world["admin_parent"], world["parent"])
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).exists()


@pytest.mark.parametrize(("reason_code", "automatic"), [("misuse", False), ("left_service", False),
                                                        ("transfer", True), ("address_removed", True)])
def test_a_suspension_elsewhere_keeps_its_reason_and_for_the_persons_own_waits_for_an_administrator(
        world, reason_code, automatic):
    """Suspended in another organisation: for a reason of the person's own (misuse, say), a
    request here is never verified by the system, and the admins see why; during a
    transfer, or by the system when an address changed, it may be. Verifying the request
    ends the suspension, its own reason kept on the record."""
    held = GovernmentProfileFactory(user=world["person"], organisation=world["other"], official_email=world["person"].email,
                                    status=VerificationStatus.SUSPENDED, reason_code=reason_code,
                                    reason="Shared the account.")
    services.auto_verification_set(organisation_id=world["office"].pk, enabled=True, actor=world["admin_office"])
    profile = ask(world)
    assert profile.status == (VerificationStatus.VERIFIED if automatic else VerificationStatus.PENDING)
    if not automatic:
        shown = profile_for_admin(world["admin_office"], profile.pk)
        label = {"misuse": "Misuse", "left_service": "Left government service"}[reason_code]
        assert (shown.suspended_elsewhere, shown.suspended_elsewhere_label) == (reason_code, label)
        page = signed_in(world["admin_office"]).get(f"/verification/profiles/{profile.pk}/").content.decode()
        assert f"verification in another organisation is suspended (reason: {label})" in page
        services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])
    held.refresh_from_db()
    assert (held.status, held.reason_code, held.reason) == (VerificationStatus.REVOKED, reason_code, "Shared the account.")
    [event] = events(AuditAction.VERIFICATION_ENDED, held)
    assert event.new_values["reason_code"] == reason_code and event.new_values["ended_by"] == "verified_elsewhere"


@pytest.mark.parametrize(("reason_code", "automatic"), [("misuse", False), ("retirement", False),
                                                        ("left_service", False), ("transfer", True)])
def test_automatic_verification_does_not_undo_a_revocation_for_the_persons_own_reason(world, reason_code, automatic):
    services.auto_verification_set(organisation_id=world["office"].pk, enabled=True, actor=world["admin_office"])
    first = ask(world)
    assert first.status == VerificationStatus.VERIFIED
    services.profile_revoke(profile_id=first.pk, reason_code=reason_code, actor=world["admin_parent"])
    again = ask(world)
    assert again.status == (VerificationStatus.VERIFIED if automatic else VerificationStatus.PENDING)


def test_automatic_verification_does_not_undo_an_administrators_rejection(world):
    """Rejected by an administrator, the person asks again: the request waits for one
    (the page says why), where before the system verified it at once."""
    first = ask(world)
    services.join_request_decide(profile_id=first.pk, decision="reject", reason="Not on our staff list.",
                                 actor=world["admin_office"])
    services.auto_verification_set(organisation_id=world["office"].pk, enabled=True, actor=world["admin_office"])
    again = ask(world)
    assert again.status == VerificationStatus.PENDING
    page = signed_in(world["admin_office"]).get(f"/verification/profiles/{again.pk}/").content.decode()
    assert "An administrator of this organisation rejected an earlier request of this person" in page
    # Rejected by another organisation: no bar here.
    services.join_request_withdraw(profile_id=again.pk, actor=world["person"])
    GovernmentProfile.objects.filter(pk=first.pk).update(organisation=world["other"])
    assert ask(world).status == VerificationStatus.VERIFIED


def test_the_deciding_admin_is_told_when_another_verified_person_gave_the_mobile_number(world):
    GovernmentProfileFactory(user=UserFactory(email="ravi.rao@karhealth.gov.in"), organisation=world["other"],
                             status=VerificationStatus.VERIFIED, mobile="+919876543210")
    contacts_shown_to_verified_users(world["other"])
    warning = "Another verified government user gave this mobile number"
    admin = signed_in(world["admin_office"])
    shared = ask(world, mobile="9876543210")
    assert warning in admin.get(f"/verification/profiles/{shared.pk}/").content.decode()
    services.join_request_withdraw(profile_id=shared.pk, actor=world["person"])
    own = ask(world, mobile="9812345678")
    assert warning not in admin.get(f"/verification/profiles/{own.pk}/").content.decode()


def test_an_admin_role_resting_on_a_lapsed_verification_decides_nothing_before_the_job_ends_it(world):
    """A right is checked again when used: past the date of superannuation of the
    verification the role rests on, its admin decides nothing from the next request,
    before the hourly job ends the verification and the role."""
    person, profile = admin_above_through_the_office(world)
    waiting = GovernmentProfileFactory(user=world["person"], organisation=world["parent"],
                                       official_email=world["person"].email)
    GovernmentProfile.objects.filter(pk=profile.pk).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    for organisation in ("parent", "office"):
        with pytest.raises(PermissionDenied):
            services.check_decider(fresh(person), world[organisation])
    with pytest.raises(PermissionDenied):
        services.join_request_decide(profile_id=waiting.pk, decision="verify", actor=fresh(person))
    assert GovernmentProfile.objects.get(pk=waiting.pk).status == VerificationStatus.PENDING
    services.check_decider(fresh(world["admin_parent"]), world["office"])  # a first admin's role rests on no verification


def test_an_admin_role_above_with_another_ground_below_outlasts_a_lapse_there(world):
    """The lapse ends only what the hourly job will end: an admin role above whose holder
    is also the first admin of another office below it keeps resting on that role."""
    person, profile = admin_above_through_the_office(world)
    sibling = OrganisationFactory(name="District Agriculture Office, Nashik", short_code="DAO-NASHIK",
                                  parent=world["parent"])
    Membership.objects.create(organisation=sibling, user=person, role=MembershipRole.ADMIN)
    GovernmentProfile.objects.filter(pk=profile.pk).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    services.check_decider(fresh(person), world["parent"])
    with pytest.raises(PermissionDenied):
        services.check_decider(fresh(person), world["other"])


def test_the_deciding_admin_is_not_told_of_a_holder_of_the_mobile_number_kept_from_verified_users(world):
    """The warning counts the holders the verification API counts: a number its holder's
    organisation keeps from verified government users (the defaults: its admins) is not
    told to the admins of another organisation as held."""
    GovernmentProfileFactory(user=UserFactory(email="ravi.rao@karhealth.gov.in"), organisation=world["other"],
                             status=VerificationStatus.VERIFIED, mobile="+919876543210")
    shared = ask(world, mobile="9876543210")
    page = signed_in(world["admin_office"]).get(f"/verification/profiles/{shared.pk}/").content.decode()
    assert "Another verified government user gave this mobile number" not in page
