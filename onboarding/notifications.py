"""The onboarding emails: rendered from templates, in English and then the
application's second language (mail_languages: Marathi for Maharashtra, Hindi
elsewhere). Depends on no service; the services call it inside their transaction.

Every email is built here and sent through the default mailer (the outbox), so it
is written in the caller's transaction.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.template.loader import render_to_string
from django.utils import translation

from portal.mail.models import OutboxPriority, with_priority, with_topic

# Jurisdictions whose offices work in a language of their own: it replaces Hindi
# as the second language of their onboarding mail.
SECOND_LANGUAGE = {"MH": "mr"}


def mail_languages(application):
    """The languages of an application's onboarding mail, in order: English first,
    then Marathi when its jurisdiction is Maharashtra, Hindi otherwise."""
    return ("en", SECOND_LANGUAGE.get(application.jurisdiction, "hi"))


def recipient_languages(known, applications):
    """The languages of a mail to one person about ``applications`` (a decider's list of
    the steps waiting on them), in order: English first, then the person's own language
    when the portal knows one (``people_known_languages``) other than English; else the
    second language the applications share (mail_languages), Hindi when they share none."""
    if known and known != "en":
        return ("en", known)
    seconds = {mail_languages(application)[1] for application in applications}
    return ("en", seconds.pop() if len(seconds) == 1 else "hi")


def build_bilingual(*, to, template, context=None, reply_to=None, attachments=(), languages=None):
    """An email from ``onboarding/email/<template>.txt`` and ``<template>_subject.txt``,
    rendered in English and in the second language of the context's application
    (mail_languages), or in ``languages`` (recipient_languages), not yet sent."""
    context = {"site_url": settings.SITE_URL, **(context or {})}
    subjects, bodies = [], []
    for language in languages or mail_languages(context["application"]):
        with translation.override(language):
            subject = " ".join(render_to_string(f"onboarding/email/{template}_subject.txt", context).split())
            body = render_to_string(f"onboarding/email/{template}.txt", context).strip()
        if subject not in subjects:
            subjects.append(subject)
        bodies.append(body)
    message = EmailMultiAlternatives(
        subject=" / ".join(subjects),
        body=f"{bodies[0]}\n\n----------\n\n{bodies[1]}\n",
        to=list(to),
        reply_to=list(reply_to or []),
    )
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    return message


def send_bilingual(*, priority=OutboxPriority.NORMAL, topic="", **kwargs):
    """Build (build_bilingual) and send through the outbox, with ``priority``
    (URGENT for the competent authority's link: portal.mail.models.OutboxPriority) and
    under ``topic`` (OutboxMessage.topic: tokens.authority_link_topic)."""
    message = with_topic(with_priority(build_bilingual(**kwargs), priority), topic)
    if message.recipients():
        message.send()
    return message


def send_many(messages):
    """Send a batch through the outbox with one INSERT: the beat jobs' mass mail
    (OutboxPriority.BULK, sent after any other)."""
    messages = [with_priority(message, OutboxPriority.BULK) for message in messages if message.recipients()]
    if messages:
        mailers.default.send_messages(messages)
    return len(messages)


def notify_officer(*, application, template, context=None, attachments=()):
    """Email the nodal officer, in English and the application's second language, through the outbox."""
    return send_bilingual(
        to=[application.nodal_officer.email], template=template,
        context={"application": application, **(context or {})}, attachments=attachments,
    )
