"""A password reset mails the address it names (an "unknown account" notice when it has
none): anyone may ask, so each address gets at most five an hour, however many client
addresses ask."""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from portal.mail.models import OutboxMessage


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
