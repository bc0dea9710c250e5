"""The API client pages of an organisation's admins: listing, registering (the token
on the answer only, and again after a language switch there, never cached, kept in the
session only for that switch), revoking after a
confirmation; another organisation's are 404, for every page and method; exact
query counts of the list at two sizes; every page well-formed."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from api.models import ApiClient
from api.selectors import clients_of
from api.services import api_client_create, api_client_revoke
from portal.audit.models import AuditAction, AuditEvent
from tests.html_tree import field_error, html_problems, parse, printed_controls, printed_text
from tests.verification.helpers import make_admin, signed_in
from verification.visibility.models import Audience, VisibilityPolicy

pytestmark = pytest.mark.django_db


def clients_url(organisation):
    return f"/api/organisations/{organisation.pk}/clients/"


def new_url(organisation):
    return f"/api/organisations/{organisation.pk}/clients/new/"


def revoke_url(client):
    return f"/api/clients/{client.pk}/revoke/"


def well_formed(response):
    assert response.status_code == 200
    problems = html_problems(response.content.decode())
    assert problems == []
    return response.content.decode()


def test_the_list_shows_the_organisations_clients_and_no_secret(world):
    api_client_create(organisation_id=world["office"].pk, name="Office app", actor=world["admin_a"])
    html = well_formed(signed_in(world["admin_a"]).get(clients_url(world["a"])))
    assert "e-Office" in html and world["client_a"].token_prefix in html
    assert world["client_a"].token_hash not in html
    assert "HRMS" not in html and "Office app" not in html  # B's, and the office's (on its own page)
    assert revoke_url(world["client_a"]) in html


def test_an_admin_above_sees_the_offices_clients(world):
    api_client_create(organisation_id=world["office"].pk, name="Office app", actor=world["admin_a"])
    assert "Office app" in well_formed(signed_in(world["admin_a"]).get(clients_url(world["office"])))


def test_registering_shows_the_token_once_and_keeps_it_nowhere(world):
    browser = signed_in(world["admin_a"])
    well_formed(browser.get(new_url(world["a"])))
    response = browser.post(new_url(world["a"]), {"name": "District HRMS"})
    html = well_formed(response)
    assert "no-store" in response["Cache-Control"]
    client = ApiClient.objects.get(organisation=world["a"], name="District HRMS")
    token = parse(html).find(id="api-token").get("value")
    assert token.startswith(client.token_prefix)
    assert ApiClient.objects.filter(token_hash=client.token_hash).exists()
    # Nothing the portal stores holds it: the session keeps it for the page's language switch
    # only masked by a pad that the browser alone holds (a cookie of the token page's path).
    assert token not in repr(dict(browser.session.items()))
    assert not [row for row in Session.objects.all() if token in repr(row.get_decoded())]
    assert token not in browser.cookies.output()
    # Later pages do not show it again, and the session no longer keeps it for the page's language switch.
    assert token not in browser.get(clients_url(world["a"])).content.decode()
    assert token not in repr(dict(browser.session.items()))
    assert browser.get("/api/v1/verifications", {"email": "x@mahaagri.gov.in"},
                       HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def switch_language(browser, html, language):
    """The language changed in the header of the page ``html``, as a person does it."""
    switch = parse(html).find("form", class_="language-switch")
    data = {field.get("name"): field.get("value") for field in switch.find_all("input") if field.get("name")}
    return browser.post(switch.get("action"), {**data, "language": language}, follow=True)


def test_changing_the_language_on_the_token_page_shows_the_token_again(world):
    """The token is shown on the answer to the form only, and the language switch there loaded
    the empty form: the token was gone for good, and the client had to be revoked. The page
    comes back in the language chosen, the same token in it (kept in the session for the
    switch, no longer than that), and the token leaves the session once the person goes on."""
    browser = signed_in(world["admin_a"])
    html = well_formed(browser.post(new_url(world["a"]), {"name": "District HRMS"}))
    token = parse(html).find(id="api-token").get("value")
    for language in ("hi", "mr", "en"):
        response = switch_language(browser, html, language)
        html = well_formed(response)
        tree = parse(html)
        assert tree.find("html").get("lang") == language
        assert tree.find(id="api-token").get("value") == token, language
        assert "no-store" in response["Cache-Control"]
    assert ApiClient.objects.filter(organisation=world["a"], name="District HRMS").count() == 1
    assert token not in well_formed(browser.get(clients_url(world["a"])))
    assert token not in repr(dict(browser.session.items()))
    response = switch_language(browser, html, "hi")  # that page's switch, used after going on
    assert token not in response.content.decode() and response.redirect_chain[-1][0] == clients_url(world["a"])
    assert "क्लाइंट का टोकन केवल एक बार, उसके पंजीकरण के उत्तर वाले पृष्ठ पर, दिखाया जाता है।" in well_formed(response)


def test_a_kept_token_is_shown_to_no_other_session_nor_after_five_minutes(world, settings):
    settings.API_CLIENTS_PER_ORGANISATION = 10
    browser = signed_in(world["admin_a"])
    html = well_formed(browser.post(new_url(world["a"]), {"name": "District HRMS"}))
    token = parse(html).find(id="api-token").get("value")
    again = parse(html).find("form", class_="language-switch").find("input", name="next").get("value")
    assert again == f"/api/clients/{ApiClient.objects.get(name='District HRMS').pk}/token/"
    from tests.verification.helpers import make_admin

    for other in (signed_in(make_admin(world["a"], email="second.admin@mahaagri.gov.in")),
                  signed_in(world["superadmin"])):
        response = other.get(again, follow=True)
        assert response.status_code == 200 and token not in response.content.decode()
    assert signed_in(world["admin_b"]).get(again).status_code == 404
    # The session's masked copy is nothing without the browser's pad, and a pad not its own
    # (or none) shows nothing.
    for number, wrong in enumerate((None, "", "AAAA", "%%%", "flip")):
        browser = signed_in(world["admin_a"])
        html = well_formed(browser.post(new_url(world["a"]), {"name": f"District HRMS {number}"}))
        token = parse(html).find(id="api-token").get("value")
        again = parse(html).find("form", class_="language-switch").find("input", name="next").get("value")
        pad = browser.cookies.pop("api_token_pad").value
        if wrong is not None:
            browser.cookies["api_token_pad"] = wrong if wrong != "flip" else ("B" if pad[0] == "A" else "A") + pad[1:]
        response = browser.get(again, follow=True)
        assert response.status_code == 200 and token not in response.content.decode(), wrong
    browser = signed_in(world["admin_a"])
    html = well_formed(browser.post(new_url(world["a"]), {"name": "District HRMS 5"}))
    token = parse(html).find(id="api-token").get("value")
    again = parse(html).find("form", class_="language-switch").find("input", name="next").get("value")
    assert token in well_formed(browser.get(again))  # still kept for its own session
    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=1)):
        response = browser.get(again, follow=True)
    assert token not in response.content.decode()
    assert token not in repr(dict(browser.session.items()))


def test_the_form_page_is_not_cached_either(world):
    assert "no-store" in signed_in(world["admin_a"]).get(new_url(world["a"]))["Cache-Control"]


@pytest.mark.parametrize("name,message", [("", "This field is required."), ("x" * 101, "at most 100 characters"),
                                          ("e-Office", "already has a client named e-Office")])
def test_a_bad_name_is_told_at_its_field_and_kept(world, name, message):
    response = signed_in(world["admin_a"]).post(new_url(world["a"]), {"name": name})
    html = well_formed(response)
    assert message in field_error(parse(html), "name")
    assert ApiClient.objects.filter(organisation=world["a"]).count() == 1
    if name:
        assert parse(html).find(id="id_name").get("value") == name


@pytest.mark.parametrize("name", ["\u200b", "\u2060", "\ufeff", "\u200b\u200b", " \u200d\u200c "])
def test_an_invisible_name_is_refused_at_its_field(world, name):
    """A name of zero-width spaces, word joiners or byte order marks was registered: a
    client nobody could tell apart in the list or the audit log. It is refused as an
    empty name is, at its field; nothing is registered."""
    tree = parse(well_formed(signed_in(world["admin_a"]).post(new_url(world["a"]), {"name": name})))
    assert field_error(tree, "name") == "Give the client a name."
    assert tree.find(id="api-token") is None
    assert ApiClient.objects.filter(organisation=world["a"]).count() == 1


def test_a_name_with_joiners_inside_devanagari_is_registered(world):
    name = "ई-ऑफ़िस क्ष\u200dत्र \u200cहिसाब"  # Devanagari needs the zero-width joiners to be written right
    tree = parse(well_formed(signed_in(world["admin_a"]).post(new_url(world["a"]), {"name": name})))
    assert tree.find(id="api-token") is not None
    assert ApiClient.objects.filter(organisation=world["a"], name=name).exists()


def test_sending_the_form_twice_registers_one_client_and_still_shows_its_token(world, settings):
    """The form sent twice (a double click without JavaScript, Enter pressed twice, Back and
    send again): the browser shows the second answer only, which said "already has a client
    named ..." - the token, shown once on the first answer, was lost. The second answer leads
    to the token page of the client this session has just registered; another session, or
    the same one after five minutes, is refused the name as before."""
    settings.API_CLIENTS_PER_ORGANISATION = 10
    browser = signed_in(world["admin_a"])
    html = well_formed(browser.post(new_url(world["a"]), {"name": "Twice"}))
    token = parse(html).find(id="api-token").get("value")
    client = ApiClient.objects.get(name="Twice")
    response = browser.post(new_url(world["a"]), {"name": " Twice "})
    assert response.status_code == 302 and response["Location"] == f"/api/clients/{client.pk}/token/"
    html = well_formed(browser.get(response["Location"]))
    assert parse(html).find(id="api-token").get("value") == token
    assert "already has a client named" not in html
    well_formed(browser.get(new_url(world["a"])))  # the form again: the token is still kept for it
    assert browser.post(new_url(world["a"]), {"name": "Twice"})["Location"] == f"/api/clients/{client.pk}/token/"
    assert ApiClient.objects.filter(name="Twice").count() == 1
    from tests.verification.helpers import make_admin

    other = signed_in(make_admin(world["a"], email="second.admin@mahaagri.gov.in"))
    assert "already has a client named Twice" in field_error(parse(well_formed(
        other.post(new_url(world["a"]), {"name": "Twice"}))), "name")
    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=1)):
        assert "already has a client named Twice" in field_error(parse(well_formed(
            browser.post(new_url(world["a"]), {"name": "Twice"}))), "name")
    # Another name registers another client, whose token the session keeps instead.
    html = well_formed(browser.post(new_url(world["a"]), {"name": "Thrice"}))
    assert parse(html).find(id="api-token").get("value") != token
    assert "already has a client named Twice" in field_error(parse(well_formed(
        browser.post(new_url(world["a"]), {"name": "Twice"}))), "name")
    assert ApiClient.objects.filter(name="Twice").count() == 1


def test_an_organisation_registers_at_most_api_clients_per_organisation_clients_in_use(world, settings):
    """Each client has its own API_RATE_PER_MINUTE, so an admin registering clients in a
    loop multiplied the organisation's limit (30 clients, 30 times the requests). Now the
    client past API_CLIENTS_PER_ORGANISATION is refused at the name's field, which keeps
    what was typed, and the admin is told to revoke one first; once one is revoked, the
    next is registered."""
    settings.API_CLIENTS_PER_ORGANISATION = 3
    browser = signed_in(world["admin_a"])
    for name in ("District HRMS", "Payroll"):  # with e-Office, three in use
        assert parse(well_formed(browser.post(new_url(world["a"]), {"name": name}))).find(id="api-token") is not None
    tree = parse(well_formed(browser.post(new_url(world["a"]), {"name": "Attendance"})))
    assert field_error(tree, "name") == (
        "This organisation already has 3 API clients in use, the most one organisation may have (each has its own "
        "allowance of requests a minute). Revoke one it no longer needs, then register this one.")
    assert tree.find(id="id_name").get("value") == "Attendance" and tree.find(id="api-token") is None
    assert ApiClient.objects.filter(organisation=world["a"], revoked_at__isnull=True).count() == 3
    assert not ApiClient.objects.filter(name="Attendance").exists()
    # The office below has clients of its own; a revoked client makes room.
    assert parse(well_formed(browser.post(new_url(world["office"]), {"name": "Attendance"}))).find(id="api-token")
    browser.post(revoke_url(world["client_a"]))
    assert parse(well_formed(browser.post(new_url(world["a"]), {"name": "Attendance"}))).find(id="api-token")
    assert ApiClient.objects.filter(organisation=world["a"], revoked_at__isnull=True).count() == 3


@pytest.mark.parametrize("language, expected", [
    ("en", "This organisation already has 1 API client in use, the most one organisation may have (each has its own "
           "allowance of requests a minute). Revoke it if it is no longer needed, then register this one."),
    ("hi", "इस संगठन का पहले से 1 API क्लाइंट उपयोग में है, जो एक संगठन के लिए अधिकतम है"),
    ("mr", "या संस्थेचा आधीच 1 API क्लायंट वापरात आहे, एका संस्थेसाठी जास्तीत जास्त इतकाच"),
])
def test_a_limit_of_one_client_is_said_in_the_singular(world, settings, language, expected):
    """With API_CLIENTS_PER_ORGANISATION at 1 the refusal spoke of "1 API clients"; the
    number now chooses the sentence's form, in each language."""
    settings.API_CLIENTS_PER_ORGANISATION = 1
    browser = signed_in(world["admin_a"])
    browser.cookies["django_language"] = language
    tree = parse(well_formed(browser.post(new_url(world["a"]), {"name": "Attendance"})))
    assert field_error(tree, "name").startswith(expected)
    assert not ApiClient.objects.filter(name="Attendance").exists()


def test_revoking_asks_first_then_revokes(world):
    browser = signed_in(world["admin_a"])
    html = well_formed(browser.get(revoke_url(world["client_a"])))
    assert "Yes, revoke this client" in html
    assert ApiClient.objects.get(pk=world["client_a"].pk).revoked_at is None
    response = browser.post(revoke_url(world["client_a"]), follow=True)
    assert response.redirect_chain[-1][0] == clients_url(world["a"])
    assert "was revoked" in well_formed(response)
    client = ApiClient.objects.get(pk=world["client_a"].pk)
    assert client.revoked_at is not None and client.revoked_by == world["admin_a"]
    # Again: nothing more to do.
    response = browser.get(revoke_url(world["client_a"]), follow=True)
    assert "already revoked" in response.content.decode()



def test_a_client_revoked_by_another_admin_meanwhile_is_said_so_not_revoked_again(world):
    """Two admins of the organisation open the revoke page of one client; one revokes it.
    The other's "Yes, revoke" is not answered "was revoked" as if theirs had done it: they
    are told it was revoked already, by whom and when; one revocation, audited once."""
    other = make_admin(world["a"], email="deputy@mahaagri.gov.in", full_name="Deputy A")
    first, second = signed_in(world["admin_a"]), signed_in(other)
    for browser in (first, second):
        assert "Yes, revoke this client" in well_formed(browser.get(revoke_url(world["client_a"])))
    assert "was revoked: its token is refused" in well_formed(first.post(revoke_url(world["client_a"]), follow=True))
    response = second.post(revoke_url(world["client_a"]), follow=True)
    html = well_formed(response)
    assert response.redirect_chain[-1][0] == clients_url(world["a"])
    assert "was revoked: its token is refused" not in html
    assert "This client was already revoked, by admin@mahaagri.gov.in on " in html
    client = ApiClient.objects.get(pk=world["client_a"].pk)
    assert client.revoked_by == world["admin_a"]
    assert AuditEvent.objects.filter(action=AuditAction.API_CLIENT_REVOKED, target_id=str(client.pk)).count() == 1


def test_a_revocation_that_loses_the_race_is_said_so(world, monkeypatch):
    """The other admin's revocation commits after this one's page read the client as active
    and before its own reaches the row: the service finds it revoked and the page says by
    whom, not that this one revoked it."""
    from api.forms import RevokeForm  # noqa: PLC0415

    other = make_admin(world["a"], email="deputy@mahaagri.gov.in", full_name="Deputy A")
    is_valid = RevokeForm.is_valid

    def revoked_meanwhile(form):
        api_client_revoke(client_id=world["client_a"].pk, actor=other)
        return is_valid(form)

    monkeypatch.setattr(RevokeForm, "is_valid", revoked_meanwhile)
    html = well_formed(signed_in(world["admin_a"]).post(revoke_url(world["client_a"]), follow=True))
    assert "was revoked: its token is refused" not in html
    assert "This client was already revoked, by deputy@mahaagri.gov.in on " in html
    assert ApiClient.objects.get(pk=world["client_a"].pk).revoked_by == other


def test_ones_own_revocation_sent_again_is_said_done(world):
    browser = signed_in(world["admin_a"])
    browser.post(revoke_url(world["client_a"]))
    browser.get(clients_url(world["a"]))  # the first answer's message read
    html = well_formed(browser.post(revoke_url(world["client_a"]), follow=True))
    assert "You already revoked this client on " in html and "was revoked: its token is refused" not in html

# Permission matrix -----------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["admin_b", "auditor", "outsider"])
def test_anyone_but_its_admins_gets_404_on_every_page(world, who):
    from tests.factories import UserFactory

    user = UserFactory(email="someone@gmail.com") if who == "outsider" else world[who]
    browser = signed_in(user)
    for method, url in [("get", clients_url(world["a"])), ("get", new_url(world["a"])), ("post", new_url(world["a"])),
                        ("get", f"/api/clients/{world['client_a'].pk}/token/"),
                        ("get", revoke_url(world["client_a"])), ("post", revoke_url(world["client_a"]))]:
        response = getattr(browser, method)(url, {"name": "Sneaky"} if method == "post" else {})
        assert response.status_code == 404, (who, method, url)
    assert not ApiClient.objects.filter(name="Sneaky").exists()
    assert ApiClient.objects.get(pk=world["client_a"].pk).revoked_at is None


def test_an_admin_of_the_office_cannot_reach_the_department_above(world):
    from tests.verification.helpers import make_admin

    office_admin = make_admin(world["office"], email="admin@pune.mahaagri.gov.in")
    browser = signed_in(office_admin)
    assert browser.get(clients_url(world["office"])).status_code == 200
    assert browser.get(clients_url(world["a"])).status_code == 404
    assert browser.post(revoke_url(world["client_a"])).status_code == 404


def test_a_superadmin_sees_every_organisations_clients(world):
    assert "HRMS" in signed_in(world["superadmin"]).get(clients_url(world["b"])).content.decode()


def test_an_erased_admin_is_not_named_by_the_placeholder_address(world):
    """An admin who registered and revoked a client, their account erased since: the list says
    an administrator whose details were erased, as the onboarding pages do, not erased-N@erased.invalid."""
    from portal.privacy.requests import person_erase

    second = make_admin(world["a"], email="second@mahaagri.gov.in", full_name="Second Admin")
    client, _token = api_client_create(organisation_id=world["a"].pk, name="HR app", actor=second)
    api_client_revoke(client_id=client.pk, actor=second)
    person_erase(user_id=second.pk, actor=world["superadmin"])
    html = signed_in(world["admin_a"]).get(clients_url(world["a"])).content.decode()
    row = next(row for row in parse(html).find_all("tr") if "HR app" in row.squashed_text())
    assert "erased.invalid" not in html
    assert row.squashed_text().count("an administrator whose details were erased") == 2


def test_signed_out_is_sent_to_sign_in(world):
    for url in (clients_url(world["a"]), new_url(world["a"]), f"/api/clients/{world['client_a'].pk}/token/",
                revoke_url(world["client_a"])):
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_members_page_links_to_the_clients(world):
    html = signed_in(world["admin_a"]).get(f"/verification/organisations/{world['a'].pk}/members/").content.decode()
    assert clients_url(world["a"]) in html


# Query counts ------------------------------------------------------------------------------------

# Every signed-in page starts with 2 queries: 1 the session, 2 the user with their
# platform roles (one query). Then 3 the organisation (among those the viewer
# administers), 4 the number of clients (the pager), 5 the page of clients with who
# registered and who revoked each, 6 the organisation's visibility policy (what a
# client finds its people by).
LIST_QUERIES = 6


@pytest.mark.parametrize("n", [1, 60], ids=["1 client", "60 clients"])
def test_list_query_count(world, n, django_assert_num_queries, settings):
    settings.API_CLIENTS_PER_ORGANISATION = n + 1  # a long list (half of it revoked) to page through
    for i in range(n):
        client, _token = api_client_create(organisation_id=world["a"].pk, name=f"App {i}", actor=world["admin_a"])
        if i % 2:
            from api.services import api_client_revoke

            api_client_revoke(client_id=client.pk, actor=world["admin_a"])
    browser = signed_in(world["admin_a"])
    browser.get(clients_url(world["a"]))
    with django_assert_num_queries(LIST_QUERIES):
        response = browser.get(clients_url(world["a"]))
    assert response.content.decode().count("<tr>") == min(n + 1, 50) + 1  # the rows and the header


@pytest.mark.parametrize(("email", "mobile", "said"), [
    (None, None, "Today a client finds none of your organisation's people"),  # the defaults
    (Audience.VERIFIED, Audience.ADMINS, "by their official email address, not by their mobile number"),
    (Audience.ORGANISATION, Audience.PUBLIC, "by their mobile number, not by their official email address"),
    (Audience.VERIFIED, Audience.VERIFIED, "by their official email address and by their mobile number"),
])
def test_the_list_says_what_a_client_finds_the_organisations_people_by(world, email, mobile, said):
    """A lookup finds a person only by what verified users may see of them (api.v1): the
    admin registering a client reads which of the two that is under the policy today,
    with the way to the policy."""
    VisibilityPolicy.objects.filter(organisation=world["a"]).delete()
    if email is not None:
        VisibilityPolicy.objects.create(organisation=world["a"], official_email=email, mobile=mobile)
    notice = parse(signed_in(world["admin_a"]).get(clients_url(world["a"])).content).by_id("found-by")
    assert said in notice.squashed_text()
    assert notice.find("a").get("href") == f"/people/visibility/organisations/{world['a'].pk}/"


def test_clients_in_use_come_first_on_the_list(world):
    """The list ordered by revoked_at ascending, and PostgreSQL sorts NULL last: 50
    revoked clients filled page 1 and pushed the clients in use, with their Revoke
    links, to page 2. Those in use come first on every database."""
    for i in range(50):
        client, _token = api_client_create(organisation_id=world["a"].pk, name=f"Old {i:02}", actor=world["admin_a"])
        api_client_revoke(client_id=client.pk, actor=world["admin_a"])
    assert clients_of(world["a"]).first().is_active
    html = well_formed(signed_in(world["admin_a"]).get(clients_url(world["a"])))
    assert world["client_a"].token_prefix in html and revoke_url(world["client_a"]) in html


def test_a_printed_revocation_of_a_client_shows_which_client_without_its_form(world):
    """On paper the page says which client is revoked and what that does; its button acts on
    nothing there and stays off it."""
    tree = parse(well_formed(signed_in(world["admin_a"]).get(revoke_url(world["client_a"]))))
    assert printed_controls(tree) == []
    printed = printed_text(tree)
    assert "Revoke an API client" in printed and world["client_a"].token_prefix in printed
