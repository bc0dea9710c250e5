"""The visibility matrix (DESIGN §5, issue 10): every kind of viewer against every
audience of every field, through every place a person is shown: their page, the
directory, its search and its CSV export. Each case sets a policy in which the
seven fields have different audiences (a rotation of the five), so that every field
meets every audience and every viewer in one of the five rotations, next to fields
that are shown and fields that are not."""

import csv
import io

import pytest

from tests.verification.visibility.conftest import VALUES, VIEWERS, client_of, set_policy
from verification.visibility.models import Audience, PersonalVisibility, ProfileField

pytestmark = pytest.mark.django_db

AUDIENCES = [Audience.PUBLIC, Audience.VERIFIED, Audience.ORGANISATION, Audience.ADMINS, Audience.NOBODY]
# The audiences each kind of viewer belongs to (written out, not computed from the code).
SEES = {
    "anonymous": {Audience.PUBLIC},
    "public": {Audience.PUBLIC},
    "outsider": {Audience.PUBLIC, Audience.VERIFIED},
    "colleague": {Audience.PUBLIC, Audience.VERIFIED, Audience.ORGANISATION},
    "admin": {Audience.PUBLIC, Audience.VERIFIED, Audience.ORGANISATION, Audience.ADMINS},
    "superadmin": {Audience.PUBLIC, Audience.VERIFIED, Audience.ORGANISATION, Audience.ADMINS},
    "self": set(AUDIENCES),
}
FIELDS = list(ProfileField)


def rotation(r):
    return {name: AUDIENCES[(i + r) % len(AUDIENCES)] for i, name in enumerate(FIELDS)}


def found(html, profile):
    return f'href="/people/{profile.pk}/"' in html


def check_page(client, people, policy, who):
    response = client.get(f"/people/{people['profile'].pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in FIELDS:
        assert (VALUES[name][0] in html) == (policy[name] in SEES[who]), ("page", who, name, policy[name])


def check_directory_and_search(client, people, policy, who):
    public_field = next(name for name in FIELDS if policy[name] == Audience.PUBLIC)
    html = client.get("/people/", {"q": VALUES[public_field][1]}).content.decode()
    assert found(html, people["profile"]), who
    for name in FIELDS:
        assert (VALUES[name][0] in html) == (policy[name] in SEES[who]), ("directory", who, name, policy[name])
    for name in FIELDS:
        html = client.get("/people/", {"q": VALUES[name][1]}).content.decode()
        assert found(html, people["profile"]) == (policy[name] in SEES[who]), ("search", who, name, policy[name])


def export_rows(client, query):
    response = client.get("/people/export.csv", {"q": query})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))[1:]


def expected_rows(policy, who, name):
    """How many people a search by ``name``'s term exports: the person when the field
    is shown; for the organisation's name, also the colleague (of the same
    organisation, under the same policy; always to themself)."""
    shown = policy[name] in SEES[who]
    # What the viewer is to the colleague: the person is their colleague, and they are themself.
    to_colleague = {"self": "colleague", "colleague": "self"}.get(who, who)
    colleague = name == ProfileField.ORGANISATION and policy[name] in SEES[to_colleague]
    return int(shown) + int(colleague)


def check_export(client, people, policy, who):
    public_field = next(name for name in FIELDS if policy[name] == Audience.PUBLIC)
    if who == "anonymous":
        response = client.get("/people/export.csv", {"q": VALUES[public_field][1]})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        return
    # (the mobile number starts with "+": the export makes it inert for spreadsheets)
    rows = [[cell.removeprefix("'") for cell in row] for row in export_rows(client, VALUES[public_field][1])]
    expected = [VALUES[name][0] if policy[name] in SEES[who] else "" for name in FIELDS]
    assert [row[:len(FIELDS)] for row in rows].count(expected) >= 1, ("export", who, policy, rows)
    assert len(rows) == expected_rows(policy, who, public_field)
    for name in FIELDS:
        assert len(export_rows(client, VALUES[name][1])) == expected_rows(policy, who, name), ("export search", who, name)


@pytest.mark.parametrize("r", range(len(AUDIENCES)), ids=lambda r: f"rotation{r}")
@pytest.mark.parametrize("who", VIEWERS)
def test_matrix(people, who, r):
    policy = rotation(r)
    set_policy(people["home"], policy)
    client = client_of(people, who)
    check_page(client, people, policy, who)
    check_directory_and_search(client, people, policy, who)
    check_export(client, people, policy, who)


@pytest.mark.parametrize("audience", AUDIENCES, ids=lambda a: a.name.lower())
@pytest.mark.parametrize("who", VIEWERS)
def test_every_field_the_same(people, who, audience):
    """All fields for one audience: a viewer outside it finds nothing of the person
    (no page: 404; no search result), one inside it sees every field."""
    set_policy(people["home"], dict.fromkeys(FIELDS, audience))
    client = client_of(people, who)
    sees = audience in SEES[who]
    response = client.get(f"/people/{people['profile'].pk}/")
    assert response.status_code == (200 if sees else 404)
    for name in FIELDS:
        html = client.get("/people/", {"q": VALUES[name][1]}).content.decode()
        assert found(html, people["profile"]) == sees, (who, name)
        if sees:
            assert VALUES[name][0] in html


def test_the_defaults_are_narrow(people):
    """No policy row: name, designation and organisation to verified users; office and
    official address to the organisation; mobile and employee code to its admins."""
    expected = {
        ProfileField.NAME: Audience.VERIFIED, ProfileField.DESIGNATION: Audience.VERIFIED,
        ProfileField.ORGANISATION: Audience.VERIFIED, ProfileField.OFFICE: Audience.ORGANISATION,
        ProfileField.OFFICIAL_EMAIL: Audience.ORGANISATION, ProfileField.MOBILE: Audience.ADMINS,
        ProfileField.EMPLOYEE_CODE: Audience.ADMINS,
    }
    for who in VIEWERS:
        client = client_of(people, who)
        response = client.get(f"/people/{people['profile'].pk}/")
        if who in ("anonymous", "public"):
            assert response.status_code == 404
            continue
        html = response.content.decode()
        for name in FIELDS:
            assert (VALUES[name][0] in html) == (expected[name] in SEES[who]), (who, name)


@pytest.mark.parametrize("who", VIEWERS)
def test_a_person_narrows_and_never_widens(people, who):
    """The person's own choice applies when narrower than the organisation's, and
    changes nothing when wider."""
    policy = dict.fromkeys(FIELDS, Audience.PUBLIC)
    policy[ProfileField.EMPLOYEE_CODE] = Audience.ADMINS
    set_policy(people["home"], policy)
    PersonalVisibility.objects.create(
        user=people["self"], mobile=Audience.ORGANISATION, office=Audience.NOBODY,
        employee_code=Audience.PUBLIC,  # wider than the organisation's: no effect
    )
    effective = {**policy, ProfileField.MOBILE: Audience.ORGANISATION, ProfileField.OFFICE: Audience.NOBODY}
    client = client_of(people, who)
    check_page(client, people, effective, who)
    check_directory_and_search(client, people, effective, who)
    check_export(client, people, effective, who)


def test_the_person_is_not_in_the_directory_unless_verified(people):
    """A pending, rejected or revoked profile is nobody's to find; a suspended one only
    its administrators' (and the person's)."""
    set_policy(people["home"], dict.fromkeys(FIELDS, Audience.PUBLIC))
    profile = people["profile"]
    for status, finders in (("pending", set()), ("revoked", set()), ("suspended", {"admin", "superadmin", "self"})):
        type(profile).objects.filter(pk=profile.pk).update(status=status)
        for who in VIEWERS:
            client = client_of(people, who)
            assert (client.get(f"/people/{profile.pk}/").status_code == 200) == (who in finders), (status, who)
            html = client.get("/people/", {"q": "quillfeath"}).content.decode()
            assert found(html, profile) == (who in finders), (status, who)


# The verification API (/api/v1/verifications): a client is an eGov application, not a
# person, and sees what any verified government user sees (rules.API_CLIENT).
API_SEES = {Audience.PUBLIC, Audience.VERIFIED}
API_FIELDS = {"name": ProfileField.NAME, "designation": ProfileField.DESIGNATION, "office": ProfileField.OFFICE,
              "official_email": ProfileField.OFFICIAL_EMAIL, "mobile": ProfileField.MOBILE,
              "employee_code": ProfileField.EMPLOYEE_CODE}


@pytest.fixture
def api_token(people):
    from api.services import api_client_create
    from tests.verification.helpers import make_admin

    _client, token = api_client_create(organisation_id=people["other"].pk, name="e-Office",
                                       actor=make_admin(people["other"]))
    return token


@pytest.mark.parametrize("r", range(len(AUDIENCES)), ids=lambda r: f"rotation{r}")
@pytest.mark.parametrize("narrowed", [False, True], ids=["policy", "narrowed by the person"])
def test_matrix_through_the_api(people, api_token, r, narrowed):
    from django.core.cache import cache
    from django.test import Client

    cache.clear()  # the API's rate counters
    policy = rotation(r)
    set_policy(people["home"], policy)
    if narrowed:
        # The person keeps their mobile number to their organisation (their address too
        # would leave the API finding them by neither: below).
        PersonalVisibility.objects.create(user=people["self"], mobile=Audience.ORGANISATION)
        policy[ProfileField.MOBILE] = min(policy[ProfileField.MOBILE], Audience.ORGANISATION)
    for by, lookup in ((ProfileField.OFFICIAL_EMAIL, {"email": VALUES[ProfileField.OFFICIAL_EMAIL][0]}),
                       (ProfileField.MOBILE, {"mobile": "9812345670"})):
        response = Client().get("/api/v1/verifications", lookup, HTTP_AUTHORIZATION=f"Bearer {api_token}")
        assert response.status_code == 200
        if policy[by] not in API_SEES:
            # Looked up by a field the client may not see: found by it as nobody is.
            assert response.json() == {"verified": False, "organisation": None, "person": None}, ("api", lookup)
            continue
        person = response.json()["person"]
        for key, name in API_FIELDS.items():
            expected = VALUES[name][0] if policy[name] in API_SEES else None
            assert person[key] == expected, ("api", lookup, key, policy[name])
        # Which organisation they belong to follows its own field ("Organisation") too.
        organisation = response.json()["organisation"]
        if policy[ProfileField.ORGANISATION] in API_SEES:
            assert organisation["name"] == people["home"].name, ("api", lookup, organisation)
        else:
            assert organisation is None, ("api", lookup, policy[ProfileField.ORGANISATION])
