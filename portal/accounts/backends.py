"""The authentication backends of the portal: Django's and allauth's, with the signed-in
user read on every request by a query built once per process (``portal.compiled``): the
ORM took longer to build that query than PostgreSQL took to answer it."""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import backends, get_user_model

from portal import compiled

_ID_MAX = 2**63 - 1  # a bigint primary key


def _user_query(*, pk):
    return get_user_model()._default_manager.filter(pk=pk)


class _CompiledUser:
    def get_user(self, user_id):
        if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id <= _ID_MAX:
            return super().get_user(user_id)  # as Django answers it (None, or its error)
        user = compiled.first(_user_query, pk=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(_CompiledUser, backends.ModelBackend):
    """Django's: the Django admin's sign-in, and ``force_login``."""


class AuthenticationBackend(_CompiledUser, AllauthBackend):
    """allauth's: signing in by email address."""
