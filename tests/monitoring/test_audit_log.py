"""The audit log viewer: who may read it, what each reader sees (their scope only),
its filters, and the result of the last scheduled chain check."""

import logging
import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from api.services import api_client_create, api_client_revoke
from monitoring import services
from monitoring.models import AuditChainCheck, ExpectedOffice
from monitoring.tasks import audit_chain_check as audit_chain_check_task
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record, audit_verify
from portal.management.commands import changepassword, createsuperuser
from portal.organisations.models import Organisation
from portal.organisations.services import platform_role_grant, platform_role_revoke
from tests.factories import ApplicationFactory, OrganisationFactory, UserFactory
from tests.html_tree import page, printed_filters
from tests.monitoring.conftest import platform_user
from tests.pg_trace import rows_read_by_queries
from tests.portal.audit_helpers import appended_once_the_head_is_read, tampering
from tests.smtp import text_of
from tests.verification.helpers import make_admin, signed_in
from verification import lifecycle
from verification.rosters import apply as roster_apply
from verification.rosters.models import Invitation, RosterImport

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(world):
    """One event about each organisation, one about an application of each state, and
    one about nothing in particular (a login)."""
    for key in ("agri", "pune", "health", "revenue"):
        audit_record(actor=world["superadmin"], action=AuditAction.ORGANISATION_ACTIVATED, target=world[key])
    mh = ApplicationFactory(jurisdiction="MH", organisation_name="Application MH", reference="ONB-2026-900001")
    ka = ApplicationFactory(jurisdiction="KA", organisation_name="Application KA", reference="ONB-2026-900002")
    pune_own = ApplicationFactory(jurisdiction="MH", organisation=world["pune"], reference="ONB-2026-900003")
    for application in (mh, ka, pune_own):
        audit_record(actor=world["state_admin_mh"], action=AuditAction.STEP_DECIDED, target=application)
    audit_record(actor=world["public"], action=AuditAction.USER_LOGGED_IN, target=world["public"])


def seen(client, query=""):
    response = client.get("/monitoring/audit/" + query)
    assert response.status_code == 200
    html = response.content.decode()
    targets = ("Agriculture Department, Maharashtra", "District Agriculture Office, Pune",
               "Health Department, Maharashtra", "Revenue Department, Karnataka",
               "ONB-2026-900001", "ONB-2026-900002", "ONB-2026-900003", "someone@gmail.com")
    return {target for target in targets if f"<td class=\"breakable\">{target}</td>" in html}, html


ORGS = {"Agriculture Department, Maharashtra", "District Agriculture Office, Pune", "Health Department, Maharashtra",
        "Revenue Department, Karnataka"}


def test_who_reads_what(world, events):
    everything = ORGS | {"ONB-2026-900001", "ONB-2026-900002", "ONB-2026-900003", "someone@gmail.com"}
    assert seen(signed_in(world["superadmin"]))[0] == everything
    assert seen(signed_in(world["auditor_all"]))[0] == everything
    assert seen(signed_in(world["auditor_mh"]))[0] == ORGS - {"Revenue Department, Karnataka"} | {
        "ONB-2026-900001", "ONB-2026-900003"}
    # An organisation admin: their organisation and the office below it, its application.
    assert seen(signed_in(world["admin_agri"]))[0] == {
        "Agriculture Department, Maharashtra", "District Agriculture Office, Pune", "ONB-2026-900003"}
    assert seen(signed_in(world["admin_revenue"]))[0] == {"Revenue Department, Karnataka"}
    # A state administrator's role gives no access to the log; nor does none.
    assert signed_in(world["state_admin_mh"]).get("/monitoring/audit/").status_code == 403
    assert signed_in(world["public"]).get("/monitoring/audit/").status_code == 403


def test_a_drafts_events_are_read_by_the_states_auditors_once_it_is_submitted_not_before(world):
    """A draft is its nodal officer's alone until it is submitted: platform roles see only
    submitted applications (its page is not found for a state's auditor), and its events
    (who is preparing it, when, each section saved, from which address) are not in their
    log either. Submitted, the application is theirs to read, and so is its whole history,
    the drafting included, as its page's timeline shows it. A superadmin reads it all along."""
    from onboarding.application import services as application_services  # noqa: PLC0415
    from tests.onboarding.approval_helpers import filled_application  # noqa: PLC0415

    officer = UserFactory(email="drafting.officer@water.mh.gov.in")
    draft = filled_application(officer)
    draft.refresh_from_db()
    assert draft.jurisdiction == "MH" and draft.reference is None
    auditor = signed_in(world["auditor_mh"])
    assert auditor.get(f"/onboarding/{draft.pk}/").status_code == 404
    assert officer.email not in seen(auditor)[1]
    assert officer.email not in seen(auditor, "?actor=drafting")[1]
    assert officer.email in seen(signed_in(world["superadmin"]))[1]

    submitted = application_services.application_submit(application_id=draft.pk, actor=officer)
    assert auditor.get(f"/onboarding/{draft.pk}/").status_code == 200
    html = seen(auditor, "?actor=drafting")[1]
    drafted = AuditEvent.objects.filter(target_type="onboarding.application", target_id=str(draft.pk),
                                        created_at__lt=submitted.submitted_at).count()
    assert drafted and html.count(officer.email) > drafted  # the drafting's events, and the submission's


def test_an_organisation_admin_reads_no_event_of_a_draft_of_their_office_until_it_is_submitted(world):
    """The organisation admin's scope draws the same line: a draft made for an office
    below theirs is not theirs to read, nor its events, until it is submitted. So does an
    auditor of everything, who reads every submitted application but no draft (its page is
    not found for them): not in the whole log, nor in the log of the draft's organisation."""
    officer = UserFactory(email="office.officer@mahaagri.gov.in")
    draft = ApplicationFactory(status="draft", reference=None, jurisdiction="MH", organisation=world["pune"],
                               nodal_officer=officer)
    audit_record(actor=officer, action=AuditAction.APPLICATION_CREATED, target=draft)
    of_pune = f"?organisation={world['pune'].short_code}"
    for reader in ("admin_agri", "auditor_mh", "auditor_all"):
        assert officer.email not in seen(signed_in(world[reader]))[1], reader
        assert officer.email not in seen(signed_in(world[reader]), of_pune)[1], reader
    assert officer.email in seen(signed_in(world["superadmin"]))[1]
    type(draft).objects.filter(pk=draft.pk).update(status="with_authority", reference="ONB-2026-900010")
    for reader in ("admin_agri", "auditor_mh", "auditor_all"):
        assert officer.email in seen(signed_in(world[reader]))[1], reader
        assert officer.email in seen(signed_in(world[reader]), of_pune)[1], reader


def test_where_an_event_came_from_is_shown_to_superadmins_and_auditors_only(world):
    """The address an action came from is personal data of whoever acted (a state
    administrator, a member): those who investigate read it, an organisation's admin does not."""
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7")
    audit_record(actor=world["superadmin"], action=AuditAction.ORGANISATION_ACTIVATED, target=world["agri"],
                 request=request)
    for reader in ("superadmin", "auditor_all", "auditor_mh"):
        assert "203.0.113.7" in seen(signed_in(world[reader]))[1], reader
    html = seen(signed_in(world["admin_agri"]))[1]
    assert "Agriculture Department, Maharashtra" in html
    assert "203.0.113.7" not in html and ">From</th>" not in html


def test_roster_and_invitation_events_are_read_with_their_organisations(world):
    """A roster's events (uploaded, applied, failed, its invitations sent) and an
    invitation's (sent again, accepted) are about the roster's or the invitation's
    organisation: in the scope of its state's auditor and of its admin (and of the
    admins of the offices above it), in no other."""
    now = timezone.now()

    def roster(organisation):
        return RosterImport.objects.create(organisation=organisation, uploaded_by=world["superadmin"], uploaded_at=now,
                                           file_name="staff.csv", file_sha256="0" * 64, file_format="csv")

    def invitation(organisation, code):
        return Invitation.objects.create(organisation=organisation, email=f"{code}@x.gov.in", designation="Clerk",
                                         office="O", employee_code=code, mobile="+919876543210",
                                         invited_by=world["superadmin"], token_hash=code.ljust(64, "0"),
                                         created_at=now, sent_at=now, expires_at=now + timedelta(days=30))

    targets = {"agri": roster(world["agri"]), "pune": invitation(world["pune"], "pune"),
               "revenue": roster(world["revenue"]), "revenue_invitation": invitation(world["revenue"], "rev")}
    for action in (AuditAction.ROSTER_UPLOADED, AuditAction.ROSTER_APPLIED, AuditAction.INVITATION_SENT):
        for key in ("agri", "revenue"):
            audit_record(actor=world["superadmin"], action=action, target=targets[key])
    for action in (AuditAction.INVITATION_RESENT, AuditAction.INVITATION_ACCEPTED):
        for key in ("pune", "revenue_invitation"):
            audit_record(actor=world["superadmin"], action=action, target=targets[key])

    def rows(who, query=""):
        html = signed_in(world[who]).get("/monitoring/audit/" + query).content.decode()
        return sorted(re.findall(r'<td class="breakable">((?:Roster import|Invitation) #\d+)</td>', html))

    mh = sorted([str(targets["agri"])] * 3 + [str(targets["pune"])] * 2)
    ka = sorted([str(targets["revenue"])] * 3 + [str(targets["revenue_invitation"])] * 2)
    assert rows("auditor_mh") == mh
    assert rows("admin_agri") == mh
    assert rows("admin_revenue") == ka
    assert rows("auditor_all") == sorted(mh + ka)
    assert rows("auditor_mh", "?organisation=MH-PUNE") == [str(targets["pune"])] * 2


def test_an_organisations_api_client_events_are_read_with_the_organisation(world):
    """Registering or revoking an organisation's verification API client is about that
    organisation: in the log of its other admins (and of the admins above it) and of its
    state's auditor, in no other state's or organisation's."""
    pune_admin = make_admin(world["pune"], email="second.admin@punagri.gov.in")
    pune_client, _token = api_client_create(organisation_id=world["pune"].pk, name="HRMS sync", actor=pune_admin)
    api_client_revoke(client_id=pune_client.pk, actor=pune_admin)
    revenue_client, _token = api_client_create(organisation_id=world["revenue"].pk, name="HRMS sync",
                                               actor=world["admin_revenue"])

    def rows(who, query=""):
        html = signed_in(world[who]).get("/monitoring/audit/" + query).content.decode()
        return sorted(re.findall(r'<td class="breakable">(API client #\d+) \(', html))

    pune = [f"API client #{pune_client.pk}"] * 2
    revenue = [f"API client #{revenue_client.pk}"]
    assert rows("auditor_all") == sorted(pune + revenue)
    assert rows("auditor_mh") == pune
    assert rows("admin_agri") == pune  # the office above Pune's
    assert rows("admin_revenue") == revenue
    assert rows("auditor_mh", "?organisation=MH-PUNE&action=api_client.revoked") == pune[:1]
    assert rows("auditor_mh", "?organisation=MH-HEALTH") == []


def test_a_platform_roles_changes_are_read_by_the_auditors_of_its_jurisdiction(world):
    """A platform role's grant, change of end, revocation and expiry target its holder
    and name the role's jurisdiction in their values: in the log of that jurisdiction's
    auditors, not another's; a role of everywhere only in the whole platform's log."""
    auditor_ka = platform_user("auditor", "KA", "auditor.ka@karnataka.gov.in")
    root = world["superadmin"]
    mh_admin = UserFactory(email="new.admin@maharashtra.gov.in")
    ka_admin = UserFactory(email="new.admin@karnataka.gov.in")
    cag = UserFactory(email="second.auditor@cag.gov.in")
    now = timezone.now()
    mh = platform_role_grant(user=mh_admin, role="state_admin", jurisdiction="MH", actor=root)
    platform_role_grant(user=mh_admin, role="state_admin", jurisdiction="MH", actor=root,
                        ends_at=now + timedelta(days=30))  # old_values name no jurisdiction: new_values do
    platform_role_revoke(grant_id=mh.pk, actor=root)
    ka = platform_role_grant(user=ka_admin, role="state_admin", jurisdiction="KA", actor=root,
                             ends_at=now + timedelta(days=1))
    platform_role_grant(user=cag, role="auditor", jurisdiction="", actor=root)
    with time_machine.travel(now + timedelta(days=2)):
        platform_role_revoke(grant_id=ka.pk, actor=root)  # past its end: recorded as expired
    assert AuditEvent.objects.filter(action=AuditAction.PLATFORM_ROLE_EXPIRED).count() == 1

    def rows(reader):
        html = signed_in(reader).get("/monitoring/audit/").content.decode()
        found = re.findall(r'<td>(Platform role [^<]+)</td>\s*<td class="breakable">([^<]+)</td>', html)
        return sorted((label.split(":")[0], target) for label, target in found)

    mh_rows = [("Platform role granted", "new.admin@maharashtra.gov.in")] * 2 + [
        ("Platform role revoked", "new.admin@maharashtra.gov.in")]
    ka_rows = [("Platform role ended", "new.admin@karnataka.gov.in"), ("Platform role granted",
                                                                        "new.admin@karnataka.gov.in")]
    assert rows(world["auditor_mh"]) == mh_rows
    assert rows(auditor_ka) == ka_rows
    assert rows(world["admin_agri"]) == []
    everywhere = [("Platform role granted", "second.auditor@cag.gov.in")]
    assert rows(world["auditor_all"]) == sorted(mh_rows + ka_rows + everywhere)
    assert rows(world["superadmin"]) == sorted(mh_rows + ka_rows + everywhere)


def test_an_export_is_read_by_the_auditors_of_its_states_and_the_admins_of_its_organisations(world):
    """Who downloaded a state's or an organisation's figures is in the log of that
    state's auditor and of that organisation's admins (and the admins above it), not in
    another state's: the export's event names the scope it was read in, narrowed by its
    state filter. A download of the whole platform is for those who see all of it."""
    auditor_ka = platform_user("auditor", "KA", "auditor.ka@karnataka.gov.in")
    admin_pune = make_admin(world["pune"], email="admin@pune.mahaagri.gov.in")
    for who, query in (("state_admin_mh", ""), ("admin_agri", ""), ("superadmin", "?state=KA"), ("superadmin", "")):
        response = signed_in(world[who]).get("/monitoring/organisations.csv" + query)
        b"".join(response.streaming_content)
    response = signed_in(admin_pune).get("/monitoring/organisations.csv")
    b"".join(response.streaming_content)

    def exporters(reader):
        html = signed_in(reader).get("/monitoring/audit/?action=monitoring.exported").content.decode()
        return sorted(set(re.findall(r'<td class="breakable">([^<@]+@[^<]+)<br>', html)))

    assert exporters(world["auditor_mh"]) == ["admin.mh@maharashtra.gov.in", "admin@mahaagri.gov.in",
                                              "admin@pune.mahaagri.gov.in"]
    assert exporters(auditor_ka) == ["root@sandes.nic.in"]
    assert exporters(world["admin_agri"]) == ["admin@mahaagri.gov.in", "admin@pune.mahaagri.gov.in"]
    assert exporters(admin_pune) == ["admin@pune.mahaagri.gov.in"]
    assert exporters(world["admin_revenue"]) == []
    assert len(exporters(world["auditor_all"])) == 4



def test_an_export_is_read_by_the_auditors_of_the_states_of_the_rows_it_holds(world):
    """The scope an export records is that of its rows: a central ministry's admin
    downloading its Maharashtra office's row (the ministry is of no state) recorded no
    state, and a superadmin's download filtered by name was recorded as the whole
    platform's: Maharashtra's auditor saw neither."""
    ministry = OrganisationFactory(name="Ministry of Jal Shakti", short_code="MOJS", level="central", state="")
    OrganisationFactory(name="Regional Office, Nagpur", short_code="MOJS-NGP", level="state", state="MH",
                        parent=ministry)
    auditor_ka = platform_user("auditor", "KA", "auditor.ka@karnataka.gov.in")
    auditor_central = platform_user("auditor", "CENTRAL", "auditor.central@nic.in")
    ministry_admin = make_admin(ministry, email="admin@jalshakti.gov.in")
    for who, query in ((ministry_admin, "?state=MH"), (world["superadmin"], "?q=health")):
        response = signed_in(who).get("/monitoring/organisations.csv" + query)
        assert len(b"".join(response.streaming_content).decode("utf-8-sig").splitlines()) == 2  # the header, one row
    scopes = [event.new_values["scope"] for event in
              AuditEvent.objects.filter(action=AuditAction.MONITORING_EXPORTED).order_by("id")]
    assert scopes == [{"jurisdictions": {"MH": True}, "organisations": {str(ministry.pk): True}},
                      {"jurisdictions": {"MH": True}}]

    def exporters(reader):
        html = signed_in(reader).get("/monitoring/audit/?action=monitoring.exported").content.decode()
        return sorted(set(re.findall(r'<td class="breakable">([^<@]+@[^<]+)<br>', html)))

    assert exporters(world["auditor_mh"]) == ["admin@jalshakti.gov.in", "root@sandes.nic.in"]
    assert exporters(auditor_ka) == []
    assert exporters(auditor_central) == []
    assert exporters(ministry_admin) == ["admin@jalshakti.gov.in"]


def test_filters(world, events):
    client = signed_in(world["superadmin"])
    assert seen(client, "?actor=admin.mh")[0] == {"ONB-2026-900001", "ONB-2026-900002", "ONB-2026-900003"}
    assert seen(client, "?action=user.logged_in")[0] == {"someone@gmail.com"}
    assert seen(client, "?organisation=mh-pune")[0] == {"District Agriculture Office, Pune", "ONB-2026-900003"}
    today = timezone.localdate()
    assert seen(client, f"?since={today}&until={today}")[0] == ORGS | {
        "ONB-2026-900001", "ONB-2026-900002", "ONB-2026-900003", "someone@gmail.com"}
    assert seen(client, f"?until={today - timedelta(days=1)}")[0] == set()


@pytest.mark.parametrize(("language", "said", "none_said"), [
    ("en", "Showing: Action = User logged in; Organisation's short code = MH-PUNE; From = 1 Dec 2026",
     "Showing: every row, no filter."),
    ("hi", "दिखाया जा रहा है: कार्रवाई = उपयोगकर्ता ने साइन इन किया; संगठन का संक्षिप्त कोड = MH-PUNE; से = 1 दिसं 2026",
     "दिखाया जा रहा है: हर पंक्ति, कोई फ़िल्टर नहीं।"),
    ("mr", "दाखवत आहे: कृती = वापरकर्त्याने साइन इन केले; संस्थेचा संक्षिप्त कोड = MH-PUNE; पासून = 1 डिस 2026",
     "दाखवत आहे: प्रत्येक ओळ, कोणताही फिल्टर नाही."),
])
def test_the_printed_log_says_which_filters_it_shows(world, events, language, said, none_said):
    """Its filter form is not printed: the paper says which filters the list is of, in the
    page's language, the values as the form names them; a refused one is not among them."""
    client = signed_in(world["superadmin"])
    client.cookies["django_language"] = language
    tree = page(client.get("/monitoring/audit/?action=user.logged_in&organisation=mh-pune&since=2026-12-01&until=x"))
    assert printed_filters(tree) == said
    assert printed_filters(page(client.get("/monitoring/audit/"))) == none_said


def test_the_period_typed_day_first_in_the_address_is_read_as_india_writes_it(world):
    """?since=05/12/2026&until=05/12/2026 is the 5th of December, not the 12th of May."""
    with time_machine.travel(timezone.make_aware(datetime(2026, 12, 5, 12, 0)), tick=False):
        audit_record(actor=world["superadmin"], action=AuditAction.ORGANISATION_ACTIVATED, target=world["agri"])
        client = signed_in(world["superadmin"])
        assert seen(client, "?since=05/12/2026&until=05/12/2026")[0] == {"Agriculture Department, Maharashtra"}
        assert seen(client, "?since=06-12-2026")[0] == set()


def test_the_organisation_filter_stays_within_the_scope(world, events):
    found, html = seen(signed_in(world["admin_agri"]), "?organisation=KA-REV")
    assert found == set()
    assert "No organisation with this short code is within what you may see." in html


def test_bad_filters_are_told_at_their_field(world, events):
    client = signed_in(world["superadmin"])
    found, html = seen(client, "?since=2026-13-45&until=x&action=nonsense&page=abc")
    assert "Enter a valid date" in html and "Select a valid choice" in html
    found, html = seen(client, "?since=2026-05-02&until=2026-05-01")
    assert "The end of the period is before its start." in html
    found, html = seen(client, "?since=1900-01-01")
    assert "Enter a date between 2000 and next year." in html
    assert seen(client, "?actor=" + "a" * 1000)[0] == set()


def _unrelated_events(n):
    """``n`` events about government profiles of no organisation of the test (as months of
    a busy platform leave), written by SQL, then the table analysed as a database in use has it."""
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO audit_auditevent (created_at, actor_id, actor_email, actor_role, action, target_type,
              target_id, target_repr, old_values, new_values, prev_hash, hash, personal_keys, personal_digest,
              user_agent)
            SELECT now() - (g || ' seconds')::interval, NULL, 'user' || g || '@dept' || (g %% 500) || '.gov.in',
              'member', 'verification.verified', 'verification.governmentprofile', (g + 1000000)::text, 'x', '{}',
              '{}', md5(g::text), md5(g::text) || md5((g + 1)::text), '[]', '', ''
            FROM generate_series(1, %s) g""", [n])
        cursor.execute("ANALYZE audit_auditevent")


def audit_rows_read_by_page(client, query):
    """The audit rows PostgreSQL read (by EXPLAIN ANALYZE) for the queries of the audit table
    one page of the log ran."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/monitoring/audit/" + query)
    assert response.status_code == 200
    return rows_read_by_queries(captured.captured_queries, "audit_auditevent")


@pytest.mark.parametrize("reader", ["admin_agri", "auditor_mh"])
@pytest.mark.parametrize("query", ["", "?actor=zzzq", "?actor=admin", "?page=999999", "?organisation=mh-agri",
                                   "?action=verification.verified", "?before=2147483647", "?before=2147483647&page=3"])
def test_a_scoped_readers_page_reads_the_events_of_their_scope_not_the_platforms(
        world, events, require_postgresql, reader, query):
    """The log an organisation admin or a state's auditor reads is found from their scope
    (each kind of subject by the index of the events' subjects), not by reading the whole
    platform's log, which only grows: 20,000 events of other organisations add nothing to
    what a page of theirs reads, filtered or not, at any page number."""
    _unrelated_events(20_000)
    read = audit_rows_read_by_page(signed_in(world[reader]), query)
    assert read < 200, f"one page of the audit log read {read} audit rows"


def test_the_whole_platforms_log_is_counted_up_to_a_bound(world, events, require_postgresql):
    """Those who read the whole platform's log read all of it, but a page counts at most
    AUDIT_COUNT_MAX events (saying there are more), and the actor's filter is looked up by
    its index, not tested against every event."""
    _unrelated_events(20_000)
    client = signed_in(world["superadmin"])
    response = client.get("/monitoring/audit/")
    html = response.content.decode()
    assert "More than 10,000 events match: these pages show the newest 10,000." in html
    assert "Page 1 of 200" in html and "user20000@dept0.gov.in" in html
    last = client.get("/monitoring/audit/?page=999999").content.decode()
    assert "Page 200 of 200" in last and "user10001@dept1.gov.in" in last and "user10000@" not in last
    assert audit_rows_read_by_page(client, "") < 10_200
    assert audit_rows_read_by_page(client, "?page=999999") < 20_200
    assert audit_rows_read_by_page(client, "?actor=zzzq") < 200
    # The older events, from the last page: counted up to the bound again, from where it is.
    older = re.search(r'href="\?before=(\d+)">Older events</a>', last)[1]
    assert audit_rows_read_by_page(client, f"?before={older}") < 10_200
    assert "user10000@" in client.get(f"/monitoring/audit/?before={older}").content.decode()
    found, html = seen(client, "?actor=admin.mh")
    assert found == {"ONB-2026-900001", "ONB-2026-900002", "ONB-2026-900003"}
    assert "More than" not in html


def _events_about(organisation, n):
    """``n`` events about ``organisation`` (a busy organisation's years), written by SQL,
    the newest ``user1@…``, then the database analysed as one in use has it (its
    organisations too, whose number the plan of a scope's branches weighs)."""
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO audit_auditevent (created_at, actor_id, actor_email, actor_role, action, target_type,
              target_id, target_repr, old_values, new_values, prev_hash, hash, personal_keys, personal_digest,
              user_agent)
            SELECT now() - (g || ' seconds')::interval, NULL, 'user' || g || '@dept.gov.in', 'user',
              'organisation.activated', 'organisations.organisation', %s, 'x', '{}', '{}', md5(g::text),
              md5(g::text) || md5((g + 7)::text), '[]', '', ''
            FROM generate_series(%s, 1, -1) g""", [str(organisation.pk), n])
        cursor.execute("ANALYZE")


@pytest.mark.parametrize(("reader", "query"), [
    ("auditor_mh", ""), ("admin_agri", ""), ("auditor_mh", "?organisation=mh-agri"),
    ("admin_agri", "?organisation=mh-agri"), ("superadmin", "?organisation=mh-agri"),
    ("auditor_mh", "?action=organisation.activated"), ("admin_agri", "?actor=dept.gov"),
])
def test_a_page_of_a_busy_scope_reads_no_more_than_a_page_of_the_whole_platform(
        world, require_postgresql, reader, query):
    """60,000 events about one organisation: a page of its state's auditor, of its admin
    (or of anyone filtering by it) counts up to the bound and lists the newest 50 reading
    about as many rows as a page of the whole platform's log (10,000 counted, a page, a
    few more for the scope's other branches), not every event of the scope, for the count
    and again for the page (180,050 rows; 360,000 with the organisation filter). So does
    its last page counted (offset 9,950), and the older events it leads on to."""
    _events_about(world["agri"], 60_000)
    client = signed_in(world[reader])
    read = audit_rows_read_by_page(client, query)
    assert read < 10_200 + 200, f"one page of the audit log read {read} audit rows"
    html = client.get("/monitoring/audit/" + query).content.decode()
    assert "More than 10,000 events match: these pages show the newest 10,000." in html
    assert "Page 1 of 200" in html and "user1@dept.gov.in" in html and "user50@dept.gov.in" in html
    assert "user51@dept.gov.in" not in html
    # The last page counted, and the older events from it, are bounded the same way.
    separator = "&" if query else "?"
    last = client.get(f"/monitoring/audit/{query}{separator}page=999999").content.decode()
    assert "Page 200 of 200" in last and "user10000@dept.gov.in" in last and "user9950@dept.gov.in" not in last
    assert audit_rows_read_by_page(client, f"{query}{separator}page=999999") < 20_200 + 400
    older = re.search(r'href="\?([^"]*before=\d+)">Older events</a>', last)[1].replace("&amp;", "&")
    assert audit_rows_read_by_page(client, f"?{older}") < 10_200 + 200
    assert "user10001@dept.gov.in" in client.get(f"/monitoring/audit/?{older}").content.decode()


def test_every_event_of_a_busy_day_is_on_a_page_of_that_day(world, monkeypatch):
    """A page of the log counts at most AUDIT_COUNT_MAX (10,000) events, newest first, and
    its date filters are whole days: with 50,000 events a day, the 40,000 oldest of each
    day were on no page, whatever the superadmin or auditor did short of knowing the
    action or actor. The last page counted leads on to the older events (by id, the
    list's order), counted and paged again, the filters kept. The bound and the page size
    are lowered here (20 and 5), with 30 events on one day."""
    from monitoring import views as monitoring_views
    from portal.audit.services import audit_record_many
    from tests.html_tree import field_value, html_problems, parse

    monkeypatch.setattr(monitoring_views, "AUDIT_COUNT_MAX", 20)
    monkeypatch.setattr(monitoring_views, "AUDIT_PAGE_SIZE", 5)
    offices = [OrganisationFactory(name=f"Busy Office {i:02d}", short_code=f"BUSY{i:02d}") for i in range(30)]
    audit_record_many([{"action": AuditAction.ORGANISATION_ACTIVATED, "target": office}
                       for office in offices])  # the first the day's oldest
    client = signed_in(world["superadmin"])
    day = timezone.localdate().isoformat()
    shown, read, pages = [], set(), [f"/monitoring/audit/?since={day}&until={day}"]
    while pages and len(read) < 20:
        url = pages.pop(0)
        read.add(url)
        html = client.get(url).content.decode()
        tree = parse(html)
        assert field_value(tree, "since") == day and field_value(tree, "until") == day, url
        shown += [name for name in (office.name for office in offices) if f">{name}</td>" in html]
        links = [a.get("href") for a in tree.find_all("a") if re.search(r"[?&](page|before)=", a.get("href") or "")]
        pages += [f"/monitoring/audit/{link}" for link in links if f"/monitoring/audit/{link}" not in read | set(pages)]
    assert sorted(set(shown)) == sorted(office.name for office in offices), f"{len(read)} pages read"
    older = next(url for url in read if "before=" in url and "page=" not in url)  # the last page's link
    assert f"since={day}" in older and f"until={day}" in older
    html = client.get(older).content.decode()
    assert not html_problems(html)
    assert "These are older events, newest first." in html
    assert "Busy Office 09" in html and "Busy Office 10" not in html  # the 20 newest were counted before


def test_the_next_pages_list_the_events_up_to_the_first_pages_newest_not_those_recorded_since(world):
    """The log pages newest first: events recorded while page 1 is read would push its last
    ones onto page 2, shown twice. Page 1's links carry its newest event's id (``upto``),
    and the pages they lead to list the events up to it, saying that those recorded since
    are on the newest events' page (which lists them)."""
    people = [UserFactory(email=f"reader{i:03d}@mahaagri.gov.in") for i in range(70)]
    for person in people[:60]:
        audit_record(actor=person, action=AuditAction.USER_LOGGED_IN, target=person)
    client = signed_in(world["superadmin"])
    first = client.get("/monitoring/audit/?action=user.logged_in").content.decode()
    newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True)[0]
    following = re.search(r'<a class="page-link" href="\?([^"]*)">Next', first)[1].replace("&amp;", "&")
    assert following == f"action=user.logged_in&upto={newest}&page=2"
    for person in people[60:]:  # ten people sign in while page 1 is read
        audit_record(actor=person, action=AuditAction.USER_LOGGED_IN, target=person)
    second = client.get(f"/monitoring/audit/?{following}").content.decode()
    on_first, on_second = (set(re.findall(r"reader\d{3}@mahaagri\.gov\.in", html)) for html in (first, second))
    assert len(on_first) == 50 and len(on_second) == 10 and not on_first & on_second
    assert "Page 2 of 2" in second and "Events recorded since the first page was shown are not listed here." in second
    assert 'href="?action=user.logged_in">Back to the newest events</a>' in second
    again = client.get("/monitoring/audit/?action=user.logged_in").content.decode()
    assert "reader069@mahaagri.gov.in" in again and "Events recorded since" not in again
    # Not an event's id: ignored, as a wrong page number is.
    assert "reader069@mahaagri.gov.in" in client.get("/monitoring/audit/?upto=-4").content.decode()


def test_an_actor_filter_without_three_letters_in_a_row_is_told_at_its_field(world, events):
    found, html = seen(signed_in(world["superadmin"]), "?actor=a.b")
    assert found == set()
    assert "Type at least 3 letters or digits in a row of the address." in html
    assert 'value="a.b"' in html
    # Nothing was searched: the page does not say that nothing matches.
    assert "No event is listed until the filter marked above is corrected." in html
    assert "No event matches." not in html
    assert "No event matches." in seen(signed_in(world["superadmin"]), "?actor=nobody-at-all")[1]


def test_the_date_filters_work_on_29_february(world, events):
    with time_machine.travel(timezone.make_aware(datetime(2028, 2, 29, 12, 0)), tick=False):
        client = signed_in(world["superadmin"])
        assert seen(client, "?since=2026-01-01")[1]
        assert seen(client, "?until=2028-03-01")[1]
        # The bound is the end of next year, whatever today is.
        assert "Enter a date between 2000 and next year." not in seen(client, "?until=2029-12-31")[1]
        assert "Enter a date between 2000 and next year." in seen(client, "?until=2030-01-01")[1]


@pytest.mark.parametrize(("language", "labels"), [
    ("en", ["System", "System: data retention", "State administrator (Maharashtra)", "Auditor (Everywhere)",
            "Site superuser (Django), Superadmin", "Competent authority", "a_code_of_tomorrow"]),
    ("hi", ["सिस्टम", "सिस्टम: डेटा प्रतिधारण", "राज्य प्रशासक (महाराष्ट्र)", "लेखा-परीक्षक (सभी जगह)",
            "साइट सुपरयूज़र (Django), सुपरएडमिन", "सक्षम प्राधिकारी", "a_code_of_tomorrow"]),
])
def test_who_acted_is_said_in_the_pages_language(world, language, labels):
    """The stored role codes are shown by their labels; a code the log does not know, as it is."""
    for role in ("system", "system:retention", "state_admin:MH", "auditor", "django_superuser,superadmin",
                 "competent_authority", "a_code_of_tomorrow"):
        audit_record(actor=None, action=AuditAction.ORGANISATION_ACTIVATED, target=world["agri"], actor_role=role)
    html = signed_in(world["superadmin"]).get("/monitoring/audit/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    cells = re.findall(r'<td class="breakable">([^<]*)</td>', html)
    assert [cell for cell in cells if cell != "Agriculture Department, Maharashtra"][:7] == labels[::-1]
    assert '<td class="breakable">system</td>' not in html


@pytest.mark.parametrize(("language", "label", "not_said"), [
    ("en", "System: regular confirmation of the official address", "yearly"),
    ("hi", "सिस्टम: आधिकारिक पते की नियमित पुष्टि", "वार्षिक"),
    ("mr", "प्रणाली: अधिकृत पत्त्याची नियमित पुष्टी", "वार्षिक"),
])
def test_the_confirmation_job_is_not_called_yearly(world, language, label, not_said):
    """The confirmation of the official address comes every VERIFICATION_RECONFIRM_DAYS, a
    day to ten years: the job that asks for it acts in the log without being called yearly."""
    audit_record(actor=None, action=AuditAction.ORGANISATION_ACTIVATED, target=world["agri"],
                 actor_role="system:reconfirmation")
    html = signed_in(world["superadmin"]).get("/monitoring/audit/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    cells = re.findall(r'<td class="breakable">([^<]*)</td>', html)
    assert label in cells and not any(not_said in cell for cell in cells), cells


@pytest.mark.parametrize(("language", "label"), [
    ("en", "Organisation admin"), ("hi", "संगठन प्रशासक"), ("mr", "संस्था प्रशासक"),
])
def test_an_organisation_admins_decision_names_the_role_it_was_taken_in(world, language, label):
    """An organisation admin's decision (a request to be verified rejected) was theirs as
    that organisation's admin: the log says so, in the page's language, not "Signed-in user
    without a platform role"."""
    from tests.verification.helpers import GovernmentProfileFactory
    from verification.services import join_request_decide

    admin = make_admin(world["agri"], email="desk.officer@mahaagri.gov.in")
    profile = GovernmentProfileFactory(user=UserFactory(email="clerk.probe@mahaagri.gov.in"),
                                       organisation=world["agri"])
    join_request_decide(profile_id=profile.pk, decision="reject", reason="Not on our staff list", actor=admin)
    event = AuditEvent.objects.filter(action=AuditAction.VERIFICATION_REJECTED).latest("id")
    assert (event.actor_id, event.actor_role) == (admin.pk, "organisation_admin")
    response = signed_in(world["superadmin"]).get("/monitoring/audit/", HTTP_ACCEPT_LANGUAGE=language)
    [row] = [row for row in page(response).find_all("tr") if "desk.officer@mahaagri.gov.in" in row.text()]
    assert label in row.squashed_text()


@pytest.mark.parametrize(("language", "label"), [
    ("en", "Organisation admin"), ("hi", "संगठन प्रशासक"), ("mr", "संस्था प्रशासक"),
])
def test_an_organisation_admin_who_makes_someone_an_admin_is_named_with_their_organisation(world, language, label):
    """The department's admin makes a member of the district office below it the office's
    admin: the event says the granter acted as the department's admin, naming the
    department (its number, and its name as it was then) in its data and on the log page.
    An event written before organisations were named says "Organisation admin" as it did."""
    from portal.organisations.services import organisation_admin_grant
    from tests.portal.role_helpers import make_member

    agri = world["agri"]
    admin = make_admin(agri, email="desk.officer@mahaagri.gov.in")
    member = make_member(world["pune"], email="asha.kulkarni@pune.mahaagri.gov.in")
    audit_record(actor=admin, action=AuditAction.USER_LOGGED_IN, target=admin, actor_role="organisation_admin")
    organisation_admin_grant(organisation_id=world["pune"].pk, user_id=member.pk, actor=admin)
    event = AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_GRANTED).latest("id")
    assert (event.actor_role, event.actor_organisations) == (
        "organisation_admin", [{"id": agri.pk, "name": "Agriculture Department, Maharashtra"}])
    Organisation.objects.filter(pk=agri.pk).update(name="Department of Agriculture, Maharashtra")  # renamed since
    assert audit_verify() == []
    response = signed_in(world["superadmin"]).get("/monitoring/audit/", HTTP_ACCEPT_LANGUAGE=language)
    rows = [row.squashed_text() for row in page(response).find_all("tr") if "desk.officer@mahaagri.gov.in" in row.text()]
    granted, older = rows  # newest first
    assert f"{label} (Agriculture Department, Maharashtra, #{agri.pk})" in granted
    assert f"{label} (" not in older and label in older


@pytest.mark.parametrize(("language", "profile", "draft", "roster", "client"), [
    ("en", "Government profile #{}", "Draft #{}", "Roster import #{}", "API client #{} (sv_ab…)"),
    ("hi", "सरकारी प्रोफ़ाइल #{}", "मसौदा #{}", "रोस्टर आयात #{}", "API क्लाइंट #{} (sv_ab…)"),
    ("mr", "सरकारी प्रोफाइल #{}", "मसुदा #{}", "रोस्टर आयात #{}", "API क्लायंट #{} (sv_ab…)"),
])
def test_what_an_event_is_about_is_said_in_the_pages_language(world, language, profile, draft, roster, client):
    """The stored snapshot of a target with no name of its own (its model's English __str__)
    is shown in the page's language from its number; a name (an organisation's) or a
    reference, as stored."""
    from api.models import ApiClient  # noqa: PLC0415
    from tests.verification.helpers import GovernmentProfileFactory  # noqa: PLC0415

    now = timezone.now()
    targets = [
        GovernmentProfileFactory(organisation=world["pune"]),
        ApplicationFactory(status="draft", reference=None, jurisdiction="MH", organisation_name="Draft office"),
        RosterImport.objects.create(organisation=world["pune"], uploaded_by=world["superadmin"], uploaded_at=now,
                                    file_name="staff.csv", file_sha256="0" * 64, file_format="csv"),
        ApiClient.objects.create(organisation=world["pune"], name="HRMS", token_prefix="sv_ab", token_hash="0" * 64,
                                 created_at=now),
        ApplicationFactory(jurisdiction="MH", reference="ONB-2026-900009"),
        world["agri"],
    ]
    for target in targets:
        audit_record(actor=world["superadmin"], action=AuditAction.ORGANISATION_ACTIVATED, target=target)
    html = signed_in(world["superadmin"]).get("/monitoring/audit/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    cells = re.findall(r'<td class="breakable">([^<]*)</td>', html)
    labels = [label.format(target.pk) for label, target in zip((profile, draft, roster, client), targets, strict=False)]
    assert cells[:6] == [*labels, "ONB-2026-900009", "Agriculture Department, Maharashtra"][::-1]


@pytest.mark.parametrize(("language", "label"), [
    ("en", "Unknown mailbox #{}"), ("hi", "अज्ञात मेलबॉक्स #{}"), ("mr", "अज्ञात मेलबॉक्स #{}")])
def test_a_lifted_refusal_of_an_unknown_mailbox_is_said_in_the_pages_language(world, language, label):
    """The refusal of an address as unknown, lifted by a superadmin: its snapshot is the model's
    English "Unknown mailbox #N", which the log showed as stored on a Hindi or Marathi page."""
    from portal.mail.models import UnknownMailbox  # noqa: PLC0415
    from portal.mail.services import unknown_mailbox_lift  # noqa: PLC0415

    now = timezone.now()
    record = UnknownMailbox.objects.create(mailbox="gone@agri.gov.in", first_refused_at=now, last_refused_at=now,
                                           reply="550 5.1.1 User unknown")
    assert unknown_mailbox_lift(unknown_mailbox_id=record.pk, actor=world["superadmin"])
    html = signed_in(world["superadmin"]).get("/monitoring/audit/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert re.findall(r'<td class="breakable">([^<]*)</td>', html)[0] == label.format(record.pk)


@pytest.mark.parametrize(("language", "acting", "hold", "policy", "rule"), [
    ("en", "hi", "Onboarding application {}", "Withdrawn and finally rejected applications", "dept-rule.in (Official)"),
    ("hi", "mr", "ऑनबोर्डिंग आवेदन {}", "वापस लिए गए और अंतिम रूप से अस्वीकृत आवेदन", "dept-rule.in (आधिकारिक)"),
    ("mr", "en", "ऑनबोर्डिंग अर्ज {}", "मागे घेतलेले आणि अंतिमतः नाकारलेले अर्ज", "dept-rule.in (अधिकृत)"),
])
def test_a_hold_a_policy_and_a_rule_are_said_in_the_readers_language_not_the_actors(world, language, acting, hold,
                                                                                    policy, rule):
    """A legal hold's, a retention policy's and an email rule's snapshots name a kind from
    their choices (get_..._display()): they were stored in the language of whoever acted, so
    that a hold set from a Hindi page was read in Hindi by everyone, for good. They are stored
    in English, and shown in the page's language from the kind (the rule's suffix as stored)."""
    from portal.accounts.services import email_rule_save  # noqa: PLC0415
    from portal.privacy.retention import legal_hold_set, retention_policy_update  # noqa: PLC0415

    application = ApplicationFactory(jurisdiction="MH", reference="ONB-2026-900010")
    root = world["superadmin"]
    with translation.override(acting):
        legal_hold_set(target_type="onboarding.application", target_id=application.pk, reason="Court order", actor=root)
        retention_policy_update(kind="closed_application", days=400, grace_days=0, enabled=True, actor=root)
        email_rule_save(suffix="dept-rule.in", kind="official", actor=root)
    assert list(AuditEvent.objects.order_by("-id").values_list("target_repr", flat=True)[:3]) == [
        "dept-rule.in (Official)", "Withdrawn and finally rejected applications", f"Onboarding application {application.pk}"]
    html = signed_in(root).get("/monitoring/audit/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    cells = re.findall(r'<td class="breakable">([^<]*)</td>', html)
    assert cells[:3] == [rule, policy, hold.format(application.pk)]


@pytest.mark.parametrize(("language", "since", "until", "where_from"), [
    ("en", "From", "To", "From"), ("hi", "से", "तक", "कहाँ से"), ("mr", "पासून", "पर्यंत", "कोठून"),
])
def test_the_filters_period_is_labelled_as_a_period(world, events, language, since, until, where_from):
    """The period's ends are not labelled with the word that heads a letter's addressee
    ("प्रति", which "To" is for the approval letter and the outbox); the column of where an
    event came from keeps its own word."""
    tree = page(signed_in(world["superadmin"]).get("/monitoring/audit/", HTTP_ACCEPT_LANGUAGE=language))
    labels = {label.get("for"): label.squashed_text() for label in tree.find_all("label")}
    assert (labels["id_since"], labels["id_until"]) == (since, until)
    assert tree.find("thead").find_all("th")[-1].squashed_text() == where_from


def test_a_state_auditor_sees_the_changes_of_their_states_list_after_an_office_is_gone(world):
    """The events about an expected office follow the live office into a state auditor's
    scope; those that carry the list's jurisdiction in their values (an office added or
    removed, a list uploaded, an office moved to another list) stay in it once the
    office is gone."""
    header = "name,short_code,official_domain,contact_email,target_date\n"
    for admin, jurisdiction, name in (("state_admin_mh", "MH", "Water Board"), ("state_admin_ka", "KA", "Mines")):
        file = SimpleUploadedFile("offices.csv", f"{header}{name},{jurisdiction}-1,,it@x.gov.in,2027-01-31\n".encode())
        response = signed_in(world[admin]).post("/monitoring/adoption/upload/",
                                                {"jurisdiction": jurisdiction, "file": file})
        assert response.status_code == 302
    mh, ka = ExpectedOffice.objects.get(jurisdiction="MH"), ExpectedOffice.objects.get(jurisdiction="KA")
    mh_repr, ka_repr = str(mh), str(ka)
    assert (mh_repr, ka_repr) == ("Water Board (MH-1)", "Mines (KA-1)")  # what the office is, in no page's language
    assert signed_in(world["state_admin_mh"]).post(f"/monitoring/adoption/{mh.pk}/delete/").status_code == 302
    assert signed_in(world["state_admin_ka"]).post(f"/monitoring/adoption/{ka.pk}/delete/").status_code == 302

    def rows(who):
        html = signed_in(world[who]).get("/monitoring/audit/?action=adoption.list_changed").content.decode()
        return [(about, actor) for actor, about in re.findall(
            r'<td class="breakable">([^<]*)<br>.*?</td>\s*<td>[^<]*</td>\s*<td class="breakable">([^<]*)</td>', html)]

    # Newest first: the deletion, the upload (without a target), the office it added.
    assert rows("auditor_mh") == [(mh_repr, "admin.mh@maharashtra.gov.in"),
                                  ("—", "admin.mh@maharashtra.gov.in"),
                                  (mh_repr, "admin.mh@maharashtra.gov.in")]
    assert rows("auditor_all") == [(ka_repr, "admin.ka@karnataka.gov.in"), (mh_repr, "admin.mh@maharashtra.gov.in"),
                                   ("—", "admin.ka@karnataka.gov.in"), (ka_repr, "admin.ka@karnataka.gov.in"),
                                   ("—", "admin.mh@maharashtra.gov.in"), (mh_repr, "admin.mh@maharashtra.gov.in")]
    # An organisation's admin sees no list.
    assert rows("admin_agri") == []


def test_an_office_moved_to_another_list_stays_in_the_first_states_log(world):
    office = ExpectedOffice.objects.create(jurisdiction="MH", name="Water Board", short_code="MH-WATER",
                                           contact_email="it@water.mh.gov.in", target_date=timezone.localdate())
    values = {name: getattr(office, name) for name in services.OFFICE_FIELDS}
    services.expected_office_save(office=office, values={**values, "jurisdiction": "KA"}, editable=None,
                                  actor=world["superadmin"])
    for who in ("auditor_mh", "auditor_all"):
        html = signed_in(world[who]).get("/monitoring/audit/?action=adoption.list_changed").content.decode()
        assert f'<td class="breakable">{office}</td>' in html, who


def test_the_move_of_an_organisation_out_of_a_scope_stays_in_its_log(world):
    """The Pune office moved under the Health Department, then the Health Department to
    Karnataka: the moves vanished from the logs of Maharashtra's auditor and of the Agriculture
    Department's admin, who were left without the record of who moved them, why, and which
    admin roles ended. The move stays in the log of the scope it left (as an office moved to
    another list does); the organisation's other events follow it out."""
    from portal.organisations.services import organisation_move

    health, pune = world["health"], world["pune"]
    organisation_move(organisation_id=pune.pk, state="MH", parent_id=health.pk, reason="Reorganised by order 12",
                      actor=world["superadmin"])
    organisation_move(organisation_id=health.pk, state="KA", parent_id=None, reason="Reorganised by order 13",
                      actor=world["superadmin"])
    ka = platform_user("auditor", "KA", "auditor.ka@karnataka.gov.in")

    def moved(client):
        html = client.get("/monitoring/audit/?action=organisation.moved").content.decode()
        return re.findall(r'<td>Organisation moved[^<]*</td>\s*<td class="breakable">([^<]*)</td>', html)

    both = [health.name, pune.name]
    assert moved(signed_in(ka)) == both
    assert moved(signed_in(world["auditor_mh"])) == both  # the one it left, and the one moved within it
    assert moved(signed_in(world["admin_agri"])) == [pune.name]  # moved out from under it
    audit_record(actor=world["superadmin"], action=AuditAction.ORGANISATION_DETAILS_CHANGED, target=health,
                 new={"reason": "Renamed after the move"})
    html = signed_in(world["auditor_mh"]).get("/monitoring/audit/?action=organisation.details_changed").content.decode()
    assert health.name not in html


def test_chain_check_result(world, events):
    client = signed_in(world["auditor_all"])
    assert "The chain has not been checked yet" in seen(client)[1]
    check = services.audit_chain_check()
    assert check.intact and check.events >= 8 and check.problems == 0
    assert "The chain was intact when last checked" in seen(client)[1]
    AuditChainCheck.objects.create(checked_at=timezone.now() + timedelta(minutes=1), intact=False, events=9, problems=1,
                                   first_problem="#5: the row was edited")
    html = seen(client)[1]
    assert "found 1 problem." in html and "#5: the row was edited" in html


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_chain_checks_counts_are_grouped_the_indian_way(world, language):
    """The events the check walked and the problems it found are written as every figure of
    the portal is ("12,34,567", not "1234567"), on the page and in the mail to the superadmins,
    in every language: the log only grows."""
    from django.template.loader import render_to_string

    AuditChainCheck.objects.create(checked_at=timezone.now(), intact=True, events=1234567, problems=0)
    client = signed_in(world["auditor_all"])
    html = client.get("/monitoring/audit/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert "12,34,567" in html and "1234567" not in html
    broken = AuditChainCheck.objects.create(checked_at=timezone.now() + timedelta(minutes=1), intact=False,
                                            events=1234567, problems=12345, first_problem="#5: the row was edited")
    html = client.get("/monitoring/audit/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert "12,345" in html and "12345" not in html
    with translation.override(language):
        mail = render_to_string("monitoring/email/audit_chain_broken.txt", {"check": broken})
    assert "12,345" in mail and "12,34,567" in mail and "12345" not in mail and "1234567" not in mail
    assert ("12,345 problems in the hash chain of its 12,34,567 events" in mail) == (language == "en")


@pytest.mark.parametrize(("language", "told"), [
    ("en", "#{head}: the newest event written was {head} but the log ends at {end}: rows at the end were deleted"),
    ("hi", "#{head}: लिखी गई सबसे नई घटना {head} थी पर लॉग {end} पर समाप्त होता है: अंत की पंक्तियाँ हटाई गईं"),
    ("mr", "#{head}: लिहिलेली सर्वात नवी घटना {head} होती पण लॉग {end} वर संपतो: शेवटच्या ओळी हटवल्या गेल्या"),
])
def test_the_checks_problem_is_told_in_the_pages_language(world, events, language, told):
    """The check keeps what it found as a code and its numbers; the page tells it in
    its language."""
    head, end = AuditEvent.objects.order_by("-id").values_list("id", flat=True)[:2]
    with tampering():
        AuditEvent.objects.filter(pk=head).delete()
    assert not services.audit_chain_check().intact
    html = signed_in(world["superadmin"]).get("/monitoring/audit/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'lang="{language}"' in html
    assert told.format(head=head, end=end) in html


def test_a_broken_chain_found_by_the_daily_check_is_logged_and_mailed_to_the_superadmins(
    world, events, smtp_server, caplog, django_capture_on_commit_callbacks
):
    """The daily check that finds the chain broken says so where the head publisher says
    an unsealed head: an error in the log with a stable prefix, and a mail in English and
    Hindi to every superadmin (through the outbox), each day while it stays broken; the
    table it keeps its result in is one an intruder can write too."""
    django_superuser = UserFactory(email="django.root@nic.in", is_superuser=True, is_staff=True)
    with caplog.at_level(logging.INFO, logger="monitoring"), django_capture_on_commit_callbacks(execute=True):
        assert audit_chain_check_task.delay().get()["intact"] is True
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR] and smtp_server.messages == []

    edited = AuditEvent.objects.order_by("id").values_list("id", flat=True)[2]
    with tampering():
        AuditEvent.objects.filter(pk=edited).update(actor_email="someone.else@sandes.nic.in")
    for day in (1, 2):  # a reminder each day while it stays broken
        smtp_server.messages.clear()
        caplog.clear()
        with time_machine.travel(timezone.now() + timedelta(days=day)), caplog.at_level(logging.INFO, logger="monitoring"), \
                django_capture_on_commit_callbacks(execute=True):
            result = audit_chain_check_task.delay().get()
        assert result["intact"] is False and result["problems"] == 1
        [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert line.startswith(f"AUDIT_CHAIN_BROKEN problems=1 events={result['events']} first=#{edited}: "
                               "contents do not match the stored hash: the row was edited"), line
        assert sorted(m["To"] for m in smtp_server.messages) == sorted([world["superadmin"].email,
                                                                       django_superuser.email])
        for message in smtp_server.messages:
            english_subject, hindi_subject = message["Subject"].split(" / ")
            assert english_subject.startswith("Audit log chain broken, ")
            assert hindi_subject.startswith("ऑडिट लॉग की शृंखला टूटी, ") and english_subject[-4:] == hindi_subject[-4:]
            english, _sep, hindi = text_of(message).partition("\n----------\n")
            assert "found 1 problem in the hash chain" in english
            assert f"\n#{edited}: contents do not match the stored hash: the row was edited\n" in english
            assert "manage.py verify_audit" in english and "manage.py verify_audit" in hindi
            assert f"\n#{edited}: सामग्री संग्रहीत हैश से मेल नहीं खाती" in hindi and "दैनिक जाँच" in hindi


def test_chain_check_tells_the_platform_wide_figures_only_to_those_who_see_the_whole_platform(world, events):
    check = services.audit_chain_check()
    whole = f"({check.events} events)"
    assert whole in seen(signed_in(world["auditor_all"]))[1]
    for viewer in ("auditor_mh", "admin_agri"):
        html = seen(signed_in(world[viewer]))[1]
        assert "The chain was intact when last checked, at" in html and whole not in html
    AuditChainCheck.objects.create(checked_at=timezone.now() + timedelta(minutes=1), intact=False, events=9, problems=1,
                                   first_problem="#5: the row was edited")
    html = seen(signed_in(world["admin_agri"]))[1]
    assert "found 1 problem." in html and "#5: the row was edited" not in html
    assert "#5: the row was edited" in seen(signed_in(world["superadmin"]))[1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("require_postgresql")
def test_an_event_appended_while_the_chain_is_checked_is_no_problem(world, monkeypatch):
    """The daily check runs while people use the portal: an event another request
    commits once the check has read the chain head is the next check's, not rows
    deleted at the end; the check counts the events it walked."""
    audit_record(actor=world["public"], action=AuditAction.USER_LOGGED_IN, target=world["public"])
    walked = AuditEvent.objects.count()
    appended = appended_once_the_head_is_read(monkeypatch, world["public"])
    check = services.audit_chain_check()
    assert appended
    assert (check.intact, check.problems, check.first_problem, check.events) == (True, 0, "", walked)
    assert AuditEvent.objects.count() == walked + 1


@pytest.mark.parametrize("code", [lifecycle.SUPERANNUATION, lifecycle.RECONFIRMATION, lifecycle.ADDRESS_REMOVED,
                                  roster_apply.SYSTEM, "system:transfer", "system:retention",
                                  createsuperuser.COMMAND, changepassword.COMMAND, "system:migration"])
def test_each_job_that_acts_in_the_log_is_named_in_each_language(world, code):
    """The jobs that end, suspend or import verifications act in the log under their own
    codes, as the commands that create superusers and set passwords do: each is named, in
    the reader's language, not shown as its code."""
    audit_record(actor=None, action=AuditAction.ORGANISATION_ACTIVATED, target=world["agri"], actor_role=code)
    names = {}
    for language in ("en", "hi", "mr"):
        html = signed_in(world["superadmin"]).get("/monitoring/audit/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        cells = [cell for cell in re.findall(r'<td class="breakable">([^<]*)</td>', html)
                 if cell != "Agriculture Department, Maharashtra"]
        assert code not in cells, (language, cells)
        names[language] = cells[0]
    assert len(set(names.values())) == 3, names


def test_every_code_of_the_system_written_as_an_actor_is_named():
    """Each "system:..." code the apps (their migrations included) write as an event's actor
    has a label (one written by an upgrade of the rosters had none, and showed as its code)."""
    from pathlib import Path  # noqa: PLC0415

    from monitoring.auditlog import ACTOR_LABELS  # noqa: PLC0415

    root = Path(__file__).resolve().parents[2]
    written = {code for folder in ("portal", "onboarding", "verification", "monitoring", "api")
               for path in (root / folder).rglob("*.py")
               for code in re.findall(r'"(system:[^"{}]+)"', path.read_text(encoding="utf-8"))}
    assert "system:migration" in written
    assert sorted(written - set(ACTOR_LABELS)) == []


def test_what_the_removal_of_a_domain_ended_is_said_to_be_the_systems_in_the_pages_language(world):
    """The invitations withdrawn and the verifications suspended when a superadmin removes an
    organisation's domain are the system's (``system:domain_removed``): the log names it."""
    audit_record(actor=None, action=AuditAction.INVITATION_CANCELLED, target=world["agri"],
                 actor_role="system:domain_removed")
    html = signed_in(world["superadmin"]).get("/monitoring/audit/", HTTP_ACCEPT_LANGUAGE="hi").content.decode()
    cells = re.findall(r'<td class="breakable">([^<]*)</td>', html)
    assert "सिस्टम: संगठन का ईमेल डोमेन हटाया गया" in cells, cells
