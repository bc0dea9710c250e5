"""CSV exports: each cell a spreadsheet could take for a formula is made inert
(portal.csv_files), and the rows are streamed."""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.utils import translation

from portal import csv_files
from portal.csv_files import neutralise


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], records: Iterable[Any], row: Callable[[Any], Iterable[object]], *,
              language: str) -> Iterator[str]:
    """The CSV text, line by line (with a byte-order mark so that spreadsheets read UTF-8):
    the header, then ``row`` of each of ``records``. Each line is written with ``language``
    (the request's) active, and only while it is written: the lines are read after the view
    returns, on whatever thread the server iterates the body, in whatever language that
    thread has active then."""
    writer = csv_files.writer(_Echo())
    with translation.override(language):
        first = csv_files.UTF8_MARK + writer.writerow([neutralise(str(cell)) for cell in header])
    yield first
    for record in records:
        with translation.override(language):
            line = writer.writerow([neutralise(cell) for cell in row(record)])
        yield line
