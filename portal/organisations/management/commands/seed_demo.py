"""Idempotent demo data for the embedded default (make run)."""

from allauth.account.models import EmailAddress
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from portal.accounts.models import User
from portal.organisations.models import (
    Level,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    OrganisationType,
    PlatformRole,
    PlatformRoleGrant,
    in_force_q,
)
from portal.organisations.services import platform_role_grant

DEMO_PASSWORD = "Sandes-demo-2026"

ORGANISATIONS = [
    ("Ministry of Home Affairs", "गृह मंत्रालय", "MHA", OrganisationType.MINISTRY, Level.CENTRAL, "", "mha.gov.in", None),
    ("Ministry of Electronics and Information Technology", "इलेक्ट्रॉनिकी और सूचना प्रौद्योगिकी मंत्रालय", "MEITY",
     OrganisationType.MINISTRY, Level.CENTRAL, "", "meity.gov.in", None),
    ("National Informatics Centre", "राष्ट्रीय सूचना विज्ञान केंद्र", "NIC", OrganisationType.ATTACHED_OFFICE, Level.CENTRAL, "",
     "nic.in", "MEITY"),
    ("General Administration Department, Maharashtra", "सामान्य प्रशासन विभाग, महाराष्ट्र", "GAD-MH",
     OrganisationType.STATE_DEPARTMENT, Level.STATE, "MH", "maharashtra.gov.in", None),
    ("Collectorate Pune", "जिल्हाधिकारी कार्यालय पुणे", "COLL-PUNE", OrganisationType.DISTRICT_OFFICE, Level.DISTRICT, "MH",
     "pune.gov.in", "GAD-MH"),
]

USERS = [
    # email, full name, platform role, jurisdiction, description
    ("superadmin@nic.in", "Asha Superadmin", PlatformRole.SUPERADMIN, "", "superadmin (second factor, below)"),
    ("stateadmin.mh@maharashtra.gov.in", "Ravi State Admin", PlatformRole.STATE_ADMIN, "MH",
     "state administrator, Maharashtra (second factor, below)"),
    ("auditor@nic.in", "Meena Auditor", PlatformRole.AUDITOR, "", "auditor (read-only; second factor, below)"),
    ("nodal.officer@mahaagri.gov.in", "Sunil Nodal Officer", None, "",
     "nodal officer (official email, verified; an application waiting for the state administrator, a draft)"),
    ("citizen@gmail.com", "Public User", None, "", "public user (not official)"),
]


class Command(BaseCommand):
    help = "Load demo organisations and users (safe to run again) and print the demo logins."

    @transaction.atomic
    def handle(self, *args, **options):
        by_code = {}
        for name, local, code, org_type, level, state, domain, parent in ORGANISATIONS:
            org, _ = Organisation.objects.get_or_create(
                short_code=code,
                defaults=dict(name=name, name_local=local, org_type=org_type, level=level, state=state,
                              status=OrganisationStatus.ACTIVE, activated_at=timezone.now(),
                              parent=by_code.get(parent)),
            )
            by_code[code] = org
            OrganisationDomain.objects.get_or_create(organisation=org, domain=domain, defaults={"is_verified": True})
        for email, full_name, role, jurisdiction, _desc in USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email=email, password=DEMO_PASSWORD, full_name=full_name)
            EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
            # Through the service, with its audit row, once: a role held, or revoked or ended in the
            # portal since, is left as it is (make run seeds at every start).
            if role and not PlatformRoleGrant.objects.filter(user=user, role=role, jurisdiction=jurisdiction).exists():
                platform_role_grant(user=user, role=role, jurisdiction=jurisdiction, actor=None)
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded. Demo logins (password for all: {DEMO_PASSWORD}):"))
        in_force = set(PlatformRoleGrant.objects.filter(in_force_q(), user__email__in=[row[0] for row in USERS])
                       .values_list("user__email", "role", "jurisdiction"))
        for email, _name, role, jurisdiction, desc in USERS:
            if role and (email, role, jurisdiction) not in in_force:
                desc += "; its role was revoked or has ended in the portal since: it signs in without it"
            self.stdout.write(f"  {email:40} {desc}")
        # Each feature app's own demo data (a command named seed_demo_<app>), after the core's:
        # the core names no feature app.
        for name in sorted(command for command in get_commands() if command.startswith("seed_demo_")):
            call_command(name, stdout=self.stdout, stderr=self.stderr)
        self.stdout.write("Second factor: a role holder's first sign-in asks the password again, then shows the secret of "
                          "an authenticator app\n(any TOTP app) to set up; later sign-ins ask a code of that app.")
