"""Every kind of message the portal sends, in English, Hindi and Marathi, delivered
through the outbox to a real SMTP server on loopback, and read back from the bytes
the server received: each subject decodes to exactly the text meant, the address
headers to the addresses meant, no header keeps an encoded word undecoded, and the
Devanagari of the body arrives intact.

- Onboarding mail (onboarding/notifications.py): every template under
  templates/onboarding/email/ (found by its ``*_subject.txt``, so a new one is
  covered without touching this file), for applications of Maharashtra (English and
  Marathi), Karnataka and the centre (English and Hindi), one of them with a name
  as long as the form allows, whose bilingual subject must fold; and a decider's list of the
  steps of one deadline run, or of the steps handed to them at once (``DECIDER_LISTS``:
  about many applications, not one), through the real sweep and job, in English and the
  decider's language.
- allauth's mail, through its real flows, in the language the person chose on the
  portal's language switch, or, when it goes to an account at the request of whoever
  typed its address, in the holder's language where the portal knows it
  (portal/accounts/adapter.py).
- The audit chain head's daily mail to the superadmins (English and Hindi).
"""

import email
import re
from datetime import timedelta
from email import policy
from email.utils import parseaddr
from pathlib import Path

import pytest
import time_machine
from allauth.account import app_settings as account_settings
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone, translation
from django.utils.formats import date_format

from onboarding.notifications import build_bilingual, mail_languages, send_many
from portal.audit.models import AuditAction, AuditChainHead
from portal.audit.services import audit_record
from portal.audit.tasks import audit_head_publish
from portal.mail.models import OutboxMessage
from tests.factories import (
    PASSWORD,
    ApplicationFactory,
    ApprovalStepFactory,
    OrganisationFactory,
    UserFactory,
    application_with_authority,
)
from tests.onboarding.approval_helpers import make_superadmin, post_confirming_access
from tests.onboarding_data import minimal_pdf
from tests.smtp import text_of
from tests.verification.helpers import GovernmentProfileFactory

pytestmark = pytest.mark.django_db

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates" / "onboarding" / "email"
# A decider's mail listing several steps, of many applications: the deadline sweep's
# (decisions_due) and that of the steps handed to them at once (steps_assigned), sent and
# decoded through the code that sends them (test_a_deciders_list_..., test_a_list_of_the_steps_
# handed_...), not with one application's context.
DECIDER_LISTS = ["decisions_due", "steps_assigned"]
ONBOARDING_TEMPLATES = sorted(path.name.removesuffix("_subject.txt") for path in TEMPLATES_DIR.glob("*_subject.txt")
                              if path.name.removesuffix("_subject.txt") not in DECIDER_LISTS)

DEVANAGARI = re.compile(r"[\u0900-\u097F]")
# UTF-8 read as Latin-1 ("à¤", "à¥"), or bytes that did not decode.
MOJIBAKE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf]|\ufffd")
ENCODED_WORD = re.compile(r"=\?[\w-]+\?[bq]\?", re.IGNORECASE)
WHOLE_ENCODED_WORD = re.compile(r"=\?[\w-]+\?[bq]\?[^?\s]*\?=", re.IGNORECASE)
ADDRESS_HEADERS = ("From", "To", "Cc", "Reply-To")

OFFICER_EMAIL = "nodal.officer@mahaagri.gov.in"
AUTHORITY_EMAIL = "director.agri@maharashtra.gov.in"
LINK = f"{settings.SITE_URL}/onboarding/review/{'k' * 43}/"
# As long as the form allows (200 characters), Devanagari and English mixed: every
# subject that names the organisation is far longer than a header line.
LONG_NAME = ("कृषी संचालनालय, महाराष्ट्र शासन — Directorate of Agriculture, Government of Maharashtra, "
             "विभागीय कृषी सहसंचालक कार्यालय, पुणे विभाग — Office of the Divisional Joint Director of Agriculture, "
             "Pune Divn.")


# Reading what the server received ----------------------------------------------------

def delivered(smtp_server, since):
    """(raw bytes, parsed message) of each message the server received after the first ``since``."""
    raws = [envelope.original_content for envelope in smtp_server.envelopes[since:]]
    return [(raw, email.message_from_bytes(raw, policy=policy.default)) for raw in raws]


def send_and_receive(smtp_server, capture, action):
    """Run ``action`` (which writes mail to the outbox), commit, and return what the server received."""
    since = len(smtp_server.envelopes)
    with capture(execute=True):
        action()
    return delivered(smtp_server, since)


def raw_headers(raw):
    """The header lines of a raw message, each folded header as its lines."""
    block = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # headers are 7-bit once encoded
    headers = []
    for line in block.split("\r\n"):
        if line[:1] in (" ", "\t"):
            headers[-1].append(line)
        else:
            headers.append([line])
    return {lines[0].split(":", 1)[0].lower(): lines for lines in headers}


def addresses(header):
    return [(address.display_name, address.addr_spec) for address in header.addresses] if header else []


def intended(*values):
    return [parseaddr(value) for value in values]


def assert_delivered_exactly(raw, message, *, subject, to, reply_to=(), from_email=None):
    """The message decodes to exactly this subject and these addresses, and nothing undecoded is left."""
    assert str(message["Subject"]) == subject
    assert addresses(message["From"]) == intended(from_email or settings.DEFAULT_FROM_EMAIL)
    assert addresses(message["To"]) == intended(*to)
    assert addresses(message["Reply-To"]) == intended(*reply_to)
    for name, value in message.items():
        assert not ENCODED_WORD.search(str(value)), (name, str(value))
        assert not MOJIBAKE.search(str(value)), (name, str(value))
    # Written so that a reader joins it back: no line over RFC 5322's limit, a non-ASCII
    # subject in encoded words each kept whole on its line.
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    for line in raw_headers(raw)["subject"]:
        assert "=?" not in WHOLE_ENCODED_WORD.sub("", line), line
    body = text_of(message)
    assert not MOJIBAKE.search(body), body
    return body


# Onboarding mail -----------------------------------------------------------------------

APPLICATIONS = {
    # name: (jurisdiction, organisation name, the second language its mail must be in)
    "maharashtra": ("MH", "कृषी संचालनालय, महाराष्ट्र शासन (Directorate of Agriculture)", "mr"),
    "karnataka": ("KA", "Department of e-Governance, Government of Karnataka", "hi"),
    "central": ("CENTRAL", "राष्ट्रीय सूचना विज्ञान केंद्र (National Informatics Centre)", "hi"),
    "long name": ("MH", LONG_NAME, "mr"),
}


def stage_of(template):
    if template.startswith("authority_"):
        return "authority"
    if template.startswith("appeal_"):
        return "appeal"
    return "state"


def recipients_of(template):
    """(to, reply-to) as these tests address each message: the competent authority (its
    request and reminder hold its link, so no reply-to; the confirmation with one, here
    the officer's address), the officer and the authority for the approval letter, the
    nodal officer otherwise."""
    if template == "authority_confirmation":
        return [AUTHORITY_EMAIL], [OFFICER_EMAIL]
    if template.startswith("authority_") and template not in ("authority_approved",):
        return [AUTHORITY_EMAIL], []
    if template == "approval_letter":
        return [OFFICER_EMAIL, AUTHORITY_EMAIL], []
    return [OFFICER_EMAIL], []


def onboarding_context(application, template):
    """Everything any onboarding template reads: a decided step of the template's stage
    (with remarks and grounds in both scripts), the next step, the authority's link."""
    now = timezone.now()
    step = ApprovalStepFactory(
        application=application, stage=stage_of(template), assignee_email=AUTHORITY_EMAIL,
        assignee_name="अनिता देशमुख", opened_at=now - timedelta(days=9), due_at=now - timedelta(days=2),
        decision="return", decided_at=now, decided_by_email=AUTHORITY_EMAIL, ip="10.1.2.3",
        remarks="वापरकर्त्यांची संख्या दुरुस्त करा. State the number of users correctly.",
        grounds="हे कार्यालय शासकीय संचालनालय आहे. The office is a government directorate.",
    )
    next_step = ApprovalStepFactory(application=application, stage="state", decision="approve")
    context = {
        "application": application, "step": step, "next_step": next_step, "link": LINK,
        "officer": application.nodal_officer, "appeal_until": now + timedelta(days=30), "now": now,
        "resent": True, "resubmitted": True, "organisation": None,
        "withdraw_on": timezone.localdate(now + timedelta(days=30)),
        "deciders": 2,  # the superadmins an appeal went to (appeal_lodged, appeal_given)
    }
    if template.startswith("placement_"):
        # The organisation the office is placed under, and the office once approved.
        parent = OrganisationFactory(name="कृषी विभाग, महाराष्ट्र शासन (Agriculture Department, Maharashtra)")
        context.update(parent=parent, acting=parent, domains=["mahaagri.gov.in", "pune.mahaagri.gov.in"],
                       organisation=OrganisationFactory(name=application.organisation_name, parent=parent))
    return context


def rendered(template, context, language):
    """A template's subject and body in one language, rendered here, apart from the code under test."""
    context = {"site_url": settings.SITE_URL, **context}
    with translation.override(language):
        subject = " ".join(render_to_string(f"onboarding/email/{template}_subject.txt", context).split())
        body = render_to_string(f"onboarding/email/{template}.txt", context).strip()
    return subject, body


@pytest.fixture
def onboarding_mail(db):
    """[(template, application key, context, to, reply_to)] for every template and application."""
    officer = UserFactory(email=OFFICER_EMAIL, full_name="सुनील पाटील (Sunil Patil)")
    cases = []
    for key, (jurisdiction, name, _language) in APPLICATIONS.items():
        application = ApplicationFactory(nodal_officer=officer, jurisdiction=jurisdiction, organisation_name=name,
                                         status="with_authority")
        for template in ONBOARDING_TEMPLATES:
            context = onboarding_context(application, template)
            to, reply_to = recipients_of(template)
            cases.append((template, key, context, to, reply_to))
    return cases


def test_the_long_name_is_as_long_as_the_form_allows():
    assert len(LONG_NAME) == ApplicationFactory._meta.model._meta.get_field("organisation_name").max_length
    assert LONG_NAME == LONG_NAME.strip()


def test_the_second_language_follows_the_jurisdiction():
    assert mail_languages(ApplicationFactory.build(jurisdiction="MH")) == ("en", "mr")
    for jurisdiction in ("KA", "CENTRAL", "GA", "DL"):
        assert mail_languages(ApplicationFactory.build(jurisdiction=jurisdiction)) == ("en", "hi")


SUBMITTED = {"mr": "अर्ज {} सादर", "hi": "आवेदन {} प्रस्तुत"}
def day(moment, language):
    """A date as the mail in ``language`` writes it (India's day)."""
    with translation.override(language):
        return date_format(timezone.localtime(moment), "j F Y")


DECISION_NEEDED = {"mr": "निर्णय {} पर्यंत आवश्यक: संदेस ऑनबोर्डिंग अर्ज {} ({})",
                   "hi": "निर्णय {} तक आवश्यक: संदेस ऑनबोर्डिंग आवेदन {} ({})"}


@pytest.mark.parametrize("jurisdiction, second", [("MH", "mr"), ("KA", "hi"), ("CENTRAL", "hi")])
def test_submitting_mails_in_the_applications_second_language(
    jurisdiction, second, smtp_server, django_capture_on_commit_callbacks
):
    """Through the real service (step_open_authority): the authority's request and the officer's receipt."""
    name = "Directorate of Agriculture"
    holder = {}
    received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, lambda: holder.update(
        application=application_with_authority(jurisdiction=jurisdiction, organisation_name=name)))
    application = holder["application"]
    ref, officer = application.reference, application.nodal_officer.email
    step = application.steps.get()
    authority = step.assignee_email
    by_recipient = {message["To"].addresses[0].addr_spec: (raw, message) for raw, message in received}
    assert set(by_recipient) == {officer, authority}
    assert_delivered_exactly(
        *by_recipient[authority], to=[authority],
        subject=(f"Decision needed by {day(step.due_at, 'en')}: Sandes onboarding application {ref} ({name}) / "
                 f"{DECISION_NEEDED[second].format(day(step.due_at, second), ref, name)}"),
    )
    assert_delivered_exactly(*by_recipient[officer], to=[officer],
                             subject=f"Application {ref} submitted / {SUBMITTED[second].format(ref)}")


def test_every_onboarding_mail_decodes_exactly_in_english_and_its_second_language(
    smtp_server, django_capture_on_commit_callbacks, onboarding_mail
):
    assert len(ONBOARDING_TEMPLATES) >= 18
    messages = [
        build_bilingual(to=to, reply_to=reply_to, template=template, context=context,
                        attachments=[(f"{context['application'].reference}-approval-letter.pdf", minimal_pdf(),
                                      "application/pdf")] if template == "approval_letter" else ())
        for template, _key, context, to, reply_to in onboarding_mail
    ]
    received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, lambda: send_many(messages))
    assert len(received) == len(onboarding_mail)
    by_id = {message["Message-ID"]: (raw, message) for raw, message in received}
    rows = list(OutboxMessage.objects.order_by("id"))

    for row, (template, key, context, to, reply_to) in zip(rows, onboarding_mail, strict=True):
        raw, message = by_id[row.message_id]
        second = APPLICATIONS[key][2]
        english_subject, english_body = rendered(template, context, "en")
        second_subject, second_body = rendered(template, context, second)
        where = f"{template} ({key})"

        # Each half in its own language: the second in Devanagari, and not the English again.
        assert DEVANAGARI.search(second_subject.replace(context["application"].organisation_name, "")), where
        assert second_subject != english_subject and second_body != english_body, where
        body = assert_delivered_exactly(raw, message, subject=f"{english_subject} / {second_subject}", to=to,
                                        reply_to=reply_to)
        assert body == f"{english_body}\n\n----------\n\n{second_body}\n", where
        assert DEVANAGARI.search(body.partition("\n----------\n")[2]), where

    # The languages meant, in words written here: Marathi for Maharashtra, Hindi elsewhere.
    subjects = {(template, key): str(by_id[row.message_id][1]["Subject"])
                for row, (template, key, *_rest) in zip(rows, onboarding_mail, strict=True)}
    reference = {key: context["application"].reference for _template, key, context, *_rest in onboarding_mail}
    maharashtra, karnataka = reference["maharashtra"], reference["karnataka"]
    assert subjects["submitted", "maharashtra"] == f"Application {maharashtra} submitted / {SUBMITTED['mr'].format(maharashtra)}"
    assert subjects["submitted", "karnataka"] == f"Application {karnataka} submitted / {SUBMITTED['hi'].format(karnataka)}"


def test_a_long_bilingual_subject_folds_and_decodes_exactly(smtp_server, django_capture_on_commit_callbacks, onboarding_mail):
    [(template, _key, context, to, reply_to)] = [case for case in onboarding_mail
                                                 if case[0] == "authority_request" and case[1] == "long name"]
    application = context["application"]
    message = build_bilingual(to=to, reply_to=reply_to, template=template, context=context)
    [(raw, received)] = send_and_receive(smtp_server, django_capture_on_commit_callbacks, message.send)

    english, marathi = rendered(template, context, "en")[0], rendered(template, context, "mr")[0]
    subject = f"{english} / {marathi}"
    due = context["step"].due_at
    assert english == (f"Decision needed by {day(due, 'en')}: Sandes onboarding application {application.reference}"
                       f" ({LONG_NAME})")
    assert marathi == DECISION_NEEDED["mr"].format(day(due, "mr"), application.reference, LONG_NAME)
    assert len(subject) > 500
    assert_delivered_exactly(raw, received, subject=subject, to=to, reply_to=reply_to)
    folded = raw_headers(raw)["subject"]
    assert len(folded) > 5 and all(len(line) <= 78 for line in folded), folded
    # The stored copy keeps the whole subject too.
    assert OutboxMessage.objects.get(message_id=received["Message-ID"]).subject == subject


def test_a_deciders_list_decodes_exactly_in_english_and_the_deciders_language(
    smtp_server, django_capture_on_commit_callbacks
):
    """The deadline sweep's one mail to each decider of the steps it reminds and escalates
    to them (onboarding/approval/deadlines.py), through the real sweep: to Maharashtra's
    administrator in English and Marathi (the applications' language); to Karnataka's, who
    asked to be verified in Marathi, in English and Marathi (theirs); to a superadmin, of
    steps of both states, in English and Hindi."""
    from onboarding.approval.deadlines import deadline_sweep
    from tests.onboarding.approval_helpers import make_state_admin

    assert "decisions_due" in DECIDER_LISTS and (TEMPLATES_DIR / "decisions_due_subject.txt").exists()
    mh = make_state_admin("MH", email="admin.mh@maharashtra.gov.in", totp=False)
    ka = make_state_admin("KA", email="admin.ka@karnataka.gov.in", totp=False)
    GovernmentProfileFactory(user=ka, request_language="mr")
    root = make_superadmin(email="root@sandes.nic.in", totp=False)
    now = timezone.now()

    def step(jurisdiction, name, due, stage="state", status="with_state", **fields):
        application = ApplicationFactory(jurisdiction=jurisdiction, organisation_name=name, status=status)
        return ApprovalStepFactory(application=application, stage=stage, opened_at=now - timedelta(days=9),
                                   due_at=now + due, **fields)

    mh_soon = [step("MH", APPLICATIONS["maharashtra"][1], timedelta(days=1)),
               step("MH", LONG_NAME, timedelta(days=1, hours=1))]
    mh_late = [step("MH", "Directorate of Fisheries", -timedelta(hours=2), stage="authority", status="with_authority",
                    assignee_email=AUTHORITY_EMAIL)]
    ka_soon = [step("KA", APPLICATIONS["karnataka"][1], timedelta(days=1, hours=2)),
               step("KA", "Department of Revenue & Disaster Management", timedelta(days=1, hours=3))]
    root_late = [step("KA", "Karnataka State Archives", -timedelta(hours=3)),
                 step("MH", APPLICATIONS["maharashtra"][1], -timedelta(hours=1))]
    received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, lambda: deadline_sweep(now=now))
    assert len(received) == 3
    by_recipient = {message["To"].addresses[0].addr_spec: (raw, message) for raw, message in received}

    def section(steps, overdue):
        return {"overdue": overdue, "steps": steps, "more_in_queue": 0, "more_appeals": 0}

    cases = {
        mh.email: ({"soon_count": 2, "overdue_count": 1, "sections": [section(mh_late, True), section(mh_soon, False)]},
                   "mr", "Overdue and escalated: 1 application, and 2 due soon / "
                         "मुदत उलटली, वरिष्ठ स्तरावर पाठवला: 1 अर्ज; नियत तारीख जवळ: 2"),
        ka.email: ({"soon_count": 2, "overdue_count": 0, "sections": [section([], True), section(ka_soon, False)]},
                   "mr", "Reminder: decisions due on 2 applications / स्मरणपत्र: 2 अर्जांवर निर्णय देय"),
        root.email: ({"soon_count": 0, "overdue_count": 2,
                      "sections": [section(root_late, True), section([], False)]},
                     "hi", "Overdue and escalated: 2 applications / समय-सीमा पार और आगे भेजे गए: 2 आवेदन"),
    }
    for address, (context, second, subject) in cases.items():
        english_subject, english_body = rendered("decisions_due", context, "en")
        second_subject, second_body = rendered("decisions_due", context, second)
        assert subject == f"{english_subject} / {second_subject}"
        body = assert_delivered_exactly(*by_recipient[address], subject=subject, to=[address])
        assert body == f"{english_body}\n\n----------\n\n{second_body}\n", address
        english_half, _sep, second_half = body.partition("\n----------\n")
        for listed in (step for part in context["sections"] for step in part["steps"]):
            assert english_half.count(listed.application.reference) == 1, address
            assert listed.application.organisation_name in english_half, address
        assert DEVANAGARI.search(second_half.replace(LONG_NAME, "").replace(APPLICATIONS["maharashtra"][1], ""))
        # The second half in the language meant: Marathi's "नियत दिनांक", Hindi's "नियत तिथि".
        assert ("नियत दिनांक" if second == "mr" else "नियत तिथि") in second_half, address
    mh_english = text_of(by_recipient[mh.email][1]).partition("\n----------\n")[0]
    assert (f"the competent authority ({AUTHORITY_EMAIL}) has not decided yet; please follow it up: "
            f"{settings.SITE_URL}/onboarding/queue/") in mh_english
    assert f"{settings.SITE_URL}/onboarding/queue/{mh_soon[0].pk}/" in mh_english


def test_a_list_of_the_steps_handed_to_a_decider_decodes_exactly_in_english_and_the_deciders_language(
    smtp_server, django_capture_on_commit_callbacks
):
    """The one mail to each decider of the steps handed to them at once
    (onboarding/approval/decider_mails.py: assigned_mails), through the real job that tells
    the steps nobody could decide to those appointed since: to Maharashtra's new
    administrator in English and Marathi (the applications' language); to Karnataka's, who
    asked to be verified in Marathi, in English and Marathi (theirs); to a new superadmin,
    of appeals of both states, in English and Hindi. Every link absolute, and the portal's."""
    from urllib.parse import urlsplit

    from django.urls import resolve

    from onboarding.approval.deadlines import undecided_steps_assign
    from onboarding.models import ApprovalStep
    from tests.onboarding.approval_helpers import make_state_admin

    assert "steps_assigned" in DECIDER_LISTS and (TEMPLATES_DIR / "steps_assigned_subject.txt").exists()
    since = timezone.now() - timedelta(days=3)

    def step(jurisdiction, name, stage="state", status="with_state", **fields):
        application = ApplicationFactory(jurisdiction=jurisdiction, organisation_name=name, status=status)
        return ApprovalStepFactory(application=application, stage=stage, nobody_may_decide_since=since, **fields).pk

    mh_steps = [step("MH", APPLICATIONS["maharashtra"][1]), step("MH", LONG_NAME)]
    ka_steps = [step("KA", APPLICATIONS["karnataka"][1]), step("KA", "Department of Revenue & Disaster Management")]
    appeals = [step("KA", "Karnataka State Archives", stage="appeal", status="under_appeal", grounds="Yes."),
               step("MH", APPLICATIONS["maharashtra"][1], stage="appeal", status="under_appeal", grounds="होय.")]
    mh = make_state_admin("MH", email="admin.mh@maharashtra.gov.in", totp=False)
    ka = make_state_admin("KA", email="admin.ka@karnataka.gov.in", totp=False)
    GovernmentProfileFactory(user=ka, request_language="mr")
    root = make_superadmin(email="root@sandes.nic.in", totp=False)
    received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, undecided_steps_assign)
    assert len(received) == 5  # the three deciders, and each appeal's nodal officer
    by_recipient = {message["To"].addresses[0].addr_spec: (raw, message) for raw, message in received}
    # Each appeal's nodal officer is told it has gone to the superadmin, in the application's languages.
    for appeal in ApprovalStep.objects.select_related("application__nodal_officer").filter(pk__in=appeals):
        application, address = appeal.application, appeal.application.nodal_officer.email
        context = {"application": application, "step": appeal, "deciders": 1}
        english_subject, english_body = rendered("appeal_given", context, "en")
        second = mail_languages(application)[1]
        second_subject, second_body = rendered("appeal_given", context, second)
        body = assert_delivered_exactly(*by_recipient.pop(address), subject=f"{english_subject} / {second_subject}",
                                        to=[address])
        assert body == f"{english_body}\n\n----------\n\n{second_body}\n", address
        assert f"asked to decide by {timezone.localtime(appeal.due_at):%-d %B %Y}" in " ".join(english_body.split()), english_body

    def listed(ids):
        steps = list(ApprovalStep.objects.select_related("application").filter(pk__in=ids).order_by("due_at", "pk"))
        return {"count": len(steps), "listed": {"steps": steps, "more_in_queue": 0, "more_appeals": 0}}

    cases = {
        mh.email: (listed(mh_steps), "mr", "Now waiting for your decision: 2 applications / "
                                           "आता तुमच्या निर्णयासाठी प्रलंबित: 2 अर्ज"),
        ka.email: (listed(ka_steps), "mr", "Now waiting for your decision: 2 applications / "
                                           "आता तुमच्या निर्णयासाठी प्रलंबित: 2 अर्ज"),
        root.email: (listed(appeals), "hi", "Now waiting for your decision: 2 applications / "
                                            "अब आपके निर्णय की प्रतीक्षा में: 2 आवेदन"),
    }
    for address, (context, second, subject) in cases.items():
        english_subject, english_body = rendered("steps_assigned", context, "en")
        second_subject, second_body = rendered("steps_assigned", context, second)
        assert subject == f"{english_subject} / {second_subject}"
        body = assert_delivered_exactly(*by_recipient[address], subject=subject, to=[address])
        assert body == f"{english_body}\n\n----------\n\n{second_body}\n", address
        english_half, _sep, second_half = body.partition("\n----------\n")
        for listed_step in context["listed"]["steps"]:
            assert english_half.count(listed_step.application.reference) == 1, address
            assert listed_step.application.organisation_name in english_half, address
        links = re.findall(r"https?://\S+", body)
        assert len(links) == 4, links  # each step's, in each half
        for link in links:
            assert link.startswith(f"{settings.SITE_URL}/"), link
            assert resolve(urlsplit(link).path).url_name == ("appeal_step" if address == root.email else "queue_step")
        assert DEVANAGARI.search(second_half.replace(LONG_NAME, "").replace(APPLICATIONS["maharashtra"][1], ""))
        # The second half in the language meant: Marathi's "नियत दिनांक", Hindi's "नियत तिथि".
        assert ("नियत दिनांक" if second == "mr" else "नियत तिथि") in second_half, address


# allauth's mail -----------------------------------------------------------------------

# Each subject begins with the portal's name in the mail's language, as its greeting names it:
# a Hindi or Marathi subject has no English word.
PREFIX = {"en": "[Sandes onboarding] ", "hi": "[संदेस ऑनबोर्डिंग] ", "mr": "[संदेस ऑनबोर्डिंग] "}
ALLAUTH_SUBJECTS = {
    "email_confirmation": {
        "en": "Please Confirm Your Email Address",
        "hi": "कृपया अपने ईमेल पते की पुष्टि करें",
        "mr": "कृपया तुमच्या ई-मेल पत्त्याची पुष्टी करा",
    },
    "account_already_exists": {"en": "Account Already Exists", "hi": "खाता पहले से मौजूद है", "mr": "खाते आधीपासून अस्तित्वात आहे"},
    "password_reset_key": {"en": "Password Reset Email", "hi": "पासवर्ड रीसेट ईमेल", "mr": "पासवर्ड रीसेट ई-मेल"},
    "unknown_account": {"en": "Unknown Account", "hi": "अज्ञात खाता", "mr": "अज्ञात खाते"},
}
GREETING = {
    "en": "Hello from Sandes onboarding portal!",
    "hi": "संदेस ऑनबोर्डिंग पोर्टल की ओर से नमस्कार!",
    "mr": "संदेस ऑनबोर्डिंग पोर्टल कडून नमस्कार!",
}
# allauth's mail templates and why the portal does not send the others: each setting
# that would make it send one is asserted off below, so turning one on fails this
# test until its mail is added here.
NOT_SENT = {
    "login_code": "LOGIN_BY_CODE_ENABLED",
    "password_reset_code": "PASSWORD_RESET_BY_CODE_ENABLED",
    # Notifications of changes to an account (EMAIL_NOTIFICATIONS).
    "email_changed": "EMAIL_NOTIFICATIONS", "email_confirm": "EMAIL_NOTIFICATIONS",
    "email_deleted": "EMAIL_NOTIFICATIONS", "password_changed": "EMAIL_NOTIFICATIONS",
    "password_reset": "EMAIL_NOTIFICATIONS", "password_set": "EMAIL_NOTIFICATIONS",
}
SENT_AS = {"email_confirmation_signup": "email_confirmation"}


def client_in(language):
    """A browser that chose ``language`` on the portal's language switch."""
    client = Client()
    response = client.post("/i18n/setlang/", {"language": language, "next": "/"})
    assert response.status_code == 302 and client.cookies[settings.LANGUAGE_COOKIE_NAME].value == language
    return client


def test_allauth_mail_the_portal_does_not_send_is_switched_off():
    import allauth

    templates = Path(allauth.__file__).parent / "templates" / "account" / "email"
    kinds = {path.name.removesuffix("_subject.txt") for path in templates.glob("*_subject.txt")}
    assert kinds == set(ALLAUTH_SUBJECTS) | set(NOT_SENT) | set(SENT_AS)
    for setting in set(NOT_SENT.values()):
        assert getattr(account_settings, setting) is False, setting
    assert account_settings.EMAIL_VERIFICATION_BY_CODE_ENABLED and account_settings.EMAIL_UNKNOWN_ACCOUNTS


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_allauth_mail_in_the_language_chosen_on_the_portal(language, smtp_server, django_capture_on_commit_callbacks):
    existing = UserFactory(email=f"existing.{language}@mahaagri.gov.in")
    newcomer = f"new.officer.{language}@mahaagri.gov.in"
    changer = UserFactory(email=f"changer.{language}@mahaagri.gov.in")
    client = client_in(language)
    capture = django_capture_on_commit_callbacks

    def signup(address):
        response = client_in(language).post("/accounts/signup/", {"email": address, "password1": PASSWORD,
                                                                  "password2": PASSWORD})
        assert response.status_code == 302, response.content

    def reset(address):
        assert client.post("/accounts/password/reset/", {"email": address}).status_code == 302

    def change_email():
        signed_in = client_in(language)
        assert signed_in.login(email=changer.email, password=PASSWORD)
        response = post_confirming_access(signed_in, "/accounts/email/",
                                          {"email": f"changed.{language}@mahaagri.gov.in", "action_add": ""})
        assert response.status_code == 302, response.content

    flows = [
        ("email_confirmation", newcomer, lambda: signup(newcomer)),
        ("account_already_exists", existing.email, lambda: signup(existing.email)),
        ("password_reset_key", existing.email, lambda: reset(existing.email)),
        ("unknown_account", f"nobody.{language}@mahaagri.gov.in", lambda: reset(f"nobody.{language}@mahaagri.gov.in")),
        ("email_confirmation", f"changed.{language}@mahaagri.gov.in", change_email),
    ]
    for kind, address, flow in flows:
        [(raw, message)] = send_and_receive(smtp_server, capture, flow)
        body = assert_delivered_exactly(raw, message, subject=PREFIX[language] + ALLAUTH_SUBJECTS[kind][language],
                                        to=[address])
        assert body.startswith(GREETING[language]), (kind, body)
        assert language == "en" or not re.search("[A-Za-z]", message["Subject"]), message["Subject"]
        if language != "en":
            # In the language chosen: no sentence of allauth's English left.
            english_words = re.findall(r"\b(?:you|your|the|this|email|account|please)\b", body, re.IGNORECASE)
            assert english_words == [], (kind, body)
            assert len(DEVANAGARI.findall(body)) > 40, (kind, body)



def test_allauth_mail_to_an_account_someone_else_asked_for_is_in_the_holders_language(
        smtp_server, django_capture_on_commit_callbacks):
    """Anyone may type an address on the sign-up or the password reset page: the mail that
    goes to the account at that address is written in its holder's language where the
    portal knows it (the one she asked to be verified in), not in the language of whoever
    typed it; mail to oneself, caused by oneself, stays in the language one is using now."""
    holder = UserFactory(email="asha.kulkarni@pune.mahaagri.gov.in")
    GovernmentProfileFactory(user=holder, request_language="mr")
    unknown = UserFactory(email="ravi.patil@pune.mahaagri.gov.in")  # never asked: language unknown
    capture = django_capture_on_commit_callbacks

    def signup(language, address):
        response = client_in(language).post("/accounts/signup/", {"email": address, "password1": PASSWORD,
                                                                  "password2": PASSWORD})
        assert response.status_code == 302, response.content

    def reset(client, address):
        assert client.post("/accounts/password/reset/", {"email": address}).status_code == 302

    holder_on_the_portal = client_in("hi")
    holder_on_the_portal.force_login(holder)

    def add_address():
        response = post_confirming_access(holder_on_the_portal, "/accounts/email/",
                                          {"email": "asha.k@pune.mahaagri.gov.in", "action_add": ""})
        assert response.status_code == 302, response.content

    flows = [
        # Someone on the portal in English types her address: she reads it in Marathi.
        ("account_already_exists", holder.email, "mr", lambda: signup("en", holder.email)),
        ("password_reset_key", holder.email, "mr", lambda: reset(client_in("en"), holder.email)),
        ("account_already_exists", holder.email, "mr", lambda: signup("hi", holder.email)),
        # No language known for the account, or no account: the language of the page.
        ("account_already_exists", unknown.email, "hi", lambda: signup("hi", unknown.email)),
        ("password_reset_key", unknown.email, "hi", lambda: reset(client_in("hi"), unknown.email)),
        ("unknown_account", "nobody@pune.mahaagri.gov.in", "hi",
         lambda: reset(client_in("hi"), "nobody@pune.mahaagri.gov.in")),
        # She herself, signed in and using the portal in Hindi: Hindi.
        ("password_reset_key", holder.email, "hi", lambda: reset(holder_on_the_portal, holder.email)),
        ("email_confirmation", "asha.k@pune.mahaagri.gov.in", "hi", add_address),
        # A newcomer signing up gets the code in the language she signs up in.
        ("email_confirmation", "new.officer@pune.mahaagri.gov.in", "hi",
         lambda: signup("hi", "new.officer@pune.mahaagri.gov.in")),
    ]
    for kind, address, language, flow in flows:
        cache.clear()  # allauth's rate limits: one address asked for again and again here
        [(raw, message)] = send_and_receive(smtp_server, capture, flow)
        body = assert_delivered_exactly(raw, message, subject=PREFIX[language] + ALLAUTH_SUBJECTS[kind][language],
                                        to=[address])
        assert body.startswith(GREETING[language]), (kind, language, body)


CLOSED_SUBJECT = {"en": "Account Closed", "hi": "खाता बंद है", "mr": "खाते बंद आहे"}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_signing_up_or_resetting_at_a_closed_accounts_address_says_it_is_closed_and_whom_to_ask(
        language, smtp_server, django_capture_on_commit_callbacks):
    """The post's mailbox, held by the inactive account of someone who left: a sign-up with
    it said "an account already exists, reset its password", and the reset then said "no
    account at this address, sign up" (allauth looks for active accounts only): the successor
    went round in a circle. Both now say the account at the address is closed, and whom to
    ask to release the address; no link to a reset that cannot work."""
    from portal.accounts.models import User

    post = f"collector.{language}@maharashtra.gov.in"
    closed = UserFactory(email=post)
    User.objects.filter(pk=closed.pk).update(is_active=False)

    def signup():
        response = client_in(language).post("/accounts/signup/", {"email": post, "password1": PASSWORD,
                                                                  "password2": PASSWORD})
        assert response.status_code == 302, response.content

    def reset():
        assert client_in(language).post("/accounts/password/reset/", {"email": post}).status_code == 302

    for flow in (signup, reset):
        cache.clear()
        [(raw, message)] = send_and_receive(smtp_server, django_capture_on_commit_callbacks, flow)
        body = assert_delivered_exactly(raw, message, subject=PREFIX[language] + CLOSED_SUBJECT[language], to=[post])
        assert body.startswith(GREETING[language]), body
        assert "/accounts/password/reset/" not in body and "/accounts/signup/" not in body
        if language == "en":
            assert ("An account with this address exists on the portal, but it is closed: nobody can sign in to it, "
                    "and its password cannot be reset") in " ".join(body.split())
            assert "ask a superadmin of the portal" in body
        else:
            assert len(DEVANAGARI.findall(body)) > 40, body


def test_the_code_to_confirm_ones_own_address_at_sign_in_is_in_the_language_one_signs_in_in(
        smtp_server, django_capture_on_commit_callbacks):
    """A person whose language the portal knows (Marathi), signing in on the portal in Hindi
    with an address not yet confirmed, is sent the code in Hindi: she asked for it, now."""
    holder = UserFactory(email="asha.kulkarni@pune.mahaagri.gov.in", verified=False)
    EmailAddress.objects.create(user=holder, email=holder.email, verified=False, primary=True)
    GovernmentProfileFactory(user=holder, request_language="mr")

    def sign_in():
        response = client_in("hi").post("/accounts/login/", {"login": holder.email, "password": PASSWORD})
        assert response.status_code == 302, response.content

    [(raw, message)] = send_and_receive(smtp_server, django_capture_on_commit_callbacks, sign_in)
    body = assert_delivered_exactly(raw, message, subject=PREFIX["hi"] + ALLAUTH_SUBJECTS["email_confirmation"]["hi"],
                                    to=[holder.email])
    assert body.startswith(GREETING["hi"]), body


# The audit head --------------------------------------------------------------------------

def test_the_audit_head_mail_decodes_exactly_in_english_and_hindi(smtp_server, django_capture_on_commit_callbacks):
    superadmins = [make_superadmin(email="root@sandes.nic.in", totp=False),
                   make_superadmin(email="second.root@nic.in", totp=False)]
    audit_record(actor=superadmins[0], action=AuditAction.ORGANISATION_ACTIVATED, new={"name": "कृषी संचालनालय"})
    published_at = timezone.now().replace(microsecond=0)
    with time_machine.travel(published_at, tick=False):
        received = send_and_receive(smtp_server, django_capture_on_commit_callbacks,
                                    lambda: audit_head_publish.delay().get())
    assert len(received) == 2
    head = AuditChainHead.objects.get(pk=1)
    context = {"head": head, "sealed": True, "published_at": published_at}
    subjects, bodies = [], []
    for language in ("en", "hi"):
        with translation.override(language):
            subjects.append(" ".join(render_to_string("audit/email/head_published_subject.txt", context).split()))
            bodies.append(render_to_string("audit/email/head_published.txt", context).strip())
    assert DEVANAGARI.search(subjects[1]) and subjects[0] != subjects[1]

    received.sort(key=lambda item: str(item[1]["To"]))
    for (raw, message), admin in zip(received, sorted(superadmins, key=lambda user: user.email), strict=True):
        body = assert_delivered_exactly(raw, message, subject=" / ".join(subjects), to=[admin.email])
        assert body == f"{bodies[0]}\n\n----------\n\n{bodies[1]}\n"
        assert f"{head.last_event_id}:{head.last_hash}" in body.partition("\n----------\n")[2]


def test_the_notice_of_a_superuser_made_on_the_server_decodes_exactly_in_english_and_hindi(
        monkeypatch, smtp_server, django_capture_on_commit_callbacks):
    """manage.py createsuperuser tells every other superadmin, in English and Hindi, whom it
    made and when (its subject, long, mixing both scripts, decoded as sent)."""
    from io import StringIO

    from django.core.management import call_command

    root = make_superadmin(email="root@sandes.nic.in", totp=False)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-Passw0rd-for-tests!")
    made_at = timezone.now().replace(microsecond=0)
    with time_machine.travel(made_at, tick=False):
        received = send_and_receive(smtp_server, django_capture_on_commit_callbacks, lambda: call_command(
            "createsuperuser", "--noinput", email="second.root@sandes.nic.in", stdout=StringIO()))
    [(raw, message)] = [(raw, message) for raw, message in received if str(message["To"]) == root.email]
    context = {"email": "second.root@sandes.nic.in", "made_at": made_at}
    subjects, bodies = [], []
    for language in ("en", "hi"):
        with translation.override(language):
            subjects.append(" ".join(render_to_string("audit/email/superuser_made_on_server_subject.txt",
                                                      context).split()))
            bodies.append(render_to_string("audit/email/superuser_made_on_server.txt", context).strip())
    assert DEVANAGARI.search(subjects[1]) and "second.root@sandes.nic.in" in subjects[1]
    body = assert_delivered_exactly(raw, message, subject=" / ".join(subjects), to=[root.email])
    assert body == f"{bodies[0]}\n\n----------\n\n{bodies[1]}\n"
    assert date_format(timezone.localtime(made_at), "j F Y, H:i") in bodies[0]
