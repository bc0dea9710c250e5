"""The directory as CSV, with every cell a spreadsheet could take for a formula made inert."""

import io

from portal import csv_files
from portal.csv_files import neutralise
from verification.visibility.rules import FIELDS, PersonView


def directory_csv(people: list[PersonView], *, status_label: str) -> str:
    out = io.StringIO()
    writer = csv_files.writer(out)
    writer.writerow([neutralise(name.label) for name in FIELDS] + [neutralise(status_label)])
    for person in people:
        writer.writerow([neutralise(person.values.get(name)) for name in FIELDS] + [neutralise(person.status_label)])
    return csv_files.UTF8_MARK + out.getvalue()
