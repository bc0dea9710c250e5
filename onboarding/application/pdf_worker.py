"""Renders PDFs in child processes, each within limits of memory and processor time.

    python -m onboarding.application.pdf_worker --serve <base URL> <static folder>...

is the render server a web or Celery process keeps (``onboarding.application.pdf``):
it imports WeasyPrint once (about 0.75 s, which every render paid when each started a
Python of its own), then for each request it reads on its standard input, forks a
child that sets the limits, renders and exits. A request is a line
``<cpu seconds> <megabytes> <length>`` and the HTML (UTF-8, ``length`` bytes); the
answer a line ``<exit status> <length>`` and that many bytes: the PDF when the status
is 0, else what went wrong. Its first answer, empty, says it is ready (WeasyPrint
imported, a first page laid out). The server itself never parses what it is sent;
only the forked child does, under its limits, and the parent kills the server's whole
process group at the wall-clock timeout. The server has no thread when it forks.

    python -m onboarding.application.pdf_worker <cpu seconds> <megabytes> <base URL> <static folder>...

renders one PDF in a process of its own (when the server is busy with another
request of the same process): the HTML on its standard input, the PDF on its
standard output, the limits set before WeasyPrint is imported or the HTML read.

This module imports nothing of Django or of the portal: the server and the children
hold no database connection and no secret.
"""

import os
import resource
import shutil
import sys
import tempfile
from contextlib import suppress
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


def _render_in_child(write_end: int, html: bytes, *, cpu_seconds: int, megabytes: int, base_url: str,
                     roots: list[Path]) -> None:
    """What the forked child does; it never returns. Its exit status says how it went."""
    status = EXIT_FAILED
    try:
        peak_before = address_space_peak()  # the server's, inherited
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # the server's pipes to its parent are not the child's to write
            os.dup2(null, fd)
        apply_limits(cpu_seconds=cpu_seconds, megabytes=megabytes)
        done, output = rendered(html, megabytes=megabytes, base_url=base_url, roots=roots, peak_before=peak_before)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(output)
        status = done
    except MemoryError:
        status = EXIT_OUT_OF_MEMORY
    finally:
        os._exit(status)


def render_forked(html: bytes, *, cpu_seconds: int, megabytes: int, base_url: str, roots: list[Path]) -> tuple[int, bytes]:
    """Render ``html`` in a forked child under the limits: (exit status, its output);
    a negative status is the signal that ended it."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _render_in_child(write_end, html, cpu_seconds=cpu_seconds, megabytes=megabytes, base_url=base_url, roots=roots)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read()
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


# Rendered once by the server before it forks anything: what WeasyPrint, Pango and
# fontconfig set up at a first render (their caches, the fonts' files) is then set up
# in every child. It leaves no thread behind (tested), so forking stays safe.
WARM_UP = ('<html><head><link rel="stylesheet" href="css/fonts.css"></head>'
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
            cpu_seconds, megabytes, length = (int(value) for value in header.split())
            html = requests.read(length)
            if len(html) != length:
                break
            status, output = render_forked(html, cpu_seconds=cpu_seconds, megabytes=megabytes, base_url=base_url,
                                           roots=roots)
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
