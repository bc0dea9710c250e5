"""The core's retention rule: accounts whose address was never verified and that
have not been used for the policy's days are erased, with the personal part of
their audit events and their history in the Django admin. An account anything is kept for (an application, a
verification record: any row that protects it from deletion) is left alone, as
are staff accounts, accounts closed by an erasure (they have no address left, but
were verified and used) and accounts that made a data protection request (the
request granted or refused stays with the account, as the record of what was asked
and decided)."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet

from portal.accounts.models import ERASED_EMAIL_DOMAIN
from portal.privacy.admin_history import admin_history_remove
from portal.privacy.models import PrivacyRequest, RetentionKind, RetentionPolicy
from portal.privacy.registry import RetentionRule, retention_rule_register
from portal.privacy.retention import days_ago


def _protected_by() -> list:
    """(model, field name) of every relation that forbids deleting a user (on_delete PROTECT
    or RESTRICT), those with no reverse name (``related_name="+"``: who decided a step,
    uploaded a file or a roster, invited someone) included: a due account one of them names
    would make its whole batch fail, every day."""
    return [
        (relation.related_model, relation.field.name)
        for relation in get_user_model()._meta.get_fields(include_hidden=True)
        if relation.is_relation and relation.auto_created and not relation.concrete
        and getattr(relation, "on_delete", None) in (models.PROTECT, models.RESTRICT)
    ]


def unconfirmed_accounts() -> QuerySet:
    """Accounts with no confirmed address that may be deleted: not staff, not closed by an
    erasure, no data protection request, nothing kept for them (``_protected_by``)."""
    from allauth.account.models import EmailAddress  # noqa: PLC0415 (apps loaded)

    queryset = get_user_model().objects.filter(is_staff=False, is_superuser=False).exclude(
        Exists(EmailAddress.objects.filter(user=OuterRef("pk"), verified=True))).exclude(
        email__endswith=f"@{ERASED_EMAIL_DOMAIN}").exclude(Exists(PrivacyRequest.objects.filter(user=OuterRef("pk"))))
    for model, field in _protected_by():
        queryset = queryset.exclude(Exists(model._default_manager.filter(**{field: OuterRef("pk")})))
    return queryset


def unused_accounts_due(policy: RetentionPolicy, now: datetime) -> QuerySet:
    cutoff = days_ago(now, policy.days)
    return unconfirmed_accounts().filter(Q(last_login__isnull=True) | Q(last_login__lt=cutoff), date_joined__lt=cutoff)


def unused_accounts_erase(ids: list[int], now: datetime) -> None:
    accounts = get_user_model().objects.filter(pk__in=ids)
    admin_history_remove(user_ids=ids, addresses=accounts.values_list("email", flat=True))
    accounts.delete()


def unused_accounts_audit(ids: list[int]) -> tuple[list[int], list[tuple[str, str]]]:
    return ids, [("accounts.user", str(pk)) for pk in ids]


retention_rule_register(RetentionRule(
    kind=RetentionKind.UNUSED_ACCOUNT, target_type="accounts.user", person_field=None,
    due=unused_accounts_due, apply=unused_accounts_erase, audit_of=unused_accounts_audit,
))
