"""Field rules of the onboarding form. Each raises ValidationError with a message
that says what is wrong and what is expected."""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.accounts.official_email import CONSUMER, INVALID, OFFICIAL, classify_domain, normalise_host_name
from portal.organisations.details import clean_short_code as clean_short_code  # the organisation details' rule
from portal.phone_numbers import clean_mobile as clean_mobile  # the one reading of a mobile number, every form's

PIN_RE = re.compile(r"^[1-9][0-9]{5}$")
# A landline as dialled within India: the trunk 0, then the STD code (2 to 4 more digits,
# 11 for Delhi, 2162 for Satara) and the subscriber's number (starting with 2 to 9), which
# together are always 10 digits. A hyphen may separate the code from the number, and more
# may group the number's digits.
LANDLINE_RE = re.compile(r"^0[1-9][0-9]{1,3}-?[2-9][0-9]*(?:-[0-9]+)*$")
LANDLINE_DIGITS = 10
_COUNTRY_CODE = re.compile(r"^(?:\+91|0091)-?")


def clean_pin(value):
    value = (value or "").replace(" ", "")
    if not PIN_RE.match(value):
        raise ValidationError(_("Enter a 6-digit PIN code that does not start with 0, for example 110001."), code="pin")
    return value


def clean_landline(value):
    compact = _COUNTRY_CODE.sub("0", re.sub(r"[\s()]", "", value or ""))
    if not LANDLINE_RE.match(compact) or len(compact.replace("-", "")) != 1 + LANDLINE_DIGITS:
        raise ValidationError(
            _("Enter a landline number with its STD code, 10 digits after the 0, for example 011-23456789."),
            code="landline",
        )
    return compact


def clean_domain(value):
    """Return a normalised domain, or raise saying why it is not one."""
    raw = (value or "").strip().lower()
    raw = raw.removeprefix("@")
    try:
        return normalise_host_name(raw)
    except ValueError:
        raise ValidationError(
            _("“%(value)s” is not a valid domain name, such as dept.gov.in.") % {"value": value}, code="domain"
        ) from None


def split_domain_list(value):
    """The entries of a list of domains typed one per line or separated by commas (or semicolons)."""
    return [part for part in re.split(r"[\s,;]+", value or "") if part]


def clean_staff_domains(value, *, max_domains=20):
    """Domains used by the organisation's staff: one per line or separated by commas.

    Returns (domains, warnings). Consumer mail domains are refused; domains that
    are not official are accepted with a warning that they need review.
    """
    parts = split_domain_list(value)
    if not parts:
        raise ValidationError(_("Enter at least one email domain used by your staff, for example dept.gov.in."), code="required")
    if len(parts) > max_domains:
        raise ValidationError(_("Enter at most %(n)s domains.") % {"n": max_domains}, code="too_many")
    domains, warnings, errors = [], [], []
    for part in parts:
        try:
            domain = clean_domain(part)
        except ValidationError as exc:
            errors.extend(exc.error_list)
            continue
        kind, _matched = classify_domain(domain)
        if kind == CONSUMER:
            errors.append(ValidationError(
                _("%(domain)s is a personal mail service; only your organisation's own domains can be listed.")
                % {"domain": domain},
                code="consumer_domain",
            ))
            continue
        if kind != OFFICIAL:
            warnings.append(
                _("%(domain)s is not on the official list and will be reviewed before approval.") % {"domain": domain}
            )
        if domain not in domains:
            domains.append(domain)
    if errors:
        # Each error keeps its code: a wrong domain is an error, not a missing answer
        # (the section's status depends on it).
        raise ValidationError(errors)
    return domains, warnings


def clean_website(value):
    """Return (url, needs_review). A website off the official domains is flagged, not refused."""
    value = (value or "").strip()
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        hostname, _port = parts.hostname, parts.port
    except ValueError:  # "https://[dept.gov.in]": brackets that hold no IPv6 address, a bad port
        hostname = None
    if not hostname or parts.scheme not in ("http", "https"):
        raise ValidationError(_("Enter a website address such as https://dept.gov.in."), code="website")
    try:
        host = clean_domain(hostname)
    except ValidationError:
        raise ValidationError(_("Enter a website address such as https://dept.gov.in."), code="website") from None
    kind, _matched = classify_domain(host)
    if kind in (CONSUMER, INVALID):
        raise ValidationError(_("Enter your organisation's own website, such as https://dept.gov.in."), code="website")
    return value, kind != OFFICIAL


def letter_too_large(size: str) -> str:
    """The refusal of a letter of ``size`` MB (written as such) over ONBOARDING_UPLOAD_MAX_BYTES,
    here and in the browser before it is sent (forms.AttachmentForm)."""
    return _("The file is %(size)s MB; the largest allowed is %(max)s MB. Scan at a lower resolution or as a PDF.") % {
        "size": size, "max": settings.ONBOARDING_UPLOAD_MAX_BYTES // (1024 * 1024)}
