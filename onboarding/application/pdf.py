"""The filled onboarding form as a PDF (WeasyPrint), rendered once per version and
language (a draft keeps only its latest version's: _earlier_drafts_remove): English,
and the application's second language (Hindi, or Marathi for Maharashtra:
notifications.mail_languages), which the person chooses on the link.

Laying out text whose length and script an officer chose can take minutes and
gigabytes (a draft with thousands of line breaks, right-to-left and zero-width
text), so every PDF is rendered in a child process (``pdf_worker``) with limits
of time and memory from the settings, one render per application version at a
time, and at most PDF_RENDERS_PER_HOUR fresh renders per account an hour (a stored
PDF is served without one). When a render is refused, goes over its limits or fails,
the caller gets ``PdfNotRendered`` and the person a message, never a 500.
"""

import atexit
import hashlib
import logging
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import IntegrityError
from django.http import HttpRequest
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from onboarding.application import pdf_worker
from onboarding.application.declarations import UNDERTAKINGS, declaration_notice_of
from onboarding.application.selectors import current_letter, stores_form_pdfs
from onboarding.application.summary import application_summary
from onboarding.models import Application, ApplicationDocument, DocumentKind
from onboarding.notifications import mail_languages
from portal.accounts.mail_limits import person_key
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.limits import hourly_slot_take, shown_from
from portal.permissions import AnyUser
from portal.privacy.models import HoldTarget
from portal.privacy.retention import legal_held
from portal.stored_files import FileNotStored, files_delete_after_commit, files_kept_if_committed

logger = logging.getLogger(__name__)

STATIC_ROOTS = [Path(p).resolve() for p in settings.STATICFILES_DIRS]
BASE_URL = STATIC_ROOTS[0].as_uri() + "/"

# What the render child inherits of this process's environment.
CHILD_ENVIRONMENT = {
    "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONPATH", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
    "XDG_DATA_DIRS", "FONTCONFIG_FILE", "FONTCONFIG_PATH",
}

# Why a PDF was not made.
BUSY = "busy"  # another request is rendering the same version
OVER_LIMIT = "over_limit"  # the render went over its time or memory limit
FAILED = "failed"  # WeasyPrint failed
TOO_MANY = "too_many"  # the person has had PDF_RENDERS_PER_HOUR renders in the last hour


class PdfNotRendered(Exception):
    def __init__(self, reason: str, *, until: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.until = until  # TOO_MANY: when the person's next render is allowed


class PdfNotStored(Exception):
    """A PDF rendered that the storage could not take (a full disk, an object store out of
    reach): ``content``, for the download to give all the same; stored at a later one."""

    def __init__(self, content: bytes) -> None:
        super().__init__("not stored")
        self.content = content


def refusal_message(reason: str, *, until: datetime | None = None) -> str:
    """What to tell the person who asked for a PDF that was not made, in their language
    (``until``: when they may ask again, for TOO_MANY)."""
    if reason == BUSY:
        return _("The PDF of this application is being prepared. Try again in a minute.")
    if reason == TOO_MANY:
        return _(
            "You have reached the most PDFs the portal prepares for one person in an hour (%(n)s): each one is laid "
            "out afresh. You can ask for another from %(when)s."
        ) % {"n": settings.PDF_RENDERS_PER_HOUR, "when": shown_from(until or timezone.now())}
    return _(
        "The PDF of this application could not be prepared: laying out its answers took longer or needed more memory "
        "than allowed. Try again later; if it fails again, the longest answers (such as the postal address) need shortening."
    )


def document_languages(application: Application) -> tuple[str, ...]:
    """The languages an application's PDFs (the form, the approval letter) are made in:
    English first, then its second language, as its mail (mail_languages)."""
    return tuple(mail_languages(application))


def requested_language(application: Application, requested: str | None) -> str | None:
    """The language asked for on a download link (none: English), or None when the
    application's documents are not made in it."""
    language = requested or "en"
    return language if language in document_languages(application) else None


def static_only_fetcher():
    """The URL fetcher every render uses: the portal's own static files and nothing else."""
    return pdf_worker.static_only_fetcher(STATIC_ROOTS)


def _worker_command(*arguments: str) -> list[str]:
    """``python -m onboarding.application.pdf_worker`` with ``arguments``, then the base URL
    and the static folders every render reads its fonts from."""
    return [sys.executable, "-m", "onboarding.application.pdf_worker", *arguments, BASE_URL,
            *(str(root) for root in STATIC_ROOTS)]


def _child_environment(folder: str) -> dict[str, str]:
    """The render processes lay out text someone typed: they get no secret of ours
    (database, keys) in their environment, only what Python and fontconfig need. Two
    malloc arenas: each of Pango's threads would otherwise reserve 64 MB of address
    space of its own, and whether a render fits under the limit would depend on timing.
    Their temporary files (WeasyPrint writes each render's fonts to a folder of its own)
    go in ``folder``, which this process removes when they are done (and the server when
    it sees this process gone): a render stopped at a limit, or a child that ends with
    ``os._exit``, leaves its folder behind."""
    return ({name: value for name, value in os.environ.items() if name in CHILD_ENVIRONMENT}
            | {"MALLOC_ARENA_MAX": "2", "TMPDIR": folder, pdf_worker.FOLDER_VARIABLE: folder})


def _temporary_folder() -> str:
    return tempfile.mkdtemp(prefix="portal-pdf-")


READY_SECONDS = 60  # a new render server's import of WeasyPrint and first layout (about 1 s)


class _RenderServer:
    """This process's render server (``pdf_worker --serve``): started at the first render
    (or by ``render_server_start`` when a web worker starts), it has WeasyPrint imported
    and forks a child per render, so a render no longer pays a Python's start and
    WeasyPrint's import (about 0.9 s). One render at a time goes through it; a render
    asked for while it is busy (another thread of the same process) runs in a process of
    its own, as every render did before. At the wall-clock limit its whole process group
    (the server and the child) is killed; the next render starts a new one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.folder: str | None = None  # the server's temporary folder (_child_environment)
        self.ready = False  # its first answer (empty: warmed up) has been read
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        """In a forked copy of this process (a Celery pool's child): the parent's server is
        not its own; close its ends of the pipes, so the server still sees its parent
        leave, and start another at the first render."""
        if self.process is not None:
            for pipe in (self.process.stdin, self.process.stdout):
                with suppress(OSError):
                    pipe.close()
        self.process, self.folder, self.lock = None, None, threading.Lock()

    def start(self) -> subprocess.Popen:
        if self.process is None or self.process.poll() is not None:
            self.stop()
            self.folder = _temporary_folder()
            self.process = subprocess.Popen(  # our own module, no shell
                _worker_command("--serve"),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0,
                cwd=settings.BASE_DIR, env=_child_environment(self.folder), start_new_session=True,
            )
            self.ready = False
        return self.process

    def wait_ready(self, deadline: float) -> None:
        """Read the server's first answer (it has imported WeasyPrint and rendered a page)."""
        if not self.ready:
            _answer_read(self.process.stdout.fileno(), deadline)
            self.ready = True

    def stop(self) -> None:
        process, self.process = self.process, None
        folder, self.folder = self.folder, None
        if process is not None:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the server and a child rendering
            process.wait()
            for pipe in (process.stdin, process.stdout):
                pipe.close()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def ask(self, request: bytes, *, seconds: float) -> tuple[int, bytes]:
        """(exit status, output) of one request (its header line and content), which may
        take ``seconds`` once the server is ready (a server just started gets
        READY_SECONDS for its import and first layout, which are not the request's);
        TimeoutError past them, OSError or EOFError when the server is gone; after any of
        them the server is stopped."""
        process = self.start()
        try:
            self.wait_ready(time.monotonic() + READY_SECONDS)
            deadline = time.monotonic() + seconds
            request = memoryview(request)
            while request:
                request = request[os.write(process.stdin.fileno(), request):]
            return _answer_read(process.stdout.fileno(), deadline)
        except BaseException:
            self.stop()
            raise


def _answer_read(fd: int, deadline: float) -> tuple[int, bytes]:
    """The render server's answer, ``<status> <length>`` and the output, read from ``fd``
    before ``deadline`` (time.monotonic)."""
    data, header, size = bytearray(), None, 0
    while header is None or len(data) < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            raise EOFError("the PDF render server stopped")
        data += chunk
        if header is None and b"\n" in data:
            line, _newline, rest = bytes(data).partition(b"\n")
            header, data = line.split(), bytearray(rest)
            size = int(header[1])
    return int(header[0]), bytes(data)


_server = _RenderServer()


def render_server_start(*, wait: float = 0) -> None:
    """Start this process's render server now, and wait up to ``wait`` seconds until it
    is ready (a web worker, before it serves its first request), so that a first render
    waits neither for WeasyPrint's import and first layout nor for the form's template
    to be compiled."""
    get_template(FORM_TEMPLATE)
    with _server.lock:
        _server.start()
        if wait:
            try:
                _server.wait_ready(time.monotonic() + wait)
            except (TimeoutError, OSError, EOFError, ValueError):
                logger.warning("PDF render server not ready after %s s; the first render starts another", wait)
                _server.stop()


def render_server_stop() -> None:
    with _server.lock:
        _server.stop()


atexit.register(render_server_stop)  # its temporary folder goes with the process


def _alone(arguments: list[str], content: bytes, *, timeout: float) -> tuple[int, bytes]:
    """One request in a process of its own (``pdf_worker`` with ``arguments``): (exit
    status, the output or what went wrong)."""
    folder = _temporary_folder()
    try:
        result = subprocess.run(  # our own module, no shell
            _worker_command(*arguments), input=content, capture_output=True, timeout=timeout,
            cwd=settings.BASE_DIR, env=_child_environment(folder), check=False,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result.returncode, result.stdout if result.returncode == 0 else result.stderr


# What the log says is done in a process of its own when the render server fails, by kind of request.
DOING = {"render": "rendering", "letter": "checking the letter", "image": "checking the image letter"}


def _in_child(kind: str, content: bytes, *, seconds: float, megabytes: int, extra: tuple[int, ...] = ()
              ) -> tuple[int, bytes]:
    """(exit status, output) of a ``kind`` request (``pdf_worker``'s protocol: "render",
    "letter" with ``extra`` its most pages, or "image" with ``extra`` its most pixels) on ``content``, within ``seconds`` of wall
    clock and processor time and ``megabytes``, through this process's render server, or,
    when another thread has it, in a ``pdf_worker`` of its own; TimeoutError or
    subprocess.TimeoutExpired (the child killed) past ``seconds``."""
    numbers = [math.ceil(seconds), megabytes, *extra]
    alone = ([] if kind == "render" else [f"--{kind}"]) + [str(number) for number in numbers]
    started = time.monotonic()
    if not _server.lock.acquire(blocking=False):
        return _alone(alone, content, timeout=seconds)
    try:
        header = " ".join([kind, *map(str, numbers[:2]), str(len(content)), *map(str, extra)])
        return _server.ask(header.encode("ascii") + b"\n" + content, seconds=seconds)
    except TimeoutError:
        # The server was stopped with the child at the limit: a new one imports WeasyPrint
        # and lays out its first page now, not while the next person waits for a PDF.
        with suppress(OSError):
            _server.start()
        raise
    except (OSError, EOFError, ValueError):
        logger.warning("PDF render server failed; %s in a process of its own", DOING[kind], exc_info=True)
        return _alone(alone, content, timeout=max(0.1, started + seconds - time.monotonic()))
    finally:
        _server.lock.release()


def _stopped_at_limits(status: int) -> bool:
    """Out of memory, or killed by a signal: SIGXCPU/SIGKILL at the processor limit,
    SIGSEGV/SIGABRT when a library could not allocate under the memory limit."""
    return status == pdf_worker.EXIT_OUT_OF_MEMORY or status < 0


def render_pdf(html: str) -> bytes:
    """``html`` as a PDF, rendered in a child process that may use at most
    PDF_RENDER_TIMEOUT_SECONDS (wall clock and processor) and PDF_RENDER_MEMORY_MB.
    Raises PdfNotRendered(OVER_LIMIT or FAILED)."""
    seconds = settings.PDF_RENDER_TIMEOUT_SECONDS
    content = html.encode("utf-8")
    started = time.monotonic()
    try:
        status, output = _in_child("render", content, seconds=seconds, megabytes=settings.PDF_RENDER_MEMORY_MB)
    except (TimeoutError, subprocess.TimeoutExpired):  # the child has been killed
        logger.warning("PDF render stopped at its time limit (%s s)", seconds)
        raise PdfNotRendered(OVER_LIMIT) from None
    if status == 0 and output.startswith(b"%PDF-"):
        return output
    elapsed = time.monotonic() - started
    if _stopped_at_limits(status):
        how = "out of memory" if status > 0 else f"signal {-status}"
        logger.warning("PDF render stopped at its limits (%s, after %.1f s; %s MB, %s s)",
                       how, elapsed, settings.PDF_RENDER_MEMORY_MB, seconds)
        raise PdfNotRendered(OVER_LIMIT)
    logger.error("PDF render failed (exit status %s after %.1f s): %s",
                 status, elapsed, output.decode("utf-8", "replace")[:1000])
    raise PdfNotRendered(FAILED)


def letter_verdict(content: bytes, *, max_pages: int) -> str:
    """``pdf_worker.letter_verdict`` of an uploaded PDF, found in a child process that may
    use at most LETTER_CHECK_SECONDS (wall clock and processor) and PDF_RENDER_MEMORY_MB:
    a PDF made to be costly to read is refused as COMPLEX when it reaches them, and the
    web process never reads it. Raises PdfNotRendered(FAILED) when the child fails
    otherwise."""
    return _checked_in_child("letter", content, (max_pages,), what="PDF", doing="reading")


def image_verdict(content: bytes, *, max_pixels: int) -> str:
    """``pdf_worker.image_verdict`` of an uploaded PNG or JPEG, found as ``letter_verdict``
    finds a PDF's, in a child under LETTER_CHECK_SECONDS and PDF_RENDER_MEMORY_MB: an image
    made to be costly to decode (a progressive JPEG whose scans repeat) is refused as
    COMPLEX when it reaches them, and the web process never decodes it. Raises
    PdfNotRendered(FAILED) when the child fails otherwise."""
    return _checked_in_child("image", content, (max_pixels,), what="image", doing="decoding")


def _checked_in_child(kind: str, content: bytes, extra: tuple, *, what: str, doing: str) -> str:
    """The verdict a child process of ``kind`` gives of ``content`` under the letter check's
    limits: COMPLEX when it reached them; PdfNotRendered(FAILED) when it failed otherwise."""
    seconds, megabytes = settings.LETTER_CHECK_SECONDS, settings.PDF_RENDER_MEMORY_MB
    try:
        status, output = _in_child(kind, content, seconds=seconds, megabytes=megabytes, extra=extra)
    except (TimeoutError, subprocess.TimeoutExpired):
        status, output = -signal.SIGKILL, b""
    if status == 0:
        return output.decode("ascii")
    if _stopped_at_limits(status):
        logger.warning("Uploaded %s refused: %s it reached the limits (exit status %s; %s MB, %s s)",
                       what, doing, status, megabytes, seconds)
        return pdf_worker.COMPLEX
    logger.error("Check of an uploaded %s failed (exit status %s): %s", what, status,
                 output.decode("utf-8", "replace")[:1000])
    raise PdfNotRendered(FAILED)


@contextmanager
def render_lock(key: str) -> Iterator[bool]:
    """Whether this request holds the render of ``key`` (one render per document
    at a time, across processes: the shared cache). Held at most as long as a render
    may last, so a lock left by a killed process ends by itself."""
    cache_key, token = f"pdf-render:{key}", uuid.uuid4().hex
    held = cache.add(cache_key, token, timeout=math.ceil(settings.PDF_RENDER_TIMEOUT_SECONDS) + 30)
    try:
        yield held
    finally:
        if held and cache.get(cache_key) == token:
            cache.delete(cache_key)


# How long a version's form, once its render went over the limits, is not laid out again in
# that language (a render stopped at its limit stores nothing): the competent authority's
# link, whose renders nobody counts (render_counted), could otherwise keep a render at its
# limit for as long as the link works. A new version of the form is tried at once.
OVER_LIMIT_KEPT_SECONDS = 15 * 60


def _form_key(application: Application, language: str) -> str:
    """What names the form of ``application``'s current version in ``language``: its render
    lock's key, and its mark of a render over the limits."""
    return f"{DocumentKind.FORM_PDF}:{application.pk}:{application.version}:{language}"


def _form_laid_out(key: str, application: Application, language: str, actor: AnyUser | None) -> bytes:
    """The form of ``application`` in ``language`` laid out (render_pdf), under the render
    lock of ``key`` the caller holds, for ``actor`` (counted: render_counted); refused
    without a render (OVER_LIMIT) while the same version went over the limits lately, and
    remembered so when this render does (OVER_LIMIT_KEPT_SECONDS)."""
    if cache.get(f"pdf-over-limit:{key}"):
        raise PdfNotRendered(OVER_LIMIT)
    render_counted(actor)
    try:
        return render_pdf(application_form_html(application, language))
    except PdfNotRendered as refused:
        if refused.reason == OVER_LIMIT:
            cache.set(f"pdf-over-limit:{key}", True, OVER_LIMIT_KEPT_SECONDS)
        raise


def render_counted(actor: AnyUser | None) -> None:
    """Count one fresh render of a PDF for ``actor`` (a form PDF; an approval letter rendered
    at a download: onboarding.approval.letters), or raise PdfNotRendered(TOO_MANY)
    when PDF_RENDERS_PER_HOUR of theirs began in the last hour, naming when the next may.

    Counted before the render, so renders stopped at their limits (the costliest) count,
    and in the shared cache (portal.limits.hourly_slot_take), since a reader's render
    writes nothing (no document, no audit row) and a refused one no audit row either.
    Nobody signed in (the competent authority's link) is not counted: they read a
    version that cannot change while it is with them."""
    if actor is None or not actor.is_authenticated:
        return
    until = hourly_slot_take("pdf-renders", person_key(actor.email), settings.PDF_RENDERS_PER_HOUR)
    if until is not None:
        raise PdfNotRendered(TOO_MANY, until=until)


def _stored_form_pdf(application: Application, language: str) -> ApplicationDocument | None:
    return ApplicationDocument.objects.filter(
        application=application, kind=DocumentKind.FORM_PDF, version=application.version, language=language
    ).first()


def _wait_for_form_pdf(application: Application, language: str) -> ApplicationDocument | None:
    """Another request is rendering this version: its PDF, if it comes within PDF_RENDER_WAIT_SECONDS."""
    deadline = time.monotonic() + settings.PDF_RENDER_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.2)
        document = _stored_form_pdf(application, language)
        if document:
            return document
    return None


FORM_TEMPLATE = "onboarding/pdf/application_form.html"


def _submission_number(application: Application) -> int:
    """Which submission the form as it stands is (1, 2, ...), or 0 when it is a draft: never
    submitted, or corrections made after a return and not sent yet (what the officer
    downloads then is marked a draft, not the submission it will replace)."""
    if not application.reference:
        return 0
    sent = list(application.versions.order_by("number").values_list("form_version", flat=True))
    if application.is_editable and sent and sent[-1] is not None and sent[-1] != application.version:
        return 0
    return len(sent)


def application_form_html(application: Application, language: str = "en") -> str:
    with translation.override(language):
        return render_to_string(
            FORM_TEMPLATE,
            {
                "language": language,
                "application": application,
                "summary": application_summary(application),
                "letter": current_letter(application),
                "notice": declaration_notice_of(application.declarations_version),
                "undertakings": UNDERTAKINGS,
                "generated_at": timezone.now(),
                "site_url": settings.SITE_URL,
                # The officer knows submissions, not the internal count of saves.
                "submission": _submission_number(application),
            },
        )


def stored_form_pdf(application: Application, language: str = "en") -> ApplicationDocument | None:
    """The PDF of the application's current version in ``language``, if it was stored already."""
    return _stored_form_pdf(application, language)


def form_pdf_for_reader(*, application: Application, actor: AnyUser, language: str = "en") -> bytes:
    """The current version's PDF for someone who only reads it (an auditor, an
    administrator): rendered now within the same limits and not stored, so that
    reading writes nothing (``actor``'s renders are counted in the cache:
    render_counted). Raises PdfNotRendered like application_form_pdf."""
    key = _form_key(application, language)
    with render_lock(key) as held:
        if not held:
            raise PdfNotRendered(BUSY)
        return _form_laid_out(key, application, language, actor)


def form_pdf_filename(application: Application, language: str = "en") -> str:
    """The name a downloaded form PDF gets: the reference once submitted, else the day's
    draft; the language's code at the end when it is not English."""
    suffix = "" if language == "en" else f"-{language}"
    if application.reference:
        return f"{application.reference}-onboarding-form{suffix}.pdf"
    return f"onboarding-form-draft-{timezone.localdate():%Y-%m-%d}{suffix}.pdf"


def _earlier_drafts_remove(application: Application) -> list[int]:
    """The form PDFs, in every language, of the application's earlier versions since it was
    last sent for a decision (or ever, if it never was) are removed, file and all: each
    save and download of a draft would otherwise keep one more file for good, and a
    language no longer asked for (the state changed, and with it the second language)
    would keep its last one. A PDF of a version sent for a decision stays, and so does
    everything while the application or its officer is under a legal hold. Returns the
    versions removed."""
    last_sent = list(application.versions.order_by("-number").values_list("form_version", flat=True)[:1])
    if last_sent and last_sent[0] is None:  # sent before the version sent was recorded: which one is unknown
        return []
    stale = list(ApplicationDocument.objects.filter(
        application=application, kind=DocumentKind.FORM_PDF,
        version__gt=last_sent[0] if last_sent else 0, version__lt=application.version,
    ).order_by("version", "language"))
    if not stale or legal_held((HoldTarget.APPLICATION, application.pk), (HoldTarget.PERSON, application.nodal_officer_id)):
        return []
    files_delete_after_commit([(old.file.storage, old.file.name) for old in stale])
    for old in stale:
        old.delete()
    return sorted({old.version for old in stale})


def application_form_pdf(*, application: Application, actor: AnyUser | None = None, language: str = "en",
                         request: HttpRequest | None = None, authority_email: str = "") -> ApplicationDocument | bytes:
    """Return the stored PDF of the application's current version in ``language``,
    rendering it only once. A render is audited as ``actor``'s, with ``request``'s address
    and browser; ``authority_email``: rendered for the competent authority's link (no
    account), audited as theirs, named by that address as their decision is.

    When, by the time the render is done, the application no longer stores its form PDFs
    (a draft withdrawn meanwhile, its PDFs removed: stores_form_pdfs) or is at another
    version (changed in another tab), the PDF rendered is returned as bytes and stored
    nowhere: the person gets the form they asked for, as it was when they asked, and
    nothing is kept of a version or a draft the portal no longer keeps PDFs of.

    Raises PdfNotRendered: BUSY when another request is rendering this version and has
    not finished within PDF_RENDER_WAIT_SECONDS, TOO_MANY when ``actor`` has had
    PDF_RENDERS_PER_HOUR renders in the last hour (render_counted), OVER_LIMIT or
    FAILED from render_pdf. Raises PdfNotStored, with the PDF rendered, when the storage
    cannot take it (nothing is recorded)."""
    existing = _stored_form_pdf(application, language)
    if existing:
        return existing
    key = _form_key(application, language)
    with render_lock(key) as held:
        if not held:
            document = _wait_for_form_pdf(application, language)
            if document is None:
                raise PdfNotRendered(BUSY)
            return document
        existing = _stored_form_pdf(application, language)  # finished just before this request took the lock
        if existing:
            return existing
        content = _form_laid_out(key, application, language, actor)
        try:
            # Rolled back (rendered at the same moment by another request, or a failure): the file goes too.
            with files_kept_if_committed() as files:
                # Under the application's lock, as the withdrawal that removes a draft's PDFs takes it.
                current = Application.objects.select_for_update().get(pk=application.pk)
                if current.version != application.version or not stores_form_pdfs(current):
                    return content
                document = ApplicationDocument(
                    application=application, kind=DocumentKind.FORM_PDF, version=application.version, language=language,
                    sha256=hashlib.sha256(content).hexdigest(), size=len(content),
                )
                reference = application.reference or f"draft-{application.pk}"
                files.save(document.file, f"{reference}-v{application.version}-{language}.pdf", ContentFile(content))
                document.save()
                replaced = _earlier_drafts_remove(current) if current.is_editable else []
                audit_record(actor=actor, action=AuditAction.APPLICATION_PDF_RENDERED, target=application,
                             request=request, actor_role="competent_authority" if authority_email else "",
                             new={"version": application.version, "language": language, "sha256": document.sha256}
                             | ({"replaced_versions": replaced} if replaced else {})
                             | ({"email": authority_email} if authority_email else {}))
        except IntegrityError:  # rendered at the same moment by another request
            document = ApplicationDocument.objects.get(
                application=application, kind=DocumentKind.FORM_PDF, version=application.version, language=language
            )
        except FileNotStored:  # rolled back: no row, no audit event
            raise PdfNotStored(content) from None
    return document
