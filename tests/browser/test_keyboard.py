"""From the keyboard, as a screen-reader user meets them: a directory search that is too
short (sent with Enter) is summed up and focused, and a corrected one leaves no old
summary; the roster import's status is one live region that stays on the page while the
poll fills it; sign-up's errors are summed up and focused like the portal's own forms', and
so is a sign-in sent in Hindi with its password empty (not refused by the browser's own check),
and a domain claim accepted with Enter without its box ticked; a search for the parent
organisation that finds more than are listed says so where it is seen and heard, not at
the end of the results' scrolling box, and one sent with Enter (the page loaded afresh) leaves
focus on its results, with or without JavaScript;
the superadmin's "Administration" menu closes when focus leaves it (it lies over the
page) and on Escape, and opens whole inside the window on a phone (320 CSS px, or a
1280px window at 400% zoom), at 200% zoom and on a desktop, in each language; every
control reached with Tab shows a focus ring that can be seen (WCAG 2.2 1.4.11 and 2.4.7);
a state administrator who chooses "Approve" with Space and presses Enter (which sends a
form from a radio button) is asked to confirm first, as approving cannot be undone."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from onboarding.models import ApplicationStatus
from portal.organisations.models import OrganisationStatus
from portal.organisations.selectors import PICKER_LIMIT
from tests.browser.support import OTHER_LANGUAGES, sign_in, switch_language
from tests.factories import ApplicationFactory, OrganisationFactory, UserFactory, application_with_state
from tests.onboarding.approval_helpers import (  # noqa: F401 (fixtures)
    filled_application,
    make_state_admin,
    make_superadmin,
    official_email_rules,
    state_step,
    with_totp,
)
from tests.verification.helpers import make_admin
from verification.rosters.models import RosterImport, RosterStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED = "(() => { const e = document.activeElement; return e ? (e.id || e.tagName) : null })()"
# The box around an element that scrolls and hides part of what it holds (its id or class), or null.
SCROLLING_BOX = """n => { for (let e = n.parentElement; e; e = e.parentElement) {
  if (['auto', 'scroll'].includes(getComputedStyle(e).overflowY) && e.scrollHeight > e.clientHeight) return e.id || e.className;
} return null; }"""
# What the boxes around an element that clip what they hold (a scrolling box) cut off of its
# focus ring (its outline, that far from it): [side, CSS px] for each side cut, [] when all of it is seen.
RING_CUT = """n => { const s = getComputedStyle(n);
  const reach = parseFloat(s.outlineOffset) + parseFloat(s.outlineWidth);
  const r = n.getBoundingClientRect();
  const ring = {left: r.left - reach, top: r.top - reach, right: r.right + reach, bottom: r.bottom + reach};
  const cut = [];
  for (let e = n.parentElement; e; e = e.parentElement) {
    const o = getComputedStyle(e);
    if (o.overflowX === 'visible' && o.overflowY === 'visible') continue;
    const b = e.getBoundingClientRect();
    const left = b.left + e.clientLeft, top = b.top + e.clientTop;
    const box = {left, top, right: left + e.clientWidth, bottom: top + e.clientHeight};
    if (ring.left < box.left) cut.push(['left', box.left - ring.left]);
    if (ring.top < box.top) cut.push(['top', box.top - ring.top]);
    if (ring.right > box.right) cut.push(['right', ring.right - box.right]);
    if (ring.bottom > box.bottom) cut.push(['bottom', ring.bottom - box.bottom]);
  } return cut; }"""


def test_a_short_search_sent_with_enter_is_summed_up_and_focused_and_gone_once_corrected(page, portal):
    page.goto(portal + "/people/")
    field = page.get_by_label("Search people")
    field.fill("ab")
    field.press("Enter")
    page.wait_for_load_state("load")
    expect(page.locator("#error-summary")).to_contain_text("Type at least 3 characters")
    assert page.evaluate(FOCUSED) == "error-summary"
    expect(page.locator("#error-summary a[href='#id_q']")).to_have_count(1)
    field = page.get_by_label("Search people")
    field.fill("nobody-at-all")
    field.press("Enter")
    page.wait_for_load_state("load")
    expect(page.locator("#results")).to_contain_text("Nobody you may see matches")
    expect(page.locator("#error-summary")).to_have_count(0)


def test_the_roster_imports_status_stays_one_live_region_while_the_poll_fills_it(page, portal):
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")
    admin = make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    roster = RosterImport.objects.create(
        organisation=office, uploaded_by=admin, uploaded_at=timezone.now(), file_name="r.csv", file_sha256="0" * 64,
        file_format="csv", row_count=4, invite_count=4, status=RosterStatus.QUEUED, progress_total=4,
        apply_requested_at=timezone.now(), apply_requested_by=admin,
    )
    sign_in(page, portal, admin.email)
    page.goto(f"{portal}/verification/rosters/{roster.pk}/")
    status = page.locator("#roster-progress [role=status]")
    expect(status).to_contain_text("Applying: 0 of 4 rows done")
    page.evaluate("window.rosterStatus = document.querySelector('#roster-progress [role=status]')")
    RosterImport.objects.filter(pk=roster.pk).update(
        status=RosterStatus.APPLIED, progress_done=4, applied_at=timezone.now(), outcome={"invited": 4})
    expect(status).to_contain_text("Finished: 0 verified, 4 invited", timeout=10_000)
    expect(page.locator("#roster-progress-bar")).to_have_attribute("value", "100")
    assert page.evaluate("window.rosterStatus.isConnected"), "the live region was replaced, not filled"


def test_sign_up_errors_are_summed_up_and_focused(page, portal, check_page):
    page.goto(portal + "/accounts/signup/")

    def mistyped():
        page.locator("#id_email").fill("new.person@mahaagri.gov.in")
        page.locator("#id_password1").fill("Correct-horse-battery-9")
        page.locator("#id_password2").fill("Correct-horse-battery-8")
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state("load")
        expect(page.locator("#id_password2_error")).to_be_visible()
        assert page.evaluate(FOCUSED) == "error-summary"
        expect(page.locator("#error-summary a[href='#id_password2']")).to_have_count(1)

    mistyped()
    check_page.in_each_language(page, "sign-up-errors-summed-up", reach=mistyped)
    check_page.assert_clean()


def test_sign_in_sent_with_an_empty_password_is_summed_up_by_the_server_in_hindi(page, portal):
    """The browser's own check would refuse the empty field with its bubble, in its own
    language, and send nothing."""
    page.goto(portal + "/accounts/login/")
    switch_language(page, "hi")
    page.locator("#id_login").fill("nodal.officer@mahaagri.gov.in")
    with page.expect_navigation():
        page.locator("#id_login").press("Enter")
    expect(page.locator("#error-summary a[href='#id_password']")).to_have_count(1)
    assert page.evaluate(FOCUSED) == "error-summary"


def test_a_domain_claim_accepted_with_enter_without_its_box_is_summed_up_and_focused(page, portal):
    from portal.organisations.models import OrganisationDomain  # noqa: PLC0415

    claim = OrganisationDomain.objects.create(organisation=OrganisationFactory(name="Indian Institute of Science"),
                                              domain="iisc.ac.in", is_verified=False, claim="not_official")
    superadmin = make_superadmin(email="anita.rao@nic.in", totp=False)
    sign_in(page, portal, superadmin.email, with_totp(superadmin))
    page.goto(portal + "/portal/organisations/domain-claims/")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").press("Enter")
    expect(page.locator(f"#error-summary a[href='#confirm-{claim.pk}']")).to_have_count(1)
    assert page.evaluate(FOCUSED) == "error-summary"
    expect(page.locator(f"#confirm-{claim.pk}")).to_have_attribute("aria-invalid", "true")


def parent_search(page, portal, officer):
    """The officer's hierarchy section, a parent on Sandes chosen: its search box."""
    application = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.DRAFT)
    sign_in(page, portal, officer.email)
    page.goto(f"{portal}/onboarding/{application.pk}/section/hierarchy/")
    page.locator("input[name=parent_choice][value=existing]").check()
    return page.locator("#parent-search")


def test_more_parents_matching_than_listed_is_said_outside_the_results_scrolling_box(page, portal, officer, check_page):
    """The first PICKER_LIMIT matches are listed in a box that scrolls (about four seen at a
    time): that more match, and to type more of the name, is said where it is seen without
    scrolling the box, and in the live region a screen reader reads out after each search."""
    for i in range(PICKER_LIMIT + 1):
        OrganisationFactory(name=f"Water Resources Sub-Division {i:02d}, Maharashtra", short_code=f"WRD{i:02d}")
    parent_search(page, portal, officer).fill("Water")  # listed as it is typed
    note = page.locator("#picker-results").get_by_text("More organisations match: type more of the name.")
    expect(note).to_be_visible()
    expect(page.locator("#picker-results input[name=parent]")).to_have_count(PICKER_LIMIT)
    assert note.evaluate(SCROLLING_BOX) is None, "the note is inside the results' scrolling box"
    assert note.evaluate("n => n.closest('[aria-live]')?.id") == "picker-live"
    page.goto(page.url + "?q=Water")  # as a search sent with Enter, or without JavaScript, shows it
    check_page.in_each_language(page, "picker-more-than-listed")
    expect(note).to_be_visible()
    assert note.evaluate(SCROLLING_BOX) is None, "the note is inside the results' scrolling box"
    check_page.assert_clean()


def test_the_parent_search_results_are_a_region_only_once_searched_and_show_each_focus_ring_whole(
        page, portal, officer):
    """Before anything is searched there is nothing to say: no "Search results" region
    (a landmark a screen reader lists, empty) and nothing shown where they will be. Once
    searched, each match reached from the keyboard (Tab into them, then the arrow keys, the
    box scrolling) shows its whole focus ring: the scrolling box clips nothing of it."""
    for i in range(PICKER_LIMIT):
        OrganisationFactory(name=f"Water Resources Sub-Division {i:02d}, Maharashtra", short_code=f"WRD{i:02d}")
    search = parent_search(page, portal, officer)
    expect(page.get_by_role("region", name="Search results")).to_have_count(0)
    expect(page.locator("#picker-results")).to_have_count(0)  # no empty box where they will be either
    expect(page.locator("#picker-live")).to_be_empty()  # the live region, which says nothing yet
    results = page.get_by_role("region", name="Search results")
    for width in (360, 1280):  # on a phone the box scrolls
        page.set_viewport_size({"width": width, "height": 900})
        search.fill("Water")
        expect(results.locator("input[name=parent]")).to_have_count(PICKER_LIMIT)
        search.focus()
        page.keyboard.press("Tab")  # the Search button
        page.keyboard.press("Tab")  # the first match
        for i in range(PICKER_LIMIT):
            match = results.locator("input[name=parent]").nth(i)
            expect(match).to_be_focused()
            assert match.evaluate(RING_CUT) == [], f"{width}px, match {i}: its focus ring is cut off"
            page.keyboard.press("ArrowDown")
        search.fill("")  # searched for nothing: nothing to say again
        expect(results).to_have_count(0)


def test_a_parent_searched_with_enter_leaves_focus_on_the_results(page, portal, officer, browser, check_page):
    """Enter in the search box sends the form (its first button is Search): the page comes
    back afresh at ?q=. Focus is on the results, announced by their name, and the first match
    is one Tab away, not at the top of the page behind the header and the three choices; so too
    in a browser without JavaScript."""
    water = OrganisationFactory(name="Water Resources Department, Maharashtra", short_code="WRD-MH")
    parent_search(page, portal, officer)
    without_script = browser.new_context(java_script_enabled=False, storage_state=page.context.storage_state())
    for current in (page, without_script.new_page()):
        if current is not page:
            current.goto(page.url.split("?")[0])
            current.locator("input[name=parent_choice][value=existing]").check()
        search = current.locator("#parent-search")
        search.fill("Water")
        with current.expect_navigation():
            search.press("Enter")
        current.wait_for_load_state("load")
        expect(current.locator("#picker-results")).to_contain_text(water.name)
        assert current.evaluate(FOCUSED) == "picker-results"
        expect(current.locator("#picker-results")).to_have_accessible_name("Search results")
        current.keyboard.press("Tab")
        assert current.evaluate(FOCUSED) == f"parent-{water.pk}"
    without_script.close()
    check_page(page, "parent-searched-with-enter")
    check_page.assert_clean()


def test_the_administration_menu_closes_when_focus_leaves_it_and_on_escape(page, portal):
    superadmin = make_superadmin(email="anita.rao@nic.in", totp=False)
    sign_in(page, portal, superadmin.email, with_totp(superadmin))
    page.goto(portal + "/people/")
    menu = page.locator(".nav-more details")
    summary = menu.locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    for _ in range(menu.locator("a").count()):  # through its links
        page.keyboard.press("Tab")
        expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Tab")  # out of it: it no longer lies over what has focus
    expect(menu).not_to_have_attribute("open", "")
    summary.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"


def test_the_administration_menu_opens_whole_inside_the_window_at_every_width(page, portal, check_page):
    superadmin = make_superadmin(email="anita.rao@nic.in", totp=False)
    sign_in(page, portal, superadmin.email, with_totp(superadmin))
    page.goto(portal + "/portal/roles/")
    cut = {}
    for language in ("en", *OTHER_LANGUAGES):
        if language != "en":
            page.set_viewport_size({"width": 1280, "height": 900})
            switch_language(page, language)
        for width in (320, 640, 800, 1024, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            menu = page.locator(".nav-more details")
            menu.locator("summary").focus()
            page.keyboard.press("Enter")
            expect(menu).to_have_attribute("open", "")
            check_page(page, f"administration-menu-{language}-{width}")
            outside = page.evaluate("""() => [...document.querySelectorAll('.nav-more-menu a')]
                .map(a => [a.textContent.trim(), Math.round(a.getBoundingClientRect().left), Math.round(a.getBoundingClientRect().right)])
                .filter(([, left, right]) => left < 0 || right > document.documentElement.clientWidth)""")
            if outside:
                cut[f"{language} {width}px"] = outside
            page.keyboard.press("Escape")
            expect(menu).not_to_have_attribute("open", "")
    assert cut == {}, f"links of the Administration menu outside the window (text, left, right): {cut}"
    check_page.assert_clean()


# The focus indicator of the focused element: its rings at least 2px wide (an outline, or a
# box-shadow's spread), their colours (over white where translucent) against the white page and
# against the control's own background. "best" is the lower of the two best contrasts: a ring
# stands out from the page and one from the control (one ring may do both; with a ring in two
# colours, the outer one against the page and the inner one against a dark button).
INDICATOR = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const onWhite = (text) => { const m = text.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(',').map(Number); return [r, g, b].map(v => 255 - a * (255 - v)); };
  const contrast = (one, other) => { if (!one || !other) return 0;
    const [light, dark] = [lum(one), lum(other)].sort((x, y) => y - x); return (light + 0.05) / (dark + 0.05); };
  const white = [255, 255, 255];
  const control = onWhite(s.backgroundColor) || white;
  const rings = [];
  if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) rings.push(onWhite(s.outlineColor));
  for (const shadow of (s.boxShadow === 'none' ? [] : s.boxShadow.split(/,(?![^(]*\\))/))) {
    const spread = shadow.replace(/rgba?\\([^)]*\\)/, '').trim().split(/\\s+/).map(parseFloat)[3] || 0;
    if (spread >= 2) rings.push(onWhite(shadow));
  }
  const best = (other) => Math.max(0, ...rings.map(rgb => contrast(rgb, other)));
  return {element: e.tagName + '#' + e.id + '.' + e.className, outline: s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor,
          boxShadow: s.boxShadow, background: s.backgroundColor,
          best: Math.round(Math.min(best(white), best(control)) * 100) / 100};
}"""


def test_every_control_reached_with_tab_shows_a_focus_ring_of_3_to_1(page, portal, check_page):
    """Bootstrap's focus styles (.form-control:focus, .form-select:focus, .form-check-input:focus,
    .btn:focus-visible, .nav-link:focus-visible) take the outline away and leave a faint tinted
    ring (1.4:1 to 1.8:1 on white): the portal's ring is at least 2px and 3:1 against the page and
    the control, on the fields, boxes and buttons of a form, in the header and on a table's box."""
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    draft = filled_application(officer)
    sign_in(page, portal, officer.email)
    pages = {
        f"/onboarding/{draft.pk}/section/organisation/": [
            "#id_name", "#id_org_type", "main button[name=continue]", ".portal-header nav a.nav-link >> nth=0",
            ".portal-header nav button", "#language-select", ".language-switch button", "footer a >> nth=0"],
        f"/onboarding/{draft.pk}/section/declarations/": ["#id_accept_notice"],
        "/onboarding/": ["main .table-responsive", "main a.btn"],
    }
    weak = {}
    for language in ("en", *OTHER_LANGUAGES):
        for path, selectors in pages.items():
            page.goto(portal + path)
            if page.locator("html").get_attribute("lang") != language:
                switch_language(page, language)
            for selector in selectors:
                control = page.locator(selector)
                control.focus()
                page.keyboard.press("Shift+Tab")
                page.keyboard.press("Tab")  # reached from the keyboard: :focus-visible applies
                assert control.evaluate("e => e === document.activeElement"), f"Tab did not come back to {selector}"
                # Bootstrap's .15s transition of the ring, to its end.
                control.evaluate("e => Promise.all(e.getAnimations().map(a => a.finished)).then(() => null)")
                found = page.evaluate(INDICATOR)
                if found["best"] < 3:
                    weak[f"{language} {path} {selector}"] = found
            check_page(page, f"focus-ring-{language}-{path.strip('/').replace('/', '-')}")
    assert weak == {}, f"focus indicators below 3:1 against the page or the control: {weak}"
@pytest.mark.usefixtures("official_email_rules")
def test_approve_chosen_with_space_and_enter_asks_to_confirm_before_anything_is_recorded(page, portal, check_page):
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    application = application_with_state(nodal_officer=officer)
    admin = make_state_admin("MH", email="ravi.admin@maharashtra.gov.in", totp=False)
    sign_in(page, portal, admin.email, with_totp(admin))
    page.goto(f"{portal}/onboarding/queue/{state_step(application).pk}/")
    remarks = "Checked against the establishment list of 2024."
    approve = page.locator("input[name=decision][value=approve]")
    box = page.locator("#id_confirm")

    def approve_with_space_and_enter():
        page.locator("#id_remarks").fill(remarks)
        approve.focus()
        page.keyboard.press("Space")
        page.keyboard.press("Enter")
        page.wait_for_load_state("load")
        expect(page.locator("#id_confirm_error")).to_be_visible()
        assert page.evaluate(FOCUSED) == "error-summary"
        expect(page.locator("#error-summary a[href='#id_confirm']")).to_have_count(1)
        expect(box).to_have_attribute("aria-describedby", "id_confirm_helptext id_confirm_error")
        # What was chosen and typed is kept; the box is ticked by hand.
        expect(approve).to_be_checked()
        expect(page.locator("#id_remarks")).to_have_value(remarks)
        expect(box).not_to_be_checked()
        application.refresh_from_db()
        assert application.status == ApplicationStatus.WITH_STATE

    approve_with_space_and_enter()
    expect(page.locator("#error-summary")).to_contain_text(
        "Yes, record this decision: it cannot be undone: Tick the box to confirm the decision.")
    check_page.in_each_language(page, "approve-asks-to-confirm", reach=approve_with_space_and_enter)
    approve_with_space_and_enter()  # back in English: the page as it was loaded again

    # From the summary to the box, ticked with Space; then on to the button, and Enter.
    page.locator("#error-summary a[href='#id_confirm']").click()
    expect(box).to_be_focused()
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Record my decision")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    expect(page.get_by_role("status")).to_contain_text(f"Your decision on {application.reference} was recorded.")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.organisation.status == OrganisationStatus.ACTIVE
    check_page.assert_clean()
