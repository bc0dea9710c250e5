"""The role emails: a person granted a role, given a new end date, or removed from one
by someone (not the system's own endings) is told what, where, until when and why.
Rendered from ``templates/portal/roles/email/``, in the person's language
(person_language), and sent through the default mailer (the outbox), so that each is
written in the transaction of the change it reports and delivered once it commits.
Depends on no service."""

from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}

# Where a person's language is known: first the one they last chose on the portal's pages
# signed in (the account's ``language``); then the sources the feature apps register in
# their ready() (verification: the language they last asked to be verified in).
_language_sources: list[Callable[[Iterable[int]], dict[int, str]]] = []


def person_language_register(source: Callable[[Iterable[int]], dict[int, str]]) -> None:
    """Add a source of the language to tell people in (their user ids: {user id: a
    language code} of those it knows, in a constant number of queries)."""
    if source not in _language_sources:
        _language_sources.append(source)


def _accounts_languages(user_ids: Iterable[int]) -> dict[int, str]:
    """{user id: the language chosen} of those of ``user_ids`` who chose one signed in. One query."""
    return dict(get_user_model().objects.filter(pk__in=user_ids).exclude(language="").values_list("pk", "language"))


def people_known_languages(user_ids: Iterable[int]) -> dict[int, str]:
    """{user id: the language the portal knows the person by} of those of ``user_ids`` it
    knows: for each, the one chosen on the account, else the first a registered source
    knows that the portal has. A query or so per source, whatever the number of people (a
    mail to each of many)."""
    wanted, found = set(user_ids), {}
    for source in (_accounts_languages, *_language_sources):
        if not wanted:
            break
        for user_id, language in source(wanted).items():
            if language in LANGUAGE_CODES and user_id in wanted:
                found[user_id] = language
        wanted -= found.keys()
    return found


def person_known_language(user_id: int) -> str | None:
    """The language the portal knows the person by (``people_known_languages``; None: none knows one)."""
    return people_known_languages([user_id]).get(user_id)


def person_language(user_id: int) -> str:
    """The language to tell a person in when they are not on a page: the one the
    portal knows them by, else the default."""
    return person_known_language(user_id) or settings.LANGUAGE_CODE


def people_languages(user_ids: Iterable[int]) -> dict[int, str]:
    """{user id: the language to tell the person in} of each of ``user_ids``
    (person_language for many at once: a query or so per source, whatever their number)."""
    wanted = set(user_ids)
    known = people_known_languages(wanted) if wanted else {}
    return {user_id: known.get(user_id, settings.LANGUAGE_CODE) for user_id in wanted}


def build_role_mail(*, user, template: str, context: dict, language: str | None = None) -> EmailMessage:
    """The email from ``portal/roles/email/<template>.txt`` (and its ``_subject.txt``) to
    ``user``, in their language (``language``, when the caller read it: people_languages),
    not yet sent."""
    context = {"site_url": settings.SITE_URL, "person": user, **context}
    with translation.override(language or person_language(user.pk)):
        subject = " ".join(render_to_string(f"portal/roles/email/{template}_subject.txt", context).split())
        body = render_to_string(f"portal/roles/email/{template}.txt", context).strip() + "\n"
    return EmailMessage(subject=subject, body=body, to=[user.email])


def send_role_mail(*, user, template: str, context: dict, language: str | None = None) -> EmailMessage:
    message = build_role_mail(user=user, template=template, context=context, language=language)
    message.send()
    return message
