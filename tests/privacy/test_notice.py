"""The versioned data protection notice: published by superadmins (audited), asked
again at the next sign-in when a new version is out (the page first asked for kept),
each acceptance stored with its version and time and shown to the person."""

import pytest
from django.test import Client

from portal.audit.models import AuditAction, AuditEvent
from portal.privacy.models import NoticeAcceptance, PrivacyNotice
from portal.privacy.notice import notice_publish
from tests.factories import PASSWORD, UserFactory
from tests.html_tree import field_error, field_value, parse
from tests.onboarding.approval_helpers import make_superadmin, second_factor_given

pytestmark = pytest.mark.django_db


@pytest.fixture
def root():
    return make_superadmin(email="root@sandes.nic.in")


@pytest.fixture
def person():
    return UserFactory(email="asha@mha.gov.in")


def sign_in(user):
    client = Client()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_with_no_version_published_nobody_is_asked(person):
    client = sign_in(person)
    assert client.get("/onboarding/").status_code == 200


def test_a_new_version_is_asked_at_the_next_sign_in_keeping_the_page_asked_for(root, person):
    notice = notice_publish(version="2026.2", body_en="We keep your details.\n\nYou may ask us to erase them.",
                            actor=root)
    client = sign_in(person)
    response = client.get("/onboarding/?page=2")
    assert response.status_code == 302 and response["Location"] == "/privacy/notice/accept/?next=%2Fonboarding%2F%3Fpage%3D2"
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"You may ask us to erase them." in page.content
    # Not ticked: refused at the field, still asked.
    refused = client.post("/privacy/notice/accept/", {"next": "/onboarding/?page=2", "notice": notice.pk})
    assert refused.status_code == 200 and b"This field is required." in refused.content
    accepted = client.post("/privacy/notice/accept/", {"next": "/onboarding/?page=2", "notice": notice.pk,
                                                           "accept": "on"})
    assert accepted.status_code == 302 and accepted["Location"] == "/onboarding/?page=2"
    acceptance = NoticeAcceptance.objects.get(user=person)
    assert acceptance.notice.version == "2026.2" and acceptance.accepted_at is not None
    assert client.get("/onboarding/").status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.PRIVACY_NOTICE_ACCEPTED)
    assert (event.actor_id, event.new_values) == (person.pk, {"version": "2026.2"})
    # The next sign-in asks nothing; a newer version asks again.
    assert sign_in(person).get("/onboarding/").status_code == 200
    notice_publish(version="2026.3", body_en="A changed notice.", actor=root)
    assert sign_in(person).get("/onboarding/")["Location"].startswith("/privacy/notice/accept/")
    # The person sees what they accepted.
    mine = client.get("/privacy/notice/")
    assert b"Version 2026.2, accepted" in mine.content and b"A changed notice." in mine.content


def test_accepting_records_the_version_shown_not_one_published_meanwhile(root, person):
    """The page was open on one version while a superadmin published the next: accepting
    records nothing and shows the new text to accept, the box not ticked."""
    shown = notice_publish(version="2026.2", body_en="Version two text.", actor=root)
    client = sign_in(person)
    page = client.get("/privacy/notice/accept/?next=/onboarding/")
    assert b"Version two text." in page.content and f'name="notice" value="{shown.pk}"'.encode() in page.content
    newer = notice_publish(version="2026.3", body_en="Version three text.", actor=root)
    response = client.post("/privacy/notice/accept/", {"next": "/onboarding/", "notice": shown.pk, "accept": "on"})
    assert response.status_code == 200, response.status_code
    assert not NoticeAcceptance.objects.filter(user=person).exists()
    html = response.content.decode()
    assert "Version three text." in html and "Nothing was recorded" in html
    assert f'name="notice" value="{newer.pk}"' in html and "checked" not in html
    accepted = client.post("/privacy/notice/accept/", {"next": "/onboarding/", "notice": newer.pk, "accept": "on"})
    assert accepted.status_code == 302
    assert list(NoticeAcceptance.objects.filter(user=person).values_list("notice__version", flat=True)) == ["2026.3"]


def test_next_is_never_another_site(root, person):
    notice = notice_publish(version="2026.2", body_en="Text.", actor=root)
    client = sign_in(person)
    response = client.post("/privacy/notice/accept/", {"next": "https://evil.example/", "notice": notice.pk,
                                                       "accept": "on"})
    assert response["Location"] == "/"


def test_the_notice_in_hindi_falls_back_to_english(root):
    notice = notice_publish(version="2026.2", body_en="English text.", body_hi="हिंदी पाठ।", actor=root)
    assert notice.paragraphs_in("hi") == ["हिंदी पाठ।"] and notice.paragraphs_in("mr") == ["English text."]


def test_superadmins_publish_versions_audited_and_never_reuse_one(root):
    someone = Client()
    someone.login(email=UserFactory(email="x@mha.gov.in").email, password=PASSWORD)
    assert someone.get("/portal/privacy/notice/").status_code == 403
    client = Client()
    client.login(email=root.email, password=PASSWORD)
    second_factor_given(client, root)
    # Published, a version is never changed and everyone must accept it: confirmed with a box first.
    unconfirmed = client.post("/portal/privacy/notice/", {"version": "2026.2", "body_en": "Text one."})
    assert unconfirmed.status_code == 200 and not PrivacyNotice.objects.filter(version="2026.2").exists()
    tree = parse(unconfirmed.content.decode())
    assert field_error(tree, "confirm") == "Tick the box to publish this version."
    assert field_value(tree, "version") == "2026.2" and field_value(tree, "body_en") == "Text one."
    response = client.post("/portal/privacy/notice/", {"version": "2026.2", "body_en": "Text one.", "confirm": "on"})
    assert response.status_code == 302
    again = client.post("/portal/privacy/notice/", {"version": "2026.2", "body_en": "Text two.", "confirm": "on"})
    assert again.status_code == 200 and b"This version was published already" in again.content
    assert b"Text two." in again.content
    bad = client.post("/portal/privacy/notice/", {"version": "two words", "body_en": ""})
    assert b"Use only letters, digits, dots and dashes." in bad.content and b"This field is required." in bad.content
    assert list(PrivacyNotice.objects.values_list("version", "body_en")) == [("2026.2", "Text one.")]
    event = AuditEvent.objects.get(action=AuditAction.PRIVACY_NOTICE_PUBLISHED)
    assert event.new_values == {"version": "2026.2", "characters": 9}


@pytest.mark.parametrize("size", [1, 6])
def test_the_versions_page_takes_constant_queries(root, size, django_assert_num_queries):
    for i in range(size):
        notice = notice_publish(version=f"2026.{i + 2}", body_en="Text.", actor=root)
        NoticeAcceptance.objects.create(user=UserFactory(), notice=notice, accepted_at=notice.published_at)
    current = PrivacyNotice.objects.first()
    NoticeAcceptance.objects.create(user=root, notice=current, accepted_at=current.published_at)
    client = Client()
    client.force_login(root)
    second_factor_given(client, root)
    # The same at 1 and 6 versions: the session, the user with what the access rule, the layout and the
    # MFA middleware read (one query), the notice in force, the versions.
    with django_assert_num_queries(4):
        assert client.get("/portal/privacy/notice/").status_code == 200


def test_a_publishing_page_left_open_does_not_drop_the_text_of_a_version_published_meanwhile(root):
    """The page fills its boxes with the version in force (2026.1); another superadmin
    publishes 2026.2 (a paragraph added); the first, from the page still showing 2026.1,
    published 2026.3 without that paragraph, unseen. It is now refused, what was typed kept."""
    from tests.html_tree import form_as_sent

    first = notice_publish(version="2026.1", body_en="We keep your name.", actor=root)
    NoticeAcceptance.objects.create(user=root, notice=first, accepted_at=first.published_at)
    client = Client()
    client.login(email=root.email, password=PASSWORD)
    second_factor_given(client, root)
    opened = parse(client.get("/portal/privacy/notice/").content.decode())
    assert field_value(opened, "body_en") == "We keep your name."
    notice_publish(version="2026.2", body_en="We keep your name.\n\nYou may complain to the Board.",
                   actor=make_superadmin(email="root.b@sandes.nic.in"))
    typed = form_as_sent(opened, version="2026.3", body_en="We keep your name and address.", confirm="on")
    response = client.post("/portal/privacy/notice/", typed)
    assert response.status_code == 200
    assert not PrivacyNotice.objects.filter(version="2026.3").exists()
    again = parse(response.content.decode())
    assert "version 2026.2 was published by someone else" in again.by_id("error-summary").squashed_text()
    assert field_value(again, "body_en") == "We keep your name and address."
    assert client.post("/portal/privacy/notice/", form_as_sent(again, confirm="on")).status_code == 302
    assert PrivacyNotice.objects.filter(version="2026.3").exists()


def test_a_version_published_twice_from_one_page_is_said_published_already(root):
    """The second "Publish" of the same page finds the version it published: said so, not
    blamed on someone else publishing meanwhile."""
    from tests.html_tree import form_as_sent

    first = notice_publish(version="2026.1", body_en="We keep your name.", actor=root)
    NoticeAcceptance.objects.create(user=root, notice=first, accepted_at=first.published_at)
    client = Client()
    client.force_login(root)
    second_factor_given(client, root)
    typed = form_as_sent(parse(client.get("/portal/privacy/notice/").content.decode()), version="2026.2",
                         body_en="We keep your name and address.", confirm="on")
    assert client.post("/portal/privacy/notice/", typed).status_code == 302
    again = parse(client.post("/portal/privacy/notice/", typed).content.decode())
    assert field_error(again, "version") == "This version was published already: give the new text a new version."
    assert PrivacyNotice.objects.filter(version="2026.2").count() == 1
