from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kreis.core import services
from kreis.core.models import Role, Team


class Command(BaseCommand):
    help = "Create a user non-interactively, e.g. kreis createuser --username anna --role sales_rep"

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", help="initial password (else the user resets it)")
        parser.add_argument("--role", choices=Role.values, default=Role.SALES_REP)
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--language", choices=["", "de", "en"], default="")
        parser.add_argument("--team", action="append", default=[], help="team name (repeatable)")

    def handle(self, *args, **opts):
        teams = list(Team.objects.filter(name__in=opts["team"]))
        missing = set(opts["team"]) - {t.name for t in teams}
        if missing:
            raise CommandError(f"unknown team: {', '.join(sorted(missing))}")
        try:
            user = services.user_create(
                actor=None,
                username=opts["username"],
                password=opts["password"],
                role=opts["role"],
                email=opts["email"],
                first_name=opts["first_name"],
                last_name=opts["last_name"],
                language=opts["language"],
                team_ids=[t.pk for t in teams],
            )
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        self.stdout.write(f"created user {user.username} ({user.get_role_display()})")


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)
