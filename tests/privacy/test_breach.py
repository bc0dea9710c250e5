"""Breach reporting: who was affected by what an actor or an address did in a period
(from the audit log), and the drafts of the notices, by command and by page."""

import re
from datetime import datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone, translation

from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record
from tests.factories import ApplicationFactory, UserFactory
from tests.html_tree import field_error, field_value, parse
from tests.onboarding.approval_helpers import make_superadmin, second_factor_given
from tests.verification.helpers import GovernmentProfileFactory

pytestmark = pytest.mark.django_db

DEVANAGARI = re.compile(r"[\u0900-\u097F]")


@pytest.fixture
def incident():
    """An intruder's account changes an application and a profile and exports, from one address,
    inside the period; the same account before it, and someone else inside it."""
    start = timezone.now() - timedelta(days=2)
    intruder = UserFactory(email="intruder@mha.gov.in")
    officer_application = ApplicationFactory(nodal_officer=UserFactory(email="officer@mha.gov.in"))
    profile = GovernmentProfileFactory(user=UserFactory(email="employee@mha.gov.in"))
    untouched = ApplicationFactory(nodal_officer=UserFactory(email="untouched@mha.gov.in"))
    with time_machine.travel(start - timedelta(days=1), tick=False):
        audit_record(actor=intruder, action=AuditAction.STEP_DECIDED, target=untouched, ip="203.0.113.9")
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        audit_record(actor=intruder, action=AuditAction.STEP_DECIDED, target=officer_application, ip="203.0.113.9")
        audit_record(actor=intruder, action=AuditAction.VERIFICATION_REVOKED, target=profile, ip="203.0.113.9")
        audit_record(actor=intruder, action=AuditAction.DIRECTORY_EXPORTED, ip="203.0.113.9")
        audit_record(actor=UserFactory(email="honest@mha.gov.in"), action=AuditAction.STEP_DECIDED, target=untouched,
                     ip="10.0.0.5")
    return start


def test_the_command_lists_the_people_affected_and_drafts_the_notices(incident):
    out = StringIO()
    call_command("breach_report", "--from", incident.isoformat(), "--to", timezone.now().isoformat(),
                 "--actor", "Intruder@mha.gov.in", stdout=out)
    text = out.getvalue()
    assert "Events: 3 (exported 1, changed 2)" in text and "People affected: 2" in text
    assert "officer@mha.gov.in" in text and "employee@mha.gov.in" in text and "untouched@mha.gov.in" not in text
    notice, report = text.split("== Report to the Data Protection Board and CERT-In ==")
    assert "Notice of a personal data breach" in notice and DEVANAGARI.search(notice)
    assert "Actor (as the audit log names it): Intruder@mha.gov.in" in report and "People affected: 2" in report
    assert "onboarding.application, verification.governmentprofile" in report
    drafted = AuditEvent.objects.get(action=AuditAction.BREACH_REPORT_DRAFTED)
    assert drafted.new_values["people"] == 2 and "officer@" not in str(drafted.new_values)


def test_by_address_only_what_came_from_it(incident):
    out = StringIO()
    call_command("breach_report", "--from", incident.isoformat(), "--to", timezone.now().isoformat(),
                 "--ip", "10.0.0.5", stdout=out)
    assert "People affected: 1" in out.getvalue() and "untouched@mha.gov.in" in out.getvalue()


def test_the_command_refuses_a_bad_period():
    with pytest.raises(CommandError, match="Not a date and time"):
        call_command("breach_report", "--from", "yesterday", "--to", "2026-12-01T00:00")
    with pytest.raises(CommandError, match="at most 90 days"):
        call_command("breach_report", "--from", "2026-01-01T00:00", "--to", "2026-06-01T00:00")


def superadmin_and_period(incident):
    """A superadmin's client (second factor given) and the period of the incident to ask about."""
    root = make_superadmin(email="root@sandes.nic.in")
    client = Client()
    client.force_login(root)
    second_factor_given(client, root)
    return client, {"start": incident.strftime("%Y-%m-%d %H:%M"), "end": timezone.now().strftime("%Y-%m-%d %H:%M"),
                    "actor": "", "ip": "203.0.113.9", "second_language": "mr"}


def test_the_page_for_superadmins(incident):
    client, params = superadmin_and_period(incident)
    response = client.get("/portal/privacy/breach/", params)
    assert response.status_code == 200
    content = response.content.decode()
    assert "officer@mha.gov.in" in content and "employee@mha.gov.in" in content and "honest@" not in content
    assert DEVANAGARI.search(content)
    bad = client.get("/portal/privacy/breach/", {**params, "end": params["start"], "ip": "not an address"})
    assert "The end must be after the start." in bad.content.decode()
    assert "Enter a valid IPv4 or IPv6 address." in bad.content.decode()
    assert 'value="not an address"' in bad.content.decode()
    someone = Client()
    someone.force_login(UserFactory(email="someone@mha.gov.in"))
    assert someone.get("/portal/privacy/breach/").status_code == 403


@pytest.mark.parametrize(("language", "events"), [("en", "Events: 1 "), ("hi", "घटनाएँ: 1 "), ("mr", "घटना: 1 ")])
def test_one_event_is_not_said_as_several(incident, language, events):
    """The honest account's one decision in the period: "Events: 1", never "1 events" (nor
    Hindi's plural घटनाएँ after a 1)."""
    client, params = superadmin_and_period(incident)
    client.cookies["django_language"] = language
    text = re.sub(r"\s+", " ", client.get("/portal/privacy/breach/", {**params, "ip": "10.0.0.5"}).content.decode())
    assert events in text
    assert "1 events" not in text and "1 घटनाएँ" not in text


def test_a_report_another_site_sends_the_browser_to_is_not_drafted(incident):
    """A link on another site to the breach page with a period: nothing is searched and no
    `breach_report.drafted` is written in the superadmin's name; they land on the empty
    page, told to press the button there. The page without a period opens from anywhere;
    the form sent from the page drafts as before."""
    client, params = superadmin_and_period(incident)
    response = client.get("/portal/privacy/breach/", params, HTTP_SEC_FETCH_SITE="cross-site",
                          HTTP_SEC_FETCH_MODE="navigate", HTTP_SEC_FETCH_DEST="document", follow=True)
    assert response.redirect_chain == [("/portal/privacy/breach/", 302)]
    content = response.content.decode()
    assert "You came here by a link from another site, so nothing was done in your name." in content
    assert "officer@mha.gov.in" not in content
    assert not AuditEvent.objects.filter(action=AuditAction.BREACH_REPORT_DRAFTED).exists()
    response = client.get("/portal/privacy/breach/", params, HTTP_SEC_FETCH_SITE="same-origin")
    assert response.status_code == 200 and "officer@mha.gov.in" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.BREACH_REPORT_DRAFTED).count() == 1


def signed_in_superadmin():
    root = make_superadmin(email="root@sandes.nic.in")
    client = Client()
    client.force_login(root)
    second_factor_given(client, root)
    return client


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("actor", ["²", "intruder-in-other-digits", "9" * 30, str(2**63)])
def test_the_page_takes_an_actor_that_only_looks_like_an_account_number(incident, actor):
    """An account number is ASCII digits within the database's range: a superscript two
    (a digit to str.isdigit, not to int), the intruder's number in other digits, or a number
    past any row's is an actor no event and no account has. The intruder's number itself is one."""
    intruder = UserFactory._meta.model.objects.get(email="intruder@mha.gov.in")
    if actor == "intruder-in-other-digits":
        actor = str(intruder.pk).translate(ARABIC_INDIC)
    client = signed_in_superadmin()
    params = {"start": incident.strftime("%Y-%m-%d %H:%M"), "end": timezone.now().strftime("%Y-%m-%d %H:%M"),
              "second_language": "hi"}
    response = client.get("/portal/privacy/breach/", {**params, "actor": actor})
    assert response.status_code == 200
    drafted = AuditEvent.objects.filter(action=AuditAction.BREACH_REPORT_DRAFTED).latest("id")
    assert (drafted.new_values["events"], drafted.new_values["people"]) == (0, 0)
    assert f'value="{actor}"' in response.content.decode()
    assert client.get("/portal/privacy/breach/", {**params, "actor": str(intruder.pk)}).status_code == 200
    drafted = AuditEvent.objects.filter(action=AuditAction.BREACH_REPORT_DRAFTED).latest("id")
    assert (drafted.new_values["events"], drafted.new_values["people"]) == (3, 2)


@pytest.mark.parametrize(("start", "end"), [("0001-01-01 00:00", "0001-01-02 00:00"),
                                            ("1999-12-31 18:00", "2000-01-02 00:00")])
def test_the_page_refuses_a_period_before_2000_at_its_field_keeping_what_was_typed(start, end):
    """The first day of the calendar cannot even be written in UTC; the portal's records
    begin long after 2000: a start (or an end) before it is refused at its field, in the
    page's language, and the values typed stay."""
    client = signed_in_superadmin()
    client.cookies["django_language"] = "hi"
    response = client.get("/portal/privacy/breach/", {"start": start, "end": end, "actor": "intruder@mha.gov.in",
                                                       "second_language": "mr"})
    assert response.status_code == 200
    tree = parse(response.content)
    assert field_error(tree, "start") == "2000 और अगले वर्ष के बीच की तारीख दर्ज करें।"
    assert field_error(tree, "end") == (None if end.startswith("2000") else "2000 और अगले वर्ष के बीच की तारीख दर्ज करें।")
    assert (field_value(tree, "start"), field_value(tree, "end"), field_value(tree, "actor"),
            field_value(tree, "second_language")) == (start, end, "intruder@mha.gov.in", "mr")
    assert not AuditEvent.objects.filter(action=AuditAction.BREACH_REPORT_DRAFTED).exists()


def test_the_command_refuses_a_period_before_2000():
    with pytest.raises(CommandError, match="between 2000 and next year"):
        call_command("breach_report", "--from", "0001-01-01T00:00", "--to", "0001-01-02T00:00")


@pytest.mark.parametrize("second_language", ["hi", "mr"])
def test_the_notice_to_people_names_what_was_affected_in_their_words_not_the_portals_labels(
        incident, second_language):
    """The people affected read what was touched (their onboarding application, their record as
    a government user) in English and in Hindi or Marathi, never an internal model label; the
    report to the authorities keeps the labels."""
    from portal.privacy.breach import breach_drafts, breach_findings

    findings = breach_findings(start=incident, end=timezone.now(), actor="intruder@mha.gov.in")
    drafts = breach_drafts(findings, second_language=second_language)
    english, second = drafts["notice"].split("\n\n----------\n\n")
    assert "onboarding." not in drafts["notice"] and "verification." not in drafts["notice"]
    assert "What was affected: onboarding applications, verification records as a government user." in english
    affected = second.splitlines()[4]
    assert DEVANAGARI.search(affected.split(":", 1)[1]) and "application" not in affected, affected
    assert "onboarding.application, verification.governmentprofile" in drafts["report"]


@pytest.mark.parametrize(("language", "kinds"), [
    ("en", "onboarding applications, verification records as a government user"),
    ("hi", "ऑनबोर्डिंग आवेदन, सरकारी उपयोगकर्ता के रूप में सत्यापन रिकॉर्ड"),
    ("mr", "ऑनबोर्डिंग अर्ज, सरकारी वापरकर्ता म्हणून पडताळणी नोंदी"),
], ids=["en", "hi", "mr"])
def test_the_page_names_the_kinds_of_record_in_words_in_its_language(incident, language, kinds):
    """The page's findings name the kinds of record touched as the notice to the people names
    them, in the page's language: they read "onboarding.application,
    verification.governmentprofile", the portal's internal labels, in every language."""
    client, params = superadmin_and_period(incident)
    client.cookies["django_language"] = language
    tree = parse(client.get("/portal/privacy/breach/", params).content)
    [line] = [li for li in tree.find_all("li") if li.get("id") == "record-kinds"]
    with translation.override(language):
        said = translation.gettext("Kinds of record, as the notice names them:")
    assert line.squashed_text() == f"{said} {kinds}"
    assert "onboarding." not in line.squashed_text()


@pytest.mark.parametrize("second_language", ["hi", "mr"])
def test_a_notice_with_no_records_affected_says_so_in_words(second_language):
    """A period in which the actor touched nothing drafts a notice that says no record was
    found affected, in each language, not "What was affected: ." with nothing named."""
    from portal.privacy.breach import breach_drafts, breach_findings

    findings = breach_findings(start=timezone.now() - timedelta(days=1), end=timezone.now(),
                               actor="nobody@mha.gov.in")
    assert findings.record_types == []
    english, second = breach_drafts(findings, second_language=second_language)["notice"].split("\n\n----------\n\n")
    assert "What was affected: no record was found read, exported or changed in this period." in english
    affected = second.splitlines()[4]
    assert not affected.rstrip().endswith(": .") and DEVANAGARI.search(affected.split(":", 1)[1]), affected


def test_the_drafts_are_plain_text_carrying_what_they_name_as_written():
    """The notice and the report are plain text (sent by mail, printed by the command): an
    apostrophe in a kind of record ("an organisation's roster") or in the actor's address
    (valid in an address's local part) was written as the HTML entity "&#x27;"."""
    from portal.privacy.breach import BreachFindings, breach_drafts

    findings = BreachFindings(start=timezone.now() - timedelta(days=1), end=timezone.now(),
                              actor="d'souza@maharashtra.gov.in", ip="", record_types=["rosters.invitation"])
    drafts = breach_drafts(findings)
    assert "invitations from an organisation's roster" in drafts["notice"]
    assert "Actor (as the audit log names it): d'souza@maharashtra.gov.in" in drafts["report"]
    assert not [text for text in drafts.values() if re.search(r"&(#x?[0-9a-f]+|[a-z]+);", text, re.I)]


def test_a_period_typed_day_first_is_drafted_for_the_days_typed():
    """India writes 5 December 2025 as 05/12/2025: the period 05/12/2025 18:00 to
    06/12/2025 06:00 is drafted for those twelve hours, not for 12 May to 12 June."""
    client = signed_in_superadmin()
    with time_machine.travel(timezone.make_aware(datetime(2026, 1, 10, 12, 0)), tick=False):
        response = client.get("/portal/privacy/breach/", {"start": "05/12/2025 18:00", "end": "06/12/2025 06:00",
                                                           "actor": "", "ip": "", "second_language": "hi"})
    assert response.status_code == 200
    drafted = AuditEvent.objects.get(action=AuditAction.BREACH_REPORT_DRAFTED)
    start, end = (timezone.localtime(datetime.fromisoformat(drafted.new_values[name].replace("Z", "+00:00")))
                  for name in ("start", "end"))
    assert (start.replace(tzinfo=None), end.replace(tzinfo=None)) == (datetime(2025, 12, 5, 18, 0),
                                                                      datetime(2025, 12, 6, 6, 0))
    assert "5 December 2025 18:00" in response.content.decode()


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_a_period_typed_month_first_is_refused_at_its_field_keeping_what_was_typed(language):
    """12/25/2025 (25 December, as the United States write it) is no day-first date: it is
    refused at its field with the forms the field takes, in the page's language, and what
    was typed stays in the box."""
    from django.utils import translation

    client = signed_in_superadmin()
    client.cookies["django_language"] = language
    response = client.get("/portal/privacy/breach/", {"start": "12/25/2025 18:00", "end": "12/26/25 06:00",
                                                       "actor": "", "ip": "", "second_language": "hi"})
    assert response.status_code == 200
    tree = parse(response.content)
    with translation.override(language):
        expected = translation.gettext(
            "Enter a valid date and time, as 2026-11-30 18:00 or 30/11/2026 18:00 (day, month, year).")
    assert field_error(tree, "start") == field_error(tree, "end") == expected
    assert (field_value(tree, "start"), field_value(tree, "end")) == ("12/25/2025 18:00", "12/26/25 06:00")
    assert not AuditEvent.objects.filter(action=AuditAction.BREACH_REPORT_DRAFTED).exists()


@pytest.mark.parametrize(("end", "allowed"), [("2025-04-01 00:00", True), ("2025-04-01 00:01", False),
                                              ("2025-04-01 23:00", False)])
def test_the_page_takes_a_period_of_at_most_90_days(end, allowed):
    """Ninety days from 1 January is 1 April at midnight: a minute more is refused, as is
    90 days and 23 hours (nearly a day more of request log to read), which is not 91 whole days."""
    client = signed_in_superadmin()
    response = client.get("/portal/privacy/breach/", {"start": "2025-01-01 00:00", "end": end, "actor": "",
                                                       "ip": "", "second_language": "hi"})
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.BREACH_REPORT_DRAFTED).exists() is allowed
    assert (field_error(parse(response.content), "end") == "Choose at most 90 days.") is not allowed


@pytest.mark.parametrize(("end", "allowed"), [("2025-04-01T00:00", True), ("2025-04-01T00:01", False),
                                              ("2025-04-01T23:00", False)])
def test_the_command_takes_a_period_of_at_most_90_days(end, allowed):
    out = StringIO()
    if allowed:
        call_command("breach_report", "--from", "2025-01-01T00:00", "--to", end, stdout=out)
        assert "People affected: 0" in out.getvalue()
    else:
        with pytest.raises(CommandError, match="at most 90 days"):
            call_command("breach_report", "--from", "2025-01-01T00:00", "--to", end, stdout=out)


def test_the_report_to_the_board_and_cert_in_says_in_which_time_zone_its_times_are():
    """A breach that began at 18:30 UTC on 6 December began at midnight in India: the report
    writes its times in India's, and says so (the notice to the people does too)."""
    from datetime import UTC  # noqa: PLC0415

    from portal.privacy.breach import breach_drafts, breach_findings  # noqa: PLC0415

    findings = breach_findings(start=datetime(2026, 12, 6, 18, 30, tzinfo=UTC), end=datetime(2026, 12, 7, 18, 30, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 12, 8, 4, 0, tzinfo=UTC), tick=False):
        lines = breach_drafts(findings)["report"].splitlines()
    assert "Period of the breach: 7 December 2026 00:00 to 8 December 2026 00:00 (Indian Standard Time, UTC+05:30)" in lines
    assert "Report drafted: 8 December 2026 09:30 (Indian Standard Time, UTC+05:30)" in lines


def test_the_people_whose_requests_choices_or_invitations_were_touched_are_among_those_affected():
    """An intruder decides someone's data protection request, changes someone's choices of who sees
    their details, cancels an invitation someone accepted and uploads a letter to an application: the
    four people are affected (each gets the notice), not only the kinds of record named."""
    from portal.privacy.breach import breach_findings
    from portal.privacy.requests import privacy_request_make
    from verification.rosters.models import Invitation
    from verification.visibility.models import PersonalVisibility

    start = timezone.now() - timedelta(days=1)
    intruder = UserFactory(email="intruder@mha.gov.in")
    asha, ravi, meena = (UserFactory(email=f"{name}@mha.gov.in") for name in ("asha", "ravi", "meena"))
    made = privacy_request_make(user=asha, kind="correction", details="My designation is wrong.")
    choices = PersonalVisibility.objects.create(user=ravi)
    now = timezone.now()
    invitation = Invitation.objects.create(
        organisation=GovernmentProfileFactory(user=meena).organisation, email=meena.email, mailbox=meena.email,
        designation="Clerk", office="Pune", employee_code="E1", mobile="+919800000001", token_hash="x" * 64,
        invited_by=intruder, created_at=now, sent_at=now, expires_at=now + timedelta(days=30), accepted_by=meena,
        accepted_at=now, status="accepted")
    letter = ApplicationFactory(nodal_officer=UserFactory(email="officer@mha.gov.in"), letter=True).attachments.get()
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        for action, target in ((AuditAction.PRIVACY_REQUEST_DECIDED, made),
                               (AuditAction.PERSONAL_VISIBILITY_CHANGED, choices),
                               (AuditAction.INVITATION_CANCELLED, invitation),
                               (AuditAction.APPLICATION_ATTACHMENT_UPLOADED, letter)):
            audit_record(actor=intruder, action=action, target=target, ip="203.0.113.9")
    findings = breach_findings(start=start, end=timezone.now(), actor="intruder@mha.gov.in")
    assert findings.record_types == ["onboarding.attachment", "privacy.privacyrequest", "rosters.invitation",
                                     "visibility.personalvisibility"]
    assert sorted(email for _pk, email in findings.people) == [
        "asha@mha.gov.in", "meena@mha.gov.in", "officer@mha.gov.in", "ravi@mha.gov.in"]


def test_every_kind_of_record_the_notice_names_leads_to_its_person_or_is_no_one_persons():
    """So that a kind of record added to the notice is not left without the people it names (an
    application's letter or documents, a person's request: named, nobody counted)."""
    from portal.privacy import breach

    assert set(breach._RECORD_KINDS) - set(breach._PERSON_FIELDS) == breach.NO_ONE_PERSON
