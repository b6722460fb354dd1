"""``kreis pricing pricelists import|export`` and ``kreis pricing quotes expire|list``.

Writes act as a user (``--user USERNAME``) with that user's rights: importing prices is for
sales managers and administrators. Without ``--user`` the import runs as the system (an
operator at the console), as the nightly ``quotes expire`` does.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from kreis.core.models import User
from kreis.pricing.models import PriceList
from kreis.pricing.pricelists import services as prices
from kreis.pricing.quotes import services as quotes


class Command(BaseCommand):
    help = "Prices and quotes: import/export price lists as CSV, expire quotes past validity."

    def add_arguments(self, parser) -> None:
        topics = parser.add_subparsers(dest="topic", required=True)
        lists = topics.add_parser("pricelists", help="price lists").add_subparsers(
            dest="action", required=True
        )
        imp = lists.add_parser("import", help="read prices from CSV (all or nothing)")
        imp.add_argument("file", help="the CSV file, or - for standard input")
        imp.add_argument("--user", help="act as this user (a sales manager or administrator)")
        exp = lists.add_parser("export", help="write every price list's prices as CSV")
        exp.add_argument("--output", help="the file to write (default: standard output)")
        exp.add_argument("--active", action="store_true", help="only active lists")
        quote = topics.add_parser("quotes", help="quotes").add_subparsers(
            dest="action", required=True
        )
        expire = quote.add_parser("expire", help="ready and sent quotes past validity expire")
        expire.add_argument("--today", type=dt.date.fromisoformat, help="the day (YYYY-MM-DD)")

    def handle(self, *args, topic: str, action: str, **opts) -> None:
        try:
            if topic == "pricelists" and action == "import":
                self._import(opts)
            elif topic == "pricelists" and action == "export":
                self._export(opts)
            elif topic == "quotes" and action == "expire":
                count = quotes.quotes_expire(today=opts.get("today"))
                self.stdout.write(f"{count} quotes expired")
        except PermissionDenied:
            raise CommandError("not allowed for this user") from None
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

    def _user(self, username: str | None) -> User | None:
        if not username:
            return None
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        return user

    def _import(self, opts) -> None:
        actor = self._user(opts.get("user"))
        path = opts["file"]
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
        result = prices.import_csv(actor=actor, text=text)
        self.stdout.write(
            f"{result.items_set} prices imported, {result.lists_created} new price lists"
        )

    def _export(self, opts) -> None:
        lists = PriceList.objects.all()
        if opts.get("active"):
            lists = lists.filter(is_active=True)
        text = prices.export_csv(lists)
        if opts.get("output"):
            Path(opts["output"]).write_text(text, encoding="utf-8")
            self.stdout.write(f"{lists.count()} price lists written")
        else:
            self.stdout.write(text, ending="")
