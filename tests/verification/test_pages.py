"""The verification pages through Django's test client: asking, the queue and its
bulk decision with a confirmation, deciding one request, members, suspending,
reinstating and revoking with a confirmation, automatic verification; every page
well-formed (tests/html_tree.html_problems)."""

import unicodedata
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation

from portal.audit.models import AuditAction, AuditEvent
from portal.mail.models import OutboxMessage
from portal.organisations.models import Membership, MembershipRole, Organisation, OrganisationStatus
from portal.organisations.services import organisation_admin_grant
from portal.privacy.requests import person_correct
from tests.factories import PASSWORD, OrganisationFactory, UserFactory
from tests.html_tree import (
    field_error,
    field_value,
    form_as_sent,
    html_problems,
    parse,
    printed_controls,
    printed_filters,
    printed_text,
)
from tests.portal.test_forms import STORED_TWICE
from tests.verification.helpers import GovernmentProfileFactory, contacts_shown_to_verified_users, form_data, signed_in
from verification import services
from verification.models import (
    ADMIN_END_REASONS,
    EndReason,
    GovernmentProfile,
    SystemNote,
    VerificationSettings,
    VerificationStatus,
)
from verification.visibility.models import Audience, PersonalVisibility

pytestmark = pytest.mark.django_db


def well_formed(response, status=200):
    assert response.status_code == status, (response.status_code, response.get("Location"))
    problems = html_problems(response.content.decode())
    assert problems == [], problems
    return response.content.decode()


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# Asking -------------------------------------------------------------------------------------------

def test_signed_out_people_are_sent_to_sign_in(world):
    for url in ("/verification/", "/verification/organisations/", f"/verification/organisations/{world['office'].pk}/join/",
                "/verification/queue/", f"/verification/organisations/{world['office'].pk}/members/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_my_verification_page_shows_the_public_badge_until_verified(world):
    client = signed_in(world["person"])
    html = well_formed(client.get("/verification/"))
    assert "Public user" in html and "You have not asked any organisation" in html
    assert "Verification queue" not in html  # not an admin
    GovernmentProfileFactory(user=world["person"], organisation=world["office"], status=VerificationStatus.VERIFIED)
    html = well_formed(client.get("/verification/"))
    assert "Verified government user" in html and "District Agriculture Office, Pune" in html


@pytest.mark.parametrize(("case", "said"), [
    ("superannuated", "Your date of superannuation has passed: this verification no longer counts"),
    ("organisation_suspended", "District Agriculture Office, Pune is not active: while it is not, it vouches for "
                               "nobody"),
])
def test_my_verification_page_does_not_call_a_verification_no_longer_in_force_verified(world, case, said):
    """The day after superannuation (before the hourly job writes it down) and while the
    organisation is suspended, the verification counts for nothing (verified_in_force: the
    API, the directory, who counts as a verified viewer): the person's own page says so."""
    fields = {"superannuation_date": timezone.localdate() - timedelta(days=1)} if case == "superannuated" else {}
    GovernmentProfileFactory(user=world["person"], organisation=world["office"], status=VerificationStatus.VERIFIED,
                             **fields)
    if case == "organisation_suspended":
        world["office"].status = OrganisationStatus.SUSPENDED
        world["office"].save(update_fields=["status"])
    html = well_formed(signed_in(world["person"]).get("/verification/"))
    assert "Verified government user" not in html and "Public user" in html
    assert said in html


def test_the_nav_links_to_verification(world):
    nav = parse(signed_in(world["public"]).get("/verification/").content.decode()).find("nav")
    assert any(link.get("href") == "/verification/" for link in nav.find_all("a"))


@pytest.mark.parametrize("query, found", [
    ("?q=agriculture", ["Agriculture Department, Maharashtra", "District Agriculture Office, Pune"]),
    ("?q=dao-pune", ["District Agriculture Office, Pune"]),
    ("?state=KA", ["Directorate of Health Services, Karnataka"]),
    ("?q=agriculture&state=KA", []),
])
def test_finding_an_organisation_by_name_short_code_and_state(world, query, found):
    OrganisationFactory(name="Agriculture Board (pending)", status=OrganisationStatus.PENDING)
    html = well_formed(signed_in(world["public"]).get("/verification/organisations/" + query))
    rows = parse(html).find("tbody")
    # Each name is followed by the local name the factory gives every organisation.
    names = [row.find_all("td")[0].squashed_text().replace("अभिलेख निदेशालय", "").strip() for row in rows.find_all("tr")] if rows else []
    assert names == found
    assert "pending" not in html


def test_the_organisations_found_say_the_languages_of_their_names(world):
    """Each organisation found shows its name in English and its name in Hindi or the state's
    language, each marked with its language: on a Hindi page the English name, on an English
    page the Devanagari one are read in their own."""
    OrganisationFactory(name="Karnataka Health Directorate", name_local="ಆರೋಗ್ಯ ನಿರ್ದೇಶನಾಲಯ", state="KA")
    client = signed_in(world["public"])
    for language in ("en", "hi"):
        client.cookies["django_language"] = language
        rows = parse(well_formed(client.get("/verification/organisations/?q=health"))).find("tbody").find_all("tr")
        cells = [row.find_all("td")[0] for row in rows]
        assert [[(" ".join(element.text().split()), element.get("lang")) for element in cell.iter() if element.get("lang")]
                for cell in cells] == [[("Directorate of Health Services, Karnataka", "en"), ("अभिलेख निदेशालय", "hi")],
                                       [("Karnataka Health Directorate", "en"), ("ಆರೋಗ್ಯ ನಿರ್ದೇಶನಾಲಯ", "kn")]]


@pytest.mark.parametrize("stored_way, typed_way", [("\u095b", "\u091c\u093c"), ("\u091c\u093c", "\u095b")],
                         ids=["stored-one-character", "stored-with-nukta"])
def test_an_organisation_named_with_a_nukta_is_found_whichever_way_the_nukta_was_typed(world, stored_way, typed_way):
    """Its name in Hindi, "ज़िला परिषद, पुणे": "ज़" one character (text converted from legacy
    fonts) or "ज" and the nukta (InScript) look the same, and find each other."""
    OrganisationFactory(name="Zilla Parishad, Pune", name_local=f"{stored_way}िला परिषद, पुणे", short_code="ZP-PUNE")
    html = well_formed(signed_in(world["public"]).get("/verification/organisations/", {"q": f"{typed_way}िला परिषद"}))
    rows = parse(html).find("tbody")
    assert rows and [row.find_all("td")[0].squashed_text() for row in rows.find_all("tr")] == [
        "Zilla Parishad, Pune\u091c\u093cिला परिषद, पुणे"]


@pytest.mark.parametrize("invisible", ["\u200b", "\u200e", "\ufeff", "\u2060", "\u00ad"], ids=lambda c: f"U+{ord(c):04X}")
def test_an_organisation_is_found_by_words_pasted_with_an_invisible_character(world, invisible):
    """A name copied from a web page or a chat carries invisible characters (a zero-width
    space, a left-to-right mark, a byte order mark): the join search found nothing with
    them. They are dropped from what is searched (the joiners Devanagari needs are kept)."""
    OrganisationFactory(name="Zilla Parishad, Pune", name_local="ज़िला परिषद, पुणे", short_code="ZP-PUNE")
    client = signed_in(world["public"])
    for typed in (f"{invisible}Zilla Parishad", f"ज़िला{invisible} परिषद", f"ZP-{invisible}PUNE{invisible}"):
        rows = parse(well_formed(client.get("/verification/organisations/", {"q": typed}))).find("tbody")
        assert rows and [row.find_all("td")[0].squashed_text() for row in rows.find_all("tr")] == [
            "Zilla Parishad, Puneज़िला परिषद, पुणे"], typed


def test_listing_a_states_organisations_says_when_more_match_than_are_shown(world):
    """A state or UT lists its organisations by name, the first 50: more than that is said,
    with how to find the others (part of the name), not left for the person to guess."""
    for n in range(50):
        OrganisationFactory(name=f"Taluka Office {n:03d}", state="GA")
    client = signed_in(world["public"])
    more = "More organisations match than the 50 shown here"
    html = well_formed(client.get("/verification/organisations/?state=GA"))
    assert len(parse(html).find("tbody").find_all("tr")) == 50 and more not in html
    OrganisationFactory(name="Taluka Office 050", state="GA")
    tree = parse(well_formed(client.get("/verification/organisations/?state=GA")))
    rows = tree.find("tbody").find_all("tr")
    assert len(rows) == 50 and "Taluka Office 049" in rows[-1].squashed_text()
    assert ("More organisations match than the 50 shown here: add part of the name, or the short code, to find "
            "yours.") in tree.squashed_text()
    html = well_formed(client.get("/verification/organisations/?state=GA&q=office+050"))
    assert "Taluka Office 050" in html and more not in html


def _offices_named_after(department, n):
    """``n`` active offices below ``department`` named as such offices are ("District
    <its name>, District 000", ...): each contains its name and sorts before it."""
    Organisation.objects.bulk_create([
        Organisation(name=f"District {department.name}, District {i:03d}", org_type="district_office", level="district",
                     state=department.state, parent=department, ancestry=department.subtree_prefix, status="active")
        for i in range(n)])


def test_the_organisation_named_or_coded_as_typed_comes_first_among_many_that_contain_it(world):
    """A person of the state's Health Department types its whole name: the 60 district
    offices whose names contain it sort before it, and the first 50 by name were all
    theirs. The one named as typed (any case) comes first, then the others by name; the
    one whose short code was typed comes first too."""
    department = OrganisationFactory(name="Health Department", short_code="", state="MH")
    _offices_named_after(department, 60)
    client = signed_in(world["public"])
    tree = parse(well_formed(client.get("/verification/organisations/", {"q": "health department"})))
    rows = tree.find("tbody").find_all("tr")
    assert len(rows) == 50
    assert rows[0].find("a").get("href") == f"/verification/organisations/{department.pk}/join/"
    assert [row.find_all("td")[0].squashed_text()[:42] for row in rows[1:3]] == [
        "District Health Department, District 000", "District Health Department, District 001"]
    assert "More organisations match than the 50 shown here" in tree.squashed_text()
    coded = OrganisationFactory(name="Vibhag Arogya", short_code="HEALTH", state="MH")
    rows = parse(well_formed(client.get("/verification/organisations/", {"q": "Health"}))).find("tbody").find_all("tr")
    assert rows[0].find("a").get("href") == f"/verification/organisations/{coded.pk}/join/"


@pytest.mark.parametrize("typed", ["a", "a\u200b", "\u200b\u200b", "\u200ba\u2060"],
                         ids=["one-letter", "one-letter-and-a-zero-width-space", "two-zero-width-spaces", "one-letter-in-marks"])
def test_nothing_is_searched_for_one_letter(world, typed):
    """Nothing is searched for fewer than two visible characters (what is copied with a
    zero-width space included): the page does not say no organisation matches."""
    html = well_formed(signed_in(world["public"]).get("/verification/organisations/", {"q": typed}))
    assert "Results" not in html and "No active organisation matches" not in html


@pytest.mark.parametrize(("field", "limit"), [("designation", 150), ("office", 200)])
def test_a_detail_longer_than_its_field_once_composed_is_refused_at_its_field_not_cut(world, field, limit):
    """"ज़" typed as one character (U+095B, as text converted from a legacy font has it) is
    stored composed as two (ज + nukta): a detail the form took as within its limit but longer
    once composed is refused at its field, the text typed kept, nothing asked; never cut."""
    typed = ("\u095bिला कृषि अधिकारी कार्यालय, पुणे \u095bिला परिषद " * 10)[:limit - 1] + "X"
    assert len(typed) == limit
    response = signed_in(world["person"]).post(f"/verification/organisations/{world['office'].pk}/join/",
                                               form_data(**{field: typed}))
    html = well_formed(response)
    tree = parse(html)
    stored = len(unicodedata.normalize("NFC", typed))
    assert stored > limit
    assert field_error(tree, field) == STORED_TWICE.format(count=f"{stored:,}", limit=f"{limit:,}")
    assert field_value(tree, field) == typed
    assert not GovernmentProfile.objects.filter(user=world["person"]).exists()


def test_the_search_says_where_the_person_already_asked(world):
    GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    html = well_formed(signed_in(world["person"]).get("/verification/organisations/?q=agriculture"))
    assert "Your request or verification: Waiting for a decision" in html
    assert f"/verification/organisations/{world['parent'].pk}/join/" in html
    assert f"/verification/organisations/{world['office'].pk}/join/" not in html


def test_asking_with_errors_keeps_every_answer_and_ties_each_error_to_its_field(world):
    client = signed_in(world["person"])
    url = f"/verification/organisations/{world['office'].pk}/join/"
    html = well_formed(client.post(url, form_data(designation="", mobile="12345", official_email="asha@gmail.com",
                                                  superannuation_date="2001-01-01")))
    tree = parse(html)
    for field in ("designation", "mobile", "official_email", "superannuation_date"):
        widget = tree.by_id(f"id_{field}")
        assert widget.get("aria-invalid") == "true", field
        assert f"id_{field}_error" in widget.get("aria-describedby"), field
        assert tree.by_id(f"id_{field}_error") is not None
    assert tree.by_id("id_office").get("value") == "Establishment Section"
    assert tree.by_id("id_employee_code").get("value") == "EMP-1042"
    assert tree.by_id("id_mobile").get("value") == "12345"
    assert "Enter an official government address" in html
    assert not GovernmentProfile.objects.exists()


@pytest.mark.parametrize("field", ["designation", "office", "employee_code"])
def test_a_detail_made_only_of_invisible_characters_is_refused_at_its_field(world, field):
    """Zero-width spaces and joiners show nothing: the admins would decide on a blank detail."""
    client = signed_in(world["person"])
    url = f"/verification/organisations/{world['office'].pk}/join/"
    tree = parse(well_formed(client.post(url, form_data(**{field: "\u200b\u2060\u200b"}))))
    assert field_error(tree, field) == "This field is required."
    assert not GovernmentProfile.objects.exists()


@pytest.mark.parametrize(("language", "message"), [
    ("en", "Enter a date of superannuation between tomorrow and 31 December 2100."),
    ("hi", "कल से 31 दिसंबर 2100 तक की अधिवर्षिता की तिथि दर्ज करें।"),
    ("mr", "उद्यापासून 31 डिसेंबर 2100 पर्यंतचा सेवानिवृत्तीचा दिनांक नोंदवा."),
])
def test_a_date_of_superannuation_past_the_last_a_roster_takes_is_refused_at_its_field(world, language, message):
    """A roster refuses a date of superannuation after 2100 (rosters.checks); the request
    took 9999-12-31, a verification no superannuation would ever end. Refused at the field,
    saying which dates it takes; the last day a roster takes is taken."""
    client = signed_in(world["person"])
    client.cookies["django_language"] = language
    url = f"/verification/organisations/{world['office'].pk}/join/"
    for typed in ("9999-12-31", "2101-01-01"):
        response = client.post(url, form_data(superannuation_date=typed))
        assert response.status_code == 200, typed
        tree = parse(well_formed(response))
        assert field_error(tree, "superannuation_date") == message
        assert field_value(tree, "superannuation_date") == typed
    assert not GovernmentProfile.objects.exists()
    assert client.post(url, form_data(superannuation_date="2100-12-31")).status_code == 302
    assert str(GovernmentProfile.objects.get(user=world["person"]).superannuation_date) == "2100-12-31"


def test_asking_sends_the_request_in_the_language_used(world):
    client = signed_in(world["person"])
    url = f"/verification/organisations/{world['office'].pk}/join/"
    html = well_formed(client.get(url))
    assert "Address on the organisation&#x27;s official domain" in html or "Address on the organisation's official domain" in html
    assert parse(html).by_id("id_official_email").get("value") == world["person"].email  # the account's address to start
    client.cookies["django_language"] = "hi"
    response = client.post(url, form_data(), headers={"accept-language": "hi"})
    assert response.status_code == 302 and response["Location"] == "/verification/"
    profile = GovernmentProfile.objects.get(user=world["person"])
    assert profile.status == VerificationStatus.PENDING and profile.request_language == "hi"
    html = well_formed(client.get("/verification/"))
    assert "District Agriculture Office, Pune" in html


def test_asking_again_while_waiting_shows_the_request_not_the_form(world):
    GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    client = signed_in(world["person"])
    url = f"/verification/organisations/{world['office'].pk}/join/"
    html = well_formed(client.get(url))
    assert "You have already asked this organisation" in html and 'method="post"' not in html.split("<main", 1)[1]
    client.post(url, form_data())
    assert GovernmentProfile.objects.count() == 1


def test_the_form_starts_from_the_details_given_last_time(world):
    GovernmentProfileFactory(user=world["person"], organisation=world["other"], status=VerificationStatus.REJECTED,
                             designation="Deputy Director")
    html = well_formed(signed_in(world["person"]).get(f"/verification/organisations/{world['office'].pk}/join/"))
    assert parse(html).by_id("id_designation").get("value") == "Deputy Director"


def test_an_auditor_is_told_why_they_cannot_ask(world):
    client = signed_in(world["auditor"])
    url = f"/verification/organisations/{world['office'].pk}/join/"
    html = well_formed(client.get(url), status=403)
    assert "read-only" in html
    assert client.post(url, form_data()).status_code == 403
    assert not GovernmentProfile.objects.exists()


def test_an_organisation_not_active_has_no_join_page(world):
    pending = OrganisationFactory(status=OrganisationStatus.PENDING)
    assert signed_in(world["person"]).get(f"/verification/organisations/{pending.pk}/join/").status_code == 404


def test_what_was_typed_before_the_session_ended_is_kept(world):
    url = f"/verification/organisations/{world['office'].pk}/join/"
    client = Client()
    # Signed in on this browser before (through the sign-in page), then the session ended.
    assert client.post("/accounts/login/", {"login": world["person"].email, "password": PASSWORD}).status_code == 302
    client.cookies.pop("sessionid")
    response = client.post(url, form_data(designation="Under Secretary"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post("/accounts/login/", {"login": world["person"].email, "password": PASSWORD}).status_code == 302
    html = well_formed(client.get(url))
    assert parse(html).by_id("id_designation").get("value") == "Under Secretary"
    assert not GovernmentProfile.objects.exists()
    # Kept only for whoever typed it: a browser nobody signed in on keeps nothing.
    stranger = Client()
    stranger.post(url, form_data(designation="Under Secretary"))
    assert not [key for key in stranger.session.keys() if key.startswith("pending_input:")]


def test_withdrawing_a_request(world):
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    assert signed_in(world["public"]).post(f"/verification/requests/{profile.pk}/withdraw/",
                                           {"confirm": "on"}).status_code == 404
    response = signed_in(world["person"]).post(f"/verification/requests/{profile.pk}/withdraw/", {"confirm": "on"},
                                               follow=True)
    assert "Your request to District Agriculture Office, Pune was withdrawn." in messages_of(response)
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.CANCELLED


def test_a_printed_withdrawal_of_a_request_says_which_request_without_its_form(world):
    """On paper the page says which request is withdrawn and that it cannot be taken back; its
    box to tick and button act on nothing there and stay off it."""
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    tree = parse(signed_in(world["person"]).get(f"/verification/requests/{profile.pk}/withdraw/").content)
    assert printed_controls(tree) == []
    printed = printed_text(tree)
    assert "You asked District Agriculture Office, Pune to verify you" in printed
    assert "Once withdrawn, the request cannot be taken back" in printed


@pytest.mark.parametrize(("language", "withdrawn", "withdrawn_event", "revoked"), [
    ("en", "Withdrawn", "Verification request withdrawn", "Revoked"),
    ("hi", "वापस लिया गया", "सत्यापन अनुरोध वापस लिया गया", "निरस्त"),
    ("mr", "मागे घेतली", "पडताळणीची विनंती मागे घेतली", "निरस्त"),
])
def test_a_request_the_person_withdrew_is_called_withdrawn_not_cancelled(world, language, withdrawn, withdrawn_event,
                                                                         revoked):
    """The person presses "Withdraw the request" ("अनुरोध वापस लें", "विनंती मागे घ्या"); their list
    then said "Cancelled" ("रद्द"), and so did the request's page and its history ("Verification
    request cancelled"), as if someone else had cancelled it. It is said withdrawn, in the word of
    the button, and a verification the administrators revoked is not."""
    waiting = GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    GovernmentProfileFactory(user=world["person"], organisation=world["other"], status=VerificationStatus.REVOKED)
    client = signed_in(world["person"])
    client.cookies["django_language"] = language
    assert client.post(f"/verification/requests/{waiting.pk}/withdraw/", {"confirm": "on"}).status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == VerificationStatus.CANCELLED  # the stored value stays
    rows = {}
    for row in parse(well_formed(client.get("/verification/"))).find("tbody").find_all("tr"):
        cells = [cell.squashed_text() for cell in row.find_all("td")]
        rows[cells[0]] = cells[1]
    assert rows == {"District Agriculture Office, Pune": withdrawn, "Directorate of Health Services, Karnataka": revoked}
    admin = signed_in(world["admin_office"])
    admin.cookies["django_language"] = language
    shown = parse(well_formed(admin.get(f"/verification/profiles/{waiting.pk}/"))).squashed_text()
    assert f"{withdrawn}, " in shown and f": {withdrawn_event} —" in shown, shown


def test_withdrawing_a_request_twice_says_it_was_withdrawn_not_decided(world):
    """The confirmation sent again (a double click without JavaScript, Back and send again):
    nothing more is done, and the page said "This request was already decided." - nobody
    decided it. It says the person withdrew it; a request an administrator decided is
    still said decided."""
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    client = signed_in(world["person"])
    url = f"/verification/requests/{profile.pk}/withdraw/"
    assert client.post(url, {"confirm": "on"}).status_code == 302
    client.get("/verification/mine/")  # the first answer's message read
    for again in (client.post(url, {"confirm": "on"}, follow=True), client.get(url, follow=True)):
        assert messages_of(again) == ["You withdrew this request already: it stays withdrawn."]
    assert AuditEvent.objects.filter(action=AuditAction.VERIFICATION_CANCELLED).count() == 1
    decided = GovernmentProfileFactory(user=world["person"], organisation=world["other"],
                                       status=VerificationStatus.REJECTED)
    assert messages_of(client.post(f"/verification/requests/{decided.pk}/withdraw/", {"confirm": "on"},
                                   follow=True)) == ["This request was already decided."]


def test_withdrawing_a_request_asks_to_confirm_first(world):
    """A withdrawn request cannot be taken back, and it counts against the requests a person
    may make in a day: the page of their verifications links to a page that says so, and
    the request is withdrawn only once the box is ticked."""
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    client = signed_in(world["person"])
    url = f"/verification/requests/{profile.pk}/withdraw/"
    mine = parse(well_formed(client.get("/verification/")))
    assert any(link.get("href") == url for link in mine.find_all("a"))
    html = well_formed(client.get(url))
    assert "counts among the requests you may make in 24 hours" in html
    assert field_value(parse(html), "confirm") is False
    tree = parse(well_formed(client.post(url), status=400))
    assert field_error(tree, "confirm") == "Tick the box to confirm that you want to withdraw this request."
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.PENDING
    assert client.post(url, {"confirm": "on"}).status_code == 302
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.CANCELLED


def test_asking_again_and_again_is_refused_at_the_daily_limit_keeping_the_answers(world, settings):
    """Ask, withdraw, ask: each request waits in a queue and is audited, so a person has
    VERIFICATION_REQUESTS_PER_DAY of them in 24 hours, withdrawn ones counted."""
    settings.VERIFICATION_REQUESTS_PER_DAY = 2
    client = signed_in(world["person"])
    url = f"/verification/organisations/{world['office'].pk}/join/"
    for _ in range(2):
        assert client.post(url, form_data()).status_code == 302
        profile = GovernmentProfile.objects.get(user=world["person"], status=VerificationStatus.PENDING)
        assert client.post(f"/verification/requests/{profile.pk}/withdraw/", {"confirm": "on"}).status_code == 302
    html = well_formed(client.post(url, form_data(designation="Under Secretary")))
    assert "You have asked to be verified 2 times in the last 24 hours" in html
    assert parse(html).by_id("id_designation").get("value") == "Under Secretary"
    assert GovernmentProfile.objects.filter(user=world["person"]).count() == 2
    # Another organisation's queue is no way round it; another person is not limited by it.
    signed_in(world["person"]).post(f"/verification/organisations/{world['other'].pk}/join/", form_data())
    assert GovernmentProfile.objects.filter(user=world["person"]).count() == 2
    GovernmentProfile.objects.filter(user=world["person"]).update(
        requested_at=timezone.now() - timedelta(days=1, seconds=1))
    assert client.post(url, form_data()).status_code == 302


def test_the_daily_limit_on_requests_counts_every_account_of_one_mailbox(world, settings):
    """Accounts are kept one per address, "+tag" and all: asha.kulkarni+2@ is Asha's mailbox
    again, so her requests from it count with those of her first account; refused at the
    form, her answers kept. Another person's requests count apart."""
    settings.VERIFICATION_REQUESTS_PER_DAY = 2
    GovernmentProfileFactory(user=world["person"], organisation=world["office"], status=VerificationStatus.CANCELLED)
    GovernmentProfileFactory(user=world["person"], organisation=world["other"], status=VerificationStatus.CANCELLED)
    tagged = UserFactory(email="asha.kulkarni+2@pune.mahaagri.gov.in", full_name="Asha Kulkarni")
    url = f"/verification/organisations/{world['office'].pk}/join/"
    tree = parse(well_formed(signed_in(tagged).post(url, form_data(
        official_email=tagged.email, designation="Under Secretary"))))
    said = tree.by_id("error-summary").squashed_text()
    assert ("You have asked to be verified 2 times in the last 24 hours (from any account of your mailbox: your "
            "address with or without a “+” tag), the most the portal accepts.") in said
    assert tree.by_id("id_designation").get("value") == "Under Secretary"
    assert not GovernmentProfile.objects.filter(user=tagged).exists()
    # Someone else at the same office is not held by Asha's requests.
    other = UserFactory(email="vasant.patil@pune.mahaagri.gov.in")
    assert signed_in(other).post(url, form_data(official_email=other.email)).status_code == 302


def test_the_join_page_says_when_the_most_requests_one_may_have_waiting_already_wait(world, settings):
    settings.VERIFICATION_WAITING_MAX = 2
    for n in range(2):
        GovernmentProfileFactory(user=world["person"], organisation=OrganisationFactory(name=f"Taluka Office {n}"))
    client = signed_in(world["person"])
    url = f"/verification/organisations/{world['office'].pk}/join/"
    said = ("You have 2 requests waiting for a decision (from any account of your mailbox: your address with or without "
            "a “+” tag), the most one person may have at once: withdraw one of them (Verification, in the menu, signed "
            "in with the account that made it) before asking another organisation.")
    tree = parse(well_formed(client.get(url)))
    assert said in tree.by_id("waiting-max").squashed_text()
    assert tree.by_id("waiting-max").find("a").get("href") == "/verification/"
    # Sent all the same (a page open since before): refused at the form, every answer kept.
    tree = parse(well_formed(client.post(url, form_data(designation="Under Secretary"))))
    assert said in tree.by_id("error-summary").squashed_text()
    assert tree.by_id("id_designation").get("value") == "Under Secretary"
    assert not GovernmentProfile.objects.filter(organisation=world["office"]).exists()
    GovernmentProfile.objects.filter(user=world["person"]).update(status=VerificationStatus.CANCELLED)
    html = well_formed(client.get(url))
    assert 'id="waiting-max"' not in html
    assert client.post(url, form_data()).status_code == 302


def test_the_join_page_counts_the_requests_waiting_from_every_account_of_one_mailbox(world, settings):
    """Asha's "+2" account is her mailbox again: the requests her first account left waiting
    are hers, and the join page of the second says so before the form is filled in."""
    settings.VERIFICATION_WAITING_MAX = 2
    for n in range(2):
        GovernmentProfileFactory(user=world["person"], organisation=OrganisationFactory(name=f"Taluka Office {n}"))
    tagged = UserFactory(email="asha.kulkarni+2@pune.mahaagri.gov.in", full_name="Asha Kulkarni")
    client = signed_in(tagged)
    url = f"/verification/organisations/{world['office'].pk}/join/"
    tree = parse(well_formed(client.get(url)))
    assert "from any account of your mailbox" in tree.by_id("waiting-max").squashed_text()
    tree = parse(well_formed(client.post(url, form_data(official_email=tagged.email, designation="Under Secretary"))))
    assert "the most one person may have at once" in tree.by_id("error-summary").squashed_text()
    assert tree.by_id("id_designation").get("value") == "Under Secretary"
    assert not GovernmentProfile.objects.filter(user=tagged).exists()


def test_the_join_page_does_not_warn_of_the_most_requests_waiting_where_the_person_is_verified_at_once(
        world, settings):
    """The organisation verifies automatically and the address the form holds is the
    person's confirmed one on its domain: the request waits in no queue, so the most one
    may have waiting is no bar, and the page does not say it is."""
    settings.VERIFICATION_WAITING_MAX = 2
    for n in range(2):
        GovernmentProfileFactory(user=world["person"], organisation=OrganisationFactory(name=f"Taluka Office {n}"))
    services.auto_verification_set(organisation_id=world["office"].pk, enabled=True, actor=world["admin_office"])
    client = signed_in(world["person"])
    url = f"/verification/organisations/{world['office'].pk}/join/"
    html = well_formed(client.get(url))
    assert 'id="waiting-max"' not in html
    # Another address, not on the office's domain, would leave the request waiting: said, and refused.
    EmailAddress.objects.create(user=world["person"], email="asha@mahaagri.gov.in", verified=True)
    tree = parse(well_formed(client.post(url, form_data(official_email="asha@mahaagri.gov.in"))))
    assert "the most one person may have at once" in tree.by_id("error-summary").squashed_text()
    assert not GovernmentProfile.objects.filter(organisation=world["office"]).exists()
    assert client.post(url, form_data()).status_code == 302
    assert GovernmentProfile.objects.get(organisation=world["office"]).status == VerificationStatus.VERIFIED


# The queue ----------------------------------------------------------------------------------------

@pytest.fixture
def requests_(world):
    """Three waiting requests: two in the district office (the older first), one in the unrelated organisation."""
    older = GovernmentProfileFactory(user=world["person"], organisation=world["office"], designation="Older request")
    newer = GovernmentProfileFactory(organisation=world["office"], designation="Newer request", user=UserFactory(
        email="newer@mahaagri.gov.in"))  # official, not on the office's domain
    elsewhere = GovernmentProfileFactory(organisation=world["other"], designation="Karnataka request")
    return older, newer, elsewhere


def test_the_queue_lists_the_admins_requests_oldest_first_with_badges(world, requests_):
    html = well_formed(signed_in(world["admin_parent"]).get("/verification/queue/"))
    assert html.index("Older request") < html.index("Newer request")
    assert "Karnataka request" not in html
    assert "Address on the organisation" in html  # the person's address is on the office's domain
    assert html.count("Public user") == 2
    html = well_formed(signed_in(world["admin_other"]).get("/verification/queue/"))
    assert "Karnataka request" in html and "Older request" not in html


def test_the_queue_filters_by_status_and_organisation(world, requests_):
    GovernmentProfileFactory(organisation=world["office"], status=VerificationStatus.REJECTED, designation="Rejected one")
    GovernmentProfileFactory(organisation=world["parent"], designation="Parent request")
    client = signed_in(world["admin_parent"])
    html = well_formed(client.get("/verification/queue/?status=rejected"))
    assert "Rejected one" in html and "Older request" not in html and 'name="profile"' not in html
    html = well_formed(client.get(f"/verification/queue/?organisation={world['parent'].pk}"))
    assert "Parent request" in html and "Older request" not in html
    # Another organisation's filter is not the admin's to use.
    assert client.get(f"/verification/queue/?organisation={world['other'].pk}").status_code == 404


def test_the_printed_queue_says_which_filters_it_shows(world, requests_):
    """Its filter form is not printed: the paper says which status (waiting, when none was
    chosen) and which organisation the list is of."""
    client = signed_in(world["admin_parent"])
    assert printed_filters(parse(client.get("/verification/queue/").content)) == (
        "Showing: Status = Waiting for a decision")
    tree = parse(client.get(f"/verification/queue/?status=rejected&organisation={world['office'].pk}").content)
    assert printed_filters(tree) == f"Showing: Status = Rejected; Organisation = {world['office'].name}"


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_queues_status_filter_names_each_status_differently(world, language):
    """"Revoked" and "Cancelled" (a request the person withdrew) were the same word in Hindi:
    the filter offered it twice. The statuses of an invitation are told apart as well."""
    from verification.rosters.models import InvitationStatus  # noqa: PLC0415

    tree = parse(signed_in(world["admin_parent"]).get("/verification/queue/", HTTP_ACCEPT_LANGUAGE=language)
                 .content.decode())
    labels = [option.squashed_text() for option in tree.by_id("id_status").find_all("option") if option.get("value")]
    assert len(labels) == len(set(labels)) == len(VerificationStatus.choices), labels
    with translation.override(language):
        invitation_labels = [str(label) for _value, label in InvitationStatus.choices]
    assert len(set(invitation_labels)) == len(invitation_labels), invitation_labels


def test_people_who_administer_nothing_have_no_queue(world):
    for who in ("public", "person", "auditor"):
        assert signed_in(world[who]).get("/verification/queue/").status_code == 403, who


def test_a_suspended_organisations_own_admins_reach_its_queue_and_nothing_below_it(world):
    """As its members page and each request's page: its own requests, nothing of the offices
    below it; linked from their verification page; verifying there refused by the service."""
    parent, office = world["parent"], world["office"]
    own = GovernmentProfileFactory(organisation=parent, designation="Parent clerk")
    also = GovernmentProfileFactory(organisation=parent, designation="Second parent clerk")
    below = GovernmentProfileFactory(organisation=office, designation="Office clerk")
    type(parent).objects.filter(pk=parent.pk).update(status=OrganisationStatus.SUSPENDED)
    client = signed_in(world["admin_parent"])
    mine = well_formed(client.get("/verification/"))
    assert f'href="/verification/queue/?organisation={parent.pk}"' in mine
    assert 'href="/verification/queue/"' in mine and 'href="/monitoring/"' not in mine
    html = well_formed(client.get("/verification/queue/"))
    assert "Parent clerk" in html and "Office clerk" not in html
    assert "Parent clerk" in well_formed(client.get(f"/verification/queue/?organisation={parent.pk}"))
    assert client.get(f"/verification/queue/?organisation={office.pk}").status_code == 404
    chosen = {"profile": [own.pk, below.pk], "decision": "reject", "reason": "Not ours.", "step": "confirm",
              "confirm": "on"}
    response = client.post("/verification/queue/decide/", chosen, follow=True)
    assert "1 request was rejected." in messages_of(response)
    client.post("/verification/queue/decide/", {"profile": [also.pk], "decision": "verify", "step": "confirm",
                                                 "confirm": "on"})
    statuses = dict(GovernmentProfile.objects.filter(pk__in=[own.pk, also.pk, below.pk]).values_list("pk", "status"))
    assert statuses == {own.pk: "rejected", also.pk: "pending", below.pk: "pending"}


def test_a_bulk_decision_is_confirmed_before_anything_is_decided(world, requests_):
    older, newer, elsewhere = requests_
    client = signed_in(world["admin_office"])
    chosen = {"profile": [older.pk, newer.pk, elsewhere.pk], "decision": "verify"}
    html = well_formed(client.post("/verification/queue/decide/", chosen))
    assert "Confirm your decision" in html and "Older request" in html and "Karnataka request" not in html
    assert GovernmentProfile.objects.filter(status="pending").count() == 3
    html = well_formed(client.post("/verification/queue/decide/", {**chosen, "step": "confirm"}))
    assert "Tick the box to confirm the decision." in html
    assert GovernmentProfile.objects.filter(status="pending").count() == 3
    response = client.post("/verification/queue/decide/", {**chosen, "step": "confirm", "confirm": "on"}, follow=True)
    assert "2 people were verified." in messages_of(response)
    assert set(GovernmentProfile.objects.filter(status="verified").values_list("pk", flat=True)) == {older.pk, newer.pk}
    elsewhere.refresh_from_db()
    assert elsewhere.is_pending  # not the admin's: left untouched
    assert AuditEvent.objects.filter(action=AuditAction.VERIFICATION_VERIFIED).count() == 2


def _first_admin_joining_elsewhere(world):
    """The office's first admin (a deputy beside them), with a confirmed address on the domain of
    an organisation outside its line that verifies at once: they, the office, that organisation,
    their client and its join page."""
    from tests.verification.helpers import make_admin

    admin, office, other = world["admin_office"], world["office"], world["other"]
    make_admin(office, email="deputy@pune.mahaagri.gov.in")
    EmailAddress.objects.create(user=admin, email="office.admin@karhealth.gov.in", verified=True)
    VerificationSettings.objects.create(organisation=other, auto_verify_official_domain=True)
    return admin, office, other, signed_in(admin), f"/verification/organisations/{other.pk}/join/"


def test_the_join_page_tells_a_first_admin_their_role_ends_and_asks_before_an_automatic_verification(world):
    """The office's first admin, verified nowhere, asks an organisation outside its line that
    verifies at once, with a confirmed address on its domain: being verified there ends their
    admin role of the office. The page says so, and the request is sent only once a box says
    they know it, as one ending a verification elsewhere is."""
    admin, office, other, client, url = _first_admin_joining_elsewhere(world)
    said = parse(well_formed(client.get(url))).squashed_text()
    assert (f"Being verified by {other.name} ends your admin role in {office.name}, which you hold as its first admin "
            "while you work in its line of offices; the role does not come back.") in said
    refused = parse(well_formed(client.post(url, form_data(official_email="office.admin@karhealth.gov.in"))))
    assert field_error(refused, "confirm") == (
        f"Tick the box to confirm that being verified here ends your admin role in {office.name}.")
    assert field_value(refused, "designation") == form_data()["designation"]
    assert not GovernmentProfile.objects.filter(user=admin, organisation=other).exists()
    client.post(url, {**form_data(official_email="office.admin@karhealth.gov.in"), "confirm": "on"})
    assert GovernmentProfile.objects.get(user=admin, organisation=other).status == VerificationStatus.VERIFIED
    assert not Membership.objects.filter(organisation=office, user=admin, role=MembershipRole.ADMIN,
                                         is_active=True).exists()


def test_the_join_pages_box_confirms_what_the_page_named_not_what_ends_by_the_time_it_is_sent(world):
    """The page named the first admin role it ends; a request of theirs to the department made
    in another tab meanwhile would be withdrawn too: the box ticked for the page's list sends
    nothing, the page names both now and asks again; sent from that page, they are verified."""
    admin, office, other, client, url = _first_admin_joining_elsewhere(world)
    shown = parse(well_formed(client.get(url)))
    meanwhile = GovernmentProfileFactory(user=admin, organisation=world["parent"], official_email=admin.email)
    sent = {**form_data(official_email="office.admin@karhealth.gov.in"), "confirm": "on",
            "shown_values": shown.find("input", name="shown_values").get("value")}
    refused = parse(well_formed(client.post(url, sent)))
    assert ("Nothing was sent: since this page was opened, what being verified here ends elsewhere has changed. Read "
            "what it ends now, then send the request again.") in refused.squashed_text()
    assert f"withdraws your request to {world['parent'].name}" in refused.squashed_text()
    assert field_value(refused, "confirm") is False and field_value(refused, "designation") == form_data()["designation"]
    assert not GovernmentProfile.objects.filter(user=admin, organisation=other).exists()
    client.post(url, {**sent, "shown_values": refused.find("input", name="shown_values").get("value")})
    assert GovernmentProfile.objects.get(user=admin, organisation=other).status == VerificationStatus.VERIFIED
    meanwhile.refresh_from_db()
    assert meanwhile.status == VerificationStatus.CANCELLED


def test_a_bulk_verification_says_a_request_it_ended_itself_was_ended_by_it(world):
    """The department's admin chose one person's requests to the department and to its office
    and verified them: the first verified ends the other (one organisation at a time), which
    is said so, not as decided by someone else meanwhile."""
    asker = world["person"]
    to_office = GovernmentProfileFactory(user=asker, organisation=world["office"], official_email=asker.email)
    to_parent = GovernmentProfileFactory(user=asker, organisation=world["parent"], official_email=asker.email)
    response = signed_in(world["admin_parent"]).post(
        "/verification/queue/decide/",
        {"profile": [to_office.pk, to_parent.pk], "decision": "verify", "step": "confirm", "confirm": "on"}, follow=True)
    said = messages_of(response)
    to_parent.refresh_from_db()
    assert to_parent.status == VerificationStatus.CANCELLED
    assert "1 person was verified." in said
    assert ("1 request ended: its person was verified by another of the requests chosen, and a person is verified in "
            "one organisation at a time.") in said
    assert not any("decided by someone else" in message for message in said)


def test_the_bulk_confirmation_and_the_queue_warn_of_a_mobile_number_another_verified_person_gave(world, requests_):
    """As the page of one request does: verifying several at once is no way past the warning."""
    older, newer, _elsewhere = requests_
    GovernmentProfileFactory(user=UserFactory(email="ravi.rao@karhealth.gov.in"), organisation=world["other"],
                             status=VerificationStatus.VERIFIED, mobile=older.mobile)
    contacts_shown_to_verified_users(world["other"])
    GovernmentProfile.objects.filter(pk=newer.pk).update(mobile="+919812345678")
    warning = "Another verified government user gave this mobile number"
    client = signed_in(world["admin_office"])
    assert warning in well_formed(client.get(f"/verification/profiles/{older.pk}/"))
    tree = parse(well_formed(client.post("/verification/queue/decide/", {"profile": [older.pk, newer.pk],
                                                                         "decision": "verify"})))
    said = {int(item.find("input", name="profile").get("value")): warning in item.squashed_text()
            for item in tree.find("form", action="/verification/queue/decide/").find_all("li")}
    assert said == {older.pk: True, newer.pk: False}
    rows = parse(well_formed(client.get("/verification/queue/"))).find("tbody").find_all("tr")
    said = {int(row.find("input", name="profile").get("value")): warning in row.squashed_text() for row in rows}
    assert said == {older.pk: True, newer.pk: False}
    # Not on a decided request's row: the warning is for whoever verifies.
    GovernmentProfile.objects.filter(pk=older.pk).update(status=VerificationStatus.REJECTED)
    assert warning not in well_formed(client.get("/verification/queue/?status=rejected"))


def test_a_bulk_rejection_needs_a_reason(world, requests_):
    older, newer, _elsewhere = requests_
    client = signed_in(world["admin_office"])
    data = {"profile": [older.pk, newer.pk], "decision": "reject", "step": "confirm", "confirm": "on"}
    html = well_formed(client.post("/verification/queue/decide/", data))
    assert parse(html).by_id("id_reason").get("aria-invalid") == "true"
    response = client.post("/verification/queue/decide/", {**data, "reason": "Not on our rolls."}, follow=True)
    assert "2 requests were rejected." in messages_of(response)
    assert OutboxMessage.objects.filter(subject__contains="was not accepted").count() == 2


def _confirmation_kept(html, chosen):
    """The confirmation page again: the requests chosen still chosen, the decision and the tick kept."""
    tree = parse(html)
    assert "Confirm your decision" in html
    assert sorted(int(node.get("value")) for node in tree.iter()
                  if node.tag == "input" and node.get("name") == "profile") == sorted(p.pk for p in chosen)
    assert field_value(tree, "decision") == "reject" and field_value(tree, "confirm") is True
    return tree


@pytest.mark.parametrize("reason", ["\u202e", "\x01\x02", " \u202e\t\x01 "], ids=["bidi override", "controls", "mixed"])
def test_a_bulk_rejection_whose_reason_is_only_control_characters_is_told_at_the_field(world, requests_, reason):
    """The service cleans the reason (portal.text.multi_line) and refuses it empty: the form says so at the field,
    not a server error."""
    older, newer, _elsewhere = requests_
    client = signed_in(world["admin_office"])
    html = well_formed(client.post("/verification/queue/decide/", {
        "profile": [older.pk, newer.pk], "decision": "reject", "reason": reason, "step": "confirm", "confirm": "on"}))
    tree = _confirmation_kept(html, [older, newer])
    assert field_error(tree, "reason") == "Give the reason for rejecting: the person is sent it."
    assert GovernmentProfile.objects.filter(pk__in=[older.pk, newer.pk], status="pending").count() == 2
    assert not OutboxMessage.objects.exists()


def test_a_bulk_decision_the_service_refuses_is_told_on_the_confirmation_page(world, requests_, monkeypatch):
    older, newer, _elsewhere = requests_

    def refuse(**kwargs):
        raise ValidationError({"reason": "Give the reason for rejecting: the person is sent it."}, code="required")

    monkeypatch.setattr(services, "join_requests_decide", refuse)
    client = signed_in(world["admin_office"])
    html = well_formed(client.post("/verification/queue/decide/", {
        "profile": [older.pk, newer.pk], "decision": "reject", "reason": "Not on our rolls.", "step": "confirm",
        "confirm": "on"}))
    tree = _confirmation_kept(html, [older, newer])
    assert field_error(tree, "reason") == "Give the reason for rejecting: the person is sent it."
    assert field_value(tree, "reason") == "Not on our rolls."
    assert GovernmentProfile.objects.filter(pk__in=[older.pk, newer.pk], status="pending").count() == 2


@pytest.mark.parametrize("reason", ["\u202e", "\x01\x02"], ids=["bidi override", "controls"])
def test_a_single_rejection_whose_reason_is_only_control_characters_is_told_at_the_field(world, requests_, reason):
    older = requests_[0]
    html = well_formed(signed_in(world["admin_office"]).post(f"/verification/profiles/{older.pk}/", {
        "decision": "reject", "reason": reason, "confirm": "on"}))
    assert field_error(parse(html), "reason") == "Give the reason for rejecting: the person is sent it."
    older.refresh_from_db()
    assert older.is_pending


@pytest.mark.parametrize("path", ["", "suspend/", "revoke/"])
def test_a_reason_longer_than_its_limit_once_composed_is_refused_at_its_field_not_cut(world, requests_, path):
    """A reason the box took as within its 1,000 characters, with "ज़" typed as one character
    (stored composed as two), is refused at the field, what was typed kept, nothing decided:
    it was cut at 1,000, its end lost, and that sent to the person as the reason."""
    typed = ("\u095bिला परिषद ने यह अनुरोध अस्वीकार किया। " * 40)[:999] + "X"
    stored = len(unicodedata.normalize("NFC", typed))
    assert len(typed) == 1000 < stored
    profile = requests_[0]
    if path:
        services.join_request_decide(profile_id=profile.pk, decision="verify", actor=world["admin_office"])
        data = {"reason_code": ADMIN_END_REASONS[0][0], "reason": typed, "confirm": "on"}
    else:
        data = {"decision": "reject", "reason": typed, "confirm": "on"}
    profile.refresh_from_db()
    status = profile.status
    html = well_formed(signed_in(world["admin_office"]).post(f"/verification/profiles/{profile.pk}/{path}", data))
    tree = parse(html)
    assert field_error(tree, "reason") == STORED_TWICE.format(count=f"{stored:,}", limit="1,000")
    assert field_value(tree, "reason") == typed
    profile.refresh_from_db()
    assert profile.status == status


def nothing_chosen_said_in_the_queue(response, first_box):
    """The queue shown again with the refusal summed up (which the page's script focuses), its
    link going to the first request's box, and said above the boxes, each tied to it."""
    tree = parse(well_formed(response))
    assert "Verification queue" in tree.find("h1").squashed_text()
    summary = tree.by_id("error-summary")
    assert summary is not None and "Requests: Choose at least one waiting request." in summary.squashed_text()
    assert [link.get("href") for link in summary.find_all("a")] == [f"#choose-{first_box.pk}"]
    assert field_error(tree, "profile") == "Choose at least one waiting request."
    for box in tree.find_all("input", name="profile"):
        assert (box.get("aria-invalid"), box.get("aria-describedby")) == ("true", "id_profile_error")
    assert not messages_of(response)  # not (also) a message at the top that focus never reaches
    return tree


def test_a_bulk_decision_with_nothing_chosen_is_said_in_the_queue(world, requests_):
    older, newer, _elsewhere = requests_
    response = signed_in(world["admin_office"]).post("/verification/queue/decide/?status=pending", {"decision": "verify"})
    tree = nothing_chosen_said_in_the_queue(response, older)
    assert {int(box.get("value")) for box in tree.find_all("input", name="profile")} == {older.pk, newer.pk}
    assert GovernmentProfile.objects.filter(pk__in=[older.pk, newer.pk], status="pending").count() == 2


def test_a_bulk_decision_with_nothing_chosen_keeps_the_queues_organisation_and_page(world, requests_, monkeypatch):
    from verification import admin_views

    monkeypatch.setattr(admin_views, "PAGE_SIZE", 1)
    older, newer, _elsewhere = requests_
    client = signed_in(world["admin_parent"])
    queue = f"?status=pending&organisation={world['office'].pk}"
    forms = parse(client.get(f"/verification/queue/{queue}&page=2").content.decode()).find_all("form", method="post")
    action = f"/verification/queue/decide/{queue}&page=2"  # the decision is sent with the page's query
    assert action in [form.get("action") for form in forms]
    response = client.post(action, {"decision": "reject"})
    tree = nothing_chosen_said_in_the_queue(response, newer)  # the second page: the newer request
    assert "Showing District Agriculture Office, Pune only." in tree.squashed_text()
    assert "Page 2 of 2" in tree.squashed_text()


def test_a_bulk_decision_taken_in_one_organisations_queue_leads_back_to_that_queue(world, requests_, monkeypatch):
    """The department's admin works through the district office's queue ("Showing ...
    only", its second page): chooses requests, confirms. The confirmation posted without
    the queue's query, its Cancel led to the queue of every office, and so did the
    decision (in a state: thousands of requests of hundreds of offices). The queue's
    status, organisation and page go through the confirmation and back, and only those,
    as the queue reads them."""
    from verification import admin_views

    monkeypatch.setattr(admin_views, "PAGE_SIZE", 1)
    GovernmentProfileFactory(organisation=world["office"], designation="Third request")
    client = signed_in(world["admin_parent"])
    queue = f"status=pending&organisation={world['office'].pk}&page=2"
    tree = parse(well_formed(client.get(f"/verification/queue/?{queue}")))
    [form] = [form for form in tree.find_all("form", method="post") if "/queue/decide/" in form.get("action")]
    chosen = [box.get("value") for box in form.find_all("input", name="profile")]
    assert form.get("action") == f"/verification/queue/decide/?{queue}" and len(chosen) == 1
    confirmation = parse(well_formed(client.post(form.get("action"), {"profile": chosen, "decision": "verify"})))
    assert "Confirm your decision" in confirmation.squashed_text()
    [confirm_form] = [form for form in confirmation.find_all("form", method="post")
                      if "/queue/decide/" in form.get("action")]
    assert confirm_form.get("action") == f"/verification/queue/decide/?{queue}"
    [cancel] = [link for link in confirm_form.find_all("a") if link.squashed_text() == "Cancel"]
    assert cancel.get("href") == f"/verification/queue/?{queue}"
    response = client.post(confirm_form.get("action"), {"profile": chosen, "decision": "verify", "step": "confirm",
                                                         "confirm": "on", "reason": ""})
    assert response.status_code == 302 and response["Location"] == f"/verification/queue/?{queue}"
    assert "Showing District Agriculture Office, Pune only." in parse(well_formed(client.get(response["Location"]))).squashed_text()
    # Only what the queue reads, as it reads it: nothing else sent with the address is
    # carried, nor a value the queue would not take.
    still = [str(profile.pk) for profile in GovernmentProfile.objects.filter(status="pending", organisation=world["office"])]
    sent = "status=nonsense&organisation=x&page=0&next=https://evil.example/&organisation_name=a"
    confirmation = parse(well_formed(client.post(f"/verification/queue/decide/?{sent}",
                                                 {"profile": still[:1], "decision": "verify"})))
    [confirm_form] = [form for form in confirmation.find_all("form", method="post")
                      if "/queue/decide/" in form.get("action")]
    assert confirm_form.get("action") == "/verification/queue/decide/"
    response = client.post(f"/verification/queue/decide/?{sent}", {"profile": still[:1], "decision": "verify",
                                                                   "step": "confirm", "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == "/verification/queue/?status=pending"


def test_the_address_of_a_bulk_decision_loaded_again_goes_back_to_the_queue(world, requests_):
    """The header's language switch loads the page again: the answer to a post, here."""
    query = f"status=pending&organisation={world['office'].pk}"
    response = signed_in(world["admin_office"]).get(f"/verification/queue/decide/?{query}")
    assert response.status_code == 302 and response["Location"] == f"/verification/queue/?{query}"


def test_the_confirmation_of_a_bulk_decision_comes_back_from_a_change_of_language(world, requests_):
    """The header's language switch on the confirmation leads to the same confirmation (not
    the queue, where the requests chosen and the reason typed were lost): its address names
    the requests chosen and the decision, the page's script puts back what was typed. Only the
    requests the admin may decide that still wait are shown; none left: the queue."""
    older, newer, elsewhere = requests_
    client = signed_in(world["admin_office"])
    query = f"status=pending&organisation={world['office'].pk}"
    tree = parse(well_formed(client.post(f"/verification/queue/decide/?{query}",
                                         {"profile": [older.pk, newer.pk], "decision": "reject"})))
    again = tree.find("form", class_="language-switch").find("input", name="next").get("value")
    assert again == f"/verification/queue/decide/?{query}&profile={older.pk}&profile={newer.pk}&decision=reject"
    [form] = [form for form in tree.find_all("form", method="post") if "/queue/decide/" in form.get("action", "")]

    client.cookies["django_language"] = "hi"
    shown = parse(well_formed(client.get(again)))
    assert shown.find("html").get("lang") == "hi"
    [form_again] = [form for form in shown.find_all("form", method="post") if "/queue/decide/" in form.get("action", "")]
    assert form_again.get("action") == form.get("action")  # the page's script knows its fields by it
    assert [field.get("value") for field in form_again.find_all("input", name="profile")] == [str(older.pk), str(newer.pk)]
    assert field_value(shown, "decision") == "reject"
    assert shown.find("form", class_="language-switch").find("input", name="next").get("value") == again
    assert GovernmentProfile.objects.filter(pk__in=[older.pk, newer.pk], status=VerificationStatus.PENDING).count() == 2

    # Another's request in the address is not shown; one decided meanwhile is said and left.
    services.join_request_decide(profile_id=newer.pk, decision="verify", reason="", actor=world["admin_parent"])
    shown = parse(well_formed(client.get(f"{again}&profile={elsewhere.pk}")))
    assert [field.get("value") for field in shown.find_all("input", name="profile")] == [str(older.pk)]
    services.join_request_decide(profile_id=older.pk, decision="verify", reason="", actor=world["admin_parent"])
    response = client.get(again)
    assert response.status_code == 302 and response["Location"] == f"/verification/queue/?{query}"


@pytest.mark.parametrize("chosen", [["x"], ["-3"], ["9" * 25], ["0"]], ids=["word", "negative", "past any integer", "zero"])
def test_a_bulk_decision_with_no_id_a_request_can_have_goes_back_to_the_queue(world, requests_, chosen):
    """SQLite (the embedded default) refused to compare an id past its integers: a 500."""
    response = signed_in(world["admin_office"]).post("/verification/queue/decide/?status=pending",
                                                     {"profile": chosen, "decision": "verify"})
    nothing_chosen_said_in_the_queue(response, requests_[0])


def test_a_request_decided_meanwhile_is_reported_not_decided_again(world, requests_):
    older, newer, _elsewhere = requests_
    client = signed_in(world["admin_office"])
    signed_in(world["admin_parent"]).post(f"/verification/profiles/{newer.pk}/", {"decision": "reject", "reason": "No.",
                                                                                     "confirm": "on"})
    response = client.post("/verification/queue/decide/", {"profile": [older.pk, newer.pk], "decision": "verify",
                                                            "step": "confirm", "confirm": "on"}, follow=True)
    assert "1 person was verified." in messages_of(response)
    newer.refresh_from_db()
    assert newer.status == VerificationStatus.REJECTED


def test_a_chosen_request_withdrawn_since_the_confirmation_is_reported_with_the_others(world, requests_):
    older, newer, _elsewhere = requests_
    client = signed_in(world["admin_office"])
    chosen = {"profile": [older.pk, newer.pk], "decision": "reject", "reason": "Not on our rolls."}
    assert "Confirm your decision" in well_formed(client.post("/verification/queue/decide/", chosen))
    services.join_request_withdraw(profile_id=older.pk, actor=world["person"])  # meanwhile, the person
    response = client.post("/verification/queue/decide/", {**chosen, "step": "confirm", "confirm": "on"}, follow=True)
    # Withdrawn by the person, not "decided by someone else".
    assert messages_of(response) == ["1 request was rejected.",
                                     "1 request was withdrawn by the person meanwhile and was left as it is."]
    # The confirmation shown again (its box not ticked) without one withdrawn meanwhile says so there.
    GovernmentProfile.objects.filter(pk=newer.pk).update(status=VerificationStatus.PENDING)
    html = well_formed(client.post("/verification/queue/decide/", {**chosen, "step": "confirm"}))
    assert "Tick the box to confirm the decision." in html and "You chose 1 request:" in html
    assert "1 request was withdrawn by the person meanwhile and was left as it is." in html


def test_a_bulk_decision_whose_every_request_was_decided_meanwhile_says_so_not_to_choose_one(world, requests_):
    """Chosen on a queue page older than the decisions (another admin's), or the decision
    sent again (the back button to the confirmation, "Resend"): what became of them, in the
    queue the form was on, not "Choose at least one waiting request"."""
    older, newer, _elsewhere = requests_
    client = signed_in(world["admin_office"])
    signed_in(world["admin_parent"]).post(f"/verification/profiles/{older.pk}/", {"decision": "reject", "reason": "No.",
                                                                                     "confirm": "on"})
    query = f"status=pending&organisation={world['office'].pk}"
    response = client.post(f"/verification/queue/decide/?{query}", {"profile": [older.pk], "decision": "verify"})
    assert response.status_code == 302 and response["Location"] == f"/verification/queue/?{query}"
    html = well_formed(client.get(response["Location"]))
    assert "1 request was decided by someone else meanwhile and was left as it is." in html
    assert "Choose at least one waiting request" not in html
    # Some of those chosen still wait: the confirmation says what became of the others.
    html = well_formed(client.post("/verification/queue/decide/", {"profile": [older.pk, newer.pk], "decision": "verify"}))
    assert "Confirm your decision" in html and "You chose 1 request:" in html
    assert "1 request was decided by someone else meanwhile and was left as it is." in html
    sent = {"profile": [newer.pk], "decision": "reject", "reason": "Not on our rolls.", "step": "confirm", "confirm": "on"}
    assert messages_of(client.post("/verification/queue/decide/", sent, follow=True)) == ["1 request was rejected."]
    response = client.post("/verification/queue/decide/", sent, follow=True)
    html = response.content.decode()
    assert messages_of(response) == ["1 request was already decided by you and was left as it is."]
    assert "Choose at least one waiting request" not in html
    assert OutboxMessage.objects.filter(subject__contains="was not accepted").count() == 2  # not mailed twice


def kept_out_of_caches(response):
    assert {"no-store", "private"} <= set(response.get("Cache-Control", "").split(", ")), (
        response.request["PATH_INFO"], response.get("Cache-Control"))


def test_pages_showing_peoples_details_are_kept_by_no_browser_or_proxy(world, requests_):
    """The back button after a decision or signing out, a shared computer, a proxy on the
    way: the queue, a request, the confirmation, the members, the join page keep no copy."""
    older, newer, _elsewhere = requests_
    admin = signed_in(world["admin_office"])
    for url in ("/verification/queue/", f"/verification/profiles/{older.pk}/",
                f"/verification/organisations/{world['office'].pk}/members/"):
        kept_out_of_caches(admin.get(url))
    kept_out_of_caches(admin.post("/verification/queue/decide/", {"profile": [older.pk, newer.pk], "decision": "verify"}))
    person = signed_in(world["public"])
    for url in ("/verification/", f"/verification/organisations/{world['office'].pk}/join/",
                "/verification/organisations/?q=agriculture"):
        kept_out_of_caches(person.get(url))


# One request --------------------------------------------------------------------------------------

def test_deciding_one_request(world, requests_):
    older = requests_[0]
    client = signed_in(world["admin_office"])
    html = well_formed(client.get(f"/verification/profiles/{older.pk}/"))
    assert "Older request" in html and "Your decision" in html and "Public user" in html
    html = well_formed(client.post(f"/verification/profiles/{older.pk}/", {"decision": "reject"}))
    assert parse(html).by_id("id_reason").get("aria-invalid") == "true"
    # A rejection (the person is emailed it) is confirmed; what was typed stays.
    html = well_formed(client.post(f"/verification/profiles/{older.pk}/", {"decision": "reject", "reason": "Unknown code."}))
    tree = parse(html)
    assert field_error(tree, "confirm") == "Tick the box to confirm the decision."
    assert field_value(tree, "reason") == "Unknown code."
    older.refresh_from_db()
    assert older.status == VerificationStatus.PENDING
    response = client.post(f"/verification/profiles/{older.pk}/", {"decision": "verify"}, follow=True)
    assert "Your decision was recorded and the person was told by email." in messages_of(response)
    html = well_formed(client.get(f"/verification/profiles/{older.pk}/"))
    assert "Verified government user" in html and "Government user verified" in html  # badge and history
    assert "Your decision" not in html


def test_one_request_decided_from_one_organisations_queue_leads_back_to_that_queue(world, requests_, monkeypatch):
    """The department's admin works through the district office's queue ("Showing ...
    only", its second page) and opens one request to decide it. The decision led back to
    the queue of every office, and so did the page's "Back to the queue": the admin lost
    their place at every request (as the bulk decision did). The queue's status,
    organisation and page go to the request's page, through its decision and back, and
    only those, as the queue reads them."""
    from verification import admin_views

    monkeypatch.setattr(admin_views, "PAGE_SIZE", 1)
    GovernmentProfileFactory(organisation=world["office"], designation="Third request")
    client = signed_in(world["admin_parent"])
    queue = f"status=pending&organisation={world['office'].pk}&page=2"
    tree = parse(well_formed(client.get(f"/verification/queue/?{queue}")))
    [link] = [link for link in tree.find_all("a") if link.squashed_text().startswith("Review and decide")]
    profile = GovernmentProfile.objects.get(pk=link.get("href").split("/")[3])
    assert link.get("href") == f"/verification/profiles/{profile.pk}/?{queue}"
    page = parse(well_formed(client.get(link.get("href"))))
    [form] = [form for form in page.find_all("form", method="post") if form.find("input", name="decision")]
    assert form.get("action") is None  # posted to the page's own address, the queue's query with it
    [back] = [link for link in form.find_all("a") if link.squashed_text() == "Back to the queue"]
    assert back.get("href") == f"/verification/queue/?{queue}"
    response = client.post(link.get("href"), form_as_sent(page, decision="verify"))
    assert response.status_code == 302 and response["Location"] == f"/verification/queue/?{queue}"
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED
    assert "Showing District Agriculture Office, Pune only." in parse(well_formed(client.get(response["Location"]))).squashed_text()
    # Only what the queue reads, as it reads it: nothing else sent with the address is
    # carried, nor a value the queue would not take; the address is always the queue's.
    still = GovernmentProfile.objects.filter(status="pending", organisation=world["office"]).first()
    sent = "status=nonsense&organisation=x&page=0&next=https://evil.example/&organisation_name=a"
    page = parse(well_formed(client.get(f"/verification/profiles/{still.pk}/?{sent}")))
    [form] = [form for form in page.find_all("form", method="post") if form.find("input", name="decision")]
    [back] = [link for link in form.find_all("a") if link.squashed_text() == "Back to the queue"]
    assert back.get("href") == "/verification/queue/"
    response = client.post(f"/verification/profiles/{still.pk}/?{sent}", form_as_sent(page, decision="verify"))
    assert response.status_code == 302 and response["Location"] == "/verification/queue/?status=pending"


REJECT_WORD = {"en": "reject", "hi": "अस्वीकार", "mr": "नाकार"}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_decisions_error_and_hint_name_the_options_as_they_are_labelled(world, requests_, language):
    """The options read "Verify" and "Reject", verbs, as the error "Choose verify or reject."
    and the reason's hint ("Required when you reject") name them. Hindi and Marathi labelled
    "Reject" with the application's word for the status, "अस्वीकृत" / "नामंजूर" (rejected),
    while the error and the hint name the verb ("अस्वीकार करें" / "नाकारा"): an option that
    is not there."""
    older = requests_[0]
    client = signed_in(world["admin_office"])
    client.cookies["django_language"] = language
    tree = parse(client.post(f"/verification/profiles/{older.pk}/", {}).content.decode())
    options = {radio.get("value"): tree.find("label", for_=radio.get("id")).squashed_text()
               for radio in tree.find_all("input", type="radio", name="decision")}
    assert set(options) == {"verify", "reject"}, options
    error = field_error(tree, "decision")
    assert all(label.lower() in error.lower() for label in options.values()), (error, options)
    hints = [tree.by_id(ref).squashed_text() for ref in tree.by_id("id_reason").get("aria-describedby").split()
             if tree.by_id(ref)]
    assert REJECT_WORD[language] in options["reject"].lower() and any(REJECT_WORD[language] in h.lower() for h in hints), (
        options, hints)


def test_one_request_decided_again_or_withdrawn_meanwhile_says_what_happened(world, requests_):
    """The request's page said "decided meanwhile" of any request that no longer waits: of
    the administrator's own decision sent again (Back and send again, a double click), and
    of one the person withdrew meanwhile, which nobody decided. Each is said as it is (the
    bulk decision's reasons); only another's decision is "decided meanwhile"."""
    older, newer, _elsewhere = requests_
    client = signed_in(world["admin_office"])
    rejection = {"decision": "reject", "reason": "Not in our department's staff list.", "confirm": "on"}
    url = f"/verification/profiles/{newer.pk}/"
    assert client.post(url, rejection).status_code == 302
    client.get("/verification/queue/")  # the first answer's message read
    assert messages_of(client.post(url, rejection, follow=True)) == [
        "You already recorded this decision: see its history below."]
    assert messages_of(client.post(url, {"decision": "verify"}, follow=True)) == [
        "You already decided this request: see its history below. This decision was not recorded."]
    assert messages_of(signed_in(world["admin_parent"]).post(url, rejection, follow=True)) == [
        "This request was decided meanwhile: see its history below."]
    url = f"/verification/profiles/{older.pk}/"
    well_formed(client.get(url))  # the page opened, the rejection being typed
    services.join_request_withdraw(profile_id=older.pk, actor=world["person"])  # meanwhile
    assert messages_of(client.post(url, rejection, follow=True)) == [
        "This request was withdrawn by the person meanwhile: see its history below."]
    older.refresh_from_db()
    assert older.status == VerificationStatus.CANCELLED
    assert OutboxMessage.objects.filter(subject__contains="was not accepted").count() == 1  # not mailed twice


def test_a_request_verified_by_hand_vouches_for_the_name_the_admin_saw_not_one_changed_meanwhile(world, requests_):
    """The person renames their account between the admin opening the request and clicking
    Verify: nothing is verified (the name verified is what others see as vouched for), the
    refusal said on the page, the decision kept, the name shown now; sent again from there,
    verified under that name."""
    older = requests_[0]
    client = signed_in(world["admin_office"])
    url = f"/verification/profiles/{older.pk}/"
    opened = parse(well_formed(client.get(url)))
    assert opened.find("h1").squashed_text() == "Asha Kulkarni"
    person_correct(user=world["person"], full_name="Director General of Police")  # meanwhile, in another browser
    tree = parse(well_formed(client.post(url, form_as_sent(opened, decision="verify"))))
    assert "The person changed their name meanwhile: check the name shown now." in tree.squashed_text()
    assert field_value(tree, "decision") == "verify"
    assert tree.find("h1").squashed_text() == "Director General of Police"
    older.refresh_from_db()
    assert older.is_pending and not AuditEvent.objects.filter(action=AuditAction.VERIFICATION_VERIFIED).exists()

    assert client.post(url, form_as_sent(tree)).status_code == 302
    older.refresh_from_db()
    assert (older.status, older.verified_name) == (VerificationStatus.VERIFIED, "Director General of Police")


def test_a_bulk_verification_leaves_a_person_who_changed_their_name_since_the_confirmation_was_shown(world, requests_):
    older, newer, _elsewhere = requests_
    client = signed_in(world["admin_office"])
    chosen = {"profile": [older.pk, newer.pk], "decision": "verify"}
    confirmation = parse(well_formed(client.post("/verification/queue/decide/", chosen)))
    shown = {node.get("name"): node.get("value") for node in confirmation.find_all("input")
             if node.get("name", "").startswith("shown_name_")}
    assert shown[f"shown_name_{older.pk}"] == "Asha Kulkarni" and len(shown) == 2
    person_correct(user=world["person"], full_name="Director General of Police")  # meanwhile
    response = client.post("/verification/queue/decide/", {**chosen, **shown, "step": "confirm", "confirm": "on"},
                           follow=True)
    assert messages_of(response) == ["1 person was verified.", "1 request was left: the person changed their name "
                                                               "meanwhile. Open it to check the name shown now."]
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.is_pending and newer.status == VerificationStatus.VERIFIED

def test_an_admin_does_not_decide_their_own_request(world):
    own = GovernmentProfileFactory(user=world["admin_office"], organisation=world["office"])
    client = signed_in(world["admin_office"])
    html = well_formed(client.get(f"/verification/profiles/{own.pk}/"))
    assert "This is your own verification" in html and 'name="decision"' not in html
    client.post(f"/verification/profiles/{own.pk}/", {"decision": "verify"})
    own.refresh_from_db()
    assert own.is_pending


def test_the_request_says_when_verifying_ends_a_verification_elsewhere(world):
    GovernmentProfileFactory(user=world["person"], organisation=world["other"], status=VerificationStatus.VERIFIED)
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    html = well_formed(signed_in(world["admin_office"]).get(f"/verification/profiles/{profile.pk}/"))
    assert "verifying them here ends that verification" in html and "Verified government user" in html
    assert "Directorate of Health Services" not in html  # where is not said
    # Verifying ends the other verification: only once confirmed.
    client = signed_in(world["admin_office"])
    html = well_formed(client.post(f"/verification/profiles/{profile.pk}/", {"decision": "verify"}))
    assert field_error(parse(html), "confirm") == "Tick the box to confirm the decision."
    profile.refresh_from_db()
    assert profile.is_pending
    response = client.post(f"/verification/profiles/{profile.pk}/", {"decision": "verify", "confirm": "on"})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED


def _withdrawn(world):
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    services.join_request_withdraw(profile_id=profile.pk, actor=world["person"])
    return profile


def _cancelled_as_verified_elsewhere(world):
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    there = GovernmentProfileFactory(user=world["person"], organisation=world["other"])
    services.join_request_decide(profile_id=there.pk, decision="verify", actor=world["admin_other"])
    return profile


def _ended_as_verified_elsewhere(world):
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"], status=VerificationStatus.VERIFIED)
    there = GovernmentProfileFactory(user=world["person"], organisation=world["other"])
    services.join_request_decide(profile_id=there.pk, decision="verify", actor=world["admin_other"])
    return profile


def _replaced_after_its_address_left(world):
    profile = GovernmentProfileFactory(user=world["person"], organisation=world["office"], official_email="asha@pune.mahaagri.gov.in",
                                       status=VerificationStatus.SUSPENDED, reason_code=EndReason.ADDRESS_REMOVED)
    again = GovernmentProfileFactory(user=world["person"], organisation=world["office"])  # with the new address
    services.join_request_decide(profile_id=again.pk, decision="verify", actor=world["admin_office"])
    return profile


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
@pytest.mark.parametrize(("ended", "status", "note"), [
    (_withdrawn, VerificationStatus.CANCELLED, SystemNote.WITHDRAWN),
    (_cancelled_as_verified_elsewhere, VerificationStatus.CANCELLED, SystemNote.VERIFIED_ELSEWHERE),
    (_ended_as_verified_elsewhere, VerificationStatus.REVOKED, SystemNote.VERIFIED_ELSEWHERE),
    (_replaced_after_its_address_left, VerificationStatus.REVOKED, SystemNote.VERIFIED_AGAIN),
], ids=["withdrawn", "cancelled: verified elsewhere", "ended: verified elsewhere", "replaced: verified again"])
def test_a_request_or_verification_the_system_ended_says_why_in_words_not_its_stored_note(world, ended, status, note,
                                                                                            language):
    profile = ended(world)
    profile.refresh_from_db()
    assert (profile.status, profile.reason) == (status, note)
    with translation.override(language):
        said = str(note.label)
    if language != "en":
        assert said != note.label  # translated
    client = signed_in(world["superadmin"])
    client.cookies["django_language"] = language
    html = well_formed(client.get(f"/verification/profiles/{profile.pk}/"))
    assert said in parse(html).squashed_text()
    # The stored note is not shown; the history's "Verification request withdrawn" is a word, not it.
    with translation.override(language):
        history = str(AuditAction.VERIFICATION_CANCELLED.label)
    assert note.value not in html.replace(history, "")


# Members, suspending, reinstating, revoking ----------------------------------------------------------

@pytest.fixture
def verified(world):
    return GovernmentProfileFactory(user=world["person"], organisation=world["office"], status=VerificationStatus.VERIFIED,
                                    designation="Verified officer")


def test_the_members_page_lists_verified_and_suspended_people_for_admins_only(world, verified):
    GovernmentProfileFactory(organisation=world["office"], status=VerificationStatus.SUSPENDED, designation="Suspended one")
    GovernmentProfileFactory(organisation=world["office"], designation="Waiting one")
    GovernmentProfileFactory(organisation=world["office"], status=VerificationStatus.REVOKED, designation="Revoked one")
    url = f"/verification/organisations/{world['office'].pk}/members/"
    html = well_formed(signed_in(world["admin_office"]).get(url))
    assert "Verified officer" in html and "Suspended one" in html
    assert "Waiting one" not in html and "Revoked one" not in html
    assert "Verified government user" in html and "Public user" in html  # the suspended person is not verified
    for who in ("public", "person", "auditor", "admin_other"):
        assert signed_in(world[who]).get(url).status_code == 404, who


def test_the_members_page_says_a_lapsed_verification_no_longer_counts_and_offers_nothing_on_ones_own(world):
    """Past the date of superannuation a verification no longer counts, before the hourly job
    revokes it; another account of the admin's own mailbox is theirs: no suspension or
    revocation is offered on it (the services refuse both)."""
    from datetime import timedelta

    lapsed = GovernmentProfileFactory(user=UserFactory(email="old@pune.mahaagri.gov.in", full_name="Old Officer"),
                                      organisation=world["office"], status=VerificationStatus.VERIFIED)
    GovernmentProfile.objects.filter(pk=lapsed.pk).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    mine = GovernmentProfileFactory(user=UserFactory(email="admin+2@pune.mahaagri.gov.in", full_name="Office Admin"),
                                    organisation=world["office"], status=VerificationStatus.VERIFIED)
    tree = parse(well_formed(signed_in(world["admin_office"]).get(
        f"/verification/organisations/{world['office'].pk}/members/")))
    rows = {row.find_all("td")[0].text(): row for row in tree.find("tbody").find_all("tr")}
    [old] = [row for name, row in rows.items() if "Old Officer" in name]
    assert "No longer counts" in old.text() and "Suspend" in old.text()
    [own] = [row for name, row in rows.items() if "admin+2@" in name]
    assert "No longer counts" not in own.text()
    assert [a.get("href") for a in own.find_all("a")] == [f"/verification/profiles/{mine.pk}/"]


def test_an_admin_sees_a_name_the_person_changed_and_accepts_it(world, verified):
    """The person renames themselves: their administrators see both names on the members
    list and the person's page, where they accept the new one (audited with both names);
    from then on it is the name shown, and the notice is gone."""
    person_correct(user=world["person"], full_name="Asha Deshmukh")
    client = signed_in(world["admin_office"])
    notice = "Name changed by the person: Asha Deshmukh; the directory shows Asha Kulkarni."
    members = well_formed(client.get(f"/verification/organisations/{world['office'].pk}/members/"))
    assert notice in parse(members).squashed_text()
    page = well_formed(client.get(f"/verification/profiles/{verified.pk}/"))
    assert notice in parse(page).squashed_text() and "Accept the new name" in page
    response = client.post(f"/verification/profiles/{verified.pk}/accept-name/", {"name": "Asha Deshmukh"})
    assert response.status_code == 302 and response["Location"] == f"/verification/profiles/{verified.pk}/"
    verified.refresh_from_db()
    assert verified.verified_name == "Asha Deshmukh"
    [event] = AuditEvent.objects.filter(action=AuditAction.VERIFICATION_NAME_ACCEPTED)
    assert event.actor_id == world["admin_office"].pk and event.target_id == str(verified.pk)
    assert (event.old_values, event.new_values["name"]) == ({"name": "Asha Kulkarni"}, "Asha Deshmukh")
    page = well_formed(client.get(f"/verification/profiles/{verified.pk}/"))
    assert "<h1>Asha Deshmukh</h1>" in page and "Name changed by the person:" not in page and "Accept the new" not in page
    assert "Name changed by the person accepted as verified" in page  # its history


def test_a_name_changed_again_since_the_page_was_shown_is_not_accepted(world, verified):
    person_correct(user=world["person"], full_name="Asha Deshmukh")
    client = signed_in(world["admin_office"])
    person_correct(user=world["person"], full_name="Chief Secretary")  # after the admin's page was shown
    response = client.post(f"/verification/profiles/{verified.pk}/accept-name/", {"name": "Asha Deshmukh"}, follow=True)
    assert "The person changed their name again meanwhile" in " ".join(messages_of(response))
    verified.refresh_from_db()
    assert verified.verified_name == "Asha Kulkarni"
    assert not AuditEvent.objects.filter(action=AuditAction.VERIFICATION_NAME_ACCEPTED).exists()


@pytest.mark.parametrize("who", ["person", "public", "auditor", "admin_other"])
def test_nobody_but_the_organisations_admins_accepts_a_changed_name(world, verified, who):
    person_correct(user=world["person"], full_name="Chief Secretary")
    response = signed_in(world[who]).post(f"/verification/profiles/{verified.pk}/accept-name/",
                                          {"name": "Chief Secretary"})
    assert response.status_code in (403, 404)
    verified.refresh_from_db()
    assert verified.verified_name == "Asha Kulkarni"
    assert not AuditEvent.objects.filter(action=AuditAction.VERIFICATION_NAME_ACCEPTED).exists()


def test_an_admin_from_whom_the_name_is_kept_is_told_nothing_of_a_change_and_cannot_accept_it(world, verified):
    PersonalVisibility.objects.create(user=world["person"], name=Audience.NOBODY)
    person_correct(user=world["person"], full_name="Chief Secretary")
    client = signed_in(world["admin_office"])
    for url in (f"/verification/profiles/{verified.pk}/", f"/verification/organisations/{world['office'].pk}/members/"):
        html = well_formed(client.get(url))
        assert "Chief Secretary" not in html and "Name changed by the person" not in html
    assert client.post(f"/verification/profiles/{verified.pk}/accept-name/", {"name": "Chief Secretary"}
                       ).status_code == 404
    verified.refresh_from_db()
    assert verified.verified_name == "Asha Kulkarni"


def test_a_waiting_request_shows_the_accounts_name_as_it_is_now(world):
    request = GovernmentProfileFactory(user=world["person"], organisation=world["office"])
    person_correct(user=world["person"], full_name="Asha Deshmukh")
    html = well_formed(signed_in(world["admin_office"]).get(f"/verification/profiles/{request.pk}/"))
    assert "<h1>Asha Deshmukh</h1>" in html and "Name changed by the person" not in html


def test_suspending_needs_a_reason_and_a_confirmation(world, verified):
    client = signed_in(world["admin_office"])
    url = f"/verification/profiles/{verified.pk}/suspend/"
    html = well_formed(client.get(url))
    assert "Yes, suspend this verification" in html
    html = well_formed(client.post(url, {"reason_code": "misuse"}))
    assert "Tick the box to confirm." in html
    html = well_formed(client.post(url, {"confirm": "on"}))
    assert "Choose the reason." in html
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.VERIFIED
    response = client.post(url, {"reason_code": "misuse", "reason": "Shared the account.", "confirm": "on"}, follow=True)
    assert "The verification was suspended and the person was told by email." in messages_of(response)
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.SUSPENDED and verified.reason == "Shared the account."
    # Suspended: reinstate is offered, suspending again is not.
    response = client.get(url, follow=True)
    assert "This verification is no longer in a state that allows this." in messages_of(response)
    html = well_formed(client.get(f"/verification/profiles/{verified.pk}/reinstate/"))
    response = client.post(f"/verification/profiles/{verified.pk}/reinstate/", {"confirm": "on"}, follow=True)
    assert "The suspension was lifted and the person was told by email." in messages_of(response)
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.VERIFIED


def test_suspending_and_reinstating_one_person_is_limited_a_day(world, verified, settings):
    """Each suspension and reinstatement mails the person (with the admin's note): one
    that would pass VERIFICATION_SUSPENSIONS_PER_DAY for that person is refused on the
    form, naming when the next is possible, with what the admin typed kept; nothing
    changes and nobody is mailed. Revoking stays possible."""
    settings.VERIFICATION_SUSPENSIONS_PER_DAY = 4
    person = world["person"]
    EmailAddress.objects.update_or_create(user=person, email=person.email, defaults={"verified": True, "primary": True})
    client = signed_in(world["admin_office"])
    suspend, reinstate = f"/verification/profiles/{verified.pk}/suspend/", f"/verification/profiles/{verified.pk}/reinstate/"
    for _cycle in range(2):
        assert client.post(suspend, {"reason_code": "misuse", "reason": "x", "confirm": "on"}).status_code == 302
        assert client.post(reinstate, {"reason": "y", "confirm": "on"}).status_code == 302
    mails = OutboxMessage.objects.filter(to=[person.email]).count()
    html = well_formed(client.post(suspend, {"reason_code": "misuse", "reason": "Shared the account again.", "confirm": "on"}))
    assert "suspended or reinstated 4 times in the last 24 hours" in html and "It can be changed again from" in html
    assert "Shared the account again." in html
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.VERIFIED
    assert OutboxMessage.objects.filter(to=[person.email]).count() == mails == 4
    assert AuditEvent.objects.filter(target_id=str(verified.pk), action=AuditAction.VERIFICATION_SUSPENDED).count() == 2
    # Ending it for good is still possible.
    assert client.post(f"/verification/profiles/{verified.pk}/revoke/",
                       {"reason_code": "misuse", "confirm": "on"}).status_code == 302
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.REVOKED


def test_a_printed_suspension_revocation_or_reinstatement_shows_what_is_decided_without_its_form(world, verified):
    """On paper the page says whose verification is suspended, revoked or reinstated and what
    that does; its reason, note, box and buttons act on nothing there and stay off it, also
    when the page comes back with errors."""
    client = signed_in(world["admin_office"])
    base = f"/verification/profiles/{verified.pk}"
    pages = [(f"{base}/suspend/", "Suspend the verification", "While suspended"),
             (f"{base}/revoke/", "Revoke the verification", "Revoking is final")]
    for url, title, effect in pages:
        for tree in (parse(well_formed(client.get(url))), parse(well_formed(client.post(url, {"reason": "x"})))):
            assert printed_controls(tree) == [], url
            printed = printed_text(tree)
            assert title in printed and effect in printed and world["person"].email in printed
    GovernmentProfile.objects.filter(pk=verified.pk).update(status=VerificationStatus.SUSPENDED)
    tree = parse(well_formed(client.get(f"{base}/reinstate/")))
    assert printed_controls(tree) == []
    assert "Reinstate the verification" in printed_text(tree) and world["person"].email in printed_text(tree)


def test_revoking_with_a_confirmation(world, verified):
    client = signed_in(world["admin_parent"])
    url = f"/verification/profiles/{verified.pk}/revoke/"
    html = well_formed(client.get(url))
    assert "this cannot be undone" in html
    client.post(url, {"reason_code": "left_service"})
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.VERIFIED
    client.post(url, {"reason_code": "left_service", "confirm": "on"})
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.REVOKED and verified.reason_code == "left_service"
    assert [e.action for e in AuditEvent.objects.filter(target_id=str(verified.pk), target_type="verification.governmentprofile")
            ] == [AuditAction.VERIFICATION_REVOKED]


def _query_of(url):
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}


def test_the_printed_members_list_says_which_filters_it_shows(world):
    """Its filter form is not printed: the paper says what it searched for, and that it
    lists the verified members only."""
    client = signed_in(world["admin_office"])
    members = f"/verification/organisations/{world['office'].pk}/members/"
    assert printed_filters(parse(client.get(members, {"q": "Kumar", "verified_only": "on"}).content)) == (
        "Showing: Name or email address = Kumar; Verified only (leave out suspended) = Yes")
    assert printed_filters(parse(client.get(members).content)) == "Showing: every row, no filter."


def test_acting_on_a_member_found_by_a_search_on_page_2_leads_back_to_that_search_and_page(world):
    """The row's links to suspend, reinstate and revoke carry the list's search, filter and
    page (what the list takes of them, nothing else): the action's Cancel link and what it
    leads to once done are that page of that search, not the first page of everyone."""
    office = world["office"]
    for i in range(60):
        GovernmentProfileFactory(organisation=office, status=VerificationStatus.VERIFIED,
                                 user=UserFactory(email=f"person{i:03d}@pune.mahaagri.gov.in", full_name=f"Kumar {i:03d}"))
    client = signed_in(world["admin_office"])
    members = f"/verification/organisations/{office.pk}/members/"
    tree = parse(well_formed(client.get(members, {"q": "Kumar", "verified_only": "on", "page": "2", "extra": "x"})))
    place = {"q": "Kumar", "verified_only": "on", "page": "2"}
    actions = [a.get("href") for a in tree.find_all("a") if "/verification/profiles/" in (a.get("href") or "")
               and a.get("href").split("?")[0].endswith(("/suspend/", "/revoke/"))]
    assert actions and all(_query_of(href) == place for href in actions), actions
    suspend = next(href for href in actions if "/suspend/" in href)
    cancel = next(a.get("href") for a in parse(well_formed(client.get(suspend))).find_all("a") if a.text().strip() == "Cancel")
    assert (urlsplit(cancel).path, _query_of(cancel)) == (members, place)
    done = client.post(suspend, {"reason_code": "transfer", "reason": "Moved to Nashik", "confirm": "on"})
    assert (urlsplit(done["Location"]).path, _query_of(done["Location"])) == (members, place)
    # Suspended, they are offered to be reinstated, from the same place, and back to it.
    tree = parse(well_formed(client.get(done["Location"])))
    [reinstate] = [a.get("href") for a in tree.find_all("a") if "/reinstate/" in (a.get("href") or "")] or [None]
    assert reinstate is None  # "verified only" leaves the suspended out
    tree = parse(well_formed(client.get(members, {"q": "Kumar", "page": "2"})))
    reinstate = next(a.get("href") for a in tree.find_all("a") if "/reinstate/" in (a.get("href") or ""))
    assert _query_of(reinstate) == {"q": "Kumar", "page": "2"}
    done = client.post(reinstate, {"confirm": "on"})
    assert (urlsplit(done["Location"]).path, _query_of(done["Location"])) == (members, {"q": "Kumar", "page": "2"})
    # An address's query the list would not take is not carried: only what the list shows.
    revoke = next(href for href in actions if "/revoke/" in href).split("?")[0]
    done = client.post(revoke + f"?q={'K' * 101}&page=-3&status=x", {"reason_code": "transfer", "confirm": "on"})
    assert done["Location"] == members


def test_an_admin_does_not_suspend_or_revoke_themselves(world):
    own = GovernmentProfileFactory(user=world["admin_office"], organisation=world["office"], status=VerificationStatus.VERIFIED)
    client = signed_in(world["admin_office"])
    for action in ("suspend", "revoke"):
        response = client.post(f"/verification/profiles/{own.pk}/{action}/", {"reason_code": "misuse", "confirm": "on"},
                               follow=True)
        assert "You cannot decide on your own verification: another administrator does." in messages_of(response)
    own.refresh_from_db()
    assert own.status == VerificationStatus.VERIFIED


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_an_office_admin_is_told_at_the_form_why_the_department_admins_verification_is_theirs(world, action):
    """The person is an admin of the department above, a role resting on their
    verification in the office: its admin is refused at the form, which says who may."""
    person = UserFactory(email="ravi@pune.mahaagri.gov.in", full_name="Ravi Patil")
    profile = GovernmentProfileFactory(user=person, organisation=world["office"], status=VerificationStatus.VERIFIED)
    Membership.objects.create(organisation=world["office"], user=person, role=MembershipRole.MEMBER)
    organisation_admin_grant(organisation_id=world["parent"].pk, user_id=person.pk, actor=world["admin_parent"])
    url = f"/verification/profiles/{profile.pk}/{action}/"
    html = well_formed(signed_in(world["admin_office"]).post(url, {"reason_code": "transfer", "confirm": "on"}))
    summary = parse(html).by_id("error-summary").squashed_text()
    assert "Agriculture Department, Maharashtra" in summary and "superadmin" in summary
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_the_refusals_at_the_form_name_the_person_as_the_page_does(world, action):
    """Both refusals that name the person (an admin role above that this administrator
    cannot end, the last admin of an organisation) name them as the page does: by their
    account address where the rules keep their name from this administrator."""
    person = UserFactory(email="ravi@pune.mahaagri.gov.in", full_name="Ravi Hiddenname")
    profile = GovernmentProfileFactory(user=person, organisation=world["office"], status=VerificationStatus.VERIFIED)
    Membership.objects.create(organisation=world["office"], user=person, role=MembershipRole.MEMBER)
    organisation_admin_grant(organisation_id=world["parent"].pk, user_id=person.pk, actor=world["admin_parent"])
    PersonalVisibility.objects.create(user=person, name=Audience.NOBODY)
    url = f"/verification/profiles/{profile.pk}/{action}/"
    client = signed_in(world["admin_office"])
    assert "Ravi Hiddenname" not in well_formed(client.get(url))
    html = well_formed(client.post(url, {"reason_code": "transfer", "confirm": "on"}))
    summary = parse(html).by_id("error-summary").squashed_text()
    assert "ravi@pune.mahaagri.gov.in is an admin of Agriculture Department, Maharashtra" in summary
    assert "Ravi Hiddenname" not in html
    # The office's only admin, who keeps their name to themself too: the last-admin refusal.
    admin = world["admin_office"]
    own = GovernmentProfileFactory(user=admin, organisation=world["office"], status=VerificationStatus.VERIFIED)
    PersonalVisibility.objects.create(user=admin, name=Audience.NOBODY)
    url = f"/verification/profiles/{own.pk}/{action}/"
    html = well_formed(signed_in(world["admin_parent"]).post(url, {"reason_code": "transfer", "confirm": "on"}))
    summary = parse(html).by_id("error-summary").squashed_text()
    assert f"{admin.email} is the last admin of District Agriculture Office, Pune whose role does not end" in summary
    assert "Office Admin" not in html


def _a_second_admin_of_the_office(world):
    """Meera, verified in the office and granted its admin role beside its first admin."""
    colleague = UserFactory(email="meera.joshi@pune.mahaagri.gov.in", full_name="Meera Joshi")
    profile = GovernmentProfileFactory(user=colleague, organisation=world["office"], status=VerificationStatus.VERIFIED)
    Membership.objects.create(organisation=world["office"], user=colleague, role=MembershipRole.MEMBER)
    organisation_admin_grant(organisation_id=world["office"].pk, user_id=colleague.pk, actor=world["admin_office"],
                             reason="second admin")
    return profile


def _warning(html):
    found = parse(html).by_id("admin-roles-end")
    return found.squashed_text() if found is not None else ""


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_ending_an_admins_verification_says_their_admin_role_ends_and_does_not_come_back(world, action):
    """The admin role rests on the verification: suspending or revoking it ends the role
    at once, and reinstating brings back the verification only. The confirmation page
    names the role and says so before the administrator confirms."""
    profile = _a_second_admin_of_the_office(world)
    client = signed_in(world["admin_office"])
    url = f"/verification/profiles/{profile.pk}/{action}/"
    warning = _warning(well_formed(client.get(url)))
    assert "District Agriculture Office, Pune" in warning and "admin" in warning
    assert "does not bring it back" in warning and "granted again" in warning
    assert "no admin left" not in warning  # the office keeps its first admin
    # Kept on the form when it is refused (no reason chosen) too.
    assert "granted again" in _warning(well_formed(client.post(url, {"confirm": "on"})))
    assert client.post(url, {"reason_code": "misuse", "confirm": "on"}).status_code == 302
    if action == "suspend":
        assert client.post(f"/verification/profiles/{profile.pk}/reinstate/", {"confirm": "on"}).status_code == 302
        profile.refresh_from_db()
        assert profile.status == VerificationStatus.VERIFIED
    # As the page said: no admin role (a member again only when reinstated).
    assert not Membership.objects.filter(organisation=world["office"], user=profile.user, role=MembershipRole.ADMIN).exists()


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_ending_a_verification_from_a_page_that_did_not_name_the_admin_role_it_ends_is_refused(world, action):
    """The page was opened while the person held no admin role; they were made an admin of
    the office (resting on this verification) before it was sent: nothing is done, the
    page says so and now names the role, with the reason, the note and the tick kept;
    sent again from it, the verification ends, and the role with it."""
    colleague = UserFactory(email="meera.joshi@pune.mahaagri.gov.in", full_name="Meera Joshi")
    profile = GovernmentProfileFactory(user=colleague, organisation=world["office"], status=VerificationStatus.VERIFIED)
    Membership.objects.create(organisation=world["office"], user=colleague, role=MembershipRole.MEMBER)
    client = signed_in(world["admin_office"])
    url = f"/verification/profiles/{profile.pk}/{action}/"
    tree = parse(well_formed(client.get(url)))
    assert tree.by_id("admin-roles-end") is None
    sent = {"reason_code": "misuse", "reason": "Shared the account.", "confirm": "on",
            "shown_values": field_value(tree, "shown_values")}
    organisation_admin_grant(organisation_id=world["office"].pk, user_id=colleague.pk, actor=world["admin_office"],
                             reason="second admin")
    html = well_formed(client.post(url, sent))
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED
    assert Membership.objects.filter(organisation=world["office"], user=colleague, role=MembershipRole.ADMIN).exists()
    tree = parse(html)
    assert "Since this page was opened, the admin roles that end with this verification have changed" in (
        tree.by_id("error-summary").squashed_text())
    assert "Admin of District Agriculture Office, Pune" in _warning(html)
    assert (field_value(tree, "reason_code"), field_value(tree, "reason")) == ("misuse", "Shared the account.")
    assert field_value(tree, "confirm") is True
    assert client.post(url, {**sent, "shown_values": field_value(tree, "shown_values")}).status_code == 302
    profile.refresh_from_db()
    assert profile.status != VerificationStatus.VERIFIED
    assert not Membership.objects.filter(organisation=world["office"], user=colleague, role=MembershipRole.ADMIN).exists()


def sent_from(tree, **fields):
    """What a suspend, revoke or reinstate page sends, as it was opened, with ``fields`` filled."""
    sent = {**fields, "confirm": "on", "shown_decision": field_value(tree, "shown_decision")}
    if tree.find("input", name="shown_values") is not None:  # the admin roles it ends: not on the reinstate page
        sent["shown_values"] = field_value(tree, "shown_values")
    return sent


def test_a_reinstatement_from_a_page_opened_before_a_new_suspension_is_refused(world, verified):
    """The reinstate page was opened on a first suspension; meanwhile another admin reinstated
    the person and suspended them again for something else: sent, the page lifts nothing, says
    why with the note kept, and shows the verification as it is; sent again from there, it
    lifts the suspension it now showed."""
    admin, other = world["admin_office"], world["admin_parent"]
    services.profile_suspend(profile_id=verified.pk, reason_code="misuse", reason="First incident.", actor=other)
    client = signed_in(admin)
    url = f"/verification/profiles/{verified.pk}/reinstate/"
    sent = sent_from(parse(well_formed(client.get(url))), reason="Cleared by the inquiry.")
    services.profile_reinstate(profile_id=verified.pk, reason="Cleared.", actor=other)
    services.profile_suspend(profile_id=verified.pk, reason_code="misuse", reason="Second incident, under inquiry.",
                             actor=other)
    tree = parse(well_formed(client.post(url, sent)))
    verified.refresh_from_db()
    assert (verified.status, verified.reason) == (VerificationStatus.SUSPENDED, "Second incident, under inquiry.")
    assert "this verification was changed by someone else or in another tab: nothing was done" in (
        tree.by_id("error-summary").squashed_text())
    assert field_value(tree, "reason") == "Cleared by the inquiry."
    assert "Suspended" in tree.squashed_text() and "Second incident, under inquiry." in tree.squashed_text()
    assert client.post(url, sent_from(tree, reason="Cleared by the inquiry.")).status_code == 302
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.VERIFIED


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_ending_a_verification_from_a_page_opened_before_another_decision_is_refused(world, verified, action):
    """The page was opened on a verified person; another admin suspended them for misuse (and,
    for a suspension, reinstated them) before it was sent: nothing is done, the other admin's
    decision and reason stand."""
    admin, other = world["admin_office"], world["admin_parent"]
    client = signed_in(admin)
    url = f"/verification/profiles/{verified.pk}/{action}/"
    sent = sent_from(parse(well_formed(client.get(url))), reason_code="transfer", reason="Moved to Nashik.")
    services.profile_suspend(profile_id=verified.pk, reason_code="misuse", reason="Under inquiry.", actor=other)
    if action == "suspend":
        services.profile_reinstate(profile_id=verified.pk, reason="Cleared.", actor=other)
    tree = parse(well_formed(client.post(url, sent)))
    verified.refresh_from_db()
    assert verified.status == (VerificationStatus.VERIFIED if action == "suspend" else VerificationStatus.SUSPENDED)
    assert verified.reason == ("Cleared." if action == "suspend" else "Under inquiry.")
    assert "this verification was changed by someone else or in another tab" in tree.by_id("error-summary").squashed_text()
    assert (field_value(tree, "reason_code"), field_value(tree, "reason")) == ("transfer", "Moved to Nashik.")


def test_a_person_with_no_admin_role_is_told_nothing_of_roles(world, verified):
    html = well_formed(signed_in(world["admin_office"]).get(f"/verification/profiles/{verified.pk}/suspend/"))
    assert _warning(html) == "" and "You can reinstate them later." in html


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_ending_the_verification_of_an_organisations_last_admin_is_refused_on_the_page(world, action):
    """The office's only admin (its first) cannot be suspended or revoked by the department's
    admin, as their admin role cannot be revoked (LastAdmin): the office would be left with
    no admin whose role does not end. The page says so before, and refuses the decision
    at the form, keeping what was typed and changing nothing; once the role is granted to
    someone else too, the verification can end (and the role above that rests on it)."""
    admin = world["admin_office"]
    profile = GovernmentProfileFactory(user=admin, organisation=world["office"], status=VerificationStatus.VERIFIED)
    organisation_admin_grant(organisation_id=world["parent"].pk, user_id=admin.pk, actor=world["admin_parent"])
    client = signed_in(world["admin_parent"])
    url = f"/verification/profiles/{profile.pk}/{action}/"
    warning = _warning(well_formed(client.get(url)))
    assert "District Agriculture Office, Pune" in warning and "Agriculture Department, Maharashtra" in warning
    assert "District Agriculture Office, Pune would have no admin left" in warning
    assert "this verification cannot be suspended or revoked" in warning
    assert "Agriculture Department, Maharashtra would have no admin left" not in warning  # its first admin stays
    page = well_formed(client.get(url))
    assert parse(page).find("main").find("button") is None  # nothing offers what would be refused
    # A page opened before (the button still there) sends it: refused at the form.
    html = well_formed(client.post(url, {"reason_code": "transfer", "reason": "Moved to Nashik.", "confirm": "on"}))
    assert parse(html).find("main").find("button") is None
    summary = parse(html).by_id("error-summary").squashed_text()
    assert ("Office Admin is the last admin of District Agriculture Office, Pune whose role does not end" in summary
            and "Grant the admin role there to someone else first" in summary)
    assert field_value(parse(html), "reason") == "Moved to Nashik." and field_value(parse(html), "reason_code") == "transfer"
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED
    assert Membership.objects.filter(user=admin, role=MembershipRole.ADMIN, is_active=True).count() == 2
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).exists()
    # The office's role handed over (the department's admin grants it): the verification ends.
    _a_second_admin_of_the_office(world)
    page = well_formed(client.get(url))
    assert "no admin left" not in _warning(page) and parse(page).find("main").find("button") is not None
    assert client.post(url, {"reason_code": "transfer", "confirm": "on"}).status_code == 302
    assert not Membership.objects.filter(user=admin, role=MembershipRole.ADMIN).exists()

def test_a_printed_refusal_to_end_the_last_admins_verification_shows_why_without_the_fields(world):
    """Refused while the office's last admin role rests on the verification, the page keeps
    what was typed readable on screen (disabled); on paper it says why it is refused, and the
    disabled reason, note and box stay off it, as the form they come from does."""
    admin = world["admin_office"]
    profile = GovernmentProfileFactory(user=admin, organisation=world["office"], status=VerificationStatus.VERIFIED)
    client = signed_in(world["admin_parent"])
    url = f"/verification/profiles/{profile.pk}/suspend/"
    tree = parse(well_formed(client.post(url, {"reason_code": "transfer", "reason": "Moved to Nashik.", "confirm": "on"})))
    assert field_value(tree, "reason") == "Moved to Nashik."  # still there on screen
    assert printed_controls(tree) == []
    printed = printed_text(tree)
    assert "District Agriculture Office, Pune would have no admin left" in printed
    assert "Moved to Nashik." not in printed


@pytest.mark.parametrize(("language", "said"), [("hi", "वापस नहीं"), ("mr", "परत येत नाही")])
def test_the_admin_role_warning_is_translated(world, language, said):
    profile = _a_second_admin_of_the_office(world)
    client = signed_in(world["admin_office"])
    client.cookies["django_language"] = language
    warning = _warning(well_formed(client.get(f"/verification/profiles/{profile.pk}/suspend/")))
    assert "District Agriculture Office, Pune" in warning and said in warning
    assert "admin" not in warning.replace("District Agriculture Office, Pune", "")


# Settings ----------------------------------------------------------------------------------------

def test_switching_automatic_verification_on_and_off(world):
    client = signed_in(world["admin_office"])
    url = f"/verification/organisations/{world['office'].pk}/settings/"
    html = well_formed(client.get(url))
    assert "pune.mahaagri.gov.in" in html and parse(html).by_id("id_auto_verify_official_domain").get("checked") is None
    response = client.post(url, {"auto_verify_official_domain": "on"}, follow=True)
    assert "Automatic verification is now on." in messages_of(response)
    assert VerificationSettings.objects.get(organisation=world["office"]).auto_verify_official_domain
    client.post(url, {})
    assert not VerificationSettings.objects.get(organisation=world["office"]).auto_verify_official_domain
    assert AuditEvent.objects.filter(action=AuditAction.AUTO_VERIFICATION_CHANGED).count() == 2
    assert signed_in(world["admin_other"]).post(url, {"auto_verify_official_domain": "on"}).status_code == 404


def test_asking_an_organisation_that_verifies_automatically(world):
    VerificationSettings.objects.create(organisation=world["office"], auto_verify_official_domain=True)
    response = signed_in(world["person"]).post(f"/verification/organisations/{world['office'].pk}/join/", form_data(),
                                               follow=True)
    assert any("verified you automatically" in m for m in messages_of(response))
    assert "Verified government user" in response.content.decode()


@pytest.fixture
def held_in_karnataka(world):
    """Asha is verified in the Karnataka directorate and one of its admins (the role rests
    on that verification; its other admin remains); the Pune office verifies automatically."""
    held = GovernmentProfileFactory(user=world["person"], organisation=world["other"], status=VerificationStatus.VERIFIED)
    Membership.objects.create(organisation=world["other"], user=world["person"], role=MembershipRole.MEMBER)
    organisation_admin_grant(organisation_id=world["other"].pk, user_id=world["person"].pk, actor=world["admin_other"])
    VerificationSettings.objects.create(organisation=world["office"], auto_verify_official_domain=True)
    return held


def still_admin_in_karnataka(world):
    return Membership.objects.filter(organisation=world["other"], user=world["person"], role=MembershipRole.ADMIN,
                                     is_active=True).exists()


def test_asking_an_automatic_organisation_while_verified_elsewhere_asks_to_confirm_the_ending_first(
        world, held_in_karnataka):
    """Verified at once, the person's verification in another organisation ends (revoked, a
    transfer) with the admin role resting on it: the page says so, naming both, and the
    request is sent only once the box is ticked (an admin verifying them must tick one too)."""
    client = signed_in(world["person"])
    url = f"/verification/organisations/{world['office'].pk}/join/"
    tree = parse(well_formed(client.get(url)))
    warning = tree.by_id("ending-elsewhere").squashed_text()
    assert "ends your verification in Directorate of Health Services, Karnataka" in warning, warning
    assert "your admin role in Directorate of Health Services, Karnataka" in warning, warning
    assert field_value(tree, "confirm") is False
    tree = parse(well_formed(client.post(url, form_data(designation="Under Secretary"))))
    assert field_error(tree, "confirm") == ("Tick the box to confirm that being verified here ends your verification "
                                            "in Directorate of Health Services, Karnataka.")
    assert field_value(tree, "designation") == "Under Secretary"  # nothing lost
    assert not GovernmentProfile.objects.filter(organisation=world["office"]).exists()
    held_in_karnataka.refresh_from_db()
    assert held_in_karnataka.status == VerificationStatus.VERIFIED and still_admin_in_karnataka(world)
    assert client.post(url, form_data(confirm="on")).status_code == 302
    held_in_karnataka.refresh_from_db()
    assert (held_in_karnataka.status, held_in_karnataka.reason_code) == (VerificationStatus.REVOKED, EndReason.TRANSFER)
    assert GovernmentProfile.objects.get(organisation=world["office"]).status == VerificationStatus.VERIFIED
    assert not still_admin_in_karnataka(world)


def test_asking_an_organisation_that_does_not_verify_automatically_tells_what_its_verification_would_end(
        world, held_in_karnataka):
    """The request waits for an administrator (who ticks a box to verify a person verified
    elsewhere): the person is told all the same, and needs no box to send it."""
    VerificationSettings.objects.filter(organisation=world["office"]).update(auto_verify_official_domain=False)
    client = signed_in(world["person"])
    url = f"/verification/organisations/{world['office'].pk}/join/"
    tree = parse(well_formed(client.get(url)))
    warning = tree.by_id("ending-elsewhere").squashed_text()
    assert "ends your verification in Directorate of Health Services, Karnataka" in warning, warning
    assert "verifies automatically" not in warning
    assert not [node for node in tree.iter() if node.get("name") == "confirm"]
    assert client.post(url, form_data()).status_code == 302
    assert GovernmentProfile.objects.get(organisation=world["office"]).status == VerificationStatus.PENDING
    held_in_karnataka.refresh_from_db()
    assert held_in_karnataka.status == VerificationStatus.VERIFIED and still_admin_in_karnataka(world)


def test_the_join_page_warns_of_nothing_when_nothing_is_held_elsewhere(world):
    VerificationSettings.objects.create(organisation=world["office"], auto_verify_official_domain=True)
    tree = parse(well_formed(signed_in(world["person"]).get(f"/verification/organisations/{world['office'].pk}/join/")))
    assert tree.by_id("ending-elsewhere") is None
    assert not [node for node in tree.iter() if node.get("name") == "confirm"]


@pytest.mark.parametrize("automatic", [True, False], ids=["verifies-automatically", "an-administrator-decides"])
def test_asking_an_automatic_organisation_says_it_withdraws_the_request_waiting_elsewhere(world, automatic):
    """A request waiting in another organisation is withdrawn when the person is verified here:
    where that may be at once, as the request is sent, the page says so first, naming it; it
    needs no box (the person may ask there again). Where an administrator decides, nothing."""
    VerificationSettings.objects.create(organisation=world["office"], auto_verify_official_domain=automatic)
    waiting = GovernmentProfileFactory(user=world["person"], organisation=world["other"])
    client = signed_in(world["person"])
    url = f"/verification/organisations/{world['office'].pk}/join/"
    tree = parse(well_formed(client.get(url)))
    assert not [node for node in tree.iter() if node.get("name") == "confirm"]
    if not automatic:
        assert tree.by_id("ending-elsewhere") is None
        return
    warning = tree.by_id("ending-elsewhere").squashed_text()
    assert "sending this request may verify you at once" in warning, warning
    assert ("withdraws your request to Directorate of Health Services, Karnataka, which waits for a decision"
            in warning), warning
    assert client.post(url, form_data()).status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == VerificationStatus.CANCELLED


def test_the_admins_own_page_links_each_organisation_they_administer(world, requests_):
    html = well_formed(signed_in(world["admin_parent"]).get("/verification/"))
    tree = parse(html)
    rows = [row.squashed_text() for row in tree.find_all("tbody")[-1].find_all("tr")]
    assert rows[0].startswith("Agriculture Department, Maharashtra 0") and rows[1].startswith("District Agriculture Office, Pune 2")
    html = well_formed(signed_in(world["superadmin"]).get("/verification/"))
    assert "As a superadmin you may decide in every organisation." in html


def test_every_organisation_the_admin_administers_is_reached_from_their_own_page(world):
    """The department's admin administers it and its sub-offices (hundreds in a state):
    the page listed the first 50 by name and said there were more, with no way on, and
    the settings, members and "Who sees what" of the others were linked nowhere. The
    list is paged, 50 a page by name and id: the next page lists the others, with their
    links."""
    client = signed_in(world["admin_parent"])
    for n in range(48):  # with the department and its district office, 50
        OrganisationFactory(name=f"Taluka Agriculture Office {n:03d}", parent=world["parent"])
    tree = parse(well_formed(client.get("/verification/")))
    assert len(tree.find_all("tbody")[-1].find_all("tr")) == 50 and tree.find("nav", **{"aria-label": "Pages"}) is None
    last = OrganisationFactory(name="Taluka Agriculture Office 048", parent=world["parent"])
    tree = parse(well_formed(client.get("/verification/")))
    assert len(tree.find_all("tbody")[-1].find_all("tr")) == 50
    assert f"/verification/organisations/{last.pk}/settings/" not in {link.get("href") for link in tree.find_all("a")}
    pager = tree.find("nav", **{"aria-label": "Pages"})
    assert "Page 1 of 2" in pager.squashed_text()
    [next_page] = [link.get("href") for link in pager.find_all("a")]
    assert next_page == "?page=2"
    tree = parse(well_formed(client.get("/verification/" + next_page)))
    [row] = tree.find_all("tbody")[-1].find_all("tr")
    assert row.squashed_text().startswith("Taluka Agriculture Office 048 0")
    assert {link.get("href") for link in row.find_all("a")} == {
        f"/verification/queue/?organisation={last.pk}", f"/verification/organisations/{last.pk}/members/",
        f"/verification/organisations/{last.pk}/settings/", f"/people/visibility/organisations/{last.pk}/"}
    assert "Page 2 of 2" in tree.find("nav", **{"aria-label": "Pages"}).squashed_text()


@pytest.mark.parametrize(("language", "said"), [
    ("en", "This address is not one you have confirmed."),
    ("hi", "यह पता आपके द्वारा पुष्टि किया गया पता नहीं है।"),
    ("mr", "हा पत्ता तुम्ही पुष्टी केलेला पत्ता नाही."),
])
def test_an_official_address_the_person_has_not_confirmed_is_refused_at_its_field(world, language, said):
    client = signed_in(world["person"])
    client.cookies["django_language"] = language
    url = f"/verification/organisations/{world['office'].pk}/join/"
    typed = form_data(official_email="secretary@pune.mahaagri.gov.in", designation="Section Officer (Accounts)")
    tree = parse(well_formed(client.post(url, typed)))
    error = tree.by_id("id_official_email_error")
    assert error is not None and said in error.squashed_text()
    assert tree.by_id("id_official_email").get("value") == "secretary@pune.mahaagri.gov.in"  # nothing lost
    assert tree.by_id("id_designation").get("value") == "Section Officer (Accounts)"
    assert not GovernmentProfile.objects.filter(user=world["person"]).exists()


@pytest.mark.parametrize("status", [VerificationStatus.VERIFIED, VerificationStatus.PENDING])
def test_the_official_domain_badge_tells_nothing_of_an_address_kept_from_the_admins(world, status):
    """The badge says where the official address is: of a verified person who keeps it to
    themselves, it would tell the admins what the page leaves out. A waiting request shows
    every detail to the admins deciding it, the badge with it."""
    user = UserFactory(email="ravi.private@gmail.com", full_name="Ravi Patil")
    EmailAddress.objects.create(user=user, email="ravi.patil@pune.mahaagri.gov.in", verified=True)
    profile = GovernmentProfileFactory(user=user, organisation=world["office"], status=status,
                                       official_email="ravi.patil@pune.mahaagri.gov.in")
    PersonalVisibility.objects.create(user=user, official_email=Audience.NOBODY)
    html = signed_in(world["admin_office"]).get(f"/verification/profiles/{profile.pk}/").content.decode()
    shown = status == VerificationStatus.PENDING
    assert ("ravi.patil@pune.mahaagri.gov.in" in html) is shown
    assert ("Address on the organisation's official domain" in html) is shown


def test_an_admins_note_that_reads_as_a_system_note_is_shown_as_typed_and_the_systems_own_as_sentences(world):
    profile = GovernmentProfileFactory(organisation=world["office"], status=VerificationStatus.VERIFIED)
    response = signed_in(world["admin_office"]).post(f"/verification/profiles/{profile.pk}/revoke/",
                                                     {"reason_code": "misuse", "reason": "withdrawn", "confirm": "on"})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.decision_note == "withdrawn"
    with translation.override("en"):
        for status, reason, reason_code, said in (
            (VerificationStatus.CANCELLED, SystemNote.WITHDRAWN, "", "The person withdrew their request."),
            (VerificationStatus.REVOKED, SystemNote.VERIFIED_ELSEWHERE, EndReason.TRANSFER,
             "Ended when the person was verified in another organisation."),
            (VerificationStatus.REVOKED, SystemNote.VERIFIED_AGAIN, EndReason.ADDRESS_REMOVED,
             "Replaced when the person was verified again in this organisation."),
        ):
            ended = GovernmentProfileFactory(organisation=world["office"], status=status, reason=reason,
                                             reason_code=reason_code, decided_by=None)
            assert ended.decision_note == said
