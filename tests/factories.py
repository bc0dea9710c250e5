import copy
from datetime import timedelta

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone
from guardian.shortcuts import assign_perm

from portal.accounts.models import User
from portal.organisations.models import (
    Level,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    OrganisationType,
    PlatformRoleGrant,
)
from tests.onboarding_data import VALID

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"officer{n}@dept{n}.gov.in")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        obj.save()
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Directorate of Records {n}")
    name_local = "अभिलेख निदेशालय"
    short_code = factory.Sequence(lambda n: f"DOR{n}")
    org_type = OrganisationType.DIRECTORATE
    level = Level.STATE
    state = "MH"
    status = OrganisationStatus.ACTIVE


class OrganisationDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrganisationDomain

    organisation = factory.SubFactory(OrganisationFactory)
    domain = factory.Sequence(lambda n: f"records{n}.gov.in")
    is_verified = True


class PlatformRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlatformRoleGrant

    user = factory.SubFactory(UserFactory)
    role = "state_admin"
    jurisdiction = "MH"


class ApplicationFactory(factory.django.DjangoModelFactory):
    """A submitted application with valid answers (tests/onboarding_data.VALID),
    waiting in ``status``. Steps are made separately (ApprovalStepFactory) or by
    the real services."""

    class Meta:
        model = "onboarding.Application"
        skip_postgeneration_save = True

    nodal_officer = factory.SubFactory(UserFactory)
    reference = factory.Sequence(lambda n: f"ONB-2026-{n + 500000:06d}")
    status = "with_state"
    data = factory.LazyFunction(lambda: copy.deepcopy(VALID))
    section_status = factory.LazyFunction(
        lambda: {s: "complete" for s in ("organisation", "hierarchy", "nodal_officer", "competent_authority",
                                          "integration", "declarations", "authorisation_letter")}
    )
    organisation_name = factory.Sequence(lambda n: f"Directorate of Agriculture {n}")
    jurisdiction = "MH"
    submitted_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def version(obj, create, extracted, **kwargs):
        if create:
            from onboarding.models import ApplicationVersion

            ApplicationVersion.objects.create(application=obj, number=1, data=obj.data)

    @factory.post_generation
    def officer_permissions(obj, create, extracted, **kwargs):
        """What application_create gives the nodal officer."""
        if create:
            assign_perm("onboarding.view_application", obj.nodal_officer, obj)
            assign_perm("onboarding.change_application", obj.nodal_officer, obj)


class ApprovalStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "onboarding.ApprovalStep"

    application = factory.SubFactory(ApplicationFactory)
    stage = "state"
    jurisdiction = factory.LazyAttribute(lambda step: step.application.jurisdiction)
    version_number = 1
    opened_at = factory.LazyFunction(timezone.now)
    due_at = factory.LazyAttribute(lambda step: step.opened_at + timedelta(days=10))
