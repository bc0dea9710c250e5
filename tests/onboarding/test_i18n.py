"""The portal in Hindi (and Marathi), chosen through the language switch.

The catalogues (.mo, not committed) are compiled by ``make test``, and by
tests/conftest.py when a bare pytest run finds one missing or stale."""

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.html_tree import field_error, page
from tests.onboarding.form_helpers import new_application, post_section, valid

pytestmark = pytest.mark.django_db

HINDI_SECTIONS = [
    "संगठन का विवरण", "पदानुक्रम में स्थान", "नोडल अधिकारी", "सक्षम प्राधिकारी", "ई-गवर्नेंस अनुप्रयोगों के साथ एकीकरण",
    "डेटा संरक्षण सूचना और वचनबद्धताएँ", "हस्ताक्षरित प्राधिकार पत्र",
]


def switch_language(client, language, next_url):
    response = client.post("/i18n/setlang/", {"language": language, "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == next_url
    return response


def task_list(client, application):
    return page(client.get(f"/onboarding/{application.pk}/tasks/"))


def section_links(tree):
    return [a.squashed_text() for a in tree.find("ol", class_="task-list").find_all("a")]


def statuses(tree):
    return {span.get("id")[len("status-"):]: span.squashed_text() for span in tree.find_all("span")
            if span.get("id", "").startswith("status-")}


@pytest.fixture
def application(officer, officer_client):
    application = new_application(officer)
    assert post_section(officer_client, application, "organisation", valid("organisation")).status_code == 302
    assert post_section(officer_client, application, "nodal_officer", valid("nodal_officer", mobile="")).status_code == 200
    return application


def test_task_list_in_hindi_after_the_language_switch(officer_client, application):
    url = f"/onboarding/{application.pk}/tasks/"
    english = task_list(officer_client, application)
    assert english.find("html").get("lang") == "en"
    assert section_links(english)[0] == "Organisation details"

    switch_language(officer_client, "hi", url)
    tree = task_list(officer_client, application)
    assert tree.find("html").get("lang") == "hi"
    assert tree.find("h1").squashed_text() == "ऑनबोर्डिंग फ़ॉर्म: Directorate of Agriculture, Maharashtra"
    assert tree.find("title").squashed_text() == "ऑनबोर्डिंग फ़ॉर्म · संदेस ऑनबोर्डिंग पोर्टल"
    assert section_links(tree) == HINDI_SECTIONS
    assert statuses(tree) == {
        "organisation": "पूर्ण", "hierarchy": "शुरू नहीं हुआ", "nodal_officer": "प्रगति पर",
        "competent_authority": "शुरू नहीं हुआ", "integration": "शुरू नहीं हुआ", "declarations": "शुरू नहीं हुआ",
        "authorisation_letter": "शुरू नहीं हुआ",
    }
    text = tree.squashed_text()
    assert "मसौदा" in text  # the application's status
    assert "आपने 7 में से 1 खंड पूर्ण कर लिए हैं।" in text
    assert "अनुमोदन के लिए प्रस्तुत करें" in text
    assert "सभी खंड पूर्ण होने पर आप प्रस्तुत कर सकते हैं।" in text
    nav = tree.find("nav")
    assert "मेरे आवेदन" in nav.squashed_text() and "साइन आउट करें" in nav.squashed_text()
    assert tree.find("select", id="language-select").find("option", value="hi").attrs.get("selected") is not None
    for english_text in ("Onboarding form", "Not started", "Organisation details", "My applications", "Sign out",
                         "Submit for approval", "You have completed"):
        assert english_text not in text, english_text

    # And back.
    switch_language(officer_client, "en", url)
    assert section_links(task_list(officer_client, application))[0] == "Organisation details"


def test_the_language_stays_for_the_rest_of_the_journey(officer_client, application):
    switch_language(officer_client, "hi", "/onboarding/")
    listing = page(officer_client.get("/onboarding/"))
    assert listing.find("h1").squashed_text() == "मेरे आवेदन"
    section = page(officer_client.get(f"/onboarding/{application.pk}/section/organisation/"))
    assert section.find("h1").squashed_text() == "संगठन का विवरण"
    assert section.find("label", for_="id_pin_code").squashed_text().startswith("पिन कोड")
    response = post_section(officer_client, application, "organisation", valid("organisation", pin_code="011001"))
    assert "6 अंकों का ऐसा पिन कोड दर्ज करें जो 0 से शुरू न हो" in page(response).by_id("id_pin_code_error").squashed_text()


def test_task_list_in_marathi(officer_client, application):
    switch_language(officer_client, "mr", f"/onboarding/{application.pk}/tasks/")
    tree = task_list(officer_client, application)
    assert tree.find("html").get("lang") == "mr"
    assert section_links(tree)[:4] == ["संस्थेचा तपशील", "प्रशासकीय उतरंडीतील स्थान", "नोडल अधिकारी", "सक्षम प्राधिकारी"]
    assert statuses(tree)["organisation"] == "पूर्ण" and statuses(tree)["hierarchy"] == "सुरू केलेले नाही"
    assert statuses(tree)["nodal_officer"] == "प्रगतीपथावर"
    assert "माझे अर्ज" in tree.find("nav").squashed_text()
    assert "तुम्ही 7 पैकी 1 विभाग पूर्ण केले आहेत." in tree.squashed_text()


# The Hindi catalogue is complete ----------------------------------------------------------

def _fields(path):
    """The fields (msgid, msgid_plural, msgstr[n], ...) of every entry of a PO file, each
    joined from its lines."""
    for block in Path(path).read_text(encoding="utf-8").split("\n\n"):
        fields, current = {}, None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            match = re.match(r'^(msgid_plural|msgid|msgstr(?:\[\d+\])?|msgctxt) (".*")$', line)
            if match:
                current = match[1]
                fields[current] = ast.literal_eval(match[2])
            elif line.startswith('"') and current:
                fields[current] += ast.literal_eval(line)
        if fields.get("msgid"):
            yield fields


def _entries(path):
    """(msgid, [msgstr...]) of every entry of a PO file."""
    return [(fields["msgid"], [v for k, v in fields.items() if k.startswith("msgstr")]) for fields in _fields(path)]


def _plurals(path):
    """{msgid: msgid_plural} of the plural entries of a PO file (either on one line or on several)."""
    return {fields["msgid"]: fields["msgid_plural"] for fields in _fields(path) if "msgid_plural" in fields}


PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def test_every_hindi_message_is_translated_with_its_placeholders():
    path = Path(settings.BASE_DIR) / "locale" / "hi" / "LC_MESSAGES" / "django.po"
    entries, plurals = _entries(path), _plurals(path)
    assert len(entries) > 400
    untranslated = [msgid for msgid, translations in entries if not all(translations)]
    assert untranslated == []
    # A plural form may name what the plural msgid names (a count the singular leaves out).
    wrong = [(msgid, t) for msgid, translations in entries for t in translations
             if set(PLACEHOLDER.findall(t)) - set(PLACEHOLDER.findall(msgid + plurals.get(msgid, "")))
             or (len(translations) == 1 and set(PLACEHOLDER.findall(t)) != set(PLACEHOLDER.findall(msgid)))]
    assert wrong == []
    # Translated means into Hindi: Devanagari, unless the text is only a technical name.
    latin_only = [msgid for msgid, translations in entries if not re.search(r"[\u0900-\u097F]", translations[0])]
    # Names of formats, the same in every language; the units of a file's size, as the pages write them ("5 MB").
    assert sorted(latin_only) == sorted(["%s KB", "%s MB", "%s GB", "Message-ID", "CSV", "Excel (.xlsx)"])


# A screen reader reads a new page's title first: a refused section's page says so there
# ("Error: " before the title, in the page's language), a blank form's does not.
ERROR_WORD = {"en": "Error:", "hi": "त्रुटि:", "mr": "त्रुटी:"}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_a_refused_sections_title_begins_with_error(officer_client, application, language):
    officer_client.cookies["django_language"] = language
    url = f"/onboarding/{application.pk}/section/organisation/"
    blank = page(officer_client.get(url)).find("title").squashed_text()
    assert not blank.startswith(ERROR_WORD[language])

    refused = page(post_section(officer_client, application, "organisation", valid("organisation", pin_code="12")))
    assert refused.by_id("error-summary") is not None
    assert refused.find("title").squashed_text() == f"{ERROR_WORD[language]} {blank}"


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_a_fields_error_is_read_as_an_error(officer_client, application, language):
    """A screen reader reads a box's description (aria-describedby) on reaching it: the error
    there begins with a visually hidden "Error:" in the page's language, or it is heard as a
    hint. What is seen is the message alone."""
    officer_client.cookies["django_language"] = language
    tree = page(post_section(officer_client, application, "organisation", valid("organisation", pin_code="12")))
    box = tree.by_id("id_pin_code")
    assert box.get("aria-invalid") == "true"
    described = [tree.by_id(ref) for ref in box.get("aria-describedby").split()]
    [error] = [node for node in described if node.get("id") == "id_pin_code_error"]
    assert error.squashed_text().startswith(f"{ERROR_WORD[language]} ")
    [word] = error.find_all(class_="visually-hidden")
    assert word.squashed_text() == ERROR_WORD[language]
    assert not field_error(tree, "pin_code").startswith(ERROR_WORD[language])
    assert error.squashed_text() == f"{ERROR_WORD[language]} {field_error(tree, 'pin_code')}"


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_hindi_example_of_the_local_name_is_marked_as_hindi(officer_client, application, language):
    """The hint of "Name in Hindi or the state's language" ends with a Hindi example: a voice
    reading the page's language (an English one cannot read Devanagari) reads it as Hindi
    only if it says so."""
    officer_client.cookies["django_language"] = language
    hint = page(officer_client.get(f"/onboarding/{application.pk}/section/organisation/")).by_id("id_name_local_helptext")
    [example] = hint.find_all("span")
    assert (example.get("lang"), example.squashed_text()) == ("hi", "गृह मंत्रालय")
    assert hint.squashed_text().endswith(" गृह मंत्रालय")
    outside = hint.squashed_text()[: -len("गृह मंत्रालय")]
    assert ("मंत्रालय" in outside) is False


@pytest.mark.parametrize("language", ["hi", "mr"])
def test_a_letters_size_says_mb_as_the_page_says_its_limit(language):
    """Django's Hindi writes a size as "2.4 मेबी " (mebi, and a space before the comma), its
    Marathi "2.4 एमबी", on pages whose own words say "5 MB"."""
    from onboarding.models import Attachment
    from tests.factories import UserFactory
    from tests.onboarding.approval_helpers import filled_application, signed_in

    officer = UserFactory(email="officer@maharashtra.gov.in")
    application = filled_application(officer)
    Attachment.objects.filter(application=application).update(size=2_500_000)
    client = signed_in(officer)
    client.cookies["django_language"] = language
    assert "5 MB" in client.get(f"/onboarding/{application.pk}/letter/").content.decode()
    for path in (f"/onboarding/{application.pk}/letter/", f"/onboarding/{application.pk}/submit/"):
        html = client.get(path).content.decode()
        assert "(2.4\xa0MB, 1 " in html, re.findall(r"\(2\.4[^)]*\)", html)
