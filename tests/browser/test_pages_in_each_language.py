"""The pages of roles, monitoring, rosters, API clients, profile visibility, the
directory and data protection, each in English, Hindi and Marathi (switched with the
selector in the page's header), screenshotted and checked with axe-core, as each role
that uses them sees them: a superadmin (signed in with TOTP), an organisation admin and
a verified government user. The journeys through these pages are the other browser
tests; this one is about every page reading right in every language. The work pages with the
widest tables also fit a window of 640 CSS px (1280px at 200% zoom) and 320 (a phone, or
400% zoom) in each language: only a table scrolls sideways, in its own box, which takes
focus from the keyboard and is named by the table's caption."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.services import audit_chain_check
from tests.browser.support import OTHER_LANGUAGES, sign_in, sign_out, switch_language
from tests.factories import OrganisationFactory, UserFactory, application_with_state
from tests.onboarding.approval_helpers import (
    make_state_admin,
    make_superadmin,
    official_email_rules,  # noqa: F401 (fixture)
    with_totp,
)
from tests.verification.helpers import GovernmentProfileFactory, make_admin
from tests.verification.rosters.helpers import csv_bytes, upload
from tests.verification.rosters.helpers import person as roster_row
from verification.models import EndReason, VerificationMethod, VerificationStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def verified(organisation, email, name, **fields):
    user = UserFactory(email=email, full_name=name)
    return GovernmentProfileFactory(
        user=user, organisation=organisation, official_email=email, method=VerificationMethod.MANUAL,
        verified_at=timezone.now(), **{"status": VerificationStatus.VERIFIED, **fields},
    )


def breach_query():
    """The breach page's form filled in: the last day, every actor, drafts in Marathi."""
    now = timezone.localtime()
    return urlencode({"start": f"{now - timedelta(days=1):%Y-%m-%d %H:%M}", "end": f"{now + timedelta(hours=1):%Y-%m-%d %H:%M}",
                      "actor": "", "ip": "", "second_language": "mr"})


def visit(page, check_page, base, path, name):
    page.goto(base + path)
    page.wait_for_load_state("load")
    expect(page.locator("h1")).to_have_count(1)
    check_page.in_each_language(page, name)


def test_every_new_page_in_each_language(page, portal, check_page, settings):
    department = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="MH-AGRI")
    admin = make_admin(department, email="admin@mahaagri.gov.in", full_name="Department Admin")
    person = verified(department, "sunil.patil@mahaagri.gov.in", "Sunil Patil", designation="Deputy Director")
    superadmin = make_superadmin(email="anita.rao@nic.in", totp=False)
    secret = with_totp(superadmin)
    # A request from someone whose verification in another organisation is suspended, for misuse.
    elsewhere = OrganisationFactory(name="Directorate of Health Services, Karnataka", short_code="KA-DHS", state="KA")
    moving = verified(elsewhere, "meena.iyer@mahaagri.gov.in", "Meena Iyer", status=VerificationStatus.SUSPENDED,
                      reason_code=EndReason.MISUSE)
    request = GovernmentProfileFactory(user=moving.user, organisation=department, official_email=moving.user.email,
                                       designation="Section Officer")
    # The audit chain checked (an organisation admin is told whether it held, not its size), and a
    # roster preview replaced by the same admin's next upload (its rows gone before their time).
    audit_chain_check()
    replaced = upload(department, admin, csv_bytes([roster_row(1, domain="mahaagri.gov.in")]))
    upload(department, admin, csv_bytes([roster_row(2, domain="mahaagri.gov.in")]))

    # --- A superadmin: roles, monitoring, data protection -------------------------------------
    sign_in(page, portal, superadmin.email, secret)
    for path, name in (
        ("/portal/roles/", "roles"),
        ("/portal/roles/report/", "roles-report"),
        ("/monitoring/", "monitoring-dashboard"),
        ("/monitoring/audit/", "monitoring-audit-log"),
        ("/monitoring/adoption/", "monitoring-tracker"),
        ("/portal/privacy/retention/", "privacy-retention"),
        ("/portal/privacy/holds/", "privacy-legal-holds"),
        ("/portal/privacy/notice/", "privacy-notice-versions"),
        ("/portal/privacy/requests/", "privacy-requests"),
        ("/portal/privacy/breach/", "privacy-breach"),
        (f"/portal/privacy/breach/?{breach_query()}", "privacy-breach-findings"),
    ):
        visit(page, check_page, portal, path, name)
    sign_out(page)

    # --- An organisation admin: members, rosters, invitations, API clients, visibility, roles --
    sign_in(page, portal, admin.email)
    for path, name in (
        (f"/verification/organisations/{department.pk}/members/", "members"),
        (f"/verification/organisations/{department.pk}/rosters/", "rosters"),
        (f"/verification/organisations/{department.pk}/invitations/", "invitations"),
        (f"/api/organisations/{department.pk}/clients/", "api-clients"),
        (f"/api/organisations/{department.pk}/clients/new/", "api-client-new"),
        (f"/people/visibility/organisations/{department.pk}/", "visibility-policy"),
        (f"/portal/roles/organisations/{department.pk}/", "organisation-admins"),
        ("/verification/queue/", "verification-queue"),
        (f"/verification/profiles/{request.pk}/", "request-suspended-elsewhere"),
        ("/monitoring/audit/", "audit-log-of-an-organisation"),
        (f"/verification/rosters/{replaced.pk}/", "roster-preview-replaced"),
    ):
        visit(page, check_page, portal, path, name)
    sign_out(page)

    # --- A verified government user: the directory, a person, their own choices and data --------
    sign_in(page, portal, person.user.email)
    for path, name in (
        ("/people/?q=Sunil", "directory"),
        (f"/people/{person.pk}/", "person"),
        ("/people/visibility/", "my-visibility"),
        ("/privacy/my-data/", "my-data"),
        ("/verification/", "my-verification"),
    ):
        visit(page, check_page, portal, path, name)

    # --- The same person, a nodal officer at the limit of open drafts: told so on the start page -
    settings.ONBOARDING_OPEN_DRAFTS_MAX = 0

    def start():
        page.goto(portal + "/onboarding/start/")
        page.locator("main form[method=post] button[type=submit]").click()
        expect(page.get_by_role("alert")).to_have_count(1)

    start()
    check_page.in_each_language(page, "start-at-the-drafts-limit", reach=start)
    check_page.assert_clean()


# Each table of the page: the scrolling box it sits in, whether that box takes focus and the
# name it is announced by; and how wide the page is (wider than the window: the whole page,
# its header and text included, scrolls sideways).
TABLES_AND_WIDTH = """() => ({
  width: document.documentElement.scrollWidth,
  tables: [...document.querySelectorAll('main table')].map(table => {
    const box = table.parentElement;
    const named = (box.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
      .map(id => (document.getElementById(id) || {textContent: ''}).textContent.trim()).join(' ');
    return {box: box.classList.contains('table-responsive'), role: box.getAttribute('role'),
            tabindex: box.getAttribute('tabindex'), name: named, scrolls: box.scrollWidth > box.clientWidth};
  }),
})"""


@pytest.mark.usefixtures("official_email_rules")
def test_the_widest_work_pages_fit_a_narrow_window_and_only_their_tables_scroll(page, portal, check_page):
    state_admin = make_state_admin("MH", email="ravi@maharashtra.gov.in", totp=False)
    state_secret = with_totp(state_admin)
    application_with_state()
    office = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="MH-AGRI")
    admin = make_admin(office, email="admin@mahaagri.gov.in", full_name="Department Admin")
    GovernmentProfileFactory(organisation=office, user=UserFactory(email="asha.k@mahaagri.gov.in", full_name="Asha K"))
    verified(office, "v.w@mahaagri.gov.in", "V W", designation="Deputy Director")
    problems = []

    def at_each_width(paths):
        for language in ("en", *OTHER_LANGUAGES):
            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(portal + paths[0][0])
            if page.locator("html").get_attribute("lang") != language:
                switch_language(page, language)
            for path, name in paths:
                for width in (640, 320):
                    page.set_viewport_size({"width": width, "height": 900})
                    page.goto(portal + path)
                    check_page(page, f"{name}-{language}-{width}")
                    found = page.evaluate(TABLES_AND_WIDTH)
                    if found["width"] > width:
                        problems.append(f"{name} ({language}) at {width}px is {found['width']}px wide")
                    if not found["tables"]:
                        problems.append(f"{name} ({language}) shows no table")
                    for table in found["tables"]:
                        if not (table["box"] and table["role"] == "region" and table["tabindex"] == "0" and table["name"]):
                            problems.append(f"{name} ({language}) at {width}px: a table not in a named, focusable scrolling box: {table}")
        page.set_viewport_size({"width": 1280, "height": 900})
        switch_language(page, "en")

    sign_in(page, portal, state_admin.email, state_secret)
    at_each_width([("/onboarding/queue/", "state-queue")])
    sign_out(page)
    sign_in(page, portal, admin.email)
    at_each_width([("/verification/queue/", "verification-queue"),
                   (f"/verification/organisations/{office.pk}/members/", "members")])
    assert problems == [], "\n".join(problems)
    check_page.assert_clean()


FONT_BUDGET = 200 * 1024  # bytes: at 100 kbit/s (2G in a district office) about 16 s


@pytest.mark.parametrize("language", ["en-IN", "hi-IN", "mr-IN"])
def test_a_first_visit_downloads_only_the_subsets_of_the_fonts_its_text_uses(browser, portal, language):
    """The sign-in page, first visit: WOFF2 subsets of the fonts (static/css/fonts.css), each
    with the unicode-range of its glyphs, not the whole TrueType files (440–600 KB a page):
    an English page Noto Sans's Latin and the Devanagari of its language switch, a Hindi or
    Marathi page the Devanagari and the Latin of its few Latin words. The Devanagari is drawn
    with Noto Sans Devanagari all the same."""
    context = browser.new_context(locale=language)
    page = context.new_page()
    fonts = {}
    page.on("response", lambda response: fonts.update({response.url.rsplit("/", 1)[-1]: response})
            if response.request.resource_type == "font" else None)
    page.goto(portal + "/accounts/login/")
    loaded = page.evaluate("""async () => { await document.fonts.ready;
        return [...document.fonts].filter(f => f.status === "loaded").map(f => f.family.replace(/"/g, "")); }""")
    sizes = {name: len(response.body()) for name, response in fonts.items()}
    types = {name: response.headers["content-type"] for name, response in fonts.items()}
    context.close()
    assert {"Noto Sans", "Noto Sans Devanagari"} <= set(loaded), loaded
    assert sum(sizes.values()) <= FONT_BUDGET, sizes
    assert all(name.endswith(".woff2") for name in sizes) and set(types.values()) == {"font/woff2"}, types
