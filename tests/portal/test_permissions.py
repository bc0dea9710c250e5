"""portal.permissions: each question for each kind of user, and the query counts of
its list answers (CONVENTIONS: exact counts, the same at 1 and at 200 objects)."""

from datetime import timedelta

import pytest
from allauth.account.adapter import get_adapter
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from onboarding.application.selectors import APPLICATION_SCOPE
from onboarding.models import Application
from portal import permissions
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record
from portal.client import client_ip
from portal.organisations.models import Membership, MembershipRole, Organisation, OrganisationStatus
from portal.organisations.services import organisation_admin_grant
from tests.factories import ApplicationFactory, OrganisationFactory, PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import second_factor_given, with_totp
from tests.portal import role_helpers
from tests.portal.role_helpers import roles_world as roles_world_fixture  # noqa: F401 (the roles_world fixture)
from tests.verification.helpers import GovernmentProfileFactory
from verification import services as verification_services
from verification.models import GovernmentProfile
from verification.visibility.rules import administered_in_force

pytestmark = pytest.mark.django_db

PEOPLE = [
    "anonymous", "public", "officer", "member", "admin_of_office", "admin_of_parent", "admin_of_other",
    "state_admin_mh", "state_admin_ka", "auditor_mh", "auditor_all", "superadmin",
]


@pytest.fixture
def world():
    """A state department (parent) with a district office below it in Maharashtra, an
    unrelated Karnataka office, a submitted application of the district office and a
    draft of the same officer, and one person of each kind."""
    parent = OrganisationFactory(state="MH")
    office = OrganisationFactory(state="MH", parent=parent)
    other = OrganisationFactory(state="KA")
    officer = UserFactory()
    submitted = ApplicationFactory(nodal_officer=officer, organisation=office, jurisdiction="MH", status="with_state")
    draft = ApplicationFactory(nodal_officer=officer, jurisdiction="MH", status="draft", reference=None)
    people = {"anonymous": AnonymousUser(), "public": UserFactory(), "officer": officer}
    people["member"] = UserFactory()
    Membership.objects.create(organisation=office, user=people["member"])
    for name, organisation in (("admin_of_office", office), ("admin_of_parent", parent), ("admin_of_other", other)):
        people[name] = UserFactory()
        assign_perm(permissions.ADMINISTER_ORGANISATION, people[name], organisation)
    for name, role, jurisdiction in (
        ("state_admin_mh", "state_admin", "MH"), ("state_admin_ka", "state_admin", "KA"),
        ("auditor_mh", "auditor", "MH"), ("auditor_all", "auditor", ""), ("superadmin", "superadmin", ""),
    ):
        people[name] = PlatformRoleFactory(role=role, jurisdiction=jurisdiction).user
    return {"parent": parent, "office": office, "other": other, "submitted": submitted, "draft": draft, "people": people}


def fresh(user):
    """The user as the next request sees them (nothing cached on the object)."""
    return user if not user.is_authenticated else User.objects.get(pk=user.pk)


# Who may administer which organisation --------------------------------------------------

ADMINISTERS = {  # person: (office, parent, other)
    "admin_of_office": (True, False, False),
    "admin_of_parent": (True, True, False),
    "admin_of_other": (False, False, True),
    "superadmin": (True, True, True),
}


@pytest.mark.parametrize("who", PEOPLE)
def test_may_administer(world, who):
    expected = ADMINISTERS.get(who, (False, False, False))
    user = world["people"][who]
    assert tuple(permissions.may_administer(user, world[key]) for key in ("office", "parent", "other")) == expected
    administered = set(permissions.administered_organisations(user).values_list("pk", flat=True))
    assert tuple(world[key].pk in administered for key in ("office", "parent", "other")) == expected


@pytest.mark.parametrize("who", PEOPLE)
def test_is_member(world, who):
    assert permissions.is_member(world["people"][who], world["office"]) == (who == "member")
    assert list(permissions.member_organisations(world["people"][who])) == ([world["office"]] if who == "member" else [])


SCOPE = {  # person: organisations in scope among (office, parent, other)
    "admin_of_office": (True, False, False),
    "admin_of_parent": (True, True, False),
    "admin_of_other": (False, False, True),
    "state_admin_mh": (True, True, False),
    "state_admin_ka": (False, False, True),
    "auditor_mh": (True, True, False),
    "auditor_all": (True, True, True),
    "superadmin": (True, True, True),
}


@pytest.mark.parametrize("who", PEOPLE)
def test_organisations_in_scope(world, who):
    in_scope = set(permissions.organisations_in_scope(world["people"][who]).values_list("pk", flat=True))
    assert tuple(world[key].pk in in_scope for key in ("office", "parent", "other")) == SCOPE.get(who, (False, False, False))


# Who suspends and reactivates which organisation ------------------------------------------

CHANGES_STATUS = {  # person: (office, parent, other)
    "state_admin_mh": (True, True, False),
    "state_admin_ka": (False, False, True),
    "superadmin": (True, True, True),
}


@pytest.mark.parametrize("who", PEOPLE)
def test_may_change_organisation_status(world, who):
    """A superadmin suspends and reactivates any organisation, a state administrator those
    of their state; an organisation's own admins, those above it, auditors, its nodal
    officer and members none."""
    expected = CHANGES_STATUS.get(who, (False, False, False))
    user = world["people"][who]
    keys = ("office", "parent", "other")
    assert tuple(permissions.may_change_organisation_status(user, world[key]) for key in keys) == expected
    changeable = set(permissions.organisations_status_changeable(user).values_list("pk", flat=True))
    assert tuple(world[key].pk in changeable for key in keys) == expected
    assert permissions.RULES["organisation_status"](user) == (who in CHANGES_STATUS)


def test_a_central_administrator_suspends_the_central_organisations_only(world):
    """The centre is a jurisdiction of its own: its administrator changes the status of the
    central organisations (of central level, or with no state), a state's administrator
    none of them, even one of central level that names a state."""
    ministry = OrganisationFactory(level="central", state="")
    named_state = OrganisationFactory(level="central", state="MH")
    central = fresh(PlatformRoleFactory(role="state_admin", jurisdiction="CENTRAL").user)
    for organisation in (ministry, named_state):
        assert permissions.may_change_organisation_status(central, organisation)
        assert not permissions.may_change_organisation_status(fresh(world["people"]["state_admin_mh"]), organisation)
    assert not any(permissions.may_change_organisation_status(central, world[key]) for key in ("office", "parent", "other"))
    assert set(permissions.organisations_status_changeable(central)) == {ministry, named_state}
    mh = set(permissions.organisations_status_changeable(fresh(world["people"]["state_admin_mh"])))
    assert mh == {world["office"], world["parent"]}


def test_a_state_admin_of_everywhere_changes_the_status_of_every_organisation(world):
    admin = fresh(PlatformRoleFactory(role="state_admin", jurisdiction="").user)
    assert all(permissions.may_change_organisation_status(admin, world[key]) for key in ("office", "parent", "other"))
    assert permissions.organisations_status_changeable(admin).count() == Organisation.objects.count()


def test_a_state_admin_who_is_also_an_auditor_suspends_nothing(world):
    """An auditor changes nothing, whatever other role the account holds."""
    admin = world["people"]["state_admin_mh"]
    PlatformRoleFactory(user=admin, role="auditor", jurisdiction="KA")
    admin = fresh(admin)
    assert not permissions.may_change_organisation_status(admin, world["office"])
    assert not permissions.organisations_status_changeable(admin).exists()
    assert not permissions.RULES["organisation_status"](admin)


# Who changes and who reads which organisation's details ---------------------------------------

# (office, parent, other): who changes them are those who change its status (CHANGES_STATUS);
# its own admins and those above it read them.
READS_DETAILS = {
    "admin_of_office": (True, False, False),
    "admin_of_parent": (True, True, False),
    "admin_of_other": (False, False, True),
    "state_admin_mh": (True, True, False),
    "state_admin_ka": (False, False, True),
    "superadmin": (True, True, True),
}


@pytest.mark.parametrize("who", PEOPLE)
def test_who_changes_and_who_reads_an_organisations_details(world, who):
    """A superadmin changes any organisation's name, short code and district, a state
    administrator those of their state; an organisation's own admins, and those above it,
    read them and change nothing; auditors, its nodal officer, members and the public
    neither. The view rule lets in whoever reads some."""
    user = world["people"][who]
    keys = ("office", "parent", "other")
    assert tuple(permissions.may_change_organisation_details(user, world[key]) for key in keys) == CHANGES_STATUS.get(
        who, (False, False, False))
    assert tuple(permissions.may_see_organisation_details(user, world[key]) for key in keys) == READS_DETAILS.get(
        who, (False, False, False))
    assert permissions.RULES["organisation_details"](user) == (who in READS_DETAILS)


def test_a_central_administrator_changes_the_details_of_the_central_organisations_only(world):
    ministry = OrganisationFactory(level="central", state="")
    central = fresh(PlatformRoleFactory(role="state_admin", jurisdiction="CENTRAL").user)
    assert permissions.may_change_organisation_details(central, ministry)
    assert not permissions.may_change_organisation_details(fresh(world["people"]["state_admin_mh"]), ministry)
    assert not any(permissions.may_change_organisation_details(central, world[key]) for key in ("office", "parent", "other"))
    assert not any(permissions.may_see_organisation_details(central, world[key]) for key in ("office", "parent", "other"))


def test_an_admin_who_is_also_an_auditor_reads_the_details_and_a_state_admin_auditor_changes_none(world):
    admin = world["people"]["state_admin_mh"]
    PlatformRoleFactory(user=admin, role="auditor", jurisdiction="KA")
    admin = fresh(admin)
    assert not permissions.may_change_organisation_details(admin, world["office"])
    assert not permissions.may_see_organisation_details(admin, world["office"])
    assert not permissions.RULES["organisation_details"](admin)


# (office, parent, other) with the office suspended, then with the department above it
# suspended: a suspended organisation's own admins still read its details (why and since when
# it is suspended is theirs to know) and change nothing; never those of the offices below it.
READS_DETAILS_OFFICE_SUSPENDED = {**READS_DETAILS, "admin_of_office": (True, False, False)}
READS_DETAILS_PARENT_SUSPENDED = {**READS_DETAILS, "admin_of_parent": (False, True, False)}


@pytest.mark.parametrize("suspended", ["office", "parent"])
@pytest.mark.parametrize("who", PEOPLE)
def test_who_reads_a_suspended_organisations_details(world, who, suspended):
    """A suspended organisation's own admins (whose role counts for nothing while it is
    suspended) read its details page and change nothing; an admin of a suspended department
    reads none of the offices below it; everyone else as when it is active."""
    Organisation.objects.filter(pk=world[suspended].pk).update(status=OrganisationStatus.SUSPENDED)
    keys = ("office", "parent", "other")
    for key in keys:
        world[key].refresh_from_db()
    user = fresh(world["people"][who])
    expected = (READS_DETAILS_OFFICE_SUSPENDED if suspended == "office" else READS_DETAILS_PARENT_SUSPENDED)
    assert tuple(permissions.may_change_organisation_details(user, world[key]) for key in keys) == CHANGES_STATUS.get(
        who, (False, False, False))
    assert tuple(permissions.may_see_organisation_details(user, world[key]) for key in keys) == expected.get(
        who, (False, False, False))
    assert permissions.RULES["organisation_details"](user) == (who in expected)
    if who == f"admin_of_{suspended}":  # reading is all: they act for nothing
        assert not permissions.may_administer(user, world[suspended])
    assert permissions.RULES["organisation_status"](user) == (who in CHANGES_STATUS)


def test_a_deactivated_admin_of_a_suspended_organisation_reads_nothing(world):
    Organisation.objects.filter(pk=world["office"].pk).update(status=OrganisationStatus.SUSPENDED)
    world["office"].refresh_from_db()
    admin = fresh(world["people"]["admin_of_office"])
    assert permissions.may_see_organisation_details(admin, world["office"])
    User.objects.filter(pk=admin.pk).update(is_active=False)
    admin = fresh(admin)
    assert not permissions.may_see_organisation_details(admin, world["office"])
    assert not permissions.RULES["organisation_details"](admin)


# Which applications each person sees ------------------------------------------------------

SEES = {  # person: (the submitted application, the draft)
    "officer": (True, True),
    "admin_of_office": (True, False),
    "admin_of_parent": (True, False),
    "state_admin_mh": (True, False),
    "auditor_mh": (True, False),
    "auditor_all": (True, False),
    "superadmin": (True, True),
}


@pytest.mark.parametrize("who", PEOPLE)
def test_visible_applications(world, who):
    user = world["people"][who]
    expected = SEES.get(who, (False, False))
    visible = set(permissions.visible(user, Application.objects.all(), APPLICATION_SCOPE).values_list("pk", flat=True))
    assert (world["submitted"].pk in visible, world["draft"].pk in visible) == expected
    assert (permissions.can_view(user, world["submitted"], APPLICATION_SCOPE),
            permissions.can_view(user, world["draft"], APPLICATION_SCOPE)) == expected
    assert permissions.is_owner(user, world["submitted"], APPLICATION_SCOPE) == (who == "officer")


RULES = {  # person: (superadmin rule, state_admin rule)
    "state_admin_mh": (False, True),
    "state_admin_ka": (False, True),
    "superadmin": (True, True),
}


@pytest.mark.parametrize("who", [p for p in PEOPLE if p != "anonymous"])
def test_view_rules_and_jurisdictions(world, who):
    user = world["people"][who]
    assert (permissions.RULES["superadmin"](user), permissions.RULES["state_admin"](user)) == RULES.get(who, (False, False))
    decided = permissions.decided_jurisdictions(user)
    assert decided == {"superadmin": None, "state_admin_mh": {"MH"}, "state_admin_ka": {"KA"}}.get(who, set())
    assert permissions.needs_second_factor(user) == (who in RULES or who.startswith("auditor"))


@pytest.mark.parametrize("who", [p for p in PEOPLE if p != "anonymous"])
def test_only_superadmins_change_the_approval_timings(world, who, client):
    """The rule of the approval timings' page, and the page itself, for every kind of person:
    officers, organisation admins, state administrators and auditors (of one state or all)
    are refused; a superadmin opens it."""
    user = world["people"][who]
    assert permissions.RULES["approval_timings"](user) == (who == "superadmin")
    if permissions.needs_second_factor(user):
        with_totp(user)
    client.force_login(user)
    second_factor_given(client, user)
    assert client.get("/onboarding/timings/").status_code == (200 if who == "superadmin" else 403)


@pytest.mark.parametrize("audited", ["MH", "KA", ""])
def test_a_state_admin_who_is_also_an_auditor_decides_nothing(world, audited):
    """An auditor changes nothing, whatever other role the account holds: a state
    administrator who is also an auditor (of their state, another or everywhere) decides
    no state step (nor edits the adoption tracker's lists, which follow the same
    jurisdictions) and is not among those told a step waits on them; they still read
    their state's submitted applications."""
    admin = world["people"]["state_admin_mh"]
    PlatformRoleFactory(user=admin, role="auditor", jurisdiction=audited)
    admin = fresh(admin)
    assert permissions.is_state_admin(admin) and permissions.auditor_reads_only(admin)
    assert permissions.decided_jurisdictions(admin) == set()
    assert permissions.can_view(admin, world["submitted"], APPLICATION_SCOPE)
    assert admin.email not in permissions.state_admin_emails(["MH"]).get("MH", [])


def test_a_state_admin_of_everywhere_who_is_also_an_auditor_decides_nothing(world):
    admin = PlatformRoleFactory(role="state_admin", jurisdiction="").user
    assert admin.email in permissions.state_admin_emails(["MH"])["MH"]
    PlatformRoleFactory(user=admin, role="auditor", jurisdiction="MH")
    assert permissions.decided_jurisdictions(fresh(admin)) == set()
    assert admin.email not in permissions.state_admin_emails(["MH"]).get("MH", [])


@pytest.mark.parametrize("how", ["grant", "django_superuser"])
def test_a_superadmin_who_is_also_an_auditor_and_a_state_admin_still_decides(world, how):
    admin = world["people"]["state_admin_mh"]
    PlatformRoleFactory(user=admin, role="auditor", jurisdiction="")
    if how == "grant":
        PlatformRoleFactory(user=admin, role="superadmin", jurisdiction="")
    else:
        User.objects.filter(pk=admin.pk).update(is_superuser=True)
    admin = fresh(admin)
    assert not permissions.auditor_reads_only(admin) and permissions.decided_jurisdictions(admin) is None
    assert admin.email in permissions.state_admin_emails(["MH"])["MH"]


def test_an_ended_auditor_role_gives_the_state_admin_their_decisions_back(world):
    admin = world["people"]["state_admin_mh"]
    grant = PlatformRoleFactory(user=admin, role="auditor", jurisdiction="MH")
    assert permissions.decided_jurisdictions(fresh(admin)) == set()
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at"])
    assert permissions.decided_jurisdictions(fresh(admin)) == {"MH"}
    assert admin.email in permissions.state_admin_emails(["MH"])["MH"]


# Rights end at the next request -------------------------------------------------------------

def test_a_revoked_platform_role_ends_access_at_the_next_request(world):
    admin = world["people"]["state_admin_mh"]
    assert permissions.can_view(fresh(admin), world["submitted"], APPLICATION_SCOPE)
    admin.platform_roles.update(revoked_at=timezone.now())
    assert not permissions.can_view(fresh(admin), world["submitted"], APPLICATION_SCOPE)
    assert permissions.decided_jurisdictions(fresh(admin)) == set()


def test_a_removed_object_role_ends_access_at_the_next_request(world):
    admin, officer = world["people"]["admin_of_parent"], world["people"]["officer"]
    remove_perm(permissions.ADMINISTER_ORGANISATION, admin, world["parent"])
    assert not permissions.may_administer(fresh(admin), world["office"])
    assert not permissions.can_view(fresh(admin), world["submitted"], APPLICATION_SCOPE)
    remove_perm(APPLICATION_SCOPE.owner_perm, officer, world["draft"])
    assert not permissions.can_view(fresh(officer), world["draft"], APPLICATION_SCOPE)


def test_moving_an_office_moves_who_administers_it(world):
    office, parent, other = world["office"], world["parent"], world["other"]
    below = OrganisationFactory(parent=office)
    assert below.ancestry == f"/{parent.pk}/{office.pk}/"
    office.parent = other
    office.save(update_fields=["parent"])
    below.refresh_from_db()
    assert below.ancestry == f"/{other.pk}/{office.pk}/"
    assert permissions.may_administer(fresh(world["people"]["admin_of_other"]), below)
    assert not permissions.may_administer(fresh(world["people"]["admin_of_parent"]), below)
    parent.parent = below  # not a cycle: below is no longer under parent
    parent.save()
    assert parent.ancestry == f"/{other.pk}/{office.pk}/{below.pk}/"
    office.parent = below
    with pytest.raises(ValueError, match="under itself"):
        office.save()


# An admin role resting on a verification past its date of superannuation ---------------------

def _verified(organisation, admin, email):
    """A person verified in ``organisation`` by ``admin`` (a member there, as verification keeps it)."""
    person = UserFactory(email=email)
    held = GovernmentProfileFactory(user=person, organisation=organisation, official_email=email)
    verification_services.join_request_decide(profile_id=held.pk, decision="verify", actor=admin)
    return person, held


@pytest.fixture
def lapsed():
    """Ravi, verified in a district office and made admin of the department above it as its
    member, then past his date of superannuation: the hourly job has not yet ended the
    verification, nor the role resting on it. Asha, verified in the office, is no admin."""
    parent = OrganisationFactory(name="Agriculture Department, Maharashtra", state="MH")
    office = OrganisationFactory(name="District Agriculture Office, Pune", state="MH", parent=parent)
    first = role_helpers.make_admin(parent, email="first@mahaagri.gov.in")
    ravi, held = _verified(office, first, "ravi.rao@pune.mahaagri.gov.in")
    asha, _profile = _verified(office, first, "asha.kulkarni@pune.mahaagri.gov.in")
    organisation_admin_grant(organisation_id=parent.pk, user_id=ravi.pk, actor=first)
    with_totp(ravi)
    GovernmentProfile.objects.filter(pk=held.pk).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    return {"parent": parent, "office": office, "ravi": fresh(ravi), "asha": asha}


def test_an_admin_role_resting_on_a_lapsed_verification_counts_for_nothing_from_the_next_request(lapsed):
    """Past the date of superannuation of the verification an admin role rests on, the
    role gives no right from the next request, in every question of the core as on the
    verification pages (administered_in_force), before the hourly job ends it."""
    ravi, parent, office = lapsed["ravi"], lapsed["parent"], lapsed["office"]
    assert not administered_in_force(ravi).exists()
    for organisation in (parent, office):
        assert not permissions.may_administer(ravi, organisation)
        assert not permissions.may_grant_admin(ravi, organisation)
    assert not permissions.administered_organisations(fresh(ravi)).exists()
    assert not permissions.administers_some_organisation(fresh(ravi))
    assert not permissions.may_manage_roles(fresh(ravi))
    assert not permissions.organisations_in_scope(fresh(ravi)).filter(pk__in=[parent.pk, office.pk]).exists()


def test_a_lapsed_admin_neither_grants_an_admin_role_nor_opens_the_dashboards(lapsed):
    """Through the pages (the user and their roles read in one compiled query per request)."""
    client = role_helpers.client_of(lapsed, "ravi")
    asha, office = lapsed["asha"], lapsed["office"]
    grant_url = f"/portal/roles/organisations/{office.pk}/grant/"
    data = {"user": asha.pk, "ends_on": "", "reason": "Heads the establishment section.", "step": "confirm"}
    assert client.post(grant_url, data).status_code == 404
    assert Membership.objects.get(user=asha, organisation=office).role == MembershipRole.MEMBER
    assert client.get(f"/portal/roles/organisations/{office.pk}/").status_code == 404
    assert client.get("/monitoring/").status_code == 403
    assert client.get("/portal/roles/").status_code == 403


# An admin role of an organisation that is not active ---------------------------------------------

def test_an_admin_of_a_suspended_organisation_acts_for_nothing_below_it(world):
    """An admin role counts only while the organisation it was granted on is active (as it
    counts for viewing, verification.visibility.rules): while a department is suspended,
    its admin acts neither for it nor for the active offices below it; a superadmin does."""
    parent, office = world["parent"], world["office"]
    admin, superadmin = world["people"]["admin_of_parent"], world["people"]["superadmin"]
    assert permissions.may_administer(admin, office)
    Organisation.objects.filter(pk=parent.pk).update(status=OrganisationStatus.SUSPENDED)
    admin = fresh(admin)
    for organisation in (office, parent):
        assert not permissions.may_administer(admin, organisation)
        assert not permissions.may_grant_admin(admin, organisation)
        assert permissions.may_grant_admin(fresh(superadmin), organisation)
    assert not permissions.administered_organisations(fresh(admin)).exists()
    assert not permissions.administers_some_organisation(fresh(admin))
    assert not permissions.organisations_in_scope(fresh(admin)).exists()
    assert not permissions.can_view(fresh(admin), world["submitted"], APPLICATION_SCOPE)
    assert permissions.may_administer(fresh(world["people"]["admin_of_office"]), office)  # its own role, active


def test_an_admin_of_a_suspended_organisation_grants_no_role_below_it_nor_opens_its_dashboards():
    parent = OrganisationFactory(name="Agriculture Department, Maharashtra", state="MH")
    office = OrganisationFactory(name="District Agriculture Office, Pune", state="MH", parent=parent)
    admin = role_helpers.make_admin(parent, email="admin@mahaagri.gov.in")
    member = role_helpers.make_member(office, email="asha.kulkarni@pune.mahaagri.gov.in")
    with_totp(admin)
    Organisation.objects.filter(pk=parent.pk).update(status=OrganisationStatus.SUSPENDED)
    client = role_helpers.client_of({"admin": admin}, "admin")
    data = {"user": member.pk, "ends_on": "", "reason": "Heads the establishment section.", "step": "confirm"}
    assert client.post(f"/portal/roles/organisations/{office.pk}/grant/", data).status_code == 404
    assert Membership.objects.get(user=member, organisation=office).role == MembershipRole.MEMBER
    assert client.get("/portal/roles/").status_code == 403
    assert client.get("/monitoring/").status_code == 403


# A deactivated account holds no right ---------------------------------------------------------
#
# It cannot sign in, but a session opened before, or a task or command acting as it, still
# reaches the services with it as the actor: every answer is the one an outsider gets.

def inactive(user):
    """The account deactivated, as the next request (or a task loading it) sees it."""
    User.objects.filter(pk=user.pk).update(is_active=False)
    return fresh(user)


@pytest.mark.parametrize("who", ["state_admin_mh", "auditor_all", "superadmin"])
def test_a_deactivated_account_holds_no_platform_role(world, who):
    user = inactive(world["people"][who])
    assert permissions.platform_roles_of(user) == set()
    assert not (permissions.is_superadmin(user) or permissions.is_state_admin(user) or permissions.is_auditor(user))
    assert permissions.decided_jurisdictions(user) == set() and permissions.watched_jurisdictions(user) == set()
    assert permissions.state_admin_jurisdictions(user) == set()


def test_a_deactivated_superuser_is_no_superadmin(world):
    user = inactive(UserFactory(is_superuser=True, is_staff=True))
    assert not permissions.is_superadmin(user) and not permissions.may_grant_platform_roles(user)
    assert not permissions.may_administer(user, world["office"])


@pytest.mark.parametrize("who", ["admin_of_office", "admin_of_parent", "superadmin"])
def test_a_deactivated_account_administers_nothing(world, who):
    user = inactive(world["people"][who])
    assert not any(permissions.may_administer(user, world[key]) for key in ("office", "parent", "other"))
    assert not permissions.administers_some_organisation(user)
    assert list(permissions.administered_organisations(user)) == []
    assert list(permissions.organisations_in_scope(user)) == []


def test_a_deactivated_account_is_a_member_of_nothing(world):
    user = inactive(world["people"]["member"])
    assert not permissions.is_member(user, world["office"])
    assert list(permissions.member_organisations(user)) == []


@pytest.mark.parametrize("who", ["officer", "admin_of_office", "state_admin_mh", "superadmin"])
def test_a_deactivated_account_sees_and_owns_no_application(world, who):
    user = inactive(world["people"][who])
    assert list(permissions.visible(user, Application.objects.all(), APPLICATION_SCOPE)) == []
    assert list(permissions.owned(user, Application.objects.all(), APPLICATION_SCOPE)) == []
    assert not permissions.can_view(user, world["submitted"], APPLICATION_SCOPE)
    assert not permissions.is_owner(user, world["submitted"], APPLICATION_SCOPE)


@pytest.mark.parametrize("who", ["admin_of_office", "admin_of_parent", "state_admin_mh", "auditor_all", "superadmin"])
def test_a_deactivated_account_grants_no_role_and_passes_no_role_rule(world, who):
    user = inactive(world["people"][who])
    assert not permissions.may_grant_platform_roles(user)
    assert not any(permissions.may_grant_admin(user, world[key]) for key in ("office", "parent", "other"))
    assert not permissions.may_manage_roles(user) and not permissions.may_read_role_report(user)
    assert list(permissions.organisations_for_role_admin(user)) == []
    role_rules = {name: question for name, question in permissions.RULES.items()
                  if question is not None and not question(AnonymousUser())}
    assert {name for name, question in role_rules.items() if question(user)} == set()


def test_a_deactivated_actor_changes_no_role(world):
    """The services ask the same questions: a superadmin or an admin whose account was
    deactivated meanwhile grants nothing."""
    from django.core.exceptions import PermissionDenied

    from portal.organisations.services import organisation_admin_grant, platform_role_grant

    root, admin = inactive(world["people"]["superadmin"]), inactive(world["people"]["admin_of_parent"])
    with pytest.raises(PermissionDenied):
        platform_role_grant(user=world["people"]["public"], role="auditor", jurisdiction="", actor=root)
    for actor in (root, admin):
        with pytest.raises(PermissionDenied):
            organisation_admin_grant(organisation_id=world["office"].pk, user_id=world["people"]["member"].pk,
                                     actor=actor)


# Query counts of the list answers --------------------------------------------------------

def _offices(parent, count):
    return Organisation.objects.bulk_create(
        [Organisation(name=f"Office {i}", org_type="district_office", level="district", state="MH", parent=parent,
                      ancestry=parent.subtree_prefix, status="active") for i in range(count)]
    )


@pytest.mark.parametrize("count", [1, 200])
def test_administered_organisations_query_count(world, count, django_assert_num_queries):
    _offices(world["parent"], count)
    admin = fresh(world["people"]["admin_of_parent"])
    # 1 the platform roles (a superadmin sees everything), 2 the organisations.
    with django_assert_num_queries(2):
        administered = list(permissions.administered_organisations(admin))
    assert len(administered) == count + 2  # the parent, the office, the new ones


@pytest.mark.parametrize("count", [1, 200])
@pytest.mark.parametrize("who", ["officer", "admin_of_parent", "state_admin_mh", "superadmin"])
def test_visible_applications_query_count(world, count, who, django_assert_num_queries):
    officer = world["people"]["officer"]
    ApplicationFactory.create_batch(count, nodal_officer=officer, organisation=world["office"], jurisdiction="MH")
    user = fresh(world["people"][who])
    # 1 the platform roles, 2 the applications (ownership and scope are subqueries).
    with django_assert_num_queries(2):
        visible = list(permissions.visible(user, Application.objects.all(), APPLICATION_SCOPE))
    assert len(visible) == count + (2 if who in ("officer", "superadmin") else 1)


# The client's address behind proxies -------------------------------------------------------

def test_the_client_address_is_the_peer_without_trusted_proxies(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert client_ip(request) == "10.0.0.2"  # a header anyone can send is not believed


def test_a_forwarded_request_while_no_proxy_is_trusted_is_said_once_in_the_log(settings, caplog, monkeypatch):
    """Behind a reverse proxy with PORTAL_TRUSTED_PROXY_COUNT left at 0, every client is the
    proxy (one rate-limit count for all, its address in every audit row) and nothing said so:
    the first request that carries X-Forwarded-For then puts a warning in the process's log,
    without the header or an address; once."""
    from portal import client

    monkeypatch.setattr(client, "_forwarding_told", False)
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    client_ip(RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5"))
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    client_ip(RequestFactory().get("/", REMOTE_ADDR="10.0.0.2"))
    assert [r for r in caplog.records if r.name == "portal.client"] == []
    for _ in range(3):
        assert client_ip(RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5")) == (
            "10.0.0.2")
    [told] = [r for r in caplog.records if r.name == "portal.client"]
    assert told.levelname == "WARNING" and "PORTAL_TRUSTED_PROXY_COUNT" in told.getMessage()
    assert "203.0.113.5" not in told.getMessage() and "10.0.0.2" not in told.getMessage()


def test_the_client_address_behind_one_trusted_proxy(settings, officer):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    # The proxy appends the address it saw; what the client put before it is not believed.
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.5")
    assert client_ip(request) == "203.0.113.5"
    audit_record(actor=officer, action="application.created", request=request)
    assert AuditEvent.objects.get().ip == "203.0.113.5"
    # A request that did not come through the proxy: its own address.
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="10.0.0.9")) == "10.0.0.9"



@pytest.mark.parametrize("url,data,status", [
    ("/accounts/login/", {"login": "someone@mahaagri.gov.in", "password": "wrong-password"}, 200),
    ("/accounts/password/reset/", {"email": "someone@mahaagri.gov.in"}, 302),
    ("/accounts/signup/", {"email": "new@mahaagri.gov.in", "password1": "Zq9!xkw8Lmn2", "password2": "Zq9!xkw8Lmn2"}, 302),
])
def test_fewer_forwarded_hops_than_trusted_proxies_is_the_peers_address_for_allauth_too(settings, url, data, status):
    """Two trusted proxies (a load balancer before nginx) and a request that reached nginx
    without the first: allauth's rate limits read the same address as the portal (the peer's),
    and the account pages answer; allauth's own reading raised ImproperlyConfigured, a 500."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    request = RequestFactory().post(url, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert get_adapter(request).get_client_ip(request) == client_ip(request) == "10.0.0.2"
    cache.clear()
    response = Client(raise_request_exception=False).post(
        url, data, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == status, response.status_code
    cache.clear()

# A Django superuser (the site's break-glass account, a superadmin of the portal) -------------

@pytest.fixture
def root():
    from tests.onboarding.approval_helpers import with_totp

    user = UserFactory(email="root@nic.in", is_superuser=True, is_staff=True)
    with_totp(user)
    return user


def root_client(root):
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.force_login(root)
    second_factor_given(client, root)
    return client


def test_a_superuser_owns_only_their_own_applications(root, officer):
    """Owning an application makes one its nodal officer, who alone edits, submits and
    withdraws it: a superuser reads every one (``visible``) and owns what they started."""
    from tests.onboarding.form_helpers import new_application

    theirs, others = new_application(root), new_application(officer)
    owned = permissions.owned(root, Application.objects.all(), APPLICATION_SCOPE)
    assert list(owned.values_list("pk", flat=True)) == [theirs.pk]
    visible = permissions.visible(root, Application.objects.all(), APPLICATION_SCOPE)
    assert set(visible.values_list("pk", flat=True)) == {theirs.pk, others.pk}


def test_a_superuser_has_the_officers_pages_of_their_own_draft_only(root, officer):
    """"My applications" and a draft's pages answer a superuser (they answered 500: the
    query built once per process lost its user), and another officer's application is not
    theirs to withdraw, from its page or through the service."""
    from django.core.exceptions import PermissionDenied

    from onboarding.application import services
    from onboarding.models import ApplicationStatus
    from tests.onboarding.form_helpers import new_application

    client = root_client(root)
    draft = new_application(root)
    assert client.get("/onboarding/").status_code == 200
    assert client.get(f"/onboarding/{draft.pk}/tasks/").status_code == 200
    others = new_application(officer)
    response = client.post(f"/onboarding/{others.pk}/withdraw/", {"confirm": "yes", "reason": "Not mine."})
    assert response.status_code == 404
    with pytest.raises(PermissionDenied):
        services.application_withdraw(application_id=others.pk, actor=root, reason="Not mine.")
    others.refresh_from_db()
    assert others.status == ApplicationStatus.DRAFT



# A central organisation that records a state (a ministry's regional office) is the centre's ------------------

@pytest.fixture
def central_in_mh(roles_world):
    office = OrganisationFactory(name="Regional Office of the Ministry of Jal Shakti", short_code="MOJS-RO",
                                 level="central", state="MH")
    assert office.jurisdiction == "CENTRAL"
    role_helpers.make_admin(office, email="ro.admin@jalshakti.gov.in", full_name="Central Regional Admin")
    return office


def test_a_state_administrator_reads_no_admin_of_a_central_organisation_in_their_state_in_the_role_report(
        roles_world, central_in_mh):
    """The role report of a Maharashtra administrator listed the admins (names, addresses) of
    a central organisation recording Maharashtra: theirs to read nowhere else."""
    client = role_helpers.client_of(roles_world, "state_admin_mh")
    html = client.get("/portal/roles/report/").content.decode()
    assert "admin@mahaagri.gov.in" in html and "ro.admin@jalshakti.gov.in" not in html
    csv = b"".join(client.get("/portal/roles/report.csv", HTTP_SEC_FETCH_SITE="same-origin").streaming_content).decode()
    assert "admin@mahaagri.gov.in" in csv and "ro.admin@jalshakti.gov.in" not in csv
    from tests.monitoring.conftest import platform_user
    from tests.onboarding.approval_helpers import signed_in

    central = signed_in(platform_user("state_admin", "CENTRAL", "central.admin@nic.in"))
    assert "ro.admin@jalshakti.gov.in" in central.get("/portal/roles/report/").content.decode()


def test_a_state_administrator_does_not_monitor_a_central_organisation_in_their_state(roles_world, central_in_mh):
    client = role_helpers.client_of(roles_world, "state_admin_mh")
    html = client.get("/monitoring/").content.decode()
    assert "AGRI-MH" in html and "MOJS-RO" not in html
    response = client.get("/monitoring/organisations.csv", HTTP_SEC_FETCH_SITE="same-origin")
    body = (b"".join(response.streaming_content) if response.streaming else response.content).decode()
    assert "AGRI-MH" in body and "MOJS-RO" not in body


def test_an_auditor_of_a_state_reads_no_event_of_a_central_organisation_in_their_state(roles_world, central_in_mh):
    from portal.audit.models import AuditAction
    from tests.monitoring.conftest import platform_user
    from tests.onboarding.approval_helpers import signed_in

    for organisation in (roles_world["parent"], central_in_mh):
        audit_record(actor=roles_world["superadmin"], action=AuditAction.ORGANISATION_ACTIVATED, target=organisation)
    html = signed_in(platform_user("auditor", "MH", "auditor.mh@nic.in")).get("/monitoring/audit/").content.decode()
    assert "Agriculture Department, Maharashtra" in html and "Regional Office of the Ministry of Jal Shakti" not in html
