"""Writes of monitoring: the summary figures and the chain check (beat jobs), the
adoption tracker's list of expected offices and the reminders sent to them, and the
audit row of an export. Each change is audited in its own transaction."""

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from monitoring.models import AuditChainCheck, ExpectedOffice, FiguresRun, OrganisationFigures
from monitoring.notifications import send_adoption_reminder
from monitoring.scope import Scope, tracker_jurisdictions
from monitoring.selectors import FIGURES_RUN
from monitoring.tracker import TrackerStatus, joined_match
from portal.accounts.official_email import classify_email, normalise_address
from portal.advisory import advisory_lock
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.publish import mail_superadmins
from portal.audit.services import audit_record, audit_record_many, audit_verify_report
from portal.limits import hourly_audited, refuse_over_actions, shown_from
from portal.organisations.models import Organisation, OrganisationStatus, jurisdiction_expression
from portal.permissions import AnyUser
from portal.shown import check_shown, shown_digest
from portal.templatetags.portal_tags import day_time
from verification.models import GovernmentProfile, VerificationStatus, person_verified_in_force

logger = logging.getLogger(__name__)

# The stable prefix of the error logged when the daily check finds the chain broken.
CHAIN_BROKEN_PREFIX = "AUDIT_CHAIN_BROKEN"
REMINDER_INTERVAL = timedelta(days=7)
OFFICE_FIELDS = ("jurisdiction", "name", "short_code", "official_domain", "contact_email", "target_date")


# Beat jobs -------------------------------------------------------------------------

# The first of PostgreSQL's two advisory-lock keys: the replacement of the figures ("FIGS").
FIGURES_LOCK_NAMESPACE = 0x46494753


def _figures_lock() -> None:
    """Until the transaction ends, other refreshes of the figures wait here: one that
    deleted the rows before another's insert committed would insert the same keys again
    (SQLite, for development, has one writer at a time)."""
    advisory_lock(FIGURES_LOCK_NAMESPACE)


def figures_refresh() -> dict:
    """Count the verified and waiting government users of every organisation (one scan
    of the profiles) and store them in the summary table. Safe to run twice, at once
    too: the second counts and replaces the figures once the first has committed (_figures_lock). A person
    counts while their verification is in force (person_verified_in_force: not of an
    account deactivated, not past superannuation before the hourly job records it), or
    waits while their request is undecided, as the administrators' queue lists it (a
    deactivated account's request included: it waits there for their decision)."""
    started = time.monotonic()
    with transaction.atomic():
        # Counted once the lock is held: a refresh that counted and then waited for another to
        # commit would put back older figures than those it replaced.
        _figures_lock()
        now = timezone.now()
        counts = (
            GovernmentProfile.objects.order_by().values("organisation_id")
            .annotate(verified=Count("id", filter=person_verified_in_force(timezone.localdate(now))),
                      pending=Count("id", filter=Q(status=VerificationStatus.PENDING)))
            .values_list("organisation_id", "verified", "pending")
        )
        rows = [OrganisationFigures(organisation_id=org, verified_users=v, pending_users=p, refreshed_at=now)
                for org, v, p in counts.iterator(chunk_size=5000)]
        # Replaced whole in one transaction: readers see the old figures until it commits.
        OrganisationFigures.objects.all().delete()
        OrganisationFigures.objects.bulk_create(rows, batch_size=2000)
        duration = int((time.monotonic() - started) * 1000)
        FiguresRun.objects.update_or_create(name=FIGURES_RUN, defaults={
            "finished_at": timezone.now(), "duration_ms": duration, "rows": len(rows)})
    return {"organisations": len(rows), "duration_ms": duration}


def audit_chain_check() -> AuditChainCheck:
    """Walk the audit chain (portal.audit's verifier) and keep the result, for the
    audit log viewer: the events walked, as of the moment the walk read the log (events
    appended meanwhile are the next walk's). Daily by beat; the walk reads every event.

    A broken chain is also told where the head publisher tells an unsealed head: an
    error logged with CHAIN_BROKEN_PREFIX and a mail to every superadmin (through the
    outbox), on each check that finds it broken: a daily reminder while it stays broken
    (what was told before is not looked up in the check's table, which whoever edited
    the log can write too)."""
    started = time.monotonic()
    report = audit_verify_report()
    first = report.problems[0] if report.problems else None
    with transaction.atomic():
        check = AuditChainCheck.objects.create(
            checked_at=timezone.now(), intact=first is None, events=report.count, problems=len(report.problems),
            first_problem_event=first.event_id if first else None, first_problem_code=first.code if first else "",
            first_problem_values=first.values if first else {},
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        if first is not None:
            logger.error("%s problems=%s events=%s first=#%s: %s at=%s: run manage.py verify_audit",
                         CHAIN_BROKEN_PREFIX, check.problems, check.events, first.event_id, first.reason,
                         check.checked_at.isoformat(timespec="seconds"))
            mail_superadmins(template="monitoring/email/audit_chain_broken", context={"check": check})
    return check


# Exports ---------------------------------------------------------------------------

# The filters of an export that only order its rows: with no other, it is of its whole scope.
ORDERING_FILTERS = frozenset({"sort"})


# The first of PostgreSQL's two advisory-lock keys: an account's exports ("EXPT").
EXPORT_LOCK_NAMESPACE = 0x45585054


def _export_lock(user_id: int) -> None:
    """Until the transaction ends, the account's other exports wait here, so that two at
    once cannot both find it under its hourly limit (SQLite, for development, has one
    writer at a time)."""
    advisory_lock(EXPORT_LOCK_NAMESPACE, user_id)


def export_record(
    *, what: str, filters: dict, rows: int, scope: Scope, organisations: QuerySet[Organisation], actor: AnyUser,
    limit: int, request: HttpRequest | None = None,
) -> datetime | None:
    """The audit row of a CSV export: what was exported, with which filters, how many
    rows, and of which scope (``exported_scope`` of ``organisations``, the rows exported:
    the auditors of their states and the admins of its organisations read it in their
    log). The export's limit is counted from those rows: when the account made ``limit``
    in the last hour, nothing is written and the moment the next is possible is returned
    (None once written). The count and the row are made under the account's lock."""
    narrowed = any(value for name, value in filters.items() if name not in ORDERING_FILTERS)
    return hourly_audited(actor=actor, action=AuditAction.MONITORING_EXPORTED, limit=limit,
                          lock=lambda: _export_lock(actor.pk), request=request,
                          new={"export": what, "filters": filters, "rows": rows,
                               "scope": exported_scope(scope, organisations=organisations, narrowed=narrowed)})


def exported_scope(scope: Scope, *, organisations: QuerySet[Organisation], narrowed: bool) -> dict:
    """The scope an export read, as its event keeps it for the scoped audit logs
    (monitoring.auditlog): ``everything`` for the whole platform unfiltered (not
    ``narrowed``); else under ``jurisdictions`` the states/UTs of the rows exported
    (``organisations``: one query, their distinct jurisdictions; a central body's is
    CENTRAL), and, for an organisation admin's, under ``organisations`` the
    organisations administered and the offices above them (whose admins read what
    concerns the offices below). Each as a key, which every database looks up
    (``has_any_keys``)."""
    if scope.everything and not narrowed:
        return {"everything": True}
    jurisdictions = (
        Organisation.objects.filter(pk__in=organisations.values("pk"))
        .annotate(of=jurisdiction_expression())
        .order_by().values_list("of", flat=True).distinct()
    )
    found = {"jurisdictions": dict.fromkeys(sorted(jurisdictions), True)}
    if not scope.everything:
        found["organisations"] = dict.fromkeys(sorted(str(pk) for pk in scope.tops_and_above), True)
    return found


# The adoption tracker ----------------------------------------------------------------

def _check_editable(jurisdiction: str, editable: set[str] | None) -> None:
    if editable is not None and jurisdiction not in editable:
        raise ValidationError(_("You do not administer this state or UT."), code="jurisdiction")


def _sees_list_of(actor: AnyUser, office: ExpectedOffice) -> bool:
    """Whether the actor reads the list the office is on: a refusal names another office
    only then (a state administrator is not told the names on another state's list)."""
    jurisdictions = tracker_jurisdictions(actor)
    return jurisdictions is None or office.jurisdiction in jurisdictions


def _plain(values: dict) -> dict:
    return {key: (value.isoformat() if isinstance(value, date) else value) for key, value in values.items()}


def _taken_meanwhile(values: dict, office_pk: int | None) -> ValidationError:
    """The refusal of an office whose short code or domain another office took after the
    form checked them (its unique constraint refused the save): at that field, as the
    form says it."""
    others = ExpectedOffice.objects.exclude(pk=office_pk)
    if values["short_code"] and others.filter(jurisdiction=values["jurisdiction"],
                                              short_code=values["short_code"]).exists():
        return ValidationError({"short_code": ValidationError(
            _("Another office of this list has this short code."), code="duplicate")})
    return ValidationError({"official_domain": ValidationError(
        _("Another office on a list has this domain."), code="duplicate")})


def office_values(office: ExpectedOffice) -> dict:
    """An office's values (OFFICE_FIELDS) as its page shows and edits them."""
    return {name: getattr(office, name) for name in OFFICE_FIELDS}


def expected_office_digest(office: ExpectedOffice) -> str:
    """The digest of an office as its edit page shows it: the page sends it back as
    ``shown_values`` (portal.shown)."""
    return shown_digest(_plain(office_values(office)))


def expected_office_save(
    *, office: ExpectedOffice | None, values: dict, editable: set[str] | None, actor: AnyUser,
    request: HttpRequest | None = None, shown_values: str | None = None,
) -> ExpectedOffice:
    """Add an expected office, or change one (``values``: the fields of OFFICE_FIELDS,
    already cleaned). Audited with what changed. A short code or domain another office
    took meanwhile (the same office added twice at once) is refused at its field.

    ``shown_values``: the ``expected_office_digest`` of the office the edit page showed;
    when the office is no longer that (another administrator saved it since) and this would
    change it, raises ChangedMeanwhile and saves nothing. None: not checked."""
    _check_editable(values["jurisdiction"], editable)
    with transaction.atomic():
        if office is None:
            office = ExpectedOffice(created_by=actor if actor.is_authenticated else None, **values)
            try:
                with transaction.atomic():
                    office.save()
            except IntegrityError:
                raise _taken_meanwhile(values, None) from None
            audit_record(actor=actor, action=AuditAction.ADOPTION_LIST_CHANGED, target=office, request=request,
                         new={"added": _plain(values)})
            return office
        office = ExpectedOffice.objects.select_for_update().filter(pk=office.pk).first()
        if office is None:  # taken off the list by someone else while this was edited
            raise ValidationError(_("The office was already taken off the list."), code="gone")
        _check_editable(office.jurisdiction, editable)
        old = office_values(office)
        changed = {name: value for name, value in values.items() if old[name] != value}
        if not changed:
            return office
        check_shown(shown_values, _plain(old))
        for name, value in changed.items():
            setattr(office, name, value)
        try:
            with transaction.atomic():
                office.save(update_fields=[*changed, "updated_at"])
        except IntegrityError:
            raise _taken_meanwhile({**old, **changed}, office.pk) from None
        audit_record(actor=actor, action=AuditAction.ADOPTION_LIST_CHANGED, target=office, request=request,
                     old=_plain({name: old[name] for name in changed}), new=_plain(changed))
    return office


def expected_office_delete(*, office: ExpectedOffice, editable: set[str] | None, actor: AnyUser,
                           request: HttpRequest | None = None, shown_values: str | None = None) -> bool:
    """Take an office off its list; audited. False, and nothing recorded, when it was
    taken off already (the same office taken off twice at once). ``shown_values``: the
    ``expected_office_digest`` of the office its confirmation page showed; ChangedMeanwhile,
    nothing taken off, when it was changed since (it may be another office now)."""
    _check_editable(office.jurisdiction, editable)
    with transaction.atomic():
        office = ExpectedOffice.objects.select_for_update().filter(pk=office.pk).first()
        if office is None:
            return False
        check_shown(shown_values, _plain(office_values(office)))
        audit_record(actor=actor, action=AuditAction.ADOPTION_LIST_CHANGED, target=office, request=request,
                     old={"removed": _plain(office_values(office))})
        office.delete()
    return True


def _added_meanwhile(row: dict) -> ValidationError:
    return ValidationError(
        _("Nothing was saved: an office with the short code or domain of %(office)s was added to a list meanwhile "
          "(another upload or change at the same moment). Send the file again: the offices listed by then are "
          "updated, not added twice.") % {"office": row["short_code"] or row["official_domain"]},
        code="added_meanwhile")


def _offices_write(adding: list[tuple[dict, ExpectedOffice]], changing: list[tuple[dict, ExpectedOffice, list[str]]],
                   jurisdiction: str) -> None:
    """Write an upload's changed offices (one statement) and new ones (another), in the
    caller's transaction. An office with the short code or domain of one of them added by
    another upload or change at the same moment refuses the whole upload, naming the first
    row (a changed office first) whose code or domain another office has now (_added_meanwhile)."""
    try:
        with transaction.atomic():
            if changing:
                now = timezone.now()
                for _row, office, _changed in changing:
                    office.updated_at = now
                fields = sorted({name for _row, _office, changed in changing for name in changed})
                ExpectedOffice.objects.bulk_update([office for _row, office, _changed in changing],
                                                   [*fields, "updated_at"])
            if adding:
                ExpectedOffice.objects.bulk_create([office for _row, office in adding])
    except IntegrityError:
        # The first row whose code (in the jurisdiction) or domain another office has now.
        rows = [(row, office.pk) for row, office, _changed in changing] + [(row, None) for row, _office in adding]
        taken = list(ExpectedOffice.objects.filter(
            Q(jurisdiction=jurisdiction, short_code__in=[row["short_code"] for row, _pk in rows if row["short_code"]])
            | Q(official_domain__in=[row["official_domain"] for row, _pk in rows if row["official_domain"]])
        ).values_list("pk", "jurisdiction", "short_code", "official_domain"))

        def clashes(row: dict, pk: int | None) -> bool:
            return any(other != pk and ((row["short_code"] and (where, code) == (jurisdiction, row["short_code"]))
                                        or (row["official_domain"] and domain == row["official_domain"]))
                       for other, where, code, domain in taken)

        raise _added_meanwhile(next((row for row, pk in rows if clashes(row, pk)), rows[0][0])) from None


@dataclass
class ImportOutcome:
    added: int = 0
    changed: int = 0
    unchanged: int = 0


def expected_offices_import(
    *, jurisdiction: str, rows: list[dict], editable: set[str] | None, actor: AnyUser,
    request: HttpRequest | None = None, lines: list[int] | None = None,
) -> ImportOutcome:
    """Add or change the offices of an uploaded list (rows already checked, each with
    the fields of OFFICE_FIELDS but the jurisdiction; in the file's order, ``lines`` the
    line of the file each starts on, else the first on line 2 under the header and one a
    line), matched to the existing ones of the jurisdiction as the
    list was before the upload: by short code, else by domain. Two rows matching one
    office (one by its code, one by the domain it has) refuse the upload: applied one
    after the other, the second would turn the office into another one. Audited as
    expected_office_save audits one office: an event for each office added (its fields) or changed (the old
    and new values of what changed), then one for the upload (its jurisdiction and
    counts). An office another upload or change added meanwhile (the same list uploaded
    twice at once) refuses the whole upload: sent again, the list updates that office."""
    _check_editable(jurisdiction, editable)
    outcome = ImportOutcome()
    events = []
    adding: list[tuple[dict, ExpectedOffice]] = []
    changing: list[tuple[dict, ExpectedOffice, list[str]]] = []
    with transaction.atomic():
        existing = list(ExpectedOffice.objects.select_for_update().filter(
            Q(jurisdiction=jurisdiction) | Q(official_domain__in=[r["official_domain"] for r in rows if r["official_domain"]])
        ))
        by_code = {o.short_code: o for o in existing if o.short_code and o.jurisdiction == jurisdiction}
        by_domain = {o.official_domain: o for o in existing if o.official_domain}
        # Office pk: the line of the row that matched it, whether by its code, the office's name then.
        matched: dict[int, tuple[int, bool, str]] = {}
        for line, row in zip(lines or range(2, len(rows) + 2), rows, strict=True):
            values = {**row, "jurisdiction": jurisdiction}
            office = by_code.get(row["short_code"]) if row["short_code"] else None
            by_its_code = office is not None
            office = office or (by_domain.get(row["official_domain"]) if row["official_domain"] else None)
            if office is not None and office.pk in matched:
                # Codes and domains are each once in the file: one row names the office's
                # code, the other the domain it has.
                other_line, other_by_code, name = matched[office.pk]
                code_line, domain_line = (other_line, line) if other_by_code else (line, other_line)
                raise ValidationError(
                    _("Nothing was saved: line %(code_line)s (by its short code) and line %(domain_line)s (by its "
                      "domain) both match the office %(office)s on the list. To give it a new domain and list another "
                      "office on the one it has, upload its new domain first, then the other office.")
                    % {"code_line": code_line, "domain_line": domain_line, "office": name},
                    code="matched_twice")
            if office is not None:
                matched[office.pk] = (line, by_its_code, office.name)
            if office is not None and office.jurisdiction != jurisdiction:
                raise ValidationError(
                    _("The domain %(domain)s is already on the list of another state or UT.")
                    % {"domain": row["official_domain"]}, code="domain_elsewhere")
            holder = by_domain.get(row["official_domain"]) if row["official_domain"] else None
            if office is not None and holder is not None and holder.pk != office.pk:
                # Matched by its short code, the row would move the office onto a domain another office has.
                if _sees_list_of(actor, holder):
                    message = _("The domain %(domain)s is already the domain of %(office)s on the list: %(code)s "
                                "cannot have it too.")
                else:
                    message = _("The domain %(domain)s is already the domain of an office on the list of another "
                                "state or UT: %(code)s cannot have it too.")
                raise ValidationError(
                    message % {"domain": row["official_domain"], "office": holder.name, "code": row["short_code"]},
                    code="domain_taken")
            if office is None:
                office = ExpectedOffice(created_by=actor, **values)
                adding.append((row, office))
                # Its target's id is set when the offices are written (_offices_write), before the events are.
                events.append({"action": AuditAction.ADOPTION_LIST_CHANGED, "target": office,
                               "new": {"added": _plain({name: values[name] for name in OFFICE_FIELDS})}})
                continue
            changed = [name for name in OFFICE_FIELDS if getattr(office, name) != values[name]]
            if not changed:
                outcome.unchanged += 1
                continue
            events.append({"action": AuditAction.ADOPTION_LIST_CHANGED, "target": office,
                           "old": _plain({name: getattr(office, name) for name in changed}),
                           "new": _plain({name: values[name] for name in changed})})
            for name in changed:
                setattr(office, name, values[name])
            changing.append((row, office, changed))
        _offices_write(adding, changing, jurisdiction)
        outcome.added, outcome.changed = len(adding), len(changing)
        # The upload's own event has no target: the state auditors' scope finds it by the
        # jurisdiction it names (monitoring.auditlog).
        events.append({"action": AuditAction.ADOPTION_LIST_CHANGED, "new": {
            "uploaded": jurisdiction, "rows": len(rows), "added": outcome.added, "changed": outcome.changed,
            "unchanged": outcome.unchanged}})
        audit_record_many(events, actor=actor, request=request)
    return outcome


def _reminded_too_soon(at: datetime) -> ValidationError:
    return ValidationError(_("This office was reminded on %(when)s; the next reminder can be sent from %(next)s.")
                           % _reminded(at), code="too_soon")


def _reminded(at: datetime) -> dict[str, str]:
    """When a reminder was sent and when the next may be, as the refusals say them: as
    the pages write a moment (the day_time filter's "2 Dec 2026, 14:05"), the month in
    the language of the request; the next rounded up to the minute (``shown_from``), so
    that it is a moment at which the next is allowed."""
    return {"when": day_time(timezone.localtime(at)), "next": shown_from(at + REMINDER_INTERVAL)}


# The first of PostgreSQL's two advisory-lock keys: the reminders to one address ("RMND").
REMINDER_LOCK_NAMESPACE = 0x524D4E44


def _mailbox(address: str) -> str:
    """The mailbox an address reaches, as people are compared (normalise_address: in any
    case, without a "+tag"): the reminders' week counts per mailbox, however it is written."""
    return normalise_address(address) or address.strip().lower()


def _same_mailbox_q(field: str, address: str) -> Q:
    """Addresses that may reach ``address``'s mailbox (those whose local part, in any case,
    is its own less any "+tag", followed by "@" or "+"), for the caller to compare by
    ``_mailbox``: the few a week's reminders name, not every one listed."""
    local = _mailbox(address).rpartition("@")[0]
    return Q(**{f"{field}__istartswith": f"{local}@"}) | Q(**{f"{field}__istartswith": f"{local}+"})


def _reminder_lock(address: str) -> None:
    """Until the transaction ends, other reminders to this address's mailbox (however it
    is written) wait here, whichever office names it, so that two at once cannot both find
    no reminder to it in the week (SQLite, for development, has one writer at a time)."""
    advisory_lock(REMINDER_LOCK_NAMESPACE, _mailbox(address))


def _last_reminder_to(address: str, now: datetime) -> AuditEvent | None:
    """The newest reminder sent to the address's mailbox (however it was written) in the
    week before ``now``, from the audit log: it outlives the office it was sent for
    (removed, added again, or given another address since), which the office's own
    ``last_reminded_at`` does not."""
    mailbox = _mailbox(address)
    sent = (AuditEvent.objects.filter(_same_mailbox_q("new_values__to", address),
                                      action=AuditAction.ADOPTION_REMINDER_SENT, created_at__gt=now - REMINDER_INTERVAL)
            .order_by("-created_at", "-id").only("created_at", "target_id", "new_values"))
    return next((event for event in sent if _mailbox(str(event.new_values.get("to", ""))) == mailbox), None)


# The second of PostgreSQL's two advisory-lock keys' namespaces here: an administrator's
# reminders ("RMDA").
REMINDER_ACTOR_LOCK_NAMESPACE = 0x524D4441


def _reminders_within_limit(actor: AnyUser, now: datetime) -> None:
    """Refuse (ValidationError "too_many") when ``actor`` sent ADOPTION_REMINDERS_PER_DAY
    reminders in the 24 hours before ``now``, counted from the audit log under a lock of the
    administrator's (two sent at once cannot both find one left)."""
    advisory_lock(REMINDER_ACTOR_LOCK_NAMESPACE, actor.pk)
    _reminders_over(actor, now)


def _reminders_over(actor: AnyUser, now: datetime) -> None:
    """``_reminders_within_limit``'s count and refusal, without its lock."""
    limit = settings.ADOPTION_REMINDERS_PER_DAY
    refuse_over_actions(actor=actor, action=AuditAction.ADOPTION_REMINDER_SENT, limit=limit, now=now, message=ngettext(
        "You have sent %(n)s reminder in the last 24 hours, the most one administrator may: this one was "
        "not sent. You can send it from %(when)s.",
        "You have sent %(n)s reminders in the last 24 hours, the most one administrator may: this one "
        "was not sent. You can send it from %(when)s.", limit))


def _already_active() -> ValidationError:
    return ValidationError(_("This office is already active on Sandes: it needs no reminder."), code="active")


def _joined_refusal(status: str) -> ValidationError | None:
    """The refusal of a reminder to an office that joined Sandes, as the tracker read it
    (``status``), or None."""
    if status == TrackerStatus.ACTIVE:
        return _already_active()
    if status == TrackerStatus.SUSPENDED:
        return ValidationError(_("This office's organisation is suspended on Sandes: a reminder to join would not "
                                 "help. Those who suspended it (the superadmins, or the state's administrators) "
                                 "can reactivate it."), code="suspended")
    return None


def _offices_joined() -> QuerySet[ExpectedOffice]:
    """Expected offices annotated ``joined`` (active or suspended on Sandes) and ``is_active``
    (active), as the tracker reads them (tracker.joined_match)."""
    return ExpectedOffice.objects.annotate(joined=joined_match(),
                                           is_active=joined_match((OrganisationStatus.ACTIVE,)))


def _reminder_refusal(office: ExpectedOffice, *, actor: AnyUser, now: datetime) -> ValidationError | None:
    """Why a reminder to ``office`` (annotated: _offices_joined) is refused at ``now``, or
    None: it is active or suspended on Sandes, its address is no longer official
    mail (checked when it was listed: the rules may have changed since), or it, or its
    address for another office (or a removed one), was reminded within REMINDER_INTERVAL."""
    if office.joined:
        return _joined_refusal(TrackerStatus.ACTIVE if office.is_active else TrackerStatus.SUSPENDED)
    if not classify_email(office.contact_email).is_official_mail:
        return ValidationError(
            _("%(email)s is not an official address (it may be a personal mail service; the rules may have changed "
              "since it was listed): no reminder is sent. Give the office its official address.")
            % {"email": office.contact_email}, code="not_official")
    if office.last_reminded_at and office.last_reminded_at > now - REMINDER_INTERVAL:
        return _reminded_too_soon(office.last_reminded_at)
    other, at = None, None
    mailbox = _mailbox(office.contact_email)
    sharing = next((other_office for other_office in ExpectedOffice.objects.filter(
        _same_mailbox_q("contact_email", office.contact_email), last_reminded_at__gt=now - REMINDER_INTERVAL,
    ).exclude(pk=office.pk).order_by("-last_reminded_at") if _mailbox(other_office.contact_email) == mailbox), None)
    if sharing is not None:
        other, at = sharing, sharing.last_reminded_at
    elif (sent := _last_reminder_to(office.contact_email, now)) is not None:
        at = sent.created_at
        target = sent.target_id
        other = ExpectedOffice.objects.filter(pk=target).first() if target.isascii() and target.isdigit() else None
        if other is not None and other.pk == office.pk:
            return _reminded_too_soon(at)
    if at is None:
        return None
    if other is None:
        message = _("%(address)s was sent a reminder on %(when)s, for an office since removed from the list; "
                    "the next reminder to this address can be sent from %(next)s.")
    elif _sees_list_of(actor, other):
        message = _("%(address)s was sent a reminder on %(when)s, for %(office)s; the next reminder to this "
                    "address can be sent from %(next)s.")
    else:
        message = _("%(address)s was sent a reminder on %(when)s, for an office on the list of another state "
                    "or UT; the next reminder to this address can be sent from %(next)s.")
    return ValidationError(message % {"address": office.contact_email, "office": other.name if other else "",
                                      **_reminded(at)}, code="too_soon")


def expected_office_reminder_refusal(
    *, office: ExpectedOffice, status: str, actor: AnyUser, now: datetime | None = None,
) -> str | None:
    """What expected_office_remind would answer now instead of sending (read without its
    locks, for the confirmation page: a reminder asked for meanwhile is still refused
    there), or None when a reminder may be sent."""
    joined = _joined_refusal(status)
    if joined is not None:
        return joined.messages[0]
    office = _offices_joined().filter(pk=office.pk).first()
    if office is None:
        return None  # taken off the list: the service says so
    now = now or timezone.now()
    refusal = _reminder_refusal(office, actor=actor, now=now)
    if refusal is None:
        try:
            _reminders_over(actor, now)
        except ValidationError as over:
            refusal = over
    return refusal.messages[0] if refusal is not None else None


def expected_office_remind(
    *, office: ExpectedOffice, editable: set[str] | None, status: str, actor: AnyUser,
    request: HttpRequest | None = None, now: datetime | None = None, shown_values: str | None = None,
) -> ExpectedOffice:
    """Email the office's contact address a reminder to join (through the outbox), at
    most once in REMINDER_INTERVAL per office and per mailbox (offices may share one, its
    address written alike or not, and an address may have been another office's, or a
    removed one's, when it was last reminded): a second one within it raises. An office active or suspended on
    Sandes (as the tracker reads it, ``tracker.joined_match``) is refused, whatever ``status`` says.
    ``shown_values``: the digest of the office as the confirmation showed it (portal.shown):
    one changed since (its contact address above all) raises ChangedMeanwhile, nothing sent."""
    _check_editable(office.jurisdiction, editable)
    joined = _joined_refusal(status)
    if joined is not None:
        raise joined
    now = now or timezone.now()
    with transaction.atomic():
        # The office first (its address cannot change under us), then its address: two
        # reminders to one address, asked at once (for one office or for several naming
        # it), each saw no reminder to the address yet and both were sent.
        office = _offices_joined().select_for_update(of=("self",)).get(pk=office.pk)
        check_shown(shown_values, _plain(office_values(office)))
        _reminder_lock(office.contact_email)
        refusal = _reminder_refusal(office, actor=actor, now=now)  # active whatever status the caller read
        if refusal is not None:
            raise refusal
        _reminders_within_limit(actor, now)
        office.last_reminded_at = now
        office.reminders_sent += 1
        office.save(update_fields=["last_reminded_at", "reminders_sent"])
        send_adoption_reminder(office=office, status=status)
        audit_record(actor=actor, action=AuditAction.ADOPTION_REMINDER_SENT, target=office, request=request,
                     new={"to": office.contact_email, "reminder": office.reminders_sent, "status": status})
    return office
