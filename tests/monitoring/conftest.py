from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import services
from tests.factories import ApplicationFactory, ApprovalStepFactory, OrganisationFactory, PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import make_superadmin, with_totp
from tests.verification.helpers import GovernmentProfileFactory, make_admin
from verification.models import VerificationStatus


def _users(organisation, *, verified, pending, prefix):
    for i in range(verified):
        GovernmentProfileFactory(organisation=organisation, status=VerificationStatus.VERIFIED,
                                 user=UserFactory(email=f"{prefix}.v{i}@example.gov.in"))
    for i in range(pending):
        GovernmentProfileFactory(organisation=organisation, user=UserFactory(email=f"{prefix}.p{i}@example.gov.in"))


def platform_user(role, jurisdiction, email):
    user = PlatformRoleFactory(role=role, jurisdiction=jurisdiction, user=UserFactory(email=email)).user
    with_totp(user)
    return user


@pytest.fixture
def world(db):
    """Two states and their organisations, each with figures of its own that can be told
    apart (so a leak shows in a number):

    Maharashtra: the Agriculture Department (MH-AGRI) with a district office below it
    (MH-PUNE), and the Health Department (MH-HEALTH), unrelated. Karnataka: the
    Revenue Department (KA-REV).

    Applications: MH 1 draft, 2 with the authority (one overdue), 1 with the state;
    the MH-AGRI office's own application approved; KA 3 with the state (two overdue),
    1 rejected. Users: verified/pending MH-AGRI 3/1, MH-PUNE 2/2, MH-HEALTH 5/0,
    KA-REV 7/4.
    """
    now = timezone.now()
    agri = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="MH-AGRI", state="MH",
                               activated_at=now - timedelta(days=40))
    pune = OrganisationFactory(name="District Agriculture Office, Pune", short_code="MH-PUNE", state="MH", parent=agri,
                               activated_at=now - timedelta(days=5))
    health = OrganisationFactory(name="Health Department, Maharashtra", short_code="MH-HEALTH", state="MH",
                                 activated_at=now - timedelta(days=70))
    revenue = OrganisationFactory(name="Revenue Department, Karnataka", short_code="KA-REV", state="KA",
                                  activated_at=now - timedelta(days=100))
    _users(agri, verified=3, pending=1, prefix="agri")
    _users(pune, verified=2, pending=2, prefix="pune")
    _users(health, verified=5, pending=0, prefix="health")
    _users(revenue, verified=7, pending=4, prefix="rev")

    ApplicationFactory(status="draft", reference=None, jurisdiction="MH", organisation_name="Draft office MH")
    overdue_mh = ApplicationFactory(status="with_authority", jurisdiction="MH", organisation_name="Water Board MH")
    ApprovalStepFactory(application=overdue_mh, stage="authority", opened_at=now - timedelta(days=12),
                        due_at=now - timedelta(days=5), assignee_email="ca@water.mh.gov.in", assignee_name="A. Kale")
    waiting = ApplicationFactory(status="with_authority", jurisdiction="MH", organisation_name="Forest Office MH")
    ApprovalStepFactory(application=waiting, stage="authority", opened_at=now, due_at=now + timedelta(days=7))
    ApplicationFactory(status="with_state", jurisdiction="MH", organisation_name="Fisheries MH")
    own = ApplicationFactory(status="approved", jurisdiction="MH", organisation=pune, organisation_name=pune.name)
    ApprovalStepFactory(application=own, stage="authority", opened_at=now - timedelta(days=10), decision="approve",
                        decided_at=now - timedelta(days=8))
    ApprovalStepFactory(application=own, stage="state", opened_at=now - timedelta(days=8), decision="approve",
                        decided_at=now - timedelta(days=4))
    for i in range(3):
        app = ApplicationFactory(status="with_state", jurisdiction="KA", organisation_name=f"Karnataka office {i}")
        ApprovalStepFactory(application=app, stage="authority", opened_at=now - timedelta(days=30), decision="approve",
                            decided_at=now - timedelta(days=20 + i))
        ApprovalStepFactory(application=app, stage="state", opened_at=now - timedelta(days=20),
                            due_at=now + (timedelta(days=3) if i == 2 else -timedelta(days=i + 1)))
    ApplicationFactory(status="rejected", jurisdiction="KA", organisation_name="Rejected office KA")
    services.figures_refresh()
    return {
        "agri": agri, "pune": pune, "health": health, "revenue": revenue,
        "superadmin": make_superadmin(email="root@sandes.nic.in"),
        "state_admin_mh": platform_user("state_admin", "MH", "admin.mh@maharashtra.gov.in"),
        "auditor_mh": platform_user("auditor", "MH", "auditor.mh@maharashtra.gov.in"),
        "auditor_all": platform_user("auditor", "", "auditor@cag.gov.in"),
        "state_admin_ka": platform_user("state_admin", "KA", "admin.ka@karnataka.gov.in"),
        "admin_agri": make_admin(agri, email="admin@mahaagri.gov.in"),
        "admin_revenue": make_admin(revenue, email="admin@karrevenue.gov.in"),
        "public": UserFactory(email="someone@gmail.com"),
    }
