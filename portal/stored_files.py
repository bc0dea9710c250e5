"""Files written through the storage API by a transaction that does not commit.

Storage is not transactional: a file saved inside ``transaction.atomic()`` stays when the
transaction is rolled back (a failed insert after it, a lost connection, a failed commit),
with no row naming it. Such a file is out of reach of everything that finds files by
their rows (the download views, retention, erasure, legal holds), and may name a person.
Removing a file goes the other way: the row goes now, the file once the removal is certain
(``files_delete_after_commit``). A removal the storage refuses then (read-only, an object
lock, a timeout) is logged and the file recorded (privacy.FileToRemove), never raised into
the request whose work has committed; the beat job ``files_left_remove`` removes it later.

A storage that cannot take a file (a full disk, an object store that cannot be reached or
refuses the write) raises ``FileNotStored`` from ``FilesWritten.save``, for the caller to
say so to the person instead of a server error."""

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.apps import apps
from django.core.files.base import File
from django.core.files.storage import Storage, default_storage
from django.db import models, transaction
from django.db.models import F
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from portal.privacy.models import FileToRemove

logger = logging.getLogger(__name__)


def _storage_errors() -> tuple[type[Exception], ...]:
    """What a write to the portal's storages raises when the storage fails: the file
    system's OSError, and the object store's (boto3 and botocore's, none an OSError)."""
    errors: list[type[Exception]] = [OSError]
    try:
        from boto3.exceptions import Boto3Error  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415
    except ImportError:  # no object store library: the file system only
        return tuple(errors)
    return (*errors, Boto3Error, BotoCoreError, ClientError)


STORAGE_ERRORS = _storage_errors()


class FileNotStored(Exception):
    """The storage could not take a file (``STORAGE_ERRORS``): nothing was written."""


class FilesWritten:
    """The files saved in one transaction (``files_kept_if_committed``), and whether it committed."""

    def __init__(self) -> None:
        self.written: list[tuple[object, str]] = []
        self.committed = False

    def _commit_seen(self) -> None:
        self.committed = True

    def save(self, field: FieldFile, name: str, content: File) -> None:
        """``field.save(name, content, save=False)``, remembered: the row is saved by the
        caller. Raises FileNotStored (the storage's error logged) when the storage fails."""
        try:
            field.save(name, content, save=False)
        except STORAGE_ERRORS as exc:
            logger.warning("Could not store %r: %s: %s", name, type(exc).__name__, exc)  # the caller says or logs what failed
            raise FileNotStored(name) from exc
        self.written.append((field.storage, field.name))

    def delete(self) -> None:
        # The transaction's own error is the one to raise: a failed removal is recorded.
        _files_delete(self.written, why="written by a transaction that did not commit")
        self.written = []


@contextmanager
def files_kept_if_committed() -> Iterator[FilesWritten]:
    """A transaction that saves files (``with files_kept_if_committed() as files: ...
    files.save(document.file, name, content)``): when it is rolled back (the block raised,
    or the commit failed), the files it saved are deleted and the error goes on. An error
    after the commit (a callback of ``on_commit`` raising) keeps them: their rows committed.
    Use it as the outermost transaction: one that commits into an enclosing one cannot know
    whether that one will."""
    files = FilesWritten()
    try:
        with transaction.atomic():
            # The first of the transaction's callbacks: it runs before any other can raise.
            transaction.on_commit(files._commit_seen)
            yield files
    except BaseException:
        if not files.committed:
            files.delete()
        raise

def files_delete_after_commit(files: Iterable[tuple[Storage, str]]) -> None:
    """Remove these stored files ((storage, name): their rows are deleted in the current
    transaction) once it commits; nothing if it rolls back. Never raises into the caller's
    request: a removal that fails is logged and the file recorded for files_left_remove."""
    files = [(storage, name) for storage, name in files if name]
    if files:
        transaction.on_commit(lambda: _files_delete(files, why="its row removed"))


def _files_delete(files: list[tuple[Storage, str]], *, why: str) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except Exception as exc:  # whatever the storage raises: recorded, removed later
            logger.error("Could not remove %r (%s): %s: %s; recorded for the hourly removal", name, why,
                         type(exc).__name__, exc)
            _left_record(name, exc)


def _left_record(name: str, exc: Exception) -> None:
    try:
        FileToRemove.objects.create(name=name, recorded_at=timezone.now(), last_error=_error_text(exc))
    except Exception:  # the database is failing too: the log line above names the file
        logger.exception("Could not record %r as a file to remove", name)


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _named_by_a_row(name: str) -> bool:
    """Whether a row's file field names ``name`` (a removal reported as failed that had
    worked frees the name, which a later file may be given)."""
    return any(
        model._default_manager.filter(**{field.name: name}).exists()
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, models.FileField)
    )


def files_left_remove(*, limit: int = 500) -> int:
    """Remove up to ``limit`` of the files recorded as left (FileToRemove) from the default
    storage, unless a row names the file again (then only its record goes): those this job
    has not tried yet, oldest first, then the one it tried longest ago. One the storage
    still refuses stays recorded, its attempts counted, behind the rest: files refused for
    good (an object lock) keep none of those recorded after them waiting. Returns how many
    files were removed."""
    removed = 0
    for left in FileToRemove.objects.order_by(F("tried_at").asc(nulls_first=True), "id")[:limit]:
        if _named_by_a_row(left.name):
            left.delete()
            continue
        try:
            default_storage.delete(left.name)
        except Exception as exc:  # still refused: tried again once the others have been
            FileToRemove.objects.filter(pk=left.pk).update(attempts=F("attempts") + 1, last_error=_error_text(exc),
                                                           tried_at=timezone.now())
            continue
        left.delete()
        removed += 1
    if FileToRemove.objects.exists():
        logger.warning("Files the storage would not remove are still left: %s", FileToRemove.objects.count())
    return removed
