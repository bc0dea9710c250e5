"""The competent authority's link: random, stored as a hash, bound to its step
and address, expiring, single use; each kind of bad link has its own page; the
endpoint is rate limited; no input gives a 500."""

import base64
import re
import secrets
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from onboarding.application import services
from onboarding.approval import services as approvals
from onboarding.approval.deadlines import deadline_sweep
from onboarding.approval.tokens import LinkState, token_hash
from onboarding.models import ApplicationStatus, ApprovalStep, AuthorityToken, Decision, Stage
from onboarding.workflow import InvalidTransition
from portal.limits import minute_window
from portal.mail.models import OutboxMessage
from tests.factories import UserFactory, application_with_authority
from tests.html_tree import html_problems
from tests.onboarding.approval_helpers import (
    AUTHORITY_EMAIL,
    DEVANAGARI_RE,
    as_querydict,
    latest_link,
    make_state_admin,
    submitted_application,
)
from tests.onboarding_data import VALID

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache")]


@pytest.fixture
def link(officer):
    application_with_authority(nodal_officer=officer)
    return latest_link()


def page(response):
    return response.content.decode()


def assert_one_h1_and_title(html):
    assert html.count("<h1") == 1
    assert "<title>" in html


def test_tokens_are_256_random_bits_and_differ(officer):
    application_with_authority(nodal_officer=officer)
    _path, token = latest_link()
    assert len(token) == 43  # secrets.token_urlsafe(32): 32 random bytes
    # (LINK_RE only matches 43 characters, so the length alone could not fail: decode it.)
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    application = application_with_authority(nodal_officer=officer)
    other = ApprovalStep.objects.get(application=application)
    others = AuthorityToken.objects.filter(step=other)
    assert others.count() == 1 and others.get().token_hash != token_hash(token)


def test_unknown_link_has_its_own_page():
    response = Client().get(f"/onboarding/review/{secrets.token_urlsafe(32)}/")
    assert response.status_code == 404
    html = page(response)
    assert "This link is not valid" in html
    assert_one_h1_and_title(html)


@pytest.mark.parametrize("bad", [
    "x", "a" * 42, "a" * 44, "a" * 500, "%00%00", "..%2F..%2Fetc%2Fpasswd", "%F0%9F%92%A5" * 11,
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D", "' OR 1=1 --", "%E0%A4%85" * 43,
])
def test_malformed_token_strings_get_the_unknown_page_never_a_500(bad):
    client = Client(raise_request_exception=False)
    for suffix in ("", "done/", "letter/", "form.pdf"):
        response = client.get(f"/onboarding/review/{bad}/{suffix}")
        assert response.status_code == 404, (bad, suffix, response.status_code)
    response = client.post(f"/onboarding/review/{bad}/", {"decision": "approve", "confirm": "on"})
    assert response.status_code == 404


def test_expired_link_has_its_own_page(link, officer):
    path, _token = link
    # Seven days, or the end of the day the step is due if later (the first link's).
    with time_machine.travel(AuthorityToken.objects.get().expires_at + timedelta(minutes=1), tick=False):
        response = Client().get(path)
        assert response.status_code == 410
        html = page(response)
        assert "This link has expired" in html and officer.email in html
        # The request mail says not to reply to it (its sender reads nothing): the page
        # sends the authority to the nodal officer's own address instead.
        assert f"at {officer.email} to ask for a new link" in html and "reply" not in html
        assert "reply" not in page(Client().get("/onboarding/review/"))
        assert "reply" not in page(Client().get("/onboarding/review/" + "A" * 43 + "/"))
        assert_one_h1_and_title(html)
        # And it decides nothing.
        assert Client().post(path, {"decision": "approve", "confirm": "on"}).status_code == 410
    assert ApprovalStep.objects.get().decision == ""


def test_link_still_works_just_before_it_expires(link):
    path, _token = link
    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23), tick=False):
        assert Client().get(path, follow=True).status_code == 200


def test_used_link_has_its_own_page_and_decides_once(link):
    path, _token = link
    assert Client().post(path, {"decision": "return", "remarks": "Wrong PIN code."}).status_code == 302
    response = Client().get(path)
    assert response.status_code == 410
    html = page(response)
    assert "This link has already been used" in html
    # Anyone holding the email may open it: it says the link was used, not what was decided.
    assert "Return for correction" not in html and "Returned for correction" not in html and "Wrong PIN code." not in html
    assert_one_h1_and_title(html)
    second = Client().post(path, {"decision": "approve", "confirm": "on"})
    assert second.status_code == 410
    assert ApprovalStep.objects.get().decision == Decision.RETURN
    assert ApprovalStep.objects.count() == 1


@pytest.mark.parametrize("second", ["reminder", "resent"])
def test_every_link_of_a_decided_step_says_a_decision_was_recorded(link, officer, second):
    """The authority holds two links for one step: the reminder's (the first still works)
    or one the officer sent again (the first replaced). Once a decision is recorded with
    the second, the first says a decision was recorded, not that it was replaced (the
    newest link was the one used), in every language."""
    first_path, _token = link
    step = ApprovalStep.objects.get()
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    if second == "reminder":
        assert deadline_sweep(now=step.due_at - timedelta(days=1))["reminded"] == 1
    else:
        approvals.step_resend_authority_link(application_id=step.application_id, actor=officer)
    second_path, _token = latest_link()
    assert second_path != first_path
    assert Client().post(second_path, {"decision": "approve", "confirm": "on"}).status_code == 302
    step.refresh_from_db()
    assert step.decision == Decision.APPROVE
    first = Client()
    response = first.get(first_path, follow=True)
    assert response.status_code == 410
    html = page(response)
    assert "This link has already been used" in html and "has been replaced" not in html
    assert (f"A decision on application {step.application.reference} was recorded with another link sent for it: "
            "every link for it stopped working then.") in html
    assert "Approve" not in html  # anyone holding the email may open it: not what was decided
    assert_one_h1_and_title(html)
    first.post("/i18n/setlang/", {"language": "hi", "next": "/"})
    hindi = page(first.get(first_path)).split("<h1")[1]
    assert DEVANAGARI_RE.search(hindi) and "was recorded with another link" not in hindi
    assert Client().post(first_path, {"decision": "reject", "remarks": "No.", "confirm": "on"}).status_code == 410
    step.refresh_from_db()
    assert step.decision == Decision.APPROVE


def test_superseded_link_has_its_own_page(link, officer):
    path, token = link
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    application = ApprovalStep.objects.get().application
    approvals.step_resend_authority_link(application_id=application.pk, actor=officer)
    response = Client().get(path)
    assert response.status_code == 410
    html = page(response)
    assert "This link has been replaced" in html and "A newer link" in html
    assert_one_h1_and_title(html)
    assert Client().post(path, {"decision": "approve", "confirm": "on"}).status_code == 410
    new_path, new_token = latest_link()
    assert new_token != token
    assert Client().get(new_path, follow=True).status_code == 200


def test_link_is_bound_to_its_step():
    """A valid link of one application cannot decide another's step."""
    first_officer = UserFactory(email="officer.one@mahaagri.gov.in")
    second_officer = UserFactory(email="officer.two@mahaagri.gov.in")
    application_with_authority(nodal_officer=first_officer)
    _path, first_token = latest_link()
    second = application_with_authority(nodal_officer=second_officer)
    second_step = ApprovalStep.objects.get(application=second)
    with pytest.raises(approvals.LinkNotValid) as refused:
        approvals.step_decide(step_id=second_step.pk, decision="approve", token=first_token)
    assert refused.value.state == LinkState.UNKNOWN
    second_step.refresh_from_db()
    assert second_step.decision == ""


def test_link_is_bound_to_its_address(link, officer):
    """A link issued to one address stops working if the step's addressee is not that address."""
    path, token = link
    ApprovalStep.objects.update(assignee_email="someone.else@mahaagri.gov.in")
    response = Client().get(path)
    assert response.status_code == 410 and "no longer waiting" in page(response)
    step = ApprovalStep.objects.get()
    with pytest.raises(approvals.LinkNotValid) as refused:
        approvals.step_decide(step_id=step.pk, decision="approve", token=token)
    assert refused.value.state == LinkState.CLOSED


def test_changing_the_authority_after_a_return_sends_the_new_address_a_new_link(link, officer):
    path, _token = link
    Client().post(path, {"decision": "return", "remarks": "I am not the competent authority."})
    application = ApprovalStep.objects.get().application
    authority = dict(VALID["competent_authority"], official_email="secretary@mahaagri.gov.in", name="R. Kulkarni")
    services.application_save_section(application_id=application.pk, section="competent_authority",
                                      querydict=as_querydict(authority), actor=officer)
    services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    new_step = ApprovalStep.objects.filter(application=application).order_by("-id").first()
    assert new_step.assignee_email == "secretary@mahaagri.gov.in"
    new_path, _new_token = latest_link("secretary@mahaagri.gov.in")
    assert Client().get(new_path, follow=True).status_code == 200
    assert AuthorityToken.objects.get(step=new_step).email == "secretary@mahaagri.gov.in"


def test_return_and_reject_need_remarks_and_errors_are_tied_to_the_field(link):
    path, _token = link
    for decision in ("return", "reject"):
        response = Client().post(path, {"decision": decision, "remarks": "   "})
        assert response.status_code == 200
        html = page(response)
        assert 'id="id_remarks_error"' in html and "Give the reason for this decision." in html
        assert 'aria-invalid="true"' in html and 'aria-describedby="id_remarks_helptext id_remarks_error"' in html
        assert 'href="#id_remarks"' in html  # the error summary links to the field
    assert ApprovalStep.objects.get().decision == ""


@pytest.mark.parametrize("data", [{}, {"decision": "overturn"}, {"decision": "approve'--"}, {"decision": ""}])
def test_invalid_decisions_are_refused_with_a_message(link, data):
    path, _token = link
    response = Client().post(path, data)
    assert response.status_code == 200
    assert "Choose a decision." in page(response)
    assert ApprovalStep.objects.get().decision == ""
    # The error summary's link leads to the first choice (a fieldset takes no focus: it left
    # the keyboard on the page's body), as every page's check now says.
    assert 'href="#id_decision_0"' in page(response)
    assert html_problems(response.content.decode()) == []


def test_decision_service_refuses_a_decision_that_does_not_exist_for_the_stage(link):
    _path, token = link
    step = ApprovalStep.objects.get()
    with pytest.raises(InvalidTransition):
        approvals.step_decide(step_id=step.pk, decision="overturn", token=token)
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=step.pk, decision="no-such-decision", token=token)
    assert refused.value.message_dict == {"decision": ["Choose a decision."]}
    step.refresh_from_db()
    assert step.decision == ""


def test_double_submit_of_the_decision_records_one(link):
    path, _token = link
    client = Client()
    first = client.post(path, {"decision": "approve", "confirm": "on"})
    second = client.post(path, {"decision": "approve", "confirm": "on"})
    assert first.status_code == 302 and second.status_code == 410
    assert ApprovalStep.objects.filter(stage=Stage.AUTHORITY).get().decision == Decision.APPROVE
    assert ApprovalStep.objects.filter(stage=Stage.STATE).count() == 1
    assert ApprovalStep.objects.get(stage=Stage.AUTHORITY).application.status == ApplicationStatus.WITH_STATE


def test_methods_are_restricted(link):
    path, _token = link
    client = Client()
    for method in ("put", "delete", "patch", "trace"):
        assert getattr(client, method)(path).status_code == 405
    client.get(path)  # the link, kept in the session; its pages have addresses without the token
    for method in ("put", "delete", "patch", "trace"):
        assert getattr(client, method)("/onboarding/review/").status_code == 405
    assert client.post("/onboarding/review/done/").status_code == 405
    assert client.post("/onboarding/review/letter/").status_code == 405
    assert client.post("/onboarding/review/form.pdf").status_code == 405


def test_the_review_page_serves_the_letter_and_the_pdf_and_not_after_use(link):
    path, _token = link
    client = Client()
    client.get(path)  # the link, kept in the session
    letter = client.get("/onboarding/review/letter/")
    assert letter.status_code == 200 and b"".join(letter.streaming_content).startswith(b"%PDF")
    form = client.get("/onboarding/review/form.pdf")
    assert form.status_code == 200 and b"".join(form.streaming_content).startswith(b"%PDF")
    assert form["Referrer-Policy"] == "no-referrer" and "no-store" in form["Cache-Control"]
    client.post("/onboarding/review/", {"decision": "approve", "confirm": "on"})
    assert client.get("/onboarding/review/letter/").status_code == 410
    assert client.get("/onboarding/review/form.pdf").status_code == 410


def test_done_page_only_after_a_decision(link):
    path, _token = link
    client = Client()
    client.get(path)  # the link, kept in the session
    response = client.get("/onboarding/review/done/")
    assert response.status_code == 302 and response["Location"] == "/onboarding/review/"


def test_the_token_endpoint_is_rate_limited(link, settings):
    settings.ONBOARDING_TOKEN_RATE_PER_MINUTE = 5
    path, _token = link
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [attacker.get(f"/onboarding/review/{secrets.token_urlsafe(32)}/").status_code for _ in range(5)]
    assert statuses == [404] * 5
    blocked = attacker.get(path)
    assert blocked.status_code == 429 and blocked["Retry-After"] == "60"
    html = page(blocked)
    assert "Too many requests" in html
    assert_one_h1_and_title(html)
    assert attacker.post(path, {"decision": "approve", "confirm": "on"}).status_code == 429
    assert ApprovalStep.objects.get().decision == ""
    # Other addresses are not affected, and the limit lifts after the window.
    assert Client(REMOTE_ADDR="198.51.100.7").get(path, follow=True).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):
        assert attacker.get(path, follow=True).status_code == 200


def test_a_token_that_names_no_link_leaves_no_counter_of_its_own(link):
    """Each token sent in a link's path had a counter of its own in the shared cache, whether
    it named a link or not, and even once the client's address was over its limit: a key
    for every value anyone sends. Only the client's address is counted until the token is
    found; a link that is found is counted as before."""
    path, token = link
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    guesses = [secrets.token_urlsafe(32) for _ in range(3)]
    with time_machine.travel(timezone.now(), tick=False):
        window = minute_window(timezone.now().timestamp())
        assert [guesser.get(f"/onboarding/review/{guess}/").status_code for guess in guesses] == [404] * 3
        assert [cache.get(f"ratelimit:authority-link:link:{token_hash(guess)[:32]}:{window}") for guess in guesses] \
            == [None] * 3
        assert guesser.get(path).status_code == 302
        assert cache.get(f"ratelimit:authority-link:link:{token_hash(token)[:32]}:{window}") == 1


def test_confirmation_on_screen_and_by_email(link):
    path, _token = link
    client = Client(REMOTE_ADDR="10.9.8.7", HTTP_USER_AGENT="Test UA")
    response = client.post(path, {"decision": "reject", "remarks": "Not our office.", "confirm": "on"}, follow=True)
    html = page(response)
    assert response.status_code == 200 and "Your decision was recorded" in html and "Not our office." in html
    assert_one_h1_and_title(html)
    # What the decision did, not the form's action ("Reject").
    assert ": Rejected, recorded on " in html
    confirmation = [m for m in OutboxMessage.objects.all() if AUTHORITY_EMAIL in m.to and "was recorded" in m.subject]
    assert len(confirmation) == 1
    assert "Not our office." in confirmation[0].body and "10.9.8.7" in confirmation[0].body
    assert re.search(r"was recorded on [^\n]*: Rejected\.", confirmation[0].body)


def test_each_open_page_decides_and_serves_its_own_application():
    """An authority of two offices opens both links, one a tab; back on the first page,
    the decision and the documents are the first application's, not those of the link
    opened last (the session used to keep only the last link)."""
    first = application_with_authority(reference="ONB-FIRST")
    path_first, _ = latest_link()
    second = application_with_authority(reference="ONB-SECOND")
    path_second, _ = latest_link()
    client = Client()
    page_first = page(client.get(path_first, follow=True))
    assert "ONB-FIRST" in page_first
    assert "ONB-SECOND" in page(client.get(path_second, follow=True))
    step_first = ApprovalStep.objects.get(application=first, stage=Stage.AUTHORITY)
    assert f'name="step" value="{step_first.pk}"' in page_first
    assert f'href="/onboarding/review/{step_first.pk}/form.pdf"' in page_first
    assert client.get(f"/onboarding/review/{step_first.pk}/form.pdf").status_code == 200
    assert "ONB-FIRST" in page(client.get(f"/onboarding/review/?step={step_first.pk}"))

    response = client.post("/onboarding/review/", {"step": step_first.pk, "decision": "reject",
                                                   "remarks": "Not one of our offices.", "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == "/onboarding/review/done/"
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (ApplicationStatus.REJECTED, ApplicationStatus.WITH_AUTHORITY)

    # A decision that names no application, with two links open, decides nothing; a step
    # this browser holds no link for, or a value that is no step, neither.
    for data in ({}, {"step": "99999999"}, {"step": "x\x00"}, {"step": "9" * 40}):
        response = client.post("/onboarding/review/", {**data, "decision": "approve", "remarks": ""})
        assert response.status_code == 404, data
    second.refresh_from_db()
    assert second.status == ApplicationStatus.WITH_AUTHORITY
    assert Client().get(f"/onboarding/review/{step_first.pk}/letter/").status_code == 404


def test_a_links_page_reloaded_after_another_link_was_opened_is_still_its_own_application():
    """The authority of two offices opens link A, then link B in another tab. Reloading tab A,
    or switching its language (whose "next" is the tab's address), showed application B, the
    link opened last: the link sent the browser to a page naming no step."""
    application_with_authority(reference="ONB-FIRST")
    path_first, _ = latest_link()
    application_with_authority(reference="ONB-SECOND")
    path_second, _ = latest_link()
    browser = Client()
    opened = browser.get(path_first, follow=True)
    [(tab_a, _status)] = opened.redirect_chain
    assert "ONB-FIRST" in page(opened)
    assert "ONB-SECOND" in page(browser.get(path_second, follow=True))
    again = page(browser.get(tab_a))
    assert "ONB-FIRST" in again and "ONB-SECOND" not in again
    switched = page(browser.post("/i18n/setlang/", {"language": "hi", "next": tab_a}, follow=True))
    assert "ONB-FIRST" in switched and "ONB-SECOND" not in switched


def test_opening_a_link_gives_the_browser_a_new_session_key():
    """The link's hash in the session lets that session decide: as signing in does, opening it
    gives the session a new key, so a session id planted in the authority's browser beforehand
    (a cookie set from a neighbouring host) does not let whoever planted it decide."""
    application = application_with_authority()
    path, _token = latest_link()
    attacker = Client()
    attacker.get("/onboarding/review/")
    attacker.session.save()
    planted = attacker.session.session_key
    authority = Client()
    authority.cookies[settings.SESSION_COOKIE_NAME] = planted
    assert authority.get(path).status_code == 302
    assert authority.cookies[settings.SESSION_COOKIE_NAME].value != planted
    step = ApprovalStep.objects.get(application=application)
    response = attacker.post("/onboarding/review/", {"step": step.pk, "decision": "reject", "remarks": "No.",
                                                     "confirm": "on"})
    assert response.status_code == 404
    step.refresh_from_db()
    assert step.decision == ""
    assert "Decision on application" in page(authority.get(f"/onboarding/review/?step={step.pk}"))


def test_a_used_link_of_an_application_withdrawn_since_says_nothing_waits(officer):
    """The authority returned the application with its link; the officer sent it back corrected
    (a new link went to the authority) and then withdrew it. The first link's page sent the
    authority to "the link in the most recent email", which the withdrawal had ended."""
    application = submitted_application(officer)
    path, _token = latest_link()
    assert Client().post(path, {"decision": "return", "remarks": "Give the number of users.",
                                "confirm": "on"}).status_code == 302
    services.application_submit(application_id=application.pk, actor=officer, reply="Corrected as asked.")
    newest, _ = latest_link()
    services.application_withdraw(application_id=application.pk, actor=officer, reason="Not needed")
    assert "withdrew application" in page(Client().get(newest, follow=True))
    html = page(Client().get(path, follow=True))
    assert f"The nodal officer withdrew application {application.reference}. No decision is needed from you." in html
    assert "Use the link in the most recent email" not in html and "you will receive a new email" not in html


@pytest.mark.parametrize("by", ["the retention run", "a state administrator for the officer"])
def test_a_used_link_of_an_application_withdrawn_by_someone_else_says_who(officer, by):
    """Returned and never corrected, then withdrawn by the retention run, or, the officer's
    account closed, by a state administrator on their behalf: no step was open to close, and
    the used link's page said the nodal officer withdrew it. Who did is read from the
    withdrawal's audit row."""
    application = submitted_application(officer)
    path, _token = latest_link()
    assert Client().post(path, {"decision": "return", "remarks": "Give the number of users.",
                                "confirm": "on"}).status_code == 302
    if by == "the retention run":
        assert services.applications_withdraw_not_corrected(application_ids=[application.pk]) == [application.pk]
        said = (f"Application {application.reference} was withdrawn by the portal: it was returned for correction "
                "and not corrected in time. No decision is needed from you.")
    else:
        officer.is_active = False
        officer.save(update_fields=["is_active"])
        services.application_withdraw(application_id=application.pk, actor=make_state_admin("MH"), reason="Left")
        said = (f"Application {application.reference} was withdrawn on behalf of its nodal officer, who can no longer "
                "act on it. No decision is needed from you.")
    html = page(Client().get(path, follow=True))
    assert said in html and "The nodal officer withdrew application" not in html


def test_competent_authoritys_remarks_survive_a_session_that_ended(officer):
    """The authority has no account: its session holds only the link. When it ends while
    they read and type, what they typed waits for the link opened again (once), and
    nothing is decided until they send it again."""
    submitted_application(officer)
    browser = Client()
    review = browser.get(latest_link()[0], follow=True).redirect_chain[-1][0]
    html = browser.get(review).content.decode()
    step = re.search(r'name="step" value="(\d+)"', html).group(1)
    remarks = "Annexure B is unsigned; the district code in section 2 is wrong. Please correct both."
    browser.cookies.pop("sessionid")  # 8 hours reading the application: the session ended
    response = browser.post(review, {"step": step, "decision": "return", "remarks": remarks},
                            HTTP_REFERER=f"http://testserver{review}")
    assert response.status_code == 404
    assert "What you typed is kept in this browser" in page(response)
    assert ApprovalStep.objects.get(pk=step).decision == ""  # nothing decided without sending it again

    again = browser.get(latest_link()[0], follow=True)
    html = page(again)
    assert again.status_code == 200 and remarks in html
    assert "Your session had ended. We kept what you typed: check it and send it again." in html
    assert re.search(r'<input type="radio" name="decision" value="return"[^>]*\bchecked\b', html)
    assert "Give the reason for this decision." not in html and 'aria-invalid="true"' not in html  # not bound
    assert ApprovalStep.objects.get(pk=step).decision == ""

    once = page(browser.get(latest_link()[0], follow=True))  # shown once
    assert remarks not in once and "We kept what you typed" not in once
    assert not re.search(r'<input type="radio" name="decision" value="return"[^>]*\bchecked\b', once)


@pytest.mark.parametrize("ended", ["expired", "replaced"])
def test_competent_authoritys_remarks_survive_a_link_that_ended_while_they_typed(officer, ended):
    """The link the page was opened with expired, or the officer sent a newer one, while
    the authority typed: the step still waits for them, so what they typed waits for the
    step's page opened from the new link (once), and the page of the old link says so."""
    application = submitted_application(officer)
    browser = Client()
    review = browser.get(latest_link()[0], follow=True).redirect_chain[-1][0]
    step = ApprovalStep.objects.get(stage=Stage.AUTHORITY).pk
    remarks = "Annexure B is unsigned; the district code in section 2 is wrong."
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    if ended == "expired":
        AuthorityToken.objects.update(expires_at=timezone.now())
    else:
        approvals.step_resend_authority_link(application_id=application.pk, actor=officer)
    response = browser.post(review, {"step": step, "decision": "return", "remarks": remarks})
    assert response.status_code == 410
    heading = "This link has expired" if ended == "expired" else "This link has been replaced"
    assert heading in page(response)
    assert ("What you typed is kept in this browser: it will be in the form when you open the new link from your "
            "email.") in page(response)
    assert ApprovalStep.objects.get(pk=step).decision == ""  # nothing decided without sending it again
    if ended == "expired":
        approvals.step_resend_authority_link(application_id=application.pk, actor=officer)

    html = page(browser.get(latest_link()[0], follow=True))
    assert remarks in html and "We kept what you typed: check it and send it again." in html
    assert re.search(r'<input type="radio" name="decision" value="return"[^>]*\bchecked\b', html)
    assert ApprovalStep.objects.get(pk=step).decision == ""
    assert remarks not in page(browser.get(latest_link()[0], follow=True))  # shown once


@pytest.mark.parametrize("posted_to", ["page", "link"])
def test_competent_authoritys_remarks_survive_a_decision_refused_by_the_rate_limit(officer, settings, posted_to):
    """Others behind the same office address used the minute up as the authority sends its
    decision: the 429 page says what was typed is kept, and the step's page opened again a
    minute later shows it (once); nothing is decided without sending it again."""
    submitted_application(officer)
    step = ApprovalStep.objects.get(stage=Stage.AUTHORITY).pk
    path, _token = latest_link()
    browser = Client()
    browser.get(path)  # the link goes into the session
    assert browser.get(f"/onboarding/review/?step={step}").status_code == 200
    settings.ONBOARDING_TOKEN_RATE_PER_MINUTE = 2
    remarks = "Attach the revised letter signed by the Secretary; the domain list misses mahaagri.gov.in."
    response = browser.post("/onboarding/review/" if posted_to == "page" else path,
                            {"step": str(step), "decision": "return", "remarks": remarks})
    assert response.status_code == 429
    assert ("What you typed is kept in this browser: it will be in the form when you open this page again in a "
            "minute.") in page(response)
    assert ApprovalStep.objects.get(pk=step).decision == ""
    settings.ONBOARDING_TOKEN_RATE_PER_MINUTE = 1000
    cache.clear()  # a minute later
    html = page(browser.get(f"/onboarding/review/?step={step}"))
    assert remarks in html and "We kept what you typed when you were asked to wait: check it and send it again." in html
    assert "Your session had ended" not in html
    assert re.search(r'<input type="radio" name="decision" value="return"[^>]*\bchecked\b', html)
    assert remarks not in page(browser.get(f"/onboarding/review/?step={step}"))  # shown once
    assert ApprovalStep.objects.get(pk=step).decision == ""


def test_remarks_posted_with_the_link_of_a_withdrawn_application_are_not_kept(officer):
    application = submitted_application(officer)
    browser = Client()
    review = browser.get(latest_link()[0], follow=True).redirect_chain[-1][0]
    step = ApprovalStep.objects.get(stage=Stage.AUTHORITY).pk
    services.application_withdraw(application_id=application.pk, actor=officer)
    response = browser.post(review, {"step": step, "decision": "return", "remarks": "Fix section 2."})
    assert response.status_code == 410 and "What you typed is kept" not in page(response)
    assert "onboarding_review_kept" not in browser.session


def test_only_the_decision_and_remarks_are_kept_for_the_step_named_and_bounded(officer):
    submitted_application(officer)
    browser = Client()
    review = browser.get(latest_link()[0], follow=True).redirect_chain[-1][0]
    step = ApprovalStep.objects.get(stage=Stage.AUTHORITY).pk
    browser.cookies.pop("sessionid")
    response = browser.post(review, {"step": step, "decision": "reject", "remarks": "x" * 70_000, "other": "y"})
    assert response.status_code == 404 and "What you typed is kept" not in page(response)
    response = browser.post(review, {"step": step + 1, "decision": "reject", "remarks": "Not ours.", "other": "y"})
    assert response.status_code == 404 and "What you typed is kept" in page(response)
    assert browser.session["onboarding_review_kept"] == {"step": str(step + 1), "input": {"decision": ["reject"], "remarks": ["Not ours."]}}
    html = page(browser.get(latest_link()[0], follow=True))  # another step's link: not shown there
    assert "Not ours." not in html and "We kept what you typed" not in html


SECOND_LANGUAGE_LINK_RE = re.compile(r"https?://[^\s/]+(/onboarding/review/[A-Za-z0-9_-]{43}/)(\S*)")


@pytest.mark.parametrize("jurisdiction, language", [("MH", "mr"), ("KA", "hi")])
def test_each_half_of_the_authoritys_mails_opens_the_review_page_in_its_own_language(officer, jurisdiction, language):
    """The competent authority has no account, and the portal knows no language of theirs:
    the request (and the reminder) is in English and then Marathi or Hindi, each half with
    its link. The second half's link says its language; opened in a browser that asks for
    English (an office computer), it opens the page in that language, sets it as the
    language switch does, and leaves the address without the marker, so the page's own
    switch still changes it. A marker that is not one of the portal's languages is
    ignored, and none of them changes which link it is."""
    step = ApprovalStep.objects.get(application=application_with_authority(nodal_officer=officer,
                                                                         jurisdiction=jurisdiction))
    AuthorityToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    assert deadline_sweep(now=step.due_at - timedelta(days=1))["reminded"] == 1
    request, reminder = [m.body for m in OutboxMessage.objects.order_by("id") if AUTHORITY_EMAIL in m.to]
    for body in (request, reminder):
        english, _sep, second = body.partition("\n----------\n")
        [(english_path, english_query)] = SECOND_LANGUAGE_LINK_RE.findall(english)
        [(path, query)] = SECOND_LANGUAGE_LINK_RE.findall(second)
        assert path == english_path and english_query == "" and query == f"?language={language}"

        browser = Client(HTTP_ACCEPT_LANGUAGE="en-IN,en;q=0.9")
        response = browser.get(path + query)
        assert response.status_code == 302 and response["Location"] == path
        assert response["Cache-Control"].startswith("max-age=0") and response["Referrer-Policy"] == "no-referrer"
        assert browser.cookies[settings.LANGUAGE_COOKIE_NAME].value == language
        response = browser.get(path, follow=True)
        assert response.status_code == 200 and response.redirect_chain == [(f"/onboarding/review/?step={step.pk}", 302)]
        html = page(response)
        assert f'<html lang="{language}"' in html and response["Content-Language"] == language
        switched = browser.post("/i18n/setlang/", {"language": "en", "next": "/onboarding/review/"}, follow=True)
        assert '<html lang="en"' in page(switched)
        # The English half's link opens the page in the language the browser asks for.
        assert '<html lang="en"' in page(Client(HTTP_ACCEPT_LANGUAGE="en").get(english_path, follow=True))

    for marker in ("xx", "EN", "hi-IN", "mr&language=hi", ""):
        browser = Client(HTTP_ACCEPT_LANGUAGE="en")
        response = browser.get(path, {"language": marker}, follow=True)
        assert response.status_code == 200 and '<html lang="en"' in page(response), marker
        assert settings.LANGUAGE_COOKIE_NAME not in browser.cookies
    # A link that does not work says so in the language of the half it was in.
    unknown = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/onboarding/review/{secrets.token_urlsafe(32)}/",
                                                     {"language": language}, follow=True)
    assert unknown.status_code == 404 and f'<html lang="{language}"' in page(unknown)
    assert ApprovalStep.objects.get().decision == ""


# A link's mail still waiting for the relay -------------------------------------------------------

def _delivered_to(smtp_server, address):
    from tests.smtp import text_of

    return [(str(m["Subject"]), text_of(m)) for m in smtp_server.messages if m["To"].addresses[0].addr_spec == address]


def test_a_link_mail_still_waiting_for_the_relay_is_not_delivered_once_its_link_was_replaced(
        officer, smtp_server, django_capture_on_commit_callbacks):
    """The relay was down when the link went out and when the officer asked for a new one:
    once it is back, the authority gets the new link only, not a mail whose link answers
    that it was replaced."""
    from portal.mail.delivery import outbox_deliver_due
    from tests.onboarding.approval_helpers import LINK_RE

    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        application = application_with_authority(nodal_officer=officer)
    authority = application.steps.get().assignee_email
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            approvals.step_resend_authority_link(application_id=application.pk, actor=officer)
    smtp_server.start()
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        outbox_deliver_due()
    [(_subject, body)] = [(s, b) for s, b in _delivered_to(smtp_server, authority) if LINK_RE.search(b)]
    path = LINK_RE.search(body).group(1)
    assert Client().get(path, follow=True).status_code == 200
    assert AuthorityToken.objects.get(token_hash=token_hash(path.rstrip("/").rsplit("/", 1)[1])).superseded_at is None


def test_a_link_mail_still_waiting_for_the_relay_is_not_delivered_once_the_application_was_withdrawn(
        officer, smtp_server, django_capture_on_commit_callbacks):
    from onboarding.application.services import application_withdraw
    from portal.mail.delivery import outbox_deliver_due
    from tests.onboarding.approval_helpers import LINK_RE

    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        application = application_with_authority(nodal_officer=officer)
    authority = application.steps.get().assignee_email
    with django_capture_on_commit_callbacks(execute=True):
        application_withdraw(application_id=application.pk, actor=officer)
    smtp_server.start()
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        outbox_deliver_due()
    delivered = _delivered_to(smtp_server, authority)
    assert not [subject for subject, body in delivered if LINK_RE.search(body)]
    assert [subject for subject, _body in delivered if "withdrawn" in subject]
    # Kept on the outbox page as not sent, saying why, without the link that worked as a key.
    [kept] = OutboxMessage.objects.filter(topic=f"authority_link:{application.pk}")
    assert (kept.status, kept.last_error.startswith("Not sent: what it said no longer held")) == ("failed", True)
    assert not LINK_RE.search(kept.body) and kept.links_removed


def test_a_reminder_still_waiting_for_the_relay_is_not_delivered_once_the_authority_decided(
        officer, smtp_server, django_capture_on_commit_callbacks):
    from portal.mail.delivery import outbox_deliver_due
    from tests.onboarding.approval_helpers import LINK_RE

    with django_capture_on_commit_callbacks(execute=True):
        application = application_with_authority(nodal_officer=officer)
    step = application.steps.get()
    [(_subject, body)] = _delivered_to(smtp_server, step.assignee_email)
    smtp_server.stop()
    with time_machine.travel(step.due_at - timedelta(days=1)):
        with django_capture_on_commit_callbacks(execute=True):
            assert deadline_sweep()["reminded"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert Client().post(LINK_RE.search(body).group(1), {"decision": "approve", "confirm": "on"}).status_code == 302
    smtp_server.start()
    with time_machine.travel(step.due_at):
        outbox_deliver_due()
    [first] = [subject for subject, body in _delivered_to(smtp_server, step.assignee_email) if LINK_RE.search(body)]
    assert "reminder" not in first.lower() and "Decision needed" in first  # the first request only
