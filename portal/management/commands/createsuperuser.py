"""Django's createsuperuser, except that the address must be an official one: a superuser
is a superadmin (portal.permissions.is_superadmin), a power that needs an official primary
address (platform_role_holder_check), as the Django admin's "Superuser status" asks. The
first sign-in confirms the address by a code mailed to it.

The account is created and its access audited in one transaction, as the Django admin
audits an account made superuser there (user.access_changed), with the command as the
actor: nobody is signed in. As there, the person is told (through the outbox, once it
commits); and so is every other superadmin, since someone on the server, not anyone signed
in to the portal, made it: they can tell whether it was expected. The prompts come before that transaction: none is open while
the operator types (on SQLite, the embedded default, an open one holds the write lock)."""

from django.contrib.auth.management.commands import createsuperuser
from django.core.mail import mailers
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.accounts.admin import access_of
from portal.accounts.official_email import classify_email
from portal.audit.models import AuditAction
from portal.audit.publish import superadmin_messages
from portal.audit.services import audit_record
from portal.organisations.notifications import send_role_mail

COMMAND = "system:manage.py createsuperuser"  # who acts in the audit log


class _AuditedManager:
    """The user model's manager as Django's command calls it, except that creating the
    superuser also records its access, in the same transaction."""

    def __init__(self, manager):
        self._manager = manager

    def __getattr__(self, name):
        return getattr(self._manager, name)

    def db_manager(self, *args, **kwargs):
        return _AuditedManager(self._manager.db_manager(*args, **kwargs))

    def create_superuser(self, *args, **kwargs):
        with transaction.atomic(using=self._manager.db):
            user = self._manager.create_superuser(*args, **kwargs)
            audit_record(actor=None, action=AuditAction.USER_ACCESS_CHANGED, target=user, actor_role=COMMAND,
                         new={**access_of(user), "added": True})
            send_role_mail(user=user, template="superuser_granted", context={})
            context = {"email": user.email, "made_at": timezone.now()}
            notices = superadmin_messages(template="audit/email/superuser_made_on_server", context=context,
                                          leave_out=[user.email])
            if notices:
                mailers.default.send_messages(notices)
        return user


class _AuditedModel:
    """The user model, seen by Django's command through ``self.UserModel``, with the manager above."""

    def __init__(self, model):
        self._model = model

    def __getattr__(self, name):
        return getattr(self._model, name)

    def __call__(self, *args, **kwargs):  # an unsaved account, which the password is validated against
        return self._model(*args, **kwargs)

    @property
    def _default_manager(self):
        return _AuditedManager(self._model._default_manager)


class Command(createsuperuser.Command):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.UserModel = _AuditedModel(self.UserModel)

    def _validate_username(self, username, verbose_field_name, database):
        refused = super()._validate_username(username, verbose_field_name, database)
        if not refused and not classify_email(username).eligible_as_officer:
            refused = _("Error: %(email)s is not an official address (gov.in, nic.in and the like): a superuser is a "
                        "superadmin, whose primary address must be official.") % {"email": username}
        return refused
