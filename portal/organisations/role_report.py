"""The report of who holds which role where, as CSV rows: streamed, so its memory
is bounded whatever the number of rows, and every cell a spreadsheet could take for
a formula made inert. A person's name is there where the viewer may see it (the rows'
``seen_name``, role_selectors), else left blank."""

from collections.abc import Iterable, Iterator
from itertools import chain

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import csv_files
from portal.csv_files import started
from portal.organisations.models import Membership, PlatformRole, PlatformRoleGrant, last_day_of
from portal.organisations.states import JURISDICTION_CHOICES

CHUNK = 2000
# The most roles a download holds, as the dashboard's export holds at most EXPORT_MAX_ROWS
# organisations: a file cut there says so on its last line.
REPORT_MAX_ROWS = 20_000


def jurisdiction_label(code: str) -> str:
    return str(dict(JURISDICTION_CHOICES).get(code, code)) if code else _("Everywhere")


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _last_day(ends_at) -> str:
    """The last day a role is held, as the page's "Last day" names it (a role granted with
    31 December as its last day ends at midnight after it: 2026-12-31, not 2027-01-01
    00:00); empty for a role held until revoked."""
    day = last_day_of(ends_at)
    return day.isoformat() if day else ""


def header() -> list[str]:
    return [_("Role"), _("Where"), _("Organisation short code"), _("State / UT"), _("Email address"), _("Full name"),
            _("Granted by"), _("Granted at"), _("Last day")]


def platform_row(grant: PlatformRoleGrant) -> list[str]:
    return [grant.get_role_display(), jurisdiction_label(grant.jurisdiction), "", "", grant.user.email,
            grant.seen_name or "", grant.granted_by.email if grant.granted_by else _("the system"),
            _when(grant.granted_at), _last_day(grant.ends_at)]


def admin_row(membership: Membership) -> list[str]:
    organisation = membership.organisation
    return [membership.get_role_display(), organisation.name, organisation.short_code, organisation.state,
            membership.user.email, membership.seen_name or "",
            membership.granted_by.email if membership.granted_by else "", _when(membership.held_since),
            _last_day(membership.ends_at)]


def _more_line(most: int) -> list[str]:
    return [_("The report holds more roles than the %(n)s a download holds: these are the first %(n)s.") % {"n": most}]


def superuser_row(user) -> list[str]:
    """A superadmin by their account's superuser flag (role_selectors.superusers): no grant."""
    return [PlatformRole.SUPERADMIN.label, _("Everywhere"), "", "", user.email, user.seen_name or "",
            _("the account's superuser flag"), "", ""]


def report_csv(grants: Iterable[PlatformRoleGrant], admins: Iterable[Membership], *, language: str,
               most: int | None = None, superusers: Iterable = ()) -> Iterator[str]:
    """The CSV lines in ``language`` (the portal's words: the header, the roles, "Everywhere"):
    a header, the superadmins by the superuser flag (``superusers``) and the platform roles,
    then the organisations' admins, at most ``most`` of them (REPORT_MAX_ROWS): when there
    are more, a last line says the file holds the first ``most``.
    Each line in ``language``, whatever thread reads it (csv_files.inert_lines)."""
    most = REPORT_MAX_ROWS if most is None else most

    def lines():
        yield header()
        rows = chain(((superuser_row, user) for user in superusers), ((platform_row, grant) for grant in grants),
                     ((admin_row, membership) for membership in admins))
        for written, (cells, record) in enumerate(rows):
            if written == most:
                yield _more_line(most)
                return
            yield cells(record)

    return csv_files.inert_lines(lines(), language=language)


def report_download_lines(grants: QuerySet[PlatformRoleGrant] | None, admins: QuerySet[Membership], *,
                          language: str, superusers: list = ()) -> Iterator[str]:
    """The download's lines of these rows in ``language`` (no platform roles when ``grants``
    is None; ``superusers``, read already, first): at most REPORT_MAX_ROWS (and one more, to
    tell there are more) read of each list, the first chunk of each now (``started``: a
    query that fails is an error page, not a file cut short)."""
    most = REPORT_MAX_ROWS
    return report_csv(started(grants[:most + 1], CHUNK) if grants is not None else (),
                      started(admins[:most + 1], CHUNK), language=language, most=most, superusers=superusers)
