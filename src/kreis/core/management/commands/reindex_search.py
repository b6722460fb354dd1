"""``kreis reindex_search``: rebuild the global search index (after bulk imports)."""

from django.core.management.base import BaseCommand

from kreis.core.search import INDEXERS, reindex


class Command(BaseCommand):
    help = "Rebuild the search index of parties, leads and deals (or the record types given)."

    def add_arguments(self, parser):
        parser.add_argument("entities", nargs="*", choices=sorted(INDEXERS) or None)

    def handle(self, *args, entities, **options):
        def progress(entity: str, done: int) -> None:
            self.stderr.write(f"\r  {entity:<8} {done}", ending="")

        total = reindex(entities or None, progress=progress)
        self.stderr.write("")
        self.stdout.write(f"indexed {total} records")
