"""portal.privacy.middleware: a person with a version of the data protection notice still
to accept is sent to accept it before anything else is done in their name: a page asked
for (kept as ``next``), a form sent (nothing done; what was typed kept for its page, shown
there again once accepted), a part of a page htmx asks for (the whole page goes), and the
pages of the API's clients, which are an admin's pages like any other."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from portal.privacy.notice import notice_publish
from tests.factories import OrganisationFactory
from tests.html_tree import field_value, page
from tests.onboarding.approval_helpers import make_superadmin
from tests.onboarding.test_drafts import sign_in
from tests.verification.helpers import GovernmentProfileFactory, make_admin

pytestmark = pytest.mark.django_db

ACCEPT = "/privacy/notice/accept/"


@pytest.fixture
def organisation():
    return OrganisationFactory()


@pytest.fixture
def admin(organisation):
    return make_admin(organisation, email="admin@mahaagri.gov.in")


@pytest.fixture
def notice():
    return notice_publish(version="2026.2", body_en="We keep your details.", actor=make_superadmin(email="root@nic.in"))


def asked_to_accept(response) -> str:
    """The page the person is sent on to after accepting (``next``), from a redirect to the acceptance page."""
    assert response.status_code == 302, response.status_code
    location = urlsplit(response["Location"])
    assert location.path == ACCEPT, response["Location"]
    return parse_qs(location.query)["next"][0]


def accepted(client, notice, next_url):
    response = client.post(ACCEPT, {"next": next_url, "notice": notice.pk, "accept": "on"})
    assert response.status_code == 302 and response["Location"] == next_url
    return client.get(next_url)


def test_a_form_sent_before_the_notice_is_accepted_does_nothing_and_is_kept_for_its_page(organisation, admin, notice):
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    client = Client()
    sign_in(client, admin.email)
    response = client.post(url, {"reason_code": "left_service", "reason": "Left the department on 3 March.",
                                 "confirm": "on"}, HTTP_REFERER=f"http://testserver{url}")
    assert asked_to_accept(response) == url
    verified.refresh_from_db()
    assert verified.status == "verified"  # nothing was done
    said = page(client.get(response["Location"])).squashed_text()
    assert ("Nothing was done yet: accept the data protection notice first. What you typed is kept: you will find it "
            "on its page, to check and send again.") in said
    landing = accepted(client, notice, url)
    tree = page(landing)
    assert landing.status_code == 200
    assert field_value(tree, "reason") == "Left the department on 3 March."
    assert field_value(tree, "reason_code") == "left_service"
    assert field_value(tree, "confirm") is False  # an irreversible action is confirmed again by hand
    assert "Your session had ended" not in tree.squashed_text()
    verified.refresh_from_db()
    assert verified.status == "verified"


def test_a_button_that_only_takes_posts_brings_the_person_back_to_its_page(organisation, admin, notice):
    GovernmentProfileFactory(organisation=organisation)
    queue = "/verification/queue/"
    client = Client()
    sign_in(client, admin.email)
    response = client.post("/verification/queue/decide/", {"decision": "verify"}, HTTP_REFERER=f"http://testserver{queue}")
    assert asked_to_accept(response) == queue
    assert accepted(client, notice, queue).status_code == 200


def test_an_upload_sent_before_the_notice_is_accepted_is_said_not_uploaded(organisation, admin, notice):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"/verification/organisations/{organisation.pk}/rosters/"
    client = Client()
    sign_in(client, admin.email)
    response = client.post(url, {"file": SimpleUploadedFile("roster.csv", b"Name\n")},
                           HTTP_REFERER=f"http://testserver{url}")
    assert asked_to_accept(response) == url
    said = page(client.get(response["Location"])).squashed_text()
    assert ("Nothing was uploaded yet: accept the data protection notice first, then choose the file again."
            in said)
    from verification.rosters.models import RosterImport

    assert not RosterImport.objects.exists()


def test_htmx_is_told_to_load_the_acceptance_page_whole(organisation, admin, notice):
    """A part of a page htmx asks for got the acceptance page's redirect, which htmx follows
    and puts in place of that part; a form htmx sends went through. Both now tell htmx to
    load the acceptance page as a whole page, coming back to the page they were on."""
    verified = GovernmentProfileFactory(organisation=organisation, status="verified")
    url = f"/verification/profiles/{verified.pk}/revoke/"
    client = Client()
    sign_in(client, admin.email)
    current = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": f"http://testserver{url}"}
    for response in (client.get(f"/verification/organisations/{organisation.pk}/members/", **current),
                     client.post(url, {"reason_code": "left_service", "reason": "Left.", "confirm": "on"}, **current)):
        assert response.status_code == 204
        assert response["HX-Redirect"] == f"{ACCEPT}?next={url.replace('/', '%2F')}"
    verified.refresh_from_db()
    assert verified.status == "verified"


def test_the_api_clients_pages_ask_for_the_notice_as_every_page_does(organisation, admin, notice):
    """Only the API's calls (``/api/v1/``, a client's bearer token, no session) need no
    notice: the pages where an admin registers and revokes the API's clients are pages of
    the portal under ``/api/``, and went through without it."""
    client = Client()
    sign_in(client, admin.email)
    url = f"/api/organisations/{organisation.pk}/clients/"
    assert asked_to_accept(client.get(url)) == url
    assert client.get("/api/v1/openapi.json").status_code == 200
