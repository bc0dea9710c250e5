"""A name that ends with a full stop of its own ("... Pune Divn.") placed at the end of
a sentence: the sentence ends with one full stop, not "..". The domain claim's
messages and the possible-duplicate warnings."""

import pytest
from django.utils import translation

from onboarding.application.services import duplicate_warnings
from onboarding.models import Application
from portal.organisations.models import OrganisationDomain
from portal.text import before_full_stop
from tests.factories import OrganisationFactory
from tests.html_tree import error_message
from tests.html_tree import page as page_tree
from tests.onboarding.approval_helpers import make_superadmin, signed_in
from tests.onboarding.form_helpers import new_application


@pytest.mark.parametrize("name, expected", [
    ("Office of the Joint Director, Pune Divn.", "Office of the Joint Director, Pune Divn"),
    ("Collectorate Pune", "Collectorate Pune"), ("Trailing dots... ", "Trailing dots"), ("", ""), (None, ""),
])
def test_before_full_stop(name, expected):
    assert before_full_stop(name) == expected


@pytest.mark.parametrize("language, expected", [("en", "Pune Divn"), ("mr", "Pune Divn"), ("hi", "Pune Divn.")])
def test_a_name_keeps_its_own_full_stop_where_sentences_end_with_a_danda(language, expected):
    """Hindi ends a sentence with "।", not a full stop: a name's abbreviation keeps its dot there."""
    with translation.override(language):
        assert before_full_stop("Pune Divn.") == expected


@pytest.mark.django_db
def test_the_domain_claim_messages_end_with_one_full_stop():
    organisation = OrganisationFactory(name="Office of the Joint Director of Agriculture, Pune Divn.")
    claim = OrganisationDomain.objects.create(organisation=organisation, domain="agri-research.org", is_verified=False)
    client = signed_in(make_superadmin())
    url = f"/portal/organisations/domain-claims/{claim.pk}/accept/"
    unconfirmed = error_message(page_tree(client.post(url, {})).by_id(f"confirm-{claim.pk}_error"))
    assert unconfirmed == ("Tick the box to confirm that agri-research.org belongs to "
                           "Office of the Joint Director of Agriculture, Pune Divn.")
    page = client.post(url, {"confirm": "yes"}, follow=True).content.decode()
    assert "agri-research.org is now official for Office of the Joint Director of Agriculture, Pune Divn.<" in page
    assert "Divn.." not in page


@pytest.mark.django_db
def test_a_duplicate_warning_ends_with_one_full_stop(officer):
    OrganisationFactory(name="Joint Director of Agriculture, Pune Divn.")
    application = new_application(officer)
    data = {**application.data, "organisation": {"name": "Joint Director of Agriculture Pune Divn"}}
    Application.objects.filter(pk=application.pk).update(data=data)
    application.refresh_from_db()
    assert duplicate_warnings(application, details=True) == [
        "An organisation with a very similar name is already on Sandes: Joint Director of Agriculture, Pune Divn."]
