"""Two administrators doing the same thing at once, with real concurrent transactions
on PostgreSQL (tests/onboarding/test_race_pg.py's race): accepting two organisations'
claims to one domain, revoking each other's superadmin role, reminding two offices that
share a contact address."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from monitoring import services as monitoring_services
from monitoring.models import ExpectedOffice
from portal.audit.models import AuditAction, AuditEvent
from portal.mail.models import OutboxMessage
from portal.organisations import services
from portal.organisations.models import DomainClaim, OrganisationDomain, PlatformRole, PlatformRoleGrant
from tests.factories import OrganisationFactory
from tests.onboarding.approval_helpers import TRANSACTIONAL, make_state_admin, make_superadmin
from tests.onboarding.test_race_pg import race

pytestmark = [TRANSACTIONAL, pytest.mark.usefixtures("require_postgresql")]


def test_two_superadmins_accepting_two_claims_to_one_domain_at_once(db):
    claims = [OrganisationDomain.objects.create(organisation=OrganisationFactory(name=f"Institute of Research {x}"),
                                                domain="iisr.res.in", claim=DomainClaim.NOT_OFFICIAL) for x in "AB"]
    clients = []
    for email in ("root.one@nic.in", "root.two@nic.in"):
        client = Client(raise_request_exception=False)
        client.force_login(make_superadmin(email=email))
        clients.append(client)
    results = race(
        [lambda i=i: clients[i].post(f"/portal/organisations/domain-claims/{claims[i].pk}/accept/", {"confirm": "yes"})
         for i in range(2)],
        hold_sql="SELECT id FROM organisations_organisationdomain WHERE id IN (%s, %s) FOR UPDATE",
        hold_params=[claims[0].pk, claims[1].pk],
    )
    # Both back on the list (the second was a 500: the unique index); the second told the
    # domain is now official for another organisation.
    assert [value.status_code for _outcome, value in results] == [302, 302], results
    said = [" ".join(str(m) for m in client.get("/portal/organisations/domain-claims/").context["messages"])
            for client in clients]
    assert sum("is now official for" in text for text in said) == 1
    assert sum(str(DomainClaim.CLAIMED_ELSEWHERE.label) in text for text in said) == 1, said
    assert OrganisationDomain.objects.filter(domain="iisr.res.in", is_verified=True).count() == 1


def test_two_superadmins_revoking_each_other_at_once_revoke_only_one(db):
    one, two = make_superadmin(email="root.one@nic.in"), make_superadmin(email="root.two@nic.in")
    grant_one, grant_two = (PlatformRoleGrant.objects.get(user=u, role=PlatformRole.SUPERADMIN) for u in (one, two))
    results = race([
        lambda: services.platform_role_revoke(grant_id=grant_two.pk, actor=one, reason="Left the department."),
        lambda: services.platform_role_revoke(grant_id=grant_one.pk, actor=two, reason="Left the department."),
    ], hold_sql="SELECT id FROM accounts_user WHERE id IN (%s, %s) FOR UPDATE", hold_params=[one.pk, two.pk])
    # One after the other, the second is refused: its actor is no longer a superadmin.
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    assert isinstance(next(value for outcome, value in results if outcome == "error"), PermissionDenied)
    assert PlatformRoleGrant.objects.filter(role=PlatformRole.SUPERADMIN, revoked_at__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.PLATFORM_ROLE_REVOKED).count() == 1


def test_two_offices_sharing_an_address_reminded_at_once_send_one_reminder(db):
    admin = make_state_admin("MH", email="admin.tracker@maharashtra.gov.in")
    offices = [ExpectedOffice.objects.create(jurisdiction="MH", name=f"Office {i}", short_code=f"OFF-{i}",
                                             contact_email="it.cell@maharashtra.gov.in", target_date=date(2030, 1, 1))
               for i in range(2)]
    results = race(
        [lambda o=o: monitoring_services.expected_office_remind(office=o, editable={"MH"}, status="not_started",
                                                                actor=admin) for o in offices],
        hold_sql="SELECT id FROM monitoring_expectedoffice WHERE id IN (%s, %s) FOR UPDATE",
        hold_params=[o.pk for o in offices],
    )
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    assert next(value for outcome, value in results if outcome == "error").code == "too_soon"
    assert OutboxMessage.objects.filter(to__contains=["it.cell@maharashtra.gov.in"]).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.ADOPTION_REMINDER_SENT).count() == 1
