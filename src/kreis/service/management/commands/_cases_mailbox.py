"""``kreis cases poll-mailbox [--mailbox NAME]``: take the new mail of the complaint mailboxes
now (the job does it every five minutes) and print what happened, one line a mailbox and a
summary line: created, added, skipped, errors. Exits with an error when a mail or a mailbox
failed (the reasons are printed and kept in the mailbox's ``last_error``)."""

from __future__ import annotations

from django.core.management.base import CommandError

from kreis.service.mailbox import PollResult, poll_mailbox
from kreis.service.models import ComplaintMailbox


def register(subparsers) -> None:
    polling = subparsers.add_parser(
        "poll-mailbox", help="take the new mail of the complaint mailboxes now"
    )
    polling.add_argument(
        "--mailbox", metavar="NAME", help="only this mailbox (its name; default: every active one)"
    )
    polling.set_defaults(run=run_poll_mailbox)


def run_poll_mailbox(command, options) -> None:
    name = options.get("mailbox")
    mailboxes = ComplaintMailbox.objects.order_by("pk")
    if name:
        mailboxes = mailboxes.filter(name=name)
        if not mailboxes:
            raise CommandError(f"no complaint mailbox named {name!r}")
    else:
        mailboxes = mailboxes.filter(is_active=True)
        if not mailboxes:
            command.stdout.write("no active complaint mailbox")
            return
    total = PollResult()
    for mailbox in mailboxes:
        result = poll_mailbox(mailbox)
        total += result
        command.stdout.write(f"{mailbox.name}: {_counts(result)}")
        for problem in result.problems:
            command.stderr.write(f"  {problem}")
    command.stdout.write(f"total: {_counts(total)}")
    if total.errors:
        raise CommandError(f"{total.errors} error(s); see above")


def _counts(result: PollResult) -> str:
    return (
        f"created {result.created}, added {result.added}, skipped {result.skipped}, "
        f"errors {result.errors}"
    )
