"""The possible-duplicate warning by name: the same organisation written another way
(word order, "Department of", a typing slip) is flagged; another subject
(horticulture and agriculture) and the organisation's own parent are not."""

import pytest
from django.utils import translation

from onboarding.application.services import duplicate_advice, duplicate_warnings, names_alike
from onboarding.models import Application
from portal.organisations.models import OrganisationStatus
from tests.factories import OrganisationDomainFactory, OrganisationFactory
from tests.onboarding.form_helpers import new_application

ORGANISATION_WARNING = "An organisation with a very similar name is already on Sandes: {}."
DOMAIN_WARNING = "An organisation using the same email domain is already on Sandes: {}."


@pytest.mark.parametrize("name, other", [
    ("Directorate of Agriculture, Maharashtra", "Directorate of Agriculture Maharashtra"),
    ("Directorate of Agriculture, Maharashtra", "Agriculture Directorate, Maharashtra"),
    ("Directorate of Agriculture, Maharashtra", "Directorate of Agricultures Maharashtra"),  # a slip: one letter
    ("Department of Agriculture, Maharashtra", "Agriculture Dept., Maharashtra"),
    ("Directorate of Agriculture, Maharashtra", "Directorate of Agricluture, Maharashtra"),  # two letters swapped
    ("District Collectorate Pune", "DISTRICT COLLECTORATE, PUNE"),
])
def test_the_same_organisation_written_another_way_is_alike(name, other):
    assert names_alike(name, other) and names_alike(other, name)


@pytest.mark.parametrize("name, other", [
    ("Directorate of Horticulture, Maharashtra", "Directorate of Agriculture, Maharashtra"),
    ("Department of Agriculture, Maharashtra", "Department of Agriculture, Karnataka"),
    ("Agriculture Department, Maharashtra", "District Agriculture Office, Pune"),
    ("Directorate of Agriculture, Maharashtra", "Directorate of Agriculture, Maharashtra, Pune Division"),
    ("Directorate of Fisheries, Kerala", "Directorate of Fisheries, Kerela Coast"),
    ("Water Resources Department", "Water Resource Department, Goa"),
    ("Zilla Parishad Pune", "Zilla Parishad Pen"),  # short words: a letter is a different place
    ("Department of", "Department of"),  # nothing significant to compare
])
def test_different_organisations_are_not_alike(name, other):
    assert not names_alike(name, other) and not names_alike(other, name)


def with_name(application, name, parent=None):
    data = dict(application.data)
    data["organisation"] = {**data.get("organisation", {}), "name": name}
    data["hierarchy"] = ({"parent_choice": "existing", "parent": str(parent.pk)} if parent
                         else {"parent_choice": "none", "parent": ""})
    Application.objects.filter(pk=application.pk).update(data=data, organisation_name=name)
    application.refresh_from_db()
    return application


@pytest.mark.django_db
def test_an_unrelated_subject_is_no_duplicate(officer):
    OrganisationFactory(name="Directorate of Agriculture, Maharashtra")
    application = with_name(new_application(officer), "Directorate of Horticulture, Maharashtra")
    assert duplicate_warnings(application, details=True) == []


@pytest.mark.django_db
def test_the_organisations_own_parent_and_those_above_it_are_no_duplicate(officer):
    ministry = OrganisationFactory(name="Agriculture Maharashtra")
    parent = OrganisationFactory(name="Agriculture Department, Maharashtra", parent=ministry)
    sibling = OrganisationFactory(name="Agriculture Directorate Maharashtra")  # not above it: still a warning
    application = with_name(new_application(officer), "Department of Agriculture Maharashtra", parent=parent)
    assert duplicate_warnings(application, details=True) == [ORGANISATION_WARNING.format(sibling.name)]
    # Without the parent chosen, the parent's name is flagged like any other.
    application = with_name(application, "Department of Agriculture Maharashtra")
    assert sorted(duplicate_warnings(application, details=True)) == sorted(
        ORGANISATION_WARNING.format(name) for name in (ministry.name, parent.name, sibling.name))


@pytest.mark.django_db
def test_the_officers_advice_is_kept_for_the_same_answers_and_looked_up_again_when_they_change(officer, officer_client):
    OrganisationFactory(name="Directorate of Agriculture, Maharashtra")
    application = with_name(new_application(officer), "Directorate of Horticulture, Maharashtra")
    url = f"/onboarding/{application.pk}/tasks/"
    warning = ORGANISATION_WARNING.format("Directorate of Agriculture, Maharashtra")
    assert warning not in officer_client.get(url).content.decode()
    with_name(application, "Agriculture Directorate, Maharashtra")  # the name changed: looked up again
    assert warning in officer_client.get(url).content.decode()
    # The same answers: what was found a moment ago, in the language of the page.
    OrganisationFactory(name="Agriculture Directorate of Maharashtra")
    assert officer_client.get(url).content.decode().count("very similar name") == 1
    assert duplicate_advice(application) == [warning]
    with translation.override("hi"):
        assert duplicate_advice(application) != [warning]


@pytest.mark.django_db
@pytest.mark.parametrize("status", [OrganisationStatus.PENDING, OrganisationStatus.SUSPENDED])
def test_the_officers_advice_names_only_active_organisations(officer, status):
    """Only active organisations' names are public (the parent search lists only those): the
    officer is told that another organisation has the same domain or a very similar name,
    not its name; the state administrators' review (details) names it."""
    hidden = OrganisationFactory(name="Directorate of Agriculture, Maharashtra", status=status)
    OrganisationDomainFactory(organisation=hidden, domain="mahaagri.gov.in")
    application = with_name(new_application(officer), "Agriculture Directorate, Maharashtra")
    data = dict(application.data)
    data["organisation"] = {**data["organisation"], "email_domains": "mahaagri.gov.in"}
    Application.objects.filter(pk=application.pk).update(data=data)
    application.refresh_from_db()

    advice = duplicate_warnings(application)
    assert not any("Directorate of Agriculture" in text for text in advice), advice
    assert advice == ["Another organisation on Sandes uses the same email domain.",
                      "Another organisation on Sandes has a very similar name."]
    assert duplicate_warnings(application, details=True) == [DOMAIN_WARNING.format(hidden.name),
                                                             ORGANISATION_WARNING.format(hidden.name)]

    # An active one is named to the officer too.
    OrganisationFactory(name="Directorate of Agriculture Maharashtra")
    assert ORGANISATION_WARNING.format("Directorate of Agriculture Maharashtra") in duplicate_warnings(application)


# Among thousands sharing a word ---------------------------------------------------------------

APPLICATION_WARNING = "An open application ({}) has a very similar name: {}."


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Department of Water Resources, Maharashtra",
                                  "Department of Water Resoures, Maharashtra"],  # a slip: one letter dropped
                         ids=["same-words", "typing-slip"])
def test_the_organisation_already_on_sandes_is_found_among_many_sharing_a_word(officer, name):
    """"Water Resources Department, Maharashtra" is on Sandes; so are 250 district
    collectorates, each with "Maharashtra" in its name, which sort before it. The
    organisations compared were the first 201 by name of those containing any one of the
    name's words: the collectorates, never the organisation that is the same one. Those
    compared contain every word (or, a word of five letters or more, what a typing slip
    leaves of it), however many share one of them."""
    from portal.organisations.models import Organisation

    Organisation.objects.bulk_create([
        Organisation(name=f"District Collectorate {i:03d}, Maharashtra", org_type="district_office", level="district",
                     state="MH", status="active") for i in range(250)])
    existing = OrganisationFactory(name="Water Resources Department, Maharashtra", short_code="WRD-MH")
    application = with_name(new_application(officer), name)
    assert duplicate_warnings(application, details=True) == [ORGANISATION_WARNING.format(existing.name)]


@pytest.mark.django_db
def test_the_open_application_of_the_same_organisation_is_found_among_many_sharing_a_word(officer):
    """An application of the Water Resources Department was submitted a month ago; 200 of
    district collectorates, each with "Maharashtra" in its name, since. The open
    applications compared were the newest 200 of those whose name contains any one of the
    name's words: never the one of the same organisation."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import ApplicationFactory, UserFactory

    others = UserFactory(email="nodal@collectorates.maharashtra.gov.in")
    same = ApplicationFactory(organisation_name="Water Resources Department, Maharashtra")
    Application.objects.filter(pk=same.pk).update(created_at=timezone.now() - timedelta(days=30))
    Application.objects.bulk_create([
        Application(nodal_officer=others, reference=f"ONB-2026-{900000 + i}", status="with_state",
                    organisation_name=f"District Collectorate {i:03d}, Maharashtra", jurisdiction="MH",
                    submitted_at=timezone.now()) for i in range(200)])
    application = with_name(new_application(officer), "Department of Water Resources, Maharashtra")
    assert duplicate_warnings(application, details=True) == [
        APPLICATION_WARNING.format(same.reference, "Water Resources Department, Maharashtra")]


# Behind its own sub-offices ------------------------------------------------------------------

@pytest.mark.django_db
def test_the_duplicate_is_found_behind_two_hundred_of_its_own_sub_offices(officer):
    """The organisations compared are the first 201 whose names hold every word, and were
    taken shortest name first ("alike, a name has as many significant words as this one").
    But a name's length is not its significant words': "Department of ..., Government of
    ..." is long in words the comparison leaves out. A department's sub-offices hold all its
    words and more, in shorter names: 250 of them filled the 201, and the department already
    on Sandes, written the long way, was never compared. Those compared are now taken by the
    length of their significant words."""
    from portal.organisations.models import Organisation

    Organisation.objects.bulk_create([
        Organisation(name=f"Water Resources Sub-Division {i:03d}, Maharashtra", org_type="district_office",
                     level="district", state="MH", status="active") for i in range(250)])
    existing = OrganisationFactory(name="Department of Water Resources, Government of Maharashtra")
    typed = "Water Resources Department, Maharashtra"
    assert names_alike(typed, existing.name)
    application = with_name(new_application(officer), typed)
    assert duplicate_warnings(application, details=True) == [ORGANISATION_WARNING.format(existing.name)]


@pytest.mark.django_db
def test_the_open_application_is_found_behind_two_hundred_of_its_own_sub_offices(officer):
    from tests.factories import ApplicationFactory, UserFactory

    others = UserFactory(email="nodal@wrd-divisions.maharashtra.gov.in")
    Application.objects.bulk_create([
        Application(nodal_officer=others, reference=f"ONB-2026-{900000 + i}", status="with_state",
                    organisation_name=f"Water Resources Sub-Division {i:03d}, Maharashtra", jurisdiction="MH")
        for i in range(250)])
    same = ApplicationFactory(organisation_name="Department of Water Resources, Government of Maharashtra")
    application = with_name(new_application(officer), "Water Resources Department, Maharashtra")
    assert duplicate_warnings(application, details=True) == [
        APPLICATION_WARNING.format(same.reference, "Department of Water Resources, Government of Maharashtra")]


@pytest.mark.django_db
@pytest.mark.parametrize("name", [
    "Department of Water Resources, Government of Maharashtra", "Water Resources Department, Maharashtra",
    "Water Resources Sub-Division 001, Maharashtra", "Ministry of Home Affairs (Govt. of India)",
    "Directorate of the Agriculture & Farmers Welfare, Office/Pune", "Department of the Department of Forests",
    "Zilla Parishad, Pune - Rural", "DIRECTORATE OF AGRICULTURE, MAHARASHTRA",
])
def test_the_candidates_are_taken_by_the_length_of_their_significant_words(name):
    """What the database computes to order the candidates is the length of the words
    names_alike compares (for names written with the usual separators), on PostgreSQL and
    SQLite alike."""
    from onboarding.application.services import _significant_length, _significant_words
    from portal.organisations.models import Organisation

    organisation = OrganisationFactory(name=name)
    computed = Organisation.objects.filter(pk=organisation.pk).values_list(_significant_length("name"), flat=True).get()
    assert computed == sum(len(word) for word in _significant_words(name))
