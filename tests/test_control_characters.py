"""Text a person sends that reaches the database without a form field's check (search
words in a query string, a reason posted, an API parameter): a NUL, which PostgreSQL
refuses in text, gets an answer, never a 500; and a "next" page that is a bare word, or
an address no URL parser accepts."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from api.services import api_client_create
from onboarding.models import Application, ApplicationStatus, Section
from portal.audit.models import AuditAction, AuditEvent
from tests.factories import OrganisationFactory, UserFactory
from tests.onboarding.approval_helpers import make_superadmin, post_confirming_access, signed_in, submitted_application
from tests.portal.role_helpers import make_admin

pytestmark = pytest.mark.django_db
NUL = "ab\x00cd"


def test_search_words_with_a_nul_are_searched_without_it(officer):
    OrganisationFactory(name="Abcd Directorate", short_code="ABCD")
    client = signed_in(officer)
    picker = client.get("/onboarding/organisations/search/", {"q": NUL})
    assert picker.status_code == 200 and "Abcd Directorate" in picker.content.decode()
    draft = client.post("/onboarding/start/")["Location"].rstrip("/").split("/")[-2]
    section = client.get(f"/onboarding/{draft}/section/{Section.HIERARCHY.value}/", {"q": NUL})
    assert section.status_code == 200 and "Abcd Directorate" in section.content.decode()
    roles = signed_in(make_superadmin()).get("/portal/roles/", {"q": NUL})
    assert roles.status_code == 200 and "Abcd Directorate" in roles.content.decode()


def test_a_reason_with_a_nul_is_said_at_its_box(officer):
    """The withdrawal's reason goes through its form field's checks: a NUL is refused at
    the box (Django's own message), nothing withdrawn."""
    application = submitted_application(officer)
    response = signed_in(officer).post(f"/onboarding/{application.pk}/withdraw/", {"confirm": "yes", "reason": "a\x00b"})
    assert response.status_code == 200
    assert 'id="id_reason_error"' in response.content.decode()
    assert "Null characters are not allowed." in response.content.decode()
    assert Application.objects.get(pk=application.pk).status == ApplicationStatus.WITH_AUTHORITY
    assert not AuditEvent.objects.filter(action=AuditAction.APPLICATION_WITHDRAWN).exists()


def test_an_api_address_with_a_control_character_is_422(db):
    organisation = OrganisationFactory()
    _client, token = api_client_create(organisation_id=organisation.pk, name="e-Office",
                                       actor=make_admin(organisation, email="admin@example.gov.in"))
    for address in ("a\x00b@mahaagri.gov.in", "a\x07b@mahaagri.gov.in"):
        response = Client().get("/api/v1/verifications", {"email": address}, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 422 and response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("action", ["action_primary", "action_remove", "action_send"])
def test_an_address_with_a_nul_on_the_email_page_changes_nothing(action):
    """"Make primary", "Remove" and "Re-send" name the address in a posted value: one with
    a NUL is no address of the account, and the page is shown again, nothing changed."""
    person = UserFactory(email="asha.k@mha.gov.in")
    EmailAddress.objects.create(user=person, email="ab@mha.gov.in", verified=True)
    client = Client(raise_request_exception=False)
    client.force_login(person)
    for sent in ({"email": "ab\x00@mha.gov.in"}, {}):  # and with no address at all
        response = post_confirming_access(client, "/accounts/email/", {action: "", **sent})
        assert response.status_code == 302 and response["Location"] == "/accounts/email/", response.status_code
    person.refresh_from_db()
    assert person.email == "asha.k@mha.gov.in"
    assert sorted(EmailAddress.objects.filter(user=person).values_list("email", "primary")) == [
        ("ab@mha.gov.in", False), ("asha.k@mha.gov.in", True)]


@pytest.mark.parametrize("next_page", ["abc", "0", "-1", "home", "99999-12-31", "a\x00b", "//evil.example/x",
                                       "/\\evil.example", "https://evil.example/"])
def test_the_notice_page_goes_on_only_to_a_page_of_this_site(officer, next_page):
    response = signed_in(officer).get("/privacy/notice/accept/", {"next": next_page})
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_notice_page_goes_on_to_the_page_asked_for(officer):
    response = signed_in(officer).get("/privacy/notice/accept/", {"next": "/verification/?x=1"})
    assert response.status_code == 302 and response["Location"] == "/verification/?x=1"


@pytest.mark.parametrize("method,url,signed_in_first", [
    ("get", "/accounts/login/", False), ("post", "/accounts/login/", False), ("get", "/accounts/signup/", False),
    ("post", "/accounts/logout/", True), ("get", "/accounts/reauthenticate/", True),
])
def test_a_malformed_next_page_is_ignored_never_a_server_error(officer, method, url, signed_in_first):
    """An address no URL parser accepts ("http://[::1": an IPv6 host left open) is no page
    to go on to: the page answers as without it."""
    client = signed_in(officer) if signed_in_first else Client()
    client.raise_request_exception = False
    response = getattr(client, method)(url, {"next": "http://[::1"})
    assert response.status_code in (200, 302), response.status_code
    assert "[::1" not in response.get("Location", "")


def test_a_nul_at_a_field_is_refused_in_the_pages_language(officer):
    client = signed_in(officer)
    client.cookies["django_language"] = "hi"
    page = client.get("/people/", {"q": NUL}).content.decode()
    assert "शून्य (null) वर्णों की अनुमति नहीं है।" in page and "Null characters" not in page
