"""Monitoring's own tables: figures kept up to date by beat (those that would need a
scan of everything on every page), the result of the last scheduled check of the
audit chain, and the adoption tracker's list of offices expected to join."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.organisations.states import JURISDICTION_CHOICES


class OrganisationFigures(models.Model):
    """Verified and waiting government users of one organisation, counted by the
    beat job ``figures_refresh`` (a scan of every government profile)."""

    organisation = models.OneToOneField("organisations.Organisation", on_delete=models.CASCADE, primary_key=True,
                                        related_name="monitoring_figures")
    verified_users = models.PositiveIntegerField(default=0)
    pending_users = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["verified_users"]), models.Index(fields=["pending_users"])]


class FiguresRun(models.Model):
    """When a beat job last refreshed a kind of figure (one row per kind)."""

    name = models.CharField(max_length=50, primary_key=True)
    finished_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)


class AuditChainCheck(models.Model):
    """The result of one scheduled walk of the audit chain (``audit_verify``)."""

    checked_at = models.DateTimeField(db_index=True)
    intact = models.BooleanField()
    events = models.BigIntegerField(default=0)
    problems = models.PositiveIntegerField(default=0)
    # The first problem found, as the walk names it (portal.audit's CHAIN_PROBLEMS: a
    # code, its numbers, the event), told in the reader's language when shown. A check
    # kept before the codes has its English text in ``first_problem``.
    first_problem_event = models.BigIntegerField(null=True, blank=True)
    # Defaults in the database too: rows written by the code before these columns.
    first_problem_code = models.CharField(max_length=40, blank=True, default="", db_default="")
    first_problem_values = models.JSONField(default=dict, blank=True, db_default={})
    first_problem = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-checked_at", "-id"]


class ExpectedOffice(models.Model):
    """An office a state (or the centre) ordered to join by a date: matched to
    organisations and applications by its short code or its official domain."""

    jurisdiction = models.CharField(_("state / UT or central"), max_length=10, choices=JURISDICTION_CHOICES)
    name = models.CharField(_("name of the office"), max_length=200)
    short_code = models.CharField(_("short code"), max_length=20, blank=True)
    official_domain = models.CharField(_("official email domain"), max_length=253, blank=True)
    contact_email = models.EmailField(_("contact address"), max_length=254)
    target_date = models.DateField(_("date to join by"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["target_date", "name", "id"]
        indexes = [models.Index(fields=["jurisdiction", "target_date"])]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "short_code"], condition=~Q(short_code=""),
                                    name="expected_office_unique_code"),
            models.UniqueConstraint(fields=["official_domain"], condition=~Q(official_domain=""),
                                    name="expected_office_unique_domain"),
            models.CheckConstraint(condition=~Q(short_code="") | ~Q(official_domain=""),
                                   name="expected_office_code_or_domain"),
        ]

    def __str__(self):
        # Also the audit log's snapshot of the target: the office's own name (as typed, in
        # no page's language) and its code or domain.
        return f"{self.name} ({self.short_code or self.official_domain})"
