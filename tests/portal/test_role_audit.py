"""Every change of who may do what is audited: platform roles granted and revoked
through their services (seed_demo included), and accounts' flags, groups and
permissions changed in the Django admin, with the administrator as actor."""

import re
from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_verify
from portal.mail.models import OutboxMessage
from portal.organisations.models import Membership, MembershipRole, PlatformRole, PlatformRoleGrant
from portal.organisations.services import platform_role_grant, platform_role_revoke
from portal.permissions import platform_roles_of, superadmin_emails
from tests.factories import PASSWORD, OrganisationFactory, PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import make_state_admin, make_superadmin, second_factor_given, with_totp
from tests.portal.role_helpers import make_admin

pytestmark = pytest.mark.django_db


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# Platform roles ------------------------------------------------------------------------------

def test_granting_a_platform_role_writes_one_audit_row_naming_the_grantor():
    root = make_superadmin(email="root@nic.in", totp=False)
    user = UserFactory(email="ravi.admin@maharashtra.gov.in")
    grant = platform_role_grant(user=user, role=PlatformRole.STATE_ADMIN, jurisdiction="MH", actor=root)
    assert (grant.user, grant.role, grant.jurisdiction, grant.granted_by, grant.revoked_at) == (
        user, "state_admin", "MH", root, None)
    [event] = events(AuditAction.PLATFORM_ROLE_GRANTED)
    assert (event.actor_id, event.actor_email, event.target_type, event.target_id, event.target_repr) == (
        root.pk, "root@nic.in", "accounts.user", str(user.pk), user.email)
    assert event.new_values == {"grant": grant.pk, "role": "state_admin", "jurisdiction": "MH"}
    assert platform_roles_of(User.objects.get(pk=user.pk)) == {("state_admin", "MH")}
    # Granting it again changes nothing and writes nothing.
    assert platform_role_grant(user=user, role=PlatformRole.STATE_ADMIN, jurisdiction="MH", actor=root) == grant
    assert len(events(AuditAction.PLATFORM_ROLE_GRANTED)) == 1
    assert audit_verify() == []


def test_revoking_a_platform_role_writes_one_audit_row_and_ends_the_role():
    root = make_superadmin(email="root@nic.in", totp=False)
    user = UserFactory(email="ravi.admin@maharashtra.gov.in")
    grant = platform_role_grant(user=user, role=PlatformRole.AUDITOR, jurisdiction="", actor=root)
    revoked = platform_role_revoke(grant_id=grant.pk, actor=root)
    assert revoked.revoked_at is not None
    [event] = events(AuditAction.PLATFORM_ROLE_REVOKED)
    assert (event.actor_id, event.target_id) == (root.pk, str(user.pk))
    assert event.old_values == {"grant": grant.pk, "role": "auditor", "jurisdiction": ""}
    assert set(event.new_values) == {"revoked_at"}
    assert platform_roles_of(User.objects.get(pk=user.pk)) == set()
    platform_role_revoke(grant_id=grant.pk, actor=root)
    assert len(events(AuditAction.PLATFORM_ROLE_REVOKED)) == 1
    assert audit_verify() == []


def test_only_a_superadmin_or_the_system_grants_or_revokes_platform_roles():
    state_admin = make_state_admin("MH", totp=False)
    user = UserFactory(email="someone@maharashtra.gov.in")
    with pytest.raises(PermissionDenied):
        platform_role_grant(user=user, role=PlatformRole.SUPERADMIN, jurisdiction="", actor=state_admin)
    with pytest.raises(PermissionDenied):
        platform_role_grant(user=state_admin, role=PlatformRole.STATE_ADMIN, jurisdiction="KA", actor=state_admin)
    own = PlatformRoleGrant.objects.get(user=state_admin)
    with pytest.raises(PermissionDenied):
        platform_role_revoke(grant_id=own.pk, actor=state_admin)
    assert not PlatformRoleGrant.objects.filter(user=user).exists()
    assert PlatformRoleGrant.objects.filter(user=state_admin, revoked_at__isnull=True).count() == 1
    assert not AuditEvent.objects.filter(action__startswith="platform_role.").exists()
    # The system (a management command) may.
    grant = platform_role_grant(user=user, role=PlatformRole.SUPERADMIN, jurisdiction="", actor=None)
    assert events(AuditAction.PLATFORM_ROLE_GRANTED)[0].actor_role == "system" and grant.granted_by is None


@pytest.mark.parametrize(("role", "jurisdiction"), [("emperor", ""), ("superadmin", "MH"), ("state_admin", "XX")])
def test_a_role_or_jurisdiction_that_does_not_exist_is_refused(role, jurisdiction):
    with pytest.raises(ValueError, match="platform role|jurisdiction"):
        platform_role_grant(user=UserFactory(), role=role, jurisdiction=jurisdiction, actor=None)
    assert not PlatformRoleGrant.objects.exists() and not AuditEvent.objects.exists()


def test_seed_demo_grants_its_roles_through_the_audited_service_once():
    call_command("seed_demo", stdout=StringIO())
    granted = events(AuditAction.PLATFORM_ROLE_GRANTED)
    assert sorted((e.target_repr, e.new_values["role"], e.new_values["jurisdiction"], e.actor_role) for e in granted) == [
        ("auditor@nic.in", "auditor", "", "system"),
        ("stateadmin.mh@maharashtra.gov.in", "state_admin", "MH", "system"),
        ("superadmin@nic.in", "superadmin", "", "system"),
    ]
    call_command("seed_demo", stdout=StringIO())
    assert len(events(AuditAction.PLATFORM_ROLE_GRANTED)) == 3
    assert PlatformRoleGrant.objects.count() == 3
    assert audit_verify() == []


def test_seed_demo_run_again_leaves_a_platform_role_revoked_in_the_portal_revoked():
    """`make run` runs seed_demo at every start: a role revoked since is not granted again."""
    call_command("seed_demo", stdout=StringIO())
    root = User.objects.get(email="superadmin@nic.in")
    state_admin = User.objects.get(email="stateadmin.mh@maharashtra.gov.in")
    platform_role_revoke(grant_id=PlatformRoleGrant.objects.get(user=state_admin).pk, actor=root)
    audit_rows = AuditEvent.objects.count()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert AuditEvent.objects.count() == audit_rows
    assert platform_roles_of(User.objects.get(pk=state_admin.pk)) == set()
    # The demo logins it prints say so, rather than offering a state administrator's login.
    line = next(line for line in out.getvalue().splitlines() if "stateadmin.mh@maharashtra.gov.in" in line)
    assert "state administrator, Maharashtra" in line
    assert "its role was revoked or has ended in the portal since: it signs in without it" in line
    assert "revoked" not in next(line for line in out.getvalue().splitlines() if "auditor@nic.in" in line)


# The Django admin ----------------------------------------------------------------------------

@pytest.fixture
def root():
    user = UserFactory(email="root@nic.in", is_superuser=True, is_staff=True)
    with_totp(user)
    return user


@pytest.fixture
def admin_client(root):
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (admin)")
    client.force_login(root)
    second_factor_given(client, root)
    return client


def change_form(user, **change):
    """The admin's change form for ``user``, as posted with its current values and ``change``."""
    data = {
        "email": user.email, "full_name": user.full_name,
        "is_active": user.is_active, "is_staff": user.is_staff, "is_superuser": user.is_superuser,
        "groups": [g.pk for g in user.groups.all()], "user_permissions": [p.pk for p in user.user_permissions.all()],
        "last_login_0": "", "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"), "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "_save": "Save",
    } | change
    return {key: value for key, value in data.items() if value is not False}


def post_change(client, user, **change):
    response = client.post(f"/admin/accounts/user/{user.pk}/change/", change_form(user, **change))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    return response


def test_a_superuser_makes_no_other_account_of_their_own_mailbox_a_superuser_in_the_admin(root, admin_client):
    mine = UserFactory(email="root+ops@nic.in")
    admin_client.post(f"/admin/accounts/user/{mine.pk}/change/", change_form(mine, is_superuser="on", is_staff="on"))
    mine.refresh_from_db()
    assert not (mine.is_superuser or mine.is_staff)
    assert not events(AuditAction.USER_ACCESS_CHANGED)


def test_making_an_account_superuser_and_staff_in_the_admin_is_audited(root, admin_client):
    user = UserFactory(email="clerk@mha.gov.in")
    post_change(admin_client, user, is_superuser="on", is_staff="on")
    user.refresh_from_db()
    assert user.is_superuser and user.is_staff
    [event] = events(AuditAction.USER_ACCESS_CHANGED)
    assert (event.actor_id, event.actor_email, event.target_type, event.target_id) == (
        root.pk, root.email, "accounts.user", str(user.pk))
    assert (event.old_values, event.new_values) == (
        {"is_staff": False, "is_superuser": False}, {"is_staff": True, "is_superuser": True})
    assert event.user_agent == "Mozilla/5.0 (admin)" and event.actor_role.startswith("django_superuser")
    assert audit_verify() == []


def test_createsuperuser_makes_no_superuser_of_an_address_that_is_not_official():
    """manage.py createsuperuser (the deployment's first superadmin) refuses, creating
    nothing, an address that could not hold the superadmin's powers; an official one is made
    a superuser, its address confirmed at the first sign-in."""
    with pytest.raises(CommandError) as refused:
        call_command("createsuperuser", "--noinput", email="first.root@gmail.com", stdout=StringIO())
    assert str(refused.value) == ("Error: first.root@gmail.com is not an official address (gov.in, nic.in and the "
                                  "like): a superuser is a superadmin, whose primary address must be official.")
    assert not User.objects.filter(email="first.root@gmail.com").exists()
    call_command("createsuperuser", "--noinput", email="first.root@sandes.nic.in", stdout=StringIO())
    assert User.objects.get(email="first.root@sandes.nic.in").is_superuser


class Terminal(StringIO):
    def isatty(self):
        return True


SUPERUSER_ACCESS = {"is_active": True, "is_staff": True, "is_superuser": True, "groups": [], "user_permissions": [],
                    "added": True}


@pytest.mark.parametrize("interactive", [False, True])
def test_a_superuser_made_by_createsuperuser_is_audited_as_one_made_in_the_admin(interactive, monkeypatch):
    """manage.py createsuperuser gives the superadmin's powers as the admin's "Superuser
    status" does: the account's access is audited the same way, the command as the actor
    (no one signed in), whether the address is given or typed at the prompt. A refused
    address writes nothing. As the admin's does, the person is told; and so is every other
    superadmin, since nobody signed in to the portal made this one (someone on the server):
    they can tell whether it was expected."""
    root = UserFactory(email="root@sandes.nic.in", is_superuser=True, is_staff=True)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-Passw0rd-for-tests!")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a-long-Passw0rd-for-tests!")
    typed = iter(["first.root@gmail.com", "First.Root@sandes.nic.in"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(typed))
    if interactive:
        call_command("createsuperuser", stdin=Terminal(), stdout=StringIO(), stderr=StringIO())
    else:
        with pytest.raises(CommandError):
            call_command("createsuperuser", "--noinput", email="first.root@gmail.com", stdout=StringIO())
        call_command("createsuperuser", "--noinput", email="First.Root@sandes.nic.in", stdout=StringIO())
    user = User.objects.get(email="first.root@sandes.nic.in")
    assert user.is_superuser and user.check_password("a-long-Passw0rd-for-tests!")
    [event] = AuditEvent.objects.all()
    assert (event.action, event.actor_id, event.actor_email, event.actor_role) == (
        AuditAction.USER_ACCESS_CHANGED, None, "", "system:manage.py createsuperuser")
    assert (event.target_type, event.target_id, event.target_repr) == ("accounts.user", str(user.pk), user.email)
    assert (event.old_values, event.new_values) == ({}, SUPERUSER_ACCESS)
    assert audit_verify() == []
    told = {message.to[0]: message for message in OutboxMessage.objects.all()}
    assert sorted(told) == [user.email, root.email]
    assert told[user.email].subject == "You are now a superuser of the Sandes onboarding portal"
    notice = told[root.email]
    assert notice.subject == (f"A superuser was made on the server: {user.email} / "
                              f"सर्वर पर एक सुपरयूज़र बनाया गया: {user.email}")
    assert "manage.py createsuperuser" in notice.body and "----------" in notice.body


def test_a_superuser_whose_creation_cannot_be_audited_is_not_created(monkeypatch):
    """The account and its audit row are written in one transaction: no superuser is left
    behind by a creation whose audit row failed."""
    from portal.audit import services as audit_services

    def failing(*args, **kwargs):
        raise RuntimeError("the audit log refused the row")

    monkeypatch.setattr(audit_services, "audit_key", failing)
    with pytest.raises(RuntimeError):
        call_command("createsuperuser", "--noinput", email="first.root@sandes.nic.in", stdout=StringIO())
    assert not User.objects.filter(email="first.root@sandes.nic.in").exists()


@pytest.mark.django_db(transaction=True)
def test_createsuperuser_holds_no_transaction_open_while_the_operator_types(monkeypatch):
    """The account and its audit row share one transaction, and the prompts come before it:
    with the whole command in it, the operator's typing held a transaction open (on SQLite,
    the embedded default, whose transactions take the write lock at BEGIN, every request and
    task that wrote meanwhile waited, then failed "database is locked")."""
    from django.db import connection

    at_prompt = []

    def typed(answer):
        def prompt(text=""):
            at_prompt.append(connection.in_atomic_block)
            return answer
        return prompt

    monkeypatch.setattr("builtins.input", typed("First.Root@sandes.nic.in"))
    monkeypatch.setattr("getpass.getpass", typed("a-long-Passw0rd-for-tests!"))
    call_command("createsuperuser", stdin=Terminal(), stdout=StringIO(), stderr=StringIO())
    assert at_prompt and not any(at_prompt), at_prompt
    user = User.objects.get(email="first.root@sandes.nic.in")
    assert user.is_superuser
    assert AuditEvent.objects.get(action=AuditAction.USER_ACCESS_CHANGED).target_id == str(user.pk)


def test_a_person_made_superuser_in_the_admin_or_no_longer_one_is_told_by_mail(root, admin_client):
    """"Superuser status" is the superadmin's powers: ticked or unticked in the admin, the
    person is told, in their language, as a grant or an end of the superadmin role tells them."""
    user = UserFactory(email="clerk@mha.gov.in")
    post_change(admin_client, user, is_superuser="on", is_staff="on")
    [granted] = OutboxMessage.objects.filter(to=[user.email])
    assert granted.subject == "You are now a superuser of the Sandes onboarding portal"
    assert "every permission of the portal and of its administration site" in granted.body
    assert "http://testserver/accounts/login/" in granted.body or "/accounts/login/" in granted.body
    post_change(admin_client, User.objects.get(pk=user.pk), full_name="Renamed Clerk")  # no change of status: no mail
    assert OutboxMessage.objects.filter(to=[user.email]).count() == 1
    post_change(admin_client, User.objects.get(pk=user.pk), is_superuser=False)
    ended = OutboxMessage.objects.filter(to=[user.email]).order_by("pk").last()
    assert ended.subject == "You are no longer a superuser of the Sandes onboarding portal"
    assert "If you did not expect this, tell a superadmin of the portal." in ended.body


@pytest.mark.parametrize("account", ["personal address", "official address unconfirmed", "inactive",
                                     "made inactive at once"])
def test_the_admin_makes_no_superuser_of_an_account_that_may_not_hold_a_platform_role(root, admin_client, account):
    """A superuser is a superadmin (portal.permissions.is_superadmin), the highest platform
    role: ticked in the admin, "Superuser status" is held to the rule a grant of that role
    keeps (an active account whose primary address is an official one it confirmed), and
    refused at the field otherwise, what was typed kept and nothing saved."""
    user = {
        "personal address": lambda: UserFactory(email="someone@gmail.com"),
        "official address unconfirmed": lambda: UserFactory(email="clerk@mha.gov.in", verified=False),
        "inactive": lambda: UserFactory(email="clerk@mha.gov.in", is_active=False),
        "made inactive at once": lambda: UserFactory(email="clerk@mha.gov.in"),
    }[account]()
    change = {"is_active": False} if account == "made inactive at once" else {}
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/",
                                 change_form(user, is_superuser="on", is_staff="on", full_name="Typed Name", **change))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["is_superuser"] == [
        f"{user.email} cannot hold a platform role: it needs an active account whose primary address is an official "
        "one (gov.in, nic.in and the like), confirmed."]
    assert form["full_name"].value() == "Typed Name"
    user = User.objects.get(pk=user.pk)
    assert not (user.is_superuser or user.is_staff) and user.full_name != "Typed Name"
    assert not events(AuditAction.USER_ACCESS_CHANGED)
    # An account already superuser keeps the flag through a save that does not tick it anew.
    if account == "personal address":
        User.objects.filter(pk=user.pk).update(is_superuser=True)
        post_change(admin_client, User.objects.get(pk=user.pk), full_name="Typed Name")
        assert User.objects.get(pk=user.pk).is_superuser


@pytest.mark.parametrize("account", ["personal address", "official address unconfirmed", "inactive"])
def test_the_admin_gives_no_staff_access_to_an_account_without_a_confirmed_official_address(root, admin_client, account):
    """"Staff status" opens the Django admin: access given to an official, which ends with the
    official address as the roles do (official_powers_end). Ticked in the admin, it is held to
    the same rule (an active account whose primary address is an official one it confirmed),
    refused at the field otherwise, what was typed kept and nothing saved; an account already
    staff keeps the flag through a save that does not tick it anew."""
    user = {
        "personal address": lambda: UserFactory(email="someone@gmail.com"),
        "official address unconfirmed": lambda: UserFactory(email="clerk@mha.gov.in", verified=False),
        "inactive": lambda: UserFactory(email="clerk@mha.gov.in", is_active=False),
    }[account]()
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/",
                                 change_form(user, is_staff="on", full_name="Typed Name"))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["is_staff"] == [
        f"{user.email} cannot be given staff status (access to this administration site): it needs an active account "
        "whose primary address is an official one (gov.in, nic.in and the like), confirmed."]
    assert form["full_name"].value() == "Typed Name"
    user = User.objects.get(pk=user.pk)
    assert not user.is_staff and user.full_name != "Typed Name"
    assert not events(AuditAction.USER_ACCESS_CHANGED)
    if account == "personal address":
        User.objects.filter(pk=user.pk).update(is_staff=True)
        post_change(admin_client, User.objects.get(pk=user.pk), full_name="Typed Name")
        assert User.objects.get(pk=user.pk).is_staff


def test_the_admin_gives_staff_access_to_an_account_with_a_confirmed_official_address(root, admin_client):
    user = UserFactory(email="clerk@mha.gov.in")
    post_change(admin_client, user, is_staff=True)
    assert User.objects.get(pk=user.pk).is_staff
    [event] = events(AuditAction.USER_ACCESS_CHANGED)
    assert event.new_values["is_staff"] is True


def test_deactivating_and_removing_superuser_in_the_admin_is_audited(admin_client):
    user = UserFactory(email="former.root@nic.in", is_superuser=True, is_staff=True)
    post_change(admin_client, user, is_active=False, is_superuser=False, is_staff=False)
    [event] = events(AuditAction.USER_ACCESS_CHANGED)
    assert (event.old_values, event.new_values) == (
        {"is_active": True, "is_staff": True, "is_superuser": True},
        {"is_active": False, "is_staff": False, "is_superuser": False},
    )


def test_the_admin_does_not_untick_superuser_of_an_auditor_who_is_an_organisations_last_admin(admin_client):
    """A superuser who is also an auditor acts (portal.permissions.admins_who_act); with
    "Superuser status" unticked they would be an auditor only, who changes nothing, and the
    organisation they alone administer would have nobody left who may act for it: refused
    at the field, as revoking a superadmin grant is, nothing saved."""
    office = OrganisationFactory(name="District Agriculture Office, Pune", state="MH")
    user = make_admin(office, email="admin@pune.mahaagri.gov.in", is_superuser=True, is_staff=True)
    PlatformRoleGrant.objects.create(user=user, role=PlatformRole.AUDITOR, jurisdiction="MH")
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", change_form(user, is_superuser=False))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["is_superuser"] == [
        "admin@pune.mahaagri.gov.in is the last admin of District Agriculture Office, Pune who may act as one "
        "(an auditor changes nothing): grant the admin role there to someone else first (without an end date)."]
    assert User.objects.get(pk=user.pk).is_superuser and not events(AuditAction.USER_ACCESS_CHANGED)
    # With another admin there who acts, unticked.
    make_admin(office, email="deputy@pune.mahaagri.gov.in")
    post_change(admin_client, User.objects.get(pk=user.pk), is_superuser=False)
    assert not User.objects.get(pk=user.pk).is_superuser


def test_groups_and_permissions_given_in_the_admin_are_audited(admin_client):
    user = UserFactory(email="clerk@mha.gov.in")
    group = Group.objects.create(name="helpdesk")
    permission = Permission.objects.get(content_type__app_label="accounts", codename="change_user")
    post_change(admin_client, user, groups=[group.pk], user_permissions=[permission.pk])
    [event] = events(AuditAction.USER_ACCESS_CHANGED)
    assert (event.old_values, event.new_values) == (
        {"groups": [], "user_permissions": []}, {"groups": ["helpdesk"], "user_permissions": ["accounts.change_user"]})
    # Taken away again: audited too.
    user.refresh_from_db()
    post_change(admin_client, user, groups=[], user_permissions=[])
    assert events(AuditAction.USER_ACCESS_CHANGED)[1].new_values == {"groups": [], "user_permissions": []}


def test_a_save_in_the_admin_that_changes_no_access_writes_no_access_row(admin_client):
    user = UserFactory(email="clerk@mha.gov.in")
    post_change(admin_client, user, full_name="A New Name")
    user.refresh_from_db()
    assert user.full_name == "A New Name"
    assert events(AuditAction.USER_ACCESS_CHANGED) == []


def test_an_accounts_dates_are_read_only_and_its_name_changed_in_the_admin_is_audited(root, admin_client):
    """Backdating an account's last sign-in or date joined in the admin had the retention run
    erase it as unused, with nothing naming who did it: the dates are shown, not edited. A name
    changed there is audited (old and new under the personal key "name", as a person's own
    correction is), with the administrator as actor."""
    from datetime import timedelta

    from portal.privacy.models import RetentionKind, RetentionPolicy
    from portal.privacy.retention import retention_run

    RetentionPolicy.objects.exclude(kind=RetentionKind.UNUSED_ACCOUNT).update(enabled=False)
    person = UserFactory(email="new.person@example.org", full_name="New Person", verified=False)
    joined = person.date_joined
    page = admin_client.get(f"/admin/accounts/user/{person.pk}/change/").content.decode()
    assert 'name="date_joined_0"' not in page and 'name="last_login_0"' not in page
    long_ago = timezone.localtime(timezone.now() - timedelta(days=800))
    post_change(admin_client, person, full_name="Someone Else",
                last_login_0=long_ago.strftime("%Y-%m-%d"), last_login_1=long_ago.strftime("%H:%M:%S"),
                date_joined_0=long_ago.strftime("%Y-%m-%d"), date_joined_1=long_ago.strftime("%H:%M:%S"))
    person.refresh_from_db()
    assert (person.full_name, person.date_joined, person.last_login) == ("Someone Else", joined, None)
    [event] = AuditEvent.objects.filter(target_type="accounts.user", target_id=str(person.pk))
    assert (event.action, event.actor_id, event.old_values, event.new_values) == (
        AuditAction.USER_NAME_CHANGED_IN_ADMIN, root.pk, {"name": "New Person"}, {"name": "Someone Else"})
    assert event.personal_keys == ["name"] and audit_verify() == []
    assert retention_run().counts["unused_account"]["erased"] == 0
    assert User.objects.filter(pk=person.pk).exists()
    # Saved with the same name: nothing to record.
    post_change(admin_client, person)
    assert AuditEvent.objects.filter(target_type="accounts.user", target_id=str(person.pk)).count() == 1


def test_a_role_holders_address_is_not_changed_in_the_admin(admin_client):
    """An address is changed only through the account's email page, which confirms the new
    one, ends the powers an official address gave and audits the change: in the admin it is
    shown, not edited, and a form that sends another one all the same changes nothing."""
    holder = PlatformRoleFactory(role="state_admin", jurisdiction="MH", user__email="state.admin@maharashtra.gov.in").user
    page = admin_client.get(f"/admin/accounts/user/{holder.pk}/change/").content.decode()
    assert 'name="email"' not in page and "state.admin@maharashtra.gov.in" in page
    post_change(admin_client, holder, email="someone.private@gmail.com", full_name="A New Name")
    holder = User.objects.get(pk=holder.pk)
    assert (holder.email, holder.full_name) == ("state.admin@maharashtra.gov.in", "A New Name")
    assert platform_roles_of(holder) == {("state_admin", "MH")}
    assert not AuditEvent.objects.filter(action=AuditAction.USER_EMAIL_CHANGED).exists()


def test_an_account_added_or_deleted_in_the_admin_is_audited(root, admin_client):
    response = admin_client.post("/admin/accounts/user/add/", {
        "email": "new.clerk@mha.gov.in", "password1": "a-long-enough-pass-9183", "password2": "a-long-enough-pass-9183",
        "usable_password": "true", "_save": "Save",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    user = User.objects.get(email="new.clerk@mha.gov.in")
    [added] = events(AuditAction.USER_ACCESS_CHANGED)
    assert (added.actor_id, added.target_id, added.old_values) == (root.pk, str(user.pk), {})
    assert added.new_values == {"is_active": True, "is_staff": False, "is_superuser": False, "groups": [],
                                "user_permissions": [], "added": True}

    response = admin_client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    deleted = events(AuditAction.USER_ACCESS_CHANGED)[1]
    assert (deleted.actor_id, deleted.target_id, deleted.target_repr) == (root.pk, str(user.pk), "new.clerk@mha.gov.in")
    assert deleted.old_values["is_active"] is True and deleted.new_values == {"deleted": True}

    other = UserFactory(email="bulk@mha.gov.in", is_staff=True)
    response = admin_client.post("/admin/accounts/user/", {
        "action": "delete_selected", "_selected_action": [other.pk], "post": "yes",
    })
    assert response.status_code == 302 and not User.objects.filter(pk=other.pk).exists()
    bulk = events(AuditAction.USER_ACCESS_CHANGED)[2]
    assert (bulk.target_id, bulk.old_values["is_staff"], bulk.new_values) == (str(other.pk), True, {"deleted": True})
    assert audit_verify() == []


def test_an_account_under_a_legal_hold_is_not_deleted_in_the_admin(root, admin_client):
    """A hold on the person (or on one of their records) keeps the account: no delete
    button on its page, its deletion page refused, a bulk deletion refused naming it, and
    its addresses not deleted either; an account without a hold is deleted as before."""
    from allauth.account.models import EmailAddress
    from django.contrib import admin
    from django.contrib.messages import get_messages
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory

    from portal.privacy.models import HoldTarget
    from portal.privacy.retention import legal_hold_set
    from tests.factories import ApplicationFactory

    held = UserFactory(email="witness@mahaagri.gov.in", full_name="Witness Person")
    address = EmailAddress.objects.get(user=held, email=held.email)
    legal_hold_set(target_type=HoldTarget.PERSON, target_id=held.pk, reason="Court case 12/2026", actor=root)
    officer = UserFactory(email="officer@mahaagri.gov.in")
    legal_hold_set(target_type=HoldTarget.APPLICATION, target_id=ApplicationFactory(nodal_officer=officer).pk,
                   reason="Court case 13/2026", actor=root)

    page = admin_client.get(f"/admin/accounts/user/{held.pk}/change/").content.decode()
    assert f"/admin/accounts/user/{held.pk}/delete/" not in page
    for user in (held, officer):
        assert admin_client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.post(f"/admin/account/emailaddress/{address.pk}/delete/", {"post": "yes"}).status_code == 403
    free = UserFactory(email="free@mahaagri.gov.in")
    asked = admin_client.post("/admin/accounts/user/", {"action": "delete_selected",
                                                        "_selected_action": [held.pk, free.pk]})
    assert "Under a legal hold (release the hold first): witness@mahaagri.gov.in" in asked.content.decode()
    bulk = admin_client.post("/admin/accounts/user/", {"action": "delete_selected",
                                                       "_selected_action": [held.pk, free.pk], "post": "yes"})
    assert bulk.status_code == 403
    assert set(User.objects.filter(pk__in=[held.pk, officer.pk, free.pk]).values_list("pk", flat=True)) == {
        held.pk, officer.pk, free.pk}
    assert EmailAddress.objects.filter(pk=address.pk).exists()

    # A hold set between the confirmation and the deletion: the held account is left out, named.
    request = RequestFactory().post("/admin/accounts/user/")
    request.user, request.session = root, {}
    request._messages = FallbackStorage(request)
    admin.site.get_model_admin(User).delete_queryset(request, User.objects.filter(pk__in=[held.pk, free.pk]))
    assert set(User.objects.filter(pk__in=[held.pk, free.pk]).values_list("pk", flat=True)) == {held.pk}
    assert [str(m) for m in get_messages(request)] == ["Under a legal hold (release the hold first): witness@mahaagri.gov.in"]
    [deleted] = events(AuditAction.USER_ACCESS_CHANGED)
    assert deleted.target_id == str(free.pk)


def test_a_groups_permissions_changed_in_the_admin_are_audited(root, admin_client):
    group = Group.objects.create(name="helpdesk")
    UserFactory(email="clerk@mha.gov.in").groups.add(group)
    permission = Permission.objects.get(content_type__app_label="accounts", codename="change_user")
    response = admin_client.post(f"/admin/auth/group/{group.pk}/change/",
                                 {"name": "helpdesk", "permissions": [permission.pk], "_save": "Save"})
    assert response.status_code == 302
    [event] = events(AuditAction.GROUP_PERMISSIONS_CHANGED)
    assert (event.actor_id, event.target_type, event.target_id) == (root.pk, "auth.group", str(group.pk))
    assert (event.old_values, event.new_values) == (
        {"permissions": []}, {"permissions": ["accounts.change_user"], "members": 1})


def _last_admin_of_an_office():
    from tests.factories import OrganisationFactory
    from tests.portal.role_helpers import make_admin

    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")
    return office, make_admin(office, email="admin@pune.mahaagri.gov.in")


def test_deactivating_the_last_admin_in_the_admin_is_refused(admin_client):
    """An inactive account holds no role (the last-admin rule counts active accounts only):
    unticking "Active" for the last admin whose role does not end is refused at the field,
    nothing saved, as revoking the role is (LastAdmin). The superuser who does it in the
    admin is a superadmin who stays: the last-superadmin rule never refuses it there
    (test_the_only_superadmin_grant_holder_may_be_deactivated_and_deleted_by_a_superuser)."""
    office, user = _last_admin_of_an_office()
    said = "District Agriculture Office, Pune would have no admin left whose role does not end"
    name = user.full_name
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/",
                                 change_form(user, is_active=False, full_name="A New Name"))
    assert response.status_code == 200
    assert any(said in error for error in response.context["adminform"].form.errors["is_active"])
    user.refresh_from_db()
    assert (user.is_active, user.full_name) == (True, name)
    assert events(AuditAction.USER_ACCESS_CHANGED) == []


def test_deleting_the_last_admin_in_the_admin_is_refused(root, admin_client):
    """A deleted account holds no role either: deleting the last admin whose role does not
    end is refused, even for a superuser, as unticking "Active" is: its deletion page sends
    back to the account's page with the reason, a deletion of several is refused on the
    confirmation page naming it, and one that reaches delete_queryset all the same (the
    other holder gone meanwhile) leaves it out and says so. Nothing is deleted or ended."""
    from django.contrib import admin
    from django.contrib.messages import get_messages
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory

    office, user = _last_admin_of_an_office()
    said = ("District Agriculture Office, Pune would have no admin left whose role does not end: grant the admin "
            "role to someone else first (without an end date).")
    for asked in (admin_client.get, lambda url, **kw: admin_client.post(url, {"post": "yes"}, **kw)):
        response = asked(f"/admin/accounts/user/{user.pk}/delete/", follow=True)
        assert response.redirect_chain == [(f"/admin/accounts/user/{user.pk}/change/", 302)]
        assert [str(m) for m in get_messages(response.wsgi_request)] == [said]
    plain = UserFactory(email="clerk@mha.gov.in")
    asked = admin_client.post("/admin/accounts/user/", {"action": "delete_selected",
                                                        "_selected_action": [user.pk, plain.pk]})
    assert said in asked.content.decode()
    bulk = admin_client.post("/admin/accounts/user/", {"action": "delete_selected",
                                                       "_selected_action": [user.pk, plain.pk], "post": "yes"})
    assert bulk.status_code == 403

    request = RequestFactory().post("/admin/accounts/user/")
    request.user, request.session = root, {}
    request._messages = FallbackStorage(request)
    admin.site.get_model_admin(User).delete_queryset(request, User.objects.filter(pk__in=[user.pk, plain.pk]))
    assert [str(m) for m in get_messages(request)] == [said]
    assert User.objects.filter(pk=user.pk).exists() and not User.objects.filter(pk=plain.pk).exists()
    assert (PlatformRoleGrant.objects.filter(user=user, revoked_at__isnull=True).exists()
            or Membership.objects.filter(user=user, role=MembershipRole.ADMIN, is_active=True).exists())
    assert events(AuditAction.PLATFORM_ROLE_REVOKED) == events(AuditAction.MEMBERSHIP_REVOKED) == []
    [deleted] = events(AuditAction.USER_ACCESS_CHANGED)
    assert deleted.target_id == str(plain.pk)


def test_the_only_superadmin_grant_holder_may_be_deactivated_and_deleted_by_a_superuser(root, admin_client):
    """The superuser who acts in the admin is a superadmin whose role does not end, and stays
    one: the platform is not left without a superadmin, so neither is refused (the role
    ends on record at the deletion)."""
    user = make_superadmin(email="only.root@sandes.nic.in")
    post_change(admin_client, user, is_active=False)
    user.refresh_from_db()
    assert not user.is_active
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not User.objects.filter(pk=user.pk).exists()
    [revoked] = events(AuditAction.PLATFORM_ROLE_REVOKED)
    assert (revoked.target_id, revoked.old_values["role"], revoked.new_values["reason"]) == (
        str(user.pk), "superadmin", "account_deleted")
    assert superadmin_emails() == [root.email]


def test_the_only_superuser_neither_makes_themselves_inactive_nor_deletes_their_account_in_the_admin(
        root, admin_client):
    """The portal's only superadmin is a Django superuser (the first one, deploy/README.md):
    unticking their own "Active", or deleting their own account, would leave nobody able to
    grant a role. Both are refused as for the last superadmin role granted in the portal
    (the field says why; the deletion page sends back to the account's page with the
    reason), nothing saved or deleted."""
    from django.contrib.messages import get_messages

    said = ("The platform would have no superadmin left whose role does not end: grant the superadmin role to "
            "someone else first (without an end date).")
    response = admin_client.post(f"/admin/accounts/user/{root.pk}/change/", change_form(root, is_active=False))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["is_active"] == [said]
    response = admin_client.post(f"/admin/accounts/user/{root.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.redirect_chain == [(f"/admin/accounts/user/{root.pk}/change/", 302)]
    assert [str(m) for m in get_messages(response.wsgi_request)] == [said]
    root.refresh_from_db()
    assert root.is_active and root.is_superuser
    assert events(AuditAction.USER_ACCESS_CHANGED) == []
    # With another superadmin whose role does not end, both are theirs to do.
    make_superadmin(email="next.root@sandes.nic.in")
    post_change(admin_client, root, is_active=False)
    root.refresh_from_db()
    assert not root.is_active


def test_deleting_a_role_holder_in_the_admin_ends_its_roles_on_record(root, admin_client):
    """The roles of an account a superuser deletes end through their services first, in
    the deletion's transaction: one platform_role.revoked row per grant, one
    membership.revoked row per organisation it administered (its other admins read it),
    saying why, then the deletion's row naming the superuser; one at a time or several."""
    from tests.factories import OrganisationFactory
    from tests.portal.role_helpers import make_admin

    make_superadmin(email="stays.root@nic.in")
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")
    make_admin(office, email="deputy@pune.mahaagri.gov.in")
    holder = make_superadmin(email="leaving.root@nic.in")
    PlatformRoleFactory(user=holder, role="state_admin", jurisdiction="MH")
    Membership.objects.create(organisation=office, user=holder, role=MembershipRole.ADMIN)
    other = make_superadmin(email="other.root@nic.in")
    response = admin_client.post(f"/admin/accounts/user/{holder.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not User.objects.filter(pk=holder.pk).exists()
    revoked = events(AuditAction.PLATFORM_ROLE_REVOKED)
    assert sorted((event.target_id, event.old_values["role"], event.new_values["reason"]) for event in revoked) == [
        (str(holder.pk), "state_admin", "account_deleted"), (str(holder.pk), "superadmin", "account_deleted")]
    [membership] = events(AuditAction.MEMBERSHIP_REVOKED)
    assert (membership.target_id, membership.old_values, membership.new_values) == (
        str(office.pk), {"user": "leaving.root@nic.in", "user_id": holder.pk, "role": MembershipRole.ADMIN},
        {"member": False, "reason": "account_deleted"})
    [deleted] = events(AuditAction.USER_ACCESS_CHANGED)
    assert (deleted.actor_id, deleted.target_id, deleted.new_values) == (root.pk, str(holder.pk), {"deleted": True})
    assert max(event.pk for event in [*revoked, membership]) < deleted.pk

    response = admin_client.post("/admin/accounts/user/", {"action": "delete_selected", "_selected_action": [other.pk],
                                                           "post": "yes"})
    assert response.status_code == 302 and not User.objects.filter(pk=other.pk).exists()
    assert events(AuditAction.PLATFORM_ROLE_REVOKED)[-1].target_id == str(other.pk)
    assert PlatformRoleGrant.objects.filter(role="superadmin").count() == 1
    assert audit_verify() == []


def test_deactivating_an_admin_in_the_admin_while_another_stays_is_saved(admin_client):
    from tests.portal.role_helpers import make_admin

    office, user = _last_admin_of_an_office()
    make_admin(office, email="deputy@pune.mahaagri.gov.in")
    post_change(admin_client, user, is_active=False)
    user.refresh_from_db()
    assert not user.is_active



def test_deactivating_an_account_and_ending_its_official_powers_are_refused_for_the_same_roles():
    """One rule, asked under the same locks: the platform's last superadmin role, then each
    organisation's last admin role (one with another admin is not named), are named alike
    by the admin's refusal to untick "Active" and by the refusal of a personal address as
    the person's primary one, each in its own words."""
    from django.core.exceptions import ValidationError

    from portal.organisations.services import OfficialPowersHeld, account_deactivation_check, official_powers_end_check
    from tests.factories import OrganisationFactory
    from tests.portal.role_helpers import make_admin

    person = make_superadmin(email="only.root@sandes.nic.in")
    office, shared, parent = (OrganisationFactory(name=name) for name in ("Pune Office", "Nashik Office", "Department"))
    for organisation in (office, shared, parent):
        Membership.objects.create(organisation=organisation, user=person, role=MembershipRole.ADMIN)
    make_admin(shared, email="deputy@nashik.mahaagri.gov.in")
    with pytest.raises(ValidationError) as deactivation:
        account_deactivation_check(user_id=person.pk)
    with pytest.raises(OfficialPowersHeld) as official:
        official_powers_end_check(user=person, new_primary="root.home@gmail.com")
    codes = ["last_superadmin", "last_admin", "last_admin"]
    assert [error.code for error in deactivation.value.error_list] == codes
    assert [error.code for error in official.value.error_list] == codes
    named = [organisation.name for organisation in sorted((office, parent), key=lambda o: o.pk)]
    assert [message.split(" would have")[0] for message in deactivation.value.messages[1:]] == named
    assert [message.split("last admin of ")[1].split(" whose")[0] for message in official.value.messages[1:]] == named


# What a staff account (not superuser) may change in the admin -------------------------------

def staff_with(*codenames, email="helpdesk@nic.in", **fields):
    """A staff account (not superuser) with only the named model permissions, signed in with its second factor."""
    from tests.onboarding.approval_helpers import signed_in

    user = UserFactory(email=email, is_staff=True, **fields)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    with_totp(user)
    return user, signed_in(user)


ACCESS_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


def test_a_staff_account_changes_no_ones_access_flags_groups_or_permissions_in_the_admin():
    """Nobody grants a role above their own or edits their own (DESIGN §2): for a staff
    account that is not superuser the access fields of every account are shown, not edited,
    and a form that sends them all the same changes nothing; its other fields are saved."""
    staff, client = staff_with("view_user", "change_user")
    other = UserFactory(email="clerk@mha.gov.in")
    group = Group.objects.create(name="helpdesk")
    every = list(Permission.objects.values_list("pk", flat=True))
    for user in (staff, other):
        page = client.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
        assert not any(f'name="{field}"' in page for field in ACCESS_FIELDS)
        post_change(client, user, is_staff="on", is_superuser="on", groups=[group.pk], user_permissions=every,
                    full_name="A New Name")
        user = User.objects.get(pk=user.pk)
        assert user.full_name == "A New Name"
        assert (user.is_superuser, list(user.groups.all())) == (False, [])
    assert staff.user_permissions.count() == 2 and not other.user_permissions.exists()
    assert not User.objects.get(pk=other.pk).is_staff
    assert events(AuditAction.USER_ACCESS_CHANGED) == []


def test_a_superuser_changes_anothers_access_in_the_admin_but_not_its_own(root, admin_client):
    page = admin_client.get(f"/admin/accounts/user/{root.pk}/change/").content.decode()
    assert not any(f'name="{field}"' in page for field in ACCESS_FIELDS) and 'name="is_active"' in page
    group = Group.objects.create(name="helpdesk")
    post_change(admin_client, root, is_staff=False, is_superuser=False, groups=[group.pk])
    root.refresh_from_db()
    assert (root.is_superuser, root.is_staff, root.groups.exists()) == (True, True, False)
    other = UserFactory(email="clerk@mha.gov.in")
    assert 'name="is_superuser"' in admin_client.get(f"/admin/accounts/user/{other.pk}/change/").content.decode()
    post_change(admin_client, other, is_staff="on", groups=[group.pk])
    other.refresh_from_db()
    assert other.is_staff and list(other.groups.all()) == [group]
    [event] = events(AuditAction.USER_ACCESS_CHANGED)
    assert event.new_values == {"is_staff": True, "groups": ["helpdesk"]}


def group_form(group, permissions):
    return {"name": group.name, "permissions": [p.pk for p in permissions], "_save": "Save"}


def test_a_staff_account_does_not_widen_its_own_groups_permissions_in_the_admin():
    group = Group.objects.create(name="Help desk")
    held = list(Permission.objects.filter(codename__in=["view_group", "change_group"]))
    group.permissions.add(*held)
    staff, client = staff_with(email="helpdesk@nic.in")
    staff.groups.add(group)
    for permissions in (Permission.objects.all(), held[:1]):  # widened, or narrowed: its own group either way
        response = client.post(f"/admin/auth/group/{group.pk}/change/", group_form(group, permissions))
        assert response.status_code == 200
        assert "You cannot change the permissions of a group you belong to." in (
            response.context["adminform"].form.errors["permissions"])
    assert set(group.permissions.all()) == set(held)
    assert events(AuditAction.GROUP_PERMISSIONS_CHANGED) == []


def test_a_staff_account_gives_another_group_only_permissions_it_holds_itself():
    staff, client = staff_with("view_group", "change_group", "add_group", "view_user")
    group = Group.objects.create(name="Readers")
    view_user, change_user = (Permission.objects.get(content_type__app_label="accounts", codename=codename)
                              for codename in ("view_user", "change_user"))
    response = client.post(f"/admin/auth/group/{group.pk}/change/", group_form(group, [view_user, change_user]))
    assert response.status_code == 200
    assert "You cannot give a permission you do not hold yourself: accounts.change_user" in (
        response.context["adminform"].form.errors["permissions"])
    response = client.post("/admin/auth/group/add/", {"name": "Writers", "permissions": [change_user.pk]})
    assert response.status_code == 200 and not Group.objects.filter(name="Writers").exists()
    assert not group.permissions.exists()
    response = client.post(f"/admin/auth/group/{group.pk}/change/", group_form(group, [view_user]))
    assert response.status_code == 302
    assert list(group.permissions.all()) == [view_user]
    [event] = events(AuditAction.GROUP_PERMISSIONS_CHANGED)
    assert (event.actor_id, event.new_values) == (staff.pk, {"permissions": ["accounts.view_user"], "members": 0})


def password_form(password="Taken-over-2026!"):
    return {"password1": password, "password2": password, "usable_password": "true"}


def test_a_password_set_in_the_admin_is_audited_without_the_secret():
    staff, client = staff_with("view_user", "change_user")
    person = UserFactory(email="citizen@gmail.com")
    response = client.post(f"/admin/accounts/user/{person.pk}/password/", password_form())
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.check_password("Taken-over-2026!")
    [event] = events(AuditAction.USER_PASSWORD_CHANGED)
    assert (event.actor_id, event.target_type, event.target_id) == (staff.pk, "accounts.user", str(person.pk))
    assert (event.old_values, event.new_values) == ({}, {"in_admin": True, "usable_password": True})
    assert "Taken-over" not in str(event.new_values) and audit_verify() == []


def test_a_password_set_by_changepassword_is_audited_without_the_secret(monkeypatch):
    """manage.py changepassword sets any account's password, a superadmin's included, as the
    admin's password page does: audited as the page audits it (the account; never the
    password), with the command as the actor. A change given up writes nothing."""
    person = UserFactory(email="someone.admin@nic.in", is_superuser=True, is_staff=True)
    typed = iter(["Another-l0ng-passw0rd!", "Another-l0ng-passw0rd?"] * 3)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    with pytest.raises(CommandError, match="after 3 attempts"):
        call_command("changepassword", person.email, stdout=StringIO())
    assert not AuditEvent.objects.exists()
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "Another-l0ng-passw0rd!")
    out = StringIO()
    call_command("changepassword", person.email, stdout=out)
    assert "Password changed successfully for user 'someone.admin@nic.in'" in out.getvalue()
    person.refresh_from_db()
    assert person.check_password("Another-l0ng-passw0rd!")
    [event] = AuditEvent.objects.all()
    assert (event.action, event.actor_id, event.actor_email, event.actor_role) == (
        AuditAction.USER_PASSWORD_CHANGED, None, "", "system:manage.py changepassword")
    assert (event.target_type, event.target_id) == ("accounts.user", str(person.pk))
    assert (event.old_values, event.new_values) == ({}, {"usable_password": True})
    assert "passw0rd" not in str(event.new_values) and audit_verify() == []


def test_changepassword_changes_the_password_only_not_what_changed_while_it_was_typed(monkeypatch):
    """The account is read before the password is typed: what was changed meanwhile (the
    account closed) stays changed, the password alone is written, with its audit row."""
    person = UserFactory(email="someone.admin@nic.in", is_superuser=True, is_staff=True)

    def typed_while_the_account_is_closed(prompt=""):
        User.objects.filter(pk=person.pk).update(is_active=False)
        return "Another-l0ng-passw0rd!"

    monkeypatch.setattr("getpass.getpass", typed_while_the_account_is_closed)
    call_command("changepassword", person.email, stdout=StringIO())
    person.refresh_from_db()
    assert person.check_password("Another-l0ng-passw0rd!") and not person.is_active
    assert AuditEvent.objects.filter(action=AuditAction.USER_PASSWORD_CHANGED).count() == 1


def nodal_officer():
    """An account holding an object role: the nodal officer of the application it started."""
    from tests.onboarding.form_helpers import new_application

    officer = UserFactory(email="officer@mha.gov.in")
    new_application(officer)
    return officer


@pytest.mark.parametrize("holder", ["organisation_admin", "deactivated_organisation_admin", "state_admin", "superuser",
                                    "nodal_officer"])
def test_a_staff_account_does_not_set_a_role_holders_password_in_the_admin(holder, root, admin_client):
    """A staff help desk that set an organisation admin's password (who signs in without a
    second factor) would hold their role: only a superuser sets a role holder's password.
    So for a nodal officer's, whose role is on their application (they submit and withdraw it)."""
    from django.contrib.messages import get_messages

    from tests.factories import OrganisationFactory
    from tests.portal.role_helpers import make_admin

    target = {
        "organisation_admin": lambda: make_admin(OrganisationFactory(), email="admin@pune.gov.in"),
        # Its role comes back with its "Active" tick.
        "deactivated_organisation_admin": lambda: make_admin(OrganisationFactory(), email="admin@pune.gov.in",
                                                             is_active=False),
        "state_admin": lambda: PlatformRoleFactory(role="state_admin", jurisdiction="MH",
                                                   user__email="state.admin@maharashtra.gov.in").user,
        "superuser": lambda: UserFactory(email="other.root@nic.in", is_superuser=True, is_staff=True),
        "nodal_officer": nodal_officer,
    }[holder]()
    password = target.password
    staff, client = staff_with("view_user", "change_user")
    for asked in (client.get, lambda url, **kw: client.post(url, password_form(), **kw)):
        response = asked(f"/admin/accounts/user/{target.pk}/password/", follow=True)
        assert response.redirect_chain == [(f"/admin/accounts/user/{target.pk}/change/", 302)]
        assert [str(m) for m in get_messages(response.wsgi_request)] == [
            "Only a superuser sets the password of an account that holds a role."]
    target.refresh_from_db()
    assert target.password == password
    assert events(AuditAction.USER_PASSWORD_CHANGED) == []
    # A superuser may.
    assert admin_client.post(f"/admin/accounts/user/{target.pk}/password/", password_form()).status_code == 302
    target.refresh_from_db()
    assert target.check_password("Taken-over-2026!")
    [event] = events(AuditAction.USER_PASSWORD_CHANGED)
    assert (event.actor_id, event.target_id) == (root.pk, str(target.pk))


def test_an_address_added_or_changed_in_the_admin_is_audited(root, admin_client):
    """A verified address is what official powers rest on: adding or changing one in the
    admin is audited (the address, verified, primary; old and new), as marking one verified is."""
    from allauth.account.models import EmailAddress

    staff, client = root, admin_client
    person = UserFactory(email="citizen@gmail.com")
    response = client.post("/admin/account/emailaddress/add/",
                           {"user": person.pk, "email": "citizen@mha.gov.in", "verified": "on", "primary": ""})
    assert response.status_code == 302
    address = EmailAddress.objects.get(user=person, email="citizen@mha.gov.in", verified=True)
    [added] = events(AuditAction.USER_EMAIL_ADDRESS_SAVED_IN_ADMIN)
    assert (added.actor_id, added.target_type, added.target_id) == (staff.pk, "accounts.user", str(person.pk))
    assert (added.old_values, added.new_values) == (
        {}, {"user": person.pk, "email": "citizen@mha.gov.in", "verified": True, "primary": False, "added": True})

    response = client.post(f"/admin/account/emailaddress/{address.pk}/change/",
                           {"user": person.pk, "email": "citizen@home.gov.in", "verified": "", "primary": ""})
    assert response.status_code == 302
    changed = events(AuditAction.USER_EMAIL_ADDRESS_SAVED_IN_ADMIN)[1]
    assert (changed.old_values, changed.new_values) == (
        {"email": "citizen@mha.gov.in", "verified": True}, {"email": "citizen@home.gov.in", "verified": False})
    # Saved unchanged: nothing to record.
    client.post(f"/admin/account/emailaddress/{address.pk}/change/",
                {"user": person.pk, "email": "citizen@home.gov.in", "verified": "", "primary": ""})
    assert len(events(AuditAction.USER_EMAIL_ADDRESS_SAVED_IN_ADMIN)) == 2
    assert audit_verify() == []


def test_an_address_deleted_in_the_admin_is_audited_and_ends_what_rested_on_it(root, admin_client):
    """A confirmed address is what verifications and official powers rest on: deleting one
    in the admin, alone or with others, is audited (the address as it was) with the
    administrator as actor, in the deletion's transaction, and a verification resting on
    it is suspended all the same (verification.receivers)."""
    from allauth.account.models import EmailAddress

    from tests.verification.helpers import GovernmentProfileFactory
    from verification.models import VerificationStatus

    person = UserFactory(email="citizen@gmail.com")
    address = EmailAddress.objects.create(user=person, email="citizen@mha.gov.in", verified=True, primary=False)
    profile = GovernmentProfileFactory(user=person, official_email="citizen@mha.gov.in",
                                       status=VerificationStatus.VERIFIED)
    response = admin_client.post(f"/admin/account/emailaddress/{address.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not EmailAddress.objects.filter(pk=address.pk).exists()
    [removed] = events(AuditAction.USER_EMAIL_REMOVED)
    assert (removed.actor_id, removed.target_type, removed.target_id) == (root.pk, "accounts.user", str(person.pk))
    assert (removed.old_values, removed.new_values) == (
        {"user": person.pk, "email": "citizen@mha.gov.in", "verified": True, "primary": False}, {"deleted": True})
    profile.refresh_from_db()
    assert profile.status == VerificationStatus.SUSPENDED
    [suspended] = events(AuditAction.VERIFICATION_SUSPENDED)
    assert suspended.pk > removed.pk

    other = EmailAddress.objects.create(user=person, email="citizen@home.gov.in", verified=False, primary=False)
    primary = EmailAddress.objects.get(user=person, email="citizen@gmail.com")
    response = admin_client.post("/admin/account/emailaddress/", {
        "action": "delete_selected", "_selected_action": [other.pk, primary.pk], "post": "yes"})
    assert response.status_code == 302 and not EmailAddress.objects.filter(user=person).exists()
    bulk = events(AuditAction.USER_EMAIL_REMOVED)[1:]
    assert sorted((event.actor_id, event.old_values["email"], event.new_values["deleted"]) for event in bulk) == [
        (root.pk, "citizen@gmail.com", True), (root.pk, "citizen@home.gov.in", True)]
    assert audit_verify() == []


def test_the_address_a_platform_role_rests_on_is_not_deleted_in_the_admin(root, admin_client):
    """A platform role rests on an active account whose confirmed primary address is
    official: that address is not deleted in the admin while the role is in force (the
    role is revoked first, audited, by a superadmin). Its deletion page sends back to the
    address's page saying so, a deletion of several is refused on the confirmation page
    naming it, and one that reaches delete_queryset all the same (the role granted
    meanwhile) leaves it out and says so. Its other addresses, and those of an account
    whose role was revoked, are deleted as before."""
    from allauth.account.models import EmailAddress
    from django.contrib import admin
    from django.contrib.messages import get_messages
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory

    from portal.permissions import is_superadmin

    holder = make_superadmin(email="second.root@nic.in")
    make_superadmin(email="third.root@nic.in")  # not the last one: refused all the same
    address = EmailAddress.objects.get(user=holder, email=holder.email)
    said = "A platform role rests on it (revoke the role first): second.root@nic.in"
    for asked in (admin_client.get, lambda url, **kw: admin_client.post(url, {"post": "yes"}, **kw)):
        response = asked(f"/admin/account/emailaddress/{address.pk}/delete/", follow=True)
        assert response.redirect_chain == [(f"/admin/account/emailaddress/{address.pk}/change/", 302)]
        assert [str(m) for m in get_messages(response.wsgi_request)] == [said]
    spare = EmailAddress.objects.create(user=holder, email="second.root@home.gov.in", verified=True)
    asked = admin_client.post("/admin/account/emailaddress/", {"action": "delete_selected",
                                                               "_selected_action": [address.pk, spare.pk]})
    assert said in asked.content.decode()
    assert admin_client.post("/admin/account/emailaddress/", {
        "action": "delete_selected", "_selected_action": [address.pk, spare.pk], "post": "yes"}).status_code == 403
    assert EmailAddress.objects.filter(pk__in=[address.pk, spare.pk]).count() == 2

    request = RequestFactory().post("/admin/account/emailaddress/")
    request.user, request.session = root, {}
    request._messages = FallbackStorage(request)
    admin.site.get_model_admin(EmailAddress).delete_queryset(request, EmailAddress.objects.filter(
        pk__in=[address.pk, spare.pk]))
    assert [str(m) for m in get_messages(request)] == [said]
    assert list(EmailAddress.objects.filter(user=holder).values_list("pk", flat=True)) == [address.pk]
    assert is_superadmin(User.objects.get(pk=holder.pk))
    assert [event.old_values["email"] for event in events(AuditAction.USER_EMAIL_REMOVED)] == [spare.email]

    PlatformRoleGrant.objects.filter(user=holder).update(revoked_at=timezone.now())  # revoked
    response = admin_client.post(f"/admin/account/emailaddress/{address.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not EmailAddress.objects.filter(pk=address.pk).exists()


@pytest.mark.parametrize("change", ["unconfirmed", "other_address"])
def test_the_address_a_platform_role_rests_on_is_not_changed_away_in_the_admin(root, admin_client, change):
    """Deleting the confirmed primary address a platform role rests on is refused while the
    role is in force, but the change form took the same fact away: a superuser unticking
    "verified", or retyping the address, left a state administrator whose account no longer
    has its official address confirmed (or at all) holding the role. The change is refused at
    the form, saying why, what was typed kept and nothing audited; once the role is revoked,
    it is saved."""
    from allauth.account.models import EmailAddress

    from tests.html_tree import parse

    holder = make_state_admin(email="state.admin@maharashtra.gov.in")
    address = EmailAddress.objects.get(user=holder, email=holder.email)
    url = f"/admin/account/emailaddress/{address.pk}/change/"
    data = {"user": holder.pk, "email": holder.email, "verified": "on"}
    if change == "unconfirmed":
        data.pop("verified")
    else:
        data["email"] = "state.admin@gmail.com"
    audited = AuditEvent.objects.count()
    response = admin_client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "A platform role rests on it (revoke the role first): state.admin@maharashtra.gov.in" in page
    assert parse(page).find("input", name="email").get("value") == data["email"]
    address.refresh_from_db()
    assert (address.email, address.verified) == (holder.email, True)
    assert AuditEvent.objects.count() == audited
    assert platform_roles_of(User.objects.get(pk=holder.pk)) == {("state_admin", "MH")}

    PlatformRoleGrant.objects.filter(user=holder).update(revoked_at=timezone.now())  # revoked
    response = admin_client.post(url, data)
    assert response.status_code == 302
    address.refresh_from_db()
    assert (address.email, address.verified) == (data["email"], change != "unconfirmed")


def test_the_address_a_superusers_flag_rests_on_is_not_deleted_or_changed_away_in_the_admin(root, admin_client):
    """"Superuser status" makes a superadmin, a platform role ticked only for an account whose
    confirmed primary address is official (platform_role_holder_check); the address a grant
    rests on was kept in the admin, the flag's was not: another superuser deleted it, or
    unticked "verified", and a Django superuser with no official address confirmed stayed a
    superadmin. Both are refused as for a grant, until the flag is unticked."""
    from allauth.account.models import EmailAddress

    from portal.permissions import is_superadmin

    holder = UserFactory(email="second.root@nic.in", is_superuser=True, is_staff=True)
    address = EmailAddress.objects.get(user=holder, email=holder.email)
    said = "A platform role rests on it (revoke the role first): second.root@nic.in"
    response = admin_client.post(f"/admin/account/emailaddress/{address.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and response["Location"] == f"/admin/account/emailaddress/{address.pk}/change/"
    url = f"/admin/account/emailaddress/{address.pk}/change/"
    response = admin_client.post(url, {"user": holder.pk, "email": holder.email})
    assert response.status_code == 200 and said in response.content.decode()
    address.refresh_from_db()
    assert address.verified and is_superadmin(User.objects.get(pk=holder.pk))

    User.objects.filter(pk=holder.pk).update(is_superuser=False)
    assert admin_client.post(url, {"user": holder.pk, "email": holder.email}).status_code == 302
    address.refresh_from_db()
    assert not address.verified


def test_a_staff_account_confirms_no_address_in_the_admin(root, admin_client):
    """An official address, once confirmed, gives powers (a nodal officer's, an invitation's):
    a staff account that is not superuser adds an address unconfirmed, for its owner to
    confirm, and does not mark one verified, change what it is or move it to another
    account; a superuser may, each audited with the superuser as actor."""
    from allauth.account.models import EmailAddress

    staff, client = staff_with("view_emailaddress", "add_emailaddress", "change_emailaddress")
    person = UserFactory(email="citizen@gmail.com")
    other = UserFactory(email="other@gmail.com")
    response = client.post("/admin/account/emailaddress/add/",
                           {"user": person.pk, "email": "citizen@mha.gov.in", "verified": "on", "primary": ""})
    assert response.status_code == 302
    address = EmailAddress.objects.get(user=person, email="citizen@mha.gov.in")
    assert not address.verified
    page = client.get(f"/admin/account/emailaddress/{address.pk}/change/").content.decode()
    assert not any(f'name="{field}"' in page for field in ("user", "email", "verified", "primary"))
    client.post(f"/admin/account/emailaddress/{address.pk}/change/",
                {"user": other.pk, "email": "other@mha.gov.in", "verified": "on", "primary": "on"})
    address.refresh_from_db()
    assert (address.user_id, address.email, address.verified, address.primary) == (
        person.pk, "citizen@mha.gov.in", False, False)
    changelist = client.get("/admin/account/emailaddress/").content.decode()
    assert "make_verified" not in changelist
    response = client.post("/admin/account/emailaddress/",
                           {"action": "make_verified", "_selected_action": [address.pk], "index": 0})
    address.refresh_from_db()
    assert not address.verified
    assert events(AuditAction.USER_EMAIL_CONFIRMED) == []

    response = admin_client.post("/admin/account/emailaddress/",
                                 {"action": "make_verified", "_selected_action": [address.pk], "index": 0})
    assert response.status_code == 302
    address.refresh_from_db()
    assert address.verified
    marked = events(AuditAction.USER_EMAIL_ADDRESS_SAVED_IN_ADMIN)[-1]
    assert (marked.actor_id, marked.target_id, marked.old_values, marked.new_values) == (
        root.pk, str(person.pk), {"verified": False}, {"verified": True})
    assert audit_verify() == []


def test_a_superuser_marking_an_address_verified_in_the_admin_is_their_act_not_its_owners_confirmation(
        root, admin_client):
    """allauth's "Mark selected email addresses as verified" announced the owner's own
    confirmation (email_confirmed): audited as the owner confirming their address, from
    the superuser's address and browser. Every row the action writes names the superuser."""
    from allauth.account.models import EmailAddress
    from django.contrib.messages import get_messages

    person = UserFactory(email="citizen@gmail.com")
    address = EmailAddress.objects.create(user=person, email="citizen@mha.gov.in", verified=False, primary=False)
    before = AuditEvent.objects.order_by("id").values_list("id", flat=True).last() or 0
    response = admin_client.post("/admin/account/emailaddress/",
                                 {"action": "make_verified", "_selected_action": [address.pk], "index": 0}, follow=True)
    assert [str(message) for message in get_messages(response.wsgi_request)] == ["Marked citizen@mha.gov.in as verified."]
    address.refresh_from_db()
    assert address.verified
    written = AuditEvent.objects.filter(id__gt=before).order_by("id")
    assert [(e.action, e.actor_id, e.target_id, e.user_agent) for e in written] == [
        (AuditAction.USER_EMAIL_ADDRESS_SAVED_IN_ADMIN, root.pk, str(person.pk), "Mozilla/5.0 (admin)")]
    assert audit_verify() == []


def test_an_address_another_account_has_confirmed_is_not_marked_verified_and_the_superuser_is_told(admin_client):
    """An address is confirmed on one account at most: "Mark selected email addresses as
    verified" on a second account's copy of it leaves it unconfirmed, writes nothing, and
    says so."""
    from allauth.account.models import EmailAddress
    from django.contrib.messages import get_messages

    EmailAddress.objects.create(user=UserFactory(email="holder@gmail.com"), email="desk@mha.gov.in", verified=True)
    address = EmailAddress.objects.create(user=UserFactory(email="other@gmail.com"), email="desk@mha.gov.in",
                                          verified=False)
    before = AuditEvent.objects.count()
    response = admin_client.post("/admin/account/emailaddress/",
                                 {"action": "make_verified", "_selected_action": [address.pk], "index": 0}, follow=True)
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "desk@mha.gov.in was not marked as verified: another account has it confirmed already."]
    address.refresh_from_db()
    assert not address.verified and AuditEvent.objects.count() == before


def reset_links_to(address, smtp_server, capture):
    """Asks a password reset for ``address`` as anyone may; the reset links mailed to it."""
    from django.core.cache import cache

    cache.clear()
    with capture(execute=True):
        response = Client().post("/accounts/password/reset/", {"email": address})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/done/"
    return [link for text in mails_to(smtp_server, address)
            for link in re.findall(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", text)]


def test_an_address_a_staff_account_added_unconfirmed_gets_no_password_reset(smtp_server,
                                                                            django_capture_on_commit_callbacks):
    """A staff account adds an address to someone's account only unconfirmed, for its owner
    to confirm: it is no way into the account. A reset asked for it is answered as for an
    address with no account (the same page, the "no account" notice), not with a link for
    an organisation admin's account that the staff account could follow to set its password.
    A confirmed address of the account, or its own address unconfirmed since sign-up, is."""
    from allauth.account.models import EmailAddress

    from tests.factories import OrganisationFactory
    from tests.portal.role_helpers import make_admin

    capture = django_capture_on_commit_callbacks
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE")
    victim = make_admin(office, email="admin@pune.mahaagri.gov.in")
    staff, client = staff_with("view_emailaddress", "add_emailaddress")
    response = client.post("/admin/account/emailaddress/add/",
                           {"user": victim.pk, "email": "helpdesk.private@gmail.com", "verified": "", "primary": ""})
    assert response.status_code == 302
    assert not EmailAddress.objects.get(email="helpdesk.private@gmail.com").verified

    assert reset_links_to("helpdesk.private@gmail.com", smtp_server, capture) == []
    notice = mails_to(smtp_server, "helpdesk.private@gmail.com")[-1]
    assert reset_links_to("nobody.here@gmail.com", smtp_server, capture) == []
    assert notice == mails_to(smtp_server, "nobody.here@gmail.com")[-1].replace("nobody.here", "helpdesk.private")
    assert User.objects.get(pk=victim.pk).check_password(PASSWORD)

    # The account's confirmed addresses are: its own, and one confirmed later.
    EmailAddress.objects.create(user=victim, email="pune.office@mahaagri.gov.in", verified=True)
    assert len(reset_links_to("pune.office@mahaagri.gov.in", smtp_server, capture)) == 1
    assert len(reset_links_to(victim.email, smtp_server, capture)) == 1
    # Someone who signed up and never confirmed their address gets back in through it.
    newcomer = UserFactory(email="newcomer@mha.gov.in", verified=False)
    EmailAddress.objects.create(user=newcomer, email=newcomer.email, verified=False, primary=True)
    assert len(reset_links_to(newcomer.email, smtp_server, capture)) == 1


def mails_to(smtp_server, address):
    """The text of each message delivered to ``address`` alone, in order."""
    from tests.smtp import text_of

    return [text_of(message) for message, envelope in zip(smtp_server.messages, smtp_server.envelopes, strict=True)
            if envelope.rcpt_tos == [address]]


@pytest.mark.parametrize("holder", ["organisation_admin", "state_admin", "staff", "itself", "nodal_officer"])
def test_a_staff_account_does_not_make_a_role_holder_inactive_in_the_admin(holder, root, admin_client):
    """"Active" takes a role holder's roles with it: for such an account, as for its
    password, only a superuser decides; a staff account still makes an account without a
    role inactive (audited)."""
    from tests.factories import OrganisationFactory
    from tests.portal.role_helpers import make_admin

    staff, client = staff_with("view_user", "change_user")
    target = {
        "organisation_admin": lambda: make_admin(OrganisationFactory(), email="admin@pune.gov.in"),
        "state_admin": lambda: PlatformRoleFactory(role="state_admin", jurisdiction="MH",
                                                   user__email="state.admin@maharashtra.gov.in").user,
        "staff": lambda: UserFactory(email="helpdesk2@nic.in", is_staff=True),
        "itself": lambda: staff,
        "nodal_officer": nodal_officer,
    }[holder]()
    assert 'name="is_active"' not in client.get(f"/admin/accounts/user/{target.pk}/change/").content.decode()
    post_change(client, target, is_active=False, full_name="Renamed")
    target.refresh_from_db()
    assert (target.is_active, target.full_name) == (True, "Renamed")
    assert events(AuditAction.USER_ACCESS_CHANGED) == []

    plain = UserFactory(email="clerk@mha.gov.in")
    assert 'name="is_active"' in client.get(f"/admin/accounts/user/{plain.pk}/change/").content.decode()
    post_change(client, plain, is_active=False)
    plain.refresh_from_db()
    assert not plain.is_active
    [event] = events(AuditAction.USER_ACCESS_CHANGED)
    assert (event.actor_id, event.new_values) == (staff.pk, {"is_active": False})

    if holder in ("state_admin", "staff", "nodal_officer"):  # a superuser may (the last admin rule aside)
        post_change(admin_client, target, is_active=False)
        target.refresh_from_db()
        assert not target.is_active


@pytest.mark.parametrize("holder", ["superuser_superadmin", "organisation_admin", "state_admin", "staff"])
def test_a_staff_account_does_not_delete_a_role_holder_in_the_admin(holder):
    """Deleting an account ends its roles and this admin's access with it: for an account
    holding either (``holds_a_role``), as for its password and "Active", a superuser's
    decision. A staff account that is not superuser, with every delete permission, gets no
    delete button, its deletion page refused, a deletion of several refused on the
    confirmation page naming it; it still deletes an account without a role (audited)."""
    from tests.factories import OrganisationFactory
    from tests.portal.role_helpers import make_admin

    def superuser_superadmin():
        boss = make_superadmin(email="boss@nic.in")
        make_superadmin(email="other.root@nic.in")
        User.objects.filter(pk=boss.pk).update(is_superuser=True, is_staff=True)
        return boss

    target = {
        "superuser_superadmin": superuser_superadmin,
        "organisation_admin": lambda: make_admin(OrganisationFactory(), email="admin@pune.gov.in"),
        "state_admin": lambda: PlatformRoleFactory(role="state_admin", jurisdiction="MH",
                                                   user__email="state.admin@maharashtra.gov.in").user,
        "staff": lambda: UserFactory(email="helpdesk2@nic.in", is_staff=True),
    }[holder]()
    roles = set(PlatformRoleGrant.objects.filter(user=target, revoked_at__isnull=True).values_list("pk", flat=True))
    staff, client = staff_with("view_user", "change_user", "delete_user", "delete_emailaddress",
                               "delete_authenticator")
    assert f"/admin/accounts/user/{target.pk}/delete/" not in (
        client.get(f"/admin/accounts/user/{target.pk}/change/").content.decode())
    assert client.get(f"/admin/accounts/user/{target.pk}/delete/").status_code == 403
    assert client.post(f"/admin/accounts/user/{target.pk}/delete/", {"post": "yes"}).status_code == 403
    plain = UserFactory(email="clerk@mha.gov.in")
    asked = client.post("/admin/accounts/user/", {"action": "delete_selected", "_selected_action": [target.pk, plain.pk]})
    assert f"Only a superuser deletes an account that holds a role: {target.email}" in asked.content.decode()
    bulk = client.post("/admin/accounts/user/", {"action": "delete_selected",
                                                 "_selected_action": [target.pk, plain.pk], "post": "yes"})
    assert bulk.status_code == 403
    assert set(User.objects.filter(pk__in=[target.pk, plain.pk]).values_list("pk", flat=True)) == {
        target.pk, plain.pk}
    assert set(PlatformRoleGrant.objects.filter(user=target, revoked_at__isnull=True)
               .values_list("pk", flat=True)) == roles
    assert events(AuditAction.USER_ACCESS_CHANGED) == []

    response = client.post(f"/admin/accounts/user/{plain.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not User.objects.filter(pk=plain.pk).exists()
    [deleted] = events(AuditAction.USER_ACCESS_CHANGED)
    assert (deleted.actor_id, deleted.target_id, deleted.new_values) == (staff.pk, str(plain.pk), {"deleted": True})


def test_a_role_holder_selected_meanwhile_is_left_out_of_a_staff_accounts_deletion():
    """A deletion of several that reaches delete_queryset all the same (the account given a
    role between the confirmation and the deletion) leaves the role holder out, named."""
    from django.contrib import admin
    from django.contrib.messages import get_messages
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory

    staff, _client = staff_with("view_user", "delete_user")
    holder = PlatformRoleFactory(role="state_admin", jurisdiction="MH", user__email="state.admin@maharashtra.gov.in").user
    plain = UserFactory(email="clerk@mha.gov.in")
    request = RequestFactory().post("/admin/accounts/user/")
    request.user, request.session = staff, {}
    request._messages = FallbackStorage(request)
    admin.site.get_model_admin(User).delete_queryset(request, User.objects.filter(pk__in=[holder.pk, plain.pk]))
    assert set(User.objects.filter(pk__in=[holder.pk, plain.pk]).values_list("pk", flat=True)) == {holder.pk}
    assert [str(m) for m in get_messages(request)] == [
        "Only a superuser deletes an account that holds a role: state.admin@maharashtra.gov.in"]
    [deleted] = events(AuditAction.USER_ACCESS_CHANGED)
    assert deleted.target_id == str(plain.pk)


@pytest.mark.parametrize("url", [
    "/admin/verification/governmentprofile/?status__exact=%00",
    "/admin/accounts/user/?q=clerk%00",
    "/admin/autocomplete/?app_label=accounts&model_name=user&field_name=groups&term=%00",
])
def test_a_nul_character_in_an_admin_query_is_refused_not_a_server_error(url, admin_client):
    """PostgreSQL text cannot hold NUL: a list filter, search or autocomplete term holding
    one is refused (400) for every page of the admin at once, not left to fail in the database."""
    from tests.verification.helpers import GovernmentProfileFactory

    GovernmentProfileFactory()
    admin_client.raise_request_exception = False
    assert admin_client.get(url).status_code == 400
    assert admin_client.get(url.replace("%00", "")).status_code == 200


@pytest.mark.parametrize("url", [
    "/admin/accounts/user/?date_joined__year=99999",
    "/admin/accounts/user/?date_joined__year=0",
    "/admin/accounts/user/?date_joined__iso_year=99999",
    "/admin/accounts/user/?date_joined__year__gte=99999",
    "/admin/accounts/user/?date_joined__date__year=99999",
    "/admin/accounts/user/?email__regex=(",
    "/admin/account/emailaddress/?email__iregex=(",
    "/admin/verification/governmentprofile/?decided_at__year=99999",
])
def test_a_lookup_the_database_cannot_answer_in_an_admin_list_is_refused_not_a_server_error(url, admin_client):
    """A year no date can hold (the year lookups' bounds are dates), or a pattern the database
    cannot compile, in any admin list's query string: the admin's own answer to a lookup it
    cannot use (the list again, flagged), not a server error; the transaction stays usable."""
    from tests.verification.helpers import GovernmentProfileFactory

    GovernmentProfileFactory(status="verified")
    admin_client.raise_request_exception = False
    response = admin_client.get(url)
    assert response.status_code == 302 and response["Location"].endswith("?e=1"), response.status_code
    assert admin_client.get(url.split("?")[0]).status_code == 200
    assert User.objects.filter(email="root@nic.in").exists()


@pytest.mark.parametrize("url", [
    "/admin/verification/governmentprofile/?requested_at__year=9999",
    "/admin/verification/governmentprofile/?requested_at__year=9999&requested_at__month=12",
    "/admin/verification/governmentprofile/?requested_at__year=9999&requested_at__month=12&requested_at__day=31",
    "/admin/accounts/user/?id__range=1",
    "/admin/account/emailaddress/?email__range=a",
])
def test_a_period_past_the_last_date_or_a_range_of_one_value_in_an_admin_list_is_refused(url, admin_client):
    """The date hierarchy works out the end of the period asked while the list is built (the
    year 9999's ends past the last date), a range given one value fails as the list is
    counted: the admin's own answer to a lookup it cannot use, not a server error."""
    from tests.verification.helpers import GovernmentProfileFactory

    GovernmentProfileFactory(status="verified")
    admin_client.raise_request_exception = False
    response = admin_client.get(url)
    assert response.status_code == 302 and response["Location"].endswith("?e=1"), response.status_code


@pytest.mark.parametrize(("url", "action"), [
    ("/admin/accounts/user/", "delete_selected"),
    ("/admin/accounts/user/", "address_release"),
    ("/admin/auth/group/", "delete_selected"),
    ("/admin/account/emailaddress/", "make_verified"),
])
@pytest.mark.parametrize("selected", ["abc", "1\x00"])
def test_an_admin_action_on_a_row_whose_id_is_no_id_is_refused_not_a_server_error(url, action, selected, admin_client):
    admin_client.raise_request_exception = False
    assert admin_client.post(url, {"action": action, "_selected_action": [selected]}).status_code == 400


def test_a_second_factors_secret_is_not_looked_up_in_the_admins_list(root):
    """The admin lets a list's query string look up any field of its model: a pattern matched
    against an authenticator's ``data`` answered, one row or none, whether another person's
    secret began so; a staff account allowed to view authenticators read it a letter at a
    time. Only what the page shows filters its list."""
    from allauth.mfa.models import Authenticator

    target = UserFactory(email="state.admin@maharashtra.gov.in", is_staff=True)
    secret = with_totp(target)
    authenticator = Authenticator.objects.get(user=target, type=Authenticator.Type.TOTP)
    clerk, client = staff_with("view_authenticator")
    client.raise_request_exception = False
    for lookup in ("data__secret__regex", "data__secret__startswith", "data__contains", "data__seed__regex"):
        response = client.get("/admin/mfa/authenticator/", {"id": authenticator.pk, lookup: secret[0]})
        assert response.status_code == 400, (lookup, response.status_code)
    response = client.get("/admin/mfa/authenticator/", {"id": authenticator.pk, "type__exact": "totp"})
    assert response.status_code == 200 and response.context["cl"].result_count == 1


def test_the_admins_own_password_change_is_allauths_audited_and_limited_page(root, admin_client):
    """The admin's "Change password" led to Django's page, which changed the password without
    an audit row and took any number of guesses of the current one: it leads to allauth's."""
    for url in ("/admin/password_change/", "/admin/password_change/done/"):
        response = admin_client.get(url)
        assert (response.status_code, response["Location"]) == (302, "/accounts/password/change/")
    response = admin_client.post("/admin/password_change/", {
        "old_password": PASSWORD, "new_password1": "another-horse-battery-9", "new_password2": "another-horse-battery-9"})
    assert response.status_code == 302
    root.refresh_from_db()
    assert root.check_password(PASSWORD)


@pytest.mark.parametrize("change", ["confirmed on another account", "the account's own already"])
def test_an_address_changed_in_the_admin_to_one_taken_is_refused_at_its_field(root, admin_client, change):
    """The change was tried in a savepoint before the form's own uniqueness checks ran: the
    database refused it, a server error; now the field says why, what was typed kept."""
    from allauth.account.models import EmailAddress

    UserFactory(email="taken@mha.gov.in")
    person = UserFactory(email="person@mha.gov.in")
    extra = EmailAddress.objects.create(user=person, email="extra@mha.gov.in", verified=True, primary=False)
    email = "Taken@mha.gov.in" if change == "confirmed on another account" else "PERSON@mha.gov.in"
    response = admin_client.post(f"/admin/account/emailaddress/{extra.pk}/change/",
                                 {"user": person.pk, "email": email, "verified": "on", "_save": "Save"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == [{
        "confirmed on another account": "Another account has this address confirmed: an address is confirmed on one "
                                        "account at most.",
        "the account's own already": "This account has this address already."}[change]]
    assert f'value="{email}"' in response.content.decode()
    extra.refresh_from_db()
    assert extra.email == "extra@mha.gov.in"


@pytest.mark.parametrize("typed", ["ROOT@nic.in", "Root@NIC.in", " root@nic.in"])
def test_the_admin_adds_no_second_account_for_a_mailbox_that_has_one(root, admin_client, typed):
    """The add form saved the address as typed: "ROOT@nic.in" became a second account of
    root@nic.in's mailbox, which sign-up refuses. It takes the address as sign-up does."""
    response = admin_client.post("/admin/accounts/user/add/", {
        "email": typed, "password1": "another-horse-battery-9", "password2": "another-horse-battery-9", "_save": "Save"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == ["An account with this address exists already."]
    assert list(User.objects.values_list("email", flat=True)) == ["root@nic.in"]
    response = admin_client.post("/admin/accounts/user/add/", {
        "email": " New.Person@NIC.in", "password1": "another-horse-battery-9",
        "password2": "another-horse-battery-9", "_save": "Save"})
    assert response.status_code == 302
    assert User.objects.filter(email="new.person@nic.in").exists()


def test_the_admins_address_search_drops_the_invisible_characters_pasted_with_an_address(admin_client):
    from allauth.account.models import EmailAddress

    person = UserFactory(email="shown@mahaagri.gov.in")
    assert EmailAddress.objects.filter(user=person).exists()
    listing = admin_client.get("/admin/account/emailaddress/", {"q": "shown\u200b@mahaagri.gov.in"})
    assert [address.user for address in listing.context["cl"].result_list] == [person]


@pytest.mark.parametrize("language", ["hi", "mr"])
def test_the_admins_verification_pages_are_in_hindi_and_marathi(admin_client, language):
    """The verification models and their fields, and the portal's accounts app, had no
    translated names: the admin's index, list and record were in English under hi and mr."""
    from tests.verification.helpers import GovernmentProfileFactory

    profile = GovernmentProfileFactory(status="verified")
    english = []
    for url in ["/admin/", "/admin/verification/governmentprofile/",
                f"/admin/verification/governmentprofile/{profile.pk}/change/",
                "/admin/verification/addressconfirmation/", "/admin/verification/verificationsettings/"]:
        html = admin_client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
        english += [(url, words) for words in ["Government profiles", "Address confirmations", "government profile",
                                               "Requested at", "Verified at", "Decided by", "Reason code",
                                               "Language of the request", "Accounts", "Verification settings"]
                    if words in text]
    assert english == []


def test_which_address_is_primary_is_not_changed_in_the_admin(root, admin_client):
    """The primary address is the account's address, changed on the account's email page
    (which ends what an official one gave): in the admin it is shown, not edited; ticked
    there for a second address it met the one primary address an account may have, a
    server error."""
    from allauth.account.models import EmailAddress

    person = UserFactory(email="citizen@gmail.com")
    second = EmailAddress.objects.create(user=person, email="citizen@mha.gov.in", verified=True, primary=False)
    page = admin_client.get(f"/admin/account/emailaddress/{second.pk}/change/").content.decode()
    assert 'name="primary"' not in page
    response = admin_client.post(f"/admin/account/emailaddress/{second.pk}/change/",
                                 {"user": person.pk, "email": second.email, "verified": "on", "primary": "on"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert not second.primary
    assert EmailAddress.objects.get(user=person, primary=True).email == "citizen@gmail.com"


# A closed account's address, released for the successor in the post -------------------------------

POST = "collector.pune@maharashtra.gov.in"


def closed_account_at_the_post():
    """The collector who held the post filed the collectorate's application from the post's
    mailbox, then left service: their account made inactive. Its application protects it
    from deletion, and its address is read-only here."""
    from tests.factories import ApplicationFactory

    predecessor = UserFactory(email=POST, full_name="Former Collector")
    ApplicationFactory(nodal_officer=predecessor)
    User.objects.filter(pk=predecessor.pk).update(is_active=False)
    return predecessor


def release(client, user, **confirm):
    return client.post("/admin/accounts/user/", {"action": "address_release", "_selected_action": [user.pk],
                                                 "index": 0, **confirm})


def test_a_superuser_releases_the_address_of_a_closed_account_so_that_the_successor_can_sign_up(
        root, admin_client, django_capture_on_commit_callbacks):
    """The new collector reads the post's mailbox but could get no account at it: the
    inactive account kept the address (unique), a sign-up with it made none, and a password
    reset sends nothing to an inactive account. A superuser releases the address from the
    closed account (asked to confirm first): the account keeps its records under an address
    that names nobody and receives no mail, as an erased one does; audited; the successor
    signs up."""
    from allauth.account.models import EmailAddress

    from portal.accounts.models import released_email

    predecessor = closed_account_at_the_post()
    # Offered on the account's page too.
    assert 'value="address_release"' in admin_client.get(f"/admin/accounts/user/{predecessor.pk}/change/").content.decode()
    asking = release(admin_client, predecessor)
    assert asking.status_code == 200
    page = asking.content.decode()
    assert "Release the address of a closed account" in page and POST in page and "cannot be undone" in page
    assert User.objects.get(pk=predecessor.pk).email == POST  # nothing yet
    response = release(admin_client, predecessor, confirm="yes")
    assert response.status_code == 302
    closed = User.objects.get(pk=predecessor.pk)
    assert (closed.email, closed.is_active, closed.full_name) == (released_email(closed.pk), False, "Former Collector")
    assert not EmailAddress.objects.filter(user=closed).exists()
    [event] = events(AuditAction.USER_EMAIL_CHANGED)
    assert (event.actor_id, event.target_id) == (root.pk, str(closed.pk))
    assert (event.old_values, event.new_values) == ({"email": POST, "addresses": [POST]},
                                                    {"email": released_email(closed.pk), "released": True})
    with django_capture_on_commit_callbacks(execute=True):
        signed_up = Client().post("/accounts/signup/", {"email": POST, "password1": "a-long-enough-passphrase",
                                                        "password2": "a-long-enough-passphrase"})
    assert signed_up.status_code == 302
    assert User.objects.filter(email=POST, is_active=True).exclude(pk=closed.pk).exists()
    assert audit_verify() == []


def test_only_a_closed_accounts_address_is_released_and_only_by_a_superuser(root, admin_client):
    active = UserFactory(email="serving.collector@maharashtra.gov.in")
    response = release(admin_client, active, confirm="yes")
    assert response.status_code == 302
    assert User.objects.get(pk=active.pk).email == "serving.collector@maharashtra.gov.in"
    assert not events(AuditAction.USER_EMAIL_CHANGED)
    staff = UserFactory(email="helpdesk@nic.in", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=["view_user", "change_user"]))
    with_totp(staff)
    client = Client()
    client.force_login(staff)
    second_factor_given(client, staff)
    predecessor = closed_account_at_the_post()
    assert "address_release" not in client.get("/admin/accounts/user/").content.decode()
    release(client, predecessor, confirm="yes")
    assert User.objects.get(pk=predecessor.pk).email == POST
    assert not events(AuditAction.USER_EMAIL_CHANGED)


def test_releasing_a_closed_accounts_address_waits_for_its_roles_and_suspends_what_rests_on_it(root, admin_client):
    """A closed account's roles come back with its "Active" tick and rest on its address:
    releasing it is refused, naming them, until they are revoked. Its verification at the
    address is suspended as the address leaves it, and nothing about it is mailed to the
    mailbox, whose reader is someone else now."""
    from portal.accounts.services import account_address_release
    from portal.organisations.services import organisation_admin_revoke
    from tests.verification.helpers import GovernmentProfileFactory
    from verification.models import EndReason, GovernmentProfile, VerificationStatus

    office = OrganisationFactory(name="Collectorate Pune", state="MH")
    predecessor = closed_account_at_the_post()
    User.objects.filter(pk=predecessor.pk).update(is_active=True)
    Membership.objects.create(organisation=office, user=predecessor, role=MembershipRole.ADMIN)
    make_admin(office, email="rdc@maharashtra.gov.in")
    profile = GovernmentProfileFactory(user=predecessor, organisation=office, status=VerificationStatus.VERIFIED,
                                       official_email=POST)
    User.objects.filter(pk=predecessor.pk).update(is_active=False)
    with pytest.raises(ValidationError) as refused:
        account_address_release(user_id=predecessor.pk, actor=root)
    assert refused.value.messages == [
        f"{POST} still holds these roles: Organisation admin (Collectorate Pune). Revoke them first (granting them to "
        "someone else where nobody else holds them), then release the address."]
    organisation_admin_revoke(organisation_id=office.pk, user_id=predecessor.pk, actor=root)
    mailed = OutboxMessage.objects.filter(to=[POST]).count()
    account_address_release(user_id=predecessor.pk, actor=root)
    profile = GovernmentProfile.objects.get(pk=profile.pk)
    assert (profile.status, profile.reason_code) == (VerificationStatus.SUSPENDED, EndReason.ADDRESS_REMOVED)
    assert OutboxMessage.objects.filter(to=[POST]).count() == mailed
