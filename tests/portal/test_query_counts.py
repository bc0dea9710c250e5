"""Exact query counts of the superadmins' list pages, the outbox and the official
email rules: the same for 1 row as for many (CONVENTIONS: query counts are asserted
exactly; when a count changes, the commit says why)."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from portal.accounts.models import EmailSuffixRule, SuffixKind
from portal.mail.models import OutboxMessage, OutboxStatus, UnknownMailbox
from tests.factories import PASSWORD
from tests.onboarding.approval_helpers import make_superadmin, second_factor_given

pytestmark = pytest.mark.django_db

STATUSES = [OutboxStatus.FAILED, OutboxStatus.SENT, OutboxStatus.PENDING]


@pytest.fixture
def root_client():
    client = Client()
    root = make_superadmin()
    assert client.login(email=root.email, password=PASSWORD)
    return second_factor_given(client, root)


def warm(client, url):
    """A first request, so that nothing pending (flash messages) counts."""
    assert client.get(url).status_code == 200


@pytest.fixture(params=[1, 120], ids=["1 message", "120 messages"])
def outbox_rows(request):
    """``n`` outbox messages in a mix of states (more than one page of 50 when many), and as
    many addresses refused as unknown."""
    OutboxMessage.objects.all().delete()
    now = timezone.now()
    UnknownMailbox.objects.bulk_create([
        UnknownMailbox(mailbox=f"gone{i}@dept.gov.in", first_refused_at=now, last_refused_at=now, refusals=i + 1,
                       reply=f"550 5.1.1 <gone{i}@dept.gov.in>: Recipient address rejected: User unknown")
        for i in range(request.param)
    ])
    OutboxMessage.objects.bulk_create([
        OutboxMessage(
            message_id=f"<{i}@sandes.gov.in>", subject=f"Message {i}", from_email="noreply@sandes.gov.in",
            to=[f"person{i}@dept.gov.in"], body="Body", status=STATUSES[i % len(STATUSES)], attempts=i % 4,
            next_attempt_at=timezone.now(),
        )
        for i in range(request.param)
    ])
    return request.param


# Outbox: 6 queries, whatever the number of messages and of addresses refused as unknown.
#   1 session, 2 the user with their platform roles and whether they have the authenticator
#     app a superadmin must have (auth middleware, one query; cached on the user for the MFA
#     middleware, the access rule and the context processor),
#   3 the number of messages (the pager), 4 the page of messages (bodies and attachments left out;
#   a filter that matches nothing needs no 4th query, which is why each case here shows at least one),
#   5 the number of addresses refused as unknown (their pager), 6 their page.
OUTBOX_QUERIES = 6


@pytest.mark.parametrize("query", ["", "?status=failed", "?page=2"], ids=["all", "failed only", "second page"])
def test_outbox_query_count(root_client, outbox_rows, query, django_assert_num_queries):
    url = f"/portal/outbox/{query}"
    warm(root_client, url)
    with django_assert_num_queries(OUTBOX_QUERIES):
        response = root_client.get(url)
    assert response.status_code == 200
    failed = OutboxMessage.objects.filter(status=OutboxStatus.FAILED).count()
    # A page past the last shows the last one: with 1 message, page 2 is page 1.
    expected = {"": min(outbox_rows, 50), "?status=failed": min(failed, 50), "?page=2": min(outbox_rows, 50)}[query]
    assert response.content.decode().count('<a href="/portal/outbox/') - unknown_links(response) == expected  # a link per message
    assert unknown_links(response) == min(outbox_rows, 50)  # a link to lift each refusal of the page


def unknown_links(response):
    return len(re.findall(r'<a href="/portal/outbox/unknown/\d+/lift/"', response.content.decode()))


@pytest.fixture(params=[1, 80], ids=["1 rule", "80 rules"])
def email_rules(request):
    """``n`` official email rules (the seeded ones replaced)."""
    EmailSuffixRule.objects.all().delete()
    EmailSuffixRule.objects.bulk_create([
        EmailSuffixRule(suffix=f"dept{i}.gov.in", kind=[SuffixKind.OFFICIAL, SuffixKind.CONSUMER][i % 2], note=f"Rule {i}")
        for i in range(request.param)
    ])
    return request.param


# Official email rules: 3 queries, whatever the number of rules.
#   1 session, 2 user with platform roles and authenticator app (as above),
#   3 the rules (one query for the whole table; the form beside it reads nothing).
EMAIL_RULES_QUERIES = 3


def test_email_rules_query_count(root_client, email_rules, django_assert_num_queries):
    warm(root_client, "/portal/email-rules/")
    with django_assert_num_queries(EMAIL_RULES_QUERIES):
        response = root_client.get("/portal/email-rules/")
    assert response.status_code == 200
    assert response.content.decode().count('<a href="/portal/email-rules/') == email_rules  # an Edit link per rule
