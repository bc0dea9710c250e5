"""CSV files the portal offers for download, made inert in a spreadsheet (OWASP's advice
on CSV injection): every exported file goes through ``inert_lines`` (or ``writer`` and
``neutralise``), and starts with ``UTF8_MARK``. And what the readers of uploaded files (a roster, a list of offices)
share: ``is_blank``, ``delimiter_of``.

A cell that starts like a formula (=, +, -, @, a tab or a carriage return) gets a
leading apostrophe, which spreadsheets show and never run. So does such a character
after a separator inside the cell (a comma, a semicolon, a tab or a line break, and any
spaces): a spreadsheet whose list separator is the semicolon (Excel in many locales)
splits "Ram;=cmd|..." into two cells when the cell is not quoted, the second a formula.
And every cell is quoted, so that no spreadsheet splits one.

A file the portal wrote may come back, corrected (a roster's refused rows): ``as_typed``
takes out the apostrophes ``neutralise`` added, so that the cell is read as it was
typed (a mobile number "+91 98765 43210" as one, a formula as a formula)."""

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from itertools import chain

from django.db.models import Model, QuerySet
from django.utils import translation

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The first character of every exported file: the byte-order mark, so that spreadsheets
# read it as UTF-8 (names and headings in Devanagari), not in the system's code page.
UTF8_MARK = "\ufeff"
_AFTER_SEPARATOR = re.compile(r"([,;\t\r\n][ ]*)(?=[=+\-@])")
_ADDED_AFTER_SEPARATOR = re.compile(r"([,;\t\r\n][ ]*)'(?=[=+\-@])")


def neutralise(value: object) -> str:
    """A cell as text, made inert. Numbers and dates are left as they are: a negative
    number is no formula."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal | date | datetime) and not isinstance(value, bool):
        return str(value)
    text = _AFTER_SEPARATOR.sub(r"\1'", str(value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def as_typed(text: str) -> str:
    """A cell of a file ``neutralise`` wrote, as it was before: the apostrophe before a
    formula character at its start, or after a separator inside it, taken out."""
    if "'" not in text:
        return text
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS:
        text = text[1:]
    return _ADDED_AFTER_SEPARATOR.sub(r"\1", text)


def is_blank(cells) -> bool:
    """Whether a row read from a file holds nothing: every cell empty, only spaces, or
    None. Spreadsheets write such rows (",,,,") below a list for each row ever touched
    there (a cell cleared or formatted); the readers of uploads read past them."""
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


DELIMITERS = (",", ";", "\t")


def delimiter_of(header: str) -> str:
    """The separator of a CSV file, from its header line: of a comma (the default), a
    semicolon (what Excel writes where the comma is the decimal sign, as in many locales)
    and a tab (its "Unicode text"), the one the line holds most of."""
    return max(DELIMITERS, key=header.count)


def writer(out):
    """A csv writer quoting every cell, to ``out`` (a file, or an object whose write()
    returns the line, for streaming)."""
    return csv.writer(out, quoting=csv.QUOTE_ALL)


class _Line:
    """A file whose write() returns what it is given: the writer's line, for streaming."""

    def write(self, value: str) -> str:
        return value


def inert_lines(rows: Iterable[Iterable[object]], *, language: str, own_cells: int = 0) -> Iterator[str]:
    """A streamed CSV file, line by line: ``UTF8_MARK``, then each of ``rows`` (its cells
    made inert, each quoted; the first ``own_cells`` of each row, the portal's own words such
    as why a row was refused, written as they are, as the page shows them). Each row is
    taken from ``rows`` and written with ``language`` (the request's) active, and only then:
    the lines are read after the view returns, on whatever thread the server iterates the
    body, in whatever language that thread has active then. So ``rows`` is best a
    generator: the words it puts in a row are translated as the row is taken."""
    line = writer(_Line())
    rows = iter(rows)
    mark = UTF8_MARK
    while True:
        with translation.override(language):
            cells = next(rows, None)
            if cells is None:
                return
            cells = list(cells)
            text = mark + line.writerow([*cells[:own_cells], *(neutralise(cell) for cell in cells[own_cells:])])
        mark = ""
        yield text


def started(rows: QuerySet, chunk_size: int) -> Iterator[Model]:
    """The rows of ``rows`` (in an order that tells every row apart), read in chunks of
    ``chunk_size``, the first one now: called before a streamed file is answered, its
    query runs before the first byte is sent, so that a query that fails is an error
    page, not a file of only its header answered 200. The first chunk is a query of its
    own, no cursor left open if the file is never read; the rest, when there is more,
    one read in chunks after it."""
    first = list(rows[:chunk_size])
    if len(first) < chunk_size:
        return iter(first)
    return chain(first, rows[chunk_size:].iterator(chunk_size=chunk_size))
