"""``kreis webhooks``: list subscriptions and deliveries, send failed deliveries again in bulk
(after the receiver's outage), send a test event, enable a disabled subscription, delete the
old part of the delivery log."""

from __future__ import annotations

from datetime import datetime, time

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kreis.automation import retention, services
from kreis.automation.models import DeliveryStatus, WebhookSubscription


def _day(text: str) -> datetime:
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()  # noqa: DTZ007 (a date, made aware below)
    except ValueError as exc:
        raise CommandError(f"--since: expected YYYY-MM-DD, got {text!r}") from exc
    return timezone.make_aware(datetime.combine(day, time.min))


class Command(BaseCommand):
    help = "Webhooks: list, deliveries, redeliver (bulk), test, enable, purge."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="list the subscriptions")
        deliveries = sub.add_parser("deliveries", help="a subscription's delivery log")
        deliveries.add_argument("id", type=int)
        deliveries.add_argument("--status", choices=DeliveryStatus.values)
        deliveries.add_argument("--limit", type=int, default=50)
        redeliver = sub.add_parser(
            "redeliver", help="queue a subscription's failed deliveries again"
        )
        redeliver.add_argument("id", type=int)
        redeliver.add_argument("--since", help="only those created on or after YYYY-MM-DD")
        test = sub.add_parser("test", help="queue a test event")
        test.add_argument("id", type=int)
        enable = sub.add_parser("enable", help="enable a disabled subscription again")
        enable.add_argument("id", type=int)
        purge = sub.add_parser(
            "purge", help="delete finished deliveries older than KREIS_WEBHOOK_LOG_DAYS"
        )
        purge.add_argument("--days", type=int, help="keep this many days instead")

    def handle(self, *args, action, **opts):
        try:
            getattr(self, f"_{action}")(**opts)
        except PermissionDenied as exc:
            raise CommandError("the subscription's owner may not do this") from exc
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

    def _subscription(self, pk: int) -> WebhookSubscription:
        found = WebhookSubscription.objects.select_related("owner").filter(pk=pk).first()
        if found is None:
            raise CommandError(f"no webhook subscription with id {pk}")
        return found

    def _list(self, **opts):
        rows = WebhookSubscription.objects.select_related("owner").order_by("pk")
        if not rows:
            self.stdout.write("no webhook subscriptions")
        for s in rows:
            state = "enabled" if s.enabled else f"disabled ({s.disabled_reason})"
            self.stdout.write(
                f"{s.pk}\t{s.owner.username}\t{s.name}\t{s.target_url}\t{state}\t"
                f"failures in a row: {s.failure_streak}\t{','.join(s.events)}"
            )

    def _deliveries(self, *, id, status, limit, **opts):  # noqa: A002 (argparse's name)
        deliveries = self._subscription(id).deliveries.order_by("-created_at", "-pk")
        if status:
            deliveries = deliveries.filter(status=status)
        for d in deliveries[:limit]:
            when = timezone.localtime(d.created_at).strftime("%Y-%m-%d %H:%M:%S")
            self.stdout.write(
                f"{d.pk}\t{when}\t{d.event_type}\t{d.status}\t{d.response_code or '-'}\t"
                f"attempts {d.attempts}\t{d.webhook_id}\t{d.error}"
            )

    def _redeliver(self, *, id, since, **opts):  # noqa: A002
        subscription = self._subscription(id)
        # Failed, and not sent again since (a pending or delivered entry with the same id).
        again = subscription.deliveries.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.SUCCEEDED]
        ).values("webhook_id")
        failed = (
            subscription.deliveries.filter(status=DeliveryStatus.FAILED)
            .exclude(webhook_id__in=again)
            .order_by("pk")
        )
        if since:
            failed = failed.filter(created_at__gte=_day(since))
        count = 0
        for delivery in failed.iterator():
            services.delivery_redeliver(actor=subscription.owner, delivery=delivery)
            count += 1
        self.stdout.write(f"queued {count} deliveries again")

    def _test(self, *, id, **opts):  # noqa: A002
        subscription = self._subscription(id)
        delivery = services.delivery_send_test(actor=subscription.owner, subscription=subscription)
        self.stdout.write(f"queued test delivery {delivery.pk} ({delivery.webhook_id})")

    def _enable(self, *, id, **opts):  # noqa: A002
        subscription = self._subscription(id)
        services.subscription_update(
            actor=subscription.owner, subscription=subscription, enabled=True
        )
        self.stdout.write(f"enabled {subscription.name}")

    def _purge(self, *, days, **opts):
        if days is not None and days < 1:
            raise CommandError("--days: expected at least 1")
        deleted = retention.deliveries_purge(days=days)
        self.stdout.write(f"deleted {deleted} finished deliveries")
