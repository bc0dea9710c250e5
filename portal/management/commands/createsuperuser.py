"""Django's createsuperuser, except that the address must be an official one: a superuser
is a superadmin (portal.permissions.is_superadmin), a power that needs an official primary
address (platform_role_holder_check), as the Django admin's "Superuser status" asks. The
first sign-in confirms the address by a code mailed to it."""

from django.contrib.auth.management.commands import createsuperuser
from django.utils.translation import gettext as _

from portal.accounts.official_email import classify_email


class Command(createsuperuser.Command):
    def _validate_username(self, username, verbose_field_name, database):
        refused = super()._validate_username(username, verbose_field_name, database)
        if refused or classify_email(username).eligible_as_officer:
            return refused
        return _("Error: %(email)s is not an official address (gov.in, nic.in and the like): a superuser is a "
                 "superadmin, whose primary address must be official.") % {"email": username}
