"""Who may see and do what in verification, by page and by service: an organisation's
admins act in it and in the offices below it, never above it nor in another
organisation; superadmins everywhere; nobody else (auditors are read-only)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from guardian.shortcuts import assign_perm, remove_perm

from portal.audit.models import AuditEvent
from portal.permissions import ADMINISTER_ORGANISATION
from tests.verification.helpers import GovernmentProfileFactory, signed_in
from verification import services
from verification.models import GovernmentProfile, VerificationSettings, VerificationStatus

pytestmark = pytest.mark.django_db

PEOPLE = ["anonymous", "public", "person", "admin_office", "admin_parent", "admin_other", "auditor", "superadmin"]
# Who acts in the district office (below the parent department).
ACTS_IN_OFFICE = {"admin_office", "admin_parent", "superadmin"}


@pytest.fixture
def things(world):
    office = world["office"]
    return {
        "pending": GovernmentProfileFactory(organisation=office, designation="Waiting clerk"),
        "verified": GovernmentProfileFactory(organisation=office, status=VerificationStatus.VERIFIED, designation="Verified clerk"),
        "suspended": GovernmentProfileFactory(organisation=office, status=VerificationStatus.SUSPENDED),
        "in_parent": GovernmentProfileFactory(organisation=world["parent"], designation="Parent clerk"),
    }


def client_of(world, who):
    return Client() if who == "anonymous" else signed_in(world[who])


def pages(world, things):
    office = world["office"].pk
    return [
        f"/verification/profiles/{things['pending'].pk}/",
        f"/verification/profiles/{things['verified'].pk}/",
        f"/verification/profiles/{things['verified'].pk}/suspend/",
        f"/verification/profiles/{things['verified'].pk}/revoke/",
        f"/verification/profiles/{things['suspended'].pk}/reinstate/",
        f"/verification/organisations/{office}/members/",
        f"/verification/organisations/{office}/settings/",
    ]


@pytest.mark.parametrize("who", PEOPLE)
def test_pages_of_the_district_office(world, things, who):
    client = client_of(world, who)
    for url in pages(world, things):
        response = client.get(url)
        if who == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
        elif who in ACTS_IN_OFFICE:
            assert response.status_code == 200, (who, url)
        else:
            assert response.status_code == 404, (who, url)  # never 403: whether it exists is not said


@pytest.mark.parametrize("who", PEOPLE)
def test_the_queue_shows_only_what_the_viewer_decides(world, things, who):
    response = client_of(world, who).get("/verification/queue/")
    if who == "anonymous":
        assert response.status_code == 302
        return
    if who not in {"admin_office", "admin_parent", "admin_other", "superadmin"}:
        assert response.status_code == 403
        return
    html = response.content.decode()
    assert ("Waiting clerk" in html) == (who in ACTS_IN_OFFICE)
    # The parent's request: its own admins and superadmins, never the office's admin (below it).
    assert ("Parent clerk" in html) == (who in {"admin_parent", "superadmin"})


@pytest.mark.parametrize("who", [p for p in PEOPLE if p not in ACTS_IN_OFFICE])  # those who may: test_pages, test_services
def test_posting_decisions_changes_nothing_for_others(world, things, who):
    client = client_of(world, who)
    renamed = things["verified"].user
    renamed.full_name = "Renamed Self"  # a name changed since the verification: one to accept
    renamed.save(update_fields=["full_name"])
    before = list(GovernmentProfile.objects.order_by("pk").values_list("pk", "status", "verified_name"))
    events = AuditEvent.objects.count()
    posts = [
        (f"/verification/profiles/{things['pending'].pk}/", {"decision": "verify"}),
        (f"/verification/profiles/{things['verified'].pk}/suspend/", {"reason_code": "misuse", "confirm": "on"}),
        (f"/verification/profiles/{things['verified'].pk}/revoke/", {"reason_code": "misuse", "confirm": "on"}),
        (f"/verification/profiles/{things['suspended'].pk}/reinstate/", {"confirm": "on"}),
        (f"/verification/profiles/{things['verified'].pk}/accept-name/", {"name": "Renamed Self"}),
        ("/verification/queue/decide/", {"profile": [things["pending"].pk], "decision": "verify", "step": "confirm",
                                         "confirm": "on"}),
        (f"/verification/organisations/{world['office'].pk}/settings/", {"auto_verify_official_domain": "on"}),
        (f"/verification/requests/{things['pending'].pk}/withdraw/", {"confirm": "on"}),
    ]
    for url, data in posts:
        response = client.post(url, data)
        if url == "/verification/queue/decide/" and who == "admin_other":
            # An admin elsewhere: the request is none of theirs, so none was chosen: their own
            # queue comes back saying so, without it.
            html = response.content.decode()
            assert response.status_code == 200 and "Choose at least one waiting request." in html, url
            assert "Waiting clerk" not in html
        else:
            assert response.status_code in {302, 403, 404}, url
    assert list(GovernmentProfile.objects.order_by("pk").values_list("pk", "status", "verified_name")) == before
    assert AuditEvent.objects.count() == events
    assert not VerificationSettings.objects.exists()


SERVICES = {
    "decide": lambda things, actor: services.join_request_decide(profile_id=things["pending"].pk, decision="verify",
                                                                 actor=actor),
    "suspend": lambda things, actor: services.profile_suspend(profile_id=things["verified"].pk, reason_code="misuse",
                                                              actor=actor),
    "revoke": lambda things, actor: services.profile_revoke(profile_id=things["verified"].pk, reason_code="misuse",
                                                            actor=actor),
    "reinstate": lambda things, actor: services.profile_reinstate(profile_id=things["suspended"].pk, actor=actor),
    "accept_name": lambda things, actor: services.verified_name_accept(
        profile_id=things["verified"].pk, name=things["verified"].user.full_name, actor=actor),
    "bulk": lambda things, actor: services.join_requests_decide(profile_ids=[things["pending"].pk], decision="verify",
                                                                actor=actor),
    "settings": lambda things, actor: services.auto_verification_set(organisation_id=things["pending"].organisation_id,
                                                                     enabled=True, actor=actor),
}


@pytest.mark.parametrize("action", SERVICES)
@pytest.mark.parametrize("who", [p for p in PEOPLE if p != "anonymous"])
def test_services_in_the_district_office(world, things, who, action):
    actor = world[who]
    if who in ACTS_IN_OFFICE:
        SERVICES[action](things, actor)
        if action == "bulk":
            things["pending"].refresh_from_db()
            assert things["pending"].status == VerificationStatus.VERIFIED
        return
    if action == "bulk":  # a bulk decision reports what it left, and decides nothing
        outcome = SERVICES[action](things, actor)
        assert outcome.decided == [] and outcome.skipped == [(things["pending"].pk, "not_allowed")]
    else:
        with pytest.raises(PermissionDenied):
            SERVICES[action](things, actor)
    assert AuditEvent.objects.count() == 0
    assert GovernmentProfile.objects.get(pk=things["pending"].pk).is_pending


def test_an_admin_of_a_sub_office_does_not_act_in_the_office_above_it(world, things):
    with pytest.raises(PermissionDenied):
        services.join_request_decide(profile_id=things["in_parent"].pk, decision="verify", actor=world["admin_office"])
    with pytest.raises(PermissionDenied):
        services.auto_verification_set(organisation_id=world["parent"].pk, enabled=True, actor=world["admin_office"])
    assert signed_in(world["admin_office"]).get(f"/verification/profiles/{things['in_parent'].pk}/").status_code == 404
    assert signed_in(world["admin_office"]).get(
        f"/verification/organisations/{world['parent'].pk}/members/").status_code == 404


def test_an_auditor_who_also_administers_an_organisation_changes_nothing(world, things):
    auditor = world["auditor"]
    assign_perm(ADMINISTER_ORGANISATION, auditor, world["office"])
    with pytest.raises(PermissionDenied):
        services.join_request_decide(profile_id=things["pending"].pk, decision="verify", actor=auditor)
    client = signed_in(auditor)
    assert "Waiting clerk" not in client.get("/verification/queue/").content.decode()
    assert client.get(f"/verification/profiles/{things['pending'].pk}/").status_code == 404


def test_an_admin_who_loses_the_role_loses_the_pages_at_the_next_request(world, things):
    client = signed_in(world["admin_office"])
    url = f"/verification/profiles/{things['pending'].pk}/"
    assert client.get(url).status_code == 200
    remove_perm(ADMINISTER_ORGANISATION, world["admin_office"], world["office"])
    assert client.get(url).status_code == 404
    assert client.get("/verification/queue/").status_code == 403
