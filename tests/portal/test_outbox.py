"""Mail goes through the outbox and a real SMTP server on loopback (DESIGN §5):
allauth's mail included; an SMTP outage delays mail and never loses or duplicates
it; each message keeps its own Message-ID; a worker killed between taking a
message and sending it leads to exactly one delivery."""

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage, send_mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from onboarding.models import ApplicationStatus
from portal.celery import app as celery_app
from portal.logfilters import RedactSecrets
from portal.logformat import JsonFormatter
from portal.mail.models import OutboxMessage, OutboxPriority, OutboxStatus
from portal.mail.tasks import outbox_send, outbox_sweep
from tests.factories import PASSWORD, UserFactory
from tests.onboarding.approval_helpers import (  # noqa: F401 (a fixture)
    TRANSACTIONAL,
    filled_application,
    make_superadmin,
    official_email_rules,
    second_factor_given,
)
from tests.portal.test_health import stalled_server  # noqa: F401 (a fixture)
from tests.smtp import text_of

pytestmark = pytest.mark.django_db

MESSAGE_ID = re.compile(r"<[0-9a-f]{32}@sandes\.gov\.in>")


def broker_is(url):
    """Celery publishes to ``url`` from now on: its connection and producer pools, made once
    for the broker of their first use, are made again for it."""
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def sweep():
    """The periodic sweep, the real task code (run in-process by the eager test setting)."""
    return outbox_sweep.delay().get()


# allauth's mail -------------------------------------------------------------------

def test_signup_verification_code_goes_through_the_outbox_and_smtp(smtp_server, django_capture_on_commit_callbacks):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/signup/", {
            "email": "New.Officer@MHA.gov.in", "password1": "a-long-enough-passphrase", "password2": "a-long-enough-passphrase",
        })
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"

    row = OutboxMessage.objects.get()
    assert row.to == ["new.officer@mha.gov.in"]
    assert row.priority == OutboxPriority.URGENT  # sent before any other mail waiting
    assert row.subject.startswith("[Sandes onboarding] ")
    assert row.status == OutboxStatus.SENT and row.attempts == 1 and row.sent_at is not None
    assert MESSAGE_ID.fullmatch(row.message_id)

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["Message-ID"] == row.message_id
    assert message["To"] == "new.officer@mha.gov.in"
    assert message["Subject"] == row.subject
    assert smtp_server.envelopes[0].rcpt_tos == ["new.officer@mha.gov.in"]

    # The code in the delivered mail confirms the address through allauth's own view.
    body = text_of(message)
    code = re.search(r"Please enter it in your open browser window\.\s+(\S+)", body)[1]
    response = client.post("/accounts/confirm-email/", {"code": code})
    assert response.status_code == 302
    assert EmailAddress.objects.get(email="new.officer@mha.gov.in").verified


def test_every_mail_says_it_is_automatic_so_that_out_of_office_replies_do_not_answer_it(
        smtp_server, django_capture_on_commit_callbacks):
    """RFC 3834: mail the portal sends by itself (a roster's invitations to thousands, a code)
    says so, and vacation responders (Exchange's too) do not answer it: no backscatter
    against the sending domain."""
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Invitation", "Join Sandes.", None, ["a.person@pune.mahaagri.gov.in"])
    [message] = smtp_server.messages
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "All"


def test_password_reset_mail_goes_through_the_outbox(smtp_server, django_capture_on_commit_callbacks, officer):
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/accounts/password/reset/", {"email": officer.email})
    assert response.status_code == 302
    row = OutboxMessage.objects.get()
    assert row.to == [officer.email] and row.status == OutboxStatus.SENT
    assert [m["Message-ID"] for m in smtp_server.messages] == [row.message_id]


SITE = "https://onboarding.sandes.gov.in"
LINK = re.compile(r"https?://[^\s<>\"']+")


def mailed_links(to):
    [row] = OutboxMessage.objects.filter(to=[to])
    return LINK.findall(row.body)


def followed(link):
    """The page a mailed link leads to, followed with a fresh browser session."""
    assert link.startswith(SITE + "/"), link
    response = Client().get(link.removeprefix(SITE), follow=True)
    assert response.status_code == 200
    return response.resolver_match.url_name


@pytest.mark.parametrize("host", ["testserver", "localhost"])
def test_allauths_mail_links_to_site_url_not_to_the_host_the_request_came_in_with(settings, host):
    """The password-reset mail, the "no account at this address" mail and the "an account
    already exists" mail link to the portal's address (SITE_URL), whatever host name the
    request that caused them named; each link opens the page it is for."""
    cache.clear()
    settings.SITE_URL = SITE
    client = Client(HTTP_HOST=host)
    user = UserFactory(email="reset.me@mahaagri.gov.in")

    assert client.post("/accounts/password/reset/", {"email": user.email}).status_code == 302
    [reset] = mailed_links(user.email)
    assert followed(reset) == "account_reset_password_from_key"

    assert client.post("/accounts/password/reset/", {"email": "nobody@mahaagri.gov.in"}).status_code == 302
    [signup] = mailed_links("nobody@mahaagri.gov.in")
    assert followed(signup) == "account_signup"

    OutboxMessage.objects.all().delete()
    response = client.post("/accounts/signup/", {"email": user.email, "password1": "a-long-enough-passphrase",
                                                  "password2": "a-long-enough-passphrase"})
    assert response.status_code == 302
    [recover] = mailed_links(user.email)  # allauth's text links to the password reset only
    assert followed(recover) == "account_reset_password"
    cache.clear()


# An SMTP outage -----------------------------------------------------------------------

def test_mail_waits_in_the_outbox_while_smtp_is_down_and_the_sweep_delivers_it_once(
    smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_mail("Application received", "Body", None, ["a@mha.gov.in"]) == 1
    row = OutboxMessage.objects.get()
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error or "Connection refused" in row.last_error
    first_retry = row.next_attempt_at
    assert first_retry > timezone.now()
    assert smtp_server.messages == []

    # Not due yet: the sweep leaves it alone.
    assert sweep() == 0
    row.refresh_from_db()
    assert row.attempts == 1

    # Still down when it is due: one more attempt, a longer wait.
    with time_machine.travel(first_retry + timedelta(seconds=1), tick=False):
        assert sweep() == 0
    row.refresh_from_db()
    assert row.attempts == 2 and row.status == OutboxStatus.PENDING
    assert row.next_attempt_at - first_retry > timedelta(minutes=3)

    smtp_server.start()
    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1), tick=False):
        assert sweep() == 1
        assert sweep() == 0  # twice: nothing sent twice
        assert outbox_send.delay(row.pk).get() == OutboxStatus.SENT  # a redelivered task neither
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT and row.attempts == 3 and row.last_error == ""
    assert [m["Message-ID"] for m in smtp_server.messages] == [row.message_id]
    assert smtp_server.messages[0]["Subject"] == "Application received"


def test_a_relay_outage_of_hours_delays_mail_and_never_gives_it_up(smtp_server, django_capture_on_commit_callbacks):
    """Tried at each moment it is due, while the relay stays down for hours: every attempt
    fails, none counts towards OUTBOX_MAX_ATTEMPTS, and the wait between two is never more
    than half an hour; once the relay is back the next sweep sends it, once."""
    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Your application was approved", "Body", None, ["a@mha.gov.in"])
    row = OutboxMessage.objects.get()
    waits = []
    while row.next_attempt_at - row.created_at < timedelta(hours=6):
        tried_at = row.next_attempt_at + timedelta(seconds=1)
        with time_machine.travel(tried_at, tick=False):
            assert sweep() == 0
        row.refresh_from_db()
        assert row.status == OutboxStatus.PENDING, f"{row.status} after {row.attempts} attempts, {tried_at - row.created_at}"
        waits.append(row.next_attempt_at - tried_at)
    assert row.attempts > settings.OUTBOX_MAX_ATTEMPTS
    assert max(waits) == timedelta(minutes=30)
    assert smtp_server.messages == []
    # The superadmin reads when it failed first and when it is tried again.
    client = Client()
    root = make_superadmin(email="root@sandes.nic.in")
    client.force_login(root)
    second_factor_given(client, root)
    at = timezone.localtime(row.next_attempt_at)
    assert f"next try {at:%-d %b, %H:%M}" in client.get("/portal/outbox/?status=pending").content.decode()
    page = client.get(f"/portal/outbox/{row.pk}/").content.decode()
    since = timezone.localtime(row.failing_since)
    assert f"Failing since {since:%-d %b %Y, %H:%M:%S}; tried again at {at:%-d %b %Y, %H:%M:%S}." in page

    smtp_server.start()
    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1), tick=False):
        assert sweep() == 1
        assert sweep() == 0
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT and row.last_error == ""
    assert [m["Message-ID"] for m in smtp_server.messages] == [row.message_id]


def test_a_relay_that_answers_try_again_later_is_tried_again_past_the_attempts_for_a_refusal(
    smtp_server, django_capture_on_commit_callbacks, settings
):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    smtp_server.deferred.add("a@mha.gov.in")  # 450: the relay cannot take it now
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Reminder", "Body", None, ["a@mha.gov.in"])
    row = OutboxMessage.objects.get()
    for _attempt in range(3):
        with time_machine.travel(row.next_attempt_at + timedelta(seconds=1), tick=False):
            assert sweep() == 0
        row.refresh_from_db()
        assert row.status == OutboxStatus.PENDING and "450" in row.last_error
    assert row.attempts == 4
    smtp_server.deferred.clear()
    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1), tick=False):
        assert sweep() == 1
    assert [m["Message-ID"] for m in smtp_server.messages] == [row.message_id]


def test_a_relay_down_for_longer_than_outbox_give_up_hours_gives_the_message_up(
    smtp_server, django_capture_on_commit_callbacks, settings
):
    """Nothing is tried for ever: the first failure OUTBOX_GIVE_UP_HOURS after the first
    one gives the message up, for a superadmin to queue again (who gets that long again)."""
    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Reminder", "Body", None, ["a@mha.gov.in"])
    row = OutboxMessage.objects.get()
    first_failure = row.next_attempt_at - timedelta(minutes=2)
    give_up_at = first_failure + timedelta(hours=settings.OUTBOX_GIVE_UP_HOURS)
    while row.status == OutboxStatus.PENDING:
        tried_at = row.next_attempt_at + timedelta(seconds=1)
        with time_machine.travel(tried_at, tick=False):
            sweep()
        row.refresh_from_db()
        assert (row.status == OutboxStatus.FAILED) == (tried_at >= give_up_at), (row.status, tried_at - first_failure)
    with time_machine.travel(tried_at + timedelta(days=1), tick=False):
        assert sweep() == 0  # given up: the sweep no longer tries

    root = make_superadmin(email="root@sandes.nic.in")
    client = Client()
    with time_machine.travel(tried_at + timedelta(days=1), tick=False):
        client.login(email=root.email, password=PASSWORD)
        second_factor_given(client, root)
        assert "Failed (gave up)" in client.get(f"/portal/outbox/{row.pk}/").content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(f"/portal/outbox/{row.pk}/").status_code == 302
        row.refresh_from_db()
        assert row.status == OutboxStatus.PENDING and row.attempts == 1  # still down: tried, kept
        smtp_server.start()
        with time_machine.travel(row.next_attempt_at + timedelta(seconds=1), tick=False):
            assert sweep() == 1
    assert [m["Message-ID"] for m in smtp_server.messages] == [row.message_id]


def test_after_the_last_attempt_a_superadmin_can_queue_it_again(
    smtp_server, django_capture_on_commit_callbacks, settings
):
    # A recipient the relay refuses (a 5xx that does not say the mailbox is unknown: that is
    # never offered again, test_an_address_the_relay_does_not_know_is_not_offered_to_it_again)
    # is tried OUTBOX_MAX_ATTEMPTS times.
    settings.OUTBOX_MAX_ATTEMPTS = 2
    smtp_server.answers["a@mha.gov.in"] = "554 5.7.1 <a@mha.gov.in>: Relay access denied"
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Reminder", "Body", None, ["a@mha.gov.in"])
    row = OutboxMessage.objects.get()
    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1), tick=False):
        sweep()
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED and row.attempts == 2
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        assert sweep() == 0  # given up: the sweep no longer tries

    smtp_server.answers.clear()
    root = make_superadmin(email="root@sandes.nic.in")
    client = Client()
    client.login(email=root.email, password=PASSWORD)
    second_factor_given(client, root)
    assert "Failed (gave up)" in client.get(f"/portal/outbox/{row.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/portal/outbox/{row.pk}/").status_code == 302
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert [m["Message-ID"] for m in smtp_server.messages] == [row.message_id]


def test_a_refused_recipient_is_named_on_the_outbox_page_but_in_no_log_line(
    smtp_server, django_capture_on_commit_callbacks, caplog
):
    # A personal address typed on the password reset page, which the relay refuses: the
    # worker's log (JSON, kept and shipped elsewhere) says which row failed and how, not to whom.
    cache.clear()
    smtp_server.refused.add("asha.home@gmail.com")
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        Client().post("/accounts/password/reset/", {"email": "asha.home@gmail.com"})
    row = OutboxMessage.objects.get()
    assert row.status == OutboxStatus.PENDING and row.attempts == 1 and smtp_server.messages == []
    assert "asha.home@gmail.com" in row.last_error and "550" in row.last_error  # the superadmins' outbox page
    lines = []
    for record in caplog.records:
        if record.name.startswith("mail."):  # the test's own SMTP server (aiosmtpd) talking
            continue
        RedactSecrets().filter(record)
        lines.append(JsonFormatter().format(record))
    assert not [line for line in lines if "asha.home" in line]
    [failure] = [r for r in caplog.records if r.name == "portal.mail.delivery" and r.levelno == logging.WARNING]
    assert failure.getMessage() == f"Outbox message {row.pk} not sent (attempt 1): SMTPRecipientsRefused, SMTP code 550"
    cache.clear()


# A relay that takes a message for some recipients and refuses it for others -------------

OFFICER, AUTHORITY = "nodal.officer@mahaagri.gov.in", "director.agri@maharashtra.gov.in"


def delivered_to(smtp_server):
    return [address for envelope in smtp_server.envelopes for address in envelope.rcpt_tos]


def test_a_recipient_the_relay_defers_while_it_takes_the_others_gets_the_message_later(
    smtp_server, django_capture_on_commit_callbacks
):
    """The approval letter goes to the officer and the competent authority; the relay answers
    "450 try again later" for the authority only. The authority still gets it once the relay
    takes it again, and the officer gets it once, not twice; the superadmin's outbox page
    shows the message sent, to whom, and the authority's copy tried again."""
    smtp_server.deferred.add(AUTHORITY)
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Approval letter for application ONB-2026-000001", "Attached.", None, [OFFICER, AUTHORITY])
    row = OutboxMessage.objects.earliest("id")
    assert row.status == OutboxStatus.SENT
    assert f"Delivered to {OFFICER}." in row.last_error
    assert f"Deferred for {AUTHORITY} (450 " in row.last_error
    retry = OutboxMessage.objects.exclude(pk=row.pk).get()
    assert f"sent again as message #{retry.pk}." in row.last_error
    assert retry.status == OutboxStatus.PENDING and retry.to == [AUTHORITY] and retry.failing_since is not None
    assert (retry.subject, retry.body) == (row.subject, "Attached.")
    assert delivered_to(smtp_server) == [OFFICER]

    smtp_server.deferred.clear()  # the relay can take it again
    with time_machine.travel(row.created_at + timedelta(days=1), tick=False):
        assert sweep() == 1
        assert sweep() == 0
    retry.refresh_from_db()
    assert retry.status == OutboxStatus.SENT and retry.last_error == ""
    assert sorted(delivered_to(smtp_server)) == sorted([OFFICER, AUTHORITY])
    assert [m["Message-ID"] for m in smtp_server.messages] == [row.message_id, retry.message_id]

    client = Client()
    root = make_superadmin(email="root@sandes.nic.in")
    client.force_login(root)
    second_factor_given(client, root)
    assert "Sent (not to every recipient)" in client.get("/portal/outbox/?status=sent").content.decode()
    page = client.get(f"/portal/outbox/{row.pk}/").content.decode()
    assert f"Deferred for {AUTHORITY}" in page


def test_a_recipient_the_relay_refuses_for_good_while_it_takes_the_others_is_recorded_on_the_row(
    smtp_server, django_capture_on_commit_callbacks, caplog
):
    """The relay answers "550 User unknown" for the authority only: the officer gets the
    message, and the superadmins' outbox page names the authority's address as failed (as it
    does when every recipient is refused), the worker's log line names nobody."""
    smtp_server.refused.add(AUTHORITY)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        send_mail("Approval letter for application ONB-2026-000001", "Attached.", None, [OFFICER, AUTHORITY])
    row = OutboxMessage.objects.get()
    assert row.status == OutboxStatus.SENT
    assert f"Failed for {AUTHORITY}, refused by the mail server (550 " in row.last_error
    assert delivered_to(smtp_server) == [OFFICER]
    with time_machine.travel(row.created_at + timedelta(days=1), tick=False):
        assert sweep() == 0  # nobody gets it twice
    [failure] = [r for r in caplog.records if r.name == "portal.mail.delivery" and r.levelno == logging.WARNING]
    assert failure.getMessage() == f"Outbox message {row.pk} sent, but 1 of 2 recipients refused (SMTP code 550)"


def test_a_recipient_the_relay_defers_is_waited_for_when_the_other_is_refused_for_good(
    smtp_server, django_capture_on_commit_callbacks, settings, caplog
):
    """The relay takes the message for nobody: "550 User unknown" for the officer, "450 try
    again later" (greylisting, a full queue) for the authority. The officer's refusal is
    recorded at once, not sent again at each attempt; the authority's copy is tried again on a
    row of its own as an outage is (OUTBOX_GIVE_UP_HOURS), not given up with the officer's after
    OUTBOX_MAX_ATTEMPTS refusals."""
    settings.OUTBOX_MAX_ATTEMPTS = 2
    smtp_server.refused.add(OFFICER)
    smtp_server.deferred.add(AUTHORITY)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        send_mail("Approval letter for application ONB-2026-000001", "Attached.", None, [OFFICER, AUTHORITY])
    row = OutboxMessage.objects.earliest("id")
    retry = OutboxMessage.objects.exclude(pk=row.pk).get()
    assert row.status == OutboxStatus.FAILED and row.to == [OFFICER]  # queued again by a superadmin: the officer only
    assert f"Failed for {OFFICER}, refused by the mail server (550 " in row.last_error
    assert f"Deferred for {AUTHORITY} (450 " in row.last_error and f"sent again as message #{retry.pk}." in row.last_error
    assert retry.status == OutboxStatus.PENDING and retry.to == [AUTHORITY] and retry.failing_since is not None
    assert retry.refusals == 0 and retry.next_attempt_at - timezone.now() <= timedelta(minutes=2)
    [failure] = [r for r in caplog.records if r.name == "portal.mail.delivery" and r.levelno == logging.WARNING]
    assert failure.getMessage() == (f"Outbox message {row.pk} not sent: 2 of 2 recipients refused (SMTP code 450, 550);"
                                    f" tried again as message {retry.pk}")

    for _attempt in range(settings.OUTBOX_MAX_ATTEMPTS + 2):  # hours of "later", far below OUTBOX_GIVE_UP_HOURS
        with time_machine.travel(retry.next_attempt_at + timedelta(seconds=1), tick=False):
            assert sweep() == 0
        retry.refresh_from_db()
        assert retry.status == OutboxStatus.PENDING and "450" in retry.last_error
    smtp_server.deferred.clear()
    with time_machine.travel(retry.next_attempt_at + timedelta(seconds=1), tick=False):
        assert sweep() == 1
        assert sweep() == 0
    assert delivered_to(smtp_server) == [AUTHORITY]
    assert [m["Message-ID"] for m in smtp_server.messages] == [retry.message_id]


def test_a_state_administrator_the_relay_defers_still_hears_of_a_new_application(
    smtp_server, django_capture_on_commit_callbacks
):
    """A new application is mailed to every state administrator; the one the relay defers
    gets it from the sweep once the relay takes it again."""
    from tests.factories import application_with_state
    from tests.onboarding.approval_helpers import make_state_admin

    first, second = make_state_admin("MH", totp=False), make_state_admin("MH", totp=False)
    smtp_server.deferred.add(second.email)
    with django_capture_on_commit_callbacks(execute=True):
        application_with_state(jurisdiction="MH")
    assert first.email in delivered_to(smtp_server) and second.email not in delivered_to(smtp_server)
    smtp_server.deferred.clear()
    with time_machine.travel(OutboxMessage.objects.latest("id").created_at + timedelta(days=1), tick=False):
        sweep()
    assert delivered_to(smtp_server).count(first.email) == 1
    assert delivered_to(smtp_server).count(second.email) == 1


# An address the relay does not know ---------------------------------------------------------

GONE = "gone@dept.gov.in"


def outbox_day(moment):
    """A date as the outbox writes it on a row (15 Mar 2026, the portal's time zone)."""
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y}"


def test_an_address_the_relay_does_not_know_is_not_offered_to_it_again(
    smtp_server, django_capture_on_commit_callbacks
):
    """The relay answers "550 5.1.1 User unknown" for an address: the portal records its
    mailbox, and no later message offers it to the relay again, however it is written. The
    message's other recipients still get it and its row says who did not and why; a message
    to nobody else is given up at once, the relay not contacted, its retry as well."""
    smtp_server.refused.add(GONE)
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Reminder", "Body", None, [GONE])
    first = OutboxMessage.objects.get()
    assert first.status == OutboxStatus.PENDING and first.attempts == 1 and smtp_server.asked == [GONE]

    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Meeting of the nodal officers", "On Monday at 11.", None, [OFFICER, "Gone@Dept.GOV.in"])
    assert smtp_server.asked == [GONE, OFFICER]  # the unknown address not offered again
    assert delivered_to(smtp_server) == [OFFICER]
    second = OutboxMessage.objects.latest("id")
    assert second.status == OutboxStatus.SENT
    day = outbox_day(timezone.now())
    assert f"Delivered to {OFFICER}." in second.last_error
    assert (f"Failed for Gone@Dept.GOV.in: address refused as unknown on {day} (550 5.1.1 <{GONE}>: Recipient "
            "address rejected: User unknown), not offered to the mail server again.") in second.last_error

    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Another reminder", "Body", None, [GONE])
    third = OutboxMessage.objects.latest("id")
    assert third.status == OutboxStatus.FAILED and third.attempts == 0
    assert f"Failed for {GONE}: address refused as unknown on {day}" in third.last_error

    # The first message's retry: given up at once, without asking the relay.
    with time_machine.travel(first.next_attempt_at + timedelta(seconds=1), tick=False):
        assert sweep() == 0
    first.refresh_from_db()
    assert first.status == OutboxStatus.FAILED and first.attempts == 1
    assert f"Failed for {GONE}: address refused as unknown on {day}" in first.last_error
    assert smtp_server.asked == [GONE, OFFICER]

    from portal.mail.models import UnknownMailbox

    [record] = UnknownMailbox.objects.all()
    assert (record.mailbox, record.refusals, record.lifted_at) == (GONE, 1, None)
    assert record.first_refused_at == record.last_refused_at
    assert record.reply == f"550 5.1.1 <{GONE}>: Recipient address rejected: User unknown"


def test_a_tag_of_an_address_the_relay_does_not_know_is_not_offered_to_it_either(
    smtp_server, django_capture_on_commit_callbacks
):
    """A "+tag" reaches the mailbox without it: the relay refused gone@ as unknown, so
    gone+minutes@ cannot arrive either, yet it was offered to the relay (the record is kept in
    the address's own form, the tag and all). It is left out too. The reverse is not so: a
    tag the relay refused says nothing of the mailbox without it, nor of another tag."""
    from portal.mail.models import UnknownMailbox
    from portal.mail.refusals import unknown_mailboxes

    smtp_server.refused.update({GONE, "someone+old@dept.gov.in"})
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Reminder", "Body", None, [GONE])
        send_mail("Reminder", "Body", None, ["someone+old@dept.gov.in"])
    gone, old = UnknownMailbox.objects.order_by("mailbox")
    assert (gone.mailbox, old.mailbox) == (GONE, "someone+old@dept.gov.in")
    asked = len(smtp_server.asked)

    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Meeting of the nodal officers", "On Monday at 11.", None, [OFFICER, "Gone+Minutes@Dept.GOV.in"])
    assert smtp_server.asked[asked:] == [OFFICER]
    row = OutboxMessage.objects.latest("id")
    assert row.status == OutboxStatus.SENT
    assert (f"Failed for Gone+Minutes@Dept.GOV.in: address refused as unknown on {outbox_day(timezone.now())} (550 "
            f"5.1.1 <{GONE}>: Recipient address rejected: User unknown), not offered to the mail server again."
            ) in row.last_error

    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Meeting of the nodal officers", "On Monday at 11.", None,
                  ["someone@dept.gov.in", "someone+new@dept.gov.in"])
    assert smtp_server.asked[asked + 1:] == ["someone@dept.gov.in", "someone+new@dept.gov.in"]
    assert unknown_mailboxes([GONE, "gone+1@dept.gov.in", "someone@dept.gov.in", "someone+old@dept.gov.in",
                              "Someone+Old@dept.gov.in", "someone+new@dept.gov.in"]) == {
        GONE: gone, "gone+1@dept.gov.in": gone, "someone+old@dept.gov.in": old, "Someone+Old@dept.gov.in": old}


def test_each_refusal_of_an_unknown_address_is_counted(smtp_server, django_capture_on_commit_callbacks):
    """Two messages to the address in one batch (sent before the first refusal was recorded):
    both refused, counted twice on one record, from the first refusal to the last."""
    from django.core.mail import mailers

    from portal.mail.models import UnknownMailbox

    smtp_server.refused.update({GONE, "GONE@dept.gov.in"})
    with django_capture_on_commit_callbacks(execute=True):
        mailers.default.send_messages([EmailMessage("One", "1", to=[GONE]),
                                       EmailMessage("Two", "2", to=["GONE@dept.gov.in", OFFICER])])
    assert smtp_server.asked == [GONE, "GONE@dept.gov.in", OFFICER]
    [record] = UnknownMailbox.objects.all()
    assert (record.mailbox, record.refusals) == (GONE, 2)
    assert record.first_refused_at < record.last_refused_at


@pytest.mark.parametrize("reply", [
    "552 5.2.2 <{}>: Mailbox full",
    "554 5.7.1 <{}>: Relay access denied",
    "550 5.7.1 Message refused by policy: mailbox unavailable",
    "553 5.1.8 <noreply@sandes.gov.in>: Sender address rejected: Domain not found",
    "550 Requested action not taken: mailbox unavailable",
], ids=["mailbox full", "relay denied", "policy", "sender's address", "no reason given"])
def test_a_refusal_that_does_not_say_the_mailbox_is_unknown_suppresses_nothing(
    smtp_server, django_capture_on_commit_callbacks, reply
):
    from portal.mail.models import UnknownMailbox

    smtp_server.answers[GONE] = reply.format(GONE)
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("One", "1", None, [GONE])
        send_mail("Two", "2", None, [GONE])
    assert smtp_server.asked == [GONE, GONE]  # each offered to the relay
    assert not UnknownMailbox.objects.exists()


@pytest.mark.parametrize(("code", "reply", "unknown"), [
    (550, "5.1.1 <a@mha.gov.in>: Recipient address rejected: User unknown in local recipient table", True),
    (550, "5.1.1 The email account that you tried to reach does not exist.\n5.1.1 Please try again", True),
    (553, "5.1.3 Bad recipient address syntax", True),
    (551, "5.1.6 Mailbox has moved, no forwarding address", True),
    (554, "5.1.1 Delivery error: dd This user doesn't have an account", True),
    (550, "User unknown", True),
    (550, "No such user here", True),
    (553, "sorry, no mailbox here by that name. (#5.7.1)", True),
    (551, "Mailbox does not exist", True),
    (450, "4.1.1 <a@mha.gov.in>: Recipient address rejected: unverified address", False),
    (451, "User unknown, try again later", False),
    (550, "5.1.7 Bad sender's mailbox address syntax", False),
    (550, "5.1.8 Sender address rejected: Domain not found", False),
    (550, "5.7.1 User unknown", False),  # the enhanced code is the answer
    (550, "4.1.1 User unknown", False),  # a class that contradicts the code
    (552, "5.2.2 Mailbox full", False),
    (554, "User unknown", False),  # not a code an unknown mailbox is refused with
    (550, "Requested action not taken: mailbox unavailable", False),
    (550, "Message rejected as spam", False),
])
def test_which_refusals_say_the_mailbox_is_unknown(code, reply, unknown):
    from portal.mail.refusals import is_unknown_mailbox

    assert is_unknown_mailbox(code, reply) is unknown


def superadmin_client():
    root = make_superadmin(email="root@sandes.nic.in")
    client = Client()
    client.force_login(root)
    second_factor_given(client, root)
    return client, root


def test_a_superadmin_sees_the_addresses_refused_as_unknown_on_the_outbox_page_and_lifts_one(
    smtp_server, django_capture_on_commit_callbacks
):
    """The outbox page lists the addresses the relay refused as unknown, with when, how often
    and its answer. A superadmin lifts one (its mailbox was created since) after a page that
    asks them to confirm, which is audited: the next message to it is offered to the relay
    again, and refused again it is recorded again."""
    from portal.audit.models import AuditAction, AuditEvent
    from portal.mail.models import UnknownMailbox

    smtp_server.refused.add(GONE)
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Reminder", "Body", None, [GONE])
    record = UnknownMailbox.objects.get()
    client, root = superadmin_client()
    page = client.get("/portal/outbox/").content.decode()
    assert "Addresses refused as unknown" in page
    assert GONE in page and "550 5.1.1 &lt;gone@dept.gov.in&gt;: Recipient address rejected: User unknown" in page
    lift = f"/portal/outbox/unknown/{record.pk}/lift/"
    assert f'href="{lift}"' in page

    confirm = client.get(lift).content.decode()
    assert f"Lift the refusal of {GONE}" in confirm and "Yes, lift the refusal" in confirm
    record.refresh_from_db()
    assert record.lifted_at is None  # asking is not lifting

    response = client.post(lift)
    assert response.status_code == 302 and response["Location"] == "/portal/outbox/"
    assert (f"The refusal of {GONE} was lifted: the next message to it is offered to the mail server."
            in client.get("/portal/outbox/").content.decode())
    record.refresh_from_db()
    assert record.lifted_at is not None
    [event] = AuditEvent.objects.filter(action=AuditAction.OUTBOX_UNKNOWN_MAILBOX_LIFTED)
    assert (event.actor_id, event.target_id, event.old_values["email"], event.old_values["refusals"]) == (
        root.pk, str(record.pk), GONE, 1)
    assert f'href="{lift}"' not in client.get("/portal/outbox/").content.decode()

    # A second submit (or another superadmin first) changes nothing.
    client.post(lift)
    assert "was already lifted; nothing was changed." in client.get("/portal/outbox/").content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.OUTBOX_UNKNOWN_MAILBOX_LIFTED).count() == 1

    # Offered again; the relay still refuses it: recorded again, and listed again.
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Second reminder", "Body", None, [GONE])
    assert smtp_server.asked == [GONE, GONE]
    record.refresh_from_db()
    assert (record.refusals, record.lifted_at) == (2, None)
    assert f'href="{lift}"' in client.get("/portal/outbox/").content.decode()

    # Lifted once more, its mailbox now exists: the next message is delivered.
    client.post(lift)
    smtp_server.refused.clear()
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Third reminder", "Body", None, [GONE])
    assert delivered_to(smtp_server) == [GONE]
    assert OutboxMessage.objects.latest("id").status == OutboxStatus.SENT


def test_the_lift_page_gives_the_refusals_times_as_the_outbox_lists_them():
    """The outbox lists when an address was first and last refused to the minute ("5 Dec
    2026, 00:09"); the page to lift the refusal gave the same times with seconds ("5 Dec
    2026, 00:09:32"), as did its "lifted on": the same day and time, written as the list
    writes them."""
    from datetime import datetime

    from portal.mail.models import UnknownMailbox
    from tests.html_tree import parse

    first = timezone.make_aware(datetime(2026, 12, 5, 0, 9, 32))
    record = UnknownMailbox.objects.create(mailbox=GONE, first_refused_at=first, last_refused_at=first + timedelta(hours=3),
                                           reply="550 5.1.1 User unknown")
    client, _root = superadmin_client()
    listed = parse(client.get("/portal/outbox/").content.decode()).by_id("unknown-caption").parent
    [row] = listed.find("tbody").find_all("tr")
    assert [cell.squashed_text() for cell in row.find_all("td")[1:3]] == ["5 Dec 2026, 00:09", "5 Dec 2026, 03:09"]
    lift = parse(client.get(f"/portal/outbox/unknown/{record.pk}/lift/").content.decode())
    assert [dd.squashed_text() for dd in lift.find("dl").find_all("dd")[:2]] == ["5 Dec 2026, 00:09", "5 Dec 2026, 03:09"]
    UnknownMailbox.objects.filter(pk=record.pk).update(lifted_at=first + timedelta(days=1))
    lift = parse(client.get(f"/portal/outbox/unknown/{record.pk}/lift/").content.decode())
    assert "This refusal was lifted on 6 Dec 2026, 00:09: messages to the address" in lift.squashed_text()


def test_the_printed_outbox_says_which_status_it_lists():
    """Its filter form is not printed: the paper says which status the messages are of."""
    from tests.html_tree import parse, printed_filters

    client, _root = superadmin_client()
    assert printed_filters(parse(client.get("/portal/outbox/?status=failed").content)) == (
        "Showing: Status = Failed (gave up)")
    assert printed_filters(parse(client.get("/portal/outbox/?status=nonsense").content)) == (
        "Showing: every row, no filter.")


def test_a_failed_message_names_its_recipients_still_refused_as_unknown(smtp_server, django_capture_on_commit_callbacks):
    """Sent again while its address is refused, a message fails again at once: its page says
    so, and where the refusal is lifted."""
    smtp_server.refused.add(GONE)
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Reminder", "Body", None, [GONE])
        send_mail("Another", "Body", None, [GONE])
    row = OutboxMessage.objects.latest("id")
    assert row.status == OutboxStatus.FAILED
    client, _root = superadmin_client()
    page = client.get(f"/portal/outbox/{row.pk}/").content.decode()
    assert (f"The mail server refused {GONE} as an address that does not exist: sent again, this message would "
            "fail at once for it. Lift the refusal first, on the outbox page, if its mailbox exists now.") in page


def unknown_since(mailbox, *, days):
    """A record of ``mailbox`` refused by the relay as unknown ``days`` days ago."""
    from portal.mail.models import UnknownMailbox

    then = timezone.now() - timedelta(days=days)
    return UnknownMailbox.objects.create(mailbox=mailbox, first_refused_at=then, last_refused_at=then,
                                         reply=f"550 5.1.1 <{mailbox}>: Recipient address rejected: User unknown")


def sign_up(address):
    return Client().post("/accounts/signup/", {"email": address, "password1": PASSWORD, "password2": PASSWORD})


def test_mail_a_person_asks_for_is_offered_to_the_relay_though_their_mailbox_was_refused_before(
    smtp_server, django_capture_on_commit_callbacks
):
    """A roster's invitation was refused "550 5.1.1 User unknown" before NIC created the
    mailbox. The person, mailbox now created, signs up: the code they asked for is offered to
    the relay all the same, and taken, the record goes (the mailbox exists now): later mail
    to them is offered too."""
    from portal.mail.models import UnknownMailbox

    unknown_since(GONE, days=10)
    with django_capture_on_commit_callbacks(execute=True):
        assert sign_up(GONE).status_code == 302
    row = OutboxMessage.objects.get()
    assert (row.status, row.last_error) == (OutboxStatus.SENT, "")
    assert smtp_server.asked == [GONE] and delivered_to(smtp_server) == [GONE]
    assert not UnknownMailbox.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Invitation", "Join Sandes.", None, [GONE])
    assert delivered_to(smtp_server) == [GONE, GONE]


def test_mail_a_person_asks_for_refused_again_renews_the_record_and_is_not_offered_again(
    smtp_server, django_capture_on_commit_callbacks
):
    """The mailbox still does not exist: the code asked for is offered once, refused, and the
    record renewed (counted, its last refusal now); the message's retry is then given up at
    once, the relay not asked again."""
    from portal.mail.models import UnknownMailbox

    record = unknown_since(GONE, days=10)
    smtp_server.refused.add(GONE)
    with django_capture_on_commit_callbacks(execute=True):
        assert sign_up(GONE).status_code == 302
    row = OutboxMessage.objects.get()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1) and smtp_server.asked == [GONE]
    renewed = UnknownMailbox.objects.get()
    assert (renewed.pk, renewed.refusals, renewed.lifted_at) == (record.pk, 2, None)
    assert renewed.last_refused_at > record.last_refused_at and renewed.first_refused_at == record.first_refused_at

    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1), tick=False):
        assert sweep() == 0
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED and row.attempts == 1
    assert f"Failed for {GONE}: address refused as unknown on {outbox_day(timezone.now())}" in row.last_error
    assert smtp_server.asked == [GONE]


def test_mail_nobody_asked_for_is_not_offered_to_a_mailbox_refused_as_unknown_however_urgent(
    smtp_server, django_capture_on_commit_callbacks
):
    """Only the mail its recipient asked for on a page (allauth's) is offered despite the
    record: a competent authority's link is urgent too, and an invitation is not asked for;
    both fail at once, and the record stands."""
    from django.core.mail import mailers

    from portal.mail.models import UnknownMailbox, with_priority

    record = unknown_since(GONE, days=10)
    with django_capture_on_commit_callbacks(execute=True):
        mailers.default.send_messages([with_priority(EmailMessage("Decision needed", "A link", to=[GONE]),
                                                     OutboxPriority.URGENT),
                                       EmailMessage("Invitation", "Join Sandes.", to=[GONE])])
    assert smtp_server.asked == []
    assert list(OutboxMessage.objects.values_list("status", flat=True)) == [OutboxStatus.FAILED] * 2
    assert UnknownMailbox.objects.get() == record


def test_records_of_unknown_addresses_go_after_outbox_keep_days_and_with_the_persons_erasure():
    """A record not refused again for OUTBOX_KEEP_DAYS is removed by the outbox's daily job
    (the address is then offered once more: a mailbox created since gets its mail); an erasure
    granted to the person removes theirs at once."""
    from portal.mail.models import UnknownMailbox
    from portal.mail.retention import unknown_mailboxes_person_remove
    from portal.mail.tasks import outbox_old_remove

    now = timezone.now()
    old = now - timedelta(days=settings.OUTBOX_KEEP_DAYS + 1)
    recent = now - timedelta(days=settings.OUTBOX_KEEP_DAYS - 1)
    for mailbox, last in (("old@dept.gov.in", old), ("recent@dept.gov.in", recent), ("asha@dept.gov.in", now)):
        UnknownMailbox.objects.create(mailbox=mailbox, first_refused_at=old, last_refused_at=last, reply="550 5.1.1")
    outbox_old_remove.delay().get()
    assert sorted(UnknownMailbox.objects.values_list("mailbox", flat=True)) == ["asha@dept.gov.in", "recent@dept.gov.in"]
    asha = UnknownMailbox.objects.get(mailbox="asha@dept.gov.in")
    assert unknown_mailboxes_person_remove(None, ["Asha@DEPT.gov.in"]) == [("mail.unknownmailbox", str(asha.pk))]
    assert list(UnknownMailbox.objects.values_list("mailbox", flat=True)) == ["recent@dept.gov.in"]


# Message-ID ------------------------------------------------------------------------------

def test_each_message_keeps_its_own_message_id(smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        EmailMessage("One", "1", to=["a@mha.gov.in"]).send()
        # A Message-ID chosen by the caller is replaced by the outbox's own.
        EmailMessage("Two", "2", to=["b@mha.gov.in"], headers={"Message-ID": "<chosen@example.com>"}).send()
    rows = list(OutboxMessage.objects.order_by("id"))
    assert len(rows) == 2
    assert all(MESSAGE_ID.fullmatch(row.message_id) for row in rows)
    assert rows[0].message_id != rows[1].message_id
    delivered = {m["Subject"]: m["Message-ID"] for m in smtp_server.messages}
    assert delivered == {"One": rows[0].message_id, "Two": rows[1].message_id}
    assert all(len(m.get_all("Message-ID")) == 1 for m in smtp_server.messages)


def test_message_id_stays_the_same_across_attempts(smtp_server, django_capture_on_commit_callbacks):
    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        EmailMessage("Retried", "body", to=["a@mha.gov.in"]).send()
    row = OutboxMessage.objects.get()
    message_id = row.message_id
    smtp_server.start()
    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1), tick=False):
        assert sweep() == 1
    row.refresh_from_db()
    assert row.message_id == message_id
    assert smtp_server.message_ids() == [message_id]


# A worker killed between taking a message and sending it --------------------------------

@pytest.fixture
def worker_database(tmp_path):
    """A database of its own for worker processes (the test database of a SQLite run
    lives in this process's memory, and a PostgreSQL test transaction would hide
    the rows from them). Named after the test database, so parallel runs on other
    databases do not collide. Yields its URL and whether it is migrated already."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'worker.sqlite3'}", False
        return
    assert connection.vendor == "postgresql"
    from tests.pg_trace import other_connection

    params = connection.settings_dict
    name = f"{params['NAME']}_outbox_worker"[:63]
    admin = other_connection(dbname="postgres")
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    # A copy of the migrated template when the run has one (tests/conftest.py): the
    # test's migrate then finds every migration applied.
    template = os.environ.get("PORTAL_TEST_DATABASE_TEMPLATE")
    admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    credentials = quote(params["USER"] or "", safe="") + (":" + quote(params["PASSWORD"], safe="") if params["PASSWORD"] else "")
    try:
        yield f"postgres://{credentials}@{params['HOST'] or 'localhost'}:{params['PORT'] or 5432}/{name}", bool(template)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _worker_env(database_url, smtp, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": database_url,
        "EMAIL_HOST": smtp.host,
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_TIMEOUT": "10",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
    })
    env.pop("CELERY_BROKER_URL", None)
    return env


def _run(args, env, timeout=120):
    result = subprocess.run([sys.executable, *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _wait_for(path, process, timeout=60):
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the worker ended before reaching the gate:\n{process.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError("the worker never reached the gate")
        time.sleep(0.02)


def test_a_worker_killed_before_sending_leads_to_exactly_one_delivery(smtp_server, worker_database, tmp_path):
    database_url, migrated = worker_database
    env = _worker_env(database_url, smtp_server, tmp_path)
    if not migrated:  # a copy of the run's migrated template needs no migrate (a Django process: 1.5-2 s)
        _run(["manage.py", "migrate", "--noinput", "--verbosity", "0"], env, timeout=300)

    reached, release = tmp_path / "reached", tmp_path / "release"
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.portal.outbox_worker", "send-gated", str(reached), str(release)],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        # The worker has queued the message, claimed it (committed: SENDING, under the
        # key of a lock the worker holds) and is about to hand it to SMTP.
        _wait_for(reached, worker)
        message_id = reached.read_text()
        assert MESSAGE_ID.fullmatch(message_id)

        # Another worker (the task redelivered by the broker) starts meanwhile: it must
        # wait for the row while its sender lives, not send it alongside the first.
        second = subprocess.Popen(
            [sys.executable, "-m", "tests.portal.outbox_worker", "redeliver", message_id],
            cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert smtp_server.messages == []

        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
        assert not release.exists()

        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err[-3000:]
    finally:
        if worker.poll() is None:
            worker.kill()
    result = json.loads(out.strip().splitlines()[-1])
    # The killed attempt counted nothing (an attempt is counted with its outcome) and
    # its lock died with it; the redelivered task took the row over and sent it.
    assert result == {"returned": "sent", "status": "sent", "attempts": 1, "last_error": ""}
    assert smtp_server.message_ids() == [message_id]

    # Running the task and the sweep again (one process, one after the other) sends nothing twice.
    again, swept = (json.loads(line) for line in _run(
        ["-m", "tests.portal.outbox_worker", "redeliver", message_id, "--", "sweep"], env).stdout.strip().splitlines()[-2:])
    assert again["returned"] == "sent" and again["attempts"] == 1
    assert swept == {"sent": 0}
    assert smtp_server.message_ids() == [message_id]
    assert smtp_server.messages[0]["Subject"] == "Your application ONB-2026-000042"


def test_a_row_written_without_the_new_columns_is_accepted():
    """During an upgrade the migrations run before the web and worker processes restart:
    the running code writes outbox rows without the columns a migration adds, which
    therefore carry a default in the database, not only in the model."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {OutboxMessage._meta.db_table} (message_id, created_at, subject, from_email, \"to\", cc, bcc,"
            " reply_to, body, html_body, attachments, headers, status, attempts, last_error, next_attempt_at)"
            " VALUES ('<upgrade@example>', %s, 'subject', 'noreply@example.gov.in', '[\"a@b.gov.in\"]', '[]', '[]',"
            " '[]', 'body', '', '[]', '{}', 'pending', 0, '', %s) RETURNING id",
            [now, now],
        )
        pk = cursor.fetchone()[0]
    row = OutboxMessage.objects.get(pk=pk)
    assert (row.refusals, row.failing_since, row.priority, row.asked_for) == (0, None, OutboxPriority.NORMAL, False)


def test_try_sending_again_on_a_message_no_longer_failed_says_nothing_was_queued():
    """A second "Try sending again" (a double submit, a second tab, another superadmin first):
    the message is no longer given up, so nothing is queued or audited, and the page says so
    with its status now instead of claiming it was put back in the queue."""
    from django.contrib.messages import get_messages

    from portal.audit.models import AuditAction, AuditEvent

    root = make_superadmin(email="root@nic.in")
    row = OutboxMessage.objects.create(message_id="<again-1@sandes.gov.in>", subject="s", from_email="a@nic.in",
                                       to=["x@nic.in"], body="b", status=OutboxStatus.SENT)
    client = Client()
    client.login(email=root.email, password=PASSWORD)
    second_factor_given(client, root)
    response = client.post(f"/portal/outbox/{row.pk}/", follow=True)
    said = [str(m) for m in get_messages(response.wsgi_request)]
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert not AuditEvent.objects.filter(action=AuditAction.OUTBOX_REQUEUED).exists()
    assert said == ["This message is no longer failed (now: Sent); nothing was queued."]


@TRANSACTIONAL
@pytest.mark.usefixtures("official_email_rules")
def test_an_action_that_writes_mail_answers_within_seconds_while_the_broker_takes_connections_and_never_answers(
        stalled_server):  # noqa: F811 (the fixture imported above)
    """The broker (Redis, as in production) hangs: it takes connections and answers nothing
    (a Redis frozen by a fork, a failover, a firewall dropping packets after the handshake).
    The officer's submission commits and its mail waits in the outbox for the sweep; the
    hand-off to the broker after the commit gives up within seconds (its socket timeouts
    and one retry), not when the web worker is killed (GUNICORN_TIMEOUT, 60 s)."""
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in")
    application = filled_application(officer)
    client = Client()
    client.force_login(officer)
    server = stalled_server()
    old = celery_app.conf.broker_url
    celery_app.conf.task_always_eager = False
    broker_is(f"redis://127.0.0.1:{server.port}/0")
    try:
        started = time.monotonic()
        response = client.post(f"/onboarding/{application.pk}/submit/")
        took = time.monotonic() - started
    finally:
        broker_is(old)
        celery_app.conf.task_always_eager = True
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_AUTHORITY and response.status_code == 302
    assert OutboxMessage.objects.filter(status=OutboxStatus.PENDING).exists()  # the sweep sends it
    assert took < 10, f"the submission's answer took {took:.0f} s (the stalled server lets go after {server.HOLD_SECONDS} s)"


@pytest.mark.parametrize("address", [
    "asha@mahaagri.gov.in", "Asha@MahaAgri.Gov.In", "person.1+tag@erased.invalid", "x@ERASED.INVALID",
    "Asha Kulkarni <asha@mahaagri.gov.in>", "Erased <x@erased.invalid>", '"Kulkarni, Asha" <asha@erased.invalid>',
    " asha@erased.invalid ", "asha@mahaagri.gov.in, x@erased.invalid", "x@erased.invalid (note)", "", "@", "no-at",
    "a@b@erased.invalid", "<x@erased.invalid>",
    # Plain addresses, read as they are: every character parsing treats alike.
    "first.last@dept.gov.in", "a_b-c+tag@erased.invalid", "x.y@erased.invalid.", "x@sub.erased.invalid",
    "o'brien@erased.invalid", "x!#$%&*/=?^`{|}~@erased.invalid", "x..y@erased.invalid", ".x@erased.invalid",
    "x@Erased.Invalid", "\u0915@erased.invalid", "x@erased.invalid\u200b",
])
def test_whether_an_address_is_mailable_is_what_parsing_it_whole_says(address):
    """A plain address is read as it is (a roster's batch asks it of thousands), any other
    form parsed whole as before: the same answer either way."""
    from email.utils import parseaddr  # noqa: PLC0415

    from portal.accounts.models import ERASED_EMAIL_DOMAIN  # noqa: PLC0415
    from portal.mail.services import is_mailable  # noqa: PLC0415

    assert is_mailable(address) == (parseaddr(address)[1].rsplit("@", 1)[-1].strip().lower() != ERASED_EMAIL_DOMAIN)


@pytest.mark.parametrize("language", ["hi", "mr"])
def test_the_outbox_says_why_a_message_was_not_sent_in_the_pages_language_and_marks_the_servers_record_english(
        language):
    """The portal's own sentence for a message given up as no longer holding was shown in
    English on a Hindi or Marathi page; a delivery record (the mail server's replies, as they
    came) stays as written, marked English for screen readers."""
    from portal.mail.services import outbox_drop, outbox_enqueue_each
    from tests.html_tree import parse
    from tests.onboarding.approval_helpers import make_superadmin, signed_in

    [dropped] = outbox_enqueue_each(subject="Subject", body="Body", to=["someone@maharashtra.gov.in"], fills={},
                                    topics=["authority_link:1"])
    assert outbox_drop(topics=["authority_link:1"]) == 1
    [refused] = outbox_enqueue_each(subject="Subject", body="Body", to=["other@maharashtra.gov.in"], fills={})
    OutboxMessage.objects.filter(pk=refused).update(status=OutboxStatus.FAILED, last_error="550 5.1.1 User unknown")
    client = signed_in(make_superadmin(email="anita.rao@nic.in"))
    client.cookies["django_language"] = language
    html = client.get(f"/portal/outbox/{dropped}/").content.decode()
    assert f'<html lang="{language}">' in html
    assert "Not sent: what it said no longer held" not in html
    assert ("इसमें कही गई बात लागू नहीं रही" if language == "hi" else "त्यात सांगितलेले लागू राहिले नाही") in html
    record = [node for node in parse(client.get(f"/portal/outbox/{refused}/").content.decode()).iter()
              if node.get("lang") == "en"]
    assert "550 5.1.1 User unknown" in [node.squashed_text() for node in record]  # (beside the language menu's "English")
