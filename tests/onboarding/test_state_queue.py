"""The state (or central) administrators' queue: scope, order (overdue and
oldest first), decisions, exact query counts with 1 and 200 applications; and
the second factor they must use (allauth MFA), enforced, the Django admin included."""

import re
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext

from onboarding.approval import services
from onboarding.approval.selectors import state_queue_page
from onboarding.models import Application, ApplicationStatus, ApprovalStep, Decision, Stage, StateQueueCount
from portal.accounts.models import User
from portal.organisations.models import OrganisationStatus
from portal.organisations.states import JURISDICTION_CHOICES
from tests.factories import (
    PASSWORD,
    ApplicationFactory,
    ApprovalStepFactory,
    PlatformRoleFactory,
    UserFactory,
    application_with_state,
)
from tests.html_tree import page
from tests.onboarding.approval_helpers import (
    TRANSACTIONAL,
    make_state_admin,
    make_superadmin,
    messages_to,
    signed_in,
    state_step,
    totp_code,
    with_totp,
)
from tests.pg_trace import plans, prepared_text

pytestmark = pytest.mark.django_db


def queue_references(html):
    table = html.split("Applications waiting for a decision", 1)[1].split("</table>", 1)[0]
    return re.findall(r"<td>(ONB-[\d-]+)</td>", table)


@pytest.fixture
def queue(db):
    now = timezone.now()

    def step(reference, jurisdiction, opened_days_ago, due_in_days):
        return ApprovalStepFactory(
            application=ApplicationFactory(reference=reference, jurisdiction=jurisdiction),
            stage=Stage.STATE, opened_at=now - timedelta(days=opened_days_ago), due_at=now + timedelta(days=due_in_days),
        )

    return {
        "recent": step("ONB-2026-000010", "MH", 1, 9),
        "overdue_newer": step("ONB-2026-000011", "MH", 11, -1),
        "middle": step("ONB-2026-000012", "MH", 5, 5),
        "overdue_older": step("ONB-2026-000013", "MH", 14, -4),
        "karnataka": step("ONB-2026-000014", "KA", 20, -10),
        "decided": ApprovalStepFactory(application=ApplicationFactory(reference="ONB-2026-000015", jurisdiction="MH"),
                                       stage=Stage.STATE, decision=Decision.RETURN, remarks="x", decided_at=now),
    }


def test_queue_shows_the_viewers_jurisdiction_overdue_first_then_oldest(queue):
    response = signed_in(make_state_admin("MH")).get("/onboarding/queue/")
    assert response.status_code == 200
    html = response.content.decode()
    assert queue_references(html) == ["ONB-2026-000013", "ONB-2026-000011", "ONB-2026-000012", "ONB-2026-000010"]
    assert html.count("<h1") == 1 and "<title>Approval queue" in html
    assert html.count('class="table-danger"') == 2


def test_superadmins_and_national_state_admins_see_every_jurisdiction(queue):
    everything = ["ONB-2026-000014", "ONB-2026-000013", "ONB-2026-000011", "ONB-2026-000012", "ONB-2026-000010"]
    assert queue_references(signed_in(make_superadmin()).get("/onboarding/queue/").content.decode()) == everything
    national = UserFactory()
    PlatformRoleFactory(user=national, role="state_admin", jurisdiction="")
    with_totp(national)
    assert queue_references(signed_in(national).get("/onboarding/queue/").content.decode()) == everything


def test_queue_of_another_state_is_empty_and_its_steps_are_not_found(queue):
    client = signed_in(make_state_admin("GA"))
    html = client.get("/onboarding/queue/").content.decode()
    assert "Nothing is waiting for your decision." in html
    assert client.get(f"/onboarding/queue/{queue['recent'].pk}/").status_code == 404


def test_revoked_state_admins_lose_the_queue(queue):
    admin = make_state_admin("MH")
    admin.platform_roles.update(revoked_at=timezone.now())
    assert signed_in(admin).get("/onboarding/queue/").status_code == 403


# Queries of the queue page, whatever the number of applications: session,
# user with their platform roles and their authenticator app (one query, cached for
# the MFA middleware, the rule and the context processor), the count of open state
# steps and the escalated authority steps (one round trip on PostgreSQL:
# compiled.together), the page's ids and its rows (with application and nodal officer
# joined; one statement on PostgreSQL).
QUEUE_QUERIES = 4 if connection.vendor == "postgresql" else 6


@pytest.mark.parametrize("count", [1, 200])
def test_queue_query_count_is_the_same_for_1_and_200_applications(count, django_assert_num_queries):
    now = timezone.now()
    for i in range(count):
        application = ApplicationFactory(jurisdiction="MH")
        ApprovalStepFactory(application=application, stage=Stage.STATE, opened_at=now - timedelta(days=i % 15),
                            due_at=now + timedelta(days=10 - i % 15))
        if i % 20 == 0:
            ApprovalStepFactory(application=ApplicationFactory(jurisdiction="MH", status="with_authority"),
                                stage=Stage.AUTHORITY, assignee_email=f"ca{i}@dept.gov.in",
                                due_at=now - timedelta(days=1), escalated_at=now)
    client = signed_in(make_state_admin("MH"))
    with django_assert_num_queries(QUEUE_QUERIES):
        response = client.get("/onboarding/queue/")
    assert response.status_code == 200
    assert len(queue_references(response.content.decode())) == min(count, 50)
    escalated = ApprovalStep.objects.filter(stage=Stage.AUTHORITY, escalated_at__isnull=False)
    assert escalated.count() == (count + 19) // 20
    html = response.content.decode()
    for step in escalated.select_related("application"):  # read with the counts, listed below the queue
        assert step.assignee_email in html and step.application.reference in html


def test_deciding_from_the_queue(officer, django_capture_on_commit_callbacks):
    admin = make_state_admin("MH")
    application = application_with_state(nodal_officer=officer)
    step = state_step(application)
    client = signed_in(admin)
    page = client.get(f"/onboarding/queue/{step.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and html.count("<h1") == 1
    assert 'for="id_decision_0"' in html and 'for="id_remarks"' in html
    assert f"/onboarding/{application.pk}/form.pdf" in html and "The signed authorisation letter" in html
    assert "<strong>Competent authority</strong>: Approved —" in html  # the authority's decision in the history

    refused = client.post(f"/onboarding/queue/{step.pk}/", {"decision": "reject", "confirm": "on"})
    assert refused.status_code == 200 and 'id="id_remarks_error"' in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"},
                               HTTP_USER_AGENT="State browser", REMOTE_ADDR="10.0.0.5")
    assert response.status_code == 302 and response["Location"] == "/onboarding/queue/"
    step.refresh_from_db()
    assert step.decision == Decision.APPROVE and step.decided_by == admin and step.ip == "10.0.0.5"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.organisation.status == OrganisationStatus.ACTIVE
    assert client.get(f"/onboarding/queue/{step.pk}/").status_code == 200  # the "already decided" page
    assert "You already recorded this decision" in client.get(f"/onboarding/queue/{step.pk}/").content.decode()


def test_a_decision_taken_from_page_2_of_the_queue_leads_back_to_page_2(officer):
    """The row's link carries the page it is on, as does the decision page's way back, and
    the decision leads back to that page of the queue."""
    now = timezone.now()
    for i in range(52):
        ApprovalStepFactory(application=ApplicationFactory(jurisdiction="MH"), stage=Stage.STATE,
                            opened_at=now - timedelta(days=2, minutes=i), due_at=now + timedelta(days=8))
    step = state_step(application_with_state(nodal_officer=officer))  # the newest: last, on page 2
    client = signed_in(make_state_admin("MH"))
    html = client.get("/onboarding/queue/", {"page": "2"}).content.decode()
    assert f'href="/onboarding/queue/{step.pk}/?page=2"' in html
    assert 'href="/onboarding/queue/?page=2">' in client.get(f"/onboarding/queue/{step.pk}/?page=2").content.decode()
    response = client.post(f"/onboarding/queue/{step.pk}/?page=2&other=1",
                           {"decision": "return", "remarks": "Attach the signed letter again."})
    assert response.status_code == 302 and response["Location"] == "/onboarding/queue/?page=2"
    step.refresh_from_db()
    assert step.decision == Decision.RETURN
    # Page 1 is no page to carry, nor anything that is not a page's number.
    for query in ({"page": "1"}, {"page": "x"}):
        rows = client.get("/onboarding/queue/", query).content.decode().split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        assert rows.count('href="/onboarding/queue/') == 50 and "?page=" not in rows
    assert client.post(f"/onboarding/queue/{step.pk}/?page=-1", {"decision": "return", "remarks": "Again."}
                       ).status_code == 200  # decided already: said on the page


AUDITOR_DECIDES_NOTHING = "an auditor's account is read-only: it decides no application"


@pytest.mark.parametrize("audited", ["MH", "KA", ""])
def test_a_state_admin_who_is_also_an_auditor_decides_nothing(officer, audited):
    """An auditor changes nothing, whatever other role the account holds: a state
    administrator who is also an auditor (of their state, another or everywhere) is not
    told of the step, their queue says why it holds nothing for them, the decision page
    (where a mail's link leads) says so instead of offering the form, an approval posted
    anyway is refused and decides nothing, and so is one asked of the service. They still
    read the application."""
    admin = make_state_admin("MH")
    PlatformRoleFactory(user=admin, role="auditor", jurisdiction=audited)
    superadmin = make_superadmin()
    application = application_with_state(nodal_officer=officer)
    step = state_step(application)
    assert not messages_to(admin.email) and messages_to(superadmin.email)
    assert step.nobody_may_decide_since is None

    client = signed_in(admin)
    queue_page = client.get("/onboarding/queue/")
    text = page(queue_page).squashed_text()
    assert queue_page.status_code == 200 and AUDITOR_DECIDES_NOTHING in text
    assert application.reference not in text and "Nothing is waiting for your decision" not in text
    assert f"/onboarding/queue/{step.pk}/" not in queue_page.content.decode()
    shown = client.get(f"/onboarding/queue/{step.pk}/")
    assert shown.status_code == 403 and AUDITOR_DECIDES_NOTHING in page(shown).squashed_text()
    assert 'name="decision"' not in shown.content.decode()
    refused = client.post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"})
    assert refused.status_code == 403 and AUDITOR_DECIDES_NOTHING in page(refused).squashed_text()
    with pytest.raises(PermissionDenied):
        services.step_decide(step_id=step.pk, decision=Decision.APPROVE, actor=User.objects.get(pk=admin.pk),
                             stage=Stage.STATE)
    step.refresh_from_db()
    application.refresh_from_db()
    assert step.decision == "" and application.status == ApplicationStatus.WITH_STATE
    assert client.get(f"/onboarding/{application.pk}/").status_code == 200


def test_a_state_admin_who_is_the_only_one_of_the_state_and_an_auditor_leaves_the_step_to_the_superadmins(officer):
    """Nobody who may decide is told when the state's only administrator is also an
    auditor and there is no superadmin: the step says nobody may decide it, as it does
    when the state has no administrator."""
    admin = make_state_admin("MH")
    PlatformRoleFactory(user=admin, role="auditor", jurisdiction="MH")
    step = state_step(application_with_state(nodal_officer=officer))
    assert step.nobody_may_decide_since is not None
    assert not messages_to(admin.email)


def test_ones_own_decision_sent_twice_is_said_recorded_not_refused(officer):
    """The approval posted twice (a double click without JavaScript, Back and send again):
    the second answer was a 409 "already decided by <them> ... Your decision was not
    recorded", of the decision that was. It says they recorded it (200); another decision
    of theirs, or anyone else's, is still refused with who decided it."""
    admin = make_state_admin("MH")
    step = state_step(application_with_state(nodal_officer=officer))
    client = signed_in(admin)
    url = f"/onboarding/queue/{step.pk}/"
    assert client.post(url, {"decision": "approve", "confirm": "on"}).status_code == 302
    again = client.post(url, {"decision": "approve", "confirm": "on"})
    text = page(again).squashed_text()
    assert again.status_code == 200
    assert "You already recorded this decision on application" in text
    assert text.count(": Approved.") == 1  # what the decision did, not the form's "Approve"
    assert "not recorded" not in text
    other = client.post(url, {"decision": "reject", "remarks": "Wrong office.", "confirm": "on"})
    assert other.status_code == 409 and f"already decided by {admin.email}" in page(other).squashed_text()
    assert ": Approved. Your decision was not recorded." in page(other).squashed_text()
    someone = signed_in(make_state_admin("MH", email="second.admin@maharashtra.gov.in"))
    refused = someone.post(url, {"decision": "approve", "confirm": "on"})
    assert refused.status_code == 409 and "Your decision was not recorded" in page(refused).squashed_text()
    step.refresh_from_db()
    assert step.decision == Decision.APPROVE and step.decided_by == admin


def test_a_decided_or_closed_step_opened_says_what_happened_not_that_a_decision_was_refused(officer):
    """An administrator opens a step from their mail or a queue page left open after another
    decided it, or after the application was withdrawn: the page says who decided (or that it
    was withdrawn), not "Your decision was not recorded" of a decision they never sent; the
    one who decided reads that they recorded it, not that nothing was recorded a second time."""
    from onboarding.application.services import application_withdraw

    admin = make_state_admin("MH")
    step = state_step(application_with_state(nodal_officer=officer))
    services.step_decide(step_id=step.pk, decision="approve", actor=admin)
    url = f"/onboarding/queue/{step.pk}/"
    opened = signed_in(make_state_admin("MH", email="second.admin@maharashtra.gov.in")).get(url)
    text = page(opened).squashed_text()
    assert opened.status_code == 200 and f"was already decided by {admin.email}" in text
    assert ": Approved." in text and "not recorded" not in text
    own = page(signed_in(admin).get(url)).squashed_text()
    assert "You already recorded this decision on application" in own and "a second time" not in own

    withdrawn = application_with_state(nodal_officer=officer)
    application_withdraw(application_id=withdrawn.pk, actor=officer)
    text = page(signed_in(admin).get(f"/onboarding/queue/{state_step(withdrawn).pk}/")).squashed_text()
    assert "because the application was withdrawn." in text and "not recorded" not in text
    sent = signed_in(admin).post(f"/onboarding/queue/{state_step(withdrawn).pk}/", {"decision": "approve", "confirm": "on"})
    assert sent.status_code == 409
    assert "because the application was withdrawn. Your decision was not recorded." in page(sent).squashed_text()


def test_queue_pages_answer_only_their_methods(queue):
    client = signed_in(make_state_admin("MH"))
    assert client.post("/onboarding/queue/").status_code == 405
    assert client.generic("TRACE", "/onboarding/queue/").status_code == 405
    assert client.generic("TRACE", f"/onboarding/queue/{queue['recent'].pk}/").status_code == 405
    assert client.get("/onboarding/queue/?page=abc").status_code == 200
    assert client.get("/onboarding/queue/?page=999").status_code == 200


# MFA ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/onboarding/queue/", "/onboarding/", "/admin/", "/admin/onboarding/"])
def test_a_state_admin_without_totp_is_sent_to_set_it_up(path):
    admin = make_state_admin("MH", totp=False)
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    response = signed_in(admin).get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/2fa/totp/activate/?next={path.replace('/', '%2F')}"


@pytest.mark.parametrize("who", ["superadmin", "django_superuser"])
def test_superadmins_without_totp_are_sent_to_set_it_up(who):
    user = make_superadmin(totp=False) if who == "superadmin" else UserFactory(is_superuser=True, is_staff=True)
    for path in ("/onboarding/appeals/", "/admin/"):
        response = signed_in(user).get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/totp/activate/")


def test_staff_without_a_platform_role_are_sent_to_set_it_up():
    staff = UserFactory(is_staff=True)
    response = signed_in(staff).get("/admin/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/?next=%2Fadmin%2F"


def test_auditors_are_sent_to_set_up_a_second_factor():
    auditor = UserFactory()
    PlatformRoleFactory(user=auditor, role="auditor", jurisdiction="")
    response = signed_in(auditor).get("/onboarding/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/?next=%2Fonboarding%2F"
    with_totp(auditor)
    assert signed_in(auditor).get("/onboarding/").status_code == 200


def test_people_who_need_no_second_factor_are_not_asked():
    assert signed_in(UserFactory()).get("/onboarding/").status_code == 200


# Committed, as in use: allauth announces the new authenticator once its transaction commits, and
# the session that set it up with a code of it has then given the second factor (accounts.signals).
@TRANSACTIONAL
def test_setting_up_totp_through_allauth_then_signing_in_with_it_and_with_a_recovery_code():
    admin = make_state_admin("MH", email="ravi@maharashtra.gov.in", totp=False)
    client = Client()
    assert client.post("/accounts/login/", {"login": admin.email, "password": PASSWORD}).status_code == 302
    assert client.get("/onboarding/queue/")["Location"] == "/accounts/2fa/totp/activate/?next=%2Fonboarding%2Fqueue%2F"
    # allauth asks for the password again before adding an authenticator.
    response = client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/")
    response = client.post(response["Location"], {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/"
    setup = client.get("/accounts/2fa/totp/activate/")
    assert setup.status_code == 200
    secret = client.session["mfa.totp.secret"]
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=admin, type=Authenticator.Type.TOTP).exists()
    recovery = Authenticator.objects.get(user=admin, type=Authenticator.Type.RECOVERY_CODES)
    assert client.get("/onboarding/queue/").status_code == 200

    # Signing in again needs the code: the password alone does not sign in.
    fresh = Client()
    response = fresh.post("/accounts/login/", {"login": admin.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/"
    assert fresh.get("/onboarding/queue/")["Location"].startswith("/accounts/login/")
    assert fresh.post("/accounts/2fa/authenticate/", {"code": "000000"}).status_code == 200  # wrong code: form again
    assert fresh.get("/onboarding/queue/")["Location"].startswith("/accounts/login/")
    assert fresh.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}).status_code == 302
    assert fresh.get("/onboarding/queue/").status_code == 200

    with_code = Client()
    with_code.post("/accounts/login/", {"login": admin.email, "password": PASSWORD})
    code = RecoveryCodes(recovery).get_unused_codes()[0]
    assert with_code.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert with_code.get("/onboarding/queue/").status_code == 200
    assert code not in RecoveryCodes(Authenticator.objects.get(pk=recovery.pk)).get_unused_codes()


def test_the_django_admin_signs_in_through_allauth_and_its_second_factor():
    admin = make_state_admin("MH", email="staff.admin@maharashtra.gov.in", totp=False)
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    secret = with_totp(admin)
    anonymous = Client()
    response = anonymous.get("/admin/")
    assert response.status_code == 302 and response["Location"] == "/admin/login/?next=/admin/"
    response = anonymous.get(response["Location"])
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    # Posting the password to the admin's own form signs nobody in.
    assert anonymous.post("/admin/login/", {"username": admin.email, "password": PASSWORD}).status_code == 302
    assert anonymous.get("/admin/").status_code == 302
    client = Client()
    client.post("/accounts/login/", {"login": admin.email, "password": PASSWORD})
    assert client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_signed_in_user_cannot_use_the_admin_login_to_skip_a_staff_accounts_second_factor():
    victim = make_state_admin("MH", email="victim@maharashtra.gov.in")
    victim.is_staff = True
    victim.save(update_fields=["is_staff"])
    someone = UserFactory(email="someone@dept.gov.in")
    client = Client()
    client.post("/accounts/login/", {"login": someone.email, "password": PASSWORD})
    response = client.post("/admin/login/", {"username": victim.email, "password": PASSWORD})
    assert response.status_code == 403
    assert client.session["_auth_user_id"] == str(someone.pk)
    response = client.get("/admin/")  # still someone, who is not staff: back to the admin's sign-in
    assert response.status_code == 302 and response["Location"] == "/admin/login/?next=/admin/"


def test_queue_names_the_officer_from_the_form_without_loading_the_answers(django_assert_num_queries):
    now = timezone.now()
    application = ApplicationFactory(
        reference="ONB-2026-000020", jurisdiction="MH",
        data={"nodal_officer": {"name": "  Asha Kulkarni ", "designation": "Under Secretary"}, "organisation": {"x": "y" * 5000}},
    )
    ApprovalStepFactory(application=application, stage=Stage.STATE, opened_at=now, due_at=now + timedelta(days=10))
    client = signed_in(make_state_admin("MH"))
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/onboarding/queue/").content.decode()
    assert "Asha Kulkarni, Under Secretary" in html
    # Neither the page of steps nor the escalated ones load any application's answers: the
    # column is only read inside the JSON functions that take the officer's name out of it.
    whole_answers = re.compile(r'(?<!JSON_TYPE\()(?<!JSON_EXTRACT\()"onboarding_application"\."data",')
    ran = [prepared_text(q["sql"]) for q in queries.captured_queries]
    assert any("officer_form_name" in sql for sql in ran)  # the page's rows are among them
    assert not [sql for sql in ran if whole_answers.search(sql)]
    assert "yyyy" not in html


def waiting_at_the_state(rows):
    """Applications of one nodal officer waiting at the state stage, one per (reference,
    opened_at, due_at) in ``rows``, written at once (bulk_create of what the factories
    build): the rows the queue reads, without each application's first version and its
    officer's object permissions, which the queue does not read."""
    officer = UserFactory()
    applications = Application.objects.bulk_create(
        ApplicationFactory.build(nodal_officer=officer, reference=reference, jurisdiction="MH")
        for reference, _opened, _due in rows
    )
    ApprovalStep.objects.bulk_create(
        ApprovalStepFactory.build(application=application, stage=Stage.STATE, opened_at=opened, due_at=due)
        for application, (_reference, opened, due) in zip(applications, rows, strict=True)
    )


@pytest.mark.parametrize("page", ["1", "5"])
def test_far_queue_pages_are_the_earliest_due_after_the_earlier_pages(page):
    now = timezone.now()
    waiting_at_the_state([(f"ONB-2026-{i:06d}", now - timedelta(days=i), now + timedelta(minutes=10 - i))
                          for i in range(250)])
    html = signed_in(make_state_admin("MH")).get(f"/onboarding/queue/?page={page}").content.decode()
    start = 249 - (int(page) - 1) * 50
    assert queue_references(html) == [f"ONB-2026-{i:06d}" for i in range(start, start - 50, -1)]
    assert f"Page {page} of 5" in html


@pytest.mark.parametrize("per_page", [1, 7, 50])
def test_every_page_is_its_slice_of_the_queue_in_order(per_page, django_assert_num_queries):
    """The pages, taken one after the other, are the queue in its order (overdue first,
    then the oldest; the same age by id), whichever side of the overdue ones a page's
    first and last rows fall."""
    from onboarding.approval.selectors import state_queue_page

    now = timezone.now()
    ages = [3, 3, 9, 1, 5, 5, 5, 0, 12, 7, 2, 8, 8, 4, 6, 11, 10, 3, 1, 9]  # days since opened; ties on purpose
    for i, age in enumerate(ages):
        ApprovalStepFactory(application=ApplicationFactory(reference=f"ONB-2026-{i:06d}", jurisdiction="MH"),
                            stage=Stage.STATE, opened_at=now - timedelta(days=age),
                            due_at=now + timedelta(hours=1 if i % 3 else -1))  # every third one overdue
    admin = make_state_admin("MH")
    steps = ApprovalStep.objects.filter(stage=Stage.STATE, decision="")
    expected = [step.pk for step in sorted(steps, key=lambda step: (step.due_at > now, step.opened_at, step.pk))]
    assert len(expected) == len(ages)
    page = state_queue_page(admin, number=1, per_page=per_page, now=now)  # the roles read once
    seen = []
    pages = -(-len(ages) // per_page)
    overdue = sum(1 for step in steps if step.due_at <= now)
    for number in range(1, pages + 2):  # and one past the end: the last page again
        first = (min(number, pages) - 1) * per_page
        # The counts, then the page (the roles were read above): on PostgreSQL its ids and
        # rows in one statement; elsewhere the ids, then the rows, the ids of a page across
        # the end of the overdue steps in two queries where the database cannot slice the
        # parts of one UNION ALL (SQLite, the embedded default).
        across = first < overdue < first + per_page
        if connection.vendor == "postgresql":
            page_queries = 1
        else:
            page_queries = 1 + (2 if across and not connection.features.supports_slicing_ordering_in_compound else 1)
        with django_assert_num_queries(1 + page_queries):
            page = state_queue_page(admin, number=number, per_page=per_page, now=now)
        if number <= pages:
            seen += [row["pk"] for row in page.object_list]
        else:
            assert page.number == pages
    assert seen == expected


def test_the_queues_rows_kept_per_process_show_what_changed_and_the_pages_language(queue):
    """Each row's HTML is kept by every value it shows ({% memo step.key keep=N %}): a
    value changed in the database is a new row, and a row is kept per language."""
    client = signed_in(make_state_admin("MH"))
    before = client.get("/onboarding/queue/").content.decode()
    assert client.get("/onboarding/queue/").content.decode().split("<tbody>")[1] == before.split("<tbody>")[1]
    recent = queue["recent"]
    Application.objects.filter(pk=recent.application_id).update(
        organisation_name="Directorate of Sericulture", data={"nodal_officer": {"name": "Meera Joshi", "designation": "Director"}})

    def row():
        html = client.get("/onboarding/queue/").content.decode()
        return html, re.search(r"<tr[^>]*>\s*<td>ONB-2026-000010</td>.*?</tr>", html, flags=re.S)[0]

    after, changed = row()
    assert "Directorate of Sericulture" in changed and "Meera Joshi, Director" in changed
    assert 'class="table-danger"' not in changed and after.count('class="table-danger"') == 2
    ApprovalStep.objects.filter(pk=recent.pk).update(due_at=timezone.now() - timedelta(days=1))
    after, changed = row()
    assert 'class="table-danger"' in changed and after.count('class="table-danger"') == 3
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    hindi = client.get("/onboarding/queue/").content.decode()
    with translation.override("hi"):
        overdue, maharashtra = gettext("Overdue"), str(dict(JURISDICTION_CHOICES)["MH"])
    assert overdue != "Overdue" and maharashtra != "Maharashtra"
    table = hindi.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert table.count(overdue) == 3 and table.count(maharashtra) == 4
    assert "Overdue" not in table and "Maharashtra" not in table


def kept_counts():
    return dict(StateQueueCount.objects.exclude(waiting=0).values_list("jurisdiction", "waiting"))


def real_counts():
    return dict(ApprovalStep.objects.filter(stage=Stage.STATE, decision="").values("jurisdiction")
                .annotate(n=Count("pk")).values_list("jurisdiction", "n"))


def test_the_waiting_counts_the_trigger_keeps_follow_every_kind_of_write(require_postgresql, queue):
    """PostgreSQL: the queue's page numbers come from StateQueueCount, kept by a trigger on the
    steps; whatever writes them (a save, a bulk insert, an update of many, a delete), the
    counts are the steps' own."""
    assert kept_counts() == real_counts() == {"MH": 4, "KA": 1}
    now = timezone.now()
    waiting_at_the_state([(f"ONB-2026-0001{i:02d}", now - timedelta(days=i), now + timedelta(days=3)) for i in range(30)])
    assert kept_counts() == real_counts() == {"MH": 34, "KA": 1}
    step = queue["middle"]
    step.decision, step.decided_at = Decision.APPROVE, now
    step.save()
    ApprovalStep.objects.filter(pk=queue["recent"].pk).update(jurisdiction="KA")
    ApprovalStep.objects.filter(pk=queue["overdue_newer"].pk).update(remarks="Not a count of its own.")
    ApprovalStep.objects.filter(pk=queue["overdue_older"].pk).update(stage=Stage.APPEAL)
    ApprovalStep.objects.filter(application__reference__startswith="ONB-2026-00011").delete()
    assert kept_counts() == real_counts() == {"MH": 21, "KA": 2}
    # The pages agree: how many wait, every one of them on one page or the other, overdue first.
    admin = make_state_admin("MH")
    first, second = (state_queue_page(admin, number=n, per_page=20) for n in (1, 2))
    assert first.paginator.count == 21 and first.paginator.num_pages == 2 and len(second.object_list) == 1
    shown = [row["pk"] for row in [*first.object_list, *second.object_list]]
    assert sorted(shown) == sorted(ApprovalStep.objects.filter(stage=Stage.STATE, decision="", jurisdiction="MH")
                                   .values_list("pk", flat=True))
    assert shown[0] == queue["overdue_newer"].pk and first.object_list[0]["overdue"]
    assert signed_in(make_state_admin("KA")).get("/onboarding/queue/").content.decode().count('class="table-danger"') == 1


def test_the_queue_counts_in_one_query_whatever_the_viewer(require_postgresql, queue):
    for viewer, total, overdue in ((make_state_admin("MH"), 4, 2), (make_state_admin("KA"), 1, 1),
                                   (make_superadmin(), 5, 3)):
        page = state_queue_page(viewer, number=1, per_page=2)
        assert page.paginator.count == total, viewer
        assert sum(row["overdue"] for row in page.object_list) == min(overdue, 2)



def test_a_page_of_the_larger_part_of_one_jurisdiction_keeps_its_plan(require_postgresql):
    """The page's statement runs with its generic plan (planned once per connection) where
    every plan for it walks one index: one slice of one jurisdiction's steps (or of every
    jurisdiction's), of the larger part (here the 6 not overdue of 8); the overdue ones of a
    page, and a page of several jurisdictions, are left to PostgreSQL's choice."""
    now = timezone.now()
    for i in range(8):
        ApprovalStepFactory(application=ApplicationFactory(reference=f"ONB-2026-{i:06d}", jurisdiction="MH"),
                            stage=Stage.STATE, opened_at=now - timedelta(days=i),
                            due_at=now + timedelta(hours=-1 if i < 2 else 1))
    admin, superadmin, two_states = make_state_admin("MH"), make_superadmin(), make_state_admin("MH")
    PlatformRoleFactory(user=two_states, role="state_admin", jurisdiction="KA")

    def page(viewer, number):
        state_queue_page(viewer, number=number, per_page=2)  # the viewer's roles read
        with CaptureQueriesContext(connection) as captured:
            rows = state_queue_page(viewer, number=number, per_page=2).object_list
        [sql] = [q["sql"] for q in captured.captured_queries if "_queue_page_rows_query" in q["sql"]]
        return rows, sql.startswith("SET plan_cache_mode = force_generic_plan;")

    for viewer in (admin, superadmin):
        generic, custom = plans("_queue_page_rows_query$")
        for number in (2, 3, 4):  # the not overdue, from each end
            rows, forced = page(viewer, number)
            assert len(rows) == 2 and not any(row["overdue"] for row in rows) and forced
        assert plans("_queue_page_rows_query$") == (generic + 6, custom)
        rows, forced = page(viewer, 1)
        assert [row["overdue"] for row in rows] == [True, True] and not forced
    rows, forced = page(two_states, 2)
    assert len(rows) == 2 and not forced
