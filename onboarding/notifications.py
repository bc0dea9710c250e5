"""The onboarding emails: rendered from templates, in English and then Hindi.
Depends on no service; the services call it inside their transaction.

Every email is built here, in English and then Hindi, and sent through the
default mailer (the outbox), so it is written in the caller's transaction.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.template.loader import render_to_string
from django.utils import translation


def build_bilingual(*, to, template, context=None, reply_to=None, attachments=()):
    """An email from ``onboarding/email/<template>.txt`` and ``<template>_subject.txt``,
    rendered in English and in Hindi (not yet sent)."""
    context = {"site_url": settings.SITE_URL, **(context or {})}
    subjects, bodies = [], []
    for language in ("en", "hi"):
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


def send_bilingual(**kwargs):
    message = build_bilingual(**kwargs)
    if message.recipients():
        message.send()
    return message


def send_many(messages):
    """Send a batch through the outbox with one INSERT."""
    messages = [message for message in messages if message.recipients()]
    if messages:
        mailers.default.send_messages(messages)
    return len(messages)


def notify_officer(*, application, template, context=None, attachments=()):
    """Email the nodal officer, in English and Hindi, through the outbox."""
    return send_bilingual(
        to=[application.nodal_officer.email], template=template,
        context={"application": application, **(context or {})}, attachments=attachments,
    )
