"""Forms of monitoring: the dashboard's and the audit log's filters, an expected
office, and the upload of a list of expected offices (CSV)."""

import csv
import io
import re
from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_date
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from monitoring.models import ExpectedOffice
from monitoring.selectors import DEFAULT_SORT, ORGANISATION_SORTS
from onboarding.application.validators import split_domain_list
from portal.accounts.official_email import (
    EmailVerdict,
    classify_emails,
    normalise_host_name,
    validate_official_email,
)
from portal.audit.models import AuditAction
from portal.csv_files import delimiter_of, is_blank
from portal.forms import AccessibleForm, DayField, limit_file_size, records_day_allowed
from portal.organisations.models import OrganisationStatus
from portal.organisations.states import JURISDICTION_CHOICES, State
from portal.text import has_control_characters
from verification.visibility.rules import SEARCH_MIN, has_searchable_word

UPLOAD_MAX_BYTES = 512 * 1024
TOO_LARGE = _("The file is larger than 512 KB.")
UPLOAD_MAX_ROWS = 2000
# Columns of the first line: the five it needs, with room for a spreadsheet's own (notes, a serial number).
UPLOAD_MAX_COLUMNS = 50
CSV_COLUMNS = ("name", "short_code", "official_domain", "contact_email", "target_date")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
DATE_MIN = date(2000, 1, 1)


def _attrs_html(attrs: dict):
    """A widget's attributes as Django's ``attrs.html`` writes them, in their order."""
    return format_html_join("", "{}", (
        (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, str(value)),)
        for name, value in attrs.items() if value is not False
    ))


class QuickSelect(forms.Select):
    """A select with the markup of Django's, written here instead of by a template per
    option (two includes each): the dashboard's list of states and UTs has 37 options,
    and its filter selects took a quarter of the page's rendering."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join("", '\n  <option value="{}"{}>{}</option>\n', (
            (str(option["value"]), _attrs_html(option["attrs"]), option["label"])
            for _group, group_choices, _index in widget["optgroups"] for option in group_choices
        ))
        return format_html('<select name="{}"{}>{}\n</select>', widget["name"], _attrs_html(widget["attrs"]), options)


class DashboardFilterForm(AccessibleForm):
    q = forms.CharField(label=_("Name or short code"), required=False, max_length=100)
    state = forms.ChoiceField(label=_("State / UT"), required=False, widget=QuickSelect,
                              choices=[("", _("Any"))] + list(State.choices))
    status = forms.ChoiceField(label=_("Status"), required=False, widget=QuickSelect,
                               choices=[("", _("Any"))] + list(OrganisationStatus.choices))
    sort = forms.ChoiceField(label=_("Sort by"), required=False, widget=QuickSelect, choices=[
        ("name", _("Name")), ("-name", _("Name, Z to A")), ("state", _("State / UT")), ("-state", _("State / UT, Z to A")),
        ("-activated", _("Newest onboarded first")), ("activated", _("Oldest onboarded first")),
        ("-verified", _("Most verified users first")), ("verified", _("Fewest verified users first")),
        ("-pending", _("Most waiting users first")), ("pending", _("Fewest waiting users first")),
    ])

    def clean_sort(self):
        value = self.cleaned_data.get("sort") or DEFAULT_SORT
        return value if value in ORGANISATION_SORTS else DEFAULT_SORT


class AuditFilterForm(AccessibleForm):
    actor = forms.CharField(label=_("Actor's email contains"), required=False, max_length=254)
    action = forms.ChoiceField(label=_("Action"), required=False)
    organisation = forms.CharField(label=_("Organisation's short code"), required=False, max_length=20)
    since = DayField(label=pgettext_lazy("period", "From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    until = DayField(label=pgettext_lazy("period", "To"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("Any"))] + sorted(AuditAction.choices, key=lambda c: str(c[1]))

    def clean_actor(self):
        """A part of the address that the index of the actors' addresses (pg_trgm) can look
        up: three letters or digits in a row. A shorter one ("@", "a.b") would have every
        event read to compare with it."""
        actor = (self.cleaned_data.get("actor") or "").strip()
        if actor and not has_searchable_word(actor):
            raise ValidationError(_("Type at least %(min)s letters or digits in a row of the address."),
                                  code="no_word", params={"min": SEARCH_MIN})
        return actor

    def clean_organisation(self):
        return (self.cleaned_data.get("organisation") or "").strip().upper()

    def clean(self):
        data = super().clean()
        for name in ("since", "until"):
            if data.get(name) and not records_day_allowed(data[name]):
                self.add_error(name, _("Enter a date between 2000 and next year."))
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end of the period is before its start."))
        return data


def clean_code(value: str) -> str:
    value = (value or "").strip().upper()
    if value and not all(ch.isalnum() or ch in "-_./" for ch in value):
        raise ValidationError(_("Use letters, digits and - _ . / only."), code="code")
    return value


def clean_domain(value: str) -> str:
    value = (value or "").strip().lower().lstrip("@")
    if not value:
        return ""
    parts = split_domain_list(value)
    try:
        if len(parts) != 1:
            raise ValueError("not one domain")
        return normalise_host_name(parts[0])
    except ValueError:
        raise ValidationError(_("Enter one domain, for example agri.maharashtra.gov.in."), code="domain") from None


class ExpectedOfficeForm(AccessibleForm):
    jurisdiction = forms.ChoiceField(label=_("State / UT or central"))
    name = forms.CharField(label=_("Name of the office"), max_length=200)
    short_code = forms.CharField(label=_("Short code"), max_length=20, required=False,
                                 help_text=_("The short code it will have on the portal, if known."))
    official_domain = forms.CharField(label=_("Official email domain"), max_length=253, required=False,
                                      help_text=_("For example agri.maharashtra.gov.in. A short code or a domain is needed."))
    contact_email = forms.EmailField(label=_("Contact address"), max_length=254,
                                     help_text=_("Where reminders to join are sent."))
    target_date = DayField(label=_("Date to join by"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, jurisdictions=None, office=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.office = office
        self.fields["jurisdiction"].choices = [
            (code, label) for code, label in JURISDICTION_CHOICES if jurisdictions is None or code in jurisdictions]

    def clean_short_code(self):
        value = clean_code(self.cleaned_data.get("short_code"))
        # Stored in capitals, which can be longer than what was typed ("\u00df" -> "SS"):
        # the field's max_length saw the text before; the column holds 20.
        if len(value) > 20:
            raise ValidationError(_("The short code is longer than 20 characters in capitals."), code="max_length")
        return value

    def clean_official_domain(self):
        return clean_domain(self.cleaned_data.get("official_domain"))

    def clean_contact_email(self):
        # Reminders to join go to it: an office's official address, not anyone's.
        return validate_official_email(self.cleaned_data["contact_email"].strip().lower(), for_officer=False)

    def clean_target_date(self):
        value = self.cleaned_data["target_date"]
        if not DATE_MIN <= value <= DATE_MIN.replace(year=2100):
            raise ValidationError(_("Enter a date between 2000 and 2100."), code="range")
        return value

    def clean(self):
        data = super().clean()
        code, domain = data.get("short_code"), data.get("official_domain")
        if not code and not domain and "short_code" not in self.errors and "official_domain" not in self.errors:
            self.add_error("short_code", _("Give a short code or an official domain, to match the office."))
        others = ExpectedOffice.objects.exclude(pk=self.office.pk if self.office else None)
        if code and data.get("jurisdiction") and others.filter(jurisdiction=data["jurisdiction"], short_code=code).exists():
            self.add_error("short_code", _("Another office of this list has this short code."))
        if domain and others.filter(official_domain=domain).exists():
            self.add_error("official_domain", _("Another office on a list has this domain."))
        return data


def _wrong_lines(errors: dict[str, list[int]]) -> str:
    """Every wrong line of an upload by its number, those with the same problem together
    ("lines 22, 23, 24: ..."): at most UPLOAD_MAX_ROWS numbers, however many are wrong."""
    return "; ".join(
        ngettext("line %(lines)s: %(problem)s", "lines %(lines)s: %(problem)s", len(lines))
        % {"lines": ", ".join(str(line) for line in lines), "problem": problem}
        for problem, lines in errors.items())


# The line breaks the csv module counts as lines (it reads the text split as
# io.StringIO(newline="") splits it): "\r\n", "\r" and "\n".
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _cells(raw: dict) -> list[str | None]:
    """A record's cells, those beyond the header's columns included (a list under None)."""
    return [cell for value in raw.values() for cell in (value if isinstance(value, list) else [value])]


def _first_line(last_line: int, raw: dict) -> int:
    """The line of the file a record starts on, as an editor or a spreadsheet numbers it:
    the reader's line_num is the record's last line, after any blank lines it skipped and
    the line breaks inside quoted cells (the cells beyond the header's columns included)."""
    return last_line - sum(len(_LINE_BREAK.findall(cell)) for cell in _cells(raw) if cell)


class ExpectedOfficeUploadForm(AccessibleForm):
    jurisdiction = forms.ChoiceField(label=_("State / UT or central"))
    file = forms.FileField(label=_("List of offices (CSV)"), help_text=_(
        "UTF-8 CSV with the columns name, short_code, official_domain, contact_email, target_date (YYYY-MM-DD); "
        "at most 2,000 rows and 512 KB. Offices already listed are matched by short code or domain and updated."),
        error_messages={"empty": _("The file is empty: it needs the header row (name, short_code, official_domain, "
                                   "contact_email, target_date) and one row for each office.")})

    def __init__(self, *args, jurisdictions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jurisdiction"].choices = [
            (code, label) for code, label in JURISDICTION_CHOICES if jurisdictions is None or code in jurisdictions]
        self.rows: list[dict] = []
        self.lines: list[int] = []
        self.verdicts: dict[str, EmailVerdict] = {}
        limit_file_size(self.fields["file"], UPLOAD_MAX_BYTES, TOO_LARGE)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > UPLOAD_MAX_BYTES:
            raise ValidationError(TOO_LARGE, code="size")
        try:
            text = upload.read(UPLOAD_MAX_BYTES + 1).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(_("The file is not UTF-8 text: save it as \"CSV UTF-8\"."), code="encoding") from None
        # The separator from the header line, as the roster upload takes it (a semicolon, a tab).
        delimiter = delimiter_of(_LINE_BREAK.split(text, 1)[0])
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
            header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
        except csv.Error:
            raise ValidationError(_("The file is not a CSV file."), code="csv") from None
        if len(header) > UPLOAD_MAX_COLUMNS:
            # Each row is filled out to the header's every column: a first line of thousands of
            # (empty) columns over thousands of lines of bare separators kept a worker for minutes.
            raise ValidationError(_("The first line has %(count)s columns, more than the %(most)s a list of offices may "
                                    "have: it needs only name, short_code, official_domain, contact_email and "
                                    "target_date.") % {"count": f"{len(header):,}", "most": UPLOAD_MAX_COLUMNS},
                                  code="columns")
        missing = [column for column in CSV_COLUMNS if column not in header]
        if missing:
            raise ValidationError(_("Columns missing from the first line: %(columns)s.") % {"columns": ", ".join(missing)},
                                  code="columns")
        reader.fieldnames = header
        errors, rows, lines = self._read_rows(reader)
        if errors:
            raise ValidationError(_("Nothing was saved. %(errors)s") % {"errors": _wrong_lines(errors)}, code="rows")
        if not rows:
            raise ValidationError(_("The file lists no office."), code="empty")
        self.rows, self.lines = rows, lines
        return upload

    def _read_rows(self, reader: csv.DictReader) -> tuple[dict[str, list[int]], list[dict], list[int]]:
        """(the wrong lines' numbers by their problem, in the order first met; the rows;
        the line of the file each row starts on). Rows of only blank cells are read past.
        The rows' contact addresses are classified at once (classify_emails: two queries at
        most however many rows, where asking each row's would read the rules for each)."""
        read = []
        try:
            for raw in reader:
                if is_blank(_cells(raw)):  # the rows of bare separators a spreadsheet writes below a list
                    continue
                if len(read) == UPLOAD_MAX_ROWS:
                    raise ValidationError(_("The file has more than 2,000 rows."), code="rows")
                read.append((_first_line(reader.line_num, raw), raw))
        except csv.Error:
            raise ValidationError(_("The file is not a CSV file."), code="csv") from None
        self.verdicts = classify_emails({(raw.get("contact_email") or "").strip().lower() for _line, raw in read})
        errors: dict[str, list[int]] = {}
        rows, lines, seen_codes, seen_domains = [], [], set(), set()
        for line, raw in read:
            row, problem = self._row(raw)
            if problem is None and row["short_code"] and row["short_code"] in seen_codes:
                problem = _("the short code is listed twice")
            if problem is None and row["official_domain"] and row["official_domain"] in seen_domains:
                problem = _("the domain is listed twice")
            if problem is not None:
                errors.setdefault(str(problem), []).append(line)
                continue
            seen_codes.add(row["short_code"])
            seen_domains.add(row["official_domain"])
            rows.append(row)
            lines.append(line)
        return errors, rows, lines

    def _row(self, raw: dict) -> tuple[dict, str | None]:
        values = {column: (raw.get(column) or "").strip() for column in CSV_COLUMNS}
        row = {"name": values["name"][:201], "contact_email": values["contact_email"].lower(),
               "short_code": "", "official_domain": "", "target_date": None}
        # A NUL would reach PostgreSQL (which refuses it in text); the other control
        # characters and the bidi overrides would be stored and shown.
        if any(has_control_characters(value) for value in values.values()):
            return row, _("a cell holds a line break, a tab or another control character")
        if not row["name"] or len(row["name"]) > 200:
            return row, _("the name is missing or longer than 200 characters")
        try:
            row["short_code"] = clean_code(values["short_code"])[:21]
            row["official_domain"] = clean_domain(values["official_domain"])
        except ValidationError as error:
            return row, error.messages[0]
        if len(row["short_code"]) > 20:
            return row, _("the short code is longer than 20 characters")
        if not row["short_code"] and not row["official_domain"]:
            return row, _("give a short code or an official domain")
        try:
            validate_email(row["contact_email"])
        except ValidationError:
            return row, _("the contact address is not an email address")
        verdict = self.verdicts[row["contact_email"]]
        if not verdict.is_official_mail:
            return row, _("the contact address is not on an official government domain")
        # Kept as the office form keeps it (validate_official_email): "ports@ｍh.gov.in" (a
        # full-width letter) is ports@mh.gov.in, the mailbox its reminders reach, and one
        # address's week.
        row["contact_email"] = verdict.address
        if len(row["contact_email"]) > 254:
            return row, _("the contact address is too long")
        try:
            # Written YYYY-MM-DD in ASCII digits (a month or day of one digit taken), as the help says: parse_date also takes
            # 20260101 and ISO week dates (2026-W01-1 is 29 December 2025), never meant here.
            row["target_date"] = parse_date(values["target_date"]) if _ISO_DAY.fullmatch(values["target_date"]) else None
        except ValueError:
            row["target_date"] = None
        if row["target_date"] is None or not DATE_MIN <= row["target_date"] <= DATE_MIN.replace(year=2100):
            return row, _("the date is not a date between 2000 and 2100 written YYYY-MM-DD")
        return row, None


class ConfirmForm(AccessibleForm):
    """A POST that confirms an action (its CSRF token is the point)."""
