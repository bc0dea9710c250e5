"""The email backend every part of the portal (allauth included) sends through.

It does not send: it writes each message to the outbox table inside the
caller's transaction and asks Celery to deliver it once that transaction
commits. The real transport is the "transport" mailer.
"""

from django.core.mail.backends.base import BaseEmailBackend

from portal.mail.services import outbox_enqueue


class OutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        messages = [message for message in email_messages if message.recipients()]
        if messages:
            outbox_enqueue(messages=messages)
        return len(messages)
