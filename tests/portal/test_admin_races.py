"""Two administrators doing the same thing at once, with real concurrent transactions
on PostgreSQL (tests/onboarding/test_race_pg.py's race): accepting two organisations'
claims to one domain, revoking each other's superadmin role, reminding two offices that
share a contact address."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from monitoring import services as monitoring_services
from monitoring.models import ExpectedOffice
from portal.accounts.models import EmailSuffixRule
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import _CHAIN_LOCK_KEY
from portal.mail.models import OutboxMessage
from portal.organisations import services
from portal.organisations.models import DomainClaim, OrganisationDomain, PlatformRole, PlatformRoleGrant
from tests.factories import OrganisationFactory
from tests.html_tree import field_error, field_value, parse
from tests.onboarding.approval_helpers import TRANSACTIONAL, make_state_admin, make_superadmin, second_factor_given
from tests.onboarding.test_race_pg import race

pytestmark = [TRANSACTIONAL, pytest.mark.usefixtures("require_postgresql")]


def test_two_superadmins_accepting_two_claims_to_one_domain_at_once(db):
    claims = [OrganisationDomain.objects.create(organisation=OrganisationFactory(name=f"Institute of Research {x}"),
                                                domain="iisr.res.in", claim=DomainClaim.NOT_OFFICIAL) for x in "AB"]
    clients = []
    for email in ("root.one@nic.in", "root.two@nic.in"):
        client = Client(raise_request_exception=False)
        root = make_superadmin(email=email)
        client.force_login(root)
        second_factor_given(client, root)
        clients.append(client)
    results = race(
        [lambda i=i: clients[i].post(f"/portal/organisations/domain-claims/{claims[i].pk}/accept/", {"confirm": "yes"})
         for i in range(2)],
        hold_sql="SELECT id FROM organisations_organisationdomain WHERE id IN (%s, %s) FOR UPDATE",
        hold_params=[claims[0].pk, claims[1].pk],
    )
    # Both back on the list (the second was a 500: the unique index); the second told the
    # domain is now official for another organisation.
    assert [value.status_code for _outcome, value in results] == [302, 302], results
    said = [" ".join(str(m) for m in client.get("/portal/organisations/domain-claims/").context["messages"])
            for client in clients]
    assert sum("is now official for" in text for text in said) == 1
    assert sum(str(DomainClaim.CLAIMED_ELSEWHERE.label) in text for text in said) == 1, said
    assert OrganisationDomain.objects.filter(domain="iisr.res.in", is_verified=True).count() == 1


def _superadmin_clients(*emails):
    clients = []
    for email in emails:
        client = Client(raise_request_exception=False)
        root = make_superadmin(email=email)
        client.force_login(root)
        second_factor_given(client, root)
        clients.append(client)
    return clients


def test_two_superadmins_removing_one_domain_at_once_both_land_on_the_status_page(db):
    """Both confirmed the removal of one domain (or one sent it twice): the second, which
    found the domain there before the first removed it, is told there is nothing to remove
    (it was a 500: the domain read again under the organisation's lock, gone)."""
    office = OrganisationFactory(name="District Agriculture Office, Pune")
    row = OrganisationDomain.objects.create(organisation=office, domain="pune.mahaagri.gov.in", is_verified=True)
    clients = _superadmin_clients("root.one@nic.in", "root.two@nic.in")
    url = f"/portal/organisations/{office.pk}/domains/{row.pk}/remove/"
    results = race([lambda i=i: clients[i].post(url, {"reason": "A lookalike of the department's.", "confirm": "on"})
                    for i in range(2)],
                   hold_sql="SELECT id FROM organisations_organisation WHERE id = %s FOR UPDATE", hold_params=[office.pk])
    assert [value.status_code for _outcome, value in results] == [302, 302], results
    said = [" ".join(str(m) for m in client.get(f"/portal/organisations/{office.pk}/").context["messages"])
            for client in clients]
    assert sum("pune.mahaagri.gov.in was removed from" in text for text in said) == 1, said
    assert sum("is no longer one of District Agriculture Office, Pune's: there is nothing to remove" in text
               for text in said) == 1, said
    assert AuditEvent.objects.filter(action=AuditAction.DOMAIN_REMOVED).count() == 1


def test_a_claim_accepted_while_another_superadmin_removes_it_is_said_gone(db):
    office = OrganisationFactory(name="Krishi Seva Kendra")
    claim = OrganisationDomain.objects.create(organisation=office, domain="krishi-seva.org", is_verified=False,
                                              claim=DomainClaim.NOT_OFFICIAL)
    remover, accepter = _superadmin_clients("root.one@nic.in", "root.two@nic.in")
    results = race(
        [lambda: remover.post(f"/portal/organisations/{office.pk}/domains/{claim.pk}/remove/",
                              {"reason": "Not theirs.", "confirm": "on"}),
         lambda: accepter.post(f"/portal/organisations/domain-claims/{claim.pk}/accept/", {"confirm": "yes"})],
        hold_sql="SELECT id FROM organisations_organisationdomain WHERE id = %s FOR UPDATE", hold_params=[claim.pk],
        staggered=True,
    )
    assert [value.status_code for _outcome, value in results] == [302, 302], results
    said = " ".join(str(m) for m in accepter.get("/portal/organisations/domain-claims/").context["messages"])
    assert "krishi-seva.org was removed from Krishi Seva Kendra meanwhile: there is nothing to accept." in said
    assert not OrganisationDomain.objects.filter(domain="krishi-seva.org").exists()


def test_two_superadmins_revoking_each_other_at_once_revoke_only_one(db):
    one, two = make_superadmin(email="root.one@nic.in"), make_superadmin(email="root.two@nic.in")
    grant_one, grant_two = (PlatformRoleGrant.objects.get(user=u, role=PlatformRole.SUPERADMIN) for u in (one, two))
    results = race([
        lambda: services.platform_role_revoke(grant_id=grant_two.pk, actor=one, reason="Left the department."),
        lambda: services.platform_role_revoke(grant_id=grant_one.pk, actor=two, reason="Left the department."),
    ], hold_sql="SELECT id FROM accounts_user WHERE id IN (%s, %s) FOR UPDATE", hold_params=[one.pk, two.pk])
    # One after the other, the second is refused: its actor is no longer a superadmin.
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    assert isinstance(next(value for outcome, value in results if outcome == "error"), PermissionDenied)
    assert PlatformRoleGrant.objects.filter(role=PlatformRole.SUPERADMIN, revoked_at__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.PLATFORM_ROLE_REVOKED).count() == 1


def test_two_offices_sharing_an_address_reminded_at_once_send_one_reminder(db):
    admin = make_state_admin("MH", email="admin.tracker@maharashtra.gov.in")
    offices = [ExpectedOffice.objects.create(jurisdiction="MH", name=f"Office {i}", short_code=f"OFF-{i}",
                                             contact_email="it.cell@maharashtra.gov.in", target_date=date(2030, 1, 1))
               for i in range(2)]
    results = race(
        [lambda o=o: monitoring_services.expected_office_remind(office=o, editable={"MH"}, status="not_started",
                                                                actor=admin) for o in offices],
        hold_sql="SELECT id FROM monitoring_expectedoffice WHERE id IN (%s, %s) FOR UPDATE",
        hold_params=[o.pk for o in offices],
    )
    assert sorted(outcome for outcome, _value in results) == ["error", "ok"], results
    assert next(value for outcome, value in results if outcome == "error").code == "too_soon"
    assert OutboxMessage.objects.filter(to__contains=["it.cell@maharashtra.gov.in"]).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.ADOPTION_REMINDER_SENT).count() == 1


# A double click (two identical POSTs at once) on the adoption tracker, the email rules
# and the legal holds: one effect, and the second told why at the field, never a 500.

CHAIN = {"hold_sql": "SELECT pg_advisory_xact_lock(%s)", "hold_params": [_CHAIN_LOCK_KEY]}


def _signed_in(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    second_factor_given(client, user)
    return client


def test_adding_an_expected_office_twice_at_once_adds_it_once_and_says_so_at_the_short_code(db):
    """A double click on "Add an office": the office is listed once, and the second click
    shows the form again, as typed, with "Another office of this list has this short
    code." at the short code (it was a server error: the unique short code)."""
    admin = make_state_admin("MH", email="admin.tracker@maharashtra.gov.in")
    clients = [_signed_in(admin), _signed_in(admin)]
    form = {"jurisdiction": "MH", "name": "Ports Department", "short_code": "MH-PORTS", "official_domain": "",
            "contact_email": "ports@mh.gov.in", "target_date": "2030-03-31"}
    results = race([lambda c=c: c.post("/monitoring/adoption/new/", form) for c in clients], **CHAIN)
    assert sorted(value.status_code for _outcome, value in results) == [200, 302], results
    refused = parse(next(value for _outcome, value in results if value.status_code == 200).content)
    assert field_error(refused, "short_code") == "Another office of this list has this short code."
    assert field_value(refused, "name") == "Ports Department"
    assert ExpectedOffice.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.ADOPTION_LIST_CHANGED).count() == 1


def test_uploading_a_list_twice_at_once_adds_its_offices_once_and_says_so_at_the_file(db):
    """The same list uploaded twice at once (a double click on "Upload"): its offices
    are listed once, and the second upload shows the form again with, at the file, that
    nothing was saved because the office was added meanwhile (it was a server error)."""
    admin = make_state_admin("MH", email="admin.tracker@maharashtra.gov.in")
    clients = [_signed_in(admin), _signed_in(admin)]
    text = ("name,short_code,official_domain,contact_email,target_date\n"
            "Ports,MH-PORTS,,ports@mh.gov.in,2030-03-31\nMines,,mines.mh.gov.in,mines@mh.gov.in,2030-04-30\n")

    def send(client):
        file = SimpleUploadedFile("offices.csv", text.encode("utf-8"), content_type="text/csv")
        return client.post("/monitoring/adoption/upload/", {"jurisdiction": "MH", "file": file})

    results = race([lambda c=c: send(c) for c in clients], **CHAIN)
    assert sorted(value.status_code for _outcome, value in results) == [200, 302], results
    refused = parse(next(value for _outcome, value in results if value.status_code == 200).content)
    assert field_error(refused, "file") == (
        "Nothing was saved: an office with the short code or domain of MH-PORTS was added to a list meanwhile "
        "(another upload or change at the same moment). Send the file again: the offices listed by then are "
        "updated, not added twice.")
    assert ExpectedOffice.objects.count() == 2


def test_adding_an_email_rule_twice_at_once_adds_it_once_and_says_so_at_the_suffix(db):
    """A double click on "Add rule": the rule is added once, and the second click shows
    the form again with "There is already a rule for iisr.res.in." at the suffix (it was
    a server error: the unique suffix)."""
    root = make_superadmin(email="root.one@nic.in")
    clients = [_signed_in(root), _signed_in(root)]
    form = {"suffix": "iisr.res.in", "kind": "official", "note": "Research institute"}
    results = race([lambda c=c: c.post("/portal/email-rules/", form) for c in clients], **CHAIN)
    assert sorted(value.status_code for _outcome, value in results) == [200, 302], results
    refused = parse(next(value for _outcome, value in results if value.status_code == 200).content)
    assert field_error(refused, "suffix") == "There is already a rule for iisr.res.in."
    assert field_value(refused, "note") == "Research institute"
    assert EmailSuffixRule.objects.filter(suffix="iisr.res.in").count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.EMAIL_RULE_CREATED).count() == 1


def test_deleting_an_email_rule_twice_at_once_deletes_it_once_and_says_it_was_already_deleted(db):
    """A double click on "Delete" of an email rule: the rule is deleted once, and the
    second click goes back to the list too, saying the rule was already deleted (it was a
    server error: the rule it was about to delete was gone)."""
    root = make_superadmin(email="root.one@nic.in")
    rule = EmailSuffixRule.objects.create(suffix="iisr.res.in", kind="official", note="")
    clients = [_signed_in(root), _signed_in(root)]
    form = {"action": "delete", "confirm": "yes"}
    results = race([lambda c=c: c.post(f"/portal/email-rules/{rule.pk}/", form) for c in clients], **CHAIN)
    assert [value.status_code for _outcome, value in results] == [302, 302], results
    said = [" ".join(str(m) for m in client.get("/portal/email-rules/").context["messages"]) for client in clients]
    assert sorted(said) == ["Rule deleted.", "This rule was already deleted."], said
    assert not EmailSuffixRule.objects.filter(pk=rule.pk).exists()
    assert AuditEvent.objects.filter(action=AuditAction.EMAIL_RULE_DELETED).count() == 1


def test_taking_an_expected_office_off_the_list_twice_at_once_says_it_was_already_taken_off(db):
    """A double click on "Take off the list": the office is taken off once, and the
    second click goes back to the tracker too, saying the office was already taken off
    the list (it was a server error: the office it was about to remove was gone)."""
    admin = make_state_admin("MH", email="admin.tracker@maharashtra.gov.in")
    office = ExpectedOffice.objects.create(jurisdiction="MH", name="Ports", short_code="MH-PORTS",
                                           contact_email="ports@mh.gov.in", target_date=date(2030, 1, 1))
    clients = [_signed_in(admin), _signed_in(admin)]
    results = race([lambda c=c: c.post(f"/monitoring/adoption/{office.pk}/delete/") for c in clients], **CHAIN)
    assert [value.status_code for _outcome, value in results] == [302, 302], results
    said = [" ".join(str(m) for m in client.get("/monitoring/adoption/").context["messages"]) for client in clients]
    assert sorted(said) == ["The office was already taken off the list.", "The office was taken off the list."], said
    assert not ExpectedOffice.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.ADOPTION_LIST_CHANGED).count() == 1


def test_editing_an_email_rule_another_superadmin_deletes_at_once_is_no_server_error(db):
    """One superadmin saves a change to a rule while another deletes it: whichever goes
    first, neither gets a server error; an edit that comes second is told at its field
    that the rule was already deleted."""
    rule = EmailSuffixRule.objects.create(suffix="iisr.res.in", kind="official", note="")
    editor = _signed_in(make_superadmin(email="root.one@nic.in"))
    deleter = _signed_in(make_superadmin(email="root.two@nic.in"))
    results = race([
        lambda: editor.post(f"/portal/email-rules/{rule.pk}/", {"suffix": "iisr.res.in", "kind": "official",
                                                                "note": "Indian Institute of Spices Research"}),
        lambda: deleter.post(f"/portal/email-rules/{rule.pk}/", {"action": "delete", "confirm": "yes"}),
    ], **CHAIN)
    edited, deleted = (value for _outcome, value in results)
    assert deleted.status_code == 302
    assert edited.status_code in (200, 302), results
    if edited.status_code == 200:
        assert "This rule was already deleted." in edited.content.decode()
    assert not EmailSuffixRule.objects.filter(pk=rule.pk).exists()


def test_the_services_refuse_to_change_what_was_deleted_meanwhile(db):
    from django.core.exceptions import ValidationError

    from monitoring.services import expected_office_save
    from portal.accounts.services import email_rule_save

    root = make_superadmin(email="root.one@nic.in")
    rule = EmailSuffixRule.objects.create(suffix="iisr.res.in", kind="official", note="")
    rule_id = rule.pk
    rule.delete()
    with pytest.raises(ValidationError, match="This rule was already deleted."):
        email_rule_save(suffix="iisr.res.in", kind="official", note="x", actor=root, rule_id=rule_id)
    office = ExpectedOffice.objects.create(jurisdiction="MH", name="Ports", short_code="MH-PORTS",
                                           contact_email="ports@mh.gov.in", target_date=date(2030, 1, 1))
    ExpectedOffice.objects.filter(pk=office.pk).delete()
    values = {"jurisdiction": "MH", "name": "Ports Department", "short_code": "MH-PORTS", "official_domain": "",
              "contact_email": "ports@mh.gov.in", "target_date": date(2030, 1, 1)}
    with pytest.raises(ValidationError, match="The office was already taken off the list."):
        expected_office_save(office=office, values=values, editable=None, actor=root)


def test_an_upload_refused_as_another_took_a_domain_it_gives_an_office_names_that_office():
    """Two lists saved at once: Karnataka's adds an office on new.mh.gov.in while
    Maharashtra's renames office A and moves office B onto that domain. Maharashtra's is
    refused, naming B (the office whose new domain was taken), not A (the first it changes)."""
    def row(name, code, domain=""):
        return {"name": name, "short_code": code, "official_domain": domain, "contact_email": "x@mh.gov.in",
                "target_date": date(2030, 1, 1)}

    for code in ("A", "B"):
        ExpectedOffice.objects.create(jurisdiction="MH", name=f"Office {code}", short_code=code,
                                      contact_email="x@mh.gov.in", target_date=date(2030, 1, 1))
    contenders = [
        lambda: monitoring_services.expected_offices_import(jurisdiction="KA", rows=[row("Other", "K", "new.mh.gov.in")],
                                                            editable=None, actor=None),
        lambda: monitoring_services.expected_offices_import(
            jurisdiction="MH", rows=[row("Office A renamed", "A"), row("Office B", "B", "new.mh.gov.in")],
            editable=None, actor=None),
    ]
    results = race(contenders, staggered=True, **CHAIN)  # Karnataka's written first, then waiting for the log
    assert results[0][0] == "ok", results
    outcome, refusal = results[1]
    assert outcome == "error" and refusal.messages == [
        "Nothing was saved: an office with the short code or domain of B was added to a list meanwhile (another "
        "upload or change at the same moment). Send the file again: the offices listed by then are updated, not "
        "added twice."], results
    assert ExpectedOffice.objects.get(short_code="A").name == "Office A"
