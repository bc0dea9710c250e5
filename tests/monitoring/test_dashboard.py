"""What each role's dashboard and export show: every figure, row and exported line
within the role's scope, nothing outside it."""

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from monitoring.models import OrganisationFigures
from monitoring.services import figures_refresh
from onboarding.models import ApplicationDocument, DocumentKind
from portal.audit.models import AuditAction, AuditEvent
from tests.factories import ApplicationFactory, OrganisationFactory, UserFactory
from tests.html_tree import html_problems, parse, printed_filters
from tests.verification.helpers import GovernmentProfileFactory, signed_in
from verification.models import GovernmentProfile, VerificationStatus
from verification.selectors import administered_with_pending, join_queue

pytestmark = pytest.mark.django_db

ALL = {"Agriculture Department, Maharashtra", "District Agriculture Office, Pune", "Health Department, Maharashtra",
       "Revenue Department, Karnataka"}
MH = ALL - {"Revenue Department, Karnataka"}
AGRI = {"Agriculture Department, Maharashtra", "District Agriculture Office, Pune"}
KA = {"Revenue Department, Karnataka"}

# (role, organisations seen, applications, overdue steps, verified users, waiting users)
SCOPES = [
    ("superadmin", ALL, 9, 3, 17, 7),
    ("auditor_all", ALL, 9, 3, 17, 7),
    ("state_admin_mh", MH, 5, 1, 10, 3),
    ("auditor_mh", MH, 5, 1, 10, 3),
    ("state_admin_ka", KA, 4, 2, 7, 4),
    ("admin_agri", AGRI, 1, 0, 5, 3),
    ("admin_revenue", KA, 0, 0, 7, 4),
]


def headline(html, label):
    """The number under a headline figure's <dt>."""
    marker = f"<dt>{label}</dt>"
    start = html.index(marker) + len(marker)
    value = html[start:html.index("</dd>", start)]
    return int(value.split(">")[-1].strip())


def exported(client, query=""):
    response = client.get("/monitoring/organisations.csv" + query)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(("role", "organisations", "applications", "overdue", "verified", "pending"), SCOPES)
def test_each_role_sees_its_scope_only(world, role, organisations, applications, overdue, verified, pending):
    client = signed_in(world[role])
    response = client.get("/monitoring/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not html_problems(html)
    assert headline(html, "Applications") == applications
    assert headline(html, "Overdue steps") == overdue
    assert headline(html, "Verified users") == verified
    assert headline(html, "Waiting users") == pending
    for name in ALL:
        assert (name in html) == (name in organisations), name
    rows = exported(client)
    assert {row[0] for row in rows[1:]} == organisations
    assert sum(int(row[6]) for row in rows[1:]) == verified
    assert sum(int(row[7]) for row in rows[1:]) == pending


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_figures_are_grouped_the_indian_way_and_exported_as_plain_digits(world, language):
    """1,25,000 verified users read "125000" on the dashboard, in every language: a figure
    whose digits a reader has to count. The export keeps plain digits for spreadsheets."""
    OrganisationFigures.objects.filter(organisation=world["health"]).update(verified_users=125000, pending_users=1000)
    verified = sum(OrganisationFigures.objects.values_list("verified_users", flat=True))
    client = signed_in(world["superadmin"])
    client.cookies["django_language"] = language

    html = client.get("/monitoring/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    figures = re.findall(r'<dd class="fs-3 mb-0">\s*([0-9,]+)\s*</dd>', html)
    assert f"1,25,{verified - 125000:03d}" in figures, figures
    cells = re.findall(r'<td class="text-end">([0-9,]+)</td>', html)
    assert "1,25,000" in cells and "1,000" in cells and "125000" not in html
    rows = exported(client)
    assert ["125000", "1000"] in [row[6:8] for row in rows[1:]]


def test_the_export_is_written_in_the_language_it_was_asked_in(world):
    """The file is streamed after the view returns, by whatever thread the server iterates
    the body on: its rows' words (a state, a level, a status) are in the language of the
    request that asked for it, as its header is, not in whatever language that thread has
    active then."""
    from django.utils import translation

    client = signed_in(world["superadmin"])
    client.cookies["django_language"] = "hi"
    response = client.get("/monitoring/organisations.csv?sort=name")
    with translation.override("en"):
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    health = world["health"]
    [row] = [row for row in rows[1:] if row[1] == health.short_code]
    with translation.override("hi"):
        words = [str(health.get_state_display()), str(health.get_level_display()), str(health.get_status_display())]
    assert row[2:5] == words and rows[0][0] != "Organisation"


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_counts_in_the_dashboards_sentences_are_grouped_the_indian_way(world, monkeypatch, language):
    """The sentences counting the overdue steps, the letters not issued and the applications
    nobody may decide write their count as the headline figures do ("1,23,456", not
    "123456"), in every language: counts that grow with the applications of a scope."""
    from monitoring import selectors
    from onboarding.models import ApprovalStep

    now = timezone.now()
    ApplicationFactory(status="approved", jurisdiction="MH", organisation_name="Letterless Office MH",
                       closed_at=now, approval_letter_failed_at=now)
    ApprovalStep.objects.filter(decision="", stage="state").update(nobody_may_decide_since=now)
    read = selectors.dashboard_figures

    def many(scope, *, now):
        figures = read(scope, now=now)
        return {**figures, "overdue": (123456, figures["overdue"][1]), "letters": (12345, figures["letters"][1]),
                "no_decider": (1234567, figures["no_decider"][1])}

    monkeypatch.setattr(selectors, "dashboard_figures", many)
    client = signed_in(world["superadmin"])
    client.cookies["django_language"] = language
    html = client.get("/monitoring/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert "Letterless Office MH" in html and f'lang="{language}"' in html
    for grouped, plain in (("1,23,456", "123456"), ("12,345", "12345"), ("12,34,567", "1234567")):
        assert grouped in html and plain not in html, (grouped, language)
    # Said in the page's language, the count grouped in it too.
    assert ("1,23,456 steps are past their due date" in html) == (language == "en")
    assert ("steps are past their due date" in html) == (language == "en")


def test_no_overdue_step_of_another_state_is_listed(world):
    html = signed_in(world["state_admin_mh"]).get("/monitoring/").content.decode()
    assert "Water Board MH" in html
    assert "Karnataka office" not in html
    html = signed_in(world["state_admin_ka"]).get("/monitoring/").content.decode()
    assert "Karnataka office 0" in html and "Karnataka office 1" in html
    assert "Water Board MH" not in html


def test_median_days_per_stage(world):
    html = signed_in(world["admin_agri"]).get("/monitoring/").content.decode()
    # The district office's own application: 2 days with the authority, 4 with the state.
    assert ">2.0<" in html and ">4.0<" in html
    html = signed_in(world["state_admin_ka"]).get("/monitoring/").content.decode()
    assert ">9.0<" in html  # 10, 9 and 8 days with the authority: median 9


def test_onboarded_per_month_chart_counts_the_scope(world):
    html = signed_in(world["admin_agri"]).get("/monitoring/").content.decode()
    assert headline(html, "Onboarded in the last 12 months") == 2
    assert "<svg" in html and "<rect" in html and "style=" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]
    html = signed_in(world["superadmin"]).get("/monitoring/").content.decode()
    assert headline(html, "Onboarded in the last 12 months") == 4


def test_people_without_a_scope_are_refused(world, client):
    assert signed_in(world["public"]).get("/monitoring/").status_code == 403
    assert signed_in(world["public"]).get("/monitoring/organisations.csv").status_code == 403
    response = client.get("/monitoring/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_filter_sort_and_page(world):
    client = signed_in(world["superadmin"])
    html = client.get("/monitoring/?state=KA").content.decode()
    assert "Revenue Department, Karnataka" in html and "Health Department" not in html
    html = client.get("/monitoring/?sort=-verified").content.decode()
    assert html.index("Revenue Department") < html.index("Health Department") < html.index("Agriculture Department")
    # An unknown sort key, state or page is not an error: the defaults apply.
    # A page past any database's integers too: its rows' OFFSET was a 500 (PostgreSQL: bigint out of range).
    for query in ("?sort=password", "?sort=name;drop", "?state=XX", "?page=999", "?page=-1", "?q=" + "x" * 500,
                  "?page=" + "9" * 25):
        assert client.get("/monitoring/" + query).status_code == 200, query
    rows = exported(client, "?state=MH&sort=-verified")
    assert [row[0] for row in rows[1:]] == ["Health Department, Maharashtra", "Agriculture Department, Maharashtra",
                                            "District Agriculture Office, Pune"]


def test_the_state_filter_cannot_widen_a_scope(world):
    html = signed_in(world["state_admin_mh"]).get("/monitoring/?state=KA").content.decode()
    assert "Revenue Department" not in html
    assert exported(signed_in(world["state_admin_mh"]), "?state=KA")[1:] == []


def test_the_printed_table_says_which_filters_it_shows(world):
    """Its filter form is not printed: the paper says which filters and order the table is
    of; a refused one (the defaults apply) is not among them, and none is said as none."""
    client = signed_in(world["superadmin"])
    tree = parse(client.get("/monitoring/?state=MH&status=active&sort=zz&q=+").content)
    assert printed_filters(tree) == "Showing: State / UT = Maharashtra; Status = Active"
    tree = parse(client.get("/monitoring/?sort=-verified").content)
    assert printed_filters(tree) == "Showing: Sort by = Most verified users first"
    assert printed_filters(parse(client.get("/monitoring/").content)) == "Showing: every row, no filter."


def test_one_bad_filter_keeps_the_others(world):
    """An unknown sort key dropped every filter: the table and the export listed every
    state while the form still showed Maharashtra chosen."""
    client = signed_in(world["superadmin"])
    html = client.get("/monitoring/?state=MH&sort=zz").content.decode()
    assert "Health Department, Maharashtra" in html and "Revenue Department, Karnataka" not in html
    assert "organisations.csv?state=MH&amp;sort=name" in html
    assert 'id="id_sort_error"' in html and 'id="id_state_error"' not in html  # the wrong one told at its field
    rows = exported(client, "?state=MH&sort=zz")
    assert sorted(row[0] for row in rows[1:]) == ["Agriculture Department, Maharashtra",
                                                  "District Agriculture Office, Pune", "Health Department, Maharashtra"]
    html = client.get("/monitoring/?state=XX&status=active&q=revenue").content.decode()
    assert "Revenue Department, Karnataka" in html and "Health Department" not in html


def test_export_is_audited(world):
    exported(signed_in(world["state_admin_mh"]), "?status=active&sort=name")
    event = AuditEvent.objects.filter(action=AuditAction.MONITORING_EXPORTED).get()
    assert event.actor_email == "admin.mh@maharashtra.gov.in"
    assert event.new_values == {"export": "dashboard_organisations", "rows": 3,
                                "filters": {"q": "", "state": "", "status": "active", "sort": "name"},
                                "scope": {"jurisdictions": {"MH": True}, "organisations": {}}}


def test_export_neutralises_formulas(world):
    world["health"].name = "=HYPERLINK(\"http://evil.example\",\"click\")"
    world["health"].short_code = "@SUM(A1)"
    world["health"].save()
    rows = exported(signed_in(world["superadmin"]), "?sort=name")
    cells = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in cells
    assert "'@SUM(A1)" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


def test_figures_say_when_they_were_counted(world):
    html = signed_in(world["superadmin"]).get("/monitoring/").content.decode()
    assert "last updated at" in html


def test_rosters_imported_within_the_scope(world):
    from django.utils import timezone

    from verification.rosters.models import RosterImport

    def roster(organisation, status):
        RosterImport.objects.create(organisation=organisation, uploaded_by=world["superadmin"], uploaded_at=timezone.now(),
                                    file_name="staff.csv", file_sha256="0" * 64, file_format="csv", status=status)

    roster(world["pune"], "applied")
    roster(world["health"], "applied")
    roster(world["revenue"], "applied")
    roster(world["revenue"], "previewed")  # not applied: not counted
    for role, expected in (("superadmin", 3), ("state_admin_mh", 2), ("admin_agri", 1), ("state_admin_ka", 1)):
        html = signed_in(world[role]).get("/monitoring/").content.decode()
        assert headline(html, "Rosters imported") == expected, role


def test_deactivated_account_is_not_a_verified_user(world):
    client = signed_in(world["admin_agri"])
    before = headline(client.get("/monitoring/").content.decode(), "Verified users")
    assert before == 5
    profile = GovernmentProfile.objects.filter(organisation=world["agri"], status=VerificationStatus.VERIFIED).first()
    profile.user.is_active = False
    profile.user.save(update_fields=["is_active"])
    figures_refresh()
    after = headline(client.get("/monitoring/").content.decode(), "Verified users")
    assert after == 4


def test_waiting_users_are_the_requests_in_the_admins_queue_deactivated_accounts_included(world):
    """A request of an account deactivated since is still in its admins' queue, undecided
    (they may reject it): the dashboard and its export left it out, the queue and the
    verification page counted it."""
    admin = world["admin_agri"]
    GovernmentProfileFactory(organisation=world["agri"], user=UserFactory(email="gone@mahaagri.gov.in", is_active=False))
    figures_refresh()
    queue = join_queue(admin).filter(organisation=world["agri"]).count()
    assert queue == {o.pk: o.pending for o in administered_with_pending(admin)}[world["agri"].pk] == 2
    client = signed_in(admin)
    assert headline(client.get("/monitoring/").content.decode(), "Waiting users") == 4
    assert {row[1]: int(row[7]) for row in exported(client)[1:]}["MH-AGRI"] == queue


def test_export_onboarded_on_is_the_local_day_the_dashboard_shows(world):
    # 1 March 2026, 01:00 in India = 28 February 2026, 19:30 UTC.
    world["health"].activated_at = datetime(2026, 3, 1, 1, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    world["health"].save()
    client = signed_in(world["superadmin"])
    html = client.get("/monitoring/?q=MH-HEALTH").content.decode()
    assert "1 Mar 2026" in html  # the dashboard's day
    response = client.get("/monitoring/organisations.csv?q=MH-HEALTH")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[1][0] == "Health Department, Maharashtra"
    assert rows[1][5] == "2026-03-01", rows[1]


def test_approval_letters_that_could_not_be_made_are_listed_within_the_scope(world):
    """An approved application whose letter went over the render limits is only logged by
    the beat job that tries it again: the dashboards of those who see the application list
    it until a letter is stored, and nobody else's does."""
    now = timezone.now()
    stuck = ApplicationFactory(status="approved", jurisdiction="MH", organisation_name="Letterless Office MH",
                               closed_at=now, approval_letter_failed_at=now)
    ApplicationFactory(status="approved", jurisdiction="MH", organisation_name="Untried Office MH", closed_at=now)
    for role, listed in (("superadmin", True), ("state_admin_mh", True), ("auditor_mh", True),
                         ("state_admin_ka", False), ("admin_agri", False)):
        html = signed_in(world[role]).get("/monitoring/").content.decode()
        assert ("Approval letters not issued" in html) == listed, role
        assert ("Letterless Office MH" in html) == listed, role
        assert "Untried Office MH" not in html, role
        assert not html_problems(html)
    html = signed_in(world["state_admin_mh"]).get("/monitoring/").content.decode()
    assert "The approval letter of 1 approved application could not be made" in html
    assert stuck.reference in html

    ApplicationDocument.objects.create(application=stuck, kind=DocumentKind.APPROVAL_LETTER, version=stuck.version,
                                       language="en", sha256="0" * 64, size=1, file="letters/x.pdf")
    html = signed_in(world["superadmin"]).get("/monitoring/").content.decode()
    assert "Approval letters not issued" not in html and "Letterless Office MH" not in html


def test_organisations_without_an_admin_are_counted_within_the_scope(world):
    """An organisation whose last admin's role the system ended (at superannuation, say) has
    its queue waiting for the admins above it or the superadmins: each dashboard counts the
    active organisations of its scope with no admin whose role does not end (the Pune office
    and the Health Department here; a role with an end date, or an inactive account's, keeps none)."""
    from portal.organisations.models import Membership, OrganisationStatus
    from tests.verification.helpers import make_admin

    said = "{} active organisations have no admin whose role does not end"
    for role, shown in (("superadmin", said.format(2)), ("state_admin_mh", said.format(2)),
                        ("auditor_mh", said.format(2)), ("admin_agri", "1 active organisation has no admin whose role"),
                        ("state_admin_ka", None), ("admin_revenue", None)):
        html = signed_in(world[role]).get("/monitoring/").content.decode()
        assert ("Organisations without an admin" in html) == bool(shown), role
        assert shown is None or shown in html, role
        assert not html_problems(html)
    temporary = make_admin(world["health"], email="acting@mahahealth.gov.in")
    Membership.objects.filter(user=temporary).update(ends_at=timezone.now() + timedelta(days=30))
    make_admin(world["health"], email="inactive.admin@mahahealth.gov.in", is_active=False)
    assert said.format(2) in signed_in(world["superadmin"]).get("/monitoring/").content.decode()
    Membership.objects.filter(user=temporary, organisation=world["health"]).update(ends_at=None)
    world["pune"].status = OrganisationStatus.SUSPENDED
    world["pune"].save(update_fields=["status"])
    html = signed_in(world["superadmin"]).get("/monitoring/").content.decode()
    assert "Organisations without an admin" not in html


def test_an_export_refused_at_the_hourly_limit_reads_no_organisation(world, settings):
    """The limit is counted before the scope's rows are read (and counted again, under the
    account's lock, before the row is written): an export refused at it sends no statement
    to the organisations' table and writes nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.MONITORING_EXPORTS_PER_HOUR = 1
    client = signed_in(world["state_admin_mh"])
    assert client.get("/monitoring/organisations.csv?state=MH").status_code == 200
    rows = AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/monitoring/organisations.csv?state=MH").status_code == 429
    assert [q["sql"] for q in captured.captured_queries if "organisations_organisation" in q["sql"]] == []
    assert [q["sql"] for q in captured.captured_queries if "INSERT" in q["sql"]] == []
    assert AuditEvent.objects.count() == rows



def test_an_export_another_site_sends_the_browser_to_is_refused_and_uses_up_nothing(world, settings):
    """A link on another site to the export (the session cookie goes with a top-level GET):
    no `monitoring.exported` in the account's name (which the breach report reads as an
    export of the scope), none of its exports of the hour used, nothing read; the person
    lands on the dashboard with the same filters, told to press the link there."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.MONITORING_EXPORTS_PER_HOUR = 1
    client = signed_in(world["superadmin"])
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/monitoring/organisations.csv?state=MH", HTTP_SEC_FETCH_SITE="cross-site",
                                  HTTP_SEC_FETCH_MODE="navigate", HTTP_SEC_FETCH_DEST="document")
        assert response.status_code == 302 and response["Location"] == "/monitoring/?state=MH"
        assert [q["sql"] for q in captured.captured_queries if "organisations_organisation" in q["sql"]] == []
    html = client.get(response["Location"], HTTP_SEC_FETCH_SITE="cross-site").content.decode()
    assert html_problems(html) == []
    assert "You came here by a link from another site, so nothing was done in your name." in html
    assert not AuditEvent.objects.filter(action=AuditAction.MONITORING_EXPORTED).exists()
    assert len(exported(signed_in(world["superadmin"]), "?state=MH")) == 1 + len(MH)  # the hour's one export


TOO_MANY_EXPORTS = {"en": "Too many downloads", "hi": "बहुत अधिक डाउनलोड", "mr": "खूप जास्त डाउनलोड"}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_exports_past_the_hourly_limit_are_refused_with_the_portals_page(world, settings, language):
    """Each export counts every organisation of the scope again: an account gets
    MONITORING_EXPORTS_PER_HOUR of them an hour, then a 429 page in the portal's layout and
    its reader's language, naming the limit, with the way back to the dashboard; the
    refused one reads and audits nothing."""
    settings.MONITORING_EXPORTS_PER_HOUR = 2
    client = signed_in(world["state_admin_mh"])
    client.cookies["django_language"] = language
    assert [client.get("/monitoring/organisations.csv?state=MH").status_code for _i in range(2)] == [200, 200]
    response = client.get("/monitoring/organisations.csv?state=MH")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert html_problems(html) == []
    assert f'<html lang="{language}">' in html
    assert f"<h1>{TOO_MANY_EXPORTS[language]}</h1>" in html
    assert " 2 " in html
    assert 'href="/monitoring/?state=MH&amp;sort=name"' in html
    assert AuditEvent.objects.filter(action=AuditAction.MONITORING_EXPORTED).count() == 2


def test_an_export_refused_names_a_time_at_which_the_next_is_allowed(world, settings):
    """An export at 10:00:40 allows the next at 11:00:40: the refusal names 11:01, the
    minute at which it is allowed, not 11:00, at which it is refused again."""
    settings.MONITORING_EXPORTS_PER_HOUR = 1
    client = signed_in(world["state_admin_mh"])
    first = datetime(2026, 3, 2, 10, 0, 40, tzinfo=ZoneInfo("Asia/Kolkata"))
    with time_machine.travel(first, tick=False):
        assert client.get("/monitoring/organisations.csv").status_code == 200
    with time_machine.travel(first + timedelta(minutes=30), tick=False):
        refused = client.get("/monitoring/organisations.csv")
    assert refused.status_code == 429
    assert "The next download is possible from 2 Mar 2026, 11:01." in refused.content.decode()
    named = re.search(r"possible from (\d+ \w+ \d{4}, \d\d:\d\d)", refused.content.decode()).group(1)
    with time_machine.travel(datetime.strptime(named, "%d %b %Y, %H:%M").replace(tzinfo=ZoneInfo("Asia/Kolkata")),
                             tick=False):
        assert client.get("/monitoring/organisations.csv").status_code == 200


def test_the_organisation_search_finds_a_name_whose_nukta_was_typed_the_other_way(world):
    """"ज़" typed as one character (U+095B: a phone keyboard, text from a legacy font) finds
    the name stored composed (U+091C U+093C), as every other organisation search does."""
    OrganisationFactory(name="\u091c\u093c\u093fला परिषद Pune", short_code="ZP-PUNE", state="MH")
    client = signed_in(world["superadmin"])
    assert "ZP-PUNE" in client.get("/monitoring/", {"q": "\u091c\u093c\u093fला परिषद"}).content.decode()
    assert "ZP-PUNE" in client.get("/monitoring/", {"q": "\u095b\u093fला परिषद"}).content.decode()
    exported_rows = exported(client, "?q=\u095b\u093fला")
    assert any("ZP-PUNE" in row for row in exported_rows)


def test_the_organisation_search_finds_an_organisation_by_its_name_in_hindi_or_its_states_language(world):
    """The join search and the parent picker find an organisation by its local name
    (``name_local``, in Hindi or the state's language); the dashboard's table and its export
    searched the English name and the short code only, and found nothing. Composed as the
    others are: a nukta typed either way."""
    from portal.organisations.models import Organisation

    Organisation.objects.filter(short_code="MH-AGRI").update(name_local="कृषी विभाग, महाराष्ट्र")
    Organisation.objects.filter(short_code="MH-PUNE").update(name_local="ज़िला कृषी कार्यालय, पुणे")
    client = signed_in(world["state_admin_mh"])
    html = client.get("/monitoring/", {"q": "कृषी विभाग"}).content.decode()
    assert "Agriculture Department, Maharashtra" in html and "District Agriculture Office, Pune" not in html
    assert [row[0] for row in exported(client, "?q=कृषी")[1:]] == ["Agriculture Department, Maharashtra",
                                                                   "District Agriculture Office, Pune"]
    html = client.get("/monitoring/", {"q": "\u095bिला कृषी"}).content.decode()
    assert "District Agriculture Office, Pune" in html and "Agriculture Department, Maharashtra" not in html


def test_the_organisation_search_drops_invisible_characters_pasted_with_the_words(world):
    """A name copied from a web page or a chat carries invisible characters (a zero-width
    space, a left-to-right mark): dropped from what is searched, as every search does."""
    client = signed_in(world["state_admin_mh"])
    html = client.get("/monitoring/", {"q": "\u200bAgriculture\u200e Department"}).content.decode()
    assert "Agriculture Department, Maharashtra" in html and "Health Department, Maharashtra" not in html
    assert [row[0] for row in exported(client, "?q=MH-\u200bAGRI")[1:]] == ["Agriculture Department, Maharashtra"]


def _admin_of_offices(count, email):
    """An account made the first admin of ``count`` offices not one below another (a
    state's nodal officer who onboarded each district office), as organisation_activate
    makes one, and an office below the last of them."""
    from guardian.shortcuts import assign_perm

    from portal.organisations.models import Membership, MembershipRole, Organisation
    from portal.permissions import ADMINISTER_ORGANISATION, VIEW_ORGANISATION_DASHBOARD

    offices = Organisation.objects.bulk_create([
        Organisation(name=f"Tahsil Office {i:04d}", org_type="district_office", level="sub_district", state="MH",
                     status="active") for i in range(count)])
    below = OrganisationFactory(name="Circle Office below the last", short_code="", state="MH", parent=offices[-1])
    user = UserFactory(email=email)
    Membership.objects.bulk_create([Membership(organisation=o, user=user, role=MembershipRole.ADMIN) for o in offices])
    chosen = Organisation.objects.filter(pk__in=[office.pk for office in offices])
    assign_perm(ADMINISTER_ORGANISATION, user, chosen)
    assign_perm(VIEW_ORGANISATION_DASHBOARD, user, chosen)
    return user, offices, below


@pytest.mark.parametrize("count", [60, 100, 1_000])
def test_the_dashboard_of_an_admin_of_many_organisations_is_shown(count, request):
    """Each organisation administered gives the dashboard's queries two values (its id and
    its offices' prefix): 60 and more were a server error, the dashboard and its export."""
    if count > 400:  # two terms of an OR each: past SQLite's expression depth (1,000)
        request.getfixturevalue("require_postgresql")
    user, offices, below = _admin_of_offices(count, "nodal@mahait.gov.in")
    client = signed_in(user)
    client.raise_request_exception = False
    response = client.get("/monitoring/")
    assert response.status_code == 200
    assert offices[0].name in response.content.decode()
    names = [row[0] for row in exported(client)[1:]]
    assert sorted(names) == sorted([office.name for office in offices] + [below.name])
