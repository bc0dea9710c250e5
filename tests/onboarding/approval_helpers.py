"""Helpers for the approval routing tests: applications filled and submitted
through the real services, people with platform roles (and their second factor),
links read from the outbox the way the competent authority reads them from the email
(once a message is sent the outbox keeps no link: then from the copy delivered)."""

import importlib
import re
import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.base.internal.flows import post_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.apps import apps
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, RequestFactory
from django.utils.datastructures import MultiValueDict

from onboarding.application import services
from onboarding.approval.tasks import approval_letters_issue, deadline_sweep, rejections_finalise
from onboarding.models import ApplicationStatus, ApprovalStep, Stage
from portal.mail.models import OutboxMessage, OutboxStatus
from tests.factories import PASSWORD, PlatformRoleFactory, UserFactory
from tests.html_tree import form_as_sent, page
from tests.onboarding_data import VALID, minimal_pdf
from tests.smtp import SmtpServer, text_of

AUTHORITY_EMAIL = VALID["competent_authority"]["official_email"]
LINK_RE = re.compile(r"https?://[^\s/]+(/onboarding/review/([A-Za-z0-9_-]{43})/)")
DEVANAGARI_RE = re.compile(r"[\u0900-\u097F]")

IS_POSTGRESQL = connection.vendor == "postgresql"  # the engine is portal.postgresql, Django's subclassed


# For transactional tests: ``available_apps`` (every installed app, so it restricts
# nothing) makes Django create content types and permissions when the test starts,
# whatever the previous test left, and flush without re-creating them when it ends,
# as a serialized_rollback test does; so a serialized_rollback test that runs next
# (the browser journey) restores its snapshot into empty tables instead of
# colliding with re-created rows. Their names, not INSTALLED_APPS's entries (one is an AppConfig's path).
TRANSACTIONAL = pytest.mark.django_db(transaction=True, available_apps=[app.name for app in apps.get_app_configs()])


@pytest.fixture
def official_email_rules(db):
    """Transactional tests empty every table, the rows seeded by migrations
    included: put the official-email rules back with the seed migration's own code."""
    importlib.import_module("portal.accounts.migrations.0002_seed_email_rules").seed(apps, None)


def as_querydict(values):
    return MultiValueDict({k: (v if isinstance(v, list) else [v]) for k, v in values.items()})


def filled_application(officer, data=None):
    """A complete draft, filled section by section through the services."""
    data = data or VALID
    application = services.application_create(actor=officer)
    for section, values in data.items():
        services.application_save_section(application_id=application.pk, section=section, querydict=as_querydict(values),
                                          actor=officer)
    services.attachment_upload(
        application_id=application.pk, uploaded=SimpleUploadedFile("letter.pdf", minimal_pdf(), content_type="application/pdf"),
        actor=officer,
    )
    return application


def submitted_application(officer, data=None):
    application = filled_application(officer, data)
    return services.application_submit(application_id=application.pk, actor=officer)


def authority_approved(officer, data=None):
    """Submitted, and approved by its competent authority through the emailed link:
    now with the state administrators."""
    data = data or VALID
    application = submitted_application(officer, data)
    Client().post(latest_link(data["competent_authority"]["official_email"])[0], {"decision": "approve", "confirm": "on"})
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE
    return application


def run_beat_jobs():
    """Every approval beat job, through the real Celery tasks (in-process in tests),
    in the order beat would run them; their results in one dict."""
    result = {}
    for task in (deadline_sweep, rejections_finalise, approval_letters_issue):
        result.update(task.delay().get())
    return result


def state_step(application):
    return ApprovalStep.objects.get(application=application, stage=Stage.STATE)


def signed_in(user):
    """A client signed in as ``user`` (without going through the login pages)."""
    client = Client()
    client.force_login(user)
    return second_factor_given(client, user)


def appeal_confirmed(client, application, grounds):
    """The officer's appeal as their browser sends it: the grounds from the form, then "Lodge
    the appeal" from the confirmation that leads to (which lodges nothing itself): the answer
    to the latter."""
    url = f"/onboarding/{application.pk}/appeal/"
    confirmation = appeal_confirmation(client, application, grounds)
    return client.post(url, form_as_sent(page(confirmation), step="save"))


def appeal_confirmation(client, application, grounds):
    """The confirmation the appeal form leads to with ``grounds``."""
    response = client.post(f"/onboarding/{application.pk}/appeal/", {"grounds": grounds, "step": "review"})
    assert response.status_code == 200 and "Check your appeal before you lodge it" in response.content.decode()
    return response


def post_confirming_access(client, url, data):
    """POST ``data`` to an account page that first asks again who the person is (changing the
    account's addresses: settings.ACCOUNT_REAUTHENTICATION_REQUIRED, unless they did in the
    last five minutes): the password given on the page it sends them to, as a person gives it;
    returns the answer to what was asked, which that page then carries out."""
    response = client.post(url, data)
    if response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/"):
        response = client.post(response["Location"], {"password": PASSWORD})
    return response


def messages_to(address):
    return [m for m in OutboxMessage.objects.order_by("id") if address in m.to + m.cc + m.bcc]


def link_from(body):
    """(path, token) of the review link in an email body."""
    match = LINK_RE.search(body)
    assert match, body
    return match.group(1), match.group(2)


def delivered_body(row):
    """The text the recipient got for an outbox row: the stored body until the row is
    sent; after that (the stored copy has lost its links) the copy the transport
    delivered: Django's locmem outbox, or a loopback SMTP server of tests/smtp.py."""
    if row.status != OutboxStatus.SENT:
        return row.body
    for message in getattr(mail, "outbox", []):
        if message.extra_headers.get("Message-ID") == row.message_id:
            return message.body
    for server in SmtpServer.running:
        for message in list(server.messages):
            if message["Message-ID"] == row.message_id:
                return text_of(message)
    return row.body


def latest_link(address=AUTHORITY_EMAIL):
    with_link = [body for body in map(delivered_body, messages_to(address)) if LINK_RE.search(body)]
    assert with_link, f"no email with a link to {address}"
    return link_from(with_link[-1])


def with_totp(user):
    """Enrol a TOTP authenticator (allauth's own code) so the MFA middleware lets the user in; returns the secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def second_factor_given(client, user):
    """For a client signed in without the sign-in pages (``force_login``, ``Client.login``):
    what allauth records in the session when its sign-in takes a code of the account's
    authenticator app (its own ``post_authentication``), which the MFA middleware asks of
    role holders and staff. Nothing for an account without an app (allauth asks no code
    then). Returns the client."""
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if authenticator is not None:
        request = RequestFactory().get("/")
        request.user, request.session = user, client.session
        post_authentication(request, authenticator)
        request.session.save()
    return client


def totp_code(secret, unlike=None):
    """The code an authenticator app shows now (allauth's own function). Near the end
    of a period, wait for the next one, as a person would: allauth allows no drift. A
    code other than ``unlike`` (one given already: allauth takes each code once), the
    app's next one if need be."""
    period = mfa_settings.TOTP_PERIOD
    while True:
        if period - time.time() % period < 3:
            time.sleep(period - time.time() % period + 0.1)
        code = format_hotp_value(hotp_value(secret, int(time.time()) // period))
        if code != unlike:
            return code
        time.sleep(period - time.time() % period + 0.1)


def make_state_admin(jurisdiction="MH", email=None, totp=True):
    user = UserFactory(email=email or f"admin.{jurisdiction.lower()}.{UserFactory._meta.model.objects.count()}@state.gov.in")
    PlatformRoleFactory(user=user, role="state_admin", jurisdiction=jurisdiction)
    if totp:
        with_totp(user)
    return user


def make_superadmin(email=None, totp=True):
    user = UserFactory(email=email or f"superadmin{UserFactory._meta.model.objects.count()}@nic.in")
    PlatformRoleFactory(user=user, role="superadmin", jurisdiction="")
    if totp:
        with_totp(user)
    return user
