"""How the outbox talks to the mail server (portal/mail/delivery.py):

- no lock and no transaction are held while the server is talked to: with a server
  that accepts the connection and never answers, a section save and an outbox
  enqueue + commit return at once (and on SQLite nothing is "database is locked");
- a batch of messages goes out over one SMTP connection, whether queued together
  or swept;
- no exchange with the server outlasts the sending task's budget, which ends before its soft
  time limit: a message the server is slow to take is never left in flight when the limit
  comes, to be sent again as if it had never been tried;
- a row another live sender holds is left to it until its lease ends; a row whose
  sender died is taken over at once;
- every subject and header decodes, from the bytes the server received, to exactly
  the text written (long English + Hindi and Marathi subjects included);
- once sent, the stored copy keeps no link that still works;
- the mail a person waits for (a sign-up code) goes before mass mail written earlier (a
  roster's invitations, their retries): in the senders' claim and in the broker's queues.
"""

import email
import secrets
import signal
import socket
import socketserver
import threading
from contextlib import contextmanager
from datetime import timedelta
from email import policy

import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, mailers, send_mail
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from onboarding.application import services as application_services
from portal.celery import app as celery_app
from portal.mail.delivery import BATCH_SIZE, SEND_BUDGET_SECONDS, outbox_deliver, outbox_deliver_due, outbox_deliver_many
from portal.mail.models import OutboxMessage, OutboxPriority, OutboxStatus, with_priority
from portal.mail.services import outbox_enqueue_each
from portal.mail.tasks import outbox_send_batch, outbox_sweep
from tests.factories import PASSWORD, UserFactory
from tests.onboarding.approval_helpers import (  # noqa: F401 (fixture)
    AUTHORITY_EMAIL,
    LINK_RE,
    TRANSACTIONAL,
    as_querydict,
    make_superadmin,
    official_email_rules,
    second_factor_given,
    submitted_application,
)
from tests.onboarding_data import VALID
from tests.smtp import text_of


def sweep():
    """The periodic sweep, the real task code (run in-process by the eager test setting)."""
    return outbox_sweep.delay().get()


class SilentSmtpServer:
    """A mail server that accepts the TCP connection and never says a word."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.connections = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _peer = self.sock.accept()
            except TimeoutError:
                continue
            self.connections.append(conn)  # kept open, never answered
            self.accepted.set()

    def mailer_settings(self, timeout):
        return {"BACKEND": "portal.mail.transport.SMTPTransport",
                "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": timeout}}

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent_smtp(settings):
    server = SilentSmtpServer()
    settings.MAILERS = {**settings.MAILERS, "transport": server.mailer_settings(timeout=4)}
    yield server
    server.stop()


@pytest.fixture
def broker_without_workers():
    """Tasks go to the (in-memory) broker and wait there, as in production when no worker
    is free: the request that queued mail does not run its delivery itself."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


# No lock while talking to the mail server ------------------------------------------------

@TRANSACTIONAL
@pytest.mark.usefixtures("official_email_rules")
def test_a_save_never_waits_for_a_mail_server_that_does_not_answer(silent_smtp, broker_without_workers):
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in")
    application = application_services.application_create(actor=officer)
    send_mail("Application received", "It was received.", None, ["nodal.officer@mahaagri.gov.in"])
    stuck_row = OutboxMessage.objects.get()

    def deliver():
        try:
            outbox_deliver(outbox_id=stuck_row.pk)
        finally:
            connection.close()

    sender = threading.Thread(target=deliver)
    sender.start()
    try:
        assert silent_smtp.accepted.wait(5), "the sender never reached the mail server"

        # While the sender waits for the mail server: a section save, and mail queued by a
        # transaction that commits, are both done before the sender's wait ends.
        application_services.application_save_section(
            application_id=application.pk, section="organisation", querydict=as_querydict(VALID["organisation"]),
            actor=officer,
        )
        with transaction.atomic():
            send_mail("Section saved", "Body", None, ["nodal.officer@mahaagri.gov.in"])
        assert sender.is_alive(), "the save or the queueing waited for the sender"

        # The row being sent is not locked, but claimed (committed, visible to all).
        if connection.vendor == "postgresql":
            with transaction.atomic():
                assert OutboxMessage.objects.select_for_update(nowait=True).filter(pk=stuck_row.pk).exists()
        stuck_row.refresh_from_db()
        assert stuck_row.status == OutboxStatus.SENDING and stuck_row.claimed_at is not None
    finally:
        sender.join(timeout=15)
    assert not sender.is_alive()

    # The mail server timed out: the attempt is recorded and the row waits for the next one.
    stuck_row.refresh_from_db()
    assert stuck_row.status == OutboxStatus.PENDING and stuck_row.attempts == 1
    assert "timed out" in stuck_row.last_error and stuck_row.claim_key is None
    assert OutboxMessage.objects.filter(subject="Section saved", status=OutboxStatus.PENDING).exists()


# One connection per batch ----------------------------------------------------------------

@pytest.mark.django_db
def test_a_batch_goes_out_over_one_smtp_connection(smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        mailers.default.send_messages(
            [EmailMessage(f"Reminder {i}", "Please decide.", to=[f"authority{i}@dept.gov.in"]) for i in range(30)]
        )
    assert OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 30
    assert len(smtp_server.messages) == 30
    assert smtp_server.connections() == 1

    # Messages the sweep finds due also go out together.
    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        mailers.default.send_messages(
            [EmailMessage(f"Escalation {i}", "Overdue.", to=[f"state{i}@dept.gov.in"]) for i in range(25)]
        )
    waiting = OutboxMessage.objects.filter(status=OutboxStatus.PENDING)
    assert waiting.count() == 25 and all(row.attempts == 1 for row in waiting)
    smtp_server.start()
    due = max(row.next_attempt_at for row in waiting)
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        assert sweep() == 25
        assert sweep() == 0
    assert len(smtp_server.messages) == 55
    assert smtp_server.connections() == 2


# The task's time limit ---------------------------------------------------------------------

@contextmanager
def soft_time_limit(seconds):
    """What Celery's worker does at a task's soft time limit: SoftTimeLimitExceeded raised in
    the task, wherever it is (a signal handler, as billiard's)."""
    def reached(signum, frame):
        raise SoftTimeLimitExceeded()

    previous = signal.signal(signal.SIGALRM, reached)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.django_db
def test_a_message_the_server_is_slow_to_take_is_not_in_flight_at_the_soft_time_limit(smtp_server, settings):
    """The batch task stops starting sends 10 seconds before its soft time limit, but each
    exchange with the server may take EMAIL_TIMEOUT (20) seconds: a send started just before
    the budget ran out was still waiting for the server's answer to the message when the limit
    came. The server took the message, the row went back to PENDING as never tried, and the
    sweep sent it again. Here, scaled down: a budget of 1 second, the limit at 1.5, each
    exchange allowed 2. Now no exchange waits past the budget: the send is cut there (the
    server, whose client left before its answer, takes nothing) and recorded as an attempt
    that timed out, and the message is sent once, later."""
    assert outbox_send_batch.soft_time_limit - SEND_BUDGET_SECONDS < settings.EMAIL_TIMEOUT_ENV
    settings.MAILERS = {**settings.MAILERS, "transport": smtp_server.mailer_settings(timeout=2)}
    smtp_server.slow, smtp_server.answer_after = {"slow@mha.gov.in"}, 2.5
    with transaction.atomic():  # queued, not sent (no commit)
        send_mail("Fast", "Body", None, ["fast@mha.gov.in"])
        send_mail("Slow", "Body", None, ["slow@mha.gov.in"])
    fast, slow = OutboxMessage.objects.get(subject="Fast"), OutboxMessage.objects.get(subject="Slow")
    interrupted, outcomes = False, {}
    with soft_time_limit(1.5):
        try:
            outcomes = outbox_deliver_many(outbox_ids=[fast.pk, slow.pk], budget=1.0)
        except SoftTimeLimitExceeded:
            interrupted = True
    slow.refresh_from_db()
    smtp_server.slow = set()  # the server quick again
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        sweep()
    assert smtp_server.message_ids().count(slow.message_id) == 1  # not twice
    assert smtp_server.message_ids().count(fast.message_id) == 1
    assert not interrupted and outcomes == {fast.pk: OutboxStatus.SENT, slow.pk: OutboxStatus.PENDING}
    assert slow.status == OutboxStatus.PENDING and slow.attempts == 1 and "timed out" in slow.last_error
    assert slow.claim_key is None and slow.next_attempt_at > timezone.now()


# Claims ------------------------------------------------------------------------------------

def _claimed_row(key, until):
    now = timezone.now()
    return OutboxMessage.objects.create(
        message_id=f"<{secrets.token_hex(16)}@sandes.gov.in>", subject="Claimed", from_email=settings.DEFAULT_FROM_EMAIL,
        to=["a@mha.gov.in"], body="Body", status=OutboxStatus.SENDING, claim_key=key, claimed_at=now,
        claimed_until=until, next_attempt_at=now,
    )


@pytest.fixture
def live_sender():
    """Another sender, alive, holding its claim's lock (in a thread, on its own connection)."""
    from portal.mail.claims import ClaimLock

    taken, done = threading.Event(), threading.Event()
    holder = {}

    def hold():
        try:
            holder["lock"] = ClaimLock.take()
            taken.set()
            done.wait(30)
            holder["lock"].release()
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(10)
    yield holder["lock"].key
    done.set()
    thread.join(10)


@pytest.mark.django_db
def test_a_row_a_live_sender_holds_is_left_to_it_until_its_lease_ends(smtp_server, live_sender):
    row = _claimed_row(live_sender, until=timezone.now() + timedelta(minutes=10))
    assert sweep() == 0
    assert outbox_deliver(outbox_id=row.pk, wait=0.5) == OutboxStatus.SENDING
    assert smtp_server.messages == []
    with time_machine.travel(row.claimed_until + timedelta(seconds=1), tick=False):
        assert sweep() == 1
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT and row.attempts == 1
    assert smtp_server.message_ids() == [row.message_id]


@pytest.mark.django_db
def test_a_row_whose_sender_died_is_taken_over_at_once(smtp_server):
    from portal.mail.claims import ClaimLock

    lock = ClaimLock.take()
    lock.release()  # its sender is gone
    row = _claimed_row(lock.key, until=timezone.now() + timedelta(minutes=10))
    assert sweep() == 1
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT and row.claim_key is None
    assert sweep() == 0
    assert smtp_server.message_ids() == [row.message_id]


@pytest.mark.django_db
def test_the_outbox_page_shows_a_message_being_sent(smtp_server, live_sender):
    row = _claimed_row(live_sender, until=timezone.now() + timedelta(minutes=10))
    root = make_superadmin(email="root@sandes.nic.in")
    client = Client()
    client.login(email=root.email, password=PASSWORD)
    second_factor_given(client, root)
    listing = client.get("/portal/outbox/?status=sending").content.decode()
    assert "Being sent (since " in listing and "Claimed" in listing
    page = client.get(f"/portal/outbox/{row.pk}/").content.decode()
    assert "Being sent" in page and "If that worker stops, another sends it" in page
    assert "Try sending again" not in page


# Headers that decode exactly --------------------------------------------------------------

SUBJECTS = [
    # DESIGN §9: broken by CPython's folding under the default policy.
    "Your decision on application ONB-2026-000042 was recorded / आवेदन ONB-2026-000042 पर आपका निर्णय दर्ज किया गया",
    "New application in your approval queue: ONB-2026-000042 — Directorate of Agriculture, Government of Maharashtra"
    " / आपकी अनुमोदन कतार में नया आवेदन: ONB-2026-000042 — कृषि संचालनालय, महाराष्ट्र शासन",
    "तुमचा अर्ज ONB-2026-000042 सक्षम प्राधिकाऱ्याकडे निर्णयासाठी पाठवला आहे / Your application ONB-2026-000042"
    " was sent to the competent authority for a decision",
    # As long as a subject may be (500 characters), Devanagari and ASCII mixed: longer than a line once encoded.
    (" ".join(["प्राधिकाऱ्याकडे", "application", "ONB-2026-000042", "निर्णय", "क्षेत्रीय"] * 30))[:500],
    # Long ASCII words, an encoded-word lookalike, doubled spaces.
    ("x" * 77 + " ") * 5 + "end",
    "Re:  =?utf-8?b?notreal?=  and  spaces",
]


@pytest.mark.django_db
def test_long_bilingual_subjects_decode_exactly_from_the_bytes_received(smtp_server, django_capture_on_commit_callbacks):
    sender = "संदेश ऑनबोर्डिंग पोर्टल <noreply-onboarding@sandes.gov.in>"
    with django_capture_on_commit_callbacks(execute=True):
        mailers.default.send_messages([
            EmailMessage(subject, "Body", from_email=sender, to=["authority@dept.gov.in"],
                         reply_to=["नोडल अधिकारी <nodal.officer@mahaagri.gov.in>"],
                         headers={"X-Application": f"ONB-2026-00004{i} कृषि संचालनालय, महाराष्ट्र शासन"})
            for i, subject in enumerate(SUBJECTS)
        ])
    assert len(smtp_server.envelopes) == len(SUBJECTS)
    received = {}
    for envelope in smtp_server.envelopes:
        raw = envelope.original_content
        assert max(len(line) for line in raw.split(b"\r\n")) <= 998
        message = email.message_from_bytes(raw, policy=policy.default)
        received[str(message["Subject"])] = message
    assert sorted(received) == sorted(SUBJECTS)
    for i, subject in enumerate(SUBJECTS):
        message = received[subject]
        assert message["From"].addresses[0].display_name == "संदेश ऑनबोर्डिंग पोर्टल"
        assert message["Reply-To"].addresses[0].display_name == "नोडल अधिकारी"
        assert str(message["X-Application"]) == f"ONB-2026-00004{i} कृषि संचालनालय, महाराष्ट्र शासन"


# No working link kept after sending ------------------------------------------------------------

@pytest.mark.django_db
def test_a_sent_message_keeps_no_working_link(smtp_server, django_capture_on_commit_callbacks):
    token = secrets.token_urlsafe(32)
    link = f"{settings.SITE_URL}/onboarding/review/{token}/"
    message = EmailMultiAlternatives("Decision needed", f"Open this link to decide:\n{link}\n\nThank you.",
                                     to=["authority@dept.gov.in"])
    message.attach_alternative(f'<p>Open <a href="{link}">{link}</a> to decide.</p>', "text/html")
    with django_capture_on_commit_callbacks(execute=True):
        message.send()
    row = OutboxMessage.objects.get()
    assert row.status == OutboxStatus.SENT
    stored = str(OutboxMessage.objects.filter(pk=row.pk).values().get())
    assert token not in stored
    assert row.body == "Open this link to decide:\n[link removed after sending]\n\nThank you."
    assert row.html_body == ('<p>Open <a href="[link removed after sending]">[link removed after sending]</a>'
                             " to decide.</p>")
    # What the authority received works.
    assert link in text_of(smtp_server.messages[0])

    root = make_superadmin(email="root@sandes.nic.in")
    client = Client()
    client.login(email=root.email, password=PASSWORD)
    second_factor_given(client, root)
    page = client.get(f"/portal/outbox/{row.pk}/").content.decode()
    assert "were removed from this copy once it was sent" in page and token not in page


@pytest.mark.django_db
def test_a_message_given_up_keeps_no_working_link(smtp_server, settings, django_capture_on_commit_callbacks):
    """A message given up kept its competent authority's link, a key that still worked, until
    the outbox removed it 90 days later. It now loses it as a sent one does: the one refused
    for good and the part of one refused for some recipients; the copy that is still to go
    to the recipients who answered "later" keeps it."""
    settings.OUTBOX_MAX_ATTEMPTS = 1
    smtp_server.refused = {"gone@dept.gov.in", "left@dept.gov.in"}
    smtp_server.deferred = {"busy@dept.gov.in"}
    token = secrets.token_urlsafe(32)
    link = f"{settings.SITE_URL}/onboarding/review/{token}/"
    with django_capture_on_commit_callbacks(execute=True):
        for subject, to in (("Refused", ["gone@dept.gov.in"]), ("Split", ["left@dept.gov.in", "busy@dept.gov.in"])):
            message = EmailMultiAlternatives(subject, f"Open this link to decide:\n{link}\n\nThank you.", to=to)
            message.attach_alternative(f'<p>Open <a href="{link}">{link}</a> to decide.</p>', "text/html")
            message.send()
    refused, split = OutboxMessage.objects.get(subject="Refused"), OutboxMessage.objects.get(subject="Split", to=["left@dept.gov.in"])
    assert (refused.status, split.status) == (OutboxStatus.FAILED, OutboxStatus.FAILED)
    for row in (refused, split):
        assert token not in str(OutboxMessage.objects.filter(pk=row.pk).values().get())
        assert row.body == "Open this link to decide:\n[link removed after sending]\n\nThank you." and row.links_removed
    retry = OutboxMessage.objects.get(status=OutboxStatus.PENDING)
    assert retry.to == ["busy@dept.gov.in"] and link in retry.body

    root = make_superadmin(email="root@sandes.nic.in")
    client = Client()
    client.login(email=root.email, password=PASSWORD)
    second_factor_given(client, root)
    page = client.get(f"/portal/outbox/{refused.pk}/").content.decode()
    assert "were removed from this copy when it was given up" in page and "Try sending again" in page
    assert token not in page


@pytest.mark.django_db
def test_the_authority_email_keeps_its_link_until_sent_and_none_after(officer, smtp_server):
    submitted_application(officer)  # mail queued, not yet sent (no commit in this test)
    [request] = [row for row in OutboxMessage.objects.all() if AUTHORITY_EMAIL in row.to]
    path, token = LINK_RE.search(request.body).group(1), LINK_RE.search(request.body).group(2)
    smtp_server.stop()
    sweep()  # the mail server is down: the row must keep its link for the next attempt
    request.refresh_from_db()
    assert request.status == OutboxStatus.PENDING and token in request.body
    smtp_server.start()
    with time_machine.travel(request.next_attempt_at + timedelta(seconds=1), tick=False):
        sweep()
    request.refresh_from_db()
    assert request.status == OutboxStatus.SENT
    assert token not in request.body and "[link removed after sending]" in request.body
    delivered = [m for m in smtp_server.messages if m["Message-ID"] == request.message_id]
    assert LINK_RE.search(text_of(delivered[0])).group(2) == token
    # The link the authority received still works.
    assert Client().get(path, follow=True).status_code == 200


class _RefusingLogin(socketserver.StreamRequestHandler):
    """An SMTP relay that offers AUTH and answers every login with 535, as Postfix does
    for a wrong or expired password."""

    def handle(self):
        self.wfile.write(b"220 relay.test ESMTP\r\n")
        for line in self.rfile:
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-relay.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
            elif verb == b"AUTH":
                self.wfile.write(b"535 5.7.8 Error: authentication failed: authentication failure\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 2.0.0 Bye\r\n")
                return
            else:
                self.wfile.write(b"530 5.7.0 Authentication required\r\n")


@pytest.fixture
def relay_refusing_the_portals_login(settings):
    """A relay that asks the portal to log in and refuses its user name and password: the
    relay's account password expired or was rotated, or the relay's own directory is down.
    The portal's transport points at it."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _RefusingLogin)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.MAILERS = {**settings.MAILERS, "transport": {
        "BACKEND": "portal.mail.transport.SMTPTransport",
        "OPTIONS": {"host": "127.0.0.1", "port": server.server_address[1], "timeout": 5,
                    "username": "portal", "password": "expired"}}}
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_mail_waits_as_in_an_outage_while_the_relay_refuses_the_portals_own_login(
        relay_refusing_the_portals_login, django_capture_on_commit_callbacks, settings):
    """The relay refuses the portal's credentials, for every message alike: that is an outage
    of the relay for the portal (its administrator fixes the password), not a refusal of
    this message by its recipient. The message should wait as in any outage
    (OUTBOX_GIVE_UP_HOURS, 72), not be given up after 8 "refusals", some four hours,
    its link removed, every message of those hours with it, for a superadmin to queue one
    by one."""
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Approval needed", "Open https://portal.test/onboarding/review/abc/ to decide.", None,
                  ["authority@mahaagri.gov.in"])
    row = OutboxMessage.objects.get()
    first_failure = timezone.now()
    assert row.attempts == 1 and "535" in row.last_error
    while row.status == OutboxStatus.PENDING and row.next_attempt_at < first_failure + timedelta(hours=12):
        tried_at = row.next_attempt_at + timedelta(seconds=1)
        with time_machine.travel(tried_at, tick=False):
            outbox_sweep.delay().get()
        row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING, (
        f"given up {tried_at - first_failure} after the first failure, at attempt {row.attempts}: {row.last_error}")
    assert settings.OUTBOX_GIVE_UP_HOURS > 12



# Priority -----------------------------------------------------------------------------------

def tasks_as_a_worker_takes_them():
    """The outbox ids of each task waiting in the broker (a list a task), in the order a worker consuming
    every queue the portal declares takes them (one at a time: a prefetch of 1)."""
    from kombu import Consumer

    taken = []
    with celery_app.connection_for_read() as connection_:
        consumer = Consumer(connection_.default_channel, queues=list(celery_app.amqp.queues.values()),
                            accept=["json"], prefetch_count=1,
                            callbacks=[lambda body, message: (taken.append(body[0][0]), message.ack())])
        with consumer:
            while True:
                try:
                    connection_.drain_events(timeout=0.2)
                except TimeoutError:
                    return taken


@pytest.mark.django_db
def test_a_sign_up_code_leaves_before_a_rosters_invitations_queued_before_it(
        mailoutbox, broker_without_workers, django_capture_on_commit_callbacks):
    """An organisation admin's roster (up to 100,000 invitations) queued a moment before does
    not make a sign-up code, whose code expires after 15 minutes, wait behind all of it: a
    worker takes its task after at most one batch of the roster's, and a sender that finds
    both due sends the code first."""
    invitees = [f"person{i}@pune.gov.in" for i in range(450)]
    with django_capture_on_commit_callbacks(execute=True):
        outbox_enqueue_each(subject="Collectorate Pune invites you to Sandes", body="Dear NAME, LINK", to=invitees,
                            fills={"NAME": [f"Person {i}" for i in range(450)], "LINK": ["https://x/"] * 450})
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/accounts/signup/", {"email": "new.joiner@mha.gov.in",
                                                       "password1": "a-long-enough-passphrase",
                                                       "password2": "a-long-enough-passphrase"})
    assert response.status_code == 302
    code = OutboxMessage.objects.get(to=["new.joiner@mha.gov.in"])
    assert code.priority == OutboxPriority.URGENT
    assert set(OutboxMessage.objects.exclude(pk=code.pk).values_list("priority", flat=True)) == {OutboxPriority.BULK}

    tasks = tasks_as_a_worker_takes_them()
    assert sorted(map(len, tasks)) == [1, 50, 200, 200]  # the roster's three batches, the code's own
    position = tasks.index([code.pk])
    assert position <= 1, f"the code's task was taken after {position} of the roster's"

    outbox_deliver_due(batch=BATCH_SIZE)
    order = [message.to[0] for message in mailoutbox]
    assert len(order) == 451
    assert order.index("new.joiner@mha.gov.in") == 0


@pytest.mark.django_db
def test_senders_take_urgent_then_other_then_mass_mail_each_oldest_due_first(mailoutbox):
    """Retries of a roster's dead addresses, due since an hour, come after mail written now;
    within one priority the oldest due goes first, as before."""
    outbox_enqueue_each(subject="Invitation", body="Hello NAME", to=["retry1@pune.gov.in", "retry2@pune.gov.in"],
                        fills={"NAME": ["One", "Two"]})
    OutboxMessage.objects.update(attempts=2, refusals=2, next_attempt_at=timezone.now() - timedelta(hours=1))
    send_mail("Reminder", "Please decide.", None, ["officer@dept.gov.in"])
    for address in ("joiner@mha.gov.in", "second@mha.gov.in"):
        with_priority(EmailMessage("Your code", "123456", to=[address]), OutboxPriority.URGENT).send()
    assert outbox_deliver_due(batch=1) == 5
    assert [message.to[0] for message in mailoutbox] == [
        "joiner@mha.gov.in", "second@mha.gov.in", "officer@dept.gov.in", "retry1@pune.gov.in", "retry2@pune.gov.in"]


@pytest.mark.django_db
def test_the_same_message_to_each_address_needs_no_marker_to_fill():
    """A message the same for everyone (no marker of a person's own value) is stored for each
    address as one with markers is."""
    ids = outbox_enqueue_each(subject="Notice", body="The portal is down for maintenance tonight.",
                              to=["one@pune.gov.in", "two@pune.gov.in"], fills={})
    rows = OutboxMessage.objects.filter(pk__in=ids).order_by("pk")
    assert [(row.to, row.body) for row in rows] == [
        (["one@pune.gov.in"], "The portal is down for maintenance tonight."),
        (["two@pune.gov.in"], "The portal is down for maintenance tonight.")]
