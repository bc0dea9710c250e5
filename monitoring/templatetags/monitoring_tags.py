"""Filters of monitoring's pages."""

from django import template

from monitoring.auditlog import actor_role_label

register = template.Library()


@register.filter
def actor_role(code):
    """An audit event's stored actor_role by its label (monitoring.auditlog.actor_role_label)."""
    return actor_role_label(code)
