"""Kinds of refusal decided over the whole roster when its rows are classified
(rosters.staging), or again when a row is applied, rather than by checking each row on
its own (rosters.checks keeps those): their texts, for the preview's summary and for
each refused row. The kinds checks.PROBLEMS and checks.REASONS name are answered there."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from verification.rosters.checks import reason_text

# (one, several) with %(n)s, listed after the checks' kinds.
PROBLEMS = {
    "mobile_duplicate": ngettext_lazy("%(n)s mobile number appears on an earlier row too",
                                      "%(n)s mobile numbers appear on an earlier row too", "n"),
    "holds_role_elsewhere": ngettext_lazy(
        "%(n)s person holds a role elsewhere on the portal and is not on this organisation's domains",
        "%(n)s people hold a role elsewhere on the portal and are not on this organisation's domains", "n"),
    "auditor": ngettext_lazy(
        "%(n)s person is an auditor, whose account is read-only: no organisation verifies it",
        "%(n)s people are auditors, whose accounts are read-only: no organisation verifies them", "n"),
    "decided_by_hand": ngettext_lazy(
        "%(n)s person's verification was suspended or revoked for a reason of theirs, or refused here: an "
        "administrator decides on their request",
        "%(n)s people's verifications were suspended or revoked for a reason of theirs, or refused here: an "
        "administrator decides on their requests", "n"),
    "request_differs": ngettext_lazy(
        "%(n)s person's own request waits here with another official address, mobile number or employee code than "
        "the roster gives: an administrator decides it on its page",
        "%(n)s people's own requests wait here with another official address, mobile number or employee code than "
        "the roster gives: an administrator decides each on its page", "n"),
    "last_admin_elsewhere": ngettext_lazy(
        "%(n)s person is the last admin of another organisation and would leave it without one",
        "%(n)s people are the last admins of other organisations and would leave them without one", "n"),
    "superannuation_past": ngettext_lazy(
        "%(n)s date of superannuation has passed for a member verified here",
        "%(n)s dates of superannuation have passed for members verified here", "n"),
    "superannuation_passed": ngettext_lazy(
        "%(n)s date of superannuation has passed for a person not verified here",
        "%(n)s dates of superannuation have passed for people not verified here", "n"),
    # Not refused: invited when the roster is applied, but not mailed (invitations.MAIL_HELD_PREVIEW).
    "invite_mail_held": ngettext_lazy(
        "%(n)s person to invite was sent the most invitation mails allowed in 24 hours, by any organisation: they are "
        "invited when the roster is applied, and mailed once the address is under the limit again (checked every "
        "hour)",
        "%(n)s people to invite were sent the most invitation mails allowed in 24 hours, by any organisation: they "
        "are invited when the roster is applied, and each mailed once the address is under the limit again (checked "
        "every hour)", "n"),
}

REASONS = {
    "mobile_duplicate": _("The same mobile number is on row %(line)s: a number is one person's."),
    "holds_role_elsewhere": _("This person is an administrator of another organisation or holds a platform role, "
                              "and the address is not on this organisation's domains: they ask to be verified "
                              "themselves."),
    "auditor": _("This person is an auditor: an auditor's account is read-only, and no organisation verifies it."),
    "decided_by_hand": _("This person's verification in another organisation is suspended, or one here was revoked, "
                         "for a reason of theirs (misuse, retirement, leaving service), or an administrator here "
                         "refused their request: being verified would undo that decision, which an administrator "
                         "makes on their request's page. They ask to be verified themselves."),
    "last_admin_elsewhere": _("This person is the last admin of another organisation whose role does not end, and "
                              "being verified here would end that role: they hand it over there first (an admin "
                              "there grants it to someone else, without an end date), then they can be verified "
                              "here."),
    "superannuation_past": _("The date of superannuation has passed: applying it would end this member's verification. "
                             "If they have retired, revoke their verification on their page; else correct the date."),
    "superannuation_passed": _("The date of superannuation has passed: nobody is verified or invited after it. Correct "
                               "the date if it is wrong."),
    # Reasons only applying finds (a row skipped then), with those above.
    "not_verifiable": _("This person could not be verified now (a date of superannuation already past, or an address "
                        "no longer confirmed or no longer official): their request waits in your queue, whose page "
                        "says why."),
    # Not a refusal: the row was applied (models.MAIL_HELD).
    "mail_held": ngettext_lazy(
        "The invitation was made but not mailed: this address was sent %(limit)s invitation mail in the last 24 "
        "hours, by any organisation, the most one address may receive. It is mailed by itself once the address is "
        "under the limit again (checked every hour).",
        "The invitation was made but not mailed: this address was sent %(limit)s invitation mails in the last 24 "
        "hours, by any organisation, the most one address may receive. It is mailed by itself once the address is "
        "under the limit again (checked every hour).",
        "limit"),
    "request_differs": _("This person's own request waits here with another official address, mobile number or "
                         "employee code than the roster gives: decide it on its page, where both can be compared."),
    "not_held_here": _("This person was no longer verified or invited here when the roster was applied (the "
                       "verification ended, or the invitation was accepted, cancelled or expired): upload the file "
                       "again."),
}


def row_reason(kind: str, columns: list[str] | None = None, *, duplicate_of: int | None = None) -> str:
    """What one refused row says about one kind of problem."""
    text = REASONS.get(kind)
    if text is None:
        return reason_text(kind, columns, duplicate_of=duplicate_of)
    if kind == "mail_held":
        return str(text % {"limit": settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY})
    return str(text) % {"line": duplicate_of or "?"}


def reasons_of(row) -> list[str]:
    """Why a refused row was refused, one sentence a problem."""
    texts = []
    for part in row.problems.split():
        kind, _sep, columns = part.partition(":")
        texts.append(row_reason(kind, columns.split(",") if columns else None, duplicate_of=row.duplicate_of))
    return texts


def left_out_because(row) -> str:
    """Why a row of the list of refusals was left out, in one text (the download's
    column): its reasons, after "Skipped when applied:" for a row applying skipped."""
    reasons = " ".join(reasons_of(row))
    if row.mail_held:
        return _("Invited, not mailed: %(reasons)s") % {"reasons": reasons}
    return _("Skipped when applied: %(reasons)s") % {"reasons": reasons} if row.skipped else reasons
