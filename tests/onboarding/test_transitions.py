"""Every transition the routing refuses: it raises, and changes nothing (no
status change, no step decided, no audit event, no email)."""

from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.html import escape

from onboarding.application import services
from onboarding.application.selectors import officer_eligibility
from onboarding.approval import services as approvals
from onboarding.models import ApplicationStatus, ApprovalStep, Decision
from onboarding.workflow import InvalidTransition
from portal.audit.models import AuditEvent
from portal.mail.models import OutboxMessage
from tests.factories import PlatformRoleFactory, UserFactory, application_with_authority, application_with_state
from tests.html_tree import field_value, form_as_sent, page
from tests.onboarding.approval_helpers import (
    appeal_confirmation,
    as_querydict,
    make_state_admin,
    make_superadmin,
    signed_in,
    state_step,
    submitted_application,
    with_totp,
)
from tests.onboarding_data import VALID

pytestmark = pytest.mark.django_db


class Unchanged:
    """Snapshot of everything a refused transition must leave alone."""

    def __init__(self, application):
        self.application = application
        application.refresh_from_db()
        self.status = application.status
        self.steps = list(ApprovalStep.objects.filter(application=application).values_list("id", "decision"))
        self.events = AuditEvent.objects.count()
        self.mails = OutboxMessage.objects.count()

    def check(self):
        self.application.refresh_from_db()
        assert self.application.status == self.status
        assert list(ApprovalStep.objects.filter(application=self.application).values_list("id", "decision")) == self.steps
        assert AuditEvent.objects.count() == self.events
        assert OutboxMessage.objects.count() == self.mails


@pytest.fixture
def state_admin(db):
    return make_state_admin("MH", email="admin.mh@maharashtra.gov.in")


@pytest.fixture
def superadmin(db):
    return make_superadmin(email="root@nic.in")


@pytest.fixture
def with_state(officer, state_admin):
    return application_with_state(nodal_officer=officer)


@pytest.fixture
def rejected(officer, with_state, state_admin):
    step = state_step(with_state)
    approvals.step_decide(step_id=step.pk, decision="reject", remarks="Duplicate.", actor=state_admin)
    with_state.refresh_from_db()
    assert with_state.status == ApplicationStatus.REJECTED
    return with_state


def test_state_admin_of_another_state_may_not_decide(with_state):
    other = make_state_admin("KA")
    unchanged = Unchanged(with_state)
    with pytest.raises(PermissionDenied):
        approvals.step_decide(step_id=state_step(with_state).pk, decision="approve", actor=other)
    unchanged.check()
    client = signed_in(other)
    approve = {"decision": "approve", "confirm": "on"}
    assert client.post(f"/onboarding/queue/{state_step(with_state).pk}/", approve).status_code == 404
    unchanged.check()


@pytest.mark.parametrize("who", ["nobody", "officer", "auditor"])
def test_people_without_the_role_may_not_decide_a_state_step(with_state, officer, who):
    actor = {"nobody": None, "officer": officer}.get(who)
    if who == "auditor":
        actor = UserFactory()
        PlatformRoleFactory(user=actor, role="auditor", jurisdiction="")
        with_totp(actor)  # platform roles sign in with a second factor
    unchanged = Unchanged(with_state)
    with pytest.raises(PermissionDenied):
        approvals.step_decide(step_id=state_step(with_state).pk, decision="approve", actor=actor)
    unchanged.check()
    if actor is not None:
        client = signed_in(actor)
        assert client.get("/onboarding/queue/").status_code == 403
        approve = {"decision": "approve", "confirm": "on"}
        assert client.post(f"/onboarding/queue/{state_step(with_state).pk}/", approve).status_code == 403
    unchanged.check()


def test_nobody_decides_on_their_own_application(state_admin):
    """A state administrator (or superadmin) who is also the nodal officer may not decide it:
    refused at the decision, saying why."""
    admin_officer = UserFactory(email="officer.and.admin@mahaagri.gov.in")
    PlatformRoleFactory(user=admin_officer, role="state_admin", jurisdiction="MH")
    PlatformRoleFactory(user=admin_officer, role="superadmin", jurisdiction="")
    application = application_with_state(nodal_officer=admin_officer)
    unchanged = Unchanged(application)
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=admin_officer)
    assert list(refused.value.message_dict) == ["decision"]
    assert "nobody decides on their own application" in refused.value.message_dict["decision"][0]
    unchanged.check()


def test_a_state_step_needs_no_token_and_a_token_does_not_decide_it(with_state):
    unchanged = Unchanged(with_state)
    with pytest.raises(PermissionDenied):
        approvals.step_decide(step_id=state_step(with_state).pk, decision="approve", token="x" * 43)
    unchanged.check()


@pytest.mark.parametrize("decision", ["overturn", "uphold"])
def test_appeal_decisions_do_not_exist_for_a_state_step(with_state, state_admin, decision):
    unchanged = Unchanged(with_state)
    with pytest.raises(InvalidTransition):
        approvals.step_decide(step_id=state_step(with_state).pk, decision=decision, remarks="x", actor=state_admin)
    unchanged.check()


def test_appeal_decide_refuses_a_step_that_is_not_an_appeal(with_state, superadmin):
    unchanged = Unchanged(with_state)
    with pytest.raises(InvalidTransition):
        approvals.appeal_decide(step_id=state_step(with_state).pk, decision="overturn", actor=superadmin)
    unchanged.check()


@pytest.mark.parametrize("decision", ["return", "reject"])
def test_return_and_reject_need_remarks(with_state, state_admin, decision):
    unchanged = Unchanged(with_state)
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=state_step(with_state).pk, decision=decision, remarks="  ", actor=state_admin)
    assert "remarks" in refused.value.message_dict
    unchanged.check()


def test_a_decided_step_cannot_be_decided_again(with_state, state_admin, superadmin):
    step = state_step(with_state)
    approvals.step_decide(step_id=step.pk, decision="return", remarks="Fix the address.", actor=state_admin)
    unchanged = Unchanged(with_state)
    with pytest.raises(approvals.StepAlreadyDecided) as refused:
        approvals.step_decide(step_id=step.pk, decision="approve", actor=superadmin)
    assert refused.value.step.decision == Decision.RETURN and refused.value.step.decided_by == state_admin
    unchanged.check()
    client = signed_in(superadmin)
    response = client.post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "already decided by admin.mh@maharashtra.gov.in" in html and "Fix the address." in html
    unchanged.check()


def assert_appeal_refused(application, officer, grounds, refusal, message):
    """The service raises ``refusal``, the appeal page says ``message``, and nothing changes."""
    unchanged = Unchanged(application)
    with pytest.raises(refusal):
        approvals.application_appeal(application_id=application.pk, grounds=grounds, actor=officer)
    unchanged.check()
    response = signed_in(officer).post(f"/onboarding/{application.pk}/appeal/", {"grounds": grounds, "step": "save"})
    assert response.status_code == 200 and message in response.content.decode()
    unchanged.check()


@pytest.mark.parametrize("status_fixture", ["submitted", "with_state"])
def test_appeal_is_refused_unless_rejected(request, officer, status_fixture):
    application = (application_with_authority(nodal_officer=officer) if status_fixture == "submitted"
                   else request.getfixturevalue("with_state"))
    assert_appeal_refused(application, officer, "Please.", InvalidTransition, "nothing to appeal")


def test_appeal_after_the_period_is_refused(rejected, officer, settings):
    # The period ends with the day the officer was told (appeal_until): a second later.
    later = approvals.appeal_deadline(rejected) + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        assert_appeal_refused(rejected, officer, "Late but right.", approvals.AppealWindowClosed, "cannot be appealed now")


def test_appeal_within_the_period_is_accepted(rejected, officer, settings):
    just_in_time = approvals.appeal_deadline(rejected)
    with time_machine.travel(just_in_time, tick=False):
        approvals.application_appeal(application_id=rejected.pk, grounds="It is not a duplicate.", actor=officer)
    rejected.refresh_from_db()
    assert rejected.status == ApplicationStatus.UNDER_APPEAL


def test_appeal_by_an_officer_who_may_no_longer_act_is_refused(rejected, officer):
    # Their primary address became a personal one: as at every other action of theirs,
    # the appeal is refused with the reason, and its page offers no form but says why.
    EmailAddress.objects.create(user=officer, email="sunil.patil@gmail.com", verified=True)
    officer.email = "sunil.patil@gmail.com"
    officer.save(update_fields=["email"])
    problem = officer_eligibility(officer)
    assert problem
    assert_appeal_refused(rejected, officer, "It is not a duplicate.", services.OfficerNotEligible, escape(problem))
    html = signed_in(officer).get(f"/onboarding/{rejected.pk}/appeal/").content.decode()
    assert escape(problem) in html and "can lodge the appeal once" in html
    assert 'name="grounds"' not in html and "Lodge the appeal" not in html


def test_appeal_by_someone_else_is_refused(rejected):
    unchanged = Unchanged(rejected)
    with pytest.raises(PermissionDenied):
        approvals.application_appeal(application_id=rejected.pk, grounds="Please.", actor=UserFactory())
    unchanged.check()


def test_appeal_needs_grounds(rejected, officer):
    unchanged = Unchanged(rejected)
    with pytest.raises(ValidationError) as refused:
        approvals.application_appeal(application_id=rejected.pk, grounds=" ", actor=officer)
    assert "grounds" in refused.value.message_dict
    client = signed_in(officer)
    response = client.post(f"/onboarding/{rejected.pk}/appeal/", {"grounds": ""})
    assert response.status_code == 200 and 'id="id_grounds_error"' in response.content.decode()
    unchanged.check()


def test_second_appeal_and_appeal_after_a_final_rejection_are_refused(rejected, officer, superadmin, state_admin):
    appeal = approvals.application_appeal(application_id=rejected.pk, grounds="Not a duplicate.", actor=officer)
    unchanged = Unchanged(rejected)
    with pytest.raises(InvalidTransition):
        approvals.application_appeal(application_id=rejected.pk, grounds="Again.", actor=officer)
    unchanged.check()
    with pytest.raises(PermissionDenied):  # a state administrator does not hear appeals
        approvals.appeal_decide(step_id=appeal.pk, decision="overturn", actor=state_admin)
    with pytest.raises(ValidationError):  # upholding states why
        approvals.appeal_decide(step_id=appeal.pk, decision="uphold", remarks="", actor=superadmin)
    with pytest.raises(InvalidTransition):  # "approve" is not an appeal decision
        approvals.appeal_decide(step_id=appeal.pk, decision="approve", actor=superadmin)
    unchanged.check()
    client = signed_in(state_admin)
    assert client.get("/onboarding/appeals/").status_code == 403
    assert client.post(f"/onboarding/appeals/{appeal.pk}/", {"decision": "overturn", "confirm": "on"}).status_code == 403
    approvals.appeal_decide(step_id=appeal.pk, decision="uphold", remarks="It is a duplicate.", actor=superadmin)
    final = Unchanged(rejected)
    with pytest.raises(InvalidTransition):
        approvals.application_appeal(application_id=rejected.pk, grounds="Once more.", actor=officer)
    with pytest.raises(approvals.StepAlreadyDecided):
        approvals.appeal_decide(step_id=appeal.pk, decision="overturn", actor=superadmin)
    final.check()


def test_an_appeal_sent_again_once_lodged_is_said_lodged_not_refused(rejected, officer):
    """Back and "Lodge the appeal" again (or a double click without JavaScript, the second
    post read after the first was lodged): the officer is told their appeal was lodged,
    and nothing is lodged a second time."""
    client = signed_in(officer)
    url = f"/onboarding/{rejected.pk}/appeal/"
    confirmation = appeal_confirmation(client, rejected, "Not a duplicate.")
    assert client.post(url, form_as_sent(page(confirmation), step="save")).status_code == 302
    unchanged = Unchanged(rejected)
    response = client.post(url, form_as_sent(page(confirmation), step="save"))
    assert response.status_code == 302 and response["Location"] == f"/onboarding/{rejected.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert "You lodged this appeal already: the superadmins will decide on it." in html
    assert "cannot be appealed now" not in html
    unchanged.check()


def test_an_appeal_is_lodged_only_once_confirmed_and_a_stale_confirmation_is_refused(rejected, officer):
    """One appeal, never withdrawn: the grounds sent from the form lead to a confirmation that
    shows them with the rejection and says it is final, and lodges nothing; "Change the
    grounds" shows them in the form again; a confirmation whose page showed another state of
    the application than the one now is refused, the grounds typed kept; only "Lodge the
    appeal" from a current confirmation lodges it."""
    client = signed_in(officer)
    url = f"/onboarding/{rejected.pk}/appeal/"
    grounds = "It is not a duplicate.\nIt is a directorate of the state."
    unchanged = Unchanged(rejected)
    response = client.post(url, {"grounds": grounds, "step": "review"})
    assert response.status_code == 200
    confirmation = page(response)
    text = confirmation.squashed_text()
    assert "Check your appeal before you lodge it" in text and "Duplicate." in text
    assert "It is not a duplicate. It is a directorate of the state." in text
    assert "cannot be withdrawn" in text
    unchanged.check()  # nothing lodged, nobody told

    edited = page(client.post(url, form_as_sent(confirmation, step="edit")))
    assert field_value(edited, "grounds") == grounds
    unchanged.check()

    stale = client.post(url, form_as_sent(confirmation, step="save", shown_values="0" * 32))
    assert stale.status_code == 200
    assert "Nothing was lodged" in page(stale).squashed_text()
    assert field_value(page(stale), "grounds") == grounds
    unchanged.check()

    response = client.post(url, form_as_sent(confirmation, step="save"))
    assert response.status_code == 302 and response["Location"] == f"/onboarding/{rejected.pk}/"
    rejected.refresh_from_db()
    assert rejected.status == ApplicationStatus.UNDER_APPEAL
    assert rejected.steps.get(stage="appeal").grounds == grounds


def test_the_appeals_confirmation_shows_the_grounds_as_they_will_be_lodged(rejected, officer):
    """Grounds holding a bidi override (which draws what follows it backwards) and other
    control characters are lodged without them (multi_line): the confirmation shows them as
    they will be lodged and the superadmins read them, not as the browser would draw the raw
    text."""
    client = signed_in(officer)
    confirmation = page(appeal_confirmation(client, rejected, "  Not a duplicate.\u202e exe.txt\x07\r\nSee the letter.  "))
    assert confirmation.by_id("appeal-grounds").text() == "Not a duplicate. exe.txt\nSee the letter."
    client.post(f"/onboarding/{rejected.pk}/appeal/", form_as_sent(confirmation, step="save"))
    assert rejected.steps.get(stage="appeal").grounds == "Not a duplicate. exe.txt\nSee the letter."


def test_an_officer_is_told_before_appealing_that_the_short_code_was_given_to_another_organisation(rejected, officer):
    """The short code the form names was given to another organisation after the rejection:
    no superadmin can overturn it while it is (final approval refuses it), so the one appeal
    could only end with the rejection upheld. The appeal page and its confirmation say so before it is lodged; a
    confirmation shown before the code was taken lodges nothing."""
    from tests.factories import OrganisationFactory

    client = signed_in(officer)
    url = f"/onboarding/{rejected.pk}/appeal/"
    assert "could only end with the rejection upheld" not in page(client.get(url)).squashed_text()
    before = page(appeal_confirmation(client, rejected, "Not a duplicate."))
    OrganisationFactory(short_code=VALID["organisation"]["short_code"], name="Directorate of Archives")
    said = ("The short code your application names, DOA-MH, has been given to another organisation since it was "
            "rejected: no superadmin can overturn the rejection while it is, so an appeal could only end with the rejection "
            "upheld.")
    assert said in page(client.get(url)).squashed_text()
    unchanged = Unchanged(rejected)
    stale = page(client.post(url, form_as_sent(before, step="save")))
    assert "Nothing was lodged" in stale.squashed_text() and said in stale.squashed_text()
    unchanged.check()
    confirmation = page(appeal_confirmation(client, rejected, "Not a duplicate."))
    assert said in confirmation.squashed_text()
    assert client.post(url, form_as_sent(confirmation, step="save")).status_code == 302  # theirs to lodge all the same


def test_a_successor_is_told_before_appealing_that_the_form_names_the_previous_officer(officer, state_admin):
    """Handed over while with the state administrators, then rejected: the form still names the
    previous officer, so no superadmin can overturn the rejection (final approval would make the
    successor admin on a form naming someone else, and an appeal cannot return it for
    correction). The appeal page and its confirmation say so before the one appeal is lodged."""
    from onboarding.approval.handover import application_officer_change

    application = application_with_state(nodal_officer=officer)
    successor = UserFactory(email="anita.pawar@mahaagri.gov.in", full_name="Anita Pawar")
    application_officer_change(application_id=application.pk, new_officer=successor, actor=make_superadmin())
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="Not eligible.",
                          actor=state_admin)
    said = ("The form names nodal.officer@mahaagri.gov.in as the nodal officer's address, and your account's address "
            "is anita.pawar@mahaagri.gov.in: no superadmin can overturn the rejection while it is so, so an appeal "
            "could only end with the rejection upheld.")
    client = signed_in(successor)
    assert said in page(client.get(f"/onboarding/{application.pk}/appeal/")).squashed_text()
    assert said in page(appeal_confirmation(client, application, "Please hear it.")).squashed_text()


def test_an_officer_who_left_government_service_cannot_appeal(rejected, officer):
    """Overturning the rejection would make them the organisation's first admin, which final
    approval refuses to someone out of service: the appeal is refused with the reason, as
    submitting is, and the page says why instead of offering the form."""
    from tests.factories import OrganisationFactory
    from tests.verification.helpers import GovernmentProfileFactory

    GovernmentProfileFactory(user=officer, organisation=OrganisationFactory(name="District Agriculture Office, Pune"),
                             status="revoked", reason_code="left_service")
    reason = ("The latest government verification of this account, in District Agriculture Office, Pune, was ended "
              "for this reason: Left government service.")
    with pytest.raises(ValidationError) as refused:
        approvals.application_appeal(application_id=rejected.pk, grounds="Please.", actor=officer)
    assert reason in refused.value.messages[0]
    said = page(signed_in(officer).get(f"/onboarding/{rejected.pk}/appeal/"))
    assert reason in said.squashed_text() and said.by_id("id_grounds") is None
    rejected.refresh_from_db()
    assert rejected.status == ApplicationStatus.REJECTED


def test_a_superadmin_who_is_the_officer_is_told_on_opening_their_own_appeal_that_another_decides_it(state_admin):
    """A superadmin who applied as the nodal officer finds their own appeal among the appeals:
    its page says at once that another superadmin decides it, and offers no decision to make
    and be refused at; another superadmin gets the form."""
    root_officer = make_superadmin(email="officer.root@maharashtra.gov.in")
    application = application_with_state(nodal_officer=root_officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="reject", remarks="No.", actor=state_admin)
    appeal = approvals.application_appeal(application_id=application.pk, grounds="Yes.", actor=root_officer)
    tree = page(signed_in(root_officer).get(f"/onboarding/appeals/{appeal.pk}/"))
    assert ("You are this application's nodal officer: nobody decides on their own application, so another "
            "administrator decides it.") in tree.squashed_text()
    assert not [n for n in tree.iter() if n.tag == "input" and n.get("name") == "decision"]
    other = page(signed_in(make_superadmin(email="other.root@nic.in")).get(f"/onboarding/appeals/{appeal.pk}/"))
    assert [n for n in other.iter() if n.tag == "input" and n.get("name") == "decision"]
    assert "nobody decides on their own application" not in other.squashed_text()


def test_an_appeal_the_portal_closed_on_the_officers_erasure_is_said_closed_by_the_portal(rejected, officer, superadmin):
    """The nodal officer's account was erased while their appeal waited: the portal closed it,
    upholding the rejection, with no administrator deciding. The superadmin who opens it (from
    the mail that asked them to hear it) and the application's earlier decisions say so, in
    each language, not that an administrator whose details were erased decided it."""
    from django.db import transaction

    from onboarding.models import Application

    appeal = approvals.application_appeal(application_id=rejected.pk, grounds="Not a duplicate.", actor=officer)
    with transaction.atomic():
        approvals.appeal_close_on_erasure(application=Application.objects.select_for_update().get(pk=rejected.pk))
    client = signed_in(superadmin)
    for language, closed in (("en", "closed by the portal"), ("hi", "पोर्टल ने बंद"), ("mr", "पोर्टलने बंद")):
        client.cookies["django_language"] = language
        text = page(client.get(f"/onboarding/appeals/{appeal.pk}/")).squashed_text()
        assert closed in text, text
        assert "whose details were erased" not in text
    client.cookies["django_language"] = "en"
    text = page(client.get(f"/onboarding/appeals/{appeal.pk}/")).squashed_text()
    assert f"This appeal on application {rejected.reference} was closed by the portal" in text
    assert "its nodal officer's account was erased" in text and "The rejection stands." in text
    history = page(client.get(f"/onboarding/{rejected.pk}/")).by_id("history-heading").parent.squashed_text()
    assert "closed by the portal: its nodal officer's account was erased" in history, history
    assert "whose details were erased" not in history
    timeline = page(client.get(f"/onboarding/{rejected.pk}/")).squashed_text()
    assert ("Decision recorded: Appeal to the superadmins — Rejection upheld — closed by the portal: its nodal "
            "officer's account was erased") in timeline


def test_an_appeal_confirmed_from_a_second_page_with_other_grounds_says_they_were_not_added(rejected, officer):
    """Two confirmations, with different grounds (two tabs): the first lodges the appeal; the
    second is told the appeal was lodged already with the grounds of the other page, and that
    those it sent were not added (an appeal's grounds are never changed), not just "lodged"."""
    client = signed_in(officer)
    url = f"/onboarding/{rejected.pk}/appeal/"
    first = page(appeal_confirmation(client, rejected, "Not a duplicate."))
    second = page(appeal_confirmation(client, rejected, "It is a directorate of the state."))
    assert client.post(url, form_as_sent(first, step="save")).status_code == 302
    unchanged = Unchanged(rejected)
    response = client.post(url, form_as_sent(second, step="save"))
    assert response.status_code == 302
    text = page(client.get(response["Location"])).squashed_text()
    assert ("You lodged this appeal already, from another page, with other grounds: the superadmins read those. The "
            "grounds you sent now were not added, as an appeal's grounds cannot be changed once lodged.") in text
    unchanged.check()
    assert rejected.steps.get(stage="appeal").grounds == "Not a duplicate."


@pytest.mark.parametrize("state", ["rejected", "under_appeal", "approved"])
def test_withdrawal_is_refused_once_the_application_is_decided(request, officer, superadmin, state_admin,
                                                               django_capture_on_commit_callbacks, state):
    application = request.getfixturevalue("with_state")
    step = state_step(application)
    if state == "approved":
        approvals.step_decide(step_id=step.pk, decision="approve", actor=state_admin)
    else:
        approvals.step_decide(step_id=step.pk, decision="reject", remarks="No.", actor=state_admin)
        if state == "under_appeal":
            approvals.application_appeal(application_id=application.pk, grounds="Yes.", actor=officer)
    unchanged = Unchanged(application)
    with pytest.raises(InvalidTransition):
        services.application_withdraw(application_id=application.pk, actor=officer)
    unchanged.check()


def test_submit_again_while_with_the_authority_is_refused(officer):
    application = submitted_application(officer)
    unchanged = Unchanged(application)
    with pytest.raises(InvalidTransition):
        services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    unchanged.check()


def test_editing_while_with_the_state_is_refused(with_state, officer):
    unchanged = Unchanged(with_state)
    with pytest.raises(services.ApplicationNotEditable):
        services.application_save_section(application_id=with_state.pk, section="organisation",
                                          querydict=as_querydict(VALID["organisation"]), actor=officer)
    unchanged.check()


def test_a_decision_on_a_withdrawn_application_is_refused(officer, state_admin):
    application = application_with_state(nodal_officer=officer)
    step = state_step(application)
    services.application_withdraw(application_id=application.pk, actor=officer)
    unchanged = Unchanged(application)
    with pytest.raises(approvals.StepAlreadyDecided) as refused:
        approvals.step_decide(step_id=step.pk, decision="approve", actor=state_admin)
    assert refused.value.step.decision == Decision.CANCELLED
    unchanged.check()
    client = signed_in(state_admin)
    response = client.post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"})
    assert response.status_code == 409 and "withdrawn" in response.content.decode()


def test_new_link_is_refused_unless_with_the_authority(with_state, officer, client):
    unchanged = Unchanged(with_state)
    with pytest.raises(InvalidTransition):
        approvals.step_resend_authority_link(application_id=with_state.pk, actor=officer)
    unchanged.check()
    client.force_login(officer)
    assert client.get(f"/onboarding/{with_state.pk}/resend-link/").status_code == 405
    response = client.post(f"/onboarding/{with_state.pk}/resend-link/", follow=True)
    assert "not waiting for the competent authority" in response.content.decode()
    unchanged.check()


def test_unknown_step_ids_are_not_found(state_admin, superadmin):
    with pytest.raises(ApprovalStep.DoesNotExist):
        approvals.step_decide(step_id=999999, decision="approve", actor=state_admin)
    client = signed_in(superadmin)
    assert client.get("/onboarding/queue/999999/").status_code == 404
    assert client.post("/onboarding/appeals/999999/", {"decision": "overturn", "confirm": "on"}).status_code == 404
    assert client.get("/onboarding/queue/abc/").status_code == 404


def test_the_appeal_page_of_an_appeal_lodged_or_decided_says_so_not_that_the_period_ended(rejected, officer, superadmin):
    """The rejection mail's link to the appeal page, followed once the appeal was lodged, said
    "The appeal period ended on <a day still to come>, or an appeal was already lodged": it
    says when the appeal was lodged and that the superadmins will decide it, then when they
    decided it and how; only a period that did end is said to have ended."""
    client = signed_in(officer)
    url = f"/onboarding/{rejected.pk}/appeal/"
    appeal = approvals.application_appeal(application_id=rejected.pk, grounds="Not a duplicate.", actor=officer)
    lodged = timezone.localtime(appeal.opened_at).strftime("%-d %b %Y")
    html = page(client.get(url)).squashed_text()
    assert f"The appeal against this rejection was lodged on {lodged}: the superadmins will decide on it." in html
    assert "period ended" not in html and "cannot be appealed now" not in html
    approvals.appeal_decide(step_id=appeal.pk, decision="uphold", remarks="It is a duplicate.", actor=superadmin)
    appeal.refresh_from_db()
    decided = timezone.localtime(appeal.decided_at).strftime("%-d %b %Y")
    html = page(client.get(url)).squashed_text()
    assert f"The appeal against this rejection was decided on {decided}: Rejection upheld." in html
    assert "period ended" not in html and "cannot be appealed now" not in html
