"""Writes of visibility: an organisation's policy by its admins only, a person's own
choices (narrower only), each change one audit event with old and new values; the
export's audit event and its inert cells."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal.audit.models import AuditAction, AuditEvent
from portal.csv_files import neutralise
from tests.factories import PlatformRoleFactory
from tests.verification.helpers import make_admin
from tests.verification.visibility.conftest import lapsed_admin
from verification.visibility import services
from verification.visibility.models import Audience, PersonalVisibility, ProfileField, VisibilityPolicy
from verification.visibility.rules import visible_profile

pytestmark = pytest.mark.django_db


def test_an_admin_sets_the_policy_and_the_change_is_audited(people):
    services.visibility_policy_set(organisation_id=people["home"].pk, actor=people["admin"],
                                   audiences={ProfileField.MOBILE: Audience.PUBLIC, ProfileField.NAME: Audience.VERIFIED})
    policy = VisibilityPolicy.objects.get(organisation=people["home"])
    assert policy.mobile == Audience.PUBLIC and policy.changed_by == people["admin"]
    event = AuditEvent.objects.get(action=AuditAction.VISIBILITY_POLICY_CHANGED)
    # Only what changed (the name was already for verified users), by the audience's name.
    assert event.old_values == {"mobile": "admins"} and event.new_values == {"mobile": "public"}
    assert event.actor_email == people["admin"].email and event.target_id == str(people["home"].pk)
    # The same again: nothing changes, nothing is recorded.
    services.visibility_policy_set(organisation_id=people["home"].pk, actor=people["admin"],
                                   audiences={ProfileField.MOBILE: Audience.PUBLIC})
    assert AuditEvent.objects.filter(action=AuditAction.VISIBILITY_POLICY_CHANGED).count() == 1


def test_an_admin_made_an_auditor_meanwhile_sets_no_policy(people):
    """The request read the admin's roles, then another made them an auditor (read-only): the
    policy is not changed, the roles asked again under the organisation's lock."""
    from portal import permissions
    from portal.accounts.models import User
    from portal.organisations.services import platform_role_grant

    make_admin(people["home"], email="deputy@quixrec.gov.in")
    admin = User.objects.get(pk=people["admin"].pk)
    assert permissions.administers_some_organisation_by_right(admin)  # read by the request
    platform_role_grant(user=User.objects.get(pk=admin.pk), role="auditor", jurisdiction="",
                        actor=User.objects.get(pk=people["superadmin"].pk), reason="Audit cell")
    with pytest.raises(PermissionDenied):
        services.visibility_policy_set(organisation_id=people["home"].pk, actor=admin,
                                       audiences={ProfileField.MOBILE: Audience.PUBLIC})
    assert not VisibilityPolicy.objects.filter(organisation=people["home"], mobile=Audience.PUBLIC).exists()


def test_an_admin_above_and_a_superadmin_may_too(people):
    from tests.factories import OrganisationFactory

    office = OrganisationFactory(parent=people["home"])
    services.visibility_policy_set(organisation_id=office.pk, actor=people["admin"],
                                   audiences={ProfileField.OFFICE: Audience.NOBODY})
    services.visibility_policy_set(organisation_id=office.pk, actor=people["superadmin"],
                                   audiences={ProfileField.OFFICE: Audience.ADMINS})
    assert VisibilityPolicy.objects.get(organisation=office).office == Audience.ADMINS


@pytest.mark.parametrize("who", ["public", "outsider", "colleague", "self", "auditor", "other_admin"])
def test_nobody_else_sets_the_policy(people, who):
    if who == "auditor":
        # An auditor who is also an admin of the organisation stays read-only.
        actor = make_admin(people["home"])
        PlatformRoleFactory(user=actor, role="auditor", jurisdiction="")
    elif who == "other_admin":
        actor = make_admin(people["other"])
    else:
        actor = people[who]
    with pytest.raises(PermissionDenied):
        services.visibility_policy_set(organisation_id=people["home"].pk, actor=actor,
                                       audiences={ProfileField.MOBILE: Audience.PUBLIC})
    assert not VisibilityPolicy.objects.exists() and not AuditEvent.objects.filter(
        action=AuditAction.VISIBILITY_POLICY_CHANGED).exists()


def test_unknown_fields_and_audiences_are_refused(people):
    for audiences in ({"photo": Audience.PUBLIC}, {ProfileField.MOBILE: 35}, {ProfileField.MOBILE: None}):
        with pytest.raises(ValidationError):
            services.visibility_policy_set(organisation_id=people["home"].pk, actor=people["admin"], audiences=audiences)


def test_a_person_narrows_their_own_and_it_is_audited(people):
    services.personal_visibility_set(choices={ProfileField.NAME: Audience.ORGANISATION}, actor=people["self"])
    row = PersonalVisibility.objects.get(user=people["self"])
    assert row.name == Audience.ORGANISATION
    event = AuditEvent.objects.get(action=AuditAction.PERSONAL_VISIBILITY_CHANGED)
    assert event.old_values == {"name": None} and event.new_values == {"name": "organisation"}
    assert visible_profile(people["outsider"], people["profile"]).name is None
    assert visible_profile(people["colleague"], people["profile"]).name == "Zorawar Quillfeather"
    # Back to the organisation's choice.
    services.personal_visibility_set(choices={ProfileField.NAME: None}, actor=people["self"])
    assert visible_profile(people["outsider"], people["profile"]).name == "Zorawar Quillfeather"


def test_the_form_refuses_to_widen(people):
    from verification.visibility.forms import PersonalVisibilityForm

    policy = services.visibility_policy_of(people["home"])  # the defaults: mobile for admins
    form = PersonalVisibilityForm({"mobile": str(int(Audience.PUBLIC))}, policy=policy)
    assert not form.is_valid() and "mobile" in form.errors
    form = PersonalVisibilityForm({"mobile": str(int(Audience.NOBODY))}, policy=policy)
    assert form.is_valid() and form.choices()[ProfileField.MOBILE] == Audience.NOBODY


@pytest.mark.parametrize("value, expected", [
    ("=1+2", "'=1+2"), ("+919812345670", "'+919812345670"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("Asha", "Asha"), (None, ""), ("a=b", "a=b"),
])
def test_export_cells_are_inert(value, expected):
    assert neutralise(value) == expected


def test_export_is_audited_with_the_search_and_count(people):
    from tests.verification.visibility.conftest import client_of

    client_of(people, "colleague").get("/people/export.csv", {"q": "quillfeath"})
    event = AuditEvent.objects.get(action=AuditAction.DIRECTORY_EXPORTED)
    assert event.new_values == {"query": "quillfeath", "rows": 1} and event.actor_email == people["colleague"].email


def test_a_lapsed_admin_may_not_set_the_policy(people):
    """A right is checked again when used: an admin whose role rests on a verification
    past its date of superannuation is refused before the hourly job ends the role."""
    ravi, _first_admin = lapsed_admin(people)
    with pytest.raises(PermissionDenied):
        services.visibility_policy_set(organisation_id=people["other"].pk, actor=ravi,
                                       audiences={ProfileField.MOBILE: Audience.PUBLIC})
    assert not VisibilityPolicy.objects.filter(organisation=people["other"]).exists()
