"""The checks of a roster's cells take shortcuts for speed (each domain checked once a
file, cells without control characters taken as they are, each date text read once):
each gives exactly what the whole check gives."""

import datetime

import pytest

from portal.csv_files import as_typed, neutralise
from portal.text import inert, single_line
from tests.factories import OrganisationFactory
from verification.rosters import checks, notifications

pytestmark = pytest.mark.django_db

LOCALS = ["a", "Ravi.Patil", "x+tag", "o'brien", "a..b", ".a", "a.", "", "a b", '"quoted"', "रवि", "info", "POSTMASTER",
          "l" * 64, "l" * 65, "l" * 240, "a@b", "a<b", "a\u0301"]
DOMAINS = ["pune.mahaagri.gov.in", "MHA.GOV.IN", "mha.gov.in.", "कृषि.भारत", "xn--h2brj9c", "gmail.com", "", "-bad.gov.in",
           "a..gov.in", "[127.0.0.1]", "localhost", "d" * 63 + ".gov.in", ("e" * 60 + ".") * 4 + "in", "b@c.gov.in",
           "ｍｈａ.gov.in", "mha.gov.in>", "x_y.gov.in", "\u0338x.gov.in"]


def test_an_address_checked_with_its_domain_once_gets_the_whole_check_s_verdict():
    judge = checks.EmailJudge(OrganisationFactory())
    for local in LOCALS:
        for domain in DOMAINS:
            address = f"{local}@{domain}"
            assert judge.syntax(address) == checks._syntax(address), address
    for address in ["no-at-sign", "@pune.gov.in", "a@", "Name <a@mha.gov.in>", "a@b@c"]:
        assert judge.syntax(address) == checks._syntax(address), address


def test_a_cell_without_control_characters_is_kept_as_it_is_and_others_as_single_line_makes_them():
    for code in [*range(0, 0x250), *range(0x2000, 0x2070), 0xFEFF, 0x200D, 0x200C]:
        value = f" a{chr(code)}b "
        assert checks._text(value) == single_line(value).strip(), hex(code)
        assert checks._check_cells(2, {"name": value}).cells["name"] == single_line(value).strip(), hex(code)


def test_a_cell_is_kept_composed():
    """"ज़" typed as one character (U+095B) is kept as the letter and its nukta, as every
    name is stored (portal.text.composed): the roster's name and the verified one compare equal."""
    for value in ["\u095bाकिर हुसैन", " \u095bाकिर\tहुसैन "]:
        assert checks._text(value) == "\u091c\u093cाकिर हुसैन"
        assert checks._check_cells(2, {"name": value}).cells["name"] == "\u091c\u093cाकिर हुसैन"


def _date_read_whole(text):
    """The date of a cell's text as it was read before each text was read once."""
    for form in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            parsed = datetime.datetime.strptime(text, form).date()
        except ValueError:
            continue
        return parsed if 1950 <= parsed.year <= 2100 else None
    return None


def test_dates_read_once_are_the_dates_read_whole():
    texts = ["2041-03-31", "31/03/2041", "31-03-2041", "31.03.2041", "2041-3-31", "2041-02-30", "31st March",
             "1900-01-01", "2041-03-31 ", "20410331", "2041/03/31"]
    for text in texts * 2:  # the second time from what was kept
        try:
            got = checks._date(text)
        except ValueError:
            got = None
        assert got == _date_read_whole(text), text
    assert checks._date(datetime.datetime(2041, 3, 31)) == datetime.date(2041, 3, 31)


def test_a_name_put_in_an_invitation_is_made_inert_as_every_name_in_mail():
    names = ["Asha Kulkarni", "A. B. Rao", "www.example.com", "me@example.com", "https://x.in", "a:b", "रवि\u200dकुमार",
             "Tab\there", "Bidi\u202eevil", "Dr.Rao", "e.g. x", "U.P.", ""]
    for name in names:
        assert notifications._inert_name(name) == inert(name), name


@pytest.mark.parametrize("cell", [' =HYPERLINK("http://evil.example","Clerk")', " @SUM(1+1)", "\u00a0+cmd|' /C calc'!A0",
                                  " -2+3", "\x00=1+1", "\t=1+1", "\tClerk"])
def test_a_cell_that_is_stored_as_a_formula_is_refused_as_one(cell):
    """The check reads the text as it is stored (spaces around it taken off, control
    characters out), not only the cell as the file had it: a space before "=" hid it."""
    row = checks._check_cells(2, {"designation": cell, "mobile": cell})
    assert row.columns["formula"] == ["designation", "mobile"], repr(cell)


@pytest.mark.parametrize(("cell", "lost"), [
    ("???? ???????", True), ("?????", True), ("?. ?. ?????", True), ("Asha ???????", True), ("????? Section", True),
    ("?", True), ("? - ?", True), ("????@pune.mahaagri.gov.in", True),
    ("Asha Kulkarni", False), ("आशा कुलकर्णी", False), ("Clerk?", False), ("Who? Section", False), ("", False),
])
def test_a_cell_whose_letters_a_code_page_turned_to_question_marks_is_found(cell, lost):
    """Excel's plain "CSV (Comma delimited)" writes each letter its code page lacks
    (every Devanagari one) as "?": a cell of only "?" and spaces or punctuation, or with
    "??" where a word was, lost its letters."""
    assert checks._check_cells(2, {"name": cell, "designation": "Clerk"}).letters_lost is lost


@pytest.mark.parametrize("cell", ["+91 98765 43210", " +91 98765 43210 ", "+919876543210"])
def test_a_mobile_number_written_with_a_plus_is_no_formula(cell):
    row = checks._check_cells(2, {"mobile": cell})
    assert "formula" not in row.problems and row.mobile == "+919876543210"


@pytest.mark.parametrize("cell", ["+91 98765 43210", "=1+2", "Ram;=cmd|' /C calc'!A0", "Sita, @SUM(1+1)", "\t=1",
                                  "Desk;\t-2", "O'Brien", "'quoted'", "-12"])
def test_a_cell_the_refusals_download_made_inert_is_read_as_it_was_typed(cell):
    assert as_typed(neutralise(cell)) == cell
    assert checks._check_cells(2, {"designation": neutralise(cell)}).cells["designation"] == checks._text(cell)


@pytest.mark.parametrize("cell", ["0091 98765 43210", "91-9876543210", "098765 43210"])
def test_a_mobile_number_with_a_country_code_or_trunk_0_is_read_as_the_onboarding_form_reads_it(cell):
    row = checks._check_cells(2, {"mobile": cell})
    assert "mobile_invalid" not in row.problems and row.mobile == "+919876543210"
