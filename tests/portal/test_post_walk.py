"""Every POST URL of the portal, sent by people who may change nothing there: an
auditor (read-only by role), a public user, and the nodal officer of another
organisation. Each is refused, and no table changes."""

import re
import secrets

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone
from django.utils.html import escape

from onboarding.application.selectors import officer_eligibility
from onboarding.models import Attachment
from portal.accounts.models import EmailSuffixRule
from portal.mail.models import OutboxMessage, UnknownMailbox
from portal.organisations.models import OrganisationDomain
from tests.factories import ApplicationFactory, ApprovalStepFactory, OrganisationFactory, PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import second_factor_given, with_totp
from tests.portal.test_routes import is_ours, walk
from tests.verification.helpers import GovernmentProfileFactory

pytestmark = pytest.mark.django_db

REFUSED = {302, 400, 403, 404, 405, 409, 410, 429}
PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


@pytest.fixture
def world():
    officer = UserFactory(email="officer@mahaagri.gov.in")
    with_state = ApplicationFactory(nodal_officer=officer, status="with_state")
    state_step = ApprovalStepFactory(application=with_state, stage="state")
    appealed = ApplicationFactory(nodal_officer=officer, status="under_appeal")
    appeal_step = ApprovalStepFactory(application=appealed, stage="appeal", grounds="We are a government office.")
    letter = Attachment.objects.create(
        application=with_state, file="letters/letter.pdf", original_name="letter.pdf", content_type="application/pdf",
        size=10, sha256="0" * 64, pages=1, uploaded_by=officer,
    )
    auditor = PlatformRoleFactory(role="auditor", jurisdiction="").user
    with_totp(auditor)
    other_officer = UserFactory(email="officer@otherdept.gov.in")
    ApplicationFactory(nodal_officer=other_officer, status="draft", reference=None)
    message = OutboxMessage.objects.create(message_id="<walk@portal>", subject="s", from_email="a@b.gov.in", to=["c@d.gov.in"],
                                           body="b", status="failed")
    unknown = UnknownMailbox.objects.create(mailbox="gone@dept.gov.in", first_refused_at=timezone.now(),
                                            last_refused_at=timezone.now(), reply="550 5.1.1 User unknown")
    # Verification: an organisation with a waiting request, a verified and a suspended member.
    organisation = OrganisationFactory()
    waiting, verified, suspended = (
        GovernmentProfileFactory(organisation=organisation, status=status) for status in ("pending", "verified", "suspended")
    )
    domain = OrganisationDomain.objects.create(organisation=organisation, domain="walk.gov.in", is_verified=True)
    values = {
        "pk": with_state.pk, "attachment_id": letter.pk, "section": "organisation", "domain_pk": domain.pk,
        "token": secrets.token_urlsafe(32), "step_id": state_step.pk,
        "rest": "nothing-here",  # any other address under the API's prefix (its catch-all)
    }
    by_name = {  # the object each page's pk names
        "queue_step": state_step.pk, "appeal_step": appeal_step.pk, "appeal": appealed.pk,
        "email_rule_edit": EmailSuffixRule.objects.order_by("pk").values_list("pk", flat=True).first(),
        "outbox_message": message.pk, "outbox_requeue": message.pk,
        "unknown_mailbox": unknown.pk,
        "join": organisation.pk, "members": organisation.pk, "organisation_settings": organisation.pk,
        "domain_remove": organisation.pk, "domain_add": organisation.pk, "move": organisation.pk,
        "profile": waiting.pk, "request_withdraw": waiting.pk, "profile_suspend": verified.pk,
        "profile_revoke": verified.pk, "profile_reinstate": suspended.pk, "profile_name_accept": verified.pk,
    }
    return {
        "values": values, "by_name": by_name,
        "people": {
            "auditor": auditor,
            "public user": UserFactory(email="someone@gmail.com"),
            "officer of another organisation": other_officer,
        },
    }


def post_urls(world):
    urls = []
    for route, pattern, trail in walk(get_resolver().url_patterns):
        if not is_ours(pattern, trail):
            continue

        def fill(match, name=pattern.name):
            key = match.group(2)
            if key == "pk" and name in world["by_name"]:
                return str(world["by_name"][name])
            return str(world["values"][key])

        urls.append((pattern.name, "/" + PARAMETER.sub(fill, route)))
    return urls


def table_counts():
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model is not Session and not model._meta.proxy
    }


@pytest.mark.parametrize("who", ["auditor", "public user", "officer of another organisation"])
def test_every_post_url_refuses_people_who_may_change_nothing_there(world, who):
    client = Client()
    client.force_login(world["people"][who])
    second_factor_given(client, world["people"][who])
    urls = post_urls(world)
    assert len(urls) > 20
    problems = []
    for name, url in urls:
        if name == "start" and who == "officer of another organisation":
            continue  # starting an application of their own is what an officer may do
        before = table_counts()
        response = client.post(url, {"decision": "approve", "remarks": "x", "grounds": "x", "confirm": "yes",
                                     "name": "x", "suffix": "example.gov.in", "kind": "official"})
        after = table_counts()
        changed = {label: (count, after[label]) for label, count in before.items() if after[label] != count}
        refused = response.status_code in REFUSED or (
            # The start page answers an ineligible person with the reason, on the page.
            name == "start" and response.status_code == 200
            and escape(officer_eligibility(world["people"][who])) in response.content.decode()
        ) or (
            # Anyone signed in but an auditor may ask an organisation to verify them: the
            # walk's answers are no valid request, so the form comes back with its errors.
            name == "join" and who != "auditor" and response.status_code == 200
        ) or (
            # Anyone signed in, an auditor too, exercises their own data protection rights on
            # their own page: the walk's answers choose no action there, so the page comes back.
            name == "my_data" and response.status_code == 200
        ) or (
            # Anyone signed in chooses who sees their own details; the walk's answers are no
            # valid choice, so the form comes back with its errors and nothing is saved.
            url == reverse("visibility:mine") and response.status_code == 200
        )
        if not refused or changed:
            problems.append(f"{url} ({name}): {response.status_code}, changed {changed}")
    assert problems == []
