"""Files written through the storage API by a transaction that does not commit.

Storage is not transactional: a file saved inside ``transaction.atomic()`` stays when the
transaction is rolled back (a failed insert after it, a lost connection, a failed commit),
with no row naming it. Such a file is out of reach of everything that finds files by
their rows (the download views, retention, erasure, legal holds), and may name a person.
Removing a file goes the other way and is scheduled with ``transaction.on_commit`` (the
row goes now, the file once the removal is certain: onboarding.retention.files_remove).

A storage that cannot take a file (a full disk, an object store that cannot be reached or
refuses the write) raises ``FileNotStored`` from ``FilesWritten.save``, for the caller to
say so to the person instead of a server error."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files.base import File
from django.db.models.fields.files import FieldFile

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
    """The files saved in one transaction (``files_kept_if_committed``)."""

    def __init__(self) -> None:
        self.written: list[tuple[object, str]] = []

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
        for storage, name in self.written:
            try:
                storage.delete(name)
            except Exception:  # the transaction's own error is the one to raise
                logger.exception("Could not delete %r, written by a transaction that did not commit", name)
        self.written = []


@contextmanager
def files_kept_if_committed() -> Iterator[FilesWritten]:
    """Around a transaction that saves files (``with files_kept_if_committed() as files,
    transaction.atomic(): ... files.save(document.file, name, content)``): when the block
    raises (the transaction rolled back, or its commit failed), the files it saved are
    deleted and the error goes on. Put it around the outermost transaction: a block that
    commits into an enclosing one cannot know whether that one will."""
    files = FilesWritten()
    try:
        yield files
    except BaseException:
        files.delete()
        raise
