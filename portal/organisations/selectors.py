"""Reads of organisations (who may see which is decided in portal.permissions)."""

from django.db.models import Case, Q, QuerySet, When

from portal.accounts.official_email import email_rules, official_suffix_of
from portal.organisations.models import DomainClaim, Organisation, OrganisationDomain, OrganisationStatus
from portal.text import single_line


def domain_claims_of(domains: list[str], *, organisation_id: int | None = None, claimed: set[str] | None = None,
                     rules: list[tuple[str, str]] | None = None) -> dict[str, DomainClaim]:
    """What listing each of ``domains`` for an organisation would make of it: official
    for it (under an official suffix, and not already official for another
    organisation), or a claim that only a superadmin can accept, with the reason.
    Two queries, however many domains; none when the caller read which of them are
    official for another organisation already (``claimed``) and the rules (``email_rules``)."""
    if not domains:
        return {}
    rules = email_rules() if rules is None else rules
    if claimed is None:
        elsewhere = OrganisationDomain.objects.filter(domain__in=domains, is_verified=True)
        if organisation_id:
            elsewhere = elsewhere.exclude(organisation_id=organisation_id)
        claimed = set(elsewhere.values_list("domain", flat=True))
    claims = {}
    for domain in domains:
        suffix = official_suffix_of(domain, rules=rules)
        if suffix and suffix == domain:
            claims[domain] = DomainClaim.SUFFIX_ITSELF
        elif domain in claimed:
            claims[domain] = DomainClaim.CLAIMED_ELSEWHERE
        else:
            claims[domain] = DomainClaim.OFFICIAL_SUFFIX if suffix else DomainClaim.NOT_OFFICIAL
    return claims


def short_code_holder(code: str, *, exclude_id: int | None = None) -> Organisation | None:
    """The organisation other than ``exclude_id`` that has the short code ``code``
    (letters compared in any case), an active one first; None when it is free. A short
    code names one organisation: to the verification API's clients, to the operators'
    commands (api_client_create --organisation CODE)."""
    code = (code or "").strip()
    if not code:
        return None
    found = Organisation.objects.filter(short_code__iexact=code).exclude(pk=exclude_id).only("pk", "name", "status")
    return found.order_by(Case(When(status=OrganisationStatus.ACTIVE, then=0), default=1), "pk").first()


def pending_domain_claims() -> QuerySet[OrganisationDomain]:
    """Domains organisations listed that are not official for them yet, oldest first."""
    return (
        OrganisationDomain.objects.filter(is_verified=False, organisation__status=OrganisationStatus.ACTIVE)
        .select_related("organisation")
        .order_by("id")
    )


def organisation_search(*, query: str, limit: int = 20) -> QuerySet[Organisation]:
    """Active organisations matching a query, for the parent picker (public names only)."""
    query = single_line(query or "").strip()  # no control characters (PostgreSQL refuses NUL in text)
    if len(query) < 2:
        return Organisation.objects.none()
    return (
        Organisation.objects.filter(status=OrganisationStatus.ACTIVE)
        .filter(Q(name__icontains=query) | Q(short_code__iexact=query) | Q(name_local__icontains=query))
        .only("id", "name", "name_local", "state", "short_code")
        .order_by("name")[:limit]
    )
