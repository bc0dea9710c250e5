"""Verified versus public users on the verification pages: a badge wherever a person
is shown, nobody but the organisation's admins lists its members (public users and
its own verified members included), and the member list limited to verified users
or to a name, with constant query counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.organisations.models import Organisation, OrganisationStatus
from tests.factories import UserFactory
from tests.html_tree import parse
from tests.verification.helpers import GovernmentProfileFactory, contacts_shown_to_verified_users, signed_in
from verification.models import GovernmentProfile, VerificationStatus

pytestmark = pytest.mark.django_db

PUBLIC_BADGE = "Public user"
VERIFIED_BADGE = "Verified government user"


def members_url(world, query=""):
    return f"/verification/organisations/{world['office'].pk}/members/{query}"


@pytest.fixture
def people(world):
    return {
        "verified": GovernmentProfileFactory(organisation=world["office"], status=VerificationStatus.VERIFIED,
                                             user=UserFactory(full_name="Vijay Verified", email="vijay@pune.mahaagri.gov.in")),
        "suspended": GovernmentProfileFactory(organisation=world["office"], status=VerificationStatus.SUSPENDED,
                                              user=UserFactory(full_name="Sunita Suspended", email="sunita@pune.mahaagri.gov.in")),
        "pending": GovernmentProfileFactory(organisation=world["office"], user=world["public"]),
    }


@pytest.mark.parametrize("who", ["public", "person", "admin_other", "auditor"])
def test_nobody_but_its_admins_lists_an_organisations_members(world, people, who):
    response = signed_in(world[who]).get(members_url(world))
    assert response.status_code in (403, 404)
    assert "Vijay Verified" not in response.content.decode()


def test_not_even_a_verified_member_of_the_organisation_lists_its_members(world, people):
    assert signed_in(people["verified"].user).get(members_url(world)).status_code == 404


def test_the_member_list_can_be_limited_to_verified_users(world, people):
    admin = signed_in(world["admin_office"])
    everyone = admin.get(members_url(world)).content.decode()
    assert "Vijay Verified" in everyone and "Sunita Suspended" in everyone
    verified = admin.get(members_url(world, "?verified_only=on")).content.decode()
    assert "Vijay Verified" in verified and "Sunita Suspended" not in verified
    assert "checked" in parse(verified).find("input", name="verified_only").attrs


def test_a_verification_past_its_superannuation_is_not_listed_among_the_verified_only(world, people):
    """The day after superannuation a verification is over, whether or not the hourly job has
    written it down yet: "Verified only" listed such a member until it had."""
    GovernmentProfile.objects.filter(pk=people["verified"].pk).update(
        superannuation_date=timezone.localdate() - timedelta(days=1))
    admin = signed_in(world["admin_office"])
    assert "Vijay Verified" in admin.get(members_url(world)).content.decode()
    verified = admin.get(members_url(world, "?verified_only=on")).content.decode()
    assert "Vijay Verified" not in verified
    GovernmentProfile.objects.filter(pk=people["verified"].pk).update(superannuation_date=timezone.localdate())
    assert "Vijay Verified" in admin.get(members_url(world, "?verified_only=on")).content.decode()


def test_a_verification_of_a_closed_account_is_not_listed_among_the_verified_only(world, people):
    """An account deactivated is vouched for by nobody while it is (verified_in_force): its row
    says "Public user" and "No longer counts", and "Verified only" listed it all the same."""
    account = people["verified"].user
    type(account).objects.filter(pk=account.pk).update(is_active=False)
    admin = signed_in(world["admin_office"])
    assert "Vijay Verified" in admin.get(members_url(world)).content.decode()
    assert "Vijay Verified" not in admin.get(members_url(world, "?verified_only=on")).content.decode()
    type(account).objects.filter(pk=account.pk).update(is_active=True)
    assert "Vijay Verified" in admin.get(members_url(world, "?verified_only=on")).content.decode()


@pytest.mark.parametrize("query, found", [("vijay", ["Vijay Verified"]), ("SUNITA@PUNE", ["Sunita Suspended"]),
                                          ("nobody", []), ("vij", ["Vijay Verified"]),
                                          ("\u200bvij\u00aday", ["Vijay Verified"])])
def test_members_are_found_by_name_or_address(world, people, query, found):
    html = signed_in(world["admin_office"]).get(members_url(world, f"?q={query}")).content.decode()
    rows = parse(html).find("tbody")
    names = sorted(name for name in ("Vijay Verified", "Sunita Suspended") if rows and name in rows.text())
    assert names == found
    if not found:
        assert "No member matches." in html


@pytest.mark.parametrize(("query", "said"), [
    ("v", "Type at least 3 characters to search."), (" z ", "Type at least 3 characters to search."),
    ("vi", "Type at least 3 characters to search."),
    ("v.i.j", "Type a word of at least 3 letters or digits to search: a part of a name or an email address."),
    ("x" * 101, "Ensure this value has at most 100 characters"),
])
def test_a_search_the_field_refuses_is_said_there_and_lists_nobody_as_matching(world, people, query, said):
    """A search of fewer than three characters, or without a word of three letters or digits
    (which the indexes the search reads by cannot look up), or over the field's limit is
    refused at the field, as the directory's is; nobody is listed as if they matched it,
    and the way to everyone is offered."""
    html = signed_in(world["admin_office"]).get(members_url(world), {"q": query}).content.decode()
    tree = parse(html)
    assert said in tree.by_id("id_q_error").squashed_text()
    assert "A word of at least three letters or digits of a name or an email address." in html  # the field's help
    assert "Vijay Verified" not in html and "Sunita Suspended" not in html
    assert "No member is listed until the search marked above is corrected." in html
    assert "No member matches." not in html
    assert tree.find("a", href=members_url(world)).squashed_text() == "Show everyone"


def test_every_person_shown_has_a_badge(world, people):
    admin = signed_in(world["admin_office"])
    members = admin.get(members_url(world)).content.decode()
    assert members.count(VERIFIED_BADGE) == 1 and members.count(PUBLIC_BADGE) == 1  # the suspended one is public meanwhile
    queue = admin.get("/verification/queue/").content.decode()
    assert PUBLIC_BADGE in queue
    confirm = admin.post("/verification/queue/decide/", {"profile": [people["pending"].pk], "decision": "verify"})
    assert PUBLIC_BADGE in confirm.content.decode()
    for action in ("suspend", "revoke"):
        page = admin.get(f"/verification/profiles/{people['verified'].pk}/{action}/").content.decode()
        assert VERIFIED_BADGE in page
    page = admin.get(f"/verification/profiles/{people['suspended'].pk}/reinstate/").content.decode()
    assert PUBLIC_BADGE in page
    detail = admin.get(f"/verification/profiles/{people['verified'].pk}/").content.decode()
    assert VERIFIED_BADGE in detail
    assert PUBLIC_BADGE in signed_in(world["public"]).get("/verification/").content.decode()
    assert VERIFIED_BADGE in signed_in(people["verified"].user).get("/verification/").content.decode()


# Members limited: the same 6 queries as the whole list (tests/verification/
# test_query_counts.py): 3 the organisation, 4 the viewer for the visibility rules, 5 the
# count, 6 the page with its badges and each detail's audience; searched, one more first:
# the matches of each field searched, read by their indexes (selectors._member_candidates).
@pytest.mark.parametrize("n", [1, 60])
@pytest.mark.parametrize("query", ["?verified_only=on", "?q=member", "?q=member&verified_only=on&page=2"])
def test_filtered_members_query_count(world, n, query, django_assert_num_queries):
    for i in range(n):
        GovernmentProfileFactory(organisation=world["office"], user=UserFactory(email=f"member{i}@pune.mahaagri.gov.in"),
                                 status=VerificationStatus.VERIFIED)
    GovernmentProfileFactory(organisation=world["office"], user=UserFactory(email="member.s@pune.mahaagri.gov.in"),
                             status=VerificationStatus.SUSPENDED)
    admin = signed_in(world["admin_parent"])
    admin.get(members_url(world, query))
    with django_assert_num_queries(7 if "q=" in query else 6):
        response = admin.get(members_url(world, query))
    assert response.status_code == 200


@pytest.mark.parametrize("how", ["past superannuation", "organisation suspended"])
def test_a_lapsed_verification_elsewhere_is_no_verified_badge_for_the_deciding_admin(world, how):
    """A verification that has lapsed (the day after superannuation, or its organisation
    suspended) counts at once, before the hourly job writes it down: the admins deciding
    the person's request elsewhere are not told the person is a verified government user;
    past superannuation, not that they are verified in another organisation either."""
    person = world["person"]
    held = GovernmentProfileFactory(user=person, organisation=world["other"], status=VerificationStatus.VERIFIED)
    request = GovernmentProfileFactory(user=person, organisation=world["office"], status=VerificationStatus.PENDING)
    admin = signed_in(world["admin_office"])
    assert VERIFIED_BADGE in admin.get(f"/verification/profiles/{request.pk}/").content.decode()
    if how == "past superannuation":
        GovernmentProfile.objects.filter(pk=held.pk).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    else:
        Organisation.objects.filter(pk=world["other"].pk).update(status=OrganisationStatus.SUSPENDED)
    elsewhere = {f"/verification/profiles/{request.pk}/": "This person is verified in another organisation",
                 "/verification/queue/": ">Verified in another organisation<"}
    for url, words in elsewhere.items():
        html = admin.get(url).content.decode()
        assert VERIFIED_BADGE not in html and PUBLIC_BADGE in html, url
        # One in a suspended organisation is still held: verifying the person here ends it.
        assert (words in html) is (how == "organisation suspended"), url


def test_a_lapsed_verification_elsewhere_is_no_other_holder_of_the_mobile_number(world):
    """The warning that another verified government user gave the same mobile number (as
    the API would answer nobody for it) counts verifications in force, as the API does:
    not one past its date of superannuation."""
    retired = UserFactory(email="old.officer@karhealth.gov.in", full_name="Old Officer")
    held = GovernmentProfileFactory(user=retired, organisation=world["other"], status=VerificationStatus.VERIFIED,
                                    mobile="+919876543210")
    contacts_shown_to_verified_users(world["other"])
    request = GovernmentProfileFactory(user=world["person"], organisation=world["office"], mobile="+919876543210")
    admin = signed_in(world["admin_office"])
    warning = "Another verified government user gave this mobile number"
    assert warning in admin.get(f"/verification/profiles/{request.pk}/").content.decode()
    GovernmentProfile.objects.filter(pk=held.pk).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    assert warning not in admin.get(f"/verification/profiles/{request.pk}/").content.decode()


def test_the_admins_of_a_department_see_on_its_pages_what_admins_see_of_a_member_of_a_suspended_office(world):
    """A suspended office vouches for nobody, but the department's admins reach its
    members' pages by their right over it: they see what administrators see (the mobile
    number, the employee code), not "hidden by the person's or organisation's choice"."""
    member = GovernmentProfileFactory(user=world["person"], organisation=world["office"],
                                      status=VerificationStatus.VERIFIED, mobile="+919812345670",
                                      employee_code="EMP-QZ-7731")
    Organisation.objects.filter(pk=world["office"].pk).update(status=OrganisationStatus.SUSPENDED)
    html = signed_in(world["admin_parent"]).get(f"/verification/profiles/{member.pk}/").content.decode()
    assert "+919812345670" in html and "EMP-QZ-7731" in html
    assert "Hidden by the person" not in html
