"""A real SMTP server on loopback (aiosmtpd), for tests of the mail path.

Use the ``smtp_server`` fixture (import it into the test module or a conftest):

    from tests.smtp import smtp_server  # noqa: F401

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
from email import policy

import pytest
from aiosmtpd.controller import Controller


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

    @property
    def running(self):
        return self._controller is not None

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

    def clear(self):
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()

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
