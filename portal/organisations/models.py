from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from portal.organisations.states import CENTRAL, JURISDICTION_CHOICES, State, local_name_language
from portal.text import ComposedCharField


class OrganisationType(models.TextChoices):
    MINISTRY = "ministry", _("Ministry")
    DEPARTMENT = "department", _("Department")
    ATTACHED_OFFICE = "attached_office", _("Attached or subordinate office")
    AUTONOMOUS_BODY = "autonomous_body", _("Autonomous or statutory body")
    PSU = "psu", _("Public sector undertaking")
    STATE_DEPARTMENT = "state_department", _("State department")
    DIRECTORATE = "directorate", _("Directorate")
    DISTRICT_OFFICE = "district_office", _("District office")
    LOCAL_BODY = "local_body", _("Local body")
    OTHER = "other", _("Other")


class Level(models.TextChoices):
    CENTRAL = "central", _("Central")
    STATE = "state", _("State / UT")
    DISTRICT = "district", _("District")
    SUB_DISTRICT = "sub_district", _("Sub-district")


class OrganisationStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


class SuspensionReason(models.TextChoices):
    """Why a superadmin or a state administrator suspended an organisation."""

    # Stored values are stable: they appear in audit rows.
    UNDER_REVIEW = "under_review", _("Under review")
    MISUSE = "misuse", _("Misuse of the platform")
    MERGED = "merged", _("Merged into another organisation")
    DEPARTMENT_REQUEST = "department_request", _("At the department's request")
    OTHER = "other", _("Other")


class ReactivationReason(models.TextChoices):
    """Why a suspended organisation was made active again."""

    # Stored values are stable: they appear in audit rows.
    REVIEW_COMPLETED = "review_completed", _("Review completed")
    SUSPENDED_IN_ERROR = "suspended_in_error", _("Suspended in error")
    DEPARTMENT_REQUEST = "department_request", _("At the department's request")
    OTHER = "other", _("Other")


def at_or_above(organisation_id: int, pk: int, ancestry: str) -> bool:
    """Whether the organisation ``organisation_id`` is the organisation ``pk`` (whose
    ``ancestry`` is given) or one above it: whether its subtree holds ``pk``. No query."""
    return organisation_id == pk or f"/{organisation_id}/" in ancestry


class Organisation(models.Model):
    name = ComposedCharField(_("name"), max_length=200)
    name_local = ComposedCharField(_("name in Hindi or the state's language"), max_length=200, blank=True)
    short_code = models.CharField(_("short code"), max_length=20, blank=True)
    org_type = models.CharField(_("type"), max_length=30, choices=OrganisationType.choices)
    level = models.CharField(_("level"), max_length=20, choices=Level.choices)
    state = models.CharField(_("state / UT"), max_length=2, choices=State.choices, blank=True)
    district = models.CharField(_("district"), max_length=100, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # The ids of the organisations above this one, top first: "/" for a top-level
    # organisation, "/3/17/" under 17 under 3. Kept by save(), so that "this one and
    # every office below it" is one indexed prefix match, whatever the depth.
    ancestry = models.CharField(max_length=500, default="/", editable=False, db_index=True)
    status = models.CharField(_("status"), max_length=20, choices=OrganisationStatus.choices, default=OrganisationStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["state", "status"])]
        permissions = [
            ("administer_organisation", "Administer the organisation"),
            ("view_organisation_dashboard", "View the organisation's dashboard"),
        ]

    def __str__(self):
        return self.name

    @property
    def name_local_language(self) -> str | None:
        """The language of ``name_local`` (its lang attribute where a page shows it), known by
        its script and the state (states.local_name_language); None when it says none."""
        return local_name_language(self.name_local, self.state)

    @property
    def subtree_prefix(self):
        """The ``ancestry`` prefix shared by every organisation below this one."""
        return f"{self.ancestry}{self.pk}/"

    @property
    def ancestor_ids(self):
        return [int(part) for part in self.ancestry.strip("/").split("/") if part]

    def save(self, *args, **kwargs):
        old_prefix = self.subtree_prefix if self.pk else None
        parent = self.parent if self.parent_id else None
        if parent is not None and self.pk and at_or_above(self.pk, parent.pk, parent.ancestry):
            raise ValueError("an organisation cannot be placed under itself or under one of its own sub-offices")
        self.ancestry = parent.subtree_prefix if parent is not None else "/"
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "parent" in update_fields:
            kwargs["update_fields"] = {*update_fields, "ancestry"}
        super().save(*args, **kwargs)
        if old_prefix is not None and old_prefix != self.subtree_prefix:
            # Moved: the offices below move with it.
            for child in Organisation.objects.filter(ancestry__startswith=old_prefix).only("pk", "ancestry"):
                child.ancestry = self.subtree_prefix + child.ancestry[len(old_prefix):]
                Organisation.objects.filter(pk=child.pk).update(ancestry=child.ancestry)

    @property
    def jurisdiction(self):
        from portal.organisations.states import CENTRAL

        return CENTRAL if self.level == Level.CENTRAL or not self.state else self.state


def central_q(prefix: str = "") -> Q:
    """Organisations whose ``jurisdiction`` is CENTRAL, in a query (``prefix``: the lookup
    that leads to them, "organisation__")."""
    return Q(**{f"{prefix}level": Level.CENTRAL}) | Q(**{f"{prefix}state": ""})


def in_jurisdictions_q(jurisdictions, prefix: str = "") -> Q:
    """Organisations whose ``jurisdiction`` (CENTRAL for one of central level or with no
    state, else its state) is one of ``jurisdictions``, in a query (``prefix`` as for
    ``central_q``): a central organisation that records a state (a ministry's regional
    office) is the centre's, never that state's."""
    jurisdictions = set(jurisdictions)
    query = Q(**{f"{prefix}state__in": sorted(jurisdictions - {CENTRAL})}) & ~central_q(prefix)
    if CENTRAL in jurisdictions:
        query |= central_q(prefix)
    return query


class StatusAsIf(NamedTuple):
    """One organisation's status as a change would make it (``status``: suspended, or active
    again), for the rules asked before the change is made: its confirmation page says what
    suspending or reactivating it does by asking them (``active_q``) with its status as it
    would be, without writing it."""

    organisation_id: int
    status: str


def active_q(prefix: str = "", as_if: StatusAsIf | None = None) -> Q:
    """Active organisations, in a query (``prefix``: the lookup that leads to them,
    "organisation__"), the one of ``as_if`` counted with the status it would have."""
    active = Q(**{f"{prefix}status": OrganisationStatus.ACTIVE})
    if as_if is None:
        return active
    it = Q(**{f"{prefix}pk": as_if.organisation_id})
    return active | it if as_if.status == OrganisationStatus.ACTIVE else active & ~it


def jurisdiction_expression() -> models.Case:
    """``Organisation.jurisdiction`` as the database computes it, for an annotation."""
    from portal.organisations.states import CENTRAL

    return models.Case(models.When(central_q(), then=models.Value(CENTRAL)), default=models.F("state"),
                       output_field=models.CharField())


class DomainClaim(models.TextChoices):
    """Why a domain an organisation listed is, or is not yet, official for it."""

    # Stored values are stable: they appear in audit rows.
    OFFICIAL_SUFFIX = "official_suffix", _("Under an official suffix")
    NOT_OFFICIAL = "not_official", _("Not under an official suffix: only a superadmin can accept it")
    CLAIMED_ELSEWHERE = "claimed_elsewhere", _("Already official for another organisation")
    SUFFIX_ITSELF = "suffix_itself", _("An official suffix itself, not one organisation's domain")


# The claims a superadmin cannot accept, as things stand (organisation_domain_accept refuses them).
CLAIMS_NOT_ACCEPTED = frozenset({DomainClaim.CLAIMED_ELSEWHERE, DomainClaim.SUFFIX_ITSELF})


class OrganisationDomainQuerySet(models.QuerySet):
    def official_for(self, organisation: Organisation) -> "OrganisationDomainQuerySet":
        """The domains verified for ``organisation``, for an office below it or for an
        organisation above it: those official for it (its rosters and the requests to be
        verified there count their addresses as official), besides the domains under an
        official suffix, which are official everywhere. A domain a superadmin accepted off
        those suffixes is official for its organisation's line (it, the offices above it,
        and the offices below it, which share it: onboarding places them there with it),
        not for any other."""
        return self.filter(in_or_below_q(organisation) | Q(organisation_id__in=organisation.ancestor_ids), is_verified=True)

    def own_to(self, organisation: Organisation) -> "OrganisationDomainQuerySet":
        """The domains verified for ``organisation`` or for an office below it: its own
        staff's, at which its roster verifies at once (not those it shares with the
        organisations above it, whose people its lists do not move)."""
        return self.filter(in_or_below_q(organisation), is_verified=True)


def in_or_below_q(organisation: Organisation) -> Q:
    """Rows (of any model with an ``organisation``) of ``organisation`` or of an office below it."""
    return Q(organisation_id=organisation.pk) | Q(organisation__ancestry__startswith=organisation.subtree_prefix)


class OrganisationDomain(models.Model):
    """An email domain an organisation's staff use.

    Verified means official for this organisation (its addresses count as
    official): a domain under an official suffix when the organisation was
    approved, or any other domain once a superadmin accepted the claim. A domain is
    verified for one organisation at most. Where the organisation is known (its
    rosters, the requests to be verified there) only its own domains, those of the
    offices below it and those of the organisations above it count (``official_for``)."""

    objects = OrganisationDomainQuerySet.as_manager()

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(_("domain"), max_length=253)
    is_verified = models.BooleanField(default=False)
    claim = models.CharField(max_length=20, choices=DomainClaim.choices, default=DomainClaim.OFFICIAL_SUFFIX)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "domain"], name="uniq_org_domain"),
            models.UniqueConstraint(fields=["domain"], condition=Q(is_verified=True), name="uniq_verified_domain"),
        ]
        indexes = [models.Index(fields=["domain"])]

    def __str__(self):
        return self.domain


def last_day_of(ends_at):
    """The last day a role with this end is held, in the portal's time zone (it ends at
    midnight after it when granted from the pages), or None."""
    return timezone.localtime(ends_at - timedelta(microseconds=1)).date() if ends_at else None


def ended(ends_at, now=None):
    """Whether a role with this end date has ended (None: it never ends by itself)."""
    return ends_at is not None and ends_at <= (now or timezone.now())


def subtree_top(prefix: str) -> int:
    """The id of the organisation at the top of a subtree prefix ("/3/17/" is 17)."""
    return int(prefix.rstrip("/").rsplit("/", 1)[-1])


def not_ended_q(prefix: str = "", now=None) -> Q:
    """Roles (platform role grants, admin memberships) not past their end date: none, or
    one still ahead (``ended`` in SQL). ``prefix`` reaches them through a relation."""
    now = now or timezone.now()
    return Q(**{f"{prefix}ends_at__isnull": True}) | Q(**{f"{prefix}ends_at__gt": now})


def in_force_q(prefix: str = "", now=None) -> Q:
    """Platform role grants in force: not revoked, and not past their end date.
    ``prefix`` reaches them through a relation ("platform_roles__")."""
    return Q(**{f"{prefix}revoked_at__isnull": True}) & not_ended_q(prefix, now)


class MembershipRole(models.TextChoices):
    MEMBER = "member", _("Member")
    ADMIN = "admin", _("Organisation admin")


class Membership(models.Model):
    """A person in an organisation: an active member while verified there (verification
    keeps that in step), or one of its admins (granted and ended by the role services,
    with the guardian object permissions kept in step)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The admin role: who gave it and when, and when it ends by itself (None: until revoked).
    # Past its end it counts for nothing (portal.permissions), before the beat job records it.
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    granted_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    # Whether the person was an active member here when made admin: losing the role
    # leaves them one; otherwise (made admin from a sub-office) the row goes inactive.
    member_before_admin = models.BooleanField(default=False, db_default=False)  # rows written by code before it

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "user"], name="uniq_membership")]
        indexes = [models.Index(fields=["role", "ends_at"], condition=Q(ends_at__isnull=False), name="membership_admin_ends")]

    @property
    def held_since(self):
        """When the admin role was granted (an organisation's first admin: when the membership was made)."""
        return self.granted_at or self.created_at

    @property
    def last_day(self):
        return last_day_of(self.ends_at)

    @property
    def admin_in_force(self):
        return self.is_active and self.role == MembershipRole.ADMIN and not ended(self.ends_at)


class PlatformRole(models.TextChoices):
    # Stored values are stable: they appear in audit rows.
    STATE_ADMIN = "state_admin", _("State administrator")
    AUDITOR = "auditor", _("Auditor")
    SUPERADMIN = "superadmin", _("Superadmin")


class PlatformRoleGrant(models.Model):
    """A platform role held by a user, separate from organisation membership."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="platform_roles")
    role = models.CharField(max_length=20, choices=PlatformRole.choices)
    # For state admins and scoped auditors: a state/UT code, or CENTRAL. Blank = everything.
    jurisdiction = models.CharField(max_length=10, choices=JURISDICTION_CHOICES, blank=True)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)
    # When the role ends by itself (None: until revoked). Past it the grant counts for
    # nothing (portal.permissions reads in_force_q); the beat job then records the
    # expiry once, setting revoked_at to it.
    ends_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    @property
    def held_since(self):
        return self.granted_at

    @property
    def last_day(self):
        return last_day_of(self.ends_at)

    class Meta:
        indexes = [models.Index(fields=["ends_at"], condition=Q(revoked_at__isnull=True, ends_at__isnull=False),
                                name="platform_role_ends")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "jurisdiction"], condition=Q(revoked_at__isnull=True), name="uniq_active_platform_role"
            )
        ]


class OrganisationUserObjectPermission(UserObjectPermissionBase):
    """guardian: direct foreign-key permission table for organisations."""

    content_object = models.ForeignKey(Organisation, on_delete=models.CASCADE)
