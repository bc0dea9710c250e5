from tests.portal.role_helpers import roles_world  # noqa: F401 (the fixture, for the role tests)
