import factory
from allauth.account.models import EmailAddress

from portal.accounts.models import User
from portal.organisations.models import (
    Level,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    OrganisationType,
    PlatformRoleGrant,
)

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
