"""The filled form and the approval letter in English and in the application's second
language (Marathi for Maharashtra, Hindi elsewhere): chosen on the download link,
each rendered once per version and language, Devanagari read back from the PDF."""

import copy
import io
import re
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from pypdf import PdfReader

from onboarding.application import pdf
from onboarding.approval import services as approvals
from onboarding.approval.letters import approval_letter_document, approval_letter_html, approval_letter_issue
from onboarding.models import ApplicationDocument, DocumentKind
from portal.audit.models import AuditAction, AuditEvent
from portal.mail.models import OutboxMessage
from portal.organisations.models import OrganisationDomain
from tests.factories import OrganisationDomainFactory, OrganisationFactory, UserFactory, application_with_state
from tests.onboarding.approval_helpers import authority_approved, make_state_admin, signed_in, state_step
from tests.onboarding.form_helpers import complete, new_application, submit
from tests.onboarding.test_pdf import pdf_text, squash
from tests.onboarding_data import VALID

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")


def get_pdf(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "application/pdf"
    return response, b"".join(response.streaming_content)


def test_the_form_pdf_in_marathi_for_maharashtra(officer_client, officer, django_capture_on_commit_callbacks):
    application = submit(officer_client, complete(officer_client, new_application(officer)), django_capture_on_commit_callbacks)
    assert pdf.document_languages(application) == ("en", "mr")
    _response, english = get_pdf(officer_client, f"/onboarding/{application.pk}/form.pdf")
    response, marathi = get_pdf(officer_client, f"/onboarding/{application.pk}/form.pdf?language=mr")
    assert f'{application.reference}-onboarding-form-mr.pdf' in response["Content-Disposition"]
    text = pdf_text(marathi)
    assert "संदेस संस्था ऑनबोर्डिंग फॉर्म" in text and "संदर्भ क्रमांक" in text  # the form's own words, in Marathi
    # The typed Devanagari name and the Marathi section title (pypdf splits some of the
    # conjuncts Marathi shapes: a rendering of the page to PNG showed them drawn whole).
    assert "कृषी संचालनालय" in text and "1. संस्थेचा तपशील" in text
    assert application.reference in squash(text)
    assert "Sandes organisation onboarding form" in squash(pdf_text(english))
    assert PdfReader(io.BytesIO(marathi)).metadata is not None
    # Stored once per version and language, then served from storage.
    documents = ApplicationDocument.objects.filter(application=application, kind=DocumentKind.FORM_PDF)
    assert sorted(documents.values_list("version", "language")) == [(application.version, "en"), (application.version, "mr")]
    assert get_pdf(officer_client, f"/onboarding/{application.pk}/form.pdf?language=mr")[1] == marathi
    assert documents.count() == 2


@pytest.mark.parametrize("language", ["mr", "xx", "EN", "../en"])
def test_a_language_the_application_is_not_made_in_is_a_404(officer_client, officer, language):
    application = new_application(officer)  # no jurisdiction yet: English and Hindi
    assert officer_client.get(f"/onboarding/{application.pk}/form.pdf?language={language}").status_code == 404
    assert not ApplicationDocument.objects.exists()


def test_the_download_links_offer_both_languages(officer_client, officer):
    application = new_application(officer)
    html = officer_client.get(f"/onboarding/{application.pk}/tasks/").content.decode()
    assert f'href="/onboarding/{application.pk}/form.pdf"' in html
    assert f'href="/onboarding/{application.pk}/form.pdf?language=hi"' in html and "हिंदी" in html


@pytest.mark.parametrize(("state", "language"), [("MH", "mr"), ("KA", "hi"), ("KA", "en")])
def test_a_drafts_page_footer_says_draft_in_the_pdfs_language(officer_client, officer, state, language):
    """A draft has no reference yet: its pages' footer says it is a draft, in the PDF's language."""
    from django.utils import translation

    from tests.onboarding.approval_helpers import filled_application
    from tests.onboarding_data import VALID

    data = {section: dict(values) for section, values in VALID.items()}
    data["organisation"]["state"] = state
    application = filled_application(officer, data)
    _response, content = get_pdf(officer_client, f"/onboarding/{application.pk}/form.pdf?language={language}")
    pages = PdfReader(io.BytesIO(content)).pages
    with translation.override(language):
        draft = translation.gettext("DRAFT")
    assert (language == "en") == (draft == "DRAFT")
    footers = [line for line in pdf_text(content).splitlines() if re.search(r"\d+ / \d+\s*$", line)]
    assert [squash(footer) for footer in footers] == [f"{draft} · {n} / {len(pages)}" for n in range(1, len(pages) + 1)]


def approve(application, django_capture_on_commit_callbacks, jurisdiction):
    with django_capture_on_commit_callbacks(execute=True):
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=make_state_admin(jurisdiction))
    application.refresh_from_db()
    return application


def test_the_approval_letter_in_english_and_hindi_outside_maharashtra(django_capture_on_commit_callbacks):
    with time_machine.travel(datetime(2026, 3, 10, 11, 0, tzinfo=IST), tick=False):
        application = approve(application_with_state(jurisdiction="KA"), django_capture_on_commit_callbacks, "KA")
    assert pdf.document_languages(application) == ("en", "hi")
    letters = {d.language: d for d in ApplicationDocument.objects.filter(application=application,
                                                                         kind=DocumentKind.APPROVAL_LETTER)}
    assert set(letters) == {"en", "hi"}
    [mail] = [m for m in OutboxMessage.objects.all() if m.subject.startswith("Approval letter")]
    assert [a["filename"] for a in mail.attachments] == [f"{application.reference}-approval-letter.pdf",
                                                         f"{application.reference}-approval-letter-hi.pdf"]
    client = signed_in(application.nodal_officer)
    _response, english = get_pdf(client, f"/onboarding/{application.pk}/approval-letter.pdf")
    response, hindi = get_pdf(client, f"/onboarding/{application.pk}/approval-letter.pdf?language=hi")
    assert f"{application.reference}-approval-letter-hi.pdf" in response["Content-Disposition"]
    english_text, hindi_text = squash(pdf_text(english)), pdf_text(hindi)
    assert "10 March 2026" in english_text and "/ प्रति" not in english_text  # one language per letter
    # Each decision as what happened, not as the action offered on the decision form ("Approve").
    assert "Competent authority Approved · " in english_text
    assert "State or central administrators Approved · " in english_text
    # Rendered in Hindi (words pypdf reads back whole: it splits some conjuncts and vowel signs,
    # which a rendering of the page to PNG showed drawn correctly).
    assert "भारत सरकार" in hindi_text and "अनुमोदन पत्र" in hindi_text
    assert "Government of India" not in hindi_text and "To:" not in hindi_text
    assert application.reference in hindi_text
    assert client.get(f"/onboarding/{application.pk}/approval-letter.pdf?language=mr").status_code == 404


@pytest.mark.parametrize(("jurisdiction", "second"), [("KA", "hi"), ("MH", "mr")])
def test_each_half_of_the_approval_letters_mail_links_the_letter_in_its_own_language(
    jurisdiction, second, django_capture_on_commit_callbacks
):
    """The mail is in English, then in the application's second language; each half says the
    nodal officer can download the letter, and links the letter in the language it is written
    in, which the officer, signed in, gets by following it."""
    application = approve(application_with_state(jurisdiction=jurisdiction), django_capture_on_commit_callbacks,
                          jurisdiction)
    [mail] = [m for m in OutboxMessage.objects.all() if m.subject.startswith("Approval letter")]
    english, rule, other = mail.body.partition("\n\n----------\n\n")
    assert rule
    client = signed_in(application.nodal_officer)
    for half, language, suffix in ((english, "en", ""), (other, second, f"-{second}")):
        [link] = re.findall(rf"{re.escape(settings.SITE_URL)}/\S+", half)
        url = urlsplit(link)
        assert (url.path, url.query) == (f"/onboarding/{application.pk}/approval-letter.pdf",
                                         "" if language == "en" else f"language={language}")
        response, _content = get_pdf(client, f"{url.path}?{url.query}" if url.query else url.path)
        assert f"{application.reference}-approval-letter{suffix}.pdf" in response["Content-Disposition"]


def test_a_letter_issued_in_english_only_is_rendered_in_the_second_language_when_asked(
    officer, django_capture_on_commit_callbacks
):
    application = approve(authority_approved(officer), django_capture_on_commit_callbacks, "MH")
    english = ApplicationDocument.objects.get(application=application, kind=DocumentKind.APPROVAL_LETTER, language="en")
    ApplicationDocument.objects.filter(application=application, language="mr").delete()  # as issued before this change
    mails = OutboxMessage.objects.count()
    _response, marathi = get_pdf(signed_in(officer), f"/onboarding/{application.pk}/approval-letter.pdf?language=mr")
    stored = ApplicationDocument.objects.get(application=application, kind=DocumentKind.APPROVAL_LETTER, language="mr")
    assert stored.size == len(marathi)
    assert OutboxMessage.objects.count() == mails  # not mailed again
    assert approval_letter_document(application=application, language="mr") == stored
    assert approval_letter_issue(application_id=application.pk) == english


def test_a_letter_rendered_at_a_download_is_audited_as_the_downloaders(django_capture_on_commit_callbacks):
    application = approve(application_with_state(jurisdiction="KA"), django_capture_on_commit_callbacks, "KA")
    issued = AuditEvent.objects.filter(action=AuditAction.APPLICATION_PDF_RENDERED).latest("id")
    assert issued.actor_role == "system"  # issued by the approval's task
    ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER,
                                       language="hi").delete()  # as issued before this change: English only
    reader = make_state_admin("KA")
    client = signed_in(reader)
    client.defaults.update(HTTP_USER_AGENT="ReaderBrowser/2.0", REMOTE_ADDR="198.51.100.9")
    get_pdf(client, f"/onboarding/{application.pk}/approval-letter.pdf?language=hi")
    event = AuditEvent.objects.filter(action=AuditAction.APPLICATION_PDF_RENDERED).latest("id")
    assert event.new_values["language"] == "hi"
    assert (event.actor_id, event.actor_email, event.ip, event.user_agent) == (
        reader.pk, reader.email, "198.51.100.9", "ReaderBrowser/2.0")


@pytest.mark.parametrize(("jurisdiction", "language", "not_accepted"), [
    ("KA", "hi", "सूचीबद्ध, पर संगठन के अपने डोमेन के रूप में स्वीकार नहीं किए गए"),
    ("MH", "mr", "सूचीबद्ध, पण संस्थेचे स्वतःचे डोमेन म्हणून स्वीकारलेले नाहीत"),
])
def test_the_approval_letter_names_as_the_organisations_only_the_domains_accepted(
    django_capture_on_commit_callbacks, jurisdiction, language, not_accepted
):
    """An official letter states what the approval granted: a domain official for another
    organisation, or one off the official suffixes waiting for a superadmin, is recorded for
    the new organisation but not made its own, and the letter says so rather than list it
    among its email domains."""
    home_affairs = OrganisationFactory(name="Ministry of Home Affairs", short_code="MHA", level="central", state="")
    OrganisationDomainFactory(organisation=home_affairs, domain="mha.gov.in", is_verified=True)
    data = copy.deepcopy(VALID)
    data["organisation"]["state"] = jurisdiction
    data["organisation"]["email_domains"] = "mahaagri.gov.in, mha.gov.in, agri-karnataka.org"
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in")
    data["nodal_officer"]["official_email"] = officer.email
    application = approve(application_with_state(jurisdiction=jurisdiction, data=data, nodal_officer=officer),
                          django_capture_on_commit_callbacks, jurisdiction)
    claims = dict(OrganisationDomain.objects.filter(organisation=application.organisation)
                  .values_list("domain", "is_verified"))
    assert claims == {"mahaagri.gov.in": True, "mha.gov.in": False, "agri-karnataka.org": False}
    letters = {d.language: d for d in ApplicationDocument.objects.filter(application=application,
                                                                         kind=DocumentKind.APPROVAL_LETTER)}
    english = squash(pdf_text(letters["en"].file.read()))
    assert ("Email domains mahaagri.gov.in Listed but not accepted as the organisation's own: "
            "agri-karnataka.org, mha.gov.in Administrator") in english
    # In Devanagari, after the note (pypdf splits some of its conjuncts; the page wraps where it will).
    second = "".join(pdf_text(letters[language].file.read()).split())
    assert ":agri-karnataka.org,mha.gov.in" in second and second.count("mha.gov.in") == 1
    html = approval_letter_html(application, issued_at=timezone.now(), authority=None, language=language)
    assert f"{not_accepted}: agri-karnataka.org, mha.gov.in" in html
