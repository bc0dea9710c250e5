"""The outbox keeps what it sent OUTBOX_KEEP_DAYS: each row holds a message as sent (the
addresses, names and what it said). A daily job removes older ones, not mail to a person
under a legal hold, nor mail still waiting to go."""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone

from portal.mail.models import OutboxMessage, OutboxStatus
from portal.mail.tasks import outbox_old_remove
from portal.privacy.retention import legal_hold_set
from tests.factories import UserFactory
from tests.onboarding.approval_helpers import make_superadmin


def message(number, to, status, days_old):
    row = OutboxMessage.objects.create(message_id=f"<{number}@portal.test>", subject="s", from_email="f@portal.test",
                                       to=[to], body="Dear Asha ...", status=status)
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=days_old))
    return row.pk


@pytest.mark.django_db
def test_old_sent_mail_goes_and_mail_waiting_or_under_a_hold_stays():
    keep = settings.OUTBOX_KEEP_DAYS
    held = UserFactory(email="held@mha.gov.in")
    legal_hold_set(target_type="accounts.user", target_id=held.pk, reason="Vigilance inquiry",
                   actor=make_superadmin(email="root@sandes.nic.in"))
    old_sent = message(1, "asha@mha.gov.in", OutboxStatus.SENT, keep + 1)
    old_failed = message(2, "asha@mha.gov.in", OutboxStatus.FAILED, keep + 1)
    recent = message(3, "asha@mha.gov.in", OutboxStatus.SENT, keep - 1)
    waiting = message(4, "asha@mha.gov.in", OutboxStatus.PENDING, keep + 1)
    under_hold = message(5, "held@mha.gov.in", OutboxStatus.SENT, keep + 1)
    assert outbox_old_remove.delay().get() == 2  # the real task, in this process
    left = set(OutboxMessage.objects.values_list("pk", flat=True))
    assert left >= {recent, waiting, under_hold} and not left & {old_sent, old_failed}


def test_the_job_is_on_the_beat_schedule_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["outbox-old-remove"]
    assert entry == {"task": "portal.mail.tasks.outbox_old_remove", "schedule": crontab(hour=1, minute=30)}


@pytest.mark.django_db
def test_old_mail_to_the_official_address_a_held_person_took_off_their_account_stays():
    """Their verification record still names the address (suspended when it left the
    account): the mail to it is theirs, kept while the hold on them lasts, as the record is."""
    from tests.verification.helpers import GovernmentProfileFactory
    from verification.models import VerificationStatus

    keep = settings.OUTBOX_KEEP_DAYS
    held = UserFactory(email="held@gmail.com")
    GovernmentProfileFactory(user=held, official_email="held.official@mha.gov.in", status=VerificationStatus.SUSPENDED)
    legal_hold_set(target_type="accounts.user", target_id=held.pk, reason="Vigilance inquiry",
                   actor=make_superadmin(email="root@sandes.nic.in"))
    under_hold = message(1, "Held.Official@mha.gov.in", OutboxStatus.SENT, keep + 1)
    message(2, "asha@mha.gov.in", OutboxStatus.SENT, keep + 1)
    assert outbox_old_remove.delay().get() == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {under_hold}


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["cc", "bcc", "reply_to"])
def test_old_mail_naming_a_held_person_in_copy_or_as_the_address_to_reply_to_stays(field):
    keep = settings.OUTBOX_KEEP_DAYS
    held = UserFactory(email="held@mha.gov.in")
    legal_hold_set(target_type="accounts.user", target_id=held.pk, reason="Vigilance inquiry",
                   actor=make_superadmin(email="root@sandes.nic.in"))
    under_hold = message(1, "asha@mha.gov.in", OutboxStatus.SENT, keep + 1)
    OutboxMessage.objects.filter(pk=under_hold).update(**{field: ["Held@MHA.gov.in"]})
    message(2, "asha@mha.gov.in", OutboxStatus.SENT, keep + 1)
    assert outbox_old_remove.delay().get() == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {under_hold}
