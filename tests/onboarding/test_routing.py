"""Approval routing through the real services and pages: the competent
authority's link, the state administrators, return and resubmission, rejection
and appeal, withdrawal, final approval and the approval letter."""

import hashlib
import io
import unicodedata
from datetime import datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone
from django.utils.formats import date_format
from guardian.shortcuts import get_perms
from pypdf import PdfReader

from onboarding import workflow
from onboarding.application import services
from onboarding.application.selectors import officer_eligibility
from onboarding.approval import services as approvals
from onboarding.approval.deadlines import RoleEnding, deadline_sweep, steps_deciders_watch, undecided_steps_assign
from onboarding.approval.handover import application_officer_change
from onboarding.approval.letters import approval_letter_issue
from onboarding.approval.tasks import undecided_steps_assign as undecided_steps_assign_task
from onboarding.approval.timings import approval_timings
from onboarding.models import (
    ApplicationDocument,
    ApplicationStatus,
    ApprovalStep,
    ApprovalTimings,
    AuthorityToken,
    Decision,
    DocumentKind,
    Stage,
)
from portal.accounts.models import EmailSuffixRule, SuffixKind
from portal.accounts.official_email import normalise_domain
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_verify
from portal.deadlines import end_of_local_day
from portal.mail.models import OutboxMessage, OutboxPriority
from portal.organisations.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    PlatformRoleGrant,
)
from portal.organisations.services import platform_role_revoke
from tests.factories import (
    ApplicationFactory,
    ApprovalStepFactory,
    OrganisationFactory,
    PlatformRoleFactory,
    UserFactory,
    application_with_authority,
    application_with_state,
)
from tests.html_tree import field_error, field_value, page
from tests.onboarding.approval_helpers import (
    AUTHORITY_EMAIL,
    DEVANAGARI_RE,
    appeal_confirmed,
    as_querydict,
    authority_approved,
    filled_application,
    latest_link,
    make_state_admin,
    make_superadmin,
    messages_to,
    post_confirming_access,
    run_beat_jobs,
    second_factor_given,
    signed_in,
    state_step,
    submitted_application,
    with_totp,
)
from tests.onboarding_data import VALID
from tests.portal.test_forms import STORED_TWICE
from tests.smtp import text_of
from tests.test_every_mail_over_smtp import send_and_receive

pytestmark = pytest.mark.django_db


def english(subject):
    return subject.split(" / ")[0]


def decide_by_link(path, decision, remarks="", client=None, **extra):
    """The decision sent from the page of the link at ``path``, the box confirming it ticked."""
    client = client or Client()
    return client.post(path, {"decision": decision, "remarks": remarks, "confirm": "on"}, **extra)


def approved_by_the_state(application, admin, capture):
    """``application``, with the state administrators, approved by ``admin``; the
    approval letter is issued on commit."""
    with capture(execute=True):
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=admin)
    application.refresh_from_db()
    return application


def test_submission_opens_the_authority_step_with_a_hashed_link_and_sends_both_emails(officer):
    before = timezone.now()
    application = submitted_application(officer)
    step = ApprovalStep.objects.get(application=application)
    assert step.stage == Stage.AUTHORITY and step.decision == ""
    assert step.assignee_email == AUTHORITY_EMAIL
    assert step.jurisdiction == "MH"
    # Due at the end of the local day 7 days after the day it opened (the mails give that date).
    opened_day = timezone.localdate(step.opened_at)
    assert before <= step.opened_at <= timezone.now()
    assert step.due_at == datetime.combine(opened_day + timedelta(days=7), time.max, tzinfo=timezone.get_current_timezone())

    [authority_mail] = messages_to(AUTHORITY_EMAIL)
    # A reply would quote the link to the officer: the mail gives the officer's address to write to instead.
    assert authority_mail.reply_to == []
    assert f"To reach the nodal officer, write to them at {officer.email}." in authority_mail.body
    assert "Do not reply to this email or forward it: it holds your link." in authority_mail.body
    path, token = latest_link()
    assert path == f"/onboarding/review/{token}/"
    [row] = AuthorityToken.objects.filter(step=step)
    # Only the hash is stored, nowhere the token itself.
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.email == AUTHORITY_EMAIL
    # Seven days, and not before the day the authority is told to decide by has ended.
    assert row.expires_at == step.due_at and row.expires_at - row.created_at >= timedelta(days=7)
    assert not AuthorityToken.objects.filter(token_hash=token).exists()
    assert token not in str(list(AuthorityToken.objects.values()))

    receipts = [m for m in messages_to(officer.email) if "submitted" in m.subject]
    assert len(receipts) == 1
    assert "Anita Deshmukh" in receipts[0].body and AUTHORITY_EMAIL in receipts[0].body
    assert f"{step.due_at.astimezone(timezone.get_current_timezone()):%-d %B %Y}" in receipts[0].body


def test_authority_approval_goes_to_the_state_administrators(officer):
    admin = make_state_admin("MH")
    make_state_admin("KA")
    application = application_with_authority(nodal_officer=officer)
    path, _token = latest_link()
    client = Client(HTTP_USER_AGENT="Authority browser/1.0", REMOTE_ADDR="10.1.2.3")
    page = client.get(path, follow=True)
    assert page.status_code == 200
    content = page.content.decode()
    assert VALID["organisation"]["name"] in content and "Anita Deshmukh" in content
    response = decide_by_link(path, "approve", client=client)
    assert response.status_code == 302 and response["Location"] == "/onboarding/review/done/"
    done = client.get(response["Location"])
    assert done.status_code == 200 and "was recorded" in done.content.decode()

    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE
    authority_step, state_step = ApprovalStep.objects.filter(application=application).order_by("id")
    assert authority_step.decision == Decision.APPROVE
    assert authority_step.decided_by is None and authority_step.decided_by_email == AUTHORITY_EMAIL
    assert authority_step.ip == "10.1.2.3" and authority_step.user_agent == "Authority browser/1.0"
    assert authority_step.decided_at is not None
    assert state_step.stage == Stage.STATE and state_step.jurisdiction == "MH" and state_step.decision == ""
    assert [english(m.subject) for m in messages_to(admin.email)] == [f"New application in your approval queue: {application.reference}"]
    assert any("approved by the competent authority" in m.subject for m in messages_to(officer.email))
    confirmation = [m for m in messages_to(AUTHORITY_EMAIL) if "was recorded" in m.subject]
    assert len(confirmation) == 1 and "10.1.2.3" in confirmation[0].body
    # "If you did not make this decision, reply at once": the reply reaches the state's administrators.
    assert confirmation[0].reply_to == [admin.email]
    event = AuditEvent.objects.filter(action=AuditAction.STEP_DECIDED).get()
    assert event.actor_id is None and event.actor_role == "competent_authority"
    assert event.new_values["email"] == AUTHORITY_EMAIL and "email" in event.personal_keys  # redacted with the step
    assert event.ip == "10.1.2.3" and event.new_values["decision"] == "approve"


def test_the_nodal_officer_signed_in_cannot_decide_through_the_authoritys_link(officer):
    application = submitted_application(officer)
    path, _token = latest_link()
    response = signed_in(officer).post(path, {"decision": "approve", "confirm": "on"})
    assert response.status_code == 200
    assert "signed in as this application&#x27;s nodal officer" in response.content.decode()
    application.refresh_from_db()
    step = ApprovalStep.objects.get(application=application)
    assert application.status == ApplicationStatus.WITH_AUTHORITY and step.decision == ""
    # The link still works for the authority itself.
    assert decide_by_link(path, "approve").status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE


def test_the_nodal_officer_under_another_account_of_their_mailbox_cannot_decide_through_the_link(officer):
    """Signed in as an account of the officer's own mailbox (their address with a "+tag"),
    the authority's link decides nothing, as signed in as the officer."""
    application = submitted_application(officer)
    local, domain = officer.email.split("@")
    client = signed_in(UserFactory(email=f"{local}+second@{domain}"))
    response = decide_by_link(latest_link()[0], "approve", client=client)
    assert response.status_code == 200
    assert "You are signed in as this application&#x27;s nodal officer" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_AUTHORITY


def test_the_nodal_officer_holding_the_authoritys_address_cannot_decide_through_the_link_signed_out(officer):
    """After submitting, the officer adds the authority's mailbox to their own account: the
    link then decides nothing, signed in or not (the officer would be their own authority)."""
    from allauth.account.models import EmailAddress

    application = submitted_application(officer)
    EmailAddress.objects.create(user=officer, email=AUTHORITY_EMAIL.upper(), verified=True, primary=False)
    response = decide_by_link(latest_link()[0], "approve", "Looks right.")
    assert response.status_code == 200
    html = response.content.decode()
    assert "This link went to one of the nodal officer&#x27;s own addresses" in html and "Looks right." in html
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_AUTHORITY
    assert ApprovalStep.objects.get(application=application).decision == ""
    with pytest.raises(ValidationError):
        approvals.step_decide(step_id=ApprovalStep.objects.get(application=application).pk, decision="approve",
                              token=latest_link()[1])


def test_no_new_link_goes_to_an_authority_address_that_has_become_the_officers_own(officer):
    """After submitting, the officer adds the authority's mailbox to their account: its link
    decides nothing, so the officer's page says why and offers no new link, and one asked
    for is refused: none is mailed."""
    from allauth.account.models import EmailAddress

    application = submitted_application(officer)
    EmailAddress.objects.create(user=officer, email=AUTHORITY_EMAIL.upper(), verified=True, primary=False)
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    sent = len(messages_to(AUTHORITY_EMAIL))
    with pytest.raises(ValidationError) as refused:
        approvals.step_resend_authority_link(application_id=application.pk, actor=officer)
    assert refused.value.messages == [
        f"{AUTHORITY_EMAIL} can no longer decide as a competent authority: It is now one of the nodal officer's own "
        "addresses: the competent authority must be someone else. No new link was sent to it."]
    client = signed_in(officer)
    page = client.get(f"/onboarding/{application.pk}/").content.decode()
    assert f"The competent authority's address {AUTHORITY_EMAIL} can no longer decide on this application" in page
    assert "Send the competent authority a new link" not in page
    assert len(messages_to(AUTHORITY_EMAIL)) == sent
    assert AuthorityToken.objects.count() == 1


@pytest.mark.parametrize("kind", [SuffixKind.CONTRACTOR, SuffixKind.CONSUMER])
def test_an_authority_whose_domain_is_no_longer_eligible_decides_nothing(officer, kind):
    """The authority's domain is made a contractor's or a personal mail service after the link
    was sent: the link decides nothing (said on its page, what was typed kept), no new link
    goes to it, and the officer's page says why the application is stuck."""
    authority = "secretary@agri.maharashtra.gov.in"
    data = {**VALID, "competent_authority": {**VALID["competent_authority"], "official_email": authority}}
    application = submitted_application(officer, data)
    EmailSuffixRule.objects.create(suffix="agri.maharashtra.gov.in", kind=kind, note="reclassified")
    response = decide_by_link(latest_link(authority)[0], "approve", "Approved for the department.")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"{authority} can no longer decide as a competent authority" in html
    assert "Approved for the department." in html
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_AUTHORITY
    assert ApprovalStep.objects.get(application=application).decision == ""
    # The officer is told on their page, and no new link is sent to the address.
    sent = len(messages_to(authority))
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    client = signed_in(officer)
    page = client.get(f"/onboarding/{application.pk}/").content.decode()
    assert f"The competent authority's address {authority} can no longer decide on this application" in page
    assert "Send the competent authority a new link" not in page
    page = client.post(f"/onboarding/{application.pk}/resend-link/", follow=True).content.decode()
    assert f"{authority} can no longer decide as a competent authority" in page
    assert len(messages_to(authority)) == sent


def placed_under(parent, **organisation):
    """The form of an office placed under ``parent`` (an organisation on Sandes)."""
    return {**VALID, "organisation": {**VALID["organisation"], **organisation},
            "hierarchy": {**VALID["hierarchy"], "parent_choice": "existing", "parent": str(parent.pk)}}


def placement_events(action, target):
    return [event.new_values for event in AuditEvent.objects.filter(action=action, target_id=str(target.pk))
            .order_by("id")]


def test_the_admins_of_the_organisation_an_office_is_placed_under_are_told_and_the_deciders_see_it():
    """Anyone may choose any active organisation as their office's parent, and on approval its
    admins administer the office too: IIT Bombay's admins are told when an office placed under
    it is submitted (one mail, in their language: the office, its officer, its domains, who
    decides), not again when it comes back corrected, and once more when it is approved; the
    superadmins, who do not act for IIT Bombay, are not. Each mail is in the audit log, and the
    state administrator's decision page says plainly where the office goes and when IIT
    Bombay's admins were told."""
    from tests.verification.helpers import make_admin

    iitb = OrganisationFactory(name="IIT Bombay", short_code="IITB")
    OrganisationDomain.objects.create(organisation=iitb, domain="iitb.ac.in", is_verified=True, claim="not_official")
    iitb_admin = make_admin(iitb, email="registrar.office@iitb.ac.in", full_name="IITB Registrar")
    root = make_superadmin(email="root@sandes.nic.in")
    student = UserFactory(email="student@iitb.ac.in", full_name="A Student")
    data = placed_under(iitb, name="IIT Bombay Hostel Coordination Office", short_code="IITB-HCO",
                        email_domains="hco-iitb.gov.in")
    data["competent_authority"] = {**VALID["competent_authority"], "official_email": "friend@iitb.ac.in"}
    application = authority_approved(student, data)

    [asked] = messages_to(iitb_admin.email)
    assert asked.subject.startswith(f"An office is to be placed under IIT Bombay: application {application.reference} / ")
    assert DEVANAGARI_RE.search(asked.subject)  # and in Marathi, the application's second language
    body = " ".join(asked.body.split())
    assert (f"A Student (student@iitb.ac.in) has applied on the Sandes onboarding portal to place IIT Bombay Hostel "
            f"Coordination Office under IIT Bombay (application {application.reference}).") in body
    assert "The email domains it lists for its staff: hco-iitb.gov.in." in body
    assert "The administrators of Maharashtra decide whether it is approved" in body
    assert "As an admin of IIT Bombay, you will act for IIT Bombay Hostel Coordination Office too" in body
    assert placement_events(AuditAction.APPLICATION_PLACEMENT_TOLD, application) == [
        {"parent": iitb.pk, "to": [iitb_admin.email]}]
    assert not [m for m in messages_to(root.email) if "placed under" in m.subject]

    state_admin = make_state_admin("MH")
    application.refresh_from_db()
    told_on = date_format(timezone.localtime(application.placement_told_at), "j F Y")
    tree = page(signed_in(state_admin).get(f"/onboarding/queue/{state_step(application).pk}/"))
    assert f"Placed under IIT Bombay: IIT Bombay's admins were told on {told_on}." in tree.squashed_text()

    approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=state_admin)
    application.refresh_from_db()
    office = application.organisation
    assert office.parent_id == iitb.pk
    [_asked, made] = messages_to(iitb_admin.email)
    assert made.subject.startswith("IIT Bombay Hostel Coordination Office now sits under IIT Bombay on Sandes / ")
    body = " ".join(made.body.split())
    assert ("IIT Bombay Hostel Coordination Office is now active on Sandes, placed under IIT Bombay: the administrators "
            f"of Maharashtra approved application {application.reference}.") in body
    assert "Its first admin is its nodal officer, A Student (student@iitb.ac.in)." in body
    assert f"/portal/roles/organisations/{office.pk}/" in body
    assert placement_events(AuditAction.ORGANISATION_PLACEMENT_TOLD, office) == [
        {"parent": iitb.pk, "application": application.reference, "to": [iitb_admin.email]}]
    assert not [m for m in messages_to(root.email) if "sits under" in m.subject]


def test_an_office_placed_under_an_organisation_with_no_admin_is_told_to_the_superadmins():
    """Nobody administers the organisation chosen as the parent, nor one above it: the
    superadmins, who act for it, are told instead, and the decision page says so. Sent back
    for correction and submitted again under the same parent, nobody is told twice."""
    department = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH")
    root = make_superadmin(email="root@sandes.nic.in")
    application = authority_approved(UserFactory(email="officer@mahaagri.gov.in"), placed_under(department))
    [asked] = [m for m in messages_to(root.email) if "placed under" in m.subject]
    assert ("No active organisation at or above Agriculture Department, Maharashtra has an admin: as a superadmin, you "
            "act for it") in " ".join(asked.body.split())
    application.refresh_from_db()
    told_on = date_format(timezone.localtime(application.placement_told_at), "j F Y")
    tree = page(signed_in(make_state_admin("MH")).get(f"/onboarding/queue/{state_step(application).pk}/"))
    assert (f"Placed under Agriculture Department, Maharashtra: it has no admin, so the superadmins were told on "
            f"{told_on}.") in tree.squashed_text()
    approvals.step_decide(step_id=state_step(application).pk, decision="return", remarks="Attach the letter.",
                          actor=make_state_admin("MH"))
    services.application_submit(application_id=application.pk, actor=application.nodal_officer,
                                reply="Corrected as asked.")
    assert len([m for m in messages_to(root.email) if "placed under" in m.subject]) == 1
    assert len(placement_events(AuditAction.APPLICATION_PLACEMENT_TOLD, application)) == 1


def test_a_domain_accepted_for_one_organisation_makes_no_competent_authority_of_another(officer):
    """A superadmin accepted iitb.ac.in (off the official suffixes) for IIT Bombay: official for
    its line only (it, the offices above it and those below it). An unrelated office cannot name a mailbox there as its
    competent authority (said at the field, what was typed kept); an office placed under IIT
    Bombay can. A link already sent to such an address decides nothing once the domain is
    another organisation's, and the officer's page says why."""
    iitb = OrganisationFactory(name="IIT Bombay", short_code="IITB")
    OrganisationDomain.objects.create(organisation=iitb, domain="iitb.ac.in", is_verified=True, claim="not_official")
    authority = "registrar@iitb.ac.in"
    client = signed_in(officer)
    client.post("/onboarding/start/")
    application = officer.applications.get()
    url = f"/onboarding/{application.pk}/section/competent_authority/"
    typed = {**VALID["competent_authority"], "official_email": authority}
    tree = page(client.post(url, typed))
    assert field_error(tree, "official_email").startswith(
        "iitb.ac.in was accepted as official for another organisation only (and the offices above and below it), not "
        "for this one: an address there cannot act for it. Official addresses end in one of: ")
    assert field_value(tree, "official_email") == authority

    # Placed under IIT Bombay, the same address is its competent authority's.
    data = {**VALID, "hierarchy": {**VALID["hierarchy"], "parent_choice": "existing", "parent": str(iitb.pk)},
            "competent_authority": typed}
    application = submitted_application(UserFactory(email="office.head@maharashtra.gov.in"), data)
    assert ApprovalStep.objects.get(application=application).assignee_email == authority

    # The domain becomes another organisation's (its claim corrected): the link decides nothing.
    OrganisationDomain.objects.filter(domain="iitb.ac.in").update(organisation=OrganisationFactory(short_code="OTHR"))
    response = decide_by_link(latest_link(authority)[0], "approve", "Approved.")
    assert "can no longer decide as a competent authority" in response.content.decode()
    assert "accepted as official for another organisation only" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_AUTHORITY
    officer_page = signed_in(application.nodal_officer).get(f"/onboarding/{application.pk}/").content.decode()
    assert f"The competent authority's address {authority} can no longer decide on this application" in officer_page


def test_an_office_admitted_under_an_organisation_with_its_domain_verifies_its_staff_there_and_places_its_own():
    """IIT Bombay's iitb.ac.in was accepted for it (off the official suffixes). Its Physics
    department applies placed under it, its head and competent authority at iitb.ac.in, and is
    approved, the head its first admin. The domain is the department's too, as onboarding took
    it: its staff at iitb.ac.in ask the department to verify them, and a laboratory placed
    under the department names its competent authority there as well."""
    from verification import services as verification

    iitb = OrganisationFactory(name="IIT Bombay", short_code="IITB")
    OrganisationDomain.objects.create(organisation=iitb, domain="iitb.ac.in", is_verified=True, claim="not_official")
    hod = UserFactory(email="hod.physics@iitb.ac.in", full_name="Head Physics")
    data = {**VALID,
            "organisation": {**VALID["organisation"], "name": "Department of Physics, IIT Bombay",
                             "short_code": "IITB-PHY", "email_domains": "phy.iitb.ac.in"},
            "hierarchy": {**VALID["hierarchy"], "parent_choice": "existing", "parent": str(iitb.pk)},
            "competent_authority": {**VALID["competent_authority"], "official_email": "director@iitb.ac.in"}}
    application = authority_approved(hod, data)
    approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=make_state_admin("MH"))
    application.refresh_from_db()
    department = application.organisation
    assert department is not None and department.parent_id == iitb.pk

    professor = UserFactory(email="prof@iitb.ac.in", full_name="A Professor")
    details = {"designation": "Professor", "office": "Physics", "employee_code": "P-1", "mobile": "+919812345670",
               "official_email": professor.email, "superannuation_date": None}
    asked = verification.join_request_create(organisation_id=department.pk, details=details, language="en",
                                             actor=professor)
    assert asked.status == "pending"

    lab = {**data, "organisation": {**data["organisation"], "name": "Nuclear Physics Laboratory, IIT Bombay",
                                    "short_code": "IITB-NPL", "email_domains": "npl.iitb.ac.in"},
           "hierarchy": {**data["hierarchy"], "parent": str(department.pk)},
           "competent_authority": {**data["competent_authority"], "official_email": "dean@iitb.ac.in"}}
    submitted = submitted_application(UserFactory(email="lab.head@iitb.ac.in"), lab)
    assert ApprovalStep.objects.get(application=submitted).assignee_email == "dean@iitb.ac.in"


def test_a_domain_accepted_for_one_organisation_makes_no_nodal_officer_of_another():
    """The same rule for the nodal officer's own address (their account's): a student at
    iitb.ac.in, a domain a superadmin accepted for IIT Bombay only, may start a draft (the
    office may yet be placed under IIT Bombay) but is refused as the nodal officer of an
    unrelated office at the field, what was typed kept, and so at submission; placed under
    IIT Bombay, they may apply. A domain that becomes another organisation's before the
    final approval makes nobody that office's admin: refused at the decision, saying why."""
    iitb = OrganisationFactory(name="IIT Bombay", short_code="IITB")
    OrganisationDomain.objects.create(organisation=iitb, domain="iitb.ac.in", is_verified=True, claim="not_official")
    student = UserFactory(email="student@iitb.ac.in", full_name="A Student")
    client = signed_in(student)
    client.post("/onboarding/start/")
    application = student.applications.get()
    typed = {**VALID["nodal_officer"], "official_email": student.email}
    tree = page(client.post(f"/onboarding/{application.pk}/section/nodal_officer/", typed))
    error = field_error(tree, "official_email")
    assert error.startswith(
        "iitb.ac.in was accepted as official for another organisation only (and the offices above and below it), not "
        "for this one: an address there cannot act for it. Official addresses end in one of: ")
    assert error.endswith("(for example name@dept.gov.in). If this office reports to that organisation, choose it as "
                          "the parent organisation (Place in the hierarchy); otherwise make an official address your "
                          "account's email.")
    assert field_value(tree, "official_email") == student.email
    assert field_value(tree, "designation") == VALID["nodal_officer"]["designation"]
    application.refresh_from_db()
    assert application.status_of("nodal_officer") == "has_errors"
    assert application.section_data("nodal_officer")["employee_code"] == VALID["nodal_officer"]["employee_code"]
    with pytest.raises(ValidationError) as refused:
        submitted_application(student)
    assert "Nodal officer is not complete." in refused.value.messages

    # Placed under IIT Bombay, the same address is its nodal officer's.
    under_iitb = {**VALID, "hierarchy": {**VALID["hierarchy"], "parent_choice": "existing", "parent": str(iitb.pk)}}
    application = authority_approved(student, under_iitb)

    # The domain becomes another organisation's (its claim corrected): no final approval.
    OrganisationDomain.objects.filter(domain="iitb.ac.in").update(organisation=OrganisationFactory(short_code="OTHR"))
    response = signed_in(make_state_admin("MH")).post(f"/onboarding/queue/{state_step(application).pk}/",
                                                      {"decision": "approve", "confirm": "on"})
    assert field_error(page(response), "decision").startswith(
        "The nodal officer can no longer be made the organisation's admin: iitb.ac.in was accepted as official for "
        "another organisation only (and the offices above and below it), not for this one")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE and application.organisation is None


def test_return_for_correction_then_resubmission_shows_the_authority_what_changed(officer):
    application = submitted_application(officer)
    path, first_token = latest_link()
    response = decide_by_link(path, "return", "Give the correct number of users.")
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CHANGES_REQUESTED
    returned = [m for m in messages_to(officer.email) if "returned for correction" in m.subject]
    assert len(returned) == 1 and "Give the correct number of users." in returned[0].body

    organisation = dict(VALID["organisation"], approx_users="1500")
    services.application_save_section(application_id=application.pk, section="organisation",
                                      querydict=as_querydict(organisation), actor=officer)
    services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_AUTHORITY
    new_path, new_token = latest_link()
    assert new_token != first_token
    # The first link recorded the return: it says so, and cannot decide again.
    used = Client().get(path)
    assert used.status_code == 410 and "already been used" in used.content.decode()
    page = Client().get(new_path, follow=True)
    content = page.content.decode()
    assert page.status_code == 200
    assert "What changed since the version you saw" in content
    assert "<del>1,200</del>" in content and "<ins>1,500</ins>" in content
    assert "Give the correct number of users." in content
    steps = list(ApprovalStep.objects.filter(application=application).order_by("id"))
    assert [s.version_number for s in steps] == [1, 2]


def test_a_returned_application_is_sent_again_only_with_a_reply_to_its_remarks_kept_with_the_version(officer):
    """The service refuses a resubmission without a reply, or with one of only invisible
    characters, and changes nothing; the reply is kept with the new version, in the
    resubmission's audit row, and in the officer's own data download next to the remarks."""
    import io
    import json
    import zipfile

    application = submitted_application(officer)
    path, _token = latest_link()
    assert decide_by_link(path, "return", "Give the correct number of users.").status_code == 302
    for blank in ("", "  \u200b\u2060\ufeff  "):
        with pytest.raises(ValidationError) as refused:
            services.application_submit(application_id=application.pk, actor=officer, reply=blank)
        assert refused.value.code == services.REPLY_REQUIRED
    with pytest.raises(ValidationError):
        services.application_submit(application_id=application.pk, actor=officer, reply="x" * 4001)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CHANGES_REQUESTED and application.versions.count() == 1
    services.application_submit(application_id=application.pk, actor=officer,
                                reply="  The count now includes the field offices.\r\nNothing else changed.  ")
    reply = "The count now includes the field offices.\nNothing else changed."
    assert [v.reply for v in application.versions.order_by("number")] == ["", reply]
    event = AuditEvent.objects.filter(action=AuditAction.APPLICATION_RESUBMITTED).get()
    assert event.new_values["reply"] == reply and event.new_values["version"] == 2
    response = signed_in(officer).get("/privacy/my-data/download/")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    [mine] = json.loads(zipfile.ZipFile(io.BytesIO(content)).read("data.json"))["onboarding_applications"]
    assert [d["remarks"] for d in mine["decisions"]] == ["Give the correct number of users.", ""]
    assert [(r["number"], r["reply"]) for r in mine["replies_to_remarks"]] == [(2, reply)]


def returned_and_sent_again_to_the_state(officer, remarks, reply):
    """Submitted, returned by its competent authority with ``remarks``, sent again with
    ``reply`` and approved by the authority: now with the state administrators."""
    application = submitted_application(officer)
    assert decide_by_link(latest_link()[0], "return", remarks).status_code == 302
    services.application_submit(application_id=application.pk, actor=officer, reply=reply)
    assert decide_by_link(latest_link()[0], "approve").status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE
    return application


def test_a_corrected_application_handed_to_an_administrator_appointed_later_quotes_the_reply(officer):
    """Nobody could decide the state step of an application corrected after a return (no
    administrator for Maharashtra, no superadmin) until one was appointed: the mail that tells
    them, the one its opening would have sent, quotes the remarks and the reply as that does."""
    remarks, reply = "Give the correct number of users.", "The count now includes the field offices."
    application = returned_and_sent_again_to_the_state(officer, remarks, reply)
    assert state_step(application).nobody_may_decide_since is not None
    admin = make_state_admin("MH")
    assert undecided_steps_assign() == 1
    [mail] = messages_to(admin.email)
    assert f"Remarks it was returned with:\n{remarks}\n\nThe nodal officer’s reply to the remarks:\n{reply}" in mail.body


def history_of(response):
    """The text of a page's "Earlier decisions", squashed."""
    return page(response).by_id("history-heading").parent.squashed_text()


def test_the_state_administrators_mail_quotes_the_remarks_and_the_reply_to_them(officer):
    """Returned by the competent authority, corrected and approved by it: the mail that puts
    the application in the state administrators' queue quotes the remarks it was returned with
    and the nodal officer's reply to them, in English and Marathi, as the authority's mail does."""
    admin = make_state_admin("MH")
    remarks, reply = "Give the correct number of users.", "The count now includes the field offices.\nNothing else."
    application = returned_and_sent_again_to_the_state(officer, remarks, reply)
    [mail] = messages_to(admin.email)
    english_text, marathi_text = mail.body.split("\n----------\n")
    assert (f"Remarks it was returned with:\n{remarks}\n\nThe nodal officer’s reply to the remarks:\n{reply}"
            in english_text), english_text
    assert remarks in marathi_text and reply in marathi_text and "उत्तर" in marathi_text
    assert f"/onboarding/queue/{state_step(application).pk}/" in english_text


def test_the_reply_to_the_remarks_is_read_where_the_remarks_are(officer):
    """Whoever reads the remarks of a return reads the nodal officer's reply to them beside
    them, in the earlier decisions: the state administrator deciding after the competent
    authority's return, the officer on their own page, and a competent authority the officer
    named in a correction, who saw no earlier version."""
    admin = make_state_admin("MH")
    remarks, reply = "Give the correct number of users.", "The count now includes the field offices."
    application = returned_and_sent_again_to_the_state(officer, remarks, reply)
    history = history_of(signed_in(admin).get(f"/onboarding/queue/{state_step(application).pk}/"))
    assert f"Remarks: {remarks} The nodal officer’s reply to the remarks: {reply}" in history
    history = history_of(signed_in(officer).get(f"/onboarding/{application.pk}/"))
    assert f"Remarks: {remarks} Your reply to the remarks: {reply}" in history

    # Returned by the state, with another competent authority named in the correction.
    state_remarks = "The Principal Secretary is the competent authority of a directorate."
    approvals.step_decide(step_id=state_step(application).pk, decision="return", remarks=state_remarks, actor=admin)
    secretary = "principal.secretary@maharashtra.gov.in"
    services.application_save_section(
        application_id=application.pk, section="competent_authority", actor=officer,
        querydict=as_querydict(dict(VALID["competent_authority"], official_email=secretary)))
    services.application_submit(application_id=application.pk, actor=officer, reply="The Principal Secretary now.")
    history = history_of(Client().get(latest_link(secretary)[0], follow=True))
    assert f"Remarks: {remarks} The nodal officer’s reply to the remarks: {reply}" in history
    assert f"Remarks: {state_remarks} The nodal officer’s reply to the remarks: The Principal Secretary now." in history


def test_a_competent_authority_named_in_a_correction_is_mailed_the_remarks_and_the_reply(officer):
    """Returned by the state administrators, who asked for another competent authority: the
    request the authority the officer named then is sent quotes the remarks the application
    was returned with and the officer's reply to them, as their page and the state
    administrators' mail do, in English and Marathi; it does not speak of a version they saw."""
    admin = make_state_admin("MH")
    application = returned_and_sent_again_to_the_state(officer, "Give the correct number of users.", "Done.")
    remarks = "The Principal Secretary is the competent authority of a directorate."
    approvals.step_decide(step_id=state_step(application).pk, decision="return", remarks=remarks, actor=admin)
    secretary = "principal.secretary@maharashtra.gov.in"
    services.application_save_section(
        application_id=application.pk, section="competent_authority", actor=officer,
        querydict=as_querydict(dict(VALID["competent_authority"], official_email=secretary)))
    reply = "The Principal Secretary now.\nHe signed the new letter."
    services.application_submit(application_id=application.pk, actor=officer, reply=reply)
    [mail] = messages_to(secretary)
    english_text, marathi_text = mail.body.split("\n----------\n")
    assert (f"Remarks it was returned with:\n{remarks}\n\nThe nodal officer’s reply to the remarks:\n{reply}"
            in english_text), english_text
    assert "the version you last saw" not in english_text
    assert "returned for correction before it was sent to you" in english_text
    assert remarks in marathi_text and reply in marathi_text and "उत्तर" in marathi_text
    assert "तुम्हाला पाठवण्यापूर्वी दुरुस्तीसाठी परत पाठवला गेला होता" in marathi_text


def returned_with_the_reminders_link(officer, remarks):
    """An application submitted, its authority reminded (a second link mailed), and returned
    with the reminder's link: (the application, the first link's path, the reminder's)."""
    application = submitted_application(officer)
    first_path, _token = latest_link()
    step = ApprovalStep.objects.get(application=application)
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    assert deadline_sweep(now=step.due_at - timedelta(days=1))["reminded"] == 1
    reminder_path, _token = latest_link()
    assert decide_by_link(reminder_path, "return", remarks).status_code == 302
    return application, first_path, reminder_path


def test_a_reply_to_the_remarks_typed_on_a_submission_refused_for_another_reason_is_kept(officer):
    """The officer typed a reply and pressed Submit, but the answers had changed in another tab
    since the check page was opened (nothing sent): the page comes back with the warning and
    the reply as typed, not empty."""
    application = submitted_application(officer)
    path, _token = latest_link()
    assert decide_by_link(path, "return", "Give the correct number of users.").status_code == 302
    application.refresh_from_db()
    reply = "The count now includes the field offices.\nNothing else changed."
    response = signed_in(officer).post(f"/onboarding/{application.pk}/submit/",
                                       {"reply": reply, "shown_version": str(application.version - 1)}, follow=True)
    assert response.status_code == 200
    tree = page(response)
    assert "Nothing was submitted: the application was changed in another tab or window" in tree.text()
    assert field_value(tree, "reply") == reply
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CHANGES_REQUESTED and application.versions.count() == 1


def test_a_reply_typed_on_a_resubmission_refused_at_the_authoritys_address_is_kept(officer, settings):
    """The authority's mailbox had had its day's requests for a decision: the competent
    authority's section is shown with the refusal at the address; the reply the officer typed
    is said to be kept, and is in its box when they come back to send the application again."""
    application = submitted_application(officer)
    path, _token = latest_link()
    assert decide_by_link(path, "return", "Give the correct number of users.").status_code == 302
    settings.ONBOARDING_AUTHORITY_MAILS_PER_DAY = 1
    application.refresh_from_db()
    reply = "The count now includes the field offices.\nNothing else changed."
    client = signed_in(officer)
    response = client.post(f"/onboarding/{application.pk}/submit/",
                           {"reply": reply, "shown_version": str(application.version)}, follow=True)
    refused = page(response).squashed_text()
    assert "requests for a decision" in refused
    assert "Your reply to the remarks is kept: it is in its box when you send the application again." in refused
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CHANGES_REQUESTED
    assert field_value(page(client.get(f"/onboarding/{application.pk}/submit/")), "reply") == reply
    # Sent (the mailbox may have more), it is the version's reply, and no longer kept for the next return.
    settings.ONBOARDING_AUTHORITY_MAILS_PER_DAY = 10
    response = client.post(f"/onboarding/{application.pk}/submit/", {"reply": reply, "shown_version": str(application.version)})
    assert response.status_code == 302 and response["Location"] == f"/onboarding/{application.pk}/"
    assert application.versions.latest("number").reply == reply
    assert "onboarding:reply" not in client.session


def test_a_reply_kept_for_one_application_outlives_the_submission_of_another(officer):
    """The reply kept for a returned application whose sending was refused at the authority's
    address is that application's: the officer sending another application meanwhile keeps it."""
    returned = submitted_application(officer)
    path, _token = latest_link()
    assert decide_by_link(path, "return", "Give the correct number of users.").status_code == 302
    client = signed_in(officer)
    session = client.session
    session["onboarding:reply"] = {"application": str(returned.pk), "reply": "The count now includes the field offices."}
    session.save()
    other = filled_application(officer, {**VALID, "organisation": dict(
        VALID["organisation"], name="Directorate of Horticulture, Maharashtra", short_code="DOH-MH")})
    other.refresh_from_db()
    response = client.post(f"/onboarding/{other.pk}/submit/", {"shown_version": str(other.version)})
    assert response.status_code == 302 and response["Location"] == f"/onboarding/{other.pk}/"
    assert field_value(page(client.get(f"/onboarding/{returned.pk}/submit/")), "reply") == (
        "The count now includes the field offices.")


def test_the_reminders_other_link_after_a_return_answered_points_to_the_newest_mail(officer):
    """The authority held two links (the first mail's and the reminder's), returned the
    application with the reminder's, and the officer sent it again: the first link says the
    application was changed and sent again, and when, so the authority looks for that mail."""
    application, first_path, reminder_path = returned_with_the_reminders_link(officer, "Give the correct number of users.")
    services.application_save_section(application_id=application.pk, section="organisation",
                                      querydict=as_querydict(dict(VALID["organisation"], approx_users="1500")),
                                      actor=officer)
    services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    resent = ApprovalStep.objects.filter(application=application).latest("id")
    response = Client().get(first_path, follow=True)
    html = response.content.decode()
    assert response.status_code == 410
    when = timezone.localtime(resent.opened_at).strftime("%-d %b %Y, %H:%M")
    assert (f"Application {application.reference} was changed and sent to you again on {when}. Use the link in the "
            "most recent email; this one no longer works.") in html
    assert "was recorded with another link" not in html


def test_what_changed_leaves_out_answers_to_a_choice_not_taken():
    # A parent searched for and kept in the draft after "It has no parent" was chosen (and
    # a technical contact kept after "No, people only") is no answer: it was given before,
    # and is gone now, as the summary shows it.
    from onboarding.approval.changes import version_changes

    ministry = OrganisationFactory(name="Ministry of Agriculture and Farmers Welfare")
    old = {"hierarchy": {"parent_choice": "existing", "parent": str(ministry.pk)},
           "integration": {"wants_integration": "yes", "tech_name": "Kiran Joshi"}}
    new = {"hierarchy": {"parent_choice": "none", "parent": str(ministry.pk)},
           "integration": {"wants_integration": "no", "tech_name": "Kiran Joshi"}}
    rows = {str(row["label"]): (row["old"], row["new"]) for row in version_changes(None, old, new)}
    assert rows["Parent organisation on Sandes"] == ("Ministry of Agriculture and Farmers Welfare", "")
    assert rows["Technical contact: name"] == ("Kiran Joshi", "")
    back = {str(row["label"]): (row["old"], row["new"]) for row in version_changes(None, new, old)}
    assert back["Parent organisation on Sandes"] == ("", "Ministry of Agriculture and Farmers Welfare")


def test_what_changed_leaves_out_the_state_of_a_central_body():
    # A central (Government of India) body has no state: one kept in the draft from before
    # "Central" was chosen, or changed since, is no change.
    from onboarding.approval.changes import version_changes

    old = {"organisation": {"level": "central", "state": "MH", "district": ""}}
    new = {"organisation": {"level": "central", "state": "KA", "district": ""}}
    assert version_changes(None, old, new) == []
    state = {"organisation": {"level": "state", "state": "MH", "district": ""}}
    rows = {str(row["label"]): (row["old"], row["new"]) for row in version_changes(None, state, new)}
    assert rows == {"Level": ("State / UT", "Central"), "State / UT": ("Maharashtra", "")}


def test_state_administrator_return_goes_back_to_the_competent_authority(officer):
    admin = make_state_admin("MH")
    application = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="return", remarks="Attach the letter on letterhead.",
                          actor=admin)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CHANGES_REQUESTED
    services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_AUTHORITY
    new_step = ApprovalStep.objects.filter(application=application).order_by("-id").first()
    assert new_step.stage == Stage.AUTHORITY and new_step.assignee_email == AUTHORITY_EMAIL
    page = Client().get(latest_link()[0], follow=True).content.decode()
    assert "Attach the letter on letterhead." in page


def test_final_approval_activates_the_organisation_and_issues_the_letter(officer, django_capture_on_commit_callbacks):
    admin = make_state_admin("MH")
    application = approved_by_the_state(application_with_state(nodal_officer=officer), admin, django_capture_on_commit_callbacks)
    assert application.status == ApplicationStatus.APPROVED and application.closed_at is not None
    organisation = application.organisation
    assert organisation.status == OrganisationStatus.ACTIVE and organisation.activated_at is not None
    assert organisation.name == VALID["organisation"]["name"] and organisation.state == "MH"
    assert list(OrganisationDomain.objects.filter(organisation=organisation).values_list("domain", "is_verified")) == [
        ("mahaagri.gov.in", True)
    ]
    membership = Membership.objects.get(organisation=organisation, user=officer)
    assert membership.role == MembershipRole.ADMIN and membership.is_active
    assert set(get_perms(officer, organisation)) == {"administer_organisation", "view_organisation_dashboard"}
    assert officer.has_perm("organisations.administer_organisation", organisation)
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert AuditAction.ORGANISATION_ACTIVATED in actions and AuditAction.MEMBERSHIP_GRANTED in actions

    letter = ApplicationDocument.objects.get(application=application, kind=DocumentKind.APPROVAL_LETTER, language="en")
    [mail] = [m for m in OutboxMessage.objects.all() if m.subject.startswith("Approval letter")]
    assert mail.to == [officer.email, AUTHORITY_EMAIL]
    assert [a["filename"] for a in mail.attachments] == [f"{application.reference}-approval-letter.pdf",
                                                         f"{application.reference}-approval-letter-mr.pdf"]
    client = signed_in(officer)
    response = client.get(f"/onboarding/{application.pk}/approval-letter.pdf")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == letter.sha256
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert application.reference in text and "mahaagri.gov.in" in text
    detail = client.get(f"/onboarding/{application.pk}/").content.decode()
    assert "Download the approval letter" in detail
    # Issuing again (a redelivered task, the sweep) sends nothing twice.
    assert approval_letter_issue(application_id=application.pk) == letter
    assert len([m for m in OutboxMessage.objects.all() if m.subject.startswith("Approval letter")]) == 1
    assert audit_verify() == []


def test_a_parent_not_yet_on_sandes_is_put_to_the_deciders_and_recorded_with_the_activation(
        officer, django_capture_on_commit_callbacks):
    """The form may name a parent organisation not yet on Sandes (its name and type): there is
    none to place the office under, so final approval makes it with no parent. The deciders
    are told so before deciding, with what to do if that parent is on Sandes after all (return
    the application, for the officer to choose it from the search), and the name is kept with
    the activation in the audit log rather than dropped."""
    hierarchy = {"parent_choice": "new", "parent": "", "new_parent_name": "  Commissionerate of Agriculture  ",
                 "new_parent_type": "department"}
    application = authority_approved(officer, {**VALID, "hierarchy": hierarchy})
    admin = make_state_admin("MH")
    tree = page(signed_in(admin).get(f"/onboarding/queue/{state_step(application).pk}/"))
    assert "Name of the parent organisation Commissionerate of Agriculture" in tree.squashed_text()  # the answers
    flags = tree.find("section", **{"aria-labelledby": "flags-heading"})
    assert flags is not None and (
        "The form names a parent organisation not yet on Sandes: Commissionerate of Agriculture (Department). Final "
        "approval makes this organisation with no parent, recording that name with its activation; if that parent "
        "is on Sandes already (under another name), return the application for correction so that the nodal "
        "officer chooses it.") in flags.squashed_text()
    application = approved_by_the_state(application, admin, django_capture_on_commit_callbacks)
    assert application.organisation.parent is None
    activated = AuditEvent.objects.get(action=AuditAction.ORGANISATION_ACTIVATED)
    assert activated.new_values["proposed_parent"] == {"name": "Commissionerate of Agriculture", "org_type": "department"}
    assert audit_verify() == []


def _appealed(officer, data=None):
    """The officer's application, rejected by the state's administrator and appealed."""
    application = application_with_state(nodal_officer=officer, **({"data": data} if data else {}))
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="Duplicate.",
                          actor=make_state_admin("MH"))
    return approvals.application_appeal(application_id=application.pk, grounds="Not a duplicate.", actor=officer)


def _appeal_flags(client, appeal):
    """The appeal's decision page, and its "Check before deciding" section's text."""
    tree = page(client.get(f"/onboarding/appeals/{appeal.pk}/"))
    return tree, " ".join(tree.by_id("flags-heading").parent.text().split())


def test_a_parent_not_yet_on_sandes_is_put_to_the_superadmin_deciding_an_appeal_with_advice_an_appeal_can_follow(
        officer):
    """An appeal cannot be returned for correction: the flag of a parent not yet on Sandes
    does not advise it there, but what a superadmin can do instead (an overturn makes the
    organisation with no parent; a superadmin places it under that parent by moving it), in
    English and in Hindi."""
    hierarchy = {"parent_choice": "new", "parent": "", "new_parent_name": "Commissionerate of Agriculture",
                 "new_parent_type": "department"}
    appeal = _appealed(officer, {**VALID, "hierarchy": hierarchy})
    client = signed_in(make_superadmin())
    flags = _appeal_flags(client, appeal)[1]
    assert ("The form names a parent organisation not yet on Sandes: Commissionerate of Agriculture (Department). "
            "An overturn makes this organisation with no parent, recording that name with its activation; an appeal "
            "cannot return the application for correction: if that parent is on Sandes already (under another name), "
            "a superadmin places the organisation under it afterwards, from its page (“Change its state or the "
            "organisation above it”).") in flags, flags
    assert "return the application for correction so that" not in flags
    client.post("/i18n/setlang/", {"language": "hi", "next": "/"})
    hindi = _appeal_flags(client, appeal)[1]
    assert "Commissionerate of Agriculture" in hindi and DEVANAGARI_RE.search(hindi) and "An overturn" not in hindi


def test_the_organisation_is_made_with_the_answers_as_the_form_checked_them(officer):
    """The draft keeps what was typed, spaces around an answer included (the form strips them
    when it checks it): the organisation is named without them (it used to be named with
    them, and so listed first in every list ordered by name)."""
    organisation = {**VALID["organisation"], "name": "   " + VALID["organisation"]["name"] + "   ",
                    "name_local": "  कृषी संचालनालय, महाराष्ट्र\u00a0", "level": "district", "district": "  Pune  "}
    application = authority_approved(officer, {**VALID, "organisation": organisation})
    assert application.section_data("organisation")["name"] == organisation["name"]
    approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=make_state_admin("MH"))
    application.refresh_from_db()
    made = application.organisation
    assert (made.name, made.name_local, made.district) == (
        VALID["organisation"]["name"], "कृषी संचालनालय, महाराष्ट्र", "Pune")


def test_rejection_appeal_and_overturn(officer, django_capture_on_commit_callbacks):
    superadmin = make_superadmin()
    application = application_with_authority(nodal_officer=officer)
    decide_by_link(latest_link()[0], "reject", "Not a government body.")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    rejected = [m for m in messages_to(officer.email) if english(m.subject).endswith("rejected")]
    assert len(rejected) == 1 and "Not a government body." in rejected[0].body and "appeal" in rejected[0].body

    client = signed_in(officer)
    assert client.get(f"/onboarding/{application.pk}/appeal/").status_code == 200
    response = appeal_confirmed(client, application, "It is a directorate of the state.")
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_APPEAL
    appeal = ApprovalStep.objects.get(application=application, stage=Stage.APPEAL)
    assert appeal.grounds == "It is a directorate of the state."
    assert [english(m.subject) for m in messages_to(superadmin.email)] == [f"Appeal to decide: application {application.reference}"]

    admin_client = signed_in(superadmin)
    assert admin_client.get("/onboarding/appeals/").status_code == 200
    assert admin_client.get(f"/onboarding/appeals/{appeal.pk}/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/onboarding/appeals/{appeal.pk}/",
                                     {"decision": "overturn", "remarks": "", "confirm": "on"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.organisation.status == OrganisationStatus.ACTIVE
    assert ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER).exists()


def test_appeal_upheld_is_final(officer):
    superadmin = make_superadmin()
    admin = make_state_admin("MH")
    application = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="Duplicate of ONB-2025-000001.",
                          actor=admin)
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Not a duplicate.", actor=officer)
    approvals.appeal_decide(step_id=appeal.pk, decision="uphold", remarks="It is a duplicate.", actor=superadmin)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED_FINAL and application.closed_at is not None
    upheld = [m for m in messages_to(officer.email) if "upheld" in m.subject]
    assert len(upheld) == 1 and "It is a duplicate." in upheld[0].body


def test_withdrawal_while_with_the_authority_closes_the_step_and_voids_the_link(officer, officer_client):
    application = application_with_authority(nodal_officer=officer)
    path, _token = latest_link()
    response = officer_client.post(f"/onboarding/{application.pk}/withdraw/", {"confirm": "yes"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    step = ApprovalStep.objects.get(application=application)
    assert step.decision == Decision.CANCELLED
    assert not AuthorityToken.objects.filter(step=step, superseded_at__isnull=True).exists()
    assert any("withdrawn" in m.subject for m in messages_to(AUTHORITY_EMAIL))
    page = Client().get(path)
    assert page.status_code == 410 and "withdrew application" in page.content.decode()


def test_the_authoritys_link_of_an_application_withdrawn_on_the_officers_behalf_says_so(officer):
    """The nodal officer's account was closed and a superadmin withdrew the application on
    their behalf: the competent authority's link says that, as its mail does, not that the
    nodal officer withdrew it."""
    from onboarding.application.services import application_withdraw

    application = application_with_authority(nodal_officer=officer)
    path, _token = latest_link()
    officer.is_active = False
    officer.save(update_fields=["is_active"])
    application_withdraw(application_id=application.pk, actor=make_superadmin(email="root@sandes.nic.in"))
    response = Client().get(path)
    text = " ".join(response.content.decode().split())
    assert response.status_code == 410 and "withdrew application" not in text
    assert (f"Application {application.reference} was withdrawn on behalf of its nodal officer, who can no longer act "
            "on it. No decision is needed from you.") in text


def withdrawn_notices(address):
    """The mails to ``address`` saying an application that waited on them was withdrawn."""
    return [m for m in messages_to(address) if english(m.subject).endswith("withdrawn: no longer waiting for you")]


def test_withdrawal_while_with_the_state_tells_the_administrators_it_waited_on(officer):
    """Withdrawn while waiting on the state administrators: each of those who were told it
    waits on them (not the one who was its competent authority, who was not told) gets one
    mail saying it no longer does, in English and the application's second language, with
    a link to their queue (the application is no longer theirs to open)."""
    admin, other = make_state_admin("MH"), make_state_admin("MH")
    authority_admin = make_state_admin("MH", email=AUTHORITY_EMAIL)
    application = application_with_state(nodal_officer=officer)
    services.application_withdraw(application_id=application.pk, actor=officer)
    [told] = withdrawn_notices(admin.email)
    assert sorted(told.to) == sorted([admin.email, other.email]) and withdrawn_notices(authority_admin.email) == []
    assert english(told.subject) == f"Application {application.reference} withdrawn: no longer waiting for you"
    english_body, _sep, marathi_body = told.body.partition("\n----------\n")
    assert "withdrawn" in english_body and DEVANAGARI_RE.search(marathi_body) and DEVANAGARI_RE.search(told.subject)
    assert f"{settings.SITE_URL}/onboarding/queue/" in english_body
    assert f"/onboarding/queue/{state_step(application).pk}/" not in told.body


def test_the_state_administrators_are_told_in_their_own_language(officer):
    """A Maharashtra application goes out in English and Marathi, but a state administrator
    who last asked to be verified in Hindi reads the mails that tell them it waits on them,
    and that it no longer does, in English and Hindi (as the deadline sweep's); the one whose
    language the portal does not know, in the application's Marathi. One mail each."""
    from django.utils import translation

    from tests.verification.helpers import GovernmentProfileFactory

    hindi, unknown = make_state_admin("MH"), make_state_admin("MH")
    GovernmentProfileFactory(user=hindi, organisation=OrganisationFactory(state="MH"), request_language="hi")
    application = authority_approved(officer)
    services.application_withdraw(application_id=application.pk, actor=officer)

    def subject(message, language):
        with translation.override(language):
            return translation.gettext(message) % {"ref": application.reference}

    for english_subject in ("New application in your approval queue: %(ref)s",
                            "Application %(ref)s withdrawn: no longer waiting for you"):
        for admin, language in ((hindi, "hi"), (unknown, "mr")):
            [told] = [m for m in messages_to(admin.email) if english(m.subject) == subject(english_subject, "en")]
            assert told.to == [admin.email]
            assert told.subject == f"{subject(english_subject, 'en')} / {subject(english_subject, language)}"


def test_withdrawal_of_an_escalated_state_step_tells_the_superadmins_too(officer):
    """A state step past its due date was escalated to the superadmins: they were told it
    waits on them too, so they are told of its withdrawal, each once."""
    admin, root = make_state_admin("MH"), make_superadmin()
    application = application_with_state(nodal_officer=officer)
    with time_machine.travel(state_step(application).due_at + timedelta(minutes=1), tick=False):
        run_beat_jobs()
    assert any(english(m.subject).startswith("Overdue and escalated") for m in messages_to(root.email))
    services.application_withdraw(application_id=application.pk, actor=officer)
    [told] = withdrawn_notices(root.email)
    assert sorted(told.to) == sorted([admin.email, root.email])


def test_withdrawal_of_an_escalated_authority_step_tells_the_authority_and_the_administrators(officer):
    """An authority's step past its due date was escalated to the state administrators
    ("please follow it up"): on withdrawal the authority is told its link no longer
    decides, and the administrators that there is nothing left to follow up."""
    admin = make_state_admin("MH")
    application = application_with_authority(nodal_officer=officer)
    step = ApprovalStep.objects.get(application=application)
    with time_machine.travel(step.due_at + timedelta(minutes=1), tick=False):
        run_beat_jobs()
    assert any(english(m.subject).startswith("Overdue and escalated") for m in messages_to(admin.email))
    services.application_withdraw(application_id=application.pk, actor=officer)
    [authority_told] = [m for m in messages_to(AUTHORITY_EMAIL) if "withdrawn: no decision needed" in m.subject]
    assert "the link sent to you no longer works" in authority_told.body
    [told] = withdrawn_notices(admin.email)
    assert told.to == [admin.email]


def test_withdrawal_of_an_authority_step_not_escalated_tells_only_the_authority(officer):
    admin = make_state_admin("MH")
    application = application_with_authority(nodal_officer=officer)
    services.application_withdraw(application_id=application.pk, actor=officer)
    assert withdrawn_notices(admin.email) == []
    assert [m for m in messages_to(AUTHORITY_EMAIL) if "withdrawn: no decision needed" in m.subject]


def test_every_email_is_in_english_and_hindi(officer, django_capture_on_commit_callbacks):
    admin = make_state_admin("MH")
    approved_by_the_state(authority_approved(officer), admin, django_capture_on_commit_callbacks)
    mails = list(OutboxMessage.objects.all())
    assert len(mails) >= 7
    for mail in mails:
        english, _sep, hindi = mail.body.partition("\n----------\n")
        assert english.strip() and DEVANAGARI_RE.search(hindi), (mail.subject, mail.body)
        assert not DEVANAGARI_RE.search(english), mail.subject
        assert DEVANAGARI_RE.search(mail.subject), mail.subject


def test_the_officer_sees_where_the_application_is_and_can_send_a_new_link(officer, officer_client):
    application = application_with_authority(nodal_officer=officer)
    _path, first_token = latest_link()
    detail = officer_client.get(f"/onboarding/{application.pk}/").content.decode()
    assert "Waiting for the competent authority, Anita Deshmukh" in detail
    assert "Send the competent authority a new link" in detail
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    response = officer_client.post(f"/onboarding/{application.pk}/resend-link/")
    assert response.status_code == 302
    path, token = latest_link()
    assert token != first_token
    assert Client().get(f"/onboarding/review/{first_token}/").status_code == 410
    assert Client().get(path, follow=True).status_code == 200
    # A second request straight away is refused (no flood of emails to the authority).
    count = OutboxMessage.objects.count()
    response = officer_client.post(f"/onboarding/{application.pk}/resend-link/", follow=True)
    assert "less than 10 minutes ago" in response.content.decode()
    assert OutboxMessage.objects.count() == count


# The competent authority's address refused by the mail relay as unknown ---------------------

UNKNOWN_SUBJECT = "Application {}: the competent authority's address does not exist"


def officer_told_of_unknown(officer, application):
    return [m for m in messages_to(officer.email) if english(m.subject) == UNKNOWN_SUBJECT.format(application.reference)]


def test_the_officer_is_told_when_the_relay_refuses_the_authoritys_address_as_unknown(
    officer, smtp_server, django_capture_on_commit_callbacks
):
    """The officer mistyped the authority's address: the relay answers "550 5.1.1 User unknown"
    to the "Decision needed" mail. The officer is told at once, by mail in the application's
    languages and on its page, with what they can do; no new link can be asked for (it would
    fail at once), and the next mails to the address (the request's retry, the reminder) go
    nowhere and tell the officer nothing more."""
    from portal.mail.models import UnknownMailbox

    smtp_server.refused.add(AUTHORITY_EMAIL)
    with django_capture_on_commit_callbacks(execute=True):
        application = application_with_authority(nodal_officer=officer)
    assert UnknownMailbox.objects.filter(mailbox=AUTHORITY_EMAIL).exists()
    [told] = officer_told_of_unknown(officer, application)
    english_body, _sep, marathi = told.body.partition("\n----------\n")
    assert (f"The mail server refused the competent authority's address, {AUTHORITY_EMAIL}, as an address that does "
            "not exist: the competent authority did not receive the request to decide on your application") in " ".join(
        english_body.split())
    assert "withdraw this application and submit a new one" in " ".join(english_body.split())
    assert f"{settings.SITE_URL}/onboarding/{application.pk}/" in english_body
    assert DEVANAGARI_RE.search(marathi) and DEVANAGARI_RE.search(told.subject)
    # Delivered over SMTP, the subject decoding back whole.
    [delivered] = [m for m in smtp_server.messages if m["Message-ID"] == told.message_id]
    assert str(delivered["Subject"]) == told.subject

    client = signed_in(officer)
    page_text = " ".join(client.get(f"/onboarding/{application.pk}/").content.decode().split())
    day = date_format(timezone.localtime(timezone.now()), "j M Y")
    assert (f"The mail server refused the competent authority's address {AUTHORITY_EMAIL} on {day} as an address that "
            "does not exist") in page_text
    assert "Send the competent authority a new link" not in page_text
    assert "Competent authority&#x27;s address refused by the mail server as one that does not exist" in page_text
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    sent = len(messages_to(AUTHORITY_EMAIL))
    response = client.post(f"/onboarding/{application.pk}/resend-link/", follow=True)
    assert (f"The mail server refused {AUTHORITY_EMAIL} as an address that does not exist: no new link was sent to "
            "it.") in " ".join(response.content.decode().split())
    assert len(messages_to(AUTHORITY_EMAIL)) == sent

    # The request's retry and the reminder before the due date: not offered to the relay, and
    # the officer, told once, is not told again.
    request = OutboxMessage.objects.filter(to=[AUTHORITY_EMAIL]).earliest("id")
    step = ApprovalStep.objects.get(application=application)
    with django_capture_on_commit_callbacks(execute=True), \
            time_machine.travel(step.due_at - timedelta(days=1), tick=False):
        run_beat_jobs()
        from portal.mail.tasks import outbox_sweep

        outbox_sweep.delay().get()
    request.refresh_from_db()
    assert request.status == "failed"
    assert [m.status for m in messages_to(AUTHORITY_EMAIL)] == ["failed"] * len(messages_to(AUTHORITY_EMAIL))
    assert smtp_server.asked.count(AUTHORITY_EMAIL) == 1
    assert len(officer_told_of_unknown(officer, application)) == 1
    assert AuditEvent.objects.filter(action=AuditAction.STEP_AUTHORITY_ADDRESS_UNKNOWN).count() == 1


def test_a_tag_of_an_authority_address_refused_as_unknown_is_treated_as_refused_too(
    officer, smtp_server, django_capture_on_commit_callbacks
):
    """A "+tag" reaches the mailbox without it: the relay refused director@ as unknown, so a
    request for a decision to director+1@ cannot arrive either. It is not offered to the
    relay, and its officer is told, as for the address itself; the application's page says
    it and no new link can be asked for. (The refusal's record is kept in the address's own
    form, the tag and all: a tag of a refused mailbox was offered, and its officer never
    told.)"""
    from portal.mail.models import UnknownMailbox

    smtp_server.refused.add(AUTHORITY_EMAIL)
    with django_capture_on_commit_callbacks(execute=True):
        application_with_authority(nodal_officer=UserFactory())
    assert UnknownMailbox.objects.filter(mailbox=AUTHORITY_EMAIL).exists()
    asked = len(smtp_server.asked)
    tagged = "director+1@mahaagri.gov.in"
    naming = {**VALID, "competent_authority": {**VALID["competent_authority"], "official_email": tagged}}
    with django_capture_on_commit_callbacks(execute=True):
        application = application_with_authority(nodal_officer=officer, data=naming)
    assert tagged not in smtp_server.asked[asked:]
    assert [m.status for m in messages_to(tagged)] == ["failed"]
    assert len(officer_told_of_unknown(officer, application)) == 1

    client = signed_in(officer)
    page_text = " ".join(client.get(f"/onboarding/{application.pk}/").content.decode().split())
    assert f"The mail server refused the competent authority's address {tagged} on " in page_text
    assert "Send the competent authority a new link" not in page_text
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    response = client.post(f"/onboarding/{application.pk}/resend-link/", follow=True)
    assert (f"The mail server refused {tagged} as an address that does not exist: no new link was sent to "
            "it.") in " ".join(response.content.decode().split())
    assert len(messages_to(tagged)) == 1


def test_an_application_naming_an_address_refused_before_tells_its_officer_at_once(
    officer, smtp_server, django_capture_on_commit_callbacks
):
    """The address was refused as unknown for an earlier application: the officer of a new
    one naming it is told at once, by the refusal of its submission (at the authority's
    address: tests/onboarding/test_drafts.py), while they can still correct the address;
    nothing is sent, to the authority or to the officer, and no step is opened."""
    from portal.mail.models import UnknownMailbox

    now = timezone.now()
    UnknownMailbox.objects.create(mailbox=AUTHORITY_EMAIL, first_refused_at=now, last_refused_at=now,
                                  reply=f"550 5.1.1 <{AUTHORITY_EMAIL}>: Recipient address rejected: User unknown")
    application = filled_application(officer)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as refused:
        services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    assert refused.value.code == "authority_address_unknown"
    assert "as an address that does not exist: nothing was submitted" in refused.value.messages[0]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT and not application.reference
    assert not ApprovalStep.objects.filter(application=application).exists()
    assert smtp_server.asked.count(AUTHORITY_EMAIL) == 0
    assert OutboxMessage.objects.count() == 0


def test_after_the_refusal_is_lifted_the_officer_can_send_a_new_link_and_is_told_again_if_refused(
    officer, smtp_server, django_capture_on_commit_callbacks
):
    """A superadmin lifts the refusal (the authority's office says the mailbox exists now): the
    officer's page no longer says it is refused and offers a new link again; refused once more,
    the officer is told once more."""
    from portal.mail.models import UnknownMailbox
    from portal.mail.services import unknown_mailbox_lift

    smtp_server.refused.add(AUTHORITY_EMAIL)
    with django_capture_on_commit_callbacks(execute=True):
        application = application_with_authority(nodal_officer=officer)
    unknown_mailbox_lift(unknown_mailbox_id=UnknownMailbox.objects.get().pk, actor=make_superadmin())
    client = signed_in(officer)
    page_text = " ".join(client.get(f"/onboarding/{application.pk}/").content.decode().split())
    assert "as an address that does not exist" not in page_text
    assert "Send the competent authority a new link" in page_text
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/onboarding/{application.pk}/resend-link/").status_code == 302
    assert smtp_server.asked.count(AUTHORITY_EMAIL) == 2
    assert len(officer_told_of_unknown(officer, application)) == 2

    smtp_server.refused.clear()  # the mailbox exists now
    unknown_mailbox_lift(unknown_mailbox_id=UnknownMailbox.objects.get().pk, actor=make_superadmin())
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/onboarding/{application.pk}/resend-link/").status_code == 302
    assert [m["To"] for m in smtp_server.messages].count(AUTHORITY_EMAIL) == 1
    assert len(officer_told_of_unknown(officer, application)) == 2


def test_an_officer_asks_for_at_most_a_days_worth_of_new_links(officer, settings):
    """Each new link mails the official address the officer named: a few a day per
    officer, over all their applications, or anyone could make the portal mail an
    official address every 10 minutes. Refused on the application's page, saying when."""
    settings.ONBOARDING_LINK_RESENDS_PER_DAY = 3
    start = datetime(2026, 5, 10, 11, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    with time_machine.travel(start, tick=False):
        first = application_with_authority(nodal_officer=officer)
        second = application_with_authority(nodal_officer=officer)
    sent = len(messages_to(AUTHORITY_EMAIL))
    for minutes, application in [(11, first), (22, second), (33, first)]:
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert signed_in(officer).post(f"/onboarding/{application.pk}/resend-link/").status_code == 302
    assert len(messages_to(AUTHORITY_EMAIL)) == sent + 3
    with time_machine.travel(start + timedelta(hours=5), tick=False):
        response = signed_in(officer).post(f"/onboarding/{second.pk}/resend-link/", follow=True)
    said = " ".join(response.content.decode().split())
    assert response.redirect_chain[-1][0] == f"/onboarding/{second.pk}/"
    assert "You have asked for 3 new links for competent authorities in the last 24 hours" in said
    assert "You can ask for another from 11 May 2026, 11:11" in said
    assert len(messages_to(AUTHORITY_EMAIL)) == sent + 3
    with time_machine.travel(start + timedelta(days=1, minutes=12), tick=False):
        assert signed_in(officer).post(f"/onboarding/{second.pk}/resend-link/").status_code == 302
    assert len(messages_to(AUTHORITY_EMAIL)) == sent + 4


def test_one_authority_mailbox_is_sent_at_most_a_days_worth_of_new_links_whoever_asks(officer, settings):
    """Each new link mails the authority's address: the limits of one officer left many
    officers free to ask for links to the same mailbox (written otherwise by each) without
    end. Its requests for a decision of the last 24 hours, submissions and new links
    together, count against ONBOARDING_AUTHORITY_MAILS_PER_DAY: past it the new link is
    refused on the application's page, saying when; another mailbox has its own count."""
    settings.ONBOARDING_AUTHORITY_MAILS_PER_DAY = 3
    start = datetime(2026, 5, 10, 11, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    other_officer = UserFactory()
    tagged = {**VALID, "competent_authority": {**VALID["competent_authority"], "official_email": "Director+2@MahaAgri.gov.in"}}
    with time_machine.travel(start, tick=False):
        first = application_with_authority(nodal_officer=officer)
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        second = application_with_authority(nodal_officer=other_officer, data=tagged)
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert signed_in(officer).post(f"/onboarding/{first.pk}/resend-link/").status_code == 302
    mails = OutboxMessage.objects.count()
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        response = signed_in(other_officer).post(f"/onboarding/{second.pk}/resend-link/", follow=True)
        said = page(response).squashed_text()
        assert response.redirect_chain[-1][0] == f"/onboarding/{second.pk}/"
        assert ("The portal has sent the competent authority's address 3 requests for a decision in the last 24 "
                "hours, the most one mailbox may receive: no new link was sent. You can ask for one from 11 May 2026, "
                "11:00.") in said
        assert OutboxMessage.objects.count() == mails
        assert AuthorityToken.objects.filter(step__application=second).count() == 1
        # Another authority's mailbox has its own count.
        elsewhere = {**VALID, "competent_authority": {**VALID["competent_authority"], "official_email": "secretary@mahaagri.gov.in"}}
        third = application_with_authority(nodal_officer=other_officer, data=elsewhere)
    with time_machine.travel(start + timedelta(hours=3, minutes=11), tick=False):
        assert signed_in(other_officer).post(f"/onboarding/{third.pk}/resend-link/").status_code == 302
        assert AuthorityToken.objects.filter(step__application=third).count() == 2
    with time_machine.travel(start + timedelta(days=1, seconds=1), tick=False):  # the first request is a day old
        assert signed_in(other_officer).post(f"/onboarding/{second.pk}/resend-link/").status_code == 302
    assert AuthorityToken.objects.filter(step__application=second).count() == 2


# A new link refused when the officer's share of the authority mailbox's day (2 here) is spent.
SHARE_OF_LINKS_REFUSED = (
    "You have sent the competent authority's address 2 requests for a decision in the last 24 hours (from any account "
    "of your mailbox: your address with or without a “+” tag), the most one nodal officer may send one mailbox: no new "
    "link was sent. You can ask for one from 11 May 2026, 11:00.")


def test_an_officers_new_links_take_their_share_of_the_authority_mailboxs_day(officer, settings):
    """New links asked for count against the officer's share of the mailbox's day
    (ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY) with their submissions: past it the new
    link is refused on the application's page, saying that the share is the officer's and
    when they can ask again; another officer naming the mailbox is not refused."""
    settings.ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY = 2
    start = datetime(2026, 5, 10, 11, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    with time_machine.travel(start, tick=False):
        first = application_with_authority(nodal_officer=officer)
    with time_machine.travel(start + timedelta(minutes=11), tick=False):
        assert signed_in(officer).post(f"/onboarding/{first.pk}/resend-link/").status_code == 302
    mails = OutboxMessage.objects.count()
    with time_machine.travel(start + timedelta(minutes=22), tick=False):
        response = signed_in(officer).post(f"/onboarding/{first.pk}/resend-link/", follow=True)
        assert response.redirect_chain[-1][0] == f"/onboarding/{first.pk}/"
        assert SHARE_OF_LINKS_REFUSED in page(response).squashed_text()
        assert OutboxMessage.objects.count() == mails
        other_officer = UserFactory()
        second = application_with_authority(nodal_officer=other_officer)
    with time_machine.travel(start + timedelta(minutes=33), tick=False):
        assert signed_in(other_officer).post(f"/onboarding/{second.pk}/resend-link/").status_code == 302
    assert AuthorityToken.objects.filter(step__application=first).count() == 2
    assert AuthorityToken.objects.filter(step__application=second).count() == 2


def test_accounts_of_one_mailbox_share_one_officers_share_of_an_authority_mailbox(officer, settings):
    """Accounts are kept per address with its "+tag" (normalise_mailbox), so one person signs
    up again as nodal.officer+2@..., each sign-up's code reaching the same mailbox. Each
    account had a share of its own (ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY): one person
    alone could fill the authority mailbox's day and lock every other officer naming it out.
    The share is the mailbox's, as the handover and the decisions compare people; the refusal
    says so. Another person naming that authority is not refused."""
    settings.ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY = 2
    start = datetime(2026, 5, 10, 11, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    with time_machine.travel(start, tick=False):
        first = application_with_authority(nodal_officer=officer)
    with time_machine.travel(start + timedelta(minutes=11), tick=False):
        assert signed_in(officer).post(f"/onboarding/{first.pk}/resend-link/").status_code == 302
    same_mailbox = UserFactory(email="nodal.officer+2@mahaagri.gov.in")
    with time_machine.travel(start + timedelta(minutes=22), tick=False):
        second = application_with_authority(nodal_officer=same_mailbox)
    mails = OutboxMessage.objects.count()
    with time_machine.travel(start + timedelta(minutes=33), tick=False):
        response = signed_in(same_mailbox).post(f"/onboarding/{second.pk}/resend-link/", follow=True)
        assert response.redirect_chain[-1][0] == f"/onboarding/{second.pk}/"
        assert SHARE_OF_LINKS_REFUSED in page(response).squashed_text()
    assert OutboxMessage.objects.count() == mails
    assert AuthorityToken.objects.filter(step__application=second).count() == 1
    other_officer = UserFactory(email="nodal.officer2@mahaagri.gov.in")
    with time_machine.travel(start + timedelta(minutes=33), tick=False):
        third = application_with_authority(nodal_officer=other_officer)
    with time_machine.travel(start + timedelta(minutes=44), tick=False):
        assert signed_in(other_officer).post(f"/onboarding/{third.pk}/resend-link/").status_code == 302
    assert AuthorityToken.objects.filter(step__application=third).count() == 2


def test_accounts_of_one_mailbox_ask_for_one_officers_days_worth_of_new_links(officer, settings):
    """ONBOARDING_LINK_RESENDS_PER_DAY was counted per account: each "+tag" account of one
    mailbox had a day of new links of its own. It counts the person's mailbox, whichever of
    its accounts asked."""
    settings.ONBOARDING_LINK_RESENDS_PER_DAY = 2
    start = datetime(2026, 5, 10, 11, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    same_mailbox = UserFactory(email="nodal.officer+seeds@mahaagri.gov.in")
    with time_machine.travel(start, tick=False):
        first = application_with_authority(nodal_officer=officer)
        second = application_with_authority(nodal_officer=same_mailbox)
    with time_machine.travel(start + timedelta(minutes=11), tick=False):
        assert signed_in(officer).post(f"/onboarding/{first.pk}/resend-link/").status_code == 302
        assert signed_in(same_mailbox).post(f"/onboarding/{second.pk}/resend-link/").status_code == 302
    with time_machine.travel(start + timedelta(minutes=22), tick=False):
        response = signed_in(same_mailbox).post(f"/onboarding/{second.pk}/resend-link/", follow=True)
    assert ("You have asked for 2 new links for competent authorities in the last 24 hours (from any account of your "
            "mailbox: your address with or without a “+” tag), the most the portal accepts: each one emails the "
            "authority. You can ask for another from 11 May 2026, 11:11.") in page(response).squashed_text()
    assert AuthorityToken.objects.filter(step__application=second).count() == 2


def test_another_officer_cannot_see_or_act_on_the_application(officer):
    application = application_with_authority(nodal_officer=officer)
    other = signed_in(UserFactory())
    assert other.get(f"/onboarding/{application.pk}/appeal/").status_code == 404
    assert other.post(f"/onboarding/{application.pk}/resend-link/").status_code == 404
    assert other.get(f"/onboarding/{application.pk}/approval-letter.pdf").status_code == 404


def test_every_kind_of_email_is_in_english_and_hindi(officer, django_capture_on_commit_callbacks):
    """Each template under templates/onboarding/email/ is sent at least once here; every message
    is English, then the application's second language (Hindi; Marathi for Maharashtra, as here),
    with a bilingual subject."""
    from portal.privacy.requests import person_erase

    admin = make_state_admin("MH")
    root = make_superadmin()
    # Withdrawn while with the authority.
    first = submitted_application(officer)
    services.application_withdraw(application_id=first.pk, actor=officer)
    # New link, reminder and escalation of an authority step; return; reject; appeal upheld.
    application = submitted_application(officer)
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    approvals.step_resend_authority_link(application_id=application.pk, actor=officer)
    step = ApprovalStep.objects.get(application=application)
    with time_machine.travel(step.due_at - timedelta(days=1), tick=False):
        run_beat_jobs()
    with time_machine.travel(step.due_at + timedelta(minutes=1), tick=False):
        run_beat_jobs()
    decide_by_link(latest_link()[0], "approve")
    state = state_step(application)
    with time_machine.travel(state.due_at - timedelta(days=1), tick=False):
        run_beat_jobs()
    approvals.step_decide(step_id=state.pk, decision="return", remarks="Fix it.", actor=admin)
    services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    decide_by_link(latest_link()[0], "reject", "No.")
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Yes.", actor=officer)
    approvals.appeal_decide(step_id=appeal.pk, decision="uphold", remarks="Still no.", actor=root)
    # Rejected, and never appealed: final once the appeal period ends.
    lapsed = submitted_application(UserFactory(email="third.officer@mahaagri.gov.in"))
    decide_by_link(latest_link()[0], "reject", "No.")
    with time_machine.travel(timezone.now() + timedelta(days=approval_timings().appeal_window_days + 1), tick=False):
        run_beat_jobs()
    # Withdrawn while with the state administrators.
    pulled = authority_approved(UserFactory(email="fourth.officer@mahaagri.gov.in"))
    services.application_withdraw(application_id=pulled.pk, actor=pulled.nodal_officer)
    # The competent authority's address refused by the mail server as unknown.
    refused = submitted_application(UserFactory(email="fifth.officer@mahaagri.gov.in"))
    approvals.authority_address_unknown_tell(mailboxes=[AUTHORITY_EMAIL])
    # Handed over to another nodal officer: both are told.
    moved = submitted_application(UserFactory(email="seventh.officer@mahaagri.gov.in"))
    application_officer_change(application_id=moved.pk, new_officer=UserFactory(email="eighth.officer@mahaagri.gov.in"),
                               actor=root)
    # Under appeal as its officer's account is erased: the superadmins told it was closed.
    orphaned = submitted_application(UserFactory(email="ninth.officer@mahaagri.gov.in"))
    decide_by_link(latest_link()[0], "reject", "No.")
    approvals.application_appeal(application_id=orphaned.pk, grounds="Yes.", actor=orphaned.nodal_officer)
    person_erase(user_id=orphaned.nodal_officer_id, actor=None)
    # Approved, with its letter; placed under a department, whose admin is told of it twice.
    from tests.verification.helpers import make_admin

    department = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH")
    make_admin(department, email="secretary@mahaagri.gov.in")
    other = approved_by_the_state(authority_approved(UserFactory(email="second.officer@mahaagri.gov.in"),
                                                     placed_under(department)), admin,
                                  django_capture_on_commit_callbacks)

    templates = {p.name[: -len("_subject.txt")] for p in (Path(settings.BASE_DIR) / "templates/onboarding/email").glob("*_subject.txt")}
    expected_subjects = {
        "submitted": "Application {} submitted", "withdrawn": "Application {} withdrawn",
        "authority_request": "Decision needed by {due}: Sandes onboarding application {ref}",
        "authority_reminder": "Reminder: decision needed by {due} on application {ref}",
        "authority_confirmation": "Your decision on application {} was recorded",
        "authority_withdrawn": "Application {} withdrawn: no decision needed",
        "authority_approved": "Application {} approved by the competent authority",
        "returned": "Application {} returned for correction", "rejected": "Application {} rejected",
        "approved": "Application {} approved", "approval_letter": "Approval letter for application {}",
        "appeal_lodged": "Appeal received for application {}", "appeal_assigned": "Appeal to decide: application {}",
        "appeal_upheld": "Appeal decided: rejection of application {} upheld",
        "appeal_closed": "Appeal on application {} closed: no longer waiting for you",
        "state_assigned": "New application in your approval queue: {}",
        "step_reminder": "Reminder: decision due by {due} on application {ref}",
        "step_escalated": "Overdue and escalated: application {}",
        "step_withdrawn": "Application {} withdrawn: no longer waiting for you",
        "rejection_final": "Application {}: rejection final",
        "authority_address_unknown": UNKNOWN_SUBJECT,
        "officer_assigned": "Application {} handed over to you",
        "officer_replaced": "Application {} handed over to another nodal officer",
        "placement_asked": "An office is to be placed under Agriculture Department, Maharashtra: application {}",
        "placement_made": "Directorate of Agriculture, Maharashtra now sits under Agriculture Department, Maharashtra on "
                          "Sandes",
    }
    # The draft erasure reminder, and the reminder and the automatic withdrawal of an
    # application returned for correction and left, are the retention run's, not the
    # routing's: they are sent and decoded in tests/test_feature_mail_over_smtp.py. A
    # decider's list of the steps of one deadline run, or of the steps handed to them at once
    # (several at once: one step is its own mail, above), is sent and decoded in
    # tests/test_every_mail_over_smtp.py. The officer's word that an appeal nobody could decide
    # has gone to a superadmin appointed since is sent and decoded in
    # test_the_officer_is_told_when_a_superadmin_appointed_later_is_given_their_appeal.
    assert set(expected_subjects) == templates - {"retention_draft_reminder", "retention_returned_reminder",
                                                  "withdrawn_not_corrected", "decisions_due", "steps_assigned",
                                                  "appeal_given"}
    mails = list(OutboxMessage.objects.all())
    subjects = [english(m.subject) for m in mails]
    references = [first.reference, application.reference, lapsed.reference, pulled.reference, other.reference,
                  refused.reference, moved.reference, orphaned.reference]
    # The subjects that ask for a decision say by when: the day one of the steps is due (India's).
    dues = {f"{timezone.localtime(step.due_at):%-d %B %Y}" for step in ApprovalStep.objects.all() if step.due_at}
    for template, pattern in expected_subjects.items():
        wanted = [pattern.format(ref=ref, due=due) if "{due}" in pattern else pattern.format(ref)
                  for ref in references for due in dues]
        assert any(s in wanted or any(s.startswith(w + " (") for w in wanted) for s in subjects), template
    for mail in mails:
        english_body, _sep, hindi_body = mail.body.partition("\n----------\n")
        assert english_body.strip() and not DEVANAGARI_RE.search(english_body), mail.subject
        assert DEVANAGARI_RE.search(hindi_body) and DEVANAGARI_RE.search(mail.subject), mail.subject
    # Which goes first (OutboxPriority): the authority's link, that someone waits for; the
    # deadline job's reminders and escalations, mass mail, after any other.
    for mail in mails:
        subject = english(mail.subject)
        wanted = (OutboxPriority.URGENT if subject.startswith("Decision needed") else OutboxPriority.BULK
                  if subject.startswith(("Reminder", "Overdue")) else None)
        assert wanted is None or mail.priority == wanted, subject
    assert {mail.priority for mail in mails} == set(OutboxPriority)


@pytest.mark.parametrize(("role", "new", "who"), [
    ("competent_authority", {"email": "director@mahaagri.gov.in"}, "director@mahaagri.gov.in"),
    # Written before the address moved out of the role: still named.
    ("competent_authority:director@mahaagri.gov.in", {}, "director@mahaagri.gov.in"),
    # Redacted: named by nobody.
    ("competent_authority", {}, ""),
])
def test_the_timeline_names_the_authority_by_the_address_the_event_keeps(role, new, who):
    from onboarding.templatetags.approval_tags import timeline_entry

    event = AuditEvent(action=AuditAction.STEP_DECIDED, actor_role=role, actor_email="", new_values=new)
    assert timeline_entry(event)["who"] == who


@pytest.mark.parametrize(("decision", "what"), [
    ("approve", "Decision recorded: State or central administrators — Approved"),
    ("return", "Decision recorded: State or central administrators — Returned for correction"),
    ("reject", "Decision recorded: State or central administrators — Rejected"),
    ("overturn", "Decision recorded: State or central administrators — Rejection overturned"),
    ("uphold", "Decision recorded: State or central administrators — Rejection upheld"),
])
def test_the_timeline_tells_a_decision_as_what_happened(decision, what):
    """Stored as the action chosen ("approve"), told as its outcome, not as the form's label ("Approve")."""
    from onboarding.templatetags.approval_tags import timeline_entry

    event = AuditEvent(action=AuditAction.STEP_DECIDED, actor_role="state_admin", actor_email="admin@state.gov.in",
                       new_values={"stage": "state", "decision": decision})
    assert timeline_entry(event)["what"] == what


def test_an_authority_named_in_a_correction_is_the_one_the_letter_is_copied_to(
        officer, django_capture_on_commit_callbacks):
    """The state returns the application to name another competent authority; the new one
    rejects and the rejection is overturned on appeal. The new authority saw no earlier
    version (their mail and page say nothing of "what changed"), and the approval letter
    is copied to them, not to the authority the officer replaced."""
    new_authority = "secretary@mahaagri.gov.in"
    admin, root = make_state_admin("MH"), make_superadmin()
    application = submitted_application(officer)
    Client().post(latest_link(AUTHORITY_EMAIL)[0], {"decision": "approve", "confirm": "on"})
    approvals.step_decide(step_id=state_step(application).pk, decision="return", remarks="Wrong authority.", actor=admin)
    services.application_save_section(
        application_id=application.pk, section="competent_authority", actor=officer,
        querydict=as_querydict({**VALID["competent_authority"], "name": "Ravi Kale", "official_email": new_authority}))
    services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    [asked] = messages_to(new_authority)
    assert "what changed since the version you last saw" not in asked.body
    client = Client()
    page = client.get(latest_link(new_authority)[0], follow=True).content.decode()
    assert "What changed since the version you saw" not in page
    client.post("/onboarding/review/", {"decision": "reject", "remarks": "Not a department.", "confirm": "on"})
    appeal = approvals.application_appeal(application_id=application.pk, grounds="It is one.", actor=officer)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.appeal_decide(step_id=appeal.pk, decision="overturn", actor=root)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    [letter] = [m for m in OutboxMessage.objects.order_by("id") if m.subject.startswith("Approval letter")]
    assert new_authority in letter.to and AUTHORITY_EMAIL not in letter.to


@pytest.mark.parametrize("kind", [SuffixKind.CONTRACTOR, SuffixKind.CONSUMER])
def test_the_letter_is_not_copied_to_an_authority_address_no_longer_official(officer, kind,
                                                                             django_capture_on_commit_callbacks):
    """The authority approved; before the state's final approval its domain is made a
    contractor's or a personal mail service. The letter, with the organisation's details,
    goes to the officer alone: no link nor reminder goes to such an address, nor does it."""
    authority = "secretary@agri.maharashtra.gov.in"
    data = {**VALID, "competent_authority": {**VALID["competent_authority"], "official_email": authority}}
    admin = make_state_admin("MH")
    application = authority_approved(officer, data)
    EmailSuffixRule.objects.create(suffix="agri.maharashtra.gov.in", kind=kind, note="reclassified")
    sent = len(messages_to(authority))
    with django_capture_on_commit_callbacks(execute=True):
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=admin)
    [letter] = [m for m in OutboxMessage.objects.order_by("id") if m.subject.startswith("Approval letter")]
    assert letter.to == [officer.email]
    assert len(messages_to(authority)) == sent


def test_a_withdrawal_is_not_mailed_to_an_authority_address_no_longer_official(officer):
    """The application waits on an authority whose domain was made a personal mail service
    since: the officer's page says to withdraw it, and the withdrawal mails that address
    nothing (nothing went to it since); an authority who can still decide is told."""
    authority = "secretary@agri.maharashtra.gov.in"
    data = {**VALID, "competent_authority": {**VALID["competent_authority"], "official_email": authority}}
    application = submitted_application(officer, data)
    EmailSuffixRule.objects.create(suffix="agri.maharashtra.gov.in", kind=SuffixKind.CONSUMER, note="reclassified")
    sent = len(messages_to(authority))
    services.application_withdraw(application_id=application.pk, actor=officer)
    assert len(messages_to(authority)) == sent
    told = submitted_application(officer)
    services.application_withdraw(application_id=told.pk, actor=officer)
    assert any("withdrawn" in m.subject for m in messages_to(AUTHORITY_EMAIL))


def test_a_new_application_in_the_queue_is_told_to_those_who_may_decide_it(officer):
    """The nodal officer is also Maharashtra's state administrator: nobody decides on their
    own application, so the mail goes to the superadmins, who can, not to them alone."""
    PlatformRoleFactory(user=officer, role="state_admin", jurisdiction="MH")
    root = make_superadmin()
    application = application_with_state(nodal_officer=officer)
    [assigned] = [m for m in OutboxMessage.objects.all() if m.subject.startswith("New application in your approval queue")]
    assert assigned.to == [root.email]
    with pytest.raises(ValidationError):
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=root)


def nobody_may_decide_said(client, application):
    html = client.get(f"/onboarding/{application.pk}/").content.decode()
    return "waits for an administrator to be appointed" in html


def test_a_state_step_nobody_may_decide_is_shown_and_reaches_the_first_administrator_appointed(officer):
    """Maharashtra has no state administrator and the only superadmin is the nodal officer,
    who may not decide their own application: nobody may decide the state step. It is
    not left silent: the step says so, the officer's page says it waits for an
    administrator to be appointed, and the superadmins' monitoring lists it. Once a state
    administrator is appointed, the next sweep tells them it waits on them, and the
    officer's page no longer says so."""
    PlatformRoleFactory(user=officer, role="superadmin", jurisdiction="")
    with_totp(officer)
    application = application_with_state(nodal_officer=officer)
    assert not [m for m in OutboxMessage.objects.all() if m.subject.startswith("New application in your approval queue")]
    client = signed_in(officer)
    assert nobody_may_decide_said(client, application)
    monitoring = client.get("/monitoring/").content.decode()
    assert "Waiting for an administrator to be appointed" in monitoring and application.reference in monitoring
    assert state_step(application).nobody_may_decide_since is not None

    assert undecided_steps_assign() == 0  # still nobody
    admin = make_state_admin("MH")
    # Until the job runs the step keeps its mark: the administrator just appointed, who may
    # decide it, is not told on its page that nobody may (only the officer is).
    assert not nobody_may_decide_said(signed_in(admin), application)
    assert settings.CELERY_BEAT_SCHEDULE["undecided-steps-assign"]["task"] == undecided_steps_assign_task.name
    assert undecided_steps_assign_task.delay().get() == {"assigned": 1}  # the beat job, in-process in tests
    [assigned] = [m for m in messages_to(admin.email) if m.subject.startswith("New application in your approval queue")]
    assert assigned.to == [admin.email]
    assert state_step(application).nobody_may_decide_since is None
    assert not nobody_may_decide_said(client, application)
    assert "Waiting for an administrator to be appointed" not in client.get("/monitoring/").content.decode()
    assert undecided_steps_assign() == 0  # told once


def test_steps_nobody_may_decide_still_keep_no_later_one_from_its_new_decider():
    """Two Maharashtra steps nobody may decide still come first by id: a run of at most
    two steps reads past them to the Karnataka one, whose administrator was appointed."""
    now = timezone.now()
    for _n in range(2):
        ApprovalStepFactory(application=ApplicationFactory(jurisdiction="MH"), stage="state",
                            nobody_may_decide_since=now)
    karnataka = ApprovalStepFactory(application=ApplicationFactory(jurisdiction="KA"), stage="state",
                                    nobody_may_decide_since=now)
    make_state_admin("KA")
    assert undecided_steps_assign(limit=2) == 1
    karnataka.refresh_from_db()
    assert karnataka.nobody_may_decide_since is None
    assert ApprovalStep.objects.filter(nobody_may_decide_since__isnull=False).count() == 2


# Queries of undecided_steps_assign that tells steps, however many: savepoint, the locked
# steps, deciders_to_tell (five), the approval timings (their new due date), the steps' update, the audit rows (savepoint, chain lock,
# chain head, the rows, the head's update, release), the deciders' accounts and languages
# (two: the one chosen on the account, then the one last asked to be verified in; their one
# mail is in their language, as the deadline sweep's), the outbox rows, release.
ASSIGN_QUERIES = 20


def test_an_administrator_appointed_after_the_due_date_gets_a_fresh_one(officer, django_assert_num_queries):
    """Nobody could decide the state step until well after it was due (reminded and
    escalated to nobody). The administrator appointed then is not asked to decide "by" a
    date long gone: the step is due the state stage's days from the day it reached them
    (as if it opened then), and the mail, the step (the queue, the dashboards) and the
    reminder before it name that one date. As many queries for one step as for three."""
    application = application_with_state(nodal_officer=officer)  # no MH admin, no superadmin
    step = state_step(application)
    assert step.nobody_may_decide_since is not None
    with time_machine.travel(step.due_at - timedelta(days=1), tick=False):
        assert deadline_sweep()["reminded"] == 1  # to nobody
    with time_machine.travel(step.due_at + timedelta(hours=1), tick=False):
        assert deadline_sweep()["escalated"] == 1  # to nobody
    others = [application_with_state(nodal_officer=UserFactory(email=f"officer{n}@mahaagri.gov.in")) for n in (1, 2)]
    later = step.due_at + timedelta(days=10)
    with time_machine.travel(later, tick=False):
        admin = make_state_admin("MH")
        with django_assert_num_queries(ASSIGN_QUERIES):
            assert undecided_steps_assign(limit=1) == 1
        with django_assert_num_queries(ASSIGN_QUERIES):
            assert undecided_steps_assign() == len(others)
    fresh = end_of_local_day(later, approval_timings().state_due_days)
    step.refresh_from_db()
    assert step.due_at == fresh and not step.is_overdue(later)
    assert step.reminded_at is None and step.escalated_at is None  # reminded and escalated again, by the new date
    assert all(state_step(other).due_at == fresh for other in others)
    # The new date is on the record, with the one it replaced and whom the step reached.
    assigned = AuditEvent.objects.filter(action=AuditAction.STEP_ASSIGNED, target_id=str(application.pk)).get()
    assert assigned.actor_role == "system"
    assert assigned.old_values == {"step": step.pk, "due_at": str(later - timedelta(days=10))}
    assert assigned.new_values == {"step": step.pk, "stage": "state", "due_at": str(fresh), "to": [admin.email]}
    assert AuditEvent.objects.filter(action=AuditAction.STEP_ASSIGNED).count() == 3
    [mail] = [m for m in messages_to(admin.email)
              if m.subject.startswith("New application in your approval queue") and application.reference in m.subject]
    english_body = mail.body.split("----------")[0]
    assert f"by {date_format(timezone.localtime(fresh), 'j F Y')}" in english_body, english_body
    assert date_format(timezone.localtime(fresh - timedelta(days=10)), "j F Y") not in english_body
    with time_machine.travel(fresh - timedelta(days=1), tick=False):
        assert deadline_sweep()["reminded"] == 3
    [reminder] = [m for m in messages_to(admin.email) if "Reminder" in m.subject]  # the three steps, in one mail
    line = next(line for line in reminder.body.splitlines() if application.reference in line)
    assert f"due {date_format(timezone.localtime(fresh), 'j F Y')}:" in line, line


def test_an_appeal_nobody_may_decide_is_shown_to_the_officer(officer):
    """The only superadmin rejected the application at the state level: they may not hear
    the appeal, and no other superadmin may. The officer's page says the appeal waits for
    an administrator to be appointed."""
    root = make_superadmin()
    application = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="No.", actor=root)
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Yes.", actor=officer)
    assert not [m for m in OutboxMessage.objects.all() if m.subject.startswith("Appeal to decide")]
    assert nobody_may_decide_said(signed_in(officer), application)
    assert ApprovalStep.objects.get(pk=appeal.pk).nobody_may_decide_since is not None
    other = make_superadmin()
    assert undecided_steps_assign() == 1
    [assigned] = [m for m in messages_to(other.email) if m.subject.startswith("Appeal to decide")]
    assert assigned.to == [other.email]


def test_the_officer_is_told_when_a_superadmin_appointed_later_is_given_their_appeal(
        officer, smtp_server, django_capture_on_commit_callbacks):
    """The receipt said no superadmin could decide the appeal and that it waits for one to
    be appointed. When the job gives it to one appointed since, the officer is told, as
    delivered: to whom it went and by when it is now due (the due date the job gave it),
    in English and in Marathi, once."""
    root = make_superadmin()
    application = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="No.", actor=root)
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Yes.", actor=officer)
    make_superadmin()
    received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, undecided_steps_assign)
    [(_raw, mail)] = [(raw, m) for raw, m in received if m["To"].addresses[0].addr_spec == officer.email]
    assert str(mail["Subject"]).startswith(f"Your appeal on application {application.reference} is now with a superadmin")
    english_body, _sep, marathi_body = text_of(mail).partition("\n----------\n")
    due = date_format(timezone.localtime(ApprovalStep.objects.get(pk=appeal.pk).due_at), "j F Y")
    assert (f"No superadmin could decide your appeal against the rejection of application {application.reference} "
            "until now. It has gone to the superadmin appointed since, who took no part in your application and is "
            f"asked to decide by {due}.") in " ".join(english_body.split()), english_body
    assert "सुपरॲडमिन" in marathi_body and "superadmin" not in marathi_body, marathi_body
    assert send_and_receive(smtp_server, django_capture_on_commit_callbacks, undecided_steps_assign) == []


def test_the_officer_is_not_told_of_a_state_step_given_to_an_administrator_appointed_later(officer):
    """A state step given to an administrator appointed since is the deciders' business (the
    officer's page follows it): only an appeal's officer, told at lodging that it waits, is told."""
    application = application_with_state(nodal_officer=officer)
    before = len(messages_to(officer.email))
    make_state_admin("MH")
    assert undecided_steps_assign() == 1
    assert len(messages_to(officer.email)) == before and application.reference


def _appeal_receipt(officer, application):
    [receipt] = [m for m in messages_to(officer.email) if english(m.subject).startswith("Appeal received")]
    return receipt.body.split("----------")


def test_the_appeal_receipt_says_no_superadmin_may_decide_when_none_may(officer):
    """The only superadmin rejected the application at the state level: nobody may decide
    the appeal. The officer's receipt does not say the superadmins are asked to decide by a
    date: it says none may, why, and that it waits for a superadmin to be appointed (who
    gets a due date of their own then), in English and in Marathi."""
    root = make_superadmin()
    application = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="No.", actor=root)
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Yes.", actor=officer)
    english_body, marathi_body = _appeal_receipt(officer, application)
    assert "No superadmin may decide it now" in english_body, english_body
    assert "appointed as superadmin" in english_body
    assert "asked to decide by" not in english_body
    assert date_format(timezone.localtime(appeal.due_at), "j F Y") not in english_body
    assert "कोणताही सुपरॲडमिन" in marathi_body and "No superadmin" not in marathi_body, marathi_body


def test_the_appeal_receipt_says_who_is_asked_to_decide(officer):
    """Two superadmins, one of whom rejected the application: the appeal goes to the other
    alone, and the officer's receipt says so (one superadmin who took no part in it, by the
    appeal's due date), in English and in Marathi."""
    rejecting = make_superadmin()
    other = make_superadmin()
    application = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="No.", actor=rejecting)
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Yes.", actor=officer)
    assert [m.to for m in OutboxMessage.objects.all() if m.subject.startswith("Appeal to decide")] == [[other.email]]
    english_body, marathi_body = _appeal_receipt(officer, application)
    due = date_format(timezone.localtime(appeal.due_at), "j F Y")
    assert f"It has gone to the superadmin who took no part in your application, who is asked to decide by {due}." \
        in " ".join(english_body.split()), english_body
    assert "No superadmin" not in english_body
    make_superadmin()
    application2 = application_with_state(nodal_officer=UserFactory(email="officer2@mahaagri.gov.in"))
    approvals.step_decide(step_id=state_step(application2).pk, decision="reject", remarks="No.", actor=rejecting)
    approvals.application_appeal(application_id=application2.pk, grounds="Yes.", actor=application2.nodal_officer)
    english_body, marathi_body = _appeal_receipt(application2.nodal_officer, application2)
    assert "It has gone to the 2 superadmins who took no part in your application" in " ".join(english_body.split())
    assert "2 सुपरॲडमिन" in marathi_body, marathi_body


def test_a_state_step_whose_only_administrator_left_is_flagged_at_its_reminder(officer):
    """Told to Maharashtra's only state administrator when it opened; their role ended
    since: its reminder finds nobody who may decide it, and the step says so."""
    PlatformRoleFactory(user=officer, role="superadmin", jurisdiction="")
    admin = make_state_admin("MH")
    application = application_with_state(nodal_officer=officer)
    assert state_step(application).nobody_may_decide_since is None
    PlatformRoleGrant.objects.filter(user=admin).delete()
    with time_machine.travel(state_step(application).due_at - timedelta(days=1), tick=False):
        assert deadline_sweep()["reminded"] == 1
    assert state_step(application).nobody_may_decide_since is not None


def _told_of_queue(address, application):
    return [m for m in messages_to(address)
            if m.subject.startswith("New application in your approval queue") and application.reference in m.subject]


def test_when_the_last_state_admin_leaves_the_superadmins_who_now_decide_are_told_at_once(officer):
    """Maharashtra's only state administrator was told the application waits on them, and is
    transferred: their role is revoked. The step now waits on the superadmins, who are told at
    once, as when a step opens (due the state stage's days from today), the audit log saying
    to whom; not days later by the reminder. A state administrator who leaves others behind
    passes the step to nobody new: nobody else is told."""
    leaving = make_state_admin("MH", email="secretary.it@maharashtra.gov.in")
    staying = make_state_admin("MH", email="deputy.it@maharashtra.gov.in")
    root = make_superadmin(email="root@sandes.nic.in")
    application = application_with_state(nodal_officer=officer)
    assert _told_of_queue(leaving.email, application) and _told_of_queue(staying.email, application)
    platform_role_revoke(grant_id=PlatformRoleGrant.objects.get(user=staying).pk, actor=root, reason="Transferred")
    assert not _told_of_queue(root.email, application)
    assert not AuditEvent.objects.filter(action=AuditAction.STEP_ASSIGNED).exists()

    later = timezone.now() + timedelta(days=3)
    with time_machine.travel(later, tick=False):
        platform_role_revoke(grant_id=PlatformRoleGrant.objects.get(user=leaving).pk, actor=root, reason="Transferred")
    [told] = _told_of_queue(root.email, application)
    assert told.to == [root.email]
    step = state_step(application)
    fresh = end_of_local_day(later, approval_timings().state_due_days)
    assert (step.due_at, step.nobody_may_decide_since) == (fresh, None)
    assigned = AuditEvent.objects.get(action=AuditAction.STEP_ASSIGNED, target_id=str(application.pk))
    assert assigned.new_values == {"step": step.pk, "stage": "state", "due_at": str(fresh), "to": [root.email]}
    assert audit_verify() == []


def test_when_the_last_state_admins_role_runs_out_the_superadmins_are_told_when_it_is_recorded(officer):
    """The only state administrator's role had an end date: it stopped counting then, and the
    job that records the roles past their end date tells the superadmins who now decide the
    step (once: run again, it tells nobody)."""
    from portal.organisations.services import role_expiries_record

    admin = make_state_admin("MH")
    PlatformRoleGrant.objects.filter(user=admin).update(ends_at=timezone.now() + timedelta(days=1))
    root = make_superadmin(email="root@sandes.nic.in")
    application = application_with_state(nodal_officer=officer)
    assert not _told_of_queue(root.email, application)
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=10), tick=False):
        assert role_expiries_record()["platform_roles"] == 1
        assert role_expiries_record()["platform_roles"] == 0
    [told] = _told_of_queue(root.email, application)
    assert told.to == [root.email]
    assert AuditEvent.objects.filter(action=AuditAction.STEP_ASSIGNED).count() == 1


def test_state_admins_whose_roles_run_out_together_hand_the_step_to_the_superadmins_once(officer):
    """Two of Maharashtra's state administrators were appointed for the same term (the same
    end date); a third's role, and Karnataka's administrator's, ended hours earlier, while
    the job was not running. Recorded together, their roles hand Maharashtra's step to the
    superadmins once (one mail, one STEP_ASSIGNED, one new due date), not once per role."""
    from portal.organisations.tasks import role_expiries_record

    first = make_state_admin("MH", email="secretary.it@maharashtra.gov.in")
    second = make_state_admin("MH", email="deputy.it@maharashtra.gov.in")
    earlier = make_state_admin("MH", email="joint.it@maharashtra.gov.in")
    elsewhere = make_state_admin("KA", email="secretary.it@karnataka.gov.in")
    end = timezone.now() + timedelta(days=1)
    PlatformRoleGrant.objects.filter(user__in=[first, second]).update(ends_at=end)
    PlatformRoleGrant.objects.filter(user__in=[earlier, elsewhere]).update(ends_at=end - timedelta(hours=5))
    root = make_superadmin(email="root@sandes.nic.in")
    application = application_with_state(nodal_officer=officer)
    assert not _told_of_queue(root.email, application)
    with time_machine.travel(end + timedelta(minutes=10), tick=False):
        assert role_expiries_record.apply().get()["platform_roles"] == 4
    [told] = _told_of_queue(root.email, application)
    assert told.to == [root.email]
    [assigned] = AuditEvent.objects.filter(action=AuditAction.STEP_ASSIGNED, target_id=str(application.pk))
    assert assigned.new_values["to"] == [root.email]
    assert AuditEvent.objects.filter(action=AuditAction.PLATFORM_ROLE_EXPIRED).count() == 4


def _two_state_admins_ending_together(officer):
    """Maharashtra's two state administrators, whose roles end at the same moment (a day from
    now), a superadmin, and an application waiting at the state step."""
    first = make_state_admin("MH", email="secretary.it@maharashtra.gov.in")
    second = make_state_admin("MH", email="deputy.it@maharashtra.gov.in")
    end = timezone.now() + timedelta(days=1)
    PlatformRoleGrant.objects.filter(user__in=[first, second]).update(ends_at=end)
    root = make_superadmin(email="root@sandes.nic.in")
    return first, second, end, root, application_with_state(nodal_officer=officer)


def test_state_admins_whose_roles_ran_out_together_recorded_over_two_runs_hand_the_step_on_once(officer):
    """Two of Maharashtra's state administrators' roles ended at the same moment, but the job
    recorded them over two runs (a run records at most ``limit``; a grant locked elsewhere is
    skipped until the next). The first run handed the step to the superadmins; the second,
    recording a role that had stopped counting before the step was handed on, tells nobody
    again (one mail, one STEP_ASSIGNED, one new due date)."""
    from portal.organisations.services import role_expiries_record

    first, _second, end, root, application = _two_state_admins_ending_together(officer)
    with time_machine.travel(end + timedelta(minutes=10), tick=False):
        assert role_expiries_record(limit=1)["platform_roles"] == 1
    due = state_step(application).due_at
    with time_machine.travel(end + timedelta(minutes=25), tick=False):
        assert role_expiries_record(limit=1)["platform_roles"] == 1
    [told] = _told_of_queue(root.email, application)
    assert told.to == [root.email]
    assert AuditEvent.objects.filter(action=AuditAction.STEP_ASSIGNED).count() == 1
    assert state_step(application).due_at == due


def test_a_run_recording_a_role_while_another_hands_the_step_on_tells_nobody_again(officer):
    """Two runs of the expiry job at once, each recording one of two roles that ended at the
    same moment: the first read whom the step was told of, then the second handed the step
    to the superadmins and committed before the first told anyone. The first, told after,
    finds the step handed on since it read it (to those who decide it with both roles ended)
    and tells nobody again."""
    from portal.organisations.services import role_expiries_record

    first, _second, end, root, application = _two_state_admins_ending_together(officer)
    with time_machine.travel(end + timedelta(minutes=10), tick=False):
        tell = steps_deciders_watch(endings=[RoleEnding("state_admin", "MH", first.pk, end)])
        assert role_expiries_record()["platform_roles"] == 2
        assert tell() == 0
    [told] = _told_of_queue(root.email, application)
    assert told.to == [root.email]
    assert AuditEvent.objects.filter(action=AuditAction.STEP_ASSIGNED).count() == 1


def waiting_for_the_state(count, jurisdiction="MH", **fields):
    """``count`` applications of ``jurisdiction`` waiting at the state level, each with its open step."""
    return [ApprovalStepFactory(application=ApplicationFactory(jurisdiction=jurisdiction, status="with_state",
                                                               organisation_name=f"District Office {n}"),
                                stage="state", **fields) for n in range(count)]


def delivered_to(received, address):
    return [message for _raw, message in received if address in [a.addr_spec for a in message["To"].addresses]]


def assert_lists_each_step(body, steps, due):
    """The English half of a decider's list names each step once, with the day it is due and
    its own page's absolute link."""
    english_half = body.partition("\n----------\n")[0]
    for step in steps:
        link = f"{settings.SITE_URL}/onboarding/{'appeals' if step.stage == 'appeal' else 'queue'}/{step.pk}/"
        assert english_half.count(step.application.reference) == 1, english_half
        line = next(line for line in english_half.splitlines() if step.application.reference in line)
        assert line == (f"- {step.application.reference}, {step.application.organisation_name} "
                        f"({step.get_stage_display()}), due {date_format(timezone.localtime(due), 'j F Y')}: {link}"), line
        resolve(urlsplit(link).path)
    return english_half


@pytest.mark.parametrize("ending", ["revoked", "expired"])
def test_the_steps_the_last_state_admin_leaves_reach_each_superadmin_in_one_mail_listing_them(
        ending, smtp_server, django_capture_on_commit_callbacks):
    """Maharashtra's only state administrator leaves (their role revoked, or run out and
    recorded by the job) with six applications waiting: each superadmin, who decides them
    now, was sent six "New application in your approval queue" mails, one per application,
    from that one change (as many as the state's queue holds). As the deadline sweep does,
    each now gets one mail listing them, in English and the applications' language, each
    application with its own link; every step is still audited to whom it went."""
    from portal.organisations.services import role_expiries_record

    leaving = make_state_admin("MH", email="secretary.it@maharashtra.gov.in", totp=False)
    roots = [make_superadmin(email="root@sandes.nic.in", totp=False),
             make_superadmin(email="second.root@nic.in", totp=False)]
    steps = waiting_for_the_state(6)
    grant = PlatformRoleGrant.objects.get(user=leaving)
    now = timezone.now()
    if ending == "revoked":
        def end():
            return platform_role_revoke(grant_id=grant.pk, actor=roots[0], reason="Transferred")
    else:
        PlatformRoleGrant.objects.filter(pk=grant.pk).update(ends_at=now + timedelta(hours=1))
        now += timedelta(hours=1, minutes=10)

        def end():
            assert role_expiries_record()["platform_roles"] == 1
    with time_machine.travel(now, tick=False):
        received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, end)
    for root in roots:
        assert len(delivered_to(received, root.email)) == 1, [str(m["Subject"]) for m in delivered_to(received, root.email)]
    [message] = delivered_to(received, roots[0].email)
    assert sorted(a.addr_spec for a in message["To"].addresses) == sorted(root.email for root in roots)
    english_subject, _sep, marathi_subject = str(message["Subject"]).partition(" / ")
    assert english_subject == "Now waiting for your decision: 6 applications"
    assert marathi_subject == "आता तुमच्या निर्णयासाठी प्रलंबित: 6 अर्ज"
    fresh = end_of_local_day(now, approval_timings().state_due_days)
    english_half = assert_lists_each_step(text_of(message), steps, fresh)
    assert "These applications are now waiting for your decision" in english_half
    assert DEVANAGARI_RE.search(text_of(message).partition("\n----------\n")[2])
    told = {event.new_values["step"]: event.new_values["to"]
            for event in AuditEvent.objects.filter(action=AuditAction.STEP_ASSIGNED)}
    assert told == {step.pk: sorted(root.email for root in roots) for step in steps}
    assert audit_verify() == []


def test_an_administrator_appointed_for_steps_nobody_could_decide_gets_one_mail_listing_them(
        smtp_server, django_capture_on_commit_callbacks):
    """Six applications wait in Maharashtra's queue with nobody who may decide them, and an
    appeal with no superadmin to hear it. A state administrator is appointed: the job that
    tells them sent one "New application in your approval queue" mail per application; it
    now sends one listing the six. The appeal is theirs to decide no more than before;
    the superadmin appointed next is sent the appeal's own mail, as one step is."""
    since = timezone.now() - timedelta(days=3)
    steps = waiting_for_the_state(6, nobody_may_decide_since=since)
    appealed = ApplicationFactory(jurisdiction="MH", status="under_appeal", organisation_name="Appealing Office")
    appeal = ApprovalStepFactory(application=appealed, stage="appeal", jurisdiction="MH", grounds="Yes.",
                                 nobody_may_decide_since=since)
    admin = make_state_admin("MH", email="new.secretary@maharashtra.gov.in", totp=False)
    received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, undecided_steps_assign)
    [message] = delivered_to(received, admin.email)
    assert [a.addr_spec for a in message["To"].addresses] == [admin.email]
    assert str(message["Subject"]) == "Now waiting for your decision: 6 applications / आता तुमच्या निर्णयासाठी प्रलंबित: 6 अर्ज"
    english_half = assert_lists_each_step(text_of(message), steps,
                                          end_of_local_day(timezone.now(), approval_timings().state_due_days))
    assert appealed.reference not in english_half
    assert len(received) == 1

    root = make_superadmin(email="root@sandes.nic.in", totp=False)
    received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, undecided_steps_assign)
    [told] = delivered_to(received, root.email)
    # And the appeal's nodal officer, that it has gone to a superadmin (nobody else).
    [officers] = delivered_to(received, appealed.nodal_officer.email)
    assert str(officers["Subject"]).startswith(f"Your appeal on application {appealed.reference} is now with")
    assert len(received) == 2
    assert [a.addr_spec for a in told["To"].addresses] == [root.email]
    assert str(told["Subject"]).startswith(f"Appeal to decide: application {appealed.reference} / ")
    assert f"{settings.SITE_URL}/onboarding/appeals/{appeal.pk}/" in text_of(told)


def test_a_list_of_steps_handed_on_shows_the_most_urgent_and_counts_the_rest_where_they_wait(
        monkeypatch, smtp_server, django_capture_on_commit_callbacks):
    """A list of the steps handed to a decider is bounded as the deadline sweep's is: the
    DECISIONS_LISTED (four here) due first, each with its own link; the rest counted, with
    the link of the list that holds them (the approval queue, the appeals)."""
    from onboarding.approval import decider_mails

    monkeypatch.setattr(decider_mails, "DECISIONS_LISTED", 4)
    since = timezone.now() - timedelta(days=3)
    steps = waiting_for_the_state(5, nobody_may_decide_since=since)
    for _n in range(2):
        ApprovalStepFactory(application=ApplicationFactory(jurisdiction="KA", status="under_appeal"), stage="appeal",
                            grounds="Yes.", nobody_may_decide_since=since)
    root = make_superadmin(email="root@sandes.nic.in", totp=False)
    received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, undecided_steps_assign)
    [message] = delivered_to(received, root.email)
    assert len(received) == 3  # and each appeal's nodal officer, told it has gone to a superadmin
    # Applications of Maharashtra and Karnataka: Hindi, the second language they do not share.
    assert str(message["Subject"]) == "Now waiting for your decision: 7 applications / अब आपके निर्णय की प्रतीक्षा में: 7 आवेदन"
    english_half = assert_lists_each_step(text_of(message), steps[:4],
                                          end_of_local_day(timezone.now(), approval_timings().state_due_days))
    assert steps[4].application.reference not in english_half
    assert english_half.rstrip().endswith(
        f"… and 1 more, in your approval queue: {settings.SITE_URL}/onboarding/queue/\n"
        f"… and 2 more, in the appeals: {settings.SITE_URL}/onboarding/appeals/"), english_half
    assert [a.addr_spec for a in message["To"].addresses] == [root.email]


def test_a_state_admin_whose_auditor_role_of_another_state_ends_is_told_of_the_steps_they_now_decide(officer):
    """Maharashtra's state administrator also audits Karnataka: an auditor decides nothing,
    whatever the auditor role's jurisdiction, so Maharashtra's step went to the superadmins.
    The auditor role ends: they decide Maharashtra's step again and are told of it at once,
    as the superadmins are when the last state administrator leaves."""
    admin = make_state_admin("MH", email="secretary.it@maharashtra.gov.in")
    auditing = PlatformRoleFactory(user=admin, role="auditor", jurisdiction="KA")
    root = make_superadmin(email="root@sandes.nic.in")
    application = application_with_state(nodal_officer=officer)
    assert not _told_of_queue(admin.email, application)
    assert _told_of_queue(root.email, application)
    platform_role_revoke(grant_id=auditing.pk, actor=root, reason="Audit done")
    [told] = _told_of_queue(admin.email, application)
    assert told.to == [admin.email]
    assigned = AuditEvent.objects.get(action=AuditAction.STEP_ASSIGNED, target_id=str(application.pk))
    assert assigned.new_values["to"] == [admin.email]


def test_the_end_of_an_auditor_role_watches_the_steps_its_holder_administers_in_one_query(
        officer, django_assert_num_queries):
    """What the end of an auditor's role watches is the open state steps of the
    jurisdictions its holder administers (whatever the auditor role's own), read in one
    query as for any other role: nothing for an auditor who administers nothing, and
    whom the steps are told of read as for a state administrator's role."""
    admin = make_state_admin("MH", email="secretary.it@maharashtra.gov.in")
    PlatformRoleFactory(user=admin, role="auditor", jurisdiction="KA")
    application_with_state(nodal_officer=officer)
    only_auditing = PlatformRoleFactory(role="auditor", jurisdiction="MH").user
    with django_assert_num_queries(1):
        assert steps_deciders_watch(endings=[RoleEnding("auditor", "MH", only_auditing.pk)]) is None
    with CaptureQueriesContext(connection) as as_state_admin:
        assert steps_deciders_watch(endings=[RoleEnding("state_admin", "MH", admin.pk)]) is not None
    with django_assert_num_queries(len(as_state_admin)):  # the steps, then whom each is told of
        assert steps_deciders_watch(endings=[RoleEnding("auditor", "KA", admin.pk)]) is not None


def test_roles_that_stood_until_the_same_moment_are_watched_in_the_queries_of_one(officer, django_assert_num_queries):
    """Maharashtra's administrators appointed for the same term end together: whom the
    state's steps were told of is read once for them all, in as many queries as for one
    role; a role that stood until another moment asks its two more (its administrators,
    its superadmins)."""
    end = timezone.now() + timedelta(days=1)
    admins = [make_state_admin("MH") for _n in range(3)]
    application_with_state(nodal_officer=officer)
    with CaptureQueriesContext(connection) as one:
        assert steps_deciders_watch(endings=[RoleEnding("state_admin", "MH", admins[0].pk, end)]) is not None
    with django_assert_num_queries(len(one)):
        assert steps_deciders_watch(endings=[RoleEnding("state_admin", "MH", admin.pk, end) for admin in admins])
    with django_assert_num_queries(len(one) + 2):
        assert steps_deciders_watch(endings=[RoleEnding("state_admin", "MH", admins[0].pk, end),
                                             RoleEnding("state_admin", "MH", admins[1].pk, end - timedelta(hours=1))])


def test_when_the_last_superadmin_who_may_hear_an_appeal_leaves_the_appeal_says_nobody_may(officer):
    """Two superadmins: one rejected the application (at the state level, Maharashtra having
    no administrator), so only the other may hear the appeal. Their role is revoked: nobody
    may decide the appeal now, and it says so at once (the officer's page, the monitoring),
    until a superadmin is appointed."""
    rejecting, hearing = make_superadmin(email="root@sandes.nic.in"), make_superadmin(email="second@sandes.nic.in")
    application = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="No.", actor=rejecting)
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Yes.", actor=officer)
    assert ApprovalStep.objects.get(pk=appeal.pk).nobody_may_decide_since is None
    platform_role_revoke(grant_id=PlatformRoleGrant.objects.get(user=hearing).pk, actor=rejecting, reason="Left")
    assert ApprovalStep.objects.get(pk=appeal.pk).nobody_may_decide_since is not None
    assert nobody_may_decide_said(signed_in(officer), application)


def test_a_step_someone_may_decide_is_not_flagged(officer):
    """The officer is a superadmin, but another superadmin may decide: the step goes to them."""
    PlatformRoleFactory(user=officer, role="superadmin", jurisdiction="")
    root = make_superadmin()
    application = application_with_state(nodal_officer=officer)
    [assigned] = [m for m in OutboxMessage.objects.all() if m.subject.startswith("New application in your approval queue")]
    assert assigned.to == [root.email] and state_step(application).nobody_may_decide_since is None


def test_the_state_admin_who_was_the_competent_authority_is_not_told_of_the_state_step(officer):
    """The authority (a state admin's mailbox under a "+tag") approved through the link: the
    new application in the queue, and the reply to the authority's confirmation, go to
    the other state admin, who may decide it."""
    admin = make_state_admin("MH", email="director@mahaagri.gov.in")
    other = make_state_admin("MH")
    tagged = "director+onb@mahaagri.gov.in"
    data = {**VALID, "competent_authority": {**VALID["competent_authority"], "official_email": tagged}}
    submitted_application(officer, data)
    decide_by_link(latest_link(tagged)[0], "approve")
    [assigned] = [m for m in OutboxMessage.objects.all() if m.subject.startswith("New application in your approval queue")]
    assert assigned.to == [other.email]
    [confirmation] = [m for m in messages_to(tagged) if m.subject.startswith("Your decision on application")]
    assert confirmation.reply_to == [other.email]
    assert messages_to(admin.email) == []


def test_the_competent_authority_does_not_decide_the_state_level_too(officer):
    """A state admin whose address is the application's competent authority approves
    through the link; the state step is then someone else's: refused at the decision
    field, nothing changed; another state admin decides it."""
    admin = make_state_admin("MH", email=AUTHORITY_EMAIL)
    application = application_with_authority(nodal_officer=officer)
    client = signed_in(admin)
    client.post(latest_link()[0], {"decision": "approve", "confirm": "on"})
    step = state_step(application)
    response = client.post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"})
    assert response.status_code == 200
    assert "You decided on this application as its competent authority" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE and state_step(application).decision == ""
    approvals.step_decide(step_id=step.pk, decision="approve", actor=make_state_admin("MH"))
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED


def test_a_state_admin_signed_in_who_decides_through_a_forwarded_link_does_not_decide_the_state_level_too(officer):
    """The authority's link forwarded to a state admin, who opens it signed in and approves:
    the step records their account, so the state step is someone else's (refused at the
    decision field, nothing changed) and they are not the one told of it."""
    admin = make_state_admin("MH", email="admin.mh@maharashtra.gov.in")
    other = make_state_admin("MH")
    application = application_with_authority(nodal_officer=officer)
    client = signed_in(admin)
    assert client.post(latest_link()[0], {"decision": "approve", "confirm": "on"}).status_code == 302
    authority_step = ApprovalStep.objects.get(application=application, stage=Stage.AUTHORITY)
    assert authority_step.decided_by == admin and authority_step.decided_by_email == AUTHORITY_EMAIL
    step = state_step(application)
    [assigned] = [m for m in OutboxMessage.objects.all() if m.subject.startswith("New application in your approval queue")]
    assert assigned.to == [other.email]
    response = client.post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"})
    assert response.status_code == 200
    assert "You decided on this application as its competent authority" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE and state_step(application).decision == ""
    approvals.step_decide(step_id=step.pk, decision="approve", actor=other)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED


def address_removed(user, address):
    """``user`` takes ``address`` off their account on its email page, as a person does."""
    post_confirming_access(signed_in(user), "/accounts/email/", {"action_remove": "", "email": address})
    assert not EmailAddress.objects.filter(user=user, email=address).exists()


def test_the_competent_authority_who_took_the_address_off_their_account_does_not_decide_the_state_level_too(officer):
    """A state admin who also holds the authority's address approves through its link, not
    signed in, then takes the address off their account: the step keeps the accounts that held
    it, so the state level is still someone else's (refused at the decision field, nothing
    changed), and the handover does not make them its nodal officer either."""
    admin = make_state_admin("MH", email="joint.secretary@mahaagri.gov.in")
    EmailAddress.objects.create(user=admin, email=AUTHORITY_EMAIL, verified=True, primary=False)
    other = make_state_admin("MH")
    application = application_with_authority(nodal_officer=officer)
    assert decide_by_link(latest_link()[0], "approve").status_code == 302
    assert ApprovalStep.objects.get(application=application, stage=Stage.AUTHORITY).link_holders == [admin.pk]
    address_removed(admin, AUTHORITY_EMAIL)
    step = state_step(application)
    response = signed_in(admin).post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"})
    assert response.status_code == 200
    assert "You decided on this application as its competent authority" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE and state_step(application).decision == ""
    with pytest.raises(ValidationError) as refused:
        application_officer_change(application_id=application.pk, new_officer=admin, actor=other)
    assert "decided on this application as its competent authority" in refused.value.messages[0]
    approvals.step_decide(step_id=step.pk, decision="approve", actor=other)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED


def test_the_competent_authority_who_took_the_address_off_their_account_before_deciding_does_not_decide_the_state_level(
        officer):
    """The same person takes the address off their account first, then approves through the
    link (its mail read before): the step keeps the accounts the address left since it opened,
    so the state level is still someone else's."""
    admin = make_state_admin("MH", email="joint.secretary@mahaagri.gov.in")
    EmailAddress.objects.create(user=admin, email=AUTHORITY_EMAIL, verified=True, primary=False)
    other = make_state_admin("MH")
    application = application_with_authority(nodal_officer=officer)
    address_removed(admin, AUTHORITY_EMAIL)
    assert decide_by_link(latest_link()[0], "approve").status_code == 302
    assert ApprovalStep.objects.get(application=application, stage=Stage.AUTHORITY).link_holders == [admin.pk]
    step = state_step(application)
    response = signed_in(admin).post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"})
    assert "You decided on this application as its competent authority" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE and state_step(application).decision == ""
    approvals.step_decide(step_id=step.pk, decision="approve", actor=other)


def test_an_account_the_django_admin_moved_the_address_from_does_not_decide_the_state_level(officer):
    """A superuser moves the authority's address from a state admin's account to another in
    the Django admin, after the step opened: the address left the admin's account (audited so),
    and the link's decision ties it, so the state level is someone else's."""
    admin = make_state_admin("MH", email="joint.secretary@mahaagri.gov.in")
    row = EmailAddress.objects.create(user=admin, email=AUTHORITY_EMAIL, verified=True, primary=False)
    other = UserFactory(email="pa.to.director@mahaagri.gov.in")
    application = application_with_authority(nodal_officer=officer)
    root = UserFactory(email="root@nic.in", is_superuser=True, is_staff=True)
    with_totp(root)
    client = signed_in(root)
    second_factor_given(client, root)
    response = client.post(f"/admin/account/emailaddress/{row.pk}/change/",
                           {"user": other.pk, "email": AUTHORITY_EMAIL, "verified": "on"})
    assert response.status_code == 302 and EmailAddress.objects.get(pk=row.pk).user_id == other.pk
    left = AuditEvent.objects.get(action=AuditAction.USER_EMAIL_REMOVED, target_id=str(admin.pk))
    assert left.old_values == {"email": AUTHORITY_EMAIL, "verified": True} and left.new_values == {"moved_to": other.pk}
    assert decide_by_link(latest_link()[0], "approve").status_code == 302
    assert ApprovalStep.objects.get(application=application, stage=Stage.AUTHORITY).link_holders == sorted(
        [admin.pk, other.pk])
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=admin)
    assert "You decided on this application as its competent authority" in refused.value.messages[0]


def test_an_account_the_address_left_before_the_step_opened_may_decide_the_state_level(officer):
    """An address that left an account before the application reached its competent authority
    (the post's mailbox passed on to a successor) does not tie that account to the decision."""
    admin = make_state_admin("MH", email="joint.secretary@mahaagri.gov.in")
    EmailAddress.objects.create(user=admin, email=AUTHORITY_EMAIL, verified=True, primary=False)
    address_removed(admin, AUTHORITY_EMAIL)
    application = application_with_authority(nodal_officer=officer)
    assert decide_by_link(latest_link()[0], "approve").status_code == 302
    assert ApprovalStep.objects.get(application=application, stage=Stage.AUTHORITY).link_holders == []
    approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=admin)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED


def test_the_competent_authority_who_took_the_address_off_their_account_does_not_hear_the_appeal(officer):
    """A superadmin who also holds the authority's address rejects through its link, not
    signed in, then takes the address off their account: the appeal against that rejection is
    still another superadmin's."""
    root, other_root = make_superadmin(email="additional.secretary@nic.in"), make_superadmin(email="root2@nic.in")
    EmailAddress.objects.create(user=root, email=AUTHORITY_EMAIL, verified=True, primary=False)
    application = application_with_authority(nodal_officer=officer)
    decide_by_link(latest_link()[0], "reject", remarks="A duplicate.")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    address_removed(root, AUTHORITY_EMAIL)
    the_rejecter_does_not_hear_the_appeal(signed_in(root), application, officer, other_root)


def the_rejecter_does_not_hear_the_appeal(rejecter, application, officer, other_root):
    """The officer appeals the rejection; its maker (``rejecter``, a signed-in client) is
    refused at the appeal, which another superadmin (``other_root``) then decides."""
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Please reconsider.", actor=officer)
    response = rejecter.post(f"/onboarding/appeals/{appeal.pk}/", {"decision": "uphold", "remarks": "Upheld.", "confirm": "on"})
    assert response.status_code == 200
    assert "You made the rejection under appeal: another superadmin decides the appeal." in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_APPEAL
    approvals.appeal_decide(step_id=appeal.pk, decision="uphold", remarks="Still not eligible.", actor=other_root)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED_FINAL


def test_a_superadmin_signed_in_who_rejects_through_the_link_does_not_hear_the_appeal(officer):
    """A superadmin signed in rejects through the authority's link: the appeal against that
    rejection is another superadmin's (refused at the decision field, nothing changed)."""
    root, other_root = make_superadmin(email="root@nic.in"), make_superadmin(email="root2@nic.in")
    application = application_with_authority(nodal_officer=officer)
    client = signed_in(root)
    client.post(latest_link()[0], {"decision": "reject", "remarks": "Not eligible.", "confirm": "on"})
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    the_rejecter_does_not_hear_the_appeal(client, application, officer, other_root)


def test_the_competent_authority_under_a_plus_tag_does_not_decide_the_state_level_too(officer):
    """The form takes "director+onb@" for the mailbox "director@" (an officer cannot name
    themselves that way); so does the decision: the state admin whose address it is, who
    approved through the link, is refused at the state level, nothing changed."""
    admin = make_state_admin("MH", email="director@mahaagri.gov.in")
    tagged = "director+onb@mahaagri.gov.in"
    data = {**VALID, "competent_authority": {**VALID["competent_authority"], "official_email": tagged}}
    application = submitted_application(officer, data)
    decide_by_link(latest_link(tagged)[0], "approve")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=admin)
    assert "You decided on this application as its competent authority" in refused.value.messages[0]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE and state_step(application).decision == ""


def test_the_competent_authority_named_with_its_domain_in_unicode_does_not_decide_the_state_level_too(officer):
    """The authority's address with its domain in Unicode, the state admin's the same
    mailbox with the domain IDNA-encoded: one person, refused at the state level."""
    data = {**VALID, "competent_authority": {**VALID["competent_authority"], "official_email": "director@कृषि.gov.in"}}
    application = application_with_state(nodal_officer=officer, data=data)
    admin = make_state_admin("MH", email=f"director@{normalise_domain('कृषि.gov.in')}")
    with pytest.raises(ValidationError):
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=admin)
    assert state_step(application).decision == ""


def test_an_appeal_is_not_decided_by_whoever_made_the_rejection(officer):
    root, other_root = make_superadmin(), make_superadmin()
    application = application_with_state(nodal_officer=officer)
    signed_in(root).post(f"/onboarding/queue/{state_step(application).pk}/",
                         {"decision": "reject", "remarks": "No.", "confirm": "on"})
    the_rejecter_does_not_hear_the_appeal(signed_in(root), application, officer, other_root)


def test_an_appeal_is_not_decided_by_the_competent_authority_that_made_the_rejection(officer):
    """A superadmin whose address is the competent authority's rejected through the link
    (no account on the step, only the address): they do not hear the appeal either; their
    address under a "+tag" is the same mailbox. Another superadmin does."""
    root = make_superadmin(email="director@mahaagri.gov.in")
    data = {**VALID, "competent_authority": {**VALID["competent_authority"], "official_email": "director+onb@mahaagri.gov.in"}}
    application = submitted_application(officer, data)
    decide_by_link(latest_link("director+onb@mahaagri.gov.in")[0], "reject", "Not a government body.")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Please look again.", actor=officer)
    response = signed_in(root).post(f"/onboarding/appeals/{appeal.pk}/", {"decision": "overturn", "confirm": "on"})
    assert response.status_code == 200
    assert "You made the rejection under appeal: another superadmin decides the appeal." in response.content.decode()
    with pytest.raises(ValidationError):
        approvals.appeal_decide(step_id=appeal.pk, decision="overturn", actor=root)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_APPEAL
    approvals.appeal_decide(step_id=appeal.pk, decision="uphold", remarks="Still not one.", actor=make_superadmin())
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED_FINAL


def test_the_competent_authority_that_approved_does_not_hear_the_appeal_against_the_states_rejection(officer):
    """A superadmin whose address is the competent authority's approves through the link; the
    state administrators reject; the officer appeals. Overturning that rejection would make the
    authority's own approval final with nobody else deciding in the state's place: the authority
    is not asked to decide the appeal (the mail goes to the other superadmin only), is refused
    at it (the page says why, nothing changed), and another superadmin decides it."""
    root = make_superadmin(email="director@mahaagri.gov.in")
    other_root = make_superadmin(email="other.root@nic.in")
    data = {**VALID, "competent_authority": {**VALID["competent_authority"], "official_email": "director+onb@mahaagri.gov.in"}}
    application = submitted_application(officer, data)
    decide_by_link(latest_link("director+onb@mahaagri.gov.in")[0], "approve")
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="Not eligible.",
                          actor=make_state_admin("MH"))
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Please look again.", actor=officer)
    [assigned] = [m for m in OutboxMessage.objects.all() if m.subject.startswith("Appeal to decide")]
    assert assigned.to == [other_root.email]
    response = signed_in(root).post(f"/onboarding/appeals/{appeal.pk}/", {"decision": "overturn", "confirm": "on"})
    assert response.status_code == 200
    assert field_error(page(response), "decision") == (
        "You approved this application as its competent authority: another superadmin decides the appeal against its "
        "rejection.")
    with pytest.raises(ValidationError):
        approvals.appeal_decide(step_id=appeal.pk, decision="overturn", actor=root)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_APPEAL
    approvals.appeal_decide(step_id=appeal.pk, decision="overturn", actor=other_root)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED


OWN_APPLICATION = ("One of your addresses is this application's nodal officer's: nobody decides on their own "
                   "application, so another administrator decides it.")



def test_a_competent_authority_that_only_returned_is_told_so_at_the_appeal(officer):
    """A superadmin's address was the competent authority that returned the application (the
    officer then named another, who approved it): they do not hear the appeal, and are told
    they decided on it as its competent authority, not that they approved it."""
    root = make_superadmin(email="director@mahaagri.gov.in")
    make_superadmin(email="other.root@nic.in")
    application = submitted_application(officer)
    assert decide_by_link(latest_link()[0], "return", "Ask the secretary.").status_code == 302
    secretary = "secretary@mahaagri.gov.in"
    services.application_save_section(application_id=application.pk, section="competent_authority", actor=officer,
                                      querydict=as_querydict(dict(VALID["competent_authority"], official_email=secretary)))
    services.application_submit(application_id=application.pk, actor=officer, reply="The secretary now.")
    assert decide_by_link(latest_link(secretary)[0], "approve").status_code == 302
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="No.",
                          actor=make_state_admin("MH"))
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Please.", actor=officer)
    assert approvals.appeal_refused_why(step=ApprovalStep.objects.get(pk=appeal.pk), actor=root) == (
        "You decided on this application as its competent authority: another superadmin decides the appeal against "
        "its rejection.")


def test_a_state_admin_on_the_officers_own_mailbox_does_not_decide_the_state_level(officer):
    """A state admin's account on the nodal officer's mailbox under a "+tag" is the officer:
    not told of the new application in the queue (the other state admin is), refused at the
    decision field (the page says why), nothing changed."""
    twin = make_state_admin("MH", email="nodal.officer+state@mahaagri.gov.in")
    other = make_state_admin("MH")
    application = application_with_state(nodal_officer=officer)
    [assigned] = [m for m in OutboxMessage.objects.all() if m.subject.startswith("New application in your approval queue")]
    assert assigned.to == [other.email]
    step = state_step(application)
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=step.pk, decision="approve", actor=twin)
    assert refused.value.message_dict == {"decision": [OWN_APPLICATION]}
    response = signed_in(twin).post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"})
    assert response.status_code == 200
    assert field_error(page(response), "decision") == OWN_APPLICATION
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE and state_step(application).decision == ""


def test_a_state_admin_at_the_alternate_address_the_officer_typed_does_not_decide_the_state_level(officer):
    """The alternate address the officer gave in their form is theirs too: the state admin
    whose account it is decides nothing on the application, and is not told of it."""
    twin = make_state_admin("MH", email="s.patil@maharashtra.gov.in")
    root = make_superadmin()
    data = {**VALID, "nodal_officer": {**VALID["nodal_officer"], "alternate_email": "S.Patil+mine@maharashtra.gov.in"}}
    application = application_with_state(nodal_officer=officer, data=data)
    [assigned] = [m for m in OutboxMessage.objects.all() if m.subject.startswith("New application in your approval queue")]
    assert assigned.to == [root.email]
    step = state_step(application)
    response = signed_in(twin).post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"})
    assert response.status_code == 200
    assert field_error(page(response), "decision") == OWN_APPLICATION
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE and state_step(application).decision == ""


def test_a_superadmin_on_the_officers_own_mailbox_does_not_decide_the_appeal(officer):
    """A superadmin's account on the nodal officer's mailbox is the officer: not told of the
    appeal, refused at the decision field, nothing changed; another superadmin decides it."""
    twin = make_superadmin(email="nodal.officer+root@mahaagri.gov.in")
    root = make_superadmin()
    application = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="Duplicate.",
                          actor=make_state_admin("MH"))
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Not a duplicate.", actor=officer)
    [assigned] = [m for m in OutboxMessage.objects.all() if m.subject.startswith("Appeal to decide")]
    assert assigned.to == [root.email]
    with pytest.raises(ValidationError) as refused:
        approvals.appeal_decide(step_id=appeal.pk, decision="overturn", actor=twin)
    assert refused.value.message_dict == {"decision": [OWN_APPLICATION]}
    response = signed_in(twin).post(f"/onboarding/appeals/{appeal.pk}/", {"decision": "overturn", "confirm": "on"})
    assert response.status_code == 200
    assert field_error(page(response), "decision") == OWN_APPLICATION
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_APPEAL
    approvals.appeal_decide(step_id=appeal.pk, decision="overturn", actor=root)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED


OWN_ACCOUNT = ("You are this application's nodal officer: nobody decides on their own application, so another "
               "administrator decides it.")


def test_a_state_admin_who_is_the_officer_is_refused_at_the_decision_keeping_what_they_typed(officer):
    """The nodal officer is also the state administrator of the application's state: it is in
    their queue and its decision page opens; their decision is refused at the decision field,
    saying why, with the remarks they typed kept (not a bare 403), and nothing changes."""
    PlatformRoleFactory(user=officer, role="state_admin", jurisdiction="MH")
    with_totp(officer)
    make_superadmin()
    application = application_with_state(nodal_officer=officer)
    step = state_step(application)
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=step.pk, decision="approve", actor=officer)
    assert refused.value.message_dict == {"decision": [OWN_ACCOUNT]}
    client = signed_in(officer)
    assert client.get(f"/onboarding/queue/{step.pk}/").status_code == 200
    remarks = "Please attach the letter again."
    response = client.post(f"/onboarding/queue/{step.pk}/", {"decision": "return", "remarks": remarks})
    assert response.status_code == 200
    tree = page(response)
    assert field_error(tree, "decision") == OWN_ACCOUNT
    assert field_value(tree, "decision") == "return" and field_value(tree, "remarks") == remarks
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE and state_step(application).decision == ""


def test_a_superadmin_who_is_the_officer_is_refused_at_the_appeal_decision_keeping_what_they_typed(officer):
    """The same at an appeal: the officer who is also a superadmin opens their own appeal's
    decision page; deciding it is refused at the decision field, what they typed kept."""
    PlatformRoleFactory(user=officer, role="superadmin", jurisdiction="")
    with_totp(officer)
    application = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="No.", actor=make_state_admin("MH"))
    appeal = approvals.application_appeal(application_id=application.pk, grounds="It is one.", actor=officer)
    client = signed_in(officer)
    assert client.get(f"/onboarding/appeals/{appeal.pk}/").status_code == 200
    response = client.post(f"/onboarding/appeals/{appeal.pk}/", {"decision": "overturn", "remarks": "Overturned.", "confirm": "on"})
    assert response.status_code == 200
    tree = page(response)
    assert field_error(tree, "decision") == OWN_ACCOUNT
    assert field_value(tree, "decision") == "overturn" and field_value(tree, "remarks") == "Overturned."
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_APPEAL


@pytest.mark.parametrize("language", ["hi", "mr"])
def test_the_officers_own_refusal_at_the_decision_is_in_their_language(officer, language):
    PlatformRoleFactory(user=officer, role="state_admin", jurisdiction="MH")
    with_totp(officer)
    step = state_step(application_with_state(nodal_officer=officer))
    client = signed_in(officer)
    response = client.post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"},
                           HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    error = field_error(page(response), "decision")
    assert error and "nodal officer" not in error and error != OWN_ACCOUNT


def deciding_page(kind, officer):
    """(a client, the address of its decision page, the application) for the competent
    authority's link ("link"), a state administrator's queue ("state") or an appeal ("appeal")."""
    if kind == "link":
        application = application_with_authority(nodal_officer=officer)
        return Client(), latest_link()[0], application
    application = application_with_state(nodal_officer=officer)
    if kind == "state":
        return signed_in(make_state_admin("MH")), f"/onboarding/queue/{state_step(application).pk}/", application
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="Not eligible.",
                          actor=make_state_admin("MH"))
    appeal = approvals.application_appeal(application_id=application.pk, grounds="It is a directorate.", actor=officer)
    return signed_in(make_superadmin()), f"/onboarding/appeals/{appeal.pk}/", application


@pytest.mark.parametrize(("kind", "decision", "outcome"), [
    ("link", "approve", ApplicationStatus.WITH_STATE), ("link", "reject", ApplicationStatus.REJECTED),
    ("state", "approve", ApplicationStatus.APPROVED), ("state", "reject", ApplicationStatus.REJECTED),
    ("appeal", "overturn", ApplicationStatus.APPROVED), ("appeal", "uphold", ApplicationStatus.REJECTED_FINAL),
])
def test_a_final_decision_is_recorded_only_once_confirmed(officer, kind, decision, outcome):
    """Approving, rejecting and deciding an appeal cannot be undone (approving activates the
    organisation and makes its nodal officer its admin): sent without the box confirming it
    ticked (a radio button chosen and Enter pressed), nothing is decided; the form says so at
    the box and keeps the decision and the remarks. Ticked, the decision is recorded."""
    client, path, application = deciding_page(kind, officer)
    application.refresh_from_db()
    before = application.status
    remarks = "Checked against the establishment list of 2024."
    response = client.post(path, {"decision": decision, "remarks": remarks})
    assert response.status_code == 200
    tree = page(response)
    assert field_error(tree, "confirm") == "Tick the box to confirm the decision."
    assert 'href="#id_confirm"' in response.content.decode()  # the error summary leads to the box
    assert field_value(tree, "decision") == decision and field_value(tree, "remarks") == remarks
    assert field_value(tree, "confirm") is False
    application.refresh_from_db()
    assert application.status == before
    assert application.steps.filter(decision="").count() == 1  # the step still waits
    assert client.post(path, {"decision": decision, "remarks": remarks, "confirm": "on"}).status_code == 302
    application.refresh_from_db()
    assert application.status == outcome


@pytest.mark.parametrize("kind", ["link", "state"])
def test_returning_for_correction_needs_no_confirmation(officer, kind):
    """Returning an application for correction is not final (the officer corrects and sends it
    again): it is recorded without the box ticked."""
    client, path, application = deciding_page(kind, officer)
    assert client.post(path, {"decision": "return", "remarks": "Correct the PIN code."}).status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CHANGES_REQUESTED


def test_decision_remarks_keep_their_lines_and_no_control_character_or_bidi_override(officer):
    """Remarks are stored as an appeal's grounds are (portal.text.multi_line): line breaks
    kept, no control character, no bidi override; from the authority's link and from the
    state administrators' page alike; the officer's page shows them so."""
    typed = "Fix the letter \u202egnp.exe\u202c\x1b[2J\x07 please.\r\nSigned copy\tneeded."
    kept = "Fix the letter gnp.exe[2J please.\nSigned copy needed."
    application = submitted_application(officer)
    assert decide_by_link(latest_link()[0], "return", typed).status_code == 302
    assert ApprovalStep.objects.get(application=application, stage=Stage.AUTHORITY).remarks == kept
    application = application_with_state(nodal_officer=officer, data={
        **VALID, "organisation": {**VALID["organisation"], "name": "Directorate of Horticulture, Maharashtra"}})
    response = signed_in(make_state_admin("MH")).post(f"/onboarding/queue/{state_step(application).pk}/",
                                                      {"decision": "return", "remarks": typed})
    assert response.status_code == 302
    assert state_step(application).remarks == kept
    html = signed_in(officer).get(f"/onboarding/{application.pk}/").content.decode()
    assert "gnp.exe[2J please." in html and not any(c in html for c in "\u202e\u202c\x1b\x07")


def test_final_approval_is_refused_while_a_listed_domain_is_refused_now(officer):
    """A domain the form lists is marked a personal mail service after the form was
    checked: the approval is refused at the decision, saying which (it used to make the
    organisation active with no domain at all, the official one included)."""
    data = {**VALID, "organisation": {**VALID["organisation"], "email_domains": "mahaagri.gov.in, krishimail.in"}}
    application = authority_approved(officer, data)
    EmailSuffixRule.objects.create(suffix="krishimail.in", kind=SuffixKind.CONSUMER)
    response = signed_in(make_state_admin("MH")).post(f"/onboarding/queue/{state_step(application).pk}/",
                                                      {"decision": "approve", "confirm": "on"})
    assert response.status_code == 200
    assert "krishimail.in is a personal mail service" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE and application.organisation is None


PARENT = {"name": "Agriculture Department, Maharashtra", "short_code": "AGRI-MH"}


def _under_parent(data, parent):
    """``data`` naming ``parent``, an organisation on Sandes, as the parent (as the search chose it)."""
    return {**data, "hierarchy": {"parent_choice": "existing", "parent": str(parent.pk),
                                  "new_parent_name": "", "new_parent_type": ""}}


@pytest.mark.parametrize("change, expected", [
    (lambda parent: Organisation.objects.filter(pk=parent.pk).update(status=OrganisationStatus.SUSPENDED),
     f"The parent organisation the form names, {PARENT['name']}, is no longer active on Sandes: the organisation "
     "cannot be placed under it. Return the application for correction instead."),
    (lambda parent: Organisation.objects.filter(pk=parent.pk).delete(),
     "The parent organisation the form names is no longer on Sandes: the organisation cannot be placed under it. "
     "Return the application for correction instead."),
], ids=["suspended", "deleted"])
def test_final_approval_is_refused_while_the_parent_is_no_longer_active(officer, change, expected):
    """The parent the form names (only an active one is accepted, at the section and at
    submission) is suspended or deleted while the application waits: the approval is refused
    at the decision, saying so (it used to make the organisation active under the suspended
    parent, or under none), and nothing changes."""
    parent = OrganisationFactory(**PARENT)
    application = authority_approved(officer, _under_parent(VALID, parent))
    change(parent)
    response = signed_in(make_state_admin("MH")).post(f"/onboarding/queue/{state_step(application).pk}/",
                                                      {"decision": "approve", "confirm": "on"})
    assert response.status_code == 200
    assert field_error(page(response), "decision") == expected
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE and application.organisation is None
    assert not Organisation.objects.filter(name=VALID["organisation"]["name"]).exists()


CODE_TAKEN_FLAG = ("The short code the form names, DOA-MH, has been given to Ministry of Home Affairs on Sandes since "
                   "the application was submitted: final approval is refused while that organisation has it, and only "
                   "a return for correction lets the nodal officer choose another.")


def test_the_decision_pages_warn_that_the_short_code_was_given_to_another_organisation(officer):
    """The short code the form names was free when the application was submitted, and was
    given to another organisation while it waited. The competent authority's page and the
    state administrator's say so before they decide (their approval would pass on, or be
    refused at, a final approval that cannot be made), in English and in Hindi; the state
    administrator's approval is refused at the decision, saying why, with what they typed
    kept, and nothing changes."""
    application = application_with_authority(nodal_officer=officer)
    client = Client()
    assert client.get(latest_link()[0]).status_code == 302
    assert CODE_TAKEN_FLAG not in " ".join(client.get("/onboarding/review/").content.decode().split())
    OrganisationFactory(name="Ministry of Home Affairs", short_code=VALID["organisation"]["short_code"])
    review = client.get("/onboarding/review/")
    flags = page(review).by_id("flags-heading").parent
    assert CODE_TAKEN_FLAG in " ".join(flags.text().split())
    assert decide_by_link(latest_link()[0], "approve").status_code == 302  # not final: it passes to the state

    admin = signed_in(make_state_admin("MH"))
    url = f"/onboarding/queue/{state_step(application).pk}/"
    assert CODE_TAKEN_FLAG in " ".join(page(admin.get(url)).by_id("flags-heading").parent.text().split())
    response = admin.post(url, {"decision": "approve", "remarks": "Checked the letter.", "confirm": "on"})
    assert response.status_code == 200
    tree = page(response)
    assert field_error(tree, "decision") == STATE_CODE_TAKEN
    assert field_value(tree, "remarks") == "Checked the letter."
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE and application.organisation is None
    admin.post("/i18n/setlang/", {"language": "hi", "next": "/"})
    hindi = " ".join(page(admin.get(url)).by_id("flags-heading").parent.text().split())
    assert "DOA-MH" in hindi and DEVANAGARI_RE.search(hindi) and "since the application" not in hindi


# A state administrator's approval refused as the short code was taken meanwhile: what they can do
# (the nodal officer chooses the short code, not they), not "Choose another", said to whoever chose it.
STATE_CODE_TAKEN = ("DOA-MH is already the short code of Ministry of Home Affairs on Sandes. Return the application "
                    "for correction so that its nodal officer can choose another short code.")


@pytest.mark.parametrize(("language", "said"), [
    ("en", STATE_CODE_TAKEN),
    ("hi", "DOA-MH पहले से संदेस पर Ministry of Home Affairs का संक्षिप्त कोड है। आवेदन को सुधार के लिए लौटाएँ, ताकि "
           "इसके नोडल अधिकारी कोई दूसरा संक्षिप्त कोड चुन सकें।"),
    ("mr", "DOA-MH हा आधीच संदेसवर Ministry of Home Affairs चा संक्षिप्त कोड आहे. अर्ज दुरुस्तीसाठी परत पाठवा, म्हणजे "
           "त्याचे नोडल अधिकारी दुसरा संक्षिप्त कोड निवडू शकतील."),
], ids=["en", "hi", "mr"])
def test_a_state_approval_refused_for_a_short_code_taken_tells_the_decider_what_they_can_do(officer, language, said):
    """The refusal is said to the administrator deciding, who does not choose the short code:
    it tells them to return the application so that the nodal officer chooses another, in
    their language, with nothing of the officer's "Choose another"."""
    application = application_with_state(nodal_officer=officer)
    OrganisationFactory(name="Ministry of Home Affairs", short_code=VALID["organisation"]["short_code"])
    admin = signed_in(make_state_admin("MH"))
    admin.post("/i18n/setlang/", {"language": language, "next": "/"})
    response = admin.post(f"/onboarding/queue/{state_step(application).pk}/",
                          {"decision": "approve", "remarks": "Checked.", "confirm": "on"})
    assert response.status_code == 200
    assert field_error(page(response), "decision") == said


def test_a_short_code_taken_advises_rejection_once_no_return_is_left(officer):
    """Returned the most times allowed: the refusal cannot advise a return; it advises
    rejecting the application, after which the officer can apply again with another code
    (an appeal could not be granted while the code is taken)."""
    ApprovalTimings.objects.update(returns_max=0)
    application = application_with_state(nodal_officer=officer)
    OrganisationFactory(name="Ministry of Home Affairs", short_code=VALID["organisation"]["short_code"])
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=make_state_admin("MH"))
    assert refused.value.message_dict == {"decision": [
        "DOA-MH is already the short code of Ministry of Home Affairs on Sandes. It cannot be returned for correction "
        "again (it has been returned the most times the portal allows): reject it, giving this as the reason; its "
        "nodal officer can then apply again with another short code."]}


def test_the_appeal_decision_page_shows_what_to_check_before_deciding(officer):
    """The superadmin deciding an appeal sees, before deciding, what the state page shows
    (the same flags, possible duplicates, who is who): here the short code given to another
    organisation since, worded for an appeal (it cannot be returned for correction, so an
    overturn is refused while that organisation has it), in English and in Hindi."""
    appeal = _appealed(officer)
    OrganisationFactory(name="Ministry of Home Affairs", short_code=VALID["organisation"]["short_code"])
    client = signed_in(make_superadmin())
    tree, flags = _appeal_flags(client, appeal)
    assert ("The short code the form names, DOA-MH, has been given to Ministry of Home Affairs on Sandes since the "
            "application was submitted: an overturn is refused while that organisation has it, and an appeal cannot "
            "return the application for correction; upheld, its nodal officer can apply again with another "
            "short code.") in flags, flags
    assert tree.by_id("people-heading") is not None
    client.post("/i18n/setlang/", {"language": "hi", "next": "/"})
    hindi = _appeal_flags(client, appeal)[1]
    assert "DOA-MH" in hindi and DEVANAGARI_RE.search(hindi) and "overturn" not in hindi, hindi


def test_a_short_code_given_to_an_organisation_not_active_is_flagged_without_its_name(officer):
    """A suspended organisation's name is not shown (details.short_code_taken): the flag says
    another organisation has it."""
    application = application_with_state(nodal_officer=officer)
    OrganisationFactory(name="Old Directorate", short_code="doa-mh", status=OrganisationStatus.SUSPENDED)
    html = " ".join(signed_in(make_state_admin("MH")).get(f"/onboarding/queue/{state_step(application).pk}/")
                    .content.decode().split())
    assert ("The short code the form names, DOA-MH, has been given to another organisation since the application "
            "was submitted") in html and "Old Directorate" not in html


APPEAL_CANNOT_RETURN = "An appeal cannot return the application for correction:"


def _short_code_taken(application, officer):
    OrganisationFactory(name="Ministry of Home Affairs", short_code=VALID["organisation"]["short_code"])
    return ("DOA-MH is already the short code of Ministry of Home Affairs on Sandes. "
            f"{APPEAL_CANNOT_RETURN} uphold the rejection, giving this as the reason, and the nodal officer can "
            "apply again with another short code.")


def _domain_refused(application, officer):
    EmailSuffixRule.objects.create(suffix="krishimail.in", kind=SuffixKind.CONSUMER)
    return ("krishimail.in is a personal mail service; only your organisation's own domains can be listed. "
            f"{APPEAL_CANNOT_RETURN} uphold the rejection, giving this as the reason, and the nodal officer can "
            "apply again without that domain; or, if it was marked a personal mail service by mistake, correct "
            "the official email rules and then overturn it.")


def _officer_not_eligible(application, officer):
    UserFactory._meta.model.objects.filter(pk=officer.pk).update(email="sunil.patil@gmail.com")
    problem = officer_eligibility(UserFactory._meta.model.objects.get(pk=officer.pk))
    return (f"The nodal officer can no longer be made the organisation's admin: {problem} {APPEAL_CANNOT_RETURN} "
            "overturn the rejection once their account is eligible again, or uphold it and they can apply again.")


def _officer_deactivated(application, officer):
    UserFactory._meta.model.objects.filter(pk=officer.pk).update(is_active=False)
    return ("The nodal officer's account has been deactivated: they cannot be made the organisation's admin. "
            "Uphold the rejection, or overturn it once their account is active again.")


def _officer_address_moved(application, officer):
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=officer).update(primary=False)
    EmailAddress.objects.create(user=officer, email="sunil@karhealth.gov.in", verified=True, primary=True)
    UserFactory._meta.model.objects.filter(pk=officer.pk).update(email="sunil@karhealth.gov.in")
    return ("The nodal officer's account no longer has the address the form names for them, "
            "nodal.officer@mahaagri.gov.in (changed since the form was filled): approval would make whoever holds the "
            f"account now the organisation's admin. {APPEAL_CANNOT_RETURN} overturn the rejection once the account's "
            "address is nodal.officer@mahaagri.gov.in again, or uphold it and a nodal officer at that address can "
            "apply again.")


def _parent_suspended(application, officer):
    Organisation.objects.filter(short_code=PARENT["short_code"]).update(status=OrganisationStatus.SUSPENDED)
    return (f"The parent organisation the form names, {PARENT['name']}, is no longer active on Sandes: the "
            f"organisation cannot be placed under it. {APPEAL_CANNOT_RETURN} uphold the rejection, giving this as the "
            "reason, and the nodal officer can apply again under an active parent organisation; or overturn it once "
            "the parent organisation is active on Sandes again.")


@pytest.mark.parametrize("refusal", [_short_code_taken, _domain_refused, _officer_not_eligible, _officer_deactivated,
                                     _officer_address_moved, _parent_suspended])
def test_a_refused_overturn_gives_advice_an_appeal_can_follow(officer, refusal):
    """Overturning a rejection is a final approval, refused as the state level's is (the
    short code taken meanwhile, a listed domain refused now, the officer no longer
    eligible or no longer at the address the form names, the parent suspended); an appeal
    can only overturn or uphold (no return for correction from under_appeal in the
    workflow), so the page says what the superadmin can do instead, at the decision, in
    their language, and nothing changes."""
    data = {**VALID, "organisation": {**VALID["organisation"], "email_domains": "mahaagri.gov.in, krishimail.in"}}
    data = _under_parent(data, OrganisationFactory(**PARENT))
    application = application_with_state(nodal_officer=officer, data=data)
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="Duplicate.",
                          actor=make_state_admin("MH"))
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Not a duplicate.", actor=officer)
    expected = refusal(application, officer)
    assert not workflow.allowed(ApplicationStatus.UNDER_APPEAL, workflow.Event.STATE_RETURN)
    root = make_superadmin()
    with pytest.raises(ValidationError) as refused:
        approvals.appeal_decide(step_id=appeal.pk, decision="overturn", actor=root)
    assert refused.value.message_dict == {"decision": [expected]}
    client = signed_in(root)
    response = client.post(f"/onboarding/appeals/{appeal.pk}/", {"decision": "overturn", "confirm": "on"})
    assert response.status_code == 200
    tree = page(response)
    assert field_error(tree, "decision") == expected
    assert "Return the application for correction" not in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_APPEAL and application.organisation is None
    client.post("/i18n/setlang/", {"language": "hi", "next": "/"})
    response = client.post(f"/onboarding/appeals/{appeal.pk}/", {"decision": "overturn", "confirm": "on"})
    hindi = field_error(page(response), "decision")
    assert DEVANAGARI_RE.search(hindi) and APPEAL_CANNOT_RETURN not in hindi and "the rejection" not in hindi


def test_a_refused_state_approval_advises_no_return_once_none_is_left(officer, settings):
    """A state approval refused (the parent suspended meanwhile) advises returning the
    application for correction; once it has been returned the most times allowed, that
    advice could not be followed: it advises rejecting it instead (en/hi)."""
    ApprovalTimings.objects.update(returns_max=1)  # as a superadmin sets it
    parent = OrganisationFactory(**PARENT)
    admin = make_state_admin("MH")
    application = authority_approved(officer, _under_parent(VALID, parent))
    approvals.step_decide(step_id=state_step(application).pk, decision="return", remarks="Check the letter.",
                          actor=admin)
    services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    assert decide_by_link(latest_link()[0], "approve").status_code == 302
    Organisation.objects.filter(pk=parent.pk).update(status=OrganisationStatus.SUSPENDED)
    step = ApprovalStep.objects.get(application=application, stage=Stage.STATE, decision="")
    expected = (f"The parent organisation the form names, {PARENT['name']}, is no longer active on Sandes: the "
                "organisation cannot be placed under it. It cannot be returned for correction again (it has been "
                "returned the most times the portal allows): reject it, giving this as the reason; its nodal officer "
                "may appeal the rejection or apply again.")
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=step.pk, decision="approve", actor=admin)
    assert refused.value.message_dict == {"decision": [expected]}
    client = signed_in(admin)
    client.post("/i18n/setlang/", {"language": "hi", "next": "/"})
    response = client.post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"})
    hindi = field_error(page(response), "decision")
    assert "इसे फिर से सुधार के लिए नहीं लौटाया जा सकता" in hindi
    step.refresh_from_db()
    assert step.decision == ""


# Drawn as nothing: zero-width spaces, a byte order mark, a word joiner, control characters.
INVISIBLE = "\u200b\u200b\ufeff\u2060\x01\x02 "


def test_a_reason_made_only_of_invisible_characters_is_no_reason(officer):
    """Returning or rejecting needs a reason the officer can read: remarks of zero-width
    spaces and control characters (shown, and mailed, as a blank) are refused as remarks
    left empty are, at the service and on the page alike; nothing is decided."""
    admin = make_state_admin("MH")
    application = application_with_state(nodal_officer=officer)
    step = state_step(application)
    for decision in ("return", "reject"):
        with pytest.raises(ValidationError) as refused:
            approvals.step_decide(step_id=step.pk, decision=decision, remarks=INVISIBLE, actor=admin)
        assert refused.value.message_dict == {"remarks": ["Give the reason for this decision."]}
        response = signed_in(admin).post(f"/onboarding/queue/{step.pk}/",
                                         {"decision": decision, "remarks": INVISIBLE, "confirm": "on"})
        assert response.status_code == 200
        assert field_error(page(response), "remarks") == "Give the reason for this decision."
    step.refresh_from_db()
    application.refresh_from_db()
    assert step.decision == "" and application.status == ApplicationStatus.WITH_STATE


def test_appeal_grounds_made_only_of_invisible_characters_are_no_grounds(officer):
    """An appeal states its grounds: grounds of zero-width spaces and control characters
    (the superadmins would read a blank) are refused as empty grounds are; nothing is lodged."""
    make_superadmin()
    application = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="Not a government body.",
                          actor=make_state_admin("MH"))
    with pytest.raises(ValidationError) as refused:
        approvals.application_appeal(application_id=application.pk, grounds=INVISIBLE, actor=officer)
    assert refused.value.message_dict == {"grounds": ["State the grounds of your appeal."]}
    response = signed_in(officer).post(f"/onboarding/{application.pk}/appeal/", {"grounds": INVISIBLE})
    assert response.status_code == 200
    assert field_error(page(response), "grounds") == "State the grounds of your appeal."
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    assert not ApprovalStep.objects.filter(application=application, stage=Stage.APPEAL).exists()


def test_remarks_and_grounds_longer_than_their_limit_once_composed_are_refused_at_their_field_not_cut(officer):
    """Remarks (and an appeal's grounds) the box took as within its 4,000 characters, with
    "ज़" typed as one character (stored composed as two), are refused at the field, nothing
    decided or lodged: they were cut at 4,000, their end lost, and that sent to the officer."""
    typed = ("\u095bिला परिषद ने आवेदन लौटाया, पता सुधारें। " * 120)[:3999] + "X"
    stored = len(unicodedata.normalize("NFC", typed))
    assert len(typed) == 4000 < stored
    make_superadmin()
    admin = make_state_admin("MH")
    application = application_with_state(nodal_officer=officer)
    step = state_step(application)
    response = signed_in(admin).post(f"/onboarding/queue/{step.pk}/", {"decision": "reject", "remarks": typed, "confirm": "on"})
    assert response.status_code == 200
    assert field_error(page(response), "remarks") == STORED_TWICE.format(count=f"{stored:,}", limit="4,000")
    step.refresh_from_db()
    assert step.decision == ""
    approvals.step_decide(step_id=step.pk, decision="reject", remarks="Not a government body.", actor=admin)
    response = signed_in(officer).post(f"/onboarding/{application.pk}/appeal/", {"grounds": typed, "step": "review"})
    assert response.status_code == 200
    assert field_error(page(response), "grounds") == STORED_TWICE.format(count=f"{stored:,}", limit="4,000")
    assert not ApprovalStep.objects.filter(application=application, stage=Stage.APPEAL).exists()


def _resubmitted_and_approved_by_the_authority(application, officer):
    """The officer sends ``application`` (returned) again unchanged, and its competent authority approves it."""
    services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    assert decide_by_link(latest_link()[0], "approve").status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE


def test_an_application_is_returned_for_correction_at_most_the_returns_allowed(officer, settings):
    """Returned and sent back again without end, an application would never be decided: it
    may be returned the most times the superadmins set (ApprovalTimings.returns_max: its
    competent authority's returns and the state administrators' together). Each return's
    mail says how many it has had; the last
    says it cannot be returned again; the decision pages count them, and once none is left
    offer only approval or rejection, which the service also holds to (a rejection is then
    the officer's way to the superadmins, by appeal)."""
    ApprovalTimings.objects.update(returns_max=2)  # as a superadmin sets it
    admin = make_state_admin("MH")
    make_superadmin()
    application = submitted_application(officer)
    assert decide_by_link(latest_link()[0], "return", "Correct the number of users.").status_code == 302
    first = [m for m in messages_to(officer.email) if "returned for correction" in m.subject][-1]
    assert "It has been returned for correction 1 time so far; it may be returned at most 2 times" in first.body
    _resubmitted_and_approved_by_the_authority(application, officer)

    queue_page = signed_in(admin).get(f"/onboarding/queue/{state_step(application).pk}/").content.decode()
    assert "This application has been returned for correction 1 time so far; it may be returned at most 2 times in all." in queue_page
    assert 'value="return"' in queue_page
    approvals.step_decide(step_id=state_step(application).pk, decision="return", remarks="Attach the letter again.",
                          actor=admin)
    last = [m for m in messages_to(officer.email) if "returned for correction" in m.subject][-1]
    assert ("It has now been returned for correction 2 times, the most the portal allows: the next decision on it "
            "will approve or reject it") in last.body
    assert "तो आता 2 वेळा दुरुस्तीसाठी परत पाठवला गेला आहे" in last.body.split("----------")[1]

    _resubmitted_and_approved_by_the_authority(application, officer)
    step = ApprovalStep.objects.get(application=application, stage=Stage.STATE, decision="")
    html = signed_in(admin).get(f"/onboarding/queue/{step.pk}/").content.decode()
    assert ("This application has been returned for correction 2 times, the most the portal allows: it cannot be "
            "returned again.") in html
    assert 'value="return"' not in html and 'value="approve"' in html and 'value="reject"' in html
    assert "Not needed to return the application for correction" not in html
    assert "Required when you reject: the nodal officer reads them." in html
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=step.pk, decision="return", remarks="Once more.", actor=admin)
    assert refused.value.error_dict["decision"][0].code == "returns_exhausted"
    step.refresh_from_db()
    assert step.decision == ""

    approvals.step_decide(step_id=step.pk, decision="reject", remarks="Not corrected.", actor=admin)
    appeal = approvals.application_appeal(application_id=application.pk, grounds="It was corrected.", actor=officer)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_APPEAL and appeal.stage == Stage.APPEAL
    # The appeal's page, with no return left, speaks of upholding and overturning, not of a rejection.
    hearing = signed_in(make_superadmin(email="second.root@nic.in")).get(f"/onboarding/appeals/{appeal.pk}/")
    said = page(hearing).squashed_text()
    assert "Required when you uphold the rejection: the nodal officer reads them." in said
    assert "Required: overturning or upholding the rejection is final." in said
    assert "Required when you reject" not in said and "approving or rejecting" not in said


def test_the_competent_authority_sees_the_returns_and_cannot_return_once_none_is_left(officer, settings):
    ApprovalTimings.objects.update(returns_max=1)  # as a superadmin sets it
    application = submitted_application(officer)
    assert decide_by_link(latest_link()[0], "return", "Correct the number of users.").status_code == 302
    services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    path = latest_link()[0]
    html = Client().get(path, follow=True).content.decode()
    assert ("This application has been returned for correction 1 time, the most the portal allows: it cannot be "
            "returned again.") in html
    assert 'value="return"' not in html
    response = decide_by_link(path, "return", "Again.")
    assert response.status_code == 200
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_AUTHORITY


def test_the_link_that_returned_the_application_says_it_was_sent_again_once_it_was(officer):
    """The competent authority returned the application with its link, and the officer sent
    it back to them corrected: the returning link, opened again from the first mail, says the
    application was changed and sent again, and when, as the step's other links say, not that
    a new mail will come if it comes back (it came, and the authority would wait for another)."""
    application = submitted_application(officer)
    path, _token = latest_link()
    assert decide_by_link(path, "return", "Give the correct number of users.").status_code == 302
    services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    resent = ApprovalStep.objects.filter(application=application).latest("id")
    response = Client().get(path, follow=True)
    html = response.content.decode()
    assert response.status_code == 410 and "This link has already been used" in html
    when = timezone.localtime(resent.opened_at).strftime("%-d %b %Y, %H:%M")
    assert (f"Application {application.reference} was changed and sent to you again on {when}. Use the link in the "
            "most recent email; this one no longer works.") in html
    assert "If the application comes back to you after a correction" not in html


def test_an_authority_replaced_in_the_correction_is_not_told_it_was_sent_to_them_again(officer):
    """The correction named another competent authority: the first one's links (the one that
    returned it, and the reminder's other) do not say the application was sent to them again."""
    application, first_path, reminder_path = returned_with_the_reminders_link(officer, "Another officer must approve this.")
    services.application_save_section(
        application_id=application.pk, section="competent_authority", actor=officer,
        querydict=as_querydict(dict(VALID["competent_authority"], official_email="secretary@mahaagri.gov.in")))
    services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    assert ApprovalStep.objects.filter(application=application).latest("id").assignee_email == "secretary@mahaagri.gov.in"
    for path in (first_path, reminder_path):
        html = Client().get(path, follow=True).content.decode()
        assert "sent to you again" not in html, path
