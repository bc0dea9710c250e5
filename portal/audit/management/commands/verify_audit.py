import re

from django.core.management.base import BaseCommand, CommandError

from portal.audit.services import audit_verify_report

EXPECT_HEAD_RE = re.compile(r"^(\d+):([0-9a-f]{64})$")


def expect_head(value: str) -> tuple[int, str]:
    match = EXPECT_HEAD_RE.match(value.strip())
    if not match:
        raise CommandError(
            f"--expect-head takes <event id>:<hash>, as the AUDIT_CHAIN_HEAD log line and the superadmins' "
            f"email give it; got {value!r}."
        )
    return int(match.group(1)), match.group(2)


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chain and its head; exit non-zero if any row was edited or deleted. "
        "With --expect-head, also check the log still holds a head published earlier."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect-head", action="append", default=[], metavar="ID:HASH",
            help="an event id and hash published earlier as the chain head (the AUDIT_CHAIN_HEAD log line or the "
                 "superadmins' email); the log must still hold that event with that hash. May be given more than once.",
        )

    def handle(self, *args, **options):
        expected = [expect_head(value) for value in options["expect_head"]]
        report = audit_verify_report(expect_heads=expected)
        if report.problems:
            for problem in report.problems:
                self.stderr.write(f"audit event {problem.event_id}: {problem.reason}")
            raise CommandError(f"Audit chain broken: {len(report.problems)} problem(s).")
        if report.redacted:
            self.stdout.write(f"Audit chain intact: {report.count} events verified, {report.redacted} of them "
                              "redacted (personal part erased, its digest kept).")
        else:
            self.stdout.write(f"Audit chain intact: {report.count} events verified.")
        for event_id, _hash in expected:
            self.stdout.write(f"Published head {event_id} is in the log with its hash.")
