"""End to end, with mail delivered by a real SMTP server on loopback (aiosmtpd):
submit; the competent authority reads the email as delivered, follows its
link and returns the application; the nodal officer corrects and resubmits;
the authority approves; a state administrator (signed in with password and
TOTP) approves; the organisation is active; the approval letter arrives; the
audit chain verifies.

Real commits (transactional test), so every email goes the production way:
outbox row in the transaction, Celery task on commit, SMTP transport.
"""

import io
import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from guardian.shortcuts import get_perms
from pypdf import PdfReader

from onboarding.models import Application, ApplicationStatus
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_verify
from portal.mail.models import OutboxMessage, OutboxStatus
from portal.organisations.models import Membership, MembershipRole, OrganisationStatus
from tests.factories import PASSWORD, UserFactory
from tests.onboarding.approval_helpers import (  # noqa: F401 (fixture)
    AUTHORITY_EMAIL,
    DEVANAGARI_RE,
    LINK_RE,
    TRANSACTIONAL,
    make_state_admin,
    official_email_rules,
    totp_code,
    with_totp,
)
from tests.onboarding.form_helpers import complete
from tests.onboarding_data import VALID, minimal_pdf
from tests.smtp import text_of

pytestmark = [TRANSACTIONAL, pytest.mark.usefixtures("official_email_rules")]


def delivered_to(server, address):
    return [m for m in server.messages if address in (m["To"] or "")]


def only_new(server, address, seen):
    messages = delivered_to(server, address)[seen.get(address, 0):]
    seen[address] = seen.get(address, 0) + len(messages)
    return messages


def path_of(url):
    parts = urlsplit(url)
    return parts.path


def signed_in(email, secret=None):
    client = Client()
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302
    if secret:
        assert response["Location"] == "/accounts/2fa/authenticate/"
        assert client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}).status_code == 302
    return client


def test_approval_journey_with_mail_delivered_over_smtp(smtp_server):
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    state_admin = make_state_admin("MH", email="ravi.admin@maharashtra.gov.in", totp=False)
    secret = with_totp(state_admin)
    seen = {}

    # The nodal officer fills the form and submits it.
    nodal = signed_in(officer.email)
    assert nodal.post("/onboarding/start/").status_code == 302
    application = complete(nodal, Application.objects.get(nodal_officer=officer))
    assert nodal.post(f"/onboarding/{application.pk}/submit/").status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_AUTHORITY

    # The competent authority's email, as delivered.
    [request_mail] = only_new(smtp_server, AUTHORITY_EMAIL, seen)
    assert request_mail["Reply-To"] is None  # a reply would quote the link to the officer
    assert application.reference in request_mail["Subject"] and DEVANAGARI_RE.search(request_mail["Subject"])
    body = text_of(request_mail)
    assert "Sunil Patil" in body and DEVANAGARI_RE.search(body)
    link = LINK_RE.search(body).group(0)
    # The nodal officer's receipt names the authority and the due date.
    [receipt] = only_new(smtp_server, officer.email, seen)
    receipt_text = text_of(receipt)
    assert "Anita Deshmukh" in receipt_text and AUTHORITY_EMAIL in receipt_text and "asked to decide by" in receipt_text

    # The authority follows the link, looks at everything, and returns it.
    authority = Client(HTTP_USER_AGENT="Mozilla/5.0 (authority)")
    review = authority.get(path_of(link), follow=True)  # the link goes into the session: pages without the token
    assert review.status_code == 200
    html = review.content.decode()
    for section_label in ("Organisation details", "Place in the hierarchy", "Nodal officer", "Competent authority",
                          "Integration with eGov applications", "Data protection notice and undertakings",
                          "The signed authorisation letter", "The filled onboarding form (PDF)"):
        assert section_label in html
    pdf_url, letter_url = re.search(r'href="(/onboarding/review/[^"]*form\.pdf)"', html).group(1), \
        re.search(r'href="(/onboarding/review/[^"]*letter/)"', html).group(1)
    assert b"".join(authority.get(pdf_url).streaming_content).startswith(b"%PDF")
    assert b"".join(authority.get(letter_url).streaming_content) == minimal_pdf()
    response = authority.post(path_of(link), {"decision": "return", "remarks": "State the number of users correctly."})
    assert response.status_code == 302
    assert "Your decision was recorded" in authority.get(response["Location"]).content.decode()

    [returned] = only_new(smtp_server, officer.email, seen)
    assert "State the number of users correctly." in text_of(returned)
    [confirmation] = only_new(smtp_server, AUTHORITY_EMAIL, seen)
    assert "was recorded" in confirmation["Subject"]

    # The nodal officer corrects and resubmits.
    corrected = dict(VALID["organisation"], approx_users="1500")
    assert nodal.post(f"/onboarding/{application.pk}/section/organisation/", corrected).status_code == 302
    # The check page shows the remarks and asks for a reply to them: none, or one of only
    # invisible characters, sends nothing.
    check = nodal.get(f"/onboarding/{application.pk}/submit/").content.decode()
    assert "State the number of users correctly." in check and 'name="reply"' in check
    for blank in ({}, {"reply": "\u200b\u2060 \u00ad"}):
        refused = nodal.post(f"/onboarding/{application.pk}/submit/", blank)
        assert refused.status_code == 200
        assert "Reply to the remarks the application was returned with" in refused.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CHANGES_REQUESTED and not only_new(smtp_server, AUTHORITY_EMAIL, seen)
    too_long = nodal.post(f"/onboarding/{application.pk}/submit/", {"reply": "x" * 4001})
    assert too_long.status_code == 200 and application.versions.count() == 1
    reply = "Corrected the number of users to 1,500 <after the count>: the old figure left out the field offices."
    assert nodal.post(f"/onboarding/{application.pk}/submit/", {"reply": reply}).status_code == 302
    assert application.versions.get(number=2).reply == reply
    resubmitted = AuditEvent.objects.get(action=AuditAction.APPLICATION_RESUBMITTED)
    assert resubmitted.new_values["reply"] == reply and "reply" in resubmitted.personal_keys
    [second_request] = only_new(smtp_server, AUTHORITY_EMAIL, seen)
    second_text = text_of(second_request)
    second_link = LINK_RE.search(second_text).group(0)
    assert second_link != link
    assert "has been changed" in second_text
    # The mail, as decoded, gives the remarks and the reply to them, in English and Marathi.
    assert ("Remarks it was returned with:\nState the number of users correctly.\n\n"
            f"The nodal officer’s reply to the remarks:\n{reply}") in second_text
    assert second_text.count(reply) == 2 and "उत्तर" in second_text
    assert authority.get(path_of(link)).status_code == 410  # the first link was used
    review = authority.get(path_of(second_link), follow=True).content.decode()
    assert "<del>1,200</del>" in review and "<ins>1,500</ins>" in review
    assert ("Remarks given then: State the number of users correctly.</p>\n  \n  <p class=\"mb-2\">The nodal officer’s "
            "reply to the remarks: Corrected the number of users to 1,500 &lt;after the count&gt;: the old figure left out the "
            "field offices.</p>") in review
    assert authority.post(path_of(second_link), {"decision": "approve", "confirm": "on"}).status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITH_STATE

    # The state administrator is told, signs in with password and TOTP, and approves.
    [assigned] = only_new(smtp_server, state_admin.email, seen)
    queue_url = re.search(r"https?://\S+/onboarding/queue/\d+/", text_of(assigned)).group(0)
    admin = signed_in(state_admin.email, secret)
    assert application.reference in admin.get("/onboarding/queue/").content.decode()
    assert admin.get(path_of(queue_url)).status_code == 200
    assert admin.post(path_of(queue_url), {"decision": "approve", "confirm": "on"}).status_code == 302

    # The organisation is active, with its domains and its first admin.
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    organisation = application.organisation
    assert organisation.status == OrganisationStatus.ACTIVE
    assert list(organisation.domains.values_list("domain", flat=True)) == ["mahaagri.gov.in"]
    assert Membership.objects.get(organisation=organisation, user=officer).role == MembershipRole.ADMIN
    assert "administer_organisation" in get_perms(officer, organisation)

    # The approval letter reaches the nodal officer and the competent authority.
    letters = [m for m in smtp_server.messages if m["Subject"].startswith("Approval letter")]
    assert len(letters) == 1
    assert officer.email in letters[0]["To"] and AUTHORITY_EMAIL in letters[0]["To"]
    # In English and in the application's second language (Marathi: Maharashtra).
    attachment, second = list(letters[0].iter_attachments())
    assert attachment.get_filename() == f"{application.reference}-approval-letter.pdf"
    assert second.get_filename() == f"{application.reference}-approval-letter-mr.pdf"
    pdf = attachment.get_content()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert application.reference in text and VALID["organisation"]["name"] in text
    download = nodal.get(f"/onboarding/{application.pk}/approval-letter.pdf")
    assert download.status_code == 200 and b"".join(download.streaming_content) == pdf

    # Every email went through the outbox, was delivered once, in English and Marathi (a Maharashtra application).
    outbox = list(OutboxMessage.objects.all())
    assert all(row.status == OutboxStatus.SENT for row in outbox)
    assert sorted(m["Message-ID"] for m in smtp_server.messages) == sorted(row.message_id for row in outbox)
    for message in smtp_server.messages:
        english, _sep, hindi = text_of(message).partition("\n----------\n")
        assert english.strip() and DEVANAGARI_RE.search(hindi), message["Subject"]

    # The audit chain verifies, and holds the decisions.
    assert audit_verify() == []
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "Audit chain intact" in out.getvalue()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions.count(AuditAction.STEP_DECIDED) == 3
    assert AuditAction.ORGANISATION_ACTIVATED in actions and AuditAction.MEMBERSHIP_GRANTED in actions
