"""Files the roster pages offer: the template (CSV and XLSX: the header row only) and
the refused rows of an import (CSV). Every cell of a downloaded file that holds what
someone typed is made inert (portal.csv_files), so that opening the file never runs
anything; the portal's own text (a row's number, why it was refused) is written as it is.

The template holds no example row: one left in by an admin who added their people below
it was imported as a person and mailed an invitation. The rosters page shows the
example instead (``EXAMPLE``, in the page's language)."""

import csv
import io
from collections.abc import Iterable, Iterator

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import csv_files
from verification.rosters.models import RosterRow
from verification.rosters.parsing import HEADERS
from verification.rosters.refusals import left_out_because

# A row of the template as the rosters page shows it, by column.
EXAMPLE = [gettext_lazy("Asha Kulkarni"), "asha.kulkarni@mahaagri.gov.in", "+91 98765 43210",
           gettext_lazy("Section Officer"), "EMP-1042", gettext_lazy("Establishment Section"), "2041-03-31"]


def template_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    return (csv_files.UTF8_MARK + out.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Roster")
    sheet.append(HEADERS)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def refusals_csv(rows: Iterable[RosterRow], *, language: str) -> Iterator[str]:
    """The rows left out as CSV lines (streamed): the row's number in the uploaded file,
    why it was refused (or skipped when applied), as the preview says it, and its cells
    as they were, made inert; each line in ``language`` (the request's), whatever thread
    reads it (csv_files.inert_lines)."""
    def lines():
        yield [_("Row"), _("Why it was refused"), *HEADERS]
        for row in rows:
            yield [row.line, left_out_because(row), row.name, row.email, row.mobile, row.designation,
                   row.employee_code, row.office, row.superannuation_raw]

    return csv_files.inert_lines(lines(), language=language, own_cells=2)
