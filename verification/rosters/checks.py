"""Checks of a roster's rows: required details, the official address (the portal's
official-email rules, portal.accounts.official_email), the mobile number and the
date, bounded lengths, and cells that look like spreadsheet formulas.

Formulas: a cell that starts with "=", "+", "-", "@", a tab or a carriage return
(portal.csv_files.FORMULA_STARTS), as the file has it or as it is kept (spaces around
it taken off), is refused as "looks like a spreadsheet formula" (a spreadsheet
opening a file made from it could run it). One exception, decided on purpose: the
mobile column may start with "+" when the whole cell is a mobile number ("+91 98765
43210"), because that is how numbers are written; any other "+" cell there is
refused. The list of refusals a person downloads puts an apostrophe before every
such cell (rosters.export); a file read has those apostrophes taken out first
(portal.csv_files.as_typed), so that the list, corrected, imports back: its mobile
numbers as numbers, its formulas refused again.

Letters lost: Excel's plain "CSV (Comma delimited)" writes each letter the computer's
code page lacks (every Devanagari one) as "?". A cell of only "?" and spaces or
punctuation, or with "??" where a word was, lost its letters (``letters_lost``): the
file is refused whole (rosters.services), never imported as "???? ???????".
"""

import datetime
import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from email_validator import EmailNotValidError
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH

from portal.accounts import official_email
from portal.csv_files import FORMULA_STARTS, as_typed
from portal.formats import DATE_INPUT_FORMATS
from portal.organisations.models import Organisation
from portal.text import has_visible_characters, single_line
from verification.rosters import models as m
from verification.validators import SUPERANNUATION_FIRST_YEAR, SUPERANNUATION_LAST_YEAR, clean_mobile

# Kinds of problem, in the order the preview lists them: (one, several) with %(n)s.
PROBLEMS = {
    "required": ngettext_lazy("%(n)s row misses a required detail", "%(n)s rows miss a required detail", "n"),
    "formula": ngettext_lazy("%(n)s row has a cell that looks like a spreadsheet formula",
                             "%(n)s rows have a cell that looks like a spreadsheet formula", "n"),
    "email_invalid": ngettext_lazy("%(n)s email address is not valid", "%(n)s email addresses are not valid", "n"),
    "email_consumer": ngettext_lazy("%(n)s email address is a personal mail service",
                                    "%(n)s email addresses are personal mail services", "n"),
    "email_not_official": ngettext_lazy("%(n)s email address is not official", "%(n)s email addresses are not official",
                                        "n"),
    "email_duplicate": ngettext_lazy("%(n)s email address appears on an earlier row too",
                                     "%(n)s email addresses appear on an earlier row too", "n"),
    "own_address": ngettext_lazy("%(n)s row is your own address (another administrator verifies you)",
                                 "%(n)s rows are your own address (another administrator verifies you)", "n"),
    "mobile_invalid": ngettext_lazy("%(n)s mobile number is not a 10-digit Indian mobile number",
                                    "%(n)s mobile numbers are not 10-digit Indian mobile numbers", "n"),
    "date_invalid": ngettext_lazy("%(n)s date of superannuation is not a date (write it as 2031-03-31 or 31/03/2031)",
                                  "%(n)s dates of superannuation are not dates (write them as 2031-03-31 or 31/03/2031)",
                                  "n"),
    "too_long": ngettext_lazy("%(n)s row has a value longer than its column allows",
                              "%(n)s rows have a value longer than their column allows", "n"),
    "verified_elsewhere": ngettext_lazy(
        "%(n)s person is verified in another organisation, at an address not on your domains",
        "%(n)s people are verified in another organisation, at addresses not on your domains", "n"),
    "mobile_taken": ngettext_lazy("%(n)s mobile number is held by another verified person",
                                  "%(n)s mobile numbers are held by other verified people", "n"),
}

# What one refused row says, per kind (the list of refusals and its download).
REASONS = {
    "required": _("A required detail is missing: %(columns)s."),
    "formula": _("A cell looks like a spreadsheet formula (it starts with =, +, -, @ or a tab): %(columns)s."),
    "email_invalid": _("The email address is not valid."),
    "email_consumer": _("The email address is a personal mail service, never official."),
    "email_not_official": _("The email address is not on an official government domain."),
    "email_duplicate": _("The same email address, or another way of writing it that reaches the same mailbox, is on "
                         "row %(line)s."),
    "own_address": _("This is your own address: another administrator verifies you."),
    "mobile_invalid": _("The mobile number is not a 10-digit Indian mobile number."),
    "date_invalid": _("The date of superannuation is not a date (write it as 2031-03-31 or 31/03/2031)."),
    "too_long": _("A value is too long: %(columns)s."),
    "verified_elsewhere": _("This person is verified in another organisation and the address is not on one of your "
                            "domains: they ask you to verify them themselves (their verification there then ends)."),
    "mobile_taken": _("This mobile number is held by another verified government user: check the number with the "
                      "person."),
}

LIMITS = {"name": m.NAME_MAX, "email": m.EMAIL_MAX, "designation": m.DESIGNATION_MAX, "office": m.OFFICE_MAX,
          "employee_code": m.EMPLOYEE_CODE_MAX, "mobile": 20, "superannuation": 30}
REQUIRED = ("name", "email", "mobile", "designation", "employee_code", "office")
_MOBILE_CELL = re.compile(r"\+[\d\s\-()]{10,19}")
DOMAIN_CACHE_MAX = 20_000


@dataclass
class CheckedRow:
    line: int
    cells: dict[str, str]  # as the file had them (on one line, cut at RAW_MAX)
    email: str = ""
    mailbox: str = ""  # normalise_address of ``email``: the form people are compared in
    mobile: str = ""
    superannuation_date: datetime.date | None = None
    problems: list[str] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)  # kind -> columns concerned
    letters_lost: bool = False  # a cell's letters were written as "?" (see the module's docstring)


def _kept_as_it_is(text: str) -> bool:
    """Whether ``single_line`` would leave ``text`` as it is (two checks in C, cheaper than it)."""
    return text.isprintable() and unicodedata.is_normalized("NFC", text)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    value = str(value)
    # single_line takes out only characters str.isprintable() refuses (controls, line
    # and paragraph separators, the bidi overrides), and composes the text as every name
    # is stored (NFC): most cells need neither.
    return (value if _kept_as_it_is(value) else single_line(value)).strip()


@functools.lru_cache(maxsize=4096)
def _date_of_text(text: str) -> datetime.date | None:
    """The date a cell's text says, or None (a roster repeats a few dates: each is read once)."""
    for form in DATE_INPUT_FORMATS:  # as every date field of the portal reads a date
        try:
            return datetime.datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None


def _date(value: object) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        value = value.date()
    parsed = value if isinstance(value, datetime.date) else _date_of_text(str(value))
    if parsed is None or not SUPERANNUATION_FIRST_YEAR <= parsed.year <= SUPERANNUATION_LAST_YEAR:
        raise ValueError(value)
    return parsed


class EmailJudge:
    """The official-email rules read once for a whole file, and the domains accepted
    for ``organisation`` (the roster's: its own and those of the offices below it, not
    another organisation's) asked for once a batch (of the domains the batch brings)."""

    def __init__(self, organisation: Organisation):
        self.organisation = organisation
        self.rules = official_email.email_rules()
        self.kinds: dict[str, str] = {}
        self.domains: dict[str, tuple[str, int] | None] = {}  # the part after "@" -> _domain_syntax

    def prepare(self, domains: Iterable[str]) -> None:
        unknown = {domain for domain in domains if domain and domain not in self.kinds}
        if not unknown:
            return
        if len(self.kinds) + len(unknown) > DOMAIN_CACHE_MAX:
            self.kinds.clear()
        registered = official_email.accepted_domains(unknown, organisation=self.organisation)
        for domain in unknown:
            kind, _suffix = official_email.classify_domain(domain, rules=self.rules, registered=registered)
            self.kinds[domain] = kind

    def kind(self, domain: str) -> str:
        return self.kinds.get(domain, official_email.UNKNOWN)

    def syntax(self, address: str) -> tuple[str, str] | None:
        """What ``_syntax`` says of ``address``, with each domain checked once a file.

        An address whose part before the first "@" is plain ASCII (email-validator's
        own dot-atom pattern, which it accepts as it is) is valid exactly when its
        domain is, and the whole address is short enough: email-validator's verdict
        on the domain (syntax, IDNA) is kept per domain, with its longest form. Any
        other address is checked whole."""
        local, at, domain = address.partition("@")
        if not at or not DOT_ATOM_TEXT.match(local):
            return _syntax(address)
        known = self.domains.get(domain, False)
        if known is False:
            if len(self.domains) >= DOMAIN_CACHE_MAX:
                self.domains.clear()
            known = self.domains[domain] = _domain_syntax(domain)
        if known is None:
            return None
        normalised, longest = known
        if len(local) + 1 + longest > EMAIL_MAX_LENGTH:
            return _syntax(address)  # too long: email-validator says so
        return f"{local}@{normalised}".lower(), normalised


def _syntax(address: str) -> tuple[str, str] | None:
    """(normalised address, normalised domain), or None when it is not an address."""
    try:
        valid = official_email.validated_email(address)
        domain = _as_signed_up(address.rpartition("@")[2], valid.ascii_domain)
    except (EmailNotValidError, ValueError):
        return None
    return f"{valid.ascii_local_part or valid.local_part}@{domain}".lower(), domain


def _as_signed_up(typed: str, ascii_domain: str) -> str:
    """The domain as accounts keep it (official_email.normalise_mailbox: NFKC, then
    Python's IDNA, which writes "straße" as "strasse" where email-validator's IDNA 2008
    writes "xn--strae-oqa"), so that a row finds the account of its address; the
    validator's form for a domain that one cannot encode."""
    try:
        return official_email.normalise_domain(unicodedata.normalize("NFKC", typed))
    except ValueError:
        return official_email.normalise_domain(ascii_domain)


def _domain_syntax(domain: str) -> tuple[str, int] | None:
    """(normalised domain, the length in UTF-8 of its longest form as email-validator
    measures an address) for the part after "@", or None when no address can have it."""
    try:
        valid = official_email.validated_email(f"a@{domain}")
        normalised = _as_signed_up(domain, valid.ascii_domain)
    except (EmailNotValidError, ValueError):
        return None
    forms = (domain, valid.domain, valid.ascii_domain, normalised)
    return normalised, max(len(form.encode("utf-8")) for form in forms)


def _add(row: CheckedRow, kind: str, column: str | None = None) -> None:
    if kind not in row.problems:
        row.problems.append(kind)
    if column:
        row.columns.setdefault(kind, []).append(column)


def _formula(key: str, text: str) -> bool:
    """Whether ``text`` starts as a spreadsheet formula does (but a "+" mobile number)."""
    return text.startswith(FORMULA_STARTS) and not (key == "mobile" and _MOBILE_CELL.fullmatch(text))


def _letters_lost(text: str) -> bool:
    """Whether ``text`` reads as a cell whose letters were written as "?": "??" in it, or
    "?" and no letter or digit."""
    return "??" in text or not any(character.isalnum() for character in text)


def _check_cells(line: int, cells: dict[str, object]) -> CheckedRow:
    # The hot loop of an import (every cell of every row): _text inlined for text.
    kept: dict[str, str] = {}
    row = CheckedRow(line=line, cells=kept)
    for key, raw in cells.items():
        if isinstance(raw, str):
            if "'" in raw:  # as typed, before the portal's download made it inert
                raw = as_typed(raw)
            text = (raw if _kept_as_it_is(raw) else single_line(raw)).strip()
            source = raw
        else:
            text = _text(raw)
            source = text
        kept[key] = text[:m.RAW_MAX]
        if "?" in text and _letters_lost(text):
            row.letters_lost = True
        # The cell as the file had it (a leading tab or carriage return) and as it is kept:
        # a space before "=" (or a control character taken out) must not hide a formula.
        starts = source.startswith(FORMULA_STARTS) or text.startswith(FORMULA_STARTS)
        if starts and (_formula(key, source) or _formula(key, text)):
            _add(row, "formula", key)
        elif len(text) > LIMITS.get(key, m.RAW_MAX):
            _add(row, "too_long", key)
    for key in REQUIRED:
        value = kept.get(key)
        # A cell of zero-width spaces or joiners looks empty (a plain ASCII one never does).
        if not value or not value.isascii() and not has_visible_characters(value):
            _add(row, "required", key)
    _check_mobile_and_date(row, cells)
    return row


def _check_mobile_and_date(row: CheckedRow, cells: dict[str, object]) -> None:
    """The row's mobile number read as the onboarding form reads one, and its date of
    superannuation as every date field reads a date (a workbook's date as it is)."""
    mobile = row.cells.get("mobile", "")
    if mobile and "formula" not in row.problems:
        try:
            row.mobile = clean_mobile(mobile)
        except ValidationError:
            _add(row, "mobile_invalid")
    raw_date = cells.get("superannuation")
    if raw_date not in (None, "") and row.cells.get("superannuation"):
        try:
            row.superannuation_date = _date(raw_date if not isinstance(raw_date, str) else row.cells["superannuation"])
        except ValueError:
            _add(row, "date_invalid")


def check_batch(batch: list[tuple[int, dict[str, object]]], *, judge: EmailJudge, own_emails: set[str]) -> list[CheckedRow]:
    """The rows of a batch, checked (duplicates within the file are found later, in the staging table)."""
    checked, addresses = [], []
    for line, cells in batch:
        row = _check_cells(line, cells)
        address = row.cells.get("email", "")
        flagged = "email" in row.columns.get("too_long", []) or "email" in row.columns.get("formula", [])
        parsed = judge.syntax(address) if address and not flagged else None
        if address and parsed is None and not flagged:
            _add(row, "email_invalid")
        checked.append(row)
        addresses.append(parsed)
    judge.prepare(parsed[1] for parsed in addresses if parsed)
    for row, parsed in zip(checked, addresses, strict=True):
        if parsed is None:
            continue
        row.email = parsed[0]
        problem = email_problem(judge.kind(parsed[1]))
        if problem:
            _add(row, problem)
        # The mailbox people are compared in (staged with the row); the uploader's own refused.
        row.mailbox = official_email.normalise_address(row.email)
        if row.mailbox in own_emails:
            _add(row, "own_address")
    return checked


def email_problem(kind: str) -> str | None:
    """The problem of a row whose address's domain is of ``kind`` (official_email's
    classification): "email_consumer", "email_not_official", or None for official mail."""
    if kind == official_email.CONSUMER:
        return "email_consumer"
    if kind not in (official_email.OFFICIAL, official_email.CONTRACTOR):
        return "email_not_official"
    return None


def reason_text(kind: str, columns: list[str] | None = None, *, duplicate_of: int | None = None) -> str:
    """What one refused row says about one kind of problem."""
    from verification.rosters.parsing import COLUMNS  # noqa: PLC0415

    labels = {column.key: str(column.label) for column in COLUMNS}
    text = REASONS.get(kind)
    if text is None:
        return kind
    return str(text) % {"columns": ", ".join(labels.get(c, c) for c in columns or []), "line": duplicate_of or "?"}
