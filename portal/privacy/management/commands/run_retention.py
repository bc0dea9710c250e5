from django.core.management.base import BaseCommand

from portal.privacy.retention import retention_run


class Command(BaseCommand):
    help = "Apply every enabled retention policy now (the daily beat job does the same); print the counts."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None, help="records per transaction")

    def handle(self, *args, **options):
        run = retention_run(batch_size=options["batch_size"])
        for kind, counts in sorted(run.counts.items()):
            parts = ", ".join(f"{name} {value}" for name, value in counts.items())
            self.stdout.write(f"{kind}: {parts}")
        self.stdout.write(f"Retention run {run.pk} finished.")
