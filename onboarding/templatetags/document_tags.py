"""The languages an application's PDFs are offered in, for their download links."""

from django import template
from django.utils.translation import get_language_info

from onboarding.application.pdf import document_languages as languages_of

register = template.Library()


@register.simple_tag
def document_languages(application):
    """(code, query string, the language's own name) for each language of the application's
    PDFs, English first: ``?language=hi`` for Hindi, nothing for English."""
    return [(code, "" if code == "en" else f"?language={code}", get_language_info(code)["name_local"])
            for code in languages_of(application)]
