"""seed_demo loads verification's demo data too (seed_demo_verification): verified
members and waiting requests in the Collectorate Pune, so that `make run` shows the
verification pages with content; run again, it changes nothing."""

from io import StringIO

import pytest
from django.core.management import call_command

from portal.audit.models import AuditEvent
from portal.audit.services import audit_verify
from portal.mail.models import OutboxMessage
from portal.organisations.models import Organisation
from tests.verification.helpers import signed_in
from verification.models import GovernmentProfile, VerificationStatus

pytestmark = pytest.mark.django_db


def state():
    return (sorted(GovernmentProfile.objects.values_list("user__email", "status")), AuditEvent.objects.count(),
            OutboxMessage.objects.count())


def test_seed_demo_loads_verified_members_and_waiting_requests_once():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "admin.collector@pune.gov.in" in out.getvalue()
    pune = Organisation.objects.get(short_code="COLL-PUNE")
    statuses = [status for _email, status in state()[0]]
    assert statuses.count(VerificationStatus.VERIFIED) == 3 and statuses.count(VerificationStatus.PENDING) == 2
    assert GovernmentProfile.objects.filter(organisation=pune).count() == 5
    before = state()
    call_command("seed_demo", stdout=StringIO())
    assert state() == before
    assert audit_verify() == []
    admin = signed_in(GovernmentProfile.objects.model._meta.apps.get_model("accounts", "User").objects.get(
        email="admin.collector@pune.gov.in"))
    queue = admin.get("/verification/queue/")
    assert queue.status_code == 200 and "Kavita Joshi" in queue.content.decode()
    members = admin.get(f"/verification/organisations/{pune.pk}/members/").content.decode()
    assert "Rahul Patil" in members and "Imran Shaikh" in members
