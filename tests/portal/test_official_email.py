"""Official email rules (DESIGN §3): classification, the refusal messages, rule
editing by superadmins (audited), and the refusal in the onboarding form."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from onboarding.models import Application
from portal.accounts.models import EmailSuffixRule, SuffixKind
from portal.accounts.official_email import (
    CONSUMER,
    CONTRACTOR,
    INVALID,
    MANUAL_REVIEW,
    OFFICIAL,
    UNKNOWN,
    classify_email,
    explain_refusal,
    normalise_mailbox,
    suffix_matches,
    validate_official_email,
)
from portal.accounts.services import clean_suffix
from portal.audit.models import AuditAction, AuditEvent
from portal.organisations.models import PlatformRole, PlatformRoleGrant
from tests.factories import PASSWORD, OrganisationDomainFactory, UserFactory
from tests.html_tree import (
    error_message,
    field_container,
    field_error,
    field_value,
    form_as_sent,
    page,
    printed_controls,
    printed_text,
)
from tests.onboarding.approval_helpers import make_superadmin, second_factor_given, with_totp
from tests.onboarding.form_helpers import new_application, post_section, valid

pytestmark = pytest.mark.django_db


# Label-by-label matching -------------------------------------------------------

@pytest.mark.parametrize(
    "address",
    ["officer@mha.gov.in", "OFFICER@MHA.GOV.IN", "Officer@Mha.Gov.In", "a.b@cyber.mha.gov.in", "someone@gov.in",
     "x@nic.in", "x@sandes.nic.in", "x@army.mil.in"],
)
def test_official_suffixes_accept_their_subdomains_in_any_case(address):
    verdict = classify_email(address)
    assert verdict.kind == OFFICIAL
    assert verdict.is_official_mail and verdict.eligible_as_officer
    assert verdict.address == address.lower()
    assert validate_official_email(address) == address.lower()


@pytest.mark.parametrize(
    "address",
    ["user@evilgov.in", "user@gov.in.evil.com", "user@mha.gov.in.example.org", "user@notnic.in", "user@gov-in.com",
     "user@gov.co", "user@mhagov.in"],
)
def test_lookalike_domains_are_not_official(address):
    verdict = classify_email(address)
    assert verdict.kind == UNKNOWN
    assert not verdict.is_official_mail
    with pytest.raises(ValidationError) as excinfo:
        validate_official_email(address)
    assert excinfo.value.code == f"email_{UNKNOWN}"
    assert verdict.domain in str(excinfo.value)
    assert "is not an official government domain" in str(excinfo.value)


def test_suffix_matching_compares_whole_labels():
    assert suffix_matches("mha.gov.in", "gov.in")
    assert suffix_matches("gov.in", "gov.in")
    assert not suffix_matches("evilgov.in", "gov.in")
    assert not suffix_matches("gov.in.evil.com", "gov.in")
    assert not suffix_matches("in", "gov.in")
    assert suffix_matches("acme-external.gov.in", "-external.gov.in")
    assert suffix_matches("mail.acme-external.gov.in", "-external.gov.in")
    assert not suffix_matches("external.gov.in", "-external.gov.in")
    assert not suffix_matches("acmeexternal.gov.in", "-external.gov.in")
    assert not suffix_matches("acme-external.gov.in.evil.com", "-external.gov.in")


# IDNA ---------------------------------------------------------------------------

def test_unicode_domain_under_an_official_suffix_is_official_and_idna_encoded():
    verdict = classify_email("adhikari@कृषि.gov.in")
    assert verdict.kind == OFFICIAL
    assert verdict.domain == "कृषि".encode("idna").decode("ascii") + ".gov.in"
    assert verdict.domain.startswith("xn--")
    assert verdict.address == f"adhikari@{verdict.domain}"


@pytest.mark.parametrize("address", [
    "nodal.officer@a\u00dfam.gov.in",        # ß: IDNA 2008 keeps it (xn--aam-...), Django's mail sends to assam.gov.in
    "officer@\u03c3\u03bf\u03c2.gov.in",    # final sigma: mapped to σ by IDNA 2003 only
])
def test_a_domain_encoded_one_way_when_checked_and_another_when_mailed_is_invalid(address):
    verdict = classify_email(address)
    assert verdict.kind == INVALID
    with pytest.raises(ValidationError) as refused:
        validate_official_email(address)
    assert refused.value.code == "email_invalid"


def test_unicode_domain_outside_the_list_is_not_official():
    assert classify_email("adhikari@कृषि.भारत").kind == UNKNOWN


def test_homoglyph_of_gov_in_is_not_official():
    # "gоv.in" with a Cyrillic "о": IDNA turns it into a different (xn--) label.
    verdict = classify_email("officer@mha.g\u043ev.in")
    assert verdict.kind == UNKNOWN
    assert "xn--" in verdict.domain


# Consumer mail, contractors, manual review ----------------------------------------

@pytest.mark.parametrize(
    "address",
    ["someone@gmail.com", "SOMEONE@GMAIL.COM", "a@yahoo.co.in", "a@yahoo.com", "a@outlook.com", "a@hotmail.com",
     "a@rediffmail.com", "a@googlemail.com", "a@icloud.com"],
)
def test_consumer_mail_is_never_official(address):
    verdict = classify_email(address)
    assert verdict.kind == CONSUMER
    assert not verdict.is_official_mail
    message = explain_refusal(verdict, for_officer=True)
    assert "personal mail service" in message
    for suffix in ("gov.in", "nic.in", "mil.in"):
        assert suffix in message


@pytest.mark.parametrize(
    "address",
    # Yahoo's, Microsoft's and others' services in other countries (any country's domain),
    # and personal mail services common in India or elsewhere that the seed list lacked.
    ["a@yahoo.co.uk", "a@yahoo.com.au", "a@yahoo.fr", "a@in.yahoo.com", "a@mail.yahoo.co.uk", "a@hotmail.co.uk",
     "a@hotmail.in", "a@hotmail.fr", "a@outlook.co.in", "a@outlook.com.au", "a@live.co.uk", "a@aol.in",
     "a@aol.co.uk", "a@gmx.de", "a@gmx.net", "a@yandex.ru", "a@mail.ru", "a@zohomail.com", "a@protonmail.ch",
     "a@pm.me", "a@tuta.io", "a@tutanota.de", "a@fastmail.com", "a@hey.com", "a@indiatimes.com", "a@sify.com",
     "a@vsnl.net"],
)
def test_personal_mail_services_beyond_the_seeded_rules_are_consumer_mail(address):
    """Never official, refused as a personal mail service (not merely as not official):
    at the onboarding form, on a roster, for an organisation's domain."""
    from portal.accounts.official_email import personal_mail_service

    assert classify_email(address).kind == CONSUMER
    assert personal_mail_service(address.rpartition("@")[2])


def test_a_personal_mail_service_stays_consumer_mail_when_its_rule_is_deleted():
    EmailSuffixRule.objects.filter(suffix__in=["gmail.com", "yahoo.co.in"]).delete()
    assert classify_email("a@gmail.com").kind == CONSUMER
    assert classify_email("a@yahoo.co.in").kind == CONSUMER


@pytest.mark.parametrize("address", ["a@hotmail.gov.in", "a@live.mha.gov.in", "a@outlook.nic.in", "a@yahoo.nic.in",
                                     "a@mail.gov.in"])
def test_a_government_domain_named_like_a_mail_service_stays_official(address):
    assert classify_email(address).kind == OFFICIAL


@pytest.mark.parametrize("domain", ["yahoo.co.uk", "hotmail.co.uk", "mail.yahoo.fr", "indiatimes.com"])
def test_an_organisation_is_never_given_a_personal_mail_domain(domain):
    """A superadmin adding it, or accepting a claim to it, is refused at the domain; a claim
    to one is not offered on the domain claims page."""
    from portal.organisations.models import DomainClaim, OrganisationDomain
    from portal.organisations.selectors import pending_domain_claims
    from portal.organisations.services import organisation_domain_accept, organisation_domain_add
    from tests.factories import OrganisationFactory

    root = make_superadmin()
    organisation = OrganisationFactory()
    with pytest.raises(ValidationError) as refused:
        organisation_domain_add(organisation_id=organisation.pk, domain=domain, reason="Their mail", actor=root)
    assert refused.value.error_dict["domain"][0].code == "consumer_domain"
    claim = OrganisationDomain.objects.create(organisation=organisation, domain=domain, claim=DomainClaim.NOT_OFFICIAL)
    assert claim not in pending_domain_claims()
    with pytest.raises(ValidationError) as refused:
        organisation_domain_accept(domain_id=claim.pk, actor=root)
    assert refused.value.code == "consumer_domain"
    assert not OrganisationDomain.objects.filter(domain=domain, is_verified=True).exists()


@pytest.mark.parametrize("domain", ["shop-webmail.co.in", "mail.shop-webmail.co.in"])
def test_a_claim_to_a_domain_under_a_label_ending_consumer_rule_is_not_offered(domain):
    """A consumer rule for a label ending ("-webmail.co.in") makes "shop-webmail.co.in" a
    personal mail service, whose claim a superadmin's acceptance refuses: the claims page
    listed it as waiting all the same (its query matched a rule's suffix whole or after a
    dot only)."""
    from portal.organisations.models import DomainClaim, OrganisationDomain
    from portal.organisations.selectors import pending_domain_claims
    from tests.factories import OrganisationFactory

    EmailSuffixRule.objects.create(suffix="-webmail.co.in", kind=SuffixKind.CONSUMER)
    organisation = OrganisationFactory()
    claim = OrganisationDomain.objects.create(organisation=organisation, domain=domain, claim=DomainClaim.NOT_OFFICIAL)
    kept = OrganisationDomain.objects.create(organisation=organisation, domain="webmail.co.in",
                                             claim=DomainClaim.NOT_OFFICIAL)
    assert classify_email(f"a@{domain}").kind == CONSUMER
    assert list(pending_domain_claims()) == [kept] and claim.pk != kept.pk


def test_consumer_rule_wins_over_a_manual_review_suffix():
    # yahoo.co.in also ends in co.in (manual review): consumer mail is checked first.
    assert classify_email("a@yahoo.co.in").kind == CONSUMER


def test_consumer_rule_wins_even_over_a_registered_domain():
    OrganisationDomainFactory(domain="gmail.com", is_verified=True)
    assert classify_email("a@gmail.com").kind == CONSUMER


def test_contractor_domain_is_official_mail_but_not_eligible_as_officer():
    verdict = classify_email("dev@acme-external.gov.in")
    assert verdict.kind == CONTRACTOR
    assert verdict.is_official_mail
    assert not verdict.eligible_as_officer
    assert validate_official_email("dev@acme-external.gov.in", for_officer=False) == "dev@acme-external.gov.in"
    with pytest.raises(ValidationError) as excinfo:
        validate_official_email("dev@acme-external.gov.in", for_officer=True)
    assert excinfo.value.code == f"email_{CONTRACTOR}"
    assert "contractor domain" in str(excinfo.value)
    assert classify_email("dev@acme-external.nic.in").kind == CONTRACTOR


@pytest.mark.parametrize("address", ["dev@acmé-external.gov.in", "dev@विक्रेता-external.gov.in",
                                     "dev@mail.acmé-external.nic.in"])
def test_a_contractor_domain_with_a_letter_outside_ascii_is_still_a_contractors(address):
    """IDNA moves a label's ASCII part to its front ("acmé-external" is "xn--acm-external-deb"):
    compared encoded, the label ending "-external" matched no such domain, which then counted
    as official and eligible as the nodal officer's or the competent authority's."""
    verdict = classify_email(address)
    assert verdict.kind == CONTRACTOR and not verdict.eligible_as_officer
    with pytest.raises(ValidationError):
        validate_official_email(address, for_officer=True)


def test_a_label_ending_typed_in_devanagari_matches_its_domains():
    from portal.accounts.services import email_rule_save

    rule = email_rule_save(suffix="-बाहरी.gov.in", kind=SuffixKind.CONTRACTOR, actor=make_superadmin())
    assert rule.suffix == "-xn--p2bi0atm.gov.in"
    assert classify_email("dev@विक्रेता-बाहरी.gov.in").kind == CONTRACTOR
    assert classify_email("dev@बाहरी.gov.in").kind == OFFICIAL  # the ending alone is no label ending
    assert suffix_matches("xn--acm-external-deb.gov.in", "-external.gov.in")
    assert not suffix_matches("xn--acmexternal-dbb.gov.in", "-external.gov.in")  # "acméexternal"


def test_academic_domain_needs_manual_review_until_registered_to_an_organisation():
    verdict = classify_email("registrar@iitb.ac.in")
    assert verdict.kind == MANUAL_REVIEW
    assert not verdict.is_official_mail
    message = explain_refusal(verdict, for_officer=True)
    assert "needs manual review" in message and "gov.in" in message

    # Registered but not verified: still manual review.
    OrganisationDomainFactory(domain="iitb.ac.in", is_verified=False)
    assert classify_email("registrar@iitb.ac.in").kind == MANUAL_REVIEW

    OrganisationDomainFactory(domain="iitb.ac.in", is_verified=True)
    verdict = classify_email("registrar@iitb.ac.in")
    assert verdict.kind == OFFICIAL and verdict.eligible_as_officer
    # Only that domain: another ac.in domain still needs review.
    assert classify_email("registrar@iitd.ac.in").kind == MANUAL_REVIEW


@pytest.mark.parametrize(
    "address", ["", "   ", "not-an-email", "user@", "@gov.in", "user@mha..gov.in", "user@@mha.gov.in", "user mha.gov.in",
                "user@-mha.gov.in", "user@mha.gov.in>", "अधिकारी@mha.gov.in"],
)
def test_invalid_addresses(address):
    verdict = classify_email(address)
    assert verdict.kind == INVALID
    with pytest.raises(ValidationError) as excinfo:
        validate_official_email(address)
    assert excinfo.value.code == f"email_{INVALID}"
    assert "Enter a valid email address" in str(excinfo.value)


def test_unknown_domain_message_says_why_and_lists_what_counts():
    message = explain_refusal(classify_email("a@example.com"), for_officer=True)
    assert "example.com is not an official government domain" in message
    assert "gov.in" in message and "nic.in" in message and "mil.in" in message


def test_rules_are_data_the_official_list_follows_the_table():
    assert classify_email("a@example.org").kind == UNKNOWN
    EmailSuffixRule.objects.create(suffix="example.org", kind=SuffixKind.OFFICIAL)
    assert classify_email("a@dept.example.org").kind == OFFICIAL
    assert "example.org" in explain_refusal(classify_email("a@gmail.com"), for_officer=True)


# Rule editing by superadmins ----------------------------------------------------

def _signed_in(user):
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    second_factor_given(client, user)
    return client


@pytest.fixture
def superadmin():
    return make_superadmin(email="root@sandes.nic.in")


def test_superadmin_adds_changes_and_deletes_a_rule_and_each_change_is_audited(superadmin):
    client = _signed_in(superadmin)
    assert client.get("/portal/email-rules/").status_code == 200

    response = client.post("/portal/email-rules/", {"suffix": ".IITB.AC.IN", "kind": "official", "note": "Registered"})
    assert response.status_code == 302
    rule = EmailSuffixRule.objects.get(suffix="iitb.ac.in")
    assert rule.kind == SuffixKind.OFFICIAL
    assert classify_email("registrar@iitb.ac.in").kind == OFFICIAL
    created = AuditEvent.objects.get(action=AuditAction.EMAIL_RULE_CREATED)
    assert created.actor_id == superadmin.pk
    assert created.actor_email == superadmin.email
    assert "superadmin" in created.actor_role
    assert created.target_type == "accounts.emailsuffixrule" and created.target_id == str(rule.pk)
    assert created.new_values == {"suffix": "iitb.ac.in", "kind": "official", "note": "Registered"}

    response = client.post(f"/portal/email-rules/{rule.pk}/", {"action": "save", "suffix": "iitb.ac.in",
                                                                "kind": "manual_review", "note": "Back to review"})
    assert response.status_code == 302
    assert classify_email("registrar@iitb.ac.in").kind == MANUAL_REVIEW
    changed = AuditEvent.objects.get(action=AuditAction.EMAIL_RULE_CHANGED)
    assert changed.old_values == {"suffix": "iitb.ac.in", "kind": "official", "note": "Registered"}
    assert changed.new_values == {"suffix": "iitb.ac.in", "kind": "manual_review", "note": "Back to review"}

    # Saving the same values again changes nothing and records nothing.
    response = client.post(f"/portal/email-rules/{rule.pk}/", {"action": "save", "suffix": "iitb.ac.in",
                                                                "kind": "manual_review", "note": "Back to review"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.EMAIL_RULE_CHANGED).count() == 1

    # Deleting needs the confirmation box: its error is summed up, linked to the box, which
    # is marked invalid and described by it.
    response = client.post(f"/portal/email-rules/{rule.pk}/", {"action": "delete"})
    assert response.status_code == 400
    tree = page(response)
    [link] = tree.by_id("error-summary").find_all("a")
    assert link.get("href") == "#id_confirm" and "Tick the box to confirm the deletion." in link.squashed_text()
    box = tree.by_id("id_confirm")
    assert box.get("aria-invalid") == "true" and box.get("value") == "yes"
    assert error_message(tree.by_id(box.get("aria-describedby"))) == "Tick the box to confirm the deletion."
    assert EmailSuffixRule.objects.filter(pk=rule.pk).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.EMAIL_RULE_DELETED).exists()

    response = client.post(f"/portal/email-rules/{rule.pk}/", {"action": "delete", "confirm": "yes"})
    assert response.status_code == 302
    assert not EmailSuffixRule.objects.filter(pk=rule.pk).exists()
    deleted = AuditEvent.objects.get(action=AuditAction.EMAIL_RULE_DELETED)
    assert deleted.old_values == {"suffix": "iitb.ac.in", "kind": "manual_review", "note": "Back to review"}
    assert deleted.target_id == str(rule.pk)


def test_a_printed_rule_shows_its_values_without_the_box_that_deletes_it(superadmin):
    """On paper the rule's page shows the rule as it stands (its fields); the box confirming its
    deletion and the buttons act on nothing there and stay off it."""
    rule = EmailSuffixRule.objects.create(suffix="iitb.ac.in", kind=SuffixKind.OFFICIAL, note="Registered")
    tree = page(_signed_in(superadmin).get(f"/portal/email-rules/{rule.pk}/"))
    printed = printed_controls(tree)
    assert printed and not [control for control in printed if control.startswith("button") or "confirm" in control]
    assert "input suffix=iitb.ac.in" in printed
    assert "Delete this rule" not in printed_text(tree)


def test_a_rule_page_opened_before_another_superadmin_saved_does_not_put_back_what_it_showed(superadmin):
    """Two superadmins open a rule's page; the first makes it a contractor rule. The second,
    from the page opened before, corrects the note: nothing is saved (the rule would be
    official again, unseen), the refusal said above the form, what is saved now at the kind,
    the note typed kept; sent again from there, it saves."""
    rule = EmailSuffixRule.objects.create(suffix="agri-dept.gov.in", kind=SuffixKind.OFFICIAL, note="")
    first, second = _signed_in(superadmin), _signed_in(make_superadmin(email="root.two@sandes.nic.in"))
    url = f"/portal/email-rules/{rule.pk}/"
    seen_by_first, seen_by_second = form_as_sent(page(first.get(url))), form_as_sent(page(second.get(url)))
    assert first.post(url, {**seen_by_first, "action": "save", "kind": SuffixKind.CONTRACTOR}).status_code == 302

    response = second.post(url, {**seen_by_second, "action": "save", "note": "Department of Agriculture"})
    assert response.status_code == 200
    rule.refresh_from_db()
    assert (rule.kind, rule.note) == (SuffixKind.CONTRACTOR, "")
    assert AuditEvent.objects.filter(action=AuditAction.EMAIL_RULE_CHANGED).count() == 1
    tree = page(response)
    assert "Nothing was saved" in tree.squashed_text() and "by someone else or in another tab" in tree.squashed_text()
    assert field_value(tree, "note") == "Department of Agriculture"
    assert f"Saved meanwhile: {SuffixKind.CONTRACTOR.label}" in field_container(tree, "kind").squashed_text()
    assert "Saved meanwhile" not in field_container(tree, "suffix").squashed_text()

    assert second.post(url, {**form_as_sent(tree), "action": "save", "kind": SuffixKind.CONTRACTOR}).status_code == 302
    rule.refresh_from_db()
    assert (rule.kind, rule.note) == (SuffixKind.CONTRACTOR, "Department of Agriculture")


def _delete_form_sent(tree):
    """What the rule page's deletion form sends, its box ticked."""
    [form] = [f for f in tree.find_all("form") if "Yes, delete this rule" in f.squashed_text()]
    return {"shown_values": field_value(form, "shown_values"), "action": "delete", "confirm": "yes"}


def test_a_rule_page_opened_before_another_superadmin_changed_the_rule_does_not_delete_the_change(superadmin):
    """A superadmin opens "agri-dept.gov.in (Official)"; another turns it into the contractor
    rule "-vendor.gov.in"; the first, from the page opened before, ticks the box and deletes:
    the contractor rule was gone unseen (its contractors official again). Refused, said at the
    box, the page showing the rule as it is now; deleted from there, it goes."""
    rule = EmailSuffixRule.objects.create(suffix="agri-dept.gov.in", kind=SuffixKind.OFFICIAL, note="")
    first, second = _signed_in(superadmin), _signed_in(make_superadmin(email="root.two@sandes.nic.in"))
    url = f"/portal/email-rules/{rule.pk}/"
    seen_by_first = page(first.get(url))
    assert second.post(url, {**form_as_sent(page(second.get(url))), "action": "save", "suffix": "-vendor.gov.in",
                             "kind": SuffixKind.CONTRACTOR, "note": "Vendors"}).status_code == 302

    response = first.post(url, _delete_form_sent(seen_by_first))
    assert response.status_code == 400
    assert EmailSuffixRule.objects.filter(suffix="-vendor.gov.in").exists()
    assert not AuditEvent.objects.filter(action=AuditAction.EMAIL_RULE_DELETED).exists()
    tree = page(response)
    assert "changed since this page was opened" in field_container(tree, "confirm").squashed_text()
    assert field_value(tree, "suffix") == "-vendor.gov.in" and field_value(tree, "confirm") is False
    assert first.post(url, _delete_form_sent(tree)).status_code == 302
    assert not EmailSuffixRule.objects.filter(pk=rule.pk).exists()


def test_a_rule_page_saved_after_another_superadmin_deleted_the_rule_says_so_not_404(superadmin):
    """A superadmin corrects a rule's note while another deletes the rule: saved after the
    deletion (or deleted again, a double click), the page is not a bare 404: back on the
    rules, told the rule was already deleted, nothing saved. A rule that never was is 404."""
    rule = EmailSuffixRule.objects.create(suffix="iisr.res.in", kind=SuffixKind.OFFICIAL, note="")
    editor, deleter = _signed_in(superadmin), _signed_in(make_superadmin(email="root.two@sandes.nic.in"))
    url = f"/portal/email-rules/{rule.pk}/"
    seen = form_as_sent(page(editor.get(url)))
    assert deleter.post(url, {"action": "delete", "confirm": "yes"}).status_code == 302

    for sent in ({**seen, "action": "save", "note": "Indian Institute of Spices Research"},
                 {"action": "delete", "confirm": "yes"}):
        response = editor.post(url, sent, follow=True)
        assert response.redirect_chain == [("/portal/email-rules/", 302)]
        assert "This rule was already deleted." in page(response).squashed_text()
    assert not EmailSuffixRule.objects.filter(suffix="iisr.res.in").exists()
    assert not AuditEvent.objects.filter(action=AuditAction.EMAIL_RULE_CHANGED).exists()
    assert AuditEvent.objects.filter(action=AuditAction.EMAIL_RULE_DELETED).count() == 1
    assert editor.get(f"/portal/email-rules/{rule.pk + 1}/").status_code == 404
    # Back to the seeded ac.in rule.
    assert classify_email("registrar@iitb.ac.in").kind == MANUAL_REVIEW


def test_a_unicode_suffix_is_stored_idna_encoded(superadmin):
    client = _signed_in(superadmin)
    response = client.post("/portal/email-rules/", {"suffix": "कृषि.भारत", "kind": "official", "note": ""})
    assert response.status_code == 302
    stored = "कृषि.भारत".encode("idna").decode("ascii")
    assert EmailSuffixRule.objects.filter(suffix=stored).exists()
    assert classify_email("a@कृषि.भारत").kind == OFFICIAL


@pytest.mark.parametrize("suffix, message", [
    ("gov.in", "There is already a rule for gov.in."),
    ("bad..suffix", "is not a valid domain suffix"),
    ("-external.in", "A label-ending rule needs a suffix under it"),
    # Within the field's 253 characters as typed; its host name (253 characters IDNA-encoded)
    # and the "-" are one too many for the column.
    ("-" + ".".join(["ü" + "a" * 55] * 3 + ["x" * 58 + ".in"]), "is too long once encoded"),
])
def test_invalid_or_duplicate_rules_are_refused_at_the_field(superadmin, suffix, message):
    client = _signed_in(superadmin)
    count = EmailSuffixRule.objects.count()
    response = client.post("/portal/email-rules/", {"suffix": suffix, "kind": "official", "note": ""})
    assert response.status_code == 200
    tree = page(response)
    assert message in field_error(tree, "suffix")
    assert field_value(tree, "suffix") == suffix
    assert EmailSuffixRule.objects.count() == count
    assert not AuditEvent.objects.filter(action=AuditAction.EMAIL_RULE_CREATED).exists()


@pytest.mark.parametrize("kind", ["official", "contractor", "manual_review"])
def test_a_consumer_mail_rule_is_not_turned_into_another_kind(superadmin, kind):
    """DESIGN §3: consumer mail is never official. A consumer-mail rule keeps its kind (one
    added by mistake is deleted), and a personal mail service, or a domain under one, gets
    no rule of another kind, even once its own rule is deleted: refused at the kind field,
    nothing changed or recorded."""
    client = _signed_in(superadmin)
    rule = EmailSuffixRule.objects.get(suffix="gmail.com")
    response = client.post(f"/portal/email-rules/{rule.pk}/",
                           {"action": "save", "suffix": "gmail.com", "kind": kind, "note": ""})
    assert response.status_code == 200
    assert ("gmail.com is a personal mail service (consumer mail, which is never official): a rule for it or a domain "
            "under it can only be of the kind “Consumer mail (never official)”.") in field_error(page(response), "kind")
    assert EmailSuffixRule.objects.get(pk=rule.pk).kind == SuffixKind.CONSUMER
    assert classify_email("anyone@gmail.com").kind == CONSUMER
    for suffix in ("gmail.com", "in.gmail.com", "-x.gmail.com"):
        EmailSuffixRule.objects.filter(suffix="gmail.com").delete()
        response = client.post("/portal/email-rules/", {"suffix": suffix, "kind": kind, "note": ""})
        assert response.status_code == 200
        assert "is a personal mail service" in field_error(page(response), "kind")
        assert not EmailSuffixRule.objects.filter(suffix=suffix).exists()

    added = EmailSuffixRule.objects.create(suffix="webpost.co.in", kind=SuffixKind.CONSUMER)
    response = client.post(f"/portal/email-rules/{added.pk}/",
                           {"action": "save", "suffix": "webpost.co.in", "kind": kind, "note": ""})
    assert response.status_code == 200
    assert ("This rule is of consumer mail, which is never official: its kind stays. If it was added by mistake, "
            "delete it and add the right rule.") in field_error(page(response), "kind")
    assert EmailSuffixRule.objects.get(pk=added.pk).kind == SuffixKind.CONSUMER
    assert not AuditEvent.objects.filter(action__in=[AuditAction.EMAIL_RULE_CREATED,
                                                     AuditAction.EMAIL_RULE_CHANGED]).exists()
    # Its note still changes; deleted, the domain gets the rule the superadmin says.
    assert client.post(f"/portal/email-rules/{added.pk}/", {"action": "save", "suffix": "webpost.co.in",
                                                            "kind": "consumer", "note": "Webmail"}).status_code == 302
    added.delete()
    assert client.post("/portal/email-rules/", {"suffix": "webpost.co.in", "kind": kind, "note": ""}).status_code == 302


NOT_HOST_NAMES = ["@rediffmail.com", "*.gov.in", "http://mahait.org", "user@nic.in", "gov .in", "gov.in/", "in",
                  "gov_in.in", "--x.gov.in", "gov-.in", "a" * 64 + ".gov.in", "nic.in:443"]


@pytest.mark.parametrize("suffix", NOT_HOST_NAMES)
def test_a_suffix_that_is_no_host_name_is_refused_at_the_field_as_typed(superadmin, suffix):
    """It would be stored and match no address ever: refused, saying what a suffix is."""
    client = _signed_in(superadmin)
    count = EmailSuffixRule.objects.count()
    response = client.post("/portal/email-rules/", {"suffix": suffix, "kind": "consumer", "note": ""})
    assert response.status_code == 200
    tree = page(response)
    assert "is not a valid domain suffix" in field_error(tree, "suffix")
    assert field_value(tree, "suffix") == suffix
    assert EmailSuffixRule.objects.count() == count


@pytest.mark.parametrize("typed, stored", [
    ("ＩＩＴＢ.ac.in.", "iitb.ac.in"), (".IITB.AC.IN", "iitb.ac.in"), ("कृषि.भारत", "कृषि.भारत".encode("idna").decode()),
    ("-External.Nic.In", "-external.nic.in"), ("a-b." + "c" * 63 + ".in", "a-b." + "c" * 63 + ".in"),
])
def test_a_suffix_is_normalised_as_before(typed, stored):
    assert clean_suffix(typed) == stored


def test_the_domains_admins_type_elsewhere_pass_the_same_check():
    """The organisation's staff domains (onboarding form) and an expected office's domain
    (adoption tracker) refuse what the suffix rules refuse: one check of a host name."""
    from monitoring.forms import clean_domain as tracker_domain  # noqa: PLC0415
    from onboarding.application.validators import clean_domain as staff_domain  # noqa: PLC0415

    for clean in (staff_domain, tracker_domain):
        # An "xn--" label that is no encoding of any name (typed by hand, or copied from a
        # lookalike), or one that mail sends elsewhere ("xn--zca" is "ß", delivered as "ss"):
        # no address is ever official at it (classify_email finds it invalid).
        for typed in ("*.gov.in", "http://mahait.org", "user@nic.in", "gov.in/", "gov_in.in", "a" * 64 + ".gov.in",
                      ("a" * 60 + ".") * 5 + "gov.in", "xn--mha.gov.in", "xn--zca.gov.in"):
            with pytest.raises(ValidationError):
                clean(typed)
        assert clean("ＡＧＲＩ.Maharashtra.gov.in.") == "agri.maharashtra.gov.in"


@pytest.mark.parametrize("typed", ["\u2013vendor.gov.in", "\u2010vendor.gov.in", "\u2212vendor.gov.in",
                                   "mha\u2013it.gov.in", "\U0001F600.gov.in", "-\U0001F600.gov.in",
                                   "xn--vendor-vg0c.gov.in"])
def test_a_suffix_or_domain_no_address_can_have_is_refused(typed):
    """A label ending pasted with a typographic dash ("–vendor.gov.in", as a word processor
    writes "-"), or a domain of an emoji, was stored IDNA-encoded ("xn--vendor-vg0c.gov.in"),
    "Rule added": a rule no address can fall under (mail's IDNA refuses those characters, and
    classify_email finds such an address invalid), while the contractors it was meant for
    stayed eligible officers. Refused at the field, as every domain an administrator types."""
    from monitoring.forms import clean_domain as tracker_domain  # noqa: PLC0415
    from onboarding.application.validators import clean_domain as staff_domain  # noqa: PLC0415

    for clean in (clean_suffix, staff_domain, tracker_domain):
        with pytest.raises(ValidationError):
            clean(typed)
    assert clean_suffix("-vendor.gov.in") == "-vendor.gov.in"
    assert clean_suffix("acmé-external.gov.in") == "xn--acm-external-deb.gov.in"


@pytest.mark.parametrize("role", [None, PlatformRole.STATE_ADMIN, PlatformRole.AUDITOR])
def test_non_superadmins_get_403_and_change_nothing(role):
    user = UserFactory(email="someone@mha.gov.in")
    if role:
        PlatformRoleGrant.objects.create(user=user, role=role, jurisdiction="MH")
        # With a second factor, so that the MFA redirect does not hide the permission check.
        with_totp(user)
    rule = EmailSuffixRule.objects.get(suffix="gov.in")
    client = _signed_in(user)
    count = EmailSuffixRule.objects.count()
    assert client.get("/portal/email-rules/").status_code == 403
    assert client.post("/portal/email-rules/", {"suffix": "evil.in", "kind": "official"}).status_code == 403
    assert client.get(f"/portal/email-rules/{rule.pk}/").status_code == 403
    assert client.post(f"/portal/email-rules/{rule.pk}/", {"action": "delete", "confirm": "yes"}).status_code == 403
    assert client.post(f"/portal/email-rules/{rule.pk}/", {"action": "save", "suffix": "gov.in", "kind": "consumer"}).status_code == 403
    assert EmailSuffixRule.objects.count() == count
    assert EmailSuffixRule.objects.get(pk=rule.pk).kind == SuffixKind.OFFICIAL
    assert not AuditEvent.objects.filter(action__startswith="email_rule.").exists()


def test_anonymous_is_sent_to_sign_in():
    response = Client().get("/portal/email-rules/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_superadmin_without_second_factor_must_set_it_up_first():
    user = UserFactory(email="new.root@sandes.nic.in")
    PlatformRoleGrant.objects.create(user=user, role=PlatformRole.SUPERADMIN)
    response = _signed_in(user).get("/portal/email-rules/")
    assert response.status_code == 302
    assert "/accounts/2fa/totp/activate" in response["Location"]


# Refusal in the onboarding form -------------------------------------------------

@pytest.mark.parametrize("address, why", [
    ("user@gmail.com", "gmail.com is a personal mail service and is never accepted as official email."),
    ("user@evilgov.in", "evilgov.in is not an official government domain."),
])
def test_onboarding_form_refuses_non_official_authority_email(officer, officer_client, address, why):
    application = new_application(officer)
    response = post_section(officer_client, application, "competent_authority", valid("competent_authority", official_email=address))
    assert response.status_code == 200
    tree = page(response)
    error = field_error(tree, "official_email")
    assert why in error
    assert "Official addresses end in one of: gov.in, mil.in, nic.in" in error
    assert field_value(tree, "official_email") == address
    application.refresh_from_db()
    assert application.status_of("competent_authority") == "has_errors"


@pytest.mark.parametrize("address", ["someone@gmail.com", "someone@evilgov.in", "dev@acme-external.gov.in", "r@iitb.ac.in"])
def test_an_account_without_official_email_cannot_start_an_application(address):
    user = UserFactory(email=address)
    client = _signed_in(user)
    response = client.get("/onboarding/start/")
    assert response.status_code == 200
    assert "You cannot be a nodal officer with this account yet" in response.content.decode()
    client.post("/onboarding/start/")
    assert not Application.objects.filter(nodal_officer=user).exists()


@pytest.mark.parametrize("typed", ["Someone.Else@MAHAAGRI.gov.in", "someone.else@ｍａｈａａｇｒｉ.gov.in",
                                   "ｓomeone.else@mahaagri．gov．in", " someone.else@mahaagri.gov.in. "])
def test_addresses_written_differently_for_one_mailbox_normalise_alike(typed):
    assert normalise_mailbox(typed) == "someone.else@mahaagri.gov.in"


def test_a_unicode_domain_normalises_to_the_form_it_is_mailed_to():
    assert normalise_mailbox("Officer@महाराष्ट्र.भारत") == "officer@xn--c2b3agb7ak9ab0lb.xn--h2brj9c"


@pytest.mark.django_db
def test_the_services_behind_the_superadmins_pages_of_official_mail_ask_for_a_superadmin_themselves():
    """The pages' rules keep everyone else out; the services ask again, as every service does
    (a state administrator's, or a superadmin's whose role just ended, call changes nothing)."""
    from django.core.exceptions import PermissionDenied
    from django.utils import timezone

    from portal.accounts.services import email_rule_delete, email_rule_save
    from portal.organisations.services import organisation_domain_accept
    from tests.factories import PlatformRoleFactory

    state_admin = UserFactory(email="state.admin@maharashtra.gov.in")
    PlatformRoleFactory(user=state_admin, role="state_admin", jurisdiction="MH")
    former = make_superadmin(email="former.root@nic.in")
    PlatformRoleGrant.objects.filter(user=former).update(ends_at=timezone.now() - timezone.timedelta(minutes=1))
    rule = EmailSuffixRule.objects.create(suffix="statelab.in", kind=SuffixKind.MANUAL_REVIEW)
    claim = OrganisationDomainFactory(domain="krishi.maharashtra.gov.in", is_verified=False)
    for actor in (state_admin, type(former).objects.get(pk=former.pk)):
        with pytest.raises(PermissionDenied):
            email_rule_save(suffix="newlab.in", kind=SuffixKind.OFFICIAL, actor=actor)
        with pytest.raises(PermissionDenied):
            email_rule_save(suffix="statelab.in", kind=SuffixKind.OFFICIAL, actor=actor, rule_id=rule.pk)
        with pytest.raises(PermissionDenied):
            email_rule_delete(rule_id=rule.pk, actor=actor)
        with pytest.raises(PermissionDenied):
            organisation_domain_accept(domain_id=claim.pk, actor=actor)
    assert list(EmailSuffixRule.objects.filter(suffix__in=["statelab.in", "newlab.in"]).values_list("suffix", "kind")) == [
        ("statelab.in", SuffixKind.MANUAL_REVIEW)]
    claim.refresh_from_db()
    assert not claim.is_verified
    assert not AuditEvent.objects.filter(action__in=[AuditAction.DOMAIN_ACCEPTED]).exists()


def test_the_rules_page_lists_the_personal_mail_services_added_since_the_seed():
    """Migration accounts 0004 made a consumer-mail rule of each service the seed lacked."""
    from portal.accounts.official_email import PERSONAL_MAIL_SERVICES

    consumer = set(EmailSuffixRule.objects.filter(kind=SuffixKind.CONSUMER).values_list("suffix", flat=True))
    assert PERSONAL_MAIL_SERVICES <= consumer


def test_the_consumer_mail_rules_seeded_are_the_personal_mail_services_of_the_code():
    """One list of personal mail services, the code's (portal.accounts.personal_mail): the
    migrations that seed consumer-mail rules (accounts 0002, then 0004 for those added
    since) read it, so the rules table and the code's list agree, and neither seeds a
    service the other lacks."""
    import importlib

    from portal.accounts import personal_mail
    from portal.accounts.official_email import PERSONAL_MAIL_SERVICES

    first = importlib.import_module("portal.accounts.migrations.0002_seed_email_rules")
    more = importlib.import_module("portal.accounts.migrations.0004_seed_more_consumer_rules")
    assert first.CONSUMER is personal_mail.SEEDED_FIRST and more.CONSUMER is personal_mail.ADDED_SINCE
    assert set(first.CONSUMER) | set(more.CONSUMER) == PERSONAL_MAIL_SERVICES
    assert not set(first.CONSUMER) & set(more.CONSUMER)
    seeded = set(EmailSuffixRule.objects.filter(kind=SuffixKind.CONSUMER, note="seed").values_list("suffix", flat=True))
    assert seeded == PERSONAL_MAIL_SERVICES


@pytest.mark.django_db
def test_a_rules_note_is_audited_as_it_is_stored():
    """The service stores a note of at most 200 characters (the form's limit) and recorded
    the note as it was given: a longer one from another caller was audited as never stored."""
    from portal.accounts.services import email_rule_save  # noqa: PLC0415

    rule = email_rule_save(suffix="iitb.ac.in", kind="official", note="n" * 250, actor=make_superadmin(email="r@nic.in"))
    event = AuditEvent.objects.get(action=AuditAction.EMAIL_RULE_CREATED)
    assert event.new_values["note"] == EmailSuffixRule.objects.get(pk=rule.pk).note == "n" * 200
