import os
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.forms import records_day_allowed
from portal.privacy.breach import breach_drafts, breach_findings, breach_period_too_long


def moment(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Not a date and time: {value!r} (e.g. 2026-11-30T18:00)") from None
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def read_line(reads: int, lines: int, files: int) -> str:
    """"Pages read (request log): 4 in 200 lines of 1 file": each count with its noun by a plural message."""
    files_read = ngettext("%(n)s file", "%(n)s files", files) % {"n": files}
    lines_read = ngettext("%(n)s line of %(files)s", "%(n)s lines of %(files)s", lines) % {"n": lines,
                                                                                           "files": files_read}
    return gettext("Pages read (request log): %(reads)s in %(lines)s") % {"reads": reads, "lines": lines_read}


class Command(BaseCommand):
    help = ("For a period and optionally an actor or a client address: whose personal data was exported or changed "
            "(from the audit log) or read (from the request log file and its rotations, PORTAL_REQUEST_LOG_FILE), "
            "and drafts of the notice to them and of the report to the Board and CERT-In.")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, type=moment, help="start, e.g. 2026-11-30T18:00")
        parser.add_argument("--to", dest="end", required=True, type=moment, help="end (at most 90 days later)")
        parser.add_argument("--actor", default="", help="the actor's email address or account number")
        parser.add_argument("--ip", default="", help="the client address")
        parser.add_argument("--language", default="hi", choices=["hi", "mr"], help="second language of the notice")
        parser.add_argument("--request-log", action="append", default=None, metavar="FILE",
                            help="a request log file to read (plain or .gz; repeat for several) instead of "
                                 "PORTAL_REQUEST_LOG_FILE and its rotations, e.g. one restored from a backup")
        parser.add_argument("--log-max-lines", type=int, default=None,
                            help="request log lines to read at most (default: PRIVACY_BREACH_LOG_MAX_LINES)")

    def handle(self, *args, start, end, actor, ip, language, request_log, log_max_lines, **options):
        if not (records_day_allowed(start.date()) and records_day_allowed(end.date())):
            raise CommandError("--from and --to must be dates between 2000 and next year.")
        if end <= start or breach_period_too_long(start, end):
            raise CommandError("--to must be after --from and at most 90 days later.")
        if request_log:
            missing = [name for name in request_log if not os.path.isfile(name)]
            if missing:
                raise CommandError(f"No such request log file: {', '.join(missing)}")
        findings = breach_findings(start=start, end=end, actor=actor.strip(), ip=ip.strip(),
                                   request_log_files=request_log, max_log_lines=log_max_lines)
        audit_record(actor=None, action=AuditAction.BREACH_REPORT_DRAFTED, actor_role="system:breach_report",
                     new={"start": start, "end": end, "events": findings.events, "reads": findings.log.reads,
                          "people": findings.people_count})
        drafts = breach_drafts(findings, second_language=language)
        self.stdout.write(f"Events: {findings.events} (exported {findings.exported}, changed {findings.changed})")
        log = findings.log
        if not log.configured:
            self.stdout.write("Request log: no file (PORTAL_REQUEST_LOG_FILE is not set): reads not searched")
        else:
            self.stdout.write(read_line(log.reads, log.lines, log.files)
                              + (" (line limit reached: the period was not read to its end)" if log.truncated else ""))
            for route, n in log.by_route.items():
                self.stdout.write(f"  {route} {n}")
        self.stdout.write(f"People affected: {findings.people_count}")
        for pk, email in findings.people:
            self.stdout.write(f"  {pk} {email}")
        self.stdout.write("\n== Notice to the people affected ==\n" + drafts["notice"])
        self.stdout.write("\n== Report to the Data Protection Board and CERT-In ==\n" + drafts["report"])
