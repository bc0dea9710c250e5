"""Names people type reach mail from the portal on one line and with any web address
in them broken, so that a mail client does not make a link of it: a name is not a
place to send the competent authority to.

Web addresses in names are made inert in mail rather than refused at the field: a
genuine name may hold a domain ("National Informatics Centre (nic.in)"), names also
come from accounts and from data stored before, and the pages show a name exactly
as typed; only mail clients turn text into links.
"""

import pytest

from onboarding.approval.placement import placement_made_tell
from onboarding.models import Application
from onboarding.notifications import build_bilingual
from portal.mail.models import OutboxMessage
from portal.text import inert, inert_lines
from tests.factories import ApplicationFactory, OrganisationFactory
from tests.onboarding.approval_helpers import (
    AUTHORITY_EMAIL,
    appeal_confirmed,
    latest_link,
    make_superadmin,
    signed_in,
    submitted_application,
)
from tests.onboarding.form_helpers import complete, new_application, post_section, submit, valid
from tests.smtp import text_of

PHISHING_NAME = "Directorate of Agriculture - approve at https://evil.example.com/login or www.evil.example"


def delivered_to(server, address):
    return [m for m in server.messages if address in (m["To"] or "")]


@pytest.mark.django_db
def test_a_web_address_in_an_organisation_name_is_not_a_link_in_the_authoritys_email(
    officer_client, officer, smtp_server, django_capture_on_commit_callbacks
):
    application = complete(officer_client, new_application(officer))
    post_section(officer_client, application, "organisation", valid("organisation", name=PHISHING_NAME))
    application = submit(officer_client, application, django_capture_on_commit_callbacks)
    assert application.organisation_name == PHISHING_NAME  # the portal keeps the name as typed

    [mail] = delivered_to(smtp_server, AUTHORITY_EMAIL)
    text = text_of(mail)
    assert "https://evil.example.com" not in text and "www.evil.example" not in text and "evil.example.com" not in text
    assert "approve at https[:]//evil[.]example[.]com/login or www[.]evil[.]example" in text
    assert "evil" not in mail["Subject"].replace("evil[.]example", "")  # the subject has it broken too
    # The review link the email exists for is still a link.
    assert "/onboarding/review/" in text


@pytest.mark.django_db
def test_a_name_stored_with_line_breaks_reaches_mail_on_one_line(
    officer_client, officer, smtp_server, django_capture_on_commit_callbacks
):
    application = complete(officer_client, new_application(officer))
    # As a draft saved before single-line answers were cleaned could hold it.
    Application.objects.filter(pk=application.pk).update(organisation_name="Directorate of\r\nAgriculture\n\nURGENT: reply")
    officer.full_name = "Sunil\nPatil"
    officer.save(update_fields=["full_name"])
    submit(officer_client, application, django_capture_on_commit_callbacks)
    [mail] = delivered_to(smtp_server, AUTHORITY_EMAIL)
    first_paragraph = text_of(mail).split("\n\n")[0]
    assert "Sunil Patil (nodal.officer@mahaagri.gov.in), nodal officer of Directorate of Agriculture URGENT: reply" in " ".join(
        first_paragraph.split("\n")
    )
    assert "\nURGENT" not in text_of(mail)


@pytest.mark.parametrize(
    "name, shown",
    [
        ("Directorate of Agriculture, Maharashtra", "Directorate of Agriculture, Maharashtra"),
        ("U.P. Police", "U.P. Police"),
        ("Sh. R.K. Sharma", "Sh. R.K. Sharma"),
        ("Dept. of Posts, e.g. DOP-KA", "Dept. of Posts, e.g. DOP-KA"),
        ("कृषी संचालनालय, महाराष्ट्र", "कृषी संचालनालय, महाराष्ट्र"),
        ("Version 1.2 office", "Version 1.2 office"),
        ("National Informatics Centre (nic.in)", "National Informatics Centre (nic[.]in)"),
        ("see http://x.example/a", "see http[:]//x[.]example/a"),
        ("HTTPS://EVIL.EXAMPLE", "HTTPS[:]//EVIL[.]EXAMPLE"),
        ("mail me: boss@evil.example", "mail me: boss[at]evil[.]example"),
        ("मंत्रालय.भारत", "मंत्रालय[.]भारत"),
        ("Line\r\nbreak\tand\u202eoverride", "Line break andoverride"),
        (None, ""),
    ],
)
def test_inert_keeps_names_and_breaks_addresses(name, shown):
    assert inert(name) == shown


@pytest.mark.parametrize(
    "name",
    ["K.R.Narayanan", "S.Jaishankar", "Dr.Rao", "Smt.Sushma Swaraj", "A.P.J. Abdul Kalam", "Prof.C.N.R.Rao",
     "के.आर.नारायणन", "डॉ.राव", "Pune Divn.", "Rev.2 of 3", "Room No.12"],
)
def test_inert_keeps_initials_and_titles_written_without_spaces(name):
    """"K.R.Narayanan", "Dr.Rao": initials and titles run into the name are a common way of
    writing Indian names, and no mail client makes a link of them (their last part is no
    top-level domain); every mail naming the person said "K.R[.]Narayanan"."""
    assert inert(name) == name


@pytest.mark.parametrize(
    "name, shown",
    [
        ("Visit mha.gov.in today", "Visit mha[.]gov[.]in today"),
        ("NIC.IN", "NIC[.]IN"),
        ("Portal at Sandes.Gov.In.", "Portal at Sandes[.]Gov[.]In."),
        ("Dr.Rao (raodr.com)", "Dr.Rao (raodr[.]com)"),
        ("see example.org/login", "see example[.]org/login"),
        ("WWW.Evil.Example", "WWW[.]Evil[.]Example"),
        ("pay at evil.example", "pay at evil[.]example"),  # lower case, as addresses are written
        ("server 192.168.10.5 now", "server 192[.]168[.]10[.]5 now"),
        ("http://10.0.0.1/x", "http[:]//10[.]0[.]0[.]1/x"),
        ("seva@भारत.gov.in", "seva[at]भारत[.]gov[.]in"),
        ("सेवा.भारत", "सेवा[.]भारत"),
        ("K.R.Narayanan, mail kr@Narayanan.Example", "K.R.Narayanan, mail kr[at]Narayanan[.]Example"),
    ],
)
def test_inert_breaks_what_a_mail_client_could_make_a_link_of(name, shown):
    assert inert(name) == shown


@pytest.mark.django_db
def test_a_nodal_officer_named_with_initials_reaches_the_authoritys_mail_as_typed(
    officer_client, officer, smtp_server, django_capture_on_commit_callbacks
):
    application = complete(officer_client, new_application(officer))
    post_section(officer_client, application, "organisation", valid("organisation", name="Office of Dr.Rao, Pune"))
    officer.full_name = "K.R.Narayanan"
    officer.save(update_fields=["full_name"])
    submit(officer_client, application, django_capture_on_commit_callbacks)
    [mail] = delivered_to(smtp_server, AUTHORITY_EMAIL)
    assert "K.R.Narayanan (nodal.officer@mahaagri.gov.in), nodal officer of Office of Dr.Rao, Pune" in " ".join(
        text_of(mail).split("\n"))
    assert "Office of Dr.Rao, Pune" in mail["Subject"] and "[.]" not in mail["Subject"]


def test_inert_lines_keeps_the_lines_and_breaks_addresses():
    assert inert_lines("See letter.\r\n\r\nDecide at https://evil.example/x\n\u202etxt.exe") == (
        "See letter.\n\nDecide at https[:]//evil[.]example/x\ntxt[.]exe")
    assert inert_lines(None) == ""


@pytest.mark.django_db
def test_appeal_grounds_reach_the_superadmins_mail_without_a_link_or_an_override(officer):
    from django.test import Client

    root = make_superadmin(email="root@nic.in")
    application = submitted_application(officer)
    Client().post(latest_link()[0],
                  {"decision": "reject", "remarks": "Not eligible; see https://rules.example/x", "confirm": "on"})
    grounds = ("See letter.\n\nURGENT - decide now (sign in again first): https://sandes-portal.example/appeals/1/\n"
               "\u202etxt.exe")
    assert appeal_confirmed(signed_in(officer), application, grounds).status_code == 302
    for mail in (OutboxMessage.objects.filter(to__contains=[root.email], subject__startswith="Appeal to decide").get(),
                 OutboxMessage.objects.filter(to__contains=[officer.email], subject__contains="rejected").first()):
        assert "https://" not in mail.body.replace(settings_site(), "") and "\u202e" not in mail.body
    body = OutboxMessage.objects.filter(to__contains=[root.email], subject__startswith="Appeal to decide").get().body
    assert "URGENT - decide now (sign in again first): https[:]//sandes-portal[.]example/appeals/1/\ntxt[.]exe" in body
    assert "txt.exe" in application.steps.get(stage="appeal").grounds
    assert "\u202e" not in application.steps.get(stage="appeal").grounds  # stored without the override


def settings_site():
    from django.conf import settings

    return settings.SITE_URL


@pytest.mark.django_db
def test_a_subject_naming_two_long_organisations_in_two_languages_is_sent_whole(
        smtp_server, django_capture_on_commit_callbacks):
    """The superadmins' mail that an office now sits under its parent names both, in English
    and in the state's language: four names of up to 200 characters, each up to four times
    as long once its addresses are broken. Stored and delivered as built, not cut at a length
    (here it was, inside a Marathi conjunct)."""
    superadmin = make_superadmin()
    parent = OrganisationFactory(name="a@" * 93 + "x" * 14, state="MH")  # 200 characters
    office = OrganisationFactory(name="b@" * 100, state="MH", parent=parent)
    application = ApplicationFactory(jurisdiction="MH", organisation_name=office.name, organisation=office)
    meant = build_bilingual(to=[superadmin.email], template="placement_made", languages=("en", "mr"),
                            context={"application": application, "parent": parent, "organisation": office,
                                     "officer": application.nodal_officer, "domains": [], "acting": None}).subject
    assert len(meant) > 2000
    with django_capture_on_commit_callbacks(execute=True):
        placement_made_tell(application=application, organisation=office, actor=None)
    assert OutboxMessage.objects.get().subject == meant
    [message] = smtp_server.messages
    assert str(message["Subject"]) == meant
