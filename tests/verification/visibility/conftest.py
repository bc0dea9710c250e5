"""The people of the visibility tests: a person verified in an organisation, with a
distinctive value in each field (so that a page, a search or an export shows it or
not), and one viewer of each kind."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from portal.organisations.services import organisation_admin_grant
from tests.factories import OrganisationFactory, UserFactory
from tests.onboarding.approval_helpers import make_superadmin
from tests.verification.helpers import GovernmentProfileFactory, make_admin, signed_in
from verification import services
from verification.models import GovernmentProfile, VerificationStatus
from verification.visibility.models import ProfileField, VisibilityPolicy, column_of

# What the person's profile holds, field by field, and a search term that matches that
# field only (no other field of anyone holds it).
VALUES = {
    ProfileField.NAME: ("Zorawar Quillfeather", "quillfeath"),
    ProfileField.DESIGNATION: ("Deputy Zephyrologist", "zephyrolog"),
    ProfileField.ORGANISATION: ("Directorate of Quixotic Records", "quixotic"),
    ProfileField.OFFICE: ("Xylophone Cell", "xylophone"),
    ProfileField.OFFICIAL_EMAIL: ("zq.person@quixrec.gov.in", "zq.person"),
    ProfileField.MOBILE: ("+919812345670", "98123 45670"),
    ProfileField.EMPLOYEE_CODE: ("EMP-QZ-7731", "qz-7731"),
}

VIEWERS = ["anonymous", "public", "outsider", "colleague", "admin", "superadmin", "self"]


@pytest.fixture
def people(db):
    home = OrganisationFactory(name=VALUES[ProfileField.ORGANISATION][0], short_code="DQR")
    other = OrganisationFactory(name="Directorate of Health Services", short_code="DHS", state="KA")
    person = UserFactory(email="zq.person@quixrec.gov.in", full_name=VALUES[ProfileField.NAME][0])
    profile = GovernmentProfileFactory(
        user=person, organisation=home, status=VerificationStatus.VERIFIED,
        **{name.value: VALUES[name][0] for name in ProfileField if name not in (ProfileField.NAME, ProfileField.ORGANISATION)},
    )
    outsider = UserFactory(email="outsider@karhealth.gov.in", full_name="Out Sider")
    GovernmentProfileFactory(user=outsider, organisation=other, status=VerificationStatus.VERIFIED)
    colleague = UserFactory(email="colleague@quixrec.gov.in", full_name="Col League")
    GovernmentProfileFactory(user=colleague, organisation=home, status=VerificationStatus.VERIFIED)
    return {
        "home": home, "other": other, "profile": profile,
        "anonymous": None,
        "public": UserFactory(email="someone@gmail.com", full_name="Pub Lic"),
        "outsider": outsider,
        "colleague": colleague,
        "admin": make_admin(home, email="admin@quixrec.gov.in", full_name="Ad Min"),
        "superadmin": make_superadmin(email="root@sandes.nic.in"),
        "self": person,
    }


def client_of(people, who):
    return Client() if who == "anonymous" else signed_in(people[who])


def set_policy(organisation, audiences):
    """The organisation's policy, written directly ({field: Audience})."""
    VisibilityPolicy.objects.update_or_create(
        organisation=organisation, defaults={column_of(name): int(value) for name, value in audiences.items()}
    )


def lapsed_admin(people):
    """Ravi, verified in ``other`` and made its admin (by its first admin) as a verified
    member, then past his date of superannuation: the hourly job has not yet ended the
    verification, nor the role resting on it. Returns him (read again) and the first admin."""
    other = people["other"]
    first_admin = make_admin(other, email="first@karhealth.gov.in", full_name="First Admin")
    ravi = UserFactory(email="ravi@karhealth.gov.in", full_name="Ravi Rao")
    held = GovernmentProfileFactory(user=ravi, organisation=other, official_email=ravi.email)
    services.join_request_decide(profile_id=held.pk, decision="verify", actor=first_admin)
    organisation_admin_grant(organisation_id=other.pk, user_id=ravi.pk, actor=first_admin)
    GovernmentProfile.objects.filter(pk=held.pk).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    return type(ravi).objects.get(pk=ravi.pk), first_admin
