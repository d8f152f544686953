"""`manage.py seed_scale --factor N`: a practice N times the demo, for benchmarks (docs/bench.md)."""

from django.core.management.base import BaseCommand, CommandError

from bloom.progress import progress_bar
from bloom.scale import TABLE_NAMES, ScaleRefused, TableResult, scale_plan, scale_refusals, scale_seed

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Top the database up to a practice N times the demo (N=100: about 100,000 members, 5,000,000 lesson "
        "progress rows, 1,000,000 outbox emails ...), with a progress bar per table. Idempotent: a second run "
        "adds nothing. Refuses production settings and databases with real members unless --yes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--factor", type=float, required=True, help="size as a multiple of the demo (100 = 100x)")
        parser.add_argument("--only", default="", help=f"comma-separated tables, of: {', '.join(TABLE_NAMES)}")
        parser.add_argument("--dry-run", action="store_true", help="print what would be added, change nothing")
        parser.add_argument("--yes", action="store_true", help="seed even where it refuses to (see --help)")

    def handle(self, *args, factor: float, only: str, dry_run: bool, yes: bool, **options):
        selected = [name.strip() for name in only.split(",") if name.strip()] or None
        try:
            if dry_run:
                return self._dry_run(factor=factor, only=selected)
            refusals = scale_refusals()
            if refusals and not yes:
                raise CommandError(f"Refusing to seed: {'; '.join(refusals)}. Re-run with --yes if this is intended.")
            results = scale_seed(factor=factor, only=selected, progress=self._progress)
        except ScaleRefused as exc:
            raise CommandError(str(exc)) from exc
        added = sum(r.added for r in results)
        seconds = sum(r.seconds for r in results)
        self.stdout.write(
            self.style.SUCCESS(
                f"seed_scale --factor {factor:g}: {added} rows added to {len(results)} tables "
                f"({sum(r.after for r in results)} generated rows in all) in {seconds:.1f} s."
            )
        )

    def _dry_run(self, *, factor: float, only: list[str] | None) -> None:
        plan = scale_plan(factor=factor, only=only)
        for r in plan:
            self.stdout.write(
                f"{r.name:<14} {r.db_table:<24} has {r.before:>10}  target {r.target:>10}  would add {r.missing:>10}"
            )
        refusals = scale_refusals()
        if refusals:
            self.stdout.write(self.style.WARNING(f"A real run would refuse: {'; '.join(refusals)} (unless --yes)."))
        self.stdout.write(
            self.style.SUCCESS(
                f"Dry run, nothing written: would add {sum(r.missing for r in plan)} rows to "
                f"{sum(1 for r in plan if r.missing)} of {len(plan)} tables."
            )
        )

    def _progress(self, result: TableResult, done: int, total: int) -> None:
        # On a terminal the bar redraws in place; in a log each batch is a line of its own.
        tty = self.stdout.isatty()
        start = "\r" if tty else ""
        if result.finished:
            bar = f"[{'#' * BAR_WIDTH}]"
            self.stdout.write(
                f"{start}{result.name:<14} {bar} {result.after}/{result.target} rows: "
                f"added {result.added} in {result.seconds:.1f} s"
            )
        else:
            bar = progress_bar(done, total or 1, width=BAR_WIDTH)
            self.stdout.write(f"{start}{result.name:<14} {bar} {done}/{total} items", ending="" if tty else "\n")
        self.stdout.flush()
