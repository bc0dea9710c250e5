"""Retention rules, registered by the apps that own the records.

The core owns the engine (portal/privacy/retention.py) and the policies; each
feature app registers the rule for its own records from its AppConfig.ready
(onboarding/retention.py, verification/retention.py), so the core imports no
feature app. A rule says which records are due (a queryset), what erasing or
reducing a batch of them means, and which audit events to redact with them."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from portal.privacy.models import RetentionPolicy


@dataclass(frozen=True)
class RetentionRule:
    kind: str
    # The records' type as legal holds name it ("onboarding.application"), and the
    # field that leads to the person whose hold covers them too ("nodal_officer").
    target_type: str
    person_field: str | None
    # Records due for the rule's action; the engine leaves out held ones and ones it already did.
    due: Callable[[RetentionPolicy, datetime], QuerySet]
    # Erase or reduce these records (ids, at most a batch); a constant number of queries.
    apply: Callable[[list[int], datetime], None]
    # (actor ids, (target_type, target_id) pairs) of the audit events to redact with them.
    audit_of: Callable[[list[int]], tuple[list[int], list[tuple[str, str]]]]
    # Records are deleted (True) or kept reduced and marked done (False).
    deletes: bool = True
    # Optional reminder before the action: records due one, and sending it for a batch.
    remind_due: Callable[[RetentionPolicy, datetime], QuerySet] | None = None
    remind: Callable[[list[int], datetime], None] | None = None
    # What the data protection notice people accepted promises of these records: kept at
    # least ``promised_days``; ``promise`` (translatable) says so to a superadmin who keeps
    # them for fewer days (retention_policy_promise), which is allowed (a newer notice may say less).
    promised_days: int | None = None
    promise: str = ""


_RULES: dict[str, RetentionRule] = {}


def retention_rule_register(rule: RetentionRule) -> None:
    _RULES[rule.kind] = rule


def retention_rules() -> list[RetentionRule]:
    return [_RULES[kind] for kind in sorted(_RULES)]
