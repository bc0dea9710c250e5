"""Demo data of verification (run by seed_demo, safe to run again): an admin of the
Collectorate Pune, three people verified there and two waiting requests, made through
the services as a person, an admin and the demo superadmin would (audited, mail in the
outbox). Made once: what people changed in the portal since is left as it is."""

from datetime import date

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from portal.accounts.models import User
from portal.organisations.models import Membership, Organisation
from portal.organisations.services import organisation_admin_grant
from verification import services
from verification.models import GovernmentProfile
from verification.visibility.models import Audience, ProfileField, VisibilityPolicy
from verification.visibility.services import visibility_policy_set

DEMO_PASSWORD = "Sandes-demo-2026"  # as seed_demo's
ORGANISATION = "COLL-PUNE"
SUPERADMIN = "superadmin@nic.in"  # seed_demo's: it verifies the admin there and grants the role
ADMIN = ("admin.collector@pune.gov.in", "Priya Deshmukh")
ADMIN_DETAILS = {"designation": "Resident Deputy Collector", "office": "Collector's Office", "employee_code": "PUN-0001",
                 "mobile": "9822000001", "superannuation_date": date(2039, 6, 30)}
PEOPLE = [
    # email, full name, designation, office, employee code, mobile, superannuation, language, verified?
    ("tahsildar.haveli@pune.gov.in", "Rahul Patil", "Tahsildar", "Haveli Taluka Office", "PUN-0101", "9822000101",
     date(2041, 5, 31), "mr", True),
    ("clerk.revenue@pune.gov.in", "Sneha Kulkarni", "Senior Clerk", "Revenue Branch", "PUN-0214", "9822000214",
     date(2038, 1, 31), "mr", True),
    ("deo.elections@pune.gov.in", "Imran Shaikh", "Deputy District Election Officer", "Election Branch", "PUN-0330",
     "9822000330", date(2030, 8, 31), "en", True),
    ("steno.collector@pune.gov.in", "Kavita Joshi", "Stenographer", "Collector's Office", "PUN-0412", "9822000412",
     None, "hi", False),
    # A contractor's address (official mail, not eligible as a nodal officer): a request may give one.
    ("deo.setu@punesetu-external.gov.in", "Nilesh Pawar", "Data Entry Operator (contract)", "Setu Kendra", "PUN-C-77",
     "9822000777", None, "en", False),
]


def _account(email, full_name):
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD, full_name=full_name)
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


class Command(BaseCommand):
    help = "Load verification demo data (an organisation admin, verified members, waiting requests); safe to run again."

    @transaction.atomic
    def handle(self, *args, **options):
        organisation = Organisation.objects.filter(short_code=ORGANISATION).first()
        superadmin = User.objects.filter(email=SUPERADMIN).first()
        if organisation is None or superadmin is None:
            self.stderr.write(f"{ORGANISATION} or {SUPERADMIN} is missing: run seed_demo first.")
            return
        admin = _account(*ADMIN)
        if not Membership.objects.filter(organisation=organisation, user=admin).exists():
            # Never a member or admin there: verified and made admin as in the portal, once. A role
            # revoked (or a verification ended) in the portal since is not given back.
            profile = services.join_request_create(
                organisation_id=organisation.pk, language="en", actor=admin,
                details={**ADMIN_DETAILS, "official_email": admin.email},
            )
            services.join_request_decide(profile_id=profile.pk, decision=services.JoinDecision.VERIFY, actor=superadmin)
            organisation_admin_grant(organisation_id=organisation.pk, user_id=admin.pk, actor=superadmin)
        for email, name, designation, office, code, mobile, superannuation, language, verify in PEOPLE:
            user = _account(email, name)
            if GovernmentProfile.objects.filter(user=user, organisation=organisation).exists():
                continue  # already there: left as it is (a demo user may have changed it)
            profile = services.join_request_create(
                organisation_id=organisation.pk, language=language, actor=user,
                details={"designation": designation, "office": office, "employee_code": code, "official_email": email,
                         "mobile": mobile, "superannuation_date": superannuation},
            )
            if verify:
                services.join_request_decide(profile_id=profile.pk, decision=services.JoinDecision.VERIFY, actor=admin)
        if not VisibilityPolicy.objects.filter(organisation=organisation).exists():
            # As its admin would on the visibility page (once: a demo user may change it): official
            # addresses shown to every verified government user, so that the API (README) finds
            # the Collectorate's people by address.
            visibility_policy_set(organisation_id=organisation.pk, actor=admin,
                                  audiences={ProfileField.OFFICIAL_EMAIL: Audience.VERIFIED})
        self.stdout.write(f"  {ADMIN[0]:40} organisation admin, Collectorate Pune (verification queue and members)")
        self.stdout.write(f"  {PEOPLE[0][0]:40} verified government user, Collectorate Pune")
        self.stdout.write(f"  {PEOPLE[3][0]:40} waiting to be verified by Collectorate Pune")
