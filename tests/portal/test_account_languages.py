"""allauth has no Hindi or Marathi catalogue: what it says on the account pages comes
from the portal's (portal/locale_overrides.py). Walked here: its adapters' error
messages and the messages its pages show, the account pages of a first use, and the
two-factor, sign-out and inactive account pages with what their buttons do."""

import os
import re

import allauth
import pytest
from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation

from tests.factories import PASSWORD, UserFactory
from tests.html_tree import field_error
from tests.html_tree import page as tree_of
from tests.onboarding.approval_helpers import totp_code, with_totp
from tests.smtp import text_of

LANGUAGES = ["hi", "mr"]
NEW_PASSWORD = "a-long-enough-passphrase"
# allauth's message templates for what the portal does not use: phone numbers, security
# keys (settings.MFA_SUPPORTED_TYPES), sign-in by a mailed code, and usersessions.
UNUSED_MESSAGES = {"phone_verification_sent.txt", "phone_verified.txt", "login_code_sent.txt",
                   "webauthn_added.txt", "webauthn_removed.txt"}
ENGLISH = re.compile(r"\b(?:You|Your|Please|Too many|Incorrect|Password|Be patient)\b[^<]*")


def in_language(language, text):
    """``text`` (a message, or a lazy one) in ``language``."""
    with translation.override(language):
        return translation.gettext(text) if isinstance(text, str) else str(text)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("adapter", "code"), [
    *((DefaultAccountAdapter, code) for code in DefaultAccountAdapter.error_messages),
    *((DefaultMFAAdapter, code) for code in DefaultMFAAdapter.error_messages),
])
def test_every_error_message_of_allauths_adapters_is_translated(adapter, code, language):
    message = adapter.error_messages[code]
    assert in_language(language, message) != in_language("en", message)


def allauth_messages():
    root = os.path.join(os.path.dirname(allauth.__file__), "templates")
    for folder in ("account/messages", "mfa/messages"):
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if name not in UNUSED_MESSAGES:
                yield f"{folder}/{name}"


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", list(allauth_messages()))
def test_every_message_allauths_pages_show_is_translated(template, language):
    context = {"email": "asha.k@mahaagri.gov.in", "user": UserFactory.build(email="asha.k@mahaagri.gov.in")}
    with translation.override("en"):
        english = render_to_string(template, context).strip()
    with translation.override(language):
        translated = render_to_string(template, context).strip()
    assert translated != english
    assert not [line for line in english.splitlines() if line.strip() and line.strip() in translated]


def squashed(response):
    return re.sub(r"\s+", " ", response.content.decode())


def signed_up(client, address, smtp_server, capture):
    """Sign up and confirm the address with the code from the delivered mail; the page
    that follows."""
    with capture(execute=True):
        response = client.post("/accounts/signup/", {"email": address, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    code = re.search(r"\n\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*\n", text_of(smtp_server.messages[-1]))[1]
    return client.post(response["Location"], {"code": code}, follow=True)


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_account_pages_of_a_first_use_say_nothing_in_english(language, smtp_server,
                                                                 django_capture_on_commit_callbacks):
    cache.clear()
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    confirmed = squashed(signed_up(client, "new.person@mahaagri.gov.in", smtp_server, django_capture_on_commit_callbacks))
    assert in_language(language, "You have confirmed %(email)s.") % {"email": "new.person@mahaagri.gov.in"} in confirmed

    wrong = squashed(client.post("/accounts/password/change/", {
        "oldpassword": "not-the-password", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}))
    assert in_language(language, "Please type your current password.") in wrong

    changed = squashed(client.post("/accounts/password/change/", {
        "oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, follow=True))
    assert in_language(language, "Password successfully changed.") in changed

    UserFactory(email="someone@mahaagri.gov.in")
    stranger = Client(HTTP_ACCEPT_LANGUAGE=language)
    for _attempt in range(6):  # five failed sign-ins per address in five minutes
        refused = squashed(stranger.post("/accounts/login/", {"login": "someone@mahaagri.gov.in", "password": "wrong"}))
    assert in_language(language, "Too many failed login attempts. Try again later.") in refused

    for page in (confirmed, wrong, changed, refused):
        main = page.split("<main", 1)[1].split("</main>", 1)[0]
        assert ENGLISH.findall(main) == []
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_pages_that_ask_again_who_the_person_is_say_nothing_in_english(language):
    """Before an account's addresses change: the password page, and the authenticator's
    for an account that has one, each offering the other."""
    from tests.onboarding.approval_helpers import with_totp

    cache.clear()
    person = UserFactory(email="asha.k@mahaagri.gov.in")
    with_totp(person)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(person)
    response = client.post("/accounts/email/", {"action_add": "", "email": "asha.new@mahaagri.gov.in"})
    assert response["Location"] == "/accounts/reauthenticate/?next=%2Faccounts%2Femail%2F"
    by_password = squashed(client.get(response["Location"]))
    by_code = squashed(client.get("/accounts/2fa/reauthenticate/?next=%2Faccounts%2Femail%2F"))
    shared = ["Confirm Access", "Please reauthenticate to safeguard your account.", "Alternative options", "Confirm"]
    for page, own in ((by_password, ["Enter your password:", "Password", "Use authenticator app or code"]),
                      (by_code, ["Enter an authenticator code:", "Code", "Use your password"])):
        main = page.split("<main", 1)[1].split("</main>", 1)[0]
        for text in shared + own:
            assert in_language(language, text) != text and in_language(language, text) in main, text
            assert f">{text}<" not in main.replace("> ", ">").replace(" <", "<"), text
        assert ENGLISH.findall(main) == []
    cache.clear()


def in_main(language, response, english_texts):
    """The texts of allauth's page in ``response``: each in ``language`` in its <main>, none in English."""
    assert response.status_code == 200
    main = tree_of(response).find("main")
    text = main.squashed_text()
    for english in english_texts:
        translated = in_language(language, english)
        assert translated != english and translated in text, english
        assert english not in text, english
    return main


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("enrolled", ["nothing", "authenticator", "authenticator and codes"])
def test_the_two_factor_page_is_in_the_persons_language_with_its_actions(enrolled, language):
    """/accounts/2fa/, where a person sees and manages their second factor: allauth's
    page, its panels drawn as the portal's cards (templates/allauth/elements/panel.html)."""
    cache.clear()
    person = UserFactory(email="asha.k@mahaagri.gov.in")
    if enrolled != "nothing":
        with_totp(person)
    if enrolled == "authenticator and codes":
        RecoveryCodes.activate(person)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(person)
    response = client.get("/accounts/2fa/")
    texts = {
        "nothing": ["An authenticator app is not active.", "Activate"],
        "authenticator": ["Authentication using an authenticator app is active.", "Deactivate",
                          "No recovery codes set up.", "Generate"],
        "authenticator and codes": ["Authentication using an authenticator app is active.", "Deactivate", "View",
                                    "Download", "Generate"],
    }[enrolled]
    main = in_main(language, response, ["Two-Factor Authentication", "Authenticator App", "Recovery Codes", *texts])
    assert tree_of(response).find("title").squashed_text().startswith(in_language(language, "Two-Factor Authentication"))
    assert len(main.find_all("h1")) == 1
    cards = main.find_all("section", class_="card")
    assert [card.find("h2").squashed_text() for card in cards] == [
        in_language(language, "Authenticator App"), in_language(language, "Recovery Codes")]
    links = {a.squashed_text(): a.get("href") for a in main.find_all("a") if "btn" in a.get("class", "")}
    expected = {
        "nothing": {"Activate": "/accounts/2fa/totp/activate/"},
        "authenticator": {"Deactivate": "/accounts/2fa/totp/deactivate/",
                          "Generate": "/accounts/2fa/recovery-codes/generate/"},
        "authenticator and codes": {"Deactivate": "/accounts/2fa/totp/deactivate/",
                                    "View": "/accounts/2fa/recovery-codes/",
                                    "Download": "/accounts/2fa/recovery-codes/download/",
                                    "Generate": "/accounts/2fa/recovery-codes/generate/"},
    }[enrolled]
    assert links == {in_language(language, text): href for text, href in expected.items()}
    if enrolled == "authenticator and codes":
        unused = len(RecoveryCodes(person.authenticator_set.get(type="recovery_codes")).get_unused_codes())
        with translation.override(language):
            count = translation.ngettext(
                "There is %(unused_count)s out of %(total_count)s recovery codes available.",
                "There are %(unused_count)s out of %(total_count)s recovery codes available.", unused,
            ) % {"unused_count": unused, "total_count": unused}
        assert count in main.squashed_text()
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sign_out_page_is_in_the_persons_language_and_signs_out(language):
    person = UserFactory(email="asha.k@mahaagri.gov.in")
    client = Client(HTTP_ACCEPT_LANGUAGE=language, enforce_csrf_checks=True)
    client.force_login(person)
    response = client.get("/accounts/logout/")
    main = in_main(language, response, ["Sign Out", "Are you sure you want to sign out?"])
    assert tree_of(response).find("title").squashed_text().startswith(in_language(language, "Sign Out"))
    form = main.find("form", method="post")
    assert form.get("action") == "/accounts/logout/"
    assert form.find("button", type="submit").squashed_text() == in_language(language, "Sign Out")
    token = form.find("input", name="csrfmiddlewaretoken").get("value")
    signed_out = client.post("/accounts/logout/", {"csrfmiddlewaretoken": token}, follow=True)
    assert "_auth_user_id" not in client.session
    assert in_language(language, "You have signed out.") in tree_of(signed_out).find("main").squashed_text()


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_password_reset_page_of_a_signed_in_person_is_in_their_language(language):
    """Signed in, "Forgot your password?" leads to allauth's reset page, whose note "You are
    already logged in as asha.k@..." stayed in English on a Hindi or Marathi page."""
    person = UserFactory(email="asha.k@mahaagri.gov.in")
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(person)
    main = in_main(language, client.get("/accounts/password/reset/"), ["Password Reset"])
    with translation.override(language):
        note = translation.gettext("You are already logged in as %(user_display)s.") % {"user_display": person.email}
    assert note in main.squashed_text() and "You are already logged in" not in main.squashed_text()

@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_an_account_switched_off_is_told_so_in_the_persons_language(language):
    """A superadmin unticks "active" in the Django admin; the person signs in as usual.
    (Django's Hindi says "This account is inactive." as "यस खाता सुस्त है".)"""
    cache.clear()
    person = UserFactory(email="asha.k@mahaagri.gov.in", is_active=False)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    response = client.post("/accounts/login/", {"login": person.email, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/inactive/"
    in_main(language, response, ["Account Inactive", "This account is inactive."])
    assert "यस खाता सुस्त है" not in response.content.decode()
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_two_factor_pages_buttons_lead_to_pages_in_the_persons_language_that_work(language):
    """Generate (new recovery codes) and Deactivate (the authenticator app), after the
    password is asked again."""
    cache.clear()
    person = UserFactory(email="asha.k@mahaagri.gov.in")
    secret = with_totp(person)
    RecoveryCodes.activate(person)
    before = set(RecoveryCodes(person.authenticator_set.get(type="recovery_codes")).get_unused_codes())
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(person)
    # A code of the app, not the password: these pages are the second factor itself.
    assert client.post("/accounts/2fa/reauthenticate/", {"code": totp_code(secret)}).status_code == 302

    in_main(language, client.get("/accounts/2fa/recovery-codes/generate/"), [
        "Recovery Codes", "You are about to generate a new set of recovery codes for your account.",
        "This action will invalidate your existing codes.", "Are you sure?", "Generate"])
    response = client.post("/accounts/2fa/recovery-codes/generate/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/recovery-codes/"
    assert set(RecoveryCodes(person.authenticator_set.get(type="recovery_codes")).get_unused_codes()).isdisjoint(before)

    in_main(language, client.get("/accounts/2fa/totp/deactivate/"), [
        "Deactivate Authenticator App",
        "You are about to deactivate authenticator app based authentication. Are you sure?", "Deactivate"])
    response = client.post("/accounts/2fa/totp/deactivate/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/2fa/"
    assert not person.authenticator_set.filter(type="totp").exists()
    assert in_language(language, "Authenticator app deactivated.") in tree_of(response).find("main").squashed_text()
    cache.clear()


def reset_form_url(client, person):
    """The page a reset link leads to (allauth keeps the key in the session and moves it out of the address)."""
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    response = client.get(f"/accounts/password/reset/key/{user_pk_to_url_str(person)}-"
                          f"{default_token_generator.make_token(person)}/")
    assert response.status_code == 302
    return response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("where", ["sign-up", "change", "reset"])
def test_a_short_password_is_refused_in_the_persons_language(where, language, settings):
    """Django's MinimumLengthValidator (settings.AUTH_PASSWORD_VALIDATORS: 10 characters)."""
    cache.clear()
    short = {"password1": "Sh0rt-pw", "password2": "Sh0rt-pw"}
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if where == "sign-up":
        response = client.post("/accounts/signup/", {"email": "new.person@mahaagri.gov.in", **short})
    else:
        person = UserFactory(email="asha.k@mahaagri.gov.in")
        if where == "change":
            client.force_login(person)
            response = client.post("/accounts/password/change/", {"oldpassword": PASSWORD, **short})
        else:
            response = client.post(reset_form_url(client, person), short)
    assert response.status_code == 200
    error = field_error(tree_of(response), "password1")
    [minimum] = [v["OPTIONS"]["min_length"] for v in settings.AUTH_PASSWORD_VALIDATORS if "MinimumLength" in v["NAME"]]
    assert "password is too short" not in error
    with translation.override(language):
        assert error == translation.ngettext(
            "This password is too short. It must contain at least %d character.",
            "This password is too short. It must contain at least %d characters.", minimum) % minimum
    cache.clear()


ERROR_WORD = {"en": "Error:", "hi": "त्रुटि:", "mr": "त्रुटी:"}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", *LANGUAGES])
def test_a_refused_sign_in_says_error_first_in_its_title(language):
    """A screen reader reads a new page's title first: the sign-in page sent back with an
    error says so there, in the person's language; the blank page does not."""
    person = UserFactory(email="asha.k@mahaagri.gov.in")
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    blank = tree_of(client.get("/accounts/login/")).find("title").squashed_text()
    assert not blank.startswith(ERROR_WORD[language])
    refused = tree_of(client.post("/accounts/login/", {"login": person.email, "password": "not-the-password"}))
    assert refused.by_id("error-summary") is not None
    assert refused.find("title").squashed_text() == f"{ERROR_WORD[language]} {blank}"
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", *LANGUAGES])
def test_an_account_fields_error_is_read_as_an_error(language):
    """The error an account page's box is described by (aria-describedby) begins with a
    visually hidden "Error:" in the person's language; what is seen is the message alone."""
    tree = tree_of(Client(HTTP_ACCEPT_LANGUAGE=language).post(
        "/accounts/signup/", {"email": "not-an-address", "password1": "x", "password2": "x"}))
    box = tree.by_id("id_email")
    assert box.get("aria-invalid") == "true" and "id_email_error" in box.get("aria-describedby").split()
    error = tree.by_id("id_email_error")
    assert [word.squashed_text() for word in error.find_all(class_="visually-hidden")] == [ERROR_WORD[language]]
    assert error.squashed_text() == f"{ERROR_WORD[language]} {field_error(tree, 'email')}"
    assert field_error(tree, "email") and not field_error(tree, "email").startswith(ERROR_WORD[language])
    cache.clear()


@pytest.mark.django_db
def test_allauths_forms_are_sent_without_the_browsers_own_checks():
    """Sign-in, sign-up, password reset (and its new password), re-authentication and the
    password change are sent with novalidate, as the portal's own forms are: their fields
    carry `required`, and the browser would otherwise refuse an empty one with its own
    bubble in its own language instead of the server's summary in the person's."""
    cache.clear()
    person = UserFactory(email="asha.k@mahaagri.gov.in")
    stranger, signed_in, resetting = Client(), Client(), Client()
    signed_in.force_login(person)
    pages = [("/accounts/login/", stranger), ("/accounts/signup/", stranger), ("/accounts/password/reset/", stranger),
             (reset_form_url(resetting, person), resetting), ("/accounts/reauthenticate/", signed_in),
             ("/accounts/password/change/", signed_in)]
    for path, client in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        forms = [form for form in tree_of(response).find("main").find_all("form")
                 if any("required" in field.attrs for field in form.find_all("input"))]
        assert forms, path
        assert all("novalidate" in form.attrs for form in forms), path
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("active", [True, False], ids=["active", "closed"])
@pytest.mark.parametrize("asked_on", ["signup", "reset"])
def test_mail_anyone_causes_to_an_account_is_in_the_holders_language_closed_or_not(active, asked_on):
    """Whoever types an address on an English page, the mail it causes to the account is in
    the holder's language: "account already exists" and the password reset, and the notice
    that the account is closed, which allauth sends instead of either for a closed account."""
    from portal.mail.models import OutboxMessage

    cache.clear()
    holder = UserFactory(email="asha.kulkarni@mahaagri.gov.in", language="mr", is_active=active)
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    if asked_on == "signup":
        browser.post("/accounts/signup/", {"email": holder.email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    else:
        browser.post("/accounts/password/reset/", {"email": holder.email})
    [message] = [m for m in OutboxMessage.objects.order_by("id") if holder.email in m.to]
    assert re.search(r"[\u0900-\u097F]", message.subject), message.subject
