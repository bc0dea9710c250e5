"""The roster pages through Django's test client: uploading (errors at the file field,
nothing typed lost), the preview (safe to reload), the refusals download (formulas
neutralised), applying after a confirmation, the progress bar (htmx), invitations; the
permission matrix of an admin of another organisation; exact query counts of the
preview with 10 and 1,000 rows."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from portal.audit.models import AuditAction, AuditEvent
from portal.csv_files import FORMULA_STARTS as FORMULA_START
from tests.html_tree import html_problems
from tests.html_tree import page as page_tree
from tests.verification.helpers import make_admin, signed_in
from tests.verification.rosters.helpers import csv_bytes, person, upload, xlsx_bytes
from verification.rosters import services
from verification.rosters.models import Invitation, RosterImport, RosterRow, RosterStatus
from verification.rosters.parsing import HEADERS, RosterFileError

DEVANAGARI = re.compile("[\u0900-\u097F]")

pytestmark = pytest.mark.django_db


def well_formed(response, status=200):
    assert response.status_code == status, (response.status_code, response.get("Location"))
    text = response.content.decode()
    assert html_problems(text) == [], html_problems(text)
    return text


def post_file(client, organisation, content, name="roster.csv"):
    return client.post(f"/verification/organisations/{organisation.pk}/rosters/",
                       {"file": SimpleUploadedFile(name, content)})


MISTAKES = [person(1), person(2, **{"Official email": "x@gmail.com"}), person(3, Name="=1+2"),
            person(4, **{"Mobile": "-12"}), person(5)]


def test_upload_preview_download_apply_and_progress(world, django_capture_on_commit_callbacks):
    client = signed_in(world["admin_office"])
    office = world["office"]
    page = well_formed(client.get(f"/verification/organisations/{office.pk}/rosters/"))
    assert "/verification/rosters/template.csv" in page and "/verification/rosters/template.xlsx" in page

    response = post_file(client, office, csv_bytes(MISTAKES))
    roster = RosterImport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/verification/rosters/{roster.pk}/"
    preview = well_formed(client.get(response["Location"]))
    assert "1 email address is a personal mail service" in preview
    assert "2 rows have a cell that looks like a spreadsheet formula" in preview
    assert "Download the 3 refused rows (CSV)" in preview
    assert "Apply this roster…" in preview and "hx-trigger" not in preview
    again = well_formed(client.get(response["Location"]))  # reloading changes nothing
    assert again.split("<main", 1)[1] == preview.split("<main", 1)[1]
    assert RosterImport.objects.get().status == RosterStatus.PREVIEWED
    assert AuditEvent.objects.filter(action=AuditAction.ROSTER_UPLOADED).count() == 1

    download = client.get(f"/verification/rosters/{roster.pk}/refused-rows.csv")
    assert download["Content-Type"].startswith("text/csv") and "attachment" in download["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Row", "Why it was refused", "Name"]
    assert [row[0] for row in rows[1:]] == ["3", "4", "5"]
    assert rows[2][2] == "'=1+2"  # a formula is neutralised in the download
    assert rows[3][4] == "'-12"
    assert "personal mail service" in rows[1][1]

    confirm = well_formed(client.get(f"/verification/rosters/{roster.pk}/apply/"))
    assert "invite 2 people by email" in confirm
    refused = client.post(f"/verification/rosters/{roster.pk}/apply/", {})
    assert "Tick the box to confirm" in well_formed(refused, 400)
    assert not Invitation.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/verification/rosters/{roster.pk}/apply/", {"confirm": "on"})
    assert response.status_code == 302
    assert Invitation.objects.count() == 2
    progress = client.get(f"/verification/rosters/{roster.pk}/progress/", HTTP_HX_REQUEST="true").content.decode()
    assert progress.startswith('<div id="roster-progress"')  # the fragment htmx swaps in
    assert 'value="100"' in progress and "Finished: 0 verified, 2 invited" in progress and "hx-trigger" not in progress
    # Applied: asking again changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/verification/rosters/{roster.pk}/apply/", {"confirm": "on"})
    assert Invitation.objects.count() == 2

    invitations = well_formed(client.get(f"/verification/organisations/{office.pk}/invitations/"))
    assert "person1@pune.mahaagri.gov.in" in invitations and "Send again" in invitations


def test_the_refusals_download_is_kept_out_of_caches(world):
    """The refused rows are people's names, addresses and mobile numbers: a shared
    computer's browser or a proxy on the way must keep no copy."""
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1, **{"Official email": "x@gmail.com"})]))
    response = signed_in(world["admin_office"]).get(f"/verification/rosters/{roster.pk}/refused-rows.csv")
    assert response.status_code == 200
    assert {"no-store", "private"} <= set(response["Cache-Control"].split(", ")), response.get("Cache-Control")


def _refusals_read(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_refusals_download_is_written_in_the_language_it_was_asked_in(world):
    """The file is read after the view has returned, on whatever thread the server reads it,
    in whatever language that thread has then: asked for in Hindi, it was written in the
    language active when it was read (here English)."""
    roster = upload(world["office"], world["admin_office"],
                    csv_bytes([person(1, **{"Official email": "x@gmail.com"})]))
    client = signed_in(world["admin_office"])
    client.cookies["django_language"] = "hi"
    response = client.get(f"/verification/rosters/{roster.pk}/refused-rows.csv")
    with translation.override("en"):
        rows = _refusals_read(response)
    with translation.override("hi"):
        header = [translation.gettext("Row"), translation.gettext("Why it was refused")]
    assert rows[0][:2] == header and header[0] != "Row"
    assert DEVANAGARI.search(rows[1][1]) and not re.search("[A-Za-z]{4}", rows[1][1].replace("x@gmail.com", "")), rows[1]


def test_the_refusals_download_reads_its_rows_before_it_is_answered(world):
    """Rows removed between the answer and its reading (the roster's rows removed by the daily
    job, a newer upload) gave a file of its header alone, answered 200 and audited as a
    download of them: the first rows are read before the answer."""
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1, **{"Official email": "x@gmail.com"})]))
    response = signed_in(world["admin_office"]).get(f"/verification/rosters/{roster.pk}/refused-rows.csv")
    RosterRow.objects.filter(roster=roster).delete()
    rows = _refusals_read(response)
    assert len(rows) == 2 and rows[1][3] == "x@gmail.com", rows


# The refused rows' download, whatever their number (up to a chunk of 2,000): the session and the
# account with its roles, the roster; in a transaction (its savepoint), the admin's lock, the
# downloads of the hour counted, the roster's organisation named, then the audit event (savepoint,
# the log's lock, its head, the event, the head written, both released); then the rows.
REFUSALS_DOWNLOAD_QUERIES = 15


@pytest.mark.parametrize("refused", [2, 40])
def test_the_refusals_download_asks_as_many_queries_for_2_rows_as_for_40(world, refused):
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415

    roster = upload(world["office"], world["admin_office"],
                    csv_bytes([person(i, **{"Official email": f"x{i}@gmail.com"}) for i in range(refused)]))
    client = signed_in(world["admin_office"])
    with CaptureQueriesContext(connection) as queries:
        rows = _refusals_read(client.get(f"/verification/rosters/{roster.pk}/refused-rows.csv"))
    assert len(rows) == refused + 1
    assert len(queries) == REFUSALS_DOWNLOAD_QUERIES, [q["sql"][:90] for q in queries.captured_queries]


def test_the_refusals_download_is_audited_as_every_export_of_peoples_details(world):
    """The refused rows are up to 100,000 people's names, addresses and mobile numbers:
    the download is in the audit log as the directory's, the dashboard's and the role
    report's exports are (an action the breach report counts as an export), with the
    roster and the number of rows, in the roster's organisation's log."""
    from portal.privacy.breach import EXPORT_ACTIONS_CONTAIN

    roster = upload(world["office"], world["admin_office"], csv_bytes([
        person(1, **{"Official email": "x@gmail.com"}), person(2, Mobile="12"), person(3)]))
    response = signed_in(world["superadmin"]).get(f"/verification/rosters/{roster.pk}/refused-rows.csv")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    event = AuditEvent.objects.get(action=AuditAction.ROSTER_REFUSALS_EXPORTED)
    assert EXPORT_ACTIONS_CONTAIN in event.action
    assert event.actor_id == world["superadmin"].pk
    assert (event.target_type, event.target_id) == ("rosters.rosterimport", str(roster.pk))
    assert event.new_values == {"organisation": world["office"].pk, "rows": 2}


def test_the_refusals_download_is_limited_an_hour_per_admin_as_every_export_of_peoples_details(world):
    """A roster's refused rows may be up to 100,000 people's details, and the download had
    no limit: at most REFUSALS_DOWNLOADS_PER_HOUR an hour per admin (counted from its audit
    rows, as the directory's and the dashboard's exports are), then the roster's page says
    so and when the next is possible, and no row is written; another admin is not held by it."""
    import time_machine
    from django.utils import timezone

    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1, **{"Official email": "x@gmail.com"})]))
    url = f"/verification/rosters/{roster.pk}/refused-rows.csv"
    client = signed_in(world["admin_office"])
    start = timezone.now()
    for n in range(services.REFUSALS_DOWNLOADS_PER_HOUR):
        with time_machine.travel(start + timedelta(minutes=n), tick=False):
            response = client.get(url)
            assert response.status_code == 200
            b"".join(response.streaming_content)
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == f"/verification/rosters/{roster.pk}/"
        landed = client.get(response["Location"])
        well_formed(landed)
        said = page_tree(landed).squashed_text()
    assert (f"You have downloaded the refused rows of rosters {services.REFUSALS_DOWNLOADS_PER_HOUR} times in the "
            "last hour, the most an administrator may.") in said
    assert "The next download is possible from " in said
    events = AuditEvent.objects.filter(action=AuditAction.ROSTER_REFUSALS_EXPORTED)
    assert events.count() == services.REFUSALS_DOWNLOADS_PER_HOUR
    # Another admin of the organisation is not held by it; the first again an hour after their first.
    other = make_admin(world["office"], email="second.admin@pune.mahaagri.gov.in")
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        assert signed_in(other).get(url).status_code == 200
    with time_machine.travel(start + timedelta(hours=1, seconds=1), tick=False):
        assert client.get(url).status_code == 200


def test_the_reason_in_the_refusals_download_reads_as_on_the_preview(world):
    """The reason is the portal's own sentence, not a cell a user typed: "(it starts with
    =, +, -, @ or a tab)" came out as "(it starts with =, '+, '-, '@ or a tab)"."""
    from verification.rosters.refusals import left_out_because

    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1, Name="=1+2", Office="Desk; -2")]))
    row = RosterRow.objects.get(roster=roster, line=2)
    client = signed_in(world["admin_office"])
    rows = list(csv.reader(io.StringIO(
        b"".join(client.get(f"/verification/rosters/{roster.pk}/refused-rows.csv").streaming_content).decode("utf-8-sig"))))
    assert rows[1][1] == left_out_because(row)
    assert "(it starts with =, +, -, @ or a tab): name." in rows[1][1]
    assert rows[1][2:] == ["'=1+2", "person1@pune.mahaagri.gov.in", "9876500001", "Clerk", "E00001", "Desk; '-2",
                           "2041-03-31"]  # what was typed, inert


def test_the_refusals_download_is_inert_where_a_spreadsheet_splits_on_semicolons(world):
    """Excel in many locales splits a CSV line on semicolons: a cell "Ram;=cmd|..." left
    unquoted became two cells, the second a formula. Every cell is quoted now, and a
    formula character after a separator inside a cell gets an apostrophe too."""
    payload = "Ram;=cmd|' /C calc'!A0"
    roster = upload(world["office"], world["admin_office"], csv_bytes([
        person(1, Name=payload, **{"Official email": "ram@gmail.com"}),
        person(2, Name="Sita, @SUM(1+1)", Office="Desk;\t-2", **{"Official email": "sita@gmail.com"})]))
    client = signed_in(world["admin_office"])
    body = b"".join(client.get(f"/verification/rosters/{roster.pk}/refused-rows.csv").streaming_content).decode("utf-8-sig")
    for delimiter in (",", ";", "\t"):
        cells = [cell.strip() for row in csv.reader(io.StringIO(body), delimiter=delimiter) for cell in row]
        assert not [cell for cell in cells if cell.startswith(FORMULA_START)], (delimiter, body)
    for naive in (";", ","):  # split on every separator, quotes or not
        cells = [cell.strip().strip('"') for line in body.splitlines() for cell in line.split(naive)]
        assert not [cell for cell in cells if cell.startswith(FORMULA_START)], (naive, body)
    rows = list(csv.reader(io.StringIO(body)))
    assert [row[2] for row in rows[1:]] == ["Ram;'=cmd|' /C calc'!A0", "Sita, '@SUM(1+1)"]
    assert all(line.startswith('"') for line in body.splitlines())


def test_the_refusals_download_corrected_imports_back(world):
    """The download writes a mobile "+91 98765 43210" (as the template writes it) as "+919876543210", with the
    apostrophe that keeps a spreadsheet from running it; corrected and uploaded again, the
    file was refused as "not a 10-digit Indian mobile number". The apostrophes the portal
    added are taken out when a file is read: a formula stays refused as one."""
    roster = upload(world["office"], world["admin_office"], csv_bytes([
        person(1, Mobile="+91 98765 43210", **{"Official email": "p1@gmail.com"}),
        person(2, Name="Sita, @SUM(1+1)", **{"Official email": "p2@gmail.com"}),
        person(3, Name="=1+2")]))
    assert roster.refused_count == 3
    client = signed_in(world["admin_office"])
    body = b"".join(client.get(f"/verification/rosters/{roster.pk}/refused-rows.csv").streaming_content)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header = rows[0]
    assert rows[1][header.index("Mobile")] == "'+919876543210"
    rows[1][header.index("Official email")] = "person1@pune.mahaagri.gov.in"  # the corrections
    rows[2][header.index("Official email")] = "person2@pune.mahaagri.gov.in"
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows([row[2:] for row in rows])
    again = upload(world["office"], world["admin_office"], ("\ufeff" + out.getvalue()).encode())
    refused = dict(RosterRow.objects.filter(roster=again).values_list("line", "problems"))
    assert refused == {2: "", 3: "", 4: "formula:name"}
    assert dict(RosterRow.objects.filter(roster=again).values_list("line", "mobile"))[2] == "+919876543210"
    assert RosterRow.objects.get(roster=again, line=3).name == "Sita, @SUM(1+1)"


def test_a_running_import_polls_and_says_how_far_it_got(world):
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    RosterImport.objects.filter(pk=roster.pk).update(status=RosterStatus.APPLYING, progress_total=2, progress_done=1)
    client = signed_in(world["admin_office"])
    page = well_formed(client.get(f"/verification/rosters/{roster.pk}/"))
    assert f'hx-get="/verification/rosters/{roster.pk}/progress/"' in page and 'hx-trigger="every 1s"' in page
    assert 'value="50"' in page and "Applying: 1 of 2 rows done" in page


@pytest.mark.parametrize(("language", "said"), [
    ("en", "Applying: 0 of 1 row done."), ("hi", "लागू हो रहा है: 1 पंक्ति में से 0 पूरी।"),
    ("mr", "लागू होत आहे: 1 ओळीपैकी 0 पूर्ण."),
], ids=["en", "hi", "mr"])
def test_a_running_import_of_one_row_says_row_not_rows(world, language, said):
    """A roster of one person being applied: "0 of 1 row done", never "0 of 1 rows"."""
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    RosterImport.objects.filter(pk=roster.pk).update(status=RosterStatus.APPLYING, progress_total=1, progress_done=0)
    client = signed_in(world["admin_office"])
    client.cookies["django_language"] = language
    page = " ".join(well_formed(client.get(f"/verification/rosters/{roster.pk}/")).split())
    assert said in page


def test_a_large_rosters_counts_are_grouped_the_indian_way(world):
    """A roster of 1,25,000 rows: its counts and its progress read with lakh grouping, not
    "125000", on the preview and in the list of rosters."""
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    RosterImport.objects.filter(pk=roster.pk).update(
        row_count=125000, verify_count=100000, invite_count=20000, change_count=3500, unchanged_count=1000,
        refused_count=500, status=RosterStatus.APPLYING, progress_total=124500, progress_done=12345)
    client = signed_in(world["admin_office"])
    page = well_formed(client.get(f"/verification/rosters/{roster.pk}/"))
    for shown in ("1,00,000", "20,000", "3,500", "1,000", "500"):
        assert f'<td class="text-end">{shown}</td>' in page, shown
    assert "Applying: 12,345 of 1,24,500 rows done" in page
    listed = well_formed(client.get(f"/verification/organisations/{world['office'].pk}/rosters/"))
    assert "<td>1,25,000</td>" in listed and "125000" not in listed


def test_opening_the_apply_link_of_an_import_that_stopped_says_it_stopped(world):
    """An import stopped by an error (the worker's) left rows never applied: it is not
    "applied already", and uploading the file again applies the rest."""
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    RosterImport.objects.filter(pk=roster.pk).update(status=RosterStatus.FAILED, error="OperationalError")
    client = signed_in(world["admin_office"])
    response = client.get(f"/verification/rosters/{roster.pk}/apply/", follow=True)
    page = well_formed(response)
    assert response.redirect_chain == [(f"/verification/rosters/{roster.pk}/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "This roster's import stopped before the end because of an error: the rows done so far are kept. Upload the "
        "file again to import the rest (rows already applied are then unchanged)."]
    assert "applied already" not in page
    RosterImport.objects.filter(pk=roster.pk).update(status=RosterStatus.APPLIED)
    response = client.get(f"/verification/rosters/{roster.pk}/apply/", follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "This roster was applied already: applying it again would change nothing."]


def test_an_import_its_admin_could_no_longer_apply_is_carried_on_from_its_page(
        world, django_capture_on_commit_callbacks):
    """Stopped because the admin who started it lost the role, its rows kept: its page says
    so and offers to carry it on; the successor confirms, and it is queued in their name."""
    from portal.organisations.services import organisation_admin_revoke

    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    RosterImport.objects.filter(pk=roster.pk).update(status=RosterStatus.FAILED, error="not_allowed",
                                                     apply_requested_by=world["admin_office"])
    successor = make_admin(world["office"], email="successor@pune.mahaagri.gov.in")
    organisation_admin_revoke(organisation_id=world["office"].pk, user_id=world["admin_office"].pk,
                              actor=world["admin_parent"])
    client = signed_in(successor)
    page = well_formed(client.get(f"/verification/rosters/{roster.pk}/"))
    assert "an administrator of the organisation may carry it on in their own name" in page
    assert f'href="/verification/rosters/{roster.pk}/apply/"' in page and "Carry on the import…" in page
    well_formed(client.get(f"/verification/rosters/{roster.pk}/apply/"))
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/verification/rosters/{roster.pk}/apply/", {"confirm": "on"})
    assert response.status_code == 302
    roster.refresh_from_db()
    assert (roster.status, roster.error, roster.apply_requested_by) == (RosterStatus.QUEUED, "", successor)


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"", "roster.csv", "The file is empty"),
    (b"Name,Official email\nA,a@mha.gov.in\n", "roster.csv", "Missing: “Mobile”, “Designation”"),
    ("Name,Official email\nA,a@mha.gov.in\n".encode("utf-16"), "roster.csv", "UTF-16"),
    (csv_bytes([person(1, Name="Jos\u00e9")], bom=False, encoding="latin-1"), "roster.csv", "not UTF-8"),
    (b"not a workbook at all", "roster.xlsx", "not an Excel workbook"),
    (b"PK\x03\x04broken", "roster.xlsx", "not an Excel workbook"),
    (csv_bytes([]), "roster.csv", "no people below it"),
    (csv_bytes([person(1)]), "roster.pdf", "Upload a CSV file"),
])
def test_a_malformed_file_gets_a_message_at_the_file_field_and_changes_nothing(world, content, name, message):
    response = post_file(signed_in(world["admin_office"]), world["office"], content, name)
    page = well_formed(response, 400)
    assert message in page
    assert 'id="id_file_error"' in page and 'aria-invalid="true"' in page
    assert not RosterImport.objects.exists()


@pytest.mark.parametrize("name", ["roster." + "प" * 80, "roster." + "x" * 250], ids=["devanagari", "ascii"])
def test_a_file_over_2_mb_whose_name_has_a_long_extension_gets_a_message_not_a_server_error(world, settings, name):
    # Over FILE_UPLOAD_MAX_MEMORY_SIZE Django writes an upload to a temporary file named
    # tmp<random>.upload<the extension>: with these names (the first 247 bytes, a name any
    # disk holds) longer than a disk allows.
    content = csv_bytes([person(i) for i in range(25_000)])
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE < len(content) < settings.ROSTER_MAX_BYTES
    page = well_formed(post_file(signed_in(world["admin_office"]), world["office"], content, name), 400)
    assert "Upload a CSV file (.csv) or an Excel workbook (.xlsx)." in page
    assert not RosterImport.objects.exists()


def test_limits_are_refused_at_the_file_field(world, settings):
    settings.ROSTER_MAX_ROWS = 3
    page = well_formed(post_file(signed_in(world["admin_office"]), world["office"],
                                 csv_bytes([person(i) for i in range(4)])), 400)
    assert "more than 3 rows" in page
    settings.ROSTER_MAX_BYTES = 100
    page = well_formed(post_file(signed_in(world["admin_office"]), world["office"], csv_bytes([person(1), person(2)])), 400)
    assert "larger than" in page
    assert not RosterImport.objects.exists()


def test_the_rosters_page_gives_the_browser_the_limit_of_a_file_and_its_refusal(world, settings):
    """Refused by the browser before it is sent (static/js/portal.js), as the portal refuses it."""
    settings.ROSTER_MAX_BYTES = 2 * 1024 * 1024
    listed = well_formed(signed_in(world["admin_office"]).get(f"/verification/organisations/{world['office'].pk}/rosters/"))
    assert 'data-max-bytes="2097152"' in listed
    assert 'data-too-large="The file is larger than 2 MB: split it into smaller files."' in listed


def test_templates_download_and_read_back(world):
    client = signed_in(world["admin_office"])
    template = client.get("/verification/rosters/template.csv")
    assert template.content.decode("utf-8-sig").splitlines()[0] == (
        "Name,Official email,Mobile,Designation,Employee code,Office,Date of superannuation")
    workbook = client.get("/verification/rosters/template.xlsx")
    assert workbook.content[:4] == b"PK\x03\x04"
    roster = upload(world["office"], world["admin_office"], _filled(workbook.content, [person(1)]),
                    name="roster-template.xlsx")
    assert roster.row_count == 1 and roster.refused_count == 0


def _filled(workbook_bytes, rows):
    """The template workbook with ``rows`` added below its header, as an admin fills it in."""
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(workbook_bytes))
    sheet = workbook.worksheets[0]
    for row in rows:
        sheet.append([row[cell.value] for cell in sheet[1]])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize("name", ["roster-template.csv", "roster-template.xlsx"])
def test_the_template_uploaded_unchanged_invites_nobody(world, name):
    """The template's example row (asha.kulkarni@mahaagri.gov.in) imported as a person: an
    admin who added their people below it invited that address too. The template is its
    header only; the example is shown on the rosters page, in the page's language."""
    client = signed_in(world["admin_office"])
    template = client.get(f"/verification/rosters/{name.replace('roster-', '')}").content
    with pytest.raises(RosterFileError, match="a header row but no people below it"):
        upload(world["office"], world["admin_office"], template, name=name)
    assert not RosterImport.objects.exists() and not Invitation.objects.exists()


@pytest.mark.parametrize(("language", "example"), [
    ("en", ["Asha Kulkarni", "asha.kulkarni@mahaagri.gov.in", "+91 98765 43210", "Section Officer", "EMP-1042",
            "Establishment Section", "2041-03-31"]),
    ("hi", ["आशा कुलकर्णी", "asha.kulkarni@mahaagri.gov.in", "+91 98765 43210", "अनुभाग अधिकारी", "EMP-1042",
            "स्थापना अनुभाग", "2041-03-31"]),
    ("mr", ["आशा कुलकर्णी", "asha.kulkarni@mahaagri.gov.in", "+91 98765 43210", "कक्ष अधिकारी", "EMP-1042",
            "आस्थापना शाखा", "2041-03-31"]),
])
def test_the_rosters_page_shows_a_row_of_the_template_for_example(world, language, example):
    client = signed_in(world["admin_office"])
    client.cookies["django_language"] = language
    tree = page_tree(client.get(f"/verification/organisations/{world['office'].pk}/rosters/"))
    table = tree.by_id("roster-example")
    assert [cell.squashed_text() for cell in table.find_all("th")] == HEADERS
    assert [cell.squashed_text() for cell in table.find_all("td")] == example


# The permission matrix: an admin of organisation A (the office) and of B (another
# organisation); every roster page of each, by each.

def _urls(organisation, roster, invitation):
    return [
        ("get", f"/verification/organisations/{organisation.pk}/rosters/"),
        ("post", f"/verification/organisations/{organisation.pk}/rosters/"),
        ("get", f"/verification/rosters/{roster.pk}/"),
        ("get", f"/verification/rosters/{roster.pk}/progress/"),
        ("get", f"/verification/rosters/{roster.pk}/refused-rows.csv"),
        ("get", f"/verification/rosters/{roster.pk}/apply/"),
        ("post", f"/verification/rosters/{roster.pk}/apply/"),
        ("get", f"/verification/organisations/{organisation.pk}/invitations/"),
        ("post", f"/verification/invitations/{invitation.pk}/resend/"),
    ]


@pytest.fixture
def two_organisations(world, django_capture_on_commit_callbacks):
    made = {}
    for key, organisation, admin, domain in (("a", world["office"], world["admin_office"], "pune.mahaagri.gov.in"),
                                             ("b", world["other"], world["admin_other"], "karhealth.gov.in")):
        roster = upload(organisation, admin, csv_bytes([person(1, domain=domain), person(2, Mobile="x")]))
        applied = upload(organisation, admin, csv_bytes([person(3, domain=domain)]))
        from verification.rosters import services

        with django_capture_on_commit_callbacks(execute=True):
            services.roster_apply_request(roster_id=applied.pk, actor=admin)
        made[key] = (organisation, roster, Invitation.objects.get(organisation=organisation))
    return made


@pytest.mark.parametrize("who", ["admin_office", "admin_other", "admin_parent", "auditor", "person", "superadmin"])
def test_permission_matrix(world, two_organisations, who, django_capture_on_commit_callbacks):
    """Admins of the office (and of the department above it) and superadmins reach the
    office's roster pages; the other organisation's admin, an auditor and a person do not,
    and nothing changes for them."""
    client = signed_in(world[who])
    allowed = {"admin_office": {"a"}, "admin_parent": {"a"}, "admin_other": {"b"}, "superadmin": {"a", "b"},
               "auditor": set(), "person": set()}[who]
    for key, (organisation, roster, invitation) in two_organisations.items():
        for method, url in _urls(organisation, roster, invitation):
            data = ({"file": SimpleUploadedFile("r.csv", csv_bytes([person(9)]))} if url.endswith("/rosters/")
                    else {"confirm": "on"} if url.endswith("/apply/") else {})
            with django_capture_on_commit_callbacks(execute=True):
                response = getattr(client, method)(url, data)
            if key in allowed:
                assert response.status_code in (200, 302), (who, method, url, response.status_code)
            else:
                assert response.status_code in (403, 404), (who, method, url, response.status_code)
    mine = {key for key, (organisation, roster, invitation) in two_organisations.items()
            if RosterImport.objects.filter(organisation=organisation).count() > 2}
    assert mine == allowed
    applied_by_others = RosterImport.objects.exclude(status=RosterStatus.PREVIEWED).exclude(
        organisation__in=[two_organisations[key][0] for key in allowed])
    assert applied_by_others.count() == 2 - len(allowed & {"a", "b"})


def test_a_roster_of_another_organisation_is_a_404_even_by_id_and_the_templates_need_an_admin(world, two_organisations):
    other_roster = two_organisations["b"][1]
    client = signed_in(world["admin_office"])
    assert client.get(f"/verification/rosters/{other_roster.pk}/refused-rows.csv").status_code == 404
    assert signed_in(world["person"]).get("/verification/rosters/template.csv").status_code == 403


# Query counts: 10 and 1,000 rows (half refused): the same.

@pytest.fixture(params=[10, 1000], ids=["10 rows", "1000 rows"])
def big_roster(request, world):
    rows = [person(i) if i % 2 else person(i, Mobile="123") for i in range(request.param)]
    return upload(world["office"], world["admin_office"], xlsx_bytes(rows), name="roster.xlsx")


# Every signed-in page starts with 2 queries (session, user with platform roles). The preview:
#   3 the roster with its organisation and uploader, among the organisations the viewer
#   administers; 4 the number of refused rows (the pager); 5 the page of refused rows.
PREVIEW_QUERIES = 5


def test_preview_query_count(world, big_roster, django_assert_num_queries):
    client = signed_in(world["admin_office"])
    url = f"/verification/rosters/{big_roster.pk}/"
    client.get(url)
    with django_assert_num_queries(PREVIEW_QUERIES):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("<tr>") - 6 == min(50, big_roster.refused_count)
    for page in ("?page=2", "progress/"):
        with django_assert_num_queries(PREVIEW_QUERIES if page == "?page=2" else 3):
            assert client.get(url + page).status_code == 200


# The rosters list: 3 the organisation (among those administered), 4 the number of
# imports (pager), 5 the page of imports with their uploaders.
def test_rosters_list_query_count(world, big_roster, django_assert_num_queries):
    upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    client = signed_in(world["admin_office"])
    url = f"/verification/organisations/{world['office'].pk}/rosters/"
    client.get(url)
    with django_assert_num_queries(5):
        assert client.get(url).status_code == 200


def test_posting_no_file_says_so_at_the_field(world):
    client = signed_in(world["admin_office"])
    page = well_formed(client.post(f"/verification/organisations/{world['office'].pk}/rosters/", {}), 400)
    assert "Choose the roster file to upload." in page


# The invitations list (each waiting one with its "Send again" and "Cancel the invitation"):
# 3 the organisation (among those administered), 4 the number of invitations (pager),
# 5 the page of invitations; the same for 2 and 60 invitations.
@pytest.mark.parametrize("people", [2, 60])
def test_invitations_list_query_count(world, people, django_capture_on_commit_callbacks, django_assert_num_queries):
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(i) for i in range(1, people + 1)]))
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_apply_request(roster_id=roster.pk, actor=world["admin_office"])
    client = signed_in(world["admin_office"])
    url = f"/verification/organisations/{world['office'].pk}/invitations/"
    client.get(url)
    with django_assert_num_queries(5):
        response = client.get(url)
    assert response.content.decode().count("Cancel the invitation<span") == min(people, 50)


def test_the_apply_confirmation_and_the_finished_line_group_their_counts_as_the_preview_does(world):
    """The admin reads the confirmation just before an import that cannot be undone: its
    counts are grouped the Indian way, as the preview's ("1,00,000", not "100000"); so is a
    finished import's skipped count, in the sentence whose other counts are."""
    admin = world["admin_office"]
    roster = upload(world["office"], admin, csv_bytes([person(1), person(2)]))
    RosterImport.objects.filter(pk=roster.pk).update(
        row_count=125000, verify_count=100000, invite_count=20000, change_count=3500, unchanged_count=1000,
        refused_count=1500)
    client = signed_in(admin)
    preview = client.get(f"/verification/rosters/{roster.pk}/").content.decode()
    assert '<td class="text-end">1,00,000</td>' in preview
    assert "What the roster's 1,25,000 rows do" in preview and "Download the 1,500 refused rows (CSV)" in preview
    confirm = client.get(f"/verification/rosters/{roster.pk}/apply/").content.decode()
    for said in ("verify 1,00,000 people", "invite 20,000 people", "change the details of 3,500 people",
                 "1,500 refused rows are left out."):
        assert said in confirm
    RosterImport.objects.filter(pk=roster.pk).update(
        status=RosterStatus.APPLIED,
        outcome={"verified": 100000, "invited": 0, "changed": 0, "unchanged": 0, "skipped": 12000})
    finished = client.get(f"/verification/rosters/{roster.pk}/").content.decode()
    assert "Finished: 1,00,000 verified" in finished and "12,000 skipped: their rows are listed below" in finished
    assert "Download the 13,500 rows left out (CSV)" in finished
