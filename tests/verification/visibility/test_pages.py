"""The visibility pages: an organisation's policy page (its admins only, 404 to anyone
else, every input checked at its field), a person's own choices, the directory's
bounds (a short or long search, a page number out of range). Every page well-formed."""

import re
from html import unescape

import pytest
from django.conf import settings

from portal.audit.models import AuditAction, AuditEvent
from portal.privacy.requests import person_correct
from tests.factories import UserFactory
from tests.html_tree import field_container, field_value, form_as_sent, html_problems, parse, printed_filters
from tests.verification.helpers import GovernmentProfileFactory, make_admin, signed_in
from tests.verification.visibility.conftest import VALUES, VIEWERS, client_of, lapsed_admin, set_policy
from verification.models import GovernmentProfile, VerificationStatus
from verification.visibility import rules
from verification.visibility.models import Audience, PersonalVisibility, ProfileField, VisibilityPolicy
from verification.visibility.rules import normalise_search, visible_profile

pytestmark = pytest.mark.django_db


def policy_form(**changes):
    data = {name.value: str(int(Audience.VERIFIED)) for name in ProfileField}
    data.update({key: str(value) for key, value in changes.items()})
    return data


@pytest.mark.parametrize("who", VIEWERS)
def test_only_its_admins_open_the_policy_page(people, who):
    response = client_of(people, who).get(f"/people/visibility/organisations/{people['home'].pk}/")
    if who == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif who in ("admin", "superadmin"):
        assert response.status_code == 200
        assert not html_problems(response.content.decode())
    else:
        assert response.status_code == 404


def test_an_admin_of_another_organisation_gets_404_and_changes_nothing(people):
    client = client_of({"x": make_admin(people["other"])}, "x")
    url = f"/people/visibility/organisations/{people['home'].pk}/"
    assert client.get(url).status_code == 404
    assert client.post(url, policy_form(mobile=int(Audience.PUBLIC))).status_code == 404
    assert not VisibilityPolicy.objects.exists()


def test_the_admin_saves_the_policy(people):
    client = client_of(people, "admin")
    url = f"/people/visibility/organisations/{people['home'].pk}/"
    response = client.post(url, policy_form(mobile=int(Audience.PUBLIC)), follow=True)
    assert "was saved" in response.content.decode()
    assert VisibilityPolicy.objects.get(organisation=people["home"]).mobile == Audience.PUBLIC
    assert AuditEvent.objects.filter(action=AuditAction.VISIBILITY_POLICY_CHANGED).count() == 1


@pytest.mark.parametrize("bad", ["", "35", "public", "-1", "9" * 30])
def test_a_bad_choice_is_shown_at_its_field_and_the_others_are_kept(people, bad):
    client = client_of(people, "admin")
    data = policy_form(name=int(Audience.PUBLIC))
    data["mobile"] = bad
    response = client.post(f"/people/visibility/organisations/{people['home'].pk}/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_mobile_error"' in html and "Choose who may see this field." in html
    assert '<option value="40" selected>' in html  # the name's choice, kept
    assert not VisibilityPolicy.objects.exists()


def test_a_person_narrows_on_their_own_page(people):
    client = client_of(people, "self")
    page = client.get("/people/visibility/")
    assert page.status_code == 200 and not html_problems(page.content.decode())
    response = client.post("/people/visibility/", {"mobile": str(int(Audience.NOBODY))}, follow=True)
    assert "Your choices were saved." in response.content.decode()
    assert PersonalVisibility.objects.get(user=people["self"]).mobile == Audience.NOBODY
    # Wider than the organisation's (the mobile number is for its admins by default): refused at the field.
    response = client.post("/people/visibility/", {"mobile": str(int(Audience.PUBLIC))})
    assert 'id="id_mobile_error"' in response.content.decode()
    assert PersonalVisibility.objects.get(user=people["self"]).mobile == Audience.NOBODY


def _as_sent(html, **changes):
    """What a browser sends for the rendered form: each select's selected option (the
    first when none is marked selected), with ``changes`` applied."""
    data = {}
    for name, body in re.findall(r'<select name="([a-z_]+)"[^>]*>(.*?)</select>', html, re.S):
        options = re.findall(r'<option value="([^"]*)"( selected)?>', body)
        chosen = [value for value, selected in options if selected]
        data[name] = chosen[0] if chosen else options[0][0]
    data.update({key: str(value) for key, value in changes.items()})
    return data


def test_saving_again_keeps_a_choice_the_organisation_has_since_narrowed_below(people):
    """The person kept their name to verified government users; their organisation then
    narrowed it to its members. Their choice is still offered, selected, as having no
    effect for now, and saving the form for another detail keeps it: when the
    organisation widens its own again, the person's choice still applies."""
    client = client_of(people, "self")
    set_policy(people["home"], {ProfileField.NAME: Audience.PUBLIC})
    client.post("/people/visibility/", {"name": str(int(Audience.VERIFIED))})
    set_policy(people["home"], {ProfileField.NAME: Audience.ORGANISATION})
    html = client.get("/people/visibility/").content.decode()
    assert not html_problems(html)
    assert re.search(r'<option value="30" selected>[^<]*no effect', html)
    client.post("/people/visibility/", _as_sent(html, mobile=int(Audience.NOBODY)))
    row = PersonalVisibility.objects.get(user=people["self"])
    assert (row.name, row.mobile) == (Audience.VERIFIED, Audience.NOBODY)
    last = AuditEvent.objects.filter(action=AuditAction.PERSONAL_VISIBILITY_CHANGED).latest("pk")
    assert last.old_values == {"mobile": None} and last.new_values == {"mobile": "nobody"}
    set_policy(people["home"], {ProfileField.NAME: Audience.PUBLIC})
    seen = visible_profile(people["public"], people["profile"].pk)
    assert seen is None or seen.name is None
    # Still only narrowed: a choice wider than the organisation's that is not the kept one is refused.
    response = client.post("/people/visibility/", {"name": str(int(Audience.PUBLIC))})
    assert 'id="id_name_error"' in response.content.decode()


CHANGED_MEANWHILE = "was changed since it was opened, by someone else or in another tab or window"


def _as_shown(response, **changes):
    """What the page's form sends back, as the page shows it, with ``changes``."""
    return form_as_sent(parse(response.content), **changes)


def test_a_policy_page_opened_before_another_admin_saved_does_not_put_back_what_it_showed(people):
    """Two admins open the policy page; the first keeps official addresses to the admins.
    The second, from the page opened before, changes who sees designations: nothing is
    saved (the addresses would be shown to the organisation again, unseen), the refusal
    said above the form, what is saved now at the field that differs, the choice kept."""
    url = f"/people/visibility/organisations/{people['home'].pk}/"
    first, second = client_of(people, "admin"), signed_in(make_admin(people["home"], email="second@quixrec.gov.in"))
    seen_by_first, seen_by_second = _as_shown(first.get(url)), _as_shown(second.get(url))
    assert first.post(url, {**seen_by_first, "official_email": str(int(Audience.ADMINS))}).status_code == 302
    changes = AuditEvent.objects.filter(action=AuditAction.VISIBILITY_POLICY_CHANGED).count()

    response = second.post(url, {**seen_by_second, "designation": str(int(Audience.ORGANISATION))})
    assert response.status_code == 200
    policy = VisibilityPolicy.objects.get(organisation=people["home"])
    assert (policy.official_email, policy.designation) == (Audience.ADMINS, Audience.VERIFIED)
    assert AuditEvent.objects.filter(action=AuditAction.VISIBILITY_POLICY_CHANGED).count() == changes
    tree = parse(response.content)
    assert not html_problems(response.content.decode())
    assert "Nothing was saved" in tree.squashed_text() and CHANGED_MEANWHILE in tree.squashed_text()
    assert field_value(tree, "designation") == str(int(Audience.ORGANISATION))  # what was chosen, kept
    assert f"Saved meanwhile: {Audience.ADMINS.label}" in field_container(tree, "official_email").squashed_text()
    assert "Saved meanwhile: Verified" in field_container(tree, "designation").squashed_text()  # differs from theirs
    assert "Saved meanwhile" not in field_container(tree, "name").squashed_text()

    # Sent again from that page (the admin checked it): saved, as that page shows it.
    assert second.post(url, _as_shown(response)).status_code == 302
    policy.refresh_from_db()
    assert (policy.official_email, policy.designation) == (Audience.ORGANISATION, Audience.ORGANISATION)


def test_a_policy_page_sending_what_is_saved_or_with_an_error_is_not_refused_for_it(people):
    url = f"/people/visibility/organisations/{people['home'].pk}/"
    client = client_of(people, "admin")
    stale = _as_shown(client.get(url))
    set_policy(people["home"], {ProfileField.MOBILE: Audience.NOBODY})
    # A wrong choice is said at its field; the page still sends what it showed when opened.
    response = client.post(url, {**stale, "name": "public"})
    assert 'id="id_name_error"' in response.content.decode() and CHANGED_MEANWHILE not in response.content.decode()
    assert field_value(parse(response.content), "shown_values") == stale["shown_values"]
    # What is saved now, sent from a page opened before: nothing would be lost.
    assert client.post(url, {**stale, "mobile": str(int(Audience.NOBODY))}).status_code == 302


def test_in_hindi_a_policy_changed_meanwhile_is_said_in_hindi(people):
    url = f"/people/visibility/organisations/{people['home'].pk}/"
    client = client_of(people, "admin")
    stale = _as_shown(client.get(url))
    set_policy(people["home"], {ProfileField.MOBILE: Audience.NOBODY})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    response = client.post(url, {**stale, "name": str(int(Audience.PUBLIC))})
    assert response.status_code == 200
    assert "किसी दूसरे टैब या विंडो में" in parse(response.content).squashed_text()
    assert VisibilityPolicy.objects.get(organisation=people["home"]).name == Audience.VERIFIED


def test_a_persons_page_left_open_in_another_tab_does_not_widen_what_they_narrowed_since(people):
    client = client_of(people, "self")
    tab_a = _as_shown(client.get("/people/visibility/"))
    # Tab B: the mobile number kept to nobody.
    assert client.post("/people/visibility/", _as_shown(client.get("/people/visibility/"),
                                                        mobile=int(Audience.NOBODY))).status_code == 302
    # Tab A, opened before: only the designation narrowed; the mobile number as that tab shows it.
    response = client.post("/people/visibility/", {**tab_a, "designation": str(int(Audience.ORGANISATION))})
    assert response.status_code == 200
    row = PersonalVisibility.objects.get(user=people["self"])
    assert (row.mobile, row.designation) == (Audience.NOBODY, None)
    tree = parse(response.content)
    assert not html_problems(response.content.decode())
    assert CHANGED_MEANWHILE in tree.squashed_text()
    assert field_value(tree, "designation") == str(int(Audience.ORGANISATION))
    assert f"Saved meanwhile: {Audience.NOBODY.label}" in field_container(tree, "mobile").squashed_text()
    assert "Saved meanwhile" not in field_container(tree, "name").squashed_text()
    assert client.post("/people/visibility/", _as_shown(response)).status_code == 302
    row.refresh_from_db()
    assert (row.mobile, row.designation) == (None, Audience.ORGANISATION)


def test_someone_not_verified_may_choose_ahead(people):
    client = client_of(people, "public")
    assert client.get("/people/visibility/").status_code == 200
    client.post("/people/visibility/", {"name": str(int(Audience.ORGANISATION))})
    assert PersonalVisibility.objects.get(user=people["public"]).name == Audience.ORGANISATION


@pytest.mark.parametrize("query", ["", "ab", "  a  ", "x" * 101, "%", "_", "\x00", "zq" * 50, "' OR 1=1 --"])
@pytest.mark.parametrize("who", ["anonymous", "colleague"])
def test_the_directory_takes_any_search(people, who, query):
    response = client_of(people, who).get("/people/", {"q": query, "page": "99999999999999999999"})
    assert response.status_code == 200
    html = response.content.decode()
    assert not html_problems(html)
    assert f'href="/people/{people["profile"].pk}/"' not in html  # none of these matches the person


@pytest.mark.parametrize(("matching", "asked", "last"), [(3, 2, 1), (60, 5, 2), (3, 21, 1)])
def test_a_directory_page_past_the_last_says_so_and_leads_to_the_last(people, matching, asked, last):
    """Page 2 of a search whose people fit on page 1 (a link kept from before some of them
    left, a page number typed) said "Nobody you may see matches", and offered no way back:
    it says the results end on an earlier page, and links to that last page."""
    set_policy(people["home"], dict.fromkeys(ProfileField, Audience.PUBLIC))
    GovernmentProfile.objects.filter(pk=people["profile"].pk).update(verified_name="Zorawar Quillfeather")
    for i in range(matching - 1):
        GovernmentProfileFactory(organisation=people["home"], status=VerificationStatus.VERIFIED,
                                 user=UserFactory(full_name=f"Quillfeather {i:03d}"))
    html = client_of(people, "anonymous").get("/people/", {"q": "quillfeather", "page": str(asked)}).content.decode()
    assert not html_problems(html)
    assert "Nobody you may see matches" not in html
    assert "Quillfeather 000" not in html and "Zorawar Quillfeather" not in html
    assert f"There are no results on this page: they end on page {last}." in html
    assert f'<a href="?q=quillfeather&amp;page={last}">Go to the last page</a>' in html
    html = client_of(people, "anonymous").get("/people/", {"q": "quillfeather", "page": str(last)}).content.decode()
    assert "Zorawar Quillfeather" in html and "There are no results on this page" not in html  # last by name
    nobody = client_of(people, "anonymous").get("/people/", {"q": "nobodyatall", "page": "2"}).content.decode()
    assert "Nobody you may see matches" in nobody and "There are no results on this page" not in nobody


# Invisible characters that a name copied from a web page, a document or a chat carries with
# it: a zero-width space, a left-to-right mark, a byte order mark, a word joiner, a soft hyphen.
PASTED_INVISIBLE = ["\u200b", "\u200e", "\ufeff", "\u2060", "\u00ad"]


@pytest.mark.parametrize("invisible", PASTED_INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_the_directory_finds_the_words_pasted_with_an_invisible_character(people, invisible):
    """The same word with an invisible character before or in it (format characters, drawn
    as nothing) found nobody; they are dropped from what is searched, as pasted. The joiners
    (U+200C, U+200D), which Devanagari writes words with, are kept."""
    set_policy(people["home"], {ProfileField.NAME: Audience.PUBLIC})
    for typed in (f"quillfeath{invisible}", f"{invisible}quill{invisible}feath"):
        html = client_of(people, "anonymous").get("/people/", {"q": typed}).content.decode()
        assert f'href="/people/{people["profile"].pk}/"' in html, typed
    assert normalise_search(f"क्\u200dष{invisible} रवि\u200c") == "क्\u200dष रवि\u200c"


@pytest.mark.parametrize("query", ["quill%feath", "quill_eather", "zorawar%"])
def test_wildcards_are_searched_as_themselves(people, query):
    """``%`` and ``_`` in a search are characters, not patterns (Django escapes them)."""
    html = client_of(people, "colleague").get("/people/", {"q": query}).content.decode()
    assert "Nobody you may see matches" in html


def test_a_person_page_of_nobody_is_404(people):
    for url in ("/people/999999/", f"/people/{people['profile'].pk + 1000}/"):
        assert client_of(people, "admin").get(url).status_code == 404


def test_the_printed_directory_says_what_it_searched_for(people):
    """Its search form is not printed: the paper says what was searched for."""
    client = client_of(people, "colleague")
    assert printed_filters(parse(client.get("/people/", {"q": "  Deputy   Secretary "}).content)) == (
        "Showing: Search people = Deputy Secretary")
    assert printed_filters(parse(client.get("/people/").content)) == "Showing: every row, no filter."


def test_export_without_a_search_goes_back_with_a_message(people):
    response = client_of(people, "colleague").get("/people/export.csv", {"q": "ab"}, follow=True)
    assert "Search for at least three characters" in response.content.decode()


@pytest.mark.parametrize(("language", "words"), [("hi", "कम से कम"), ("mr", "किमान")])
def test_the_directorys_search_hint_is_in_the_pages_language(people, language, words):
    client = client_of(people, "public")
    client.cookies["django_language"] = language
    page = client.get("/people/").content.decode()
    assert words in page and "At least 3 characters" not in page


@pytest.mark.parametrize("status", [VerificationStatus.VERIFIED, VerificationStatus.SUSPENDED])
@pytest.mark.parametrize("who", ["admin", "superadmin"])
def test_the_admins_pages_of_a_held_profile_leave_out_a_detail_kept_to_the_person(people, who, status):
    """A detail set to "nobody but the person" (by the person, or by the organisation) is
    seen by nobody else, the administrators' own pages of a verified or suspended person
    included: their page, the members list, the confirmation to suspend or revoke. What
    the rules let administrators see is still there."""
    GovernmentProfile.objects.filter(pk=people["profile"].pk).update(status=status)
    PersonalVisibility.objects.create(user=people["self"], name=Audience.NOBODY, mobile=Audience.NOBODY,
                                      designation=Audience.NOBODY)
    set_policy(people["home"], {ProfileField.OFFICE: Audience.NOBODY})
    hidden = [ProfileField.NAME, ProfileField.MOBILE, ProfileField.DESIGNATION, ProfileField.OFFICE]
    client = client_of(people, who)
    pages = {
        "profile": client.get(f"/verification/profiles/{people['profile'].pk}/").content.decode(),
        "members": client.get(f"/verification/organisations/{people['home'].pk}/members/").content.decode(),
        "revoke": client.get(f"/verification/profiles/{people['profile'].pk}/revoke/").content.decode(),
    }
    for page, html in pages.items():
        assert not html_problems(html), page
        for name in hidden:
            assert VALUES[name][0] not in html, (page, name)
    assert pages["profile"].count("Hidden by the person's or organisation's choice") == 3
    for name in (ProfileField.OFFICIAL_EMAIL, ProfileField.EMPLOYEE_CODE):  # for administrators and wider
        assert VALUES[name][0] in pages["profile"]
    assert "Hidden by the person" in pages["members"]


def test_the_members_search_finds_no_one_by_a_detail_kept_from_the_admins(people):
    """The members list leaves out a name kept to the person; searching it by that name
    would say whose it is: only the details the administrator sees (and the account's
    address, shown on these pages) are searched."""
    PersonalVisibility.objects.create(user=people["self"], name=Audience.NOBODY)
    members = f"/verification/organisations/{people['home'].pk}/members/"
    client = client_of(people, "admin")
    by_name = client.get(members, {"q": VALUES[ProfileField.NAME][1]}).content.decode()
    assert VALUES[ProfileField.OFFICIAL_EMAIL][0] not in by_name
    by_address = client.get(members, {"q": VALUES[ProfileField.OFFICIAL_EMAIL][1]}).content.decode()
    assert VALUES[ProfileField.OFFICIAL_EMAIL][0] in by_address and VALUES[ProfileField.NAME][0] not in by_address


def test_the_admins_deciding_a_waiting_request_see_the_details_given(people):
    """While a request waits, the administrators deciding it see every detail given (what
    they decide on), whatever the person chose for their verified profile."""
    PersonalVisibility.objects.create(user=people["outsider"], mobile=Audience.NOBODY, designation=Audience.NOBODY)
    request = GovernmentProfileFactory(user=people["outsider"], organisation=people["home"],
                                       status=VerificationStatus.PENDING, designation="Chief Quillwright",
                                       mobile="+919800011122")
    html = client_of(people, "admin").get(f"/verification/profiles/{request.pk}/").content.decode()
    assert "Chief Quillwright" in html and "+919800011122" in html and "Hidden by the person" not in html


RENAMED = "Chief Secretary, Maharashtra"


@pytest.mark.parametrize("who", ["anonymous", "colleague", "admin"])
def test_a_verified_person_renaming_themselves_is_still_shown_by_the_name_their_organisation_verified(people, who):
    """The organisation vouched for the person under a name: their own rename (the "correct
    my name" form) is not vouched for by anyone, and others never see it with the verified
    status: the directory, its search, its sort, the person's page and the administrators'
    members list show and find the verified name; the new one finds nobody."""
    person_correct(user=people["self"], full_name=RENAMED)
    set_policy(people["home"], {ProfileField.NAME: Audience.PUBLIC})
    client = client_of(people, who)
    card = f'href="/people/{people["profile"].pk}/"'
    by_old = client.get("/people/", {"q": VALUES[ProfileField.NAME][1]}).content.decode()
    assert card in by_old and VALUES[ProfileField.NAME][0] in by_old and RENAMED not in unescape(by_old)
    assert card not in client.get("/people/", {"q": "chief secretary"}).content.decode()
    page = unescape(client.get(f"/people/{people['profile'].pk}/").content.decode())
    assert VALUES[ProfileField.NAME][0] in page and RENAMED not in page
    if who == "admin":
        members = f"/verification/organisations/{people['home'].pk}/members/"
        listed = unescape(client.get(members).content.decode())
        assert VALUES[ProfileField.NAME][0] in listed
        assert card not in client.get(members, {"q": "chief secretary"}).content.decode()


@pytest.mark.parametrize("query", ["ab", "  a  "])
def test_a_too_short_search_is_said_at_the_field(people, query):
    """A search shorter than the directory takes, once its spaces are normalised, is said
    at the field (tied to it, what was typed kept), not answered with nothing."""
    html = client_of(people, "colleague").get("/people/", {"q": query}).content.decode()
    assert not html_problems(html)
    assert 'id="id_q_error"' in html and "Type at least 3 characters to search." in html
    assert 'aria-invalid="true"' in html and f'value="{query}"' in html
    assert "Nobody you may see matches" not in html


def test_a_lapsed_admin_sees_no_mobile_numbers_on_the_admin_pages(people):
    """An admin whose role rests on a verification past its date of superannuation has,
    from the next request (before the hourly job ends the role), no administrator's sight
    on the administrators' pages either: the members page and a member's page are 404,
    as for anyone who does not administer the organisation."""
    other = people["other"]
    colleague = GovernmentProfile.objects.get(user=people["outsider"])
    GovernmentProfile.objects.filter(pk=colleague.pk).update(mobile="+919811122233")
    ravi, _first_admin = lapsed_admin(people)
    assert not rules.viewer_of(ravi).administers
    client = signed_in(ravi)
    members = client.get(f"/verification/organisations/{other.pk}/members/")
    profile_page = client.get(f"/verification/profiles/{colleague.pk}/")
    assert "+919811122233" not in members.content.decode() + profile_page.content.decode()
    assert members.status_code == profile_page.status_code == 404
    assert client.get("/verification/queue/", {"status": VerificationStatus.VERIFIED}).content.decode().count(
        "+919811122233") == 0


def test_a_lapsed_admin_cannot_open_nor_change_the_policy(people):
    other = people["other"]
    ravi, first_admin = lapsed_admin(people)
    client = signed_in(ravi)
    url = f"/people/visibility/organisations/{other.pk}/"
    assert client.get(url).status_code == 404
    assert client.post(url, policy_form(mobile=int(Audience.PUBLIC))).status_code == 404
    assert not VisibilityPolicy.objects.filter(organisation=other, mobile=Audience.PUBLIC).exists()
    assert signed_in(first_admin).get(url).status_code == 200  # the first admin's role rests on no verification
