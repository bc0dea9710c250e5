"""Error pages use the portal's layout and the reader's language."""

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client

from tests.factories import UserFactory
from tests.html_tree import html_problems

pytestmark = pytest.mark.django_db


def test_404_in_the_portal_layout_and_in_hindi(client):
    response = client.get("/onboarding/999999/", HTTP_ACCEPT_LANGUAGE="hi")
    assert response.status_code == 302  # signed out: sign in first
    user_client = Client(HTTP_ACCEPT_LANGUAGE="hi")
    user_client.force_login(UserFactory())
    response = user_client.get("/onboarding/999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert '<html lang="hi">' in html
    assert "पृष्ठ नहीं मिला" in html
    assert html_problems(html) == []


def test_403_in_the_portal_layout(client):
    user_client = Client()
    user_client.force_login(UserFactory())
    response = user_client.get("/portal/email-rules/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You are not allowed to do this" in html
    assert html_problems(html) == []


def test_500_page_needs_no_context():
    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html and "त्रुटि" in html
    assert html_problems(html) == []


@pytest.mark.parametrize(("language", "heading"), [("en", "Too many requests"), ("hi", "बहुत अधिक अनुरोध"),
                                                   ("mr", "खूप जास्त विनंत्या")])
def test_429_of_allauths_rate_limits_in_the_portal_layout_and_the_readers_language(language, heading):
    cache.clear()
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    for attempt in range(21):  # sign-up: 20 a minute from one client address
        response = client.post("/accounts/signup/", {"email": f"p{attempt}@example.com", "password1": "x", "password2": "y"})
    assert response.status_code == 429
    html = response.content.decode()
    assert f'<html lang="{language}">' in html and "Too Many Requests" not in html
    assert html.count("<h1") == 1 and f"<h1>{heading}</h1>" in html
    assert html_problems(html) == []
    cache.clear()
