"""Renders one PDF in a child process, within limits of memory and processor time.

    python -m onboarding.application.pdf_worker <cpu seconds> <megabytes> <base URL> <static folder>...

reads the HTML (UTF-8) on its standard input and writes the PDF on its standard
output. The limits are set before WeasyPrint is imported or the HTML read, so a
page whose text takes minutes or gigabytes to lay out stops at them; the parent
(``onboarding.application.pdf.render_pdf``) also kills it at a wall-clock timeout.

This module imports nothing of Django or of the portal: the child starts fast and
holds no database connection.
"""

import resource
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

EXIT_OUT_OF_MEMORY = 3
EXIT_FAILED = 4


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


def main(argv: list[str]) -> int:
    cpu_seconds, megabytes, base_url, *roots = argv
    apply_limits(cpu_seconds=int(cpu_seconds), megabytes=int(megabytes))
    try:
        html = sys.stdin.buffer.read().decode("utf-8")
        content = render(html, base_url=base_url, roots=[Path(root) for root in roots])
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    except Exception as exc:  # WeasyPrint raises many kinds; the parent logs this line
        sys.stderr.write(f"{type(exc).__name__}: {exc}"[:2000])
        return EXIT_FAILED
    sys.stdout.buffer.write(content)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
