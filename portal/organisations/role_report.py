"""The report of who holds which role where, as CSV rows: streamed, so its memory
is bounded whatever the number of rows, and every cell a spreadsheet could take for
a formula made inert. A person's name is there where the viewer may see it (the rows'
``seen_name``, role_selectors), else left blank."""

from collections.abc import Iterable, Iterator

from django.utils import timezone
from django.utils.translation import gettext as _

from portal import csv_files
from portal.csv_files import neutralise
from portal.organisations.models import Membership, PlatformRoleGrant
from portal.organisations.states import JURISDICTION_CHOICES

CHUNK = 2000


def jurisdiction_label(code: str) -> str:
    return str(dict(JURISDICTION_CHOICES).get(code, code)) if code else _("Everywhere")


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


class _Line:
    """A file-like object whose write() returns what was written (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def header() -> list[str]:
    return [_("Role"), _("Where"), _("Organisation short code"), _("State / UT"), _("Email address"), _("Full name"),
            _("Granted by"), _("Granted at"), _("Ends at")]


def platform_row(grant: PlatformRoleGrant) -> list[str]:
    return [grant.get_role_display(), jurisdiction_label(grant.jurisdiction), "", "", grant.user.email,
            grant.seen_name or "", grant.granted_by.email if grant.granted_by else _("the system"),
            _when(grant.granted_at), _when(grant.ends_at)]


def admin_row(membership: Membership) -> list[str]:
    organisation = membership.organisation
    return [membership.get_role_display(), organisation.name, organisation.short_code, organisation.state,
            membership.user.email, membership.seen_name or "",
            membership.granted_by.email if membership.granted_by else "", _when(membership.held_since),
            _when(membership.ends_at)]


def report_csv(grants: Iterable[PlatformRoleGrant], admins: Iterable[Membership]) -> Iterator[str]:
    """The CSV lines: a header, the platform roles, then the organisations' admins."""
    writer = csv_files.writer(_Line())
    yield csv_files.UTF8_MARK
    yield writer.writerow([neutralise(cell) for cell in header()])
    for grant in grants:
        yield writer.writerow([neutralise(cell) for cell in platform_row(grant)])
    for membership in admins:
        yield writer.writerow([neutralise(cell) for cell in admin_row(membership)])
