"""The outbox rows of the mail the portal queued, for tests that read them."""

from portal.mail.models import OutboxMessage


def outbox_to(address):
    """The messages queued for ``address`` (one of their recipients), oldest first. Picked
    here, not with a JSON ``contains`` lookup, which SQLite (the embedded default) lacks."""
    return [message for message in OutboxMessage.objects.order_by("id") if address in message.to]
