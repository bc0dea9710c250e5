"""The staging table of a roster (RosterRow): loading the checked rows, and deciding
with a few set-based statements what applying each row would do.

On PostgreSQL the rows are loaded with COPY (psycopg's ``cursor.copy``); elsewhere
(SQLite, the embedded default) with ``bulk_create`` in batches. Either way the file
is read one batch at a time: memory does not grow with the file.
"""

import unicodedata
from collections.abc import Iterable, Iterator

from allauth.account.models import EmailAddress
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import StrIndex, Substr
from django.utils import timezone

from portal.accounts.official_email import normalise_mailbox
from portal.organisations.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationDomain,
    PlatformRole,
    PlatformRoleGrant,
    in_force_q,
    in_or_below_q,
    not_ended_q,
)
from portal.permissions import admins_who_act
from verification.models import HELD_STATUSES, GovernmentProfile, VerificationStatus
from verification.rosters.checks import CheckedRow
from verification.rosters.models import Invitation, InvitationStatus, RosterImport, RosterRow, RowOutcome
from verification.selectors import decisions_to_undo, mobile_holders

BATCH = 2000
_COPY_COLUMNS = ("roster_id", "line", "name", "email", "mailbox", "mobile", "designation", "employee_code", "office",
                 "superannuation_date", "superannuation_raw", "outcome", "problems", "done")


def _problems_text(row: CheckedRow) -> str:
    parts = []
    for kind in row.problems:
        columns = row.columns.get(kind)
        parts.append(f"{kind}:{','.join(dict.fromkeys(columns))}" if columns else kind)
    return " ".join(parts)[:300]


def _values(roster_id: int, row: CheckedRow) -> tuple:
    cells = row.cells
    return (
        roster_id, row.line, cells.get("name", ""), row.email or cells.get("email", ""),
        row.mailbox, row.mobile or cells.get("mobile", ""),
        cells.get("designation", ""), cells.get("employee_code", ""), cells.get("office", ""),
        row.superannuation_date, cells.get("superannuation", ""),
        RowOutcome.REFUSED if row.problems else RowOutcome.INVITE, _problems_text(row), False,
    )


def stage(roster: RosterImport, batches: Iterable[list[CheckedRow]]) -> int:
    """Load the checked rows of ``batches`` into the staging table; the number of rows."""
    if connection.vendor == "postgresql":
        return _copy(roster.pk, batches)
    count = 0
    for batch in batches:
        RosterRow.objects.bulk_create(
            [RosterRow(**dict(zip(_COPY_COLUMNS, _values(roster.pk, row), strict=True))) for row in batch],
            batch_size=500,
        )
        count += len(batch)
    return count


def _copy(roster_id: int, batches: Iterable[list[CheckedRow]]) -> int:
    # One COPY a batch: checking the next batch asks the database too, which it cannot
    # while a COPY holds the connection.
    count = 0
    statement = f"COPY {RosterRow._meta.db_table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
    for batch in batches:
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for row in batch:
                copy.write_row(_values(roster_id, row))
        count += len(batch)
    return count


def batched(items: Iterator, size: int = BATCH) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _same_details(prefix: str = "") -> dict:
    return {f"{prefix}{name}": OuterRef(name) for name in ("designation", "office", "employee_code", "mobile")}


def classify(roster: RosterImport) -> None:
    """Decide each row's outcome (set-based, a few statements whatever the size):
    refused duplicates of an earlier row; rows of people already verified here, or
    already invited here, are changed or unchanged; the others are verified at once
    (an account has confirmed the address, on a domain of the organisation or of one
    below it) or invited (any other address, whoever holds it)."""
    table = RosterRow._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Just loaded: the planner's statistics are stale. Those of the columns that
            # shape the plans below (how many rows this roster has, of which outcome, how
            # many addresses and mailboxes), a third of the time of the whole table's.
            cursor.execute(f"ANALYZE {table} (roster_id, outcome, email, mailbox)")
        # A row whose address reaches the mailbox of an earlier row's is refused (one pass, a
        # window): "a+1@x" and "A@x" are "a@x"'s, one person as the portal compares people,
        # and each row would otherwise mail the one inbox.
        cursor.execute(
            f"UPDATE {table} SET outcome = %s, problems = %s, duplicate_of = d.first_line "
            f"FROM (SELECT id, line, MIN(line) OVER (PARTITION BY mailbox) AS first_line FROM {table} "
            f"      WHERE roster_id = %s AND mailbox > '') AS d "
            f"WHERE {table}.id = d.id AND d.line > d.first_line AND {table}.problems = ''",
            [RowOutcome.REFUSED, "email_duplicate", roster.pk],
        )
        # Likewise a row whose mobile number is on an earlier row left in: the verification
        # API answers for a number only when one verified person holds it, and a roster is
        # no proof of whose it is.
        cursor.execute(
            f"UPDATE {table} SET outcome = %s, problems = %s, duplicate_of = d.first_line "
            f"FROM (SELECT id, line, MIN(line) OVER (PARTITION BY mobile) AS first_line FROM {table} "
            f"      WHERE roster_id = %s AND mobile > '' AND outcome <> %s) AS d "
            f"WHERE {table}.id = d.id AND d.line > d.first_line",
            [RowOutcome.REFUSED, "mobile_duplicate", roster.pk, RowOutcome.REFUSED],
        )
    rows = RosterRow.objects.filter(roster=roster)
    valid = rows.filter(outcome=RowOutcome.INVITE)
    held = held_here(roster.organisation_id).filter(official_email=OuterRef("email"))
    # An expired invitation is no longer known here: the person is invited again (apply
    # closes the expired one). One waits per mailbox, whichever way the roster writes it.
    invited = Invitation.objects.filter(organisation_id=roster.organisation_id, status=InvitationStatus.PENDING,
                                        expires_at__gt=timezone.now(), mailbox=OuterRef("mailbox"))
    # Unchanged first (the same details as the profile or invitation found, which is
    # therefore known here), then changed (known here, other details): each row is
    # written once, as a second import of the same file writes every row.
    # A row without a date of superannuation (a blank cell, or no such column: it is
    # optional) says nothing of it: the date known here stays, whatever it is.
    same = Q(superannuation_date=OuterRef("superannuation_date")) & Q(**_same_details())
    undated = Q(**_same_details())
    # The name too: the roster's is the one a verified person is verified under (apply).
    valid.filter(superannuation_date__isnull=False).filter(
        Exists(held.filter(same, verified_name=OuterRef("name"))) | Exists(invited.filter(same, name=OuterRef("name")))
    ).update(outcome=RowOutcome.UNCHANGED)
    valid.filter(superannuation_date__isnull=True).filter(
        Exists(held.filter(undated, verified_name=OuterRef("name")))
        | Exists(invited.filter(undated, name=OuterRef("name")))
    ).update(outcome=RowOutcome.UNCHANGED)
    for known in (held, invited):
        valid.filter(Exists(known)).update(outcome=RowOutcome.CHANGE)
    # A date of superannuation already past (an old list) for someone whose verification
    # is held here: applying it would have the next hourly sweep revoke them for good
    # (lifecycle.lapsed_profile_ids), as asking to be verified with such a date is refused.
    rows.filter(outcome=RowOutcome.CHANGE, superannuation_date__lt=timezone.localdate()).filter(
        Exists(held.exclude(superannuation_date=OuterRef("superannuation_date")))
    ).update(outcome=RowOutcome.REFUSED, problems="superannuation_past")
    # Likewise for someone not verified here (to be invited or verified, or an invitation
    # whose details change): they would be invited, or verified, past their date, and
    # their verification would end at once; nobody is verified with such a date.
    rows.filter(superannuation_date__lt=timezone.localdate()).filter(
        Q(outcome=RowOutcome.INVITE) | Q(outcome=RowOutcome.CHANGE) & ~Exists(held)
    ).update(outcome=RowOutcome.REFUSED, problems="superannuation_passed")
    # Verified at once: a row at an address on a domain of this organisation or of one
    # below it that an account has confirmed. Verifying someone here ends a verification
    # they hold in another organisation (and an admin role resting on it); anyone else is
    # invited, whoever holds the address: the visibility rules may keep it from this
    # organisation's admins (the verification API and the directory then find nobody by
    # it), and a row's outcome that depended on its holder (verified elsewhere, holding a
    # role, an auditor, verified nowhere) would tell them. Accepting the invitation is the
    # person's own act, which moves nobody verified elsewhere, nor verifies a role holder
    # or an auditor (invitations.invitation_accept), and tells them why.
    ours = own_domains_of_row(roster.organisation)
    confirmed = EmailAddress.objects.filter(email=OuterRef("email"), verified=True)
    rows.filter(outcome=RowOutcome.INVITE).filter(Exists(confirmed), Exists(ours)).update(outcome=RowOutcome.VERIFY)
    # An auditor left to verify, or verified here: an auditor's account is read-only,
    # nobody's verified member (verification.services.join_refusal; checked again when the
    # row is applied), nor are the details of one verified here before the role was given
    # changed. (One invited: accepting refuses them, invitations.invitation_accept.)
    auditors = EmailAddress.objects.filter(email=OuterRef("email"), verified=True).filter(
        Exists(PlatformRoleGrant.objects.filter(in_force_q(), user_id=OuterRef("user_id"), role=PlatformRole.AUDITOR)))
    rows.filter(outcome__in=[RowOutcome.VERIFY, RowOutcome.CHANGE]).filter(Exists(auditors)).update(
        outcome=RowOutcome.REFUSED, problems="auditor")
    # Someone left to verify whose verification elsewhere is suspended, or here was revoked,
    # for a reason of theirs, or whose request here was rejected (decisions_to_undo): verifying
    # them would undo that decision, which an administrator makes on their request's page (the
    # organisation's automatic verification leaves it to one too); checked again when the row
    # is applied, and when an invitation is accepted (invitations).
    undone = EmailAddress.objects.filter(email=OuterRef("email"), verified=True).filter(
        Exists(decisions_to_undo(roster.organisation).filter(user_id=OuterRef("user_id"))))
    rows.filter(outcome=RowOutcome.VERIFY).filter(Exists(undone)).update(
        outcome=RowOutcome.REFUSED, problems="decided_by_hand")
    # Someone left to verify, at an address on its domains, who is the last admin of the
    # organisation whose verification that would end: verify_row finds it refused
    # (LastAdmin) and skips the row; the preview says so first, with the same reason.
    last = EmailAddress.objects.filter(email=OuterRef("email"), verified=True).filter(
        Exists(last_admins_elsewhere(roster.organisation).filter(user_id=OuterRef("user_id"))))
    rows.filter(outcome=RowOutcome.VERIFY).filter(Exists(last)).update(
        outcome=RowOutcome.REFUSED, problems="last_admin_elsewhere")
    # A mobile number a verified person of another account holds, as the verification API
    # counts its holders (mobile_holders: shown to verified government users): the API
    # answers nobody for a number two of them hold, so the row would take the number's
    # answer from its holder (and a roster is no proof of whose number it is). A number
    # kept narrower is no holder's here either: the preview tells nobody it is held.
    # The holder is someone else when the profile's address is not the row's, and the
    # row's address is not confirmed on the holder's account.
    theirs = EmailAddress.objects.filter(user_id=OuterRef("user_id"), email=OuterRef(OuterRef("email")), verified=True)
    taken = (mobile_holders(OuterRef("mobile"), today=timezone.localdate())
             .exclude(official_email=OuterRef("email")).exclude(Exists(theirs)))
    rows.exclude(outcome=RowOutcome.REFUSED).exclude(mobile="").filter(Exists(taken)).update(
        outcome=RowOutcome.REFUSED, problems="mobile_taken")
    # Someone left to verify whose own request waits here naming another official address,
    # mobile number or employee code than the row: verifying them decides that request, and
    # would vouch for what the admin never saw (request_differs; checked again when the row is
    # applied). The people on the roster with a request waiting here read first (few), then
    # compared as applying compares them.
    waiting = GovernmentProfile.objects.filter(
        organisation_id=roster.organisation_id, status=VerificationStatus.PENDING,
        user__emailaddress__email=OuterRef("email"), user__emailaddress__verified=True)
    asked = dict(rows.filter(outcome=RowOutcome.VERIFY).annotate(request_id=Subquery(waiting.values("pk")[:1]))
                 .exclude(request_id=None).values_list("pk", "request_id"))
    if asked:
        requests = GovernmentProfile.objects.only("official_email", "mobile", "employee_code").in_bulk(asked.values())
        differ = [row.pk for row in RosterRow.objects.filter(pk__in=list(asked)).only("email", *REQUEST_DETAILS)
                  if request_differs(requests[asked[row.pk]], {"official_email": row.email,
                                                               **{name: getattr(row, name) for name in REQUEST_DETAILS}})]
        if differ:
            RosterRow.objects.filter(pk__in=differ).update(outcome=RowOutcome.REFUSED, problems="request_differs")


REQUEST_DETAILS = ("mobile", "employee_code")


def request_differs(waiting: GovernmentProfile | None, details: dict) -> bool:
    """Whether the person's own waiting request (``waiting``) names another official
    address, mobile number or employee code than the roster's row or invitation
    (``details``): verifying it, which is what verifying them there decides, would vouch
    for what the admin never saw (the verification API answers by address and number).
    It waits for an admin, who compares them on its page."""
    if waiting is None:
        return False
    return (normalise_mailbox(waiting.official_email) != normalise_mailbox(details["official_email"])
            or waiting.mobile != details["mobile"]
            or _code_key(waiting.employee_code) != _code_key(details["employee_code"]))


def _code_key(code: str) -> str:
    """An employee code as two are compared: however its letters were composed or cased."""
    return unicodedata.normalize("NFKC", code or "").strip().casefold()


def auditors_among(user_ids: Iterable[int]) -> set[int]:
    """Those of ``user_ids`` who hold the auditor role (in force): an auditor's account is
    read-only, and a roster neither verifies them nor changes their details."""
    return set(PlatformRoleGrant.objects.filter(in_force_q(), role=PlatformRole.AUDITOR, user_id__in=list(user_ids))
               .values_list("user_id", flat=True))


def mobile_taken(mobile: str, *, user_id: int) -> bool:
    """Whether a verified person other than ``user_id`` holds ``mobile``, as the
    verification API counts its holders (mobile_holders), checked again when a row is
    applied or an invitation accepted: the preview may be days old, and two rows or
    invitations may name one number."""
    return bool(mobile) and mobile_holders(mobile, today=timezone.localdate()).exclude(user_id=user_id).exists()


def own_domains(organisation: Organisation) -> QuerySet[OrganisationDomain]:
    """The verified domains of ``organisation`` and of the offices below it: the addresses
    at which its roster may move someone verified in another organisation (not those of
    the organisations above it, official for it too, whose people it does not move)."""
    return OrganisationDomain.objects.own_to(organisation)


def own_domains_of_row(organisation: Organisation) -> QuerySet[OrganisationDomain]:
    """``own_domains`` holding the address of the outer query's row (``OuterRef("email")``),
    for an Exists: whether a staged row's address is on them."""
    return own_domains(organisation).filter(
        domain=Substr(OuterRef("email"), StrIndex(OuterRef("email"), Value("@")) + 1))


def held_here(organisation_id: int) -> QuerySet[GovernmentProfile]:
    """Verifications held in the organisation whose official address is still confirmed on
    their holder's account: the ones a roster's row at that address is about. One suspended
    as its address left the account is not (README: a successor in the post may confirm the
    address next): a row at that address is its account holder's, verified or invited as
    anyone else, and never writes their details onto the predecessor's record."""
    theirs = EmailAddress.objects.filter(user_id=OuterRef("user_id"), email__iexact=OuterRef("official_email"),
                                         verified=True)
    return GovernmentProfile.objects.filter(Exists(theirs), organisation_id=organisation_id,
                                            status__in=HELD_STATUSES)


def held_elsewhere(organisation: Organisation) -> QuerySet[GovernmentProfile]:
    """Verifications in force in an organisation other than ``organisation``."""
    return GovernmentProfile.objects.filter(status__in=HELD_STATUSES).exclude(organisation_id=organisation.pk)


def powers_elsewhere(organisation: Organisation) -> QuerySet[Membership]:
    """Admin roles in force in organisations other than ``organisation`` and those below it."""
    return Membership.objects.filter(role=MembershipRole.ADMIN, is_active=True).exclude(in_or_below_q(organisation))


def last_admins_elsewhere(organisation: Organisation) -> QuerySet[GovernmentProfile]:
    """Verifications held elsewhere (``held_elsewhere``) whose holder is an admin there
    and nobody else holds the admin role there without an end date: verifying them in
    ``organisation`` would end that role and leave the organisation without an admin,
    which the verification services refuse (LastAdmin, organisations_left_without_admin);
    a role that gives no right to act (an inactive account's, an auditor's, a lapsed one:
    portal.permissions.admins_who_act) is nobody's who stays.
    Not the roles above resting on such a verification alone: apply still finds those."""
    now = timezone.now()
    admin = Membership.objects.filter(organisation_id=OuterRef("organisation_id"), role=MembershipRole.ADMIN,
                                      is_active=True)
    return held_elsewhere(organisation).filter(
        Exists(admin.filter(not_ended_q(now=now), user_id=OuterRef("user_id")))
    ).exclude(Exists(admins_who_act(
        admin.filter(ends_at__isnull=True).exclude(user_id=OuterRef("user_id")), now)))


def _on_own_domains(organisation: Organisation, email: str) -> bool:
    return own_domains(organisation).filter(domain=email.rpartition("@")[2]).exists()


def holds_power_elsewhere(organisation: Organisation, *, user_id: int, email: str) -> bool:
    """Whether ``user_id`` holds a platform role or an admin role outside ``organisation``,
    and ``email`` is not on its domains: its roster does not verify them (they ask)."""
    return ((powers_elsewhere(organisation).filter(user_id=user_id).exists()
             or PlatformRoleGrant.objects.filter(in_force_q(), user_id=user_id).exists())
            and not _on_own_domains(organisation, email))


def moves_from_elsewhere(organisation: Organisation, *, user_id: int, email: str) -> bool:
    """Whether verifying ``user_id`` in ``organisation`` from its roster (at ``email``)
    would take them from a verification they hold in another organisation at an address
    not on ``organisation``'s domains: a roster does not do that (the person asks)."""
    return held_elsewhere(organisation).filter(user_id=user_id).exists() and not _on_own_domains(organisation, email)


def summarise(roster: RosterImport) -> dict:
    """The preview's counts (rows per outcome) and problems per kind, from the staging table (2 queries)."""
    per_outcome = dict(RosterRow.objects.filter(roster=roster).values_list("outcome").annotate(n=Count("id"))
                       .values_list("outcome", "n"))
    problems: dict[str, int] = {}
    combos = (RosterRow.objects.filter(roster=roster, outcome=RowOutcome.REFUSED).values_list("problems")
              .annotate(n=Count("id")).values_list("problems", "n"))
    for text, n in combos:
        for part in text.split():
            kind = part.split(":", 1)[0]
            problems[kind] = problems.get(kind, 0) + n
    return {"per_outcome": per_outcome, "problems": problems}
