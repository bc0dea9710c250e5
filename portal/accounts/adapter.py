from allauth.account.adapter import DefaultAccountAdapter
from django.utils import translation


class PortalAccountAdapter(DefaultAccountAdapter):
    """Anyone may sign up (a public user); the official-email rules apply where a
    role needs them (nodal officer, competent authority), not at sign-up."""

    def is_open_for_signup(self, request):
        return True

    def clean_email(self, email):
        return super().clean_email(email).strip().lower()

    def send_mail(self, template_prefix, email, context):
        # Mail goes through the default mailer, which is the outbox; render it in
        # the language the person is using the portal in.
        request = context.get("request") or getattr(self, "request", None)
        language = getattr(request, "LANGUAGE_CODE", None) if request else None
        with translation.override(language or translation.get_language()):
            super().send_mail(template_prefix, email, context)
