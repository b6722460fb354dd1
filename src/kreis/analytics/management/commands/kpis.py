"""``kreis kpis``: print the objective satisfaction KPIs per period (as the page shows them)."""

from __future__ import annotations

import datetime as dt
import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kreis.analytics.kpis import charts, queries
from kreis.analytics.kpis.models import Grain
from kreis.core.models import User


class Command(BaseCommand):
    help = (
        "Print the objective satisfaction KPIs (revenue, units, market share, repurchase rate, "
        "cross-buying, price tolerance, referrals, quality checks, defect frequency, warranty "
        "claims) per month, quarter or year."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--start", type=dt.date.fromisoformat, help="First day (YYYY-MM-DD).")
        parser.add_argument("--end", type=dt.date.fromisoformat, help="Last day (YYYY-MM-DD).")
        parser.add_argument("--grain", choices=Grain.values, default=Grain.QUARTER)
        parser.add_argument("--user", help="Only what this user may see (default: every customer).")
        parser.add_argument(
            "--json", action="store_true", help="The API's JSON instead of a table."
        )

    def handle(self, *args, **options) -> None:
        today = timezone.localdate()
        default_start, default_end = queries.default_range(today)
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {options['user']!r}")
            if not queries.can_view_kpis(user):
                raise CommandError(f"{user.username} may not see the KPIs (managers, admins)")
        try:
            report = queries.kpi_report(
                user=user,
                start=options["start"] or default_start,
                end=options["end"] or default_end,
                grain=options["grain"],
                today=today,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if options["json"]:
            report["formulas"] = charts.formulas(report)
            self.stdout.write(json.dumps(report, indent=2, default=str))
            return
        self.stdout.write(self._table(report))

    def _table(self, report: dict) -> str:
        rows: list[tuple[str, list]] = []
        if report["warehouse"]:
            rows += [
                ("net revenue", report["revenue"]["net_revenue"]),
                ("units", report["revenue"]["units"]),
                ("repurchase rate %", report["repurchase"]["rate_pct"]),
                ("categories per customer", report["cross_buying"]["average"]),
                ("average discount %", report["price_tolerance"]["discount_pct"]),
            ]
            for row in report["market_share"]:
                rows.append((f"market share % {row['segment'] or '(all)'}", row["share_pct"]))
        rows += [
            ("referred leads", report["referrals"]["leads"]),
            ("referred leads converted", report["referrals"]["converted"]),
        ]
        for row in report["quality"]:
            rows.append((f"defect share % {row['stage']}", row["defect_pct"]))
        defects = report["defects"]
        rows += [
            ("defect cases", defects["cases"]),
            ("defects per 1,000 units", defects["per_1000"]),
        ]
        for row in defects["by_category"]:
            name = row["segment"] or "(no product)"
            rows.append((f"defects per 1,000 units {name}", row["per_1000"]))
        warranty = report["warranty"]
        rows += [
            ("warranty claims", warranty["claims"]),
            ("warranty cost", warranty["cost"]),
            ("warranty cost per claim", warranty["cost_per_claim"]),
        ]
        width = max(len(name) for name, _values in rows)
        cell = max(10, *(len(p) for p in report["periods"]))
        lines = [" " * width + "".join(f"{p:>{cell + 2}}" for p in report["periods"])]
        for name, values in rows:
            text = ["–" if v is None else f"{v:,.2f}" for v in values]
            lines.append(f"{name:<{width}}" + "".join(f"{t:>{cell + 2}}" for t in text))
        if not report["warehouse"]:
            lines.append("(the warehouse is empty or being refreshed: no transaction figures)")
        return "\n".join(lines) + "\n"
