"""manage.py api_client_create --organisation CODE --name NAME."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from api.models import ApiClient
from api.tokens import token_hash
from portal.audit.models import AuditAction, AuditEvent
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("api_client_create", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_a_token_that_authenticates(world, client):
    out, err = run("--organisation", "agri-mh", "--name", "State portal")
    token = out.strip()
    assert token.startswith("sandes_") and "\n" not in token
    created = ApiClient.objects.get(token_hash=token_hash(token))
    assert created.organisation == world["a"] and created.name == "State portal" and created.created_by is None
    assert "shown this once" in err
    event = AuditEvent.objects.get(action=AuditAction.API_CLIENT_CREATED, target_id=str(created.pk))
    assert event.actor_role == "system:manage.py api_client_create"
    response = client.get("/api/v1/verifications", {"email": "x@mahaagri.gov.in"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


def test_an_unknown_code_is_a_clear_error(world):
    with pytest.raises(CommandError, match="No organisation has the short code 'NOPE'"):
        run("--organisation", "NOPE", "--name", "App")


def test_an_ambiguous_code_is_a_clear_error(world):
    OrganisationFactory(name="Agriculture Marketing Board", short_code="AGRI-MH")
    with pytest.raises(CommandError, match="Several organisations have the short code 'AGRI-MH'"):
        run("--organisation", "AGRI-MH", "--name", "App")
    assert not ApiClient.objects.filter(name="App").exists()


def test_a_name_in_use_is_a_clear_error(world):
    with pytest.raises(CommandError, match="already has a client named e-Office"):
        run("--organisation", "AGRI-MH", "--name", "e-Office")


def test_a_name_with_a_pile_of_marks_is_refused_as_the_page_refuses_it(world):
    """Sixty accents on one letter, drawn over the rows above and below it in the list of clients."""
    with pytest.raises(CommandError, match="carries more than 8 marks"):
        run("--organisation", "AGRI-MH", "--name", "e" + "\u0301" * 60)
    assert not ApiClient.objects.filter(name__startswith="e\u0301").exists()


def test_both_options_are_required(world):
    with pytest.raises(CommandError):
        run("--organisation", "AGRI-MH")


# What Python makes of bytes that are not UTF-8 in an argument (surrogateescape): a
# shell's `$'AGRI\xff'`, a Latin-1 terminal, a script's bytes.
@pytest.mark.parametrize("args,option", [
    (("--organisation", "AGRI-MH\udcff", "--name", "App"), "--organisation"),
    (("--organisation", "AGRI-MH", "--name", "App\udcff"), "--name"),
    (("--organisation", "AGRI-MH\x00", "--name", "App"), "--organisation"),
    (("--organisation", "AGRI-MH", "--name", "App\x00"), "--name"),
    (("--organisation", "AGRI-MH", "--name", "App\nTwo"), "--name"),
])
def test_undecodable_bytes_or_control_characters_are_a_clear_error(world, args, option):
    with pytest.raises(CommandError, match=f"^{option} "):
        run(*args)
    assert not ApiClient.objects.filter(name__startswith="App").exists()
    assert not AuditEvent.objects.filter(action=AuditAction.API_CLIENT_CREATED, actor_role__startswith="system").exists()
