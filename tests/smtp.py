"""A real SMTP server on loopback (aiosmtpd), for tests of the mail path.

Ask for the ``smtp_server`` fixture (tests/conftest.py makes it available to
every test module):

    def test_x(smtp_server): ...

The fixture starts a server on a free port of 127.0.0.1 and points the
``transport`` mailer (the one the outbox hands messages to) at it with Django's
SMTP backend. ``smtp_server.messages`` holds every message received, parsed
(``email.message.EmailMessage``); ``stop()`` takes the server down (connections
are then refused) and ``start()`` brings it back on the same port.
"""

import email
import socket
import threading
import time
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.core.mail.backends.smtp import EmailBackend as SMTPEmailBackend


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_DATA(self, server, session, envelope):
        self.server._received(envelope)
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, host="127.0.0.1", port=None):
        self.host = host
        self.port = port or free_port(host)
        self.messages = []
        self.envelopes = []
        self._lock = threading.Lock()
        self._controller = None

    def _received(self, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self._lock:
            self.envelopes.append(envelope)
            self.messages.append(message)

    def start(self):
        if self._controller is None:
            controller = Controller(_Handler(self), hostname=self.host, port=self.port)
            controller.start()
            self._controller = controller
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def mailer_settings(self, timeout=5):
        """A MAILERS entry that sends to this server with Django's SMTP backend."""
        return {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
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
        server.stop()


def text_of(message):
    """The plain-text body of a delivered message, with its line ends as written (``\n``)."""
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


class GatedSMTPBackend(SMTPEmailBackend):
    """An SMTP transport that stops before sending until a sentinel file appears.

    For tests of a worker that dies between taking a message and sending it: the
    worker writes the file ``reached`` (holding the Message-IDs it is about to send)
    and waits for the file ``release``; the test kills it meanwhile. Configured
    through MAILERS OPTIONS: host, port, timeout, reached, release (paths)."""

    def __init__(self, *, reached, release, **options):
        super().__init__(**options)
        self.reached, self.release = Path(reached), Path(release)

    def send_messages(self, email_messages):
        self.reached.write_text(",".join(str(m.extra_headers.get("Message-ID", "")) for m in email_messages))
        deadline = time.monotonic() + 120
        while not self.release.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the gate was never released")
            time.sleep(0.02)
        return super().send_messages(email_messages)
