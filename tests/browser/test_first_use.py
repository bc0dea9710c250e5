"""Each role's first use in a real browser (Chromium through Playwright), every page
screenshotted and checked with axe-core, the pages of a first use in English, Hindi
and Marathi (switched with the selector in the page's header; tests/browser/support.py):

- a nodal officer with a personal (gmail) address is told on "My applications" why
  they cannot start and how to add an official address; an officer with an official
  address starts, searches for the parent organisation (no error before anything
  could be chosen), finds the State/UT and District fields neither starred nor
  "optional" (their hints say when they are needed), checks the answers with the
  signed letter listed, submits, goes back and is told it was submitted, and reads
  on a returned application's task list what was asked;
- the competent authority's review page names the nodal officer by name and
  designation, says who is who, and flags a staff domain that is not official;
- a state administrator's first sign-in is told that the role needs two factors,
  sets up TOTP through allauth's pages (their messages in Hindi and Marathi come from
  our catalogues), is brought back to the queue (the page first asked for), later
  sign-ins land on it too, the queue names the officer, and the decision page shows
  an open application listing the same domain;
- a superadmin's first use, the same way but in Marathi from the sign-in page on, and
  a domain claim accepted once the confirmation box is ticked.

Applications are built with factories (tests/factories.py): these tests are about
the pages, not the chain that leads to them."""

import copy
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from onboarding.application import services
from onboarding.models import ApplicationStatus, Section
from portal.organisations.models import DomainClaim, OrganisationDomain
from tests.browser.support import double_click, error_message, nav, sign_in, sign_out, switch_language
from tests.factories import (
    PASSWORD,
    ApplicationFactory,
    ApprovalStepFactory,
    OrganisationDomainFactory,
    OrganisationFactory,
    UserFactory,
    application_with_authority,
    application_with_state,
)
from tests.onboarding.approval_helpers import (  # noqa: F401 (fixture)
    AUTHORITY_EMAIL,
    as_querydict,
    latest_link,
    make_state_admin,
    make_superadmin,
    official_email_rules,
    totp_code,
)
from tests.onboarding_data import VALID, minimal_pdf

OFFICER_EMAIL = "nodal.officer@mahaagri.gov.in"
CONSUMER_EMAIL = "sunil.patil1975@gmail.com"
ADMIN_EMAIL = "ravi.admin@maharashtra.gov.in"
SUPERADMIN_EMAIL = "anita.rao@nic.in"
RETURN_REMARKS = "Attach the letter signed by the Director himself, not by the Deputy Director."

pytestmark = [
    pytest.mark.browser,
    # transaction=True: the live server's thread must see what the test commits.
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("official_email_rules"),
]


def answers(officer_email, **organisation):
    """The valid answers (tests/onboarding_data.VALID) with the nodal officer's address
    and, when given, other organisation details."""
    data = copy.deepcopy(VALID)
    data["nodal_officer"]["official_email"] = officer_email
    data["organisation"].update(organisation)
    return data


def test_nodal_officer_first_use(page, portal, check_page):
    UserFactory(email=CONSUMER_EMAIL, full_name="Sunil Patil")
    officer = UserFactory(email=OFFICER_EMAIL, full_name="Sunil Patil")
    parent = OrganisationFactory(name="Agriculture Department, Government of Maharashtra", short_code="AGRI-MH")
    returned = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.CHANGES_REQUESTED, letter=True,
                                  organisation_name="Directorate of Fisheries, Maharashtra",
                                  data=answers(OFFICER_EMAIL, name="Directorate of Fisheries, Maharashtra",
                                               email_domains="mahafisheries.gov.in"))
    ApprovalStepFactory(application=returned, stage="authority", assignee_email=AUTHORITY_EMAIL,
                        decision="return", remarks=RETURN_REMARKS, decided_at=timezone.now(),
                        decided_by_email=AUTHORITY_EMAIL)

    # --- A personal address: told on the page why, and how to add an official one ------------
    sign_in(page, portal, CONSUMER_EMAIL)
    nav(page, "My applications")
    expect(page.get_by_role("heading", level=1)).to_have_text("My applications")
    problem = page.get_by_role("alert")
    expect(problem.get_by_role("heading")).to_have_text("You cannot be a nodal officer with this account yet")
    expect(problem).to_contain_text("gmail.com is a personal mail service and is never accepted as official email.")
    expect(problem).to_contain_text("on your account's email page, change the address to it, then enter the code")
    expect(page.get_by_role("link", name="Start a new application")).to_have_count(0)
    check_page.in_each_language(page, "my-applications-personal-address")
    # The way on: the page the box speaks of, where the address is changed.
    problem.get_by_role("link", name="Change your email address").click()
    expect(page).to_have_url(re.compile(r"/accounts/email/$"))
    expect(page.get_by_label("Current email")).to_have_value(CONSUMER_EMAIL)
    expect(page.get_by_label("Change to")).to_be_editable()
    check_page.in_each_language(page, "email-address")
    sign_out(page)

    # --- An official address: start ---------------------------------------------------------
    sign_in(page, portal, OFFICER_EMAIL)
    nav(page, "My applications")
    expect(page.get_by_role("alert")).to_have_count(0)
    page.get_by_role("link", name="Start a new application").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Start an onboarding application")
    check_page.in_each_language(page, "start")
    double_click(page, page.get_by_role("button", name="Start the application"))  # one draft, not two
    expect(page).to_have_url(re.compile(r"/onboarding/\d+/tasks/$"))
    check_page(page, "task-list-new")
    application = officer.applications.exclude(pk=returned.pk).get()

    # --- Organisation details: State/UT and District are neither starred nor optional --------
    page.get_by_role("link", name="Organisation details").click()
    for field, hint in (("state", "Required unless the organisation is a central (Government of India) body."),
                        ("district", "Required for district and sub-district offices.")):
        expect(page.locator(f"label[for=id_{field}]")).to_have_text({"state": "State / UT", "district": "District"}[field])
        expect(page.locator(f"#id_{field}")).to_have_accessible_description(hint)
    expect(page.locator("label[for=id_name]")).to_contain_text("*")
    expect(page.locator("label[for=id_landline]")).to_contain_text("(optional)")
    check_page.in_each_language(page, "organisation")

    # --- Place in the hierarchy: a search shows the results, no error -------------------------
    page.get_by_role("link", name="Back to the onboarding form").click()
    page.get_by_role("link", name="Place in the hierarchy").click()
    page.get_by_label("It reports to an organisation already on Sandes").check()
    page.get_by_label("Search by name or short code").fill("Agriculture")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/section/hierarchy/\?q=Agriculture#picker-results$"))  # focus on the results
    result = page.get_by_label(re.compile(r"^Agriculture Department, Government of Maharashtra"))
    expect(result).to_be_visible()
    expect(page.locator("#error-summary")).to_have_count(0)
    expect(page.locator(".invalid-feedback")).to_have_count(0)
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)
    expect(page.get_by_text("None chosen yet.")).to_be_visible()
    for field in ("new_parent_name", "new_parent_type"):
        expect(page.locator(f"label[for=id_{field}]")).not_to_contain_text(re.compile(r"\*|optional"))
        expect(page.locator(f"#id_{field}")).to_have_accessible_description(
            "Required when it reports to an organisation not yet on Sandes.")
    check_page.in_each_language(page, "hierarchy-search")
    page.get_by_label(re.compile(r"^Agriculture Department, Government of Maharashtra")).check()
    page.get_by_role("button", name="Save and return to the form").click()
    expect(page.get_by_role("status")).to_contain_text("“Place in the hierarchy” saved.")
    application.refresh_from_db()
    assert application.section_data(Section.HIERARCHY)["parent"] == str(parent.pk)

    # --- The other sections and the letter (the journey test fills them in the browser) --------
    for section, values in answers(OFFICER_EMAIL).items():
        if section != Section.HIERARCHY:
            services.application_save_section(application_id=application.pk, section=section,
                                              querydict=as_querydict(values), actor=officer)
    services.attachment_upload(application_id=application.pk, actor=officer, uploaded=SimpleUploadedFile(
        "letter.pdf", minimal_pdf(), content_type="application/pdf"))

    # --- Check your answers lists the signed letter -------------------------------------------
    page.reload()
    page.get_by_role("link", name="Submit for approval").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers and submit")
    letter = page.get_by_role("region", name=re.compile(r"^Signed authorisation letter"))
    expect(letter.get_by_role("link", name="The signed authorisation letter")).to_be_visible()
    expect(letter).to_contain_text("1 page")
    check_page.in_each_language(page, "check-answers")
    submit_url = page.url

    # --- Submit, then back: told it was submitted ---------------------------------------------
    page.get_by_role("button", name="Submit for approval").click()
    expect(page).to_have_url(re.compile(rf"/onboarding/{application.pk}/$"))
    application.refresh_from_db()
    expect(page.get_by_role("status")).to_contain_text(f"Application {application.reference} has been submitted")
    check_page(page, "submitted")
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/onboarding/{application.pk}/$"))
    expect(page.get_by_role("status")).to_have_text("This application has already been submitted.")
    expect(page.get_by_role("button", name="Submit for approval")).to_have_count(0)
    check_page.in_each_language(page, "back-after-submitting", reach=lambda: page.goto(submit_url))

    # --- A returned application's task list says what was asked -------------------------------
    nav(page, "My applications")
    page.get_by_role("link", name="Continue Directorate of Fisheries, Maharashtra").click()
    expect(page).to_have_url(re.compile(rf"/onboarding/{returned.pk}/tasks/$"))
    asked = page.locator(".alert-warning")
    expect(asked).to_contain_text("The application was returned for correction.")
    expect(asked).to_contain_text("What was asked (Competent authority, ")
    expect(asked.locator("blockquote")).to_have_text(RETURN_REMARKS)
    check_page.in_each_language(page, "task-list-returned")

    check_page.assert_clean()


def test_competent_authority_sees_who_is_who_and_what_to_check(page, portal, check_page):
    officer = UserFactory(email=OFFICER_EMAIL, full_name="Sunil Patil")
    application = application_with_authority(
        nodal_officer=officer, data=answers(OFFICER_EMAIL, email_domains="mahaagri.gov.in\nattacker-example.com"))
    path, _token = latest_link(AUTHORITY_EMAIL)

    page.goto(portal + path)
    expect(page).to_have_url(re.compile(re.escape(portal) + r"/onboarding/review/\?step=\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Decision on application {application.reference}")
    expect(page.get_by_role("main")).to_contain_text(
        f"Its nodal officer, Sunil Patil, Deputy Director (IT) ({OFFICER_EMAIL})")
    people = page.get_by_role("region", name="Who is who")
    expect(people.locator("dd")).to_have_text([
        f"Sunil Patil, Deputy Director (IT){OFFICER_EMAIL} (domain mahaagri.gov.in)",
        f"Anita Deshmukh, Director of Agriculture{AUTHORITY_EMAIL} (domain mahaagri.gov.in)",
    ])
    flags = page.get_by_role("region", name="Check before deciding")
    expect(flags).to_have_class(re.compile(r"\balert-danger\b"))
    expect(flags.get_by_role("listitem")).to_have_count(1)
    expect(flags).to_contain_text("Email domain attacker-example.com: Not under an official suffix")
    check_page.in_each_language(page, "review")

    check_page.assert_clean()


def in_language(language, text):
    """``text`` as the portal shows it in ``language`` (the compiled catalogues the server reads)."""
    with translation.override(language):
        return gettext(text)


def first_sign_in_sets_up_totp(page, portal, email, check, language="en"):
    """A platform role's first sign-in, in ``language`` (chosen on the sign-in page): told
    why a second factor is needed, the password asked again, TOTP activated with the secret
    shown, and the recovery codes page offers the page first asked for (the queue), which
    it opens. ``check(page, name)`` checks each page; returns the secret."""
    def t(text):
        return in_language(language, text)

    def checked(name):
        check(page, name if language == "en" else f"{name}-{language}")

    page.goto(portal + "/accounts/login/")
    if language != "en":
        switch_language(page, language)
    checked("sign-in")
    page.get_by_label(t("Email")).fill(email)
    page.get_by_label(t("Password")).fill(PASSWORD)
    page.get_by_role("button", name=t("Sign In")).click()
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/\?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F"))
    expect(page.get_by_role("status")).to_contain_text(t(
        "Your role in the portal needs two-factor sign-in. Set up an authenticator app to continue; it takes a minute."))
    checked("reauthenticate")
    page.get_by_label(t("Password")).fill(PASSWORD)
    page.get_by_role("button", name=t("Confirm")).click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/\?next=%2Fonboarding%2Fqueue%2F$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Activate Authenticator App"))
    secret = page.get_by_label(t("Authenticator secret")).input_value()  # scanned now, as a person would
    checked("totp-activate")
    # Shown again (in another language): the same secret, which the code of the app that scanned it activates.
    expect(page.get_by_label(t("Authenticator secret"))).to_have_value(secret)
    page.get_by_label(t("Authenticator code")).fill(totp_code(secret))
    page.get_by_role("button", name=t("Activate")).click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    expect(page.get_by_role("status")).to_contain_text(t("Authenticator app activated."))
    onward = page.get_by_role("link", name=t("Continue to the page you asked for"))
    expect(onward).to_have_attribute("href", "/onboarding/queue/")
    checked("recovery-codes")
    onward.click()
    expect(page).to_have_url(portal + "/onboarding/queue/")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Approval queue"))
    return secret


def test_state_admin_first_sign_in_sets_up_totp_and_decides_from_the_queue(page, portal, check_page):
    make_state_admin("MH", email=ADMIN_EMAIL, totp=False)
    application = application_with_state(nodal_officer=UserFactory(email=OFFICER_EMAIL, full_name="Sunil Patil"))
    colleague = "meera.kulkarni@mahaagri.gov.in"
    other = answers(colleague, name="Agriculture Commissionerate, Maharashtra")
    other["nodal_officer"].update(name="Meera Kulkarni", designation="Joint Director (Extension)")
    other = application_with_authority(nodal_officer=UserFactory(email=colleague), data=other,
                                       organisation_name="Agriculture Commissionerate, Maharashtra")

    # --- First sign-in: two factors set up, then the queue -------------------------------------
    secret = first_sign_in_sets_up_totp(page, portal, ADMIN_EMAIL, check_page.in_each_language)
    rows = page.get_by_role("table", name="Applications waiting for a decision").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td").nth(3)).to_contain_text("Sunil Patil, Deputy Director (IT)")
    check_page.in_each_language(page, "queue")

    # --- Later sign-ins land on the queue too ------------------------------------------------------
    sign_out(page)
    page.goto(portal + "/accounts/login/")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    check_page(page, "two-factor-sign-in")
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(portal + "/onboarding/queue/")

    # --- The decision page: the open application listing the same domain ---------------------------
    rows.get_by_role("link", name=f"Review and decide {application.reference}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Decision on application {application.reference}")
    duplicates = page.get_by_role("region", name="Possible duplicates")
    expect(duplicates).to_contain_text(
        f"An open application ({other.reference}, Agriculture Commissionerate, Maharashtra) lists the same email domain.")
    expect(page.get_by_role("region", name="Who is who")).to_contain_text("Sunil Patil, Deputy Director (IT)")
    check_page.in_each_language(page, "decision")

    check_page.assert_clean()


def test_superadmin_first_sign_in_then_accepts_a_domain_claim(page, portal, check_page):
    make_superadmin(email=SUPERADMIN_EMAIL, totp=False)
    organisation = OrganisationFactory(name="Maharashtra State Electricity Distribution Co. Ltd.", short_code="MSEDCL")
    claim = OrganisationDomainFactory(organisation=organisation, domain="mahadiscom.in", is_verified=False,
                                      claim=DomainClaim.NOT_OFFICIAL)

    # The same first use as a state administrator's, this time in Marathi (each page once).
    first_sign_in_sets_up_totp(page, portal, SUPERADMIN_EMAIL, check_page, language="mr")
    switch_language(page, "en")
    nav(page, "Domain claims")
    expect(page).to_have_url(portal + "/portal/organisations/domain-claims/")
    row = page.get_by_role("table", name="Claims waiting for a decision").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("mahadiscom.in")
    expect(row).to_contain_text(organisation.name)
    check_page.in_each_language(page, "domain-claims")

    # --- Not ticked: told to tick the box, at the box and in the summary; nothing changes -----------
    accept = row.get_by_role("button", name="Accept as official mahadiscom.in")
    accept.click()
    expect(error_message(page, f"confirm-{claim.pk}_error")).to_have_text(
        f"Tick the box to confirm that mahadiscom.in belongs to {organisation.name.rstrip('.')}.")  # one full stop
    claim.refresh_from_db()
    assert not claim.is_verified

    def accept_unticked():  # in whatever language the page is in
        page.locator("table form button[type=submit]").click()
        expect(page.locator("#error-summary")).to_contain_text("mahadiscom.in")

    check_page.in_each_language(page, "domain-claim-not-ticked", reach=accept_unticked)

    # --- Ticked: accepted ---------------------------------------------------------------------------------
    row.get_by_label(f"I have confirmed that mahadiscom.in belongs to {organisation.name}").check()
    accept.click()
    expect(page.get_by_role("status")).to_have_text(f"mahadiscom.in is now official for {organisation.name.rstrip('.')}.")
    expect(page.get_by_role("main")).to_contain_text("No domain is waiting for a decision.")
    claim.refresh_from_db()
    assert claim.is_verified and claim.accepted_by.email == SUPERADMIN_EMAIL
    assert OrganisationDomain.objects.filter(domain="mahadiscom.in", is_verified=True).count() == 1
    check_page(page, "domain-claim-accepted")

    check_page.assert_clean()
