"""Syncing a mailbox: the new mail of each chosen folder and of the Sent folder, incrementally.

Per folder, ``FolderState`` remembers the UIDVALIDITY and the last UID taken. A sync asks the
server for the UIDs above it (``kreis.core.mailfetch``, the same code as the complaint
mailbox); when UIDVALIDITY changed, the folder is read again from the start — the mail stored
before is recognised by its Message-ID (``kreis.comms.store``) and not stored twice.

Mail is taken in batches of ``BATCH`` in one transaction each, the folder's last UID moving
with the batch: a sync stopped halfway (worker killed, server gone) goes on where the last
batch ended. A mail that cannot be parsed or stored is skipped with its reason in
``last_error`` (the rest of its batch is stored).
``sync_total``/``sync_done`` on the account show how far a running sync is (the account page
polls them), which matters for a first sync of a large mailbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.comms.models import FolderState, MailAccount
from kreis.comms.services import imap_account
from kreis.comms.store import store_mails
from kreis.core import crypto
from kreis.core.mailfetch import MailFetchError, MailParseError, MailSession, parse_mail

log = logging.getLogger("kreis.comms.sync")
BATCH = 100
ERROR_MAX = 4000


@dataclass
class SyncResult:
    stored: int = 0
    skipped: int = 0
    errors: int = 0
    problems: list[str] = field(default_factory=list)

    def __iadd__(self, other: SyncResult) -> SyncResult:
        self.stored += other.stored
        self.skipped += other.skipped
        self.errors += other.errors
        self.problems += other.problems
        return self

    def summary(self) -> str:
        return _("%(stored)d new, %(skipped)d known, %(errors)d errors") % {
            "stored": self.stored,
            "skipped": self.skipped,
            "errors": self.errors,
        }


def sync_folders(account: MailAccount) -> list[str]:
    names = account.folder_list()
    sent = account.sent_folder.strip()
    if sent and sent not in names:
        names.append(sent)
    return names


def sync_active_accounts() -> SyncResult:
    total = SyncResult()
    for account in MailAccount.objects.filter(is_active=True).order_by("pk"):
        total += sync_account(account)
    return total


def sync_account(account: MailAccount) -> SyncResult:
    """Take the new mail of every folder of the account (see the module's docstring)."""
    result = SyncResult()
    MailAccount.objects.filter(pk=account.pk).update(sync_running=True, sync_total=0, sync_done=0)
    rules = list(account.rules.all())
    party_cache: dict = {}  # address → party (or None): each address looked up once a sync
    try:
        with MailSession(imap_account(account)) as session:
            plan = []
            for name in sync_folders(account):
                try:
                    box = session.select(name)
                except MailFetchError as exc:
                    if name == account.sent_folder.strip() and name not in account.folder_list():
                        continue  # no Sent folder yet: created on the first send
                    raise exc
                state, _created = FolderState.objects.get_or_create(account=account, name=name)
                new = box.new_uids(uidvalidity=state.uidvalidity, last_uid=state.last_uid)
                if new.restarted:
                    log.warning("account %s folder %s: UIDVALIDITY changed", account.pk, name)
                if new.uidvalidity != state.uidvalidity:
                    state.uidvalidity, state.last_uid = new.uidvalidity, 0
                    state.save(update_fields=["uidvalidity", "last_uid"])
                plan.append((name, state, new.uids))
            total = sum(len(uids) for _name, _state, uids in plan)
            MailAccount.objects.filter(pk=account.pk).update(sync_total=total)
            done = 0
            for name, state, uids in plan:
                if not uids:
                    FolderState.objects.filter(pk=state.pk).update(synced_at=timezone.now())
                    continue
                session.select(name)
                batch: list[tuple[int, bytes]] = []
                for uid, raw in session.fetch(uids, batch_count=BATCH):
                    batch.append((uid, raw))
                    if len(batch) >= BATCH:
                        done += _take_batch(account, state, name, batch, rules, party_cache, result)
                        MailAccount.objects.filter(pk=account.pk).update(sync_done=done)
                        batch = []
                if batch:
                    done += _take_batch(account, state, name, batch, rules, party_cache, result)
                FolderState.objects.filter(pk=state.pk).update(
                    last_uid=max(state.last_uid, uids[-1]), synced_at=timezone.now()
                )
                MailAccount.objects.filter(pk=account.pk).update(sync_done=done)
    except (MailFetchError, crypto.SecretUnreadable) as exc:
        result.errors += 1
        result.problems.append(str(exc))
    except Exception as exc:  # noqa: BLE001 (the other accounts are synced all the same)
        result.errors += 1
        result.problems.append(f"{type(exc).__name__}: {exc}")
        log.exception("account %s: the sync failed", account.pk)
    now = timezone.now()
    error = "\n".join(result.problems)[:ERROR_MAX]
    MailAccount.objects.filter(pk=account.pk).update(
        last_sync_at=now, last_error=error, sync_running=False
    )
    account.last_sync_at, account.last_error = now, error
    return result


def _take_batch(account, state, folder, batch, rules, party_cache, result) -> int:
    """Parse and store a fetched batch, and move the folder's last UID past it. The batch is
    stored in one transaction; should a mail fail, that transaction is rolled back and the
    batch stored again mail by mail, each in a savepoint, the failing mail reported and
    skipped (a savepoint for every mail costs time when nothing fails, which is nearly
    always). Losing the database connection ends the sync; the batch is taken again next
    time."""
    mails = []
    problems = []
    for uid, raw in batch:
        try:
            mails.append((parse_mail(raw, uid=uid, full=True), raw))
        except MailParseError as exc:
            problems.append(_problem(uid, folder, exc))
    try:
        with transaction.atomic():
            outcomes = store_mails(
                account=account, mails=mails, folder=folder, rules=rules, party_cache=party_cache
            )
            _batch_done(state, batch)
    except (OperationalError, InterfaceError):
        raise
    except Exception:  # noqa: BLE001 (a mail that cannot be stored: again, one by one)
        outcomes = []
        with transaction.atomic():
            for mail, raw in mails:
                try:
                    with transaction.atomic():
                        outcomes += store_mails(
                            account=account,
                            mails=[(mail, raw)],
                            folder=folder,
                            rules=rules,
                            party_cache=party_cache,
                        )
                except (OperationalError, InterfaceError):
                    raise
                except Exception as exc:  # noqa: BLE001 (the others are stored all the same)
                    log.exception("account %s: storing mail %s failed", account.pk, mail.uid)
                    problems.append(_problem(mail.uid, folder, exc))
            _batch_done(state, batch)
    for _message, created in outcomes:
        if created:
            result.stored += 1
        else:
            result.skipped += 1
    result.errors += len(problems)
    result.problems += problems
    return len(batch)


def _problem(uid: int, folder: str, exc: Exception) -> str:
    return _("Mail %(uid)s in %(folder)s: %(reason)s") % {
        "uid": uid,
        "folder": folder,
        "reason": exc,
    }


def _batch_done(state, batch) -> None:
    state.last_uid = max(state.last_uid, batch[-1][0])
    FolderState.objects.filter(pk=state.pk).update(last_uid=state.last_uid)
