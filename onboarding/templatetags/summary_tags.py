"""The answers' summary, kept by what it shows: ``{% memo summary|summary_key ... %}``."""

from django import template

from onboarding.application.summary import summary_key

register = template.Library()
register.filter("summary_key", summary_key)
