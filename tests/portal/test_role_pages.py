"""The role pages through Django's test client: every role against every object-level
URL of its own organisation and of another (gathered from the URL configuration, so a
new page that takes an organisation is covered without being listed here), the grant
and revoke pages with their confirmation steps and refusals, the report and its CSV,
the navigation, and the query counts of the lists at two sizes."""

import csv
import io
from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.db.models.expressions import RawSQL
from django.db.utils import ConnectionHandler
from django.test import Client
from django.urls import get_resolver
from django.utils import timezone

from portal.audit.models import AuditAction, AuditEvent
from portal.limits import shown_from
from portal.mail.models import OutboxMessage
from portal.organisations import role_selectors
from portal.organisations.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationDomain,
    PlatformRoleGrant,
    in_force_q,
)
from portal.organisations.names import seen_name
from portal.organisations.services import organisation_admin_grant
from portal.permissions import signed_in_user
from tests.factories import OrganisationFactory, PlatformRoleFactory, UserFactory
from tests.html_tree import field_error, html_problems, parse
from tests.portal.role_helpers import ROLES, client_of, make_admin, make_member
from tests.portal.test_routes import is_ours, walk
from tests.verification.helpers import GovernmentProfileFactory
from verification.models import VerificationStatus
from verification.visibility.models import Audience, PersonalVisibility, VisibilityPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(roles_world):
    return roles_world


# The matrix: every role against every page of one organisation ---------------------------------

ORGANISATION_ROUTE = "organisations/<int:pk>/"


def organisation_routes():
    """(route, access rule) of every page of ours that takes an organisation's pk."""
    return sorted(
        ("/" + route, pattern.callback.access_rule)
        for route, pattern, trail in walk(get_resolver().url_patterns)
        if is_ours(pattern, trail) and ORGANISATION_ROUTE in route
    )


def url_for(route, organisation, admin):
    """The route filled for ``organisation``: its pk, and any other parameter from what
    the organisation has (its admin for a user). A parameter not known here fails the
    test, so that a new kind of page is looked at, not skipped."""
    url = route.replace("<int:pk>", str(organisation.pk))
    if "<int:domain_pk>" in url:  # one of the organisation's email domains
        domain, _ = OrganisationDomain.objects.get_or_create(
            organisation=organisation, defaults={"domain": f"{organisation.short_code.lower()}.gov.in"})
        url = url.replace("<int:domain_pk>", str(domain.pk))
    assert "<" not in url, f"{route}: a parameter the matrix does not know how to fill"
    return url + (f"?user={admin.pk}" if url.endswith("/revoke/") else "")


# Who administers (office, other): an organisation's admins, those of an organisation
# above it, and superadmins. Everyone else gets 404 from an administrator's page:
# whether the organisation exists is not said.
ADMINISTERS = {
    "superadmin": (True, True),
    "admin_office": (True, False),
    "admin_parent": (True, False),
    "admin_other": (False, True),
}
# Who suspends and reactivates (office, other): superadmins, and the administrators of its
# state; a state administrator of another state gets 404, anyone with no such role 403.
CHANGES_STATUS = {
    "superadmin": (True, True),
    "state_admin_mh": (True, False),
    "state_admin_ka": (False, True),
}
EXPECTED_BY_RULE = {
    # rule: (who is allowed) -> status for those allowed, status for the others
    "authenticated": lambda who, where: 200,
    # An organisation's email domains are added and removed, and it is moved, by superadmins alone.
    "superadmin": lambda who, where: 200 if who == "superadmin" else 403,
    "administrator_of_organisation": lambda who, where: 200 if ADMINISTERS.get(who, (False, False))[where] else 404,
    "organisation_status": lambda who, where: (200 if CHANGES_STATUS[who][where] else 404) if who in CHANGES_STATUS
    else 403,
    # An organisation's details: those who change its status change them, those who administer it read them.
    "organisation_details": lambda who, where: (
        200 if CHANGES_STATUS.get(who, (False, False))[where] or ADMINISTERS.get(who, (False, False))[where] else 404)
    if who in CHANGES_STATUS or who in ADMINISTERS else 403,
}


# What a page answers beyond its rule: (route, role) -> status.
EXCEPTIONS = {
    # An auditor's account is read-only: it may not ask to be verified.
    ("/verification/organisations/<int:pk>/join/", "auditor"): 403,
}


def test_the_matrix_covers_the_pages_of_verification_of_the_roles_and_of_an_organisations_status():
    routes = dict(organisation_routes())
    assert {"/verification/organisations/<int:pk>/members/", "/verification/organisations/<int:pk>/settings/",
            "/verification/organisations/<int:pk>/join/", "/portal/roles/organisations/<int:pk>/",
            "/portal/roles/organisations/<int:pk>/grant/",
            "/portal/roles/organisations/<int:pk>/revoke/", "/portal/organisations/<int:pk>/",
            "/portal/organisations/<int:pk>/suspend/", "/portal/organisations/<int:pk>/reactivate/",
            "/portal/organisations/<int:pk>/details/", "/portal/organisations/<int:pk>/move/",
            "/portal/organisations/<int:pk>/domains/add/",
            "/portal/organisations/<int:pk>/domains/<int:domain_pk>/remove/"} <= set(routes)
    unknown = {route: rule for route, rule in routes.items() if rule not in EXPECTED_BY_RULE}
    assert unknown == {}, "pages with an access rule the matrix has no expectation for"


def _answer(client, url):
    """GET the page; a page that only takes POST is posted to, empty."""
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})
    return response


@pytest.mark.parametrize("who", ROLES)
def test_every_role_against_every_page_of_its_organisation_and_another(world, who):
    client = client_of(world, who)
    grant_to = {"office": world["member"], "other": world["member_other"]}
    admins = {"office": world["admin_office"], "other": world["admin_other"]}
    seen = []
    for route, rule in organisation_routes():
        for index, where in enumerate(("office", "other")):
            organisation = world[where]
            url = url_for(route, organisation, admins[where])
            if route.endswith("/grant/"):
                url += f"?user={grant_to[where].pk}"
            response = _answer(client, url)
            if who == "anonymous":
                assert response.status_code == 302 and "/accounts/login/" in response["Location"], (url, who)
                continue
            expected = EXCEPTIONS.get((route, who)) or EXPECTED_BY_RULE[rule](who, index)
            if expected == 200 and response.status_code == 302:
                expected = 302  # a POST-only page, acted on: sent back where it belongs
            assert response.status_code == expected, (url, who, response.status_code)
            seen.append(url)
    assert len(seen) >= (0 if who == "anonymous" else 12)


@pytest.mark.parametrize("who", [w for w in ROLES if w not in ("superadmin", "admin_office", "admin_parent")])
def test_posting_to_the_office_roles_pages_changes_nothing_for_others(world, who):
    client = client_of(world, who)
    office = world["office"]
    before = list(Membership.objects.order_by("pk").values_list("pk", "role", "is_active"))
    posts = [
        (f"/portal/roles/organisations/{office.pk}/grant/", {"user": world["member"].pk, "reason": "x", "step": "confirm"}),
        (f"/portal/roles/organisations/{office.pk}/revoke/",
         {"user": world["admin_office"].pk, "reason": "x", "confirm": "on"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code in {302, 404}, url
    assert list(Membership.objects.order_by("pk").values_list("pk", "role", "is_active")) == before
    assert not AuditEvent.objects.exists()


SUPERADMIN_PAGES = ["/portal/roles/platform/grant/", "/portal/roles/platform/{grant}/revoke/"]


@pytest.mark.parametrize("who", ROLES)
def test_the_platform_role_pages_are_a_superadmins(world, who):
    grant = PlatformRoleGrant.objects.get(user=world["state_admin_ka"])
    client = client_of(world, who)
    for url in SUPERADMIN_PAGES:
        response = client.get(url.format(grant=grant.pk))
        if who == "anonymous":
            assert response.status_code == 302
        else:
            assert response.status_code == (200 if who == "superadmin" else 403), (url, who)
    response = client.post(f"/portal/roles/platform/{grant.pk}/revoke/", {"reason": "x", "confirm": "on"})
    assert PlatformRoleGrant.objects.get(pk=grant.pk).revoked_at is None or who == "superadmin"


NAV = {  # who sees the Roles link, and where it goes
    "superadmin": "/portal/roles/",
    "admin_office": "/portal/roles/",
    "admin_parent": "/portal/roles/",
    "admin_other": "/portal/roles/",
    "state_admin_mh": "/portal/roles/report/",
    "state_admin_ka": "/portal/roles/report/",
    "auditor": "/portal/roles/report/",
}


@pytest.mark.parametrize("who", ROLES)
def test_the_navigation_leads_each_role_to_its_role_pages(world, who):
    html = client_of(world, who).get("/verification/").content.decode() if who != "anonymous" else \
        client_of(world, who).get("/").content.decode()
    link = NAV.get(who)
    if link is None:
        assert 'href="/portal/roles/' not in html
    else:
        assert f'<a class="nav-link" href="{link}">Roles</a>' in html
    home = client_of(world, who).get("/portal/roles/")
    expected = 200 if link == "/portal/roles/" else (302 if who == "anonymous" else 403)
    assert home.status_code == expected
    report = client_of(world, who).get("/portal/roles/report/")
    assert report.status_code == (200 if link else (302 if who == "anonymous" else 403))


# Granting and revoking platform roles ---------------------------------------------------------

def well_formed(response):
    assert response.status_code == 200
    problems = html_problems(response.content.decode())
    assert problems == [], problems
    return response.content.decode()


def test_a_superadmin_finds_a_person_and_grants_a_state_admin_role_after_confirming(world):
    client = client_of(world, "superadmin")
    person = UserFactory(email="ravi.patil@maharashtra.gov.in", full_name="Ravi Patil")
    page = well_formed(client.get("/portal/roles/platform/grant/"))
    assert "Email address" in page
    page = well_formed(client.get("/portal/roles/platform/grant/", {"email": "ra"}))
    assert "Ensure this value has at least 3 characters" in page  # too short to search by
    page = well_formed(client.get("/portal/roles/platform/grant/", {"email": "RAVI.pat"}))
    assert f'href="?user={person.pk}"' in page
    well_formed(client.get("/portal/roles/platform/grant/", {"user": person.pk}))
    last_day = timezone.localdate() + timedelta(days=90)
    data = {"user": person.pk, "role": "state_admin", "jurisdiction": "MH", "ends_on": last_day.isoformat(),
            "reason": "Posted to the IT cell of the state."}
    page = well_formed(client.post("/portal/roles/platform/grant/", {**data, "step": "review"}))
    assert "Check before you confirm" in page and "Maharashtra" in page and "Posted to the IT cell" in page
    assert not PlatformRoleGrant.objects.filter(user=person).exists()  # nothing until confirmed
    # Back to change it: what was typed is still there.
    page = well_formed(client.post("/portal/roles/platform/grant/", {**data, "step": "edit"}))
    assert "Posted to the IT cell of the state." in page and last_day.isoformat() in page
    response = client.post("/portal/roles/platform/grant/", {**data, "step": "confirm"})
    assert response.status_code == 302 and response["Location"] == "/portal/roles/"
    grant = PlatformRoleGrant.objects.get(user=person)
    assert (grant.role, grant.jurisdiction, grant.granted_by) == ("state_admin", "MH", world["superadmin"])
    assert timezone.localtime(grant.ends_at).date() == last_day + timedelta(days=1)
    [event] = AuditEvent.objects.filter(action=AuditAction.PLATFORM_ROLE_GRANTED)
    assert event.new_values["reason"] == "Posted to the IT cell of the state." and event.ip
    page = well_formed(client.get("/portal/roles/"))
    assert "ravi.patil@maharashtra.gov.in" in page and "is now State administrator (Maharashtra)" in page


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"role": "superadmin", "jurisdiction": "MH"}, "jurisdiction", "covers everywhere"),
    ({"role": "state_admin", "jurisdiction": ""}, "jurisdiction", "one state, union territory or the centre"),
    ({"ends_on": "2001-01-01"}, "ends_on", "cannot be in the past"),
    ({"ends_on": "2999-01-01"}, "ends_on", "at most ten years"),
    ({"ends_on": "31/31/2026"}, "ends_on", "Enter a valid date"),
    ({"reason": ""}, "reason", "This field is required"),
    ({"reason": "x" * 501}, "reason", "at most 500 characters"),
    ({"role": "emperor"}, "role", "Select a valid choice"),
    ({"jurisdiction": "XX"}, "jurisdiction", "Select a valid choice"),
])
def test_a_bad_grant_is_refused_at_its_field_and_keeps_what_was_typed(world, changes, field, message):
    client = client_of(world, "superadmin")
    person = world["public"]
    data = {"user": person.pk, "role": "auditor", "jurisdiction": "MH", "ends_on": "", "reason": "Audit of 2026.",
            "step": "review", **changes}
    page = well_formed(client.post("/portal/roles/platform/grant/", data))
    assert f'id="id_{field}_error"' in page and message in page
    if field != "reason":
        assert "Audit of 2026." in page
    assert not PlatformRoleGrant.objects.filter(user=person).exists()


@pytest.mark.parametrize(("today", "last_allowed"), [
    ("2026-12-05", "2036-12-05"), ("2028-02-29", "2038-02-28"), ("2027-03-01", "2037-03-01"),
])
def test_the_last_day_is_at_most_the_same_date_ten_years_on(today, last_allowed):
    """"At most ten years from today": the same date ten calendar years on (28 February for
    29 February) is the last day allowed, not one up to a week later (ten years of 366 days)."""
    import time_machine

    from portal.organisations.role_forms import AdminGrantForm

    def errors(day):
        form = AdminGrantForm({"ends_on": day.isoformat(), "reason": "Head of office."})
        form.is_valid()
        return form.errors.get("ends_on")

    with time_machine.travel(datetime.combine(date.fromisoformat(today), time(12), tzinfo=timezone.get_default_timezone()),
                             tick=False):
        last = date.fromisoformat(last_allowed)
        assert errors(last) is None
        assert "at most ten years" in str(errors(last + timedelta(days=1)))


def test_a_superadmin_cannot_grant_or_revoke_their_own_role_from_the_pages(world):
    root = world["superadmin"]
    client = client_of(world, "superadmin")
    page = well_formed(client.get("/portal/roles/platform/grant/", {"user": root.pk}))
    assert "of their own" in page and 'name="step"' not in page
    response = client.post("/portal/roles/platform/grant/", {"user": root.pk, "role": "auditor", "jurisdiction": "",
                                                             "reason": "x", "step": "confirm"})
    assert response.status_code == 200 and PlatformRoleGrant.objects.filter(user=root).count() == 1
    own = PlatformRoleGrant.objects.get(user=root)
    page = well_formed(client.get(f"/portal/roles/platform/{own.pk}/revoke/"))
    assert "of their own" in page
    client.post(f"/portal/roles/platform/{own.pk}/revoke/", {"reason": "x", "confirm": "on"})
    own.refresh_from_db()
    assert own.revoked_at is None


def test_a_superadmin_revokes_a_platform_role_with_a_reason_after_confirming(world):
    client = client_of(world, "superadmin")
    grant = PlatformRoleGrant.objects.get(user=world["state_admin_ka"])
    url = f"/portal/roles/platform/{grant.pk}/revoke/"
    page = well_formed(client.get(url))
    assert "state.admin@karnataka.gov.in" in page and "Karnataka" in page
    page = well_formed(client.post(url, {"reason": "Transferred to the centre."}))  # not confirmed
    assert 'id="id_confirm_error"' in page and "Transferred to the centre." in page
    grant.refresh_from_db()
    assert grant.revoked_at is None
    assert client.post(url, {"reason": "Transferred to the centre.", "confirm": "on"}).status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    # Gone from the list; its page says it ended, and by whom.
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == "/portal/roles/"
    assert "This role had already ended" in well_formed(client.get("/portal/roles/"))


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_revoke_pages_say_the_holder_is_told_by_email_with_the_reason(world, language):
    """The reason typed on a revoke page is sent to the person whose role ends, in the mail
    that tells them: both pages say so before it is typed (it read as kept in the audit
    log only), and the mail carries it."""
    from django.utils import translation
    from django.utils.translation import gettext

    with translation.override(language):
        told = gettext("They are told by email, in their language, with your reason.")
        hint = gettext("Why the role is taken away: it is kept in the audit log, and sent to them in the email that "
                       "tells them. At most 500 characters.")
    assert language == "en" or told != "They are told by email, in their language, with your reason."
    grant = PlatformRoleGrant.objects.get(user=world["state_admin_ka"])
    office = world["office"]
    make_admin(office, email="deputy@pune.mahaagri.gov.in")
    for who, url in (("superadmin", f"/portal/roles/platform/{grant.pk}/revoke/"),
                     ("admin_parent", f"/portal/roles/organisations/{office.pk}/revoke/?user={world['admin_office'].pk}")):
        client = client_of(world, who)
        client.cookies["django_language"] = language
        shown = parse(well_formed(client.get(url))).find("main").squashed_text()
        assert told in shown and hint in shown, url
        assert client.post(url, {"reason": "Transferred to the centre.", "confirm": "on"}).status_code == 302
    for address in ("state.admin@karnataka.gov.in", "admin@pune.mahaagri.gov.in"):
        [message] = OutboxMessage.objects.filter(to=[address])
        assert "Transferred to the centre." in message.body
    # The reason a role is given for is sent to the person likewise.
    with translation.override(language):
        hint = gettext("Why the role is given: it is kept in the audit log, and sent to them in the email that tells "
                       "them. At most 500 characters.")
    client = client_of(world, "admin_parent")
    client.cookies["django_language"] = language
    grant_url = f"/portal/roles/organisations/{office.pk}/grant/?user={world['member'].pk}"
    assert hint in parse(well_formed(client.get(grant_url))).find("main").squashed_text()


def test_leaving_no_superadmin_whose_role_does_not_end_is_refused_on_the_pages(world):
    root = world["superadmin"]
    PlatformRoleGrant.objects.filter(user=root).update(ends_at=timezone.now() + timedelta(days=10))
    second = PlatformRoleFactory(role="superadmin", jurisdiction="", user__email="second.root@nic.in").user
    client = client_of(world, "superadmin")
    # An end date on the only superadmin role that does not end: refused at the last day.
    last_day = (timezone.localdate() + timedelta(days=30)).isoformat()
    data = {"user": second.pk, "role": "superadmin", "jurisdiction": "", "ends_on": last_day, "reason": "A term."}
    page = well_formed(client.post("/portal/roles/platform/grant/", {**data, "step": "confirm"}))
    assert 'id="id_ends_on_error"' in page and "no superadmin left whose role does not end" in page
    assert last_day in page and "A term." in page
    # Revoking it: refused above the form, the reason kept.
    grant = PlatformRoleGrant.objects.get(user=second)
    url = f"/portal/roles/platform/{grant.pk}/revoke/"
    page = well_formed(client.post(url, {"reason": "Left the department.", "confirm": "on"}))
    assert "no superadmin left whose role does not end" in page and "Left the department." in page
    grant.refresh_from_db()
    assert (grant.revoked_at, grant.ends_at) == (None, None)
    assert not AuditEvent.objects.filter(action__in=[AuditAction.PLATFORM_ROLE_GRANTED,
                                                     AuditAction.PLATFORM_ROLE_REVOKED]).exists()


def said(client, url):
    return " ".join(str(message) for message in client.get(url).context["messages"])


def test_revoking_a_platform_role_revoked_meanwhile_says_when_and_by_whom(world):
    from portal.organisations.services import platform_role_revoke

    other_root = PlatformRoleFactory(role="superadmin", jurisdiction="", user__email="second.root@nic.in").user
    grant = PlatformRoleGrant.objects.get(user=world["state_admin_ka"])
    client = client_of(world, "superadmin")
    url = f"/portal/roles/platform/{grant.pk}/revoke/"
    assert client.get(url).status_code == 200  # the page is opened ...
    platform_role_revoke(grant_id=grant.pk, reason="Transferred.", actor=other_root)  # ... another superadmin revokes
    response = client.post(url, {"reason": "Left the department on 3 March.", "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == "/portal/roles/"
    text = said(client, "/portal/roles/")
    assert "This role had already ended: state.admin@karnataka.gov.in was State administrator (Karnataka)" in text
    assert "when second.root@nic.in revoked it. Nothing was changed." in text
    assert AuditEvent.objects.filter(action=AuditAction.PLATFORM_ROLE_REVOKED).count() == 1
    # A grant that never existed is still not found.
    assert client.post("/portal/roles/platform/999999/revoke/", {"reason": "x", "confirm": "on"}).status_code == 404


def test_revoking_a_platform_role_past_its_end_date_says_it_ended(world):
    grant = PlatformRoleGrant.objects.get(user=world["auditor"])
    PlatformRoleGrant.objects.filter(pk=grant.pk).update(ends_at=timezone.now() - timedelta(days=1))
    client = client_of(world, "superadmin")
    response = client.get(f"/portal/roles/platform/{grant.pk}/revoke/")
    assert response.status_code == 302
    text = said(client, "/portal/roles/")
    assert "This role had already ended: auditor@nic.in was Auditor" in text and " when " not in text


def test_removing_an_admin_removed_meanwhile_says_when_and_by_whom(world):
    from portal.organisations.services import organisation_admin_revoke

    office = world["office"]
    make_admin(office, email="deputy@pune.mahaagri.gov.in")
    client = client_of(world, "admin_parent")
    url = f"/portal/roles/organisations/{office.pk}/revoke/?user={world['admin_office'].pk}"
    assert client.get(url).status_code == 200
    organisation_admin_revoke(organisation_id=office.pk, user_id=world["admin_office"].pk, reason="Retired.",
                              actor=world["superadmin"])  # meanwhile
    response = client.post(url, {"reason": "Retired on 3 March.", "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == f"/portal/roles/organisations/{office.pk}/"
    text = said(client, response["Location"])
    assert ("This role had already ended: admin@pune.mahaagri.gov.in was an admin of District Agriculture Office, "
            "Pune until") in text and "when root@sandes.nic.in removed it. Nothing was changed." in text
    assert AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).count() == 1
    # Someone who never was its admin, or an organisation out of the viewer's scope: not found.
    assert client.get(f"/portal/roles/organisations/{office.pk}/revoke/", {"user": world["member"].pk}).status_code == 404
    other = world["other"]
    assert client.get(f"/portal/roles/organisations/{other.pk}/revoke/",
                      {"user": world["admin_other"].pk}).status_code == 404


def test_an_ended_role_recorded_before_rows_named_their_holder_by_id_is_found_by_the_address(world):
    """An admin role whose end was audited before the rows carried the holder's id (the
    address only): the page still says it had ended, when and by whom; a newer row of
    another person who had that address then is not taken for it."""
    from portal.audit.services import audit_record
    from portal.organisations.models import Membership, MembershipRole
    from portal.organisations.services import _admin_end

    office = world["office"]
    make_admin(office, email="deputy@pune.mahaagri.gov.in")
    client = client_of(world, "admin_parent")
    holder = world["admin_office"]
    url = f"/portal/roles/organisations/{office.pk}/revoke/?user={holder.pk}"
    assert client.get(url).status_code == 200
    _admin_end(Membership.objects.get(organisation=office, user=holder))  # meanwhile, recorded as before ids
    audit_record(actor=world["superadmin"], action=AuditAction.MEMBERSHIP_REVOKED, target=office,
                 old={"user": holder.email, "role": MembershipRole.ADMIN}, new={"member": True})
    audit_record(actor=world["admin_parent"], action=AuditAction.MEMBERSHIP_REVOKED, target=office,
                 old={"user": holder.email, "user_id": holder.pk + 1000, "role": MembershipRole.ADMIN},
                 new={"member": False})
    response = client.post(url, {"reason": "Retired on 3 March.", "confirm": "on"})
    assert response.status_code == 302
    text = said(client, response["Location"])
    assert "This role had already ended: admin@pune.mahaagri.gov.in was an admin of District Agriculture Office, " \
           "Pune until" in text and "when root@sandes.nic.in removed it. Nothing was changed." in text


def test_removing_an_admin_whose_role_ended_with_their_official_address_says_it_ended(world):
    """The role ended meanwhile because its holder made a personal address primary
    (official_powers_end records it under the official address they had): found by the
    person, not by the address they have now, the page says it had already ended."""
    from portal.organisations.services import official_powers_end

    office = world["office"]
    co = make_admin(office, email="co.admin@pune.mahaagri.gov.in")
    client = client_of(world, "admin_parent")
    url = f"/portal/roles/organisations/{office.pk}/revoke/?user={co.pk}"
    assert client.get(url).status_code == 200
    co.email = "co.personal@gmail.com"  # meanwhile (accounts.signals.on_email_changed)
    co.save(update_fields=["email"])
    official_powers_end(user=co, reason="primary_email_not_official", address="co.admin@pune.mahaagri.gov.in")
    response = client.post(url, {"reason": "Transferred.", "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == f"/portal/roles/organisations/{office.pk}/"
    text = said(client, response["Location"])
    assert ("This role had already ended: co.personal@gmail.com was an admin of District Agriculture Office, "
            "Pune until") in text and "Nothing was changed." in text
    assert AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).count() == 1


# An organisation's admins -----------------------------------------------------------------------

def test_the_superadmins_organisation_search_offers_the_one_named_as_typed_and_says_when_more_match(world):
    """A superadmin looks for the Health Department by its whole name, to manage its
    admins: 30 district offices whose names contain it sort before it, and the search
    listed 20 of them, not it, and said nothing of the others. The one named (or
    short-coded) as typed comes first, then the others by name; more than the 20 listed
    is said, with what to do."""
    department = OrganisationFactory(name="Health Department", short_code="", state="MH")
    Organisation.objects.bulk_create([
        Organisation(name=f"District Health Department, District {i:03d}", org_type="district_office",
                     level="district", state="MH", parent=department, ancestry=department.subtree_prefix,
                     status="active") for i in range(30)])
    client = client_of(world, "superadmin")
    more = "More organisations match: type more of the name."
    tree = parse(well_formed(client.get("/portal/roles/", {"q": "health department"})))
    found = [link.get("href") for link in tree.find_all("a") if "/portal/roles/organisations/" in (link.get("href") or "")]
    assert len(found) == 20 and found[0] == f"/portal/roles/organisations/{department.pk}/"
    assert more in tree.squashed_text()
    tree = parse(well_formed(client.get("/portal/roles/", {"q": "District 029"})))
    assert "District Health Department, District 029" in tree.squashed_text() and more not in tree.squashed_text()
    coded = OrganisationFactory(name="Vibhag Arogya", short_code="HEALTH", state="MH")
    tree = parse(well_formed(client.get("/portal/roles/", {"q": "health"})))
    found = [link.get("href") for link in tree.find_all("a") if "/portal/roles/organisations/" in (link.get("href") or "")]
    assert found[0] == f"/portal/roles/organisations/{coded.pk}/"


def test_the_role_pages_find_an_organisation_by_its_name_in_hindi_or_its_states_language(world):
    """The join search and the parent picker find an organisation by its local name
    (``name_local``, in Hindi or the state's language); the role pages' search of the
    organisations whose admins one manages found nothing by it."""
    agriculture = OrganisationFactory(name="Agriculture Department, Maharashtra", name_local="कृषी विभाग, महाराष्ट्र",
                                      short_code="AGRI-MH", state="MH")
    OrganisationFactory(name="Health Department, Maharashtra", name_local="आरोग्य विभाग, महाराष्ट्र", state="MH")
    for typed in ("कृषी विभाग", "\ufeffकृषी\u200b विभाग"):  # the second as pasted, invisible characters and all
        tree = parse(well_formed(client_of(world, "superadmin").get("/portal/roles/", {"q": typed})))
        found = [link.get("href") for link in tree.find_all("a")
                 if "/portal/roles/organisations/" in (link.get("href") or "")]
        assert found == [f"/portal/roles/organisations/{agriculture.pk}/"], typed


def test_paging_the_role_pages_keeps_the_search_shown_beside_the_list(world):
    """The platform roles are paged beside the superadmin's search for an organisation, and
    an organisation's admins beside the search for someone to make admin: the pages'
    links keep the search (as the list takes it), which stays shown on the next page."""
    for i in range(55):
        PlatformRoleFactory(role="auditor", jurisdiction="MH", user=UserFactory(email=f"auditor{i:02d}@nic.in"))
    client = client_of(world, "superadmin")
    tree = parse(well_formed(client.get("/portal/roles/", {"q": " Agriculture "})))
    [following] = [a.get("href") for a in tree.find_all("a", class_="page-link")]
    assert following == "?q=Agriculture&page=2"
    html = well_formed(client.get(f"/portal/roles/{following}"))
    assert "Page 2 of 2" in html and "Agriculture Department, Maharashtra" in html
    office = world["office"]
    for i in range(51):
        make_admin(office, email=f"admin{i:02d}@pune.mahaagri.gov.in")
    client = client_of(world, "admin_parent")
    url = f"/portal/roles/organisations/{office.pk}/"
    tree = parse(well_formed(client.get(url, {"email": "asha"})))
    [following] = [a.get("href") for a in tree.find_all("a", class_="page-link")]
    assert following == "?email=asha&page=2"
    html = well_formed(client.get(url + following))
    assert "Page 2 of 2" in html and "asha.kulkarni@pune.mahaagri.gov.in" in html  # found on page 2 too
    # A search the field refuses is not carried: the list is paged without it.
    tree = parse(well_formed(client.get(url, {"email": "as"})))
    assert [a.get("href") for a in tree.find_all("a", class_="page-link")] == ["?page=2"]


def test_an_admin_makes_a_verified_member_an_admin_after_confirming(world):
    office = world["office"]
    client = client_of(world, "admin_office")
    page = well_formed(client.get(f"/portal/roles/organisations/{office.pk}/"))
    assert "admin@pune.mahaagri.gov.in" in page and "Remove" not in page  # their own row: no action
    # The search finds the office's verified members only, by the beginning of the address.
    page = well_formed(client.get(f"/portal/roles/organisations/{office.pk}/", {"email": "asha"}))
    assert "asha.kulkarni@pune.mahaagri.gov.in" in page
    page = well_formed(client.get(f"/portal/roles/organisations/{office.pk}/", {"email": "vijay"}))
    assert "vijay.more" not in page  # a member of the parent, above the office
    page = well_formed(client.get(f"/portal/roles/organisations/{office.pk}/", {"email": "some"}))
    assert "someone@gmail.com" not in page
    grant_url = f"/portal/roles/organisations/{office.pk}/grant/"
    member = world["member"]
    well_formed(client.get(grant_url, {"user": member.pk}))
    data = {"user": member.pk, "ends_on": "", "reason": "Heads the establishment section."}
    page = well_formed(client.post(grant_url, {**data, "step": "review"}))
    assert "Check before you confirm" in page and "None: until revoked" in page
    assert Membership.objects.get(user=member).role == MembershipRole.MEMBER
    response = client.post(grant_url, {**data, "step": "confirm"})
    assert response.status_code == 302
    assert Membership.objects.get(user=member).role == MembershipRole.ADMIN
    page = well_formed(client.get(f"/portal/roles/organisations/{office.pk}/"))
    assert "is now an admin of District Agriculture Office, Pune" in page
    # Someone who is not a member of the office (or below it) has no grant page.
    assert client.get(grant_url, {"user": world["public"].pk}).status_code == 404
    assert client.get(grant_url, {"user": "x"}).status_code == 404
    assert client.get(grant_url).status_code == 404


def test_a_member_whose_verification_has_lapsed_is_not_offered_the_admin_role(world):
    """Past the date of superannuation of their verification (before the hourly job ends
    it) a member is no verified member: the search for someone to make admin does not find
    them, and they have no grant page."""
    from verification.models import GovernmentProfile

    office, member = world["office"], world["member"]
    held = GovernmentProfileFactory(user=member, organisation=office, status=VerificationStatus.VERIFIED)
    client = client_of(world, "admin_office")
    assert "asha.kulkarni@pune.mahaagri.gov.in" in well_formed(
        client.get(f"/portal/roles/organisations/{office.pk}/", {"email": "asha"}))
    GovernmentProfile.objects.filter(pk=held.pk).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    assert "asha.kulkarni@pune.mahaagri.gov.in" not in well_formed(
        client.get(f"/portal/roles/organisations/{office.pk}/", {"email": "asha"}))
    grant_url = f"/portal/roles/organisations/{office.pk}/grant/"
    assert client.get(grant_url, {"user": member.pk}).status_code == 404
    data = {"user": member.pk, "ends_on": "", "reason": "Heads the establishment section.", "step": "confirm"}
    assert client.post(grant_url, data).status_code == 404
    assert Membership.objects.get(user=member, organisation=office).role == MembershipRole.MEMBER


def test_a_grant_outlasting_the_granters_own_role_is_refused_at_the_last_day_with_the_latest_allowed(world):
    office, member = world["office"], world["member"]
    acting = make_admin(office, email="acting.admin@pune.mahaagri.gov.in")
    last_day = timezone.localdate() + timedelta(days=7)
    Membership.objects.filter(user=acting).update(ends_at=timezone.make_aware(
        datetime.combine(last_day + timedelta(days=1), time.min)))
    client = client_of({**world, "acting": acting}, "acting")
    url = f"/portal/roles/organisations/{office.pk}/grant/"
    for ends_on in ("", (last_day + timedelta(days=1)).isoformat()):
        data = {"user": member.pk, "ends_on": ends_on, "reason": "Covers the section.", "step": "confirm"}
        page = well_formed(client.post(url, data))
        error = field_error(parse(page), "ends_on")
        assert f"{last_day:%-d %b %Y}" in error, error
        assert "Covers the section." in page
        assert Membership.objects.get(user=member).role == MembershipRole.MEMBER
    data = {"user": member.pk, "ends_on": last_day.isoformat(), "reason": "Covers the section.", "step": "confirm"}
    assert client.post(url, data).status_code == 302
    assert Membership.objects.get(user=member).role == MembershipRole.ADMIN


def test_a_grant_outlasting_the_granters_own_role_is_refused_before_the_review(world):
    """The refusal is at the last day on the form, with the latest day allowed, before the
    review page: not only once the person has confirmed (an admin role, and the superadmin
    role given by a superadmin whose own role ends)."""
    office, member = world["office"], world["member"]
    acting = make_admin(office, email="acting.admin@pune.mahaagri.gov.in")
    last_day = timezone.localdate() + timedelta(days=7)
    end = timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time.min))
    Membership.objects.filter(user=acting).update(ends_at=end)
    client = client_of({**world, "acting": acting}, "acting")
    url = f"/portal/roles/organisations/{office.pk}/grant/"
    for ends_on in ("", (last_day + timedelta(days=1)).isoformat()):
        data = {"user": member.pk, "ends_on": ends_on, "reason": "Covers the section.", "step": "review"}
        page = well_formed(client.post(url, data))
        assert "Check before you confirm" not in page
        error = field_error(parse(page), "ends_on")
        assert f"{last_day:%-d %b %Y}" in error, error
        assert "Covers the section." in page
    data = {"user": member.pk, "ends_on": last_day.isoformat(), "reason": "Covers the section.", "step": "review"}
    assert "Check before you confirm" in well_formed(client.post(url, data))
    assert Membership.objects.get(user=member).role == MembershipRole.MEMBER  # nothing until confirmed
    root = world["superadmin"]
    PlatformRoleGrant.objects.filter(user=root).update(ends_at=end)
    client = client_of(world, "superadmin")
    data = {"user": world["public"].pk, "role": "superadmin", "jurisdiction": "", "ends_on": "", "reason": "A term.",
            "step": "review"}
    page = well_formed(client.post("/portal/roles/platform/grant/", data))
    assert "Check before you confirm" not in page
    error = field_error(parse(page), "ends_on")
    assert f"{last_day:%-d %b %Y}" in error, error
    # The other platform roles are bounded by the granter's own too.
    data = {**data, "user": world["state_admin_ka"].pk, "role": "auditor"}
    page = well_formed(client.post("/portal/roles/platform/grant/", data))
    assert "Check before you confirm" not in page
    error = field_error(parse(page), "ends_on")
    assert f"{last_day:%-d %b %Y}" in error, error
    page = well_formed(client.post("/portal/roles/platform/grant/", {**data, "ends_on": last_day.isoformat()}))
    assert "Check before you confirm" in page
    assert not PlatformRoleGrant.objects.filter(user=world["public"]).exists()


def test_removing_the_last_admin_is_refused_on_the_page(world):
    office = world["office"]
    client = client_of(world, "admin_parent")
    url = f"/portal/roles/organisations/{office.pk}/revoke/?user={world['admin_office'].pk}"
    well_formed(client.get(url))
    page = well_formed(client.post(url, {"reason": "Retired.", "confirm": "on"}))
    assert "would have no admin left whose role does not end" in page and "Retired." in page
    assert Membership.objects.get(user=world["admin_office"]).role == MembershipRole.ADMIN
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).exists()
    # With another admin (without an end date) it goes through.
    make_admin(office, email="deputy@pune.mahaagri.gov.in")
    response = client.post(url, {"reason": "Retired.", "confirm": "on"})
    assert response.status_code == 302
    assert not Membership.objects.get(user=world["admin_office"]).is_active
    assert AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).count() == 1


def test_the_roles_pages_treat_another_account_of_ones_mailbox_as_ones_own(world):
    """Another account of one's mailbox ("+tag") is one's own: its grant and revocation pages
    say so and offer no form, and the lists name it where they would offer to change it."""
    office = world["office"]
    root_second = UserFactory(email="root+ops@sandes.nic.in")
    grant = PlatformRoleGrant.objects.create(user=root_second, role="auditor", jurisdiction="")
    admin_second = make_admin(office, email="admin+second@pune.mahaagri.gov.in")
    root = client_of(world, "superadmin")
    for url in (f"/portal/roles/platform/grant/?user={root_second.pk}", f"/portal/roles/platform/{grant.pk}/revoke/"):
        page = well_formed(root.get(url))
        assert "This is another account of your own mailbox." in page and 'name="reason"' not in page
    assert "Another account of your own mailbox" in well_formed(root.get("/portal/roles/"))
    admin = client_of(world, "admin_office")
    for url in (f"/portal/roles/organisations/{office.pk}/grant/?user={admin_second.pk}",
                f"/portal/roles/organisations/{office.pk}/revoke/?user={admin_second.pk}"):
        page = well_formed(admin.get(url))
        assert "This is another account of your own mailbox." in page and 'name="reason"' not in page
    listed = parse(well_formed(admin.get(f"/portal/roles/organisations/{office.pk}/")))
    [row] = [tr for tr in listed.find_all("tr") if "admin+second@" in tr.text()]
    assert "Another account of your own mailbox" in row.text() and not row.find_all("a")
    admin.post(f"/portal/roles/organisations/{office.pk}/revoke/?user={admin_second.pk}", {"reason": "x", "confirm": "on"})
    assert Membership.objects.get(user=admin_second).role == MembershipRole.ADMIN


def test_an_admin_cannot_remove_themself(world):
    office = world["office"]
    make_admin(office, email="deputy@pune.mahaagri.gov.in")
    client = client_of(world, "admin_office")
    url = f"/portal/roles/organisations/{office.pk}/revoke/?user={world['admin_office'].pk}"
    page = well_formed(client.get(url))
    assert "of their own" in page
    client.post(url, {"reason": "x", "confirm": "on"})
    assert Membership.objects.get(user=world["admin_office"]).role == MembershipRole.ADMIN



def test_changing_one_persons_admin_role_is_limited_a_day(world, settings):
    """Each grant, new end date and removal of an admin role mails the person, with the
    note the admin typed: one that would pass ROLE_CHANGES_PER_DAY for that person (by
    whichever admin) is refused on the form, naming when the next is possible, with what
    was typed kept; nothing changes and nobody is mailed. Removing the role stays possible."""
    settings.ROLE_CHANGES_PER_DAY = 4
    office, member = world["office"], world["member"]
    client = client_of(world, "admin_office")
    grant_url = f"/portal/roles/organisations/{office.pk}/grant/"
    revoke_url = f"/portal/roles/organisations/{office.pk}/revoke/?user={member.pk}"
    last_day = timezone.localdate() + timedelta(days=30)

    def grant(client, ends_on="", reason="Heads the section."):
        return client.post(grant_url, {"user": member.pk, "ends_on": ends_on, "reason": reason, "step": "confirm"})

    assert grant(client).status_code == 302
    assert client.post(revoke_url, {"reason": "Not needed.", "confirm": "on"}).status_code == 302
    assert grant(client).status_code == 302
    assert grant(client, last_day.isoformat()).status_code == 302  # a new end date
    mails = OutboxMessage.objects.filter(to=[member.email]).count()
    assert mails == 4
    for who in ("admin_office", "admin_parent"):
        page = well_formed(grant(client_of(world, who), "", "You are useless."))
        assert "admin roles were granted, changed or removed 4 times in the last 24 hours" in page, page
        assert "A role can be granted or changed again from" in page and "You are useless." in page
    membership = Membership.objects.get(user=member, organisation=office)
    assert membership.role == MembershipRole.ADMIN and membership.last_day == last_day
    assert OutboxMessage.objects.filter(to=[member.email]).count() == mails
    # Taking the role away is never held back by the limit (a role given by mistake, an
    # admin acting against the organisation): it goes through, and the person is told.
    assert client.post(revoke_url, {"reason": "Removed.", "confirm": "on"}).status_code == 302
    assert not Membership.objects.get(user=member, organisation=office).admin_in_force
    assert OutboxMessage.objects.filter(to=[member.email]).count() == mails + 1
    assert "4 times in the last 24 hours" in well_formed(grant(client))


def test_changing_one_persons_platform_roles_is_limited_a_day(world, settings):
    """A superadmin's grants, new end dates and revocations of a person's platform roles
    mail the person too: held to ROLE_CHANGES_PER_DAY the same way, revoking excepted."""
    settings.ROLE_CHANGES_PER_DAY = 4
    client = client_of(world, "superadmin")
    person = UserFactory(email="ravi.patil@maharashtra.gov.in", full_name="Ravi Patil")

    def grant(ends_on="", reason="Audit of 2026."):
        return client.post("/portal/roles/platform/grant/", {"user": person.pk, "role": "auditor", "jurisdiction": "MH",
                                                             "ends_on": ends_on, "reason": reason, "step": "confirm"})

    def revoke():
        grant = PlatformRoleGrant.objects.get(user=person, revoked_at__isnull=True)
        return client.post(f"/portal/roles/platform/{grant.pk}/revoke/", {"reason": "Done.", "confirm": "on"})

    assert grant().status_code == 302
    assert revoke().status_code == 302
    assert grant().status_code == 302
    assert grant((timezone.localdate() + timedelta(days=30)).isoformat()).status_code == 302
    page = well_formed(grant("", "Again."))
    assert "platform roles were granted, changed or revoked 4 times in the last 24 hours" in page, page
    assert "A role can be granted or changed again from" in page and "Again." in page
    assert OutboxMessage.objects.filter(to=[person.email]).count() == 4
    assert revoke().status_code == 302
    assert not PlatformRoleGrant.objects.filter(in_force_q(), user=person).exists()
    assert OutboxMessage.objects.filter(to=[person.email]).count() == 5


# The report -----------------------------------------------------------------------------------

REPORT_SEES = {  # who sees the admins of (office, parent, other), and whether they see platform roles
    "superadmin": ((True, True, True), True),
    "auditor": ((True, True, True), True),
    "state_admin_mh": ((True, True, False), True),
    "state_admin_ka": ((False, False, True), True),
    "admin_office": ((True, False, False), False),
    "admin_parent": ((True, True, False), False),
    "admin_other": ((False, False, True), False),
}


def read_csv(response):
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.mark.parametrize("who", [w for w in ROLES if w in REPORT_SEES])
def test_the_report_shows_each_role_its_own_scope(world, who):
    client = client_of(world, who)
    (admins_seen, platform_seen) = REPORT_SEES[who]
    page = well_formed(client.get("/portal/roles/report/"))
    rows = read_csv(client.get("/portal/roles/report.csv"))
    emails = {row[4] for row in rows[1:]}
    for index, name in enumerate(("admin_office", "admin_parent", "admin_other")):
        assert (world[name].email in page) == admins_seen[index], (who, name)
        assert (world[name].email in emails) == admins_seen[index], (who, name)
    platform_page = client.get("/portal/roles/report/", {"kind": "platform"}).content.decode()
    assert ("state.admin@karnataka.gov.in" in platform_page) == (who in ("superadmin", "auditor", "state_admin_ka"))
    assert ("state.admin@karnataka.gov.in" in emails) == (who in ("superadmin", "auditor", "state_admin_ka"))
    assert ("root@sandes.nic.in" in emails) == (who in ("superadmin", "auditor"))
    assert platform_seen == ("Platform roles</a>" in page)
    [event] = AuditEvent.objects.filter(action=AuditAction.ROLE_REPORT_EXPORTED)
    assert event.actor_id == world[who].pk


def test_the_csv_download_is_kept_out_of_caches(world):
    """The report names the administrators and their addresses: a shared computer's
    browser or a proxy on the way must keep no copy."""
    response = client_of(world, "superadmin").get("/portal/roles/report.csv")
    assert response.status_code == 200
    assert {"no-store", "private"} <= set(response["Cache-Control"].split(", ")), response.get("Cache-Control")


def test_the_csv_neutralises_cells_a_spreadsheet_would_run(world):
    office = world["office"]
    Organisation.objects.filter(pk=office.pk).update(name="=HYPERLINK(\"http://evil\",\"x\")", short_code="+1")
    admin = world["admin_office"]
    admin.full_name = "@SUM(1+1)"
    admin.save(update_fields=["full_name"])
    other_admin = make_admin(world["other"], email="x@karhealth.gov.in", full_name="-2+3")
    response = client_of(world, "superadmin").get("/portal/roles/report.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="roles-')
    rows = read_csv(response)
    assert rows[0][:5] == ["Role", "Where", "Organisation short code", "State / UT", "Email address"]
    office_row = next(row for row in rows if row[4] == admin.email)
    assert office_row[1] == "'=HYPERLINK(\"http://evil\",\"x\")" and office_row[2] == "'+1" and office_row[5] == "'@SUM(1+1)"
    assert next(row for row in rows if row[4] == other_admin.email)[5] == "'-2+3"
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row
    platform_rows = [row for row in rows if row[0] == "State administrator"]
    assert {row[1] for row in platform_rows} == {"Maharashtra", "Karnataka"}


def test_the_csv_names_the_last_day_and_the_grant_the_page_shows(world):
    """A role whose last day is 31 December 2026 ends at midnight after it, India time: the
    page's "Last day" says 31 Dec 2026, and so does the download, as 2026-12-31 under the
    same header (it said "Ends at 2027-01-01 00:00": sorted or filtered by year, the role
    ended in 2027). The day it was granted is the page's day too; a role without an end
    has no last day in either."""
    midnight = timezone.make_aware(datetime(2027, 1, 1, 0, 0))
    granted = timezone.make_aware(datetime(2026, 3, 2, 23, 59))
    PlatformRoleFactory(role="state_admin", jurisdiction="MH", ends_at=midnight,
                        user=UserFactory(email="state.admin.goa@maharashtra.gov.in"))
    PlatformRoleGrant.objects.filter(user__email="state.admin.goa@maharashtra.gov.in").update(granted_at=granted)
    Membership.objects.filter(user=world["admin_office"], organisation=world["office"]).update(
        ends_at=midnight, granted_at=granted)
    client = client_of(world, "superadmin")
    with time_machine.travel(timezone.make_aware(datetime(2026, 6, 1, 12, 0)), tick=False):
        platform_page = client.get("/portal/roles/report/", {"kind": "platform"}).content.decode()
        admins_page = client.get("/portal/roles/report/").content.decode()
        rows = read_csv(client.get("/portal/roles/report.csv"))
    assert '<time datetime="2026-12-31">31 Dec 2026</time>' in platform_page
    assert '<time datetime="2026-12-31">31 Dec 2026</time>' in admins_page
    assert rows[0][-2:] == ["Granted at", "Last day"]
    by_email = {row[4]: row for row in rows[1:]}
    for email in ("state.admin.goa@maharashtra.gov.in", world["admin_office"].email):
        assert by_email[email][-2:] == ["2026-03-02 23:59", "2026-12-31"], email
    assert by_email[world["admin_other"].email][-1] == ""


@pytest.mark.parametrize("who", ["admin_parent", "state_admin_mh", "superadmin"])
def test_the_report_download_is_limited_per_hour_as_the_other_exports(world, who, settings):
    """Each download reads every admin of the viewer's scope again and writes an audit row:
    an account has MONITORING_EXPORTS_PER_HOUR of them an hour, as the dashboard's CSV; a
    further one is refused (429), naming when the next is possible, in the page's language,
    and neither reads the report nor writes an audit row."""
    settings.MONITORING_EXPORTS_PER_HOUR = 3
    client = client_of(world, who)
    for _ in range(3):
        response = client.get("/portal/roles/report.csv")
        assert response.status_code == 200
        read_csv(response)
    first = AuditEvent.objects.filter(action=AuditAction.ROLE_REPORT_EXPORTED).order_by("id").first()
    refused = client.get("/portal/roles/report.csv")
    assert refused.status_code == 429
    html = refused.content.decode()
    assert html_problems(html) == []
    assert "You have downloaded the report of roles 3 times in the last hour" in html
    assert f"The next download is possible from {shown_from(first.created_at + timedelta(hours=1))}." in html
    assert 'href="/portal/roles/report/"' in html
    hindi = client.get("/portal/roles/report.csv", HTTP_ACCEPT_LANGUAGE="hi")
    assert hindi.status_code == 429 and "अगला डाउनलोड" in hindi.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.ROLE_REPORT_EXPORTED, actor_id=world[who].pk).count() == 3
    # Another account's downloads are its own.
    assert client_of(world, "auditor").get("/portal/roles/report.csv").status_code == 200



def test_a_report_download_another_site_sends_the_browser_to_is_refused_and_uses_up_nothing(world, settings):
    """A link on another site to the report's CSV: no `roles.report_exported` in the
    account's name, none of its downloads of the hour used; it lands on the report's page,
    told to press the link there."""
    settings.MONITORING_EXPORTS_PER_HOUR = 1
    client = client_of(world, "superadmin")
    for _ in range(2):
        response = client.get("/portal/roles/report.csv", HTTP_SEC_FETCH_SITE="cross-site",
                              HTTP_SEC_FETCH_MODE="navigate", HTTP_SEC_FETCH_DEST="document")
        assert response.status_code == 302 and response["Location"] == "/portal/roles/report/"
    html = client.get(response["Location"]).content.decode()
    assert html_problems(html) == []
    assert "You came here by a link from another site, so nothing was done in your name." in html
    assert not AuditEvent.objects.filter(action=AuditAction.ROLE_REPORT_EXPORTED).exists()
    assert client.get("/portal/roles/report.csv", HTTP_SEC_FETCH_SITE="same-origin").status_code == 200


def test_the_report_download_is_written_in_the_language_it_was_asked_in(world):
    """The file is streamed after the view returns, by whatever thread the server iterates
    the body on: its header and the portal's words in it (a role, "Everywhere") are in the
    language of the request that asked for it (Hindi here), not in whatever language that
    thread has active then (English, another request's)."""
    from django.utils import translation

    from portal.organisations import role_report

    response = client_of(world, "superadmin").get("/portal/roles/report.csv", HTTP_ACCEPT_LANGUAGE="hi")
    with translation.override("en"):
        rows = read_csv(response)
    with translation.override("hi"):
        header, everywhere, superadmin = role_report.header(), str(translation.gettext("Everywhere")), str(
            dict(PlatformRoleGrant._meta.get_field("role").choices)["superadmin"])
    assert rows[0] == header and header[0] != "Role"
    root = next(row for row in rows if row[4] == "root@sandes.nic.in")
    assert root[:2] == [superadmin, everywhere] and superadmin != "Superadmin"


def test_the_report_download_holds_at_most_its_number_of_rows_and_says_so(world, monkeypatch):
    """As the dashboard's export (EXPORT_MAX_ROWS), the download holds at most
    REPORT_MAX_ROWS roles, platform roles first; a file cut there ends with a line saying
    so, and the page says how many it holds at most."""
    from portal.organisations import role_report

    client = client_of(world, "superadmin")
    whole = read_csv(client.get("/portal/roles/report.csv"))
    assert len(whole) == 1 + 4 + 3 and not any("more roles" in row[0] for row in whole)
    monkeypatch.setattr(role_report, "REPORT_MAX_ROWS", 5)
    rows = read_csv(client.get("/portal/roles/report.csv"))
    assert rows[:6] == whole[:6]
    assert rows[6:] == [["The report holds more roles than the 5 a download holds: these are the first 5."]]
    page = well_formed(client.get("/portal/roles/report/"))
    assert "at most 5 roles" in page


# The demo's organisation admin on SQLite (`make run`) ----------------------------------------

def _parse_error_on_sqlite(queryset):
    """What SQLite's parser (the library Python has) says of ``queryset`` compiled for
    SQLite, on an empty database in memory: a query it takes only fails to find its
    tables ("no such table"); one nested past the parser's depth is refused before that."""
    probe = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}})["default"]
    sql, params = queryset.query.get_compiler(connection=probe).as_sql()
    try:
        with probe.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as exc:
        return str(exc)
    finally:
        probe.close()
    return ""


def test_the_demo_organisation_admin_reads_the_role_pages_and_their_queries_fit_sqlite():
    """The demo's organisation admin (seed_demo, which `make run` loads on SQLite) gets
    every role page and the whole report: the names' visibility condition for an
    administrator used to nest past the depth SQLite's parser takes (13 queries one in
    another), and these pages failed there with "parser stack overflow"."""
    call_command("seed_demo", verbosity=0)
    admin = get_user_model().objects.get(email="admin.collector@pune.gov.in")
    pune = Organisation.objects.get(memberships__user=admin, memberships__role=MembershipRole.ADMIN)
    member = Membership.objects.filter(organisation=pune, role=MembershipRole.MEMBER, is_active=True).first()
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    for url in ("/portal/roles/", f"/portal/roles/organisations/{pune.pk}/", "/portal/roles/report/",
                f"/portal/roles/organisations/{pune.pk}/grant/?user={member.user_id}"):
        assert client.get(url).status_code == 200, url
    rows = read_csv(client.get("/portal/roles/report.csv"))
    assert admin.email in {row[4] for row in rows[1:]}
    viewer = signed_in_user(admin.pk)  # as a request reads them: the roles with the account
    for queryset in (role_selectors.admins_of(pune, viewer=viewer), role_selectors.report_admins(viewer),
                     get_user_model().objects.annotate(seen_name=seen_name(viewer, ""))):
        error = _parse_error_on_sqlite(queryset)
        assert error.startswith("no such table"), error


def test_a_report_download_whose_query_fails_is_an_error_not_a_file_cut_short(world, monkeypatch):
    """The CSV is streamed: its query runs before the first byte is sent, so that a
    failure is an error page, not a file of only its header answered 200."""
    failing = Membership.objects.annotate(broken=RawSQL("no_such_function()", ()))
    monkeypatch.setattr(role_selectors, "report_admins", lambda viewer: failing)
    client = client_of(world, "admin_office")
    client.raise_request_exception = False
    assert client.get("/portal/roles/report.csv").status_code == 500


def test_an_ended_role_is_not_in_the_report_nor_on_the_pages(world):
    ends = timezone.now() + timedelta(hours=1)
    PlatformRoleGrant.objects.filter(user=world["state_admin_ka"]).update(ends_at=ends)
    Membership.objects.filter(user=world["admin_other"]).update(ends_at=ends)
    import time_machine

    with time_machine.travel(ends + timedelta(minutes=1)):
        client = client_of(world, "superadmin")
        rows = read_csv(client.get("/portal/roles/report.csv"))
        emails = {row[4] for row in rows}
        assert world["state_admin_ka"].email not in emails and world["admin_other"].email not in emails
        assert world["state_admin_ka"].email not in client.get("/portal/roles/").content.decode()
        assert client_of(world, "admin_other").get(f"/portal/roles/organisations/{world['other'].pk}/").status_code == 404


def test_an_admin_role_resting_on_a_lapsed_verification_is_not_in_the_report_nor_on_the_pages(world):
    """An admin role resting on a verification past its date of superannuation counts for
    nothing from the next request, before the hourly job ends it (portal.permissions.
    memberships_not_lapsed, as the last-admin rule asks): the report, its CSV, the
    organisation's admins and its count of admins do not list it as held."""
    from tests.portal.test_roles import _verified_then_lapsed

    office, member = world["office"], world["member"]
    lapse = _verified_then_lapsed(member, office)
    organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=world["superadmin"], reason="Head")
    lapse()
    client = client_of(world, "admin_parent")
    assert member.email not in {row[4] for row in read_csv(client.get("/portal/roles/report.csv"))}
    assert member.email not in client.get("/portal/roles/report/").content.decode()
    assert member.email not in client.get(f"/portal/roles/organisations/{office.pk}/").content.decode()
    assert [o.admins for o in role_selectors.organisations_managed(world["admin_parent"]) if o.pk == office.pk] == [1]
    assert world["admin_office"].email in {row[4] for row in read_csv(client.get("/portal/roles/report.csv"))}


def test_a_deactivated_account_is_not_in_the_report_nor_on_the_pages_but_its_roles_are_still_revoked(world):
    """An account made inactive ("Active" unticked in the Django admin) holds no role
    (portal.permissions; the last-admin rule counts active accounts only): the role pages,
    the report, its CSV and the organisations' counts of admins do not list its roles as
    held. Its rows are still there to revoke, from their pages."""
    office = world["office"]
    gone = make_admin(office, email="left.service@pune.mahaagri.gov.in")
    watcher = PlatformRoleFactory(role="auditor", jurisdiction="MH", user__email="left.audit@maharashtra.gov.in").user
    get_user_model().objects.filter(pk__in=[gone.pk, watcher.pk]).update(is_active=False)
    client = client_of(world, "superadmin")
    pages = [client.get(f"/portal/roles/organisations/{office.pk}/"), client.get("/portal/roles/"),
             client.get("/portal/roles/", {"q": "DAO-PUNE"}), client.get("/portal/roles/report/"),
             client.get("/portal/roles/report/", {"kind": "platform"})]
    for page in pages:
        html = well_formed(page)
        assert gone.email not in html and watcher.email not in html
    assert "DAO-PUNE) · 1 admin<" in well_formed(pages[2])
    emails = {row[4] for row in read_csv(client.get("/portal/roles/report.csv"))}
    assert gone.email not in emails and watcher.email not in emails and world["admin_office"].email in emails
    assert [o.admins for o in role_selectors.organisations_managed(world["superadmin"]) if o.pk == office.pk] == [1]
    # Revoked all the same, from their pages.
    grant = PlatformRoleGrant.objects.get(user=watcher)
    assert client.post(f"/portal/roles/platform/{grant.pk}/revoke/", {"reason": "Left", "confirm": "on"}).status_code == 302
    assert client.post(f"/portal/roles/organisations/{office.pk}/revoke/",
                       {"user": gone.pk, "reason": "Left", "confirm": "on"}).status_code == 302
    assert not PlatformRoleGrant.objects.filter(in_force_q(), user=watcher).exists()
    assert not Membership.objects.filter(user=gone, role=MembershipRole.ADMIN).exists()


# Names, as the visibility rules let the viewer see them ------------------------------------------

def _keeps_name(user, audience=Audience.NOBODY):
    PersonalVisibility.objects.update_or_create(user=user, defaults={"name": audience})


def _pages_of_an_organisation_admin(world, person):
    """Every page of the role pages an admin of the department reaches that shows ``person``
    (a member of the office, made its admin on the way), and the CSV."""
    office = world["office"].pk
    client = client_of(world, "admin_parent")
    pages = [client.get(f"/portal/roles/organisations/{office}/", {"email": person.email[:8]}),
             client.get(f"/portal/roles/organisations/{office}/grant/", {"user": person.pk})]
    organisation_admin_grant(organisation_id=office, user_id=person.pk, actor=world["admin_parent"])
    pages += [client.get(f"/portal/roles/organisations/{office}/"),
              client.get(f"/portal/roles/organisations/{office}/grant/", {"user": person.pk}),
              client.get(f"/portal/roles/organisations/{office}/revoke/", {"user": person.pk}),
              client.get("/portal/roles/report/")]
    htmls = [well_formed(page) for page in pages]
    return htmls, read_csv(client.get("/portal/roles/report.csv"))


def test_an_organisation_admin_sees_a_name_kept_from_them_nowhere_on_the_role_pages(world):
    """A member who keeps their name to themself ("nobody but the person" at
    /people/visibility/) is shown to the department's admin by their account address on
    the role pages, as on its members page: in the search for someone to make admin, on
    the grant page, among the admins, on the revoke page, in the report and its CSV."""
    asha = world["member"]
    _keeps_name(asha)
    htmls, rows = _pages_of_an_organisation_admin(world, asha)
    for html in htmls:
        assert asha.email in html and "Asha Kulkarni" not in html
    assert "Office Admin" in htmls[2]  # a name not kept from them is shown
    [row] = [row for row in rows if row[4] == asha.email]
    assert row[5] == ""
    assert "Office Admin" in {row[5] for row in rows}


def test_the_role_pages_show_a_verified_persons_name_as_the_rules_let_each_viewer_see_it(world):
    """The office shows its people's names to its administrators only: the department's
    admin sees the name of a verified member of the office on the role pages; a state
    administrator, who is no verified government user, sees them by address in the report."""
    asha = world["member"]
    GovernmentProfileFactory(user=asha, organisation=world["office"], status=VerificationStatus.VERIFIED)
    VisibilityPolicy.objects.create(organisation=world["office"], name=Audience.ADMINS)
    htmls, rows = _pages_of_an_organisation_admin(world, asha)
    for html in htmls:
        assert "Asha Kulkarni" in html
    assert "Asha Kulkarni" in {row[5] for row in rows}
    client = client_of(world, "state_admin_mh")
    html = well_formed(client.get("/portal/roles/report/"))
    assert asha.email in html and "Asha Kulkarni" not in html
    [row] = [row for row in read_csv(client.get("/portal/roles/report.csv")) if row[4] == asha.email]
    assert row[5] == ""


def test_a_superadmin_sees_a_name_kept_from_them_nowhere_on_the_role_pages(world):
    """A superadmin sees a person as an organisation's administrators do (the rules give
    them no more): a state administrator who keeps their name to themself is shown by
    their address on the platform roles' pages, in the search for someone to grant a role
    to, in the report and its CSV."""
    holder = world["state_admin_mh"]
    holder.full_name = "Meera Hiddenname"
    holder.save(update_fields=["full_name"])
    _keeps_name(holder)
    grant = PlatformRoleGrant.objects.get(user=holder)
    client = client_of(world, "superadmin")
    pages = [client.get("/portal/roles/"),
             client.get("/portal/roles/platform/grant/", {"email": "state.admin@ma"}),
             client.get("/portal/roles/platform/grant/", {"user": holder.pk}),
             client.get(f"/portal/roles/platform/{grant.pk}/revoke/"),
             client.get("/portal/roles/report/", {"kind": "platform"})]
    for page in pages:
        html = well_formed(page)
        assert holder.email in html and "Meera Hiddenname" not in html
    rows = read_csv(client.get("/portal/roles/report.csv"))
    [row] = [row for row in rows if row[4] == holder.email]
    assert row[5] == ""
    # Narrowed to the administrators, not to nobody: a superadmin sees it.
    _keeps_name(holder, Audience.ADMINS)
    assert "Meera Hiddenname" in well_formed(client.get("/portal/roles/"))


# Query counts, constant in the data -------------------------------------------------------------

def _grow(world, n):
    """n more of everything the role pages list: platform role holders, organisations
    below the parent (each with an admin), admins of the office."""
    for i in range(n):
        PlatformRoleFactory(role="auditor", jurisdiction="MH", user__email=f"auditor{i}@maharashtra.gov.in")
        below = OrganisationFactory(parent=world["parent"], name=f"Taluka Office {i}", state="MH")
        make_admin(below, email=f"admin{i}@taluka{i}.mahaagri.gov.in")
        make_admin(world["office"], email=f"deputy{i}@pune.mahaagri.gov.in")
        make_member(world["office"], email=f"asha.clerk{i}@pune.mahaagri.gov.in")


# Every request: the session, the user with the viewer's roles (the rule, the navigation
# and the page read them once) and whether a second factor is set up (the MFA middleware
# asks a platform role), in one query; then the page's own queries.
BASE = {"superadmin": 2, "auditor": 2, "admin_parent": 2}
PAGES = [
    # (who, url, queries of the page itself)
    ("superadmin", "/portal/roles/", 3),                       # grants: count, page; superadmins by the flag
    ("superadmin", "/portal/roles/?q=Taluka", 4),               # + organisations found (with their admin counts)
    ("admin_parent", "/portal/roles/", 2),                     # organisations: count, page
    # organisation, may_administer, the viewer for the visibility rules (names: a
    # superadmin's needs no query), admins: count, page
    ("admin_parent", "/portal/roles/organisations/{office}/", 5),
    ("admin_parent", "/portal/roles/organisations/{office}/?email=asha", 6),  # + the members found
    ("superadmin", "/portal/roles/report/", 2),                # admins: count, page
    ("superadmin", "/portal/roles/report/?kind=platform", 3),  # grants: count, page; superadmins by the flag
    ("admin_parent", "/portal/roles/report/", 3),              # the viewer; admins: count, page
    ("auditor", "/portal/roles/report/?kind=platform", 4),   # the viewer; grants: count, page; by the flag
    ("superadmin", "/portal/roles/platform/grant/?email=audit", 1),  # people found
]


@pytest.mark.parametrize("size", [1, 30])
@pytest.mark.parametrize(("who", "url", "own"), PAGES)
def test_query_counts_of_the_role_pages(world, size, who, url, own, django_assert_num_queries):
    _grow(world, size)
    client = client_of(world, who)
    url = url.format(office=world["office"].pk)
    client.get(url)  # warm: content types, permissions
    with django_assert_num_queries(BASE[who] + own):
        response = client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("size", [1, 30])
def test_query_count_of_the_csv_download(world, size, django_assert_num_queries):
    _grow(world, size)
    client = client_of(world, "superadmin")
    # The request's own; the hourly limit's count before reading; the limit counted again
    # with the audit row under the account's lock (savepoint, the account's lock on
    # PostgreSQL, the count; the row: savepoint, the chain's lock on PostgreSQL, head,
    # insert, head update, release; release): 5 more than before the downloads were
    # limited per hour; the superadmins by the flag; the grants and the admins, each read in chunks.
    audit = 11 if connection.vendor == "postgresql" else 9
    response = client.get("/portal/roles/report.csv")
    with django_assert_num_queries(BASE["superadmin"] + audit + 3):
        rows = read_csv(client.get("/portal/roles/report.csv"))
    assert response.status_code == 200
    assert len(rows) == 1 + (4 + size) + (3 + 2 * size)  # header, platform roles, admins


@pytest.mark.parametrize("who", ["superadmin", "admin_parent"])
def test_odd_input_never_fails_the_pages(world, who):
    client = client_of(world, who)
    office = world["office"].pk
    odd = ["x", "-1", "9" * 30, "\x00", "ü" * 300, ""]
    for value in odd:
        for url, params in [
            ("/portal/roles/", {"page": value, "q": value}),
            ("/portal/roles/platform/grant/", {"email": value}),
            ("/portal/roles/platform/grant/", {"user": value}),
            (f"/portal/roles/organisations/{office}/", {"email": value, "page": value}),
            (f"/portal/roles/organisations/{office}/grant/", {"user": value}),
            (f"/portal/roles/organisations/{office}/revoke/", {"user": value}),
            ("/portal/roles/report/", {"kind": value, "page": value}),
        ]:
            response = client.get(url, params)
            assert response.status_code in {200, 302, 403, 404}, (url, params, response.status_code)
        response = client.post(f"/portal/roles/organisations/{office}/grant/",
                               {"user": world["member"].pk, "ends_on": value, "reason": value, "step": value})
        assert response.status_code in {200, 302}, (value, response.status_code)
    assert not Membership.objects.filter(user=world["member"], role=MembershipRole.ADMIN).exists()


def test_a_superadmin_by_the_superuser_flag_is_named_on_the_roles_pages_and_in_the_report(roles_world):
    """The installation's first superadmin is made with `manage.py createsuperuser`
    (deploy/README.md): a superadmin by the flag, with no grant. The roles page names them,
    not "No platform role is held by anyone"; the report and its download list them to a
    viewer who sees every platform role, and not to a state administrator."""
    from tests.onboarding.approval_helpers import second_factor_given, with_totp

    first = UserFactory(email="first.root@nic.in", full_name="Meera Iyer", is_superuser=True, is_staff=True)
    state = client_of(roles_world, "state_admin_mh")
    assert "first.root@nic.in" not in state.get("/portal/roles/report/?kind=platform").content.decode()
    PlatformRoleGrant.objects.all().delete()
    with_totp(first)
    client = Client()
    client.force_login(first)
    second_factor_given(client, first)
    home = parse(client.get("/portal/roles/").content.decode())
    said = home.squashed_text()
    assert "No platform role is held by anyone." not in said
    assert ("Superadmin by their account's superuser flag (set with manage.py createsuperuser, and changed there or "
            "in the Django admin, not on these pages): Meera Iyer (first.root@nic.in)") in said
    report = parse(client.get("/portal/roles/report/?kind=platform").content.decode()).squashed_text()
    assert "Meera Iyer (first.root@nic.in)" in report and "Nobody holds such a role here." not in report
    body = b"".join(client.get("/portal/roles/report.csv",
                               HTTP_REFERER="http://testserver/portal/roles/report/").streaming_content)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert ["Superadmin", "Everywhere", "", "", "first.root@nic.in", "Meera Iyer", "the account's superuser flag",
            "", ""] in rows


def test_confirming_a_new_admin_does_not_give_a_last_day_to_a_role_granted_meanwhile_until_revoked(world):
    """The confirmation of a new admin role to a last day (no "They are an admin already");
    meanwhile the superadmin made them an admin until revoked; confirming gave that role
    the last day, unseen. It is now refused, the page showing the role as it is now."""
    office = world["office"]
    person = make_member(office, email="vijay.more@pune.mahaagri.gov.in", full_name="Vijay More")
    client = client_of(world, "admin_office")
    url = f"/portal/roles/organisations/{office.pk}/grant/"
    last_day = (timezone.localdate() + timedelta(days=30)).isoformat()
    review = parse(client.post(url, {"user": person.pk, "ends_on": last_day, "reason": "Covering the harvest season.",
                                     "step": "review"}).content.decode())
    assert "Confirm and make admin" in review.squashed_text() and "They are an admin already" not in review.squashed_text()
    organisation_admin_grant(organisation_id=office.pk, user_id=person.pk, actor=world["superadmin"],
                             reason="Permanent admin of the office.")
    sent = {node.get("name"): node.get("value", "") for node in review.iter()
            if node.tag == "input" and node.get("type") == "hidden" and node.get("name")}
    response = client.post(url, {**sent, "step": "confirm"})
    assert response.status_code == 200
    again = parse(response.content.decode())
    assert "the admin role of vijay.more@pune.mahaagri.gov.in was granted, changed or ended by someone else" in (
        again.by_id("error-summary").squashed_text())
    assert "They are an admin already, until revoked" in again.squashed_text()
    role = Membership.objects.get(organisation=office, user=person, role=MembershipRole.ADMIN)
    assert role.ends_at is None


def test_confirming_a_platform_role_does_not_give_a_last_day_to_the_same_role_granted_meanwhile(world):
    """As for an organisation's admins: a state administrator's role to a last day confirmed
    after another superadmin granted it until revoked gave that role the last day, unseen."""
    from portal.organisations.services import platform_role_grant

    client = client_of(world, "superadmin")
    person = UserFactory(email="ravi.patil@maharashtra.gov.in", full_name="Ravi Patil")
    last_day = timezone.localdate() + timedelta(days=90)
    data = {"user": person.pk, "role": "state_admin", "jurisdiction": "MH", "ends_on": last_day.isoformat(),
            "reason": "Posted to the IT cell of the state."}
    review = parse(client.post("/portal/roles/platform/grant/", {**data, "step": "review"}).content.decode())
    platform_role_grant(user=person, role="state_admin", jurisdiction="MH", reason="The IT cell, for good.",
                        actor=PlatformRoleFactory(role="superadmin", jurisdiction="").user)
    sent = {node.get("name"): node.get("value", "") for node in review.iter()
            if node.tag == "input" and node.get("type") == "hidden" and node.get("name")}
    response = client.post("/portal/roles/platform/grant/", {**sent, "step": "confirm"})
    assert response.status_code == 200
    assert "the platform roles of ravi.patil@maharashtra.gov.in were granted, changed or ended by someone else" in (
        parse(response.content.decode()).by_id("error-summary").squashed_text())
    assert PlatformRoleGrant.objects.get(user=person).ends_at is None


def test_a_grant_confirmed_twice_is_not_said_changed_by_someone_else(world):
    """A double click on "Confirm" (or Back and send): the second finds the role as asked,
    granted by the first; it changes nothing and is not blamed on someone else."""
    office = world["office"]
    person = make_member(office, email="vijay.more@pune.mahaagri.gov.in", full_name="Vijay More")
    client = client_of(world, "admin_office")
    last_day = (timezone.localdate() + timedelta(days=30)).isoformat()
    for url, data in (
        (f"/portal/roles/organisations/{office.pk}/grant/",
         {"user": person.pk, "ends_on": last_day, "reason": "Covering the harvest season."}),
        ("/portal/roles/platform/grant/",
         {"user": UserFactory(email="ravi.patil@maharashtra.gov.in").pk, "role": "state_admin", "jurisdiction": "MH",
          "ends_on": last_day, "reason": "Posted to the IT cell of the state."}),
    ):
        if "platform" in url:
            client = client_of(world, "superadmin")
        review = parse(client.post(url, {**data, "step": "review"}).content.decode())
        sent = {node.get("name"): node.get("value", "") for node in review.iter()
                if node.tag == "input" and node.get("type") == "hidden" and node.get("name")}
        assert client.post(url, {**sent, "step": "confirm"}).status_code == 302
        again = client.post(url, {**sent, "step": "confirm"})
        assert again.status_code == 302, parse(again.content.decode()).squashed_text()[:600]
