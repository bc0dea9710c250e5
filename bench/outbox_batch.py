"""Outbox delivery figures: messages a second through a real SMTP server on loopback.

For each N (default 300, 1,000 and 10,000 queued messages, bilingual like the
portal's reminders, about 2 KB each):

- *hand-off*: the N messages queued in one transaction, as the deadline sweep
  queues its reminders; after commit, the Celery messages handed to the broker
  (an in-memory one here; no worker runs them);
- *one per connection*: each message delivered on its own, a connection each, as
  one task per message did before batches (only up to --per-message-max messages);
- *batched*: the outbox sweep's work (``outbox_deliver_due``): claim a batch of 200,
  one connection for the batch, each outcome recorded, until none is due.

The SMTP server is aiosmtpd (tests/smtp.py) in a thread of the same process, so the
figures include its own work. Every message is checked to have arrived once.

Run: .venv/bin/python bench/outbox_batch.py [--sizes 300 1000 10000] [--per-message-max 1000]
With DATABASE_URL set (a throw-away database!) it runs there instead of SQLite.
"""

import argparse
import resource
import time

from _setup import django_setup


def queue(count, label):
    from django.core.mail import EmailMessage, mailers
    from django.db import transaction

    body = ("Please decide on application ONB-2026-000042 by 8 December 2026: http://127.0.0.1:8000/onboarding/\n"
            "कृपया 8 दिसंबर 2026 तक आवेदन ONB-2026-000042 पर निर्णय लें।\n") * 8
    messages = [
        EmailMessage(f"Reminder: ONB-2026-{i:06d} / अनुस्मारक: ONB-2026-{i:06d} ({label})", body,
                     to=[f"authority{i}@dept.gov.in"])
        for i in range(count)
    ]
    started = time.perf_counter()
    with transaction.atomic():
        mailers.default.send_messages(messages)
        committing = time.perf_counter()
    return committing - started, time.perf_counter() - committing


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000, 10000])
    parser.add_argument("--per-message-max", type=int, default=1000)
    args = parser.parse_args()
    django_setup()
    from django.conf import settings
    from django.db import connection
    from kombu import Connection

    from portal.celery import app
    from portal.mail.delivery import outbox_deliver_due, outbox_deliver_many
    from portal.mail.models import OutboxMessage, OutboxStatus
    from tests.smtp import SmtpServer

    app.conf.task_always_eager = False  # hand messages to the broker as production does
    app.conf.broker_url = "memory://"
    server = SmtpServer().start()
    settings.MAILERS = {**settings.MAILERS, "transport": server.mailer_settings(timeout=10)}
    print(f"database: {connection.vendor}; SMTP: aiosmtpd on 127.0.0.1:{server.port}")
    print(f"{'messages':>8} | {'mode':<18} | {'time':>8} | {'per second':>10} | {'connections':>11} | {'Celery messages':>15}")

    def broker_depth():
        with Connection("memory://") as conn:
            return conn.default_channel.queue_declare("celery", passive=False).message_count

    try:
        for count in args.sizes:
            modes = ["batched"] + (["one per connection"] if count <= args.per_message_max else [])
            for mode in modes:
                OutboxMessage.objects.all().delete()
                server.messages.clear()
                server.envelopes.clear()
                server.sessions = 0
                depth = broker_depth()
                in_transaction, hand_off = queue(count, mode)
                handed = broker_depth() - depth
                print(f"{count:>8,} | {'hand-off':<18} | {hand_off * 1000:>5.0f} ms | {'':>10} | {'':>11} | {handed:>15,}")
                ids = list(OutboxMessage.objects.order_by("id").values_list("id", flat=True))
                started = time.perf_counter()
                if mode == "batched":
                    outbox_deliver_due(budget=3600)
                else:
                    for outbox_id in ids:
                        outbox_deliver_many(outbox_ids=[outbox_id])
                elapsed = time.perf_counter() - started
                sent = OutboxMessage.objects.filter(status=OutboxStatus.SENT).count()
                assert sent == count and len(server.messages) == count, (sent, len(server.messages))
                assert len(set(server.message_ids())) == count
                print(f"{count:>8,} | {mode:<18} | {elapsed:>6.2f} s | {count / elapsed:>10,.0f} | "
                      f"{server.connections():>11,} |")
    finally:
        server.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
