"""Reading a roster file: CSV (UTF-8, with or without a byte-order mark; comma,
semicolon or tab) or XLSX (its first sheet whose first row names the template's columns,
read with openpyxl in read-only mode), one row at a time, so that memory does not grow
with the file.

``read_roster`` yields ``(line, cells)``: the line as the spreadsheet numbers it (the
header is line 1) and the cells by column key. A file that cannot be read as a
roster raises ``RosterFileError`` with a message for the person who uploaded it.
Blank lines are skipped, before the header too (their numbers are kept for the lines
after them).
"""

import codecs
import csv
import datetime
import io
import itertools
import struct
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from xml.parsers import expat

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from portal.csv_files import delimiter_of, is_blank
from portal.figures import counted

CSV = "csv"
XLSX = "xlsx"


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as the template writes it (English; matched case-insensitively)
    label: object  # translated, for messages
    required: bool = True


COLUMNS = (
    Column("name", "Name", gettext_lazy("name")),
    Column("email", "Official email", gettext_lazy("official email")),
    Column("mobile", "Mobile", gettext_lazy("mobile")),
    Column("designation", "Designation", gettext_lazy("designation")),
    Column("employee_code", "Employee code", gettext_lazy("employee code")),
    Column("office", "Office", gettext_lazy("office")),
    Column("superannuation", "Date of superannuation", gettext_lazy("date of superannuation"), required=False),
)
HEADERS = [column.header for column in COLUMNS]
MAX_COLUMNS = 50  # cells read of each row; columns past these are ignored
XLSX_MAX_UNPACKED = 200 * 1024 * 1024  # what the parts of a workbook may unpack to, together
# openpyxl streams the worksheets (read-only mode) but reads the other parts whole: the
# styles as an XML tree, every shared string into a list. A roster's own need no more than
# these (Excel's shared strings of 100,000 rows: about 25 MB, five strings or so a row).
XLSX_MAX_PART = 4 * 1024 * 1024  # each part but the worksheets and the shared strings
XLSX_MAX_SHARED_STRINGS = 40 * 1024 * 1024
MAX_BLANK_LINES = 10_000  # empty rows read past (each costs reading; a roster has a few)


def max_rows() -> int:
    return getattr(settings, "ROSTER_MAX_ROWS", 100_000)


def max_bytes() -> int:
    return getattr(settings, "ROSTER_MAX_BYTES", 10 * 1024 * 1024)


def check_seconds() -> float:
    """The time a file may take to be read, checked and staged in the web request."""
    return getattr(settings, "ROSTER_CHECK_SECONDS", 20)


class RosterFileError(Exception):
    """The file cannot be read as a roster; the message says why, for the uploader."""


def _header_key(text: object) -> str:
    return " ".join(str(text or "").replace("_", " ").replace("\ufeff", "").split()).lower()


_ALIASES = {_header_key(column.header): column.key for column in COLUMNS}
_ALIASES.update({"email": "email", "official email address": "email", "mobile number": "mobile",
                 "superannuation date": "superannuation", "office or unit": "office"})


def _missing_columns(header: list[object]) -> list[str]:
    """The required columns ``header`` does not name, as the file must name them (the
    template's headers, in English whatever the page's language), quoted."""
    named = {_ALIASES.get(_header_key(text)) for text in header}
    return [f"“{column.header}”" for column in COLUMNS if column.required and column.key not in named]


def _columns_of(header: list[object]) -> dict[str, int]:
    """{column key: position} from the header row; raises RosterFileError when a
    column is missing or named twice."""
    positions: dict[str, int] = {}
    for position, text in enumerate(header):
        key = _ALIASES.get(_header_key(text))
        if key is None:
            continue
        if key in positions:
            raise RosterFileError(_("The column “%(column)s” appears twice in the first row.") % {"column": str(text)})
        positions[key] = position
    missing = _missing_columns(header)
    if missing:
        raise RosterFileError(
            _("The first row must name the columns of the template. Missing: %(columns)s. Download the template and "
              "copy your rows into it.") % {"columns": ", ".join(missing)}
        )
    return positions


def _too_many_rows() -> RosterFileError:
    return RosterFileError(_("The file has more than %(max)s rows: split it into several files of at most %(max)s rows.")
                           % {"max": f"{max_rows():,}"})


def _out_of_time(deadline: float | None) -> None:
    """RosterFileError once ``deadline`` (time.monotonic()) has passed: a file whose cost
    its uploader controls (cells of thousands of characters, a workbook that unpacks to
    far more than it weighs) is read in the web request, which must end well before the
    web worker's timeout ends it with nothing said, audited or counted."""
    if deadline is not None and time.monotonic() > deadline:
        seconds = check_seconds()
        raise RosterFileError(ngettext(
            "The file took longer than %(seconds)s second to read and check: split it into smaller files and upload "
            "them one by one.",
            "The file took longer than %(seconds)s seconds to read and check: split it into smaller files and upload "
            "them one by one.", counted(seconds)) % {"seconds": f"{seconds:g}"})


def _cells(row: tuple | list, positions: dict[str, int]) -> dict[str, object]:
    return {key: (row[position] if position < len(row) else None) for key, position in positions.items()}


def _rows(rows: Iterator, *, empty_message: str, deadline: float | None) -> Iterator[tuple[int, dict[str, object]]]:
    header = None
    line = 0
    seen = blanks = 0
    for line, row in enumerate(rows, start=1):
        _out_of_time(deadline)  # each row: the checks and staging of the rows before count too
        row = list(row[:MAX_COLUMNS])
        if header is None and not is_blank(row):  # blank lines before it are read past
            header = _columns_of(row)
            continue
        if is_blank(row):
            blanks += 1
            if blanks > MAX_BLANK_LINES:
                raise RosterFileError(_("The file has more than %(max)s empty rows: delete the empty rows, or copy "
                                        "only the roster's rows into the template, and upload it again.")
                                      % {"max": f"{MAX_BLANK_LINES:,}"})
            continue
        seen += 1
        if seen > max_rows():
            raise _too_many_rows()
        yield line, _cells(row, header)
    if header is None:
        raise RosterFileError(empty_message)
    if not seen:
        raise RosterFileError(_("The file has a header row but no people below it."))


# What detect_format is given of a file: its start, where a compound file (OLE2: the old
# Excel format, and a workbook saved with a password) has the names of its streams.
HEAD_BYTES = 64 * 1024
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")  # the stream of a workbook with a password


def detect_format(name: str, head: bytes) -> str:
    """"xlsx" for a ZIP file (what an XLSX file is), "csv" otherwise; refuses the old
    binary Excel format, which looks like neither, and a workbook saved with a password
    (a compound file like the old format, holding the encrypted workbook)."""
    if head.startswith(b"PK\x03\x04"):
        return XLSX
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        if _ENCRYPTED_PACKAGE in head or name.lower().endswith(".xlsx"):
            raise RosterFileError(_("This workbook is protected by a password. Open it in your spreadsheet, remove the "
                                    "password (File, Info, Protect Workbook) and save it again, then upload it."))
        raise RosterFileError(_("This is an old Excel file (.xls). Save it as “Excel Workbook (.xlsx)” or as "
                                "“CSV UTF-8” and upload that."))
    if name.lower().endswith(".xlsx"):
        raise RosterFileError(_("This file is named .xlsx but is not an Excel workbook. Save it again from your "
                                "spreadsheet as “Excel Workbook (.xlsx)”."))
    return CSV


# The characters of one row of a CSV file (its lines, when a quoted cell holds line breaks),
# read before the csv module splits it: it builds the whole row, a string a cell, before
# the columns past MAX_COLUMNS are dropped (a line of 10 MB, "xy,xy,...", cost 180 MB).
# Twice the csv module's limit of one cell, so that a cell too long is named as such.
CSV_MAX_ROW_CHARS = 256 * 1024


class _BoundedLines:
    """The lines of a text file, for the csv module: RosterFileError when those of one
    row are longer than CSV_MAX_ROW_CHARS together (the reader says when a row ends)."""

    def __init__(self, text):
        self.text = text
        self.row, self.used = 1, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.text.readline(CSV_MAX_ROW_CHARS + 1 - self.used)
        if not line:
            raise StopIteration
        self.used += len(line)
        if self.used > CSV_MAX_ROW_CHARS:
            raise RosterFileError(_("Line %(line)s of the file is longer than %(n)s characters: no row of a roster "
                                    "holds that much. Check the file for a quotation mark that is never closed.")
                                  % {"line": f"{self.row:,}", "n": f"{CSV_MAX_ROW_CHARS:,}"})
        return line

    def row_read(self) -> None:
        self.row, self.used = self.row + 1, 0


def _csv_lines(binary) -> Iterator[list[str]]:
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")
    try:
        lines = _BoundedLines(text)
        first = next(lines, "")
        # Blank lines before the header (at most MAX_BLANK_LINES: _rows refuses more) are
        # read past, to take the delimiter from the header; given as empty rows, so that
        # the lines after keep their numbers.
        leading = 0
        while first and not first.strip() and leading <= MAX_BLANK_LINES:
            lines.row_read()
            leading += 1
            first = next(lines, "")
        yield from itertools.repeat([], leading)
        delimiter = delimiter_of(first)
        # The reader reads no further than the end of the row it returns.
        for row in csv.reader(itertools.chain([first], lines), delimiter=delimiter, strict=False):
            lines.row_read()
            yield row
    except UnicodeDecodeError as exc:
        raise RosterFileError(_("The file is not UTF-8 text. In your spreadsheet choose “Save as” and the type "
                                "“CSV UTF-8 (comma delimited)”, or upload it as an Excel workbook (.xlsx).")) from exc
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise RosterFileError(_("A cell of the file is longer than %(n)s characters: no column of a roster holds "
                                    "that much. Check the file for a quotation mark that is never closed.")
                                  % {"n": f"{csv.field_size_limit():,}"}) from exc
        raise RosterFileError(_("The file cannot be read as CSV. Save it again as “CSV UTF-8” from your "
                                "spreadsheet.")) from exc
    finally:
        text.detach()


LETTERS_LOST_NAMED = 10  # rows named in the refusal of a file whose letters were lost


def letters_may_be_lost(binary: BinaryIO, *, file_format: str) -> bool:
    """Whether the file's "?" may stand for letters lost (letters_lost): only in a plain CSV,
    saved in a code page without Devanagari. A workbook keeps every letter, and so does a CSV
    that begins with UTF-8's mark ("CSV UTF-8"): a "?" there is one typed (an unknown value).
    ``binary`` is left at its start."""
    if file_format == XLSX:
        return False
    marked = binary.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
    binary.seek(0)
    return not marked


def letters_lost(lines: list[int], count: int) -> RosterFileError:
    """The refusal of a file ``count`` of whose rows have "?" where letters belong (the
    first of them ``lines``): saved as plain CSV, in a code page without Devanagari."""
    named = ", ".join(f"{line:,}" for line in lines[:LETTERS_LOST_NAMED]) + (" …" if count > LETTERS_LOST_NAMED else "")
    return RosterFileError(
        ngettext("%(n)s row has “?” where letters belong (row %(lines)s): the file was saved as plain CSV, which writes "
                 "“?” for every Hindi or Marathi letter. In your spreadsheet choose “Save as” and the type “CSV UTF-8 "
                 "(comma delimited)”, or upload it as an Excel workbook (.xlsx).",
                 "%(n)s rows have “?” where letters belong (rows %(lines)s): the file was saved as plain CSV, which "
                 "writes “?” for every Hindi or Marathi letter. In your spreadsheet choose “Save as” and the type “CSV "
                 "UTF-8 (comma delimited)”, or upload it as an Excel workbook (.xlsx).", count)
        % {"n": f"{count:,}", "lines": named})


def _xlsx_value(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        return value.date() if value.time() == datetime.time(0) else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return _formula_text(value)


def _formula_text(value):
    """An array formula ({=...}) or a data table ({=TABLE(...)}) comes as an openpyxl
    object: read as the formula it is, for the check to refuse (never as the object's
    name). Any other value as it is."""
    from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula  # noqa: PLC0415 (only for workbooks)

    if isinstance(value, ArrayFormula):
        return "=" + (value.text or "").removeprefix("=")
    if isinstance(value, DataTableFormula):
        return f"=TABLE({value.r1 or ''},{value.r2 or ''})"
    return value


def _part_limit(name: str) -> int:
    if name.startswith("xl/worksheets/"):
        return XLSX_MAX_UNPACKED
    if name == SHARED_STRINGS:
        return XLSX_MAX_SHARED_STRINGS
    return XLSX_MAX_PART


SHARED_STRINGS = "xl/sharedStrings.xml"
# openpyxl reads an XML part as a tree built as it goes, and clears only some elements of it:
# each row of a worksheet once read, each shared string (<si>). Every other element stays
# until the part ends, and a row is built whole, every cell of it, before the columns past
# MAX_COLUMNS are dropped: five bytes packed (<c/>) cost some 300 bytes read. So every XML
# part is read once before openpyxl, with expat in chunks (constant memory), and a workbook
# is refused when one of its rows, or the part, holds more elements than a roster's could.
_CONTAINERS = {"row", "si"}  # elements that openpyxl clears, their contents with them
XLSX_MAX_ROW_CELLS = 16_384  # Excel's widest row
XLSX_MAX_ROW_ELEMENTS = 4 * XLSX_MAX_ROW_CELLS  # a cell is one to four: <c>, <v> or <f>, <is><t>
XLSX_ELEMENTS_PER_ROW = 32  # a row of the template's columns has 15 (shared strings) to 22 (inline)
XLSX_LOOSE_PER_ROW = 4  # elements outside rows (a link on each row's address, merged cells ...)
# The text of a row is read whole too (and of a shared string, <si>), and the text outside
# rows kept until the part ends: a cell of 8 MB packs to a few KB. Excel's longest cell
# holds 32,767 characters; the blanks of pretty-printed XML between 100,000 rows, some 500,000.
XLSX_MAX_ROW_TEXT = 1024 * 1024
XLSX_MAX_LOOSE_TEXT = 8 * 1024 * 1024
# openpyxl makes an object of each sheet the workbook lists, and reads each one's part (for
# its size) as it opens the workbook, before any row: 20,000 listed in 200 KB took 20 s.
XLSX_MAX_SHEETS = 1_000
_CHUNK = 1024 * 1024


def _xml_start(head: bytes) -> bool:
    """Whether a part begins as XML does (openpyxl could read it as XML): "<" after a
    byte-order mark and blanks, or UTF-16."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"<\x00", b"\x00<")):
        return True
    return head.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n").startswith(b"<")


class _PartCount:
    """The elements of one XML part, counted as expat reads them (RosterFileError once
    past a limit)."""

    def __init__(self):
        self.depth = 0
        self.container_depth = 0  # of the row or <si> being read, 0 outside one
        self.in_container = self.elements = self.loose = 0
        self.container_text = self.loose_text = 0
        self.container = ""  # "row" or "si"
        self.sheets = 0
        self.counts = dict.fromkeys(_CONTAINERS, 0)
        rows = max_rows() + 1
        self.limits = {"row": rows + MAX_BLANK_LINES + 1000, "si": rows * len(COLUMNS) + 1000}
        self.max_elements = XLSX_ELEMENTS_PER_ROW * rows + 100_000
        self.max_loose = XLSX_LOOSE_PER_ROW * rows + 10_000

    def start(self, name: str, attributes) -> None:
        self.depth += 1
        self.elements += 1
        if self.elements > self.max_elements:
            raise _more_than_a_roster()
        if self.container_depth:
            self.in_container += 1
            if self.in_container > XLSX_MAX_ROW_ELEMENTS:
                raise RosterFileError(_("Row %(line)s of the workbook holds more than %(max)s cells: save only the "
                                        "roster's columns in it.")
                                      % {"line": f"{self.counts['row']:,}", "max": f"{XLSX_MAX_ROW_CELLS:,}"})
            return
        local = name.rpartition(":")[2]
        if local in _CONTAINERS:
            self.counts[local] += 1
            if self.counts[local] > self.limits[local]:
                raise _too_many_rows() if local == "row" else _more_text_than_a_roster()
            self.container_depth, self.in_container, self.container_text = self.depth, 0, 0
            self.container = local
        else:
            self.loose += 1
            if self.loose > self.max_loose:
                raise _more_than_a_roster()
            if local == "sheet":  # a sheet the workbook lists (xl/workbook.xml)
                self.sheets += 1
                if self.sheets > XLSX_MAX_SHEETS:
                    raise RosterFileError(_("This workbook has more than %(max)s sheets: copy the roster's sheet into "
                                            "a workbook of its own, or into the template, and upload that.")
                                          % {"max": f"{XLSX_MAX_SHEETS:,}"})

    def text(self, data: str) -> None:
        if self.container_depth:
            self.container_text += len(data)
            if self.container_text > XLSX_MAX_ROW_TEXT:
                if self.container == "si":
                    raise _more_text_than_a_roster()
                raise RosterFileError(_("Row %(line)s of the workbook holds more than %(max)s characters: no row of a "
                                        "roster holds that much. Save only the roster's columns in it.")
                                      % {"line": f"{self.counts['row']:,}", "max": f"{XLSX_MAX_ROW_TEXT:,}"})
        else:
            self.loose_text += len(data)
            if self.loose_text > XLSX_MAX_LOOSE_TEXT:
                raise _more_text_than_a_roster()

    def end(self, _name: str) -> None:
        if self.depth == self.container_depth:
            self.container_depth = 0
        self.depth -= 1


def _more_than_a_roster() -> RosterFileError:
    return RosterFileError(_("This workbook holds more than a roster of %(max)s rows needs: save only the roster's "
                             "rows and columns in it.") % {"max": f"{max_rows():,}"})


def _more_text_than_a_roster() -> RosterFileError:
    return RosterFileError(_("This workbook holds more text than a roster of %(max)s rows: save only the "
                             "roster's rows in it.") % {"max": f"{max_rows():,}"})


def _refuse_declarations(*_args) -> None:
    raise RosterFileError(_("This workbook has XML declarations (DOCTYPE, ENTITY) that spreadsheets do not write: "
                            "open it in your spreadsheet and save it again as “Excel Workbook (.xlsx)”."))


def _check_parts(archive: zipfile.ZipFile, *, deadline: float | None) -> None:
    """Every XML part of the workbook read once, before openpyxl reads it: see _PartCount.
    A part with a document type declaration is refused: expat, which openpyxl reads with,
    expands the entities declared there, so that a few hundred bytes can make as many
    elements as a roster of any size, past every count made on the bytes. The clock is
    looked at after each chunk (``deadline``: _out_of_time)."""
    for info in archive.infolist():
        with archive.open(info) as part:
            chunk = part.read(_CHUNK)
            if not _xml_start(chunk):
                continue  # not XML (a picture ...): openpyxl cannot read it as XML either
            count = _PartCount()
            parser = expat.ParserCreate()
            parser.StartElementHandler, parser.EndElementHandler = count.start, count.end
            parser.CharacterDataHandler, parser.buffer_text = count.text, True
            parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = _refuse_declarations
            while chunk:
                parser.Parse(chunk, False)
                _out_of_time(deadline)
                chunk = part.read(_CHUNK)
            parser.Parse(b"", True)


# zipfile reads a workbook's whole central directory, an object for each entry, before
# any part can be read (and openpyxl reads it again): 100,000 empty entries fit in 9 MB and
# cost seconds and 160 MB. A roster's workbook has ten parts or so; an office's workbook
# of many sheets, a picture or a chart on some, a few hundred.
XLSX_MAX_PARTS = 2_000
XLSX_MAX_DIRECTORY_BYTES = 1024 * 1024  # what zipfile reads of entries; a roster's: about 1 KB
# zipfile's end of central directory record, and the ZIP64 locator and record before it.
_END_RECORD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_RECORD = struct.Struct("<4sQ2H2L4Q")
_MAX_COMMENT = 65_535


def _directory_size(binary) -> tuple[int, int]:
    """(entries, bytes) of the ZIP file's central directory as its end record says, the
    larger of its own figures and its ZIP64 record's, found as zipfile finds them (at the
    end, else the last record within the longest comment before it): read from the file's
    end, before zipfile reads the directory. (0, 0) when there is none (zipfile refuses it)."""
    binary.seek(0, io.SEEK_END)
    length = binary.tell()
    binary.seek(max(0, length - _END_RECORD.size - _MAX_COMMENT - _ZIP64_LOCATOR.size - _ZIP64_RECORD.size))
    tail = binary.read()
    binary.seek(0)
    at = len(tail) - _END_RECORD.size
    if at < 0 or not tail.startswith(b"PK\x05\x06", at):
        at = tail.rfind(b"PK\x05\x06", 0, len(tail) - _END_RECORD.size + 1)
    if at < 0:
        return 0, 0
    fields = _END_RECORD.unpack_from(tail, at)
    entries, size = max(fields[3], fields[4]), fields[5]
    locator = at - _ZIP64_LOCATOR.size
    if locator >= 0 and tail.startswith(b"PK\x06\x07", locator):
        record = locator - _ZIP64_RECORD.size
        if record < 0 or not tail.startswith(b"PK\x06\x06", record):
            return 0, 0
        fields = _ZIP64_RECORD.unpack_from(tail, record)
        entries, size = max(entries, fields[6], fields[7]), max(size, fields[8])
    return entries, size


def _too_many_parts() -> RosterFileError:
    return RosterFileError(_("This workbook holds more than %(max)s parts (sheets, pictures, charts ...): a roster "
                             "needs a few. Copy the roster's sheet into a workbook of its own, or into the template, "
                             "and upload that.") % {"max": f"{XLSX_MAX_PARTS:,}"})


# What zipfile and openpyxl may read of a workbook, as a multiple of its size: every part
# once to count it (_check_parts), a sheet once more when openpyxl opens the workbook (for
# its size, when it does not say it) and again for its rows; and the directory, twice.
XLSX_READS_PER_BYTE = 5  # an honest workbook: about 3
XLSX_READS_OVER = 256 * 1024


class _MeteredReads:
    """The uploaded workbook as zipfile and openpyxl read it: RosterFileError past the
    deadline (_out_of_time: it is looked at every read, also while openpyxl opens the
    workbook) and once more than ``budget`` bytes were read. Sheets point at their parts
    through the workbook's relationships, and hundreds of them may point at one part of
    thousands of rows: openpyxl reads it whole for each sheet, a few KB costing minutes."""

    def __init__(self, binary, *, budget: int, deadline: float | None):
        self._binary, self._left, self._deadline = binary, budget, deadline

    def read(self, size: int = -1) -> bytes:
        _out_of_time(self._deadline)
        data = self._binary.read(size)
        self._left -= len(data)
        if self._left < 0:
            raise RosterFileError(_("This workbook makes its sheets be read over and over (several of them are one "
                                    "part): open it in your spreadsheet and save it again as “Excel Workbook "
                                    "(.xlsx)”, or copy the roster's sheet into the template."))
        return data

    def __getattr__(self, name: str):
        return getattr(self._binary, name)


def _xlsx_lines(binary, *, deadline: float | None) -> Iterator[list]:
    from openpyxl import load_workbook  # noqa: PLC0415 (only for workbooks)

    entries, directory = _directory_size(binary)
    if entries > XLSX_MAX_PARTS or directory > XLSX_MAX_DIRECTORY_BYTES:
        raise _too_many_parts()
    binary.seek(0, io.SEEK_END)
    binary = _MeteredReads(binary, budget=XLSX_READS_PER_BYTE * binary.tell() + XLSX_READS_OVER, deadline=deadline)
    binary.seek(0)
    try:
        with zipfile.ZipFile(binary) as archive:
            names = set(archive.namelist())
            infos = archive.infolist()
            if len(infos) > XLSX_MAX_PARTS:  # more than the end record said
                raise _too_many_parts()
            unpacked = sum(info.file_size for info in infos)
            if "xl/workbook.xml" not in names:
                raise RosterFileError(_("This file is not an Excel workbook (.xlsx)."))
            if unpacked > XLSX_MAX_UNPACKED or any(info.file_size > _part_limit(info.filename) for info in infos):
                raise RosterFileError(_("This workbook unpacks to more than %(mb)s MB, or holds more than a roster "
                                        "needs: save only the roster's rows in it.")
                                      % {"mb": XLSX_MAX_UNPACKED // (1024 * 1024)})
            _check_parts(archive, deadline=deadline)
        binary.seek(0)
        workbook = load_workbook(binary, read_only=True, data_only=False, keep_links=False)
    except RosterFileError:
        raise
    except Exception as exc:  # a damaged or fake workbook: zipfile, XML and openpyxl errors alike
        raise RosterFileError(_("This file is not an Excel workbook (.xlsx), or it is damaged. Save it again from "
                                "your spreadsheet.")) from exc
    try:
        yield from _roster_sheet_rows(workbook, deadline=deadline)
    except RosterFileError:
        raise
    except Exception as exc:
        raise RosterFileError(_("This workbook could not be read to its end: it is damaged. Save it again from your "
                                "spreadsheet.")) from exc
    finally:
        workbook.close()


def _sheet_rows(sheet) -> Iterator[list]:
    for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
        yield [_xlsx_value(value) for value in row]


def _roster_sheet_rows(workbook, *, deadline: float | None) -> Iterator[list]:
    """The rows of the workbook's first sheet whose first row (blank rows before it read
    past) names the template's columns: an office keeps the roster's sheet among sheets
    of its own. When none does, RosterFileError names the first sheet that has a row and
    what it misses; a workbook of empty sheets is empty (``_rows`` says so)."""
    read = None  # (title, first row) of the first sheet that has a row
    for sheet in workbook.worksheets:
        rows = _sheet_rows(sheet)
        blanks = 0
        for row in rows:
            _out_of_time(deadline)
            if not is_blank(row) or blanks >= MAX_BLANK_LINES:
                break
            blanks += 1
        else:
            continue  # a sheet of blank rows only, or none
        if is_blank(row) or not _missing_columns(row):
            # The roster's sheet (or one of more blank rows than _rows reads past: it says so),
            # its blank rows given as empty rows, so that the lines after keep their numbers.
            yield from itertools.chain(itertools.repeat([], blanks), [row], rows)
            return
        if read is None:
            read = (sheet.title, row)
    if read is not None:
        title, header = read
        raise RosterFileError(_("No sheet of this workbook has the template's columns in its first row. Missing on the "
                                "sheet “%(sheet)s”: %(columns)s. Download the template and copy your rows into it.")
                              % {"sheet": title, "columns": ", ".join(_missing_columns(header))})


def read_roster(binary, *, file_format: str, deadline: float | None = None) -> Iterator[tuple[int, dict[str, object]]]:
    """The people of a roster file (a binary file object positioned at its start).
    ``deadline`` (time.monotonic()): past it, reading stops with RosterFileError."""
    empty = _("The file is empty: it needs the template's header row and one row for each person.")
    lines = _xlsx_lines(binary, deadline=deadline) if file_format == XLSX else _csv_lines(binary)
    return _rows(lines, empty_message=empty, deadline=deadline)


def utf8_bom_check(head: bytes) -> None:
    """A CSV file saved as UTF-16 (Excel's “Unicode text”) is refused by its mark."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RosterFileError(_("The file is UTF-16 text. In your spreadsheet choose “Save as” and the type "
                                "“CSV UTF-8 (comma delimited)”."))
