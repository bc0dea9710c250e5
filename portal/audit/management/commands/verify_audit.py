from django.core.management.base import BaseCommand, CommandError

from portal.audit.models import AuditEvent
from portal.audit.services import audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exit non-zero if any row was edited or deleted."

    def handle(self, *args, **options):
        problems = audit_verify()
        if problems:
            for problem in problems:
                self.stderr.write(f"audit event {problem.event_id}: {problem.reason}")
            raise CommandError(f"Audit chain broken: {len(problems)} problem(s).")
        self.stdout.write(f"Audit chain intact: {AuditEvent.objects.count()} events verified.")
