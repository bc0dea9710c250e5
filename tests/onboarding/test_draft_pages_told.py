"""What the nodal officer's draft pages say back, in the cases where they said the wrong thing:
the parent's search words after a save comes back with an error, the task list after a
submission refused on a section saved complete, the start page sent again after its draft was
withdrawn, an officer out of service trying to submit, and the picker given one character."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from onboarding.models import Application, ApplicationStatus
from tests.factories import OrganisationFactory
from tests.html_tree import page
from tests.onboarding.form_helpers import complete, new_application, post_section, reload, section_url, valid
from tests.onboarding_data import VALID
from tests.verification.helpers import GovernmentProfileFactory
from verification.models import VerificationStatus

pytestmark = pytest.mark.django_db


def said(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_parents_search_words_and_results_come_back_with_a_save_shown_again(officer, officer_client):
    """Words typed in the parent's search, then "Save and continue" before choosing a result:
    the page came back with the error at the search, its box empty and the results gone."""
    OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH")
    app = new_application(officer)
    response = post_section(officer_client, app, "hierarchy",
                            {"parent_choice": "existing", "parent": "", "q": "Agriculture", "continue": "1"})
    assert response.status_code == 200
    tree = page(response)
    assert tree.by_id("parent-search").get("value") == "Agriculture"
    assert "Agriculture Department, Maharashtra" in tree.by_id("picker-results").squashed_text()


def test_a_section_the_submission_refuses_is_not_called_complete_on_the_task_list(officer, officer_client):
    """Every section saved complete; then another organisation took the short code the form
    names. The submission is refused ("Organisation details is not complete."), and the task
    list it leads to said that section was complete."""
    app = complete(officer_client, new_application(officer))
    assert reload(app).status_of("organisation") == "complete"
    OrganisationFactory(short_code=VALID["organisation"]["short_code"])
    response = officer_client.post(f"/onboarding/{app.pk}/submit/", {})
    assert (response.status_code, response["Location"]) == (302, f"/onboarding/{app.pk}/tasks/")
    assert reload(app).status == ApplicationStatus.DRAFT
    assert reload(app).status_of("organisation") != "complete"
    status = page(officer_client.get(response["Location"])).by_id("status-organisation").squashed_text()
    assert status != "Complete"
    assert [reload(app).status_of(section) for section in ("nodal_officer", "competent_authority")] == [
        "complete", "complete"]


def test_the_start_page_sent_again_after_its_draft_was_withdrawn_starts_a_new_one(officer, officer_client):
    """Sent again within its ten minutes (Back, then Start), the start page's form led to the
    draft it had started, withdrawn since, saying "Your application has been started"."""
    token = page(officer_client.get("/onboarding/start/")).find("input", name="start_token").get("value")
    assert officer_client.post("/onboarding/start/", {"start_token": token}).status_code == 302
    first = Application.objects.get(nodal_officer=officer)
    assert officer_client.post(f"/onboarding/{first.pk}/withdraw/", {"confirm": "on", "reason": ""}).status_code == 302
    again = officer_client.post("/onboarding/start/", {"start_token": token})
    second = Application.objects.get(nodal_officer=officer, status=ApplicationStatus.DRAFT)
    assert second.pk != first.pk and again["Location"] == f"/onboarding/{second.pk}/tasks/"
    assert officer_client.post("/onboarding/start/", {"start_token": token})["Location"] == again["Location"]


def test_an_officer_out_of_service_is_told_they_cannot_submit_not_that_the_draft_is_closed_to_them(
        officer, officer_client):
    """Past their date of superannuation the officer may not submit (the role is used up at
    submission), but the draft is still theirs to change: the refusal said "You can no longer
    change, submit or send links for this application.", on the read-only page."""
    app = complete(officer_client, new_application(officer))
    GovernmentProfileFactory(user=officer, status=VerificationStatus.VERIFIED,
                             superannuation_date=timezone.localdate() - timedelta(days=1))
    refused = officer_client.get(f"/onboarding/{app.pk}/submit/")
    assert (refused.status_code, refused["Location"]) == (302, f"/onboarding/{app.pk}/tasks/")
    messages = said(refused)
    assert any(message.startswith("You cannot submit this application: ") for message in messages), messages
    assert not any("can no longer change" in message for message in messages), messages
    assert post_section(officer_client, app, "organisation", valid("organisation", landline="")).status_code == 302


@pytest.mark.parametrize("typed", ["M", " M ", "\u200bM"])
def test_the_picker_asks_for_more_than_one_character_rather_than_saying_nothing_matches(officer, officer_client, typed):
    """One character (the live search runs at each key): the search does not run, and the
    picker said nothing on Sandes matched and to name the parent below, steering the officer
    to name an organisation on Sandes as a new one."""
    OrganisationFactory(name="Ministry of Home Affairs", short_code="MHA")
    app = new_application(officer)
    for response in (officer_client.get("/onboarding/organisations/search/", {"q": typed}),
                     officer_client.get(section_url(app, "hierarchy"), {"q": typed})):
        text = page(response).by_id("picker-results").squashed_text()
        assert text == "Type at least 2 characters of the name or short code."
