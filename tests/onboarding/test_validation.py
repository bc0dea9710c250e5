"""Every validation rule of every section of the onboarding form, through the views.

Each refused input is POSTed to /onboarding/<pk>/section/<section>/ by the signed-in
nodal officer; the test checks that the message is rendered at the field (inside
the element with id ``id_<field>_error``), that everything typed is still in the
re-rendered form and in the stored draft, and the section's status:
``has_errors`` for a wrong answer, ``in_progress`` when answers are only missing.

An answer longer than its field, or with line breaks in a single-line field, is not
refused but cut to what the field accepts, with a message at the field: the draft
keeps no more than that (tests/onboarding/test_input_bounds.py).
"""

import hashlib
import io
import random
import struct
import zlib
from datetime import timedelta

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    RectangleObject,
    TextStringObject,
)

from onboarding.application.declarations import NOTICE_VERSION
from onboarding.application.services import duplicate_warnings
from onboarding.models import Application, ApplicationStatus, ApplicationVersion, Attachment, SectionStatus
from portal.audit.models import AuditAction, AuditEvent
from portal.limits import shown_from
from portal.organisations.models import Organisation, OrganisationStatus
from portal.organisations.states import CENTRAL
from tests.factories import (
    PASSWORD,
    ApplicationFactory,
    OrganisationDomainFactory,
    OrganisationFactory,
    PlatformRoleFactory,
    UserFactory,
)
from tests.html_tree import field_container, field_error, field_value, page
from tests.onboarding.approval_helpers import second_factor_given, with_totp
from tests.onboarding.form_helpers import (
    complete,
    fill_all,
    jpeg_bytes,
    new_application,
    png_bytes,
    post_section,
    reload,
    section_url,
    submit,
    upload,
    valid,
)
from tests.onboarding_data import VALID, minimal_pdf

pytestmark = pytest.mark.django_db

HAS_ERRORS, IN_PROGRESS, COMPLETE = SectionStatus.HAS_ERRORS, SectionStatus.IN_PROGRESS, SectionStatus.COMPLETE
REQUIRED = "This field is required."
# Two zero-width spaces: an answer drawn as nothing, which is no answer (portal.forms.refuse_invisible_only).
INVISIBLE = "\u200b\u200b"


@pytest.fixture
def application(officer):
    return new_application(officer)


def assert_kept(tree, data, skip=()):
    """Every value typed is shown again in the re-rendered form."""
    for name, typed in data.items():
        if name in skip:
            continue
        shown = field_value(tree, name)
        if isinstance(shown, bool):
            assert shown == (typed == "on"), name
        elif isinstance(shown, list):
            assert sorted(shown) == sorted(typed), name
        else:
            assert shown == typed, (name, shown, typed)


def assert_refused(client, application, section, data, field, message, status):
    response = post_section(client, application, section, data)
    assert response.status_code == 200, response.get("Location")
    tree = page(response)
    error = field_error(tree, field)
    assert error is not None, f"no error element for {field}"
    assert message in error, (message, error)
    # Tied to the field for assistive technology, and listed in the summary at the top.
    controls = [n for n in tree.iter() if n.get("name") == field and n.tag in ("input", "select", "textarea")]
    if len(controls) == 1:  # a group of radios or checkboxes is described by its fieldset instead
        assert controls[0].get("aria-invalid") == "true", field
        assert f"id_{field}_error" in controls[0].get("aria-describedby", "").split(), field
    else:
        fieldset = tree.by_id(f"id_{field}")
        assert fieldset is not None and f"id_{field}_error" in fieldset.get("aria-describedby", "").split(), field
    summary = tree.by_id("error-summary")
    assert summary is not None and message in summary.squashed_text()
    for link in summary.find_all("a"):  # each leads to something the officer can reach from the keyboard
        target = tree.by_id(link.get("href").removeprefix("#"))
        assert target is not None and target.get("type") != "hidden", (link.get("href"), target)
    skip = {"official_email"} if section == "nodal_officer" else set()
    if message.startswith("Select a valid choice"):
        skip.add(field)  # a value that is not one of the options cannot be shown selected
    assert_kept(tree, data, skip=skip)
    stored = reload(application)
    assert stored.status_of(section) == status
    for name, typed in data.items():
        if not (section == "nodal_officer" and name == "official_email"):
            expected = typed == "on" if isinstance(stored.section_data(section).get(name), bool) else typed
            assert stored.section_data(section).get(name) == expected, name
    return tree


def assert_accepted(client, application, section, data):
    response = post_section(client, application, section, data)
    assert response.status_code == 302, page(response).by_id("error-summary").squashed_text()
    assert reload(application).status_of(section) == COMPLETE
    return response


# Organisation ------------------------------------------------------------------------

PIN_MESSAGE = "Enter a 6-digit PIN code that does not start with 0, for example 110001."
LANDLINE_MESSAGE = "Enter a landline number with its STD code, 10 digits after the 0, for example 011-23456789."
WEBSITE_MESSAGE = "Enter a website address such as https://dept.gov.in."
SHORT_CODE_MESSAGE = "Use 2 to 20 letters, digits or hyphens"


@pytest.mark.parametrize(
    "field, value, message, status",
    [
        ("pin_code", "011001", PIN_MESSAGE, HAS_ERRORS),
        ("pin_code", "41100", PIN_MESSAGE, HAS_ERRORS),
        ("pin_code", "4110011", PIN_MESSAGE, HAS_ERRORS),
        ("pin_code", "41100A", PIN_MESSAGE, HAS_ERRORS),
        ("pin_code", "", REQUIRED, IN_PROGRESS),
        ("landline", "23456789", LANDLINE_MESSAGE, HAS_ERRORS),
        ("landline", "011-1234567", LANDLINE_MESSAGE, HAS_ERRORS),
        ("landline", "phone me", LANDLINE_MESSAGE, HAS_ERRORS),
        # The STD code and the subscriber's number are 10 digits together (after the trunk 0).
        ("landline", "011-234567", LANDLINE_MESSAGE, HAS_ERRORS),
        ("landline", "011-2345678", LANDLINE_MESSAGE, HAS_ERRORS),
        ("landline", "011 234567890", LANDLINE_MESSAGE, HAS_ERRORS),
        ("landline", "+91 11 2345678", LANDLINE_MESSAGE, HAS_ERRORS),
        ("landline", "02026-1234567", LANDLINE_MESSAGE, HAS_ERRORS),
        ("website", "ftp://mha.gov.in", WEBSITE_MESSAGE, HAS_ERRORS),
        ("website", "https://", WEBSITE_MESSAGE, HAS_ERRORS),
        ("website", "https://not a site", WEBSITE_MESSAGE, HAS_ERRORS),
        ("website", "https://[agri.maharashtra.gov.in]", WEBSITE_MESSAGE, HAS_ERRORS),
        ("website", "[", WEBSITE_MESSAGE, HAS_ERRORS),
        ("website", "https://mha.gov.in:99999/", WEBSITE_MESSAGE, HAS_ERRORS),
        ("website", "https://gmail.com", "Enter your organisation's own website, such as https://dept.gov.in.", HAS_ERRORS),
        ("email_domains", "gmail.com",
         "gmail.com is a personal mail service; only your organisation's own domains can be listed.", HAS_ERRORS),
        ("email_domains", "mahaagri.gov.in, yahoo.co.in", "yahoo.co.in is a personal mail service", HAS_ERRORS),
        ("email_domains", "mahaagri.gov.in\nnot_a_domain!", "“not_a_domain!” is not a valid domain name", HAS_ERRORS),
        ("email_domains", "localhost", "“localhost” is not a valid domain name, such as dept.gov.in.", HAS_ERRORS),
        ("email_domains", ", ".join(f"d{i}.gov.in" for i in range(21)), "Enter at most 20 domains.", HAS_ERRORS),
        ("email_domains", "", REQUIRED, IN_PROGRESS),
        ("name", "", REQUIRED, IN_PROGRESS),
        ("name", INVISIBLE, REQUIRED, IN_PROGRESS),
        ("name_local", "", REQUIRED, IN_PROGRESS),
        ("name_local", INVISIBLE, REQUIRED, IN_PROGRESS),
        ("short_code", INVISIBLE, REQUIRED, IN_PROGRESS),
        ("short_code", "M", SHORT_CODE_MESSAGE, HAS_ERRORS),
        ("short_code", "MHA GOV", SHORT_CODE_MESSAGE, HAS_ERRORS),
        ("short_code", "-MHA", SHORT_CODE_MESSAGE, HAS_ERRORS),
        ("org_type", "galaxy", "Select a valid choice. galaxy is not one of the available choices.", HAS_ERRORS),
        ("org_type", "", REQUIRED, IN_PROGRESS),
        ("level", "planetary", "Select a valid choice. planetary is not one of the available choices.", HAS_ERRORS),
        ("level", "", REQUIRED, IN_PROGRESS),
        ("state", "XX", "Select a valid choice. XX is not one of the available choices.", HAS_ERRORS),
        ("state", "", "Choose the state or union territory of a state, district or sub-district office.", IN_PROGRESS),
        ("approx_users", "0", "Enter a number of 1 or more.", HAS_ERRORS),
        ("approx_users", "5000001", "Enter a number of 50,00,000 or less.", HAS_ERRORS),
        ("approx_users", "many", "Enter a whole number, such as 1,500 or 1,50,000.", HAS_ERRORS),
        ("approx_users", "", REQUIRED, IN_PROGRESS),
        ("address", "", REQUIRED, IN_PROGRESS),
        ("address", INVISIBLE + "\n\u200c", REQUIRED, IN_PROGRESS),
    ],
)
def test_organisation_refusals(officer_client, application, field, value, message, status):
    assert_refused(officer_client, application, "organisation", valid("organisation", **{field: value}), field, message, status)


COUNT_MESSAGES = {
    "en": ("Enter a whole number, such as 1,500 or 1,50,000.", "Enter a number of 50,00,000 or less.",
           "Enter a number of 1 or more."),
    "hi": ("1,500 या 1,50,000 जैसी पूर्ण संख्या दर्ज करें।", "50,00,000 या उससे कम संख्या दर्ज करें।",
           "1 या उससे अधिक संख्या दर्ज करें।"),
    "mr": ("1,500 किंवा 1,50,000 यासारखी पूर्ण संख्या नमूद करा.", "50,00,000 किंवा त्याहून कमी संख्या नमूद करा.",
           "1 किंवा त्याहून अधिक संख्या नमूद करा."),
}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_counts_are_taken_as_the_portal_writes_them_and_refused_in_its_words(officer_client, application, language):
    """The portal writes counts grouped the Indian way ("1,50,000"), and people type them so,
    or the international way ("150,000"): the number of users and of messages a month take
    either (a comma or a space between the groups, one kind, the groups where they belong),
    kept as the number. Past the limit, and for anything else, the refusal is the portal's,
    naming the limit as it writes figures, in the page's language (Django's "Ensure this
    value is less than or equal to 5000000.", in Marathi "…5000000या…"), and the draft keeps
    what was typed. The check page and the PDF show the number grouped."""
    officer_client.cookies["django_language"] = language
    invalid, too_many, too_few = COUNT_MESSAGES[language]
    for typed in ("1,50,000", "150,000", "150000", " 1,50,000 ", "1 50 000", "१,५०,०००"):
        assert_accepted(officer_client, application, "organisation", valid("organisation", approx_users=typed))
        assert reload(application).section_data("organisation")["approx_users"] == "150000", typed
    for typed in ("1,5,0000", "15,0000", "1,50,00", "1,50 000", "1,,500", ",1500", "1,500,", "1.5", "many"):
        assert_refused(officer_client, application, "organisation", valid("organisation", approx_users=typed),
                       "approx_users", invalid, HAS_ERRORS)
    assert_refused(officer_client, application, "organisation", valid("organisation", approx_users="50,00,001"),
                   "approx_users", too_many, HAS_ERRORS)
    assert_refused(officer_client, application, "organisation", valid("organisation", approx_users="0"),
                   "approx_users", too_few, HAS_ERRORS)
    assert_accepted(officer_client, application, "integration", valid("integration", monthly_volume="2,50,000"))
    assert reload(application).section_data("integration")["monthly_volume"] == "250000"
    assert_accepted(officer_client, application, "organisation", valid("organisation", approx_users="12,34,567"))
    check_page = page(officer_client.get(f"/onboarding/{application.pk}/submit/")).squashed_text()
    assert "12,34,567" in check_page and "2,50,000" in check_page
    from tests.onboarding.test_pdf import pdf_text  # noqa: PLC0415

    shown = pdf_text(b"".join(officer_client.get(f"/onboarding/{application.pk}/form.pdf").streaming_content))
    assert "12,34,567" in shown and "2,50,000" in shown


def test_district_is_required_for_district_and_sub_district_offices(officer_client, application):
    for level in ("district", "sub_district"):
        for district in ("  ", INVISIBLE):
            assert_refused(
                officer_client, application, "organisation", valid("organisation", level=level, district=district),
                "district", "Enter the district of a district or sub-district office.", IN_PROGRESS,
            )
    assert_accepted(officer_client, application, "organisation", valid("organisation", level="district", district="Pune"))


def test_state_is_not_required_for_a_central_body(officer_client, application):
    assert_accepted(officer_client, application, "organisation", valid("organisation", level="central", state=""))
    assert reload(application).jurisdiction == CENTRAL


def test_an_empty_organisation_section_is_in_progress_with_every_required_field_marked(officer_client, application):
    response = post_section(officer_client, application, "organisation", {"save": "1"})
    tree = page(response)
    for field in ("name", "name_local", "short_code", "org_type", "level", "address", "pin_code", "email_domains",
                  "approx_users"):
        assert field_error(tree, field) == REQUIRED, field
    for field in ("landline", "website", "district", "state"):
        assert field_error(tree, field) is None, field
    assert reload(application).status_of("organisation") == IN_PROGRESS


def test_several_problems_of_one_field_are_all_shown_at_it(officer_client, application):
    tree = assert_refused(
        officer_client, application, "organisation", valid("organisation", email_domains="gmail.com, bad_domain, yahoo.com"),
        "email_domains", "gmail.com is a personal mail service", HAS_ERRORS,
    )
    error = field_error(tree, "email_domains")
    assert "“bad_domain” is not a valid domain name" in error
    assert "yahoo.com is a personal mail service" in error


@pytest.mark.parametrize(
    "changes",
    [
        {"pin_code": "411 001"},
        {"landline": "+91 20 26123456"},
        {"landline": "02026123456"},
        {"landline": "(020) 26123456"},
        {"landline": "011 2345 6789"},
        {"landline": "011-2345-6789"},
        {"landline": "+91-11-23456789"},
        {"landline": "02162-234567"},  # a five-digit STD code (Satara) and a six-digit number
        {"landline": "0124 4567890"},
        {"landline": ""},
        {"website": "krishi.maharashtra.gov.in"},
        {"website": ""},
        {"short_code": "dop-ka"},
        {"email_domains": "@mahaagri.gov.in,\nMAHAAGRI.GOV.IN; krishi.maharashtra.gov.in"},
        {"level": "central", "state": ""},
        {"level": "sub_district", "district": "Haveli"},
    ],
)
def test_organisation_accepted_forms(officer_client, application, changes):
    assert_accepted(officer_client, application, "organisation", valid("organisation", **changes))


def test_a_draft_stored_with_a_landline_of_another_length_opens_with_the_error_at_the_field(officer_client, officer):
    """A draft saved while a landline of 9 digits after the 0 still passed: its page opens
    with the answer kept and the error at the field, and it is not submitted as it is."""
    application = complete(officer_client, new_application(officer))
    data = dict(application.data)
    data["organisation"] = {**data["organisation"], "landline": "011-2345678"}
    Application.objects.filter(pk=application.pk).update(data=data)

    tree = page(officer_client.get(section_url(application, "organisation")))

    assert field_value(tree, "landline") == "011-2345678"
    assert LANDLINE_MESSAGE in field_error(tree, "landline")
    response = officer_client.post(f"/onboarding/{application.pk}/submit/")
    assert response.status_code == 302 and response["Location"] == f"/onboarding/{application.pk}/tasks/"
    assert reload(application).status == ApplicationStatus.DRAFT
    assert reload(application).section_data("organisation")["landline"] == "011-2345678"


PIN_WARNING = "PIN code 110001 is not one of Maharashtra's: check the PIN code and the state or union territory."


def test_a_pin_code_outside_the_states_postal_region_is_accepted_with_a_warning(officer_client, application):
    """Maharashtra and 110001 (New Delhi): one of the two is a typo, said at the PIN code;
    the section is still complete."""
    response = post_section(officer_client, application, "organisation", valid("organisation", pin_code="110001"))
    assert response.status_code == 302
    assert reload(application).status_of("organisation") == COMPLETE
    assert PIN_WARNING in page(officer_client.get(response["Location"])).squashed_text()
    tree = page(officer_client.get(section_url(application, "organisation")))
    assert PIN_WARNING in field_container(tree, "pin_code").squashed_text()
    assert field_error(tree, "pin_code") is None


@pytest.mark.parametrize("changes", [
    {"pin_code": "411001"}, {"pin_code": "403001", "state": "GA"}, {"pin_code": "533464", "state": "PY"},
    {"pin_code": "605001", "state": "PY"}, {"pin_code": "900001"},  # a field post office, in any state
    {"pin_code": "110001", "level": "central", "state": ""},
])
def test_a_pin_code_of_the_states_postal_region_has_no_warning(officer_client, application, changes):
    post_section(officer_client, application, "organisation", valid("organisation", **changes))
    tree = page(officer_client.get(section_url(application, "organisation")))
    assert not field_container(tree, "pin_code").find_all(class_="field-warning")


def test_website_off_official_domains_is_accepted_with_a_warning(officer_client, application):
    response = post_section(officer_client, application, "organisation", valid("organisation", website="https://www.krishi-mh.org"))
    assert response.status_code == 302
    assert reload(application).status_of("organisation") == COMPLETE
    warning = "This website is not on an official government domain; it will be reviewed before approval."
    # Shown on the next page, and at the field whenever the section is opened.
    assert warning in officer_client.get(response["Location"]).content.decode()
    tree = page(officer_client.get(section_url(application, "organisation")))
    container = field_container(tree, "website")
    assert warning in container.squashed_text()
    assert field_error(tree, "website") is None
    assert field_value(tree, "website") == "https://www.krishi-mh.org"


def test_website_on_an_official_domain_has_no_warning(officer_client, application):
    post_section(officer_client, application, "organisation", valid("organisation"))
    tree = page(officer_client.get(section_url(application, "organisation")))
    assert not field_container(tree, "website").find_all(class_="field-warning")


def test_staff_domain_off_the_official_list_is_accepted_with_a_warning(officer_client, application):
    response = post_section(officer_client, application, "organisation", valid("organisation", email_domains="mahaagri.gov.in, iitb.ac.in"))
    assert response.status_code == 302
    tree = page(officer_client.get(section_url(application, "organisation")))
    assert "iitb.ac.in is not on the official list and will be reviewed before approval." in field_container(
        tree, "email_domains"
    ).squashed_text()


# Hierarchy ---------------------------------------------------------------------------

def test_hierarchy_requires_a_choice(officer_client, application):
    assert_refused(officer_client, application, "hierarchy", valid("hierarchy", parent_choice=""), "parent_choice", REQUIRED, IN_PROGRESS)


def test_hierarchy_refuses_an_unknown_choice(officer_client, application):
    assert_refused(officer_client, application, "hierarchy", valid("hierarchy", parent_choice="sideways"), "parent_choice",
                   "Select a valid choice. sideways is not one of the available choices.", HAS_ERRORS)


def test_existing_parent_must_be_chosen(officer_client, application):
    assert_refused(officer_client, application, "hierarchy", valid("hierarchy", parent_choice="existing"), "parent",
                   "Search for the parent organisation and choose it from the results.", IN_PROGRESS)


def test_the_parent_error_leads_to_the_search_box_which_it_describes(officer_client, application):
    # The parent chosen is kept in a hidden input: the summary's link to it moved the focus
    # nowhere, and the search box the officer types in did not say it was in error.
    assert page(officer_client.get(section_url(application, "hierarchy"))).by_id("parent-search").get("aria-invalid") is None
    for data in (valid("hierarchy", parent_choice="existing"), valid("hierarchy", parent_choice="existing", parent="99999999")):
        tree = page(post_section(officer_client, application, "hierarchy", data))
        assert [link.get("href") for link in tree.by_id("error-summary").find_all("a")] == ["#parent-search"]
        search = tree.by_id("parent-search")
        assert search.get("aria-invalid") == "true"
        assert "id_parent_error" in search.get("aria-describedby", "").split()
        assert tree.by_id("id_parent_error") is not None


def test_existing_parent_must_be_an_active_organisation(officer_client, application):
    pending = OrganisationFactory(status=OrganisationStatus.PENDING)
    assert_refused(officer_client, application, "hierarchy", valid("hierarchy", parent_choice="existing", parent=str(pending.pk)),
                   "parent", "Choose the parent organisation from the search results.", HAS_ERRORS)
    assert_refused(officer_client, application, "hierarchy", valid("hierarchy", parent_choice="existing", parent="99999999"),
                   "parent", "Choose the parent organisation from the search results.", HAS_ERRORS)


@pytest.mark.parametrize("status", [OrganisationStatus.PENDING, OrganisationStatus.SUSPENDED])
def test_a_parent_that_is_not_active_is_not_named_by_the_summary(officer_client, officer, status):
    """The draft keeps the id the field refused (what was sent is not lost), but only active
    organisations' names are public (the search lists only those): the check page, the
    application's page and the form's PDF do not name it."""
    from onboarding.application.pdf import application_form_html

    application = complete(officer_client, new_application(officer))
    hidden = OrganisationFactory(name="Directorate of Sericulture, Maharashtra", status=status)
    post_section(officer_client, application, "hierarchy", valid("hierarchy", parent_choice="existing", parent=str(hidden.pk)))
    assert reload(application).section_data("hierarchy")["parent"] == str(hidden.pk)
    for url in (f"/onboarding/{application.pk}/submit/", f"/onboarding/{application.pk}/"):
        text = page(officer_client.get(url)).squashed_text()
        assert "Sericulture" not in text, url
        assert "Parent organisation on SandesNot an organisation that can be chosen" in text, url
    assert "Sericulture" not in application_form_html(reload(application))


def test_existing_active_parent_is_accepted_and_shown(officer_client, application):
    parent = OrganisationFactory(name="Agriculture Department, Maharashtra")
    assert_accepted(officer_client, application, "hierarchy", valid("hierarchy", parent_choice="existing", parent=str(parent.pk)))
    tree = page(officer_client.get(section_url(application, "hierarchy")))
    assert "Agriculture Department, Maharashtra" in tree.by_id("chosen-parent").squashed_text()


def _offices_named_after(department, n):
    """``n`` active offices below ``department`` named as such offices are: each contains
    its name and sorts before it ("District Health Department, District 000")."""
    Organisation.objects.bulk_create([
        Organisation(name=f"District {department.name}, District {i:03d}", org_type="district_office", level="district",
                     state=department.state, parent=department, ancestry=department.subtree_prefix, status="active")
        for i in range(n)])


@pytest.mark.parametrize("url", ["/onboarding/{pk}/section/hierarchy/", "/onboarding/organisations/search/"])
def test_the_parent_search_offers_the_parent_named_as_typed_and_says_when_more_match(officer_client, application, url):
    """The 61st district office searches for its parent, the Health Department, by its
    whole name: the 60 district offices already on Sandes contain it and sort before it,
    and the search listed 20 of them, not the parent, and said nothing of the others. The
    one named (or short-coded) as typed comes first, then the others by name and id; more
    than the search lists is said, with what to do."""
    department = OrganisationFactory(name="Health Department", short_code="", state="MH")
    _offices_named_after(department, 60)
    more = "More organisations match: type more of the name."
    tree = page(officer_client.get(url.format(pk=application.pk), {"q": "HEALTH DEPARTMENT"}))
    offered = [box.get("value") for box in tree.find_all("input", name="parent", type="radio")]
    assert len(offered) == 20 and offered[0] == str(department.pk)
    assert more in tree.squashed_text()
    tree = page(officer_client.get(url.format(pk=application.pk), {"q": "District 059"}))
    assert len(tree.find_all("input", name="parent", type="radio")) == 1 and more not in tree.squashed_text()
    coded = OrganisationFactory(name="Vibhag Arogya", short_code="health", state="MH")
    tree = page(officer_client.get(url.format(pk=application.pk), {"q": "Health"}))
    assert tree.find("input", name="parent", type="radio").get("value") == str(coded.pk)


@pytest.mark.parametrize("url", ["/onboarding/{pk}/section/hierarchy/", "/onboarding/organisations/search/"])
def test_the_parent_search_tells_apart_organisations_of_the_same_name(officer_client, application, url):
    """Organisation names are not unique: the District Agriculture Office, Pune of the state's
    Agriculture Department and that of the central ministry's regional wing are both on
    Sandes. Each result shows its short code and the organisation it is placed under (an
    active one's name: only those are public), so that the officer can tell which to choose."""
    state_department = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH")
    ministry = OrganisationFactory(name="Ministry of Agriculture", short_code="MOA", level="central", state="")
    OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE", parent=state_department)
    OrganisationFactory(name="District Agriculture Office, Pune", short_code="MOA-RO-PUNE", parent=ministry)
    hidden = OrganisationFactory(name="Directorate of Sericulture, Maharashtra", short_code="SERI",
                                 status=OrganisationStatus.SUSPENDED)
    OrganisationFactory(name="District Agriculture Office, Satara", short_code="DAO-SATARA", parent=hidden)
    tree = page(officer_client.get(url.format(pk=application.pk), {"q": "District Agriculture Office"}))
    labels = [label.squashed_text() for label in tree.find_all("label", class_="form-check-label")
              if label.get("for", "").startswith("parent-")]
    assert len(labels) == 3 and len(set(labels)) == 3, labels
    assert [label.split(" — ")[0].split(" (")[0] for label in labels[:2]] == ["District Agriculture Office, Pune"] * 2
    pune = sorted(labels[:2])
    assert "Short code: DAO-PUNE" in pune[0] and "Under Agriculture Department, Maharashtra" in pune[0]
    assert "Short code: MOA-RO-PUNE" in pune[1] and "Under Ministry of Agriculture" in pune[1]
    assert "Short code: DAO-SATARA" in labels[2] and "Sericulture" not in labels[2]


@pytest.mark.parametrize("url", ["/onboarding/{pk}/section/hierarchy/", "/onboarding/organisations/search/"])
def test_the_parent_search_says_the_languages_of_each_organisations_names(officer_client, application, url):
    """Each organisation offered shows its name in English and its name in Hindi or the
    state's language (here Marathi), each marked with its language."""
    OrganisationFactory(name="Maharashtra State Seed Corporation", name_local="महाराष्ट्र राज्य बियाणे महामंडळ")
    tree = page(officer_client.get(url.format(pk=application.pk), {"q": "Seed Corporation"}))
    [label] = [label for label in tree.find_all("label", class_="form-check-label") if label.get("for", "").startswith("parent-")]
    assert [(element.text(), element.get("lang")) for element in label.iter() if element.get("lang")] == [
        ("Maharashtra State Seed Corporation", "en"), ("महाराष्ट्र राज्य बियाणे महामंडळ", "mr")]


def test_new_parent_needs_name_and_type(officer_client, application):
    data = valid("hierarchy", parent_choice="new")
    tree = assert_refused(officer_client, application, "hierarchy", data, "new_parent_name",
                          "Enter the name of the parent organisation.", IN_PROGRESS)
    assert field_error(tree, "new_parent_type") == "Choose the type of the parent organisation."
    assert_refused(officer_client, application, "hierarchy",
                   valid("hierarchy", parent_choice="new", new_parent_name=INVISIBLE, new_parent_type="state_department"),
                   "new_parent_name", "Enter the name of the parent organisation.", IN_PROGRESS)
    assert_refused(officer_client, application, "hierarchy",
                   valid("hierarchy", parent_choice="new", new_parent_name="Dept", new_parent_type="club"),
                   "new_parent_type", "Select a valid choice. club is not one of the available choices.", HAS_ERRORS)
    assert_accepted(officer_client, application, "hierarchy",
                    valid("hierarchy", parent_choice="new", new_parent_name="Agriculture Department", new_parent_type="state_department"))


def test_the_parent_search_sent_with_no_words_saves_the_section_as_save_and_continue_does(officer_client, application):
    """Enter in the parent's name sends the form with its first submit button, the parent
    search's "Search", with the search box empty: the section is saved as "Save and continue"
    saves it (on to the next section, or its problems shown), not sent to an empty search.
    Search words typed (Enter in the search box) still search."""
    new = {"parent_choice": "new", "new_parent_name": "Agriculture Department, Maharashtra", "search_parent": "1", "q": ""}
    response = post_section(officer_client, application, "hierarchy", valid("hierarchy", **new, new_parent_type=""))
    assert response.status_code == 200
    tree = page(response)
    assert [link.get("href") for link in tree.by_id("error-summary").find_all("a")] == ["#id_new_parent_type"]
    assert field_error(tree, "new_parent_type") == "Choose the type of the parent organisation."
    assert field_value(tree, "new_parent_name") == "Agriculture Department, Maharashtra"
    assert reload(application).status_of("hierarchy") == IN_PROGRESS
    response = post_section(officer_client, application, "hierarchy",
                            valid("hierarchy", **{**new, "q": "  "}, new_parent_type="state_department"))
    assert response.status_code == 302
    assert response["Location"] == section_url(application, "nodal_officer")
    assert reload(application).status_of("hierarchy") == COMPLETE
    response = post_section(officer_client, application, "hierarchy", valid("hierarchy", **{**new, "q": "agri"}))
    assert response["Location"] == section_url(application, "hierarchy") + "?q=agri#picker-results"


# Nodal officer -------------------------------------------------------------------------

MOBILE_MESSAGE = "Enter a 10-digit Indian mobile number starting with 6, 7, 8 or 9, for example 98765 43210."


@pytest.mark.parametrize("mobile", ["5876543210", "987654321", "98765432100", "+1 9876543210", "+91 5876543210",
                                    "0 5876543210", "abcdefghij", "+91 98765 4321"])
def test_nodal_officer_refuses_non_indian_mobiles(officer_client, application, mobile):
    assert_refused(officer_client, application, "nodal_officer", valid("nodal_officer", mobile=mobile), "mobile",
                   MOBILE_MESSAGE, HAS_ERRORS)


@pytest.mark.parametrize("mobile", ["9876543210", "+91 98765 43210", "+919876543210", "09876543210", "0091 9876543210",
                                    "98765-43210", "(+91) 6123456789", "7123456789", "8123456789",
                                    "91 98765 43210", "91-9876543210"])  # as a request to be verified takes them
def test_nodal_officer_accepts_indian_mobiles(officer_client, application, mobile):
    assert_accepted(officer_client, application, "nodal_officer", valid("nodal_officer", mobile=mobile))


@pytest.mark.parametrize(
    "field, value, message, status",
    [
        ("name", "", REQUIRED, IN_PROGRESS),
        ("name", INVISIBLE, REQUIRED, IN_PROGRESS),
        ("designation", "", REQUIRED, IN_PROGRESS),
        ("designation", INVISIBLE, REQUIRED, IN_PROGRESS),
        ("employee_code", "", REQUIRED, IN_PROGRESS),
        ("employee_code", INVISIBLE, REQUIRED, IN_PROGRESS),
        ("mobile", "", REQUIRED, IN_PROGRESS),
        ("alternate_email", "sunil@gmail.com", "gmail.com is a personal mail service", HAS_ERRORS),
        ("alternate_email", "sunil@evilgov.in", "evilgov.in is not an official government domain", HAS_ERRORS),
        ("alternate_email", "not-an-email", "Enter a valid email address.", HAS_ERRORS),
        ("alternate_email", "nodal.officer@mahaagri.gov.in", "The alternate email must differ from the official email.", HAS_ERRORS),
        ("alternate_email", "NODAL.OFFICER@MAHAAGRI.GOV.IN", "The alternate email must differ from the official email.", HAS_ERRORS),
    ],
)
def test_nodal_officer_refusals(officer_client, application, field, value, message, status):
    assert_refused(officer_client, application, "nodal_officer", valid("nodal_officer", **{field: value}), field, message, status)


def test_nodal_officer_alternate_email_may_be_a_contractor_address(officer_client, application):
    assert_accepted(officer_client, application, "nodal_officer", valid("nodal_officer", alternate_email="sunil@acme-external.gov.in"))


def test_nodal_officer_official_email_is_the_verified_account_address(officer_client, officer, application):
    response = post_section(officer_client, application, "nodal_officer", valid("nodal_officer", official_email="someone@gmail.com"))
    assert response.status_code == 302
    assert reload(application).section_data("nodal_officer")["official_email"] == officer.email
    tree = page(officer_client.get(section_url(application, "nodal_officer")))
    assert field_value(tree, "official_email") == officer.email
    assert "readonly" in tree.by_id("id_official_email").attrs


# Competent authority ---------------------------------------------------------------------

SAME_PERSON = "The competent authority must be a different person from the nodal officer, with a different email."


@pytest.mark.parametrize(
    "field, value, message, status",
    [
        ("official_email", "nodal.officer@mahaagri.gov.in", SAME_PERSON, HAS_ERRORS),
        ("official_email", "Nodal.Officer@MahaAgri.gov.in", SAME_PERSON, HAS_ERRORS),
        ("official_email", "director@yahoo.co.in", "yahoo.co.in is a personal mail service", HAS_ERRORS),
        ("official_email", "director@acme-external.gov.in", "acme-external.gov.in is a contractor domain", HAS_ERRORS),
        ("official_email", "director@iitb.ac.in", "iitb.ac.in needs manual review", HAS_ERRORS),
        ("official_email", "director", "Enter a valid email address.", HAS_ERRORS),
        ("official_email", "", REQUIRED, IN_PROGRESS),
        ("name", "", REQUIRED, IN_PROGRESS),
        ("name", INVISIBLE, REQUIRED, IN_PROGRESS),
        ("designation", "", REQUIRED, IN_PROGRESS),
        ("designation", INVISIBLE, REQUIRED, IN_PROGRESS),
        ("mobile", "12345", MOBILE_MESSAGE, HAS_ERRORS),
        ("mobile", "", REQUIRED, IN_PROGRESS),
    ],
)
def test_competent_authority_refusals(officer_client, application, field, value, message, status):
    assert_refused(officer_client, application, "competent_authority", valid("competent_authority", **{field: value}),
                   field, message, status)


def test_competent_authority_cannot_use_the_nodal_officers_alternate_email(officer_client, application):
    assert_accepted(officer_client, application, "nodal_officer", valid("nodal_officer", alternate_email="sunil.patil@mahaagri.gov.in"))
    assert_refused(officer_client, application, "competent_authority",
                   valid("competent_authority", official_email="sunil.patil@mahaagri.gov.in"), "official_email", SAME_PERSON, HAS_ERRORS)


def test_a_section_whose_checks_read_another_is_checked_again_when_that_one_is_saved(officer_client, officer):
    """The competent authority's address is checked against the nodal officer's addresses,
    and both against the domains of the chosen parent: saving the officer's section (or the
    place in the hierarchy) checks the authority's again, so that the task list says what
    the submission will find, either way."""
    application = complete(officer_client, new_application(officer))
    authority = VALID["competent_authority"]["official_email"]
    assert post_section(officer_client, application, "nodal_officer",
                        valid("nodal_officer", alternate_email=authority)).status_code == 302
    assert reload(application).status_of("competent_authority") == SectionStatus.HAS_ERRORS
    tasks = page(officer_client.get(f"/onboarding/{application.pk}/tasks/")).squashed_text()
    assert "You have completed 6 of 7 sections." in tasks
    # The officer takes that address off their section: the authority's is whole again.
    assert post_section(officer_client, application, "nodal_officer", valid("nodal_officer")).status_code == 302
    assert set(reload(application).section_status.values()) == {SectionStatus.COMPLETE}
    tasks = page(officer_client.get(f"/onboarding/{application.pk}/tasks/")).squashed_text()
    assert "You have completed 7 of 7 sections." in tasks


def test_the_authority_section_is_checked_again_when_the_organisation_is_renamed(officer_client, officer):
    """The authority's address may not be the officer of another open application for an
    organisation of the same name: renaming the organisation in its own section checks the
    authority's again, either way, so that the task list offers the submission exactly when
    the submission takes it."""
    rival = UserFactory(email="rival.officer@mahaagri.gov.in")
    ApplicationFactory(nodal_officer=rival, status="draft", reference=None, organisation_name=VALID["organisation"]["name"])
    application = complete(officer_client, new_application(officer))
    assert post_section(officer_client, application, "competent_authority",
                        valid("competent_authority", official_email=rival.email)).status_code == 200
    assert reload(application).status_of("competent_authority") == SectionStatus.HAS_ERRORS
    submit_link = f'href="/onboarding/{application.pk}/submit/"'
    assert submit_link not in officer_client.get(f"/onboarding/{application.pk}/tasks/").content.decode()
    renamed = valid("organisation", name="Directorate of Horticulture, Maharashtra", short_code="DOH-MH")
    assert post_section(officer_client, application, "organisation", renamed).status_code == 302
    assert reload(application).status_of("competent_authority") == SectionStatus.COMPLETE
    assert submit_link in officer_client.get(f"/onboarding/{application.pk}/tasks/").content.decode()
    # Named back as the other application's organisation: not offered, as it would be refused.
    assert post_section(officer_client, application, "organisation", valid("organisation")).status_code == 302
    assert reload(application).status_of("competent_authority") == SectionStatus.HAS_ERRORS
    assert submit_link not in officer_client.get(f"/onboarding/{application.pk}/tasks/").content.decode()


def test_a_section_never_opened_is_not_checked_when_one_it_reads_is_saved(officer_client, officer):
    """The portal fills in the officer's name and address in the Nodal officer section of a
    new draft: saving the place in the hierarchy (which that section's checks read) leaves it
    "Not started", not "In progress" with errors shown on its first visit."""
    application = new_application(officer)
    assert reload(application).status_of("nodal_officer") == SectionStatus.NOT_STARTED
    assert post_section(officer_client, application, "hierarchy", valid("hierarchy")).status_code == 302
    assert reload(application).status_of("nodal_officer") == SectionStatus.NOT_STARTED
    html = officer_client.get(section_url(application, "nodal_officer")).content.decode()
    assert "is-invalid" not in html


def test_an_answer_that_does_not_count_is_not_checked(officer_client, officer):
    """A parent chosen and then replaced by "It has no parent" stays in the draft (choosing
    back brings it back), as does a technical contact's address under "No, people only":
    neither counts (the summary and the PDF leave them out), so neither is checked: the
    parent suspended since, or the address a personal one, refuses nothing, and the section
    stays complete for the submission too."""
    parent = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH")
    application = complete(officer_client, new_application(officer))
    assert post_section(officer_client, application, "hierarchy",
                        valid("hierarchy", parent_choice="none", parent=str(parent.pk))).status_code == 302
    Organisation.objects.filter(pk=parent.pk).update(status=OrganisationStatus.SUSPENDED)
    assert post_section(officer_client, application, "hierarchy",
                        valid("hierarchy", parent_choice="none", parent=str(parent.pk))).status_code == 302
    assert reload(application).section_data("hierarchy")["parent"] == str(parent.pk)  # kept in the draft
    assert post_section(officer_client, application, "integration",
                        valid("integration", wants_integration="no", tech_email="kiran.joshi@gmail.com")).status_code == 302
    assert set(reload(application).section_status.values()) == {SectionStatus.COMPLETE}
    # Chosen again, the parent is checked again: refused at the search box.
    response = post_section(officer_client, application, "hierarchy",
                            valid("hierarchy", parent_choice="existing", parent=str(parent.pk)))
    assert field_error(page(response), "parent") == "Choose the parent organisation from the search results."
    assert reload(application).status_of("hierarchy") == SectionStatus.HAS_ERRORS
    assert post_section(officer_client, application, "hierarchy",
                        valid("hierarchy", parent_choice="none", parent=str(parent.pk))).status_code == 302
    assert officer_client.post(f"/onboarding/{application.pk}/submit/").status_code == 302
    assert reload(application).status == ApplicationStatus.WITH_AUTHORITY


# Integration ----------------------------------------------------------------------------

def test_integration_not_wanted_needs_nothing_else(officer_client, application):
    assert_accepted(officer_client, application, "integration", {"wants_integration": "no"})


def test_integration_wanted_needs_an_application_and_a_technical_contact(officer_client, application):
    tree = assert_refused(officer_client, application, "integration", {"wants_integration": "yes"}, "app_1_name",
                          "Enter at least one application that will be connected.", IN_PROGRESS)
    assert field_error(tree, "monthly_volume") == "Enter the expected number of messages a month."
    assert field_error(tree, "tech_name") == "Enter the name of the technical contact."
    assert field_error(tree, "tech_email") == "Enter the technical contact's official email."
    assert field_error(tree, "tech_mobile") == "Enter the technical contact's mobile number."


def test_integration_answers_drawn_as_nothing_are_not_given(officer_client, application):
    data = valid("integration", app_1_name=INVISIBLE, tech_name=INVISIBLE)
    tree = assert_refused(officer_client, application, "integration", data, "app_1_name",
                          "Enter the name of the application.", IN_PROGRESS)
    assert field_error(tree, "tech_name") == "Enter the name of the technical contact."


def test_integration_requires_a_choice(officer_client, application):
    assert_refused(officer_client, application, "integration", valid("integration", wants_integration=""), "wants_integration",
                   REQUIRED, IN_PROGRESS)


def test_integration_row_with_a_name_needs_its_purposes(officer_client, application):
    data = valid("integration", app_1_purposes=[], app_2_name="Land records", app_2_purposes=["messaging"])
    tree = assert_refused(officer_client, application, "integration", data, "app_1_purposes",
                          "Choose what this application will use Sandes for.", IN_PROGRESS)
    assert field_error(tree, "app_2_purposes") is None


def test_integration_row_with_purposes_needs_a_name(officer_client, application):
    data = valid("integration", app_2_purposes=["broadcast", "messaging"])
    tree = assert_refused(officer_client, application, "integration", data, "app_2_name", "Enter the name of the application.", IN_PROGRESS)
    assert sorted(field_value(tree, "app_2_purposes")) == ["broadcast", "messaging"]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("app_1_purposes", ["otp_alerts", "spam"], "Select a valid choice. spam is not one of the available choices."),
        ("monthly_volume", "0", "Enter a number of 1 or more."),
        ("monthly_volume", "lots", "Enter a whole number, such as 1,500 or 1,50,000."),
        ("monthly_volume", "1000000001", "Enter a number of 1,00,00,00,000 or less."),
        ("tech_email", "kiran@gmail.com", "gmail.com is a personal mail service"),
        ("tech_email", "kiran@evilgov.in", "evilgov.in is not an official government domain"),
        ("tech_mobile", "+44 7700 900123", MOBILE_MESSAGE),
        ("wants_integration", "maybe", "Select a valid choice. maybe is not one of the available choices."),
    ],
)
def test_integration_refusals(officer_client, application, field, value, message):
    assert_refused(officer_client, application, "integration", valid("integration", **{field: value}), field, message, HAS_ERRORS)


def test_integration_accepts_a_contractor_technical_contact_and_three_rows(officer_client, application):
    data = valid("integration", tech_email="kiran@acme-external.gov.in", app_2_name="Land records", app_2_purposes=["messaging"],
                 app_3_name="Grievances", app_3_purposes=["otp_alerts", "messaging", "broadcast"])
    assert_accepted(officer_client, application, "integration", data)
    tree = page(officer_client.get(section_url(application, "integration")))
    assert field_value(tree, "app_3_purposes") == ["otp_alerts", "messaging", "broadcast"]
    assert field_value(tree, "app_2_name") == "Land records"


# Declarations ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "missing, message",
    [
        ("accept_notice", "Confirm that you have read the data protection notice."),
        ("undertaking_true", "Tick this undertaking to continue."),
        ("undertaking_authorised", "Tick this undertaking to continue."),
        ("undertaking_policy", "Tick this undertaking to continue."),
    ],
)
def test_every_declaration_must_be_ticked(officer_client, application, missing, message):
    data = {k: v for k, v in VALID["declarations"].items() if k != missing}
    tree = assert_refused(officer_client, application, "declarations", data, missing, message, IN_PROGRESS)
    assert field_value(tree, missing) is False
    stored = reload(application)
    assert stored.declarations_version == "" and stored.declarations_accepted_at is None


def test_declarations_record_the_notice_version_and_unticking_clears_it(officer_client, application):
    assert_accepted(officer_client, application, "declarations", VALID["declarations"])
    stored = reload(application)
    assert stored.declarations_version == NOTICE_VERSION
    assert stored.declarations_accepted_at is not None
    page_text = officer_client.get(section_url(application, "declarations")).content.decode()
    assert f"version {NOTICE_VERSION}" in page_text
    post_section(officer_client, application, "declarations", {k: v for k, v in VALID["declarations"].items() if k != "undertaking_true"})
    stored = reload(application)
    assert stored.status_of("declarations") == IN_PROGRESS
    assert stored.declarations_version == "" and stored.declarations_accepted_at is None


# Attachments -------------------------------------------------------------------------------

TYPE_MESSAGE = "This file is not a PDF, PNG or JPEG (its content was checked, not its name)."


def _upload_refused(client, application, content, name, message):
    response = upload(client, application, content, name=name)
    assert response.status_code == 200
    tree = page(response)
    error = field_error(tree, "letter")
    assert error is not None and message in error, error
    assert tree.by_id("id_letter").get("aria-invalid") == "true"
    assert not Attachment.objects.filter(application=application).exists()
    assert reload(application).status_of("authorisation_letter") == SectionStatus.NOT_STARTED
    return tree


@pytest.mark.parametrize(
    "content, name",
    [
        (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "letter.pdf"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200, "letter.pdf"),
        (b"PK\x03\x04" + b"\x00" * 200, "letter.jpg"),
        (b"GIF89a" + b"\x00" * 200, "letter.png"),
        (b"just some text", "letter.pdf"),
    ],
)
def test_upload_of_a_disguised_file_is_refused(officer_client, application, content, name):
    _upload_refused(officer_client, application, content, name, TYPE_MESSAGE)


@pytest.mark.parametrize("before", [b"\r\n", b"\xef\xbb\xbf", b"\n\n\n", b"Content-Type: application/pdf\r\n\r\n",
                                    b" " * 1000], ids=["crlf", "bom", "lines", "mail-header", "1000-spaces"])
def test_a_pdf_whose_header_comes_after_a_few_bytes_is_accepted_and_checked(officer_client, application, before):
    """Readers open a PDF whose "%PDF-" comes within its first 1,024 bytes (after a line
    break or a byte-order mark some web applications and mail gateways leave): it was
    "not a PDF, PNG or JPEG"."""
    response = upload(officer_client, application, before + minimal_pdf(pages=2))
    assert response.status_code == 302, field_error(page(response), "letter")
    attachment = Attachment.objects.get(application=application)
    assert (attachment.content_type, attachment.pages) == ("application/pdf", 2)


def test_what_comes_before_a_pdfs_header_is_not_stored_nor_served_with_the_letter(officer_client, application):
    """A web page with a script, then a PDF: readers open the PDF, and the letter was stored
    and served as uploaded, page and script first (a browser shown that file another way
    than the download, or someone opening it from the store, would run it). The letter is
    the PDF from its header on, checked, fingerprinted, stored and served so."""
    pdf = minimal_pdf()
    response = upload(officer_client, application,
                      b"<!DOCTYPE html><html><body><script>alert(document.domain)</script></body></html>\n" + pdf)
    assert response.status_code == 302, field_error(page(response), "letter")
    attachment = Attachment.objects.get(application=application)
    assert (attachment.size, attachment.sha256) == (len(pdf), hashlib.sha256(pdf).hexdigest())
    served = officer_client.get(f"/onboarding/{application.pk}/letter/{attachment.pk}/")
    assert b"".join(served.streaming_content) == pdf


def test_a_pdf_header_after_the_first_1024_bytes_is_not_a_pdf_and_one_before_is_still_checked(officer_client,
                                                                                             application):
    _upload_refused(officer_client, application, b" " * 1020 + minimal_pdf(), "letter.pdf", TYPE_MESSAGE)
    _upload_refused(officer_client, application, b"\r\n" + _pdf(_open_script), "letter.pdf",
                    "The PDF contains scripts, actions or attached files")


def test_upload_over_5_mb_is_refused(officer_client, application):
    content = minimal_pdf() + b"%" * (6 * 1024 * 1024)
    _upload_refused(officer_client, application, content, "letter.pdf", "The file is 6.0 MB; the largest allowed is 5 MB.")


def test_the_letter_page_gives_the_browser_the_limit_and_the_refusal_of_a_larger_file(officer_client, application,
                                                                                      settings):
    """The browser refuses a file over the limit before sending it (static/js/portal.js),
    with the message the portal gives once it has arrived, the file's size in MB for {size}."""
    settings.ONBOARDING_UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    tree = page(officer_client.get(f"/onboarding/{application.pk}/letter/"))
    [field] = [n for n in tree.iter() if n.tag == "input" and n.get("name") == "letter"]
    assert field.get("data-max-bytes") == str(3 * 1024 * 1024)
    assert field.get("data-too-large") == (
        "The file is {size} MB; the largest allowed is 3 MB. Scan at a lower resolution or as a PDF.")
    officer_client.cookies["django_language"] = "hi"
    tree = page(officer_client.get(f"/onboarding/{application.pk}/letter/"))
    [field] = [n for n in tree.iter() if n.tag == "input" and n.get("name") == "letter"]
    assert "{size}" in field.get("data-too-large") and "3 MB" in field.get("data-too-large")
    assert "largest" not in field.get("data-too-large")


EMPTY_LETTER = {
    "en": "The file is empty: save the scan of the signed letter again and upload it.",
    "hi": "फ़ाइल खाली है: हस्ताक्षरित पत्र का स्कैन फिर से सहेजें और उसे अपलोड करें।",
    "mr": "फाइल रिकामी आहे: स्वाक्षरी केलेल्या पत्राचे स्कॅन पुन्हा जतन करा आणि ते अपलोड करा.",
}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_upload_of_an_empty_file_is_refused_saying_what_to_do(officer_client, application, language):
    """A letter of 0 bytes (a scan that did not finish saving, a broken download) got Django's
    "The submitted file is empty.", which says nothing of what to do; its Hindi "निवेदित संचिका
    खाली है ।" and Marathi "सुपूर्त केलेला दस्तऐवज रिकामी आहे." name the file as the portal does nowhere."""
    officer_client.cookies["django_language"] = language
    _upload_refused(officer_client, application, b"", "letter.pdf", EMPTY_LETTER[language])


def test_upload_without_a_file_is_refused(officer_client, application):
    response = officer_client.post(f"/onboarding/{application.pk}/letter/", {})
    assert field_error(page(response), "letter") == "Choose the signed authorisation letter to upload."


@pytest.mark.parametrize("content", [b"%PDF-1.7\n" + b"\x00garbage" * 100, minimal_pdf()[: len(minimal_pdf()) // 2]])
def test_upload_of_a_corrupt_pdf_is_refused(officer_client, application, content):
    _upload_refused(officer_client, application, content, "letter.pdf", "The PDF could not be read.")


def test_upload_of_a_corrupt_image_is_refused(officer_client, application):
    _upload_refused(officer_client, application, b"\x89PNG\r\n\x1a\n" + b"\x00" * 300, "letter.png", "The image could not be read.")


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width, height, pixels):
    """A PNG (8-bit RGB) whose chunks are all well formed, holding ``pixels``: zlib data
    that may be cut short or too short for ``width`` x ``height``."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels)
            + _png_chunk(b"IEND", b""))


def _noisy_jpeg():
    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (600, 400), random.Random(1).randbytes(600 * 400 * 3)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("content, name", [
    # Chunks and checksums right (Pillow's verify() passes), the pixel data cut off a tenth of the way.
    pytest.param(_png(600, 400, zlib.compress(random.Random(1).randbytes(601 * 400 * 3))[:72_000]), "letter.png",
                 id="png-cut"),
    pytest.param(_png(600, 400, b""), "letter.png", id="png-without-pixels"),
    pytest.param(_noisy_jpeg()[:30_000], "letter.jpg", id="jpeg-cut"),
])
@pytest.mark.parametrize("truncated_allowed", [False, True], ids=["pillow-default", "as-weasyprint-sets-it"])
def test_upload_of_an_image_that_cannot_be_decoded_is_refused(officer_client, application, content, name,
                                                              truncated_allowed, monkeypatch):
    # The competent authority would get a letter they cannot open. Importing WeasyPrint
    # turns on Pillow's process-wide switch that fills a cut-off image in silently.
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", truncated_allowed)
    _upload_refused(officer_client, application, content, name, "The image could not be read.")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is truncated_allowed  # left as it was


@pytest.mark.parametrize("width, height", [(6_001, 6_000), (12_000, 12_000), (100_000, 100_000)])
def test_upload_of_an_image_of_more_pixels_than_a_page_scanned_at_600_dpi_is_refused(
    officer_client, application, width, height
):
    # A few bytes that would decode to 36 million pixels and more (100 MB and more of memory):
    # refused from the size the file declares, before its pixels are decoded.
    content = _png(width, height, zlib.compress(b"\x00" * (1 + 3 * width)))
    _upload_refused(officer_client, application, content, "letter.png", "The image has more than 36 million pixels")


def test_an_a4_page_scanned_at_600_dpi_is_accepted(officer_client, application):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (4_961, 7_016), 250).save(buffer, format="PNG")  # 210 x 297 mm at 600 dpi: 34.8 million pixels
    response = upload(officer_client, application, buffer.getvalue(), name="scan.png", content_type="image/png")
    assert response.status_code == 302, field_error(page(response), "letter")
    assert Attachment.objects.get(application=application).content_type == "image/png"


def _jpeg_of_many_scans(repeats):
    """A progressive JPEG of 6000 x 6000 grey pixels (ONBOARDING_UPLOAD_MAX_PIXELS) whose
    first AC scan, with its Huffman table, comes ``repeats`` times: some 0.3 MB for 3,000,
    which Pillow decodes for some 20 s of processor time (the 5 MB allowed, minutes)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (6000, 6000), 128).save(buffer, "JPEG", progressive=True, quality=50)
    data, at, scans = buffer.getvalue(), 2, []
    while data[at + 1] != 0xD9:
        end = at + 2 + struct.unpack(">H", data[at + 2:at + 4])[0]
        if data[at + 1] == 0xDA:  # the scan's coded data runs to the next marker
            end = data.index(b"\xff", end)
            while data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                end = data.index(b"\xff", end + 2)
            scans.append(end)
        at = end
    return data[:scans[0]] + data[scans[0]:scans[1]] * repeats + b"\xff\xd9"


IMAGE_COMPLEX_MESSAGE = "The image is too complex to be checked."


def test_upload_of_an_image_made_to_be_slow_to_decode_is_refused_at_the_check_limit(officer_client, application,
                                                                                     settings, caplog):
    # Decoded in the request, it held a web worker for as long as its maker wanted, and
    # was then accepted. It is decoded in a child under the letter check's limits.
    settings.LETTER_CHECK_SECONDS = 1
    content = _jpeg_of_many_scans(3_000)
    assert len(content) < 1024 * 1024
    _upload_refused(officer_client, application, content, "letter.jpg", IMAGE_COMPLEX_MESSAGE)
    assert "decoding it reached the limits" in caplog.text
    response = officer_client.post(f"/onboarding/{application.pk}/letter/", {"letter": SimpleUploadedFile(
        "letter.jpg", content, content_type="image/jpeg")}, HTTP_ACCEPT_LANGUAGE="mr")
    assert "ही प्रतिमा तपासता येण्यासाठी खूप गुंतागुंतीची आहे" in field_error(page(response), "letter")
    assert not Attachment.objects.filter(application=application).exists()


@pytest.mark.parametrize("content, name, content_type", [
    pytest.param(png_bytes(), "scan.png", "image/png", id="png"),
    pytest.param(jpeg_bytes(), "scan.jpg", "image/jpeg", id="jpeg"),
    pytest.param(_jpeg_of_many_scans(1), "scan.jpg", "image/jpeg", id="progressive-jpeg-at-the-pixel-limit"),
])
def test_an_ordinary_image_letter_is_accepted_within_the_check_limit(officer_client, application, settings, content,
                                                                     name, content_type):
    settings.LETTER_CHECK_SECONDS = 1
    response = upload(officer_client, application, content, name=name, content_type=content_type)
    assert response.status_code == 302, field_error(page(response), "letter")
    assert Attachment.objects.get(application=application).content_type == content_type


def test_an_image_is_checked_the_same_in_a_process_of_its_own_when_the_render_server_is_busy(settings):
    from onboarding.application import pdf

    settings.LETTER_CHECK_SECONDS = 1
    most = settings.ONBOARDING_UPLOAD_MAX_PIXELS
    with pdf._server.lock:  # another thread of this process is rendering
        assert pdf.image_verdict(jpeg_bytes(), max_pixels=most) == "ok"
        assert pdf.image_verdict(_noisy_jpeg()[:30_000], max_pixels=most) == "corrupt"
        assert pdf.image_verdict(_png(6_001, 6_000, zlib.compress(b"\x00" * 18_004)), max_pixels=most) == "pixels"
        assert pdf.image_verdict(_jpeg_of_many_scans(3_000), max_pixels=most) == "complex"
    assert pdf.image_verdict(png_bytes(), max_pixels=most) == "ok"


def test_upload_of_an_encrypted_pdf_is_refused(officer_client, application):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(minimal_pdf())))
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    _upload_refused(officer_client, application, buffer.getvalue(), "letter.pdf", "The PDF is password-protected.")


def test_upload_of_a_pdf_encrypted_for_a_certificate_is_refused_as_protected_not_as_damaged(officer_client, application):
    """Encrypted for the holder of a digital certificate (public-key security, "Adobe.PubSec":
    a handler pypdf cannot open): it asks for something to open, as a password-protected one
    does; it is not a damaged file."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(minimal_pdf())))
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    content = buffer.getvalue().replace(b"/Filter /Standard", b"/Filter /Adobe.PubSec")
    assert b"/Adobe.PubSec" in content
    _upload_refused(officer_client, application, content, "letter.pdf", "The PDF is password-protected.")


def _restricted_from_editing(content, algorithm):
    """``content`` with only an owner password: it opens without one, editing and printing
    restricted (what many scanners' "secure PDF" and signing tools save)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    writer.encrypt(user_password="", owner_password="office-owner-secret", permissions_flag=0b1111_0000_0100,
                   algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_a_pdf_that_opens_without_a_password_is_accepted_and_checked(officer_client, application, algorithm):
    """Refused as "password-protected" though every reader opens it without asking for one."""
    content = _restricted_from_editing(minimal_pdf(pages=2), algorithm)
    assert PdfReader(io.BytesIO(content)).is_encrypted
    response = upload(officer_client, application, content, name="signed-letter.pdf")
    assert response.status_code == 302, field_error(page(response), "letter")
    assert Attachment.objects.get(application=application).pages == 2


def test_a_pdf_that_opens_without_a_password_is_still_refused_for_a_script(officer_client, application):
    _upload_refused(officer_client, application, _restricted_from_editing(_pdf(_open_script), "AES-128"), "letter.pdf",
                    "The PDF contains scripts, actions or attached files")


def test_upload_of_a_long_pdf_is_refused(officer_client, application, settings):
    _upload_refused(officer_client, application, minimal_pdf(pages=settings.ONBOARDING_UPLOAD_MAX_PAGES + 1), "letter.pdf",
                    f"The PDF has {settings.ONBOARDING_UPLOAD_MAX_PAGES + 1} pages")


def test_upload_of_a_pdf_without_a_single_page_is_refused(officer_client, application):
    # A well-formed PDF whose page tree is empty: nothing for the competent authority to read.
    buffer = io.BytesIO()
    PdfWriter().write(buffer)
    _upload_refused(officer_client, application, buffer.getvalue(), "letter.pdf",
                    "The PDF has no pages. Upload the signed letter itself.")


def _pdf(change):
    """A one-page PDF made with pypdf, ``change(writer, page)`` applied before it is written."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    change(writer, writer.pages[0])
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _script(text="app.alert('opened');"):
    return DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(text)})


def _open_script(writer, page):
    writer.root_object[NameObject("/OpenAction")] = _script()


def _document_script(writer, page):
    names = ArrayObject([TextStringObject("opened"), _script()])
    writer.root_object[NameObject("/Names")] = DictionaryObject(
        {NameObject("/JavaScript"): DictionaryObject({NameObject("/Names"): names})})


def _page_open_script(writer, page):
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): _script()})


def _launch_link(writer, page):
    writer.add_annotation(0, DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (50, 50, 300, 80)]),
        NameObject("/A"): DictionaryObject({NameObject("/S"): NameObject("/Launch"),
                                            NameObject("/F"): TextStringObject("cmd.exe")}),
    }))


def _attached_file(writer, page):
    writer.add_attachment("setup.exe", b"MZ\x90\x00" + b"\x00" * 100)


def _open_go_to_action(writer, page):
    writer.root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/GoTo"), NameObject("/D"): ArrayObject([page.indirect_reference, NameObject("/Fit")])})


def _annotation(writer, page, subtype, **entries):
    """Adds to ``page`` an annotation of ``subtype`` with ``entries`` (names to PDF objects)."""
    annotation = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject(subtype),
        NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (50, 50, 300, 300)]),
        **{NameObject(f"/{key}"): value for key, value in entries.items()},
    })
    annotations = page.get("/Annots", ArrayObject())
    annotations.append(writer._add_object(annotation))
    page[NameObject("/Annots")] = annotations
    return annotation


def _3d_script_run_on_page_open(writer, page):
    # A 3D annotation activated when its page opens (/3DA /A /PO) whose 3D stream names a
    # JavaScript program to run when it is instantiated (/OnInstantiate, PDF 32000-1 13.6.3).
    script = DecodedStreamObject()
    script.set_data(b"app.alert('script ran when the page opened');")
    scene = DecodedStreamObject()
    scene.set_data(b"U3D\x00")
    scene.update({NameObject("/Type"): NameObject("/3D"), NameObject("/Subtype"): NameObject("/U3D"),
                  NameObject("/OnInstantiate"): writer._add_object(script)})
    _annotation(writer, page, "/3D", **{"3DD": writer._add_object(scene),
                                        "3DA": DictionaryObject({NameObject("/A"): NameObject("/PO")})})


def _a_3d_annotation_hidden_behind_a_popup(writer, page):
    # The 3D annotation is reached first as the parent of a popup listed after it.
    scene = DecodedStreamObject()
    scene.set_data(b"U3D\x00")
    three_d = _annotation(writer, page, "/3D", **{"3DD": writer._add_object(scene)})
    _annotation(writer, page, "/Popup", Parent=three_d.indirect_reference)


def _screen_playing_a_rendition(writer, page):
    _annotation(writer, page, "/Screen", A=DictionaryObject({
        NameObject("/S"): NameObject("/Rendition"), NameObject("/OP"): NumberObject(0)}))


def _sound(writer, page):
    _annotation(writer, page, "/Sound")


def _widget_submitting_the_form(writer, page):
    _annotation(writer, page, "/Widget", A=DictionaryObject({
        NameObject("/S"): NameObject("/SubmitForm"), NameObject("/F"): TextStringObject("https://example.com/")}))


def _link_to_another_file(writer, page):
    _annotation(writer, page, "/Link", A=DictionaryObject({
        NameObject("/S"): NameObject("/GoToR"), NameObject("/F"): TextStringObject("\\\\server\\share\\x.pdf"),
        NameObject("/D"): ArrayObject([NumberObject(0), NameObject("/Fit")])}))


def _link_importing_data_next(writer, page):
    # A harmless first action followed by one that is not.
    _annotation(writer, page, "/Link", A=DictionaryObject({
        NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject("https://maharashtra.gov.in/"),
        NameObject("/Next"): ArrayObject([DictionaryObject({
            NameObject("/S"): NameObject("/ImportData"), NameObject("/F"): TextStringObject("data.fdf")})])}))


def _link_running_a_script_by_its_address(writer, page):
    # A web-address action whose address is a script, or a file on the reader's computer.
    _annotation(writer, page, "/Link", A=DictionaryObject({
        NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject(" JavaScript:app.alert(1)")}))
    _annotation(writer, page, "/Link", A=DictionaryObject({
        NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject("file:///C:/Windows/System32/calc.exe")}))


def _link_to_a_file_on_the_readers_computer(writer, page):
    _annotation(writer, page, "/Link", A=DictionaryObject({
        NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject("file:///etc/passwd")}))


ACTIVE_MESSAGE = "The PDF contains scripts, actions or attached files, which the portal does not accept in a letter."


@pytest.mark.parametrize("change", [_open_script, _document_script, _page_open_script, _launch_link, _attached_file,
                                    _open_go_to_action, _3d_script_run_on_page_open,
                                    _a_3d_annotation_hidden_behind_a_popup, _screen_playing_a_rendition, _sound,
                                    _widget_submitting_the_form, _link_to_another_file, _link_importing_data_next,
                                    _link_running_a_script_by_its_address, _link_to_a_file_on_the_readers_computer])
def test_upload_of_a_pdf_with_a_script_action_or_attached_file_is_refused(officer_client, application, change):
    # The competent authority and the administrators open the letter in their own readers,
    # which would run a script on opening, launch a program, or offer the attached file.
    _upload_refused(officer_client, application, _pdf(change), "letter.pdf", ACTIVE_MESSAGE)


def test_upload_of_a_pdf_with_more_objects_than_the_check_reads_is_refused(officer_client, application):
    def many_links(writer, page):
        for n in range(5_001):
            writer.add_uri(0, f"https://example.gov.in/{n}", RectangleObject((0, 0, 10, 10)))

    _upload_refused(officer_client, application, _pdf(many_links), "letter.pdf", "The PDF is too complex to be checked.")


def _pdf_of_many_leaves(leaves):
    """A PDF of under 1 MB whose page tree has two branches of ``leaves`` pages each, the
    pages packed in compressed object streams: pypdf takes some 19 seconds of processor
    time to count 100,000 of them (and then refuses the file)."""
    first_leaf, stream = 5, 5 + 2 * leaves
    where, out = {}, io.BytesIO()
    out.write(b"%PDF-1.5\n")
    for number, body in ((1, b"<< /Type /Catalog /Pages 2 0 R >>"),
                         (2, b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count %d >>" % (2 * leaves))):
        where[number] = (1, out.tell(), 0)
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    for branch in (3, 4):
        numbers = [branch, *range(first_leaf, first_leaf + leaves)]
        first_leaf += leaves
        bodies = [b"<< /Type /Pages /Parent 2 0 R /Count %d /Kids [%s] >>"
                  % (leaves, b" ".join(b"%d 0 R" % number for number in numbers[1:]))]
        bodies += [b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] >>" % branch] * leaves
        offsets, offset = [], 0
        for index, (number, body) in enumerate(zip(numbers, bodies, strict=True)):
            offsets.append(b"%d %d" % (number, offset))
            offset += len(body) + 1
            where[number] = (2, stream, index)
        header = b" ".join(offsets) + b"\n"
        packed = zlib.compress(header + b"\n".join(bodies), 9)
        where[stream] = (1, out.tell(), 0)
        out.write(b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Length %d /Filter /FlateDecode >>\nstream\n"
                  % (stream, len(numbers), len(header), len(packed)) + packed + b"\nendstream\nendobj\n")
        stream += 1
    where[stream] = (1, out.tell(), 0)
    rows = zlib.compress(struct.pack(">BIH", 0, 0, 65535)
                         + b"".join(struct.pack(">BIH", *where[number]) for number in range(1, stream + 1)), 9)
    out.write(b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d /Filter /FlateDecode >>\nstream\n"
              % (stream, stream + 1, len(rows)) + rows + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % where[stream][1])
    return out.getvalue()


def test_upload_of_a_pdf_made_to_be_slow_to_read_is_refused_at_the_check_limit(officer_client, application, settings,
                                                                                caplog):
    # Under 1 MB that pypdf reads for some 19 s of processor time, which the officer could
    # ask for again and again: the child reading it is stopped at its limit.
    settings.LETTER_CHECK_SECONDS = 1
    content = _pdf_of_many_leaves(50_000)
    assert len(content) < 1024 * 1024
    _upload_refused(officer_client, application, content, "letter.pdf", "The PDF is too complex to be checked.")
    assert "reading it reached the limits" in caplog.text


def test_letter_checks_are_counted_before_the_check_and_refused_past_letter_checks_per_hour(
        officer_client, officer, application, settings):
    """Each letter is read (a PDF) or decoded (an image) in a child process of up to
    LETTER_CHECK_SECONDS: uploading refused letters in a loop kept the portal checking
    without end. Now an officer has LETTER_CHECKS_PER_HOUR checks an hour, refused letters
    included (counted before the check); the next upload is refused at the field, in
    their language, naming when the next is possible, and an hour later they may upload."""
    settings.LETTER_CHECKS_PER_HOUR = 2
    started = timezone.now()
    with time_machine.travel(started, tick=False):
        _upload_refused(officer_client, application, b"%PDF-1.7\n" + b"\x00garbage" * 100, "letter.pdf",
                        "The PDF could not be read.")
        _upload_refused(officer_client, application, b"\x89PNG\r\n\x1a\n" + b"\x00" * 300, "letter.png",
                        "The image could not be read.")
        tree = _upload_refused(officer_client, application, minimal_pdf(), "letter.pdf",
                               "You have reached the most letters the portal checks for one person in an hour (2)")
        assert field_error(tree, "letter").endswith(
            f"You can upload another from {shown_from(started + timedelta(hours=1))}.")
        response = officer_client.post(f"/onboarding/{application.pk}/letter/", {"letter": SimpleUploadedFile(
            "scan.png", png_bytes(), content_type="image/png")}, HTTP_ACCEPT_LANGUAGE="hi")
        assert response.status_code == 200
        assert "जाँचे जाने वाले अधिकतम पत्रों (2)" in field_error(page(response), "letter")
    with time_machine.travel(started + timedelta(hours=1, seconds=1), tick=False):
        assert upload(officer_client, application, minimal_pdf()).status_code == 302
    assert Attachment.objects.filter(application=application, is_current=True).count() == 1


def test_accounts_of_one_mailbox_share_one_persons_letter_checks(officer_client, officer, application, settings):
    """Accounts are kept one per address with its "+tag", so one person may hold several
    (nodal.officer+2@...), each sign-up's code reaching the same mailbox: each account had
    LETTER_CHECKS_PER_HOUR checks of its own. They are the person's, counted for the mailbox
    as the officer's other limits are; another officer is not refused."""
    settings.LETTER_CHECKS_PER_HOUR = 2
    for _ in range(2):
        _upload_refused(officer_client, application, b"%PDF-1.7\n" + b"\x00garbage" * 100, "letter.pdf",
                        "The PDF could not be read.")
    tagged = UserFactory(email="nodal.officer+2@mahaagri.gov.in")
    client = Client()
    client.force_login(tagged)
    _upload_refused(client, new_application(tagged), minimal_pdf(), "letter.pdf",
                    "You have reached the most letters the portal checks for one person in an hour (2)")
    other = UserFactory(email="nodal.officer2@mahaagri.gov.in")
    client = Client()
    client.force_login(other)
    assert upload(client, new_application(other), minimal_pdf()).status_code == 302


def test_a_pdf_is_checked_the_same_in_a_process_of_its_own_when_the_render_server_is_busy(settings):
    from onboarding.application import pdf

    with pdf._server.lock:  # another thread of this process is rendering
        assert pdf.letter_verdict(minimal_pdf(pages=3), max_pages=20) == "pages 3"
        assert pdf.letter_verdict(_pdf(_open_script), max_pages=20) == "active"
        assert pdf.letter_verdict(b"%PDF-1.4 not a PDF", max_pages=20) == "corrupt"
    assert pdf.letter_verdict(minimal_pdf(pages=3), max_pages=20) == "pages 3"


def _opens_at_the_first_page(writer, page):
    writer.root_object[NameObject("/OpenAction")] = ArrayObject([page.indirect_reference, NameObject("/Fit")])


def _web_link(writer, page):
    writer.add_uri(0, "https://maharashtra.gov.in/", RectangleObject((50, 50, 300, 80)))


def scanned_pdf():
    """A letter as a scanner saves it: each page one image."""
    from PIL import Image

    buffer = io.BytesIO()
    pages = [Image.new("RGB", (1240, 1754), (250, 250, 250)) for _ in range(2)]
    pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:], resolution=150)
    return buffer.getvalue()


def _signed_and_annotated(writer, page):
    """What a reader's signing and commenting tools add: a signature field, a highlight
    with its popup, a sticky note, a stamp, a link to a page of the letter."""
    signature = DictionaryObject({NameObject("/Type"): NameObject("/Sig"), NameObject("/Filter"): NameObject("/Adobe.PPKLite"),
                                  NameObject("/SubFilter"): NameObject("/adbe.pkcs7.detached")})
    field = _annotation(writer, page, "/Widget", FT=NameObject("/Sig"), T=TextStringObject("Signature1"),
                        V=writer._add_object(signature), F=NumberObject(132))
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject({
        NameObject("/Fields"): ArrayObject([field.indirect_reference]), NameObject("/SigFlags"): NumberObject(3)})
    highlight = _annotation(writer, page, "/Highlight", Contents=TextStringObject("Approved"),
                            QuadPoints=ArrayObject([NumberObject(n) for n in (50, 80, 300, 80, 50, 50, 300, 50)]))
    popup = _annotation(writer, page, "/Popup", Parent=highlight.indirect_reference)
    highlight[NameObject("/Popup")] = popup.indirect_reference
    _annotation(writer, page, "/Text", Contents=TextStringObject("See the order of 3 June"))
    _annotation(writer, page, "/Stamp", Name=NameObject("/Approved"))
    _annotation(writer, page, "/Link", A=DictionaryObject({
        NameObject("/S"): NameObject("/GoTo"), NameObject("/D"): ArrayObject([page.indirect_reference, NameObject("/Fit")])}))
    _annotation(writer, page, "/Link", Dest=ArrayObject([page.indirect_reference, NameObject("/Fit")]))


@pytest.mark.parametrize("content", [pytest.param(lambda: _pdf(_opens_at_the_first_page), id="destination"),
                                     pytest.param(lambda: _pdf(_web_link), id="web-link"),
                                     pytest.param(lambda: _pdf(_signed_and_annotated), id="signed-and-annotated"),
                                     pytest.param(scanned_pdf, id="scanned")])
def test_a_pdf_that_opens_at_a_page_links_to_a_site_or_is_a_scan_is_accepted(officer_client, application, content):
    response = upload(officer_client, application, content())
    assert response.status_code == 302, field_error(page(response), "letter")
    assert Attachment.objects.get(application=application).content_type == "application/pdf"


@pytest.mark.parametrize(
    "make, name, content_type",
    [(minimal_pdf, "Signed letter.pdf", "application/pdf"), (png_bytes, "scan.png", "image/png"),
     (jpeg_bytes, "scan.jpeg", "image/jpeg"), (png_bytes, "named-wrong.pdf", "image/png")],
)
def test_valid_letters_are_stored_with_their_sha256(officer_client, officer, application, make, name, content_type):
    content = make()
    response = upload(officer_client, application, content, name=name)
    assert response.status_code == 302
    attachment = Attachment.objects.get(application=application)
    assert attachment.content_type == content_type  # from the content, not the name
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.size == len(content)
    assert attachment.original_name == name
    assert attachment.uploaded_by == officer
    # Stored through the storage API under a name of our own, not the uploaded name.
    assert attachment.file.storage is default_storage
    assert default_storage.exists(attachment.file.name)
    with default_storage.open(attachment.file.name, "rb") as stored:
        assert stored.read() == content
    assert name not in attachment.file.name
    assert reload(application).status_of("authorisation_letter") == COMPLETE

    # The letter page shows it, with its fingerprint.
    text = officer_client.get(f"/onboarding/{application.pk}/letter/").content.decode()
    assert attachment.sha256 in text

    # The download view serves it to the officer, with the checked content type.
    url = f"/onboarding/{application.pk}/letter/{attachment.pk}/"
    response = officer_client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_replacing_the_letter_keeps_one_current(officer_client, application, django_capture_on_commit_callbacks):
    """A letter replaced before anyone was asked to decide on it goes, file and all; one
    that was sent for a decision (a version submitted after it) is kept, not current. The
    upload's audit row names the letter it replaced, and whether it was removed (it named
    only the new one: a removed letter left no trace of what it was)."""
    upload(officer_client, application, minimal_pdf())
    first = Attachment.objects.get(application=application)
    with django_capture_on_commit_callbacks(execute=True):
        upload(officer_client, application, png_bytes(), name="scan.png")
    current = Attachment.objects.get(application=application)
    assert current.content_type == "image/png" and current.is_current
    assert not first.file.storage.exists(first.file.name)
    # Sent for a decision (the frozen copy submitting makes), then replaced: kept.
    ApplicationVersion.objects.create(application=application, number=1, data=application.data)
    with django_capture_on_commit_callbacks(execute=True):
        upload(officer_client, application, minimal_pdf(), name="signed.pdf")
    rows = list(Attachment.objects.filter(application=application).order_by("pk"))
    assert [(row.pk == current.pk, row.is_current) for row in rows] == [(True, False), (False, True)]
    assert current.file.storage.exists(current.file.name)
    replaced = [event.old_values for event in AuditEvent.objects.filter(
        action=AuditAction.APPLICATION_ATTACHMENT_UPLOADED, target_id=str(application.pk)).order_by("id")]
    assert replaced == [
        {},
        {"sha256": first.sha256, "size": first.size, "content_type": "application/pdf", "pages": 1, "name": "letter.pdf",
         "removed": True},
        {"sha256": current.sha256, "size": current.size, "content_type": "image/png", "pages": 1, "name": "scan.png",
         "removed": False},
    ]


def test_a_replaced_letter_is_kept_while_a_legal_hold_covers_the_application(officer_client, application,
                                                                              django_capture_on_commit_callbacks):
    from portal.privacy.retention import legal_hold_set
    from tests.onboarding.approval_helpers import make_superadmin

    upload(officer_client, application, minimal_pdf())
    first = Attachment.objects.get(application=application)
    legal_hold_set(target_type="onboarding.application", target_id=application.pk, reason="Audit of the department",
                   actor=make_superadmin(email="root@sandes.nic.in"))
    with django_capture_on_commit_callbacks(execute=True):
        upload(officer_client, application, png_bytes(), name="scan.png")
    first.refresh_from_db()
    assert not first.is_current and first.file.storage.exists(first.file.name)
    assert Attachment.objects.filter(application=application, is_current=True).get().content_type == "image/png"


def test_letter_is_served_to_nobody_else(officer_client, application):
    upload(officer_client, application, minimal_pdf())
    attachment = Attachment.objects.get(application=application)
    url = f"/onboarding/{application.pk}/letter/{attachment.pk}/"

    other = UserFactory(email="other.officer@mha.gov.in")
    other_client = Client()
    other_client.login(email=other.email, password=PASSWORD)
    assert other_client.get(url).status_code == 404
    assert other_client.get(f"/onboarding/{application.pk}/letter/").status_code == 404

    # A state administrator of the same state does not see a draft either.
    admin = PlatformRoleFactory(role="auditor", jurisdiction="MH").user
    with_totp(admin)  # platform roles sign in with a second factor
    admin_client = Client()
    admin_client.login(email=admin.email, password=PASSWORD)
    second_factor_given(admin_client, admin)
    assert admin_client.get(url).status_code == 404

    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")

    # An attachment id of another application through this application's URL: 404.
    other_application = new_application(other)
    assert officer_client.get(f"/onboarding/{other_application.pk}/letter/{attachment.pk}/").status_code == 404


# Markup typed into the form is shown as text everywhere -------------------------------------

PAYLOAD = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_html_in_a_name_is_escaped_everywhere(officer_client, application):
    fill_all(officer_client, application)
    response = post_section(officer_client, application, "organisation", valid("organisation", name=f"Directorate {PAYLOAD}"))
    assert response.status_code == 302
    upload(officer_client, application, minimal_pdf(), name='<img src=x onerror="alert(2)">.pdf')

    pages = {
        "section": officer_client.get(section_url(application, "organisation")),
        "task list": officer_client.get(f"/onboarding/{application.pk}/tasks/"),
        "my applications": officer_client.get("/onboarding/"),
        "submit": officer_client.get(f"/onboarding/{application.pk}/submit/"),
        "letter": officer_client.get(f"/onboarding/{application.pk}/letter/"),
    }
    for name, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, name
        assert PAYLOAD not in html, name
        assert "<img src=x" not in html, name
        tree = page(response)
        assert not [s for s in tree.find_all("script") if s.text().strip()], name
    assert ESCAPED in pages["task list"].content.decode()
    assert ESCAPED in pages["my applications"].content.decode()
    assert field_value(page(pages["section"]), "name") == f"Directorate {PAYLOAD}"
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;.pdf" in pages["letter"].content.decode()

    pdf = officer_client.get(f"/onboarding/{application.pk}/form.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(b"".join(pdf.streaming_content))).pages)
    assert f"Directorate {PAYLOAD}" in text
    assert '<img src=x onerror="alert(2)">.pdf' in text


# Possible duplicates: a warning, never a block -----------------------------------------------

def test_duplicate_warning_shows_but_does_not_block(officer_client, officer, application, django_capture_on_commit_callbacks):
    existing = OrganisationFactory(name="Directorate of Agriculture, Maharashtra")
    OrganisationDomainFactory(organisation=existing, domain="mahaagri.gov.in")
    similar = OrganisationFactory(name="Directorate of Agricultures Maharashtra")
    OrganisationFactory(name="Directorate of Fisheries, Kerala")  # not similar: no warning

    rival_officer = UserFactory(email="rival@mahaagri.gov.in")
    rival = new_application(rival_officer)
    Application.objects.filter(pk=rival.pk).update(
        organisation_name="Agriculture Directorate Maharashtra", reference="ONB-2026-000777", status=ApplicationStatus.WITH_AUTHORITY
    )

    application = complete(officer_client, application)
    assert application.status_of("organisation") == COMPLETE
    expected = [
        "An organisation using the same email domain is already on Sandes: Directorate of Agriculture, Maharashtra.",
        "An organisation with a very similar name is already on Sandes: Directorate of Agriculture, Maharashtra.",
        f"An organisation with a very similar name is already on Sandes: {similar.name}.",
    ]
    for url in (section_url(application, "organisation"), f"/onboarding/{application.pk}/tasks/"):
        text = page(officer_client.get(url)).squashed_text()
        for warning in expected:
            assert warning in text, (url, warning)
        assert "Fisheries" not in text

    assert submit(officer_client, application, django_capture_on_commit_callbacks).status == ApplicationStatus.WITH_AUTHORITY


def test_an_open_application_with_the_same_domain_is_a_warning(officer_client, officer, application):
    rival = new_application(UserFactory(email="other.officer@mahaagri.gov.in"))
    Application.objects.filter(pk=rival.pk).update(
        organisation_name="Krishi Vibhag", reference="ONB-2026-000778", status=ApplicationStatus.WITH_STATE,
        data={"organisation": {"email_domains": "krishi.gov.in, MahaAgri.gov.in"}},
    )
    closed = new_application(UserFactory(email="third.officer@mahaagri.gov.in"))
    Application.objects.filter(pk=closed.pk).update(
        organisation_name="Old Krishi Office", reference="ONB-2026-000779", status=ApplicationStatus.WITHDRAWN,
        data={"organisation": {"email_domains": "mahaagri.gov.in"}},
    )
    application = complete(officer_client, application)
    assert application.status_of("organisation") == COMPLETE
    text = page(officer_client.get(f"/onboarding/{application.pk}/tasks/")).squashed_text()
    # The officer is warned without being told another applicant's reference or organisation ...
    assert "Another open application lists the same email domain." in text
    assert "ONB-2026-000778" not in text and "Krishi Vibhag" not in text
    assert "ONB-2026-000779" not in text
    # ... which the state administrators see when they review it.
    assert "An open application (ONB-2026-000778, Krishi Vibhag) lists the same email domain." in (
        duplicate_warnings(application, details=True))
