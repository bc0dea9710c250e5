"""What an officer's input can cost: the draft keeps no more than each field accepts.

A section is POSTed by the signed-in nodal officer, as a crafted request would send
it (a browser's own maxlength and single-line inputs would not let these through):
the draft stores at most the field's max_length, no line break or other control
character in a single-line answer, at most a few lines in a multi-line one. What was
changed is said at the field, the page is shown again (not a redirect) with the
answers as stored, and every other answer is kept as typed.
"""

import pytest

from onboarding.application.forms import SECTION_FORMS
from onboarding.models import SectionStatus
from tests.html_tree import field_container, field_error, field_value, page
from tests.onboarding.form_helpers import new_application, post_section, reload, valid

pytestmark = pytest.mark.django_db

COMPLETE, IN_PROGRESS, HAS_ERRORS = SectionStatus.COMPLETE, SectionStatus.IN_PROGRESS, SectionStatus.HAS_ERRORS

CHANGED_PAGE_MESSAGE = "Your answers were saved, but some were changed to fit the form: check the answers marked below."
DRAFT_PAGE_MESSAGE = "Your answers were saved as a draft. Correct the problems shown to complete this section."
CONTROL_MESSAGE = "Line breaks, tabs and other control characters were removed from this answer. Check it."


def cut_message(limit):
    return f"Only the first {limit} characters of this answer were kept. Check it."


def field_warnings(tree, name):
    container = field_container(tree, name)
    assert container is not None, f"no field {name!r} in the page"
    return [node.squashed_text() for node in container.iter() if "field-warning" in node.get("class", "").split()]


def alerts(tree):
    return [node.squashed_text() for node in tree.iter() if "alert" in node.get("class", "").split()]


@pytest.fixture
def application(officer):
    return new_application(officer)


def assert_others_kept(application, section, data, changed):
    stored = reload(application).section_data(section)
    for name, typed in data.items():
        if name in changed or name in ("official_email", "save", "continue"):
            continue
        expected = typed == "on" if isinstance(stored.get(name), bool) else typed
        assert stored.get(name) == expected, name


# Over-long answers ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "section, field, value, limit, extra, status",
    [
        ("organisation", "name", "D" * 201, 200, {}, COMPLETE),
        ("organisation", "name", "Directorate " * 400, 200, {}, COMPLETE),  # 4,800 characters
        ("organisation", "name_local", "क" * 201, 200, {}, COMPLETE),
        ("organisation", "address", "A" * 501, 500, {}, COMPLETE),
        ("organisation", "address", "A" * 5000, 500, {}, COMPLETE),
        ("organisation", "district", "D" * 101, 100, {}, COMPLETE),
        ("organisation", "website", "https://" + "w" * 60 + ".gov.in/" + "p" * 140, 200, {}, COMPLETE),
        ("organisation", "short_code", "S" * 21, 20, {}, COMPLETE),
        ("organisation", "pin_code", "41100111", 7, {}, HAS_ERRORS),  # still not a PIN code
        ("hierarchy", "new_parent_name", "N" * 201, 200, {"parent_choice": "new", "new_parent_type": "department"}, COMPLETE),
        ("nodal_officer", "name", "N" * 151, 150, {}, COMPLETE),
        ("nodal_officer", "designation", "D" * 151, 150, {}, COMPLETE),
        ("nodal_officer", "employee_code", "E" * 31, 30, {}, COMPLETE),
        ("competent_authority", "name", "A" * 151, 150, {}, COMPLETE),
        ("competent_authority", "official_email", "d" * 250 + "@mahaagri.gov.in", 254, {}, HAS_ERRORS),  # cut: no address
        ("integration", "app_3_name", "A" * 151, 150, {}, IN_PROGRESS),  # a row without its purposes
        ("integration", "tech_name", "K" * 151, 150, {}, COMPLETE),
    ],
)
def test_an_answer_longer_than_its_field_is_cut_to_the_fields_limit_with_a_message_at_the_field(
    officer_client, application, section, field, value, limit, extra, status
):
    data = valid(section, **extra, **{field: value})
    response = post_section(officer_client, application, section, data)
    assert response.status_code == 200, response.get("Location")
    tree = page(response)
    assert cut_message(limit) in field_warnings(tree, field)
    stored = reload(application).section_data(section)
    assert stored[field] == value[:limit]
    assert field_value(tree, field) == value[:limit]  # the page shows what was kept
    assert_others_kept(application, section, data, changed={field})
    # The section's status is that of the answers as stored: a cut answer that is otherwise
    # right completes it; one still wrong (seven digits of a PIN code) keeps its error.
    assert reload(application).status_of(section) == status
    if status == COMPLETE:
        assert CHANGED_PAGE_MESSAGE in alerts(tree)
        assert field_error(tree, field) is None
    else:
        assert DRAFT_PAGE_MESSAGE in alerts(tree)


def test_an_answer_within_its_limit_is_stored_as_typed_without_a_message(officer_client, application):
    data = valid("organisation", name="D" * 200, address="Central Building\r\nShivajinagar\r\nPune 411001")
    response = post_section(officer_client, application, "organisation", data)
    assert response.status_code == 302  # saved: on to the task list, nothing to say
    stored = reload(application).section_data("organisation")
    assert stored["name"] == "D" * 200
    # A browser sends a textarea's line breaks as CRLF: stored as plain line breaks, silently.
    assert stored["address"] == "Central Building\nShivajinagar\nPune 411001"


# Line breaks and control characters in single-line answers ----------------------------------

@pytest.mark.parametrize(
    "section, field, typed, kept",
    [
        ("organisation", "name", "Directorate of\r\nAgriculture,\tMaharashtra", "Directorate of Agriculture, Maharashtra"),
        ("organisation", "name", "Directorate\n\n\n\nof Agriculture", "Directorate of Agriculture"),
        ("organisation", "name", "Directorate of \x00Agriculture\x1b[31m\x7f\x85", "Directorate of Agriculture[31m "),
        # Bidi overrides and isolates (U+202A–U+202E, U+2066–U+2069) go; the text stays in its order.
        ("organisation", "name", "Directorate \u202eerutlucirgA\u202c of \u2066Agriculture\u2069", "Directorate erutlucirgA of Agriculture"),
        ("organisation", "name", "Directorate\u2028of\u2029Agriculture", "Directorate of Agriculture"),
        ("nodal_officer", "designation", "Deputy Director\n(IT)", "Deputy Director (IT)"),
        ("competent_authority", "name", "Anita\rDeshmukh", "Anita Deshmukh"),
        ("hierarchy", "new_parent_name", "Agriculture\nDepartment", "Agriculture Department"),
        ("integration", "app_1_name", "Mahadbt\nfarmer portal", "Mahadbt farmer portal"),
    ],
)
def test_single_line_answers_keep_no_line_break_or_control_character(officer_client, application, section, field, typed, kept):
    extra = {"parent_choice": "new", "new_parent_type": "department"} if section == "hierarchy" else {}
    data = valid(section, **extra, **{field: typed})
    response = post_section(officer_client, application, section, data)
    assert response.status_code == 200, response.get("Location")
    tree = page(response)
    assert CONTROL_MESSAGE in field_warnings(tree, field)
    stored = reload(application).section_data(section)
    assert stored[field] == kept
    assert field_value(tree, field) == kept
    assert_others_kept(application, section, data, changed={field})


def test_an_organisation_name_with_line_breaks_reaches_the_application_on_one_line(officer_client, application):
    post_section(officer_client, application, "organisation", valid("organisation", name="Directorate of\nAgriculture"))
    application = reload(application)
    assert application.organisation_name == "Directorate of Agriculture"
    assert application.status_of("organisation") == SectionStatus.COMPLETE


def test_devanagari_joiners_and_marks_are_kept(officer_client, application):
    # ZERO WIDTH JOINER and NON-JOINER shape Devanagari conjuncts: they are not control characters.
    name_local = "कृषी संचालनालय, महाराष्ट्र क्\u200dष क्\u200cष"
    response = post_section(officer_client, application, "organisation", valid("organisation", name_local=name_local))
    assert response.status_code == 302
    assert reload(application).section_data("organisation")["name_local"] == name_local


def test_a_letter_with_a_nukta_is_stored_composed_without_a_message(officer_client, application):
    """"ज़" typed as one character (U+095B) is stored as the letter and its nukta (NFC), as
    every name is: nothing was taken out, so nothing is said."""
    response = post_section(officer_client, application, "organisation",
                            valid("organisation", name_local="\u095bिला परिषद, पुणे", address="\u095bिला परिषद भवन\nपुणे"))
    assert response.status_code == 302
    stored = reload(application).section_data("organisation")
    assert stored["name_local"] == "\u091c\u093cिला परिषद, पुणे"
    assert stored["address"] == "\u091c\u093cिला परिषद भवन\nपुणे"


# Multi-line answers ----------------------------------------------------------------------------

def test_a_multi_line_answer_keeps_at_most_its_lines_joining_the_rest_onto_the_last(officer_client, application):
    address = "\n".join(f"Line {i}" for i in range(1, 13))
    response = post_section(officer_client, application, "organisation", valid("organisation", address=address))
    assert response.status_code == 200
    tree = page(response)
    message = "At most 8 lines are kept: the lines after that were joined onto the last one. Check this answer."
    assert message in field_warnings(tree, "address")
    stored = reload(application).section_data("organisation")["address"]
    assert stored.split("\n") == [f"Line {i}" for i in range(1, 8)] + ["Line 8, Line 9, Line 10, Line 11, Line 12"]
    assert reload(application).status_of("organisation") == SectionStatus.COMPLETE


def test_blank_lines_are_dropped_only_from_an_answer_over_its_lines(officer_client, application):
    post_section(officer_client, application, "organisation", valid("organisation", address="Central Building\n\nPune"))
    assert reload(application).section_data("organisation")["address"] == "Central Building\n\nPune"
    address = "Central Building" + "\n" * 5000 + "Pune 411001"
    response = post_section(officer_client, application, "organisation", valid("organisation", address=address))
    assert response.status_code == 302  # nothing of the answer was lost: nothing to say
    assert reload(application).section_data("organisation")["address"] == "Central Building\nPune 411001"


def test_email_domains_one_per_line_keep_their_lines(officer_client, application):
    domains = "\n".join(f"d{i}.mahaagri.gov.in" for i in range(20))
    response = post_section(officer_client, application, "organisation", valid("organisation", email_domains=domains))
    assert response.status_code == 302
    assert reload(application).section_data("organisation")["email_domains"] == domains


# The draft of the issue ------------------------------------------------------------------------

HOSTILE = "\u202e\u200b" + "\n" * 5000 + "\u2067مرحبا\u200f" * 50


def test_the_hostile_draft_is_stored_within_every_fields_limits(officer_client, application):
    """5,000 line breaks, right-to-left and zero-width text in every field of every
    section: no 500, and every stored text answer within what its field accepts."""
    for section, form_class in SECTION_FORMS.items():
        form = form_class()
        data = {name: HOSTILE for name in form.fields}
        response = post_section(officer_client, application, section.value, data)
        assert response.status_code == 200, (section, response.status_code)
        stored = reload(application).section_data(section)
        for name, field in form.fields.items():
            value = stored.get(name)
            if not isinstance(value, str):
                continue
            assert len(value) <= (getattr(field, "max_length", None) or 100), (section, name, len(value))
            assert "\u202e" not in value and "\u2067" not in value, (section, name)
            if field.widget.__class__.__name__ == "Textarea":
                assert value.count("\n") < form.max_lines.get(name, 10), (section, name)
            else:
                assert "\n" not in value, (section, name)


@pytest.mark.parametrize("url", ["/onboarding/{pk}/section/hierarchy/", "/onboarding/organisations/search/"])
def test_search_words_are_cut_to_100_characters_before_they_are_searched(officer_client, application, url):
    """The parent's search box (on the hierarchy page, and the picker its script asks)
    searches at most the first 100 characters sent: a query string of 100,000 costs
    the database no more."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    typed = "Abcd" + "x" * 99_996
    with CaptureQueriesContext(connection) as captured:
        response = officer_client.get(url.format(pk=application.pk), {"q": typed})
    assert response.status_code == 200
    searched = [query["sql"] for query in captured.captured_queries if "icontains" in query["sql"].lower()
                or "like" in query["sql"].lower()]
    assert searched and any(typed[:100] in sql for sql in searched)
    assert not [sql for sql in searched if typed[:101] in sql]
    if "section" in url:  # the box shows back what was searched
        assert page(response).find("input", id="parent-search").get("value") == typed[:100]
