"""Two administrators each removing one of an organisation's last two admins at the
same moment, in real concurrent transactions on PostgreSQL: the organisation's row
lock puts one after the other, so the second sees that only one admin is left and
is refused. The organisation keeps an admin."""

import pytest

from portal.audit.models import AuditAction, AuditEvent
from portal.organisations.models import Membership, MembershipRole
from portal.organisations.services import LastAdmin, organisation_admin_revoke
from tests.onboarding.approval_helpers import TRANSACTIONAL
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
