"""Writing the audit chain's head outside the database: to the log and to the
superadmins by mail (through the outbox), so that a later rewrite of the log is
detectable against it (``manage.py verify_audit --expect-head <id>:<hash>``).

The mail is the core's own, rendered in English and then each superadmin's language
(Hindi unless the portal knows theirs) from templates/audit/email/ (the core imports no feature app's mail helpers). Other alerts
to the superadmins (monitoring's daily chain check finding the chain broken) are sent
the same way, through ``mail_superadmins`` with templates of their own."""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from portal.audit.models import AuditChainHead
from portal.audit.services import head_is_sealed
from portal.organisations.notifications import people_known_languages
from portal.permissions import superadmins

logger = logging.getLogger(__name__)

# The log lines' stable prefix; what follows it is the argument of --expect-head.
LOG_PREFIX = "AUDIT_CHAIN_HEAD"


def superadmin_mail(*, to: str, template: str, context: dict, language: str | None = None) -> EmailMultiAlternatives:
    """An email to one superadmin from ``<template>_subject.txt`` and ``<template>.txt``,
    in English and then ``language`` (Hindi when None or English) (not yet sent)."""
    subjects, bodies = [], []
    for half in ("en", language if language and language != "en" else "hi"):
        with translation.override(half):
            subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
            bodies.append(render_to_string(f"{template}.txt", context).strip())
        if subject not in subjects:
            subjects.append(subject)
    return EmailMultiAlternatives(
        subject=" / ".join(subjects), body=f"{bodies[0]}\n\n----------\n\n{bodies[1]}\n", to=[to],
        from_email=settings.DEFAULT_FROM_EMAIL,
    )


def superadmin_messages(*, template: str, context: dict, leave_out: Iterable[str] = ()) -> list[EmailMultiAlternatives]:
    """One email (``superadmin_mail``) to each active superadmin but those at ``leave_out``'s
    addresses, in English and their own language when the portal knows it
    (people_known_languages), not yet sent. A query, and people_known_languages' (one a
    source it asks: the accounts', then those the feature apps register)."""
    left_out = set(leave_out)
    people = {email: pk for email, pk in superadmins().values_list("email", "pk") if email not in left_out}
    languages = people_known_languages(people.values())
    return [superadmin_mail(to=email, template=template, context=context, language=languages.get(people[email]))
            for email in sorted(people)]


def mail_superadmins(*, template: str, context: dict) -> int:
    """Mail every superadmin (``superadmin_messages``) through the default mailer, the
    outbox: written in the caller's transaction, sent after it commits. How many."""
    messages = superadmin_messages(template=template, context=context)
    if messages:
        mailers.default.send_messages(messages)
    return len(messages)


def audit_head_publish() -> dict:
    """Log the chain head (id, hash, count) and mail it to every superadmin.
    Safe to run twice: it changes nothing but sends the same facts again."""
    with transaction.atomic():
        head = AuditChainHead.objects.filter(pk=1).first()
        if head is None:
            logger.info("%s none: the audit log is empty", LOG_PREFIX)
            return {"event_id": None, "mailed": 0}
        sealed = head_is_sealed(head)
        published_at = timezone.now()
        logger.log(
            logging.INFO if sealed else logging.ERROR, "%s %s:%s count=%s at=%s%s", LOG_PREFIX,
            head.last_event_id, head.last_hash, head.count, published_at.isoformat(timespec="seconds"),
            "" if sealed else " SEAL MISMATCH: run manage.py verify_audit",
        )
        mailed = mail_superadmins(template="audit/email/head_published",
                                  context={"head": head, "sealed": sealed, "published_at": published_at})
    return {"event_id": head.last_event_id, "hash": head.last_hash, "count": head.count, "sealed": sealed,
            "mailed": mailed}
