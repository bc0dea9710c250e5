"""The rules' own bounds: a search's candidates per field are capped (PostgreSQL), so
that a search matching a great many people costs what one matching the cap does."""

import re

import pytest
from django.db import connection

from tests.factories import UserFactory
from tests.verification.helpers import GovernmentProfileFactory
from tests.verification.visibility.conftest import client_of, set_policy
from verification.models import VerificationStatus
from verification.visibility import rules
from verification.visibility.models import Audience, ProfileField

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
