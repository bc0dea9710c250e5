"""What the outbox tells whoever listens (the approval routing), without importing it.
Sent by the sender (portal/mail/delivery.py) in a transaction of its own, after a row's
outcome is recorded: a receiver's writes and mail commit or roll back with it, and its
exceptions are logged there, never lose the row's outcome."""

from django.dispatch import Signal

# mailboxes (normalise_mailbox's form): the relay refused them as unknown just now, or a
# message was not offered to it for them because it had (portal/mail/refusals.py).
mailboxes_unknown = Signal()
