"""Two administrators each removing one of an organisation's last two admins at the
same moment, in real concurrent transactions on PostgreSQL: the organisation's row
lock puts one after the other, so the second sees that only one admin is left and
is refused. The organisation keeps an admin. So it does, and the platform a
superadmin, when one of the last two moves to a personal address (their official
powers end) while the other's role ends. Two administrators suspending one
organisation at the same moment suspend it once: the second is told it is suspended
already. Two organisations given one short code at the same moment: the code's lock makes
the second find it taken; so does a domain added to two organisations at once, or made
official by a final approval as a superadmin adds it or accepts a claim to it. Two
administrators renaming one organisation from pages opened before either saved: the second
is refused, not saved over the first unseen. Two moves that together would make a loop: the
second finds it and is refused."""

import pytest
from django.core.exceptions import ValidationError

from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import _CHAIN_LOCK_KEY
from portal.mail.models import OutboxMessage
from portal.organisations.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationStatus,
    PlatformRole,
    PlatformRoleGrant,
    SuspensionReason,
    in_force_q,
)
from portal.organisations.services import (
    MOVE_LOCK_NAMESPACE,
    LastAdmin,
    OfficialPowersHeld,
    OrganisationStatusUnchanged,
    details_digest,
    official_powers_end,
    organisation_admin_revoke,
    organisation_details_change,
    organisation_domain_accept,
    organisation_domain_add,
    organisation_move,
    organisation_suspend,
    platform_role_grant,
)
from portal.shown import ChangedMeanwhile
from tests.factories import OrganisationFactory, UserFactory
from tests.onboarding.approval_helpers import TRANSACTIONAL, official_email_rules  # noqa: F401 (fixture)
from tests.onboarding.test_race_pg import race
from tests.portal.role_helpers import make_admin

pytestmark = [TRANSACTIONAL, pytest.mark.usefixtures("require_postgresql")]


def test_removing_the_last_two_admins_at_once_removes_one(roles_world):
    world = roles_world
    office = world["office"]
    deputy = make_admin(office, email="deputy@pune.mahaagri.gov.in")
    results = race(
        [
            lambda: organisation_admin_revoke(organisation_id=office.pk, user_id=world["admin_office"].pk,
                                              actor=world["superadmin"]),
            lambda: organisation_admin_revoke(organisation_id=office.pk, user_id=deputy.pk, actor=world["admin_parent"]),
        ],
        hold_sql="SELECT id FROM organisations_organisation WHERE id = %s FOR UPDATE", hold_params=[office.pk],
    )
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    assert all(isinstance(value, LastAdmin) for outcome, value in results if outcome == "error")
    assert Membership.objects.filter(organisation=office, role=MembershipRole.ADMIN, is_active=True).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).count() == 1


def test_an_admin_leaving_by_a_change_of_address_while_the_other_is_removed_leaves_one(roles_world):
    world = roles_world
    office = world["office"]
    deputy = make_admin(office, email="deputy@pune.mahaagri.gov.in")
    results = race(
        [
            lambda: official_powers_end(user=deputy, reason="primary_email_not_official"),
            lambda: organisation_admin_revoke(organisation_id=office.pk, user_id=world["admin_office"].pk,
                                              actor=world["superadmin"]),
        ],
        hold_sql="SELECT id FROM organisations_organisation WHERE id = %s FOR UPDATE", hold_params=[office.pk],
    )
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    assert all(isinstance(value, (LastAdmin, OfficialPowersHeld)) for outcome, value in results if outcome == "error")
    assert Membership.objects.filter(organisation=office, role=MembershipRole.ADMIN, is_active=True).count() == 1


def test_the_last_two_superadmins_leaving_by_a_change_of_address_at_once_leave_one(roles_world):
    root = roles_world["superadmin"]
    deputy = UserFactory(email="deputy@sandes.nic.in")
    platform_role_grant(user=deputy, role="superadmin", jurisdiction="", actor=root)
    results = race(
        [lambda person=person: official_powers_end(user=person, reason="primary_email_not_official")
         for person in (root, deputy)],
        hold_sql="SELECT id FROM organisations_platformrolegrant WHERE role = %s FOR UPDATE",
        hold_params=[PlatformRole.SUPERADMIN],
    )
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    assert all(isinstance(value, OfficialPowersHeld) for outcome, value in results if outcome == "error")
    assert PlatformRoleGrant.objects.filter(in_force_q(), role=PlatformRole.SUPERADMIN).count() == 1


def test_two_administrators_suspending_an_organisation_at_once_suspend_it_once(roles_world):
    world = roles_world
    office = world["office"]
    results = race(
        [lambda who=who: organisation_suspend(organisation_id=office.pk, reason_code=SuspensionReason.MISUSE,
                                              reason=f"Seen by {who}.", actor=world[who])
         for who in ("superadmin", "state_admin_mh")],
        hold_sql="SELECT id FROM organisations_organisation WHERE id = %s FOR UPDATE", hold_params=[office.pk],
    )
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    assert all(isinstance(value, OrganisationStatusUnchanged) for outcome, value in results if outcome == "error")
    assert Organisation.objects.get(pk=office.pk).status == OrganisationStatus.SUSPENDED
    assert AuditEvent.objects.filter(action=AuditAction.ORGANISATION_SUSPENDED).count() == 1
    assert OutboxMessage.objects.count() == 1  # its admin told once


def _rename(organisation, actor, *, shown=None, **details):
    values = {key: getattr(organisation, key) for key in ("name", "name_local", "short_code", "district")}
    return organisation_details_change(organisation=organisation, **{**values, **details}, reason="By order.",
                                       actor=actor, shown=shown)


def test_two_organisations_given_one_short_code_at_once_get_it_once(roles_world):
    """Both find the code free before either saves it, unless the code's lock puts one after
    the other (as two final approvals naming it): the second is refused at the short code."""
    world = roles_world
    office, other = world["office"], world["other"]
    results = race(
        [lambda: _rename(office, world["superadmin"], short_code="HEALTH-1"),
         lambda: _rename(other, world["state_admin_ka"], short_code="health-1")],
        hold_sql="SELECT id FROM organisations_organisation WHERE id IN (%s, %s) FOR UPDATE",
        hold_params=[office.pk, other.pk],
    )
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    [refused] = [value for outcome, value in results if outcome == "error"]
    assert isinstance(refused, ValidationError) and list(refused.error_dict) == ["short_code"]
    assert Organisation.objects.filter(short_code__iexact="HEALTH-1").count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.ORGANISATION_DETAILS_CHANGED).count() == 1


def test_one_domain_added_to_two_organisations_at_once_is_official_for_one(roles_world):
    """Neither has a row of the domain to lock before either saves it, unless the domain's
    lock puts one after the other: the second is refused at the domain, not met by the unique
    index of verified domains (a 500)."""
    from portal.organisations.models import DomainClaim, OrganisationDomain
    from portal.organisations.services import organisation_domain_add

    world = roles_world
    office, other = world["office"], world["other"]
    results = race(
        [lambda: organisation_domain_add(organisation_id=office.pk, domain="krishi-seva.org", reason="Theirs",
                                         actor=world["superadmin"]),
         lambda: organisation_domain_add(organisation_id=other.pk, domain="Krishi-Seva.org", reason="Theirs",
                                         actor=world["superadmin"])],
        hold_sql="SELECT id FROM organisations_organisation WHERE id IN (%s, %s) FOR UPDATE",
        hold_params=[office.pk, other.pk],
    )
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    [refused] = [value for outcome, value in results if outcome == "error"]
    assert isinstance(refused, ValidationError) and refused.error_dict["domain"][0].code == DomainClaim.CLAIMED_ELSEWHERE
    assert OrganisationDomain.objects.filter(domain="krishi-seva.org").count() == 1


def test_two_administrators_renaming_an_organisation_at_once_from_one_page_rename_it_once(roles_world):
    world = roles_world
    office = world["office"]
    shown = details_digest(office)
    results = race(
        [lambda who=who, name=name: _rename(office, world[who], shown=shown, name=name)
         for who, name in (("superadmin", "Agriculture Office, Pune"), ("state_admin_mh", "Krishi Office, Pune"))],
        hold_sql="SELECT id FROM organisations_organisation WHERE id = %s FOR UPDATE", hold_params=[office.pk],
    )
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    assert all(isinstance(value, ChangedMeanwhile) for outcome, value in results if outcome == "error")
    [(_ok, changed)] = [result for result in results if result[0] == "ok"]
    assert Organisation.objects.get(pk=office.pk).name == changed["name"][1]
    assert AuditEvent.objects.filter(action=AuditAction.ORGANISATION_DETAILS_CHANGED).count() == 1
    assert OutboxMessage.objects.count() == 1  # its admin told once


def test_two_moves_at_once_that_together_would_make_a_loop_make_none(roles_world):
    """A top department placed under an office of another department while that department is
    placed under an office of the first: each alone is a move like any other, both would make a
    loop. The one lock of all moves puts one after the other, and the second finds the loop."""
    root = roles_world["superadmin"]
    first = OrganisationFactory(name="Revenue Department, Maharashtra", state="MH")
    below_first = OrganisationFactory(name="Collectorate, Pune", state="MH", parent=first)
    second = OrganisationFactory(name="Land Records Department, Maharashtra", state="MH")
    below_second = OrganisationFactory(name="Land Records Office, Pune", state="MH", parent=second)
    results = race(
        [
            lambda: organisation_move(organisation_id=first.pk, state="MH", parent_id=below_second.pk,
                                      reason="Merged.", actor=root),
            lambda: organisation_move(organisation_id=second.pk, state="MH", parent_id=below_first.pk,
                                      reason="Merged.", actor=root),
        ],
        hold_sql="SELECT pg_advisory_xact_lock(%s, 0)", hold_params=[MOVE_LOCK_NAMESPACE],
    )
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    [refused] = [value for outcome, value in results if outcome == "error"]
    assert isinstance(refused, ValidationError) and "parent" in refused.message_dict
    for organisation in Organisation.objects.all():
        assert organisation.pk not in organisation.ancestor_ids  # no loop
    assert AuditEvent.objects.filter(action=AuditAction.ORGANISATION_MOVED).count() == 1

def _activate_with_domain(world, domain):
    """A final approval's activation (onboarding's application_approve) of a new
    organisation whose staff use ``domain``."""
    from portal.organisations.services import organisation_activate

    return organisation_activate(
        organisation_id=None, parent=None, domains=[domain], actor=world["state_admin_mh"], source="ONB-MH-2026-000001",
        attributes={"name": "Krishi Seva Kendra", "short_code": "KSK-MH", "org_type": "state_department",
                    "level": "state", "state": "MH"},
        first_admin=UserFactory(email="officer@krishi-seva.gov.in"))


def _one_official_and_the_other_told(results):
    """Neither a server error (the unique index of verified domains): the domain is official
    for one organisation. A final approval that came second is made all the same, with the
    domain a claim already official elsewhere (as when it was official elsewhere before);
    a superadmin who came second is refused (ValidationError, returned for the caller to
    check its code)."""
    from portal.organisations.models import DomainClaim, OrganisationDomain

    assert not any(outcome == "error" and not isinstance(value, ValidationError) for outcome, value in results), results
    assert results[0][0] == "ok", results
    rows = OrganisationDomain.objects.filter(domain="krishi-seva.gov.in")
    assert rows.filter(is_verified=True).count() == 1
    activated = Organisation.objects.get(short_code="KSK-MH")
    made = rows.get(organisation=activated)
    if made.is_verified:  # the approval came first: the superadmin is refused
        assert results[1][0] == "error", results
        return results[1][1]
    assert made.claim == DomainClaim.CLAIMED_ELSEWHERE
    assert results[1][0] == "ok", results
    assert AuditEvent.objects.filter(action=AuditAction.DOMAIN_CLAIMED, target_id=str(activated.pk)).count() == 1
    return None


@pytest.mark.usefixtures("official_email_rules")
def test_a_final_approval_and_a_superadmin_adding_its_domain_at_once_make_it_official_for_one(roles_world):
    """A state administrator's final approval makes an organisation with its domain (under
    gov.in, so official for it at once) while a superadmin adds that domain to another
    organisation: one after the other under the domain's lock, never both saving it (the
    second met the unique index of verified domains: a 500)."""
    world = roles_world
    results = race(
        [lambda: _activate_with_domain(world, "krishi-seva.gov.in"),
         lambda: organisation_domain_add(organisation_id=world["other"].pk, domain="krishi-seva.gov.in",
                                         reason="Their new mail", actor=world["superadmin"])],
        hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY],
    )
    refused = _one_official_and_the_other_told(results)
    if refused is not None:
        assert refused.error_dict["domain"][0].code == "claimed_elsewhere"


@pytest.mark.usefixtures("official_email_rules")
def test_a_final_approval_and_a_superadmin_accepting_a_claim_to_its_domain_at_once_make_it_official_for_one(roles_world):
    """As above, a superadmin accepting another organisation's waiting claim to the domain
    (claimed while it was official elsewhere, since removed there) as the approval is made."""
    from portal.organisations.models import DomainClaim, OrganisationDomain

    world = roles_world
    claim = OrganisationDomain.objects.create(organisation=world["other"], domain="krishi-seva.gov.in",
                                              claim=DomainClaim.CLAIMED_ELSEWHERE)
    results = race(
        [lambda: _activate_with_domain(world, "krishi-seva.gov.in"),
         lambda: organisation_domain_accept(domain_id=claim.pk, actor=world["superadmin"])],
        hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY],
    )
    refused = _one_official_and_the_other_told(results)
    if refused is not None:
        assert refused.code == "claimed_elsewhere"
