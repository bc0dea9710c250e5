"""The adoption tracker's reminder: rendered from ``templates/monitoring/email/``, in
English and then the jurisdiction's second language (Marathi for Maharashtra, Hindi
elsewhere, as onboarding mail), and sent through the default mailer (the outbox), so
it is written in the transaction of the service that sends it. Depends on no service."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from monitoring.tracker import TrackerStatus
from onboarding.notifications import SECOND_LANGUAGE
from portal.mail.models import OutboxPriority, with_priority


def reminder_languages(jurisdiction: str) -> tuple[str, str]:
    return ("en", SECOND_LANGUAGE.get(jurisdiction, "hi"))


def build_adoption_reminder(*, office, status: str) -> EmailMessage:
    context = {"office": office, "status_label": TrackerStatus(status).label, "site_url": settings.SITE_URL}
    subjects, bodies = [], []
    for language in reminder_languages(office.jurisdiction):
        with translation.override(language):
            subject = " ".join(render_to_string("monitoring/email/adoption_reminder_subject.txt", context).split())
            bodies.append(render_to_string("monitoring/email/adoption_reminder.txt", context).strip())
        if subject not in subjects:
            subjects.append(subject)
    return EmailMessage(subject=" / ".join(subjects), body=f"{bodies[0]}\n\n----------\n\n{bodies[1]}\n",
                        to=[office.contact_email])


def send_adoption_reminder(*, office, status: str) -> EmailMessage:
    # Mass mail (OutboxPriority.BULK: sent after any other): lists of thousands of offices are reminded.
    message = with_priority(build_adoption_reminder(office=office, status=status), OutboxPriority.BULK)
    message.send()
    return message
