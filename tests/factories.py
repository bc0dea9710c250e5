import copy
import hashlib
from datetime import timedelta

import factory
from allauth.account.models import EmailAddress
from django.core.files.base import ContentFile
from django.utils import timezone
from guardian.shortcuts import assign_perm

from onboarding.approval.services import authority_of, step_open_authority, step_open_state
from portal.accounts.models import User
from portal.organisations.models import (
    Level,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    OrganisationType,
    PlatformRoleGrant,
)
from tests.onboarding_data import VALID, minimal_pdf

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


def _answers(application):
    """The valid answers (tests/onboarding_data.VALID), with the nodal officer's
    section holding the account's address, as application_save_section stores it."""
    data = copy.deepcopy(VALID)
    data["nodal_officer"]["official_email"] = application.nodal_officer.email
    return data


class ApplicationFactory(factory.django.DjangoModelFactory):
    """A submitted application with valid answers (tests/onboarding_data.VALID),
    waiting in ``status``. Steps are made separately (ApprovalStepFactory) or by
    the real services; application_with_authority and application_with_state
    (below) build those states with their steps. ``letter=True`` adds the signed authorisation letter (AttachmentFactory)."""

    class Meta:
        model = "onboarding.Application"
        skip_postgeneration_save = True

    nodal_officer = factory.SubFactory(UserFactory)
    reference = factory.Sequence(lambda n: f"ONB-2026-{n + 500000:06d}")
    status = "with_state"
    data = factory.LazyAttribute(_answers)
    section_status = factory.LazyFunction(
        lambda: {s: "complete" for s in ("organisation", "hierarchy", "nodal_officer", "competent_authority",
                                          "integration", "declarations", "authorisation_letter")}
    )
    organisation_name = factory.Sequence(lambda n: f"Directorate of Agriculture {n}")
    jurisdiction = "MH"
    submitted_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def officer_address(obj, create, extracted, **kwargs):
        """Answers given without the nodal officer's address: theirs, as application_create
        and application_save_section store it (final approval refuses an account no longer
        at the address the form names)."""
        officer = obj.data.get("nodal_officer") if isinstance(obj.data, dict) else None
        if create and isinstance(officer, dict) and "official_email" not in officer:
            obj.data = {**obj.data, "nodal_officer": {**officer, "official_email": obj.nodal_officer.email}}
            obj.save(update_fields=["data"])

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

    @factory.post_generation
    def letter(obj, create, extracted, **kwargs):
        if create and extracted:
            AttachmentFactory(application=obj, **kwargs)


class AttachmentFactory(factory.django.DjangoModelFactory):
    """The signed authorisation letter, a small valid PDF, stored under the name
    attachment_upload gives it."""

    class Meta:
        model = "onboarding.Attachment"
        exclude = ("content",)

    application = factory.SubFactory(ApplicationFactory)
    content = factory.LazyFunction(minimal_pdf)
    sha256 = factory.LazyAttribute(lambda letter: hashlib.sha256(letter.content).hexdigest())
    file = factory.LazyAttribute(lambda letter: ContentFile(letter.content, name=f"{letter.sha256[:16]}.pdf"))
    original_name = "letter.pdf"
    content_type = "application/pdf"
    size = factory.LazyAttribute(lambda letter: len(letter.content))
    pages = 1
    uploaded_by = factory.LazyAttribute(lambda letter: letter.application.nodal_officer)


class ApprovalStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "onboarding.ApprovalStep"

    application = factory.SubFactory(ApplicationFactory)
    stage = "state"
    jurisdiction = factory.LazyAttribute(lambda step: step.application.jurisdiction)
    version_number = 1
    opened_at = factory.LazyFunction(timezone.now)
    due_at = factory.LazyAttribute(lambda step: step.opened_at + timedelta(days=10))


# Applications in a state, with their steps, built directly. Tests of what submitting
# and deciding do go through the services instead (tests/onboarding/approval_helpers.py).

def _submitted(status, fields):
    """A submitted application with its letter; its organisation's name, as saving
    the organisation section sets it, unless given."""
    fields.setdefault("organisation_name", VALID["organisation"]["name"])
    return ApplicationFactory(status=status, letter=True, **fields)


def application_with_authority(**fields):
    """Submitted and waiting for its competent authority: the application with its
    letter, then what submission does next, by the real service (step_open_authority):
    the authority step, its link emailed to the authority (latest_link() reads it)
    and the receipt to the nodal officer."""
    application = _submitted("with_authority", fields)
    step_open_authority(application=application)
    return application


def application_with_state(**fields):
    """Approved by its competent authority and now with the state administrators:
    the authority step decided (approve), then the state step opened by the real
    service (step_open_state, which emails the state administrators)."""
    application = _submitted("with_state", fields)
    email, name = authority_of(application)
    now = timezone.now()
    ApprovalStepFactory(
        application=application, stage="authority", assignee_email=email, assignee_name=name, opened_at=now,
        decision="approve", decided_at=now, decided_by_email=email,
    )
    step_open_state(application=application)
    return application
