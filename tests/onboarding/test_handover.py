"""A nodal officer who leaves: a superadmin, or a state administrator of the application's
jurisdiction, hands the application over to the colleague who takes their place
(onboarding/approval/handover.py), or, the officer's account closed, withdraws it on
their behalf. The form keeps what it says until the new officer gives their own details."""


from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from onboarding.application import services as application_services
from onboarding.approval import services as approvals
from onboarding.approval.handover import application_officer_change
from onboarding.models import Application, ApplicationStatus, ApprovalStep
from portal.audit.models import AuditAction, AuditEvent
from portal.mail.models import OutboxMessage
from tests.factories import (
    PASSWORD,
    ApplicationFactory,
    PlatformRoleFactory,
    UserFactory,
    application_with_authority,
    application_with_state,
)
from tests.html_tree import field_error, page
from tests.onboarding.approval_helpers import (
    AUTHORITY_EMAIL,
    DEVANAGARI_RE,
    latest_link,
    make_state_admin,
    make_superadmin,
    messages_to,
    signed_in,
    state_step,
    with_totp,
)
from tests.onboarding.form_helpers import post_section, valid

pytestmark = pytest.mark.django_db

SUCCESSOR = "anita.pawar@mahaagri.gov.in"


def fresh(user):
    return type(user).objects.get(pk=user.pk)  # guardian caches permissions per object


def client_of(user):
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return client


def deactivated(user):
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    return fresh(user)


# Withdrawn on the officer's behalf ---------------------------------------------------------------

def test_an_application_of_an_officer_who_left_service_can_be_withdrawn_on_their_behalf(officer):
    """Sunil's application was returned for correction; he then left service and his account
    was made inactive. Nobody else could correct, resubmit or withdraw it: it stayed
    "Returned for correction" for ever. A superadmin withdraws it on his behalf; the audit
    row says so."""
    application = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.CHANGES_REQUESTED, letter=True)
    deactivated(officer)
    superadmin = make_superadmin()
    application_services.application_withdraw(application_id=application.pk, actor=superadmin,
                                              reason="Nodal officer left service")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    event = AuditEvent.objects.get(action=AuditAction.APPLICATION_WITHDRAWN, target_id=str(application.pk))
    assert (event.actor_id, event.new_values) == (superadmin.pk, {
        "status": "withdrawn", "reason": "Nodal officer left service", "for_officer": True})


def test_a_state_admin_withdraws_a_waiting_application_of_a_closed_account_from_its_page(officer):
    """From the handover page of an application waiting on its competent authority, whose
    officer's account is closed, the state administrator withdraws it on the officer's
    behalf: its link stops working and the authority is told it was withdrawn on the
    officer's behalf. While the officer's account is active, it is theirs alone to withdraw."""
    application = application_with_authority(nodal_officer=officer)
    admin = make_state_admin("MH")
    client = signed_in(admin)
    assert client.get(f"/onboarding/{application.pk}/withdraw/").status_code == 404  # the officer can still do it
    with pytest.raises(PermissionDenied):
        application_services.application_withdraw(application_id=application.pk, actor=admin)
    deactivated(officer)
    handover = page(client.get(f"/onboarding/{application.pk}/officer/")).squashed_text()
    assert "Its nodal officer's account is closed: they can no longer withdraw it themselves." in handover
    form = page(client.get(f"/onboarding/{application.pk}/withdraw/")).squashed_text()
    assert ("You withdraw it on behalf of its nodal officer, whose account (nodal.officer@mahaagri.gov.in) is closed: "
            "they can no longer do it themselves.") in form
    response = client.post(f"/onboarding/{application.pk}/withdraw/", {"confirm": "yes", "reason": "Left service."})
    assert response.status_code == 302 and response["Location"] == f"/onboarding/{application.pk}/"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    assert not ApprovalStep.objects.filter(application=application, decision="").exists()
    [told] = [m for m in messages_to(AUTHORITY_EMAIL) if "withdrawn" in m.subject]
    assert (f"Application {application.reference} of {application.organisation_name} was withdrawn on behalf of its "
            "nodal officer, who can no longer act on it.") in told.body


# Handed over -------------------------------------------------------------------------------------

def test_a_state_admin_hands_a_returned_application_over_to_the_successor(officer, officer_client,
                                                                         django_capture_on_commit_callbacks):
    """Sunil's application was returned for correction, and he was then transferred. The state
    administrator opens the application's page, follows "Change the nodal officer" and hands
    it over to Anita, who took his post: the application is hers (her list, her pages), no
    longer his; both are told by email, in English and Marathi; the audit row names both.
    Her own details must be in its Nodal officer section before she can send it again."""
    application = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.CHANGES_REQUESTED, letter=True)
    successor = UserFactory(email=SUCCESSOR, full_name="Anita Pawar")
    admin = make_state_admin("MH", email="secretary.it@maharashtra.gov.in")
    client = signed_in(admin)
    detail = page(client.get(f"/onboarding/{application.pk}/"))
    [link] = [node for node in detail.iter() if node.tag == "a" and node.squashed_text() == "Change the nodal officer"]
    assert link.get("href") == f"/onboarding/{application.pk}/officer/"
    assert "Change the nodal officer" not in officer_client.get(f"/onboarding/{application.pk}/").content.decode()
    url = link.get("href")
    assert client.get(url).status_code == 200
    refused = page(client.post(url, {"email": SUCCESSOR}))
    assert field_error(refused, "confirm") == "Tick the box to confirm the handover."
    refused = page(client.post(url, {"email": "nobody@mahaagri.gov.in", "confirm": "on"}))
    assert field_error(refused, "email") == "No account has this address: the new nodal officer signs up with it first."
    response = client.post(url, {"email": SUCCESSOR.upper(), "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == f"/onboarding/{application.pk}/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Application {application.reference} was handed over to {SUCCESSOR}, who was told by email, as was its "
        "previous nodal officer."]

    application.refresh_from_db()
    assert application.nodal_officer_id == successor.pk and application.status == ApplicationStatus.CHANGES_REQUESTED
    assert officer_client.get(f"/onboarding/{application.pk}/").status_code == 404
    assert application.reference not in officer_client.get("/onboarding/").content.decode()
    successor_client = client_of(successor)
    assert application.reference in successor_client.get("/onboarding/").content.decode()
    event = AuditEvent.objects.get(action=AuditAction.APPLICATION_OFFICER_CHANGED)
    assert (event.actor_id, event.target_id, event.old_values, event.new_values) == (
        admin.pk, str(application.pk), {"user": officer.email, "user_id": officer.pk},
        {"user": SUCCESSOR, "user_id": successor.pk})
    [to_him] = messages_to(officer.email)
    assert f"Application {application.reference} handed over to another nodal officer" in to_him.subject
    assert "you are no longer its nodal officer, and can no longer open it." in to_him.body
    [to_her] = messages_to(SUCCESSOR)
    assert f"Application {application.reference} handed over to you" in to_her.subject
    assert "Give your own details in its Nodal officer section before submitting it:" in to_her.body
    assert DEVANAGARI_RE.search(to_her.body) and DEVANAGARI_RE.search(to_him.body)

    # Not sent again on the previous officer's details: her own first, then it goes to the authority.
    tasks = page(successor_client.get(f"/onboarding/{application.pk}/tasks/")).squashed_text()
    assert "Nodal officer Has errors" in tasks
    with pytest.raises(ValidationError) as incomplete:
        application_services.application_submit(application_id=application.pk, actor=successor)
    assert incomplete.value.messages == ["Nodal officer is not complete."]
    post_section(successor_client, application, "nodal_officer", valid("nodal_officer", name="Anita Pawar"))
    with django_capture_on_commit_callbacks(execute=True):
        application_services.application_submit(application_id=application.pk, actor=successor,
                                                reply="My own details as the new nodal officer.")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_AUTHORITY
    assert application.section_data("nodal_officer")["official_email"] == SUCCESSOR


def test_a_waiting_application_handed_over_is_not_approved_on_the_previous_officers_details(officer):
    """An application with the state administrators is handed over: approving it would make
    the new officer admin on a form naming the previous one, so it is refused (as when an
    officer's address changes) until it is returned for correction and the new officer gives
    their details; the new officer's page says so."""
    application = application_with_state(nodal_officer=officer)
    successor = UserFactory(email=SUCCESSOR, full_name="Anita Pawar")
    admin = make_state_admin("MH")
    application_officer_change(application_id=application.pk, new_officer=successor, actor=make_superadmin())
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=admin)
    assert refused.value.message_dict == {"decision": [
        "The nodal officer's account no longer has the address the form names for them, nodal.officer@mahaagri.gov.in "
        "(changed since the form was filled): approval would make whoever holds the account now the organisation's "
        "admin. Approve it once the account's address is nodal.officer@mahaagri.gov.in again, or return the "
        "application for correction."]}
    application.refresh_from_db()
    assert (application.status, application.organisation) == (ApplicationStatus.WITH_STATE, None)
    told = page(client_of(successor).get(f"/onboarding/{application.pk}/")).squashed_text()
    assert ("This application was handed over to you, and its form still names the previous nodal officer, "
            "nodal.officer@mahaagri.gov.in: it cannot be approved until its Nodal officer section gives your own "
            "details, which you can correct when it is returned to you for correction; otherwise, start a new "
            "application.") in told
    [to_her] = messages_to(SUCCESSOR)
    assert "which you can correct when it is returned to you for correction." in to_her.body


def test_the_authority_reads_the_nodal_officer_the_form_names_and_writes_to_the_one_who_holds_it(officer):
    """Handed over while with its competent authority: the decision page names the nodal officer
    as the form does (name, designation and address: whom the approval is about), not the form's
    name beside the successor's address; an expired link tells the authority to write to the
    successor, who may send a new one."""
    application = application_with_authority(nodal_officer=officer)
    path, _token = latest_link()
    successor = UserFactory(email=SUCCESSOR, full_name="Anita Pawar")
    application_officer_change(application_id=application.pk, new_officer=successor, actor=make_superadmin())
    said = page(Client().get(path, follow=True)).squashed_text()
    assert "Its nodal officer, Sunil Patil, Deputy Director (IT) (nodal.officer@mahaagri.gov.in), asks you" in said
    assert SUCCESSOR not in said
    step = ApprovalStep.objects.get(application=application, decision="")
    with time_machine.travel(step.due_at + timedelta(days=30)):
        expired = page(Client().get(path, follow=True)).squashed_text()
    assert f"Write to the nodal officer, Anita Pawar, at {SUCCESSOR} to ask for a new link" in expired


def test_whoever_decided_as_its_competent_authority_is_not_made_its_nodal_officer():
    """Someone signed in decided the authority's step with its (forwarded) link: the portal
    counts them as its competent authority (the state level refuses them too). A handover
    made them the application's nodal officer all the same: only the form's authority address
    was compared."""
    application = application_with_authority()
    path, _token = latest_link()
    assistant = UserFactory(email="pa.director@mahaagri.gov.in", full_name="Personal Assistant")
    assert signed_in(assistant).post(path, {"decision": "approve", "confirm": "on"}).status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE
    with pytest.raises(ValidationError) as refused:
        application_officer_change(application_id=application.pk, new_officer=assistant, actor=make_state_admin("MH"))
    assert refused.value.messages == [
        "pa.director@mahaagri.gov.in decided on this application as its competent authority: the nodal officer must "
        "be someone else."]
    assert Application.objects.get(pk=application.pk).nodal_officer_id != assistant.pk


def test_a_handover_sent_twice_says_it_was_done(officer):
    """A double click, or Back and send again: the second post found the application with the
    new officer already and showed the form with "... is already this application's nodal
    officer" at the field. It says the application is with them, done by this administrator;
    another administrator's handover to them is still said at the field."""
    application = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.CHANGES_REQUESTED, letter=True)
    UserFactory(email=SUCCESSOR, full_name="Anita Pawar")
    state_admin = make_state_admin("MH")
    client = signed_in(state_admin)
    url = f"/onboarding/{application.pk}/officer/"
    assert client.post(url, {"email": SUCCESSOR, "confirm": "on"}).status_code == 302
    again = client.post(url, {"email": SUCCESSOR, "confirm": "on"})
    assert (again.status_code, again["Location"]) == (302, f"/onboarding/{application.pk}/")
    assert [str(message) for message in get_messages(again.wsgi_request)][-1] == (
        f"Application {application.display_reference} is with {SUCCESSOR} already: you handed it over to them.")
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_OFFICER_CHANGED).count() == 1
    other = signed_in(make_superadmin())
    response = other.post(url, {"email": SUCCESSOR, "confirm": "on"})
    assert response.status_code == 200
    assert field_error(page(response), "email") == f"{SUCCESSOR} is already this application's nodal officer."


def test_who_may_hand_an_application_over_and_to_whom(officer):
    """Only a superadmin, or a state administrator deciding the application's jurisdiction
    (not another state's, not an auditor, not its officer), hands an application over, and
    only one still open (not one rejected); and only to an account
    that may act as its nodal officer: active, official and verified, in service, not
    its competent authority, not themselves."""
    application = application_with_authority(nodal_officer=officer)
    successor = UserFactory(email=SUCCESSOR)
    root = make_superadmin()
    auditor = PlatformRoleFactory(role="auditor", jurisdiction="MH").user
    with_totp(auditor)
    for outsider in (make_state_admin("KA"), auditor, officer):
        assert signed_in(outsider).get(f"/onboarding/{application.pk}/officer/").status_code == 404
        with pytest.raises(PermissionDenied):
            application_officer_change(application_id=application.pk, new_officer=successor, actor=outsider)

    def refusal(new_officer, actor=root):
        with pytest.raises(ValidationError) as refused:
            application_officer_change(application_id=application.pk, new_officer=new_officer, actor=actor)
        return refused.value.messages

    assert refusal(UserFactory(email="sunil.patil@gmail.com"))[0].startswith(
        "sunil.patil@gmail.com cannot be this application's nodal officer: ")
    assert refusal(UserFactory(email=AUTHORITY_EMAIL)) == [
        f"{AUTHORITY_EMAIL} is this application's competent authority: the nodal officer must be someone else."]
    assert refusal(officer) == ["nodal.officer@mahaagri.gov.in is already this application's nodal officer."]
    assert refusal(root) == ["You cannot hand an application over to yourself: nobody decides on an application they "
                             "applied for."]
    assert refusal(deactivated(UserFactory(email="retired@mahaagri.gov.in"))) == [
        "The account retired@mahaagri.gov.in has been deactivated: it cannot be the nodal officer."]
    assert Application.objects.get(pk=application.pk).nodal_officer_id == officer.pk
    assert not AuditEvent.objects.filter(action=AuditAction.APPLICATION_OFFICER_CHANGED).exists()

    unconfirmed = UserFactory(email="raj.unconfirmed@mahaagri.gov.in", verified=False)
    assert refusal(unconfirmed) == [  # said to the administrator, about the person
        "raj.unconfirmed@mahaagri.gov.in cannot be this application's nodal officer: raj.unconfirmed@mahaagri.gov.in "
        "has not been confirmed by its holder yet: they confirm it with the code the portal mails them when they "
        "sign in."]
    # A draft: a superadmin's (the state administrators see no drafts).
    draft = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.DRAFT, reference=None)
    assert signed_in(make_state_admin("MH")).get(f"/onboarding/{draft.pk}/officer/").status_code == 404
    application_officer_change(application_id=draft.pk, new_officer=successor, actor=root)
    assert Application.objects.get(pk=draft.pk).nodal_officer_id == successor.pk

    # Rejected or under appeal (test_a_rejected_application_is_not_handed_over_the_successor_applies_again),
    # withdrawn, approved: never.
    third = UserFactory(email="third@mahaagri.gov.in")
    for status in (ApplicationStatus.WITHDRAWN, ApplicationStatus.APPROVED):
        closed = ApplicationFactory(nodal_officer=officer, status=status)
        with pytest.raises(ValidationError) as refused:
            application_officer_change(application_id=closed.pk, new_officer=third, actor=root)
        assert refused.value.code == "closed"
        response = signed_in(root).get(f"/onboarding/{closed.pk}/officer/", follow=True)
        assert "This application can no longer be handed over to another nodal officer." in response.content.decode()
    assert OutboxMessage.objects.filter(subject__contains="handed over").count() == 2  # one handover, two mails


def test_erasing_the_previous_officer_erases_their_address_from_the_handover(officer):
    """The handover's audit row names both officers by address: the erasure granted to the
    previous one (who left service) redacts it, the chain still verifying."""
    from portal.audit.services import audit_verify
    from portal.privacy.requests import person_erase

    application = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.CHANGES_REQUESTED)
    application_officer_change(application_id=application.pk, new_officer=UserFactory(email=SUCCESSOR),
                               actor=make_superadmin())
    person_erase(user_id=officer.pk, actor=None)
    event = AuditEvent.objects.get(action=AuditAction.APPLICATION_OFFICER_CHANGED)
    assert event.redacted_at is not None and "user" not in event.old_values and "user" not in event.new_values
    assert event.old_values["user_id"] == officer.pk
    assert audit_verify() == []


@pytest.mark.parametrize("status", [ApplicationStatus.DRAFT, ApplicationStatus.CHANGES_REQUESTED])
def test_erasing_the_previous_officer_erases_their_answers_from_an_application_still_being_edited(officer, status):
    """A draft, or an application returned for correction, handed over keeps the Nodal
    officer section its previous officer filled until the successor gives their own: the
    erasure granted to the previous officer erases those answers (the section is to fill
    again), in an application that is not theirs any more. One sent for a decision keeps
    them, as the form it was decided on (as their own submitted applications do)."""
    from portal.privacy.requests import person_erase

    application = ApplicationFactory(nodal_officer=officer, status=status)
    sent = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.WITH_STATE)
    successor = UserFactory(email=SUCCESSOR)
    for handed in (application, sent):
        application_officer_change(application_id=handed.pk, new_officer=successor, actor=make_superadmin(
            email=f"root{handed.pk}@nic.in"))
    mine = ApplicationFactory(nodal_officer=successor, status=status)
    person_erase(user_id=officer.pk, actor=None)
    application.refresh_from_db()
    assert application.data["nodal_officer"] == {}
    assert application.section_status["nodal_officer"] == "not_started"
    assert "Sunil Patil" not in str(application.data) and officer.email not in str(application.data)
    assert application.data["organisation"] == ApplicationFactory.build().data["organisation"]
    assert Application.objects.get(pk=sent.pk).data["nodal_officer"]["name"] == "Sunil Patil"
    assert Application.objects.get(pk=mine.pk).data == mine.data


def test_a_state_admin_cannot_hand_an_application_to_another_account_of_their_own_mailbox(officer):
    """Refused by account as by mailbox: a second account at a "+tag" address of the
    administrator's own mailbox (the same mailbox, normalised, as every decision check
    compares people) is the administrator, who would then hold, edit and submit someone
    else's application, its officer locked out."""
    application = application_with_authority(nodal_officer=officer)
    admin = make_state_admin("MH", email=SUCCESSOR)
    own_second_account = UserFactory(email="anita.pawar+apps@mahaagri.gov.in")
    with pytest.raises(ValidationError) as refused:
        application_officer_change(application_id=application.pk, new_officer=own_second_account, actor=admin)
    assert refused.value.code == "own_application"
    assert refused.value.messages == [
        "anita.pawar+apps@mahaagri.gov.in is an address of yours: you cannot hand an application over to yourself, "
        "nobody decides on an application they applied for."]
    assert Application.objects.get(pk=application.pk).nodal_officer_id == officer.pk
    assert not AuditEvent.objects.filter(action=AuditAction.APPLICATION_OFFICER_CHANGED).exists()


def test_a_rejected_application_is_not_handed_over_the_successor_applies_again(officer):
    """A rejected application, its appeal period running, is not handed over: its form (which
    cannot be corrected while it is rejected or under appeal) names the previous officer, so
    the successor's appeal could never be granted (overturning refuses the moved address).
    Its page offers no handover; the handover page and the service say why and that the
    colleague who takes the officer's place applies again."""
    application = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="No.",
                          actor=make_state_admin("MH"))
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED and approvals.appeal_deadline(application) > timezone.now()
    successor = UserFactory(email=SUCCESSOR)
    why = ("A rejected application is not handed over to another nodal officer: its form, which names the previous "
           "one, can no longer be corrected, so an appeal could not be granted on it. The colleague who takes their "
           "place applies again, with a new application.")
    for actor in (make_superadmin(), make_state_admin("MH")):
        client = signed_in(actor)
        assert "Change the nodal officer" not in client.get(f"/onboarding/{application.pk}/").content.decode()
        response = client.get(f"/onboarding/{application.pk}/officer/")
        assert response.status_code == 302 and response["Location"] == f"/onboarding/{application.pk}/"
        assert [str(m) for m in get_messages(response.wsgi_request)] == [why]
        with pytest.raises(ValidationError) as refused:
            application_officer_change(application_id=application.pk, new_officer=successor, actor=actor)
        assert (refused.value.code, refused.value.messages) == ("rejected", [why])
    # The handover page of an open one says so before anyone tries.
    open_one = application_with_authority(nodal_officer=officer)
    assert why in page(signed_in(make_superadmin()).get(f"/onboarding/{open_one.pk}/officer/")).squashed_text()
    under_appeal = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.UNDER_APPEAL)
    with pytest.raises(ValidationError) as refused:
        application_officer_change(application_id=under_appeal.pk, new_officer=successor, actor=make_superadmin())
    assert (refused.value.code, refused.value.messages) == ("rejected", [why])
    assert Application.objects.get(pk=application.pk).nodal_officer_id == officer.pk
    assert not AuditEvent.objects.filter(action=AuditAction.APPLICATION_OFFICER_CHANGED).exists()
    hindi = signed_in(make_superadmin())
    hindi.cookies.load({settings.LANGUAGE_COOKIE_NAME: "hi"})
    told = [str(m) for m in get_messages(hindi.get(f"/onboarding/{application.pk}/officer/").wsgi_request)]
    assert len(told) == 1 and DEVANAGARI_RE.search(told[0])


def test_a_draft_not_yet_named_is_handed_over_in_whole_sentences(officer):
    """A draft may be handed over before its Organisation section names anything: both mails
    read "handed onboarding application Draft #1 for  over to you" (in Hindi and Marathi too,
    an empty place where the name goes). They say it without the name, as the draft's
    retention reminder does."""
    application = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.DRAFT, reference=None,
                                     organisation_name="", jurisdiction="KA")
    successor = UserFactory(email=SUCCESSOR)
    application_officer_change(application_id=application.pk, new_officer=successor, actor=make_superadmin())
    [to_him], [to_her] = messages_to(officer.email), messages_to(SUCCESSOR)
    assert "The portal's administrators have handed your onboarding application Draft #1, which names no " \
           "organisation yet, over to another nodal officer: you are no longer its nodal officer, and can no longer " \
           "open it." in to_him.body.replace(f"#{application.pk},", "#1,")
    assert "The portal's administrators have handed onboarding application Draft #1, which names no organisation " \
           "yet, over to you: you are now its nodal officer, in place of its previous one." \
           in to_her.body.replace(f"#{application.pk},", "#1,")
    for message in (to_him, to_her):
        assert DEVANAGARI_RE.search(message.body)
        assert not [line for line in message.body.splitlines() if "  " in line or " ," in line], message.body



def test_handing_an_application_to_the_only_administrator_of_its_state_tells_its_step_to_the_superadmins(officer):
    """Nobody decides their own application: handed to the one state administrator who was
    told of its state step, the step passes to the superadmins, told as if it opened now."""
    admin = make_state_admin("MH", email="only.admin@mahaagri.gov.in")
    root = make_superadmin(email="root.one@nic.in")
    application = application_with_state(nodal_officer=officer)
    step = state_step(application)
    assert messages_to("only.admin@mahaagri.gov.in") and not messages_to("root.one@nic.in")
    application_officer_change(application_id=application.pk, new_officer=admin, actor=root)
    with pytest.raises(ValidationError, match="nobody decides on their own application"):
        approvals.step_decide(step_id=step.pk, decision="return", remarks="Wrong address", actor=admin)
    [told] = messages_to("root.one@nic.in")
    assert application.reference in told.subject
    step.refresh_from_db()
    assert step.nobody_may_decide_since is None and step.reopened_at is not None
    assigned = AuditEvent.objects.get(action=AuditAction.STEP_ASSIGNED)
    assert assigned.new_values["to"] == ["root.one@nic.in"]


def test_handing_an_application_to_one_of_two_administrators_of_its_state_tells_nobody_again(officer):
    admin = make_state_admin("MH", email="first.admin@mahaagri.gov.in")
    make_state_admin("MH", email="second.admin@mahaagri.gov.in")
    root = make_superadmin(email="root.one@nic.in")
    application = application_with_state(nodal_officer=officer)
    step = state_step(application)
    due = step.due_at
    application_officer_change(application_id=application.pk, new_officer=admin, actor=root)
    step.refresh_from_db()
    assert (step.due_at, step.reopened_at) == (due, None)
    assert not messages_to("root.one@nic.in") and len(messages_to("second.admin@mahaagri.gov.in")) == 1
    assert not AuditEvent.objects.filter(action=AuditAction.STEP_ASSIGNED).exists()


def test_a_handover_page_left_open_does_not_replace_the_officer_another_admin_handed_it_to_meanwhile(officer):
    """The page says whom the application is with (Sunil); another administrator hands it to
    Anita; the first, from the page still naming Sunil, hands it to Ravi: Anita was replaced,
    unseen. It is now refused, the page saying whom it is with now, what was typed kept."""
    from tests.html_tree import form_as_sent

    application = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.CHANGES_REQUESTED, letter=True)
    anita = UserFactory(email="anita.pawar@mahaagri.gov.in", full_name="Anita Pawar")
    ravi = UserFactory(email="ravi.kale@mahaagri.gov.in", full_name="Ravi Kale")
    client = signed_in(make_state_admin("MH", email="secretary.it@maharashtra.gov.in"))
    url = f"/onboarding/{application.pk}/officer/"
    opened = page(client.get(url))
    assert "its nodal officer's account is nodal.officer@mahaagri.gov.in" in opened.squashed_text()
    application_officer_change(application_id=application.pk, new_officer=anita,
                               actor=make_state_admin("MH", email="joint.secretary@maharashtra.gov.in"))
    response = client.post(url, form_as_sent(opened, email=ravi.email, confirm="on"))
    assert response.status_code == 200
    assert Application.objects.get(pk=application.pk).nodal_officer_id == anita.pk
    again = page(response)
    assert "its nodal officer's account is now anita.pawar@mahaagri.gov.in" in again.by_id("error-summary").squashed_text()
    response = client.post(url, form_as_sent(again, email=ravi.email, confirm="on"))
    assert response.status_code == 302
    assert Application.objects.get(pk=application.pk).nodal_officer_id == ravi.pk
