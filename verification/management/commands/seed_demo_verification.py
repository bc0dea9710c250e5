"""Demo data of verification (run by seed_demo, safe to run again): an admin of the
Collectorate Pune, three people verified there and two waiting requests, made through
the services as a person and an admin would (audited, mail in the outbox)."""

from datetime import date

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from guardian.shortcuts import assign_perm

from portal.accounts.models import User
from portal.organisations.models import Membership, MembershipRole, Organisation
from portal.permissions import ADMINISTER_ORGANISATION, VIEW_ORGANISATION_DASHBOARD
from verification import services
from verification.models import GovernmentProfile

DEMO_PASSWORD = "Sandes-demo-2026"  # as seed_demo's
ORGANISATION = "COLL-PUNE"
ADMIN = ("admin.collector@pune.gov.in", "Priya Deshmukh")
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
        if organisation is None:
            self.stderr.write(f"{ORGANISATION} is missing: run seed_demo first.")
            return
        admin = _account(*ADMIN)
        Membership.objects.get_or_create(organisation=organisation, user=admin, defaults={"role": MembershipRole.ADMIN})
        assign_perm(ADMINISTER_ORGANISATION, admin, organisation)
        assign_perm(VIEW_ORGANISATION_DASHBOARD, admin, organisation)
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
        self.stdout.write(f"  {ADMIN[0]:40} organisation admin, Collectorate Pune (verification queue and members)")
        self.stdout.write(f"  {PEOPLE[0][0]:40} verified government user, Collectorate Pune")
        self.stdout.write(f"  {PEOPLE[3][0]:40} waiting to be verified by Collectorate Pune")
