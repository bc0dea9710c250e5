"""seed_demo loads verification's demo data too (seed_demo_verification): an admin
(verified there like the others), verified members and waiting requests in the
Collectorate Pune, so that `make run` shows the verification pages with content; run
again, it changes nothing."""

from io import StringIO

import pytest
from django.core.management import call_command

from portal.accounts.models import User
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_verify
from portal.mail.models import OutboxMessage
from portal.organisations.models import Membership, MembershipRole, Organisation
from portal.organisations.services import organisation_admin_grant, organisation_admin_revoke
from portal.permissions import may_administer
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
    # The admin and three people verified, two waiting.
    assert statuses.count(VerificationStatus.VERIFIED) == 4 and statuses.count(VerificationStatus.PENDING) == 2
    assert GovernmentProfile.objects.filter(organisation=pune).count() == 6
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


def test_seed_demo_makes_the_organisation_admin_through_the_audited_service():
    """The Collectorate Pune admin is verified there and granted the role as in the
    portal (by the demo superadmin), with its audit row, like the demo's platform roles."""
    call_command("seed_demo", stdout=StringIO())
    pune = Organisation.objects.get(short_code="COLL-PUNE")
    admin = User.objects.get(email="admin.collector@pune.gov.in")
    assert may_administer(admin, pune)
    granted = [(e.actor_email, e.new_values["user"], e.new_values["role"])
               for e in AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_GRANTED)]
    assert granted == [("superadmin@nic.in", "admin.collector@pune.gov.in", MembershipRole.ADMIN)]
    assert audit_verify() == []


def test_seed_demo_run_again_leaves_an_admin_role_revoked_in_the_portal_revoked():
    """`make run` runs seed_demo at every start: it gives nobody back a role taken away since."""
    call_command("seed_demo", stdout=StringIO())
    pune = Organisation.objects.get(short_code="COLL-PUNE")
    root = User.objects.get(email="superadmin@nic.in")
    admin = User.objects.get(email="admin.collector@pune.gov.in")
    other = User.objects.get(email="tahsildar.haveli@pune.gov.in")  # a verified member of Pune
    organisation_admin_grant(organisation_id=pune.pk, user_id=other.pk, actor=root)
    organisation_admin_revoke(organisation_id=pune.pk, user_id=admin.pk, actor=root)
    before = state()

    call_command("seed_demo", stdout=StringIO())

    assert state() == before
    admin = User.objects.get(pk=admin.pk)
    assert Membership.objects.get(organisation=pune, user=admin).role == MembershipRole.MEMBER
    assert not may_administer(admin, pune)
    assert signed_in(admin).get("/verification/queue/").status_code == 403


def test_the_readmes_api_example_answers_as_shown_on_the_demo_data():
    """The README's example registers a client with `api_client_create` and asks the API about a
    person: on the demo data of `make run` it named an organisation the demo does not have, and
    the demo's people were found by no address (official addresses shown to the organisation
    only, by default). The command, the question and the answer are read from the README."""
    import json
    import re
    import shlex
    from pathlib import Path
    from urllib.parse import parse_qsl, urlsplit

    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client

    block = next(text for text in re.findall(r"```\n(.*?)```", (Path(settings.BASE_DIR) / "README.md").read_text(),
                                            re.S) if "api_client_create" in text)
    command, curl, *answer = block.strip().split("\n")
    call_command("seed_demo", stdout=StringIO())
    arguments = shlex.split(command)
    out = StringIO()
    call_command(*arguments[arguments.index("api_client_create"):], stdout=out, stderr=StringIO())
    token = out.getvalue().strip()
    url = shlex.split(curl)[-1]
    cache.clear()
    response = Client().get(urlsplit(url).path, dict(parse_qsl(urlsplit(url).query)),
                            HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json() == json.loads(" ".join(answer))
