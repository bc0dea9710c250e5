"""Filters of monitoring's pages."""

from django import template

from monitoring.auditlog import actor_role_label, target_label
from portal.audit.services import chain_problem_text

register = template.Library()


@register.filter
def actor_role(code, organisations=None):
    """An audit event's stored actor_role by its label, naming the organisations of an
    organisation admin (its actor_organisations; monitoring.auditlog.actor_role_label)."""
    return actor_role_label(code, organisations)


@register.filter
def about(event):
    """What an audit event is about, in the page's language where its snapshot is a
    generic name (monitoring.auditlog.target_label)."""
    return target_label(event.target_type, event.target_repr)


@register.filter
def first_problem(check):
    """The first problem a chain check found, in the page's language ("#<event>: ..."),
    from the code and numbers it kept; a check kept before them, its English text."""
    if not check.first_problem_code:
        return check.first_problem
    return f"#{check.first_problem_event}: {chain_problem_text(check.first_problem_code, check.first_problem_values)}"
