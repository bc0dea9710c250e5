"""Renders PDFs, and reads uploaded ones, in child processes, each within limits of
memory and processor time.

    python -m onboarding.application.pdf_worker --serve <base URL> <static folder>...

is the render server a web or Celery process keeps (``onboarding.application.pdf``):
it imports WeasyPrint once (about 0.75 s, which every render paid when each started a
Python of its own; pypdf at the first letter), then for each request it reads on its standard input,
forks a child that sets the limits, does the work and exits. A request is a line
``render <cpu seconds> <megabytes> <length>`` and the HTML (UTF-8, ``length`` bytes),
or ``letter <cpu seconds> <megabytes> <length> <most pages>`` and an uploaded PDF to
check (``letter_verdict``), or ``image <cpu seconds> <megabytes> <length> <most pixels>``
and an uploaded PNG or JPEG to decode (``image_verdict``); the answer a line ``<exit status> <length>`` and that many
bytes: the PDF or the verdict when the status is 0, else what went wrong. Its first
answer, empty, says it is ready (WeasyPrint imported, a first page laid out). The
server itself never parses what it is sent; only the forked child does, under its
limits, and the parent kills the server's whole process group at the wall-clock
timeout. The server has no thread when it forks.

    python -m onboarding.application.pdf_worker <cpu seconds> <megabytes> <base URL> <static folder>...
    python -m onboarding.application.pdf_worker --letter <cpu seconds> <megabytes> <most pages>
    python -m onboarding.application.pdf_worker --image <cpu seconds> <megabytes> <most pixels>

renders one PDF, or checks one uploaded PDF or image, in a process of its own (when the server
is busy with another request of the same process): the HTML or the PDF on its
standard input, the PDF or the verdict on its standard output, the limits set before
WeasyPrint, pypdf or Pillow is imported or the input read.

This module imports nothing of Django or of the portal: the server and the children
hold no database connection and no secret.
"""

import io
import os
import resource
import shutil
import sys
import tempfile
from contextlib import suppress
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urlsplit

EXIT_OUT_OF_MEMORY = 3
EXIT_FAILED = 4
# The folder the server's parent made for it (its TMPDIR), which the server removes when
# it stops, whether the parent stopped it or ended without doing so (a Celery pool's
# child ends with os._exit, never running what it registered to run at exit).
FOLDER_VARIABLE = "PORTAL_PDF_FOLDER"


def allowed_path(url: str, roots: list[Path]) -> Path | None:
    """The local path of a file:// URL inside one of ``roots``, or None."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path)).resolve()
    for root in roots:
        if path.is_relative_to(root) and path.is_file():
            return path
    return None


def static_only_fetcher(roots: list[Path]):
    """A WeasyPrint URL fetcher that fetches the files under ``roots`` (the portal's
    static files: fonts) and nothing else: no other local path, no network, no data: URLs."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            path = allowed_path(url, roots)
            if path is None:
                raise ValueError(f"refused to fetch {url[:200]!r}: only the portal's static files are allowed")
            mime = {".ttf": "font/ttf", ".css": "text/css", ".png": "image/png"}.get(path.suffix, "application/octet-stream")
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})

    return StaticOnlyFetcher()


def render(html: str, *, base_url: str, roots: list[Path]) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=base_url, url_fetcher=static_only_fetcher(roots)).write_pdf()


def apply_limits(*, cpu_seconds: int, megabytes: int) -> None:
    """At most ``cpu_seconds`` of processor time (then SIGXCPU, a second later SIGKILL)
    and ``megabytes`` of address space (then MemoryError); no core file."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    size = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (size, size))


def address_space_peak() -> int:
    """This process's largest address space so far, in bytes (0 where /proc does not say).
    A forked child starts with its parent's."""
    try:
        return int(Path("/proc/self/status").read_text().split("VmPeak:")[1].split()[0]) * 1024
    except (OSError, IndexError, ValueError):
        return 0


def reached_memory_limit(megabytes: int, *, peak_before: int = 0) -> bool:
    """Whether this process's address space grew (past ``peak_before``, the peak it started
    with) to within 5% of the limit: an allocation refused there may surface as another
    error than MemoryError (a C library's failure reported as SystemError), and it is
    still the limit that stopped the render."""
    peak = address_space_peak()
    return peak > peak_before and peak >= megabytes * 1024 * 1024 * 0.95


def rendered(html: bytes, *, megabytes: int, base_url: str, roots: list[Path], peak_before: int = 0) -> tuple[int, bytes]:
    """Render ``html`` in this process, already under its limits: (0, the PDF), or (the exit
    status saying why not, what went wrong). ``peak_before``: the address-space peak the
    process started with (a forked child's is its server's)."""
    try:
        return 0, render(html.decode("utf-8"), base_url=base_url, roots=roots)
    except MemoryError:
        return EXIT_OUT_OF_MEMORY, b""
    except Exception as exc:  # WeasyPrint raises many kinds; the parent logs this line
        why = f"{type(exc).__name__}: {exc}"[:2000].encode("utf-8", "replace")
        return (EXIT_OUT_OF_MEMORY if reached_memory_limit(megabytes, peak_before=peak_before) else EXIT_FAILED), why

# What makes a PDF reader run something or open a file the portal never checked, as a
# key anywhere under the catalogue (its pages, annotations, name trees, outlines, form)
# or as the type of an action or annotation. A signed letter, scanned or exported, has
# none of them; the competent authority and the administrators open it in their readers.
PDF_ACTIVE_KEYS = frozenset({"/JavaScript", "/JS", "/AA", "/Launch", "/EmbeddedFiles", "/EF", "/RichMedia",
                             "/RichMediaContent", "/XFA", "/3DD", "/OnInstantiate"})
PDF_ACTIVE_TYPES = frozenset({"/JavaScript", "/Launch", "/RichMedia", "/RichMediaExecute", "/FileAttachment",
                              "/SubmitForm", "/ImportData", "/GoToR", "/GoToE", "/GoTo3DView", "/Rendition",
                              "/Movie", "/Sound", "/3D"})
# What a reader cannot be made to run is known; what it can grows with each version of
# PDF and each reader's extensions. So an annotation (one a page lists in /Annots, or one
# saying /Type /Annot) is accepted only of the kinds that show marks, notes, links and
# form fields and signatures (PDF 32000-1, 12.5.6: no 3D, Screen, Movie, Sound,
# RichMedia, FileAttachment, Projection ...), and an action (the /A of an annotation or
# an outline item, the /Next that follows an action, one saying /Type /Action) only when
# it goes to a page of the letter or a web address.
PDF_SAFE_ANNOTATIONS = frozenset({
    "/Link", "/Text", "/Highlight", "/Underline", "/StrikeOut", "/Squiggly", "/FreeText", "/Stamp", "/Ink",
    "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine", "/Popup", "/Caret", "/Widget", "/Watermark",
    "/Redact"})
PDF_SAFE_ACTIONS = frozenset({"/URI", "/GoTo"})
# A web address (/URI) is one of these kinds: "javascript:" runs a script in some readers,
# "file:" opens what is on the reader's computer.
PDF_SAFE_URI_SCHEMES = ("http:", "https:", "mailto:")
PDF_ACTION_KEYS = ("/A", "/PA", "/Next")
# Most objects and entries the check looks at: a letter of a few tens of pages, scanned
# or exported with its fonts, has a few hundred objects and some thousands of entries.
# Past this the file is refused, not walked on; each object read is within pypdf's own
# limits (100,000 entries an array or dictionary), and the whole check within the
# child's limits of time and memory.
PDF_CHECK_MAX_OBJECTS = 5_000
PDF_CHECK_MAX_ENTRIES = 200_000
# The verdicts on an uploaded PDF other than its page count ("pages <n>").
ENCRYPTED, ACTIVE, COMPLEX, CORRUPT = "encrypted", "active", "complex", "corrupt"
# The verdicts on an uploaded image (besides CORRUPT, and COMPLEX at the child's limits).
IMAGE_OK, TOO_MANY_PIXELS = "ok", "pixels"


def _pdf_active_entry(key, value) -> bool:
    """Whether a dictionary's entry makes a reader run or open something."""
    return key in PDF_ACTIVE_KEYS or (key in ("/S", "/Subtype") and value.get_object() in PDF_ACTIVE_TYPES)


def _pdf_unsafe_action(action) -> bool:
    """Whether ``action`` (the value of an /A, /PA or /Next entry, resolved: an action, or
    for /Next an array of them) is one other than going to a page or a web address (one
    of PDF_SAFE_URI_SCHEMES). A
    value that is no dictionary saying its kind (/S) is no action: a structure element's
    /A holds its attributes."""
    from pypdf.generic import ArrayObject, DictionaryObject

    for item in action if isinstance(action, ArrayObject) else [action]:
        item = item.get_object()
        if not isinstance(item, DictionaryObject) or "/S" not in item:
            continue
        kind = item["/S"].get_object()
        if kind not in PDF_SAFE_ACTIONS:
            return True
        if kind == "/URI":
            address = item.get("/URI")
            address = address.get_object() if address is not None else None
            if isinstance(address, bytes):
                address = address.decode("latin-1")
            if not isinstance(address, str) or not address.strip().lower().startswith(PDF_SAFE_URI_SCHEMES):
                return True
    return False


def _pdf_unsafe_annotation(annotation) -> bool:
    """Whether ``annotation`` (resolved) is of a kind not in PDF_SAFE_ANNOTATIONS, or of none."""
    from pypdf.generic import DictionaryObject

    if not isinstance(annotation, DictionaryObject):
        return False  # a null or a missing object in a page's list: no annotation a reader shows
    subtype = annotation.get("/Subtype")
    return subtype is None or subtype.get_object() not in PDF_SAFE_ANNOTATIONS


def _pdf_dictionary_verdict(node, budget: int) -> tuple[str | None, int]:
    """ACTIVE when the dictionary ``node`` makes a reader run or open something, COMPLEX
    when telling would read more than ``budget`` entries, else None; and how many entries
    beyond its own were read (those of its /A, /PA, /Next and /Annots)."""
    from pypdf.generic import ArrayObject, DictionaryObject

    if any(_pdf_active_entry(key, value) for key, value in node.items()):
        return ACTIVE, 0
    kind = node.get("/Type")
    kind = kind.get_object() if kind is not None else None
    if (kind == "/Annot" and _pdf_unsafe_annotation(node)) or (kind == "/Action" and _pdf_unsafe_action(node)):
        return ACTIVE, 0
    read = 0
    for key in PDF_ACTION_KEYS:
        if key in node:
            action = node[key].get_object()
            read += len(action) if isinstance(action, DictionaryObject | ArrayObject) else 0
            if read > budget:
                return COMPLEX, read
            if _pdf_unsafe_action(action):
                return ACTIVE, read
    # A page's annotations are checked from the page, not when the walk reaches each of
    # them: it reaches each object once, and may reach an annotation first some other
    # way (as a popup's /Parent), not knowing it is one.
    annotations = node.get("/Annots")
    annotations = annotations.get_object() if annotations is not None else None
    if isinstance(annotations, ArrayObject):
        read += len(annotations)  # paid again at each page that shares the list
        if read > budget:
            return COMPLEX, read
        if any(_pdf_unsafe_annotation(annotation.get_object()) for annotation in annotations):
            return ACTIVE, read
    return None, read


def pdf_active_content(reader) -> str | None:
    """The reason to refuse ``reader``'s PDF (ACTIVE: a script, an action run on opening
    or on an event, an action other than going to a page or a web address, an annotation
    not of a kind known to be safe, a launched program, an embedded or attached file;
    COMPLEX: more than PDF_CHECK_MAX_OBJECTS objects or PDF_CHECK_MAX_ENTRIES entries to
    look at), or None. Walks what is reachable from the catalogue, each object once,
    reading no stream's content."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    containers = (DictionaryObject, ArrayObject, IndirectObject)
    catalogue = reader.trailer["/Root"]
    open_action = catalogue.get("/OpenAction")
    if open_action is not None and isinstance(open_action.get_object(), DictionaryObject):
        return ACTIVE  # an action; a plain destination (page and view) is an array
    seen, entries = set(), 0
    pending = [catalogue]
    while pending:
        node = pending.pop()
        if isinstance(node, IndirectObject):
            if (node.idnum, node.generation) in seen:
                continue
            seen.add((node.idnum, node.generation))
            if len(seen) > PDF_CHECK_MAX_OBJECTS:
                return COMPLEX
            node = node.get_object()
        if not isinstance(node, DictionaryObject | ArrayObject):
            continue
        entries += len(node)
        if entries > PDF_CHECK_MAX_ENTRIES:
            return COMPLEX
        if isinstance(node, DictionaryObject):  # a stream's dictionary too
            refused, read = _pdf_dictionary_verdict(node, PDF_CHECK_MAX_ENTRIES - entries)
            if refused:
                return refused
            entries += read
            pending.extend(value for value in node.values() if isinstance(value, containers))
        else:
            pending.extend(value for value in node if isinstance(value, containers))
    return None


# Readers take a file for a PDF when "%PDF-" is within its first 1,024 bytes (after a line
# break, a byte-order mark, a mail gateway's header left in): the file is read from there.
PDF_HEADER = b"%PDF-"
PDF_HEADER_WITHIN = 1024


def pdf_header_at(content: bytes) -> int:
    """Where "%PDF-" begins within the first PDF_HEADER_WITHIN bytes of ``content``, or -1."""
    return content.find(PDF_HEADER, 0, PDF_HEADER_WITHIN)


def _opened_without_password(reader):
    """How ``reader``'s PDF opens with the empty password (pypdf's PasswordType);
    NOT_DECRYPTED too when its encryption cannot be read (a handler pypdf does not know)."""
    from pypdf import PasswordType
    from pypdf.errors import DependencyError, PyPdfError

    try:
        return reader.decrypt("")
    except (NotImplementedError, DependencyError, PyPdfError):  # an unknown or damaged handler
        return PasswordType.NOT_DECRYPTED


def letter_verdict(content: bytes, *, max_pages: int) -> str:
    """What the check of an uploaded PDF finds: ``pages <n>`` (readable without a password,
    and when it has no more than ``max_pages`` pages, no active content), else ENCRYPTED,
    ACTIVE, COMPLEX or CORRUPT. A PDF encrypted with only an owner password (editing or
    printing restricted, what scanners' "secure PDF" saves) opens in every reader without
    one: it is decrypted with the empty password and checked as any other; ENCRYPTED is a
    PDF that asks for a password to open. Reading a PDF made to be costly (a page tree of
    a million leaves, a compressed object that inflates without end) takes as long and as
    much memory as its maker wants: it runs in a child under limits, never in a web process.
    The PDF is read from its header (``pdf_header_at``), as readers read one that has a
    few bytes before it."""
    from pypdf import PasswordType, PdfReader

    try:
        try:
            reader = PdfReader(io.BytesIO(content[max(pdf_header_at(content), 0):]))  # from its header, as readers read it
        except NotImplementedError:
            # Encrypted by a handler pypdf does not know (for a digital certificate's holder:
            # "Adobe.PubSec"): it asks for something to open, as a password-protected one does.
            return ENCRYPTED if b"/Encrypt" in content else CORRUPT
        if reader.is_encrypted and _opened_without_password(reader) == PasswordType.NOT_DECRYPTED:
            return ENCRYPTED
        pages = len(reader.pages)
        if pages <= max_pages:
            refused = pdf_active_content(reader)
            if refused:
                return refused
        return f"pages {pages}"
    except MemoryError:
        raise
    except Exception:  # pypdf raises many kinds on a damaged file
        return CORRUPT


def image_verdict(content: bytes, *, max_pixels: int) -> str:
    """What the check of an uploaded PNG or JPEG finds: IMAGE_OK when it decodes whole (not
    a file cut short, whose chunks Pillow's verify() alone passes), TOO_MANY_PIXELS when
    it declares more than ``max_pixels`` (read from its header, before any pixel is
    decoded; Pillow's own warning of a decompression bomb too), else CORRUPT. Decoding
    takes as long as the file's maker wants (a progressive JPEG whose scans repeat): it
    runs in a child under limits, never in a web process.

    Pillow fills a cut-off image in silently while ImageFile.LOAD_TRUNCATED_IMAGES, one
    switch for the whole process, is on (WeasyPrint turns it on when it is imported, as in
    the render server): it is off while the image decodes, and put back after."""
    import warnings

    from PIL import Image, ImageFile

    was = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                if image.width * image.height > max_pixels:
                    return TOO_MANY_PIXELS
                image.verify()
            with Image.open(io.BytesIO(content)) as image:  # verify() leaves the image unusable
                image.load()
        return IMAGE_OK
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        return TOO_MANY_PIXELS
    except MemoryError:
        raise
    except Exception:  # Pillow raises many kinds on a damaged file
        return CORRUPT
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = was


def checked(content: bytes, *, max_pages: int) -> tuple[int, bytes]:
    """``letter_verdict`` in this process, already under its limits: (0, the verdict) or
    (EXIT_OUT_OF_MEMORY, nothing)."""
    try:
        return 0, letter_verdict(content, max_pages=max_pages).encode("ascii")
    except MemoryError:
        return EXIT_OUT_OF_MEMORY, b""


def image_checked(content: bytes, *, max_pixels: int, megabytes: int, peak_before: int = 0) -> tuple[int, bytes]:
    """``image_verdict`` in this process, already under its limits of ``megabytes``: (0, the
    verdict) or (EXIT_OUT_OF_MEMORY, nothing). Pillow reports an allocation refused at
    the limit as a damaged file (an OSError from its decoder): when the address space
    grew to the limit (past ``peak_before``, the peak the process started with), it was
    the limit that stopped the decoding."""
    try:
        verdict = image_verdict(content, max_pixels=max_pixels)
    except MemoryError:
        return EXIT_OUT_OF_MEMORY, b""
    if verdict == CORRUPT and reached_memory_limit(megabytes, peak_before=peak_before):
        return EXIT_OUT_OF_MEMORY, b""
    return 0, verdict.encode("ascii")


def _checked_after_fork(content: bytes, peak_before: int, *, max_pages: int) -> tuple[int, bytes]:
    return checked(content, max_pages=max_pages)


def _image_checked_after_fork(content: bytes, peak_before: int, *, max_pixels: int, megabytes: int
                              ) -> tuple[int, bytes]:
    return image_checked(content, max_pixels=max_pixels, megabytes=megabytes, peak_before=peak_before)


def _rendered_after_fork(html: bytes, peak_before: int, *, megabytes: int, base_url: str,
                         roots: list[Path]) -> tuple[int, bytes]:
    return rendered(html, megabytes=megabytes, base_url=base_url, roots=roots, peak_before=peak_before)


def _work_in_child(write_end: int, work, *, cpu_seconds: int, megabytes: int) -> None:
    """What the forked child does; it never returns. Its exit status says how it went.
    ``work(peak_before)`` gives (exit status, output), ``peak_before`` being the
    address-space peak inherited from the server."""
    status = EXIT_FAILED
    try:
        peak_before = address_space_peak()  # the server's, inherited
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # the server's pipes to its parent are not the child's to write
            os.dup2(null, fd)
        apply_limits(cpu_seconds=cpu_seconds, megabytes=megabytes)
        done, output = work(peak_before)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(output)
        status = done
    except MemoryError:
        status = EXIT_OUT_OF_MEMORY
    finally:
        os._exit(status)


def forked(work, *, cpu_seconds: int, megabytes: int) -> tuple[int, bytes]:
    """Do ``work`` (see _work_in_child) in a forked child under the limits: (exit status,
    its output); a negative status is the signal that ended it."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _work_in_child(write_end, work, cpu_seconds=cpu_seconds, megabytes=megabytes)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read()
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


# Rendered once by the server before it forks anything: what WeasyPrint, Pango and
# fontconfig set up at a first render (their caches, the fonts' files) is then set up
# in every child. It leaves no thread behind (tested), so forking stays safe.
WARM_UP = ('<html><head><link rel="stylesheet" href="css/pdf-fonts.css"></head>'
           '<body style="font-family: \'Noto Sans\', \'Noto Sans Devanagari\', sans-serif">'
           '<p>Onboarding <b>form</b> आवेदन <b>पत्र</b></p></body></html>')


def emptied(folder: Path) -> None:
    """Remove what is in ``folder``: the temporary files of a child that has ended."""
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with suppress(FileNotFoundError):
                os.unlink(entry.path)


def serve(base_url: str, roots: list[Path]) -> int:
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    # A folder of the server's own for its children's temporary files (WeasyPrint
    # writes each render's fonts to a new folder, removed only when the render's
    # objects are collected, which an ``os._exit`` or a limit's signal never does),
    # emptied after each child.
    work = Path(tempfile.mkdtemp(prefix="render-"))
    tempfile.tempdir = str(work)
    try:
        render(WARM_UP, base_url=base_url, roots=roots)
        answers.write(b"0 0\n")  # ready: an empty answer before the first
        answers.flush()
        while header := requests.readline():
            kind, *numbers = header.split()
            cpu_seconds, megabytes, length, *more = (int(value) for value in numbers)
            content = requests.read(length)
            if len(content) != length:
                break
            if kind == b"letter":
                import pypdf  # noqa: F401 -- once, at the first letter, not in every letter's child

                job = partial(_checked_after_fork, content, max_pages=more[0])
            elif kind == b"image":
                from PIL import Image

                Image.preinit()  # its PNG and JPEG readers, once, at the first image, not in every image's child
                job = partial(_image_checked_after_fork, content, max_pixels=more[0], megabytes=megabytes)
            else:
                job = partial(_rendered_after_fork, content, megabytes=megabytes, base_url=base_url, roots=roots)
            status, output = forked(job, cpu_seconds=cpu_seconds, megabytes=megabytes)
            emptied(work)
            answers.write(b"%d %d\n" % (status, len(output)))
            answers.write(output)
            answers.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if os.environ.get(FOLDER_VARIABLE):
            with suppress(OSError):  # only when empty: nothing but the server's own was in it
                os.rmdir(os.environ[FOLDER_VARIABLE])
    return 0  # the parent closed its end: it has stopped


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"]:
        base_url, *roots = argv[1:]
        return serve(base_url, [Path(root) for root in roots])
    if argv[:1] in (["--letter"], ["--image"]):
        cpu_seconds, megabytes, most = (int(value) for value in argv[1:4])
        apply_limits(cpu_seconds=cpu_seconds, megabytes=megabytes)
        try:
            content = sys.stdin.buffer.read()
            if argv[0] == "--letter":
                status, output = checked(content, max_pages=most)
            else:
                status, output = image_checked(content, max_pixels=most, megabytes=megabytes)
        except MemoryError:
            return EXIT_OUT_OF_MEMORY
        sys.stdout.buffer.write(output)
        sys.stdout.buffer.flush()
        return status
    cpu_seconds, megabytes, base_url, *roots = argv
    apply_limits(cpu_seconds=int(cpu_seconds), megabytes=int(megabytes))
    try:
        html = sys.stdin.buffer.read()
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    status, output = rendered(html, megabytes=int(megabytes), base_url=base_url, roots=[Path(root) for root in roots])
    stream = sys.stdout.buffer if status == 0 else sys.stderr.buffer
    stream.write(output)
    stream.flush()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
