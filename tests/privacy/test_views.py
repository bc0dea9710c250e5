"""The superadmins' retention and legal-hold pages: who may see them, audited
changes through them, errors at their fields, and constant query counts."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from onboarding.models import Application
from portal.audit.models import AuditAction, AuditEvent
from portal.privacy.models import LegalHold, RetentionMark, RetentionPolicy, RetentionRun
from tests.factories import PASSWORD, ApplicationFactory, UserFactory
from tests.html_tree import field_container, field_error, field_value, parse, printed_controls, printed_text
from tests.onboarding.approval_helpers import make_superadmin, second_factor_given

pytestmark = pytest.mark.django_db


@pytest.fixture
def root():
    return make_superadmin(email="root@sandes.nic.in")


@pytest.fixture
def root_client(root):
    client = Client()
    assert client.login(email=root.email, password=PASSWORD)
    second_factor_given(client, root)
    return client


@pytest.mark.parametrize("url", ["/portal/privacy/retention/", "/portal/privacy/holds/"])
def test_only_superadmins_see_the_pages(url, root_client):
    someone = Client()
    someone.login(email=UserFactory(email="someone@mha.gov.in").email, password=PASSWORD)
    assert someone.get(url).status_code == 403
    assert Client().get(url).status_code == 302
    response = root_client.get(url)
    assert response.status_code == 200 and response.content.count(b"<h1") == 1


def test_a_policy_saved_from_the_page_is_audited(root_client, root):
    response = root_client.post("/portal/privacy/retention/", {
        "kind": "closed_application", "closed_application-days": "400", "closed_application-grace_days": "0",
        "closed_application-enabled": "on"})
    assert response.status_code == 302
    assert RetentionPolicy.objects.get(kind="closed_application").days == 400
    event = AuditEvent.objects.get(action=AuditAction.RETENTION_POLICY_CHANGED)
    assert (event.actor_id, event.old_values["days"], event.new_values["days"]) == (root.pk, 1095, 400)


@pytest.mark.parametrize(("days", "message"), [
    ("5", b"Ensure this value is greater than or equal to 30."),
    ("abc", b"Enter a whole number."),
    ("99999999999999999999", b"Ensure this value is less than or equal to 3650."),
])
def test_a_bad_number_is_refused_at_its_field_and_kept(root_client, days, message):
    response = root_client.post("/portal/privacy/retention/", {
        "kind": "unused_account", "unused_account-days": days, "unused_account-grace_days": "0"})
    assert response.status_code == 200 and message in response.content
    assert f'value="{days}"'.encode() in response.content
    assert RetentionPolicy.objects.get(kind="unused_account").days == 365
    assert not AuditEvent.objects.filter(action=AuditAction.RETENTION_POLICY_CHANGED).exists()


@pytest.mark.parametrize(("language", "message"), [
    ("en", "Give at least 1 day between the reminder and the erasure."),
    ("hi", "अनुस्मारक और मिटाने के बीच कम से कम 1 दिन दें।"),
    ("mr", "स्मरणपत्र आणि पुसणे यांमध्ये किमान 1 दिवस द्या."),
])
def test_no_day_between_a_drafts_reminder_and_its_erasure_is_refused_at_its_field(root_client, language, message):
    root_client.cookies["django_language"] = language
    response = root_client.post("/portal/privacy/retention/", {
        "kind": "draft_application", "draft_application-days": "200", "draft_application-grace_days": "0",
        "draft_application-enabled": "on"})
    assert response.status_code == 200
    page = parse(response.content)
    assert field_error(page, "draft_application-grace_days") == message
    assert field_value(page, "draft_application-days") == "200"
    assert RetentionPolicy.objects.get(kind="draft_application").grace_days == 30
    assert not AuditEvent.objects.filter(action=AuditAction.RETENTION_POLICY_CHANGED).exists()


def closed_days_warning(response):
    """The advice shown at the closed applications' "Days kept" (not an error)."""
    section = parse(response.content).find("section", **{"aria-labelledby": "policy-closed_application"})
    return [node.squashed_text() for node in field_container(section, "days").find_all(class_="field-warning")]


@pytest.mark.parametrize(("language", "warning"), [
    ("en", "The data protection notice nodal officers accept promises to keep a rejected or withdrawn application "
           "for three years (1,095 days)."),
    ("hi", "नोडल अधिकारी जिस डेटा संरक्षण सूचना को स्वीकार करते हैं, वह अस्वीकृत या वापस लिए गए आवेदन को तीन वर्ष "
           "(1,095 दिन) तक रखने का वचन देती है।"),
    ("mr", "नोडल अधिकारी स्वीकारतात ती डेटा संरक्षण सूचना नामंजूर झालेला किंवा मागे घेतलेला अर्ज तीन वर्षे "
           "(1,095 दिवस) ठेवण्याचे वचन देते."),
])
def test_keeping_closed_applications_less_than_the_notice_promises_is_saved_with_a_warning_at_the_field(
        root_client, language, warning):
    """The built-in notice promises three years: a superadmin may keep closed applications
    for less (a new published notice may say so), and is told at the field what the notice
    promises; the policy is saved all the same. Kept for three years or more: no warning."""
    root_client.cookies["django_language"] = language
    assert closed_days_warning(root_client.get("/portal/privacy/retention/")) == []
    response = root_client.post("/portal/privacy/retention/", {
        "kind": "closed_application", "closed_application-days": "1094", "closed_application-grace_days": "0",
        "closed_application-enabled": "on"})
    assert response.status_code == 302
    assert RetentionPolicy.objects.get(kind="closed_application").days == 1094
    assert closed_days_warning(root_client.get("/portal/privacy/retention/")) == [warning]
    refused = root_client.post("/portal/privacy/retention/", {  # another error: the warning is there too
        "kind": "closed_application", "closed_application-days": "400", "closed_application-grace_days": "999",
        "closed_application-enabled": "on"})
    assert refused.status_code == 200 and closed_days_warning(refused) == [warning]
    assert root_client.post("/portal/privacy/retention/", {
        "kind": "closed_application", "closed_application-days": "1095", "closed_application-grace_days": "0",
        "closed_application-enabled": "on"}).status_code == 302
    assert closed_days_warning(root_client.get("/portal/privacy/retention/")) == []


@pytest.mark.parametrize(("kind", "warning"), [
    ("draft_application", "The data protection notice nodal officers accept promises that an application never sent "
                          "for a decision is erased only after it has not been touched for six months (180 days)."),
    ("returned_application", "The data protection notice nodal officers accept promises that an application returned "
                             "for correction is withdrawn only after it has not been touched for six months (180 days)."),
])
def test_drafts_and_returned_applications_left_less_than_the_six_months_the_notice_promises_are_warned(
        root_client, kind, warning):
    """Notice 2026.1.2 promises six months untouched before a draft is erased, or a returned
    application withdrawn: a shorter policy is saved, with the promise recalled at its field."""
    def days_warning(response):
        section = parse(response.content).find("section", **{"aria-labelledby": f"policy-{kind}"})
        return [node.squashed_text() for node in field_container(section, "days").find_all(class_="field-warning")]

    assert days_warning(root_client.get("/portal/privacy/retention/")) == []
    response = root_client.post("/portal/privacy/retention/", {
        "kind": kind, f"{kind}-days": "60", f"{kind}-grace_days": "30", f"{kind}-enabled": "on", f"{kind}-confirm": "on"})
    assert response.status_code == 302
    assert RetentionPolicy.objects.get(kind=kind).days == 60
    assert days_warning(root_client.get("/portal/privacy/retention/")) == [warning]
    root_client.cookies["django_language"] = "hi"
    [hindi] = days_warning(root_client.get("/portal/privacy/retention/"))
    assert "छह महीने" in hindi and "(180 दिन)" in hindi


@pytest.mark.parametrize(("kind", "label"), [
    ("draft_application", "Days untouched before the reminder"),
    ("returned_application", "Days untouched before the reminder"),
    ("closed_application", "Days kept"),
])
def test_each_policys_days_are_labelled_as_what_they_are(root_client, kind, label):
    """A draft or a returned application is reminded once left for the policy's days, then
    erased or withdrawn the grace days later: its days are not how long it is kept."""
    section = parse(root_client.get("/portal/privacy/retention/").content).find(
        "section", **{"aria-labelledby": f"policy-{kind}"})
    assert field_container(section, "days").find("label").squashed_text() == f"{label} *"  # * required


def test_a_printed_release_of_a_legal_hold_shows_which_hold_without_its_form(root_client):
    """On paper the page says which hold is released and why it was set; its reason and
    button act on nothing there and stay off it."""
    application = ApplicationFactory()
    root_client.post("/portal/privacy/holds/", {
        "target_type": "onboarding.application", "target_id": str(application.pk), "reason": "Court case 12/2026"})
    hold = LegalHold.objects.get()
    for response in (root_client.get(f"/portal/privacy/holds/{hold.pk}/release/"),
                     root_client.post(f"/portal/privacy/holds/{hold.pk}/release/", {"reason": ""})):
        tree = parse(response.content)
        assert printed_controls(tree) == []
        assert "Release a legal hold" in printed_text(tree) and "Court case 12/2026" in printed_text(tree)


def test_a_hold_set_and_released_from_the_pages(root_client, root):
    application = ApplicationFactory()
    response = root_client.post("/portal/privacy/holds/", {
        "target_type": "onboarding.application", "target_id": str(application.pk), "reason": "Court case 12/2026"})
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert (hold.target_id, hold.reason, hold.set_by) == (application.pk, "Court case 12/2026", root)
    # The same record again: refused at the field.
    again = root_client.post("/portal/privacy/holds/", {
        "target_type": "onboarding.application", "target_id": str(application.pk), "reason": "Again"})
    assert again.status_code == 200 and b"This record is already held." in again.content
    empty = root_client.post(f"/portal/privacy/holds/{hold.pk}/release/", {"reason": ""})
    assert empty.status_code == 200 and b"This field is required." in empty.content
    assert root_client.post(f"/portal/privacy/holds/{hold.pk}/release/", {"reason": "Case closed"}).status_code == 302
    hold.refresh_from_db()
    assert hold.released_at is not None and hold.release_reason == "Case closed"
    assert [e.action for e in AuditEvent.objects.filter(target_type="privacy.legalhold")] == [
        AuditAction.LEGAL_HOLD_SET, AuditAction.LEGAL_HOLD_RELEASED]
    assert root_client.get(f"/portal/privacy/holds/{hold.pk}/release/").status_code == 404


def test_releasing_a_hold_released_meanwhile_keeps_the_reason_and_says_who_released_it(root_client, root):
    """The release page was left open while another superadmin released the hold: the form
    comes back with the reason typed, saying by whom and when it was released; nothing
    more is recorded."""
    from portal.privacy.retention import legal_hold_release, legal_hold_set  # noqa: PLC0415

    other = make_superadmin(email="other@sandes.nic.in")
    hold = legal_hold_set(target_type="accounts.user", target_id=root.pk, reason="Court case", actor=root)
    assert root_client.get(f"/portal/privacy/holds/{hold.pk}/release/").status_code == 200
    legal_hold_release(hold_id=hold.pk, reason="Case closed", actor=other)
    response = root_client.post(f"/portal/privacy/holds/{hold.pk}/release/", {"reason": "Judgment of 3 Dec"})
    assert response.status_code == 200, response.status_code
    tree = parse(response.content)
    assert field_value(tree, "reason") == "Judgment of 3 Dec"
    html = response.content.decode()
    assert "This hold was released already, by other@sandes.nic.in on" in html and "was not recorded" in html
    hold.refresh_from_db()
    assert (hold.released_by, hold.release_reason) == (other, "Case closed")
    assert AuditEvent.objects.filter(action=AuditAction.LEGAL_HOLD_RELEASED).count() == 1
    assert [f for f in tree.find_all("form") if f.get("action") is None] == []  # the release is not offered again


def test_ones_own_release_sent_again_is_said_done_not_refused(root_client, root):
    """The release posted twice (a double click without JavaScript, Back and send again):
    the second answer said "released already, by <them> ... Your reason was not recorded"
    and offered the release form again. It leads to the holds, saying they released it, with
    the reason that stands; nothing more is recorded."""
    from django.contrib.messages import get_messages  # noqa: PLC0415

    from portal.privacy.retention import legal_hold_set  # noqa: PLC0415

    hold = legal_hold_set(target_type="accounts.user", target_id=UserFactory().pk, reason="Court case", actor=root)
    url = f"/portal/privacy/holds/{hold.pk}/release/"
    assert root_client.post(url, {"reason": "The case was closed."}).status_code == 302
    root_client.get("/portal/privacy/holds/")  # the first answer's message read
    for reason in ("The case was closed.", "Closed"):
        again = root_client.post(url, {"reason": reason})
        assert again.status_code == 302 and again["Location"] == "/portal/privacy/holds/"
        said = [str(m) for m in get_messages(again.wsgi_request)]
        assert len(said) == 1 and said[0].startswith("You already released this hold on ")
        assert said[0].endswith(": The case was closed.")
        root_client.get("/portal/privacy/holds/")
    hold.refresh_from_db()
    assert (hold.released_by, hold.release_reason) == (root, "The case was closed.")
    assert AuditEvent.objects.filter(action=AuditAction.LEGAL_HOLD_RELEASED).count() == 1


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_a_hold_on_a_record_that_does_not_exist_is_refused_at_the_record_number(root, language):
    """A mistyped number would hold nothing while the page said the record is held."""
    from django.utils import translation  # noqa: PLC0415

    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(root)
    second_factor_given(client, root)
    for target_type in ("onboarding.application", "accounts.user", "verification.governmentprofile"):
        response = client.post("/portal/privacy/holds/", {
            "target_type": target_type, "target_id": "987654", "reason": "Court case 12/2026"})
        assert response.status_code == 200, (target_type, response.status_code)
        tree = parse(response.content)
        with translation.override(language):
            assert field_error(tree, "target_id") == translation.gettext("No such record.")
        assert field_value(tree, "reason") == "Court case 12/2026"
    assert not LegalHold.objects.exists()


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_latest_retention_runs_name_each_kind_in_the_readers_language(root_client, language):
    """The runs' counts by kind name each kind as the policies above do (RetentionKind's
    label, translated), not by its stored code ("closed_application")."""
    from django.utils import translation

    from portal.privacy.models import RetentionKind

    RetentionRun.objects.create(started_at=timezone.now(), finished_at=timezone.now(), counts={
        "closed_application": {"reminded": 0, "erased": 2, "audit_events_redacted": 1}})
    root_client.cookies["django_language"] = language
    tree = parse(root_client.get("/portal/privacy/retention/", HTTP_ACCEPT_LANGUAGE=language).content)
    cells = [cell.squashed_text() for cell in tree.find("tbody").find_all("td")]
    with translation.override(language):
        label = str(RetentionKind.CLOSED_APPLICATION.label)
    assert (language == "en") == (label == "Withdrawn and finally rejected applications")
    assert cells[1:] == [label, "0", "2", "1"], cells


@pytest.mark.parametrize("size", [1, 8])
def test_the_pages_take_constant_queries(root_client, root, size, django_assert_num_queries):
    now = timezone.now()
    for i in range(size):
        RetentionRun.objects.create(started_at=now, finished_at=now, counts={"unused_account": {
            "reminded": 0, "erased": i, "audit_events_redacted": 0}})
        LegalHold.objects.create(target_type="accounts.user", target_id=i + 1, reason="r", set_at=now, set_by=root)
        LegalHold.objects.create(target_type="onboarding.application", target_id=i + 1, reason="r", set_at=now,
                                 set_by=root, released_at=now, released_by=root, release_reason="done")
    # The same at 1 and at 8 runs and holds: the session, the user with what the access rule, the layout and
    # the MFA middleware read (one query),
    # then the policies and the latest runs (the holds page: the active holds and the latest released).
    with django_assert_num_queries(RETENTION_QUERIES):
        assert root_client.get("/portal/privacy/retention/").status_code == 200
    with django_assert_num_queries(HOLDS_QUERIES):
        assert root_client.get("/portal/privacy/holds/").status_code == 200


RETENTION_QUERIES = 4
HOLDS_QUERIES = 4


@pytest.mark.parametrize("language", ["hi", "mr"])
def test_the_breach_forms_address_is_refused_in_the_persons_language_and_kept(root, language):
    from django.utils import translation

    from tests.html_tree import field_error, field_value, page

    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(root)
    second_factor_given(client, root)
    response = client.get("/portal/privacy/breach/", {"start": "2026-01-01 10:00", "end": "2026-01-02 10:00",
                                                      "ip": "999.1.1.1", "actor": "", "second_language": "hi"})
    assert response.status_code == 200
    tree = page(response)
    with translation.override(language):
        expected = translation.gettext("Enter a valid %(protocol)s address.") % {
            "protocol": translation.gettext("IPv4 or IPv6")}
    assert field_error(tree, "ip") == expected
    assert "valid" not in expected and " or " not in expected
    assert field_value(tree, "ip") == "999.1.1.1"


@pytest.mark.parametrize(("language", "start", "end"), [("en", "From", "To"), ("hi", "से", "तक"),
                                                      ("mr", "पासून", "पर्यंत")])
def test_the_breach_reports_period_is_labelled_as_a_period(root, language, start, end):
    """Not with the word that heads a letter's addressee ("प्रति"), which "To" is elsewhere."""
    from tests.html_tree import page

    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(root)
    second_factor_given(client, root)
    tree = page(client.get("/portal/privacy/breach/"))
    labels = {label.get("for"): label.squashed_text() for label in tree.find_all("label")}
    assert (labels["id_start"], labels["id_end"]) == (f"{start} *", f"{end} *")


def _unused_accounts(count, joined_days_ago, prefix="never"):
    """Accounts never signed in, with no confirmed address, made ``joined_days_ago`` days ago:
    what the unused-account policy erases once they are older than its days."""
    joined = timezone.now() - timedelta(days=joined_days_ago)
    users = [UserFactory(email=f"{prefix}{index}@example.com", verified=False) for index in range(count)]
    get_user_model().objects.filter(pk__in=[user.pk for user in users]).update(date_joined=joined, last_login=None)
    return users


@pytest.mark.parametrize(("language", "words"), [("en", "erases or reduces"), ("hi", "मिटा या घटा देगा"),
                                                ("mr", "पुसेल किंवा")])
def test_the_number_of_records_to_erase_is_grouped_as_every_figure_is(root_client, language, words):
    """The count the confirmation names reads as the portal's other figures do, in every language:
    "1,200", not "1200" on a Hindi or Marathi page."""
    joined = timezone.now() - timedelta(days=100)
    get_user_model().objects.bulk_create(
        get_user_model()(email=f"never{index}@example.com", date_joined=joined) for index in range(1_200))
    root_client.cookies["django_language"] = language
    response = root_client.post("/portal/privacy/retention/", {
        "kind": "unused_account", "unused_account-days": "90", "unused_account-grace_days": "0",
        "unused_account-enabled": "on"})
    message = field_error(parse(response.content.decode()), "unused_account-confirm")
    assert words in message and "1,200" in message and "1200" not in message, message


def test_a_shorter_keeping_time_that_would_erase_records_asks_to_confirm_with_their_number(root_client, root):
    _unused_accounts(2, joined_days_ago=100)
    posted = {"kind": "unused_account", "unused_account-days": "90", "unused_account-grace_days": "0",
              "unused_account-enabled": "on"}
    response = root_client.post("/portal/privacy/retention/", posted)
    assert response.status_code == 200
    html = response.content.decode()
    assert ("With these settings the next daily run erases or reduces 2 records that are kept now. "
            "Tick the box to save them.") in html
    assert 'name="unused_account-confirm"' in html and 'aria-invalid="true"' in html
    assert 'name="unused_account-days" value="90"' in html  # what was typed is kept
    assert RetentionPolicy.objects.get(kind="unused_account").days == 365
    assert not AuditEvent.objects.filter(action=AuditAction.RETENTION_POLICY_CHANGED).exists()

    response = root_client.post("/portal/privacy/retention/",
                                {**posted, "unused_account-confirm": "on", "confirmed_for": asked_for(response)})
    assert response.status_code == 302
    assert RetentionPolicy.objects.get(kind="unused_account").days == 90


def asked_for(response):
    """What the page asked to confirm (the hidden input of the form it asks in), sent back with the box."""
    return parse(response.content.decode()).find("input", name="confirmed_for").get("value")


def test_a_confirmation_is_for_the_settings_and_the_number_the_page_said(root_client):
    """The superadmin is told that 90 days erases 2 records, ticks the box and changes the days to 30
    before saving: 22 records would be erased, a number never shown. Asked again with it, the box
    unticked, nothing saved; and a box ticked at the first post, before any number was said, is no
    confirmation either."""
    _unused_accounts(2, joined_days_ago=100)
    _unused_accounts(20, joined_days_ago=40, prefix="recent")
    posted = {"kind": "unused_account", "unused_account-days": "90", "unused_account-grace_days": "0",
              "unused_account-enabled": "on"}
    asked = root_client.post("/portal/privacy/retention/", {**posted, "unused_account-confirm": "on"})
    assert asked.status_code == 200 and b"erases or reduces 2 records that are kept now" in asked.content
    sent = root_client.post("/portal/privacy/retention/", {**posted, "unused_account-days": "30",
                                                           "unused_account-confirm": "on",
                                                           "confirmed_for": asked_for(asked)})
    assert sent.status_code == 200
    tree = parse(sent.content.decode())
    assert field_error(tree, "unused_account-confirm").startswith(
        "With these settings the next daily run erases or reduces 22 records that are kept now.")
    assert (field_value(tree, "unused_account-days"), field_value(tree, "unused_account-confirm")) == ("30", False)
    assert RetentionPolicy.objects.get(kind="unused_account").days == 365
    assert root_client.post("/portal/privacy/retention/", {
        **posted, "unused_account-days": "30", "unused_account-confirm": "on",
        "confirmed_for": asked_for(sent)}).status_code == 302
    assert RetentionPolicy.objects.get(kind="unused_account").days == 30


def test_a_confirmation_refused_as_changed_meanwhile_is_sent_again_as_shown(root_client):
    """Asked to confirm 2 records, the superadmin ticks the box; another superadmin changed the policy
    meanwhile: the page says so, the box still ticked for the same settings and number, and saving
    the page as shown saves (not asked a third time)."""
    _unused_accounts(2, joined_days_ago=100)

    def hidden(response, name):
        section = parse(response.content.decode()).find("section", **{"aria-labelledby": "policy-unused_account"})
        return section.find("input", name=name).get("value")

    opened = root_client.get("/portal/privacy/retention/")
    posted = {"kind": "unused_account", "unused_account-days": "90", "unused_account-grace_days": "0",
              "unused_account-enabled": "on", "shown_values": hidden(opened, "shown_values")}
    asked = root_client.post("/portal/privacy/retention/", posted)
    RetentionPolicy.objects.filter(kind="unused_account").update(days=400)  # another superadmin, meanwhile
    changed = root_client.post("/portal/privacy/retention/", {**posted, "unused_account-confirm": "on",
                                                              "confirmed_for": hidden(asked, "confirmed_for")})
    assert changed.status_code == 200
    assert field_value(parse(changed.content.decode()), "unused_account-confirm") is True
    saved = root_client.post("/portal/privacy/retention/", {
        **posted, "unused_account-confirm": "on", "shown_values": hidden(changed, "shown_values"),
        "confirmed_for": hidden(changed, "confirmed_for")})
    assert saved.status_code == 302
    assert RetentionPolicy.objects.get(kind="unused_account").days == 90


def test_switching_a_policy_on_that_would_erase_records_asks_to_confirm(root_client):
    RetentionPolicy.objects.filter(kind="unused_account").delete()
    RetentionPolicy.objects.create(kind="unused_account", days=365, grace_days=0, enabled=False)
    _unused_accounts(1, joined_days_ago=400)
    posted = {"kind": "unused_account", "unused_account-days": "365", "unused_account-grace_days": "0",
              "unused_account-enabled": "on"}
    response = root_client.post("/portal/privacy/retention/", posted)
    assert response.status_code == 200
    assert b"erases or reduces 1 record that is kept now" in response.content
    assert RetentionPolicy.objects.get(kind="unused_account").enabled is False


def test_a_change_that_makes_nothing_more_due_saves_without_asking(root_client):
    _unused_accounts(1, joined_days_ago=100)  # kept at 365 days and at 300
    response = root_client.post("/portal/privacy/retention/", {
        "kind": "unused_account", "unused_account-days": "300", "unused_account-grace_days": "0",
        "unused_account-enabled": "on"})
    assert response.status_code == 302
    assert RetentionPolicy.objects.get(kind="unused_account").days == 300
    response = root_client.get("/portal/privacy/retention/")
    assert b"unused_account-confirm" not in response.content


def test_a_change_that_makes_other_drafts_due_asks_even_when_as_many_stop_being_due(root_client):
    """A longer keeping time with a shorter grace: one draft stops being due, another becomes
    due. The one that becomes due is what the superadmin confirms (not the difference of
    the two numbers, 0 here), and nothing is saved without the tick."""
    now = timezone.now()
    RetentionPolicy.objects.filter(kind="draft_application").update(days=180, grace_days=30, enabled=True)
    for untouched, reminded in ((190, 40), (250, 5)):  # due now / kept now (reminded 5 days ago)
        application = ApplicationFactory(status="draft", submitted_at=None)
        Application.objects.filter(pk=application.pk).update(updated_at=now - timedelta(days=untouched))
        RetentionMark.objects.create(kind="draft_application", target_id=application.pk,
                                     reminded_at=now - timedelta(days=reminded))
    posted = {"kind": "draft_application", "draft_application-days": "200", "draft_application-grace_days": "1",
              "draft_application-enabled": "on"}
    response = root_client.post("/portal/privacy/retention/", posted)
    assert response.status_code == 200, response.status_code
    assert b"erases or reduces 1 record that is kept now" in response.content
    policy = RetentionPolicy.objects.get(kind="draft_application")
    assert (policy.days, policy.grace_days) == (180, 30)
    response = root_client.post("/portal/privacy/retention/", {**posted, "draft_application-confirm": "on",
                                                               "confirmed_for": asked_for(response)})
    assert response.status_code == 302
    assert RetentionPolicy.objects.get(kind="draft_application").days == 200


def test_the_returned_applications_policy_says_they_are_withdrawn_not_erased(root_client):
    """An application returned for correction and left is withdrawn after its reminder:
    the policy's form says so, and a shorter grace that makes one due asks to confirm its
    withdrawal, with its number."""
    now = timezone.now()
    application = ApplicationFactory(status="changes_requested")
    Application.objects.filter(pk=application.pk).update(updated_at=now - timedelta(days=250))
    RetentionMark.objects.create(kind="returned_application", target_id=application.pk,
                                 reminded_at=now - timedelta(days=10))
    tree = parse(root_client.get("/portal/privacy/retention/").content.decode())
    label = tree.find("label", **{"for": "id_returned_application-grace_days"})
    assert label.squashed_text().startswith("Days between the reminder and the withdrawal")
    assert tree.find("label", **{"for": "id_draft_application-grace_days"}).squashed_text().startswith(
        "Days between the reminder and the erasure")
    posted = {"kind": "returned_application", "returned_application-days": "180",
              "returned_application-grace_days": "5", "returned_application-enabled": "on"}
    response = root_client.post("/portal/privacy/retention/", posted)
    assert response.status_code == 200
    html = response.content.decode()
    assert ("With these settings the next daily run withdraws 1 application returned for correction that is open "
            "now. Tick the box to save them.") in html
    assert "I understand that these applications will be withdrawn, which cannot be undone" in html
    assert RetentionPolicy.objects.get(kind="returned_application").grace_days == 30
    response = root_client.post("/portal/privacy/retention/", {**posted, "returned_application-confirm": "on",
                                                               "confirmed_for": asked_for(response)})
    assert response.status_code == 302
    assert RetentionPolicy.objects.get(kind="returned_application").grace_days == 5


def _release_effects(response):
    section = parse(response.content).find("section", id="release-effects")
    return " ".join(section.squashed_text().split()) if section is not None else ""


def _held_four_years_on(root):
    """A withdrawn application closed four years ago held by a hold on it, and a draft of its nodal
    officer untouched as long, held by a hold on the officer: the two holds."""
    from portal.privacy.retention import legal_hold_set  # noqa: PLC0415

    old = timezone.now() - timedelta(days=4 * 365)
    closed = ApplicationFactory(status="withdrawn", closed_at=old)
    draft = ApplicationFactory(status="draft", nodal_officer=closed.nodal_officer)
    Application.objects.filter(pk=draft.pk).update(updated_at=old)
    on_application = legal_hold_set(target_type="onboarding.application", target_id=closed.pk, reason="Court case",
                                    actor=root)
    on_person = legal_hold_set(target_type="accounts.user", target_id=closed.nodal_officer_id, reason="Inquiry",
                               actor=root)
    return on_application, on_person


def test_the_release_page_says_what_the_next_run_erases_once_the_hold_ends(root_client, root):
    """A withdrawn application held past the three years the closed applications are kept:
    released, the next daily run reduces it. The release page says so before the release,
    which is refused at a box until it is ticked (the reason kept); a draft of the same
    nodal officer, held by a hold on them, would get its reminder and be erased from the
    day it names; a record another hold still covers is not listed."""
    on_application, on_person = _held_four_years_on(root)

    url = f"/portal/privacy/holds/{on_application.pk}/release/"
    said = _release_effects(root_client.get(url))
    assert "Nothing it holds is past its retention time now" in said, said  # the hold on the person still covers it
    assert root_client.post(url, {"reason": "Case closed"}).status_code == 302

    url = f"/portal/privacy/holds/{on_person.pk}/release/"
    # The next daily run (02:00 in India) is tonight's before it, tomorrow night's after it:
    # the reminder that run sends names the day 30 days after its own. Read on yesterday's
    # clock in India: both hours are past whenever the test runs (today's 10:00 is hours ahead
    # at night, past the eight hours the superadmin's session, made now, lasts).
    today = timezone.localdate() - timedelta(days=1)
    for hour, erase_on in ((1, today + timedelta(days=30)), (10, today + timedelta(days=31))):
        with time_machine.travel(timezone.make_aware(datetime.combine(today, time(hour))), tick=False):
            said = _release_effects(root_client.get(url))
        assert ("Withdrawn and finally rejected applications: 1 record is past its retention time: the next daily "
                "run reduces it to what the policy keeps.") in said, said
        assert ("Draft applications left untouched: 1 record is past its retention time: the next daily run sends "
                f"its reminder, and erases it from {erase_on:%-d %B %Y} unless it is saved meanwhile.") in said, said
    response = root_client.post(url, {"reason": "Inquiry closed"})
    assert response.status_code == 200
    tree = parse(response.content)
    assert field_error(tree, "confirm") == "Tick the box to release the hold all the same."
    assert field_value(tree, "reason") == "Inquiry closed"
    assert LegalHold.objects.get(pk=on_person.pk).released_at is None
    assert root_client.post(url, {"reason": "Inquiry closed", "confirm": "on",
                                  "effects_shown": effects_shown(response)}).status_code == 302
    assert LegalHold.objects.get(pk=on_person.pk).released_at is not None


def effects_shown(response):
    """What the release page listed (its hidden input), sent back with the box."""
    return parse(response.content).find("input", name="effects_shown").get("value")


def test_a_release_confirmed_for_what_the_page_listed_is_not_taken_when_it_now_acts_on_more(root_client, root):
    """The page of a hold on a nodal officer lists their draft only; another superadmin then releases
    a hold on their old withdrawn application. The box ticked for the list shown releases nothing:
    the page lists both now, says why at the box (unticked), the reason kept."""
    from portal.privacy.retention import legal_hold_release  # noqa: PLC0415

    on_application, on_person = _held_four_years_on(root)
    url = f"/portal/privacy/holds/{on_person.pk}/release/"
    shown = root_client.get(url)
    assert "Draft applications left untouched" in _release_effects(shown)
    assert "Withdrawn and finally rejected applications" not in _release_effects(shown)
    legal_hold_release(hold_id=on_application.pk, actor=make_superadmin(email="root2@sandes.nic.in"), reason="Done")
    sent = root_client.post(url, {"reason": "Inquiry closed", "confirm": "on", "effects_shown": effects_shown(shown)})
    assert sent.status_code == 200
    tree = parse(sent.content)
    assert field_error(tree, "confirm").startswith("Nothing was released: since this page was opened, what the next "
                                                   "daily run does once the hold ends changed.")
    assert (field_value(tree, "reason"), field_value(tree, "confirm")) == ("Inquiry closed", False)
    assert "Withdrawn and finally rejected applications" in _release_effects(sent)
    assert LegalHold.objects.get(pk=on_person.pk).released_at is None
    assert root_client.post(url, {"reason": "Inquiry closed", "confirm": "on",
                                  "effects_shown": effects_shown(sent)}).status_code == 302


def test_the_release_page_names_the_day_the_reminder_of_the_next_run_names():
    """Read at 10:00 in India, the release page says the next daily run (02:00 the next night)
    reminds the held officer's draft and erases it from a day: the day the reminder that run
    sends names (it said one day earlier: 30 days from the day the page was read)."""
    import re  # noqa: PLC0415

    from portal.privacy.retention import legal_hold_set, retention_run  # noqa: PLC0415
    from tests.onboarding.approval_helpers import messages_to  # noqa: PLC0415

    india = ZoneInfo("Asia/Kolkata")
    with time_machine.travel(datetime(2026, 12, 6, 10, 0, tzinfo=india), tick=False):
        root = make_superadmin(email="root@sandes.nic.in")
        client = Client()
        client.force_login(root)
        second_factor_given(client, root)
        draft = ApplicationFactory(status="draft", reference=None, submitted_at=None)
        Application.objects.filter(pk=draft.pk).update(updated_at=timezone.now() - timedelta(days=400))
        hold = legal_hold_set(target_type="accounts.user", target_id=draft.nodal_officer_id, reason="Inquiry", actor=root)
        url = f"/portal/privacy/holds/{hold.pk}/release/"
        shown = client.get(url)
        page_day = re.search(r"erases it from (\d+ \w+ \d{4})", _release_effects(shown))[1]
        assert client.post(url, {"reason": "Inquiry closed", "confirm": "on",
                                 "effects_shown": effects_shown(shown)}).status_code == 302
    with time_machine.travel(datetime(2026, 12, 7, 2, 0, tzinfo=india), tick=False):  # the crontab's run
        assert retention_run().counts["draft_application"]["reminded"] == 1
    [mail] = messages_to(draft.nodal_officer.email)
    assert page_day == "6 January 2027" == re.search(r"before (\d+ \w+ \d{4})", mail.body)[1]


@pytest.mark.parametrize("language, words", [("hi", "प्रतिधारण"), ("mr", "जतन")])
def test_the_release_page_says_it_in_the_superadmins_language(root_client, root, language, words):
    from portal.privacy.retention import legal_hold_set  # noqa: PLC0415

    closed = ApplicationFactory(status="rejected_final", closed_at=timezone.now() - timedelta(days=4 * 365))
    hold = legal_hold_set(target_type="onboarding.application", target_id=closed.pk, reason="Court case", actor=root)
    root_client.post("/i18n/setlang/", {"language": language, "next": "/"})
    said = _release_effects(root_client.get(f"/portal/privacy/holds/{hold.pk}/release/"))
    assert "1" in said and words in said and "past its retention" not in said, said


def test_a_printed_breach_report_shows_its_query_and_findings_without_its_button(root_client):
    """On paper the report's query says what the findings are of (its values are printed); the
    button that asks again acts on nothing there and stays off it."""
    response = root_client.get("/portal/privacy/breach/", {
        "start": "2026-01-01 10:00", "end": "2026-01-02 10:00", "ip": "203.0.113.9", "actor": "",
        "second_language": "hi"})
    printed = printed_controls(parse(response.content))
    assert "input ip=203.0.113.9" in printed and "input start=2026-01-01 10:00" in printed
    assert not [control for control in printed if control.startswith("button")]


def test_a_printed_copy_of_ones_data_shows_it_without_the_forms_that_act():
    """On paper the page shows the person's name and nominee as recorded; the request for
    erasure or correction (a blank form) and every button act on nothing there and stay off it."""
    person = UserFactory(email="asha@mha.gov.in", full_name="Asha K")
    client = Client()
    client.force_login(person)
    tree = parse(client.get("/privacy/my-data/").content)
    printed = printed_controls(tree)
    assert "input full_name=Asha K" in printed
    assert not [control for control in printed if control.startswith("button") or control.startswith("select")]
    assert "Ask for erasure or a correction" not in printed_text(tree)
    assert "Your personal data" in printed_text(tree)


@pytest.mark.parametrize("language", ["hi", "mr"])
def test_the_retention_runs_counts_are_grouped_as_every_other_count(language):
    now = timezone.now()
    RetentionRun.objects.create(started_at=now, finished_at=now, counts={
        "unused_account": {"reminded": 2300, "erased": 12500, "audit_events_redacted": 125000}})
    root = make_superadmin(email="anita.rao@nic.in")
    client = Client()
    client.force_login(root)
    second_factor_given(client, root)
    client.cookies["django_language"] = language
    html = client.get("/portal/privacy/retention/").content.decode()
    assert [cell.squashed_text() for cell in parse(html).find_all("td")][-3:] == ["2,300", "12,500", "1,25,000"]


@pytest.mark.parametrize("language", ["hi", "mr"])
def test_the_breach_reports_english_draft_is_marked_english(language):
    """The draft to the Board and CERT-In is English whatever the page's language: a screen
    reader read it as Hindi or Marathi."""
    from urllib.parse import urlencode

    now = timezone.localtime()
    query = urlencode({"start": f"{now - timedelta(days=1):%Y-%m-%d %H:%M}",
                       "end": f"{now + timedelta(hours=1):%Y-%m-%d %H:%M}", "actor": "", "ip": "",
                       "second_language": language})
    root = make_superadmin(email="anita.rao@nic.in")
    client = Client()
    client.force_login(root)
    second_factor_given(client, root)
    client.cookies["django_language"] = language
    html = client.get(f"/portal/privacy/breach/?{query}").content.decode()
    assert f'<html lang="{language}">' in html and "Period of the breach" in html
    assert parse(html).by_id("draft-report").get("lang") == "en"


def test_a_retention_page_left_open_does_not_switch_on_again_a_policy_switched_off_meanwhile(root_client):
    """A superadmin opens the page (closed applications reduced: on); another switches that
    policy off; the first, from the page opened before, changes only its days: the save wrote
    the three values the page sent, switching it on again, unseen. It is now refused, what is
    stored said at the field, what was typed kept; saved at the next save."""
    from portal.privacy.retention import retention_policy_update

    kind = "closed_application"
    opened = parse(root_client.get("/portal/privacy/retention/").content.decode())
    form = next(f for f in opened.find_all("form")
                if any(n.get("name") == "kind" and n.get("value") == kind for n in f.iter()))
    sent = {n.get("name"): n.get("value", "") for n in form.iter()
            if n.tag == "input" and n.get("type") in ("hidden", "number", "text") and n.get("name")}
    assert sent[f"{kind}-days"] == "1095" and any(n.get("name") == f"{kind}-enabled" for n in form.iter())
    retention_policy_update(kind=kind, days=1095, grace_days=0, enabled=False,
                            actor=make_superadmin(email="root.b@sandes.nic.in"))
    data = {**sent, f"{kind}-days": "1200", f"{kind}-enabled": "on"}
    response = root_client.post("/portal/privacy/retention/", data)
    assert response.status_code == 200
    policy = RetentionPolicy.objects.get(kind=kind)
    assert (policy.enabled, policy.days) == (False, 1095)
    tree = parse(response.content.decode())
    assert "what this page showed was changed since it was opened" in tree.by_id("error-summary").squashed_text()
    section = next(n for n in tree.iter() if n.get("aria-labelledby") == f"policy-{kind}")
    assert "Saved meanwhile: No" in field_container(section, "enabled").squashed_text()
    assert field_value(tree, f"{kind}-days") == "1200"
    again = {n.get("name"): n.get("value", "") for n in section.iter()
             if n.tag == "input" and n.get("name") == "shown_values"}
    response = root_client.post("/portal/privacy/retention/", {**data, **again})
    assert response.status_code == 302
    assert RetentionPolicy.objects.get(kind=kind).enabled is True  # as the person chose, having seen it was off
