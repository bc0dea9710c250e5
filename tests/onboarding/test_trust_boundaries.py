"""Who may vouch for whom: domains do not become official because an officer typed
them, the officer cannot be their own competent authority, powers end with the
address that earned them, and the level chosen is checked against the parent."""

import copy
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from guardian.shortcuts import assign_perm

from onboarding.application import services as onboarding_services
from onboarding.application.selectors import officer_eligibility, review_flags
from onboarding.approval import services as approvals
from onboarding.models import Application, ApplicationDocument
from portal import permissions
from portal.accounts.official_email import OFFICIAL, classify_email
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_verify
from portal.organisations.models import DomainClaim, Membership, OrganisationDomain
from tests.factories import (
    PASSWORD,
    ApplicationFactory,
    ApprovalStepFactory,
    OrganisationFactory,
    PlatformRoleFactory,
    UserFactory,
    application_with_state,
)
from tests.html_tree import error_message, field_error, field_value, page
from tests.onboarding.approval_helpers import (
    authority_approved,
    filled_application,
    make_state_admin,
    make_superadmin,
    post_confirming_access,
    signed_in,
    state_step,
    submitted_application,
    totp_code,
    with_totp,
)
from tests.onboarding.form_helpers import post_section, valid
from tests.onboarding_data import VALID

pytestmark = pytest.mark.django_db


def with_domains(domains, **organisation):
    data = copy.deepcopy(VALID)
    data["organisation"].update(email_domains=domains, **organisation)
    return data


def approve(application, admin):
    step = ApprovalStepFactory(application=application, stage="state")
    approvals.step_decide(step_id=step.pk, decision="approve", actor=admin)
    application.refresh_from_db()
    return application.organisation


@pytest.fixture
def admin():
    return make_state_admin("MH", email="admin.mh@maharashtra.gov.in")


# Domains ---------------------------------------------------------------------------------

def test_a_domain_an_officer_typed_does_not_become_official_by_approval(admin):
    application = ApplicationFactory(data=with_domains("mahaagri.gov.in, attacker-example.com"))
    organisation = approve(application, admin)
    rows = dict(OrganisationDomain.objects.filter(organisation=organisation).values_list("domain", "is_verified"))
    assert rows == {"mahaagri.gov.in": True, "attacker-example.com": False}
    assert OrganisationDomain.objects.get(domain="attacker-example.com").claim == DomainClaim.NOT_OFFICIAL
    assert classify_email("mallory@attacker-example.com").kind != OFFICIAL
    mallory = UserFactory(email="mallory@attacker-example.com")
    assert officer_eligibility(mallory) is not None  # cannot start an application


def test_a_domain_is_official_for_one_organisation_only(admin):
    first = approve(ApplicationFactory(data=with_domains("mahaagri.gov.in")), admin)
    second = approve(ApplicationFactory(data=with_domains("mahaagri.gov.in", short_code="DOA-MH-2")), admin)
    assert OrganisationDomain.objects.get(organisation=first).is_verified
    row = OrganisationDomain.objects.get(organisation=second)
    assert not row.is_verified and row.claim == DomainClaim.CLAIMED_ELSEWHERE


def test_a_domain_of_an_organisation_above_the_office_is_no_claim(admin):
    """A district office's staff use its department's domain (as most offices of a ministry use
    its mha.gov.in), and its form, placed under the department, lists it. That domain is
    official for the department, which the office is placed under: the office shares it, and
    it is no claim (a claim "already official for another organisation", its own parent, would
    wait on the superadmins' page for ever, none of them able to accept it). Nobody deciding is
    told it does not become official; the activation's audit row names it as shared from above;
    a claim recorded so before is not listed either."""
    from portal.organisations.selectors import pending_domain_claims

    department = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH")
    OrganisationDomain.objects.create(organisation=department, domain="mahaagri.gov.in", is_verified=True)
    data = with_domains("mahaagri.gov.in, haveli.mahaagri.gov.in", name="Taluka Agriculture Office, Haveli",
                        short_code="TAO-HAVELI")
    data["hierarchy"] = {"parent_choice": "existing", "parent": str(department.pk), "new_parent_name": "",
                         "new_parent_type": ""}
    application = ApplicationFactory(data=data)
    assert not [flag for flag in review_flags(application) if "mahaagri.gov.in:" in flag]
    office = approve(application, admin)
    assert office.parent_id == department.pk
    rows = dict(OrganisationDomain.objects.filter(organisation=office).values_list("domain", "is_verified"))
    assert rows == {"haveli.mahaagri.gov.in": True}
    assert not pending_domain_claims().filter(organisation=office).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.DOMAIN_CLAIMED).exists()
    activated = AuditEvent.objects.get(action=AuditAction.ORGANISATION_ACTIVATED, target_id=str(office.pk))
    assert activated.new_values["inherited"] == ["mahaagri.gov.in"]
    earlier = OrganisationFactory(name="Taluka Agriculture Office, Mulshi", short_code="TAO-MULSHI", parent=department)
    OrganisationDomain.objects.create(organisation=earlier, domain="mahaagri.gov.in", is_verified=False,
                                      claim=DomainClaim.CLAIMED_ELSEWHERE)
    assert not pending_domain_claims().filter(domain="mahaagri.gov.in").exists()


def test_an_official_suffix_itself_is_only_a_claim(admin):
    organisation = approve(ApplicationFactory(data=with_domains("gov.in")), admin)
    row = OrganisationDomain.objects.get(organisation=organisation)
    assert not row.is_verified and row.claim == DomainClaim.SUFFIX_ITSELF


def test_only_a_superadmin_accepts_a_claim_and_the_acceptance_is_audited(admin):
    organisation = approve(ApplicationFactory(data=with_domains("mahaagri.gov.in, agri-research.org")), admin)
    claim = OrganisationDomain.objects.get(organisation=organisation, domain="agri-research.org")
    url = f"/portal/organisations/domain-claims/{claim.pk}/accept/"
    assert signed_in(admin).post(url, {"confirm": "yes"}).status_code == 403
    root = make_superadmin()
    page = signed_in(root).get("/portal/organisations/domain-claims/").content.decode()
    assert "agri-research.org" in page and organisation.name in page
    assert signed_in(root).post(url, {}).status_code == 400  # not confirmed: nothing happens
    claim.refresh_from_db()
    assert not claim.is_verified
    signed_in(root).post(url, {"confirm": "yes"})
    claim.refresh_from_db()
    assert claim.is_verified and claim.accepted_by == root
    event = AuditEvent.objects.get(action=AuditAction.DOMAIN_ACCEPTED)
    assert event.actor_id == root.pk and event.new_values["domain"] == "agri-research.org"
    assert classify_email("someone@agri-research.org").kind == OFFICIAL


def test_a_claim_accepted_without_its_box_is_summed_up_and_tied_to_its_box():
    """The refusal is the claims page again (400), its error summed up above the list and
    linked to the box of the claim refused, the box marked invalid and described by the
    error; the other claims' boxes are left alone."""
    claims = [OrganisationDomain.objects.create(organisation=OrganisationFactory(name=f"Institute {n}"),
                                                domain=f"institute{n}.ac.in", is_verified=False,
                                                claim=DomainClaim.NOT_OFFICIAL) for n in (1, 2)]
    response = signed_in(make_superadmin()).post(f"/portal/organisations/domain-claims/{claims[1].pk}/accept/", {})
    assert response.status_code == 400
    tree = page(response)
    summary = tree.by_id("error-summary")
    [link] = summary.find_all("a")
    assert link.get("href") == f"#confirm-{claims[1].pk}"
    assert "Tick the box to confirm that institute2.ac.in belongs to Institute 2." in link.squashed_text()
    box = tree.by_id(f"confirm-{claims[1].pk}")
    assert box.get("aria-invalid") == "true" and box.get("value") == "yes"
    assert error_message(tree.by_id(box.get("aria-describedby"))) == (
        "Tick the box to confirm that institute2.ac.in belongs to Institute 2.")
    assert tree.by_id(f"confirm-{claims[0].pk}").get("aria-invalid") is None
    claims[1].refresh_from_db()
    assert not claims[1].is_verified
    # Its address read again (reloaded, or come back to by the language switch): the claims page.
    again = signed_in(make_superadmin(email="second.root@nic.in")).get(
        f"/portal/organisations/domain-claims/{claims[1].pk}/accept/")
    assert again.status_code == 200 and page(again).by_id(f"confirm-{claims[1].pk}").get("aria-invalid") is None


def test_each_claim_made_at_final_approval_is_audited_as_a_claim(admin):
    """A domain the form lists that final approval does not make official is a claim waiting
    for a superadmin (the domain claims page): each is recorded as "Email domain claimed for an
    organisation", the action the audit log offers to filter by, with why it is not official and
    the application that listed it, as its acceptance is recorded as "accepted"; a domain made
    official, or one accepted before, is no claim."""
    OrganisationDomain.objects.create(organisation=OrganisationFactory(short_code="KRISHI"), domain="krishi.gov.in",
                                      is_verified=True)
    application = ApplicationFactory(data=with_domains("mahaagri.gov.in, agri-research.org, krishi.gov.in"))
    organisation = approve(application, admin)
    claimed = AuditEvent.objects.filter(action=AuditAction.DOMAIN_CLAIMED).order_by("id")
    assert [(event.actor_id, event.target_id, event.new_values) for event in claimed] == [
        (admin.pk, str(organisation.pk), {"domain": "agri-research.org", "claim": DomainClaim.NOT_OFFICIAL,
                                          "application": application.reference}),
        (admin.pk, str(organisation.pk), {"domain": "krishi.gov.in", "claim": DomainClaim.CLAIMED_ELSEWHERE,
                                          "application": application.reference}),
    ]
    claim = OrganisationDomain.objects.get(organisation=organisation, domain="agri-research.org")
    signed_in(make_superadmin()).post(f"/portal/organisations/domain-claims/{claim.pk}/accept/", {"confirm": "yes"})
    assert AuditEvent.objects.filter(action=AuditAction.DOMAIN_ACCEPTED, target_id=str(organisation.pk)).exists()
    assert audit_verify() == []


def test_a_personal_mail_domain_is_never_accepted_as_official(admin):
    """DESIGN §3: consumer mail is never official. A claim recorded before a superadmin added
    a consumer-mail rule for its domain (or one to a personal mail service, recorded before
    the listing refused them) is not offered for acceptance any more; one accepted all the
    same is refused, saying it is a personal mail service, nothing recorded."""
    from django.contrib.messages import get_messages

    from portal.accounts.models import EmailSuffixRule, SuffixKind

    organisation = approve(ApplicationFactory(data=with_domains("mahaagri.gov.in, webpost.co.in")), admin)
    claim = OrganisationDomain.objects.get(organisation=organisation, domain="webpost.co.in")
    assert claim.claim == DomainClaim.NOT_OFFICIAL
    EmailSuffixRule.objects.create(suffix="webpost.co.in", kind=SuffixKind.CONSUMER)
    old = OrganisationDomain.objects.create(organisation=organisation, domain="mail.yahoo.com",
                                            claim=DomainClaim.NOT_OFFICIAL)
    EmailSuffixRule.objects.filter(suffix="yahoo.com").delete()  # a personal mail service all the same
    other = OrganisationDomain.objects.create(organisation=organisation, domain="agri-research.org",
                                              claim=DomainClaim.NOT_OFFICIAL)
    root = signed_in(make_superadmin())
    html = root.get("/portal/organisations/domain-claims/").content.decode()
    assert "webpost.co.in" not in html and "yahoo.com" not in html and "agri-research.org" in html
    for row in (claim, old):
        response = root.post(f"/portal/organisations/domain-claims/{row.pk}/accept/", {"confirm": "yes"}, follow=True)
        assert [str(m) for m in get_messages(response.wsgi_request)] == [
            f"{row.domain} is a personal mail service and is never accepted as official email."]
        row.refresh_from_db()
        assert not row.is_verified
    assert not AuditEvent.objects.filter(action=AuditAction.DOMAIN_ACCEPTED).exists()
    assert classify_email("someone@webpost.co.in").kind != OFFICIAL
    root.post(f"/portal/organisations/domain-claims/{other.pk}/accept/", {"confirm": "yes"})
    other.refresh_from_db()
    assert other.is_verified


def _claims_of_offices_sharing_their_departments_domain(n):
    """A department whose mail domain is official for it, and ``n`` district offices of
    another department that each listed it for their staff: claims "already official for
    another organisation", which cannot be accepted while it is. (Offices below the
    department itself share its domain: listing it is no claim of theirs.)"""
    from portal.organisations.models import Organisation

    department = OrganisationFactory(name="Health Department", short_code="HLTH")
    OrganisationDomain.objects.create(organisation=department, domain="mahahealth.gov.in", is_verified=True)
    other = OrganisationFactory(name="Medical Education Department", short_code="MED")
    offices = Organisation.objects.bulk_create([
        Organisation(name=f"District Health Office {i:03d}", org_type="district_office", level="district", state="MH",
                     parent=other, ancestry=other.subtree_prefix, status="active") for i in range(n)])
    return department, OrganisationDomain.objects.bulk_create([
        OrganisationDomain(organisation=office, domain="mahahealth.gov.in", is_verified=False,
                           claim=DomainClaim.CLAIMED_ELSEWHERE) for office in offices])


def accept_forms(tree):
    return [form.get("action") for form in tree.find_all("form", method="post") if "/accept/" in form.get("action")]


def test_the_domain_claims_page_is_paged_and_offers_no_acceptance_that_would_be_refused():
    """Every pending claim of the platform was on one page, oldest first, each with its own
    form: a department's hundreds of district offices sharing its domain made a page of
    hundreds of forms, none of which could be accepted. The page lists 50 claims a page
    (oldest first, the portal's pager); a claim that cannot be accepted as things stand (its
    domain official for another organisation, or an official suffix itself) says why, with
    no form to accept it."""
    department, _shared = _claims_of_offices_sharing_their_departments_domain(60)
    suffix = OrganisationDomain.objects.create(organisation=OrganisationFactory(name="Nagar Parishad, Wai"),
                                               domain="gov.in", claim=DomainClaim.SUFFIX_ITSELF)
    acceptable = OrganisationDomain.objects.create(organisation=OrganisationFactory(name="Institute of Science"),
                                                   domain="iisc.ac.in", claim=DomainClaim.NOT_OFFICIAL)
    client = signed_in(make_superadmin())
    tree = page(client.get("/portal/organisations/domain-claims/"))
    rows = tree.find("tbody").find_all("tr")
    assert len(rows) == 50 and "District Health Office 000" in rows[0].squashed_text()
    assert not accept_forms(tree)  # the first 50: all official for the department
    assert ("Cannot be accepted while mahahealth.gov.in is official for Health Department."
            in rows[0].squashed_text())
    assert "Already official for another organisation" in rows[0].squashed_text()
    pager = tree.find("nav", **{"aria-label": "Pages"})
    assert "Page 1 of 2" in pager.squashed_text()
    [next_page] = [link.get("href") for link in pager.find_all("a")]
    tree = page(client.get("/portal/organisations/domain-claims/" + next_page))
    rows = tree.find("tbody").find_all("tr")
    assert len(rows) == 12
    assert accept_forms(tree) == [f"/portal/organisations/domain-claims/{acceptable.pk}/accept/"]
    assert "Cannot be accepted: gov.in is an official suffix itself." in rows[-2].squashed_text()
    assert "District Health Office 059" in rows[-3].squashed_text() and suffix.domain in rows[-2].squashed_text()
    # The department's domain no longer official for it: its offices' claims can be accepted.
    OrganisationDomain.objects.filter(organisation=department).update(is_verified=False)
    tree = page(client.get("/portal/organisations/domain-claims/"))
    assert len(accept_forms(tree)) == 50  # the department's own claim first


def test_the_domain_claims_page_says_why_a_claim_is_not_official_as_the_superadmin_who_decides_reads_it():
    """The reason a claim is not official was shown in error red, and for a domain off the
    official suffixes it said "only a superadmin can accept it" to the superadmin who can,
    next to the form to do so: a plain reason, in the page's secondary text, that says what
    accepting it does."""
    OrganisationDomain.objects.create(organisation=OrganisationFactory(name="Institute of Science"),
                                      domain="iisc.ac.in", claim=DomainClaim.NOT_OFFICIAL)
    tree = page(signed_in(make_superadmin()).get("/portal/organisations/domain-claims/"))
    [row] = tree.find("tbody").find_all("tr")
    why = row.find_all("td")[2]
    assert why.squashed_text() == "Not under an official suffix: its addresses become official only if you accept it"
    assert why.get("class") == "text-body-secondary"
    assert not [node for node in tree.find("tbody").iter() if "text-danger" in node.get("class", "")]


def test_a_claim_past_the_first_page_is_refused_and_accepted_on_its_own_page():
    """Refused (its box not ticked), a claim is shown on the page that lists it, where its
    box is, not on the first; accepted, the superadmin is back on the page they were on."""
    claims = OrganisationDomain.objects.bulk_create([
        OrganisationDomain(organisation=organisation, domain=f"institute{n}.ac.in", claim=DomainClaim.NOT_OFFICIAL)
        for n, organisation in enumerate(OrganisationFactory.create_batch(52))])
    client = signed_in(make_superadmin())
    url = f"/portal/organisations/domain-claims/{claims[51].pk}/accept/"
    response = client.post(url, {})
    assert response.status_code == 400
    tree = page(response)
    assert "Page 2 of 2" in tree.find("nav", **{"aria-label": "Pages"}).squashed_text()
    [link] = tree.by_id("error-summary").find_all("a")
    assert tree.by_id(link.get("href")[1:]) is not None
    response = client.post(url, {"confirm": "yes"})
    assert response.status_code == 302 and response["Location"] == "/portal/organisations/domain-claims/?page=2"
    response = client.post(f"/portal/organisations/domain-claims/{claims[0].pk}/accept/", {"confirm": "yes"})
    assert response["Location"] == "/portal/organisations/domain-claims/"


def test_a_claim_accepted_twice_says_the_domain_is_official_already(admin):
    """The acceptance sent again (a double click without JavaScript, Back and send again)
    finds the claim accepted: back on the claims page, told the domain is official already
    for that organisation (it was a 404), nothing recorded a second time."""
    from django.contrib.messages import get_messages

    organisation = approve(ApplicationFactory(data=with_domains("mahaagri.gov.in, agri-research.org")), admin)
    claim = OrganisationDomain.objects.get(organisation=organisation, domain="agri-research.org")
    root = signed_in(make_superadmin())
    url = f"/portal/organisations/domain-claims/{claim.pk}/accept/"
    assert root.post(url, {"confirm": "yes"}).status_code == 302
    root.get("/portal/organisations/domain-claims/")  # the first answer's message read
    again = root.post(url, {"confirm": "yes"})
    assert again.status_code == 302 and again["Location"] == "/portal/organisations/domain-claims/"
    name = organisation.name.rstrip(".")
    assert [str(m) for m in get_messages(again.wsgi_request)] == [
        f"agri-research.org is already official for {name}."]
    assert AuditEvent.objects.filter(action=AuditAction.DOMAIN_ACCEPTED).count() == 1
    assert signed_in(admin).post(url, {"confirm": "yes"}).status_code == 403  # still a superadmin's


def test_the_authority_and_the_state_admin_see_the_claims_flagged(admin):
    application = ApplicationFactory(data=with_domains("mahaagri.gov.in, attacker-example.com"))
    step = ApprovalStepFactory(application=application, stage="state")
    html = signed_in(admin).get(f"/onboarding/queue/{step.pk}/").content.decode()
    assert "Check before deciding" in html and "attacker-example.com" in html
    assert str(DomainClaim.NOT_OFFICIAL.label) in html
    # Who is who: the authority's address and domain beside the officer's.
    assert "director@mahaagri.gov.in" in html and "domain mahaagri.gov.in" in html


# The competent authority -------------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "nodal.officer+authority@mahaagri.gov.in", "Nodal.Officer@MahaAgri.gov.in", "second.address@mahaagri.gov.in",
])
def test_the_officer_cannot_be_their_own_competent_authority(officer, officer_client, address):
    EmailAddress.objects.create(user=officer, email="second.address@mahaagri.gov.in", verified=True)
    officer_client.post("/onboarding/start/")
    application = Application.objects.get(nodal_officer=officer)
    response = post_section(officer_client, application, "competent_authority",
                            valid("competent_authority", official_email=address))
    assert "must be a different person from the nodal officer" in response.content.decode()


def test_an_address_mailed_to_another_domain_than_the_one_checked_is_refused_at_its_field(officer, officer_client):
    # "maha\u00dfagri.gov.in" (ß) is checked as an xn-- domain of its own, but Django's mail
    # (IDNA 2003) would deliver to mahassagri.gov.in; for an officer at assam.gov.in the
    # same trick sent the authority's link to the officer's own mailbox.
    officer_client.post("/onboarding/start/")
    application = Application.objects.get(nodal_officer=officer)
    typed = valid("competent_authority", official_email="director@maha\u00dfagri.gov.in")
    response = post_section(officer_client, application, "competent_authority", typed)
    tree = page(response)
    assert "Enter a valid email address" in field_error(tree, "official_email")
    assert field_value(tree, "official_email") == typed["official_email"]
    assert field_value(tree, "name") == typed["name"]


def test_another_applications_officer_for_the_same_organisation_cannot_be_the_authority(officer, officer_client):
    rival = UserFactory(email="rival.officer@mahaagri.gov.in")
    ApplicationFactory(nodal_officer=rival, status="draft", reference=None, organisation_name=VALID["organisation"]["name"])
    officer_client.post("/onboarding/start/")
    application = Application.objects.get(nodal_officer=officer)
    post_section(officer_client, application, "organisation", valid("organisation"))
    response = post_section(officer_client, application, "competent_authority",
                            valid("competent_authority", official_email="Rival.Officer+x@mahaagri.gov.in"))
    assert "nodal officer of another application for the same organisation" in response.content.decode()


# The short code names one organisation ------------------------------------------------------------

def test_a_short_code_another_organisation_has_is_refused_at_its_field(officer, officer_client):
    OrganisationFactory(name="Ministry of Home Affairs", short_code="MHA", level="central", state="")
    officer_client.post("/onboarding/start/")
    application = Application.objects.get(nodal_officer=officer)
    typed = valid("organisation", short_code="mha")
    tree = page(post_section(officer_client, application, "organisation", typed))
    assert field_error(tree, "short_code") == "MHA is already the short code of Ministry of Home Affairs on Sandes. Choose another."
    assert field_value(tree, "short_code") == "mha" and field_value(tree, "name") == typed["name"]
    # One that is not active yet is not named.
    OrganisationFactory(name="Pending Office", short_code="PND-1", status="pending")
    tree = page(post_section(officer_client, application, "organisation", valid("organisation", short_code="pnd-1")))
    assert field_error(tree, "short_code") == "PND-1 is already the short code of another organisation. Choose another."
    # The application's own organisation (applying for one on Sandes already) keeps its code.
    own = OrganisationFactory(name="Directorate of Agriculture", short_code="DOA-X", status="pending")
    Application.objects.filter(pk=application.pk).update(organisation=own)
    tree = page(post_section(officer_client, application, "organisation", valid("organisation", short_code="doa-x")))
    assert field_error(tree, "short_code") is None


def test_final_approval_is_refused_while_another_organisation_has_taken_the_short_code(officer):
    admin = make_state_admin("MH")
    application = authority_approved(officer)
    code = application.section_data("organisation")["short_code"]
    OrganisationFactory(name="Ministry of Home Affairs", short_code=code.lower(), level="central", state="")
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=state_step(application).pk, decision="approve", actor=admin)
    assert refused.value.message_dict["decision"] == [
        f"{code} is already the short code of Ministry of Home Affairs on Sandes. "
        "Return the application for correction so that its nodal officer can choose another short code."]
    application.refresh_from_db()
    assert application.status == "with_state" and application.organisation_id is None


def test_a_short_code_is_kept_as_it_was_checked(officer, officer_client):
    """Trimmed and in capitals (a space or a no-break space typed around it): the form
    an organisation is made active under and others' codes are compared with."""
    officer_client.post("/onboarding/start/")
    application = Application.objects.get(nodal_officer=officer)
    post_section(officer_client, application, "organisation", valid("organisation", short_code="\u00a0doa-mh "))
    application.refresh_from_db()
    assert application.section_data("organisation")["short_code"] == "DOA-MH"


def test_an_organisation_is_made_active_under_its_short_code_trimmed_in_capitals(officer):
    """" doa-mh " in an application's answers no longer escapes the check against
    another organisation's DOA-MH: the first is made active as DOA-MH."""
    admin = make_state_admin("MH")
    first = authority_approved(officer, {**VALID, "organisation": {**VALID["organisation"], "short_code": " doa-mh "}})
    approvals.step_decide(step_id=state_step(first).pk, decision="approve", actor=admin)
    first.refresh_from_db()
    assert first.organisation.short_code == "DOA-MH"
    # Another application for DOA-MH is told at once (its organisation section has the error).
    with pytest.raises(ValidationError, match="Organisation details is not complete"):
        submitted_application(UserFactory(email="other.officer@mahaagri.gov.in"), {
            **VALID, "organisation": {**VALID["organisation"], "short_code": "doa-mh", "name": "Directorate of Horticulture"}})


# The address an account rests on changes only once its holder proved who they are -------------

def signed_in_with_totp(user, secret):
    """A client signed in through the pages, as a person does: the password, then the code."""
    client = Client()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.post(response["Location"], {"code": totp_code(secret)}).status_code == 302
    return client


def test_a_browser_left_signed_in_changes_no_address_without_the_password_or_a_code_again():
    """A superadmin's browser left signed in (sessions last 8 hours): whoever sits at it
    cannot add an official address of their own and make it the account's, keeping the
    role, without the password or an authenticator code; once given, what was asked is done."""
    admin = make_superadmin(email="root@sandes.nic.in", totp=False)
    secret = with_totp(admin)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = signed_in_with_totp(admin, secret)
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        response = client.post("/accounts/email/", {"action_add": "", "email": "attacker@mea.gov.in"})
        assert response.status_code == 302
        assert response["Location"] == "/accounts/reauthenticate/?next=%2Faccounts%2Femail%2F"
        assert not EmailAddress.objects.filter(email="attacker@mea.gov.in").exists()
        EmailAddress.objects.create(user=admin, email="second@sandes.nic.in", verified=True)
        for action in ("action_primary", "action_remove"):
            response = client.post("/accounts/email/", {action: "", "email": "second@sandes.nic.in"})
            assert response["Location"] == "/accounts/reauthenticate/?next=%2Faccounts%2Femail%2F"
        admin.refresh_from_db()
        assert admin.email == "root@sandes.nic.in"
        assert EmailAddress.objects.filter(user=admin).count() == 2
        # A wrong password is refused at its field; the page offers the authenticator instead.
        refused = client.post(response["Location"], {"password": "not-the-password"})
        assert field_error(page(refused), "password") == "Incorrect password."
        assert 'href="/accounts/2fa/reauthenticate/?next=%2Faccounts%2Femail%2F"' in refused.content.decode()
    with time_machine.travel(start + timedelta(hours=2, minutes=1), tick=False):
        # The code of the authenticator app proves it too: what was asked (removing the
        # second address) is done then.
        response = client.post("/accounts/2fa/reauthenticate/?next=%2Faccounts%2Femail%2F", {"code": totp_code(secret)})
        assert response.status_code == 302 and response["Location"] == "/accounts/email/"
        assert list(EmailAddress.objects.filter(user=admin).values_list("email", flat=True)) == ["root@sandes.nic.in"]
        # For five minutes the account's addresses change without asking again.
        response = client.post("/accounts/email/", {"action_add": "", "email": "new.root@sandes.nic.in"})
        assert response["Location"] != "/accounts/reauthenticate/?next=%2Faccounts%2Femail%2F"
    with time_machine.travel(start + timedelta(hours=2, minutes=7), tick=False):
        response = client.post("/accounts/email/", {"action_add": "", "email": "attacker@mea.gov.in"})
        assert response["Location"] == "/accounts/reauthenticate/?next=%2Faccounts%2Femail%2F"


# Powers end with the address that earned them ---------------------------------------------------

def make_primary(client, user, address):
    """Through allauth's own email page: a verified second address made the primary one, the
    roles it ends confirmed."""
    EmailAddress.objects.get_or_create(user=user, email=address, defaults={"verified": True})
    response = post_confirming_access(client, "/accounts/email/", {"action_primary": "", "email": address, "end_roles": "on"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == address


def test_moving_to_a_personal_address_ends_the_officers_powers(officer, officer_client, admin):
    organisation = OrganisationFactory()
    Membership.objects.create(organisation=organisation, user=officer, role="admin")
    assign_perm(permissions.ADMINISTER_ORGANISATION, officer, organisation)
    # Another admin stays (the last one could not leave: tests/portal/test_roles.py).
    Membership.objects.create(organisation=organisation, user=UserFactory(email="co.admin@mahaagri.gov.in"), role="admin")
    draft = ApplicationFactory(nodal_officer=officer, status="draft", reference=None)
    waiting = ApplicationFactory(nodal_officer=officer, status="with_authority")
    ApprovalStepFactory(application=waiting, stage="authority", assignee_email="director@mahaagri.gov.in")
    with_state = ApplicationFactory(nodal_officer=officer, status="with_state")
    step = ApprovalStepFactory(application=with_state, stage="state")

    make_primary(officer_client, officer, "sunil.patil@gmail.com")

    event = AuditEvent.objects.get(action=AuditAction.OFFICIAL_POWERS_ENDED)
    assert event.new_values["organisations"] == [organisation.pk]
    # The organisation's other admins read that the admin with the official address left;
    # the personal address the officer moved to is not shown to them.
    [lapsed] = AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED, target_id=str(organisation.pk))
    assert lapsed.old_values == {"user": "nodal.officer@mahaagri.gov.in", "user_id": officer.pk, "role": "admin"}
    assert not permissions.may_administer(officer, organisation)
    assert not Membership.objects.get(organisation=organisation, user=officer).is_active
    # Editing, submitting and sending links are refused with the reason.
    for url in (f"/onboarding/{draft.pk}/section/organisation/", f"/onboarding/{draft.pk}/submit/"):
        response = officer_client.get(url, follow=True)
        assert "You can no longer change, submit or send links for this application." in response.content.decode()
    before = Application.objects.get(pk=draft.pk).data
    officer_client.post(f"/onboarding/{draft.pk}/section/organisation/", valid("organisation"))
    assert Application.objects.get(pk=draft.pk).data == before
    response = officer_client.post(f"/onboarding/{waiting.pk}/resend-link/", follow=True)
    assert "You can no longer change, submit or send links" in response.content.decode()
    # Final approval would make them an admin again: refused, with the reason at the decision.
    html = signed_in(admin).post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"}).content.decode()
    assert "The nodal officer can no longer be made the organisation&#x27;s admin" in html
    with_state.refresh_from_db()
    assert with_state.status == "with_state" and with_state.organisation is None


def test_final_approval_does_not_make_a_deactivated_officer_the_first_admin(admin):
    """An account deactivated (it can no longer sign in) is made nobody's admin: the
    deciding admin reads why at the decision, and nothing changes."""
    application = ApplicationFactory(data=with_domains("mahaagri.gov.in"))
    step = ApprovalStepFactory(application=application, stage="state")
    officer = application.nodal_officer
    officer.is_active = False
    officer.save(update_fields=["is_active"])
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=step.pk, decision="approve", actor=admin)
    assert refused.value.message_dict["decision"] == [
        "The nodal officer's account has been deactivated: they cannot be made the organisation's admin. Reject "
        "the application, or approve it once their account is active again."]
    html = signed_in(admin).post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"}).content.decode()
    assert "The nodal officer&#x27;s account has been deactivated" in html
    application.refresh_from_db()
    assert application.status == "with_state" and application.organisation is None
    assert not Membership.objects.filter(user=officer).exists()


def test_final_approval_does_not_make_an_officer_whose_address_moved_the_first_admin(officer, officer_client, admin):
    """The nodal officer submitted from nodal.officer@mahaagri.gov.in (the form, the competent
    authority's approval and the state queue name it), was then transferred and made the
    account's address sunil@karhealth.gov.in (official too, another department's). Approving
    would make the account, now another department's mailbox, the directorate's first admin
    on a form naming someone at mahaagri.gov.in: refused, saying why and what to do, and
    nothing decided; the deciders see it among the flags before deciding, the officer on
    their application's page what to do. With the address back, the approval goes through."""
    application = application_with_state(nodal_officer=officer)
    step = state_step(application)
    make_primary(officer_client, officer, "sunil@karhealth.gov.in")
    expected = (
        "The nodal officer's account no longer has the address the form names for them, nodal.officer@mahaagri.gov.in "
        "(changed since the form was filled): approval would make whoever holds the account now the organisation's "
        "admin. Approve it once the account's address is nodal.officer@mahaagri.gov.in again, or return the "
        "application for correction.")
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=step.pk, decision="approve", actor=admin)
    assert refused.value.message_dict == {"decision": [expected]}
    client = signed_in(admin)
    flags = page(client.get(f"/onboarding/queue/{step.pk}/")).find("section", **{"aria-labelledby": "flags-heading"})
    assert flags is not None and (
        "The nodal officer's account no longer has the address the form names for them, nodal.officer@mahaagri.gov.in "
        "(changed since the form was filled): final approval is refused while it does not, as it would make whoever "
        "holds the account now the organisation's admin.") in flags.squashed_text()
    assert "karhealth" not in flags.squashed_text()  # the account's new address is not the deciders' business
    response = client.post(f"/onboarding/queue/{step.pk}/", {"decision": "approve", "confirm": "on"})
    assert response.status_code == 200 and field_error(page(response), "decision") == expected
    application.refresh_from_db()
    step.refresh_from_db()
    assert (application.status, application.organisation, step.decision) == ("with_state", None, "")
    assert not Membership.objects.filter(user=officer).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.STEP_DECIDED, target_id=str(application.pk)).exists()
    told = page(officer_client.get(f"/onboarding/{application.pk}/")).squashed_text()
    assert ("Your account's address is no longer nodal.officer@mahaagri.gov.in, the address this application names "
            "for its nodal officer: it cannot be approved while it is not, as approval makes your account the "
            "organisation's admin. Change your account's address back to nodal.officer@mahaagri.gov.in on your email "
            "addresses page or, if you no longer hold that post, withdraw the application so that a colleague at that "
            "address submits a new one.") in told
    # The address confirmed back (still the account's, verified): approved, and the officer its first admin.
    make_primary(officer_client, officer, "nodal.officer@mahaagri.gov.in")
    assert "Your account's address is no longer" not in page(officer_client.get(f"/onboarding/{application.pk}/")).squashed_text()
    approvals.step_decide(step_id=step.pk, decision="approve", actor=admin)
    application.refresh_from_db()
    assert permissions.may_administer(UserFactory._meta.model.objects.get(pk=officer.pk), application.organisation)


OFFICE = "District Agriculture Office, Pune"
OUT_OF_SERVICE = " Someone who has retired or left government service cannot act as a nodal officer. If that is wrong, " \
    f"ask the administrators of {OFFICE} to correct it."


@pytest.mark.parametrize("status, ended, expected", [
    ("verified", {"superannuation_date": timedelta(days=-1)},
     f"The latest government verification of this account, in {OFFICE}, ended at its date of superannuation: someone "
     "who has retired or left government service cannot act as a nodal officer. If that date is wrong, ask the "
     f"administrators of {OFFICE} to correct it."),
    ("revoked", {"reason_code": "retirement"},
     f"The latest government verification of this account, in {OFFICE}, was ended for this reason: Retired."
     + OUT_OF_SERVICE),
    ("revoked", {"reason_code": "left_service"},
     f"The latest government verification of this account, in {OFFICE}, was ended for this reason: Left government "
     "service." + OUT_OF_SERVICE),
    ("suspended", {"reason_code": "retirement"},
     f"The latest government verification of this account, in {OFFICE}, was ended for this reason: Retired."
     + OUT_OF_SERVICE),
], ids=["past-superannuation", "revoked-retired", "revoked-left-service", "suspended-retired"])
def test_an_officer_who_left_government_service_can_neither_submit_nor_become_first_admin(
        officer, officer_client, admin, status, ended, expected):
    """The nodal officer's latest verification says they left government service: past its
    date of superannuation (over from the next day, before the hourly job revokes it), or
    ended on retirement or on leaving service. Their complete draft cannot be sent out for
    decisions in their name, and their application with the state administrators cannot
    make them the new organisation's first admin: each refused with the reason, nothing
    changed."""
    from tests.verification.helpers import GovernmentProfileFactory

    draft = filled_application(officer)
    waiting = application_with_state(nodal_officer=officer)
    if "superannuation_date" in ended:
        ended = {"superannuation_date": timezone.localdate() + ended["superannuation_date"]}
    GovernmentProfileFactory(user=officer, organisation=OrganisationFactory(name=OFFICE), status=status, **ended)
    with pytest.raises(ValidationError) as refused:
        onboarding_services.application_submit(application_id=draft.pk, actor=officer)
    assert refused.value.messages == [expected]
    told = page(officer_client.get(f"/onboarding/{draft.pk}/submit/", follow=True)).squashed_text()
    assert f"You cannot submit this application: {expected}" in told  # the draft is still theirs to change
    officer_client.post(f"/onboarding/{draft.pk}/submit/")
    draft.refresh_from_db()
    assert (draft.status, draft.reference) == ("draft", None)
    with pytest.raises(ValidationError) as refused:
        approvals.step_decide(step_id=state_step(waiting).pk, decision="approve", actor=admin)
    assert refused.value.message_dict == {"decision": [
        f"The nodal officer can no longer be made the organisation's admin: {expected} Return the application for "
        "correction instead."]}
    waiting.refresh_from_db()
    assert (waiting.status, waiting.organisation) == ("with_state", None)
    assert not Membership.objects.filter(user=officer, role="admin").exists()


def test_an_officer_who_left_government_service_sends_the_authority_no_new_link(officer, officer_client):
    """A new link asks the competent authority for a decision in the officer's name, which
    final approval would refuse: refused with the reason, as submitting is, none mailed."""
    from onboarding.models import AuthorityToken
    from tests.verification.helpers import GovernmentProfileFactory

    application = submitted_application(officer)
    GovernmentProfileFactory(user=officer, organisation=OrganisationFactory(name=OFFICE), status="revoked",
                             reason_code="left_service")
    expected = (f"The latest government verification of this account, in {OFFICE}, was ended for this reason: Left "
                "government service." + OUT_OF_SERVICE)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        with pytest.raises(ValidationError) as refused:
            approvals.step_resend_authority_link(application_id=application.pk, actor=officer)
        assert refused.value.messages == [expected]
        told = page(officer_client.post(f"/onboarding/{application.pk}/resend-link/", follow=True)).squashed_text()
    assert f"You can no longer change, submit or send links for this application. {expected}" in told
    assert AuthorityToken.objects.filter(step__application=application).count() == 1


def test_an_officer_transferred_or_verified_again_after_leaving_service_may_submit(officer):
    """Only the latest verification counts, and only a reason of leaving service: a
    verification revoked on a transfer says nothing of it, and someone re-employed (verified
    again since a retirement) is in service."""
    from tests.verification.helpers import GovernmentProfileFactory

    earlier = timezone.now() - timedelta(days=400)
    GovernmentProfileFactory(user=officer, status="revoked", reason_code="retirement", verified_at=earlier)
    GovernmentProfileFactory(user=officer, status="revoked", reason_code="transfer")
    assert onboarding_services.application_submit(application_id=filled_application(officer).pk,
                                                  actor=officer).status == "with_authority"
    GovernmentProfileFactory(user=officer, status="verified", superannuation_date=timezone.localdate())  # until tonight
    assert onboarding_services.application_submit(application_id=filled_application(officer).pk,
                                                  actor=officer).status == "with_authority"


# The level chosen decides who decides ---------------------------------------------------------

def test_a_level_that_does_not_match_the_parent_is_flagged(admin):
    parent = OrganisationFactory(state="MH", name="Agriculture Department, Maharashtra")
    data = with_domains("mahaagri.gov.in", level="state", state="KA")
    data["hierarchy"] = {"parent_choice": "existing", "parent": str(parent.pk), "new_parent_name": "", "new_parent_type": ""}
    application = ApplicationFactory(data=data, jurisdiction="KA")
    flags = review_flags(application)
    assert any("Agriculture Department, Maharashtra" in flag and "Karnataka" in flag for flag in flags), flags
    assert not review_flags(ApplicationFactory(data={**data, "organisation": {**data["organisation"], "state": "MH"}},
                                               jurisdiction="MH"))


def test_a_domain_official_for_an_organisation_of_another_state_is_flagged(admin):
    OrganisationDomain.objects.create(organisation=OrganisationFactory(state="KA", name="Karnataka Krishi"),
                                      domain="krishi.kar.gov.in", is_verified=True)
    application = ApplicationFactory(data=with_domains("krishi.kar.gov.in"), jurisdiction="MH")
    assert any("Karnataka Krishi" in flag for flag in review_flags(application))


def test_domains_official_for_the_applications_own_organisation_are_not_flagged_those_of_others_are(admin):
    own = OrganisationFactory(state="KA", name="Krishi Own")
    OrganisationDomain.objects.create(organisation=own, domain="own.kar.gov.in", is_verified=True)
    OrganisationDomain.objects.create(organisation=OrganisationFactory(state="KA", name="Karnataka Krishi"),
                                      domain="krishi.kar.gov.in", is_verified=True)
    for domains, organisation, flagged in [
        ("own.kar.gov.in, krishi.kar.gov.in", own, {"Karnataka Krishi"}),
        ("own.kar.gov.in", own, set()),
        ("own.kar.gov.in", None, {"Krishi Own"}),
        ("own.kar.gov.in, krishi.kar.gov.in, new.mh.gov.in", None, {"Krishi Own", "Karnataka Krishi"}),
    ]:
        application = ApplicationFactory(data=with_domains(domains), jurisdiction="MH", organisation=organisation)
        flags = review_flags(application)
        assert {name for name in ("Krishi Own", "Karnataka Krishi") if any(name in flag for flag in flags)} == flagged


def test_an_auditor_reading_a_form_pdf_writes_nothing():
    application = ApplicationFactory(status="with_state")
    auditor = PlatformRoleFactory(role="auditor", jurisdiction="").user
    with_totp(auditor)
    events = AuditEvent.objects.count()
    response = signed_in(auditor).get(f"/onboarding/{application.pk}/form.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response["Content-Disposition"].endswith(f'"{application.reference}-onboarding-form.pdf"')
    assert not ApplicationDocument.objects.exists() and AuditEvent.objects.count() == events


# Domain claims page: 5 queries, whatever the number of claims.
#   1 session, 2 user with platform roles (the rule, the menu) and second factor
#   (MFA middleware) in one query, 3 the number of claims (the pager), 4 a page of claims
#   with their organisations (one join) and the organisation each domain is official for
#   otherwise (a subquery), 5 the official-email rules (whether each can be accepted).
@pytest.mark.parametrize("count", [1, 40, 60])
def test_domain_claims_page_query_count(count, django_assert_num_queries):
    for i in range(count):
        OrganisationDomain.objects.create(organisation=OrganisationFactory(), domain=f"claim{i}.example.org",
                                          is_verified=False, claim=DomainClaim.NOT_OFFICIAL)
    client = signed_in(make_superadmin())
    assert client.get("/portal/organisations/domain-claims/").status_code == 200
    with django_assert_num_queries(DOMAIN_CLAIMS_QUERIES):
        html = client.get("/portal/organisations/domain-claims/").content.decode()
    assert html.count(".example.org</code>") == min(count, 50)


DOMAIN_CLAIMS_QUERIES = 5
