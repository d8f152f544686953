from django.core.management.base import BaseCommand

from bloom.orphans import OrphanResult, orphans_cleanup
from bloom.progress import progress_bar


class Command(BaseCommand):
    help = "Find orphaned rows (seed section 4C); with --fix, repair them."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="repair what is found")

    def handle(self, *args, fix: bool = False, **options):
        def report(index: int, width: int, result: OrphanResult) -> None:
            bar = progress_bar(index, width or 1, empty=" ")
            status = f"{result.found} found"
            if fix and result.found:
                status += f", {result.fixed} fixed ({result.check.fix_description})"
            self.stdout.write(f"{bar} {index}/{width} {result.app_label}: {result.check.name}: {status}")

        results = orphans_cleanup(fix=fix, progress=report)
        total_found = sum(r.found for r in results)
        total_fixed = sum(r.fixed for r in results)
        summary = f"{len(results)} checks, {total_found} orphaned rows found"
        summary += f", {total_fixed} repaired." if fix else "; run with --fix to repair." if total_found else "."
        self.stdout.write(self.style.SUCCESS(summary) if not total_found or fix else self.style.WARNING(summary))
