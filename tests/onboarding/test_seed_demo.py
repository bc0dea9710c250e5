"""seed_demo loads onboarding's demo data too (seed_demo_onboarding): an application of
the demo nodal officer waiting for the demo state administrator and a draft of theirs,
so that `make run` shows the approval queue and the dashboards with content; run again,
it changes nothing."""

from io import StringIO

import pytest
from django.core.management import call_command

from onboarding.models import Application, ApplicationStatus, ApprovalStep, Decision, Stage
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.audit.services import audit_verify
from portal.mail.models import OutboxMessage
from tests.onboarding.approval_helpers import signed_in, with_totp

pytestmark = pytest.mark.django_db


def state():
    return (sorted(Application.objects.values_list("organisation_name", "status")), ApprovalStep.objects.count(),
            AuditEvent.objects.count(), OutboxMessage.objects.count())


def test_seed_demo_gives_the_state_admin_an_application_to_decide_once():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "nodal.officer@mahaagri.gov.in" in out.getvalue()
    officer = User.objects.get(email="nodal.officer@mahaagri.gov.in")
    assert sorted(Application.objects.filter(nodal_officer=officer).values_list("organisation_name", "status")) == [
        ("Directorate of Agriculture, Maharashtra", ApplicationStatus.WITH_STATE),
        ("Maharashtra State Seed Corporation", ApplicationStatus.DRAFT),
    ]
    submitted = Application.objects.get(status=ApplicationStatus.WITH_STATE)
    authority = ApprovalStep.objects.get(application=submitted, stage=Stage.AUTHORITY)
    assert (authority.decision, authority.decided_by_email) == (Decision.APPROVE, "director@mahaagri.gov.in")
    assert ApprovalStep.objects.get(application=submitted, stage=Stage.STATE).decision == ""
    mailed = {address for row in OutboxMessage.objects.all() for address in row.to}
    assert {"director@mahaagri.gov.in", officer.email, "stateadmin.mh@maharashtra.gov.in"} <= mailed
    before = state()
    call_command("seed_demo", stdout=StringIO())
    assert state() == before
    assert audit_verify() == []
    state_admin = User.objects.get(email="stateadmin.mh@maharashtra.gov.in")
    with_totp(state_admin)
    queue = signed_in(state_admin).get("/onboarding/queue/")
    assert queue.status_code == 200
    page = queue.content.decode()
    assert "Nothing is waiting for your decision" not in page and submitted.reference in page
