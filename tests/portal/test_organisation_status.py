"""Suspending and reactivating an organisation, by service: who may (portal.permissions,
asked again under the organisation's lock), which changes are refused and why, the
reason and the note, the audit rows, and the mail to its admins (or, with none, to whoever
acts for it), one each, in their language."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from portal import permissions
from portal.accounts.models import User
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_verify
from portal.mail.models import OutboxMessage
from portal.organisations.models import (
    Membership,
    Organisation,
    OrganisationStatus,
    ReactivationReason,
    SuspensionReason,
)
from portal.organisations.services import (
    OrganisationStatusUnchanged,
    organisation_reactivate,
    organisation_suspend,
)
from tests.factories import OrganisationFactory
from tests.onboarding.approval_helpers import make_superadmin, messages_to
from tests.portal.role_helpers import make_admin
from tests.verification.helpers import GovernmentProfileFactory
from verification.models import VerificationStatus

pytestmark = pytest.mark.django_db

NOTE = "Letters went out under the department's name from an address it does not use.\nपुनरावलोकन सुरू आहे."
ACTORS = ["superadmin", "state_admin_mh", "state_admin_ka", "auditor", "admin_office", "admin_parent", "admin_other",
          "member", "public"]


@pytest.fixture
def world(roles_world):
    return roles_world


def fresh(user):
    """The user as their next request sees them (no roles cached on the object)."""
    return User.objects.get(pk=user.pk)


def suspend(world, where="office", who="superadmin", reason_code=SuspensionReason.UNDER_REVIEW, reason=NOTE):
    return organisation_suspend(organisation_id=world[where].pk, reason_code=reason_code, reason=reason,
                                actor=fresh(world[who]))


def reactivate(world, where="office", who="superadmin", reason_code=ReactivationReason.REVIEW_COMPLETED,
               reason="Checked with the department: the address is theirs."):
    return organisation_reactivate(organisation_id=world[where].pk, reason_code=reason_code, reason=reason,
                                   actor=fresh(world[who]))


def status_of(organisation):
    return Organisation.objects.get(pk=organisation.pk).status


def events(*actions):
    return list(AuditEvent.objects.filter(action__in=actions).order_by("id"))


def speaks(user, language):
    """The person last asked to be verified in ``language``: the core's mail tells them in it."""
    GovernmentProfileFactory(user=user, organisation=OrganisationFactory(state="MH"), request_language=language,
                             status=VerificationStatus.VERIFIED)


# Suspending and reactivating --------------------------------------------------------------------

def test_a_superadmin_suspends_an_organisation_and_reactivates_it(world):
    office = world["office"]
    suspended = suspend(world, reason_code=SuspensionReason.MISUSE)
    assert suspended.status == status_of(office) == OrganisationStatus.SUSPENDED
    [event] = events(AuditAction.ORGANISATION_SUSPENDED)
    assert (event.actor_id, event.target_type, event.target_id) == (world["superadmin"].pk, "organisations.organisation",
                                                                    str(office.pk))
    assert event.old_values == {"status": "active"}
    assert event.new_values == {"status": "suspended", "reason_code": "misuse", "reason": NOTE,
                                "told": ["admin@pune.mahaagri.gov.in"]}
    assert {"reason", "told"} <= set(event.personal_keys)  # the note and the addresses are erasable
    # Its admins act for nothing now, neither for it nor below it; the admins above it still do.
    assert not permissions.may_administer(fresh(world["admin_office"]), office)
    assert permissions.may_administer(fresh(world["admin_parent"]), office)

    reactivated = reactivate(world)
    assert reactivated.status == status_of(office) == OrganisationStatus.ACTIVE
    [event] = events(AuditAction.ORGANISATION_REACTIVATED)
    assert event.old_values == {"status": "suspended"}
    assert event.new_values == {"status": "active", "reason_code": "review_completed",
                                "reason": "Checked with the department: the address is theirs.",
                                "told": ["admin@pune.mahaagri.gov.in"]}
    assert permissions.may_administer(fresh(world["admin_office"]), office)
    assert Organisation.objects.get(pk=office.pk).activated_at == office.activated_at  # onboarded when it was
    assert audit_verify() == []


def test_suspending_an_organisation_leaves_the_offices_below_it_active_and_its_admins_acting_for_none(world):
    parent, office = world["parent"], world["office"]
    suspend(world, where="parent")
    assert status_of(office) == OrganisationStatus.ACTIVE
    admin = fresh(world["admin_parent"])
    assert not permissions.may_administer(admin, office) and not permissions.may_administer(admin, parent)
    assert permissions.may_administer(fresh(world["admin_office"]), office)
    reactivate(world, where="parent")
    assert permissions.may_administer(fresh(world["admin_parent"]), office)


# Who may ------------------------------------------------------------------------------------------

MAY = {"superadmin": ("office", "other"), "state_admin_mh": ("office",), "state_admin_ka": ("other",)}


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("where", ["office", "other"])
def test_who_may_suspend_and_reactivate_which_organisation(world, who, where):
    """The service asks portal.permissions again: a superadmin any organisation, a state
    administrator those of their state; the organisation's own admins, those above it, an
    auditor, a member, anyone else none. A refusal changes nothing and tells nobody."""
    organisation = world[where]
    if where in MAY.get(who, ()):
        suspend(world, where=where, who=who)
        assert status_of(organisation) == OrganisationStatus.SUSPENDED
        reactivate(world, where=where, who=who)
        assert status_of(organisation) == OrganisationStatus.ACTIVE
        assert len(events(AuditAction.ORGANISATION_SUSPENDED, AuditAction.ORGANISATION_REACTIVATED)) == 2
        return
    with pytest.raises(PermissionDenied):
        suspend(world, where=where, who=who)
    assert status_of(organisation) == OrganisationStatus.ACTIVE
    Organisation.objects.filter(pk=organisation.pk).update(status=OrganisationStatus.SUSPENDED)
    with pytest.raises(PermissionDenied):
        reactivate(world, where=where, who=who)
    assert status_of(organisation) == OrganisationStatus.SUSPENDED
    assert not AuditEvent.objects.exists() and not OutboxMessage.objects.exists()


def test_a_state_administrator_who_lost_the_role_suspends_nothing(world):
    """Asked again inside the service: a role revoked since the page was opened counts for nothing."""
    admin = fresh(world["state_admin_mh"])
    assert permissions.may_change_organisation_status(admin, world["office"])  # read once, as a page would
    admin.platform_roles.update(revoked_at=timezone.now())
    with pytest.raises(PermissionDenied):
        organisation_suspend(organisation_id=world["office"].pk, reason_code=SuspensionReason.MISUSE, reason=NOTE,
                             actor=admin)
    assert status_of(world["office"]) == OrganisationStatus.ACTIVE


# What is refused ------------------------------------------------------------------------------------

def test_only_an_active_organisation_is_suspended_and_only_a_suspended_one_reactivated(world):
    """A change that is not active -> suspended or suspended -> active is refused, saying
    why: sent twice (a second tab, another administrator first), or of an organisation
    whose application is still being decided. Nothing is written."""
    with pytest.raises(OrganisationStatusUnchanged, match="District Agriculture Office, Pune is already active"):
        reactivate(world)
    suspend(world)
    before = AuditEvent.objects.count(), OutboxMessage.objects.count()
    with pytest.raises(OrganisationStatusUnchanged, match="District Agriculture Office, Pune is already suspended"):
        suspend(world)
    assert (AuditEvent.objects.count(), OutboxMessage.objects.count()) == before
    Organisation.objects.filter(pk=world["other"].pk).update(status=OrganisationStatus.PENDING)
    for change in (suspend, reactivate):
        with pytest.raises(OrganisationStatusUnchanged, match="is not active yet: its application is still being"):
            change(world, where="other")
    assert status_of(world["other"]) == OrganisationStatus.PENDING
    assert (AuditEvent.objects.count(), OutboxMessage.objects.count()) == before


@pytest.mark.parametrize(("reason_code", "reason", "field"), [
    ("", NOTE, "reason_code"),
    ("nonsense", NOTE, "reason_code"),
    (ReactivationReason.REVIEW_COMPLETED, NOTE, "reason_code"),  # a reason to reactivate, not to suspend
    (SuspensionReason.OTHER, "", "reason"),
    (SuspensionReason.OTHER, " \n\u200b ", "reason"),  # nothing to read
    (SuspensionReason.OTHER, "x" * 1001, "reason"),
])
def test_a_suspension_needs_one_of_its_reasons_and_a_note_of_at_most_1000_characters(world, reason_code, reason, field):
    with pytest.raises(ValidationError) as refused:
        suspend(world, reason_code=reason_code, reason=reason)
    assert list(refused.value.error_dict) == [field]
    assert status_of(world["office"]) == OrganisationStatus.ACTIVE and not AuditEvent.objects.exists()


def test_a_reactivation_needs_one_of_its_own_reasons_and_a_note(world):
    suspend(world)
    with pytest.raises(ValidationError) as refused:
        reactivate(world, reason_code=SuspensionReason.MISUSE)
    assert list(refused.value.error_dict) == ["reason_code"]
    with pytest.raises(ValidationError) as refused:
        reactivate(world, reason="")
    assert list(refused.value.error_dict) == ["reason"]
    reactivate(world, reason_code=ReactivationReason.SUSPENDED_IN_ERROR, reason="y" * 1000)
    assert status_of(world["office"]) == OrganisationStatus.ACTIVE


def test_the_note_is_kept_as_typed_its_lines_included_without_control_characters(world):
    suspend(world, reason="  First line.\r\nSecond\tline.\x07  ")
    [event] = events(AuditAction.ORGANISATION_SUSPENDED)
    assert event.new_values["reason"] == "First line.\nSecond line."


# Who is told -----------------------------------------------------------------------------------------

def test_its_admins_are_told_one_mail_each_in_their_language(world):
    """Each admin of the organisation whose role counts, in the language the portal knows
    them by; not an admin whose role has ended, nor one whose account is deactivated; not
    the organisation's verified members (there may be a hundred thousand)."""
    office = world["office"]
    speaks(world["admin_office"], "hi")
    second = make_admin(office, email="second.admin@pune.mahaagri.gov.in")
    speaks(second, "mr")
    ended = make_admin(office, email="ended.admin@pune.mahaagri.gov.in")
    Membership.objects.filter(user=ended).update(ends_at=timezone.now() - timedelta(days=1))
    inactive = make_admin(office, email="inactive.admin@pune.mahaagri.gov.in", is_active=False)
    suspend(world, reason_code=SuspensionReason.MERGED)
    assert sorted(address for message in OutboxMessage.objects.all() for address in message.to) == [
        "admin@pune.mahaagri.gov.in", "second.admin@pune.mahaagri.gov.in"]
    [hindi] = messages_to("admin@pune.mahaagri.gov.in")
    [marathi] = messages_to("second.admin@pune.mahaagri.gov.in")
    with translation.override("hi"):
        assert str(SuspensionReason.MERGED.label) in hindi.body
    with translation.override("mr"):
        assert str(SuspensionReason.MERGED.label) in marathi.body
    for message in (hindi, marathi):
        assert "District Agriculture Office, Pune" in message.subject
        assert NOTE in message.body and "root@sandes.nic.in" in message.body
    assert not messages_to(ended.email) and not messages_to(inactive.email)
    assert not messages_to(world["member"].email)
    [event] = events(AuditAction.ORGANISATION_SUSPENDED)
    assert event.new_values["told"] == ["admin@pune.mahaagri.gov.in", "second.admin@pune.mahaagri.gov.in"]


def test_an_organisation_without_admins_of_its_own_is_told_to_the_admins_above_it(world):
    Membership.objects.filter(user=world["admin_office"]).delete()
    suspend(world)
    [message] = OutboxMessage.objects.all()
    assert message.to == ["admin@mahaagri.gov.in"]  # the department's admin, who acts for it
    assert "Agriculture Department, Maharashtra" in message.body
    reactivate(world)
    assert [m.to for m in OutboxMessage.objects.order_by("id")] == [["admin@mahaagri.gov.in"]] * 2


def test_a_top_organisation_without_admins_is_told_to_the_other_superadmins(world):
    """With no admin of its own and none above it, the superadmins act for it: each is told,
    but the one who suspended it, whom the page told."""
    other = world["other"]
    Membership.objects.filter(organisation=other).delete()
    second = make_superadmin(email="second.root@nic.in")
    suspend(world, where="other")
    assert sorted(m.to[0] for m in OutboxMessage.objects.all()) == [second.email]
    [event] = events(AuditAction.ORGANISATION_SUSPENDED)
    assert event.new_values["told"] == [second.email]
