"""The yearly confirmation of an official address and the members list, in a real
browser (Chromium through Playwright), each page screenshotted and checked with
axe-core: the link from the mail delivered over SMTP opens the confirm page (no
account), the button confirms, the link used again says so, and an unknown or
expired link says why; an organisation admin limits the members list to verified
users and finds one by name, and accepts the name a member changed."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.privacy.requests import person_correct
from tests.browser.support import sign_in, switch_language, wait_for_message
from tests.factories import OrganisationFactory, UserFactory
from tests.smtp import text_of
from tests.verification.helpers import GovernmentProfileFactory, make_admin
from verification import tasks
from verification.models import AddressConfirmation, GovernmentProfile, VerificationStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def office():
    return OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")


def _mailed_confirmation_link(office, smtp_server):
    """A verification a year old, and the link of the yearly confirmation mailed for it (over SMTP)."""
    verified_at = timezone.now() - timedelta(days=366)
    profile = GovernmentProfileFactory(organisation=office, status=VerificationStatus.VERIFIED,
                                       official_email="asha.k@pune.mahaagri.gov.in", verified_at=verified_at)
    tasks.address_reconfirmation()
    message = wait_for_message(smtp_server, lambda m: "asha.k@pune.mahaagri.gov.in" in m["To"])
    return profile, re.search(r"http://\S+/verification/confirm/\S+/", text_of(message)).group(0)


def test_confirming_the_official_address_from_the_mailed_link(portal, page, check_page, smtp_server, office):
    profile, link = _mailed_confirmation_link(office, smtp_server)

    page.goto(link)
    expect(page).to_have_url(re.compile(r"/verification/confirm/$"))  # the token left the address bar
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your official address")
    check_page(page, "confirm")
    page.get_by_role("button", name="Yes, this address reaches me").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your official address is confirmed")
    check_page(page, "confirmed")
    assert GovernmentProfile.objects.get(pk=profile.pk).confirmation_requested_at is None

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has already been used")
    check_page(page, "used")
    # A page a link opens reads in the person's language: the header's switch works there
    # (under "no-referrer" the browser sent "Origin: null" and the switch was refused, 403).
    switch_language(page, "hi")
    expect(page.get_by_role("heading", level=1)).not_to_have_text("This link has already been used")
    check_page(page, "used-hi")
    switch_language(page, "en")
    page.goto(f"{portal}/verification/confirm/{'A' * 43}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")
    check_page(page, "unknown")
    AddressConfirmation.objects.filter(profile=profile).update(used_at=None, expires_at=timezone.now())
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has expired")
    check_page(page, "expired")
    check_page.assert_clean()


def test_an_admin_limits_the_members_to_verified_users(portal, page, check_page, office):
    admin = make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    for name, status in (("Vijay Verified", VerificationStatus.VERIFIED), ("Sunita Suspended", VerificationStatus.SUSPENDED)):
        GovernmentProfileFactory(organisation=office, status=status,
                                 user=UserFactory(full_name=name, email=f"{name.split()[0].lower()}@pune.mahaagri.gov.in"))
    sign_in(page, portal, admin.email)
    page.goto(f"{portal}/verification/organisations/{office.pk}/members/")
    check_page(page, "members")
    page.get_by_label("Verified only (leave out suspended)").check()
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("table")).to_contain_text("Vijay Verified")
    expect(page.get_by_role("table")).not_to_contain_text("Sunita Suspended")
    check_page(page, "members-verified-only")
    page.get_by_label("Name or email address").fill("nobody")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No member matches.")).to_be_visible()
    check_page(page, "members-none")
    check_page.assert_clean()


def test_an_admin_sees_a_name_a_member_changed_and_accepts_it(portal, page, check_page, office):
    """A verified member renames themselves: the members list shows both names, and the
    person's page accepts the new one, which is then the name shown."""
    admin = make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    member = UserFactory(full_name="Asha Kulkarni", email="asha@pune.mahaagri.gov.in")
    profile = GovernmentProfileFactory(organisation=office, status=VerificationStatus.VERIFIED, user=member)
    person_correct(user=member, full_name="Asha Deshmukh")
    sign_in(page, portal, admin.email)
    page.goto(f"{portal}/verification/organisations/{office.pk}/members/")
    expect(page.get_by_role("table")).to_contain_text(
        "Name changed by the person: Asha Deshmukh; the directory shows Asha Kulkarni.")
    check_page(page, "members-name-changed")
    page.get_by_role("link", name=re.compile("^Open")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Asha Kulkarni")
    check_page(page, "profile-name-changed")
    page.get_by_role("button", name="Accept the new name").click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", level=1)).to_have_text("Asha Deshmukh")
    expect(page.get_by_text("The new name was accepted")).to_be_visible()
    check_page(page, "profile-name-accepted")
    assert GovernmentProfile.objects.get(pk=profile.pk).verified_name == "Asha Deshmukh"
    check_page.assert_clean()


def test_a_link_past_superannuation_and_a_suspended_offices_queue(portal, page, check_page, smtp_server, office):
    """The link of a verification past its date of superannuation (before the hourly job
    revokes it) confirms nothing: the page says there is nothing to confirm. The office
    suspended, its own admin still finds its requests from their verification page."""
    profile, link = _mailed_confirmation_link(office, smtp_server)
    GovernmentProfile.objects.filter(pk=profile.pk).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("There is nothing to confirm")
    check_page(page, "closed-past-superannuation")

    admin = make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    GovernmentProfileFactory(organisation=office, designation="Waiting clerk")
    type(office).objects.filter(pk=office.pk).update(status="suspended")
    sign_in(page, portal, admin.email)
    page.goto(f"{portal}/verification/")
    page.get_by_role("link", name=f"Requests {office.name}").click()
    expect(page.get_by_role("table")).to_contain_text("Waiting clerk")
    check_page.in_each_language(page, "queue-of-a-suspended-office")
    check_page.assert_clean()


@pytest.mark.parametrize("state", ["valid", "expired", "confirmed"])
def test_an_invitation_link_reads_in_the_language_chosen_on_its_page(portal, page, check_page, office, state):
    """The invitation link's page (how to accept, or why it no longer works) is often read
    by someone who wants it in Hindi or Marathi: the header's language switch works there,
    the token staying in the address bar it was opened with. Signed in with the invited
    address confirmed on the account already ("confirmed"), the page accepts it."""
    from verification.rosters.models import Invitation
    from verification.rosters.tokens import token_new

    token, digest = token_new()
    now = timezone.now()
    Invitation.objects.create(
        organisation=office, email="ravi.p@pune.mahaagri.gov.in", name="Ravi Patil", designation="Clerk",
        office="Establishment", employee_code="E00001", mobile="+919876500001", token_hash=digest,
        invited_by=make_admin(office, email="admin@pune.mahaagri.gov.in"), created_at=now, sent_at=now,
        expires_at=now + timedelta(days=-1 if state == "expired" else 14))
    if state == "confirmed":
        sign_in(page, portal, UserFactory(email="ravi.p@pune.mahaagri.gov.in", full_name="Ravi Patil").email)
    page.goto(f"{portal}/verification/invitations/{token}/")
    english = page.get_by_role("heading", level=1).inner_text()
    check_page(page, f"invitation-{state}")
    for language in ("hi", "mr"):
        switch_language(page, language)
        expect(page.get_by_role("heading", level=1)).not_to_have_text(english)
        check_page(page, f"invitation-{state}-{language}")
    if state == "confirmed":
        page.locator("main form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/verification/$"))
        expect(page.locator(".alert")).to_have_count(1)
        check_page(page, "invitation-accepted-on-its-page-mr")
    check_page.assert_clean()
