"""The declarations section's notice is the portal's versioned notice once superadmins
publish one (portal/privacy/notice.py): shown in the officer's language, its version
stored with the application and as the person's acceptance, and printed in the form's
PDF; the built-in text (NOTICE_VERSION) until then."""

import pytest
from django.conf import settings

from onboarding.application.declarations import NOTICE_VERSION, declaration_notice_of
from onboarding.application.pdf import application_form_html
from portal.privacy.models import NoticeAcceptance
from portal.privacy.notice import notice_publish
from tests.factories import ApplicationFactory, OrganisationFactory
from tests.html_tree import field_error, field_value, page
from tests.onboarding.approval_helpers import make_superadmin
from tests.onboarding.form_helpers import as_shown, new_application, post_section, reload, section_url
from tests.onboarding_data import VALID
from tests.verification.helpers import make_admin, signed_in

pytestmark = pytest.mark.django_db

ENGLISH = ["We keep the details of the officers to decide on the application.", "Write to grievance-sandes@nic.in."]
HINDI = "हम आवेदन पर निर्णय के लिए अधिकारियों का विवरण रखते हैं।"


@pytest.fixture
def published(officer_client):
    """A notice published while the officer is signed in (so the sign-in did not ask for it)."""
    return notice_publish(version="2026.2", body_en="\n\n".join(ENGLISH), body_hi=HINDI, actor=make_superadmin())


def test_without_a_published_notice_the_built_in_text_and_version(officer_client, officer):
    application = new_application(officer)
    page = officer_client.get(section_url(application, "declarations")).content.decode()
    assert f"version {NOTICE_VERSION}" in page and "What we collect" in page
    assert officer_client.get("/onboarding/privacy-notice/").content.decode().count(NOTICE_VERSION) == 1


def test_the_published_notice_is_shown_accepted_and_printed(officer_client, officer, published):
    application = new_application(officer)
    page = officer_client.get(section_url(application, "declarations")).content.decode()
    assert "version 2026.2" in page and all(f"<p>{text}</p>" in page for text in ENGLISH)
    assert "What we collect" not in page and NOTICE_VERSION not in page
    assert "Version 2026.2" in officer_client.get("/onboarding/privacy-notice/").content.decode()

    assert post_section(officer_client, application, "declarations", VALID["declarations"]).status_code == 302
    stored = reload(application)
    assert stored.declarations_version == "2026.2" and stored.declarations_accepted_at is not None
    acceptance = NoticeAcceptance.objects.get(user=officer)
    assert acceptance.notice == published

    html = application_form_html(stored)
    assert "Data protection notice, version 2026.2." in html and ENGLISH[0] in html
    assert "What we collect" not in html


def test_in_hindi_the_hindi_text(officer_client, officer, published):
    officer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    page = officer_client.get(section_url(new_application(officer), "declarations")).content.decode()
    assert HINDI in page and ENGLISH[0] not in page


def test_an_application_keeps_printing_the_version_it_accepted(officer_client, officer):
    application = new_application(officer)
    post_section(officer_client, application, "declarations", VALID["declarations"])
    notice_publish(version="2026.2", body_en="\n\n".join(ENGLISH), actor=make_superadmin())
    html = application_form_html(reload(application))
    assert f"Data protection notice, version {NOTICE_VERSION}." in html and "What we collect" in html


def test_a_notice_published_while_the_page_was_open_is_shown_before_it_is_accepted(officer_client, officer):
    """The officer is recorded as accepting the version the page showed them, never one
    published after they opened it: the save is refused at the boxes, the new text shown."""
    application = new_application(officer)
    url = section_url(application, "declarations")
    shown = as_shown(officer_client, url, VALID["declarations"])
    assert shown["notice_version"] == NOTICE_VERSION
    notice_publish(version="2026.9", body_en="We now share your details with third parties.", actor=make_superadmin())

    response = post_section(officer_client, application, "declarations", shown)
    assert response.status_code == 200
    stored = reload(application)
    assert stored.declarations_version == "" and stored.declarations_accepted_at is None
    assert stored.status_of("declarations") == "not_started"
    assert not NoticeAcceptance.objects.filter(user=officer).exists()
    tree = page(response)
    assert field_error(tree, "accept_notice") == (
        "The data protection notice changed since this page was opened: read version 2026.9 above and tick the box "
        "again.")
    assert "We now share your details with third parties." in tree.squashed_text() and "version 2026.9" in tree.squashed_text()
    assert field_value(tree, "notice_version") == "2026.9"
    assert field_value(tree, "accept_notice") is False  # ticked again, for the text shown now
    assert field_value(tree, "undertaking_true") is True  # the rest as typed

    again = {name: "on" for name in VALID["declarations"]} | {"notice_version": field_value(tree, "notice_version")}
    assert post_section(officer_client, application, "declarations", again).status_code == 302
    assert reload(application).declarations_version == "2026.9"
    assert NoticeAcceptance.objects.get(user=officer).notice.version == "2026.9"


def test_boxes_left_unticked_accept_nothing_and_are_saved_whatever_the_notice(officer_client, officer):
    application = new_application(officer)
    shown = as_shown(officer_client, section_url(application, "declarations"), {"undertaking_true": "on"})
    notice_publish(version="2026.9", body_en="A new text.", actor=make_superadmin())
    assert post_section(officer_client, application, "declarations", shown).status_code == 200
    stored = reload(application)
    assert stored.section_data("declarations")["undertaking_true"] is True and stored.declarations_version == ""


def who_can_see_it(notice):
    [text] = [str(text) for heading, text in notice.sections if str(heading) == "Who can see it"]
    return text


def test_the_built_in_notice_names_everyone_who_can_see_an_approved_application(officer):
    """Once approved, an application (the officer's and the competent authority's details,
    the signed letter) is open to the admins of the organisation it made and of every
    organisation above it (portal.permissions: an organisation's admin administers the
    offices below it), and to the superadmins, as to the officer, the state's administrators
    and the auditors. The built-in notice the officer accepts says who can see it and that it
    is shared with nobody else: it names them all."""
    ministry = OrganisationFactory(name="Agriculture Department, Maharashtra")
    office = OrganisationFactory(name="District Agriculture Office, Pune", parent=ministry)
    office_admin, ministry_admin = make_admin(office), make_admin(ministry)
    application = ApplicationFactory(nodal_officer=officer, status="approved", organisation=office,
                                     declarations_version=NOTICE_VERSION)
    for reader in (office_admin, ministry_admin, make_superadmin()):
        assert signed_in(reader).get(f"/onboarding/{application.pk}/").status_code == 200, reader
    who = who_can_see_it(declaration_notice_of(application.declarations_version))
    assert "superadmins" in who
    assert "administrators of your organisation and of the organisations above it" in who


def test_an_application_that_accepted_the_first_built_in_text_keeps_it():
    """The first built-in text (2026.1) stays what those who accepted it are shown and printed."""
    first = declaration_notice_of("2026.1")
    assert first.version == "2026.1"
    assert who_can_see_it(first) == (
        "You, the competent authority named in the form, the administrators of your state (or the central "
        "administrators) and NIC's auditors. It is not shared with anyone else.")


def how_long_we_keep_it(notice, language="en"):
    from django.utils import translation  # noqa: PLC0415

    [text] = [text for heading, text in notice.sections if str(heading) == "How long we keep it"]
    with translation.override(language):
        return str(text)


@pytest.mark.parametrize(("language", "said"), [
    ("en", "An application never sent for a decision is erased after a reminder by email once it has not been "
           "touched for six months; one returned to you for correction and not sent again is withdrawn in the "
           "same way."),
    ("hi", "जो आवेदन कभी निर्णय के लिए नहीं भेजा गया, उसे छह महीने तक न छुए जाने पर ईमेल से अनुस्मारक के बाद मिटा दिया "
           "जाता है; आपको सुधार के लिए लौटाया गया जो आवेदन फिर से नहीं भेजा गया, उसे भी इसी तरह वापस ले लिया जाता है।"),
    ("mr", "निर्णयासाठी कधीही न पाठवलेला अर्ज सहा महिने हाताळला न गेल्यास ईमेलद्वारे स्मरणपत्र दिल्यानंतर पुसला जातो; "
           "तुम्हाला दुरुस्तीसाठी परत पाठवलेला व पुन्हा न पाठवलेला अर्जही त्याच प्रकारे मागे घेतला जातो."),
])
def test_the_built_in_notice_says_that_an_untouched_draft_is_erased(language, said):
    """The daily retention run erases a draft nobody touched for six months, after a
    reminder to its officer (portal.privacy's draft policy), and withdraws an application
    returned for correction and left as long (its own policy): the notice the officer accepts
    says how long their data is kept, and said nothing of either. The text that says it is a new
    built-in version; those who accepted an earlier one keep theirs."""
    from onboarding.application.declarations import BUILT_IN_NOTICES  # noqa: PLC0415

    notice = declaration_notice_of(NOTICE_VERSION)
    assert NOTICE_VERSION not in ("2026.1", "2026.1.1")
    assert said in how_long_we_keep_it(notice, language)
    for earlier in ("2026.1", "2026.1.1"):
        assert how_long_we_keep_it(BUILT_IN_NOTICES[earlier]) == (
            "For as long as your organisation uses the platform and for seven years after it leaves; a rejected or "
            "withdrawn application is kept for three years.")
    assert who_can_see_it(BUILT_IN_NOTICES["2026.1.1"]) == who_can_see_it(notice)
