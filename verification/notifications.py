"""The verification emails: rendered from ``templates/verification/email/``, in the
language the person chose on their account (the one they last chose signed in), else the
one they asked in (stored on their request), as every mail to a person is
(portal.organisations.notifications.person_language), and sent through the
default mailer (the outbox), so that each is written in the transaction of the
decision it reports. Depends on no service."""

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.template.loader import render_to_string
from django.utils import translation

from portal.mail.models import OutboxPriority, with_priority

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def mail_language(language: str | None) -> str:
    """A language the portal has (the one asked in, else the default)."""
    return language if language in LANGUAGE_CODES else settings.LANGUAGE_CODE


def build_decision_mail(*, profile, template: str, context: dict | None = None, to: str | None = None) -> EmailMessage:
    """The email telling ``profile``'s person about a decision, not yet sent: to their
    account's address, or to ``to`` (the yearly confirmation goes to the official one). The
    confirmation names how often it comes (``reconfirm_days``, VERIFICATION_RECONFIRM_DAYS)."""
    context = {"site_url": settings.SITE_URL, "reconfirm_days": settings.VERIFICATION_RECONFIRM_DAYS,
               "profile": profile, "organisation": profile.organisation, **(context or {})}
    with translation.override(mail_language(profile.user.language or profile.request_language)):
        subject = " ".join(render_to_string(f"verification/email/{template}_subject.txt", context).split())
        body = render_to_string(f"verification/email/{template}.txt", context).strip() + "\n"
    return EmailMessage(subject=subject, body=body, to=[to or profile.user.email])


def send_decision_mail(*, profile, template: str, context: dict | None = None) -> EmailMessage:
    message = build_decision_mail(profile=profile, template=template, context=context)
    message.send()
    return message


def send_many(messages: list[EmailMessage]) -> int:
    """Several emails into the outbox with one INSERT (the beat jobs' batches: mass mail,
    OutboxPriority.BULK, sent after any other)."""
    messages = [with_priority(message, OutboxPriority.BULK) for message in messages]
    if messages:
        mailers.default.send_messages(messages)
    return len(messages)
