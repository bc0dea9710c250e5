"""The temporary file an upload is written to (one over FILE_UPLOAD_MAX_MEMORY_SIZE) has a
name of the portal's choosing. Django's names it tmp<random>.upload<the extension of the
uploaded name>: an uploaded name that any disk holds, such as "letter." and 80 Devanagari
letters (247 bytes), made it longer than the 255 bytes a disk allows, and the upload a
server error on every page with a file field. The temporary file keeps only a short plain
extension (".pdf", ".xlsx"); the uploaded name itself stays the file's ``name``, the
record of what was sent."""

import os
import re
import tempfile

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, TemporaryFileUploadHandler

# An extension the temporary file keeps: a few ASCII letters and digits.
KEPT_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}")


def temporary_suffix(name: str) -> str:
    """The end of the temporary file's name for an upload named ``name``: ".upload" and
    the name's extension when it is a short plain one, else ".upload" alone."""
    extension = os.path.splitext(name or "")[1]
    return ".upload" + (extension if KEPT_EXTENSION.fullmatch(extension) else "")


class ShortNamedTemporaryUploadedFile(TemporaryUploadedFile):
    """Django's TemporaryUploadedFile, its temporary file named with ``temporary_suffix``."""

    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        file = tempfile.NamedTemporaryFile(suffix=temporary_suffix(name), dir=settings.FILE_UPLOAD_TEMP_DIR)
        # TemporaryUploadedFile.__init__ would open one named with the whole extension.
        super(TemporaryUploadedFile, self).__init__(file, name, content_type, size, charset, content_type_extra)


class ShortNamedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Django's TemporaryFileUploadHandler (in FILE_UPLOAD_HANDLERS in its place), writing to
    a ShortNamedTemporaryUploadedFile."""

    def new_file(self, *args, **kwargs):
        FileUploadHandler.new_file(self, *args, **kwargs)
        self.file = ShortNamedTemporaryUploadedFile(
            self.file_name, self.content_type, 0, self.charset, self.content_type_extra
        )
