"""Roster files for the tests: CSV and XLSX bytes from rows, and an upload as a view receives it."""

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from verification.rosters import services
from verification.rosters.parsing import HEADERS


def person(i, domain="pune.mahaagri.gov.in", **changes):
    row = {"Name": f"Person {i}", "Official email": f"person{i}@{domain}", "Mobile": f"98765{i:05d}",
           "Designation": "Clerk", "Employee code": f"E{i:05d}", "Office": "Establishment",
           "Date of superannuation": "2041-03-31"}
    row.update(changes)
    return row


def csv_bytes(rows, *, headers=HEADERS, bom=True, encoding="utf-8", delimiter=","):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(header, "") for header in headers] if isinstance(row, dict) else row)
    return (("\ufeff" if bom else "") + out.getvalue()).encode(encoding)


def xlsx_bytes(rows, *, headers=HEADERS):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Roster")
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(header) for header in headers] if isinstance(row, dict) else row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload_file(content, name="roster.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def upload(organisation, actor, content, name="roster.csv"):
    return services.roster_upload(organisation_id=organisation.pk, binary=io.BytesIO(content), file_name=name,
                                  size=len(content), actor=actor)
