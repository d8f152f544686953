"""Rebuild each money and access row's state from the event ledger and report any drift."""

from django.core.management.base import BaseCommand, CommandError

from bloom.ledger import TRACKED, ledger_drift_list
from bloom.progress import progress_bar


class Command(BaseCommand):
    help = "Fold the event ledger per entity and list every tracked row whose stored state disagrees."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=5000, help="rows compared per query (default 5000)")

    def handle(self, *args, chunk_size: int = 5000, **options):
        checked: dict[str, int] = {}

        def report(table: str, done: int, total: int) -> None:
            checked[table] = done
            if total > chunk_size or done == total:
                self.stdout.write(f"{progress_bar(done, total, empty=' ')} {table}: {done}/{total} rows")

        drift = ledger_drift_list(chunk_size=chunk_size, progress=report)
        for item in drift:
            self.stdout.write(self.style.ERROR(str(item)))
        summary = f"{sum(checked.values())} rows in {len(checked)} of {len(TRACKED)} tracked tables checked, "
        summary += f"{len(drift)} drift found."
        if drift:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
