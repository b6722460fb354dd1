from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kreis.core import services
from kreis.core.management.commands.createuser import _messages
from kreis.core.models import ApiKey, ApiKeyScope, User


class Command(BaseCommand):
    help = "Manage personal API keys: create (prints the key once), list, revoke."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a key for a user and print it")
        create.add_argument("--user", required=True, help="username")
        create.add_argument("--name", default="CLI")
        create.add_argument("--scope", choices=ApiKeyScope.values, default=ApiKeyScope.READ)
        listing = sub.add_parser("list", help="list a user's keys")
        listing.add_argument("--user", required=True)
        revoke = sub.add_parser("revoke", help="revoke a key by its id")
        revoke.add_argument("id", type=int)

    def handle(self, *args, action, **opts):
        if action == "revoke":
            key = ApiKey.objects.filter(pk=opts["id"]).first()
            if key is None:
                raise CommandError(f"no API key with id {opts['id']}")
            services.apikey_revoke(actor=None, key=key)
            self.stdout.write(f"revoked {key}")
            return
        user = User.objects.filter(username=opts["user"]).first()
        if user is None:
            raise CommandError(f"no user named {opts['user']!r}")
        if action == "list":
            for key in user.api_keys.all():
                state = "revoked" if key.revoked_at else "active"
                self.stdout.write(f"{key.pk}\t{key.prefix}…\t{key.scope}\t{state}\t{key.name}")
            return
        try:
            _, raw = services.apikey_create(
                actor=None, user=user, name=opts["name"], scope=opts["scope"]
            )
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        self.stdout.write(raw)
