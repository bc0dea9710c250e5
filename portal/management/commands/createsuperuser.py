"""Django's createsuperuser, except that the address must be an official one: a superuser
is a superadmin (portal.permissions.is_superadmin), a power that needs an official primary
address (platform_role_holder_check), as the Django admin's "Superuser status" asks. The
first sign-in confirms the address by a code mailed to it.

The account is created and its access audited in one transaction, as the Django admin
audits an account made superuser there (user.access_changed), with the command as the
actor: nobody is signed in. Typed at the prompt, the password is asked within that
transaction (it holds no row locked meanwhile)."""

from django.contrib.auth.management.commands import createsuperuser
from django.db import transaction
from django.utils.translation import gettext as _

from portal.accounts.admin import access_of
from portal.accounts.official_email import classify_email
from portal.audit.models import AuditAction
from portal.audit.services import audit_record

COMMAND = "system:manage.py createsuperuser"  # who acts in the audit log


class Command(createsuperuser.Command):
    accepted_username = None

    def _validate_username(self, username, verbose_field_name, database):
        refused = super()._validate_username(username, verbose_field_name, database)
        if not refused and not classify_email(username).eligible_as_officer:
            refused = _("Error: %(email)s is not an official address (gov.in, nic.in and the like): a superuser is a "
                        "superadmin, whose primary address must be official.") % {"email": username}
        # The address the account is created with is the last one accepted (a refused one is asked again).
        self.accepted_username = None if refused else username
        return refused

    def handle(self, *args, **options):
        database = options["database"]
        with transaction.atomic(using=database):
            super().handle(*args, **options)
            if self.accepted_username is None:
                return  # nothing created (no terminal to ask at)
            manager = self.UserModel._default_manager.db_manager(database)
            user = manager.get(email=manager.normalize_email(self.accepted_username).lower())
            audit_record(actor=None, action=AuditAction.USER_ACCESS_CHANGED, target=user, actor_role=COMMAND,
                         new={**access_of(user), "added": True})
