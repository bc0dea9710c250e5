"""Official email rules (DESIGN §3), in one place.

An address is official when its domain equals, or ends with "." plus, an
allow-listed suffix, compared label by label after lower-casing and IDNA
encoding. Consumer mail is never official; contractor domains are official mail
but not eligible as nodal officer or competent authority; academic and similar
suffixes need manual review unless a superadmin registered the domain to an
organisation (then official for that organisation, and wherever no organisation is
in question: ``accepted_domains``).
"""

import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

import idna
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, ValidatedEmail, validate_email

from portal import compiled
from portal.accounts import personal_mail
from portal.accounts.models import EmailSuffixRule, SuffixKind

OFFICIAL = "official"
CONTRACTOR = "contractor"
MANUAL_REVIEW = "manual_review"
CONSUMER = "consumer"
UNKNOWN = "unknown"
# A domain a superadmin accepted for an organisation, where the address is to be official
# for another one (``classify_emails_within``).
ACCEPTED_ELSEWHERE = "accepted_elsewhere"
INVALID = "invalid"


@dataclass(frozen=True)
class EmailVerdict:
    address: str
    domain: str
    kind: str
    matched: str = ""

    @property
    def is_official_mail(self):
        return self.kind in (OFFICIAL, CONTRACTOR)

    @property
    def eligible_as_officer(self):
        return self.kind == OFFICIAL


def normalise_domain(domain):
    """Lower-case and IDNA-encode a domain; raise ValueError if it cannot be."""
    domain = domain.strip().rstrip(".").lower()
    if not domain:
        raise ValueError("empty domain")
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(str(exc)) from exc


HOST_NAME_MAX_LENGTH = 253
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def normalise_host_name(domain):
    """``domain`` as normalise_domain makes it (lower case, no trailing dot, full-width
    letters folded, IDNA-encoded), when it is a host name: at least two labels of ASCII
    letters, digits and hyphens once encoded, none starting or ending with a hyphen, each
    of at most 63 characters, at most 253 in all, each "xn--" label the encoding of a name
    as mail sends it. Raise ValueError otherwise: an "@", a
    "*", a scheme, a path, a port or a space would be stored and match no address. The
    one check of every domain an administrator types (suffix rules, staff domains,
    expected offices)."""
    ascii_domain = normalise_domain(domain)
    labels = ascii_domain.split(".")
    if (len(ascii_domain) > HOST_NAME_MAX_LENGTH or len(labels) < 2
            or not all(_HOST_LABEL.fullmatch(label) for label in labels)):
        raise ValueError(f"not a host name: {ascii_domain!r}")
    try:
        # An "xn--" label typed as such must be the encoding of a name, the one mail sends
        # to: "xn--mha" encodes nothing, and "xn--zca" ("ß") is delivered to "ss". No
        # address is ever official at either (classify_email finds it invalid).
        ascii_domain.encode("ascii").decode("idna")
        # Nor one of characters mail's IDNA (2008, email-validator's) refuses, which Python's
        # older codec encodes: a dash as a word processor writes it ("–vendor.gov.in"), an
        # emoji. A rule or domain of them would match no address.
        for label in labels:
            if label.startswith("xn--"):
                idna.decode(label)
    except (UnicodeError, idna.IDNAError) as exc:
        raise ValueError(f"not a host name: {ascii_domain!r}") from exc
    return ascii_domain


def validated_email(address: str) -> ValidatedEmail:
    """email-validator's reading of ``address``, or EmailNotValidError: its syntax and its
    domain's IDNA, with no DNS lookup and no SMTPUTF8 local part; a domain without a dot
    (localhost), a special-use one (.local, .test, ...) or an IP address in brackets is no
    address mail from outside can reach. The one check of an address's form: the official
    rules (classify_email), the roster rows and the account forms (the adapter's clean_email)."""
    return validate_email(address, check_deliverability=False, allow_smtputf8=False)


def _labels(domain):
    return domain.split(".")


def _as_typed(label):
    """A label as it is written (an "xn--" label decoded: "xn--acm-external-deb" is
    "acmé-external"), or as it is when it encodes nothing. Every official address under a
    label-ending rule's suffix asks this: only an "xn--" label is decoded."""
    if not label.startswith("xn--"):
        return label
    try:
        return label.encode("ascii").decode("idna")
    except UnicodeError:
        return label


def suffix_matches(domain, suffix):
    """True when ``domain`` equals ``suffix`` or ends with "." + suffix, label by label."""
    if suffix.startswith("-"):
        # A label ending: "-external.gov.in" matches "acme-external.gov.in", and "acmé-external.gov.in"
        # too: compared as written, not IDNA-encoded, where a label with a letter outside ASCII moves
        # its ASCII part to the front ("xn--acm-external-deb"), as does a label ending typed so ("-बाहरी").
        rest = suffix[1:]
        d_labels, r_labels = _labels(domain), _labels(rest)
        if len(d_labels) < len(r_labels):
            return False
        head = d_labels[-len(r_labels) :]
        if head[1:] != r_labels[1:]:
            return False
        label, ending = _as_typed(head[0]), _as_typed(r_labels[0])
        return label != ending and label.endswith("-" + ending)
    d_labels, s_labels = _labels(domain), _labels(suffix)
    return len(d_labels) >= len(s_labels) and d_labels[-len(s_labels) :] == s_labels


def email_rules_query() -> QuerySet[EmailSuffixRule]:
    """The query of ``email_rules`` (for ``compiled``: a page that reads it with others in one round trip)."""
    return EmailSuffixRule.objects.values_list("suffix", "kind")


def email_rules() -> list[tuple[str, str]]:
    """Every official-email rule as (suffix, kind), for several checks with one query (asked
    on every page of an officer: its SQL built once per process)."""
    return compiled.rows(email_rules_query)


def _best_official_rule(domain, rules):
    best = None
    for suffix, kind in rules:
        if kind in (SuffixKind.OFFICIAL, SuffixKind.MANUAL_REVIEW) and suffix_matches(domain, suffix):
            if best is None or len(suffix) > len(best[1]):
                best = (kind, suffix)
    return best


def official_suffix_of(domain: str, *, rules: list | None = None) -> str:
    """The official suffix a normalised domain falls under by the rules alone (not by
    a domain accepted for an organisation), or "" when none: consumer and contractor
    domains have none."""
    rules = email_rules() if rules is None else rules
    if any(kind in (SuffixKind.CONSUMER, SuffixKind.CONTRACTOR) and suffix_matches(domain, suffix) for suffix, kind in rules):
        return ""
    best = _best_official_rule(domain, rules)
    return best[1] if best and best[0] == SuffixKind.OFFICIAL else ""


# Personal mail services (consumer mail): never official (DESIGN §3), whatever a rule says,
# with or without a rule of the table for them (portal.accounts.personal_mail: the one list,
# which the migrations that seed their rules read). A rule for one of them, or for a domain
# under one, is of consumer mail or none (services.email_rule_save); none is accepted for an organisation
# (organisations.services.organisation_domain_accept), invited from a roster or named on an
# onboarding form (classify_domain: CONSUMER).
PERSONAL_MAIL_SERVICES = personal_mail.PERSONAL_MAIL_SERVICES

# Services with a domain in many countries (yahoo.co.uk, hotmail.fr, outlook.com.au, ...): the
# service's name followed by a country's two letters, with "com.", "co." or "net." before them
# or not, and any domain under one. In Python's and PostgreSQL's regular expressions alike
# (organisations.selectors asks it in SQL); the domain is normalised (lower case).
PERSONAL_MAIL_BRANDS = ("yahoo", "hotmail", "outlook", "live", "aol", "gmx", "yandex")
PERSONAL_MAIL_BRAND_PATTERN = r"(^|\.)(" + "|".join(PERSONAL_MAIL_BRANDS) + r")\.((com|co|net)\.)?[a-z]{2}$"
_PERSONAL_MAIL_BRAND_RE = re.compile(PERSONAL_MAIL_BRAND_PATTERN)


def _known_service(domain: str) -> str:
    """The service of PERSONAL_MAIL_SERVICES a normalised domain is or falls under (the first
    by name, should two), or "": its label suffixes looked up in the set, not every service
    matched against it (classify_domain asks it of every address it classifies)."""
    labels = domain.split(".")
    suffixes = (".".join(labels[start:]) for start in range(len(labels)))
    return min((suffix for suffix in suffixes if suffix in PERSONAL_MAIL_SERVICES), default="")


def personal_mail_service(domain: str, *, rules: Iterable[tuple[str, str]] = ()) -> str:
    """The personal mail service (consumer mail) a normalised domain is or falls under, by
    PERSONAL_MAIL_SERVICES, PERSONAL_MAIL_BRANDS (in any country) or a consumer rule of
    ``rules`` (``email_rules()``, when the caller asks the table too), or "" when none."""
    found = _known_service(domain) or next(
        (suffix for suffix, kind in rules if kind == SuffixKind.CONSUMER and suffix_matches(domain, suffix)), "")
    if not found and (brand := _PERSONAL_MAIL_BRAND_RE.search(domain or "")):
        found = brand.group(0).lstrip(".")
    return found


def normalise_mailbox(address: str) -> str:
    """An address in one form per mailbox, as mail reaches it: compatibility characters
    (full-width letters and the like) as their plain ones (NFKC), lower case, the domain
    IDNA-encoded as ``normalise_domain`` does (so does sending, which maps "ｍahaagri.gov.in"
    to mahaagri.gov.in). Accounts are kept, and failed sign-ins counted, in this form (mail
    to one address is counted by ``normalise_address``: accounts.mail_limits). An address
    whose domain cannot be encoded is returned in lower case, for validation to refuse."""
    address = unicodedata.normalize("NFKC", address or "").strip().lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    try:
        return f"{local}@{normalise_domain(domain)}"
    except ValueError:
        return address


# Providers that ignore dots in the local part (the same mailbox with or without them).
DOTLESS_PROVIDERS = {"gmail.com", "googlemail.com"}


def normalise_address(address: str) -> str:
    """An address in the form used to compare people: lower case, IDNA domain, no
    "+tag" in the local part, and no dots where the provider ignores them. Two
    addresses that reach the same mailbox compare equal; "" for a malformed one."""
    address = (address or "").strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return ""
    try:
        domain = normalise_domain(domain)
    except ValueError:
        return ""
    local = local.split("+", 1)[0]
    if domain in DOTLESS_PROVIDERS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def accepted_domains(domains, *, organisation=None) -> set[str]:
    """Which of ``domains`` (normalised) are verified for an organisation: for
    ``organisation``, an office below it or an organisation above it when it is given (a
    domain accepted off the official suffixes is official for its organisation's line
    only: OrganisationDomain.objects.official_for), for any organisation otherwise. One query."""
    from portal.organisations.models import OrganisationDomain

    domains = set(domains)
    if not domains:
        return set()
    found = (OrganisationDomain.objects.official_for(organisation) if organisation is not None
             else OrganisationDomain.objects.filter(is_verified=True))
    return set(found.filter(domain__in=domains).values_list("domain", flat=True))


def classify_domain(domain, *, rules=None, registered=None, organisation=None):
    """Return (kind, matched_suffix) for an already-normalised domain. ``registered``:
    the domains accepted for an organisation, when the caller read them already (a
    batch of addresses); else they are asked for, of ``organisation``'s line (it, the
    offices below it, those above it) when given, of any organisation otherwise
    (``accepted_domains``)."""
    rules = email_rules() if rules is None else rules
    # Consumer mail first: never official, whatever else matches (the known services, with
    # or without a rule for them, and the consumer-mail rules).
    service = personal_mail_service(domain, rules=rules)
    if service:
        return CONSUMER, service
    for suffix, kind in rules:
        if kind == SuffixKind.CONTRACTOR and suffix_matches(domain, suffix):
            return CONTRACTOR, suffix
    best = _best_official_rule(domain, rules)
    if best and best[0] == SuffixKind.OFFICIAL:
        return OFFICIAL, best[1]
    # A domain a superadmin accepted for an organisation is official for it.
    if registered is None:
        registered = accepted_domains({domain}, organisation=organisation)
    if domain in registered:
        return OFFICIAL, domain
    if best:
        return MANUAL_REVIEW, best[1]
    return UNKNOWN, ""


def classify_email(address, *, rules=None, registered=None, organisation=None):
    """Classify an email address. Never raises: a malformed address is INVALID. ``rules``:
    ``email_rules()``, and ``registered`` (see ``classify_domain``), when the caller read
    them already. ``organisation``: the one the address is to be official for (a domain
    accepted for another organisation is not), when there is one."""
    address = (address or "").strip()
    try:
        valid = validated_email(address)
    except EmailNotValidError:
        return EmailVerdict(address=address, domain="", kind=INVALID)
    try:
        domain = normalise_domain(valid.ascii_domain)
        # Python's "idna" codec (IDNA 2003), by which Django's mail encodes the domain a
        # message goes to, maps some characters where IDNA 2008 keeps them: "aßam.gov.in"
        # is checked here as xn--aam-... but delivered to assam.gov.in. An address whose
        # two encodings differ would be checked as one mailbox and delivered to another.
        delivered = normalise_domain(valid.domain)
    except ValueError:
        return EmailVerdict(address=address, domain="", kind=INVALID)
    if delivered != domain:
        return EmailVerdict(address=address, domain="", kind=INVALID)
    normalised = f"{valid.ascii_local_part or valid.local_part}@{domain}".lower()
    kind, matched = classify_domain(domain, rules=rules, registered=registered, organisation=organisation)
    return EmailVerdict(address=normalised, domain=domain, kind=kind, matched=matched)


def classify_emails(addresses) -> dict[str, EmailVerdict]:
    """{address: ``classify_email(address)``} for several addresses, in two queries at most
    whatever their number: the rules, and (when one is needed) which of their domains a
    superadmin accepted for an organisation."""
    rules = email_rules()
    verdicts = {address: classify_email(address, rules=rules, registered=set()) for address in set(addresses)}
    undecided = {verdict.domain for verdict in verdicts.values() if verdict.kind in (MANUAL_REVIEW, UNKNOWN)}
    if undecided:
        registered = accepted_domains(undecided)
        verdicts.update({address: classify_email(address, rules=rules, registered=registered)
                         for address, verdict in verdicts.items() if verdict.domain in registered})
    return verdicts


def classify_emails_within(pairs: Iterable[tuple[str, Hashable]], within_of: Callable[[set], dict[Hashable, int | None]],
                           *, rules: list[tuple[str, str]] | None = None) -> dict[tuple[str, Hashable], EmailVerdict]:
    """{(address, key): verdict} for each pair of ``pairs``, where ``within_of(keys)`` gives
    for each key the id of the one organisation its address is to be official for (None: one
    that does not exist yet, placed under the one whose id ``within_of`` gives instead). A
    domain a superadmin accepted off the official suffixes counts as official only for the
    line of the organisation it was accepted for: it, the offices above it and those below
    it (as ``OrganisationDomain.objects.official_for`` has it), and for none where the id is
    None; an address at one accepted for another organisation is ACCEPTED_ELSEWHERE. For an
    address that acts for one organisation (a competent authority's, a nodal officer's).
    Four queries at most, whatever the number of pairs: the rules (unless given:
    ``email_rules()``), who accepted the domains left undecided, and (only when one was
    accepted) ``within_of`` for the keys of their addresses and, for those not at or above
    the organisation that accepted it, where in the hierarchy their organisations are."""
    from portal.organisations.models import Organisation, OrganisationDomain, at_or_above

    rules = email_rules() if rules is None else rules
    verdicts = {pair: classify_email(pair[0], rules=rules, registered=set()) for pair in set(pairs)}
    undecided = {verdict.domain for verdict in verdicts.values() if verdict.kind in (MANUAL_REVIEW, UNKNOWN)}
    if not undecided:
        return verdicts
    # Each accepted domain's organisation and its ancestry: official there and above it.
    owners = {domain: (owner, ancestry) for domain, owner, ancestry in OrganisationDomain.objects.filter(
        is_verified=True, domain__in=undecided).values_list("domain", "organisation_id", "organisation__ancestry")}
    accepted = [pair for pair, verdict in verdicts.items() if verdict.domain in owners]
    within = within_of({key for _address, key in accepted}) if accepted else {}
    # At or above the organisation that accepted the domain: official there.
    official = {(address, key) for address, key in accepted
                if within.get(key) is not None and at_or_above(within[key], *owners[verdicts[address, key].domain])}
    # Below it: official there too (the office shares the domain of the organisations above it).
    below = {within[key] for address, key in accepted if (address, key) not in official and within.get(key) is not None}
    ancestries = dict(Organisation.objects.filter(pk__in=below).values_list("pk", "ancestry")) if below else {}
    for address, key in accepted:
        verdict, organisation_id = verdicts[address, key], within.get(key)
        owner = owners[verdict.domain][0]
        if (address, key) in official or (organisation_id in ancestries
                                          and at_or_above(owner, organisation_id, ancestries[organisation_id])):
            verdicts[address, key] = classify_email(address, rules=rules, registered={verdict.domain})
        else:
            verdicts[address, key] = EmailVerdict(address=verdict.address, domain=verdict.domain, kind=ACCEPTED_ELSEWHERE)
    return verdicts


def ends_official_powers(old: str, new: str) -> bool:
    """Whether ``new`` taking the place of ``old`` as an account's primary address ends the
    official powers ``old`` earned (roles that need an official address): ``old`` may hold
    them and ``new`` may not."""
    return classify_email(old).eligible_as_officer and not classify_email(new).eligible_as_officer


def is_contractor_address(address: str) -> bool:
    """Whether ``address`` is a contractor's: official mail (``is_official_mail``) that cannot
    hold the roles an official address earns (not ``eligible_as_officer``). The pages that
    say a change of address ends those roles say so of it, not that it is not official."""
    return classify_email(address).kind == CONTRACTOR


def official_suffixes():
    return list(EmailSuffixRule.objects.filter(kind=SuffixKind.OFFICIAL).values_list("suffix", flat=True))


def explain_refusal(verdict, *, for_officer):
    """A message saying why an address is refused and what counts as official."""
    allowed = ", ".join(official_suffixes()) or "gov.in, nic.in"
    hint = _("Official addresses end in one of: %(allowed)s (for example name@dept.gov.in).") % {"allowed": allowed}
    if verdict.kind == INVALID:
        return _("Enter a valid email address, such as name@dept.gov.in.")
    if verdict.kind == CONSUMER:
        return _("%(domain)s is a personal mail service and is never accepted as official email.") % {
            "domain": verdict.domain
        } + " " + hint
    if verdict.kind == CONTRACTOR and for_officer:
        return _(
            "%(domain)s is a contractor domain: it may be used for messages but not by a nodal officer or competent authority."
        ) % {"domain": verdict.domain}
    if verdict.kind == ACCEPTED_ELSEWHERE:
        return _(
            "%(domain)s was accepted as official for another organisation only (and the offices above and below it), "
            "not for this one: an address there cannot act for it."
        ) % {"domain": verdict.domain} + " " + hint
    if verdict.kind == MANUAL_REVIEW:
        return _(
            "%(domain)s needs manual review before it is accepted as official. "
            "Ask your state administrator to register it for your organisation."
        ) % {"domain": verdict.domain} + " " + hint
    return _("%(domain)s is not an official government domain.") % {"domain": verdict.domain} + " " + hint


ANY_ORGANISATION = object()


def classify_email_within(address, within, *, rules=None) -> EmailVerdict:
    """``classify_email(address)`` where ``within`` is the id of the one organisation the
    address is to be official for, or None for one that does not exist yet
    (``classify_emails_within``); ANY_ORGANISATION: a domain accepted for any organisation
    counts. Two queries at most, as classify_email: the rules (unless given) and, only when
    they decide nothing, who accepted the domain."""
    if within is ANY_ORGANISATION:
        return classify_email(address, rules=rules)
    return classify_emails_within([(address, None)], lambda _keys: {None: within}, rules=rules)[address, None]


def validate_official_email(address, *, for_officer=True, within=ANY_ORGANISATION):
    """Return the normalised address, or raise ValidationError saying why it is refused.
    ``within``: as ``classify_email_within`` has it; by default a domain accepted for any
    organisation counts."""
    verdict = classify_email_within(address, within)
    ok = verdict.eligible_as_officer if for_officer else verdict.is_official_mail
    if not ok:
        raise ValidationError(explain_refusal(verdict, for_officer=for_officer), code=f"email_{verdict.kind}")
    return verdict.address
