"""The dashboard's parts kept per process ({% memo %}, {% memo_each %}: headings, definitions,
the filters' form by the values sent, the chart by its figures, the table's and the overdue
steps' rows by what they show) write the page the template writes without them: for scopes
of different sizes, in two languages, with the filters unset, set and wrong, the memos
filled first by the others' pages, and after the figures changed."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import F
from django.template import engines
from django.utils import timezone, translation

from monitoring.models import OrganisationFigures
from onboarding.models import ApprovalStep
from portal.organisations.models import Organisation, OrganisationStatus
from tests.verification.helpers import signed_in

pytestmark = pytest.mark.django_db

MEMO_TAGS = re.compile(r"{%\s*(?:memo\b[^%]*|endmemo|fresh|endfresh)\s*%}")
MEMO_EACH = re.compile(r"{%\s*memo_each (\w+) in (\S+) by [^%]*%}")
TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+')
QUERIES = ["", "?state=MH&sort=-verified", "?q=" + "x" * 101, "?status=active&q=department"]


def without_memo() -> str:
    """The dashboard's template with its memo tags taken out (each memo_each a for loop)."""
    source = Path(settings.BASE_DIR, "templates", "monitoring", "dashboard.html").read_text()
    source = MEMO_EACH.sub(r"{% for \1 in \2 %}", source).replace("{% endmemo_each %}", "{% endfor %}")
    return MEMO_TAGS.sub("", source)


def test_the_dashboard_is_the_one_written_without_memo(world):
    plain = engines["django"].from_string(without_memo())
    clients = {role: signed_in(world[role]) for role in ("superadmin", "state_admin_ka", "admin_agri")}
    for round_ in range(3):  # the second round from the memos, the third after figures changed
        if round_ == 2:
            OrganisationFigures.objects.filter(organisation=world["pune"]).update(verified_users=F("verified_users") + 1)
            Organisation.objects.filter(pk=world["health"].pk).update(status=OrganisationStatus.SUSPENDED)
            Organisation.objects.filter(pk=world["revenue"].pk).update(activated_at=timezone.now())
            ApprovalStep.objects.filter(decision="", due_at__lte=timezone.now()).update(due_at=F("due_at") - timedelta(days=3))
        for language in ("en", "hi"):
            for query in QUERIES:
                for role, client in clients.items():
                    response = client.get("/monitoring/" + query, HTTP_ACCEPT_LANGUAGE=language)
                    assert response.status_code == 200
                    context = response.context[-1].flatten()
                    with translation.override(language):
                        expected = plain.render(context, response.wsgi_request)
                    written = response.content.decode()
                    assert f'lang="{language}"' in written
                    assert TOKEN.sub(r"\1", written) == TOKEN.sub(r"\1", expected), (round_, language, query, role)
