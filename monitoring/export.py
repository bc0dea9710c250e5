"""CSV exports: each cell a spreadsheet could take for a formula is made inert
(portal.csv_files), and the rows are streamed."""

from collections.abc import Iterable, Iterator

from portal import csv_files
from portal.csv_files import neutralise


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The CSV text, line by line (with a byte-order mark so that spreadsheets read UTF-8)."""
    writer = csv_files.writer(_Echo())
    yield csv_files.UTF8_MARK + writer.writerow([neutralise(str(cell)) for cell in header])
    for row in rows:
        yield writer.writerow([neutralise(cell) for cell in row])
