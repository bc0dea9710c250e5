"""Sign-ins and second-factor codes refused: each one against an account is an audit row
of that account (never the password or the code typed), as many an hour as
``portal.accounts.signals.REFUSALS_AUDITED_PER_HOUR`` allows; an address no account has
leaves none. The stored action values are named as strings: they are stable."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.test import Client

from portal.audit.models import AuditEvent
from portal.audit.services import audit_verify
from tests.factories import PASSWORD, PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import signed_in, totp_code, with_totp

pytestmark = pytest.mark.django_db

LOGIN_FAILED = "user.login_failed"
SECOND_FACTOR_FAILED = "user.second_factor_failed"


def _rows(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def _stored(event) -> str:
    """Everything a row holds, as text."""
    return " ".join(str(value) for value in (
        event.actor_email, event.actor_role, event.target_repr, event.old_values, event.new_values, event.user_agent))


def test_a_refused_password_is_audited_against_its_account_and_an_unknown_address_leaves_nothing():
    """A wrong password at the sign-in page, and when asked again who the person is (the
    account pages that change it), is a row of the account, with the address and browser
    it came from; the password typed is nowhere in it. An address no account has writes
    nothing: what was typed there is not kept."""
    person = UserFactory(email="asha@mahaagri.gov.in")
    stranger = Client(HTTP_USER_AGENT="Mozilla/5.0 (guesser)")
    response = stranger.post("/accounts/login/", {"login": person.email, "password": "Guessed-Secret-1"})
    assert response.status_code == 200 and "_auth_user_id" not in stranger.session
    [refused] = _rows(LOGIN_FAILED)
    assert (refused.actor_id, refused.actor_email, refused.target_id, refused.ip, refused.user_agent) == (
        person.pk, "asha@mahaagri.gov.in", str(person.pk), "127.0.0.1", "Mozilla/5.0 (guesser)")
    assert refused.new_values == {"reauthentication": False}
    assert "Guessed-Secret-1" not in _stored(refused)

    rows = AuditEvent.objects.count()
    assert stranger.post("/accounts/login/", {"login": "nobody.here@mahaagri.gov.in",
                                              "password": "Guessed-Secret-2"}).status_code == 200
    assert AuditEvent.objects.count() == rows
    assert not AuditEvent.objects.filter(new_values__icontains="nobody.here").exists()

    own = Client()
    own.force_login(person)
    assert own.post("/accounts/reauthenticate/", {"password": "Mistyped-Secret-3"}).status_code == 200
    again = _rows(LOGIN_FAILED)[-1]
    assert (again.actor_id, again.target_id, again.new_values) == (person.pk, str(person.pk),
                                                                   {"reauthentication": True})
    assert "Mistyped-Secret-3" not in _stored(again)
    assert audit_verify() == []


def test_a_refused_second_factor_code_is_audited_against_its_account():
    """After the right password, a code that is neither the app's nor an unused recovery
    code is a row of the account (at the sign-in, and when asked again who the person is):
    which kind of second factor was asked, never the code typed. The right code writes none."""
    holder = PlatformRoleFactory(role="superadmin", jurisdiction="", user__email="root@sandes.nic.in").user
    secret = with_totp(holder)
    recovery = RecoveryCodes.activate(holder).instance
    totp = Authenticator.objects.get(user=holder, type=Authenticator.Type.TOTP)
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (holder)")
    response = client.post("/accounts/login/", {"login": holder.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/"
    assert not _rows(LOGIN_FAILED)
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    assert client.post("/accounts/2fa/authenticate/", {"code": wrong}).status_code == 200
    [refused] = _rows(SECOND_FACTOR_FAILED)
    assert (refused.actor_id, refused.target_id, refused.user_agent) == (holder.pk, str(holder.pk),
                                                                        "Mozilla/5.0 (holder)")
    assert refused.new_values == {"type": "totp", "authenticator": totp.pk, "reauthentication": False}
    assert client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}).status_code == 302
    assert len(_rows(SECOND_FACTOR_FAILED)) == 1

    holder_again = signed_in(holder)
    used = RecoveryCodes(recovery).get_unused_codes()[0]
    mistyped = used[:-1] + ("0" if used[-1] != "0" else "1")
    assert holder_again.post("/accounts/2fa/reauthenticate/", {"code": mistyped}).status_code == 200
    again = _rows(SECOND_FACTOR_FAILED)[-1]
    assert again.new_values == {"type": "totp", "authenticator": totp.pk, "reauthentication": True}
    assert mistyped not in _stored(again)
    assert audit_verify() == []


def test_refusals_audited_per_account_are_bounded(monkeypatch):
    """Whoever knows an address can make refusals as fast as allauth's rate limits let
    them (and more once its counters in the cache are gone): each account's refusals are
    audited up to the hourly bound, the rest not written; another account's are its own.
    A sign-in that allauth's rate limit refuses before checking the password writes none."""
    from portal.accounts import signals

    monkeypatch.setattr(signals, "REFUSALS_AUDITED_PER_HOUR", 3)
    person, other = UserFactory(email="asha@mahaagri.gov.in"), UserFactory(email="ravi@mahaagri.gov.in")
    for attempt in range(5):  # allauth's limit: five an address in five minutes
        assert Client().post("/accounts/login/", {"login": person.email, "password": f"wrong-{attempt}"}
                             ).status_code == 200
    assert [event.actor_id for event in _rows(LOGIN_FAILED)] == [person.pk] * 3
    refused = Client().post("/accounts/login/", {"login": person.email, "password": "wrong-6"})
    assert "Too many failed login attempts" in refused.content.decode()
    assert len(_rows(LOGIN_FAILED)) == 3
    assert Client().post("/accounts/login/", {"login": other.email, "password": "wrong"}).status_code == 200
    assert [event.actor_id for event in _rows(LOGIN_FAILED)] == [person.pk] * 3 + [other.pk]
    assert audit_verify() == []
