"""Breach reporting: for a time window and optionally an actor or a client address,
whose personal data was exported or changed (from the audit log: every write and
every export is an audit event) or read (from the request log, when it is written
to a file: portal/privacy/breach_reads.py), and
drafts of the notices to the people affected (English and Hindi, or Marathi) and of
the report to the Data Protection Board and CERT-In, with the facts the portal
knows filled in. A draft is text for a person to check and send, never sent.

Which person an event is about comes from its target: an account itself, or a
record whose person field the owning app registers (onboarding: an application's
nodal officer; verification: a profile's person)."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portal.audit.models import AuditEvent
from portal.ids import row_id
from portal.privacy.breach_reads import RequestLogReads, request_log_reads

MAX_EVENTS = 100_000
MAX_PEOPLE_LISTED = 1000
EXPORT_ACTIONS_CONTAIN = "export"
# The longest period one report covers, the page's and the command's alike.
MAX_PERIOD = timedelta(days=90)


def breach_period_too_long(start: datetime, end: datetime) -> bool:
    """Whether ``end`` is more than 90 days after ``start``: to the minute, not in whole days
    (90 days and 23 hours is too long)."""
    return end - start > MAX_PERIOD

_PERSON_FIELDS: dict[str, str] = {"accounts.user": "pk", "privacy.privacyrequest": "user_id"}
# The kinds of record named in the notice that lead to no one person (each is many people's,
# or an organisation's): every other kind registers its person (a test holds them to this list).
NO_ONE_PERSON = frozenset({"organisations.organisation", "rosters.rosterimport"})


def breach_person_field_register(target_type: str, person_field: str) -> None:
    """``target_type`` ("onboarding.application") leads to a person through ``person_field`` ("nodal_officer_id")."""
    _PERSON_FIELDS[target_type] = person_field


# What the notice to the people affected calls each kind of record (the report to the
# authorities keeps the labels): the core's here, the apps' registered from their ready().
_RECORD_KINDS: dict[str, Promise] = {
    "accounts.user": _("your account"),
    "organisations.organisation": _("records of organisations, the roles in them included"),
    "privacy.privacyrequest": _("data protection requests"),
}
OTHER_RECORDS = _("other records of the portal")


def breach_record_kind_register(target_type: str, kind: Promise) -> None:
    """``target_type`` ("onboarding.application") is called ``kind`` (translatable) in the notice to people."""
    _RECORD_KINDS[target_type] = kind


def record_kinds(record_types: list[str]) -> list[str]:
    """What the notice calls ``record_types``, in the active language, each once; the types
    nothing names as "other records of the portal", last."""
    kinds = [str(_RECORD_KINDS[t]) for t in record_types if t in _RECORD_KINDS]
    if any(t not in _RECORD_KINDS for t in record_types):
        kinds.append(str(OTHER_RECORDS))
    return list(dict.fromkeys(kinds))


@dataclass
class BreachFindings:
    start: datetime
    end: datetime
    actor: str
    ip: str
    events: int = 0
    truncated: bool = False
    by_action: dict = field(default_factory=dict)
    exported: int = 0
    changed: int = 0
    record_types: list = field(default_factory=list)
    people: list = field(default_factory=list)  # (id, email) of the people affected, bounded
    people_count: int = 0
    log: RequestLogReads = field(default_factory=RequestLogReads)  # what the request log says was read


def row_number(value: str) -> int | None:
    """``value`` as a row's id when it is written as one (ASCII digits, within the
    database's range: not "²", a digit to str.isdigit that int refuses, nor digits of
    another script), else None."""
    return row_id(value) if value.isascii() and value.isdigit() else None


def actor_user_ids(actor: str) -> set[int] | None:
    """The accounts an actor (an email address or an account number) names; None when no actor is given."""
    if not actor:
        return None
    ids = set(get_user_model().objects.filter(email__iexact=actor).values_list("pk", flat=True))
    if (number := row_number(actor)) is not None:
        ids.add(number)
    return ids


def breach_findings(*, start: datetime, end: datetime, actor: str = "", ip: str = "",
                    request_log_files: list[str] | None = None, max_log_lines: int | None = None,
                    max_log_seconds: float | None = None) -> BreachFindings:
    """What the audit log and the request log say of [start, end); the request log read for at
    most ``max_log_seconds`` when given (the page), else to its line budget (the command)."""
    findings = BreachFindings(start=start, end=end, actor=actor, ip=ip)
    events = AuditEvent.objects.filter(created_at__gte=start, created_at__lt=end)
    if actor:
        number = row_number(actor)
        events = events.filter(Q(actor_email__iexact=actor) | Q(actor_id=number) if number is not None
                               else Q(actor_email__iexact=actor))
    if ip:
        events = events.filter(ip=ip)
    rows = list(events.order_by("id").values_list("action", "target_type", "target_id")[:MAX_EVENTS + 1])
    findings.truncated = len(rows) > MAX_EVENTS
    rows = rows[:MAX_EVENTS]
    findings.events = len(rows)
    actions = Counter(action for action, _t, _i in rows)
    findings.by_action = dict(actions.most_common())
    findings.exported = sum(n for action, n in actions.items() if EXPORT_ACTIONS_CONTAIN in action)
    findings.changed = findings.events - findings.exported
    targets: dict[str, set[str]] = {}
    for _action, target_type, target_id in rows:
        if target_type and target_id:
            targets.setdefault(target_type, set()).add(target_id)
    findings.log = request_log_reads(start=start, end=end, user_ids=actor_user_ids(actor), ip=ip,
                                     files=request_log_files, max_lines=max_log_lines,
                                     max_seconds=max_log_seconds)
    for target_type, ids in findings.log.targets.items():
        targets.setdefault(target_type, set()).update(ids)
    findings.record_types = sorted(targets)
    person_ids: set[int] = set()
    for target_type, ids in targets.items():
        person_field = _PERSON_FIELDS.get(target_type)
        if person_field is None:
            continue
        model = apps.get_model(target_type)
        numeric = [number for number in map(row_number, ids) if number is not None]
        person_ids.update(pk for pk in model._default_manager.filter(pk__in=numeric)
                          .values_list(person_field, flat=True) if pk)
    findings.people_count = len(person_ids)
    findings.people = list(get_user_model().objects.filter(pk__in=person_ids).order_by("pk")
                           .values_list("pk", "email")[:MAX_PEOPLE_LISTED])
    return findings


def breach_drafts(findings: BreachFindings, *, second_language: str = "hi") -> dict[str, str]:
    """The notice to the people affected (English, then Hindi or Marathi) and the report to the Board and CERT-In."""
    context = {"f": findings, "now": timezone.now()}
    notice = []
    for language in ("en", second_language):
        with translation.override(language):
            notice.append(render_to_string("privacy/breach/notice_to_person.txt",
                                           {**context, "record_kinds": record_kinds(findings.record_types)}).strip())
    with translation.override("en"):
        report = render_to_string("privacy/breach/report_to_authorities.txt", context).strip()
    return {"notice": "\n\n----------\n\n".join(notice), "report": report}
