"""Every page of the approval routing, in each of its states, is well-formed for
assistive technology and a strict Content-Security-Policy (one <h1>, a title,
labelled inputs, aria references that exist, no inline script or style)."""

import secrets
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from onboarding.application import services
from onboarding.approval import services as approvals
from onboarding.models import ApprovalStep, AuthorityToken, Stage
from tests.factories import application_with_authority, application_with_state
from tests.html_tree import html_problems
from tests.onboarding.approval_helpers import (
    appeal_confirmation,
    appeal_confirmed,
    latest_link,
    make_state_admin,
    make_superadmin,
    second_factor_given,
    signed_in,
    state_step,
)

pytestmark = pytest.mark.django_db


def check(response, status=200):
    assert response.status_code == status, (response.status_code, response.get("Location"))
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert html_problems(html) == []
    return html


def test_the_authority_pages(officer, settings):
    cache.clear()
    make_state_admin("MH")
    application = application_with_authority(nodal_officer=officer)
    path, _token = latest_link()
    anonymous = Client()
    check(anonymous.get(path, follow=True))
    check(anonymous.post(path, {"decision": "reject", "remarks": "", "confirm": "on"}))
    check(anonymous.post(path, {}))
    check(anonymous.get(f"/onboarding/review/{secrets.token_urlsafe(32)}/"), 404)
    with time_machine.travel(timezone.now() + timedelta(days=8), tick=False):
        check(anonymous.get(path), 410)
    anonymous.post(path, {"decision": "return", "remarks": "Correct the address."})
    check(anonymous.get("/onboarding/review/done/"))
    check(anonymous.get(path), 410)  # used
    services.application_submit(application_id=application.pk, actor=officer, reply="The address is corrected.")
    new_path, _new = latest_link()
    check(anonymous.get(new_path, follow=True))  # with the changes since the version last seen
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    approvals.step_resend_authority_link(application_id=application.pk, actor=officer)
    check(anonymous.get(new_path), 410)  # superseded
    settings.ONBOARDING_TOKEN_RATE_PER_MINUTE = 1
    cache.clear()
    limited = Client(REMOTE_ADDR="192.0.2.1")
    limited.get(new_path)
    check(limited.get(new_path), 429)
    cache.clear()


def test_the_administrators_and_officers_pages(officer):
    cache.clear()
    admin = make_state_admin("MH")
    root = make_superadmin()
    application = application_with_authority(nodal_officer=officer)
    officer_client = signed_in(officer)
    check(officer_client.get(f"/onboarding/{application.pk}/"))  # waiting for the authority, new link button
    Client().post(latest_link()[0], {"decision": "approve", "confirm": "on"})
    step = state_step(application)
    admin_client = signed_in(admin)
    check(admin_client.get("/onboarding/queue/"))
    check(admin_client.get(f"/onboarding/queue/{step.pk}/"))
    check(admin_client.post(f"/onboarding/queue/{step.pk}/", {"decision": "return"}))
    check(signed_in(make_state_admin("GA")).get("/onboarding/queue/"))  # empty queue
    check(officer_client.get(f"/onboarding/{application.pk}/appeal/"))  # nothing to appeal
    approvals.step_decide(step_id=step.pk, decision="reject", remarks="Duplicate.", actor=admin)
    check(admin_client.get(f"/onboarding/queue/{step.pk}/"))  # already decided
    check(admin_client.post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"}), 409)
    check(officer_client.get(f"/onboarding/{application.pk}/"))  # rejected, appeal link, history
    check(officer_client.get(f"/onboarding/{application.pk}/appeal/"))
    check(officer_client.post(f"/onboarding/{application.pk}/appeal/", {"grounds": ""}))
    check(appeal_confirmation(officer_client, application, "Not a duplicate."))
    assert appeal_confirmed(officer_client, application, "Not a duplicate.").status_code == 302
    appeal = ApprovalStep.objects.get(application=application, stage=Stage.APPEAL)
    root_client = signed_in(root)
    check(root_client.get("/onboarding/appeals/"))
    check(root_client.get(f"/onboarding/appeals/{appeal.pk}/"))
    check(root_client.post(f"/onboarding/appeals/{appeal.pk}/", {"decision": "uphold", "confirm": "on"}))
    check(officer_client.get(f"/onboarding/{application.pk}/"))  # under appeal
    approvals.appeal_decide(step_id=appeal.pk, decision="overturn", actor=root)
    check(officer_client.get(f"/onboarding/{application.pk}/"))  # approved
    check(root_client.get("/onboarding/appeals/"))  # none waiting


JUNK = [{}, {"decision": "approve"}, {"decision": "cancelled"}, {"decision": "overturn", "remarks": "x" * 5000},
        {"decision": ["reject", "approve"], "remarks": ""}, {"grounds": "\x00" * 10}, {"grounds": "g" * 5000}]


def test_no_input_gives_a_500(officer):
    cache.clear()
    admin = make_state_admin("MH")
    root = make_superadmin()
    application = application_with_authority(nodal_officer=officer)
    path, token = latest_link()
    Client().post(path, {"decision": "reject", "remarks": "No.", "confirm": "on"})
    other = application_with_authority(nodal_officer=officer)
    other_path, _other_token = latest_link()
    appeal_pk = approvals.application_appeal(application_id=application.pk, grounds="Yes.", actor=officer).pk
    urls = [
        path, f"{path}done/", f"{path}letter/", f"{path}form.pdf", other_path, f"{other_path}done/",
        "/onboarding/review/", "/onboarding/review/done/", "/onboarding/review/letter/", "/onboarding/review/form.pdf",
        "/onboarding/review/%00/", "/onboarding/review/" + "A" * 43 + "/",
        "/onboarding/queue/", "/onboarding/queue/1/", "/onboarding/queue/99999/",
        "/onboarding/appeals/", f"/onboarding/appeals/{appeal_pk}/", "/onboarding/appeals/99999/",
        f"/onboarding/{application.pk}/appeal/", f"/onboarding/{other.pk}/appeal/", f"/onboarding/{other.pk}/resend-link/",
        f"/onboarding/{application.pk}/approval-letter.pdf", "/onboarding/99999/approval-letter.pdf",
    ]
    clients = [Client(raise_request_exception=False)]
    for user in (officer, admin, root):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        second_factor_given(client, user)
        clients.append(client)
    for client in clients:
        for url in urls:
            for method in ("get", "head", "options", "put", "delete"):
                assert getattr(client, method)(url).status_code < 500, (method, url)
            for data in JUNK:
                assert client.post(url, data).status_code < 500, (url, data)
        cache.clear()  # the link pages' rate limit would answer 429 to the rest


NOT_ALLOWED = {"en": "You are not allowed to do this", "hi": "आपको यह करने की अनुमति नहीं है",
               "mr": "तुम्हाला ही कृती करण्याची परवानगी नाही"}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_a_nodal_officer_at_the_state_and_appeal_pages_gets_the_portals_refusal_in_their_language(language):
    """A nodal officer (no platform role) who opens the state queue, a state decision or the
    appeal hearings is told, in the portal's layout and their language, that their account
    lacks the role, with a way back to their own applications."""
    step = state_step(application_with_state())
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(step.application.nodal_officer)
    for url in ("/onboarding/queue/", f"/onboarding/queue/{step.pk}/", "/onboarding/appeals/",
                f"/onboarding/appeals/{step.pk}/"):
        html = check(client.get(url), status=403)
        assert f'<html lang="{language}">' in html
        assert f"<h1>{NOT_ALLOWED[language]}</h1>" in html
        assert '<a href="/">' in html
    assert client.get("/")["Location"] == "/onboarding/"
