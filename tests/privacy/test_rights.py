"""A person's rights in the portal: the download of everything it holds about them
(and nothing about anyone else), their corrections, requests decided by a
superadmin and shown to them, reminders and escalation, a nominee."""

import html
import io
import json
import re
import zipfile
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from onboarding.approval.handover import application_officer_change
from onboarding.models import Application, ApplicationStatus
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import _CHAIN_LOCK_KEY, audit_record, audit_verify
from portal.mail.models import OutboxMessage
from portal.privacy import personal_data, rights_views
from portal.privacy.models import Nominee, PrivacyRequest
from portal.privacy.requests import (
    nominee_record,
    person_correct,
    person_erase,
    privacy_request_decide,
    privacy_request_make,
    privacy_requests_sweep,
)
from tests.factories import (
    PASSWORD,
    ApplicationFactory,
    ApprovalStepFactory,
    OrganisationFactory,
    PlatformRoleFactory,
    UserFactory,
)
from tests.html_tree import field_error, field_value, parse
from tests.onboarding.approval_helpers import TRANSACTIONAL, make_superadmin, second_factor_given, signed_in
from tests.onboarding.test_race_pg import race
from tests.verification.helpers import GovernmentProfileFactory

pytestmark = pytest.mark.django_db


def person_with_records(email, code):
    user = UserFactory(email=email, full_name=f"Name of {email}")
    application = ApplicationFactory(nodal_officer=user, letter=True)
    GovernmentProfileFactory(user=user, employee_code=code)
    audit_record(actor=user, action=AuditAction.USER_LOGGED_IN, target=user, ip="10.9.8.7")
    return user, application


def client_of(user):
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    second_factor_given(client, user)
    return client


def unzip(response):
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content))
    return archive, json.loads(archive.read("data.json"))


def test_the_download_holds_the_persons_data_and_nothing_of_anyone_else():
    asha, asha_application = person_with_records("asha@mha.gov.in", "EMP-ASHA")
    ravi, ravi_application = person_with_records("ravi@mha.gov.in", "EMP-RAVI")
    response = client_of(asha).get("/privacy/my-data/download/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "no-store"
    archive, data = unzip(response)
    assert data["person"] == asha.email and data["account"]["full_name"] == asha.full_name
    assert [a["reference"] for a in data["onboarding_applications"]] == [asha_application.reference]
    assert [p["employee_code"] for p in data["verification_records"]] == ["EMP-ASHA"]
    assert {e["action"] for e in data["activity"]["events"]} >= {AuditAction.USER_LOGGED_IN}
    # The authorisation letter is signed by the competent authority: it is listed, not included.
    assert data["files_included"] == [] and archive.namelist() == ["data.json"]
    assert [document["document"] for document in data["onboarding_applications"][0]["documents_not_included"]] == [
        "Signed authorisation letter"]
    everything = b"".join(archive.read(name) for name in archive.namelist())
    for other in (ravi.email.encode(), ravi.full_name.encode(), b"EMP-RAVI", ravi_application.reference.encode(),
                  ravi_application.organisation_name.encode()):
        assert other not in everything
    export = AuditEvent.objects.get(action=AuditAction.PERSONAL_DATA_EXPORTED)
    assert export.actor_id == asha.pk and export.new_values["files"] == 0


def test_the_download_holds_the_name_the_persons_organisation_verified():
    """The name an organisation vouched for is the person's data as much as the account's:
    after a rename, the download holds both."""
    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha Kulkarni")
    GovernmentProfileFactory(user=asha, status="verified", employee_code="EMP-ASHA")
    person_correct(user=asha, full_name="Asha Deshmukh")
    _archive, data = unzip(client_of(asha).get("/privacy/my-data/download/"))
    assert data["account"]["full_name"] == "Asha Deshmukh"
    assert [record["verified_name"] for record in data["verification_records"]] == ["Asha Kulkarni"]


def test_the_download_of_an_application_leaves_out_the_details_of_the_other_persons_it_names():
    """The form names the competent authority and a technical contact: their names,
    addresses and mobiles are theirs, not the nodal officer's to download. Each such answer
    is replaced by a note (in the page's language); the officer's own and the
    organisation's answers stay."""
    from django.utils import translation

    officer = UserFactory(email="sunil.patil@mahaagri.gov.in", full_name="Sunil Patil")
    ApplicationFactory(nodal_officer=officer)
    archive, data = unzip(client_of(officer).get("/privacy/my-data/download/"))
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode()
    others = [value for value in ("Anita Deshmukh", "director@mahaagri.gov.in", "+91 91234 56789", "Director of Agriculture",
                                  "Kiran Joshi", "kiran.joshi@mahaagri.gov.in", "9823012345") if value in everything]
    assert others == []
    [answers] = [application["data"] for application in data["onboarding_applications"]]
    note = "details of another person, not included"
    assert set(answers["competent_authority"].values()) == {note}
    assert {key: answers["integration"][key] for key in ("tech_name", "tech_email", "tech_mobile")} == dict.fromkeys(
        ("tech_name", "tech_email", "tech_mobile"), note)
    assert answers["integration"]["app_1_name"] == "Mahadbt farmer portal"
    assert (answers["nodal_officer"]["name"], answers["nodal_officer"]["mobile"]) == ("Sunil Patil", "9876543210")
    assert answers["organisation"]["landline"] == "020-26123456"
    client = client_of(officer)
    client.cookies["django_language"] = "hi"
    with translation.override("hi"):
        hindi = str(translation.gettext(note))
    assert hindi != note
    _archive, data = unzip(client.get("/privacy/my-data/download/", HTTP_ACCEPT_LANGUAGE="hi"))
    assert data["onboarding_applications"][0]["data"]["integration"]["tech_name"] == hindi


def test_the_download_of_an_application_handed_over_leaves_out_the_previous_officers_details():
    """An application handed over to a new nodal officer keeps the Nodal officer section
    its previous officer filled until the new one gives their own: until then those answers
    are the previous officer's, not the new one's to download; once replaced, they are."""
    officer = UserFactory(email="sunil.patil@mahaagri.gov.in", full_name="Sunil Patil")
    application = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.CHANGES_REQUESTED)
    successor = UserFactory(email="anita.pawar@mahaagri.gov.in", full_name="Anita Pawar")
    application_officer_change(application_id=application.pk, new_officer=successor, actor=make_superadmin())
    archive, data = unzip(client_of(successor).get("/privacy/my-data/download/"))
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode()
    assert [value for value in ("Sunil Patil", "sunil.patil@mahaagri.gov.in", "9876543210") if value in everything] == []
    [answers] = [application["data"] for application in data["onboarding_applications"]]
    assert set(answers["nodal_officer"].values()) == {"details of another person, not included"}
    assert answers["organisation"]["landline"] == "020-26123456"
    Application.objects.filter(pk=application.pk).update(data={**application.data, "nodal_officer": {
        **application.data["nodal_officer"], "name": "Anita Pawar", "official_email": "Anita.Pawar@mahaagri.gov.in"}})
    _archive, data = unzip(client_of(successor).get("/privacy/my-data/download/"))
    assert data["onboarding_applications"][0]["data"]["nodal_officer"]["name"] == "Anita Pawar"


def test_the_download_of_the_previous_officer_holds_their_answers_in_an_application_handed_over():
    """The application handed over is no longer theirs, but it holds their details: their
    download says which and when, with their own answers (the Nodal officer section), as it
    holds them while they name them, then as the last version sent with them; nothing else
    of it (the competent authority's details, the organisation's answers)."""
    officer = UserFactory(email="sunil.patil@mahaagri.gov.in", full_name="Sunil Patil")
    application = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.CHANGES_REQUESTED)
    successor = UserFactory(email="anita.pawar@mahaagri.gov.in", full_name="Anita Pawar")
    application_officer_change(application_id=application.pk, new_officer=successor, actor=make_superadmin())
    archive, data = unzip(client_of(officer).get("/privacy/my-data/download/"))
    assert data["onboarding_applications"] == []
    [handed] = data["onboarding_applications_handed_over"]
    assert (handed["id"], handed["reference"], handed["status"]) == (application.pk, application.reference,
                                                                     ApplicationStatus.CHANGES_REQUESTED)
    assert handed["handed_over_at"] and handed["your_answers"]["name"] == "Sunil Patil"
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode()
    assert "director@mahaagri.gov.in" not in everything and "020-26123456" not in everything
    Application.objects.filter(pk=application.pk).update(data={**application.data, "nodal_officer": {
        "name": "Anita Pawar", "official_email": "anita.pawar@mahaagri.gov.in"}})
    _archive, data = unzip(client_of(officer).get("/privacy/my-data/download/"))
    assert data["onboarding_applications_handed_over"][0]["your_answers"]["name"] == "Sunil Patil"  # as sent
    _archive, data = unzip(client_of(successor).get("/privacy/my-data/download/"))
    assert data["onboarding_applications_handed_over"] == []


def _address_changed(user, new):
    """The account's address replaced by ``new`` (allauth's change of email: the new one
    confirmed and primary, the old one removed), recorded as the portal records it."""
    from allauth.account.models import EmailAddress

    from portal.accounts.signals import primary_change_record

    old = user.email
    EmailAddress.objects.filter(user=user).delete()
    EmailAddress.objects.create(user=user, email=new, verified=True, primary=True)
    user.email = new
    user.save(update_fields=["email"])
    primary_change_record(request=None, user=user, old=old, new=new)


def test_the_download_holds_the_officers_own_answers_after_their_address_changed():
    """Sunil changed his address (to another of his department's): his own Nodal officer
    answers, naming the address he had, read "details of another person, not included" in his
    own download, as did those in an application he had handed over. An address another
    account holds now is not taken for his."""
    officer = UserFactory(email="sunil.patil@mahaagri.gov.in", full_name="Sunil Patil")
    application = ApplicationFactory(nodal_officer=officer)
    handed = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.CHANGES_REQUESTED)
    application_officer_change(application_id=handed.pk, new_officer=UserFactory(email="anita.pawar@mahaagri.gov.in"),
                               actor=make_superadmin())
    _address_changed(officer, "s.patil@mahaagri.gov.in")
    _archive, data = unzip(client_of(officer).get("/privacy/my-data/download/"))
    [answers] = [a["data"] for a in data["onboarding_applications"]]
    assert answers["nodal_officer"]["name"] == "Sunil Patil"
    assert answers["nodal_officer"]["official_email"] == application.data["nodal_officer"]["official_email"]
    assert data["onboarding_applications_handed_over"][0]["your_answers"]["name"] == "Sunil Patil"
    UserFactory(email="sunil.patil@mahaagri.gov.in")  # the address is the next holder's now
    _archive, data = unzip(client_of(officer).get("/privacy/my-data/download/"))
    assert data["onboarding_applications"][0]["data"]["nodal_officer"]["name"] == "details of another person, not included"


@pytest.mark.parametrize("handed", [1, 3])
def test_the_applications_handed_over_from_a_person_are_read_in_nine_queries(handed, django_assert_num_queries):
    """The handovers naming them, the applications, their addresses (six: the account's two,
    and those it had before, which their answers may name: its events' one, its verification
    records' three), the versions: as many whether one application or several were handed over
    from them."""
    from onboarding.personal_data import applications_handed_over_from

    officer = UserFactory(email="sunil.patil@mahaagri.gov.in", full_name="Sunil Patil")
    successor = UserFactory(email="anita.pawar@mahaagri.gov.in", full_name="Anita Pawar")
    root = make_superadmin()
    for _ in range(handed):
        application = ApplicationFactory(nodal_officer=officer, status=ApplicationStatus.CHANGES_REQUESTED)
        application_officer_change(application_id=application.pk, new_officer=successor, actor=root)
    with django_assert_num_queries(9):
        assert len(applications_handed_over_from(officer)) == handed


def test_the_download_holds_the_appeal_grounds_the_nodal_officer_wrote():
    """The grounds of an appeal are the officer's own words: in the download with the decisions."""
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in")
    application = ApplicationFactory(nodal_officer=officer, status="under_appeal")
    grounds = "The state rejected us wrongly: our directorate is a state body (my own words)."
    ApprovalStepFactory(application=application, stage="appeal", jurisdiction="", grounds=grounds)
    _archive, data = unzip(client_of(officer).get("/privacy/my-data/download/"))
    [decision] = data["onboarding_applications"][0]["decisions"]
    assert decision.get("grounds") == grounds, decision


def test_the_download_leaves_out_the_stored_documents_that_name_other_persons(
        officer, officer_client, django_capture_on_commit_callbacks):
    """The form's PDF holds the competent authority's and the technical contact's names,
    addresses and mobiles (which data.json replaces by a note), the approval letter names
    the authority and the administrators who decided, and the authorisation letter is
    signed by the authority: none is in the zip; data.json lists each with why (in the
    page's language), and the person's own answers are in data.json."""
    from django.core.files.base import ContentFile
    from django.utils import translation

    from onboarding.models import ApplicationDocument, DocumentKind
    from tests.onboarding.form_helpers import complete, new_application, submit
    from tests.onboarding.test_pdf import download

    application = submit(officer_client, complete(officer_client, new_application(officer)),
                         django_capture_on_commit_callbacks)
    download(officer_client, application)  # the officer downloads the form: it is stored
    ApplicationDocument.objects.create(application=application, kind=DocumentKind.APPROVAL_LETTER, version=1,
                                       file=ContentFile(b"%PDF-1.4 Secretary director@mahaagri.gov.in", name="a.pdf"),
                                       sha256="0" * 64, size=44)
    assert application.documents.filter(kind=DocumentKind.FORM_PDF).exists() and application.attachments.exists()
    archive, data = unzip(officer_client.get("/privacy/my-data/download/"))
    assert archive.namelist() == ["data.json"] and data["files_included"] == data["files_left_out"] == []
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode()
    found = [value for value in ("director@mahaagri.gov.in", "Anita Deshmukh", "kiran.joshi@mahaagri.gov.in",
                                 "Kiran Joshi") if value in everything]
    assert found == []
    [listed] = data["onboarding_applications"]
    assert listed["data"]["nodal_officer"]["mobile"] == "9876543210"
    assert {(document["document"], document["copies"]) for document in listed["documents_not_included"]} == {
        ("Filled onboarding form", 1), ("Approval letter", 1), ("Signed authorisation letter", 1)}
    english = {document["reason"] for document in listed["documents_not_included"]}
    assert len(english) == 3 and all(english)
    officer_client.cookies["django_language"] = "hi"
    _archive, data = unzip(officer_client.get("/privacy/my-data/download/", HTTP_ACCEPT_LANGUAGE="hi"))
    with translation.override("hi"):
        hindi = {str(translation.gettext(label)) for label in ("Filled onboarding form", "Approval letter",
                                                               "Signed authorisation letter")}
    listed = data["onboarding_applications"][0]["documents_not_included"]
    assert {document["document"] for document in listed} == hindi
    assert not english & {document["reason"] for document in listed}


def test_the_download_is_bounded_and_says_what_it_left_out(monkeypatch, tmp_path):
    """The files a section gives (none of the apps' sections gives any now: their stored
    documents name other persons) are bounded in number and bytes; the rest are listed."""
    from django.core.files.storage import FileSystemStorage

    storage = FileSystemStorage(location=tmp_path)
    names = [storage.save(f"file-{n}.pdf", io.BytesIO(b"%PDF-1.4 file")) for n in range(2)]
    files = [personal_data.PersonalFile(name=name, storage=storage, path=name, size=13) for name in names]
    monkeypatch.setitem(personal_data._SECTIONS, "files_of_a_test",
                        personal_data.PersonalDataSection(name="files_of_a_test", collect=lambda user: None,
                                                          files=lambda user: files))
    asha, _application = person_with_records("asha@mha.gov.in", "E1")
    monkeypatch.setattr(personal_data, "MAX_FILES", 1)
    archive, data = unzip(client_of(asha).get("/privacy/my-data/download/"))
    assert (data["files_included"], data["files_left_out"]) == (["file-0.pdf"], ["file-1.pdf"])
    assert archive.read("files/file-0.pdf") == b"%PDF-1.4 file"


def test_a_person_corrects_their_name_audited_and_an_empty_one_is_refused():
    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha K")
    client = client_of(asha)
    empty = client.post("/privacy/my-data/", {"action": "correct", "full_name": "   "})
    assert empty.status_code == 200 and b"This field is required." in empty.content
    assert client.post("/privacy/my-data/", {"action": "correct", "full_name": "Asha Kulkarni"}).status_code == 302
    asha.refresh_from_db()
    assert asha.full_name == "Asha Kulkarni"
    event = AuditEvent.objects.get(action=AuditAction.PERSONAL_DATA_CORRECTED)
    assert (event.old_values, event.new_values) == ({"name": "Asha K"}, {"name": "Asha Kulkarni"})


@pytest.mark.parametrize(("language", "words"), [
    ("en", "the directory and the verification API show the name your organisation verified until its administrators"),
    ("hi", "आपके संगठन द्वारा सत्यापित नाम ही दिखाते हैं"),
    ("mr", "तुमच्या संस्थेने पडताळलेले नावच दाखवतात"),
])
def test_the_name_field_says_a_verified_persons_change_waits_for_their_organisation(language, words):
    """A verified person's new name is not the one their organisation vouched for: the field
    says, in the page's language, that others see the verified one until its administrators
    accept the change."""
    client = client_of(UserFactory(email="asha@mha.gov.in", full_name="Asha K"))
    client.cookies["django_language"] = language
    page = parse(client.get("/privacy/my-data/").content.decode())
    assert words in page.by_id("id_full_name_helptext").squashed_text()
    assert "id_full_name_helptext" in page.by_id("id_full_name").get("aria-describedby")


@pytest.mark.parametrize("typed", ["\u200b\u200b", "\u2060 \ufeff", "\u3164"])
def test_a_name_made_only_of_invisible_characters_is_refused_at_its_field(typed):
    """Zero-width spaces and the like show nothing: the directory would show a person with
    no visible name. Refused at the field as an empty name, in the service too."""
    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha Kulkarni")
    response = client_of(asha).post("/privacy/my-data/", {"action": "correct", "full_name": typed})
    assert response.status_code == 200
    assert field_error(parse(response.content.decode()), "full_name") == "This field is required."
    with pytest.raises(ValidationError):
        person_correct(user=asha, full_name=typed)
    asha.refresh_from_db()
    assert asha.full_name == "Asha Kulkarni"
    assert not AuditEvent.objects.filter(action=AuditAction.PERSONAL_DATA_CORRECTED).exists()


@pytest.mark.parametrize("typed", ["\u200b\u200b", "\u2060 \ufeff", "\u3164"])
def test_a_nominee_name_or_relationship_of_only_invisible_characters_is_refused_at_its_field(typed):
    """As a person's own name: a nominee shown with no visible name or relationship is no
    nominee. Refused at the field, in the service too."""
    asha = UserFactory(email="asha@mha.gov.in")
    client = client_of(asha)
    for invisible in ("name", "relationship"):
        posted = {"action": "nominee", "name": "Ravi K", "email": "ravi@example.org", "relationship": "Brother",
                  invisible: typed}
        response = client.post("/privacy/my-data/", posted)
        assert response.status_code == 200, (invisible, response.status_code)
        assert field_error(parse(response.content.decode()), invisible) == "This field is required."
        with pytest.raises(ValidationError):
            nominee_record(user=asha, **{key: value for key, value in posted.items() if key != "action"})
    assert not Nominee.objects.filter(user=asha).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.NOMINEE_RECORDED).exists()


def test_a_correction_request_from_asking_to_decision_seen_by_the_person():
    asha = UserFactory(email="asha@mha.gov.in")
    root = make_superadmin(email="root@sandes.nic.in")
    client = client_of(asha)
    missing = client.post("/privacy/my-data/", {"action": "request", "kind": "correction", "details": ""})
    assert b"This field is required." in missing.content
    assert client.post("/privacy/my-data/", {"action": "request", "kind": "correction",
                                             "details": "My designation is Under Secretary."}).status_code == 302
    made = PrivacyRequest.objects.get()
    due_day = timezone.localdate(made.made_at) + timedelta(days=30)
    assert timezone.localtime(made.due_at) == datetime.combine(due_day, time.max, tzinfo=timezone.get_current_timezone())
    assert made.status == "open"
    page = client.get("/privacy/my-data/")
    assert b"Waiting for a decision" in page.content
    admin = Client()
    admin.force_login(root)
    second_factor_given(admin, root)
    no_reason = admin.post(f"/portal/privacy/requests/{made.pk}/", {"decision": "refuse", "reason": ""})
    assert no_reason.status_code == 200 and b"This field is required." in no_reason.content
    assert admin.post(f"/portal/privacy/requests/{made.pk}/",
                      {"decision": "refuse", "reason": "Your office must confirm it first."}).status_code == 302
    page = client.get("/privacy/my-data/")
    assert b"Refused" in page.content and b"Your office must confirm it first." in page.content
    assert [e.action for e in AuditEvent.objects.filter(target_type="privacy.privacyrequest")] == [
        AuditAction.PRIVACY_REQUEST_MADE, AuditAction.PRIVACY_REQUEST_DECIDED]


def test_the_same_request_sent_twice_is_made_once_and_the_second_is_told_it_waits():
    """A double click on "Send the request" (or back and send again): one request waits
    for a decision, reminded and escalated once, and the second send shows the form again
    with what was typed and, at the details, "You sent this request already: it waits for
    a decision." The same kind with other details, or once the first is decided, is a new
    request."""
    asha = UserFactory(email="asha@mha.gov.in")
    client = client_of(asha)
    form = {"action": "request", "kind": "erasure", "details": "Please erase my account."}
    assert client.post("/privacy/my-data/", form).status_code == 302
    again = client.post("/privacy/my-data/", {**form, "details": "  Please erase my account.\n"})
    assert again.status_code == 200
    tree = parse(again.content)
    assert field_error(tree, "details") == "You sent this request already: it waits for a decision."
    assert field_value(tree, "kind") == "erasure"
    assert field_value(tree, "details").strip() == "Please erase my account."
    assert PrivacyRequest.objects.filter(user=asha).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.PRIVACY_REQUEST_MADE).count() == 1
    assert client.post("/privacy/my-data/", {**form, "details": "Also my nominee."}).status_code == 302
    PrivacyRequest.objects.filter(user=asha).update(status="refused", decided_at=timezone.now())
    assert client.post("/privacy/my-data/", form).status_code == 302
    assert PrivacyRequest.objects.filter(user=asha).count() == 3


def test_an_erasure_granted_closes_the_account_and_redacts_its_audit_events():
    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha K")
    audit_record(actor=asha, action=AuditAction.USER_LOGGED_IN, target=asha, ip="10.1.1.1")
    root = make_superadmin(email="root@sandes.nic.in")
    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    admin = Client()
    admin.force_login(root)
    second_factor_given(admin, root)
    # Not without its confirmation: the account is closed for good.
    refused = admin.post(f"/portal/privacy/requests/{made.pk}/", {"decision": "grant", "reason": "Nothing requires keeping it."})
    assert refused.status_code == 200 and "Tick the box to confirm the erasure." in refused.content.decode()
    assert "Nothing requires keeping it." in refused.content.decode()
    asha.refresh_from_db()
    assert asha.is_active
    assert admin.post(f"/portal/privacy/requests/{made.pk}/",
                      {"decision": "grant", "reason": "Nothing requires keeping it.", "confirm": "on"}).status_code == 302
    asha.refresh_from_db()
    assert (asha.email, asha.full_name, asha.is_active) == (f"erased-{asha.pk}@erased.invalid", "", False)
    assert not Client().login(email="asha@mha.gov.in", password=PASSWORD)
    assert "asha@mha.gov.in" not in str(list(AuditEvent.objects.filter(actor_id=asha.pk).values()))
    assert audit_verify() == []


def test_nobody_decides_their_own_request():
    root = make_superadmin(email="root@sandes.nic.in")
    made = privacy_request_make(user=root, kind="correction", details="x")
    admin = Client()
    admin.force_login(root)
    second_factor_given(admin, root)
    response = admin.post(f"/portal/privacy/requests/{made.pk}/", {"decision": "grant", "reason": "ok"})
    assert response.status_code == 200 and b"Someone else must decide your own request." in response.content


def test_a_decision_on_a_request_decided_meanwhile_is_refused_at_the_form_with_what_was_typed():
    """Two superadmins open the same request; the first decides it. The second's
    decision is not recorded, and the page says so (who decided it, how), with the
    decision and reason they typed still in the form."""
    person = UserFactory(email="person@mha.gov.in")
    made = privacy_request_make(user=person, kind="correction", details="My designation is wrong")
    first, second = make_superadmin(email="root1@nic.in"), make_superadmin(email="root2@nic.in")
    admin = signed_in(second)
    url = f"/portal/privacy/requests/{made.pk}/"
    assert b"Record the decision" in admin.get(url).content  # the page left open
    privacy_request_decide(request_id=made.pk, grant=False, reason="Not our record", actor=first)  # meanwhile
    for typed in ("Corrected the designation as asked", ""):
        response = admin.post(url, {"decision": "grant", "reason": typed})
        assert response.status_code == 200
        tree = parse(response.content)
        summary = tree.by_id("error-summary").squashed_text()
        assert "This request was decided already" in summary and "root1@nic.in" in summary and "Refused" in summary
        assert "was not recorded" in summary
        assert field_value(tree, "reason") == typed and field_value(tree, "decision") == "grant"
        assert b"Record the decision" not in response.content  # nothing offers to record it again
    admin.cookies["django_language"] = "hi"
    summary = parse(admin.post(url, {"decision": "grant", "reason": "x"}).content).by_id("error-summary").squashed_text()
    assert "आपका निर्णय दर्ज नहीं किया गया" in summary and "root1@nic.in" in summary
    made.refresh_from_db()
    assert (made.status, made.decided_by, made.decision_reason) == ("refused", first, "Not our record")
    assert AuditEvent.objects.filter(action=AuditAction.PRIVACY_REQUEST_DECIDED).count() == 1
    # The service says the same when the decision lands between the page's read and its lock.
    with pytest.raises(ValidationError) as refused:
        privacy_request_decide(request_id=made.pk, grant=True, reason="ok", actor=second)
    assert "root1@nic.in" in refused.value.messages[0] and refused.value.code == "decided"


def test_ones_own_decision_sent_again_is_said_recorded_not_refused():
    """A superadmin refuses a request and the form goes again (Back and send again, a double
    click without JavaScript): the second answer said "decided already ... by <them> ...
    Your decision was not recorded", of the decision that was. It leads to the queue, saying
    they recorded it; a different decision of theirs sent afterwards is still refused."""
    from django.contrib.messages import get_messages

    made = privacy_request_make(user=UserFactory(email="person@mha.gov.in"), kind="correction",
                                details="My designation is wrong")
    admin = signed_in(make_superadmin(email="root1@nic.in"))
    url = f"/portal/privacy/requests/{made.pk}/"
    data = {"decision": "refuse", "reason": "The designation is your organisation's to correct."}
    assert admin.post(url, data).status_code == 302
    admin.get("/portal/privacy/requests/")  # the first answer's message read
    again = admin.post(url, data)
    assert again.status_code == 302 and again["Location"] == "/portal/privacy/requests/"
    assert [str(m) for m in get_messages(again.wsgi_request)] == ["You already recorded this decision: Refused."]
    other = admin.post(url, {"decision": "grant", "reason": "Corrected"})
    summary = parse(other.content).by_id("error-summary").squashed_text()
    assert "This request was decided already" in summary and "was not recorded" in summary
    assert AuditEvent.objects.filter(action=AuditAction.PRIVACY_REQUEST_DECIDED).count() == 1


def test_requests_are_reminded_before_their_due_date_and_escalated_after_it_once_each():
    make_superadmin(email="root@sandes.nic.in")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        privacy_request_make(user=UserFactory(), kind="erasure", details="x")
    with time_machine.travel(start + timedelta(days=20), tick=False):
        assert privacy_requests_sweep() == {"reminded": 0, "escalated": 0}
    with time_machine.travel(start + timedelta(days=26), tick=False):
        assert privacy_requests_sweep() == {"reminded": 1, "escalated": 0}
        assert privacy_requests_sweep() == {"reminded": 0, "escalated": 0}
    with time_machine.travel(start + timedelta(days=31), tick=False):
        assert privacy_requests_sweep() == {"reminded": 0, "escalated": 1}
        assert privacy_requests_sweep() == {"reminded": 0, "escalated": 0}
    subjects = sorted(OutboxMessage.objects.values_list("subject", flat=True))
    assert subjects[0].startswith("A data protection request is due soon")
    assert subjects[1].startswith("A data protection request is overdue")


def test_a_request_is_due_to_the_end_of_the_day_it_names_for_the_pages_the_reminder_and_the_alert(settings):
    """A request is "due <day>", a day and no hour, on the person's page, the superadmins'
    queue and their mail: made at 10:00 (India's time), it is not overdue at noon or at
    23:59 on that day (no "Overdue" on either page, no alert saying it is past its due
    date), and is from the first minute of the next. The reminder goes on the local day
    PRIVACY_REQUEST_REMINDER_DAYS_BEFORE days before the day it is due, as onboarding's do."""
    settings.PRIVACY_REQUEST_DUE_DAYS, settings.PRIVACY_REQUEST_REMINDER_DAYS_BEFORE = 30, 5
    root = make_superadmin(email="root@sandes.nic.in")
    asha = UserFactory(email="asha@mha.gov.in")
    zone = timezone.get_current_timezone()
    made_on = timezone.localdate() + timedelta(days=1)
    due_day = made_on + timedelta(days=30)

    def at(day, hour, minute=0):
        return time_machine.travel(datetime.combine(day, time(hour, minute), tzinfo=zone), tick=False)

    def overdue_on_pages():
        return ["Overdue" in client_of(user).get(url).content.decode()
                for user, url in ((asha, "/privacy/my-data/"), (root, "/portal/privacy/requests/"))]

    with at(made_on, 10):
        made = privacy_request_make(user=asha, kind="erasure", details="Erase my data.")
    with at(due_day - timedelta(days=6), 23, 59):
        assert privacy_requests_sweep() == {"reminded": 0, "escalated": 0}
    with at(due_day - timedelta(days=5), 0, 1):
        assert privacy_requests_sweep() == {"reminded": 1, "escalated": 0}
    line = f"Request {made.pk} ({made.get_kind_display()}), due {due_day.day} {due_day:%B %Y}"
    [reminder] = OutboxMessage.objects.filter(subject__startswith="A data protection request is due soon")
    assert line in reminder.body
    for hour, minute in ((12, 0), (23, 59)):
        with at(due_day, hour, minute):
            assert privacy_requests_sweep() == {"reminded": 0, "escalated": 0}
            assert overdue_on_pages() == [False, False]
    with at(due_day + timedelta(days=1), 0, 1):
        assert privacy_requests_sweep() == {"reminded": 0, "escalated": 1}
        assert overdue_on_pages() == [True, True]
    [alert] = OutboxMessage.objects.filter(subject__startswith="A data protection request is overdue")
    assert "past their due date" in alert.body and line in alert.body


def test_a_nominee_is_recorded_audited():
    asha = UserFactory(email="asha@mha.gov.in")
    client = client_of(asha)
    bad = client.post("/privacy/my-data/", {"action": "nominee", "name": "Ravi", "email": "not-an-address",
                                            "relationship": "Brother"})
    assert b"Enter a valid email address." in bad.content and b'value="Ravi"' in bad.content
    client.post("/privacy/my-data/", {"action": "nominee", "name": "Ravi K", "email": "Ravi@Example.org",
                                      "relationship": "Brother"})
    assert Nominee.objects.get(user=asha).email == "ravi@example.org"
    assert AuditEvent.objects.filter(action=AuditAction.NOMINEE_RECORDED, actor_id=asha.pk).exists()


@pytest.mark.parametrize("email", ["Asha@MHA.gov.in", "asha+nominee@mha.gov.in", "asha.k@pune.mahaagri.gov.in"])
def test_a_person_cannot_name_an_address_of_their_own_as_their_nominee(email):
    """Nobody could act for them: refused at the address, what was typed kept, nothing recorded. Their
    account's address in any case or "+tag" form, or another address on their account."""
    from allauth.account.models import EmailAddress

    asha = UserFactory(email="asha@mha.gov.in")
    EmailAddress.objects.create(user=asha, email="asha.k@pune.mahaagri.gov.in", verified=False, primary=False)
    response = client_of(asha).post("/privacy/my-data/", {"action": "nominee", "name": "Asha", "email": email,
                                                          "relationship": "Self"})
    assert response.status_code == 200
    tree = parse(response.content.decode())
    assert field_error(tree, "email") == "Name someone else: this address is yours."
    assert field_value(tree, "name") == "Asha"
    assert not Nominee.objects.filter(user=asha).exists()


def test_a_nominee_is_changed_at_most_ten_times_a_day_and_a_name_corrected_as_often():
    asha = UserFactory(email="asha@mha.gov.in")
    client = client_of(asha)
    for i in range(11):
        response = client.post("/privacy/my-data/", {"action": "nominee", "name": f"Nominee {i}",
                                                     "email": f"n{i}@example.org", "relationship": "Friend"})
    assert AuditEvent.objects.filter(action=AuditAction.NOMINEE_RECORDED, actor_id=asha.pk).count() == 10
    assert Nominee.objects.get(user=asha).name == "Nominee 9"
    said = " ".join(parse(response.content.decode()).squashed_text().split())
    assert "You have changed your nominee 10 times in the last 24 hours, the most the portal allows" in said
    for i in range(11):
        response = client.post("/privacy/my-data/", {"action": "correct", "full_name": f"Asha {i}"})
    assert AuditEvent.objects.filter(action=AuditAction.PERSONAL_DATA_CORRECTED, actor_id=asha.pk).count() == 10
    said = " ".join(parse(response.content.decode()).squashed_text().split())
    assert "You have corrected your name 10 times in the last 24 hours, the most the portal allows" in said


def test_an_erased_person_is_nobodys_nominee_and_the_events_naming_them_so_are_redacted():
    """Sunil's nominee is Asha; Ravi named her, then Meera. Asha's account erased: Sunil has no
    nominee, Ravi's is Meera still, and the events that named Asha (Ravi's two, Sunil's) are redacted."""
    ravi, sunil = UserFactory(email="ravi@mha.gov.in"), UserFactory(email="sunil@mha.gov.in")
    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha Kulkarni")
    nominee_record(user=sunil, name="Asha Kulkarni", email="asha@mha.gov.in", relationship="Colleague")
    nominee_record(user=ravi, name="Asha Kulkarni", email="asha@mha.gov.in", relationship="Sister")
    nominee_record(user=ravi, name="Meera K", email="meera@example.org", relationship="Friend")  # names Asha's as old
    person_erase(user_id=asha.pk, actor=None)
    events = AuditEvent.objects.filter(action=AuditAction.NOMINEE_RECORDED)
    assert [event.redacted_at is not None for event in events.order_by("pk")] == [True, True, True]
    assert "asha@mha.gov.in" not in str(list(events.values()))
    assert list(Nominee.objects.values_list("user_id", "email")) == [(ravi.pk, "meera@example.org")]
    assert audit_verify() == []


def test_a_nominee_saved_again_unchanged_writes_no_second_audit_row_and_a_change_names_the_one_replaced():
    """A double click on "Save" recorded the same nominee twice in the audit log; a new nominee's
    row did not say whom it replaced."""
    asha = UserFactory(email="asha@mha.gov.in")
    client = client_of(asha)
    ravi = {"action": "nominee", "name": "Ravi K", "email": "ravi@example.org", "relationship": "Brother"}
    client.post("/privacy/my-data/", ravi)
    client.post("/privacy/my-data/", {**ravi, "email": " Ravi@Example.org "})
    rows = AuditEvent.objects.filter(action=AuditAction.NOMINEE_RECORDED, actor_id=asha.pk)
    assert rows.count() == 1
    client.post("/privacy/my-data/", {**ravi, "name": "Meera K", "relationship": "Sister",
                                      "email": "meera@example.org"})
    latest = rows.order_by("-pk").first()
    assert rows.count() == 2
    assert latest.old_values == {"nominee": {"name": "Ravi K", "email": "ravi@example.org"}}
    assert latest.new_values == {"nominee": {"name": "Meera K", "email": "meera@example.org"}}
    assert Nominee.objects.get(user=asha).relationship == "Sister"


@TRANSACTIONAL
@pytest.mark.usefixtures("require_postgresql")
def test_a_nominee_saved_by_a_double_click_on_the_first_save_is_recorded_and_audited_once():
    """A person names their first nominee and "Save" is sent twice at once (a double click):
    there is no nominee row yet for either request to lock, so both recorded it, and the
    audit log held two "nominee recorded" rows for one nominee, the second saying it
    replaced nobody. The person's account row now puts one save after the other: the
    second finds the nominee saved and records nothing, as a second click does later."""
    asha = UserFactory(email="asha@mha.gov.in")
    tabs = [client_of(asha), client_of(asha)]
    ravi = {"action": "nominee", "name": "Ravi K", "email": "ravi@example.org", "relationship": "Brother"}
    # Another audited action holds the audit log's lock for a moment: both saves are under way.
    results = race([lambda tab=tab: tab.post("/privacy/my-data/", ravi) for tab in tabs],
                   hold_sql="SELECT pg_advisory_xact_lock(%s)", hold_params=[_CHAIN_LOCK_KEY],
                   ready=lambda waiting, done: waiting == 2)
    assert [outcome for outcome, _value in results] == ["ok", "ok"], results
    assert [response.status_code for _outcome, response in results] == [302, 302], results
    assert Nominee.objects.filter(user=asha).count() == 1
    [row] = AuditEvent.objects.filter(action=AuditAction.NOMINEE_RECORDED, actor_id=asha.pk)
    assert row.old_values == {}  # it replaced nobody
    assert row.new_values == {"nominee": {"name": "Ravi K", "email": "ravi@example.org"}}
    assert audit_verify() == []


@pytest.mark.parametrize("size", [1, 5])
def test_the_pages_take_constant_queries(size, django_assert_num_queries):
    asha = UserFactory(email="asha@mha.gov.in")
    root = make_superadmin(email="root@sandes.nic.in")
    for number in range(size):
        made = privacy_request_make(user=asha, kind="correction", details=f"Correction {number}")
    PrivacyRequest.objects.filter(pk=made.pk).update(status="refused", decided_at=timezone.now(), decided_by=root)
    privacy_request_make(user=UserFactory(email="ravi@mha.gov.in"), kind="correction", details="Waiting")
    client = Client()
    client.force_login(asha)
    # The same at 1 and 5 requests: the session, the user with the layout's reads (one query), the nominee,
    # the requests; the queue: the session, the user with what the access rule and the MFA middleware read,
    # the waiting requests counted (the number said, and their pages), their page, and the decided requests.
    with django_assert_num_queries(MY_DATA_QUERIES):
        assert client.get("/privacy/my-data/").status_code == 200
    admin = Client()
    admin.force_login(root)
    second_factor_given(admin, root)
    with django_assert_num_queries(QUEUE_QUERIES):
        assert admin.get("/portal/privacy/requests/").status_code == 200




@pytest.mark.parametrize("roles", [1, 4])
def test_an_erasures_page_names_the_roles_it_ends_in_constant_queries(roles, django_assert_num_queries):
    """The same at 1 and 4 roles (a platform role, admin roles): the session, the superadmin with
    what the access rule and the MFA middleware read, the request with its person, the person's
    platform roles in force and the organisations they administer (read once: their names are said
    in the page's language, and taken for the page's digest in English)."""
    from portal.organisations.models import Membership, MembershipRole

    asha = UserFactory(email="asha@fisheries.gov.in")
    PlatformRoleFactory(user=asha, role="state_admin", jurisdiction="MH")
    for number in range(roles - 1):
        Membership.objects.create(organisation=OrganisationFactory(name=f"Directorate {number}"), user=asha,
                                  role=MembershipRole.ADMIN)
    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    admin = signed_in(make_superadmin(email="root@sandes.nic.in"))
    with django_assert_num_queries(ERASURE_PAGE_QUERIES):
        response = admin.get(f"/portal/privacy/requests/{made.pk}/")
    assert len(parse(response.content.decode()).find("ul", **{"aria-labelledby": "roles-ending"}).find_all("li")) \
        == roles


def test_the_queue_of_waiting_requests_is_paged_in_order_with_their_number():
    """The queue showed the 100 waiting requests due first and said nothing of the others:
    request 101 could not be reached from it. Paged as the other queues are, the earliest due
    first across the pages, with the number waiting."""
    now = timezone.now()
    waiting = [PrivacyRequest.objects.create(user=UserFactory(), kind="erasure", details="Please erase my data.",
                                             status="open", made_at=now, due_at=now + timedelta(days=1, minutes=i))
               for i in range(101)]
    admin = client_of(make_superadmin(email="root@sandes.nic.in"))
    listed, pages = [], []
    address = "/portal/privacy/requests/"
    while address:
        page = admin.get(address).content.decode()
        pages.append(page)
        listed += [int(number) for number in re.findall(r'href="/portal/privacy/requests/(\d+)/"', page)]
        following = re.search(r'<a class="page-link" href="([^"]*)">Next', page)
        address = "/portal/privacy/requests/" + html.unescape(following[1]) if following else None
    assert listed == [made.pk for made in waiting]
    assert len(pages) == 3 and "Page 3 of 3" in pages[-1]
    assert all("101 requests are waiting." in page for page in pages)

MY_DATA_QUERIES = 4
QUEUE_QUERIES = 5
ERASURE_PAGE_QUERIES = 5


def test_the_download_is_streamed_from_a_file_and_limited_to_a_few_an_hour():
    """Each download reads and compresses up to 50 MB: it is written to a temporary file
    the response streams (not held in a web worker's memory), and a person may ask for
    it a few times an hour; then the page says when they may again."""
    asha, _application = person_with_records("asha@mha.gov.in", "E1")
    client = client_of(asha)
    for _ in range(personal_data.DOWNLOADS_PER_HOUR):
        response = client.get("/privacy/my-data/download/")
        assert response.status_code == 200 and response.streaming
        assert int(response["Content-Length"]) == len(b"".join(response.streaming_content))
    refused = client.get("/privacy/my-data/download/", follow=True)
    assert refused.redirect_chain == [("/privacy/my-data/", 302)]
    assert "You have downloaded your data 5 times in the last hour. Try again in an hour." in refused.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.PERSONAL_DATA_EXPORTED).count() == personal_data.DOWNLOADS_PER_HOUR
    # Ten minutes later, still within the hour of the first download: refused (the count
    # kept in the database cache lasted five minutes after the last download).
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assert client_of(asha).get("/privacy/my-data/download/").status_code == 302
    # An hour later, again.
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        assert client_of(asha).get("/privacy/my-data/download/").status_code == 200



ANOTHER_SITE = "You came here by a link from another site, so nothing was done in your name."


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_download_another_site_sends_the_browser_to_is_refused_and_uses_up_nothing(site):
    """A page of another site sends the signed-in person's browser to the download (the
    session cookie, SameSite=Lax, goes with a top-level GET) again and again: no zip is
    built, no audit row is written in their name, none of their downloads of the hour is
    used; they land on the page with the link, told to press it there. Their own click
    on that link, the address typed, and a browser that says nothing of where a request
    came from (an older one) download as before."""
    asha = UserFactory(email="asha@mha.gov.in")
    client = client_of(asha)
    for _ in range(personal_data.DOWNLOADS_PER_HOUR + 1):
        response = client.get("/privacy/my-data/download/", HTTP_SEC_FETCH_SITE=site, HTTP_SEC_FETCH_MODE="navigate",
                              HTTP_SEC_FETCH_DEST="document", follow=True)
        assert response.redirect_chain == [("/privacy/my-data/", 302)]
        assert ANOTHER_SITE in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.PERSONAL_DATA_EXPORTED).exists()
    hindi = client.get("/privacy/my-data/download/", HTTP_SEC_FETCH_SITE=site, HTTP_ACCEPT_LANGUAGE="hi", follow=True)
    assert "दूसरी साइट" in hindi.content.decode() and ANOTHER_SITE not in hindi.content.decode()
    for headers in ({"HTTP_SEC_FETCH_SITE": "same-origin"}, {"HTTP_SEC_FETCH_SITE": "none"}, {}):
        response = client.get("/privacy/my-data/download/", **headers)
        assert response.status_code == 200 and response["Content-Type"] == "application/zip", headers
        b"".join(response.streaming_content)
    assert AuditEvent.objects.filter(action=AuditAction.PERSONAL_DATA_EXPORTED).count() == 3


def test_the_download_is_named_by_the_date_in_india():
    """At 20:00 UTC it is 01:30 the next day in India: the file is named by that day."""
    asha = UserFactory(email="asha@mha.gov.in")
    with time_machine.travel(datetime(2026, 12, 5, 20, 0, tzinfo=UTC), tick=False):
        response = client_of(asha).get("/privacy/my-data/download/")
    assert response.status_code == 200
    assert 'filename="my-data-2026-12-06.zip"' in response["Content-Disposition"], response["Content-Disposition"]


def test_downloads_still_being_built_count_against_the_few_an_hour(monkeypatch):
    """Requests that overlap (each arriving while the zip of the one before is built, nested
    here to be deterministic) count before the zip is built, not when its audit row is
    written after: at most five zips are built for one person in an hour."""
    asha, _application = person_with_records("asha@mha.gov.in", "E1")
    client = client_of(asha)
    real, built, statuses = rights_views.personal_data_zip, [], []

    def building(user):
        built.append(user.pk)
        if len(built) < 8:
            statuses.append(client.get("/privacy/my-data/download/").status_code)  # another arrives meanwhile
        return real(user)

    monkeypatch.setattr(rights_views, "personal_data_zip", building)
    assert client.get("/privacy/my-data/download/").status_code == 200
    assert len(built) == personal_data.DOWNLOADS_PER_HOUR, f"{len(built)} zips built in the same hour"
    assert statuses.count(302) == 1


def test_an_erasure_granted_ends_the_persons_verification_and_removes_what_they_gave():
    """The account closed is not all: the verification API must stop answering for the
    person, their records lose the details they gave, invitations to their addresses go,
    an admin role resting on their verification ends, and the events about those records
    lose their personal part too."""
    from portal.organisations.models import OrganisationDomain
    from portal.organisations.services import organisation_admin_grant
    from portal.permissions import may_administer
    from tests.factories import OrganisationFactory
    from tests.verification.helpers import contacts_shown_to_verified_users, make_admin
    from verification import services as verification
    from verification.models import GovernmentProfile, VerificationStatus
    from verification.rosters.models import Invitation
    from verification.selectors import verified_person_by_contact

    parent = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH")
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE", parent=parent)
    OrganisationDomain.objects.create(organisation=office, domain="pune.mahaagri.gov.in", is_verified=True)
    contacts_shown_to_verified_users(office)  # what the API finds people by
    office_admin = make_admin(office, email="admin@pune.mahaagri.gov.in")
    parent_admin = make_admin(parent, email="admin@mahaagri.gov.in")
    asha = UserFactory(email="asha.k@pune.mahaagri.gov.in", full_name="Asha Kulkarni")
    held = GovernmentProfileFactory(user=asha, organisation=office, official_email=asha.email, mobile="+919876543210")
    verification.join_request_decide(profile_id=held.pk, decision="verify", actor=office_admin)
    organisation_admin_grant(organisation_id=parent.pk, user_id=asha.pk, actor=parent_admin)
    waiting = GovernmentProfileFactory(user=asha, organisation=OrganisationFactory(short_code="DHS-KA", state="KA"),
                                       official_email=asha.email)
    Invitation.objects.create(organisation=parent, email=asha.email, name="Asha Kulkarni", designation="Clerk",
                              office="Establishment", employee_code="E1", mobile="+919876543210",
                              invited_by=parent_admin, token_hash="0" * 64,
                              created_at=timezone.now(), sent_at=timezone.now(),
                              expires_at=timezone.now() + timedelta(days=30))
    assert verified_person_by_contact(emails=[asha.email]) is not None

    root = make_superadmin(email="root@sandes.nic.in")
    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    privacy_request_decide_as(root, made)

    assert verified_person_by_contact(emails=["asha.k@pune.mahaagri.gov.in"]) is None
    assert verified_person_by_contact(mobile="+919876543210") is None
    rows = {row.pk: row for row in GovernmentProfile.objects.filter(user=asha)}
    assert (rows[held.pk].status, rows[held.pk].reason_code) == (VerificationStatus.REVOKED, "erased")
    assert (rows[waiting.pk].status, rows[waiting.pk].reason_code) == (VerificationStatus.CANCELLED, "erased")
    assert all(row.official_email == row.mobile == row.designation == row.employee_code == row.verified_name == ""
               for row in rows.values())
    assert not Invitation.objects.exists()
    assert not may_administer(type(asha).objects.get(pk=asha.pk), parent)
    assert may_administer(office_admin, office)  # others' roles stay
    about = AuditEvent.objects.filter(target_type="verification.governmentprofile", target_id=str(held.pk))
    assert about.exists() and "asha.k@pune.mahaagri.gov.in" not in str(list(about.values()))
    assert "Asha Kulkarni" not in str(list(about.values()))  # the name verified, in the verification's event
    assert audit_verify() == []


def privacy_request_decide_as(root, made, reason="Nothing requires keeping it."):
    admin = Client()
    admin.force_login(root)
    second_factor_given(admin, root)
    return admin.post(f"/portal/privacy/requests/{made.pk}/", {"decision": "grant", "reason": reason, "confirm": "on"})


def _erasure_of_an_admin():
    """Asha, one of two admins of an organisation, asks for erasure: she, her request, a superadmin's
    client and the request's page."""
    from tests.verification.helpers import make_admin

    organisation = OrganisationFactory(name="Directorate of Fisheries Review")
    asha = make_admin(organisation, email="asha@fisheries.gov.in", full_name="Asha K")
    make_admin(organisation, email="other@fisheries.gov.in")
    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    return asha, made, signed_in(make_superadmin(email="root@sandes.nic.in")), f"/portal/privacy/requests/{made.pk}/"


def test_the_erasure_decision_names_the_roles_it_ends_and_the_box_confirms_those_named():
    """Asha administers an organisation (another admin there): the page names that role before the box.
    Made her state's administrator after the page was opened, the box ticked for the roles named
    grants nothing: the page names both now, says why at the box (unticked), the reason kept."""
    asha, made, admin, url = _erasure_of_an_admin()
    shown = parse(admin.get(url).content.decode())
    assert [li.squashed_text() for li in shown.find("ul", **{"aria-labelledby": "roles-ending"}).find_all("li")] \
        == ["Organisation admin (Directorate of Fisheries Review)"]
    digest = shown.find("input", name="roles_shown").get("value")
    PlatformRoleFactory(user=asha, role="state_admin", jurisdiction="MH")
    sent = admin.post(url, {"decision": "grant", "reason": "Nothing requires keeping it.", "confirm": "on",
                            "roles_shown": digest})
    assert sent.status_code == 200
    tree = parse(sent.content.decode())
    assert field_error(tree, "confirm").startswith("Nothing was recorded: since this page was opened, the roles the "
                                                   "account holds changed.")
    assert (field_value(tree, "reason"), field_value(tree, "confirm")) == ("Nothing requires keeping it.", False)
    assert len(tree.find("ul", **{"aria-labelledby": "roles-ending"}).find_all("li")) == 2
    made.refresh_from_db()
    asha.refresh_from_db()
    assert made.status == "open" and asha.is_active
    granted = admin.post(url, {"decision": "grant", "reason": "Nothing requires keeping it.", "confirm": "on",
                               "roles_shown": tree.find("input", name="roles_shown").get("value")})
    assert granted.status_code == 302
    made.refresh_from_db()
    assert made.status == "granted"


def test_the_roles_named_in_one_language_are_confirmed_in_another():
    """The page read in Hindi, the decision sent after switching to English: the same roles, granted."""
    asha, made, admin, url = _erasure_of_an_admin()
    admin.cookies["django_language"] = "hi"
    digest = parse(admin.get(url).content.decode()).find("input", name="roles_shown").get("value")
    admin.cookies["django_language"] = "en"
    sent = admin.post(url, {"decision": "grant", "reason": "Nothing requires keeping it.", "confirm": "on",
                            "roles_shown": digest})
    assert sent.status_code == 302


def test_an_erasure_is_not_granted_while_the_person_is_under_a_legal_hold():
    from portal.privacy.retention import legal_hold_set

    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha K")
    root = make_superadmin(email="root@sandes.nic.in")
    legal_hold_set(target_type="accounts.user", target_id=asha.pk, reason="Vigilance inquiry", actor=root)
    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    response = privacy_request_decide_as(root, made)
    assert response.status_code == 200
    assert "under a legal hold: release the hold before granting the erasure" in response.content.decode()
    asha.refresh_from_db()
    made.refresh_from_db()
    assert asha.is_active and asha.email == "asha@mha.gov.in" and made.status == "open"


@pytest.mark.parametrize("held_record", ["verification", "application"])
def test_an_erasure_is_not_granted_while_one_of_the_persons_records_is_under_a_legal_hold(held_record):
    """A hold on one record of the person (a verification record, an application) stops
    their erasure as a hold on the person does: the record and the events about it stay."""
    from portal.privacy.retention import legal_hold_set
    from verification.models import GovernmentProfile, VerificationStatus

    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha K")
    root = make_superadmin(email="root@sandes.nic.in")
    profile = GovernmentProfileFactory(user=asha, status=VerificationStatus.REVOKED, employee_code="EMP-HELD")
    application = ApplicationFactory(nodal_officer=asha)
    record = profile if held_record == "verification" else application
    audit_record(actor=asha, action=AuditAction.USER_LOGGED_IN, target=record, ip="10.1.2.3")
    target_type = "verification.governmentprofile" if held_record == "verification" else "onboarding.application"
    legal_hold_set(target_type=target_type, target_id=record.pk, reason="Court order", actor=root)
    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    response = privacy_request_decide_as(root, made)
    assert response.status_code == 200
    assert "is under a legal hold: release the hold before granting the erasure" \
        in html.unescape(response.content.decode())
    asha.refresh_from_db()
    made.refresh_from_db()
    assert asha.is_active and asha.email == "asha@mha.gov.in" and made.status == "open"
    assert GovernmentProfile.objects.get(pk=profile.pk).employee_code == "EMP-HELD"
    event = AuditEvent.objects.get(target_type=target_type, target_id=str(record.pk),
                                   action=AuditAction.USER_LOGGED_IN)
    assert event.redacted_at is None and event.actor_email == "asha@mha.gov.in" and event.ip == "10.1.2.3"


def test_the_download_holds_the_nominee_the_invitations_to_the_person_and_their_visibility_choices():
    from verification.rosters.models import Invitation
    from verification.visibility.models import Audience, PersonalVisibility

    asha, _application = person_with_records("asha@mha.gov.in", "E1")
    ravi = UserFactory(email="ravi@mha.gov.in")
    Nominee.objects.create(user=asha, name="Ravi Kulkarni", email="ravi.k@example.in", relationship="Brother",
                           recorded_at=timezone.now())
    organisation = OrganisationFactory(name="Home Department", short_code="HOME-MH")
    for email, code in (("asha@mha.gov.in", "ROSTER-ASHA"), ("ravi@mha.gov.in", "ROSTER-RAVI")):
        Invitation.objects.create(organisation=organisation, email=email, name="N", designation="Clerk", office="O",
                                  employee_code=code, mobile="+919876543210", invited_by=ravi, token_hash=code.ljust(64, "0"),
                                  created_at=timezone.now(), sent_at=timezone.now(),
                                  expires_at=timezone.now() + timedelta(days=30))
    PersonalVisibility.objects.create(user=asha, mobile=Audience.ORGANISATION)
    archive, data = unzip(client_of(asha).get("/privacy/my-data/download/"))
    assert data["nominee"]["name"] == "Ravi Kulkarni" and data["nominee"]["relationship"] == "Brother"
    assert [row["employee_code"] for row in data["roster_invitations"]] == ["ROSTER-ASHA"]
    assert data["visibility_choices"]["mobile"] == "organisation" and data["visibility_choices"]["name"] is None
    assert b"ROSTER-RAVI" not in b"".join(archive.read(name) for name in archive.namelist())


def test_an_erased_first_admin_administers_nothing_any_longer():
    from portal.organisations.models import Membership, MembershipRole
    from tests.factories import OrganisationFactory
    from tests.verification.helpers import make_admin

    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")
    first = make_admin(office, email="nodal.officer@pune.mahaagri.gov.in")  # as the approval makes one
    make_admin(office, email="deputy@pune.mahaagri.gov.in")  # the office keeps an admin
    made = privacy_request_make(user=first, kind="erasure", details="I have left the department.")
    privacy_request_decide_as(make_superadmin(email="root@sandes.nic.in"), made)
    assert not Membership.objects.filter(user=first, role=MembershipRole.ADMIN, is_active=True).exists()
    event = AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_REVOKED, target_id=str(office.pk))
    assert event.new_values["reason"] == "account_erased"


def test_an_erased_state_admins_platform_role_ends_audited():
    """A platform role is an official power of a closed account no longer: it ends with the
    erasure (state administrator here), by the system, with an audit row saying why."""
    from portal.organisations.role_selectors import platform_grants_in_force
    from tests.onboarding.approval_helpers import make_state_admin

    admin = make_state_admin("MH", email="sa.rathod@maharashtra.gov.in", totp=False)
    made = privacy_request_make(user=admin, kind="erasure", details="I retired; erase my account.")
    assert privacy_request_decide_as(make_superadmin(email="root@sandes.nic.in"), made).status_code == 302
    assert [grant for grant in platform_grants_in_force() if grant.user_id == admin.pk] == []
    grant = admin.platform_roles.get()
    assert grant.revoked_at is not None
    event = AuditEvent.objects.get(action=AuditAction.PLATFORM_ROLE_REVOKED, target_id=str(admin.pk))
    assert (event.actor_id, event.old_values["role"], event.old_values["jurisdiction"], event.new_values["reason"]) == (
        None, "state_admin", "MH", "account_erased")
    assert "sa.rathod@maharashtra.gov.in" not in str([event.target_repr, event.old_values, event.new_values])
    assert audit_verify() == []


def erasure_refused_as_last_superadmin(root, user, *, reason):
    """``root`` grants ``user``'s erasure and is refused at the decision, the reason typed
    kept: the request, read again, is returned."""
    made = privacy_request_make(user=user, kind="erasure", details="Please erase my account.")
    response = privacy_request_decide_as(root, made, reason=reason)
    assert response.status_code == 200
    tree = parse(response.content.decode())
    assert "the platform's last superadmin whose role does not end" in field_error(tree, "decision")
    assert field_value(tree, "reason") == reason
    made.refresh_from_db()
    return made


def test_the_erasure_of_the_platforms_last_superadmin_whose_role_does_not_end_is_refused():
    """Granting it would leave the platform with nobody able to grant a role once the
    deciding superadmin's role ends: refused at the decision, nothing changed, until the
    role is handed over."""
    from portal.organisations.models import PlatformRoleGrant
    from portal.organisations.role_selectors import platform_grants_in_force

    asha = make_superadmin(email="asha@sandes.nic.in")
    root = make_superadmin(email="root@sandes.nic.in")
    PlatformRoleGrant.objects.filter(user=root).update(ends_at=timezone.now() + timedelta(days=30))
    made = erasure_refused_as_last_superadmin(root, asha, reason="Left the department.")
    asha.refresh_from_db()
    assert (asha.is_active, asha.email, made.status) == (True, "asha@sandes.nic.in", "open")
    assert [grant.user_id for grant in platform_grants_in_force()] == [asha.pk, root.pk]


def test_the_erasure_of_the_platforms_last_superuser_is_refused():
    """A Django superuser is a superadmin whose role does not end (the first one, who grants
    the others): granting their erasure while the only other superadmin's role ends would
    leave the platform with nobody able to grant a role once that date passed. Refused at the
    decision as for a superadmin role granted in the portal, nothing changed."""
    from portal.organisations.models import PlatformRoleGrant
    from portal.permissions import is_superadmin
    from tests.onboarding.approval_helpers import with_totp

    first = UserFactory(email="first.root@nic.in", is_superuser=True, is_staff=True)
    with_totp(first)
    assert is_superadmin(first)
    root = make_superadmin(email="root@sandes.nic.in")
    PlatformRoleGrant.objects.filter(user=root).update(ends_at=timezone.now() + timedelta(days=30))
    made = erasure_refused_as_last_superadmin(root, first, reason="Retired.")
    first.refresh_from_db()
    assert (first.is_active, first.is_superuser, first.email, made.status) == (True, True, "first.root@nic.in", "open")
    assert not AuditEvent.objects.filter(action=AuditAction.PRIVACY_REQUEST_DECIDED).exists()


def test_the_erasure_of_an_organisations_last_admin_whose_role_does_not_end_is_refused():
    """Granting it would end the office's only admin role (revoking it is refused:
    LastAdmin): refused at the decision, naming the office, nothing changed, until the
    role is handed over."""
    from portal.organisations.models import Membership, MembershipRole
    from tests.factories import OrganisationFactory
    from tests.verification.helpers import make_admin

    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")
    first = make_admin(office, email="nodal.officer@pune.mahaagri.gov.in")
    acting = make_admin(office, email="acting@pune.mahaagri.gov.in")
    Membership.objects.filter(user=acting).update(ends_at=timezone.now() + timedelta(days=30))
    made = privacy_request_make(user=first, kind="erasure", details="I have left the department.")
    response = privacy_request_decide_as(make_superadmin(email="root@sandes.nic.in"), made, reason="Left.")
    assert response.status_code == 200
    tree = parse(response.content.decode())
    assert ("the last admin of District Agriculture Office, Pune whose role does not end"
            in field_error(tree, "decision"))
    assert field_value(tree, "reason") == "Left."
    first.refresh_from_db()
    made.refresh_from_db()
    assert (first.is_active, first.email, made.status) == (True, "nodal.officer@pune.mahaagri.gov.in", "open")
    assert Membership.objects.filter(user=first, role=MembershipRole.ADMIN, is_active=True).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).exists()


def test_an_erasure_redacts_the_persons_address_in_the_membership_events_of_their_organisations():
    """The events of an organisation about a person's admin role (granted, ended) carry their
    address and are read by its admins: an erasure redacts them, the role's end included,
    and leaves those about anyone else."""
    from portal.organisations.services import organisation_admin_grant
    from tests.verification.helpers import make_admin

    parent = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH")
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE", parent=parent)
    parent_admin = make_admin(parent, email="admin@mahaagri.gov.in")
    asha = make_admin(office, email="asha.k@pune.mahaagri.gov.in")
    ravi = make_admin(office, email="ravi@pune.mahaagri.gov.in")
    organisation_admin_grant(organisation_id=parent.pk, user_id=asha.pk, actor=parent_admin)
    organisation_admin_grant(organisation_id=parent.pk, user_id=ravi.pk, actor=parent_admin)
    assert AuditEvent.objects.filter(target_type="organisations.organisation", target_id=str(parent.pk),
                                     new_values__user="asha.k@pune.mahaagri.gov.in").exists()

    made = privacy_request_make(user=asha, kind="erasure", details="I have left the department.")
    assert privacy_request_decide_as(make_superadmin(email="root@sandes.nic.in"), made).status_code == 302

    naming_her = [event.pk for event in AuditEvent.objects.all() if "asha.k@pune.mahaagri.gov.in" in str(
        [event.actor_email, event.target_repr, event.old_values, event.new_values])]
    assert naming_her == []
    ended = AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED, target_type="organisations.organisation")
    assert {event.target_id for event in ended} == {str(office.pk), str(parent.pk)}
    assert all(event.new_values["reason"] == "account_erased" for event in ended)
    his = AuditEvent.objects.get(target_type="organisations.organisation", target_id=str(parent.pk),
                                 new_values__user="ravi@pune.mahaagri.gov.in")
    assert his.redacted_at is None
    assert audit_verify() == []


def invitation_accepted_by_a_predecessor():
    """An official address that passed from one holder of a post to the next: the
    predecessor accepted the invitation to it, then left; the successor confirmed the
    same address on their own account."""
    from allauth.account.models import EmailAddress

    from verification.rosters.models import Invitation

    organisation = OrganisationFactory(name="Home Department", short_code="HOME-MH")
    admin = UserFactory(email="admin@home.gov.in")
    predecessor = UserFactory(email="pred.personal@home.gov.in", full_name="Pred Ecessor")
    now = timezone.now()
    invitation = Invitation.objects.create(
        organisation=organisation, email="section.officer@home.gov.in", name="Pred Ecessor",
        designation="Section Officer", office="Establishment", employee_code="PRED-0001", mobile="+919811111111",
        invited_by=admin, token_hash="a" * 64, status="accepted", accepted_by=predecessor, accepted_at=now,
        created_at=now, sent_at=now, expires_at=now + timedelta(days=30))
    successor = UserFactory(email="succ@home.gov.in", full_name="Suc Cessor")
    EmailAddress.objects.create(user=successor, email="section.officer@home.gov.in", verified=True, primary=False)
    return invitation, predecessor, successor


def test_the_download_holds_the_invitation_the_person_accepted_not_one_another_accepted_at_their_address():
    _invitation, predecessor, successor = invitation_accepted_by_a_predecessor()
    archive, data = unzip(client_of(successor).get("/privacy/my-data/download/"))
    assert data["roster_invitations"] == []
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"PRED-0001" not in everything and b"+919811111111" not in everything
    _archive, theirs = unzip(client_of(predecessor).get("/privacy/my-data/download/"))
    assert [row["employee_code"] for row in theirs["roster_invitations"]] == ["PRED-0001"]


def test_an_erasure_leaves_the_invitation_another_person_accepted_at_the_persons_address():
    from verification.rosters.models import Invitation

    invitation, predecessor, successor = invitation_accepted_by_a_predecessor()
    made = privacy_request_make(user=successor, kind="erasure", details="Please erase my account.")
    assert privacy_request_decide_as(make_superadmin(email="root@sandes.nic.in"), made).status_code == 302
    kept = Invitation.objects.get(pk=invitation.pk)
    assert (kept.accepted_by, kept.employee_code, kept.mobile) == (predecessor, "PRED-0001", "+919811111111")
    made = privacy_request_make(user=predecessor, kind="erasure", details="Please erase my account.")
    assert privacy_request_decide_as(make_superadmin(email="root2@sandes.nic.in"), made).status_code == 302
    assert not Invitation.objects.filter(pk=invitation.pk).exists()


def test_an_erased_admins_address_leaves_the_records_they_decided_and_their_page_says_who_decided():
    """The record of someone else an erased admin decided keeps the account as who decided,
    not its address; its page says an administrator whose account was closed decided,
    in the latest decision and in the history, not that it was decided automatically."""
    from tests.verification.helpers import make_admin, signed_in
    from verification import services as verification
    from verification.models import VerificationStatus

    office = OrganisationFactory(name="Home Department", short_code="HOME-MH")
    asha = make_admin(office, email="asha.admin@mha.gov.in", full_name="Asha Kulkarni")
    other_admin = make_admin(office, email="admin@mha.gov.in")
    ravi = UserFactory(email="ravi@mha.gov.in")
    decided = GovernmentProfileFactory(user=ravi, organisation=office)
    verification.join_request_decide(profile_id=decided.pk, decision="verify", actor=asha)
    decided.refresh_from_db()
    assert (decided.decided_by_id, decided.decided_by_email) == (asha.pk, "asha.admin@mha.gov.in")
    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    assert privacy_request_decide_as(make_superadmin(email="root@sandes.nic.in"), made).status_code == 302
    decided.refresh_from_db()
    assert (decided.decided_by_id, decided.decided_by_email, decided.status) == (asha.pk, "", VerificationStatus.VERIFIED)
    page = html.unescape(signed_in(other_admin).get(f"/verification/profiles/{decided.pk}/").content.decode())
    assert "asha.admin@mha.gov.in" not in page
    assert "by an administrator whose account was closed" in page and "by someone whose details were erased" in page
    assert "automatically" not in page


def test_an_erasure_deletes_the_persons_drafts_with_their_files_and_keeps_their_submitted_applications(
        django_capture_on_commit_callbacks):
    from onboarding.models import Application, ApplicationVersion, Attachment

    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha Kulkarni")
    draft = ApplicationFactory(nodal_officer=asha, status="draft", reference=None, letter=True)
    stored = Attachment.objects.get(application=draft).file
    assert stored.storage.exists(stored.name)
    submitted = ApplicationFactory(nodal_officer=asha)
    others = ApplicationFactory(status="draft", reference=None)
    audit_record(actor=None, action=AuditAction.USER_LOGGED_IN, target=draft, ip="10.1.2.3", new={"remarks": "mine"})
    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    with django_capture_on_commit_callbacks(execute=True):
        assert privacy_request_decide_as(make_superadmin(email="root@sandes.nic.in"), made).status_code == 302
    assert not Application.objects.filter(pk=draft.pk).exists()
    assert not ApplicationVersion.objects.filter(application_id=draft.pk).exists()
    assert not stored.storage.exists(stored.name)
    assert set(Application.objects.values_list("pk", flat=True)) == {submitted.pk, others.pk}
    event = AuditEvent.objects.get(target_type="onboarding.application", target_id=str(draft.pk))
    assert event.redacted_at is not None and event.ip is None and "remarks" not in event.new_values
    assert audit_verify() == []


def test_an_erasure_withdraws_the_persons_applications_still_waiting_for_a_decision(django_capture_on_commit_callbacks):
    """Asha left service and asked for erasure, granted while one application of hers waits
    on its competent authority, another on the state administrators and a third was
    returned to her for correction. Her account is closed: nobody could act on them any
    more, yet the director's link still decided and the state's queue kept asking. Each is
    withdrawn, by the system for the erasure (its audit row says so), through the
    withdrawal's own path: its open step closed, the authority's link deciding nothing, and
    the authority and the state administrators it waited on told it was withdrawn on her
    behalf. One approved stays as it is."""
    from onboarding.models import Application, ApprovalStep
    from tests.factories import application_with_authority, application_with_state
    from tests.onboarding.approval_helpers import AUTHORITY_EMAIL, latest_link, make_state_admin, messages_to

    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha Kulkarni")
    state_admin = make_state_admin("MH", email="sa.rathod@maharashtra.gov.in")
    with_authority = application_with_authority(nodal_officer=asha)
    link, _token = latest_link(AUTHORITY_EMAIL)
    with_state = application_with_state(nodal_officer=asha)
    returned = ApplicationFactory(nodal_officer=asha, status="changes_requested")
    approved = ApplicationFactory(nodal_officer=asha, status="approved")
    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    with django_capture_on_commit_callbacks(execute=True):
        assert privacy_request_decide_as(make_superadmin(email="root@sandes.nic.in"), made).status_code == 302
    withdrawn = [with_authority.pk, with_state.pk, returned.pk]
    assert dict(Application.objects.filter(nodal_officer=asha).values_list("pk", "status")) == {
        **dict.fromkeys(withdrawn, "withdrawn"), approved.pk: "approved"}
    assert not ApprovalStep.objects.filter(application__nodal_officer=asha, decision="").exists()
    events = AuditEvent.objects.filter(action=AuditAction.APPLICATION_WITHDRAWN).order_by("id")
    assert [(event.target_id, event.actor_id, event.actor_role, event.old_values["status"], event.new_values)
            for event in events] == [
        (str(with_authority.pk), None, "system", "with_authority", {"status": "withdrawn", "reason": "account_erased"}),
        (str(with_state.pk), None, "system", "with_state", {"status": "withdrawn", "reason": "account_erased"}),
        (str(returned.pk), None, "system", "changes_requested", {"status": "withdrawn", "reason": "account_erased"})]
    Client().post(link, {"decision": "approve", "confirm": "on"})
    assert Application.objects.get(pk=with_authority.pk).status == "withdrawn"
    [told] = [m for m in messages_to(AUTHORITY_EMAIL) if "withdrawn" in m.subject]
    assert with_authority.reference in told.subject and (
        f"Application {with_authority.reference} of {with_authority.organisation_name} was withdrawn on behalf of its "
        "nodal officer, who can no longer act on it. No decision is needed from you any more, and the link sent to you "
        "no longer works.") in told.body
    [told] = [m for m in messages_to(state_admin.email) if "withdrawn" in m.subject]
    assert with_state.reference in told.subject and (
        f"Application {with_state.reference} of {with_state.organisation_name} was withdrawn on behalf of its nodal "
        "officer, who can no longer act on it.") in told.body
    assert not [m for m in OutboxMessage.objects.all() if "asha" in " ".join(m.to + m.cc + m.bcc)]
    assert audit_verify() == []


def test_an_erasure_closes_the_persons_appeal_that_nobody_could_grant_any_more(django_capture_on_commit_callbacks):
    """Asha's application was rejected and she appealed; then her erasure was granted. Her
    account is closed: overturning the rejection would make it the organisation's admin,
    which final approval refuses, so only "uphold" was left, and the appeal would have
    waited in the superadmins' queue (reminded, escalated) for a decision nobody could
    make otherwise. The system closes it at the erasure: the rejection upheld, the remark
    saying why, audited as the system's decision; the superadmins who were told the
    appeal waits on them are told it no longer does (in English and Hindi); she is not."""
    from onboarding.approval import services as approval_services
    from onboarding.models import Application, ApprovalStep
    from portal.privacy.requests import person_erase
    from tests.factories import application_with_state
    from tests.onboarding.approval_helpers import DEVANAGARI_RE, messages_to, state_step

    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha Kulkarni")
    rejecting = make_superadmin(email="root@sandes.nic.in")
    hearing = make_superadmin(email="second@sandes.nic.in")
    application = application_with_state(nodal_officer=asha)
    approval_services.step_decide(step_id=state_step(application).pk, decision="reject", remarks="No.",
                                  actor=rejecting)
    appeal = approval_services.application_appeal(application_id=application.pk, grounds="Yes.", actor=asha)
    last = OutboxMessage.objects.order_by("-id").values_list("pk", flat=True).first()
    with django_capture_on_commit_callbacks(execute=True):
        person_erase(user_id=asha.pk, actor=None)

    application.refresh_from_db()
    assert application.status == "rejected_final" and application.closed_at is not None
    assert not ApprovalStep.objects.filter(application=application, decision="").exists()
    appeal.refresh_from_db()
    assert (appeal.decision, appeal.remarks, appeal.decided_by_id, appeal.decided_by_email) == (
        "uphold", "The nodal officer's account was erased.", None, "")
    event = AuditEvent.objects.get(action=AuditAction.STEP_DECIDED, target_id=str(application.pk),
                                   new_values__step=appeal.pk)
    assert (event.actor_id, event.actor_role, event.old_values, event.new_values) == (
        None, "system", {"status": "under_appeal"},
        {"status": "rejected_final", "step": appeal.pk, "stage": "appeal", "decision": "uphold",
         "remarks": "The nodal officer's account was erased.", "version": appeal.version_number,
         "reason": "account_erased"})
    [told] = [m for m in messages_to(hearing.email) if m.pk > last]
    assert told.to == [hearing.email]
    assert f"Appeal on application {application.reference} closed: no longer waiting for you" in told.subject
    assert (f"The nodal officer of application {application.reference} of {application.organisation_name} no "
            "longer has an account (it was erased), so the appeal against its rejection could no longer be granted: "
            "the portal closed it, upholding the rejection. There is nothing left for you to decide, and it has left "
            "the appeals waiting for a decision.") in told.body
    assert DEVANAGARI_RE.search(told.body) and DEVANAGARI_RE.search(told.subject)
    # The superadmin who made the rejection was never asked to hear the appeal: not told.
    assert not [m for m in messages_to(rejecting.email) if m.pk > last]
    assert not [m for m in OutboxMessage.objects.filter(pk__gt=last) if "asha" in " ".join(m.to + m.cc + m.bcc)]
    assert Application.objects.get(pk=application.pk).status == "rejected_final"
    assert audit_verify() == []


def test_an_erasure_removes_the_mail_to_the_person_from_the_outbox():
    from django.core.mail import EmailMessage

    from portal.mail.services import outbox_enqueue

    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha Kulkarni")
    outbox_enqueue(messages=[
        EmailMessage(subject="Hello Asha Kulkarni", body="Dear Asha Kulkarni", to=["Asha@mha.gov.in"]),
        EmailMessage(subject="Reminder", body="A step waits.", to=["asha@mha.gov.in", "ravi@mha.gov.in"]),
        EmailMessage(subject="To Ravi", body="Dear Ravi", to=["ravi@mha.gov.in"], cc=["asha@mha.gov.in"]),
        EmailMessage(subject="Not her", body="Dear Basha", to=["basha@mha.gov.in"]),
    ])
    OutboxMessage.objects.filter(subject="Not her").update(status="sent")
    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    assert privacy_request_decide_as(make_superadmin(email="root@sandes.nic.in"), made).status_code == 302
    left = {row.subject: (row.to, row.cc) for row in OutboxMessage.objects.exclude(to__icontains="sandes.nic.in")}
    assert left == {"Reminder": (["ravi@mha.gov.in"], []), "To Ravi": (["ravi@mha.gov.in"], []),
                    "Not her": (["basha@mha.gov.in"], [])}


def test_an_erasure_removes_the_persons_address_from_the_reply_to_and_the_delivery_record_of_mail_to_others():
    """A mail to others that names the person as the address to reply to (a decision's
    confirmation names the administrators who may decide next), or whose delivery record
    names them (delivered to them, refused for another), keeps going to the others without
    the person's address anywhere in its row."""
    from django.core.mail import EmailMessage

    from portal.mail.services import outbox_enqueue

    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha Kulkarni")
    outbox_enqueue(messages=[
        EmailMessage(subject="Recorded", body="Your decision was recorded.", to=["authority@mahaagri.gov.in"],
                     reply_to=["Asha@mha.gov.in", "ravi@mha.gov.in"]),
        EmailMessage(subject="Minutes", body="Attached.", to=["director@mha.gov.in"]),
    ])
    OutboxMessage.objects.filter(subject="Minutes").update(
        status="sent", last_error="Delivered to ASHA@mha.gov.in. Failed for director@mha.gov.in: 552 Mailbox full")
    outbox_enqueue(messages=[EmailMessage(subject="To Basha", body="Attached.", to=["basha@mha.gov.in"])])
    OutboxMessage.objects.filter(subject="To Basha").update(
        status="sent", last_error="Delivered to basha@mha.gov.in, asha@mha.gov.in.org.example")
    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    assert privacy_request_decide_as(make_superadmin(email="root@sandes.nic.in"), made).status_code == 302
    recorded, minutes = OutboxMessage.objects.get(subject="Recorded"), OutboxMessage.objects.get(subject="Minutes")
    assert (recorded.to, recorded.reply_to) == (["authority@mahaagri.gov.in"], ["ravi@mha.gov.in"])
    assert minutes.to == ["director@mha.gov.in"]
    assert minutes.last_error == "Delivered to (an erased address). Failed for director@mha.gov.in: 552 Mailbox full"
    # Others' addresses that hold hers stay whole.
    assert OutboxMessage.objects.get(subject="To Basha").last_error == (
        "Delivered to basha@mha.gov.in, asha@mha.gov.in.org.example")


def test_an_erasure_removes_the_mail_to_the_persons_official_addresses_that_left_the_account():
    """The yearly confirmation mail went to the person's official address, a second address
    of their account that they later removed (their verification is suspended for it): the
    erasure removes that mail too, as the address the person's verification records and
    their confirmation links name. Mail at an earlier official address of theirs that now
    belongs to another account (it passed with the post) stays: it may be the other's."""
    from allauth.account.models import EmailAddress
    from django.core.mail import EmailMessage

    from portal.mail.services import outbox_enqueue
    from verification import lifecycle
    from verification.models import VerificationStatus

    asha = UserFactory(email="asha.home@mha.gov.in", full_name="Asha Kulkarni")
    official, passed = "asha.kulkarni@mahaagri.gov.in", "deputy.director@mahaagri.gov.in"
    EmailAddress.objects.create(user=asha, email=official, verified=True, primary=False)
    profile = GovernmentProfileFactory(user=asha, official_email=official, status=VerificationStatus.VERIFIED,
                                       verified_at=timezone.now() - timedelta(days=400))
    GovernmentProfileFactory(user=asha, official_email=passed.upper(), status=VerificationStatus.REVOKED)
    UserFactory(email=passed, full_name="Ravi Deshpande")
    assert lifecycle.confirmations_request(profile_ids=[profile.pk]) == 1
    outbox_enqueue(messages=[EmailMessage(subject="To the deputy director", body="Dear Ravi", to=[passed])])
    assert OutboxMessage.objects.filter(to__contains=[official]).exists()
    # The person removes the address from their account.
    EmailAddress.objects.filter(user=asha, email=official).delete()
    lifecycle.profiles_suspend_address_removed(user_id=asha.pk, email=official)

    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    assert privacy_request_decide_as(make_superadmin(email="root@sandes.nic.in"), made).status_code == 302
    assert list(OutboxMessage.objects.filter(to__icontains="asha").values_list("subject", "to")) == []
    assert list(OutboxMessage.objects.filter(to__contains=[passed]).values_list("subject", flat=True)) == [
        "To the deputy director"]


def test_no_mail_is_written_to_an_erased_nodal_officer_when_their_application_is_decided():
    """A nodal officer's erasure was granted while their appeal against a rejection waited
    for the superadmins (an application under appeal is not withdrawn: its appeal is decided,
    by the system, as the account is erased): the portal writes no mail to the officer, at
    their address or at the placeholder address the account was given (it would be tried for
    72 hours and then show as failed), and no superadmin decides it again."""
    from onboarding.approval import services as approval_services
    from portal.privacy.requests import person_erase
    from tests.factories import application_with_state
    from tests.onboarding.approval_helpers import make_state_admin, state_step

    application = application_with_state(jurisdiction="MH")
    admin = make_state_admin("MH", totp=False)
    officer = application.nodal_officer
    address = officer.email
    approval_services.step_decide(step_id=state_step(application).pk, decision="reject",
                                  remarks="A duplicate of another application.", actor=admin)
    appeal = approval_services.application_appeal(application_id=application.pk, grounds="Not a duplicate.",
                                                  actor=officer)
    make_superadmin(totp=False)
    last = OutboxMessage.objects.order_by("-id").values_list("pk", flat=True).first() or 0
    person_erase(user_id=officer.pk, actor=None)
    officer.refresh_from_db()
    assert officer.email.endswith("@erased.invalid") and not officer.is_active
    recipients = [address for row in OutboxMessage.objects.filter(pk__gt=last) for address in row.to + row.cc + row.bcc]
    assert recipients, "the superadmins are told the appeal was closed"
    assert not [to for to in recipients if to.endswith("@erased.invalid") or to == address], recipients
    with pytest.raises(approval_services.StepAlreadyDecided):
        approval_services.appeal_decide(step_id=appeal.pk, decision="uphold", remarks="It is a duplicate.",
                                        actor=make_superadmin(totp=False))


def test_mail_to_an_erased_address_and_others_goes_to_the_others_only():
    """A message naming an erased person's placeholder address and someone else goes to the
    other person; one naming nobody else is not written at all (single and batch enqueue)."""
    from django.core.mail import EmailMessage

    from portal.accounts.models import erased_email
    from portal.mail.services import outbox_enqueue, outbox_enqueue_each

    erased = erased_email(41)
    outbox_enqueue(messages=[
        EmailMessage(subject="Both", body="b", to=[erased, "ravi@mha.gov.in"], cc=[erased.upper()]),
        EmailMessage(subject="Only erased", body="e", to=[f"Erased <{erased}>"]),
    ])
    ids = outbox_enqueue_each(subject="Each", body="Dear NAME", to=["ravi@mha.gov.in", erased, "basha@mha.gov.in"],
                              fills={"NAME": ["Ravi", "Erased", "Basha"]})
    rows = {(row.subject, tuple(row.to), tuple(row.cc), row.body) for row in OutboxMessage.objects.all()}
    assert rows == {("Both", ("ravi@mha.gov.in",), (), "b"), ("Each", ("ravi@mha.gov.in",), (), "Dear Ravi"),
                    ("Each", ("basha@mha.gov.in",), (), "Dear Basha")}
    assert len(ids) == 2


def test_the_authoritys_reminder_does_not_send_them_to_an_erased_officers_address():
    """The competent authority's reminder no longer tells them to write to the nodal officer
    at the placeholder address of an erased account; it still tells them to keep the link.
    (An erasure withdraws the applications waiting on an authority: this one, of an account
    erased, is built as one left waiting.)"""
    from onboarding.approval.deadlines import deadline_sweep
    from portal.privacy.requests import person_erase
    from tests.factories import application_with_authority

    officer = UserFactory(email="nodal.officer@mahaagri.gov.in")
    person_erase(user_id=officer.pk, actor=None)
    application = application_with_authority(jurisdiction="MH", nodal_officer=officer)
    step = application.steps.get()
    last = OutboxMessage.objects.order_by("-id").values_list("pk", flat=True).first() or 0
    deadline_sweep(now=step.due_at - timedelta(days=1))
    [reminder] = OutboxMessage.objects.filter(pk__gt=last, to=[step.assignee_email])
    assert "erased.invalid" not in reminder.body and "To reach the nodal officer" not in reminder.body, reminder.body
    assert "Do not reply to this email or forward it: it holds your link." in reminder.body
    assert "या ई-मेलला उत्तर देऊ नका किंवा तो पुढे पाठवू नका: त्यात तुमची लिंक आहे." in reminder.body


def test_an_erasure_removes_the_persons_rows_from_the_rosters_staged():
    from tests.verification.helpers import make_admin
    from verification.rosters.models import RosterImport, RosterRow

    office = OrganisationFactory(name="Home Department", short_code="HOME-MH")
    admin = make_admin(office, email="admin@mha.gov.in")
    asha = UserFactory(email="asha@mha.gov.in", full_name="Asha Kulkarni")
    roster = RosterImport.objects.create(organisation=office, uploaded_by=admin, uploaded_at=timezone.now(),
                                         file_name="roster.csv", file_sha256="0" * 64, file_format="csv", row_count=2)
    for line, (name, email) in enumerate((("Asha Kulkarni", "asha@mha.gov.in"), ("Ravi K", "ravi@mha.gov.in")), 2):
        RosterRow.objects.create(roster=roster, line=line, name=name, email=email, mobile="+919876543210",
                                 outcome="unchanged")
    made = privacy_request_make(user=asha, kind="erasure", details="Please erase my account.")
    assert privacy_request_decide_as(make_superadmin(email="root@sandes.nic.in"), made).status_code == 302
    assert list(RosterRow.objects.values_list("roster_id", "email")) == [(roster.pk, "ravi@mha.gov.in")]
    assert RosterImport.objects.get(pk=roster.pk).row_count == 2


def test_an_erased_state_admins_address_leaves_the_approval_steps_they_decided():
    """The steps an erased state admin decided keep the account as who decided, not its
    address, nor the address and browser they decided from: the application's page and its
    approval letter name an administrator whose details were erased. A step the competent authority decided by its address (no
    account) keeps the address."""
    from onboarding.approval.letters import approval_letter_html
    from onboarding.models import ApprovalStep
    from tests.factories import ApprovalStepFactory
    from tests.onboarding.approval_helpers import make_state_admin

    state_admin = make_state_admin(jurisdiction="MH", email="sa.rathod@maharashtra.gov.in")
    application = ApplicationFactory(status="changes_requested", jurisdiction="MH")
    now = timezone.now()
    authority = ApprovalStepFactory(application=application, stage="authority", decision="approve",
                                    assignee_email="secretary@maharashtra.gov.in", assignee_name="Secretary",
                                    decided_at=now - timedelta(days=1), decided_by=None,
                                    decided_by_email="secretary@maharashtra.gov.in")
    # An earlier one decided through a link forwarded to the state admin, opened signed in: their
    # account is recorded, the address is the authority's and stays.
    forwarded = ApprovalStepFactory(application=application, stage="authority", decision="return", remarks="Fix it",
                                    assignee_email="secretary@maharashtra.gov.in", assignee_name="Secretary",
                                    opened_at=now - timedelta(days=3), decided_at=now - timedelta(days=2),
                                    decided_by=state_admin, decided_by_email="secretary@maharashtra.gov.in")
    step = ApprovalStepFactory(application=application, stage="state", decision="return", remarks="Fix the letter",
                               decided_at=now, decided_by=state_admin, decided_by_email=state_admin.email,
                               ip="198.51.100.23", user_agent="Mozilla/5.0 (Asha's laptop)")
    ApprovalStep.objects.filter(pk=forwarded.pk).update(ip="198.51.100.24", user_agent="Mozilla/5.0 (office)")
    ApprovalStep.objects.filter(pk=authority.pk).update(ip="203.0.113.9", user_agent="Mozilla/5.0 (secretary)")
    made = privacy_request_make(user=state_admin, kind="erasure", details="Erase me")
    assert privacy_request_decide_as(make_superadmin(email="root@sandes.nic.in"), made).status_code == 302

    step.refresh_from_db()
    assert (step.decided_by_id, step.decided_by_email, step.remarks) == (state_admin.pk, "", "Fix the letter")
    assert ApprovalStep.objects.get(pk=authority.pk).decided_by_email == "secretary@maharashtra.gov.in"
    assert ApprovalStep.objects.get(pk=forwarded.pk).decided_by_email == "secretary@maharashtra.gov.in"
    # Where and with what browser they decided from is theirs too (retention's closed_reduce
    # clears it), on the step they decided through the authority's link as well; the
    # authority's own step keeps its.
    assert (step.ip, step.user_agent) == (None, "")
    assert ApprovalStep.objects.filter(pk=forwarded.pk).values_list("ip", "user_agent").get() == (None, "")
    assert ApprovalStep.objects.filter(pk=authority.pk).values_list("ip", "user_agent").get() == (
        "203.0.113.9", "Mozilla/5.0 (secretary)")
    page = html.unescape(client_of(application.nodal_officer).get(f"/onboarding/{application.pk}/").content.decode())
    assert "sa.rathod@maharashtra.gov.in" not in page
    assert "an administrator whose details were erased" in page and "secretary@maharashtra.gov.in" in page
    letter = html.unescape(approval_letter_html(application, issued_at=now, authority=authority))
    assert "sa.rathod@maharashtra.gov.in" not in letter and "an administrator whose details were erased" in letter


def test_an_erasure_closes_the_persons_other_requests_and_empties_what_they_wrote():
    """The person's other requests lose what they wrote; those still waiting are closed
    (nobody is left to decide them for, and the superadmins are no longer reminded of them),
    audited, and the events about them are redacted with the person's."""
    asha = UserFactory(email="asha.k@maharashtra.gov.in")
    root = make_superadmin(email="root@sandes.nic.in")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        earlier = privacy_request_make(user=asha, kind="correction", details="My designation is Under Secretary.")
        assert client_of(root).post(f"/portal/privacy/requests/{earlier.pk}/", {
            "decision": "refuse", "reason": "Asha Kulkarni's office must confirm it first."}).status_code == 302
        correction = privacy_request_make(user=asha, kind="correction",
                                          details="My name is Asha Kulkarni, mobile 98765 43210, not Asha Kulkarny")
        erasure = privacy_request_make(user=asha, kind="erasure", details="Erase me")
        assert privacy_request_decide_as(root, erasure).status_code == 302

    rows = {row.pk: row for row in PrivacyRequest.objects.all()}
    assert (rows[correction.pk].status, rows[correction.pk].details, rows[correction.pk].decided_by_id) == (
        "closed", "", root.pk)
    assert (rows[earlier.pk].status, rows[earlier.pk].details) == ("refused", "")
    assert (rows[erasure.pk].status, rows[erasure.pk].details) == ("granted", "Erase me")
    page = html.unescape(client_of(root).get(f"/portal/privacy/requests/{correction.pk}/").content.decode())
    assert "98765 43210" not in page and "Closed: the account was erased" in page
    assert "Waiting for a decision" not in page and "Record the decision" not in page
    with time_machine.travel(start + timedelta(days=31), tick=False):
        assert privacy_requests_sweep() == {"reminded": 0, "escalated": 0}
    for made in (earlier, correction):
        about = AuditEvent.objects.filter(target_type="privacy.privacyrequest", target_id=str(made.pk),
                                          action__in=[AuditAction.PRIVACY_REQUEST_MADE, AuditAction.PRIVACY_REQUEST_DECIDED])
        assert about.exists()
        assert "Asha Kulkarni" not in str(list(about.values())) and "asha.k@" not in str(list(about.values()))
    closing = AuditEvent.objects.get(target_type="privacy.privacyrequest", target_id=str(correction.pk),
                                     action=AuditAction.PRIVACY_REQUEST_DECIDED)
    assert (closing.actor_id, closing.old_values, closing.new_values) == (
        root.pk, {"status": "open"}, {"status": "closed", "reason": "account_erased"})
    assert audit_verify() == []


def test_a_superadmin_decides_no_request_of_another_account_of_their_own_mailbox():
    from portal.privacy.requests import privacy_request_decide

    root = make_superadmin(email="root@sandes.nic.in")
    make_superadmin(email="other.root@sandes.nic.in")
    mine = UserFactory(email="root+me@sandes.nic.in")
    made = privacy_request_make(user=mine, kind="correction", details="My designation is Under Secretary.")
    with pytest.raises(ValidationError, match="Someone else must decide your own request"):
        privacy_request_decide(request_id=made.pk, grant=False, reason="No.", actor=root)
    made.refresh_from_db()
    assert made.status == "open"
