"""The temporary file of an upload over FILE_UPLOAD_MAX_MEMORY_SIZE (portal/upload_handlers.py):
its name fits on a disk whatever the uploaded name, which stays the record."""

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.test import RequestFactory

NAME_MAX = 255  # bytes in one name on Linux (ext4, xfs, tmpfs) and Windows (NTFS, in UTF-16 units)


@pytest.mark.parametrize("uploaded_as, recorded, suffix", [
    ("letter." + "प" * 80, "letter." + "प" * 80, ".upload"),  # 247 bytes
    ("letter." + "x" * 250, "lett." + "x" * 250, ".upload"),  # Django keeps 255 characters, the extension first
    ("scan.PDF", "scan.PDF", ".upload.PDF"),
    ("roster.xlsx", "roster.xlsx", ".upload.xlsx"),
    ("letter.p df", "letter.p df", ".upload"),
    ("letter", "letter", ".upload"),
], ids=["devanagari", "ascii", "pdf", "xlsx", "space", "none"])
def test_an_upload_written_to_disk_keeps_its_name_in_a_temporary_file_a_disk_holds(settings, uploaded_as, recorded,
                                                                                     suffix):
    content = b"x" * (settings.FILE_UPLOAD_MAX_MEMORY_SIZE + 1)
    request = RequestFactory().post("/", {"file": SimpleUploadedFile(uploaded_as, content)})
    uploaded = request.FILES["file"]
    assert isinstance(uploaded, TemporaryUploadedFile)
    assert uploaded.name == recorded
    temporary = os.path.basename(uploaded.temporary_file_path())
    assert temporary.startswith("tmp") and temporary.endswith(suffix) and len(os.fsencode(temporary)) <= NAME_MAX
    assert uploaded.read() == content
    uploaded.close()
    assert not os.path.exists(uploaded.temporary_file_path())
