"""The approval routing's beat jobs (onboarding/approval/tasks.py), through the real Celery tasks."""

from datetime import timedelta

import pytest
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from onboarding.approval import letters
from onboarding.approval.tasks import approval_letters_issue
from onboarding.models import Application, ApplicationDocument, DocumentKind
from tests.factories import ApplicationFactory, OrganisationFactory


def approved(days_ago):
    return ApplicationFactory(status="approved", closed_at=timezone.now() - timedelta(days=days_ago),
                              organisation=OrganisationFactory())


def issued(application):
    return ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER).count()


@pytest.mark.django_db
def test_a_letter_that_fails_to_be_stored_keeps_no_other_from_being_issued(monkeypatch, caplog):
    """The beat job stopped at the first letter whose issue raised anything but a render
    failure (here the file store refusing the write): every letter after it waited, and at
    the next run the same letter was tried first and stopped it again. Now the failure is
    logged with the application, the application is marked as a letter not rendered is, the
    others are issued, and it is tried again after the letters never tried."""
    failing, first, second = approved(3), approved(2), approved(1)
    real_save = FileSystemStorage.save

    def save(storage, name, content, *args, **kwargs):
        if failing.reference in name:
            raise OSError(28, "No space left on device")
        return real_save(storage, name, content, *args, **kwargs)

    monkeypatch.setattr(FileSystemStorage, "save", save)
    assert approval_letters_issue.delay().get() == {"letters": 2}
    assert (issued(failing), issued(first), issued(second)) == (0, 2, 2)
    assert Application.objects.get(pk=failing.pk).approval_letter_failed_at is not None
    [record] = [record for record in caplog.records if record.levelname == "ERROR"]
    assert f"application {failing.pk}" in record.getMessage() and record.exc_info
    later = approved(0)  # approved after it, its letter's queuing lost: tried before the one that failed
    assert letters.approval_letters_pending(limit=10) == [later.pk, failing.pk]

    monkeypatch.setattr(FileSystemStorage, "save", real_save)  # the store writable again
    assert approval_letters_issue.delay().get() == {"letters": 2}
    assert (issued(failing), issued(later)) == (2, 2)
    assert not letters.approval_letters_pending(limit=10)
