"""What verifying a request ends elsewhere, told before it is done: an admin role the person
holds in another organisation (their office's first admin, outside its line; or one resting
on a verification they hold there) ends for good when another organisation verifies them.
The administrator deciding is told which, on the request's page (and asked to confirm) and
on the queue's confirmation; and the person whose other request that ended is told why."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from portal.organisations.models import Membership, MembershipRole
from tests.factories import UserFactory
from tests.html_tree import parse
from tests.verification.helpers import GovernmentProfileFactory, make_admin, signed_in
from verification import services
from verification.models import VerificationStatus

pytestmark = pytest.mark.django_db

OFFICE = "District Agriculture Office, Pune"


def confirmed(user):
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    return user


def first_admin_asking_elsewhere(world):
    """The office's first admin (as organisation_activate makes one: the role rests on the
    approved application) asks the unrelated directorate, at an address official for both
    (mail.gov.in: no organisation's own domain). The office keeps another admin."""
    first = confirmed(make_admin(world["office"], email="ravi@mail.gov.in", full_name="Ravi Patil"))
    return first, GovernmentProfileFactory(user=first, organisation=world["other"])


def admin_on_a_verification_asking_elsewhere(world):
    """Verified in the office, granted its admin role on that verification, asking the directorate."""
    person = confirmed(UserFactory(email="meena@mail.gov.in", full_name="Meena Joshi"))
    GovernmentProfileFactory(user=person, organisation=world["office"], status=VerificationStatus.VERIFIED)
    Membership.objects.create(organisation=world["office"], user=person, role=MembershipRole.ADMIN,
                              granted_by=world["admin_office"], granted_at=timezone.now())
    return person, GovernmentProfileFactory(user=person, organisation=world["other"])


def office_admin(world, user):
    return Membership.objects.filter(user=user, organisation=world["office"], role=MembershipRole.ADMIN,
                                     is_active=True).exists()


def main_of(response):
    return parse(response.content.decode()).find("main")


@pytest.mark.parametrize("asking", [first_admin_asking_elsewhere, admin_on_a_verification_asking_elsewhere])
def test_the_request_page_names_the_admin_role_verifying_ends_and_asks_to_confirm(world, asking):
    person, request_ = asking(world)
    client = signed_in(world["admin_other"])
    warning = main_of(client.get(f"/verification/profiles/{request_.pk}/")).find(id="admin-roles-end")
    assert warning is not None
    assert warning.squashed_text() == (
        "Verifying this person here also ends an admin role they hold; the role does not come back: "
        f"Admin of {OFFICE}")
    response = client.post(f"/verification/profiles/{request_.pk}/", {"decision": "verify",
                                                                      "shown_name": person.full_name})
    assert response.status_code == 200
    assert response.context["form"].errors["confirm"] == ["Tick the box to confirm the decision."]
    request_.refresh_from_db()
    assert request_.status == VerificationStatus.PENDING and office_admin(world, person)
    response = client.post(f"/verification/profiles/{request_.pk}/", {"decision": "verify", "confirm": "on",
                                                                      "shown_name": person.full_name})
    assert response.status_code == 302
    request_.refresh_from_db()
    assert request_.status == VerificationStatus.VERIFIED and not office_admin(world, person)


def test_a_role_above_resting_on_a_first_admins_role_is_named_too_on_the_request_and_the_join_page(world):
    """The office's first admin was also granted the department's admin role above it, which
    rests on the office's: verifying them in the unrelated directorate ends both. The
    request's page named the office's only (and so did the person's join page)."""
    person, request_ = first_admin_asking_elsewhere(world)
    Membership.objects.create(organisation=world["parent"], user=person, role=MembershipRole.ADMIN,
                              granted_by=world["admin_parent"], granted_at=timezone.now())
    department = world["parent"].name
    client = signed_in(world["admin_other"])
    warning = main_of(client.get(f"/verification/profiles/{request_.pk}/")).find(id="admin-roles-end")
    assert [item.squashed_text() for item in warning.find_all("li")] == [f"Admin of {OFFICE}", f"Admin of {department}"]
    request_.delete()
    join = main_of(signed_in(person).get(f"/verification/organisations/{world['other'].pk}/join/"))
    said = join.find(id="ending-elsewhere").squashed_text()
    assert f"ends your admin role in {OFFICE}, which you hold as its first admin" in said
    assert (f"ends your admin role in {department}, granted to you as an admin of an office below it whose role ends "
            "too; the role does not come back.") in said
    request_ = GovernmentProfileFactory(user=person, organisation=world["other"])
    assert client.post(f"/verification/profiles/{request_.pk}/", {"decision": "verify", "confirm": "on",
                                                                  "shown_name": person.full_name}).status_code == 302
    assert not Membership.objects.filter(user=person, role=MembershipRole.ADMIN, is_active=True).exists()


def test_a_role_resting_on_a_verification_elsewhere_past_its_superannuation_is_named_too(world):
    """Verified in the office past their date of superannuation, not yet written down by the
    hourly job, and admin there on that verification: verifying them in the directorate ends
    that verification and the role, and the request's page named nothing."""
    person = confirmed(UserFactory(email="meena@mail.gov.in", full_name="Meena Joshi"))
    GovernmentProfileFactory(user=person, organisation=world["office"], status=VerificationStatus.VERIFIED,
                             superannuation_date=timezone.localdate() - timedelta(days=1))
    Membership.objects.create(organisation=world["office"], user=person, role=MembershipRole.ADMIN,
                              granted_by=world["admin_office"], granted_at=timezone.now())
    request_ = GovernmentProfileFactory(user=person, organisation=world["other"])
    client = signed_in(world["admin_other"])
    warning = main_of(client.get(f"/verification/profiles/{request_.pk}/")).find(id="admin-roles-end")
    assert [item.squashed_text() for item in warning.find_all("li")] == [f"Admin of {OFFICE}"]
    assert client.post(f"/verification/profiles/{request_.pk}/", {"decision": "verify", "confirm": "on",
                                                                  "shown_name": person.full_name}).status_code == 302
    assert not office_admin(world, person)


def test_a_request_of_someone_holding_no_admin_role_asks_no_confirmation_to_verify(world):
    person = confirmed(UserFactory(email="asha@mail.gov.in", full_name="Asha K"))
    request_ = GovernmentProfileFactory(user=person, organisation=world["other"])
    client = signed_in(world["admin_other"])
    assert main_of(client.get(f"/verification/profiles/{request_.pk}/")).find(id="admin-roles-end") is None
    assert client.post(f"/verification/profiles/{request_.pk}/", {"decision": "verify",
                                                                  "shown_name": person.full_name}).status_code == 302
    request_.refresh_from_db()
    assert request_.status == VerificationStatus.VERIFIED


def test_the_queues_confirmation_names_the_admin_roles_verifying_ends(world):
    _first, first_request = first_admin_asking_elsewhere(world)
    _person, held_request = admin_on_a_verification_asking_elsewhere(world)
    plain = GovernmentProfileFactory(user=confirmed(UserFactory(email="asha@mail.gov.in")), organisation=world["other"])
    response = signed_in(world["admin_other"]).post("/verification/queue/decide/", {
        "profile": [first_request.pk, held_request.pk, plain.pk], "decision": "verify"})
    items = {item.find("input").get("value"): item.squashed_text() for item in main_of(response).find("ul").find_all("li")}
    for request_ in (first_request, held_request):
        assert f"Verifying here ends their admin role, for good, in: {OFFICE}" in items[str(request_.pk)]
    assert "admin role" not in items[str(plain.pk)]


def test_a_request_ended_by_a_verification_elsewhere_says_why_on_the_persons_page(world):
    """The person asked the office and the directorate; the directorate verified them, which
    ended the office's request. Their page listed it as "Withdrawn", with nothing more: they
    withdrew nothing."""
    person = confirmed(UserFactory(email="meena@mail.gov.in", full_name="Meena Joshi"))
    GovernmentProfileFactory(user=person, organisation=world["office"])
    there = GovernmentProfileFactory(user=person, organisation=world["other"])
    services.join_request_decide(profile_id=there.pk, decision="verify", actor=world["admin_other"])
    withdrawn = GovernmentProfileFactory(user=person, organisation=world["parent"])
    services.join_request_withdraw(profile_id=withdrawn.pk, actor=person)
    rows = {}
    for row in main_of(signed_in(person).get("/verification/")).find("tbody").find_all("tr"):
        cells = [cell.squashed_text() for cell in row.find_all("td")]
        rows[cells[0]] = cells[3]
    assert rows[OFFICE].endswith("Ended when the person was verified in another organisation.")
    assert "." not in rows[world["parent"].name].split(",")[-1]  # withdrawn by the person: the date only
