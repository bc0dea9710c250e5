"""The directory as CSV, with every cell a spreadsheet could take for a formula made inert."""

import csv
import io

from verification.visibility.rules import FIELDS, PersonView

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """A cell as text; one starting like a formula (= + - @, a tab or a carriage
    return) is prefixed with an apostrophe, which spreadsheets show and never run."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def directory_csv(people: list[PersonView], *, status_label: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(name.label) for name in FIELDS] + [neutralise(status_label)])
    for person in people:
        writer.writerow([neutralise(person.values.get(name)) for name in FIELDS] + [neutralise(person.status_label)])
    return out.getvalue()
