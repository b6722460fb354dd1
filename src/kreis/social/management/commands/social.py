"""``kreis social poll|rescore|sentiment-accuracy|keywords|sources``: social listening in bulk.

``poll`` polls the due sources (``--all``: every active one; ``--source ID``: that one),
``rescore`` scores sentiment, keywords and author links of the stored mentions again,
``sentiment-accuracy`` measures the sentiment scorer on the labelled sentences shipped in
``kreis/social/data/sentiment_labelled.csv`` (or ``--file``): accuracy per language and the
confusion matrix.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kreis.social import fetching, sentiment, services
from kreis.social.models import Keyword, Mention, Source

LABELLED = Path(__file__).resolve().parents[2] / "data" / "sentiment_labelled.csv"
LABELS = ("positive", "neutral", "negative")


def accuracy_report(path: Path = LABELLED) -> dict[str, dict]:
    """Per language: n, accuracy, and the confusion matrix {true label: {predicted: count}}."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    report: dict[str, dict] = {}
    for row in rows:
        language, truth = row["language"], row["label"]
        entry = report.setdefault(
            language,
            {"n": 0, "correct": 0, "confusion": {t: dict.fromkeys(LABELS, 0) for t in LABELS}},
        )
        predicted = sentiment.analyse(row["text"], language).label
        entry["n"] += 1
        entry["correct"] += predicted == truth
        entry["confusion"][truth][predicted] += 1
    for entry in report.values():
        entry["accuracy"] = round(entry["correct"] / entry["n"], 4) if entry["n"] else 0.0
    return report


class Command(BaseCommand):
    help = "Social listening: poll sources, re-score mentions, measure the sentiment accuracy."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        poll = sub.add_parser("poll", help="poll the sources that are due")
        poll.add_argument("--all", action="store_true", help="every active source, due or not")
        poll.add_argument("--source", type=int, help="only this source (its id)")
        rescore = sub.add_parser("rescore", help="score sentiment, keywords, authors again")
        rescore.add_argument("--source", type=int, help="only this source's mentions")
        accuracy = sub.add_parser("sentiment-accuracy", help="accuracy on the labelled set")
        accuracy.add_argument("--file", help="a CSV with language,label,text")
        accuracy.add_argument("--json", action="store_true")
        sub.add_parser("keywords", help="list the monitored keywords")
        sub.add_parser("sources", help="list the sources with their state")

    def handle(self, *args, action: str, **opts) -> None:
        getattr(self, "_" + action.replace("-", "_"))(opts)

    def _poll(self, opts) -> None:
        if opts["source"]:
            source = Source.objects.filter(pk=opts["source"]).first()
            if source is None:
                raise CommandError(f"no source #{opts['source']}")
            try:
                result = services.source_poll(actor=None, source=source)
            except fetching.FetchError as exc:
                raise CommandError(f"{source.name}: {exc}") from None
            self.stdout.write(
                f"{source.name}: {result.received} read, {result.stored} stored, "
                f"{result.duplicates} seen before, {result.unmatched} without keyword"
            )
            return
        totals = services.sources_poll_due(force=opts["all"])
        self.stdout.write(
            f"{totals['sources']} sources polled, {totals['stored']} mentions stored, "
            f"{totals['failed']} failed"
        )
        if totals["failed"]:
            for source in Source.objects.exclude(last_error="").order_by("pk"):
                self.stderr.write(f"  #{source.pk} {source.name}: {source.last_error}")

    def _rescore(self, opts) -> None:
        qs = Mention.objects.all()
        if opts["source"]:
            qs = qs.filter(source_id=opts["source"])
        counts = services.mentions_rescore(queryset=qs)
        self.stdout.write(
            f"{counts['mentions']} mentions scored, {counts['changed']} changed, "
            f"{counts['linked']} newly linked to a party"
        )

    def _sentiment_accuracy(self, opts) -> None:
        path = Path(opts["file"]) if opts["file"] else LABELLED
        if not path.exists():
            raise CommandError(f"no such file: {path}")
        report = accuracy_report(path)
        if opts["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        for language, entry in sorted(report.items()):
            self.stdout.write(
                f"{language}: accuracy {entry['accuracy']:.1%} "
                f"({entry['correct']} of {entry['n']} sentences)"
            )
            head = "true / predicted"
            self.stdout.write(f"  {head:<18}" + "".join(f"{p:>10}" for p in LABELS))
            for truth in LABELS:
                row = entry["confusion"][truth]
                self.stdout.write(f"  {truth:<18}" + "".join(f"{row[p]:>10}" for p in LABELS))

    def _keywords(self, opts) -> None:
        for k in Keyword.objects.order_by("kind", "term"):
            state = "" if k.is_active else " (paused)"
            self.stdout.write(f"#{k.pk} {k.get_kind_display()}: {k.term}{state}")

    def _sources(self, opts) -> None:
        for s in Source.objects.order_by("pk"):
            state = "active" if s.is_active else "paused"
            polled = s.last_polled_at.isoformat() if s.last_polled_at else "never"
            error = f" — {s.last_error}" if s.last_error else ""
            self.stdout.write(f"#{s.pk} {s.name} [{s.kind}, {state}] polled {polled}{error}")
