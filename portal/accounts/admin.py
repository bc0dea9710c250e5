from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.admin import EmailAddressAdmin as BaseEmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.admin import AuthenticatorAdmin as BaseAuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.accounts.mail_limits import own_account
from portal.accounts.middleware import code_asked_again
from portal.accounts.models import User
from portal.accounts.official_email import normalise_mailbox
from portal.accounts.services import account_address_release
from portal.accounts.signals import authenticator_values
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.organisations.models import Membership, MembershipRole, PlatformRoleGrant, in_force_q, not_ended_q
from portal.organisations.notifications import send_role_mail
from portal.organisations.services import (
    OfficialPowersHeld,
    RolesHeldAlone,
    account_deactivation_check,
    account_roles_end,
    holder_ends_own_grounds,
    platform_role_holder_check,
    staff_access_holder_check,
    superuser_flag_end_check,
)
from portal.permissions import gave_code_lately, holds_object_role, is_superadmin
from portal.privacy.requests import person_held

ACCESS_FLAGS = ("is_active", "is_staff", "is_superuser")
# What makes an account staff or superuser, or gives it permissions: changed in the admin only
# by a superuser, and never on their own account (DESIGN §2: nobody grants a role above their
# own or edits their own).
GRANTING_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


def permission_names(permissions):
    return sorted(f"{app_label}.{codename}" for app_label, codename in
                  permissions.values_list("content_type__app_label", "codename"))


def access_of(user):
    """What an account may do, as stored: its flags, groups and direct permissions."""
    return {
        **{flag: getattr(user, flag) for flag in ACCESS_FLAGS},
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "user_permissions": permission_names(user.user_permissions),
    }


def changes(old, new):
    """(old, new) restricted to the keys whose values differ (every key of ``new`` when ``old`` is empty)."""
    keys = [key for key in new if key not in old or old[key] != new[key]]
    return {key: old[key] for key in keys if key in old}, {key: new[key] for key in keys}


def holds_a_role(user) -> bool:
    """Whether an account holds a platform role or an organisation admin role in force, an
    object role (the nodal officer of an application: ``holds_object_role``), or this
    admin's access (staff, superuser): read from its grants, whether the account is active
    or not (its roles come back with its "Active" tick)."""
    now = timezone.now()
    return (
        user.is_staff or user.is_superuser
        or PlatformRoleGrant.objects.filter(in_force_q(now=now), user_id=user.pk).exists()
        or Membership.objects.filter(not_ended_q(now=now), user_id=user.pk,
                                     role=MembershipRole.ADMIN).exists()
        or holds_object_role(user)
    )


class AuditedDeletionMixin:
    """Deleting one object or many in the admin records each deletion (record_deleted)
    in the same transaction."""

    def delete_model(self, request, obj):
        with transaction.atomic():
            self.record_deleted(request, obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                self.record_deleted(request, obj)
            super().delete_queryset(request, queryset)


class LegalHoldMixin:
    """A row of a person under a legal hold (``person_held`` of the person its
    ``person_field`` names) is not deleted here: its page has no delete button, its
    deletion page is refused, a deletion of several that includes it is refused on the
    confirmation page naming it, and one that reaches delete_queryset all the same (a hold
    set meanwhile) leaves it out and says so."""

    person_field = "pk"

    def held(self, obj) -> bool:
        return person_held(getattr(obj, self.person_field))

    def held_message(self, objs) -> str:
        return gettext("Under a legal hold (release the hold first): %(names)s") % {
            "names": ", ".join(str(obj) for obj in objs)}

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or not self.held(obj))

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        held = [obj for obj in objs if self.held(obj)]
        if held:
            perms_needed.add(self.held_message(held))
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        with transaction.atomic():
            if self.held(obj):
                raise PermissionDenied(self.held_message([obj]))
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            held = [obj for obj in queryset if self.held(obj)]
            if held:
                self.message_user(request, self.held_message(held), messages.ERROR)
                queryset = queryset.exclude(pk__in=[obj.pk for obj in held])
            super().delete_queryset(request, queryset)


# Why the roles of an account deleted in the admin ended (their audit rows say it).
ACCOUNT_DELETED = "account_deleted"


class RoleHolderDeletionMixin:
    """An account that holds a role or this admin's access (``holds_a_role``) is deleted
    only by a superuser: its roles and access go with it, which, as for its password and
    "Active", is a superuser's decision. For anyone else its page has no delete button, its
    deletion page is refused, a deletion of several that includes it is refused on the
    confirmation page naming it, and one that reaches delete_queryset all the same (a role
    given meanwhile) leaves it out and says so (LegalHoldMixin's shape).
    Its roles end through their services, on record, in the deletion's transaction
    (account_roles_end), and not at all, nor the account deleted, while that would leave
    the platform without a superadmin, or an organisation without an admin, whose role
    does not end: refused as unticking "Active" is (the deletion page sends back to the
    account's page with the reason, a deletion of several is refused on its confirmation
    page, and one that reaches delete_queryset all the same leaves it out and says why)."""

    @staticmethod
    def deletion_reserved(request, user) -> bool:
        return not request.user.is_superuser and holds_a_role(user)

    @staticmethod
    def reserved_message(users) -> str:
        return gettext("Only a superuser deletes an account that holds a role: %(names)s") % {
            "names": ", ".join(str(user) for user in users)}

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or not self.deletion_reserved(request, obj))

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        reserved = [user for user in objs if self.deletion_reserved(request, user)]
        if reserved:
            perms_needed.add(self.reserved_message(reserved))
        for user in objs:
            if user not in reserved:
                perms_needed.update(self.roles_held_alone(user))
        return deleted, counts, perms_needed, protected

    @staticmethod
    def roles_held_alone(user) -> list[str]:
        """Why deleting ``user`` is refused, even to a superuser: the roles it holds that
        nobody else would (account_deactivation_check); none, nothing said."""
        try:
            account_deactivation_check(user_id=user.pk)
        except RolesHeldAlone as refusal:
            return refusal.messages
        return []

    def delete_view(self, request, object_id, extra_context=None):
        """Django's, but an account whose deletion would end a role nobody else holds is
        sent back to its page with the reason, as unticking its "Active" is refused: asked
        first, and again under the deletion's locks (account_roles_end)."""
        user = self.get_object(request, unquote(object_id))
        try:
            if user is not None and self.has_delete_permission(request, user) and (
                    refusals := self.roles_held_alone(user)):
                raise RolesHeldAlone(refusals)
            return super().delete_view(request, object_id, extra_context)
        except RolesHeldAlone as refusal:
            for message in refusal.messages:
                self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))

    def delete_model(self, request, obj):
        with transaction.atomic():
            if self.deletion_reserved(request, User.objects.select_for_update().get(pk=obj.pk)):
                raise PermissionDenied(self.reserved_message([obj]))
            account_roles_end(user_id=obj.pk, reason=ACCOUNT_DELETED)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            # Locked (a role given meanwhile waits, or is seen); by id, as a changelist's
            # queryset may be DISTINCT (a filter on groups), which FOR UPDATE refuses.
            locked = list(User.objects.select_for_update().filter(pk__in=queryset.values("pk")).order_by("pk"))
            reserved = [user for user in locked if self.deletion_reserved(request, user)]
            if reserved:
                self.message_user(request, self.reserved_message(reserved), messages.ERROR)
            kept = [user.pk for user in reserved]
            for user in locked:
                if user in reserved:
                    continue
                try:
                    with transaction.atomic():
                        account_roles_end(user_id=user.pk, reason=ACCOUNT_DELETED)
                except RolesHeldAlone as refusal:
                    kept.append(user.pk)
                    for message in refusal.messages:
                        self.message_user(request, message, messages.ERROR)
            super().delete_queryset(request, queryset.exclude(pk__in=kept))


class UserCreationForm(AdminUserCreationForm):
    """Django's, but the address is taken as sign-up takes it (the account adapter's
    clean_email: one form per mailbox, "ROOT@nic.in" is root@nic.in's), and refused when
    an account has it, or another account has it confirmed: one account a mailbox."""

    def clean_email(self):
        email = get_account_adapter().clean_email(self.cleaned_data["email"])
        if (User.objects.filter(email__iexact=email).exists()
                or EmailAddress.objects.filter(email__iexact=email, verified=True).exists()):
            raise ValidationError(gettext("An account with this address exists already."), code="taken")
        return email


class UserChangeForm(BaseUserChangeForm):
    """Django's, but "Active" is not unticked for the last holder of a role whose role does
    not end (an organisation's last admin, the platform's last superadmin): an inactive
    account holds none, and revoking the role is refused. The admin saves in the transaction
    that asked (account_deactivation_check's locks last until it commits). "Superuser
    status" makes a superadmin (portal.permissions.is_superadmin), a platform role: it is
    ticked only for an account that may hold one (platform_role_holder_check: active, its
    primary address an official one it confirmed), refused at the field otherwise, and so is
    "Staff status", access to this site, which ends with the official address as the roles
    do (staff_access_holder_check). "Superuser status" is unticked only when that leaves no
    organisation without an admin who may act (superuser_flag_end_check: an auditor who is
    no superadmin does not)."""

    def clean_is_active(self):
        active = self.cleaned_data.get("is_active")
        if self.instance.pk and not active and User.objects.filter(pk=self.instance.pk, is_active=True).exists():
            account_deactivation_check(user_id=self.instance.pk)
        return active

    def clean_is_staff(self):
        staff = self.cleaned_data.get("is_staff")
        was_staff = bool(self.instance.pk) and User.objects.filter(pk=self.instance.pk, is_staff=True).exists()
        if staff and not was_staff:
            # "Active" comes before it in the form: as it will be saved.
            staff_access_holder_check(self.instance, active=self.cleaned_data.get("is_active", self.instance.is_active))
        return staff

    def clean_is_superuser(self):
        superuser = self.cleaned_data.get("is_superuser")
        was_superuser = bool(self.instance.pk) and User.objects.filter(pk=self.instance.pk, is_superuser=True).exists()
        if superuser and not was_superuser:
            # "Active" comes before it in the form: as it will be saved.
            platform_role_holder_check(self.instance, active=self.cleaned_data.get("is_active", self.instance.is_active))
        elif was_superuser and not superuser:
            superuser_flag_end_check(user_id=self.instance.pk)
        return superuser


@admin.register(User)
class UserAdmin(LegalHoldMixin, RoleHolderDeletionMixin, AuditedDeletionMixin, BaseUserAdmin):
    """Every change of an account's access made here (active, staff, superuser, groups,
    permissions; an account added or deleted) is audited, old and new values, with the
    signed-in administrator as actor, in the admin's own transaction; so is a change of its
    name. An account's address, last sign-in and date joined are read-only here. An account
    under a legal hold, or one of whose records is, is not deleted (LegalHoldMixin); one that
    holds a role is deleted by a superuser only (RoleHolderDeletionMixin). The last holder of
    a role is not made inactive (UserChangeForm). Only a superuser changes an account's staff
    and superuser flags, groups and permissions, and not on their own account (GRANTING_FIELDS)."""

    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password", "full_name", "language"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    # Shown, not edited: the retention run erases an account never verified and unused for a
    # year by these dates, so one backdated here was erased with nothing naming who did it.
    # The language is the person's own choice, made on the portal's pages.
    readonly_fields = ["last_login", "date_joined", "language"]

    def get_readonly_fields(self, request, obj=None):
        # An account's address is shown, not edited: it changes only through the account's
        # email page (allauth's flow), which confirms the new address, ends the powers an
        # official one gave (accounts.signals.on_email_changed) and audits the change.
        # Typed here it kept a role holder's role under any address, unaudited. An account
        # being added is given its first one.
        fields = super().get_readonly_fields(request, obj)
        if obj is None:
            return fields
        fields = [*fields, "email"]
        if not request.user.is_superuser or own_account(obj, request.user):  # "+tag" accounts included
            fields += GRANTING_FIELDS
        # "Active" takes a role holder's roles away with it (and gives them back): for such
        # an account (``holds_a_role``), as for its password, a superuser's decision.
        if not request.user.is_superuser and holds_a_role(obj):
            fields.append("is_active")
        return fields

    def user_change_password(self, request, id, form_url=""):
        """Django's page to set another account's password, audited (the administrator, the
        account; never the password) in its transaction. A non-superuser is refused it for an
        account that holds a role or this admin's access (``holds_a_role``): whoever set that
        password would sign in as them, an organisation admin without a second factor."""
        target = self.get_object(request, unquote(id))
        if (target is not None and self.has_change_permission(request, target) and not request.user.is_superuser
                and holds_a_role(target)):
            self.message_user(request, gettext("Only a superuser sets the password of an account that holds a role."),
                              messages.ERROR)
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[target.pk]))
        with transaction.atomic():
            before = User.objects.select_for_update().filter(pk=getattr(target, "pk", None)).first()
            response = super().user_change_password(request, id, form_url)
            after = User.objects.filter(pk=getattr(target, "pk", None)).first()
            if before is not None and after is not None and after.password != before.password:
                audit_record(actor=request.user, action=AuditAction.USER_PASSWORD_CHANGED, target=after,
                             new={"in_admin": True, "usable_password": after.has_usable_password()}, request=request)
        return response

    def save_model(self, request, obj, form, change):
        # Read before the save: the form has already set the new flags on ``obj``, and
        # groups and permissions are saved later, in save_related.
        before = User.objects.get(pk=obj.pk) if change else None
        form.access_before = access_of(before) if before is not None else {}
        super().save_model(request, obj, form, change)
        if before is not None and before.full_name != obj.full_name:
            # Under the personal key "name", as the person's own correction is: erased with them.
            audit_record(actor=request.user, action=AuditAction.USER_NAME_CHANGED_IN_ADMIN, target=obj,
                         old={"name": before.full_name}, new={"name": obj.full_name}, request=request)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        old, new = changes(form.access_before, access_of(form.instance))
        if new:
            audit_record(actor=request.user, action=AuditAction.USER_ACCESS_CHANGED, target=form.instance,
                         old=old, new={**new, "added": True} if not change else new, request=request)
        if new.get("is_superuser") or old.get("is_superuser"):
            # The superadmin's powers, given or taken away: the person is told, as of a role.
            send_role_mail(user=form.instance, context={},
                           template="superuser_granted" if new["is_superuser"] else "superuser_ended")

    def record_deleted(self, request, user):
        audit_record(actor=request.user, action=AuditAction.USER_ACCESS_CHANGED, target=user,
                     old=access_of(user), new={"deleted": True}, request=request)

    # A closed account's address, released for the next holder of its mailbox: a superadmin's
    # action (account_address_release), from the list or the account's page, asked to
    # confirm first.
    actions = ["address_release"]

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        if not is_superadmin(request.user):
            actions.pop("address_release", None)
        return actions

    @admin.action(description=_("Release the address of a closed account"),
                  location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM])
    def address_release(self, request, queryset):
        if not is_superadmin(request.user):
            raise PermissionDenied
        accounts = list(queryset.order_by("email"))
        if request.POST.get("confirm") != "yes":
            # What was posted (the action, the accounts) is posted again with the confirmation.
            hidden = [(name, value) for name in request.POST if name != "csrfmiddlewaretoken"
                      for value in request.POST.getlist(name)]
            return TemplateResponse(request, "admin/accounts/user/address_release_confirmation.html", {
                **self.admin_site.each_context(request), "opts": self.model._meta, "accounts": accounts,
                "hidden": hidden, "title": gettext("Release the address of a closed account"),
                "back": request.get_full_path()})
        for user in accounts:
            try:
                released = account_address_release(user_id=user.pk, actor=request.user, request=request)
            except ValidationError as refusal:
                for message in refusal.messages:
                    self.message_user(request, message, messages.ERROR)
            else:
                self.message_user(request, gettext("The address %(email)s was released: it may be signed up with "
                                                   "again. The closed account is now %(released)s.")
                                  % {"email": user.email, "released": released.email}, messages.SUCCESS)


admin.site.unregister(EmailAddress)


class AdminRoleGroundsMixin:
    """Deleting an address holds its account to the last-admin rule, as its holder removing
    it on their own email page is (holder_ends_own_grounds): an official address leaving an
    account ends the verification resting on it, and with it an admin role; when that role
    is one nobody else holds without an end date, the deletion is refused (OfficialPowersHeld,
    the transaction undone). One address deleted: refused whole (the deletion page says
    why); several: each in its own savepoint, those refused left out and named."""

    @staticmethod
    def last_admin_message(addresses) -> str:
        return gettext("The admin role of an organisation's last admin whose role does not end rests on it (grant the "
                       "role there to someone else first): %(names)s") % {
            "names": ", ".join(address.email for address in addresses)}

    def delete_model(self, request, obj):
        with transaction.atomic(), holder_ends_own_grounds(user=obj.user):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        kept = []
        with transaction.atomic():
            for address in queryset.select_related("user").order_by("pk"):
                try:
                    with transaction.atomic(), holder_ends_own_grounds(user=address.user):
                        super().delete_queryset(request, queryset.filter(pk=address.pk))
                except OfficialPowersHeld:
                    kept.append(address)
        if kept:
            self.message_user(request, self.last_admin_message(kept), messages.ERROR)


class _TrialUndone(Exception):
    """Raised inside a savepoint to undo a trial save."""


class AddressGroundsForm(forms.ModelForm):
    """The change form of an address: a superuser unticking "verified", changing the address
    or moving it to another account ends the verification resting on it as a deletion does
    (verification.receivers), so the change is tried first in a savepoint, held to the
    last-admin rule as its holder is (holder_ends_own_grounds), and undone: when it would end
    an admin role nobody else holds without an end date, it is refused at the form, what was
    typed kept. So is any such change of the confirmed primary address a platform role rests
    on, as its deletion is (EmailAddressAdmin.platform_role_rests_on): the role is revoked first.
    An account's own (primary) address does not move to another account here
    (each account has one; the account's address changes on its email page)."""

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None or self.errors:
            return cleaned
        trial = EmailAddress.objects.select_related("user").get(pk=self.instance.pk)
        holder = trial.user
        if trial.primary and cleaned.get("user", holder) != holder:
            self.add_error("user", gettext("This is its account's own address: it does not move to another account here "
                                           "(the account's address is changed on its email page first)."))
            return cleaned
        if any(name in cleaned and cleaned[name] != getattr(trial, name) for name in AddressGroundsForm.TRIED):
            # The address a platform role rests on is not changed away here, as it is not
            # deleted (EmailAddressAdmin.platform_role_rests_on): the role is revoked first.
            EmailAddressAdmin.lock_accounts([holder.pk])
            if EmailAddressAdmin.platform_role_rests_on(trial):
                raise ValidationError(EmailAddressAdmin.role_rests_message([trial]), code="platform_role")
        for name in AddressGroundsForm.TRIED:
            if name in cleaned:
                setattr(trial, name, cleaned[name])
        others = EmailAddress.objects.filter(email__iexact=trial.email).exclude(pk=trial.pk)
        if others.filter(user=trial.user).exists():
            self.add_error("email", gettext("This account has this address already."))
            return cleaned
        if trial.verified and others.filter(verified=True).exists():
            self.add_error("email", gettext("Another account has this address confirmed: an address is confirmed on "
                                            "one account at most."))
            return cleaned
        try:
            with transaction.atomic(), holder_ends_own_grounds(user=holder):
                trial.save()
                raise _TrialUndone
        except _TrialUndone:
            pass
        except OfficialPowersHeld:
            raise ValidationError(AdminRoleGroundsMixin.last_admin_message([self.instance]),
                                  code="last_admin") from None
        return cleaned

    TRIED = ("user", "email", "verified")


@admin.register(EmailAddress)
class EmailAddressAdmin(LegalHoldMixin, AdminRoleGroundsMixin, AuditedDeletionMixin, BaseEmailAddressAdmin):
    """allauth's, but the addresses of a person under a legal hold are not deleted, and each
    address added or changed here, marked verified or deleted, is audited (its account,
    address, verified, primary: old and new), with the administrator as actor, in the
    admin's own transaction (a deletion, before what it sets off: a verification resting
    on a confirmed address suspended, verification.receivers). An address counts as
    confirmed (an official one gives powers) by its owner's confirmation or a superuser's
    decision: another staff account adds an address unconfirmed (its owner confirms it),
    not whose an address is, what it is or whether it is verified (CONFIRMING_FIELDS).
    Which address is primary is the account's address (``User.email``): shown here, changed
    only on the account's email page (as UserAdmin's address), which ends what an official
    one gave; ticked here it also met the one primary address an account has, a server error.
    An address that an organisation's last admin's role rests on is not deleted here, even by
    a superuser (AdminRoleGroundsMixin), nor one a platform role rests on."""

    person_field = "user_id"
    CONFIRMING_FIELDS = ("user", "email", "verified")
    form = AddressGroundsForm

    def get_readonly_fields(self, request, obj=None):
        fields = [*super().get_readonly_fields(request, obj), "primary"]
        if request.user.is_superuser:
            return fields
        return [*fields, "verified"] if obj is None else [*fields, *self.CONFIRMING_FIELDS]

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        if not request.user.is_superuser:
            actions.pop("make_verified", None)
        return actions

    def make_verified(self, request, queryset):
        """allauth's action, as the superuser's decision: each address marked verified is
        audited with the superuser as actor, and nothing else follows. allauth's own action
        sends email_confirmed, the owner's confirmation of their address: it was audited as
        the owner's act (from the superuser's address and browser), and an invitation to the
        address was accepted in the owner's name (verification.rosters.receivers). The owner
        accepts one themselves, on its page, with the address confirmed."""
        if not request.user.is_superuser:
            raise PermissionDenied
        with transaction.atomic():
            for address in queryset.filter(verified=False).select_related("user").order_by("pk"):
                if address.set_verified():
                    audit_record(actor=request.user, action=AuditAction.USER_EMAIL_ADDRESS_SAVED_IN_ADMIN,
                                 target=address.user, old={"verified": False}, new={"verified": True}, request=request)
                    self.message_user(request, gettext("Marked %(email)s as verified.") % {"email": address.email},
                                      messages.SUCCESS)
                else:  # another account has it confirmed (an address is confirmed on one account at most)
                    self.message_user(request, gettext(
                        "%(email)s was not marked as verified: another account has it confirmed already.") % {
                        "email": address.email}, messages.ERROR)

    make_verified.short_description = BaseEmailAddressAdmin.make_verified.short_description

    @staticmethod
    def address_values(address):
        return {"user": address.user_id, "email": address.email, "verified": address.verified,
                "primary": address.primary}

    def save_model(self, request, obj, form, change):
        before = self.address_values(EmailAddress.objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)
        old, new = changes(before, self.address_values(obj))
        if before and before["user"] != obj.user_id:
            # Moved to another account: it left this one, as a removal leaves it (the account's
            # past addresses, and whom a competent authority's link mailed there may have reached).
            audit_record(actor=request.user, action=AuditAction.USER_EMAIL_REMOVED,
                         target=User.objects.get(pk=before["user"]),
                         old={"email": before["email"], "verified": before["verified"]},
                         new={"moved_to": obj.user_id}, request=request)
        if new:
            audit_record(actor=request.user, action=AuditAction.USER_EMAIL_ADDRESS_SAVED_IN_ADMIN, target=obj.user,
                         old=old, new={**new, "added": True} if not change else new, request=request)

    def record_deleted(self, request, address):
        audit_record(actor=request.user, action=AuditAction.USER_EMAIL_REMOVED, target=address.user,
                     old=self.address_values(address), new={"deleted": True}, request=request)

    # The address a platform role rests on: not deleted while the role is in force. Deleting it
    # is refused rather than ending the role with it: ending a state administrator's or a
    # superadmin's role is a superadmin's decision, made through platform_role_revoke (audited,
    # the last superadmin kept), which a staff account that may delete addresses does not hold;
    # and a role ended by the system here could be the platform's last superadmin's.

    @staticmethod
    def platform_role_rests_on(address) -> bool:
        """Whether ``address`` is what a platform role of its account rests on: the account's
        own address (``User.email``), confirmed, of an account holding a platform role in
        force, active or not (the rule platform_role_grant keeps: a role rests on an active
        account whose confirmed primary address is official; an inactive one's come back
        with its "Active" tick), the superuser flag included: it makes a superadmin, and is
        ticked only on such an address (platform_role_holder_check)."""
        return (address.verified and normalise_mailbox(address.email) == normalise_mailbox(address.user.email)
                and (address.user.is_superuser or PlatformRoleGrant.objects.filter(
                    in_force_q(now=timezone.now()), user_id=address.user_id).exists()))

    @staticmethod
    def role_rests_message(addresses) -> str:
        return gettext("A platform role rests on it (revoke the role first): %(names)s") % {
            "names": ", ".join(address.email for address in addresses)}

    def delete_view(self, request, object_id, extra_context=None):
        address = self.get_object(request, unquote(object_id))
        if address is not None and self.has_delete_permission(request, address) and self.platform_role_rests_on(address):
            self.message_user(request, self.role_rests_message([address]), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:account_emailaddress_change", args=[address.pk]))
        try:
            return super().delete_view(request, object_id, extra_context)
        except OfficialPowersHeld:
            self.message_user(request, self.last_admin_message([address]), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:account_emailaddress_change", args=[address.pk]))

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        resting = [address for address in objs if self.platform_role_rests_on(address)]
        if resting:
            perms_needed.add(self.role_rests_message(resting))
        return deleted, counts, perms_needed, protected

    @staticmethod
    def lock_accounts(user_ids) -> None:
        """Lock the accounts (by id), as the role services lock a holder's: a role granted
        meanwhile waits for the deletion, or is seen by it."""
        list(User.objects.select_for_update().filter(pk__in=user_ids).order_by("pk").values_list("pk", flat=True))

    def delete_model(self, request, obj):
        with transaction.atomic():
            self.lock_accounts([obj.user_id])
            if self.platform_role_rests_on(obj):
                raise PermissionDenied(self.role_rests_message([obj]))
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            self.lock_accounts(queryset.values("user_id"))
            resting = [address for address in queryset.select_related("user").order_by("pk")
                       if self.platform_role_rests_on(address)]
            if resting:
                self.message_user(request, self.role_rests_message(resting), messages.ERROR)
                queryset = queryset.exclude(pk__in=[address.pk for address in resting])
            super().delete_queryset(request, queryset)


admin.site.unregister(Group)


class GroupForm(forms.ModelForm):
    """A group's permissions, as a non-superuser may set them: not those of a group they
    belong to (their own permissions), and none they do not hold themselves (DESIGN §2:
    nobody grants a role above their own or edits their own). ``actor`` is set by GroupAdmin."""

    actor = None

    def clean_permissions(self):
        permissions = self.cleaned_data["permissions"]
        if self.actor is None or self.actor.is_superuser:
            return permissions
        before = set(self.instance.permissions.all()) if self.instance.pk else set()
        if self.instance.pk and set(permissions) != before and self.actor.groups.filter(pk=self.instance.pk).exists():
            raise ValidationError(_("You cannot change the permissions of a group you belong to."), code="own_group")
        not_held = [name for name in permission_names(permissions.exclude(pk__in=[p.pk for p in before]))
                    if not self.actor.has_perm(name)]
        if not_held:
            raise ValidationError(_("You cannot give a permission you do not hold yourself: %(permissions)s"),
                                  code="not_held", params={"permissions": ", ".join(not_held)})
        return permissions


@admin.register(Group)
class GroupAdmin(AuditedDeletionMixin, BaseGroupAdmin):
    """A group's permissions are every member's: each change made here is audited, and a
    non-superuser changes them only as GroupForm allows."""

    form = GroupForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request, obj, form, change):
        form.permissions_before = permission_names(Group.objects.get(pk=obj.pk).permissions) if change else []
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        after = permission_names(form.instance.permissions)
        if after != form.permissions_before or not change:
            audit_record(actor=request.user, action=AuditAction.GROUP_PERMISSIONS_CHANGED, target=form.instance,
                         old={"permissions": form.permissions_before} if change else {},
                         new={"permissions": after, "members": form.instance.user_set.count()}, request=request)

    def record_deleted(self, request, group):
        audit_record(actor=request.user, action=AuditAction.GROUP_PERMISSIONS_CHANGED, target=group,
                     old={"permissions": permission_names(group.permissions)},
                     new={"deleted": True, "members": group.user_set.count()}, request=request)


admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(AuditedDeletionMixin, BaseAuthenticatorAdmin):
    """allauth's, read-only: an authenticator is set up and renewed only by its owner through
    allauth's pages (audited, accounts.signals), and its secret and codes are not shown. One
    may be removed here for a person who lost it; each removal is audited, the administrator
    as actor. Removing takes a second factor away, as allauth's page that deactivates one does:
    the deletion page, and a deletion of several, first ask the administrator a code of their
    app given in the last five minutes (gave_code_lately), then lead back here."""

    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields

    def lookup_allowed(self, lookup, value, request):
        """Only what the page shows filters its list: the admin lets a list's query string
        look up any field of its model, and a pattern matched against ``data``
        (``?data__secret__regex=^A``) told, a row or none, another person's secret a letter
        at a time."""
        return lookup.split(LOOKUP_SEP, 1)[0] in {"id", *self.fields} and super().lookup_allowed(lookup, value, request)

    @staticmethod
    def code_asked(request):
        """The page asking a code of the administrator's app again, or None when this session
        gave one lately."""
        if gave_code_lately(request):
            return None
        return code_asked_again(request, gettext("To remove a second factor, enter a code of your authenticator app "
                                                 "(or one of your recovery codes) first."))

    def delete_view(self, request, object_id, extra_context=None):
        return self.code_asked(request) or super().delete_view(request, object_id, extra_context)

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST" and request.POST.get("action") == "delete_selected" and (
                asked := self.code_asked(request)):
            return asked
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def record_deleted(self, request, authenticator):
        audit_record(actor=request.user, action=AuditAction.USER_AUTHENTICATOR_REMOVED, target=authenticator.user,
                     old=authenticator_values(authenticator), new={"deleted": True}, request=request)
