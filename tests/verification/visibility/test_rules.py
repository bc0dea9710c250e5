"""The rules' own bounds: a search's candidates per field are capped (PostgreSQL), so
that a search matching a great many people costs what one matching the cap does."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.utils import timezone

from portal.organisations.models import OrganisationStatus
from tests.factories import UserFactory
from tests.verification.helpers import GovernmentProfileFactory
from tests.verification.visibility.conftest import client_of, set_policy
from verification.models import GovernmentProfile, VerificationStatus
from verification.visibility import rules
from verification.visibility.models import Audience, PersonalVisibility, ProfileField, VisibilityPolicy, column_of

pytestmark = pytest.mark.django_db


def test_each_fields_candidates_are_capped(people, monkeypatch):
    monkeypatch.setattr(rules, "CANDIDATES_PER_FIELD", 3)
    set_policy(people["home"], dict.fromkeys(ProfileField, Audience.PUBLIC))
    for i in range(8):
        GovernmentProfileFactory(organisation=people["home"], status=VerificationStatus.VERIFIED,
                                 designation="Bounded Clerk", user=UserFactory(full_name=f"Person {i}"))
    html = client_of(people, "colleague").get("/people/", {"q": "bounded clerk"}).content.decode()
    found = len(re.findall(r'href="/people/\d+/"', html))
    assert found == (3 if connection.features.supports_slicing_ordering_in_compound else 8)


# The rules on fetched values (the verification API's one query) ------------------------------

COMBINATIONS = [(policy, own) for policy in Audience for own in (None, *Audience)]


@pytest.mark.parametrize("viewer", [rules.API_CLIENT, rules.Viewer(user=AnonymousUser())], ids=["api", "anonymous"])
@pytest.mark.parametrize("status", [VerificationStatus.VERIFIED, VerificationStatus.SUSPENDED])
def test_visible_fetched_decides_as_visible_profile(people, viewer, status):
    """Every field under every organisation policy and personal choice (and without a
    policy row, or a personal row): the decision on fetched values is the SQL one."""
    profile = people["profile"]
    GovernmentProfile.objects.filter(pk=profile.pk).update(status=status)
    rounds = [None, *range(len(COMBINATIONS))]  # None: neither row exists
    for shift in rounds:
        VisibilityPolicy.objects.filter(organisation=people["home"]).delete()
        PersonalVisibility.objects.filter(user=people["self"]).delete()
        if shift is not None:
            chosen = {name: COMBINATIONS[(shift + i * 7) % len(COMBINATIONS)] for i, name in enumerate(rules.FIELDS)}
            set_policy(people["home"], {name: policy for name, (policy, _own) in chosen.items()})
            PersonalVisibility.objects.create(
                user=people["self"], **{column_of(name): own for name, (_policy, own) in chosen.items()})
        row = GovernmentProfile.objects.filter(pk=profile.pk).values(*rules.FETCHED).get()
        fetched, in_sql = rules.visible_fetched(viewer, row), rules.visible_profile(viewer, profile.pk)
        assert (fetched is None) == (in_sql is None), shift
        if in_sql is not None:
            assert fetched.values == in_sql.values, shift
            assert (fetched.pk, fetched.status, fetched.status_label, fetched.is_self) == (
                in_sql.pk, in_sql.status, in_sql.status_label, in_sql.is_self)


def test_visible_fetched_is_not_for_a_person(people):
    row = GovernmentProfile.objects.filter(pk=people["profile"].pk).values(*rules.FETCHED).get()
    with pytest.raises(ValueError):
        rules.visible_fetched(rules.viewer_of(people["outsider"]), row)


@pytest.mark.parametrize("how", ["organisation suspended", "past superannuation"])
def test_a_verification_not_in_force_is_listed_to_nobody_and_vouches_for_no_viewer(people, how):
    """A verification the organisation no longer stands behind (it is suspended), or past
    the date of superannuation (before the hourly job writes it down): its person is not
    listed as verified, and does not see what verified users see."""
    outsider = people["outsider"]
    assert rules.viewer_of(type(outsider).objects.get(pk=outsider.pk)).verified
    assert rules.listed(rules.viewer_of(outsider)).filter(pk=people["profile"].pk).exists()
    if how == "organisation suspended":
        people["other"].status = OrganisationStatus.SUSPENDED
        people["other"].save(update_fields=["status"])
    else:
        GovernmentProfile.objects.filter(user=outsider).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    fresh = type(outsider).objects.get(pk=outsider.pk)
    assert not rules.viewer_of(fresh).verified
    superadmin = rules.viewer_of(people["superadmin"])
    assert not rules.listed(superadmin).filter(user=outsider).exists()
