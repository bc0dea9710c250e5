"""The approval timings as a row superadmins change (onboarding/approval/timings.py and its
page), with the most times one application may be returned for correction: its first values
are the settings', only superadmins open the page, a change is confirmed before it is saved
and audited with its old and new values, bounds and the reminder's rule are refused at their
fields in each language with what was typed kept, and two superadmins saving at once do not
lose a change."""

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import translation

from onboarding.application import services as application_services
from onboarding.approval import services as approvals
from onboarding.approval.timings import approval_timings, approval_timings_update
from onboarding.models import APPROVAL_SETTINGS, TIMING_FIELDS, ApprovalTimings
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_verify
from tests.factories import UserFactory
from tests.html_tree import field_error, field_value, form_as_sent, parse
from tests.onboarding.approval_helpers import TRANSACTIONAL, make_state_admin, make_superadmin, signed_in
from tests.onboarding.test_race_pg import race

URL = "/onboarding/timings/"
FIRST = {"authority_due_days": 7, "state_due_days": 10, "appeal_due_days": 14, "reminder_days_before": 2,
         "appeal_window_days": 30, "token_ttl_days": 7, "returns_max": 3}
FIRST_TIMINGS = {name: FIRST[name] for name in TIMING_FIELDS}


@pytest.fixture
def root(db):
    return make_superadmin(email="root@sandes.nic.in")


def _sent(**changes):
    return {name: str(changes.get(name, FIRST[name])) for name in APPROVAL_SETTINGS}


@pytest.mark.django_db
def test_the_first_timings_are_the_settings_made_a_row_by_the_migration():
    assert ApprovalTimings.objects.get().values() == FIRST == {
        "authority_due_days": settings.ONBOARDING_AUTHORITY_DUE_DAYS,
        "state_due_days": settings.ONBOARDING_STATE_DUE_DAYS,
        "appeal_due_days": settings.ONBOARDING_APPEAL_DUE_DAYS,
        "reminder_days_before": settings.ONBOARDING_REMINDER_DAYS_BEFORE,
        "appeal_window_days": settings.ONBOARDING_APPEAL_WINDOW_DAYS,
        "token_ttl_days": settings.ONBOARDING_TOKEN_TTL_DAYS,
        "returns_max": settings.ONBOARDING_RETURNS_MAX,
    }


@pytest.mark.django_db
def test_only_superadmins_open_the_page(root):
    assert Client().get(URL).status_code == 302
    for someone in (UserFactory(email="someone@mha.gov.in"), make_state_admin("MH", email="admin@maharashtra.gov.in")):
        assert signed_in(someone).get(URL).status_code == 403
        assert signed_in(someone).post(URL, _sent(authority_due_days=3)).status_code == 403
    response = signed_in(root).get(URL)
    assert response.status_code == 200 and response.content.count(b"<h1") == 1
    assert "Steps already open keep their due dates" in response.content.decode()
    assert approval_timings().values() == FIRST


@pytest.mark.django_db
def test_a_change_is_shown_for_confirmation_then_saved_and_audited(root):
    client = signed_in(root)
    response = client.post(URL, _sent(authority_due_days=5, appeal_window_days=20))
    assert response.status_code == 200
    tree = parse(response.content)
    confirm = " ".join(tree.by_id("timings-confirm").parent.text().split())
    # The page is another step: its title says so, and its confirmation takes focus (portal.js) as
    # an error summary does, for a keyboard or screen-reader user not to meet the form again first.
    assert tree.find("title").text().startswith("Check the change before saving it · ")
    assert tree.by_id("confirm-summary").get("tabindex") == "-1"
    assert tree.by_id("confirm-summary").get("aria-labelledby") == "timings-confirm"
    assert "Days the competent authority has to decide: from 7 to 5" in confirm
    assert "Days the nodal officer has to appeal a rejection: from 30 to 20" in confirm
    assert "Days the state" not in confirm
    assert "The steps open now keep their due dates, reminders and links" in confirm
    assert approval_timings().values() == FIRST and not AuditEvent.objects.filter(
        action=AuditAction.APPROVAL_TIMINGS_CHANGED).exists()  # nothing saved before the confirmation

    response = client.post(URL, form_as_sent(tree))
    assert response.status_code == 302
    timings = approval_timings()
    assert timings.values() == {**FIRST, "authority_due_days": 5, "appeal_window_days": 20}
    assert [{name: period[name] for name in TIMING_FIELDS} for period in timings.earlier] == [FIRST_TIMINGS]
    event = AuditEvent.objects.get(action=AuditAction.APPROVAL_TIMINGS_CHANGED)
    assert (event.actor_id, event.old_values, event.new_values) == (root.pk, FIRST, timings.values())
    assert audit_verify() == []
    assert "They apply to the stages opened from now on" in client.get(URL).content.decode()


@pytest.mark.django_db
def test_values_changed_after_the_confirmation_are_shown_again_not_saved(root):
    client = signed_in(root)
    tree = parse(client.post(URL, _sent(authority_due_days=5)).content)
    response = client.post(URL, form_as_sent(tree, authority_due_days=4))
    assert response.status_code == 200
    assert "from 7 to 4" in " ".join(parse(response.content).by_id("timings-confirm").parent.text().split())
    assert approval_timings().values() == FIRST


@pytest.mark.django_db
def test_the_returns_limit_is_changed_on_the_page_confirmed_audited_and_applies_to_the_next_decision(root, officer):
    """The most times one application may be returned for correction is a row of the page,
    not a setting that needs a deploy: bounded (1 to 20, refused at its field, what was typed
    kept), confirmed, audited; it keeps the timings' periods as they were (it times nothing),
    and the next decision follows it: an application returned once may not be again once the
    limit is 1."""
    from tests.onboarding.approval_helpers import as_querydict, filled_application, latest_link
    from tests.onboarding_data import VALID

    client = signed_in(root)
    tree = parse(client.post(URL, _sent(returns_max=21)).content)
    assert field_error(tree, "returns_max") == "Give a whole number from 1 to 20."
    assert field_value(tree, "returns_max") == "21"
    tree = parse(client.post(URL, _sent(returns_max=1)).content)
    confirm = " ".join(tree.by_id("timings-confirm").parent.text().split())
    assert "Times one application may be returned for correction: from 3 to 1" in confirm
    assert "applies to the decisions made from the moment you save" in confirm
    assert client.post(URL, form_as_sent(tree)).status_code == 302
    timings = approval_timings()
    assert timings.values() == {**FIRST, "returns_max": 1} and timings.earlier == []
    event = AuditEvent.objects.get(action=AuditAction.APPROVAL_TIMINGS_CHANGED)
    assert (event.old_values, event.new_values) == (FIRST, {**FIRST, "returns_max": 1})

    application = filled_application(officer)
    application_services.application_submit(application_id=application.pk, actor=officer)
    admin = make_state_admin("MH", email="admin@maharashtra.gov.in")
    Client().post(latest_link()[0], {"decision": "return", "remarks": "Correct the count.", "confirm": "on"})
    application_services.application_save_section(
        application_id=application.pk, section="organisation", actor=officer,
        querydict=as_querydict(dict(VALID["organisation"], approx_users="1500")))
    application_services.application_submit(application_id=application.pk, actor=officer, reply="Corrected.")
    Client().post(latest_link()[0], {"decision": "approve", "confirm": "on"})
    state = application.steps.get(stage="state")
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=state.pk, decision="return", remarks="Again.", actor=admin)
    assert "returned for correction 1 time, the most the portal allows" in " ".join(refused.value.messages)


MESSAGES = {
    "en": ("Remind at most 2 days before the due date: a day less than the shortest stage, so that no stage "
           "is reminded of on the day it opens.", "Give a whole number of days from 1 to 365."),
    "hi": ("नियत तारीख से अधिकतम 2 दिन पहले अनुस्मारक भेजें: सबसे छोटे चरण से एक दिन कम, ताकि किसी चरण का "
           "अनुस्मारक उसके खुलने के दिन ही न जाए।", "1 से 365 तक दिनों की पूर्ण संख्या दें।"),
    "mr": ("नियत तारखेच्या जास्तीत जास्त 2 दिवस आधी स्मरणपत्र पाठवा: सर्वात लहान टप्प्यापेक्षा एक दिवस कमी, म्हणजे "
           "कोणत्याही टप्प्याचे स्मरणपत्र तो उघडण्याच्या दिवशीच जाणार नाही.", "दिवसांची पूर्ण संख्या 1 ते 365 पर्यंत द्या."),
}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
@pytest.mark.django_db
def test_bad_timings_are_refused_at_their_fields_in_each_language_and_kept(root, language):
    """A reminder no earlier than the shortest stage opens (3 days, reminded 3 days before:
    on the day it opens), and a number of days out of its bounds: each at its field, in the
    page's language, what was typed shown again, nothing saved."""
    client = signed_in(root)
    client.cookies["django_language"] = language
    reminder, bounds = MESSAGES[language]
    tree = parse(client.post(URL, _sent(state_due_days=3, reminder_days_before=3), HTTP_ACCEPT_LANGUAGE=language).content)
    assert field_error(tree, "reminder_days_before") == reminder
    assert (field_value(tree, "state_due_days"), field_value(tree, "reminder_days_before")) == ("3", "3")
    tree = parse(client.post(URL, _sent(appeal_window_days=366, token_ttl_days=0), HTTP_ACCEPT_LANGUAGE=language).content)
    assert field_error(tree, "appeal_window_days") == bounds == field_error(tree, "token_ttl_days")
    assert (field_value(tree, "appeal_window_days"), field_value(tree, "token_ttl_days")) == ("366", "0")
    tree = parse(client.post(URL, _sent(authority_due_days="seven"), HTTP_ACCEPT_LANGUAGE=language).content)
    assert field_value(tree, "authority_due_days") == "seven"
    with translation.override(language):
        assert field_error(tree, "authority_due_days") == translation.gettext("Give a whole number of days.")
    assert approval_timings().values() == FIRST
    assert not AuditEvent.objects.filter(action=AuditAction.APPROVAL_TIMINGS_CHANGED).exists()


@pytest.mark.django_db
def test_the_service_refuses_anyone_but_a_superadmin():
    admin = make_state_admin("MH", email="admin@maharashtra.gov.in")
    with pytest.raises(PermissionDenied):
        approval_timings_update(values={**FIRST, "authority_due_days": 3}, actor=admin)
    assert approval_timings().values() == FIRST


@pytest.mark.django_db
def test_the_page_reads_the_timings_once(root, django_assert_num_queries):
    client = signed_in(root)
    client.get(URL)
    # The session, the user with what the access rule, the layout and the MFA middleware read,
    # then the timings.
    with django_assert_num_queries(3):
        assert client.get(URL).status_code == 200


@TRANSACTIONAL
@pytest.mark.usefixtures("require_postgresql")
def test_two_superadmins_confirming_at_once_save_one_change_and_the_other_is_asked_again():
    first, second = make_superadmin(email="root.one@sandes.nic.in"), make_superadmin(email="root.two@sandes.nic.in")
    results = race([
        lambda: approval_timings_update(values={**FIRST, "authority_due_days": 5}, seen=FIRST, actor=first),
        lambda: approval_timings_update(values={**FIRST, "authority_due_days": 9}, seen=FIRST, actor=second),
    ], hold_sql="SELECT id FROM onboarding_approvaltimings WHERE id = 1 FOR UPDATE")
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    winner = 0 if results[0][0] == "ok" else 1
    refused = results[1 - winner][1]
    assert isinstance(refused, ValidationError) and refused.code == "changed_meanwhile"
    timings = approval_timings()
    assert timings.authority_due_days == (5, 9)[winner] and len(timings.earlier) == 1
    [event] = AuditEvent.objects.filter(action=AuditAction.APPROVAL_TIMINGS_CHANGED)
    assert event.actor_id == (first, second)[winner].pk and event.old_values == FIRST
    assert audit_verify() == []


@TRANSACTIONAL
@pytest.mark.usefixtures("require_postgresql")
def test_two_changes_saved_at_once_are_both_kept_in_order():
    """Without a confirmation to check against (``seen``), the lock orders them: the second
    records the first's values as the old ones, and both replaced values are kept."""
    root = make_superadmin(email="root.one@sandes.nic.in")
    results = race([
        lambda: approval_timings_update(values={**FIRST, "authority_due_days": 5}, actor=root),
        lambda: approval_timings_update(values={**FIRST, "state_due_days": 12}, actor=root),
    ], hold_sql="SELECT id FROM onboarding_approvaltimings WHERE id = 1 FOR UPDATE")
    assert [outcome for outcome, _value in results] == ["ok", "ok"], results
    events = list(AuditEvent.objects.filter(action=AuditAction.APPROVAL_TIMINGS_CHANGED).order_by("id"))
    assert len(events) == 2 and events[0].old_values == FIRST and events[1].old_values == events[0].new_values
    assert len(approval_timings().earlier) == 2
