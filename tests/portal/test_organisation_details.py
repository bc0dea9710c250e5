"""Changing an organisation's details (its name in English and in the local language, its
short code, its district): by service (who may, asked again under the organisation's lock;
the onboarding form's rules; nothing written when nothing changes; the audit row; the mail
to its admins, one each, in their language; what it must not break: the searches, the
applications as submitted) and through its page (the form, the confirmation that shows each
detail before and after, refusals at their fields in English, Hindi and Marathi, a change
made meanwhile, the status page's list of changes, the query counts)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from onboarding.models import Section
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_verify
from portal.mail.models import OutboxMessage
from portal.organisations.models import Level, Membership, Organisation, OrganisationStatus, SuspensionReason
from portal.organisations.selectors import organisation_search
from portal.organisations.services import (
    OrganisationNotActive,
    details_digest,
    organisation_details_change,
    organisation_suspend,
)
from portal.organisations.states import local_name_language
from portal.shown import ChangedMeanwhile
from tests.factories import ApplicationFactory
from tests.html_tree import field_error, field_value, parse
from tests.onboarding.approval_helpers import messages_to
from tests.portal.role_helpers import client_of, make_admin
from tests.portal.test_organisation_status import ACTORS, fresh, speaks, text_of, well_formed

pytestmark = pytest.mark.django_db

WHY = "Renamed by the government order GR No. AGR-2026/114 of 1 December 2026.\nपुणे ज़िला कृषि कार्यालय."
NEW = {"name": "District Agriculture and Farmers Welfare Office, Pune", "name_local": "ज़िला कृषि एवं किसान कल्याण कार्यालय, पुणे",
       "short_code": "DAFW-PUNE", "district": "Pune"}


@pytest.fixture
def world(roles_world):
    return roles_world


def stored(organisation):
    row = Organisation.objects.get(pk=organisation.pk)
    return {key: getattr(row, key) for key in ("name", "name_local", "short_code", "district")}


def change(world, where="office", who="superadmin", reason=WHY, shown=None, **details):
    organisation = Organisation.objects.get(pk=world[where].pk)
    values = {**stored(organisation), **details}
    return organisation_details_change(organisation=organisation, **values, reason=reason, actor=fresh(world[who]),
                                       shown=shown)


def events():
    return list(AuditEvent.objects.filter(action=AuditAction.ORGANISATION_DETAILS_CHANGED).order_by("id"))


# Changing them -----------------------------------------------------------------------------------------

def test_a_superadmin_renames_an_organisation_and_the_audit_row_keeps_the_old_and_new_details(world):
    office = world["office"]
    before = stored(office)
    changed = change(world, **NEW)
    assert changed == {key: (before[key], NEW[key]) for key in NEW}
    assert stored(office) == NEW
    [event] = events()
    assert (event.actor_id, event.target_type, event.target_id) == (world["superadmin"].pk, "organisations.organisation",
                                                                    str(office.pk))
    assert event.old_values == {"organisation_name": "District Agriculture Office, Pune",
                                "name_local": "अभिलेख निदेशालय", "short_code": "DAO-PUNE", "district": ""}
    assert event.new_values == {"organisation_name": NEW["name"], "name_local": NEW["name_local"],
                                "short_code": "DAFW-PUNE", "district": "Pune", "reason": WHY,
                                "told": ["admin@pune.mahaagri.gov.in"]}
    # The reason and the addresses are erasable with a person; an organisation's names are not a person's.
    assert event.personal_keys == ["reason", "told"]
    assert audit_verify() == []


def test_only_what_changes_is_written_and_nothing_when_nothing_changes(world):
    """The details as the onboarding form takes them: spaces around an answer are no part of
    it, a short code in any case is the same code. Sent as they are: nothing written, nobody told."""
    office = world["office"]
    assert change(world, name="  District Agriculture Office, Pune ", short_code=" dao-pune") == {}
    assert not events() and not OutboxMessage.objects.exists()
    assert change(world, district="Pune") == {"district": ("", "Pune")}
    [event] = events()
    assert event.old_values == {"district": ""} and set(event.new_values) == {"district", "reason", "told"}
    assert stored(office)["name"] == "District Agriculture Office, Pune"


def test_a_suspended_organisation_is_renamed_too_but_not_one_whose_application_is_being_decided(world):
    office = world["office"]
    Organisation.objects.filter(pk=office.pk).update(status=OrganisationStatus.SUSPENDED)
    change(world, name="Agriculture Office, Pune")
    assert stored(office)["name"] == "Agriculture Office, Pune"
    Organisation.objects.filter(pk=office.pk).update(status=OrganisationStatus.PENDING)
    with pytest.raises(OrganisationNotActive, match="its details are those of its application"):
        change(world, name="Something else")
    assert stored(office)["name"] == "Agriculture Office, Pune" and len(events()) == 1


# Who may -------------------------------------------------------------------------------------------------

MAY = {"superadmin": ("office", "other"), "state_admin_mh": ("office",), "state_admin_ka": ("other",)}


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("where", ["office", "other"])
def test_who_may_change_which_organisations_details(world, who, where):
    """A superadmin any organisation, a state administrator those of their state; never its
    own admins, nor those above it, an auditor, a member, anyone else. A refusal changes
    nothing and tells nobody."""
    organisation = world[where]
    if where in MAY.get(who, ()):
        change(world, where=where, who=who, name="Renamed Office")
        assert stored(organisation)["name"] == "Renamed Office" and len(events()) == 1
        return
    before = stored(organisation)
    with pytest.raises(PermissionDenied):
        change(world, where=where, who=who, name="Renamed Office")
    assert stored(organisation) == before
    assert not AuditEvent.objects.exists() and not OutboxMessage.objects.exists()


def test_a_state_administrator_who_lost_the_role_renames_nothing(world):
    """Asked again inside the service: a role revoked since the page was opened counts for nothing."""
    admin = fresh(world["state_admin_mh"])
    office = Organisation.objects.get(pk=world["office"].pk)
    admin.platform_roles.update(revoked_at=timezone.now())
    with pytest.raises(PermissionDenied):
        organisation_details_change(organisation=office, name="Renamed", name_local=office.name_local,
                                    short_code=office.short_code, district="", reason=WHY, actor=admin)
    assert stored(office)["name"] == "District Agriculture Office, Pune"


# The onboarding form's rules ---------------------------------------------------------------------------

@pytest.mark.parametrize(("details", "field", "message"), [
    ({"name": ""}, "name", "This field is required."),
    ({"name": "\u200b\u200b"}, "name", "This field is required."),  # shows nothing
    ({"name": "x" * 201}, "name", "Ensure this value has at most 200 characters (it has 201)."),
    ({"name": "District\nOffice"}, "name", "Line breaks, tabs and other control characters are not accepted"),
    ({"name_local": ""}, "name_local", "This field is required."),
    ({"name_local": "क" * 201}, "name_local", "Ensure this value has at most 200 characters (it has 201)."),
    ({"short_code": "P"}, "short_code", "Use 2 to 20 letters, digits or hyphens"),
    ({"short_code": "DAO PUNE"}, "short_code", "Use 2 to 20 letters, digits or hyphens"),
    ({"short_code": "dhs-ka"}, "short_code",  # another organisation's, in any case
     "DHS-KA is already the short code of Directorate of Health Services, Karnataka on Sandes. Choose another."),
    ({"district": "d" * 101}, "district", "Ensure this value has at most 100 characters (it has 101)."),
    ({"reason": ""}, "reason", "Write why the details change, for the record."),
    ({"reason": " \n\u200b "}, "reason", "Write why the details change, for the record."),
    ({"reason": "y" * 1001}, "reason", "The note is too long: write at most 1000 characters (it has 1001)."),
])
def test_each_detail_is_checked_as_the_onboarding_form_checks_it(world, details, field, message):
    office = world["office"]
    before = stored(office)
    with pytest.raises(ValidationError) as refused:
        change(world, **{"name": "Renamed Office", **details})
    assert list(refused.value.error_dict) == [field]
    assert refused.value.error_dict[field][0].messages[0].startswith(message)
    assert stored(office) == before and not events() and not OutboxMessage.objects.exists()


def test_a_district_office_keeps_a_district(world):
    office = world["office"]
    Organisation.objects.filter(pk=office.pk).update(level=Level.DISTRICT, district="Pune")
    with pytest.raises(ValidationError) as refused:
        change(world, district=" ")
    assert refused.value.error_dict["district"][0].messages == [
        "Enter the district of a district or sub-district office."]
    assert change(world, district="Pune (Haveli)") == {"district": ("Pune", "Pune (Haveli)")}


def test_a_short_code_another_organisation_shares_already_is_kept_when_it_is_not_changed(world):
    """Codes were unique from when the form checked them: a pair made before (by seed data)
    does not stop the organisation's name changing, only a change to a code taken."""
    Organisation.objects.filter(pk=world["other"].pk).update(short_code="DAO-PUNE")
    assert change(world, name="Agriculture Office, Pune") == {"name": ("District Agriculture Office, Pune",
                                                                       "Agriculture Office, Pune")}


def test_a_page_opened_before_another_change_saves_nothing(world):
    """The digest of the details the page showed, compared under the lock: a second
    administrator's rename is not put back unseen."""
    office = Organisation.objects.get(pk=world["office"].pk)
    shown = details_digest(office)
    change(world, who="state_admin_mh", name="Agriculture Office, Pune")
    with pytest.raises(ChangedMeanwhile):
        change(world, shown=shown, short_code="DAO-PUNE-2", name="District Agriculture Office, Pune")
    assert stored(office)["name"] == "Agriculture Office, Pune" and stored(office)["short_code"] == "DAO-PUNE"
    assert len(events()) == 1
    change(world, shown=details_digest(Organisation.objects.get(pk=office.pk)), short_code="DAO-PUNE-2")
    assert stored(office)["short_code"] == "DAO-PUNE-2"


# Who is told --------------------------------------------------------------------------------------------

def test_its_admins_are_told_one_mail_each_in_their_language_with_each_change(world):
    office = world["office"]
    speaks(world["admin_office"], "hi")
    second = make_admin(office, email="second.admin@pune.mahaagri.gov.in")
    speaks(second, "mr")
    change(world, **NEW)
    assert sorted(address for message in OutboxMessage.objects.all() for address in message.to) == [
        "admin@pune.mahaagri.gov.in", "second.admin@pune.mahaagri.gov.in"]
    [hindi] = messages_to("admin@pune.mahaagri.gov.in")
    [marathi] = messages_to("second.admin@pune.mahaagri.gov.in")
    with translation.override("hi"):
        assert "पहले:" in hindi.body and "संदेस" in hindi.subject
    with translation.override("mr"):
        assert "आधी:" in marathi.body
    for message in (hindi, marathi):
        assert NEW["name"] in message.subject
        for old, new in (("District Agriculture Office, Pune", NEW["name"]), ("DAO-PUNE", "DAFW-PUNE"),
                         ("अभिलेख निदेशालय", NEW["name_local"])):
            assert old in message.body and new in message.body
        assert WHY in message.body and "root@sandes.nic.in" in message.body
        assert f"/portal/organisations/{office.pk}/details/" in message.body
    assert not messages_to(world["member"].email)


def test_an_organisation_without_admins_of_its_own_is_told_to_the_admins_above_it(world):
    Membership.objects.filter(user=world["admin_office"]).delete()
    change(world, who="state_admin_mh", name="Agriculture Office, Pune")
    [message] = OutboxMessage.objects.all()
    assert message.to == ["admin@mahaagri.gov.in"]
    assert "an administrator of Maharashtra" in message.body and "Agriculture Department, Maharashtra" in message.body


# What a rename must not break ---------------------------------------------------------------------------

def test_a_renamed_organisation_is_found_by_its_new_names_however_they_are_typed(world):
    """Stored composed, as every search composes what is typed (portal.text.as_searched): the
    letter with a nukta typed as one character (U+095B, from a phone keyboard) or as the
    letter and the nukta (the InScript keyboard) finds it, a zero-width space pasted with the
    words is no part of them."""
    change(world, name="District Agriculture and Farmers Welfare Office, Pune",
           name_local="\u095bिला कृषि कार्यालय, पुणे")
    assert stored(world["office"])["name_local"] == "\u091c\u093cिला कृषि कार्यालय, पुणे"
    for query in ("\u095bिला कृषि", "\u091c\u093cिला कृषि", "\u091c\u093cिला\u200b कृषि", "Farmers Welfare", "farmers welfare office, pune"):
        assert [found.pk for found in organisation_search(query=query)] == [world["office"].pk], query
    assert not organisation_search(query="District Agriculture Office")
    # Lists ordered by name take it by its new name.
    assert list(Organisation.objects.filter(pk__in=[world["office"].pk, world["parent"].pk])) == [
        world["parent"], world["office"]]


def test_an_application_submitted_under_the_old_name_keeps_it(world):
    """Its form (and the PDF rendered from it) and its lists record what was applied for and
    approved: the name and the short code as submitted."""
    office = world["office"]
    application = ApplicationFactory(organisation=office, organisation_name="District Agriculture Office, Pune",
                                     status="approved", data={"organisation": {"name": "District Agriculture Office, Pune",
                                                                               "short_code": "DAO-PUNE"}})
    change(world, **NEW)
    application.refresh_from_db()
    assert application.organisation_name == "District Agriculture Office, Pune"
    assert application.section_data(Section.ORGANISATION)["short_code"] == "DAO-PUNE"


# The page --------------------------------------------------------------------------------------------

def details_url(organisation):
    return f"/portal/organisations/{organisation.pk}/details/"


def posted(organisation, step="review", reason=WHY, **details):
    return {**stored(organisation), **details, "reason": reason, "step": step,
            "shown_values": details_digest(Organisation.objects.get(pk=organisation.pk))}


def test_a_change_confirmed_from_a_page_that_did_not_name_an_admin_it_mails_is_refused(world):
    """The confirmation names whom the change tells by email: an admin made after it was shown
    was mailed on it though the page never named them. Nothing is saved; checked again, the
    confirmation names them, and saved from it, they are told."""
    office = world["office"]
    client = client_of(world, "state_admin_mh")
    tree = well_formed(client.post(details_url(office), posted(office, **NEW)))
    second = make_admin(office, email="second.admin@pune.mahaagri.gov.in")
    assert second.email not in text_of(tree)
    data = {field_input.get("name"): field_input.get("value") for field_input in tree.find("main").find_all("input")
            if field_input.get("name")}
    OutboxMessage.objects.all().delete()
    response = client.post(details_url(office), {**data, "step": "save"})
    assert response.status_code == 200 and stored(office)["name"] == "District Agriculture Office, Pune"
    assert not OutboxMessage.objects.exists()
    assert "Since this page was opened, whom the change tells by email has changed: nothing was saved." in text_of(
        well_formed(response))
    tree = well_formed(client.post(details_url(office), posted(office, **NEW)))
    assert second.email in text_of(tree)
    data = {field_input.get("name"): field_input.get("value") for field_input in tree.find("main").find_all("input")
            if field_input.get("name")}
    assert client.post(details_url(office), {**data, "step": "save"}).status_code == 302
    assert stored(office)["name"] == NEW["name"] and messages_to(second.email)


def test_a_superadmin_renames_an_organisation_from_its_pages(world):
    office = world["office"]
    client = client_of(world, "superadmin")
    status = well_formed(client.get(f"/portal/organisations/{office.pk}/"))
    [link] = [a for a in status.find_all("a") if a.get("href") == details_url(office)]
    assert link.text() == "Change its name, short code or district"
    assert "No change of its details is recorded." in text_of(status)

    tree = well_formed(client.get(details_url(office)))
    assert tree.find("h1").text() == "Details of District Agriculture Office, Pune"
    assert field_value(tree, "name") == "District Agriculture Office, Pune"
    assert field_value(tree, "short_code") == "DAO-PUNE" and field_value(tree, "district") == ""

    # The confirmation: each detail before and after, who is told; nothing saved yet.
    tree = well_formed(client.post(details_url(office), posted(office, **NEW)))
    assert tree.find("h1").text() == "Check the changes to District Agriculture Office, Pune"
    rows = [" ".join(row.text().split()) for row in tree.find("tbody").find_all("tr")]
    assert rows == [f"Name of the organisation (in English) District Agriculture Office, Pune {NEW['name']}",
                    f"Name in Hindi or the state's language अभिलेख निदेशालय {NEW['name_local']}",
                    "Short code DAO-PUNE DAFW-PUNE", "District — Pune"]
    shown = text_of(tree)
    assert "admin@pune.mahaagri.gov.in" in shown and "must use DAFW-PUNE from now on" in shown
    assert stored(office)["name"] == "District Agriculture Office, Pune" and not events()

    # "Change them again": the form with what was typed.
    data = {field_input.get("name"): field_input.get("value") for field_input in tree.find_all("input")
            if field_input.get("type") == "hidden"}
    tree = well_formed(client.post(details_url(office), {**data, "step": "edit"}))
    assert field_value(tree, "name") == NEW["name"] and field_value(tree, "reason") == WHY
    assert field_error(tree, "name") is None

    response = client.post(details_url(office), {**data, "step": "save"})
    assert response.status_code == 302 and response["Location"] == f"/portal/organisations/{office.pk}/"
    assert stored(office) == NEW
    tree = well_formed(client.get(response["Location"]))
    shown = text_of(tree)
    assert "The details of District Agriculture Office, Pune were changed." in shown
    assert tree.find("h1").text() == f"Status of {NEW['name']}"
    [row] = tree.find("table", class_="details-history").find("tbody").find_all("tr")
    row = " ".join(row.text().split())
    assert "Short code: DAO-PUNE → DAFW-PUNE" in row and "root@sandes.nic.in" in row
    assert "Renamed by the government order GR No. AGR-2026/114" in row and "admin@pune.mahaagri.gov.in" in row
    assert [m.to for m in OutboxMessage.objects.all()] == [["admin@pune.mahaagri.gov.in"]]


REFUSALS = {  # language: (name required, short code, district of a district office, nothing changed)
    "en": ("This field is required.", "Use 2 to 20 letters, digits or hyphens",
           "Enter the district of a district or sub-district office.", "Nothing to save"),
    "hi": ("यह फ़ील्ड आवश्यक है।", "2 से 20 अक्षर, अंक या हाइफ़न", "ज़िला या उप-ज़िला कार्यालय का ज़िला दर्ज करें।",
           "सहेजने के लिए कुछ नहीं"),
    "mr": ("हे क्षेत्र आवश्यक आहे.", "अक्षराने किंवा अंकाने सुरू होणारी 2 ते 20 अक्षरे",
           "जिल्हा किंवा उप-जिल्हा कार्यालयाचा जिल्हा नमूद करा.", "जतन करण्यासारखे काही नाही"),
}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_wrong_answers_are_said_at_their_fields_in_the_pages_language_and_kept(world, language):
    office = world["office"]
    Organisation.objects.filter(pk=office.pk).update(level=Level.DISTRICT, district="Pune")
    client = client_of(world, "superadmin")
    client.cookies["django_language"] = language
    required, short_code, district, nothing = REFUSALS[language]
    tree = well_formed(client.post(details_url(office), posted(office, name=" ", short_code="DAO PUNE!", district="",
                                                               name_local="ज़िला कार्यालय")))
    assert field_error(tree, "name") == required
    assert field_error(tree, "short_code").startswith(short_code)
    assert field_error(tree, "district") == district
    assert field_error(tree, "name_local") is None and field_error(tree, "reason") is None
    # What was typed is kept, nothing was saved.
    assert field_value(tree, "short_code") == "DAO PUNE!" and field_value(tree, "name_local") == "ज़िला कार्यालय"
    assert field_value(tree, "reason") == WHY
    assert stored(office)["short_code"] == "DAO-PUNE" and not events()
    tree = well_formed(client.post(details_url(office), posted(office)))
    assert nothing in text_of(tree)
    tree = well_formed(client.post(details_url(office), posted(office, name="Renamed", reason="")))
    assert field_error(tree, "reason") == required


def test_the_organisations_admins_read_its_details_and_change_nothing(world):
    """Linked from its admins' page under Roles, which they see; read only."""
    office = world["office"]
    change(world, name="Agriculture Office, Pune")
    for who in ("admin_office", "admin_parent"):
        client = client_of(world, who)
        roles = well_formed(client.get(f"/portal/roles/organisations/{office.pk}/"))
        [link] = [a for a in roles.find_all("a") if a.get("href") == details_url(office)]
        assert link.text() == "Its name, short code and district"
        tree = well_formed(client.get(details_url(office)))
        assert tree.find("main").find("form") is None
        shown = text_of(tree)
        assert "Agriculture Office, Pune" in shown and "DAO-PUNE" in shown
        assert "Only a superadmin or an administrator of its state or UT changes them" in shown
        assert "District Agriculture Office, Pune → Agriculture Office, Pune" in shown  # who changed it, when, why
        assert client.post(details_url(office), posted(office, name="Mine now")).status_code == 403
    assert stored(office)["name"] == "Agriculture Office, Pune" and len(events()) == 1
    assert client_of(world, "admin_other").get(details_url(office)).status_code == 404
    assert client_of(world, "state_admin_ka").get(details_url(office)).status_code == 404
    for who in ("auditor", "member", "public"):
        assert client_of(world, who).get(details_url(office)).status_code == 403


@pytest.mark.parametrize("name, state, language", [
    ("अभिलेख निदेशालय", "MH", "hi"), ("महाराष्ट्र राज्य बियाणे महामंडळ", "MH", "mr"), ("कृषि निदेशालय", "UP", "hi"),
    ("ಆರೋಗ್ಯ ಸೇವೆಗಳ ನಿರ್ದೇಶನಾಲಯ", "KA", "kn"), ("স্বাস্থ্য বিভাগ", "WB", "bn"), ("স্বাস্থ্য বিভাগ", "AS", "as"),
    ("Krishi Sanchalanalay", "MH", None), ("", "MH", None),
])
def test_the_language_of_a_name_in_hindi_or_the_states_language_is_known_by_its_script(name, state, language):
    assert local_name_language(name, state) == language


def langs_of(node):
    """Each element under ``node`` that says its language, as (its words, its lang)."""
    return [(" ".join(element.text().split()), element.get("lang")) for element in node.iter() if element.get("lang")]


def test_an_organisations_names_say_their_languages_on_its_pages(world):
    """Its name in English and its name in Hindi or the state's language, each marked with its
    language where shown (a Hindi page shows the English name, an English page the Hindi one):
    the status page, the details page, the confirmation of a change (before and after) and the
    list of changes."""
    office = world["office"]  # in Maharashtra, its name in Hindi
    marathi = "पुणे जिल्हा कृषी कार्यालय, महामंडळ"
    tree = well_formed(client_of(world, "superadmin").get(f"/portal/organisations/{office.pk}/"))
    assert ("अभिलेख निदेशालय", "hi") in langs_of(tree.find("main"))
    tree = well_formed(client_of(world, "admin_office").get(details_url(office)))
    assert langs_of(tree.find("dl", class_="organisation-details"))[:2] == [
        ("District Agriculture Office, Pune", "en"), ("अभिलेख निदेशालय", "hi")]

    client = client_of(world, "superadmin")
    client.cookies["django_language"] = "hi"
    tree = well_formed(client.post(details_url(office), posted(office, name="Agriculture Office, Pune", name_local=marathi)))
    assert langs_of(tree.find("tbody")) == [("District Agriculture Office, Pune", "en"), ("Agriculture Office, Pune", "en"),
                                            ("अभिलेख निदेशालय", "hi"), (marathi, "mr")]
    change(world, name="Agriculture Office, Pune", name_local=marathi)
    tree = well_formed(client.get(f"/portal/organisations/{office.pk}/"))
    assert langs_of(tree.find("table", class_="details-history").find("tbody")) == [
        ("District Agriculture Office, Pune", "en"), ("Agriculture Office, Pune", "en"),
        ("अभिलेख निदेशालय", "hi"), (marathi, "mr")]


def test_a_suspended_organisations_own_admins_still_read_its_details_and_change_nothing(
        world, django_assert_num_queries):
    """Their role counts for nothing while it is suspended, but its page is theirs to read
    (read only), which says since when it is suspended, by whom and why; not that of an
    office below a suspended department. Five queries (their role is read with the user: no
    question of its own; the fifth, its last changes of status)."""
    office, parent = world["office"], world["parent"]
    change(world, name="Agriculture Office, Pune")
    organisation_suspend(organisation_id=office.pk, reason_code=SuspensionReason.UNDER_REVIEW,
                         reason="Letters went out from an address it does not use.", actor=fresh(world["superadmin"]))
    client = client_of(world, "admin_office")
    with django_assert_num_queries(DETAILS_PAGE_QUERIES + 1):
        response = client.get(details_url(office))
    tree = well_formed(response)
    assert tree.find("main").find("form") is None
    shown = text_of(tree)
    assert "Status Suspended Since" in shown and "Changed by root@sandes.nic.in" in shown
    assert f"Reason {SuspensionReason.UNDER_REVIEW.label}" in shown
    assert "Letters went out from an address it does not use." in shown
    assert "Agriculture Office, Pune" in shown and "DAO-PUNE" in shown
    assert "District Agriculture Office, Pune → Agriculture Office, Pune" in shown
    assert client.post(details_url(office), posted(office, name="Mine now")).status_code == 403
    assert client.get(f"/portal/organisations/{office.pk}/").status_code == 403  # its status page: not theirs
    assert stored(office)["name"] == "Agriculture Office, Pune" and len(events()) == 1
    Organisation.objects.filter(pk=office.pk).update(status=OrganisationStatus.ACTIVE)
    Organisation.objects.filter(pk=parent.pk).update(status=OrganisationStatus.SUSPENDED)
    client = client_of(world, "admin_parent")
    assert client.get(details_url(parent)).status_code == 200
    assert client.get(details_url(office)).status_code == 404


def test_a_change_saved_meanwhile_is_said_at_each_field_and_nothing_is_saved(world):
    office = world["office"]
    client = client_of(world, "superadmin")
    data = posted(office, step="save", name="Agriculture Office, Pune")
    change(world, who="state_admin_mh", short_code="DAO-PUNE-1")
    tree = well_formed(client.post(details_url(office), data))
    shown = text_of(tree)
    assert "Nothing was saved: what this page showed was changed since it was opened" in shown
    assert "Saved meanwhile: DAO-PUNE-1" in shown
    assert field_value(tree, "name") == "Agriculture Office, Pune"
    assert stored(office)["name"] == "District Agriculture Office, Pune" and len(events()) == 1


# Query counts: the same however long its history, and however many are told.
#   1 session, 2 the user with their platform roles, 3 the organisation, 4 its history.
DETAILS_PAGE_QUERIES = 4
#   ... 3 the organisation, 4 whether the admin administers it, 5 its history.
DETAILS_PAGE_READ_QUERIES = 5
#   ... 3 the organisation, 4 whether the short code is free, 5 its admins to tell (with their accounts).
CONFIRM_PAGE_QUERIES = 5


@pytest.mark.parametrize("changes", [1, 12])
def test_the_details_pages_query_counts(world, changes, django_assert_num_queries):
    office = world["office"]
    for n in range(changes):
        change(world, name=f"Agriculture Office {n}")
    for n in range(5):
        make_admin(office, email=f"admin{n}@pune.mahaagri.gov.in")
    client = client_of(world, "superadmin")
    assert client.get(details_url(office)).status_code == 200
    with django_assert_num_queries(DETAILS_PAGE_QUERIES):
        response = client.get(details_url(office))
    assert len(parse(response.content).find("table", class_="details-history").find("tbody").find_all("tr")) == min(
        changes, 10)
    data = posted(office, short_code="DAO-PUNE-9")
    with django_assert_num_queries(CONFIRM_PAGE_QUERIES):
        response = client.post(details_url(office), data)
    assert "admin4@pune.mahaagri.gov.in" in response.content.decode()
    admin = client_of(world, "admin_office")
    assert admin.get(details_url(office)).status_code == 200
    with django_assert_num_queries(DETAILS_PAGE_READ_QUERIES):
        assert admin.get(details_url(office)).status_code == 200
