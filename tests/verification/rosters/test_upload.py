"""Uploading a roster: the preview's counts and refusals (each kind of problem), what
a second upload of the same people finds, and a malformed file keeping nothing."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.utils import timezone

from portal.audit.models import AuditAction, AuditEvent
from portal.organisations.models import DomainClaim, OrganisationDomain
from tests.factories import UserFactory
from tests.verification.helpers import GovernmentProfileFactory, contacts_shown_to_verified_users, signed_in
from tests.verification.rosters.helpers import csv_bytes, person, upload, upload_file, xlsx_bytes
from verification.models import VerificationStatus
from verification.rosters.models import Invitation, RosterImport, RosterRow, RosterStatus, RowOutcome
from verification.rosters.parsing import RosterFileError
from verification.rosters.refusals import reasons_of
from verification.selectors import verified_person_by_contact
from verification.visibility.models import Audience, PersonalVisibility, VisibilityPolicy

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")

DUPLICATE_OF_ROW_2 = "The same email address, or another way of writing it that reaches the same mailbox, is on row 2."

MISTAKES = [
    person(1),                                                    # 2 invite
    person(2, **{"Official email": "someone@gmail.com"}),         # 3 consumer
    person(3, **{"Official email": "someone@acme-corp.in"}),       # 4 not official
    person(4, **{"Official email": "not an address"}),            # 5 invalid
    person(5, **{"Official email": "PERSON1@pune.mahaagri.gov.in"}),  # 6 duplicate of row 2
    person(6, Mobile="12345"),                                    # 7 mobile
    person(7, **{"Date of superannuation": "31st March"}),        # 8 date
    person(8, Name='=HYPERLINK("http://evil.example","x")'),      # 9 formula
    person(9, Designation=""),                                    # 10 required
    person(10, Office="x" * 201),                                 # 11 too long
    person(11, Mobile="+91 98765 00011"),                         # 12 invite: a "+" mobile is a mobile
    person(12, Mobile="+cmd|' /C calc'!A0"),                      # 13 formula in the mobile column
    person(13, **{"Official email": "admin@pune.mahaagri.gov.in"}),  # 14 the uploader's own address
    person(14, **{"Official email": "x@contractor-external.gov.in"}),  # 15 invite: contractor mail is official mail
    person(15, **{"Date of superannuation": "31/03/2040"}),       # 16 invite
    person(16, Office="@SUM(1+1)"),                               # 17 formula
]


def test_a_roster_with_mistakes_is_previewed_with_counts_problems_and_numbered_refusals(world):
    roster = upload(world["office"], world["admin_office"], csv_bytes(MISTAKES))
    assert roster.status == RosterStatus.PREVIEWED
    assert roster.row_count == 16
    assert (roster.verify_count, roster.invite_count, roster.change_count, roster.unchanged_count,
            roster.refused_count) == (0, 4, 0, 0, 12)
    assert roster.problems == {"email_consumer": 1, "email_not_official": 1, "email_invalid": 1, "email_duplicate": 1,
                               "mobile_invalid": 1, "date_invalid": 1, "formula": 3, "required": 1, "too_long": 1,
                               "own_address": 1}
    refused = {row.line: reasons_of(row) for row in RosterRow.objects.filter(roster=roster, outcome=RowOutcome.REFUSED)}
    assert sorted(refused) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 17]
    assert refused[6] == [DUPLICATE_OF_ROW_2]
    assert refused[10] == ["A required detail is missing: designation."]
    assert refused[11] == ["A value is too long: office."]
    assert refused[9][0].startswith("A cell looks like a spreadsheet formula")
    assert refused[13][0].endswith(": mobile.")
    assert refused[3] == ["The email address is a personal mail service, never official."]
    invited = RosterRow.objects.get(roster=roster, line=12)
    assert (invited.outcome, invited.mobile) == (RowOutcome.INVITE, "+919876500011")
    assert RosterRow.objects.get(roster=roster, line=16).superannuation_date.isoformat() == "2040-03-31"
    event = AuditEvent.objects.get(action=AuditAction.ROSTER_UPLOADED)
    assert event.new_values["refused"] == 12 and event.actor_id == world["admin_office"].pk
    assert not Invitation.objects.exists()  # a preview changes nothing


def test_an_address_reaching_an_earlier_rows_mailbox_is_a_duplicate(world):
    """One official's address written again with a "+tag" (or in other letters' case) reaches
    the same mailbox, as the portal compares people (official_email.normalise_address): the
    later rows are refused as duplicates of the first, each saying so, as a repeated address
    is; each would otherwise be invited, one mail a row to one inbox."""
    rows = [person(1), *(person(i, **{"Official email": f"Person1+{i}@pune.mahaagri.gov.in"}) for i in range(2, 6))]
    roster = upload(world["office"], world["admin_office"], csv_bytes(rows))
    assert (roster.invite_count, roster.refused_count) == (1, 4)
    assert roster.problems == {"email_duplicate": 4}
    refused = {row.line: reasons_of(row) for row in RosterRow.objects.filter(roster=roster, outcome=RowOutcome.REFUSED)}
    assert refused == {line: [DUPLICATE_OF_ROW_2] for line in (3, 4, 5, 6)}


@pytest.mark.parametrize("blank", ["\u200b", "\u200b\u200d\ufeff", " \u2060 "])
def test_a_required_detail_made_only_of_invisible_characters_is_missing(world, blank):
    """A cell of zero-width spaces, joiners or word joiners looks empty: the row is refused
    as missing that detail, as the join request's form refuses such an answer."""
    roster = upload(world["office"], world["admin_office"], csv_bytes([
        person(1, Designation=blank), person(2, Name=blank), person(3, Office="Establishment\u200b")]))
    refused = {row.line: reasons_of(row) for row in RosterRow.objects.filter(roster=roster, outcome=RowOutcome.REFUSED)}
    assert refused == {2: ["A required detail is missing: designation."], 3: ["A required detail is missing: name."]}
    assert roster.invite_count == 1


def test_the_same_as_xlsx(world):
    roster = upload(world["office"], world["admin_office"], xlsx_bytes(MISTAKES), name="roster.xlsx")
    assert roster.file_format == "xlsx"
    assert (roster.invite_count, roster.refused_count) == (4, 12)


def test_people_verified_or_invited_here_are_unchanged_or_changed(world):
    office = world["office"]
    # (A factory's user has the address confirmed; verified under the roster's name.)
    same = UserFactory(email="person1@pune.mahaagri.gov.in", full_name="Person 1")
    GovernmentProfileFactory(user=same, organisation=office, status=VerificationStatus.VERIFIED, designation="Clerk",
                             office="Establishment", employee_code="E00001", mobile="+919876500001",
                             superannuation_date="2041-03-31")
    moved = UserFactory(email="person2@pune.mahaagri.gov.in")
    GovernmentProfileFactory(user=moved, organisation=office, status=VerificationStatus.VERIFIED, designation="Typist")
    UserFactory(email="person3@pune.mahaagri.gov.in")
    unconfirmed = UserFactory(email="person4@pune.mahaagri.gov.in", verified=False)
    EmailAddress.objects.create(user=unconfirmed, email=unconfirmed.email, verified=False, primary=True)
    roster = upload(office, world["admin_office"], csv_bytes([person(1), person(2), person(3), person(4)]))
    outcomes = dict(RosterRow.objects.filter(roster=roster).values_list("line", "outcome"))
    assert outcomes == {2: RowOutcome.UNCHANGED, 3: RowOutcome.CHANGE, 4: RowOutcome.VERIFY, 5: RowOutcome.INVITE}


@pytest.mark.parametrize(("content", "name", "message"), [
    (csv_bytes([person(1)], bom=False, encoding="utf-16"), "roster.csv", "UTF-16"),
    (b"Name\nA\n", "roster.csv", "Missing"),
    (csv_bytes([]), "roster.csv", "no people"),
    (b"Name,Official email\n" * 1, "roster.xlsx", "not an Excel workbook"),
    (csv_bytes([person(1)], bom=False, encoding="latin-1") + "Jos\u00e9,\n".encode("latin-1"), "r.csv", "not UTF-8"),
])
def test_a_malformed_file_keeps_nothing(world, content, name, message):
    with pytest.raises(RosterFileError, match=message):
        upload(world["office"], world["admin_office"], content, name=name)
    assert not RosterImport.objects.exists() and not RosterRow.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.ROSTER_UPLOADED).exists()


def test_a_roster_whose_letters_became_question_marks_is_refused_naming_its_rows(world):
    """Saved by Excel as plain "CSV (Comma delimited)", every Devanagari letter is "?":
    the rows passed, and invitations would have gone to "???? ???????"."""
    rows = [person(1), person(2, Name="???? ???????"), person(3, Designation="????? ???????"),
            person(4, Office="??????? ????"), person(5)]
    with pytest.raises(RosterFileError) as refused:
        upload(world["office"], world["admin_office"], csv_bytes(rows, bom=False))
    assert str(refused.value).startswith("3 rows have “?” where letters belong (rows 3, 4, 5)")
    assert "“CSV UTF-8 (comma delimited)”" in str(refused.value)
    assert not RosterImport.objects.exists() and not RosterRow.objects.exists()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("kind", ["xlsx", "csv with a UTF-8 mark"])
def test_a_unicode_roster_with_a_question_mark_for_an_unknown_value_is_read(world, kind):
    """Only plain CSV, in a code page without Devanagari, writes "?" for letters: a workbook, or a
    CSV saved as "CSV UTF-8" (its mark first), keeps them. Such a file with "?" typed for an
    unknown office was refused whole, told it "was saved as plain CSV"."""
    rows = [person(1), person(2, Office="?"), person(3, Designation="??")]
    content, name = (xlsx_bytes(rows), "roster.xlsx") if kind == "xlsx" else (csv_bytes(rows, bom=True), "roster.csv")
    roster = upload(world["office"], world["admin_office"], content, name=name)
    assert roster.row_count == 3
    assert RosterRow.objects.get(roster=roster, line=3).office == "?"


def test_too_many_rows_keeps_nothing_even_after_staging_some(world, settings):
    settings.ROSTER_MAX_ROWS = 5
    with pytest.raises(RosterFileError, match="more than 5 rows"):
        upload(world["office"], world["admin_office"], csv_bytes([person(i) for i in range(6)]))
    assert not RosterRow.objects.exists()


def test_an_admin_of_another_organisation_cannot_upload(world):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        upload(world["office"], world["admin_other"], csv_bytes([person(1)]))
    with pytest.raises(PermissionDenied):
        upload(world["office"], world["auditor"], csv_bytes([person(1)]))


def test_a_new_upload_replaces_the_uploaders_earlier_preview_never_applied(world):
    """Checking a corrected file again is the usual way: the earlier preview's rows (every
    person's details as uploaded) go at once, its counts stay, it can no longer be applied.
    Another admin's preview, or one applied, is left as it is."""
    first = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2)]))
    others = upload(world["office"], world["admin_parent"], csv_bytes([person(3)]))
    second = upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    first.refresh_from_db()
    assert first.rows_removed_at is not None and first.row_count == 2
    assert set(RosterRow.objects.values_list("roster_id", flat=True)) == {others.pk, second.pk}
    page = signed_in(world["admin_office"]).get(f"/verification/rosters/{first.pk}/").content.decode()
    assert "its rows have been removed: upload the file again to import it" in page
    assert "when the same administrator checked a later file" in page and "days after it was applied" not in page


def test_an_organisation_checks_at_most_so_many_rosters_a_day(world, settings):
    settings.ROSTER_UPLOADS_PER_DAY = 2
    upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    upload(world["office"], world["admin_parent"], csv_bytes([person(2)]))
    with pytest.raises(RosterFileError, match="2 rosters of this organisation were checked in the last 24 hours"):
        upload(world["office"], world["admin_office"], csv_bytes([person(3)]))
    assert RosterImport.objects.count() == 2
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        upload(world["office"], world["admin_office"], csv_bytes([person(3)]))


def test_the_daily_roster_limit_names_the_moment_the_next_file_may_be_checked(world, settings):
    """The limit counts the files checked in the last 24 hours, kept or refused once their
    check had started. Its refusal said "upload this file tomorrow": refused at 10:05 IST,
    the admin coming back tomorrow at 00:05 IST was refused again. It names the moment the
    next file may be checked (when the oldest of those that fill the limit is 24 hours old),
    as the portal's other daily limits do, and that moment it is accepted."""
    settings.ROSTER_UPLOADS_PER_DAY, settings.ROSTER_MAX_ROWS = 2, 50
    start = datetime(2026, 5, 10, 10, 0, tzinfo=IST)
    with time_machine.travel(start, tick=False):
        upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    with time_machine.travel(start + timedelta(minutes=30), tick=False), \
            pytest.raises(RosterFileError, match="more than 50 rows"):
        upload(world["office"], world["admin_parent"], csv_bytes([person(i) for i in range(1, 52)]))
    for moment in (start + timedelta(minutes=35), datetime(2026, 5, 11, 0, 5, tzinfo=IST)):
        with time_machine.travel(moment, tick=False), pytest.raises(RosterFileError) as refused:
            upload(world["office"], world["admin_office"], csv_bytes([person(2)]))
        assert str(refused.value) == (
            "2 rosters of this organisation were checked in the last 24 hours, the most allowed: apply one of them, "
            "or upload this file from 11 May 2026, 10:00."), moment
    with time_machine.travel(datetime(2026, 5, 11, 10, 0, tzinfo=IST), tick=False):
        upload(world["office"], world["admin_office"], csv_bytes([person(2)]))


def test_files_refused_after_their_rows_were_checked_count_towards_the_daily_limit(world, settings):
    """A file refused only once every row was read and checked (a byte that is not UTF-8
    at its end, one row past the limit) cost the work of one kept: it counts towards the
    organisation's ROSTER_UPLOADS_PER_DAY, so it cannot be sent again and again. The
    admin is told why each was refused, then that the day's checks are used up;
    a refusal by the limit itself does not count, and each refused check is audited."""
    settings.ROSTER_UPLOADS_PER_DAY, settings.ROSTER_MAX_ROWS = 2, 50
    with pytest.raises(RosterFileError, match="not UTF-8"):
        upload(world["office"], world["admin_office"], csv_bytes([person(i) for i in range(1, 41)]) + b"\xff\n")
    with pytest.raises(RosterFileError, match="more than 50 rows"):
        upload(world["office"], world["admin_parent"], csv_bytes([person(i) for i in range(1, 52)]))
    for _attempt in range(2):
        with pytest.raises(RosterFileError, match="2 rosters of this organisation were checked in the last 24 hours"):
            upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    assert not RosterImport.objects.exists() and not RosterRow.objects.exists()
    refused = AuditEvent.objects.filter(action=AuditAction.ROSTER_REFUSED).order_by("id")
    assert [(e.target_id, e.new_values["organisation"]) for e in refused] == [(str(world["office"].pk), world["office"].pk)] * 2
    assert "not UTF-8" in refused[0].new_values["refused"] and "more than 50 rows" in refused[1].new_values["refused"]
    # Another organisation's uploads are its own; a day later this one checks files again.
    upload(world["other"], world["admin_other"], csv_bytes([person(1, domain="karhealth.gov.in")]))
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        upload(world["office"], world["admin_office"], csv_bytes([person(1)]))


def test_a_file_not_checked_within_its_time_is_refused_at_the_file_field_and_counts_towards_the_day(world, settings):
    """Reading and checking a file runs in the web request: a small file can hold rows that
    take minutes to read (cells thousands of characters long), past the web worker's
    timeout, which would end the request with nothing said, audited or counted. Past
    ROSTER_CHECK_SECONDS the file is refused at its field, audited, and counted towards
    ROSTER_UPLOADS_PER_DAY like any file whose check had started."""
    settings.ROSTER_CHECK_SECONDS, settings.ROSTER_UPLOADS_PER_DAY = 0.001, 2
    content = csv_bytes([person(i) for i in range(1, 2100)])  # past the first batch checked and staged
    url = f"/verification/organisations/{world['office'].pk}/rosters/"
    response = signed_in(world["admin_office"]).post(url, {"file": upload_file(content)})
    assert response.status_code == 400
    message = ("The file took longer than 0.001 seconds to read and check: split it into smaller files and upload "
               "them one by one.")
    assert response.context["form"].errors["file"] == [message]
    assert not RosterImport.objects.exists() and not RosterRow.objects.exists()
    [refused] = AuditEvent.objects.filter(action=AuditAction.ROSTER_REFUSED)
    assert refused.new_values["refused"] == message
    settings.ROSTER_CHECK_SECONDS = 20
    upload(world["office"], world["admin_office"], csv_bytes([person(1)]))
    with pytest.raises(RosterFileError, match="2 rosters of this organisation were checked in the last 24 hours"):
        upload(world["office"], world["admin_office"], csv_bytes([person(2)]))


def test_a_mobile_number_another_verified_person_holds_is_refused(world):
    """The verification API answers nobody for a number two verified people hold (and
    show to verified government users): a roster row would take the answer from its
    holder. The holder's own row keeps the number."""
    holder = UserFactory(email="ravi.rao@karhealth.gov.in", full_name="Ravi Rao")
    GovernmentProfileFactory(user=holder, organisation=world["other"], status=VerificationStatus.VERIFIED,
                             official_email=holder.email, mobile="+919876500001")
    contacts_shown_to_verified_users(world["other"])
    here = UserFactory(email="person2@pune.mahaagri.gov.in", full_name="Person 2")
    GovernmentProfileFactory(user=here, organisation=world["office"], status=VerificationStatus.VERIFIED,
                             official_email=here.email, mobile="+919876500002")
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1), person(2), person(3)]))
    assert (roster.refused_count, roster.problems) == (1, {"mobile_taken": 1})
    [refused] = RosterRow.objects.filter(roster=roster, outcome=RowOutcome.REFUSED)
    assert refused.line == 2 and reasons_of(refused) == [
        "This mobile number is held by another verified government user: check the number with the person."]
    page = signed_in(world["admin_office"]).get(f"/verification/rosters/{roster.pk}/").content.decode()
    assert "1 mobile number is held by another verified person" in page


def test_a_domain_accepted_for_another_organisation_is_not_official_in_this_roster(world):
    """A domain off the official suffixes (a PSU's co.in) that a superadmin accepted for
    one organisation is official for it, and for the offices above it whose rosters
    take people from the offices below; not for an unrelated organisation's roster."""
    OrganisationDomain.objects.create(organisation=world["other"], domain="karpsu.co.in", is_verified=True,
                                      claim=DomainClaim.NOT_OFFICIAL)
    OrganisationDomain.objects.create(organisation=world["office"], domain="puneagri.co.in", is_verified=True,
                                      claim=DomainClaim.NOT_OFFICIAL)
    UserFactory(email="person1@karpsu.co.in")  # has an account: would be verified
    content = csv_bytes([person(1, domain="karpsu.co.in"), person(2, domain="karpsu.co.in"),
                         person(3, domain="puneagri.co.in")])
    roster = upload(world["office"], world["admin_office"], content)
    assert (roster.verify_count, roster.invite_count, roster.refused_count) == (0, 1, 2)
    assert roster.problems == {"email_not_official": 2}
    assert RosterRow.objects.get(roster=roster, line=4).outcome == RowOutcome.INVITE
    assert upload(world["other"], world["admin_other"], content).problems == {"email_not_official": 1}
    above = upload(world["parent"], world["admin_parent"], content)
    assert (above.invite_count, above.problems) == (1, {"email_not_official": 2})


def test_every_confirmed_address_of_the_uploader_is_their_own(world):
    """Not only the account's primary address: a row of any address the uploader confirmed
    is refused as their own (another administrator verifies them)."""
    admin = world["admin_office"]
    EmailAddress.objects.create(user=admin, email="office.admin.2@pune.mahaagri.gov.in", verified=True, primary=False)
    content = csv_bytes([person(1, **{"Official email": "Office.Admin.2@pune.mahaagri.gov.in"}),
                         person(2, **{"Official email": admin.email})])
    roster = upload(world["office"], admin, content)
    rows = {row.line: (row.outcome, row.problems) for row in RosterRow.objects.filter(roster=roster)}
    assert rows == {2: (RowOutcome.REFUSED, "own_address"), 3: (RowOutcome.REFUSED, "own_address")}


def test_a_row_of_another_account_of_the_uploaders_mailbox_is_their_own(world):
    """Accounts are one per address, "+tag" and all: a row at an address that reaches the
    uploader's mailbox ("admin+2@" for "admin@") is refused as their own, verified there or not."""
    admin = world["admin_office"]
    mine = UserFactory(email="admin+2@pune.mahaagri.gov.in", full_name="Office Admin")
    GovernmentProfileFactory(user=mine, organisation=world["office"], status=VerificationStatus.VERIFIED,
                             official_email=mine.email)
    EmailAddress.objects.update_or_create(user=mine, email=mine.email, defaults={"verified": True, "primary": True})
    for address in ("Admin+2@pune.mahaagri.gov.in", "admin+3@pune.mahaagri.gov.in"):
        roster = upload(world["office"], admin, csv_bytes([person(1, **{"Official email": address}), person(2)]))
        rows = {row.line: (row.outcome, row.problems) for row in RosterRow.objects.filter(roster=roster)}
        assert rows == {2: (RowOutcome.REFUSED, "own_address"), 3: (RowOutcome.INVITE, "")}


def test_a_mobile_number_on_an_earlier_row_too_is_refused(world):
    """Two rows giving one mobile number would verify two people holding it (the
    verification API then answers nobody for it, or the wrong person): the later row is
    refused, naming the earlier one, in the summary, the list and its download."""
    UserFactory(email="person1@pune.mahaagri.gov.in")
    UserFactory(email="person2@pune.mahaagri.gov.in")
    rows = [person(1, Mobile="9876512345"), person(2, Mobile="+91 98765 12345"), person(3)]
    roster = upload(world["office"], world["admin_office"], csv_bytes(rows))
    assert (roster.verify_count, roster.invite_count, roster.refused_count) == (1, 1, 1)
    assert roster.problems == {"mobile_duplicate": 1}
    refused = RosterRow.objects.get(roster=roster, outcome=RowOutcome.REFUSED)
    assert (refused.line, refused.duplicate_of, refused.email) == (3, 2, "person2@pune.mahaagri.gov.in")
    client = signed_in(world["admin_office"])
    page = client.get(f"/verification/rosters/{roster.pk}/").content.decode()
    assert "1 mobile number appears on an earlier row too" in page
    assert "The same mobile number is on row 2: a number is one person&#x27;s." in page
    client.cookies["django_language"] = "hi"
    page = client.get(f"/verification/rosters/{roster.pk}/").content.decode()
    assert "appears on an earlier row" not in page and "मोबाइल नंबर" in page
    download = client.get(f"/verification/rosters/{roster.pk}/refused-rows.csv")
    assert download.status_code == 200 and "person2@pune.mahaagri.gov.in" in b"".join(download.streaming_content).decode()


def test_a_workbook_saved_with_a_password_is_named_as_such(world):
    """Excel saves a workbook with a password as a compound file (the old .xls format's
    kind) holding an "EncryptedPackage" stream: not an old Excel file."""
    locked = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1016 + "EncryptedPackage".encode("utf-16-le")
    for name in ("roster.xlsx", "roster.bin"):
        with pytest.raises(RosterFileError, match="protected by a password") as refused:
            upload(world["office"], world["admin_office"], locked + b"\x00" * 4096, name=name)
        assert ".xls)" not in str(refused.value)
    with pytest.raises(RosterFileError, match=r"old Excel file \(\.xls\)"):
        upload(world["office"], world["admin_office"], locked[:8] + b"\x00" * 4096, name="roster.xls")
    assert not RosterImport.objects.exists()


def test_an_address_with_a_sharp_s_in_its_domain_finds_the_account_that_signed_up_with_it(world):
    """Sign-up keeps an address as official_email.normalise_mailbox writes it ("straße" as
    "strasse", Python's IDNA); the roster wrote email-validator's IDNA 2008 form
    ("xn--strae-oqa"), missed the account and invited another domain."""
    from portal.accounts.official_email import normalise_mailbox

    signed_up = UserFactory(email=normalise_mailbox("asha@straße.gov.in"))
    # On the office's own domain: an account there is verified at once (elsewhere, invited).
    OrganisationDomain.objects.create(organisation=world["office"], domain="strasse.gov.in", is_verified=True)
    assert signed_up.email == "asha@strasse.gov.in"
    roster = upload(world["office"], world["admin_office"], csv_bytes([
        person(1, **{"Official email": "asha@straße.gov.in"}),
        person(2, **{"Official email": "Ravi@STRAẞE.gov.in"}),  # the capital sharp s
    ]))
    rows = {row.line: row for row in RosterRow.objects.filter(roster=roster)}
    assert (rows[2].outcome, rows[2].email) == (RowOutcome.VERIFY, signed_up.email)
    assert rows[3].email == normalise_mailbox("ravi@straße.gov.in") == "ravi@strasse.gov.in"


@pytest.mark.parametrize("kept_by", ["organisation", "person"])
def test_a_roster_preview_does_not_tell_a_hidden_mobile_number_is_held(world, kept_by):
    """A number its holder's organisation, or the holder, keeps from verified government
    users is no holder's for the verification API (it finds nobody by it) nor for a
    roster: the preview does not refuse the row, which would tell any organisation's
    admin, row by made-up row, which numbers verified people hold."""
    holder = UserFactory(email="ravi.rao@karhealth.gov.in", full_name="Ravi Rao")
    GovernmentProfileFactory(user=holder, organisation=world["other"], status=VerificationStatus.VERIFIED,
                             official_email=holder.email, mobile="+919876500001")
    contacts_shown_to_verified_users(world["other"])
    if kept_by == "organisation":
        VisibilityPolicy.objects.filter(organisation=world["other"]).update(mobile=Audience.NOBODY)
    else:
        PersonalVisibility.objects.create(user=holder, mobile=Audience.ADMINS)
    admin = signed_in(world["admin_office"])
    assert "Ravi Rao" not in admin.get("/people/", {"q": "9876500001"}).content.decode()
    roster = upload(world["office"], world["admin_office"], csv_bytes([person(1)]))  # Mobile 9876500001
    assert not roster.rows.filter(problems__contains="mobile_taken").exists()
    assert roster.refused_count == 0


def test_a_roster_preview_does_not_tell_whose_address_off_its_domains_is_held(world):
    """The visibility rules keep an address from another organisation's admin (the
    verification API and the directory find nobody by it): a row at an address not on the
    roster's own domains is invited whoever holds it (someone verified elsewhere, the
    last admin there, an admin of another organisation, an auditor, an account verified
    nowhere, nobody), the preview, its counts and its list of refusals alike for each.
    Accepting the invitation is the person's (it refuses a move, a role holder, an auditor)."""
    verified = UserFactory(email="asha.k@pune.mahaagri.gov.in", full_name="Asha K")
    GovernmentProfileFactory(user=verified, organisation=world["office"], status=VerificationStatus.VERIFIED,
                             official_email=verified.email)
    last_admin = world["admin_office"]
    GovernmentProfileFactory(user=last_admin, organisation=world["office"], status=VerificationStatus.VERIFIED,
                             official_email=last_admin.email)
    UserFactory(email="nobody.k@pune.mahaagri.gov.in", full_name="No Body")
    auditor = world["auditor"]
    EmailAddress.objects.create(user=auditor, email="audit.k@pune.mahaagri.gov.in", verified=True, primary=False)
    addresses = [verified.email, last_admin.email, world["admin_parent"].email, "audit.k@pune.mahaagri.gov.in",
                 "nobody.k@pune.mahaagri.gov.in", "unknown.k@pune.mahaagri.gov.in"]
    assert verified_person_by_contact(emails=[verified.email]) is None
    admin = signed_in(world["admin_other"])
    assert "Asha K" not in admin.get("/people/", {"q": "asha.k@pune"}).content.decode()

    roster = upload(world["other"], world["admin_other"],
                    csv_bytes([person(i, **{"Official email": address}) for i, address in enumerate(addresses, 1)]))
    rows = {row.line: (row.outcome, row.problems) for row in RosterRow.objects.filter(roster=roster)}
    assert rows == {line: (RowOutcome.INVITE, "") for line in range(2, 8)}, rows
    assert (roster.verify_count, roster.invite_count, roster.refused_count, roster.problems) == (0, 6, 0, {})
    page = admin.get(f"/verification/rosters/{roster.pk}/").content.decode()
    assert "another organisation" not in page and "auditor" not in page
    download = b"".join(admin.get(f"/verification/rosters/{roster.pk}/refused-rows.csv").streaming_content).decode()
    assert len(download.strip().splitlines()) == 1  # the header alone
