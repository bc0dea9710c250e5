"""A separate worker process for the outbox tests (tests/portal/test_outbox.py).

Run as ``python -m tests.portal.outbox_worker <command> ...`` from the project
folder, with DJANGO_SETTINGS_MODULE=portal.settings_test and DATABASE_URL,
EMAIL_HOST, EMAIL_PORT pointing at the test's own database and SMTP server.
It runs the real code (the outbox backend, the Celery tasks run in-process as
settings_test says) and prints one JSON line with what it saw.

Commands:
  send-gated REACHED RELEASE   queue one message and deliver it through a transport
                               that stops before sending until RELEASE exists
                               (the test kills the process there)
  redeliver MESSAGE_ID         run the outbox_send task again for that message
  sweep                        run the outbox_sweep task
Several commands, separated by "--", run one after the other in the one process (a JSON
line each).
"""

import json
import os
import sys


def main(argv):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")
    import django

    django.setup()
    while "--" in argv:
        split = argv.index("--")
        run(argv[:split])
        argv = argv[split + 1:]
    run(argv)


def run(argv):
    from django.conf import settings
    from django.core.mail import EmailMessage

    from portal.mail.models import OutboxMessage
    from portal.mail.tasks import outbox_send, outbox_sweep

    command = argv[0]
    if command == "send-gated":
        reached, release = argv[1], argv[2]
        transport = settings.MAILERS["transport"]
        settings.MAILERS = {
            **settings.MAILERS,
            "transport": {"BACKEND": "tests.smtp.GatedSMTPBackend",
                          "OPTIONS": {**transport["OPTIONS"], "reached": reached, "release": release}},
        }
        # Queued in a committed transaction; the on-commit hook runs the outbox_send task.
        EmailMessage(subject="Your application ONB-2026-000042", body="It was received.",
                     to=["nodal.officer@mahaagri.gov.in"]).send()
        row = OutboxMessage.objects.get()
        result = {"status": row.status, "attempts": row.attempts, "message_id": row.message_id}
    elif command == "redeliver":
        row = OutboxMessage.objects.get(message_id=argv[1])
        status = outbox_send.delay(row.pk).get()
        row.refresh_from_db()
        result = {"returned": status, "status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    elif command == "sweep":
        result = {"sent": outbox_sweep.delay().get()}
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
