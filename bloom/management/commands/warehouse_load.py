"""`manage.py warehouse_load [--full]`: load the warehouse tables now (docs/warehouse.md)."""

from django.core.management.base import BaseCommand

from bloom.warehouse import TABLES, TableLoad, warehouse_load


class Command(BaseCommand):
    help = "Load the warehouse schema's tables from their watermarks; with --full, from every source row."

    def add_arguments(self, parser):
        parser.add_argument(
            "--full", action="store_true", help="read every source row, not only those changed since the watermark"
        )

    def handle(self, *args, full: bool = False, **options):
        width = len(TABLES) + 1  # and dim_date

        def report(result: TableLoad) -> None:
            report.done += 1
            self.stdout.write(f"[{report.done}/{width}] {result.line()}")

        report.done = 0
        results = warehouse_load(full=full, progress=report)
        inserted = sum(r.inserted for r in results)
        updated = sum(r.updated for r in results)
        deleted = sum(r.deleted for r in results)
        seconds = sum(r.seconds for r in results)
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(results)} tables loaded{' (full)' if full else ''}: {inserted} rows inserted, "
                f"{updated} updated, {deleted} deleted in {seconds:.2f} s."
            )
        )
