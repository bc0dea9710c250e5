"""What happens around a change of an application's state: approval steps,
notifications. Called by the services inside their transaction."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def notify_officer(*, application, template, context=None):
    """Email the nodal officer, in English and Hindi, through the outbox."""
    context = {"application": application, "site_url": settings.SITE_URL, **(context or {})}
    with translation.override("en"):
        subject = render_to_string(f"onboarding/email/{template}_subject.txt", context).strip()
    with translation.override("en"):
        body_en = render_to_string(f"onboarding/email/{template}.txt", context)
    with translation.override("hi"):
        body_hi = render_to_string(f"onboarding/email/{template}.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=f"{body_en.strip()}\n\n----------\n\n{body_hi.strip()}\n",
        to=[application.nodal_officer.email],
    )
    message.send()


def on_submitted(*, application, actor, request=None):
    notify_officer(application=application, template="submitted")


def on_withdrawn(*, application, actor, request=None):
    notify_officer(application=application, template="withdrawn")
