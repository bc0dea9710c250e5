"""Register a client of the verification API for an organisation and print its token
(once: only its hash is kept). For operators; organisation admins register clients in
the portal (API clients of their organisation)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from api.services import api_client_create
from portal.organisations.models import Organisation
from portal.text import has_control_characters, has_undecodable_bytes


class Command(BaseCommand):
    help = "Register a verification API client of an organisation (by its short code) and print its token."

    def add_arguments(self, parser):
        parser.add_argument("--organisation", required=True, help="The organisation's short code (case ignored).")
        parser.add_argument("--name", required=True, help="The client's name, for example the application's.")

    def handle(self, *args, **options):
        for option in ("organisation", "name"):
            value = options[option]
            if has_undecodable_bytes(value):
                raise CommandError(f"--{option} holds bytes that are not UTF-8 text: give it in UTF-8.")
            if has_control_characters(value):
                raise CommandError(f"--{option} holds a line break, a tab or another control character: give it on "
                                   "one line, without them.")
        code = options["organisation"].strip()
        if not code:
            raise CommandError("Give the organisation's short code.")
        found = list(Organisation.objects.filter(short_code__iexact=code).order_by("pk")[:10])
        if not found:
            raise CommandError(f"No organisation has the short code {code!r}.")
        if len(found) > 1:
            names = "; ".join(f"#{o.pk} {o.name} ({o.status})" for o in found)
            raise CommandError(f"Several organisations have the short code {code!r}: {names}. Give the code of one only.")
        try:
            client, token = api_client_create(organisation_id=found[0].pk, name=options["name"], actor=None)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stderr.write(f"Registered API client #{client.pk} {client.name!r} of {found[0].name}. Its token, "
                          "shown this once (only its hash is kept):")
        self.stdout.write(token)
