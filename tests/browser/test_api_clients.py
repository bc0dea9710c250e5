"""The API client pages in a real browser (Chromium through Playwright), each page
screenshotted and checked with axe-core (tests/browser/support.py): an organisation's
admin opens "API clients" from the members page, registers a client (first without a
name, then with a name of invisible characters only, refused at its field), copies the
token shown once (still there after changing the page's language), calls the API with it, then revokes the client after the confirmation
and the token is refused; past the organisation's number of clients
in use, a further one is refused at its name."""

import pytest
from playwright.sync_api import expect

from api.models import ApiClient
from tests.browser.support import double_click, error_message, sign_in
from tests.factories import OrganisationFactory, UserFactory
from tests.verification.helpers import GovernmentProfileFactory, contacts_shown_to_verified_users, make_admin
from verification.models import VerificationStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOO_MANY = {
    "en": "This organisation already has 1 API client in use, the most one organisation may have",
    "hi": "इस संगठन का पहले से 1 API क्लाइंट उपयोग में है, जो एक संगठन के लिए अधिकतम है",
    "mr": "या संस्थेचा आधीच 1 API क्लायंट वापरात आहे, एका संस्थेसाठी जास्तीत जास्त इतकाच",
}


def test_an_admin_registers_uses_and_revokes_an_api_client(page, portal, check_page, settings):
    organisation = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH")
    contacts_shown_to_verified_users(organisation)  # what the API finds people by
    admin = make_admin(organisation, email="admin@mahaagri.gov.in", full_name="Admin A")
    GovernmentProfileFactory(organisation=organisation, status=VerificationStatus.VERIFIED,
                             user=UserFactory(email="asha.kulkarni@mahaagri.gov.in", full_name="Asha Kulkarni"))

    sign_in(page, portal, admin.email)
    page.goto(f"{portal}/verification/organisations/{organisation.pk}/members/")
    page.get_by_role("link", name="API clients").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"API clients of {organisation.name}")
    check_page(page, "api-clients-none")

    page.get_by_role("link", name="Register a client").click()
    page.get_by_role("button", name="Register and show the token").click()
    expect(page.get_by_text("This field is required")).to_have_count(2)  # summary and field
    check_page(page, "api-client-missing-name")
    # A name of zero-width spaces only: nothing to see, refused at the field as an empty one, what was typed kept.
    page.get_by_label("Name of the client").fill("\u200b\u200b")
    page.get_by_role("button", name="Register and show the token").click()
    expect(error_message(page, "id_name_error")).to_have_text("Give the client a name.")
    expect(page.get_by_label("Name of the client")).to_have_value("\u200b\u200b")
    expect(page.get_by_label("Name of the client")).to_have_attribute("aria-invalid", "true")
    check_page(page, "api-client-invisible-name")
    assert not ApiClient.objects.exists()
    page.get_by_label("Name of the client").fill("e-Office")
    page.get_by_role("button", name="Register and show the token").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API client registered")
    token = page.get_by_label("Token").input_value()
    assert token.startswith("sandes_")
    check_page(page, "api-client-token")
    # Changing the language there shows the same token again (the page answered the form: the
    # switch leads to the client's token page, not to the form), in Hindi, Marathi and English.
    for code in ("hi", "mr", "en"):
        page.locator("#language-select").select_option(code)
        page.locator("form.language-switch").get_by_role("button").click()
        expect(page.locator("html")).to_have_attribute("lang", code)
        assert page.locator("#api-token").input_value() == token
        check_page(page, f"api-client-token-{code}")
    expect(page.get_by_role("heading", level=1)).to_have_text("API client registered")

    response = page.request.get(f"{portal}/api/v1/verifications?email=asha.kulkarni%40mahaagri.gov.in",
                                headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200 and response.json()["verified"] is True

    page.get_by_role("link", name="Back to the API clients").click()
    expect(page.get_by_role("cell", name="e-Office", exact=True)).to_be_visible()
    expect(page.get_by_text(token)).to_have_count(0)
    check_page(page, "api-clients-one")
    page.get_by_role("link", name="Revoke e-Office").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revoke an API client")
    check_page(page, "api-client-revoke")
    page.get_by_role("button", name="Yes, revoke this client").click()
    expect(page.get_by_text("The client e-Office was revoked")).to_be_visible()
    expect(page.get_by_text("Revoked", exact=True)).to_be_visible()
    check_page(page, "api-clients-revoked")

    response = page.request.get(f"{portal}/api/v1/verifications?email=asha.kulkarni%40mahaagri.gov.in",
                                headers={"Authorization": f"Bearer {token}"})
    assert response.status == 401 and "token" in response.json()["detail"]

    # At most API_CLIENTS_PER_ORGANISATION in use (1 here; the revoked one does not count):
    # a second is refused at its name, the name typed kept.
    settings.API_CLIENTS_PER_ORGANISATION = 1
    page.get_by_role("link", name="Register a client").click()
    # A double-click sends the form once: the token is shown, not the refusal of a second
    # client of the same name (which would leave the first one's token never seen).
    page.get_by_label("Name of the client").fill("SPARROW")
    double_click(page, page.get_by_role("button", name="Register and show the token"))
    expect(page.get_by_role("heading", level=1)).to_have_text("API client registered")
    assert page.get_by_label("Token").input_value().startswith("sandes_")
    assert ApiClient.objects.filter(name="SPARROW").count() == 1
    page.get_by_role("link", name="Back to the API clients").click()
    page.get_by_role("link", name="Register a client").click()

    def refused():
        page.locator("#id_name").fill("e-Office 2")
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("load")
        expect(page.locator("#id_name_error")).to_contain_text(TOO_MANY[page.locator("html").get_attribute("lang")])
        expect(page.locator("#id_name")).to_have_value("e-Office 2")

    refused()
    check_page.in_each_language(page, "api-client-over-the-limit", reach=refused)
    check_page.assert_clean()
