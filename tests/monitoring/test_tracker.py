"""The adoption tracker: matching expected offices to organisations and applications,
overdue first, who may see and edit which list, the upload, and the weekly reminder."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring import services
from monitoring.models import ExpectedOffice
from monitoring.tracker import TrackerStatus, match_offices, tracker_rows
from onboarding.models import Application
from portal.accounts.models import EmailSuffixRule, SuffixKind, User
from portal.audit.models import AuditAction, AuditEvent
from portal.mail.models import OutboxMessage, OutboxPriority
from portal.organisations.models import OrganisationDomain
from portal.organisations.services import organisation_details_change
from tests.factories import (
    ApplicationFactory,
    ApprovalStepFactory,
    OrganisationDomainFactory,
    OrganisationFactory,
    PlatformRoleFactory,
)
from tests.html_tree import field_container, field_error, field_value, form_as_sent, page, printed_filters
from tests.onboarding.approval_helpers import messages_to
from tests.onboarding_data import VALID
from tests.verification.helpers import signed_in

pytestmark = pytest.mark.django_db


def office(**fields):
    values = {"jurisdiction": "MH", "name": "Some office", "contact_email": "contact@office.mh.gov.in",
              "target_date": date(2026, 6, 30), **fields}
    return ExpectedOffice.objects.create(**values)


def with_organisation_section(application_fields, **organisation):
    data = {**VALID, "organisation": {**VALID["organisation"], **organisation}}
    return ApplicationFactory(data=data, **application_fields)


@pytest.fixture
def offices(world):
    """One office in each state of the tracker, matched in each way, and one of Karnataka."""
    OrganisationDomain.objects.create(organisation=world["health"], domain="health.mh.gov.in", is_verified=True)
    now = timezone.now()
    in_approval = with_organisation_section({"status": "with_authority", "jurisdiction": "MH"}, short_code="MH-WATER")
    ApprovalStepFactory(application=in_approval, stage="authority", assignee_name="Anita Deshmukh",
                        assignee_email="director@water.mh.gov.in", opened_at=now, due_at=now + timedelta(days=7))
    with_organisation_section({"status": "draft", "reference": None, "jurisdiction": "MH"},
                              short_code="", email_domains="fisheries.mh.gov.in")
    return {
        "by_code": office(name="Agriculture", short_code="MH-AGRI", target_date=date(2020, 1, 1)),
        "by_domain": office(name="Health", official_domain="health.mh.gov.in", target_date=date(2020, 1, 1)),
        "in_approval": office(name="Water Board", short_code="MH-WATER", target_date=date(2020, 3, 1)),
        "draft": office(name="Fisheries", official_domain="fisheries.mh.gov.in", target_date=date(2099, 1, 1)),
        "not_started": office(name="Ports", short_code="MH-PORTS", target_date=date(2020, 2, 1)),
        # A Karnataka short code equal to a Maharashtra organisation's: no match across states.
        "other_state": office(name="Revenue", jurisdiction="KA", short_code="MH-AGRI", target_date=date(2020, 1, 1),
                              contact_email="contact@revenue.ka.gov.in"),
        "in_approval_app": in_approval,
    }


def test_matching(offices):
    rows = [offices[name] for name in ("by_code", "by_domain", "in_approval", "draft", "not_started", "other_state")]
    matches = match_offices(rows)
    assert matches[offices["by_code"].pk].status == TrackerStatus.ACTIVE
    assert matches[offices["by_code"].pk].organisation.short_code == "MH-AGRI"
    assert matches[offices["by_domain"].pk].status == TrackerStatus.ACTIVE
    approval = matches[offices["in_approval"].pk]
    assert approval.status == TrackerStatus.IN_APPROVAL
    assert approval.application == offices["in_approval_app"]
    assert approval.stage_label == "Competent authority"
    assert approval.holder == "Anita Deshmukh <director@water.mh.gov.in>"
    assert matches[offices["draft"].pk].status == TrackerStatus.DRAFT
    assert matches[offices["not_started"].pk].status == TrackerStatus.NOT_STARTED
    assert matches[offices["other_state"].pk].status == TrackerStatus.NOT_STARTED


def test_an_office_listed_under_a_code_its_organisation_no_longer_has_is_still_matched(world):
    """An organisation's short code changed on its details page (a department renamed): the
    office listed under the code it had is still that organisation, active, and not overdue;
    once another organisation holds the old code, the office is that one's."""
    agri = world["agri"]
    listed = office(name="Agriculture", short_code="MH-AGRI", target_date=date(2020, 1, 1))
    organisation_details_change(organisation=agri, name=agri.name, name_local=agri.name_local, short_code="MH-AGRI-FW",
                                district=agri.district, reason="Renamed by the government order of 1 December 2026.",
                                actor=User.objects.get(pk=world["state_admin_mh"].pk))
    match = match_offices([listed])[listed.pk]
    assert (match.status, match.organisation) == (TrackerStatus.ACTIVE, agri)
    [row] = tracker_rows({"MH"}, today=date(2026, 12, 1)).filter(pk=listed.pk)
    assert (row.joined, row.overdue) == (True, False)
    newcomer = OrganisationFactory(name="Agricultural Marketing Board", short_code="MH-AGRI", state="MH",
                                   status="pending")
    match = match_offices([listed])[listed.pk]
    assert (match.status, match.organisation) == (TrackerStatus.NOT_STARTED, newcomer)
    [row] = tracker_rows({"MH"}, today=date(2026, 12, 1)).filter(pk=listed.pk)
    assert (row.joined, row.overdue) == (False, True)


def test_an_office_whose_organisation_is_suspended_is_not_told_to_start_joining(world):
    """The Health Department joined, and is suspended now: its office read "Not started"
    ("nothing matches it yet"), was flagged overdue and offered a reminder, and the reminder
    sent said its nodal officer could start the onboarding application (one would be refused:
    the short code is the organisation's). It reads "Suspended on Sandes", is not overdue, and
    no reminder is offered or sent; reactivated, it is active again."""
    import html as html_module  # noqa: PLC0415

    from portal.organisations.models import Organisation, OrganisationStatus  # noqa: PLC0415

    listed = office(name="Health", short_code="MH-HEALTH", target_date=date(2020, 1, 1),
                    contact_email="contact@health.mh.gov.in")
    by_domain = office(name="Health offices", official_domain="health.mh.gov.in", target_date=date(2020, 1, 1),
                       contact_email="offices@health.mh.gov.in")
    OrganisationDomain.objects.create(organisation=world["health"], domain="health.mh.gov.in", is_verified=True)
    Organisation.objects.filter(pk=world["health"].pk).update(status=OrganisationStatus.SUSPENDED)
    matches = match_offices([listed, by_domain])
    assert {(match.status, match.organisation) for match in matches.values()} == {
        (TrackerStatus.SUSPENDED, world["health"])}
    assert {(row.joined, row.overdue) for row in tracker_rows({"MH"}, today=date(2026, 12, 1))
            .filter(pk__in=[listed.pk, by_domain.pk])} == {(True, False)}
    client = signed_in(world["state_admin_mh"])
    html = client.get("/monitoring/adoption/").content.decode()
    row = html[html.index("<td>Health<br>"):]
    row = row[:row.index("</tr>")]
    assert "Suspended on Sandes" in row and "Not started" not in row and "Overdue" not in row
    assert "Send a reminder" not in row
    refusal = "This office's organisation is suspended on Sandes: a reminder to join would not help."
    assert refusal in html_module.unescape(client.get(f"/monitoring/adoption/{listed.pk}/remind/").content.decode())
    for status in (TrackerStatus.SUSPENDED, TrackerStatus.NOT_STARTED):  # what the page read, or an older page
        with pytest.raises(ValidationError) as refused:
            services.expected_office_remind(office=listed, editable={"MH"}, status=status,
                                            actor=User.objects.get(pk=world["state_admin_mh"].pk))
        assert refused.value.messages[0].startswith(refusal)
    assert not OutboxMessage.objects.exists()
    Organisation.objects.filter(pk=world["health"].pk).update(status=OrganisationStatus.ACTIVE)
    assert match_offices([listed])[listed.pk].status == TrackerStatus.ACTIVE


def test_offices_listed_under_each_of_an_organisations_former_codes_are_all_matched_on_one_page(world):
    """Renamed twice (MH-AGRI, then MH-AGRI2, now MH-AGRI3), an office listed under each former
    code: the page matched each organisation by the newest of the page's former codes only, so
    the office under the oldest read "Not started" beside the other (and "Active" alone), while
    its row was not flagged overdue, and its reminder was refused as already active."""
    agri = world["agri"]
    for code in ("MH-AGRI2", "MH-AGRI3"):
        agri.refresh_from_db()
        organisation_details_change(organisation=agri, name=agri.name, name_local=agri.name_local, short_code=code,
                                    district=agri.district, reason="Renamed by the government order of 1 December 2026.",
                                    actor=User.objects.get(pk=world["state_admin_mh"].pk))
    oldest = office(name="Agriculture (first list)", short_code="MH-AGRI", target_date=date(2020, 1, 1))
    newer = office(name="Agriculture (second list)", short_code="MH-AGRI2", target_date=date(2020, 1, 1))
    for page_of in ([oldest], [newer], [oldest, newer], [newer, oldest]):
        matches = match_offices(page_of)
        assert {(m.status, m.organisation) for m in matches.values()} == {(TrackerStatus.ACTIVE, agri)}, page_of
    html = signed_in(world["state_admin_mh"]).get("/monitoring/adoption/").content.decode()
    assert "Not started</span>" not in html


def test_an_office_on_another_states_domain_shows_nothing_of_that_states_applications(world):
    """A domain is anyone's to type on their list: matched by it, another state's
    applications (their drafts, who holds each) were shown on this list."""
    now = timezone.now()
    submitted = ApplicationFactory(
        data={**VALID, "organisation": {**VALID["organisation"], "short_code": "KA-MINES",
                                        "email_domains": "mines.karnataka.gov.in"}},
        status="with_authority", jurisdiction="KA", organisation_name="Mines Department, Karnataka",
        reference="ONB-2026-KA0001")
    ApprovalStepFactory(application=submitted, stage="authority", assignee_name="Secret Karnataka Authority",
                        assignee_email="secretary@mines.karnataka.gov.in", opened_at=now, due_at=now + timedelta(days=7))
    ApplicationFactory(data={**VALID, "organisation": {**VALID["organisation"], "short_code": "",
                                                       "email_domains": "ports.karnataka.gov.in"}},
                       status="draft", reference=None, jurisdiction="KA", organisation_name="Ports KA draft")
    client = signed_in(world["state_admin_mh"])
    probes = []
    for domain in ("mines.karnataka.gov.in", "ports.karnataka.gov.in"):
        assert client.post("/monitoring/adoption/new/", {
            "jurisdiction": "MH", "name": f"Probe {domain}", "short_code": "", "official_domain": domain,
            "contact_email": "probe@maharashtra.gov.in", "target_date": "2030-01-01"}).status_code == 302
        probes.append(ExpectedOffice.objects.get(official_domain=domain))
    assert {m.status for m in match_offices(probes).values()} == {TrackerStatus.NOT_STARTED}
    html = client.get("/monitoring/adoption/").content.decode()
    for shown in ("ONB-2026-KA0001", "Secret Karnataka Authority", "secretary@mines.karnataka.gov.in"):
        assert shown not in html
    # Karnataka's own list, by the same domain, does show it.
    probes[0].delete()
    ka_office = ExpectedOffice.objects.create(jurisdiction="KA", name="Mines", official_domain="mines.karnataka.gov.in",
                                              contact_email="it@karnataka.gov.in", target_date=date(2030, 1, 1))
    assert match_offices([ka_office])[ka_office.pk].status == TrackerStatus.IN_APPROVAL


def test_overdue_first(offices):
    ordered = [o.name for o in tracker_rows({"MH"}, today=date(2026, 12, 1))]
    # Overdue (date passed, not active): Water Board (March 2020), Ports (February 2020)
    # by date; then the others by date.
    assert ordered == ["Ports", "Water Board", "Agriculture", "Health", "Fisheries"]


def test_who_sees_which_list(world, offices):
    html = signed_in(world["state_admin_mh"]).get("/monitoring/adoption/").content.decode()
    assert "Water Board" in html and "Revenue" not in html
    assert "Anita Deshmukh" in html  # who holds it
    html = signed_in(world["state_admin_ka"]).get("/monitoring/adoption/").content.decode()
    assert "Revenue" in html and "Water Board" not in html
    html = signed_in(world["superadmin"]).get("/monitoring/adoption/").content.decode()
    assert "Revenue" in html and "Water Board" in html
    html = signed_in(world["auditor_mh"]).get("/monitoring/adoption/").content.decode()
    assert "Water Board" in html and "Send a reminder" not in html and "Add an office" not in html
    assert signed_in(world["admin_agri"]).get("/monitoring/adoption/").status_code == 403
    # Another state's office is not found, to edit, remove or remind.
    ka = offices["other_state"].pk
    client = signed_in(world["state_admin_mh"])
    for url in (f"/monitoring/adoption/{ka}/edit/", f"/monitoring/adoption/{ka}/delete/", f"/monitoring/adoption/{ka}/remind/"):
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    # An auditor reads, never edits.
    mh = offices["not_started"].pk
    assert signed_in(world["auditor_mh"]).post(f"/monitoring/adoption/{mh}/remind/").status_code == 404
    assert signed_in(world["auditor_mh"]).get("/monitoring/adoption/new/").status_code == 404


def test_the_printed_list_says_which_state_it_shows(world, offices):
    """Its filter form is not printed: the paper says which state or UT the list is of."""
    client = signed_in(world["superadmin"])
    assert printed_filters(page(client.get("/monitoring/adoption/?jurisdiction=KA"))) == (
        "Showing: State / UT or central = Karnataka")
    assert printed_filters(page(client.get("/monitoring/adoption/"))) == "Showing: every row, no filter."


def test_a_state_admin_who_is_also_an_auditor_reads_the_list_and_edits_nothing(world, offices):
    """An auditor changes nothing, whatever other role the account holds: a state
    administrator of Maharashtra who is also an auditor reads the list as an auditor does,
    and neither adds, changes, removes nor reminds an office."""
    admin = world["state_admin_mh"]
    PlatformRoleFactory(user=admin, role="auditor", jurisdiction="MH")
    client = signed_in(admin)
    html = client.get("/monitoring/adoption/").content.decode()
    assert "Water Board" in html and "Send a reminder" not in html and "Add an office" not in html
    mh = offices["not_started"]
    for url in (f"/monitoring/adoption/{mh.pk}/edit/", f"/monitoring/adoption/{mh.pk}/delete/",
                f"/monitoring/adoption/{mh.pk}/remind/", "/monitoring/adoption/new/", "/monitoring/adoption/upload/"):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"confirm": "on"}).status_code == 404, url
    assert ExpectedOffice.objects.filter(pk=mh.pk).exists()
    assert not OutboxMessage.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="adoption.").exists()


def test_an_address_several_offices_share_is_reminded_at_most_once_a_week(world, offices):
    """Offices may share a contact address: the week counts per address too, or one
    address could be sent a reminder for each office that names it."""
    first, second = offices["not_started"], offices["draft"]
    type(second).objects.filter(pk=second.pk).update(contact_email=first.contact_email.upper())
    second.refresh_from_db()
    services.expected_office_remind(office=first, editable=None, status="not_started", actor=world["superadmin"])
    with pytest.raises(ValidationError) as refused:
        services.expected_office_remind(office=second, editable=None, status="draft", actor=world["superadmin"])
    assert "the next reminder to this address can be sent from" in refused.value.messages[0]
    assert first.name in refused.value.messages[0]
    assert OutboxMessage.objects.get().priority == OutboxPriority.BULK  # mass mail: after any other
    assert AuditEvent.objects.filter(action=AuditAction.ADOPTION_REMINDER_SENT).count() == 1


def test_addresses_of_one_mailbox_share_its_week_however_they_are_written(world, offices):
    """"contact+2@", "Contact+3@" reach the mailbox of "contact@" (the portal compares people
    by official_email.normalise_address): offices listed with such addresses would otherwise
    each send that inbox a reminder (2,000 rows a file). The week counts per mailbox, from
    another office naming it and from the audit log's record of a reminder sent to it."""
    first, second, third = offices["not_started"], offices["draft"], offices["in_approval"]
    local, _at, domain = first.contact_email.partition("@")
    type(second).objects.filter(pk=second.pk).update(contact_email=f"{local}+2@{domain}")
    services.expected_office_remind(office=first, editable=None, status="not_started", actor=world["superadmin"])
    second.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        services.expected_office_remind(office=second, editable=None, status="draft", actor=world["superadmin"])
    assert f"for {first.name}; the next reminder to this address can be sent from" in refused.value.messages[0]
    # The office reminded has another address since: the audit log still knows the mailbox's week.
    type(first).objects.filter(pk=first.pk).update(contact_email=f"director@{domain}", last_reminded_at=None)
    type(third).objects.filter(pk=third.pk).update(contact_email=f"{local.title()}+3@{domain.upper()}")
    third.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        services.expected_office_remind(office=third, editable=None, status="not_started", actor=world["superadmin"])
    assert "the next reminder to this address can be sent from" in refused.value.messages[0]
    assert OutboxMessage.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.ADOPTION_REMINDER_SENT).count() == 1


def test_a_reminder_refused_for_another_states_office_does_not_name_it(world):
    shared = "shared.contact@nic.in"
    karnataka = office(jurisdiction="KA", name="Karnataka Mines Cell", short_code="KA-MINES", contact_email=shared,
                       last_reminded_at=timezone.now() - timedelta(days=1))
    water = office(name="Water Board", short_code="MH-WATER", contact_email=shared)
    response = signed_in(world["state_admin_mh"]).post(f"/monitoring/adoption/{water.pk}/remind/", follow=True)
    html = response.content.decode()
    assert "for an office on the list of another state or UT" in html and "Karnataka Mines Cell" not in html
    # Whoever sees Karnataka's list is told which office it was.
    with pytest.raises(ValidationError) as refused:
        services.expected_office_remind(office=water, editable=None, status="not_started", actor=world["superadmin"])
    assert "for Karnataka Mines Cell" in refused.value.messages[0]
    assert not OutboxMessage.objects.exists()
    karnataka.refresh_from_db()
    assert karnataka.reminders_sent == 0


def test_reminder_at_most_once_a_week(world, offices):
    target = offices["not_started"]
    client = signed_in(world["state_admin_mh"])
    assert "Send the reminder" in client.get(f"/monitoring/adoption/{target.pk}/remind/").content.decode()
    response = client.post(f"/monitoring/adoption/{target.pk}/remind/", follow=True)
    assert "A reminder was sent to contact@office.mh.gov.in." in response.content.decode()
    message = OutboxMessage.objects.get(to=["contact@office.mh.gov.in"])
    assert "Ports" in message.subject and "Not started" in message.body and "1 February 2020" in message.body
    assert "सुरू केलेले नाही" in message.body  # then in Marathi, for a Maharashtra office
    event = AuditEvent.objects.get(action=AuditAction.ADOPTION_REMINDER_SENT)
    assert event.new_values["to"] == "contact@office.mh.gov.in" and event.new_values["status"] == "not_started"
    # A second one within the week: refused, nothing sent, nothing audited.
    response = client.post(f"/monitoring/adoption/{target.pk}/remind/", follow=True)
    assert "the next reminder can be sent from" in response.content.decode()
    assert OutboxMessage.objects.filter(to=["contact@office.mh.gov.in"]).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.ADOPTION_REMINDER_SENT).count() == 1
    # An office already active needs none.
    active = offices["by_code"]
    response = client.post(f"/monitoring/adoption/{active.pk}/remind/", follow=True)
    assert "already active on Sandes" in response.content.decode()
    assert OutboxMessage.objects.count() == 1
    # The service itself enforces it, whoever calls it; after a week, one more.
    target.refresh_from_db()
    with pytest.raises(ValidationError):
        services.expected_office_remind(office=target, editable=None, status="not_started", actor=world["superadmin"],
                                        now=target.last_reminded_at + timedelta(days=6, hours=23))
    services.expected_office_remind(office=target, editable=None, status="not_started", actor=world["superadmin"],
                                    now=target.last_reminded_at + timedelta(days=7, seconds=1))
    assert OutboxMessage.objects.filter(to=["contact@office.mh.gov.in"]).count() == 2


@pytest.mark.parametrize("written", ["20300101", "2030-W01-1", "２０３０-０１-０１"])
def test_an_uploads_date_is_written_yyyy_mm_dd_as_its_help_says(world, written):
    """Django's parse_date also takes 20300101 and ISO week dates (2030-W01-1 is 31 December
    2029), which the upload then stored: a line whose date is not written YYYY-MM-DD is named."""
    client = signed_in(world["state_admin_mh"])
    text = f"name,short_code,official_domain,contact_email,target_date\nPorts,MH-PORTS,,ports@mh.gov.in,{written}\n"
    html = page(upload(client, text)).squashed_text()
    assert "line 2: the date is not a date between 2000 and 2100 written YYYY-MM-DD" in html
    assert not ExpectedOffice.objects.filter(short_code="MH-PORTS").exists()


def test_one_administrator_sends_at_most_adoption_reminders_per_day_in_24_hours(world, settings):
    """Each office and each mailbox is reminded at most once a week, but one upload lists up
    to 2,000 offices, each with a mailbox of its own: an administrator sends at most
    ADOPTION_REMINDERS_PER_DAY in 24 hours, then is told when the next may go (on the
    confirmation page too), nothing sent; another administrator's are their own."""
    settings.ADOPTION_REMINDERS_PER_DAY = 3
    client = signed_in(world["state_admin_mh"])
    text = "name,short_code,official_domain,contact_email,target_date\n" + "".join(
        f"Office {i},R{i},,desk{i}@mh.gov.in,2020-01-01\n" for i in range(5))
    assert upload(client, text).status_code == 302
    offices = list(ExpectedOffice.objects.filter(short_code__startswith="R").order_by("short_code"))
    said = [client.post(f"/monitoring/adoption/{office.pk}/remind/", follow=True).content.decode() for office in offices[:4]]
    assert ["A reminder was sent to" in text for text in said] == [True, True, True, False]
    assert ("You have sent 3 reminders in the last 24 hours, the most one administrator may: this one was not sent. "
            "You can send it from") in said[3]
    assert OutboxMessage.objects.filter(to__0__startswith="desk").count() == 3
    assert "the most one administrator may" in client.get(f"/monitoring/adoption/{offices[4].pk}/remind/").content.decode()
    services.expected_office_remind(office=offices[4], editable=None, status="not_started", actor=world["superadmin"])
    assert AuditEvent.objects.filter(action=AuditAction.ADOPTION_REMINDER_SENT).count() == 4


def test_an_upload_whose_first_line_has_thousands_of_columns_is_refused_before_its_rows_are_read(world):
    """Each row is filled out to every column of the first line: a first line of 10,000 empty
    columns over 10,000 lines of bare separators (30 KB, read past as blank rows) took seconds,
    growing with the square of the file's size. Refused at the file, what it says why."""
    client = signed_in(world["state_admin_mh"])
    text = "name,short_code,official_domain,contact_email,target_date" + "," * 10_000 + "\n" + ",\n" * 10_000
    with CaptureQueriesContext(connection):
        tree = page(upload(client, text))
    assert field_error(tree, "file") == (
        "The first line has 10,005 columns, more than the 50 a list of offices may have: it needs only name, "
        "short_code, official_domain, contact_email and target_date.")
    assert not ExpectedOffice.objects.filter(jurisdiction="MH", name__startswith="Office").exists()
    # A spreadsheet's few columns of its own are taken.
    ok = "name,short_code,official_domain,contact_email,target_date,notes,,\nPorts,MH-P,,p@mh.gov.in,2030-01-01,x,,\n"
    assert upload(client, ok).status_code == 302


@pytest.mark.parametrize(("language", "when", "next_one"), [
    ("en", "5 Jan 2026, 10:00", "12 Jan 2026, 10:00"),
    ("hi", "5 जन 2026, 10:00", "12 जन 2026, 10:00"),
    ("mr", "5 जान 2026, 10:00", "12 जान 2026, 10:00"),
])
def test_a_refused_reminder_says_its_dates_in_the_pages_language(world, language, when, next_one):
    reminded = timezone.make_aware(datetime(2026, 1, 5, 10, 0))
    target = office(name="Water Board", short_code="MH-WATER", last_reminded_at=reminded)
    shared = office(name="Ports", short_code="MH-PORTS")
    type(target).objects.filter(pk=shared.pk).update(contact_email=target.contact_email)
    with time_machine.travel(reminded + timedelta(days=1), tick=False):
        client = signed_in(world["state_admin_mh"])
        for reminding in (target, shared):  # this office's week, then the address's
            response = client.post(f"/monitoring/adoption/{reminding.pk}/remind/", follow=True,
                                   HTTP_ACCEPT_LANGUAGE=language)
            # The page's text, not its markup: a CSRF token's random letters may spell "Jan".
            text = page(response).squashed_text()
            assert f"{when}" in text and f"{next_one}" in text
            if language != "en":
                assert "Jan" not in text
    assert not OutboxMessage.objects.exists()


def test_no_reminder_goes_to_a_contact_address_no_longer_official(world, offices):
    """The contact address was checked official when it was listed; a superadmin marks its
    domain a personal mail service since: the reminder is refused with the reason, on the
    confirmation page and when sent, and no mail goes (as an invitation sent again is)."""
    ports = offices["not_started"]
    EmailSuffixRule.objects.create(suffix="office.mh.gov.in", kind=SuffixKind.CONSUMER)
    said = ("contact@office.mh.gov.in is not an official address (it may be a personal mail service; the rules may "
            "have changed since it was listed): no reminder is sent. Give the office its official address.")
    with pytest.raises(ValidationError) as refused:
        services.expected_office_remind(office=ports, editable=None, status="not_started", actor=world["superadmin"])
    assert refused.value.messages == [said]
    client = signed_in(world["state_admin_mh"])
    page = client.get(f"/monitoring/adoption/{ports.pk}/remind/").content.decode()
    assert said in page and "Send the reminder" not in page
    assert said in client.post(f"/monitoring/adoption/{ports.pk}/remind/", follow=True).content.decode()
    for language, said in (("hi", "contact@office.mh.gov.in आधिकारिक पता नहीं है"),
                           ("mr", "contact@office.mh.gov.in हा अधिकृत पत्ता नाही")):
        page = client.get(f"/monitoring/adoption/{ports.pk}/remind/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert said in page and "not an official address" not in page
    ports.refresh_from_db()
    assert (ports.reminders_sent, ports.last_reminded_at) == (0, None)
    assert not OutboxMessage.objects.exists()


def test_add_edit_and_remove_are_audited(world):
    client = signed_in(world["state_admin_mh"])
    form = {"jurisdiction": "MH", "name": "Ports Department", "short_code": "mh-ports", "official_domain": "",
            "contact_email": "Ports@MH.gov.in", "target_date": "2026-03-31"}
    assert client.post("/monitoring/adoption/new/", form).status_code == 302
    saved = ExpectedOffice.objects.get()
    assert (saved.short_code, saved.contact_email) == ("MH-PORTS", "ports@mh.gov.in")
    # Another state is not among the choices of a Maharashtra administrator.
    response = client.post("/monitoring/adoption/new/", {**form, "jurisdiction": "KA", "short_code": "KA-1"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    # Neither code nor domain, a bad domain, a date out of range: each said at its field, what was typed kept.
    response = client.post("/monitoring/adoption/new/", {**form, "short_code": "", "official_domain": "not a domain",
                                                          "target_date": "1900-01-01"})
    html = response.content.decode()
    assert "Enter one domain" in html and "between 2000 and 2100" in html and 'value="not a domain"' in html
    # Reminders go to the contact address: an official one, not anyone's.
    response = client.post("/monitoring/adoption/new/", {**form, "contact_email": "someone@gmail.com"})
    assert response.status_code == 200 and 'value="someone@gmail.com"' in response.content.decode()
    assert ExpectedOffice.objects.count() == 1
    assert client.post(f"/monitoring/adoption/{saved.pk}/edit/", {**form, "target_date": "2026-04-30"}).status_code == 302
    assert client.post(f"/monitoring/adoption/{saved.pk}/delete/").status_code == 302
    assert not ExpectedOffice.objects.exists()
    events = list(AuditEvent.objects.filter(action=AuditAction.ADOPTION_LIST_CHANGED).order_by("id"))
    assert [list(e.new_values or e.old_values) for e in events] == [["added"], ["target_date"], ["removed"]]
    assert events[1].old_values == {"target_date": "2026-03-31"}


def test_an_office_taken_off_from_a_page_opened_before_another_administrator_changed_it_is_refused(world):
    """The state administrator opens the page that takes an office off the list; the
    superadmin then makes it another office (a new name and short code). Confirmed from the
    page opened before, nothing is taken off: the page says so and shows the office as it
    is now; confirmed again from there, it is taken off."""
    satara = office(name="Collectorate Satara", short_code="COLL-SATARA", contact_email="collector@satara.gov.in",
                    target_date=date(2030, 3, 31))
    first, second = signed_in(world["superadmin"]), signed_in(world["state_admin_mh"])
    url = f"/monitoring/adoption/{satara.pk}/delete/"
    shown = field_value(page(second.get(url)), "shown_values")
    edit = f"/monitoring/adoption/{satara.pk}/edit/"
    assert first.post(edit, {**form_as_sent(page(first.get(edit))), "name": "Collectorate Sangli",
                             "short_code": "COLL-SANGLI"}).status_code == 302
    response = second.post(url, {"shown_values": shown})
    assert response.status_code == 200 and ExpectedOffice.objects.filter(pk=satara.pk).exists()
    tree = page(response)
    assert ("Since this page was opened, this office was changed by someone else or in another tab: nothing was "
            "taken off the list.") in tree.squashed_text()
    assert "Collectorate Sangli" in tree.find("main").squashed_text()
    assert second.post(url, {"shown_values": field_value(tree, "shown_values")}).status_code == 302
    assert not ExpectedOffice.objects.filter(pk=satara.pk).exists()


def test_an_office_page_opened_before_another_administrator_saved_does_not_put_back_what_it_showed(world):
    """The superadmin and the state administrator open an office's page; the first gives it
    the collector's new address. The second, from the page opened before, moves the date:
    nothing is saved (the reminders would go to the old address again, unseen), the refusal
    said above the form, what is saved now at the address, the date typed kept; sent again
    from there, it saves."""
    satara = office(name="Collectorate Satara", short_code="COLL-SATARA", contact_email="collector@satara.gov.in",
                    target_date=date(2030, 3, 31))
    first, second = signed_in(world["superadmin"]), signed_in(world["state_admin_mh"])
    url = f"/monitoring/adoption/{satara.pk}/edit/"
    seen_by_first, seen_by_second = form_as_sent(page(first.get(url))), form_as_sent(page(second.get(url)))
    assert first.post(url, {**seen_by_first, "contact_email": "dm@satara.gov.in"}).status_code == 302

    response = second.post(url, {**seen_by_second, "target_date": "2030-06-30"})
    assert response.status_code == 200
    satara.refresh_from_db()
    assert (satara.contact_email, satara.target_date) == ("dm@satara.gov.in", date(2030, 3, 31))
    assert AuditEvent.objects.filter(action=AuditAction.ADOPTION_LIST_CHANGED).count() == 1
    tree = page(response)
    assert "Nothing was saved" in tree.squashed_text() and "by someone else or in another tab" in tree.squashed_text()
    assert field_value(tree, "target_date") == "2030-06-30"
    assert field_value(tree, "contact_email") == "collector@satara.gov.in"  # what that page sent, kept
    assert "Saved meanwhile: dm@satara.gov.in" in field_container(tree, "contact_email").squashed_text()
    assert "Saved meanwhile: 2030-03-31" in field_container(tree, "target_date").squashed_text()
    assert "Saved meanwhile" not in field_container(tree, "name").squashed_text()

    again = form_as_sent(tree, contact_email="dm@satara.gov.in")
    assert second.post(url, again).status_code == 302
    satara.refresh_from_db()
    assert (satara.contact_email, satara.target_date) == ("dm@satara.gov.in", date(2030, 6, 30))


def upload(client, text, jurisdiction="MH"):
    file = SimpleUploadedFile("offices.csv", text.encode("utf-8"), content_type="text/csv")
    return client.post("/monitoring/adoption/upload/", {"jurisdiction": jurisdiction, "file": file})


def test_upload(world):
    client = signed_in(world["state_admin_mh"])
    header = "name,short_code,official_domain,contact_email,target_date\n"
    good = header + "Ports,MH-PORTS,,ports@mh.gov.in,2026-03-31\nMines,,mines.mh.gov.in,mines@mh.gov.in,2026-04-30\n"
    assert upload(client, good).status_code == 302
    assert ExpectedOffice.objects.count() == 2
    # Uploading again with one change: matched, not duplicated.
    assert upload(client, good.replace("2026-04-30", "2026-05-31")).status_code == 302
    assert ExpectedOffice.objects.get(official_domain="mines.mh.gov.in").target_date == date(2026, 5, 31)
    assert ExpectedOffice.objects.count() == 2
    # Wrong lines: each named, nothing saved.
    bad = header + "Ports,MH-PORTS,,ports@mh.gov.in,2026-03-31\nNo code,,,x@mh.gov.in,2026-01-01\n" \
                   "Bad date,MH-X,,x@mh.gov.in,31/12/2026\n"
    html = upload(client, bad).content.decode()
    assert "line 3: give a short code or an official domain" in html and "line 4:" in html
    personal = header + "Ports,MH-PORTS,,ports@gmail.com,2026-03-31\n"
    assert "line 2: the contact address is not on an official government domain" in upload(client, personal).content.decode()
    assert "Nothing was saved" in html
    assert "Columns missing from the first line" in upload(client, "name,email\nx,y\n").content.decode()
    assert "not UTF-8" in client.post("/monitoring/adoption/upload/", {
        "jurisdiction": "MH", "file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00bad")}).content.decode()
    too_many = header + "".join(f"O{i},C{i},,o{i}@mh.gov.in,2026-01-01\n" for i in range(2001))
    assert "more than 2,000 rows" in upload(client, too_many).content.decode()
    # Not another state's list.
    assert "Select a valid choice" in upload(client, good, jurisdiction="KA").content.decode()
    # The two uploads that went through: each office added (2) or changed (1), and each upload.
    assert AuditEvent.objects.filter(action=AuditAction.ADOPTION_LIST_CHANGED).count() == 5


def _upload_queries(client, numbers, *, domain, change=False):
    """The queries of one upload of a list of offices ``numbers``, each with a contact address at ``domain``."""
    date_ = "2030-02-01" if change else "2030-01-01"
    text = "name,short_code,official_domain,contact_email,target_date\n" + "".join(
        f"Office {i},C{i},,o{i}@{domain},{date_}\n" for i in numbers)
    with CaptureQueriesContext(connection) as queries:
        response = upload(client, text)
    return response.status_code, len(queries)


# An upload of offices, however many rows: the session and the account with its roles, the
# official-email rules (read once for the file); refused at its contact addresses, the domains
# accepted off the official suffixes (once); saved, in a transaction: the offices of the
# jurisdiction locked, then in a savepoint the new ones written in one statement (or the changed
# ones in another), then the audit log's lock, its head, the events in one statement and the
# head written, each savepoint released.
UPLOAD_REFUSED_QUERIES = 4
UPLOAD_ADDING_QUERIES = 15
UPLOAD_CHANGING_QUERIES = 15


def test_an_upload_of_offices_asks_as_many_queries_for_2_rows_as_for_100(world):
    """Checking the rows' contact addresses read the rules (and the domains accepted off
    them) for each row, and saving wrote each office in a savepoint of its own: a list of
    2,000 offices cost some 8,000 queries."""
    client = signed_in(world["state_admin_mh"])
    client.get("/monitoring/adoption/")
    assert _upload_queries(client, range(2), domain="example.com") == (200, UPLOAD_REFUSED_QUERIES)
    assert _upload_queries(client, range(100, 200), domain="example.com") == (200, UPLOAD_REFUSED_QUERIES)
    assert _upload_queries(client, range(2), domain="mh.gov.in") == (302, UPLOAD_ADDING_QUERIES)
    assert _upload_queries(client, range(100, 200), domain="mh.gov.in") == (302, UPLOAD_ADDING_QUERIES)
    assert _upload_queries(client, range(100, 200), domain="mh.gov.in", change=True) == (302, UPLOAD_CHANGING_QUERIES)
    assert ExpectedOffice.objects.count() == 102
    assert set(ExpectedOffice.objects.filter(short_code__in=["C100", "C199"]).values_list("target_date", flat=True)) == {
        date(2030, 2, 1)}
    assert AuditEvent.objects.filter(action=AuditAction.ADOPTION_LIST_CHANGED).count() == 102 + 100 + 3


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_list_saved_with_semicolons_or_tabs_is_read(world, delimiter):
    """Excel in many locales separates with semicolons (the roster upload reads them): the
    list was refused, "Columns missing from the first line", though that line names them."""
    text = ("name,short_code,official_domain,contact_email,target_date\r\n"
            "Ports,MH-PORTS,,ports@mh.gov.in,2026-03-31\r\n"
            '"Water, Sanitation",,water.mh.gov.in,water@mh.gov.in,2026-04-30\r\n')
    client = signed_in(world["state_admin_mh"])
    converted = "\r\n".join(delimiter.join(row) for row in csv.reader(io.StringIO(text))) + "\r\n"
    assert upload(client, converted).status_code == 302
    assert sorted(ExpectedOffice.objects.values_list("name", "short_code", "official_domain")) == [
        ("Ports", "MH-PORTS", ""), ("Water, Sanitation", "", "water.mh.gov.in")]


def test_the_empty_rows_excel_writes_below_a_list_are_read_past(world):
    """Excel writes a row of bare separators (",,,,") for each row below the list that was
    ever touched: the list was refused whole, "Nothing was saved", naming those rows. They
    are read past, as the roster upload reads past them; a wrong line after them keeps
    its number."""
    header = "name,short_code,official_domain,contact_email,target_date\r\n"
    client = signed_in(world["state_admin_mh"])
    text = header + "Ports,MH-PORTS,,ports@mh.gov.in,2026-03-31\r\n,,,,\r\n , ,,,\r\n,,,,,,\r\n"
    assert upload(client, text).status_code == 302
    assert list(ExpectedOffice.objects.values_list("short_code", flat=True)) == ["MH-PORTS"]
    html = upload(client, text + "Mines,,,mines@mh.gov.in,2026-04-30\r\n").content.decode()
    assert "Nothing was saved. line 6: give a short code or an official domain" in html
    assert "The file lists no office." in upload(client, header + ",,,,\r\n,,,,\r\n").content.decode()


EMPTY_LIST = {
    "en": "The file is empty: it needs the header row (name, short_code, official_domain, contact_email, target_date) "
          "and one row for each office.",
    "hi": "फ़ाइल खाली है: इसमें शीर्ष पंक्ति (name, short_code, official_domain, contact_email, target_date) और प्रत्येक "
          "कार्यालय के लिए एक पंक्ति होनी चाहिए।",
    "mr": "फाइल रिकामी आहे: तिच्यात शीर्षक ओळ (name, short_code, official_domain, contact_email, target_date) आणि "
          "प्रत्येक कार्यालयासाठी एक ओळ हवी.",
}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_an_empty_list_of_offices_is_refused_saying_what_it_needs(world, language):
    """A file of 0 bytes got Django's "The submitted file is empty." (in Hindi "निवेदित संचिका
    खाली है ।", a word for file the portal uses nowhere), which says nothing of what to do."""
    client = signed_in(world["state_admin_mh"])
    client.cookies["django_language"] = language
    response = client.post("/monitoring/adoption/upload/", {
        "jurisdiction": "MH", "file": SimpleUploadedFile("offices.csv", b"", content_type="text/csv")})
    assert response.status_code == 200
    assert field_error(page(response), "file") == EMPTY_LIST[language]
    assert not ExpectedOffice.objects.exists()


def test_every_wrong_line_of_an_upload_is_named(world):
    """Only the first 20 wrong lines were named ("(and 5 more)"): the others had to be
    found by uploading again and again. Each is named, lines with the same reason together."""
    header = "name,short_code,official_domain,contact_email,target_date\n"
    text = header + "".join(f"No code {i},,,x{i}@mh.gov.in,2026-01-01\n" for i in range(20)) \
        + "".join(f"Bad date {i},MH-D{i},,d{i}@mh.gov.in,31/12/2026\n" for i in range(3)) \
        + "Personal,MH-P,,p@gmail.com,2026-01-01\nPorts,MH-PORTS,,ports@mh.gov.in,2026-03-31\n"
    html = upload(signed_in(world["state_admin_mh"]), text).content.decode()
    numbers = ", ".join(str(line) for line in range(2, 22))
    assert (f"Nothing was saved. lines {numbers}: give a short code or an official domain; lines 22, 23, 24: the "
            "date is not a date between 2000 and 2100 written YYYY-MM-DD; line 25: the contact address is not on an "
            "official government domain") in html
    assert "more)" not in html
    assert not ExpectedOffice.objects.exists()
    client = signed_in(world["state_admin_mh"])
    html = client.post("/monitoring/adoption/upload/", {"jurisdiction": "MH", "file": SimpleUploadedFile(
        "offices.csv", text.encode(), content_type="text/csv")}, HTTP_ACCEPT_LANGUAGE="hi").content.decode()
    assert "पंक्तियाँ 22, 23, 24:" in html and "पंक्ति 25:" in html


def test_a_wrong_line_is_named_by_its_line_in_the_file_after_a_blank_line_or_a_line_break_in_a_cell(world):
    """Lines were counted as records: after a blank line, or a cell holding a line break,
    the line named was not the one a spreadsheet or an editor shows."""
    header = "name,short_code,official_domain,contact_email,target_date\n"
    text = (header
            + "Ports,MH-PORTS,,ports@mh.gov.in,2026-03-31\n"            # line 2
            + "\n"                                                       # line 3: blank
            + '"Water\r\nBoard",MH-WATER,,water@mh.gov.in,2026-03-31\n'  # lines 4-5: a line break in a cell
            + "Mines,MH-MINES,,someone@gmail.com,2026-04-30\n"          # line 6
            + "\n\n"                                                     # lines 7, 8
            + "Docks,MH-DOCKS,,docks@gmail.com,2026-04-30\n")           # line 9
    html = upload(signed_in(world["state_admin_mh"]), text).content.decode()
    assert ("Nothing was saved. line 4: a cell holds a line break, a tab or another control character; lines 6, 9: "
            "the contact address is not on an official government domain") in html
    assert not ExpectedOffice.objects.exists()


@pytest.mark.parametrize("column", ["name", "short_code", "official_domain", "contact_email", "target_date"])
@pytest.mark.parametrize("character", ["\x00", "\x01", "\x7f", "\u202e", "\n"])
def test_a_cell_with_a_control_character_is_refused_at_the_file(world, column, character):
    client = signed_in(world["state_admin_mh"])
    cells = {"name": "Water Board", "short_code": "MH-WATER", "official_domain": "water.mh.gov.in",
             "contact_email": "contact@water.mh.gov.in", "target_date": "2026-12-31"}
    cells[column] = cells[column][:3] + character + cells[column][3:]
    text = ("name,short_code,official_domain,contact_email,target_date\n"
            "Ports,MH-PORTS,,ports@mh.gov.in,2026-03-31\n"
            + ",".join(f'"{cells[name]}"' for name in ("name", "short_code", "official_domain", "contact_email",
                                                       "target_date")) + "\n")
    response = upload(client, text)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_file_error"' in html
    assert "Nothing was saved. line 3: a cell holds a line break, a tab or another control character" in html
    assert not ExpectedOffice.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.ADOPTION_LIST_CHANGED).exists()


def test_an_upload_audits_each_office_it_adds_or_changes_with_the_old_and_new_values(world):
    water = office(name="Water Board", short_code="MH-WATER", contact_email="old.contact@water.mh.gov.in",
                   target_date=date(2026, 12, 31))
    kept = office(name="Ports", short_code="MH-PORTS", contact_email="ports@mh.gov.in", target_date=date(2026, 3, 31))
    text = ("name,short_code,official_domain,contact_email,target_date\n"
            "Water Board,MH-WATER,,new.contact@other.mh.gov.in,2030-12-31\n"
            "Ports,MH-PORTS,,ports@mh.gov.in,2026-03-31\n"
            "Mines,MH-MINES,,mines@mh.gov.in,2027-01-31\n")
    admin = world["state_admin_mh"]
    assert upload(signed_in(admin), text).status_code == 302
    mines = ExpectedOffice.objects.get(short_code="MH-MINES")
    events = list(AuditEvent.objects.filter(action=AuditAction.ADOPTION_LIST_CHANGED).order_by("id"))
    by_target = {event.target_id: event for event in events if event.target_type == "monitoring.expectedoffice"}
    assert set(by_target) == {str(water.pk), str(mines.pk)}  # not the unchanged one
    changed = by_target[str(water.pk)]
    assert changed.old_values == {"contact_email": "old.contact@water.mh.gov.in", "target_date": "2026-12-31"}
    assert changed.new_values == {"contact_email": "new.contact@other.mh.gov.in", "target_date": "2030-12-31"}
    assert by_target[str(mines.pk)].new_values == {"added": {
        "jurisdiction": "MH", "name": "Mines", "short_code": "MH-MINES", "official_domain": "",
        "contact_email": "mines@mh.gov.in", "target_date": "2027-01-31"}}
    [summary] = [event for event in events if not event.target_type]
    assert summary.new_values == {"uploaded": "MH", "rows": 3, "added": 1, "changed": 1, "unchanged": 1}
    # Each is the administrator's, from their request.
    assert {(event.actor_id, event.actor_email, event.ip) for event in events} == {(admin.pk, admin.email, "127.0.0.1")}
    assert all(event.actor_role == "state_admin:MH" for event in events)
    assert kept.pk not in {int(event.target_id) for event in events if event.target_id}


def test_a_row_that_would_move_an_office_onto_another_offices_domain_is_refused_at_the_file(world):
    client = signed_in(world["state_admin_mh"])
    header = "name,short_code,official_domain,contact_email,target_date\n"
    listed = header + "Agriculture,AGRI,agri.mh.gov.in,dir@agri.mh.gov.in,2027-01-01\n" \
                      "Revenue,REV,rev.mh.gov.in,dir@rev.mh.gov.in,2027-01-01\n"
    assert upload(client, listed).status_code == 302
    # A typo: Agriculture's row carries Revenue's domain (it was a 500: the unique domain).
    response = upload(client, header + "Agriculture,AGRI,rev.mh.gov.in,dir@agri.mh.gov.in,2027-01-01\n")
    assert response.status_code == 200
    assert ("The domain rev.mh.gov.in is already the domain of Revenue on the list: AGRI cannot have it too."
            in response.content.decode())
    assert ExpectedOffice.objects.get(short_code="AGRI").official_domain == "agri.mh.gov.in"


@pytest.mark.parametrize("order", ["office_first", "other_first"])
def test_two_rows_matching_one_office_are_refused_not_merged(world, order):
    # The office moves to a new domain and another office is listed on the domain it had:
    # matched against the list as it was, both rows match Ports (one by its short code,
    # one by its domain). Applied one after the other, the second row renamed Ports into
    # Docks (or, the other way round, gave Ports's record to Docks): one office lost.
    ports = office(name="Ports", short_code="MH-PORTS", official_domain="ports.mh.gov.in",
                   contact_email="ports@mh.gov.in", target_date=date(2026, 3, 31))
    rows = ["Ports,MH-PORTS,ports-new.mh.gov.in,ports@mh.gov.in,2026-03-31\n",
            "Docks,MH-DOCKS,ports.mh.gov.in,docks@mh.gov.in,2026-04-30\n"]
    if order == "other_first":
        rows.reverse()
    code_line, domain_line = (2, 3) if order == "office_first" else (3, 2)
    client = signed_in(world["state_admin_mh"])
    response = upload(client, "name,short_code,official_domain,contact_email,target_date\n" + "".join(rows))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_file_error"' in html
    assert (f"Nothing was saved: line {code_line} (by its short code) and line {domain_line} (by its domain) both "
            "match the office Ports on the list.") in html
    assert list(ExpectedOffice.objects.values_list("pk", "short_code", "official_domain")) == [
        (ports.pk, "MH-PORTS", "ports.mh.gov.in")]
    assert not AuditEvent.objects.filter(action=AuditAction.ADOPTION_LIST_CHANGED).exists()
    # In two uploads, the office's move first: two offices, Ports keeping its record.
    header = "name,short_code,official_domain,contact_email,target_date\n"
    assert upload(client, header + rows[order == "other_first"]).status_code == 302
    assert upload(client, header + "".join(rows)).status_code == 302
    assert sorted(ExpectedOffice.objects.values_list("short_code", "official_domain")) == [
        ("MH-DOCKS", "ports.mh.gov.in"), ("MH-PORTS", "ports-new.mh.gov.in")]
    assert ExpectedOffice.objects.get(pk=ports.pk).short_code == "MH-PORTS"


def test_two_rows_matching_one_office_are_named_by_their_lines_in_the_file(world):
    office(name="Ports", short_code="MH-PORTS", official_domain="ports.mh.gov.in", contact_email="ports@mh.gov.in")
    text = ("name,short_code,official_domain,contact_email,target_date\n\n"
            "Ports,MH-PORTS,ports-new.mh.gov.in,ports@mh.gov.in,2026-03-31\n\n"
            "Docks,MH-DOCKS,ports.mh.gov.in,docks@mh.gov.in,2026-04-30\n")
    html = upload(signed_in(world["state_admin_mh"]), text).content.decode()
    assert "Nothing was saved: line 3 (by its short code) and line 5 (by its domain) both match" in html


def test_a_row_onto_another_states_offices_domain_does_not_name_that_office(world):
    office(jurisdiction="KA", name="Karnataka Mines Cell", short_code="KA-MINES", official_domain="mines.karnataka.gov.in",
           contact_email="it@mines.karnataka.gov.in")
    office(name="Water Board", short_code="MH-WATER", contact_email="it@water.mh.gov.in")
    row = "name,short_code,official_domain,contact_email,target_date\n" \
          "Water Board,MH-WATER,mines.karnataka.gov.in,it@water.mh.gov.in,2026-12-31\n"
    html = upload(signed_in(world["state_admin_mh"]), row).content.decode()
    assert ("The domain mines.karnataka.gov.in is already the domain of an office on the list of another state or UT: "
            "MH-WATER cannot have it too.") in html
    assert "Karnataka Mines Cell" not in html
    # A superadmin, who sees every list, is told which office has it.
    html = upload(signed_in(world["superadmin"]), row).content.decode()
    assert "already the domain of Karnataka Mines Cell on the list" in html
    assert ExpectedOffice.objects.get(short_code="MH-WATER").official_domain == ""


def test_a_central_list_is_the_superadmins(world):
    client = signed_in(world["superadmin"])
    form = {"jurisdiction": "CENTRAL", "name": "Ministry of Ports", "short_code": "MOPSW", "official_domain": "",
            "contact_email": "it@shipping.gov.in", "target_date": "2026-03-31"}
    assert client.post("/monitoring/adoption/new/", form).status_code == 302
    OrganisationFactory(name="Ministry of Ports", short_code="MOPSW", level="central", state="")
    rows = list(tracker_rows(None, today=date(2026, 12, 1)))
    assert match_offices(rows)[rows[0].pk].status == TrackerStatus.ACTIVE
    assert "Ministry of Ports" not in signed_in(world["state_admin_mh"]).get("/monitoring/adoption/").content.decode()


OFFICE_FORM = {"jurisdiction": "MH", "name": "Ports Department", "short_code": "MH-PORTS", "official_domain": "",
        "contact_email": "ports@mh.gov.in", "target_date": "2026-03-31"}


@pytest.mark.parametrize("name", ["Ports \u202eTNEMTRAPED", "Ports\x1b[31m Department", "Ports\nDepartment"])
def test_office_name_with_control_characters_is_refused_as_in_the_upload(world, name):
    response = signed_in(world["state_admin_mh"]).post("/monitoring/adoption/new/", {**OFFICE_FORM, "name": name})
    assert response.status_code == 200, response.status_code
    assert "Line breaks, tabs and other control characters are not accepted here" in response.content.decode()
    assert not ExpectedOffice.objects.exists()


@pytest.mark.parametrize("code", ["\u00df" * 20, "\ufb00" * 11])
def test_office_short_code_longer_in_capitals_is_refused_at_the_field_as_in_the_upload(world, code):
    """A short code is stored in capitals: "\u00df" x 20 passed the field's 20 characters and
    became 40 ("SS" x 20), which the column refused with a server error."""
    client = signed_in(world["state_admin_mh"])
    client.raise_request_exception = False
    response = client.post("/monitoring/adoption/new/", {**OFFICE_FORM, "short_code": code})
    assert response.status_code == 200, response.status_code
    assert 'id="id_short_code_error"' in response.content.decode()
    assert "The short code is longer than 20 characters in capitals" in response.content.decode()
    assert not ExpectedOffice.objects.exists()


def test_not_started_office_past_its_date_is_overdue_whatever_another_state_holds(world):
    # Karnataka's active Revenue Department uses this domain; Maharashtra's list names it too.
    OrganisationDomain.objects.create(organisation=world["revenue"], domain="revenue.example.gov.in", is_verified=True)
    office = ExpectedOffice.objects.create(jurisdiction="MH", name="Revenue office MH", official_domain="revenue.example.gov.in",
                                           contact_email="rev@mh.gov.in", target_date=date(2020, 1, 1))
    assert match_offices([office])[office.pk].status == TrackerStatus.NOT_STARTED
    row = tracker_rows({"MH"}, today=timezone.localdate()).get(pk=office.pk)
    assert row.overdue is True
    html = signed_in(world["state_admin_mh"]).get("/monitoring/adoption/").content.decode()
    assert "Overdue</span>" in html


PORTS_FORM = {"jurisdiction": "MH", "name": "Ports Department", "short_code": "MH-PORTS", "official_domain": "",
              "contact_email": "ports@mh.gov.in", "target_date": "2026-03-31"}


def test_removing_and_adding_an_office_again_does_not_reset_the_addresss_week(world):
    """An administrator who removes an office and adds it again (a new row, never
    reminded) cannot mail its address again within the week: the page refuses the
    reminder, naming when the next one to that address is allowed."""
    client = signed_in(world["state_admin_mh"])
    for attempt in range(3):
        assert client.post("/monitoring/adoption/new/", {**PORTS_FORM, "contact_email": "Ports@MH.gov.in"
                                                         if attempt == 2 else "ports@mh.gov.in"}).status_code == 302
        office = ExpectedOffice.objects.get()
        html = client.post(f"/monitoring/adoption/{office.pk}/remind/", follow=True).content.decode()
        if attempt:
            assert ("ports@mh.gov.in was sent a reminder on" in html and "for an office since removed from the list"
                    in html and "the next reminder to this address can be sent from" in html), html
        assert client.post(f"/monitoring/adoption/{office.pk}/delete/").status_code == 302
    assert OutboxMessage.objects.filter(to=["ports@mh.gov.in"]).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.ADOPTION_REMINDER_SENT).count() == 1


def test_moving_an_address_to_another_office_does_not_reset_its_week(world):
    """Swapping two offices' contact addresses does not let the one just reminded be
    mailed again for the other office: refused, naming the office it was sent for."""
    client = signed_in(world["state_admin_mh"])
    mines_form = {**PORTS_FORM, "name": "Mines", "short_code": "MH-MINES", "contact_email": "mines@mh.gov.in"}
    assert client.post("/monitoring/adoption/new/", PORTS_FORM).status_code == 302
    assert client.post("/monitoring/adoption/new/", mines_form).status_code == 302
    ports, mines = ExpectedOffice.objects.get(short_code="MH-PORTS"), ExpectedOffice.objects.get(short_code="MH-MINES")
    client.post(f"/monitoring/adoption/{ports.pk}/remind/")
    for one, address in ((ports, "tmp@mh.gov.in"), (mines, "ports@mh.gov.in"), (ports, "mines@mh.gov.in")):
        form = PORTS_FORM if one is ports else mines_form
        assert client.post(f"/monitoring/adoption/{one.pk}/edit/", {**form, "contact_email": address}).status_code == 302
    html = client.post(f"/monitoring/adoption/{mines.pk}/remind/", follow=True).content.decode()
    assert "ports@mh.gov.in was sent a reminder on" in html and "for Ports Department;" in html
    assert OutboxMessage.objects.filter(to=["ports@mh.gov.in"]).count() == 1
    mines.refresh_from_db()
    assert mines.reminders_sent == 0


def test_an_uploaded_address_written_with_a_full_width_letter_is_kept_as_the_form_keeps_it(world):
    """An upload kept a contact address only lower-cased, the office form as its mailbox
    (validate_official_email): "ports@ｍh.gov.in" (a full-width m, as some phone keyboards type
    it) and ports@mh.gov.in were two addresses to the once-a-week rule, and the one mailbox
    they reach was reminded twice in a week."""
    client = signed_in(world["state_admin_mh"])
    header = "name,short_code,official_domain,contact_email,target_date\n"
    assert upload(client, header + "Ports,MH-PORTS,,ports@mh.gov.in,2030-03-31\n"
                          "Port Trust,MH-PTRUST,,Ports@\uff4dh.gov.in,2030-03-31\n").status_code == 302
    ports, trust = ExpectedOffice.objects.get(short_code="MH-PORTS"), ExpectedOffice.objects.get(short_code="MH-PTRUST")
    assert trust.contact_email == "ports@mh.gov.in"
    client.post(f"/monitoring/adoption/{ports.pk}/remind/")
    html = client.post(f"/monitoring/adoption/{trust.pk}/remind/", follow=True).content.decode()
    assert "ports@mh.gov.in was sent a reminder on" in html and "for Ports;" in html
    assert len(messages_to("ports@mh.gov.in")) == OutboxMessage.objects.count() == 1


def test_an_office_whose_domain_two_organisations_claim_unverified_is_active_by_its_states_one(world):
    """Two organisations claim the office's domain, neither verified: the one of another
    state, made first, was the only one read, and the office (active by its own state's)
    showed "Not started", was not flagged overdue, and offered a reminder that went out."""
    OrganisationDomainFactory(organisation=OrganisationFactory(name="Water KA", state="KA"),
                              domain="water.mh.gov.in", is_verified=False)
    OrganisationDomainFactory(organisation=OrganisationFactory(name="Water MH", state="MH"),
                              domain="water.mh.gov.in", is_verified=False)
    expected = ExpectedOffice.objects.create(
        jurisdiction="MH", name="Water office", official_domain="water.mh.gov.in",
        contact_email="contact@water.mh.gov.in", target_date=timezone.localdate() - timedelta(days=10))
    match = match_offices([expected])[expected.pk]
    assert (match.status, match.organisation.name) == (TrackerStatus.ACTIVE, "Water MH")
    assert tracker_rows({"MH"}, today=timezone.localdate()).get(pk=expected.pk).overdue is False
    client = signed_in(world["state_admin_mh"])
    html = client.get("/monitoring/adoption/").content.decode()
    row = html[html.index("Water office"):]
    row = row[:row.index("</tr>")]
    assert "Active on Sandes" in row and "Not started" not in row and "Send a reminder" not in row
    client.post(f"/monitoring/adoption/{expected.pk}/remind/")
    assert messages_to("contact@water.mh.gov.in") == []
    # The service itself refuses, whatever status it is told.
    with pytest.raises(ValidationError) as refused:
        services.expected_office_remind(office=expected, editable=None, status="not_started", actor=world["superadmin"])
    assert refused.value.code == "active"
    assert messages_to("contact@water.mh.gov.in") == []


def test_applications_of_other_domains_are_not_loaded_for_a_page(world, monkeypatch):
    """An office on a broad domain (mh.gov.in) loaded every application whose list of
    domains contained it as text (water.mh.gov.in, and any other state's): each page
    read them all, to match none."""
    for i in range(20):
        with_organisation_section({"status": "with_authority", "jurisdiction": "MH"}, short_code=f"MH-X{i}",
                                  email_domains=f"dept{i}.mh.gov.in\nother{i}.gov.in")
        with_organisation_section({"status": "draft", "reference": None, "jurisdiction": "KA"}, short_code="",
                                  email_domains="mh.gov.in")
    mine = with_organisation_section({"status": "with_state", "jurisdiction": "MH"}, short_code="",
                                     email_domains="Water.mh.gov.in;  MH.gov.in,x.gov.in")
    broad = office(name="Broad office", official_domain="mh.gov.in")
    loaded = []
    real_from_db = Application.from_db.__func__

    def counting(cls, db, field_names, values, **options):
        loaded.append(values[0])
        return real_from_db(cls, db, field_names, values, **options)

    monkeypatch.setattr(Application, "from_db", classmethod(counting))
    match = match_offices([broad])[broad.pk]
    assert (match.status, match.application) == (TrackerStatus.IN_APPROVAL, mine)
    assert loaded == [mine.pk]
    # Nor another state's application carrying the office's short code.
    with_organisation_section({"status": "with_state", "jurisdiction": "KA"}, short_code="MH-PORTS")
    ports = office(name="Ports", short_code="MH-PORTS")
    loaded.clear()
    assert match_offices([ports])[ports.pk].status == TrackerStatus.NOT_STARTED
    assert loaded == []


def test_office_zero_is_not_found_not_a_new_one(world):
    """/adoption/0/edit/ showed the form of a new office (0 read as "no office")."""
    client = signed_in(world["state_admin_mh"])
    assert client.get("/monitoring/adoption/0/edit/").status_code == 404
    assert client.post("/monitoring/adoption/0/edit/", OFFICE_FORM).status_code == 404
    assert not ExpectedOffice.objects.exists()


def test_an_office_taken_off_the_list_meanwhile_is_said_so_not_a_404(world):
    """Removed twice (a double click on "Remove it"), or edited after another administrator
    removed it: a 404 page, the edit lost without a word. Only an office of the viewer's
    own lists is told; another state's removed office stays not found."""
    client = signed_in(world["state_admin_mh"])
    ports = office(name="Ports", short_code="MH-PORTS", contact_email="ports@mh.gov.in")
    assert client.post(f"/monitoring/adoption/{ports.pk}/delete/").status_code == 302
    # Each page leads back to the tracker as the viewer left it (the place its links carry).
    for place, response in (
            ("?jurisdiction=MH", client.post(f"/monitoring/adoption/{ports.pk}/delete/?jurisdiction=MH", follow=True)),
            ("", client.get(f"/monitoring/adoption/{ports.pk}/edit/", follow=True)),
            ("?jurisdiction=MH", client.post(f"/monitoring/adoption/{ports.pk}/edit/?jurisdiction=MH", OFFICE_FORM,
                                             follow=True)),
            ("", client.get(f"/monitoring/adoption/{ports.pk}/remind/", follow=True))):
        assert response.redirect_chain == [(f"/monitoring/adoption/{place}", 302)]
        assert "The office was already taken off the list." in response.content.decode()
    assert not ExpectedOffice.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.ADOPTION_LIST_CHANGED).count() == 1  # removed, once
    karnataka = office(jurisdiction="KA", name="Revenue", short_code="KA-REV", contact_email="rev@ka.gov.in")
    assert signed_in(world["state_admin_ka"]).post(f"/monitoring/adoption/{karnataka.pk}/delete/").status_code == 302
    assert client.post(f"/monitoring/adoption/{karnataka.pk}/delete/").status_code == 404
    assert client.get(f"/monitoring/adoption/{karnataka.pk}/edit/").status_code == 404


def refused_a_day_after(client, offices, reminded, *, next_at):
    """Ports reminded at ``reminded`` on 5 Jan 2026, and Docks listed with its address: a day
    later the confirmation of each says when the next reminder may go (``next_at``) instead
    of offering it. Returns Ports."""
    ports = offices["not_started"]
    ExpectedOffice.objects.filter(pk=ports.pk).update(last_reminded_at=reminded)
    sharing = office(name="Docks", short_code="MH-DOCKS", contact_email=ports.contact_email)
    with time_machine.travel(reminded + timedelta(days=1), tick=False):
        for pk, said in ((ports.pk, "This office was reminded on 5 Jan 2026, 10:00; the next reminder can be sent "
                                    f"from {next_at}."),
                         (sharing.pk, "contact@office.mh.gov.in was sent a reminder on 5 Jan 2026, 10:00, for Ports; "
                                      f"the next reminder to this address can be sent from {next_at}.")):
            page = client.get(f"/monitoring/adoption/{pk}/remind/").content.decode()
            assert said in page and "Send the reminder" not in page
    return ports


def test_a_reminder_refused_names_a_time_at_which_the_next_is_allowed(world, offices):
    """Reminded at 10:00:40, the next may go at 10:00:40 a week later: the refusal names
    10:01, the minute at which it is allowed, not 10:00, at which it is refused again;
    when the last one went stays 10:00."""
    client = signed_in(world["state_admin_mh"])
    ports = refused_a_day_after(client, offices, timezone.make_aware(datetime(2026, 1, 5, 10, 0, 40)),
                                next_at="12 Jan 2026, 10:01")
    with time_machine.travel(timezone.make_aware(datetime(2026, 1, 12, 10, 1)), tick=False):
        assert "Send the reminder" in client.get(f"/monitoring/adoption/{ports.pk}/remind/").content.decode()


def test_the_reminders_confirmation_says_why_none_is_sent_instead_of_offering_it(world, offices):
    """The confirmation offered "Send the reminder" for an office active on Sandes, or one
    reminded (or whose address was) within the week, which the service then refused."""
    client = signed_in(world["state_admin_mh"])
    page = client.get(f"/monitoring/adoption/{offices['by_code'].pk}/remind/").content.decode()
    assert "This office is already active on Sandes: it needs no reminder." in page
    assert "Send the reminder" not in page and "<form" not in page.split("<main", 1)[1]
    reminded = timezone.make_aware(datetime(2026, 1, 5, 10, 0))
    ports = refused_a_day_after(client, offices, reminded, next_at="12 Jan 2026, 10:00")
    with time_machine.travel(reminded + timedelta(days=7, seconds=1), tick=False):
        page = client.get(f"/monitoring/adoption/{ports.pk}/remind/").content.decode()
        assert "Send the reminder" in page
    assert not OutboxMessage.objects.exists()


def _link(html, text):
    import html as html_module  # noqa: PLC0415
    import re  # noqa: PLC0415

    found = re.findall(r'<a [^>]*href="([^"]*)"[^>]*>' + re.escape(text), html)
    return [html_module.unescape(href) for href in found]


def _karnataka_offices_on_two_pages():
    for n in range(26):
        office(name=f"Karnataka office {n:02}", jurisdiction="KA", short_code=f"KA-{n:02}",
               contact_email=f"contact{n}@revenue.ka.gov.in", target_date=date(2020, 1, 1))


def _listed_on(client, place):
    """The tracker's page at ``place``, and the one Karnataka office it lists."""
    html = client.get(f"/monitoring/adoption/?{place}").content.decode()
    [row] = [o for o in ExpectedOffice.objects.filter(jurisdiction="KA") if f">{o.name}<" in html]
    return html, row


def test_an_offices_pages_lead_back_to_the_tracker_as_it_was_filtered(world):
    """A superadmin looks at Karnataka's offices, page 2: the links to add, upload, edit,
    remove and remind carry that place, and each of those pages' Cancel leads back to it
    (it led to the first page of every state). A place that is not one (an unknown state,
    a page that is not a number) is dropped, not carried."""
    _karnataka_offices_on_two_pages()
    client = signed_in(world["superadmin"])
    place = "jurisdiction=KA&page=2"
    html, row = _listed_on(client, place)
    links = {text: _link(html, text) for text in ("Add an office", "Upload a list (CSV)", "Edit", "Remove",
                                                  "Send a reminder")}
    assert links == {
        "Add an office": [f"/monitoring/adoption/new/?{place}"],
        "Upload a list (CSV)": [f"/monitoring/adoption/upload/?{place}"],
        "Edit": [f"/monitoring/adoption/{row.pk}/edit/?{place}"],
        "Remove": [f"/monitoring/adoption/{row.pk}/delete/?{place}"],
        "Send a reminder": [f"/monitoring/adoption/{row.pk}/remind/?{place}"],
    }
    for [url] in links.values():
        assert _link(client.get(url).content.decode(), "Cancel") == [f"/monitoring/adoption/?{place}"], url
    # Sent with a field refused, the form comes back with the same way back.
    response = client.post(f"/monitoring/adoption/{row.pk}/edit/?{place}", {"name": ""})
    assert response.status_code == 200
    assert _link(response.content.decode(), "Cancel") == [f"/monitoring/adoption/?{place}"]
    for hostile in ("jurisdiction=XX&page=two", "jurisdiction=%3Cscript%3E&page=-1"):
        html = client.get(f"/monitoring/adoption/{row.pk}/edit/?{hostile}").content.decode()
        assert _link(html, "Cancel") == ["/monitoring/adoption/"]


def test_a_reminder_sent_and_an_office_removed_lead_back_to_the_tracker_as_it_was_filtered(world):
    """Sent from the tracker as it was filtered (every state, page 2), the reminder and the
    removal come back to that place with what was done said, as their Cancel does (they led
    to the first page of the office's own state)."""
    _karnataka_offices_on_two_pages()
    client = signed_in(world["superadmin"])
    place = "page=2"
    html, row = _listed_on(client, place)
    response = client.post(f"/monitoring/adoption/{row.pk}/remind/?{place}")
    assert response.status_code == 302 and response["Location"] == f"/monitoring/adoption/?{place}"
    html = client.get(response["Location"]).content.decode()
    assert "A reminder was sent to contact" in html and f">{row.name}<" in html
    shown = field_value(page(client.get(f"/monitoring/adoption/{row.pk}/delete/?{place}")), "shown_values")
    response = client.post(f"/monitoring/adoption/{row.pk}/delete/?{place}", {"shown_values": shown})
    assert response.status_code == 302 and response["Location"] == f"/monitoring/adoption/?{place}"
    html = client.get(response["Location"]).content.decode()
    assert "The office was taken off the list." in html and f">{row.name}<" not in html


def test_a_refused_reminders_way_back_leads_to_the_tracker_as_it_was_filtered(world, offices):
    """The reminder's page of an office that needs none (already active) offers no form,
    only a way back: to the tracker as it was filtered (every state, or the state and page
    chosen), as the other pages' Cancel does, not to the office's own state."""
    client = signed_in(world["superadmin"])
    pk = offices["by_code"].pk
    for place in ("", "jurisdiction=KA&page=2", "jurisdiction=MH"):
        html = client.get(f"/monitoring/adoption/{pk}/remind/" + (f"?{place}" if place else "")).content.decode()
        assert "Send the reminder" not in html
        back = "/monitoring/adoption/" + (f"?{place}" if place else "")
        assert _link(html, "Back to the adoption tracker") == [back], place
    html = client.get(f"/monitoring/adoption/{pk}/remind/?jurisdiction=%3Cscript%3E&page=-1").content.decode()
    assert _link(html, "Back to the adoption tracker") == ["/monitoring/adoption/"]


def test_a_reminder_confirmed_for_one_address_is_not_sent_to_another_set_meanwhile(world):
    """The confirmation said the reminder goes to contact@; another administrator then changed
    the office's address: the confirmed reminder went to director@, which it never named.
    It is now refused, the confirmation shown again as the office is now; confirmed again, sent."""
    listed = ExpectedOffice.objects.create(jurisdiction="MH", name="Ports", short_code="MH-PORTS",
                                           contact_email="contact@ports.mh.gov.in", target_date=date(2020, 2, 1))
    client = signed_in(world["superadmin"])
    url = f"/monitoring/adoption/{listed.pk}/remind/"
    confirmation = page(client.get(url))
    assert "goes to contact@ports.mh.gov.in" in confirmation.squashed_text()
    sent = form_as_sent(confirmation)
    values = {**services.office_values(listed), "contact_email": "director@ports.mh.gov.in"}
    services.expected_office_save(office=listed, values=values, editable=None,
                                  actor=User.objects.get(pk=world["state_admin_mh"].pk))
    response = client.post(url, sent)
    assert response.status_code == 200
    again = page(response)
    assert "no reminder was sent" in again.by_id("error-summary").squashed_text()
    assert "goes to director@ports.mh.gov.in" in again.squashed_text()
    assert not AuditEvent.objects.filter(action=AuditAction.ADOPTION_REMINDER_SENT).exists()
    assert client.post(url, form_as_sent(again)).status_code == 302
    assert [event.new_values["to"] for event in AuditEvent.objects.filter(action=AuditAction.ADOPTION_REMINDER_SENT)] == [
        "director@ports.mh.gov.in"]
