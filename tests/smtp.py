"""A real SMTP server on loopback (aiosmtpd), for tests of the mail path.

Ask for the ``smtp_server`` fixture (tests/conftest.py makes it available to
every test module):

    def test_x(smtp_server): ...

The fixture starts a server on a port of 127.0.0.1 that the system chose for
it (bound before the server starts, so that parallel test workers never race
for one) and points the ``transport`` mailer (the one the outbox hands messages
to) at it with the portal's SMTP transport (portal/mail/transport.py).
``smtp_server.messages`` holds every
message received, parsed (``email.message.EmailMessage``), ``asked`` every recipient a
client named (RCPT TO), taken or not, ``refused`` the recipients it answers
"550 5.1.1 User unknown" for, ``answers`` those it answers as it says (``{address: reply}``:
"552 5.2.2 Mailbox full", "554 5.7.1 Relay access denied"), ``deferred`` those it answers
"450 try again later" for
(a relay whose queue is full, a greylisting one), ``slow`` those whose message it answers
``answer_after`` seconds after the data ends (a relay that is slow to take a message: it takes
it only if the client is still there to hear its answer), and ``connections()``
how many connections they came over; ``stop()`` takes the server down (connections
are then refused) and ``start()`` brings it back on the same port, which a stopped
server keeps (bound, not listening) so that the system gives it to no other test
worker's server meanwhile; ``close()`` stops it and gives the port back.
``SmtpServer.running`` lists the servers started and not stopped.
"""

import asyncio
import email
import socket
import threading
import time
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from portal.mail.transport import SMTPTransport


class _BoundController(Controller):
    """aiosmtpd's controller, serving on a socket the caller has already bound."""

    def __init__(self, handler, sock):
        self._sock = sock
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.server.asked.append(address)
        if address in self.server.answers:
            return self.server.answers[address]
        if address in self.server.refused:  # as a relay answers for a mailbox that does not exist
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address in self.server.deferred:  # as a relay answers that cannot take it now
            return f"450 4.2.0 <{address}>: Recipient address rejected: Try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.server.slow.intersection(envelope.rcpt_tos):
            await asyncio.sleep(self.server.answer_after)  # cancelled (nothing taken) if the client leaves
        self.server._received(envelope, session)
        return "250 Message accepted for delivery"


class SmtpServer:
    running = []  # the servers started and not stopped (tests/onboarding/approval_helpers.py reads sent mail there)

    def __init__(self, host="127.0.0.1", port=0):
        self.host = host
        self.port = port  # 0: the system chooses one on the first start()
        self.messages = []
        self.envelopes = []
        self.asked = []  # every recipient named in a RCPT TO, in order, taken or not
        self.refused = set()  # recipients answered "550 5.1.1 User unknown"
        self.answers = {}  # recipients answered with a reply of the test's: {address: "554 5.7.1 ..."}
        self.deferred = set()  # recipients answered "450 Try again later"
        self.slow = set()  # recipients whose message is answered (and taken) answer_after seconds late
        self.answer_after = 0.0
        self.sessions = 0  # connections that delivered messages
        self._lock = threading.Lock()
        self._controller = None
        self._held = None  # a stopped server's port: bound, never listening (connections refused)

    def _received(self, envelope, session=None):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self._lock:
            self.envelopes.append(envelope)
            self.messages.append(message)
            if session is not None and not getattr(session, "counted_by_tests", False):
                session.counted_by_tests = True  # aiosmtpd keeps one session object per connection
                self.sessions += 1

    def connections(self):
        """How many connections the messages received so far came over."""
        with self._lock:
            return self.sessions

    def start(self):
        if self._controller is None:
            sock, self._held = self._held or self._bound(), None
            self.port = sock.getsockname()[1]
            controller = _BoundController(_Handler(self), sock)
            controller.start()
            self._controller = controller
            SmtpServer.running.append(self)
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            SmtpServer.running.remove(self)
            self._held = self._bound()

    def close(self):
        self.stop()
        if self._held is not None:
            self._held.close()
            self._held = None

    def _bound(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        return sock

    def mailer_settings(self, timeout=5):
        """A MAILERS entry that sends to this server with the portal's SMTP transport (portal/mail/transport.py)."""
        return {
            "BACKEND": "portal.mail.transport.SMTPTransport",
            "OPTIONS": {"host": self.host, "port": self.port, "timeout": timeout},
        }

    def message_ids(self):
        with self._lock:
            return [message["Message-ID"] for message in self.messages]


@pytest.fixture
def smtp_server(settings):
    """A running SMTP server on loopback; the outbox's transport mailer points at it."""
    server = SmtpServer().start()
    settings.MAILERS = {**settings.MAILERS, "transport": server.mailer_settings()}
    try:
        yield server
    finally:
        server.close()


def text_of(message):
    """The plain-text body of a delivered message, with its line ends as written (``\n``)."""
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


class GatedSMTPBackend(SMTPTransport):
    """An SMTP transport that stops before sending until a sentinel file appears.

    For tests of a worker that dies between taking a message and sending it: the
    worker writes the file ``reached`` (holding the Message-IDs it is about to send)
    and waits for the file ``release``; the test kills it meanwhile. Configured
    through MAILERS OPTIONS: host, port, timeout, reached, release (paths)."""

    def __init__(self, *, reached, release, **options):
        super().__init__(**options)
        self.reached, self.release = Path(reached), Path(release)

    def send_messages(self, email_messages):
        # Written whole, then renamed: the test waits for the file to exist and reads it at once.
        partial = self.reached.with_name(self.reached.name + ".partial")
        partial.write_text(",".join(str(m.extra_headers.get("Message-ID", "")) for m in email_messages))
        partial.replace(self.reached)
        deadline = time.monotonic() + 120
        while not self.release.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the gate was never released")
            time.sleep(0.02)
        return super().send_messages(email_messages)
