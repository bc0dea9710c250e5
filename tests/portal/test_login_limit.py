"""allauth's limit of failed sign-ins per account ("login_failed", ACCOUNT_RATE_LIMITS): counted
once per mailbox, however the request's Host or the address is written."""

import pytest
from django.test import Client

from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache")]


def _fail(email, n, **extra):
    return Client(REMOTE_ADDR=f"198.51.100.{n}").post("/accounts/login/", {"login": email, "password": "wrong-x1"},
                                                      **extra)


def _refused(response):
    return response.status_code == 429 or "too many" in response.content.decode().lower()


@pytest.mark.parametrize("host", ["testserver:1", "TESTSERVER", "testserver."])
def test_the_failed_sign_ins_of_an_account_count_whatever_host_the_request_names(host):
    user = UserFactory()
    for n in range(5):
        assert not _refused(_fail(user.email, n + 1))
    assert _refused(_fail(user.email, 50))
    assert _refused(_fail(user.email, 51, HTTP_HOST=host))


def test_past_the_limit_the_right_password_signs_in_under_no_other_host_or_form_of_the_address():
    user = UserFactory(email="asha@mahaagri.gov.in")
    for n in range(6):
        _fail("Asha@MahaAgri.gov.in" if n % 2 else user.email, n + 1)
    for host, email in (("testserver:8443", user.email), ("testserver", "ASHA@mahaagri.gov.in")):
        right = Client(REMOTE_ADDR="198.51.100.60").post("/accounts/login/", {"login": email, "password": PASSWORD},
                                                         HTTP_HOST=host)
        assert right.status_code != 302 and _refused(right), (host, email)
