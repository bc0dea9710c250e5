"""The answers' summary, kept by what it shows."""

from django import template

from onboarding.application.summary import summary_key as key_of

register = template.Library()


@register.filter
def summary_key(summary):
    """``{% memo summary|summary_key ... %}``: the summary as a key of what it shows."""
    return key_of(summary)
