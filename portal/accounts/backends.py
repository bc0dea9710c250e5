"""The authentication backends of the portal: Django's and allauth's, with the signed-in
user read on every request by ``permissions.signed_in_user``: a query built once per
process (the ORM took longer to build it than PostgreSQL took to answer it), which reads
the user's roles and second factor too (every signed-in page asks for them)."""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import backends

from portal.permissions import signed_in_user

_ID_MAX = 2**63 - 1  # a bigint primary key


class _CompiledUser:
    def get_user(self, user_id):
        if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id <= _ID_MAX:
            return super().get_user(user_id)  # as Django answers it (None, or its error)
        user = signed_in_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(_CompiledUser, backends.ModelBackend):
    """Django's: the Django admin's sign-in, and ``force_login``."""


class AuthenticationBackend(_CompiledUser, AllauthBackend):
    """allauth's: signing in by email address."""
