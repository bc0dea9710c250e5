from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    verbose_name = _("Accounts")
    label = "accounts"

    def ready(self):
        from portal.accounts import mail_limits, signals  # noqa: F401
        from portal.redaction import secret_path_register

        # allauth's limits on mail to one address count the mailbox, however it is written.
        mail_limits.install()

        # allauth's password reset link (/accounts/password/reset/key/<uid>-<key>/)
        # carries its key in the path: never in a log line.
        secret_path_register(prefix="/accounts/password/reset/key/", secret=r"[0-9A-Za-z]+-[^/\s?#]+")
