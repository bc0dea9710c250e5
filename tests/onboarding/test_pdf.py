"""The filled onboarding form as a PDF: its content (read back with pypdf), rendered
once per version and then served from storage, and a URL fetcher that embeds
nothing but our own static files."""

import hashlib
import http.server
import io
import os
import re
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader, PdfWriter
from weasyprint import HTML

from onboarding.application import pdf
from onboarding.application.declarations import NOTICE_VERSION
from onboarding.models import Application, ApplicationDocument, ApplicationStatus, Attachment, DocumentKind
from portal.audit.models import AuditAction, AuditEvent
from portal.organisations.models import PlatformRole, PlatformRoleGrant
from portal.privacy.models import LegalHold
from tests.factories import PASSWORD, ApplicationFactory, OrganisationFactory, UserFactory
from tests.onboarding.approval_helpers import AUTHORITY_EMAIL, latest_link, second_factor_given, submitted_application, with_totp
from tests.onboarding.form_helpers import (
    as_shown,
    complete,
    new_application,
    png_bytes,
    post_section,
    reload,
    section_url,
    submit,
    valid,
)

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")


MARK_PLACEMENT = re.compile(rb"(?<=>)(\d+(?:\.\d+)?)(<[0-9A-Fa-f]+>)(-\d+(?:\.\d+)?)(?=[<\]])")


def _drop_mark_placements(writer):
    """Remove the pen moves that place Devanagari vowel signs from the TJ arrays.

    For "कृ" WeasyPrint writes ``[<क>0<>226.27<ृ>-226<ष>...] TJ``: it moves back
    0.226 em, draws the zero-width vowel sign and moves forward again. pypdf takes
    any forward move wider than half a space for a word gap and would extract
    "कृ षी". Such a move-draw-move-back triple displaces nothing, so it can never be
    a word gap (WeasyPrint writes spaces as glyphs); keeping only the glyph leaves
    every character and every real space in place.
    """

    def keep_glyph(match):
        back, glyph, forward = float(match[1]), match[2], float(match[3])
        return glyph if abs(back + forward) < 1 else match[0]

    for page in writer.pages:
        contents = page["/Contents"]
        streams = contents if isinstance(contents, list) else [contents]
        for stream in streams:
            stream = stream.get_object()
            stream.set_data(MARK_PLACEMENT.sub(keep_glyph, stream.get_data()))


def page_texts(content):
    """The text of each page of a PDF as pypdf extracts it (see _drop_mark_placements)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    _drop_mark_placements(writer)
    return [page.extract_text() for page in writer.pages]


def pdf_text(content):
    """The text of a PDF as pypdf extracts it (see _drop_mark_placements)."""
    return "\n".join(page_texts(content))


def test_pdf_text_helper_keeps_real_spaces_and_would_see_a_lost_character():
    html = ('<html><head><style>@font-face { font-family: D; src: url("fonts/NotoSansDevanagari-Regular.ttf"); }'
            ' body { font-family: D; }</style></head><body><p>कृषी संचालनालय</p><p>कृ षी</p><p>कषी</p></body></html>')
    text = pdf_text(pdf.render_pdf(html))
    assert text.splitlines() == ["कृषी संचालनालय", "कृ षी", "कषी"]


def squash(text):
    return " ".join(text.split())


def download(client, application):
    response = client.get(f"/onboarding/{application.pk}/form.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    return b"".join(response.streaming_content)


# What the PDF says ---------------------------------------------------------------

EXPECTED_VALUES = [
    # Organisation details
    "Directorate of Agriculture, Maharashtra", "DOA-MH", "Directorate", "State / UT", "Maharashtra",
    "Central Building, Pune 411001", "411001", "020-26123456", "https://krishi.maharashtra.gov.in", "mahaagri.gov.in", "1,200",
    # Place in the hierarchy
    "It has no parent (for example a ministry)",
    # Nodal officer
    "Sunil Patil", "Deputy Director (IT)", "MH-AG-1042", "9876543210", "nodal.officer@mahaagri.gov.in",
    # Competent authority
    "Anita Deshmukh", "Director of Agriculture", "director@mahaagri.gov.in", "+91 91234 56789",
    # Integration
    "Yes", "Mahadbt farmer portal", "OTP and alerts, Broadcast", "50,000", "Kiran Joshi", "kiran.joshi@mahaagri.gov.in",
    "9823012345",
]
SECTION_TITLES = [
    "1. Organisation details", "2. Place in the hierarchy", "3. Nodal officer", "4. Competent authority",
    "5. Integration with eGov applications", "6. Data protection notice and undertakings",
]


def test_pdf_holds_the_reference_every_answer_and_the_devanagari_name(officer_client, officer, django_capture_on_commit_callbacks):
    application = submit(officer_client, complete(officer_client, new_application(officer)), django_capture_on_commit_callbacks)
    content = download(officer_client, application)
    assert content.startswith(b"%PDF-")
    text = pdf_text(content)
    flat = squash(text)

    assert application.reference in flat
    assert "DRAFT" not in flat
    for title in SECTION_TITLES:
        assert title in flat, title
    for value in EXPECTED_VALUES:
        assert value in flat, value
    # The Devanagari name, exactly as typed (shaping must not lose or reorder characters).
    assert "कृषी संचालनालय, महाराष्ट्र" in text
    assert "कृषी संचालनालय" in text
    # Declarations: the version of the notice accepted, and the undertakings.
    assert f"Data protection notice, version {NOTICE_VERSION}." in flat
    assert "The information in this form is true and complete to the best of my knowledge." in flat
    # The signed letter, by its fingerprint.
    letter = Attachment.objects.get(application=application, is_current=True)
    assert letter.sha256 in flat


@pytest.mark.parametrize("mark", ["\u200f", "\u061c", "\u200e"], ids=["right-to-left mark", "Arabic letter mark",
                                                                     "left-to-right mark"])
def test_an_invisible_direction_mark_does_not_reorder_the_numbers_of_the_submitted_form(
        officer_client, officer, django_capture_on_commit_callbacks, mark):
    """An answer pasted with a right-to-left mark (drawn as nothing) before a number was
    stored with it, and the PDF the competent authority decides on printed "House 115 221"
    for "House 221 115": the marks are taken out as the bidi overrides are, the officer told
    at the answer."""
    application = complete(officer_client, new_application(officer))
    for section, answers in {"organisation": {"address": f"House {mark}221 115 Civil Lines, Pune 411001"},
                             "nodal_officer": {"employee_code": f"MH {mark}10 42"}}.items():
        response = post_section(officer_client, application, section,
                                as_shown(officer_client, section_url(application, section), valid(section, **answers)))
        assert response.status_code == 200  # saved, and the answer shown again as kept, to be checked
        assert "characters were removed from this answer. Check it." in response.content.decode()
    application = submit(officer_client, reload(application), django_capture_on_commit_callbacks)
    assert application.data["organisation"]["address"] == "House 221 115 Civil Lines, Pune 411001"
    flat = squash(pdf_text(download(officer_client, application)))
    assert "House 221 115 Civil Lines" in flat and "MH 10 42" in flat


@pytest.mark.parametrize("marks", ["", "\u030d" * 150, "\u0329" * 150], ids=["none", "above", "below"])
def test_a_pile_of_marks_in_an_answer_is_not_drawn_over_the_other_answers(
        officer_client, officer, django_capture_on_commit_callbacks, marks):
    """Each combining mark is placed beyond the one before: 150 on a letter of the address
    rose 433 px (11 cm) over the answers above it in the PDF the competent authority decides
    on. Those past the eighth are taken out, the officer told at the answer."""
    application = complete(officer_client, new_application(officer))
    url = section_url(application, "organisation")
    response = post_section(officer_client, application, "organisation",
                            as_shown(officer_client, url, valid("organisation", address=f"Central Building{marks}, Pune")))
    said = ("A letter of this answer carried more than 8 marks (accents, vowel signs): those after the first 8 were "
            "removed. Check it.")
    assert (said in squash(response.content.decode())) == bool(marks)
    application = submit(officer_client, reload(application), django_capture_on_commit_callbacks)
    rises = [float(rise) for page in PdfReader(io.BytesIO(download(officer_client, application))).pages
             for rise in re.findall(rb"(-?\d+(?:\.\d+)?) Ts", page.get_contents().get_data())]
    # Answers are set at 9.5 pt (12.7 px): none drawn more than three lines off its baseline.
    assert max(map(abs, rises), default=0) < 3 * 12.7, (min(rises), max(rises))


def _section_text(html, number):
    """The text of section ``number`` of the form's HTML, tags dropped."""
    section = html.split(f"<h2>{number}. ")[1].split("<h2>")[0]
    return squash(re.sub(r"<[^>]+>", " ", section))


STALE_INTEGRATION = {"app_1_name": "Mahadbt farmer portal", "app_1_purposes": ["otp_alerts"], "monthly_volume": "50000",
                     "tech_name": "Kiran Joshi", "tech_email": "kiran.joshi@mahaagri.gov.in", "tech_mobile": "9823012345"}


@pytest.mark.parametrize("section, number, answers, shown, left_out", [
    # A parent searched for (kept in the hidden input), then "It has no parent" chosen.
    pytest.param("hierarchy", 2, {"parent_choice": "none", "parent": "{ministry}", "new_parent_name": "Old Department",
                                  "new_parent_type": "department"},
                 ["It has no parent"], ["Ministry of Agriculture", "Old Department", "Department"], id="no-parent"),
    pytest.param("hierarchy", 2, {"parent_choice": "new", "parent": "{ministry}", "new_parent_name": "Department of Fisheries",
                                  "new_parent_type": "department"},
                 ["Department of Fisheries", "Department"], ["Ministry of Agriculture"], id="new-parent"),
    pytest.param("hierarchy", 2, {"parent_choice": "existing", "parent": "{ministry}", "new_parent_name": "Old Department",
                                  "new_parent_type": "department"},
                 ["Ministry of Agriculture"], ["Old Department", "Type of the parent"], id="existing-parent"),
    # Applications and a technical contact typed, then "No, people only" chosen.
    pytest.param("integration", 5, {"wants_integration": "no", **STALE_INTEGRATION},
                 ["No, people only"], ["Mahadbt", "OTP", "50,000", "Kiran Joshi", "kiran.joshi", "9823012345", "Technical contact"],
                 id="no-integration"),
    # A state chosen, then "Central": approval makes a body with no state, filed under "central".
    pytest.param("organisation", 1, valid("organisation", level="central", state="MH", name="Ministry of Agriculture",
                                          name_local="कृषि मंत्रालय", address="Krishi Bhawan,\nNew Delhi",
                                          website="https://agriwelfare.gov.in"),
                 ["Ministry of Agriculture", "Central"], ["Maharashtra", "State / UT"], id="central-body"),
])
def test_the_form_and_the_summary_leave_out_answers_to_a_choice_not_taken(officer_client, officer, section, number,
                                                                         answers, shown, left_out):
    # Approval takes no parent unless one on Sandes was chosen (selectors.parent_organisation):
    # the PDF and the deciders' summary must not name one either.
    from onboarding.application.summary import application_summary

    ministry = OrganisationFactory(name="Ministry of Agriculture and Farmers Welfare")
    application = new_application(officer)
    answers = {key: value.format(ministry=ministry.pk) if isinstance(value, str) else value for key, value in answers.items()}
    response = post_section(officer_client, application, section, answers)
    assert response.status_code == 302, response.content.decode()[:2000]
    application = reload(application)
    kept = {"hierarchy": "parent", "integration": "app_1_name", "organisation": "state"}[section]
    assert application.section_data(section)[kept]  # kept in the draft
    assert application.status_of(section) == "complete"  # a central body needs no state
    if section == "organisation":
        assert application.jurisdiction == "CENTRAL"
    text = _section_text(pdf.application_form_html(application), number)
    [block] = [block for block in application_summary(application) if block["section"].value == section]
    summary = squash(" ".join(f"{row['label']} {row['value']}" for row in block["rows"]))
    for value in shown:
        assert value in text and value in summary, (value, text)
    for value in left_out:
        assert value not in text and value not in summary, (value, text)


LONG_EMAIL = ("deputy.director.information.technology.and.egovernance"
              "@agriculturedepartmentgovernmentofmaharashtra.maharashtra.gov.in")  # valid: 118 characters


def _right_edges(html, needle):
    """(right edge, right edge of the page's printed area) in CSS pixels of each line of
    text holding ``needle``, as laid out."""
    document = HTML(string=html, base_url=pdf.BASE_URL, url_fetcher=pdf.static_only_fetcher()).render()
    found = []

    def walk(box, printed):
        for child in getattr(box, "children", None) or []:
            if needle in (getattr(child, "text", None) or ""):
                found.append((round(child.position_x + child.width), printed))
            walk(child, printed)

    for page in document.pages:
        walk(page._page_box, round(page.width - page._page_box.margin_right))
    return found


@pytest.mark.parametrize("language", ["en", "hi"])
def test_a_long_answer_with_nowhere_to_break_stays_on_the_page(officer_client, officer, language):
    # An official address of 118 characters, with no space or hyphen, ran past the page's right edge.
    application = new_application(officer)
    response = post_section(officer_client, application, "integration", valid("integration", tech_email=LONG_EMAIL))
    assert response.status_code == 302, response.content.decode()[:2000]
    edges = _right_edges(pdf.application_form_html(reload(application), language), "deputy.director")
    assert edges and all(right <= printed for right, printed in edges), edges


@pytest.mark.parametrize("language", ["en", "hi"])
def test_a_long_address_stays_on_the_page_of_the_approval_letter(language):
    from onboarding.approval.letters import approval_letter_html

    application = ApplicationFactory(nodal_officer=UserFactory(email=LONG_EMAIL), organisation=OrganisationFactory())
    html = approval_letter_html(application, issued_at=timezone.now(), authority=None, language=language)
    edges = _right_edges(html, "deputy.director")
    assert edges and all(right <= printed for right, printed in edges), edges


def test_a_draft_pdf_says_it_is_a_draft(officer_client, officer):
    application = new_application(officer)
    post_section(officer_client, application, "organisation", valid("organisation"))
    flat = squash(pdf_text(download(officer_client, application)))
    assert "DRAFT — not yet submitted for approval" in flat
    assert "Reference: not yet submitted" in flat
    assert "Directorate of Agriculture, Maharashtra" in flat


def test_pdf_downloaded_before_submission_is_not_served_after_it(officer_client, officer, django_capture_on_commit_callbacks):
    application = complete(officer_client, new_application(officer))
    assert "DRAFT" in pdf_text(download(officer_client, application))
    application = submit(officer_client, application, django_capture_on_commit_callbacks)
    flat = squash(pdf_text(download(officer_client, application)))
    assert application.reference in flat
    assert "DRAFT" not in flat


# Rendered once per version ---------------------------------------------------------

def test_the_same_version_is_rendered_once_and_then_served_from_storage(officer_client, officer, django_capture_on_commit_callbacks):
    with time_machine.travel(datetime(2026, 5, 10, 11, 0, tzinfo=IST), tick=False):
        application = submit(officer_client, complete(officer_client, new_application(officer)),
                             django_capture_on_commit_callbacks)
        first = download(officer_client, application)
    document = ApplicationDocument.objects.get(application=application, kind=DocumentKind.FORM_PDF)
    assert document.version == application.version
    assert document.sha256 == hashlib.sha256(first).hexdigest() and document.size == len(first)
    assert default_storage.exists(document.file.name)
    rendered = AuditEvent.objects.filter(action=AuditAction.APPLICATION_PDF_RENDERED)
    assert rendered.count() == 1
    assert (rendered.get().actor_id, rendered.get().ip) == (officer.pk, "127.0.0.1")  # the officer's, from their browser

    # A day later (a new rendering would print another "Generated" time): the stored file.
    with time_machine.travel(datetime(2026, 5, 11, 15, 30, tzinfo=IST), tick=False):
        second = download(officer_client, application)
        # Another permitted viewer gets the same stored file too.
        auditor = UserFactory(email="auditor@sandes.nic.in")
        PlatformRoleGrant.objects.create(user=auditor, role=PlatformRole.AUDITOR, jurisdiction="MH")
        with_totp(auditor)  # platform roles sign in with a second factor
        viewer = Client()
        assert viewer.login(email=auditor.email, password=PASSWORD)
        second_factor_given(viewer, auditor)
        third = download(viewer, application)
    assert second == first and third == first
    assert ApplicationDocument.objects.filter(application=application).count() == 1
    assert rendered.count() == 1

    # A rendering at another time is different, so the equality above is meaningful.
    with time_machine.travel(datetime(2026, 5, 11, 15, 30, tzinfo=IST), tick=False):
        fresh = pdf.render_pdf(pdf.application_form_html(application))
    assert hashlib.sha256(fresh).hexdigest() != document.sha256


def test_the_competent_authoritys_render_of_the_form_pdf_is_audited_as_theirs(officer):
    """Rendered at the authority's download through their link: the audit row names them
    (as their decision's does), with the address and browser they asked from, not "system"."""
    submitted_application(officer)
    path, _token = latest_link()
    client = Client(HTTP_USER_AGENT="AuthorityBrowser/1.0", REMOTE_ADDR="203.0.113.7")
    client.get(path)
    response = client.get("/onboarding/review/form.pdf")
    assert response.status_code == 200
    event = AuditEvent.objects.filter(action=AuditAction.APPLICATION_PDF_RENDERED).latest("id")
    assert (event.actor_id, event.actor_role, event.ip, event.user_agent) == (
        None, "competent_authority", "203.0.113.7", "AuthorityBrowser/1.0")
    assert event.new_values["email"] == AUTHORITY_EMAIL


def test_a_new_version_gets_a_new_document_and_the_draft_keeps_only_its_latest(
        officer_client, officer, django_capture_on_commit_callbacks):
    application = new_application(officer)
    post_section(officer_client, application, "organisation", valid("organisation"))
    first = download(officer_client, reload(application))
    old = ApplicationDocument.objects.get(application=application)
    assert default_storage.exists(old.file.name)
    post_section(officer_client, application, "organisation", valid("organisation", name="Directorate of Horticulture, Maharashtra"))
    application = reload(application)
    with django_capture_on_commit_callbacks(execute=True):
        second = download(officer_client, application)
    assert first != second
    assert "Directorate of Horticulture, Maharashtra" in squash(pdf_text(second))
    # Each save and download of a draft kept one more file for good: the earlier draft's goes, file and all.
    assert list(ApplicationDocument.objects.filter(application=application).values_list("version", flat=True)) == [
        application.version]
    assert not default_storage.exists(old.file.name)
    event = AuditEvent.objects.filter(action=AuditAction.APPLICATION_PDF_RENDERED).latest("id")
    assert event.new_values["replaced_versions"] == [old.version]


def test_a_draft_keeps_only_its_latest_pdfs_when_its_second_language_changes(
        officer_client, officer, django_capture_on_commit_callbacks):
    """The state chosen decides the second language (Hindi for Uttar Pradesh, Marathi for
    Maharashtra): an earlier version's Hindi PDF goes with the rest when only the English
    and Marathi are downloaded after the change."""
    application = new_application(officer)
    post_section(officer_client, application, "organisation", valid("organisation", level="state", state="UP"))
    assert officer_client.get(f"/onboarding/{application.pk}/form.pdf?language=hi").status_code == 200
    hindi = ApplicationDocument.objects.get(application=application)
    post_section(officer_client, application, "organisation", valid("organisation", level="state", state="MH"))
    application = reload(application)
    with django_capture_on_commit_callbacks(execute=True):
        for query in ("", "?language=mr"):
            assert officer_client.get(f"/onboarding/{application.pk}/form.pdf{query}").status_code == 200
    kept = list(ApplicationDocument.objects.filter(application=application).order_by("language")
                .values_list("version", "language"))
    assert kept == [(application.version, "en"), (application.version, "mr")]
    assert not default_storage.exists(hindi.file.name)


def test_the_pdf_of_a_version_sent_for_a_decision_stays_when_the_returned_draft_is_downloaded(
        officer_client, officer, django_capture_on_commit_callbacks):
    application = complete(officer_client, new_application(officer))
    download(officer_client, application)  # the last draft before sending: not what was sent
    application = submit(officer_client, application, django_capture_on_commit_callbacks)
    sent = application.version
    assert application.versions.get().form_version == sent
    download(officer_client, application)  # the version the authority decides on
    Application.objects.filter(pk=application.pk).update(status=ApplicationStatus.CHANGES_REQUESTED)
    post_section(officer_client, application, "organisation", valid("organisation", approx_users="1500"))
    download(officer_client, reload(application))
    post_section(officer_client, application, "organisation", valid("organisation", approx_users="1600"))
    application = reload(application)
    with django_capture_on_commit_callbacks(execute=True):
        download(officer_client, application)
    kept = list(ApplicationDocument.objects.filter(application=application).order_by("version")
                .values_list("version", flat=True))
    # The draft before the first sending stays with the round it belonged to (at most one a
    # sending); the version sent stays; of this round's drafts, only the latest.
    assert kept == [sent - 1, sent, application.version]


def test_a_legal_hold_keeps_every_draft_pdf(officer_client, officer, django_capture_on_commit_callbacks):
    application = new_application(officer)
    post_section(officer_client, application, "organisation", valid("organisation"))
    download(officer_client, reload(application))
    LegalHold.objects.create(target_type="onboarding.application", target_id=application.pk, reason="Court order",
                             set_at=timezone.now(), set_by=UserFactory())
    post_section(officer_client, application, "organisation", valid("organisation", approx_users="1500"))
    application = reload(application)
    with django_capture_on_commit_callbacks(execute=True):
        download(officer_client, application)
    assert ApplicationDocument.objects.filter(application=application).count() == 2
    assert all(default_storage.exists(d.file.name) for d in ApplicationDocument.objects.filter(application=application))


def test_a_draft_withdrawn_before_it_was_sent_has_its_pdf_rendered_not_stored_again(
        officer_client, officer, django_capture_on_commit_callbacks):
    """Its letters and form PDFs were removed at the withdrawal (README, "Data protection"):
    its officer still reads what was filled, rendered as a reader's is, and nothing is
    stored again in either language."""
    application = complete(officer_client, new_application(officer))
    download(officer_client, application)
    with django_capture_on_commit_callbacks(execute=True):
        assert officer_client.post(f"/onboarding/{application.pk}/withdraw/", {"confirm": "yes"}).status_code == 302
    assert not ApplicationDocument.objects.filter(application=application).exists()
    rendered = AuditEvent.objects.filter(action=AuditAction.APPLICATION_PDF_RENDERED).count()
    for query in ("", "?language=mr"):
        with django_capture_on_commit_callbacks(execute=True):
            response = officer_client.get(f"/onboarding/{application.pk}/form.pdf{query}")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert list(ApplicationDocument.objects.filter(application=application).values_list("language", flat=True)) == []
        assert "Directorate of Agriculture, Maharashtra" in squash(pdf_text(b"".join(response)))
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_PDF_RENDERED).count() == rendered


def test_the_pdf_is_served_to_nobody_else(officer_client, officer):
    application = new_application(officer)
    other = UserFactory(email="curious@mha.gov.in")
    client = Client()
    client.login(email=other.email, password=PASSWORD)
    assert client.get(f"/onboarding/{application.pk}/form.pdf").status_code == 404
    assert not ApplicationDocument.objects.exists()


# The URL fetcher ------------------------------------------------------------------

def _png_file(tmp_path):
    path = tmp_path / "secret.png"
    path.write_bytes(png_bytes((30, 30)))
    return path


def _image_count(content):
    return sum(len(page.images) for page in PdfReader(io.BytesIO(content)).pages)


def test_a_local_file_named_in_the_html_is_not_embedded(tmp_path):
    image = _png_file(tmp_path)
    css = tmp_path / "secret.css"
    css.write_text('body::after { content: "SECRET-FROM-A-LOCAL-FILE"; }')
    text_file = tmp_path / "secret.txt"
    text_file.write_text("SECRET-TEXT-FILE")
    html = (
        f'<html><head><link rel="stylesheet" href="{css.as_uri()}"></head><body><p>Visible text</p>'
        f'<img src="{image.as_uri()}" alt=""><img src="file://{image}"><object data="{text_file.as_uri()}"></object>'
        f'<iframe src="{text_file.as_uri()}"></iframe></body></html>'
    )
    # Without our fetcher WeasyPrint would embed them: the check below can fail.
    unprotected = HTML(string=html).write_pdf()
    assert _image_count(unprotected) >= 1
    assert "SECRET-FROM-A-LOCAL-FILE" in pdf_text(unprotected)

    content = pdf.render_pdf(html)
    assert "Visible text" in pdf_text(content)
    assert _image_count(content) == 0
    assert "SECRET" not in pdf_text(content)


def test_a_relative_path_out_of_the_static_folder_is_not_embedded(tmp_path):
    image = _png_file(tmp_path)
    relative = os.path.relpath(image, pdf.STATIC_ROOTS[0])
    assert relative.startswith("..")
    html = f'<html><body><p>Visible</p><img src="{relative}" alt=""></body></html>'
    # Resolved against the static folder, the path reaches the file: without our
    # fetcher it would be embedded.
    assert _image_count(HTML(string=html, base_url=pdf.BASE_URL).write_pdf()) == 1
    content = pdf.render_pdf(html)
    assert "Visible" in pdf_text(content) and _image_count(content) == 0


def test_network_urls_are_never_fetched(monkeypatch):
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)  # reach the loopback server directly
    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b'body::after { content: "FROM-THE-NETWORK"; }')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        html = (f'<html><head><link rel="stylesheet" href="{base}/style.css"><style>@import url("{base}/import.css");</style>'
                f'</head><body><p>Visible</p><img src="{base}/pixel.png"></body></html>')
        content = pdf.render_pdf(html)
        assert "Visible" in pdf_text(content)
        assert "FROM-THE-NETWORK" not in pdf_text(content)
        assert requests == []
        # The same HTML without our fetcher does reach the server: the check above can fail.
        HTML(string=html).write_pdf()
        assert requests
    finally:
        server.shutdown()
        server.server_close()


def test_our_own_fonts_are_fetched_and_embedded(officer_client, officer, settings):
    font = Path(settings.STATICFILES_DIRS[0]) / "fonts" / "NotoSansDevanagari-Regular.ttf"
    response = pdf.static_only_fetcher().fetch(font.as_uri())
    assert (response.body if hasattr(response, "body") else response.read()) == font.read_bytes()
    for refused in ("file:///etc/hostname", "http://127.0.0.1:9/x.css", "data:text/css,body{}",
                    (Path(settings.STATICFILES_DIRS[0]) / ".." / "manage.py").as_uri()):
        with pytest.raises(ValueError, match="refused to fetch"):
            pdf.static_only_fetcher().fetch(refused)

    application = new_application(officer)
    post_section(officer_client, application, "organisation", valid("organisation"))
    reader = PdfReader(io.BytesIO(download(officer_client, reload(application))))
    fonts = set()
    for page in reader.pages:
        for font_ref in page["/Resources"]["/Font"].values():
            fonts.add(str(font_ref.get_object()["/BaseFont"]))
    assert any("Devanagari" in name for name in fonts), fonts


def test_the_pdfs_use_the_whole_fonts_not_the_pages_subsets(settings):
    """The pages load WOFF2 subsets of the fonts (css/fonts.css); a PDF embeds its glyphs
    from the whole TrueType files, its stylesheet's (css/pdf-fonts.css)."""
    static = Path(settings.STATICFILES_DIRS[0])
    for template in ("application_form.html", "approval_letter.html"):
        text = (Path(settings.BASE_DIR) / "templates" / "onboarding" / "pdf" / template).read_text()
        assert 'href="css/pdf-fonts.css"' in text and 'href="css/fonts.css"' not in text, template
    urls = re.findall(r'url\("\.\./fonts/([^"]+)"\)', (static / "css" / "pdf-fonts.css").read_text())
    assert sorted(urls) == ["NotoSans-Bold.ttf", "NotoSans-Regular.ttf", "NotoSansDevanagari-Bold.ttf",
                            "NotoSansDevanagari-Regular.ttf"]
    assert all((static / "fonts" / url).exists() for url in urls)


def test_corrections_not_sent_yet_print_as_a_draft_not_as_the_submission(officer_client, officer,
                                                                        django_capture_on_commit_callbacks):
    """Returned for correction and changed: the PDF the officer downloads is marked a draft
    (it holds answers nobody has submitted); once resubmitted it is submission 2."""
    application = submit(officer_client, complete(officer_client, new_application(officer)),
                         django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(latest_link()[0], {"decision": "return", "remarks": "Correct the number of users."})
    assert reload(application).status == ApplicationStatus.CHANGES_REQUESTED
    text = pdf_text(b"".join(officer_client.get(f"/onboarding/{application.pk}/form.pdf").streaming_content))
    assert "Submission 1" in text and "DRAFT" not in text  # returned, not changed yet: still what was sent
    post_section(officer_client, application, "organisation", valid("organisation", approx_users="987654"))
    text = pdf_text(b"".join(officer_client.get(f"/onboarding/{application.pk}/form.pdf").streaming_content))
    assert "9,87,654" in text and "Draft, not submitted" in text and "DRAFT" in text and "Submission" not in text
    submit(officer_client, application, django_capture_on_commit_callbacks)
    text = pdf_text(b"".join(officer_client.get(f"/onboarding/{application.pk}/form.pdf").streaming_content))
    assert "Submission 2" in text and "DRAFT" not in text


def test_every_page_of_a_draft_says_it_is_a_draft(officer_client, officer, django_capture_on_commit_callbacks):
    """A draft's form is marked on every page, not only above its first section: a page
    printed or sent on its own, past the first, is not taken for what was submitted. Most of
    all a returned application changed since, whose footer carries the reference of the
    submission it will replace (a draft never submitted had "DRAFT" in its footer only)."""
    application = submit(officer_client, complete(officer_client, new_application(officer)),
                         django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(latest_link()[0], {"decision": "return", "remarks": "Correct the number of users."})
    post_section(officer_client, application, "organisation", valid("organisation", approx_users="987654"))
    pages = page_texts(download(officer_client, reload(application)))
    assert len(pages) > 1
    for number, text in enumerate(pages, 1):
        assert "DRAFT" in text, (number, text)
        assert "DRAFT — not yet submitted for approval" in squash(text), (number, text)
    # Once sent, no page says so.
    application = submit(officer_client, application, django_capture_on_commit_callbacks)
    assert not any("DRAFT" in text for text in page_texts(download(officer_client, application)))
    # A draft never submitted: the same notice on every page, besides its footer's "DRAFT".
    application = complete(officer_client, new_application(officer))
    pages = page_texts(download(officer_client, application))
    assert len(pages) > 1 and all("DRAFT — not yet submitted for approval" in squash(text) for text in pages), pages
