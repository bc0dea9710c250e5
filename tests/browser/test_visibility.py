"""Profile visibility in a real browser: an organisation's admin opens "Who sees what"
from their verification page and shows the mobile number to everyone and the office to
nobody; a verified government user of another organisation then finds the person in the
directory of people and opens their page, and sees exactly what the policy allows; a
search by a detail hidden from them finds nobody. Every page screenshotted and checked
with axe-core."""

from playwright.sync_api import expect

from tests.browser.support import nav, sign_in, sign_out, switch_language
from tests.factories import OrganisationFactory, UserFactory
from tests.verification.helpers import GovernmentProfileFactory, make_admin
from verification.models import VerificationStatus
from verification.visibility.models import Audience, ProfileField, VisibilityPolicy
from verification.visibility.services import visibility_policy_set


def test_admin_sets_visibility_and_an_outsider_sees_only_what_is_allowed(page, portal, check_page):
    home = OrganisationFactory(name="Directorate of Land Records, Pune", short_code="DLR-PUNE")
    other = OrganisationFactory(name="Directorate of Health Services", short_code="DHS-KA", state="KA")
    admin = make_admin(home, email="admin@landrecords.gov.in", full_name="Meera Admin")
    person = UserFactory(email="asha.kulkarni@landrecords.gov.in", full_name="Asha Kulkarni")
    profile = GovernmentProfileFactory(
        user=person, organisation=home, status=VerificationStatus.VERIFIED, designation="Circle Officer",
        office="Survey Section", employee_code="LR-20417", official_email="asha.kulkarni@landrecords.gov.in",
        mobile="+919822012345",
    )
    outsider = UserFactory(email="ravi.rao@karhealth.gov.in", full_name="Ravi Rao")
    GovernmentProfileFactory(user=outsider, organisation=other, status=VerificationStatus.VERIFIED)

    # --- The admin: from their verification page to "Who sees what" ------------------------------
    sign_in(page, portal, admin.email)
    nav(page, "Verification")
    page.get_by_role("link", name=f"Who sees what {home.name}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Who may see the details")
    check_page(page, "policy-defaults")
    page.get_by_label("Mobile number").select_option(label="Everyone, also without an account")
    page.get_by_label("Office or unit").select_option(label="Nobody but the person")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("was saved")
    check_page(page, "policy-saved")
    policy = VisibilityPolicy.objects.get(organisation=home)
    assert (policy.mobile, policy.office) == (40, 0)

    # --- Saved from a page opened before another admin saved: refused, in each language ----------
    colleague = make_admin(home, email="second.admin@landrecords.gov.in")
    for code, narrowed in (("en", Audience.ADMINS), ("hi", Audience.ORGANISATION), ("mr", Audience.ADMINS)):
        if code != "en":
            switch_language(page, code)  # the page loaded again, as it stands now
        visibility_policy_set(organisation_id=home.pk, audiences={ProfileField.DESIGNATION: narrowed},
                              actor=colleague)  # meanwhile
        page.locator("#id_employee_code").select_option(str(Audience.NOBODY.value))
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("load")
        expect(page.locator("#error-summary")).to_be_visible()
        expect(page.locator(".field-designation .field-warning")).to_have_count(1)
        check_page(page, f"policy-changed-meanwhile-{code}")
        assert VisibilityPolicy.objects.get(organisation=home).designation == narrowed  # nothing saved
    switch_language(page, "en")
    visibility_policy_set(organisation_id=home.pk, audiences={ProfileField.DESIGNATION: Audience.VERIFIED},
                          actor=colleague)  # as it was, for what the outsider sees below
    sign_out(page)

    # --- A verified user of another organisation: the directory and the person's page ------------
    sign_in(page, portal, outsider.email)
    nav(page, "People")
    expect(page.get_by_role("heading", level=1)).to_have_text("Directory of people")
    check_page(page, "directory-empty")
    page.get_by_label("Search people").fill("kulkarni")
    page.get_by_role("button", name="Search").click()
    results = page.locator("#results")
    expect(results.get_by_role("link", name="Asha Kulkarni")).to_be_visible()
    for shown in ("Circle Officer", home.name, "+919822012345"):
        expect(results).to_contain_text(shown)
    for hidden in ("Survey Section", "LR-20417", "asha.kulkarni@landrecords.gov.in"):
        expect(results).not_to_contain_text(hidden)
    expect(results).to_contain_text("Verified government user")
    check_page(page, "directory-results")

    results.get_by_role("link", name="Asha Kulkarni").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Asha Kulkarni")
    main = page.locator("main")
    for shown in ("Circle Officer", home.name, "+919822012345", "Verified government user"):
        expect(main).to_contain_text(shown)
    for hidden in ("Survey Section", "LR-20417", "asha.kulkarni@landrecords.gov.in"):
        expect(main).not_to_contain_text(hidden)
    assert page.url.endswith(f"/people/{profile.pk}/")
    check_page(page, "person")

    # --- A search by a detail they may not see finds nobody -----------------------------------------
    nav(page, "People")
    page.get_by_label("Search people").fill("LR-20417")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results")).to_contain_text("Nobody you may see matches")
    check_page(page, "directory-hidden-search")
    check_page.assert_clean()
