"""The mail of the portal's features beyond onboarding, delivered through the outbox to a
real SMTP server on loopback and read back from the bytes the server received, with the
checks of tests/test_every_mail_over_smtp.py (each subject decodes to exactly the text
meant, the address headers to the addresses meant, no encoded word left, the Devanagari
of the body intact), and: every link in the body is on settings.SITE_URL and resolves to
one of the portal's URL patterns.

- Verification decisions, through the services that decide (verification/services.py):
  every template under templates/verification/email/ found by its ``*_subject.txt``
  that the lifecycle and the rosters do not send, in the language the person asked in
  (English, Hindi, Marathi).
- The yearly address confirmation, its reminder, the suspension when unconfirmed and
  the lapse at superannuation, through the beat tasks (verification/lifecycle.py), with
  the clock moved.
- Roster invitations (verification/rosters/invitations.py), in English and the
  organisation's language (Marathi for Maharashtra, Hindi elsewhere).
- The adoption tracker's reminder (monitoring/services.py), English and the second language.
- The daily chain check's alert to the superadmins when it finds the audit chain broken
  (monitoring/services.py), English and Hindi.
- Roles: the person granted a platform role or an organisation's admin role, or removed
  from one (every template under templates/portal/roles/email/), through the role
  services, in the language the person asked to be verified in (English, Hindi, Marathi).
- Data protection: the superadmins' reminder and escalation of requests (every template
  under templates/privacy/email/), the draft application's erasure reminder
  (onboarding/retention.py), and the reminder and the automatic withdrawal of an
  application returned for correction and left (onboarding/application/returned.py),
  through the real sweep and retention code.
"""

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.urls import resolve
from django.utils import timezone, translation
from django.utils.formats import date_format

from monitoring import services as monitoring_services
from monitoring.models import AuditChainCheck, ExpectedOffice
from monitoring.tracker import TrackerStatus
from onboarding.application.returned import returned_remind, returned_withdraw
from onboarding.models import Application
from onboarding.retention import drafts_remind
from portal.accounts.models import User
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record
from portal.organisations import services as role_services
from portal.organisations.details import details_changes
from portal.organisations.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    PlatformRoleGrant,
    ReactivationReason,
    SuspensionReason,
)
from portal.organisations.states import JURISDICTION_CHOICES, State
from portal.privacy.models import RetentionKind
from portal.privacy.requests import privacy_request_make, privacy_requests_sweep
from portal.privacy.retention import retention_policies
from portal.text import inert
from tests.factories import (
    ApplicationFactory,
    ApprovalStepFactory,
    OrganisationFactory,
    PlatformRoleFactory,
    UserFactory,
)
from tests.onboarding.approval_helpers import make_superadmin, second_factor_given, with_totp
from tests.portal.audit_helpers import tampering
from tests.portal.test_role_audit import change_form
from tests.smtp import text_of
from tests.test_every_mail_over_smtp import DEVANAGARI, assert_delivered_exactly, rendered, send_and_receive
from tests.verification.helpers import GovernmentProfileFactory, make_admin
from tests.verification.rosters.helpers import csv_bytes, person, upload
from verification import services as verification_services
from verification import tasks
from verification.models import EndReason, VerificationMethod, VerificationStatus
from verification.rosters import services as roster_services
from verification.rosters.models import Invitation
from verification.services import JoinDecision

pytestmark = pytest.mark.django_db

EMAIL_DIR = Path(settings.BASE_DIR) / "templates"
IST = ZoneInfo("Asia/Kolkata")
START = datetime(2026, 1, 5, 10, 0, tzinfo=IST)
YEAR = timedelta(days=365)
LANGUAGES = ("en", "hi", "mr")
URL = re.compile(r"https?://[^\s<>\"']+")
# A name with what a plain-text mail must keep as typed: an ampersand, an apostrophe,
# Devanagari.
ORGANISATION = "कृषी विभाग & Collector's Office, Pune"


def templates_in(folder):
    return sorted(path.name.removesuffix("_subject.txt") for path in (EMAIL_DIR / folder).glob("*_subject.txt"))


VERIFICATION_TEMPLATES = templates_in("verification/email")
LIFECYCLE_TEMPLATES = {"confirm_address", "confirm_address_reminder", "unconfirmed_suspended", "lapsed",
                       "address_removed_suspended", "domain_removed_suspended"}
ROSTER_TEMPLATES = {"invitation"}
DECISION_TEMPLATES = [name for name in VERIFICATION_TEMPLATES if name not in LIFECYCLE_TEMPLATES | ROSTER_TEMPLATES]
PRIVACY_TEMPLATES = templates_in("privacy/email")
ROLE_TEMPLATES = templates_in("portal/roles/email")


def render(folder, template, context, language):
    """A template's subject and body in one language, rendered here as the code renders it."""
    context = {"site_url": settings.SITE_URL, **context}
    with translation.override(language):
        subject = " ".join(render_to_string(f"{folder}/{template}_subject.txt", context).split())
        body = render_to_string(f"{folder}/{template}.txt", context).strip()
    return subject, body


def assert_links_are_the_portals(body, where=""):
    """Every link in the body is on SITE_URL and resolves to one of the portal's URL patterns."""
    links = [url.rstrip(".,;:)") for url in URL.findall(body)]
    assert links, (where, body)
    for link in links:
        assert link.startswith(settings.SITE_URL.rstrip("/") + "/"), (where, link)
        resolve(urlsplit(link).path)  # Resolver404 otherwise
    return links


def assert_devanagari_intact(body, languages, where=""):
    """Devanagari arrives exactly when a language of the mail is written in it."""
    assert bool(DEVANAGARI.search(body)) == any(language != "en" for language in languages), (where, body)


def by_recipient(received):
    return {message["To"].addresses[0].addr_spec: (raw, message) for raw, message in received}


@pytest.fixture
def organisation(db):
    office = OrganisationFactory(name=ORGANISATION, short_code="DAO-PUNE-FEAT", state="MH")
    OrganisationDomain.objects.create(organisation=office, domain="pune.mahaagri.gov.in", is_verified=True)
    return office


def test_every_template_of_the_features_is_covered():
    assert {"verified", "rejected", "suspended", "reinstated", "revoked"} <= set(DECISION_TEMPLATES)
    assert LIFECYCLE_TEMPLATES | ROSTER_TEMPLATES <= set(VERIFICATION_TEMPLATES)
    assert PRIVACY_TEMPLATES == ["request_escalated", "request_reminder"]
    assert templates_in("monitoring/email") == ["adoption_reminder", "audit_chain_broken"]
    assert set(ROLE_TEMPLATES) == set(ROLE_CHANGES)


# Verification decisions ------------------------------------------------------------------

REASON = "खाते सामायिक केले. Shared the account."
# Each decision mail, by the service that sends it: (the status it is decided from, the call).
DECISIONS = {
    "verified": (VerificationStatus.PENDING, lambda profile, admin: verification_services.join_request_decide(
        profile_id=profile.pk, decision=JoinDecision.VERIFY, actor=admin)),
    "rejected": (VerificationStatus.PENDING, lambda profile, admin: verification_services.join_request_decide(
        profile_id=profile.pk, decision=JoinDecision.REJECT, reason=REASON, actor=admin)),
    "suspended": (VerificationStatus.VERIFIED, lambda profile, admin: verification_services.profile_suspend(
        profile_id=profile.pk, reason_code=EndReason.MISUSE, reason=REASON, actor=admin)),
    "reinstated": (VerificationStatus.SUSPENDED, lambda profile, admin: verification_services.profile_reinstate(
        profile_id=profile.pk, reason=REASON, actor=admin)),
    "revoked": (VerificationStatus.VERIFIED, lambda profile, admin: verification_services.profile_revoke(
        profile_id=profile.pk, reason_code=EndReason.LEFT_SERVICE, reason=REASON, actor=admin)),
}


def test_every_verification_decision_template_is_sent_by_a_service_here():
    """A new template under templates/verification/email/ fails here until its mail is tested."""
    assert set(DECISION_TEMPLATES) == set(DECISIONS)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", DECISION_TEMPLATES)
def test_every_verification_decision_mail_decodes_exactly_in_the_language_asked_in(
    template, language, organisation, smtp_server, django_capture_on_commit_callbacks
):
    status, decide = DECISIONS[template]
    admin = make_admin(organisation, email="admin@pune.mahaagri.gov.in")
    user = UserFactory(email=f"officer.{language}@pune.mahaagri.gov.in")
    profile = GovernmentProfileFactory(user=user, organisation=organisation, request_language=language, status=status,
                                       reason_code=EndReason.MISUSE if status == VerificationStatus.SUSPENDED else "")
    if status != VerificationStatus.PENDING:
        Membership.objects.create(organisation=organisation, user=user, role=MembershipRole.MEMBER)
    [(raw, message)] = send_and_receive(smtp_server, django_capture_on_commit_callbacks,
                                        lambda: decide(profile, admin))
    profile.refresh_from_db()
    subject, body = render("verification/email", template, {"profile": profile, "organisation": organisation,
                                                            "ended": []}, language)
    assert inert(ORGANISATION) in subject, subject
    sent = assert_delivered_exactly(raw, message, subject=subject, to=[user.email])
    assert sent == f"{body}\n"
    assert_devanagari_intact(sent.replace(ORGANISATION, "").replace(REASON, ""), [language], template)
    assert_links_are_the_portals(sent, template)


# The yearly confirmation, its reminder, the suspension, the lapse ------------------------

def verified(organisation, language, **fields):
    profile = GovernmentProfileFactory(organisation=organisation, status=VerificationStatus.VERIFIED,
                                       request_language=language, **fields)
    Membership.objects.get_or_create(organisation=organisation, user=profile.user,
                                     defaults={"role": MembershipRole.MEMBER})
    return profile


def run_at(at, capture, smtp_server, task):
    with time_machine.travel(at, tick=False):
        return send_and_receive(smtp_server, capture, task)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_yearly_confirmation_its_reminder_and_the_suspension_decode_exactly(
    language, organisation, smtp_server, django_capture_on_commit_callbacks
):
    official = f"asha.{language}@pune.mahaagri.gov.in"
    with time_machine.travel(START, tick=False):
        profile = verified(organisation, language, official_email=official, address_confirmed_at=START,
                           user=UserFactory(email=f"asha.{language}@gmail.com"))
    asked = START + YEAR
    deadline = datetime(2027, 2, 4, 23, 59, 59, 999999, tzinfo=IST)  # the end of that day in India
    steps = [("confirm_address", asked, official), ("confirm_address_reminder", asked + timedelta(days=23), official),
             ("unconfirmed_suspended", deadline + timedelta(minutes=30), profile.user.email)]
    for template, at, to in steps:
        [(raw, message)] = run_at(at, django_capture_on_commit_callbacks, smtp_server, tasks.address_reconfirmation)
        profile.refresh_from_db()
        context = {"profile": profile, "organisation": organisation, "deadline": deadline,
                   "reconfirm_days": settings.VERIFICATION_RECONFIRM_DAYS}
        subject, _body = render("verification/email", template, {**context, "link": ""}, language)
        sent = assert_delivered_exactly(raw, message, subject=subject, to=[to])
        links = assert_links_are_the_portals(sent, template)
        if template != "unconfirmed_suspended":
            [link] = links
            assert resolve(urlsplit(link).path).url_name == "confirm_link"
            context["link"] = link
        with time_machine.travel(at, tick=False):
            assert sent == render("verification/email", template, context, language)[1] + "\n", template
        assert_devanagari_intact(sent.replace(ORGANISATION, ""), [language], template)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_lapse_at_superannuation_decodes_exactly(language, organisation, smtp_server,
                                                     django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False):
        profile = verified(organisation, language, superannuation_date=date(2026, 3, 31))
    [(raw, message)] = run_at(datetime(2026, 4, 1, 0, 30, tzinfo=IST), django_capture_on_commit_callbacks,
                              smtp_server, tasks.superannuation_lapse)
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.REVOKED
    subject, body = render("verification/email", "lapsed", {"profile": profile, "organisation": organisation}, language)
    sent = assert_delivered_exactly(raw, message, subject=subject, to=[profile.user.email])
    assert sent == f"{body}\n"
    assert_devanagari_intact(sent.replace(ORGANISATION, ""), [language], "lapsed")
    assert_links_are_the_portals(sent, "lapsed")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_suspension_when_the_official_address_leaves_the_account_decodes_exactly(
    language, organisation, smtp_server, django_capture_on_commit_callbacks
):
    official = f"asha.{language}@pune.mahaagri.gov.in"
    profile = verified(organisation, language, official_email=official)
    EmailAddress.objects.create(user=profile.user, email=official, verified=True)
    [(raw, message)] = send_and_receive(smtp_server, django_capture_on_commit_callbacks,
                                        lambda: EmailAddress.objects.get(email=official).delete())
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.SUSPENDED
    subject, body = render("verification/email", "address_removed_suspended",
                           {"profile": profile, "organisation": organisation}, language)
    sent = assert_delivered_exactly(raw, message, subject=subject, to=[profile.user.email])
    assert sent == f"{body}\n"
    assert official in sent
    assert_devanagari_intact(sent.replace(ORGANISATION, ""), [language], "address_removed_suspended")
    assert_links_are_the_portals(sent, "address_removed_suspended")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_suspension_when_the_organisations_domain_is_removed_decodes_exactly(
    language, organisation, smtp_server, django_capture_on_commit_callbacks
):
    from portal.organisations.services import organisation_domain_remove

    official = f"asha.{language}@pune.mahaagri.gov.in"
    profile = verified(organisation, language, official_email=official, method=VerificationMethod.OFFICIAL_EMAIL)
    row = OrganisationDomain.objects.get(organisation=organisation, domain="pune.mahaagri.gov.in")
    root = make_superadmin(email=f"root.{language}@sandes.nic.in")
    [(raw, message)] = send_and_receive(smtp_server, django_capture_on_commit_callbacks, lambda: organisation_domain_remove(
        domain_id=row.pk, reason="Accepted by mistake", actor=root))
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.SUSPENDED
    subject, body = render("verification/email", "domain_removed_suspended",
                           {"profile": profile, "organisation": organisation}, language)
    sent = assert_delivered_exactly(raw, message, subject=subject, to=[profile.user.email])
    assert sent == f"{body}\n"
    assert official in sent
    assert_devanagari_intact(sent.replace(ORGANISATION, ""), [language], "domain_removed_suspended")
    assert_links_are_the_portals(sent, "domain_removed_suspended")


# Roles ------------------------------------------------------------------------------------

def _role_end():
    """The end of a role whose last day is 30 days from today, as the grant pages make it."""
    return timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=31), datetime.min.time()))


def _grant_platform(person, admin, root, organisation):
    grant = role_services.platform_role_grant(user=person, role="state_admin", jurisdiction="MH", ends_at=_role_end(),
                                              reason=REASON, actor=root)
    return {"grant": grant, "reason": REASON, "changed": False}


def _revoke_platform(person, admin, root, organisation):
    grant = PlatformRoleFactory(user=person, role="auditor", jurisdiction="")
    role_services.platform_role_revoke(grant_id=grant.pk, reason=REASON, actor=root)
    return {"grant": PlatformRoleGrant.objects.get(pk=grant.pk), "reason": REASON}


def _grant_admin(person, admin, root, organisation):
    membership = role_services.organisation_admin_grant(organisation_id=organisation.pk, user_id=person.pk,
                                                        ends_at=_role_end(), reason=REASON, actor=admin)
    return {"organisation": organisation, "ends_at": membership.ends_at, "last_day": membership.last_day,
            "reason": REASON, "changed": False}


def _revoke_admin(person, admin, root, organisation):
    Membership.objects.filter(organisation=organisation, user=person).update(role=MembershipRole.ADMIN,
                                                                              member_before_admin=True)
    role_services.organisation_admin_revoke(organisation_id=organisation.pk, user_id=person.pk, reason=REASON,
                                            actor=admin)
    return {"organisation": organisation, "reason": REASON, "member": True}


def _superuser_status(person, ticked):
    """"Superuser status" ticked or unticked on the person's account in the Django admin."""
    actor = UserFactory(email="django.root@sandes.nic.in", is_superuser=True, is_staff=True)
    with_totp(actor)
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (admin)")
    client.force_login(actor)
    second_factor_given(client, actor)
    person = User.objects.get(pk=person.pk)
    response = client.post(f"/admin/accounts/user/{person.pk}/change/", change_form(person, is_superuser=ticked))
    assert response.status_code == 302
    return {}


def _make_superuser(person, admin, root, organisation):
    return _superuser_status(person, "on")


def _end_superuser(person, admin, root, organisation):
    User.objects.filter(pk=person.pk).update(is_superuser=True)
    return _superuser_status(person, False)


def _leave_by_address(person, admin, root, organisation):
    """The organisation's first admin makes another department's address their primary one."""
    Membership.objects.filter(organisation=organisation, user=person).update(role=MembershipRole.ADMIN)
    new = person.email.replace("@pune.mahaagri.gov.in", "@karhealth.gov.in")
    old, person.email = person.email, new
    User.objects.filter(pk=person.pk).update(email=new)
    role_services.first_admin_roles_leave(user=person, old=old, new=new)
    return {"organisation": organisation, "email": new}


def _left_without_admin(person, admin, root, organisation):
    """The organisation's only admin's role ends by the system: the person, an admin of the
    organisation above it, acts for it now, and is told."""
    parent = OrganisationFactory(name="Commissioner's Office & Co", short_code="AGRI-FEAT", state="MH")
    organisation.parent = parent
    organisation.save(update_fields=["parent"])
    Membership.objects.create(organisation=parent, user=person, role=MembershipRole.ADMIN)
    role_services.organisation_admins_lapse(pairs=[(organisation.pk, admin.pk)], reason="verification_ended")
    return {"organisation": organisation, "above": parent, "holders": [admin.email]}


def _several_left_without_admin(person, admin, root, organisation):
    """Two offices below the organisation the person administers lose their only admins by
    the system in one call: the person acts for both, and is told of both in one mail."""
    parent = OrganisationFactory(name="Commissioner's Office & Co", short_code="AGRI-FEAT", state="MH")
    organisation.parent = parent
    organisation.save(update_fields=["parent"])
    second = OrganisationFactory(name="Taluka Agriculture Office & Co, Haveli", short_code="TAO-FEAT", state="MH",
                                 parent=parent)
    second_admin = make_admin(second, email="admin@haveli.mahaagri.gov.in")
    Membership.objects.create(organisation=parent, user=person, role=MembershipRole.ADMIN)
    role_services.organisation_admins_lapse(pairs=[(organisation.pk, admin.pk), (second.pk, second_admin.pk)],
                                            reason="verification_ended")
    return {"count": 2, "more": 0, "listed": [
        {"organisation": organisation, "above": parent, "holders": [admin.email]},
        {"organisation": second, "above": parent, "holders": [second_admin.email]}]}


def _left_without_acting_admin(person, admin, root, organisation):
    """The department above the organisation has one admin, granted the role as a verified
    member of the organisation; a superadmin (its own admin too, whom the page told)
    suspends the organisation: the person, an admin of the organisation above the
    department, acts for it now, and is told."""
    top = OrganisationFactory(name="Commissioner's Office & Co", short_code="AGRI-FEAT", state="MH")
    department = OrganisationFactory(name="Agriculture Department & Co", short_code="DEPT-FEAT", state="MH", parent=top)
    organisation.parent = department
    organisation.save(update_fields=["parent"])
    Membership.objects.create(organisation=top, user=person, role=MembershipRole.ADMIN)
    holder = verified(organisation, "en", user=UserFactory(email="head@pune.mahaagri.gov.in")).user
    Membership.objects.create(organisation=department, user=holder, role=MembershipRole.ADMIN, granted_at=timezone.now())
    Membership.objects.filter(organisation=organisation, user=admin).update(user=root)
    role_services.organisation_suspend(organisation_id=organisation.pk, reason_code=SuspensionReason.MISUSE,
                                       reason=REASON, actor=root)
    return {"organisation": department, "above": top, "holders": [holder.email], "suspended": organisation}


def _admin_acting_again(person, admin, root, organisation):
    """As _left_without_acting_admin, the organisation suspended already: a superadmin (its
    own admin too, whom the page told) reactivates it, and the person, who acted meanwhile
    for the department above it as an admin of the organisation above that, is told that
    the department's admin acts for it again."""
    top = OrganisationFactory(name="Commissioner's Office & Co", short_code="AGRI-FEAT", state="MH")
    department = OrganisationFactory(name="Agriculture Department & Co", short_code="DEPT-FEAT", state="MH", parent=top)
    organisation.parent = department
    organisation.status = OrganisationStatus.SUSPENDED
    organisation.save(update_fields=["parent", "status"])
    Membership.objects.create(organisation=top, user=person, role=MembershipRole.ADMIN)
    holder = verified(organisation, "en", user=UserFactory(email="head@pune.mahaagri.gov.in")).user
    Membership.objects.create(organisation=department, user=holder, role=MembershipRole.ADMIN, granted_at=timezone.now())
    Membership.objects.filter(organisation=organisation, user=admin).update(user=root)
    role_services.organisation_reactivate(organisation_id=organisation.pk,
                                          reason_code=ReactivationReason.REVIEW_COMPLETED, reason=REASON, actor=root)
    return {"organisation": department, "above": top, "holders": [holder.email], "suspended": organisation}


def _under_department(organisation):
    """The organisation placed under a department of its state, which is returned."""
    department = OrganisationFactory(name="Agriculture Department & Co", short_code="DEPT-FEAT", state="MH")
    organisation.parent = department
    organisation.save(update_fields=["parent"])
    return department


def _admin_role_resting_on_office(person, admin, root, organisation):
    """The person, verified in the organisation, was granted the admin role of the department
    above it as such; a superadmin (its own admin too, whom the page told, and the one who
    acts for the department) suspends the organisation: the person's role counts for
    nothing until it is reactivated, and she is told."""
    department = _under_department(organisation)
    Membership.objects.create(organisation=department, user=person, role=MembershipRole.ADMIN, granted_at=timezone.now())
    Membership.objects.filter(organisation=organisation, user=admin).update(user=root)
    role_services.organisation_suspend(organisation_id=organisation.pk, reason_code=SuspensionReason.MISUSE,
                                       reason=REASON, actor=root)
    return {"office": organisation, "organisations": [department.name], "suspended": True}


def _suspend_organisation(person, admin, root, organisation):
    """A superadmin suspends the organisation: its admin (the person) is told."""
    Membership.objects.filter(organisation=organisation, user=admin).delete()
    Membership.objects.filter(organisation=organisation, user=person).update(role=MembershipRole.ADMIN)
    at = timezone.now().replace(second=0, microsecond=0)
    with time_machine.travel(at, tick=False):
        role_services.organisation_suspend(organisation_id=organisation.pk, reason_code=SuspensionReason.MISUSE,
                                           reason=REASON, actor=root)
    return {"organisation": organisation, "own": True, "above": None, "reason_code": SuspensionReason.MISUSE,
            "reason": REASON, "decider": root.email, "jurisdiction": None, "at": at}


def _reactivate_organisation(person, admin, root, organisation):
    """The state administrator reactivates an office with no admin of its own: the person,
    an admin of the organisation above it, acts for it, and is told."""
    parent = OrganisationFactory(name="Commissioner's Office & Co", short_code="AGRI-FEAT", state="MH")
    organisation.parent = parent
    organisation.status = OrganisationStatus.SUSPENDED
    organisation.save(update_fields=["parent", "status"])
    Membership.objects.filter(organisation=organisation, user=admin).delete()
    Membership.objects.create(organisation=parent, user=person, role=MembershipRole.ADMIN)
    state_admin = PlatformRoleFactory(role="state_admin", jurisdiction="MH", user__email="state.admin@maharashtra.gov.in")
    at = timezone.now().replace(second=0, microsecond=0)
    with time_machine.travel(at, tick=False):
        role_services.organisation_reactivate(organisation_id=organisation.pk,
                                              reason_code=ReactivationReason.REVIEW_COMPLETED, reason=REASON,
                                              actor=state_admin.user)
    return {"organisation": organisation, "own": False, "above": parent,
            "reason_code": ReactivationReason.REVIEW_COMPLETED, "reason": REASON,
            "decider": "state.admin@maharashtra.gov.in", "jurisdiction": State.MH.label, "at": at}


def _move_organisation(person, admin, root, organisation):
    """A superadmin moves the office to Karnataka, under a department there: its admin (the person) is told."""
    Membership.objects.filter(organisation=organisation, user=admin).delete()
    Membership.objects.filter(organisation=organisation, user=person).update(role=MembershipRole.ADMIN)
    parent = OrganisationFactory(name="Agriculture Department, Karnataka & Co", short_code="AGRI-KA-FEAT", state="KA")
    at = timezone.now().replace(second=0, microsecond=0)
    with time_machine.travel(at, tick=False):
        role_services.organisation_move(organisation_id=organisation.pk, state="KA", parent_id=parent.pk,
                                       reason=REASON, actor=root)
    organisation.refresh_from_db()
    labels = dict(JURISDICTION_CHOICES)
    return {"organisation": organisation, "own": True, "above": None, "old_jurisdiction": labels["MH"],
            "new_jurisdiction": labels["KA"], "old_parent": None, "new_parent": parent, "offices_moved": 0,
            "reason": REASON, "decider": root.email, "at": at}


def _end_admin_role_by_move(person, admin, root, organisation):
    """The person, a member of the organisation, was granted the admin role of the department
    above it as such; a superadmin moves the organisation out from under the department: the
    person's role there rests on nothing any more, ends with the move, and she is told."""
    department = _under_department(organisation)
    Membership.objects.create(organisation=department, user=person, role=MembershipRole.ADMIN, granted_at=timezone.now())
    at = timezone.now().replace(second=0, microsecond=0)
    with time_machine.travel(at, tick=False):
        role_services.organisation_move(organisation_id=organisation.pk, state="MH", parent_id=None, reason=REASON,
                                       actor=root)
    organisation.refresh_from_db()
    return {"organisation": department, "moved": organisation, "member": False, "reason": REASON,
            "decider": root.email, "at": at}


def _change_organisation_details(person, admin, root, organisation):
    """A superadmin renames the organisation and changes its short code: its admin (the person) is told."""
    Membership.objects.filter(organisation=organisation, user=admin).delete()
    Membership.objects.filter(organisation=organisation, user=person).update(role=MembershipRole.ADMIN)
    Organisation.objects.filter(pk=organisation.pk).update(name="Collector's Office & Co, Pune")
    organisation.refresh_from_db()
    at = timezone.now().replace(second=0, microsecond=0)
    with time_machine.travel(at, tick=False):
        changed = role_services.organisation_details_change(
            organisation=organisation, name=ORGANISATION, name_local=organisation.name_local,
            short_code="DAO-PUNE-NEW", district=organisation.district, reason=REASON, actor=root)
    organisation.refresh_from_db()
    return {"organisation": organisation, "own": True, "above": None, "changes": details_changes(changed),
            "reason": REASON, "decider": root.email, "jurisdiction": None, "at": at}


def _remove_domain(person, admin, root, organisation):
    """A superadmin removes the organisation's domain: its admin (the person, verified by hand
    at it, as is another member) is told what the removal ended and who stays verified there."""
    Membership.objects.filter(organisation=organisation, user=admin).delete()
    Membership.objects.filter(organisation=organisation, user=person).update(role=MembershipRole.ADMIN)
    verified(organisation, "en", user=UserFactory(email="clerk@pune.mahaagri.gov.in"))
    row = OrganisationDomain.objects.get(organisation=organisation, domain="pune.mahaagri.gov.in")
    at = timezone.now().replace(second=0, microsecond=0)
    with time_machine.travel(at, tick=False):
        role_services.organisation_domain_remove(domain_id=row.pk, reason=REASON, actor=root)
    return {"organisation": organisation, "own": True, "above": None, "domain": "pune.mahaagri.gov.in",
            "reason": REASON, "decider": root.email, "at": at, "invitations_withdrawn": 0,
            "verifications_suspended": 0, "verified_by_hand": 2, "verified_by_hand_below": 0}


# Each role mail, by the service that sends it: the change made, returning the template's context.
ROLE_CHANGES = {"platform_role_granted": _grant_platform, "platform_role_revoked": _revoke_platform,
                "admin_granted": _grant_admin, "admin_revoked": _revoke_admin,
                "superuser_granted": _make_superuser, "superuser_ended": _end_superuser,
                "admin_address_left": _leave_by_address, "organisation_without_admin": _left_without_admin,
                "organisations_without_admin": _several_left_without_admin,
                "organisation_without_admin_acting": _left_without_acting_admin,
                "organisation_admin_acting_again": _admin_acting_again,
                "admin_role_resting_on_office": _admin_role_resting_on_office,
                "admin_role_ended_by_move": _end_admin_role_by_move,
                "organisation_suspended": _suspend_organisation, "organisation_reactivated": _reactivate_organisation,
                "organisation_details_changed": _change_organisation_details,
                "organisation_moved": _move_organisation, "organisation_domain_removed": _remove_domain}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", ROLE_TEMPLATES)
def test_every_role_mail_decodes_exactly_in_the_language_the_person_asked_in(
    template, language, organisation, smtp_server, django_capture_on_commit_callbacks
):
    root = make_superadmin(email="root@sandes.nic.in", totp=False)
    admin = make_admin(organisation, email="admin@pune.mahaagri.gov.in")
    person = verified(organisation, language, user=UserFactory(email=f"officer.{language}@pune.mahaagri.gov.in")).user
    holder = {}
    received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, lambda: holder.update(
        context=ROLE_CHANGES[template](person, admin, root, organisation)))
    # The person's one mail (a change above an office also tells the admin whose role rests on it).
    [(raw, message)] = [(raw, message) for raw, message in received
                        if message["To"].addresses[0].addr_spec == person.email]
    subject, body = render("portal/roles/email", template, holder["context"], language)
    sent = assert_delivered_exactly(raw, message, subject=subject, to=[person.email])
    assert sent == f"{body}\n"
    if "reason" in holder["context"]:  # the Django admin asks for none
        assert REASON in sent
    assert_devanagari_intact(sent.replace(ORGANISATION, "").replace(REASON, ""), [language], template)
    assert_links_are_the_portals(sent, template)


# Roster invitations ----------------------------------------------------------------------

@pytest.mark.parametrize("state, second, domain", [("MH", "mr", "pune.mahaagri.gov.in"), ("KA", "hi", "karhealth.gov.in")])
def test_roster_invitations_decode_exactly_in_english_and_the_organisations_language(
    state, second, domain, smtp_server, django_capture_on_commit_callbacks
):
    office = OrganisationFactory(name=ORGANISATION, short_code=f"INV-{state}", state=state)
    OrganisationDomain.objects.create(organisation=office, domain=domain, is_verified=True)
    admin = make_admin(office, email=f"admin@{domain}")
    rows = [person(1, domain=domain, Name="सुनीता पाटील"), person(2, domain=domain, Name="Ravi D'Souza & Co")]
    roster = upload(office, admin, csv_bytes(rows))
    received = send_and_receive(smtp_server, django_capture_on_commit_callbacks,
                                lambda: roster_services.roster_apply_request(roster_id=roster.pk, actor=admin))
    assert len(received) == 2
    delivered_to = by_recipient(received)
    for row in rows:
        invitation = Invitation.objects.get(email=row["Official email"])
        subjects, bodies = [], []
        for language in ("en", second):
            subject, body = render("verification/email", "invitation", {
                "organisation": office, "name": row["Name"], "link": "LINK", "expires_at": invitation.expires_at,
            }, language)
            subjects.append(subject)
            bodies.append(body)
        assert inert(ORGANISATION) in subjects[0] and subjects[0] != subjects[1]
        sent = assert_delivered_exactly(*delivered_to[invitation.email], subject=" / ".join(subjects),
                                        to=[invitation.email])
        [link, again] = assert_links_are_the_portals(sent, "invitation")
        # The second half's link opens the page in its language (portal/linked_language.py).
        assert again == f"{link}?language={second}" and resolve(urlsplit(link).path).url_name == "invitation"
        assert sent == "\n\n---\n\n".join(bodies).replace("LINK", link) + "\n"
        assert row["Name"] in sent and DEVANAGARI.search(sent.partition("\n---\n")[2].replace(ORGANISATION, ""))


# The adoption tracker's reminder ---------------------------------------------------------

@pytest.mark.parametrize("jurisdiction, second", [("MH", "mr"), ("KA", "hi"), ("CENTRAL", "hi")])
def test_the_adoption_reminder_decodes_exactly_in_english_and_the_second_language(
    jurisdiction, second, smtp_server, django_capture_on_commit_callbacks
):
    root = make_superadmin(email="root@sandes.nic.in", totp=False)
    office = ExpectedOffice.objects.create(
        jurisdiction=jurisdiction, name=ORGANISATION, short_code=f"EXP-{jurisdiction}",
        contact_email="contact@office.gov.in", target_date=date(2027, 3, 31))
    received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, lambda: (
        monitoring_services.expected_office_remind(office=office, editable=None, status="not_started", actor=root)))
    [(raw, message)] = received
    context = {"office": office, "status_label": TrackerStatus("not_started").label}
    (english, english_body), (other, other_body) = (render("monitoring/email", "adoption_reminder", context, language)
                                                    for language in ("en", second))
    # The office's name as typed, not HTML-escaped in a plain-text mail.
    assert f"Reminder: {ORGANISATION} is expected to join Sandes" == english
    assert ORGANISATION in other and other != english
    sent = assert_delivered_exactly(raw, message, subject=f"{english} / {other}", to=["contact@office.gov.in"])
    assert sent == f"{english_body}\n\n----------\n\n{other_body}\n"
    assert f"Your office, {ORGANISATION}, is on the list" in sent
    assert DEVANAGARI.search(sent.partition("\n----------\n")[2].replace(ORGANISATION, ""))
    assert_links_are_the_portals(sent, "adoption_reminder")


def test_the_broken_chain_alert_decodes_exactly_in_english_and_hindi(smtp_server, django_capture_on_commit_callbacks):
    roots = [make_superadmin(email="root@sandes.nic.in", totp=False),
             make_superadmin(email="second.root@nic.in", totp=False)]
    for _ in range(3):
        audit_record(actor=roots[0], action=AuditAction.ORGANISATION_ACTIVATED, new={"name": ORGANISATION})
    head = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    with tampering():
        AuditEvent.objects.filter(pk=head).delete()
    received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, monitoring_services.audit_chain_check)
    check = AuditChainCheck.objects.get()
    assert not check.intact and check.first_problem_code == "end_deleted"
    (english, english_body), (hindi, hindi_body) = (
        render("monitoring/email", "audit_chain_broken", {"check": check}, language) for language in ("en", "hi"))
    assert english.startswith("Audit log chain broken, ") and DEVANAGARI.search(hindi)
    assert len(received) == 2
    for raw, message in received:
        sent = assert_delivered_exactly(raw, message, subject=f"{english} / {hindi}", to=[str(message["To"])])
        assert sent == f"{english_body}\n\n----------\n\n{hindi_body}\n"
        assert f"\n#{head}: the newest event written was {head} but the log ends at " in sent
    assert sorted(str(message["To"]) for _raw, message in received) == sorted(root.email for root in roots)


# Data protection -------------------------------------------------------------------------

@pytest.mark.parametrize("template", PRIVACY_TEMPLATES)
def test_every_data_protection_request_mail_decodes_exactly_in_english_and_hindi(
    template, smtp_server, django_capture_on_commit_callbacks
):
    roots = [make_superadmin(email="root@sandes.nic.in", totp=False),
             make_superadmin(email="second.root@nic.in", totp=False)]
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        made = [privacy_request_make(user=UserFactory(), kind=kind, details="माहिती पुसा. Erase it.")
                for kind in ("erasure", "correction")]
    at = start + timedelta(days=26 if template == "request_reminder" else 31)
    received = run_at(at, django_capture_on_commit_callbacks, smtp_server, privacy_requests_sweep)
    assert len(received) == 2
    for request in made:
        request.refresh_from_db()
    made.sort(key=lambda request: (request.due_at, request.pk))  # listed most urgent first, in the order made
    with time_machine.travel(at, tick=False):
        (english, english_body), (hindi, hindi_body) = (
            render("privacy/email", template, {"requests": made}, language) for language in ("en", "hi"))
    assert english != hindi and DEVANAGARI.search(hindi)
    for root in roots:
        sent = assert_delivered_exactly(*by_recipient(received)[root.email], subject=f"{english} / {hindi}",
                                        to=[root.email])
        assert sent == f"{english_body}\n\n----------\n\n{hindi_body}\n"
        assert DEVANAGARI.search(sent.partition("\n----------\n")[2])
        assert_links_are_the_portals(sent, template)


def test_the_draft_erasure_reminder_decodes_exactly_in_english_and_marathi(smtp_server,
                                                                          django_capture_on_commit_callbacks):
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="सुनील पाटील")
    draft = ApplicationFactory(nodal_officer=officer, jurisdiction="MH", organisation_name=ORGANISATION, status="draft")
    now = timezone.now()
    [(raw, message)] = send_and_receive(smtp_server, django_capture_on_commit_callbacks,
                                        lambda: drafts_remind([draft.pk], now))
    grace = next(policy.grace_days for policy in retention_policies() if policy.kind == RetentionKind.DRAFT_APPLICATION)
    context = {"application": draft, "erase_on": timezone.localdate(now + timedelta(days=grace))}
    (english, english_body), (marathi, marathi_body) = (rendered("retention_draft_reminder", context, language)
                                                        for language in ("en", "mr"))
    sent = assert_delivered_exactly(raw, message, subject=f"{english} / {marathi}", to=[officer.email])
    assert sent == f"{english_body}\n\n----------\n\n{marathi_body}\n"
    assert DEVANAGARI.search(sent.partition("\n----------\n")[2].replace(ORGANISATION, ""))
    assert_links_are_the_portals(sent, "retention_draft_reminder")


def test_the_draft_erasure_reminder_names_the_organisation_as_typed_with_its_addresses_inert(
    smtp_server, django_capture_on_commit_callbacks
):
    """The officer reads their organisation's name as they typed it ("&", not "&amp;";
    "'", not "&#x27;"), in the subject and the body, in English and Marathi, and a web
    address typed in the name is not a link, as in every other onboarding mail."""
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in")
    draft = ApplicationFactory(nodal_officer=officer, jurisdiction="MH", status="draft",
                               organisation_name="Agriculture & Farmers' Welfare Department, pay at https://evil.example.com/pay")
    now = timezone.now()
    [(raw, message)] = send_and_receive(smtp_server, django_capture_on_commit_callbacks,
                                        lambda: drafts_remind([draft.pk], now))
    shown = "Agriculture & Farmers' Welfare Department, pay at https[:]//evil[.]example[.]com/pay"
    grace = next(policy.grace_days for policy in retention_policies() if policy.kind == RetentionKind.DRAFT_APPLICATION)
    erase_on = timezone.localdate(now + timedelta(days=grace))
    with translation.override("mr"):
        marathi_day = date_format(erase_on, "j F Y")
    assert str(message["Subject"]) == (f"Your draft application for {shown} will be erased on {erase_on:%-d %B %Y} "
                                       f"unless you save it / {shown} साठीचा तुमचा मसुदा अर्ज जतन न केल्यास "
                                       f"{marathi_day} रोजी पुसला जाईल")
    body = text_of(message)
    english, _rule, marathi = body.partition("\n\n----------\n\n")
    assert " ".join(english.split("\n\n")[0].split()) == (
        f"Your draft onboarding application for {shown} has not been saved for a long time.")
    assert " ".join(marathi.split("\n\n")[0].split()) == (
        f"{shown} साठीचा तुमचा मसुदा ऑनबोर्डिंग अर्ज बराच काळ जतन केलेला नाही.")
    assert "evil.example" not in body and "&amp;" not in body and "&#x27;" not in body


def test_the_returned_applications_reminder_and_its_withdrawal_decode_exactly_in_english_and_marathi(
    smtp_server, django_capture_on_commit_callbacks
):
    """An application returned for correction and left: the reminder (the return's stage,
    day and remarks, the day from which it is withdrawn, the link to its form) and then the
    mail of its automatic withdrawal, as the nodal officer receives them, in English and
    Marathi (Maharashtra's), through the retention rule's own code."""
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="सुनील पाटील")
    application = ApplicationFactory(nodal_officer=officer, jurisdiction="MH", organisation_name=ORGANISATION,
                                     status="changes_requested")
    remarks = "पिन कोड दुरुस्त करा. Correct the PIN code."
    step = ApprovalStepFactory(application=application, stage="authority", assignee_email="director@mahaagri.gov.in",
                               decision="return", remarks=remarks, decided_at=timezone.now(),
                               decided_by_email="director@mahaagri.gov.in")
    now = timezone.now()
    [(raw, message)] = send_and_receive(smtp_server, django_capture_on_commit_callbacks,
                                        lambda: returned_remind([application.pk], now))
    grace = next(policy.grace_days for policy in retention_policies()
                 if policy.kind == RetentionKind.RETURNED_APPLICATION)
    context = {"application": application, "step": step, "withdraw_on": timezone.localdate(now + timedelta(days=grace))}
    (english, english_body), (marathi, marathi_body) = (rendered("retention_returned_reminder", context, language)
                                                        for language in ("en", "mr"))
    assert english == (f"Application {application.reference} will be withdrawn on "
                       f"{context['withdraw_on']:%-d %B %Y} unless you submit it again")
    sent = assert_delivered_exactly(raw, message, subject=f"{english} / {marathi}", to=[officer.email])
    assert sent == f"{english_body}\n\n----------\n\n{marathi_body}\n"
    assert sent.count(remarks) == 2  # in each language's half, as the return's own mail has them
    assert DEVANAGARI.search(sent.partition("\n----------\n")[2].replace(ORGANISATION, "").replace(remarks, ""))
    assert_links_are_the_portals(sent, "retention_returned_reminder")

    [(raw, message)] = send_and_receive(smtp_server, django_capture_on_commit_callbacks,
                                        lambda: returned_withdraw([application.pk], now))
    withdrawn = Application.objects.get(pk=application.pk)
    assert withdrawn.status == "withdrawn"
    (english, english_body), (marathi, marathi_body) = (
        rendered("withdrawn_not_corrected", {"application": withdrawn}, language) for language in ("en", "mr"))
    assert english == f"Application {application.reference} withdrawn: not corrected in time"
    sent = assert_delivered_exactly(raw, message, subject=f"{english} / {marathi}", to=[officer.email])
    assert sent == f"{english_body}\n\n----------\n\n{marathi_body}\n"
    assert DEVANAGARI.search(sent.partition("\n----------\n")[2].replace(ORGANISATION, ""))
    assert_links_are_the_portals(sent, "withdrawn_not_corrected")
