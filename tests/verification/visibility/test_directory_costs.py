"""What a directory search and its download can cost whoever sends them (a search is open
to anyone, signed out included), and what a list's order may tell."""

from datetime import timedelta
from html import unescape

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.audit.models import AuditAction, AuditEvent
from tests.factories import UserFactory
from tests.html_tree import html_problems
from tests.verification.helpers import GovernmentProfileFactory
from tests.verification.visibility.conftest import client_of, set_policy
from verification.models import GovernmentProfile, VerificationStatus
from verification.visibility.models import Audience, PersonalVisibility, ProfileField
from verification.visibility.rules import has_searchable_word
from verification.visibility.selectors import EXPORTS_PER_HOUR, directory_search

# pg_trgm takes no trigram from superscript digits nor fractions, nor from accents alone
# (combining marks that are no letter's part); they break a word as a space does.
NO_WORD = ["%%%", "---", "...", "@@@", "a.b", "x y", "ab-cd", "१२ ३४", "²³¹", "½¼¾", "\u0301\u0301\u0301",
           "a\u0301\u0301\u0301b", "ab\u0301c", "क्\u094d\u094d"]
TAKEN = ["quillfeath", "zq.person", "98123 45670", "qz-7731", "अमित", "सुनीता", "रवि", "कृष्ण", "ज़ोरावर", "१२३",
         "Dy. Secretary", "José", "Ⅻ Ⅻ ⅫⅫⅫ"]


@pytest.mark.parametrize("query", NO_WORD)
def test_a_search_without_a_word_the_indexes_can_use_is_said_at_the_field(people, query):
    """Punctuation, or short words only, give the trigram indexes nothing to look up:
    every row of every searched column would be read (seconds at a few hundred thousand
    people, for anyone who asks). Refused at the field, what was typed kept, and never
    sent to the database."""
    with CaptureQueriesContext(connection) as captured:
        assert directory_search(AnonymousUser(), query) == []
    assert not [q for q in captured.captured_queries if "verification_governmentprofile" in q["sql"]]
    html = client_of(people, "anonymous").get("/people/", {"q": query}).content.decode()
    assert not html_problems(html)
    assert 'id="id_q_error"' in html and ("Type a word of at least 3 letters or digits to search: a part of a "
                                          "name, a designation, an address or a number.") in html
    assert 'aria-invalid="true"' in html
    response = client_of(people, "colleague").get("/people/export.csv", {"q": query})
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action=AuditAction.DIRECTORY_EXPORTED).exists()


@pytest.mark.parametrize("query", TAKEN)
def test_a_search_with_such_a_word_is_taken(query):
    """Devanagari words count their vowel signs as letters (as the indexes do)."""
    assert has_searchable_word(query)


# Latin, the combining diacritics, superscripts and subscripts, number forms, and the scripts
# of India (Devanagari to Malayalam).
BLOCKS = [(0x21, 0x250), (0x300, 0x370), (0x2070, 0x20A0), (0x2150, 0x2190), (0x900, 0xD80)]


@pytest.mark.django_db
def test_what_counts_as_a_word_is_what_the_trigram_indexes_take_as_one(require_postgresql):
    """A character counts towards the word a search needs only if pg_trgm (in the
    database's locale) takes it as a word character: three of it in a row give trigrams.
    Otherwise a search of them is taken and reads every row of every searched column. And
    the searches taken above give the indexes trigrams."""
    characters = [chr(code) for lo, hi in BLOCKS for code in range(lo, hi)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT c, cardinality(show_trgm(repeat(c, 3))) > 0 FROM unnest(%s::text[]) c", [characters])
        pg_word = dict(cursor.fetchall())
        cursor.execute("SELECT q FROM unnest(%s::text[]) q WHERE cardinality(show_trgm(q)) = 0", [TAKEN])
        without_trigrams = [row[0] for row in cursor.fetchall()]
    counted_not_taken = [f"U+{ord(c):04X}" for c in characters if has_searchable_word(c * 3) and not pg_word[c]]
    assert counted_not_taken == []
    assert without_trigrams == []


def test_directory_downloads_are_limited_per_person(people):
    """Each download is a search of up to a thousand people and a row of the audit log,
    which every audited action waits on: EXPORTS_PER_HOUR an hour each, then refused with a
    message on the directory, the search kept, nothing searched or written."""
    cache.clear()
    client = client_of(people, "public")
    statuses = [client.get("/people/export.csv", {"q": f"zzq{i:04d}"}).status_code for i in range(EXPORTS_PER_HOUR)]
    assert statuses == [200] * EXPORTS_PER_HOUR
    response = client.get("/people/export.csv", {"q": "quillfeath"})
    assert response.status_code == 302 and response["Location"] == "/people/?q=quillfeath"
    html = client.get(response["Location"]).content.decode()
    assert f"You have downloaded search results {EXPORTS_PER_HOUR} times in the last hour. Try again in an hour." in html
    assert 'value="quillfeath"' in html
    assert AuditEvent.objects.filter(action=AuditAction.DIRECTORY_EXPORTED).count() == EXPORTS_PER_HOUR
    # Someone else's downloads are their own.
    assert client_of(people, "colleague").get("/people/export.csv", {"q": "quillfeath"}).status_code == 200



def test_directory_searches_are_limited_per_client_address(people, settings):
    """Anyone may search, signed out too, and each search costs the database (a third of a
    second at a million people: bench/README.md): nothing bounded how many one client sent,
    so the directory could be read out whole. One client address (as the portal reads it
    behind its proxies; an IPv6 client's /64) may search DIRECTORY_SEARCHES_PER_MINUTE times
    a minute, then gets the portal's 429 page saying when to try again, nothing searched;
    another address is answered. A page without a search, or with one refused at the field,
    searches nothing and is not counted; a person signed in but not verified is counted on
    the address too."""
    cache.clear()
    settings.DIRECTORY_SEARCHES_PER_MINUTE = 3
    start = timezone.now().replace(second=10, microsecond=0)
    with time_machine.travel(start, tick=False):
        client = Client(REMOTE_ADDR="2001:db8:5:6::1")
        assert client.get("/people/").status_code == 200
        assert client.get("/people/", {"q": "%%%"}).status_code == 200
        answers = [client.get("/people/", {"q": "quillfeath", "page": str(page)}).status_code for page in (1, 2, 3)]
        assert answers == [200, 200, 200]
        with CaptureQueriesContext(connection) as captured:
            refused = Client(REMOTE_ADDR="2001:db8:5:6::2").get("/people/", {"q": "quillfeath"})
        assert refused.status_code == 429 and refused["Retry-After"] == "50"
        assert not [q for q in captured.captured_queries if "verification_governmentprofile" in q["sql"]]
        html = refused.content.decode()
        assert html_problems(html) == [] and html.count("<h1") == 1 and "<h1>Too many requests</h1>" in html
        assert ("The directory was searched 3 times this minute from your network, as many searches as it answers "
                "from one network in a minute. Try again in 50 seconds.") in html
        assert 'href="/people/?q=quillfeath"' in html and "Zorawar" not in html
        hindi = Client(REMOTE_ADDR="2001:db8:5:6::2", HTTP_ACCEPT_LANGUAGE="hi").get("/people/", {"q": "quillfeath"})
        assert "इस मिनट में आपके नेटवर्क से निर्देशिका में 3 बार खोज की गई" in hindi.content.decode()
        assert "50 सेकंड बाद फिर से प्रयास करें।" in hindi.content.decode()
        public = client_of(people, "public")
        public.defaults["REMOTE_ADDR"] = "2001:db8:5:6::3"
        assert public.get("/people/", {"q": "quillfeath"}).status_code == 429
        assert Client(REMOTE_ADDR="203.0.113.10").get("/people/", {"q": "quillfeath"}).status_code == 200
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        assert client.get("/people/", {"q": "quillfeath"}).status_code == 200


@pytest.mark.parametrize(("language", "said", "not_said"), [
    ("en", "Try again in 1 second.", "1 seconds"), ("hi", "1 सेकंड बाद फिर से प्रयास करें।", None),
    ("mr", "1 सेकंदाने पुन्हा प्रयत्न करा.", "1 सेकंदांनी")])
def test_a_search_refused_in_the_last_second_of_the_minute_says_one_second(people, settings, language, said, not_said):
    cache.clear()
    settings.DIRECTORY_SEARCHES_PER_MINUTE = 1
    with time_machine.travel(timezone.now().replace(second=59, microsecond=0), tick=False):
        client = Client(REMOTE_ADDR="203.0.113.20", HTTP_ACCEPT_LANGUAGE=language)
        assert client.get("/people/", {"q": "quillfeath"}).status_code == 200
        refused = client.get("/people/", {"q": "quillfeath"})
    assert refused.status_code == 429 and refused["Retry-After"] == "1"
    html = " ".join(refused.content.decode().split())
    assert said in html and (not_said is None or not_said not in html)


def test_a_verified_viewer_searching_is_counted_on_their_own_account(people, settings):
    """The people of an office reach the portal from its one address: a verified government
    user signed in is counted on their account, up to DIRECTORY_SEARCHES_PER_MINUTE_VERIFIED
    a minute, not on the address the office shares with those who are not."""
    cache.clear()
    settings.DIRECTORY_SEARCHES_PER_MINUTE = 1
    settings.DIRECTORY_SEARCHES_PER_MINUTE_VERIFIED = 2
    with time_machine.travel(timezone.now().replace(second=10, microsecond=0), tick=False):
        assert Client().get("/people/", {"q": "quillfeath"}).status_code == 200
        refused = Client().get("/people/", {"q": "quillfeath"})
        assert refused.status_code == 429
        assert "The directory was searched 1 time this minute from your network" in refused.content.decode()
        colleague = client_of(people, "colleague")
        assert [colleague.get("/people/", {"q": "quillfeath"}).status_code for _ in range(3)] == [200, 200, 429]
        html = colleague.get("/people/", {"q": "quillfeath"}).content.decode()
        assert ("You searched the directory 2 times this minute, as many searches as it answers for one person in "
                "a minute. Try again in 50 seconds.") in html
        assert client_of(people, "outsider").get("/people/", {"q": "quillfeath"}).status_code == 200


def test_people_pages_are_limited_per_client_address_and_per_verified_person(people, settings):
    """A person's page (/people/<id>/) shows one person to anyone, and the ids follow one
    another: with no limit of its own, the directory could be read out whole by id, however
    its searches were limited. One network may open DIRECTORY_PEOPLE_PER_MINUTE of them a
    minute, found or not (asking for ids that are not there counts too), then gets the 429
    page, nothing looked up; a verified viewer is counted on their account
    (DIRECTORY_PEOPLE_PER_MINUTE_VERIFIED); searches keep their own counts."""
    cache.clear()
    settings.DIRECTORY_PEOPLE_PER_MINUTE = 3
    settings.DIRECTORY_PEOPLE_PER_MINUTE_VERIFIED = 4
    settings.DIRECTORY_SEARCHES_PER_MINUTE = 1
    set_policy(people["home"], dict.fromkeys(ProfileField, Audience.PUBLIC))
    pk = people["profile"].pk
    start = timezone.now().replace(second=10, microsecond=0)
    with time_machine.travel(start, tick=False):
        client = Client(REMOTE_ADDR="2001:db8:7:8::1")
        answers = [client.get(f"/people/{pk}/").status_code for _ in range(2)] + [client.get("/people/999999/").status_code]
        assert answers == [200, 200, 404]
        assert client.get("/people/", {"q": "quillfeath"}).status_code == 200  # a search: counted apart
        with CaptureQueriesContext(connection) as captured:
            refused = Client(REMOTE_ADDR="2001:db8:7:8::2").get(f"/people/{pk}/")
        assert refused.status_code == 429 and refused["Retry-After"] == "50"
        assert not [q for q in captured.captured_queries if "verification_governmentprofile" in q["sql"]]
        html = refused.content.decode()
        assert html_problems(html) == [] and "<h1>Too many requests</h1>" in html
        assert ("3 people&#x27;s pages of the directory were opened this minute from your network, as many as it shows "
                "to one network in a minute. Try again in 50 seconds.") in html
        assert f'href="/people/{pk}/"' in html and "Zorawar" not in html
        hindi = Client(REMOTE_ADDR="2001:db8:7:8::2", HTTP_ACCEPT_LANGUAGE="hi").get(f"/people/{pk}/").content.decode()
        assert "इस मिनट में आपके नेटवर्क से निर्देशिका में लोगों के 3 पृष्ठ खोले गए" in hindi
        marathi = Client(REMOTE_ADDR="2001:db8:7:8::2", HTTP_ACCEPT_LANGUAGE="mr").get(f"/people/{pk}/").content.decode()
        assert "या मिनिटात तुमच्या नेटवर्कवरून निर्देशिकेतील लोकांची 3 पाने उघडली गेली" in marathi
        assert Client(REMOTE_ADDR="203.0.113.30").get(f"/people/{pk}/").status_code == 200
        colleague = client_of(people, "colleague")
        assert [colleague.get(f"/people/{pk}/").status_code for _ in range(5)] == [200] * 4 + [429]
        assert ("You opened 4 people's pages of the directory this minute, as many as it shows to one person in a "
                "minute.") in unescape(colleague.get(f"/people/{pk}/").content.decode())
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        assert client.get(f"/people/{pk}/").status_code == 200


def test_the_directory_search_limit_holds_at_its_default(people):
    """At the default limit, a client sending search after search is refused within a minute."""
    cache.clear()
    client = Client(REMOTE_ADDR="203.0.113.9")
    with time_machine.travel(timezone.now().replace(second=0, microsecond=0), tick=False):
        answers = [client.get("/people/", {"q": f"quill{i % 10}feather"}).status_code for i in range(100)]
    assert 429 in answers


def test_a_download_another_site_sends_the_browser_to_is_refused_and_uses_up_nothing(people):
    """A link on another site to /people/export.csv?q=...: no search, no `directory.exported`
    in the signed-in person's name, none of their downloads of the hour used; they land on
    the directory with that search, told to press the link there."""
    cache.clear()
    client = client_of(people, "public")
    for _ in range(EXPORTS_PER_HOUR + 1):
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/people/export.csv", {"q": "quillfeath"}, HTTP_SEC_FETCH_SITE="cross-site",
                                  HTTP_SEC_FETCH_MODE="navigate", HTTP_SEC_FETCH_DEST="document")
        assert response.status_code == 302 and response["Location"] == "/people/?q=quillfeath"
        assert not [q for q in captured.captured_queries if "verification_governmentprofile" in q["sql"]]
    html = client.get(response["Location"]).content.decode()
    assert "You came here by a link from another site, so nothing was done in your name." in html
    assert not AuditEvent.objects.filter(action=AuditAction.DIRECTORY_EXPORTED).exists()
    statuses = [client.get("/people/export.csv", {"q": f"zzq{i:04d}"}, HTTP_SEC_FETCH_SITE="same-origin").status_code
                for i in range(EXPORTS_PER_HOUR)]
    assert statuses == [200] * EXPORTS_PER_HOUR


def test_a_download_refused_at_the_hourly_limit_runs_no_search(people):
    """The limit is counted before the search (and counted again, under the person's lock,
    before the row is written): a download refused at it sends no statement to the people's
    table, writes nothing, and takes nothing more of the hour's downloads."""
    cache.clear()
    client = client_of(people, "public")
    for i in range(EXPORTS_PER_HOUR):
        assert client.get("/people/export.csv", {"q": f"zzq{i:04d}"}).status_code == 200
    rows = AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/people/export.csv", {"q": "quillfeath"})
    assert response.status_code == 302
    assert [q["sql"] for q in captured.captured_queries if "verification_governmentprofile" in q["sql"]] == []
    assert [q["sql"] for q in captured.captured_queries if "INSERT" in q["sql"]] == []
    assert AuditEvent.objects.count() == rows


def test_the_directory_export_is_marked_as_utf8_for_spreadsheets(people):
    """As every CSV the portal offers: without the byte-order mark, a spreadsheet opens the
    file in the system's code page and Devanagari names and headings come out garbled."""
    cache.clear()
    set_policy(people["home"], {ProfileField.NAME: Audience.PUBLIC})
    people["self"].full_name = "ज़ोरावर क्विलफ़ेदर"
    people["self"].save(update_fields=["full_name"])
    # Verified under that name (the one the directory shows).
    GovernmentProfile.objects.filter(pk=people["profile"].pk).update(verified_name=people["self"].full_name)
    client = client_of(people, "colleague")
    client.cookies["django_language"] = "hi"
    response = client.get("/people/export.csv", {"q": "zephyrolog"})
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert "ज़ोरावर".encode() in response.content


def test_the_directory_export_is_kept_out_of_caches(people):
    """The people found, as the viewer may see them: a shared computer's browser or a
    proxy on the way must keep no copy for the next person."""
    cache.clear()
    response = client_of(people, "colleague").get("/people/export.csv", {"q": "zephyrolog"})
    assert response.status_code == 200
    assert {"no-store", "private"} <= set(response["Cache-Control"].split(", ")), response.get("Cache-Control")


def test_a_name_hidden_from_the_admins_does_not_decide_the_members_order(people):
    """The members page lists a person whose name is kept from the administrators after the
    named ones, as the directory does: where the row falls among them would tell where the
    hidden name stands in the alphabet."""
    home = people["home"]
    for name, email in (("Aaron Able", "aaron@quixrec.gov.in"), ("Zubin Zed", "zubin@quixrec.gov.in")):
        GovernmentProfileFactory(user=UserFactory(email=email, full_name=name), organisation=home,
                                 status=VerificationStatus.VERIFIED)
    hidden = UserFactory(email="p7@quixrec.gov.in", full_name="Mridula Menon")
    GovernmentProfileFactory(user=hidden, organisation=home, status=VerificationStatus.VERIFIED)
    PersonalVisibility.objects.create(user=hidden, name=Audience.NOBODY)
    html = client_of(people, "admin").get(f"/verification/organisations/{home.pk}/members/").content.decode()
    assert "Mridula" not in html
    aaron, hidden_row, zubin = (html.index(address) for address in
                                ("aaron@quixrec.gov.in", "p7@quixrec.gov.in", "zubin@quixrec.gov.in"))
    assert aaron < zubin < hidden_row


def _admin_of_offices(count, email):
    """An account that is the first admin of ``count`` offices not one below another (a
    state's nodal officer who onboarded each district office: on approval the nodal
    officer becomes its admin), as organisation_activate makes one, each office with a
    verified person in it."""
    from guardian.shortcuts import assign_perm

    from portal.organisations.models import Membership, MembershipRole, Organisation
    from portal.permissions import ADMINISTER_ORGANISATION, VIEW_ORGANISATION_DASHBOARD

    offices = Organisation.objects.bulk_create([
        Organisation(name=f"Tahsil Office {email[:4]} {i:03d}", org_type="district_office", level="sub_district",
                     state="MH", status="active") for i in range(count)])
    user = UserFactory(email=email)
    Membership.objects.bulk_create([Membership(organisation=o, user=user, role=MembershipRole.ADMIN) for o in offices])
    chosen = Organisation.objects.filter(pk__in=[office.pk for office in offices])
    assign_perm(ADMINISTER_ORGANISATION, user, chosen)
    assign_perm(VIEW_ORGANISATION_DASHBOARD, user, chosen)
    for office in offices:
        GovernmentProfileFactory(organisation=office, status=VerificationStatus.VERIFIED)
    return user, offices


@pytest.mark.django_db
def test_the_search_of_an_admin_of_many_organisations_costs_what_anyone_elses_does():
    """What an admin sees was decided by an expression that repeated, for each organisation
    they were made admin of, five subqueries (whether the role still rests on a fact in
    force), written again at each place a field's visibility is tested: a search's
    statement was 32 KB for an admin of one organisation, 0.6 MB for one of 30, 2 MB
    (3.5 s) for 100. The roles that still vouch are read once, with the viewer, and the
    statements of a search and of a person's page grow by a few characters per
    organisation (its id), not by a condition per organisation. The admin still sees, in
    each organisation, what its admins see (an employee code)."""
    from tests.verification.helpers import signed_in

    def largest_statements(user, person):
        client = signed_in(user)
        sizes = []
        for url, query in (("/people/", {"q": "tahsil"}), (f"/people/{person.pk}/", {})):
            client.get(url, query)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url, query)
            assert response.status_code == 200
            sizes.append(max(len(captured["sql"]) for captured in queries.captured_queries))
        assert person.employee_code in response.content.decode()
        found = client.get("/people/", {"q": person.employee_code}).content.decode()
        assert f'href="/people/{person.pk}/"' in found
        return sizes

    one_admin, (one_office,) = _admin_of_offices(1, "one@mahait.gov.in")
    many_admin, offices = _admin_of_offices(30, "many@mahait.gov.in")
    one = largest_statements(one_admin, GovernmentProfile.objects.get(organisation=one_office))
    for office in (offices[0], offices[-1]):
        thirty = largest_statements(many_admin, GovernmentProfile.objects.get(organisation=office))
        assert all(b - a < 30 * 100 for a, b in zip(one, thirty, strict=True)), (one, thirty)
