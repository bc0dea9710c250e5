"""Django's changepassword, audited as the Django admin's password page audits a password
it sets (user.password_changed: the account, never the password), with the command as the
actor: nobody is signed in.

The password is asked first, as Django asks it (three tries, its validators); then the
account is locked, its password alone written (Django's ``save()`` of the account read
before the prompt wrote back every field, undoing what changed meanwhile, an account
closed included) and the event recorded, in one transaction."""

import getpass

from django.contrib.auth.management.commands import changepassword
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction

from portal.audit.models import AuditAction
from portal.audit.services import audit_record

COMMAND = "system:manage.py changepassword"  # who acts in the audit log
TRIES = 3


class Command(changepassword.Command):
    def handle(self, *args, **options):
        username = options["username"] or getpass.getuser()
        accounts = changepassword.UserModel._default_manager.using(options["database"])
        try:
            user = accounts.get(**{changepassword.UserModel.USERNAME_FIELD: username})
        except changepassword.UserModel.DoesNotExist:
            raise CommandError(f"user '{username}' does not exist") from None
        self.stdout.write(f"Changing password for user '{user}'")
        password = self.new_password(user)
        with transaction.atomic(using=options["database"]):
            user = accounts.select_for_update().get(pk=user.pk)
            user.set_password(password)
            user.save(update_fields=["password"])
            audit_record(actor=None, action=AuditAction.USER_PASSWORD_CHANGED, target=user, actor_role=COMMAND,
                         new={"usable_password": user.has_usable_password()})
        return f"Password changed successfully for user '{user}'"

    def new_password(self, user) -> str:
        """The new password, typed twice and valid for ``user`` (CommandError after three tries)."""
        for _try in range(TRIES):
            password, again = self._get_pass(), self._get_pass("Password (again): ")
            if password != again:
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                validate_password(again, user)
            except ValidationError as err:
                self.stderr.write("\n".join(err.messages))
                continue
            return password
        raise CommandError(f"Aborting password change for user '{user}' after {TRIES} attempts")
