"""``kreis mail <subcommand>``: two-way e-mail in bulk.

- ``accounts``: list the e-mail accounts (id, owner or team, address, last sync, error);
- ``sync [--account ID …]``: sync now (default: every active account), one line an account and
  a total; exits with an error when an account failed;
- ``test --account ID``: log in to IMAP and SMTP and say what works;
- ``bounces [--invalid]``: the addresses with bounces (hard ones marked invalid);
- ``reindex``: rebuild the search entries of the shared mail.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kreis.comms.models import AddressStatus, MailAccount
from kreis.comms.services import account_test_connection
from kreis.comms.sync import SyncResult, sync_account


class Command(BaseCommand):
    help = "Two-way e-mail: list accounts, sync now, test a connection, list bounces."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("accounts", help="list the e-mail accounts")
        sync = sub.add_parser("sync", help="sync now (default: every active account)")
        sync.add_argument("--account", type=int, action="append", metavar="ID")
        test = sub.add_parser("test", help="test an account's IMAP and SMTP login")
        test.add_argument("--account", type=int, required=True, metavar="ID")
        bounces = sub.add_parser("bounces", help="addresses with bounces")
        bounces.add_argument("--invalid", action="store_true", help="hard bounces only")
        sub.add_parser("reindex", help="rebuild the search entries of shared mail")

    def handle(self, *args, action: str, **options) -> None:
        getattr(self, f"_{action}")(**options)

    def _accounts(self, **options) -> None:
        for account in MailAccount.objects.select_related("owner", "team").order_by("pk"):
            holder = f"team {account.team}" if account.team_id else f"user {account.owner}"
            synced = account.last_sync_at.isoformat() if account.last_sync_at else "never"
            state = "active" if account.is_active else "inactive"
            self.stdout.write(
                f"{account.pk}\t{account.email_address}\t{holder}\t{state}\tsynced {synced}"
                + (f"\terror: {account.last_error.splitlines()[0]}" if account.last_error else "")
            )

    def _sync(self, account=None, **options) -> None:
        accounts = MailAccount.objects.order_by("pk")
        if account:
            accounts = accounts.filter(pk__in=account)
            missing = set(account) - set(accounts.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"no e-mail account with id {sorted(missing)}")
        else:
            accounts = accounts.filter(is_active=True)
        total = SyncResult()
        for item in accounts:
            result = sync_account(item)
            total += result
            self.stdout.write(
                f"{item.email_address}: new {result.stored}, known {result.skipped}, "
                f"errors {result.errors}"
            )
            for problem in result.problems:
                self.stderr.write(f"  {problem}")
        self.stdout.write(
            f"total: new {total.stored}, known {total.skipped}, errors {total.errors}"
        )
        if total.errors:
            raise CommandError(f"{total.errors} error(s); see above")

    def _test(self, account: int, **options) -> None:
        item = MailAccount.objects.filter(pk=account).select_related("owner").first()
        if item is None:
            raise CommandError(f"no e-mail account with id {account}")
        actor = item.owner or _admin()
        try:
            folder, smtp = account_test_connection(actor=actor, account=item)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"IMAP: {folder.name} has {folder.exists} messages. {smtp}")

    def _bounces(self, invalid: bool = False, **options) -> None:
        statuses = AddressStatus.objects.order_by("address")
        if invalid:
            statuses = statuses.filter(hard_bounced_at__isnull=False)
        for status in statuses:
            mark = "invalid" if status.is_invalid else f"{status.soft_bounces} soft"
            self.stdout.write(f"{status.address}\t{mark}\t{status.last_status}")

    def _reindex(self, **options) -> None:
        from kreis.core.search import reindex

        self.stdout.write(f"{reindex(['message'])} entries")


def _admin():
    from kreis.core.models import Role, User

    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    if admin is None:
        raise CommandError("a shared mailbox is tested as an administrator; there is none")
    return admin
