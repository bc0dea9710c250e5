"""The language the portal writes to a person in when they are not on a page: the one
they last chose on its pages while signed in (the account keeps it), before any other
it knows; the superadmins' mail in English and theirs (Hindi when it is not known)."""

import re
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone, translation

from portal.audit import publish
from portal.organisations.notifications import build_role_mail, people_known_languages, person_language
from tests.factories import PlatformRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

DEVANAGARI = re.compile(r"[\u0900-\u097F]")


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def chosen(user, language):
    return signed_in(user).post("/i18n/setlang/", {"language": language, "next": "/portal/"})


def no_language_known(user):
    user.refresh_from_db()
    return user.language == "" and people_known_languages([user.pk]) == {}


def test_a_language_chosen_signed_in_is_the_one_the_person_is_written_to_in():
    user = UserFactory()
    response = chosen(user, "mr")
    assert response.status_code == 302 and response["Location"] == "/portal/"
    user.refresh_from_db()
    assert user.language == "mr" and person_language(user.pk) == "mr"
    message = build_role_mail(user=user, template="superuser_granted", context={})
    with translation.override("mr"):
        assert message.subject == build_role_mail(user=user, template="superuser_granted", context={}).subject
    with translation.override("en"):
        english = build_role_mail(user=UserFactory(), template="superuser_granted", context={}).subject
    assert message.subject != english and DEVANAGARI.search(message.subject)


def test_the_latest_choice_counts_and_english_is_a_choice_too():
    user = UserFactory()
    chosen(user, "hi")
    chosen(user, "en")
    user.refresh_from_db()
    assert user.language == "en" and people_known_languages([user.pk]) == {user.pk: "en"}


def test_a_choice_made_signed_out_or_of_a_language_the_portal_lacks_changes_no_account():
    user = UserFactory()
    Client().post("/i18n/setlang/", {"language": "mr", "next": "/"})
    chosen(user, "fr")
    chosen(user, "x" * 5000)
    assert no_language_known(user)


def test_a_choice_asked_by_get_changes_nothing():
    """A link (an image, another site's page) cannot change anyone's language of mail."""
    user = UserFactory()
    signed_in(user).get("/i18n/setlang/", {"language": "mr", "next": "/"})
    user.refresh_from_db()
    assert user.language == ""


def test_each_superadmin_is_mailed_in_english_and_their_own_language_else_hindi(mailoutbox):
    marathi = PlatformRoleFactory(user=UserFactory(email="meera.superadmin@nic.in"), role="superadmin",
                                  jurisdiction="").user
    PlatformRoleFactory(user=UserFactory(email="asha.superadmin@nic.in"), role="superadmin", jurisdiction="")
    chosen(marathi, "mr")
    head = SimpleNamespace(last_event_id=42, last_hash="ab" * 32, count=7)
    context = {"head": head, "sealed": True, "published_at": timezone.now()}
    messages = {message.to[0]: message for message in publish.superadmin_messages(
        template="audit/email/head_published", context=context)}
    halves = {to: message.body.partition("\n----------\n") for to, message in messages.items()}
    for language, to in (("mr", "meera.superadmin@nic.in"), ("hi", "asha.superadmin@nic.in")):
        with translation.override(language):
            expected = publish.superadmin_mail(to=to, template="audit/email/head_published", context=context,
                                               language=language)
        assert messages[to].body == expected.body and messages[to].subject == expected.subject
        assert "Events in the log then: 7." in halves[to][0] and DEVANAGARI.search(halves[to][2])
    assert messages["meera.superadmin@nic.in"].body != messages["asha.superadmin@nic.in"].body


def test_the_language_is_in_the_persons_own_data_and_gone_with_the_account():
    from portal.privacy.personal_data import _account
    from portal.privacy.requests import person_erase

    user = UserFactory()
    chosen(user, "hi")
    user.refresh_from_db()
    assert _account(user)["language"] == "hi"
    person_erase(user_id=user.pk, actor=None)
    assert no_language_known(user)


def test_the_persons_data_page_says_which_language_they_are_written_to_in():
    user = UserFactory()
    client = signed_in(user)
    assert "Choose a language at the top of the portal's pages while signed in" in client.get(
        "/privacy/my-data/").content.decode()
    client.post("/i18n/setlang/", {"language": "mr", "next": "/"})
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "the work waiting for you is written in English, the language you last chose" in client.get(
        "/privacy/my-data/").content.decode()
    chosen(user, "hi")  # another session of the same account
    page = client.get("/privacy/my-data/", headers={"accept-language": "en"}).content.decode()
    assert "the work waiting for you is written in Hindi (after English" in page
