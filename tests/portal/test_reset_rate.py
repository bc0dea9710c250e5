"""A password reset mails the address it names (an "unknown account" notice when it has
none): anyone may ask, so each address gets at most five an hour, however many client
addresses ask, and however the address is written (a Gmail address with or without its dots
or a "+tag" too): the limit counts mailboxes. So do the
codes that confirm an address (sign-up, sign-in before it is confirmed, an address added):
bounded per address, yet one mailed by someone else does not stop its owner. No account
form mails an address no mail can reach from outside (localhost, an IP address)."""

import math
import re
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from portal.accounts.official_email import normalise_address
from portal.mail.models import OutboxMessage
from tests.factories import UserFactory
from tests.html_tree import field_error, page
from tests.onboarding.approval_helpers import post_confirming_access
from tests.smtp import text_of

User = get_user_model()
NEW_PASSWORD = "a-long-enough-passphrase"


def ask(target, client_address, capture):
    with capture(execute=True):
        Client(REMOTE_ADDR=client_address).post("/accounts/password/reset/", {"email": target})


@pytest.mark.django_db
def test_an_address_is_sent_at_most_five_reset_mails_an_hour(django_capture_on_commit_callbacks):
    cache.clear()
    target = "someone.else@mahaagri.gov.in"
    start = timezone.now()
    for attempt in range(6):
        with time_machine.travel(start + timedelta(minutes=2 * attempt), tick=False):
            ask(target, f"203.0.113.{attempt + 1}", django_capture_on_commit_callbacks)  # a new client each time
    assert OutboxMessage.objects.filter(to=[target]).count() == 5  # the sixth, ten minutes on, refused
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        ask(target, "203.0.113.99", django_capture_on_commit_callbacks)
    assert OutboxMessage.objects.filter(to=[target]).count() == 6  # an hour after the first, one more
    cache.clear()


# Full-width letters (the way some phone keyboards type them) in the domain: the domain is
# IDNA-encoded when the mail is sent, which maps each to its ASCII letter, so every one of
# these reaches the same mailbox.
LOOK_ALIKES = ["someone.else@mahaagri.gov.in", "someone.else@ｍahaagri.gov.in", "someone.else@mａhaagri.gov.in",
               "someone.else@maｈaagri.gov.in", "someone.else@mahａagri.gov.in", "someone.else@mahaａgri.gov.in",
               "someone.else@mahaaｇri.gov.in", "someone.else@mahaagｒi.gov.in", "someone.else@mahaagrｉ.gov.in",
               "SOMEONE.ELSE@mahaagri.ｇov.in", "someone.else@mahaagri.gｏv.ｉn"]


# One Gmail mailbox written seven ways: Gmail ignores dots and anything after "+" in the local
# part, and googlemail.com is gmail.com (official_email.normalise_address). Accounts keep each
# as written; the limits on mail count the mailbox (portal/accounts/mail_limits.py).
GMAIL_FORMS = ["asha.kulkarni@gmail.com", "ashakulkarni@gmail.com", "a.shakulkarni@gmail.com",
               "asha.kulkarni+1@gmail.com", "asha.kulkarni+2@gmail.com", "as.ha.kulkarni@gmail.com",
               "asha.kulkarni@googlemail.com"]


def mails_to_mailbox(mailbox):
    return sum(1 for message in OutboxMessage.objects.all()
               if any(normalise_address(to) == normalise_address(mailbox) for to in message.to))


@pytest.mark.django_db
@pytest.mark.parametrize("has_account", [True, False])
@pytest.mark.parametrize("forms", [LOOK_ALIKES, GMAIL_FORMS], ids=["full-width letters", "gmail dots and tags"])
def test_addresses_that_reach_one_mailbox_share_its_five_resets_an_hour(forms, has_account, smtp_server,
                                                                        django_capture_on_commit_callbacks):
    """Every way of writing one mailbox, each asked from a new client two minutes apart: the
    first five are mailed (delivered over SMTP to that mailbox), the rest refused."""
    cache.clear()
    mailbox = forms[0]
    if has_account:
        UserFactory(email=mailbox)
    start = timezone.now()
    for attempt, typed in enumerate(forms):
        with time_machine.travel(start + timedelta(minutes=2 * attempt), tick=False):
            ask(typed, f"203.0.113.{attempt + 1}", django_capture_on_commit_callbacks)  # a new client each time
    recipients = [recipient for envelope in smtp_server.envelopes for recipient in envelope.rcpt_tos]
    assert [normalise_address(recipient) for recipient in recipients] == [normalise_address(mailbox)] * 5
    assert mails_to_mailbox(mailbox) == 5 and OutboxMessage.objects.count() == 5
    cache.clear()


@pytest.mark.django_db
def test_a_look_alike_of_an_accounts_address_finds_the_account(smtp_server, django_capture_on_commit_callbacks):
    cache.clear()
    user = UserFactory(email="someone.else@mahaagri.gov.in")
    ask("Someone.Else@ｍａｈａａｇｒｉ.gov.in", "203.0.113.1", django_capture_on_commit_callbacks)
    [message] = smtp_server.messages
    assert smtp_server.envelopes[0].rcpt_tos == [user.email]
    assert "/accounts/password/reset/key/" in text_of(message)  # a reset link, not the "no account" notice
    cache.clear()


@pytest.mark.django_db
def test_signing_up_or_adding_an_address_keeps_it_in_the_form_mail_reaches(smtp_server,
                                                                         django_capture_on_commit_callbacks):
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/accounts/signup/", {
            "email": "New.Officer@ｍha.gov.in", "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
        })
    assert response.status_code == 302
    assert list(User.objects.values_list("email", flat=True)) == ["new.officer@mha.gov.in"]
    assert list(EmailAddress.objects.values_list("email", flat=True)) == ["new.officer@mha.gov.in"]

    user = UserFactory(email="asha.k@mahaagri.gov.in")
    client = Client()
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_confirming_access(client, "/accounts/email/", {"action_add": "", "email": "Asha.K@ｄept.gov.in"})
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert smtp_server.envelopes[-1].rcpt_tos == ["asha.k@dept.gov.in"]
    code = re.search(r"Please enter it in your open browser window\.\s+(\S+)", text_of(smtp_server.messages[-1]))[1]
    assert client.post("/accounts/confirm-email/", {"code": code}).status_code == 302
    assert EmailAddress.objects.get(user=user, email="asha.k@dept.gov.in").verified
    cache.clear()


def sign_up(address, client_address="127.0.0.1"):
    return Client(REMOTE_ADDR=client_address).post("/accounts/signup/", {
        "email": address, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})


@pytest.mark.django_db
def test_a_stranger_adding_my_address_does_not_stop_my_sign_up():
    """Someone types my address on their own email page (a code goes to me, for their
    account): signing up a moment later, I reach the page that asks my code."""
    cache.clear()
    stranger = Client()
    stranger.force_login(UserFactory(email="stranger@mha.gov.in"))
    response = post_confirming_access(stranger, "/accounts/email/", {"action_add": "", "email": "asha.k@mha.gov.in"})
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    response = sign_up("asha.k@mha.gov.in")
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert OutboxMessage.objects.filter(to=["asha.k@mha.gov.in"]).count() == 2
    cache.clear()


@pytest.mark.django_db
def test_signing_in_with_the_right_password_after_signing_up_is_not_called_failed_attempts():
    """Signed up (the code page closed, or on another computer), the person signs in with
    the right password at the first attempt: a new code is asked, not "Too many failed login
    attempts"."""
    cache.clear()
    assert sign_up("asha.k@mha.gov.in").status_code == 302
    response = Client().post("/accounts/login/", {"login": "asha.k@mha.gov.in", "password": NEW_PASSWORD})
    assert "Too many failed login attempts" not in response.content.decode()
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert OutboxMessage.objects.filter(to=["asha.k@mha.gov.in"]).count() == 2
    cache.clear()


@pytest.mark.django_db
def test_an_address_is_mailed_at_most_three_codes_in_ten_minutes_and_five_an_hour():
    """Whoever signs up with an address, from however many client addresses, mails it a
    code (or, once it has an account, the notice that it has one): three in ten minutes,
    five in an hour at most, as a password reset; one more is refused (429) and mails nothing."""
    cache.clear()
    target = "asha.k@mha.gov.in"
    start = timezone.now()
    answers = []
    for attempt in range(4):  # a burst: the fourth refused
        with time_machine.travel(start + timedelta(seconds=attempt), tick=False):
            answers.append(sign_up(target, f"203.0.113.{attempt + 1}").status_code)
    assert answers == [302, 302, 302, 429]
    assert OutboxMessage.objects.filter(to=[target]).count() == 3
    for attempt, minutes in enumerate((11, 22, 33, 44), start=4):  # then one every eleven minutes
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            answers.append(sign_up(target, f"203.0.113.{attempt + 1}").status_code)
    assert answers[4:] == [302, 302, 429, 429]  # five in the hour, no more
    assert OutboxMessage.objects.filter(to=[target]).count() == 5
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert sign_up(target, "203.0.113.99").status_code == 302  # an hour after the first, more again
    cache.clear()


@pytest.mark.django_db
def test_the_ways_one_gmail_mailbox_is_written_share_its_three_codes_in_ten_minutes():
    """Sign-ups with one Gmail mailbox written another way each time (each a new account, as
    an address is kept as written): three codes reach the mailbox, the fourth is refused."""
    cache.clear()
    start = timezone.now()
    answers = []
    for attempt, typed in enumerate(GMAIL_FORMS):
        with time_machine.travel(start + timedelta(seconds=attempt), tick=False):
            answers.append(sign_up(typed, f"203.0.113.{attempt + 1}").status_code)
    assert answers == [302, 302, 302, 429, 429, 429, 429]
    assert mails_to_mailbox(GMAIL_FORMS[0]) == 3
    cache.clear()


@pytest.mark.django_db
def test_adding_one_gmail_mailbox_written_another_way_shares_its_three_codes_in_ten_minutes():
    """People adding one Gmail mailbox to their accounts on the email page, each writing it
    another way: the codes it is mailed count together with the sign-ups', three in ten
    minutes; a further one is refused (429) and mails nothing."""
    cache.clear()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert sign_up(GMAIL_FORMS[0]).status_code == 302
    answers = []
    for attempt, typed in enumerate(GMAIL_FORMS[1:4], start=1):
        client = Client()
        client.force_login(UserFactory(email=f"adder{attempt}@mha.gov.in"))
        with time_machine.travel(start + timedelta(seconds=attempt), tick=False):
            response = post_confirming_access(client, "/accounts/email/", {"action_add": "", "email": typed})
        answers.append(response.status_code)
    assert answers == [302, 302, 429]
    assert mails_to_mailbox(GMAIL_FORMS[0]) == 3
    cache.clear()


@pytest.mark.django_db
def test_one_account_sends_the_email_page_at_most_twenty_times_a_day_so_mails_no_stranger_after_that():
    """An account adding stranger after stranger's address on the email page, one a minute
    (under the page's ten a minute): each is mailed a code, until the page has been sent
    twenty times in the day (sixteen additions: every fifth minute the page first asks for the
    password again, and that sending counts too); the next is refused (429) on a page naming
    the account's limit, in the reader's language, and mails nothing."""
    cache.clear()
    client = Client()
    client.force_login(UserFactory(email="adder@mha.gov.in"))
    start = timezone.now()
    answers = []
    for n in range(21):
        with time_machine.travel(start + timedelta(minutes=n), tick=False):
            response = post_confirming_access(client, "/accounts/email/", {"action_add": "",
                                                                          "email": f"stranger{n}@example.org"})
        answers.append(response.status_code)
    assert answers == [302] * 16 + [429] * 5
    assert OutboxMessage.objects.filter(to__0__startswith="stranger").count() == 16
    assert "at most ten times a minute and twenty times a day" in response.content.decode()
    client.cookies["django_language"] = "hi"
    with time_machine.travel(start + timedelta(minutes=22), tick=False):
        response = client.post("/accounts/email/", {"action_add": "", "email": "stranger21@example.org"})
    assert response.status_code == 429
    assert "एक दिन में बीस बार" in response.content.decode()
    assert OutboxMessage.objects.filter(to__0__startswith="stranger").count() == 16
    cache.clear()


@pytest.mark.django_db
def test_signing_up_with_someones_address_every_minute_mails_it_five_times_an_hour():
    """Sign-ups with one address, one a minute for an hour from ever other client addresses,
    whether the address has an account (each mails "account already exists") or not."""
    victim = UserFactory(email="victim.officer@mahaagri.gov.in")
    for target in (victim.email, "someone.else@example.org"):
        cache.clear()
        start = timezone.now()
        for n in range(60):
            with time_machine.travel(start + timedelta(minutes=n, seconds=1), tick=False):
                sign_up(target, f"198.51.100.{n + 1}")
        assert OutboxMessage.objects.filter(to=[target]).count() == 5, target
    cache.clear()


class CountingHasher(MD5PasswordHasher):
    """The tests' hasher, counting the passwords it hashes."""

    algorithm = "counted_md5"
    encoded = 0

    def encode(self, password, salt):
        CountingHasher.encoded += 1
        return super().encode(password, salt)


@pytest.mark.django_db
def test_a_sign_up_hashes_the_password_whether_or_not_the_address_has_an_account(settings):
    """Both sign-ups answer alike (allauth's enumeration prevention), and take as long: the
    password typed is hashed for an address with an account too, as a new account's is, or
    the time the answer takes (a slow hash, in production) tells which addresses have one."""
    settings.PASSWORD_HASHERS = ["tests.portal.test_reset_rate.CountingHasher", *settings.PASSWORD_HASHERS]
    holder = UserFactory(email="asha.k@mha.gov.in")
    EmailAddress.objects.update_or_create(user=holder, email=holder.email, defaults={"verified": True, "primary": True})
    hashed = {}
    for target in (holder.email, "new.officer@mha.gov.in"):
        cache.clear()
        CountingHasher.encoded = 0
        response = sign_up(target)
        assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/", target
        hashed[target] = CountingHasher.encoded
    assert hashed == {holder.email: 1, "new.officer@mha.gov.in": 1}
    assert User.objects.filter(email="new.officer@mha.gov.in").exists() and User.objects.count() == 2
    cache.clear()


NO_DOMAIN = ["root@localhost", "x@[10.0.0.1]", "ops@intranet", "a@[IPv6:2001:db8::1]"]


@pytest.mark.django_db
@pytest.mark.parametrize("address", NO_DOMAIN)
@pytest.mark.parametrize("where", ["sign-up", "email page", "password reset"])
def test_an_address_at_localhost_an_ip_address_or_a_dotless_domain_is_refused_at_its_field(address, where):
    """Every form that takes an address to mail (the adapter's clean_email) refuses one at a
    host that is no domain, as the official-email and roster checks do; nothing is mailed."""
    cache.clear()
    client = Client()
    if where == "sign-up":
        response = client.post("/accounts/signup/", {"email": address, "password1": NEW_PASSWORD,
                                                     "password2": NEW_PASSWORD})
    elif where == "email page":
        client.force_login(UserFactory(email="asha.k@mha.gov.in"))
        response = post_confirming_access(client, "/accounts/email/", {"action_add": "", "email": address})
    else:
        response = client.post("/accounts/password/reset/", {"email": address})
    assert response.status_code == 200
    assert field_error(page(response), "email") == "Enter a valid email address."
    assert not OutboxMessage.objects.exists() and not EmailAddress.objects.filter(email__contains="@[").exists()
    assert not EmailAddress.objects.exclude(email="asha.k@mha.gov.in").exists()
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["asha.k@ｍha.gov.in", "Asha.K@ＭＨＡ.gov.in", "ASHA.K@mha.gov.in"])
def test_an_address_signs_in_written_as_sign_up_took_it(typed):
    """Sign-up keeps the address in its mailbox form (a full-width "ｍ", as some input
    methods type it, as "m"); signing in typed the same way finds the account."""
    cache.clear()
    assert sign_up(typed).status_code == 302
    EmailAddress.objects.filter(email="asha.k@mha.gov.in").update(verified=True)  # the code was entered
    response = Client().post("/accounts/login/", {"login": typed, "password": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/", response.status_code
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize(("address", "same"), [
    ("nodal.officer@mahaagri.gov.in", ["nodal.officer@mahaagri.gov.in", "nodal.officer+2@mahaagri.gov.in",
                                       "nodal.officer+@mahaagri.gov.in", "nodal.officer+a+b@mahaagri.gov.in"]),
    ("Nodal.Officer+Seeds@ｍahaagri.gov.in", ["nodal.officer@mahaagri.gov.in", "nodal.officer+2@mahaagri.gov.in",
                                             "nodal.officer+@mahaagri.gov.in", "nodal.officer+a+b@mahaagri.gov.in"]),
    ("asha.kulkarni+1@googlemail.com", ["ashakulkarni@gmail.com", "asha.kulkarni@gmail.com",
                                        "a.s.h.a.kulkarni+x@googlemail.com", ".ashakulkarni.+x.y@gmail.com"]),
    ("not an address", []),
])
def test_accounts_of_one_mailbox_are_found_however_their_addresses_are_written(address, same):
    """Limits that count what one person does (a nodal officer's submissions and new links)
    count every account of their mailbox (mailbox_key): accounts are kept per address with
    its "+tag", so one person may hold several. ``same_mailbox`` finds, in one query, the
    accounts whose address is the mailbox's, and no other."""
    from portal.accounts.mail_limits import mailbox_key, same_mailbox

    others = ["nodal.officer2@mahaagri.gov.in", "nodal.officerx+2@mahaagri.gov.in", "x+nodal.officer@mahaagri.gov.in",
              "nodal.officer+2@sub.mahaagri.gov.in", "nodal.officer@mahaagri.gov.in.example.in",
              "nodal_officer@mahaagri.gov.in", "nodal%officer@mahaagri.gov.in", "ashakulkarni2@gmail.com",
              "ashakulkarni@gmail.com.in", "ashakulkarni@yahoo.com", "asha-kulkarni@gmail.com", "xashakulkarni@gmail.com"]
    for email in same + others:
        UserFactory(email=email, verified=False)
    found = set(User.objects.filter(same_mailbox("email", address)).values_list("email", flat=True))
    assert found == set(same)
    assert all(mailbox_key(email) == mailbox_key(address) for email in found)


# Not counted on their own: a code confirming an address is mailed after a sign-up (counted
# with it, below) or a sign-in (the account's own address: as many as there are accounts), or
# from the email page (per account, a day); a phone number is no way to sign up or in here
# (ACCOUNT_LOGIN_METHODS, ACCOUNT_SIGNUP_FIELDS), so nothing verifies one.
NOT_ON_THEIR_OWN = {"confirm_email", "verify_phone"}


def counters_one_client_holds(rates, key_rates, kept):
    """The most counters of addresses one client holds at once: the client's own limits met
    before the first per-address one (allauth stops at the first refused), each letting its
    amount through every one of its windows during the ``kept`` seconds the counters last."""
    per_client = [rate for rate in rates if rate.per == "ip"]
    assert per_client, rates
    return min(rate.amount * math.ceil(kept / rate.duration) for rate in per_client) * key_rates


def test_one_client_holds_a_bounded_number_of_counters_of_addresses():
    """allauth counts per address ("key") in the cache, a day long for a reset or a code: each
    address a new counter. With only a minute's limit per client, one client asking for resets
    of new addresses, or signing up with them, every three seconds held some 115,000 counters
    after a day, more than the database cache holds (MAX_ENTRIES: 50,000), which then culls a
    third of its entries, live ones too (others' counters, kept forms, the beat's lock). Each
    limit per address is now behind limits per client (its address, or IPv6 network) that let
    one client hold a few hundred counters at most, a twentieth of the table all told."""
    from allauth.account import app_settings
    from allauth.core.internal.ratelimit import parse_rates
    from django.conf import settings

    held = 0
    for action, config in app_settings.RATE_LIMITS.items():
        rates = parse_rates(config)
        key_rates = [rate for rate in rates if rate.per == "key"]
        if not key_rates or action in NOT_ON_THEIR_OWN:
            continue
        first_key = rates.index(key_rates[0])
        held += counters_one_client_holds(rates[:first_key], len(key_rates), max(r.duration for r in key_rates))
    confirm = [rate for rate in parse_rates(app_settings.RATE_LIMITS["confirm_email"]) if rate.per == "key"]
    held += counters_one_client_holds(parse_rates(app_settings.RATE_LIMITS["signup"]), len(confirm),
                                      max(rate.duration for rate in confirm))
    assert held * 20 <= settings.DATABASE_CACHE["OPTIONS"]["MAX_ENTRIES"], held


@pytest.mark.django_db
def test_clients_at_ipv4_addresses_written_as_ipv6_ones_are_counted_apart(settings):
    """Behind a dual-stack socket an IPv4 client's address comes written as an IPv6 one
    ("::ffff:203.0.113.9"). allauth counted its limits per client on such an address's /64
    network, "::", the same for every IPv4 client: one client's sign-ins used up everyone's.
    Each is counted on its IPv4 address, as the portal's own limits count it
    (portal.client.client_network), however it is written."""
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "1/m/ip"}

    def sign_in(client_address):
        return Client(REMOTE_ADDR=client_address).post(
            "/accounts/login/", {"login": "nobody@mahaagri.gov.in", "password": "not-the-password"}).status_code

    assert sign_in("::ffff:203.0.113.9") == 200
    assert sign_in("::ffff:198.51.100.7") == 200  # another client
    assert sign_in("::ffff:203.0.113.9") == 429  # the first again: its own minute used up
    assert sign_in("203.0.113.9") == 429  # the same client, its address written as IPv4
