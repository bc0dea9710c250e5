"""The verification models in the Django admin: listed and viewable by a superuser,
never added, changed or deleted there (changes go through the audited services)."""

import pytest

from tests.factories import UserFactory
from tests.onboarding.approval_helpers import signed_in, with_totp
from tests.verification.helpers import GovernmentProfileFactory
from verification.models import AddressConfirmation, GovernmentProfile, VerificationSettings, VerificationStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def root_client():
    root = UserFactory(email="root@nic.in", is_superuser=True, is_staff=True)
    with_totp(root)
    return signed_in(root)


def test_profiles_are_listed_and_shown_read_only(root_client):
    profile = GovernmentProfileFactory(status=VerificationStatus.VERIFIED, official_email="shown@mahaagri.gov.in")
    listing = root_client.get("/admin/verification/governmentprofile/")
    assert listing.status_code == 200 and profile.user.email in listing.content.decode()
    view = root_client.get(f"/admin/verification/governmentprofile/{profile.pk}/change/")
    assert view.status_code == 200 and "shown@mahaagri.gov.in" in view.content.decode()
    assert 'name="_save"' not in view.content.decode() and "/delete/" not in view.content.decode()


@pytest.mark.parametrize("model", [GovernmentProfile, VerificationSettings, AddressConfirmation])
def test_nothing_is_added_changed_or_deleted_in_the_admin(root_client, model):
    name = model._meta.model_name
    assert root_client.get(f"/admin/verification/{name}/").status_code == 200
    assert root_client.get(f"/admin/verification/{name}/add/").status_code == 403


def test_a_profile_cannot_be_changed_or_deleted_in_the_admin(root_client):
    profile = GovernmentProfileFactory(status=VerificationStatus.VERIFIED)
    changed = root_client.post(f"/admin/verification/governmentprofile/{profile.pk}/change/",
                               {"status": "revoked", "designation": "X"})
    assert changed.status_code == 403
    assert root_client.post(f"/admin/verification/governmentprofile/{profile.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = root_client.post("/admin/verification/governmentprofile/", {"action": "delete_selected", "_selected_action": [profile.pk]})
    assert bulk.status_code in (200, 302)
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.VERIFIED and profile.designation != "X"


def test_a_links_hash_is_not_shown(root_client):
    profile = GovernmentProfileFactory(status=VerificationStatus.VERIFIED)
    link = AddressConfirmation.objects.create(profile=profile, token_hash="f" * 64, email="a@b.gov.in",
                                              created_at=profile.verified_at, expires_at=profile.verified_at)
    page = root_client.get(f"/admin/verification/addressconfirmation/{link.pk}/change/").content.decode()
    assert "a@b.gov.in" in page and "f" * 64 not in page


def test_the_admin_names_an_organisations_verification_settings_in_each_language(root_client):
    """The model's name was made plural by Django's default (a trailing "s"): the admin's
    index listed "Verification settingss", in English in every language."""
    for language, name in [("en", "Verification settings"), ("hi", "सत्यापन सेटिंग्स"), ("mr", "पडताळणी सेटिंग्ज")]:
        page = root_client.get("/admin/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert f">{name}<" in page, language
        assert "settingss" not in page
        # The browser's tab names the portal, not "Django site admin".
        assert "Django site admin" not in page


@pytest.mark.parametrize("typed", [
    "shown\u200b@mahaagri.gov.in",  # a zero-width space pasted with the address
    "\u200eshown@mahaagri.gov.in\u200f",  # the direction marks a right-to-left page copies
    "EMP\u00ad-1042",  # a soft hyphen
])
def test_the_admins_searches_take_the_words_as_every_search_of_the_portal_does(root_client, typed):
    """The admin's searches of profiles and address links took the words as typed: an
    address copied with a zero-width space or a direction mark, drawn as nothing, found
    nobody. They are searched as every other search takes them (portal.text.as_searched)."""
    profile = GovernmentProfileFactory(status=VerificationStatus.VERIFIED, official_email="shown@mahaagri.gov.in",
                                       employee_code="EMP-1042")
    GovernmentProfileFactory(status=VerificationStatus.VERIFIED, official_email="other@mahaagri.gov.in",
                             employee_code="EMP-2042")
    listing = root_client.get("/admin/verification/governmentprofile/", {"q": typed})
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [profile]
    link = AddressConfirmation.objects.create(profile=profile, token_hash="f" * 64, email="shown@mahaagri.gov.in",
                                              created_at=profile.verified_at, expires_at=profile.verified_at)
    if "@" in typed:
        listing = root_client.get("/admin/verification/addressconfirmation/", {"q": typed})
        assert list(listing.context["cl"].result_list) == [link]
