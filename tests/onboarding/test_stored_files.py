"""Stored files: the uploaded letter is stored and served under a name of the
portal's own, whatever it was uploaded as; and every view that serves a stored file
answers 404 (and logs an error naming the file and its row) when storage has lost
it, never a 500; and no download of one may be kept by a browser's or a proxy's cache."""

import errno
import io
import logging
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path, PurePosixPath

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction
from django.test import Client
from django.utils import timezone

from onboarding.application import services
from onboarding.approval import letters
from onboarding.approval import services as approvals
from onboarding.models import Application, ApplicationDocument, ApplicationStatus, Attachment, DocumentKind
from portal.audit.models import AuditAction, AuditEvent
from portal.privacy.models import FileToRemove
from portal.privacy.tasks import files_left_remove
from portal.stored_files import files_kept_if_committed
from tests.factories import ApplicationFactory, PlatformRoleFactory, UserFactory, application_with_state
from tests.html_tree import page
from tests.onboarding.approval_helpers import (  # noqa: F401 (official_email_rules: a fixture)
    TRANSACTIONAL,
    authority_approved,
    latest_link,
    make_state_admin,
    official_email_rules,
    signed_in,
    state_step,
    submitted_application,
    with_totp,
)
from tests.onboarding.form_helpers import jpeg_bytes, new_application, png_bytes, post_section, reload, upload, valid
from tests.onboarding_data import minimal_pdf

pytestmark = pytest.mark.django_db


def disposition_name(response):
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\""), disposition
    return disposition.removeprefix("attachment; filename=\"").removesuffix("\"")


@pytest.mark.parametrize(
    "uploaded_as, recorded, make, extension",
    [("पत्र.exe", "पत्र.exe", minimal_pdf, "pdf"), ("scan.png.exe", "scan.png.exe", png_bytes, "png"),
     ("letter.pdf", "letter.pdf", jpeg_bytes, "jpg"), ("..\\..\\autorun.inf", "autorun.inf", minimal_pdf, "pdf")],
)
def test_a_letter_is_stored_and_served_under_the_applications_name_and_its_real_type(
    officer_client, officer, uploaded_as, recorded, make, extension
):
    application = new_application(officer)
    assert upload(officer_client, application, make(), name=uploaded_as).status_code == 302
    attachment = Attachment.objects.get(application=application)
    expected = f"draft-{application.pk}-letter.{extension}"

    stored = PurePosixPath(attachment.file.name)
    assert stored.stem.startswith(f"draft-{application.pk}-letter") and stored.suffix == f".{extension}", stored
    response = officer_client.get(f"/onboarding/{application.pk}/letter/{attachment.pk}/")
    assert response.status_code == 200
    assert disposition_name(response) == expected
    # The name it was uploaded as is only a record.
    assert attachment.original_name == recorded
    assert AuditEvent.objects.get(action=AuditAction.APPLICATION_ATTACHMENT_UPLOADED).new_values["name"] == recorded


def _scan_over_2_mb():
    """A PNG of 3.4 MB: over FILE_UPLOAD_MAX_MEMORY_SIZE, so Django writes it to a temporary file."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (1200, 1000), random.Random(3).randbytes(1200 * 1000 * 3)).save(
        buffer, format="PNG", compress_level=0)
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE < len(buffer.getvalue()) < settings.ONBOARDING_UPLOAD_MAX_BYTES
    return buffer.getvalue()


@pytest.mark.parametrize("uploaded_as, recorded", [
    # 247 bytes: a name any Linux or Windows disk holds. Django names the temporary file of
    # an upload over 2 MB tmp<random>.upload<the extension>, which was longer than a disk allows.
    ("letter." + "प" * 80, "letter." + "प" * 80),
    # Django keeps at most 255 characters of a name, its extension first.
    ("letter." + "x" * 250, "lett." + "x" * 250),
], ids=["devanagari", "ascii"])
def test_a_scan_over_2_mb_whose_name_has_a_long_extension_is_stored(officer_client, officer, uploaded_as, recorded):
    application = new_application(officer)
    response = upload(officer_client, application, _scan_over_2_mb(), name=uploaded_as, content_type="image/png")
    assert response.status_code == 302, response.status_code
    attachment = Attachment.objects.get(application=application)
    assert attachment.content_type == "image/png" and PurePosixPath(attachment.file.name).suffix == ".png"
    assert attachment.original_name == recorded


def test_the_recorded_name_keeps_no_control_or_bidi_character_whoever_calls_the_service(officer):
    # Django's form parsing drops non-printable characters from a browser's upload; the
    # service records the name safely for any other caller too. U+202E would show
    # "letter\u202efdp.exe" as "letterexe.pdf".
    application = new_application(officer)
    uploaded = SimpleUploadedFile("letter\u202efdp\u2066.exe\x1b\n", minimal_pdf(), content_type="application/pdf")
    attachment = services.attachment_upload(application_id=application.pk, uploaded=uploaded, actor=officer)
    assert attachment.original_name == "letterfdp.exe"


def test_after_submission_the_letter_is_served_under_the_reference(officer_client, officer):
    application = submitted_application(officer)
    attachment = Attachment.objects.get(application=application, is_current=True)
    response = officer_client.get(f"/onboarding/{application.pk}/letter/{attachment.pk}/")
    assert disposition_name(response) == f"{application.reference}-letter.pdf"

    # The competent authority's copy has the same name.
    client = Client()
    review = client.get(latest_link()[0], follow=True)
    [letter_url] = [a.get("href") for a in page(review).find_all("a") if (a.get("href") or "").endswith("letter/")]
    response = client.get(letter_url)
    assert response.status_code == 200
    assert disposition_name(response) == f"{application.reference}-letter.pdf"


# Kept out of caches ----------------------------------------------------------------------

def _officers_letter(officer):
    application = new_application(officer)
    upload(signed_in(officer), application, minimal_pdf())
    attachment = Attachment.objects.get(application=application)
    return signed_in(officer), f"/onboarding/{application.pk}/letter/{attachment.pk}/"


def _officers_form(officer):
    return signed_in(officer), f"/onboarding/{new_application(officer).pk}/form.pdf"


def _readers_form(officer):  # rendered for the reader, never stored
    application = ApplicationFactory(status="with_state")
    auditor = PlatformRoleFactory(role="auditor", jurisdiction="").user
    with_totp(auditor)
    return signed_in(auditor), f"/onboarding/{application.pk}/form.pdf"


def _approval_letter(officer):
    application = authority_approved(officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=make_state_admin("MH"))
    return signed_in(officer), f"/onboarding/{application.pk}/approval-letter.pdf"


def _authoritys(suffix):
    def download(officer):
        submitted_application(officer)
        client = Client()
        review = client.get(latest_link()[0], follow=True)
        [url] = [a.get("href") for a in page(review).find_all("a") if (a.get("href") or "").endswith(suffix)]
        return client, url
    return download


@pytest.mark.parametrize("download", [_officers_letter, _officers_form, _readers_form, _approval_letter,
                                      _authoritys("letter/"), _authoritys("form.pdf")],
                         ids=["letter", "form", "form-rendered-for-a-reader", "approval-letter", "authoritys-letter",
                              "authoritys-form"])
def test_no_download_of_a_letter_or_a_form_may_be_kept_in_a_cache(officer, django_capture_on_commit_callbacks, download):
    """A signed letter, a filled form and an approval letter carry names, mobile numbers
    and signatures: a shared computer's browser or a proxy on the way must keep no copy."""
    with django_capture_on_commit_callbacks(execute=True):
        client, url = download(officer)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] in ("application/pdf", "image/png", "image/jpeg")
    assert "no-store" in response["Cache-Control"].split(", "), response.get("Cache-Control")
    assert "private" in response["Cache-Control"].split(", ")


@pytest.mark.parametrize("download", [_officers_form, _readers_form, _approval_letter, _authoritys("form.pdf")],
                         ids=["form", "form-rendered-for-a-reader", "approval-letter", "authoritys-form"])
def test_a_pdf_another_site_sends_the_browser_to_is_not_rendered_nor_counted(
        officer, django_capture_on_commit_callbacks, download, settings):
    """A PDF rendered at its download is audited in the downloader's name (the form's,
    an approval letter's in a language it was not issued in) and counts against their
    PDF_RENDERS_PER_HOUR: a link on another site to it (the session cookie goes with a
    top-level GET) renders, stores, counts and audits nothing; the person lands on the
    page with the link, told to press it there. Their own click downloads as before."""
    settings.PDF_RENDERS_PER_HOUR = 1
    with django_capture_on_commit_callbacks(execute=True):
        client, url = download(officer)
    events, documents = AuditEvent.objects.count(), ApplicationDocument.objects.count()
    for _ in range(2):
        response = client.get(url, HTTP_SEC_FETCH_SITE="cross-site", HTTP_SEC_FETCH_MODE="navigate",
                              HTTP_SEC_FETCH_DEST="document")
        assert response.status_code == 302, response.status_code
    landing = client.get(response["Location"])
    assert landing.status_code == 200
    assert "You came here by a link from another site, so nothing was done in your name." in landing.content.decode()
    assert (AuditEvent.objects.count(), ApplicationDocument.objects.count()) == (events, documents)
    response = client.get(url, HTTP_SEC_FETCH_SITE="same-origin")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


# A stored file that storage has lost -----------------------------------------------------

def assert_missing_file_is_a_logged_404(client, url, stored, caplog):
    default_storage.delete(stored.file.name)
    with caplog.at_level(logging.ERROR, logger="portal.downloads"):
        response = client.get(url)
    assert response.status_code == 404
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and r.name == "portal.downloads"]
    assert errors == [f"Stored file missing: {stored.file.name!r} of {stored._meta.label} {stored.pk}"], errors


def test_a_missing_letter_is_a_404_for_the_officer_and_an_error_for_the_administrators(officer_client, officer, caplog):
    application = new_application(officer)
    upload(officer_client, application, minimal_pdf())
    attachment = Attachment.objects.get(application=application)
    assert_missing_file_is_a_logged_404(officer_client, f"/onboarding/{application.pk}/letter/{attachment.pk}/", attachment, caplog)


def test_a_missing_form_pdf_is_a_404(officer_client, officer, caplog):
    application = new_application(officer)
    url = f"/onboarding/{application.pk}/form.pdf"
    assert officer_client.get(url).status_code == 200
    document = ApplicationDocument.objects.get(application=application, kind=DocumentKind.FORM_PDF)
    assert_missing_file_is_a_logged_404(officer_client, url, document, caplog)


def test_a_missing_approval_letter_is_a_404(officer, django_capture_on_commit_callbacks, caplog):
    application = authority_approved(officer)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=make_state_admin("MH"))
    document = ApplicationDocument.objects.get(application=application, kind=DocumentKind.APPROVAL_LETTER, language="en")
    assert_missing_file_is_a_logged_404(signed_in(officer), f"/onboarding/{reload(application).pk}/approval-letter.pdf",
                                        document, caplog)


@pytest.mark.parametrize("suffix", ["letter/", "form.pdf"])
def test_a_missing_file_on_the_authoritys_review_pages_is_a_404(officer, caplog, suffix):
    application = submitted_application(officer)
    client = Client()
    review = client.get(latest_link()[0], follow=True)
    [url] = [a.get("href") for a in page(review).find_all("a") if (a.get("href") or "").endswith(suffix)]
    assert client.get(url).status_code == 200
    if suffix == "letter/":
        stored = Attachment.objects.get(application=application, is_current=True)
    else:
        stored = ApplicationDocument.objects.get(application=application, kind=DocumentKind.FORM_PDF)
    assert_missing_file_is_a_logged_404(client, url, stored, caplog)


# A file written by a transaction that is rolled back ----------------------------------------

def stored_files(pattern):
    """Files in storage named like ``pattern`` (parallel test processes share the folder:
    compare before and after)."""
    return {str(path) for path in Path(settings.MEDIA_ROOT).rglob(pattern)}


def test_an_approval_letter_whose_issue_fails_leaves_no_file_behind(officer, monkeypatch):
    """The letters were stored, then the transaction that records them (their rows, the mail,
    the audit events) failed: the files, naming the officer and the organisation, stayed in
    storage with no row, out of reach of retention and legal holds. Now they are deleted,
    the failure is logged and marked (the beat job tries it after the letters never tried),
    and the letter is issued afresh."""
    application = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=make_state_admin("MH"))
    application.refresh_from_db()
    before = stored_files(f"{application.reference}-approval-letter*")

    def failing(**kwargs):
        raise DatabaseError("outbox insert failed")

    with monkeypatch.context() as patched:
        patched.setattr(letters.notifications, "send_bilingual", failing)
        assert letters.approval_letter_issue(application_id=application.pk) is None
    assert Application.objects.get(pk=application.pk).approval_letter_failed_at is not None
    assert not ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER).exists()
    assert stored_files(f"{application.reference}-approval-letter*") == before

    english = letters.approval_letter_issue(application_id=application.pk)
    assert english is not None and default_storage.exists(english.file.name)
    assert len(stored_files(f"{application.reference}-approval-letter*") - before) == 2  # English and Marathi


def test_an_upload_whose_transaction_fails_leaves_no_file_behind(officer, monkeypatch):
    application = new_application(officer)
    before = stored_files(f"draft-{application.pk}-letter*")

    def failing(**kwargs):
        raise DatabaseError("audit insert failed")

    monkeypatch.setattr(services, "audit_record", failing)
    uploaded = SimpleUploadedFile("letter.pdf", minimal_pdf(), content_type="application/pdf")
    with pytest.raises(DatabaseError):
        services.attachment_upload(application_id=application.pk, uploaded=uploaded, actor=officer)
    assert not Attachment.objects.filter(application=application).exists()
    assert stored_files(f"draft-{application.pk}-letter*") == before


@TRANSACTIONAL
@pytest.mark.usefixtures("official_email_rules")
def test_an_error_after_the_commit_keeps_the_files_whose_rows_committed():
    """A step after the commit fails (a callback of on_commit raising: once, the removal of
    the draft's earlier letter): the error leaves the transaction block after its rows
    committed. The files they name stay; they used to be deleted as if it had rolled back,
    leaving the current letter a row without a file (a 404 for the officer and the authority)."""
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in")
    application = new_application(officer)

    def after_the_commit():
        raise TimeoutError("Connection timed out")

    with pytest.raises(TimeoutError), files_kept_if_committed() as files:
        transaction.on_commit(after_the_commit)  # registered before the file is saved, as the earlier letter's removal is
        letter = Attachment(application=application, original_name="letter.pdf", content_type="application/pdf",
                            size=len(minimal_pdf()), sha256="0" * 64, pages=1, uploaded_by=officer)
        files.save(letter.file, f"draft-{application.pk}-letter.pdf", ContentFile(minimal_pdf()))
        letter.save()
    assert Attachment.objects.get(pk=letter.pk).file.name == letter.file.name
    assert default_storage.exists(letter.file.name), "the committed row's file was deleted"


# A storage that cannot take a file ------------------------------------------------------------

class DiskFullStorage(FileSystemStorage):
    """The portal's folder on a disk that is full: every write fails as the system fails
    it; reads and removals work."""

    def _save(self, name, content):
        raise OSError(errno.ENOSPC, "No space left on device")


class UnreachableStoreStorage(FileSystemStorage):
    """An object store that cannot be reached when a file is written (boto3's error for it,
    which is no OSError); reads and removals work."""

    def _save(self, name, content):
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="https://store.invalid/portal")


@pytest.fixture
def storage_of(settings):
    """``storage_of(cls)``: the default storage is ``cls`` on the portal's own folder."""
    def use(cls):
        settings.STORAGES = {**settings.STORAGES, "default": {
            "BACKEND": f"{cls.__module__}.{cls.__qualname__}", "OPTIONS": {"location": settings.MEDIA_ROOT}}}
    return use


@pytest.mark.parametrize("failing", [DiskFullStorage, UnreachableStoreStorage], ids=["disk-full", "store-unreachable"])
def test_a_letter_the_storage_cannot_take_is_refused_at_the_field_and_the_draft_left_as_it_was(
        officer_client, officer, storage_of, settings, failing):
    """The officer replaces the draft's letter while the storage cannot take a file: the
    letter page says so at the upload field (not the server error page), the draft and its
    letter are as they were, and the check is not counted against their
    LETTER_CHECKS_PER_HOUR: the next try, once the storage is back, is checked and kept."""
    settings.LETTER_CHECKS_PER_HOUR = 2
    application = new_application(officer)
    assert upload(officer_client, application, minimal_pdf()).status_code == 302
    letter = Attachment.objects.get(application=application)
    version, events = reload(application).version, AuditEvent.objects.count()
    storage_of(failing)
    response = upload(officer_client, application, minimal_pdf() + b"\n% corrected\n")
    assert response.status_code == 200
    error = page(response).by_id("id_letter_error")
    assert error is not None and "could not be stored" in error.text(), response.content.decode()[:3000]
    assert list(Attachment.objects.filter(application=application)) == [letter] and letter.file.storage.exists(
        letter.file.name)
    assert (reload(application).version, AuditEvent.objects.count()) == (version, events)

    storage_of(FileSystemStorage)
    assert upload(officer_client, application, minimal_pdf() + b"\n% corrected\n").status_code == 302
    assert Attachment.objects.get(application=application, is_current=True).pk != letter.pk


@pytest.mark.parametrize("failing", [DiskFullStorage, UnreachableStoreStorage], ids=["disk-full", "store-unreachable"])
def test_a_form_pdf_the_storage_cannot_take_is_downloaded_all_the_same(officer_client, officer, storage_of, failing):
    """The officer's download stores the PDF it renders: when the storage cannot take it,
    the officer gets the PDF rendered (not the server error page), stored at a later download."""
    application = new_application(officer)
    storage_of(failing)
    response = officer_client.get(f"/onboarding/{application.pk}/form.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content.startswith(b"%PDF")
    assert disposition_name(response).startswith("onboarding-form-draft-")
    assert "no-store" in response["Cache-Control"].split(", ")
    assert not ApplicationDocument.objects.filter(application=application).exists()
    storage_of(FileSystemStorage)
    assert officer_client.get(f"/onboarding/{application.pk}/form.pdf").status_code == 200
    assert ApplicationDocument.objects.filter(application=application, kind=DocumentKind.FORM_PDF).count() == 1


def test_the_competent_authoritys_form_pdf_the_storage_cannot_take_is_downloaded_all_the_same(officer, storage_of):
    application = submitted_application(officer)
    ApplicationDocument.objects.filter(application=application).delete()  # not rendered yet
    client = Client()
    review = client.get(latest_link()[0], follow=True)
    [url] = [a.get("href") for a in page(review).find_all("a") if (a.get("href") or "").endswith("form.pdf")]
    storage_of(DiskFullStorage)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert disposition_name(response) == f"{application.reference}-onboarding-form.pdf"


class UnreadableStoreStorage(FileSystemStorage):
    """An object store that cannot be reached when a file is read (boto3's error for it,
    which is no OSError); writes and removals work."""

    def _open(self, name, mode="rb"):
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="https://store.invalid/portal")


def _letter_in_english_only(officer, django_capture_on_commit_callbacks):
    """An approved application whose letter was issued before letters came in two
    languages: English only, the second language (Marathi) rendered at its download."""
    application = authority_approved(officer)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=make_state_admin("MH"))
    ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER,
                                       language="mr").delete()
    return reload(application)


@pytest.mark.parametrize("failing", [DiskFullStorage, UnreachableStoreStorage], ids=["disk-full", "store-unreachable"])
def test_an_old_letter_the_storage_cannot_take_at_its_download_is_refused_on_the_applications_page(
        officer, storage_of, failing, django_capture_on_commit_callbacks, caplog):
    """The letter in the second language, rendered at its download for a letter issued in
    English only, while the storage cannot take a file: the download was a server error.
    It now goes back to the application's page (where the letter's link is), which says the
    letter could not be prepared and to try again later; the error is logged, nothing is
    recorded, and once the storage is back the next download stores it and serves it."""
    application = _letter_in_english_only(officer, django_capture_on_commit_callbacks)
    events = AuditEvent.objects.count()
    client = Client(raise_request_exception=False)
    client.force_login(officer)
    url, detail = f"/onboarding/{application.pk}/approval-letter.pdf?language=mr", f"/onboarding/{application.pk}/"
    storage_of(failing)
    with caplog.at_level(logging.ERROR, logger="onboarding.approval.letters"):
        response = client.get(url)
    assert response.status_code == 302 and response["Location"] == detail
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [f"The approval letter of application {application.pk} ({application.reference}, mr) rendered "
                      "at a download was not stored: the storage could not take it"], errors
    said = [node.squashed_text() for node in page(client.get(detail)).iter() if "alert" in node.get("class", "").split()]
    assert "The approval letter could not be prepared just now, through no fault of the application. Try again later." \
        in said, said
    assert not ApplicationDocument.objects.filter(application=application, language="mr").exists()
    assert AuditEvent.objects.count() == events

    storage_of(FileSystemStorage)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert disposition_name(response) == f"{application.reference}-approval-letter-mr.pdf"
    assert ApplicationDocument.objects.filter(application=application, language="mr").count() == 1


def test_a_letter_the_store_cannot_be_reached_to_read_is_a_logged_404_not_a_server_error(
        officer, storage_of, django_capture_on_commit_callbacks, caplog):
    """A stored file read while the object store cannot be reached (boto3's error, no
    OSError) was a server error at every download that serves a stored file: it is the
    404 of a file storage does not give, with its error logged naming the file."""
    application = _letter_in_english_only(officer, django_capture_on_commit_callbacks)
    english = ApplicationDocument.objects.get(application=application, kind=DocumentKind.APPROVAL_LETTER, language="en")
    client = Client(raise_request_exception=False)
    client.force_login(officer)
    storage_of(UnreadableStoreStorage)
    with caplog.at_level(logging.ERROR, logger="portal.downloads"):
        response = client.get(f"/onboarding/{application.pk}/approval-letter.pdf")
    assert response.status_code == 404
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and r.name == "portal.downloads"]
    assert errors == [f"Stored file missing: {english.file.name!r} of {english._meta.label} {english.pk}"], errors


# A storage that cannot remove a file ------------------------------------------------------------

class NoDeleteStorage(FileSystemStorage):
    """The portal's folder where a removal fails (remounted read-only after an error; an
    object store with object lock, a key without the right to delete, a timeout); writes
    and reads work."""

    def delete(self, name):
        raise OSError(errno.EROFS, "Read-only file system")


def left_to_remove():
    return sorted(FileToRemove.objects.values_list("name", flat=True))


@TRANSACTIONAL
@pytest.mark.usefixtures("official_email_rules")
def test_a_letter_replaced_when_the_old_file_cannot_be_removed_is_saved_and_the_old_file_removed_later(storage_of):
    """The draft's earlier letter (never sent for a decision) is removed after the commit:
    when that fails, the officer is told the new letter was uploaded (it was), not shown
    the server error page; the old file, naming the signatory, is recorded, and the beat
    job removes it once the storage lets it."""
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in")
    application = new_application(officer)
    client = Client(raise_request_exception=False)
    client.force_login(officer)
    assert upload(client, application, minimal_pdf()).status_code == 302
    old = Attachment.objects.get(application=application).file.name
    storage_of(NoDeleteStorage)
    response = upload(client, application, minimal_pdf() + b"\n% corrected\n")
    assert response.status_code == 302 and response["Location"] == f"/onboarding/{application.pk}/tasks/"
    new = Attachment.objects.get(application=application)
    assert new.file.name != old and default_storage.exists(new.file.name) and default_storage.exists(old)
    assert left_to_remove() == [old]

    assert files_left_remove.apply().get() == 0  # the storage still refuses: kept for the next run
    assert FileToRemove.objects.get().attempts == 2
    storage_of(FileSystemStorage)
    assert files_left_remove.apply().get() == 1
    assert not default_storage.exists(old) and default_storage.exists(new.file.name)
    assert left_to_remove() == []


@TRANSACTIONAL
@pytest.mark.usefixtures("official_email_rules")
def test_a_form_pdf_replacing_an_earlier_drafts_whose_file_cannot_be_removed_is_downloaded(storage_of):
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in")
    application = new_application(officer)
    client = Client(raise_request_exception=False)
    client.force_login(officer)
    assert client.get(f"/onboarding/{application.pk}/form.pdf").status_code == 200
    old = ApplicationDocument.objects.get(application=application).file.name
    post_section(client, application, "organisation", valid("organisation"))
    storage_of(NoDeleteStorage)
    response = client.get(f"/onboarding/{application.pk}/form.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert ApplicationDocument.objects.get(application=application).version == reload(application).version
    assert left_to_remove() == [old]


@TRANSACTIONAL
@pytest.mark.usefixtures("official_email_rules")
def test_a_draft_withdrawn_when_its_files_cannot_be_removed_is_withdrawn_and_its_files_removed_later(storage_of):
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in")
    application = new_application(officer)
    client = Client(raise_request_exception=False)
    client.force_login(officer)
    assert upload(client, application, minimal_pdf()).status_code == 302
    assert client.get(f"/onboarding/{application.pk}/form.pdf").status_code == 200
    files = sorted([Attachment.objects.get().file.name, ApplicationDocument.objects.get().file.name])
    storage_of(NoDeleteStorage)
    response = client.post(f"/onboarding/{application.pk}/withdraw/", {"confirm": "yes"})
    assert response.status_code == 302
    assert reload(application).status == ApplicationStatus.WITHDRAWN
    assert left_to_remove() == files
    storage_of(FileSystemStorage)
    assert files_left_remove.apply().get() == 2
    assert not any(default_storage.exists(name) for name in files)


class ObjectLockStorage(FileSystemStorage):
    """An object store where some objects are under object lock (or a key without the right
    to delete them): their removal is refused for good; every other file is removed."""

    def delete(self, name):
        if name.startswith("locked/"):
            raise OSError(errno.EACCES, "Access denied (object lock)")
        return super().delete(name)


def test_files_the_storage_refuses_for_good_do_not_keep_later_files_from_being_removed(storage_of):
    """500 older records of files the storage refuses for good (a run's worth) stand before
    an erased person's letter recorded later: each refusal sends its file behind the rest,
    so the letter is removed at the next run, and the refused ones are tried again after."""
    storage_of(ObjectLockStorage)
    now = timezone.now()
    FileToRemove.objects.bulk_create([FileToRemove(name=f"locked/letter-{n}.pdf", recorded_at=now) for n in range(500)])
    name = default_storage.save("erased/letter-of-an-erased-person.pdf", ContentFile(b"%PDF-1.4 signatory"))
    FileToRemove.objects.create(name=name, recorded_at=now)
    assert files_left_remove.apply().get() == 0
    assert files_left_remove.apply().get() == 1
    assert not default_storage.exists(name)
    attempts = Counter(FileToRemove.objects.values_list("attempts", flat=True))
    assert attempts == {3: 499, 2: 1}  # the one the letter's turn left out is the first tried next
    assert files_left_remove.apply().get() == 0
    assert Counter(FileToRemove.objects.values_list("attempts", flat=True)) == {4: 499, 3: 1}


def test_a_file_to_remove_that_a_row_names_again_is_left_alone(officer, officer_client):
    """A removal reported as failed that had worked (a timeout after the store did it) frees
    the name, which a later upload may be given: the file a row names is never removed."""
    application = new_application(officer)
    assert upload(officer_client, application, minimal_pdf()).status_code == 302
    letter = Attachment.objects.get(application=application)
    FileToRemove.objects.create(name=letter.file.name, recorded_at=timezone.now())
    assert files_left_remove.apply().get() == 0
    assert default_storage.exists(letter.file.name) and left_to_remove() == []
    assert officer_client.get(f"/onboarding/{application.pk}/letter/{letter.pk}/").status_code == 200


def test_the_removal_of_files_left_is_on_the_beat_schedule_hourly():
    entry = settings.CELERY_BEAT_SCHEDULE["files-left-remove"]
    assert entry == {"task": "portal.privacy.tasks.files_left_remove", "schedule": timedelta(hours=1)}
