"""The role pages in a real browser (Chromium through Playwright), each page
screenshotted and checked with axe-core (tests/browser/support.py):

- a superadmin signed in with TOTP, whose own role has a last day, opens Roles from the
  navigation, finds a person by address, grants them the state administrator role for
  Maharashtra with a last day, checks it on the confirmation page, confirms, and sees it
  in the list with its end; then opens the report; an auditor role she would give with no
  last day, or a later one than her own, is refused at the last day's field naming the
  latest day allowed, in English, Hindi and Marathi;
- the admin of a state department makes a verified member of a district office below
  it an admin of that office until a last day, then tries to remove the office's
  original admin, the last one whose role does not end, and is refused;
- an office's acting admin, whose own role ends in ten days, is refused at the first step
  a grant with no last day, in English, Hindi and Marathi;
- an office's only admin changes her account's address to another official one, and is
  refused at the code's confirmation in English, Hindi and Marathi: her role rests on
  her verification at the old address."""

import re
from datetime import datetime, time, timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone, translation
from django.utils.formats import date_format
from playwright.sync_api import expect

from portal.organisations.models import Membership, MembershipRole, OrganisationDomain, PlatformRoleGrant
from tests.browser.support import error_message, nav, sign_in, switch_language, verification_code, wait_for_message
from tests.factories import PASSWORD, OrganisationFactory, UserFactory
from tests.onboarding.approval_helpers import make_superadmin, official_email_rules, with_totp  # noqa: F401 (fixtures)
from tests.portal.role_helpers import make_admin, make_member
from tests.verification.helpers import GovernmentProfileFactory
from verification.models import VerificationStatus

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("official_email_rules"),
]


def test_a_superadmin_grants_a_state_administrator_role_with_a_last_day(page, portal, check_page):
    superadmin = make_superadmin(email="anita.rao@nic.in", totp=False)
    secret = with_totp(superadmin)
    # Her own role is for a term: its last day is in 120 days, which no role she grants may outlast.
    own_last_day = timezone.localdate() + timedelta(days=120)
    PlatformRoleGrant.objects.filter(user=superadmin).update(
        ends_at=timezone.make_aware(datetime.combine(own_last_day + timedelta(days=1), time.min)))
    person = UserFactory(email="ravi.patil@maharashtra.gov.in", full_name="Ravi Patil")
    auditor = UserFactory(email="meena.iyer@nic.in", full_name="Meena Iyer")
    last_day = timezone.localdate() + timedelta(days=90)

    sign_in(page, portal, superadmin.email, totp_secret=secret)
    nav(page, "Roles")
    expect(page.get_by_role("heading", level=1)).to_have_text("Roles")
    check_page(page, "roles-home")
    page.get_by_role("link", name="Grant a platform role").click()
    page.get_by_label("Email address").fill("ra")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_text("Ensure this value has at least 3 characters")).to_have_count(2)  # summary and field
    check_page(page, "search-too-short")
    page.get_by_label("Email address").fill("ravi.pa")
    page.get_by_role("button", name="Find").click()
    check_page(page, "search-found")
    page.get_by_role("link", name="ravi.patil@maharashtra.gov.in").click()

    page.get_by_label("State administrator").check()
    page.get_by_label("Where").select_option("MH")
    page.get_by_label("Last day of the role").fill(last_day.isoformat())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("This field is required")).to_have_count(2)  # the reason: summary and field
    expect(page.get_by_label("Where")).to_have_value("MH")  # nothing typed is lost
    check_page(page, "grant-missing-reason")
    page.get_by_label("Reason").fill("Posted to the state IT cell for the onboarding drive.")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the platform role")
    expect(page.get_by_text("Maharashtra", exact=True)).to_be_visible()
    check_page(page, "grant-confirm")
    # The language changed on the confirmation: the page loads again (the form), what was chosen and typed kept.
    switch_language(page, "hi")
    expect(page.locator("#typed-kept")).to_be_visible()
    expect(page.locator("input[name=role][value=state_admin]")).to_be_checked()
    expect(page.locator("#id_jurisdiction")).to_have_value("MH")
    expect(page.locator("#id_ends_on")).to_have_value(last_day.isoformat())
    expect(page.locator("#id_reason")).to_have_value("Posted to the state IT cell for the onboarding drive.")
    switch_language(page, "en")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the platform role")
    assert not PlatformRoleGrant.objects.filter(user=person).exists()
    page.get_by_role("button", name="Confirm and grant the role").click()

    expect(page.get_by_text("ravi.patil@maharashtra.gov.in is now State administrator (Maharashtra).")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="ravi.patil@maharashtra.gov.in")
    expect(row).to_contain_text(f"{last_day:%-d %b %Y}")
    check_page(page, "granted")
    grant = PlatformRoleGrant.objects.get(user=person)
    assert (grant.role, grant.jurisdiction) == ("state_admin", "MH")
    assert timezone.localtime(grant.ends_at).date() == last_day + timedelta(days=1)

    page.get_by_role("link", name="Report: who holds which role where").click()
    page.get_by_role("link", name="Platform roles").click()
    expect(page.get_by_role("row").filter(has_text="ravi.patil@maharashtra.gov.in")).to_be_visible()
    check_page(page, "report")

    # --- An auditor role with no last day would outlast her own: refused at the last day, naming the latest ---
    page.goto(f"{portal}/portal/roles/platform/grant/?user={auditor.pk}")

    def outlasting(ends_on=""):
        def refused():
            code = page.locator("html").get_attribute("lang")
            page.locator("input[name=role][value=auditor]").check()
            page.locator("#id_jurisdiction").select_option("")
            page.locator("#id_ends_on").fill(ends_on)
            page.locator("#id_reason").fill("Audit of the onboarding drive.")
            page.locator("main form button[name=step][value=review]").click()
            page.wait_for_load_state("load")
            with translation.override(code):
                day = date_format(own_last_day, "j M Y")
            expect(error_message(page, "id_ends_on_error")).to_have_text(OUTLASTS_OWN_ROLE[code].format(day=day))
            expect(page.locator("#id_ends_on")).to_have_attribute("aria-invalid", "true")
            expect(page.locator("#id_reason")).to_have_value("Audit of the onboarding drive.")
            expect(page.locator("input[name=role][value=auditor]")).to_be_checked()
            expect(page.get_by_role("heading", level=1)).not_to_have_text(re.compile("Confirm"))
        return refused

    no_last_day = outlasting()
    no_last_day()
    check_page.in_each_language(page, "grant-auditor-outlasting-own-role", reach=no_last_day)
    outlasting((own_last_day + timedelta(days=1)).isoformat())()  # a later last day: refused alike
    check_page(page, "grant-auditor-later-than-own-role")
    page.locator("#id_ends_on").fill(own_last_day.isoformat())  # her own last day: accepted, to be confirmed
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the platform role")
    assert not PlatformRoleGrant.objects.filter(user=auditor).exists()
    check_page.assert_clean()


def test_an_organisation_admin_grants_an_admin_and_cannot_remove_the_last_one(page, portal, check_page):
    department = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH")
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE", parent=department)
    head = make_admin(department, email="secretary@mahaagri.gov.in", full_name="Meera Joshi")
    original = make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    clerk = make_member(office, email="asha.kulkarni@pune.mahaagri.gov.in", full_name="Asha Kulkarni")
    last_day = timezone.localdate() + timedelta(days=30)

    sign_in(page, portal, head.email)
    nav(page, "Roles")
    check_page(page, "organisations")
    page.get_by_role("link", name="District Agriculture Office, Pune").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Admins of District Agriculture Office, Pune")
    page.get_by_label("Email address").fill("asha")
    page.get_by_role("button", name="Find").click()
    check_page(page, "office-admins-search")
    page.get_by_role("link", name="Make admin asha.kulkarni@pune.mahaagri.gov.in").click()
    page.get_by_label("Last day of the role").fill(last_day.isoformat())
    page.get_by_label("Reason").fill("Leads the section while the office admin is on training.")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the admin role")
    check_page(page, "grant-confirm")
    switch_language(page, "mr")  # loads the form again, what was typed kept
    expect(page.locator("#typed-kept")).to_be_visible()
    expect(page.locator("#id_ends_on")).to_have_value(last_day.isoformat())
    expect(page.locator("#id_reason")).to_have_value("Leads the section while the office admin is on training.")
    switch_language(page, "en")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the admin role")
    page.get_by_role("button", name="Confirm and make admin").click()
    expect(page.get_by_text("asha.kulkarni@pune.mahaagri.gov.in is now an admin of District Agriculture Office, Pune.")
           ).to_be_visible()
    check_page(page, "office-admins")
    membership = Membership.objects.get(user=clerk, organisation=office)
    assert membership.role == MembershipRole.ADMIN and membership.ends_at is not None

    # The original admin is now the only one whose role does not end: removing them is refused.
    page.get_by_role("link", name="Remove admin@pune.mahaagri.gov.in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove an admin")
    page.get_by_label("Reason").fill("Transferred to Nashik.")
    page.get_by_label("I confirm that this role should end now").check()
    page.get_by_role("button", name="Remove the admin role").click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("would have no admin left whose role does not end")
    expect(page.get_by_label("Reason")).to_have_value("Transferred to Nashik.")
    check_page(page, "last-admin-refused")
    assert Membership.objects.get(user=original, organisation=office).role == MembershipRole.ADMIN
    check_page.assert_clean()



OUTLASTS = {
    "en": "Your own role, by which you give this one, ends after",
    "hi": "आपकी अपनी भूमिका, जिसके आधार पर आप यह भूमिका दे रहे हैं",
    "mr": "तुमची स्वतःची भूमिका, जिच्या आधारे तुम्ही ही भूमिका देत आहात",
}


def test_an_acting_admin_cannot_give_an_admin_role_that_outlasts_their_own(page, portal, check_page):
    """An office's acting admin, whose role ends in ten days, makes a member admin with no
    last day: refused at the last day's field at the first step, with the latest day
    allowed, the reason typed kept, in English, Hindi and Marathi; nothing granted."""
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")
    make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    acting = make_admin(office, email="acting.admin@pune.mahaagri.gov.in", full_name="Acting Admin")
    Membership.objects.filter(user=acting).update(ends_at=timezone.now() + timedelta(days=10))
    clerk = make_member(office, email="asha.kulkarni@pune.mahaagri.gov.in", full_name="Asha Kulkarni")

    sign_in(page, portal, acting.email)
    page.goto(f"{portal}/portal/roles/organisations/{office.pk}/grant/?user={clerk.pk}")

    def refused():
        page.get_by_label(re.compile("Reason|कारण")).first.fill("Leads the section.")
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_load_state("load")
        expect(page.locator("#error-summary")).to_contain_text(OUTLASTS[page.locator("html").get_attribute("lang")])
        expect(page.locator("main form textarea, main form input[name=reason]").first).to_have_value("Leads the section.")

    refused()
    check_page.in_each_language(page, "grant-outlasting-refused", reach=refused)
    assert Membership.objects.get(user=clerk, organisation=office).role == MembershipRole.MEMBER
    check_page.assert_clean()

OUTLASTS_OWN_ROLE = {
    "en": "Your own role, by which you give this one, ends after {day}: the role you give cannot last longer. Give a "
          "last day no later than {day}.",
    "hi": "आपकी अपनी भूमिका, जिसके आधार पर आप यह भूमिका दे रहे हैं, {day} के बाद समाप्त हो जाती है: आपके द्वारा दी गई "
          "भूमिका इससे अधिक समय तक नहीं चल सकती। {day} या उससे पहले का अंतिम दिन दें।",
    "mr": "तुमची स्वतःची भूमिका, जिच्या आधारे तुम्ही ही भूमिका देत आहात, {day} नंतर संपते: तुम्ही दिलेली भूमिका त्यापेक्षा "
          "जास्त काळ टिकू शकत नाही. {day} किंवा त्याआधीचा शेवटचा दिवस द्या.",
}


LAST_ADMIN_ADDRESS = {
    "en": "You are the last admin of District Agriculture Office, Pune whose role does not end, and the role rests on "
          "your verification with the official address that would leave your account",
    "hi": "आप District Agriculture Office, Pune के अंतिम ऐसे व्यवस्थापक हैं जिनकी भूमिका समाप्त नहीं होती",
    "mr": "तुम्ही District Agriculture Office, Pune चे असे शेवटचे प्रशासक आहात ज्यांची भूमिका संपत नाही",
}


ROLE = "Organisation admin (District Agriculture Office, Pune)"


def test_the_last_admin_cannot_change_the_address_their_role_rests_on(page, portal, check_page, smtp_server):
    """The office's only admin, verified there at her official address, changes her
    account's address to another official one: refused at the address, in the page's
    language, saying to hand the role over first, the address kept in its field, no code
    mailed, nothing changed. Once another admin holds the role, the box names the role that
    ends with her verification, the page asking for the code names it again, and entering
    the code ends it."""
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")
    OrganisationDomain.objects.create(organisation=office, domain="pune.mahaagri.gov.in", is_verified=True)
    asha = make_admin(office, email="asha.kulkarni@pune.mahaagri.gov.in", full_name="Asha Kulkarni")
    GovernmentProfileFactory(user=asha, organisation=office, status=VerificationStatus.VERIFIED,
                             official_email=asha.email)
    new = "asha.k@pune.mahaagri.gov.in"
    sign_in(page, portal, asha.email)

    def add_address():
        page.locator("main form button[name=action_add]").click()
        page.wait_for_load_state("load")
        if "/accounts/reauthenticate/" in page.url:  # asked who she is again, once
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("main form button[type=submit]").first.click()
            page.wait_for_load_state("load")

    page.goto(f"{portal}/accounts/email/")
    for code in ("en", "hi", "mr"):
        if code != "en":
            switch_language(page, code)
        page.locator("#id_email").fill(new)
        add_address()
        expect(page).to_have_url(re.compile(r"/accounts/email/$"))
        expect(error_message(page, "id_email_error")).to_contain_text(LAST_ADMIN_ADDRESS[code])
        expect(page.locator("#id_email")).to_have_value(new)
        check_page(page, f"last-admin-address-refused-{code}")
    switch_language(page, "en")
    assert not [m for m in smtp_server.messages if new in str(m["To"])]
    assert EmailAddress.objects.get(user=asha, primary=True).email == "asha.kulkarni@pune.mahaagri.gov.in"
    assert Membership.objects.get(user=asha, organisation=office).admin_in_force

    make_admin(office, email="ravi.patil@pune.mahaagri.gov.in", full_name="Ravi Patil")
    page.locator("#id_email").fill(new)
    add_address()
    expect(error_message(page, "id_end_roles_error")).to_contain_text(
        f"your verification with one of them ends, and these roles, which rest on it, end with it: {ROLE}.")
    check_page(page, "address-change-ends-role-box")
    page.locator("#id_end_roles").check()
    add_address()
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/"))
    expect(page.locator("main")).to_contain_text(
        f"Entering the code makes {new} your primary address, and your other addresses leave your account")
    check_page(page, "address-change-ends-role-code")
    message = wait_for_message(smtp_server, lambda m: new in str(m["To"]))
    page.locator("input[name=code]").fill(verification_code(message))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state("load")
    assert EmailAddress.objects.get(user=asha, primary=True).email == new
    assert not Membership.objects.get(user=asha, organisation=office).admin_in_force
    check_page.assert_clean()
