"""The SMTP transport the outbox hands its rows to (the "transport" mailer).

Django's SMTP backend drops what ``smtplib.SMTP.sendmail`` returns: the recipients
the mail server refused while it accepted at least one other (sendmail raises only
when every recipient is refused). A person the relay answered "try again later"
(4xx) would never get the message, and one it refused (5xx) would leave no trace.
This backend keeps them, for portal/mail/delivery.py to retry or record.
"""

import email.policy
import smtplib

from django.core.mail.backends.smtp import EmailBackend


class SMTPTransport(EmailBackend):
    """Django's SMTP backend that keeps, in ``refused``, the recipients of the last
    message sent that the server refused while it took the message for others:
    ``{recipient as the message names them: (reply code, reply text)}``, empty when
    every recipient was accepted."""

    refused: dict[str, tuple[int, str]]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.refused = {}

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
