"""CSV exports: each cell a spreadsheet could take for a formula is neutralised
(a leading ', OWASP's advice for CSV injection), and the rows are streamed."""

import csv
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text cell that starts like a formula (=, +, -, @, a tab or a carriage return)
    gets a leading apostrophe, so that spreadsheets show it as text; other values
    (numbers, dates) are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The CSV text, line by line (with a byte-order mark so that spreadsheets read UTF-8)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([neutralise(str(cell)) for cell in header])
    for row in rows:
        yield writer.writerow([neutralise(cell) for cell in row])
