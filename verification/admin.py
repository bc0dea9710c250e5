"""The verification models in the Django admin, read-only: every change to a profile
goes through verification.services (locked, audited, the person told), so the admin
only shows them; nothing is added, changed or deleted here."""

from django.contrib import admin

from verification.models import AddressConfirmation, GovernmentProfile, VerificationSettings


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GovernmentProfile)
class GovernmentProfileAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "organisation", "status", "method", "requested_at", "verified_at",
                    "address_confirmed_at", "superannuation_date"]
    list_filter = ["status", "method", "reason_code"]
    list_select_related = ["user", "organisation"]
    search_fields = ["user__email", "official_email", "employee_code", "organisation__short_code"]
    raw_id_fields = ["user", "organisation", "verified_by", "decided_by"]
    date_hierarchy = "requested_at"
    ordering = ["-id"]


@admin.register(VerificationSettings)
class VerificationSettingsAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "auto_verify_official_domain", "changed_at", "changed_by"]
    list_select_related = ["organisation", "changed_by"]
    raw_id_fields = ["organisation", "changed_by"]


@admin.register(AddressConfirmation)
class AddressConfirmationAdmin(ReadOnlyAdmin):
    """The links to confirm an official address (their hash is left out: it is a secret's digest)."""

    list_display = ["id", "profile", "email", "created_at", "expires_at", "used_at"]
    list_select_related = ["profile"]
    exclude = ["token_hash"]
    raw_id_fields = ["profile"]
    search_fields = ["email"]
    ordering = ["-id"]
