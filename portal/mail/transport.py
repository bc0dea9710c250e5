"""The SMTP transport the outbox hands its rows to (the "transport" mailer).

Django's SMTP backend drops what ``smtplib.SMTP.sendmail`` returns: the recipients
the mail server refused while it accepted at least one other (sendmail raises only
when every recipient is refused). A person the relay answered "try again later"
(4xx) would never get the message, and one it refused (5xx) would leave no trace.
This backend keeps them, for portal/mail/delivery.py to retry or record.

Each exchange with the server may take ``timeout`` seconds, so a message (connecting,
the envelope, the data and the server's answer to it) may take several times that. A
sender whose task has a time limit sets ``deadline`` (a ``time.monotonic()`` value): no
exchange then waits past it, and one that would is cut there, the connection closed
(a server whose client left before it answered the message has not delivered it to
that client's knowledge), so that a send is never still in flight when the task's soft
time limit comes (portal/mail/delivery.py).
"""

import email.policy
import functools
import smtplib
import time

from django.core.mail.backends.smtp import EmailBackend


class _Bounded:
    """An smtplib connection none of whose exchanges waits past ``deadline``."""

    def __init__(self, *args, deadline: float | None = None, **kwargs):
        self.deadline = deadline
        super().__init__(*args, **kwargs)

    def _time_left(self, timeout):
        """``timeout``, shortened to the time left before the deadline; TimeoutError when none is."""
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.close()
            raise TimeoutError("timed out: the sender's time for this batch ran out")
        return min(left, timeout) if isinstance(timeout, (int, float)) else left

    def _bound(self):
        if self.deadline is not None and self.sock is not None:
            self.sock.settimeout(self._time_left(self.timeout))

    def _get_socket(self, host, port, timeout):
        return super()._get_socket(host, port, self._time_left(timeout))

    def send(self, s):
        self._bound()
        super().send(s)

    def getreply(self):
        self._bound()
        return super().getreply()


class _BoundedSMTP(_Bounded, smtplib.SMTP):
    pass


class _BoundedSMTPSSL(_Bounded, smtplib.SMTP_SSL):
    pass


class SMTPTransport(EmailBackend):
    """Django's SMTP backend that keeps, in ``refused``, the recipients of the last
    message sent that the server refused while it took the message for others:
    ``{recipient as the message names them: (reply code, reply text)}``, empty when
    every recipient was accepted. With ``deadline`` set, no exchange with the server
    waits past it (the module's docstring)."""

    refused: dict[str, tuple[int, str]]
    deadline: float | None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.refused = {}
        self.deadline = None

    @property
    def connection_class(self):
        return functools.partial(_BoundedSMTPSSL if self.use_ssl else _BoundedSMTP, deadline=self.deadline)

    def _send(self, email_message):
        # Django's EmailBackend._send, keeping sendmail's answer.
        self.refused = {}
        if not email_message.recipients():
            return False
        from_email = self.prep_address(email_message.from_email)
        recipients = {self.prep_address(address): address for address in email_message.recipients()}
        message = email_message.message(policy=email.policy.SMTP)
        try:
            refused = self.connection.sendmail(from_email, list(recipients), message.as_bytes())
        except smtplib.SMTPException as exc:
            if isinstance(exc, smtplib.SMTPRecipientsRefused):
                # Every recipient refused: named as when only some are (portal/mail/delivery.py).
                exc.recipients = _by_address(exc.recipients, recipients)
            if not self.fail_silently:
                raise
            return False
        self.refused = _by_address(refused or {}, recipients)
        return True


def _by_address(refused: dict, recipients: dict[str, str]) -> dict[str, tuple[int, str]]:
    """sendmail's refusals keyed by the message's own addresses, each reply as text."""
    return {
        recipients.get(address, address): (code, reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply))
        for address, (code, reply) in refused.items()
    }
