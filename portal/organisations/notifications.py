"""The role emails: a person granted a role, given a new end date, or removed from one
by someone (not the system's own endings) is told what, where, until when and why.
Rendered from ``templates/portal/roles/email/``, in the person's language
(person_language), and sent through the default mailer (the outbox), so that each is
written in the transaction of the change it reports and delivered once it commits.
Depends on no service."""

from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}

# Where a person's language is known: the feature apps register a source in their
# ready() (verification: the language they last asked to be verified in). The core
# keeps no language of its own on the account.
_language_sources: list[Callable[[int], str | None]] = []


def person_language_register(source: Callable[[int], str | None]) -> None:
    """Add a source of the language to tell a person in (their user id: a language
    code, or None when it does not know)."""
    if source not in _language_sources:
        _language_sources.append(source)


def person_known_language(user_id: int) -> str | None:
    """The language the portal knows the person by: the first a registered source
    knows that the portal has (None: none knows one)."""
    for source in _language_sources:
        language = source(user_id)
        if language in LANGUAGE_CODES:
            return language
    return None


def person_language(user_id: int) -> str:
    """The language to tell a person in when they are not on a page: the one the
    portal knows them by, else the default."""
    return person_known_language(user_id) or settings.LANGUAGE_CODE


def build_role_mail(*, user, template: str, context: dict) -> EmailMessage:
    """The email from ``portal/roles/email/<template>.txt`` (and its ``_subject.txt``) to
    ``user``, in their language, not yet sent."""
    context = {"site_url": settings.SITE_URL, "person": user, **context}
    with translation.override(person_language(user.pk)):
        subject = " ".join(render_to_string(f"portal/roles/email/{template}_subject.txt", context).split())
        body = render_to_string(f"portal/roles/email/{template}.txt", context).strip() + "\n"
    return EmailMessage(subject=subject, body=body, to=[user.email])


def send_role_mail(*, user, template: str, context: dict) -> EmailMessage:
    message = build_role_mail(user=user, template=template, context=context)
    message.send()
    return message
