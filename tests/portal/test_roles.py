"""Granting and revoking roles, by service: every grant each role may and may not make
(above its own, its own, the last admin, with an ended role), end dates that end a
role at once in every permission check, the beat job that records each expiry once,
guardian's object permissions in step with the admin memberships, and the audit rows."""

import re
from datetime import datetime, time, timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm, get_perms

from portal import permissions
from portal.accounts.models import User
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_verify
from portal.limits import shown_from
from portal.mail.models import OutboxMessage
from portal.organisations.models import (
    Membership,
    MembershipRole,
    Organisation,
    PlatformRole,
    PlatformRoleGrant,
    in_force_q,
)
from portal.organisations.selectors import organisations_left_without_admin
from portal.organisations.services import (
    LastAdmin,
    LastSuperadmin,
    OutlastsGranter,
    official_powers_end,
    organisation_admin_grant,
    organisation_admin_revoke,
    organisation_admins_lapse,
    platform_role_grant,
    platform_role_revoke,
    role_expiries_record,
)
from portal.organisations.tasks import role_expiries_record as role_expiries_task
from tests.factories import UserFactory
from tests.html_tree import field_error, field_value, page, parse, printed_controls, printed_text
from tests.onboarding.approval_helpers import post_confirming_access, with_totp
from tests.portal.role_helpers import client_of, make_admin, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(roles_world):
    return roles_world

ACTORS = ["superadmin", "state_admin_mh", "state_admin_ka", "auditor", "admin_office", "admin_parent", "admin_other",
          "member", "public"]


def fresh(user):
    """The user as their next request sees them (no roles cached on the object)."""
    return User.objects.get(pk=user.pk)


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def admin_perms(user, organisation):
    return sorted(get_perms(fresh(user), organisation))


# Platform roles: only superadmins grant them ---------------------------------------------------

PLATFORM_GRANTS = [("superadmin", ""), ("state_admin", "MH"), ("state_admin", "CENTRAL"), ("auditor", "MH"), ("auditor", "")]


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize(("role", "jurisdiction"), PLATFORM_GRANTS)
def test_who_grants_which_platform_role(world, who, role, jurisdiction):
    person = UserFactory(email="new.officer@maharashtra.gov.in")
    actor = fresh(world[who])
    if who == "superadmin":
        grant = platform_role_grant(user=person, role=role, jurisdiction=jurisdiction, reason="Posted to the cell.",
                                    actor=actor)
        assert permissions.platform_roles_of(fresh(person)) == {(role, jurisdiction)}
        assert grant.granted_by == world["superadmin"]
        [event] = events(AuditAction.PLATFORM_ROLE_GRANTED)
        assert event.new_values == {"grant": grant.pk, "role": role, "jurisdiction": jurisdiction,
                                    "reason": "Posted to the cell."}
        return
    # Nobody else: a state administrator or an auditor ranks above an organisation admin
    # but grants nothing; nobody grants a role above their own.
    with pytest.raises(PermissionDenied):
        platform_role_grant(user=person, role=role, jurisdiction=jurisdiction, actor=actor)
    assert not PlatformRoleGrant.objects.filter(user=person).exists()
    assert not events(AuditAction.PLATFORM_ROLE_GRANTED)


@pytest.mark.parametrize("who", ACTORS)
def test_who_revokes_a_platform_role(world, who):
    grant = PlatformRoleGrant.objects.get(user=world["state_admin_ka"])
    if who == "superadmin":
        platform_role_revoke(grant_id=grant.pk, reason="Transferred.", actor=fresh(world[who]))
        assert permissions.platform_roles_of(fresh(world["state_admin_ka"])) == set()
        [event] = events(AuditAction.PLATFORM_ROLE_REVOKED)
        assert event.new_values["reason"] == "Transferred."
        return
    with pytest.raises(PermissionDenied):
        platform_role_revoke(grant_id=grant.pk, actor=fresh(world[who]))
    assert permissions.platform_roles_of(fresh(world["state_admin_ka"])) == {("state_admin", "KA")}


def test_nobody_grants_changes_or_revokes_a_platform_role_of_their_own(world):
    root = fresh(world["superadmin"])
    own = PlatformRoleGrant.objects.get(user=root)
    with pytest.raises(PermissionDenied, match="of their own"):
        platform_role_grant(user=root, role="state_admin", jurisdiction="MH", actor=root)
    with pytest.raises(PermissionDenied, match="of their own"):
        platform_role_grant(user=root, role="superadmin", jurisdiction="", actor=root,
                            ends_at=timezone.now() + timedelta(days=3))  # a change of its end date
    with pytest.raises(PermissionDenied, match="of their own"):
        platform_role_revoke(grant_id=own.pk, actor=root)
    own.refresh_from_db()
    assert (own.revoked_at, own.ends_at) == (None, None)
    assert not AuditEvent.objects.exists()


def test_a_state_administrators_jurisdiction_is_one_state_or_the_centre(world):
    with pytest.raises(ValueError, match="jurisdiction"):
        platform_role_grant(user=world["public"], role="state_admin", jurisdiction="", actor=fresh(world["superadmin"]))


# An organisation's admins: granted in the organisations one administers ----------------------

# Who grants the admin role of (office, parent, other): superadmins everywhere; an
# organisation's admins in it and in the offices below it; nobody else.
GRANTS_ADMIN_OF = {
    "superadmin": (True, True, True),
    "admin_office": (True, False, False),
    "admin_parent": (True, True, False),
    "admin_other": (False, False, True),
}
MEMBER_OF = {"office": "member", "parent": "member_parent", "other": "member_other"}


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("where", ["office", "parent", "other"])
def test_who_grants_the_admin_role_of_which_organisation(world, who, where):
    organisation, person = world[where], world[MEMBER_OF[where]]
    allowed = GRANTS_ADMIN_OF.get(who, (False, False, False))[["office", "parent", "other"].index(where)]
    actor = fresh(world[who])
    if not allowed:
        with pytest.raises(PermissionDenied):
            organisation_admin_grant(organisation_id=organisation.pk, user_id=person.pk, actor=actor)
        assert not permissions.may_administer(fresh(person), organisation)
        assert Membership.objects.get(user=person).role == MembershipRole.MEMBER
        assert not events(AuditAction.MEMBERSHIP_GRANTED)
        return
    membership = organisation_admin_grant(organisation_id=organisation.pk, user_id=person.pk, reason="Section head.",
                                          actor=actor)
    assert (membership.role, membership.is_active, membership.granted_by, membership.member_before_admin) == (
        MembershipRole.ADMIN, True, world[who], True)
    assert permissions.may_administer(fresh(person), organisation)
    assert admin_perms(person, organisation) == ["administer_organisation", "view_organisation_dashboard"]
    [event] = events(AuditAction.MEMBERSHIP_GRANTED)
    assert (event.actor_id, event.target_id) == (world[who].pk, str(organisation.pk))
    assert event.new_values == {"user": person.email, "role": "admin", "reason": "Section head."}
    # ... and revokes it again (another admin remains).
    organisation_admin_revoke(organisation_id=organisation.pk, user_id=person.pk, reason="Transferred.", actor=actor)
    assert not permissions.may_administer(fresh(person), organisation)
    assert admin_perms(person, organisation) == []
    membership.refresh_from_db()
    assert (membership.role, membership.is_active) == (MembershipRole.MEMBER, True)  # still a verified member
    [revoked] = events(AuditAction.MEMBERSHIP_REVOKED)
    assert revoked.old_values == {"user": person.email, "user_id": person.pk, "role": "admin"}
    assert revoked.new_values == {"member": True, "reason": "Transferred."}
    assert audit_verify() == []


@pytest.mark.parametrize("who", ACTORS)
def test_who_revokes_an_admin(world, who):
    office = world["office"]
    second = make_admin(office, email="second.admin@pune.mahaagri.gov.in")
    allowed = who in ("superadmin", "admin_office", "admin_parent")
    if not allowed:
        with pytest.raises(PermissionDenied):
            organisation_admin_revoke(organisation_id=office.pk, user_id=second.pk, actor=fresh(world[who]))
        assert permissions.may_administer(fresh(second), office)
        return
    organisation_admin_revoke(organisation_id=office.pk, user_id=second.pk, actor=fresh(world[who]))
    assert not permissions.may_administer(fresh(second), office)
    # Made admin without being a member here: the membership goes.
    assert not Membership.objects.get(user=second, organisation=office).is_active


def test_an_admin_grants_nothing_above_their_organisation_nor_a_platform_role(world):
    admin = fresh(world["admin_office"])
    with pytest.raises(PermissionDenied):
        organisation_admin_grant(organisation_id=world["parent"].pk, user_id=world["member_parent"].pk, actor=admin)
    with pytest.raises(PermissionDenied):
        organisation_admin_revoke(organisation_id=world["parent"].pk, user_id=world["admin_parent"].pk, actor=admin)
    with pytest.raises(PermissionDenied):
        platform_role_grant(user=world["member"], role="auditor", jurisdiction="MH", actor=admin)


def test_an_auditor_who_also_administers_an_organisation_grants_nothing(world):
    auditor = world["auditor"]
    Membership.objects.create(organisation=world["other"], user=auditor, role=MembershipRole.ADMIN)
    from guardian.shortcuts import assign_perm
    assign_perm(permissions.ADMINISTER_ORGANISATION, auditor, world["other"])
    with pytest.raises(PermissionDenied):
        organisation_admin_grant(organisation_id=world["other"].pk, user_id=world["member_other"].pk, actor=fresh(auditor))
    assert not permissions.may_manage_roles(fresh(auditor))


@pytest.mark.parametrize("who", ["superadmin", "admin_office", "admin_parent"])
def test_nobody_changes_their_own_admin_role(world, who):
    office = world["office"]
    actor = fresh(world[who])
    with pytest.raises(PermissionDenied, match="of their own"):
        organisation_admin_grant(organisation_id=office.pk, user_id=actor.pk, actor=actor)
    with pytest.raises(PermissionDenied, match="of their own"):
        organisation_admin_grant(organisation_id=office.pk, user_id=actor.pk, actor=actor,
                                 ends_at=timezone.now() + timedelta(days=5))
    with pytest.raises(PermissionDenied, match="of their own"):
        organisation_admin_revoke(organisation_id=office.pk, user_id=actor.pk, actor=actor)
    assert not AuditEvent.objects.exists()


def test_nobody_grants_changes_or_revokes_a_role_of_another_account_of_their_own_mailbox(world):
    """Accounts are kept one per address, "+tag" and all: the accounts of one mailbox are
    one person's, whose roles another administrator grants (as verification has it)."""
    root = fresh(world["superadmin"])
    admin = fresh(world["admin_office"])  # admin@pune.mahaagri.gov.in
    second_root = UserFactory(email=root.email.replace("@", "+ops@"))
    second_admin = make_member(world["office"], email=admin.email.replace("@", "+second@").upper())
    with pytest.raises(PermissionDenied, match="another account of your own mailbox"):
        platform_role_grant(user=second_root, role="superadmin", jurisdiction="", actor=root)
    with pytest.raises(PermissionDenied, match="another account of your own mailbox"):
        organisation_admin_grant(organisation_id=world["office"].pk, user_id=second_admin.pk, actor=admin)
    grant = PlatformRoleGrant.objects.create(user=second_root, role="auditor", jurisdiction="")
    with pytest.raises(PermissionDenied, match="another account of your own mailbox"):
        platform_role_revoke(grant_id=grant.pk, actor=root)
    organisation_admin_grant(organisation_id=world["office"].pk, user_id=second_admin.pk, actor=fresh(world["admin_parent"]))
    with pytest.raises(PermissionDenied, match="another account of your own mailbox"):
        organisation_admin_revoke(organisation_id=world["office"].pk, user_id=second_admin.pk, actor=admin)
    assert not PlatformRoleGrant.objects.filter(user=second_root, role="superadmin").exists()
    assert PlatformRoleGrant.objects.get(pk=grant.pk).revoked_at is None


# Who may be made an admin --------------------------------------------------------------------

def test_only_a_verified_member_of_the_organisation_or_below_it_is_made_admin(world):
    root = fresh(world["superadmin"])
    parent, office = world["parent"], world["office"]
    for person, where in ((world["public"], office), (world["member_parent"], office), (world["member_other"], parent)):
        with pytest.raises(ValidationError) as refused:
            organisation_admin_grant(organisation_id=where.pk, user_id=person.pk, actor=root)
        assert refused.value.code == "not_eligible"
    # A member of the office below is made admin of the parent: the office membership stays as it was.
    organisation_admin_grant(organisation_id=parent.pk, user_id=world["member"].pk, actor=root)
    assert permissions.may_administer(fresh(world["member"]), parent)
    created = Membership.objects.get(user=world["member"], organisation=parent)
    assert (created.role, created.member_before_admin) == (MembershipRole.ADMIN, False)
    organisation_admin_revoke(organisation_id=parent.pk, user_id=world["member"].pk, actor=root)
    created.refresh_from_db()
    assert (created.role, created.is_active) == (MembershipRole.MEMBER, False)
    assert Membership.objects.get(user=world["member"], organisation=office).is_active


def test_a_member_whose_verification_has_lapsed_is_not_made_admin(world):
    """Past the date of superannuation of their verification (the hourly job has not yet
    ended it) a member proves nothing any more: the admin role is not given on it, neither
    of their office nor of the department above it (no role that would count for nothing,
    no audit row, no mail telling them they hold it)."""
    member, root = world["member"], fresh(world["superadmin"])
    _verified_then_lapsed(member, world["office"])()
    for where in (world["office"], world["parent"]):
        with pytest.raises(ValidationError) as refused:
            organisation_admin_grant(organisation_id=where.pk, user_id=member.pk, actor=root, reason="Head")
        assert refused.value.code == "not_eligible"
    assert not Membership.objects.filter(user=member, role=MembershipRole.ADMIN).exists()
    assert not events(AuditAction.MEMBERSHIP_GRANTED)


def test_a_member_of_a_suspended_office_is_not_made_admin_of_the_department_above_it(world):
    """A suspended office vouches for nobody: the department's admin role given to one of its
    verified members rests on that verification, and counts for nothing while the office is
    suspended; it was given all the same (a role that gave no right, an audit row, a mail
    telling them they hold it). Refused now, as on a lapsed verification; once the office is
    active again it is given."""
    from portal.organisations.models import OrganisationStatus

    member, parent, office = world["member"], world["parent"], world["office"]
    office.status = OrganisationStatus.SUSPENDED
    office.save(update_fields=["status"])
    with pytest.raises(ValidationError) as refused:
        organisation_admin_grant(organisation_id=parent.pk, user_id=member.pk, actor=fresh(world["admin_parent"]))
    assert refused.value.code == "not_eligible"
    assert not Membership.objects.filter(user=member, organisation=parent).exists()
    assert not events(AuditAction.MEMBERSHIP_GRANTED)
    office.status = OrganisationStatus.ACTIVE
    office.save(update_fields=["status"])
    organisation_admin_grant(organisation_id=parent.pk, user_id=member.pk, actor=fresh(world["admin_parent"]))
    assert permissions.may_administer(fresh(member), parent)


@pytest.mark.parametrize("status", ["suspended", "pending"])
def test_nobody_is_made_admin_of_an_organisation_that_is_not_active(world, status):
    """A suspended office vouches for none of its members (a role resting on one counts for
    nothing while it is): the department's admin may not make one of them admin of the office
    meanwhile, by the service nor from the pages, which say why instead of offering it. Its
    admins' end dates may still change; once it is active again the role is given."""
    member, office = world["member"], world["office"]
    make_admin(office, email="second.admin@pune.mahaagri.gov.in")
    Organisation.objects.filter(pk=office.pk).update(status=status)
    with pytest.raises(ValidationError) as refused:
        organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=fresh(world["admin_parent"]))
    assert refused.value.code == "organisation_not_active"
    assert not Membership.objects.filter(user=member, organisation=office, role="admin").exists()
    assert not events(AuditAction.MEMBERSHIP_GRANTED)
    client = client_of(world, "admin_parent")
    said = "While this organisation is not active, nobody can be made its admin"
    page = client.get(f"/portal/roles/organisations/{office.pk}/?email=asha").content.decode()
    assert said in page and "Make admin" not in page and 'role="search"' not in page
    grant_url = f"/portal/roles/organisations/{office.pk}/grant/?user={member.pk}"
    page = client.get(grant_url).content.decode()
    assert said in page and 'name="reason"' not in page
    response = client.post(grant_url, {"user": member.pk, "reason": "Needed.", "step": "confirm"})
    assert said in response.content.decode()
    assert not Membership.objects.filter(user=member, organisation=office, role="admin").exists()
    # Its admin's role may still be given a last day.
    organisation_admin_grant(organisation_id=office.pk, user_id=world["admin_office"].pk,
                             ends_at=timezone.now() + timedelta(days=30), actor=fresh(world["admin_parent"]))
    Organisation.objects.filter(pk=office.pk).update(status="active")
    organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=fresh(world["admin_parent"]))
    assert permissions.may_administer(fresh(member), office)


def test_a_member_whose_address_cannot_hold_official_powers_is_not_made_admin(world):
    gmail = make_member(world["office"], email="clerk.pune@gmail.com")
    with pytest.raises(ValidationError) as refused:
        organisation_admin_grant(organisation_id=world["office"].pk, user_id=gmail.pk, actor=fresh(world["superadmin"]))
    assert refused.value.code == "not_eligible"


# The last admin ----------------------------------------------------------------------------------

def test_the_last_admin_cannot_be_removed_even_by_a_superadmin(world):
    office = world["office"]
    for who in ("superadmin", "admin_parent"):
        with pytest.raises(LastAdmin):
            organisation_admin_revoke(organisation_id=office.pk, user_id=world["admin_office"].pk, actor=fresh(world[who]))
    assert permissions.may_administer(fresh(world["admin_office"]), office)
    assert admin_perms(world["admin_office"], office) == ["administer_organisation", "view_organisation_dashboard"]
    assert not events(AuditAction.MEMBERSHIP_REVOKED)


def test_an_admin_whose_role_ends_does_not_count_as_the_one_that_stays(world):
    office, parent_admin = world["office"], fresh(world["admin_parent"])
    ends = timezone.now() + timedelta(days=30)
    organisation_admin_grant(organisation_id=office.pk, user_id=world["member"].pk, ends_at=ends, actor=parent_admin)
    with pytest.raises(LastAdmin):
        organisation_admin_revoke(organisation_id=office.pk, user_id=world["admin_office"].pk, actor=parent_admin)
    # Nor may the last one without an end date be given one (a demotion in time).
    with pytest.raises(LastAdmin):
        organisation_admin_grant(organisation_id=office.pk, user_id=world["admin_office"].pk, ends_at=ends,
                                 actor=parent_admin)
    # Once the other admin's role has no end date, the first may go.
    organisation_admin_grant(organisation_id=office.pk, user_id=world["member"].pk, ends_at=None, actor=parent_admin)
    organisation_admin_revoke(organisation_id=office.pk, user_id=world["admin_office"].pk, actor=parent_admin)
    assert not permissions.may_administer(fresh(world["admin_office"]), office)
    granted = events(AuditAction.MEMBERSHIP_GRANTED)
    assert len(granted) == 2 and granted[0].new_values["ends_at"] == str(ends)
    assert (granted[1].old_values["ends_at"], granted[1].new_values["ends_at"]) == (str(ends), None)


def test_the_admin_with_an_end_date_can_be_removed_while_a_permanent_one_stays(world):
    office, root = world["office"], fresh(world["superadmin"])
    organisation_admin_grant(organisation_id=office.pk, user_id=world["member"].pk,
                             ends_at=timezone.now() + timedelta(days=30), actor=root)
    organisation_admin_revoke(organisation_id=office.pk, user_id=world["member"].pk, actor=root)
    assert not permissions.may_administer(fresh(world["member"]), office)


def first_admin_stays(office, first, root):
    """The first admin's role may be neither revoked nor given an end date: nobody else
    would administer the office. The verification services ask the same (an admin who
    ends the first admin's verification)."""
    with pytest.raises(LastAdmin):
        organisation_admin_revoke(organisation_id=office.pk, user_id=first.pk, actor=root)
    with pytest.raises(LastAdmin):
        organisation_admin_grant(organisation_id=office.pk, user_id=first.pk, ends_at=timezone.now() + timedelta(days=30),
                                 actor=root)
    assert organisations_left_without_admin([Membership.objects.get(organisation=office, user=first)]) == {office.pk}


def _verified_then_lapsed(person, organisation):
    """``person`` (a member of ``organisation``) verified there, the verification then past
    its date of superannuation: the hourly job has not yet ended it, nor what rests on it."""
    from tests.verification.helpers import GovernmentProfileFactory
    from verification.models import GovernmentProfile, VerificationStatus

    held = GovernmentProfileFactory(user=person, organisation=organisation, status=VerificationStatus.VERIFIED)
    return lambda: GovernmentProfile.objects.filter(pk=held.pk).update(
        superannuation_date=timezone.localdate() - timedelta(days=1))


def test_an_admin_whose_role_rests_on_a_lapsed_verification_does_not_count_as_the_one_that_stays(world):
    """An admin role resting on a verification past its date of superannuation counts for
    nothing from the next request (portal.permissions), before the hourly job ends it: nor
    does it count as the admin who stays. Otherwise the last admin in force could be
    removed, or given an end date, and nobody would administer the office."""
    office, root, member, first = world["office"], fresh(world["superadmin"]), world["member"], world["admin_office"]
    lapse = _verified_then_lapsed(member, office)
    organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=root)
    lapse()
    assert not permissions.may_administer(fresh(member), office)
    first_admin_stays(office, first, root)
    assert permissions.may_administer(fresh(first), office)
    assert not events(AuditAction.MEMBERSHIP_REVOKED)
    assert Membership.objects.get(organisation=office, user=first).ends_at is None


def test_an_auditors_admin_role_does_not_count_as_the_one_that_stays(world):
    """An auditor changes nothing, even one who also administers an organisation (they may
    neither grant its admin role nor verify its people): their admin role does not keep
    the organisation administered. A superadmin who is also an auditor still acts."""
    office, root, first = world["office"], fresh(world["superadmin"]), world["admin_office"]
    watcher = make_admin(office, email="k.patil@pune.mahaagri.gov.in")
    PlatformRoleGrant.objects.create(user=watcher, role=PlatformRole.AUDITOR, jurisdiction="MH")
    assert not permissions.may_grant_admin(fresh(watcher), office)
    first_admin_stays(office, first, root)
    assert not events(AuditAction.MEMBERSHIP_REVOKED)

    PlatformRoleGrant.objects.create(user=watcher, role=PlatformRole.SUPERADMIN, jurisdiction="")
    assert organisations_left_without_admin([Membership.objects.get(organisation=office, user=first)]) == set()
    organisation_admin_revoke(organisation_id=office.pk, user_id=first.pk, actor=root)


def test_the_auditor_role_is_not_given_to_an_organisations_last_admin_who_acts(world):
    """Made an auditor, the last admin of an organisation would act for it no more, and
    nobody would be left who may verify its people or grant its admin role: refused, saying
    to hand the role over first; once another admin is there, granted."""
    office, root, first = world["office"], fresh(world["superadmin"]), world["admin_office"]
    with pytest.raises(ValidationError) as refused:
        platform_role_grant(user=first, role="auditor", jurisdiction="MH", actor=root, reason="Audit cell")
    assert refused.value.messages == [
        "admin@pune.mahaagri.gov.in is the last admin of District Agriculture Office, Pune who may act as one "
        "(an auditor changes nothing): grant the admin role there to someone else first (without an end date)."]
    assert not PlatformRoleGrant.objects.filter(user=first).exists()
    assert not events(AuditAction.PLATFORM_ROLE_GRANTED)
    # On the page: the refusal above the form, what was chosen kept.
    response = client_of(world, "superadmin").post("/portal/roles/platform/grant/", {
        "user": first.pk, "step": "confirm", "role": "auditor", "jurisdiction": "MH", "reason": "Audit cell"})
    html = response.content.decode()
    assert response.status_code == 200 and "who may act as one" in html and "Audit cell" in html
    assert not PlatformRoleGrant.objects.filter(user=first).exists()

    make_admin(office, email="deputy@pune.mahaagri.gov.in")
    platform_role_grant(user=first, role="auditor", jurisdiction="MH", actor=root, reason="Audit cell")
    assert permissions.is_auditor(fresh(first)) and not permissions.may_grant_admin(fresh(first), office)


def test_the_superadmin_role_of_an_auditor_who_is_an_organisations_last_admin_is_not_revoked(world):
    """A superadmin who is also an auditor acts (portal.permissions.admins_who_act): the
    auditor role was granted to them unasked. Their superadmin role revoked, they would be
    an auditor only, who changes nothing, and the organisation they alone administer would
    have nobody left who may verify its people or grant its admin role: refused as the
    auditor role's grant is, nothing changed, on the page too; once another admin is
    there, revoked."""
    office, root, first = world["office"], fresh(world["superadmin"]), world["admin_office"]
    grant = PlatformRoleGrant.objects.create(user=first, role=PlatformRole.SUPERADMIN, jurisdiction="")
    platform_role_grant(user=fresh(first), role="auditor", jurisdiction="MH", actor=root, reason="Audit cell")
    with pytest.raises(ValidationError) as refused:
        platform_role_revoke(grant_id=grant.pk, actor=root, reason="Done")
    assert refused.value.messages == [
        "admin@pune.mahaagri.gov.in is the last admin of District Agriculture Office, Pune who may act as one "
        "(an auditor changes nothing): grant the admin role there to someone else first (without an end date)."]
    grant.refresh_from_db()
    assert grant.revoked_at is None and not events(AuditAction.PLATFORM_ROLE_REVOKED)
    assert organisations_left_without_admin([Membership.objects.get(organisation=office, user=first)]) == {office.pk}
    response = client_of(world, "superadmin").post(f"/portal/roles/platform/{grant.pk}/revoke/",
                                                   {"reason": "Done", "confirm": "on"})
    assert response.status_code == 200 and "who may act as one" in response.content.decode()
    grant.refresh_from_db()
    assert grant.revoked_at is None
    # With another admin there who acts, revoked: they stay an auditor, who changes nothing.
    make_admin(office, email="deputy@pune.mahaagri.gov.in")
    platform_role_revoke(grant_id=grant.pk, actor=root, reason="Done")
    assert permissions.is_auditor(fresh(first)) and not permissions.may_grant_admin(fresh(first), office)


def test_ending_the_official_powers_of_a_superuser_auditor_who_is_an_organisations_last_admin_is_refused(world):
    """Their superuser flag and auditor role end with their admin roles (official_powers_end):
    the last-admin rule refuses it, nothing changed."""
    office, first = world["office"], world["admin_office"]
    User.objects.filter(pk=first.pk).update(is_superuser=True)
    PlatformRoleGrant.objects.create(user=first, role=PlatformRole.AUDITOR, jurisdiction="MH")
    with pytest.raises(ValidationError):
        official_powers_end(user=fresh(first), reason="primary_email_not_official")
    first = fresh(first)
    assert first.is_superuser and permissions.is_auditor(first) and permissions.may_grant_admin(first, office)
    assert not events(AuditAction.OFFICIAL_POWERS_ENDED)


# The last superadmin ---------------------------------------------------------------------------

def test_the_platform_keeps_a_superadmin_whose_role_does_not_end(world):
    root, second = fresh(world["superadmin"]), UserFactory(email="second.root@nic.in")
    platform_role_grant(user=second, role="superadmin", jurisdiction="", actor=root)
    # The second gives the first an end date: allowed, the second's role does not end.
    ends = timezone.now() + timedelta(days=1)
    platform_role_grant(user=root, role="superadmin", jurisdiction="", ends_at=ends, actor=fresh(second))
    # The first may then neither revoke the second nor give them an end date: once the
    # first's date passed, nobody would be superadmin.
    second_grant = PlatformRoleGrant.objects.get(user=second)
    with pytest.raises(LastSuperadmin) as refused:
        platform_role_revoke(grant_id=second_grant.pk, reason="Left.", actor=fresh(root))
    assert refused.value.code == "last_superadmin"
    with pytest.raises(LastSuperadmin):
        platform_role_grant(user=second, role="superadmin", jurisdiction="", ends_at=ends, actor=fresh(root))
    second_grant.refresh_from_db()
    assert (second_grant.revoked_at, second_grant.ends_at) == (None, None)
    assert not events(AuditAction.PLATFORM_ROLE_REVOKED)
    with time_machine.travel(ends + timedelta(seconds=1)):
        assert permissions.superadmin_emails() == [second.email]
    # With a third superadmin whose role does not end, the second may go.
    third = UserFactory(email="third.root@nic.in")
    platform_role_grant(user=third, role="superadmin", jurisdiction="", actor=fresh(second))
    platform_role_revoke(grant_id=second_grant.pk, reason="Left.", actor=fresh(third))
    assert permissions.superadmin_emails() == sorted([root.email, third.email])


def test_an_inactive_superadmin_does_not_count_as_the_one_that_stays(world):
    root = fresh(world["superadmin"])
    second, ghost = UserFactory(email="second.root@nic.in"), UserFactory(email="former.root@nic.in")
    platform_role_grant(user=second, role="superadmin", jurisdiction="", ends_at=timezone.now() + timedelta(days=1),
                        actor=root)
    platform_role_grant(user=ghost, role="superadmin", jurisdiction="", actor=root)
    User.objects.filter(pk=ghost.pk).update(is_active=False)
    with pytest.raises(LastSuperadmin):
        platform_role_revoke(grant_id=PlatformRoleGrant.objects.get(user=root).pk, actor=fresh(second))
    # Other platform roles are not held back (an end date within the granter's own).
    platform_role_revoke(grant_id=PlatformRoleGrant.objects.get(user=world["state_admin_ka"]).pk, actor=fresh(second))
    platform_role_grant(user=world["state_admin_mh"], role="state_admin", jurisdiction="MH",
                        ends_at=timezone.now() + timedelta(hours=12), actor=fresh(second))


def test_an_active_superuser_counts_as_a_superadmin_that_stays(world):
    """The first superuser (deploy/README.md) revokes the superadmin role they granted: they
    remain a superadmin whose role does not end. An inactive superuser counts for nothing."""
    first = UserFactory(email="first.root@nic.in", is_superuser=True, is_staff=True)
    with_totp(first)
    assert permissions.is_superadmin(first)
    appointed = world["superadmin"]
    grant = PlatformRoleGrant.objects.get(user=appointed, role="superadmin")
    deputy = UserFactory(email="deputy.root@nic.in")
    platform_role_grant(user=deputy, role="superadmin", jurisdiction="", actor=fresh(appointed),
                        ends_at=timezone.now() + timedelta(days=1))
    User.objects.filter(pk=first.pk).update(is_active=False)
    with pytest.raises(LastSuperadmin):
        platform_role_revoke(grant_id=grant.pk, actor=fresh(deputy))
    User.objects.filter(pk=first.pk).update(is_active=True)
    response = client_of({"first": first}, "first").post(
        f"/portal/roles/platform/{grant.pk}/revoke/", {"reason": "Posted elsewhere", "confirm": "on"})
    assert "no superadmin left" not in response.content.decode()
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert not permissions.is_superadmin(fresh(appointed))


# End dates ------------------------------------------------------------------------------------------

def test_an_end_date_in_the_past_is_refused(world):
    root, past = fresh(world["superadmin"]), timezone.now() - timedelta(minutes=1)
    with pytest.raises(ValidationError):
        platform_role_grant(user=world["public"], role="auditor", jurisdiction="", ends_at=past, actor=root)
    with pytest.raises(ValidationError):
        organisation_admin_grant(organisation_id=world["office"].pk, user_id=world["member"].pk, ends_at=past, actor=root)
    assert not AuditEvent.objects.exists()


def test_a_platform_role_ends_by_itself_in_every_check_and_is_recorded_once(world):
    root = fresh(world["superadmin"])
    person = UserFactory(email="temporary.admin@maharashtra.gov.in")
    ends = timezone.now() + timedelta(days=2)
    grant = platform_role_grant(user=person, role="state_admin", jurisdiction="MH", ends_at=ends, reason="Leave cover.",
                                actor=root)
    assert events(AuditAction.PLATFORM_ROLE_GRANTED)[0].new_values["ends_at"]
    assert permissions.is_state_admin(fresh(person)) and permissions.needs_second_factor(fresh(person))
    assert person.email in permissions.state_admin_emails(["MH"])["MH"]
    with time_machine.travel(ends + timedelta(seconds=1)):
        # Gone at once, before any job ran: every question reads the end date.
        ended = fresh(person)
        assert permissions.platform_roles_of(ended) == set()
        assert not permissions.is_state_admin(ended) and permissions.decided_jurisdictions(ended) == set()
        assert not permissions.RULES["state_admin"](ended)
        assert permissions.state_admin_emails(["MH"]).get("MH", []) == [world["state_admin_mh"].email]
        assert not permissions.organisations_in_scope(ended).exists()
        # The beat job records it once.
        assert role_expiries_task.delay().get() == {"platform_roles": 1, "admins": 0}
        assert role_expiries_record() == {"platform_roles": 0, "admins": 0}
    [expired] = events(AuditAction.PLATFORM_ROLE_EXPIRED)
    assert (expired.actor_role, expired.target_id, expired.old_values["role"]) == ("system", str(person.pk), "state_admin")
    grant.refresh_from_db()
    assert grant.revoked_at == ends
    # It can be granted again afterwards (the ended grant no longer holds the place).
    platform_role_grant(user=person, role="state_admin", jurisdiction="MH", actor=root)
    assert permissions.is_state_admin(fresh(person))
    assert audit_verify() == []


def test_a_superadmin_whose_role_ended_grants_nothing(world):
    second = UserFactory(email="second.root@nic.in")
    platform_role_grant(user=second, role="superadmin", jurisdiction="", actor=fresh(world["superadmin"]),
                        ends_at=timezone.now() + timedelta(hours=1))
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        with pytest.raises(PermissionDenied):
            platform_role_grant(user=world["public"], role="auditor", jurisdiction="", actor=fresh(second))
        with pytest.raises(PermissionDenied):
            organisation_admin_grant(organisation_id=world["office"].pk, user_id=world["member"].pk, actor=fresh(second))
        assert second.email not in permissions.superadmin_emails()


def test_an_admin_role_ends_by_itself_in_every_check_and_is_recorded_once(world):
    office, parent_admin = world["office"], fresh(world["admin_parent"])
    person = world["member"]
    ends = timezone.now() + timedelta(days=1)
    organisation_admin_grant(organisation_id=office.pk, user_id=person.pk, ends_at=ends, actor=parent_admin)
    assert permissions.may_administer(fresh(person), office)
    with time_machine.travel(ends + timedelta(seconds=1)):
        ended = fresh(person)
        assert not permissions.may_administer(ended, office)
        assert not permissions.administered_organisations(ended).exists()
        assert not permissions.administers_some_organisation(ended)
        assert not permissions.RULES["organisation_admin"](ended)
        assert not permissions.organisations_in_scope(ended).exists()
        # An admin whose role ended grants nothing either.
        with pytest.raises(PermissionDenied):
            organisation_admin_grant(organisation_id=office.pk, user_id=world["member_parent"].pk, actor=ended)
        # guardian's rows are still there until the job runs; the job removes them, once.
        assert admin_perms(person, office) == ["administer_organisation", "view_organisation_dashboard"]
        assert role_expiries_record() == {"platform_roles": 0, "admins": 1}
        assert role_expiries_record() == {"platform_roles": 0, "admins": 0}
    assert admin_perms(person, office) == []
    membership = Membership.objects.get(user=person, organisation=office)
    assert (membership.role, membership.is_active, membership.ends_at) == (MembershipRole.MEMBER, True, None)
    [expired] = events(AuditAction.MEMBERSHIP_EXPIRED)
    assert (expired.actor_role, expired.old_values, expired.new_values["member"]) == (
        "system", {"user": person.email, "user_id": person.pk, "role": "admin"}, True)
    assert audit_verify() == []


def test_changing_an_end_date_is_a_grant_that_names_the_old_one(world):
    root = fresh(world["superadmin"])
    person = UserFactory(email="auditor.two@nic.in")
    first, later = timezone.now() + timedelta(days=10), timezone.now() + timedelta(days=20)
    grant = platform_role_grant(user=person, role="auditor", jurisdiction="", ends_at=first, actor=root)
    assert platform_role_grant(user=person, role="auditor", jurisdiction="", ends_at=first, actor=root) == grant
    assert len(events(AuditAction.PLATFORM_ROLE_GRANTED)) == 1  # nothing changed, nothing written
    platform_role_grant(user=person, role="auditor", jurisdiction="", ends_at=later, actor=root)
    grant.refresh_from_db()
    assert grant.ends_at == later and PlatformRoleGrant.objects.filter(user=person).count() == 1
    changed = events(AuditAction.PLATFORM_ROLE_GRANTED)[1]
    assert changed.old_values["grant"] == grant.pk and changed.old_values["ends_at"]


def mails_to(user):
    return list(OutboxMessage.objects.filter(to=[user.email]).order_by("pk"))


def test_the_person_granted_or_removed_a_role_is_told_by_mail_once_in_their_language(
    world, django_capture_on_commit_callbacks
):
    """Each grant, new end date and removal made by someone is told to the person, through
    the outbox (sent once the change commits): the role, where, until when, the reason;
    for a platform role, the second factor asked at the next sign-in; on removal, what
    they can no longer do. In the language they asked to be verified in (Marathi here),
    English otherwise. The system's own endings (an end date passed) send nothing."""
    from tests.verification.helpers import GovernmentProfileFactory

    root, person = fresh(world["superadmin"]), world["member_parent"]
    EmailAddress.objects.update_or_create(user=person, email=person.email, defaults={"verified": True, "primary": True})
    last_day = timezone.localdate() + timedelta(days=30)
    ends_at = timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time.min))
    with django_capture_on_commit_callbacks() as callbacks:
        grant = platform_role_grant(user=person, role="auditor", jurisdiction="MH", ends_at=ends_at,
                                    reason="Audit of the Pune division.", actor=root)
    [granted] = mails_to(person)
    assert callbacks and granted.status == "pending"
    assert granted.subject == "You now hold the role of Auditor on the Sandes onboarding portal"
    for text in ("Auditor", "Maharashtra", f"{last_day:%-d %B %Y}", "Audit of the Pune division.", "authenticator app"):
        assert text in granted.body, (text, granted.body)
    platform_role_grant(user=person, role="auditor", jurisdiction="MH", ends_at=None, reason="Made permanent.",
                        actor=root)
    changed = mails_to(person)[1]
    assert "end date" in changed.subject and "until it is revoked" in changed.body and "Made permanent." in changed.body
    platform_role_revoke(grant_id=grant.pk, reason="Audit finished.", actor=root)
    revoked = mails_to(person)[2]
    assert revoked.subject == "Your role of Auditor on the Sandes onboarding portal has ended"
    assert "Maharashtra" in revoked.body and "Audit finished." in revoked.body and "no longer" in revoked.body

    office, member = world["office"], world["member"]
    GovernmentProfileFactory(user=member, organisation=office, status="verified", request_language="mr")
    admin = fresh(world["admin_parent"])
    organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=admin, reason="कार्यभार. Charge.")
    [made] = mails_to(member)
    assert made.subject == f"तुम्ही आता संदेसवर {office.name} चे प्रशासक आहात", made.subject
    assert "कार्यभार. Charge." in made.body and "ऑथेंटिकेटर" not in made.body
    organisation_admin_revoke(organisation_id=office.pk, user_id=member.pk, actor=admin, reason="Transferred.")
    removed = mails_to(member)[1]
    assert office.name in removed.subject and "Transferred." in removed.body
    assert "तुम्ही यापुढे" in removed.body  # what they can no longer do

    # The system's own ending: the end date passes, nothing is mailed.
    expiring = platform_role_grant(user=person, role="auditor", jurisdiction="", actor=root,
                                   ends_at=timezone.now() + timedelta(days=1))
    before = OutboxMessage.objects.count()
    PlatformRoleGrant.objects.filter(pk=expiring.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    assert role_expiries_record()["platform_roles"] == 1
    assert OutboxMessage.objects.count() == before


def test_role_changes_by_people_are_counted_per_person_a_day_the_systems_are_not(world, settings):
    """ROLE_CHANGES_PER_DAY holds the admin roles of a person (in every organisation, by
    whichever admin) and, apart, their platform roles: counted from the audit rows of
    the changes people made in the last 24 hours. What the system does (an end date
    passing, a verification or an address that a role rested on ending, seed data) is
    neither counted nor held back. A removal is never refused; the next grant is allowed
    once the oldest counted change is 24 hours old."""
    settings.ROLE_CHANGES_PER_DAY = 2
    office, parent, member = world["office"], world["parent"], world["member"]
    admin, root = fresh(world["admin_parent"]), fresh(world["superadmin"])
    organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=None)  # the system's: not counted
    organisation_admin_revoke(organisation_id=office.pk, user_id=member.pk, actor=None)
    organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=admin, reason="One.")
    first = AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_GRANTED).latest("id").created_at
    organisation_admins_lapse(pairs=[(office.pk, member.pk)], reason="verification ended")  # the system's
    Membership.objects.update_or_create(organisation=office, user=member, defaults={"role": MembershipRole.MEMBER,
                                                                                    "is_active": True})
    organisation_admin_grant(organisation_id=parent.pk, user_id=member.pk, actor=admin, reason="Two.")
    with pytest.raises(ValidationError, match="2 times in the last 24 hours") as refused:
        organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=admin, reason="Three.")
    assert f"again from {shown_from(first + timedelta(days=1))};" in str(refused.value)  # the minute it is allowed
    assert refused.value.code == "too_many"
    # Platform roles are counted apart: the same person may still be given one.
    platform_role_grant(user=member, role="auditor", jurisdiction="MH", actor=root, reason="Audit.")
    # A removal is never refused, even past the limit.
    organisation_admin_revoke(organisation_id=parent.pk, user_id=member.pk, actor=admin, reason="Removed.")
    assert not Membership.objects.get(organisation=parent, user=member).admin_in_force
    with time_machine.travel(first + timedelta(days=1, seconds=1)):
        organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=admin, reason="Three.")
    assert Membership.objects.get(organisation=office, user=member).admin_in_force


def _ending_in(days):
    """The end of a role whose last day is ``days`` from today, as the grant pages make it."""
    return timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=days + 1), time.min))


def test_a_granter_whose_role_ends_grants_no_role_that_outlasts_their_own(world):
    """The role by which someone grants (the admin role of the organisation or of one above
    it; the superadmin role) bounds what they give: no end date, or a later one, is refused
    (OutlastsGranter), and so is moving someone else's end date past theirs. A role of
    theirs without an end date elsewhere above lifts the bound."""
    office, parent = world["office"], world["parent"]
    acting = make_admin(office, email="acting.admin@pune.mahaagri.gov.in")
    Membership.objects.filter(user=acting).update(ends_at=_ending_in(7))
    member = world["member"]
    for ends_at in (None, _ending_in(8)):
        with pytest.raises(OutlastsGranter) as refused:
            organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=fresh(acting), ends_at=ends_at)
        assert refused.value.code == "outlasts_granter"
        assert Membership.objects.get(user=member, organisation=office).role == MembershipRole.MEMBER
    organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=fresh(acting), ends_at=_ending_in(7))
    # Someone else's end date moved past the granter's own: refused too, shortening it is not.
    with pytest.raises(OutlastsGranter):
        organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=fresh(acting), ends_at=None)
    organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=fresh(acting), ends_at=_ending_in(3))
    assert Membership.objects.get(user=member, organisation=office).ends_at == _ending_in(3)
    # An admin of the parent without an end date (the same person) may give a role that does not end.
    Membership.objects.create(organisation=parent, user=acting, role=MembershipRole.ADMIN)
    assign_perm(permissions.ADMINISTER_ORGANISATION, acting, parent)
    organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=fresh(acting), ends_at=None)
    assert Membership.objects.get(user=member, organisation=office).ends_at is None

    # A superadmin whose role ends grants no platform role outlasting it, the superadmin role or another.
    root = fresh(world["superadmin"])
    temporary = UserFactory(email="acting.root@nic.in")
    platform_role_grant(user=temporary, role="superadmin", jurisdiction="", ends_at=_ending_in(7), actor=root)
    newcomer = UserFactory(email="new.root@nic.in")
    with pytest.raises(OutlastsGranter):
        platform_role_grant(user=newcomer, role="superadmin", jurisdiction="", ends_at=None, actor=fresh(temporary))
    assert not PlatformRoleGrant.objects.filter(user=newcomer).exists()
    platform_role_grant(user=newcomer, role="superadmin", jurisdiction="", ends_at=_ending_in(7), actor=fresh(temporary))
    with pytest.raises(OutlastsGranter):
        platform_role_grant(user=newcomer, role="superadmin", jurisdiction="", ends_at=_ending_in(9),
                            actor=fresh(temporary))
    auditor = UserFactory(email="new.auditor@nic.in")
    for role, jurisdiction in (("auditor", ""), ("state_admin", "MH")):
        for ends_at in (None, _ending_in(8)):
            with pytest.raises(OutlastsGranter):
                platform_role_grant(user=auditor, role=role, jurisdiction=jurisdiction, ends_at=ends_at,
                                    actor=fresh(temporary))
    assert not PlatformRoleGrant.objects.filter(user=auditor).exists()
    platform_role_grant(user=auditor, role="auditor", jurisdiction="", ends_at=_ending_in(7), actor=fresh(temporary))


def test_the_navigation_question_costs_no_query_of_its_own(world, django_assert_num_queries):
    admin = fresh(world["admin_office"])
    with django_assert_num_queries(1):
        assert permissions.may_manage_roles(admin) and permissions.may_read_role_report(admin)
        assert not permissions.is_superadmin(admin) and permissions.platform_roles_of(admin) == set()


def test_a_platform_role_needs_an_active_account_with_an_official_confirmed_primary_address(world):
    superadmin = fresh(world["superadmin"])
    refused = [world["public"], UserFactory(email="not.confirmed@mahaagri.gov.in", verified=False),
               UserFactory(email="left@mahaagri.gov.in", is_active=False)]
    for user in refused:
        with pytest.raises(ValidationError, match="cannot hold a platform role"):
            platform_role_grant(user=user, role="auditor", jurisdiction="", actor=superadmin)
    assert not PlatformRoleGrant.objects.filter(user__in=refused).exists()
    # On the page: the refusal above the form, what was chosen kept.
    response = client_of(world, "superadmin").post("/portal/roles/platform/grant/", {
        "user": world["public"].pk, "step": "confirm", "role": "state_admin", "jurisdiction": "MH", "reason": "Cover"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "someone@gmail.com cannot hold a platform role" in html and "Cover" in html
    assert not PlatformRoleGrant.objects.filter(user=world["public"]).exists()


def test_an_address_that_stops_earning_official_powers_ends_the_platform_roles_too(world):
    holder = world["state_admin_mh"]
    assert permissions.platform_roles_of(fresh(holder))
    official_powers_end(user=holder, reason="primary_email_not_official")
    assert not permissions.platform_roles_of(fresh(holder))
    [revoked] = events(AuditAction.PLATFORM_ROLE_REVOKED)
    assert revoked.actor_id is None and revoked.old_values["role"] == "state_admin"
    assert revoked.new_values["reason"] == "primary_email_not_official"
    [ended] = events(AuditAction.OFFICIAL_POWERS_ENDED)
    assert ended.new_values["platform_roles"] == [["state_admin", "MH"]]


def test_a_superuser_whose_address_stops_earning_official_powers_is_no_superuser_any_more(world):
    """The superuser flag makes a superadmin, a platform role, which needs an official
    primary address: it ends with the official powers, on record; refused while it is the
    platform's last superadmin role that does not end, as a grant is."""
    root = UserFactory(email="root.admin@sandes.nic.in", is_superuser=True, is_staff=True)
    assert permissions.is_superadmin(fresh(root))
    official_powers_end(user=root, reason="primary_email_not_official", address="root.admin@sandes.nic.in")
    assert not fresh(root).is_superuser and not permissions.is_superadmin(fresh(root)) and not fresh(root).is_staff
    [ended] = events(AuditAction.OFFICIAL_POWERS_ENDED)
    assert (ended.actor_id, ended.target_id) == (root.pk, str(root.pk))
    assert ended.new_values == {"reason": "primary_email_not_official", "organisations": [], "superuser": True,
                                "staff": True}

    # The only superadmin, by the flag alone: refused, nothing changed.
    last = UserFactory(email="last.root@sandes.nic.in", is_superuser=True, is_staff=True)
    PlatformRoleGrant.objects.filter(role=PlatformRole.SUPERADMIN).update(revoked_at=timezone.now())
    rows = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        official_powers_end(user=last, reason="primary_email_not_official")
    assert [error.code for error in refused.value.error_list] == ["last_superadmin"]
    assert fresh(last).is_superuser and AuditEvent.objects.count() == rows


def test_the_staff_flag_ends_with_the_official_powers_and_is_named_among_them(world):
    """Staff reach the Django admin (with their groups' permissions), as the superuser flag
    does: access that needs an official primary address. A personal one becoming primary
    ends it with the roles, on record, and the person is told of it first with them."""
    from portal.organisations.selectors import official_powers_of, primary_change_ends_powers

    desk = UserFactory(email="desk.officer@sandes.nic.in", is_staff=True)
    assert official_powers_of(fresh(desk)) == ["Staff access to the administration site"]
    assert primary_change_ends_powers(fresh(desk), "desk.home@gmail.com")
    # Its old address no longer under an official suffix: the flag still rests on it.
    assert primary_change_ends_powers(fresh(desk), "desk.home@gmail.com", old="desk@example.org")
    official_powers_end(user=fresh(desk), reason="primary_email_not_official", address="desk.officer@sandes.nic.in")
    assert not fresh(desk).is_staff and not official_powers_of(fresh(desk))
    [ended] = events(AuditAction.OFFICIAL_POWERS_ENDED)
    assert ended.new_values == {"reason": "primary_email_not_official", "organisations": [], "staff": True}


def test_a_role_already_past_its_end_when_official_powers_end_is_recorded_as_expired_not_revoked(world):
    """A role whose end passed before the beat job recorded it ended by itself at its end:
    ending official powers records it once as expired then, not as revoked now."""
    holder, office, co = world["state_admin_mh"], world["office"], world["admin_office"]
    ended_at = timezone.now() - timedelta(hours=3)
    PlatformRoleGrant.objects.filter(user=holder).update(ends_at=ended_at)
    official_powers_end(user=holder, reason="primary_email_not_official")
    assert PlatformRoleGrant.objects.get(user=holder).revoked_at == ended_at
    assert not events(AuditAction.PLATFORM_ROLE_REVOKED)
    [expired] = events(AuditAction.PLATFORM_ROLE_EXPIRED)
    assert (expired.target_id, expired.old_values["role"]) == (str(holder.pk), "state_admin")
    assert "platform_roles" not in events(AuditAction.OFFICIAL_POWERS_ENDED)[0].new_values

    make_admin(office, email="co.admin@pune.mahaagri.gov.in")  # the office keeps an admin
    Membership.objects.filter(user=co, organisation=office).update(ends_at=ended_at)
    official_powers_end(user=co, reason="primary_email_not_official")
    assert not events(AuditAction.MEMBERSHIP_REVOKED)
    [expired] = events(AuditAction.MEMBERSHIP_EXPIRED)
    assert (expired.target_id, expired.old_values) == (str(office.pk), {"user": co.email, "user_id": co.pk, "role": "admin"})
    assert not permissions.may_administer(fresh(co), office)
    assert not Membership.objects.filter(user=co, role=MembershipRole.ADMIN).exists()


def test_an_admin_role_already_past_its_end_when_its_verification_ends_is_recorded_as_expired_not_revoked(world):
    """The same when the verification an admin role rests on ends (organisation_admins_lapse):
    a role past its end, not yet recorded by the beat job, ended by itself at its end. It is
    recorded once as expired and not among the roles the verification's end took away."""
    office, co = world["office"], world["admin_office"]
    make_admin(office, email="co.admin@pune.mahaagri.gov.in")  # the office keeps an admin
    ended_at = timezone.now() - timedelta(hours=3)
    Membership.objects.filter(user=co, organisation=office).update(ends_at=ended_at)
    assert organisation_admins_lapse(pairs=[(office.pk, co.pk)], reason="verification_ended") == []
    assert not events(AuditAction.MEMBERSHIP_REVOKED)
    [expired] = events(AuditAction.MEMBERSHIP_EXPIRED)
    assert (expired.target_id, expired.old_values) == (str(office.pk), {"user": co.email, "user_id": co.pk, "role": "admin"})
    assert expired.new_values["member"] is False  # the verification it rested on has ended
    assert not Membership.objects.filter(user=co, organisation=office, is_active=True).exists()
    assert not permissions.may_administer(fresh(co), office)


def test_an_admin_whose_address_stops_earning_official_powers_leaves_a_row_in_each_organisations_log(world):
    office, parent = world["office"], world["parent"]
    co = make_admin(office, email="co.admin@pune.mahaagri.gov.in")
    Membership.objects.create(organisation=parent, user=co, role=MembershipRole.ADMIN)
    official_powers_end(user=co, reason="primary_email_not_official")
    revoked = events(AuditAction.MEMBERSHIP_REVOKED)
    assert sorted(int(event.target_id) for event in revoked) == sorted([office.pk, parent.pk])
    for event in revoked:
        assert (event.target_type, event.actor_id, event.actor_role) == ("organisations.organisation", None, "system")
        assert event.old_values == {"user": co.email, "user_id": co.pk, "role": "admin"}
        assert event.new_values == {"member": False, "reason": "primary_email_not_official"}
    # The organisation's other admins read it in their audit log.
    html = client_of(world, "admin_office").get("/monitoring/audit/?action=membership.revoked").content.decode()
    assert '<td class="breakable">District Agriculture Office, Pune</td>' in html


def test_a_superuser_whose_address_stops_earning_official_powers_ends_only_the_admin_roles_they_hold(
        world, django_assert_num_queries):
    """A Django superuser may act everywhere, yet administers only the organisations they
    were made admin of: only those roles end, and only those organisations' logs say so
    (not every organisation on the platform, each read as one they administered)."""
    office = world["office"]
    root = make_admin(office, email="root.admin@sandes.nic.in", is_superuser=True, is_staff=True)
    # An admin who is no superuser first (guardian's lookup of the permission's content
    # type, read once a process, out of the count below): 26 statements, 4 more for
    # the superuser flag, which ends too (the account locked, asked whether the flag is
    # the last superadmin role, the superadmin grants locked, the flag cleared), and one
    # for the staff flag, cleared too.
    co = make_admin(office, email="co.admin@pune.mahaagri.gov.in")
    assert official_powers_end(user=co, reason="primary_email_not_official") == [office.pk]
    with django_assert_num_queries(31):
        ended = official_powers_end(user=root, reason="primary_email_not_official", address="root.admin@sandes.nic.in")
    assert ended == [office.pk]
    revoked = [(event.target_id, event.old_values["user_id"]) for event in events(AuditAction.MEMBERSHIP_REVOKED)]
    assert revoked == [(str(office.pk), co.pk), (str(office.pk), root.pk)]
    assert events(AuditAction.OFFICIAL_POWERS_ENDED)[1].new_values["organisations"] == [office.pk]


# A change of primary address that would end the last holder's role ----------------------------
#
# Making an address that is not official the primary one ends the powers the official one
# earned (official_powers_end): refused, changing nothing, while that would leave the
# platform without a superadmin, or an organisation without an admin, whose role does not end.

LAST_SUPERADMIN = ("You are the platform&#x27;s last superadmin whose role does not end, and the role needs an official "
                   "primary address: hand it over first by granting the superadmin role to someone else (without an "
                   "end date).")


def last_admin_of(name):
    return (f"You are the last admin of {name} whose role does not end, and the role needs an official primary "
            f"address: hand it over first by granting the admin role there to someone else (without an end date).")


def make_primary(client, user, address):
    """allauth's email page: "Make primary" on a confirmed second address, the roles it ends confirmed."""
    EmailAddress.objects.get_or_create(user=user, email=address, defaults={"verified": True, "primary": False})
    response = post_confirming_access(client, reverse("account_email"),
                                      {"action_primary": "", "email": address, "end_roles": "on"})
    return client.get(response["Location"], follow=True) if response.status_code == 302 else response


def superadmins_in_force():
    return PlatformRoleGrant.objects.filter(in_force_q(), role=PlatformRole.SUPERADMIN, user__is_active=True)


def test_the_last_superadmin_cannot_leave_the_platform_without_one(world):
    root = world["superadmin"]
    response = make_primary(client_of(world, "superadmin"), root, "root.home@gmail.com")
    assert list(superadmins_in_force().values_list("user", flat=True)) == [root.pk]
    assert fresh(root).email == "root@sandes.nic.in"
    assert EmailAddress.objects.get(user=root, primary=True).email == "root@sandes.nic.in"
    assert response.status_code == 200
    assert LAST_SUPERADMIN in response.content.decode()
    assert not events(AuditAction.USER_EMAIL_CHANGED) and not events(AuditAction.OFFICIAL_POWERS_ENDED)
    # Once someone else holds the role, the change goes through and ends theirs.
    deputy = UserFactory(email="deputy@sandes.nic.in")
    platform_role_grant(user=deputy, role="superadmin", jurisdiction="", actor=root)
    make_primary(client_of(world, "superadmin"), root, "root.home@gmail.com")
    assert fresh(root).email == "root.home@gmail.com"
    assert list(superadmins_in_force().values_list("user", flat=True)) == [deputy.pk]


def test_a_make_primary_the_page_does_not_offer_ends_no_role_without_the_box(world):
    """The email page offers no "Make primary" (a new address becomes the primary one once
    confirmed, where a box confirms the roles it ends); one sent anyway, for a personal
    address that ends a role someone else also holds, changes nothing until the box is sent
    ticked."""
    root = world["superadmin"]
    deputy = UserFactory(email="deputy@sandes.nic.in")
    platform_role_grant(user=deputy, role="superadmin", jurisdiction="", actor=root)
    EmailAddress.objects.create(user=root, email="root.home@gmail.com", verified=True, primary=False)
    client = client_of(world, "superadmin")
    response = post_confirming_access(client, reverse("account_email"),
                                      {"action_primary": "", "email": "root.home@gmail.com"})
    assert response.status_code == 302 and response["Location"] == reverse("account_email")
    assert fresh(root).email == "root@sandes.nic.in"
    assert root.pk in superadmins_in_force().values_list("user", flat=True)
    assert not events(AuditAction.USER_EMAIL_CHANGED) and not events(AuditAction.OFFICIAL_POWERS_ENDED)
    said = [str(message) for message in get_messages(response.wsgi_request)]
    assert said == ["root.home@gmail.com is not an official address: making it your primary address ends these "
                    "roles: Superadmin. Tick the box to confirm, or enter an official address."]
    make_primary(client, root, "root.home@gmail.com")
    assert fresh(root).email == "root.home@gmail.com"
    assert list(superadmins_in_force().values_list("user", flat=True)) == [deputy.pk]


def test_the_last_admin_of_an_organisation_cannot_leave_it_without_one(world):
    other, admin = world["other"], world["admin_other"]
    response = make_primary(client_of(world, "admin_other"), admin, "admin.home@gmail.com")
    assert list(Membership.objects.filter(organisation=other, role=MembershipRole.ADMIN, is_active=True)
                .values_list("user", flat=True)) == [admin.pk]
    assert permissions.may_administer(fresh(admin), other)
    assert fresh(admin).email == "admin@karhealth.gov.in"
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        last_admin_of("Directorate of Health Services, Karnataka")]
    # With a second admin there, the change goes through and ends the first one's role.
    organisation_admin_grant(organisation_id=other.pk, user_id=world["member_other"].pk, actor=world["superadmin"])
    make_primary(client_of(world, "admin_other"), admin, "admin.home@gmail.com")
    assert fresh(admin).email == "admin.home@gmail.com"
    assert not permissions.may_administer(fresh(admin), other)


def test_a_verified_member_made_admin_stays_a_member_when_a_personal_address_becomes_primary(world):
    """The admin role ends as a revocation ends it: the person is left as they were before it,
    a verified member of the organisation, their verification untouched."""
    from tests.verification.helpers import GovernmentProfileFactory
    from verification.models import GovernmentProfile, VerificationStatus

    office, member = world["office"], world["member"]
    GovernmentProfileFactory(user=member, organisation=office, status=VerificationStatus.VERIFIED)
    organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=fresh(world["admin_office"]),
                             reason="Deputy")
    client = client_of(world, "member")
    make_primary(client, member, "asha.home@gmail.com")
    assert fresh(member).email == "asha.home@gmail.com"
    assert GovernmentProfile.objects.get(user=member).status == VerificationStatus.VERIFIED
    assert not permissions.may_administer(fresh(member), office)
    membership = Membership.objects.get(user=member, organisation=office)
    assert (membership.role, membership.is_active) == (MembershipRole.MEMBER, True)
    [revoked] = events(AuditAction.MEMBERSHIP_REVOKED)
    assert revoked.new_values == {"member": True, "reason": "primary_email_not_official"}


def test_ending_official_powers_is_refused_for_every_role_left_without_a_holder_and_changes_nothing(world):
    """The last admin of one organisation, a co-admin of another and a superadmin among two:
    official_powers_end names the one organisation, ends nothing, and writes no audit row."""
    person = world["admin_other"]
    Membership.objects.create(organisation=world["office"], user=person, role=MembershipRole.ADMIN)
    platform_role_grant(user=person, role="superadmin", jurisdiction="", actor=world["superadmin"])
    audit_rows = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        official_powers_end(user=person, reason="primary_email_not_official")
    assert refused.value.messages == [last_admin_of("Directorate of Health Services, Karnataka")]
    assert Membership.objects.filter(user=person, role=MembershipRole.ADMIN, is_active=True).count() == 2
    assert PlatformRoleGrant.objects.filter(in_force_q(), user=person).count() == 1
    assert AuditEvent.objects.count() == audit_rows
    # The last superadmin too, with an admin role whose end date is set: both named.
    root = world["superadmin"]
    Membership.objects.create(organisation=world["other"], user=root, role=MembershipRole.ADMIN,
                              ends_at=timezone.now() + timedelta(days=30))
    Membership.objects.filter(user=person, organisation=world["other"]).update(is_active=False)
    platform_role_revoke(grant_id=PlatformRoleGrant.objects.get(user=person, role="superadmin").pk, actor=root)
    with pytest.raises(ValidationError) as refused:
        official_powers_end(user=root, reason="primary_email_not_official")
    assert [error.code for error in refused.value.error_list] == ["last_superadmin", "last_admin"]


CODE = re.compile(r"Please enter it in your open browser window\.\s+(\S+)")


def test_adding_a_personal_address_is_refused_at_the_field_while_it_would_end_the_last_admins_role(world):
    client = client_of(world, "admin_other")
    response = client.post(reverse("account_email"), {"action_add": "", "email": "admin.home@gmail.com"})
    assert response.status_code == 200
    assert field_error(page(response), "email") == last_admin_of("Directorate of Health Services, Karnataka")
    assert not EmailAddress.objects.filter(email="admin.home@gmail.com").exists()
    assert not OutboxMessage.objects.filter(to=["admin.home@gmail.com"]).exists()
    # Another official address is no change of powers: on to its code.
    response = client.post(reverse("account_email"), {"action_add": "", "email": "admin2@karhealth.gov.in"})
    assert response.status_code == 302


def test_a_personal_address_confirmed_after_the_other_admin_left_does_not_replace_the_official_one(world):
    """Added while a second admin was there; that admin's role revoked before the code is
    entered: the confirmation is refused with the reason, and nothing changes."""
    office, admin = world["office"], world["admin_office"]
    co = make_admin(office, email="co.admin@pune.mahaagri.gov.in")
    client = client_of({"co": co}, "co")
    response = post_confirming_access(client, reverse("account_email"), {"action_add": "", "email": "co.home@gmail.com",
                                                                         "end_roles": "on"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert client.get(response["Location"]).status_code == 200  # the page asking for the code
    code = CODE.search(OutboxMessage.objects.get(to=["co.home@gmail.com"]).body)[1]
    organisation_admin_revoke(organisation_id=office.pk, user_id=admin.pk, actor=world["superadmin"])
    response = client.post(reverse("account_email_verification_sent"), {"code": code}, follow=True)
    assert response.redirect_chain == [(reverse("account_email"), 302)]
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        last_admin_of("District Agriculture Office, Pune")]
    assert fresh(co).email == "co.admin@pune.mahaagri.gov.in"
    assert list(EmailAddress.objects.filter(user=co).values_list("email", "primary", "verified")) == [
        ("co.admin@pune.mahaagri.gov.in", True, True)]
    assert permissions.may_administer(fresh(co), office)
    assert not events(AuditAction.USER_EMAIL_CHANGED) and not events(AuditAction.USER_EMAIL_CONFIRMED)


def test_a_personal_address_confirmed_in_place_of_the_official_primary_one_ends_the_role_resting_on_it(world):
    """A state administrator who signed up with a personal address and made an official one
    primary later changes their address to a personal one (code mailed to it). allauth names
    as the address changed from the account's first other address by id (the old personal
    one): the change is recorded against the official primary address it replaced, and the
    role resting on that address ends with it."""
    holder = world["state_admin_mh"]
    EmailAddress.objects.filter(user=holder).delete()
    EmailAddress.objects.create(user=holder, email="state.admin@gmail.com", verified=True, primary=False)
    EmailAddress.objects.create(user=holder, email=holder.email, verified=True, primary=True)
    client = client_of(world, "state_admin_mh")
    response = post_confirming_access(client, reverse("account_email"),
                                      {"action_add": "", "email": "state.admin.home@gmail.com", "end_roles": "on"})
    assert response.status_code == 302
    code = CODE.search(OutboxMessage.objects.get(to=["state.admin.home@gmail.com"]).body)[1]
    assert client.post(reverse("account_email_verification_sent"), {"code": code}).status_code == 302
    assert fresh(holder).email == "state.admin.home@gmail.com"
    [changed] = events(AuditAction.USER_EMAIL_CHANGED)
    assert (changed.actor_id, changed.old_values, changed.new_values) == (
        holder.pk, {"email": "state.admin@maharashtra.gov.in"}, {"email": "state.admin.home@gmail.com"})
    [ended] = events(AuditAction.OFFICIAL_POWERS_ENDED)
    assert ended.new_values["platform_roles"] == [["state_admin", "MH"]]
    assert permissions.platform_roles_of(fresh(holder)) == set()
    assert audit_verify() == []


def test_changing_to_a_personal_address_names_the_roles_it_ends_and_waits_for_a_box(world):
    """A state administrator (not the last holder) changed their address to a personal one:
    entering the code mailed there ended the role at once, and no page on the way said so;
    afterwards they were sent to the approval queue, which refused them. The email page names
    the roles an official primary address earns; "Change" to a personal address is refused
    at a box naming the roles it ends (the address kept) until it is ticked; the page asking
    for the code names them again; once the code is entered they land on the email page,
    told which roles ended. An official address needs no box."""
    holder = world["state_admin_mh"]
    ending = "State administrator (Maharashtra)"
    client = client_of(world, "state_admin_mh")
    tree = parse(client.get(reverse("account_email")).content.decode())
    assert ending in tree.by_id("id_end_roles_helptext").squashed_text()
    assert field_value(tree, "end_roles") is False
    response = post_confirming_access(client, reverse("account_email"),
                                      {"action_add": "", "email": "state.admin.home@gmail.com"})
    assert response.status_code == 200
    tree = parse(response.content.decode())
    assert field_error(tree, "end_roles") == (
        f"state.admin.home@gmail.com is not an official address: making it your primary address ends these roles: "
        f"{ending}. Tick the box to confirm, or enter an official address.")
    # Summed up above the form as on every other form, its link going to the box.
    [summed] = tree.by_id("error-summary").find_all("a")
    assert summed.get("href") == "#id_end_roles" and ending in summed.squashed_text()
    assert field_value(tree, "email") == "state.admin.home@gmail.com"
    assert not OutboxMessage.objects.filter(to=["state.admin.home@gmail.com"]).exists()
    response = post_confirming_access(client, reverse("account_email"),
                                      {"action_add": "", "email": "state.admin2@maharashtra.gov.in"})
    assert response["Location"] == reverse("account_email_verification_sent")  # official: nothing ends, no box
    response = post_confirming_access(client, reverse("account_email"),
                                      {"action_add": "", "email": "state.admin.home@gmail.com", "end_roles": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("account_email_verification_sent")
    asking = page(client.get(response["Location"])).squashed_text()
    assert ("state.admin.home@gmail.com is not an official address: entering the code makes it your primary address "
            f"and ends these roles: {ending}.") in asking
    assert permissions.platform_roles_of(fresh(holder)) == {("state_admin", "MH")}  # nothing ended yet
    code = CODE.search(OutboxMessage.objects.get(to=["state.admin.home@gmail.com"]).body)[1]
    response = client.post(reverse("account_email_verification_sent"), {"code": code}, follow=True)
    assert response.status_code == 200 and response.redirect_chain == [(reverse("account_email"), 302)]
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "You have confirmed state.admin.home@gmail.com.",
        f"Your primary address is now state.admin.home@gmail.com, which is not official: these roles ended: {ending}."]
    assert permissions.platform_roles_of(fresh(holder)) == set()
    assert "end_roles" not in response.content.decode()  # nothing left to end


def test_changing_to_a_contractor_address_says_it_is_a_contractors_not_that_it_is_not_official(world):
    """A contractor's address (…-external.gov.in) is official mail that cannot hold an
    officer's roles: changing to one ends them as a personal address does, but the box, the
    page asking for the code and the message once it is entered said it "is not an official
    address", which is false, and left the person unable to see why their official address
    was refused. Each says it is a contractor's address, which cannot hold these roles."""
    holder = world["state_admin_mh"]
    ending = "State administrator (Maharashtra)"
    contractor = "state.admin@maharashtra-external.gov.in"
    client = client_of(world, "state_admin_mh")
    response = post_confirming_access(client, reverse("account_email"), {"action_add": "", "email": contractor})
    assert response.status_code == 200
    tree = parse(response.content.decode())
    assert field_error(tree, "email") is None
    assert field_error(tree, "end_roles") == (
        f"{contractor} is a contractor's address, which cannot hold these roles: making it your primary address "
        f"ends them: {ending}. Tick the box to confirm, or enter an official address that is not a contractor's.")
    assert field_value(tree, "email") == contractor
    response = post_confirming_access(client, reverse("account_email"),
                                      {"action_add": "", "email": contractor, "end_roles": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("account_email_verification_sent")
    asking = page(client.get(response["Location"])).squashed_text()
    assert "not an official address" not in asking
    assert (f"{contractor} is a contractor's address, which cannot hold these roles: entering the code makes it your "
            f"primary address and ends them: {ending}.") in asking
    code = CODE.search(OutboxMessage.objects.get(to=[contractor]).body)[1]
    response = client.post(reverse("account_email_verification_sent"), {"code": code}, follow=True)
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        f"You have confirmed {contractor}.",
        f"Your primary address is now {contractor}, a contractor's address, which cannot hold these roles: they "
        f"ended: {ending}."]
    assert permissions.platform_roles_of(fresh(holder)) == set()



def test_a_role_held_on_a_domain_taken_off_the_official_list_ends_when_a_personal_address_becomes_primary(world):
    """A superadmin marked the state's domain "needs manual review" after the state
    administrator was granted the role on it. The ending of the roles a personal primary
    address cannot hold compared the address left under the rules of now: no longer official,
    it was taken to have earned nothing, so the change to a personal address ended nothing
    and a gmail.com account kept the state administrator's role. The email page names the
    roles and asks for the box, and entering the code ends them, as for any role holder."""
    from portal.accounts.models import SuffixKind
    from portal.accounts.services import email_rule_save

    holder = world["state_admin_mh"]
    ending = "State administrator (Maharashtra)"
    email_rule_save(suffix="maharashtra.gov.in", kind=SuffixKind.MANUAL_REVIEW, actor=fresh(world["superadmin"]))
    client = client_of(world, "state_admin_mh")
    tree = parse(client.get(reverse("account_email")).content.decode())
    assert ending in tree.by_id("id_end_roles_helptext").squashed_text()
    response = post_confirming_access(client, reverse("account_email"),
                                      {"action_add": "", "email": "state.admin.home@gmail.com"})
    assert response.status_code == 200
    assert field_error(parse(response.content.decode()), "end_roles") == (
        f"state.admin.home@gmail.com is not an official address: making it your primary address ends these roles: "
        f"{ending}. Tick the box to confirm, or enter an official address.")
    response = post_confirming_access(client, reverse("account_email"),
                                      {"action_add": "", "email": "state.admin.home@gmail.com", "end_roles": "on"})
    assert response["Location"] == reverse("account_email_verification_sent")
    code = CODE.search(OutboxMessage.objects.get(to=["state.admin.home@gmail.com"]).body)[1]
    assert client.post(reverse("account_email_verification_sent"), {"code": code}).status_code == 302
    assert fresh(holder).email == "state.admin.home@gmail.com"
    assert permissions.platform_roles_of(fresh(holder)) == set()
    [ended] = events(AuditAction.OFFICIAL_POWERS_ENDED)
    assert ended.new_values["platform_roles"] == [["state_admin", "MH"]]
    assert audit_verify() == []



# An organisation's first admin whose address moves to another department ---------------------

def office_with_domains(world):
    """The office and the department above it, each with its staff domain; the office's
    first admin (its nodal officer, admin by the approved application: no verification) and
    a deputy who keeps it administered."""
    from portal.organisations.models import OrganisationDomain

    for organisation, domain in ((world["parent"], "mahaagri.gov.in"), (world["office"], "pune.mahaagri.gov.in")):
        OrganisationDomain.objects.create(organisation=organisation, domain=domain, is_verified=True)
    return make_admin(world["office"], email="deputy@pune.mahaagri.gov.in")


def change_address(client, address, **extra):
    """allauth's email page: ``address`` added (the box ticked when ``extra`` says so), then
    the code mailed to it entered. The last response, its redirects followed."""
    response = post_confirming_access(client, reverse("account_email"), {"action_add": "", "email": address, **extra})
    if response.status_code != 302:
        return response
    code = CODE.search(OutboxMessage.objects.filter(to=[address]).latest("id").body)[1]
    return client.post(reverse("account_email_verification_sent"), {"code": code}, follow=True)


def test_a_first_admin_whose_address_moves_to_another_department_stops_administering(world):
    """The office's first admin, transferred, makes the new department's (official) address
    their account's: an admin role resting on a verification would end as the old address
    leaves the account; the first admin's rested on nothing that ends, and carried on. It
    ends now, as the roles a personal address ends do: the box names it first, the page
    asking for the code again; once entered it ends by the system, audited, and the person
    is told on the page and by mail at the new address."""
    office_with_domains(world)
    admin, office = world["admin_office"], world["office"]
    new = "office.admin@karhealth.gov.in"
    ending = "Organisation admin (District Agriculture Office, Pune)"
    client = client_of(world, "admin_office")
    # The box's help says so before anything is typed, as it says what a personal address ends.
    assert ("An official address of another department ends an organisation admin role given when its application "
            "was approved.") in page(client.get(reverse("account_email"))).squashed_text()
    response = post_confirming_access(client, reverse("account_email"), {"action_add": "", "email": new})
    assert response.status_code == 200
    assert field_error(page(response), "end_roles") == (
        f"{new} is not an address of the organisations of these roles: making it your primary address ends them: "
        f"{ending}. Tick the box to confirm, or enter an address of theirs.")
    assert not OutboxMessage.objects.filter(to=[new]).exists()
    response = post_confirming_access(client, reverse("account_email"), {"action_add": "", "email": new,
                                                                         "end_roles": "on"})
    asking = page(client.get(response["Location"])).squashed_text()
    assert (f"{new} is not an address of the organisations of these roles: entering the code makes it your primary "
            f"address and ends them: {ending}.") in asking
    assert permissions.may_administer(fresh(admin), office)  # nothing ended yet
    code = CODE.search(OutboxMessage.objects.get(to=[new]).body)[1]
    response = client.post(reverse("account_email_verification_sent"), {"code": code}, follow=True)
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        f"You have confirmed {new}.",
        f"Your primary address is now {new}, not an address of the organisations of these roles: they ended: "
        f"{ending}."]
    assert fresh(admin).email == new
    assert not permissions.may_administer(fresh(admin), office)
    assert not Membership.objects.filter(user=admin, organisation=office, is_active=True).exists()
    [revoked] = events(AuditAction.MEMBERSHIP_REVOKED)
    assert (revoked.actor_id, revoked.actor_role, revoked.target_id) == (None, "system", str(office.pk))
    assert revoked.old_values == {"user": new, "user_id": admin.pk, "role": "admin"}
    [changed] = events(AuditAction.USER_EMAIL_CHANGED)  # the row before it: from which address
    assert (changed.old_values, changed.new_values) == ({"email": "admin@pune.mahaagri.gov.in"}, {"email": new})
    assert changed.pk < revoked.pk
    assert revoked.new_values == {"member": False, "reason": "primary_email_outside_organisation"}
    [told] = OutboxMessage.objects.filter(to=[new], subject__contains="admin role")
    assert told.subject == "Your admin role in District Agriculture Office, Pune has ended"
    assert (f"Your account's primary address is now {new}, which is not an address of District Agriculture "
            f"Office, Pune, of an office below it or of one above it.") in told.body
    assert audit_verify() == []


@pytest.mark.parametrize("new", ["admin.office@pune.mahaagri.gov.in", "admin.office@mahaagri.gov.in",
                                 "office.admin@dept.gov.in"])
def test_a_first_admins_new_address_in_the_organisations_line_or_at_the_same_domain_keeps_the_role(world, new):
    """An address of the office, of the department above it, or one at the same domain as
    the old one (an organisation that listed no domain of its own): the role stays, no box."""
    office_with_domains(world)
    admin = world["admin_office"]
    if new.endswith("@dept.gov.in"):
        User.objects.filter(pk=admin.pk).update(email="admin@dept.gov.in")
        EmailAddress.objects.filter(user=admin).update(email="admin@dept.gov.in")
    response = change_address(client_of({"admin": fresh(admin)}, "admin"), new)
    assert response.status_code == 200 and fresh(admin).email == new
    assert permissions.may_administer(fresh(admin), world["office"])
    assert not events(AuditAction.MEMBERSHIP_REVOKED)


def test_the_last_admin_cannot_move_a_first_admin_role_to_another_departments_address(world):
    """The office's only admin is its first admin: the address of another department is
    refused at the field (and, were the deputy to leave meanwhile, at the code), saying to
    hand the role over first; nothing changes."""
    office_with_domains(world)
    admin, office = world["admin_office"], world["office"]
    organisation_admin_revoke(organisation_id=office.pk, user_id=User.objects.get(email="deputy@pune.mahaagri.gov.in").pk,
                              actor=world["superadmin"])
    refusal = ("You are the last admin of District Agriculture Office, Pune whose role does not end, and "
               "office.admin@karhealth.gov.in is not an address of it: hand the role over first by granting the admin "
               "role there to someone else (without an end date).")
    client = client_of(world, "admin_office")
    response = post_confirming_access(client, reverse("account_email"), {
        "action_add": "", "email": "office.admin@karhealth.gov.in", "end_roles": "on"})
    assert response.status_code == 200
    assert field_error(page(response), "email") == refusal
    assert not OutboxMessage.objects.filter(to=["office.admin@karhealth.gov.in"]).exists()
    # Asked with a deputy there, confirmed once the deputy has left: refused at the code.
    deputy = make_admin(office, email="deputy2@pune.mahaagri.gov.in")
    response = post_confirming_access(client, reverse("account_email"), {
        "action_add": "", "email": "office.admin@karhealth.gov.in", "end_roles": "on"})
    assert response.status_code == 302
    code = CODE.search(OutboxMessage.objects.get(to=["office.admin@karhealth.gov.in"]).body)[1]
    organisation_admin_revoke(organisation_id=office.pk, user_id=deputy.pk, actor=world["superadmin"])
    response = client.post(reverse("account_email_verification_sent"), {"code": code}, follow=True)
    assert [str(message) for message in get_messages(response.wsgi_request)][-1] == refusal
    assert fresh(admin).email == "admin@pune.mahaagri.gov.in"
    assert permissions.may_administer(fresh(admin), office)
    assert not events(AuditAction.USER_EMAIL_CHANGED)


def test_a_printed_revocation_of_a_role_shows_whose_role_ends_without_its_form(world):
    """On paper a role's revocation page says whose role ends and what that does; its reason,
    box and button act on nothing there and stay off it."""
    grant = PlatformRoleGrant.objects.get(user=world["state_admin_mh"], role=PlatformRole.STATE_ADMIN)
    tree = page(client_of(world, "superadmin").get(f"/portal/roles/platform/{grant.pk}/revoke/"))
    assert printed_controls(tree) == []
    assert world["state_admin_mh"].email in printed_text(tree)
    url = f"/portal/roles/organisations/{world['office'].pk}/revoke/?user={world['admin_office'].pk}"
    tree = page(client_of(world, "admin_parent").get(url))
    assert printed_controls(tree) == []
    printed = printed_text(tree)
    assert "Remove an admin" in printed and "admin@pune.mahaagri.gov.in" in printed
    assert "They are told by email, in their language, with your reason." in printed


def test_roles_ending_leave_without_an_admin_only_the_organisations_where_no_other_role_stands(db):
    """Two roles end, one in each of two offices: the first office keeps the holder of the
    other ending role, whose own role there does not end; the second keeps nobody (each
    ending role is of one organisation, not of its holder everywhere)."""
    from tests.factories import OrganisationFactory  # noqa: PLC0415

    first, second = OrganisationFactory(state="MH"), OrganisationFactory(state="MH")
    one = make_admin(first, email="one@first.maharashtra.gov.in")
    both = make_admin(second, email="both@second.maharashtra.gov.in")
    Membership.objects.create(organisation=first, user=both, role="admin")
    ending = [Membership.objects.get(organisation=first, user=one), Membership.objects.get(organisation=second, user=both)]
    assert organisations_left_without_admin(ending) == {second.pk}


def test_an_admin_made_an_auditor_meanwhile_removes_no_admin(world):
    """The request read the admin's roles, then another made them an auditor (whose account is
    read-only): removing an admin is refused, the roles asked again under the lock."""
    office, root, acting = world["office"], fresh(world["superadmin"]), fresh(world["admin_office"])
    deputy = make_admin(office, email="deputy@pune.mahaagri.gov.in")
    make_admin(office, email="third@pune.mahaagri.gov.in")
    assert permissions.may_grant_admin(acting, office)  # read by the request
    platform_role_grant(user=fresh(acting), role="auditor", jurisdiction="", actor=root, reason="Audit cell")
    with pytest.raises(PermissionDenied):
        organisation_admin_revoke(organisation_id=office.pk, user_id=deputy.pk, actor=acting, reason="Moved on")
    assert Membership.objects.filter(organisation=office, user=deputy, is_active=True).exists()


def test_a_superadmin_whose_role_was_revoked_meanwhile_grants_no_admin_role(world):
    office = world["office"]
    other = make_member(office, email="root2@nic.in")
    PlatformRoleGrant.objects.create(user=other, role=PlatformRole.SUPERADMIN, jurisdiction="")
    acting = fresh(world["superadmin"])
    assert permissions.may_grant_admin(acting, office)  # read by the request
    grant = PlatformRoleGrant.objects.get(user=acting, role=PlatformRole.SUPERADMIN)
    platform_role_revoke(grant_id=grant.pk, actor=fresh(other), reason="Left")
    with pytest.raises(PermissionDenied):
        organisation_admin_grant(organisation_id=office.pk, user_id=world["member"].pk, actor=acting, reason="Deputy")
    assert not Membership.objects.filter(organisation=office, user=world["member"], role=MembershipRole.ADMIN).exists()


def _auditor_superadmin_alone(world):
    """The office's only admin, also a superadmin (until revoked) and an auditor: they act as
    its admin because they are a superadmin."""
    office, root, first = world["office"], fresh(world["superadmin"]), world["admin_office"]
    grant = PlatformRoleGrant.objects.create(user=first, role=PlatformRole.SUPERADMIN, jurisdiction="")
    platform_role_grant(user=fresh(first), role="auditor", jurisdiction="MH", actor=root, reason="Audit cell")
    return office, root, first, grant


def test_a_last_day_on_the_superadmin_role_of_an_auditor_who_is_an_organisations_last_admin_is_refused(world):
    """Revoking that superadmin role is refused (the office would keep no admin who may act);
    giving it a last day is too: past it, the office would have none."""
    office, root, first, grant = _auditor_superadmin_alone(world)
    with pytest.raises(ValidationError):
        platform_role_revoke(grant_id=grant.pk, actor=root, reason="Done")
    with pytest.raises(ValidationError) as refused:
        platform_role_grant(user=fresh(first), role="superadmin", jurisdiction="",
                            ends_at=timezone.now() + timedelta(days=30), actor=root, reason="Until the audit ends")
    assert "is the last admin of" in refused.value.messages[0]
    grant.refresh_from_db()
    assert grant.ends_at is None


def test_the_only_admin_who_acts_for_good_is_not_removed_leaving_an_auditor_whose_superadmin_role_ends(world):
    office, root, first, grant = _auditor_superadmin_alone(world)
    grant.ends_at = timezone.now() + timedelta(days=30)
    grant.save(update_fields=["ends_at"])
    deputy = make_admin(office, email="deputy@pune.mahaagri.gov.in")
    with pytest.raises(ValidationError):
        organisation_admin_revoke(organisation_id=office.pk, user_id=deputy.pk, actor=root, reason="Moved on")
    assert Membership.objects.filter(organisation=office, user=deputy, is_active=True).exists()


def test_the_auditor_role_is_not_given_to_a_last_admin_whose_superadmin_role_ends(world):
    root, first = fresh(world["superadmin"]), world["admin_office"]
    PlatformRoleGrant.objects.create(user=first, role=PlatformRole.SUPERADMIN, jurisdiction="",
                                     ends_at=timezone.now() + timedelta(days=30))
    with pytest.raises(ValidationError):
        platform_role_grant(user=fresh(first), role="auditor", jurisdiction="MH", actor=root, reason="Audit cell")
    assert not PlatformRoleGrant.objects.filter(user=first, role=PlatformRole.AUDITOR).exists()
